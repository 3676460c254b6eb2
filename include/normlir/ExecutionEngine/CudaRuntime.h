//===- CudaRuntime.h - NormLIR CUDA runtime ---------------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The C++ API of the CUDA runtime behind NormLIR's GPU path, over the C API
// of libNormLIRRuntime.so (normlir/Runtime/CudaRuntime.h), which holds all
// driver state. The runtime loads the CUDA driver (libcuda.so.1) with dlopen
// at first use, so NormLIR has no link-time CUDA dependency and works, minus
// the GPU path, on machines without a driver: every entry point then returns
// a clear llvm::Error instead of failing to load or aborting.
//
// It provides
//  - the mgpu* functions that MLIR's gpu-to-llvm lowering makes host code call
//    (getRuntimeSymbols(), for the JIT to define). They run all work of a
//    thread on one persistent stream, "the runtime stream", and record
//    failures in a per-thread slot read by takeRuntimeError();
//  - device buffers, checks of caller-supplied device pointers, stream
//    synchronization and event timing for the C++ API and the benchmarks.
//
// All functions may be called from any thread; each thread gets the device's
// primary context made current and its own runtime stream.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_EXECUTIONENGINE_CUDARUNTIME_H
#define NORMLIR_EXECUTIONENGINE_CUDARUNTIME_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace normlir {
namespace cuda {

/// Loads the driver (dlopen "libcuda.so.1"), calls cuInit(0), picks the device
/// named by the NORMLIR_CUDA_DEVICE environment variable (else the first
/// selectDevice's, else 0) and retains its primary context. Thread-safe and
/// idempotent: the first call does the work, a failure is cached and returned
/// again by every later call. Errors read, e.g., "no CUDA driver: cannot load
/// libcuda.so.1 (...)", "CUDA driver has no usable GPU: cuInit:
/// CUDA_ERROR_NO_DEVICE (...)" or "device 3 requested by NORMLIR_CUDA_DEVICE,
/// but only 1 present".
llvm::Error initialize();

/// Asks that the runtime run on device `ordinal` (see
/// normlirCudaSelectDevice): the first request before the runtime
/// initializes picks its device unless NORMLIR_CUDA_DEVICE is set; an error
/// names the device in use when it is another.
llvm::Error selectDevice(int ordinal);

/// What the runtime's device is.
struct DeviceInfo {
  /// Device ordinal (see initialize()).
  int ordinal = 0;
  /// Marketing name, e.g. "NVIDIA H100 80GB HBM3".
  std::string name;
  /// Compute capability.
  int major = 0, minor = 0;
  /// Number of streaming multiprocessors.
  int multiprocessors = 0;
  /// Total device memory in bytes.
  size_t totalMemory = 0;
  /// Driver API version, e.g. 12080 for CUDA 12.8.
  int driverVersion = 0;

  /// The NVPTX target chip, e.g. "sm_90".
  std::string chip() const;
};

/// The runtime's device (initializes the runtime).
llvm::Expected<DeviceInfo> getDeviceInfo();

/// RAII device allocation (cuMemAlloc) on the runtime's device; movable, not
/// copyable. Copies run on the calling thread's runtime stream, so they are
/// ordered after the work already queued there, and wait for completion.
class DeviceBuffer {
public:
  /// An empty buffer: data() is null, size() is 0.
  DeviceBuffer() = default;
  /// Allocates `bytes` bytes (no allocation for 0 bytes).
  static llvm::Expected<DeviceBuffer> allocate(size_t bytes);

  DeviceBuffer(DeviceBuffer &&other) noexcept;
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  ~DeviceBuffer();

  /// Copies `bytes` bytes from host memory to the start of the buffer.
  llvm::Error copyFromHost(const void *src, size_t bytes);
  /// Copies the first `bytes` bytes of the buffer to host memory.
  llvm::Error copyToHost(void *dst, size_t bytes) const;

  /// The device address (null for an empty buffer).
  void *data() const { return ptr; }
  /// The size in bytes.
  size_t size() const { return bytes; }

private:
  DeviceBuffer(void *ptr, size_t bytes) : ptr(ptr), bytes(bytes) {}
  void reset();

  void *ptr = nullptr;
  size_t bytes = 0;
};

/// Checks that [ptr, ptr + bytes) lies inside one device allocation of the
/// runtime's context and that ptr is 16-byte aligned. The error names what is
/// wrong: "... is not device memory", "... extends N bytes past its
/// allocation", "... is not 16-byte aligned". bytes == 0 is always fine.
llvm::Error checkDeviceBuffer(const void *ptr, size_t bytes);

/// Waits for all work queued on the calling thread's runtime stream; reports
/// errors of asynchronous work (e.g. a kernel's illegal memory access).
llvm::Error synchronize();

/// When on, the final stream synchronization of the lowered host code
/// (mgpuStreamSynchronize on the runtime stream) is skipped on the calling
/// thread, so that back-to-back calls queue on the GPU (benchmarks);
/// synchronize() then waits. Default off.
void setDeferredSynchronization(bool on);

/// Times `body`, which enqueues work on the calling thread's runtime stream
/// (e.g. N JIT calls), with CUDA events recorded on that stream before and
/// after it; waits for the end event and returns the elapsed milliseconds.
/// Returns the error of `body`, or the pending runtime error (see
/// takeRuntimeError()) if `body` left one.
llvm::Expected<double> timeOnStream(llvm::function_ref<llvm::Error()> body);

/// Device-to-device copy of `bytes` bytes on the calling thread's runtime
/// stream (for copy baselines). Like a JIT call, it waits for completion
/// unless deferred synchronization is on for this thread.
llvm::Error copyDeviceToDevice(void *dst, const void *src, size_t bytes);

/// The symbols lowered GPU host code calls (mgpuStreamCreate, mgpuMemAlloc,
/// mgpuLaunchKernel, ...): name and address, for the JIT to define in each
/// module. Does not load the driver.
std::vector<std::pair<std::string, void *>> getRuntimeSymbols();

/// Returns the first error that a runtime call from generated code hit on the
/// calling thread since the last call, and clears it (llvm::Error::success()
/// if none). While an error is pending, the thread's kernel launches, copies
/// and memsets are skipped.
llvm::Error takeRuntimeError();

} // namespace cuda
} // namespace normlir

#endif // NORMLIR_EXECUTIONENGINE_CUDARUNTIME_H
