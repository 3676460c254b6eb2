//===- CudaDriver.cpp - The CUDA driver, loaded with dlopen ---------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Loads the driver once per process: libcuda.so.1 with dlopen, the entry
// points of CudaDriverSymbols.def with dlsym, then cuInit, the device named
// by NORMLIR_CUDA_DEVICE, its description and its primary context. The
// driver is never released, and a failure is kept as the driver's error, so
// every later use reports the same reason.
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"

#include <dlfcn.h>

#include <atomic>

#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <type_traits>

using namespace normlir::runtime;

std::string Driver::describe(CUresult result) const {
  const char *name = nullptr, *text = nullptr;
  if (cuGetErrorName && cuGetErrorName(result, &name) != CUDA_SUCCESS)
    name = nullptr;
  if (cuGetErrorString && cuGetErrorString(result, &text) != CUDA_SUCCESS)
    text = nullptr;
  std::string s = name ? name : "CUresult " + std::to_string(result);
  if (text)
    s += std::string(" (") + text + ")";
  return s;
}

std::string Driver::describe(const std::string &call, CUresult result) const {
  return call + ": " + describe(result);
}

std::string Driver::chip() const {
  return "sm_" + std::to_string(info.major) + std::to_string(info.minor);
}

std::string normlir::runtime::hex(uint64_t value) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "0x%" PRIx64, value);
  return digits;
}

/// Parses NORMLIR_CUDA_DEVICE: a decimal integer, surrounded by whitespace
/// or not; an empty value means the default. False if it is not an ordinal.
static bool parseOrdinal(const char *text, int &ordinal) {
  const char *space = " \t\n\v\f\r";
  std::string s(text);
  size_t begin = s.find_first_not_of(space);
  if (begin == std::string::npos)
    return true;
  s = s.substr(begin, s.find_last_not_of(space) - begin + 1);
  bool negative = s[0] == '-';
  size_t i = negative ? 1 : 0;
  if (i == s.size())
    return false;
  long long value = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    value = value * 10 + (s[i] - '0');
    if (value > INT_MAX)
      return false;
  }
  // "-0" is 0; any other negative number is no ordinal.
  if (negative && value != 0)
    return false;
  ordinal = static_cast<int>(value);
  return true;
}

/// Resolves the entry points of CudaDriverSymbols.def; on a missing required
/// one, returns its symbol name.
static const char *resolveSymbols(void *library, Driver &d) {
  const char *missing = nullptr;
  auto resolve = [&](auto &fn, const char *symbol) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
        dlsym(library, symbol));
    return fn != nullptr;
  };
#define NORMLIR_CUDA_REQUIRED(name, symbol, ...)                               \
  if (!resolve(d.name, #symbol) && !missing)                                   \
    missing = #symbol;
#define NORMLIR_CUDA_REQUIRED_OR(name, symbol, fallback, ...)                  \
  if (!resolve(d.name, #symbol) && !resolve(d.name, #fallback) && !missing)    \
    missing = #fallback;
#define NORMLIR_CUDA_OPTIONAL(name, symbol, ...) resolve(d.name, #symbol);
#include "CudaDriverSymbols.def"
  return missing;
}

/// Loads the driver. Always returns a driver; its `error` says if it is
/// unusable.
static Driver *loadDriver(int requested) {
  auto *d = new Driver();
  void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *reason = dlerror();
    d->error = std::string("no CUDA driver: cannot load libcuda.so.1 (") +
               (reason ? reason : "unknown reason") + ")";
    return d;
  }
  if (const char *missing = resolveSymbols(library, *d)) {
    d->error =
        std::string("CUDA driver libcuda.so.1 is too old: it lacks ") + missing;
    return d;
  }

  if (CUresult r = d->cuInit(0)) {
    d->error = "CUDA driver has no usable GPU: " + d->describe("cuInit", r);
    return d;
  }
  int count = 0;
  if (CUresult r = d->cuDeviceGetCount(&count)) {
    d->error =
        "CUDA driver has no usable GPU: " + d->describe("cuDeviceGetCount", r);
    return d;
  }
  if (count <= 0) {
    d->error = "CUDA driver has no usable GPU: it reports no devices";
    return d;
  }

  // NORMLIR_CUDA_DEVICE, else the device of the first call that named one
  // (a PyTorch tensor's), else 0.
  int ordinal = 0;
  d->ordinalSource = "the default device";
  if (const char *env = std::getenv("NORMLIR_CUDA_DEVICE"); env && env[0]) {
    if (!parseOrdinal(env, ordinal)) {
      d->error = "NORMLIR_CUDA_DEVICE='" + std::string(env) +
                 "' is not a device ordinal";
      return d;
    }
    d->ordinalSource = "NORMLIR_CUDA_DEVICE";
  } else if (requested >= 0 && requested < count) {
    // (A request past the devices present picks nothing: its caller,
    // normlirCudaSelectDevice, reports it, and the process keeps CUDA.)
    ordinal = requested;
    d->ordinalSource = "the first device used";
  }
  d->deviceCount = count;
  if (ordinal >= count) {
    d->error = "device " + std::to_string(ordinal) + " requested by " +
               d->ordinalSource + ", but only " + std::to_string(count) +
               " present";
    return d;
  }
  d->ordinal = ordinal;

  auto fail = [&](const char *call, CUresult r) {
    d->error = "cannot use CUDA device " + std::to_string(ordinal) + ": " +
               d->describe(call, r);
    return d;
  };
  if (CUresult r = d->cuDeviceGet(&d->device, ordinal))
    return fail("cuDeviceGet", r);

  normlirCudaDeviceInfo &info = d->info;
  info.ordinal = ordinal;
  if (CUresult r =
          d->cuDeviceGetName(info.name, sizeof(info.name) - 1, d->device))
    return fail("cuDeviceGetName", r);
  struct {
    int *value;
    int attribute;
  } attributes[] = {
      {&info.major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR},
      {&info.minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR},
      {&info.multiprocessors, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT},
  };
  for (auto &a : attributes)
    if (CUresult r = d->cuDeviceGetAttribute(a.value, a.attribute, d->device))
      return fail("cuDeviceGetAttribute", r);
  if (CUresult r = d->cuDeviceTotalMem(&info.totalMemory, d->device))
    return fail("cuDeviceTotalMem", r);
  if (CUresult r = d->cuDriverGetVersion(&info.driverVersion))
    return fail("cuDriverGetVersion", r);

  if (CUresult r = d->cuDevicePrimaryCtxRetain(&d->context, d->device))
    return fail("cuDevicePrimaryCtxRetain", r);

  // Stream-ordered allocation, when the driver and device support it. The
  // default pool keeps freed memory (release threshold: unlimited), so that
  // the allocations of one call are recycled by the next instead of being
  // returned to the OS at every synchronization.
  int pools = 0;
  if (d->cuMemAllocAsync && d->cuMemFreeAsync &&
      d->cuDeviceGetAttribute(&pools,
                              CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED,
                              d->device) == CUDA_SUCCESS &&
      pools) {
    d->memoryPools = true;
    CUmemoryPool pool = nullptr;
    if (d->cuDeviceGetDefaultMemPool && d->cuMemPoolSetAttribute &&
        d->cuDeviceGetDefaultMemPool(&pool, d->device) == CUDA_SUCCESS) {
      uint64_t threshold = std::numeric_limits<uint64_t>::max();
      (void)d->cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                                     &threshold);
    }
  }
  return d;
}

/// The ordinal getDriverRequesting asked for before the driver loaded; -1
/// for none.
static std::atomic<int> requestedOrdinal{-1};

const Driver &normlir::runtime::getDriver() {
  static const Driver *driver = loadDriver(requestedOrdinal.load());
  return *driver;
}

const Driver &normlir::runtime::getDriverRequesting(int ordinal) {
  int none = -1;
  requestedOrdinal.compare_exchange_strong(none, ordinal);
  return getDriver();
}
