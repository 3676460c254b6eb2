// RUN: normlir-opt %s --convert-norm-to-gpu -split-input-file -verify-diagnostics | FileCheck %s

// A dynamic number of rows: the grid is ceil(rows / rows per block),
// computed on the host, with no launch for 0 rows; each team checks its row
// against the count, which the kernel captures.
// CHECK-LABEL: func.func @rows
// CHECK: %[[N:.*]] = memref.dim %arg0, %c0
// CHECK: %[[GRID:.*]] = arith.ceildivui %[[N]], %c16
// CHECK: %[[ANY:.*]] = arith.cmpi ne, %[[GRID]], %c0
// CHECK: scf.if %[[ANY]] {
// CHECK: gpu.launch blocks(%[[B:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]],
// CHECK: arith.cmpi ult, %{{.*}}, %[[N]]
func.func @rows(%x: memref<?x256xf32>, %y: memref<?x256xf32>, %s: memref<?x1xf32>) {
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64, schedule = #norm.gpu_schedule<strategy = row, threads = 16, rows = 16, vectorWidth = 4, chunks = 1>} : (memref<?x256xf32>, memref<?x256xf32>, memref<?x1xf32>, memref<?x1xf32>) -> ()
  return
}

// -----

// Dynamic runs (NCHW BatchNorm over ?x3x?): each run of R2 is split at run
// time into its share of the schedule's 264 blocks, pieces of at most 16384
// elements and at least 32 (an empty run has none); the partials are a device buffer of runtime
// size, the partials launch's grid (segments x chunks) is computed on the
// host, and the combine walks the runtime number of partials.
// CHECK-LABEL: func.func @segment
// CHECK-DAG: %[[N:.*]] = memref.dim %arg0, %c0
// CHECK-DAG: %[[HW:.*]] = memref.dim %arg0, %c2
// CHECK: arith.ceildivui %[[HW]], %c16384
// CHECK: arith.ceildivui %c264,
// CHECK: arith.divui %[[HW]], %c32
// CHECK: %[[CHUNKS:.*]] = arith.ceildivui %[[HW]], %
// CHECK: %[[PARTS:.*]] = arith.muli %[[N]], %[[CHUNKS]]
// CHECK: gpu.alloc ({{.*}}) : memref<?xf64>
// CHECK: %[[GRID:.*]] = arith.muli %{{.*}}, %[[CHUNKS]]
// CHECK: %[[ANY:.*]] = arith.cmpi ne, %[[GRID]], %c0
// CHECK: scf.if %[[ANY]] {
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[GRID]],
// CHECK: arith.divui %{{.*}}, %[[CHUNKS]]
// CHECK: vector.load {{.*}} vector<1xf32>
// The combine: one warp per statistic over the partials of each.
// CHECK: gpu.launch
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[PARTS]] step %c32
// CHECK: gpu.launch
// CHECK: gpu.dealloc
func.func @segment(%x: memref<?x3x?xf32>, %y: memref<?x3x?xf32>, %s: memref<1x3x1xf32>) {
  norm.kernel moments %x outs(%y, %s, %s, %s) {axes = array<i64: 0, 2>, epsilon = 1.0e-5 : f64, schedule = #norm.gpu_schedule<strategy = segment, threads = 256, rows = 1, vectorWidth = 1, chunks = 264>} : (memref<?x3x?xf32>, memref<?x3x?xf32>, memref<1x3x1xf32>, memref<1x3x1xf32>, memref<1x3x1xf32>) -> ()
  return
}

// -----

// Channels-last with a dynamic batch and rows (InstanceNorm over ?x?x8):
// the column tiling is static; each sample takes its share of the 132
// blocks wanted, at least 16 rows per thread (2048 rows of a 2 x 128
// block: HW / 2048 chunks at most, and at least one).
// CHECK-LABEL: func.func @column
// CHECK-DAG: %[[N:.*]] = memref.dim %arg0, %c0
// CHECK-DAG: %[[HW:.*]] = memref.dim %arg0, %c1
// CHECK: %[[MOST:.*]] = arith.divui %[[HW]], %c2048
// CHECK: %[[N1:.*]] = arith.maxui %[[N]], %c1
// CHECK: arith.ceildivui %c132, %[[N1]]
// CHECK: %[[ROWS:.*]] = arith.ceildivui
// CHECK: %[[CHUNKS:.*]] = arith.ceildivui %[[HW]], %[[ROWS]]
// CHECK: gpu.alloc ({{.*}}) : memref<?xf64>
// CHECK: %[[GRID:.*]] = arith.muli %[[N]], %[[CHUNKS]]
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[GRID]],
// CHECK: arith.remui %{{.*}}, %[[CHUNKS]]
// CHECK: vector.load {{.*}} vector<4xf32>
func.func @column(%x: memref<?x?x8xf32>, %y: memref<?x?x8xf32>, %s: memref<?x1x8xf32>) {
  norm.kernel moments %x outs(%y, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64, schedule = #norm.gpu_schedule<strategy = column, threads = 256, rows = 1, vectorWidth = 4, chunks = 132>} : (memref<?x?x8xf32>, memref<?x?x8xf32>, memref<?x1x8xf32>, memref<?x1x8xf32>, memref<?x1x8xf32>) -> ()
  return
}

// -----

// The apply over dynamic columns (BatchNorm eval over ?x8x?): up to a block
// of threads along the 8 x HW columns, the rest along the rows; tx need not
// divide the block, so threads past ty rows of them idle.
// CHECK-LABEL: func.func @apply
// CHECK: %[[COLS:.*]] = arith.muli %c8{{.*}}, %{{.*}} : index
// CHECK: %[[TX:.*]] = arith.minui %{{.*}}, %c256
// CHECK: %[[TY:.*]] = arith.divui %c256{{.*}}, %[[TX]]
// CHECK: gpu.launch
// CHECK: %[[TYC:.*]] = arith.divui %{{.*}}, %[[TX]]
// CHECK: %[[COLOK:.*]] = arith.cmpi ult, %{{.*}}, %[[COLS]]
// CHECK: %[[ROWOK:.*]] = arith.cmpi ult, %[[TYC]], %[[TY]]
// CHECK: %[[OK:.*]] = arith.andi %[[COLOK]], %[[ROWOK]]
// CHECK: scf.if %[[OK]]
// CHECK: scf.for %{{.*}} step %[[TY]]
// CHECK-NOT: gpu.alloc
func.func @apply(%x: memref<?x8x?xf32>, %mean: memref<1x8x1xf32>, %rstd: memref<1x8x1xf32>, %w: memref<8xf32>, %y: memref<?x8x?xf32>) {
  norm.kernel apply %x mean %mean rstd %rstd weight %w outs(%y) {axes = array<i64: 0, 2>, param_axes = array<i64: 1>, schedule = #norm.gpu_schedule<strategy = segment, threads = 256, rows = 1, vectorWidth = 1, chunks = 264>} : (memref<?x8x?xf32>, memref<1x8x1xf32>, memref<1x8x1xf32>, memref<8xf32>, memref<?x8x?xf32>) -> ()
  return
}

// -----

func.func @segment_vectors(%x: memref<?x3x?xf32>, %y: memref<?x3x?xf32>, %s: memref<1x3x1xf32>) {
  // expected-error @+1 {{the GPU segment strategy takes dynamic sizes in P0, R1 and R2 with rows = 1, and vectorWidth = 1 where R2 is dynamic; layout [P0, R1, P1, R2] = [1, ?, 3, ?]}}
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 0, 2>, epsilon = 1.0e-6 : f64, schedule = #norm.gpu_schedule<strategy = segment, threads = 64, rows = 1, vectorWidth = 4, chunks = 1>} : (memref<?x3x?xf32>, memref<?x3x?xf32>, memref<1x3x1xf32>, memref<1x3x1xf32>) -> ()
  return
}

// -----

func.func @column_runs(%x: memref<4x3x?xf32>, %y: memref<4x3x?xf32>, %s: memref<1x3x1xf32>) {
  // expected-error @+1 {{the GPU column strategy takes dynamic sizes in P0 and R1 only (static columns P1 x R2), layout [P0, R1, P1, R2] = [1, 4, 3, ?]}}
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 0, 2>, epsilon = 1.0e-6 : f64, schedule = #norm.gpu_schedule<strategy = column, threads = 64, rows = 1, vectorWidth = 1, chunks = 1>} : (memref<4x3x?xf32>, memref<4x3x?xf32>, memref<1x3x1xf32>, memref<1x3x1xf32>) -> ()
  return
}

// -----

func.func @row_length(%x: memref<4x?xf32>, %y: memref<4x?xf32>, %s: memref<4x1xf32>) {
  // expected-error @+1 {{the GPU row strategy takes a dynamic number of rows only (P0, with R1 = 1), layout [P0, R1, P1, R2] = [4, 1, 1, ?]}}
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64, schedule = #norm.gpu_schedule<strategy = row, threads = 16, rows = 16, vectorWidth = 4, chunks = 1>} : (memref<4x?xf32>, memref<4x?xf32>, memref<4x1xf32>, memref<4x1xf32>) -> ()
  return
}
