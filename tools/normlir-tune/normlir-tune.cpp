//===- normlir-tune.cpp - measure schedules, record the fastest -----------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// A schedule tuner in the style of TVM's MetaSchedule:
//
//   normlir-tune spec.mlir --db=tuned.jsonl
//   normlir-run spec.mlir --tuning-db=tuned.jsonl ...
//
// For each public function of the spec it finds the kernels
// norm-select-schedule schedules and the heuristic's schedule, enumerates
// schedules around it (Candidates.h), JIT-compiles each, times them and the
// heuristic in the same interleaved rounds, prints a table and appends the
// fastest schedule of each kernel to the tuning database (TuningDatabase.h),
// which norm-select-schedule consults before its heuristic. With
// --differentiate the backward functions (norm-differentiate's) are tuned
// too: their fused backward kernels' #norm.grad_schedule (whether the saved
// statistics are read or recomputed, the prefetch distance, the threads) is
// a tuning parameter like a forward kernel's schedule. A candidate is one
// schedule override for the whole function, as JITOptions::schedule applies it:
// a function with several kernels is tuned jointly, each kernel recording the
// schedule the override gave it and the function's time. Every error is a
// message on stderr and exit code 1.
//
//===----------------------------------------------------------------------===//

#include "Candidates.h"
#include "Measure.h"
#include "Probe.h"

#include "normlir/ExecutionEngine/CudaRuntime.h"
#include "normlir/ExecutionEngine/JIT.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>

using namespace normlir;
using namespace normlir::tune;
namespace cl = llvm::cl;

static cl::OptionCategory category("normlir-tune options");
static cl::opt<std::string> specFile(cl::Positional, cl::desc("<spec.mlir>"),
                                     cl::cat(category));
static cl::opt<std::string>
    functionName("function",
                 cl::desc("Tune this function (default: every public one)"),
                 cl::cat(category));
static cl::opt<std::string> target("target",
                                   cl::desc("cpu (default) or cuda (timing "
                                            "needs a GPU; --dry-run does not)"),
                                   cl::init("cpu"), cl::cat(category));
static cl::opt<std::string>
    targetCPU("target-cpu",
              cl::desc("CPU: the LLVM CPU to tune for (default: the host's; "
                       "it must run here)"),
              cl::cat(category));
static cl::opt<std::string>
    targetFeatures("target-features",
                   cl::desc("CPU: LLVM features added to or removed from the "
                            "CPU's (+avx512bf16,-avx512f)"),
                   cl::cat(category));
static cl::opt<std::string>
    chip("chip",
         cl::desc("CUDA: the GPU architecture (default: the device's, else "
                  "sm_90), as normlir-run --chip"),
         cl::cat(category));
static cl::opt<std::string>
    dbPath("db",
           cl::desc("Append the fastest schedule of each kernel to this "
                    "tuning database (JSON Lines)"),
           cl::value_desc("file.jsonl"), cl::cat(category));
static cl::opt<unsigned> repeat("repeat",
                                cl::desc("Timed calls per measurement "
                                         "(default 20)"),
                                cl::init(20), cl::cat(category));
static cl::opt<unsigned> warmup("warmup",
                                cl::desc("Untimed calls before each "
                                         "measurement (default 3)"),
                                cl::init(3), cl::cat(category));
static cl::opt<unsigned>
    rounds("rounds",
           cl::desc("Measurements per candidate, interleaved; the median is "
                    "reported (default 3)"),
           cl::init(3), cl::cat(category));
static cl::opt<unsigned>
    maxCandidates("max-candidates",
                  cl::desc("Candidates compiled and timed per function, the "
                           "heuristic's nearest neighbours first (default "
                           "24)"),
                  cl::init(24), cl::cat(category));
static cl::opt<bool>
    dryRun("dry-run",
           cl::desc("Enumerate and compile the candidates, time nothing, "
                    "write no database"),
           cl::cat(category));
static cl::opt<bool> differentiate(
    "differentiate",
    cl::desc("Also derive each function's backward function (as normlir-run "
             "--differentiate) and tune its fused backward kernels "
             "(#norm.grad_schedule: saved or recomputed statistics, "
             "prefetch, threads); CPU only"),
    cl::cat(category));
static cl::list<std::string> atShapes(
    "at",
    cl::desc("A function with dynamic dimensions is tuned at points given by "
             "the shapes of its inputs that have them, ';'-separated in input "
             "order (--at=64x4096 --at=8192x4096); each point's fastest "
             "schedule becomes a variant of each dynamic kernel, from the "
             "geometric mean of the input's element count there and at the "
             "previous point (CPU)"),
    cl::value_desc("shape[;shape...]"), cl::cat(category));
static cl::opt<bool> verbose("v",
                             cl::desc("Report the candidates dropped and why"),
                             cl::cat(category));
static cl::alias verboseLong("verbose", cl::aliasopt(verbose),
                             cl::desc("Alias for -v"), cl::cat(category));

static int fail(const llvm::Twine &msg) {
  llvm::WithColor::error(llvm::errs(), "normlir-tune") << msg << "\n";
  return 1;
}

static void note(const llvm::Twine &msg) {
  if (verbose)
    llvm::errs() << "normlir-tune: " << msg << "\n";
}

/// The first line of an error's message.
static std::string firstLine(llvm::Error err) {
  std::string text = llvm::toString(std::move(err));
  return llvm::StringRef(text).split('\n').first.str();
}

namespace {
/// A compiled candidate: its override and what norm-select-schedule made of it.
struct Compiled {
  std::string override;
  int distance = 0;
  std::vector<std::string> schedules;
  std::shared_ptr<const JITModule> module;
};
} // namespace

/// The schedule texts of `kernels`, in order.
static std::vector<std::string>
scheduleTexts(llvm::ArrayRef<ProbedKernel> kernels) {
  std::vector<std::string> texts;
  for (const ProbedKernel &k : kernels)
    texts.push_back(k.scheduleText);
  return texts;
}

/// Compiles candidates of `function` in order until `maxCandidates` compile,
/// dropping those norm-select-schedule refuses and those whose schedules equal
/// the heuristic's or an earlier candidate's. `enumerated` receives the number
/// enumerated.
static std::vector<Compiled>
compileCandidates(ScheduleProbe &probe, llvm::StringRef function,
                  llvm::ArrayRef<ProbedKernel> heuristic,
                  llvm::StringRef source, const JITOptions &base,
                  llvm::ArrayRef<int64_t> elements, size_t &enumerated) {
  std::vector<Candidate> candidates =
      enumerateCandidates(probe, function, heuristic);
  enumerated = candidates.size();
  std::vector<Compiled> compiled;
  std::set<std::vector<std::string>> seen = {scheduleTexts(heuristic)};
  for (const Candidate &c : candidates) {
    if (compiled.size() >= maxCandidates)
      break;
    auto kernels = probe.schedule(function, c.override);
    if (!kernels) {
      note("@" + function + ": '" + c.override +
           "' is invalid: " + firstLine(kernels.takeError()));
      continue;
    }
    std::vector<std::string> schedules;
    for (auto [i, k] : llvm::enumerate(*kernels))
      schedules.push_back(
          (elements.empty() ? k : k.at(elements[i])).scheduleText);
    if (!seen.insert(schedules).second) {
      note("@" + function + ": '" + c.override +
           "' gives the schedules of the heuristic or an earlier candidate");
      continue;
    }
    JITOptions options = base;
    options.schedule = c.override;
    auto module = JITModule::compile(source, specFile, options);
    if (!module) {
      note("@" + function + ": '" + c.override +
           "' does not compile: " + firstLine(module.takeError()));
      continue;
    }
    compiled.push_back(
        {c.override, c.distance, std::move(schedules), std::move(*module)});
  }
  return compiled;
}

/// Appends what `write` writes to the database file.
static llvm::Error
appendToDatabase(llvm::function_ref<void(llvm::raw_ostream &)> write) {
  std::error_code ec;
  llvm::raw_fd_ostream os(dbPath, ec, llvm::sys::fs::OF_Append);
  if (ec)
    return llvm::createStringError(dbPath + ": cannot open: " + ec.message());
  write(os);
  os.close();
  if (os.has_error()) {
    std::string why = os.error().message();
    os.clear_error();
    return llvm::createStringError(dbPath + ": cannot write: " + why);
  }
  return llvm::Error::success();
}

/// Appends one record per distinct key of `heuristic` to the database.
static llvm::Error appendRecords(llvm::ArrayRef<ProbedKernel> heuristic,
                                 llvm::ArrayRef<std::string> best,
                                 double bestSeconds, double heuristicSeconds) {
  return appendToDatabase([&](llvm::raw_ostream &os) {
    llvm::StringSet<> written;
    for (auto [kernel, schedule] : llvm::zip_equal(heuristic, best)) {
      if (!written.insert(kernel.key).second)
        continue;
      llvm::json::OStream json(os);
      json.object([&, &kernel = kernel, &schedule = schedule] {
        json.attribute("key", kernel.key);
        json.attribute("schedule", schedule);
        json.attribute("seconds", bestSeconds);
        json.attribute("heuristic_seconds", heuristicSeconds);
        json.attribute("heuristic", kernel.scheduleText);
      });
      os << "\n";
    }
  });
}

/// Prints the function's kernels as the heuristic schedules them.
static void printKernels(llvm::StringRef function,
                         llvm::ArrayRef<ProbedKernel> kernels) {
  llvm::outs() << "function @" << function << ": " << kernels.size()
               << (kernels.size() == 1 ? " kernel"
                                       : " kernels (one override for all)")
               << "\n";
  for (auto [i, k] : llvm::enumerate(kernels))
    llvm::outs() << "  kernel " << i << ": " << k.layout.str()
                 << "\n    key: " << k.key
                 << "\n    heuristic: " << k.scheduleText << "\n";
}

namespace {
/// What one tuning point measured.
struct PointResult {
  std::vector<std::string> best;
  double bestSeconds = 0, heuristicSeconds = 0;
};
} // namespace

/// Tunes `function` on inputs of `shapes` (none: its static ones), whose
/// kernels the heuristic schedules as `heuristic` there (`elements`: each
/// kernel's input element count, which picks a dynamic kernel's variant;
/// none for a static function); the best schedules go to `result`. Returns
/// the process exit code.
static int tunePoint(ScheduleProbe &probe, llvm::StringRef function,
                     llvm::StringRef source, const JITOptions &base,
                     const JITModule &heuristicModule,
                     llvm::ArrayRef<ProbedKernel> heuristic,
                     llvm::ArrayRef<std::vector<int64_t>> shapes,
                     llvm::ArrayRef<int64_t> elements, PointResult &result) {
  size_t enumerated = 0;
  std::vector<Compiled> compiled = compileCandidates(
      probe, function, heuristic, source, base, elements, enumerated);
  llvm::outs() << "  candidates: " << compiled.size() << " compiled of "
               << enumerated << " enumerated"
               << (dryRun ? " (dry run: nothing timed)" : "") << "\n";
  if (dryRun) {
    for (auto [i, c] : llvm::enumerate(compiled))
      llvm::outs() << llvm::format("  %3zu  d=%d  ", i + 1, c.distance)
                   << c.override << "\n";
    return 0;
  }

  std::vector<const JITModule *> modules = {&heuristicModule};
  for (const Compiled &c : compiled)
    modules.push_back(c.module.get());
  MeasureOptions options;
  options.warmup = warmup;
  options.repeat = repeat;
  options.rounds = rounds;
  auto seconds = measure(modules, function, options, shapes);
  if (!seconds)
    return fail("@" + function + ": " + llvm::toString(seconds.takeError()));

  double h = (*seconds)[0];
  size_t best = 0;
  for (size_t i = 1; i < seconds->size(); ++i)
    if ((*seconds)[i] < (*seconds)[best])
      best = i;
  llvm::outs() << "     #  d    median us  vs heuristic  override\n";
  for (size_t i = 0; i < seconds->size(); ++i) {
    double s = (*seconds)[i];
    std::string distance = i ? std::to_string(compiled[i - 1].distance) : "-";
    llvm::outs() << llvm::format("  %c%3zu  %-2s %11.3f  %12.3f  ",
                                 i == best ? '*' : ' ', i, distance.c_str(),
                                 s * 1e6, s / h)
                 << (i ? llvm::StringRef(compiled[i - 1].override)
                       : llvm::StringRef("(heuristic)"))
                 << "\n";
  }
  result.best = best ? compiled[best - 1].schedules : scheduleTexts(heuristic);
  result.bestSeconds = (*seconds)[best];
  result.heuristicSeconds = h;
  llvm::outs() << "  best: #" << best
               << llvm::format(" (%.3f of the heuristic's time)\n",
                               (*seconds)[best] / h);
  for (auto [i, s] : llvm::enumerate(result.best))
    llvm::outs() << "    kernel " << i << ": " << s << "\n";
  return 0;
}

/// The input shapes of one --at point: `text`'s shapes for the inputs with
/// dynamic dimensions, in order, the others' static shapes.
static llvm::Expected<std::vector<std::vector<int64_t>>>
parsePoint(llvm::StringRef text, const FunctionSignature &sig) {
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, ';');
  std::vector<std::vector<int64_t>> shapes;
  size_t next = 0;
  for (const TensorSpec &input : sig.inputs) {
    if (input.hasStaticShape()) {
      shapes.push_back(input.shape);
      continue;
    }
    if (next == parts.size())
      return llvm::createStringError("--at=" + text + ": @" + sig.name +
                                     " has more inputs with dynamic "
                                     "dimensions (" +
                                     input.str() + ") than shapes given");
    std::vector<int64_t> shape;
    llvm::SmallVector<llvm::StringRef> dims;
    parts[next++].trim().split(dims, 'x');
    for (llvm::StringRef d : dims) {
      int64_t v;
      if (d.getAsInteger(10, v) || v < 0)
        return llvm::createStringError("--at=" + text + ": '" + d +
                                       "' is not a size");
      shape.push_back(v);
    }
    TensorSpec concrete = input;
    concrete.shape = shape;
    if (!input.accepts(concrete))
      return llvm::createStringError("--at=" + text + ": " + concrete.str() +
                                     " does not fit the input " + input.str());
    shapes.push_back(std::move(shape));
  }
  if (next != parts.size())
    return llvm::createStringError("--at=" + text + ": more shapes than @" +
                                   sig.name +
                                   "'s inputs with dynamic dimensions");
  return shapes;
}

/// The variants of one dynamic kernel from its best schedule at each point
/// (element count, schedule text): ascending, each from the geometric mean
/// of its count and the previous point's, equal neighbours merged.
static std::string
variantsText(std::vector<std::pair<int64_t, std::string>> points) {
  llvm::sort(points,
             [](const auto &a, const auto &b) { return a.first < b.first; });
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "[";
  int64_t from = -1;
  std::string previous;
  for (auto [i, point] : llvm::enumerate(points)) {
    if (point.second == previous)
      continue;
    int64_t start =
        i == 0 ? 0
               : std::max<int64_t>(
                     from + 1, int64_t(std::sqrt(double(points[i - 1].first) *
                                                 double(point.first))));
    os << (from < 0 ? "" : ", ") << "#norm.variant<from = " << start
       << ", schedule = " << point.second << ">";
    from = start;
    previous = point.second;
  }
  os << "]";
  return text;
}

/// Appends a record of variants per dynamic kernel of `heuristic`;
/// `elements[i][k]`: kernel k's input element count at point i.
static llvm::Error
appendVariantRecords(llvm::ArrayRef<ProbedKernel> heuristic,
                     llvm::ArrayRef<std::vector<int64_t>> elements,
                     llvm::ArrayRef<PointResult> results) {
  return appendToDatabase([&](llvm::raw_ostream &os) {
    llvm::StringSet<> written;
    for (size_t k = 0; k < heuristic.size(); ++k) {
      const ProbedKernel &kernel = heuristic[k];
      if (!kernel.dynamic || !written.insert(kernel.key).second)
        continue;
      std::vector<std::pair<int64_t, std::string>> points;
      for (auto [n, r] : llvm::zip_equal(elements, results))
        points.push_back({n[k], r.best[k]});
      llvm::json::OStream json(os);
      json.object([&] {
        json.attribute("key", kernel.key);
        json.attribute("schedule", variantsText(points));
        json.attribute("heuristic", kernel.scheduleText);
        json.attributeArray("points", [&] {
          for (size_t i = 0; i < elements.size(); ++i)
            json.object([&] {
              json.attribute("elements", elements[i][k]);
              json.attribute("seconds", results[i].bestSeconds);
              json.attribute("heuristic_seconds", results[i].heuristicSeconds);
            });
        });
      });
      os << "\n";
    }
  });
}

/// Tunes `function`, whose heuristic schedules `heuristicModule` has;
/// returns the process exit code.
static int tuneFunction(ScheduleProbe &probe, llvm::StringRef function,
                        llvm::StringRef source, const JITOptions &base,
                        const JITModule &heuristicModule) {
  auto heuristic = probe.schedule(function, "");
  if (!heuristic)
    return fail(llvm::toString(heuristic.takeError()));
  if (heuristic->empty()) {
    llvm::outs() << "function @" << function
                 << ": no norm.kernel or norm.grad_kernel, nothing to tune\n";
    return 0;
  }
  auto sig = heuristicModule.lookup(function);
  if (!sig) {
    // Named: an error; one of all: skipped (the JIT warned why).
    if (!functionName.empty())
      return fail(llvm::toString(sig.takeError()));
    llvm::consumeError(sig.takeError());
    llvm::outs() << "function @" << function
                 << ": not callable from the JIT, skipped\n";
    return 0;
  }
  printKernels(function, *heuristic);
  bool dynamic =
      llvm::any_of(*heuristic, [](const ProbedKernel &k) { return k.dynamic; });
  if (!dynamic) {
    if (!atShapes.empty())
      return fail("--at tunes kernels with dynamic sizes; @" + function +
                  " has none");
    if (llvm::any_of((*sig)->inputs,
                     [](const TensorSpec &t) { return !t.hasStaticShape(); }))
      return fail("@" + function +
                  " has inputs with dynamic dimensions but no kernel with "
                  "dynamic sizes: there is nothing to tune per size (give "
                  "the spec static shapes)");
    PointResult result;
    if (int rc = tunePoint(probe, function, source, base, heuristicModule,
                           *heuristic, {}, {}, result))
      return rc;
    if (!dryRun && !dbPath.empty())
      if (llvm::Error err =
              appendRecords(*heuristic, result.best, result.bestSeconds,
                            result.heuristicSeconds))
        return fail(llvm::toString(std::move(err)));
    return 0;
  }
  // Dynamic sizes: a tuning point per --at, each dynamic kernel's variant
  // there measured; its variants recorded from them.
  if (atShapes.empty())
    return fail("@" + function +
                " has kernels with dynamic sizes: give the points to tune "
                "them at (--at=SHAPES, the shapes of its inputs with "
                "dynamic dimensions)");
  if (target == "cuda")
    return fail("@" + function +
                ": kernels with dynamic sizes are tuned for the CPU only (a "
                "GPU kernel has one schedule for every size)");
  std::vector<std::vector<int64_t>> elements;
  std::vector<PointResult> results;
  for (const std::string &point : atShapes) {
    auto shapes = parsePoint(point, **sig);
    if (!shapes)
      return fail(llvm::toString(shapes.takeError()));
    // Each kernel's element count: its input's, an argument or a reshape
    // of one (a fused residual's summand), which picks its variant.
    llvm::outs() << "  at " << point << ":\n";
    std::vector<int64_t> counts;
    std::vector<ProbedKernel> heuristicAt;
    for (auto [k, kernel] : llvm::enumerate(*heuristic)) {
      int64_t n = 0;
      if (kernel.dynamic) {
        if (kernel.inputArgument < 0)
          return fail("@" + function + ": kernel " + llvm::Twine(k) +
                      "'s input is not an argument (or a reshape of one): "
                      "its size at a point is unknown");
        n = 1;
        for (int64_t d : (*shapes)[kernel.inputArgument]) {
          if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
            return fail("--at=" + point + ": kernel " + llvm::Twine(k) +
                        "'s input has more than 2^63 elements");
          n *= d;
        }
        if (n == 0)
          return fail("--at=" + point + ": kernel " + llvm::Twine(k) +
                      "'s input has no elements there, nothing to time");
      }
      counts.push_back(n);
      heuristicAt.push_back(kernel.at(n));
      if (kernel.dynamic)
        llvm::outs() << "    kernel " << k << " (" << n
                     << " elements), heuristic: "
                     << heuristicAt.back().scheduleText << "\n";
    }
    PointResult result;
    if (int rc = tunePoint(probe, function, source, base, heuristicModule,
                           heuristicAt, *shapes, counts, result))
      return rc;
    elements.push_back(std::move(counts));
    results.push_back(std::move(result));
  }
  if (dryRun)
    return 0;
  for (auto [k, kernel] : llvm::enumerate(*heuristic)) {
    if (!kernel.dynamic)
      continue;
    std::vector<std::pair<int64_t, std::string>> points;
    for (auto [n, r] : llvm::zip_equal(elements, results))
      points.push_back({n[k], r.best[k]});
    llvm::outs() << "  kernel " << k << " variants: " << variantsText(points)
                 << "\n";
  }
  if (!dbPath.empty())
    if (llvm::Error err = appendVariantRecords(*heuristic, elements, results))
      return fail(llvm::toString(std::move(err)));
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "Measure schedules around norm-select-schedule's heuristic and record "
      "the fastest "
      "in a tuning database\n\n"
      "The heuristic is measured without a database: $NORMLIR_TUNING_DB is "
      "ignored.\n");

  if (specFile.empty())
    return fail("no spec file given (normlir-tune <spec.mlir> ...)");
  if (target != "cpu" && target != "cuda")
    return fail("--target must be cpu or cuda, got '" + target + "'");
  bool cuda = target == "cuda";
  if (cuda && (!targetCPU.empty() || !targetFeatures.empty()))
    return fail("--target-cpu and --target-features are options of "
                "--target=cpu");
  if (!cuda && !chip.empty())
    return fail("--chip is an option of --target=cuda");
  if (cuda && differentiate)
    return fail("--differentiate tunes the CPU's fused backward kernels; the "
                "CUDA pipeline has none (it lowers the gradient ops through "
                "linalg)");
  if (repeat == 0 || rounds == 0 || maxCandidates == 0)
    return fail("--repeat, --rounds and --max-candidates must be at least 1");
  if (dryRun && !dbPath.empty())
    return fail("--dry-run times nothing and writes no database; drop --db");

  // A database that cannot be written fails now, not after the timing.
  if (!dbPath.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream db(dbPath, ec, llvm::sys::fs::OF_Append);
    if (ec)
      return fail(dbPath + ": cannot open: " + ec.message());
  }
  auto file = llvm::MemoryBuffer::getFile(specFile, /*IsText=*/true);
  if (!file)
    return fail(specFile + ": cannot read file: " + file.getError().message());
  llvm::StringRef source = (*file)->getBuffer();
  // The baseline is the heuristic itself, not an earlier tuning.
  ::unsetenv("NORMLIR_TUNING_DB");

  ProbeTarget probeTarget;
  probeTarget.cuda = cuda;
  probeTarget.differentiate = differentiate;
  JITOptions base;
  base.diskCache = false;
  base.memoryCache = false;
  base.differentiate = differentiate;
  if (cuda) {
    base.target = Target::CUDA;
    // The JIT's choice: the device's chip and size, else sm_90.
    auto info = cuda::getDeviceInfo();
    if (!info && !dryRun)
      return fail("--target=cuda needs a CUDA GPU to time candidates: " +
                  llvm::toString(info.takeError()) +
                  " (--dry-run enumerates and compiles them without one)");
    probeTarget.chip = !chip.empty() ? chip.getValue()
                       : info        ? info->chip()
                                     : "sm_90";
    if (info && chip.empty())
      probeTarget.multiprocessors = info->multiprocessors;
    if (!info)
      llvm::consumeError(info.takeError());
    base.cudaChip = probeTarget.chip;
    base.cudaMultiprocessors = probeTarget.multiprocessors;
  } else {
    probeTarget.cpu = targetCPU.empty() ? "host" : targetCPU.getValue();
    probeTarget.features = targetFeatures;
    base.targetCPU = targetCPU;
    base.targetFeatures = targetFeatures;
  }

  auto probe = ScheduleProbe::create(source, specFile, probeTarget);
  if (!probe)
    return fail(llvm::toString(probe.takeError()));
  std::vector<std::string> functions = (*probe)->getFunctions();
  if (!functionName.empty()) {
    if (!llvm::is_contained(functions, functionName))
      return fail("no public function '" + functionName + "' in " + specFile +
                  " (available: " + llvm::join(functions, ", ") + ")");
    functions = {functionName};
  }
  if (functions.empty())
    return fail(specFile + " has no public function");
  auto heuristicModule = JITModule::compile(source, specFile, base);
  if (!heuristicModule)
    return fail(llvm::toString(heuristicModule.takeError()));
  llvm::errs() << (*heuristicModule)->getWarnings();
  for (const std::string &function : functions)
    if (int rc =
            tuneFunction(**probe, function, source, base, **heuristicModule))
      return rc;
  return 0;
}
