// RUN: normlir-opt %s --norm-select-schedule --convert-norm-to-vector -split-input-file -verify-diagnostics | FileCheck %s

// norm.grad_kernel, LayerNorm 512x20 f32 on an 8-lane target: 16 row
// ranges of 32 rows on threads (a fixed count: the parameter partials are
// per range), each row's forward statistics and backward sums in one pass
// about the row's first element (f64 lanes, 2 vectors and a masked tail
// of 4), then the partials summed in range order.
// CHECK-LABEL: func.func @layer_norm(
// CHECK-SAME: %[[X:[^:]+]]: memref<512x20xf32>, %[[DY:[^:]+]]: memref<512x20xf32>, %[[W:[^:]+]]: memref<20xf32>, %[[DX:[^:]+]]: memref<512x20xf32>, %[[DW:[^:]+]]: memref<20xf32>, %[[DB:[^:]+]]: memref<20xf32>)
// CHECK-DAG: %[[PDW:.*]] = memref.alloc() {alignment = 64 : i64} : memref<320xf32>
// CHECK-DAG: %[[PDB:.*]] = memref.alloc() {alignment = 64 : i64} : memref<320xf32>
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%{{.*}}) step
// CHECK: %[[SHIFT:.*]] = memref.load %{{.*}} : memref<10240xf32>
// CHECK: vector.broadcast %[[SHIFT]] : f32 to vector<8xf32>
// CHECK: arith.extf %{{.*}} : vector<8xf32> to vector<8xf64>
// CHECK: vector.constant_mask [4] : vector<8xi1>
// CHECK: vector.maskedload
// CHECK: vector.reduction <add>, %{{.*}} : vector<8xf64> into f64
// CHECK: math.sqrt
// CHECK: vector.store %{{.*}}, %{{.*}} : memref<10240xf32>, vector<8xf32>
// CHECK: vector.maskedstore
// CHECK: scf.reduce
// The partials in range order, into dweight and dbias.
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step
// CHECK: vector.load %[[PDW]]
// CHECK: vector.load %[[PDB]]
// CHECK-NOT: memref.dealloc
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 524288, llcCache = 33554432, cores = 2>} {
  func.func @layer_norm(%x: memref<512x20xf32>, %dy: memref<512x20xf32>, %w: memref<20xf32>,
                        %dx: memref<512x20xf32>, %dw: memref<20xf32>, %db: memref<20xf32>) {
    norm.grad_kernel %x, %dy weight %w outs(%dx, %dw, %db) {axes = array<i64: 1>, centered, epsilon = 1.0e-5 : f64}
        : (memref<512x20xf32>, memref<512x20xf32>, memref<20xf32>, memref<512x20xf32>, memref<20xf32>, memref<20xf32>) -> ()
    return
  }
}

// -----

// RMSNorm without parameters, 4 rows of 16 bf16 (1 KiB): one thread, no
// partials, no mean (one pass of squares), bf16 loads widened and dx
// rounded to bf16.
// CHECK-LABEL: func.func @rms_norm(
// CHECK-NOT: scf.parallel
// CHECK-NOT: memref.alloc
// CHECK: arith.extf %{{.*}} : vector<8xbf16> to vector<8xf32>
// CHECK: arith.truncf %{{.*}} : vector<8xf32> to vector<8xbf16>
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 524288, llcCache = 33554432, cores = 2>} {
  func.func @rms_norm(%x: memref<4x16xbf16>, %dy: memref<4x16xbf16>, %dx: memref<4x16xbf16>) {
    norm.grad_kernel %x, %dy outs(%dx) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64}
        : (memref<4x16xbf16>, memref<4x16xbf16>, memref<4x16xbf16>) -> ()
    return
  }
}

// -----

// With a residual gradient: the dx pass reads it (as bf16, widened) and
// adds it to dx in f32 before the one rounding to bf16.
// CHECK-LABEL: func.func @rms_norm_residual(
// CHECK-SAME: %[[RES:[^:]+]]: memref<4x16xbf16>, %{{[^:]+}}: memref<4x16xbf16>)
// CHECK: %[[FLAT:.*]] = memref.collapse_shape %[[RES]]
// CHECK: %[[RV:.*]] = vector.load %[[FLAT]][%{{.*}}] : memref<64xbf16>, vector<8xbf16>
// CHECK: %[[RW:.*]] = arith.extf %[[RV]] : vector<8xbf16> to vector<8xf32>
// CHECK: %[[SUM:.*]] = arith.addf %{{.*}}, %[[RW]] : vector<8xf32>
// CHECK: arith.truncf %[[SUM]] : vector<8xf32> to vector<8xbf16>
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 524288, llcCache = 33554432, cores = 2>} {
  func.func @rms_norm_residual(%x: memref<4x16xbf16>, %dy: memref<4x16xbf16>, %res: memref<4x16xbf16>, %dx: memref<4x16xbf16>) {
    norm.grad_kernel %x, %dy residual_grad %res outs(%dx) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64}
        : (memref<4x16xbf16>, memref<4x16xbf16>, memref<4x16xbf16>, memref<4x16xbf16>) -> ()
    return
  }
}

// -----

// No target attribute: an error, not a guessed vector width.
func.func @no_target(%x: memref<4x16xf32>, %dx: memref<4x16xf32>) {
  // expected-error @+1 {{expects the module's #norm.cpu_target}}
  norm.grad_kernel %x, %x outs(%dx) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64}
      : (memref<4x16xf32>, memref<4x16xf32>, memref<4x16xf32>) -> ()
  return
}

// -----

// BatchNorm NCHW (N=4, C=3, HW=30) on an 8-lane target: the segment form.
// One pass over each run of 30 (3 vectors and a masked tail of 6), its four
// sums about the run's first element in f64 lanes (f32 blocks only about a
// saved mean), stored per run (12 runs x 5 fields); the
// combine, on one thread in run order (per-channel sums, then mean, M2, the
// weighted gradient sums, rstd); dx run by run; then dweight and dbias
// rounded from f64 sums.
// CHECK-LABEL: func.func @batch_norm_segment(
// CHECK-SAME: %[[X:[^:]+]]: memref<4x3x30xf32>, %[[DY:[^:]+]]: memref<4x3x30xf32>, %[[W:[^:]+]]: memref<3xf32>, %[[DX:[^:]+]]: memref<4x3x30xf32>, %[[DW:[^:]+]]: memref<3xf32>, %[[DB:[^:]+]]: memref<3xf32>)
// CHECK-DAG: %[[PART:.*]] = memref.alloc() {alignment = 64 : i64} : memref<60xf64>
// CHECK-DAG: %[[SHIFT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<12xf32>
// CHECK-DAG: %[[COEF:.*]] = memref.alloc() {alignment = 64 : i64} : memref<15xf32>
// CHECK-DAG: %[[STAT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<12xf64>
// CHECK: scf.for
// CHECK: %[[S:.*]] = memref.load %{{.*}} : memref<360xf32>
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<8xf64>, vector<8xf64>, vector<8xf64>, vector<8xf64>)
// CHECK: math.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<8xf64>
// CHECK: vector.maskedload
// CHECK: memref.store %[[S]], %[[SHIFT]]
// CHECK: vector.reduction <add>, %{{.*}} : vector<8xf64> into f64
// CHECK: math.sqrt
// CHECK: vector.store %{{.*}}, %{{.*}} : memref<360xf32>, vector<8xf32>
// CHECK: vector.maskedstore
// CHECK: %[[SUMS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<6xf64>
// CHECK: arith.truncf %{{.*}} : f64 to f32
// CHECK: memref.store %{{.*}}, %[[DW]]
// CHECK: memref.store %{{.*}}, %[[DB]]
// CHECK-NOT: memref.dealloc
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 524288, llcCache = 33554432, cores = 2>} {
  func.func @batch_norm_segment(%x: memref<4x3x30xf32>, %dy: memref<4x3x30xf32>, %w: memref<3xf32>,
                                %dx: memref<4x3x30xf32>, %dw: memref<3xf32>, %db: memref<3xf32>) {
    norm.grad_kernel %x, %dy weight %w outs(%dx, %dw, %db) {axes = array<i64: 0, 2>, centered, epsilon = 1.0e-5 : f64, param_axes = array<i64: 1>}
        : (memref<4x3x30xf32>, memref<4x3x30xf32>, memref<3xf32>, memref<4x3x30xf32>, memref<3xf32>, memref<3xf32>) -> ()
    return
  }
}

// -----

// BatchNorm channels-last (NHW=1000, C=12) bf16, no parameters: the column
// form. 15 chunks of 67 rows (at least 64: fixed by the shape), on threads
// (72 KB of traffic); each chunk's first row is its lanes' shift; each row
// adds (x - shift) and dy into the chunk's f64 partials per lane (a vector
// of 8 and a masked one of 4); dx row by row from per-lane coefficients,
// rounded to bf16.
// CHECK-LABEL: func.func @batch_norm_column(
// CHECK-DAG: %[[PART:.*]] = memref.alloc() {alignment = 64 : i64} : memref<900xf64>
// CHECK-DAG: %[[SHIFT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<180xf32>
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c15) step
// CHECK: arith.muli %{{.*}}, %c67 : index
// CHECK: vector.store %{{.*}}, %[[SHIFT]][%{{.*}}] : memref<180xf32>, vector<8xf32>
// CHECK: vector.maskedstore %[[SHIFT]]
// CHECK: vector.load %[[PART]][%{{.*}}] : memref<900xf64>, vector<8xf64>
// CHECK: math.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<8xf64>
// CHECK: vector.maskedload %[[PART]]
// CHECK: math.sqrt
// CHECK: %[[LANES:.*]] = memref.alloc() {alignment = 64 : i64} : memref<60xf32>
// CHECK: vector.load %[[LANES]]
// CHECK: arith.truncf %{{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK: vector.store %{{.*}}, %{{.*}} : memref<12000xbf16>, vector<8xbf16>
// CHECK-NOT: memref.dealloc
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 524288, llcCache = 33554432, cores = 2>} {
  func.func @batch_norm_column(%x: memref<1000x12xbf16>, %dy: memref<1000x12xbf16>, %dx: memref<1000x12xbf16>) {
    norm.grad_kernel %x, %dy outs(%dx) {axes = array<i64: 0>, centered, epsilon = 1.0e-5 : f64, param_axes = array<i64>}
        : (memref<1000x12xbf16>, memref<1000x12xbf16>, memref<1000x12xbf16>) -> ()
    return
  }
}

// -----

// Saved statistics: the row's shift is its saved mean, the saved rstd is
// used as it is (no square root), and the sum pass still corrects the
// mean by E[x - mean].
// CHECK-LABEL: func.func @layer_norm_saved(
// CHECK-SAME: %{{[^:]+}}: memref<64x32xf32>, %{{[^:]+}}: memref<64x32xf32>, %[[SM:[^:]+]]: memref<64x1xf32>, %[[SR:[^:]+]]: memref<64x1xf32>
// CHECK-DAG: %[[FM:.*]] = memref.collapse_shape %[[SM]]
// CHECK-DAG: %[[FR:.*]] = memref.collapse_shape %[[SR]]
// CHECK: memref.load %[[FM]]
// CHECK: vector.reduction <add>
// CHECK: memref.load %[[FR]]
// CHECK-NOT: math.sqrt
// CHECK: return
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 524288, llcCache = 33554432, cores = 2>} {
  func.func @layer_norm_saved(%x: memref<64x32xf32>, %dy: memref<64x32xf32>, %m: memref<64x1xf32>, %r: memref<64x1xf32>,
                              %dx: memref<64x32xf32>) {
    norm.grad_kernel %x, %dy mean %m rstd %r outs(%dx) {axes = array<i64: 1>, centered, epsilon = 0.0 : f64}
        : (memref<64x32xf32>, memref<64x32xf32>, memref<64x1xf32>, memref<64x1xf32>, memref<64x32xf32>) -> ()
    return
  }
}

// -----

// InstanceNorm NCHW (N=2, C=3, HW=40): each statistic is one segment that
// fits in half the L2, so sums, combine and dx follow each other per
// segment in one loop (the dx pass reads the segment back from cache);
// dweight and dbias after it, in partial order.
// CHECK-LABEL: func.func @instance_norm_fused(
// CHECK-SAME: %{{[^:]+}}: memref<2x3x40xf32>, %{{[^:]+}}: memref<2x3x40xf32>, %{{[^:]+}}: memref<3xf32>, %{{[^:]+}}: memref<2x3x40xf32>, %[[IDW:[^:]+]]: memref<3xf32>, %[[IDB:[^:]+]]: memref<3xf32>)
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step
// CHECK: vector.reduction <add>, %{{.*}} : vector<8xf64> into f64
// CHECK: math.sqrt
// CHECK: vector.store %{{.*}}, %{{.*}} : memref<240xf32>, vector<8xf32>
// CHECK: memref.store %{{.*}}, %[[IDW]]
// CHECK-NOT: math.sqrt
// CHECK: return
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 524288, llcCache = 33554432, cores = 2>} {
  func.func @instance_norm_fused(%x: memref<2x3x40xf32>, %dy: memref<2x3x40xf32>, %w: memref<3xf32>,
                                 %dx: memref<2x3x40xf32>, %dw: memref<3xf32>, %db: memref<3xf32>) {
    norm.grad_kernel %x, %dy weight %w outs(%dx, %dw, %db) {axes = array<i64: 2>, centered, epsilon = 1.0e-5 : f64, param_axes = array<i64: 1>}
        : (memref<2x3x40xf32>, memref<2x3x40xf32>, memref<3xf32>, memref<2x3x40xf32>, memref<3xf32>, memref<3xf32>) -> ()
    return
  }
}

// -----

// A schedule written on the op: the saved statistics are recomputed (their
// buffers are never read: the shift is the row's first element and the
// rstd a square root), and pass 2 prefetches x, dy and the residual
// gradient (which only pass 2 reads) one row ahead, clamped to the range's
// last row; one thread.
// CHECK-LABEL: func.func @recomputed_prefetch(
// CHECK-SAME: %[[X:[^:]+]]: memref<64x32xf32>, %[[DY:[^:]+]]: memref<64x32xf32>, %[[M:[^:]+]]: memref<64x1xf32>, %[[R:[^:]+]]: memref<64x1xf32>
// CHECK-NOT: scf.parallel
// CHECK-NOT: %[[M]]
// CHECK-NOT: %[[R]]
// CHECK: arith.minui
// CHECK: math.sqrt
// CHECK: memref.prefetch %{{.*}}[%{{.*}}], read, locality<3>, data : memref<2048xf32>
// CHECK: memref.prefetch %{{.*}}[%{{.*}}], read, locality<3>, data : memref<2048xf32>
// CHECK: memref.prefetch %{{.*}}[%{{.*}}], read, locality<3>, data : memref<2048xf32>
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 524288, llcCache = 33554432, cores = 2>} {
  func.func @recomputed_prefetch(%x: memref<64x32xf32>, %dy: memref<64x32xf32>, %m: memref<64x1xf32>, %r: memref<64x1xf32>,
                                 %dr: memref<64x32xf32>, %dx: memref<64x32xf32>) {
    norm.grad_kernel %x, %dy mean %m rstd %r residual_grad %dr outs(%dx) {axes = array<i64: 1>, centered, epsilon = 1.0e-5 : f64, input_statistics, schedule = #norm.grad_schedule<statistics = recomputed, parallel = false, prefetch = 1>}
        : (memref<64x32xf32>, memref<64x32xf32>, memref<64x1xf32>, memref<64x1xf32>, memref<64x32xf32>, memref<64x32xf32>) -> ()
    return
  }
}

// -----

// A schedule that streams dx: rows of 1024 elements (kMinStreamRun) store
// a masked head up to dx's first vector-aligned element, aligned vectors
// as streaming stores, and a masked tail; so do the segment form's runs
// (BatchNorm NCHW, 1024 elements per sample and channel); shorter rows (1000
// elements) store plainly.
// CHECK-LABEL: func.func @streamed(
// CHECK-SAME: %{{[^:]+}}: memref<16x1024xbf16>, %{{[^:]+}}: memref<16x1024xbf16>, %{{[^:]+}}: memref<16x1024xbf16>, %[[SDX:[^:]+]]: memref<16x1024xbf16>)
// CHECK: %[[FDX:.*]] = memref.collapse_shape %[[SDX]]
// CHECK: memref.extract_aligned_pointer_as_index %[[FDX]]
// CHECK: vector.create_mask
// CHECK: vector.maskedstore %[[FDX]]
// CHECK: vector.store {{.*}} {alignment = 16 : i64, nontemporal = true} : memref<16384xbf16>, vector<8xbf16>
// CHECK: vector.maskedstore %[[FDX]]
// CHECK-LABEL: func.func @segment_streamed(
// CHECK: vector.store {{.*}} {alignment = 32 : i64, nontemporal = true} : memref<6144xf32>, vector<8xf32>
// CHECK-LABEL: func.func @short_runs(
// CHECK-NOT: nontemporal = true
// CHECK: return
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 524288, llcCache = 33554432, cores = 2>} {
  func.func @streamed(%x: memref<16x1024xbf16>, %dy: memref<16x1024xbf16>, %dr: memref<16x1024xbf16>, %dx: memref<16x1024xbf16>) {
    norm.grad_kernel %x, %dy residual_grad %dr outs(%dx) {axes = array<i64: 1>, centered, epsilon = 1.0e-5 : f64, schedule = #norm.grad_schedule<statistics = saved, parallel = false, nontemporal = true>}
        : (memref<16x1024xbf16>, memref<16x1024xbf16>, memref<16x1024xbf16>, memref<16x1024xbf16>) -> ()
    return
  }
  func.func @segment_streamed(%x: memref<2x3x1024xf32>, %dy: memref<2x3x1024xf32>, %dx: memref<2x3x1024xf32>) {
    norm.grad_kernel %x, %dy outs(%dx) {axes = array<i64: 0, 2>, centered, epsilon = 1.0e-5 : f64, param_axes = array<i64: 1>, schedule = #norm.grad_schedule<statistics = saved, parallel = false, nontemporal = true>}
        : (memref<2x3x1024xf32>, memref<2x3x1024xf32>, memref<2x3x1024xf32>) -> ()
    return
  }
  func.func @short_runs(%x: memref<2x4x1000xf32>, %dy: memref<2x4x1000xf32>, %dx: memref<2x4x1000xf32>) {
    norm.grad_kernel %x, %dy outs(%dx) {axes = array<i64: 2>, centered, epsilon = 1.0e-5 : f64, schedule = #norm.grad_schedule<statistics = saved, parallel = false, nontemporal = true>}
        : (memref<2x4x1000xf32>, memref<2x4x1000xf32>, memref<2x4x1000xf32>) -> ()
    return
  }
}
