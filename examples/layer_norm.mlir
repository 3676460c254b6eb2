// LayerNorm example: torch.nn.LayerNorm([16, 16]) (eps = 1e-5, with weight and
// bias) on a 4x8x16x16 f32 input. Each (n, c) feature map is normalized over
// its 16x16 elements with the biased variance; the side results are PyTorch's
// native_layer_norm mean and rstd, of shape 4x8x1x1.
//
// Run (inputs from examples/make_inputs.py, see its docstring for the files):
//   /usr/bin/python3 examples/make_inputs.py /tmp/normlir-examples
//   build/bin/normlir-run examples/layer_norm.mlir --function=layer_norm \
//     --input=@/tmp/normlir-examples/layer_norm.x.npy \
//     --input=@/tmp/normlir-examples/layer_norm.weight.npy \
//     --input=@/tmp/normlir-examples/layer_norm.bias.npy \
//     --output=@/tmp/normlir-examples/layer_norm.y.npy \
//     --output=@/tmp/normlir-examples/layer_norm.mean.npy \
//     --output=@/tmp/normlir-examples/layer_norm.rstd.npy
func.func @layer_norm(%x: tensor<4x8x16x16xf32>, %w: tensor<16x16xf32>,
                      %b: tensor<16x16xf32>)
    -> (tensor<4x8x16x16xf32>, tensor<4x8x1x1xf32>, tensor<4x8x1x1xf32>) {
  %y, %mean, %rstd = norm.layer_norm %x weight %w bias %b
      {normalized_shape = array<i64: 16, 16>, epsilon = 1.0e-05 : f64}
      : (tensor<4x8x16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>)
      -> (tensor<4x8x16x16xf32>, tensor<4x8x1x1xf32>, tensor<4x8x1x1xf32>)
  return %y, %mean, %rstd
      : tensor<4x8x16x16xf32>, tensor<4x8x1x1xf32>, tensor<4x8x1x1xf32>
}
