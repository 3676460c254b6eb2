// GroupNorm example: torch.nn.GroupNorm(4, 8) (eps = 1e-5, affine) on a
// 4x8x16x16 f32 input. Each sample's 8 channels form 4 groups of 2; each
// (n, group) is normalized over its 2x16x16 elements, then scaled and shifted
// per channel. The side results are PyTorch's native_group_norm mean and rstd,
// of shape (N, G) = 4x4.
//
// Run (inputs from examples/make_inputs.py, see its docstring for the files):
//   /usr/bin/python3 examples/make_inputs.py /tmp/normlir-examples
//   build/bin/normlir-run examples/group_norm.mlir --function=group_norm \
//     --input=@/tmp/normlir-examples/group_norm.x.npy \
//     --input=@/tmp/normlir-examples/group_norm.weight.npy \
//     --input=@/tmp/normlir-examples/group_norm.bias.npy \
//     --output=@/tmp/normlir-examples/group_norm.y.npy \
//     --output=@/tmp/normlir-examples/group_norm.mean.npy \
//     --output=@/tmp/normlir-examples/group_norm.rstd.npy
func.func @group_norm(%x: tensor<4x8x16x16xf32>, %w: tensor<8xf32>,
                      %b: tensor<8xf32>)
    -> (tensor<4x8x16x16xf32>, tensor<4x4xf32>, tensor<4x4xf32>) {
  %y, %mean, %rstd = norm.group_norm %x weight %w bias %b
      {num_groups = 4 : i64, epsilon = 1.0e-05 : f64}
      : (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>)
      -> (tensor<4x8x16x16xf32>, tensor<4x4xf32>, tensor<4x4xf32>)
  return %y, %mean, %rstd
      : tensor<4x8x16x16xf32>, tensor<4x4xf32>, tensor<4x4xf32>
}
