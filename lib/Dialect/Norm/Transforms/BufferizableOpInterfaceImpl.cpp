//===- BufferizableOpInterfaceImpl.cpp - bufferize norm.kernel ------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// norm.kernel is in destination-passing style: on tensors its results are its
// `outs`, so one-shot-bufferize writes them in place and the memref form of
// the op takes the buffers of every operand.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/BufferizableOpInterfaceImpl.h"

#include "normlir/Dialect/Norm/IR/Norm.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"

using namespace mlir;
using namespace mlir::bufferization;
using namespace normlir::norm;

namespace {
/// norm.kernel and norm.grad_kernel: the same op on the buffers of its
/// operands.
template <typename OpT>
struct KernelOpInterface
    : public DstBufferizableOpInterfaceExternalModel<KernelOpInterface<OpT>,
                                                     OpT> {
  bool bufferizesToMemoryRead(Operation *op, OpOperand &operand,
                              const AnalysisState &) const {
    // The outs are written, never read.
    return !cast<OpT>(op).isDpsInit(&operand);
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto kernel = cast<OpT>(op);
    SmallVector<Value> buffers;
    for (OpOperand &operand : op->getOpOperands()) {
      FailureOr<Value> buffer =
          getBuffer(rewriter, operand.get(), options, state);
      if (failed(buffer))
        return failure();
      buffers.push_back(*buffer);
    }
    rewriter.setInsertionPoint(op);
    // The same op (operands, attributes, prologue and epilogue) on the
    // buffers, with no results.
    OperationState opState(op->getLoc(), op->getName());
    opState.addOperands(buffers);
    opState.addAttributes(op->getAttrs());
    for (unsigned i = 0; i < op->getNumRegions(); ++i)
      opState.addRegion();
    Operation *memrefOp = rewriter.create(opState);
    for (unsigned i = 0; i < op->getNumRegions(); ++i)
      memrefOp->getRegion(i).takeBody(op->getRegion(i));
    SmallVector<Value> outBuffers(
        ArrayRef<Value>(buffers).take_back(kernel.getOuts().size()));
    replaceOpWithBufferizedValues(rewriter, op, outBuffers);
    return success();
  }
};
} // namespace

void normlir::norm::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, NormDialect *) {
    KernelOp::attachInterface<KernelOpInterface<KernelOp>>(*ctx);
    GradKernelOp::attachInterface<KernelOpInterface<GradKernelOp>>(*ctx);
  });
}
