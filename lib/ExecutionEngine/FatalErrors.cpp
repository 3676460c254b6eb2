//===- FatalErrors.cpp - LLVM fatal errors as recoverable errors ----------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/ExecutionEngine/FatalErrors.h"

#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/raw_ostream.h"

#include <csetjmp>
#include <cstdlib>
#include <mutex>
#include <string>

#include <unistd.h>

using namespace normlir;

namespace {
/// A guarded region of one thread: where to return to, and why.
struct Recovery {
  std::jmp_buf buffer;
  std::string message;
};

/// The innermost guarded region of this thread, if any.
thread_local Recovery *currentRecovery = nullptr;

[[noreturn]] void recover(Recovery *r, const char *prefix, const char *reason) {
  r->message = std::string(prefix) + (reason ? reason : "");
  std::longjmp(r->buffer, 1);
}

void fatalErrorHandler(void *, const char *reason, bool) {
  if (Recovery *r = currentRecovery)
    recover(r, "", reason);
  // Not in a guarded region: LLVM's default, which exits after we return.
  llvm::errs() << "LLVM ERROR: " << reason << "\n";
  llvm::errs().flush();
}

void badAllocHandler(void *, const char *reason, bool) {
  if (Recovery *r = currentRecovery)
    recover(r, "out of memory: ", reason);
  // Not in a guarded region: LLVM's default. A handler must not return
  // (LLVM 22 reaches llvm_unreachable after it), and memory may be short, so
  // the message goes out with write(2).
  static const char message[] = "LLVM ERROR: out of memory\n";
  ssize_t written = ::write(2, message, sizeof(message) - 1);
  (void)written;
  std::abort(); // fatal-path-ok: out of memory outside a compile, as LLVM
}

void installHandlersOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::install_fatal_error_handler(fatalErrorHandler);
    llvm::install_bad_alloc_error_handler(badAllocHandler);
  });
}

/// setjmp lives in a frame of its own that holds nothing to destroy.
[[gnu::noinline]] bool runGuarded(llvm::function_ref<void()> fn,
                                  Recovery &recovery) {
  if (setjmp(recovery.buffer) != 0)
    return false;
  fn();
  return true;
}
} // namespace

llvm::Error normlir::runRecoveringFatalErrors(llvm::function_ref<void()> fn) {
  installHandlersOnce();
  Recovery recovery;
  Recovery *outer = currentRecovery;
  currentRecovery = &recovery;
  bool completed = runGuarded(fn, recovery);
  currentRecovery = outer;
  if (completed)
    return llvm::Error::success();
  return llvm::createStringError("LLVM fatal error: " + recovery.message);
}
