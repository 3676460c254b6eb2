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
#include <random>
#include <unistd.h>

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

llvm::Expected<HostTensor> normlir::allocateTensor(const TensorSpec &spec) {
  auto bytes = getCheckedSizeInBytes(spec);
  if (!bytes)
    return bytes.takeError();
  // A failed allocation aborts (no exceptions), so refuse what cannot fit.
  uint64_t physical =
      uint64_t(sysconf(_SC_PHYS_PAGES)) * uint64_t(sysconf(_SC_PAGESIZE));
  if (*bytes > physical)
    return llvm::createStringError("tensor " + spec.str() + " needs " +
                                   llvm::Twine(*bytes) +
                                   " bytes, more than this machine's memory (" +
                                   llvm::Twine(physical) + ")");
  return HostTensor{spec, std::vector<char>(*bytes, 0)};
}

int64_t HostTensor::getAsInt64(int64_t i) const {
  const char *p = bytes.data() + i * getElementSize(spec.elementType);
  if (spec.elementType == ElementType::I32) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  int64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

static bool isInteger(ElementType t) {
  return t == ElementType::I64 || t == ElementType::I32;
}

/// Stores the integer `v` as element `i` of an integer tensor.
static void setFromInt64(HostTensor &t, int64_t i, int64_t v) {
  char *p = t.bytes.data() + i * getElementSize(t.spec.elementType);
  if (t.spec.elementType == ElementType::I32) {
    int32_t x = static_cast<int32_t>(v);
    std::memcpy(p, &x, 4);
    return;
  }
  std::memcpy(p, &v, 8);
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
  // The header is a Python dict literal: {'descr': '<f4', 'fortran_order':
  // False, 'shape': (2, 3), }; anything that is not closed is damaged.
  llvm::StringRef dict = header.trim();
  if (!descrField || !fortranField || !shapeField || !dict.starts_with("{") ||
      !dict.ends_with("}") ||
      !(descrField->starts_with("'") || descrField->starts_with("\"")) ||
      !shapeField->starts_with("(") || !shapeField->contains(')'))
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
  auto checked = getCheckedSizeInBytes(t.spec);
  if (!checked)
    return fail(llvm::toString(checked.takeError()));
  size_t bytes = *checked;
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
  // Format 1.0 has a 2-byte header length; a longer header needs 2.0.
  bool v2 = header.size() + 12 + 64 > 0xffff;
  size_t prefix = v2 ? 12 : 10;
  size_t total = prefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError(path + ": cannot write: " + ec.message());
  os << "\x93NUMPY" << char(v2 ? 2 : 1) << char(0);
  for (size_t b = 0; b < prefix - 8; ++b)
    os << char((header.size() >> (8 * b)) & 0xff);
  os << header;
  os.write(t.bytes.data(), t.bytes.size());
  os.close();
  if (os.has_error()) {
    std::string why = os.error().message();
    os.clear_error();
    return llvm::createStringError(path + ": cannot write: " + why);
  }
  return llvm::Error::success();
}

llvm::Expected<TensorSpec>
normlir::parseInlineTensorType(llvm::StringRef text) {
  if (!text.contains('='))
    return llvm::createStringError(
        "inline input '" + text +
        "' must be TYPE=VALUES, e.g. 2x2xf32=1 2 3 4");
  llvm::StringRef typeText = text.split('=').first.trim();
  llvm::SmallVector<llvm::StringRef> parts;
  typeText.split(parts, 'x');
  if (llvm::any_of(parts, [](llvm::StringRef p) { return p.empty(); }))
    return llvm::createStringError("inline input '" + text +
                                   "': malformed type '" + typeText +
                                   "' (expected e.g. 2x3xf32, or f32)");
  TensorSpec spec;
  auto elt = parseElementType(parts.back());
  if (!elt)
    return llvm::createStringError("inline input '" + text +
                                   "': unsupported element type '" +
                                   parts.back() + "'");
  spec.elementType = *elt;
  for (llvm::StringRef d : llvm::ArrayRef(parts).drop_back()) {
    int64_t v;
    if (d.getAsInteger(10, v) || v < 0)
      return llvm::createStringError("inline input '" + text +
                                     "': malformed dimension '" + d + "'");
    spec.shape.push_back(v);
  }
  if (auto size = getCheckedSizeInBytes(spec); !size)
    return llvm::createStringError("inline input '" + typeText +
                                   "': " + llvm::toString(size.takeError()));
  return spec;
}

/// Parses one inline float value: a number, nan, inf, +inf or -inf.
static std::optional<double> parseFloatToken(llvm::StringRef tok) {
  double v;
  if (!tok.getAsDouble(v, /*AllowInexact=*/true))
    return v;
  std::string lower = tok.lower();
  if (lower == "nan")
    return std::numeric_limits<double>::quiet_NaN();
  if (lower == "inf" || lower == "+inf")
    return std::numeric_limits<double>::infinity();
  if (lower == "-inf")
    return -std::numeric_limits<double>::infinity();
  return std::nullopt;
}

llvm::Expected<HostTensor> normlir::parseInlineTensor(llvm::StringRef text) {
  auto spec = parseInlineTensorType(text);
  if (!spec)
    return spec.takeError();
  llvm::StringRef typeText = text.split('=').first.trim();
  llvm::SmallVector<llvm::StringRef> tokens;
  llvm::SplitString(text.split('=').second, tokens, " \t\n,[]");
  int64_t n = spec->getNumElements();
  if (static_cast<int64_t>(tokens.size()) != n && tokens.size() != 1)
    return llvm::createStringError(
        "inline input '" + typeText + "' needs " + llvm::Twine(n) +
        " values (or one to splat), got " + llvm::Twine(tokens.size()));
  auto tensor = allocateTensor(*spec);
  if (!tensor)
    return tensor.takeError();
  bool integer = isInteger(spec->elementType);
  std::vector<double> floats;
  std::vector<int64_t> ints;
  for (llvm::StringRef tok : tokens) {
    if (integer) {
      int64_t v;
      if (tok.getAsInteger(10, v) || (spec->elementType == ElementType::I32 &&
                                      (v < INT32_MIN || v > INT32_MAX)))
        return llvm::createStringError(
            "inline input '" + typeText +
            "': malformed or out-of-range integer '" + tok + "'");
      ints.push_back(v);
      continue;
    }
    auto v = parseFloatToken(tok);
    if (!v)
      return llvm::createStringError("inline input '" + typeText +
                                     "': malformed value '" + tok + "'");
    floats.push_back(*v);
  }
  for (int64_t i = 0; i < n; ++i) {
    if (integer)
      setFromInt64(*tensor, i, ints.size() == 1 ? ints[0] : ints[i]);
    else
      setFromDouble(*tensor, i, floats.size() == 1 ? floats[0] : floats[i]);
  }
  return tensor;
}

void normlir::printTensor(llvm::raw_ostream &os, const HostTensor &t) {
  os << t.spec.str() << "=";
  const auto &shape = t.spec.shape;
  int64_t n = t.spec.getNumElements();
  bool integer = isInteger(t.spec.elementType);
  auto printElement = [&](int64_t i) {
    if (integer)
      os << t.getAsInt64(i);
    else
      os << llvm::format("%.7g", t.getAsDouble(i));
  };
  if (shape.empty()) {
    printElement(0);
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
    printElement(i);
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

/// Fills float tensors with `dist` (rounded to the element type) and integer
/// tensors with 0.
static void fillRandom(HostTensor &t, std::mt19937 &gen,
                       std::uniform_real_distribution<float> &dist) {
  int64_t n = t.spec.getNumElements();
  char *p = t.bytes.data();
  for (int64_t i = 0; i < n; ++i) {
    float v = dist(gen);
    switch (t.spec.elementType) {
    case ElementType::F32:
      reinterpret_cast<float *>(p)[i] = v;
      break;
    case ElementType::F64:
      reinterpret_cast<double *>(p)[i] = v;
      break;
    case ElementType::F16:
    case ElementType::BF16: {
      llvm::APFloat f(v);
      bool lost;
      f.convert(t.spec.elementType == ElementType::F16
                    ? llvm::APFloat::IEEEhalf()
                    : llvm::APFloat::BFloat(),
                llvm::APFloat::rmNearestTiesToEven, &lost);
      reinterpret_cast<uint16_t *>(p)[i] =
          uint16_t(f.bitcastToAPInt().getZExtValue());
      break;
    }
    case ElementType::I64:
    case ElementType::I32:
      break; // allocateTensor zero-fills.
    }
  }
}

llvm::Expected<std::vector<HostTensor>>
normlir::makeRandomInputs(llvm::ArrayRef<TensorSpec> specs, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> data(-1.0f, 1.0f), params(0.5f, 1.5f);
  std::vector<HostTensor> tensors;
  for (auto [i, spec] : llvm::enumerate(specs)) {
    auto t = allocateTensor(spec);
    if (!t)
      return llvm::createStringError("input " + std::to_string(i) + ": " +
                                     llvm::toString(t.takeError()));
    fillRandom(*t, gen, i == 0 ? data : params);
    tensors.push_back(std::move(*t));
  }
  return tensors;
}
