// RUN: normlir-opt %s --normlir-cpu-pipeline="target-cpu=x86-64-v3" | FileCheck %s
// RUN: normlir-opt %s --normlir-cpu-pipeline --mlir-print-ir-after-all 2>&1 >/dev/null | FileCheck %s --check-prefix=ORDER
// RUN: normlir-opt %s --normlir-cpu-pipeline="strategy=segment vector-width=4 unroll=1 parallel=on" --mlir-print-ir-after=norm-select-schedule 2>&1 >/dev/null | FileCheck %s --check-prefix=OPTIONS
// RUN: normlir-opt %s --normlir-cpu-pipeline="vector-width=4 parallel=on" | FileCheck %s --check-prefix=OMP

// Everything is lowered to the LLVM dialect; results become out-parameters:
// each memref is passed expanded as (allocated, aligned, offset, sizes,
// strides), so a rank-2 input and three rank-2 results take 4 * 7 scalars.
// CHECK-NOT: norm.
// CHECK-NOT: linalg.
// CHECK-NOT: memref.
// CHECK-LABEL: llvm.func @ln(
// CHECK-SAME: %arg27: i64) {
// CHECK: llvm.return{{$}}
// CHECK-LABEL: llvm.func @bn_bf16(
// CHECK-NOT: {{llvm.fpext|llvm.fptrunc}}{{.*}}bf16
// CHECK-NOT: masked.{{load|store}}{{.*}}bf16
// CHECK: llvm.return{{$}}

// ORDER: IR Dump After NormExpand (norm-expand)
// ORDER: IR Dump After NormFuse (norm-fuse)
// ORDER: norm.kernel
// ORDER: IR Dump After NormSelectSchedule (norm-select-schedule)
// ORDER: schedule = #norm.schedule<strategy = row
// ORDER: IR Dump After ConvertNormToLinalg (convert-norm-to-linalg)
// ORDER: IR Dump After OneShotBufferizePass (one-shot-bufferize)
// ORDER: IR Dump After BufferResultsToOutParamsPass (buffer-results-to-out-params)
// ORDER: IR Dump After NormFoldResultCopies (norm-fold-result-copies)
// ORDER: IR Dump After ConvertNormToVector (convert-norm-to-vector)
// ORDER: IR Dump After OwnershipBasedBufferDeallocationPass (ownership-based-buffer-deallocation)
// ORDER: IR Dump After ConvertLinalgToLoopsPass (convert-linalg-to-loops)
// ORDER: IR Dump After ConvertSCFToOpenMPPass (convert-scf-to-openmp)
// ORDER: IR Dump After ConvertVectorToLLVMPass (convert-vector-to-llvm)
// ORDER: IR Dump After NormLegalizeHalfMaskedMemory (norm-legalize-half-masked-memory)
// ORDER: IR Dump After ConvertOpenMPToLLVMPass (convert-openmp-to-llvm)
// ORDER: IR Dump After ReconcileUnrealizedCastsPass (reconcile-unrealized-casts)

// The pipeline's options reach norm-select-schedule.
// OPTIONS: schedule = #norm.schedule<strategy = segment, vectorWidth = 4, unroll = 1,
// OPTIONS-SAME: parallel = true>

// Threaded loops become OpenMP regions (LLVM translation outlines them into
// __kmpc_fork_call); vectors stay vectors.
// OMP: omp.parallel
// OMP: omp.wsloop
// OMP: vector<4xf32>

func.func @ln(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>) {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 4>} : (tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  return %y, %m, %r : tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>
}

// bf16 conversions are expanded to integer arithmetic (no runtime library
// call), so no bf16 fpext/fptrunc survives into LLVM.
func.func @bn_bf16(%x: tensor<4x3x2xbf16>, %rm: tensor<3xbf16>, %rv: tensor<3xbf16>) -> tensor<4x3x2xbf16> {
  %y = norm.batch_norm %x running(%rm, %rv) : (tensor<4x3x2xbf16>, tensor<3xbf16>, tensor<3xbf16>) -> tensor<4x3x2xbf16>
  return %y : tensor<4x3x2xbf16>
}
