// RUN: normlir-opt %s -split-input-file -norm-parallelize-elementwise -canonicalize | FileCheck %s
// RUN: normlir-opt %s -split-input-file -norm-parallelize-elementwise=min-elements=16 | FileCheck %s --check-prefix=SMALL

// A large elementwise op on buffers (a residual add whose sum is returned):
// an scf.parallel nest, which convert-scf-to-openmp puts on the threads.
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @add(
// CHECK: scf.parallel (%[[I:.*]], %[[J:.*]]) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}}) step
// CHECK: %[[A:.*]] = memref.load %{{.*}}[%[[I]], %[[J]]] : memref<512x256xf32>
// CHECK: %[[B:.*]] = memref.load %{{.*}}[%[[I]], %[[J]]] : memref<512x256xf32>
// CHECK: %[[S:.*]] = arith.addf %[[A]], %[[B]] : f32
// CHECK: memref.store %[[S]], %{{.*}}[%[[I]], %[[J]]] : memref<512x256xf32>
// CHECK-NOT: linalg.generic
func.func @add(%a: memref<512x256xf32>, %b: memref<512x256xf32>, %o: memref<512x256xf32>) {
  linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : memref<512x256xf32>, memref<512x256xf32>) outs(%o : memref<512x256xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A reduction stays sequential (one order of the sum at any thread count);
// a small elementwise op stays for convert-linalg-to-loops unless
// min-elements is lowered.
#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @kept(
// CHECK-NOT: scf.parallel
// CHECK: linalg.generic
// CHECK: linalg.generic
// SMALL-LABEL: func.func @kept(
// SMALL: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// SMALL: scf.parallel
// SMALL-NOT: linalg.generic
func.func @kept(%a: memref<512x256xf32>, %r: memref<512xf32>, %s: memref<4x8xf32>) {
  linalg.generic {indexing_maps = [#map, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<512x256xf32>) outs(%r : memref<512xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %t = arith.addf %x, %acc : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel"]}
      outs(%s : memref<4x8xf32>) {
  ^bb0(%z: f32):
    %t = arith.mulf %z, %z : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// On tensors (before bufferization): left alone.
#map = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @tensors(
// CHECK: linalg.generic
// SMALL-LABEL: func.func @tensors(
// SMALL: linalg.generic
func.func @tensors(%a: tensor<131072xf32>) -> tensor<131072xf32> {
  %e = tensor.empty() : tensor<131072xf32>
  %r = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]}
      ins(%a : tensor<131072xf32>) outs(%e : tensor<131072xf32>) {
  ^bb0(%x: f32, %z: f32):
    %t = arith.negf %x : f32
    linalg.yield %t : f32
  } -> tensor<131072xf32>
  return %r : tensor<131072xf32>
}

// -----

// "parallel" iterators that write one output element from many iterations
// (an accumulation the verifier accepts) or an in-place transpose: threads
// would race, so both stay sequential.
#map = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
#tr = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-LABEL: func.func @races(
// CHECK-NOT: scf.parallel
// CHECK: linalg.generic
// CHECK: linalg.generic
func.func @races(%a: memref<512x256xf32>, %acc: memref<256xf32>, %sq: memref<512x512xf32>) {
  linalg.generic {indexing_maps = [#map, #col], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<512x256xf32>) outs(%acc : memref<256xf32>) {
  ^bb0(%x: f32, %o: f32):
    %t = arith.addf %x, %o : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#tr, #map], iterator_types = ["parallel", "parallel"]}
      ins(%sq : memref<512x512xf32>) outs(%sq : memref<512x512xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// -----

// RUN: not normlir-opt %s -split-input-file -norm-parallelize-elementwise=min-elements=-1 2>&1 | FileCheck %s --check-prefix=NEG
// NEG: error: norm-parallelize-elementwise: min-elements must not be negative, got -1
func.func @negative() {
  return
}
