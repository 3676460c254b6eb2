// LayerNorm then RMSNorm, both statistics returned: the backward recomputes
// the LayerNorm's output (a norm.kernel) for the RMSNorm's gradient, beside
// two backward kernels given saved statistics.
func.func @chain(%x: tensor<64x256xf32>, %w: tensor<256xf32>, %b: tensor<256xf32>, %w2: tensor<256xf32>)
    -> (tensor<64x256xf32>, tensor<64x1xf32>, tensor<64x1xf32>, tensor<64x1xf32>) {
  %y, %m, %r = norm.layer_norm %x weight %w bias %b {normalized_shape = array<i64: 256>}
      : (tensor<64x256xf32>, tensor<256xf32>, tensor<256xf32>) -> (tensor<64x256xf32>, tensor<64x1xf32>, tensor<64x1xf32>)
  %z, %r2 = norm.rms_norm %y weight %w2 {normalized_shape = array<i64: 256>, epsilon = 1.0e-6 : f64}
      : (tensor<64x256xf32>, tensor<256xf32>) -> (tensor<64x256xf32>, tensor<64x1xf32>)
  return %z, %m, %r, %r2 : tensor<64x256xf32>, tensor<64x1xf32>, tensor<64x1xf32>, tensor<64x1xf32>
}
