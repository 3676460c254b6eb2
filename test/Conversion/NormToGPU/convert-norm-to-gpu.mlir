// RUN: normlir-opt %s --convert-norm-to-gpu -split-input-file | FileCheck %s

// Row strategy, moments: 16 threads per row, 16 rows per block; each thread
// keeps its 4 vectors of the row in registers: a sum and a butterfly over
// the 16 lanes (offsets 8, 4, 2, 1), then the centered squares likewise, the
// statistics stored by lane 0, and the apply from the same registers.
// CHECK-LABEL: func.func @row(
// CHECK-SAME: %[[X:.*]]: memref<32x256xf32>, %[[W:.*]]: memref<256xf32>, %[[Y:.*]]: memref<32x256xf32>
// CHECK: %[[XF:.*]] = memref.collapse_shape %[[X]] {{\[\[}}0, 1]] : memref<32x256xf32> into memref<8192xf32>
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c2, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c256
// CHECK-COUNT-4: vector.load %[[XF]][{{.*}}] {alignment = 16 : i64} : memref<8192xf32>, vector<4xf32>
// CHECK: gpu.shuffle  xor {{.*}}, {{%c8_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : f32
// CHECK: gpu.shuffle  xor {{.*}}, {{%c4_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : f32
// CHECK: gpu.shuffle  xor {{.*}}, {{%c2_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : f32
// CHECK: gpu.shuffle  xor {{.*}}, {{%c1_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : f32
// CHECK-NOT: gpu.barrier
// CHECK: math.sqrt
// CHECK: scf.if
// CHECK-COUNT-3: memref.store
// CHECK: vector.load {{.*}} : memref<256xf32>, vector<4xf32>
// CHECK: vector.store {{.*}} {alignment = 16 : i64} : memref<8192xf32>, vector<4xf32>
// CHECK-NOT: norm.kernel
func.func @row(%x: memref<32x256xf32>, %w: memref<256xf32>, %y: memref<32x256xf32>, %m: memref<32x1xf32>, %v: memref<32x1xf32>, %r: memref<32x1xf32>) {
  norm.kernel moments %x weight %w outs(%y, %m, %v, %r) {axes = array<i64: 1>, param_axes = array<i64: 1>, epsilon = 1.0e-5 : f64,
      schedule = #norm.gpu_schedule<strategy = row, threads = 16, rows = 16, vectorWidth = 4, chunks = 1>}
      : (memref<32x256xf32>, memref<256xf32>, memref<32x256xf32>, memref<32x1xf32>, memref<32x1xf32>, memref<32x1xf32>) -> ()
  return
}

// -----

// A block per row (128 threads = 4 warps), RMSNorm: the warps' sums go
// through workgroup memory, with a barrier, and are added in a fixed order
// (one reduction: the mean square). A row
// of 1000 bf16 is not a multiple of 128 x 8: the last vector of each thread
// is loaded under a bounds check.
// CHECK-LABEL: func.func @block_row_bf16(
// CHECK: gpu.launch {{.*}} workgroup(%[[S0:.*]] : memref<4xf32, #gpu.address_space<workgroup>>)
// CHECK: arith.cmpi ult
// CHECK: scf.if {{.*}} -> (vector<8xf32>)
// CHECK: vector.load {{.*}} : memref<8000xbf16>, vector<8xbf16>
// CHECK: gpu.shuffle  xor {{.*}}, {{%c16_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : f32
// CHECK: memref.store {{.*}}, %[[S0]]
// CHECK: gpu.barrier
// CHECK-COUNT-4: memref.load %[[S0]]
// CHECK: arith.truncf {{.*}} : vector<8xf32> to vector<8xbf16>
func.func @block_row_bf16(%x: memref<8x1000xbf16>, %y: memref<8x1000xbf16>, %ms: memref<8x1xf32>, %r: memref<8x1xf32>) {
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64,
      schedule = #norm.gpu_schedule<strategy = row, threads = 128, rows = 1, vectorWidth = 8, chunks = 1>}
      : (memref<8x1000xbf16>, memref<8x1000xbf16>, memref<8x1xf32>, memref<8x1xf32>) -> ()
  return
}

// -----

// Segment strategy (NCHW BatchNorm, [R1 = 4, P1 = 8, R2 = 256]): partial
// moments per (segment, chunk) into device scratch (3 f64 each, 8
// statistics x 4 segments x 2 chunks), a combine in f64 with one warp per
// statistic, then the apply; the scratch is freed after it.
// CHECK-LABEL: func.func @segment(
// CHECK: %[[P:.*]] = gpu.alloc () : memref<192xf64>
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c64
// CHECK: scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, f32)
// CHECK: gpu.barrier
// CHECK: memref.store {{.*}}, %[[P]]
// CHECK: gpu.launch
// CHECK: scf.for {{.*}} -> (f64, f64, f64)
// CHECK: memref.load %[[P]]
// CHECK: gpu.shuffle  xor {{.*}}, {{%c16_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : i32
// CHECK: math.sqrt
// CHECK: gpu.launch
// CHECK: vector.load {{.*}} : memref<8192xf32>, vector<4xf32>
// CHECK: math.fma
// CHECK: vector.store
// CHECK: gpu.dealloc %[[P]]
func.func @segment(%x: memref<4x8x16x16xf32>, %w: memref<8xf32>, %b: memref<8xf32>, %y: memref<4x8x16x16xf32>, %m: memref<1x8x1x1xf32>, %v: memref<1x8x1x1xf32>, %r: memref<1x8x1x1xf32>) {
  norm.kernel moments %x weight %w bias %b outs(%y, %m, %v, %r) {axes = array<i64: 0, 2, 3>, param_axes = array<i64: 1>, epsilon = 1.0e-5 : f64,
      schedule = #norm.gpu_schedule<strategy = segment, threads = 64, rows = 1, vectorWidth = 4, chunks = 2>}
      : (memref<4x8x16x16xf32>, memref<8xf32>, memref<8xf32>, memref<4x8x16x16xf32>, memref<1x8x1x1xf32>, memref<1x8x1x1xf32>, memref<1x8x1x1xf32>) -> ()
  return
}

// -----

// Column strategy (channels-last BatchNorm, [R1 = 512, P1 = 16]): threads
// along the channels (4 per vector), rows of threads along R1, per-lane
// partials (f64) merged through workgroup memory; 4 chunks x 1 column
// each. The apply loads the consecutive channels' mean, rstd and weight as
// vectors.
// CHECK-LABEL: func.func @column(
// CHECK: %[[P:.*]] = gpu.alloc () : memref<192xf64>
// CHECK: gpu.launch {{.*}} workgroup({{.*}} : memref<1024xf64, #gpu.address_space<workgroup>>
// CHECK: scf.for {{.*}} -> (vector<4xf64>, vector<4xf64>, f32)
// CHECK: vector.store {{.*}} : memref<1024xf64, #gpu.address_space<workgroup>>, vector<4xf64>
// CHECK: gpu.barrier
// CHECK: vector.load {{.*}} : memref<1024xf64, #gpu.address_space<workgroup>>, vector<4xf64>
// CHECK: vector.extract
// CHECK: gpu.launch
// CHECK: gpu.launch
// CHECK-COUNT-3: vector.load {{.*}} : memref<16xf32>, vector<4xf32>
// CHECK-NOT: vector.from_elements
// CHECK: gpu.dealloc %[[P]]
func.func @column(%x: memref<2x16x16x16xf32>, %w: memref<16xf32>, %y: memref<2x16x16x16xf32>, %m: memref<1x1x1x16xf32>, %v: memref<1x1x1x16xf32>, %r: memref<1x1x1x16xf32>) {
  norm.kernel moments %x weight %w outs(%y, %m, %v, %r) {axes = array<i64: 0, 1, 2>, param_axes = array<i64: 3>, epsilon = 1.0e-5 : f64,
      schedule = #norm.gpu_schedule<strategy = column, threads = 256, rows = 1, vectorWidth = 4, chunks = 4>}
      : (memref<2x16x16x16xf32>, memref<16xf32>, memref<2x16x16x16xf32>, memref<1x1x1x16xf32>, memref<1x1x1x16xf32>, memref<1x1x1x16xf32>) -> ()
  return
}

// -----

// Apply only (BatchNorm eval): one launch, per-thread scale and shift.
// CHECK-LABEL: func.func @apply_only(
// CHECK-NOT: gpu.alloc
// CHECK: gpu.launch
// CHECK: scf.for
// CHECK: vector.load
// CHECK: math.fma
// CHECK: vector.store
// CHECK-NOT: gpu.launch
func.func @apply_only(%x: memref<4x8x16x16xf32>, %mean: memref<1x8x1x1xf32>, %rstd: memref<1x8x1x1xf32>, %w: memref<8xf32>, %b: memref<8xf32>, %y: memref<4x8x16x16xf32>) {
  norm.kernel apply %x mean %mean rstd %rstd weight %w bias %b outs(%y) {axes = array<i64: 0, 2, 3>, param_axes = array<i64: 1>,
      schedule = #norm.gpu_schedule<strategy = column, threads = 256, rows = 1, vectorWidth = 4, chunks = 1>}
      : (memref<4x8x16x16xf32>, memref<1x8x1x1xf32>, memref<1x8x1x1xf32>, memref<8xf32>, memref<8xf32>, memref<4x8x16x16xf32>) -> ()
  return
}

// -----

// Statistics outs that share one buffer (unused statistics bufferize to one
// allocation): the apply reads private copies of the mean and rstd.
// CHECK-LABEL: func.func @shared_stats(
// CHECK: %[[P:.*]] = gpu.alloc () : memref<{{.*}}xf64>
// CHECK: gpu.launch
// CHECK: %[[MEAN:.*]] = gpu.alloc () : memref<16xf32>
// CHECK: %[[RSTD:.*]] = gpu.alloc () : memref<16xf32>
// CHECK: gpu.launch
// CHECK: memref.store {{.*}}, %[[MEAN]]
// CHECK: memref.store {{.*}}, %[[RSTD]]
// CHECK: gpu.launch
// CHECK-DAG: vector.load %[[MEAN]]
// CHECK-DAG: vector.load %[[RSTD]]
// CHECK: gpu.dealloc %[[P]]
// CHECK: gpu.dealloc %[[MEAN]]
// CHECK: gpu.dealloc %[[RSTD]]
func.func @shared_stats(%x: memref<2x64x64x16xf32>, %y: memref<2x64x64x16xf32>, %s: memref<16xf32>) {
  %v = memref.expand_shape %s [[0, 1, 2, 3]] output_shape [1, 1, 1, 16] : memref<16xf32> into memref<1x1x1x16xf32>
  norm.kernel moments %x outs(%y, %v, %v, %v) {axes = array<i64: 0, 1, 2>, epsilon = 1.0e-5 : f64,
      schedule = #norm.gpu_schedule<strategy = column, threads = 256, rows = 1, vectorWidth = 4, chunks = 8>}
      : (memref<2x64x64x16xf32>, memref<2x64x64x16xf32>, memref<1x1x1x16xf32>, memref<1x1x1x16xf32>, memref<1x1x1x16xf32>) -> ()
  return
}

// -----

// zero_degenerate (InstanceNorm, eps = 0): 0 for a zero variance.
// CHECK-LABEL: func.func @zero_degenerate(
// CHECK: math.sqrt
// CHECK-NEXT: arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[RSTD:.*]] = arith.divf
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[DEGENERATE:.*]] = arith.cmpf oeq, %{{.*}}, %[[ZERO]] : f32
// CHECK-NEXT: arith.select %[[DEGENERATE]], %[[ZERO]], %[[RSTD]] : f32
func.func @zero_degenerate(%x: memref<2x3x16xf32>, %y: memref<2x3x16xf32>, %m: memref<2x3x1xf32>, %v: memref<2x3x1xf32>, %r: memref<2x3x1xf32>) {
  norm.kernel moments %x outs(%y, %m, %v, %r) {axes = array<i64: 2>, epsilon = 0.0 : f64, zero_degenerate,
      schedule = #norm.gpu_schedule<strategy = row, threads = 4, rows = 8, vectorWidth = 4, chunks = 1>}
      : (memref<2x3x16xf32>, memref<2x3x16xf32>, memref<2x3x1xf32>, memref<2x3x1xf32>, memref<2x3x1xf32>) -> ()
  return
}
