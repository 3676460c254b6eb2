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

def NormDifferentiate : Pass<"norm-differentiate", "::mlir::ModuleOp"> {
  let summary = "Derive the backward function of each forward norm function";
  let description = [{
    For each function `@f` holding norm ops (or those named by
    `functions`), adds `@f_backward` (`suffix`), derived from the core form
    (`norm-expand` is applied to a copy of `@f`) by reverse mode:

    * its arguments are `@f`'s, then one cotangent per *differentiable*
      result of `@f` (a normalized output: a value computed by `norm.apply`,
      possibly reshaped; or an elementwise `linalg.generic` result of `@f`
      that depends on an argument: a residual stream `h = x + r` returned
      beside `norm(h)`, an epilogue), of that result's type;
    * its results are the gradients of the arguments that reach a
      `norm.apply`'s input, weight or bias, in argument order; where `@f`
      carries `norm.wrt` (argument indices, ascending), of those arguments
      only (each must reach one: an error otherwise), so that gradients
      nobody needs (a frozen weight's, a residual's equal to the input's)
      are neither computed nor copied.

    Statistics results (mean, rstd) and running-statistics updates are not
    differentiable, as in PyTorch; running statistics get no gradient.

    **Saved statistics.** Where `@f` returns the statistics a named norm
    computes from its input (its `mean` and `rstd` side results, as they
    are: LayerNorm, RMSNorm, GroupNorm, BatchNorm training), the backward
    takes them as arguments, after `@f`'s and before the cotangents, in the
    order of `@f`'s results, and its gradient ops read them instead of
    recomputing them from the input; `norm.saved` lists those result
    indices. A centred norm takes them only when both its mean and its rstd
    are returned. With `recompute-statistics`, or where `@f` does not return
    them, the statistics are recomputed from the input.

    **Saved activations.** An elementwise result that `@f` returns and the
    gradients read (the residual stream `h` that the norm normalizes) is
    also taken as an argument, in the same result order among the saved
    ones (`norm.saved`), so that the backward reads `h` once instead of
    recomputing `x + r`. This is independent of `recompute-statistics`.

    Each `norm.apply` whose statistics are
    computed from its own input becomes `norm.grad_moments` over the
    statistics' axes and `norm.apply_grad`; one with statistics from
    elsewhere (BatchNorm eval) `norm.apply_grad` alone; weight and bias get
    `norm.param_grad`. Gradients flow back through `tensor.expand_shape` and
    `tensor.collapse_shape` (GroupNorm's channel split) and add where a value
    has several uses (an f32 add rounded once: `norm-fuse-grad` folds the
    one after a fused backward's dx into its `residual_grad`). Elementwise
    `linalg.generic` ops (identity maps, one result) whose bodies are
    `arith.addf`, `subf`, `negf`, `mulf`, `divf`, `extf`, `truncf` and
    constants pass each active input `ct * d(out)/d(in)`: the cotangent
    itself, cast, where the derivative is 1 (adds, casts), else a map that
    replays the body and runs its reverse in f32, rounded once to the
    input's type. Any other op on the path from an argument to a
    differentiable result is an error at that op (a relu's `maximumf`
    among them: its derivative at 0 is a convention).

    The backward function records what it computes:
    `norm.gradient_of = @f`, `norm.wrt` (the argument indices its results
    are the gradients of) and `norm.cotangents` (the result indices of `@f`
    its trailing arguments belong to) and, with saved statistics,
    `norm.saved`.
  }];
  let options = [
    ListOption<"functions", "functions", "std::string",
               "The functions to differentiate (default: every function "
               "with norm ops and no norm.gradient_of attribute)">,
    Option<"suffix", "suffix", "std::string", /*default=*/"\"_backward\"",
           "Appended to a function's name to name its backward function">,
    Option<"recomputeStatistics", "recompute-statistics", "bool",
           /*default=*/"false",
           "Recompute the forward statistics from the input even where the "
           "forward returns them (no saved-statistics arguments)">
  ];
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

def NormParallelizeElementwise
    : Pass<"norm-parallelize-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Lower large elementwise linalg ops to parallel loops";
  let description = [{
    Runs in the CPU pipeline after the norm kernels are lowered, before
    `convert-linalg-to-loops`: a bufferized linalg op outside the kernels
    whose loops are all parallel (a residual add whose sum is also
    returned, a cast of a gradient, an unfused epilogue), with static
    bounds spanning at least `min-elements` iterations, becomes an
    `scf.parallel` nest (`convert-scf-to-openmp` then runs it on the
    OpenMP threads) instead of sequential loops. Ops with a reduction loop
    stay sequential, so that their sums keep one order and the results do
    not depend on the number of threads; small ops too, since waking
    threads costs microseconds.
  }];
  let options = [
    Option<"minElements", "min-elements", "int64_t", /*default=*/"65536",
           "Iterations below which an op stays on one thread">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect"];
}

def NormFoldResultCopies
    : Pass<"norm-fold-result-copies", "::mlir::func::FuncOp"> {
  let summary = "Compute reshaped results directly in their out-parameters";
  let description = [{
    Runs after `buffer-results-to-out-params`, before deallocation: a
    `memref.copy` from a reshaped (`memref.collapse_shape` or
    `memref.expand_shape`) temporary allocation into an out-parameter that
    nothing else uses is removed, and the allocation is replaced by the
    inverse reshape of the out-parameter. GroupNorm computes its output as
    `[N, G, C/G, ...]` and returns it as `[N, C, ...]`; without this the
    output lives in a temporary that is page-faulted in and copied on every
    call.

    A result with dynamic dimensions is allocated at the size the function
    computes (buffer-results-to-out-params hoists only static ones) and
    copied into the out-parameter; the copy is folded the same way, the
    allocation replaced by the out-parameter itself. Either way, a
    `norm.check` first compares the out-parameter's dynamic sizes with the
    computed ones: a caller's result buffer of the wrong shape is an error
    status, not an out-of-bounds write.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect",
                           "::normlir::norm::NormDialect"];
}

def NormCheckShapes : Pass<"norm-check-shapes", "::mlir::func::FuncOp"> {
  let summary = "Check the dynamic sizes linalg ops assume equal";
  let description = [{
    A linalg op assumes that its operands agree on the size of each loop
    (an elementwise residual add: both summands and the result). Where one
    of those sizes is dynamic, a `norm.check` before the op compares them
    at run time, so that mismatched buffers are an error status rather than
    reads or writes out of bounds. Static shapes are left alone (the
    verifier has checked them).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::memref::MemRefDialect",
                           "::normlir::norm::NormDialect"];
}

def NormLowerChecks : Pass<"norm-lower-checks", "::mlir::ModuleOp"> {
  let summary = "Lower norm.check to an early return with a status";
  let description = [{
    Runs once results are out-parameters (the function returns nothing),
    after deallocation. The checks move to the start of their function, with
    the side-effect-free ops that compute their conditions (the sizes of the
    arguments), so that a call that fails has allocated and written nothing;
    a check whose condition depends on anything else is an error. A
    function with `norm.check` ops returns an i32 status instead: 0 where
    every check holds, else `3 + i` for the first failing check `i`, without
    running the rest of its body. Checks in a function that another calls
    are an error (the status would have to be passed on). The checks' messages are recorded, in
    order, in the function's `norm.check_messages` attribute, which the
    compiler turns into the entry point's error message. A function without
    checks is left as it is. Never `cf.assert`, which would end the caller's
    process.
  }];
  let dependentDialects = ["::mlir::cf::ControlFlowDialect",
                           "::mlir::arith::ArithDialect"];
}

def NormFuse : Pass<"norm-fuse"> {
  let summary = "Fuse statistics, rstd and apply into one norm.kernel";
  let description = [{
    Rewrites each `norm.apply` on tensors, together with the
    `norm.moments`/`norm.mean_square` and `norm.rstd` that compute its
    statistics from the same input, into one destination-style `norm.kernel`
    that reads the input once and writes the output once (see the op). An
    apply whose statistics come from elsewhere (BatchNorm in eval mode)
    becomes an apply-only kernel. Patterns the vector lowering cannot
    handle (see `norm.kernel`'s `[P0, R1, P1, R2]` layout) are left alone
    for `convert-norm-to-linalg`.

    Then elementwise neighbours join the kernel: an elementwise
    `linalg.generic` (all loops parallel, identity maps, an arith/math body)
    that is the only user of the kernel's output becomes its `epilogue`
    (an activation, a cast), and one that produces the kernel's input and
    has no other user becomes its `prologue` (a residual add, a cast), the
    kernel reading the producer's inputs instead. With `returned-prologue`,
    so does one whose result other ops read after the kernel (a residual
    stream's sum that is also returned): the kernel then writes it too, as
    one more out (`norm.kernel`'s C10), and those ops read that result; the
    sum is computed and written in the pass that reads its inputs, instead
    of a separate elementwise pass that the kernel reads back. Only the CPU
    lowering writes such an out, so only the CPU pipeline sets the option.
  }];
  let options = [
    Option<"returnedPrologue", "returned-prologue", "bool",
           /*default=*/"false",
           "Also fuse a prologue whose value is used after the kernel; the "
           "kernel writes it">
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def NormFuseGrad : Pass<"norm-fuse-grad"> {
  let summary = "Fuse a norm's backward into one norm.grad_kernel";
  let description = [{
    Rewrites the backward of a norm as `norm-differentiate` writes it
    (`norm.grad_moments`, `norm.apply_grad` and a `norm.param_grad` of the
    same input, gradient and statistics) into one `norm.grad_kernel`:
    LayerNorm and RMSNorm over trailing dimensions (the row form, input and
    gradient read once), BatchNorm, InstanceNorm and GroupNorm in NCHW and
    channels-last (the channel forms, read twice). The statistics are
    either recomputed from the input (`norm.moments`/`norm.mean_square` and
    `norm.rstd` of it: the kernel recomputes them), or given (the kernel
    takes them as operands, with `input_statistics` when
    `norm.grad_moments` says they are the input's own), or constants of the
    forward (no `norm.grad_moments`: BatchNorm eval, InstanceNorm from
    running statistics; the kernel gets `constant_statistics`). A kernel's
    dx that only an elementwise f32 sum with another value of its type uses
    (possibly through a reshape: the cotangent sum `norm-differentiate`
    builds for a residual stream, `dh = dh_out + dx`) takes that value as
    its `residual_grad`, so dx is written once. Other forms stay for
    `convert-norm-to-linalg`. Part of the CPU pipeline only (the GPU lowers
    the gradient ops through linalg).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def NormAttachCPUTarget
    : Pass<"norm-attach-cpu-target", "::mlir::ModuleOp"> {
  let summary = "Record the CPU the module is compiled for";
  let description = [{
    Sets the module's `norm.target` attribute to a `#norm.cpu_target`
    describing `cpu`: `host` (the default) reads this machine's CPU name,
    features, cache sizes and hardware threads; any other value is an LLVM
    CPU name of the triple's architecture (`x86-64-v3`, `znver4`,
    `skylake-avx512`, `sapphirerapids`), described from LLVM's tables alone,
    so the module lowers to the same IR on every host. Schedule selection
    and code generation read only this attribute. A target already on the
    module (written in the input) is kept unless `force` is set.
  }];
  let options = [
    Option<"cpu", "cpu", "std::string", /*default=*/"\"host\"",
           "host, or an LLVM CPU name (x86-64-v3, znver4, ...)">,
    Option<"features", "features", "std::string", /*default=*/"\"\"",
           "LLVM features added to or removed from the CPU's "
           "(+avx512bf16,-avx512f)">,
    Option<"triple", "triple", "std::string", /*default=*/"\"\"",
           "Target triple (default: the host's)">,
    Option<"force", "force", "bool", /*default=*/"false",
           "Replace a target already on the module">
  ];
  let dependentDialects = ["::normlir::norm::NormDialect"];
}

def NormAttachCUDATarget
    : Pass<"norm-attach-cuda-target", "::mlir::ModuleOp"> {
  let summary = "Record the NVIDIA GPU the module is compiled for";
  let description = [{
    Sets the module's `norm.target` attribute to a `#norm.cuda_target` for
    `chip`, with `multiprocessors` streaming multiprocessors (0: those of
    the chip's flagship part, 132 for sm_90). GPU schedule selection reads
    only this attribute. A target already on the module is kept unless
    `force` is set.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90\"",
           "GPU architecture (sm_80, sm_90, ...)">,
    Option<"multiprocessors", "multiprocessors", "int64_t", /*default=*/"0",
           "Streaming multiprocessors (0: the chip's flagship part)">,
    Option<"force", "force", "bool", /*default=*/"false",
           "Replace a target already on the module">
  ];
  let dependentDialects = ["::normlir::norm::NormDialect"];
}

def NormLegalizeBF16 : Pass<"norm-legalize-bf16"> {
  let summary = "Expand bf16 conversions the target CPU cannot do";
  let description = [{
    Rewrites `arith.extf` from and `arith.truncf` to bf16 into integer
    operations (round to nearest even, NaN to the quiet NaN 0x7fc0, as
    PyTorch; the NaN is chosen on the 32-bit pattern, before narrowing, so
    that the select stays one vector blend), unless the module's
    `#norm.cpu_target` has `nativeBF16` (AVX-512 BF16), where LLVM emits
    `vcvtneps2bf16`; there a NaN is first replaced by the positive quiet
    NaN, so that the bits are 0x7fc0 on every CPU (the instruction keeps a
    NaN's sign, and x86's own NaNs are negative). Without either, LLVM
    would call `__truncsfbf2`, which the host's C runtime need not provide.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def NormSelectSchedule : Pass<"norm-select-schedule"> {
  let summary = "Choose and record a schedule for each norm.kernel";
  let description = [{
    Attaches a `#norm.schedule` to every `norm.kernel` that has none (or to
    all, with `force`). Each strategy has a selection function that declines
    where it does not apply or is not the right choice; they are tried in
    order and the first schedule wins:
    1. `row` when nothing but contiguous rows are reduced (`R1 = 1`);
    2. `segment` when the reduced contiguous runs hold at least two vectors
       (or parameters vary along `R1`);
    3. `column` otherwise (the contiguous run is made of channels), with
       enough `R1` chunks that every thread has work and each chunk's rows
       stay in the L2 cache.
    The vector width is the target's (AVX-512: 16 f32 lanes, AVX: 8,
    otherwise 4) unless a narrower power of two needs fewer vector accesses
    per contiguous run (a masked tail counting as three: rows of 12 take
    width 4); the unroll factor follows the run length; output stores are
    non-temporal when the output is at least 3/4 of the target's last-level
    cache; the row strategy prefetches about 8 KiB of rows ahead (at least
    one row) when the input does not stay in the L2 cache, a row fits in
    half the L2 and a row range holds two rows or more. Every option that
    is set overrides the heuristic (`strategy`
    forces a strategy, an error where it cannot lower the kernel); a
    schedule already on the op (written in the input) is kept unless
    `force` is set. With `tuning-db`, a kernel whose key (`getTuningKey`:
    signature and target) has a record gets the recorded schedule instead of
    the heuristic's, unless a schedule option that the kernel reads is set
    (`grad-statistics` is the backward kernels' only; `prefetch` and
    `parallel` are read by both kinds; the others by `norm.kernel`s). The
    target facts
    (vector width, cache sizes; on the GPU the multiprocessor count) come
    from the module's `norm.target` attribute (`norm-attach-cpu-target`,
    `norm-attach-cuda-target`), or, where there is none, from the default
    targets x86-64-v3 and sm_90: the pass never looks at the machine it
    runs on.

    On the CPU each `norm.grad_kernel` (a fused backward) gets a
    `#norm.grad_schedule` the same way (a tuning database record, else the
    heuristic): `statistics = saved` (the kernel reads the statistics its
    forward saved; `grad-statistics=recomputed` recomputes them instead
    where they are the input's own), a row backward prefetches as the
    forward row strategy does (the `prefetch` option sets it; channel
    backward kernels never prefetch), and `parallel` from 64 KiB of input
    (the `parallel` option sets it).

    With `target=cuda` it records a `#norm.gpu_schedule` instead: `row`
    when each statistic's elements are contiguous and fit in the registers
    of a block (at most 32 per thread), with a team of threads per row sized
    for about four 16-byte vectors per thread (several rows per warp for
    short rows, a block per row for long ones); `segment` for long
    contiguous runs (rows past the register limit, split into chunks of
    about 16K elements: several blocks per row, at least two blocks per
    multiprocessor; NCHW BatchNorm); `column` for channels-last layouts and
    apply-only kernels, with enough `R1` chunks for about 1024 blocks. The
    vector width is 16 bytes of the input's element type, halved until it
    divides the contiguous runs.
  }];
  let dependentDialects = ["::normlir::norm::NormDialect"];
  let options = [
    Option<"strategy", "strategy", "std::string", /*default=*/"\"\"",
           "Strategy for every kernel: row, segment or column (default: "
           "chosen per kernel)">,
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"0",
           "f32 lanes per vector (default 0: from the target CPU); GPU: "
           "elements per vector access">,
    Option<"unroll", "unroll", "int64_t", /*default=*/"0",
           "Independent accumulators (default 0: chosen per kernel)">,
    Option<"chunks", "chunks", "int64_t", /*default=*/"0",
           "R1 chunks of the column strategy (default 0: chosen per "
           "kernel)">,
    Option<"prefetch", "prefetch", "int64_t", /*default=*/"-1",
           "Rows ahead the row strategy's apply prefetches (default -1: "
           "chosen per kernel; 0: none; CPU only, and not with a forced "
           "segment or column strategy)">,
    Option<"rowTasks", "row-tasks", "int64_t", /*default=*/"0",
           "Row ranges (thread tasks) of the row strategy (default 0: "
           "chosen per kernel)">,
    Option<"nontemporal", "nontemporal", "std::string", /*default=*/"\"auto\"",
           "Non-temporal output stores (y; dx of a backward kernel in the "
           "row or segment form): on, off or auto (on when the output is "
           "at least 3/4 of the target's last-level cache)">,
    Option<"parallel", "parallel", "std::string", /*default=*/"\"auto\"",
           "Threads: on, off or auto (on from 64 KiB of input)">,
    Option<"force", "force", "bool", /*default=*/"false",
           "Replace schedules already present">,
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "Schedule for the host CPU (cpu, #norm.schedule) or NVIDIA GPUs "
           "(cuda, #norm.gpu_schedule)">,
    Option<"threads", "threads", "int64_t", /*default=*/"0",
           "GPU: threads per row (row strategy) or per block (default 0: "
           "chosen per kernel)">,
    Option<"rows", "rows", "int64_t", /*default=*/"0",
           "GPU: rows per block of the row strategy (default 0: chosen per "
           "kernel)">,
    Option<"gradStatistics", "grad-statistics", "std::string",
           /*default=*/"\"auto\"",
           "Backward kernels given the input's saved statistics: saved "
           "(read them), recomputed (recompute them) or auto (saved)">,
    Option<"tuningDB", "tuning-db", "std::string", /*default=*/"\"\"",
           "A tuning database (normlir-tune) consulted before the heuristic "
           "when no schedule option is set">
  ];
}

#endif // NORMLIR_DIALECT_NORM_TRANSFORMS_PASSES_TD
