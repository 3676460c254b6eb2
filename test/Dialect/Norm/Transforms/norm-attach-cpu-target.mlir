// RUN: normlir-opt %s --norm-attach-cpu-target=cpu=x86-64-v3 -split-input-file | FileCheck %s --check-prefix=V3
// RUN: normlir-opt %s --norm-attach-cpu-target=cpu=znver4 -split-input-file | FileCheck %s --check-prefix=ZN4
// RUN: normlir-opt %s --norm-attach-cpu-target=cpu=skylake-avx512 -split-input-file | FileCheck %s --check-prefix=SKX
// RUN: normlir-opt %s --norm-attach-cpu-target=cpu=x86-64 -split-input-file | FileCheck %s --check-prefix=BASE
// RUN: normlir-opt %s --norm-attach-cpu-target="cpu=x86-64-v3 features=+avx512f,+avx512vl,+avx512bf16" -split-input-file | FileCheck %s --check-prefix=FEAT
// RUN: normlir-opt %s --norm-attach-cpu-target="cpu=x86-64-v3 force" -split-input-file | FileCheck %s --check-prefix=FORCE
// RUN: normlir-opt %s --norm-attach-cpu-target -split-input-file | FileCheck %s --check-prefix=HOST
// RUN: not normlir-opt %s --norm-attach-cpu-target=cpu=pentium9 -split-input-file 2>&1 | FileCheck %s --check-prefix=BADCPU
// RUN: not normlir-opt %s --norm-attach-cpu-target="cpu=x86-64-v3 features=avx512f" -split-input-file 2>&1 | FileCheck %s --check-prefix=BADFEAT
// RUN: not normlir-opt %s --norm-attach-cpu-target="cpu=x86-64-v3 features=+avx9000" -split-input-file 2>&1 | FileCheck %s --check-prefix=BADFEAT2
// RUN: not normlir-opt %s --norm-attach-cpu-target="cpu=host triple=aarch64-linux-gnu" -split-input-file 2>&1 | FileCheck %s --check-prefix=BADHOST

// A named CPU is described from LLVM's tables alone (no host facts: caches
// of a named CPU, cores unknown), so these lines hold on every x86-64 host.
// V3: module attributes {norm.target = #norm.cpu_target<triple = "{{x86_64-.*}}", cpu = "x86-64-v3", features = "", vectorWidth = 8, nativeBF16 = false, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = 0>}
// ZN4: module attributes {norm.target = #norm.cpu_target<triple = "{{x86_64-.*}}", cpu = "znver4", features = "", vectorWidth = 16, nativeBF16 = true, l1Cache = 32768, l2Cache = 1048576, llcCache = 33554432, cores = 0>}
// AVX-512 without the BF16 extension: wide vectors, bf16 expanded.
// SKX: module attributes {norm.target = #norm.cpu_target<triple = "{{x86_64-.*}}", cpu = "skylake-avx512", features = "", vectorWidth = 16, nativeBF16 = false,
// SSE2 only.
// BASE: module attributes {norm.target = #norm.cpu_target<triple = "{{x86_64-.*}}", cpu = "x86-64", features = "", vectorWidth = 4, nativeBF16 = false,
// Features adjust the CPU's set, and the derived facts follow.
// FEAT: module attributes {norm.target = #norm.cpu_target<triple = "{{x86_64-.*}}", cpu = "x86-64-v3", features = "+avx512f,+avx512vl,+avx512bf16", vectorWidth = 16, nativeBF16 = true,
// The host: its own name and facts (whatever they are here).
// HOST: module attributes {norm.target = #norm.cpu_target<triple = "{{.+}}", cpu = "{{.+}}", features = "{{.*}}", vectorWidth = {{4|8|16}}, nativeBF16 = {{true|false}}, l1Cache = {{[1-9][0-9]*}}, l2Cache = {{[1-9][0-9]*}}, llcCache = {{[1-9][0-9]*}}, cores = {{[1-9][0-9]*}}>}
// BADCPU: error: norm-attach-cpu-target: unknown CPU 'pentium9' for x86_64 (an LLVM CPU name such as x86-64-v3, znver4, skylake-avx512, or host)
// BADFEAT: error: norm-attach-cpu-target: invalid CPU feature 'avx512f' (expected +name or -name of a x86_64 feature, e.g. +avx512bf16)
// BADFEAT2: error: norm-attach-cpu-target: invalid CPU feature '+avx9000'
// BADHOST: error: norm-attach-cpu-target: cpu=host needs the host's triple, got 'aarch64-linux-gnu'
module {
  func.func @f() {
    return
  }
}

// -----

// A target written in the input is kept, unless forced.
// V3: module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "tigerlake", features = "", vectorWidth = 16, nativeBF16 = false, l1Cache = 49152, l2Cache = 1310720, llcCache = 12582912, cores = 8>}
// FORCE: module attributes {norm.target = #norm.cpu_target<triple = "{{x86_64-.*}}", cpu = "x86-64-v3", features = "", vectorWidth = 8,
module attributes {norm.target = #norm.cpu_target<triple = "x86_64-pc-linux-gnu", cpu = "tigerlake", features = "", vectorWidth = 16, nativeBF16 = false, l1Cache = 49152, l2Cache = 1310720, llcCache = 12582912, cores = 8>} {
}
