//===- NormAttrs.td - norm dialect attributes --------------*- tablegen -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_IR_NORMATTRS_TD
#define NORMLIR_DIALECT_NORM_IR_NORMATTRS_TD

include "normlir/Dialect/Norm/IR/NormDialect.td"
include "mlir/IR/AttrTypeBase.td"

def Norm_ScheduleAttr : AttrDef<Norm_Dialect, "Schedule"> {
  let mnemonic = "schedule";
  let summary = "How a fused norm kernel is tiled, vectorized and threaded";
  let description = [{
    The schedule of a `norm.kernel`, kept apart from its computation as in
    TVM: `norm-tile` chooses one per kernel from the shape and the target,
    records it on the op, and `convert-norm-to-vector` follows it. A schedule
    written in the input (or forced through `norm-tile`'s options) overrides
    the heuristic.

    The kernel's input is viewed as `[P0, R1, P1, R2]` (parallel and reduced
    dimension groups, see `norm.kernel`). Fields:
    * `strategy`:
      - `"row"` (requires `R1 = 1`): one thread task per statistic; its
        `R2` elements are read from memory once, the statistics are computed
        from cache and the output is written in the same task.
      - `"segment"`: per-segment statistics over each contiguous run of `R2`
        elements, a deterministic combine over `R1`, then an apply pass:
        two passes over memory.
      - `"column"`: vectors run across the contiguous `P1 * R2` elements of a
        row; `R1` is split into `chunks` ranges whose partial sums are
        combined in a fixed order (deterministic for any thread count), then
        an apply pass: two passes over memory.
    * `vectorWidth`: f32 lanes per vector (8 for AVX2, 16 for AVX-512).
    * `unroll`: independent vector accumulators per reduction.
    * `chunks`: `R1` ranges of the column strategy (1 otherwise).
    * `nontemporal`: stores of the output bypass the cache.
    * `rowTasks`: the row strategy splits the rows into this many
      contiguous ranges (thread tasks); within a range, pass 1 of each next
      row is fused into the apply of the current one (software pipelining).
    * `parallel`: the outer loops run on threads (OpenMP); off for kernels
      too small to amortize waking them.

    Constraints:
    * (C1) `strategy` is `"row"`, `"segment"` or `"column"`.
    * (C2) `vectorWidth` is a power of two in [1, 64]; `unroll` in [1, 16];
      `chunks` and `rowTasks` in [1, 2^30].
  }];
  let parameters = (ins StringRefParameter<"row, segment or column">:$strategy,
                        "int64_t":$vectorWidth, "int64_t":$unroll,
                        "int64_t":$chunks, "int64_t":$rowTasks,
                        "bool":$nontemporal, "bool":$parallel);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // NORMLIR_DIALECT_NORM_IR_NORMATTRS_TD
