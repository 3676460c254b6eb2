// timing.h: what the hand-kernel benches (ln_rows.cpp, ln_backward.cpp)
// share: the median of 7 timed calls, in ms.
#ifndef NORMLIR_BENCH_HAND_TIMING_H
#define NORMLIR_BENCH_HAND_TIMING_H

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

inline double timeMs(const std::function<void()> &f) {
  std::vector<double> v;
  for (int k = 0; k < 7; ++k) {
    auto a = std::chrono::steady_clock::now();
    f();
    v.push_back(std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - a)
                    .count());
  }
  std::sort(v.begin(), v.end());
  return v[3];
}

#endif // NORMLIR_BENCH_HAND_TIMING_H
