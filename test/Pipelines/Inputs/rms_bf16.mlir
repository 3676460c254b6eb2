// RMSNorm over bf16 rows: f32 accumulation, bf16 results.
func.func @rms(%x: tensor<64x1024xbf16>, %w: tensor<1024xbf16>) -> tensor<64x1024xbf16> {
  %y, %r = norm.rms_norm %x weight %w {normalized_shape = array<i64: 1024>}
      : (tensor<64x1024xbf16>, tensor<1024xbf16>) -> (tensor<64x1024xbf16>, tensor<64x1xf32>)
  return %y : tensor<64x1024xbf16>
}
