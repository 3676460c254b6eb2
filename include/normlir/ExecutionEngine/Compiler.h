//===- Compiler.h - Norm specs to relocatable objects -----------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The one compile path behind the JIT, its disk cache and normlir-compile:
// MLIR text -> normlir-{cpu,cuda}-pipeline -> LLVM IR with a plain C entry
// point per function -> a position-independent ELF object for the host.
//
// Each public function `f` of the spec, lowered with results as trailing
// out-parameters, becomes
//
//   int32_t f(const T0 *input0, ..., R0 *result0, ...);   // the C symbol
//   int32_t __normlir_packed_f(void **buffers);           // for the JIT
//
// on dense buffers of the signature's static shapes. They return 0, or (CUDA)
// 1 when the runtime recorded an error (normlirRuntimeGetLastError; a CUDA
// library re-exports it under a name of its own, JITOptions). GPU
// modules load at the first call of any function (normlirRuntimeCallOnce),
// not from a global constructor, so that a library loads on machines without
// a GPU; `__normlir_fini` unloads them when they were loaded.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_EXECUTIONENGINE_COMPILER_H
#define NORMLIR_EXECUTIONENGINE_COMPILER_H

#include "normlir/ExecutionEngine/JIT.h"

#include <string>
#include <vector>

namespace llvm {
class TargetLibraryInfoImpl;
} // namespace llvm

namespace normlir {

/// The result of compiling a spec: an object file and what it exports.
struct CompiledObject {
  /// ELF relocatable object for the host (PIC).
  std::string object;
  /// The callable functions, in module order.
  std::vector<FunctionSignature> functions;
  /// Compile warnings with their locations.
  std::string warnings;
  Target target = Target::CPU;
  /// CUDA: the chip the kernels were compiled for.
  std::string chip;
  /// CPU: the LLVM CPU the code was compiled for ("znver3").
  std::string targetCPU;
  /// Whether the object defines __normlir_fini (GPU modules to unload).
  bool hasFini = false;
  /// CUDA libraries: the error function defined (JITOptions).
  std::string errorFunction;
  /// Wall time of the compile, in seconds.
  double seconds = 0.0;
};

/// Compiles `source` (MLIR text; `bufferName` names it in diagnostics) for
/// the host CPU running `options.target`'s code. Errors carry the located
/// diagnostics.
llvm::Expected<CompiledObject> compileToObject(llvm::StringRef source,
                                               llvm::StringRef bufferName,
                                               const JITOptions &options);

/// Why a spec function may not be called `name`, or "" when it may: C
/// library and runtime names the generated code calls or defines (for every
/// module), and, for a function of a library (`libraryErrorFunction` given:
/// the CUDA library's error function, or empty), names its C header could
/// not declare: non-identifiers, C/C++ keywords, reserved identifiers,
/// <stdint.h> names, `main`.
std::string
getReservedNameReason(llvm::StringRef name,
                      const llvm::TargetLibraryInfoImpl &libraryInfo,
                      const std::string *libraryErrorFunction);

/// The C declaration of `sig`'s entry point ("int32_t f(const float *...)").
std::string getCDeclaration(const FunctionSignature &sig);

/// A C header declaring every function of `object` (normlir-compile).
std::string generateCHeader(const CompiledObject &object, llvm::StringRef guard,
                            llvm::StringRef source);

/// "<version> (LLVM <version>, build <hash of the compiler sources>)".
llvm::StringRef getVersionString();
/// The host CPU: triple, name, features, cache sizes and hardware threads
/// (what a compile for the host depends on).
std::string getHostCPUDescription();

} // namespace normlir

#endif // NORMLIR_EXECUTIONENGINE_COMPILER_H
