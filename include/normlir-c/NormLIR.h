/*===- NormLIR.h - NormLIR C API ----------------------------------*- C -*-===*\
|*                                                                            *|
|* Part of the NormLIR project.                                               *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* The C API of the NormLIR JIT: build a norm spec (or pass MLIR text),       *|
|* compile it for the host CPU or a CUDA GPU, and call its functions on       *|
|* caller-owned buffers. No MLIR or LLVM header is needed to use it.          *|
|*                                                                            *|
|*   normlirSpec spec;                                                        *|
|*   int64_t shape[] = {8, 6, 3, 4}, norm[] = {3, 4};                         *|
|*   normlirSpecCreate(NORMLIR_LAYER_NORM, NORMLIR_F32, 4, shape, &spec);     *|
|*   normlirSpecSetNormalizedShape(spec, 2, norm);                            *|
|*   normlirSpecSetFlags(spec, NORMLIR_SPEC_WEIGHT | NORMLIR_SPEC_BIAS);      *|
|*   normlirModule mod;                                                       *|
|*   normlirStatus st = normlirCompileSpec(spec, NULL, &mod);                 *|
|*   if (st) { puts(normlirStatusGetMessage(st)); normlirStatusDestroy(st); } *|
|*                                                                            *|
|* Every function returning normlirStatus returns NULL on success, else a     *|
|* status the caller owns (normlirStatusDestroy). No call has undefined       *|
|* behaviour on a wrong count, shape, stride, element type or null buffer:    *|
|* it returns an error status and writes nothing.                             *|
|*                                                                            *|
|* Compiled modules are cached in memory (thread-safe: concurrent compiles of *|
|* one spec compile once) and on disk, in $NORMLIR_CACHE_DIR, else            *|
|* $XDG_CACHE_HOME/normlir, else ~/.cache/normlir; NORMLIR_CACHE_DIR=off      *|
|* disables the disk cache. Entries are keyed by the spec text, the target,   *|
|* the options, the host CPU and the compiler build.                          *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef NORMLIR_C_NORMLIR_H
#define NORMLIR_C_NORMLIR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define NORMLIR_CAPI_EXPORTED __attribute__((visibility("default")))
#else
#define NORMLIR_CAPI_EXPORTED
#endif

/*===----------------------------------------------------------------------===
 * Status
 *===----------------------------------------------------------------------===*/

/// What kind of error a status reports.
typedef enum normlirStatusCode {
  NORMLIR_STATUS_OK = 0,
  /// A wrong argument: a null handle, an unknown function, a buffer whose
  /// count, shape, strides, element type or address does not fit.
  NORMLIR_STATUS_INVALID_ARGUMENT = 1,
  /// The spec does not parse, verify or lower; the message carries the
  /// located diagnostics (name:line:col).
  NORMLIR_STATUS_COMPILE_ERROR = 2,
  /// The function failed at run time (CUDA: no driver, a failed launch).
  NORMLIR_STATUS_RUNTIME_ERROR = 3,
} normlirStatusCode;

/// NULL means success; otherwise an error owned by the caller.
typedef struct normlirStatusImpl *normlirStatus;

NORMLIR_CAPI_EXPORTED normlirStatusCode
normlirStatusGetCode(normlirStatus status);
/// The message; valid until the status is destroyed. "" for NULL.
NORMLIR_CAPI_EXPORTED const char *normlirStatusGetMessage(normlirStatus status);
NORMLIR_CAPI_EXPORTED void normlirStatusDestroy(normlirStatus status);

/// The NormLIR version and build, e.g. "0.1.0 (LLVM 22.1.0, build 3fa2...)".
NORMLIR_CAPI_EXPORTED const char *normlirGetVersion(void);

/*===----------------------------------------------------------------------===
 * Types
 *===----------------------------------------------------------------------===*/

/// Element types. F16 and BF16 buffers hold IEEE half / bfloat16 bit
/// patterns (uint16_t in C).
typedef enum normlirDType {
  NORMLIR_F32 = 0,
  NORMLIR_F16 = 1,
  NORMLIR_BF16 = 2,
  NORMLIR_F64 = 3,
  NORMLIR_I64 = 4,
  NORMLIR_I32 = 5,
} normlirDType;

/// Size in bytes of one element; 0 for an unknown value.
NORMLIR_CAPI_EXPORTED size_t normlirDTypeGetSize(normlirDType dtype);
/// "f32", "bf16", ...; "" for an unknown value.
NORMLIR_CAPI_EXPORTED const char *normlirDTypeGetName(normlirDType dtype);

/// Where a module runs.
typedef enum normlirTarget {
  /// The host CPU; buffers are host memory.
  NORMLIR_TARGET_CPU = 0,
  /// An NVIDIA GPU through the CUDA driver; buffers are device memory (of
  /// the device NORMLIR_CUDA_DEVICE, else normlirSetCudaDevice's, else 0),
  /// 16-byte aligned.
  NORMLIR_TARGET_CUDA = 1,
} normlirTarget;

/*===----------------------------------------------------------------------===
 * Specs built without MLIR text
 *===----------------------------------------------------------------------===*/

/// The normalization a spec computes (PyTorch's modules of the same name).
typedef enum normlirOpKind {
  NORMLIR_LAYER_NORM = 0,
  NORMLIR_RMS_NORM = 1,
  NORMLIR_BATCH_NORM = 2,
  NORMLIR_INSTANCE_NORM = 3,
  NORMLIR_GROUP_NORM = 4,
} normlirOpKind;

/// Operands and modes of a spec (normlirSpecSetFlags). The function built
/// takes, in order: the input, then the residual (NORMLIR_SPEC_RESIDUAL),
/// then weight, bias, running_mean, running_var, num_batches_tracked (i64,
/// rank 0) where present. It returns the output, then the sum input +
/// residual that it normalized (NORMLIR_SPEC_RESIDUAL), then the saved
/// statistics with NORMLIR_SPEC_SAVE_STATS (LayerNorm and
/// GroupNorm: mean, rstd; RMSNorm: rstd; BatchNorm in training: save_mean,
/// save_rstd), then the updated running_mean and running_var (training with
/// running statistics), then num_batches_tracked + 1 (when given, BatchNorm
/// in training).
enum {
  NORMLIR_SPEC_WEIGHT = 1u << 0,
  NORMLIR_SPEC_BIAS = 1u << 1,
  /// BatchNorm/InstanceNorm: running_mean and running_var operands.
  NORMLIR_SPEC_RUNNING_STATS = 1u << 2,
  /// BatchNorm: a num_batches_tracked operand (returned incremented).
  NORMLIR_SPEC_BATCHES_TRACKED = 1u << 3,
  /// BatchNorm/InstanceNorm: normalize with batch statistics and update the
  /// running statistics (InstanceNorm: use_input_stats).
  NORMLIR_SPEC_TRAINING = 1u << 4,
  /// BatchNorm/InstanceNorm/GroupNorm: the channel axis is the last one
  /// (the shape is given in memory order, (N, *S, C)).
  NORMLIR_SPEC_CHANNELS_LAST = 1u << 5,
  /// Also return the saved statistics (see above).
  NORMLIR_SPEC_SAVE_STATS = 1u << 6,
  /// BatchNorm: PyTorch's momentum=None, the cumulative moving average
  /// (needs NORMLIR_SPEC_BATCHES_TRACKED).
  NORMLIR_SPEC_CUMULATIVE_AVERAGE = 1u << 7,
  /// A residual add before the norm: h = input + residual (of the input's
  /// shape and type; in f32, rounded once) is normalized and returned (a
  /// pre-norm transformer's residual stream). Its backward (with
  /// NORMLIR_COMPILE_DIFFERENTIATE) takes h as a saved result and the
  /// cotangent of h, and adds it to the norm's input gradient in one kernel.
  NORMLIR_SPEC_RESIDUAL = 1u << 8,
};

typedef struct normlirSpecImpl *normlirSpec;

/// A spec of `op` on an input of `dtype` (f32, f16 or bf16) and `shape`
/// (rank 1..8; dimensions >= 0, or -1 for a dynamic dimension: the function
/// takes any size there, its callers' buffers give it; LayerNorm and RMSNorm
/// over static normalized dimensions). Defaults: no operands beyond the input,
/// PyTorch's epsilon and momentum, NCHW, eval, function name "main",
/// parameters of the input's element type.
NORMLIR_CAPI_EXPORTED normlirStatus normlirSpecCreate(normlirOpKind op,
                                                      normlirDType dtype,
                                                      int32_t rank,
                                                      const int64_t *shape,
                                                      normlirSpec *spec);
NORMLIR_CAPI_EXPORTED void normlirSpecDestroy(normlirSpec spec);
/// LayerNorm/RMSNorm: the trailing dimensions normalized over.
NORMLIR_CAPI_EXPORTED normlirStatus normlirSpecSetNormalizedShape(
    normlirSpec spec, int32_t rank, const int64_t *shape);
/// GroupNorm: the number of groups (divides the channels).
NORMLIR_CAPI_EXPORTED normlirStatus normlirSpecSetNumGroups(normlirSpec spec,
                                                            int64_t groups);
/// Epsilon (RMSNorm default: float's epsilon, PyTorch's eps=None). Any value
/// PyTorch takes but a negative one: +inf and NaN are accepted.
NORMLIR_CAPI_EXPORTED normlirStatus normlirSpecSetEpsilon(normlirSpec spec,
                                                          double epsilon);
/// BatchNorm/InstanceNorm momentum in [0, 1] (default 0.1).
NORMLIR_CAPI_EXPORTED normlirStatus normlirSpecSetMomentum(normlirSpec spec,
                                                           double momentum);
/// A combination of NORMLIR_SPEC_* bits (replaces the previous flags).
NORMLIR_CAPI_EXPORTED normlirStatus normlirSpecSetFlags(normlirSpec spec,
                                                        uint32_t flags);
/// The element type of weight, bias and running statistics: the input's
/// (default) or f32.
NORMLIR_CAPI_EXPORTED normlirStatus normlirSpecSetParamDType(normlirSpec spec,
                                                             normlirDType d);
/// The name of the function built (a C identifier; default "main").
NORMLIR_CAPI_EXPORTED normlirStatus normlirSpecSetName(normlirSpec spec,
                                                       const char *name);
/// The spec as MLIR text (what normlirCompile takes); valid until the spec
/// is changed or destroyed. Errors when the spec is inconsistent (e.g. a
/// normalized shape that is not a suffix of the shape).
NORMLIR_CAPI_EXPORTED normlirStatus normlirSpecGetMLIR(normlirSpec spec,
                                                       const char **text);

/*===----------------------------------------------------------------------===
 * Compiling
 *===----------------------------------------------------------------------===*/

enum {
  /// Neither read nor write the on-disk cache for this compile.
  NORMLIR_COMPILE_NO_DISK_CACHE = 1u << 0,
  /// Also derive each function's backward function (norm-differentiate):
  /// `NAME_backward(arguments..., output cotangents...) -> (gradients...)`.
  NORMLIR_COMPILE_DIFFERENTIATE = 1u << 1,
  /// With NORMLIR_COMPILE_DIFFERENTIATE: the backward functions recompute
  /// the forward statistics even where a function returns them (by default
  /// they take those as arguments, after the function's own).
  NORMLIR_COMPILE_RECOMPUTE_STATISTICS = 1u << 2,
};

typedef struct normlirCompileOptions {
  normlirTarget target;
  /// CUDA: "sm_90"...; NULL or "": the device's, else sm_90.
  const char *chip;
  /// Overrides of the schedule heuristic, as norm-select-schedule's options
  /// ("vector-width=8 unroll=2"; CUDA "strategy=row threads=128"); NULL or
  /// "": the heuristic decides.
  const char *schedule;
  /// LLVM optimization level, 0-3.
  int32_t optLevel;
  /// NORMLIR_COMPILE_* bits.
  uint32_t flags;
  /// CPU: the LLVM CPU to compile for ("x86-64-v3", "znver4"); NULL or "":
  /// the host's. One whose instructions the host lacks is refused.
  const char *targetCPU;
  /// CPU: LLVM features added to or removed from the CPU's
  /// ("+avx512bf16,-avx512f"); NULL or "": none.
  const char *targetFeatures;
} normlirCompileOptions;

/// Defaults: CPU (the host's), heuristic schedule, -O3, caches on.
NORMLIR_CAPI_EXPORTED void
normlirCompileOptionsInit(normlirCompileOptions *options);

/// A compiled module: reference-counted, thread-safe to call from many
/// threads at once.
typedef struct normlirModuleImpl *normlirModule;
/// A function of a module; borrowed, valid while the module is.
typedef struct normlirFunctionImpl *normlirFunction;

/// Compiles MLIR text (`length` bytes; `bufferName` names it in
/// diagnostics, NULL: "<spec>"). `options` NULL: defaults.
NORMLIR_CAPI_EXPORTED normlirStatus
normlirCompile(const char *source, size_t length, const char *bufferName,
               const normlirCompileOptions *options, normlirModule *module);
/// Compiles a built spec.
NORMLIR_CAPI_EXPORTED normlirStatus
normlirCompileSpec(normlirSpec spec, const normlirCompileOptions *options,
                   normlirModule *module);
/// Drops the caller's reference.
NORMLIR_CAPI_EXPORTED void normlirModuleRelease(normlirModule module);
/// Compile warnings with their locations ("" when none).
NORMLIR_CAPI_EXPORTED const char *normlirModuleGetWarnings(normlirModule m);

NORMLIR_CAPI_EXPORTED int32_t normlirModuleGetNumFunctions(normlirModule m);
/// The i-th callable function; NULL when out of range.
NORMLIR_CAPI_EXPORTED normlirFunction normlirModuleGetFunction(normlirModule m,
                                                               int32_t index);
/// The function called `name`, or an error naming those available.
NORMLIR_CAPI_EXPORTED normlirStatus normlirModuleLookup(normlirModule m,
                                                        const char *name,
                                                        normlirFunction *f);

/// The type of an argument or result.
typedef struct normlirTensorType {
  normlirDType dtype;
  int32_t rank;
  /// `rank` dimensions, owned by the function; -1 for a dynamic one (the
  /// caller's buffer gives its size; results' dynamic sizes follow the
  /// inputs', normlirFunctionGetResultShape).
  const int64_t *shape;
} normlirTensorType;

NORMLIR_CAPI_EXPORTED const char *normlirFunctionGetName(normlirFunction f);
NORMLIR_CAPI_EXPORTED int32_t normlirFunctionGetNumInputs(normlirFunction f);
NORMLIR_CAPI_EXPORTED int32_t normlirFunctionGetNumResults(normlirFunction f);
/// Type of input/result `index`; a zero type (rank -1) when out of range.
NORMLIR_CAPI_EXPORTED normlirTensorType
normlirFunctionGetInputType(normlirFunction f, int32_t index);
NORMLIR_CAPI_EXPORTED normlirTensorType
normlirFunctionGetResultType(normlirFunction f, int32_t index);

/*===----------------------------------------------------------------------===
 * Calling
 *===----------------------------------------------------------------------===*/

struct normlirTensor;

/// The shape of result `index` when the function is called with `inputs`
/// (only their ranks and shapes are read): its dynamic dimensions take the
/// sizes of the input dimensions they follow. Writes the result's rank
/// dimensions to `shape`. An error for a wrong index or input count, or a
/// dynamic dimension that follows no input.
NORMLIR_CAPI_EXPORTED normlirStatus normlirFunctionGetResultShape(
    normlirFunction f, int32_t index, const struct normlirTensor *inputs,
    int32_t numInputs, int64_t *shape);

/// A caller-owned buffer. `strides` (in elements, like PyTorch's) may be
/// NULL for a dense row-major buffer; otherwise they must describe one
/// (strides of size-1 dimensions are ignored): the kernels are compiled for
/// dense layouts, so a channels-last buffer is passed in memory order,
/// (N, *S, C), to a spec built with NORMLIR_SPEC_CHANNELS_LAST.
typedef struct normlirTensor {
  void *data;
  normlirDType dtype;
  int32_t rank;
  const int64_t *shape;
  const int64_t *strides;
} normlirTensor;

/// Runs `f`: reads `inputs`, writes `results` (caller-allocated). Checks
/// counts, element types, shapes, strides, null data, and that no result
/// overlaps an input or another result; on CUDA that every buffer is device
/// memory. Inputs are never written.
NORMLIR_CAPI_EXPORTED normlirStatus normlirFunctionCall(
    normlirFunction f, const normlirTensor *inputs, int32_t numInputs,
    const normlirTensor *results, int32_t numResults);

/// normlirFunctionCall on a CUDA stream of the caller: `stream` is a
/// CUstream (cudaStream_t) of the device's primary context, such as
/// PyTorch's current stream; NULL is CUDA's legacy default stream. The
/// kernels are queued there after the stream's earlier work and the call
/// returns without waiting for them: the results are ready for the
/// stream's later work, and for the host once it synchronizes the stream
/// (which also reports a fault inside a kernel). No host synchronization
/// happens on the call path, so CUDA graph capture of the stream records
/// the call. A CPU function refuses a stream (NORMLIR_STATUS_INVALID_ARGUMENT).
NORMLIR_CAPI_EXPORTED normlirStatus normlirFunctionCallOnStream(
    normlirFunction f, const normlirTensor *inputs, int32_t numInputs,
    const normlirTensor *results, int32_t numResults, void *stream);

/// Chooses the GPU NormLIR runs on in this process: honoured when it comes
/// before the first CUDA use and NORMLIR_CUDA_DEVICE is not set (otherwise
/// device 0, or that variable's). Fails (NORMLIR_STATUS_RUNTIME_ERROR,
/// naming the device in use) when NormLIR already runs on another device,
/// or where there is no driver or no such device.
NORMLIR_CAPI_EXPORTED normlirStatus normlirSetCudaDevice(int32_t ordinal);

/*===----------------------------------------------------------------------===
 * Caches
 *===----------------------------------------------------------------------===*/

typedef struct normlirCacheStats {
  /// Compilations from source (misses of both caches).
  int64_t compiles;
  /// Compiles answered from memory.
  int64_t memoryHits;
  /// Compiles answered by loading an entry of the disk cache.
  int64_t diskHits;
  /// Seconds spent compiling or loading, in all.
  double compileSeconds;
  /// Modules in the in-memory cache, and its bound
  /// (normlirSetMemoryCacheCapacity).
  int64_t memoryEntries;
  int64_t memoryCapacity;
} normlirCacheStats;

/// Counters since the process started.
NORMLIR_CAPI_EXPORTED normlirCacheStats normlirGetCacheStats(void);
/// The disk cache directory in use ("" when disabled).
NORMLIR_CAPI_EXPORTED const char *normlirGetCacheDir(void);
/// Sets the disk cache directory (created on first write); NULL or "off"
/// disables it. Affects later compiles.
NORMLIR_CAPI_EXPORTED normlirStatus normlirSetCacheDir(const char *path);
/// Empties the in-memory cache (modules still referenced stay alive).
NORMLIR_CAPI_EXPORTED void normlirClearMemoryCache(void);
/// Bounds the in-memory cache to `capacity` modules, the least recently
/// used forgotten first (modules still referenced stay alive); 0 keeps
/// none. Default: $NORMLIR_CACHE_SIZE, else 512. A negative capacity is
/// NORMLIR_STATUS_INVALID_ARGUMENT.
NORMLIR_CAPI_EXPORTED normlirStatus
normlirSetMemoryCacheCapacity(int64_t capacity);

#ifdef __cplusplus
}
#endif

#endif /* NORMLIR_C_NORMLIR_H */
