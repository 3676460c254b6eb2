// RUN: normlir-opt %s -split-input-file -norm-fuse-grad | FileCheck %s

// A LayerNorm backward as norm-differentiate writes it: one grad_kernel
// with three outs.
// CHECK-LABEL: func.func @layer_norm(
// CHECK-SAME: %[[X:[^:]+]]: tensor<4x8xf32>, %[[DY:[^:]+]]: tensor<4x8xf32>, %[[W:[^:]+]]: tensor<8xf32>)
// CHECK: %[[K:.*]]:3 = norm.grad_kernel %[[X]], %[[DY]] weight %[[W]] outs(%{{.*}}, %{{.*}}, %{{.*}}) {axes = array<i64: 1>, centered, epsilon = 1.000000e-05 : f64}
// CHECK-NOT: norm.apply_grad
// CHECK-NOT: norm.param_grad
// CHECK: return %[[K]]#0, %[[K]]#1, %[[K]]#2
func.func @layer_norm(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %w: tensor<8xf32>)
    -> (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %m, %v = norm.moments %x axes = [1] : tensor<4x8xf32> -> tensor<4x1xf32>, tensor<4x1xf32>
  %r = norm.rstd %v epsilon = 1.0e-5 : tensor<4x1xf32> -> tensor<4x1xf32>
  %mg, %mgx = norm.grad_moments %x, %dy mean %m rstd %r weight %w axes = [1] {param_axes = array<i64: 1>}
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<8xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  %dx = norm.apply_grad %x, %dy mean %m rstd %r weight %w mean_g %mg mean_gxhat %mgx {param_axes = array<i64: 1>}
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %dw, %db = norm.param_grad %x, %dy mean %m rstd %r param_axes = [1]
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<8xf32>, tensor<8xf32>)
  return %dx, %dw, %db : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
}

// -----

// RMSNorm over two trailing dims, no weight: not centred, one out.
// CHECK-LABEL: func.func @rms_norm(
// CHECK: norm.grad_kernel %{{[^ ]+}}, %{{[^ ]+}} outs(%{{[^ ]+}}) {axes = array<i64: 1, 2>, epsilon = 9.9999999999999995E-7 : f64} : (tensor<2x3x4xbf16>, tensor<2x3x4xbf16>, tensor<2x3x4xbf16>) -> tensor<2x3x4xbf16>
func.func @rms_norm(%x: tensor<2x3x4xbf16>, %dy: tensor<2x3x4xbf16>) -> tensor<2x3x4xbf16> {
  %ms = norm.mean_square %x axes = [1, 2] : tensor<2x3x4xbf16> -> tensor<2x1x1xf32>
  %r = norm.rstd %ms epsilon = 1.0e-6 : tensor<2x1x1xf32> -> tensor<2x1x1xf32>
  %mg, %mgx = norm.grad_moments %x, %dy rstd %r axes = [1, 2]
      : (tensor<2x3x4xbf16>, tensor<2x3x4xbf16>, tensor<2x1x1xf32>) -> (tensor<2x1x1xf32>, tensor<2x1x1xf32>)
  %dx = norm.apply_grad %x, %dy rstd %r mean_gxhat %mgx
      : (tensor<2x3x4xbf16>, tensor<2x3x4xbf16>, tensor<2x1x1xf32>, tensor<2x1x1xf32>) -> tensor<2x3x4xbf16>
  return %dx : tensor<2x3x4xbf16>
}

// -----

// BatchNorm without parameters (statistics over the leading dim): the
// channel form, with no parameter axes.
// CHECK-LABEL: func.func @batch_norm(
// CHECK: norm.grad_kernel %{{[^ ]+}}, %{{[^ ]+}} outs(%{{[^ ]+}}) {axes = array<i64: 0>, centered, epsilon = 1.000000e-05 : f64, param_axes = array<i64>, zero_degenerate} : (tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
// CHECK-NOT: norm.apply_grad
func.func @batch_norm(%x: tensor<8x4xf32>, %dy: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %m, %v = norm.moments %x axes = [0] : tensor<8x4xf32> -> tensor<1x4xf32>, tensor<1x4xf32>
  %r = norm.rstd %v epsilon = 1.0e-5 {zero_degenerate} : tensor<1x4xf32> -> tensor<1x4xf32>
  %mg, %mgx = norm.grad_moments %x, %dy mean %m rstd %r axes = [0]
      : (tensor<8x4xf32>, tensor<8x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>) -> (tensor<1x4xf32>, tensor<1x4xf32>)
  %dx = norm.apply_grad %x, %dy mean %m rstd %r mean_g %mg mean_gxhat %mgx
      : (tensor<8x4xf32>, tensor<8x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<8x4xf32>
  return %dx : tensor<8x4xf32>
}

// -----

// Statistics given (saved by the forward), not recomputed from x: the
// kernel takes them as operands (epsilon is then unused).
// CHECK-LABEL: func.func @saved_statistics(
// CHECK-SAME: %[[X:[^:]+]]: tensor<4x8xf32>, %[[DY:[^:]+]]: tensor<4x8xf32>, %[[M:[^:]+]]: tensor<4x1xf32>, %[[R:[^:]+]]: tensor<4x1xf32>)
// CHECK: %[[K:.+]] = norm.grad_kernel %[[X]], %[[DY]] mean %[[M]] rstd %[[R]] outs(%{{.+}}) {axes = array<i64: 1>, centered, epsilon = 0.000000e+00 : f64}
// CHECK-NOT: norm.apply_grad
// CHECK: return %[[K]]
func.func @saved_statistics(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %m: tensor<4x1xf32>, %r: tensor<4x1xf32>)
    -> tensor<4x8xf32> {
  %mg, %mgx = norm.grad_moments %x, %dy mean %m rstd %r axes = [1]
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  %dx = norm.apply_grad %x, %dy mean %m rstd %r mean_g %mg mean_gxhat %mgx
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return %dx : tensor<4x8xf32>
}

// -----

// grad_moments and apply_grad index the weight differently (a valid module,
// but not one norm's backward): left alone.
// CHECK-LABEL: func.func @param_axes_differ(
// CHECK-NOT: norm.grad_kernel
func.func @param_axes_differ(%x: tensor<8x8xf32>, %dy: tensor<8x8xf32>, %w: tensor<8xf32>) -> tensor<8x8xf32> {
  %m, %v = norm.moments %x axes = [1] : tensor<8x8xf32> -> tensor<8x1xf32>, tensor<8x1xf32>
  %r = norm.rstd %v epsilon = 1.0e-5 : tensor<8x1xf32> -> tensor<8x1xf32>
  %mg, %mgx = norm.grad_moments %x, %dy mean %m rstd %r weight %w axes = [1] {param_axes = array<i64: 0>}
      : (tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x1xf32>, tensor<8x1xf32>, tensor<8xf32>) -> (tensor<8x1xf32>, tensor<8x1xf32>)
  %dx = norm.apply_grad %x, %dy mean %m rstd %r weight %w mean_g %mg mean_gxhat %mgx {param_axes = array<i64: 1>}
      : (tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x1xf32>, tensor<8x1xf32>, tensor<8xf32>, tensor<8x1xf32>, tensor<8x1xf32>) -> tensor<8x8xf32>
  return %dx : tensor<8x8xf32>
}

// -----

// The param_grad comes first and the weight is defined after it: the kernel
// (placed before the first op it replaces) cannot take the param_grad, which
// stays as it is.
// CHECK-LABEL: func.func @weight_after_param_grad(
// CHECK: norm.param_grad
// CHECK: norm.grad_kernel %{{[^ ]+}}, %{{[^ ]+}} weight %{{[^ ]+}} outs(%{{[^ ]+}}) {axes = array<i64: 1>, centered
func.func @weight_after_param_grad(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %w2: tensor<2x4xf32>)
    -> (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %m, %v = norm.moments %x axes = [1] : tensor<4x8xf32> -> tensor<4x1xf32>, tensor<4x1xf32>
  %r = norm.rstd %v epsilon = 1.0e-5 : tensor<4x1xf32> -> tensor<4x1xf32>
  %dw, %db = norm.param_grad %x, %dy mean %m rstd %r param_axes = [1]
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<8xf32>, tensor<8xf32>)
  %w = tensor.collapse_shape %w2 [[0, 1]] : tensor<2x4xf32> into tensor<8xf32>
  %mg, %mgx = norm.grad_moments %x, %dy mean %m rstd %r weight %w axes = [1] {param_axes = array<i64: 1>}
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<8xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  %dx = norm.apply_grad %x, %dy mean %m rstd %r weight %w mean_g %mg mean_gxhat %mgx {param_axes = array<i64: 1>}
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return %dx, %dw, %db : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
}

// -----

// GroupNorm NCHW as norm-differentiate writes it (C split into 2 groups of
// 2): statistics over (C/G, H, W), parameters along (G, C/G).
// CHECK-LABEL: func.func @group_norm(
// CHECK-SAME: %[[X:[^:]+]]: tensor<2x2x2x5xf32>, %[[DY:[^:]+]]: tensor<2x2x2x5xf32>, %[[W:[^:]+]]: tensor<2x2xf32>)
// CHECK: %[[K:.*]]:3 = norm.grad_kernel %[[X]], %[[DY]] weight %[[W]] outs(%{{.*}}, %{{.*}}, %{{.*}}) {axes = array<i64: 2, 3>, centered, epsilon = 1.000000e-05 : f64, param_axes = array<i64: 1, 2>}
// CHECK-NOT: norm.param_grad
// CHECK: return %[[K]]#0, %[[K]]#1, %[[K]]#2
func.func @group_norm(%x: tensor<2x2x2x5xf32>, %dy: tensor<2x2x2x5xf32>, %w: tensor<2x2xf32>)
    -> (tensor<2x2x2x5xf32>, tensor<2x2xf32>, tensor<2x2xf32>) {
  %m, %v = norm.moments %x axes = [2, 3] : tensor<2x2x2x5xf32> -> tensor<2x2x1x1xf32>, tensor<2x2x1x1xf32>
  %r = norm.rstd %v epsilon = 1.0e-5 : tensor<2x2x1x1xf32> -> tensor<2x2x1x1xf32>
  %mg, %mgx = norm.grad_moments %x, %dy mean %m rstd %r weight %w axes = [2, 3] {param_axes = array<i64: 1, 2>}
      : (tensor<2x2x2x5xf32>, tensor<2x2x2x5xf32>, tensor<2x2x1x1xf32>, tensor<2x2x1x1xf32>, tensor<2x2xf32>) -> (tensor<2x2x1x1xf32>, tensor<2x2x1x1xf32>)
  %dx = norm.apply_grad %x, %dy mean %m rstd %r weight %w mean_g %mg mean_gxhat %mgx {param_axes = array<i64: 1, 2>}
      : (tensor<2x2x2x5xf32>, tensor<2x2x2x5xf32>, tensor<2x2x1x1xf32>, tensor<2x2x1x1xf32>, tensor<2x2xf32>, tensor<2x2x1x1xf32>, tensor<2x2x1x1xf32>) -> tensor<2x2x2x5xf32>
  %dw, %db = norm.param_grad %x, %dy mean %m rstd %r param_axes = [1, 2]
      : (tensor<2x2x2x5xf32>, tensor<2x2x2x5xf32>, tensor<2x2x1x1xf32>, tensor<2x2x1x1xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>)
  return %dx, %dw, %db : tensor<2x2x2x5xf32>, tensor<2x2xf32>, tensor<2x2xf32>
}


// -----

// Constant statistics (BatchNorm eval: running statistics, constants of
// the forward): apply_grad without backward means and param_grad fuse
// into a kernel with constant_statistics; the mean comes from param_grad,
// the axes from where the statistics broadcast.
// CHECK-LABEL: func.func @constant_statistics(
// CHECK-SAME: %[[X:[^:]+]]: tensor<8x4x5xf32>, %[[DY:[^:]+]]: tensor<8x4x5xf32>, %[[W:[^:]+]]: tensor<4xf32>, %[[M:[^:]+]]: tensor<1x4x1xf32>, %[[R:[^:]+]]: tensor<1x4x1xf32>)
// CHECK: %[[K:.+]]:3 = norm.grad_kernel %[[X]], %[[DY]] mean %[[M]] rstd %[[R]] weight %[[W]] outs(%{{.+}}, %{{.+}}, %{{.+}}) {axes = array<i64: 0, 2>, centered, constant_statistics, epsilon = 0.000000e+00 : f64, param_axes = array<i64: 1>}
// CHECK-NOT: norm.param_grad
// CHECK: return %[[K]]#0, %[[K]]#1, %[[K]]#2
func.func @constant_statistics(%x: tensor<8x4x5xf32>, %dy: tensor<8x4x5xf32>, %w: tensor<4xf32>,
                               %m: tensor<1x4x1xf32>, %r: tensor<1x4x1xf32>)
    -> (tensor<8x4x5xf32>, tensor<4xf32>, tensor<4xf32>) {
  %dx = norm.apply_grad %x, %dy rstd %r weight %w {param_axes = array<i64: 1>}
      : (tensor<8x4x5xf32>, tensor<8x4x5xf32>, tensor<1x4x1xf32>, tensor<4xf32>) -> tensor<8x4x5xf32>
  %dw, %db = norm.param_grad %x, %dy mean %m rstd %r param_axes = [1]
      : (tensor<8x4x5xf32>, tensor<8x4x5xf32>, tensor<1x4x1xf32>, tensor<1x4x1xf32>) -> (tensor<4xf32>, tensor<4xf32>)
  return %dx, %dw, %db : tensor<8x4x5xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// Constant statistics where the mean is defined after the apply_grad (the
// kernel would go before it): dx fuses alone, without the mean; the
// param_grad stays.
// CHECK-LABEL: func.func @constant_statistics_late_mean(
// CHECK: norm.grad_kernel %{{[^ ]+}}, %{{[^ ]+}} rstd %{{[^ ]+}} weight %{{[^ ]+}} outs(%{{[^)]+}}) {axes = array<i64: 0, 2>, constant_statistics, epsilon = 0.000000e+00 : f64, param_axes = array<i64: 1>}
// CHECK: norm.param_grad
func.func @constant_statistics_late_mean(%x: tensor<8x4x5xf32>, %dy: tensor<8x4x5xf32>, %w: tensor<4xf32>,
                                         %m0: tensor<4xf32>, %r: tensor<1x4x1xf32>)
    -> (tensor<8x4x5xf32>, tensor<4xf32>, tensor<4xf32>) {
  %dx = norm.apply_grad %x, %dy rstd %r weight %w {param_axes = array<i64: 1>}
      : (tensor<8x4x5xf32>, tensor<8x4x5xf32>, tensor<1x4x1xf32>, tensor<4xf32>) -> tensor<8x4x5xf32>
  %m = tensor.expand_shape %m0 [[0, 1, 2]] output_shape [1, 4, 1] : tensor<4xf32> into tensor<1x4x1xf32>
  %dw, %db = norm.param_grad %x, %dy mean %m rstd %r param_axes = [1]
      : (tensor<8x4x5xf32>, tensor<8x4x5xf32>, tensor<1x4x1xf32>, tensor<1x4x1xf32>) -> (tensor<4xf32>, tensor<4xf32>)
  return %dx, %dw, %db : tensor<8x4x5xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// Given statistics marked as the input's own (saved by its forward): the
// kernel may refine the mean (input_statistics), and keeps the forward's
// epsilon and zero_degenerate, with which a schedule may recompute them.
// CHECK-LABEL: func.func @input_statistics(
// CHECK: norm.grad_kernel %{{[^ ]+}}, %{{[^ ]+}} mean %{{[^ ]+}} rstd %{{[^ ]+}} outs(%{{[^)]+}}) {axes = array<i64: 1>, centered, epsilon = 1.000000e-03 : f64, input_statistics, zero_degenerate}
func.func @input_statistics(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %m: tensor<4x1xf32>, %r: tensor<4x1xf32>)
    -> tensor<4x8xf32> {
  %mg, %mgx = norm.grad_moments %x, %dy mean %m rstd %r axes = [1] {epsilon = 1.0e-3 : f64, input_statistics, zero_degenerate}
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  %dx = norm.apply_grad %x, %dy mean %m rstd %r mean_g %mg mean_gxhat %mgx
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return %dx : tensor<4x8xf32>
}

// -----

// Constant statistics whose param_grad reads a mean of another shape than
// rstd (param_grad broadcasts it; the kernel takes rstd's shape): dx fuses
// alone, the param_grad stays.
// CHECK-LABEL: func.func @constant_statistics_broadcast_mean(
// CHECK: norm.grad_kernel %{{[^ ]+}}, %{{[^ ]+}} rstd %{{[^ ]+}} weight %{{[^ ]+}} outs(%{{[^)]+}}) {axes = array<i64: 0, 2>, constant_statistics
// CHECK: norm.param_grad
func.func @constant_statistics_broadcast_mean(%x: tensor<8x4x5xf32>, %dy: tensor<8x4x5xf32>, %w: tensor<4xf32>,
                                              %m: tensor<1x1x1xf32>, %r: tensor<1x4x1xf32>)
    -> (tensor<8x4x5xf32>, tensor<4xf32>, tensor<4xf32>) {
  %dx = norm.apply_grad %x, %dy rstd %r weight %w {param_axes = array<i64: 1>}
      : (tensor<8x4x5xf32>, tensor<8x4x5xf32>, tensor<1x4x1xf32>, tensor<4xf32>) -> tensor<8x4x5xf32>
  %dw, %db = norm.param_grad %x, %dy mean %m rstd %r param_axes = [1]
      : (tensor<8x4x5xf32>, tensor<8x4x5xf32>, tensor<1x1x1xf32>, tensor<1x4x1xf32>) -> (tensor<4xf32>, tensor<4xf32>)
  return %dx, %dw, %db : tensor<8x4x5xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// A residual stream's gradient added to dx (the rounded f32 sum
// norm-differentiate builds) becomes the kernel's residual_grad: dx is
// written once, and x and r get it unchanged.
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @residual(
// CHECK-SAME: %[[H:[^:]+]]: tensor<4x8xbf16>, %[[DY:[^:]+]]: tensor<4x8xbf16>, %[[M:[^:]+]]: tensor<4x1xf32>, %[[R:[^:]+]]: tensor<4x1xf32>, %[[DH:[^:]+]]: tensor<4x8xbf16>)
// CHECK: %[[K:[^ ]+]] = norm.grad_kernel %[[H]], %[[DY]] mean %[[M]] rstd %[[R]] residual_grad %[[DH]] outs(
// CHECK-NOT: linalg.generic
// CHECK: return %[[K]], %[[K]]
func.func @residual(%h: tensor<4x8xbf16>, %dy: tensor<4x8xbf16>, %m: tensor<4x1xf32>, %r: tensor<4x1xf32>, %dh: tensor<4x8xbf16>)
    -> (tensor<4x8xbf16>, tensor<4x8xbf16>) {
  %mg, %mgx = norm.grad_moments %h, %dy mean %m rstd %r axes = [1] {epsilon = 1.0e-5 : f64, input_statistics}
      : (tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  %dx = norm.apply_grad %h, %dy mean %m rstd %r mean_g %mg mean_gxhat %mgx
      : (tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x8xbf16>
  %e = tensor.empty() : tensor<4x8xbf16>
  %s = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%dh, %dx : tensor<4x8xbf16>, tensor<4x8xbf16>) outs(%e : tensor<4x8xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %aw = arith.extf %a : bf16 to f32
    %bw = arith.extf %b : bf16 to f32
    %t = arith.addf %aw, %bw : f32
    %c = arith.truncf %t : f32 to bf16
    linalg.yield %c : bf16
  } -> tensor<4x8xbf16>
  return %s, %s : tensor<4x8xbf16>, tensor<4x8xbf16>
}

// -----

// Through the reshape of GroupNorm's channel split: the residual gradient
// is reshaped to the kernel's shape (the inverse reshape).
#map3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @residual_reshaped(
// CHECK-SAME: %[[DH:[^:]+]]: tensor<2x6x5xf32>)
// CHECK: %[[E:[^ ]+]] = tensor.expand_shape %[[DH]] {{\[\[}}0], [1, 2], [3]] output_shape [2, 2, 3, 5]
// CHECK: %[[K:[^ ]+]] = norm.grad_kernel %{{[^ ]+}}, %{{[^ ]+}} residual_grad %[[E]] outs(
// CHECK: %[[C:[^ ]+]] = tensor.collapse_shape %[[K]]
// CHECK-NOT: linalg.generic
// CHECK: return %[[C]]
func.func @residual_reshaped(%x: tensor<2x2x3x5xf32>, %dy: tensor<2x2x3x5xf32>, %dh: tensor<2x6x5xf32>) -> tensor<2x6x5xf32> {
  %mean, %var = norm.moments %x axes = [2, 3] : tensor<2x2x3x5xf32> -> tensor<2x2x1x1xf32>, tensor<2x2x1x1xf32>
  %rstd = norm.rstd %var epsilon = 1.0e-5 : tensor<2x2x1x1xf32> -> tensor<2x2x1x1xf32>
  %mg, %mgx = norm.grad_moments %x, %dy mean %mean rstd %rstd axes = [2, 3]
      : (tensor<2x2x3x5xf32>, tensor<2x2x3x5xf32>, tensor<2x2x1x1xf32>, tensor<2x2x1x1xf32>) -> (tensor<2x2x1x1xf32>, tensor<2x2x1x1xf32>)
  %dx = norm.apply_grad %x, %dy mean %mean rstd %rstd mean_g %mg mean_gxhat %mgx
      : (tensor<2x2x3x5xf32>, tensor<2x2x3x5xf32>, tensor<2x2x1x1xf32>, tensor<2x2x1x1xf32>, tensor<2x2x1x1xf32>, tensor<2x2x1x1xf32>) -> tensor<2x2x3x5xf32>
  %c = tensor.collapse_shape %dx [[0], [1, 2], [3]] : tensor<2x2x3x5xf32> into tensor<2x6x5xf32>
  %e = tensor.empty() : tensor<2x6x5xf32>
  %s = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dh, %c : tensor<2x6x5xf32>, tensor<2x6x5xf32>) outs(%e : tensor<2x6x5xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<2x6x5xf32>
  return %s : tensor<2x6x5xf32>
}

// -----

// Not fused: dx has another use (written anyway), and a sum that is not a
// plain add (a product).
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @residual_not_fused(
// CHECK-NOT: residual_grad
// CHECK: linalg.generic
// CHECK: linalg.generic
func.func @residual_not_fused(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %dh: tensor<4x8xf32>)
    -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %mean, %var = norm.moments %x axes = [1] : tensor<4x8xf32> -> tensor<4x1xf32>, tensor<4x1xf32>
  %rstd = norm.rstd %var epsilon = 1.0e-5 : tensor<4x1xf32> -> tensor<4x1xf32>
  %mg, %mgx = norm.grad_moments %x, %dy mean %mean rstd %rstd axes = [1]
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  %dx = norm.apply_grad %x, %dy mean %mean rstd %rstd mean_g %mg mean_gxhat %mgx
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  %s = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%dh, %dx : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<4x8xf32>
  %x2, %v2 = norm.moments %dy axes = [1] : tensor<4x8xf32> -> tensor<4x1xf32>, tensor<4x1xf32>
  %r2 = norm.rstd %v2 epsilon = 1.0e-5 : tensor<4x1xf32> -> tensor<4x1xf32>
  %mg2, %mgx2 = norm.grad_moments %dy, %x mean %x2 rstd %r2 axes = [1]
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  %dx2 = norm.apply_grad %dy, %x mean %x2 rstd %r2 mean_g %mg2 mean_gxhat %mgx2
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %p = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%dh, %dx2 : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.mulf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<4x8xf32>
  return %s, %dx, %p : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Not fused: dx is the sum's init, not one of its inputs (overwritten, not
// added).
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @residual_dx_is_init(
// CHECK-NOT: residual_grad
// CHECK: linalg.generic
func.func @residual_dx_is_init(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %a: tensor<4x8xf32>, %b: tensor<4x8xf32>)
    -> tensor<4x8xf32> {
  %mean, %var = norm.moments %x axes = [1] : tensor<4x8xf32> -> tensor<4x1xf32>, tensor<4x1xf32>
  %rstd = norm.rstd %var epsilon = 1.0e-5 : tensor<4x1xf32> -> tensor<4x1xf32>
  %mg, %mgx = norm.grad_moments %x, %dy mean %mean rstd %rstd axes = [1]
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  %dx = norm.apply_grad %x, %dy mean %mean rstd %rstd mean_g %mg mean_gxhat %mgx
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %s = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%dx : tensor<4x8xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %t = arith.addf %p, %q : f32
    linalg.yield %t : f32
  } -> tensor<4x8xf32>
  return %s : tensor<4x8xf32>
}
