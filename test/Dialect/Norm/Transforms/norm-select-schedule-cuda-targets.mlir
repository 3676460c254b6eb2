// RUN: normlir-opt %s --norm-select-schedule=target=cuda -split-input-file -verify-diagnostics | FileCheck %s

// The GPU schedule reads the module's #norm.cuda_target (sm_90 without one).

// GPU: one 65536-element row is split into enough chunks for two blocks per
// multiprocessor of the target: 264 on the default sm_90 (132 SMs) ...
// CHECK-LABEL: func.func @long_row_sm90(
// CHECK: schedule = #norm.gpu_schedule<strategy = segment, threads = 32, rows = 1, vectorWidth = 4, chunks = 264>
func.func @long_row_sm90(%x: tensor<1x65536xf32>) -> tensor<1x65536xf32> {
  %e = tensor.empty() : tensor<1x65536xf32>
  %s = tensor.empty() : tensor<1x1xf32>
  %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<1x65536xf32>, tensor<1x65536xf32>, tensor<1x1xf32>, tensor<1x1xf32>, tensor<1x1xf32>) -> (tensor<1x65536xf32>, tensor<1x1xf32>, tensor<1x1xf32>, tensor<1x1xf32>)
  return %k#0 : tensor<1x65536xf32>
}

// -----

// ... and 216 on an sm_80 with 108.
// CHECK-LABEL: func.func @long_row_sm80(
// CHECK: schedule = #norm.gpu_schedule<strategy = segment, threads = 32, rows = 1, vectorWidth = 4, chunks = 216>
module attributes {norm.target = #norm.cuda_target<chip = "sm_80", multiprocessors = 108, sharedMemoryPerBlock = 49152>} {
  func.func @long_row_sm80(%x: tensor<1x65536xf32>) -> tensor<1x65536xf32> {
    %e = tensor.empty() : tensor<1x65536xf32>
    %s = tensor.empty() : tensor<1x1xf32>
    %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
        : (tensor<1x65536xf32>, tensor<1x65536xf32>, tensor<1x1xf32>, tensor<1x1xf32>, tensor<1x1xf32>) -> (tensor<1x65536xf32>, tensor<1x1xf32>, tensor<1x1xf32>, tensor<1x1xf32>)
    return %k#0 : tensor<1x65536xf32>
  }
}
// -----

// expected-error @+1 {{norm-select-schedule: target=cuda does not match the module's norm.target #norm.cpu_target<}}
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "skylake-avx512", features = "", vectorWidth = 16, nativeBF16 = false, l1Cache = 32768, l2Cache = 1048576, llcCache = 1048576, cores = 4>} {
}
