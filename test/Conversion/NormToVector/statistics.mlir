// RUN: normlir-opt %s --convert-norm-to-vector -split-input-file | FileCheck %s

// The statistics core (Statistics.h) as each strategy uses it.

// Segment (Segment.cpp), moments: the R1 = 4 partials of a statistic are
// combined in f64 by the core: their weighted mean first (the shift, 0 when
// not finite), then Chan's merge folded over the shifted partials, with its
// empty-part guard and its rule for infinite means; the finalize divides M2
// by the 160 values in f64, rounds to f32 and adds the rstd.
// CHECK-LABEL: func.func @segment_moments(
// CHECK: %[[SEGA:.*]] = memref.alloc() : memref<12xf64>
// CHECK: %[[SEGB:.*]] = memref.alloc() : memref<12xf64>
// CHECK: %[[SUM:.*]] = scf.for {{.*}} -> (f64) {
// CHECK: memref.load %[[SEGA]]
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: }
// CHECK: %[[AVG:.*]] = arith.divf %[[SUM]], %{{.*}} : f64
// CHECK: math.absf %[[AVG]] : f64
// CHECK: %[[FIN:.*]] = arith.cmpf olt
// CHECK: %[[SHIFT:.*]] = arith.select %[[FIN]], %[[AVG]], %{{.*}} : f64
// CHECK: %[[M:.*]]:3 = scf.for {{.*}} -> (f64, f64, f64) {
// CHECK: %[[MK:.*]] = memref.load %[[SEGA]]
// CHECK: memref.load %[[SEGB]]
// CHECK: arith.subf %[[MK]], %[[SHIFT]] : f64
// CHECK: arith.cmpf ogt
// CHECK: math.fma {{.*}} : f64
// CHECK: arith.andi
// CHECK: arith.select
// CHECK: scf.yield {{.*}} : f64, f64, f64
// CHECK: }
// CHECK: %[[MEAN:.*]] = arith.addf %[[SHIFT]], %[[M]]#1 : f64
// CHECK: %[[C160:.*]] = arith.constant 1.600000e+02 : f64
// CHECK: %[[VAR:.*]] = arith.divf %[[M]]#2, %[[C160]] : f64
// CHECK: %[[MEAN32:.*]] = arith.truncf %[[MEAN]] : f64 to f32
// CHECK: %[[VAR32:.*]] = arith.truncf %[[VAR]] : f64 to f32
// CHECK: math.sqrt
// CHECK: %[[RSTD:.*]] = arith.divf
// CHECK: memref.store %[[MEAN32]]
// CHECK: memref.store %[[VAR32]]
// CHECK: memref.store %[[RSTD]]
func.func @segment_moments(%x: memref<4x3x40xf32>, %y: memref<4x3x40xf32>, %m: memref<1x3x1xf32>, %v: memref<1x3x1xf32>, %r: memref<1x3x1xf32>) {
  norm.kernel moments %x outs(%y, %m, %v, %r) {axes = array<i64: 0, 2>, epsilon = 1.0e-5 : f64,
      schedule = #norm.schedule<strategy = segment, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>}
      : (memref<4x3x40xf32>, memref<4x3x40xf32>, memref<1x3x1xf32>, memref<1x3x1xf32>, memref<1x3x1xf32>) -> ()
  return
}

// -----

// Segment, mean square: no shift and no merge, the sums of squares added
// in order.
// CHECK-LABEL: func.func @segment_mean_square(
// CHECK: memref.store {{.*}} : memref<12xf64>
// CHECK: %[[SS:.*]] = scf.for {{.*}} -> (f64) {
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: }
// CHECK-NOT: math.fma
// CHECK: %[[MS:.*]] = arith.divf %[[SS]], %{{.*}} : f64
// CHECK: arith.truncf %[[MS]] : f64 to f32
// CHECK: math.sqrt
// CHECK-NOT: -> (f64, f64, f64)
func.func @segment_mean_square(%x: memref<4x3x40xf32>, %y: memref<4x3x40xf32>, %ms: memref<1x3x1xf32>, %r: memref<1x3x1xf32>) {
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 0, 2>, epsilon = 1.0e-5 : f64,
      schedule = #norm.schedule<strategy = segment, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>}
      : (memref<4x3x40xf32>, memref<4x3x40xf32>, memref<1x3x1xf32>, memref<1x3x1xf32>) -> ()
  return
}

// -----

// Column (Column.cpp): each chunk's per-lane partials come from the core's
// momentsFromShiftedSums in f64 lanes (the provisional mean, 0 where not
// finite, as the shift; M2 clamped at 0); the combine walks the R2 x chunks
// partials of a statistic in nested loops, shift then merge.
// CHECK-LABEL: func.func @column_moments(
// CHECK: %[[PA:.*]] = memref.alloc() : memref<48xf64>
// CHECK: %[[PB:.*]] = memref.alloc() : memref<48xf64>
// CHECK: arith.truncf {{.*}} : vector<8xf64> to vector<8xf32>
// CHECK: math.absf {{.*}} : vector<8xf32>
// CHECK: arith.select {{.*}} : vector<8xi1>, vector<8xf32>
// CHECK: arith.cmpf ogt, {{.*}} : vector<8xf64>
// CHECK: arith.maximumf {{.*}} : vector<8xf64>
// CHECK: vector.store {{.*}}, %[[PA]]
// CHECK: vector.store {{.*}}, %[[PB]]
// CHECK: scf.for {{.*}} -> (f64) {
// CHECK: scf.for {{.*}} -> (f64) {
// CHECK: arith.sitofp
// CHECK: memref.load %[[PA]]
// CHECK: scf.for {{.*}} -> (f64, f64, f64) {
// CHECK: scf.for {{.*}} -> (f64, f64, f64) {
// CHECK: memref.load %[[PA]]
// CHECK: memref.load %[[PB]]
// CHECK: math.fma {{.*}} : f64
// CHECK: arith.andi
// CHECK: arith.constant 1.800000e+01 : f64
// CHECK: arith.truncf {{.*}} : f64 to f32
// CHECK: math.sqrt
func.func @column_moments(%x: memref<2x9x16xf32>, %y: memref<2x9x16xf32>, %m: memref<1x1x16xf32>, %v: memref<1x1x16xf32>, %r: memref<1x1x16xf32>) {
  norm.kernel moments %x outs(%y, %m, %v, %r) {axes = array<i64: 0, 1>, epsilon = 1.0e-5 : f64,
      schedule = #norm.schedule<strategy = column, vectorWidth = 8, unroll = 2, chunks = 3, rowTasks = 1, nontemporal = false, parallel = false>}
      : (memref<2x9x16xf32>, memref<2x9x16xf32>, memref<1x1x16xf32>, memref<1x1x16xf32>, memref<1x1x16xf32>) -> ()
  return
}

// -----

// Row (Row.cpp): one pass of sums about the mean of the row's first vector
// (the shift), the core's meanVarFromShiftedSums on them (lanes summed as a
// tree, each sum divided by the count before they are subtracted) with its
// accuracy test: the shift within one standard deviation of the mean
// (kShiftMaxOffset), the sum of squares and the shift finite. Where it
// fails, the two passes (a plain sum's provisional mean, then the sums about
// it) give the statistics instead; then the finalize and the stores.
// CHECK-LABEL: func.func @row_moments(
// CHECK: %[[FIRST:.*]] = vector.load
// CHECK: %[[P0:.*]] = vector.reduction <add>, %[[FIRST]] fastmath<reassoc> : vector<8xf32> into f32
// CHECK: %[[SHIFT:.*]] = arith.divf %[[P0]], %{{.*}} : f32
// CHECK: %[[SHIFTV:.*]] = vector.broadcast %[[SHIFT]]
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>)
// CHECK: arith.subf %{{.*}}, %[[SHIFTV]] : vector<8xf32>
// CHECK: %[[S1:.*]] = vector.reduction <add>, %{{.*}} fastmath<reassoc> : vector<8xf32> into f32
// CHECK: %[[Q1:.*]] = arith.divf %[[S1]]
// CHECK: %[[S2:.*]] = vector.reduction <add>, %{{.*}} fastmath<reassoc> : vector<8xf32> into f32
// CHECK: %[[Q2:.*]] = arith.divf %[[S2]]
// CHECK: %[[SQ:.*]] = arith.mulf %[[Q1]], %[[Q1]] : f32
// CHECK: %[[D:.*]] = arith.subf %[[Q2]], %[[SQ]] : f32
// CHECK: %[[VAR1:.*]] = arith.maximumf %[[D]]
// CHECK: %[[LIMIT:.*]] = arith.mulf %{{.*}}, %[[VAR1]] : f32
// CHECK: %[[NEAR:.*]] = arith.cmpf ole, %[[SQ]], %[[LIMIT]] : f32
// CHECK: math.absf %[[Q2]] : f32
// CHECK: %[[FIN2:.*]] = arith.cmpf olt
// CHECK: %[[OK1:.*]] = arith.andi %[[NEAR]], %[[FIN2]] : i1
// CHECK: math.absf %[[SHIFT]] : f32
// CHECK: %[[FINS:.*]] = arith.cmpf olt
// CHECK: %[[OK:.*]] = arith.andi %[[OK1]], %[[FINS]] : i1
// CHECK: %[[MEAN1:.*]] = arith.addf %[[SHIFT]], %[[Q1]] : f32
// CHECK: %[[MV:.*]]:2 = scf.if %[[OK]] -> (f32, f32) {
// CHECK: scf.yield %{{.*}}, %[[VAR1]] : f32, f32
// CHECK: } else {
// CHECK: scf.for {{.*}} -> (vector<8xf32>) {
// CHECK: vector.reduction
// CHECK: %[[M1:.*]] = arith.divf
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>)
// CHECK: arith.maximumf
// CHECK: %[[FIN:.*]] = arith.cmpf olt
// CHECK: %[[SUM:.*]] = arith.addf %[[M1]], %{{.*}} : f32
// CHECK: %[[MEAN2:.*]] = arith.select %[[FIN]], %[[SUM]], %[[M1]] : f32
// CHECK: scf.yield %[[MEAN2]], %{{.*}} : f32, f32
// CHECK: }
// CHECK: math.sqrt
// CHECK: %[[RSTD:.*]] = arith.divf
// CHECK: memref.store %[[MV]]#0
// CHECK: memref.store %[[MV]]#1
// CHECK: memref.store %[[RSTD]]
func.func @row_moments(%x: memref<4x64xf32>, %y: memref<4x64xf32>, %m: memref<4x1xf32>, %v: memref<4x1xf32>, %r: memref<4x1xf32>) {
  norm.kernel moments %x outs(%y, %m, %v, %r) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64,
      schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>}
      : (memref<4x64xf32>, memref<4x64xf32>, memref<4x1xf32>, memref<4x1xf32>, memref<4x1xf32>) -> ()
  return
}
