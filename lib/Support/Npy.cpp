//===- Npy.cpp - NumPy .npy files and host tensors ------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/Support/Npy.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstring>

using namespace normlir;
using llvm::APFloat;

static const llvm::fltSemantics &semanticsOf(ElementType t) {
  switch (t) {
  case ElementType::F16:
    return APFloat::IEEEhalf();
  case ElementType::BF16:
    return APFloat::BFloat();
  case ElementType::F32:
    return APFloat::IEEEsingle();
  default:
    return APFloat::IEEEdouble();
  }
}

HostTensor normlir::makeTensor(const TensorSpec &spec) {
  return HostTensor{spec, std::vector<char>(spec.getSizeInBytes(), 0)};
}

double HostTensor::getAsDouble(int64_t i) const {
  const char *p = bytes.data() + i * getElementSize(spec.elementType);
  switch (spec.elementType) {
  case ElementType::F32: {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
  case ElementType::F64: {
    double v;
    std::memcpy(&v, p, 8);
    return v;
  }
  case ElementType::I64: {
    int64_t v;
    std::memcpy(&v, p, 8);
    return static_cast<double>(v);
  }
  case ElementType::I32: {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  case ElementType::F16:
  case ElementType::BF16: {
    uint16_t bits;
    std::memcpy(&bits, p, 2);
    APFloat f(semanticsOf(spec.elementType), llvm::APInt(16, bits));
    return f.convertToDouble();
  }
  }
  return 0.0;
}

/// Stores `v` as element `i`, rounding to nearest even.
static void setFromDouble(HostTensor &t, int64_t i, double v) {
  char *p = t.bytes.data() + i * getElementSize(t.spec.elementType);
  switch (t.spec.elementType) {
  case ElementType::F32: {
    float f = static_cast<float>(v);
    std::memcpy(p, &f, 4);
    return;
  }
  case ElementType::F64:
    std::memcpy(p, &v, 8);
    return;
  case ElementType::I64: {
    int64_t x = static_cast<int64_t>(v);
    std::memcpy(p, &x, 8);
    return;
  }
  case ElementType::I32: {
    int32_t x = static_cast<int32_t>(v);
    std::memcpy(p, &x, 4);
    return;
  }
  case ElementType::F16:
  case ElementType::BF16: {
    APFloat f(v);
    bool lost;
    f.convert(semanticsOf(t.spec.elementType), APFloat::rmNearestTiesToEven,
              &lost);
    uint16_t bits = f.bitcastToAPInt().getZExtValue();
    std::memcpy(p, &bits, 2);
    return;
  }
  }
}

/// NumPy descr strings accepted for each element type.
static std::optional<ElementType> elementTypeOfDescr(llvm::StringRef descr) {
  return llvm::StringSwitch<std::optional<ElementType>>(descr)
      .Cases({"<f4", "=f4"}, ElementType::F32)
      .Cases({"<f2", "=f2"}, ElementType::F16)
      .Cases({"<f8", "=f8"}, ElementType::F64)
      .Cases({"<i8", "=i8"}, ElementType::I64)
      .Cases({"<i4", "=i4"}, ElementType::I32)
      .Cases({"<u2", "=u2", "|V2", "<V2"}, ElementType::BF16)
      .Default(std::nullopt);
}

static llvm::StringRef descrOf(ElementType t) {
  switch (t) {
  case ElementType::F32:
    return "<f4";
  case ElementType::F16:
    return "<f2";
  case ElementType::BF16:
    return "<u2";
  case ElementType::F64:
    return "<f8";
  case ElementType::I64:
    return "<i8";
  case ElementType::I32:
    return "<i4";
  }
  return "";
}

/// Value of `key` in the header dict text: "'descr': '<f4', ...".
static std::optional<llvm::StringRef> headerField(llvm::StringRef header,
                                                  llvm::StringRef key) {
  size_t pos = header.find(("'" + key + "'").str());
  if (pos == llvm::StringRef::npos)
    return std::nullopt;
  llvm::StringRef rest = header.drop_front(pos + key.size() + 2).ltrim();
  if (!rest.consume_front(":"))
    return std::nullopt;
  return rest.ltrim();
}

llvm::Expected<HostTensor> normlir::readNpy(llvm::StringRef path) {
  auto fail = [&](const llvm::Twine &why) {
    return llvm::createStringError(path + ": " + why);
  };
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buffer)
    return fail("cannot read file: " + buffer.getError().message());
  llvm::StringRef data = (*buffer)->getBuffer();
  if (!data.starts_with("\x93NUMPY") || data.size() < 10)
    return fail("not a .npy file (bad magic)");
  uint8_t major = data[6];
  size_t headerLen, headerStart;
  if (major == 1) {
    headerLen = uint8_t(data[8]) | (uint8_t(data[9]) << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (data.size() < 12)
      return fail("truncated header");
    headerLen = uint32_t(uint8_t(data[8])) | (uint32_t(uint8_t(data[9])) << 8) |
                (uint32_t(uint8_t(data[10])) << 16) |
                (uint32_t(uint8_t(data[11])) << 24);
    headerStart = 12;
  } else {
    return fail("unsupported .npy format version " + llvm::Twine(major));
  }
  if (data.size() < headerStart + headerLen)
    return fail("truncated header");
  llvm::StringRef header = data.substr(headerStart, headerLen);

  auto descrField = headerField(header, "descr");
  auto fortranField = headerField(header, "fortran_order");
  auto shapeField = headerField(header, "shape");
  if (!descrField || !fortranField || !shapeField)
    return fail("malformed header");
  llvm::StringRef descr = descrField->drop_front(1);
  descr = descr.take_until([](char c) { return c == '\'' || c == '"'; });
  auto elt = elementTypeOfDescr(descr);
  if (!elt)
    return fail(
        "unsupported dtype '" + descr +
        "' (supported: <f4, <f2, <f8, <i8, <i4, and <u2 for bf16 bits)");
  if (fortranField->starts_with("True"))
    return fail("Fortran-order arrays are not supported; save a C-order copy");

  HostTensor t;
  t.spec.elementType = *elt;
  llvm::StringRef shapeText =
      shapeField->drop_front(1).take_until([](char c) { return c == ')'; });
  llvm::SmallVector<llvm::StringRef> dims;
  shapeText.split(dims, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef d : dims) {
    d = d.trim();
    if (d.empty())
      continue;
    int64_t v;
    if (d.getAsInteger(10, v) || v < 0)
      return fail("malformed shape '" + shapeText + "'");
    t.spec.shape.push_back(v);
  }
  size_t bytes = t.spec.getSizeInBytes();
  size_t dataStart = headerStart + headerLen;
  if (data.size() - dataStart != bytes)
    return fail("holds " + llvm::Twine(data.size() - dataStart) +
                " data bytes, but shape " + t.spec.str() + " needs " +
                llvm::Twine(bytes));
  t.bytes.assign(data.begin() + dataStart, data.end());
  return t;
}

llvm::Error normlir::writeNpy(llvm::StringRef path, const HostTensor &t) {
  std::string shape = "(";
  for (int64_t d : t.spec.shape)
    shape += std::to_string(d) + ", ";
  if (t.spec.shape.size() > 1)
    shape.resize(shape.size() - 2);
  else if (t.spec.shape.size() == 1)
    shape.pop_back(); // "(3,)"
  shape += ")";
  std::string header = "{'descr': '" + descrOf(t.spec.elementType).str() +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad so that the data starts on a 64-byte boundary, newline-terminated.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError(path + ": cannot write: " + ec.message());
  os << "\x93NUMPY" << char(1) << char(0) << char(header.size() & 0xff)
     << char((header.size() >> 8) & 0xff) << header;
  os.write(t.bytes.data(), t.bytes.size());
  return llvm::Error::success();
}

llvm::Expected<HostTensor> normlir::parseInlineTensor(llvm::StringRef text) {
  auto [typeText, valuesText] = text.split('=');
  if (valuesText.empty() && !text.contains('='))
    return llvm::createStringError(
        "inline input '" + text +
        "' must be TYPE=VALUES, e.g. 2x2xf32=1 2 3 4");
  llvm::SmallVector<llvm::StringRef> parts;
  typeText.trim().split(parts, 'x');
  HostTensor t;
  auto elt = parseElementType(parts.back());
  if (!elt)
    return llvm::createStringError("inline input '" + text +
                                   "': unsupported element type '" +
                                   parts.back() + "'");
  t.spec.elementType = *elt;
  for (llvm::StringRef d : llvm::ArrayRef(parts).drop_back()) {
    int64_t v;
    if (d.getAsInteger(10, v) || v < 0)
      return llvm::createStringError("inline input '" + text +
                                     "': malformed dimension '" + d + "'");
    t.spec.shape.push_back(v);
  }
  t.bytes.assign(t.spec.getSizeInBytes(), 0);
  llvm::SmallVector<llvm::StringRef> tokens;
  llvm::SplitString(valuesText, tokens, " \t\n,[]");
  int64_t n = t.spec.getNumElements();
  if (static_cast<int64_t>(tokens.size()) != n && tokens.size() != 1)
    return llvm::createStringError(
        "inline input '" + typeText + "' needs " + llvm::Twine(n) +
        " values (or one to splat), got " + llvm::Twine(tokens.size()));
  std::vector<double> values;
  for (llvm::StringRef tok : tokens) {
    double v;
    if (tok.getAsDouble(v, /*AllowInexact=*/true)) {
      std::string lower = tok.lower();
      if (lower == "nan")
        v = std::numeric_limits<double>::quiet_NaN();
      else if (lower == "inf" || lower == "+inf")
        v = std::numeric_limits<double>::infinity();
      else if (lower == "-inf")
        v = -std::numeric_limits<double>::infinity();
      else
        return llvm::createStringError("inline input '" + typeText +
                                       "': malformed value '" + tok + "'");
    }
    values.push_back(v);
  }
  for (int64_t i = 0; i < n; ++i)
    setFromDouble(t, i, values.size() == 1 ? values[0] : values[i]);
  return t;
}

void normlir::printTensor(llvm::raw_ostream &os, const HostTensor &t) {
  os << t.spec.str() << "=";
  const auto &shape = t.spec.shape;
  int64_t n = t.spec.getNumElements();
  if (shape.empty()) {
    os << llvm::format("%.7g", t.getAsDouble(0));
    return;
  }
  int64_t inner = shape.back();
  for (int64_t i = 0; i < n; ++i) {
    // Open a bracket for every dim whose index wraps to 0 here.
    // As iree-run-module: brackets for every dim but the outermost.
    int64_t stride = 1;
    for (size_t d = shape.size(); d-- > 1;) {
      stride *= shape[d];
      if (i % stride == 0)
        os << "[";
      else
        break;
    }
    if (i % inner != 0 || (shape.size() == 1 && i != 0))
      os << " ";
    os << llvm::format("%.7g", t.getAsDouble(i));
    stride = 1;
    for (size_t d = shape.size(); d-- > 1;) {
      stride *= shape[d];
      if ((i + 1) % stride == 0)
        os << "]";
      else
        break;
    }
  }
}
