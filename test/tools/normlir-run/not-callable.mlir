// A function whose signature the JIT cannot call is reported with its
// location and why, not silently dropped.
// RUN: not normlir-run %s 2>&1 | FileCheck %s

// CHECK: not-callable.mlir:[[@LINE+3]]:1: warning: function 'dyn' is not callable from the JIT: type tensor<?xf32> is not a statically shaped tensor
// CHECK-NOT: see current operation
// CHECK: error: {{.*}}not-callable.mlir has 0 callable functions
func.func @dyn(%x: tensor<?xf32>) -> tensor<?xf32> {
  return %x : tensor<?xf32>
}
