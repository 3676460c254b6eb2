//===- ThreadState.cpp - Per-thread runtime state and errors --------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "ThreadState.h"

using namespace normlir::runtime;

thread_local ThreadState normlir::runtime::threadState;

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

/// Registers the thread-exit cleanup of the calling thread (once). Only
/// threads that own a stream or an error pay for a destructor.
static void registerThreadCleanup() {
  static thread_local ThreadCleanup cleanup;
  (void)cleanup;
}

void normlir::runtime::recordError(const std::string &message) {
  if (threadState.pendingError)
    return;
  threadState.pendingError = new std::string(message);
  registerThreadCleanup();
}

bool normlir::runtime::takePendingError(std::string &message) {
  std::string *pending = threadState.pendingError;
  if (!pending)
    return false;
  threadState.pendingError = nullptr;
  message = std::move(*pending);
  delete pending;
  return true;
}

const Driver *normlir::runtime::activate(std::string &error) {
  const Driver &d = getDriver();
  if (!d.error.empty()) {
    error = d.error;
    return nullptr;
  }
  // Checked at every call, not once per thread: the caller (PyTorch's
  // torch.cuda.set_device, normlirCudaRestoreContext) may have made another
  // context current since.
  CUcontext current = nullptr;
  if (d.cuCtxGetCurrent(&current) != CUDA_SUCCESS || current != d.context) {
    if (CUresult r = d.cuCtxSetCurrent(d.context)) {
      error = d.describe("cuCtxSetCurrent", r);
      return nullptr;
    }
  }
  return &d;
}

const Driver *normlir::runtime::activateOrRecord() {
  std::string error;
  const Driver *d = activate(error);
  if (!d)
    recordError(error);
  return d;
}

CUstream normlir::runtime::getStream(const Driver &d, std::string &error) {
  if (!threadState.stream) {
    CUstream stream = nullptr;
    if (CUresult r = d.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING)) {
      error = d.describe("cuStreamCreate", r);
      return nullptr;
    }
    threadState.stream = stream;
    registerThreadCleanup();
  }
  return threadState.stream;
}

bool normlir::runtime::failed(const Driver &d, const char *call,
                              CUresult result) {
  if (result == CUDA_SUCCESS)
    return false;
  recordError(d.describe(call, result));
  return true;
}
