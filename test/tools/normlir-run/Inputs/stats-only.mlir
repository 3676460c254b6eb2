// A function whose results are only statistics: nothing to differentiate.
func.func @stats(%x: tensor<2x4xf32>) -> tensor<2x1xf32> {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 4>}
      : (tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  return %m : tensor<2x1xf32>
}
