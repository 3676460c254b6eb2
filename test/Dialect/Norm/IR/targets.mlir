// RUN: normlir-opt %s -split-input-file | normlir-opt -split-input-file | FileCheck %s

// The target attributes round-trip.
// CHECK: module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "znver4", features = "+avx512bf16,-avx512fp16", vectorWidth = 16, nativeBF16 = true, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = 96>}
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "znver4", features = "+avx512bf16,-avx512fp16", vectorWidth = 16, nativeBF16 = true, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = 96>} {
}

// -----

// CHECK: module attributes {norm.target = #norm.cuda_target<chip = "sm_90a", multiprocessors = 114, sharedMemoryPerBlock = 49152>}
module attributes {norm.target = #norm.cuda_target<chip = "sm_90a", multiprocessors = 114, sharedMemoryPerBlock = 49152>} {
}
