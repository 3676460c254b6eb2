//===- ThreadState.h - Per-thread runtime state and errors ------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Each thread gets the primary context made current (again, after a caller
// made another one current) by every call, one persistent
// non-blocking stream (the "runtime stream", destroyed at thread exit), a
// deferred-synchronization flag and a slot for the first error hit by a
// mgpu* call (the pending error). The state is trivially destructible so
// that mgpu* calls from global destructors (module unloads) remain safe at
// exit.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_LIB_RUNTIME_THREADSTATE_H
#define NORMLIR_LIB_RUNTIME_THREADSTATE_H

#include "CudaDriver.h"

#include <string>

namespace normlir {
namespace runtime {

/// Trivially destructible, so usable until the very end of the thread.
struct ThreadState {
  /// normlirCudaSetDeferredSynchronization().
  bool deferredSync = false;
  /// The runtime stream (null until first use).
  CUstream stream = nullptr;
  /// The caller's stream (normlirCudaSetStream), which lowered code then
  /// uses instead of the runtime stream and never waits for; null when
  /// none is set (CUDA's legacy default stream is kLegacyStream here).
  CUstream callerStream = nullptr;
  /// The first error of a mgpu* call since it was last taken.
  std::string *pendingError = nullptr;
};

/// The calling thread's state.
extern thread_local ThreadState threadState;

/// Records `message` as the thread's pending error unless one is pending.
void recordError(const std::string &message);

/// Moves the thread's pending error into `message` and clears it; false if
/// there is none.
bool takePendingError(std::string &message);

/// CU_STREAM_LEGACY: CUDA's legacy default stream, the stream 0 (null) of
/// the runtime API and PyTorch's default stream.
inline CUstream const kLegacyStream = reinterpret_cast<CUstream>(0x1);

/// Returns the usable driver with its primary context current on the calling
/// thread, or null and the reason there is none in `error`.
const Driver *activate(std::string &error);

/// activate() for the mgpu* functions: records a failure, returns null.
const Driver *activateOrRecord();

/// The calling thread's runtime stream, created on first use; null and the
/// reason in `error` if it cannot be created.
CUstream getStream(const Driver &d, std::string &error);

/// Records `call` failing with `result` (if it failed); true if it did.
bool failed(const Driver &d, const char *call, CUresult result);

} // namespace runtime
} // namespace normlir

#endif // NORMLIR_LIB_RUNTIME_THREADSTATE_H
