// BatchNorm example: torch.nn.BatchNorm2d(8) (eps = 1e-5, momentum = 0.1,
// affine, track_running_stats) in training mode on a 4x8x16x16 f32 input.
// Each channel is normalized with its batch statistics over N, H and W (biased
// variance). Results, in order:
//   y; save_mean, save_rstd (8, f32, as torch.native_batch_norm);
//   the updated running_mean and running_var (the variance enters unbiased,
//   n = 4 * 16 * 16); num_batches_tracked + 1.
// The running statistics are returned as new tensors; the inputs are not
// modified.
//
// Run (inputs from examples/make_inputs.py, see its docstring for the files):
//   /usr/bin/python3 examples/make_inputs.py /tmp/normlir-examples
//   D=/tmp/normlir-examples
//   build/bin/normlir-run examples/batch_norm.mlir --function=batch_norm \
//     --input=@$D/batch_norm.x.npy --input=@$D/batch_norm.weight.npy \
//     --input=@$D/batch_norm.bias.npy --input=@$D/batch_norm.running_mean.npy \
//     --input=@$D/batch_norm.running_var.npy \
//     --input=@$D/batch_norm.num_batches_tracked.npy \
//     --output=@$D/batch_norm.y.npy --output=@$D/batch_norm.save_mean.npy \
//     --output=@$D/batch_norm.save_rstd.npy \
//     --output=@$D/batch_norm.new_running_mean.npy \
//     --output=@$D/batch_norm.new_running_var.npy \
//     --output=@$D/batch_norm.new_num_batches_tracked.npy
func.func @batch_norm(%x: tensor<4x8x16x16xf32>, %w: tensor<8xf32>,
                      %b: tensor<8xf32>, %rm: tensor<8xf32>,
                      %rv: tensor<8xf32>, %nbt: tensor<i64>)
    -> (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>,
        tensor<8xf32>, tensor<i64>) {
  %r:6 = norm.batch_norm %x weight %w bias %b running(%rm, %rv)
      batches_tracked %nbt
      {training, epsilon = 1.0e-05 : f64, momentum = 1.0e-01 : f64}
      : (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>,
         tensor<8xf32>, tensor<i64>)
      -> (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>,
          tensor<8xf32>, tensor<i64>)
  return %r#0, %r#1, %r#2, %r#3, %r#4, %r#5
      : tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>,
        tensor<8xf32>, tensor<i64>
}
