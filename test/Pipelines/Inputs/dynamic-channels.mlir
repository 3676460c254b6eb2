// Dynamically shaped channel norms the GPU lowers: BatchNorm (training
// with running statistics, eval), InstanceNorm and GroupNorm over ?xCx?x?
// (NCHW: the segment strategy, scalar accesses) and ?x?x?xC (channels-last:
// the column strategy), f32, f16 and bf16.

func.func @bn_train(%x: tensor<?x8x?x?xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>, %rm: tensor<8xf32>, %rv: tensor<8xf32>, %nbt: tensor<i64>) -> (tensor<?x8x?x?xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>) {
  %r:6 = norm.batch_norm %x weight %w bias %b running(%rm, %rv) batches_tracked %nbt {training} : (tensor<?x8x?x?xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>) -> (tensor<?x8x?x?xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>)
  return %r#0, %r#1, %r#2, %r#3, %r#4, %r#5 : tensor<?x8x?x?xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>
}

func.func @bn_train_cl(%x: tensor<?x?x?x8xbf16>, %w: tensor<8xbf16>, %b: tensor<8xbf16>, %rm: tensor<8xbf16>, %rv: tensor<8xbf16>) -> (tensor<?x?x?x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xbf16>, tensor<8xbf16>) {
  %r:5 = norm.batch_norm %x weight %w bias %b running(%rm, %rv) {training, channel_axis = 3 : i64} : (tensor<?x?x?x8xbf16>, tensor<8xbf16>, tensor<8xbf16>, tensor<8xbf16>, tensor<8xbf16>) -> (tensor<?x?x?x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xbf16>, tensor<8xbf16>)
  return %r#0, %r#1, %r#2, %r#3, %r#4 : tensor<?x?x?x8xbf16>, tensor<8xf32>, tensor<8xf32>, tensor<8xbf16>, tensor<8xbf16>
}

func.func @bn_eval(%x: tensor<?x8x?x?xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>, %rm: tensor<8xf32>, %rv: tensor<8xf32>) -> (tensor<?x8x?x?xf32>) {
  %r = norm.batch_norm %x weight %w bias %b running(%rm, %rv) : (tensor<?x8x?x?xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x8x?x?xf32>)
  return %r : tensor<?x8x?x?xf32>
}

func.func @bn_eval_cl(%x: tensor<?x?x?x8xf16>, %rm: tensor<8xf16>, %rv: tensor<8xf16>) -> (tensor<?x?x?x8xf16>) {
  %r = norm.batch_norm %x running(%rm, %rv) {channel_axis = 3 : i64} : (tensor<?x?x?x8xf16>, tensor<8xf16>, tensor<8xf16>) -> (tensor<?x?x?x8xf16>)
  return %r : tensor<?x?x?x8xf16>
}

func.func @in_nchw(%x: tensor<?x8x?x?xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>) -> (tensor<?x8x?x?xf32>) {
  %r = norm.instance_norm %x weight %w bias %b {training} : (tensor<?x8x?x?xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x8x?x?xf32>)
  return %r : tensor<?x8x?x?xf32>
}

func.func @in_cl(%x: tensor<?x?x?x8xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>, %rm: tensor<8xf32>, %rv: tensor<8xf32>) -> (tensor<?x?x?x8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %r:3 = norm.instance_norm %x weight %w bias %b running(%rm, %rv) {training, channel_axis = 3 : i64} : (tensor<?x?x?x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x?x8xf32>, tensor<8xf32>, tensor<8xf32>)
  return %r#0, %r#1, %r#2 : tensor<?x?x?x8xf32>, tensor<8xf32>, tensor<8xf32>
}

func.func @gn_nchw(%x: tensor<?x8x?x?xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>) -> (tensor<?x8x?x?xf32>, tensor<?x4xf32>, tensor<?x4xf32>) {
  %r:3 = norm.group_norm %x weight %w bias %b {num_groups = 4 : i64} : (tensor<?x8x?x?xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x8x?x?xf32>, tensor<?x4xf32>, tensor<?x4xf32>)
  return %r#0, %r#1, %r#2 : tensor<?x8x?x?xf32>, tensor<?x4xf32>, tensor<?x4xf32>
}

func.func @gn_cl(%x: tensor<?x?x?x32xbf16>, %w: tensor<32xbf16>, %b: tensor<32xbf16>) -> (tensor<?x?x?x32xbf16>, tensor<?x8xf32>, tensor<?x8xf32>) {
  %r:3 = norm.group_norm %x weight %w bias %b {num_groups = 8 : i64, channel_axis = 3 : i64} : (tensor<?x?x?x32xbf16>, tensor<32xbf16>, tensor<32xbf16>) -> (tensor<?x?x?x32xbf16>, tensor<?x8xf32>, tensor<?x8xf32>)
  return %r#0, %r#1, %r#2 : tensor<?x?x?x32xbf16>, tensor<?x8xf32>, tensor<?x8xf32>
}

func.func @gn_nchw_f16(%x: tensor<?x12x?xf16>, %w: tensor<12xf16>, %b: tensor<12xf16>) -> tensor<?x12x?xf16> {
  %r:3 = norm.group_norm %x weight %w bias %b {num_groups = 3 : i64} : (tensor<?x12x?xf16>, tensor<12xf16>, tensor<12xf16>) -> (tensor<?x12x?xf16>, tensor<?x3xf32>, tensor<?x3xf32>)
  return %r#0 : tensor<?x12x?xf16>
}

func.func @in_ncdhw_bf16(%x: tensor<?x4x?x?x?xbf16>, %w: tensor<4xbf16>, %b: tensor<4xbf16>) -> tensor<?x4x?x?x?xbf16> {
  %r = norm.instance_norm %x weight %w bias %b {training} : (tensor<?x4x?x?x?xbf16>, tensor<4xbf16>, tensor<4xbf16>) -> (tensor<?x4x?x?x?xbf16>)
  return %r : tensor<?x4x?x?x?xbf16>
}

func.func @bn_train_ncl_f16(%x: tensor<?x6x?xf16>, %rm: tensor<6xf16>, %rv: tensor<6xf16>) -> (tensor<?x6x?xf16>, tensor<6xf16>, tensor<6xf16>) {
  %r:5 = norm.batch_norm %x running(%rm, %rv) {training} : (tensor<?x6x?xf16>, tensor<6xf16>, tensor<6xf16>) -> (tensor<?x6x?xf16>, tensor<6xf32>, tensor<6xf32>, tensor<6xf16>, tensor<6xf16>)
  return %r#0, %r#3, %r#4 : tensor<?x6x?xf16>, tensor<6xf16>, tensor<6xf16>
}
