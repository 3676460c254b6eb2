// ln_rows: the simplest hand-written LayerNorm f32 row kernels beside
// glibc's memcpy and any generated kernel, in one process on the same
// buffers, interleaved. It answers "is this figure a hardware limit?" for
// the row strategy: a generated kernel is compared with the plainest
// kernel that does the same work, not with a number.
//
//   build:  c++ -O2 -mavx2 -mfma -o ln_rows ln_rows.cpp -ldl
//   gen:    normlir-compile SPEC -o gen.so   (SPEC: LayerNorm over the last
//           dim of ROWSxCOLS f32 with weight and bias, function @k)
//   run:    OMP_NUM_THREADS=1 ./ln_rows ROWS COLS [ROUNDS] [gen.so ...]
//
// Prints, per kernel, the median over ROUNDS of (memcpy time / kernel
// time) in %, with the range: memcpy moves the same bytes (the input read,
// the output written) as the kernel. One thread; AVX2.
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <functional>
#include <string>
#include <vector>

#include "timing.h"

namespace {

long rows, cols;
float *X, *Y, *W, *B, *M, *R;

float hsum(__m256 v) {
  __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  a = _mm_add_ps(a, _mm_movehl_ps(a, a));
  a = _mm_add_ss(a, _mm_shuffle_ps(a, a, 1));
  return _mm_cvtss_f32(a);
}

/// Row i: pass 1 sums x and x*x from memory (four accumulators each), pass 2
/// applies from L1 with streaming stores. With Ahead > 0 the apply
/// prefetches row i + Ahead, one prefetch per cache line (PerVector: one
/// per vector, as the generated kernels do). With Shift the sums are taken
/// about the mean of the first vector (the generated one-pass moments).
template <int Ahead, bool PerVector, bool Shift> void row(long i) {
  const float *x = X + i * cols;
  float *y = Y + i * cols;
  float shift = Shift ? hsum(_mm256_load_ps(x)) / 8 : 0.f;
  __m256 sh = _mm256_set1_ps(shift);
  __m256 s[4], q[4];
  for (int k = 0; k < 4; ++k)
    s[k] = q[k] = _mm256_setzero_ps();
  for (long j = 0; j < cols; j += 32)
    for (int k = 0; k < 4; ++k) {
      __m256 a = _mm256_load_ps(x + j + 8 * k);
      if (Shift)
        a = _mm256_sub_ps(a, sh);
      s[k] = _mm256_add_ps(s[k], a);
      q[k] = _mm256_fmadd_ps(a, a, q[k]);
    }
  float d = hsum(_mm256_add_ps(_mm256_add_ps(s[0], s[1]),
                               _mm256_add_ps(s[2], s[3]))) /
            cols;
  float var = hsum(_mm256_add_ps(_mm256_add_ps(q[0], q[1]),
                                 _mm256_add_ps(q[2], q[3]))) /
                  cols -
              d * d;
  float mean = shift + d;
  float rs = 1.f / std::sqrt(std::max(var, 0.f) + 1e-5f);
  __m256 vr = _mm256_set1_ps(rs), vm = _mm256_set1_ps(mean);
  const float *next = X + std::min(i + Ahead, rows - 1) * cols;
  for (long j = 0; j < cols; j += 8) {
    if (Ahead && (PerVector || j % 16 == 0))
      _mm_prefetch(reinterpret_cast<const char *>(next + j), _MM_HINT_T0);
    __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_load_ps(x + j), vm), vr);
    _mm256_stream_ps(y + j, _mm256_fmadd_ps(t, _mm256_load_ps(W + j),
                                            _mm256_load_ps(B + j)));
  }
  M[i] = mean;
  R[i] = rs;
}

template <int Ahead, bool PerVector = false, bool Shift = false> void hand() {
  for (long i = 0; i < rows; ++i)
    row<Ahead, PerVector, Shift>(i);
  _mm_sfence();
}

/// A read-only pass over the input: what reading alone costs.
void readOnly() {
  __m256 a = _mm256_setzero_ps(), b = a;
  for (long i = 0; i < rows * cols; i += 16) {
    a = _mm256_add_ps(a, _mm256_load_ps(X + i));
    b = _mm256_add_ps(b, _mm256_load_ps(X + i + 8));
  }
  M[0] = hsum(_mm256_add_ps(a, b));
}


using Kernel = int (*)(const float *, const float *, const float *, float *,
                       float *, float *);

} // namespace

int main(int argc, char **argv) {
  if (argc < 3 || atol(argv[2]) % 32 != 0) {
    std::fprintf(stderr,
                 "usage: %s ROWS COLS(multiple of 32) [ROUNDS] "
                 "[gen.so ...]\n",
                 argv[0]);
    return 2;
  }
  rows = atol(argv[1]);
  cols = atol(argv[2]);
  int rounds = argc > 3 ? std::max(1, atoi(argv[3])) : 10;
  size_t n = size_t(rows) * cols;
  X = static_cast<float *>(aligned_alloc(4096, n * 4));
  Y = static_cast<float *>(aligned_alloc(4096, n * 4));
  W = static_cast<float *>(aligned_alloc(64, cols * 4));
  B = static_cast<float *>(aligned_alloc(64, cols * 4));
  M = static_cast<float *>(malloc(rows * 4));
  R = static_cast<float *>(malloc(rows * 4));
  for (size_t i = 0; i < n; ++i) {
    X[i] = (i % 977) * 0.001f - 0.4f;
    Y[i] = 0;
  }
  for (long j = 0; j < cols; ++j) {
    W[j] = 1 + j * 1e-4f;
    B[j] = 0.5f;
  }
  std::vector<std::pair<std::string, std::function<void()>>> kernels = {
      {"memcpy", [n] { std::memcpy(Y, X, n * 4); }},
      {"read-only pass", readOnly},
      {"hand, no prefetch", hand<0>},
      {"hand, prefetch 1 row", hand<1>},
      {"hand, prefetch 2 rows", hand<2>},
      {"hand, 2 rows, per vector", hand<2, true>},
      {"hand, 2 rows, shifted", hand<2, false, true>},
  };
  for (int a = 4; a < argc; ++a) {
    void *h = dlopen(argv[a], RTLD_NOW | RTLD_LOCAL);
    Kernel k = h ? reinterpret_cast<Kernel>(dlsym(h, "k")) : nullptr;
    if (!k) {
      std::fprintf(stderr, "%s: no function k (%s)\n", argv[a], dlerror());
      return 1;
    }
    kernels.push_back({argv[a], [k] { k(X, W, B, Y, M, R); }});
  }
  std::vector<std::vector<double>> pct(kernels.size());
  for (int r = 0; r < rounds; ++r) {
    double copy = timeMs(kernels[0].second);
    for (size_t k = 0; k < kernels.size(); ++k)
      pct[k].push_back(100 * copy / timeMs(kernels[k].second));
  }
  for (size_t k = 0; k < kernels.size(); ++k) {
    std::vector<double> v = pct[k];
    std::sort(v.begin(), v.end());
    std::printf("%-28s %% of memcpy: median %3.0f  range %3.0f-%3.0f\n",
                kernels[k].first.c_str(), v[v.size() / 2], v.front(), v.back());
  }
  return 0;
}
