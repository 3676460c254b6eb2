//===- CudaApi.cpp - The runtime's C API for the compiler side ------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The normlirCuda* functions of normlir/Runtime/CudaRuntime.h: the device,
// buffers, pointer checks, synchronization and timing that the JIT and its
// C++ API (ExecutionEngine/CudaRuntime.h) build on. Errors are returned as a
// status, with the text in a per-thread slot, so that no C++ type crosses
// the library boundary.
//
//===----------------------------------------------------------------------===//

#include "ThreadState.h"

using namespace normlir::runtime;

/// The text of the calling thread's last failed normlirCuda* call.
static thread_local std::string apiError;

/// Sets the calling thread's API error; returns the failure status.
static int fail(std::string message) {
  apiError = std::move(message);
  return 1;
}

/// activate() for the C API: null with the API error set on failure.
static const Driver *activateOrFail() {
  std::string error;
  const Driver *d = activate(error);
  if (!d)
    fail(std::move(error));
  return d;
}

const char *normlirCudaGetErrorMessage(void) { return apiError.c_str(); }

int normlirCudaInitialize(void) {
  apiError.clear();
  const Driver &d = getDriver();
  if (!d.error.empty())
    return fail(d.error);
  return 0;
}

int normlirCudaSelectDevice(int ordinal) {
  apiError.clear();
  if (ordinal < 0)
    return fail("CUDA device " + std::to_string(ordinal) +
                " is no device ordinal");
  const Driver &d = getDriverRequesting(ordinal);
  if (!d.error.empty())
    return fail(d.error);
  if (ordinal >= d.deviceCount)
    return fail("no CUDA device " + std::to_string(ordinal) + ": only " +
                std::to_string(d.deviceCount) + " present");
  if (d.ordinal != ordinal)
    return fail("NormLIR runs on CUDA device " + std::to_string(d.ordinal) +
                " in this process (" + d.ordinalSource + "), not on device " +
                std::to_string(ordinal) +
                ": a process runs NormLIR on one GPU");
  return 0;
}

int normlirCudaSetStream(void *stream) {
  apiError.clear();
  const Driver *d = activateOrFail();
  if (!d)
    return 1;
  CUstream s = stream ? static_cast<CUstream>(stream) : kLegacyStream;
  // The legacy stream is the current context's, which activate() made the
  // runtime's.
  CUcontext context = nullptr;
  if (CUresult r = d->cuStreamGetCtx(s, &context))
    return fail("stream " + hex(reinterpret_cast<uintptr_t>(stream)) +
                " is no CUDA stream (" + d->describe("cuStreamGetCtx", r) +
                ")");
  if (context != d->context)
    return fail("stream " + hex(reinterpret_cast<uintptr_t>(stream)) +
                " belongs to another CUDA context than the runtime's (the "
                "primary context of device " +
                std::to_string(d->ordinal) + ")");
  threadState.callerStream = s;
  return 0;
}

void normlirCudaResetStream(void) { threadState.callerStream = nullptr; }

int normlirCudaGetStream(void **stream) {
  CUstream s = threadState.callerStream;
  *stream = s == kLegacyStream ? nullptr : s;
  return s ? 1 : 0;
}

void *normlirCudaSaveContext(void) {
  const Driver &d = getDriver();
  CUcontext current = nullptr;
  if (!d.error.empty() || d.cuCtxGetCurrent(&current) != CUDA_SUCCESS)
    return nullptr;
  return current;
}

void normlirCudaRestoreContext(void *context) {
  const Driver &d = getDriver();
  if (!d.error.empty())
    return;
  CUcontext current = nullptr;
  if (d.cuCtxGetCurrent(&current) == CUDA_SUCCESS && current != context)
    (void)d.cuCtxSetCurrent(static_cast<CUcontext>(context));
}

int normlirCudaGetDeviceInfo(normlirCudaDeviceInfo *info) {
  if (int status = normlirCudaInitialize())
    return status;
  *info = getDriver().info;
  return 0;
}

int normlirCudaAllocate(size_t bytes, void **ptr) {
  apiError.clear();
  *ptr = nullptr;
  const Driver *d = activateOrFail();
  if (!d)
    return 1;
  if (bytes == 0)
    return 0;
  CUdeviceptr address = 0;
  if (CUresult r = d->cuMemAlloc(&address, bytes))
    return fail("cannot allocate " + std::to_string(bytes) +
                " bytes of device memory: " + d->describe("cuMemAlloc", r));
  *ptr = fromDevicePtr(address);
  return 0;
}

void normlirCudaFree(void *ptr) {
  if (!ptr)
    return;
  // apiError is left alone: a buffer freed by a static destructor runs after
  // the thread's thread_local objects are gone. cuMemFree waits for the
  // device work that may still use the buffer.
  std::string error;
  if (const Driver *d = activate(error))
    (void)d->cuMemFree(toDevicePtr(ptr));
}

/// Copies on the calling thread's runtime stream and waits for the copy, so
/// that it is ordered with the work queued there (a plain cuMemcpyHtoD runs on
/// the legacy stream, which the non-blocking runtime stream does not wait for).
static int copyOnStream(void *dst, const void *src, size_t bytes,
                        const char *what) {
  apiError.clear();
  if (bytes == 0)
    return 0;
  const Driver *d = activateOrFail();
  if (!d)
    return 1;
  std::string error;
  CUstream stream = getStream(*d, error);
  if (!stream)
    return fail(std::move(error));
  if (CUresult r =
          d->cuMemcpyAsync(toDevicePtr(dst), toDevicePtr(src), bytes, stream))
    return fail(std::string(what) + ": " + d->describe("cuMemcpyAsync", r));
  if (CUresult r = d->cuStreamSynchronize(stream))
    return fail(std::string(what) + ": " +
                d->describe("cuStreamSynchronize", r));
  return 0;
}

int normlirCudaCopyToDevice(void *dst, const void *src, size_t bytes) {
  return copyOnStream(dst, src, bytes, "copy to the device");
}

int normlirCudaCopyToHost(void *dst, const void *src, size_t bytes) {
  return copyOnStream(dst, src, bytes, "copy from the device");
}

int normlirCudaCopyDeviceToDevice(void *dst, const void *src, size_t bytes) {
  apiError.clear();
  if (bytes == 0)
    return 0;
  const Driver *d = activateOrFail();
  if (!d)
    return 1;
  std::string error;
  CUstream stream = getStream(*d, error);
  if (!stream)
    return fail(std::move(error));
  if (CUresult r = d->cuMemcpyDtoDAsync(toDevicePtr(dst), toDevicePtr(src),
                                        bytes, stream))
    return fail(d->describe("cuMemcpyDtoDAsync", r));
  if (!threadState.deferredSync)
    if (CUresult r = d->cuStreamSynchronize(stream))
      return fail(d->describe("cuStreamSynchronize", r));
  return 0;
}

int normlirCudaCheckDeviceBuffer(const void *ptr, size_t bytes) {
  apiError.clear();
  if (bytes == 0)
    return 0;
  const Driver *driver = activateOrFail();
  if (!driver)
    return 1;
  const Driver &d = *driver;
  CUdeviceptr address = toDevicePtr(ptr);
  std::string name =
      "buffer " + hex(address) + " (" + std::to_string(bytes) + " bytes)";

  unsigned memoryType = 0;
  if (CUresult r = d.cuPointerGetAttribute(
          &memoryType, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, address))
    return fail(name + " is not device memory (" +
                d.describe("cuPointerGetAttribute", r) + ")");
  if (memoryType != CU_MEMORYTYPE_DEVICE) {
    const char *kind = memoryType == CU_MEMORYTYPE_HOST      ? "host"
                       : memoryType == CU_MEMORYTYPE_ARRAY   ? "array"
                       : memoryType == CU_MEMORYTYPE_UNIFIED ? "unified"
                                                             : "unknown";
    return fail(name + " is not device memory (it is " + kind + " memory)");
  }

  // Allocations from memory pools (PyTorch's cudaMallocAsync backend too)
  // report no context: check the device then.
  CUcontext context = nullptr;
  if (CUresult r = d.cuPointerGetAttribute(
          &context, CU_POINTER_ATTRIBUTE_CONTEXT, address))
    return fail(name + ": " + d.describe("cuPointerGetAttribute", r));
  if (context && context != d.context)
    return fail(name +
                " belongs to another CUDA context than the runtime's (the "
                "primary context of device " +
                std::to_string(d.ordinal) + ")");
  if (!context) {
    int ordinal = -1;
    if (d.cuPointerGetAttribute(&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
                                address) == CUDA_SUCCESS &&
        ordinal != d.ordinal)
      return fail(name + " is memory of device " + std::to_string(ordinal) +
                  ", but the runtime uses device " + std::to_string(d.ordinal));
  }

  CUdeviceptr start = 0;
  size_t size = 0;
  if (CUresult r = d.cuPointerGetAttribute(
          &start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, address))
    return fail(name + ": " + d.describe("cuPointerGetAttribute", r));
  if (CUresult r = d.cuPointerGetAttribute(
          &size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, address))
    return fail(name + ": " + d.describe("cuPointerGetAttribute", r));
  uint64_t end = address + bytes, allocationEnd = start + size;
  if (end < address || end > allocationEnd)
    return fail(name + " extends " +
                std::to_string(end < address ? bytes : end - allocationEnd) +
                " bytes past its allocation (" + hex(start) + ", " +
                std::to_string(size) + " bytes)");

  if (address % 16 != 0)
    return fail(name + " is not 16-byte aligned");
  return 0;
}

int normlirCudaSynchronize(void) {
  apiError.clear();
  const Driver *d = activateOrFail();
  if (!d)
    return 1;
  if (!threadState.stream)
    return 0;
  if (CUresult r = d->cuStreamSynchronize(threadState.stream))
    return fail(d->describe("cuStreamSynchronize", r));
  return 0;
}

void normlirCudaSetDeferredSynchronization(int on) {
  threadState.deferredSync = on != 0;
}

int normlirCudaTimeOnStream(int (*body)(void *context), void *context,
                            double *milliseconds) {
  apiError.clear();
  const Driver *driver = activateOrFail();
  if (!driver)
    return 1;
  const Driver &d = *driver;
  std::string error;
  CUstream stream = getStream(d, error);
  if (!stream)
    return fail(std::move(error));

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
    return fail(d.describe("cuEventCreate", r));
  if (CUresult r = d.cuEventCreate(&events.stop, CU_EVENT_DEFAULT))
    return fail(d.describe("cuEventCreate", r));

  if (CUresult r = d.cuEventRecord(events.start, stream))
    return fail(d.describe("cuEventRecord", r));
  if (int status = body(context))
    return status;
  if (CUresult r = d.cuEventRecord(events.stop, stream))
    return fail(d.describe("cuEventRecord", r));
  if (CUresult r = d.cuEventSynchronize(events.stop))
    return fail(d.describe("cuEventSynchronize", r));
  if (takePendingError(error))
    return fail(std::move(error));
  float elapsed = 0;
  if (CUresult r = d.cuEventElapsedTime(&elapsed, events.start, events.stop))
    return fail(d.describe("cuEventElapsedTime", r));
  *milliseconds = static_cast<double>(elapsed);
  return 0;
}
