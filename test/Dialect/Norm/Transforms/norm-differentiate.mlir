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
// CHECK: %[[MG:[^,]+]], %[[MGX:[^ ]+]] = norm.grad_moments %[[X]], %[[DY]] mean %[[SM]] rstd %[[SR]] weight %[[W]] axes = [1] {epsilon = 1.000000e-05 : f64, input_statistics, param_axes = array<i64: 1>}
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
// CHECK: norm.grad_moments %[[SX]], %[[SDY]] mean %[[SM2]] rstd %[[SR2]] axes = [1] {epsilon = 1.000000e-05 : f64, input_statistics}
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

// A pre-norm residual block: h = x + r (bf16, added in f32) is returned
// beside LayerNorm(h). h is a differentiated output (its cotangent is the
// residual stream's gradient, the last argument) and a saved one: the
// backward reads it instead of recomputing x + r. dh = dh_out + the norm's
// dx, one sum; the add passes it to x and r unchanged.
// CHECK-LABEL: func.func @residual_backward(
// CHECK-SAME: %[[RX:[^:]+]]: tensor<4x8xbf16>, %[[RR:[^:]+]]: tensor<4x8xbf16>, %[[RW:[^:]+]]: tensor<8xf32>, %[[RH:[^:]+]]: tensor<4x8xbf16>, %[[RM:[^:]+]]: tensor<4x1xf32>, %[[RS:[^:]+]]: tensor<4x1xf32>, %[[RDY:[^:]+]]: tensor<4x8xbf16>, %[[RDH:[^:]+]]: tensor<4x8xbf16>)
// CHECK-SAME: -> (tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<8xf32>)
// CHECK-SAME: norm.cotangents = array<i64: 0, 1>, norm.gradient_of = @residual, norm.saved = array<i64: 1, 2, 3>, norm.wrt = array<i64: 0, 1, 2>
// CHECK-NOT: arith.addf
// CHECK: %[[RDX:[^ ]+]] = norm.apply_grad %[[RH]], %[[RDY]] mean %[[RM]] rstd %[[RS]] weight %[[RW]]
// CHECK: %[[RSUM:[^ ]+]] = linalg.generic {{.*}} ins(%[[RDH]], %[[RDX]] : tensor<4x8xbf16>, tensor<4x8xbf16>)
// CHECK: arith.addf
// CHECK-NOT: linalg.generic
// CHECK: return %[[RSUM]], %[[RSUM]], %{{[^ ]+}} :
#rmap = affine_map<(d0, d1) -> (d0, d1)>
func.func @residual(%x: tensor<4x8xbf16>, %r: tensor<4x8xbf16>, %w: tensor<8xf32>)
    -> (tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x1xf32>, tensor<4x1xf32>) {
  %e = tensor.empty() : tensor<4x8xbf16>
  %h = linalg.generic {indexing_maps = [#rmap, #rmap, #rmap], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r : tensor<4x8xbf16>, tensor<4x8xbf16>) outs(%e : tensor<4x8xbf16>) {
  ^bb0(%p: bf16, %q: bf16, %o: bf16):
    %pw = arith.extf %p : bf16 to f32
    %qw = arith.extf %q : bf16 to f32
    %s = arith.addf %pw, %qw : f32
    %t = arith.truncf %s : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<4x8xbf16>
  %y, %m, %s = norm.layer_norm %h weight %w {normalized_shape = array<i64: 8>}
      : (tensor<4x8xbf16>, tensor<8xf32>) -> (tensor<4x8xbf16>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y, %h, %m, %s : tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x1xf32>, tensor<4x1xf32>
}

// A prologue that is not a unit add (a gate, x * g, not returned): the
// gate's gradient is a map over x, g and dh that replays the body and runs
// its reverse (dg = dh * x); h is recomputed.
// CHECK-LABEL: func.func @gated_backward(
// CHECK-SAME: %[[GX:[^:]+]]: tensor<4x8xf32>, %[[GG:[^:]+]]: tensor<4x8xf32>, %[[GDY:[^:]+]]: tensor<4x8xf32>)
// CHECK-NOT: norm.saved
// CHECK: %[[GH:[^ ]+]] = linalg.generic {{.*}} ins(%[[GX]], %[[GG]] :
// CHECK: norm.apply_grad %[[GH]], %[[GDY]]
// CHECK: linalg.generic {{.*}} ins(%[[GX]], %[[GG]], %{{[^ ]+}} :
// CHECK: linalg.generic {{.*}} ins(%[[GX]], %[[GG]], %{{[^ ]+}} :
func.func @gated(%x: tensor<4x8xf32>, %g: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %h = linalg.generic {indexing_maps = [#rmap, #rmap, #rmap], iterator_types = ["parallel", "parallel"]}
      ins(%x, %g : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %s = arith.mulf %p, %q : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  %y, %m, %s = norm.layer_norm %h {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y : tensor<4x8xf32>
}

// norm.wrt on a forward function asks for the gradients of those arguments
// only: here the input's and the bias's (the weight is frozen).
// CHECK-LABEL: func.func @ln_wrt_backward(
// CHECK-SAME: -> (tensor<4x8xf32>, tensor<8xf32>)
// CHECK-SAME: norm.wrt = array<i64: 0, 2>
// CHECK: %[[WDW:[^,]+]], %[[WDB:[^ ]+]] = norm.param_grad
// CHECK: return %{{[^,]+}}, %[[WDB]] :
func.func @ln_wrt(%x: tensor<4x8xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32>
    attributes {norm.wrt = array<i64: 0, 2>} {
  %y, %m, %r = norm.layer_norm %x weight %w bias %b {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y : tensor<4x8xf32>
}

// A returned elementwise result that is not differentiable (a relu of the
// input) is not a differentiated output: no cotangent for it, as before
// elementwise ops were differentiated.
// CHECK-LABEL: func.func @aux_relu_backward(
// CHECK-SAME: %{{[^:]+}}: tensor<4x8xf32>, %{{[^:]+}}: tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK-SAME: norm.cotangents = array<i64: 0>
func.func @aux_relu(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %relu = linalg.generic {indexing_maps = [#rmap, #rmap], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %p = arith.maximumf %a, %zero : f32
    linalg.yield %p : f32
  } -> tensor<4x8xf32>
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y, %relu : tensor<4x8xf32>, tensor<4x8xf32>
}
