//===- CUDATarget.cpp - GPU architectures, PTX ISA versions, ptxas --------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Which PTX ISA version normlir-cuda-pipeline asks the NVPTX backend for.
// LLVM ends the process (report_fatal_error) when the PTX version is too old
// for the chip ("PTX version 8.0 does not support target 'sm_100'"), and
// ptxas rejects PTX newer than its toolkit; so the chip is checked against
// the architectures this LLVM knows, and the version is chosen per chip and
// per ptxas before any code is generated.
//
//===----------------------------------------------------------------------===//

#include "normlir/Pipelines/Pipelines.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

#include <map>
#include <mutex>

using namespace normlir;

namespace {
/// An architecture LLVM 22's NVPTX backend accepts, with the oldest PTX ISA
/// version (x10) it accepts for it. Read off `llc -mcpu=<chip>
/// -mattr=+ptx<N>` for every chip of `llc -march=nvptx64 -mcpu=help`
/// (test/Pipelines/cuda-chips.test keeps the two in step). Fermi (sm_20,
/// sm_21) is left out: the kernels reduce with warp shuffles (sm_30+).
struct ChipInfo {
  llvm::StringLiteral chip;
  unsigned minPTX;
};
constexpr ChipInfo kChips[] = {
    {"sm_30", 32},   {"sm_32", 40},   {"sm_35", 32},   {"sm_37", 41},
    {"sm_50", 40},   {"sm_52", 41},   {"sm_53", 42},   {"sm_60", 50},
    {"sm_61", 50},   {"sm_62", 50},   {"sm_70", 60},   {"sm_72", 61},
    {"sm_75", 63},   {"sm_80", 70},   {"sm_86", 71},   {"sm_87", 74},
    {"sm_88", 90},   {"sm_89", 78},   {"sm_90", 78},   {"sm_90a", 80},
    {"sm_100", 86},  {"sm_100a", 86}, {"sm_100f", 88}, {"sm_101", 86},
    {"sm_101a", 86}, {"sm_101f", 88}, {"sm_103", 88},  {"sm_103a", 88},
    {"sm_103f", 88}, {"sm_110", 90},  {"sm_110a", 90}, {"sm_110f", 90},
    {"sm_120", 87},  {"sm_120a", 87}, {"sm_120f", 88}, {"sm_121", 88},
    {"sm_121a", 88}, {"sm_121f", 88},
};

/// PTX ISA versions the backend knows (its `+ptxNN` features).
constexpr unsigned kPTXVersions[] = {32, 40, 41, 42, 43, 50, 60, 61, 62, 63, 64,
                                     65, 70, 71, 72, 73, 74, 75, 76, 77, 78, 80,
                                     81, 82, 83, 84, 85, 86, 87, 88, 90};
/// The version used when the chip and ptxas allow it: what the pipeline
/// has always emitted for sm_80/sm_90, so their PTX is unchanged.
constexpr unsigned kPreferredPTX = 80;
/// The oldest version the kernels can use, whatever the chip: their warp
/// reductions are `shfl.sync` (PTX 6.0); below it the backend cannot select
/// them and ends the process.
constexpr unsigned kKernelMinPTX = 60;

std::string ptxName(unsigned v) {
  return std::to_string(v / 10) + "." + std::to_string(v % 10);
}
} // namespace

std::optional<unsigned> normlir::getMinPTXVersion(llvm::StringRef chip) {
  for (const ChipInfo &c : kChips)
    if (c.chip == chip)
      return c.minPTX;
  return std::nullopt;
}

std::vector<std::string> normlir::getKnownCUDAChips() {
  std::vector<std::string> chips;
  for (const ChipInfo &c : kChips)
    chips.push_back(c.chip.str());
  return chips;
}

std::optional<unsigned> normlir::getMaxPTXVersionOfToolkit(unsigned major,
                                                           unsigned minor) {
  // The PTX ISA each CUDA release introduced (its release notes).
  if (major < 11)
    return major == 10 ? std::optional<unsigned>(minor >= 2 ? 65 : 64)
                       : std::nullopt;
  if (major == 11)
    return 70 + std::min(minor, 8u);
  if (major == 12) {
    static constexpr unsigned k12[] = {80, 81, 82, 83, 84, 85, 85, 86, 87, 88};
    return k12[std::min(minor, 9u)];
  }
  // CUDA 13.0: PTX 9.0. Later toolkits accept at least that; the backend
  // emits nothing newer.
  return 90;
}

std::optional<unsigned>
normlir::getPtxasMaxPTXVersion(llvm::StringRef ptxasPath) {
  // One `ptxas --version` per path and process.
  static std::mutex mutex;
  static std::map<std::string, std::optional<unsigned>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(ptxasPath.str());
  if (it != cache.end())
    return it->second;
  std::optional<unsigned> result;
  llvm::SmallString<128> out;
  if (!llvm::sys::fs::createTemporaryFile("normlir-ptxas", "txt", out)) {
    std::optional<llvm::StringRef> redirects[] = {
        std::nullopt, llvm::StringRef(out), llvm::StringRef("")};
    int rc = llvm::sys::ExecuteAndWait(ptxasPath, {ptxasPath, "--version"},
                                       std::nullopt, redirects,
                                       /*SecondsToWait=*/30);
    auto text = llvm::MemoryBuffer::getFile(out);
    if (rc == 0 && text) {
      // "Cuda compilation tools, release 13.0, V13.0.88"
      llvm::StringRef s = (*text)->getBuffer();
      size_t at = s.find("release ");
      if (at != llvm::StringRef::npos) {
        llvm::StringRef version = s.substr(at + 8).split(',').first;
        auto [majorText, minorText] = version.split('.');
        unsigned major, minor;
        if (!majorText.getAsInteger(10, major) &&
            !minorText.getAsInteger(10, minor))
          result = getMaxPTXVersionOfToolkit(major, minor);
      }
    }
    llvm::sys::fs::remove(out);
  }
  cache[ptxasPath.str()] = result;
  return result;
}

llvm::Expected<std::string>
normlir::resolvePTXFeatures(llvm::StringRef chip, llvm::StringRef features,
                            std::optional<unsigned> ptxasMax) {
  std::optional<unsigned> minPTX = getMinPTXVersion(chip);
  if (chip == "sm_20" || chip == "sm_21")
    return llvm::createStringError(
        "chip='" + chip.str() +
        "' is not supported: the kernels need warp shuffles (sm_30 or newer)");
  if (!minPTX)
    return llvm::createStringError(
        "unknown GPU architecture chip='" + chip.str() +
        "' (one of: " + llvm::join(getKnownCUDAChips(), ", ") + ")");
  std::string toolkit = ptxasMax
                            ? " (the CUDA toolkit's ptxas accepts PTX up to " +
                                  ptxName(*ptxasMax) + ")"
                            : std::string();
  // What the chip and the kernels both need.
  unsigned needed = std::max(*minPTX, kKernelMinPTX);
  if (!features.empty()) {
    // Only the PTX version may be chosen: other feature strings are ignored
    // by the backend with a warning on stderr, and a too-old version ends the
    // process. The version is passed on as read ("+ptx0080" would not be a
    // feature the backend knows).
    unsigned version = 0;
    llvm::StringRef digits = features;
    if (!digits.consume_front("+ptx") || digits.getAsInteger(10, version) ||
        !llvm::is_contained(kPTXVersions, version))
      return llvm::createStringError(
          "features='" + features.str() +
          "' must be one PTX ISA version +ptxNN (NN one of 32, 40, ..., 88, "
          "90)");
    if (version < needed)
      return llvm::createStringError(
          "features='" + features.str() + "': chip='" + chip.str() +
          "' needs PTX " + ptxName(needed) + " or newer (+ptx" +
          std::to_string(needed) + ")" +
          (needed > *minPTX ? ": the kernels use shfl.sync" : ""));
    if (ptxasMax && version > *ptxasMax)
      return llvm::createStringError("features='" + features.str() +
                                     "' is newer than ptxas accepts" + toolkit +
                                     "; use format=isa or a newer toolkit");
    return "+ptx" + std::to_string(version);
  }
  unsigned preferred = kPreferredPTX;
  if (ptxasMax)
    preferred = std::min(preferred, *ptxasMax);
  unsigned version = std::max(preferred, needed);
  if (ptxasMax && version > *ptxasMax)
    return llvm::createStringError(
        "chip='" + chip.str() + "' needs PTX " + ptxName(needed) + toolkit +
        "; use a newer CUDA toolkit, or format=isa to leave the PTX to the "
        "driver");
  return "+ptx" + std::to_string(version);
}
