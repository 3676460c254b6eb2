// RUN: normlir-opt %s --norm-attach-cuda-target -split-input-file | FileCheck %s
// RUN: normlir-opt %s --norm-attach-cuda-target=chip=sm_80 -split-input-file | FileCheck %s --check-prefix=A100
// RUN: normlir-opt %s --norm-attach-cuda-target="chip=sm_100a multiprocessors=20" -split-input-file | FileCheck %s --check-prefix=SMS
// RUN: normlir-opt %s --norm-attach-cuda-target="chip=sm_89 force" -split-input-file | FileCheck %s --check-prefix=FORCE
// RUN: not normlir-opt %s --norm-attach-cuda-target=chip=gfx90a -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not normlir-opt %s --norm-attach-cuda-target=multiprocessors=4611686018427387904 -split-input-file 2>&1 | FileCheck %s --check-prefix=HUGE
// RUN: not normlir-opt %s --norm-attach-cuda-target=multiprocessors=-1 -split-input-file 2>&1 | FileCheck %s --check-prefix=NEG

// The flagship part of each chip: H100 (132 SMs), A100 (108).
// CHECK: module attributes {norm.target = #norm.cuda_target<chip = "sm_90", multiprocessors = 132, sharedMemoryPerBlock = 49152>}
// A100: module attributes {norm.target = #norm.cuda_target<chip = "sm_80", multiprocessors = 108, sharedMemoryPerBlock = 49152>}
// SMS: module attributes {norm.target = #norm.cuda_target<chip = "sm_100a", multiprocessors = 20, sharedMemoryPerBlock = 49152>}
// BAD: error: norm-attach-cuda-target: unknown GPU chip 'gfx90a' (sm_80, sm_90, ...)
// HUGE: error: norm-attach-cuda-target: multiprocessors must be in [0, 2^20], got 4611686018427387904
// NEG: error: norm-attach-cuda-target: multiprocessors must be in [0, 2^20], got -1
module {
}

// -----

// A written target is kept unless forced.
// CHECK: module attributes {norm.target = #norm.cuda_target<chip = "sm_75", multiprocessors = 40, sharedMemoryPerBlock = 49152>}
// FORCE: module attributes {norm.target = #norm.cuda_target<chip = "sm_89", multiprocessors = 142, sharedMemoryPerBlock = 49152>}
module attributes {norm.target = #norm.cuda_target<chip = "sm_75", multiprocessors = 40, sharedMemoryPerBlock = 49152>} {
}
