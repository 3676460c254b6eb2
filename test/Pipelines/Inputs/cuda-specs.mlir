// Specs of every norm op, layout and dtype for the GPU pipeline tests
// (generated with test/python/normlir_testing.py's spec builders).
func.func @ln_f32(%x: tensor<64x1024xf32>, %w: tensor<1024xf32>, %b: tensor<1024xf32>) -> (tensor<64x1024xf32>, tensor<64x1xf32>, tensor<64x1xf32>) {
  %r:3 = norm.layer_norm %x weight %w bias %b {normalized_shape = array<i64: 1024>} : (tensor<64x1024xf32>, tensor<1024xf32>, tensor<1024xf32>) -> (tensor<64x1024xf32>, tensor<64x1xf32>, tensor<64x1xf32>)
  return %r#0, %r#1, %r#2 : tensor<64x1024xf32>, tensor<64x1xf32>, tensor<64x1xf32>
}

func.func @ln_bf16_2d(%x: tensor<4x8x16x16xbf16>, %w: tensor<16x16xbf16>, %b: tensor<16x16xbf16>) -> (tensor<4x8x16x16xbf16>, tensor<4x8x1x1xf32>, tensor<4x8x1x1xf32>) {
  %r:3 = norm.layer_norm %x weight %w bias %b {normalized_shape = array<i64: 16, 16>} : (tensor<4x8x16x16xbf16>, tensor<16x16xbf16>, tensor<16x16xbf16>) -> (tensor<4x8x16x16xbf16>, tensor<4x8x1x1xf32>, tensor<4x8x1x1xf32>)
  return %r#0, %r#1, %r#2 : tensor<4x8x16x16xbf16>, tensor<4x8x1x1xf32>, tensor<4x8x1x1xf32>
}

func.func @ln_f16_tail(%x: tensor<37x1000xf16>, %w: tensor<1000xf16>) -> (tensor<37x1000xf16>, tensor<37x1xf32>, tensor<37x1xf32>) {
  %r:3 = norm.layer_norm %x weight %w {normalized_shape = array<i64: 1000>} : (tensor<37x1000xf16>, tensor<1000xf16>) -> (tensor<37x1000xf16>, tensor<37x1xf32>, tensor<37x1xf32>)
  return %r#0, %r#1, %r#2 : tensor<37x1000xf16>, tensor<37x1xf32>, tensor<37x1xf32>
}

func.func @ln_long(%x: tensor<2x65536xf32>, %w: tensor<65536xf32>, %b: tensor<65536xf32>) -> (tensor<2x65536xf32>, tensor<2x1xf32>, tensor<2x1xf32>) {
  %r:3 = norm.layer_norm %x weight %w bias %b {normalized_shape = array<i64: 65536>} : (tensor<2x65536xf32>, tensor<65536xf32>, tensor<65536xf32>) -> (tensor<2x65536xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  return %r#0, %r#1, %r#2 : tensor<2x65536xf32>, tensor<2x1xf32>, tensor<2x1xf32>
}

func.func @rms_bf16(%x: tensor<16x4096xbf16>, %w: tensor<4096xbf16>) -> (tensor<16x4096xbf16>, tensor<16x1xf32>) {
  %r:2 = norm.rms_norm %x weight %w {normalized_shape = array<i64: 4096>} : (tensor<16x4096xbf16>, tensor<4096xbf16>) -> (tensor<16x4096xbf16>, tensor<16x1xf32>)
  return %r#0, %r#1 : tensor<16x4096xbf16>, tensor<16x1xf32>
}

func.func @rms_narrow(%x: tensor<9x6xf32>) -> (tensor<9x6xf32>, tensor<9x1xf32>) {
  %r:2 = norm.rms_norm %x {normalized_shape = array<i64: 6>} : (tensor<9x6xf32>) -> (tensor<9x6xf32>, tensor<9x1xf32>)
  return %r#0, %r#1 : tensor<9x6xf32>, tensor<9x1xf32>
}

func.func @bn_train(%x: tensor<4x8x16x16xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>, %rm: tensor<8xf32>, %rv: tensor<8xf32>, %nbt: tensor<i64>) -> (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>) {
  %r:6 = norm.batch_norm %x weight %w bias %b running(%rm, %rv) batches_tracked %nbt {training} : (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>) -> (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>)
  return %r#0, %r#1, %r#2, %r#3, %r#4, %r#5 : tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>
}

func.func @bn_train_cl(%x: tensor<4x16x16x8xbf16>, %w: tensor<8xbf16>, %b: tensor<8xbf16>, %rm: tensor<8xbf16>, %rv: tensor<8xbf16>) -> (tensor<4x16x16x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xbf16>, tensor<8xbf16>) {
  %r:5 = norm.batch_norm %x weight %w bias %b running(%rm, %rv) {training, channel_axis = 3 : i64} : (tensor<4x16x16x8xbf16>, tensor<8xbf16>, tensor<8xbf16>, tensor<8xbf16>, tensor<8xbf16>) -> (tensor<4x16x16x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xbf16>, tensor<8xbf16>)
  return %r#0, %r#1, %r#2, %r#3, %r#4 : tensor<4x16x16x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xbf16>, tensor<8xbf16>
}

func.func @bn_eval(%x: tensor<4x8x16x16xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>, %rm: tensor<8xf32>, %rv: tensor<8xf32>) -> (tensor<4x8x16x16xf32>) {
  %r = norm.batch_norm %x weight %w bias %b running(%rm, %rv) : (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<4x8x16x16xf32>)
  return %r : tensor<4x8x16x16xf32>
}

func.func @bn_eval_cl(%x: tensor<4x16x16x8xf16>, %rm: tensor<8xf16>, %rv: tensor<8xf16>) -> (tensor<4x16x16x8xf16>) {
  %r = norm.batch_norm %x running(%rm, %rv) {channel_axis = 3 : i64} : (tensor<4x16x16x8xf16>, tensor<8xf16>, tensor<8xf16>) -> (tensor<4x16x16x8xf16>)
  return %r : tensor<4x16x16x8xf16>
}

func.func @in_nchw(%x: tensor<4x8x16x16xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>) -> (tensor<4x8x16x16xf32>) {
  %r = norm.instance_norm %x weight %w bias %b {training} : (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<4x8x16x16xf32>)
  return %r : tensor<4x8x16x16xf32>
}

func.func @in_cl(%x: tensor<4x16x16x8xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>, %rm: tensor<8xf32>, %rv: tensor<8xf32>) -> (tensor<4x16x16x8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %r:3 = norm.instance_norm %x weight %w bias %b running(%rm, %rv) {training, channel_axis = 3 : i64} : (tensor<4x16x16x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<4x16x16x8xf32>, tensor<8xf32>, tensor<8xf32>)
  return %r#0, %r#1, %r#2 : tensor<4x16x16x8xf32>, tensor<8xf32>, tensor<8xf32>
}

func.func @gn_nchw(%x: tensor<4x8x16x16xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>) -> (tensor<4x8x16x16xf32>, tensor<4x4xf32>, tensor<4x4xf32>) {
  %r:3 = norm.group_norm %x weight %w bias %b {num_groups = 4 : i64} : (tensor<4x8x16x16xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<4x8x16x16xf32>, tensor<4x4xf32>, tensor<4x4xf32>)
  return %r#0, %r#1, %r#2 : tensor<4x8x16x16xf32>, tensor<4x4xf32>, tensor<4x4xf32>
}

func.func @gn_cl(%x: tensor<4x16x16x32xbf16>, %w: tensor<32xbf16>, %b: tensor<32xbf16>) -> (tensor<4x16x16x32xbf16>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %r:3 = norm.group_norm %x weight %w bias %b {num_groups = 8 : i64, channel_axis = 3 : i64} : (tensor<4x16x16x32xbf16>, tensor<32xbf16>, tensor<32xbf16>) -> (tensor<4x16x16x32xbf16>, tensor<4x8xf32>, tensor<4x8xf32>)
  return %r#0, %r#1, %r#2 : tensor<4x16x16x32xbf16>, tensor<4x8xf32>, tensor<4x8xf32>
}
