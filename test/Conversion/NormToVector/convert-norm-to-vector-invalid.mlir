// RUN: normlir-opt %s --convert-norm-to-vector -split-input-file -verify-diagnostics

func.func @no_schedule(%x: memref<4x16xf32>, %y: memref<4x16xf32>, %ms: memref<4x1xf32>, %r: memref<4x1xf32>) {
  // expected-error @+1 {{has no schedule; run norm-select-schedule first}}
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64}
      : (memref<4x16xf32>, memref<4x16xf32>, memref<4x1xf32>, memref<4x1xf32>) -> ()
  return
}

// -----

module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 524288, llcCache = 33554432, cores = 2>} {
  func.func @grad_no_schedule(%x: memref<4x16xf32>, %dx: memref<4x16xf32>) {
    // expected-error @+1 {{has no #norm.grad_schedule; run norm-select-schedule first}}
    norm.grad_kernel %x, %x outs(%dx) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
        : (memref<4x16xf32>, memref<4x16xf32>, memref<4x16xf32>) -> ()
    return
  }
}

// -----

// (C12) The column form (channels-last BatchNorm) does not prefetch.
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 524288, llcCache = 33554432, cores = 2>} {
  func.func @grad_column_prefetch(%x: memref<4x5x8xf32>, %dx: memref<4x5x8xf32>) {
    // expected-error @+1 {{a column-form backward (channels-last) neither prefetches nor streams; its schedule must have prefetch = 0 and nontemporal = false (C12)}}
    norm.grad_kernel %x, %x outs(%dx) {axes = array<i64: 0, 1>, centered, epsilon = 1.0e-5 : f64, param_axes = array<i64: 2>, schedule = #norm.grad_schedule<statistics = saved, parallel = false, prefetch = 1>}
        : (memref<4x5x8xf32>, memref<4x5x8xf32>, memref<4x5x8xf32>) -> ()
    return
  }
}

// -----

// (C12) Nor does it stream dx.
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 524288, llcCache = 33554432, cores = 2>} {
  func.func @grad_column_nontemporal(%x: memref<4x5x8xf32>, %dx: memref<4x5x8xf32>) {
    // expected-error @+1 {{a column-form backward (channels-last) neither prefetches nor streams; its schedule must have prefetch = 0 and nontemporal = false (C12)}}
    norm.grad_kernel %x, %x outs(%dx) {axes = array<i64: 0, 1>, centered, epsilon = 1.0e-5 : f64, param_axes = array<i64: 2>, schedule = #norm.grad_schedule<statistics = saved, parallel = false, nontemporal = true>}
        : (memref<4x5x8xf32>, memref<4x5x8xf32>, memref<4x5x8xf32>) -> ()
    return
  }
}

// -----

func.func @row_needs_r1_1(%x: memref<4x3x16xf32>, %y: memref<4x3x16xf32>, %ms: memref<1x3x1xf32>, %r: memref<1x3x1xf32>) {
  // expected-error @+1 {{schedule strategy "row" needs R1 = 1, but the kernel's layout is [P0, R1, P1, R2] = [1, 4, 3, 16]}}
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 0, 2>, epsilon = 1.0e-6 : f64,
      schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>}
      : (memref<4x3x16xf32>, memref<4x3x16xf32>, memref<1x3x1xf32>, memref<1x3x1xf32>) -> ()
  return
}

// -----

func.func @three_reduced_runs(%x: memref<2x3x4x5x6xf32>, %y: memref<2x3x4x5x6xf32>, %ms: memref<1x3x1x5x1xf32>, %r: memref<1x3x1x5x1xf32>) {
  // expected-error @+1 {{cannot vectorize: the reduced dimensions form more than two runs separated by parallel ones}}
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 0, 2, 4>, epsilon = 1.0e-6 : f64,
      schedule = #norm.schedule<strategy = segment, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>}
      : (memref<2x3x4x5x6xf32>, memref<2x3x4x5x6xf32>, memref<1x3x1x5x1xf32>, memref<1x3x1x5x1xf32>) -> ()
  return
}

// -----

func.func @on_tensors(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %e = tensor.empty() : tensor<4x16xf32>
  %s = tensor.empty() : tensor<4x1xf32>
  // expected-error @+1 {{expects a bufferized kernel (memref operands)}}
  %k:3 = norm.kernel mean_square %x outs(%e, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64,
      schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>}
      : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %k#0 : tensor<4x16xf32>
}

// -----

func.func @strided(%x: memref<4x16xf32, strided<[32, 1]>>, %y: memref<4x16xf32>, %ms: memref<4x1xf32>, %r: memref<4x1xf32>) {
  // expected-error @+1 {{expects row-major contiguous buffers, got 'memref<4x16xf32, strided<[32, 1]>>'}}
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64,
      schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>}
      : (memref<4x16xf32, strided<[32, 1]>>, memref<4x16xf32>, memref<4x1xf32>, memref<4x1xf32>) -> ()
  return
}
