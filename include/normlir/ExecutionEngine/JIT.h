//===- JIT.h - NormLIR C++ JIT API ------------------------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Compile a norm spec once, call its functions many times on caller-owned
// buffers:
//
//   auto mod = normlir::JITModule::compile(source, "spec.mlir");
//   if (!mod) { report(mod.takeError()); }
//   float x[...], y[...]; float mean[...], rstd[...];
//   llvm::Error err = (*mod)->invoke("ln", {{x, ElementType::F32, {8, 6}}},
//                                    {{y, ...}, {mean, ...}, {rstd, ...}});
//
// Every call checks arity, shape and element type against the function's
// signature and returns an llvm::Error on mismatch; it never writes to an
// input buffer, and refuses result buffers that overlap an input.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_EXECUTIONENGINE_JIT_H
#define NORMLIR_EXECUTIONENGINE_JIT_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace normlir {

/// Element types a JIT-compiled function may take or return.
enum class ElementType { F32, F16, BF16, F64, I64, I32 };

/// Size in bytes of one element.
size_t getElementSize(ElementType type);
/// MLIR spelling: "f32", "bf16", "i64", ...
llvm::StringRef getElementTypeName(ElementType type);
/// Parses an MLIR spelling; std::nullopt if unsupported.
std::optional<ElementType> parseElementType(llvm::StringRef name);

/// The type of a tensor argument or result; a dimension may be dynamic.
struct TensorSpec {
  /// A dimension known only at run time (`?`): the caller's buffer gives it.
  static constexpr int64_t kDynamic = -1;

  ElementType elementType = ElementType::F32;
  std::vector<int64_t> shape;

  /// Whether no dimension is dynamic.
  bool hasStaticShape() const;
  /// The number of dynamic dimensions.
  size_t getNumDynamicDims() const;
  /// The element count; kDynamic when a dimension is dynamic.
  int64_t getNumElements() const;
  size_t getSizeInBytes() const {
    return getNumElements() * getElementSize(elementType);
  }
  /// Whether a tensor of `concrete` (static) fits this type: the same
  /// element type and rank, and the static dimensions equal.
  bool accepts(const TensorSpec &concrete) const;
  /// MLIR-style "2x3xf32", "?x3xf32" (just "f32" for rank 0).
  std::string str() const;
  bool operator==(const TensorSpec &o) const {
    return elementType == o.elementType && shape == o.shape;
  }
};

/// The size in bytes of a tensor of `spec`, or an error when a dimension is
/// negative or the element count or byte size overflows int64.
llvm::Expected<size_t> getCheckedSizeInBytes(const TensorSpec &spec);

/// A caller-owned, dense row-major buffer and the type the caller says it
/// holds. `data` must hold `spec.getSizeInBytes()` bytes.
struct BufferView {
  void *data = nullptr;
  TensorSpec spec;
};

/// The statuses the entry points of a compiled function return (see
/// ExecutionEngine/Compiler.h): 0 on success.
enum : int32_t {
  /// The CUDA runtime recorded an error (normlirRuntimeGetLastError).
  kStatusRuntimeError = 1,
  /// A size passed for a dynamic dimension is negative, or a buffer's sizes
  /// overflow its byte count (int64).
  kStatusNegativeSize = 2,
  /// kStatusFirstCheck + i: the function's runtime check i failed
  /// (FunctionSignature::checks).
  kStatusFirstCheck = 3,
};

/// A callable function of a compiled module.
struct FunctionSignature {
  std::string name;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> results;
  /// The messages of the function's runtime checks (norm.check), in status
  /// order.
  std::vector<std::string> checks;
  /// Where a dynamic dimension of a result gets its size: dimension
  /// `inputDim` of input `input`.
  struct ResultDim {
    size_t result, dim, input, inputDim;
  };
  std::vector<ResultDim> resultDims;

  /// The result types for inputs of `inputShapes`: the dynamic dimensions of
  /// the results filled in from the inputs' (where resultDims says; the
  /// others stay kDynamic). The shapes must have the inputs' ranks.
  std::vector<TensorSpec>
  getResultsFor(llvm::ArrayRef<std::vector<int64_t>> inputShapes) const;

  /// The number of dynamic dimensions of the inputs and results: the sizes
  /// the entry points take after the buffers.
  size_t getNumDynamicDims() const;
  /// The error a nonzero `status` of the entry points stands for (CPU
  /// statuses; the CUDA runtime's error is the runtime's).
  std::string describeStatus(int32_t status) const;
};

/// Where a JIT-compiled module runs.
enum class Target {
  /// The host CPU (normlir-cpu-pipeline); buffers are host memory.
  CPU,
  /// An NVIDIA GPU through the CUDA driver (normlir-cuda-pipeline); buffers
  /// are device memory of the runtime's device (see CudaRuntime.h).
  CUDA
};

/// Options of JITModule::compile.
struct JITOptions {
  /// The target the functions run on.
  Target target = Target::CPU;
  /// CUDA: the GPU architecture ("sm_90"); empty: the runtime's device's,
  /// or sm_90 where there is no device.
  std::string cudaChip;
  /// CUDA: the multiprocessors the schedules plan for; 0: the device's where
  /// `cudaChip` was taken from the device, else the chip's flagship part.
  int64_t cudaMultiprocessors = 0;
  /// CUDA: kernel format, "auto" (cubin where ptxas is found, else PTX for
  /// the driver), "bin", "isa" or "fatbin".
  std::string cudaFormat = "auto";
  /// CPU: the LLVM CPU to compile for ("znver4", "x86-64-v3"); empty: the
  /// host's. The JIT refuses a CPU whose instructions the host lacks;
  /// normlir-compile (`forLibrary`) cross-compiles. A spec that records its
  /// own target (`norm.target`) is compiled for that one.
  std::string targetCPU;
  /// CPU: LLVM features added to or removed from the CPU's
  /// ("+avx512bf16,-avx512f").
  std::string targetFeatures;
  /// LLVM optimization level (0-3) of the generated code.
  unsigned optLevel = 3;
  /// Overrides of the schedule heuristic, as norm-select-schedule's options
  /// ("vector-width=4 unroll=2"; on CUDA "strategy=row threads=128");
  /// empty: the heuristic decides.
  std::string schedule;
  /// A tuning database written by normlir-tune, consulted before the
  /// schedule heuristic (ignored where `schedule` sets an option); empty:
  /// $NORMLIR_TUNING_DB, else none. Its contents are part of the cache key.
  std::string tuningDB;
  /// Also derive the backward function of each function (norm-differentiate:
  /// `NAME_backward`, taking the arguments and the output cotangents,
  /// returning the gradients).
  bool differentiate = false;
  /// With `differentiate`: recompute the forward statistics in the backward
  /// even where the function returns them (norm-differentiate's
  /// recompute-statistics; by default a backward takes the statistics a
  /// function returns as arguments, after its own).
  bool recomputeStatistics = false;
  /// Reuse a module compiled earlier in this process from the same source
  /// and options (see JITModule::compile).
  bool memoryCache = true;
  /// Reuse (and fill) the on-disk cache (getCacheDirectory()).
  bool diskCache = true;
  /// normlir-compile: entry points for a shared library (the JIT's
  /// internal symbols hidden).
  bool forLibrary = false;
  /// normlir-compile: the name of a `const char *NAME(void)` function the
  /// library defines, returning the calling thread's last error: a failed
  /// runtime check (a dynamically shaped call with sizes that do not
  /// agree), else (CUDA) the runtime's last error; so that the C program
  /// needs only the library and its header.
  std::string libraryErrorFunction;
};

/// A caller's buffer as the C API passes it: `rank` dimensions at `shape`,
/// `strides` in elements (null: dense row-major).
struct RawBuffer {
  void *data = nullptr;
  ElementType elementType = ElementType::F32;
  int rank = 0;
  const int64_t *shape = nullptr;
  const int64_t *strides = nullptr;
};

/// Counters of JITModule::compile since the process started, and the
/// in-memory cache's size: `compileSeconds` is the time spent compiling
/// (and loading) the modules that missed the memory cache, disk hits
/// included; `memoryEntries` the modules it holds, at most
/// `memoryCapacity`.
struct CacheStats {
  int64_t compiles = 0, memoryHits = 0, diskHits = 0;
  double compileSeconds = 0;
  int64_t memoryEntries = 0, memoryCapacity = 0;
};
CacheStats getCacheStats();
/// Bounds the in-memory cache to `capacity` modules (0: none kept), the
/// least recently used forgotten first (those still referenced live on;
/// a compile in flight stays until it is done, so that concurrent callers
/// of its key still share it).
/// The default: $NORMLIR_CACHE_SIZE, else 512.
void setMemoryCacheCapacity(int64_t capacity);
/// The disk cache directory: set by setCacheDirectory, else
/// $NORMLIR_CACHE_DIR, else $XDG_CACHE_HOME/normlir, else ~/.cache/normlir;
/// empty when disabled ("off").
std::string getCacheDirectory();
/// Overrides the directory; "" or "off" disables the disk cache.
void setCacheDirectory(llvm::StringRef path);
/// Forgets the modules of the in-memory cache (those still referenced live).
void clearMemoryCache();

/// How a call runs.
struct CallOptions {
  /// CUDA: the caller's stream (a CUstream of the device's primary context,
  /// such as PyTorch's current stream; nullptr is CUDA's legacy default
  /// stream). The call queues its kernels there, after the stream's earlier
  /// work, and returns without waiting for them (see normlirCudaSetStream).
  /// Unset: the runtime's own stream, and the call returns once the GPU is
  /// done. Set on a CPU module: an error.
  std::optional<void *> stream;
};

/// A module of norm specs lowered with `normlir-cpu-pipeline` and compiled
/// for the host CPU, or with `normlir-cuda-pipeline` (host code launching
/// GPU kernels). On CUDA, every buffer passed to invoke() is device memory
/// (e.g. a cuda::DeviceBuffer) and a call returns once the GPU is done
/// (unless cuda::setDeferredSynchronization is on).
class JITModule {
public:
  ~JITModule();

  /// Parses, verifies, lowers and JIT-compiles `source` (MLIR text).
  /// `bufferName` names the source in diagnostics (file:line:col).
  ///
  /// Modules are cached in memory, keyed by source, name and options:
  /// thread-safe, and concurrent compiles of one key compile once (the
  /// others wait and share the module). Compiled objects are also kept in
  /// the disk cache, so another process loads instead of compiling. Errors
  /// are not cached.
  static llvm::Expected<std::shared_ptr<const JITModule>>
  compile(llvm::StringRef source, llvm::StringRef bufferName = "<spec>",
          const JITOptions &options = {});

  /// The public functions with tensor-only signatures, in module order.
  llvm::ArrayRef<FunctionSignature> getFunctions() const { return functions; }

  /// The signature of `name`, or an error naming the functions available.
  llvm::Expected<const FunctionSignature *> lookup(llvm::StringRef name) const;

  /// Runs `name` on `inputs`, writing `results`. Errors (never undefined
  /// behaviour) on a wrong count, shape or element type, a null buffer, or a
  /// result buffer overlapping an input; on CUDA also on a buffer that is not
  /// 16-byte aligned device memory large enough, no driver or GPU, or a
  /// failed launch.
  llvm::Error invoke(llvm::StringRef name, llvm::ArrayRef<BufferView> inputs,
                     llvm::ArrayRef<BufferView> results,
                     const CallOptions &options = {}) const;

  /// invoke() for function `index` of getFunctions() on the C API's buffers,
  /// without allocating on success. Strides, when given, must be those of a
  /// dense row-major buffer (ignored for dimensions of size 1).
  llvm::Error call(size_t index, const RawBuffer *inputs, size_t numInputs,
                   const RawBuffer *results, size_t numResults,
                   const CallOptions &options = {}) const;

  /// Whether the module came from the disk cache rather than a compile.
  bool isFromDiskCache() const { return fromDiskCache; }
  /// Warnings of the compilation with their source locations (e.g. why a
  /// function is not callable); empty when there were none.
  llvm::StringRef getWarnings() const { return warnings; }

  /// Wall time of parse + lowering + LLVM codegen (or of loading from the
  /// disk cache), in seconds.
  double getCompileSeconds() const { return compileSeconds; }

  /// The target the module was compiled for.
  Target getTarget() const { return target; }
  /// CUDA: the chip the kernels were compiled for ("sm_90").
  llvm::StringRef getChip() const { return chip; }

private:
  JITModule();
  struct Impl;
  std::unique_ptr<Impl> impl;
  std::vector<FunctionSignature> functions;
  std::string warnings;
  double compileSeconds = 0.0;
  Target target = Target::CPU;
  std::string chip;
  bool fromDiskCache = false;
  friend struct JITModuleLoader;
};

} // namespace normlir

#endif // NORMLIR_EXECUTIONENGINE_JIT_H
