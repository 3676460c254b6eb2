// RUN: normlir-opt %s --convert-norm-to-gpu -split-input-file -verify-diagnostics

func.func @no_schedule(%x: memref<4x16xf32>, %y: memref<4x16xf32>, %ms: memref<4x1xf32>, %r: memref<4x1xf32>) {
  // expected-error @+1 {{has no GPU schedule; run norm-select-schedule{target=cuda} first}}
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64}
      : (memref<4x16xf32>, memref<4x16xf32>, memref<4x1xf32>, memref<4x1xf32>) -> ()
  return
}

// -----

func.func @cpu_schedule(%x: memref<4x16xf32>, %y: memref<4x16xf32>, %ms: memref<4x1xf32>, %r: memref<4x1xf32>) {
  // expected-error @+1 {{has no GPU schedule; run norm-select-schedule{target=cuda} first}}
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64,
      schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>}
      : (memref<4x16xf32>, memref<4x16xf32>, memref<4x1xf32>, memref<4x1xf32>) -> ()
  return
}

// -----

func.func @row_not_contiguous(%x: memref<4x3x16xf32>, %y: memref<4x3x16xf32>, %ms: memref<1x3x1xf32>, %r: memref<1x3x1xf32>) {
  // expected-error @+1 {{gpu_schedule strategy "row" needs contiguous rows (R1 = 1 or P1 = 1), but the layout is [P0, R1, P1, R2] = [1, 4, 3, 16]}}
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 0, 2>, epsilon = 1.0e-6 : f64,
      schedule = #norm.gpu_schedule<strategy = row, threads = 32, rows = 1, vectorWidth = 4, chunks = 1>}
      : (memref<4x3x16xf32>, memref<4x3x16xf32>, memref<1x3x1xf32>, memref<1x3x1xf32>) -> ()
  return
}

// -----

func.func @width_does_not_divide(%x: memref<4x6xf32>, %y: memref<4x6xf32>, %ms: memref<4x1xf32>, %r: memref<4x1xf32>) {
  // expected-error @+1 {{gpu_schedule vectorWidth 4 does not divide the contiguous runs of layout [P0, R1, P1, R2] = [4, 1, 1, 6]}}
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64,
      schedule = #norm.gpu_schedule<strategy = row, threads = 32, rows = 1, vectorWidth = 4, chunks = 1>}
      : (memref<4x6xf32>, memref<4x6xf32>, memref<4x1xf32>, memref<4x1xf32>) -> ()
  return
}

// -----

func.func @too_long_for_registers(%x: memref<2x65536xf32>, %y: memref<2x65536xf32>, %ms: memref<2x1xf32>, %r: memref<2x1xf32>) {
  // expected-error @+1 {{gpu_schedule strategy "row" with 256 threads per row would keep 256 elements per thread in registers (at most 64); use more threads or the "segment" strategy}}
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64,
      schedule = #norm.gpu_schedule<strategy = row, threads = 256, rows = 1, vectorWidth = 4, chunks = 1>}
      : (memref<2x65536xf32>, memref<2x65536xf32>, memref<2x1xf32>, memref<2x1xf32>) -> ()
  return
}

// -----

func.func @column_shared_memory(%x: memref<64x64xf32>, %y: memref<64x64xf32>, %ms: memref<1x64xf32>, %r: memref<1x64xf32>) {
  // expected-error @+1 {{gpu_schedule strategy "column" with 1024 threads of 8 lanes needs more than 48 KiB of workgroup memory; use fewer threads or lanes}}
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 0>, epsilon = 1.0e-6 : f64,
      schedule = #norm.gpu_schedule<strategy = column, threads = 1024, rows = 1, vectorWidth = 8, chunks = 1>}
      : (memref<64x64xf32>, memref<64x64xf32>, memref<1x64xf32>, memref<1x64xf32>) -> ()
  return
}

// -----

func.func @tensors(%x: tensor<4x16xf32>, %y: tensor<4x16xf32>, %ms: tensor<4x1xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{expects a bufferized kernel (memref operands)}}
  %k:3 = norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64}
      : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

// A fused backward kernel has no GPU lowering (the CUDA pipeline does not
// fuse the gradient ops): an error, not a kernel left in the output.
func.func @grad_kernel(%x: memref<4x16xf32>, %dx: memref<4x16xf32>) {
  // expected-error @+1 {{norm.grad_kernel has no GPU lowering}}
  norm.grad_kernel %x, %x outs(%dx) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64}
      : (memref<4x16xf32>, memref<4x16xf32>, memref<4x16xf32>) -> ()
  return
}
