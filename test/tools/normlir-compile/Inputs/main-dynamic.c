// Calls the dynamically shaped functions of dynamic.mlir through the
// generated header: many sizes against a double-precision reference, then
// sizes that do not agree, which must return an error and its message.
#include "dyn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static float frand(unsigned *state) {
  *state = *state * 1664525u + 1013904223u;
  return (float)(*state >> 8) / (float)(1u << 24) * 4.0f - 1.0f;
}

int main(void) {
  unsigned state = 1;
  float w[64], b[64];
  for (int i = 0; i < 64; ++i) {
    w[i] = frand(&state);
    b[i] = frand(&state);
  }
  const int64_t rows[] = {0, 1, 2, 7, 33, 100, 1000};
  int ok = 1;
  for (unsigned k = 0; k < sizeof(rows) / sizeof(rows[0]); ++k) {
    int64_t n = rows[k];
    float *x = malloc(sizeof(float) * (size_t)(n * 64 + 1));
    float *y = malloc(sizeof(float) * (size_t)(n * 64 + 1));
    for (int64_t i = 0; i < n * 64; ++i)
      x[i] = frand(&state) * 3.0f + 5.0f;
    int32_t status = ln(x, w, b, y, n, n);
    if (status) {
      printf("ln(%lld rows) returned %d: %s\n", (long long)n, status,
             dyn_last_error());
      ok = 0;
    }
    for (int64_t r = 0; r < n; ++r) {
      double mean = 0, var = 0;
      for (int i = 0; i < 64; ++i)
        mean += x[r * 64 + i];
      mean /= 64;
      for (int i = 0; i < 64; ++i)
        var += (x[r * 64 + i] - mean) * (x[r * 64 + i] - mean);
      var /= 64;
      for (int i = 0; i < 64; ++i) {
        double want = (x[r * 64 + i] - mean) / sqrt(var + 1e-5) * w[i] + b[i];
        if (fabs(y[r * 64 + i] - want) > 1e-4)
          ok = 0;
      }
    }
    free(x);
    free(y);
  }
  printf("ln over 0..1000 rows matches: %s\n", ok ? "yes" : "no");

  float x[4 * 64], y[5 * 64];
  for (int i = 0; i < 4 * 64; ++i)
    x[i] = frand(&state);
  int32_t status = ln(x, w, b, y, 4, 5);
  printf("ln(4 rows into 5): status %d: %s\n", status, dyn_last_error());
  printf("then: %s\n", dyn_last_error() ? "not cleared" : "cleared");
  status = ln(x, w, b, y, -1, -1);
  printf("ln(-1 rows): status %d: %s\n", status, dyn_last_error());
  /* 2^56 rows of 64 floats: 2^64 bytes, which no buffer has; the entry
     point refuses them before the kernel's offsets wrap. */
  status = ln(x, w, b, y, (int64_t)1 << 56, (int64_t)1 << 56);
  printf("ln(2^56 rows): status %d: %s\n", status, dyn_last_error());

  float h[3 * 5 * 32], s[3 * 5 * 32], z[3 * 5 * 32];
  for (int i = 0; i < 3 * 5 * 32; ++i) {
    h[i] = frand(&state);
    s[i] = frand(&state);
  }
  status = res_rms(h, s, w, z, 3, 5, 3, 5, 3, 5);
  printf("res_rms(3x5): status %d\n", status);
  /* 2^62 x 0 rows hold no bytes: accepted, whatever the order. */
  status = res_rms(h, s, w, z, (int64_t)1 << 62, 0, (int64_t)1 << 62, 0,
                   (int64_t)1 << 62, 0);
  printf("res_rms(2^62x0): status %d\n", status);
  status = res_rms(h, s, w, z, 3, 5, 3, 4, 3, 5);
  printf("res_rms(3x5 + 3x4): status %d: %s\n", status, dyn_last_error());
  return 0;
}
