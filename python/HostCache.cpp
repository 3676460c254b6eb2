//===- HostCache.cpp - cached host memory for the Python package's outputs ===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "HostCache.h"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <iterator>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

using namespace normlir::python;

namespace {

constexpr size_t kPage = 4096;
constexpr size_t kHugePage = size_t(2) << 20;

/// Free blocks, the least recently freed first, and by size (exact sizes: a
/// training loop asks for the same ones each step). Over the limit, the
/// least recently freed go back to the system: blocks of sizes nobody asks
/// for any more (a new batch size, eval after training) leave room for the
/// current ones.
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
      auto it = bySize.find(blockBytes);
      if (it != bySize.end()) {
        // The most recently freed block of this size (warmest in cache).
        std::list<Block>::iterator block = it->second.back();
        void *p = block->data;
        it->second.pop_back();
        if (it->second.empty())
          bySize.erase(it);
        lru.erase(block);
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
    std::vector<void *> evicted;
    {
      std::lock_guard<std::mutex> lock(mutex);
      info.inUseBytes -= blockBytes;
      lru.push_back({blockBytes, p});
      bySize[blockBytes].push_back(std::prev(lru.end()));
      info.cachedBytes += blockBytes;
      ++info.cachedBlocks;
      evictBeyond(info.limitBytes, evicted);
    }
    for (void *q : evicted)
      std::free(q);
  }

  HostCacheInfo snapshot() {
    std::lock_guard<std::mutex> lock(mutex);
    return info;
  }

  /// Sets the limit and releases the free blocks beyond it.
  void setLimit(uint64_t limit) {
    std::vector<void *> evicted;
    {
      std::lock_guard<std::mutex> lock(mutex);
      info.limitBytes = limit;
      evictBeyond(limit, evicted);
    }
    for (void *p : evicted)
      std::free(p);
  }

  /// Releases every free block (the limit stays).
  void empty() {
    std::vector<void *> evicted;
    {
      std::lock_guard<std::mutex> lock(mutex);
      evictBeyond(0, evicted);
    }
    for (void *p : evicted)
      std::free(p);
  }

private:
  struct Block {
    size_t bytes;
    void *data;
  };

  HostCache() { info.limitBytes = defaultLimit(); }

  /// Moves the least recently freed blocks into `evicted` until at most
  /// `limit` free bytes remain (the caller frees them outside the lock).
  void evictBeyond(uint64_t limit, std::vector<void *> &evicted) {
    while (info.cachedBytes > limit && !lru.empty()) {
      Block oldest = lru.front();
      // Within a size, blocks are in freeing order: the oldest is first.
      auto it = bySize.find(oldest.bytes);
      it->second.pop_front();
      if (it->second.empty())
        bySize.erase(it);
      lru.pop_front();
      info.cachedBytes -= oldest.bytes;
      --info.cachedBlocks;
      evicted.push_back(oldest.data);
    }
  }

  /// Whole pages: a block is at most a page larger than asked for.
  static size_t roundUp(size_t bytes) {
    return (std::max<size_t>(bytes, 1) + kPage - 1) / kPage * kPage;
  }

  static void *systemAllocate(size_t blockBytes) {
    // From 2 MiB, aligned to a huge page and advised as huge pages: fewer
    // faults on first touch and fewer TLB misses in the kernels' streams
    // (the kernel backs the whole 2 MiB ranges; a no-op where it does not
    // do huge pages).
    size_t align = blockBytes >= kHugePage ? kHugePage : 64;
    void *p = nullptr;
    if (posix_memalign(&p, align, blockBytes) != 0)
      return nullptr;
    if (align == kHugePage)
      (void)madvise(p, blockBytes, MADV_HUGEPAGE);
    return p;
  }

  /// $NORMLIR_HOST_CACHE_BYTES (decimal digits only), else an eighth of the
  /// physical memory.
  static uint64_t defaultLimit() {
    if (const char *env = std::getenv("NORMLIR_HOST_CACHE_BYTES")) {
      std::string text(env);
      if (!text.empty() && text.size() <= 19 &&
          std::all_of(text.begin(), text.end(),
                      [](char c) { return c >= '0' && c <= '9'; }))
        return std::stoull(text);
    }
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || size <= 0)
      return uint64_t(1) << 30;
    return uint64_t(pages) * uint64_t(size) / 8;
  }

  std::mutex mutex;
  std::list<Block> lru;
  std::map<size_t, std::deque<std::list<Block>::iterator>> bySize;
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

void normlir::python::emptyHostCache() { HostCache::get().empty(); }
