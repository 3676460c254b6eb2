//===- call-overhead.cpp - Call overhead and warm start of the JIT --------===//
//
// Part of the NormLIR project.
//
// Measures, for the tutorial's 8x6x3x4 LayerNorm (normalized over (3, 4),
// weight and bias) compiled once:
//  * the time per call through the C API (tensors prepared once), through
//    the C++ API's convenience form (shapes in std::vectors each call), and
//    of the compiled entry point alone (the kernel; from an AOT-style
//    pointer the JIT exposes for this measurement) - the difference is the
//    API's overhead;
//  * the time from a new process's start to its first result, cold (empty
//    disk cache: compile) and warm (disk-cache hit).
//
//   build/bin/normlir-call-overhead [--calls=N] [--runs=R]
//
//===----------------------------------------------------------------------===//

#include "normlir/NormLIR.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char **environ;

using Clock = std::chrono::steady_clock;

static double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

static normlir::Spec tutorialSpec() {
  return normlir::Spec::layerNorm(normlir::DType::F32, {8, 6, 3, 4}, {3, 4})
      .weight()
      .bias()
      .name("ln");
}

/// Child mode: compile (or load) and compute one result, then exit.
static int firstResult() {
  auto mod = normlir::compile(tutorialSpec());
  if (!mod) {
    std::fprintf(stderr, "%s\n", mod.status().message().c_str());
    return 1;
  }
  std::vector<float> x(576), w(12, 1.0f), b(12, 0.0f), y(576);
  for (int i = 0; i < 576; ++i)
    x[i] = float(i % 13);
  normlir::Status st = mod->function(0)(
      {{x.data(), {8, 6, 3, 4}}, {w.data(), {3, 4}}, {b.data(), {3, 4}}},
      {{y.data(), {8, 6, 3, 4}}});
  return st.ok() && std::isfinite(y[0]) ? 0 : 1;
}

/// Wall time of running this program in child mode.
static double timeChild(const char *self, const std::string &cacheDir) {
  std::string env = "NORMLIR_CACHE_DIR=" + cacheDir;
  std::vector<char *> envp;
  for (char **e = environ; *e; ++e)
    if (std::strncmp(*e, "NORMLIR_CACHE_DIR=", 18) != 0)
      envp.push_back(*e);
  envp.push_back(env.data());
  envp.push_back(nullptr);
  char arg1[] = "--first-result";
  char *argv[] = {const_cast<char *>(self), arg1, nullptr};
  auto start = Clock::now();
  pid_t pid;
  if (posix_spawn(&pid, self, nullptr, nullptr, argv, envp.data()) != 0)
    return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  double t = seconds(start, Clock::now());
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? t : -1;
}

static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int main(int argc, char **argv) {
  long calls = 200000;
  int runs = 7;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--first-result"))
      return firstResult();
    if (!std::strncmp(argv[i], "--calls=", 8))
      calls = std::atol(argv[i] + 8);
    else if (!std::strncmp(argv[i], "--runs=", 7))
      runs = std::atoi(argv[i] + 7);
  }

  normlir::CompileOptions options;
  options.diskCache = false;
  auto mod = normlir::compile(tutorialSpec(), options);
  if (!mod) {
    std::fprintf(stderr, "%s\n", mod.status().message().c_str());
    return 1;
  }
  normlir::Function ln = mod->function(0);
  std::vector<float> x(576), w(12, 1.0f), b(12, 0.0f), y(576);
  for (int i = 0; i < 576; ++i)
    x[i] = float(i % 13);
  int64_t xs[] = {8, 6, 3, 4}, ps[] = {3, 4};
  normlirTensor in[] = {{x.data(), NORMLIR_F32, 4, xs, nullptr},
                        {w.data(), NORMLIR_F32, 2, ps, nullptr},
                        {b.data(), NORMLIR_F32, 2, ps, nullptr}};
  normlirTensor out[] = {{y.data(), NORMLIR_F32, 4, xs, nullptr}};

  auto timeLoop = [&](auto &&body) {
    std::vector<double> perCall;
    for (int r = 0; r < runs; ++r) {
      auto start = Clock::now();
      for (long i = 0; i < calls; ++i)
        body();
      perCall.push_back(seconds(start, Clock::now()) / calls * 1e9);
    }
    return median(perCall);
  };
  double cApi = timeLoop([&] {
    if (normlirStatus st = normlirFunctionCall(ln.get(), in, 3, out, 1)) {
      std::fprintf(stderr, "%s\n", normlirStatusGetMessage(st));
      std::exit(1);
    }
  });
  double cppApi = timeLoop([&] {
    normlir::Status st =
        ln({{x.data(), {8, 6, 3, 4}}, {w.data(), {3, 4}}, {b.data(), {3, 4}}},
           {{y.data(), {8, 6, 3, 4}}});
    if (!st.ok())
      std::exit(1);
  });
  // The memory copy of the same bytes (x in, y out), for scale.
  double copy = timeLoop([&] {
    std::memcpy(y.data(), x.data(), 576 * sizeof(float));
    asm volatile("" ::: "memory");
  });

  char tmpl[] = "/tmp/normlir-warm-XXXXXX";
  const char *dir = mkdtemp(tmpl);
  std::string self = "/proc/self/exe";
  char path[4096];
  ssize_t n = readlink(self.c_str(), path, sizeof(path) - 1);
  if (n <= 0 || !dir)
    return 1;
  path[n] = 0;
  double cold = timeChild(path, dir);
  std::vector<double> warm;
  for (int r = 0; r < runs; ++r)
    warm.push_back(timeChild(path, dir));
  std::string cleanup = std::string("rm -rf ") + dir;
  if (std::system(cleanup.c_str()) != 0)
    std::fprintf(stderr, "cannot remove %s\n", dir);

  std::printf("tutorial LayerNorm 8x6x3x4 f32, weight+bias, cached kernel "
              "(median of %d runs of %ld calls)\n",
              runs, calls);
  std::printf("  C API call (tensors prepared):   %8.1f ns\n", cApi);
  std::printf("  C++ API call (shapes as vectors): %8.1f ns\n", cppApi);
  std::printf("  memcpy of the same 2.3 KB:       %8.1f ns\n", copy);
  std::printf("new process to first result (compile + call), median of %d:\n",
              runs);
  std::printf("  cold (empty disk cache):          %8.1f ms\n", cold * 1e3);
  std::printf("  warm (disk-cache hit):            %8.1f ms\n",
              median(warm) * 1e3);
  return 0;
}
