//===- HostCache.h - cached host memory for the Python package's outputs --===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// A caching allocator for the host memory of the tensors the Python package
// returns (outputs, gradients), as PyTorch's CUDA caching allocator is for
// GPU memory. A training step allocates the same sizes every step; from the
// system allocator each large block is freshly mapped memory, and touching
// it page-faults (about 63 ms per 256 MB here, and for 26 MB GroupNorm
// outputs half the steps paid 6 ms for it: docs/performance.md). A block
// freed into this cache keeps its pages and serves the next request of its
// size without a fault. Blocks of 2 MiB or more are 2 MiB-aligned and
// advised as transparent huge pages.
//
// Blocks reach torch as DLPack tensors whose deleter returns the block; the
// cache keeps at most `limit` bytes of free blocks (beyond it, the least
// recently freed go back to the system), and emptyHostCache() releases them
// all. A block is its request rounded up to whole pages.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_PYTHON_HOSTCACHE_H
#define NORMLIR_PYTHON_HOSTCACHE_H

#include <cstddef>
#include <cstdint>

namespace normlir::python {

/// The cache's counters (hostCacheInfo).
struct HostCacheInfo {
  /// Requests served from a free block, and from the system.
  uint64_t hits = 0, misses = 0;
  /// Bytes of the blocks handed out and not yet returned; of the free
  /// blocks kept; the most free bytes kept.
  uint64_t inUseBytes = 0, cachedBytes = 0, limitBytes = 0;
  uint64_t cachedBlocks = 0;
};

/// A block of at least `bytes` bytes, 64-byte aligned (2 MiB from 2 MiB),
/// from the cache or the system; null when the system has none. Thread-safe.
void *hostCacheAllocate(size_t bytes, size_t &blockBytes);
/// Returns a block of hostCacheAllocate (with its blockBytes). Thread-safe;
/// callable without the GIL.
void hostCacheFree(void *block, size_t blockBytes);
HostCacheInfo hostCacheInfo();
/// Sets the most free bytes kept (releasing free blocks beyond it).
void setHostCacheLimit(uint64_t bytes);
/// Releases every free block to the system.
void emptyHostCache();

} // namespace normlir::python

#endif // NORMLIR_PYTHON_HOSTCACHE_H
