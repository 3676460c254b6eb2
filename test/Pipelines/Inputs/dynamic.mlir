// Dynamically shaped specs the GPU lowers: LayerNorm and RMSNorm over
// ?x256 and ?x?x64 (bf16), GroupNorm over a dynamic batch, a residual add
// (a dynamic number of rows: the row strategy); LayerNorm and RMSNorm whose
// normalized dimensions are dynamic too (the segment strategy, parameters
// of a runtime length).
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @ln(%x: tensor<?x256xf32>, %w: tensor<256xf32>, %b: tensor<256xf32>) -> (tensor<?x256xf32>, tensor<?x1xf32>, tensor<?x1xf32>) {
  %y, %m, %r = norm.layer_norm %x weight %w bias %b {normalized_shape = array<i64: 256>} : (tensor<?x256xf32>, tensor<256xf32>, tensor<256xf32>) -> (tensor<?x256xf32>, tensor<?x1xf32>, tensor<?x1xf32>)
  return %y, %m, %r : tensor<?x256xf32>, tensor<?x1xf32>, tensor<?x1xf32>
}

func.func @rms(%x: tensor<?x?x64xbf16>, %w: tensor<64xbf16>) -> tensor<?x?x64xbf16> {
  %y, %r = norm.rms_norm %x weight %w {normalized_shape = array<i64: 64>} : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> (tensor<?x?x64xbf16>, tensor<?x?x1xf32>)
  return %y : tensor<?x?x64xbf16>
}

func.func @gn(%x: tensor<?x6x5x7xf32>) -> tensor<?x6x5x7xf32> {
  %y, %m, %r = norm.group_norm %x {num_groups = 2 : i64} : (tensor<?x6x5x7xf32>) -> (tensor<?x6x5x7xf32>, tensor<?x2xf32>, tensor<?x2xf32>)
  return %y : tensor<?x6x5x7xf32>
}

func.func @res(%x: tensor<?x128xf32>, %h: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x128xf32>
  %e = tensor.empty(%n) : tensor<?x128xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %h : tensor<?x128xf32>, tensor<?x128xf32>) outs(%e : tensor<?x128xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<?x128xf32>
  %y, %r = norm.rms_norm %s {normalized_shape = array<i64: 128>} : (tensor<?x128xf32>) -> (tensor<?x128xf32>, tensor<?x1xf32>)
  return %y : tensor<?x128xf32>
}

func.func @ln_rows(%x: tensor<?x?xf32>, %w: tensor<?xf32>, %b: tensor<?xf32>) -> (tensor<?x?xf32>, tensor<?x1xf32>, tensor<?x1xf32>) {
  %y, %m, %r = norm.layer_norm %x weight %w bias %b {normalized_shape = array<i64: -1>} : (tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>) -> (tensor<?x?xf32>, tensor<?x1xf32>, tensor<?x1xf32>)
  return %y, %m, %r : tensor<?x?xf32>, tensor<?x1xf32>, tensor<?x1xf32>
}

func.func @rms_rows(%x: tensor<?x?x?xbf16>, %w: tensor<?x?xbf16>) -> tensor<?x?x?xbf16> {
  %y, %r = norm.rms_norm %x weight %w {normalized_shape = array<i64: -1, -1>} : (tensor<?x?x?xbf16>, tensor<?x?xbf16>) -> (tensor<?x?x?xbf16>, tensor<?x1x1xf32>)
  return %y : tensor<?x?x?xbf16>
}
