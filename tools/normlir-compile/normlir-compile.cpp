//===- normlir-compile.cpp - Ahead-of-time compiler for norm specs --------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Compiles a norm spec into a shared library (or an object file) and a C
// header declaring each function as a plain C symbol:
//
//   normlir-compile spec.mlir -o libnorms.so [--header=norms.h]
//   cc main.c -L. -lnorms -Wl,-rpath,$PWD
//
// CPU libraries depend on LLVM's OpenMP runtime; CUDA libraries embed their
// kernels (cubin or PTX) and link libNormLIRRuntime.so, which loads the CUDA
// driver at run time.
//
//===----------------------------------------------------------------------===//

#include "normlir/ExecutionEngine/Compiler.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#include <cstdlib>

using namespace normlir;
namespace cl = llvm::cl;

static cl::OptionCategory category("normlir-compile options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<spec.mlir>"),
                                      cl::Required, cl::cat(category));
static cl::opt<std::string>
    outputFile("o",
               cl::desc("Output: a shared library (.so) or an object (.o)"),
               cl::value_desc("file"), cl::Required, cl::cat(category));
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
static cl::opt<std::string>
    headerFile("header",
               cl::desc("The C header to write (default: the output with "
                        "the extension .h)"),
               cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> targetName("target",
                                       cl::desc("cpu (default) or cuda"),
                                       cl::init("cpu"), cl::cat(category));
static cl::opt<std::string>
    chip("chip", cl::desc("CUDA: the GPU architecture (default sm_90)"),
         cl::init("sm_90"), cl::cat(category));
static cl::opt<std::string>
    tuningDB("tuning-db",
             cl::desc("A tuning database written by normlir-tune, consulted "
                      "before the schedule heuristic (default: "
                      "$NORMLIR_TUNING_DB)"),
             cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string>
    targetCPU("target-cpu",
              cl::desc("CPU: the LLVM CPU to compile for (x86-64-v3, znver4, "
                       "skylake-avx512, ...; default: the host's)"),
              cl::cat(category));
static cl::opt<std::string>
    targetFeatures("target-features",
                   cl::desc("CPU: LLVM features added to or removed from "
                            "the CPU's (+avx512bf16,-avx512f)"),
                   cl::cat(category));
static cl::opt<std::string>
    cudaFormat("cuda-format",
               cl::desc("CUDA: auto (cubin where ptxas is found, else PTX), "
                        "bin, isa or fatbin"),
               cl::init("auto"), cl::cat(category));
static cl::opt<std::string> schedule(
    "schedule",
    cl::desc("Overrides of the schedule heuristic, as norm-select-schedule's "
             "options (\"vector-width=8 unroll=2\")"),
    cl::cat(category));
static cl::opt<unsigned> optLevel("opt-level",
                                  cl::desc("LLVM optimization level (0-3)"),
                                  cl::init(3), cl::cat(category));
static cl::opt<std::string>
    linker("linker",
           cl::desc("The C compiler driver linking shared libraries "
                    "(default: $CC, else cc)"),
           cl::cat(category));

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "normlir-compile") << message << "\n";
  return 1;
}

/// Whether `a` and `b` name the same file (existing or not).
static bool isSameFile(llvm::StringRef a, llvm::StringRef b) {
  bool same = false;
  if (!llvm::sys::fs::equivalent(a, b, same))
    return same;
  llvm::SmallString<256> x(a), y(b);
  llvm::sys::fs::make_absolute(x);
  llvm::sys::fs::make_absolute(y);
  llvm::sys::path::remove_dots(x, /*remove_dot_dot=*/true);
  llvm::sys::path::remove_dots(y, /*remove_dot_dot=*/true);
  return x == y;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "normlir-compile: norm specs to a C library (ahead of time)\n");

  llvm::StringRef ext = llvm::sys::path::extension(outputFile);
  bool shared = ext == ".so";
  if (!shared && ext != ".o")
    return fail("the output must end in .so (shared library) or .o "
                "(object), got '" +
                outputFile + "'");
  if (targetName != "cpu" && targetName != "cuda")
    return fail("unknown --target '" + targetName + "' (cpu or cuda)");
  if (optLevel > 3)
    return fail("--opt-level must be 0 to 3");
  bool cuda = targetName == "cuda";

  std::string header = headerFile;
  if (header.empty()) {
    llvm::SmallString<256> h(outputFile);
    llvm::sys::path::replace_extension(h, ".h");
    header = std::string(h);
  }
  // Each output would overwrite the other, or the spec.
  if (isSameFile(header, outputFile))
    return fail("the header '" + header + "' and the output '" + outputFile +
                "' are the same file");
  if (inputFile != "-") {
    if (isSameFile(outputFile, inputFile))
      return fail("the output '" + outputFile + "' is the input file");
    if (isSameFile(header, inputFile))
      return fail("the header '" + header + "' is the input file");
  }

  auto file = llvm::MemoryBuffer::getFileOrSTDIN(inputFile);
  if (!file)
    return fail("cannot read '" + inputFile +
                "': " + file.getError().message());
  JITOptions options;
  options.target = cuda ? Target::CUDA : Target::CPU;
  options.cudaChip = chip;
  options.cudaFormat = cudaFormat;
  options.optLevel = optLevel;
  options.schedule = schedule;
  options.targetCPU = targetCPU;
  options.targetFeatures = targetFeatures;
  options.tuningDB = tuningDB;
  options.differentiate = differentiate;
  options.recomputeStatistics = recomputeStatistics;
  if (recomputeStatistics && !differentiate)
    return fail("--recompute-statistics needs --differentiate");
  // The JIT reads the variable itself; an ahead-of-time compile does here.
  if (options.tuningDB.empty())
    if (const char *path = std::getenv("NORMLIR_TUNING_DB"))
      options.tuningDB = path;
  options.forLibrary = true;
  // CUDA: "<name>_last_error" for lib<name>.so / <name>.o.
  std::string libName = llvm::sys::path::stem(outputFile).str();
  if (shared && llvm::StringRef(libName).starts_with("lib"))
    libName = libName.substr(3);
  // A plain C identifier: other characters become single underscores, none
  // leading (names starting with '_' and a capital or "__" are reserved).
  std::string prefix;
  for (char c : libName) {
    char d = llvm::isAlnum(c) ? c : '_';
    if (d != '_' || (!prefix.empty() && prefix.back() != '_'))
      prefix += d;
  }
  while (!prefix.empty() && prefix.back() == '_')
    prefix.pop_back();
  if (prefix.empty() || llvm::isDigit(prefix[0]))
    prefix = prefix.empty() ? "normlir" : "normlir_" + prefix;
  options.libraryErrorFunction = prefix + "_last_error";
  auto object = compileToObject((*file)->getBuffer(), inputFile, options);
  if (!object)
    return fail(llvm::toString(object.takeError()));
  if (!object->warnings.empty())
    llvm::errs() << object->warnings;
  if (object->functions.empty())
    return fail("'" + inputFile + "' has no callable function");

  // The object: the output itself, or a temporary linked into the library.
  std::string objectPath = outputFile;
  llvm::SmallString<128> tmp;
  if (shared) {
    if (auto ec = llvm::sys::fs::createTemporaryFile("normlir", "o", tmp))
      return fail("cannot create a temporary file: " + ec.message());
    objectPath = std::string(tmp);
  }
  {
    std::error_code ec;
    llvm::ToolOutputFile out(objectPath, ec, llvm::sys::fs::OF_None);
    if (ec)
      return fail("cannot write '" + objectPath + "': " + ec.message());
    out.os() << object->object;
    out.keep();
  }

  if (shared) {
    std::string driver = linker;
    if (driver.empty())
      if (auto cc = llvm::sys::Process::GetEnv("CC"))
        driver = *cc;
    if (driver.empty())
      driver = "cc";
    auto program = llvm::sys::findProgramByName(driver);
    if (!program) {
      llvm::sys::fs::remove(objectPath);
      return fail("cannot find the linker driver '" + driver +
                  "' (set --linker or $CC)");
    }
    std::vector<std::string> args = {*program, "-shared", "-o", outputFile,
                                     objectPath};
    if (cuda) {
      // The runtime library next to this tool: <bin>/../lib.
      std::string self = llvm::sys::fs::getMainExecutable(
          argv[0], reinterpret_cast<void *>(&isSameFile));
      llvm::SmallString<256> libDir(
          llvm::sys::path::parent_path(llvm::sys::path::parent_path(self)));
      llvm::sys::path::append(libDir, "lib");
      llvm::SmallString<256> runtime(libDir);
      llvm::sys::path::append(runtime, "libNormLIRRuntime.so");
      if (!llvm::sys::fs::exists(runtime)) {
        llvm::sys::fs::remove(objectPath);
        return fail("cannot find the runtime library " + runtime);
      }
      args.push_back(std::string(runtime));
      args.push_back("-Wl,-rpath," + std::string(libDir));
    } else {
      args.push_back(NORMLIR_LIBOMP_PATH);
      args.push_back("-Wl,-rpath," NORMLIR_LLVM_LIBRARY_DIR);
    }
    args.push_back("-lm");
    std::vector<llvm::StringRef> argRefs(args.begin(), args.end());
    std::string error;
    int rc = llvm::sys::ExecuteAndWait(*program, argRefs, std::nullopt, {}, 0,
                                       0, &error);
    llvm::sys::fs::remove(objectPath);
    if (rc != 0)
      return fail("linking '" + outputFile + "' failed" +
                  (error.empty() ? "" : ": " + error) + " (" +
                  llvm::join(args, " ") + ")");
  }

  // Checked again now that the output exists: a header path that is a
  // symbolic link to it (dangling before) would overwrite the library.
  if (isSameFile(header, outputFile))
    return fail("the header '" + header + "' and the output '" + outputFile +
                "' are the same file");
  if (inputFile != "-" && isSameFile(header, inputFile))
    return fail("the header '" + header + "' is the input file");
  // Function names starting with NORMLIR_ are refused, so none is the guard.
  std::string guard = "NORMLIR_AOT_";
  for (char c : llvm::sys::path::stem(header))
    guard += llvm::isAlnum(c) ? llvm::toUpper(c) : '_';
  guard += "_H";
  std::error_code ec;
  llvm::ToolOutputFile out(header, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return fail("cannot write '" + header + "': " + ec.message());
  out.os() << generateCHeader(*object, guard,
                              llvm::sys::path::filename(inputFile));
  out.keep();
  return 0;
}
