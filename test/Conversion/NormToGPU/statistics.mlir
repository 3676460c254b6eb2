// RUN: normlir-opt %s --convert-norm-to-gpu -split-input-file | FileCheck %s

// The statistics core (Statistics.h) on the GPU target: warp shuffles.

// Segment (Segment.cpp) and the combine (Combine.cpp): each thread's f32
// sums about its first element become f64 moments (momentsFromShiftedSums:
// an empty-part guard, M2 clamped at 0), merged across the warp by a
// butterfly of shuffles of (n, mean, M2) at offsets 16 to 1 (an f64
// shuffles as two i32 halves), each step Chan's merge with its rule for
// infinite means; the partials are f64. The combine kernel folds the same
// merge over a lane's partials in f64, butterflies it, and lane 0
// finalizes: M2 / 1024 values in f64, rounded to f32 once, the rstd, the
// private copies and the outs.
// A thread's loop is unrolled by 4 (unrolledRows): a main loop issuing
// four loads before using them, then a remainder loop.
// CHECK-LABEL: func.func @segment(
// CHECK: %[[P:.*]] = gpu.alloc () : memref<192xf64>
// CHECK: gpu.launch
// CHECK: scf.for {{.*}} step %c1024 iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, f32)
// CHECK-COUNT-4: vector.load
// CHECK-NOT: vector.load
// CHECK: scf.yield
// CHECK: %[[T:.*]]:3 = scf.for {{.*}} step %c256{{[_0-9]*}} {{.*}} -> (vector<4xf32>, vector<4xf32>, f32)
// CHECK: %[[NT:.*]] = arith.extf %[[T]]#2 : f32 to f64
// CHECK: vector.reduction <add>, %[[T]]#0 : vector<4xf32> into f32
// CHECK: vector.reduction <add>, %[[T]]#1 : vector<4xf32> into f32
// CHECK: arith.cmpf ogt, %[[NT]]
// CHECK: arith.maximumf {{.*}} : f64
// CHECK: arith.bitcast %[[NT]] : f64 to i64
// CHECK: gpu.shuffle  xor {{.*}}, {{%c16_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : i32
// CHECK: math.fma {{.*}} : f64
// CHECK: arith.andi
// CHECK: gpu.shuffle  xor {{.*}}, {{%c8_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : i32
// CHECK: gpu.shuffle  xor {{.*}}, {{%c4_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : i32
// CHECK: gpu.shuffle  xor {{.*}}, {{%c2_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : i32
// CHECK: gpu.shuffle  xor {{.*}}, {{%c1_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : i32
// CHECK: gpu.barrier
// CHECK: memref.store {{.*}}, %[[P]]{{.*}} : memref<192xf64>
// CHECK: gpu.launch
// CHECK: scf.for {{.*}} -> (f64, f64, f64)
// CHECK: memref.load %[[P]]
// CHECK: arith.cmpf ogt, {{.*}} : f64
// CHECK: math.fma {{.*}} : f64
// CHECK: arith.andi
// CHECK: scf.yield
// CHECK: arith.bitcast {{.*}} : f64 to i64
// CHECK: gpu.shuffle  xor {{.*}}, {{%c16_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : i32
// CHECK: gpu.shuffle  xor {{.*}}, {{%c16_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : i32
// CHECK: arith.bitcast {{.*}} : i64 to f64
// CHECK: gpu.shuffle  xor {{.*}}, {{%c1_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : i32
// CHECK: scf.if
// CHECK: %[[N:.*]] = arith.constant 1.024000e+03 : f64
// CHECK-NEXT: %[[VAR64:.*]] = arith.divf %{{.*}}, %[[N]] : f64
// CHECK-NEXT: arith.truncf {{.*}} : f64 to f32
// CHECK-NEXT: %[[VAR:.*]] = arith.truncf %[[VAR64]] : f64 to f32
// CHECK: math.sqrt
// CHECK: %[[RSTD:.*]] = arith.divf
// CHECK-COUNT-2: memref.store
// CHECK-NEXT: memref.store
// CHECK-NEXT: memref.store %[[VAR]]
// CHECK-NEXT: memref.store %[[RSTD]]
func.func @segment(%x: memref<4x8x16x16xf32>, %y: memref<4x8x16x16xf32>, %m: memref<1x8x1x1xf32>, %v: memref<1x8x1x1xf32>, %r: memref<1x8x1x1xf32>) {
  norm.kernel moments %x outs(%y, %m, %v, %r) {axes = array<i64: 0, 2, 3>, epsilon = 1.0e-5 : f64,
      schedule = #norm.gpu_schedule<strategy = segment, threads = 64, rows = 1, vectorWidth = 4, chunks = 2>}
      : (memref<4x8x16x16xf32>, memref<4x8x16x16xf32>, memref<1x8x1x1xf32>, memref<1x8x1x1xf32>, memref<1x8x1x1xf32>) -> ()
  return
}

// -----

// Column (Column.cpp): per-lane shifted sums, in f64 on sm_90 (full-rate
// f64: the deviations are extended before they are summed), per-lane f64
// moments (vectors) from them, through f64 workgroup memory, then the rows
// of threads merged lane by lane with the same merge on vectors.
// CHECK-LABEL: func.func @column(
// CHECK: gpu.launch {{.*}} workgroup({{.*}} : memref<1024xf64, #gpu.address_space<workgroup>>
// CHECK: scf.for {{.*}} -> (vector<4xf64>, vector<4xf64>, f32)
// CHECK: arith.subf {{.*}} : vector<4xf32>
// CHECK-NEXT: arith.extf {{.*}} : vector<4xf32> to vector<4xf64>
// CHECK: math.fma {{.*}} : vector<4xf64>
// CHECK: arith.cmpf ogt, {{.*}} : vector<4xf64>
// CHECK: arith.maximumf {{.*}} : vector<4xf64>
// CHECK: gpu.barrier
// CHECK: scf.for {{.*}} -> (vector<4xf64>, vector<4xf64>, vector<4xf64>)
// CHECK: vector.load {{.*}} : memref<1024xf64, #gpu.address_space<workgroup>>, vector<4xf64>
// CHECK: arith.cmpf ogt, {{.*}} : vector<4xf64>
// CHECK: math.fma {{.*}} : vector<4xf64>
// CHECK: arith.andi {{.*}} : vector<4xi1>
// CHECK: memref.store {{.*}} : memref<192xf64>
// CHECK: gpu.launch
// CHECK: math.fma {{.*}} : f64
// CHECK: gpu.launch
func.func @column(%x: memref<2x16x16x16xf32>, %y: memref<2x16x16x16xf32>, %m: memref<1x1x1x16xf32>, %v: memref<1x1x1x16xf32>, %r: memref<1x1x1x16xf32>) {
  norm.kernel moments %x outs(%y, %m, %v, %r) {axes = array<i64: 0, 1, 2>, epsilon = 1.0e-5 : f64,
      schedule = #norm.gpu_schedule<strategy = column, threads = 256, rows = 1, vectorWidth = 4, chunks = 4>}
      : (memref<2x16x16x16xf32>, memref<2x16x16x16xf32>, memref<1x1x1x16xf32>, memref<1x1x1x16xf32>, memref<1x1x1x16xf32>) -> ()
  return
}

// -----

// Row (Row.cpp), mean square, 8 threads per row: the lanes summed in order
// (no reassociation), then a butterfly over the team alone (offsets 4, 2,
// 1), no workgroup memory.
// CHECK-LABEL: func.func @row(
// CHECK-NOT: workgroup
// CHECK: vector.reduction <add>, %{{.*}} : vector<4xf32> into f32
// CHECK-NOT: gpu.shuffle  xor {{.*}}, {{%c16_i32[_0-9]*}}
// CHECK-NOT: gpu.shuffle  xor {{.*}}, {{%c8_i32[_0-9]*}}
// CHECK: %[[A:.*]], %{{.*}} = gpu.shuffle  xor %[[S0:.*]], {{%c4_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : f32
// CHECK-NEXT: %[[S1:.*]] = arith.addf %[[S0]], %[[A]] : f32
// CHECK: gpu.shuffle  xor %[[S1]], {{%c2_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : f32
// CHECK: gpu.shuffle  xor {{.*}}, {{%c1_i32[_0-9]*}}, {{%c32_i32[_0-9]*}} : f32
// CHECK-NEXT: %[[S3:.*]] = arith.addf
// CHECK-NEXT: arith.divf %[[S3]]
// CHECK-NOT: gpu.barrier
// CHECK: math.sqrt
func.func @row(%x: memref<8x64xf32>, %y: memref<8x64xf32>, %ms: memref<8x1xf32>, %r: memref<8x1xf32>) {
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64,
      schedule = #norm.gpu_schedule<strategy = row, threads = 8, rows = 4, vectorWidth = 4, chunks = 1>}
      : (memref<8x64xf32>, memref<8x64xf32>, memref<8x1xf32>, memref<8x1xf32>) -> ()
  return
}

// -----

// Column on a chip whose f64 runs at a 64th of its f32 rate (sm_89): the
// deviations are summed in f32; the moments, the merge and the partials
// are still f64.
// CHECK-LABEL: func.func @column_f32_sums(
// CHECK: gpu.launch {{.*}} workgroup({{.*}} : memref<1024xf64, #gpu.address_space<workgroup>>
// CHECK: scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, f32)
// CHECK: arith.extf {{.*}} : vector<4xf32> to vector<4xf64>
// CHECK: arith.maximumf {{.*}} : vector<4xf64>
// CHECK: memref.store {{.*}} : memref<192xf64>
module attributes {norm.target = #norm.cuda_target<chip = "sm_89", multiprocessors = 128, sharedMemoryPerBlock = 49152>} {
func.func @column_f32_sums(%x: memref<2x16x16x16xf32>, %y: memref<2x16x16x16xf32>, %m: memref<1x1x1x16xf32>, %v: memref<1x1x1x16xf32>, %r: memref<1x1x1x16xf32>) {
  norm.kernel moments %x outs(%y, %m, %v, %r) {axes = array<i64: 0, 1, 2>, epsilon = 1.0e-5 : f64,
      schedule = #norm.gpu_schedule<strategy = column, threads = 256, rows = 1, vectorWidth = 4, chunks = 4>}
      : (memref<2x16x16x16xf32>, memref<2x16x16x16xf32>, memref<1x1x1x16xf32>, memref<1x1x1x16xf32>, memref<1x1x1x16xf32>) -> ()
  return
}
}
