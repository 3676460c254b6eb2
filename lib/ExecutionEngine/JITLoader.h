//===- JITLoader.h - Loading compiled objects into the process --*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Internal to the JIT: what a loaded JITModule holds (its JITDylib and the
// addresses of its packed entry points) and the loader that links a compiled
// object, fresh or from the disk cache, into the process.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_LIB_EXECUTIONENGINE_JITLOADER_H
#define NORMLIR_LIB_EXECUTIONENGINE_JITLOADER_H

#include "normlir/ExecutionEngine/JIT.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace llvm {
namespace orc {
class JITDylib;
} // namespace orc
} // namespace llvm

namespace normlir {

struct CompiledObject;

/// `int32_t __normlir_packed_<f>(void **buffers, const int64_t *sizes)`: the
/// inputs' then the results' data pointers, and the sizes of their dynamic
/// dimensions in the same order; returns a status (kStatusRuntimeError,
/// ...; 0 on success).
using PackedFunction = int32_t (*)(void **, const int64_t *);

struct JITModule::Impl {
  llvm::orc::JITDylib *dylib = nullptr;
  /// __normlir_packed_<f> of each function.
  std::vector<PackedFunction> packed;
  /// __normlir_fini: unloads GPU modules that were loaded.
  void (*fini)() = nullptr;
};

/// Turns compiled objects into JITModules.
struct JITModuleLoader {
  /// Links `object` into the process's JIT and resolves its entry points,
  /// with LLVM fatal errors (a malformed object the linker gives up on)
  /// returned as errors. `fromDisk`: the object came from the disk cache (the
  /// module's compile time is then the load time).
  static llvm::Expected<std::shared_ptr<JITModule>>
  load(const CompiledObject &object, bool fromDisk);

private:
  static llvm::Expected<std::shared_ptr<JITModule>>
  loadImpl(const CompiledObject &object, bool fromDisk);
};

} // namespace normlir

#endif // NORMLIR_LIB_EXECUTIONENGINE_JITLOADER_H
