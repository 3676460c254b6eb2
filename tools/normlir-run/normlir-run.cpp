//===- normlir-run.cpp - JIT-compile and run a norm spec ------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// In the style of iree-run-module:
//
//   normlir-run spec.mlir --function=ln --input=@x.npy \
//       --input="3x4xf32=1" --output=@y.npy
//
// Inputs are .npy files (@path) or inline values (TYPE=VALUES). Results go,
// in order, to the --output flags given (@path.npy, or '-' to print); results
// without a flag are printed. Every error prints a message and exits 1.
//
//===----------------------------------------------------------------------===//

#include "normlir/ExecutionEngine/CudaRuntime.h"
#include "normlir/ExecutionEngine/JIT.h"
#include "normlir/Support/Npy.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"

#include <chrono>

using namespace normlir;
namespace cl = llvm::cl;

static cl::OptionCategory category("normlir-run options");
static cl::opt<std::string> specFile(cl::Positional, cl::desc("<spec.mlir>"),
                                     cl::cat(category));
static cl::opt<std::string>
    device("device",
           cl::desc("Where the function runs: cpu (default) or cuda (inputs "
                    "are copied to the GPU, results back)"),
           cl::init("cpu"), cl::cat(category));
static cl::opt<bool>
    deviceInfo("device-info",
               cl::desc("With --device=cuda: print the GPU and exit (exit "
                        "code 1 where there is no driver or GPU)"),
               cl::cat(category));
static cl::opt<std::string>
    chip("chip",
         cl::desc("With --device=cuda: GPU architecture to compile for "
                  "(default: the device's, else sm_90)"),
         cl::cat(category));
static cl::opt<std::string>
    tuningDB("tuning-db",
             cl::desc("A tuning database written by normlir-tune, consulted "
                      "before the schedule heuristic (default: "
                      "$NORMLIR_TUNING_DB)"),
             cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string>
    targetCPU("target-cpu",
              cl::desc("CPU: the LLVM CPU to compile for (x86-64-v3, znver4, "
                       "skylake-avx512, ...; default: the host's); code the "
                       "host cannot run is refused"),
              cl::cat(category));
static cl::opt<std::string>
    targetFeatures("target-features",
                   cl::desc("CPU: LLVM features added to or removed from "
                            "the CPU's (+avx512bf16,-avx512f)"),
                   cl::cat(category));
static cl::opt<std::string>
    cudaFormat("cuda-format",
               cl::desc("With --device=cuda: auto (cubin where ptxas is "
                        "found, else PTX), bin, isa or fatbin"),
               cl::init("auto"), cl::cat(category));
static cl::opt<std::string>
    functionName("function",
                 cl::desc("Function to run (default: the module's only one)"),
                 cl::cat(category));
static cl::list<std::string>
    inputs("input",
           cl::desc("An input: @file.npy, or inline TYPE=VALUES such as "
                    "\"2x2xf32=1 2 3 4\" (one value splats)"),
           cl::cat(category));
static cl::list<std::string>
    outputs("output", cl::desc("Where result i goes: @file.npy, or - to print"),
            cl::cat(category));
static cl::opt<unsigned> optLevel("O", cl::desc("LLVM optimization level"),
                                  cl::init(3), cl::cat(category));
static cl::opt<unsigned> repeat("repeat",
                                cl::desc("Run the function N times and "
                                         "report the median time"),
                                cl::init(1), cl::cat(category));
static cl::opt<std::string>
    schedule("schedule",
             cl::desc("Schedule overrides, as norm-select-schedule's options: "
                      "\"vector-width=4 unroll=2 strategy=row\""),
             cl::cat(category));
static cl::opt<unsigned> warmup("warmup",
                                cl::desc("Untimed calls before the timed ones "
                                         "(with --repeat)"),
                                cl::init(0), cl::cat(category));
static cl::opt<bool>
    randomInputs("random-inputs",
                 cl::desc("Fill the first input with pseudo-random values in "
                          "[-1, 1), the others in [0.5, 1.5) (integers: 0), "
                          "instead of --input flags; "
                          "for benchmarking"),
                 cl::cat(category));
static cl::opt<bool> differentiate(
    "differentiate",
    cl::desc("Also derive each function's backward function "
             "(norm-differentiate: NAME_backward, taking the arguments, the "
             "statistics the function returns, and the output cotangents, "
             "returning the gradients)"),
    cl::cat(category));
static cl::opt<bool> recomputeStatistics(
    "recompute-statistics",
    cl::desc("With --differentiate: the backward functions recompute the "
             "forward statistics instead of taking those a function returns"),
    cl::cat(category));
static cl::opt<bool> discardResults("discard-results",
                                    cl::desc("Neither print nor write the "
                                             "results"),
                                    cl::cat(category));
static cl::opt<bool> printSignature("print-signature",
                                    cl::desc("Print the callable functions "
                                             "and exit"),
                                    cl::cat(category));

static int fail(const llvm::Twine &msg) {
  llvm::WithColor::error(llvm::errs(), "normlir-run") << msg << "\n";
  return 1;
}

static int fail(llvm::Error err) {
  std::string msg = llvm::toString(std::move(err));
  return fail(msg);
}

static int writeResults(std::vector<HostTensor> &results);
static void reportTimes(double compileSeconds, double runSeconds);
static int runOnGPU(const JITModule &module, llvm::StringRef name,
                    std::vector<HostTensor> &args,
                    std::vector<BufferView> &argViews,
                    std::vector<HostTensor> &results,
                    std::vector<BufferView> &resultViews);

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "JIT-compile a norm spec and run a function\n");

  if (device != "cpu" && device != "cuda")
    return fail("--device must be cpu or cuda, got '" + device + "'");
  bool cuda = device == "cuda";
  if (deviceInfo) {
    if (!cuda)
      return fail("--device-info needs --device=cuda");
    auto info = cuda::getDeviceInfo();
    if (!info)
      return fail(info.takeError());
    llvm::outs() << llvm::format(
        "cuda:%d %s, compute capability %d.%d (%s), %d SMs, %.1f GiB, "
        "driver %d.%d\n",
        info->ordinal, info->name.c_str(), info->major, info->minor,
        info->chip().c_str(), info->multiprocessors,
        double(info->totalMemory) / (1u << 30), info->driverVersion / 1000,
        (info->driverVersion % 1000) / 10);
    return 0;
  }
  if (specFile.empty())
    return fail("no spec file given (normlir-run <spec.mlir> ...)");

  auto file = llvm::MemoryBuffer::getFile(specFile, /*IsText=*/true);
  if (!file)
    return fail(specFile + ": cannot read file: " + file.getError().message());
  // As normlir-compile and the APIs: out of range is an error, not clamped.
  if (optLevel > 3)
    return fail("-O must be 0 to 3, got " + llvm::Twine(optLevel));
  JITOptions options;
  options.optLevel = optLevel;
  options.schedule = schedule;
  options.targetCPU = targetCPU;
  options.targetFeatures = targetFeatures;
  options.tuningDB = tuningDB;
  options.differentiate = differentiate;
  options.recomputeStatistics = recomputeStatistics;
  if (recomputeStatistics && !differentiate)
    return fail("--recompute-statistics needs --differentiate");
  if (cuda) {
    options.target = Target::CUDA;
    options.cudaChip = chip;
    options.cudaFormat = cudaFormat;
  }
  auto module = JITModule::compile((*file)->getBuffer(), specFile, options);
  if (!module)
    return fail(module.takeError());
  llvm::errs() << (*module)->getWarnings();

  if (printSignature) {
    for (const FunctionSignature &f : (*module)->getFunctions()) {
      llvm::outs() << f.name << "(";
      for (auto [i, t] : llvm::enumerate(f.inputs))
        llvm::outs() << (i ? ", " : "") << t.str();
      llvm::outs() << ") -> (";
      for (auto [i, t] : llvm::enumerate(f.results))
        llvm::outs() << (i ? ", " : "") << t.str();
      llvm::outs() << ")\n";
    }
    return 0;
  }

  std::string name = functionName;
  if (name.empty()) {
    auto funcs = (*module)->getFunctions();
    if (funcs.size() != 1)
      return fail(specFile + " has " + llvm::Twine(funcs.size()) +
                  " callable functions; choose one with --function");
    name = funcs.front().name;
  }
  auto sig = (*module)->lookup(name);
  if (!sig)
    return fail(sig.takeError());

  if (randomInputs && !inputs.empty())
    return fail("--random-inputs and --input are exclusive");
  if (!randomInputs && inputs.size() != (*sig)->inputs.size())
    return fail("function '" + name + "' takes " +
                llvm::Twine((*sig)->inputs.size()) + " inputs, got " +
                llvm::Twine(inputs.size()) + " --input flags");
  std::vector<HostTensor> args;
  if (randomInputs) {
    for (const TensorSpec &t : (*sig)->inputs)
      if (!t.hasStaticShape())
        return fail("function '" + name + "' takes " + t.str() +
                    ": inputs with dynamic dimensions are given with --input, "
                    "not made up");
    auto random = makeRandomInputs((*sig)->inputs);
    if (!random)
      return fail(llvm::toString(random.takeError()));
    args = std::move(*random);
  }
  for (auto [i, text] : llvm::enumerate(inputs)) {
    llvm::StringRef ref(text);
    const TensorSpec &expected = (*sig)->inputs[i];
    auto mismatch = [&, i = i](const TensorSpec &got) {
      return fail("input " + llvm::Twine(i) + " of '" + name + "' must be " +
                  expected.str() + ", got " + got.str());
    };
    bool isFile = ref.consume_front("@");
    // An inline type is checked before its values are materialized.
    if (!isFile) {
      auto spec = parseInlineTensorType(ref);
      if (!spec)
        return fail("input " + llvm::Twine(i) + ": " +
                    llvm::toString(spec.takeError()));
      if (!expected.accepts(*spec))
        return mismatch(*spec);
    }
    auto t = isFile ? readNpy(ref) : parseInlineTensor(ref);
    if (!t)
      return fail("input " + llvm::Twine(i) + ": " +
                  llvm::toString(t.takeError()));
    if (!expected.accepts(t->spec))
      return mismatch(t->spec);
    args.push_back(std::move(*t));
  }
  if (outputs.size() > (*sig)->results.size())
    return fail("function '" + name + "' has " +
                llvm::Twine((*sig)->results.size()) + " results, got " +
                llvm::Twine(outputs.size()) + " --output flags");
  for (const std::string &o : outputs)
    if (o != "-" && !llvm::StringRef(o).starts_with("@"))
      return fail("--output must be @file.npy or -, got '" + o + "'");

  // Dynamic result dimensions take the sizes of the inputs' they follow.
  std::vector<std::vector<int64_t>> inputShapes;
  for (const HostTensor &t : args)
    inputShapes.push_back(t.spec.shape);
  std::vector<HostTensor> results;
  for (auto [i, spec] : llvm::enumerate((*sig)->getResultsFor(inputShapes))) {
    if (!spec.hasStaticShape())
      return fail("result " + llvm::Twine(i) + " of '" + name + "' is " +
                  spec.str() +
                  ": its dynamic dimensions do not follow an input's");
    auto t = allocateTensor(spec);
    if (!t)
      return fail("result " + llvm::Twine(i) + ": " +
                  llvm::toString(t.takeError()));
    results.push_back(std::move(*t));
  }
  std::vector<BufferView> argViews, resultViews;
  for (HostTensor &t : args)
    argViews.push_back(t.view());
  for (HostTensor &t : results)
    resultViews.push_back(t.view());

  if (cuda)
    return runOnGPU(**module, name, args, argViews, results, resultViews);

  for (unsigned r = 0; r < warmup; ++r)
    if (auto err = (*module)->invoke(name, argViews, resultViews))
      return fail(std::move(err));
  std::vector<double> times;
  for (unsigned r = 0; r < std::max(1u, unsigned(repeat)); ++r) {
    auto start = std::chrono::steady_clock::now();
    if (auto err = (*module)->invoke(name, argViews, resultViews))
      return fail(std::move(err));
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
  }

  if (int rc = writeResults(results))
    return rc;
  if (repeat > 1) {
    std::sort(times.begin(), times.end());
    reportTimes((*module)->getCompileSeconds(), times[times.size() / 2]);
  }
  return 0;
}

/// Writes or prints the results as the --output flags say.
static int writeResults(std::vector<HostTensor> &results) {
  for (auto [i, r] : llvm::enumerate(results)) {
    if (discardResults)
      break;
    llvm::StringRef dest =
        i < outputs.size() ? llvm::StringRef(outputs[i]) : llvm::StringRef("-");
    if (dest.consume_front("@")) {
      if (auto err = writeNpy(dest, r))
        return fail(std::move(err));
      continue;
    }
    llvm::outs() << "result[" << i << "]: ";
    printTensor(llvm::outs(), r);
    llvm::outs() << "\n";
  }
  return 0;
}

/// The timing line the benchmark parses.
static void reportTimes(double compileSeconds, double runSeconds) {
  llvm::errs() << llvm::format("compile: %.1f ms, run: median %.6f ms over "
                               "%u runs\n",
                               compileSeconds * 1e3, runSeconds * 1e3,
                               unsigned(repeat));
}

/// --device=cuda: inputs to device buffers, the calls, results back. With
/// --repeat, calls are queued back to back (no wait between them) in
/// batches timed with CUDA events; the median batch's time per call is
/// reported.
static int runOnGPU(const JITModule &module, llvm::StringRef name,
                    std::vector<HostTensor> &args,
                    std::vector<BufferView> &argViews,
                    std::vector<HostTensor> &results,
                    std::vector<BufferView> &resultViews) {
  std::vector<cuda::DeviceBuffer> buffers;
  auto toDevice = [&](std::vector<BufferView> &views, bool copy) -> int {
    for (BufferView &v : views) {
      size_t bytes = v.spec.getSizeInBytes();
      auto buf = cuda::DeviceBuffer::allocate(bytes);
      if (!buf)
        return fail(buf.takeError());
      if (copy)
        if (auto err = buf->copyFromHost(v.data, bytes))
          return fail(std::move(err));
      v.data = buf->data();
      buffers.push_back(std::move(*buf));
    }
    return 0;
  };
  if (int rc = toDevice(argViews, true))
    return rc;
  size_t firstResult = buffers.size();
  if (int rc = toDevice(resultViews, false))
    return rc;

  for (unsigned r = 0; r < warmup; ++r)
    if (auto err = module.invoke(name, argViews, resultViews))
      return fail(std::move(err));
  double perCall = 0.0;
  if (repeat > 1) {
    unsigned batches = std::min(5u, unsigned(repeat));
    unsigned perBatch = std::max(1u, unsigned(repeat) / batches);
    std::vector<double> times;
    cuda::setDeferredSynchronization(true);
    for (unsigned b = 0; b < batches; ++b) {
      auto ms = cuda::timeOnStream([&]() -> llvm::Error {
        for (unsigned r = 0; r < perBatch; ++r)
          if (auto err = module.invoke(name, argViews, resultViews))
            return err;
        return llvm::Error::success();
      });
      if (!ms) {
        cuda::setDeferredSynchronization(false);
        return fail(ms.takeError());
      }
      times.push_back(*ms / perBatch);
    }
    cuda::setDeferredSynchronization(false);
    std::sort(times.begin(), times.end());
    perCall = times[times.size() / 2] * 1e-3;
  } else if (auto err = module.invoke(name, argViews, resultViews)) {
    return fail(std::move(err));
  }
  if (auto err = cuda::synchronize())
    return fail(std::move(err));
  if (!discardResults)
    for (auto [i, r] : llvm::enumerate(results))
      if (auto err = buffers[firstResult + i].copyToHost(
              r.bytes.data(), r.spec.getSizeInBytes()))
        return fail(std::move(err));
  if (int rc = writeResults(results))
    return rc;
  if (repeat > 1)
    reportTimes(module.getCompileSeconds(), perCall);
  return 0;
}
