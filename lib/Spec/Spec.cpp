//===- Spec.cpp - Norm specs built without MLIR text ----------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/Spec/Spec.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace normlir;

namespace {
/// One operand or result of the function built.
struct Value {
  std::string name;
  std::string type;
};
} // namespace

static std::string tensorType(llvm::ArrayRef<int64_t> shape, ElementType t) {
  std::string s = "tensor<";
  for (int64_t d : shape)
    s += (d == TensorSpec::kDynamic ? std::string("?") : std::to_string(d)) +
         "x";
  return s + getElementTypeName(t).str() + ">";
}

/// An f64 attribute value MLIR parses back exactly: decimal with 17
/// significant digits, or the bit pattern in hex for inf and NaN (which
/// have no decimal spelling in MLIR).
static std::string floatLiteral(double v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (std::isfinite(v))
    os << llvm::format("%.17e", v);
  else
    os << llvm::format("0x%016llX", static_cast<unsigned long long>(
                                        llvm::bit_cast<uint64_t>(v)));
  return s;
}

static llvm::Error specError(const llvm::Twine &message) {
  return llvm::createStringError("invalid norm spec: " + message.str());
}

static const char *opName(NormOpKind op) {
  switch (op) {
  case NormOpKind::LayerNorm:
    return "layer_norm";
  case NormOpKind::RMSNorm:
    return "rms_norm";
  case NormOpKind::BatchNorm:
    return "batch_norm";
  case NormOpKind::InstanceNorm:
    return "instance_norm";
  case NormOpKind::GroupNorm:
    return "group_norm";
  }
  return "";
}

llvm::Expected<std::string> NormSpec::toMLIR() const {
  const char *op = opName(this->op);
  int64_t rank = shape.size();
  // The checks here are the ones whose verifier message would point into
  // text the user never wrote; the op verifiers check everything else.
  if (dtype != ElementType::F32 && dtype != ElementType::F16 &&
      dtype != ElementType::BF16)
    return specError("the input element type must be f32, f16 or bf16, not " +
                     getElementTypeName(dtype));
  if (paramType && *paramType != dtype && *paramType != ElementType::F32)
    return specError("parameters must be f32 or the input's element type");
  if (rank < 1 || rank > 8)
    return specError("the input rank must be 1 to 8, got " + llvm::Twine(rank));
  for (int64_t d : shape)
    if (d < 0 && d != TensorSpec::kDynamic)
      return specError("negative dimension " + llvm::Twine(d) +
                       " (-1 is a dynamic dimension)");
  if (name.empty() || !(llvm::isAlpha(name[0]) || name[0] == '_') ||
      !llvm::all_of(name, [](char c) { return llvm::isAlnum(c) || c == '_'; }))
    return specError("function name '" + name + "' is not a C identifier");
  bool channelOp = this->op == NormOpKind::BatchNorm ||
                   this->op == NormOpKind::InstanceNorm ||
                   this->op == NormOpKind::GroupNorm;
  bool runningOp =
      this->op == NormOpKind::BatchNorm || this->op == NormOpKind::InstanceNorm;
  if (channelsLast && !channelOp)
    return specError(llvm::Twine(op) + " has no channel axis (channels-last)");
  if ((runningStats || training || momentum) && !runningOp)
    return specError(llvm::Twine(op) +
                     " has no running statistics, training mode or momentum");
  if ((batchesTracked || cumulativeAverage) &&
      this->op != NormOpKind::BatchNorm)
    return specError("only batch_norm counts batches");
  if (this->op == NormOpKind::RMSNorm && bias)
    return specError("rms_norm has no bias");
  if (this->op != NormOpKind::GroupNorm && numGroups != 0)
    return specError(llvm::Twine(op) + " has no groups");

  ElementType param = paramType.value_or(dtype);
  std::vector<int64_t> paramShape;
  int64_t channelAxis = channelsLast ? rank - 1 : 1;
  if (this->op == NormOpKind::LayerNorm || this->op == NormOpKind::RMSNorm) {
    int64_t k = normalizedShape.size();
    if (k < 1 || k > rank ||
        !std::equal(normalizedShape.begin(), normalizedShape.end(),
                    shape.end() - k))
      return specError("normalized_shape must be a non-empty suffix of the "
                       "input shape (-1 where it is dynamic)");
    paramShape = normalizedShape;
  } else {
    if (!normalizedShape.empty())
      return specError(llvm::Twine(op) + " has no normalized_shape");
    int64_t minRank = this->op == NormOpKind::InstanceNorm ? 3 : 2;
    if (rank < minRank)
      return specError(llvm::Twine(op) +
                       " needs an input of rank >= " + llvm::Twine(minRank));
    paramShape = {shape[channelAxis]};
    if (shape[channelAxis] == TensorSpec::kDynamic)
      return specError(llvm::Twine(op) + ": the channel dimension must be "
                                         "static");
  }
  if (this->op == NormOpKind::GroupNorm &&
      (numGroups <= 0 || shape[channelAxis] % numGroups != 0))
    return specError("num_groups must be positive and divide the " +
                     llvm::Twine(shape[channelAxis]) + " channels");

  // Operands.
  std::vector<Value> args;
  std::string xType = tensorType(shape, dtype);
  args.push_back({"%x", xType});
  if (residual)
    args.push_back({"%residual", xType});
  std::string operands = residual ? "%h" : "%x";
  std::string paramTy = tensorType(paramShape, param);
  if (weight) {
    args.push_back({"%weight", paramTy});
    operands += " weight %weight";
  }
  if (bias) {
    args.push_back({"%bias", paramTy});
    operands += " bias %bias";
  }
  if (runningStats) {
    args.push_back({"%running_mean", paramTy});
    args.push_back({"%running_var", paramTy});
    operands += " running(%running_mean, %running_var)";
  }
  if (batchesTracked) {
    args.push_back({"%num_batches_tracked", "tensor<i64>"});
    operands += " batches_tracked %num_batches_tracked";
  }

  // Results of the op, and which of them the function returns (the sum
  // h, with a residual, goes right after the output).
  std::vector<std::string> resultTypes = {xType};
  std::vector<bool> returned = {true};
  auto addResult = [&](std::string type, bool ret) {
    resultTypes.push_back(std::move(type));
    returned.push_back(ret);
  };
  std::vector<int64_t> statShape;
  switch (this->op) {
  case NormOpKind::LayerNorm:
  case NormOpKind::RMSNorm: {
    statShape.assign(shape.begin(), shape.end() - normalizedShape.size());
    statShape.resize(rank, 1);
    if (this->op == NormOpKind::LayerNorm)
      addResult(tensorType(statShape, ElementType::F32), saveStats);
    addResult(tensorType(statShape, ElementType::F32), saveStats);
    break;
  }
  case NormOpKind::GroupNorm:
    statShape = {shape[0], numGroups};
    addResult(tensorType(statShape, ElementType::F32), saveStats);
    addResult(tensorType(statShape, ElementType::F32), saveStats);
    break;
  case NormOpKind::BatchNorm:
  case NormOpKind::InstanceNorm: {
    bool batch = this->op == NormOpKind::BatchNorm;
    if (batch && training) {
      std::string statTy = tensorType(paramShape, ElementType::F32);
      addResult(statTy, saveStats);
      addResult(statTy, saveStats);
    } else if (saveStats) {
      return specError(batch ? "batch_norm saves statistics only in training"
                             : "instance_norm has no saved statistics");
    }
    if (runningStats && training) {
      addResult(paramTy, true);
      addResult(paramTy, true);
    }
    if (batchesTracked)
      addResult("tensor<i64>", true);
    break;
  }
  }

  // Attributes.
  std::vector<std::string> attrs;
  if (training)
    attrs.push_back("training");
  if (cumulativeAverage)
    attrs.push_back("cumulative_average");
  if (!normalizedShape.empty()) {
    std::string a = "normalized_shape = array<i64: ";
    for (auto [i, d] : llvm::enumerate(normalizedShape))
      a += (i ? ", " : "") + std::to_string(d);
    attrs.push_back(a + ">");
  }
  if (this->op == NormOpKind::GroupNorm)
    attrs.push_back("num_groups = " + std::to_string(numGroups) + " : i64");
  if (epsilon)
    attrs.push_back("epsilon = " + floatLiteral(*epsilon) + " : f64");
  if (momentum)
    attrs.push_back("momentum = " + floatLiteral(*momentum) + " : f64");
  if (channelsLast)
    attrs.push_back("channel_axis = " + std::to_string(channelAxis) + " : i64");

  // Text.
  std::string argList, argTypes, retTypes, retValues;
  for (auto [i, a] : llvm::enumerate(args)) {
    argList += (i ? ", " : "") + a.name + ": " + a.type;
    // The op's operands: h in place of x and the residual.
    if (!(residual && i == 1))
      argTypes += (i ? ", " : "") + a.type;
  }
  std::string resultList = resultTypes.size() == 1 ? "" : "(";
  for (auto [i, t] : llvm::enumerate(resultTypes))
    resultList += (i ? ", " : "") + t;
  if (resultTypes.size() != 1)
    resultList += ")";
  for (size_t i = 0; i < resultTypes.size(); ++i) {
    if (!returned[i])
      continue;
    retValues += (retValues.empty() ? "" : ", ") +
                 (resultTypes.size() == 1 ? std::string("%r")
                                          : "%r#" + std::to_string(i));
    retTypes += (retTypes.empty() ? "" : ", ") + resultTypes[i];
    if (i == 0 && residual) {
      retValues += ", %h";
      retTypes += ", " + xType;
    }
  }

  std::string fnAttrs;
  if (!wrt.empty()) {
    for (auto [k, i] : llvm::enumerate(wrt))
      if (i < 0 || i >= int64_t(args.size()) || (k > 0 && i <= wrt[k - 1]))
        return specError("wrt must list argument indices in [0, " +
                         llvm::Twine(args.size()) +
                         "), ascending and distinct");
    fnAttrs = " attributes {norm.wrt = array<i64: ";
    for (auto [k, i] : llvm::enumerate(wrt))
      fnAttrs += (k ? ", " : "") + std::to_string(i);
    fnAttrs += ">}";
  }

  std::string s;
  llvm::raw_string_ostream os(s);
  os << "func.func @" << name << "(" << argList << ") -> (" << retTypes << ")"
     << fnAttrs << " {\n";
  if (residual) {
    // h = x + residual, elementwise, in f32 rounded once.
    std::string dims, map, iters;
    for (int64_t i = 0; i < rank; ++i) {
      dims += (i ? ", d" : "d") + std::to_string(i);
      iters += i ? ", \"parallel\"" : "\"parallel\"";
    }
    map = "affine_map<(" + dims + ") -> (" + dims + ")>";
    std::string elt = getElementTypeName(dtype).str();
    // The dynamic sizes of the sum are the input's.
    std::string sizes;
    for (int64_t i = 0; i < rank; ++i) {
      if (shape[i] != TensorSpec::kDynamic)
        continue;
      os << "  %c" << i << " = arith.constant " << i << " : index\n";
      os << "  %d" << i << " = tensor.dim %x, %c" << i << " : " << xType
         << "\n";
      sizes += (sizes.empty() ? "%d" : ", %d") + std::to_string(i);
    }
    os << "  %empty = tensor.empty(" << sizes << ") : " << xType << "\n";
    os << "  %h = linalg.generic {indexing_maps = [" << map << ", " << map
       << ", " << map << "], iterator_types = [" << iters << "]}\n"
       << "      ins(%x, %residual : " << xType << ", " << xType
       << ") outs(%empty : " << xType << ") {\n"
       << "  ^bb0(%a: " << elt << ", %b: " << elt << ", %o: " << elt << "):\n";
    if (dtype == ElementType::F32) {
      os << "    %s = arith.addf %a, %b : f32\n"
         << "    linalg.yield %s : f32\n";
    } else {
      os << "    %aw = arith.extf %a : " << elt << " to f32\n"
         << "    %bw = arith.extf %b : " << elt << " to f32\n"
         << "    %s = arith.addf %aw, %bw : f32\n"
         << "    %t = arith.truncf %s : f32 to " << elt << "\n"
         << "    linalg.yield %t : " << elt << "\n";
    }
    os << "  } -> " << xType << "\n";
  }
  os << "  %r"
     << (resultTypes.size() > 1 ? ":" + std::to_string(resultTypes.size())
                                : std::string())
     << " = norm." << op << " " << operands;
  if (!attrs.empty())
    os << " {" << llvm::join(attrs, ", ") << "}";
  os << "\n      : (" << argTypes << ") -> " << resultList << "\n";
  os << "  return " << retValues << " : " << retTypes << "\n}\n";
  return s;
}
