//===- NormLIRModule.cpp - The normlir._normlir extension -----------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// pybind11 bindings of the C++ JIT for the `normlir` Python package: spec
// building, compiling (with the JIT's caches), and calls on buffer-protocol
// objects or on raw addresses the Python layer has validated (torch).
//
//===----------------------------------------------------------------------===//

#include "HostCache.h"

#include "normlir/ExecutionEngine/Compiler.h"
#include "normlir/ExecutionEngine/CudaRuntime.h"
#include "normlir/ExecutionEngine/JIT.h"
#include "normlir/Spec/Spec.h"

#include <dlpack/dlpack.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <optional>

namespace py = pybind11;
using namespace normlir;

namespace {

py::object compileError, invalidArgumentError, executionError;

[[noreturn]] void raise(const py::object &type, const std::string &message) {
  PyErr_SetString(type.ptr(), message.c_str());
  throw py::error_already_set();
}

ElementType parseDType(const std::string &name) {
  auto t = parseElementType(name);
  if (!t)
    raise(invalidArgumentError,
          "unknown dtype '" + name + "' (f32, f16, bf16, f64, i64, i32)");
  return *t;
}

NormOpKind parseOp(const std::string &name) {
  if (name == "layer_norm")
    return NormOpKind::LayerNorm;
  if (name == "rms_norm")
    return NormOpKind::RMSNorm;
  if (name == "batch_norm")
    return NormOpKind::BatchNorm;
  if (name == "instance_norm")
    return NormOpKind::InstanceNorm;
  if (name == "group_norm")
    return NormOpKind::GroupNorm;
  raise(invalidArgumentError,
        "unknown op '" + name +
            "' (layer_norm, rms_norm, batch_norm, instance_norm, group_norm)");
}

/// A compiled module, shared with the JIT's cache.
struct PyModule {
  std::shared_ptr<const JITModule> module;
};

/// One function of a module.
struct PyFunction {
  std::shared_ptr<const JITModule> module;
  size_t index;
  const FunctionSignature &sig() const { return module->getFunctions()[index]; }
};

py::list describe(const std::vector<TensorSpec> &specs) {
  py::list out;
  for (const TensorSpec &t : specs)
    out.append(py::make_tuple(py::tuple(py::cast(t.shape)),
                              getElementTypeName(t.elementType).str()));
  return out;
}

void check(llvm::Error err, const PyFunction &f) {
  if (!err)
    return;
  std::string message = llvm::toString(std::move(err));
  bool runtime = f.module->getTarget() == Target::CUDA &&
                 (message.find("GPU") != std::string::npos ||
                  message.find("CUDA") != std::string::npos) &&
                 message.find(" must be ") == std::string::npos;
  raise(runtime ? executionError : invalidArgumentError, message);
}

/// Whether a buffer-protocol format character fits `t`.
bool formatFits(const Py_buffer &view, ElementType t) {
  if (!view.format)
    return false;
  std::string f = view.format;
  // Native byte order markers only.
  if (!f.empty() && (f[0] == '@' || f[0] == '=' || f[0] == '<'))
    f = f.substr(1);
  if (f.size() != 1 || static_cast<size_t>(view.itemsize) != getElementSize(t))
    return false;
  char c = f[0];
  switch (t) {
  case ElementType::F32:
    return c == 'f';
  case ElementType::F64:
    return c == 'd';
  case ElementType::F16:
    return c == 'e' || c == 'H';
  case ElementType::BF16:
    return c == 'H';
  case ElementType::I64:
    return c == 'q' || c == 'l';
  case ElementType::I32:
    return c == 'i' || c == 'l';
  }
  return false;
}

/// Buffers acquired for one call, released at scope exit.
struct Views {
  std::vector<Py_buffer> views;
  std::vector<std::vector<int64_t>> shapes, strides;
  ~Views() {
    for (Py_buffer &v : views)
      PyBuffer_Release(&v);
  }
};

void acquire(Views &views, std::vector<RawBuffer> &raw, py::handle obj,
             const TensorSpec &spec, bool writable, const char *what,
             size_t index, const std::string &fn) {
  Py_buffer view;
  int flags = PyBUF_STRIDES | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
  if (PyObject_GetBuffer(obj.ptr(), &view, flags) != 0) {
    PyErr_Clear();
    raise(invalidArgumentError,
          std::string(what) + " " + std::to_string(index) + " of '" + fn +
              "' must be a " + (writable ? "writable " : "") +
              "buffer (a NumPy array, or use the torch path), got " +
              std::string(py::str(obj.get_type().attr("__name__"))));
  }
  views.views.push_back(view);
  if (!formatFits(view, spec.elementType))
    raise(invalidArgumentError,
          std::string(what) + " " + std::to_string(index) + " of '" + fn +
              "' must hold " + getElementTypeName(spec.elementType).str() +
              " elements" +
              (spec.elementType == ElementType::BF16
                   ? " (bf16 as uint16 bit patterns)"
                   : "") +
              ", got format '" + (view.format ? view.format : "?") + "'");
  std::vector<int64_t> shape(view.shape, view.shape + view.ndim);
  std::vector<int64_t> strides;
  for (int d = 0; d < view.ndim; ++d) {
    if (view.strides[d] % view.itemsize != 0)
      raise(invalidArgumentError,
            std::string(what) + " " + std::to_string(index) + " of '" + fn +
                "' has strides that are not multiples of its item size");
    strides.push_back(view.strides[d] / view.itemsize);
  }
  views.shapes.push_back(std::move(shape));
  views.strides.push_back(std::move(strides));
  raw.push_back({view.buf, spec.elementType, view.ndim,
                 views.shapes.back().data(), views.strides.back().data()});
}

/// A DLPack tensor over a block of the host cache; its deleter returns the
/// block.
struct CachedTensor {
  DLManagedTensor managed;
  std::vector<int64_t> shape, strides;
  size_t blockBytes = 0;
};

void deleteCachedTensor(DLManagedTensor *m) {
  auto *t = static_cast<CachedTensor *>(m->manager_ctx);
  python::hostCacheFree(m->dl_tensor.data, t->blockBytes);
  delete t;
}

/// An uninitialized host tensor of `shape` and `dtype` from the host cache,
/// as a "dltensor" capsule, with `strides` (in elements) where they lay the
/// tensor out densely (a permutation of the dimensions: contiguous, channels
/// last), else row-major.
py::capsule cachedTensor(const std::vector<int64_t> &shape,
                         std::vector<int64_t> strides,
                         const std::string &dtype) {
  ElementType t = parseDType(dtype);
  DLDataType dl{kDLFloat, uint8_t(8 * getElementSize(t)), 1};
  if (t == ElementType::BF16)
    dl.code = kDLBfloat;
  else if (t == ElementType::I64 || t == ElementType::I32)
    dl.code = kDLInt;
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0)
      raise(invalidArgumentError, "a cached tensor's shape must not be "
                                  "negative");
    if (d != 0 && numel > (int64_t(1) << 50) / d)
      raise(invalidArgumentError, "a cached tensor is too large");
    numel *= d;
  }
  // Dense: sorted by stride, each stride the product of the sizes inside it.
  bool dense = strides.size() == shape.size();
  if (dense) {
    std::vector<size_t> order(shape.size());
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return std::make_pair(strides[a], a) < std::make_pair(strides[b], b);
    });
    int64_t expected = 1;
    for (size_t i : order) {
      if (shape[i] != 1 && strides[i] != expected)
        dense = false;
      expected *= shape[i];
    }
  }
  if (!dense) {
    strides.assign(shape.size(), 1);
    for (size_t i = shape.size(); i-- > 1;)
      strides[i - 1] = strides[i] * shape[i];
  }
  auto tensor = std::make_unique<CachedTensor>();
  tensor->shape = shape;
  tensor->strides = std::move(strides);
  void *data = python::hostCacheAllocate(size_t(numel) * getElementSize(t),
                                         tensor->blockBytes);
  if (!data) {
    PyErr_NoMemory();
    throw py::error_already_set();
  }
  DLTensor &dt = tensor->managed.dl_tensor;
  dt.data = data;
  dt.device = {kDLCPU, 0};
  dt.ndim = int32_t(shape.size());
  dt.dtype = dl;
  dt.shape = tensor->shape.data();
  dt.strides = tensor->strides.data();
  dt.byte_offset = 0;
  tensor->managed.manager_ctx = tensor.get();
  tensor->managed.deleter = deleteCachedTensor;
  // A capsule nobody consumed (still named "dltensor") frees the tensor;
  // a consumer renames it and calls the deleter itself.
  PyObject *capsule =
      PyCapsule_New(&tensor->managed, "dltensor", [](PyObject *c) {
        if (PyCapsule_IsValid(c, "dltensor")) {
          auto *m = static_cast<DLManagedTensor *>(
              PyCapsule_GetPointer(c, "dltensor"));
          m->deleter(m);
        }
      });
  if (!capsule) {
    deleteCachedTensor(&tensor.release()->managed);
    throw py::error_already_set();
  }
  tensor.release();
  return py::reinterpret_steal<py::capsule>(capsule);
}

} // namespace

PYBIND11_MODULE(_normlir, m) {
  m.doc() = "NormLIR's JIT (the C++ core of the normlir package)";
  py::object base = py::reinterpret_steal<py::object>(PyErr_NewExceptionWithDoc(
      "normlir._normlir.NormLIRError",
      "Base of NormLIR's errors; the message carries the diagnostics.",
      PyExc_RuntimeError, nullptr));
  m.attr("NormLIRError") = base;
  compileError = py::reinterpret_steal<py::object>(PyErr_NewExceptionWithDoc(
      "normlir._normlir.CompileError",
      "The spec does not parse, verify or lower (located diagnostics).",
      base.ptr(), nullptr));
  m.attr("CompileError") = compileError;
  py::tuple invalidBases = py::make_tuple(base, py::handle(PyExc_ValueError));
  invalidArgumentError =
      py::reinterpret_steal<py::object>(PyErr_NewExceptionWithDoc(
          "normlir._normlir.InvalidArgumentError",
          "A wrong argument: buffer count, shape, dtype, strides, address.",
          invalidBases.ptr(), nullptr));
  m.attr("InvalidArgumentError") = invalidArgumentError;
  executionError = py::reinterpret_steal<py::object>(PyErr_NewExceptionWithDoc(
      "normlir._normlir.ExecutionError",
      "A failure while running (CUDA driver, launch).", base.ptr(), nullptr));
  m.attr("ExecutionError") = executionError;
  m.attr("__version__") = getVersionString().str();

  m.def(
      "spec_mlir",
      [](const std::string &op, const std::string &dtype,
         std::vector<int64_t> shape,
         std::optional<std::vector<int64_t>> normalizedShape, int64_t numGroups,
         std::optional<double> eps, std::optional<double> momentum, bool weight,
         bool bias, bool runningStats, bool batchesTracked, bool training,
         bool channelsLast, bool saveStats, bool cumulativeAverage,
         bool residual, std::vector<int64_t> wrt,
         std::optional<std::string> paramDType, const std::string &name) {
        NormSpec spec;
        spec.op = parseOp(op);
        spec.dtype = parseDType(dtype);
        spec.shape = std::move(shape);
        if (normalizedShape)
          spec.normalizedShape = *normalizedShape;
        spec.numGroups = numGroups;
        spec.epsilon = eps;
        spec.momentum = momentum;
        spec.weight = weight;
        spec.bias = bias;
        spec.runningStats = runningStats;
        spec.batchesTracked = batchesTracked;
        spec.training = training;
        spec.channelsLast = channelsLast;
        spec.saveStats = saveStats;
        spec.cumulativeAverage = cumulativeAverage;
        spec.residual = residual;
        spec.wrt = std::move(wrt);
        if (paramDType)
          spec.paramType = parseDType(*paramDType);
        spec.name = name;
        auto text = spec.toMLIR();
        if (!text)
          raise(invalidArgumentError, llvm::toString(text.takeError()));
        return *text;
      },
      py::arg("op"), py::arg("dtype"), py::arg("shape"), py::kw_only(),
      py::arg("normalized_shape") = py::none(), py::arg("num_groups") = 0,
      py::arg("eps") = py::none(), py::arg("momentum") = py::none(),
      py::arg("weight") = false, py::arg("bias") = false,
      py::arg("running_stats") = false, py::arg("batches_tracked") = false,
      py::arg("training") = false, py::arg("channels_last") = false,
      py::arg("save_stats") = false, py::arg("cumulative_average") = false,
      py::arg("residual") = false, py::arg("wrt") = std::vector<int64_t>(),
      py::arg("param_dtype") = py::none(), py::arg("name") = "main",
      "The MLIR text of one norm op wrapped in a function (see the C API's "
      "normlirSpec for the operand and result order).");

  m.def(
      "compile",
      [](const std::string &source, const std::string &target,
         const std::string &name, const std::string &chip,
         const std::string &schedule, unsigned optLevel, bool diskCache,
         const std::string &targetCPU, const std::string &targetFeatures,
         bool differentiate, bool recomputeStatistics) {
        if (target != "cpu" && target != "cuda")
          raise(invalidArgumentError,
                "unknown target '" + target + "' (cpu or cuda)");
        if (optLevel > 3)
          raise(invalidArgumentError, "opt_level must be 0 to 3");
        JITOptions options;
        options.target = target == "cuda" ? Target::CUDA : Target::CPU;
        options.cudaChip = chip;
        options.schedule = schedule;
        options.optLevel = optLevel;
        options.diskCache = diskCache;
        options.targetCPU = targetCPU;
        options.targetFeatures = targetFeatures;
        options.differentiate = differentiate;
        options.recomputeStatistics = recomputeStatistics;
        llvm::Expected<std::shared_ptr<const JITModule>> module =
            llvm::createStringError("not compiled");
        {
          // Compiles run without the GIL: other Python threads go on (and
          // concurrent compiles of one spec compile once).
          py::gil_scoped_release release;
          llvm::consumeError(module.takeError());
          module = JITModule::compile(source, name, options);
        }
        if (!module)
          raise(compileError, llvm::toString(module.takeError()));
        return PyModule{std::move(*module)};
      },
      py::arg("source"), py::kw_only(), py::arg("target") = "cpu",
      py::arg("name") = "<spec>", py::arg("chip") = "",
      py::arg("schedule") = "", py::arg("opt_level") = 3,
      py::arg("disk_cache") = true, py::arg("target_cpu") = "",
      py::arg("target_features") = "", py::arg("differentiate") = false,
      py::arg("recompute_statistics") = false,
      "Compiles MLIR text (cached in memory and on disk); with "
      "differentiate, also each function's NAME_backward.");

  py::class_<PyModule>(m, "Module")
      .def_property_readonly("functions",
                             [](const PyModule &self) {
                               py::list out;
                               for (size_t i = 0;
                                    i < self.module->getFunctions().size(); ++i)
                                 out.append(PyFunction{self.module, i});
                               return out;
                             })
      .def("function",
           [](const PyModule &self, const std::string &name) {
             auto sig = self.module->lookup(name);
             if (!sig)
               raise(invalidArgumentError, llvm::toString(sig.takeError()));
             return PyFunction{self.module,
                               static_cast<size_t>(
                                   *sig - self.module->getFunctions().data())};
           })
      .def_property_readonly(
          "warnings",
          [](const PyModule &self) { return self.module->getWarnings().str(); })
      .def_property_readonly("target",
                             [](const PyModule &self) {
                               return self.module->getTarget() == Target::CUDA
                                          ? "cuda"
                                          : "cpu";
                             })
      .def_property_readonly("from_disk_cache", [](const PyModule &self) {
        return self.module->isFromDiskCache();
      });

  py::class_<PyFunction>(m, "Function")
      .def_property_readonly("name",
                             [](const PyFunction &f) { return f.sig().name; })
      .def_property_readonly(
          "inputs",
          [](const PyFunction &f) { return describe(f.sig().inputs); })
      .def_property_readonly(
          "results",
          [](const PyFunction &f) { return describe(f.sig().results); })
      .def(
          "result_shapes",
          [](const PyFunction &f,
             const std::vector<std::vector<int64_t>> &inputShapes) {
            py::list out;
            for (const TensorSpec &t : f.sig().getResultsFor(inputShapes))
              out.append(py::tuple(py::cast(t.shape)));
            return out;
          },
          py::arg("input_shapes"),
          "The results' shapes for inputs of `input_shapes`: dynamic "
          "dimensions (-1) take the sizes of the input dimensions they "
          "follow; -1 where none.")
      .def(
          "call",
          [](const PyFunction &f, py::sequence inputs, py::sequence results) {
            const FunctionSignature &sig = f.sig();
            if (inputs.size() != sig.inputs.size() ||
                results.size() != sig.results.size())
              raise(invalidArgumentError,
                    "function '" + sig.name + "' takes " +
                        std::to_string(sig.inputs.size()) + " inputs and " +
                        std::to_string(sig.results.size()) + " results, got " +
                        std::to_string(inputs.size()) + " and " +
                        std::to_string(results.size()));
            Views views;
            size_t n = inputs.size() + results.size();
            views.views.reserve(n);
            views.shapes.reserve(n);
            views.strides.reserve(n);
            std::vector<RawBuffer> raw;
            for (size_t i = 0; i < inputs.size(); ++i)
              acquire(views, raw, inputs[i], sig.inputs[i], false, "input", i,
                      sig.name);
            for (size_t i = 0; i < results.size(); ++i)
              acquire(views, raw, results[i], sig.results[i], true, "result", i,
                      sig.name);
            llvm::Error err = llvm::Error::success();
            {
              py::gil_scoped_release release;
              err = f.module->call(f.index, raw.data(), inputs.size(),
                                   raw.data() + inputs.size(), results.size());
            }
            check(std::move(err), f);
          },
          py::arg("inputs"), py::arg("results"),
          "Runs the function on buffer-protocol objects (NumPy arrays).")
      .def(
          "call_ptrs",
          [](const PyFunction &f, py::sequence ptrs, py::object stream,
             py::object shapes) {
            CallOptions options;
            if (!stream.is_none())
              options.stream = reinterpret_cast<void *>(
                  static_cast<uintptr_t>(stream.cast<unsigned long long>()));
            const FunctionSignature &sig = f.sig();
            size_t n = sig.inputs.size() + sig.results.size();
            if (ptrs.size() != n)
              raise(invalidArgumentError,
                    "function '" + sig.name + "' takes " + std::to_string(n) +
                        " buffers, got " + std::to_string(ptrs.size()));
            RawBuffer raw[64];
            if (n > 64)
              raise(invalidArgumentError, "too many buffers");
            // The buffers' shapes: the signature's, or the caller's where
            // given (a dynamically shaped function needs them).
            std::vector<std::vector<int64_t>> given;
            if (!shapes.is_none()) {
              py::sequence list = shapes.cast<py::sequence>();
              if (list.size() != n)
                raise(invalidArgumentError,
                      "function '" + sig.name + "' takes " + std::to_string(n) +
                          " shapes, got " + std::to_string(list.size()));
              given.resize(n);
              for (size_t i = 0; i < n; ++i)
                if (!list[i].is_none())
                  given[i] = list[i].cast<std::vector<int64_t>>();
            }
            size_t bytes = 0;
            for (size_t i = 0; i < n; ++i) {
              const TensorSpec &t = i < sig.inputs.size()
                                        ? sig.inputs[i]
                                        : sig.results[i - sig.inputs.size()];
              const std::vector<int64_t> *shape = &t.shape;
              if (!given.empty() && !given[i].empty())
                shape = &given[i];
              else if (!given.empty() && given[i].empty() &&
                       !t.hasStaticShape())
                raise(invalidArgumentError,
                      "buffer " + std::to_string(i) + " of '" + sig.name +
                          "' is " + t.str() + ": its shape must be given");
              else if (given.empty() && !t.hasStaticShape())
                raise(invalidArgumentError,
                      "function '" + sig.name +
                          "' has dynamic dimensions: call_ptrs needs the "
                          "buffers' shapes");
              raw[i] = {reinterpret_cast<void *>(
                            PyLong_AsUnsignedLongLong(ptrs[i].ptr())),
                        t.elementType, static_cast<int>(shape->size()),
                        shape->data(), nullptr};
              if (PyErr_Occurred())
                throw py::error_already_set();
              size_t size = getElementSize(t.elementType);
              for (int64_t d : *shape)
                size *= static_cast<size_t>(std::max<int64_t>(d, 0));
              bytes += size;
            }
            // Small calls keep the GIL (releasing it costs more than they
            // take); large ones let other Python threads run.
            llvm::Error err = llvm::Error::success();
            if (bytes >= (1u << 16)) {
              py::gil_scoped_release release;
              err = f.module->call(f.index, raw, sig.inputs.size(),
                                   raw + sig.inputs.size(), sig.results.size(),
                                   options);
            } else {
              err = f.module->call(f.index, raw, sig.inputs.size(),
                                   raw + sig.inputs.size(), sig.results.size(),
                                   options);
            }
            check(std::move(err), f);
          },
          py::arg("ptrs"), py::arg("stream") = py::none(),
          py::arg("shapes") = py::none(),
          "Runs the function on raw addresses (inputs, then results) of "
          "buffers the caller has checked against the signature; `shapes` "
          "(one per buffer, None for the signature's) gives the sizes of "
          "dynamic dimensions, checked by the function. CUDA: "
          "`stream` (a CUstream handle as an int, 0 the legacy default "
          "stream) queues the kernels on the caller's stream and returns "
          "without waiting; None runs them on NormLIR's stream and waits.");

  m.def(
      "cuda_device",
      []() {
        auto info = cuda::getDeviceInfo();
        if (!info)
          raise(executionError, llvm::toString(info.takeError()));
        return info->ordinal;
      },
      "The ordinal of the CUDA device NormLIR runs on (starts the runtime); "
      "raises ExecutionError without a driver or GPU.");
  m.def(
      "cuda_select_device",
      [](int ordinal) {
        if (llvm::Error err = cuda::selectDevice(ordinal))
          raise(executionError, llvm::toString(std::move(err)));
      },
      py::arg("ordinal"),
      "Runs NormLIR's CUDA work on device `ordinal` (the first request "
      "before the runtime starts decides, unless NORMLIR_CUDA_DEVICE is "
      "set); raises ExecutionError naming the device in use when it is "
      "another, or without a driver or such a device.");

  m.def("cache_stats", []() {
    CacheStats s = getCacheStats();
    py::dict d;
    d["compiles"] = s.compiles;
    d["memory_hits"] = s.memoryHits;
    d["disk_hits"] = s.diskHits;
    d["compile_seconds"] = s.compileSeconds;
    d["memory_entries"] = s.memoryEntries;
    d["memory_capacity"] = s.memoryCapacity;
    return d;
  });
  m.def("set_memory_cache_capacity", &setMemoryCacheCapacity,
        py::arg("capacity"),
        "Bounds the in-memory module cache (LRU; 0: none kept).");
  m.def(
      "set_cache_dir",
      [](std::optional<std::string> path) {
        setCacheDirectory(path ? *path : "off");
      },
      py::arg("path"), "Sets the disk cache directory (None: disabled).");
  m.def("get_cache_dir", []() { return getCacheDirectory(); });
  m.def("clear_memory_cache", []() { clearMemoryCache(); });

  m.def("cached_tensor", &cachedTensor, py::arg("shape"), py::arg("strides"),
        py::arg("dtype"),
        "An uninitialized host tensor from the host cache, as a DLPack "
        "capsule (strides kept where dense, else row-major).");
  m.def("host_cache_info", []() {
    python::HostCacheInfo s = python::hostCacheInfo();
    py::dict d;
    d["hits"] = s.hits;
    d["misses"] = s.misses;
    d["in_use_bytes"] = s.inUseBytes;
    d["cached_bytes"] = s.cachedBytes;
    d["cached_blocks"] = s.cachedBlocks;
    d["limit_bytes"] = s.limitBytes;
    return d;
  });
  m.def("set_host_cache_limit", &python::setHostCacheLimit, py::arg("bytes"),
        "Sets the most bytes of free blocks the host cache keeps.");
  m.def("empty_host_cache", &python::emptyHostCache,
        "Returns the host cache's free blocks to the system.");
}
