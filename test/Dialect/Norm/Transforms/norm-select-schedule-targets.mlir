// RUN: normlir-opt %s --norm-select-schedule -split-input-file -verify-diagnostics | FileCheck %s

// norm-select-schedule reads the target from the module, never from the machine it
// runs on: the same input gives the same schedule on every host.

// No target: the default, x86-64-v3 (8 f32 lanes, 32 MiB last-level cache:
// a 1 MiB output is stored through the cache).
// CHECK-LABEL: func.func @no_target(
// CHECK: schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 4, chunks = 1, rowTasks = 16, nontemporal = false, parallel = true, prefetch = 2>
func.func @no_target(%x: tensor<256x1024xf32>) -> tensor<256x1024xf32> {
  %e = tensor.empty() : tensor<256x1024xf32>
  %s = tensor.empty() : tensor<256x1xf32>
  %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<256x1024xf32>, tensor<256x1024xf32>, tensor<256x1xf32>, tensor<256x1xf32>, tensor<256x1xf32>) -> (tensor<256x1024xf32>, tensor<256x1xf32>, tensor<256x1xf32>, tensor<256x1xf32>)
  return %k#0 : tensor<256x1024xf32>
}

// -----

// An AVX-512 target with a 1 MiB last-level cache: 16 lanes, and the 1 MiB
// output bypasses the cache.
// CHECK-LABEL: func.func @small_cache(
// CHECK: schedule = #norm.schedule<strategy = row, vectorWidth = 16, unroll = 4, chunks = 1, rowTasks = 16, nontemporal = true, parallel = true, prefetch = 2>
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "skylake-avx512", features = "", vectorWidth = 16, nativeBF16 = false, l1Cache = 32768, l2Cache = 1048576, llcCache = 1048576, cores = 4>} {
  func.func @small_cache(%x: tensor<256x1024xf32>) -> tensor<256x1024xf32> {
    %e = tensor.empty() : tensor<256x1024xf32>
    %s = tensor.empty() : tensor<256x1xf32>
    %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
        : (tensor<256x1024xf32>, tensor<256x1024xf32>, tensor<256x1xf32>, tensor<256x1xf32>, tensor<256x1xf32>) -> (tensor<256x1024xf32>, tensor<256x1xf32>, tensor<256x1xf32>, tensor<256x1xf32>)
    return %k#0 : tensor<256x1024xf32>
  }
}

// -----

// Rows of 12 f32 (the tutorial's LayerNorm over 3x4): width 4 divides them,
// where width 8 would be one full and one masked vector per row.
// CHECK-LABEL: func.func @short_rows(
// CHECK: schedule = #norm.schedule<strategy = row, vectorWidth = 4, unroll = 3, chunks = 1, rowTasks = 16, nontemporal = false, parallel = false>
func.func @short_rows(%x: tensor<48x12xf32>) -> tensor<48x12xf32> {
  %e = tensor.empty() : tensor<48x12xf32>
  %s = tensor.empty() : tensor<48x1xf32>
  %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<48x12xf32>, tensor<48x12xf32>, tensor<48x1xf32>, tensor<48x1xf32>, tensor<48x1xf32>) -> (tensor<48x12xf32>, tensor<48x1xf32>, tensor<48x1xf32>, tensor<48x1xf32>)
  return %k#0 : tensor<48x12xf32>
}

// -----

// Rows of 20: 2 full vectors and a masked one of 8 lanes cost as much as 5
// vectors of 4, and the tie goes to the wider; rows of 1000 = 125 x 8 keep
// the target's 8 lanes.
// CHECK-LABEL: func.func @widths(
// CHECK: schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 2,
// CHECK: schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 4,
func.func @widths(%x: tensor<16x20xf32>, %z: tensor<16x1000xf32>) -> (tensor<16x20xf32>, tensor<16x1000xf32>) {
  %e = tensor.empty() : tensor<16x20xf32>
  %s = tensor.empty() : tensor<16x1xf32>
  %k:3 = norm.kernel mean_square %x outs(%e, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<16x20xf32>, tensor<16x20xf32>, tensor<16x1xf32>, tensor<16x1xf32>) -> (tensor<16x20xf32>, tensor<16x1xf32>, tensor<16x1xf32>)
  %f = tensor.empty() : tensor<16x1000xf32>
  %j:3 = norm.kernel mean_square %z outs(%f, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<16x1000xf32>, tensor<16x1000xf32>, tensor<16x1xf32>, tensor<16x1xf32>) -> (tensor<16x1000xf32>, tensor<16x1xf32>, tensor<16x1xf32>)
  return %k#0, %j#0 : tensor<16x20xf32>, tensor<16x1000xf32>
}

// -----

// Streaming stores from outputs of 3/4 of the last-level cache (x86-64-v3's
// default: 32 MiB): a 16 MiB output stays cached, a 24 MiB one does not.
// CHECK-LABEL: func.func @nontemporal_threshold(
// CHECK: schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 4, chunks = 1, rowTasks = 16, nontemporal = false, parallel = true, prefetch = 2>
// CHECK: schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 4, chunks = 1, rowTasks = 16, nontemporal = true, parallel = true, prefetch = 2>
func.func @nontemporal_threshold(%x: tensor<4096x1024xf32>, %z: tensor<6144x1024xf32>) -> (tensor<4096x1024xf32>, tensor<6144x1024xf32>) {
  %e = tensor.empty() : tensor<4096x1024xf32>
  %s = tensor.empty() : tensor<4096x1xf32>
  %k:3 = norm.kernel mean_square %x outs(%e, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<4096x1024xf32>, tensor<4096x1024xf32>, tensor<4096x1xf32>, tensor<4096x1xf32>) -> (tensor<4096x1024xf32>, tensor<4096x1xf32>, tensor<4096x1xf32>)
  %f = tensor.empty() : tensor<6144x1024xf32>
  %t = tensor.empty() : tensor<6144x1xf32>
  %j:3 = norm.kernel mean_square %z outs(%f, %t, %t) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<6144x1024xf32>, tensor<6144x1024xf32>, tensor<6144x1xf32>, tensor<6144x1xf32>) -> (tensor<6144x1024xf32>, tensor<6144x1xf32>, tensor<6144x1xf32>)
  return %k#0, %j#0 : tensor<4096x1024xf32>, tensor<6144x1024xf32>
}

// -----

// A module compiled for a GPU is not scheduled for a CPU.
// expected-error @+1 {{norm-select-schedule: target=cpu does not match the module's norm.target #norm.cuda_target<chip = "sm_90", multiprocessors = 132, sharedMemoryPerBlock = 49152>}}
module attributes {norm.target = #norm.cuda_target<chip = "sm_90", multiprocessors = 132, sharedMemoryPerBlock = 49152>} {
}

// -----

// Prefetch distance: about 8 KiB of rows ahead, at least one row, where the
// input does not stay in the L2 cache (1 MiB here), a row fits in half the
// L2 and a row range (16 at most) holds two rows or more: 64x4096 (16 KiB
// rows) and 32x16384 (64 KiB rows, two per range) one row ahead; 16x16384
// (one row per range), 128x1024 (512 KiB, which stays in L2) and 4x262144
// (1 MiB rows) none.
// CHECK-LABEL: func.func @prefetch(
// CHECK: schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 4, chunks = 1, rowTasks = 16, nontemporal = false, parallel = true, prefetch = 1>
// CHECK: schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 4, chunks = 1, rowTasks = 16, nontemporal = false, parallel = true, prefetch = 1>
// CHECK: schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 4, chunks = 1, rowTasks = 16, nontemporal = false, parallel = true>
// CHECK: schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 4, chunks = 1, rowTasks = 16, nontemporal = false, parallel = true>
// CHECK: schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 4, chunks = 1, rowTasks = 4, nontemporal = false, parallel = true>
func.func @prefetch(%x: tensor<64x4096xf32>, %z: tensor<32x16384xf32>, %o: tensor<16x16384xf32>, %v: tensor<128x1024xf32>, %l: tensor<4x262144xf32>) -> (tensor<64x4096xf32>, tensor<32x16384xf32>, tensor<16x16384xf32>, tensor<128x1024xf32>, tensor<4x262144xf32>) {
  %e = tensor.empty() : tensor<64x4096xf32>
  %s = tensor.empty() : tensor<64x1xf32>
  %k:3 = norm.kernel mean_square %x outs(%e, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<64x4096xf32>, tensor<64x4096xf32>, tensor<64x1xf32>, tensor<64x1xf32>) -> (tensor<64x4096xf32>, tensor<64x1xf32>, tensor<64x1xf32>)
  %f = tensor.empty() : tensor<32x16384xf32>
  %t = tensor.empty() : tensor<32x1xf32>
  %j:3 = norm.kernel mean_square %z outs(%f, %t, %t) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<32x16384xf32>, tensor<32x16384xf32>, tensor<32x1xf32>, tensor<32x1xf32>) -> (tensor<32x16384xf32>, tensor<32x1xf32>, tensor<32x1xf32>)
  %p = tensor.empty() : tensor<16x16384xf32>
  %q = tensor.empty() : tensor<16x1xf32>
  %c:3 = norm.kernel mean_square %o outs(%p, %q, %q) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<16x16384xf32>, tensor<16x16384xf32>, tensor<16x1xf32>, tensor<16x1xf32>) -> (tensor<16x16384xf32>, tensor<16x1xf32>, tensor<16x1xf32>)
  %g = tensor.empty() : tensor<128x1024xf32>
  %u = tensor.empty() : tensor<128x1xf32>
  %i:3 = norm.kernel mean_square %v outs(%g, %u, %u) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<128x1024xf32>, tensor<128x1024xf32>, tensor<128x1xf32>, tensor<128x1xf32>) -> (tensor<128x1024xf32>, tensor<128x1xf32>, tensor<128x1xf32>)
  %m = tensor.empty() : tensor<4x262144xf32>
  %n = tensor.empty() : tensor<4x1xf32>
  %h:3 = norm.kernel mean_square %l outs(%m, %n, %n) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<4x262144xf32>, tensor<4x262144xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x262144xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %k#0, %j#0, %c#0, %i#0, %h#0 : tensor<64x4096xf32>, tensor<32x16384xf32>, tensor<16x16384xf32>, tensor<128x1024xf32>, tensor<4x262144xf32>
}
