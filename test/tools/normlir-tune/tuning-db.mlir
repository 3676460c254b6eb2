// norm-select-schedule{tuning-db}: a kernel whose key has a record gets the recorded
// schedule; the last record of a key wins; a schedule written on the op and
// explicit options come first; a bad database is a located error.
// RUN: normlir-opt %s --norm-select-schedule="tuning-db=%S/Inputs/tuned.jsonl" | FileCheck %s
// RUN: normlir-opt %s --norm-select-schedule="tuning-db=%S/Inputs/tuned.jsonl unroll=2" | FileCheck %s --check-prefix=OPTION
// RUN: normlir-opt %s --norm-attach-cuda-target=force=true --norm-select-schedule="tuning-db=%S/Inputs/tuned.jsonl target=cuda" | FileCheck %s --check-prefix=CUDA

// CHECK-LABEL: func.func @recorded(
// CHECK: schedule = #norm.schedule<strategy = segment, vectorWidth = 4, unroll = 2, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>
// CHECK-LABEL: func.func @written(
// CHECK: schedule = #norm.schedule<strategy = row, vectorWidth = 2, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = true, parallel = false>
// CHECK-LABEL: func.func @unrecorded(
// CHECK: schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 4, chunks = 1, rowTasks = 16, nontemporal = false, parallel = false>

// An option is a request for the heuristic with that change: no database.
// OPTION-LABEL: func.func @recorded(
// OPTION: schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 2, chunks = 1, rowTasks = 16, nontemporal = false, parallel = true>

// The key holds the target: the GPU record is the GPU's.
// CUDA-LABEL: func.func @recorded(
// CUDA: schedule = #norm.gpu_schedule<strategy = segment, threads = 64, rows = 1, vectorWidth = 2, chunks = 2>

module attributes {norm.target = #norm.cpu_target<triple = "x86_64-unknown-linux-gnu", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = 0>} {
  func.func @recorded(%x: tensor<64x256xf32>) -> tensor<64x256xf32> {
    %e = tensor.empty() : tensor<64x256xf32>
    %s = tensor.empty() : tensor<64x1xf32>
    %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
        : (tensor<64x256xf32>, tensor<64x256xf32>, tensor<64x1xf32>, tensor<64x1xf32>, tensor<64x1xf32>) -> (tensor<64x256xf32>, tensor<64x1xf32>, tensor<64x1xf32>, tensor<64x1xf32>)
    return %k#0 : tensor<64x256xf32>
  }
  func.func @written(%x: tensor<64x256xf32>) -> tensor<64x256xf32> {
    %e = tensor.empty() : tensor<64x256xf32>
    %s = tensor.empty() : tensor<64x1xf32>
    %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64, schedule = #norm.schedule<strategy = row, vectorWidth = 2, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = true, parallel = false>}
        : (tensor<64x256xf32>, tensor<64x256xf32>, tensor<64x1xf32>, tensor<64x1xf32>, tensor<64x1xf32>) -> (tensor<64x256xf32>, tensor<64x1xf32>, tensor<64x1xf32>, tensor<64x1xf32>)
    return %k#0 : tensor<64x256xf32>
  }
  func.func @unrecorded(%x: tensor<32x256xf32>) -> tensor<32x256xf32> {
    %e = tensor.empty() : tensor<32x256xf32>
    %s = tensor.empty() : tensor<32x1xf32>
    %k:4 = norm.kernel moments %x outs(%e, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
        : (tensor<32x256xf32>, tensor<32x256xf32>, tensor<32x1xf32>, tensor<32x1xf32>, tensor<32x1xf32>) -> (tensor<32x256xf32>, tensor<32x1xf32>, tensor<32x1xf32>, tensor<32x1xf32>)
    return %k#0 : tensor<32x256xf32>
  }
}

// Errors name the file and line of the record, at the first kernel.
// RUN: printf '{"key": "k", "schedule": "#norm.schedule<>"}\n{"key": "k", "schedule": \n' > %t.truncated.jsonl
// RUN: not normlir-opt %s --norm-select-schedule="tuning-db=%t.truncated.jsonl" 2>&1 | FileCheck %s --check-prefix=TRUNCATED
// TRUNCATED: tuning-db.mlir:27:12: error: norm-select-schedule: {{.*}}truncated.jsonl:2: malformed JSON record:
// RUN: printf '\n["key", "schedule"]\n' > %t.array.jsonl
// RUN: not normlir-opt %s --norm-select-schedule="tuning-db=%t.array.jsonl" 2>&1 | FileCheck %s --check-prefix=ARRAY
// ARRAY: error: norm-select-schedule: {{.*}}array.jsonl:2: a record must be a JSON object
// RUN: printf '{"key": "k", "schedule": 4}\n' > %t.number.jsonl
// RUN: not normlir-opt %s --norm-select-schedule="tuning-db=%t.number.jsonl" 2>&1 | FileCheck %s --check-prefix=FIELDS
// FIELDS: error: norm-select-schedule: {{.*}}number.jsonl:1: a record needs the string fields "key" (not empty) and "schedule"
// RUN: printf '{"key": "k", "schedule": "row"}\n' > %t.text.jsonl
// RUN: not normlir-opt %s --norm-select-schedule="tuning-db=%t.text.jsonl" 2>&1 | FileCheck %s --check-prefix=TEXT
// TEXT: error: norm-select-schedule: {{.*}}text.jsonl:1: "schedule" must be a #norm.schedule, #norm.gpu_schedule, #norm.grad_schedule or a list of #norm.variant (a kernel with dynamic sizes), got 'row'
// RUN: not normlir-opt %s --norm-select-schedule="tuning-db=%t.missing.jsonl" 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: norm-select-schedule: {{.*}}missing.jsonl: cannot read the tuning database: No such file or directory
// RUN: not normlir-opt %s --norm-select-schedule="tuning-db=%S" 2>&1 | FileCheck %s --check-prefix=DIRECTORY
// DIRECTORY: error: norm-select-schedule: {{.*}}: cannot read the tuning database: not a regular file

// A record of the other target's kind is refused where it would apply.
// RUN: not normlir-opt %s --norm-select-schedule="tuning-db=%S/Inputs/wrong-kind.jsonl" 2>&1 | FileCheck %s --check-prefix=KIND
// KIND: error: norm-select-schedule: the tuning database's record for this kernel is not a #norm.schedule: #norm.gpu_schedule<

// A GPU column record whose f64 moments (24 bytes a lane: 1024 threads x 4
// lanes = 96 KiB) no longer fit the target's workgroup memory, as records
// made when they were f32 may: refused at selection, naming the record.
// RUN: grep cuda_target %S/Inputs/tuned.jsonl | sed 's/"schedule": ".*$/"schedule": "#norm.gpu_schedule<strategy = column, threads = 1024, rows = 1, vectorWidth = 4, chunks = 1>"}/' > %t.stale.jsonl
// RUN: not normlir-opt %s --norm-attach-cuda-target=force=true --norm-select-schedule="tuning-db=%t.stale.jsonl target=cuda" 2>&1 | FileCheck %s --check-prefix=STALE
// STALE: error: norm-select-schedule: the tuning database's record for this kernel needs 98304 bytes of workgroup memory, more than the 49152 the target has (a record of an older NormLIR: tune the kernel again): #norm.gpu_schedule<strategy = column, threads = 1024
