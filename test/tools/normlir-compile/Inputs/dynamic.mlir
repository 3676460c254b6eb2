// One kernel for any number of rows: LayerNorm over ?x64 and an RMSNorm
// with a residual add over ?x?x32.
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @ln(%x: tensor<?x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x64xf32> {
  %y, %m, %r = norm.layer_norm %x weight %w bias %b {normalized_shape = array<i64: 64>}
      : (tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> (tensor<?x64xf32>, tensor<?x1xf32>, tensor<?x1xf32>)
  return %y : tensor<?x64xf32>
}

func.func @res_rms(%x: tensor<?x?x32xf32>, %h: tensor<?x?x32xf32>, %w: tensor<32xf32>) -> tensor<?x?x32xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %x, %c0 : tensor<?x?x32xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x32xf32>
  %e = tensor.empty(%n, %s) : tensor<?x?x32xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %h : tensor<?x?x32xf32>, tensor<?x?x32xf32>) outs(%e : tensor<?x?x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<?x?x32xf32>
  %y, %r = norm.rms_norm %sum weight %w {normalized_shape = array<i64: 32>}
      : (tensor<?x?x32xf32>, tensor<32xf32>) -> (tensor<?x?x32xf32>, tensor<?x?x1xf32>)
  return %y : tensor<?x?x32xf32>
}
