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
  return 0;
}
