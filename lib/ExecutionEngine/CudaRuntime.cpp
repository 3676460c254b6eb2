//===- CudaRuntime.cpp - NormLIR CUDA runtime -----------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The CUDA driver is loaded with dlopen and its entry points are resolved with
// dlsym, under the versioned names that cuda.h maps the API names to (e.g.
// cuMemAlloc -> cuMemAlloc_v2). cuda.h is deliberately not included: the few
// types and enum values used here are declared below, with cuda.h's values.
//
// State:
//  - the driver (entry points, device, primary context, device info) is
//    loaded once per process and never released; a failure is cached;
//  - each thread has the primary context made current once, one persistent
//    non-blocking stream (the "runtime stream", destroyed at thread exit), a
//    deferred-synchronization flag and a slot for the first error hit by a
//    mgpu* call. The per-thread state is trivially destructible so that mgpu*
//    calls from global destructors (module unloads) remain safe at exit.
//
//===----------------------------------------------------------------------===//

#include "normlir/ExecutionEngine/CudaRuntime.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>

/// The mgpu* ABI of MLIR's GPU host lowering and the normlirRuntime*
/// functions of compiled entry points are C symbols of this library, so that
/// ahead-of-time compiled libraries link against it.
#define NORMLIR_RUNTIME_EXPORT extern "C" __attribute__((visibility("default")))

using namespace normlir;
using namespace normlir::cuda;

//===----------------------------------------------------------------------===//
// CUDA driver API declarations (values as in cuda.h)
//===----------------------------------------------------------------------===//

namespace {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using CUmemoryPool = struct CUmemPoolHandle_st *;

enum : int {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
};

// CUdevice_attribute.
enum : int {
  CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
  CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED = 115,
};

// CUpointer_attribute.
enum : int {
  CU_POINTER_ATTRIBUTE_CONTEXT = 1,
  CU_POINTER_ATTRIBUTE_MEMORY_TYPE = 2,
  CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL = 9,
  CU_POINTER_ATTRIBUTE_RANGE_START_ADDR = 11,
  CU_POINTER_ATTRIBUTE_RANGE_SIZE = 12,
};

// CUmemorytype.
enum : unsigned {
  CU_MEMORYTYPE_HOST = 1,
  CU_MEMORYTYPE_DEVICE = 2,
  CU_MEMORYTYPE_ARRAY = 3,
  CU_MEMORYTYPE_UNIFIED = 4,
};

// CUjit_option.
enum : int {
  CU_JIT_INFO_LOG_BUFFER = 3,
  CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4,
  CU_JIT_ERROR_LOG_BUFFER = 5,
  CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
  CU_JIT_OPTIMIZATION_LEVEL = 7,
};

// CUfunction_attribute.
enum : int {
  CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
  CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED = 14,
};

// CUlaunchAttributeID and CUclusterSchedulingPolicy.
enum : int {
  CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION = 4,
  CU_LAUNCH_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE = 5,
  CU_CLUSTER_SCHEDULING_POLICY_SPREAD = 1,
};

// CUmemPool_attribute.
enum : int { CU_MEMPOOL_ATTR_RELEASE_THRESHOLD = 4 };

// Flags.
enum : unsigned {
  CU_EVENT_DEFAULT = 0,
  CU_EVENT_DISABLE_TIMING = 2,
  CU_STREAM_NON_BLOCKING = 1,
};

/// CUlaunchAttribute: a 4-byte id, padding to 8, a 64-byte value union.
struct CUlaunchAttribute {
  int id;
  char pad[4];
  union alignas(8) {
    char pad[64];
    struct {
      unsigned x, y, z;
    } clusterDim;
    int clusterSchedulingPolicyPreference;
  } value;
};
static_assert(sizeof(CUlaunchAttribute) == 72, "CUlaunchAttribute layout");

/// CUlaunchConfig.
struct CUlaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  CUstream hStream;
  CUlaunchAttribute *attrs;
  unsigned numAttrs;
};

/// The loaded driver: entry points, device and primary context. Immutable
/// once loaded; `error` is non-empty if loading failed.
struct Driver {
  std::string error;

  int ordinal = 0;
  CUdevice device = 0;
  CUcontext context = nullptr;
  DeviceInfo info;
  /// Whether stream-ordered allocation (cuMemAllocAsync) is used.
  bool memoryPools = false;

  // Required entry points.
  CUresult (*cuInit)(unsigned) = nullptr;
  CUresult (*cuDriverGetVersion)(int *) = nullptr;
  CUresult (*cuGetErrorName)(CUresult, const char **) = nullptr;
  CUresult (*cuGetErrorString)(CUresult, const char **) = nullptr;
  CUresult (*cuDeviceGetCount)(int *) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice *, int) = nullptr;
  CUresult (*cuDeviceGetName)(char *, int, CUdevice) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice) = nullptr;
  CUresult (*cuDeviceTotalMem)(size_t *, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice) = nullptr;
  CUresult (*cuCtxSetCurrent)(CUcontext) = nullptr;
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t) = nullptr;
  CUresult (*cuMemFree)(CUdeviceptr) = nullptr;
  CUresult (*cuMemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t,
                            CUstream) = nullptr;
  CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t,
                                CUstream) = nullptr;
  CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned, size_t,
                               CUstream) = nullptr;
  CUresult (*cuMemsetD16Async)(CUdeviceptr, unsigned short, size_t,
                               CUstream) = nullptr;
  CUresult (*cuPointerGetAttribute)(void *, int, CUdeviceptr) = nullptr;
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *,
                                 void **) = nullptr;
  CUresult (*cuModuleUnload)(CUmodule) = nullptr;
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule,
                                  const char *) = nullptr;
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int) = nullptr;
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **) = nullptr;
  CUresult (*cuStreamCreate)(CUstream *, unsigned) = nullptr;
  CUresult (*cuStreamDestroy)(CUstream) = nullptr;
  CUresult (*cuStreamSynchronize)(CUstream) = nullptr;
  CUresult (*cuStreamWaitEvent)(CUstream, CUevent, unsigned) = nullptr;
  CUresult (*cuEventCreate)(CUevent *, unsigned) = nullptr;
  CUresult (*cuEventDestroy)(CUevent) = nullptr;
  CUresult (*cuEventRecord)(CUevent, CUstream) = nullptr;
  CUresult (*cuEventSynchronize)(CUevent) = nullptr;
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent) = nullptr;

  // Optional entry points (null if the driver lacks them).
  CUresult (*cuMemAllocAsync)(CUdeviceptr *, size_t, CUstream) = nullptr;
  CUresult (*cuMemFreeAsync)(CUdeviceptr, CUstream) = nullptr;
  CUresult (*cuDeviceGetDefaultMemPool)(CUmemoryPool *, CUdevice) = nullptr;
  CUresult (*cuMemPoolSetAttribute)(CUmemoryPool, int, void *) = nullptr;
  CUresult (*cuLaunchKernelEx)(const CUlaunchConfig *, CUfunction, void **,
                               void **) = nullptr;
  CUresult (*cuFuncGetName)(const char **, CUfunction) = nullptr;

  /// "CUDA_ERROR_INVALID_VALUE (invalid argument)".
  std::string describe(CUresult result) const {
    const char *name = nullptr, *text = nullptr;
    if (cuGetErrorName && cuGetErrorName(result, &name) != CUDA_SUCCESS)
      name = nullptr;
    if (cuGetErrorString && cuGetErrorString(result, &text) != CUDA_SUCCESS)
      text = nullptr;
    std::string s = name ? name : "CUresult " + std::to_string(result);
    if (text)
      s += std::string(" (") + text + ")";
    return s;
  }
  /// "cuLaunchKernel: CUDA_ERROR_INVALID_VALUE (invalid argument)".
  std::string describe(llvm::StringRef call, CUresult result) const {
    return (call + ": " + describe(result)).str();
  }
};

} // namespace

/// Resolves `name` in `library` into `fn`; false if absent.
template <typename Fn>
static bool resolve(void *library, Fn &fn, const char *name) {
  fn = reinterpret_cast<Fn>(dlsym(library, name));
  return fn != nullptr;
}

/// Loads the driver. Always returns a driver; its `error` says if it is
/// unusable.
static Driver *loadDriver() {
  auto *d = new Driver();
  void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *reason = dlerror();
    d->error = std::string("no CUDA driver: cannot load libcuda.so.1 (") +
               (reason ? reason : "unknown reason") + ")";
    return d;
  }

  const char *missing = nullptr;
  auto require = [&](auto &fn, const char *name) {
    if (!resolve(library, fn, name) && !missing)
      missing = name;
  };
  require(d->cuInit, "cuInit");
  require(d->cuDriverGetVersion, "cuDriverGetVersion");
  require(d->cuGetErrorName, "cuGetErrorName");
  require(d->cuGetErrorString, "cuGetErrorString");
  require(d->cuDeviceGetCount, "cuDeviceGetCount");
  require(d->cuDeviceGet, "cuDeviceGet");
  require(d->cuDeviceGetName, "cuDeviceGetName");
  require(d->cuDeviceGetAttribute, "cuDeviceGetAttribute");
  require(d->cuDeviceTotalMem, "cuDeviceTotalMem_v2");
  require(d->cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  require(d->cuCtxSetCurrent, "cuCtxSetCurrent");
  require(d->cuMemAlloc, "cuMemAlloc_v2");
  require(d->cuMemFree, "cuMemFree_v2");
  require(d->cuMemcpyAsync, "cuMemcpyAsync");
  require(d->cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
  require(d->cuMemsetD32Async, "cuMemsetD32Async");
  require(d->cuMemsetD16Async, "cuMemsetD16Async");
  require(d->cuPointerGetAttribute, "cuPointerGetAttribute");
  require(d->cuModuleLoadDataEx, "cuModuleLoadDataEx");
  require(d->cuModuleUnload, "cuModuleUnload");
  require(d->cuModuleGetFunction, "cuModuleGetFunction");
  require(d->cuFuncSetAttribute, "cuFuncSetAttribute");
  require(d->cuLaunchKernel, "cuLaunchKernel");
  require(d->cuStreamCreate, "cuStreamCreate");
  require(d->cuStreamDestroy, "cuStreamDestroy_v2");
  require(d->cuStreamSynchronize, "cuStreamSynchronize");
  require(d->cuStreamWaitEvent, "cuStreamWaitEvent");
  require(d->cuEventCreate, "cuEventCreate");
  require(d->cuEventDestroy, "cuEventDestroy_v2");
  require(d->cuEventRecord, "cuEventRecord");
  require(d->cuEventSynchronize, "cuEventSynchronize");
  // CUDA 12.8 maps cuEventElapsedTime to cuEventElapsedTime_v2; older drivers
  // only have the unversioned one.
  if (!resolve(library, d->cuEventElapsedTime, "cuEventElapsedTime_v2"))
    require(d->cuEventElapsedTime, "cuEventElapsedTime");
  if (missing) {
    d->error =
        std::string("CUDA driver libcuda.so.1 is too old: it lacks ") + missing;
    return d;
  }
  resolve(library, d->cuMemAllocAsync, "cuMemAllocAsync");
  resolve(library, d->cuMemFreeAsync, "cuMemFreeAsync");
  resolve(library, d->cuDeviceGetDefaultMemPool, "cuDeviceGetDefaultMemPool");
  resolve(library, d->cuMemPoolSetAttribute, "cuMemPoolSetAttribute");
  resolve(library, d->cuLaunchKernelEx, "cuLaunchKernelEx");
  resolve(library, d->cuFuncGetName, "cuFuncGetName");

  if (CUresult r = d->cuInit(0)) {
    d->error = "CUDA driver has no usable GPU: " + d->describe("cuInit", r);
    return d;
  }
  int count = 0;
  if (CUresult r = d->cuDeviceGetCount(&count)) {
    d->error =
        "CUDA driver has no usable GPU: " + d->describe("cuDeviceGetCount", r);
    return d;
  }
  if (count <= 0) {
    d->error = "CUDA driver has no usable GPU: it reports no devices";
    return d;
  }

  int ordinal = 0;
  if (const char *env = std::getenv("NORMLIR_CUDA_DEVICE")) {
    llvm::StringRef text = llvm::StringRef(env).trim();
    if (!text.empty() && (text.getAsInteger(10, ordinal) || ordinal < 0)) {
      d->error = "NORMLIR_CUDA_DEVICE='" + std::string(env) +
                 "' is not a device ordinal";
      return d;
    }
  }
  if (ordinal >= count) {
    d->error = "device " + std::to_string(ordinal) +
               " requested by NORMLIR_CUDA_DEVICE, but only " +
               std::to_string(count) + " present";
    return d;
  }
  d->ordinal = ordinal;

  auto fail = [&](llvm::StringRef call, CUresult r) {
    d->error = "cannot use CUDA device " + std::to_string(ordinal) + ": " +
               d->describe(call, r);
    return d;
  };
  if (CUresult r = d->cuDeviceGet(&d->device, ordinal))
    return fail("cuDeviceGet", r);

  DeviceInfo &info = d->info;
  info.ordinal = ordinal;
  char name[256] = {0};
  if (CUresult r = d->cuDeviceGetName(name, sizeof(name) - 1, d->device))
    return fail("cuDeviceGetName", r);
  info.name = name;
  struct {
    int *value;
    int attribute;
  } attributes[] = {
      {&info.major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR},
      {&info.minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR},
      {&info.multiprocessors, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT},
  };
  for (auto &a : attributes)
    if (CUresult r = d->cuDeviceGetAttribute(a.value, a.attribute, d->device))
      return fail("cuDeviceGetAttribute", r);
  if (CUresult r = d->cuDeviceTotalMem(&info.totalMemory, d->device))
    return fail("cuDeviceTotalMem", r);
  if (CUresult r = d->cuDriverGetVersion(&info.driverVersion))
    return fail("cuDriverGetVersion", r);

  if (CUresult r = d->cuDevicePrimaryCtxRetain(&d->context, d->device))
    return fail("cuDevicePrimaryCtxRetain", r);

  // Stream-ordered allocation, when the driver and device support it. The
  // default pool keeps freed memory (release threshold: unlimited), so that
  // the allocations of one call are recycled by the next instead of being
  // returned to the OS at every synchronization.
  int pools = 0;
  if (d->cuMemAllocAsync && d->cuMemFreeAsync &&
      d->cuDeviceGetAttribute(&pools,
                              CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED,
                              d->device) == CUDA_SUCCESS &&
      pools) {
    d->memoryPools = true;
    CUmemoryPool pool = nullptr;
    if (d->cuDeviceGetDefaultMemPool && d->cuMemPoolSetAttribute &&
        d->cuDeviceGetDefaultMemPool(&pool, d->device) == CUDA_SUCCESS) {
      uint64_t threshold = std::numeric_limits<uint64_t>::max();
      (void)d->cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                                     &threshold);
    }
  }
  return d;
}

/// The process's driver, loaded on first use (thread-safe); never freed.
static const Driver &getDriver() {
  static const Driver *driver = loadDriver();
  return *driver;
}

//===----------------------------------------------------------------------===//
// Per-thread state
//===----------------------------------------------------------------------===//

namespace {
/// Trivially destructible, so usable until the very end of the thread.
struct ThreadState {
  /// Whether the primary context was made current on this thread.
  bool contextCurrent = false;
  /// setDeferredSynchronization().
  bool deferredSync = false;
  /// The runtime stream (null until first use).
  CUstream stream = nullptr;
  /// The first error of a mgpu* call since the last takeRuntimeError().
  std::string *pendingError = nullptr;
};
} // namespace

static thread_local ThreadState threadState;

namespace {
/// Releases the thread's runtime stream and pending error at thread exit.
struct ThreadCleanup {
  ~ThreadCleanup() {
    if (threadState.stream)
      (void)getDriver().cuStreamDestroy(threadState.stream);
    threadState.stream = nullptr;
    delete threadState.pendingError;
    threadState.pendingError = nullptr;
  }
};
} // namespace

/// Registers the thread-exit cleanup of the calling thread (once).
static void registerThreadCleanup() {
  static thread_local ThreadCleanup cleanup;
  (void)cleanup;
}

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Records `message` as the thread's pending error unless one is pending.
static void recordError(const llvm::Twine &message) {
  if (threadState.pendingError)
    return;
  threadState.pendingError = new std::string(message.str());
  registerThreadCleanup();
}

static void recordError(llvm::Error error) {
  if (error)
    recordError(llvm::toString(std::move(error)));
}

/// Returns the usable driver with its primary context current on the calling
/// thread, or the reason there is none.
static llvm::Expected<const Driver *> activate() {
  const Driver &d = getDriver();
  if (!d.error.empty())
    return makeError(d.error);
  if (!threadState.contextCurrent) {
    if (CUresult r = d.cuCtxSetCurrent(d.context))
      return makeError(d.describe("cuCtxSetCurrent", r));
    threadState.contextCurrent = true;
  }
  return &d;
}

/// activate() for the mgpu* functions: records a failure, returns null.
static const Driver *activateOrRecord() {
  auto d = activate();
  if (!d) {
    recordError(d.takeError());
    return nullptr;
  }
  return *d;
}

/// The calling thread's runtime stream, created on first use.
static llvm::Expected<CUstream> getStream(const Driver &d) {
  if (!threadState.stream) {
    CUstream stream = nullptr;
    if (CUresult r = d.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING))
      return makeError(d.describe("cuStreamCreate", r));
    threadState.stream = stream;
    registerThreadCleanup();
  }
  return threadState.stream;
}

/// Records `call` failing with `result` (if it failed); true if it did.
static bool failed(const Driver &d, llvm::StringRef call, CUresult result) {
  if (result == CUDA_SUCCESS)
    return false;
  recordError(d.describe(call, result));
  return true;
}

static CUdeviceptr toDevicePtr(const void *ptr) {
  return static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(ptr));
}

static void *fromDevicePtr(CUdeviceptr ptr) {
  return reinterpret_cast<void *>(static_cast<uintptr_t>(ptr));
}

static std::string hex(uint64_t value) {
  return "0x" + llvm::utohexstr(value, /*LowerCase=*/true);
}

//===----------------------------------------------------------------------===//
// mgpu* functions called by host code lowered by gpu-to-llvm
//===----------------------------------------------------------------------===//
//
// Signatures as MLIR 22's gpu-to-llvm and SelectObjectAttr declare them (see
// the LLVM type in each comment). The functions have internal linkage and are
// handed to the ExecutionEngine by address; their C++ signatures are
// ABI-compatible with the C declarations the lowered code uses. The i8 and
// i16 arguments are taken as 32-bit integers and masked: LLVM passes them
// without extension, so the upper bits of their registers are unspecified.

/// ptr @mgpuStreamCreate()
NORMLIR_RUNTIME_EXPORT void *mgpuStreamCreate() {
  const Driver *d = activateOrRecord();
  if (!d)
    return nullptr;
  auto stream = getStream(*d);
  if (!stream) {
    recordError(stream.takeError());
    return nullptr;
  }
  return *stream;
}

/// void @mgpuStreamDestroy(ptr). Every stream mgpuStreamCreate returns is a
/// persistent runtime stream: nothing to do.
NORMLIR_RUNTIME_EXPORT void mgpuStreamDestroy(void *) {}

/// void @mgpuStreamSynchronize(ptr)
NORMLIR_RUNTIME_EXPORT void mgpuStreamSynchronize(void *stream) {
  const Driver *d = activateOrRecord();
  if (!d)
    return;
  auto s = static_cast<CUstream>(stream);
  if (threadState.deferredSync && s && s == threadState.stream)
    return;
  failed(*d, "cuStreamSynchronize", d->cuStreamSynchronize(s));
}

/// void @mgpuStreamWaitEvent(ptr stream, ptr event)
NORMLIR_RUNTIME_EXPORT void mgpuStreamWaitEvent(void *stream, void *event) {
  const Driver *d = activateOrRecord();
  if (!d || !event)
    return;
  failed(*d, "cuStreamWaitEvent",
         d->cuStreamWaitEvent(static_cast<CUstream>(stream),
                              static_cast<CUevent>(event), 0));
}

/// ptr @mgpuEventCreate()
NORMLIR_RUNTIME_EXPORT void *mgpuEventCreate() {
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
NORMLIR_RUNTIME_EXPORT void mgpuEventDestroy(void *event) {
  const Driver *d = activateOrRecord();
  if (!d || !event)
    return;
  failed(*d, "cuEventDestroy", d->cuEventDestroy(static_cast<CUevent>(event)));
}

/// void @mgpuEventSynchronize(ptr)
NORMLIR_RUNTIME_EXPORT void mgpuEventSynchronize(void *event) {
  const Driver *d = activateOrRecord();
  if (!d || !event)
    return;
  failed(*d, "cuEventSynchronize",
         d->cuEventSynchronize(static_cast<CUevent>(event)));
}

/// void @mgpuEventRecord(ptr event, ptr stream)
NORMLIR_RUNTIME_EXPORT void mgpuEventRecord(void *event, void *stream) {
  const Driver *d = activateOrRecord();
  if (!d || !event)
    return;
  failed(*d, "cuEventRecord",
         d->cuEventRecord(static_cast<CUevent>(event),
                          static_cast<CUstream>(stream)));
}

/// ptr @mgpuMemAlloc(i64 bytes, ptr stream, i8 isHostShared)
NORMLIR_RUNTIME_EXPORT void *mgpuMemAlloc(uint64_t bytes, void *stream,
                                          uint32_t hostShared) {
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
NORMLIR_RUNTIME_EXPORT void mgpuMemFree(void *ptr, void *stream) {
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
NORMLIR_RUNTIME_EXPORT void mgpuMemcpy(void *dst, void *src, uint64_t bytes,
                                       void *stream) {
  const Driver *d = activateOrRecord();
  if (!d || threadState.pendingError || bytes == 0)
    return;
  failed(*d, "cuMemcpyAsync",
         d->cuMemcpyAsync(toDevicePtr(dst), toDevicePtr(src), bytes,
                          static_cast<CUstream>(stream)));
}

/// void @mgpuMemset32(ptr dst, i32 value, i64 count, ptr stream)
NORMLIR_RUNTIME_EXPORT void mgpuMemset32(void *dst, uint32_t value,
                                         uint64_t count, void *stream) {
  const Driver *d = activateOrRecord();
  if (!d || threadState.pendingError || count == 0)
    return;
  failed(*d, "cuMemsetD32Async",
         d->cuMemsetD32Async(toDevicePtr(dst), value, count,
                             static_cast<CUstream>(stream)));
}

/// void @mgpuMemset16(ptr dst, i16 value, i64 count, ptr stream)
NORMLIR_RUNTIME_EXPORT void mgpuMemset16(void *dst, uint32_t value,
                                         uint64_t count, void *stream) {
  const Driver *d = activateOrRecord();
  if (!d || threadState.pendingError || count == 0)
    return;
  failed(*d, "cuMemsetD16Async",
         d->cuMemsetD16Async(toDevicePtr(dst),
                             static_cast<unsigned short>(value & 0xffff), count,
                             static_cast<CUstream>(stream)));
}

/// Describes a module load failure, with the JIT error log.
static std::string describeModuleLoad(const Driver &d, llvm::StringRef caller,
                                      CUresult result, const char *log) {
  std::string message =
      (caller + ": " + d.describe("cuModuleLoadDataEx", result)).str();
  if (result == CUDA_ERROR_NO_BINARY_FOR_GPU)
    message += "; the device is " + d.info.chip();
  llvm::StringRef text = llvm::StringRef(log).trim();
  if (!text.empty())
    message += ":\n" + text.str();
  return message;
}

/// Loads a module image (cubin, fatbin or NUL-terminated PTX); null on failure.
static void *loadModule(llvm::StringRef caller, const void *data,
                        int optLevel) {
  const Driver *d = activateOrRecord();
  if (!d)
    return nullptr;
  if (!data) {
    recordError(caller + ": no module image");
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
NORMLIR_RUNTIME_EXPORT void *mgpuModuleLoad(void *data, uint64_t /*size*/) {
  return loadModule("mgpuModuleLoad", data, /*optLevel=*/-1);
}

/// ptr @mgpuModuleLoadJIT(ptr data, i32 optLevel): NUL-terminated PTX.
NORMLIR_RUNTIME_EXPORT void *mgpuModuleLoadJIT(void *data, int32_t optLevel) {
  return loadModule("mgpuModuleLoadJIT", data,
                    optLevel < 0 ? 0 : (optLevel > 4 ? 4 : optLevel));
}

/// void @mgpuModuleUnload(ptr)
NORMLIR_RUNTIME_EXPORT void mgpuModuleUnload(void *module) {
  const Driver *d = activateOrRecord();
  if (!d || !module)
    return;
  failed(*d, "cuModuleUnload",
         d->cuModuleUnload(static_cast<CUmodule>(module)));
}

/// ptr @mgpuModuleGetFunction(ptr module, ptr name)
NORMLIR_RUNTIME_EXPORT void *mgpuModuleGetFunction(void *module,
                                                   const char *name) {
  const Driver *d = activateOrRecord();
  if (!d)
    return nullptr;
  llvm::StringRef kernel = name ? name : "<null>";
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

namespace {
/// Launch geometry, checked and narrowed to the driver's unsigned ints.
struct LaunchDims {
  unsigned grid[3], block[3];
  unsigned smem;
};
} // namespace

/// The kernel's name for error messages.
static std::string kernelName(const Driver &d, CUfunction function) {
  const char *name = nullptr;
  if (d.cuFuncGetName && d.cuFuncGetName(&name, function) == CUDA_SUCCESS &&
      name)
    return std::string("'") + name + "'";
  return "at " + hex(reinterpret_cast<uintptr_t>(function));
}

/// Describes a failed launch: call, error, kernel and geometry.
static std::string describeLaunch(const Driver &d, llvm::StringRef call,
                                  CUresult r, CUfunction function,
                                  const LaunchDims &dims) {
  auto triple = [](const unsigned *v) {
    return std::to_string(v[0]) + "x" + std::to_string(v[1]) + "x" +
           std::to_string(v[2]);
  };
  return d.describe(call, r) + " (kernel " + kernelName(d, function) +
         ", grid " + triple(dims.grid) + ", block " + triple(dims.block) +
         ", " + std::to_string(dims.smem) + " bytes of dynamic shared memory)";
}

/// Common launch checks: runtime usable, no pending error, a function, valid
/// dimensions, enough dynamic shared memory allowed. Returns false if the
/// launch must not happen (an empty grid is not an error).
static bool prepareLaunch(const Driver &d, llvm::StringRef caller,
                          CUfunction function, const intptr_t grid[3],
                          const intptr_t block[3], int32_t smem,
                          LaunchDims &dims) {
  if (threadState.pendingError)
    return false;
  if (!function) {
    recordError(caller + ": no kernel function (its module did not load or "
                         "the kernel was not found)");
    return false;
  }
  constexpr intptr_t maxDim = std::numeric_limits<unsigned>::max();
  for (int i = 0; i < 3; ++i) {
    if (grid[i] < 0 || grid[i] > maxDim || block[i] <= 0 || block[i] > maxDim) {
      recordError(caller + ": invalid launch dimensions: grid " +
                  llvm::Twine(grid[0]) + "x" + llvm::Twine(grid[1]) + "x" +
                  llvm::Twine(grid[2]) + ", block " + llvm::Twine(block[0]) +
                  "x" + llvm::Twine(block[1]) + "x" + llvm::Twine(block[2]));
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
NORMLIR_RUNTIME_EXPORT void
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
NORMLIR_RUNTIME_EXPORT void
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
                  llvm::Twine(clusterX) + "x" + llvm::Twine(clusterY) + "x" +
                  llvm::Twine(clusterZ));
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
                " with clusters of " + std::to_string(clusterX) + "x" +
                std::to_string(clusterY) + "x" + std::to_string(clusterZ));
}

/// void @mgpuSetDefaultDevice(i32)
NORMLIR_RUNTIME_EXPORT void mgpuSetDefaultDevice(int32_t device) {
  const Driver *d = activateOrRecord();
  if (!d || device == d->ordinal)
    return;
  recordError("mgpuSetDefaultDevice: device " + llvm::Twine(device) +
              " requested, but the runtime uses device " +
              llvm::Twine(d->ordinal) + " (set NORMLIR_CUDA_DEVICE)");
}

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

llvm::Error cuda::initialize() {
  const Driver &d = getDriver();
  if (!d.error.empty())
    return makeError(d.error);
  return llvm::Error::success();
}

std::string DeviceInfo::chip() const {
  return "sm_" + std::to_string(major) + std::to_string(minor);
}

llvm::Expected<DeviceInfo> cuda::getDeviceInfo() {
  if (llvm::Error err = initialize())
    return std::move(err);
  return getDriver().info;
}

llvm::Expected<DeviceBuffer> DeviceBuffer::allocate(size_t bytes) {
  auto d = activate();
  if (!d)
    return d.takeError();
  if (bytes == 0)
    return DeviceBuffer();
  CUdeviceptr ptr = 0;
  if (CUresult r = (*d)->cuMemAlloc(&ptr, bytes))
    return makeError(
        "cannot allocate " + llvm::Twine(bytes) +
        " bytes of device memory: " + (*d)->describe("cuMemAlloc", r));
  return DeviceBuffer(fromDevicePtr(ptr), bytes);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer &&other) noexcept
    : ptr(other.ptr), bytes(other.bytes) {
  other.ptr = nullptr;
  other.bytes = 0;
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) noexcept {
  if (this != &other) {
    reset();
    ptr = other.ptr;
    bytes = other.bytes;
    other.ptr = nullptr;
    other.bytes = 0;
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() { reset(); }

void DeviceBuffer::reset() {
  if (ptr) {
    // cuMemFree waits for the device work that may still use the buffer.
    if (auto d = activate())
      (void)(*d)->cuMemFree(toDevicePtr(ptr));
    else
      llvm::consumeError(d.takeError());
  }
  ptr = nullptr;
  bytes = 0;
}

/// Copies on the calling thread's runtime stream and waits for the copy, so
/// that it is ordered with the work queued there (a plain cuMemcpyHtoD runs on
/// the legacy stream, which the non-blocking runtime stream does not wait for).
static llvm::Error copyOnStream(void *dst, const void *src, size_t bytes,
                                llvm::StringRef what) {
  if (bytes == 0)
    return llvm::Error::success();
  auto d = activate();
  if (!d)
    return d.takeError();
  auto stream = getStream(**d);
  if (!stream)
    return stream.takeError();
  if (CUresult r = (*d)->cuMemcpyAsync(toDevicePtr(dst), toDevicePtr(src),
                                       bytes, *stream))
    return makeError(what + ": " + (*d)->describe("cuMemcpyAsync", r));
  if (CUresult r = (*d)->cuStreamSynchronize(*stream))
    return makeError(what + ": " + (*d)->describe("cuStreamSynchronize", r));
  return llvm::Error::success();
}

llvm::Error DeviceBuffer::copyFromHost(const void *src, size_t count) {
  if (count > bytes)
    return makeError("cannot copy " + llvm::Twine(count) +
                     " bytes into a device buffer of " + llvm::Twine(bytes) +
                     " bytes");
  return copyOnStream(ptr, src, count, "copy to the device");
}

llvm::Error DeviceBuffer::copyToHost(void *dst, size_t count) const {
  if (count > bytes)
    return makeError("cannot copy " + llvm::Twine(count) +
                     " bytes out of a device buffer of " + llvm::Twine(bytes) +
                     " bytes");
  return copyOnStream(dst, ptr, count, "copy from the device");
}

llvm::Error cuda::checkDeviceBuffer(const void *ptr, size_t bytes) {
  if (bytes == 0)
    return llvm::Error::success();
  auto driver = activate();
  if (!driver)
    return driver.takeError();
  const Driver &d = **driver;
  CUdeviceptr address = toDevicePtr(ptr);
  std::string name =
      "buffer " + hex(address) + " (" + std::to_string(bytes) + " bytes)";

  unsigned memoryType = 0;
  if (CUresult r = d.cuPointerGetAttribute(
          &memoryType, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, address))
    return makeError(name + " is not device memory (" +
                     d.describe("cuPointerGetAttribute", r) + ")");
  if (memoryType != CU_MEMORYTYPE_DEVICE) {
    const char *kind = memoryType == CU_MEMORYTYPE_HOST      ? "host"
                       : memoryType == CU_MEMORYTYPE_ARRAY   ? "array"
                       : memoryType == CU_MEMORYTYPE_UNIFIED ? "unified"
                                                             : "unknown";
    return makeError(name + " is not device memory (it is " + kind +
                     " memory)");
  }

  // Allocations from memory pools report no context: check the device then.
  CUcontext context = nullptr;
  if (CUresult r = d.cuPointerGetAttribute(
          &context, CU_POINTER_ATTRIBUTE_CONTEXT, address))
    return makeError(name + ": " + d.describe("cuPointerGetAttribute", r));
  if (context && context != d.context)
    return makeError(name +
                     " belongs to another CUDA context than the "
                     "runtime's (the primary context of device " +
                     std::to_string(d.ordinal) + ")");
  if (!context) {
    int ordinal = -1;
    if (d.cuPointerGetAttribute(&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
                                address) == CUDA_SUCCESS &&
        ordinal != d.ordinal)
      return makeError(name + " is memory of device " +
                       std::to_string(ordinal) + ", but the runtime uses " +
                       "device " + std::to_string(d.ordinal));
  }

  CUdeviceptr start = 0;
  size_t size = 0;
  if (CUresult r = d.cuPointerGetAttribute(
          &start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, address))
    return makeError(name + ": " + d.describe("cuPointerGetAttribute", r));
  if (CUresult r = d.cuPointerGetAttribute(
          &size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, address))
    return makeError(name + ": " + d.describe("cuPointerGetAttribute", r));
  uint64_t end = address + bytes, allocationEnd = start + size;
  if (end < address || end > allocationEnd)
    return makeError(
        name + " extends " +
        std::to_string(end < address ? bytes : end - allocationEnd) +
        " bytes past its allocation (" + hex(start) + ", " +
        std::to_string(size) + " bytes)");

  if (address % 16 != 0)
    return makeError(name + " is not 16-byte aligned");
  return llvm::Error::success();
}

llvm::Error cuda::synchronize() {
  auto d = activate();
  if (!d)
    return d.takeError();
  if (!threadState.stream)
    return llvm::Error::success();
  if (CUresult r = (*d)->cuStreamSynchronize(threadState.stream))
    return makeError((*d)->describe("cuStreamSynchronize", r));
  return llvm::Error::success();
}

void cuda::setDeferredSynchronization(bool on) {
  threadState.deferredSync = on;
}

llvm::Expected<double>
cuda::timeOnStream(llvm::function_ref<llvm::Error()> body) {
  auto driver = activate();
  if (!driver)
    return driver.takeError();
  const Driver &d = **driver;
  auto stream = getStream(d);
  if (!stream)
    return stream.takeError();

  struct Events {
    const Driver &d;
    CUevent start = nullptr, stop = nullptr;
    ~Events() {
      if (start)
        (void)d.cuEventDestroy(start);
      if (stop)
        (void)d.cuEventDestroy(stop);
    }
  } events{d};
  if (CUresult r = d.cuEventCreate(&events.start, CU_EVENT_DEFAULT))
    return makeError(d.describe("cuEventCreate", r));
  if (CUresult r = d.cuEventCreate(&events.stop, CU_EVENT_DEFAULT))
    return makeError(d.describe("cuEventCreate", r));

  if (CUresult r = d.cuEventRecord(events.start, *stream))
    return makeError(d.describe("cuEventRecord", r));
  if (llvm::Error err = body())
    return std::move(err);
  if (CUresult r = d.cuEventRecord(events.stop, *stream))
    return makeError(d.describe("cuEventRecord", r));
  if (CUresult r = d.cuEventSynchronize(events.stop))
    return makeError(d.describe("cuEventSynchronize", r));
  if (llvm::Error err = takeRuntimeError())
    return std::move(err);
  float milliseconds = 0;
  if (CUresult r =
          d.cuEventElapsedTime(&milliseconds, events.start, events.stop))
    return makeError(d.describe("cuEventElapsedTime", r));
  return static_cast<double>(milliseconds);
}

llvm::Error cuda::copyDeviceToDevice(void *dst, const void *src, size_t bytes) {
  if (bytes == 0)
    return llvm::Error::success();
  auto d = activate();
  if (!d)
    return d.takeError();
  auto stream = getStream(**d);
  if (!stream)
    return stream.takeError();
  if (CUresult r = (*d)->cuMemcpyDtoDAsync(toDevicePtr(dst), toDevicePtr(src),
                                           bytes, *stream))
    return makeError((*d)->describe("cuMemcpyDtoDAsync", r));
  if (!threadState.deferredSync)
    if (CUresult r = (*d)->cuStreamSynchronize(*stream))
      return makeError((*d)->describe("cuStreamSynchronize", r));
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Entry-point support (see Compiler.h)
//===----------------------------------------------------------------------===//

/// Runs `init` (a module's GPU module loads) once per `guard` (0: not run,
/// 1: running, 2: done), whatever the number of calling threads.
NORMLIR_RUNTIME_EXPORT void normlirRuntimeCallOnce(int64_t *guard,
                                                   void (*init)()) {
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

/// 1 when the calling thread has a pending runtime error, else 0.
NORMLIR_RUNTIME_EXPORT int32_t normlirRuntimeHasError() {
  return threadState.pendingError ? 1 : 0;
}

/// The calling thread's pending error (cleared), or null; the text stays
/// valid until the thread's next call.
NORMLIR_RUNTIME_EXPORT const char *normlirRuntimeGetLastError() {
  static thread_local std::string last;
  llvm::Error err = takeRuntimeError();
  if (!err)
    return nullptr;
  last = llvm::toString(std::move(err));
  return last.c_str();
}

std::vector<std::pair<std::string, void *>> cuda::getRuntimeSymbols() {
  auto symbol = [](const char *name, auto *fn) {
    return std::pair<std::string, void *>(name, reinterpret_cast<void *>(fn));
  };
  return {
      symbol("mgpuStreamCreate", &mgpuStreamCreate),
      symbol("mgpuStreamDestroy", &mgpuStreamDestroy),
      symbol("mgpuStreamSynchronize", &mgpuStreamSynchronize),
      symbol("mgpuStreamWaitEvent", &mgpuStreamWaitEvent),
      symbol("mgpuEventCreate", &mgpuEventCreate),
      symbol("mgpuEventDestroy", &mgpuEventDestroy),
      symbol("mgpuEventSynchronize", &mgpuEventSynchronize),
      symbol("mgpuEventRecord", &mgpuEventRecord),
      symbol("mgpuMemAlloc", &mgpuMemAlloc),
      symbol("mgpuMemFree", &mgpuMemFree),
      symbol("mgpuMemcpy", &mgpuMemcpy),
      symbol("mgpuMemset32", &mgpuMemset32),
      symbol("mgpuMemset16", &mgpuMemset16),
      symbol("mgpuModuleLoad", &mgpuModuleLoad),
      symbol("mgpuModuleLoadJIT", &mgpuModuleLoadJIT),
      symbol("mgpuModuleUnload", &mgpuModuleUnload),
      symbol("mgpuModuleGetFunction", &mgpuModuleGetFunction),
      symbol("mgpuLaunchKernel", &mgpuLaunchKernel),
      symbol("mgpuLaunchClusterKernel", &mgpuLaunchClusterKernel),
      symbol("mgpuSetDefaultDevice", &mgpuSetDefaultDevice),
      symbol("normlirRuntimeCallOnce", &normlirRuntimeCallOnce),
      symbol("normlirRuntimeHasError", &normlirRuntimeHasError),
      symbol("normlirRuntimeGetLastError", &normlirRuntimeGetLastError),
  };
}

llvm::Error cuda::takeRuntimeError() {
  std::string *message = threadState.pendingError;
  if (!message)
    return llvm::Error::success();
  threadState.pendingError = nullptr;
  llvm::Error err = makeError(*message);
  delete message;
  return err;
}
