//===- HostAbi.cpp - What lowered host code calls -------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The mgpu* functions of MLIR's gpu-to-llvm ABI (streams, events, memory,
// modules, launches) and NormLIR's entry-point support (normlirRuntime*).
// They are C symbols of libNormLIRRuntime.so, so that ahead-of-time compiled
// libraries link against it, and are listed by normlirCudaGetRuntimeSymbols
// for the JIT. Failures are recorded as the thread's pending error, never
// returned: the lowered code checks nothing.
//
// Signatures as MLIR 22's gpu-to-llvm and SelectObjectAttr declare them (see
// the LLVM type in each comment); the C++ signatures are ABI-compatible with
// the C declarations the lowered code uses. The i8 and i16 arguments are
// taken as 32-bit integers and masked: LLVM passes them without extension,
// so the upper bits of their registers are unspecified.
//
//===----------------------------------------------------------------------===//

#include "ThreadState.h"

#include <atomic>
#include <cstring>
#include <limits>
#include <mutex>

using namespace normlir::runtime;

//===----------------------------------------------------------------------===//
// Streams and events
//===----------------------------------------------------------------------===//

/// ptr @mgpuStreamCreate()
extern "C" NORMLIR_RUNTIME_EXPORT void *mgpuStreamCreate() {
  const Driver *d = activateOrRecord();
  if (!d)
    return nullptr;
  if (threadState.callerStream)
    return threadState.callerStream;
  std::string error;
  CUstream stream = getStream(*d, error);
  if (!stream)
    recordError(error);
  return stream;
}

/// void @mgpuStreamDestroy(ptr). Every stream mgpuStreamCreate returns is a
/// persistent runtime stream or the caller's: nothing to do.
extern "C" NORMLIR_RUNTIME_EXPORT void mgpuStreamDestroy(void *) {}

/// void @mgpuStreamSynchronize(ptr)
extern "C" NORMLIR_RUNTIME_EXPORT void mgpuStreamSynchronize(void *stream) {
  const Driver *d = activateOrRecord();
  if (!d)
    return;
  auto s = static_cast<CUstream>(stream);
  if (threadState.deferredSync && s && s == threadState.stream)
    return;
  // The caller's stream: the caller orders its later work after the call's
  // on that stream, as with its own kernels (and CUDA graph capture forbids
  // waiting for a capturing stream).
  if (s && s == threadState.callerStream)
    return;
  failed(*d, "cuStreamSynchronize", d->cuStreamSynchronize(s));
}

/// void @mgpuStreamWaitEvent(ptr stream, ptr event)
extern "C" NORMLIR_RUNTIME_EXPORT void mgpuStreamWaitEvent(void *stream,
                                                           void *event) {
  const Driver *d = activateOrRecord();
  if (!d || !event)
    return;
  failed(*d, "cuStreamWaitEvent",
         d->cuStreamWaitEvent(static_cast<CUstream>(stream),
                              static_cast<CUevent>(event), 0));
}

/// ptr @mgpuEventCreate()
extern "C" NORMLIR_RUNTIME_EXPORT void *mgpuEventCreate() {
  const Driver *d = activateOrRecord();
  if (!d)
    return nullptr;
  CUevent event = nullptr;
  if (failed(*d, "cuEventCreate",
             d->cuEventCreate(&event, CU_EVENT_DISABLE_TIMING)))
    return nullptr;
  return event;
}

/// void @mgpuEventDestroy(ptr)
extern "C" NORMLIR_RUNTIME_EXPORT void mgpuEventDestroy(void *event) {
  const Driver *d = activateOrRecord();
  if (!d || !event)
    return;
  failed(*d, "cuEventDestroy", d->cuEventDestroy(static_cast<CUevent>(event)));
}

/// void @mgpuEventSynchronize(ptr)
extern "C" NORMLIR_RUNTIME_EXPORT void mgpuEventSynchronize(void *event) {
  const Driver *d = activateOrRecord();
  if (!d || !event)
    return;
  failed(*d, "cuEventSynchronize",
         d->cuEventSynchronize(static_cast<CUevent>(event)));
}

/// void @mgpuEventRecord(ptr event, ptr stream)
extern "C" NORMLIR_RUNTIME_EXPORT void mgpuEventRecord(void *event,
                                                       void *stream) {
  const Driver *d = activateOrRecord();
  if (!d || !event)
    return;
  failed(*d, "cuEventRecord",
         d->cuEventRecord(static_cast<CUevent>(event),
                          static_cast<CUstream>(stream)));
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

/// ptr @mgpuMemAlloc(i64 bytes, ptr stream, i8 isHostShared)
extern "C" NORMLIR_RUNTIME_EXPORT void *
mgpuMemAlloc(uint64_t bytes, void *stream, uint32_t hostShared) {
  const Driver *d = activateOrRecord();
  if (!d)
    return nullptr;
  if (hostShared & 0xff) {
    recordError("mgpuMemAlloc: host-shared allocations (gpu.alloc "
                "host_shared) are not supported");
    return nullptr;
  }
  if (bytes == 0)
    return nullptr;
  // cuMemFree waits for the device: on the caller's stream a call must not.
  if (threadState.callerStream && !d->memoryPools) {
    recordError("mgpuMemAlloc: a call on the caller's stream needs "
                "stream-ordered allocation (cuMemAllocAsync, CUDA 11.2), "
                "which this driver or device lacks");
    return nullptr;
  }
  CUdeviceptr ptr = 0;
  if (d->memoryPools) {
    if (failed(*d, "cuMemAllocAsync",
               d->cuMemAllocAsync(&ptr, bytes, static_cast<CUstream>(stream))))
      return nullptr;
  } else if (failed(*d, "cuMemAlloc", d->cuMemAlloc(&ptr, bytes))) {
    return nullptr;
  }
  return fromDevicePtr(ptr);
}

/// void @mgpuMemFree(ptr, ptr stream)
extern "C" NORMLIR_RUNTIME_EXPORT void mgpuMemFree(void *ptr, void *stream) {
  const Driver *d = activateOrRecord();
  if (!d || !ptr)
    return;
  auto s = static_cast<CUstream>(stream);
  if (d->memoryPools) {
    failed(*d, "cuMemFreeAsync", d->cuMemFreeAsync(toDevicePtr(ptr), s));
    return;
  }
  // A synchronous free must not overtake the stream's pending work.
  if (failed(*d, "cuStreamSynchronize", d->cuStreamSynchronize(s)))
    return;
  failed(*d, "cuMemFree", d->cuMemFree(toDevicePtr(ptr)));
}

/// void @mgpuMemcpy(ptr dst, ptr src, i64 bytes, ptr stream)
extern "C" NORMLIR_RUNTIME_EXPORT void
mgpuMemcpy(void *dst, void *src, uint64_t bytes, void *stream) {
  const Driver *d = activateOrRecord();
  if (!d || threadState.pendingError || bytes == 0)
    return;
  failed(*d, "cuMemcpyAsync",
         d->cuMemcpyAsync(toDevicePtr(dst), toDevicePtr(src), bytes,
                          static_cast<CUstream>(stream)));
}

/// void @mgpuMemset32(ptr dst, i32 value, i64 count, ptr stream)
extern "C" NORMLIR_RUNTIME_EXPORT void
mgpuMemset32(void *dst, uint32_t value, uint64_t count, void *stream) {
  const Driver *d = activateOrRecord();
  if (!d || threadState.pendingError || count == 0)
    return;
  failed(*d, "cuMemsetD32Async",
         d->cuMemsetD32Async(toDevicePtr(dst), value, count,
                             static_cast<CUstream>(stream)));
}

/// void @mgpuMemset16(ptr dst, i16 value, i64 count, ptr stream)
extern "C" NORMLIR_RUNTIME_EXPORT void
mgpuMemset16(void *dst, uint32_t value, uint64_t count, void *stream) {
  const Driver *d = activateOrRecord();
  if (!d || threadState.pendingError || count == 0)
    return;
  failed(*d, "cuMemsetD16Async",
         d->cuMemsetD16Async(toDevicePtr(dst),
                             static_cast<unsigned short>(value & 0xffff), count,
                             static_cast<CUstream>(stream)));
}

//===----------------------------------------------------------------------===//
// Modules
//===----------------------------------------------------------------------===//

/// Describes a module load failure, with the JIT error log.
static std::string describeModuleLoad(const Driver &d, const char *caller,
                                      CUresult result, const char *log) {
  std::string message =
      std::string(caller) + ": " + d.describe("cuModuleLoadDataEx", result);
  if (result == CUDA_ERROR_NO_BINARY_FOR_GPU)
    message += "; the device is " + d.chip();
  const char *space = " \t\n\v\f\r";
  std::string text(log);
  size_t begin = text.find_first_not_of(space);
  if (begin != std::string::npos)
    message +=
        ":\n" + text.substr(begin, text.find_last_not_of(space) - begin + 1);
  return message;
}

/// Loads a module image (cubin, fatbin or NUL-terminated PTX); null on failure.
static void *loadModule(const char *caller, const void *data, int optLevel) {
  const Driver *d = activateOrRecord();
  if (!d)
    return nullptr;
  if (!data) {
    recordError(std::string(caller) + ": no module image");
    return nullptr;
  }
  constexpr size_t logSize = 8192;
  char errorLog[logSize] = {0};
  int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                   CU_JIT_OPTIMIZATION_LEVEL};
  void *values[] = {errorLog, reinterpret_cast<void *>(logSize - 1),
                    reinterpret_cast<void *>(static_cast<intptr_t>(optLevel))};
  unsigned numOptions = optLevel < 0 ? 2 : 3;
  CUmodule module = nullptr;
  CUresult r =
      d->cuModuleLoadDataEx(&module, data, numOptions, options, values);
  if (r != CUDA_SUCCESS) {
    errorLog[logSize - 1] = 0;
    recordError(describeModuleLoad(*d, caller, r, errorLog));
    return nullptr;
  }
  return module;
}

/// ptr @mgpuModuleLoad(ptr data, i64 size): a cubin or fatbin.
extern "C" NORMLIR_RUNTIME_EXPORT void *mgpuModuleLoad(void *data,
                                                       uint64_t /*size*/) {
  return loadModule("mgpuModuleLoad", data, /*optLevel=*/-1);
}

/// ptr @mgpuModuleLoadJIT(ptr data, i32 optLevel): NUL-terminated PTX.
extern "C" NORMLIR_RUNTIME_EXPORT void *mgpuModuleLoadJIT(void *data,
                                                          int32_t optLevel) {
  return loadModule("mgpuModuleLoadJIT", data,
                    optLevel < 0 ? 0 : (optLevel > 4 ? 4 : optLevel));
}

/// void @mgpuModuleUnload(ptr)
extern "C" NORMLIR_RUNTIME_EXPORT void mgpuModuleUnload(void *module) {
  const Driver *d = activateOrRecord();
  if (!d || !module)
    return;
  failed(*d, "cuModuleUnload",
         d->cuModuleUnload(static_cast<CUmodule>(module)));
}

/// ptr @mgpuModuleGetFunction(ptr module, ptr name)
extern "C" NORMLIR_RUNTIME_EXPORT void *
mgpuModuleGetFunction(void *module, const char *name) {
  const Driver *d = activateOrRecord();
  if (!d)
    return nullptr;
  std::string kernel = name ? name : "<null>";
  if (!module) {
    recordError("mgpuModuleGetFunction: cannot look up kernel '" + kernel +
                "': its GPU module did not load");
    return nullptr;
  }
  CUfunction function = nullptr;
  if (CUresult r = d->cuModuleGetFunction(
          &function, static_cast<CUmodule>(module), name)) {
    recordError(d->describe("cuModuleGetFunction", r) + " (kernel '" + kernel +
                "')");
    return nullptr;
  }
  return function;
}

//===----------------------------------------------------------------------===//
// Launches
//===----------------------------------------------------------------------===//

namespace {
/// Launch geometry, checked and narrowed to the driver's unsigned ints.
struct LaunchDims {
  unsigned grid[3], block[3];
  unsigned smem;
};
} // namespace

/// "AxBxC".
template <typename T> static std::string triple(const T *v) {
  return std::to_string(v[0]) + "x" + std::to_string(v[1]) + "x" +
         std::to_string(v[2]);
}

/// The kernel's name for error messages.
static std::string kernelName(const Driver &d, CUfunction function) {
  const char *name = nullptr;
  if (d.cuFuncGetName && d.cuFuncGetName(&name, function) == CUDA_SUCCESS &&
      name)
    return std::string("'") + name + "'";
  return "at " + hex(reinterpret_cast<uintptr_t>(function));
}

/// Describes a failed launch: call, error, kernel and geometry.
static std::string describeLaunch(const Driver &d, const char *call, CUresult r,
                                  CUfunction function, const LaunchDims &dims) {
  return d.describe(call, r) + " (kernel " + kernelName(d, function) +
         ", grid " + triple(dims.grid) + ", block " + triple(dims.block) +
         ", " + std::to_string(dims.smem) + " bytes of dynamic shared memory)";
}

/// Common launch checks: runtime usable, no pending error, a function, valid
/// dimensions, enough dynamic shared memory allowed. Returns false if the
/// launch must not happen (an empty grid is not an error).
static bool prepareLaunch(const Driver &d, const char *caller,
                          CUfunction function, const intptr_t grid[3],
                          const intptr_t block[3], int32_t smem,
                          LaunchDims &dims) {
  if (threadState.pendingError)
    return false;
  if (!function) {
    recordError(std::string(caller) +
                ": no kernel function (its module did not load or the "
                "kernel was not found)");
    return false;
  }
  constexpr intptr_t maxDim = std::numeric_limits<unsigned>::max();
  for (int i = 0; i < 3; ++i) {
    if (grid[i] < 0 || grid[i] > maxDim || block[i] <= 0 || block[i] > maxDim) {
      recordError(std::string(caller) + ": invalid launch dimensions: grid " +
                  triple(grid) + ", block " + triple(block));
      return false;
    }
    dims.grid[i] = static_cast<unsigned>(grid[i]);
    dims.block[i] = static_cast<unsigned>(block[i]);
  }
  dims.smem = static_cast<unsigned>(smem);
  if (dims.grid[0] == 0 || dims.grid[1] == 0 || dims.grid[2] == 0)
    return false;
  if (dims.smem > 48 * 1024) {
    if (CUresult r = d.cuFuncSetAttribute(
            function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
            static_cast<int>(dims.smem))) {
      recordError(describeLaunch(d, "cuFuncSetAttribute", r, function, dims));
      return false;
    }
  }
  return true;
}

/// void @mgpuLaunchKernel(ptr function, i64 gridX, i64 gridY, i64 gridZ,
///                        i64 blockX, i64 blockY, i64 blockZ, i32 smem,
///                        ptr stream, ptr params, ptr extra, i64 paramsCount)
extern "C" NORMLIR_RUNTIME_EXPORT void
mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                 intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                 int32_t smem, void *stream, void **params, void **extra,
                 size_t /*paramsCount*/) {
  const Driver *d = activateOrRecord();
  if (!d)
    return;
  auto f = static_cast<CUfunction>(function);
  const intptr_t grid[3] = {gridX, gridY, gridZ};
  const intptr_t block[3] = {blockX, blockY, blockZ};
  LaunchDims dims;
  if (!prepareLaunch(*d, "mgpuLaunchKernel", f, grid, block, smem, dims))
    return;
  if (CUresult r = d->cuLaunchKernel(
          f, dims.grid[0], dims.grid[1], dims.grid[2], dims.block[0],
          dims.block[1], dims.block[2], dims.smem,
          static_cast<CUstream>(stream), params, extra))
    recordError(describeLaunch(*d, "cuLaunchKernel", r, f, dims));
}

/// void @mgpuLaunchClusterKernel(ptr function, i64 clusterX, i64 clusterY,
///                               i64 clusterZ, i64 gridX, i64 gridY,
///                               i64 gridZ, i64 blockX, i64 blockY,
///                               i64 blockZ, i32 smem, ptr stream,
///                               ptr params, ptr extra)
extern "C" NORMLIR_RUNTIME_EXPORT void
mgpuLaunchClusterKernel(void *function, intptr_t clusterX, intptr_t clusterY,
                        intptr_t clusterZ, intptr_t gridX, intptr_t gridY,
                        intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                        intptr_t blockZ, int32_t smem, void *stream,
                        void **params, void **extra) {
  const Driver *d = activateOrRecord();
  if (!d)
    return;
  auto f = static_cast<CUfunction>(function);
  const intptr_t grid[3] = {gridX, gridY, gridZ};
  const intptr_t block[3] = {blockX, blockY, blockZ};
  LaunchDims dims;
  if (!prepareLaunch(*d, "mgpuLaunchClusterKernel", f, grid, block, smem, dims))
    return;
  if (!d->cuLaunchKernelEx) {
    recordError("mgpuLaunchClusterKernel: the CUDA driver lacks "
                "cuLaunchKernelEx (cluster launches need CUDA 12)");
    return;
  }
  const intptr_t cluster[3] = {clusterX, clusterY, clusterZ};
  for (intptr_t c : cluster) {
    if (c <= 0 || c > 1024) {
      recordError("mgpuLaunchClusterKernel: invalid cluster dimensions " +
                  triple(cluster));
      return;
    }
  }
  // Clusters of more than 8 blocks are "non-portable" and must be opted in.
  if (clusterX * clusterY * clusterZ > 8) {
    if (CUresult r = d->cuFuncSetAttribute(
            f, CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 1)) {
      recordError(describeLaunch(*d, "cuFuncSetAttribute", r, f, dims));
      return;
    }
  }
  CUlaunchAttribute attributes[2];
  std::memset(attributes, 0, sizeof(attributes));
  attributes[0].id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
  attributes[0].value.clusterDim.x = static_cast<unsigned>(clusterX);
  attributes[0].value.clusterDim.y = static_cast<unsigned>(clusterY);
  attributes[0].value.clusterDim.z = static_cast<unsigned>(clusterZ);
  attributes[1].id = CU_LAUNCH_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE;
  attributes[1].value.clusterSchedulingPolicyPreference =
      CU_CLUSTER_SCHEDULING_POLICY_SPREAD;
  CUlaunchConfig config;
  std::memset(&config, 0, sizeof(config));
  config.gridDimX = dims.grid[0];
  config.gridDimY = dims.grid[1];
  config.gridDimZ = dims.grid[2];
  config.blockDimX = dims.block[0];
  config.blockDimY = dims.block[1];
  config.blockDimZ = dims.block[2];
  config.sharedMemBytes = dims.smem;
  config.hStream = static_cast<CUstream>(stream);
  config.attrs = attributes;
  config.numAttrs = 2;
  if (CUresult r = d->cuLaunchKernelEx(&config, f, params, extra))
    recordError(describeLaunch(*d, "cuLaunchKernelEx", r, f, dims) +
                " with clusters of " + triple(cluster));
}

/// void @mgpuSetDefaultDevice(i32)
extern "C" NORMLIR_RUNTIME_EXPORT void mgpuSetDefaultDevice(int32_t device) {
  const Driver *d = activateOrRecord();
  if (!d || device == d->ordinal)
    return;
  recordError("mgpuSetDefaultDevice: device " + std::to_string(device) +
              " requested, but the runtime uses device " +
              std::to_string(d->ordinal) + " (" + d->ordinalSource + ")");
}

//===----------------------------------------------------------------------===//
// Entry-point support (see ExecutionEngine/Compiler.h)
//===----------------------------------------------------------------------===//

void normlirRuntimeCallOnce(int64_t *guard, void (*init)(void)) {
  auto *state = reinterpret_cast<std::atomic<int64_t> *>(guard);
  if (state->load(std::memory_order_acquire) == 2)
    return;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  if (state->load(std::memory_order_relaxed) == 2)
    return;
  state->store(1, std::memory_order_relaxed);
  init();
  state->store(2, std::memory_order_release);
}

int32_t normlirRuntimeHasError(void) {
  return threadState.pendingError ? 1 : 0;
}

const char *normlirRuntimeGetLastError(void) {
  static thread_local std::string last;
  if (!takePendingError(last))
    return nullptr;
  return last.c_str();
}

const normlirRuntimeSymbol *normlirCudaGetRuntimeSymbols(size_t *count) {
  // Each function under its own name, which is what lowered code calls.
#define SYMBOL(fn)                                                             \
  normlirRuntimeSymbol { #fn, reinterpret_cast<void *>(&fn) }
  static const normlirRuntimeSymbol symbols[] = {
      SYMBOL(mgpuStreamCreate),
      SYMBOL(mgpuStreamDestroy),
      SYMBOL(mgpuStreamSynchronize),
      SYMBOL(mgpuStreamWaitEvent),
      SYMBOL(mgpuEventCreate),
      SYMBOL(mgpuEventDestroy),
      SYMBOL(mgpuEventSynchronize),
      SYMBOL(mgpuEventRecord),
      SYMBOL(mgpuMemAlloc),
      SYMBOL(mgpuMemFree),
      SYMBOL(mgpuMemcpy),
      SYMBOL(mgpuMemset32),
      SYMBOL(mgpuMemset16),
      SYMBOL(mgpuModuleLoad),
      SYMBOL(mgpuModuleLoadJIT),
      SYMBOL(mgpuModuleUnload),
      SYMBOL(mgpuModuleGetFunction),
      SYMBOL(mgpuLaunchKernel),
      SYMBOL(mgpuLaunchClusterKernel),
      SYMBOL(mgpuSetDefaultDevice),
      SYMBOL(normlirRuntimeCallOnce),
      SYMBOL(normlirRuntimeHasError),
      SYMBOL(normlirRuntimeGetLastError),
  };
#undef SYMBOL
  *count = sizeof(symbols) / sizeof(symbols[0]);
  return symbols;
}
