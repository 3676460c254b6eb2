//===- HoistAllocas.h - fixed-size allocas into the entry block -*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_LIB_EXECUTIONENGINE_HOISTALLOCAS_H
#define NORMLIR_LIB_EXECUTIONENGINE_HOISTALLOCAS_H

namespace llvm {
class Module;
} // namespace llvm

namespace normlir {

/// Moves every fixed-size alloca outside an entry block whose uses (through
/// GEPs and casts) all stay in its own block into its function's entry
/// block, so that a block run many times (a launch in a host loop) does not
/// grow the stack. Returns how many moved.
unsigned hoistBlockLocalAllocas(llvm::Module &module);

} // namespace normlir

#endif // NORMLIR_LIB_EXECUTIONENGINE_HOISTALLOCAS_H
