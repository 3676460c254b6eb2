//===- KernelLayout.cpp - [P0, R1, P1, R2] view of a norm kernel ----------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Utils/KernelLayout.h"

#include "mlir/IR/BuiltinTypeInterfaces.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace normlir::norm;

std::string KernelLayout::str() const {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[P0, R1, P1, R2] = [";
  for (int r = P0; r <= R2; ++r) {
    os << (r ? ", " : "");
    if (isDynamic(Run(r)))
      os << "?";
    else
      os << size[r];
  }
  os << "]";
  return s;
}

int64_t KernelLayout::product(std::initializer_list<int64_t> sizes) {
  int64_t n = 1;
  for (int64_t s : sizes) {
    if (mlir::ShapedType::isDynamic(s))
      return mlir::ShapedType::kDynamic;
    n *= s;
  }
  return n;
}

std::optional<KernelLayout> normlir::norm::analyzeKernelLayout(
    llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int64_t> axes,
    llvm::ArrayRef<int64_t> paramAxes, std::string *why) {
  auto fail = [&](const llvm::Twine &msg) -> std::optional<KernelLayout> {
    if (why)
      *why = msg.str();
    return std::nullopt;
  };
  KernelLayout l;
  l.shape.assign(shape.begin(), shape.end());
  int64_t rank = shape.size();
  l.paramStride.assign(rank, 0);
  // A dynamic parameter axis (LayerNorm over ?x?) has a dynamic stride, as
  // have those outside it: only the innermost reduced run may hold them,
  // where the offsets are linear (checked below).
  int64_t stride = 1;
  for (int64_t a : llvm::reverse(paramAxes)) {
    l.paramStride[a] = stride;
    stride = KernelLayout::product({stride, shape[a]});
  }

  // Walk the non-unit dimensions, advancing through P0, R1, P1, R2.
  int run = -1;
  for (int64_t d = 0; d < rank; ++d) {
    if (shape[d] == 1)
      continue;
    bool reduced = llvm::is_contained(axes, d);
    if (run < 0)
      run = reduced ? KernelLayout::R1 : KernelLayout::P0;
    else if (reduced != (run % 2 == 1))
      ++run;
    if (run > KernelLayout::R2)
      return fail("the reduced dimensions form more than two runs "
                  "separated by parallel ones");
    l.dims[run].push_back(d);
    l.size[run] = KernelLayout::product({l.size[run], shape[d]});
  }
  // A single reduced run is R2 (contiguous rows), not R1.
  if (run == KernelLayout::R1 && l.dims[KernelLayout::P1].empty()) {
    std::swap(l.dims[KernelLayout::R1], l.dims[KernelLayout::R2]);
    std::swap(l.size[KernelLayout::R1], l.size[KernelLayout::R2]);
  }
  for (int64_t d : l.dims[KernelLayout::R1])
    if (l.paramStride[d] != 0)
      l.paramsAlongR1 = true;
  // Parameter offsets delinearize a run's index by the static sizes of the
  // dimensions inside the parameter axis. R2's offsets step along R2o and
  // R2i instead (below), whose dimensions are uniform: a dynamic one is
  // never a parameter axis.
  for (int run = KernelLayout::P0; run < KernelLayout::R2; ++run) {
    const auto &dims = l.dims[run];
    bool insideDynamic = false;
    for (int64_t d : llvm::reverse(dims)) {
      if (l.paramStride[d] != 0 && insideDynamic)
        return fail("parameter axis " + llvm::Twine(d) +
                    " lies outside a dynamic dimension of its run");
      insideDynamic |= mlir::ShapedType::isDynamic(shape[d]);
    }
  }

  // Split R2 by parameter membership.
  llvm::ArrayRef<int64_t> r2 = l.dims[KernelLayout::R2];
  if (!r2.empty()) {
    bool innerIn = l.paramStride[r2.back()] != 0;
    size_t split = r2.size();
    while (split > 0 && (l.paramStride[r2[split - 1]] != 0) == innerIn)
      --split;
    for (size_t i = 0; i < split; ++i)
      if ((l.paramStride[r2[i]] != 0) == innerIn)
        return fail("the parameter axes alternate within the innermost "
                    "reduced dimensions");
    l.r2Split = split;
    for (size_t i = 0; i < r2.size(); ++i) {
      int64_t &part = i < split ? l.r2o : l.r2i;
      part = KernelLayout::product({part, shape[r2[i]]});
    }
    l.r2iParamStride = innerIn ? 1 : 0;
    if (split > 0 && !innerIn)
      l.r2oParamStride = l.paramStride[r2[split - 1]];
  }
  // Dynamic parameter strides: every parameter axis in R2i, whose offsets
  // are the element's index in it.
  if (llvm::any_of(paramAxes, [&](int64_t a) {
        return mlir::ShapedType::isDynamic(l.paramStride[a]) ||
               mlir::ShapedType::isDynamic(shape[a]);
      })) {
    llvm::ArrayRef<int64_t> r2i = r2.drop_front(l.r2Split);
    for (int64_t a : paramAxes)
      if (shape[a] != 1 &&
          (l.r2iParamStride != 1 || !llvm::is_contained(r2i, a)))
        return fail("parameter axis " + llvm::Twine(a) +
                    " has a dynamic size or stride outside the innermost "
                    "reduced dimensions");
  }
  return l;
}

std::optional<GradForm> normlir::norm::classifyGradKernel(
    llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int64_t> axes,
    llvm::ArrayRef<int64_t> paramAxes, std::string *why) {
  int64_t rank = shape.size();
  bool trailing = !axes.empty();
  for (auto [i, a] : llvm::enumerate(axes))
    trailing &= a == rank - int64_t(axes.size()) + int64_t(i);
  if (trailing && paramAxes == axes)
    return GradForm::Row;
  std::optional<KernelLayout> l =
      analyzeKernelLayout(shape, axes, paramAxes, why);
  if (!l)
    return std::nullopt;
  bool constantRuns = l->r2iParamStride == 0;
  if (constantRuns && l->r2i >= kGradSegmentMinRun)
    return GradForm::Segment;
  if (!l->paramsAlongR1)
    return GradForm::Column;
  if (constantRuns)
    return GradForm::Segment;
  if (why)
    *why = "the parameters vary along both the contiguous runs and the "
           "outer reduced dimensions";
  return std::nullopt;
}

int64_t normlir::norm::gradStoreRun(llvm::ArrayRef<int64_t> shape,
                                    llvm::ArrayRef<int64_t> axes,
                                    llvm::ArrayRef<int64_t> paramAxes) {
  std::optional<GradForm> form = classifyGradKernel(shape, axes, paramAxes);
  if (!form || *form == GradForm::Column)
    return 0;
  if (*form == GradForm::Row) {
    int64_t n = 1;
    for (int64_t a : axes)
      n *= shape[a];
    return n;
  }
  return analyzeKernelLayout(shape, axes, paramAxes)->r2i;
}
