//===- BufferizableOpInterfaceImpl.h - bufferize norm.kernel ----*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H
#define NORMLIR_DIALECT_NORM_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace normlir::norm {
/// Attaches BufferizableOpInterface to norm.kernel.
void registerBufferizableOpInterfaceExternalModels(
    mlir::DialectRegistry &registry);
} // namespace normlir::norm

#endif // NORMLIR_DIALECT_NORM_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H
