// The generated code calls malloc/free and defines __normlir_* entry points;
// a user function of such a name is a located error, not a link failure.
// RUN: not normlir-run %s 2>&1 | FileCheck %s
// RUN: sed 's/@malloc/@__normlir_packed_f/' %s > %t.prefix.mlir
// RUN: not normlir-run %t.prefix.mlir 2>&1 | FileCheck %s --check-prefix=PREFIX
// RUN: printf 'module {\n  module @inner {\n  }\n}\n' > %t.mlir
// RUN: not normlir-run %t.mlir 2>&1 | FileCheck %s --check-prefix=NESTED

// CHECK: reserved-names.mlir:[[@LINE+2]]:1: error: function name 'malloc' is reserved: the generated code calls or defines a runtime function of that name
// PREFIX: error: function name '__normlir_packed_f' is reserved
func.func @malloc(%x: tensor<2xf32>) -> tensor<2xf32> {
  return %x : tensor<2xf32>
}

// Inline assembly would need an assembler the JIT does not set up.
// RUN: printf 'func.func @f(%%%%x: tensor<2xf32>) -> tensor<2xf32> {\n  %%%%c = llvm.mlir.constant(1 : i32) : i32\n  %%%%r = llvm.inline_asm has_side_effects "bogus $0", "=r,r" %%%%c : (i32) -> i32\n  return %%%%x : tensor<2xf32>\n}\n' > %t.asm.mlir
// RUN: not normlir-run %t.asm.mlir --print-signature 2>&1 | FileCheck %s --check-prefix=ASM
// ASM: asm.mlir:3:{{[0-9]+}}: error: inline assembly is not supported in a compiled spec

// NESTED: warning: nested modules are not compiled; move the functions to the top level to call them
// NESTED: error: {{.*}} has 0 callable functions
