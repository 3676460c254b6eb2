// RUN: normlir-opt %s --norm-select-schedule="vector-width=8 nontemporal=off" -split-input-file | FileCheck %s
// RUN: normlir-opt %s --norm-select-schedule="vector-width=16 strategy=column unroll=2 chunks=5 row-tasks=3 nontemporal=on parallel=off force" -split-input-file | FileCheck %s --check-prefix=FORCED
// RUN: not normlir-opt %s --norm-select-schedule="strategy=diagonal" 2>&1 | FileCheck %s --check-prefix=BADOPT
// RUN: not normlir-opt %s --norm-select-schedule="strategy=row force" -split-input-file 2>&1 | FileCheck %s --check-prefix=NOROW
// RUN: not normlir-opt %s --norm-select-schedule="prefetch=-2" 2>&1 | FileCheck %s --check-prefix=BADPF
// RUN: not normlir-opt %s --norm-select-schedule="prefetch=1073741825" 2>&1 | FileCheck %s --check-prefix=BADPF
// RUN: not normlir-opt %s --norm-select-schedule="strategy=segment prefetch=2" 2>&1 | FileCheck %s --check-prefix=PFSEG
// RUN: not normlir-opt %s --norm-select-schedule="strategy=column prefetch=1" 2>&1 | FileCheck %s --check-prefix=PFCOL
// The GPU schedules ignore the CPU option, as they do unroll.
// RUN: normlir-opt %s -split-input-file --norm-select-schedule="target=cuda strategy=column prefetch=2" | FileCheck %s --check-prefix=PFCUDA

// The vector width is fixed by the options above so that the checks do not
// depend on the host CPU.

// Contiguous rows ([P0, R2] = [256, 1024]): the row strategy, threaded
// (1 MiB of input), 16 row ranges.
// CHECK-LABEL: func.func @rows(
// CHECK: schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 4, chunks = 1, rowTasks = 16, nontemporal = false, parallel = true, prefetch = 2>
// FORCED-LABEL: func.func @rows(
// FORCED: schedule = #norm.schedule<strategy = column, vectorWidth = 16, unroll = 2, chunks = 5, rowTasks = 3, nontemporal = true, parallel = false>
func.func @rows(%x: tensor<256x1024xf32>) -> tensor<256x1024xf32> {
  %e = tensor.empty() : tensor<256x1024xf32>
  %s = tensor.empty() : tensor<256x1xf32>
  %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<256x1024xf32>, tensor<256x1024xf32>, tensor<256x1xf32>, tensor<256x1xf32>, tensor<256x1xf32>) -> (tensor<256x1024xf32>, tensor<256x1xf32>, tensor<256x1xf32>, tensor<256x1xf32>)
  return %k#0 : tensor<256x1024xf32>
}

// -----

// BatchNorm NCHW ([R1, P1, R2] = [4, 3, 49]): long contiguous segments, so
// the segment strategy; a small kernel stays on one thread; short rows get
// fewer accumulators.
// CHECK-LABEL: func.func @segments(
// CHECK: schedule = #norm.schedule<strategy = segment, vectorWidth = 8, unroll = 4, chunks = 1, rowTasks = 12, nontemporal = false, parallel = false>
func.func @segments(%x: tensor<4x3x7x7xf32>) -> tensor<4x3x7x7xf32> {
  %e = tensor.empty() : tensor<4x3x7x7xf32>
  %s = tensor.empty() : tensor<1x3x1x1xf32>
  %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 0, 2, 3>, epsilon = 1.0e-5 : f64}
      : (tensor<4x3x7x7xf32>, tensor<4x3x7x7xf32>, tensor<1x3x1x1xf32>, tensor<1x3x1x1xf32>, tensor<1x3x1x1xf32>) -> (tensor<4x3x7x7xf32>, tensor<1x3x1x1xf32>, tensor<1x3x1x1xf32>, tensor<1x3x1x1xf32>)
  return %k#0 : tensor<4x3x7x7xf32>
}

// -----

// Channels-last BatchNorm ([R1, P1] = [8192, 16]): vectors across the
// channels, R1 in chunks (at least 64 tasks; 2 MiB / 256 KiB of rows).
// CHECK-LABEL: func.func @columns(
// CHECK: schedule = #norm.schedule<strategy = column, vectorWidth = 8, unroll = 2, chunks = 64, rowTasks = 16, nontemporal = false, parallel = true>
func.func @columns(%x: tensor<32x16x16x16xf32>) -> tensor<32x16x16x16xf32> {
  %e = tensor.empty() : tensor<32x16x16x16xf32>
  %s = tensor.empty() : tensor<1x1x1x16xf32>
  %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 0, 1, 2>, epsilon = 1.0e-5 : f64}
      : (tensor<32x16x16x16xf32>, tensor<32x16x16x16xf32>, tensor<1x1x1x16xf32>, tensor<1x1x1x16xf32>, tensor<1x1x1x16xf32>) -> (tensor<32x16x16x16xf32>, tensor<1x1x1x16xf32>, tensor<1x1x1x16xf32>, tensor<1x1x1x16xf32>)
  return %k#0 : tensor<32x16x16x16xf32>
}

// -----

// A schedule written in the input is kept (unless forced).
// CHECK-LABEL: func.func @written(
// CHECK: schedule = #norm.schedule<strategy = segment, vectorWidth = 4, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = true, parallel = false>
// FORCED-LABEL: func.func @written(
// FORCED: strategy = column
func.func @written(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %e = tensor.empty() : tensor<4x16xf32>
  %s = tensor.empty() : tensor<4x1xf32>
  %k:3 = norm.kernel mean_square %x outs(%e, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64,
      schedule = #norm.schedule<strategy = segment, vectorWidth = 4, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = true, parallel = false>}
      : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %k#0 : tensor<4x16xf32>
}

// A forced strategy that cannot lower a kernel is an error, not a fallback.
// NOROW: error: norm-select-schedule: strategy row needs R1 = 1, layout [P0, R1, P1, R2] = [1, 4, 3, 49]

// BADPF: norm-select-schedule: prefetch must be -1 (chosen per kernel) or in [0, 2^30] (#norm.schedule C2)
// PFSEG: norm-select-schedule: prefetch must be 0 or -1 with strategy=segment (#norm.schedule C3: only the row strategy prefetches), got 2
// PFCOL: :24:10: error: norm-select-schedule: prefetch must be 0 or -1 with strategy=column (#norm.schedule C3: only the row strategy prefetches), got 1
// PFCUDA: schedule = #norm.gpu_schedule<strategy = column

// BADOPT: norm-select-schedule: strategy must be row, segment or column, got 'diagonal'
