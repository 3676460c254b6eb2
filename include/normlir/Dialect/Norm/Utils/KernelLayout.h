//===- KernelLayout.h - [P0, R1, P1, R2] view of a norm kernel --*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Every normalization the named ops produce reduces a row-major tensor over
// an axis set that, once size-1 dimensions are dropped, forms at most four
// runs of dimensions: parallel, reduced, parallel, reduced. LayerNorm is
// [P0, R2], BatchNorm NCHW [R1 = N, P1 = C, R2 = HW], channels-last BatchNorm
// [R1 = NHW, P1 = C], channels-last GroupNorm [P0 = N, R1 = HW, P1 = G,
// R2 = C/G]. norm-fuse, norm-select-schedule and convert-norm-to-vector share
// this view.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_UTILS_KERNELLAYOUT_H
#define NORMLIR_DIALECT_NORM_UTILS_KERNELLAYOUT_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"

#include <initializer_list>
#include <optional>
#include <string>

namespace normlir::norm {

/// The four runs of a kernel's input and how the parameters (weight, bias)
/// are indexed inside them.
///
/// A dynamic dimension (kDynamic) counts as larger than 1 (it is never
/// dropped: it may be 1 at run time, which every lowering handles), and the
/// size of its run is kDynamic: the lowerings take it from the buffer at run
/// time. A parameter axis may be dynamic (LayerNorm over ?x?) only inside
/// R2i, whose parameter offsets are the element's index in it.
struct KernelLayout {
  enum Run { P0 = 0, R1 = 1, P1 = 2, R2 = 3 };
  /// Input dimensions (size > 1 or dynamic) of each run, in order.
  llvm::SmallVector<int64_t> dims[4];
  /// Product of the sizes of each run's dimensions; kDynamic when one of
  /// them is dynamic.
  int64_t size[4] = {1, 1, 1, 1};
  /// R2 = R2o x R2i: R2i is the trailing part of R2 whose dimensions are all
  /// parameter axes or all not; R2o the rest (also uniform). Either is
  /// kDynamic when it holds a dynamic dimension (then, in R2o, none of its
  /// dimensions is a parameter axis).
  int64_t r2o = 1, r2i = 1;
  /// How many of R2's dimensions (dims[R2]) form R2o; the rest form R2i.
  size_t r2Split = 0;
  /// Parameter offset steps along R2o and R2i (0: constant, else linear).
  int64_t r2oParamStride = 0, r2iParamStride = 0;
  /// True when some parameter axis lies in R1.
  bool paramsAlongR1 = false;

  /// Row-major strides of the parameter tensor, per input dimension (0 for
  /// dimensions that are not parameter axes; kDynamic outside a dynamic
  /// parameter axis, in R2i only).
  llvm::SmallVector<int64_t> paramStride;
  /// Input shape.
  llvm::SmallVector<int64_t> shape;

  /// Whether run `r`'s size is only known at run time.
  bool isDynamic(Run r) const { return size[r] < 0; }
  /// Whether some run's size is only known at run time.
  bool hasDynamicSize() const {
    return isDynamic(P0) || isDynamic(R1) || isDynamic(P1) || isDynamic(R2);
  }
  /// kDynamic (negative) when a factor is dynamic.
  int64_t numSegments() const {
    return product({size[P0], size[R1], size[P1]});
  }
  int64_t numStats() const { return product({size[P0], size[P1]}); }
  /// The product of `sizes`, kDynamic (negative) when one of them is.
  static int64_t product(std::initializer_list<int64_t> sizes);
  /// "[P0, R1, P1, R2] = [4, 1, 1, 256]" ("?" for a dynamic run).
  std::string str() const;
};

/// Analyzes a kernel over `shape` reducing `axes` with parameters on
/// `paramAxes`; std::nullopt (with `why` set) when the dimensions do not form
/// the P, R, P, R pattern or the parameters vary inside R2 in a way the
/// vector lowering does not handle.
std::optional<KernelLayout>
analyzeKernelLayout(llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int64_t> axes,
                    llvm::ArrayRef<int64_t> paramAxes,
                    std::string *why = nullptr);

/// How the CPU lowers a fused backward (norm.grad_kernel):
/// * Row: the axes are the trailing dimensions and the parameters lie along
///   them (LayerNorm, RMSNorm): each row from memory once.
/// * Segment: the parameters are constant along the contiguous runs R2i of
///   at least kGradSegmentMinRun elements (BatchNorm, InstanceNorm and
///   GroupNorm in NCHW): sums per run, vectors along it.
/// * Column: short runs or parameters varying along them, none along R1
///   (the channels-last layouts): vectors across the P1 x R2 lanes of each
///   row of R1, sums per lane and chunk of R1.
enum class GradForm { Row, Segment, Column };

/// Runs shorter than this take the column form where it applies.
constexpr int64_t kGradSegmentMinRun = 16;

/// Row ranges (thread tasks) of a row backward, at most: the parameter
/// partials are per range, so the count is fixed (not the number of
/// threads) to keep the results independent of it; 16 keeps 16 threads
/// busy.
constexpr int64_t kGradRowTasks = 16;

/// The form of a backward kernel over `shape` reducing `axes`, its
/// parameters along `paramAxes`; std::nullopt (with `why` set) when no CPU
/// lowering takes it.
std::optional<GradForm> classifyGradKernel(llvm::ArrayRef<int64_t> shape,
                                           llvm::ArrayRef<int64_t> axes,
                                           llvm::ArrayRef<int64_t> paramAxes,
                                           std::string *why = nullptr);

/// Runs shorter than this store normally even under a nontemporal schedule:
/// aligning their streaming stores costs more than it saves.
constexpr int64_t kMinStreamRun = 1024;

/// Bytes of L2 cache one chunk of rows of the CPU column strategy may fill
/// (its second pass reads the chunk again from there).
constexpr int64_t kColumnChunkBytes = 256 * 1024;

/// Workgroup memory per lane of a GPU column-strategy block: its moments
/// (count, mean, M2) merge in f64, 8 bytes each, so that the statistics of
/// data far from 0 round once (see Column.cpp).
constexpr int64_t kGPUColumnScratchBytesPerLane = 3 * 8;

/// Elements per block of the GPU segment strategy at most (the selection's
/// chunks for static sizes; with dynamic sizes the lowering splits each run
/// into pieces of at most this many at run time).
constexpr int64_t kGPUSegmentChunk = 16384;

/// Rows of R1 each thread of a GPU column-strategy block reduces at least
/// (the selection's chunks for static sizes; with dynamic sizes the
/// lowering's share of chunks per sample at run time).
constexpr int64_t kGPUColumnMinRows = 16;

/// The length of the contiguous runs of dx that a backward kernel of this
/// form stores (and so may stream: kMinStreamRun): the row (row form), the
/// inner run of R2 (segment form); 0 in the column form, which does not
/// stream.
int64_t gradStoreRun(llvm::ArrayRef<int64_t> shape,
                     llvm::ArrayRef<int64_t> axes,
                     llvm::ArrayRef<int64_t> paramAxes);

/// Whether the segment form takes each statistic in one go (sums, combine
/// and dx back to back, the dx pass reading x and dy from cache): each
/// statistic is one segment (R1 = P1 = 1: InstanceNorm, GroupNorm NCHW)
/// whose x and dy fit in half of an L2 of `l2Bytes`. Otherwise it takes two
/// passes over memory (all sums, then all of dx).
inline bool isFusedGradSegment(const KernelLayout &l, int64_t elementBytes,
                               int64_t l2Bytes) {
  return l.size[KernelLayout::R1] == 1 && l.size[KernelLayout::P1] == 1 &&
         2 * l.size[KernelLayout::R2] * elementBytes <= l2Bytes / 2;
}

} // namespace normlir::norm

#endif // NORMLIR_DIALECT_NORM_UTILS_KERNELLAYOUT_H
