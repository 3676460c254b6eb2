// RUN: normlir-opt %s --norm-legalize-bf16 -split-input-file | FileCheck %s

// Without a target (or with one that has no bf16 instructions) the
// conversions become integer operations: LLVM would otherwise call
// __truncsfbf2, which the host's C runtime need not provide.
// f32 -> bf16 rounds to nearest even in i32 and picks the quiet NaN there,
// before narrowing: a select between i16 vectors under an f32 mask is
// scalarized by the X86 backend on AVX2.
// CHECK-LABEL: func.func @expanded(
// CHECK-NOT: arith.truncf
// CHECK-NOT: arith.extf
// CHECK: %[[B:.*]] = arith.bitcast %{{.*}} : vector<8xf32> to vector<8xi32>
// CHECK: %[[R:.*]] = arith.addi %[[B]], %{{.*}} : vector<8xi32>
// CHECK: %[[N:.*]] = arith.cmpf uno
// CHECK: %[[S:.*]] = arith.select %[[N]], %{{.*}}, %[[R]] : vector<8xi1>, vector<8xi32>
// CHECK: %[[H:.*]] = arith.shrui %[[S]]
// CHECK: arith.trunci %[[H]] : vector<8xi32> to vector<8xi16>
// CHECK: return
func.func @expanded(%x: vector<8xf32>) -> vector<8xf32> {
  %t = arith.truncf %x : vector<8xf32> to vector<8xbf16>
  %e = arith.extf %t : vector<8xbf16> to vector<8xf32>
  return %e : vector<8xf32>
}

// -----

// CHECK-LABEL: func.func @no_bf16_instructions(
// CHECK-NOT: arith.truncf
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "skylake-avx512", features = "", vectorWidth = 16, nativeBF16 = false, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = 0>} {
  func.func @no_bf16_instructions(%x: vector<16xf32>) -> vector<16xbf16> {
    %t = arith.truncf %x : vector<16xf32> to vector<16xbf16>
    return %t : vector<16xbf16>
  }
}

// -----

// AVX-512 BF16: LLVM emits vcvtneps2bf16 for the conversion, which is kept,
// after a NaN is replaced by the positive quiet NaN (the instruction keeps
// a NaN's sign): 0x7fc0 on every CPU. f16 is never touched.
// CHECK-LABEL: func.func @native(
// CHECK: %[[NAN:.*]] = arith.constant dense<0x7FC00000> : vector<16xf32>
// CHECK: %[[IS:.*]] = arith.cmpf uno, %arg0, %arg0 : vector<16xf32>
// CHECK: %[[Q:.*]] = arith.select %[[IS]], %[[NAN]], %arg0 : vector<16xi1>, vector<16xf32>
// CHECK: arith.truncf %[[Q]] : vector<16xf32> to vector<16xbf16>
// CHECK: arith.extf %{{.*}} : vector<16xbf16> to vector<16xf32>
// CHECK: arith.truncf %{{.*}} : vector<16xf32> to vector<16xf16>
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "sapphirerapids", features = "", vectorWidth = 16, nativeBF16 = true, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = 0>} {
  func.func @native(%x: vector<16xf32>) -> (vector<16xf32>, vector<16xf16>) {
    %t = arith.truncf %x : vector<16xf32> to vector<16xbf16>
    %e = arith.extf %t : vector<16xbf16> to vector<16xf32>
    %h = arith.truncf %x : vector<16xf32> to vector<16xf16>
    return %e, %h : vector<16xf32>, vector<16xf16>
  }
}
