//===- NormAttrs.td - norm dialect attributes --------------*- tablegen -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_IR_NORMATTRS_TD
#define NORMLIR_DIALECT_NORM_IR_NORMATTRS_TD

include "normlir/Dialect/Norm/IR/NormDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Norm_Strategy : I32EnumAttr<"Strategy",
    "how a kernel's reductions are laid out on the target", [
      I32EnumAttrCase<"Row", 0, "row">,
      I32EnumAttrCase<"Segment", 1, "segment">,
      I32EnumAttrCase<"Column", 2, "column">]> {
  let cppNamespace = "::normlir::norm";
  // Used as a parameter of the schedule attributes, not as an attribute of
  // its own.
  let genSpecializedAttr = 0;
}

def Norm_KernelKind : I32EnumAttr<"KernelKind",
    "what a norm.kernel computes", [
      I32EnumAttrCase<"Moments", 0, "moments">,
      I32EnumAttrCase<"MeanSquare", 1, "mean_square">,
      I32EnumAttrCase<"Apply", 2, "apply">]> {
  let cppNamespace = "::normlir::norm";
}

/// A strategy field of a schedule: printed as a keyword (`strategy = row`);
/// the quoted spelling of earlier releases (`strategy = "row"`) still parses,
/// so existing tuning databases and inputs keep working.
def Norm_StrategyParameter
    : AttrParameter<"::normlir::norm::Strategy", "row, segment or column"> {
  let parser = "::normlir::norm::parseStrategy($_parser)";
  let printer = "$_printer << ::normlir::norm::stringifyStrategy($_self)";
}

def Norm_ScheduleAttr : AttrDef<Norm_Dialect, "Schedule"> {
  let mnemonic = "schedule";
  let summary = "How a fused norm kernel is tiled, vectorized and threaded";
  let description = [{
    The schedule of a `norm.kernel`, kept apart from its computation as in
    TVM: `norm-select-schedule` chooses one per kernel from the shape and the target,
    records it on the op, and `convert-norm-to-vector` follows it. A schedule
    written in the input (or forced through `norm-select-schedule`'s options) overrides
    the heuristic.

    The kernel's input is viewed as `[P0, R1, P1, R2]` (parallel and reduced
    dimension groups, see `norm.kernel`). Fields:
    * `strategy`:
      - `row` (requires `R1 = 1`): one thread task per statistic; its
        `R2` elements are read from memory once, the statistics are computed
        from cache and the output is written in the same task.
      - `segment`: per-segment statistics over each contiguous run of `R2`
        elements, a deterministic combine over `R1`, then an apply pass:
        two passes over memory.
      - `column`: vectors run across the contiguous `P1 * R2` elements of a
        row; `R1` is split into `chunks` ranges whose partial sums are
        combined in a fixed order (deterministic for any thread count), then
        an apply pass: two passes over memory.
    * `vectorWidth`: f32 lanes per vector (8 for AVX2, 16 for AVX-512).
    * `unroll`: independent vector accumulators per reduction.
    * `chunks`: `R1` ranges of the column strategy (1 otherwise).
    * `nontemporal`: stores of the output bypass the cache.
    * `rowTasks`: the row strategy splits the rows into this many
      contiguous ranges (thread tasks), each normalized row by row: pass 1
      reads the row from memory, the apply reads it again from cache.
    * `prefetch`: the row strategy's apply of row `s` prefetches row
      `s + prefetch` of its range (software prefetch: a core's demand loads
      alone do not keep enough reads in flight to reach the memory
      bandwidth); 0 (the default, elided when printed): none.
    * `parallel`: the outer loops run on threads (OpenMP); off for kernels
      too small to amortize waking them.

    Constraints:
    * (C1) `strategy` is `row`, `segment` or `column` (the enum the parser
      accepts; a quoted name parses too).
    * (C2) `vectorWidth` is a power of two in [1, 64]; `unroll` in [1, 16];
      `chunks` and `rowTasks` in [1, 2^30]; `prefetch` in [0, 2^30].
    * (C3) `prefetch` is 0 unless the strategy is `row`.
  }];
  let parameters = (ins Norm_StrategyParameter:$strategy,
                        "int64_t":$vectorWidth, "int64_t":$unroll,
                        "int64_t":$chunks, "int64_t":$rowTasks,
                        "bool":$nontemporal, "bool":$parallel,
                        DefaultValuedParameter<"int64_t", "0">:$prefetch);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Norm_VariantAttr : AttrDef<Norm_Dialect, "Variant"> {
  let mnemonic = "variant";
  let summary = "A schedule of a dynamically shaped kernel for a size range";
  let description = [{
    Where the best schedule of a `norm.kernel` depends on a size known only
    at run time (small batches: one thread; large ones: threads, prefetch,
    streaming stores), `norm-select-schedule` records a short list of
    variants in the kernel's `variants`: the variant with the largest
    `from` not above the number of elements of the kernel's input at run
    time runs. The lowering emits each variant's kernel
    and a branch between them.

    Constraints:
    * (C1) `from >= 0`.
    * (C2) `schedule` is a `#norm.schedule` or a `#norm.gpu_schedule`.
  }];
  let parameters = (ins "int64_t":$from, "::mlir::Attribute":$schedule);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Norm_GPUScheduleAttr : AttrDef<Norm_Dialect, "GPUSchedule"> {
  let mnemonic = "gpu_schedule";
  let summary = "How a fused norm kernel is mapped onto GPU threads and blocks";
  let description = [{
    The GPU counterpart of `#norm.schedule`: `norm-select-schedule{target=cuda}`
    chooses one per kernel from the shape, records it on the op, and
    `convert-norm-to-gpu` follows it; one written in the input (or forced
    through the options) overrides the heuristic.

    With the kernel's input viewed as `[P0, R1, P1, R2]` (see `norm.kernel`),
    a *row* is the `R1 x R2` elements of one statistic when they are
    contiguous (`R1 = 1` or `P1 = 1`), and the *columns* are the contiguous
    `P1 x R2` elements of one `(p0, r1)`. Fields:
    * `strategy`:
      - `row`: one kernel. A team of `threads` threads normalizes each row
        (`rows` teams per block: several rows per warp for short rows, a warp
        or a whole block per row for long ones). Each thread loads its
        `ceil(N / (threads * vectorWidth))` vectors of the row once into
        registers; the mean, then the centered variance (two-pass), are
        reduced across the team with warp shuffles (and shared memory past a
        warp), and the output is computed from the registers.
      - `segment`: three kernels. Each contiguous `R2` run is split into
        `chunks` pieces, or `rows` consecutive runs of one statistic are
        taken together (short runs: NCHW BatchNorm at 14x14), each piece
        reduced by a block of `threads` threads to a partial (count, mean,
        M2); a combine kernel merges the partials of each statistic in a
        fixed order (deterministic); an apply kernel normalizes. Rows too
        long for registers (several blocks per row, no length cap) and NCHW
        BatchNorm use it.
      - `column`: three kernels, for channels-last layouts. A block of
        `threads` threads (`vectorWidth` adjacent columns per thread, the
        rest of the block along `R1`) reduces one of `chunks` ranges of
        `R1` to per-column partials; then the combine and apply kernels.
    * `threads`: threads per row team (row) or per block (segment, column).
    * `rows`: row teams per block (row strategy), `R2` runs per block
      (segment); 1 for column.
    * `vectorWidth`: elements per vector access (16 bytes: 4 f32, 8 bf16).
    * `chunks`: pieces of each `R2` run (segment) or of `R1` (column).

    A kernel with dynamic sizes takes one schedule for every size (no
    variants: the grid is computed at run time), chosen on its static sizes:
    `row` for a dynamic number of rows of a static length, else `segment`
    (dynamic or long runs; `rows = 1`) or `column` (static columns
    `P1 x R2`, dynamic `P0` and `R1`). Dynamic runs take scalar accesses
    (`vectorWidth = 1`: no width is known to divide them). `chunks` is then
    the number of blocks the reduction aims for in all: at run time each
    run takes its share, in pieces of at most 16384 elements and at least
    32 vectors (segment), or each sample does, at least 16 rows per thread
    (column).

    Constraints:
    * (C1) `strategy` is `row`, `segment` or `column`, meaning on the GPU
      what it means on the CPU: one pass per row, per-segment partials
      combined over `R1`, or partials across the contiguous columns.
    * (C2) `threads` and `rows` are powers of two; for `row`,
      `32 <= threads * rows <= 1024` (whole warps, at most a block);
      otherwise `32 <= threads <= 1024`, `rows <= 1024`, and `rows = 1` for
      `column`.
    * (C3) `vectorWidth` is a power of two in [1, 16].
    * (C4) `chunks` is in [1, 2^30], and 1 for the `row` strategy and for
      `segment` with `rows > 1`.
  }];
  let parameters = (ins Norm_StrategyParameter:$strategy,
                        "int64_t":$threads, "int64_t":$rows,
                        "int64_t":$vectorWidth, "int64_t":$chunks);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Norm_GradStatistics : I32EnumAttr<"GradStatistics",
    "where a backward kernel takes the forward statistics from", [
      I32EnumAttrCase<"Saved", 0, "saved">,
      I32EnumAttrCase<"Recomputed", 1, "recomputed">]> {
  let cppNamespace = "::normlir::norm";
  // A parameter of #norm.grad_schedule, not an attribute of its own.
  let genSpecializedAttr = 0;
}

/// The statistics field of a grad_schedule: a keyword (`statistics = saved`).
def Norm_GradStatisticsParameter
    : AttrParameter<"::normlir::norm::GradStatistics", "saved or recomputed"> {
  let parser = "::normlir::norm::parseGradStatistics($_parser)";
  let printer = "$_printer << ::normlir::norm::stringifyGradStatistics($_self)";
}

def Norm_GradScheduleAttr : AttrDef<Norm_Dialect, "GradSchedule"> {
  let mnemonic = "grad_schedule";
  let summary = "How a fused norm backward kernel runs on the CPU";
  let description = [{
    The schedule of a `norm.grad_kernel`, as `#norm.schedule` is a
    `norm.kernel`'s: `norm-select-schedule` records one per backward kernel
    (from a tuning database where it has a record, else by its heuristic),
    and `convert-norm-to-vector` follows it. Fields:
    * `statistics`:
      - `saved`: the kernel reads the forward statistics it is given
        (`mean`/`rstd` operands), as they are (the mean refined with
        `input_statistics`); a kernel given none recomputes them.
      - `recomputed`: the kernel recomputes the statistics from its input
        with its `epsilon` and `zero_degenerate` in the pass that reads the
        input anyway, and does not read the saved ones. Only for saved
        statistics that are the input's own (`input_statistics`).

      The two move the same bytes; they differ in the work per element (a
      recomputed variance is one more FMA per element and a square root per
      statistic) and in rounding (a saved rstd is the forward's, rounded to
      f32), so the tuner may pick either.
    * `prefetch`: the row backward's second pass, and the segment form's
      passes over a segment (NCHW BatchNorm, InstanceNorm, GroupNorm), also
      prefetch the same elements of `input` and `grad` that many rows or
      segments ahead into the cache; 0 (the default, elided when printed):
      none. The column form (channels-last) does not prefetch.
    * `nontemporal`: the row backward and the segment form store dx
      around the cache (streaming stores of its vector-aligned part, in
      runs of 1024 elements or more): dx is written once, and streaming
      saves each line's read for ownership. `false` (the default, elided
      when printed): plain stores. The column form does not stream.
    * `parallel`: the row ranges (row backward) or the runs (channel
      backward) run on threads (OpenMP); off for kernels too small to
      amortize waking them. The results do not depend on it.

    Constraints:
    * (C1) `statistics` is `saved` or `recomputed` (the enum the parser
      accepts).
    * (C2) `prefetch` is in [0, 2^30].
  }];
  let parameters = (ins Norm_GradStatisticsParameter:$statistics,
                        "bool":$parallel,
                        DefaultValuedParameter<"int64_t", "0">:$prefetch,
                        DefaultValuedParameter<"bool", "false">:$nontemporal);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Norm_CPUTargetAttr : AttrDef<Norm_Dialect, "CPUTarget"> {
  let mnemonic = "cpu_target";
  let summary = "The CPU a module's kernels are compiled for";
  let description = [{
    The facts about the target CPU that schedule selection and code
    generation read, attached to a `builtin.module` as its `norm.target`
    attribute by `norm-attach-cpu-target` (the pipelines, the JIT and
    `normlir-compile` run it: the host by default, or the LLVM CPU named by
    `target-cpu`). Passes never probe the machine they run on: compiling a
    module for a named CPU gives the same IR on every host, and a target
    written in the input is honoured like one attached by the pass.

    Fields:
    * `triple`, `cpu`, `features`: what LLVM compiles the module for (the
      target triple, an LLVM CPU name such as `znver4` or `x86-64-v3`, and
      the `+feature,-feature` list that differs from that CPU's defaults).
    * `vectorWidth`: f32 lanes of the widest vector registers (AVX-512: 16,
      AVX: 8, otherwise 4).
    * `nativeBF16`: the CPU converts f32 to bf16 in hardware
      (AVX-512 BF16: `vcvtneps2bf16`); otherwise the conversions are
      expanded to integer operations.
    * `l1Cache`, `l2Cache`, `llcCache`: data cache bytes one core sees at
      each level (the last level is the instance a core shares, not the
      package's sum).
    * `cores`: hardware threads (0: unknown, for a named CPU).

    Constraints:
    * (C1) `cpu` is not empty.
    * (C2) `vectorWidth` is a power of two in [1, 64].
    * (C3) the cache sizes are positive, `cores` is not negative.
  }];
  let parameters = (ins StringRefParameter<"target triple">:$triple,
                        StringRefParameter<"LLVM CPU name">:$cpu,
                        StringRefParameter<"LLVM features">:$features,
                        "int64_t":$vectorWidth, "bool":$nativeBF16,
                        "int64_t":$l1Cache, "int64_t":$l2Cache,
                        "int64_t":$llcCache, "int64_t":$cores);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Norm_CUDATargetAttr : AttrDef<Norm_Dialect, "CUDATarget"> {
  let mnemonic = "cuda_target";
  let summary = "The NVIDIA GPU a module's kernels are compiled for";
  let description = [{
    The GPU counterpart of `#norm.cpu_target`, attached to a
    `builtin.module` as `norm.target` by `norm-attach-cuda-target` (the CUDA
    pipeline runs it with its `chip` option; the JIT passes the device's
    chip and multiprocessor count where there is a device). GPU schedule
    selection reads only this.

    Fields:
    * `chip`: the architecture (`sm_90`, `sm_80`, ...).
    * `multiprocessors`: streaming multiprocessors (the flagship part of the
      chip where it is named: 132 for sm_90).
    * `sharedMemoryPerBlock`: bytes of static shared memory a block may use
      (48 KiB on every chip; more needs dynamic shared memory).

    Constraints:
    * (C1) `chip` is `sm_` followed by a version.
    * (C2) `multiprocessors` is in [1, 2^20] and `sharedMemoryPerBlock` in
      [1, 2^40].
  }];
  let parameters = (ins StringRefParameter<"GPU architecture">:$chip,
                        "int64_t":$multiprocessors,
                        "int64_t":$sharedMemoryPerBlock);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // NORMLIR_DIALECT_NORM_IR_NORMATTRS_TD
