// norm-select-schedule on backward kernels (norm.grad_kernel): a
// #norm.grad_schedule each, from the heuristic or the options.
// RUN: normlir-opt %s --norm-select-schedule -split-input-file | FileCheck %s
// RUN: normlir-opt %s --norm-select-schedule="grad-statistics=recomputed prefetch=1 nontemporal=on parallel=off force" -split-input-file | FileCheck %s --check-prefix=FORCED
// RUN: not normlir-opt %s --norm-select-schedule="grad-statistics=stored" 2>&1 | FileCheck %s --check-prefix=BADOPT
// RUN: not normlir-opt %s --norm-select-schedule="target=cuda grad-statistics=saved" 2>&1 | FileCheck %s --check-prefix=CUDAOPT
// RUN: not normlir-opt %s --norm-attach-cuda-target=force=true --norm-select-schedule="target=cuda" -split-input-file 2>&1 | FileCheck %s --check-prefix=CUDA

// BADOPT: norm-select-schedule-grad.mlir:24:11: error: norm-select-schedule: grad-statistics must be saved, recomputed or auto, got 'stored'
// CUDAOPT: error: norm-select-schedule: grad-statistics must be auto with target=cuda (the GPU has no fused backward kernel), got 'saved'
// CUDA: error: norm-select-schedule: a norm.grad_kernel has no GPU schedule

// LayerNorm 4096x1024 f32 with the statistics its forward saved: they are
// read; x and dy (32 MiB) do not stay in the 1 MiB L2 and a row (4 KiB)
// fits, so the row backward prefetches 8 KiB ahead (2 rows); on threads.
// dx (16 MiB) is half the 32 MiB L3: stored through the cache.
// CHECK-LABEL: func.func @row(
// CHECK: schedule = #norm.grad_schedule<statistics = saved, parallel = true, prefetch = 2>
// FORCED-LABEL: func.func @row(
// FORCED: schedule = #norm.grad_schedule<statistics = recomputed, parallel = false, prefetch = 1, nontemporal = true>
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-unknown-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = 0>} {
  func.func @row(%x: tensor<4096x1024xf32>, %dy: tensor<4096x1024xf32>, %m: tensor<4096x1xf32>, %r: tensor<4096x1xf32>) -> tensor<4096x1024xf32> {
    %e = tensor.empty() : tensor<4096x1024xf32>
    %dx = norm.grad_kernel %x, %dy mean %m rstd %r outs(%e) {axes = array<i64: 1>, centered, epsilon = 1.0e-5 : f64, input_statistics}
        : (tensor<4096x1024xf32>, tensor<4096x1024xf32>, tensor<4096x1xf32>, tensor<4096x1xf32>, tensor<4096x1024xf32>) -> tensor<4096x1024xf32>
    return %dx : tensor<4096x1024xf32>
  }
}

// -----

// A small row backward (8 KiB): serial, nothing to prefetch; statistics
// given but not the input's own (constant) cannot be recomputed, so the
// options keep them saved; rows of 32 elements never stream, so the
// nontemporal option leaves them alone.
// CHECK-LABEL: func.func @small_constant(
// CHECK: schedule = #norm.grad_schedule<statistics = saved, parallel = false>
// FORCED-LABEL: func.func @small_constant(
// FORCED: schedule = #norm.grad_schedule<statistics = saved, parallel = false, prefetch = 1>
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-unknown-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = 0>} {
  func.func @small_constant(%x: tensor<64x32xf32>, %dy: tensor<64x32xf32>, %r: tensor<64x1xf32>) -> tensor<64x32xf32> {
    %e = tensor.empty() : tensor<64x32xf32>
    %dx = norm.grad_kernel %x, %dy rstd %r outs(%e) {axes = array<i64: 1>, epsilon = 0.0 : f64, constant_statistics}
        : (tensor<64x32xf32>, tensor<64x32xf32>, tensor<64x1xf32>, tensor<64x32xf32>) -> tensor<64x32xf32>
    return %dx : tensor<64x32xf32>
  }
}

// -----

// A channel backward in two passes (BatchNorm NCHW, 3.2 MiB): threaded,
// prefetching 8 KiB ahead (runs of 6400 bytes: 2); a schedule written on
// the op is kept unless forced.
// CHECK-LABEL: func.func @channels(
// CHECK: schedule = #norm.grad_schedule<statistics = saved, parallel = true, prefetch = 2>
// CHECK: schedule = #norm.grad_schedule<statistics = saved, parallel = false>
// FORCED-LABEL: func.func @channels(
// FORCED: schedule = #norm.grad_schedule<statistics = recomputed, parallel = false, prefetch = 1, nontemporal = true>
// FORCED: schedule = #norm.grad_schedule<statistics = saved, parallel = false, prefetch = 1, nontemporal = true>
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-unknown-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = 0>} {
  func.func @channels(%x: tensor<8x64x40x40xf32>, %dy: tensor<8x64x40x40xf32>, %m: tensor<1x64x1x1xf32>, %r: tensor<1x64x1x1xf32>) -> (tensor<8x64x40x40xf32>, tensor<8x64x40x40xf32>) {
    %e = tensor.empty() : tensor<8x64x40x40xf32>
    %dx = norm.grad_kernel %x, %dy mean %m rstd %r outs(%e) {axes = array<i64: 0, 2, 3>, centered, epsilon = 1.0e-5 : f64, input_statistics, param_axes = array<i64: 1>}
        : (tensor<8x64x40x40xf32>, tensor<8x64x40x40xf32>, tensor<1x64x1x1xf32>, tensor<1x64x1x1xf32>, tensor<8x64x40x40xf32>) -> tensor<8x64x40x40xf32>
    %dx2 = norm.grad_kernel %x, %dy outs(%e) {axes = array<i64: 0, 2, 3>, centered, epsilon = 1.0e-5 : f64, param_axes = array<i64: 1>, schedule = #norm.grad_schedule<statistics = saved, parallel = false>}
        : (tensor<8x64x40x40xf32>, tensor<8x64x40x40xf32>, tensor<8x64x40x40xf32>) -> tensor<8x64x40x40xf32>
    return %dx, %dx2 : tensor<8x64x40x40xf32>, tensor<8x64x40x40xf32>
  }
}

// -----

// GroupNorm NCHW (8 x 16 groups of 4 channels x 1600 elements, 25 KiB
// each): each statistic in one go, the dx pass from cache, no prefetch
// (measured: none gained). The channels-last BatchNorm (column form)
// never prefetches nor streams, whatever the options.
// CHECK-LABEL: func.func @groups_and_columns(
// CHECK: schedule = #norm.grad_schedule<statistics = saved, parallel = true>
// CHECK: schedule = #norm.grad_schedule<statistics = saved, parallel = true>
// FORCED-LABEL: func.func @groups_and_columns(
// FORCED: schedule = #norm.grad_schedule<statistics = recomputed, parallel = false, prefetch = 1, nontemporal = true>
// FORCED: schedule = #norm.grad_schedule<statistics = recomputed, parallel = false>
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-unknown-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = 0>} {
  func.func @groups_and_columns(%x: tensor<8x16x4x1600xf32>, %dy: tensor<8x16x4x1600xf32>, %m: tensor<8x16x1x1xf32>, %r: tensor<8x16x1x1xf32>,
                                %c: tensor<8x40x40x64xf32>, %dc: tensor<8x40x40x64xf32>, %cm: tensor<1x1x1x64xf32>, %cr: tensor<1x1x1x64xf32>) -> (tensor<8x16x4x1600xf32>, tensor<8x40x40x64xf32>) {
    %e = tensor.empty() : tensor<8x16x4x1600xf32>
    %dx = norm.grad_kernel %x, %dy mean %m rstd %r outs(%e) {axes = array<i64: 2, 3>, centered, epsilon = 1.0e-5 : f64, input_statistics, param_axes = array<i64: 1, 2>}
        : (tensor<8x16x4x1600xf32>, tensor<8x16x4x1600xf32>, tensor<8x16x1x1xf32>, tensor<8x16x1x1xf32>, tensor<8x16x4x1600xf32>) -> tensor<8x16x4x1600xf32>
    %ec = tensor.empty() : tensor<8x40x40x64xf32>
    %dc2 = norm.grad_kernel %c, %dc mean %cm rstd %cr outs(%ec) {axes = array<i64: 0, 1, 2>, centered, epsilon = 1.0e-5 : f64, input_statistics, param_axes = array<i64: 3>}
        : (tensor<8x40x40x64xf32>, tensor<8x40x40x64xf32>, tensor<1x1x1x64xf32>, tensor<1x1x1x64xf32>, tensor<8x40x40x64xf32>) -> tensor<8x40x40x64xf32>
    return %dx, %dc2 : tensor<8x16x4x1600xf32>, tensor<8x40x40x64xf32>
  }
}

// -----

// dx of 32 MiB, the whole L3 (from 3/4 of it): streamed.
// CHECK-LABEL: func.func @streamed(
// CHECK: schedule = #norm.grad_schedule<statistics = saved, parallel = true, prefetch = 2, nontemporal = true>
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-unknown-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = 0>} {
  func.func @streamed(%x: tensor<8192x1024xf32>, %dy: tensor<8192x1024xf32>, %m: tensor<8192x1xf32>, %r: tensor<8192x1xf32>) -> tensor<8192x1024xf32> {
    %e = tensor.empty() : tensor<8192x1024xf32>
    %dx = norm.grad_kernel %x, %dy mean %m rstd %r outs(%e) {axes = array<i64: 1>, centered, epsilon = 1.0e-5 : f64, input_statistics}
        : (tensor<8192x1024xf32>, tensor<8192x1024xf32>, tensor<8192x1xf32>, tensor<8192x1xf32>, tensor<8192x1024xf32>) -> tensor<8192x1024xf32>
    return %dx : tensor<8192x1024xf32>
  }
}
