// ln_backward: the simplest hand-written LayerNorm f32 backward beside the
// generated one (normlir-compile SPEC --differentiate -o gen.so, a LayerNorm
// over the last dim of ROWSxCOLS with weight and bias, function @ln) and a
// memcpy of the same bytes (x and dy read, dx written), in one process,
// interleaved, one thread. OFF=16 puts x, dy and dx 16 bytes past a page, as
// malloc'd buffers (normlir-run's, NumPy's) are.
//   build: c++ -O2 -mavx2 -mfma -o ln_backward ln_backward.cpp -ldl
//   run:   OMP_NUM_THREADS=1 [OFF=16] ./ln_backward ROWS COLS gen.so
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <functional>
#include <immintrin.h>
#include <vector>

#include "timing.h"
static long R, C;
static float *X, *DY, *W, *B, *DX, *DW, *DB, *PW, *PB;
static float hsum(__m256 v) {
  __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  a = _mm_add_ps(a, _mm_movehl_ps(a, a));
  a = _mm_add_ss(a, _mm_shuffle_ps(a, a, 1));
  return _mm_cvtss_f32(a);
}
// One read of x (shifted sums), one of dy with x from L1 (Σg, Σg·x), then dx +
// partials.
template <bool NT> void hand() {
  memset(PW, 0, C * 4);
  memset(PB, 0, C * 4);
  for (long i = 0; i < R; ++i) {
    const float *x = X + i * C, *dy = DY + i * C;
    float *dx = DX + i * C;
    __m256 sh = _mm256_set1_ps(x[0]), s0 = _mm256_setzero_ps(), s1 = s0,
           q0 = s0, q1 = s0;
    for (long j = 0; j < C; j += 16) {
      __m256 a = _mm256_sub_ps(_mm256_loadu_ps(x + j), sh),
             b = _mm256_sub_ps(_mm256_loadu_ps(x + j + 8), sh);
      s0 = _mm256_add_ps(s0, a);
      s1 = _mm256_add_ps(s1, b);
      q0 = _mm256_fmadd_ps(a, a, q0);
      q1 = _mm256_fmadd_ps(b, b, q1);
    }
    float d = hsum(_mm256_add_ps(s0, s1)) / C,
          var = hsum(_mm256_add_ps(q0, q1)) / C - d * d;
    float mean = x[0] + d, rs = 1.f / std::sqrt(std::max(var, 0.f) + 1e-5f);
    __m256 vm = _mm256_set1_ps(mean), vr = _mm256_set1_ps(rs),
           g0 = _mm256_setzero_ps(), g1 = g0, h0 = g0, h1 = g0;
    for (long j = 0; j < C; j += 16) {
      __m256 ga = _mm256_mul_ps(_mm256_loadu_ps(dy + j), _mm256_load_ps(W + j)),
             gb = _mm256_mul_ps(_mm256_loadu_ps(dy + j + 8),
                                _mm256_load_ps(W + j + 8));
      __m256 xa = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), vm), vr),
             xb = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j + 8), vm),
                                vr);
      g0 = _mm256_add_ps(g0, ga);
      g1 = _mm256_add_ps(g1, gb);
      h0 = _mm256_fmadd_ps(ga, xa, h0);
      h1 = _mm256_fmadd_ps(gb, xb, h1);
    }
    __m256 mg = _mm256_set1_ps(hsum(_mm256_add_ps(g0, g1)) / C),
           mh = _mm256_set1_ps(hsum(_mm256_add_ps(h0, h1)) / C);
    for (long j = 0; j < C; j += 8) {
      __m256 d8 = _mm256_loadu_ps(dy + j),
             xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), vm), vr);
      __m256 g = _mm256_mul_ps(d8, _mm256_load_ps(W + j));
      __m256 r = _mm256_mul_ps(
          vr, _mm256_sub_ps(_mm256_sub_ps(g, mg), _mm256_mul_ps(xh, mh)));
      if (NT)
        _mm256_storeu_ps(dx + j, r);
      else
        _mm256_storeu_ps(dx + j, r);
      _mm256_store_ps(PW + j, _mm256_fmadd_ps(d8, xh, _mm256_load_ps(PW + j)));
      _mm256_store_ps(PB + j, _mm256_add_ps(d8, _mm256_load_ps(PB + j)));
    }
  }
  _mm_sfence();
  memcpy(DW, PW, C * 4);
  memcpy(DB, PB, C * 4);
}
typedef int (*K)(const float *, const float *, const float *, const float *,
                 float *, float *, float *);
int main(int argc, char **argv) {
  R = atol(argv[1]);
  C = atol(argv[2]);
  size_t n = R * C;
  auto al = [](size_t b) {
    return (float *)aligned_alloc(4096, (b + 4095) / 4096 * 4096);
  };
  X = al(n * 4);
  DY = al(n * 4);
  DX = al(n * 4);
  W = al(C * 4);
  B = al(C * 4);
  DW = al(C * 4);
  DB = al(C * 4);
  PW = al(C * 4);
  PB = al(C * 4);
  float *SRC = al(n * 8), *DST = al(n * 8);
  for (size_t i = 0; i < n; ++i) {
    X[i] = (i % 977) * 0.001f - 0.4f;
    DY[i] = (i % 613) * 0.002f - 0.6f;
    DX[i] = 0;
  }
  memset(SRC, 1, n * 8);
  memset(DST, 0, n * 8);
  for (long j = 0; j < C; ++j) {
    W[j] = 1 + j * 1e-4f;
    B[j] = 0.5f;
  }
  if (getenv("OFF")) {
    long o = atol(getenv("OFF"));
    X = (float *)((char *)al(n * 4 + 64) + o);
    DY = (float *)((char *)al(n * 4 + 64) + o);
    DX = (float *)((char *)al(n * 4 + 64) + o);
    for (size_t i = 0; i < n; ++i) {
      X[i] = (i % 977) * 0.001f - 0.4f;
      DY[i] = (i % 613) * 0.002f - 0.6f;
      DX[i] = 0;
    }
  }
  void *h = dlopen(argv[3], RTLD_NOW);
  K k = (K)dlsym(h, "ln_backward");
  if (!k) {
    printf("%s\n", dlerror());
    return 1;
  }
  std::vector<std::pair<const char *, std::function<void()>>> ts = {
      {"memcpy (2 reads+1 write as 1.5x copy)",
       [&] { memcpy(DST, SRC, n * 6); }},
      {"hand, nt stores", hand<true>},
      {"hand, cached stores", hand<false>},
      {"generated", [&] { k(X, W, B, DY, DX, DW, DB); }}};
  std::vector<std::vector<double>> r(ts.size());
  for (int round = 0; round < 6; ++round) {
    double c = timeMs(ts[0].second);
    if (round == 0)
      printf("copy %.2f ms, generated %.2f ms\n", c, timeMs(ts.back().second));
    for (size_t i = 0; i < ts.size(); ++i)
      r[i].push_back(100 * c / timeMs(ts[i].second));
  }
  for (size_t i = 0; i < ts.size(); ++i) {
    auto v = r[i];
    std::sort(v.begin(), v.end());
    printf("%-40s %% of copy: median %.0f [%.0f-%.0f]\n", ts[i].first,
           v[v.size() / 2], v.front(), v.back());
  }
}
