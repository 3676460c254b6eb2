// A function whose signature the JIT cannot call is reported with its
// location and why, not silently dropped.
// RUN: not normlir-run %s 2>&1 | FileCheck %s

// CHECK: not-callable.mlir:[[@LINE+3]]:1: warning: function 'dyn' is not callable from the JIT: type i32 is not a ranked tensor
// CHECK-NOT: see current operation
// CHECK: error: {{.*}}not-callable.mlir has 0 callable functions
func.func @dyn(%x: i32) -> i32 {
  return %x : i32
}
