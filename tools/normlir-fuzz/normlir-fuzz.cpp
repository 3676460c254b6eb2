//===- normlir-fuzz.cpp - libFuzzer target for the NormLIR compiler -------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Fuzzes what a user of NormLIR controls: the spec (MLIR text with the norm
// dialect) and the pipeline and schedule options. An input is
//
//   MODE [OPTIONS]
//   MLIR text
//
// where MODE selects what runs after the text is parsed and verified:
//
//   parse    print the module and parse the printout again
//   tile     norm-expand,norm-fuse,norm-select-schedule{OPTIONS}
//   cpu      normlir-cpu-pipeline{OPTIONS} (to the LLVM dialect)
//   cuda     normlir-cuda-pipeline{format=isa OPTIONS} (to the LLVM dialect
//            with PTX embedded: no ptxas subprocess)
//   compile  normlir::compileToObject for the CPU with OPTIONS as
//            JITOptions::schedule (LLVM code generation; nothing runs)
//
// The pipelines are built from text through the pass registry, the surface
// users reach through normlir-opt. Errors (diagnostics, rejected options) are
// expected and swallowed; crashes, sanitizer reports, leaks, timeouts and
// running out of memory are the findings. Inputs with another first word, or
// options that could add passes of their own ('{', '}'), are skipped.
//
// Environment (read once):
//   NORMLIR_FUZZ_MAX_OPTION_INT=N  skip inputs whose option line holds a
//       number above N, to keep a run away from known crashes of huge
//       schedules while they are being fixed.
//   NORMLIR_FUZZ_SAFE_CUDA=1  cuda: only chip=sm_<50-99>[a] and no
//       features= (PTX 8.0 cannot target newer chips: LLVM ERROR).
//   NORMLIR_FUZZ_STRICT=1  also treat as findings IR that fails to verify
//       after a pass that succeeded, and a printout that does not parse.
//   NORMLIR_FUZZ_VERBOSE=1  print the diagnostics and what each step did
//       (to triage an input: normlir-fuzz CRASH_FILE).
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Transforms/BufferizableOpInterfaceImpl.h"
#include "normlir/ExecutionEngine/Compiler.h"
#include "normlir/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace mlir;

namespace {

/// What the environment restricts (see the file comment).
struct Settings {
  /// Largest number allowed on the option line; -1: no limit.
  int64_t maxOptionInt = -1;
  bool safeCuda = false;
  bool strict = false;
  bool verbose = false;
};

/// Aborts (a finding) when a pass reports success but leaves invalid IR;
/// installed in place of the pass manager's verifier in strict mode, which
/// cannot tell this apart from a pass that rightly failed.
struct VerifyAfterSuccess : public PassInstrumentation {
  void runAfterPass(Pass *pass, Operation *op) override {
    if (failed(verify(op))) {
      fprintf(stderr, "normlir-fuzz: '%s' succeeded but left invalid IR\n",
              pass->getArgument().str().c_str());
      abort();
    }
  }
};

} // namespace

static Settings settings;
/// Built once: registering every upstream dialect and extension per input
/// would dominate the run time. Each input still gets a fresh MLIRContext
/// so that no state carries over between inputs.
static DialectRegistry *registry = nullptr;

/// Whether `options` holds a number larger than the limit. Every run of
/// digits counts, which also catches hex and binary spellings ("0x10000").
static bool exceedsIntLimit(llvm::StringRef options) {
  if (settings.maxOptionInt < 0)
    return false;
  while (!options.empty()) {
    options = options.drop_until(llvm::isDigit);
    llvm::StringRef digits = options.take_while(llvm::isDigit);
    options = options.drop_front(digits.size());
    digits = digits.drop_while([](char c) { return c == '0'; });
    uint64_t value;
    if (digits.size() > 18 ||
        (!digits.empty() && digits.getAsInteger(10, value)))
      return true;
    if (!digits.empty() && value > uint64_t(settings.maxOptionInt))
      return true;
  }
  return false;
}

/// With NORMLIR_FUZZ_SAFE_CUDA: every `chip=` is sm_50 to sm_99 (optionally
/// with an `a` suffix) and there is no `features=`.
static bool isSafeCudaOptions(llvm::StringRef options) {
  if (options.contains("features"))
    return false;
  for (size_t pos = options.find("chip="); pos != llvm::StringRef::npos;
       pos = options.find("chip=", pos + 1)) {
    llvm::StringRef chip =
        options.drop_front(pos + 5).take_until(llvm::isSpace);
    if (chip.ends_with("a"))
      chip = chip.drop_back();
    unsigned sm;
    if (!chip.consume_front("sm_") || chip.size() != 2 ||
        chip.getAsInteger(10, sm) || sm < 50)
      return false;
  }
  return true;
}

/// Runs `pipeline` (a pass list anchored on builtin.module) on `module`.
/// Failure to parse the pipeline or to run it is an expected outcome.
static void runPipeline(ModuleOp module, const llvm::Twine &pipelineTwine) {
  std::string pipeline = pipelineTwine.str();
  PassManager pm(module.getContext());
  std::string errors;
  llvm::raw_string_ostream errorStream(errors);
  if (failed(parsePassPipeline(pipeline, pm, errorStream))) {
    if (settings.verbose)
      llvm::errs() << "normlir-fuzz: pipeline '" << pipeline
                   << "' does not parse: " << errors << "\n";
    return;
  }
  if (settings.strict) {
    pm.enableVerifier(false);
    pm.addInstrumentation(std::make_unique<VerifyAfterSuccess>());
  }
  LogicalResult result = pm.run(module);
  if (settings.verbose)
    llvm::errs() << "normlir-fuzz: '" << pipeline << "' "
                 << (succeeded(result) ? "succeeded" : "failed") << "\n";
}

/// Parses `text` (a null-terminated copy: the lexer reads up to a NUL)
/// into a verified module, or null.
static OwningOpRef<ModuleOp> parse(llvm::StringRef text, MLIRContext &context) {
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz.mlir"), llvm::SMLoc());
  return parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&context));
}

static void roundTrip(ModuleOp module) {
  std::string printed;
  llvm::raw_string_ostream os(printed);
  module.print(os);
  OwningOpRef<ModuleOp> again = parse(printed, *module.getContext());
  if (!again && settings.strict) {
    fprintf(stderr, "normlir-fuzz: the printed module does not parse:\n%s\n",
            printed.c_str());
    abort();
  }
  // The generic form goes through the attributes' and types' printers
  // without the ops' custom syntax.
  printed.clear();
  module.print(os, OpPrintingFlags().printGenericOpForm());
}

static void compileForCPU(llvm::StringRef body, llvm::StringRef options) {
  normlir::JITOptions jitOptions;
  jitOptions.target = normlir::Target::CPU;
  jitOptions.schedule = options.str();
  // Each input compiles from scratch: a cache hit would skip the compiler
  // and make findings depend on earlier inputs.
  jitOptions.memoryCache = false;
  jitOptions.diskCache = false;
  auto object = normlir::compileToObject(body, "fuzz.mlir", jitOptions);
  if (!object) {
    std::string message = llvm::toString(object.takeError());
    if (settings.verbose)
      llvm::errs() << "normlir-fuzz: compile failed: " << message << "\n";
  } else if (settings.verbose) {
    llvm::errs() << "normlir-fuzz: compiled " << object->object.size()
                 << " bytes of object code\n";
  }
}

/// LLVM's allocators, inlined into this instrumented code, poison memory that
/// the uninstrumented libMLIR.so then uses: without this, a false
/// use-after-poison. ASAN_OPTIONS adds to (and overrides) it.
extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0";
}

/// Whether environment variable `name` is set to something other than 0.
static bool isSet(const char *name) {
  const char *value = std::getenv(name);
  return value && *value && llvm::StringRef(value) != "0";
}

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv) {
  if (const char *max = std::getenv("NORMLIR_FUZZ_MAX_OPTION_INT"))
    settings.maxOptionInt = std::strtoll(max, nullptr, 10);
  settings.safeCuda = isSet("NORMLIR_FUZZ_SAFE_CUDA");
  settings.strict = isSet("NORMLIR_FUZZ_STRICT");
  settings.verbose = isSet("NORMLIR_FUZZ_VERBOSE");

  // As normlir-opt: the textual pipelines resolve through the registry.
  mlir::registerAllPasses();
  normlir::registerAllPasses();
  registry = new DialectRegistry();
  registry->insert<normlir::norm::NormDialect>();
  normlir::norm::registerBufferizableOpInterfaceExternalModels(*registry);
  registerAllDialects(*registry);
  registerAllExtensions(*registry);
  // gpu-module-to-binary translates the kernels to LLVM IR.
  registerAllGPUToLLVMIRTranslations(*registry);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef input(reinterpret_cast<const char *>(data), size);
  auto [header, body] = input.split('\n');
  auto [mode, options] = header.trim().split(' ');
  options = options.trim();
  // -1: libFuzzer does not keep skipped inputs in the corpus.
  if (options.find_first_of("{}") != llvm::StringRef::npos ||
      exceedsIntLimit(options))
    return -1;
  if (mode != "parse" && mode != "tile" && mode != "cpu" && mode != "cuda" &&
      mode != "compile")
    return -1;
  if (mode == "cuda" &&
      // The format stays isa: bin and fatbin would start ptxas.
      (options.contains("format") ||
       (settings.safeCuda && !isSafeCudaOptions(options))))
    return -1;

  if (mode == "compile") {
    compileForCPU(body, options);
    return 0;
  }

  MLIRContext context(*registry, MLIRContext::Threading::DISABLED);
  // Diagnostics are expected; neither print them nor pay for op dumps.
  context.printOpOnDiagnostic(false);
  ScopedDiagnosticHandler swallow(&context, [](Diagnostic &diag) {
    if (settings.verbose)
      llvm::errs() << diag.getLocation() << ": " << diag << "\n";
    return success();
  });
  OwningOpRef<ModuleOp> module = parse(body, context);
  if (!module) {
    if (settings.verbose)
      llvm::errs() << "normlir-fuzz: the input does not parse or verify\n";
    return 0;
  }
  if (mode == "parse")
    roundTrip(*module);
  else if (mode == "tile")
    runPipeline(*module,
                "norm-expand,norm-fuse,norm-select-schedule{" + options + "}");
  else if (mode == "cpu")
    runPipeline(*module, "normlir-cpu-pipeline{" + options + "}");
  else
    runPipeline(*module, "normlir-cuda-pipeline{format=isa " + options + "}");
  return 0;
}
