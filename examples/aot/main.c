/* Calls a LayerNorm compiled ahead of time by normlir-compile.
 *
 * examples/aot/layer_norm.mlir declares @ln: torch.nn.LayerNorm([3, 4]) on an
 * 8x6x3x4 f32 input, returning the output and the per-row mean and rstd.
 * normlir-compile makes a library exporting `ln` as a plain C function and
 * the header "norms.h" declaring it; this program needs nothing else of
 * NormLIR: no JIT, no MLIR. It checks the three results against a
 * double-precision reference and exits 0 when they match, 1 otherwise.
 *
 *   P=/opt/normlir     # an install prefix: cmake --install build --prefix $P
 *   $P/bin/normlir-compile examples/aot/layer_norm.mlir -o libnorms.so
 * --header=norms.h cc examples/aot/main.c -I. -L. -lnorms -Wl,-rpath,$PWD -lm
 * -o ln-aot && ./ln-aot
 *
 * or, from an object file (then link LLVM's OpenMP runtime yourself):
 *   $P/bin/normlir-compile examples/aot/layer_norm.mlir -o norms.o   # +
 * norms.h
 *   cc examples/aot/main.c norms.o -I. -L/usr/lib/llvm-22/lib -lomp \
 *      -Wl,-rpath,/usr/lib/llvm-22/lib -lm -o ln-aot && ./ln-aot
 *
 * scripts/test-install.sh runs both.
 */

#include "norms.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>

enum { ROWS = 8 * 6, D = 3 * 4 }; /* 48 feature maps of 3x4 elements */
static const double EPS = 1e-5;   /* the spec's epsilon */

static float x[ROWS * D], w[D], b[D];
static float y[ROWS * D], mean[ROWS], rstd[ROWS];

/* |got - want| relative to max(1, |want|): absolute near 0, relative for
 * the large rstd of nearly constant rows; NaN is an infinite error. */
static double err(double got, double want) {
  if (isnan(got))
    return INFINITY;
  double scale = fabs(want) > 1.0 ? fabs(want) : 1.0;
  return fabs(got - want) / scale;
}

int main(void) {
  /* Deterministic inputs: a small LCG in [-2, 2), shifted per row, and
   * row 5 constant (the tutorial's case: y = bias there). */
  uint32_t s = 12345u;
  for (int r = 0; r < ROWS; ++r)
    for (int j = 0; j < D; ++j) {
      s = s * 1664525u + 1013904223u;
      double u = (double)(s >> 8) / 16777216.0;
      x[r * D + j] = r == 5 ? 6.0f : (float)(4.0 * u - 2.0 + 0.25 * (r % 7));
    }
  for (int j = 0; j < D; ++j) {
    w[j] = 1.0f + 0.125f * (float)j;
    b[j] = 0.0625f * (float)j - 0.5f;
  }

  /* inputs x, w, b; results y, mean, rstd: dense row-major, exactly the
   * static shapes of the spec. 0 is success. */
  int32_t rc = ln(x, w, b, y, mean, rstd);
  if (rc != 0) {
    fprintf(stderr, "ln returned %d\n", (int)rc);
    return 1;
  }

  double maxErr = 0.0;
  for (int r = 0; r < ROWS; ++r) {
    double m = 0.0, v = 0.0;
    for (int j = 0; j < D; ++j)
      m += x[r * D + j];
    m /= D;
    for (int j = 0; j < D; ++j)
      v += (x[r * D + j] - m) * (x[r * D + j] - m);
    v /= D; /* biased variance, as PyTorch */
    double rs = 1.0 / sqrt(v + EPS);
    double e = err(mean[r], m);
    if (err(rstd[r], rs) > e)
      e = err(rstd[r], rs);
    for (int j = 0; j < D; ++j) {
      double ref = (x[r * D + j] - m) * rs * w[j] + b[j];
      if (err(y[r * D + j], ref) > e)
        e = err(y[r * D + j], ref);
    }
    if (e > maxErr)
      maxErr = e;
  }

  printf("y[0, 0] = [%.6f %.6f %.6f %.6f ...]\n", y[0], y[1], y[2], y[3]);
  printf("mean[0..2] = %.6f %.6f %.6f, rstd[0..2] = %.6f %.6f %.6f\n", mean[0],
         mean[1], mean[2], rstd[0], rstd[1], rstd[2]);
  printf("y[0, 5] (constant map: = bias) = [%.6f %.6f %.6f %.6f ...]\n",
         y[5 * D], y[5 * D + 1], y[5 * D + 2], y[5 * D + 3]);
  if (!(maxErr < 1e-5)) {
    printf("FAIL: max error %.3g against the float64 reference\n", maxErr);
    return 1;
  }
  printf("ok: max error %.3g against the float64 reference\n", maxErr);
  return 0;
}
