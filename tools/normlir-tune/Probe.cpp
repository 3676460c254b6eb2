//===- Probe.cpp - what norm-select-schedule makes of a spec
//-------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "Probe.h"

#include "normlir/Dialect/Norm/Transforms/Passes.h"
#include "normlir/Dialect/Norm/Transforms/TuningDatabase.h"
#include "normlir/Dialect/Norm/Utils/Target.h"
#include "normlir/Pipelines/Pipelines.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mlir;
using namespace normlir;
using namespace normlir::tune;

ScheduleProbe::ScheduleProbe() = default;

llvm::Error ScheduleProbe::takeDiagnostics(llvm::StringRef fallback) {
  std::string text = diagnostics.empty() ? fallback.str() : diagnostics;
  diagnostics.clear();
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  return llvm::createStringError(text);
}

llvm::Expected<std::unique_ptr<ScheduleProbe>>
ScheduleProbe::create(llvm::StringRef source, llvm::StringRef bufferName,
                      const ProbeTarget &target) {
  std::unique_ptr<ScheduleProbe> probe(new ScheduleProbe());
  DialectRegistry registry;
  registry.insert<norm::NormDialect>();
  registerAllDialects(registry);
  probe->context =
      std::make_unique<MLIRContext>(registry, MLIRContext::Threading::DISABLED);
  probe->context->printOpOnDiagnostic(false);
  probe->context->getOrLoadDialect<norm::NormDialect>();
  probe->sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(source, bufferName), llvm::SMLoc());
  probe->diagnosticStream =
      std::make_unique<llvm::raw_string_ostream>(probe->diagnostics);
  probe->handler = std::make_unique<SourceMgrDiagnosticHandler>(
      probe->sourceMgr, probe->context.get(), *probe->diagnosticStream);
  probe->cuda = target.cuda;

  probe->module =
      parseSourceFile<ModuleOp>(probe->sourceMgr, probe->context.get());
  if (!probe->module)
    return probe->takeDiagnostics("cannot parse " + bufferName.str());
  ModuleOp module = *probe->module;

  // As the JIT: a target written in the spec is kept, and then no other
  // may be asked for.
  if (Attribute written = module->getAttr(norm::NormDialect::kTargetAttrName)) {
    if (isa<norm::CUDATargetAttr>(written) != target.cuda)
      return llvm::createStringError(
          "the spec's " + norm::NormDialect::kTargetAttrName.str() + " (" +
          norm::describeTarget(written) + ") is not a " +
          (target.cuda ? "CUDA" : "CPU") + " target");
    if (!target.cuda && (target.cpu != "host" || !target.features.empty()))
      return llvm::createStringError(
          "the spec names its own target (" +
          norm::NormDialect::kTargetAttrName.str() +
          "); it cannot also be tuned for target CPU '" + target.cpu + "'");
  }
  PassManager pm(probe->context.get());
  if (target.differentiate) {
    // As the JIT: the backward functions join the module first.
    pm.addPass(norm::createNormDifferentiate());
  }
  if (target.cuda) {
    norm::NormAttachCUDATargetOptions options;
    options.chip = target.chip;
    options.multiprocessors = target.multiprocessors;
    pm.addPass(norm::createNormAttachCUDATarget(options));
  } else {
    norm::NormAttachCPUTargetOptions options;
    options.cpu = target.cpu;
    options.features = target.features;
    pm.addPass(norm::createNormAttachCPUTarget(options));
  }
  pm.addPass(norm::createNormExpand());
  // The kernels the pipeline of the target builds (a returned residual sum
  // joins the kernel on the CPU only).
  norm::NormFuseOptions fuse;
  fuse.returnedPrologue = !target.cuda;
  pm.addPass(norm::createNormFuse(fuse));
  // The backward kernels (the CPU pipeline's; the GPU's take the gradient
  // ops through linalg).
  if (!target.cuda)
    pm.addPass(norm::createNormFuseGrad());
  if (failed(pm.run(module)))
    return probe->takeDiagnostics("cannot fuse " + bufferName.str());
  probe->target = module->getAttr(norm::NormDialect::kTargetAttrName);

  for (auto func : module.getOps<func::FuncOp>())
    if (!func.isPrivate() && !func.isExternal())
      probe->functions.push_back(func.getSymName().str());
  return std::move(probe);
}

llvm::Expected<std::vector<ProbedKernel>>
ScheduleProbe::schedule(llvm::StringRef function, llvm::StringRef override) {
  auto options = parseScheduleOptions(override, cuda ? "cuda" : "cpu");
  if (!options)
    return options.takeError();
  OwningOpRef<ModuleOp> copy(module->clone());
  PassManager pm(context.get());
  pm.addPass(norm::createNormSelectSchedule(*options));
  diagnostics.clear();
  if (failed(pm.run(*copy)))
    return takeDiagnostics("norm-select-schedule failed");

  auto func = copy->lookupSymbol<func::FuncOp>(function);
  if (!func)
    return llvm::createStringError("no function '" + function + "'");
  std::vector<ProbedKernel> kernels;
  std::string error;
  func.walk([&](Operation *op) {
    ProbedKernel kernel;
    Value input;
    ArrayRef<int64_t> axes, paramAxes;
    if (auto k = dyn_cast<norm::KernelOp>(op)) {
      kernel.key = norm::getTuningKey(k, target);
      // A kernel with dynamic sizes has a schedule per size range (one
      // for every size on the GPU).
      kernel.dynamic =
          !cast<ShapedType>(k.getInput().getType()).hasStaticShape();
      kernel.schedule = k.getScheduleAttr() ? Attribute(k.getScheduleAttr())
                                            : Attribute(k.getVariantsAttr());
      // Through reshapes (GroupNorm's view of its input) to an argument.
      Value source = k.getInput();
      while (Operation *def = source.getDefiningOp()) {
        if (auto e = dyn_cast<tensor::ExpandShapeOp>(def))
          source = e.getSrc();
        else if (auto c = dyn_cast<tensor::CollapseShapeOp>(def))
          source = c.getSrc();
        else if (auto c = dyn_cast<tensor::CastOp>(def))
          source = c.getSource();
        else
          break;
      }
      if (auto arg = dyn_cast<BlockArgument>(source);
          arg && arg.getOwner() == &func.getBody().front())
        kernel.inputArgument = arg.getArgNumber();
      input = k.getInput();
      axes = k.getAxes();
      paramAxes = k.getParamAxes();
    } else if (auto g = dyn_cast<norm::GradKernelOp>(op)) {
      kernel.key = norm::getTuningKey(g, target);
      kernel.schedule = g.getScheduleAttr();
      input = g.getInput();
      axes = g.getAxes();
      paramAxes = g.getWeightAxes();
      kernel.grad = true;
      kernel.inputStatistics = g.getInputStatistics();
    } else {
      return WalkResult::advance();
    }
    llvm::raw_string_ostream os(kernel.scheduleText);
    kernel.schedule.print(os);
    auto shape = cast<ShapedType>(input.getType()).getShape();
    auto layout = norm::analyzeKernelLayout(shape, axes, paramAxes, &error);
    if (!layout)
      return WalkResult::interrupt();
    kernel.layout = *layout;
    kernel.gradPrefetches =
        kernel.grad && norm::classifyGradKernel(shape, axes, paramAxes) !=
                           norm::GradForm::Column;
    kernel.gradStreams =
        kernel.grad &&
        norm::gradStoreRun(shape, axes, paramAxes) >= norm::kMinStreamRun;
    kernels.push_back(std::move(kernel));
    return WalkResult::advance();
  });
  if (!error.empty())
    return llvm::createStringError("cannot read a kernel's layout: " + error);
  return kernels;
}

ProbedKernel ProbedKernel::at(int64_t elements) const {
  ProbedKernel k = *this;
  k.dynamic = false;
  auto variants = dyn_cast_or_null<ArrayAttr>(schedule);
  if (!variants)
    return k;
  for (auto v : variants.getAsRange<norm::VariantAttr>())
    if (v.getFrom() <= elements)
      k.schedule = v.getSchedule();
  k.scheduleText.clear();
  llvm::raw_string_ostream os(k.scheduleText);
  k.schedule.print(os);
  return k;
}
