//===- jit-api-test.cpp - tests of the C++ JIT API ------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Prints one line per check; jit-api.test FileChecks them. Exercises the
// contract of include/normlir/ExecutionEngine/JIT.h: compile once, call many
// times on caller-owned buffers, and every misuse is an llvm::Error.
//
//===----------------------------------------------------------------------===//

#include "normlir/ExecutionEngine/CudaRuntime.h"
#include "normlir/ExecutionEngine/FatalErrors.h"
#include "normlir/ExecutionEngine/JIT.h"
#include "normlir/Pipelines/Pipelines.h"

#include "llvm/Support/ErrorHandling.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <vector>

using namespace normlir;

static const char *kSpec = R"mlir(
func.func @ln(%x: tensor<2x4xf32>, %w: tensor<4xf32>)
    -> (tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>) {
  %y, %m, %r = norm.layer_norm %x weight %w {normalized_shape = array<i64: 4>}
      : (tensor<2x4xf32>, tensor<4xf32>)
      -> (tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  return %y, %m, %r : tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>
}
)mlir";

static void report(const char *what, llvm::Error err) {
  llvm::outs() << what << ": "
               << (err ? llvm::toString(std::move(err)) : "success") << "\n";
}

int main() {
  // A malformed spec: the error carries the buffer name and location.
  {
    auto bad = JITModule::compile("func.func @f(", "bad.mlir");
    report("parse", bad.takeError());
  }

  // LLVM's fatal errors inside the guard are errors, and the process goes
  // on; nested guards and later compiles are unaffected.
  report("fatal", runRecoveringFatalErrors([] {
           llvm::report_fatal_error("backend gave up", false);
         }));
  report("fatal nested", runRecoveringFatalErrors([] {
           llvm::Error inner = runRecoveringFatalErrors(
               [] { llvm::report_fatal_error("inner", false); });
           report("fatal inner", std::move(inner));
           llvm::report_fatal_error("outer", false);
         }));
  report("no fatal", runRecoveringFatalErrors([] {}));

  // Every architecture of the NVPTX backend compiles (Blackwell included),
  // PTX for the driver where ptxas does not take the chip.
  for (const char *chip : {"sm_100", "sm_100a", "sm_101", "sm_103", "sm_110",
                           "sm_120", "sm_121a"}) {
    JITOptions gpu;
    gpu.target = Target::CUDA;
    gpu.cudaChip = chip;
    gpu.cudaFormat = "isa";
    gpu.diskCache = false;
    auto m = JITModule::compile(kSpec, "spec.mlir", gpu);
    report(chip, m.takeError());
  }
  {
    JITOptions gpu;
    gpu.target = Target::CUDA;
    gpu.cudaChip = "sm_99";
    auto m = JITModule::compile(kSpec, "spec.mlir", gpu);
    report("unknown chip", m.takeError());
  }

  // The PTX version follows the chip and the toolkit's ptxas.
  for (auto [chip, features, toolkit] : {std::tuple{"sm_90", "", 124u},
                                         {"sm_90", "", 118u},
                                         {"sm_100", "", 124u},
                                         {"sm_100", "", 128u},
                                         {"sm_120", "", 130u},
                                         {"sm_120", "+ptx88", 128u},
                                         {"sm_80", "+ptx70", 0u}}) {
    std::optional<unsigned> max;
    if (toolkit)
      max = getMaxPTXVersionOfToolkit(toolkit / 10, toolkit % 10);
    auto f = resolvePTXFeatures(chip, features, max);
    llvm::outs() << "ptx " << chip << " '" << features << "' cuda "
                 << toolkit / 10 << "." << toolkit % 10 << ": "
                 << (f ? *f : llvm::toString(f.takeError())) << "\n";
  }

  auto mod = JITModule::compile(kSpec, "spec.mlir");
  if (!mod) {
    report("compile", mod.takeError());
    return 1;
  }
  for (const FunctionSignature &f : (*mod)->getFunctions())
    llvm::outs() << "function " << f.name << " inputs " << f.inputs.size()
                 << " results " << f.results.size() << "\n";

  std::vector<float> x = {1, 2, 3, 4, 10, 20, 30, 40}, w = {1, 1, 2, 2};
  std::vector<float> y(8), mean(2), rstd(2);
  const std::vector<float> wCopy = w;
  auto f32 = [](std::vector<int64_t> shape) {
    return TensorSpec{ElementType::F32, std::move(shape)};
  };
  std::vector<BufferView> ins = {{x.data(), f32({2, 4})}, {w.data(), f32({4})}};
  std::vector<BufferView> outs = {{y.data(), f32({2, 4})},
                                  {mean.data(), f32({2, 1})},
                                  {rstd.data(), f32({2, 1})}};

  report("unknown function", (*mod)->invoke("nope", ins, outs));
  report("arity", (*mod)->invoke("ln", {ins[0]}, outs));
  report("result arity", (*mod)->invoke("ln", ins, {outs[0]}));
  {
    auto wrongShape = ins;
    wrongShape[1].spec = f32({3});
    report("shape", (*mod)->invoke("ln", wrongShape, outs));
  }
  {
    auto wrongType = ins;
    wrongType[0].spec.elementType = ElementType::F16;
    report("dtype", (*mod)->invoke("ln", wrongType, outs));
  }
  {
    auto null = outs;
    null[1].data = nullptr;
    report("null", (*mod)->invoke("ln", ins, null));
  }
  {
    // Writing y over x would corrupt the caller's input.
    auto aliased = outs;
    aliased[0].data = x.data();
    report("overlap input", (*mod)->invoke("ln", ins, aliased));
    aliased = outs;
    aliased[2].data = mean.data();
    report("overlap result", (*mod)->invoke("ln", ins, aliased));
  }

  // Compile once, call many times.
  for (int call = 0; call < 3; ++call) {
    for (float &v : x)
      v += 1.0f;
    const std::vector<float> before = x;
    report("invoke", (*mod)->invoke("ln", ins, outs));
    llvm::outs() << "call " << call << " mean "
                 << llvm::format("%g %g", mean[0], mean[1])
                 << " inputs-unchanged " << (x == before && w == wCopy) << "\n";
  }
  // Row [4 5 6 7] after three +1 shifts: y = (x - 5.5) * rstd * w.
  double r = 1.0 / std::sqrt(1.25 + 1e-5);
  bool close = std::fabs(y[0] - (-1.5 * r * 1)) < 1e-5 &&
               std::fabs(y[3] - (1.5 * r * 2)) < 1e-5;
  llvm::outs() << "values-match " << close << "\n";

  // The same spec for the GPU: compiles anywhere (cubin or PTX); calls need
  // a driver and device buffers.
  JITOptions gpu;
  gpu.target = Target::CUDA;
  gpu.cudaChip = "sm_90";
  auto cudaMod = JITModule::compile(kSpec, "spec.mlir", gpu);
  if (!cudaMod) {
    report("cuda compile", cudaMod.takeError());
    return 1;
  }
  llvm::outs() << "cuda compile: success, chip " << (*cudaMod)->getChip()
               << "\n";
  // Host pointers are refused (no driver, or not device memory).
  report("cuda host buffers", (*cudaMod)->invoke("ln", ins, outs));
  if (auto err = cuda::initialize()) {
    llvm::consumeError(std::move(err));
    llvm::outs() << "cuda values-match skipped (no GPU)\n";
    return 0;
  }
  std::vector<cuda::DeviceBuffer> device;
  auto toDevice = [&](std::vector<BufferView> views, bool copy) {
    for (BufferView &v : views) {
      auto buf = cuda::DeviceBuffer::allocate(v.spec.getSizeInBytes());
      if (!buf) {
        report("cuda alloc", buf.takeError());
        exit(1);
      }
      if (copy)
        if (auto err = buf->copyFromHost(v.data, v.spec.getSizeInBytes()))
          report("cuda copy", std::move(err));
      v.data = buf->data();
      device.push_back(std::move(*buf));
    }
    return views;
  };
  auto dIns = toDevice(ins, true);
  auto dOuts = toDevice(outs, false);
  report("cuda invoke", (*cudaMod)->invoke("ln", dIns, dOuts));
  std::vector<float> gy(8);
  if (auto err = device[2].copyToHost(gy.data(), gy.size() * 4))
    report("cuda copy back", std::move(err));
  bool same = true;
  for (int i = 0; i < 8; ++i)
    same &= std::fabs(gy[i] - y[i]) < 1e-5;
  llvm::outs() << "cuda values-match " << same << "\n";
  return 0;
}
