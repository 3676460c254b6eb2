//===- Target.cpp - the targets kernels are compiled for ------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Utils/Target.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"

#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

using namespace mlir;
using namespace normlir::norm;

/// Cache sizes assumed for a CPU named rather than probed: what a core of a
/// current x86 server sees (L1d, L2, one CCD's or socket's L3).
constexpr int64_t kNamedL1 = 32 << 10, kNamedL2 = 1 << 20, kNamedLLC = 32 << 20;

Attribute normlir::norm::lookupTargetAttr(Operation *op) {
  for (; op; op = op->getParentOp())
    if (Attribute target = op->getAttr(NormDialect::kTargetAttrName))
      return target;
  return {};
}

CPUTargetAttr normlir::norm::getDefaultCPUTarget(MLIRContext *context) {
  return CPUTargetAttr::get(context, "x86_64-pc-linux-gnu", "x86-64-v3", "",
                            /*vectorWidth=*/8, /*nativeBF16=*/false, kNamedL1,
                            kNamedL2, kNamedLLC, /*cores=*/0);
}

CUDATargetAttr normlir::norm::getDefaultCUDATarget(MLIRContext *context) {
  return CUDATargetAttr::get(context, "sm_90", /*multiprocessors=*/132,
                             /*sharedMemoryPerBlock=*/48 << 10);
}

//===----------------------------------------------------------------------===//
// CPU
//===----------------------------------------------------------------------===//

/// Bytes of the data or unified cache of `level` that cpu0 sees, from sysfs;
/// 0 where it cannot be read.
static int64_t readHostCacheBytes(int level) {
  auto readLine = [](const std::string &path) {
    // sysfs files report a size they do not have: read them as streams.
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return llvm::StringRef(line).trim().str();
  };
  for (int index = 0; index < 8; ++index) {
    std::string dir =
        "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    std::string levelText = readLine(dir + "/level");
    if (levelText.empty())
      break;
    if (levelText != std::to_string(level) ||
        readLine(dir + "/type") == "Instruction")
      continue;
    std::string sizeText = readLine(dir + "/size");
    llvm::StringRef text = sizeText;
    int64_t scale = 1;
    if (text.consume_back("K"))
      scale = 1024;
    else if (text.consume_back("M"))
      scale = 1024 * 1024;
    int64_t value;
    if (!text.getAsInteger(10, value) && value > 0)
      return value * scale;
  }
  return 0;
}

namespace {
/// Cache sizes and hardware threads of a CPU (those of a named one by
/// default: its core count is unknown).
struct HostCaches {
  int64_t l1 = kNamedL1, l2 = kNamedL2, llc = kNamedLLC, cores = 0;
};
} // namespace

/// This machine's caches and hardware threads.
static HostCaches getHostCaches() {
  HostCaches caches;
  if (int64_t bytes = readHostCacheBytes(1))
    caches.l1 = bytes;
  if (int64_t bytes = readHostCacheBytes(2))
    caches.l2 = bytes;
  // The instance one core shares (32 MiB on one CCD of an EPYC), not the
  // package's sum that sysconf may give.
  if (int64_t bytes = readHostCacheBytes(3))
    caches.llc = bytes;
  else
    caches.llc = std::max(caches.l2, kNamedLLC);
  caches.cores = std::max<int64_t>(std::thread::hardware_concurrency(), 0);
  return caches;
}

std::string normlir::norm::describeHostCaches() {
  HostCaches c = getHostCaches();
  return "l1=" + std::to_string(c.l1) + " l2=" + std::to_string(c.l2) +
         " llc=" + std::to_string(c.llc) +
         " threads=" + std::to_string(c.cores);
}

namespace {
/// LLVM's view of one CPU: its subtarget, to ask for features by name.
struct Subtarget {
  std::unique_ptr<llvm::MCSubtargetInfo> info;

  /// Whether `name` is a feature LLVM knows for this architecture.
  bool knows(llvm::StringRef name) const {
    return llvm::any_of(
        info->getAllProcessorFeatures(),
        [&](const llvm::SubtargetFeatureKV &kv) { return name == kv.Key; });
  }
  /// Whether the CPU has feature `name` (false for unknown names, which
  /// LLVM would warn about on stderr).
  bool has(llvm::StringRef name) const {
    return knows(name) && info->checkFeatures(("+" + name).str());
  }
};
} // namespace

/// The subtarget of `cpu` with `features` on `triple`.
static llvm::Expected<Subtarget> getSubtarget(const llvm::Triple &triple,
                                              llvm::StringRef cpu,
                                              llvm::StringRef features) {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargetMCs();
  });
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return llvm::createStringError("unknown target triple '" + triple.str() +
                                   "': " + error);
  // Validated against the subtarget of the generic CPU, before LLVM is asked
  // for one it would warn about on stderr.
  Subtarget generic{std::unique_ptr<llvm::MCSubtargetInfo>(
      target->createMCSubtargetInfo(triple, "", ""))};
  if (!generic.info)
    return llvm::createStringError("no subtarget information for '" +
                                   triple.str() + "'");
  if (!generic.info->isCPUStringValid(cpu))
    return llvm::createStringError(
        "unknown CPU '" + cpu + "' for " + triple.getArchName() +
        " (an LLVM CPU name such as x86-64-v3, znver4, skylake-avx512, or "
        "host)");
  llvm::SmallVector<llvm::StringRef> entries;
  llvm::SplitString(features, entries, ",");
  for (llvm::StringRef entry : entries) {
    llvm::StringRef name = entry.drop_front();
    if ((!entry.starts_with("+") && !entry.starts_with("-")) ||
        !generic.knows(name))
      return llvm::createStringError(
          "invalid CPU feature '" + entry + "' (expected +name or -name of a " +
          triple.getArchName() + " feature, e.g. +avx512bf16)");
  }
  Subtarget result{std::unique_ptr<llvm::MCSubtargetInfo>(
      target->createMCSubtargetInfo(triple, cpu, features))};
  return std::move(result);
}

/// The host's features that differ from the defaults of its CPU, in LLVM's
/// spelling, sorted: what the JIT's target machine sets beyond `-mcpu`.
static std::string getHostFeatureDelta(const Subtarget &defaults) {
  std::vector<std::string> delta;
  for (const auto &feature : llvm::sys::getHostCPUFeatures()) {
    llvm::StringRef name = feature.getKey();
    if (!defaults.knows(name) || defaults.has(name) == feature.getValue())
      continue;
    delta.push_back((feature.getValue() ? "+" : "-") + name.str());
  }
  llvm::sort(delta);
  return llvm::join(delta, ",");
}

llvm::Expected<CPUTargetAttr>
normlir::norm::resolveCPUTarget(MLIRContext *context, llvm::StringRef cpu,
                                llvm::StringRef features,
                                llvm::StringRef tripleName) {
  llvm::Triple triple(llvm::Triple::normalize(
      tripleName.empty() ? llvm::sys::getProcessTriple() : tripleName.str()));
  bool host = cpu == "host";
  std::string cpuName = host ? llvm::sys::getHostCPUName().str() : cpu.str();
  if (cpuName.empty())
    return llvm::createStringError("the CPU name must not be empty (an LLVM "
                                   "CPU name, or host)");
  std::string allFeatures = features.str();
  if (host) {
    if (!tripleName.empty() &&
        triple.getArch() !=
            llvm::Triple(llvm::sys::getProcessTriple()).getArch())
      return llvm::createStringError("cpu=host needs the host's triple, got '" +
                                     tripleName + "'");
    auto defaults = getSubtarget(triple, cpuName, "");
    if (!defaults)
      return defaults.takeError();
    std::string delta = getHostFeatureDelta(*defaults);
    allFeatures = delta.empty() || features.empty()
                      ? delta + features.str()
                      : delta + "," + features.str();
  }
  auto subtarget = getSubtarget(triple, cpuName, allFeatures);
  if (!subtarget)
    return subtarget.takeError();
  int64_t vectorWidth = subtarget->has("avx512f") ? 16
                        : subtarget->has("avx")   ? 8
                                                  : 4;
  // vcvtneps2bf16 of 128/256-bit vectors needs AVX512VL as well.
  bool nativeBF16 = subtarget->has("avx512bf16") && subtarget->has("avx512vl");
  HostCaches caches = host ? getHostCaches() : HostCaches();
  return CPUTargetAttr::get(context, triple.str(), cpuName, allFeatures,
                            vectorWidth, nativeBF16, caches.l1, caches.l2,
                            caches.llc, caches.cores);
}

llvm::Error normlir::norm::checkRunsOnHost(CPUTargetAttr target) {
  llvm::Triple triple(target.getTriple());
  llvm::Triple hostTriple(llvm::sys::getProcessTriple());
  if (triple.getArch() != hostTriple.getArch() ||
      triple.getOS() != hostTriple.getOS())
    return llvm::createStringError(
        "code for " + target.getTriple() + " cannot run on this " +
        hostTriple.str() + " host (compile it with normlir-compile instead)");
  auto subtarget = getSubtarget(triple, target.getCpu(), target.getFeatures());
  if (!subtarget)
    return subtarget.takeError();
  // The host's map lists the instruction-set features it can tell; tuning
  // features (which never fault) are not in it.
  std::vector<std::string> missing;
  for (const auto &feature : llvm::sys::getHostCPUFeatures())
    if (!feature.getValue() && subtarget->has(feature.getKey()))
      missing.push_back(feature.getKey().str());
  if (missing.empty())
    return llvm::Error::success();
  llvm::sort(missing);
  return llvm::createStringError("code for CPU '" + target.getCpu() +
                                 "' would not run on this host, which lacks " +
                                 llvm::join(missing, ", ") +
                                 " (compile it with normlir-compile instead)");
}

//===----------------------------------------------------------------------===//
// CUDA
//===----------------------------------------------------------------------===//

llvm::Expected<CUDATargetAttr>
normlir::norm::resolveCUDATarget(MLIRContext *context, llvm::StringRef chip,
                                 int64_t multiprocessors) {
  llvm::StringRef version = chip;
  unsigned sm = 0;
  if (!version.consume_front("sm_"))
    return llvm::createStringError("unknown GPU chip '" + chip +
                                   "' (sm_80, sm_90, ...)");
  // "90a", "100f": the suffix selects features, not a different part.
  version = version.take_while(llvm::isDigit);
  if (version.getAsInteger(10, sm))
    return llvm::createStringError("unknown GPU chip '" + chip +
                                   "' (sm_80, sm_90, ...)");
  // The bound keeps the schedules' block counts far from overflow.
  if (multiprocessors < 0 || multiprocessors > (1 << 20))
    return llvm::createStringError(
        "multiprocessors must be in [0, 2^20], got " +
        std::to_string(multiprocessors));
  if (multiprocessors == 0) {
    // The flagship (data-center where there is one) part of each chip.
    static const std::pair<unsigned, int64_t> kParts[] = {
        {50, 16},  {52, 24},   {53, 1},   {60, 56},   {61, 30},
        {62, 2},   {70, 80},   {72, 8},   {75, 40},   {80, 108},
        {86, 84},  {87, 16},   {89, 142}, {90, 132},  {100, 148},
        {101, 20}, {103, 148}, {110, 20}, {120, 170}, {121, 48}};
    multiprocessors = 132;
    for (auto [version, count] : kParts)
      if (version == sm)
        multiprocessors = count;
  }
  return CUDATargetAttr::get(context, chip, multiprocessors,
                             /*sharedMemoryPerBlock=*/48 << 10);
}

bool normlir::norm::hasFullRateFP64(CUDATargetAttr target) {
  llvm::StringRef version = target.getChip();
  unsigned sm = 0;
  if (!version.consume_front("sm_") ||
      version.take_while(llvm::isDigit).getAsInteger(10, sm))
    return false;
  // The data-center parts: f64 at half the f32 rate (a small fraction
  // elsewhere; sm_103, Blackwell Ultra, cut its f64 too).
  return sm == 60 || sm == 70 || sm == 80 || sm == 90 || sm == 100;
}

std::string normlir::norm::describeTarget(Attribute target) {
  if (!target)
    return "none";
  std::string text;
  llvm::raw_string_ostream os(text);
  target.print(os);
  return text;
}
