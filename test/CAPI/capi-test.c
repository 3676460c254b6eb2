/*===- capi-test.c - The C API from a plain C program ---------------------===*\
|*                                                                            *|
|* Part of the NormLIR project.                                               *|
|*                                                                            *|
|* Builds specs, compiles them, calls them and checks every error path of the *|
|* C API; prints one line per check for FileCheck (capi.test).               *|
\*===----------------------------------------------------------------------===*/

#include "normlir-c/NormLIR.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

/* Prints the status's code and message (then destroys it). */
static void report(const char *what, normlirStatus st) {
  printf("%s: %d %s\n", what, (int)normlirStatusGetCode(st),
         st ? normlirStatusGetMessage(st) : "ok");
  normlirStatusDestroy(st);
}

static void expect(int ok, const char *what) {
  if (!ok) {
    printf("FAILED: %s\n", what);
    ++failures;
  }
}

/* LayerNorm over the last two axes of an 8x6x3x4 tensor, in double. */
static double refLayerNorm(const float *x, const float *w, const float *b,
                           float *y) {
  double maxErr = 0;
  for (int r = 0; r < 48; ++r) {
    double mean = 0, var = 0;
    for (int i = 0; i < 12; ++i)
      mean += x[r * 12 + i];
    mean /= 12;
    for (int i = 0; i < 12; ++i)
      var += (x[r * 12 + i] - mean) * (x[r * 12 + i] - mean);
    var /= 12;
    for (int i = 0; i < 12; ++i) {
      double ref = (x[r * 12 + i] - mean) / sqrt(var + 1e-5) * w[i] + b[i];
      double err = fabs(ref - y[r * 12 + i]);
      if (err > maxErr)
        maxErr = err;
    }
  }
  return maxErr;
}

int main(void) {
  normlirSetCacheDir(getenv("NORMLIR_TEST_CACHE_DIR"));
  printf("version: %s\n", normlirGetVersion());

  /* A spec built without MLIR text. */
  int64_t shape[] = {8, 6, 3, 4}, norm[] = {3, 4};
  normlirSpec spec = NULL;
  report("create",
         normlirSpecCreate(NORMLIR_LAYER_NORM, NORMLIR_F32, 4, shape, &spec));
  report("normalized", normlirSpecSetNormalizedShape(spec, 2, norm));
  report("flags",
         normlirSpecSetFlags(spec, NORMLIR_SPEC_WEIGHT | NORMLIR_SPEC_BIAS |
                                       NORMLIR_SPEC_SAVE_STATS));
  report("name", normlirSpecSetName(spec, "ln"));
  const char *text = NULL;
  report("mlir", normlirSpecGetMLIR(spec, &text));
  printf("%s", text);

  normlirModule mod = NULL;
  report("compile", normlirCompileSpec(spec, NULL, &mod));
  printf("functions: %d\n", normlirModuleGetNumFunctions(mod));
  normlirFunction ln = normlirModuleGetFunction(mod, 0);
  printf("name: %s inputs: %d results: %d\n", normlirFunctionGetName(ln),
         normlirFunctionGetNumInputs(ln), normlirFunctionGetNumResults(ln));
  normlirTensorType t = normlirFunctionGetResultType(ln, 1);
  printf("result 1: rank %d %s [%lld %lld %lld %lld]\n", t.rank,
         normlirDTypeGetName(t.dtype), (long long)t.shape[0],
         (long long)t.shape[1], (long long)t.shape[2], (long long)t.shape[3]);
  expect(normlirFunctionGetInputType(ln, 7).rank == -1, "out of range type");
  expect(normlirModuleGetFunction(mod, 1) == NULL, "out of range function");

  float x[576], w[12], b[12], y[576], mean[48], rstd[48];
  for (int i = 0; i < 576; ++i)
    x[i] = (float)sin(0.37 * i) * 3.0f + (float)(i % 7);
  for (int i = 0; i < 12; ++i) {
    w[i] = 0.5f + 0.1f * i;
    b[i] = 0.05f * i - 0.2f;
  }
  int64_t pshape[] = {3, 4}, sshape[] = {8, 6, 1, 1};
  int64_t dense[] = {72, 12, 4, 1};
  normlirTensor in[3] = {{x, NORMLIR_F32, 4, shape, dense},
                         {w, NORMLIR_F32, 2, pshape, NULL},
                         {b, NORMLIR_F32, 2, pshape, NULL}};
  normlirTensor out[3] = {{y, NORMLIR_F32, 4, shape, NULL},
                          {mean, NORMLIR_F32, 4, sshape, NULL},
                          {rstd, NORMLIR_F32, 4, sshape, NULL}};
  report("call", normlirFunctionCall(ln, in, 3, out, 3));
  double err = refLayerNorm(x, w, b, y);
  printf("max error vs double reference below 1e-5: %s\n",
         err < 1e-5 ? "yes" : "no");

  /* Error paths: nothing is written. */
  for (int i = 0; i < 576; ++i)
    y[i] = -7.0f;
  int64_t wrongShape[] = {8, 6, 4, 3};
  normlirTensor bad = in[0];
  bad.shape = wrongShape;
  normlirTensor badIn[3] = {bad, in[1], in[2]};
  report("shape", normlirFunctionCall(ln, badIn, 3, out, 3));
  badIn[0] = in[0];
  badIn[0].dtype = NORMLIR_F16;
  report("dtype", normlirFunctionCall(ln, badIn, 3, out, 3));
  badIn[0] = in[0];
  int64_t cl[] = {72, 1, 24, 6};
  badIn[0].strides = cl;
  report("strides", normlirFunctionCall(ln, badIn, 3, out, 3));
  report("count", normlirFunctionCall(ln, in, 2, out, 3));
  badIn[0] = in[0];
  badIn[0].data = NULL;
  report("null", normlirFunctionCall(ln, badIn, 3, out, 3));
  normlirTensor alias[3] = {{x, NORMLIR_F32, 4, shape, NULL}, out[1], out[2]};
  report("overlap", normlirFunctionCall(ln, in, 3, alias, 3));
  report("null function", normlirFunctionCall(NULL, in, 3, out, 3));
  report("stream on the CPU",
         normlirFunctionCallOnStream(ln, in, 3, out, 3, NULL));
  report("null function on a stream",
         normlirFunctionCallOnStream(NULL, in, 3, out, 3, NULL));
  int untouched = 1;
  for (int i = 0; i < 576; ++i)
    untouched &= y[i] == -7.0f;
  printf("outputs untouched by failed calls: %s\n", untouched ? "yes" : "no");

  normlirFunction f = NULL;
  report("lookup", normlirModuleLookup(mod, "nope", &f));
  report("lookup ln", normlirModuleLookup(mod, "ln", &f));
  expect(f == ln, "lookup finds ln");

  /* The same spec again: the in-memory cache. */
  normlirCacheStats before = normlirGetCacheStats();
  normlirModule again = NULL;
  report("compile again", normlirCompileSpec(spec, NULL, &again));
  normlirCacheStats after = normlirGetCacheStats();
  printf("memory hit: %s, compiled again: %s\n",
         after.memoryHits == before.memoryHits + 1 ? "yes" : "no",
         after.compiles != before.compiles ? "yes" : "no");
  normlirModuleRelease(again);

  /* Spec errors. */
  int64_t badNorm[] = {4, 3};
  report("bad normalized shape",
         normlirSpecSetNormalizedShape(spec, 2, badNorm));
  report("mlir of bad spec", normlirSpecGetMLIR(spec, &text));
  report("epsilon", normlirSpecSetEpsilon(spec, -1.0));
  report("momentum", normlirSpecSetMomentum(spec, 2.0));
  normlirSpec gn = NULL;
  int64_t gshape[] = {2, 6, 5};
  normlirSpecCreate(NORMLIR_GROUP_NORM, NORMLIR_BF16, 3, gshape, &gn);
  normlirSpecSetNumGroups(gn, 4);
  report("groups", normlirSpecGetMLIR(gn, &text));
  normlirSpecDestroy(gn);
  report("rank",
         normlirSpecCreate(NORMLIR_BATCH_NORM, NORMLIR_F32, 0, shape, &gn));

  /* MLIR text with an error: a located diagnostic. */
  const char *broken = "func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\n"
                       "  %y = norm.rms_norm %x {normalized_shape = "
                       "array<i64: 5>} : (tensor<4xf32>) -> (tensor<4xf32>, "
                       "tensor<1xf32>)\n  return %y : tensor<4xf32>\n}\n";
  normlirModule none = NULL;
  report("broken",
         normlirCompile(broken, strlen(broken), "broken.mlir", NULL, &none));
  expect(none == NULL, "no module on error");
  normlirCompileOptions opts;
  normlirCompileOptionsInit(&opts);
  opts.optLevel = 9;
  report("options", normlirCompile(broken, strlen(broken), NULL, &opts, &none));
  normlirCompileOptionsInit(&opts);
  opts.flags = 1u << 7;
  report("flags", normlirCompile(broken, strlen(broken), NULL, &opts, &none));


  /* A schedule error says why (it used to go to stderr). */
  normlirSpecSetNormalizedShape(spec, 2, norm);
  normlirCompileOptionsInit(&opts);
  opts.schedule = "frobnicate=1";
  report("schedule", normlirCompileSpec(spec, &opts, &none));
  opts.schedule = "vector-width=268435456";
  report("schedule range", normlirCompileSpec(spec, &opts, &none));

  /* The backward functions the compiler derives (norm-differentiate). */
  normlirCompileOptionsInit(&opts);
  opts.flags = NORMLIR_COMPILE_DIFFERENTIATE;
  normlirModule withBackward = NULL;
  report("differentiate", normlirCompileSpec(spec, &opts, &withBackward));
  if (withBackward) {
    int32_t count = normlirModuleGetNumFunctions(withBackward);
    for (int32_t i = 0; i < count; ++i)
      printf("function %d: %s\n", i,
             normlirFunctionGetName(
                 normlirModuleGetFunction(withBackward, i)));
  }
  /* The spec returns its mean and rstd: the backward takes them (saved
     statistics), unless it recomputes them. */
  for (int recompute = 0; recompute < 2; ++recompute) {
    normlirModuleRelease(withBackward);
    withBackward = NULL;
    opts.flags = NORMLIR_COMPILE_DIFFERENTIATE |
                 (recompute ? NORMLIR_COMPILE_RECOMPUTE_STATISTICS : 0u);
    const char *mode = recompute ? "recomputed" : "saved";
    normlirFunction bwd = NULL;
    report(mode, normlirCompileSpec(spec, &opts, &withBackward));
    if (withBackward)
      report("lookup", normlirModuleLookup(withBackward, "ln_backward", &bwd));
    if (bwd)
      printf("ln_backward inputs (%s): %d\n", mode,
             (int)normlirFunctionGetNumInputs(bwd));
  }
  /* A residual stream: the backward takes h, mean and rstd as saved
     results and the cotangents of the output and of h; it returns the
     gradients of x, the residual, weight and bias. */
  normlirSpec residual = NULL;
  report("residual spec", normlirSpecCreate(NORMLIR_LAYER_NORM, NORMLIR_F32, 4,
                                            shape, &residual));
  normlirSpecSetNormalizedShape(residual, 2, norm);
  report("residual flags",
         normlirSpecSetFlags(residual, NORMLIR_SPEC_WEIGHT | NORMLIR_SPEC_BIAS |
                                           NORMLIR_SPEC_SAVE_STATS |
                                           NORMLIR_SPEC_RESIDUAL));
  normlirModule resMod = NULL;
  opts.flags = NORMLIR_COMPILE_DIFFERENTIATE;
  report("residual compile", normlirCompileSpec(residual, &opts, &resMod));
  normlirFunction resFwd = NULL, resBwd = NULL;
  if (resMod) {
    report("lookup", normlirModuleLookup(resMod, "norm", &resFwd));
    report("lookup", normlirModuleLookup(resMod, "norm_backward", &resBwd));
  }
  if (resFwd && resBwd)
    printf("residual: norm %d -> %d, norm_backward %d -> %d\n",
           (int)normlirFunctionGetNumInputs(resFwd),
           (int)normlirFunctionGetNumResults(resFwd),
           (int)normlirFunctionGetNumInputs(resBwd),
           (int)normlirFunctionGetNumResults(resBwd));
  normlirModuleRelease(resMod);
  normlirSpecDestroy(residual);

  normlirModuleRelease(withBackward);
  withBackward = NULL;
  opts.flags = NORMLIR_COMPILE_RECOMPUTE_STATISTICS;
  report("recompute alone", normlirCompileSpec(spec, &opts, &withBackward));
  normlirModuleRelease(withBackward);

  /* Blackwell chips compile (they ended the process before). */
  normlirCompileOptionsInit(&opts);
  opts.target = NORMLIR_TARGET_CUDA;
  opts.flags = NORMLIR_COMPILE_NO_DISK_CACHE;
  opts.chip = "sm_100";
  normlirModule blackwell = NULL;
  report("sm_100", normlirCompileSpec(spec, &opts, &blackwell));
  normlirModuleRelease(blackwell);
  opts.chip = "sm_120a";
  report("sm_120a", normlirCompileSpec(spec, &opts, &blackwell));
  normlirModuleRelease(blackwell);
  opts.chip = "sm_12";
  report("bad chip", normlirCompileSpec(spec, &opts, &blackwell));

  /* Out-of-range enum values are checked as integers (UBSan-clean). */
  normlirSpec odd = NULL;
  report("op 99", normlirSpecCreate((normlirOpKind)99, NORMLIR_F32, 4, shape,
                                    &odd));
  report("op -1", normlirSpecCreate((normlirOpKind)-1, NORMLIR_F32, 4, shape,
                                    &odd));
  report("dtype 99", normlirSpecCreate(NORMLIR_LAYER_NORM, (normlirDType)99,
                                       4, shape, &odd));
  report("param dtype",
         normlirSpecSetParamDType(spec, (normlirDType)0x7fffffff));
  expect(normlirDTypeGetSize((normlirDType)-5) == 0, "size of a bad dtype");
  expect(strcmp(normlirDTypeGetName((normlirDType)1000), "") == 0,
         "name of a bad dtype");
  normlirCompileOptionsInit(&opts);
  opts.target = (normlirTarget)7;
  report("target 7", normlirCompileSpec(spec, &opts, &none));
  normlirTensor badType[3] = {in[0], in[1], in[2]};
  badType[1].dtype = (normlirDType)42;
  report("tensor dtype 42", normlirFunctionCall(ln, badType, 3, out, 3));

  /* PyTorch accepts any non-negative epsilon, inf and NaN included. */
  report("epsilon inf", normlirSpecSetEpsilon(spec, INFINITY));
  report("epsilon nan", normlirSpecSetEpsilon(spec, NAN));
  report("mlir with inf", normlirSpecGetMLIR(spec, &text));
  printf("%s", strstr(text, "epsilon"));

  /* The memory cache's bound and counters. */
  report("capacity -1", normlirSetMemoryCacheCapacity(-1));
  report("capacity 1", normlirSetMemoryCacheCapacity(1));
  normlirCacheStats bounded = normlirGetCacheStats();
  printf("memory cache: %lld of %lld, compile seconds > 0: %s\n",
         (long long)bounded.memoryEntries, (long long)bounded.memoryCapacity,
         bounded.compileSeconds > 0 ? "yes" : "no");

  /* A dynamic number of rows: one module for 0, 1 and 5 rows; the results'
     shapes follow the input's; sizes that do not agree are an error. */
  {
    int64_t dynShape[] = {-1, 16}, norm16[] = {16};
    normlirSpec dyn = NULL;
    report("dynamic spec",
           normlirSpecCreate(NORMLIR_RMS_NORM, NORMLIR_F32, 2, dynShape, &dyn));
    normlirSpecSetNormalizedShape(dyn, 1, norm16);
    normlirSpecSetFlags(dyn, NORMLIR_SPEC_SAVE_STATS);
    normlirModule dm = NULL;
    report("dynamic compile", normlirCompileSpec(dyn, NULL, &dm));
    normlirFunction rf = normlirModuleGetFunction(dm, 0);
    normlirTensorType rt = normlirFunctionGetResultType(rf, 1);
    printf("dynamic result 1: [%lld %lld]\n", (long long)rt.shape[0],
           (long long)rt.shape[1]);
    float xs[5 * 16], ys[5 * 16], rs[5];
    for (int i = 0; i < 5 * 16; ++i)
      xs[i] = (float)(i % 7) - 3.0f;
    int ok = 1;
    for (int64_t rows = 0; rows <= 5; rows += 1) {
      int64_t s[2] = {rows, 16}, s1[2] = {rows, 1};
      normlirTensor din = {xs, NORMLIR_F32, 2, s, NULL};
      normlirTensor dout[2] = {{ys, NORMLIR_F32, 2, s, NULL},
                               {rs, NORMLIR_F32, 2, s1, NULL}};
      int64_t shape[2] = {-7, -7};
      normlirStatus st = normlirFunctionGetResultShape(rf, 1, &din, 1, shape);
      ok &= st == NULL && shape[0] == rows && shape[1] == 1;
      normlirStatusDestroy(st);
      st = normlirFunctionCall(rf, &din, 1, dout, 2);
      ok &= st == NULL;
      normlirStatusDestroy(st);
      for (int64_t r = 0; r < rows; ++r) {
        double ms = 0;
        for (int i = 0; i < 16; ++i)
          ms += (double)xs[r * 16 + i] * xs[r * 16 + i];
        double want = 1.0 / sqrt(ms / 16 + 1.1920928955078125e-07);
        ok &= fabs(rs[r] - want) < 1e-5 * want;
      }
    }
    printf("dynamic rows 0..5: %s\n", ok ? "yes" : "no");
    int64_t s4[2] = {4, 16}, s3[2] = {3, 16}, s41[2] = {4, 1};
    normlirTensor din = {xs, NORMLIR_F32, 2, s4, NULL};
    normlirTensor dout[2] = {{ys, NORMLIR_F32, 2, s3, NULL},
                             {rs, NORMLIR_F32, 2, s41, NULL}};
    report("dynamic mismatch", normlirFunctionCall(rf, &din, 1, dout, 2));
    int64_t shape[2];
    report("result shape 9",
           normlirFunctionGetResultShape(rf, 9, &din, 1, shape));
    normlirModuleRelease(dm);
    normlirSpecDestroy(dyn);
  }

  normlirModuleRelease(mod);
  normlirSpecDestroy(spec);
  printf("failures: %d\n", failures);
  return failures != 0;
}
