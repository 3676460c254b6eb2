// RUN: normlir-opt %s -norm-differentiate | FileCheck %s
// RUN: normlir-opt %s -norm-differentiate="functions=rms suffix=_grad" | FileCheck %s --check-prefix=ONLY
// The pass is idempotent: a function with a backward already is skipped.
// RUN: normlir-opt %s -norm-differentiate -norm-differentiate | FileCheck %s

// RUN: normlir-opt %s -norm-differentiate=recompute-statistics | FileCheck %s --check-prefix=RECOMP

// LayerNorm: statistics from the input, so grad_moments then apply_grad;
// weight and bias by one param_grad. The forward's mean and rstd results
// are not differentiable: one cotangent argument, for y. The forward
// returns them, so the backward takes them (saved statistics, before the
// cotangent) and recomputes nothing.
// CHECK-LABEL: func.func @ln_backward(
// CHECK-SAME: %[[X:[^:]+]]: tensor<4x8xf32>, %[[W:[^:]+]]: tensor<8xf32>, %[[B:[^:]+]]: tensor<8xf32>, %[[SM:[^:]+]]: tensor<4x1xf32>, %[[SR:[^:]+]]: tensor<4x1xf32>, %[[DY:[^:]+]]: tensor<4x8xf32>)
// CHECK-SAME: -> (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>)
// CHECK-SAME: attributes {norm.cotangents = array<i64: 0>, norm.gradient_of = @ln, norm.saved = array<i64: 1, 2>, norm.wrt = array<i64: 0, 1, 2>}
// CHECK-NOT: norm.moments
// CHECK: %[[MG:[^,]+]], %[[MGX:[^ ]+]] = norm.grad_moments %[[X]], %[[DY]] mean %[[SM]] rstd %[[SR]] weight %[[W]] axes = [1] {input_statistics, param_axes = array<i64: 1>}
// CHECK: %[[DX:[^ ]+]] = norm.apply_grad %[[X]], %[[DY]] mean %[[SM]] rstd %[[SR]] weight %[[W]] mean_g %[[MG]] mean_gxhat %[[MGX]] {param_axes = array<i64: 1>}
// CHECK: %[[DW:[^,]+]], %[[DB:[^ ]+]] = norm.param_grad %[[X]], %[[DY]] mean %[[SM]] rstd %[[SR]] param_axes = [1]
// CHECK-NOT: norm.apply
// CHECK: return %[[DX]], %[[DW]], %[[DB]]
// With recompute-statistics: no saved arguments; the statistics are
// recomputed from x.
// RECOMP-LABEL: func.func @ln_backward(
// RECOMP-SAME: %[[X:[^:]+]]: tensor<4x8xf32>, %[[W:[^:]+]]: tensor<8xf32>, %[[B:[^:]+]]: tensor<8xf32>, %[[DY:[^:]+]]: tensor<4x8xf32>)
// RECOMP-SAME: attributes {norm.cotangents = array<i64: 0>, norm.gradient_of = @ln, norm.wrt = array<i64: 0, 1, 2>}
// RECOMP: %[[M:[^,]+]], %[[V:[^ ]+]] = norm.moments %[[X]] axes = [1]
// RECOMP: %[[R:[^ ]+]] = norm.rstd %[[V]]
// RECOMP: norm.grad_moments %[[X]], %[[DY]] mean %[[M]] rstd %[[R]] weight %[[W]] axes = [1] {param_axes = array<i64: 1>}
// RECOMP: norm.apply_grad %[[X]], %[[DY]] mean %[[M]] rstd %[[R]]
// RECOMP: norm.param_grad %[[X]], %[[DY]] mean %[[M]] rstd %[[R]] param_axes = [1]
func.func @ln(%x: tensor<4x8xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>)
    -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) {
  %y, %m, %r = norm.layer_norm %x weight %w bias %b {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y, %m, %r : tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>
}

// RMSNorm: no mean, so no mean_g term; bf16 in and out.
// CHECK-LABEL: func.func @rms_backward(
// CHECK: norm.mean_square
// CHECK: norm.grad_moments %{{[^ ]+}}, %{{[^ ]+}} rstd
// CHECK: norm.apply_grad %{{[^ ]+}}, %{{[^ ]+}} rstd %{{[^ ]+}} weight %{{[^ ]+}} mean_gxhat
// CHECK-SAME: -> tensor<2x16xbf16>
// CHECK: norm.param_grad %{{[^ ]+}}, %{{[^ ]+}} rstd
// CHECK-SAME: -> (tensor<16xbf16>, tensor<16xbf16>)
// ONLY-NOT: @ln_backward
// ONLY: func.func @rms_grad({{.*}}) -> (tensor<2x16xbf16>, tensor<16xbf16>) attributes {norm.cotangents = array<i64: 0>, norm.gradient_of = @rms, norm.wrt = array<i64: 0, 1>}
// ONLY-NOT: _grad(
func.func @rms(%x: tensor<2x16xbf16>, %w: tensor<16xbf16>) -> tensor<2x16xbf16> {
  %y, %r = norm.rms_norm %x weight %w {normalized_shape = array<i64: 16>}
      : (tensor<2x16xbf16>, tensor<16xbf16>) -> (tensor<2x16xbf16>, tensor<2x1xf32>)
  return %y : tensor<2x16xbf16>
}

// BatchNorm eval: the statistics are running ones, constants of the
// forward: apply_grad alone (no grad_moments), and no gradient for the
// running statistics.
// CHECK-LABEL: func.func @bn_eval_backward(
// CHECK-SAME: attributes {norm.cotangents = array<i64: 0>, norm.gradient_of = @bn_eval, norm.wrt = array<i64: 0, 1, 2>}
// CHECK-NOT: norm.grad_moments
// CHECK: norm.apply_grad %{{[^ ]+}}, %{{[^ ]+}} rstd %{{[^ ]+}} weight %{{[^ ]+}} {param_axes = array<i64: 1>}
// CHECK: norm.param_grad %{{[^ ]+}}, %{{[^ ]+}} mean %{{[^ ]+}} rstd
func.func @bn_eval(%x: tensor<8x4xf32>, %w: tensor<4xf32>, %b: tensor<4xf32>, %rm: tensor<4xf32>,
                   %rv: tensor<4xf32>) -> tensor<8x4xf32> {
  %y = norm.batch_norm %x weight %w bias %b running(%rm, %rv)
      : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// GroupNorm: the cotangent goes back through the channel split; dweight
// and dbias are collapsed from (G, C/G) to (C).
// CHECK-LABEL: func.func @gn_backward(
// CHECK-SAME: %[[GDY:[^:]+]]: tensor<2x6x5xf32>) ->
// CHECK: %[[DYG:[^ ]+]] = tensor.expand_shape %[[GDY]] {{\[\[}}0], [1, 2], [3]] output_shape [2, 2, 3, 5]
// CHECK: norm.grad_moments %{{[^ ]+}}, %[[DYG]] {{.*}} axes = [2, 3] {param_axes = array<i64: 1, 2>}
// CHECK: %[[DXG:[^ ]+]] = norm.apply_grad
// CHECK: %[[DWG:[^,]+]], %[[DBG:[^ ]+]] = norm.param_grad {{.*}} param_axes = [1, 2]
// CHECK-DAG: tensor.collapse_shape %[[DWG]] {{\[\[}}0, 1]] : tensor<2x3xf32> into tensor<6xf32>
// CHECK-DAG: tensor.collapse_shape %[[DBG]] {{\[\[}}0, 1]] : tensor<2x3xf32> into tensor<6xf32>
// CHECK-DAG: tensor.collapse_shape %[[DXG]] {{\[\[}}0], [1, 2], [3]] : tensor<2x2x3x5xf32> into tensor<2x6x5xf32>
func.func @gn(%x: tensor<2x6x5xf32>, %w: tensor<6xf32>, %b: tensor<6xf32>) -> tensor<2x6x5xf32> {
  %y, %m, %r = norm.group_norm %x weight %w bias %b {num_groups = 2 : i64}
      : (tensor<2x6x5xf32>, tensor<6xf32>, tensor<6xf32>) -> (tensor<2x6x5xf32>, tensor<2x2xf32>, tensor<2x2xf32>)
  return %y : tensor<2x6x5xf32>
}

// Two norms of one input, both outputs differentiable: two cotangent
// arguments, and dx is the sum of both paths (an elementwise add).
// CHECK-LABEL: func.func @two_backward(
// CHECK-SAME: %[[X2:[^:]+]]: tensor<4x8xf32>, %[[DY1:[^:]+]]: tensor<4x8xf32>, %[[DY2:[^:]+]]: tensor<4x8xf32>)
// CHECK-SAME: attributes {norm.cotangents = array<i64: 0, 1>, norm.gradient_of = @two, norm.wrt = array<i64: 0>}
// CHECK: %[[DXA:[^ ]+]] = norm.apply_grad %[[X2]], %[[DY2]]
// CHECK: %[[DXB:[^ ]+]] = norm.apply_grad %[[X2]], %[[DY1]]
// CHECK: %[[SUM:[^ ]+]] = linalg.generic {{.*}} ins(%[[DXA]], %[[DXB]]
// CHECK: arith.addf
// CHECK: return %[[SUM]]
func.func @two(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %y1, %m1, %r1 = norm.layer_norm %x {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  %y2, %r2 = norm.rms_norm %x {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>)
  return %y1, %y2 : tensor<4x8xf32>, tensor<4x8xf32>
}

// The forward's argument and result attributes are not the backward's; a
// function returning only statistics has nothing to differentiate.
// CHECK-LABEL: func.func @attrs_backward(
// CHECK-SAME: %{{[^:]+}}: tensor<4x8xf32>, %{{[^:]+}}: tensor<4x8xf32>) -> tensor<4x8xf32> attributes
// CHECK-NOT: @stats_only_backward
func.func @attrs(%x: tensor<4x8xf32> {foo.bar}) -> (tensor<4x8xf32> {foo.res}) {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y : tensor<4x8xf32>
}
func.func @stats_only(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %m : tensor<4x1xf32>
}

// BatchNorm training returning its saved mean and rstd, of shape (C): the
// backward takes them and reshapes them to the core form's 1xCx1.
// CHECK-LABEL: func.func @bn_saved_backward(
// CHECK-SAME: %[[BX:[^:]+]]: tensor<2x3x5xf32>, %[[SMB:[^:]+]]: tensor<3xf32>, %[[SRB:[^:]+]]: tensor<3xf32>, %[[BDY:[^:]+]]: tensor<2x3x5xf32>)
// CHECK-SAME: norm.saved = array<i64: 1, 2>
// CHECK-DAG: %[[M3:[^ ]+]] = tensor.expand_shape %[[SMB]] {{\[\[}}0, 1, 2]] output_shape [1, 3, 1] : tensor<3xf32> into tensor<1x3x1xf32>
// CHECK-DAG: %[[R3:[^ ]+]] = tensor.expand_shape %[[SRB]] {{\[\[}}0, 1, 2]] output_shape [1, 3, 1] : tensor<3xf32> into tensor<1x3x1xf32>
// CHECK-NOT: norm.moments
// CHECK: norm.grad_moments %[[BX]], %[[BDY]] mean %[[M3]] rstd %[[R3]] axes = [0, 2]
func.func @bn_saved(%x: tensor<2x3x5xf32>)
    -> (tensor<2x3x5xf32>, tensor<3xf32>, tensor<3xf32>) {
  %y, %m, %r = norm.batch_norm %x {training}
      : (tensor<2x3x5xf32>) -> (tensor<2x3x5xf32>, tensor<3xf32>, tensor<3xf32>)
  return %y, %m, %r : tensor<2x3x5xf32>, tensor<3xf32>, tensor<3xf32>
}

// A centred norm returning its rstd but not its mean recomputes both.
// CHECK-LABEL: func.func @ln_rstd_only_backward(
// CHECK-SAME: %{{[^:]+}}: tensor<4x8xf32>, %{{[^:]+}}: tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK-NOT: norm.saved
// CHECK: norm.moments
func.func @ln_rstd_only(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>) {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y, %r : tensor<4x8xf32>, tensor<4x1xf32>
}

// The saved statistics' arguments follow @f's result order (here rstd
// before mean).
// CHECK-LABEL: func.func @ln_swapped_backward(
// CHECK-SAME: %[[SX:[^:]+]]: tensor<4x8xf32>, %[[SR2:[^:]+]]: tensor<4x1xf32>, %[[SM2:[^:]+]]: tensor<4x1xf32>, %[[SDY:[^:]+]]: tensor<4x8xf32>)
// CHECK-SAME: norm.saved = array<i64: 1, 2>
// CHECK: norm.grad_moments %[[SX]], %[[SDY]] mean %[[SM2]] rstd %[[SR2]] axes = [1] {input_statistics}
func.func @ln_swapped(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y, %r, %m : tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>
}

// A norm whose output is dead returns its statistics next to a live norm:
// the live norm's gradient recomputes its own statistics (it returns
// none), and the dead norm's are not arguments.
// CHECK-LABEL: func.func @dead_norm_stats_backward(
// CHECK-SAME: %[[DX0:[^:]+]]: tensor<4x8xf32>, %[[DZ0:[^:]+]]: tensor<4x8xf32>, %[[DDY:[^:]+]]: tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK-NOT: norm.saved
// CHECK: %[[ZM:[^,]+]], %[[ZV:[^ ]+]] = norm.moments %[[DZ0]] axes = [1]
// CHECK: norm.grad_moments %[[DZ0]], %[[DDY]] mean %[[ZM]]
func.func @dead_norm_stats(%x: tensor<4x8xf32>, %z: tensor<4x8xf32>)
    -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) {
  %y2, %m2, %r2 = norm.layer_norm %z {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y2, %m, %r : tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>
}
