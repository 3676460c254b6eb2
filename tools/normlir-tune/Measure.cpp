//===- Measure.cpp - timing normlir-tune's candidates ---------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "Measure.h"

#include "normlir/ExecutionEngine/CudaRuntime.h"
#include "normlir/Support/Npy.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <chrono>

using namespace normlir;
using namespace normlir::tune;

static double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

/// Turns off deferred synchronization when a GPU measurement ends, however
/// it ends.
namespace {
struct DeferredSynchronization {
  DeferredSynchronization() { cuda::setDeferredSynchronization(true); }
  ~DeferredSynchronization() { cuda::setDeferredSynchronization(false); }
};
} // namespace

/// One measurement of `module`, in seconds per call.
static llvm::Expected<double> measureOnce(const JITModule &module,
                                          llvm::StringRef function,
                                          llvm::ArrayRef<BufferView> inputs,
                                          llvm::ArrayRef<BufferView> results,
                                          const MeasureOptions &options) {
  for (unsigned i = 0; i < options.warmup; ++i)
    if (llvm::Error err = module.invoke(function, inputs, results))
      return std::move(err);
  if (module.getTarget() == Target::CUDA) {
    if (llvm::Error err = cuda::synchronize())
      return std::move(err);
    DeferredSynchronization deferred;
    auto ms = cuda::timeOnStream([&]() -> llvm::Error {
      for (unsigned i = 0; i < options.repeat; ++i)
        if (llvm::Error err = module.invoke(function, inputs, results))
          return err;
      return llvm::Error::success();
    });
    if (!ms)
      return ms.takeError();
    return *ms * 1e-3 / options.repeat;
  }
  std::vector<double> times;
  for (unsigned i = 0; i < options.repeat; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (llvm::Error err = module.invoke(function, inputs, results))
      return std::move(err);
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
  }
  return median(std::move(times));
}

llvm::Expected<std::vector<double>>
normlir::tune::measure(llvm::ArrayRef<const JITModule *> modules,
                       llvm::StringRef function, const MeasureOptions &options,
                       llvm::ArrayRef<std::vector<int64_t>> shapes) {
  auto sig = modules.front()->lookup(function);
  if (!sig)
    return sig.takeError();
  std::vector<TensorSpec> inputSpecs = (*sig)->inputs;
  std::vector<TensorSpec> resultSpecs = (*sig)->results;
  if (!shapes.empty()) {
    for (auto [spec, shape] : llvm::zip_equal(inputSpecs, shapes))
      spec.shape = shape;
    resultSpecs = (*sig)->getResultsFor(shapes);
  }
  auto random = makeRandomInputs(inputSpecs);
  if (!random)
    return random.takeError();
  std::vector<HostTensor> inputs = std::move(*random), results;
  for (const TensorSpec &spec : resultSpecs) {
    auto t = allocateTensor(spec);
    if (!t)
      return t.takeError();
    results.push_back(std::move(*t));
  }
  std::vector<BufferView> inputViews, resultViews;
  for (HostTensor &t : inputs)
    inputViews.push_back(t.view());
  for (HostTensor &t : results)
    resultViews.push_back(t.view());

  // On the GPU the same buffers, in device memory.
  std::vector<cuda::DeviceBuffer> deviceBuffers;
  if (modules.front()->getTarget() == Target::CUDA) {
    for (auto *views : {&inputViews, &resultViews}) {
      for (BufferView &view : *views) {
        size_t bytes = view.spec.getSizeInBytes();
        auto buffer = cuda::DeviceBuffer::allocate(bytes);
        if (!buffer)
          return buffer.takeError();
        if (views == &inputViews)
          if (llvm::Error err = buffer->copyFromHost(view.data, bytes))
            return std::move(err);
        view.data = buffer->data();
        deviceBuffers.push_back(std::move(*buffer));
      }
    }
  }

  size_t n = modules.size();
  std::vector<std::vector<double>> samples(n);
  for (unsigned round = 0; round < options.rounds; ++round) {
    for (size_t j = 0; j < n; ++j) {
      size_t i = (j + round) % n;
      auto seconds =
          measureOnce(*modules[i], function, inputViews, resultViews, options);
      if (!seconds)
        return seconds.takeError();
      samples[i].push_back(*seconds);
    }
  }
  std::vector<double> medians;
  for (std::vector<double> &s : samples)
    medians.push_back(median(std::move(s)));
  return medians;
}
