//===- CHeader.cpp - C names and headers of compiled specs ----------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// What a spec function may be called (it becomes a C symbol, and in a library
// a C declaration) and the C header `normlir-compile` writes.
//
//===----------------------------------------------------------------------===//

#include "normlir/ExecutionEngine/Compiler.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/Support/Regex.h"

using namespace normlir;

//===----------------------------------------------------------------------===//
// Function names
//===----------------------------------------------------------------------===//

/// Keywords of C23 and C++23 (the header is included from both) that a
/// plain identifier might spell; the underscore-capital ones (_Bool, ...) are
/// caught by the reserved-identifier rule.
static constexpr llvm::StringLiteral kCKeywords[] = {
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor",
    "bool", "break", "case", "catch", "char", "char8_t", "char16_t", "char32_t",
    "class", "compl", "concept", "const", "consteval", "constexpr", "constinit",
    "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype",
    "default", "delete", "do", "double", "dynamic_cast", "else", "enum",
    "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
    "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept",
    "not", "not_eq", "nullptr", "operator", "or", "or_eq", "private",
    "protected", "public", "register", "reinterpret_cast", "requires",
    "restrict", "return", "short", "signed", "sizeof", "static",
    "static_assert", "static_cast", "struct", "switch", "template", "this",
    "thread_local", "throw", "true", "try", "typedef", "typeid", "typename",
    "typeof", "typeof_unqual", "union", "unsigned", "using", "virtual", "void",
    "volatile", "wchar_t", "while", "xor", "xor_eq",
    // Not keywords, but the header cannot declare them either: the
    // program's entry point, and macros of <stddef.h> that a C program
    // includes beside it.
    "main", "NULL", "offsetof",
    // Macros GCC and Clang predefine in their default GNU modes, and the
    // namespace C++'s <stdint.h> declares.
    "linux", "unix", "i386", "std"};

/// Whether `name` is a type or macro of <stdint.h> (int32_t, UINT8_MAX,
/// INT64_C, SIZE_MAX, ...): the generated header includes it.
static bool isStdintName(llvm::StringRef name) {
  static const llvm::Regex pattern(
      "^(u?int(8|16|32|64|ptr|max)_t"
      "|u?int_(least|fast)(8|16|32|64)_t"
      "|U?INT(8|16|32|64|PTR|MAX)_(MIN|MAX|WIDTH)"
      "|U?INT_(LEAST|FAST)(8|16|32|64)_(MIN|MAX|WIDTH)"
      "|U?INT(8|16|32|64|MAX)_C"
      "|(PTRDIFF|SIG_ATOMIC|SIZE|WCHAR|WINT)_(MIN|MAX|WIDTH))$");
  return pattern.match(name);
}

std::string
normlir::getReservedNameReason(llvm::StringRef name,
                               const llvm::TargetLibraryInfoImpl &libraryInfo,
                               const std::string *libraryErrorFunction) {
  const std::string runtime = "is reserved: the generated code calls or "
                              "defines a runtime function of that name";
  if (name.empty())
    return "is empty";
  for (llvm::StringRef prefix : {"mgpu", "normlirRuntime", "omp_"})
    if (name.starts_with(prefix))
      return runtime;
  // The implementation's names: the entry points (__normlir_*), the
  // OpenMP runtime (__kmpc_*), the JIT's (__lljit_*, __dso_handle),
  // compiler-rt's.
  if (name.starts_with("__"))
    return runtime + " (names starting with two underscores are the "
                     "implementation's)";
  if (name.starts_with("llvm."))
    return "is reserved: LLVM's intrinsics are named llvm.*";
  llvm::LibFunc libFunc;
  if (name == "memrefCopy" || libraryInfo.getLibFunc(name, libFunc))
    return runtime + " (a C library function)";
  if (!libraryErrorFunction)
    return "";
  // A C function of the library and its header.
  const std::string rename = "; rename it in the spec";
  if (!(llvm::isAlpha(name[0]) || name[0] == '_') ||
      !llvm::all_of(name, [](char c) { return llvm::isAlnum(c) || c == '_'; }))
    return "is not a C identifier ([A-Za-z_][A-Za-z0-9_]*)" + rename;
  // Two underscores were refused above, for every module.
  if (name.size() > 1 && name[0] == '_' && llvm::isUpper(name[1]))
    return "is reserved in C (a leading underscore and a capital, or two "
           "underscores: _Bool, _Atomic, __x, ...)" +
           rename;
  if (llvm::is_contained(kCKeywords, name))
    return "is a C or C++ keyword or reserved name" + rename;
  // The generated header's include guard.
  if (name.starts_with("NORMLIR_"))
    return "starts with NORMLIR_, the prefix of the header's macros" + rename;
  if (isStdintName(name))
    return "is a type or macro of <stdint.h>, which the header includes" +
           rename;
  if (name == *libraryErrorFunction)
    return "is the library's error function " + *libraryErrorFunction + "()" +
           rename + " or the output file";
  return "";
}

//===----------------------------------------------------------------------===//
// C header
//===----------------------------------------------------------------------===//

static const char *cType(ElementType t) {
  switch (t) {
  case ElementType::F32:
    return "float";
  case ElementType::F16:
  case ElementType::BF16:
    return "uint16_t";
  case ElementType::F64:
    return "double";
  case ElementType::I64:
    return "int64_t";
  case ElementType::I32:
    return "int32_t";
  }
  return "void";
}

std::string normlir::getCDeclaration(const FunctionSignature &sig) {
  std::string s = "int32_t " + sig.name + "(";
  for (auto [i, t] : llvm::enumerate(sig.inputs))
    s += (i ? ", " : "") + std::string("const ") + cType(t.elementType) +
         " *input" + std::to_string(i);
  for (auto [i, t] : llvm::enumerate(sig.results))
    s += (i || !sig.inputs.empty() ? ", " : "") +
         std::string(cType(t.elementType)) + " *result" + std::to_string(i);
  // The sizes of the dynamic dimensions, buffer by buffer.
  auto sizes = [&](llvm::ArrayRef<TensorSpec> specs, const char *what) {
    for (auto [i, t] : llvm::enumerate(specs))
      for (auto [d, size] : llvm::enumerate(t.shape))
        if (size == TensorSpec::kDynamic)
          s += ", int64_t " + std::string(what) + std::to_string(i) + "_size" +
               std::to_string(d);
  };
  sizes(sig.inputs, "input");
  sizes(sig.results, "result");
  if (sig.inputs.empty() && sig.results.empty())
    s += "void";
  return s + ")";
}

std::string normlir::generateCHeader(const CompiledObject &object,
                                     llvm::StringRef guard,
                                     llvm::StringRef source) {
  bool cuda = object.target == Target::CUDA;
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "/* Generated by normlir-compile " << getVersionString() << " from "
     << source << " for "
     << (cuda ? "CUDA " + object.chip : std::string("the host CPU"))
     << ". Do not edit. */\n";
  os << "#ifndef " << guard << "\n#define " << guard << "\n\n";
  os << "#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  os << "/* Buffers are dense and row-major, of exactly the shapes listed";
  if (cuda)
    os << ",\n   in device memory of the GPU, 16-byte aligned";
  os << ";\n   a dynamic dimension (?) takes its size from the int64_t "
        "argument\n   BUFFERi_sizeD after the buffers. f16 and bf16 elements "
        "are uint16_t\n   bit patterns. Results must not overlap inputs. Each "
        "function returns 0\n   on success";
  if (!object.errorFunction.empty())
    os << ", else nonzero with the reason in " << object.errorFunction
       << "()\n   (sizes that do not agree are an error, never an access "
          "out of\n   bounds)";
  os << ". */\n\n";
  for (const FunctionSignature &sig : object.functions) {
    os << "/* " << sig.name << ":";
    for (auto [i, t] : llvm::enumerate(sig.inputs))
      os << (i ? ", " : " ") << "input" << i << " " << t.str();
    os << " ->";
    for (auto [i, t] : llvm::enumerate(sig.results))
      os << (i ? ", " : " ") << "result" << i << " " << t.str();
    os << " */\n" << getCDeclaration(sig) << ";\n\n";
  }
  if (!object.errorFunction.empty())
    os << "/* Why the calling thread's last failed call returned nonzero, or "
          "NULL;\n   reading clears it. The text is valid until the thread's "
          "next call. */\n"
          "const char *"
       << object.errorFunction << "(void);\n\n";
  os << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard << " */\n";
  return s;
}
