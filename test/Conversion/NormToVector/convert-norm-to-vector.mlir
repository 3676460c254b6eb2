// RUN: normlir-opt %s --convert-norm-to-vector -split-input-file | FileCheck %s

// Row strategy, moments: row ranges on threads; per row one blocked pass of
// sums about the mean of its first vector (from memory), the two-pass
// statistics as the fallback where that shift is far from the mean, the
// statistics stores, then the apply with the weight loaded as vectors.
// CHECK-LABEL: func.func @row(
// CHECK-SAME: %[[X:.*]]: memref<4x64xf32>, %[[W:.*]]: memref<64xf32>, %[[Y:.*]]: memref<4x64xf32>, %[[M:.*]]: memref<4x1xf32>, %[[V:.*]]: memref<4x1xf32>, %[[R:.*]]: memref<4x1xf32>)
// CHECK: %[[XF:.*]] = memref.collapse_shape %[[X]] {{\[\[}}0, 1]] : memref<4x64xf32> into memref<256xf32>
// CHECK: scf.parallel
// CHECK: vector.load %[[XF]]
// CHECK: vector.reduction <add>, {{.*}} fastmath<reassoc>
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: vector.load %[[XF]]
// CHECK: math.fma {{.*}} : vector<8xf32>
// CHECK: scf.if {{.*}} -> (f32, f32)
// CHECK: } else {
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>)
// CHECK: arith.addf {{.*}} : vector<8xf32>
// CHECK: scf.for
// CHECK: math.fma {{.*}} : vector<8xf32>
// CHECK: }
// CHECK: math.sqrt
// CHECK: memref.store
// CHECK: memref.store
// CHECK: memref.store
// CHECK: vector.load %{{.*}} : memref<64xf32>, vector<8xf32>
// CHECK: arith.mulf
// CHECK: vector.store
// CHECK-NOT: norm.kernel
func.func @row(%x: memref<4x64xf32>, %w: memref<64xf32>, %y: memref<4x64xf32>, %m: memref<4x1xf32>, %v: memref<4x1xf32>, %r: memref<4x1xf32>) {
  norm.kernel moments %x weight %w outs(%y, %m, %v, %r) {axes = array<i64: 1>, param_axes = array<i64: 1>, epsilon = 1.0e-5 : f64,
      schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 2, chunks = 1, rowTasks = 2, nontemporal = false, parallel = true>}
      : (memref<4x64xf32>, memref<64xf32>, memref<4x64xf32>, memref<4x1xf32>, memref<4x1xf32>, memref<4x1xf32>) -> ()
  return
}

// -----

// Row strategy with prefetch = 2: the apply of row s prefetches the same
// offsets of row min(s + 2, last row of the range), for reading.
// CHECK-LABEL: func.func @row_prefetch(
// CHECK-SAME: %[[X:[^:]*]]: memref<8x64xf32>
// CHECK: %[[XF:.*]] = memref.collapse_shape %[[X]]
// CHECK: scf.parallel (%[[T:.*]]) =
// CHECK: %[[HI:.*]] = arith.minui
// CHECK: %[[LAST:.*]] = arith.subi %[[HI]]
// CHECK: scf.for %[[S:.*]] = %{{.*}} to %[[HI]]
// CHECK: %[[S2:.*]] = arith.addi %[[S]], %{{.*}}
// CHECK: %[[AHEAD:.*]] = arith.minui %[[S2]], %[[LAST]]
// CHECK: %[[BASE:.*]] = arith.muli %[[AHEAD]]
// CHECK: %[[START:.*]] = arith.addi %[[BASE]], %{{.*}} : index
// CHECK: scf.for
// CHECK: vector.store
// CHECK: %[[P:.*]] = arith.addi %[[START]], %{{.*}} : index
// CHECK: memref.prefetch %[[XF]][%[[P]]], read, locality<3>, data : memref<512xf32>
func.func @row_prefetch(%x: memref<8x64xf32>, %y: memref<8x64xf32>, %ms: memref<8x1xf32>, %r: memref<8x1xf32>) {
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64,
      schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 2, chunks = 1, rowTasks = 2, nontemporal = false, parallel = true, prefetch = 2>}
      : (memref<8x64xf32>, memref<8x64xf32>, memref<8x1xf32>, memref<8x1xf32>) -> ()
  return
}

// -----

// mean_square on bf16: f32 lanes for the sum of squares (a bf16 square is
// exact in f32; f32 inputs keep f64 lanes, @rms_f32_wide), in blocks of at
// most 64 vectors added into f64 totals; a 20-element row ends with a
// masked vector, summed apart and added too; bf16 is widened after loading
// and rounded before storing (the apply's first 16 elements are a pair:
// see @ln_bf16_pairs).
// CHECK-LABEL: func.func @rms_bf16(
// CHECK: vector.load {{.*}} : memref<60xbf16>, vector<8xbf16>
// CHECK: arith.extf {{.*}} : vector<8xbf16> to vector<8xf32>
// CHECK-NOT: f64
// CHECK: math.fma {{.*}} : vector<8xf32>
// CHECK: arith.extf {{.*}} : vector<8xf32> to vector<8xf64>
// CHECK: arith.addf {{.*}} : vector<8xf64>
// CHECK: vector.constant_mask [4] : vector<8xi1>
// CHECK: vector.maskedload
// CHECK: arith.truncf {{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK: vector.maskedstore
func.func @rms_bf16(%x: memref<3x20xbf16>, %y: memref<3x20xbf16>, %ms: memref<3x1xf32>, %r: memref<3x1xf32>) {
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64,
      schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>}
      : (memref<3x20xbf16>, memref<3x20xbf16>, memref<3x1xf32>, memref<3x1xf32>) -> ()
  return
}

// -----

// A bf16 weight read by every row is converted to f32 once, into scratch
// (left to the deallocation pipeline), which the rows read.
// CHECK-LABEL: func.func @rms_bf16_weight(
// CHECK-SAME: %{{[^:]*}}: memref<3x20xbf16>, %[[W:[^:]*]]: memref<20xbf16>
// CHECK: %[[WF:.*]] = memref.alloc() {alignment = 64 : i64} : memref<20xf32>
// CHECK: vector.load %[[W]][{{.*}}] : memref<20xbf16>, vector<8xbf16>
// CHECK: vector.store {{.*}}, %[[WF]][{{.*}}] : memref<20xf32>, vector<8xf32>
// CHECK: vector.maskedload %[[W]]
// CHECK: vector.maskedstore %[[WF]]
// CHECK: scf.for
// CHECK-NOT: memref<20xbf16>
// CHECK: vector.load %[[WF]]
// CHECK: return
func.func @rms_bf16_weight(%x: memref<3x20xbf16>, %w: memref<20xbf16>, %y: memref<3x20xbf16>, %ms: memref<3x1xf32>, %r: memref<3x1xf32>) {
  norm.kernel mean_square %x weight %w outs(%y, %ms, %r) {axes = array<i64: 1>, param_axes = array<i64: 1>, epsilon = 1.0e-6 : f64,
      schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>}
      : (memref<3x20xbf16>, memref<20xbf16>, memref<3x20xbf16>, memref<3x1xf32>, memref<3x1xf32>) -> ()
  return
}

// -----

// Segment strategy: per-segment moments into f64 scratch, a combine over
// R1 = 4 in f64, then the apply (scratch is left to the deallocation
// pipeline).
// CHECK-LABEL: func.func @segment(
// CHECK: %[[A:.*]] = memref.alloc() : memref<12xf64>
// CHECK: %[[B:.*]] = memref.alloc() : memref<12xf64>
// CHECK: scf.parallel
// CHECK: memref.store %{{.*}}, %[[A]]
// CHECK: scf.parallel
// CHECK: scf.for {{.*}} -> (f64)
// CHECK: arith.divf {{.*}} : f64
// CHECK: scf.parallel
// CHECK-NOT: memref.dealloc
func.func @segment(%x: memref<4x3x40xf32>, %w: memref<3xf32>, %y: memref<4x3x40xf32>, %m: memref<1x3x1xf32>, %v: memref<1x3x1xf32>, %r: memref<1x3x1xf32>) {
  norm.kernel moments %x weight %w outs(%y, %m, %v, %r) {axes = array<i64: 0, 2>, param_axes = array<i64: 1>, epsilon = 1.0e-5 : f64,
      schedule = #norm.schedule<strategy = segment, vectorWidth = 8, unroll = 4, chunks = 1, rowTasks = 1, nontemporal = false, parallel = true>}
      : (memref<4x3x40xf32>, memref<3xf32>, memref<4x3x40xf32>, memref<1x3x1xf32>, memref<1x3x1xf32>, memref<1x3x1xf32>) -> ()
  return
}

// -----

// Column strategy on channels-last data: per-chunk (3 chunks) two-pass
// mean and M2 in f64 lanes, a combine per channel, lane vectors extended by
// one vector, and a flat apply whose lane index wraps without a division.
// CHECK-LABEL: func.func @column(
// CHECK-COUNT-3: memref.alloc() : memref<24xf32>
// CHECK-COUNT-2: memref.alloc() : memref<48xf64>
// One sample (P0 = 1): the combine is a plain loop.
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c3
// CHECK: arith.minui
// CHECK: arith.extf {{.*}} : vector<8xf32> to vector<8xf64>
// CHECK: arith.truncf {{.*}} : vector<8xf64> to vector<8xf32>
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c18
// CHECK: arith.cmpi uge
// CHECK: arith.select
func.func @column(%x: memref<2x9x16xf32>, %y: memref<2x9x16xf32>, %m: memref<1x1x16xf32>, %v: memref<1x1x16xf32>, %r: memref<1x1x16xf32>) {
  norm.kernel moments %x outs(%y, %m, %v, %r) {axes = array<i64: 0, 1>, epsilon = 1.0e-5 : f64,
      schedule = #norm.schedule<strategy = column, vectorWidth = 8, unroll = 2, chunks = 3, rowTasks = 1, nontemporal = false, parallel = true>}
      : (memref<2x9x16xf32>, memref<2x9x16xf32>, memref<1x1x16xf32>, memref<1x1x16xf32>, memref<1x1x16xf32>) -> ()
  return
}

// -----

// Streaming stores: a masked head up to the first 32-byte-aligned element
// of the row, aligned non-temporal stores, a masked tail where one is left.
// CHECK-LABEL: func.func @streaming(
// CHECK: memref.extract_aligned_pointer_as_index
// CHECK: vector.create_mask
// CHECK: vector.maskedstore
// CHECK: vector.store {{.*}} {alignment = 32 : i64, nontemporal = true}
// CHECK: %[[LEFT:.*]] = arith.cmpi ult, %[[TAIL:.*]], %c2000
// CHECK-NEXT: scf.if %[[LEFT]] {
// CHECK: vector.maskedstore
func.func @streaming(%x: memref<2x2000xf32>, %m: memref<2x1xf32>, %r: memref<2x1xf32>, %y: memref<2x2000xf32>) {
  norm.kernel apply %x mean %m rstd %r outs(%y) {axes = array<i64: 1>,
      schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = true, parallel = false>}
      : (memref<2x2000xf32>, memref<2x1xf32>, memref<2x1xf32>, memref<2x2000xf32>) -> ()
  return
}

// -----

// Prologue and epilogue run on whole vectors: every load of x is two loads
// and a vector add; every store goes through the vector max and cast.
// CHECK-LABEL: func.func @regions(
// CHECK: %[[A:.*]] = memref.collapse_shape %{{.*}} : memref<2x32xf32> into memref<64xf32>
// CHECK: %[[B:.*]] = memref.collapse_shape %{{.*}} : memref<2x32xf16> into memref<64xf16>
// CHECK: vector.load %[[A]]{{.*}} : memref<64xf32>, vector<8xf32>
// CHECK: vector.load %[[B]]{{.*}} : memref<64xf16>, vector<8xf16>
// CHECK: arith.extf {{.*}} : vector<8xf16> to vector<8xf32>
// CHECK: arith.addf {{.*}} : vector<8xf32>
// CHECK: arith.constant dense<0.000000e+00> : vector<8xf32>
// CHECK: arith.maximumf {{.*}} : vector<8xf32>
// CHECK: arith.truncf {{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK: vector.store {{.*}} : memref<64xbf16>, vector<8xbf16>
// CHECK-NOT: norm.yield
func.func @regions(%a: memref<2x32xf32>, %b: memref<2x32xf16>, %y: memref<2x32xbf16>, %ms: memref<2x1xf32>, %r: memref<2x1xf32>) {
  norm.kernel mean_square %a, %b outs(%y, %ms, %r) prologue {
  ^bb0(%p: f32, %q: f16):
    %w = arith.extf %q : f16 to f32
    %s = arith.addf %p, %w : f32
    norm.yield %s : f32
  } epilogue {
  ^bb0(%t: f32):
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %t, %z : f32
    %c = arith.truncf %m : f32 to bf16
    norm.yield %c : bf16
  } {axes = array<i64: 1>, epsilon = 1.0e-6 : f64,
      schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>}
      : (memref<2x32xf32>, memref<2x32xf16>, memref<2x32xbf16>, memref<2x1xf32>, memref<2x1xf32>) -> ()
  return
}

// -----

// zero_degenerate (BatchNorm training, eps = 0): rstd is 0 for a zero
// variance, so a constant channel gives its bias, as PyTorch's InvStd.
// CHECK-LABEL: func.func @zero_degenerate(
// CHECK: math.sqrt
// CHECK-NEXT: arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[RSTD:.*]] = arith.divf
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[DEGENERATE:.*]] = arith.cmpf oeq, %{{.*}}, %[[ZERO]] : f32
// CHECK-NEXT: arith.select %[[DEGENERATE]], %[[ZERO]], %[[RSTD]] : f32
func.func @zero_degenerate(%x: memref<4x3x5xf32>, %y: memref<4x3x5xf32>, %m: memref<1x3x1xf32>, %v: memref<1x3x1xf32>, %r: memref<1x3x1xf32>) {
  norm.kernel moments %x outs(%y, %m, %v, %r) {axes = array<i64: 0, 2>, epsilon = 0.0 : f64, zero_degenerate,
      schedule = #norm.schedule<strategy = segment, vectorWidth = 4, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>}
      : (memref<4x3x5xf32>, memref<4x3x5xf32>, memref<1x3x1xf32>, memref<1x3x1xf32>, memref<1x3x1xf32>) -> ()
  return
}

// -----

// bf16 rows on a CPU without bf16 conversions (no norm.target: the pass
// assumes none) apply in pairs: the f32 weight and bias are deinterleaved
// once (each block of 16: its even elements, then its odd ones); each
// vector<16xbf16> is read as vector<8xi32>, the even elements widened by a
// shift and the odd ones by a mask, both rounded on their i32 bits (NaN ->
// 0x7fc00000) and packed back by a shift, a mask and an or. The 8 elements
// left after the 2 pairs of a 40-element row take the plain vector path.
// CHECK-LABEL: func.func @ln_bf16_pairs(
// CHECK: %[[WF:.*]] = memref.alloc() {alignment = 64 : i64} : memref<40xf32>
// CHECK: %[[BF:.*]] = memref.alloc() {alignment = 64 : i64} : memref<40xf32>
// CHECK: %[[WP:.*]] = memref.alloc() {alignment = 64 : i64} : memref<40xf32>
// CHECK: vector.load %[[WF]]
// CHECK: vector.load %[[WF]]
// CHECK: vector.shuffle {{.*}} [0, 2, 4, 6, 8, 10, 12, 14] : vector<8xf32>, vector<8xf32>
// CHECK: vector.store {{.*}}, %[[WP]]
// CHECK: vector.shuffle {{.*}} [1, 3, 5, 7, 9, 11, 13, 15] : vector<8xf32>, vector<8xf32>
// CHECK: vector.store {{.*}}, %[[WP]]
// CHECK: %[[BP:.*]] = memref.alloc() {alignment = 64 : i64} : memref<40xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[TWO:.*]] step
// CHECK: %[[RAW:.*]] = vector.load %{{.*}} : memref<80xbf16>, vector<16xbf16>
// CHECK: %[[BITS:.*]] = vector.bitcast %[[RAW]] : vector<16xbf16> to vector<8xi32>
// CHECK: %[[EVEN:.*]] = arith.shli %[[BITS]]
// CHECK: arith.bitcast %[[EVEN]] : vector<8xi32> to vector<8xf32>
// CHECK: %[[ODD:.*]] = arith.andi %[[BITS]]
// CHECK: arith.bitcast %[[ODD]] : vector<8xi32> to vector<8xf32>
// CHECK: vector.load %[[WP]]
// CHECK: vector.load %[[BP]]
// CHECK: math.fma
// CHECK: arith.cmpf uno
// CHECK: %[[RE:.*]] = arith.select {{.*}} : vector<8xi1>, vector<8xi32>
// CHECK: vector.load %[[WP]]
// CHECK: vector.load %[[BP]]
// CHECK: math.fma
// CHECK: arith.cmpf uno
// CHECK: %[[RO:.*]] = arith.select {{.*}} : vector<8xi1>, vector<8xi32>
// CHECK: %[[LO:.*]] = arith.shrui %[[RE]]
// CHECK: %[[HI:.*]] = arith.andi %[[RO]]
// CHECK: %[[PACKED:.*]] = arith.ori %[[LO]], %[[HI]] : vector<8xi32>
// CHECK: %[[OUT:.*]] = vector.bitcast %[[PACKED]] : vector<8xi32> to vector<16xbf16>
// CHECK: vector.store %[[OUT]], %{{.*}} : memref<80xbf16>, vector<16xbf16>
// CHECK: }
// CHECK: vector.load %{{.*}} : memref<80xbf16>, vector<8xbf16>
// CHECK: vector.load %[[WF]]
// CHECK: vector.load %[[BF]]
// CHECK: arith.truncf {{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK: vector.store {{.*}} : memref<80xbf16>, vector<8xbf16>
func.func @ln_bf16_pairs(%x: memref<2x40xbf16>, %w: memref<40xbf16>, %b: memref<40xbf16>, %y: memref<2x40xbf16>, %m: memref<2x1xf32>, %v: memref<2x1xf32>, %r: memref<2x1xf32>) {
  norm.kernel moments %x weight %w bias %b outs(%y, %m, %v, %r) {axes = array<i64: 1>, param_axes = array<i64: 1>, epsilon = 1.0e-5 : f64,
      schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>}
      : (memref<2x40xbf16>, memref<40xbf16>, memref<40xbf16>, memref<2x40xbf16>, memref<2x1xf32>, memref<2x1xf32>, memref<2x1xf32>) -> ()
  return
}

// -----

// A target with bf16 conversions (AVX-512 BF16) keeps the plain vectors:
// LLVM converts them in hardware (vcvtneps2bf16).
// CHECK-LABEL: func.func @ln_bf16_native(
// CHECK-NOT: vector<16xbf16>
// CHECK: arith.truncf {{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK-NOT: vector<16xbf16>
// CHECK: return
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "sapphirerapids", features = "", vectorWidth = 16, nativeBF16 = true, l1Cache = 49152, l2Cache = 2097152, llcCache = 33554432, cores = 4>} {
func.func @ln_bf16_native(%x: memref<2x40xbf16>, %y: memref<2x40xbf16>, %m: memref<2x1xf32>, %v: memref<2x1xf32>, %r: memref<2x1xf32>) {
  norm.kernel moments %x outs(%y, %m, %v, %r) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64,
      schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>}
      : (memref<2x40xbf16>, memref<2x40xbf16>, memref<2x1xf32>, memref<2x1xf32>, memref<2x1xf32>) -> ()
  return
}
}

// -----

// Streaming pairs: a row of 1040 bf16 takes the pairs where y is aligned to
// a vector (16 bytes) at the row's start (the vector loop's masked head,
// streamHead, is empty), each pair stored as two
// non-temporal vectors; elsewhere the vector loop with its masked head. With
// an even unroll the sum of squares reads pairs too, the even and odd
// halves into the two accumulators of a group.
// CHECK-LABEL: func.func @rms_bf16_pairs_streaming(
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>)
// CHECK: %[[RAW:.*]] = vector.load %{{.*}} : memref<2080xbf16>, vector<16xbf16>
// CHECK: %[[BITS:.*]] = vector.bitcast %[[RAW]] : vector<16xbf16> to vector<8xi32>
// CHECK: arith.shli %[[BITS]]
// CHECK: arith.andi %[[BITS]]
// CHECK: math.fma {{.*}} : vector<8xf32>
// CHECK: math.fma {{.*}} : vector<8xf32>
// CHECK: scf.yield {{.*}} : vector<8xf32>, vector<8xf32>
// CHECK: memref.extract_aligned_pointer_as_index
// CHECK: %[[HEAD:.*]] = arith.minui
// CHECK: %[[ALIGNED:.*]] = arith.cmpi eq, %[[HEAD]], %{{.*}} : index
// CHECK: scf.if %[[ALIGNED]] {
// CHECK: vector.bitcast {{.*}} : vector<8xi32> to vector<16xbf16>
// CHECK: vector.extract_strided_slice {{.*}} {offsets = [0], sizes = [8], strides = [1]} : vector<16xbf16> to vector<8xbf16>
// CHECK: vector.store {{.*}} {alignment = 16 : i64, nontemporal = true} : memref<2080xbf16>, vector<8xbf16>
// CHECK: vector.extract_strided_slice {{.*}} {offsets = [8], sizes = [8], strides = [1]} : vector<16xbf16> to vector<8xbf16>
// CHECK: vector.store {{.*}} {alignment = 16 : i64, nontemporal = true} : memref<2080xbf16>, vector<8xbf16>
// CHECK: } else {
// CHECK: vector.maskedstore
// CHECK: vector.store {{.*}} {alignment = 16 : i64, nontemporal = true} : memref<2080xbf16>, vector<8xbf16>
// CHECK: }
func.func @rms_bf16_pairs_streaming(%x: memref<2x1040xbf16>, %y: memref<2x1040xbf16>, %ms: memref<2x1xf32>, %r: memref<2x1xf32>) {
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64,
      schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 2, chunks = 1, rowTasks = 1, nontemporal = true, parallel = false>}
      : (memref<2x1040xbf16>, memref<2x1040xbf16>, memref<2x1xf32>, memref<2x1xf32>) -> ()
  return
}

// -----

// mean_square on f32: the squares accumulate in f64 lanes.
// CHECK-LABEL: func.func @rms_f32_wide(
// CHECK: arith.extf {{.*}} : vector<8xf32> to vector<8xf64>
// CHECK: math.fma {{.*}} : vector<8xf64>
// CHECK: vector.reduction <add>, {{.*}} : vector<8xf64> into f64
// CHECK: arith.truncf {{.*}} : f64 to f32
func.func @rms_f32_wide(%x: memref<3x20xf32>, %y: memref<3x20xf32>, %ms: memref<3x1xf32>, %r: memref<3x1xf32>) {
  norm.kernel mean_square %x outs(%y, %ms, %r) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64,
      schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>}
      : (memref<3x20xf32>, memref<3x20xf32>, memref<3x1xf32>, memref<3x1xf32>) -> ()
  return
}
