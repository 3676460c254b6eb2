//===- Spec.h - Norm specs built without MLIR text --------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// A NormSpec describes one PyTorch normalization call (op, input type,
// operands, options) and prints the MLIR text of a `func.func` around the
// named norm op: what the C API's normlirSpec and the Python package build
// for their users, and the canonical text the caches are keyed by.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_SPEC_SPEC_H
#define NORMLIR_SPEC_SPEC_H

#include "normlir/ExecutionEngine/JIT.h"

#include <optional>
#include <string>
#include <vector>

namespace normlir {

/// The named ops a NormSpec can build.
enum class NormOpKind {
  LayerNorm,
  RMSNorm,
  BatchNorm,
  InstanceNorm,
  GroupNorm
};

/// One normalization call. The function built takes the input, then (with
/// `residual`) the residual, then weight, bias, running_mean, running_var
/// and num_batches_tracked where present; it returns the output, then (with
/// `residual`) the sum input + residual that it normalizes, then the saved
/// statistics when `saveStats`, then the updated running statistics
/// (training with running statistics), then num_batches_tracked + 1 (when
/// given).
struct NormSpec {
  NormOpKind op = NormOpKind::LayerNorm;
  ElementType dtype = ElementType::F32;
  /// The input shape in memory order ((N, *S, C) when channelsLast).
  std::vector<int64_t> shape;
  /// LayerNorm/RMSNorm: the trailing dimensions normalized over.
  std::vector<int64_t> normalizedShape;
  /// GroupNorm: the number of groups.
  int64_t numGroups = 0;
  /// std::nullopt: PyTorch's default for the op.
  std::optional<double> epsilon;
  std::optional<double> momentum;
  bool weight = false, bias = false, runningStats = false,
       batchesTracked = false, training = false, channelsLast = false,
       saveStats = false, cumulativeAverage = false;
  /// A residual add before the norm (a pre-norm transformer's residual
  /// stream): h = input + residual, in f32 rounded once to the input's
  /// type, is normalized and returned.
  bool residual = false;
  /// The arguments the backward function (norm-differentiate) returns the
  /// gradients of, as indices into the function's arguments (ascending;
  /// recorded as the function's `norm.wrt`); empty: every argument that
  /// has one.
  std::vector<int64_t> wrt;
  /// Element type of weight, bias and running statistics; std::nullopt:
  /// the input's.
  std::optional<ElementType> paramType;
  /// The function name (a C identifier).
  std::string name = "main";

  /// The MLIR text, or an error saying which field is inconsistent.
  llvm::Expected<std::string> toMLIR() const;
};

} // namespace normlir

#endif // NORMLIR_SPEC_SPEC_H
