// RUN: normlir-run %s --function=ln --input="2x4xf32=1 2 3 4 5 5 5 5" | FileCheck %s --check-prefix=LN
// RUN: normlir-run %s --function=rms --input="1x2xf32=3 4" --input="2xf32=1 2" | FileCheck %s --check-prefix=RMS
// RUN: normlir-run %s --function=bn --input="2x2x2xf32=1 2 10 20 3 4 30 40" --input="2xf32=0" --input="2xf32=1" --input="i64=3" | FileCheck %s --check-prefix=BN
// RUN: normlir-run %s --function=ln_bf16 --input="1x4xbf16=1 2 3 4" | FileCheck %s --check-prefix=BF16

// Row [1 2 3 4]: mean 2.5, biased var 1.25, rstd = 1/sqrt(1.25 + 1e-5) in f32.
// A constant row normalizes to exactly 0 (the bias).
// LN: result[0]: 2x4xf32=[-1.341635 -0.4472118 0.4472118 1.341635][0 0 0 0]
// LN: result[1]: 2x1xf32=[2.5][5]
// LN: result[2]: 2x1xf32=[0.8944237][316.2278]
func.func @ln(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>) {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 4>} : (tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  return %y, %m, %r : tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>
}

// [3 4]: mean square 12.5, eps = finfo(f32).eps; y = x * rsqrt(12.5 + eps) * w.
// RMS: result[0]: 1x2xf32=[0.8485281 2.262742]
// RMS: result[1]: 1x1xf32=[0.2828427]
func.func @rms(%x: tensor<1x2xf32>, %w: tensor<2xf32>) -> (tensor<1x2xf32>, tensor<1x1xf32>) {
  %y, %r = norm.rms_norm %x weight %w {normalized_shape = array<i64: 2>} : (tensor<1x2xf32>, tensor<2xf32>) -> (tensor<1x2xf32>, tensor<1x1xf32>)
  return %y, %r : tensor<1x2xf32>, tensor<1x1xf32>
}

// Channel 0 holds {1, 2, 3, 4}: mean 2.5, biased var 1.25, unbiased 5/3.
// Channel 1 holds {10, 20, 30, 40}: mean 25, biased var 125, unbiased 500/3.
// momentum=None with 3 batches tracked: m = 1/4.
// BN: result[1]: 2xf32=2.5 25
// BN: result[3]: 2xf32=0.625 6.25
// BN: result[4]: 2xf32=1.166667 42.41667
// BN: result[5]: i64=4
func.func @bn(%x: tensor<2x2x2xf32>, %rm: tensor<2xf32>, %rv: tensor<2xf32>, %n: tensor<i64>) -> (tensor<2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<i64>) {
  %y, %s:5 = norm.batch_norm %x running(%rm, %rv) batches_tracked %n {training, cumulative_average} : (tensor<2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<i64>) -> (tensor<2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<i64>)
  return %y, %s#0, %s#1, %s#2, %s#3, %s#4 : tensor<2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<i64>
}

// bf16 output, rounded once from f32: -1.341635 -> -1.34375.
// BF16: result[0]: 1x4xbf16=[-1.34375 -0.4472656 0.4472656 1.34375]
func.func @ln_bf16(%x: tensor<1x4xbf16>) -> (tensor<1x4xbf16>, tensor<1x1xf32>, tensor<1x1xf32>) {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 4>} : (tensor<1x4xbf16>) -> (tensor<1x4xbf16>, tensor<1x1xf32>, tensor<1x1xf32>)
  return %y, %m, %r : tensor<1x4xbf16>, tensor<1x1xf32>, tensor<1x1xf32>
}
