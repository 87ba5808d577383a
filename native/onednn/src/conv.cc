// 2-D convolution (forward, backward-data, backward-weights) on NHWC activations and HWIO weights,
// the tfjs layouts, so activations need no reorder; oneDNN's preferred (blocked) weight layout is
// reached through a cached reorder of the small weight tensor.
#include <memory>
#include <unordered_map>

#include "common.h"

namespace pb {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// A reorder between the caller's layout (in the heap) and the layout a primitive wants, with its
// own buffer; a no-op when the two layouts are equal.
struct Reorder {
  bool needed = false;
  memory user, prim;
  dnnl::reorder op;
  void init(const memory::desc &userMd, const memory::desc &primMd, bool toPrim) {
    needed = userMd != primMd;
    user = memory(userMd, engine(), nullptr);
    if (needed) {
      prim = memory(primMd, engine());
      op = toPrim ? dnnl::reorder(user, prim) : dnnl::reorder(prim, user);
    } else {
      prim = user;
    }
  }
  // An input: point at the caller's bytes, reorder if needed, return what the primitive reads.
  memory &input(void *p) {
    user.set_data_handle(p);
    if (needed) op.execute(stream(), user, prim);
    return prim;
  }
  // An output: what the primitive writes; call finish() after it ran.
  memory &output(void *p) {
    user.set_data_handle(p);
    return prim;
  }
  void finish() {
    if (needed) op.execute(stream(), prim, user);
  }
};

struct ConvPlan {
  int64_t n, h, w, ic, oc, kh, kw, oh, ow;
  memory::dims strides, padL, padR;
  int threads;
  memory::desc srcMd, dstMd, weiMd;
  dnnl::convolution_forward::primitive_desc fwdPd;
  dnnl::convolution_forward fwd;
  memory src, dst;
  Reorder fwdWei;
  bool hasBackward = false;
  dnnl::convolution_backward_data::primitive_desc bwdDataPd;
  dnnl::convolution_backward_data bwdData;
  dnnl::convolution_backward_weights::primitive_desc bwdWeiPd;
  dnnl::convolution_backward_weights bwdWei;
  Reorder bwdDataWei, bwdWeiDiff;
  size_t srcElems() const { return static_cast<size_t>(n * h * w * ic); }
  size_t dstElems() const { return static_cast<size_t>(n * oh * ow * oc); }
  size_t weiElems() const { return static_cast<size_t>(kh * kw * ic * oc); }

  void ensureBackward() {
    if (hasBackward) return;
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    memory::desc weiAny({oc, ic, kh, kw}, dt::f32, tag::any);
    auto dd = dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, srcMd, weiAny, dstMd, strides,
                                                    padL, padR);
    bwdDataPd = dnnl::convolution_backward_data::primitive_desc(dd, attr, engine(), fwdPd);
    bwdData = dnnl::convolution_backward_data(bwdDataPd);
    auto wd = dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, srcMd, weiAny, dstMd,
                                                       strides, padL, padR);
    bwdWeiPd = dnnl::convolution_backward_weights::primitive_desc(wd, attr, engine(), fwdPd);
    bwdWei = dnnl::convolution_backward_weights(bwdWeiPd);
    bwdDataWei.init(weiMd, bwdDataPd.weights_desc(), true);
    bwdWeiDiff.init(weiMd, bwdWeiPd.diff_weights_desc(), false);
    hasBackward = true;
  }
};

std::vector<std::unique_ptr<ConvPlan>> g_plans;

ConvPlan &planOf(const CallArgs &a, size_t i) {
  const int64_t id = a.i64(i, "plan id");
  if (id < 0 || static_cast<size_t>(id) >= g_plans.size()) throw ArgError("unknown convolution plan " + std::to_string(id), true);
  return *g_plans[static_cast<size_t>(id)];
}

// createConvPlan(Int32Array [N, H, W, IC, OC, KH, KW, strideH, strideW, padTop, padLeft, padBottom, padRight]) -> id
napi_value CreateConvPlan(napi_env env, napi_callback_info info) {
  return guard(env, "createConvPlan", [&]() -> napi_value {
    CallArgs a(env, info, 1, "createConvPlan");
    const int32_t *p = a.ints(0, 13, "shape parameters");
    auto pl = std::make_unique<ConvPlan>();
    pl->n = p[0]; pl->h = p[1]; pl->w = p[2]; pl->ic = p[3]; pl->oc = p[4]; pl->kh = p[5]; pl->kw = p[6];
    const int64_t sh = p[7], sw = p[8], pt = p[9], pleft = p[10], pb = p[11], pr = p[12];
    for (int i = 0; i < 9; ++i) {
      if (p[i] < 1) throw ArgError("createConvPlan: sizes and strides must be positive", true);
    }
    if (pt < 0 || pleft < 0 || pb < 0 || pr < 0) throw ArgError("createConvPlan: paddings must be >= 0", true);
    pl->oh = (pl->h + pt + pb - pl->kh) / sh + 1;
    pl->ow = (pl->w + pleft + pr - pl->kw) / sw + 1;
    if (pl->oh < 1 || pl->ow < 1) throw ArgError("createConvPlan: the kernel is larger than the padded input", true);
    pl->strides = {sh, sw};
    pl->padL = {pt, pleft};
    pl->padR = {pb, pr};
    pl->threads = currentThreads();
    pl->srcMd = memory::desc({pl->n, pl->ic, pl->h, pl->w}, dt::f32, tag::nhwc);
    pl->dstMd = memory::desc({pl->n, pl->oc, pl->oh, pl->ow}, dt::f32, tag::nhwc);
    pl->weiMd = memory::desc({pl->oc, pl->ic, pl->kh, pl->kw}, dt::f32, tag::hwio);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    memory::desc weiAny({pl->oc, pl->ic, pl->kh, pl->kw}, dt::f32, tag::any);
    auto fd = dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                              pl->srcMd, weiAny, pl->dstMd, pl->strides, pl->padL, pl->padR);
    pl->fwdPd = dnnl::convolution_forward::primitive_desc(fd, attr, engine());
    pl->fwd = dnnl::convolution_forward(pl->fwdPd);
    pl->src = memory(pl->srcMd, engine(), nullptr);
    pl->dst = memory(pl->dstMd, engine(), nullptr);
    pl->fwdWei.init(pl->weiMd, pl->fwdPd.weights_desc(), true);
    g_plans.push_back(std::move(pl));
    return makeInt(env, static_cast<int64_t>(g_plans.size()) - 1);
  });
}

// convForward(id, heap, xOffset, filterOffset, yOffset)
napi_value ConvForward(napi_env env, napi_callback_info info) {
  return guard(env, "convForward", [&]() -> napi_value {
    CallArgs a(env, info, 5, "convForward");
    ConvPlan &pl = planOf(a, 0);
    Heap heap = a.heap(1);
    float *x = heap.f32(a.i64(2, "x offset"), pl.srcElems(), "x");
    float *wei = heap.f32(a.i64(3, "filter offset"), pl.weiElems(), "filter");
    float *y = heap.f32(a.i64(4, "y offset"), pl.dstElems(), "y");
    pl.src.set_data_handle(x);
    pl.dst.set_data_handle(y);
    pl.fwd.execute(stream(), {{DNNL_ARG_SRC, pl.src},
                              {DNNL_ARG_WEIGHTS, pl.fwdWei.input(wei)},
                              {DNNL_ARG_DST, pl.dst},
                              {DNNL_ARG_SCRATCHPAD, scratchpadFor(pl.fwdPd)}});
    stream().wait();
    return nullptr;
  });
}

// convBackwardData(id, heap, dyOffset, filterOffset, dxOffset)
napi_value ConvBackwardData(napi_env env, napi_callback_info info) {
  return guard(env, "convBackwardData", [&]() -> napi_value {
    CallArgs a(env, info, 5, "convBackwardData");
    ConvPlan &pl = planOf(a, 0);
    Heap heap = a.heap(1);
    float *dy = heap.f32(a.i64(2, "dy offset"), pl.dstElems(), "dy");
    float *wei = heap.f32(a.i64(3, "filter offset"), pl.weiElems(), "filter");
    float *dx = heap.f32(a.i64(4, "dx offset"), pl.srcElems(), "dx");
    pl.ensureBackward();
    pl.dst.set_data_handle(dy);
    pl.src.set_data_handle(dx);
    pl.bwdData.execute(stream(), {{DNNL_ARG_DIFF_DST, pl.dst},
                                  {DNNL_ARG_WEIGHTS, pl.bwdDataWei.input(wei)},
                                  {DNNL_ARG_DIFF_SRC, pl.src},
                                  {DNNL_ARG_SCRATCHPAD, scratchpadFor(pl.bwdDataPd)}});
    stream().wait();
    return nullptr;
  });
}

// convBackwardWeights(id, heap, xOffset, dyOffset, dwOffset)
napi_value ConvBackwardWeights(napi_env env, napi_callback_info info) {
  return guard(env, "convBackwardWeights", [&]() -> napi_value {
    CallArgs a(env, info, 5, "convBackwardWeights");
    ConvPlan &pl = planOf(a, 0);
    Heap heap = a.heap(1);
    float *x = heap.f32(a.i64(2, "x offset"), pl.srcElems(), "x");
    float *dy = heap.f32(a.i64(3, "dy offset"), pl.dstElems(), "dy");
    float *dw = heap.f32(a.i64(4, "dw offset"), pl.weiElems(), "dw");
    pl.ensureBackward();
    pl.src.set_data_handle(x);
    pl.dst.set_data_handle(dy);
    pl.bwdWei.execute(stream(), {{DNNL_ARG_SRC, pl.src},
                                 {DNNL_ARG_DIFF_DST, pl.dst},
                                 {DNNL_ARG_DIFF_WEIGHTS, pl.bwdWeiDiff.output(dw)},
                                 {DNNL_ARG_SCRATCHPAD, scratchpadFor(pl.bwdWeiPd)}});
    pl.bwdWeiDiff.finish();
    stream().wait();
    return nullptr;
  });
}

// convPlanInfo(id) -> "fwd=<impl> bwd_data=<impl> bwd_weights=<impl> threads=N" (for the bench and debugging)
napi_value ConvPlanInfo(napi_env env, napi_callback_info info) {
  return guard(env, "convPlanInfo", [&]() -> napi_value {
    CallArgs a(env, info, 1, "convPlanInfo");
    ConvPlan &pl = planOf(a, 0);
    std::string s = "fwd=" + std::string(pl.fwdPd.impl_info_str());
    if (pl.hasBackward) {
      s += " bwd_data=" + std::string(pl.bwdDataPd.impl_info_str()) + " bwd_weights=" + std::string(pl.bwdWeiPd.impl_info_str());
    }
    s += " threads=" + std::to_string(pl.threads);
    napi_value r;
    napi_create_string_utf8(env, s.c_str(), s.size(), &r);
    return r;
  });
}

}  // namespace

void defineConv(napi_env env, napi_value exports) {
  defineFunction(env, exports, "createConvPlan", CreateConvPlan);
  defineFunction(env, exports, "convForward", ConvForward);
  defineFunction(env, exports, "convBackwardData", ConvBackwardData);
  defineFunction(env, exports, "convBackwardWeights", ConvBackwardWeights);
  defineFunction(env, exports, "convPlanInfo", ConvPlanInfo);
}

}  // namespace pb
