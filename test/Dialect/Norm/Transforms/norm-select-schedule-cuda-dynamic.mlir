// RUN: normlir-opt %s --norm-select-schedule=target=cuda -split-input-file -verify-diagnostics | FileCheck %s
// RUN: normlir-opt %s --norm-select-schedule="target=cuda chunks=7 threads=128 force" -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=OPTS
// RUN: not normlir-opt %s --norm-select-schedule="target=cuda strategy=column force" -split-input-file 2>&1 | FileCheck %s --check-prefix=COLUMN
// RUN: not normlir-opt %s --norm-select-schedule="target=cuda strategy=row force" -split-input-file 2>&1 | FileCheck %s --check-prefix=ROW
// RUN: not normlir-opt %s --norm-select-schedule="target=cuda vector-width=4 force" -split-input-file 2>&1 | FileCheck %s --check-prefix=WIDTH

// norm-select-schedule{target=cuda} on kernels with dynamic sizes: one
// #norm.gpu_schedule for every size, chosen on the static sizes alone (the
// default target: 132 multiprocessors). `chunks` is the number of blocks
// the reduction aims for in all, shared among the runs or samples at run
// time.

// NCHW BatchNorm over ?x8x?x?: dynamic runs take the segment strategy with
// scalar accesses, a block of 256 threads per piece, 2 blocks per
// multiprocessor in all.
// CHECK-LABEL: func.func @nchw
// CHECK: schedule = #norm.gpu_schedule<strategy = segment, threads = 256, rows = 1, vectorWidth = 1, chunks = 264>
// OPTS-LABEL: func.func @nchw
// OPTS: schedule = #norm.gpu_schedule<strategy = segment, threads = 128, rows = 1, vectorWidth = 1, chunks = 7>
// COLUMN: error: norm-select-schedule: the GPU column strategy needs static contiguous columns (P1 and R2); layout [P0, R1, P1, R2] = [1, ?, 8, ?]
// ROW: error: norm-select-schedule: a GPU kernel with dynamic sizes takes the row strategy only with R1 = 1 and a static R2 (the rows' length); layout [P0, R1, P1, R2] = [1, ?, 8, ?]
// WIDTH: error: norm-select-schedule: vector-width=4 with dynamic contiguous runs (R2), which take scalar accesses; layout [P0, R1, P1, R2] = [1, ?, 8, ?]
func.func @nchw(%x: tensor<?x8x?xf32>, %y: tensor<?x8x?xf32>, %s: tensor<1x8x1xf32>) -> tensor<?x8x?xf32> {
  %k:4 = norm.kernel moments %x outs(%y, %s, %s, %s) {axes = array<i64: 0, 2>, epsilon = 1.0e-5 : f64}
      : (tensor<?x8x?xf32>, tensor<?x8x?xf32>, tensor<1x8x1xf32>, tensor<1x8x1xf32>, tensor<1x8x1xf32>) -> (tensor<?x8x?xf32>, tensor<1x8x1xf32>, tensor<1x8x1xf32>, tensor<1x8x1xf32>)
  return %k#0 : tensor<?x8x?xf32>
}

// -----

// Static runs of 64 bf16 with a dynamic batch: 16-byte vectors, a block
// sized for one piece (64 / 8 vectors, four per thread: the 32 threads
// at least).
// CHECK-LABEL: func.func @static_runs
// CHECK: schedule = #norm.gpu_schedule<strategy = segment, threads = 32, rows = 1, vectorWidth = 8, chunks = 264>
func.func @static_runs(%x: tensor<?x8x64xbf16>, %y: tensor<?x8x64xbf16>, %s: tensor<1x8x1xf32>) -> tensor<?x8x64xbf16> {
  %k:4 = norm.kernel moments %x outs(%y, %s, %s, %s) {axes = array<i64: 0, 2>, epsilon = 1.0e-5 : f64}
      : (tensor<?x8x64xbf16>, tensor<?x8x64xbf16>, tensor<1x8x1xf32>, tensor<1x8x1xf32>, tensor<1x8x1xf32>) -> (tensor<?x8x64xbf16>, tensor<1x8x1xf32>, tensor<1x8x1xf32>, tensor<1x8x1xf32>)
  return %k#0 : tensor<?x8x64xbf16>
}

// -----

// Channels-last InstanceNorm over ?x?x8: the column strategy, its tiling of
// the 8 columns static (two threads of 4 lanes, 128 rows of threads), 264
// blocks in all.
// CHECK-LABEL: func.func @channels_last
// CHECK: schedule = #norm.gpu_schedule<strategy = column, threads = 256, rows = 1, vectorWidth = 4, chunks = 264>
// OPTS-LABEL: func.func @channels_last
// OPTS: schedule = #norm.gpu_schedule<strategy = column, threads = 128, rows = 1, vectorWidth = 4, chunks = 7>
// ROW: error: norm-select-schedule: a GPU kernel with dynamic sizes takes the row strategy only with R1 = 1 and a static R2 (the rows' length); layout [P0, R1, P1, R2] = [?, ?, 8, 1]
func.func @channels_last(%x: tensor<?x?x8xf32>, %y: tensor<?x?x8xf32>, %s: tensor<?x1x8xf32>) -> tensor<?x?x8xf32> {
  %k:4 = norm.kernel moments %x outs(%y, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x1x8xf32>, tensor<?x1x8xf32>, tensor<?x1x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x1x8xf32>, tensor<?x1x8xf32>, tensor<?x1x8xf32>)
  return %k#0 : tensor<?x?x8xf32>
}

// -----

// An apply-only kernel over dynamic columns (BatchNorm eval): the segment
// strategy, whose apply launch takes them.
// CHECK-LABEL: func.func @apply
// CHECK: schedule = #norm.gpu_schedule<strategy = segment, threads = 256, rows = 1, vectorWidth = 1, chunks = 264>
func.func @apply(%x: tensor<?x8x?xf32>, %m: tensor<1x8x1xf32>, %r: tensor<1x8x1xf32>, %y: tensor<?x8x?xf32>) -> tensor<?x8x?xf32> {
  %k = norm.kernel apply %x mean %m rstd %r outs(%y) {axes = array<i64: 0, 2>}
      : (tensor<?x8x?xf32>, tensor<1x8x1xf32>, tensor<1x8x1xf32>, tensor<?x8x?xf32>) -> tensor<?x8x?xf32>
  return %k : tensor<?x8x?xf32>
}

// -----

// A dynamic number of statistics per sample (P1) is not taken.
func.func @dynamic_p1(%x: tensor<4x?xf32>, %y: tensor<4x?xf32>, %s: tensor<1x?xf32>) -> tensor<4x?xf32> {
  // expected-error @+1 {{norm-select-schedule: a GPU kernel takes dynamic sizes in P0, R1 and R2 only (P1, the statistics of one sample, is static); layout [P0, R1, P1, R2] = [1, 4, ?, 1]}}
  %k:4 = norm.kernel moments %x outs(%y, %s, %s, %s) {axes = array<i64: 0>, epsilon = 1.0e-5 : f64}
      : (tensor<4x?xf32>, tensor<4x?xf32>, tensor<1x?xf32>, tensor<1x?xf32>, tensor<1x?xf32>) -> (tensor<4x?xf32>, tensor<1x?xf32>, tensor<1x?xf32>, tensor<1x?xf32>)
  return %k#0 : tensor<4x?xf32>
}
