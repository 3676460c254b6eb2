// The tutorial LayerNorm (8x6x3x4, normalized over (3, 4)) with its saved
// statistics; and an RMSNorm in bf16, to check the uint16_t spelling.
func.func @ln(%x: tensor<8x6x3x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3x4xf32>)
    -> (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>) {
  %y, %mean, %rstd = norm.layer_norm %x weight %w bias %b
      {normalized_shape = array<i64: 3, 4>, epsilon = 1.0e-5 : f64}
      : (tensor<8x6x3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>)
      -> (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>)
  return %y, %mean, %rstd : tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>
}

func.func @rms_bf16(%x: tensor<4x64xbf16>, %w: tensor<64xbf16>) -> tensor<4x64xbf16> {
  %y, %rstd = norm.rms_norm %x weight %w {normalized_shape = array<i64: 64>}
      : (tensor<4x64xbf16>, tensor<64xbf16>) -> (tensor<4x64xbf16>, tensor<4x1xf32>)
  return %y : tensor<4x64xbf16>
}
