//===- CudaDriver.h - The CUDA driver, loaded with dlopen -------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The runtime's view of the CUDA driver API. cuda.h is deliberately not
// included (no CUDA toolkit is needed to build NormLIR): the few types and
// enum values used are declared here, with cuda.h's values, and the entry
// points are those of CudaDriverSymbols.def, resolved with dlsym.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_LIB_RUNTIME_CUDADRIVER_H
#define NORMLIR_LIB_RUNTIME_CUDADRIVER_H

#include "normlir/Runtime/CudaRuntime.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace normlir {
namespace runtime {

//===----------------------------------------------------------------------===//
// CUDA driver API declarations (values as in cuda.h)
//===----------------------------------------------------------------------===//

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

//===----------------------------------------------------------------------===//
// The loaded driver
//===----------------------------------------------------------------------===//

/// The loaded driver: entry points, device and primary context. Immutable
/// once loaded; `error` is non-empty if loading failed.
struct Driver {
  std::string error;

  int ordinal = 0;
  /// Devices present.
  int deviceCount = 0;
  /// Why the runtime uses that device, for error messages
  /// ("NORMLIR_CUDA_DEVICE", "the first device used").
  std::string ordinalSource;
  CUdevice device = 0;
  CUcontext context = nullptr;
  normlirCudaDeviceInfo info = {};
  /// Whether stream-ordered allocation (cuMemAllocAsync) is used.
  bool memoryPools = false;

  /// The entry points of CudaDriverSymbols.def; an optional one is null when
  /// the driver lacks it.
#define NORMLIR_CUDA_REQUIRED(name, symbol, ...)                               \
  CUresult (*name)(__VA_ARGS__) = nullptr;
#include "CudaDriverSymbols.def"

  /// "CUDA_ERROR_INVALID_VALUE (invalid argument)".
  std::string describe(CUresult result) const;
  /// "cuLaunchKernel: CUDA_ERROR_INVALID_VALUE (invalid argument)".
  std::string describe(const std::string &call, CUresult result) const;
  /// The NVPTX target chip of the device, e.g. "sm_90".
  std::string chip() const;
};

/// The process's driver, loaded on first use (thread-safe) and never freed;
/// a failure to load is kept in its `error`.
const Driver &getDriver();

/// Asks for device `ordinal` when the driver is loaded: honoured unless
/// NORMLIR_CUDA_DEVICE is set or the driver is already loaded (the first
/// request wins). Returns the loaded driver.
const Driver &getDriverRequesting(int ordinal);

/// "0x" and the lower-case hexadecimal digits of `value`.
std::string hex(uint64_t value);

inline CUdeviceptr toDevicePtr(const void *ptr) {
  return static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(ptr));
}

inline void *fromDevicePtr(CUdeviceptr ptr) {
  return reinterpret_cast<void *>(static_cast<uintptr_t>(ptr));
}

} // namespace runtime
} // namespace normlir

#endif // NORMLIR_LIB_RUNTIME_CUDADRIVER_H
