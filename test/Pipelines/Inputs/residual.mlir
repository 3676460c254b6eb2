// A pre-norm residual block (h = x + r returned beside LayerNorm(h)) for
// the backward pipelines.
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @block(%x: tensor<4x8xbf16>, %r: tensor<4x8xbf16>, %w: tensor<8xf32>, %b: tensor<8xf32>)
    -> (tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x1xf32>, tensor<4x1xf32>) {
  %e = tensor.empty() : tensor<4x8xbf16>
  %h = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r : tensor<4x8xbf16>, tensor<4x8xbf16>) outs(%e : tensor<4x8xbf16>) {
  ^bb0(%p: bf16, %q: bf16, %o: bf16):
    %pw = arith.extf %p : bf16 to f32
    %qw = arith.extf %q : bf16 to f32
    %s = arith.addf %pw, %qw : f32
    %t = arith.truncf %s : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<4x8xbf16>
  %y, %m, %s = norm.layer_norm %h weight %w bias %b {normalized_shape = array<i64: 8>}
      : (tensor<4x8xbf16>, tensor<8xf32>, tensor<8xf32>) -> (tensor<4x8xbf16>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y, %h, %m, %s : tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x1xf32>, tensor<4x1xf32>
}
