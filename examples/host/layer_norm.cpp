//===- layer_norm.cpp - NormLIR from a C++ host program -------------------===//
//
// The tutorial's LayerNorm through the C++ API (include/normlir/NormLIR.h):
//
//  1. build torch.nn.LayerNorm([3, 4]) on an 8x6x3x4 f32 input as a
//     normlir::Spec, JIT-compile it, run it on the tutorial's input (feature
//     map i all i + 1: the output is all zeros) and on varied inputs with a
//     weight and a bias, and check both against a float64 reference;
//  2. compile an RMSNorm spec given as MLIR text, run and check it;
//  3. compile a malformed spec and print the located diagnostic.
//
// Exits 0 when every result is within 1e-5 of the reference and the
// malformed spec fails as expected, 1 otherwise. Build against an installed
// NormLIR (docs/cpp-api.md; scripts/test-install.sh runs it):
//
//   cmake -G Ninja -S examples/host -B /tmp/host -DCMAKE_PREFIX_PATH=$P
//   cmake --build /tmp/host && /tmp/host/layer_norm
//
//===----------------------------------------------------------------------===//

#include <normlir/NormLIR.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr int64_t kRows = 8 * 6, kD = 3 * 4;

/// |got - want| relative to max(1, |want|); NaN is an infinite error.
double err(double got, double want) {
  if (std::isnan(got))
    return INFINITY;
  return std::fabs(got - want) / std::max(1.0, std::fabs(want));
}

/// The largest error of `y` against a float64 norm over rows of `d`
/// elements: LayerNorm when `centred`, else RMSNorm (no mean, no bias).
double maxError(const std::vector<float> &x, const std::vector<float> &w,
                const std::vector<float> &b, const std::vector<float> &y,
                int64_t d, bool centred, double eps) {
  double maxErr = 0;
  for (size_t r = 0; r < x.size() / d; ++r) {
    const float *xr = &x[r * d];
    double mean = 0, var = 0;
    if (centred) {
      for (int64_t j = 0; j < d; ++j)
        mean += xr[j];
      mean /= d;
    }
    for (int64_t j = 0; j < d; ++j)
      var += (xr[j] - mean) * (xr[j] - mean);
    var /= d; // LayerNorm: biased variance; RMSNorm: mean of squares
    double rstd = 1 / std::sqrt(var + eps);
    for (int64_t j = 0; j < d; ++j) {
      double ref = (xr[j] - mean) * rstd * w[j] + (b.empty() ? 0 : b[j]);
      maxErr = std::max(maxErr, err(y[r * d + j], ref));
    }
  }
  return maxErr;
}

bool report(const char *what, double e) {
  bool ok = e < 1e-5;
  std::printf("%s: %s, max error %.3g against the float64 reference\n", what,
              ok ? "ok" : "FAIL", e);
  return ok;
}

void printMap(const char *what, const std::vector<float> &y, int64_t row) {
  std::printf("%s =", what);
  for (int64_t j = 0; j < kD; ++j)
    std::printf("%s%8.5f", j % 4 ? " " : (j ? " |" : " "), y[row * kD + j]);
  std::printf("\n");
}

} // namespace

int main() {
  std::cout << "NormLIR " << normlir::version() << "\n";
  bool ok = true;

  // 1. LayerNorm([3, 4]) with weight and bias, as a spec: the function takes
  //    (x, weight, bias) and returns y. Setters chain; an error would stick
  //    and be returned by compile().
  normlir::Spec spec =
      normlir::Spec::layerNorm(normlir::DType::F32, {8, 6, 3, 4}, {3, 4});
  spec.weight().bias().epsilon(1e-5).name("layer_norm");
  if (normlir::Expected<std::string> text = spec.mlir())
    std::cout << "spec as MLIR:\n" << *text << "\n";

  normlir::Expected<normlir::Module> mod = normlir::compile(spec);
  if (!mod) {
    std::cerr << "compile failed: " << mod.status().message() << "\n";
    return 1;
  }
  normlir::Expected<normlir::Function> ln = mod->function("layer_norm");
  if (!ln) {
    std::cerr << ln.status().message() << "\n";
    return 1;
  }
  std::printf("compiled %s: %d inputs, %d results\n", ln->name().c_str(),
              ln->numInputs(), ln->numResults());

  // The tutorial's input: feature map i (of each sample) is all i + 1, with
  // PyTorch's default affine parameters (weight 1, bias 0).
  std::vector<float> x(kRows * kD), w(kD, 1.0f), b(kD, 0.0f), y(kRows * kD);
  for (int64_t r = 0; r < kRows; ++r)
    std::fill_n(&x[r * kD], kD, float(r % 6 + 1));
  normlir::Status st =
      (*ln)({{x.data(), {8, 6, 3, 4}}, {w.data(), {3, 4}}, {b.data(), {3, 4}}},
            {{y.data(), {8, 6, 3, 4}}});
  if (!st) {
    std::cerr << "call failed: " << st.message() << "\n";
    return 1;
  }
  printMap("tutorial y[0, 0]", y, 0);
  printMap("tutorial y[0, 5]", y, 5);
  ok &=
      report("LayerNorm, tutorial input", maxError(x, w, b, y, kD, true, 1e-5));

  // Varied inputs, weight and bias; the same compiled function, called again.
  // Explicit strides are allowed when they describe the dense layout.
  uint32_t s = 12345;
  for (int64_t i = 0; i < kRows * kD; ++i) {
    s = s * 1664525u + 1013904223u;
    x[i] = float(4.0 * (s >> 8) / 16777216.0 - 2.0 + 0.25 * (i / kD % 7));
  }
  for (int64_t j = 0; j < kD; ++j) {
    w[j] = 1.0f + 0.125f * j;
    b[j] = 0.0625f * j - 0.5f;
  }
  st = (*ln)({{x.data(), {8, 6, 3, 4}, {72, 12, 4, 1}},
              {w.data(), {3, 4}},
              {b.data(), {3, 4}}},
             {{y.data(), {8, 6, 3, 4}}});
  if (!st) {
    std::cerr << "call failed: " << st.message() << "\n";
    return 1;
  }
  printMap("varied y[0, 0]", y, 0);
  ok &= report("LayerNorm, weight and bias",
               maxError(x, w, b, y, kD, true, 1e-5));

  // A transposed view is not a dense layout: an INVALID_ARGUMENT status.
  st = (*ln)({{x.data(), {8, 6, 3, 4}, {72, 12, 1, 3}},
              {w.data(), {3, 4}},
              {b.data(), {3, 4}}},
             {{y.data(), {8, 6, 3, 4}}});
  std::printf("non-dense strides: %s\n",
              st ? "accepted (FAIL)" : st.message().c_str());
  ok &= !st && st.code() == NORMLIR_STATUS_INVALID_ARGUMENT;

  // 2. A spec as MLIR text: RMSNorm over the last axis (12 elements of a
  //    48x12 view of the same data), with a weight and PyTorch's default
  //    epsilon (float's); only y is returned.
  const std::string rms = R"mlir(
func.func @rms(%x: tensor<48x12xf32>, %w: tensor<12xf32>) -> tensor<48x12xf32> {
  %y, %rstd = norm.rms_norm %x weight %w {normalized_shape = array<i64: 12>}
      : (tensor<48x12xf32>, tensor<12xf32>) -> (tensor<48x12xf32>, tensor<48x1xf32>)
  return %y : tensor<48x12xf32>
}
)mlir";
  normlir::Expected<normlir::Module> rmsMod =
      normlir::compile(rms, normlir::CompileOptions(), "rms.mlir");
  if (!rmsMod) {
    std::cerr << "compile failed: " << rmsMod.status().message() << "\n";
    return 1;
  }
  normlir::Function rmsFn = rmsMod->function(0);
  st = rmsFn({{x.data(), {48, 12}}, {w.data(), {12}}}, {{y.data(), {48, 12}}});
  if (!st) {
    std::cerr << "call failed: " << st.message() << "\n";
    return 1;
  }
  printMap("RMSNorm y[0]", y, 0);
  ok &= report("RMSNorm from MLIR text",
               maxError(x, w, {}, y, kD, false, 1.1920928955078125e-07));

  // 3. A malformed spec: normalized_shape [4, 3] does not match the trailing
  //    dimensions [3, 4]. compile() fails with the verifier's diagnostic,
  //    located in the named buffer (bad.mlir:3:...).
  const std::string bad = R"mlir(
func.func @ln(%x: tensor<8x6x3x4xf32>) -> tensor<8x6x3x4xf32> {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 4, 3>}
      : (tensor<8x6x3x4xf32>) -> (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>)
  return %y : tensor<8x6x3x4xf32>
}
)mlir";
  normlir::Expected<normlir::Module> badMod =
      normlir::compile(bad, normlir::CompileOptions(), "bad.mlir");
  if (badMod) {
    std::printf("malformed spec: compiled (FAIL)\n");
    ok = false;
  } else {
    std::printf("malformed spec, as expected:\n%s\n",
                badMod.status().message().c_str());
    ok &= badMod.status().code() == NORMLIR_STATUS_COMPILE_ERROR &&
          badMod.status().message().find("bad.mlir:3:") != std::string::npos;
  }

  normlirCacheStats stats = normlir::cacheStats();
  std::printf("cache: compiles=%lld memory_hits=%lld disk_hits=%lld\n",
              (long long)stats.compiles, (long long)stats.memoryHits,
              (long long)stats.diskHits);
  std::printf("%s\n", ok ? "all checks passed" : "SOME CHECKS FAILED");
  return ok ? 0 : 1;
}
