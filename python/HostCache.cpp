//===- HostCache.cpp - cached host memory for the Python package's outputs ===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "HostCache.h"

#include <algorithm>
#include <cstdlib>
#include <list>
#include <map>
#include <mutex>

#include <sys/mman.h>
#include <unistd.h>

using namespace normlir::python;

namespace {

constexpr size_t kPage = 4096;
constexpr size_t kHugePage = size_t(2) << 20;

/// Free blocks by size (exact sizes: a training loop asks for the same ones
/// each step), the oldest first within a size; released oldest first when
/// the limit shrinks.
class HostCache {
public:
  static HostCache &get() {
    // Never destroyed: torch may free a tensor (and return its block) while
    // the interpreter shuts down, after static destructors would have run.
    static HostCache *cache = new HostCache();
    return *cache;
  }

  void *allocate(size_t bytes, size_t &blockBytes) {
    blockBytes = roundUp(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto it = freeBlocks.find(blockBytes);
      if (it != freeBlocks.end() && !it->second.empty()) {
        void *p = it->second.front();
        it->second.pop_front();
        info.cachedBytes -= blockBytes;
        --info.cachedBlocks;
        ++info.hits;
        info.inUseBytes += blockBytes;
        return p;
      }
      ++info.misses;
    }
    void *p = systemAllocate(blockBytes);
    if (p) {
      std::lock_guard<std::mutex> lock(mutex);
      info.inUseBytes += blockBytes;
    }
    return p;
  }

  void release(void *p, size_t blockBytes) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      info.inUseBytes -= blockBytes;
      if (info.cachedBytes + blockBytes <= info.limitBytes) {
        freeBlocks[blockBytes].push_back(p);
        info.cachedBytes += blockBytes;
        ++info.cachedBlocks;
        return;
      }
    }
    std::free(p);
  }

  HostCacheInfo snapshot() {
    std::lock_guard<std::mutex> lock(mutex);
    return info;
  }

  void setLimit(uint64_t limit) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      info.limitBytes = limit;
    }
    trim(limit);
  }

  /// Keeps at most `limit` free bytes, releasing the largest blocks first.
  void trim(uint64_t limit) {
    std::list<void *> released;
    {
      std::lock_guard<std::mutex> lock(mutex);
      for (auto it = freeBlocks.rbegin();
           it != freeBlocks.rend() && info.cachedBytes > limit; ++it) {
        while (!it->second.empty() && info.cachedBytes > limit) {
          released.push_back(it->second.front());
          it->second.pop_front();
          info.cachedBytes -= it->first;
          --info.cachedBlocks;
        }
      }
    }
    for (void *p : released)
      std::free(p);
  }

private:
  HostCache() { info.limitBytes = defaultLimit(); }

  static size_t roundUp(size_t bytes) {
    size_t unit = bytes >= kHugePage ? kHugePage : kPage;
    return (std::max<size_t>(bytes, 1) + unit - 1) / unit * unit;
  }

  static void *systemAllocate(size_t blockBytes) {
    size_t align = blockBytes >= kHugePage ? kHugePage : 64;
    void *p = nullptr;
    if (posix_memalign(&p, align, blockBytes) != 0)
      return nullptr;
    // Fewer faults on first touch and fewer TLB misses in the kernels'
    // streams; where the kernel does not do huge pages this is a no-op.
    if (align == kHugePage)
      (void)madvise(p, blockBytes, MADV_HUGEPAGE);
    return p;
  }

  /// $NORMLIR_HOST_CACHE_BYTES, else an eighth of the physical memory.
  static uint64_t defaultLimit() {
    if (const char *env = std::getenv("NORMLIR_HOST_CACHE_BYTES")) {
      char *end = nullptr;
      unsigned long long v = std::strtoull(env, &end, 10);
      if (end != env && *end == '\0')
        return v;
    }
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || size <= 0)
      return uint64_t(1) << 30;
    return uint64_t(pages) * uint64_t(size) / 8;
  }

  std::mutex mutex;
  std::map<size_t, std::list<void *>> freeBlocks;
  HostCacheInfo info;
};

} // namespace

void *normlir::python::hostCacheAllocate(size_t bytes, size_t &blockBytes) {
  return HostCache::get().allocate(bytes, blockBytes);
}

void normlir::python::hostCacheFree(void *block, size_t blockBytes) {
  HostCache::get().release(block, blockBytes);
}

HostCacheInfo normlir::python::hostCacheInfo() {
  return HostCache::get().snapshot();
}

void normlir::python::setHostCacheLimit(uint64_t bytes) {
  HostCache::get().setLimit(bytes);
}

void normlir::python::emptyHostCache() { HostCache::get().trim(0); }
