// RUN: normlir-opt %s --norm-fuse -split-input-file | FileCheck %s
// RUN: normlir-opt %s --norm-fuse=returned-prologue -split-input-file | FileCheck %s --check-prefix=RET

// moments + rstd + apply of one input: one kernel with 4 outs; its
// statistics replace those of the fused ops for their other users.
// CHECK-LABEL: func.func @moments(
// CHECK-SAME: %[[X:.*]]: tensor<4x16xf32>, %[[W:.*]]: tensor<16xf32>, %[[B:.*]]: tensor<16xf32>)
// CHECK-DAG: %[[Y0:.*]] = tensor.empty() : tensor<4x16xf32>
// CHECK-DAG: %[[S0:.*]] = tensor.empty() : tensor<4x1xf32>
// CHECK: %[[K:.*]]:4 = norm.kernel moments %[[X]] weight %[[W]] bias %[[B]] outs(%[[Y0]], %{{.*}}, %{{.*}}, %{{.*}}) {axes = array<i64: 1>, epsilon = 1.000000e-05 : f64, param_axes = array<i64: 1>}
// CHECK-NOT: norm.moments
// CHECK-NOT: norm.rstd
// CHECK-NOT: norm.apply
// CHECK: return %[[K]]#0, %[[K]]#1, %[[K]]#2, %[[K]]#3
func.func @moments(%x: tensor<4x16xf32>, %w: tensor<16xf32>, %b: tensor<16xf32>)
    -> (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>) {
  %m, %v = norm.moments %x axes = [1] : tensor<4x16xf32> -> tensor<4x1xf32>, tensor<4x1xf32>
  %r = norm.rstd %v epsilon = 1.0e-5 : tensor<4x1xf32> -> tensor<4x1xf32>
  %y = norm.apply %x mean %m rstd %r weight %w bias %b {param_axes = array<i64: 1>}
      : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  return %y, %m, %v, %r : tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>
}

// -----

// The rstd's zero_degenerate (batch statistics) moves onto the kernel.
// CHECK-LABEL: func.func @zero_degenerate(
// CHECK: norm.kernel {{.*}} {axes = array<i64: 0>, epsilon = 0.000000e+00 : f64, zero_degenerate}
func.func @zero_degenerate(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %m, %v = norm.moments %x axes = [0] : tensor<4x16xf32> -> tensor<1x16xf32>, tensor<1x16xf32>
  %r = norm.rstd %v epsilon = 0.0 {zero_degenerate} : tensor<1x16xf32> -> tensor<1x16xf32>
  %y = norm.apply %x mean %m rstd %r : (tensor<4x16xf32>, tensor<1x16xf32>, tensor<1x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// mean_square + rstd + apply without mean: 3 outs.
// CHECK-LABEL: func.func @mean_square(
// CHECK: %[[K:.*]]:3 = norm.kernel mean_square %{{.*}} outs(%{{.*}}, %{{.*}}, %{{.*}}) {axes = array<i64: 1, 2>, epsilon = 9.9999999999999995E-7 : f64}
// CHECK-SAME: (tensor<2x3x8xbf16>, tensor<2x3x8xbf16>, tensor<2x1x1xf32>, tensor<2x1x1xf32>) -> (tensor<2x3x8xbf16>, tensor<2x1x1xf32>, tensor<2x1x1xf32>)
// CHECK: return %[[K]]#0, %[[K]]#2
func.func @mean_square(%x: tensor<2x3x8xbf16>) -> (tensor<2x3x8xbf16>, tensor<2x1x1xf32>) {
  %ms = norm.mean_square %x axes = [1, 2] : tensor<2x3x8xbf16> -> tensor<2x1x1xf32>
  %r = norm.rstd %ms epsilon = 1.0e-6 : tensor<2x1x1xf32> -> tensor<2x1x1xf32>
  %y = norm.apply %x rstd %r : (tensor<2x3x8xbf16>, tensor<2x1x1xf32>) -> tensor<2x3x8xbf16>
  return %y, %r : tensor<2x3x8xbf16>, tensor<2x1x1xf32>
}

// -----

// Statistics from elsewhere (BatchNorm in eval mode): an apply-only kernel
// whose axes are the broadcast dimensions of rstd.
// CHECK-LABEL: func.func @apply_only(
// CHECK-SAME: %[[X:.*]]: tensor<4x3x5xf32>, %[[M:.*]]: tensor<1x3x1xf32>, %[[R:.*]]: tensor<1x3x1xf32>)
// CHECK: %[[K:.*]] = norm.kernel apply %[[X]] mean %[[M]] rstd %[[R]] outs(%{{.*}}) {axes = array<i64: 0, 2>}
// CHECK: return %[[K]]
func.func @apply_only(%x: tensor<4x3x5xf32>, %m: tensor<1x3x1xf32>, %r: tensor<1x3x1xf32>) -> tensor<4x3x5xf32> {
  %y = norm.apply %x mean %m rstd %r : (tensor<4x3x5xf32>, tensor<1x3x1xf32>, tensor<1x3x1xf32>) -> tensor<4x3x5xf32>
  return %y : tensor<4x3x5xf32>
}

// -----

// Reduced dimensions in three runs ([R, P, R, P, R]) have no vector
// lowering: left for convert-norm-to-linalg.
// CHECK-LABEL: func.func @unsupported_layout(
// CHECK-NOT: norm.kernel
// CHECK: norm.moments
// CHECK: norm.apply
func.func @unsupported_layout(%x: tensor<2x3x4x5x6xf32>) -> tensor<2x3x4x5x6xf32> {
  %m, %v = norm.moments %x axes = [0, 2, 4] : tensor<2x3x4x5x6xf32> -> tensor<1x3x1x5x1xf32>, tensor<1x3x1x5x1xf32>
  %r = norm.rstd %v epsilon = 1.0e-5 : tensor<1x3x1x5x1xf32> -> tensor<1x3x1x5x1xf32>
  %y = norm.apply %x mean %m rstd %r : (tensor<2x3x4x5x6xf32>, tensor<1x3x1x5x1xf32>, tensor<1x3x1x5x1xf32>) -> tensor<2x3x4x5x6xf32>
  return %y : tensor<2x3x4x5x6xf32>
}

// -----

// The mean is used before the apply: the kernel cannot take the apply's
// place, so nothing is fused.
// CHECK-LABEL: func.func @stats_used_before(
// CHECK-NOT: norm.kernel
// CHECK: norm.apply
func.func @stats_used_before(%x: tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4x1xf32>) {
  %m, %v = norm.moments %x axes = [1] : tensor<4x16xf32> -> tensor<4x1xf32>, tensor<4x1xf32>
  %e = tensor.empty() : tensor<4x1xf32>
  %c = linalg.copy ins(%m : tensor<4x1xf32>) outs(%e : tensor<4x1xf32>) -> tensor<4x1xf32>
  %r = norm.rstd %v epsilon = 1.0e-5 : tensor<4x1xf32> -> tensor<4x1xf32>
  %y = norm.apply %x mean %m rstd %r : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %y, %c : tensor<4x16xf32>, tensor<4x1xf32>
}

// -----

// An apply that centres with another mean than its moments' is an
// apply-only kernel (the moments stay).
// CHECK-LABEL: func.func @other_mean(
// CHECK: norm.moments
// CHECK: norm.kernel apply %{{.*}} mean %{{.*}} rstd
func.func @other_mean(%x: tensor<4x16xf32>, %m2: tensor<4x1xf32>) -> tensor<4x16xf32> {
  %m, %v = norm.moments %x axes = [1] : tensor<4x16xf32> -> tensor<4x1xf32>, tensor<4x1xf32>
  %r = norm.rstd %v epsilon = 1.0e-5 : tensor<4x1xf32> -> tensor<4x1xf32>
  %y = norm.apply %x mean %m2 rstd %r : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// A residual add producing the input and an activation + cast consuming the
// output become the kernel's prologue and epilogue; the kernel then reads
// %a and %r and writes the bf16 result directly.
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @elementwise_neighbours(
// CHECK-SAME: %[[A:.*]]: tensor<4x64xf32>, %[[R:.*]]: tensor<4x64xf32>
// CHECK-NOT: linalg.generic
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x64xbf16>
// CHECK: %[[K:.*]]:4 = norm.kernel moments %[[A]], %[[R]] outs(%[[E]], %{{.*}}, %{{.*}}, %{{.*}}) prologue {
// CHECK: ^bb0(%[[P:.*]]: f32, %[[Q:.*]]: f32):
// CHECK:   %[[S:.*]] = arith.addf %[[P]], %[[Q]] : f32
// CHECK:   norm.yield %[[S]] : f32
// CHECK: } epilogue {
// CHECK: ^bb0(%[[T:.*]]: f32):
// CHECK:   arith.constant 0.000000e+00 : f32
// CHECK:   arith.maximumf
// CHECK:   %[[C:.*]] = arith.truncf {{.*}} : f32 to bf16
// CHECK:   norm.yield %[[C]] : bf16
// CHECK: }
// CHECK-SAME: -> (tensor<4x64xbf16>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[K]]#0
func.func @elementwise_neighbours(%a: tensor<4x64xf32>, %r: tensor<4x64xf32>) -> tensor<4x64xbf16> {
  %e = tensor.empty() : tensor<4x64xf32>
  %h = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%a, %r : tensor<4x64xf32>, tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %s = arith.addf %p, %q : f32
    linalg.yield %s : f32
  } -> tensor<4x64xf32>
  %m, %v = norm.moments %h axes = [1] : tensor<4x64xf32> -> tensor<4x1xf32>, tensor<4x1xf32>
  %rs = norm.rstd %v epsilon = 1.0e-5 : tensor<4x1xf32> -> tensor<4x1xf32>
  %y = norm.apply %h mean %m rstd %rs : (tensor<4x64xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x64xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<4x64xbf16>
  %o = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<4x64xf32>) outs(%e2 : tensor<4x64xbf16>) {
  ^bb0(%t: f32, %u: bf16):
    %relu = arith.maximumf %t, %zero : f32
    %c = arith.truncf %relu : f32 to bf16
    linalg.yield %c : bf16
  } -> tensor<4x64xbf16>
  return %o : tensor<4x64xbf16>
}

// -----

// The sum is also returned (a residual stream): it must be materialized,
// so the producer stays; a consumer that reduces is not elementwise.
// With returned-prologue the kernel takes the add and writes the sum as a
// fifth out, which the return reads.
// RET-LABEL: func.func @not_fusable(
// RET-SAME: %[[A:[^:]+]]: tensor<4x64xf32>, %[[R:[^:]+]]: tensor<4x64xf32>)
// RET-NOT: linalg.generic {{.*}}ins(%[[A]], %[[R]]
// RET: %[[K:.*]]:5 = norm.kernel moments %[[A]], %[[R]] outs({{.*}}) prologue {
// RET: linalg.generic
// RET: return %[[K]]#4, %{{.*}} :
#map = affine_map<(d0, d1) -> (d0, d1)>
#red = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @not_fusable(
// CHECK: linalg.generic
// CHECK: norm.kernel
// CHECK-NOT: prologue
// CHECK-NOT: epilogue
// CHECK: linalg.generic
func.func @not_fusable(%a: tensor<4x64xf32>, %r: tensor<4x64xf32>) -> (tensor<4x64xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4x64xf32>
  %h = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%a, %r : tensor<4x64xf32>, tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %s = arith.addf %p, %q : f32
    linalg.yield %s : f32
  } -> tensor<4x64xf32>
  %m, %v = norm.moments %h axes = [1] : tensor<4x64xf32> -> tensor<4x1xf32>, tensor<4x1xf32>
  %rs = norm.rstd %v epsilon = 1.0e-5 : tensor<4x1xf32> -> tensor<4x1xf32>
  %y = norm.apply %h mean %m rstd %rs : (tensor<4x64xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x64xf32>
  %z = arith.constant dense<0.0> : tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#map, #red], iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<4x64xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%t: f32, %acc: f32):
    %n = arith.addf %t, %acc : f32
    linalg.yield %n : f32
  } -> tensor<4xf32>
  return %h, %sum : tensor<4x64xf32>, tensor<4xf32>
}

// -----

// With returned-prologue, still not fused: the sum has a user before the
// kernel (which would read a value the kernel only writes later).
#map = affine_map<(d0, d1) -> (d0, d1)>
// RET-LABEL: func.func @sum_used_before(
// RET: linalg.generic
// RET: linalg.generic
// RET: norm.kernel
// RET-NOT: prologue
func.func @sum_used_before(%a: tensor<4x64xf32>, %r: tensor<4x64xf32>) -> (tensor<4x64xf32>, tensor<4x64xf32>) {
  %e = tensor.empty() : tensor<4x64xf32>
  %h = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%a, %r : tensor<4x64xf32>, tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %s = arith.addf %p, %q : f32
    linalg.yield %s : f32
  } -> tensor<4x64xf32>
  %d = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%h : tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%p: f32, %o: f32):
    %t = arith.mulf %p, %p : f32
    linalg.yield %t : f32
  } -> tensor<4x64xf32>
  %m, %v = norm.moments %h axes = [1] : tensor<4x64xf32> -> tensor<4x1xf32>, tensor<4x1xf32>
  %rs = norm.rstd %v epsilon = 1.0e-5 : tensor<4x1xf32> -> tensor<4x1xf32>
  %y = norm.apply %h mean %m rstd %rs : (tensor<4x64xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x64xf32>
  return %y, %d : tensor<4x64xf32>, tensor<4x64xf32>
}
