/* LayerNorm through the NormLIR C API (C99).
 *
 * Builds torch.nn.LayerNorm([3, 4]) on an 8x6x3x4 f32 input (weight, bias,
 * and the saved mean/rstd) as a spec, JIT-compiles it for the host CPU,
 * runs it on caller-owned buffers and checks the three results against a
 * double-precision reference; then passes a buffer of the wrong shape and
 * checks that the call fails with INVALID_ARGUMENT, a message, and no
 * write. Exits 0 when everything holds, 1 otherwise.
 *
 *   P=/opt/normlir     # an install prefix: cmake --install build --prefix $P
 *   cc -std=c99 examples/c/layer_norm.c -I$P/include -L$P/lib -lNormLIR \
 *      -Wl,-rpath,$P/lib -lm -o layer_norm_c && ./layer_norm_c
 *
 * scripts/test-install.sh runs it (twice: the second run loads the module
 * from the disk cache).
 */

#include <normlir-c/NormLIR.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = 8 * 6, D = 3 * 4 };
static const double EPS = 1e-5; /* the spec's default: PyTorch's */

static float x[ROWS * D], w[D], b[D];
static float y[ROWS * D], mean[ROWS], rstd[ROWS];

/* Prints and destroys a failed status; returns 1 when it was a failure. */
static int failed(normlirStatus st, const char *what) {
  if (!st)
    return 0;
  fprintf(stderr, "%s failed (code %d): %s\n", what,
          (int)normlirStatusGetCode(st), normlirStatusGetMessage(st));
  normlirStatusDestroy(st);
  return 1;
}

/* |got - want| relative to max(1, |want|): absolute near 0, relative for
 * the large rstd of nearly constant rows; NaN is an infinite error. */
static double err(double got, double want) {
  if (isnan(got))
    return INFINITY;
  double scale = fabs(want) > 1.0 ? fabs(want) : 1.0;
  return fabs(got - want) / scale;
}

/* The largest error of y, mean and rstd against a float64 LayerNorm. */
static double maxError(void) {
  double maxErr = 0.0;
  for (int r = 0; r < ROWS; ++r) {
    double m = 0.0, v = 0.0;
    for (int j = 0; j < D; ++j)
      m += x[r * D + j];
    m /= D;
    for (int j = 0; j < D; ++j)
      v += (x[r * D + j] - m) * (x[r * D + j] - m);
    v /= D;
    double rs = 1.0 / sqrt(v + EPS);
    double e = fmax(err(mean[r], m), err(rstd[r], rs));
    for (int j = 0; j < D; ++j)
      e = fmax(e, err(y[r * D + j], (x[r * D + j] - m) * rs * w[j] + b[j]));
    maxErr = fmax(maxErr, e);
  }
  return maxErr;
}

static void printType(const char *what, int i, normlirTensorType t) {
  printf("  %s %d: ", what, i);
  for (int d = 0; d < t.rank; ++d)
    printf("%lldx", (long long)t.shape[d]);
  printf("%s\n", normlirDTypeGetName(t.dtype));
}

int main(void) {
  printf("NormLIR %s\n", normlirGetVersion());
  printf("disk cache: %s\n",
         *normlirGetCacheDir() ? normlirGetCacheDir() : "(off)");

  /* The spec: LayerNorm([3, 4]) with weight and bias, also returning the
   * saved statistics; the function is called "ln". */
  int64_t shape[] = {8, 6, 3, 4}, normalized[] = {3, 4};
  normlirSpec spec = NULL;
  if (failed(
          normlirSpecCreate(NORMLIR_LAYER_NORM, NORMLIR_F32, 4, shape, &spec),
          "normlirSpecCreate") ||
      failed(normlirSpecSetNormalizedShape(spec, 2, normalized),
             "normlirSpecSetNormalizedShape") ||
      failed(normlirSpecSetFlags(spec, NORMLIR_SPEC_WEIGHT | NORMLIR_SPEC_BIAS |
                                           NORMLIR_SPEC_SAVE_STATS),
             "normlirSpecSetFlags") ||
      failed(normlirSpecSetName(spec, "ln"), "normlirSpecSetName")) {
    normlirSpecDestroy(spec);
    return 1;
  }
  const char *text = NULL;
  if (failed(normlirSpecGetMLIR(spec, &text), "normlirSpecGetMLIR")) {
    normlirSpecDestroy(spec);
    return 1;
  }
  printf("spec:\n%s\n", text);

  /* Compile for the host CPU (the defaults, spelled out). */
  normlirCompileOptions options;
  normlirCompileOptionsInit(&options);
  options.target = NORMLIR_TARGET_CPU;
  options.optLevel = 3;
  normlirModule module = NULL;
  normlirStatus st = normlirCompileSpec(spec, &options, &module);
  normlirSpecDestroy(spec); /* the module does not need it */
  if (failed(st, "normlirCompileSpec"))
    return 1;

  normlirFunction ln = NULL;
  if (failed(normlirModuleLookup(module, "ln", &ln), "normlirModuleLookup")) {
    normlirModuleRelease(module);
    return 1;
  }
  printf("compiled %s:\n", normlirFunctionGetName(ln));
  for (int i = 0; i < normlirFunctionGetNumInputs(ln); ++i)
    printType("input", i, normlirFunctionGetInputType(ln, i));
  for (int i = 0; i < normlirFunctionGetNumResults(ln); ++i)
    printType("result", i, normlirFunctionGetResultType(ln, i));

  /* Deterministic inputs (row 5 constant: its output is the bias). */
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

  /* Dense row-major buffers: strides NULL. */
  int64_t paramShape[] = {3, 4}, statShape[] = {8, 6, 1, 1};
  normlirTensor inputs[3] = {
      {x, NORMLIR_F32, 4, shape, NULL},
      {w, NORMLIR_F32, 2, paramShape, NULL},
      {b, NORMLIR_F32, 2, paramShape, NULL},
  };
  normlirTensor results[3] = {
      {y, NORMLIR_F32, 4, shape, NULL},
      {mean, NORMLIR_F32, 4, statShape, NULL},
      {rstd, NORMLIR_F32, 4, statShape, NULL},
  };
  if (failed(normlirFunctionCall(ln, inputs, 3, results, 3),
             "normlirFunctionCall")) {
    normlirModuleRelease(module);
    return 1;
  }
  printf("y[0, 0] = [%.6f %.6f %.6f %.6f ...]\n", y[0], y[1], y[2], y[3]);
  printf("mean[0..2] = %.6f %.6f %.6f, rstd[0..2] = %.6f %.6f %.6f\n", mean[0],
         mean[1], mean[2], rstd[0], rstd[1], rstd[2]);
  double e = maxError();
  int ok = e < 1e-5;
  printf("%s: max error %.3g against the float64 reference\n",
         ok ? "ok" : "FAIL", e);

  /* The error path: an input of the wrong shape (4x3 instead of 3x4 for the
   * weight) is an INVALID_ARGUMENT status with a message, and nothing is
   * written. */
  static float saved[ROWS * D];
  memcpy(saved, y, sizeof y);
  int64_t wrongShape[] = {4, 3};
  inputs[1].shape = wrongShape;
  st = normlirFunctionCall(ln, inputs, 3, results, 3);
  if (!st) {
    printf("FAIL: a 4x3 weight was accepted\n");
    ok = 0;
  } else {
    printf("wrong shape, as expected: %s\n", normlirStatusGetMessage(st));
    if (normlirStatusGetCode(st) != NORMLIR_STATUS_INVALID_ARGUMENT ||
        !*normlirStatusGetMessage(st)) {
      printf("FAIL: expected INVALID_ARGUMENT with a message, got code %d\n",
             (int)normlirStatusGetCode(st));
      ok = 0;
    }
    normlirStatusDestroy(st);
  }
  if (memcmp(saved, y, sizeof y) != 0) {
    printf("FAIL: the failed call wrote its result\n");
    ok = 0;
  }

  normlirCacheStats stats = normlirGetCacheStats();
  printf("cache: compiles=%lld memory_hits=%lld disk_hits=%lld\n",
         (long long)stats.compiles, (long long)stats.memoryHits,
         (long long)stats.diskHits);
  normlirModuleRelease(module);
  return ok ? 0 : 1;
}
