// One SGD-with-momentum step of one parameter tensor, exactly as torch.optim.SGD (dampening 0)
// and in the same float32 operation order as prunebench's composed tfjs version (contraction
// into FMAs is disabled in binding.gyp), so both give the same bits:
//   d = g + wd * p;  buf = m * buf + d;  d = nesterov ? d + m * buf : buf;  p = p - lr * d.
// One pass instead of six tfjs ops per parameter.
#include "common.h"

namespace pb {
namespace {

__attribute__((target_clones("avx512f", "avx2", "default"))) void sgdLoop(const float *__restrict p, const float *__restrict g,
                                                                          const float *__restrict buf, float *__restrict outP,
                                                                          float *__restrict outBuf, int64_t n, float lr, float m,
                                                                          float wd, bool nesterov, bool hasBuf) {
  for (int64_t i = 0; i < n; ++i) {
    float d = wd != 0.0f ? g[i] + p[i] * wd : g[i];
    if (m != 0.0f) {
      // A fresh buffer is zeros (torch sets buf = d on the first step: the same value).
      const float next = hasBuf ? buf[i] * m + d : 0.0f * m + d;
      outBuf[i] = next;
      d = nesterov ? d + next * m : next;
    }
    outP[i] = p[i] - d * lr;
  }
}

// sgdStep(heap, n, param, grad, buffer (-1 for none), outParam, outBuffer, lr, momentum, weightDecay, nesterov)
napi_value SgdStep(napi_env env, napi_callback_info info) {
  return guard(env, "sgdStep", [&]() -> napi_value {
    CallArgs a(env, info, 11, "sgdStep");
    Heap heap = a.heap(0);
    const int64_t n = a.i64(1, "n");
    if (n < 1) throw ArgError("sgdStep: n must be positive", true);
    const size_t count = static_cast<size_t>(n);
    const float *p = heap.f32(a.i64(2, "param offset"), count, "param");
    const float *g = heap.f32(a.i64(3, "grad offset"), count, "grad");
    const int64_t bufOffset = a.i64(4, "buffer offset");
    const float *buf = bufOffset >= 0 ? heap.f32(bufOffset, count, "buffer") : nullptr;
    float *outP = heap.f32(a.i64(5, "out param offset"), count, "out param");
    const float m = static_cast<float>(a.f64(8, "momentum"));
    float *outBuf = m != 0.0f ? heap.f32(a.i64(6, "out buffer offset"), count, "out buffer") : nullptr;
    sgdLoop(p, g, buf, outP, outBuf, n, static_cast<float>(a.f64(7, "lr")), m, static_cast<float>(a.f64(9, "weightDecay")),
            a.flag(10, "nesterov"), buf != nullptr);
    return nullptr;
  });
}

}  // namespace

void defineSgd(napi_env env, napi_value exports) { defineFunction(env, exports, "sgdStep", SgdStep); }

}  // namespace pb
