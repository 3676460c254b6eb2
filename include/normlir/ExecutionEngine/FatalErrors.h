//===- FatalErrors.h - LLVM fatal errors as recoverable errors --*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// NormLIR is a library inside Python training jobs and servers: no input may
// end the host process. LLVM reports some invalid inputs with
// `report_fatal_error`, which prints "LLVM ERROR" and exits. The library's
// entry points (compileToObject, the JIT loader, and through them the C,
// C++ and Python APIs and the tools) run LLVM inside
// runRecoveringFatalErrors, which turns such an error into an llvm::Error.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_EXECUTIONENGINE_FATALERRORS_H
#define NORMLIR_EXECUTIONENGINE_FATALERRORS_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <optional>

namespace normlir {

/// Runs `fn` on this thread. If LLVM reports a fatal error (or runs out of
/// memory through `report_bad_alloc_error`) inside it, control returns here
/// and the result is an error carrying LLVM's message, instead of the
/// process exiting. Nested calls are allowed; other threads are unaffected.
///
/// The recovery leaves `fn`'s frames without running their destructors (as
/// llvm::CrashRecoveryContext does): what they allocated is leaked, so `fn`
/// must not hold locks or own state that outlives it. The compiler's use —
/// one MLIRContext and LLVM module per compile — fits that.
///
/// The first call installs process-wide LLVM fatal-error and bad-alloc
/// handlers; on threads outside this function they behave as LLVM's
/// defaults (print "LLVM ERROR: ..." and exit).
llvm::Error runRecoveringFatalErrors(llvm::function_ref<void()> fn);

/// runRecoveringFatalErrors for a function with a result: `fn`'s result, or
/// the fatal error.
template <typename T>
llvm::Expected<T>
runRecoveringFatalErrors(llvm::function_ref<llvm::Expected<T>()> fn) {
  std::optional<llvm::Expected<T>> result;
  if (llvm::Error fatal =
          runRecoveringFatalErrors([&] { result.emplace(fn()); }))
    return std::move(fatal);
  return std::move(*result);
}

} // namespace normlir

#endif // NORMLIR_EXECUTIONENGINE_FATALERRORS_H
