// Ahead-of-time example: torch.nn.LayerNorm([3, 4]) (eps = 1e-5, with weight
// and bias) on the tutorial's 8x6x3x4 f32 input, returning PyTorch's
// native_layer_norm results: the output, and the mean and rstd of each of
// the 48 (n, c) feature maps, of shape 8x6x1x1.
//
// normlir-compile turns it into a shared library and a C header declaring
//   int32_t ln(const float *input0, const float *input1, const float *input2,
//              float *result0, float *result1, float *result2);
// (see docs/c-api.md); main.c calls it. Build and run:
//   P=/opt/normlir     # an install prefix: cmake --install build --prefix $P
//   $P/bin/normlir-compile examples/aot/layer_norm.mlir -o libnorms.so --header=norms.h
//   cc examples/aot/main.c -I. -L. -lnorms -Wl,-rpath,$PWD -lm -o ln-aot && ./ln-aot
func.func @ln(%x: tensor<8x6x3x4xf32>, %w: tensor<3x4xf32>,
              %b: tensor<3x4xf32>)
    -> (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>) {
  %y, %mean, %rstd = norm.layer_norm %x weight %w bias %b
      {normalized_shape = array<i64: 3, 4>, epsilon = 1.0e-05 : f64}
      : (tensor<8x6x3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>)
      -> (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>)
  return %y, %mean, %rstd
      : tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>
}
