//===- NormLIR.h - NormLIR C++ API ------------------------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The C++ API for host programs: header-only, over the C API
// (normlir-c/NormLIR.h), so a program needs neither MLIR nor LLVM headers and
// links only NormLIR::JIT. Errors are values (Status, Expected<T>), never
// exceptions or undefined behaviour.
//
//   normlir::Spec spec = normlir::Spec::layerNorm(normlir::DType::F32,
//                                                 {8, 6, 3, 4}, {3, 4});
//   spec.weight().bias();
//   normlir::Expected<normlir::Module> mod = normlir::compile(spec);
//   if (!mod) { std::cerr << mod.status().message(); return 1; }
//   normlir::Function ln = mod->function(0);
//   normlir::Status st = ln({{x, {8, 6, 3, 4}}, {w, {3, 4}}, {b, {3, 4}}},
//                           {{y, {8, 6, 3, 4}}});
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_NORMLIR_H
#define NORMLIR_NORMLIR_H

#include "normlir-c/NormLIR.h"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace normlir {

enum class DType : int32_t {
  F32 = NORMLIR_F32,
  F16 = NORMLIR_F16,
  BF16 = NORMLIR_BF16,
  F64 = NORMLIR_F64,
  I64 = NORMLIR_I64,
  I32 = NORMLIR_I32,
};

/// The C++ element type of each dtype a buffer may hold (f16/bf16: bits).
template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> {
  static constexpr DType value = DType::F32;
};
template <> struct DTypeOf<double> {
  static constexpr DType value = DType::F64;
};
template <> struct DTypeOf<int64_t> {
  static constexpr DType value = DType::I64;
};
template <> struct DTypeOf<int32_t> {
  static constexpr DType value = DType::I32;
};

/// Success, or an error with its code and message.
class Status {
public:
  Status() = default;
  /// Takes ownership of a C status.
  explicit Status(normlirStatus s) {
    if (s) {
      code_ = normlirStatusGetCode(s);
      message_ = normlirStatusGetMessage(s);
      normlirStatusDestroy(s);
    }
  }
  bool ok() const { return code_ == NORMLIR_STATUS_OK; }
  explicit operator bool() const { return ok(); }
  normlirStatusCode code() const { return code_; }
  const std::string &message() const { return message_; }

private:
  normlirStatusCode code_ = NORMLIR_STATUS_OK;
  std::string message_;
};

/// A value or the Status saying why there is none.
template <typename T> class Expected {
public:
  Expected(T value) : value_(std::move(value)) {}
  Expected(Status status) : status_(std::move(status)) {}
  explicit operator bool() const { return status_.ok(); }
  const Status &status() const { return status_; }
  T &operator*() { return value_; }
  T *operator->() { return &value_; }
  const T &operator*() const { return value_; }
  const T *operator->() const { return &value_; }

private:
  T value_{};
  Status status_;
};

/// A norm spec built without MLIR text; see normlirSpec* in the C API for
/// the operands each option adds. A plain value (copyable); setters chain.
/// Inconsistent options are reported by mlir() and compile().
class Spec {
public:
  static Spec layerNorm(DType dtype, std::vector<int64_t> shape,
                        std::vector<int64_t> normalizedShape) {
    Spec s(NORMLIR_LAYER_NORM, dtype, std::move(shape));
    s.normalizedShape_ = std::move(normalizedShape);
    return s;
  }
  static Spec rmsNorm(DType dtype, std::vector<int64_t> shape,
                      std::vector<int64_t> normalizedShape) {
    Spec s(NORMLIR_RMS_NORM, dtype, std::move(shape));
    s.normalizedShape_ = std::move(normalizedShape);
    return s;
  }
  static Spec batchNorm(DType dtype, std::vector<int64_t> shape) {
    return Spec(NORMLIR_BATCH_NORM, dtype, std::move(shape));
  }
  static Spec instanceNorm(DType dtype, std::vector<int64_t> shape) {
    return Spec(NORMLIR_INSTANCE_NORM, dtype, std::move(shape));
  }
  static Spec groupNorm(DType dtype, std::vector<int64_t> shape,
                        int64_t numGroups) {
    Spec s(NORMLIR_GROUP_NORM, dtype, std::move(shape));
    s.numGroups_ = numGroups;
    return s;
  }

  Spec &weight(bool on = true) { return flag(NORMLIR_SPEC_WEIGHT, on); }
  Spec &bias(bool on = true) { return flag(NORMLIR_SPEC_BIAS, on); }
  Spec &runningStats(bool on = true) {
    return flag(NORMLIR_SPEC_RUNNING_STATS, on);
  }
  Spec &batchesTracked(bool on = true) {
    return flag(NORMLIR_SPEC_BATCHES_TRACKED, on);
  }
  Spec &training(bool on = true) { return flag(NORMLIR_SPEC_TRAINING, on); }
  Spec &channelsLast(bool on = true) {
    return flag(NORMLIR_SPEC_CHANNELS_LAST, on);
  }
  Spec &saveStats(bool on = true) { return flag(NORMLIR_SPEC_SAVE_STATS, on); }
  Spec &cumulativeAverage(bool on = true) {
    return flag(NORMLIR_SPEC_CUMULATIVE_AVERAGE, on);
  }
  /// h = input + residual (a second argument) is normalized and returned
  /// after the output (NORMLIR_SPEC_RESIDUAL).
  Spec &residual(bool on = true) { return flag(NORMLIR_SPEC_RESIDUAL, on); }
  Spec &epsilon(double eps) {
    epsilon_ = eps;
    hasEpsilon_ = true;
    return *this;
  }
  Spec &momentum(double m) {
    momentum_ = m;
    hasMomentum_ = true;
    return *this;
  }
  Spec &paramDType(DType d) {
    paramDType_ = d;
    hasParamDType_ = true;
    return *this;
  }
  Spec &name(std::string n) {
    name_ = std::move(n);
    return *this;
  }

  /// The spec as a C API handle the caller owns (normlirSpecDestroy).
  Status build(normlirSpec *out) const {
    *out = nullptr;
    normlirSpec s = nullptr;
    Status st(normlirSpecCreate(op_, static_cast<normlirDType>(dtype_),
                                static_cast<int32_t>(shape_.size()),
                                shape_.data(), &s));
    auto step = [&](normlirStatus c) {
      if (st.ok())
        st = Status(c);
      else
        normlirStatusDestroy(c);
    };
    if (st.ok()) {
      if (!normalizedShape_.empty())
        step(normlirSpecSetNormalizedShape(
            s, static_cast<int32_t>(normalizedShape_.size()),
            normalizedShape_.data()));
      if (numGroups_)
        step(normlirSpecSetNumGroups(s, numGroups_));
      if (hasEpsilon_)
        step(normlirSpecSetEpsilon(s, epsilon_));
      if (hasMomentum_)
        step(normlirSpecSetMomentum(s, momentum_));
      if (hasParamDType_)
        step(normlirSpecSetParamDType(s,
                                      static_cast<normlirDType>(paramDType_)));
      step(normlirSpecSetFlags(s, flags_));
      if (!name_.empty())
        step(normlirSpecSetName(s, name_.c_str()));
    }
    if (!st.ok()) {
      normlirSpecDestroy(s);
      return st;
    }
    *out = s;
    return st;
  }

  /// The MLIR text of the spec, or why it is inconsistent.
  Expected<std::string> mlir() const {
    normlirSpec s = nullptr;
    Status st = build(&s);
    if (!st.ok())
      return st;
    const char *text = nullptr;
    st = Status(normlirSpecGetMLIR(s, &text));
    std::string result = st.ok() ? std::string(text) : std::string();
    normlirSpecDestroy(s);
    if (!st.ok())
      return st;
    return result;
  }

private:
  Spec(normlirOpKind op, DType dtype, std::vector<int64_t> shape)
      : op_(op), dtype_(dtype), shape_(std::move(shape)) {}
  Spec &flag(uint32_t bit, bool on) {
    flags_ = on ? (flags_ | bit) : (flags_ & ~bit);
    return *this;
  }
  normlirOpKind op_;
  DType dtype_;
  std::vector<int64_t> shape_, normalizedShape_;
  int64_t numGroups_ = 0;
  double epsilon_ = 0, momentum_ = 0;
  bool hasEpsilon_ = false, hasMomentum_ = false, hasParamDType_ = false;
  DType paramDType_ = DType::F32;
  uint32_t flags_ = 0;
  std::string name_;
};

/// A caller-owned buffer: data, shape and (optionally) strides in elements.
struct Tensor {
  void *data = nullptr;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;

  Tensor() = default;
  template <typename T>
  Tensor(T *p, std::vector<int64_t> shape, std::vector<int64_t> strides = {})
      : data(const_cast<std::remove_const_t<T> *>(p)),
        dtype(DTypeOf<std::remove_const_t<T>>::value), shape(std::move(shape)),
        strides(std::move(strides)) {}
  /// Raw storage of an explicit dtype (f16/bf16 bits, device pointers).
  Tensor(void *p, DType dtype, std::vector<int64_t> shape,
         std::vector<int64_t> strides = {})
      : data(p), dtype(dtype), shape(std::move(shape)),
        strides(std::move(strides)) {}

  normlirTensor c() const {
    return {data, static_cast<normlirDType>(dtype),
            static_cast<int32_t>(shape.size()), shape.data(),
            strides.empty() ? nullptr : strides.data()};
  }
};

/// A function of a compiled module (borrowed from it).
class Function {
public:
  Function() = default;
  explicit Function(normlirFunction f) : f_(f) {}
  explicit operator bool() const { return f_ != nullptr; }
  std::string name() const { return normlirFunctionGetName(f_); }
  int numInputs() const { return normlirFunctionGetNumInputs(f_); }
  int numResults() const { return normlirFunctionGetNumResults(f_); }
  normlirTensorType inputType(int i) const {
    return normlirFunctionGetInputType(f_, i);
  }
  normlirTensorType resultType(int i) const {
    return normlirFunctionGetResultType(f_, i);
  }
  /// The shape of result `i` for `inputs` (a dynamic dimension takes the
  /// size of the input dimension it follows), in `shape`.
  Status resultShape(int i, const std::vector<Tensor> &inputs,
                     std::vector<int64_t> &shape) const {
    std::vector<normlirTensor> in;
    for (const Tensor &t : inputs)
      in.push_back(t.c());
    normlirTensorType type = resultType(i);
    shape.assign(type.rank > 0 ? type.rank : 0, 0);
    return Status(normlirFunctionGetResultShape(
        f_, i, in.data(), static_cast<int32_t>(in.size()), shape.data()));
  }

  /// Runs the function: reads `inputs`, writes `results`.
  Status operator()(std::initializer_list<Tensor> inputs,
                    std::initializer_list<Tensor> results) const {
    normlirTensor in[16], out[16];
    if (inputs.size() > 16 || results.size() > 16)
      return call(std::vector<Tensor>(inputs), std::vector<Tensor>(results));
    int n = 0, m = 0;
    for (const Tensor &t : inputs)
      in[n++] = t.c();
    for (const Tensor &t : results)
      out[m++] = t.c();
    return Status(normlirFunctionCall(f_, in, n, out, m));
  }
  Status call(const std::vector<Tensor> &inputs,
              const std::vector<Tensor> &results) const {
    std::vector<normlirTensor> in, out;
    for (const Tensor &t : inputs)
      in.push_back(t.c());
    for (const Tensor &t : results)
      out.push_back(t.c());
    return Status(
        normlirFunctionCall(f_, in.data(), static_cast<int32_t>(in.size()),
                            out.data(), static_cast<int32_t>(out.size())));
  }
  /// The lowest-overhead call: C tensors prepared once by the caller.
  Status call(const normlirTensor *inputs, int32_t numInputs,
              const normlirTensor *results, int32_t numResults) const {
    return Status(
        normlirFunctionCall(f_, inputs, numInputs, results, numResults));
  }
  /// CUDA: runs on the caller's `stream` (a cudaStream_t / CUstream of the
  /// device's primary context; nullptr is the legacy default stream) and
  /// returns without waiting for the kernels (normlirFunctionCallOnStream).
  Status call(const std::vector<Tensor> &inputs,
              const std::vector<Tensor> &results, void *stream) const {
    std::vector<normlirTensor> in, out;
    for (const Tensor &t : inputs)
      in.push_back(t.c());
    for (const Tensor &t : results)
      out.push_back(t.c());
    return Status(normlirFunctionCallOnStream(
        f_, in.data(), static_cast<int32_t>(in.size()), out.data(),
        static_cast<int32_t>(out.size()), stream));
  }
  normlirFunction get() const { return f_; }

private:
  normlirFunction f_ = nullptr;
};

/// Chooses the GPU NormLIR runs on in this process (normlirSetCudaDevice).
inline Status setCudaDevice(int ordinal) {
  return Status(normlirSetCudaDevice(ordinal));
}

/// Options of compile().
struct CompileOptions {
  normlirTarget target = NORMLIR_TARGET_CPU;
  std::string chip;
  std::string schedule;
  int optLevel = 3;
  bool diskCache = true;
  /// CPU: the LLVM CPU to compile for; empty: the host's.
  std::string targetCPU;
  /// CPU: LLVM features added to or removed from the CPU's.
  std::string targetFeatures;
  /// Also derive each function's backward function, `NAME_backward`.
  bool differentiate = false;
  /// With `differentiate`: recompute the statistics a function returns
  /// instead of taking them as arguments of its backward.
  bool recomputeStatistics = false;

  normlirCompileOptions c() const {
    normlirCompileOptions o;
    normlirCompileOptionsInit(&o);
    o.target = target;
    o.chip = chip.c_str();
    o.schedule = schedule.c_str();
    o.optLevel = optLevel;
    o.flags =
        (diskCache ? 0u : unsigned(NORMLIR_COMPILE_NO_DISK_CACHE)) |
        (differentiate ? unsigned(NORMLIR_COMPILE_DIFFERENTIATE) : 0u) |
        (recomputeStatistics ? unsigned(NORMLIR_COMPILE_RECOMPUTE_STATISTICS)
                             : 0u);
    o.targetCPU = targetCPU.c_str();
    o.targetFeatures = targetFeatures.c_str();
    return o;
  }
};

/// A compiled module: a reference to a module of the JIT's cache (move-only;
/// compile() the same spec again for another reference, a cache hit).
class Module {
public:
  Module() = default;
  explicit Module(normlirModule m) : m_(m) {}
  Module(const Module &o) = delete;
  Module &operator=(const Module &o) = delete;
  Module(Module &&o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  Module &operator=(Module &&o) noexcept {
    std::swap(m_, o.m_);
    return *this;
  }
  ~Module() {
    if (m_)
      normlirModuleRelease(m_);
  }

  int numFunctions() const { return normlirModuleGetNumFunctions(m_); }
  Function function(int i) const {
    return Function(normlirModuleGetFunction(m_, i));
  }
  Expected<Function> function(const std::string &name) const {
    normlirFunction f = nullptr;
    Status st(normlirModuleLookup(m_, name.c_str(), &f));
    if (!st.ok())
      return st;
    return Function(f);
  }
  std::string warnings() const { return normlirModuleGetWarnings(m_); }
  normlirModule get() const { return m_; }

private:
  normlirModule m_ = nullptr;
};

/// Compiles MLIR text; `bufferName` names it in diagnostics.
inline Expected<Module> compile(const std::string &source,
                                const CompileOptions &options = {},
                                const std::string &bufferName = "<spec>") {
  normlirCompileOptions o = options.c();
  normlirModule m = nullptr;
  Status st(
      normlirCompile(source.data(), source.size(), bufferName.c_str(), &o, &m));
  if (!st.ok())
    return st;
  return Module(m);
}

/// Compiles a built spec.
inline Expected<Module> compile(const Spec &spec,
                                const CompileOptions &options = {}) {
  normlirSpec s = nullptr;
  Status st = spec.build(&s);
  if (!st.ok())
    return st;
  normlirCompileOptions o = options.c();
  normlirModule m = nullptr;
  st = Status(normlirCompileSpec(s, &o, &m));
  normlirSpecDestroy(s);
  if (!st.ok())
    return st;
  return Module(m);
}

inline normlirCacheStats cacheStats() { return normlirGetCacheStats(); }
/// Bounds the in-memory module cache (normlirSetMemoryCacheCapacity).
inline Status setMemoryCacheCapacity(int64_t capacity) {
  return Status(normlirSetMemoryCacheCapacity(capacity));
}
inline std::string version() { return normlirGetVersion(); }

} // namespace normlir

#endif // NORMLIR_NORMLIR_H
