//===- Utils.h - builders shared by norm passes -----------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_UTILS_UTILS_H
#define NORMLIR_DIALECT_NORM_UTILS_UTILS_H

#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <optional>
#include <utility>

namespace mlir::linalg {
class GenericOp;
} // namespace mlir::linalg

namespace mlir {
class RewriterBase;
} // namespace mlir

namespace normlir::norm {

class KernelOp;

/// Whether `g` maps elements to elements: all loops parallel, identity
/// indexing maps, one init and one result, the init's value unread (its
/// body is the caller's to check: norm-fuse's neighbours, norm-differentiate's
/// elementwise ops, norm-fuse-grad's residual sum).
bool isElementwiseMap(mlir::linalg::GenericOp g);

/// The axes of [0, rank) that are not in `axes`, ascending.
llvm::SmallVector<int64_t> getComplementAxes(int64_t rank,
                                             llvm::ArrayRef<int64_t> axes);

/// Reassociation that collapses a tensor of `rank` dims onto `keptAxes`,
/// folding every other (unit) dim into a neighbouring kept one. With no kept
/// axes it is empty (a collapse to rank 0).
llvm::SmallVector<mlir::ReassociationIndices>
getKeptAxesReassociation(int64_t rank, llvm::ArrayRef<int64_t> keptAxes);

/// Collapses `value` (whose dims outside `keptAxes` are 1) onto `keptAxes`.
mlir::Value collapseToAxes(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value value, llvm::ArrayRef<int64_t> keptAxes);

/// Inverse of collapseToAxes: re-inserts unit dims to reach `type`.
mlir::Value expandFromAxes(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value value, mlir::RankedTensorType type,
                           llvm::ArrayRef<int64_t> keptAxes);

/// Converts a float scalar to `to` (extf/truncf, or nothing).
mlir::Value castFloat(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                      mlir::Type to);

/// rstd = 1 / sqrt(var + eps) of an f32 scalar `var`; with `zeroDegenerate`
/// (PyTorch's InvStd for batch statistics), 0 where var == 0 and eps == 0.
/// eps is static, so the select is only emitted for eps == 0. Shared by the
/// lowerings of norm.rstd and of norm.kernel.
mlir::Value buildRstd(mlir::OpBuilder &b, mlir::Location loc, mlir::Value var,
                      double eps, bool zeroDegenerate);

/// The bits of the f32 scalar or vector `v` (as i32) with their bf16
/// rounding in the high half: round to nearest even (0x7fff plus the lowest
/// kept bit added), a NaN as the quiet NaN 0x7fc00000 (PyTorch's). The low
/// half is garbage: a shift right by 16 gives the bf16 bits, a mask of the
/// high half a bf16 placed in the odd element of a pair. For CPUs without
/// bf16 conversions (norm-legalize-bf16, and the vector lowering's
/// interleaved bf16 apply).
mlir::Value buildBF16RoundedBits(mlir::OpBuilder &b, mlir::Location loc,
                                 mlir::Value v);

/// Elementwise map: a linalg.generic over same-shaped `inputs` producing a
/// tensor of `resultType`; `body` gets the scalar arguments and returns the
/// result scalar.
using MapBodyFn = llvm::function_ref<mlir::Value(
    mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;
mlir::Value buildMap(mlir::OpBuilder &b, mlir::Location loc,
                     mlir::ValueRange inputs, mlir::RankedTensorType resultType,
                     MapBodyFn body);

/// tensor.empty of `shape` and `elementType`; a dynamic dimension `d` of
/// `shape` takes its size from dimension `d` of `like` (a tensor of the same
/// rank whose dimension is the same at run time).
mlir::Value buildEmpty(mlir::OpBuilder &b, mlir::Location loc,
                       llvm::ArrayRef<int64_t> shape, mlir::Type elementType,
                       mlir::Value like);

/// A zero-filled f32 tensor of `shape` (the init of a sum).
mlir::Value buildZeros(mlir::OpBuilder &b, mlir::Location loc,
                       llvm::ArrayRef<int64_t> shape);

struct KernelLayout;

/// Where dimension `d` of the buffer `v` comes from through
/// memref.expand_shape/collapse_shape ops whose reassociation keeps it
/// alone (the GroupNorm channel split): the first buffer up the chain that
/// is not such a reshape, and its dimension; std::nullopt where a group
/// merges it with others than static 1s.
std::optional<std::pair<mlir::Value, int64_t>> traceReshapedDim(mlir::Value v,
                                                                int64_t d);

/// The product of the sizes of `dims` of the buffer or tensor `shaped`, at
/// run time (a constant when they are static).
mlir::Value buildDimsProduct(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value shaped, llvm::ArrayRef<int64_t> dims);

/// The number of segments (P0 * R1 * P1) of the bufferized kernel `op` with
/// `layout`, at run time.
mlir::Value buildNumSegments(mlir::OpBuilder &b, mlir::Location loc,
                             KernelOp op, const KernelLayout &layout);

/// Replaces the bufferized kernel `op`, which has `variants`, by a branch on
/// its input's number of elements at run time between copies of it, each with
/// one variant's schedule; appends the copies to `copies`.
void expandKernelVariants(mlir::RewriterBase &rewriter, KernelOp op,
                          llvm::SmallVectorImpl<KernelOp> &copies);

/// `mem` viewed as a 1-D buffer (collapse_shape; expand_shape for rank 0);
/// null stays null.
mlir::Value flattenMemRef(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value mem);

/// Offset into a kernel's parameters (weight, bias) contributed by
/// coordinate `coord` (an index) of run `run` of `layout`, built at the
/// builder's insertion point; null when `coord` is null or the run holds no
/// parameter axis.
mlir::Value buildRunParamOffset(mlir::OpBuilder &b, mlir::Location loc,
                                const KernelLayout &layout, int run,
                                mlir::Value coord);

/// Rebuilds the elementwise body of a kernel's prologue or epilogue on
/// vectors of `lanes` elements at the builder's insertion point: `args` (one
/// vector per block argument) stand for the arguments, constants are
/// splatted, scalars captured from above are broadcast. Returns the vector
/// standing for the yielded value.
mlir::Value applyRegionOnVectors(mlir::OpBuilder &b, mlir::Location loc,
                                 mlir::Region &region,
                                 llvm::ArrayRef<mlir::Value> args,
                                 int64_t lanes);

} // namespace normlir::norm

#endif // NORMLIR_DIALECT_NORM_UTILS_UTILS_H
