//===- CudaDevice.cpp - C++ API over the CUDA runtime ---------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// normlir/ExecutionEngine/CudaRuntime.h over the C API of libNormLIRRuntime.so
// (normlir/Runtime/CudaRuntime.h): statuses and the runtime's error text
// become llvm::Errors. The runtime keeps all driver state; nothing is cached
// here.
//
//===----------------------------------------------------------------------===//

#include "normlir/ExecutionEngine/CudaRuntime.h"
#include "normlir/Runtime/CudaRuntime.h"

#include <optional>

using namespace normlir;
using namespace normlir::cuda;

/// The error of the calling thread's last failed normlirCuda* call.
static llvm::Error runtimeError() {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 normlirCudaGetErrorMessage());
}

/// `status` of a normlirCuda* call as an llvm::Error.
static llvm::Error check(int status) {
  return status ? runtimeError() : llvm::Error::success();
}

llvm::Error cuda::initialize() { return check(normlirCudaInitialize()); }

std::string DeviceInfo::chip() const {
  return "sm_" + std::to_string(major) + std::to_string(minor);
}

llvm::Expected<DeviceInfo> cuda::getDeviceInfo() {
  normlirCudaDeviceInfo raw;
  if (normlirCudaGetDeviceInfo(&raw))
    return runtimeError();
  DeviceInfo info;
  info.ordinal = raw.ordinal;
  info.name = raw.name;
  info.major = raw.major;
  info.minor = raw.minor;
  info.multiprocessors = raw.multiprocessors;
  info.totalMemory = raw.totalMemory;
  info.driverVersion = raw.driverVersion;
  return info;
}

llvm::Expected<DeviceBuffer> DeviceBuffer::allocate(size_t bytes) {
  void *ptr = nullptr;
  if (normlirCudaAllocate(bytes, &ptr))
    return runtimeError();
  if (!ptr)
    return DeviceBuffer();
  return DeviceBuffer(ptr, bytes);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer &&other) noexcept
    : ptr(other.ptr), bytes(other.bytes) {
  other.ptr = nullptr;
  other.bytes = 0;
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) noexcept {
  if (this != &other) {
    reset();
    ptr = other.ptr;
    bytes = other.bytes;
    other.ptr = nullptr;
    other.bytes = 0;
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() { reset(); }

void DeviceBuffer::reset() {
  normlirCudaFree(ptr);
  ptr = nullptr;
  bytes = 0;
}

llvm::Error DeviceBuffer::copyFromHost(const void *src, size_t count) {
  if (count > bytes)
    return llvm::createStringError("cannot copy " + std::to_string(count) +
                                   " bytes into a device buffer of " +
                                   std::to_string(bytes) + " bytes");
  return check(normlirCudaCopyToDevice(ptr, src, count));
}

llvm::Error DeviceBuffer::copyToHost(void *dst, size_t count) const {
  if (count > bytes)
    return llvm::createStringError("cannot copy " + std::to_string(count) +
                                   " bytes out of a device buffer of " +
                                   std::to_string(bytes) + " bytes");
  return check(normlirCudaCopyToHost(dst, ptr, count));
}

llvm::Error cuda::checkDeviceBuffer(const void *ptr, size_t bytes) {
  return check(normlirCudaCheckDeviceBuffer(ptr, bytes));
}

llvm::Error cuda::selectDevice(int ordinal) {
  return check(normlirCudaSelectDevice(ordinal));
}

llvm::Error cuda::synchronize() { return check(normlirCudaSynchronize()); }

void cuda::setDeferredSynchronization(bool on) {
  normlirCudaSetDeferredSynchronization(on ? 1 : 0);
}

llvm::Expected<double>
cuda::timeOnStream(llvm::function_ref<llvm::Error()> body) {
  // The body's error crosses the C API in this context, not as text.
  struct Context {
    llvm::function_ref<llvm::Error()> body;
    std::optional<llvm::Error> error;
  } context{body, std::nullopt};
  auto run = [](void *opaque) -> int {
    auto *c = static_cast<Context *>(opaque);
    llvm::Error err = c->body();
    if (!err)
      return 0;
    c->error.emplace(std::move(err));
    return 1;
  };
  double milliseconds = 0;
  int status = normlirCudaTimeOnStream(run, &context, &milliseconds);
  if (context.error)
    return std::move(*context.error);
  if (status)
    return runtimeError();
  return milliseconds;
}

llvm::Error cuda::copyDeviceToDevice(void *dst, const void *src, size_t bytes) {
  return check(normlirCudaCopyDeviceToDevice(dst, src, bytes));
}

std::vector<std::pair<std::string, void *>> cuda::getRuntimeSymbols() {
  size_t count = 0;
  const normlirRuntimeSymbol *symbols = normlirCudaGetRuntimeSymbols(&count);
  std::vector<std::pair<std::string, void *>> result;
  for (size_t i = 0; i < count; ++i)
    result.emplace_back(symbols[i].name, symbols[i].address);
  return result;
}

llvm::Error cuda::takeRuntimeError() {
  const char *message = normlirRuntimeGetLastError();
  if (!message)
    return llvm::Error::success();
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}
