// RUN: normlir-opt %s --norm-select-schedule=target=cuda -split-input-file | FileCheck %s
// RUN: normlir-opt %s --norm-select-schedule="target=cuda strategy=segment threads=64 chunks=3 force" -split-input-file | FileCheck %s --check-prefix=FORCED
// RUN: not normlir-opt %s --norm-select-schedule="target=gpu" 2>&1 | FileCheck %s --check-prefix=BADOPT
// RUN: not normlir-opt %s --norm-select-schedule="target=cuda strategy=segment rows=4 chunks=3 force" 2>&1 | FileCheck %s --check-prefix=RUNSCHUNKS
// RUN: normlir-opt %s --norm-select-schedule="target=cuda strategy=segment rows=4 force" -split-input-file | FileCheck %s --check-prefix=ROWS4
// RUNSCHUNKS: chunks must be 1 with strategy=segment and rows > 1 (#norm.gpu_schedule C4: a block reduces whole runs), got 3
// ROWS4 (segment forced with 4 runs per block): R1 = 1 kernels split their
// one run into chunks instead.
// ROWS4-LABEL: func.func @long_rows(
// ROWS4: schedule = #norm.gpu_schedule<strategy = segment, threads = 64, rows = 1, vectorWidth = 4, chunks = 66>

// norm-select-schedule{target=cuda}: a #norm.gpu_schedule per kernel. The vector width
// is 16 bytes of the element type, halved until it divides the runs.

// BADOPT: norm-select-schedule: target must be cpu or cuda, got 'gpu'

// Rows of 256 f32: 16 threads (four 16-byte vectors each) per row, 16 rows
// per block.
// CHECK-LABEL: func.func @short_rows(
// CHECK: schedule = #norm.gpu_schedule<strategy = row, threads = 16, rows = 16, vectorWidth = 4, chunks = 1>
// FORCED-LABEL: func.func @short_rows(
// FORCED: schedule = #norm.gpu_schedule<strategy = segment, threads = 64, rows = 1, vectorWidth = 4, chunks = 3>
func.func @short_rows(%x: tensor<32768x256xf32>) -> tensor<32768x256xf32> {
  %e = tensor.empty() : tensor<32768x256xf32>
  %s = tensor.empty() : tensor<32768x1xf32>
  %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<32768x256xf32>, tensor<32768x256xf32>, tensor<32768x1xf32>, tensor<32768x1xf32>, tensor<32768x1xf32>) -> (tensor<32768x256xf32>, tensor<32768x1xf32>, tensor<32768x1xf32>, tensor<32768x1xf32>)
  return %k#0 : tensor<32768x256xf32>
}

// -----

// Rows of 16384 bf16 (8 per vector): 512 threads per row, a block each.
// CHECK-LABEL: func.func @block_rows_bf16(
// CHECK: schedule = #norm.gpu_schedule<strategy = row, threads = 512, rows = 1, vectorWidth = 8, chunks = 1>
// FORCED-LABEL: func.func @block_rows_bf16(
// FORCED: schedule = #norm.gpu_schedule<strategy = segment, threads = 64, rows = 1, vectorWidth = 8, chunks = 3>
func.func @block_rows_bf16(%x: tensor<64x16384xbf16>) -> tensor<64x16384xbf16> {
  %e = tensor.empty() : tensor<64x16384xbf16>
  %s = tensor.empty() : tensor<64x1xf32>
  %k:3 = norm.kernel mean_square %x outs(%e, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<64x16384xbf16>, tensor<64x16384xbf16>, tensor<64x1xf32>, tensor<64x1xf32>) -> (tensor<64x16384xbf16>, tensor<64x1xf32>, tensor<64x1xf32>)
  return %k#0 : tensor<64x16384xbf16>
}

// -----

// Rows of 65536 f32 do not fit in registers: split into chunks, a block
// each (segment); four rows alone would leave the GPU idle, so 66 chunks of
// about 1000 elements (264 blocks), 64 threads each.
// CHECK-LABEL: func.func @long_rows(
// CHECK: schedule = #norm.gpu_schedule<strategy = segment, threads = 64, rows = 1, vectorWidth = 4, chunks = 66>
// FORCED-LABEL: func.func @long_rows(
// FORCED: schedule = #norm.gpu_schedule<strategy = segment, threads = 64, rows = 1, vectorWidth = 4, chunks = 3>
func.func @long_rows(%x: tensor<4x65536xf32>) -> tensor<4x65536xf32> {
  %e = tensor.empty() : tensor<4x65536xf32>
  %s = tensor.empty() : tensor<4x1xf32>
  %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<4x65536xf32>, tensor<4x65536xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x65536xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %k#0 : tensor<4x65536xf32>
}

// -----

// Rows of 6: vectors of 2 elements (the largest power of two dividing 6),
// one thread per row, 256 rows per block.
// CHECK-LABEL: func.func @narrow(
// CHECK: schedule = #norm.gpu_schedule<strategy = row, threads = 1, rows = 256, vectorWidth = 2, chunks = 1>
// FORCED-LABEL: func.func @narrow(
// FORCED: schedule = #norm.gpu_schedule<strategy = segment, threads = 64, rows = 1, vectorWidth = 2, chunks = 3>
func.func @narrow(%x: tensor<8x6xf32>) -> tensor<8x6xf32> {
  %e = tensor.empty() : tensor<8x6xf32>
  %s = tensor.empty() : tensor<8x1xf32>
  %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<8x6xf32>, tensor<8x6xf32>, tensor<8x1xf32>, tensor<8x1xf32>, tensor<8x1xf32>) -> (tensor<8x6xf32>, tensor<8x1xf32>, tensor<8x1xf32>, tensor<8x1xf32>)
  return %k#0 : tensor<8x6xf32>
}

// -----

// NCHW BatchNorm ([R1 = 32, P1 = 64, R2 = 3136]): one block per segment.
// CHECK-LABEL: func.func @batch_norm_nchw(
// CHECK: schedule = #norm.gpu_schedule<strategy = segment, threads = 256, rows = 1, vectorWidth = 4, chunks = 1>
// FORCED-LABEL: func.func @batch_norm_nchw(
// FORCED: schedule = #norm.gpu_schedule<strategy = segment, threads = 64, rows = 1, vectorWidth = 4, chunks = 3>
func.func @batch_norm_nchw(%x: tensor<32x64x56x56xf32>) -> tensor<32x64x56x56xf32> {
  %e = tensor.empty() : tensor<32x64x56x56xf32>
  %s = tensor.empty() : tensor<1x64x1x1xf32>
  %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 0, 2, 3>, epsilon = 1.0e-5 : f64}
      : (tensor<32x64x56x56xf32>, tensor<32x64x56x56xf32>, tensor<1x64x1x1xf32>, tensor<1x64x1x1xf32>, tensor<1x64x1x1xf32>) -> (tensor<32x64x56x56xf32>, tensor<1x64x1x1xf32>, tensor<1x64x1x1xf32>, tensor<1x64x1x1xf32>)
  return %k#0 : tensor<32x64x56x56xf32>
}

// -----

// NCHW BatchNorm with short runs ([R1 = 256, P1 = 256, R2 = 196]): blocks of
// 64 threads each take 16 runs of one channel (3136 elements), 16 partials
// per channel.
// CHECK-LABEL: func.func @batch_norm_nchw_short(
// CHECK: schedule = #norm.gpu_schedule<strategy = segment, threads = 64, rows = 16, vectorWidth = 4, chunks = 1>
// ROWS4-LABEL: func.func @batch_norm_nchw_short(
// ROWS4: schedule = #norm.gpu_schedule<strategy = segment, threads = 64, rows = 4, vectorWidth = 4, chunks = 1>
func.func @batch_norm_nchw_short(%x: tensor<256x256x14x14xf32>) -> tensor<256x256x14x14xf32> {
  %e = tensor.empty() : tensor<256x256x14x14xf32>
  %s = tensor.empty() : tensor<1x256x1x1xf32>
  %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 0, 2, 3>, epsilon = 1.0e-5 : f64}
      : (tensor<256x256x14x14xf32>, tensor<256x256x14x14xf32>, tensor<1x256x1x1xf32>, tensor<1x256x1x1xf32>, tensor<1x256x1x1xf32>) -> (tensor<256x256x14x14xf32>, tensor<1x256x1x1xf32>, tensor<1x256x1x1xf32>, tensor<1x256x1x1xf32>)
  return %k#0 : tensor<256x256x14x14xf32>
}

// -----

// Channels-last BatchNorm ([R1 = 100352, P1 = 64]): columns, R1 split into
// 264 chunks for two blocks per multiprocessor (132).
// CHECK-LABEL: func.func @batch_norm_nhwc(
// CHECK: schedule = #norm.gpu_schedule<strategy = column, threads = 256, rows = 1, vectorWidth = 4, chunks = 264>
// FORCED-LABEL: func.func @batch_norm_nhwc(
// FORCED: schedule = #norm.gpu_schedule<strategy = segment, threads = 64, rows = 1, vectorWidth = 1, chunks = 3>
func.func @batch_norm_nhwc(%x: tensor<32x56x56x64xf32>) -> tensor<32x56x56x64xf32> {
  %e = tensor.empty() : tensor<32x56x56x64xf32>
  %s = tensor.empty() : tensor<1x1x1x64xf32>
  %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 0, 1, 2>, epsilon = 1.0e-5 : f64}
      : (tensor<32x56x56x64xf32>, tensor<32x56x56x64xf32>, tensor<1x1x1x64xf32>, tensor<1x1x1x64xf32>, tensor<1x1x1x64xf32>) -> (tensor<32x56x56x64xf32>, tensor<1x1x1x64xf32>, tensor<1x1x1x64xf32>, tensor<1x1x1x64xf32>)
  return %k#0 : tensor<32x56x56x64xf32>
}
