// The plain C++ peer: straightforward two-pass norms (mean, then variance,
// then the output), f32 accumulation, OpenMP-parallel over rows / channels /
// (n, c) planes / (n, group) blocks, `omp simd` on the inner reductions.
// bf16 is stored as uint16 bit patterns and converted to f32 on load.
//
// Usage: cloop OP DTYPE LAYOUT SHAPE EXTRA WARMUP REPEAT
//   OP     ln | rms | bn_train | bn_eval | in | gn
//   DTYPE  f32 | bf16              (x, y, and LN/RMS weight and bias)
//   LAYOUT row | nchw | nhwc       (SHAPE is always logical: rows..., or N,C,H,W)
//   EXTRA  ln/rms: number of normalized trailing dims; gn: groups; else 0
// Prints: median_ms=<median over REPEAT calls after WARMUP calls>
#include "common.h"
#include <cmath>
#include <omp.h>

namespace {
inline float ld(float v) { return v; }
inline float ld(uint16_t v) { return bf16ToF32(v); }
inline void st(float &d, float v) { d = v; }
inline void st(uint16_t &d, float v) { d = f32ToBf16(v); }

struct Args {
  std::string op, layout;
  std::vector<int64_t> shape;
  int64_t extra;
  int warmup, repeat;
};

template <typename T> struct Buf {
  std::vector<T> v;
  explicit Buf(int64_t n) : v(n) {
    std::vector<float> f(n);
    fillRandom(f.data(), n, unsigned(n));
    for (int64_t i = 0; i < n; ++i) st(v[i], f[i]);
  }
  T *data() { return v.data(); }
};

// LayerNorm (centred) or RMSNorm over the last `k` dims.
template <typename T> double rowNorm(const Args &a, bool centred) {
  int64_t k = a.extra, r = a.shape.size();
  int64_t rows = product(a.shape, 0, r - k), cols = product(a.shape, r - k);
  float eps = centred ? 1e-5f : 1e-6f;
  Buf<T> x(rows * cols), y(rows * cols), w(cols), b(cols);
  std::vector<float> mean(rows), rstd(rows);
  T *X = x.data(), *Y = y.data(), *W = w.data(), *B = b.data();
  return medianMs(a.warmup, a.repeat, [&] {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < rows; ++i) {
      const T *xr = X + i * cols;
      T *yr = Y + i * cols;
      float m = 0.f;
      if (centred) {
        float s = 0.f;
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < cols; ++j) s += ld(xr[j]);
        m = s / cols;
      }
      float v = 0.f;
#pragma omp simd reduction(+ : v)
      for (int64_t j = 0; j < cols; ++j) {
        float d = ld(xr[j]) - m;
        v += d * d;
      }
      float rs = 1.f / std::sqrt(v / cols + eps);
      if (centred) {
#pragma omp simd
        for (int64_t j = 0; j < cols; ++j)
          st(yr[j], (ld(xr[j]) - m) * rs * ld(W[j]) + ld(B[j]));
      } else {
#pragma omp simd
        for (int64_t j = 0; j < cols; ++j)
          st(yr[j], ld(xr[j]) * rs * ld(W[j]));
      }
      mean[i] = m;
      rstd[i] = rs;
    }
  });
}

// BatchNorm, training (batch statistics + running-stat update) or eval.
template <typename T> double batchNorm(const Args &a, bool training) {
  int64_t N = a.shape[0], C = a.shape[1], HW = product(a.shape, 2);
  bool nhwc = a.layout == "nhwc";
  const float eps = 1e-5f, mom = 0.1f;
  float n = float(N * HW);
  Buf<T> x(N * C * HW), y(N * C * HW);
  Buf<float> w(C), b(C), rm(C), rv(C);
  for (auto &v : rv.v) v = std::fabs(v) + 0.5f;
  std::vector<float> mean(C), rstd(C), newRm(C), newRv(C), sum(C), sq(C);
  T *X = x.data(), *Y = y.data();
  float *W = w.data(), *B = b.data(), *RM = rm.data(), *RV = rv.data();
  float *S = sum.data(), *Q = sq.data(), *M = mean.data(), *R = rstd.data();

  auto updateRunning = [&] {
    for (int64_t c = 0; c < C; ++c) {
      newRm[c] = (1 - mom) * RM[c] + mom * M[c];
      float var = Q[c] / n;
      newRv[c] = (1 - mom) * RV[c] + mom * var * n / (n - 1);
      R[c] = 1.f / std::sqrt(var + eps);
    }
  };
  auto evalStats = [&] {
    for (int64_t c = 0; c < C; ++c) {
      M[c] = RM[c];
      R[c] = 1.f / std::sqrt(RV[c] + eps);
    }
  };

  if (!nhwc) {
    return medianMs(a.warmup, a.repeat, [&] {
      if (training) {
#pragma omp parallel for schedule(static)
        for (int64_t c = 0; c < C; ++c) {
          float s = 0.f;
          for (int64_t i = 0; i < N; ++i) {
            const T *p = X + (i * C + c) * HW;
#pragma omp simd reduction(+ : s)
            for (int64_t j = 0; j < HW; ++j) s += ld(p[j]);
          }
          float m = s / n, q = 0.f;
          for (int64_t i = 0; i < N; ++i) {
            const T *p = X + (i * C + c) * HW;
#pragma omp simd reduction(+ : q)
            for (int64_t j = 0; j < HW; ++j) {
              float d = ld(p[j]) - m;
              q += d * d;
            }
          }
          M[c] = m;
          Q[c] = q;
        }
        updateRunning();
      } else {
        evalStats();
      }
#pragma omp parallel for schedule(static)
      for (int64_t p = 0; p < N * C; ++p) {
        int64_t c = p % C;
        float m = M[c], r = R[c], wc = W[c], bc = B[c];
        const T *xp = X + p * HW;
        T *yp = Y + p * HW;
#pragma omp simd
        for (int64_t j = 0; j < HW; ++j) st(yp[j], (ld(xp[j]) - m) * r * wc + bc);
      }
    });
  }
  int64_t rows = N * HW; // channels-last: C contiguous per row
  return medianMs(a.warmup, a.repeat, [&] {
    if (training) {
      std::fill(S, S + C, 0.f);
      std::fill(Q, Q + C, 0.f);
#pragma omp parallel for schedule(static) reduction(+ : S[:C])
      for (int64_t i = 0; i < rows; ++i)
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) S[c] += ld(X[i * C + c]);
      for (int64_t c = 0; c < C; ++c) M[c] = S[c] / n;
#pragma omp parallel for schedule(static) reduction(+ : Q[:C])
      for (int64_t i = 0; i < rows; ++i)
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) {
          float d = ld(X[i * C + c]) - M[c];
          Q[c] += d * d;
        }
      updateRunning();
    } else {
      evalStats();
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < rows; ++i)
#pragma omp simd
      for (int64_t c = 0; c < C; ++c)
        st(Y[i * C + c], (ld(X[i * C + c]) - M[c]) * R[c] * W[c] + B[c]);
  });
}

// InstanceNorm (groups == C) and GroupNorm, NCHW: each (n, group) block of
// (C/G) * HW elements is contiguous; weight/bias are per channel.
template <typename T> double groupNorm(const Args &a, int64_t G) {
  int64_t N = a.shape[0], C = a.shape[1], HW = product(a.shape, 2);
  int64_t Cg = C / G, blk = Cg * HW;
  const float eps = 1e-5f;
  Buf<T> x(N * C * HW), y(N * C * HW);
  Buf<float> w(C), b(C);
  std::vector<float> mean(N * G), rstd(N * G);
  T *X = x.data(), *Y = y.data();
  float *W = w.data(), *B = b.data();
  return medianMs(a.warmup, a.repeat, [&] {
#pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < N * G; ++p) {
      const T *xp = X + p * blk;
      T *yp = Y + p * blk;
      float s = 0.f;
#pragma omp simd reduction(+ : s)
      for (int64_t j = 0; j < blk; ++j) s += ld(xp[j]);
      float m = s / blk, q = 0.f;
#pragma omp simd reduction(+ : q)
      for (int64_t j = 0; j < blk; ++j) {
        float d = ld(xp[j]) - m;
        q += d * d;
      }
      float r = 1.f / std::sqrt(q / blk + eps);
      int64_t c0 = (p % G) * Cg;
      for (int64_t c = 0; c < Cg; ++c) {
        float wc = W[c0 + c] * r, bc = B[c0 + c];
        const T *xc = xp + c * HW;
        T *yc = yp + c * HW;
#pragma omp simd
        for (int64_t j = 0; j < HW; ++j) st(yc[j], (ld(xc[j]) - m) * wc + bc);
      }
      mean[p] = m;
      rstd[p] = r;
    }
  });
}

template <typename T> double run(const Args &a) {
  if (a.op == "ln") return rowNorm<T>(a, true);
  if (a.op == "rms") return rowNorm<T>(a, false);
  if (a.op == "bn_train") return batchNorm<T>(a, true);
  if (a.op == "bn_eval") return batchNorm<T>(a, false);
  if (a.layout != "nchw") return -1;
  if (a.op == "in") return groupNorm<T>(a, a.shape[1]);
  if (a.op == "gn") return groupNorm<T>(a, a.extra);
  return -1;
}
} // namespace

int main(int argc, char **argv) {
  if (argc != 8) {
    std::fprintf(stderr,
                 "usage: %s OP DTYPE LAYOUT SHAPE EXTRA WARMUP REPEAT\n", argv[0]);
    return 2;
  }
  Args a{argv[1], argv[3], parseShape(argv[4]), std::atoll(argv[5]),
         std::atoi(argv[6]), std::atoi(argv[7])};
  std::string dt = argv[2];
  double ms = dt == "f32" ? run<float>(a) : dt == "bf16" ? run<uint16_t>(a) : -1;
  if (ms < 0) {
    std::fprintf(stderr, "unsupported: %s %s %s\n", argv[1], argv[2], argv[3]);
    return 3;
  }
  std::printf("median_ms=%.6f\n", ms);
  return 0;
}
