//===- NormDialect.td - norm dialect definition ------------*- tablegen -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_IR_NORMDIALECT_TD
#define NORMLIR_DIALECT_NORM_IR_NORMDIALECT_TD

include "mlir/IR/OpBase.td"

def Norm_Dialect : Dialect {
  let name = "norm";
  let cppNamespace = "::normlir::norm";
  let summary = "Normalization layers as reductions over chosen axes";
  let description = [{
    The `norm` dialect expresses the normalization layers of neural networks
    (LayerNorm, RMSNorm, BatchNorm, InstanceNorm, GroupNorm) with PyTorch's
    parameters and semantics, at two levels:

    * **Named ops** (`norm.layer_norm`, `norm.rms_norm`, `norm.batch_norm`,
      `norm.instance_norm`, `norm.group_norm`) carry the user-facing
      parameters: `normalized_shape`, `num_groups`, `momentum`, the channel
      axis, optional weight and bias, running statistics.
    * **Core ops** express every normalization as one pattern: statistics are
      reductions of the input over a chosen axis set (`norm.moments`,
      `norm.mean_square`), `norm.rstd` turns a variance into a reciprocal
      standard deviation, and `norm.apply` is the elementwise
      `(x - mean) * rstd * weight + bias` with broadcasting.

    `norm-expand` rewrites every named op into the core ops; later passes
    (lowering, fusion, tiling) only ever see the core pattern.

    Element types: inputs are f32, f16 or bf16; statistics are always f32
    (PyTorch's accumulation type), outputs have the input's element type.
  }];
  let dependentDialects = [
    "::mlir::tensor::TensorDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::arith::ArithDialect"
  ];
  let hasConstantMaterializer = 0;
  let useDefaultAttributePrinterParser = 1;
  // `norm.target` on a module: a #norm.cpu_target or #norm.cuda_target.
  // `norm.gradient_of`, `norm.wrt`, `norm.cotangents` on a function made by
  // norm-differentiate.
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// The name of the module attribute holding the compile target.
    static constexpr ::llvm::StringLiteral kTargetAttrName = "norm.target";
    /// On a function lowered by norm-lower-checks: its checks' messages;
    /// status kFirstCheckStatus + i is check i's (1 and 2 are the entry
    /// points': a runtime error, a negative size).
    static constexpr ::llvm::StringLiteral kCheckMessagesAttrName =
        "norm.check_messages";
    static constexpr int32_t kFirstCheckStatus = 3;
    /// On a function with dynamically shaped out-parameters: where their
    /// sizes come from, `[out argument, dimension, input argument,
    /// dimension]` each (norm-fold-result-copies), so that callers can size
    /// result buffers.
    static constexpr ::llvm::StringLiteral kResultDimsAttrName =
        "norm.result_dims";
    /// On a backward function: the forward function it differentiates.
    static constexpr ::llvm::StringLiteral kGradientOfAttrName =
        "norm.gradient_of";
    /// On a backward function: the forward arguments its results are the
    /// gradients of.
    static constexpr ::llvm::StringLiteral kWrtAttrName = "norm.wrt";
    /// On a backward function: the forward results its trailing arguments
    /// are the cotangents of.
    static constexpr ::llvm::StringLiteral kCotangentsAttrName =
        "norm.cotangents";
    /// On a backward function: the forward results (saved statistics) its
    /// arguments after the forward's are, in order.
    static constexpr ::llvm::StringLiteral kSavedAttrName = "norm.saved";
  }];
}

#endif // NORMLIR_DIALECT_NORM_IR_NORMDIALECT_TD
