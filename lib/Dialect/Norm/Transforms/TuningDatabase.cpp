//===- TuningDatabase.cpp - schedules measured by normlir-tune ------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/TuningDatabase.h"

#include "normlir/Dialect/Norm/Utils/Target.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>

using namespace mlir;
using namespace normlir::norm;

/// "256x1024xf32" for a tensor or memref type: the key does not change when
/// the kernel is bufferized.
static void printShapedType(llvm::raw_ostream &os, Type type) {
  auto shaped = dyn_cast<ShapedType>(type);
  if (!shaped || !shaped.hasRank()) {
    type.print(os);
    return;
  }
  for (int64_t d : shaped.getShape()) {
    if (ShapedType::isDynamic(d))
      os << "?x";
    else
      os << d << "x";
  }
  shaped.getElementType().print(os);
}

/// " name=TYPE" for an optional operand, " name=-" where it is absent.
static void printOptionalOperand(llvm::raw_ostream &os, llvm::StringRef name,
                                 Value value) {
  os << " " << name << "=";
  if (value)
    printShapedType(os, value.getType());
  else
    os << "-";
}

/// The ops of a prologue or epilogue region as "name:type,..." (their order
/// and result types: what the fused loop computes per element), or "" when
/// the region is empty. Constants' values do not change the schedule and are
/// left out, so the key stays short.
static void printRegionOps(llvm::raw_ostream &os, Region &region) {
  if (region.empty())
    return;
  llvm::ListSeparator separator(",");
  for (Operation &op : region.front()) {
    os << separator << op.getName();
    for (Type t : op.getResultTypes()) {
      os << ":";
      t.print(os);
    }
  }
}

std::string normlir::norm::getTuningKey(KernelOp op, Attribute target) {
  std::string key;
  llvm::raw_string_ostream os(key);
  auto optional = [&](llvm::StringRef name, Value value) {
    printOptionalOperand(os, name, value);
  };
  auto types = [&](llvm::StringRef name, ValueRange values) {
    os << " " << name << "=[";
    llvm::interleave(
        values, os, [&](Value v) { printShapedType(os, v.getType()); }, ",");
    os << "]";
  };
  os << "norm.kernel in=";
  printShapedType(os, op.getInput().getType());
  types("extra", op.getExtraInputs());
  optional("mean", op.getMean());
  optional("rstd", op.getRstd());
  optional("weight", op.getWeight());
  optional("bias", op.getBias());
  types("outs", op.getOuts());
  os << " axes=[";
  llvm::interleave(op.getAxes(), os, ",");
  os << "] param_axes=[";
  llvm::interleave(op.getParamAxes(), os, ",");
  os << "] zero_degenerate=" << (op.getZeroDegenerate() ? 1 : 0)
     << " prologue=[";
  printRegionOps(os, op.getPrologue());
  os << "] epilogue=[";
  printRegionOps(os, op.getEpilogue());
  os << "] target=" << describeTarget(target);
  return key;
}

std::string normlir::norm::getTuningKey(GradKernelOp op, Attribute target) {
  std::string key;
  llvm::raw_string_ostream os(key);
  auto optional = [&](llvm::StringRef name, Value value) {
    printOptionalOperand(os, name, value);
  };
  os << "norm.grad_kernel in=";
  printShapedType(os, op.getInput().getType());
  optional("mean", op.getMean());
  optional("rstd", op.getRstd());
  optional("weight", op.getWeight());
  optional("residual_grad", op.getResidualGrad());
  os << " outs=" << op.getOuts().size() << " axes=[";
  llvm::interleave(op.getAxes(), os, ",");
  os << "] param_axes=[";
  llvm::interleave(op.getWeightAxes(), os, ",");
  os << "] centered=" << (op.getCentered() ? 1 : 0)
     << " constant_statistics=" << (op.getConstantStatistics() ? 1 : 0)
     << " input_statistics=" << (op.getInputStatistics() ? 1 : 0)
     << " target=" << describeTarget(target);
  return key;
}

/// "PATH:LINE: message".
static llvm::Error recordError(llvm::StringRef path, size_t line,
                               const llvm::Twine &message) {
  return llvm::createStringError(path + ":" + llvm::Twine(line) + ": " +
                                 message);
}

/// Parses the records of `text` (read from `path`, for messages) into
/// `schedules`, later records replacing earlier ones.
static llvm::Error parseRecords(llvm::StringRef path, llvm::StringRef text,
                                llvm::StringMap<std::string> &schedules) {
  llvm::SmallVector<llvm::StringRef> lines;
  text.split(lines, '\n');
  for (auto [index, rawLine] : llvm::enumerate(lines)) {
    size_t lineNo = index + 1;
    llvm::StringRef line = rawLine.trim();
    if (line.empty())
      continue;
    llvm::Expected<llvm::json::Value> value = llvm::json::parse(line);
    if (!value)
      return recordError(path, lineNo,
                         "malformed JSON record: " +
                             llvm::toString(value.takeError()));
    const llvm::json::Object *object = value->getAsObject();
    if (!object)
      return recordError(path, lineNo, "a record must be a JSON object");
    std::optional<llvm::StringRef> key = object->getString("key");
    std::optional<llvm::StringRef> schedule = object->getString("schedule");
    if (!key || !schedule || key->empty())
      return recordError(path, lineNo,
                         "a record needs the string fields \"key\" (not "
                         "empty) and \"schedule\"");
    // The attribute itself is parsed by norm-select-schedule, which has a
    // context and reports a bad one at the kernel; this catches what is not one
    // at all.
    if (!schedule->starts_with("#norm.schedule<") &&
        !schedule->starts_with("#norm.gpu_schedule<") &&
        !schedule->starts_with("#norm.grad_schedule<") &&
        !schedule->starts_with("[#norm.variant<"))
      return recordError(path, lineNo,
                         "\"schedule\" must be a #norm.schedule, "
                         "#norm.gpu_schedule, #norm.grad_schedule or a list "
                         "of #norm.variant (a kernel with dynamic sizes), "
                         "got '" +
                             *schedule + "'");
    schedules[*key] = schedule->str();
  }
  return llvm::Error::success();
}

/// SHA-256 (hex) of the effective records in key order: timings and
/// replaced records do not change it, so re-tuning to the same schedules
/// keeps compiled modules cached.
static std::string digestOf(const llvm::StringMap<std::string> &schedules) {
  llvm::SmallVector<llvm::StringRef> keys;
  for (const auto &entry : schedules)
    keys.push_back(entry.getKey());
  llvm::sort(keys);
  llvm::SHA256 hasher;
  for (llvm::StringRef key : keys) {
    hasher.update(key);
    hasher.update(llvm::StringRef("\0", 1));
    hasher.update(schedules.lookup(key));
    hasher.update(llvm::StringRef("\n", 1));
  }
  std::array<uint8_t, 32> hash = hasher.final();
  return llvm::toHex(hash, /*LowerCase=*/true);
}

namespace {
/// A database loaded earlier, valid while its file is unchanged.
struct CachedDatabase {
  llvm::sys::TimePoint<> modified;
  uint64_t size = 0;
  std::shared_ptr<const TuningDatabase> database;
};
} // namespace

llvm::Expected<std::shared_ptr<const TuningDatabase>>
TuningDatabase::load(llvm::StringRef path) {
  // Every compile of a process with a database loads it (the JIT for its
  // cache key, norm-select-schedule for the schedules): read once while
  // unchanged.
  static std::mutex mutex;
  static llvm::StringMap<CachedDatabase> cache;

  // Status before contents: a file changed in between is read again next time.
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(path, status))
    return llvm::createStringError(
        path + ": cannot read the tuning database: " + ec.message());
  if (status.type() != llvm::sys::fs::file_type::regular_file)
    return llvm::createStringError(
        path + ": cannot read the tuning database: not a regular file");
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(path);
    if (it != cache.end() &&
        it->second.modified == status.getLastModificationTime() &&
        it->second.size == status.getSize())
      return it->second.database;
  }

  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!file)
    return llvm::createStringError(
        path +
        ": cannot read the tuning database: " + file.getError().message());
  auto database = std::make_shared<TuningDatabase>();
  if (llvm::Error err =
          parseRecords(path, (*file)->getBuffer(), database->schedules))
    return std::move(err);
  database->digest = digestOf(database->schedules);

  std::lock_guard<std::mutex> lock(mutex);
  cache[path] = {status.getLastModificationTime(), status.getSize(), database};
  return std::shared_ptr<const TuningDatabase>(std::move(database));
}

llvm::StringRef TuningDatabase::lookup(llvm::StringRef key) const {
  auto it = schedules.find(key);
  return it == schedules.end() ? llvm::StringRef()
                               : llvm::StringRef(it->second);
}
