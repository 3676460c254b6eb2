// InstanceNorm example: torch.nn.InstanceNorm2d(8, affine=True,
// track_running_stats=True) (eps = 1e-5, momentum = 0.1) in training mode on a
// 4x8x16x16 f32 input. Each (n, c) feature map is normalized over its 16x16
// elements. Results: y, then the updated running_mean and running_var: the
// per-(n, c) means and unbiased variances are averaged over the batch before
// the momentum update, as PyTorch does.
//
// Run (inputs from examples/make_inputs.py, see its docstring for the files):
//   /usr/bin/python3 examples/make_inputs.py /tmp/normlir-examples
//   D=/tmp/normlir-examples
//   build/bin/normlir-run examples/instance_norm.mlir --function=instance_norm \
//     --input=@$D/instance_norm.x.npy --input=@$D/instance_norm.weight.npy \
//     --input=@$D/instance_norm.bias.npy \
//     --input=@$D/instance_norm.running_mean.npy \
//     --input=@$D/instance_norm.running_var.npy \
//     --output=@$D/instance_norm.y.npy \
//     --output=@$D/instance_norm.new_running_mean.npy \
//     --output=@$D/instance_norm.new_running_var.npy
func.func @instance_norm(%x: tensor<4x8x16x16xf32>, %w: tensor<8xf32>,
                         %b: tensor<8xf32>, %rm: tensor<8xf32>,
                         %rv: tensor<8xf32>)
    -> (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>) {
  %y, %new_rm, %new_rv = norm.instance_norm %x weight %w bias %b
      running(%rm, %rv) {training, momentum = 1.0e-01 : f64}
      : (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>,
         tensor<8xf32>)
      -> (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>)
  return %y, %new_rm, %new_rv
      : tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>
}
