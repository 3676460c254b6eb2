//===- NormGradOps.td - norm dialect gradient ops ----------*- tablegen -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The core level of the backward: every normalization's gradient is
// reductions over the forward's axis set plus an elementwise apply, as its
// forward is (docs/design.md, "Gradients"). Included by NormOps.td; the
// verifiers are in NormGradOps.cpp, each check naming its constraint.
//
// Shared notation of the three ops, all computed in f32:
//   g    = f32(grad) * f32(weight)   (weight indexed by param_axes; g =
//                                     f32(grad) without a weight)
//   xhat = (f32(x) - mean) * rstd    (mean = 0 without one: RMSNorm)
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_IR_NORMGRADOPS_TD
#define NORMLIR_DIALECT_NORM_IR_NORMGRADOPS_TD

def Norm_GradMomentsOp : Norm_CoreOp<"grad_moments", [AttrSizedOperandSegments,
    AllTypesMatch<["mean_g", "mean_gxhat"]>]> {
  let summary = "Means of g and g * xhat over an axis set (backward statistics)";
  let description = [{
    The two reductions a backward takes over the forward's axis set `A`
    where the forward's statistics came from its input:
    ```
    mean_g     = E_A[g]
    mean_gxhat = E_A[g * xhat]
    ```
    with `g` and `xhat` as at the top of this section. `mean` and `rstd`
    are the forward's statistics over `A` (reduced dimensions kept as 1);
    the results have their shape. A centred norm uses both results, RMSNorm
    only `mean_gxhat` (its `mean_g` is then dead and not computed).

    With `input_statistics`, `mean` and `rstd` are the input's own
    statistics over `axes` (saved by its forward, as `norm-differentiate`
    passes them): a fused lowering may then refine the mean by
    `E_A[x - mean]`, the residual of its f32 rounding, for this op and the
    `norm.apply_grad` and `norm.param_grad` that read the same statistics.
    Without it the statistics are used exactly as given. `epsilon` and
    `zero_degenerate` then say how the forward computed them (those of its
    `norm.rstd`), so that a fused lowering may also recompute them from the
    input instead of reading them (`#norm.grad_schedule`'s `statistics`).

    Reference decomposition (n = number of reduced elements):
    ```
    mean_g     = sum_A(f32(grad) * f32(weight)) / n
    mean_gxhat = sum_A(f32(grad) * f32(weight) * (f32(x) - mean) * rstd) / n
    ```

    Constraints:
    * (C1) `axes` are in `[0, rank(x))`, distinct, ascending and not empty.
    * (C2) `type(grad) = type(x)`.
    * (C3) `shape(rstd)` (and `shape(mean)`, when given) is `shape(x)` with
      the dimensions in `axes` set to 1.
    * (C4) `param_axes` are in `[0, rank(x))`, distinct and ascending.
    * (C5) `shape(weight) = [shape(x)[a] for a in param_axes]`, its element
      type f32 or the input's.
    * (C6) `param_axes` is empty iff no weight is given.
    * (C7) Both results have the type of `rstd`.
    * (C8) `epsilon` is given iff `input_statistics`, `zero_degenerate` only
      with it.
    * (C9) `!(epsilon < 0)`.

    Example (LayerNorm over the last dimension):
    ```mlir
    %mg, %mgx = norm.grad_moments %x, %dy mean %m rstd %r weight %w
        axes = [1] {param_axes = array<i64: 1>}
        : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>,
           tensor<8xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
    ```
  }];
  let arguments = (ins Norm_StaticFloatTensor:$x, Norm_StaticFloatTensor:$grad,
                       Optional<Norm_StaticStatTensor>:$mean,
                       Norm_StaticStatTensor:$rstd,
                       Optional<Norm_StaticFloatTensor>:$weight,
                       DenseI64ArrayAttr:$axes,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$param_axes,
                       UnitAttr:$input_statistics,
                       OptionalAttr<F64Attr>:$epsilon,
                       UnitAttr:$zero_degenerate);
  let results = (outs Norm_StaticStatTensor:$mean_g, Norm_StaticStatTensor:$mean_gxhat);
  let assemblyFormat = [{
    $x `,` $grad (`mean` $mean^)? `rstd` $rstd (`weight` $weight^)?
    `axes` `=` $axes attr-dict `:` functional-type(operands, results)
  }];
}

def Norm_ApplyGradOp : Norm_CoreOp<"apply_grad", [AttrSizedOperandSegments]> {
  let summary = "Elementwise input gradient rstd * (g - mean_g - xhat * mean_gxhat)";
  let description = [{
    The elementwise half of every normalization's backward:
    ```
    dx = T(rstd * (g - mean_g - xhat * mean_gxhat))
    ```
    computed in f32 and rounded once to the input's element type `T`, with
    `g` and `xhat` as at the top of this section. A term whose operand is
    absent is dropped: without `mean_g` and `mean_gxhat` (statistics that
    are constants of the forward: BatchNorm eval, InstanceNorm from running
    statistics) `dx = T(rstd * g)`, and `x` and `mean` are not read.
    `mean_g` and `mean_gxhat` are `norm.grad_moments`' results; like `mean`
    and `rstd` they have the input's rank, each dimension 1 (broadcast) or
    the input's size.

    Reference decomposition, per element:
    ```
    g  = f32(grad) * f32(weight)
    dx = T(rstd * (g - mean_g - (f32(x) - mean) * rstd * mean_gxhat))
    ```

    Constraints:
    * (C1) `type(grad) = type(x)`.
    * (C2) `mean`, `rstd`, `mean_g`, `mean_gxhat` have rank `rank(x)` and
      each of their dimensions is 1 or equal to the input's.
    * (C3) `param_axes` are in `[0, rank(x))`, distinct and ascending.
    * (C4) `shape(weight) = [shape(x)[a] for a in param_axes]`, its element
      type f32 or the input's.
    * (C5) `param_axes` is empty iff no weight is given.
    * (C6) `type(result) = type(x)`.
  }];
  let arguments = (ins Norm_StaticFloatTensor:$x, Norm_StaticFloatTensor:$grad,
                       Optional<Norm_StaticStatTensor>:$mean,
                       Norm_StaticStatTensor:$rstd,
                       Optional<Norm_StaticFloatTensor>:$weight,
                       Optional<Norm_StaticStatTensor>:$mean_g,
                       Optional<Norm_StaticStatTensor>:$mean_gxhat,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$param_axes);
  let results = (outs Norm_StaticFloatTensor:$result);
  let assemblyFormat = [{
    $x `,` $grad (`mean` $mean^)? `rstd` $rstd (`weight` $weight^)?
    (`mean_g` $mean_g^)? (`mean_gxhat` $mean_gxhat^)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def Norm_ParamGradOp : Norm_CoreOp<"param_grad", [
    AllTypesMatch<["weight_grad", "bias_grad"]>]> {
  let summary = "Weight and bias gradients: sums of grad * xhat and grad";
  let description = [{
    The reductions over the axes *other* than `param_axes` that give the
    gradients of the weight and the bias:
    ```
    weight_grad = T(sum_{not P}(f32(grad) * xhat))
    bias_grad   = T(sum_{not P}(f32(grad)))
    ```
    accumulated in f32 and rounded once to the results' element type `T`
    (the parameters' type), with `xhat` as at the top of this section and
    `P = param_axes`. `mean` and `rstd` broadcast as in `norm.apply`. A
    result without uses is not computed (a norm without bias).

    Constraints:
    * (C1) `type(grad) = type(x)`.
    * (C2) `mean` and `rstd` have rank `rank(x)` and each of their
      dimensions is 1 or equal to the input's.
    * (C3) `param_axes` are in `[0, rank(x))`, distinct, ascending and not
      empty.
    * (C4) `shape(weight_grad) = [shape(x)[a] for a in param_axes]`.

    Example (BatchNorm NCHW):
    ```mlir
    %dw, %db = norm.param_grad %x, %dy mean %m rstd %r param_axes = [1]
        : (tensor<8x6x3x4xf32>, tensor<8x6x3x4xf32>, tensor<1x6x1x1xf32>,
           tensor<1x6x1x1xf32>) -> (tensor<6xf32>, tensor<6xf32>)
    ```
  }];
  let arguments = (ins Norm_StaticFloatTensor:$x, Norm_StaticFloatTensor:$grad,
                       Optional<Norm_StaticStatTensor>:$mean,
                       Norm_StaticStatTensor:$rstd,
                       DenseI64ArrayAttr:$param_axes);
  let results = (outs Norm_StaticFloatTensor:$weight_grad,
                      Norm_StaticFloatTensor:$bias_grad);
  let assemblyFormat = [{
    $x `,` $grad (`mean` $mean^)? `rstd` $rstd `param_axes` `=` $param_axes
    attr-dict `:` functional-type(operands, results)
  }];
}

def Norm_GradKernelOp : Op<Norm_Dialect, "grad_kernel", [
    AttrSizedOperandSegments, DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "One fused norm backward: statistics, dx, dweight, dbias";
  let description = [{
    The backward of a normalization over `axes` whose statistics come from
    its input, as one kernel, formed by `norm-fuse-grad` from the chain the
    backward function of `norm-differentiate` holds: the forward statistics
    from the input (`norm.moments` when `centered`, else
    `norm.mean_square`, then `norm.rstd` with `epsilon`,
    `zero_degenerate`), `norm.grad_moments`, `norm.apply_grad` and, with
    three `outs`, `norm.param_grad`. The weight and the parameter gradients
    lie along `param_axes` (absent: `axes`, a row norm). Like `norm.kernel`
    it is in destination-passing style, on tensors and, after
    bufferization, on memrefs.

    Reference decomposition (three outs, centred):
    ```
    mean, var = norm.moments x axes = axes
    rstd = norm.rstd var epsilon = epsilon {zero_degenerate?}
    mg, mgx = norm.grad_moments x, grad mean mean rstd rstd weight w axes = axes {param_axes}
    dx = norm.apply_grad x, grad mean mean rstd rstd weight w mean_g mg mean_gxhat mgx {param_axes}
    dw, db = norm.param_grad x, grad mean mean rstd rstd param_axes = param_axes
    ```
    The CPU lowering has two forms. A row norm (trailing `axes`, the
    parameters along them) reads each row of `input` and `grad` from memory
    once and sums `dweight` and `dbias` into per-task partials (a fixed
    number of row ranges). The channel norms (BatchNorm, InstanceNorm,
    GroupNorm, NCHW or channels-last) take one pass over `input` and `grad`
    for every sum the backward needs, per contiguous run of the input
    (shifted, in f64), a combine of those partials in a fixed order, and
    the pass that writes dx. Either way the results do not depend on the
    number of threads.

    **Given statistics.** With `rstd` (and, when `centered`, `mean`) the
    kernel takes the statistics instead of recomputing them from the input
    (then `epsilon` and `zero_degenerate` are unused), exactly as given. With
    `input_statistics` they are the input's own, saved by its forward (from
    `norm.grad_moments`' attribute of that name): `rstd` is used as given and
    the mean as `mean + E_A[x - mean]`, the correction summed in the pass
    that reads x anyway, so that an f32 mean rounded at a large magnitude
    (1e4 + U(0, 1)) costs the gradients no accuracy. `epsilon` and
    `zero_degenerate` are then the forward's, and a `schedule` with
    `statistics = recomputed` recomputes the statistics with them instead
    of reading the given ones.

    **Schedule.** `schedule` (`#norm.grad_schedule`, recorded by
    `norm-select-schedule`) says how the CPU lowering runs the kernel:
    whether it reads the saved statistics or recomputes them, how far
    ahead it prefetches (rows of a row backward, segments of the segment
    form), and whether it runs on threads.

    **Constant statistics.** With `constant_statistics` the statistics are
    constants of the forward (BatchNorm eval, InstanceNorm from running
    statistics): `dx = T(rstd * g)` with no `E_A` terms, and the parameter
    gradients use `mean` and `rstd` exactly as given. The reference
    decomposition is then `norm.apply_grad` without `mean_g`/`mean_gxhat`
    and `norm.param_grad` with the given statistics.

    **Residual gradient.** With `residual_grad` the kernel writes
    `dx + residual_grad` instead of dx: the gradient of a residual stream
    (`h = x + r; y = norm(h)`, h also an output) that the upstream layers
    add to this backward's dx, fused as the forward fuses the residual
    add. The sum is taken in f32 from dx before rounding, then rounded
    once to the element type: the reference decomposition ends with
    ```
    out = T(f32(dx) + f32(residual_grad))
    ```
    which for f16/bf16 rounds dx once where the unfused chain rounds it
    twice.

    Constraints:
    * (C1) `axes` are in `[0, rank(input))`, distinct and ascending, at
      least one.
    * (C2) `grad` has the input's shape and element type.
    * (C3) `param_axes`, when given, are in `[0, rank(input))`, distinct and
      ascending; `shape(weight) = [shape(input)[a] for a in P]` where `P` is
      `param_axes` if given, else `axes`.
    * (C4) 1 or 3 `outs`: `outs[0]` has the input's shape and element type;
      `outs[1]` and `outs[2]` the shape of (C3) and one element type.
    * (C5) `!(epsilon < 0)`.
    * (C6) Operands are all tensors (then results have the types of `outs`)
      or all memrefs (then there are no results).
    * (C7) Every operand is statically shaped, of f32, f16 or bf16, and
      holds fewer than 2^62 bytes.
    * (C8) `mean` is given only with `rstd`, and with `rstd` iff
      `centered`; both are f32 of the input's shape with the dimensions in
      `axes` set to 1.
    * (C9) `constant_statistics` only with `rstd`.
    * (C10) `input_statistics` only with `rstd`, and not with
      `constant_statistics`.
    * (C11) `residual_grad` has the input's shape and element type.
    * (C12) A `schedule` recomputes the statistics (`statistics =
      recomputed`) only with `input_statistics`, and prefetches (`prefetch
      > 0`) or streams dx (`nontemporal`) only in the row and segment
      forms, not the column form (whose rows are read once, in order, in
      runs shorter than a streamed one); the form comes from the layout
      analysis, so `norm-select-schedule` and the lowering check this half.
  }];
  let arguments = (ins AnyShaped:$input, AnyShaped:$grad,
                       Optional<AnyShaped>:$mean, Optional<AnyShaped>:$rstd,
                       Optional<AnyShaped>:$weight,
                       Optional<AnyShaped>:$residual_grad,
                       Variadic<AnyShaped>:$outs,
                       DenseI64ArrayAttr:$axes, F64Attr:$epsilon,
                       UnitAttr:$centered, UnitAttr:$zero_degenerate,
                       OptionalAttr<DenseI64ArrayAttr>:$param_axes,
                       UnitAttr:$constant_statistics,
                       UnitAttr:$input_statistics,
                       OptionalAttr<Norm_GradScheduleAttr>:$schedule);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $input `,` $grad (`mean` $mean^)? (`rstd` $rstd^)? (`weight` $weight^)?
    (`residual_grad` $residual_grad^)? `outs` `(` $outs `)` attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getOutsMutable();
    }
    /// The parameters' axes: `param_axes` if given, else `axes`.
    ::llvm::ArrayRef<int64_t> getWeightAxes() {
      if (auto p = getParamAxes())
        return *p;
      return getAxes();
    }
  }];
}

#endif // NORMLIR_DIALECT_NORM_IR_NORMGRADOPS_TD
