// RUN: normlir-opt %s --norm-legalize-half-masked-memory | FileCheck %s

// Masked moves of bf16/f16 vectors become i16 moves between bitcasts: no
// element is converted through float (x86 without AVX-512 would call
// __truncsfbf2, which the JIT process does not have).
// CHECK-LABEL: llvm.func @bf16(
// CHECK-SAME: %[[P:.*]]: !llvm.ptr, %[[M:.*]]: vector<8xi1>, %[[PT:.*]]: vector<8xbf16>)
// CHECK: %[[PTI:.*]] = llvm.bitcast %[[PT]] : vector<8xbf16> to vector<8xi16>
// CHECK: %[[L:.*]] = llvm.intr.masked.load %[[P]], %[[M]], %[[PTI]] {alignment = 2 : i32} : (!llvm.ptr, vector<8xi1>, vector<8xi16>) -> vector<8xi16>
// CHECK: %[[V:.*]] = llvm.bitcast %[[L]] : vector<8xi16> to vector<8xbf16>
// CHECK: %[[VI:.*]] = llvm.bitcast %[[V]] : vector<8xbf16> to vector<8xi16>
// CHECK: llvm.intr.masked.store %[[VI]], %[[P]], %[[M]] {alignment = 2 : i32} : vector<8xi16>, vector<8xi1> into !llvm.ptr
llvm.func @bf16(%p: !llvm.ptr, %m: vector<8xi1>, %pt: vector<8xbf16>) {
  %v = llvm.intr.masked.load %p, %m, %pt {alignment = 2 : i32} : (!llvm.ptr, vector<8xi1>, vector<8xbf16>) -> vector<8xbf16>
  llvm.intr.masked.store %v, %p, %m {alignment = 2 : i32} : vector<8xbf16>, vector<8xi1> into !llvm.ptr
  llvm.return
}

// f16 likewise, without a pass-through value; nontemporal is kept.
// CHECK-LABEL: llvm.func @f16(
// CHECK: llvm.intr.masked.load %{{.*}}, %{{.*}} {alignment = 2 : i32, nontemporal} : (!llvm.ptr, vector<4xi1>) -> vector<4xi16>
// CHECK: llvm.bitcast %{{.*}} : vector<4xi16> to vector<4xf16>
llvm.func @f16(%p: !llvm.ptr, %m: vector<4xi1>) -> vector<4xf16> {
  %v = llvm.intr.masked.load %p, %m {alignment = 2 : i32, nontemporal} : (!llvm.ptr, vector<4xi1>) -> vector<4xf16>
  llvm.return %v : vector<4xf16>
}

// Plain loads and stores of bf16 vectors move i16 vectors too (the X86
// backend scalarizes conversions next to <N x bfloat> values); their
// attributes are kept.
// CHECK-LABEL: llvm.func @plain(
// CHECK-SAME: %[[P:.*]]: !llvm.ptr)
// CHECK: %[[L:.*]] = llvm.load %[[P]] {alignment = 2 : i64, nontemporal} : !llvm.ptr -> vector<8xi16>
// CHECK: %[[V:.*]] = llvm.bitcast %[[L]] : vector<8xi16> to vector<8xbf16>
// CHECK: %[[VI:.*]] = llvm.bitcast %[[V]] : vector<8xbf16> to vector<8xi16>
// CHECK: llvm.store %[[VI]], %[[P]] {alignment = 2 : i64} : vector<8xi16>, !llvm.ptr
llvm.func @plain(%p: !llvm.ptr) {
  %v = llvm.load %p {alignment = 2 : i64, nontemporal} : !llvm.ptr -> vector<8xbf16>
  llvm.store %v, %p {alignment = 2 : i64} : vector<8xbf16>, !llvm.ptr
  llvm.return
}

// Other element types are left alone.
// CHECK-LABEL: llvm.func @f32(
// CHECK-NOT: llvm.bitcast
// CHECK: llvm.intr.masked.load {{.*}} -> vector<4xf32>
llvm.func @f32(%p: !llvm.ptr, %m: vector<4xi1>) -> vector<4xf32> {
  %v = llvm.intr.masked.load %p, %m {alignment = 4 : i32} : (!llvm.ptr, vector<4xi1>) -> vector<4xf32>
  llvm.return %v : vector<4xf32>
}
