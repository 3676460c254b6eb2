// The oneDNN peer (Debian's libdnnl 2.6): layer normalization and batch
// normalization primitives with separate scale and shift (use_scale |
// use_shift), forward_training (statistics are outputs) or, for BatchNorm
// eval, forward_inference with use_global_stats. Running statistics are not a
// oneDNN feature: the training case updates them with a short loop over C, as
// frameworks do. InstanceNorm runs as BatchNorm on the (1, N*C, H, W) view
// with the per-channel weight repeated N times (PyTorch's own lowering).
// Not expressible in oneDNN 2.6 (exit 3, "unsupported"): RMSNorm, GroupNorm.
// bf16 exits 3 where this CPU/oneDNN has no bf16 implementation.
// OP_bwd (normlir-bench --backward): the backward primitives of the same
// (prop_kind::backward: diff_src, diff_scale, diff_shift), after one forward
// for the statistics; InstanceNorm's diff_scale/diff_shift summed back over
// N.
//
// Usage: dnnl OP DTYPE LAYOUT SHAPE EXTRA WARMUP REPEAT   (as cloop)
// Prints: median_ms=<median>
#include "common.h"
#include <cmath>
#include <functional>
#include <unordered_map>
#include <oneapi/dnnl/dnnl.hpp>

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;
using nf = normalization_flags;

namespace {
memory filled(const memory::desc &md, const engine &eng, float lo = 0.f) {
  memory m(md, eng);
  size_t bytes = md.get_size();
  if (md.data_type() == dt::f32) {
    float *p = static_cast<float *>(m.get_data_handle());
    fillRandom(p, bytes / 4, unsigned(bytes));
    if (lo > 0)
      for (size_t i = 0; i < bytes / 4; ++i) p[i] = std::fabs(p[i]) + lo;
  } else { // bf16
    uint16_t *p = static_cast<uint16_t *>(m.get_data_handle());
    std::vector<float> f(bytes / 2);
    fillRandom(f.data(), f.size(), unsigned(bytes));
    for (size_t i = 0; i < f.size(); ++i) p[i] = f32ToBf16(f[i]);
  }
  return m;
}

int run(std::string op, dt type, const std::string &layout,
        std::vector<int64_t> shape, int64_t extra, int warmup, int repeat) {
  bool backward = op.size() > 4 && op.compare(op.size() - 4, 4, "_bwd") == 0;
  if (backward)
    op.resize(op.size() - 4);
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  std::unordered_map<int, memory> args;
  primitive prim;
  std::function<void()> after = [] {};
  std::vector<float> newRm, newRv;

  if (op == "ln") {
    int64_t r = shape.size();
    memory::dims d = {product(shape, 0, r - extra), product(shape, r - extra)};
    memory::desc md(d, type, tag::ab);
    auto pd = layer_normalization_forward::primitive_desc(
        layer_normalization_forward::desc(prop_kind::forward_training, md,
                                          1e-5f, nf::use_scale | nf::use_shift),
        eng);
    memory::desc pmd({d[1]}, dt::f32, tag::a);
    args = {{DNNL_ARG_SRC, filled(pd.src_desc(), eng)},
            {DNNL_ARG_DST, memory(pd.dst_desc(), eng)},
            {DNNL_ARG_MEAN, memory(pd.mean_desc(), eng)},
            {DNNL_ARG_VARIANCE, memory(pd.variance_desc(), eng)},
            {DNNL_ARG_SCALE, filled(pmd, eng)},
            {DNNL_ARG_SHIFT, filled(pmd, eng)}};
    prim = layer_normalization_forward(pd);
  } else if (op == "bn_train" || op == "bn_eval" || op == "in") {
    memory::dims d(shape.begin(), shape.end()); // logical N, C, H, W
    int64_t C = d[1], reps = 1;
    if (op == "in") { reps = d[0]; d = {1, d[0] * d[1], d[2], d[3]}; }
    memory::desc md(d, type, layout == "nhwc" ? tag::nhwc : tag::nchw);
    bool train = op != "bn_eval";
    nf flags = nf::use_scale | nf::use_shift;
    if (!train) flags = flags | nf::use_global_stats;
    auto pd = batch_normalization_forward::primitive_desc(
        batch_normalization_forward::desc(train ? prop_kind::forward_training
                                                : prop_kind::forward_inference,
                                          md, 1e-5f, flags),
        eng);
    memory::desc pmd({d[1]}, dt::f32, tag::a);
    memory w = filled(memory::desc({C}, dt::f32, tag::a), eng);
    memory b = filled(memory::desc({C}, dt::f32, tag::a), eng);
    memory scale(pmd, eng), shift(pmd, eng);
    for (int64_t i = 0; i < reps * C; ++i) {
      static_cast<float *>(scale.get_data_handle())[i] =
          static_cast<float *>(w.get_data_handle())[i % C];
      static_cast<float *>(shift.get_data_handle())[i] =
          static_cast<float *>(b.get_data_handle())[i % C];
    }
    args = {{DNNL_ARG_SRC, filled(pd.src_desc(), eng)},
            {DNNL_ARG_DST, memory(pd.dst_desc(), eng)},
            {DNNL_ARG_SCALE, scale},
            {DNNL_ARG_SHIFT, shift}};
    if (train) {
      args[DNNL_ARG_MEAN] = memory(pd.mean_desc(), eng);
      args[DNNL_ARG_VARIANCE] = memory(pd.variance_desc(), eng);
    } else {
      args[DNNL_ARG_MEAN] = filled(pd.mean_desc(), eng);
      args[DNNL_ARG_VARIANCE] = filled(pd.variance_desc(), eng, 0.5f);
    }
    if (op == "bn_train") {
      // Running-statistics update (momentum 0.1, unbiased variance).
      float n = float(d[0] * d[2] * d[3]);
      newRm.assign(C, 0.f);
      newRv.assign(C, 1.f);
      float *m = static_cast<float *>(args[DNNL_ARG_MEAN].get_data_handle());
      float *v = static_cast<float *>(args[DNNL_ARG_VARIANCE].get_data_handle());
      after = [&newRm, &newRv, m, v, n, C] {
        for (int64_t c = 0; c < C; ++c) {
          newRm[c] = 0.9f * newRm[c] + 0.1f * m[c];
          newRv[c] = 0.9f * newRv[c] + 0.1f * v[c] * n / (n - 1);
        }
      };
    }
    prim = batch_normalization_forward(pd);
  } else {
    return 3; // rms, gn: no oneDNN 2.6 primitive
  }
  if (backward) {
    // One forward for the statistics, then the backward primitive of it.
    prim.execute(s, args);
    s.wait();
    after = [] {};
    memory::desc md = args[DNNL_ARG_SRC].get_desc();
    bool layerNorm = op == "ln";
    nf flags = nf::use_scale | nf::use_shift;
    if (op == "bn_eval")
      flags = flags | nf::use_global_stats;
    if (layerNorm) {
      auto fpd = layer_normalization_forward::primitive_desc(
          layer_normalization_forward::desc(prop_kind::forward_training, md,
                                            1e-5f, flags),
          eng);
      auto bpd = layer_normalization_backward::primitive_desc(
          layer_normalization_backward::desc(prop_kind::backward, md, md,
                                             1e-5f, flags),
          eng, fpd);
      prim = layer_normalization_backward(bpd);
    } else {
      prop_kind fk = op == "bn_eval" ? prop_kind::forward_inference
                                     : prop_kind::forward_training;
      auto fpd = batch_normalization_forward::primitive_desc(
          batch_normalization_forward::desc(fk, md, 1e-5f, flags), eng);
      auto bpd = batch_normalization_backward::primitive_desc(
          batch_normalization_backward::desc(prop_kind::backward, md, md,
                                             1e-5f, flags),
          eng, fpd);
      prim = batch_normalization_backward(bpd);
    }
    memory::desc pmd = args[DNNL_ARG_SCALE].get_desc();
    args[DNNL_ARG_DIFF_DST] = filled(md, eng);
    args[DNNL_ARG_DIFF_SRC] = memory(md, eng);
    args[DNNL_ARG_DIFF_SCALE] = memory(pmd, eng);
    args[DNNL_ARG_DIFF_SHIFT] = memory(pmd, eng);
    args.erase(DNNL_ARG_DST);
    if (op == "in") {
      // Per channel: the (N*C) gradients summed over N.
      int64_t C = shape[1], N = shape[0];
      newRm.assign(C, 0.f);
      newRv.assign(C, 0.f);
      float *ds =
          static_cast<float *>(args[DNNL_ARG_DIFF_SCALE].get_data_handle());
      float *dh =
          static_cast<float *>(args[DNNL_ARG_DIFF_SHIFT].get_data_handle());
      after = [&newRm, &newRv, ds, dh, N, C] {
        for (int64_t c = 0; c < C; ++c) {
          float a = 0, b = 0;
          for (int64_t n = 0; n < N; ++n) {
            a += ds[n * C + c];
            b += dh[n * C + c];
          }
          newRm[c] = a;
          newRv[c] = b;
        }
      };
    }
  }
  double ms = medianMs(warmup, repeat, [&] {
    prim.execute(s, args);
    s.wait();
    after();
  });
  std::printf("median_ms=%.6f\n", ms);
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  if (argc != 8) {
    std::fprintf(stderr,
                 "usage: %s OP DTYPE LAYOUT SHAPE EXTRA WARMUP REPEAT\n", argv[0]);
    return 2;
  }
  std::string op = argv[1], dts = argv[2];
  try {
    int rc = run(op, dts == "bf16" ? dt::bf16 : dt::f32, argv[3],
                 parseShape(argv[4]), std::atoll(argv[5]), std::atoi(argv[6]),
                 std::atoi(argv[7]));
    if (rc == 3)
      std::fprintf(stderr, "unsupported: %s has no oneDNN %d.%d primitive\n",
                   argv[1], DNNL_VERSION_MAJOR, DNNL_VERSION_MINOR);
    return rc;
  } catch (const dnnl::error &e) {
    std::fprintf(stderr, "unsupported: %s %s %s: oneDNN: %s\n", argv[1],
                 argv[2], argv[3], e.what());
    return 3;
  }
}
