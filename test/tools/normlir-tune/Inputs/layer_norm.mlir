// LayerNorm over the last dim: the row strategy.
func.func @ln(%x: tensor<64x256xf32>, %w: tensor<256xf32>, %b: tensor<256xf32>)
    -> (tensor<64x256xf32>, tensor<64x1xf32>, tensor<64x1xf32>) {
  %y, %m, %r = norm.layer_norm %x weight %w bias %b
      {normalized_shape = array<i64: 256>, epsilon = 1.0e-5 : f64}
      : (tensor<64x256xf32>, tensor<256xf32>, tensor<256xf32>)
      -> (tensor<64x256xf32>, tensor<64x1xf32>, tensor<64x1xf32>)
  return %y, %m, %r : tensor<64x256xf32>, tensor<64x1xf32>, tensor<64x1xf32>
}
