/* A CUDA AOT library called on a machine without a GPU: the call must fail
   cleanly with the runtime's message, not crash. */
#include "norms.h"

#include <stdio.h>

int main(void) {
  int rc = ln(0, 0, 0, 0, 0, 0);
  const char *msg = norms_last_error();
  printf("ln returned %d: %s\n", rc, msg ? msg : "(no error)");
  return 0;
}
