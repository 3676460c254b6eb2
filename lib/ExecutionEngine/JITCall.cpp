//===- JITCall.cpp - Calls of JIT-compiled functions ----------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The call ABI: the caller's buffers are checked against the function's
// signature (count, element type, static dimensions, dense strides, null
// and overlapping buffers; on CUDA, device memory of the runtime), then
// their data pointers and the sizes of their dynamic dimensions are passed
// to the packed entry point `__normlir_packed_<f>` (see
// ExecutionEngine/Compiler.h), whose status names a failed runtime check
// (dynamic dimensions that do not agree).
//
//===----------------------------------------------------------------------===//

#include "JITLoader.h"
#include "normlir/ExecutionEngine/CudaRuntime.h"
#include "normlir/Runtime/CudaRuntime.h"

#include "llvm/Support/MathExtras.h"

#include <algorithm>

using namespace normlir;

llvm::Expected<const FunctionSignature *>
JITModule::lookup(llvm::StringRef name) const {
  for (const FunctionSignature &f : functions)
    if (f.name == name)
      return &f;
  std::string known;
  for (const FunctionSignature &f : functions)
    known += (known.empty() ? "" : ", ") + f.name;
  // The warnings say why a function is not callable (e.g. a tensor too
  // large), which is the answer the caller is looking for.
  return llvm::createStringError(
      "no callable function '" + name.str() +
      "' (available: " + (known.empty() ? "none" : known) + ")" +
      (warnings.empty() ? "" : "\n" + llvm::StringRef(warnings).rtrim().str()));
}

static std::string describe(const RawBuffer &b) {
  std::string s;
  for (int i = 0; i < b.rank; ++i)
    s += std::to_string(b.shape[i]) + "x";
  return s + getElementTypeName(b.elementType).str();
}

/// Checks `buffers` against `specs`; `what` is "input" or "result".
static llvm::Error checkBuffers(llvm::StringRef func, const RawBuffer *buffers,
                                size_t count, llvm::ArrayRef<TensorSpec> specs,
                                llvm::StringRef what) {
  if (count != specs.size())
    return llvm::createStringError("function '" + func.str() + "' expects " +
                                   std::to_string(specs.size()) + " " +
                                   what.str() + "s, got " +
                                   std::to_string(count));
  for (size_t i = 0; i < count; ++i) {
    const RawBuffer &b = buffers[i];
    const TensorSpec &expected = specs[i];
    bool same = b.elementType == expected.elementType &&
                b.rank == static_cast<int>(expected.shape.size()) &&
                (b.rank == 0 || b.shape);
    for (int d = 0; same && d < b.rank; ++d)
      same = expected.shape[d] == TensorSpec::kDynamic
                 ? b.shape[d] >= 0
                 : b.shape[d] == expected.shape[d];
    if (!same)
      return llvm::createStringError(
          what.str() + " " + std::to_string(i) + " of '" + func.str() +
          "' must be " + expected.str() + ", got " +
          (b.rank < 0 || (b.rank > 0 && !b.shape) ? "a malformed buffer"
                                                  : describe(b)));
    // The caller's sizes (a dynamic dimension's among them) must not
    // overflow a byte count; checked without allocating (every call).
    // A buffer with a 0 in its shape holds no bytes, whatever the others.
    int64_t numElements = 1;
    bool overflow = false, empty = false;
    for (int d = 0; d < b.rank; ++d) {
      overflow |= llvm::MulOverflow(numElements, b.shape[d], numElements);
      empty |= b.shape[d] == 0;
    }
    int64_t bytes = 0;
    overflow |= llvm::MulOverflow(
        numElements, static_cast<int64_t>(getElementSize(b.elementType)),
        bytes);
    if (empty)
      numElements = 0;
    if (overflow && !empty)
      return llvm::createStringError(
          what.str() + " " + std::to_string(i) + " of '" + func.str() + "' (" +
          describe(b) + ") is too large: its size overflows");
    if (!b.data && numElements != 0)
      return llvm::createStringError(what.str() + " " + std::to_string(i) +
                                     " of '" + func.str() +
                                     "' is a null buffer");
    // The kernels are compiled for dense row-major buffers.
    if (b.strides && numElements > 1) {
      int64_t stride = 1;
      for (int d = b.rank; d-- > 0;) {
        if (b.shape[d] != 1 && b.strides[d] != stride) {
          std::string strides;
          for (int k = 0; k < b.rank; ++k)
            strides += (k ? ", " : "") + std::to_string(b.strides[k]);
          return llvm::createStringError(
              what.str() + " " + std::to_string(i) + " of '" + func.str() +
              "' has strides (" + strides +
              "); the kernel takes dense row-major buffers (a channels-last "
              "buffer is passed in memory order to a channels-last spec)");
        }
        stride *= b.shape[d];
      }
    }
  }
  return llvm::Error::success();
}

static size_t sizeInBytes(const RawBuffer &b) {
  size_t n = getElementSize(b.elementType);
  for (int i = 0; i < b.rank; ++i)
    n *= static_cast<size_t>(b.shape[i]);
  return n;
}

llvm::Error JITModule::call(size_t index, const RawBuffer *inputs,
                            size_t numInputs, const RawBuffer *results,
                            size_t numResults,
                            const CallOptions &options) const {
  if (index >= functions.size())
    return llvm::createStringError("no function " + std::to_string(index) +
                                   " (the module has " +
                                   std::to_string(functions.size()) + ")");
  const FunctionSignature &sig = functions[index];
  llvm::StringRef name = sig.name;
  if ((numInputs && !inputs) || (numResults && !results))
    return llvm::createStringError("null buffer array passed to '" +
                                   name.str() + "'");
  if (auto err = checkBuffers(name, inputs, numInputs, sig.inputs, "input"))
    return err;
  if (auto err = checkBuffers(name, results, numResults, sig.results, "result"))
    return err;
  // A result written over an input (or over another result) would corrupt
  // what the caller passed in.
  auto overlaps = [](const RawBuffer &a, const RawBuffer &b) {
    auto *a0 = static_cast<const char *>(a.data);
    auto *b0 = static_cast<const char *>(b.data);
    size_t an = sizeInBytes(a), bn = sizeInBytes(b);
    return an && bn && a0 < b0 + bn && b0 < a0 + an;
  };
  for (size_t i = 0; i < numResults; ++i) {
    for (size_t j = 0; j < numInputs; ++j)
      if (overlaps(results[i], inputs[j]))
        return llvm::createStringError("result " + std::to_string(i) + " of '" +
                                       name.str() + "' overlaps input " +
                                       std::to_string(j));
    for (size_t j = 0; j < i; ++j)
      if (overlaps(results[i], results[j]))
        return llvm::createStringError("result " + std::to_string(i) + " of '" +
                                       name.str() + "' overlaps result " +
                                       std::to_string(j));
  }

  void *stackPointers[32];
  std::vector<void *> heapPointers;
  size_t numBuffers = numInputs + numResults;
  void **pointers = stackPointers;
  if (numBuffers > 32) {
    heapPointers.resize(numBuffers);
    pointers = heapPointers.data();
  }
  for (size_t i = 0; i < numInputs; ++i)
    pointers[i] = inputs[i].data;
  for (size_t i = 0; i < numResults; ++i)
    pointers[numInputs + i] = results[i].data;
  // The sizes of the dynamic dimensions, buffer by buffer.
  std::vector<int64_t> sizes;
  auto appendSizes = [&](const RawBuffer *buffers, size_t count,
                         llvm::ArrayRef<TensorSpec> specs) {
    for (size_t i = 0; i < count; ++i)
      for (auto [d, size] : llvm::enumerate(specs[i].shape))
        if (size == TensorSpec::kDynamic)
          sizes.push_back(buffers[i].shape[d]);
  };
  appendSizes(inputs, numInputs, sig.inputs);
  appendSizes(results, numResults, sig.results);
  auto checkFailed = [&](int32_t status) {
    return llvm::createStringError("'" + name.str() +
                                   "': " + sig.describeStatus(status));
  };
  if (target != Target::CUDA) {
    if (options.stream)
      return llvm::createStringError("'" + name.str() +
                                     "' runs on the CPU: a CUDA stream "
                                     "applies to CUDA modules only");
    if (int32_t status = impl->packed[index](pointers, sizes.data()))
      return checkFailed(status);
    return llvm::Error::success();
  }

  if (auto err = cuda::initialize())
    return err;
  // The runtime makes its context current on this thread; the caller's
  // (another device's, for a runtime API's current device) comes back
  // after the call. A stream set on the thread (normlirCudaSetStream, for
  // ahead-of-time libraries) is put aside for the call and back after it.
  struct Scope {
    void *context = normlirCudaSaveContext();
    void *stream = nullptr;
    bool hadStream = normlirCudaGetStream(&stream) != 0;
    ~Scope() {
      if (!hadStream || normlirCudaSetStream(stream))
        normlirCudaResetStream();
      normlirCudaRestoreContext(context);
    }
  } scope;
  if (!options.stream)
    normlirCudaResetStream();
  else if (normlirCudaSetStream(*options.stream))
    return llvm::createStringError("'" + name.str() +
                                   "': " + normlirCudaGetErrorMessage());
  // Device buffers: each must be device memory of the runtime's context,
  // large enough and aligned for the kernels' 16-byte accesses.
  auto checkDevice = [&](const RawBuffer *buffers, size_t count,
                         llvm::StringRef what) -> llvm::Error {
    for (size_t i = 0; i < count; ++i)
      if (auto err =
              cuda::checkDeviceBuffer(buffers[i].data, sizeInBytes(buffers[i])))
        return llvm::createStringError(what.str() + " " + std::to_string(i) +
                                       " of '" + name.str() +
                                       "': " + llvm::toString(std::move(err)));
    return llvm::Error::success();
  };
  if (auto err = checkDevice(inputs, numInputs, "input"))
    return err;
  if (auto err = checkDevice(results, numResults, "result"))
    return err;
  llvm::consumeError(cuda::takeRuntimeError());
  int32_t status = impl->packed[index](pointers, sizes.data());
  if (status >= kStatusNegativeSize)
    return checkFailed(status);
  if (auto err = cuda::takeRuntimeError())
    return llvm::createStringError("'" + name.str() + "' failed on the GPU: " +
                                   llvm::toString(std::move(err)));
  if (status)
    return llvm::createStringError("'" + name.str() +
                                   "' failed on the GPU (status " +
                                   std::to_string(status) + ")");
  return llvm::Error::success();
}

llvm::Error JITModule::invoke(llvm::StringRef name,
                              llvm::ArrayRef<BufferView> inputs,
                              llvm::ArrayRef<BufferView> results,
                              const CallOptions &options) const {
  auto sig = lookup(name);
  if (!sig)
    return sig.takeError();
  size_t index = *sig - functions.data();
  auto toRaw = [](llvm::ArrayRef<BufferView> views) {
    std::vector<RawBuffer> raw;
    for (const BufferView &b : views)
      raw.push_back({b.data, b.spec.elementType,
                     static_cast<int>(b.spec.shape.size()), b.spec.shape.data(),
                     nullptr});
    return raw;
  };
  std::vector<RawBuffer> in = toRaw(inputs), out = toRaw(results);
  return call(index, in.data(), in.size(), out.data(), out.size(), options);
}
