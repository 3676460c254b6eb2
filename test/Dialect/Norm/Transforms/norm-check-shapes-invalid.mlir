// RUN: normlir-opt %s --pass-pipeline="builtin.module(func.func(norm-check-shapes))" -verify-diagnostics -o /dev/null

// A check returns from the function: an op nested in a region cannot have
// one.
#id = affine_map<(d0) -> (d0)>
func.func @nested(%x: tensor<?xf32>, %c: i1) -> tensor<?xf32> {
  %r = scf.if %c -> tensor<?xf32> {
    // expected-error @+1 {{norm-check-shapes: cannot check the dynamic sizes of an op nested in a region}}
    %s = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
        ins(%x : tensor<?xf32>) outs(%x : tensor<?xf32>) {
    ^bb0(%a: f32, %o: f32):
      linalg.yield %a : f32
    } -> tensor<?xf32>
    scf.yield %s : tensor<?xf32>
  } else {
    scf.yield %x : tensor<?xf32>
  }
  return %r : tensor<?xf32>
}
