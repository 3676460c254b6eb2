// RUN: normlir-opt %s --convert-norm-target-to-llvm -split-input-file | FileCheck %s

// A CPU target becomes what LLVM's translation reads.
// CHECK: module attributes {llvm.target = #llvm.target<triple = "x86_64-pc-linux-gnu", chip = "znver4", features = <["+avx512bf16", "-avx512fp16"]>>, llvm.target_triple = "x86_64-pc-linux-gnu"} {
// CHECK-NOT: norm.target
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "znver4", features = "+avx512bf16,-avx512fp16", vectorWidth = 16, nativeBF16 = true, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = 96>} {
}

// -----

// No features: an empty list.
// CHECK: module attributes {llvm.target = #llvm.target<triple = "x86_64-pc-linux-gnu", chip = "x86-64-v3", features = <[]>>, llvm.target_triple = "x86_64-pc-linux-gnu"} {
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = 0>} {
}

// -----

// A CUDA module's host code is compiled for the host: the GPU target is
// dropped (its kernels carry their #nvvm.target).
// CHECK: module {
// CHECK-NOT: llvm.target
module attributes {norm.target = #norm.cuda_target<chip = "sm_90", multiprocessors = 132, sharedMemoryPerBlock = 49152>} {
}
