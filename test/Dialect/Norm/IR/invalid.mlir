// RUN: normlir-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// Type constraints (ODS)
//===----------------------------------------------------------------------===//

func.func @input_i32(%x: tensor<4x8xi32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<4x8xi32>'}}
  %0 = norm.mean_square %x axes = [1] : tensor<4x8xi32> -> tensor<4x1xf32>
  return
}

// -----

func.func @input_f64(%x: tensor<4x8xf64>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<4x8xf64>'}}
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 8>} : (tensor<4x8xf64>) -> (tensor<4x8xf64>, tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

func.func @input_unranked(%x: tensor<*xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<*xf32>'}}
  %0 = "norm.mean_square"(%x) {axes = array<i64: 1>} : (tensor<*xf32>) -> tensor<?x1xf32>
  return
}

// -----

func.func @stat_not_f32(%x: tensor<4x8xf16>) {
  // expected-error @+1 {{result #0 must be ranked tensor of 32-bit float values, but got 'tensor<4x1xf16>'}}
  %0 = norm.mean_square %x axes = [1] : tensor<4x8xf16> -> tensor<4x1xf16>
  return
}

// -----

func.func @counter_not_i64(%x: tensor<8x4xf32>, %rm: tensor<4xf32>, %rv: tensor<4xf32>, %n: tensor<i32>) {
  // expected-error @+1 {{operand #3 must be 0D tensor of 64-bit signless integer values, but got 'tensor<i32>'}}
  %y:6 = norm.batch_norm %x running(%rm, %rv) batches_tracked %n {training}
      : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i32>)
      -> (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// norm.moments
//===----------------------------------------------------------------------===//

func.func @moments_axis_out_of_range(%x: tensor<8x6x3x4xf32>) {
  // expected-error @+1 {{'norm.moments' op axis 4 is out of range [0, 4)}}
  %m, %v = norm.moments %x axes = [2, 4] : tensor<8x6x3x4xf32> -> tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>
  return
}

// -----

func.func @moments_axis_negative(%x: tensor<8x6x3x4xf32>) {
  // expected-error @+1 {{'norm.moments' op axis -1 is out of range [0, 4)}}
  %m, %v = norm.moments %x axes = [-1] : tensor<8x6x3x4xf32> -> tensor<8x6x3x1xf32>, tensor<8x6x3x1xf32>
  return
}

// -----

func.func @moments_axes_unsorted(%x: tensor<8x6x3x4xf32>) {
  // expected-error @+1 {{'norm.moments' op axis must be distinct and ascending, got [3, 2]}}
  %m, %v = norm.moments %x axes = [3, 2] : tensor<8x6x3x4xf32> -> tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>
  return
}

// -----

func.func @moments_axes_duplicate(%x: tensor<8x6x3x4xf32>) {
  // expected-error @+1 {{'norm.moments' op axis must be distinct and ascending, got [2, 2]}}
  %m, %v = norm.moments %x axes = [2, 2] : tensor<8x6x3x4xf32> -> tensor<8x6x1x4xf32>, tensor<8x6x1x4xf32>
  return
}

// -----

func.func @moments_no_axes(%x: tensor<8x6xf32>) {
  // expected-error @+1 {{'norm.moments' op expects at least one reduction axis}}
  %m, %v = norm.moments %x axes = [] : tensor<8x6xf32> -> tensor<8x6xf32>, tensor<8x6xf32>
  return
}

// -----

func.func @moments_result_not_keepdims(%x: tensor<8x6x3x4xf32>) {
  // expected-error @+1 {{'norm.moments' op result must have type 'tensor<8x6x1x1xf32>', got 'tensor<8x6xf32>'}}
  %m, %v = norm.moments %x axes = [2, 3] : tensor<8x6x3x4xf32> -> tensor<8x6xf32>, tensor<8x6xf32>
  return
}

// -----

func.func @moments_result_types_differ(%x: tensor<8x6xf32>) {
  // expected-error @+1 {{'norm.moments' op failed to verify that all of {mean, variance} have same type}}
  %m, %v = "norm.moments"(%x) <{axes = array<i64: 1>}> : (tensor<8x6xf32>) -> (tensor<8x1xf32>, tensor<1x1xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// norm.mean_square
//===----------------------------------------------------------------------===//

func.func @mean_square_axis_out_of_range(%x: tensor<4x16xf32>) {
  // expected-error @+1 {{'norm.mean_square' op axis 2 is out of range [0, 2)}}
  %0 = norm.mean_square %x axes = [2] : tensor<4x16xf32> -> tensor<4x1xf32>
  return
}

// -----

func.func @mean_square_axes_unsorted(%x: tensor<2x4x16xf32>) {
  // expected-error @+1 {{'norm.mean_square' op axis must be distinct and ascending, got [2, 1]}}
  %0 = norm.mean_square %x axes = [2, 1] : tensor<2x4x16xf32> -> tensor<2x1x1xf32>
  return
}

// -----

func.func @mean_square_wrong_result_shape(%x: tensor<4x16xbf16>) {
  // expected-error @+1 {{'norm.mean_square' op result must have type 'tensor<4x1xf32>', got 'tensor<1x16xf32>'}}
  %0 = norm.mean_square %x axes = [1] : tensor<4x16xbf16> -> tensor<1x16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// norm.rstd
//===----------------------------------------------------------------------===//

func.func @rstd_negative_epsilon(%v: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.rstd' op epsilon must not be negative, got -1.000000e-05}}
  %0 = norm.rstd %v epsilon = -1.0e-5 : tensor<4x1xf32> -> tensor<4x1xf32>
  return
}

// -----

func.func @rstd_minus_inf_epsilon(%v: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.rstd' op epsilon must not be negative, got -INF}}
  %0 = norm.rstd %v epsilon = 0xFFF0000000000000 : tensor<4x1xf32> -> tensor<4x1xf32>
  return
}

// -----

func.func @rstd_shape_mismatch(%v: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.rstd' op failed to verify that all of {variance, result} have same shape}}
  %0 = norm.rstd %v epsilon = 1.0e-5 : tensor<4x1xf32> -> tensor<4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// norm.apply
//===----------------------------------------------------------------------===//

func.func @apply_mean_rank(%x: tensor<8x6xf32>, %m: tensor<8xf32>, %r: tensor<8x1xf32>) {
  // expected-error @+1 {{'norm.apply' op mean must have the input's rank 2, got 1}}
  %0 = norm.apply %x mean %m rstd %r : (tensor<8x6xf32>, tensor<8xf32>, tensor<8x1xf32>) -> tensor<8x6xf32>
  return
}

// -----

func.func @apply_rstd_not_broadcastable(%x: tensor<8x6xf32>, %m: tensor<8x1xf32>, %r: tensor<8x3xf32>) {
  // expected-error @+1 {{'norm.apply' op rstd dimension 1 is 3; it must be 1 or the input's 6}}
  %0 = norm.apply %x mean %m rstd %r : (tensor<8x6xf32>, tensor<8x1xf32>, tensor<8x3xf32>) -> tensor<8x6xf32>
  return
}

// -----

func.func @apply_param_axis_out_of_range(%x: tensor<8x6xf32>, %r: tensor<8x1xf32>, %w: tensor<6xf32>) {
  // expected-error @+1 {{'norm.apply' op param axis 2 is out of range [0, 2)}}
  %0 = norm.apply %x rstd %r weight %w {param_axes = array<i64: 2>} : (tensor<8x6xf32>, tensor<8x1xf32>, tensor<6xf32>) -> tensor<8x6xf32>
  return
}

// -----

func.func @apply_param_axes_unsorted(%x: tensor<2x3x4xf32>, %r: tensor<2x1x1xf32>, %w: tensor<4x3xf32>) {
  // expected-error @+1 {{'norm.apply' op param axis must be distinct and ascending, got [2, 1]}}
  %0 = norm.apply %x rstd %r weight %w {param_axes = array<i64: 2, 1>} : (tensor<2x3x4xf32>, tensor<2x1x1xf32>, tensor<4x3xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @apply_weight_shape(%x: tensor<8x6xf32>, %r: tensor<8x1xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'norm.apply' op weight shape [8] does not match the expected [6]}}
  %0 = norm.apply %x rstd %r weight %w {param_axes = array<i64: 1>} : (tensor<8x6xf32>, tensor<8x1xf32>, tensor<8xf32>) -> tensor<8x6xf32>
  return
}

// -----

func.func @apply_bias_shape(%x: tensor<8x6xf32>, %r: tensor<8x1xf32>, %w: tensor<6xf32>, %b: tensor<1x6xf32>) {
  // expected-error @+1 {{'norm.apply' op bias shape [1, 6] does not match the expected [6]}}
  %0 = norm.apply %x rstd %r weight %w bias %b {param_axes = array<i64: 1>} : (tensor<8x6xf32>, tensor<8x1xf32>, tensor<6xf32>, tensor<1x6xf32>) -> tensor<8x6xf32>
  return
}

// -----

func.func @apply_weight_dtype(%x: tensor<8x6xf16>, %r: tensor<8x1xf32>, %w: tensor<6xbf16>) {
  // expected-error @+1 {{'norm.apply' op weight element type 'bf16' must be f32 or the input's 'f16'}}
  %0 = norm.apply %x rstd %r weight %w {param_axes = array<i64: 1>} : (tensor<8x6xf16>, tensor<8x1xf32>, tensor<6xbf16>) -> tensor<8x6xf16>
  return
}

// -----

func.func @apply_param_axes_without_params(%x: tensor<8x6xf32>, %r: tensor<8x1xf32>) {
  // expected-error @+1 {{'norm.apply' op param_axes must be given exactly when weight or bias is}}
  %0 = norm.apply %x rstd %r {param_axes = array<i64: 1>} : (tensor<8x6xf32>, tensor<8x1xf32>) -> tensor<8x6xf32>
  return
}

// -----

func.func @apply_params_without_param_axes(%x: tensor<8x6xf32>, %r: tensor<8x1xf32>, %w: tensor<f32>) {
  // A rank-0 weight matches the (empty) shape of no param axes; C4 still
  // rejects it.
  // expected-error @+1 {{'norm.apply' op param_axes must be given exactly when weight or bias is}}
  %0 = norm.apply %x rstd %r weight %w : (tensor<8x6xf32>, tensor<8x1xf32>, tensor<f32>) -> tensor<8x6xf32>
  return
}

// -----

func.func @apply_result_type(%x: tensor<8x6xbf16>, %r: tensor<8x1xf32>) {
  // expected-error @+1 {{'norm.apply' op result must have type 'tensor<8x6xbf16>', got 'tensor<8x6xf32>'}}
  %0 = norm.apply %x rstd %r : (tensor<8x6xbf16>, tensor<8x1xf32>) -> tensor<8x6xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// norm.layer_norm
//===----------------------------------------------------------------------===//

func.func @layer_norm_empty_normalized_shape(%x: tensor<8x6xf32>) {
  // expected-error @+1 {{'norm.layer_norm' op normalized_shape must have between 1 and rank(input) = 2 dimensions, got 0}}
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64>} : (tensor<8x6xf32>) -> (tensor<8x6xf32>, tensor<8x6xf32>, tensor<8x6xf32>)
  return
}

// -----

func.func @layer_norm_normalized_shape_too_long(%x: tensor<8x6xf32>) {
  // expected-error @+1 {{'norm.layer_norm' op normalized_shape must have between 1 and rank(input) = 2 dimensions, got 3}}
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 1, 8, 6>} : (tensor<8x6xf32>) -> (tensor<8x6xf32>, tensor<1x1xf32>, tensor<1x1xf32>)
  return
}

// -----

// PyTorch: "Given normalized_shape=[8], expected input with shape [*, 8]".
func.func @layer_norm_normalized_shape_mismatch(%x: tensor<8x6xf32>) {
  // expected-error @+1 {{'norm.layer_norm' op normalized_shape [8] does not match the trailing dimensions of the input shape [8, 6] (-1 stands for a dynamic dimension)}}
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 8>} : (tensor<8x6xf32>) -> (tensor<8x6xf32>, tensor<8x1xf32>, tensor<8x1xf32>)
  return
}

// -----

func.func @layer_norm_weight_shape(%x: tensor<8x6xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'norm.layer_norm' op weight shape [8] does not match the expected [6]}}
  %y, %m, %r = norm.layer_norm %x weight %w {normalized_shape = array<i64: 6>} : (tensor<8x6xf32>, tensor<8xf32>) -> (tensor<8x6xf32>, tensor<8x1xf32>, tensor<8x1xf32>)
  return
}

// -----

func.func @layer_norm_bias_shape(%x: tensor<2x8x6xf32>, %b: tensor<6xf32>) {
  // expected-error @+1 {{'norm.layer_norm' op bias shape [6] does not match the expected [8, 6]}}
  %y, %m, %r = norm.layer_norm %x bias %b {normalized_shape = array<i64: 8, 6>} : (tensor<2x8x6xf32>, tensor<6xf32>) -> (tensor<2x8x6xf32>, tensor<2x1x1xf32>, tensor<2x1x1xf32>)
  return
}

// -----

func.func @layer_norm_weight_dtype(%x: tensor<8x6xf32>, %w: tensor<6xf16>) {
  // expected-error @+1 {{'norm.layer_norm' op weight element type 'f16' must be f32 or the input's 'f32'}}
  %y, %m, %r = norm.layer_norm %x weight %w {normalized_shape = array<i64: 6>} : (tensor<8x6xf32>, tensor<6xf16>) -> (tensor<8x6xf32>, tensor<8x1xf32>, tensor<8x1xf32>)
  return
}

// -----

func.func @layer_norm_output_type(%x: tensor<8x6xf16>) {
  // expected-error @+1 {{'norm.layer_norm' op output must have type 'tensor<8x6xf16>', got 'tensor<8x6xf32>'}}
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 6>} : (tensor<8x6xf16>) -> (tensor<8x6xf32>, tensor<8x1xf32>, tensor<8x1xf32>)
  return
}

// -----

func.func @layer_norm_mean_type(%x: tensor<8x6xf32>) {
  // expected-error @+1 {{'norm.layer_norm' op mean must have type 'tensor<8x1xf32>', got 'tensor<8xf32>'}}
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 6>} : (tensor<8x6xf32>) -> (tensor<8x6xf32>, tensor<8xf32>, tensor<8x1xf32>)
  return
}

// -----

func.func @layer_norm_rstd_type(%x: tensor<8x6xf32>) {
  // expected-error @+1 {{'norm.layer_norm' op rstd must have type 'tensor<8x1xf32>', got 'tensor<1x6xf32>'}}
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 6>} : (tensor<8x6xf32>) -> (tensor<8x6xf32>, tensor<8x1xf32>, tensor<1x6xf32>)
  return
}

// -----

func.func @layer_norm_negative_epsilon(%x: tensor<8x6xf32>) {
  // expected-error @+1 {{'norm.layer_norm' op epsilon must not be negative, got -1.000000e-05}}
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 6>, epsilon = -1.0e-5 : f64} : (tensor<8x6xf32>) -> (tensor<8x6xf32>, tensor<8x1xf32>, tensor<8x1xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// norm.rms_norm
//===----------------------------------------------------------------------===//

func.func @rms_norm_normalized_shape_mismatch(%x: tensor<2x5x16xf32>) {
  // expected-error @+1 {{'norm.rms_norm' op normalized_shape [16, 5] does not match the trailing dimensions of the input shape [2, 5, 16] (-1 stands for a dynamic dimension)}}
  %y, %r = norm.rms_norm %x {normalized_shape = array<i64: 16, 5>} : (tensor<2x5x16xf32>) -> (tensor<2x5x16xf32>, tensor<2x1x1xf32>)
  return
}

// -----

func.func @rms_norm_empty_normalized_shape(%x: tensor<2x5x16xf32>) {
  // expected-error @+1 {{'norm.rms_norm' op normalized_shape must have between 1 and rank(input) = 3 dimensions, got 0}}
  %y, %r = norm.rms_norm %x {normalized_shape = array<i64>} : (tensor<2x5x16xf32>) -> (tensor<2x5x16xf32>, tensor<2x5x16xf32>)
  return
}

// -----

func.func @rms_norm_weight_shape(%x: tensor<2x5x16xf32>, %w: tensor<5x16xf32>) {
  // expected-error @+1 {{'norm.rms_norm' op weight shape [5, 16] does not match the expected [16]}}
  %y, %r = norm.rms_norm %x weight %w {normalized_shape = array<i64: 16>} : (tensor<2x5x16xf32>, tensor<5x16xf32>) -> (tensor<2x5x16xf32>, tensor<2x5x1xf32>)
  return
}

// -----

func.func @rms_norm_weight_dtype(%x: tensor<2x5x16xbf16>, %w: tensor<16xf16>) {
  // expected-error @+1 {{'norm.rms_norm' op weight element type 'f16' must be f32 or the input's 'bf16'}}
  %y, %r = norm.rms_norm %x weight %w {normalized_shape = array<i64: 16>} : (tensor<2x5x16xbf16>, tensor<16xf16>) -> (tensor<2x5x16xbf16>, tensor<2x5x1xf32>)
  return
}

// -----

func.func @rms_norm_output_type(%x: tensor<2x5x16xbf16>) {
  // expected-error @+1 {{'norm.rms_norm' op output must have type 'tensor<2x5x16xbf16>', got 'tensor<2x5x16xf16>'}}
  %y, %r = norm.rms_norm %x {normalized_shape = array<i64: 16>} : (tensor<2x5x16xbf16>) -> (tensor<2x5x16xf16>, tensor<2x5x1xf32>)
  return
}

// -----

func.func @rms_norm_rstd_type(%x: tensor<2x5x16xf32>) {
  // expected-error @+1 {{'norm.rms_norm' op rstd must have type 'tensor<2x5x1xf32>', got 'tensor<2x1x1xf32>'}}
  %y, %r = norm.rms_norm %x {normalized_shape = array<i64: 16>} : (tensor<2x5x16xf32>) -> (tensor<2x5x16xf32>, tensor<2x1x1xf32>)
  return
}

// -----

func.func @rms_norm_negative_epsilon(%x: tensor<2x5x16xf32>) {
  // expected-error @+1 {{'norm.rms_norm' op epsilon must not be negative, got -1.000000e+00}}
  %y, %r = norm.rms_norm %x {normalized_shape = array<i64: 16>, epsilon = -1.0 : f64} : (tensor<2x5x16xf32>) -> (tensor<2x5x16xf32>, tensor<2x5x1xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// norm.batch_norm
//===----------------------------------------------------------------------===//

func.func @batch_norm_rank1(%x: tensor<8xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op expects an input of rank >= 2, got rank 1}}
  %y:3 = norm.batch_norm %x {training} : (tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
  return
}

// -----

func.func @batch_norm_channel_axis(%x: tensor<8x4x5x5xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op channel_axis must be 1 (NC...) or 3 (channels-last), got 2}}
  %y:3 = norm.batch_norm %x {training, channel_axis = 2 : i64} : (tensor<8x4x5x5xf32>) -> (tensor<8x4x5x5xf32>, tensor<5xf32>, tensor<5xf32>)
  return
}

// -----

func.func @batch_norm_channel_axis_negative(%x: tensor<8x4x5x5xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op channel_axis must be 1 (NC...) or 3 (channels-last), got -1}}
  %y:3 = norm.batch_norm %x {training, channel_axis = -1 : i64} : (tensor<8x4x5x5xf32>) -> (tensor<8x4x5x5xf32>, tensor<5xf32>, tensor<5xf32>)
  return
}

// -----

// PyTorch: "running_mean should contain 4 elements not 5".
func.func @batch_norm_running_mean_shape(%x: tensor<8x4x5xf32>, %rm: tensor<5xf32>, %rv: tensor<5xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op running_mean shape [5] does not match the expected [4]}}
  %y = norm.batch_norm %x running(%rm, %rv) : (tensor<8x4x5xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<8x4x5xf32>
  return
}

// -----

func.func @batch_norm_weight_shape_channels_last(%x: tensor<8x5x4xf32>, %w: tensor<5xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op weight shape [5] does not match the expected [4]}}
  %y:3 = norm.batch_norm %x weight %w {training, channel_axis = 2 : i64} : (tensor<8x5x4xf32>, tensor<5xf32>) -> (tensor<8x5x4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @batch_norm_bias_dtype(%x: tensor<8x4xf16>, %b: tensor<4xbf16>) {
  // expected-error @+1 {{'norm.batch_norm' op bias element type 'bf16' must be f32 or the input's 'f16'}}
  %y:3 = norm.batch_norm %x bias %b {training} : (tensor<8x4xf16>, tensor<4xbf16>) -> (tensor<8x4xf16>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @batch_norm_running_var_dtype(%x: tensor<8x4xbf16>, %rm: tensor<4xbf16>, %rv: tensor<4xf16>) {
  // expected-error @+1 {{'norm.batch_norm' op running_var element type 'f16' must be f32 or the input's 'bf16'}}
  %y = norm.batch_norm %x running(%rm, %rv) : (tensor<8x4xbf16>, tensor<4xbf16>, tensor<4xf16>) -> tensor<8x4xbf16>
  return
}

// -----

func.func @batch_norm_running_types_differ(%x: tensor<8x4xf16>, %rm: tensor<4xf16>, %rv: tensor<4xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op running_mean and running_var must have the same type}}
  %y = norm.batch_norm %x running(%rm, %rv) : (tensor<8x4xf16>, tensor<4xf16>, tensor<4xf32>) -> tensor<8x4xf16>
  return
}

// -----

// The generic form can name one running statistic alone; it is rejected.
func.func @batch_norm_running_mean_alone(%x: tensor<2x4x3xf32>, %rm: tensor<4xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op running_mean and running_var must be given together}}
  %y:3 = "norm.batch_norm"(%x, %rm) <{operandSegmentSizes = array<i32: 1, 0, 0, 1, 0, 0>, training}> : (tensor<2x4x3xf32>, tensor<4xf32>) -> (tensor<2x4x3xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @batch_norm_running_var_alone(%x: tensor<2x4x3xf32>, %rv: tensor<4xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op running_mean and running_var must be given together}}
  %y:3 = "norm.batch_norm"(%x, %rv) <{operandSegmentSizes = array<i32: 1, 0, 0, 0, 1, 0>, training}> : (tensor<2x4x3xf32>, tensor<4xf32>) -> (tensor<2x4x3xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @instance_norm_running_mean_alone(%x: tensor<2x4x3xf32>, %rm: tensor<4xf32>) {
  // expected-error @+1 {{'norm.instance_norm' op running_mean and running_var must be given together}}
  %y = "norm.instance_norm"(%x, %rm) <{operandSegmentSizes = array<i32: 1, 0, 0, 1, 0, 0>, training}> : (tensor<2x4x3xf32>, tensor<4xf32>) -> tensor<2x4x3xf32>
  return
}

// -----

func.func @batch_norm_eval_without_running(%x: tensor<8x4xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op eval mode (no 'training') requires running_mean and running_var}}
  %y = norm.batch_norm %x : (tensor<8x4xf32>) -> tensor<8x4xf32>
  return
}

// -----

// PyTorch: "Expected more than 1 value per channel when training, got input
// size torch.Size([1, 4])".
func.func @batch_norm_one_value_per_channel(%x: tensor<1x4xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op expected more than 1 value per channel when training, got input shape [1, 4]}}
  %y:3 = norm.batch_norm %x {training} : (tensor<1x4xf32>) -> (tensor<1x4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @batch_norm_one_value_per_channel_3d(%x: tensor<1x4x1x1xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op expected more than 1 value per channel when training, got input shape [1, 4, 1, 1]}}
  %y:3 = norm.batch_norm %x {training} : (tensor<1x4x1x1xf32>) -> (tensor<1x4x1x1xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @batch_norm_one_value_per_channel_last(%x: tensor<1x1x4xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op expected more than 1 value per channel when training, got input shape [1, 1, 4]}}
  %y:3 = norm.batch_norm %x {training, channel_axis = 2 : i64} : (tensor<1x1x4xf32>) -> (tensor<1x1x4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @batch_norm_cumulative_average_without_counter(%x: tensor<8x4xf32>, %rm: tensor<4xf32>, %rv: tensor<4xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op cumulative_average (momentum=None) requires 'training' and num_batches_tracked}}
  %y:5 = norm.batch_norm %x running(%rm, %rv) {training, cumulative_average}
      : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @batch_norm_cumulative_average_eval(%x: tensor<8x4xf32>, %rm: tensor<4xf32>, %rv: tensor<4xf32>, %n: tensor<i64>) {
  // expected-error @+1 {{'norm.batch_norm' op cumulative_average (momentum=None) requires 'training' and num_batches_tracked}}
  %y = norm.batch_norm %x running(%rm, %rv) batches_tracked %n {cumulative_average}
      : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>) -> tensor<8x4xf32>
  return
}

// -----

func.func @batch_norm_counter_without_running(%x: tensor<8x4xf32>, %n: tensor<i64>) {
  // expected-error @+1 {{'norm.batch_norm' op num_batches_tracked is only counted in training with running statistics}}
  %y:4 = norm.batch_norm %x batches_tracked %n {training}
      : (tensor<8x4xf32>, tensor<i64>) -> (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>)
  return
}

// -----

func.func @batch_norm_counter_in_eval(%x: tensor<8x4xf32>, %rm: tensor<4xf32>, %rv: tensor<4xf32>, %n: tensor<i64>) {
  // expected-error @+1 {{'norm.batch_norm' op num_batches_tracked is only counted in training with running statistics}}
  %y = norm.batch_norm %x running(%rm, %rv) batches_tracked %n
      : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>) -> tensor<8x4xf32>
  return
}

// -----

func.func @batch_norm_training_missing_save_stats(%x: tensor<8x4xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op expects 2 side results (training: save_mean, save_rstd, then updated running_mean, running_var and num_batches_tracked when given; eval: none), got 0}}
  %y = norm.batch_norm %x {training} : (tensor<8x4xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @batch_norm_training_missing_running_update(%x: tensor<8x4xf32>, %rm: tensor<4xf32>, %rv: tensor<4xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op expects 4 side results}}
  %y:3 = norm.batch_norm %x running(%rm, %rv) {training}
      : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @batch_norm_training_missing_counter(%x: tensor<8x4xf32>, %rm: tensor<4xf32>, %rv: tensor<4xf32>, %n: tensor<i64>) {
  // expected-error @+1 {{'norm.batch_norm' op expects 5 side results}}
  %y:5 = norm.batch_norm %x running(%rm, %rv) batches_tracked %n {training}
      : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>)
      -> (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @batch_norm_eval_with_side_results(%x: tensor<8x4xf32>, %rm: tensor<4xf32>, %rv: tensor<4xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op expects 0 side results}}
  %y:3 = norm.batch_norm %x running(%rm, %rv)
      : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @batch_norm_save_mean_type(%x: tensor<8x4xf16>) {
  // expected-error @+1 {{'norm.batch_norm' op side result 0 must have type 'tensor<4xf32>', got 'tensor<4xf16>'}}
  %y:3 = norm.batch_norm %x {training} : (tensor<8x4xf16>) -> (tensor<8x4xf16>, tensor<4xf16>, tensor<4xf32>)
  return
}

// -----

func.func @batch_norm_running_update_type(%x: tensor<8x4xf16>, %rm: tensor<4xf16>, %rv: tensor<4xf16>) {
  // The updated running statistics keep the running statistics' type.
  // expected-error @+1 {{'norm.batch_norm' op side result 3 must have type 'tensor<4xf16>', got 'tensor<4xf32>'}}
  %y:5 = norm.batch_norm %x running(%rm, %rv) {training}
      : (tensor<8x4xf16>, tensor<4xf16>, tensor<4xf16>) -> (tensor<8x4xf16>, tensor<4xf32>, tensor<4xf32>, tensor<4xf16>, tensor<4xf32>)
  return
}

// -----

func.func @batch_norm_output_type(%x: tensor<8x4xf16>) {
  // expected-error @+1 {{'norm.batch_norm' op output must have type 'tensor<8x4xf16>', got 'tensor<8x4xf32>'}}
  %y:3 = norm.batch_norm %x {training} : (tensor<8x4xf16>) -> (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @batch_norm_negative_epsilon(%x: tensor<8x4xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op epsilon must not be negative, got -1.000000e-05}}
  %y:3 = norm.batch_norm %x {training, epsilon = -1.0e-5 : f64} : (tensor<8x4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @batch_norm_momentum_above_one(%x: tensor<8x4xf32>, %rm: tensor<4xf32>, %rv: tensor<4xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op momentum must be in [0, 1], got 1.500000e+00}}
  %y:5 = norm.batch_norm %x running(%rm, %rv) {training, momentum = 1.5 : f64}
      : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @batch_norm_momentum_negative(%x: tensor<8x4xf32>, %rm: tensor<4xf32>, %rv: tensor<4xf32>) {
  // expected-error @+1 {{'norm.batch_norm' op momentum must be in [0, 1], got -1.000000e-01}}
  %y:5 = norm.batch_norm %x running(%rm, %rv) {training, momentum = -0.1 : f64}
      : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// norm.instance_norm
//===----------------------------------------------------------------------===//

// PyTorch's InstanceNorm1d rejects 1-D (unbatched 2-D would be (C, L)).
func.func @instance_norm_rank2(%x: tensor<8x4xf32>) {
  // expected-error @+1 {{'norm.instance_norm' op expects an input of rank >= 3, got rank 2}}
  %y = norm.instance_norm %x : (tensor<8x4xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @instance_norm_channel_axis(%x: tensor<2x3x4x4xf32>) {
  // expected-error @+1 {{'norm.instance_norm' op channel_axis must be 1 (NC...) or 3 (channels-last), got 0}}
  %y = norm.instance_norm %x {channel_axis = 0 : i64} : (tensor<2x3x4x4xf32>) -> tensor<2x3x4x4xf32>
  return
}

// -----

func.func @instance_norm_weight_shape(%x: tensor<2x3x4x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{'norm.instance_norm' op weight shape [4] does not match the expected [3]}}
  %y = norm.instance_norm %x weight %w : (tensor<2x3x4x4xf32>, tensor<4xf32>) -> tensor<2x3x4x4xf32>
  return
}

// -----

func.func @instance_norm_running_var_shape(%x: tensor<2x3x4x4xf32>, %rm: tensor<3xf32>, %rv: tensor<1x3xf32>) {
  // expected-error @+1 {{'norm.instance_norm' op running_var shape [1, 3] does not match the expected [3]}}
  %y = norm.instance_norm %x running(%rm, %rv) : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<1x3xf32>) -> tensor<2x3x4x4xf32>
  return
}

// -----

func.func @instance_norm_running_mean_dtype(%x: tensor<2x3x4x4xf16>, %rm: tensor<3xbf16>, %rv: tensor<3xbf16>) {
  // expected-error @+1 {{'norm.instance_norm' op running_mean element type 'bf16' must be f32 or the input's 'f16'}}
  %y = norm.instance_norm %x running(%rm, %rv) : (tensor<2x3x4x4xf16>, tensor<3xbf16>, tensor<3xbf16>) -> tensor<2x3x4x4xf16>
  return
}

// -----

func.func @instance_norm_running_types_differ(%x: tensor<2x3x4x4xf16>, %rm: tensor<3xf32>, %rv: tensor<3xf16>) {
  // expected-error @+1 {{'norm.instance_norm' op running_mean and running_var must have the same type}}
  %y = norm.instance_norm %x running(%rm, %rv) : (tensor<2x3x4x4xf16>, tensor<3xf32>, tensor<3xf16>) -> tensor<2x3x4x4xf16>
  return
}

// -----

// PyTorch: "Expected more than 1 spatial element when training, got input
// size torch.Size([2, 3, 1, 1])".
func.func @instance_norm_one_spatial_element(%x: tensor<2x3x1x1xf32>) {
  // expected-error @+1 {{'norm.instance_norm' op expected more than 1 spatial element when normalizing with input statistics, got input shape [2, 3, 1, 1]}}
  %y = norm.instance_norm %x : (tensor<2x3x1x1xf32>) -> tensor<2x3x1x1xf32>
  return
}

// -----

func.func @instance_norm_one_spatial_element_training(%x: tensor<2x3x1xf32>, %rm: tensor<3xf32>, %rv: tensor<3xf32>) {
  // expected-error @+1 {{'norm.instance_norm' op expected more than 1 spatial element when normalizing with input statistics, got input shape [2, 3, 1]}}
  %y:3 = norm.instance_norm %x running(%rm, %rv) {training}
      : (tensor<2x3x1xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3x1xf32>, tensor<3xf32>, tensor<3xf32>)
  return
}

// -----

func.func @instance_norm_one_spatial_element_channels_last(%x: tensor<2x1x3xf32>) {
  // expected-error @+1 {{'norm.instance_norm' op expected more than 1 spatial element when normalizing with input statistics, got input shape [2, 1, 3]}}
  %y = norm.instance_norm %x {channel_axis = 2 : i64} : (tensor<2x1x3xf32>) -> tensor<2x1x3xf32>
  return
}

// -----

func.func @instance_norm_counter(%x: tensor<2x3x4xf32>, %rm: tensor<3xf32>, %rv: tensor<3xf32>, %n: tensor<i64>) {
  // expected-error @+1 {{'norm.instance_norm' op instance_norm does not count batches: PyTorch's InstanceNorm uses momentum=None as 0}}
  %y:3 = norm.instance_norm %x running(%rm, %rv) batches_tracked %n {training}
      : (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<i64>) -> (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>)
  return
}

// -----

func.func @instance_norm_cumulative_average(%x: tensor<2x3x4xf32>, %rm: tensor<3xf32>, %rv: tensor<3xf32>) {
  // expected-error @+1 {{'norm.instance_norm' op instance_norm does not count batches}}
  %y:3 = norm.instance_norm %x running(%rm, %rv) {training, cumulative_average}
      : (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>)
  return
}

// -----

func.func @instance_norm_training_missing_update(%x: tensor<2x3x4xf32>, %rm: tensor<3xf32>, %rv: tensor<3xf32>) {
  // expected-error @+1 {{'norm.instance_norm' op expects 2 side results (updated running_mean and running_var in training with running statistics; none otherwise), got 0}}
  %y = norm.instance_norm %x running(%rm, %rv) {training}
      : (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @instance_norm_save_stats_not_returned(%x: tensor<2x3x4xf32>) {
  // Unlike batch_norm, there are no save_mean/save_rstd side results.
  // expected-error @+1 {{'norm.instance_norm' op expects 0 side results}}
  %y:3 = norm.instance_norm %x {training} : (tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>)
  return
}

// -----

func.func @instance_norm_update_type(%x: tensor<2x3x4xf16>, %rm: tensor<3xf16>, %rv: tensor<3xf16>) {
  // expected-error @+1 {{'norm.instance_norm' op side result 1 must have type 'tensor<3xf16>', got 'tensor<3xf32>'}}
  %y:3 = norm.instance_norm %x running(%rm, %rv) {training}
      : (tensor<2x3x4xf16>, tensor<3xf16>, tensor<3xf16>) -> (tensor<2x3x4xf16>, tensor<3xf16>, tensor<3xf32>)
  return
}

// -----

func.func @instance_norm_negative_epsilon(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'norm.instance_norm' op epsilon must not be negative, got -1.000000e-05}}
  %y = norm.instance_norm %x {epsilon = -1.0e-5 : f64} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @instance_norm_momentum(%x: tensor<2x3x4xf32>, %rm: tensor<3xf32>, %rv: tensor<3xf32>) {
  // expected-error @+1 {{'norm.instance_norm' op momentum must be in [0, 1], got 2.000000e+00}}
  %y:3 = norm.instance_norm %x running(%rm, %rv) {training, momentum = 2.0 : f64}
      : (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// norm.group_norm
//===----------------------------------------------------------------------===//

func.func @group_norm_rank1(%x: tensor<6xf32>) {
  // expected-error @+1 {{'norm.group_norm' op expects an input of rank >= 2, got rank 1}}
  %y:3 = norm.group_norm %x {num_groups = 2} : (tensor<6xf32>) -> (tensor<6xf32>, tensor<1x2xf32>, tensor<1x2xf32>)
  return
}

// -----

func.func @group_norm_channel_axis(%x: tensor<2x6x4x4xf32>) {
  // expected-error @+1 {{'norm.group_norm' op channel_axis must be 1 (NC...) or 3 (channels-last), got 2}}
  %y:3 = norm.group_norm %x {num_groups = 2, channel_axis = 2 : i64} : (tensor<2x6x4x4xf32>) -> (tensor<2x6x4x4xf32>, tensor<2x2xf32>, tensor<2x2xf32>)
  return
}

// -----

func.func @group_norm_zero_groups(%x: tensor<2x6x4xf32>) {
  // expected-error @+1 {{'norm.group_norm' op num_groups must be positive, got 0}}
  %y:3 = norm.group_norm %x {num_groups = 0} : (tensor<2x6x4xf32>) -> (tensor<2x6x4xf32>, tensor<2x0xf32>, tensor<2x0xf32>)
  return
}

// -----

func.func @group_norm_negative_groups(%x: tensor<2x6x4xf32>) {
  // expected-error @+1 {{'norm.group_norm' op num_groups must be positive, got -2}}
  %y:3 = norm.group_norm %x {num_groups = -2} : (tensor<2x6x4xf32>) -> (tensor<2x6x4xf32>, tensor<2x2xf32>, tensor<2x2xf32>)
  return
}

// -----

// PyTorch: "Expected number of channels in input to be divisible by
// num_groups, but got input of shape [2, 6, 4] and num_groups=4".
func.func @group_norm_not_divisible(%x: tensor<2x6x4xf32>) {
  // expected-error @+1 {{'norm.group_norm' op expected the number of channels 6 to be divisible by num_groups 4}}
  %y:3 = norm.group_norm %x {num_groups = 4} : (tensor<2x6x4xf32>) -> (tensor<2x6x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>)
  return
}

// -----

func.func @group_norm_not_divisible_channels_last(%x: tensor<2x4x6xf32>) {
  // expected-error @+1 {{'norm.group_norm' op expected the number of channels 6 to be divisible by num_groups 4}}
  %y:3 = norm.group_norm %x {num_groups = 4, channel_axis = 2 : i64} : (tensor<2x4x6xf32>) -> (tensor<2x4x6xf32>, tensor<2x4xf32>, tensor<2x4xf32>)
  return
}

// -----

func.func @group_norm_weight_shape(%x: tensor<2x6x4xf32>, %w: tensor<3xf32>) {
  // expected-error @+1 {{'norm.group_norm' op weight shape [3] does not match the expected [6]}}
  %y:3 = norm.group_norm %x weight %w {num_groups = 3} : (tensor<2x6x4xf32>, tensor<3xf32>) -> (tensor<2x6x4xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
  return
}

// -----

func.func @group_norm_bias_dtype(%x: tensor<2x6x4xbf16>, %b: tensor<6xf16>) {
  // expected-error @+1 {{'norm.group_norm' op bias element type 'f16' must be f32 or the input's 'bf16'}}
  %y:3 = norm.group_norm %x bias %b {num_groups = 3} : (tensor<2x6x4xbf16>, tensor<6xf16>) -> (tensor<2x6x4xbf16>, tensor<2x3xf32>, tensor<2x3xf32>)
  return
}

// -----

func.func @group_norm_output_type(%x: tensor<2x6x4xf32>) {
  // expected-error @+1 {{'norm.group_norm' op output must have type 'tensor<2x6x4xf32>', got 'tensor<2x4x6xf32>'}}
  %y:3 = norm.group_norm %x {num_groups = 3} : (tensor<2x6x4xf32>) -> (tensor<2x4x6xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
  return
}

// -----

func.func @group_norm_mean_type(%x: tensor<2x6x4xf32>) {
  // expected-error @+1 {{'norm.group_norm' op mean must have type 'tensor<2x3xf32>', got 'tensor<2x6xf32>'}}
  %y:3 = norm.group_norm %x {num_groups = 3} : (tensor<2x6x4xf32>) -> (tensor<2x6x4xf32>, tensor<2x6xf32>, tensor<2x3xf32>)
  return
}

// -----

func.func @group_norm_rstd_type(%x: tensor<2x6x4xf32>) {
  // expected-error @+1 {{'norm.group_norm' op rstd must have type 'tensor<2x3xf32>', got 'tensor<2x3x1xf32>'}}
  %y:3 = norm.group_norm %x {num_groups = 3} : (tensor<2x6x4xf32>) -> (tensor<2x6x4xf32>, tensor<2x3xf32>, tensor<2x3x1xf32>)
  return
}

// -----

func.func @group_norm_negative_epsilon(%x: tensor<2x6x4xf32>) {
  // expected-error @+1 {{'norm.group_norm' op epsilon must not be negative, got -1.000000e-05}}
  %y:3 = norm.group_norm %x {num_groups = 3, epsilon = -1.0e-5 : f64} : (tensor<2x6x4xf32>) -> (tensor<2x6x4xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// Parse errors
//===----------------------------------------------------------------------===//

func.func @apply_missing_rstd(%x: tensor<8x6xf32>, %m: tensor<8x1xf32>) {
  // expected-error @+1 {{expected 'rstd'}}
  %0 = norm.apply %x mean %m : (tensor<8x6xf32>, tensor<8x1xf32>) -> tensor<8x6xf32>
  return
}

// -----

func.func @batch_norm_single_running_stat(%x: tensor<8x4xf32>, %rm: tensor<4xf32>) {
  // expected-error @+1 {{expected ','}}
  %y = norm.batch_norm %x running(%rm) : (tensor<8x4xf32>, tensor<4xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @layer_norm_missing_normalized_shape(%x: tensor<8x6xf32>) {
  // expected-error @+1 {{'norm.layer_norm' op requires attribute 'normalized_shape'}}
  %y, %m, %r = norm.layer_norm %x : (tensor<8x6xf32>) -> (tensor<8x6xf32>, tensor<8x1xf32>, tensor<8x1xf32>)
  return
}

// -----

func.func @group_norm_missing_num_groups(%x: tensor<2x6x4xf32>) {
  // expected-error @+1 {{'norm.group_norm' op requires attribute 'num_groups'}}
  %y:3 = norm.group_norm %x : (tensor<2x6x4xf32>) -> (tensor<2x6x4xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
  return
}

// -----

func.func @rstd_f32_epsilon(%v: tensor<4x1xf32>) {
  // expected-error @+1 {{attribute 'epsilon' failed to satisfy constraint: 64-bit float attribute}}
  %0 = "norm.rstd"(%v) <{epsilon = 1.0e-5 : f32}> : (tensor<4x1xf32>) -> tensor<4x1xf32>
  return
}

//===----------------------------------------------------------------------===//
// norm.kernel
//===----------------------------------------------------------------------===//

// -----

func.func @kernel_axes(%x: tensor<4x16xf32>, %e: tensor<4x16xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{axis 2 is out of range}}
  %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 2>, epsilon = 1.0e-5 : f64} : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

func.func @kernel_weight_shape(%x: tensor<4x16xf32>, %w: tensor<8xf32>, %e: tensor<4x16xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{weight must have shape [16] and the input's or f32 elements, got 'tensor<8xf32>'}}
  %k:4 = norm.kernel moments %x weight %w outs(%e, %s, %s, %s) {axes = array<i64: 1>, param_axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x16xf32>, tensor<8xf32>, tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

func.func @kernel_param_axes(%x: tensor<4x16xf32>, %e: tensor<4x16xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{param_axes must be given exactly when weight or bias is}}
  %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 1>, param_axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

func.func @kernel_num_outs(%x: tensor<4x16xf32>, %e: tensor<4x16xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{of kind moments expects 4 outs, got 2}}
  %k:2 = norm.kernel moments %x outs(%e, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x1xf32>) -> (tensor<4x16xf32>, tensor<4x1xf32>)
  return
}

// -----

func.func @kernel_kind_mean_square(%x: tensor<4x16xf32>, %e: tensor<4x16xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{of kind mean_square expects 3 outs, got 4}}
  %k:4 = norm.kernel mean_square %x outs(%e, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

func.func @kernel_kind_apply(%x: tensor<4x16xf32>, %e: tensor<4x16xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{of kind apply expects 1 out, got 3}}
  %k:3 = norm.kernel apply %x outs(%e, %s, %s) {axes = array<i64: 1>} : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

func.func @kernel_prologue_out_without_prologue(%x: tensor<4x16xf32>, %e: tensor<4x16xf32>, %s: tensor<4x1xf32>) {
  // (C10) one more out only with a prologue.
  // expected-error @+1 {{of kind moments expects 4 outs, got 5 (with a prologue, one more may hold its value)}}
  %k:5 = norm.kernel moments %x outs(%e, %s, %s, %s, %e) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x16xf32>)
  return
}

// -----

func.func @kernel_prologue_out_type(%a: tensor<4x16xf32>, %r: tensor<4x16xf32>, %e: tensor<4x16xf32>, %s: tensor<4x1xf32>, %h: tensor<4x16xf16>) {
  // (C10) the prologue's out has the prologue's element type.
  // expected-error @+1 {{the prologue's out must have the input's shape and the prologue's element type 'f32', got 'tensor<4x16xf16>'}}
  %k:5 = norm.kernel moments %a, %r outs(%e, %s, %s, %s, %h) prologue {
  ^bb0(%p: f32, %q: f32):
    %t = arith.addf %p, %q : f32
    norm.yield %t : f32
  } {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x16xf16>) -> (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x16xf16>)
  return
}

// -----

func.func @kernel_kind_missing(%x: tensor<4x16xf32>, %e: tensor<4x16xf32>, %s: tensor<4x1xf32>) {
  // The kind is written first; a kernel without one does not parse.
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'kind' [moments, mean_square, apply]}}
  %k:3 = norm.kernel %x outs(%e, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

func.func @kernel_kind_unknown(%x: tensor<4x16xf32>, %e: tensor<4x16xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'kind' [moments, mean_square, apply]}}
  %k:3 = norm.kernel backward %x outs(%e, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

func.func @kernel_out_type(%x: tensor<4x16xf32>, %e: tensor<4x16xf16>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{outs[0] must have the input's shape and element type, got 'tensor<4x16xf16>'}}
  %k:3 = norm.kernel mean_square %x outs(%e, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x16xf32>, tensor<4x16xf16>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x16xf16>, tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

func.func @kernel_stat_shape(%x: tensor<4x16xf32>, %e: tensor<4x16xf32>, %s: tensor<1x16xf32>) {
  // expected-error @+1 {{statistics out must have shape [4, 1] and f32 elements, got 'tensor<1x16xf32>'}}
  %k:3 = norm.kernel mean_square %x outs(%e, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<1x16xf32>, tensor<1x16xf32>) -> (tensor<4x16xf32>, tensor<1x16xf32>, tensor<1x16xf32>)
  return
}

// -----

func.func @kernel_apply_needs_rstd(%x: tensor<4x16xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{an apply-only kernel (1 out) needs rstd}}
  %k = norm.kernel apply %x outs(%e) {axes = array<i64: 1>} : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @kernel_stats_operands(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{mean and rstd operands are only allowed with 1 out}}
  %k:3 = norm.kernel mean_square %x rstd %r outs(%e, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

func.func @kernel_epsilon(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{epsilon must be given exactly when statistics are computed}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @kernel_mixed(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: memref<4x16xf32>) {
  // expected-error @+1 {{operands must be all ranked tensors or all memrefs}}
  norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>} : (tensor<4x16xf32>, tensor<4x1xf32>, memref<4x16xf32>) -> ()
  return
}

// -----

func.func @kernel_memref_results(%x: memref<4x16xf32>, %r: memref<4x1xf32>, %e: memref<4x16xf32>) {
  // expected-error @+1 {{has no results on memrefs}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>} : (memref<4x16xf32>, memref<4x1xf32>, memref<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @schedule_strategy(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+2 {{strategy must be row, segment or column, got 'diagonal'}}
  // expected-error @+1 {{failed to parse Norm_ScheduleAttr parameter 'strategy'}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.schedule<strategy = "diagonal", vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @schedule_width(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{schedule vectorWidth must be a power of two in [1, 64], got 12}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.schedule<strategy = row, vectorWidth = 12, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @schedule_unroll(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{schedule unroll must be in [1, 16], got 0}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 0, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @schedule_chunks(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{schedule chunks must be in [1, 2^30], got 0}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 0, rowTasks = 1, nontemporal = false, parallel = false>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @schedule_row_tasks(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{schedule rowTasks must be in [1, 2^30], got 0}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 0, nontemporal = false, parallel = false>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @prologue_args(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{prologue block arguments must be ('f32')}}
  %k = norm.kernel apply %x rstd %r outs(%e) prologue {
  ^bb0(%a: f16):
    %c = arith.extf %a : f16 to f32
    norm.yield %c : f32
  } {axes = array<i64: 1>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @prologue_result(%x: tensor<4x16xi32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{prologue must yield f32, f16 or bf16, got 'i32'}}
  %k = norm.kernel apply %x rstd %r outs(%e) prologue {
  ^bb0(%a: i32):
    norm.yield %a : i32
  } {axes = array<i64: 1>} : (tensor<4x16xi32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @prologue_shapes(%x: tensor<4x16xf32>, %y: tensor<16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{prologue inputs must all have the input's shape}}
  %k = norm.kernel apply %x, %y rstd %r outs(%e) prologue {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    norm.yield %s : f32
  } {axes = array<i64: 1>} : (tensor<4x16xf32>, tensor<16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @extra_without_prologue(%x: tensor<4x16xf32>, %y: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{extra inputs need a prologue}}
  %k = norm.kernel apply %x, %y rstd %r outs(%e) {axes = array<i64: 1>} : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @epilogue_result(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf16>) {
  // expected-error @+1 {{epilogue must yield the element type of outs[0], got 'f32'}}
  %k = norm.kernel apply %x rstd %r outs(%e) epilogue {
  ^bb0(%t: f32):
    norm.yield %t : f32
  } {axes = array<i64: 1>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf16>) -> tensor<4x16xf16>
  return
}

// -----

func.func @epilogue_args(%x: tensor<4x16xbf16>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{epilogue block arguments must be ('bf16')}}
  %k = norm.kernel apply %x rstd %r outs(%e) epilogue {
  ^bb0(%t: f32):
    norm.yield %t : f32
  } {axes = array<i64: 1>} : (tensor<4x16xbf16>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @yield_outside() {
  %c = arith.constant 0.0 : f32
  // expected-error @+1 {{'norm.yield' op expects parent op 'norm.kernel'}}
  norm.yield %c : f32
}

// -----

func.func @schedule_prefetch_not_row(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{schedule prefetch must be 0 for the segment strategy (only row prefetches)}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.schedule<strategy = segment, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false, prefetch = 2>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @schedule_prefetch_range(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{schedule prefetch must be in [0, 2^30], got -1}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false, prefetch = -1>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @gpu_schedule_strategy(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+2 {{strategy must be row, segment or column, got 'tile'}}
  // expected-error @+1 {{failed to parse Norm_GPUScheduleAttr parameter 'strategy'}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.gpu_schedule<strategy = "tile", threads = 32, rows = 1, vectorWidth = 4, chunks = 1>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @gpu_schedule_threads(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{gpu_schedule threads must be a power of two in [1, 1024], got 96}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.gpu_schedule<strategy = row, threads = 96, rows = 1, vectorWidth = 4, chunks = 1>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @gpu_schedule_block(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{gpu_schedule rows must be a power of two with threads * rows <= 1024, got 8}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.gpu_schedule<strategy = row, threads = 256, rows = 8, vectorWidth = 4, chunks = 1>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @gpu_schedule_warps(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{gpu_schedule needs threads * rows >= 32 (whole warps), got 16}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.gpu_schedule<strategy = row, threads = 4, rows = 4, vectorWidth = 4, chunks = 1>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @gpu_schedule_rows(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{gpu_schedule rows must be 1 for the column strategy}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.gpu_schedule<strategy = column, threads = 32, rows = 2, vectorWidth = 4, chunks = 1>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @gpu_schedule_segment_warps(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{gpu_schedule threads must be at least 32 (whole warps) for the segment strategy, got 16}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.gpu_schedule<strategy = segment, threads = 16, rows = 16, vectorWidth = 4, chunks = 1>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @gpu_schedule_segment_runs_and_chunks(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{gpu_schedule chunks must be 1 for the segment strategy with rows > 1 (a block reduces whole runs)}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.gpu_schedule<strategy = segment, threads = 32, rows = 2, vectorWidth = 4, chunks = 2>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @gpu_schedule_width(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{gpu_schedule vectorWidth must be a power of two in [1, 16], got 32}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.gpu_schedule<strategy = row, threads = 32, rows = 1, vectorWidth = 32, chunks = 1>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @gpu_schedule_row_chunks(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{gpu_schedule chunks must be 1 for the row strategy (split rows use segment)}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.gpu_schedule<strategy = row, threads = 32, rows = 1, vectorWidth = 4, chunks = 2>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @gpu_schedule_chunks(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>, %e: tensor<4x16xf32>) {
  // expected-error @+1 {{gpu_schedule chunks must be in [1, 2^30], got 0}}
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.gpu_schedule<strategy = column, threads = 32, rows = 1, vectorWidth = 4, chunks = 0>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @kernel_zero_degenerate_apply_only(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  // expected-error @+1 {{'norm.kernel' op zero_degenerate needs statistics computed by the kernel}}
  %y = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, zero_degenerate} : (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @kernel_too_large(%x: tensor<1x9223372036854775800xf32>) -> tensor<1x9223372036854775800xf32> {
  %e = tensor.empty() : tensor<1x9223372036854775800xf32>
  %s = tensor.empty() : tensor<1x1xf32>
  // expected-error @+1 {{'norm.kernel' op input of 'tensor<1x9223372036854775800xf32>' is too large: a kernel's input must hold fewer than 2^62 bytes}}
  %y:3 = norm.kernel mean_square %x outs(%e, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (tensor<1x9223372036854775800xf32>, tensor<1x9223372036854775800xf32>, tensor<1x1xf32>, tensor<1x1xf32>) -> (tensor<1x9223372036854775800xf32>, tensor<1x1xf32>, tensor<1x1xf32>)
  return %y#0 : tensor<1x9223372036854775800xf32>
}

//===----------------------------------------------------------------------===//
// Targets (#norm.cpu_target, #norm.cuda_target, the norm.target attribute)
//===----------------------------------------------------------------------===//

// -----

// expected-error @+1 {{cpu_target cpu must not be empty}}
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = 0>} {
}

// -----

// expected-error @+1 {{cpu_target vectorWidth must be a power of two in [1, 64], got 12}}
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 12, nativeBF16 = false, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = 0>} {
}

// -----

// expected-error @+1 {{cpu_target cache sizes must be positive}}
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 0, llcCache = 33554432, cores = 0>} {
}

// -----

// expected-error @+1 {{cpu_target cores must not be negative, got -1}}
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = -1>} {
}

// -----

// expected-error @+1 {{cuda_target chip must be sm_<version>, got 'gfx942'}}
module attributes {norm.target = #norm.cuda_target<chip = "gfx942", multiprocessors = 304, sharedMemoryPerBlock = 65536>} {
}

// -----

// expected-error @+1 {{cuda_target multiprocessors and sharedMemoryPerBlock must be in [1, 2^20] and [1, 2^40]}}
module attributes {norm.target = #norm.cuda_target<chip = "sm_90", multiprocessors = 0, sharedMemoryPerBlock = 49152>} {
}

// -----

// expected-error @+1 {{'norm.target' must be a #norm.cpu_target or #norm.cuda_target, got "znver4"}}
module attributes {norm.target = "znver4"} {
}

// -----

module {
  // expected-error @+1 {{'norm.target' is an attribute of builtin.module}}
  func.func @f() attributes {norm.target = #norm.cuda_target<chip = "sm_90", multiprocessors = 132, sharedMemoryPerBlock = 49152>} {
    return
  }
}

// -----

// expected-error @+1 {{unknown norm dialect attribute 'norm.targets'}}
module attributes {norm.targets = #norm.cuda_target<chip = "sm_90", multiprocessors = 132, sharedMemoryPerBlock = 49152>} {
}

// -----

//===----------------------------------------------------------------------===//
// Dynamic dimensions
//===----------------------------------------------------------------------===//

func.func @dynamic_normalized_dim(%x: tensor<4x?xf32>) {
  // expected-error @+1 {{normalized_shape [8] does not match the trailing dimensions of the input shape [4, ?] (-1 stands for a dynamic dimension)}}
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 8>} : (tensor<4x?xf32>) -> (tensor<4x?xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

func.func @dynamic_marker_on_static_dim(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{normalized_shape [-1] does not match the trailing dimensions of the input shape [4, 8] (-1 stands for a dynamic dimension)}}
  %y, %r = norm.rms_norm %x {normalized_shape = array<i64: -1>} : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>)
  return
}

// -----

func.func @static_weight_of_dynamic_dim(%x: tensor<4x?xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{weight shape [8] does not match the expected [?]}}
  %y, %m, %r = norm.layer_norm %x weight %w {normalized_shape = array<i64: -1>} : (tensor<4x?xf32>, tensor<8xf32>) -> (tensor<4x?xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

func.func @dynamic_channels(%x: tensor<4x?x8xf32>) {
  // expected-error @+1 {{the channel dimension (axis 1) must be static, got input shape [4, ?, 8]}}
  %y, %m, %r = norm.batch_norm %x {training, channel_axis = 1 : i64} : (tensor<4x?x8xf32>) -> (tensor<4x?x8xf32>, tensor<?xf32>, tensor<?xf32>)
  return
}

// -----

func.func @dynamic_group_channels(%x: tensor<4x8x?xf32>) {
  // expected-error @+1 {{the channel dimension (axis 2) must be static, got input shape [4, 8, ?]}}
  %y, %m, %r = norm.group_norm %x {num_groups = 2 : i64, channel_axis = 2 : i64} : (tensor<4x8x?xf32>) -> (tensor<4x8x?xf32>, tensor<4x2xf32>, tensor<4x2xf32>)
  return
}

// -----

// A dynamic dimension must stay dynamic in the results.
func.func @dynamic_output_static(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{output must have type 'tensor<?x8xf32>', got 'tensor<4x8xf32>'}}
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 8>} : (tensor<?x8xf32>) -> (tensor<4x8xf32>, tensor<?x1xf32>, tensor<?x1xf32>)
  return
}

// -----

// (C3) is checked statically where its dimensions are static, though the
// batch is dynamic.
func.func @static_one_value(%x: tensor<?x3x1xf32>) {
  // expected-error @+1 {{expected more than 1 spatial element when normalizing with input statistics, got input shape [?, 3, 1]}}
  %y = norm.instance_norm %x {channel_axis = 1 : i64} : (tensor<?x3x1xf32>) -> (tensor<?x3x1xf32>)
  return
}

// -----

func.func @check_empty(%ok: i1) {
  // expected-error @+1 {{'norm.check' op needs a message}}
  norm.check %ok, ""
  return
}

// -----

func.func @check_nested(%ok: i1) {
  scf.execute_region {
    // expected-error @+1 {{'norm.check' op must be in the body of a function, not nested in another op's region}}
    norm.check %ok, "nested"
    scf.yield
  }
  return
}

// -----

func.func @variants_and_schedule(%x: memref<?x16xf32>, %y: memref<?x16xf32>, %s: memref<?x1xf32>) {
  // expected-error @+1 {{has both a schedule and variants}}
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>, variants = [#norm.variant<from = 0, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 16, nontemporal = false, parallel = false>>]} : (memref<?x16xf32>, memref<?x16xf32>, memref<?x1xf32>, memref<?x1xf32>) -> ()
  return
}

// -----

func.func @variants_not_from_zero(%x: memref<?x16xf32>, %y: memref<?x16xf32>, %s: memref<?x1xf32>) {
  // expected-error @+1 {{variants' from must ascend strictly from 0}}
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64, variants = [#norm.variant<from = 4, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 16, nontemporal = false, parallel = false>>]} : (memref<?x16xf32>, memref<?x16xf32>, memref<?x1xf32>, memref<?x1xf32>) -> ()
  return
}

// -----

func.func @variants_mixed(%x: memref<?x16xf32>, %y: memref<?x16xf32>, %s: memref<?x1xf32>) {
  // expected-error @+1 {{variants must be all CPU or all GPU schedules}}
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64, variants = [#norm.variant<from = 0, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 16, nontemporal = false, parallel = false>>, #norm.variant<from = 8, schedule = #norm.gpu_schedule<strategy = row, threads = 32, rows = 1, vectorWidth = 4, chunks = 1>>]} : (memref<?x16xf32>, memref<?x16xf32>, memref<?x1xf32>, memref<?x1xf32>) -> ()
  return
}

// -----

// expected-error @+1 {{variant schedule must be a #norm.schedule or a #norm.gpu_schedule, got 1 : i64}}
func.func @variant_bad_schedule() attributes {v = #norm.variant<from = 0, schedule = 1>} {
  return
}
