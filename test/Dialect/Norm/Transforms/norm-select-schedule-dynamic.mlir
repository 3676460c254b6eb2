// RUN: normlir-opt %s --norm-select-schedule -split-input-file -verify-diagnostics | FileCheck %s
// RUN: normlir-opt %s --norm-select-schedule="row-tasks=4 prefetch=0" -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=OPTS
// RUN: not normlir-opt %s --norm-select-schedule="target=cuda" -split-input-file 2>&1 | FileCheck %s --check-prefix=CUDA
// RUN: not normlir-opt %s --norm-select-schedule="strategy=segment" -split-input-file 2>&1 | FileCheck %s --check-prefix=SEG

// A strategy forced through the options must be the one that takes the
// kernel's dynamic sizes.
// SEG: error: norm-select-schedule: strategy=segment does not take this kernel's dynamic sizes (row does); layout [P0, R1, P1, R2] = [?, 1, 1, 256]

// A dynamic number of rows of 256 f32 (1 KiB): the row heuristic at each
// input size (elements) where one of its decisions changes, on a target
// with a 512 KiB L2 and a 32 MiB L3: threads from 64 rows (64 KiB),
// prefetch from 512 rows (the L2) once a task has two rows, streaming
// stores from 24576 rows (3/4 of the L3).
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 524288, llcCache = 33554432, cores = 2>} {
// CHECK-LABEL: func.func @rows
// CHECK-NOT: schedule =
// CHECK: variants = [#norm.variant<from = 0, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 4, chunks = 1, rowTasks = 16, nontemporal = false, parallel = false>>,
// CHECK-SAME: #norm.variant<from = 16384, schedule = #norm.schedule<{{.*}}nontemporal = false, parallel = true>>,
// CHECK-SAME: #norm.variant<from = 131072, schedule = #norm.schedule<{{.*}}nontemporal = false, parallel = true, prefetch = 8>>,
// CHECK-SAME: #norm.variant<from = 6291456, schedule = #norm.schedule<{{.*}}nontemporal = true, parallel = true, prefetch = 8>>]
// OPTS-LABEL: func.func @rows
// OPTS: variants = [#norm.variant<from = 0, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 4, chunks = 1, rowTasks = 4, nontemporal = false, parallel = false>>,
// OPTS-SAME: #norm.variant<from = 16384, schedule = #norm.schedule<{{.*}}rowTasks = 4, nontemporal = false, parallel = true>>,
// OPTS-SAME: #norm.variant<from = 6291456, schedule = #norm.schedule<{{.*}}rowTasks = 4, nontemporal = true, parallel = true>>]
func.func @rows(%x: tensor<?x256xf32>, %y: tensor<?x256xf32>, %s: tensor<?x1xf32>) -> tensor<?x256xf32> {
  %k:4 = norm.kernel moments %x outs(%y, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<?x256xf32>, tensor<?x256xf32>, tensor<?x1xf32>, tensor<?x1xf32>, tensor<?x1xf32>) -> (tensor<?x256xf32>, tensor<?x1xf32>, tensor<?x1xf32>, tensor<?x1xf32>)
  return %k#0 : tensor<?x256xf32>
}
}

// -----

// Rows of a dynamic length take the row strategy on the CPU, its vector
// width and unroll chosen for long rows (the kernel masks short ones); the
// GPU splits them into pieces (norm-select-schedule-cuda-dynamic.mlir).
// CHECK-LABEL: func.func @dynamic_row_length
// CHECK: variants = [#norm.variant<from = 0, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 4, chunks = 1, rowTasks = 16, nontemporal = false, parallel = false>>,
// CHECK-SAME: #norm.variant<from = 16384, schedule = #norm.schedule<{{.*}}nontemporal = false, parallel = true>>,
// CHECK-SAME: #norm.variant<from = 6291456, schedule = #norm.schedule<{{.*}}nontemporal = true, parallel = true>>]
// CUDA-LABEL: func.func @dynamic_row_length
// CUDA: schedule = #norm.gpu_schedule<strategy = segment, threads = 256, rows = 1, vectorWidth = 1, chunks = 264>
func.func @dynamic_row_length(%x: tensor<4x?xf32>, %y: tensor<4x?xf32>, %s: tensor<4x1xf32>) -> tensor<4x?xf32> {
  %k:4 = norm.kernel moments %x outs(%y, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<4x?xf32>, tensor<4x?xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x?xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %k#0 : tensor<4x?xf32>
}

// -----

// On the GPU a dynamic number of rows takes one row schedule: its choices
// depend on the rows' length only (the grid comes from the row count at
// run time).
// CUDA-LABEL: func.func @gpu_rows
// CUDA: schedule = #norm.gpu_schedule<strategy = row, threads = 16, rows = 16, vectorWidth = 4, chunks = 1>
// CUDA-NOT: variants
func.func @gpu_rows(%x: tensor<?x256xf32>, %y: tensor<?x256xf32>, %s: tensor<?x1xf32>) -> tensor<?x256xf32> {
  %k:4 = norm.kernel moments %x outs(%y, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<?x256xf32>, tensor<?x256xf32>, tensor<?x1xf32>, tensor<?x1xf32>, tensor<?x1xf32>) -> (tensor<?x256xf32>, tensor<?x1xf32>, tensor<?x1xf32>, tensor<?x1xf32>)
  return %k#0 : tensor<?x256xf32>
}
