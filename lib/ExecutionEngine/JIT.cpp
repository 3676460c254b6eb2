//===- JIT.cpp - NormLIR C++ JIT API --------------------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/ExecutionEngine/JIT.h"
#include "normlir/ExecutionEngine/Compiler.h"
#include "normlir/ExecutionEngine/CudaRuntime.h"
#include "normlir/ExecutionEngine/FatalErrors.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/TargetSelect.h"

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <unordered_map>

using namespace normlir;

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

size_t normlir::getElementSize(ElementType type) {
  switch (type) {
  case ElementType::F16:
  case ElementType::BF16:
    return 2;
  case ElementType::F32:
  case ElementType::I32:
    return 4;
  case ElementType::F64:
  case ElementType::I64:
    return 8;
  }
  llvm_unreachable("unknown element type");
}

llvm::StringRef normlir::getElementTypeName(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return "f32";
  case ElementType::F16:
    return "f16";
  case ElementType::BF16:
    return "bf16";
  case ElementType::F64:
    return "f64";
  case ElementType::I64:
    return "i64";
  case ElementType::I32:
    return "i32";
  }
  llvm_unreachable("unknown element type");
}

std::optional<ElementType> normlir::parseElementType(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<ElementType>>(name)
      .Case("f32", ElementType::F32)
      .Case("f16", ElementType::F16)
      .Case("bf16", ElementType::BF16)
      .Case("f64", ElementType::F64)
      .Case("i64", ElementType::I64)
      .Case("i32", ElementType::I32)
      .Default(std::nullopt);
}

int64_t TensorSpec::getNumElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

llvm::Expected<size_t> normlir::getCheckedSizeInBytes(const TensorSpec &spec) {
  int64_t bytes = static_cast<int64_t>(getElementSize(spec.elementType));
  for (int64_t d : spec.shape) {
    if (d < 0)
      return llvm::createStringError("tensor " + spec.str() +
                                     " has a negative dimension");
    if (llvm::MulOverflow(bytes, d, bytes))
      return llvm::createStringError("tensor " + spec.str() +
                                     " is too large: its size overflows");
  }
  return static_cast<size_t>(bytes);
}

std::string TensorSpec::str() const {
  std::string s;
  for (int64_t d : shape)
    s += std::to_string(d) + "x";
  return s + getElementTypeName(elementType).str();
}
//===----------------------------------------------------------------------===//
// Loading objects into the process (ORC)
//===----------------------------------------------------------------------===//

/// The process's one LLJIT; each module gets its own JITDylib. Never
/// destroyed: modules may outlive static destructors (e.g. in Python).
static llvm::Expected<llvm::orc::LLJIT *> getJIT() {
  static std::once_flag once;
  static llvm::orc::LLJIT *jit = nullptr;
  static std::string error;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    auto created = llvm::orc::LLJITBuilder().create();
    if (!created) {
      error = llvm::toString(created.takeError());
      return;
    }
    jit = created->release();
  });
  if (!jit)
    return llvm::createStringError("cannot create the JIT: " + error);
  return jit;
}

using PackedFunction = int32_t (*)(void **);

struct JITModule::Impl {
  llvm::orc::JITDylib *dylib = nullptr;
  /// __normlir_packed_<f> of each function.
  std::vector<PackedFunction> packed;
  /// __normlir_fini: unloads GPU modules that were loaded.
  void (*fini)() = nullptr;
};

JITModule::JITModule() : impl(std::make_unique<Impl>()) {}

JITModule::~JITModule() {
  if (impl->fini)
    impl->fini();
  if (impl->dylib)
    if (auto jit = getJIT())
      llvm::consumeError(
          (*jit)->getExecutionSession().removeJITDylib(*impl->dylib));
}

namespace normlir {
/// Turns compiled objects into JITModules.
struct JITModuleLoader {
  /// loadImpl, with LLVM fatal errors (a malformed object the linker gives
  /// up on) returned as errors.
  static llvm::Expected<std::shared_ptr<JITModule>>
  load(const CompiledObject &object, bool fromDisk);
  static llvm::Expected<std::shared_ptr<JITModule>>
  loadImpl(const CompiledObject &object, bool fromDisk);
};
} // namespace normlir

llvm::Expected<std::shared_ptr<JITModule>>
JITModuleLoader::load(const CompiledObject &object, bool fromDisk) {
  return runRecoveringFatalErrors<std::shared_ptr<JITModule>>(
      [&] { return loadImpl(object, fromDisk); });
}

llvm::Expected<std::shared_ptr<JITModule>>
JITModuleLoader::loadImpl(const CompiledObject &object, bool fromDisk) {
  auto start = std::chrono::steady_clock::now();
  bool cuda = object.target == Target::CUDA;
  // Parallel loops call the OpenMP runtime; its symbols are resolved from
  // the process once the library is loaded.
  static std::once_flag ompOnce;
  static std::string ompError;
  std::call_once(ompOnce, [] {
    llvm::sys::DynamicLibrary::LoadLibraryPermanently(NORMLIR_LIBOMP_PATH,
                                                      &ompError);
  });
  if (!cuda && !ompError.empty())
    return llvm::createStringError("cannot load the OpenMP runtime " +
                                   std::string(NORMLIR_LIBOMP_PATH) + ": " +
                                   ompError);

  auto jit = getJIT();
  if (!jit)
    return jit.takeError();
  static std::atomic<uint64_t> counter{0};
  auto dylib = (*jit)->createJITDylib("normlir." + std::to_string(counter++));
  if (!dylib)
    return dylib.takeError();
  auto module = std::shared_ptr<JITModule>(new JITModule());
  module->impl->dylib = &*dylib;
  auto generator =
      llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
          (*jit)->getDataLayout().getGlobalPrefix());
  if (!generator)
    return generator.takeError();
  dylib->addGenerator(std::move(*generator));
  if (cuda) {
    // The host code calls the runtime's mgpu* and normlirRuntime* functions;
    // defined here, since the runtime library may not be globally visible.
    llvm::orc::SymbolMap map;
    for (auto &[name, address] : cuda::getRuntimeSymbols())
      map[(*jit)->mangleAndIntern(name)] = {
          llvm::orc::ExecutorAddr::fromPtr(address),
          llvm::JITSymbolFlags::Exported};
    if (auto err = dylib->define(llvm::orc::absoluteSymbols(std::move(map))))
      return std::move(err);
  }
  if (auto err =
          (*jit)->addObjectFile(*dylib, llvm::MemoryBuffer::getMemBufferCopy(
                                            object.object, "normlir-module")))
    return std::move(err);
  for (const FunctionSignature &sig : object.functions) {
    auto address = (*jit)->lookup(*dylib, "__normlir_packed_" + sig.name);
    if (!address)
      return address.takeError();
    module->impl->packed.push_back(address->toPtr<PackedFunction>());
  }
  if (object.hasFini) {
    auto address = (*jit)->lookup(*dylib, "__normlir_fini");
    if (!address)
      return address.takeError();
    module->impl->fini = address->toPtr<void (*)()>();
  }
  module->functions = object.functions;
  module->warnings = object.warnings;
  module->target = object.target;
  module->chip = object.chip;
  module->fromDiskCache = fromDisk;
  module->compileSeconds = fromDisk
                               ? std::chrono::duration<double>(
                                     std::chrono::steady_clock::now() - start)
                                     .count()
                               : object.seconds;
  return module;
}

//===----------------------------------------------------------------------===//
// Caches
//===----------------------------------------------------------------------===//

namespace {
std::atomic<int64_t> numCompiles{0}, numMemoryHits{0}, numDiskHits{0};

std::mutex cacheDirMutex;
std::optional<std::string> cacheDirOverride;

using CacheResult = std::pair<std::shared_ptr<const JITModule>, std::string>;
struct MemoryCache {
  std::mutex mutex;
  /// Each entry with the id of the compile that fills it.
  std::unordered_map<std::string,
                     std::pair<uint64_t, std::shared_future<CacheResult>>>
      entries;
  uint64_t nextId = 0;
};
/// Never destroyed (see getJIT).
MemoryCache &getMemoryCache() {
  static auto *cache = new MemoryCache();
  return *cache;
}
} // namespace

CacheStats normlir::getCacheStats() {
  return {numCompiles.load(), numMemoryHits.load(), numDiskHits.load()};
}

void normlir::setCacheDirectory(llvm::StringRef path) {
  std::lock_guard<std::mutex> lock(cacheDirMutex);
  cacheDirOverride = path == "off" ? std::string() : path.str();
}

std::string normlir::getCacheDirectory() {
  {
    std::lock_guard<std::mutex> lock(cacheDirMutex);
    if (cacheDirOverride)
      return *cacheDirOverride;
  }
  if (auto env = llvm::sys::Process::GetEnv("NORMLIR_CACHE_DIR"))
    return *env == "off" ? std::string() : *env;
  llvm::SmallString<256> dir;
  if (auto xdg = llvm::sys::Process::GetEnv("XDG_CACHE_HOME");
      xdg && !xdg->empty())
    dir = *xdg;
  else if (llvm::sys::path::home_directory(dir))
    llvm::sys::path::append(dir, ".cache");
  else
    return std::string();
  llvm::sys::path::append(dir, "normlir");
  return std::string(dir);
}

void normlir::clearMemoryCache() {
  MemoryCache &cache = getMemoryCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.entries.clear();
}

/// The key of a compile: everything the object code depends on.
static std::string getCacheKey(llvm::StringRef source,
                               llvm::StringRef bufferName,
                               const JITOptions &o) {
  llvm::SHA256 hash;
  auto add = [&](llvm::StringRef s) {
    hash.update(s);
    hash.update(llvm::StringRef("\0", 1));
  };
  add(getVersionString());
  add(getHostCPUDescription());
  add(o.target == Target::CUDA ? "cuda" : "cpu");
  add(o.cudaChip);
  add(o.cudaFormat);
  add(std::to_string(o.optLevel));
  add(o.schedule);
  add(o.forLibrary ? "library" : "jit");
  add(bufferName);
  add(source);
  return llvm::toHex(hash.final(), /*LowerCase=*/true);
}

static llvm::json::Value toJSON(const TensorSpec &t) {
  return llvm::json::Array{getElementTypeName(t.elementType),
                           llvm::json::Array(t.shape)};
}

/// Writes `contents` to `path` atomically (a unique temporary renamed).
static void writeAtomically(llvm::StringRef path, llvm::StringRef contents) {
  llvm::SmallString<256> tmp;
  int fd;
  if (llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%%%", fd, tmp))
    return;
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << contents;
    if (os.has_error()) {
      os.clear_error();
      llvm::sys::fs::remove(tmp);
      return;
    }
  }
  if (llvm::sys::fs::rename(tmp, path))
    llvm::sys::fs::remove(tmp);
}

/// The SHA-256, as hex, of an entry's object bytes and of its metadata
/// without the checksum (printed as JSON, whose keys print sorted). The
/// metadata records it, so that an entry damaged on disk is compiled again
/// instead of executed: code overwritten with the headers intact still
/// links, and a signature changed in the metadata would let calls with the
/// wrong buffer sizes through.
static std::string entryChecksum(llvm::StringRef object,
                                 llvm::json::Object meta) {
  meta.erase("sha256");
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(meta));
  llvm::SHA256 hash;
  hash.update(object);
  hash.update(llvm::StringRef("\0", 1));
  hash.update(text);
  return llvm::toHex(hash.final(), /*LowerCase=*/true);
}

/// Stores `object` under `key`; failures only lose the cache entry.
static void storeOnDisk(llvm::StringRef dir, llvm::StringRef key,
                        const CompiledObject &object) {
  if (llvm::sys::fs::create_directories(dir))
    return;
  llvm::json::Array functions;
  for (const FunctionSignature &sig : object.functions) {
    llvm::json::Array inputs, results;
    for (const TensorSpec &t : sig.inputs)
      inputs.push_back(toJSON(t));
    for (const TensorSpec &t : sig.results)
      results.push_back(toJSON(t));
    functions.push_back(llvm::json::Object{{"name", sig.name},
                                           {"inputs", std::move(inputs)},
                                           {"results", std::move(results)}});
  }
  llvm::json::Object meta{
      {"version", getVersionString()},
      {"target", object.target == Target::CUDA ? "cuda" : "cpu"},
      {"chip", object.chip},
      {"has_fini", object.hasFini},
      {"warnings", object.warnings},
      {"functions", std::move(functions)}};
  meta["sha256"] = entryChecksum(object.object, meta);
  std::string base = (dir + "/" + key).str();
  // The object first: the metadata is the entry's commit point.
  writeAtomically(base + ".o", object.object);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(meta));
  writeAtomically(base + ".json", text);
}

static std::optional<TensorSpec> tensorFromJSON(const llvm::json::Value &v) {
  const llvm::json::Array *pair = v.getAsArray();
  if (!pair || pair->size() != 2)
    return std::nullopt;
  auto name = (*pair)[0].getAsString();
  const llvm::json::Array *shape = (*pair)[1].getAsArray();
  if (!name || !shape)
    return std::nullopt;
  auto type = parseElementType(*name);
  if (!type)
    return std::nullopt;
  TensorSpec t{*type, {}};
  for (const llvm::json::Value &d : *shape) {
    auto i = d.getAsInteger();
    if (!i || *i < 0)
      return std::nullopt;
    t.shape.push_back(*i);
  }
  return t;
}

/// The entry `key` of the disk cache, if there is a valid one.
static std::optional<CompiledObject> loadFromDisk(llvm::StringRef dir,
                                                  llvm::StringRef key) {
  std::string base = (dir + "/" + key).str();
  auto metaFile = llvm::MemoryBuffer::getFile(base + ".json");
  if (!metaFile)
    return std::nullopt;
  auto objectFile = llvm::MemoryBuffer::getFile(base + ".o");
  if (!objectFile)
    return std::nullopt;
  auto meta = llvm::json::parse((*metaFile)->getBuffer());
  if (!meta) {
    llvm::consumeError(meta.takeError());
    return std::nullopt;
  }
  const llvm::json::Object *obj = meta->getAsObject();
  if (!obj || obj->getString("version") != getVersionString())
    return std::nullopt;
  // Checked before the object is linked and run: a damaged one would
  // execute garbage.
  if (obj->getString("sha256") !=
      entryChecksum((*objectFile)->getBuffer(), *obj))
    return std::nullopt;
  CompiledObject result;
  result.object = (*objectFile)->getBuffer().str();
  result.target =
      obj->getString("target") == "cuda" ? Target::CUDA : Target::CPU;
  result.chip = obj->getString("chip").value_or("").str();
  result.hasFini = obj->getBoolean("has_fini").value_or(false);
  result.warnings = obj->getString("warnings").value_or("").str();
  const llvm::json::Array *functions = obj->getArray("functions");
  if (!functions)
    return std::nullopt;
  for (const llvm::json::Value &f : *functions) {
    const llvm::json::Object *fo = f.getAsObject();
    if (!fo || !fo->getString("name"))
      return std::nullopt;
    FunctionSignature sig;
    sig.name = fo->getString("name")->str();
    for (auto [field, out] : {std::pair{"inputs", &sig.inputs},
                              std::pair{"results", &sig.results}}) {
      const llvm::json::Array *list = fo->getArray(field);
      if (!list)
        return std::nullopt;
      for (const llvm::json::Value &t : *list) {
        auto spec = tensorFromJSON(t);
        if (!spec)
          return std::nullopt;
        out->push_back(*spec);
      }
    }
    result.functions.push_back(std::move(sig));
  }
  return result;
}

/// A compile that misses the memory cache: the disk cache, else a compile.
static llvm::Expected<std::shared_ptr<const JITModule>>
compileUncached(llvm::StringRef source, llvm::StringRef bufferName,
                const JITOptions &options, llvm::StringRef key) {
  std::string dir = options.diskCache ? getCacheDirectory() : std::string();
  if (!dir.empty())
    if (auto cached = loadFromDisk(dir, key)) {
      auto module = JITModuleLoader::load(*cached, /*fromDisk=*/true);
      if (module) {
        ++numDiskHits;
        return std::shared_ptr<const JITModule>(std::move(*module));
      }
      // A damaged entry is compiled again and overwritten.
      llvm::consumeError(module.takeError());
    }
  auto object = compileToObject(source, bufferName, options);
  if (!object)
    return object.takeError();
  ++numCompiles;
  if (!dir.empty())
    storeOnDisk(dir, key, *object);
  auto module = JITModuleLoader::load(*object, /*fromDisk=*/false);
  if (!module)
    return llvm::createStringError("failed to load the compiled " +
                                   bufferName.str() + ": " +
                                   llvm::toString(module.takeError()));
  return std::shared_ptr<const JITModule>(std::move(*module));
}

llvm::Expected<std::shared_ptr<const JITModule>>
JITModule::compile(llvm::StringRef source, llvm::StringRef bufferName,
                   const JITOptions &options) {
  JITOptions resolved = options;
  resolved.optLevel = std::min(options.optLevel, 3u);
  if (resolved.target == Target::CUDA && resolved.cudaChip.empty()) {
    // The device's own architecture where there is one; part of the key.
    auto info = cuda::getDeviceInfo();
    resolved.cudaChip = info ? info->chip() : "sm_90";
    if (!info)
      llvm::consumeError(info.takeError());
  }
  std::string key = getCacheKey(source, bufferName, resolved);
  if (!resolved.memoryCache)
    return compileUncached(source, bufferName, resolved, key);

  // One compile per key: the first caller compiles, concurrent callers wait
  // for its result.
  MemoryCache &cache = getMemoryCache();
  std::promise<CacheResult> promise;
  std::shared_future<CacheResult> future;
  bool owner = false;
  uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    auto it = cache.entries.find(key);
    if (it != cache.entries.end()) {
      future = it->second.second;
    } else {
      future = promise.get_future().share();
      id = cache.nextId++;
      cache.entries.emplace(key, std::make_pair(id, future));
      owner = true;
    }
  }
  if (!owner) {
    ++numMemoryHits;
    const CacheResult &result = future.get();
    if (result.first)
      return result.first;
    return llvm::createStringError(result.second);
  }
  auto module = compileUncached(source, bufferName, resolved, key);
  if (module) {
    promise.set_value({*module, std::string()});
    return module;
  }
  std::string error = llvm::toString(module.takeError());
  promise.set_value({nullptr, error});
  // Errors are not cached: a later compile tries again.
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    auto it = cache.entries.find(key);
    if (it != cache.entries.end() && it->second.first == id)
      cache.entries.erase(it);
  }
  return llvm::createStringError(error);
}

//===----------------------------------------------------------------------===//
// Calls
//===----------------------------------------------------------------------===//

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
    bool same =
        b.elementType == expected.elementType &&
        b.rank == static_cast<int>(expected.shape.size()) &&
        (b.rank == 0 || b.shape) &&
        std::equal(expected.shape.begin(), expected.shape.end(), b.shape);
    if (!same)
      return llvm::createStringError(
          what.str() + " " + std::to_string(i) + " of '" + func.str() +
          "' must be " + expected.str() + ", got " +
          (b.rank < 0 || (b.rank > 0 && !b.shape) ? "a malformed buffer"
                                                  : describe(b)));
    int64_t numElements = expected.getNumElements();
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
                            size_t numResults) const {
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
  if (target != Target::CUDA) {
    impl->packed[index](pointers);
    return llvm::Error::success();
  }

  if (auto err = cuda::initialize())
    return err;
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
  int32_t status = impl->packed[index](pointers);
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
                              llvm::ArrayRef<BufferView> results) const {
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
  return call(index, in.data(), in.size(), out.data(), out.size());
}
