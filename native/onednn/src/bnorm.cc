// Batch normalisation on NHWC activations. Training mode (batch statistics) runs oneDNN's batch
// norm, optionally with the following ReLU fused into it (forward and backward: the workspace
// records where the ReLU was active). Inference mode is one pass of per-channel scale and shift
// (plus ReLU), folded from the running statistics.
#include <cmath>
#include <memory>

#include "common.h"

namespace pb {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct BnPlan {
  int64_t n, h, w, c;
  bool relu;
  float eps;
  int threads;
  dnnl::normalization_flags flags;
  memory::desc dataMd, vecMd;
  dnnl::batch_normalization_forward::primitive_desc fwdPd;
  dnnl::batch_normalization_forward fwd;
  bool hasBackward = false;
  dnnl::batch_normalization_backward::primitive_desc bwdPd;
  dnnl::batch_normalization_backward bwd;
  memory src, dst, mean, var, scale, shift, ws, dsrc, ddst, dscale, dshift;
  size_t workspaceBytes = 0;
  size_t elems() const { return static_cast<size_t>(n * h * w * c); }
  size_t wsElems() const { return (workspaceBytes + 3) / 4; }

  void ensureBackward() {
    if (hasBackward) return;
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    auto bd = dnnl::batch_normalization_backward::desc(dnnl::prop_kind::backward, dataMd, dataMd, eps, flags);
    bwdPd = dnnl::batch_normalization_backward::primitive_desc(bd, attr, engine(), fwdPd);
    bwd = dnnl::batch_normalization_backward(bwdPd);
    hasBackward = true;
  }
};

std::vector<std::unique_ptr<BnPlan>> g_plans;

BnPlan &planOf(const CallArgs &a, size_t i) {
  const int64_t id = a.i64(i, "plan id");
  if (id < 0 || static_cast<size_t>(id) >= g_plans.size()) throw ArgError("unknown batch-norm plan " + std::to_string(id), true);
  return *g_plans[static_cast<size_t>(id)];
}

// createBatchNormPlan(Int32Array [N, H, W, C], eps, fuseRelu) -> id
napi_value CreateBatchNormPlan(napi_env env, napi_callback_info info) {
  return guard(env, "createBatchNormPlan", [&]() -> napi_value {
    CallArgs a(env, info, 3, "createBatchNormPlan");
    const int32_t *p = a.ints(0, 4, "shape");
    for (int i = 0; i < 4; ++i) {
      if (p[i] < 1) throw ArgError("createBatchNormPlan: sizes must be positive", true);
    }
    auto pl = std::make_unique<BnPlan>();
    pl->n = p[0]; pl->h = p[1]; pl->w = p[2]; pl->c = p[3];
    pl->eps = static_cast<float>(a.f64(1, "eps"));
    pl->relu = a.flag(2, "fuseRelu");
    pl->threads = currentThreads();
    pl->flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    if (pl->relu) pl->flags = pl->flags | dnnl::normalization_flags::fuse_norm_relu;
    pl->dataMd = memory::desc({pl->n, pl->c, pl->h, pl->w}, dt::f32, tag::nhwc);
    pl->vecMd = memory::desc({pl->c}, dt::f32, tag::x);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    auto fd = dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_training, pl->dataMd, pl->eps, pl->flags);
    pl->fwdPd = dnnl::batch_normalization_forward::primitive_desc(fd, attr, engine());
    pl->fwd = dnnl::batch_normalization_forward(pl->fwdPd);
    for (memory *m : {&pl->src, &pl->dst, &pl->dsrc, &pl->ddst}) *m = memory(pl->dataMd, engine(), nullptr);
    for (memory *m : {&pl->mean, &pl->var, &pl->scale, &pl->shift, &pl->dscale, &pl->dshift}) *m = memory(pl->vecMd, engine(), nullptr);
    if (pl->relu) {
      pl->workspaceBytes = pl->fwdPd.workspace_desc().get_size();
      pl->ws = memory(pl->fwdPd.workspace_desc(), engine(), nullptr);
    }
    g_plans.push_back(std::move(pl));
    return makeInt(env, static_cast<int64_t>(g_plans.size()) - 1);
  });
}

// batchNormWorkspaceBytes(id) -> bytes of the ReLU workspace (0 without fused ReLU)
napi_value BatchNormWorkspaceBytes(napi_env env, napi_callback_info info) {
  return guard(env, "batchNormWorkspaceBytes", [&]() -> napi_value {
    CallArgs a(env, info, 1, "batchNormWorkspaceBytes");
    return makeInt(env, static_cast<int64_t>(planOf(a, 0).workspaceBytes));
  });
}

// batchNormForward(id, heap, x, gamma, beta, y, mean, variance, workspace): y and the batch mean and
// (biased) variance; the workspace offset is ignored without fused ReLU.
napi_value BatchNormForward(napi_env env, napi_callback_info info) {
  return guard(env, "batchNormForward", [&]() -> napi_value {
    CallArgs a(env, info, 9, "batchNormForward");
    BnPlan &pl = planOf(a, 0);
    Heap heap = a.heap(1);
    const size_t c = static_cast<size_t>(pl.c);
    pl.src.set_data_handle(heap.f32(a.i64(2, "x offset"), pl.elems(), "x"));
    pl.scale.set_data_handle(heap.f32(a.i64(3, "gamma offset"), c, "gamma"));
    pl.shift.set_data_handle(heap.f32(a.i64(4, "beta offset"), c, "beta"));
    pl.dst.set_data_handle(heap.f32(a.i64(5, "y offset"), pl.elems(), "y"));
    pl.mean.set_data_handle(heap.f32(a.i64(6, "mean offset"), c, "mean"));
    pl.var.set_data_handle(heap.f32(a.i64(7, "variance offset"), c, "variance"));
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, pl.src},     {DNNL_ARG_DST, pl.dst},
                                            {DNNL_ARG_MEAN, pl.mean},   {DNNL_ARG_VARIANCE, pl.var},
                                            {DNNL_ARG_SCALE, pl.scale}, {DNNL_ARG_SHIFT, pl.shift},
                                            {DNNL_ARG_SCRATCHPAD, scratchpadFor(pl.fwdPd)}};
    if (pl.relu) {
      pl.ws.set_data_handle(heap.at(a.i64(8, "workspace offset"), pl.wsElems(), "workspace"));
      args[DNNL_ARG_WORKSPACE] = pl.ws;
    }
    pl.fwd.execute(stream(), args);
    stream().wait();
    return nullptr;
  });
}

// batchNormBackward(id, heap, x, gamma, beta, mean, variance, dy, workspace, dx, dgamma, dbeta)
napi_value BatchNormBackward(napi_env env, napi_callback_info info) {
  return guard(env, "batchNormBackward", [&]() -> napi_value {
    CallArgs a(env, info, 12, "batchNormBackward");
    BnPlan &pl = planOf(a, 0);
    Heap heap = a.heap(1);
    const size_t c = static_cast<size_t>(pl.c);
    pl.ensureBackward();
    pl.src.set_data_handle(heap.f32(a.i64(2, "x offset"), pl.elems(), "x"));
    pl.scale.set_data_handle(heap.f32(a.i64(3, "gamma offset"), c, "gamma"));
    pl.shift.set_data_handle(heap.f32(a.i64(4, "beta offset"), c, "beta"));
    pl.mean.set_data_handle(heap.f32(a.i64(5, "mean offset"), c, "mean"));
    pl.var.set_data_handle(heap.f32(a.i64(6, "variance offset"), c, "variance"));
    pl.ddst.set_data_handle(heap.f32(a.i64(7, "dy offset"), pl.elems(), "dy"));
    pl.dsrc.set_data_handle(heap.f32(a.i64(9, "dx offset"), pl.elems(), "dx"));
    pl.dscale.set_data_handle(heap.f32(a.i64(10, "dgamma offset"), c, "dgamma"));
    pl.dshift.set_data_handle(heap.f32(a.i64(11, "dbeta offset"), c, "dbeta"));
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, pl.src},           {DNNL_ARG_MEAN, pl.mean},          {DNNL_ARG_VARIANCE, pl.var},
        {DNNL_ARG_DIFF_DST, pl.ddst},     {DNNL_ARG_SCALE, pl.scale},        {DNNL_ARG_SHIFT, pl.shift},
        {DNNL_ARG_DIFF_SRC, pl.dsrc},     {DNNL_ARG_DIFF_SCALE, pl.dscale},  {DNNL_ARG_DIFF_SHIFT, pl.dshift},
        {DNNL_ARG_SCRATCHPAD, scratchpadFor(pl.bwdPd)}};
    if (pl.relu) {
      pl.ws.set_data_handle(heap.at(a.i64(8, "workspace offset"), pl.wsElems(), "workspace"));
      args[DNNL_ARG_WORKSPACE] = pl.ws;
    }
    pl.bwd.execute(stream(), args);
    stream().wait();
    return nullptr;
  });
}

// batchNormInference(heap, rows, channels, x, gamma, beta, mean, variance, eps, relu, y):
// y = x * gamma / sqrt(variance + eps) + (beta - mean * gamma / sqrt(variance + eps)), then ReLU.
napi_value BatchNormInference(napi_env env, napi_callback_info info) {
  return guard(env, "batchNormInference", [&]() -> napi_value {
    CallArgs a(env, info, 11, "batchNormInference");
    Heap heap = a.heap(0);
    const int64_t rows = a.i64(1, "rows"), c = a.i64(2, "channels");
    if (rows < 0 || c < 1) throw ArgError("batchNormInference: bad rows/channels", true);
    const size_t total = static_cast<size_t>(rows * c);
    const float *x = heap.f32(a.i64(3, "x offset"), total, "x");
    const float *gamma = heap.f32(a.i64(4, "gamma offset"), c, "gamma");
    const float *beta = heap.f32(a.i64(5, "beta offset"), c, "beta");
    const float *mean = heap.f32(a.i64(6, "mean offset"), c, "mean");
    const float *var = heap.f32(a.i64(7, "variance offset"), c, "variance");
    const float eps = static_cast<float>(a.f64(8, "eps"));
    const bool relu = a.flag(9, "relu");
    float *y = heap.f32(a.i64(10, "y offset"), total, "y");
    std::vector<float> scale(c), shift(c);
    for (int64_t k = 0; k < c; ++k) {
      scale[k] = gamma[k] * (1.0f / std::sqrt(var[k] + eps));
      shift[k] = beta[k] - mean[k] * scale[k];
    }
    const float *sc = scale.data(), *sh = shift.data();
    for (int64_t r = 0; r < rows; ++r) {
      const float *xr = x + r * c;
      float *yr = y + r * c;
      if (relu) {
        for (int64_t k = 0; k < c; ++k) {
          const float v = xr[k] * sc[k] + sh[k];
          yr[k] = v > 0.0f ? v : 0.0f;
        }
      } else {
        for (int64_t k = 0; k < c; ++k) yr[k] = xr[k] * sc[k] + sh[k];
      }
    }
    return nullptr;
  });
}

}  // namespace

void defineBatchNorm(napi_env env, napi_value exports) {
  defineFunction(env, exports, "createBatchNormPlan", CreateBatchNormPlan);
  defineFunction(env, exports, "batchNormWorkspaceBytes", BatchNormWorkspaceBytes);
  defineFunction(env, exports, "batchNormForward", BatchNormForward);
  defineFunction(env, exports, "batchNormBackward", BatchNormBackward);
  defineFunction(env, exports, "batchNormInference", BatchNormInference);
}

}  // namespace pb
