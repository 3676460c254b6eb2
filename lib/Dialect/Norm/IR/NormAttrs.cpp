//===- NormAttrs.cpp - norm dialect attributes ----------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/IR/Norm.h"

#include "mlir/Interfaces/FunctionInterfaces.h"

#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace normlir::norm;

//===----------------------------------------------------------------------===//
// Enum keywords (schedule fields)
//===----------------------------------------------------------------------===//

/// A keyword (or, as earlier releases printed some, a string) naming a case
/// of an enum: `symbolize` maps it; errors name the field and its `cases`.
template <typename EnumT>
static FailureOr<EnumT>
parseEnumKeyword(AsmParser &parser, StringRef field, StringRef cases,
                 std::optional<EnumT> (*symbolize)(StringRef)) {
  SMLoc loc = parser.getCurrentLocation();
  std::string name;
  if (failed(parser.parseOptionalKeywordOrString(&name)))
    return parser.emitError(loc) << "expected " << field << ": " << cases;
  if (std::optional<EnumT> value = symbolize(name))
    return *value;
  return parser.emitError(loc)
         << field << " must be " << cases << ", got '" << name << "'";
}

FailureOr<Strategy> normlir::norm::parseStrategy(AsmParser &parser) {
  return parseEnumKeyword<Strategy>(
      parser, "strategy", "row, segment or column", symbolizeStrategy);
}

FailureOr<GradStatistics>
normlir::norm::parseGradStatistics(AsmParser &parser) {
  return parseEnumKeyword<GradStatistics>(
      parser, "statistics", "saved or recomputed", symbolizeGradStatistics);
}

//===----------------------------------------------------------------------===//
// ScheduleAttr
//===----------------------------------------------------------------------===//

LogicalResult ScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   Strategy strategy, int64_t vectorWidth,
                                   int64_t unroll, int64_t chunks,
                                   int64_t rowTasks, bool nontemporal,
                                   bool parallel, int64_t prefetch) {
  // (C1) holds by construction: the parser accepts only the enum's names.
  // (C2)
  if (vectorWidth < 1 || vectorWidth > 64 || !llvm::isPowerOf2_64(vectorWidth))
    return emitError() << "schedule vectorWidth must be a power of two in "
                          "[1, 64], got "
                       << vectorWidth;
  if (unroll < 1 || unroll > 16)
    return emitError() << "schedule unroll must be in [1, 16], got " << unroll;
  // The bounds keep index arithmetic far from overflow.
  constexpr int64_t kMaxSplit = int64_t(1) << 30;
  if (chunks < 1 || chunks > kMaxSplit)
    return emitError() << "schedule chunks must be in [1, 2^30], got "
                       << chunks;
  if (rowTasks < 1 || rowTasks > kMaxSplit)
    return emitError() << "schedule rowTasks must be in [1, 2^30], got "
                       << rowTasks;
  if (prefetch < 0 || prefetch > kMaxSplit)
    return emitError() << "schedule prefetch must be in [0, 2^30], got "
                       << prefetch;
  // (C3)
  if (prefetch != 0 && strategy != Strategy::Row)
    return emitError() << "schedule prefetch must be 0 for the "
                       << stringifyStrategy(strategy)
                       << " strategy (only row prefetches)";
  return success();
}

//===----------------------------------------------------------------------===//
// VariantAttr
//===----------------------------------------------------------------------===//

LogicalResult VariantAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t from, Attribute schedule) {
  // (C1)
  if (from < 0)
    return emitError() << "variant from must not be negative, got " << from;
  // (C2)
  if (!isa_and_nonnull<ScheduleAttr, GPUScheduleAttr>(schedule))
    return emitError() << "variant schedule must be a #norm.schedule or a "
                          "#norm.gpu_schedule, got "
                       << schedule;
  return success();
}

//===----------------------------------------------------------------------===//
// GradScheduleAttr
//===----------------------------------------------------------------------===//

LogicalResult
GradScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                         GradStatistics, bool, int64_t prefetch, bool) {
  // (C1) holds by construction: the parser accepts only the enum's names.
  // (C2) The bound keeps index arithmetic far from overflow.
  if (prefetch < 0 || prefetch > (int64_t(1) << 30))
    return emitError() << "grad_schedule prefetch must be in [0, 2^30], got "
                       << prefetch;
  return success();
}

//===----------------------------------------------------------------------===//
// GPUScheduleAttr
//===----------------------------------------------------------------------===//

LogicalResult
GPUScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        Strategy strategy, int64_t threads, int64_t rows,
                        int64_t vectorWidth, int64_t chunks) {
  // (C1) holds by construction: the parser accepts only the enum's names.
  bool row = strategy == Strategy::Row;
  // (C2) A block holds at most 1024 threads.
  if (threads < 1 || threads > 1024 || !llvm::isPowerOf2_64(threads))
    return emitError() << "gpu_schedule threads must be a power of two in "
                          "[1, 1024], got "
                       << threads;
  if (row) {
    if (rows < 1 || !llvm::isPowerOf2_64(rows) || threads * rows > 1024)
      return emitError() << "gpu_schedule rows must be a power of two with "
                            "threads * rows <= 1024, got "
                         << rows;
    // Warp shuffles need whole warps.
    if (threads * rows < 32)
      return emitError() << "gpu_schedule needs threads * rows >= 32 (whole "
                            "warps), got "
                         << threads * rows;
  } else {
    // A block of `threads` threads: whole warps, for the shuffles.
    if (threads < 32)
      return emitError() << "gpu_schedule threads must be at least 32 (whole "
                            "warps) for the "
                         << stringifyStrategy(strategy) << " strategy, got "
                         << threads;
    if (strategy == Strategy::Column && rows != 1)
      return emitError() << "gpu_schedule rows must be 1 for the "
                         << stringifyStrategy(strategy) << " strategy";
    // Segment: R1 runs per block.
    if (rows < 1 || rows > 1024 || !llvm::isPowerOf2_64(rows))
      return emitError() << "gpu_schedule rows must be a power of two in "
                            "[1, 1024], got "
                         << rows;
  }
  // (C3) At most 16 bytes of f32... or 16 halves: one 16- or 32-byte access.
  if (vectorWidth < 1 || vectorWidth > 16 || !llvm::isPowerOf2_64(vectorWidth))
    return emitError() << "gpu_schedule vectorWidth must be a power of two "
                          "in [1, 16], got "
                       << vectorWidth;
  // (C4)
  constexpr int64_t kMaxSplit = int64_t(1) << 30;
  if (chunks < 1 || chunks > kMaxSplit)
    return emitError() << "gpu_schedule chunks must be in [1, 2^30], got "
                       << chunks;
  if (row && chunks != 1)
    return emitError() << "gpu_schedule chunks must be 1 for the row "
                          "strategy (split rows use segment)";
  if (strategy == Strategy::Segment && rows != 1 && chunks != 1)
    return emitError() << "gpu_schedule chunks must be 1 for the segment "
                          "strategy with rows > 1 (a block reduces whole "
                          "runs)";
  return success();
}

//===----------------------------------------------------------------------===//
// CPUTargetAttr
//===----------------------------------------------------------------------===//

LogicalResult
CPUTargetAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      StringRef triple, StringRef cpu, StringRef features,
                      int64_t vectorWidth, bool nativeBF16, int64_t l1Cache,
                      int64_t l2Cache, int64_t llcCache, int64_t cores) {
  // (C1)
  if (cpu.empty())
    return emitError() << "cpu_target cpu must not be empty";
  // (C2)
  if (vectorWidth < 1 || vectorWidth > 64 || !llvm::isPowerOf2_64(vectorWidth))
    return emitError() << "cpu_target vectorWidth must be a power of two in "
                          "[1, 64], got "
                       << vectorWidth;
  // (C3)
  if (l1Cache < 1 || l2Cache < 1 || llcCache < 1)
    return emitError() << "cpu_target cache sizes must be positive";
  if (cores < 0)
    return emitError() << "cpu_target cores must not be negative, got "
                       << cores;
  return success();
}

//===----------------------------------------------------------------------===//
// CUDATargetAttr
//===----------------------------------------------------------------------===//

LogicalResult
CUDATargetAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       StringRef chip, int64_t multiprocessors,
                       int64_t sharedMemoryPerBlock) {
  // (C1)
  StringRef version = chip;
  if (!version.consume_front("sm_") || version.empty() ||
      !llvm::isDigit(version.front()))
    return emitError() << "cuda_target chip must be sm_<version>, got '" << chip
                       << "'";
  // (C2)
  if (multiprocessors < 1 || sharedMemoryPerBlock < 1 ||
      multiprocessors > (1 << 20) || sharedMemoryPerBlock > (int64_t(1) << 40))
    return emitError()
           << "cuda_target multiprocessors and "
              "sharedMemoryPerBlock must be in [1, 2^20] and [1, 2^40]";
  return success();
}

//===----------------------------------------------------------------------===//
// Dialect attributes
//===----------------------------------------------------------------------===//

LogicalResult NormDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  if (name == kGradientOfAttrName || name == kWrtAttrName ||
      name == kCotangentsAttrName || name == kSavedAttrName) {
    // Kept through the lowering (func.func, then llvm.func).
    if (!isa<FunctionOpInterface>(op))
      return op->emitError()
             << "'" << name << "' is an attribute of a function";
    bool ok = name == kGradientOfAttrName
                  ? isa<FlatSymbolRefAttr>(attr.getValue())
                  : isa<DenseI64ArrayAttr>(attr.getValue());
    if (!ok)
      return op->emitError()
             << "'" << name << "' must be "
             << (name == kGradientOfAttrName ? "a symbol reference"
                                             : "an array<i64>")
             << ", got " << attr.getValue();
    return success();
  }
  if (name == kResultDimsAttrName) {
    auto dims = dyn_cast<ArrayAttr>(attr.getValue());
    if (!isa<FunctionOpInterface>(op) || !dims ||
        !llvm::all_of(dims, [](Attribute a) {
          auto d = dyn_cast<DenseI64ArrayAttr>(a);
          return d && d.size() == 4 &&
                 llvm::all_of(d.asArrayRef(), [](int64_t v) { return v >= 0; });
        }))
      return op->emitError() << "'" << name
                             << "' is an array of array<i64: out, dim, in, "
                                "dim> on a function";
    return success();
  }
  if (name == kCheckMessagesAttrName) {
    auto messages = dyn_cast<ArrayAttr>(attr.getValue());
    if (!isa<FunctionOpInterface>(op) || !messages ||
        !llvm::all_of(messages, llvm::IsaPred<StringAttr>))
      return op->emitError()
             << "'" << name << "' is an array of strings on a function";
    return success();
  }
  if (attr.getName() != kTargetAttrName)
    return op->emitError() << "unknown norm dialect attribute '"
                           << attr.getName().getValue() << "'";
  if (!isa<ModuleOp>(op))
    return op->emitError() << "'" << kTargetAttrName
                           << "' is an attribute of builtin.module";
  if (!isa<CPUTargetAttr, CUDATargetAttr>(attr.getValue()))
    return op->emitError() << "'" << kTargetAttrName
                           << "' must be a #norm.cpu_target or "
                              "#norm.cuda_target, got "
                           << attr.getValue();
  return success();
}
