func.func @f(%x: tensor<32x128x56x56xf32>, %w: tensor<128xf32>, %b: tensor<128xf32>)
    -> (tensor<32x128x56x56xf32>, tensor<32x32xf32>, tensor<32x32xf32>) {
  %r:3 = norm.group_norm %x weight %w bias %b {num_groups = 32 : i64, epsilon = 1.0e-05 : f64}
      : (tensor<32x128x56x56xf32>, tensor<128xf32>, tensor<128xf32>)
      -> (tensor<32x128x56x56xf32>, tensor<32x32xf32>, tensor<32x32xf32>)
  return %r#0, %r#1, %r#2 : tensor<32x128x56x56xf32>, tensor<32x32xf32>, tensor<32x32xf32>
}
