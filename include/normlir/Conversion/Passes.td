//===- Passes.td - NormLIR conversion passes ---------------*- tablegen -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_CONVERSION_PASSES_TD
#define NORMLIR_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertNormToLinalg : Pass<"convert-norm-to-linalg"> {
  let summary = "Lower norm core ops to linalg on tensors";
  let description = [{
    Lowers `norm.moments`, `norm.mean_square`, `norm.rstd` and `norm.apply`
    to `linalg.generic` on tensors (f32 accumulation, extf/truncf at the
    edges). Named ops must have been expanded by `norm-expand` first; they are
    reported as errors otherwise.

    `norm.moments` is numerically safe: the mean is a compensated sum over
    the count (accurate to the f32 rounding of the mean, for `1e4 + U(0,1)`
    and for a slice with one outlier alike), and the variance is the mean of
    squared deviations from that mean (a second reduction over the slice),
    never `E[x^2] - E[x]^2`. Every reduction accumulates in f32 with Kahan
    compensation, so its error does not grow with the number of reduced
    elements.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def ConvertNormToVector : Pass<"convert-norm-to-vector"> {
  let summary = "Lower fused norm kernels on memrefs to threaded vector loops";
  let description = [{
    Lowers each bufferized `norm.kernel` by its `#norm.schedule` (see the
    attribute's description) to `scf.parallel` loops over rows, segments or
    row chunks (turned into OpenMP by `convert-scf-to-openmp`) around
    `scf.for` loops of `vector` loads, arithmetic and stores in f32.

    Reductions keep `unroll` independent vector accumulators and add blocks
    of at most `1024 * vectorWidth` elements into a running total, so the
    rounding error grows with the block count, not the element count.
    Moments are computed in two passes over a row held in cache: a plain sum
    gives a provisional mean `m`, then `sum(x - m)` and `sum((x - m)^2)` give
    the corrected mean and the variance (never `E[x^2] - E[x]^2` about 0).
    Statistics spanning several segments or chunks are combined in a fixed
    order in f64 (Chan et al.'s pairwise update), so results do not depend on
    the thread count. A kernel without a schedule, or whose schedule does
    not fit its layout, is an error.

    Scratch buffers are `memref.alloc`s without deallocation: run
    `buffer-deallocation-pipeline` afterwards (as `normlir-cpu-pipeline`
    does), which frees them. The kernel's `prologue` and `epilogue` regions
    are applied to whole vectors (each elementwise op rebuilt on vector
    types), so fused producers and consumers cost no extra memory pass.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def NormLegalizeHalfMaskedMemory
    : Pass<"norm-legalize-half-masked-memory", "::mlir::ModuleOp"> {
  let summary = "Loads and stores of f16/bf16 vectors as i16 vectors";
  let description = [{
    Runs on the LLVM dialect, after `convert-vector-to-llvm`: every
    `llvm.intr.masked.load` / `llvm.intr.masked.store`, `llvm.load` and
    `llvm.store` of a vector of `bf16` or `f16` becomes the same operation on
    a vector of `i16` with `llvm.bitcast`s around it (a bitwise no-op).

    The masked tails of `convert-norm-to-vector` load and store 16-bit
    floats. x86 has no masked 16-bit moves below AVX-512 BW, so the backend
    scalarizes them, and it legalizes each `bf16` element through `float`,
    which takes a `__truncsfbf2` call: a libgcc 13 function that neither the
    JIT process nor a library linked against Debian 12's libgcc has, so the
    module fails to load on AVX2 machines. As integers, the same elements
    are moved without any conversion. Plain moves likewise: next to a
    `<N x bfloat>` load or store the backend scalarizes the integer
    conversion code (a compare, a cmov and a 16-bit store per lane); with
    `<N x i16>` it stays vector code (bf16 LayerNorm 65536x1024 on AVX2: 61
    to 35 ms at one thread).
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def ConvertNormToGPU : Pass<"convert-norm-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower fused norm kernels on memrefs to GPU kernels";
  let description = [{
    Lowers each bufferized `norm.kernel` by its `#norm.gpu_schedule` (see
    the attribute's description) to `gpu.launch` ops of thread-level code:
    16-byte `vector` loads and stores, f32 arithmetic, `gpu.shuffle`
    butterflies within a warp and workgroup memory across warps.

    * `row`: one launch; each row's vectors stay in registers between the
      statistics (a sum for the mean, then the sum of squared deviations
      from it: two passes over registers, one over memory) and the apply.
    * `segment` and `column`: a partial-statistics launch (each thread sums
      deviations from its first element, threads merge their
      `(count, mean, M2)` with Chan et al.'s update), a combine launch (one
      warp per statistic merges its partials in a fixed order, so results do
      not depend on scheduling), and an apply launch that reads the input
      again. Partials live in a `gpu.alloc` scratch buffer freed after the
      apply.

    The kernel's `prologue` and `epilogue` are applied on vectors, as in
    `convert-norm-to-vector`. The rest of the host code is left to
    `norm-host-buffers-to-device`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def NormHostBuffersToDevice
    : Pass<"norm-host-buffers-to-device", "::mlir::ModuleOp"> {
  let summary = "Move the host code's buffers and copies onto the GPU";
  let description = [{
    Runs after `convert-norm-to-gpu`, on host functions whose kernels are
    launches: every `memref.alloc` becomes a `gpu.alloc` (freed with
    `gpu.dealloc` before the return), a constant (`memref.get_global`) is
    copied into device memory, and every `memref.copy` a `gpu.memcpy`
    (contiguous) or a `linalg.copy` (strided, for
    `convert-linalg-to-parallel-loops` and `convert-parallel-loops-to-gpu`
    to map). Scalar host code that reads device memory (a running-average
    factor) is recomputed inside the regions it feeds, and a scalar store a
    one-thread launch, so that no host load reads device memory. Functions
    must be straight-line (one block), as the bufferized norm specs are, and
    return their buffers through out-parameters.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect"
  ];
}

def ConvertNormTargetToLLVM
    : Pass<"convert-norm-target-to-llvm", "::mlir::ModuleOp"> {
  let summary = "Hand the module's target over to the LLVM dialect";
  let description = [{
    Replaces the module's `norm.target` attribute, once nothing of the norm
    dialect is left to read it, by what LLVM's translation reads: a
    `#norm.cpu_target` becomes `llvm.target_triple` and an `llvm.target`
    (`#llvm.target<triple, chip = cpu, features>`), from which the JIT and
    `normlir-compile` build their LLVM target machine. A
    `#norm.cuda_target` is dropped: the host code of a CUDA module is
    compiled for the host, and its kernels carry their `#nvvm.target`.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // NORMLIR_CONVERSION_PASSES_TD
