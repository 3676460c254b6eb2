//===- JIT.cpp - NormLIR C++ JIT API --------------------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/ExecutionEngine/JIT.h"
#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Transforms/BufferizableOpInterfaceImpl.h"
#include "normlir/ExecutionEngine/CudaRuntime.h"
#include "normlir/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"

#include <chrono>
#include <mutex>

using namespace mlir;
using namespace normlir;

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

size_t normlir::getElementSize(ElementType type) {
  switch (type) {
  case ElementType::F16:
  case ElementType::BF16:
    return 2;
  case ElementType::F32:
  case ElementType::I32:
    return 4;
  case ElementType::F64:
  case ElementType::I64:
    return 8;
  }
  llvm_unreachable("unknown element type");
}

llvm::StringRef normlir::getElementTypeName(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return "f32";
  case ElementType::F16:
    return "f16";
  case ElementType::BF16:
    return "bf16";
  case ElementType::F64:
    return "f64";
  case ElementType::I64:
    return "i64";
  case ElementType::I32:
    return "i32";
  }
  llvm_unreachable("unknown element type");
}

std::optional<ElementType> normlir::parseElementType(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<ElementType>>(name)
      .Case("f32", ElementType::F32)
      .Case("f16", ElementType::F16)
      .Case("bf16", ElementType::BF16)
      .Case("f64", ElementType::F64)
      .Case("i64", ElementType::I64)
      .Case("i32", ElementType::I32)
      .Default(std::nullopt);
}

int64_t TensorSpec::getNumElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

llvm::Expected<size_t> normlir::getCheckedSizeInBytes(const TensorSpec &spec) {
  int64_t bytes = static_cast<int64_t>(getElementSize(spec.elementType));
  for (int64_t d : spec.shape) {
    if (d < 0)
      return llvm::createStringError("tensor " + spec.str() +
                                     " has a negative dimension");
    if (llvm::MulOverflow(bytes, d, bytes))
      return llvm::createStringError("tensor " + spec.str() +
                                     " is too large: its size overflows");
  }
  return static_cast<size_t>(bytes);
}

std::string TensorSpec::str() const {
  std::string s;
  for (int64_t d : shape)
    s += std::to_string(d) + "x";
  return s + getElementTypeName(elementType).str();
}

static std::optional<ElementType> toElementType(Type t) {
  if (t.isF32())
    return ElementType::F32;
  if (t.isF16())
    return ElementType::F16;
  if (t.isBF16())
    return ElementType::BF16;
  if (t.isF64())
    return ElementType::F64;
  if (t.isInteger(64))
    return ElementType::I64;
  if (t.isInteger(32))
    return ElementType::I32;
  return std::nullopt;
}

/// The JIT signature of a tensor type, or a reason it has none.
static llvm::Expected<TensorSpec> toTensorSpec(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type;
  if (!tensor || !tensor.hasStaticShape())
    return llvm::createStringError("type " + text +
                                   " is not a statically shaped tensor");
  auto elt = toElementType(tensor.getElementType());
  if (!elt)
    return llvm::createStringError("element type of " + text +
                                   " is not supported");
  TensorSpec spec{*elt, std::vector<int64_t>(tensor.getShape().begin(),
                                             tensor.getShape().end())};
  if (auto size = getCheckedSizeInBytes(spec); !size)
    return size.takeError();
  return spec;
}

/// Appends the JIT signatures of `types` to `specs`, or says why one has none.
static llvm::Error appendTensorSpecs(TypeRange types,
                                     std::vector<TensorSpec> &specs) {
  for (Type t : types) {
    auto spec = toTensorSpec(t);
    if (!spec)
      return spec.takeError();
    specs.push_back(*spec);
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// JITModule
//===----------------------------------------------------------------------===//

struct JITModule::Impl {
  std::unique_ptr<ExecutionEngine> engine;
  /// CUDA: the kernel modules are loaded (global constructors run) at the
  /// first call, once the driver is known to be there; a failure sticks.
  std::once_flag loadOnce;
  std::string loadError;
};

JITModule::JITModule() : impl(std::make_unique<Impl>()) {}
JITModule::~JITModule() = default;

static void initializeLLVMOnce() {
  static std::once_flag flag;
  std::call_once(flag, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

llvm::Expected<std::unique_ptr<JITModule>>
JITModule::compile(llvm::StringRef source, llvm::StringRef bufferName,
                   const JITOptions &options) {
  auto start = std::chrono::steady_clock::now();
  initializeLLVMOnce();

  DialectRegistry registry;
  registry.insert<norm::NormDialect>();
  norm::registerBufferizableOpInterfaceExternalModels(registry);
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  MLIRContext context(registry, MLIRContext::Threading::DISABLED);
  // Diagnostics point at the user's source line; the op dump adds nothing.
  context.printOpOnDiagnostic(false);

  // Diagnostics are collected with their source locations and returned as
  // the error text.
  std::string diagText;
  llvm::raw_string_ostream diagStream(diagText);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(source, bufferName), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &context, diagStream);
  auto fail = [&](llvm::StringRef what) -> llvm::Error {
    // The located diagnostics say what went wrong; `what` says where.
    std::string msg = diagText.empty() ? what.str() : diagText + what.str();
    while (!msg.empty() && msg.back() == '\n')
      msg.pop_back();
    return llvm::createStringError(msg);
  };

  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return fail("");

  // The lowered code calls these C runtime functions; a user function of the
  // same name would be taken for them at link time.
  static constexpr llvm::StringLiteral kReserved[] = {
      "malloc", "free", "aligned_alloc", "memcpy", "memset", "memrefCopy"};
  for (auto func : module->getOps<func::FuncOp>())
    if (llvm::is_contained(kReserved, func.getSymName())) {
      func.emitError("function name '")
          << func.getSymName()
          << "' is reserved: the generated code calls the C runtime "
             "function of that name";
      return fail("");
    }
  // Only top-level functions are compiled and callable.
  for (auto nested : module->getOps<ModuleOp>())
    nested.emitWarning("nested modules are not compiled; move the functions "
                       "to the top level to call them");

  auto jit = std::unique_ptr<JITModule>(new JITModule());
  // Signatures are read before lowering, while they are still tensors.
  for (auto func : module->getOps<func::FuncOp>()) {
    if (func.isPrivate() || func.isExternal())
      continue;
    FunctionSignature sig;
    sig.name = func.getSymName().str();
    llvm::Error err = appendTensorSpecs(func.getArgumentTypes(), sig.inputs);
    if (!err)
      err = appendTensorSpecs(func.getResultTypes(), sig.results);
    if (err) {
      func.emitWarning("function '")
          << sig.name << "' is not callable from the JIT: "
          << llvm::toString(std::move(err));
      continue;
    }
    // Inputs are read-only for the caller's sake: bufferization copies
    // rather than writing in place into an argument.
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      func.setArgAttr(i, "bufferization.writable",
                      BoolAttr::get(&context, false));
    jit->functions.push_back(std::move(sig));
  }

  bool cuda = options.target == Target::CUDA;
  jit->target = options.target;
  PassManager pm(&context);
  if (cuda) {
    CUDATarget target;
    target.chip = options.cudaChip;
    if (target.chip.empty()) {
      // The device's own architecture where there is one.
      auto info = cuda::getDeviceInfo();
      target.chip = info ? info->chip() : "sm_90";
      if (!info)
        llvm::consumeError(info.takeError());
    }
    target.format = options.cudaFormat;
    target.optLevel = std::min(options.optLevel, 3u);
    jit->chip = target.chip;
    if (failed(
            buildCUDAPipeline(pm, target, "target=cuda " + options.schedule)))
      return fail("failed to build the CUDA pipeline");
  } else if (failed(buildCPUPipeline(pm, options.schedule))) {
    return fail("failed to build the CPU pipeline");
  }
  if (failed(pm.run(*module)))
    return fail(diagText.empty() ? "failed to lower " + bufferName.str() : "");

  // The call ABI below passes each buffer as an expanded memref descriptor
  // (3 + 2 * rank scalars) with results as trailing out-parameters; a
  // lowering that produced anything else must not be called.
  for (const FunctionSignature &sig : jit->functions) {
    auto llvmFunc = module->lookupSymbol<LLVM::LLVMFuncOp>(sig.name);
    size_t expected = 0;
    for (const TensorSpec &t : sig.inputs)
      expected += 3 + 2 * t.shape.size();
    for (const TensorSpec &t : sig.results)
      expected += 3 + 2 * t.shape.size();
    if (!llvmFunc || llvmFunc.getNumArguments() != expected ||
        !isa<LLVM::LLVMVoidType>(llvmFunc.getFunctionType().getReturnType()))
      return llvm::createStringError(
          "internal error: lowered function '" + sig.name +
          "' does not have the expected out-parameter ABI");
  }

  // Parallel loops call the OpenMP runtime; its symbols are resolved from
  // the process once the library is loaded.
  static std::once_flag ompOnce;
  static std::string ompError;
  std::call_once(ompOnce, [] {
    llvm::sys::DynamicLibrary::LoadLibraryPermanently(NORMLIR_LIBOMP_PATH,
                                                      &ompError);
  });
  if (!cuda && !ompError.empty())
    return llvm::createStringError("cannot load the OpenMP runtime " +
                                   std::string(NORMLIR_LIBOMP_PATH) + ": " +
                                   ompError);

  auto tmBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tmBuilder)
    return tmBuilder.takeError();
  auto codegenLevel = options.optLevel >= 3 ? llvm::CodeGenOptLevel::Aggressive
                      : options.optLevel == 0 ? llvm::CodeGenOptLevel::None
                                              : llvm::CodeGenOptLevel::Default;
  tmBuilder->setCodeGenOptLevel(codegenLevel);
  auto tm = tmBuilder->createTargetMachine();
  if (!tm)
    return tm.takeError();
  auto transformer = makeOptimizingTransformer(std::min(options.optLevel, 3u),
                                               /*sizeLevel=*/0, tm->get());
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel = codegenLevel;
  engineOptions.enableGDBNotificationListener = false;
  engineOptions.enablePerfNotificationListener = false;
  auto engine = ExecutionEngine::create(*module, engineOptions, std::move(*tm));
  if (!engine)
    return fail("failed to compile " + bufferName.str() +
                " for the host: " + llvm::toString(engine.takeError()));
  jit->impl->engine = std::move(*engine);
  if (cuda) {
    // The host code calls the runtime's mgpu* functions.
    auto symbols = cuda::getRuntimeSymbols();
    jit->impl->engine->registerSymbols(
        [&](llvm::orc::MangleAndInterner interner) {
          llvm::orc::SymbolMap map;
          for (auto &[name, address] : symbols)
            map[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                                   llvm::JITSymbolFlags::Exported};
          return map;
        });
  }
  jit->warnings = diagText;
  jit->compileSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return jit;
}

llvm::Expected<const FunctionSignature *>
JITModule::lookup(llvm::StringRef name) const {
  for (const FunctionSignature &f : functions)
    if (f.name == name)
      return &f;
  std::string known;
  for (const FunctionSignature &f : functions)
    known += (known.empty() ? "" : ", ") + f.name;
  return llvm::createStringError(
      "no callable function '" + name.str() +
      "' (available: " + (known.empty() ? "none" : known) + ")");
}

/// Checks `buffers` against `specs`; `what` is "input" or "result".
static llvm::Error checkBuffers(llvm::StringRef func,
                                llvm::ArrayRef<BufferView> buffers,
                                llvm::ArrayRef<TensorSpec> specs,
                                llvm::StringRef what) {
  if (buffers.size() != specs.size())
    return llvm::createStringError("function '" + func.str() + "' expects " +
                                   std::to_string(specs.size()) + " " +
                                   what.str() + "s, got " +
                                   std::to_string(buffers.size()));
  for (auto [i, b] : llvm::enumerate(buffers)) {
    const TensorSpec &expected = specs[i];
    // Signature specs were size-checked at compile time, so a buffer equal
    // to its spec has a size that fits; a mismatch is reported below.
    if (!(b.spec == expected))
      return llvm::createStringError(what.str() + " " + std::to_string(i) +
                                     " of '" + func.str() + "' must be " +
                                     expected.str() + ", got " + b.spec.str());
    if (!b.data && expected.getNumElements() != 0)
      return llvm::createStringError(what.str() + " " + std::to_string(i) +
                                     " of '" + func.str() +
                                     "' is a null buffer");
  }
  return llvm::Error::success();
}

llvm::Error JITModule::invoke(llvm::StringRef name,
                              llvm::ArrayRef<BufferView> inputs,
                              llvm::ArrayRef<BufferView> results) const {
  auto sig = lookup(name);
  if (!sig)
    return sig.takeError();
  if (auto err = checkBuffers(name, inputs, (*sig)->inputs, "input"))
    return err;
  if (auto err = checkBuffers(name, results, (*sig)->results, "result"))
    return err;
  // A result written over an input (or over another result) would corrupt
  // what the caller passed in.
  auto overlaps = [](const BufferView &a, const BufferView &b) {
    auto *a0 = static_cast<const char *>(a.data);
    auto *b0 = static_cast<const char *>(b.data);
    size_t an = a.spec.getSizeInBytes(), bn = b.spec.getSizeInBytes();
    return an && bn && a0 < b0 + bn && b0 < a0 + an;
  };
  for (auto [i, r] : llvm::enumerate(results)) {
    for (auto [j, in] : llvm::enumerate(inputs))
      if (overlaps(r, in))
        return llvm::createStringError("result " + std::to_string(i) + " of '" +
                                       name.str() + "' overlaps input " +
                                       std::to_string(j));
    for (size_t j = 0; j < i; ++j)
      if (overlaps(r, results[j]))
        return llvm::createStringError("result " + std::to_string(i) + " of '" +
                                       name.str() + "' overlaps result " +
                                       std::to_string(j));
  }

  // Each memref argument is passed expanded, as the LLVM lowering of a
  // memref descriptor: allocated, aligned, offset, sizes..., strides....
  size_t numInts = 0, numBuffers = inputs.size() + results.size();
  for (const BufferView &b : inputs)
    numInts += 1 + 2 * b.spec.shape.size();
  for (const BufferView &b : results)
    numInts += 1 + 2 * b.spec.shape.size();
  std::vector<void *> pointers(numBuffers);
  std::vector<int64_t> ints(numInts);
  std::vector<void *> args;
  args.reserve(2 * numBuffers + numInts);
  size_t p = 0, k = 0;
  auto pushBuffer = [&](const BufferView &b) {
    pointers[p] = b.data;
    args.push_back(&pointers[p]); // allocated
    args.push_back(&pointers[p]); // aligned
    ++p;
    ints[k] = 0;
    args.push_back(&ints[k++]); // offset
    const auto &shape = b.spec.shape;
    for (int64_t d : shape) {
      ints[k] = d;
      args.push_back(&ints[k++]);
    }
    int64_t stride = 1;
    std::vector<int64_t> strides(shape.size());
    for (size_t d = shape.size(); d-- > 0;) {
      strides[d] = stride;
      stride *= shape[d];
    }
    for (int64_t s : strides) {
      ints[k] = s;
      args.push_back(&ints[k++]);
    }
  };
  for (const BufferView &b : inputs)
    pushBuffer(b);
  for (const BufferView &b : results)
    pushBuffer(b);
  if (target != Target::CUDA)
    return impl->engine->invokePacked(name, args);

  if (auto err = cuda::initialize())
    return err;
  // Device buffers: each must be device memory of the runtime's context,
  // large enough and aligned for the kernels' 16-byte accesses.
  auto checkDevice = [&](llvm::ArrayRef<BufferView> buffers,
                         llvm::StringRef what) -> llvm::Error {
    for (auto [i, b] : llvm::enumerate(buffers))
      if (auto err = cuda::checkDeviceBuffer(b.data, b.spec.getSizeInBytes()))
        return llvm::createStringError(what.str() + " " + std::to_string(i) +
                                       " of '" + name.str() +
                                       "': " + llvm::toString(std::move(err)));
    return llvm::Error::success();
  };
  if (auto err = checkDevice(inputs, "input"))
    return err;
  if (auto err = checkDevice(results, "result"))
    return err;
  // Loading the kernels runs the module's constructors (mgpuModuleLoad).
  std::call_once(impl->loadOnce, [&] {
    llvm::consumeError(cuda::takeRuntimeError());
    impl->engine->initialize();
    if (auto err = cuda::takeRuntimeError())
      impl->loadError =
          "cannot load the GPU kernels: " + llvm::toString(std::move(err));
  });
  if (!impl->loadError.empty())
    return llvm::createStringError(impl->loadError);
  if (auto err = impl->engine->invokePacked(name, args))
    return err;
  if (auto err = cuda::takeRuntimeError())
    return llvm::createStringError("'" + name.str() + "' failed on the GPU: " +
                                   llvm::toString(std::move(err)));
  return llvm::Error::success();
}
