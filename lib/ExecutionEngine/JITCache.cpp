//===- JITCache.cpp - The JIT's in-memory and disk caches -----------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// JITModule::compile looks a compile up by its key (computeCacheKey) in
// memory, where concurrent compiles of one key share one future, then on
// disk, where an entry is `<key>.o` plus `<key>.json` (signatures, warnings
// and a SHA-256 of both), and compiles only when both miss.
//
//===----------------------------------------------------------------------===//

#include "JITLoader.h"
#include "normlir/Dialect/Norm/Transforms/TuningDatabase.h"
#include "normlir/ExecutionEngine/Compiler.h"
#include "normlir/ExecutionEngine/CudaRuntime.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SHA256.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <list>
#include <mutex>
#include <unordered_map>

using namespace normlir;

//===----------------------------------------------------------------------===//
// The cache key
//===----------------------------------------------------------------------===//

/// The key of a compile in both caches: the SHA-256 of everything the object
/// code depends on (the compiler's build id, the host CPU and its caches, the
/// target CPU named in the options, the options and the spec). Whatever else
/// a compile comes to depend on must be added here, and only here.
static std::string computeCacheKey(llvm::StringRef source,
                                   llvm::StringRef bufferName,
                                   const JITOptions &o,
                                   llvm::StringRef tuningDigest) {
  llvm::SHA256 hash;
  auto add = [&](llvm::StringRef s) {
    hash.update(s);
    hash.update(llvm::StringRef("\0", 1));
  };
  add(getVersionString());
  add(getHostCPUDescription());
  add(o.target == Target::CUDA ? "cuda" : "cpu");
  add(o.targetCPU);
  add(o.targetFeatures);
  add(o.cudaChip);
  add(std::to_string(o.cudaMultiprocessors));
  add(o.cudaFormat);
  // The database's contents, not its path: a retuned file is a new key.
  add(tuningDigest);
  add(std::to_string(o.optLevel));
  add(o.schedule);
  add(o.forLibrary ? "library" : "jit");
  add(o.differentiate ? (o.recomputeStatistics ? "differentiate-recompute"
                                               : "differentiate")
                      : "forward");
  add(bufferName);
  add(source);
  return llvm::toHex(hash.final(), /*LowerCase=*/true);
}

//===----------------------------------------------------------------------===//
// The disk cache
//===----------------------------------------------------------------------===//

namespace {
std::mutex cacheDirMutex;
std::optional<std::string> cacheDirOverride;
} // namespace

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
    llvm::json::Array checks, resultDims;
    for (const std::string &c : sig.checks)
      checks.push_back(c);
    for (const FunctionSignature::ResultDim &r : sig.resultDims)
      resultDims.push_back(llvm::json::Array{int64_t(r.result), int64_t(r.dim),
                                             int64_t(r.input),
                                             int64_t(r.inputDim)});
    functions.push_back(
        llvm::json::Object{{"name", sig.name},
                           {"inputs", std::move(inputs)},
                           {"results", std::move(results)},
                           {"checks", std::move(checks)},
                           {"result_dims", std::move(resultDims)}});
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
    if (!i || (*i < 0 && *i != TensorSpec::kDynamic))
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
    const llvm::json::Array *checks = fo->getArray("checks");
    if (!checks)
      return std::nullopt;
    for (const llvm::json::Value &c : *checks) {
      auto text = c.getAsString();
      if (!text)
        return std::nullopt;
      sig.checks.push_back(text->str());
    }
    const llvm::json::Array *resultDims = fo->getArray("result_dims");
    if (!resultDims)
      return std::nullopt;
    for (const llvm::json::Value &r : *resultDims) {
      const llvm::json::Array *four = r.getAsArray();
      if (!four || four->size() != 4)
        return std::nullopt;
      int64_t v[4];
      for (int k = 0; k < 4; ++k) {
        auto i = (*four)[k].getAsInteger();
        if (!i || *i < 0)
          return std::nullopt;
        v[k] = *i;
      }
      sig.resultDims.push_back(
          {size_t(v[0]), size_t(v[1]), size_t(v[2]), size_t(v[3])});
    }
    result.functions.push_back(std::move(sig));
  }
  return result;
}

//===----------------------------------------------------------------------===//
// The in-memory cache and compiles
//===----------------------------------------------------------------------===//

namespace {
std::atomic<int64_t> numCompiles{0}, numMemoryHits{0}, numDiskHits{0};
/// Nanoseconds spent in compileUncached.
std::atomic<int64_t> compileNanoseconds{0};

using CacheResult = std::pair<std::shared_ptr<const JITModule>, std::string>;
/// Keys by recency (the most recent first) and their entries: a bounded LRU
/// cache, so that a server that meets many shapes does not keep every
/// module it ever compiled.
struct MemoryCache {
  std::mutex mutex;
  std::list<std::string> recency;
  struct Entry {
    /// The id of the compile that fills it.
    uint64_t id;
    std::shared_future<CacheResult> result;
    std::list<std::string>::iterator position;
  };
  std::unordered_map<std::string, Entry> entries;
  uint64_t nextId = 0;
  int64_t capacity = defaultCapacity();

  /// Forgets the least recently used entries beyond the capacity, but not
  /// a compile in flight: its concurrent callers find it and wait, so one
  /// key compiles once whatever the capacity (its owner evicts again when
  /// it is done).
  void evict() {
    for (auto it = recency.end();
         int64_t(entries.size()) > capacity && it != recency.begin();) {
      --it;
      auto entry = entries.find(*it);
      if (entry->second.result.wait_for(std::chrono::seconds(0)) !=
          std::future_status::ready)
        continue;
      entries.erase(entry);
      it = recency.erase(it);
    }
  }
  void erase(std::unordered_map<std::string, Entry>::iterator it) {
    recency.erase(it->second.position);
    entries.erase(it);
  }

  static int64_t defaultCapacity() {
    if (const char *env = std::getenv("NORMLIR_CACHE_SIZE")) {
      llvm::StringRef text(env);
      int64_t v = 0;
      if (!text.getAsInteger(10, v) && v >= 0 && v <= (int64_t(1) << 62))
        return v;
    }
    return 512;
  }
};
/// Never destroyed: modules may outlive static destructors (e.g. in Python).
MemoryCache &getMemoryCache() {
  static auto *cache = new MemoryCache();
  return *cache;
}
} // namespace

CacheStats normlir::getCacheStats() {
  CacheStats stats{numCompiles.load(), numMemoryHits.load(), numDiskHits.load(),
                   compileNanoseconds.load() * 1e-9};
  MemoryCache &cache = getMemoryCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  stats.memoryEntries = cache.entries.size();
  stats.memoryCapacity = cache.capacity;
  return stats;
}

void normlir::setMemoryCacheCapacity(int64_t capacity) {
  MemoryCache &cache = getMemoryCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.capacity = std::max<int64_t>(capacity, 0);
  cache.evict();
}

void normlir::clearMemoryCache() {
  MemoryCache &cache = getMemoryCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.entries.clear();
  cache.recency.clear();
}

/// A compile that misses the memory cache: the disk cache, else a compile.
static llvm::Expected<std::shared_ptr<const JITModule>>
compileOrLoad(llvm::StringRef source, llvm::StringRef bufferName,
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

/// compileOrLoad, timed (CacheStats::compileSeconds).
static llvm::Expected<std::shared_ptr<const JITModule>>
compileUncached(llvm::StringRef source, llvm::StringRef bufferName,
                const JITOptions &options, llvm::StringRef key) {
  auto start = std::chrono::steady_clock::now();
  auto module = compileOrLoad(source, bufferName, options, key);
  compileNanoseconds += std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
  return module;
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
    if (info && resolved.cudaMultiprocessors == 0)
      resolved.cudaMultiprocessors = info->multiprocessors;
    if (!info)
      llvm::consumeError(info.takeError());
  }
  if (resolved.tuningDB.empty())
    if (const char *path = std::getenv("NORMLIR_TUNING_DB"))
      resolved.tuningDB = path;
  std::string tuningDigest;
  if (!resolved.tuningDB.empty()) {
    auto database = norm::TuningDatabase::load(resolved.tuningDB);
    if (!database)
      return database.takeError();
    tuningDigest = (*database)->getDigest().str();
  }
  std::string key = computeCacheKey(source, bufferName, resolved, tuningDigest);
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
      future = it->second.result;
      cache.recency.splice(cache.recency.begin(), cache.recency,
                           it->second.position);
    } else {
      future = promise.get_future().share();
      id = cache.nextId++;
      cache.recency.push_front(key);
      cache.entries.emplace(
          key, MemoryCache::Entry{id, future, cache.recency.begin()});
      owner = true;
      cache.evict();
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
    // Done: now it may go (a capacity below the entries in flight).
    std::lock_guard<std::mutex> lock(cache.mutex);
    cache.evict();
    return module;
  }
  std::string error = llvm::toString(module.takeError());
  promise.set_value({nullptr, error});
  // Errors are not cached: a later compile tries again.
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    auto it = cache.entries.find(key);
    if (it != cache.entries.end() && it->second.id == id)
      cache.erase(it);
  }
  return llvm::createStringError(error);
}
