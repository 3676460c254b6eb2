// Every user error is a message and a non-zero exit, never a crash.
// RUN: not normlir-run %s --function=ln --input="2x3xf32=1" 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: not normlir-run %s --function=ln --input="2x4xf16=1" 2>&1 | FileCheck %s --check-prefix=DTYPE
// RUN: not normlir-run %s --function=ln 2>&1 | FileCheck %s --check-prefix=ARITY
// RUN: not normlir-run %s --function=ln --input=@%t.missing.npy 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not normlir-run %s --function=ln --input="2x4xf32=1 2 3" 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: not normlir-run %s --function=ln --input="2x4xf32=two" 2>&1 | FileCheck %s --check-prefix=VALUE
// RUN: not normlir-run %s --function=ln --input="2x4xq8=1" 2>&1 | FileCheck %s --check-prefix=ELT
// RUN: not normlir-run %s --function=ln --input="x=1" 2>&1 | FileCheck %s --check-prefix=TYPE
// RUN: not normlir-run %s --function=nope --input="2x4xf32=1" 2>&1 | FileCheck %s --check-prefix=FUNC
// RUN: not normlir-run %s --input="2x4xf32=1" 2>&1 | FileCheck %s --check-prefix=WHICH
// RUN: not normlir-run %s --function=ln --input="2x4xf32=1" --output=y.npy 2>&1 | FileCheck %s --check-prefix=OUT
// RUN: not normlir-run %s --function=ln --input="2x4xf32=1" --output=- --output=- --output=- --output=- 2>&1 | FileCheck %s --check-prefix=OUTS
// RUN: not normlir-run %s.does-not-exist 2>&1 | FileCheck %s --check-prefix=SPEC
// RUN: printf 'not a npy file' > %t.bad.npy
// RUN: not normlir-run %s --function=ln --input=@%t.bad.npy 2>&1 | FileCheck %s --check-prefix=MAGIC

// SHAPE: error: input 0 of 'ln' must be 2x4xf32, got 2x3xf32
// DTYPE: error: input 0 of 'ln' must be 2x4xf32, got 2x4xf16
// ARITY: error: function 'ln' takes 1 inputs, got 0 --input flags
// MISSING: error: input 0: {{.*}}missing.npy: cannot read file
// COUNT: error: input 0: inline input '2x4xf32' needs 8 values (or one to splat), got 3
// VALUE: error: input 0: inline input '2x4xf32': malformed value 'two'
// ELT: error: input 0: inline input '2x4xq8=1': unsupported element type 'q8'
// TYPE: error: input 0: inline input 'x=1': malformed type 'x' (expected e.g. 2x3xf32, or f32)
// FUNC: error: no callable function 'nope' (available: ln, rms, count)
// WHICH: error: {{.*}}errors.mlir has 3 callable functions; choose one with --function
// OUT: error: --output must be @file.npy or -, got 'y.npy'
// OUTS: error: function 'ln' has 3 results, got 4 --output flags
// SPEC: error: {{.*}}does-not-exist: cannot read file
// MAGIC: error: input 0: {{.*}}bad.npy: not a .npy file (bad magic)

func.func @ln(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>) {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 4>} : (tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  return %y, %m, %r : tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>
}

func.func @rms(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x1xf32>) {
  %y, %r = norm.rms_norm %x {normalized_shape = array<i64: 4>} : (tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x1xf32>)
  return %y, %r : tensor<2x4xf32>, tensor<2x1xf32>
}

// Sizes are checked before anything is allocated, and integers are exact.
// RUN: not normlir-run %s --function=ln --input="99999999999x99999999999xf32=1" 2>&1 | FileCheck %s --check-prefix=HUGE
// RUN: not normlir-run %s --function=count --input="i64=1.7" 2>&1 | FileCheck %s --check-prefix=INT
// RUN: normlir-run %s --function=count --input="i64=9007199254740993" | FileCheck %s --check-prefix=EXACT
// RUN: not normlir-run %s --function=count --input="i64=5" --output=@/dev/full 2>&1 | FileCheck %s --check-prefix=FULL
// RUN: not normlir-run %s --function=huge 2>&1 | FileCheck %s --check-prefix=OVERFLOW
// HUGE: error: input 0: inline input '99999999999x99999999999xf32': tensor 99999999999x99999999999xf32 is too large: its size overflows
// INT: error: input 0: inline input 'i64': malformed or out-of-range integer '1.7'
// EXACT: result[0]: i64=9007199254740993
// FULL: error: /dev/full: cannot write: No space left on device
// OVERFLOW: warning: function 'huge' is not callable from the JIT: tensor 4611686018427387905x4xf32 is too large: its size overflows

func.func @count(%n: tensor<i64>) -> tensor<i64> {
  return %n : tensor<i64>
}

func.func @huge(%x: tensor<4611686018427387905x4xf32>) -> tensor<4611686018427387905x4xf32> {
  return %x : tensor<4611686018427387905x4xf32>
}
