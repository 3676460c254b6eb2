//===- concurrent-compile.cpp - One spec compiled from 16 threads ---------===//
//
// Part of the NormLIR project.
//
// 16 threads compile the same (new) spec at once through the C++ API; the
// in-memory cache must compile it once and hand every thread a working
// module. Prints the counters for FileCheck (concurrent-compile.test).
//
//===----------------------------------------------------------------------===//

#include "normlir/NormLIR.h"

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

int main(int argc, char **argv) {
  // A fresh shape per run keeps the on-disk cache out of the way unless the
  // test asks for it (argv[1] = "disk").
  bool disk = argc > 1 && std::string(argv[1]) == "disk";
  int64_t rows = disk ? 37 : 29;
  constexpr int kThreads = 16;
  normlirCacheStats before = normlir::cacheStats();
  std::mutex mutex;
  std::condition_variable cv;
  int ready = 0;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      {
        // All threads start compiling together.
        std::unique_lock<std::mutex> lock(mutex);
        if (++ready == kThreads)
          cv.notify_all();
        else
          cv.wait(lock, [&] { return ready == kThreads; });
      }
      normlir::CompileOptions options;
      options.diskCache = disk;
      auto mod = normlir::compile(
          normlir::Spec::rmsNorm(normlir::DType::F32, {rows, 40}, {40})
              .weight()
              .name("rms"),
          options);
      if (!mod) {
        std::printf("thread %d: %s\n", t, mod.status().message().c_str());
        return;
      }
      std::vector<float> x(rows * 40), w(40, 2.0f), y(rows * 40);
      for (size_t i = 0; i < x.size(); ++i)
        x[i] = float((i * 7 + t) % 13) - 6.0f;
      normlir::Status st = mod->function(0)(
          {{x.data(), {rows, 40}}, {w.data(), {40}}}, {{y.data(), {rows, 40}}});
      if (!st) {
        std::printf("thread %d: %s\n", t, st.message().c_str());
        return;
      }
      double ss = 0;
      for (int i = 0; i < 40; ++i)
        ss += double(x[i]) * x[i];
      double ref = x[0] / std::sqrt(ss / 40 + 1.1920928955078125e-07) * 2.0;
      if (std::fabs(ref - y[0]) < 1e-5)
        ++ok;
    });
  for (auto &t : threads)
    t.join();
  normlirCacheStats after = normlir::cacheStats();
  std::printf("threads ok: %d\n", ok.load());
  std::printf("compiles: %lld\n",
              (long long)(after.compiles - before.compiles));
  std::printf("disk hits: %lld\n",
              (long long)(after.diskHits - before.diskHits));
  std::printf("memory hits: %lld\n",
              (long long)(after.memoryHits - before.memoryHits));
  return ok.load() == kThreads ? 0 : 1;
}
