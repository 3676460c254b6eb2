//===- JITLoader.cpp - Loading compiled objects into the process ----------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Compiled objects are linked by the process's one ORC LLJIT, each module
// into a JITDylib of its own that resolves the rest from the process:
// libomp for the CPU's parallel loops, the CUDA runtime's functions for GPU
// host code.
//
//===----------------------------------------------------------------------===//

#include "JITLoader.h"
#include "normlir/ExecutionEngine/Compiler.h"
#include "normlir/ExecutionEngine/CudaRuntime.h"
#include "normlir/ExecutionEngine/FatalErrors.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"

#include <atomic>
#include <chrono>
#include <mutex>

using namespace normlir;

/// The process's one LLJIT; each module gets its own JITDylib. Never
/// destroyed: modules may outlive static destructors (e.g. in Python).
static llvm::Expected<llvm::orc::LLJIT *> getJIT() {
  static std::once_flag once;
  static llvm::orc::LLJIT *jit = nullptr;
  static std::string error;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    auto created = llvm::orc::LLJITBuilder().create();
    if (!created) {
      error = llvm::toString(created.takeError());
      return;
    }
    jit = created->release();
  });
  if (!jit)
    return llvm::createStringError("cannot create the JIT: " + error);
  return jit;
}

JITModule::JITModule() : impl(std::make_unique<Impl>()) {}

JITModule::~JITModule() {
  if (impl->fini)
    impl->fini();
  if (impl->dylib)
    if (auto jit = getJIT())
      llvm::consumeError(
          (*jit)->getExecutionSession().removeJITDylib(*impl->dylib));
}

llvm::Expected<std::shared_ptr<JITModule>>
JITModuleLoader::load(const CompiledObject &object, bool fromDisk) {
  return runRecoveringFatalErrors<std::shared_ptr<JITModule>>(
      [&] { return loadImpl(object, fromDisk); });
}

llvm::Expected<std::shared_ptr<JITModule>>
JITModuleLoader::loadImpl(const CompiledObject &object, bool fromDisk) {
  auto start = std::chrono::steady_clock::now();
  bool cuda = object.target == Target::CUDA;
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

  auto jit = getJIT();
  if (!jit)
    return jit.takeError();
  static std::atomic<uint64_t> counter{0};
  auto dylib = (*jit)->createJITDylib("normlir." + std::to_string(counter++));
  if (!dylib)
    return dylib.takeError();
  auto module = std::shared_ptr<JITModule>(new JITModule());
  module->impl->dylib = &*dylib;
  auto generator =
      llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
          (*jit)->getDataLayout().getGlobalPrefix());
  if (!generator)
    return generator.takeError();
  dylib->addGenerator(std::move(*generator));
  if (cuda) {
    // The host code calls the runtime's mgpu* and normlirRuntime* functions;
    // defined here, since the runtime library may not be globally visible.
    llvm::orc::SymbolMap map;
    for (auto &[name, address] : cuda::getRuntimeSymbols())
      map[(*jit)->mangleAndIntern(name)] = {
          llvm::orc::ExecutorAddr::fromPtr(address),
          llvm::JITSymbolFlags::Exported};
    if (auto err = dylib->define(llvm::orc::absoluteSymbols(std::move(map))))
      return std::move(err);
  }
  if (auto err =
          (*jit)->addObjectFile(*dylib, llvm::MemoryBuffer::getMemBufferCopy(
                                            object.object, "normlir-module")))
    return std::move(err);
  for (const FunctionSignature &sig : object.functions) {
    auto address = (*jit)->lookup(*dylib, "__normlir_packed_" + sig.name);
    if (!address)
      return address.takeError();
    module->impl->packed.push_back(address->toPtr<PackedFunction>());
  }
  if (object.hasFini) {
    auto address = (*jit)->lookup(*dylib, "__normlir_fini");
    if (!address)
      return address.takeError();
    module->impl->fini = address->toPtr<void (*)()>();
  }
  module->functions = object.functions;
  module->warnings = object.warnings;
  module->target = object.target;
  module->chip = object.chip;
  module->fromDiskCache = fromDisk;
  module->compileSeconds = fromDisk
                               ? std::chrono::duration<double>(
                                     std::chrono::steady_clock::now() - start)
                                     .count()
                               : object.seconds;
  return module;
}
