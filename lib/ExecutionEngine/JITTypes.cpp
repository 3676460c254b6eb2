//===- JITTypes.cpp - Element types and tensor specs of the JIT API -------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/ExecutionEngine/JIT.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/MathExtras.h"

using namespace normlir;

size_t normlir::getElementSize(ElementType type) {
  switch (type) {
  case ElementType::F16:
  case ElementType::BF16:
    return 2;
  case ElementType::F32:
  case ElementType::I32:
    return 4;
  case ElementType::F64:
  case ElementType::I64:
    return 8;
  }
  llvm_unreachable("unknown element type");
}

llvm::StringRef normlir::getElementTypeName(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return "f32";
  case ElementType::F16:
    return "f16";
  case ElementType::BF16:
    return "bf16";
  case ElementType::F64:
    return "f64";
  case ElementType::I64:
    return "i64";
  case ElementType::I32:
    return "i32";
  }
  llvm_unreachable("unknown element type");
}

std::optional<ElementType> normlir::parseElementType(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<ElementType>>(name)
      .Case("f32", ElementType::F32)
      .Case("f16", ElementType::F16)
      .Case("bf16", ElementType::BF16)
      .Case("f64", ElementType::F64)
      .Case("i64", ElementType::I64)
      .Case("i32", ElementType::I32)
      .Default(std::nullopt);
}

bool TensorSpec::hasStaticShape() const { return getNumDynamicDims() == 0; }

bool TensorSpec::accepts(const TensorSpec &concrete) const {
  if (concrete.elementType != elementType ||
      concrete.shape.size() != shape.size())
    return false;
  for (auto [want, got] : llvm::zip(shape, concrete.shape))
    if (got < 0 || (want != kDynamic && want != got))
      return false;
  return true;
}

size_t TensorSpec::getNumDynamicDims() const {
  return llvm::count(shape, kDynamic);
}

int64_t TensorSpec::getNumElements() const {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d == kDynamic)
      return kDynamic;
    n *= d;
  }
  return n;
}

size_t FunctionSignature::getNumDynamicDims() const {
  size_t n = 0;
  for (const TensorSpec &t : inputs)
    n += t.getNumDynamicDims();
  for (const TensorSpec &t : results)
    n += t.getNumDynamicDims();
  return n;
}

std::vector<TensorSpec> FunctionSignature::getResultsFor(
    llvm::ArrayRef<std::vector<int64_t>> inputShapes) const {
  std::vector<TensorSpec> out = results;
  for (const ResultDim &r : resultDims)
    if (r.input < inputShapes.size() &&
        r.inputDim < inputShapes[r.input].size() && r.result < out.size() &&
        r.dim < out[r.result].shape.size())
      out[r.result].shape[r.dim] = inputShapes[r.input][r.inputDim];
  return out;
}

std::string FunctionSignature::describeStatus(int32_t status) const {
  if (status == kStatusRuntimeError)
    return "the runtime reported an error";
  if (status == kStatusNegativeSize)
    return "a size passed for a dynamic dimension is negative, or a "
           "buffer's sizes overflow its byte count";
  if (status >= kStatusFirstCheck &&
      static_cast<size_t>(status - kStatusFirstCheck) < checks.size())
    return checks[status - kStatusFirstCheck];
  return "unknown status " + std::to_string(status);
}

llvm::Expected<size_t> normlir::getCheckedSizeInBytes(const TensorSpec &spec) {
  int64_t bytes = static_cast<int64_t>(getElementSize(spec.elementType));
  for (int64_t d : spec.shape) {
    if (d == TensorSpec::kDynamic)
      continue;
    if (d < 0)
      return llvm::createStringError("tensor " + spec.str() +
                                     " has a negative dimension");
    if (llvm::MulOverflow(bytes, d, bytes))
      return llvm::createStringError("tensor " + spec.str() +
                                     " is too large: its size overflows");
  }
  return static_cast<size_t>(bytes);
}

std::string TensorSpec::str() const {
  std::string s;
  for (int64_t d : shape)
    s += (d == kDynamic ? std::string("?") : std::to_string(d)) + "x";
  return s + getElementTypeName(elementType).str();
}
