// RUN: normlir-opt %s --normlir-cuda-pipeline="format=isa" | FileCheck %s
// RUN: normlir-opt %s --normlir-cuda-pipeline="format=isa chip=sm_80 strategy=segment chunks=2 force" | FileCheck %s --check-prefix=SM80
// RUN: normlir-opt %s --dump-pass-pipeline --normlir-cuda-pipeline="format=isa" -o /dev/null 2>&1 | FileCheck %s --check-prefix=ORDER
// RUN: not normlir-opt %s --normlir-cuda-pipeline="format=elf" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADFORMAT

// LayerNorm on the GPU: host code that creates a stream, launches the
// outlined kernel (one launch for the row strategy; the mean's NaN
// propagation is a second, elementwise one), waits, and returns through
// out-parameters; the kernel as PTX for sm_90 with 16-byte loads, warp
// shuffles and no local-memory spills.
// CHECK-LABEL: llvm.func @ln(
// CHECK: llvm.call @mgpuStreamCreate()
// CHECK: gpu.launch_func <%{{.*}} : !llvm.ptr> @ln_kernel::@ln_kernel
// CHECK: llvm.call @mgpuStreamSynchronize
// CHECK: gpu.binary @ln_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">
// CHECK-SAME: .target sm_90
// CHECK-SAME: ld.global.v4.b32
// CHECK-SAME: shfl.sync.bfly.b32
// CHECK-SAME: st.global.v4.b32
// CHECK-NOT: .local
// CHECK-NOT: scf.parallel
// CHECK-NOT: memref.load

// The split (segment) schedule on sm_80: partials, combine and apply kernels
// on one stream, the scratch allocated and freed on it.
// SM80-LABEL: llvm.func @ln(
// SM80: llvm.call @mgpuMemAlloc
// SM80: gpu.launch_func
// SM80: gpu.launch_func
// SM80: gpu.launch_func
// SM80: llvm.call @mgpuMemFree
// SM80: gpu.binary {{.*}}chip = "sm_80"

// ORDER: norm-select-schedule{{.*}}target=cuda
// ORDER: one-shot-bufferize
// ORDER: convert-norm-to-gpu
// ORDER: gpu-kernel-outlining
// ORDER: convert-parallel-loops-to-gpu
// ORDER: gpu-async-region
// ORDER: nvvm-attach-target{O=3 chip=sm_90
// ORDER: convert-gpu-to-nvvm
// ORDER: gpu-to-llvm
// ORDER: gpu-module-to-binary{format=isa

// BADFORMAT: format must be auto, bin, isa or fatbin, got 'elf'
func.func @ln(%x: tensor<64x1024xf32>, %w: tensor<1024xf32>, %b: tensor<1024xf32>)
    -> (tensor<64x1024xf32>, tensor<64x1xf32>, tensor<64x1xf32>) {
  %y, %mean, %rstd = norm.layer_norm %x weight %w bias %b
      {normalized_shape = array<i64: 1024>}
      : (tensor<64x1024xf32>, tensor<1024xf32>, tensor<1024xf32>)
      -> (tensor<64x1024xf32>, tensor<64x1xf32>, tensor<64x1xf32>)
  return %y, %mean, %rstd : tensor<64x1024xf32>, tensor<64x1xf32>, tensor<64x1xf32>
}
