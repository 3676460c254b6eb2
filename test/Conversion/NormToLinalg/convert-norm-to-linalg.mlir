// RUN: normlir-opt %s -convert-norm-to-linalg | FileCheck %s
// RUN: normlir-opt %s -convert-norm-to-linalg | FileCheck %s --check-prefix=NONORM

// Every core op is lowered.
// NONORM-NOT: norm.

// CHECK-DAG: #[[$ID4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$D01OF4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK-DAG: #[[$D23OF4:.*]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-DAG: #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$D1OF3:.*]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-DAG: #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$D0OF2:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[$NONEOF2:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-DAG: #[[$ID0:.*]] = affine_map<() -> ()>
// CHECK-DAG: #[[$ID1:.*]] = affine_map<(d0) -> (d0)>

//===----------------------------------------------------------------------===//
// norm.moments: a compensated sum for the mean, then the sum of squared
// deviations from it.
//===----------------------------------------------------------------------===//

// f16 input, trailing axes: n = 3 * 4 = 12.
// CHECK-LABEL: func.func @moments(
// CHECK-SAME: %[[X:.*]]: tensor<8x6x3x4xf16>)
// CHECK-NOT: tensor.extract_slice
// The sum is Kahan-compensated: a second accumulator carries the rounding
// error, reset to 0 once the sum is infinite (so an inf mean stays inf).
// CHECK: %[[Z0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<8x6xf32>)
// CHECK: %[[C0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<8x6xf32>)
// CHECK: %[[SUM:.*]]:2 = linalg.generic {indexing_maps = [#[[$ID4]], #[[$D01OF4]], #[[$D01OF4]]], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%[[X]] : tensor<8x6x3x4xf16>) outs(%[[Z0]], %[[C0]] : tensor<8x6xf32>, tensor<8x6xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f16, %[[ACC:.*]]: f32, %[[COMP:.*]]: f32):
// CHECK-NEXT:   %[[XF:.*]] = arith.extf %[[IN]] : f16 to f32
// CHECK-NEXT:   %[[Y:.*]] = arith.subf %[[XF]], %[[COMP]] : f32
// CHECK-NEXT:   %[[NEXT:.*]] = arith.addf %[[ACC]], %[[Y]] : f32
// CHECK-NEXT:   %[[T:.*]] = arith.subf %[[NEXT]], %[[ACC]] : f32
// CHECK-NEXT:   %[[LOST:.*]] = arith.subf %[[T]], %[[Y]] : f32
// CHECK-NEXT:   %[[INF:.*]] = arith.constant 0x7F800000 : f32
// CHECK-NEXT:   %[[ABS:.*]] = math.absf %[[NEXT]] : f32
// CHECK-NEXT:   %[[FIN:.*]] = arith.cmpf one, %[[ABS]], %[[INF]] : f32
// CHECK-NEXT:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:   %[[NEWC:.*]] = arith.select %[[FIN]], %[[LOST]], %[[ZERO]] : f32
// CHECK-NEXT:   linalg.yield %[[NEXT]], %[[NEWC]] : f32, f32
// mean = sum / n
// CHECK: %[[MEAN:.*]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[SUM]]#0 : tensor<8x6xf32>) outs(%{{.*}} : tensor<8x6xf32>)
// CHECK-NEXT: ^bb0(%[[S:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:   %[[N:.*]] = arith.constant 1.200000e+01 : f32
// CHECK-NEXT:   %[[Q:.*]] = arith.divf %[[S]], %[[N]] : f32
// CHECK-NEXT:   linalg.yield %[[Q]] : f32
// Second pass over the slice: sum of (x - mean)^2, then / n.
// CHECK: %[[SQ:.*]]:2 = linalg.generic {indexing_maps = [#[[$ID4]], #[[$D01OF4]], #[[$D01OF4]], #[[$D01OF4]]], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%[[X]], %[[MEAN]] : tensor<8x6x3x4xf16>, tensor<8x6xf32>)
// CHECK-NEXT: ^bb0(%[[IN2:.*]]: f16, %[[MU:.*]]: f32, %[[ACC2:.*]]: f32, %[[COMP2:.*]]: f32):
// CHECK-NEXT:   %[[XF2:.*]] = arith.extf %[[IN2]] : f16 to f32
// CHECK-NEXT:   %[[DEV:.*]] = arith.subf %[[XF2]], %[[MU]] : f32
// CHECK-NEXT:   %[[DEV2:.*]] = arith.mulf %[[DEV]], %[[DEV]] : f32
// CHECK-NEXT:   %[[Y2:.*]] = arith.subf %[[DEV2]], %[[COMP2]] : f32
// CHECK-NEXT:   %[[NEXT2:.*]] = arith.addf %[[ACC2]], %[[Y2]] : f32
// CHECK: %[[VAR:.*]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[SQ]]#0 : tensor<8x6xf32>)
// CHECK-NEXT: ^bb0(%[[V:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:   %[[N2:.*]] = arith.constant 1.200000e+01 : f32
// CHECK-NEXT:   %[[VQ:.*]] = arith.divf %[[V]], %[[N2]] : f32
// CHECK-NEXT:   linalg.yield %[[VQ]] : f32
// Keep-dims results.
// CHECK: %[[MEANK:.*]] = tensor.expand_shape %[[MEAN]] {{\[\[}}0], [1, 2, 3]] output_shape [8, 6, 1, 1] : tensor<8x6xf32> into tensor<8x6x1x1xf32>
// CHECK-NEXT: %[[VARK:.*]] = tensor.expand_shape %[[VAR]] {{\[\[}}0], [1, 2, 3]] output_shape [8, 6, 1, 1] : tensor<8x6xf32> into tensor<8x6x1x1xf32>
// CHECK-NEXT: return %[[MEANK]], %[[VARK]]
func.func @moments(%x: tensor<8x6x3x4xf16>) -> (tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>) {
  %m, %v = norm.moments %x axes = [2, 3] : tensor<8x6x3x4xf16> -> tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>
  return %m, %v : tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>
}

// Non-contiguous axes (BatchNorm): reduction iterators on d0 and d2;
// n = 2 * 3 = 6. f32 input: no extf.
// CHECK-LABEL: func.func @moments_batch_axes(
// CHECK-SAME: %[[X:.*]]: tensor<2x4x3xf32>)
// CHECK: %[[SUM:.*]]:2 = linalg.generic {indexing_maps = [#[[$ID3]], #[[$D1OF3]], #[[$D1OF3]]], iterator_types = ["reduction", "parallel", "reduction"]} ins(%[[X]] : tensor<2x4x3xf32>)
// CHECK-NOT: arith.extf
// CHECK: arith.constant 6.000000e+00 : f32
// CHECK: %[[SQ:.*]]:2 = linalg.generic {indexing_maps = [#[[$ID3]], #[[$D1OF3]], #[[$D1OF3]], #[[$D1OF3]]], iterator_types = ["reduction", "parallel", "reduction"]}
// CHECK: arith.constant 6.000000e+00 : f32
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1, 2]] output_shape [1, 4, 1] : tensor<4xf32> into tensor<1x4x1xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1, 2]] output_shape [1, 4, 1] : tensor<4xf32> into tensor<1x4x1xf32>
func.func @moments_batch_axes(%x: tensor<2x4x3xf32>) -> (tensor<1x4x1xf32>, tensor<1x4x1xf32>) {
  %m, %v = norm.moments %x axes = [0, 2] : tensor<2x4x3xf32> -> tensor<1x4x1xf32>, tensor<1x4x1xf32>
  return %m, %v : tensor<1x4x1xf32>, tensor<1x4x1xf32>
}

// Reducing every axis: the statistics are rank-0 until the final expand.
// CHECK-LABEL: func.func @moments_all_axes(
// CHECK-SAME: %[[X:.*]]: tensor<3x4xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[$ID2]], #[[$NONEOF2]], #[[$NONEOF2]]], iterator_types = ["reduction", "reduction"]} ins(%[[X]] : tensor<3x4xf32>) outs(%{{.*}}, %{{.*}} : tensor<f32>, tensor<f32>)
// CHECK: %[[MEAN:.*]] = linalg.generic {indexing_maps = [#[[$ID0]], #[[$ID0]]], iterator_types = []}
// CHECK: tensor.expand_shape %[[MEAN]] [] output_shape [1, 1] : tensor<f32> into tensor<1x1xf32>
func.func @moments_all_axes(%x: tensor<3x4xf32>) -> (tensor<1x1xf32>, tensor<1x1xf32>) {
  %m, %v = norm.moments %x axes = [0, 1] : tensor<3x4xf32> -> tensor<1x1xf32>, tensor<1x1xf32>
  return %m, %v : tensor<1x1xf32>, tensor<1x1xf32>
}

//===----------------------------------------------------------------------===//
// norm.mean_square
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @mean_square(
// CHECK-SAME: %[[X:.*]]: tensor<4x16xbf16>)
// CHECK-NOT: tensor.extract_slice
// CHECK: %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4xf32>)
// CHECK: %[[C:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4xf32>)
// CHECK: %[[SUM:.*]]:2 = linalg.generic {indexing_maps = [#[[$ID2]], #[[$D0OF2]], #[[$D0OF2]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<4x16xbf16>) outs(%[[Z]], %[[C]] : tensor<4xf32>, tensor<4xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: bf16, %[[ACC:.*]]: f32, %[[COMP:.*]]: f32):
// CHECK-NEXT:   %[[XF:.*]] = arith.extf %[[IN]] : bf16 to f32
// CHECK-NEXT:   %[[SQ:.*]] = arith.mulf %[[XF]], %[[XF]] : f32
// CHECK-NEXT:   %[[Y:.*]] = arith.subf %[[SQ]], %[[COMP]] : f32
// CHECK-NEXT:   %[[NEXT:.*]] = arith.addf %[[ACC]], %[[Y]] : f32
// CHECK: linalg.yield %[[NEXT]], %{{.*}} : f32, f32
// CHECK: %[[MS:.*]] = linalg.generic {indexing_maps = [#[[$ID1]], #[[$ID1]]], iterator_types = ["parallel"]} ins(%[[SUM]]#0 : tensor<4xf32>)
// CHECK-NEXT: ^bb0(%[[S:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:   %[[N:.*]] = arith.constant 1.600000e+01 : f32
// CHECK-NEXT:   %[[Q:.*]] = arith.divf %[[S]], %[[N]] : f32
// CHECK-NEXT:   linalg.yield %[[Q]] : f32
// CHECK: %[[R:.*]] = tensor.expand_shape %[[MS]] {{\[\[}}0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
// CHECK-NEXT: return %[[R]]
func.func @mean_square(%x: tensor<4x16xbf16>) -> tensor<4x1xf32> {
  %0 = norm.mean_square %x axes = [1] : tensor<4x16xbf16> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

//===----------------------------------------------------------------------===//
// norm.rstd: 1 / sqrt(f32(v) + eps)
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @rstd(
// CHECK-SAME: %[[V:.*]]: tensor<4xf16>)
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<4xf32>
// CHECK-NEXT: %[[R:.*]] = linalg.generic {indexing_maps = [#[[$ID1]], #[[$ID1]]], iterator_types = ["parallel"]} ins(%[[V]] : tensor<4xf16>) outs(%[[INIT]] : tensor<4xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f16, %{{.*}}: f32):
// CHECK-NEXT:   %[[VF:.*]] = arith.extf %[[IN]] : f16 to f32
// CHECK-NEXT:   %[[EPS:.*]] = arith.constant 1.000000e-03 : f32
// CHECK-NEXT:   %[[SUM:.*]] = arith.addf %[[VF]], %[[EPS]] : f32
// CHECK-NEXT:   %[[SQRT:.*]] = math.sqrt %[[SUM]] : f32
// CHECK-NEXT:   %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:   %[[INV:.*]] = arith.divf %[[ONE]], %[[SQRT]] : f32
// CHECK-NEXT:   linalg.yield %[[INV]] : f32
// CHECK: return %[[R]]
func.func @rstd(%v: tensor<4xf16>) -> tensor<4xf32> {
  %0 = norm.rstd %v epsilon = 1.0e-3 : tensor<4xf16> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// f32 variance: no cast.
// CHECK-LABEL: func.func @rstd_f32(
// CHECK-SAME: %[[V:.*]]: tensor<2x1xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[$ID2]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[V]] : tensor<2x1xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:   %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK-NEXT:   %[[SUM:.*]] = arith.addf %[[IN]], %[[EPS]] : f32
// CHECK-NEXT:   math.sqrt %[[SUM]] : f32
func.func @rstd_f32(%v: tensor<2x1xf32>) -> tensor<2x1xf32> {
  %0 = norm.rstd %v epsilon = 1.0e-5 : tensor<2x1xf32> -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

// zero_degenerate with eps = 0 (PyTorch's InvStd): 0 where the variance is
// 0; with eps > 0 the plain formula (var + eps > 0).
// CHECK-LABEL: func.func @rstd_zero_degenerate(
// CHECK: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:   %[[SUM:.*]] = arith.addf %[[IN]], %[[ZERO]] : f32
// CHECK-NEXT:   %[[SQRT:.*]] = math.sqrt %[[SUM]] : f32
// CHECK-NEXT:   %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:   %[[DIV:.*]] = arith.divf %[[ONE]], %[[SQRT]] : f32
// CHECK-NEXT:   %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:   %[[DEGENERATE:.*]] = arith.cmpf oeq, %[[IN]], %[[Z]] : f32
// CHECK-NEXT:   %[[SEL:.*]] = arith.select %[[DEGENERATE]], %[[Z]], %[[DIV]] : f32
// CHECK-NEXT:   linalg.yield %[[SEL]] : f32
// CHECK-LABEL: func.func @rstd_zero_degenerate_eps(
// CHECK-NOT: arith.select
// CHECK: return
func.func @rstd_zero_degenerate(%v: tensor<2x1xf32>) -> tensor<2x1xf32> {
  %0 = norm.rstd %v epsilon = 0.0 {zero_degenerate} : tensor<2x1xf32> -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}
func.func @rstd_zero_degenerate_eps(%v: tensor<2x1xf32>) -> tensor<2x1xf32> {
  %0 = norm.rstd %v epsilon = 1.0e-5 {zero_degenerate} : tensor<2x1xf32> -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

//===----------------------------------------------------------------------===//
// norm.apply: one elementwise generic; statistics and parameters broadcast
// through their indexing maps.
//===----------------------------------------------------------------------===//

// bf16 input, bf16 weight, f32 bias: extf in, one truncf out.
// CHECK-LABEL: func.func @apply(
// CHECK-SAME: %[[X:.*]]: tensor<2x4x3xbf16>, %[[M:.*]]: tensor<1x4x1xf32>, %[[R:.*]]: tensor<1x4x1xf32>, %[[W:.*]]: tensor<4xbf16>, %[[B:.*]]: tensor<4xf32>)
// CHECK-NEXT: %[[MC:.*]] = tensor.collapse_shape %[[M]] {{\[\[}}0, 1, 2]] : tensor<1x4x1xf32> into tensor<4xf32>
// CHECK-NEXT: %[[RC:.*]] = tensor.collapse_shape %[[R]] {{\[\[}}0, 1, 2]] : tensor<1x4x1xf32> into tensor<4xf32>
// CHECK-NEXT: %[[INIT:.*]] = tensor.empty() : tensor<2x4x3xbf16>
// CHECK-NEXT: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[$ID3]], #[[$D1OF3]], #[[$D1OF3]], #[[$D1OF3]], #[[$D1OF3]], #[[$ID3]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[X]], %[[MC]], %[[RC]], %[[W]], %[[B]] : tensor<2x4x3xbf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xbf16>, tensor<4xf32>) outs(%[[INIT]] : tensor<2x4x3xbf16>)
// CHECK-NEXT: ^bb0(%[[XI:.*]]: bf16, %[[MI:.*]]: f32, %[[RI:.*]]: f32, %[[WI:.*]]: bf16, %[[BI:.*]]: f32, %{{.*}}: bf16):
// CHECK-NEXT:   %[[XF:.*]] = arith.extf %[[XI]] : bf16 to f32
// CHECK-NEXT:   %[[C:.*]] = arith.subf %[[XF]], %[[MI]] : f32
// CHECK-NEXT:   %[[N:.*]] = arith.mulf %[[C]], %[[RI]] : f32
// CHECK-NEXT:   %[[WF:.*]] = arith.extf %[[WI]] : bf16 to f32
// CHECK-NEXT:   %[[S:.*]] = arith.mulf %[[N]], %[[WF]] : f32
// CHECK-NEXT:   %[[A:.*]] = arith.addf %[[S]], %[[BI]] : f32
// CHECK-NEXT:   %[[T:.*]] = arith.truncf %[[A]] : f32 to bf16
// CHECK-NEXT:   linalg.yield %[[T]] : bf16
// CHECK: return %[[Y]]
func.func @apply(%x: tensor<2x4x3xbf16>, %m: tensor<1x4x1xf32>, %r: tensor<1x4x1xf32>,
                 %w: tensor<4xbf16>, %b: tensor<4xf32>) -> tensor<2x4x3xbf16> {
  %0 = norm.apply %x mean %m rstd %r weight %w bias %b {param_axes = array<i64: 1>}
      : (tensor<2x4x3xbf16>, tensor<1x4x1xf32>, tensor<1x4x1xf32>, tensor<4xbf16>, tensor<4xf32>) -> tensor<2x4x3xbf16>
  return %0 : tensor<2x4x3xbf16>
}

// RMSNorm shape: no mean, a 2-D weight over the trailing axes; f32 needs no
// casts.
// CHECK-LABEL: func.func @apply_rms(
// CHECK-SAME: %[[X:.*]]: tensor<8x6x3x4xf32>, %[[R:.*]]: tensor<8x6x1x1xf32>, %[[W:.*]]: tensor<3x4xf32>)
// CHECK-NEXT: %[[RC:.*]] = tensor.collapse_shape %[[R]] {{\[\[}}0], [1, 2, 3]] : tensor<8x6x1x1xf32> into tensor<8x6xf32>
// CHECK-NEXT: %[[INIT:.*]] = tensor.empty() : tensor<8x6x3x4xf32>
// CHECK-NEXT: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[$ID4]], #[[$D01OF4]], #[[$D23OF4]], #[[$ID4]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[X]], %[[RC]], %[[W]] : tensor<8x6x3x4xf32>, tensor<8x6xf32>, tensor<3x4xf32>) outs(%[[INIT]] : tensor<8x6x3x4xf32>)
// CHECK-NEXT: ^bb0(%[[XI:.*]]: f32, %[[RI:.*]]: f32, %[[WI:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:   %[[N:.*]] = arith.mulf %[[XI]], %[[RI]] : f32
// CHECK-NEXT:   %[[S:.*]] = arith.mulf %[[N]], %[[WI]] : f32
// CHECK-NEXT:   linalg.yield %[[S]] : f32
// CHECK: return %[[Y]]
func.func @apply_rms(%x: tensor<8x6x3x4xf32>, %r: tensor<8x6x1x1xf32>, %w: tensor<3x4xf32>) -> tensor<8x6x3x4xf32> {
  %0 = norm.apply %x rstd %r weight %w {param_axes = array<i64: 2, 3>}
      : (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<3x4xf32>) -> tensor<8x6x3x4xf32>
  return %0 : tensor<8x6x3x4xf32>
}

// No parameters, f16.
// CHECK-LABEL: func.func @apply_no_params(
// CHECK-SAME: %[[X:.*]]: tensor<4x16xf16>, %[[M:.*]]: tensor<4x1xf32>, %[[R:.*]]: tensor<4x1xf32>)
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$D0OF2]], #[[$D0OF2]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %{{.*}}, %{{.*}} : tensor<4x16xf16>, tensor<4xf32>, tensor<4xf32>) outs(%{{.*}} : tensor<4x16xf16>)
// CHECK-NEXT: ^bb0(%[[XI:.*]]: f16, %[[MI:.*]]: f32, %[[RI:.*]]: f32, %{{.*}}: f16):
// CHECK-NEXT:   %[[XF:.*]] = arith.extf %[[XI]] : f16 to f32
// CHECK-NEXT:   %[[C:.*]] = arith.subf %[[XF]], %[[MI]] : f32
// CHECK-NEXT:   %[[N:.*]] = arith.mulf %[[C]], %[[RI]] : f32
// CHECK-NEXT:   %[[T:.*]] = arith.truncf %[[N]] : f32 to f16
// CHECK-NEXT:   linalg.yield %[[T]] : f16
func.func @apply_no_params(%x: tensor<4x16xf16>, %m: tensor<4x1xf32>, %r: tensor<4x1xf32>) -> tensor<4x16xf16> {
  %0 = norm.apply %x mean %m rstd %r : (tensor<4x16xf16>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x16xf16>
  return %0 : tensor<4x16xf16>
}

// Statistics that are 1 in every dim collapse to rank 0 and broadcast
// everywhere.
// CHECK-LABEL: func.func @apply_scalar_stats(
// CHECK-SAME: %[[X:.*]]: tensor<3x4xf32>, %[[M:.*]]: tensor<1x1xf32>, %[[R:.*]]: tensor<1x1xf32>)
// CHECK-NEXT: %[[MC:.*]] = tensor.collapse_shape %[[M]] [] : tensor<1x1xf32> into tensor<f32>
// CHECK-NEXT: %[[RC:.*]] = tensor.collapse_shape %[[R]] [] : tensor<1x1xf32> into tensor<f32>
// CHECK: linalg.generic {indexing_maps = [#[[$ID2]], #[[$NONEOF2]], #[[$NONEOF2]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[MC]], %[[RC]] : tensor<3x4xf32>, tensor<f32>, tensor<f32>)
func.func @apply_scalar_stats(%x: tensor<3x4xf32>, %m: tensor<1x1xf32>, %r: tensor<1x1xf32>) -> tensor<3x4xf32> {
  %0 = norm.apply %x mean %m rstd %r : (tensor<3x4xf32>, tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// Statistics over dynamic dimensions (a function that returns them without
// an apply, so no kernel takes them): the accumulators sized from the
// input, the count read at run time.
// CHECK-LABEL: func.func @moments_dynamic
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: tensor.empty(%[[N]]) : tensor<?xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: %[[LEN:.*]] = tensor.dim %arg0, %c1
// CHECK: %[[I:.*]] = arith.index_castui %[[LEN]] : index to i64
// CHECK: %[[F:.*]] = arith.uitofp %[[I]] : i64 to f32
// CHECK: arith.divf %{{.*}}, %[[F]] : f32
func.func @moments_dynamic(%x: tensor<?x?xf32>) -> (tensor<?x1xf32>, tensor<?x1xf32>) {
  %m, %v = norm.moments %x axes = [1] : tensor<?x?xf32> -> tensor<?x1xf32>, tensor<?x1xf32>
  return %m, %v : tensor<?x1xf32>, tensor<?x1xf32>
}
