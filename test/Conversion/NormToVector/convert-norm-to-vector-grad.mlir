// RUN: normlir-opt %s --convert-norm-to-vector -split-input-file -verify-diagnostics | FileCheck %s

// norm.grad_kernel, LayerNorm 512x20 f32 on an 8-lane target: 16 row
// ranges of 32 rows on threads (a fixed count: the parameter partials are
// per range), each
// row's forward statistics and backward sums in f64 lanes, 2 vectors and a
// masked tail of 4 per row, then the partials summed in range order.
// CHECK-LABEL: func.func @layer_norm(
// CHECK-SAME: %[[X:[^:]+]]: memref<512x20xf32>, %[[DY:[^:]+]]: memref<512x20xf32>, %[[W:[^:]+]]: memref<20xf32>, %[[DX:[^:]+]]: memref<512x20xf32>, %[[DW:[^:]+]]: memref<20xf32>, %[[DB:[^:]+]]: memref<20xf32>)
// CHECK-DAG: %[[PDW:.*]] = memref.alloc() {alignment = 64 : i64} : memref<320xf32>
// CHECK-DAG: %[[PDB:.*]] = memref.alloc() {alignment = 64 : i64} : memref<320xf32>
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%{{.*}}) step
// CHECK: arith.extf %{{.*}} : vector<8xf32> to vector<8xf64>
// CHECK: vector.create_mask %{{.*}} : vector<8xi1>
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

// No target attribute: an error, not a guessed vector width.
func.func @no_target(%x: memref<4x16xf32>, %dx: memref<4x16xf32>) {
  // expected-error @+1 {{expects the module's #norm.cpu_target}}
  norm.grad_kernel %x, %x outs(%dx) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64}
      : (memref<4x16xf32>, memref<4x16xf32>, memref<4x16xf32>) -> ()
  return
}
