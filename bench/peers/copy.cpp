// The memory-copy reference: copies BYTES bytes (read BYTES, write BYTES),
// OpenMP-parallel over equal per-thread chunks (OMP_NUM_THREADS threads).
//   plain: memcpy of each thread's chunk
//   nt:    AVX loads + non-temporal _mm256_stream_ps stores, then sfence
// Usage: copy BYTES WARMUP REPEAT
// Prints: plain_ms=<median> nt_ms=<median>
#include "common.h"
#include <immintrin.h>
#include <omp.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s BYTES WARMUP REPEAT\n", argv[0]);
    return 2;
  }
  int64_t bytes = std::stoll(argv[1]);
  int warmup = std::atoi(argv[2]), repeat = std::atoi(argv[3]);
  int64_t n = (bytes + 3) / 4;                 // floats
  int64_t alloc = ((n * 4 + 63) / 64) * 64;    // whole cache lines
  float *src = static_cast<float *>(std::aligned_alloc(64, alloc));
  float *dst = static_cast<float *>(std::aligned_alloc(64, alloc));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) { src[i] = float(i & 1023); dst[i] = 0.f; }

  // Thread t copies floats [begin, end), chunk starts on 64-byte boundaries.
  auto chunk = [n](int t, int nt, int64_t &begin, int64_t &end) {
    int64_t per = ((n + nt - 1) / nt + 15) / 16 * 16;
    begin = std::min(n, per * t);
    end = std::min(n, begin + per);
  };

  double plain = medianMs(warmup, repeat, [&] {
#pragma omp parallel
    {
      int64_t b, e;
      chunk(omp_get_thread_num(), omp_get_num_threads(), b, e);
      if (e > b) std::memcpy(dst + b, src + b, (e - b) * 4);
    }
  });
  double nt = medianMs(warmup, repeat, [&] {
#pragma omp parallel
    {
      int64_t b, e;
      chunk(omp_get_thread_num(), omp_get_num_threads(), b, e);
      int64_t i = b;
      for (; i + 8 <= e; i += 8)
        _mm256_stream_ps(dst + i, _mm256_loadu_ps(src + i));
      for (; i < e; ++i) dst[i] = src[i];
      _mm_sfence();
    }
  });
  std::printf("plain_ms=%.6f nt_ms=%.6f\n", plain, nt);
  volatile float sink = dst[n / 2];
  (void)sink;
  std::free(src);
  std::free(dst);
  return 0;
}
