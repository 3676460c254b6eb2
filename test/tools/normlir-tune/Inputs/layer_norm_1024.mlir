// LayerNorm over rows of 1024: its backward's rows are long enough to
// stream dx.
func.func @ln(%x: tensor<16x1024xf32>, %w: tensor<1024xf32>, %b: tensor<1024xf32>)
    -> (tensor<16x1024xf32>, tensor<16x1xf32>, tensor<16x1xf32>) {
  %y, %m, %r = norm.layer_norm %x weight %w bias %b
      {normalized_shape = array<i64: 1024>, epsilon = 1.0e-5 : f64}
      : (tensor<16x1024xf32>, tensor<1024xf32>, tensor<1024xf32>)
      -> (tensor<16x1024xf32>, tensor<16x1xf32>, tensor<16x1xf32>)
  return %y, %m, %r : tensor<16x1024xf32>, tensor<16x1xf32>, tensor<16x1xf32>
}
