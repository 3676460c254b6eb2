//===- Npy.h - NumPy .npy files and host tensors ----------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Host-side tensors for normlir-run: read/write NumPy .npy (format 1.0-3.0,
// little-endian, C order), parse IREE-style inline values ("2x3xf32=1 2 3 4 5
// 6"), and print. bf16 has no NumPy dtype: it travels as uint16 bit patterns
// ('<u2', or the 2-byte void dtype ml_dtypes writes).
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_SUPPORT_NPY_H
#define NORMLIR_SUPPORT_NPY_H

#include "normlir/ExecutionEngine/JIT.h"

#include "llvm/Support/raw_ostream.h"

namespace normlir {

/// A tensor owned by the host program.
struct HostTensor {
  TensorSpec spec;
  std::vector<char> bytes;

  BufferView view() { return {bytes.data(), spec}; }
  /// Element `i` as a double (f16/bf16 widened exactly).
  double getAsDouble(int64_t i) const;
  /// Element `i` of an integer tensor, exactly.
  int64_t getAsInt64(int64_t i) const;
};

/// Reads a .npy file; errors name the file and what is wrong.
llvm::Expected<HostTensor> readNpy(llvm::StringRef path);
/// Writes `tensor` as a .npy file.
llvm::Error writeNpy(llvm::StringRef path, const HostTensor &tensor);
/// Parses the type of an inline tensor, "2x3xf32" in "2x3xf32=1 2 3 4 5 6".
llvm::Expected<TensorSpec> parseInlineTensorType(llvm::StringRef text);
/// Parses "2x3xf32=1 2 3 4 5 6" (values separated by spaces, commas or
/// brackets; a single value is splatted). Integer element types take integer
/// values, exactly.
llvm::Expected<HostTensor> parseInlineTensor(llvm::StringRef text);
/// Prints as iree-run-module does: "2x3xf32=[1 2 3][4 5 6]", "3xf32=1 2 3".
void printTensor(llvm::raw_ostream &os, const HostTensor &tensor);
/// A zero-filled tensor of `spec`; an error when its size overflows or
/// exceeds this machine's physical memory.
llvm::Expected<HostTensor> allocateTensor(const TensorSpec &spec);
/// Pseudo-random inputs of `specs`, the same for every caller and `seed`
/// (normlir-run --random-inputs, normlir-tune, the benchmark): the first
/// input (the tensor normalized) uniform in [-1, 1), the others (weights,
/// biases, running variances) in [0.5, 1.5) so that they stay positive, all
/// rounded to their element type; integer inputs are 0.
llvm::Expected<std::vector<HostTensor>>
makeRandomInputs(llvm::ArrayRef<TensorSpec> specs, unsigned seed = 42);

} // namespace normlir

#endif // NORMLIR_SUPPORT_NPY_H
