// Max and average pooling on NHWC activations, forward and backward, as direct loops vectorised
// over channels (memory-bound work: a loop is as fast as a library call and needs no workspace).
// Conventions match tfjs's cpu backend: windows are clipped to the input (padding never wins a
// max); the max-pool gradient goes to the FIRST maximum of a window in row-major order. Average
// pooling here takes only windows that lie fully inside the input (the JS side checks), where
// every window averages exactly KH*KW values.
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "common.h"

namespace pb {
namespace {

struct PoolShape {
  int64_t n, h, w, c, kh, kw, sh, sw, pt, pl, oh, ow;
  size_t inElems() const { return static_cast<size_t>(n * h * w * c); }
  size_t outElems() const { return static_cast<size_t>(n * oh * ow * c); }
  // The clipped window of output (r, q): rows [r0, r1), cols [c0, c1).
  void window(int64_t r, int64_t q, int64_t &r0, int64_t &r1, int64_t &c0, int64_t &c1) const {
    r0 = r * sh - pt;
    r1 = std::min(h, r0 + kh);
    if (r0 < 0) r0 = 0;
    c0 = q * sw - pl;
    c1 = std::min(w, c0 + kw);
    if (c0 < 0) c0 = 0;
  }
};

PoolShape shapeOf(const CallArgs &a, size_t i) {
  const int32_t *p = a.ints(i, 12, "pool parameters");
  PoolShape s{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]};
  if (s.n < 1 || s.h < 1 || s.w < 1 || s.c < 1 || s.kh < 1 || s.kw < 1 || s.sh < 1 || s.sw < 1 || s.oh < 1 || s.ow < 1 ||
      s.pt < 0 || s.pl < 0) {
    throw ArgError("bad pool parameters", true);
  }
  return s;
}

void requireUnpadded(const PoolShape &s, const char *fn) {
  if (s.pt != 0 || s.pl != 0 || (s.oh - 1) * s.sh + s.kh > s.h || (s.ow - 1) * s.sw + s.kw > s.w) {
    throw ArgError(std::string(fn) + ": windows must lie inside the input (no padding)", true);
  }
}

int parallelBatches(const PoolShape &s) { return s.n > 1 ? omp_get_max_threads() : 1; }

// maxPoolForward(heap, params, x, y)
napi_value MaxPoolForward(napi_env env, napi_callback_info info) {
  return guard(env, "maxPoolForward", [&]() -> napi_value {
    CallArgs a(env, info, 4, "maxPoolForward");
    Heap heap = a.heap(0);
    const PoolShape s = shapeOf(a, 1);
    const float *x = heap.f32(a.i64(2, "x offset"), s.inElems(), "x");
    float *y = heap.f32(a.i64(3, "y offset"), s.outElems(), "y");
    const float lowest = -std::numeric_limits<float>::infinity();
#pragma omp parallel for num_threads(parallelBatches(s)) schedule(static)
    for (int64_t b = 0; b < s.n; ++b) {
      for (int64_t r = 0; r < s.oh; ++r) {
        for (int64_t q = 0; q < s.ow; ++q) {
          int64_t r0, r1, c0, c1;
          s.window(r, q, r0, r1, c0, c1);
          float *__restrict out = y + ((b * s.oh + r) * s.ow + q) * s.c;
          for (int64_t k = 0; k < s.c; ++k) out[k] = lowest;
          for (int64_t i = r0; i < r1; ++i) {
            for (int64_t j = c0; j < c1; ++j) {
              const float *__restrict in = x + ((b * s.h + i) * s.w + j) * s.c;
              // A NaN propagates: once it is the max, nothing compares greater than it.
              for (int64_t k = 0; k < s.c; ++k) out[k] = (in[k] > out[k] || in[k] != in[k]) ? in[k] : out[k];
            }
          }
        }
      }
    }
    return nullptr;
  });
}

// maxPoolBackward(heap, params, x, dy, dx): dx[first argmax of each window] += dy
napi_value MaxPoolBackward(napi_env env, napi_callback_info info) {
  return guard(env, "maxPoolBackward", [&]() -> napi_value {
    CallArgs a(env, info, 5, "maxPoolBackward");
    Heap heap = a.heap(0);
    const PoolShape s = shapeOf(a, 1);
    const float *x = heap.f32(a.i64(2, "x offset"), s.inElems(), "x");
    const float *dy = heap.f32(a.i64(3, "dy offset"), s.outElems(), "dy");
    float *dx = heap.f32(a.i64(4, "dx offset"), s.inElems(), "dx");
    // Non-overlapping windows that tile the input (2x2 stride 2 on even sizes) write every dx
    // element exactly once; otherwise start from zeros and accumulate.
    const bool disjoint = s.sh >= s.kh && s.sw >= s.kw;
    const bool tiles = disjoint && s.sh == s.kh && s.sw == s.kw && s.pt == 0 && s.pl == 0 && s.oh * s.kh == s.h &&
                       s.ow * s.kw == s.w;
    if (!tiles) std::memset(dx, 0, s.inElems() * sizeof(float));
    const float lowest = -std::numeric_limits<float>::infinity();
#pragma omp parallel num_threads(parallelBatches(s))
    {
      std::vector<float> bestBuf(static_cast<size_t>(s.c));
      std::vector<int32_t> argBuf(static_cast<size_t>(s.c));
      float *__restrict best = bestBuf.data();
      int32_t *__restrict arg = argBuf.data();
#pragma omp for schedule(static)
      for (int64_t b = 0; b < s.n; ++b) {
        for (int64_t r = 0; r < s.oh; ++r) {
          for (int64_t q = 0; q < s.ow; ++q) {
            int64_t r0, r1, c0, c1;
            s.window(r, q, r0, r1, c0, c1);
            for (int64_t k = 0; k < s.c; ++k) {
              best[k] = lowest;
              arg[k] = -1;
            }
            // Pass 1: the first maximum of each channel, as a position in the clipped window.
            int32_t pos = 0;
            for (int64_t i = r0; i < r1; ++i) {
              for (int64_t j = c0; j < c1; ++j, ++pos) {
                const float *__restrict in = x + ((b * s.h + i) * s.w + j) * s.c;
                // Branch-free (integer masks) so the compiler vectorises over channels.
                for (int64_t k = 0; k < s.c; ++k) {
                  const int32_t greater = -static_cast<int32_t>(in[k] > best[k]);
                  best[k] = in[k] > best[k] ? in[k] : best[k];
                  arg[k] = (arg[k] & ~greater) | (pos & greater);
                }
              }
            }
            // Pass 2: route the gradient there.
            // The gradient's bits are masked (not multiplied by 0/1, which would turn inf into NaN).
            const uint32_t *__restrict g = reinterpret_cast<const uint32_t *>(dy + ((b * s.oh + r) * s.ow + q) * s.c);
            pos = 0;
            for (int64_t i = r0; i < r1; ++i) {
              for (int64_t j = c0; j < c1; ++j, ++pos) {
                float *__restrict out = dx + ((b * s.h + i) * s.w + j) * s.c;
                if (disjoint) {
                  uint32_t *__restrict bits = reinterpret_cast<uint32_t *>(out);
                  for (int64_t k = 0; k < s.c; ++k) bits[k] = g[k] & static_cast<uint32_t>(-static_cast<int32_t>(arg[k] == pos));
                } else {
                  for (int64_t k = 0; k < s.c; ++k) {
                    const uint32_t masked = g[k] & static_cast<uint32_t>(-static_cast<int32_t>(arg[k] == pos));
                    float v;
                    std::memcpy(&v, &masked, sizeof v);
                    out[k] += v;
                  }
                }
              }
            }
          }
        }
      }
    }
    return nullptr;
  });
}

// avgPoolForward(heap, params, x, y): windows inside the input only.
napi_value AvgPoolForward(napi_env env, napi_callback_info info) {
  return guard(env, "avgPoolForward", [&]() -> napi_value {
    CallArgs a(env, info, 4, "avgPoolForward");
    Heap heap = a.heap(0);
    const PoolShape s = shapeOf(a, 1);
    requireUnpadded(s, "avgPoolForward");
    const float *x = heap.f32(a.i64(2, "x offset"), s.inElems(), "x");
    float *y = heap.f32(a.i64(3, "y offset"), s.outElems(), "y");
    const double inv = 1.0 / static_cast<double>(s.kh * s.kw);
#pragma omp parallel num_threads(parallelBatches(s))
    {
      // Double accumulators: a window can be a whole batch (per-channel means of BN statistics).
      std::vector<double> acc(static_cast<size_t>(s.c));
#pragma omp for schedule(static)
      for (int64_t b = 0; b < s.n; ++b) {
        for (int64_t r = 0; r < s.oh; ++r) {
          for (int64_t q = 0; q < s.ow; ++q) {
            std::fill(acc.begin(), acc.end(), 0.0);
            for (int64_t i = r * s.sh; i < r * s.sh + s.kh; ++i) {
              for (int64_t j = q * s.sw; j < q * s.sw + s.kw; ++j) {
                const float *in = x + ((b * s.h + i) * s.w + j) * s.c;
                for (int64_t k = 0; k < s.c; ++k) acc[k] += in[k];
              }
            }
            float *out = y + ((b * s.oh + r) * s.ow + q) * s.c;
            for (int64_t k = 0; k < s.c; ++k) out[k] = static_cast<float>(acc[k] * inv);
          }
        }
      }
    }
    return nullptr;
  });
}

// avgPoolBackward(heap, params, dy, dx): dx[window] += dy / (KH*KW); windows inside the input only.
napi_value AvgPoolBackward(napi_env env, napi_callback_info info) {
  return guard(env, "avgPoolBackward", [&]() -> napi_value {
    CallArgs a(env, info, 4, "avgPoolBackward");
    Heap heap = a.heap(0);
    const PoolShape s = shapeOf(a, 1);
    requireUnpadded(s, "avgPoolBackward");
    const float *dy = heap.f32(a.i64(2, "dy offset"), s.outElems(), "dy");
    float *dx = heap.f32(a.i64(3, "dx offset"), s.inElems(), "dx");
    std::memset(dx, 0, s.inElems() * sizeof(float));
    const float inv = 1.0f / static_cast<float>(s.kh * s.kw);
#pragma omp parallel for num_threads(parallelBatches(s)) schedule(static)
    for (int64_t b = 0; b < s.n; ++b) {
      for (int64_t r = 0; r < s.oh; ++r) {
        for (int64_t q = 0; q < s.ow; ++q) {
          const float *g = dy + ((b * s.oh + r) * s.ow + q) * s.c;
          for (int64_t i = r * s.sh; i < r * s.sh + s.kh; ++i) {
            for (int64_t j = q * s.sw; j < q * s.sw + s.kw; ++j) {
              float *out = dx + ((b * s.h + i) * s.w + j) * s.c;
              for (int64_t k = 0; k < s.c; ++k) out[k] += g[k] * inv;
            }
          }
        }
      }
    }
    return nullptr;
  });
}

}  // namespace

void definePool(napi_env env, napi_value exports) {
  defineFunction(env, exports, "maxPoolForward", MaxPoolForward);
  defineFunction(env, exports, "maxPoolBackward", MaxPoolBackward);
  defineFunction(env, exports, "avgPoolForward", AvgPoolForward);
  defineFunction(env, exports, "avgPoolBackward", AvgPoolBackward);
}

}  // namespace pb
