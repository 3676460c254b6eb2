// Shared helpers for the C++ peer programs: timing, shapes, bf16 bits.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

// "4096x1024" -> {4096, 1024}
inline std::vector<int64_t> parseShape(const std::string &s) {
  std::vector<int64_t> d;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find('x', i);
    if (j == std::string::npos) j = s.size();
    d.push_back(std::stoll(s.substr(i, j - i)));
    i = j + 1;
  }
  return d;
}

inline int64_t product(const std::vector<int64_t> &d, size_t from = 0,
                       size_t to = SIZE_MAX) {
  int64_t p = 1;
  for (size_t i = from; i < std::min(to, d.size()); ++i) p *= d[i];
  return p;
}

// Runs f() `warmup` times, then `repeat` timed calls; returns the median ms.
template <typename F> double medianMs(int warmup, int repeat, F &&f) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < repeat; ++i) {
    auto a = std::chrono::steady_clock::now();
    f();
    auto b = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double, std::milli>(b - a).count());
  }
  std::sort(t.begin(), t.end());
  size_t n = t.size();
  return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

// bf16 <-> f32 through the bit pattern (round to nearest even).
inline float bf16ToF32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint16_t f32ToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fff + ((u >> 16) & 1);
  return uint16_t(u >> 16);
}

inline void fillRandom(float *p, int64_t n, unsigned seed = 1) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-2.f, 2.f);
  for (int64_t i = 0; i < n; ++i) p[i] = d(g);
}
