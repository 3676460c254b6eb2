//===- NormOps.td - norm dialect operations ----------------*- tablegen -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Op classes: NormOp (all), NormCoreOp (the statistics/apply pattern every
// normalization expands into) and NormNamedOp (PyTorch-level layers).
// Constraints are numbered (C1, C2, ...) per op; NormOps.cpp enforces each one
// in the op's verifier with a comment naming it, and test/Dialect/Norm/
// invalid.mlir has a negative test per constraint.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_IR_NORMOPS_TD
#define NORMLIR_DIALECT_NORM_IR_NORMOPS_TD

include "normlir/Dialect/Norm/IR/NormDialect.td"
include "normlir/Dialect/Norm/IR/NormAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

// Forward ops take ranked tensors whose dimensions may be dynamic (`?`);
// each op's constraints say which dimensions must be static, and norm-expand
// checks at run time what a verifier cannot (norm.check).
def Norm_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;
def Norm_StatTensor : RankedTensorOf<[F32]>;
// The gradient ops are static only (dynamic shapes: the forward first).
def Norm_StaticFloatTensor : StaticShapeTensorOf<[F32, F16, BF16]>;
def Norm_StaticStatTensor : StaticShapeTensorOf<[F32]>;
def Norm_CounterTensor : 0DTensorOf<[I64]>;

//===----------------------------------------------------------------------===//
// Op classes
//===----------------------------------------------------------------------===//

class Norm_Op<string mnemonic, list<Trait> traits = []>
    : Op<Norm_Dialect, mnemonic, !listconcat(traits, [Pure])> {
  let hasVerifier = 1;
}

/// The core level: statistics over an axis set and the elementwise apply.
class Norm_CoreOp<string mnemonic, list<Trait> traits = []>
    : Norm_Op<mnemonic, traits>;

/// Statistics ops reduce `input` over `axes`, keeping reduced dimensions with
/// size 1, and always produce f32 results.
class Norm_StatsOp<string mnemonic, list<Trait> traits = []>
    : Norm_CoreOp<mnemonic, traits> {
  let arguments = (ins Norm_FloatTensor:$input, DenseI64ArrayAttr:$axes);
  let assemblyFormat = [{
    $input `axes` `=` $axes attr-dict `:` type($input) `->` type(results)
  }];
}

/// The named level: PyTorch layers with their parameters.
class Norm_NamedOp<string mnemonic, list<Trait> traits = []>
    : Norm_Op<mnemonic, traits>;

//===----------------------------------------------------------------------===//
// Core ops
//===----------------------------------------------------------------------===//

def Norm_MomentsOp : Norm_StatsOp<"moments",
    [AllTypesMatch<["mean", "variance"]>]> {
  let summary = "Mean and biased variance over an axis set";
  let description = [{
    Computes `mean = E_A[x]` and the biased `variance = E_A[(x - mean)^2]`
    over the axes `A = axes` of `input`, accumulating in f32. Reduced
    dimensions are kept with size 1, so the results broadcast against the
    input. The variance is computed from the centred values (two passes over
    the reduced slice), never as `E[x^2] - E[x]^2`, which cancels
    catastrophically for inputs with a large mean and small spread.

    Reference decomposition (n = number of reduced elements):
    ```
    mean     = sum_A(f32(x)) / n
    variance = sum_A((f32(x) - mean)^2) / n
    ```

    Constraints:
    * (C1) `axes` are in `[0, rank(input))`, distinct and sorted ascending.
    * (C2) `shape(mean)[d] = 1` for `d` in `axes`, `shape(input)[d]` otherwise.

    Example:
    ```mlir
    %mean, %var = norm.moments %x axes = [2, 3]
        : tensor<8x6x3x4xf32> -> tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>
    ```
  }];
  let results = (outs Norm_StatTensor:$mean, Norm_StatTensor:$variance);
}

def Norm_MeanSquareOp : Norm_StatsOp<"mean_square"> {
  let summary = "Mean of squares over an axis set (RMSNorm statistics)";
  let description = [{
    Computes `E_A[x^2]` over `A = axes`, accumulating in f32 (so f16 inputs
    with large values do not overflow). Reduced dimensions are kept with size 1.

    Reference decomposition: `result = sum_A(f32(x)^2) / n`.

    Constraints:
    * (C1) `axes` are in `[0, rank(input))`, distinct and sorted ascending.
    * (C2) `shape(result)[d] = 1` for `d` in `axes`, `shape(input)[d]`
      otherwise.
  }];
  let results = (outs Norm_StatTensor:$result);
}

def Norm_RstdOp : Norm_CoreOp<"rstd",
    [AllShapesMatch<["variance", "result"]>]> {
  let summary = "Reciprocal standard deviation 1 / sqrt(variance + epsilon)";
  let description = [{
    Elementwise `result = 1 / sqrt(f32(variance) + epsilon)`. The variance may
    be a statistic (f32) or a stored running variance (f32, f16 or bf16).

    With `zero_degenerate`, a degenerate element (`variance == 0` and
    `epsilon == 0`) gets `0` instead of `+inf`: PyTorch's `InvStd` rule for
    batch statistics (BatchNorm in training, InstanceNorm from the input),
    under which the output of a constant channel is its bias rather than
    NaN. LayerNorm, RMSNorm, GroupNorm and statistics from running
    estimates follow the plain formula, as in PyTorch.

    Constraints:
    * (C1) `!(epsilon < 0)` (+inf and NaN allowed, as in PyTorch).
  }];
  let arguments = (ins Norm_FloatTensor:$variance, F64Attr:$epsilon,
                       UnitAttr:$zero_degenerate);
  let results = (outs Norm_StatTensor:$result);
  let assemblyFormat = [{
    $variance `epsilon` `=` $epsilon attr-dict `:` type($variance) `->`
    type($result)
  }];
}

def Norm_ApplyOp : Norm_CoreOp<"apply", [AttrSizedOperandSegments]> {
  let summary = "Elementwise (x - mean) * rstd * weight + bias";
  let description = [{
    The elementwise half of every normalization:
    ```
    result = T(((f32(x) - mean) * rstd) * f32(weight) + f32(bias))
    ```
    computed in f32 and rounded once to the input's element type `T`.
    `mean` is absent for RMSNorm (no centring); `weight` and `bias` are
    optional. `mean` and `rstd` have the input's rank; each of their
    dimensions is either 1 (broadcast) or the input's size. `weight` and
    `bias` are indexed by the input dimensions listed in `param_axes`
    (the channel axis, the normalized shape, or the group/channel pair).

    Constraints:
    * (C1) `rank(mean) = rank(rstd) = rank(input)` and each dimension of
      `mean`/`rstd` is 1 or equal to the input's.
    * (C2) `param_axes` are in `[0, rank(input))`, distinct and ascending.
    * (C3) `shape(weight) = shape(bias) = [shape(input)[a] for a in
      param_axes]`.
    * (C4) `param_axes` is empty iff neither weight nor bias is given.
    * (C5) `type(result) = type(input)`.
  }];
  let arguments = (ins Norm_FloatTensor:$input,
                       Optional<Norm_StatTensor>:$mean,
                       Norm_StatTensor:$rstd,
                       Optional<Norm_FloatTensor>:$weight,
                       Optional<Norm_FloatTensor>:$bias,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$param_axes);
  let results = (outs Norm_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`mean` $mean^)? `rstd` $rstd (`weight` $weight^)?
    (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Named ops
//===----------------------------------------------------------------------===//

def Norm_LayerNormOp : Norm_NamedOp<"layer_norm", [AttrSizedOperandSegments]> {
  let summary = "torch.nn.LayerNorm";
  let description = [{
    `torch.nn.functional.layer_norm(input, normalized_shape, weight, bias,
    eps)`. Normalizes over the last `len(normalized_shape)` dimensions with
    the biased variance. `weight` and `bias` are optional independently
    (`elementwise_affine=False`, `bias=False`). The side results are PyTorch's
    `native_layer_norm` mean and rstd, of shape `(*B, 1, ..., 1)`, in f32;
    as PyTorch's Welford kernel, the mean of a row holding +-inf is NaN.

    Reference decomposition (`A` = the last `len(normalized_shape)` axes):
    ```
    mean, var = norm.moments x axes = A
    rstd      = norm.rstd var epsilon = eps
    y         = norm.apply x mean rstd weight bias param_axes = A
    ```

    Constraints:
    * (C1) `0 < len(normalized_shape) <= rank(input)` and the trailing
      dimensions of `input` equal `normalized_shape`, where `-1` stands for
      a dynamic dimension (`?`) of the input.
    * (C2) `shape(weight) = shape(bias)` = the trailing dimensions of
      `input` (`?` where they are dynamic: norm-check-shapes checks their
      sizes at run time); their element type is f32 or the input's.
    * (C3) `type(output) = type(input)`; `mean` and `rstd` are f32 with
      shape `(*B, 1, ..., 1)`.
    * (C4) `!(epsilon < 0)` (+inf and NaN allowed, as in PyTorch).
  }];
  let arguments = (ins Norm_FloatTensor:$input,
                       Optional<Norm_FloatTensor>:$weight,
                       Optional<Norm_FloatTensor>:$bias,
                       DenseI64ArrayAttr:$normalized_shape,
                       DefaultValuedAttr<F64Attr, "1e-5">:$epsilon);
  let results = (outs Norm_FloatTensor:$output, Norm_StatTensor:$mean,
                      Norm_StatTensor:$rstd);
  let assemblyFormat = [{
    $input (`weight` $weight^)? (`bias` $bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def Norm_RMSNormOp : Norm_NamedOp<"rms_norm"> {
  let summary = "torch.nn.RMSNorm";
  let description = [{
    `torch.nn.functional.rms_norm(input, normalized_shape, weight, eps)`:
    `y = x * rsqrt(E_A[x^2] + eps) * weight` over the last
    `len(normalized_shape)` axes, no centring, no bias. When `epsilon` is
    absent it is PyTorch's `eps=None` default: the epsilon of float
    (1.1920929e-07) for f32, f16 and bf16 alike, since PyTorch computes
    low-precision RMSNorm in float and takes
    `std::numeric_limits<float>::epsilon()`. The side result is the rstd, of
    shape `(*B, 1, ..., 1)`, in f32.

    Reference decomposition:
    ```
    ms   = norm.mean_square x axes = A
    rstd = norm.rstd ms epsilon = eps
    y    = norm.apply x rstd weight param_axes = A
    ```

    Constraints:
    * (C1) `0 < len(normalized_shape) <= rank(input)` and the trailing
      dimensions of `input` equal `normalized_shape`, where `-1` stands for
      a dynamic dimension (`?`) of the input.
    * (C2) `shape(weight)` = the trailing dimensions of `input` (`?` where
      they are dynamic: norm-check-shapes checks its sizes at run time);
      its element type is f32 or the input's.
    * (C3) `type(output) = type(input)`; `rstd` is f32 `(*B, 1, ..., 1)`.
    * (C4) `!(epsilon < 0)` (+inf and NaN allowed, as in PyTorch) when given.
  }];
  let arguments = (ins Norm_FloatTensor:$input,
                       Optional<Norm_FloatTensor>:$weight,
                       DenseI64ArrayAttr:$normalized_shape,
                       OptionalAttr<F64Attr>:$epsilon);
  let results = (outs Norm_FloatTensor:$output, Norm_StatTensor:$rstd);
  let assemblyFormat = [{
    $input (`weight` $weight^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// The epsilon in effect: the attribute, or finfo(dtype).eps.
    double getEffectiveEpsilon();
  }];
}

/// BatchNorm and InstanceNorm share operands: the input, optional affine
/// parameters and optional running statistics.
class Norm_RunningStatsOp<string mnemonic> : Norm_NamedOp<mnemonic,
    [AttrSizedOperandSegments]> {
  let results = (outs Norm_FloatTensor:$output,
                      Variadic<AnyRankedTensor>:$side_results);
  let assemblyFormat = [{
    $input (`weight` $weight^)? (`bias` $bias^)?
    (`running` `(` $running_mean^ `,` $running_var `)`)?
    (`batches_tracked` $num_batches_tracked^)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def Norm_BatchNormOp : Norm_RunningStatsOp<"batch_norm"> {
  let summary = "torch.nn.BatchNorm{1,2,3}d";
  let description = [{
    `torch.nn.functional.batch_norm` for an input `(N, C, *S)` (or
    channels-last, with `channel_axis = rank - 1`).

    * `training`: normalize with the batch statistics over all axes but the
      channel axis (biased variance). When running statistics are given they
      are updated, `new = (1 - m) * running + m * stat` with the **unbiased**
      variance (`n = N * prod(S)`), and `m = momentum`, or with
      `cumulative_average` (PyTorch's `momentum=None`) `m = 1 /
      (num_batches_tracked + 1)`. When `num_batches_tracked` is given it is
      returned incremented.
    * eval (no `training`): normalize with the running statistics; nothing is
      updated.

    Results: `output`, then in training `save_mean` and `save_rstd` (shape
    `(C)`, f32, as `native_batch_norm`), then the updated running mean and
    variance when running statistics are given, then the incremented
    `num_batches_tracked` when it is given.

    Reference decomposition (training, NCHW):
    ```
    mean, var = norm.moments x axes = [0, 2, 3]
    rstd      = norm.rstd var epsilon = eps
    y         = norm.apply x mean rstd weight bias param_axes = [1]
    ```

    Constraints:
    * (C1) `rank(input) >= 2`; `channel_axis` is 1 or `rank(input) - 1`;
      the channel dimension is static (the others may be dynamic).
    * (C2) `shape(weight) = shape(bias) = shape(running_mean) =
      shape(running_var) = (C)`; element types f32 or the input's; the two
      running statistics are given together and have the same type.
    * (C3) eval requires running statistics.
    * (C4) training rejects exactly one value per channel
      (`N * prod(S) = 1`), as PyTorch. An empty input (`N * prod(S) = 0`) is
      valid: as PyTorch, the output is empty, the running statistics are
      returned unchanged and `save_mean`/`save_rstd` are zeros. With a
      dynamic reduced dimension, norm-expand checks it at run time
      (`norm.check`).
    * (C5) `cumulative_average` requires `num_batches_tracked` and training.
    * (C6) the side results are exactly those listed above, with the types
      listed above.
    * (C7) `!(epsilon < 0)` (+inf and NaN allowed, as in PyTorch); `0 <= momentum <= 1`.
  }];
  let arguments = (ins Norm_FloatTensor:$input,
                       Optional<Norm_FloatTensor>:$weight,
                       Optional<Norm_FloatTensor>:$bias,
                       Optional<Norm_FloatTensor>:$running_mean,
                       Optional<Norm_FloatTensor>:$running_var,
                       Optional<Norm_CounterTensor>:$num_batches_tracked,
                       DefaultValuedAttr<F64Attr, "1e-5">:$epsilon,
                       DefaultValuedAttr<F64Attr, "0.1">:$momentum,
                       UnitAttr:$cumulative_average,
                       UnitAttr:$training,
                       DefaultValuedAttr<I64Attr, "1">:$channel_axis);
}

def Norm_InstanceNormOp : Norm_RunningStatsOp<"instance_norm"> {
  let summary = "torch.nn.InstanceNorm{1,2,3}d";
  let description = [{
    `torch.nn.functional.instance_norm` for an input `(N, C, *S)` (or
    channels-last). Normalizes each `(n, c)` over the spatial axes `*S`,
    unless running statistics are given and `training` is not set, in which
    case the running statistics are used (PyTorch's
    `use_input_stats = training or not track_running_stats`).

    With running statistics and `training`, the per-`(n, c)` means and
    unbiased variances (`n = prod(S)`) are averaged over the batch, then
    `new = (1 - momentum) * running + momentum * stat`. PyTorch's
    InstanceNorm passes `momentum=None` as 0 and never counts batches, so
    there is no `cumulative_average` and no `num_batches_tracked` here.

    Results: `output`, then the updated running mean and variance when
    running statistics are given and `training` is set.

    Reference decomposition (NCHW):
    ```
    mean, var = norm.moments x axes = [2, 3]
    rstd      = norm.rstd var epsilon = eps
    y         = norm.apply x mean rstd weight bias param_axes = [1]
    ```

    Constraints:
    * (C1) `rank(input) >= 3`; `channel_axis` is 1 or `rank(input) - 1`;
      the channel dimension is static (the others may be dynamic).
    * (C2) `shape(weight) = shape(bias) = shape(running_mean) =
      shape(running_var) = (C)`; element types f32 or the input's; the two
      running statistics are given together and have the same type.
    * (C3) normalizing with input statistics rejects exactly one spatial
      element (`prod(S) = 1`), as PyTorch. With an empty batch (`N = 0`) the
      running statistics are averaged over no samples and become NaN, as
      PyTorch's.
    * (C4) `num_batches_tracked` and `cumulative_average` are not accepted.
    * (C5) the side results are exactly those listed above.
    * (C6) `!(epsilon < 0)` (+inf and NaN allowed, as in PyTorch); `0 <= momentum <= 1`.
  }];
  let arguments = (ins Norm_FloatTensor:$input,
                       Optional<Norm_FloatTensor>:$weight,
                       Optional<Norm_FloatTensor>:$bias,
                       Optional<Norm_FloatTensor>:$running_mean,
                       Optional<Norm_FloatTensor>:$running_var,
                       Optional<Norm_CounterTensor>:$num_batches_tracked,
                       DefaultValuedAttr<F64Attr, "1e-5">:$epsilon,
                       DefaultValuedAttr<F64Attr, "0.1">:$momentum,
                       UnitAttr:$cumulative_average,
                       UnitAttr:$training,
                       DefaultValuedAttr<I64Attr, "1">:$channel_axis);
}

def Norm_GroupNormOp : Norm_NamedOp<"group_norm", [AttrSizedOperandSegments]> {
  let summary = "torch.nn.GroupNorm";
  let description = [{
    `torch.nn.functional.group_norm(input, num_groups, weight, bias, eps)`
    for an input `(N, C, *S)` (or channels-last). Each `(n, g)` is normalized
    over its `C / G` channels and the spatial axes; weight and bias are per
    channel. The side results are PyTorch's `native_group_norm` mean and rstd,
    of shape `(N, G)`, in f32; as PyTorch's Welford kernel, the mean of a
    group holding +-inf is NaN.

    Reference decomposition (NCHW): split the channel axis into `(G, C/G)`,
    ```
    xg        = tensor.expand_shape x : (N, C, H, W) -> (N, G, C/G, H, W)
    mean, var = norm.moments xg axes = [2, 3, 4]
    rstd      = norm.rstd var epsilon = eps
    yg        = norm.apply xg mean rstd weight' bias' param_axes = [1, 2]
    y         = tensor.collapse_shape yg : -> (N, C, H, W)
    ```
    with `weight'` the weight reshaped to `(G, C/G)`.

    Constraints:
    * (C1) `rank(input) >= 2`; `channel_axis` is 1 or `rank(input) - 1`;
      the channel dimension is static (the others may be dynamic).
    * (C2) `num_groups > 0` and `C % num_groups = 0`.
    * (C3) `shape(weight) = shape(bias) = (C)`; element types f32 or the
      input's.
    * (C4) `type(output) = type(input)`; `mean`/`rstd` are f32 `(N, G)`.
    * (C5) `!(epsilon < 0)` (+inf and NaN allowed, as in PyTorch).
  }];
  let arguments = (ins Norm_FloatTensor:$input,
                       Optional<Norm_FloatTensor>:$weight,
                       Optional<Norm_FloatTensor>:$bias,
                       I64Attr:$num_groups,
                       DefaultValuedAttr<F64Attr, "1e-5">:$epsilon,
                       DefaultValuedAttr<I64Attr, "1">:$channel_axis);
  let results = (outs Norm_FloatTensor:$output, Norm_StatTensor:$mean,
                      Norm_StatTensor:$rstd);
  let assemblyFormat = [{
    $input (`weight` $weight^)? (`bias` $bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Fused kernel
//===----------------------------------------------------------------------===//

def Norm_KernelOp : Op<Norm_Dialect, "kernel", [AttrSizedOperandSegments,
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "One fused normalization: statistics and apply";
  let description = [{
    A normalization as one kernel, formed by `norm-fuse` from a
    `norm.moments`/`norm.mean_square` + `norm.rstd` + `norm.apply` chain (or
    from a lone `norm.apply`). Like `linalg` ops it is in destination-passing
    style and exists on tensors (returning the updated `outs`) and, after
    bufferization, on memrefs (writing `outs`, no results).

    Its `kind`, written first, says what it computes (backward kinds will
    join these):
    * `moments`, 4 outs `(y, mean, variance, rstd)`: `norm.moments` over
      `axes`, then `rstd = 1 / sqrt(variance + epsilon)` (with
      `zero_degenerate`, 0 where `variance == 0 and epsilon == 0`, as
      `norm.rstd`), then the apply.
    * `mean_square`, 3 outs `(y, mean_square, rstd)`: `norm.mean_square`
      over `axes`, the rstd and an apply without centring.
    * `apply`, 1 out `(y)`: apply only, with the given `mean` (optional) and
      `rstd`, whose dimensions listed in `axes` are broadcast.

    Reference decomposition (4 outs):
    ```
    mean, variance = norm.moments x axes = axes
    rstd = norm.rstd variance epsilon = epsilon {zero_degenerate?}
    y = norm.apply x mean mean rstd rstd weight w bias b {param_axes}
    ```
    Results are those of the decomposition up to f32 rounding (the kernel
    sums in vector lanes).

    The lowering views the input as `[P0, R1, P1, R2]`: after dropping
    dimensions of size 1, the dimensions form at most four runs, parallel
    (not in `axes`) and reduced, in the order P, R, P, R (any run may be
    empty). `schedule` (`#norm.schedule` for the CPU, `#norm.gpu_schedule`
    for the GPU) says how it is tiled; a kernel with dynamic dimensions may
    have `variants` instead, a schedule per range of its runtime size.

    Constraints:
    * (C1) `axes` are in `[0, rank(input))`, distinct and ascending.
    * (C2) `param_axes` likewise, and are given iff weight or bias is;
      `shape(weight) = shape(bias) = [shape(input)[a] for a in param_axes]`.
    * (C3) 4 `outs` for `moments`, 3 for `mean_square`, 1 for `apply`;
      `type(outs[0])` has the input's shape and
      element type; statistics outs are f32 with the input's shape where
      dimensions in `axes` are 1. Shapes here and in (C2), (C4), (C7) and
      (C10) are compared as compatible: a dimension static in one and
      dynamic in the other agrees (a cast folded into the kernel; the sizes
      are equal at run time).
    * (C4) `mean` and `rstd` operands only for `apply`, `rstd` required
      there, with the statistics shape of (C3).
    * (C5) `epsilon` is given (and `!(epsilon < 0)`) iff statistics are
      computed; so is `zero_degenerate`, if present.
    * (C6) Operands are all tensors (then results have the types of `outs`)
      or all memrefs (then there are no results).
    * (C7) A non-empty `prologue` has one block whose arguments have the
      element types of `input` and `extra_inputs` (which all have the
      input's shape) and which yields one f32, f16 or bf16 value: the
      normalized tensor, elementwise (`norm-fuse` moves a residual add or a
      cast producing the input here). Without a prologue, `extra_inputs` is
      empty.
    * (C8) A non-empty `epilogue` has one block with one argument of the
      normalized element type (the apply's result, rounded to it) and
      yields the element type of `outs[0]` (an activation or cast consuming
      the output). Without one, `outs[0]` has the normalized element type.
    * (C9) A statically shaped input holds fewer than 2^62 bytes (the
      lowerings index in int64 and round runs up to whole vectors).
    * (C11) `variants` (`#norm.variant`, a dynamically shaped kernel's
      schedules by size) is not given with `schedule`; it is not empty, its
      `from` are strictly ascending starting at 0, and its schedules are all
      CPU or all GPU schedules.
    * (C10) With a prologue, `outs` may have one more element after those
      of (C3): the prologue's value (the normalized tensor before
      normalization: a residual stream's sum that is also returned), of the
      input's shape and the normalized element type, written by the kernel
      as it reads it. Only the CPU lowering writes it.

    With a prologue and an epilogue, a residual add, the norm and an
    activation read each input once and write the output once:
    ```mlir
    %y:4 = norm.kernel moments %a, %r weight %w outs(%e, %m, %v, %s)
        prologue {
        ^bb0(%p: f32, %q: f32):
          %sum = arith.addf %p, %q : f32
          norm.yield %sum : f32
        } epilogue {
        ^bb0(%t: f32):
          %c = arith.constant 0.0 : f32
          %relu = arith.maximumf %t, %c : f32
          norm.yield %relu : f32
        } {axes = array<i64: 1>, param_axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
        : (...) -> (...)
    ```
  }];
  let arguments = (ins AnyShaped:$input,
                       Variadic<AnyShaped>:$extra_inputs,
                       Optional<AnyShaped>:$mean,
                       Optional<AnyShaped>:$rstd, Optional<AnyShaped>:$weight,
                       Optional<AnyShaped>:$bias, Variadic<AnyShaped>:$outs,
                       DenseI64ArrayAttr:$axes,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$param_axes,
                       OptionalAttr<F64Attr>:$epsilon,
                       UnitAttr:$zero_degenerate,
                       Norm_KernelKind:$kind,
                       OptionalAttr<AnyAttrOf<[Norm_ScheduleAttr,
                                    Norm_GPUScheduleAttr]>>:$schedule,
                       OptionalAttr<TypedArrayAttrBase<Norm_VariantAttr,
                                    "variants">>:$variants);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region AnyRegion:$prologue, AnyRegion:$epilogue);
  let assemblyFormat = [{
    $kind $input (`,` $extra_inputs^)? (`mean` $mean^)? (`rstd` $rstd^)?
    (`weight` $weight^)? (`bias` $bias^)? `outs` `(` $outs `)`
    (`prologue` $prologue^)? (`epilogue` $epilogue^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getOutsMutable();
    }
    /// True when the kernel computes statistics (not apply-only).
    bool computesStatistics() { return getKind() != KernelKind::Apply; }
    /// Element type of the tensor that is normalized: the prologue's result,
    /// else the input's.
    ::mlir::Type getNormalizedElementType();
    /// True when the apply subtracts a mean: the moments kind, or an
    /// apply-only kernel given one.
    bool isCentered() {
      return getKind() == KernelKind::Moments ||
             (getKind() == KernelKind::Apply && getMean());
    }
    /// The number of outs `kind` asks for (C3).
    static unsigned getNumOutsOf(KernelKind kind) {
      return kind == KernelKind::Moments ? 4
             : kind == KernelKind::MeanSquare ? 3 : 1;
    }
    /// The out the prologue's value is written to (C10), or null.
    ::mlir::Value getPrologueResult() {
      return getOuts().size() > getNumOutsOf(getKind()) ? getOuts().back()
                                                        : ::mlir::Value();
    }
  }];
}

def Norm_CheckOp : Op<Norm_Dialect, "check",
    [MemoryEffects<[MemWrite]>]> {
  let summary = "A runtime condition of a dynamically shaped normalization";
  let description = [{
    Where a constraint depends on a dynamic dimension (one value per channel
    in BatchNorm training, two inputs of an elementwise prologue of the same
    size), norm-expand and norm-check-shapes emit `norm.check` with the
    condition and the error PyTorch would raise. When `condition` is false
    at run time, the function returns without running the rest of its body
    and its entry point returns a nonzero status whose message is
    `message`: a located runtime error, never undefined behaviour or an
    abort. norm-lower-checks lowers it, once results are out-parameters.

    The op writes to the default resource so that it is neither erased nor
    moved past the kernels it guards.

    Constraints:
    * (C1) `message` is not empty.
    * (C2) the op is not nested in a region of another op (the function
      returns from its own body).

    A check of a constant true condition is erased (canonicalization).

    Example:
    ```mlir
    norm.check %ok, "expected more than 1 value per channel when training"
    ```
  }];
  let arguments = (ins I1:$condition, StrAttr:$message);
  let assemblyFormat = "$condition `,` $message attr-dict";
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Norm_YieldOp : Op<Norm_Dialect, "yield", [Pure, ReturnLike, Terminator,
    HasParent<"KernelOp">]> {
  let summary = "Yields the value of a norm.kernel prologue or epilogue";
  let description = [{
    Terminates the `prologue` and `epilogue` regions of `norm.kernel` with
    the element they compute.
  }];
  let arguments = (ins AnyType:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

//===----------------------------------------------------------------------===//
// Gradient ops (core level of the backward)
//===----------------------------------------------------------------------===//

include "normlir/Dialect/Norm/IR/NormGradOps.td"

#endif // NORMLIR_DIALECT_NORM_IR_NORMOPS_TD
