// The same LayerNorm twice in @twice (two kernels, one key), and once in
// @once.
func.func @twice(%x: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 32>, epsilon = 1.0e-5 : f64}
      : (tensor<8x32xf32>) -> (tensor<8x32xf32>, tensor<8x1xf32>, tensor<8x1xf32>)
  %z, %m2, %r2 = norm.layer_norm %y {normalized_shape = array<i64: 32>, epsilon = 1.0e-5 : f64}
      : (tensor<8x32xf32>) -> (tensor<8x32xf32>, tensor<8x1xf32>, tensor<8x1xf32>)
  return %z : tensor<8x32xf32>
}

func.func @once(%x: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 32>, epsilon = 1.0e-5 : f64}
      : (tensor<8x32xf32>) -> (tensor<8x32xf32>, tensor<8x1xf32>, tensor<8x1xf32>)
  return %y : tensor<8x32xf32>
}

func.func private @helper(%x: tensor<8x32xf32>) -> tensor<8x32xf32> {
  return %x : tensor<8x32xf32>
}

func.func @copy(%x: tensor<8x32xf32>) -> tensor<8x32xf32> {
  return %x : tensor<8x32xf32>
}
