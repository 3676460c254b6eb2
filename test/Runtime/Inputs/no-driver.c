// Uses libNormLIRRuntime.so alone, from C, on a machine without a usable
// GPU: the C API reports why, and a mgpu* call records the same reason as
// the thread's pending error.
#include "normlir/Runtime/CudaRuntime.h"

#include <stdio.h>

// MLIR's gpu-to-llvm ABI, defined by the runtime.
void *mgpuStreamCreate(void);

int main(void) {
  size_t count = 0;
  const normlirRuntimeSymbol *symbols = normlirCudaGetRuntimeSymbols(&count);
  printf("%zu symbols, %s first\n", count, symbols[0].name);

  if (normlirCudaInitialize() == 0) {
    printf("initialized\n");
    return 1;
  }
  printf("initialize: %s\n", normlirCudaGetErrorMessage());
  void *buffer = (void *)1;
  int status = normlirCudaAllocate(64, &buffer);
  printf("allocate: %d %s, %s\n", status, buffer ? "set" : "null",
         normlirCudaGetErrorMessage());

  printf("pending: %d\n", (int)normlirRuntimeHasError());
  void *stream = mgpuStreamCreate();
  printf("stream: %s, pending: %d\n", stream ? "set" : "null",
         (int)normlirRuntimeHasError());
  const char *error = normlirRuntimeGetLastError();
  printf("pending error: %s\n", error ? error : "(none)");
  printf("pending: %d\n", (int)normlirRuntimeHasError());

  // Devices, streams and contexts: each fails with the reason or does
  // nothing; no stream is left set.
  // (The status first: arguments are evaluated in no set order.)
  int st = normlirCudaSelectDevice(0);
  printf("select device: %d %s\n", st, normlirCudaGetErrorMessage());
  st = normlirCudaSelectDevice(-1);
  printf("select device -1: %d %s\n", st, normlirCudaGetErrorMessage());
  st = normlirCudaSetStream(NULL);
  printf("set stream: %d %s\n", st, normlirCudaGetErrorMessage());
  void *current = (void *)1;
  printf("stream set: %d\n", normlirCudaGetStream(&current));
  normlirCudaResetStream();
  void *context = normlirCudaSaveContext();
  normlirCudaRestoreContext(context);
  printf("context: %s\n", context ? "set" : "null");
  return 0;
}
