// A spec may return the same tensor twice, or an input unchanged: each result
// still gets its own caller-owned buffer.
// RUN: normlir-run %s --function=twice --input="1x2xf32=1 3" | FileCheck %s --check-prefix=TWICE
// RUN: normlir-run %s --function=passthrough --input="2xf32=5 6" | FileCheck %s --check-prefix=PASS
// RUN: normlir-run %s --function=empty_bn --input="0x3x2xf32=" --input="3xf32=1 2 3" --input="3xf32=4 5 6" --input="i64=7" | FileCheck %s --check-prefix=EMPTY

// TWICE: result[0]: 1x2xf32=[-0.999995 0.999995]
// TWICE: result[1]: 1x2xf32=[-0.999995 0.999995]
func.func @twice(%x: tensor<1x2xf32>) -> (tensor<1x2xf32>, tensor<1x2xf32>) {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 2>} : (tensor<1x2xf32>) -> (tensor<1x2xf32>, tensor<1x1xf32>, tensor<1x1xf32>)
  return %y, %y : tensor<1x2xf32>, tensor<1x2xf32>
}

// PASS: result[0]: 2xf32=5 6
// PASS: result[1]: 2xf32=5 6
func.func @passthrough(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  return %x, %x : tensor<2xf32>, tensor<2xf32>
}

// As PyTorch: an empty batch gives an empty output, running statistics are
// unchanged, and num_batches_tracked still counts the call.
// EMPTY: result[0]: 0x3x2xf32=
// EMPTY: result[1]: 3xf32=0 0 0
// EMPTY: result[2]: 3xf32=0 0 0
// EMPTY: result[3]: 3xf32=1 2 3
// EMPTY: result[4]: 3xf32=4 5 6
// EMPTY: result[5]: i64=8
func.func @empty_bn(%x: tensor<0x3x2xf32>, %rm: tensor<3xf32>, %rv: tensor<3xf32>, %n: tensor<i64>) -> (tensor<0x3x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) {
  %y, %s:5 = norm.batch_norm %x running(%rm, %rv) batches_tracked %n {training} : (tensor<0x3x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> (tensor<0x3x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>)
  return %y, %s#0, %s#1, %s#2, %s#3, %s#4 : tensor<0x3x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>
}
