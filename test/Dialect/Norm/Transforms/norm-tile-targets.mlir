// RUN: normlir-opt %s --norm-tile -split-input-file -verify-diagnostics | FileCheck %s

// norm-tile reads the target from the module, never from the machine it
// runs on: the same input gives the same schedule on every host.

// No target: the default, x86-64-v3 (8 f32 lanes, 32 MiB last-level cache:
// a 1 MiB output is stored through the cache).
// CHECK-LABEL: func.func @no_target(
// CHECK: schedule = #norm.schedule<strategy = "row", vectorWidth = 8, unroll = 4, chunks = 1, rowTasks = 16, nontemporal = false, parallel = true>
func.func @no_target(%x: tensor<256x1024xf32>) -> tensor<256x1024xf32> {
  %e = tensor.empty() : tensor<256x1024xf32>
  %s = tensor.empty() : tensor<256x1xf32>
  %k:4 = norm.kernel %x outs(%e, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<256x1024xf32>, tensor<256x1024xf32>, tensor<256x1xf32>, tensor<256x1xf32>, tensor<256x1xf32>) -> (tensor<256x1024xf32>, tensor<256x1xf32>, tensor<256x1xf32>, tensor<256x1xf32>)
  return %k#0 : tensor<256x1024xf32>
}

// -----

// An AVX-512 target with a 1 MiB last-level cache: 16 lanes, and the 1 MiB
// output bypasses the cache.
// CHECK-LABEL: func.func @small_cache(
// CHECK: schedule = #norm.schedule<strategy = "row", vectorWidth = 16, unroll = 4, chunks = 1, rowTasks = 16, nontemporal = true, parallel = true>
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "skylake-avx512", features = "", vectorWidth = 16, nativeBF16 = false, l1Cache = 32768, l2Cache = 1048576, llcCache = 1048576, cores = 4>} {
  func.func @small_cache(%x: tensor<256x1024xf32>) -> tensor<256x1024xf32> {
    %e = tensor.empty() : tensor<256x1024xf32>
    %s = tensor.empty() : tensor<256x1xf32>
    %k:4 = norm.kernel %x outs(%e, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
        : (tensor<256x1024xf32>, tensor<256x1024xf32>, tensor<256x1xf32>, tensor<256x1xf32>, tensor<256x1xf32>) -> (tensor<256x1024xf32>, tensor<256x1xf32>, tensor<256x1xf32>, tensor<256x1xf32>)
    return %k#0 : tensor<256x1024xf32>
  }
}

// -----

// A module compiled for a GPU is not scheduled for a CPU.
// expected-error @+1 {{norm-tile: target=cpu does not match the module's norm.target #norm.cuda_target<chip = "sm_90", multiprocessors = 132, sharedMemoryPerBlock = 49152>}}
module attributes {norm.target = #norm.cuda_target<chip = "sm_90", multiprocessors = 132, sharedMemoryPerBlock = 49152>} {
}
