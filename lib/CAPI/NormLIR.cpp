//===- NormLIR.cpp - NormLIR C API ----------------------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The C API over the C++ JIT (normlir/ExecutionEngine/JIT.h). Every entry
// point validates its handles and arguments and turns errors into a status;
// none lets a C++ exception or an llvm::Error escape.
//
//===----------------------------------------------------------------------===//

#include "normlir-c/NormLIR.h"
#include "normlir/ExecutionEngine/Compiler.h"
#include "normlir/ExecutionEngine/CudaRuntime.h"
#include "normlir/ExecutionEngine/JIT.h"
#include "normlir/Spec/Spec.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

using namespace normlir;

struct normlirStatusImpl {
  normlirStatusCode code;
  std::string message;
};

struct normlirSpecImpl {
  NormSpec spec;
  std::string text;
};

struct normlirFunctionImpl {
  const JITModule *module = nullptr;
  size_t index = 0;
};

struct normlirModuleImpl {
  std::shared_ptr<const JITModule> module;
  std::vector<normlirFunctionImpl> functions;
};

static normlirStatus makeStatus(normlirStatusCode code, std::string message) {
  return new normlirStatusImpl{code, std::move(message)};
}

static normlirStatus invalid(std::string message) {
  return makeStatus(NORMLIR_STATUS_INVALID_ARGUMENT, std::move(message));
}

//===----------------------------------------------------------------------===//
// Status and types
//===----------------------------------------------------------------------===//

normlirStatusCode normlirStatusGetCode(normlirStatus status) {
  return status ? status->code : NORMLIR_STATUS_OK;
}

const char *normlirStatusGetMessage(normlirStatus status) {
  return status ? status->message.c_str() : "";
}

void normlirStatusDestroy(normlirStatus status) { delete status; }

const char *normlirGetVersion(void) { return getVersionString().data(); }

/// The integer a caller passed for an enum. Read from the object's bytes:
/// loading an out-of-range value as the enum type is undefined behaviour in
/// C++ (an enum without a fixed type only holds the values of its bit
/// range), and C callers may pass any int. `e` is bound by reference so that
/// the call itself does not load it either.
template <typename E> static int64_t rawEnum(const E &e) {
  // C enums are ints: read as int32_t so that -1 stays -1.
  static_assert(std::is_enum_v<E> && sizeof(E) == sizeof(int32_t));
  int32_t value;
  std::memcpy(&value, &e, sizeof value);
  return value;
}

static bool validDType(int64_t d) {
  return d >= NORMLIR_F32 && d <= NORMLIR_I32;
}

/// The element type of a dtype already checked with validDType.
static ElementType toElementType(int64_t d) {
  switch (d) {
  case NORMLIR_F32:
    return ElementType::F32;
  case NORMLIR_F16:
    return ElementType::F16;
  case NORMLIR_BF16:
    return ElementType::BF16;
  case NORMLIR_F64:
    return ElementType::F64;
  case NORMLIR_I64:
    return ElementType::I64;
  default:
    return ElementType::I32;
  }
}

static normlirDType toDType(ElementType t) {
  switch (t) {
  case ElementType::F32:
    return NORMLIR_F32;
  case ElementType::F16:
    return NORMLIR_F16;
  case ElementType::BF16:
    return NORMLIR_BF16;
  case ElementType::F64:
    return NORMLIR_F64;
  case ElementType::I64:
    return NORMLIR_I64;
  case ElementType::I32:
    return NORMLIR_I32;
  }
  return NORMLIR_F32;
}

size_t normlirDTypeGetSize(normlirDType dtype) {
  int64_t d = rawEnum(dtype);
  return validDType(d) ? getElementSize(toElementType(d)) : 0;
}

const char *normlirDTypeGetName(normlirDType dtype) {
  int64_t d = rawEnum(dtype);
  return validDType(d) ? getElementTypeName(toElementType(d)).data() : "";
}

//===----------------------------------------------------------------------===//
// Specs
//===----------------------------------------------------------------------===//

normlirStatus normlirSpecCreate(normlirOpKind op, normlirDType dtype,
                                int32_t rank, const int64_t *shape,
                                normlirSpec *spec) {
  if (!spec)
    return invalid("normlirSpecCreate: null result pointer");
  *spec = nullptr;
  int64_t opKind = rawEnum(op), d = rawEnum(dtype);
  if (opKind < NORMLIR_LAYER_NORM || opKind > NORMLIR_GROUP_NORM)
    return invalid("normlirSpecCreate: unknown op kind " +
                   std::to_string(opKind));
  if (!validDType(d))
    return invalid("normlirSpecCreate: unknown dtype " + std::to_string(d));
  if (rank < 1 || rank > 8 || !shape)
    return invalid("normlirSpecCreate: the shape must have 1 to 8 dimensions");
  auto *s = new normlirSpecImpl();
  s->spec.op = static_cast<NormOpKind>(opKind);
  s->spec.dtype = toElementType(d);
  s->spec.shape.assign(shape, shape + rank);
  s->spec.name = "norm";
  *spec = s;
  return nullptr;
}

void normlirSpecDestroy(normlirSpec spec) { delete spec; }

normlirStatus normlirSpecSetNormalizedShape(normlirSpec spec, int32_t rank,
                                            const int64_t *shape) {
  if (!spec || rank < 0 || rank > 8 || (rank && !shape))
    return invalid("normlirSpecSetNormalizedShape: null spec or bad shape");
  spec->spec.normalizedShape.assign(shape, shape + rank);
  return nullptr;
}

normlirStatus normlirSpecSetNumGroups(normlirSpec spec, int64_t groups) {
  if (!spec)
    return invalid("normlirSpecSetNumGroups: null spec");
  spec->spec.numGroups = groups;
  return nullptr;
}

normlirStatus normlirSpecSetEpsilon(normlirSpec spec, double epsilon) {
  if (!spec)
    return invalid("normlirSpecSetEpsilon: null spec");
  // As the op verifiers (and PyTorch): inf and NaN are accepted.
  if (epsilon < 0)
    return invalid("normlirSpecSetEpsilon: epsilon must not be negative, got " +
                   llvm::formatv("{0:e}", epsilon).str());
  spec->spec.epsilon = epsilon;
  return nullptr;
}

normlirStatus normlirSpecSetMomentum(normlirSpec spec, double momentum) {
  if (!spec)
    return invalid("normlirSpecSetMomentum: null spec");
  if (!(momentum >= 0 && momentum <= 1))
    return invalid("normlirSpecSetMomentum: momentum must be in [0, 1]");
  spec->spec.momentum = momentum;
  return nullptr;
}

normlirStatus normlirSpecSetFlags(normlirSpec spec, uint32_t flags) {
  if (!spec)
    return invalid("normlirSpecSetFlags: null spec");
  if (flags >= (1u << 9))
    return invalid("normlirSpecSetFlags: unknown flag bits");
  NormSpec &s = spec->spec;
  s.weight = flags & NORMLIR_SPEC_WEIGHT;
  s.bias = flags & NORMLIR_SPEC_BIAS;
  s.runningStats = flags & NORMLIR_SPEC_RUNNING_STATS;
  s.batchesTracked = flags & NORMLIR_SPEC_BATCHES_TRACKED;
  s.training = flags & NORMLIR_SPEC_TRAINING;
  s.channelsLast = flags & NORMLIR_SPEC_CHANNELS_LAST;
  s.saveStats = flags & NORMLIR_SPEC_SAVE_STATS;
  s.cumulativeAverage = flags & NORMLIR_SPEC_CUMULATIVE_AVERAGE;
  s.residual = flags & NORMLIR_SPEC_RESIDUAL;
  return nullptr;
}

normlirStatus normlirSpecSetParamDType(normlirSpec spec, normlirDType dtype) {
  int64_t d = rawEnum(dtype);
  if (!spec || !validDType(d))
    return invalid("normlirSpecSetParamDType: null spec or unknown dtype");
  spec->spec.paramType = toElementType(d);
  return nullptr;
}

normlirStatus normlirSpecSetName(normlirSpec spec, const char *name) {
  if (!spec || !name)
    return invalid("normlirSpecSetName: null spec or name");
  spec->spec.name = name;
  return nullptr;
}

normlirStatus normlirSpecGetMLIR(normlirSpec spec, const char **text) {
  if (!spec || !text)
    return invalid("normlirSpecGetMLIR: null spec or result pointer");
  auto mlir = spec->spec.toMLIR();
  if (!mlir)
    return invalid(llvm::toString(mlir.takeError()));
  spec->text = std::move(*mlir);
  *text = spec->text.c_str();
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Compiling
//===----------------------------------------------------------------------===//

void normlirCompileOptionsInit(normlirCompileOptions *options) {
  if (!options)
    return;
  options->target = NORMLIR_TARGET_CPU;
  options->chip = nullptr;
  options->schedule = nullptr;
  options->optLevel = 3;
  options->flags = 0;
  options->targetCPU = nullptr;
  options->targetFeatures = nullptr;
}

static normlirStatus compileImpl(llvm::StringRef source,
                                 llvm::StringRef bufferName,
                                 const normlirCompileOptions *options,
                                 normlirModule *module) {
  normlirCompileOptions defaults;
  normlirCompileOptionsInit(&defaults);
  const normlirCompileOptions &o = options ? *options : defaults;
  int64_t target = rawEnum(o.target);
  if (target != NORMLIR_TARGET_CPU && target != NORMLIR_TARGET_CUDA)
    return invalid("unknown target " + std::to_string(target));
  if (o.optLevel < 0 || o.optLevel > 3)
    return invalid("optLevel must be 0 to 3");
  if (o.flags &
      ~uint32_t(NORMLIR_COMPILE_NO_DISK_CACHE | NORMLIR_COMPILE_DIFFERENTIATE |
                NORMLIR_COMPILE_RECOMPUTE_STATISTICS))
    return invalid("unknown compile flags " + std::to_string(o.flags));
  if ((o.flags & NORMLIR_COMPILE_RECOMPUTE_STATISTICS) &&
      !(o.flags & NORMLIR_COMPILE_DIFFERENTIATE))
    return invalid("NORMLIR_COMPILE_RECOMPUTE_STATISTICS needs "
                   "NORMLIR_COMPILE_DIFFERENTIATE");
  JITOptions jit;
  jit.target = target == NORMLIR_TARGET_CUDA ? Target::CUDA : Target::CPU;
  jit.cudaChip = o.chip ? o.chip : "";
  jit.schedule = o.schedule ? o.schedule : "";
  jit.targetCPU = o.targetCPU ? o.targetCPU : "";
  jit.targetFeatures = o.targetFeatures ? o.targetFeatures : "";
  jit.optLevel = static_cast<unsigned>(o.optLevel);
  jit.diskCache = !(o.flags & NORMLIR_COMPILE_NO_DISK_CACHE);
  jit.differentiate = o.flags & NORMLIR_COMPILE_DIFFERENTIATE;
  jit.recomputeStatistics = o.flags & NORMLIR_COMPILE_RECOMPUTE_STATISTICS;
  auto compiled = JITModule::compile(source, bufferName, jit);
  if (!compiled)
    return makeStatus(NORMLIR_STATUS_COMPILE_ERROR,
                      llvm::toString(compiled.takeError()));
  auto *m = new normlirModuleImpl();
  m->module = std::move(*compiled);
  for (size_t i = 0; i < m->module->getFunctions().size(); ++i)
    m->functions.push_back({m->module.get(), i});
  *module = m;
  return nullptr;
}

normlirStatus normlirCompile(const char *source, size_t length,
                             const char *bufferName,
                             const normlirCompileOptions *options,
                             normlirModule *module) {
  if (!module)
    return invalid("normlirCompile: null result pointer");
  *module = nullptr;
  if (!source && length)
    return invalid("normlirCompile: null source");
  return compileImpl(llvm::StringRef(source, length),
                     bufferName ? bufferName : "<spec>", options, module);
}

normlirStatus normlirCompileSpec(normlirSpec spec,
                                 const normlirCompileOptions *options,
                                 normlirModule *module) {
  if (!module)
    return invalid("normlirCompileSpec: null result pointer");
  *module = nullptr;
  const char *text = nullptr;
  if (normlirStatus st = normlirSpecGetMLIR(spec, &text))
    return st;
  return compileImpl(text, "<" + spec->spec.name + " spec>", options, module);
}

void normlirModuleRelease(normlirModule module) { delete module; }

const char *normlirModuleGetWarnings(normlirModule m) {
  return m ? m->module->getWarnings().data() : "";
}

int32_t normlirModuleGetNumFunctions(normlirModule m) {
  return m ? static_cast<int32_t>(m->functions.size()) : 0;
}

normlirFunction normlirModuleGetFunction(normlirModule m, int32_t index) {
  if (!m || index < 0 || static_cast<size_t>(index) >= m->functions.size())
    return nullptr;
  return &m->functions[index];
}

normlirStatus normlirModuleLookup(normlirModule m, const char *name,
                                  normlirFunction *f) {
  if (!m || !name || !f)
    return invalid("normlirModuleLookup: null module, name or result");
  *f = nullptr;
  auto sig = m->module->lookup(name);
  if (!sig)
    return invalid(llvm::toString(sig.takeError()));
  *f = &m->functions[*sig - m->module->getFunctions().data()];
  return nullptr;
}

static const FunctionSignature *signature(normlirFunction f) {
  return f ? &f->module->getFunctions()[f->index] : nullptr;
}

const char *normlirFunctionGetName(normlirFunction f) {
  return f ? signature(f)->name.c_str() : "";
}

int32_t normlirFunctionGetNumInputs(normlirFunction f) {
  return f ? static_cast<int32_t>(signature(f)->inputs.size()) : 0;
}

int32_t normlirFunctionGetNumResults(normlirFunction f) {
  return f ? static_cast<int32_t>(signature(f)->results.size()) : 0;
}

static normlirTensorType tensorType(const std::vector<TensorSpec> &specs,
                                    int32_t index) {
  if (index < 0 || static_cast<size_t>(index) >= specs.size())
    return {NORMLIR_F32, -1, nullptr};
  const TensorSpec &t = specs[index];
  return {toDType(t.elementType), static_cast<int32_t>(t.shape.size()),
          t.shape.data()};
}

normlirTensorType normlirFunctionGetInputType(normlirFunction f,
                                              int32_t index) {
  if (!f)
    return {NORMLIR_F32, -1, nullptr};
  return tensorType(signature(f)->inputs, index);
}

normlirTensorType normlirFunctionGetResultType(normlirFunction f,
                                               int32_t index) {
  if (!f)
    return {NORMLIR_F32, -1, nullptr};
  return tensorType(signature(f)->results, index);
}

normlirStatus normlirFunctionGetResultShape(normlirFunction f, int32_t index,
                                            const normlirTensor *inputs,
                                            int32_t numInputs, int64_t *shape) {
  if (!f || (numInputs && !inputs))
    return invalid("normlirFunctionGetResultShape: null function or inputs");
  const FunctionSignature &sig = *signature(f);
  if (index < 0 || static_cast<size_t>(index) >= sig.results.size())
    return invalid("normlirFunctionGetResultShape: '" + sig.name +
                   "' has no result " + std::to_string(index));
  if (!shape && !sig.results[index].shape.empty())
    return invalid("normlirFunctionGetResultShape: null shape");
  if (static_cast<size_t>(numInputs) != sig.inputs.size())
    return invalid("normlirFunctionGetResultShape: '" + sig.name + "' takes " +
                   std::to_string(sig.inputs.size()) + " inputs, got " +
                   std::to_string(numInputs));
  std::vector<std::vector<int64_t>> shapes;
  for (int32_t i = 0; i < numInputs; ++i) {
    if (inputs[i].rank < 0 || (inputs[i].rank && !inputs[i].shape))
      return invalid("normlirFunctionGetResultShape: input " +
                     std::to_string(i) + " has a malformed shape");
    shapes.emplace_back(inputs[i].shape, inputs[i].shape + inputs[i].rank);
  }
  TensorSpec result = sig.getResultsFor(shapes)[index];
  if (!result.hasStaticShape())
    return invalid("normlirFunctionGetResultShape: result " +
                   std::to_string(index) + " of '" + sig.name + "' is " +
                   result.str() + ": a dynamic dimension follows no input's");
  std::copy(result.shape.begin(), result.shape.end(), shape);
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Calling
//===----------------------------------------------------------------------===//

/// normlirFunctionCall and normlirFunctionCallOnStream (`caller` names
/// which in messages).
static normlirStatus
callFunction(const char *caller, normlirFunction f, const normlirTensor *inputs,
             int32_t numInputs, const normlirTensor *results,
             int32_t numResults, const CallOptions &options) {
  if (!f)
    return invalid(std::string(caller) + ": null function");
  if (numInputs < 0 || numResults < 0 || numInputs > 64 || numResults > 64 ||
      (numInputs && !inputs) || (numResults && !results))
    return invalid(std::string(caller) + ": bad buffer arrays");
  RawBuffer raw[128];
  int32_t n = numInputs + numResults;
  for (int32_t i = 0; i < n; ++i) {
    const normlirTensor &t = i < numInputs ? inputs[i] : results[i - numInputs];
    int64_t d = rawEnum(t.dtype);
    if (!validDType(d) || t.rank < 0 || t.rank > 16 || (t.rank && !t.shape))
      return invalid(std::string(i < numInputs ? "input " : "result ") +
                     std::to_string(i < numInputs ? i : i - numInputs) +
                     ": malformed tensor (dtype, rank or shape)");
    raw[i] = {t.data, toElementType(d), t.rank, t.shape, t.strides};
  }
  if (llvm::Error err = f->module->call(f->index, raw, numInputs,
                                        raw + numInputs, numResults, options)) {
    std::string message = llvm::toString(std::move(err));
    bool runtime = f->module->getTarget() == Target::CUDA &&
                   message.find("on the GPU") != std::string::npos;
    return makeStatus(runtime ? NORMLIR_STATUS_RUNTIME_ERROR
                              : NORMLIR_STATUS_INVALID_ARGUMENT,
                      std::move(message));
  }
  return nullptr;
}

normlirStatus normlirFunctionCall(normlirFunction f,
                                  const normlirTensor *inputs,
                                  int32_t numInputs,
                                  const normlirTensor *results,
                                  int32_t numResults) {
  return callFunction("normlirFunctionCall", f, inputs, numInputs, results,
                      numResults, {});
}

normlirStatus normlirFunctionCallOnStream(normlirFunction f,
                                          const normlirTensor *inputs,
                                          int32_t numInputs,
                                          const normlirTensor *results,
                                          int32_t numResults, void *stream) {
  CallOptions options;
  options.stream = stream;
  return callFunction("normlirFunctionCallOnStream", f, inputs, numInputs,
                      results, numResults, options);
}

normlirStatus normlirSetCudaDevice(int32_t ordinal) {
  if (llvm::Error err = cuda::selectDevice(ordinal))
    return makeStatus(NORMLIR_STATUS_RUNTIME_ERROR,
                      llvm::toString(std::move(err)));
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Caches
//===----------------------------------------------------------------------===//

normlirCacheStats normlirGetCacheStats(void) {
  CacheStats s = getCacheStats();
  return {s.compiles,       s.memoryHits,    s.diskHits,
          s.compileSeconds, s.memoryEntries, s.memoryCapacity};
}

normlirStatus normlirSetMemoryCacheCapacity(int64_t capacity) {
  if (capacity < 0)
    return invalid("normlirSetMemoryCacheCapacity: capacity must not be "
                   "negative, got " +
                   std::to_string(capacity));
  setMemoryCacheCapacity(capacity);
  return nullptr;
}

const char *normlirGetCacheDir(void) {
  static thread_local std::string dir;
  dir = getCacheDirectory();
  return dir.c_str();
}

normlirStatus normlirSetCacheDir(const char *path) {
  setCacheDirectory(path ? path : "off");
  return nullptr;
}

void normlirClearMemoryCache(void) { clearMemoryCache(); }
