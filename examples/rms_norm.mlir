// RMSNorm example: torch.nn.RMSNorm([16]) (eps=None, i.e. torch.finfo(f32).eps
// = 1.1920929e-07, with weight) on a 4x8x16x16 f32 input:
//   y = x * rsqrt(mean(x^2 over the last axis) + eps) * weight.
// No centring and no bias. The side result is the rstd, of shape 4x8x16x1.
//
// Run (inputs from examples/make_inputs.py, see its docstring for the files):
//   /usr/bin/python3 examples/make_inputs.py /tmp/normlir-examples
//   build/bin/normlir-run examples/rms_norm.mlir --function=rms_norm \
//     --input=@/tmp/normlir-examples/rms_norm.x.npy \
//     --input=@/tmp/normlir-examples/rms_norm.weight.npy \
//     --output=@/tmp/normlir-examples/rms_norm.y.npy \
//     --output=@/tmp/normlir-examples/rms_norm.rstd.npy
func.func @rms_norm(%x: tensor<4x8x16x16xf32>, %w: tensor<16xf32>)
    -> (tensor<4x8x16x16xf32>, tensor<4x8x16x1xf32>) {
  %y, %rstd = norm.rms_norm %x weight %w {normalized_shape = array<i64: 16>}
      : (tensor<4x8x16x16xf32>, tensor<16xf32>)
      -> (tensor<4x8x16x16xf32>, tensor<4x8x16x1xf32>)
  return %y, %rstd : tensor<4x8x16x16xf32>, tensor<4x8x16x1xf32>
}
