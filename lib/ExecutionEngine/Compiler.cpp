//===- Compiler.cpp - Norm specs to relocatable objects -------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/ExecutionEngine/Compiler.h"
#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Transforms/BufferizableOpInterfaceImpl.h"
#include "normlir/Dialect/Norm/Transforms/Passes.h"
#include "normlir/Dialect/Norm/Utils/Target.h"
#include "normlir/ExecutionEngine/CudaRuntime.h"
#include "normlir/ExecutionEngine/FatalErrors.h"
#include "normlir/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <chrono>
#include <map>
#include <mutex>

#include "HoistAllocas.h"
#include "NormLIRBuildId.inc"

using namespace mlir;
using namespace normlir;

#define NORMLIR_VERSION "0.1.0"

llvm::StringRef normlir::getVersionString() {
  static const std::string version = NORMLIR_VERSION
      " (LLVM " LLVM_VERSION_STRING ", build " NORMLIR_BUILD_ID ")";
  return version;
}

std::string normlir::getHostCPUDescription() {
  static const std::string description = [] {
    std::string s =
        llvm::sys::getProcessTriple() + " " + llvm::sys::getHostCPUName().str();
    llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
    std::vector<std::string> on;
    for (auto &f : features)
      if (f.second)
        on.push_back(f.first().str());
    llvm::sort(on);
    for (auto &f : on)
      s += " +" + f;
    // The schedules of a host compile depend on the caches too.
    return s + " " + norm::describeHostCaches();
  }();
  return description;
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
  if (!tensor)
    return llvm::createStringError("type " + text + " is not a ranked tensor");
  auto elt = toElementType(tensor.getElementType());
  if (!elt)
    return llvm::createStringError("element type of " + text +
                                   " is not supported");
  TensorSpec spec{*elt, {}};
  for (int64_t d : tensor.getShape())
    spec.shape.push_back(ShapedType::isDynamic(d) ? TensorSpec::kDynamic : d);
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

static void initializeLLVMOnce() {
  static std::once_flag flag;
  std::call_once(flag, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

/// Moves the functions of `llvm.global_ctors`/`llvm.global_dtors` (GPU module
/// loads/unloads) out of the global arrays, in priority order.
static std::vector<llvm::Function *> takeStructors(llvm::Module &m,
                                                   llvm::StringRef name) {
  std::vector<llvm::Function *> fns;
  llvm::GlobalVariable *gv = m.getNamedGlobal(name);
  if (!gv)
    return fns;
  std::multimap<uint64_t, llvm::Function *> ordered;
  if (auto *init = dyn_cast_or_null<llvm::ConstantArray>(
          gv->hasInitializer() ? gv->getInitializer() : nullptr))
    for (llvm::Value *op : init->operands()) {
      auto *entry = dyn_cast<llvm::ConstantStruct>(op);
      if (!entry)
        continue;
      auto *prio = dyn_cast<llvm::ConstantInt>(entry->getOperand(0));
      auto *fn =
          dyn_cast<llvm::Function>(entry->getOperand(1)->stripPointerCasts());
      if (prio && fn)
        ordered.emplace(prio->getZExtValue(), fn);
    }
  gv->eraseFromParent();
  for (auto &[prio, fn] : ordered)
    fns.push_back(fn);
  return fns;
}

/// A check's message with the lowered function's "argument N" named as the
/// caller knows it, the C header's "inputN" or "resultK" (results are the
/// out-parameters after the inputs).
static std::string nameArguments(llvm::StringRef message, size_t numInputs) {
  std::string out;
  static constexpr llvm::StringLiteral kWord = "argument ";
  while (true) {
    size_t at = message.find(kWord);
    if (at == llvm::StringRef::npos)
      break;
    llvm::StringRef rest = message.substr(at + kWord.size());
    size_t digits = rest.find_if_not(llvm::isDigit);
    if (digits == llvm::StringRef::npos)
      digits = rest.size();
    unsigned n;
    if (digits == 0 || rest.take_front(digits).getAsInteger(10, n)) {
      out += message.take_front(at + kWord.size());
      message = rest;
      continue;
    }
    out += message.take_front(at);
    out += n < numInputs ? "input" + std::to_string(n)
                         : "result" + std::to_string(n - numInputs);
    message = rest.drop_front(digits);
  }
  return out + message.str();
}

static_assert(kStatusFirstCheck == norm::NormDialect::kFirstCheckStatus,
              "the entry points and norm-lower-checks agree on statuses");

/// Adds the C entry points (see Compiler.h) around the lowered functions.
static llvm::Error addEntryPoints(llvm::Module &m,
                                  llvm::ArrayRef<FunctionSignature> functions,
                                  bool cuda, bool exportInternals,
                                  llvm::StringRef errorFunction,
                                  bool &hasFini) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *i32 = llvm::Type::getInt32Ty(ctx);
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx);
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  llvm::Type *voidTy = llvm::Type::getVoidTy(ctx);
  auto internalsLinkage = llvm::GlobalValue::ExternalLinkage;
  auto internalsVisibility = exportInternals
                                 ? llvm::GlobalValue::DefaultVisibility
                                 : llvm::GlobalValue::HiddenVisibility;

  // GPU module loads run once, at the first call; unloads at __normlir_fini.
  std::vector<llvm::Function *> ctors = takeStructors(m, "llvm.global_ctors");
  std::vector<llvm::Function *> dtors = takeStructors(m, "llvm.global_dtors");
  llvm::GlobalVariable *guard = nullptr;
  llvm::Function *init = nullptr;
  if (!ctors.empty()) {
    guard = new llvm::GlobalVariable(
        m, i64, false, llvm::GlobalValue::InternalLinkage,
        llvm::ConstantInt::get(i64, 0), "__normlir_once");
    init = llvm::Function::Create(llvm::FunctionType::get(voidTy, false),
                                  llvm::GlobalValue::InternalLinkage,
                                  "__normlir_init", m);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", init));
    for (llvm::Function *f : ctors)
      b.CreateCall(f);
    b.CreateRetVoid();
    auto *fini = llvm::Function::Create(llvm::FunctionType::get(voidTy, false),
                                        internalsLinkage, "__normlir_fini", m);
    fini->setVisibility(internalsVisibility);
    auto *entry = llvm::BasicBlock::Create(ctx, "entry", fini);
    auto *run = llvm::BasicBlock::Create(ctx, "unload", fini);
    auto *done = llvm::BasicBlock::Create(ctx, "done", fini);
    llvm::IRBuilder<> fb(entry);
    llvm::Value *state = fb.CreateLoad(i64, guard);
    fb.CreateCondBr(fb.CreateICmpEQ(state, llvm::ConstantInt::get(i64, 2)), run,
                    done);
    fb.SetInsertPoint(run);
    for (llvm::Function *f : llvm::reverse(dtors))
      fb.CreateCall(f);
    fb.CreateStore(llvm::ConstantInt::get(i64, 0), guard);
    fb.CreateBr(done);
    fb.SetInsertPoint(done);
    fb.CreateRetVoid();
    hasFini = true;
  }
  // Library mode: the message of the calling thread's last failed check
  // (a dynamically shaped call), which the error function returns.
  llvm::GlobalVariable *lastMessage = nullptr;
  if (!errorFunction.empty()) {
    lastMessage = new llvm::GlobalVariable(
        m, ptr, false, llvm::GlobalValue::InternalLinkage,
        llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx)),
        "__normlir_last_message", nullptr,
        llvm::GlobalValue::GeneralDynamicTLSModel);
  }
  llvm::FunctionCallee callOnce, hasError;
  if (cuda) {
    callOnce = m.getOrInsertFunction(
        "normlirRuntimeCallOnce",
        llvm::FunctionType::get(voidTy, {ptr, ptr}, false));
    hasError = m.getOrInsertFunction("normlirRuntimeHasError",
                                     llvm::FunctionType::get(i32, false));
  }
  if (!errorFunction.empty()) {
    // const char *NAME(void): the thread's last failed check (cleared), else
    // the runtime's last error (CUDA), else NULL.
    auto *fn = llvm::Function::Create(llvm::FunctionType::get(ptr, false),
                                      llvm::GlobalValue::ExternalLinkage,
                                      errorFunction, m);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
    llvm::Value *slot = b.CreateThreadLocalAddress(lastMessage);
    llvm::Value *message = b.CreateLoad(ptr, slot);
    auto *some = llvm::BasicBlock::Create(ctx, "check", fn);
    auto *none = llvm::BasicBlock::Create(ctx, "runtime", fn);
    b.CreateCondBr(b.CreateIsNotNull(message), some, none);
    b.SetInsertPoint(some);
    b.CreateStore(
        llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx)),
        slot);
    b.CreateRet(message);
    b.SetInsertPoint(none);
    if (cuda) {
      llvm::FunctionCallee getError = m.getOrInsertFunction(
          "normlirRuntimeGetLastError", llvm::FunctionType::get(ptr, false));
      b.CreateRet(b.CreateCall(getError));
    } else {
      b.CreateRet(
          llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx)));
    }
  }

  for (const FunctionSignature &sig : functions) {
    llvm::Function *impl = m.getFunction(sig.name);
    if (!impl)
      return llvm::createStringError("internal error: no lowered function '" +
                                     sig.name + "'");
    impl->setName("__normlir_impl_" + sig.name);
    impl->setLinkage(llvm::GlobalValue::InternalLinkage);
    size_t numBuffers = sig.inputs.size() + sig.results.size();
    std::vector<const TensorSpec *> specs;
    for (const TensorSpec &t : sig.inputs)
      specs.push_back(&t);
    for (const TensorSpec &t : sig.results)
      specs.push_back(&t);

    size_t numSizes = sig.getNumDynamicDims();
    // int32_t f(T *buffer0, ..., int64_t size0, ...)
    std::vector<llvm::Type *> params(numBuffers, ptr);
    params.insert(params.end(), numSizes, i64);
    auto *entryTy = llvm::FunctionType::get(i32, params, false);
    auto *entry = llvm::Function::Create(
        entryTy, llvm::GlobalValue::ExternalLinkage, sig.name, m);
    for (size_t i = 0; i < numBuffers + numSizes; ++i) {
      entry->addParamAttr(i, llvm::Attribute::NoUndef);
      if (i < sig.inputs.size())
        entry->addParamAttr(i, llvm::Attribute::ReadOnly);
    }
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", entry));
    // A failed status: its message for the library's error function.
    auto fail = [&](llvm::Value *status, llvm::Value *message) {
      if (lastMessage)
        b.CreateStore(message, b.CreateThreadLocalAddress(lastMessage));
      b.CreateRet(status);
    };
    // Sizes are checked before anything runs: a negative one would index
    // memory backwards, and sizes whose byte count overflows would wrap
    // the kernel's offsets (no buffer has that many bytes).
    if (numSizes) {
      llvm::Value *negative = nullptr;
      auto orInto = [&](llvm::Value *bit) {
        negative = negative ? b.CreateOr(negative, bit) : bit;
      };
      for (size_t k = 0; k < numSizes; ++k)
        orInto(b.CreateICmpSLT(entry->getArg(numBuffers + k),
                               llvm::ConstantInt::get(i64, 0)));
      size_t next = numBuffers;
      for (const TensorSpec *t : specs) {
        if (llvm::none_of(t->shape,
                          [](int64_t d) { return d == TensorSpec::kDynamic; }))
          continue;
        // Bytes of the buffer, unsigned (the sizes are checked above), with
        // the overflow bits; at most INT64_MAX. A buffer with a 0 in its
        // shape holds no bytes, whatever the other sizes.
        llvm::Value *bytes =
            llvm::ConstantInt::get(i64, getElementSize(t->elementType));
        llvm::Value *overflow = b.getFalse(), *empty = b.getFalse();
        for (int64_t d : t->shape) {
          llvm::Value *size =
              d == TensorSpec::kDynamic
                  ? static_cast<llvm::Value *>(entry->getArg(next++))
                  : llvm::ConstantInt::get(i64, d);
          llvm::Value *mul = b.CreateBinaryIntrinsic(
              llvm::Intrinsic::umul_with_overflow, bytes, size);
          bytes = b.CreateExtractValue(mul, 0);
          overflow = b.CreateOr(overflow, b.CreateExtractValue(mul, 1));
          empty = b.CreateOr(
              empty, b.CreateICmpEQ(size, llvm::ConstantInt::get(i64, 0)));
        }
        overflow = b.CreateOr(
            overflow, b.CreateICmpSLT(bytes, llvm::ConstantInt::get(i64, 0)));
        orInto(b.CreateAnd(overflow, b.CreateNot(empty)));
      }
      auto *bad = llvm::BasicBlock::Create(ctx, "negative_size", entry);
      auto *good = llvm::BasicBlock::Create(ctx, "sizes", entry);
      b.CreateCondBr(negative, bad, good);
      b.SetInsertPoint(bad);
      fail(llvm::ConstantInt::get(i32, kStatusNegativeSize),
           b.CreateGlobalString(sig.describeStatus(kStatusNegativeSize)));
      b.SetInsertPoint(good);
    }
    if (cuda && init)
      b.CreateCall(callOnce, {guard, init});
    // The expanded memref descriptors: allocated, aligned, offset, sizes,
    // strides (dense row-major); a dynamic size is the next size argument.
    std::vector<llvm::Value *> args;
    size_t nextSize = numBuffers;
    for (size_t i = 0; i < numBuffers; ++i) {
      llvm::Value *p = entry->getArg(i);
      args.push_back(p);
      args.push_back(p);
      args.push_back(llvm::ConstantInt::get(i64, 0));
      const auto &shape = specs[i]->shape;
      std::vector<llvm::Value *> sizes;
      for (int64_t d : shape)
        sizes.push_back(
            d == TensorSpec::kDynamic
                ? static_cast<llvm::Value *>(entry->getArg(nextSize++))
                : llvm::ConstantInt::get(i64, d));
      args.insert(args.end(), sizes.begin(), sizes.end());
      std::vector<llvm::Value *> strides(shape.size());
      llvm::Value *stride = llvm::ConstantInt::get(i64, 1);
      for (size_t d = shape.size(); d-- > 0;) {
        strides[d] = stride;
        stride = b.CreateMul(stride, sizes[d]);
      }
      args.insert(args.end(), strides.begin(), strides.end());
    }
    if (args.size() != impl->arg_size())
      return llvm::createStringError(
          "internal error: lowered function '" + sig.name +
          "' does not have the expected out-parameter ABI");
    for (auto [i, a] : llvm::enumerate(args))
      if (a->getType() != impl->getArg(i)->getType())
        return llvm::createStringError(
            "internal error: lowered function '" + sig.name +
            "' does not have the expected out-parameter ABI");
    // With runtime checks (norm-lower-checks) the function returns a
    // status.
    bool checked = impl->getReturnType()->isIntegerTy(32);
    if (checked != !sig.checks.empty() ||
        !(checked || impl->getReturnType()->isVoidTy()))
      return llvm::createStringError("internal error: lowered function '" +
                                     sig.name +
                                     "' does not return the expected status");
    llvm::Value *status = b.CreateCall(impl, args);
    if (checked) {
      auto *failed = llvm::BasicBlock::Create(ctx, "check_failed", entry);
      auto *passed = llvm::BasicBlock::Create(ctx, "checks_passed", entry);
      b.CreateCondBr(b.CreateIsNotNull(status), failed, passed);
      b.SetInsertPoint(failed);
      llvm::Value *message = nullptr;
      if (lastMessage) {
        // messages[status - kStatusFirstCheck]
        std::vector<llvm::Constant *> texts;
        for (const std::string &text : sig.checks)
          texts.push_back(b.CreateGlobalString(text));
        auto *tableType = llvm::ArrayType::get(ptr, texts.size());
        auto *table = new llvm::GlobalVariable(
            m, tableType, true, llvm::GlobalValue::PrivateLinkage,
            llvm::ConstantArray::get(tableType, texts),
            "__normlir_checks_" + sig.name);
        llvm::Value *index = b.CreateZExt(
            b.CreateSub(status, llvm::ConstantInt::get(i32, kStatusFirstCheck)),
            i64);
        message = b.CreateLoad(
            ptr, b.CreateInBoundsGEP(tableType, table,
                                     {llvm::ConstantInt::get(i64, 0), index}));
      }
      fail(status, message);
      b.SetInsertPoint(passed);
    }
    b.CreateRet(cuda ? static_cast<llvm::Value *>(b.CreateCall(hasError))
                     : llvm::ConstantInt::get(i32, 0));

    // int32_t __normlir_packed_f(void **buffers, const int64_t *sizes)
    auto *packed = llvm::Function::Create(
        llvm::FunctionType::get(i32, {ptr, ptr}, false), internalsLinkage,
        "__normlir_packed_" + sig.name, m);
    packed->setVisibility(internalsVisibility);
    llvm::IRBuilder<> pb(llvm::BasicBlock::Create(ctx, "entry", packed));
    std::vector<llvm::Value *> packedArgs;
    for (size_t i = 0; i < numBuffers; ++i)
      packedArgs.push_back(
          pb.CreateLoad(ptr, pb.CreateConstGEP1_64(ptr, packed->getArg(0), i)));
    for (size_t k = 0; k < numSizes; ++k)
      packedArgs.push_back(
          pb.CreateLoad(i64, pb.CreateConstGEP1_64(i64, packed->getArg(1), k)));
    pb.CreateRet(pb.CreateCall(entry, packedArgs));
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// compileToObject
//===----------------------------------------------------------------------===//

/// The CPU `module` is compiled for: the target written on it, else the one
/// `options` names (the host by default), recorded on it. The JIT's code must
/// run here: a target with instructions this CPU lacks is refused.
static llvm::Expected<norm::CPUTargetAttr>
resolveModuleCPUTarget(ModuleOp module, const JITOptions &options) {
  // A module without norm ops has not loaded the dialect of the attribute.
  module.getContext()->getOrLoadDialect<norm::NormDialect>();
  norm::CPUTargetAttr target;
  Attribute written = module->getAttr(norm::NormDialect::kTargetAttrName);
  if (written) {
    target = dyn_cast<norm::CPUTargetAttr>(written);
    if (!target)
      return llvm::createStringError(
          "the spec's " + norm::NormDialect::kTargetAttrName.str() + " (" +
          norm::describeTarget(written) + ") is not a CPU target");
    if (!options.targetCPU.empty() || !options.targetFeatures.empty())
      return llvm::createStringError(
          "the spec names its own target (" +
          norm::NormDialect::kTargetAttrName.str() +
          "); it cannot also be compiled for target CPU '" + options.targetCPU +
          "'" +
          (options.targetFeatures.empty()
               ? std::string()
               : " with features '" + options.targetFeatures + "'"));
  } else {
    auto resolved = norm::resolveCPUTarget(
        module.getContext(),
        options.targetCPU.empty() ? "host" : options.targetCPU,
        options.targetFeatures);
    if (!resolved)
      return llvm::createStringError("invalid target: " +
                                     llvm::toString(resolved.takeError()));
    target = *resolved;
    module->setAttr(norm::NormDialect::kTargetAttrName, target);
  }
  if (!options.forLibrary)
    if (llvm::Error err = norm::checkRunsOnHost(target))
      return llvm::createStringError("cannot run here: " +
                                     llvm::toString(std::move(err)));
  return target;
}

/// The LLVM target machine of `target`; the host's where it is null (the
/// host code of a CUDA module).
static llvm::Expected<llvm::orc::JITTargetMachineBuilder>
getTargetMachineBuilder(norm::CPUTargetAttr target) {
  if (!target)
    return llvm::orc::JITTargetMachineBuilder::detectHost();
  llvm::orc::JITTargetMachineBuilder builder{llvm::Triple(target.getTriple())};
  builder.setCPU(target.getCpu().str());
  llvm::SmallVector<llvm::StringRef> features;
  llvm::SplitString(target.getFeatures(), features, ",");
  builder.addFeatures(
      std::vector<std::string>(features.begin(), features.end()));
  return builder;
}

static llvm::Expected<CompiledObject> compileImpl(llvm::StringRef source,
                                                  llvm::StringRef bufferName,
                                                  const JITOptions &options,
                                                  bool exportInternals) {
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

  // The lowered code calls C library and runtime functions, and the entry
  // points use the __normlir_ prefix; a user function of such a name would be
  // taken for them at link time. A library's functions are also declared in
  // a C header, so their names must be plain C (and C++) identifiers.
  llvm::TargetLibraryInfoImpl libraryInfo{
      llvm::Triple(llvm::sys::getProcessTriple())};
  for (auto func : module->getOps<func::FuncOp>()) {
    bool exported = !func.isPrivate() && !func.isExternal();
    std::string why = getReservedNameReason(func.getSymName(), libraryInfo,
                                            options.forLibrary && exported
                                                ? &options.libraryErrorFunction
                                                : nullptr);
    if (!why.empty()) {
      func.emitError("function name '") << func.getSymName() << "' " << why;
      return fail("");
    }
  }
  // Inline assembly goes to an assembler the JIT does not set up, which gives
  // up with a fatal error: refused here rather than recovered (and leaked)
  // at every retry.
  WalkResult asmWalk = module->walk([&](LLVM::InlineAsmOp op) {
    op.emitError("inline assembly is not supported in a compiled spec");
    return WalkResult::interrupt();
  });
  if (asmWalk.wasInterrupted())
    return fail("");
  // The backward functions join the module before its signatures are read.
  if (options.differentiate) {
    PassManager diff(&context);
    norm::NormDifferentiateOptions diffOptions;
    diffOptions.recomputeStatistics = options.recomputeStatistics;
    diff.addPass(norm::createNormDifferentiate(diffOptions));
    if (failed(diff.run(*module)))
      return fail("");
  }
  // Only top-level functions are compiled and callable.
  for (auto nested : module->getOps<ModuleOp>())
    nested.emitWarning("nested modules are not compiled; move the functions "
                       "to the top level to call them");

  CompiledObject result;
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
    result.functions.push_back(std::move(sig));
  }

  bool cuda = options.target == Target::CUDA;
  result.target = options.target;
  norm::CPUTargetAttr cpuTarget;
  if (cuda && (!options.targetCPU.empty() || !options.targetFeatures.empty()))
    return fail("a target CPU is an option of the CPU target; CUDA kernels "
                "are compiled for a chip");
  if (!cuda) {
    auto target = resolveModuleCPUTarget(*module, options);
    if (!target)
      return fail(llvm::toString(target.takeError()));
    cpuTarget = *target;
    result.targetCPU = cpuTarget.getCpu().str();
  }
  PassManager pm(&context);
  auto tile = parseScheduleOptions(options.schedule, cuda ? "cuda" : "cpu");
  if (!tile)
    return fail(llvm::toString(tile.takeError()));
  tile->tuningDB = options.tuningDB;
  if (cuda) {
    CUDATarget target;
    target.chip = options.cudaChip;
    if (target.chip.empty()) {
      // The device's own architecture and size where there is one.
      auto info = cuda::getDeviceInfo();
      target.chip = info ? info->chip() : "sm_90";
      if (info)
        target.multiprocessors = info->multiprocessors;
      else
        llvm::consumeError(info.takeError());
    }
    if (options.cudaMultiprocessors > 0)
      target.multiprocessors = options.cudaMultiprocessors;
    target.format = options.cudaFormat;
    target.optLevel = std::min(options.optLevel, 3u);
    result.chip = target.chip;
    if (llvm::Error err = buildCUDAPipeline(pm, target, *tile))
      return fail("cannot build the CUDA pipeline: " +
                  llvm::toString(std::move(err)));
  } else if (llvm::Error err = buildCPUPipeline(pm, *tile)) {
    // (The module records its target: norm-attach-cpu-target keeps it.)
    return fail("cannot build the CPU pipeline: " +
                llvm::toString(std::move(err)));
  }
  if (failed(pm.run(*module)))
    return fail(diagText.empty() ? "failed to lower " + bufferName.str() : "");
  // What the lowering recorded on each llvm.func for its callers: the
  // runtime checks' messages (norm-lower-checks) and where dynamic result
  // sizes come from (norm-fold-result-copies).
  for (FunctionSignature &sig : result.functions) {
    auto func = module->lookupSymbol<LLVM::LLVMFuncOp>(sig.name);
    if (!func)
      continue;
    size_t numInputs = sig.inputs.size();
    if (auto messages = func->getAttrOfType<ArrayAttr>(
            norm::NormDialect::kCheckMessagesAttrName))
      for (Attribute m : messages)
        sig.checks.push_back(
            nameArguments(cast<StringAttr>(m).getValue(), numInputs));
    if (auto dims = func->getAttrOfType<ArrayAttr>(
            norm::NormDialect::kResultDimsAttrName))
      for (auto d : dims.getAsRange<DenseI64ArrayAttr>()) {
        // [out argument, dim, input argument, dim]; out-parameters follow
        // the inputs.
        ArrayRef<int64_t> v = d.asArrayRef();
        if (size_t(v[0]) >= numInputs && size_t(v[2]) < numInputs)
          sig.resultDims.push_back({size_t(v[0]) - numInputs, size_t(v[1]),
                                    size_t(v[2]), size_t(v[3])});
      }
    func->removeAttr(norm::NormDialect::kCheckMessagesAttrName);
    func->removeAttr(norm::NormDialect::kResultDimsAttrName);
  }

  // LLVM IR for the target CPU (the host for CUDA's host code), with the C
  // entry points.
  auto tmBuilder = getTargetMachineBuilder(cpuTarget);
  if (!tmBuilder)
    return tmBuilder.takeError();
  auto codegenLevel = options.optLevel >= 3 ? llvm::CodeGenOptLevel::Aggressive
                      : options.optLevel == 0 ? llvm::CodeGenOptLevel::None
                                              : llvm::CodeGenOptLevel::Default;
  tmBuilder->setCodeGenOptLevel(codegenLevel);
  // Position-independent: the object is linked into shared libraries
  // (normlir-compile) and loaded anywhere by the JIT.
  tmBuilder->setRelocationModel(llvm::Reloc::PIC_);
  auto tm = tmBuilder->createTargetMachine();
  if (!tm)
    return tm.takeError();

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(*module, llvmContext, bufferName);
  if (!llvmModule)
    return fail("failed to translate " + bufferName.str() + " to LLVM IR");
  // Before the optimizer: launches in host loops must not grow the stack.
  hoistBlockLocalAllocas(*llvmModule);
  llvmModule->setDataLayout((*tm)->createDataLayout());
  llvmModule->setTargetTriple((*tm)->getTargetTriple());
  if (auto err =
          addEntryPoints(*llvmModule, result.functions, cuda, exportInternals,
                         options.libraryErrorFunction, result.hasFini))
    return std::move(err);

  auto optimize = makeOptimizingTransformer(std::min(options.optLevel, 3u),
                                            /*sizeLevel=*/0, tm->get());
  if (auto err = optimize(llvmModule.get()))
    return fail("failed to optimize " + bufferName.str() + ": " +
                llvm::toString(std::move(err)));

  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager codegen;
  if ((*tm)->addPassesToEmitFile(codegen, os, nullptr,
                                 llvm::CodeGenFileType::ObjectFile))
    return llvm::createStringError("the host target cannot emit objects");
  codegen.run(*llvmModule);
  result.object.assign(buffer.begin(), buffer.end());
  result.warnings = diagText;
  result.errorFunction = options.libraryErrorFunction;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return result;
}

llvm::Expected<CompiledObject>
normlir::compileToObject(llvm::StringRef source, llvm::StringRef bufferName,
                         const JITOptions &options) {
  // An input LLVM would end the process for (report_fatal_error in a
  // backend) is this call's error instead.
  // Only a fatal error gets this prefix: the others carry their locations.
  std::optional<llvm::Expected<CompiledObject>> result;
  if (llvm::Error fatal = runRecoveringFatalErrors([&] {
        result.emplace(compileImpl(source, bufferName, options,
                                   /*exportInternals=*/!options.forLibrary));
      }))
    return llvm::createStringError("cannot compile " + bufferName.str() + ": " +
                                   llvm::toString(std::move(fatal)));
  return std::move(*result);
}
