//===- Passes.td - norm dialect passes ---------------------*- tablegen -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_TRANSFORMS_PASSES_TD
#define NORMLIR_DIALECT_NORM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def NormExpand : Pass<"norm-expand"> {
  let summary = "Expand named norm ops into statistics + apply core ops";
  let description = [{
    Rewrites `norm.layer_norm`, `norm.rms_norm`, `norm.batch_norm`,
    `norm.instance_norm` and `norm.group_norm` into the core form:
    `norm.moments` / `norm.mean_square` over the op's reduction axes,
    `norm.rstd`, and `norm.apply`, plus `tensor.expand_shape` /
    `tensor.collapse_shape` for GroupNorm's channel split and for the
    `(C)`-shaped statistics, and `linalg.generic` maps for running-statistics
    updates. After this pass every normalization is one pattern, which is
    what lowering, fusion and tiling match.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def NormUniquifyReturnedBuffers
    : Pass<"norm-uniquify-returned-buffers", "::mlir::func::FuncOp"> {
  let summary = "Give every buffer a function returns its own allocation";
  let description = [{
    Runs after bufferization, before `buffer-results-to-out-params`: when one
    memref value is returned more than once (`return %a, %a`, or two results
    that folded or CSE'd into one buffer), every repeat is replaced by a fresh
    `memref.alloc` and a `memref.copy`. Each result then owns a distinct
    buffer and can become its own out-parameter; upstream's
    `buffer-results-to-out-params{hoist-static-allocs}` otherwise erases the
    shared allocation while it still has a second use.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

#endif // NORMLIR_DIALECT_NORM_TRANSFORMS_PASSES_TD
