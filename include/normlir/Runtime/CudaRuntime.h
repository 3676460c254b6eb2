//===- CudaRuntime.h - NormLIR CUDA runtime, C ABI ----------------*- C -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The C interface of libNormLIRRuntime.so, the CUDA runtime of the JIT and
// of ahead-of-time compiled CUDA libraries. The library is plain C++ with no
// LLVM or MLIR dependency; it loads the CUDA driver (libcuda.so.1) with
// dlopen at first use, so it loads, and reports "no CUDA driver" cleanly, on
// machines without one.
//
// Besides what is declared here it defines the mgpu* functions that MLIR's
// gpu-to-llvm lowering makes host code call (normlirCudaGetRuntimeSymbols()
// lists them). Those run all work of a thread on one persistent
// non-blocking stream, "the runtime stream" (or on the caller's stream,
// normlirCudaSetStream), and record their first failure
// as the thread's pending error (normlirRuntimeGetLastError()); while one is
// pending, the thread's kernel launches, copies and memsets are skipped.
//
// The normlirCuda* functions that return int return 0 on success; otherwise
// normlirCudaGetErrorMessage() says what failed, until the calling thread's
// next call of one of them. All functions may be called from any thread;
// each thread gets the device's primary context made current and its own
// runtime stream. The C++ API over this is
// normlir/ExecutionEngine/CudaRuntime.h.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_RUNTIME_CUDARUNTIME_H
#define NORMLIR_RUNTIME_CUDARUNTIME_H

#include <stddef.h>
#include <stdint.h>

// The library exports exactly the functions declared with this.
#define NORMLIR_RUNTIME_EXPORT __attribute__((visibility("default")))

#ifdef __cplusplus
extern "C" {
#endif

//===----------------------------------------------------------------------===//
// Device, buffers and streams (the JIT and its C++ API)
//===----------------------------------------------------------------------===//

/// The text of the calling thread's last failed normlirCuda* call; valid
/// until the thread's next normlirCuda* call ("" if none failed).
NORMLIR_RUNTIME_EXPORT const char *normlirCudaGetErrorMessage(void);

/// Loads the driver (dlopen "libcuda.so.1"), calls cuInit(0), picks the device
/// named by the NORMLIR_CUDA_DEVICE environment variable (else the one
/// normlirCudaSelectDevice asked for first, else 0) and retains its primary
/// context. Thread-safe and idempotent: the first call
/// does the work, a failure is kept and reported again by every later call.
NORMLIR_RUNTIME_EXPORT int normlirCudaInitialize(void);

/// Asks that the runtime run on device `ordinal` (a PyTorch tensor's): the
/// first such request before the runtime initializes picks its device,
/// unless NORMLIR_CUDA_DEVICE is set (compiling for the device's own chip
/// initializes it too). Fails, naming the device in use, when the runtime
/// runs on another device (a process runs NormLIR on one GPU), and on an
/// ordinal past the devices present (without picking one).
NORMLIR_RUNTIME_EXPORT int normlirCudaSelectDevice(int ordinal);

/// Queues the calling thread's later work of compiled functions (JIT or
/// ahead of time) on `stream`, a CUstream of the runtime's device's primary
/// context (PyTorch's current stream; NULL is CUDA's legacy default stream,
/// stream 0 of the runtime API), instead of the runtime stream, until
/// normlirCudaResetStream. A function then returns once its kernels are
/// queued, without waiting for them (so CUDA graph capture of the stream
/// records them): its results are ready for the stream's later work, and
/// for the host once the caller synchronizes the stream; a fault inside a
/// kernel is reported by the caller's later synchronization, as for its
/// own kernels. Fails on a stream of another context.
NORMLIR_RUNTIME_EXPORT int normlirCudaSetStream(void *stream);
/// Back to the runtime stream.
NORMLIR_RUNTIME_EXPORT void normlirCudaResetStream(void);
/// 1 and the calling thread's stream in `*stream` (NULL: the legacy default
/// stream) when normlirCudaSetStream set one, else 0 (the runtime stream).
NORMLIR_RUNTIME_EXPORT int normlirCudaGetStream(void **stream);

/// The calling thread's current CUDA context (null without a driver or
/// context), for normlirCudaRestoreContext: the runtime makes its own
/// current on the calling thread, which a caller using another device (its
/// runtime API's "current device") undoes after its calls.
NORMLIR_RUNTIME_EXPORT void *normlirCudaSaveContext(void);
/// Makes `context` (from normlirCudaSaveContext) current again; null leaves
/// the thread without a current context, as it was.
NORMLIR_RUNTIME_EXPORT void normlirCudaRestoreContext(void *context);

/// What the runtime's device is.
typedef struct normlirCudaDeviceInfo {
  /// Device ordinal (see normlirCudaInitialize).
  int ordinal;
  /// Marketing name, NUL-terminated, e.g. "NVIDIA H100 80GB HBM3".
  char name[256];
  /// Compute capability.
  int major, minor;
  /// Number of streaming multiprocessors.
  int multiprocessors;
  /// Total device memory in bytes.
  size_t totalMemory;
  /// Driver API version, e.g. 12080 for CUDA 12.8.
  int driverVersion;
} normlirCudaDeviceInfo;

/// Fills `info` with the runtime's device (initializes the runtime).
NORMLIR_RUNTIME_EXPORT int
normlirCudaGetDeviceInfo(normlirCudaDeviceInfo *info);

/// Allocates `bytes` bytes of device memory (cuMemAlloc) into `*ptr`; null
/// for 0 bytes.
NORMLIR_RUNTIME_EXPORT int normlirCudaAllocate(size_t bytes, void **ptr);
/// Frees what normlirCudaAllocate returned, after the device work that may
/// still use it (cuMemFree); null is ignored, failures are not reported.
NORMLIR_RUNTIME_EXPORT void normlirCudaFree(void *ptr);

/// Copies `bytes` bytes on the calling thread's runtime stream, so that the
/// copy is ordered after the work queued there, and waits for it.
NORMLIR_RUNTIME_EXPORT int normlirCudaCopyToDevice(void *dst, const void *src,
                                                   size_t bytes);
NORMLIR_RUNTIME_EXPORT int normlirCudaCopyToHost(void *dst, const void *src,
                                                 size_t bytes);
/// Device-to-device copy on the calling thread's runtime stream; waits for
/// it unless deferred synchronization is on for the thread.
NORMLIR_RUNTIME_EXPORT int
normlirCudaCopyDeviceToDevice(void *dst, const void *src, size_t bytes);

/// Checks that [ptr, ptr + bytes) lies inside one device allocation of the
/// runtime's context and that ptr is 16-byte aligned (bytes == 0 passes).
NORMLIR_RUNTIME_EXPORT int normlirCudaCheckDeviceBuffer(const void *ptr,
                                                        size_t bytes);

/// Waits for all work queued on the calling thread's runtime stream.
NORMLIR_RUNTIME_EXPORT int normlirCudaSynchronize(void);

/// When `on`, mgpuStreamSynchronize on the calling thread's runtime stream
/// returns at once, so that back-to-back calls queue on the GPU; default off.
NORMLIR_RUNTIME_EXPORT void normlirCudaSetDeferredSynchronization(int on);

/// Records an event on the calling thread's runtime stream, runs
/// `body(context)` (which enqueues work there), records a second event,
/// waits for it and stores the elapsed milliseconds. A pending runtime error
/// left by `body` is taken and reported. When `body` returns nonzero, so does
/// this, without an error message of its own: the body reports its failure.
NORMLIR_RUNTIME_EXPORT int normlirCudaTimeOnStream(int (*body)(void *context),
                                                   void *context,
                                                   double *milliseconds);

/// A function of the runtime that lowered host code calls.
typedef struct normlirRuntimeSymbol {
  const char *name;
  void *address;
} normlirRuntimeSymbol;

/// The mgpu* and normlirRuntime* functions lowered host code calls, for a
/// JIT to define; `*count` entries. Does not load the driver.
NORMLIR_RUNTIME_EXPORT const normlirRuntimeSymbol *
normlirCudaGetRuntimeSymbols(size_t *count);

//===----------------------------------------------------------------------===//
// Entry-point support (called by compiled code, see ExecutionEngine/Compiler.h)
//===----------------------------------------------------------------------===//

/// Runs `init` (a module's GPU module loads) once per `guard` (0: not run,
/// 1: running, 2: done), whatever the number of calling threads.
NORMLIR_RUNTIME_EXPORT void normlirRuntimeCallOnce(int64_t *guard,
                                                   void (*init)(void));

/// 1 when the calling thread has a pending runtime error, else 0.
NORMLIR_RUNTIME_EXPORT int32_t normlirRuntimeHasError(void);

/// The calling thread's pending runtime error, which this clears, or null;
/// the text stays valid until the thread's next call.
NORMLIR_RUNTIME_EXPORT const char *normlirRuntimeGetLastError(void);

#ifdef __cplusplus
}
#endif

#endif // NORMLIR_RUNTIME_CUDARUNTIME_H
