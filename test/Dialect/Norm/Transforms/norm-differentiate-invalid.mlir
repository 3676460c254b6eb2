// RUN: normlir-opt %s -split-input-file -norm-differentiate -verify-diagnostics
// RUN: not normlir-opt %s -split-input-file -norm-differentiate="functions=missing" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not normlir-opt %s -split-input-file -norm-differentiate="functions=stats_only" 2>&1 | FileCheck %s --check-prefix=NAMED
// RUN: not normlir-opt %s -split-input-file -norm-differentiate="functions=declared" 2>&1 | FileCheck %s --check-prefix=DECL

// MISSING: error: norm-differentiate: no function @missing
// A function named explicitly must have a normalized output; by default
// one without is skipped (norm-differentiate.mlir).
// NAMED: error: 'func.func' op norm-differentiate: no result is a normalized output
// DECL: error: 'func.func' op norm-differentiate: a declaration has no body to differentiate

// An elementwise op between the argument and the norm whose body is not
// the float arithmetic the reverse mode knows (a relu; its derivative at 0
// is a convention): an error at that op, not a wrong gradient.
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @prologue(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{'linalg.generic' op norm-differentiate: cannot differentiate through this op}}
  %x = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %y, %m, %s = norm.layer_norm %x {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y : tensor<4x8xf32>
}

// -----

// Only statistics are returned: nothing to differentiate (skipped by
// default; an error when named, above).
func.func @stats_only(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  %y, %m, %s = norm.layer_norm %x {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %m : tensor<4x1xf32>
}
func.func private @declared(tensor<4x8xf32>) -> tensor<4x8xf32>

// -----

// A value captured by a region on the path: an error at that op, not a
// gradient silently dropped.
func.func @region(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'scf.execute_region' op norm-differentiate: cannot differentiate through this op}}
  %x = scf.execute_region -> tensor<4x8xf32> {
    scf.yield %a : tensor<4x8xf32>
  }
  %y, %m, %s = norm.layer_norm %x {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y : tensor<4x8xf32>
}

// -----

// expected-error @+1 {{'func.func' op norm-differentiate: @taken_backward exists already}}
func.func @taken(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y, %m, %s = norm.layer_norm %x {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y : tensor<4x8xf32>
}
func.func @taken_backward() {
  return
}

// -----

// The normalized input is a constant: no argument gets a gradient.
// expected-error @+1 {{'func.func' op norm-differentiate: no argument reaches a normalized output}}
func.func @constant_input(%unused: tensor<4xf32>) -> tensor<4x8xf32> {
  %x = arith.constant dense<1.0> : tensor<4x8xf32>
  %y, %m, %s = norm.layer_norm %x {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y : tensor<4x8xf32>
}

// -----

// The attributes a backward function carries are checked.
// expected-error @+1 {{'norm.wrt' must be an array<i64>, got @f}}
func.func @bad_wrt() attributes {norm.gradient_of = @f, norm.wrt = @f} {
  return
}

// -----

// norm.wrt asks for an argument without a gradient (a running statistic).
// expected-error @+1 {{'func.func' op norm-differentiate: argument #1 (in norm.wrt) does not reach a differentiated output}}
func.func @wrt_unreachable(%x: tensor<4x3x5xf32>, %rm: tensor<3xf32>, %rv: tensor<3xf32>) -> tensor<4x3x5xf32>
    attributes {norm.wrt = array<i64: 0, 1>} {
  %y = norm.batch_norm %x running(%rm, %rv)
      : (tensor<4x3x5xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<4x3x5xf32>
  return %y : tensor<4x3x5xf32>
}

// -----

// expected-error @+1 {{'func.func' op norm-differentiate: norm.wrt must list argument indices in [0, 1), ascending and distinct}}
func.func @wrt_out_of_range(%x: tensor<4x8xf32>) -> tensor<4x8xf32>
    attributes {norm.wrt = array<i64: 0, 1>} {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y : tensor<4x8xf32>
}

// -----

// A body that reads a value depending on an argument from outside the op:
// its derivative would be missed, so an error rather than a wrong gradient.
#cmap = affine_map<(d0, d1) -> (d0, d1)>
func.func @captured(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %c0 = arith.constant 0 : index
  %s = tensor.extract %x[%c0, %c0] : tensor<4x8xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  // expected-error @+1 {{'linalg.generic' op norm-differentiate: the body reads a value that depends on an argument from outside the op}}
  %h = linalg.generic {indexing_maps = [#cmap, #cmap], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %p = arith.addf %a, %s : f32
    linalg.yield %p : f32
  } -> tensor<4x8xf32>
  %y, %m, %r = norm.layer_norm %h {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y : tensor<4x8xf32>
}

// -----

// An integer input to an elementwise body: not differentiable (an error at
// the op, not a crash).
#imap = affine_map<(d0, d1) -> (d0, d1)>
func.func @integer_input(%x: tensor<4x8xf32>, %i: tensor<4x8xi32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  // expected-error @+1 {{'linalg.generic' op norm-differentiate: cannot differentiate through this op}}
  %h = linalg.generic {indexing_maps = [#imap, #imap, #imap], iterator_types = ["parallel", "parallel"]}
      ins(%x, %i : tensor<4x8xf32>, tensor<4x8xi32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: i32, %o: f32):
    %p = arith.mulf %a, %a : f32
    linalg.yield %p : f32
  } -> tensor<4x8xf32>
  %y, %m, %r = norm.layer_norm %h {normalized_shape = array<i64: 8>}
      : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y : tensor<4x8xf32>
}
