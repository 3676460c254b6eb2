// Training BatchNorm, NCHW: the segment strategy.
func.func @bn(%x: tensor<4x8x16x16xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>,
              %rm: tensor<8xf32>, %rv: tensor<8xf32>)
    -> (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %r:5 = norm.batch_norm %x weight %w bias %b running(%rm, %rv)
      {training, epsilon = 1.0e-05 : f64, momentum = 1.0e-01 : f64}
      : (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
      -> (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
  return %r#0, %r#1, %r#2, %r#3, %r#4
      : tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
}
