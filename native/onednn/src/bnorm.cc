// Batch normalisation on channels-last data, as direct loops vectorised over channels:
// training mode (batch statistics) forward and backward with an optional fused ReLU, and
// inference mode (running statistics). Memory-bound work: oneDNN's batch norm was measured slower
// here for wide maps and falls back to a slow generic implementation when C is not a multiple of 8
// (DenseNet's 36, 60, ... channels), so these loops replace it.
//
// The ReLU mask is not stored: the backward pass recomputes y = xhat * gamma + beta from the saved
// input with the same float operations as the forward pass (contraction into FMAs is disabled for
// this file in binding.gyp), so the mask is exactly the forward one.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"

namespace pb {
namespace {

// Rows per block of float partial sums, added into double totals: float speed, double-like
// accuracy for per-channel sums over a whole batch (65k+ rows).
constexpr int64_t kBlock = 128;

#define PB_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

// The hot loops take __restrict pointers and a compile-time ReLU flag, so that the compiler
// if-converts the ReLU mask into a vector select and vectorises over channels.
template <bool Center>
inline void sumRowsT(const float *__restrict x, int64_t r0, int64_t r1, int64_t c, const float *__restrict center,
                     float *__restrict part, double *__restrict total) {
  for (int64_t b = r0; b < r1; b += kBlock) {
    const int64_t e = std::min(r1, b + kBlock);
    for (int64_t k = 0; k < c; ++k) part[k] = 0.0f;
    for (int64_t r = b; r < e; ++r) {
      const float *__restrict xr = x + r * c;
      if constexpr (Center) {
        for (int64_t k = 0; k < c; ++k) {
          const float d = xr[k] - center[k];
          part[k] += d * d;
        }
      } else {
        for (int64_t k = 0; k < c; ++k) part[k] += xr[k];
      }
    }
    for (int64_t k = 0; k < c; ++k) total[k] += part[k];
  }
}

PB_CLONES void sumRows(const float *x, int64_t r0, int64_t r1, int64_t c, const float *center, float *part, double *total) {
  if (center == nullptr) sumRowsT<false>(x, r0, r1, c, nullptr, part, total);
  else sumRowsT<true>(x, r0, r1, c, center, part, total);
}

template <bool Relu>
inline void normalizeRowsT(const float *__restrict x, int64_t r0, int64_t r1, int64_t c, const float *__restrict mean,
                           const float *__restrict inv, const float *__restrict gamma, const float *__restrict beta,
                           float *__restrict y) {
  for (int64_t r = r0; r < r1; ++r) {
    const float *__restrict xr = x + r * c;
    float *__restrict yr = y + r * c;
    for (int64_t k = 0; k < c; ++k) {
      const float xh = (xr[k] - mean[k]) * inv[k];
      const float v = xh * gamma[k] + beta[k];
      if constexpr (Relu) yr[k] = v > 0.0f ? v : 0.0f;
      else yr[k] = v;
    }
  }
}

PB_CLONES void normalizeRows(const float *x, int64_t r0, int64_t r1, int64_t c, const float *mean, const float *inv, const float *gamma,
                             const float *beta, bool relu, float *y) {
  if (relu) normalizeRowsT<true>(x, r0, r1, c, mean, inv, gamma, beta, y);
  else normalizeRowsT<false>(x, r0, r1, c, mean, inv, gamma, beta, y);
}

// Pass 1 of the backward pass: dbeta = sum(g), dgamma = sum(g * xhat), g = dy masked by the ReLU.
template <bool Relu>
inline void gradSumsT(const float *__restrict x, const float *__restrict dy, int64_t r0, int64_t r1, int64_t c,
                      const float *__restrict mean, const float *__restrict inv, const float *__restrict gamma,
                      const float *__restrict beta, float *__restrict partB, float *__restrict partG, double *__restrict sumB,
                      double *__restrict sumG) {
  for (int64_t b = r0; b < r1; b += kBlock) {
    const int64_t e = std::min(r1, b + kBlock);
    for (int64_t k = 0; k < c; ++k) partB[k] = partG[k] = 0.0f;
    for (int64_t r = b; r < e; ++r) {
      const float *__restrict xr = x + r * c;
      const float *__restrict gr = dy + r * c;
      for (int64_t k = 0; k < c; ++k) {
        const float xh = (xr[k] - mean[k]) * inv[k];
        float g = gr[k];
        if constexpr (Relu) g = xh * gamma[k] + beta[k] > 0.0f ? g : 0.0f;
        partB[k] += g;
        partG[k] += g * xh;
      }
    }
    for (int64_t k = 0; k < c; ++k) {
      sumB[k] += partB[k];
      sumG[k] += partG[k];
    }
  }
}

PB_CLONES void gradSums(const float *x, const float *dy, int64_t r0, int64_t r1, int64_t c, const float *mean, const float *inv,
                        const float *gamma, const float *beta, bool relu, float *partB, float *partG, double *sumB, double *sumG) {
  if (relu) gradSumsT<true>(x, dy, r0, r1, c, mean, inv, gamma, beta, partB, partG, sumB, sumG);
  else gradSumsT<false>(x, dy, r0, r1, c, mean, inv, gamma, beta, partB, partG, sumB, sumG);
}

// Pass 2: dx = gamma * inv * (g - dbeta / M - xhat * dgamma / M).
template <bool Relu>
inline void gradInputT(const float *__restrict x, const float *__restrict dy, int64_t r0, int64_t r1, int64_t c,
                       const float *__restrict mean, const float *__restrict inv, const float *__restrict gamma,
                       const float *__restrict beta, const float *__restrict scale, const float *__restrict meanB,
                       const float *__restrict meanG, float *__restrict dx) {
  for (int64_t r = r0; r < r1; ++r) {
    const float *__restrict xr = x + r * c;
    const float *__restrict gr = dy + r * c;
    float *__restrict out = dx + r * c;
    for (int64_t k = 0; k < c; ++k) {
      const float xh = (xr[k] - mean[k]) * inv[k];
      float g = gr[k];
      if constexpr (Relu) g = xh * gamma[k] + beta[k] > 0.0f ? g : 0.0f;
      out[k] = scale[k] * (g - meanB[k] - xh * meanG[k]);
    }
  }
}

PB_CLONES void gradInput(const float *x, const float *dy, int64_t r0, int64_t r1, int64_t c, const float *mean, const float *inv,
                         const float *gamma, const float *beta, bool relu, const float *scale, const float *meanB, const float *meanG,
                         float *dx) {
  if (relu) gradInputT<true>(x, dy, r0, r1, c, mean, inv, gamma, beta, scale, meanB, meanG, dx);
  else gradInputT<false>(x, dy, r0, r1, c, mean, inv, gamma, beta, scale, meanB, meanG, dx);
}

int threadsFor(int64_t rows) { return rows >= 4 * kBlock ? omp_get_max_threads() : 1; }

// Per-channel sums of x (or of (x - center)^2) over all rows, in double, split over threads.
std::vector<double> channelSums(const float *x, int64_t rows, int64_t c, const float *center) {
  std::vector<double> total(static_cast<size_t>(c), 0.0);
  const int nthr = threadsFor(rows);
#pragma omp parallel num_threads(nthr)
  {
    const int t = omp_get_thread_num(), n = omp_get_num_threads();
    const int64_t per = ((rows + n - 1) / n + kBlock - 1) / kBlock * kBlock;
    const int64_t r0 = std::min(rows, t * per), r1 = std::min(rows, r0 + per);
    std::vector<float> part(static_cast<size_t>(c));
    std::vector<double> mine(static_cast<size_t>(c), 0.0);
    sumRows(x, r0, r1, c, center, part.data(), mine.data());
#pragma omp critical
    for (int64_t k = 0; k < c; ++k) total[k] += mine[k];
  }
  return total;
}

struct Args {
  Heap heap;
  int64_t rows, c;
};

Args shapeArgs(const CallArgs &a, const char *fn) {
  Args s{a.heap(0), a.i64(1, "rows"), a.i64(2, "channels")};
  if (s.rows < 1 || s.c < 1) throw ArgError(std::string(fn) + ": rows and channels must be positive", true);
  return s;
}

// batchNormTrainForward(heap, rows, channels, x, gamma, beta, eps, relu, y, mean, variance):
// y from the batch statistics, which are also written out (variance biased: divided by rows).
napi_value BatchNormTrainForward(napi_env env, napi_callback_info info) {
  return guard(env, "batchNormTrainForward", [&]() -> napi_value {
    CallArgs a(env, info, 11, "batchNormTrainForward");
    const Args s = shapeArgs(a, "batchNormTrainForward");
    const size_t n = static_cast<size_t>(s.rows * s.c), c = static_cast<size_t>(s.c);
    const float *x = s.heap.f32(a.i64(3, "x offset"), n, "x");
    const float *gamma = s.heap.f32(a.i64(4, "gamma offset"), c, "gamma");
    const float *beta = s.heap.f32(a.i64(5, "beta offset"), c, "beta");
    const float eps = static_cast<float>(a.f64(6, "eps"));
    const bool relu = a.flag(7, "relu");
    float *y = s.heap.f32(a.i64(8, "y offset"), n, "y");
    float *mean = s.heap.f32(a.i64(9, "mean offset"), c, "mean");
    float *var = s.heap.f32(a.i64(10, "variance offset"), c, "variance");
    const std::vector<double> sum = channelSums(x, s.rows, s.c, nullptr);
    for (size_t k = 0; k < c; ++k) mean[k] = static_cast<float>(sum[k] / static_cast<double>(s.rows));
    const std::vector<double> sq = channelSums(x, s.rows, s.c, mean);
    std::vector<float> inv(c);
    for (size_t k = 0; k < c; ++k) {
      var[k] = static_cast<float>(sq[k] / static_cast<double>(s.rows));
      inv[k] = 1.0f / std::sqrt(var[k] + eps);
    }
    const int nthr = threadsFor(s.rows);
#pragma omp parallel for num_threads(nthr) schedule(static)
    for (int64_t b = 0; b < s.rows; b += kBlock) {
      normalizeRows(x, b, std::min(s.rows, b + kBlock), s.c, mean, inv.data(), gamma, beta, relu, y);
    }
    return nullptr;
  });
}

// batchNormTrainBackward(heap, rows, channels, x, gamma, beta, mean, variance, eps, relu, dy, dx, dgamma, dbeta)
napi_value BatchNormTrainBackward(napi_env env, napi_callback_info info) {
  return guard(env, "batchNormTrainBackward", [&]() -> napi_value {
    CallArgs a(env, info, 14, "batchNormTrainBackward");
    const Args s = shapeArgs(a, "batchNormTrainBackward");
    const size_t n = static_cast<size_t>(s.rows * s.c), c = static_cast<size_t>(s.c);
    const float *x = s.heap.f32(a.i64(3, "x offset"), n, "x");
    const float *gamma = s.heap.f32(a.i64(4, "gamma offset"), c, "gamma");
    const float *beta = s.heap.f32(a.i64(5, "beta offset"), c, "beta");
    const float *mean = s.heap.f32(a.i64(6, "mean offset"), c, "mean");
    const float *var = s.heap.f32(a.i64(7, "variance offset"), c, "variance");
    const float eps = static_cast<float>(a.f64(8, "eps"));
    const bool relu = a.flag(9, "relu");
    const float *dy = s.heap.f32(a.i64(10, "dy offset"), n, "dy");
    float *dx = s.heap.f32(a.i64(11, "dx offset"), n, "dx");
    float *dgamma = s.heap.f32(a.i64(12, "dgamma offset"), c, "dgamma");
    float *dbeta = s.heap.f32(a.i64(13, "dbeta offset"), c, "dbeta");
    std::vector<float> inv(c);
    for (size_t k = 0; k < c; ++k) inv[k] = 1.0f / std::sqrt(var[k] + eps);
    std::vector<double> sumB(c, 0.0), sumG(c, 0.0);
    const int nthr = threadsFor(s.rows);
#pragma omp parallel num_threads(nthr)
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      const int64_t per = ((s.rows + nt - 1) / nt + kBlock - 1) / kBlock * kBlock;
      const int64_t r0 = std::min(s.rows, t * per), r1 = std::min(s.rows, r0 + per);
      std::vector<float> partB(c), partG(c);
      std::vector<double> mineB(c, 0.0), mineG(c, 0.0);
      gradSums(x, dy, r0, r1, s.c, mean, inv.data(), gamma, beta, relu, partB.data(), partG.data(), mineB.data(), mineG.data());
#pragma omp critical
      for (size_t k = 0; k < c; ++k) {
        sumB[k] += mineB[k];
        sumG[k] += mineG[k];
      }
    }
    std::vector<float> scale(c), meanB(c), meanG(c);
    for (size_t k = 0; k < c; ++k) {
      dbeta[k] = static_cast<float>(sumB[k]);
      dgamma[k] = static_cast<float>(sumG[k]);
      scale[k] = gamma[k] * inv[k];
      meanB[k] = static_cast<float>(sumB[k] / static_cast<double>(s.rows));
      meanG[k] = static_cast<float>(sumG[k] / static_cast<double>(s.rows));
    }
#pragma omp parallel for num_threads(nthr) schedule(static)
    for (int64_t b = 0; b < s.rows; b += kBlock) {
      gradInput(x, dy, b, std::min(s.rows, b + kBlock), s.c, mean, inv.data(), gamma, beta, relu, scale.data(), meanB.data(),
                meanG.data(), dx);
    }
    return nullptr;
  });
}

template <bool Relu>
inline void affineRowsT(const float *__restrict x, int64_t rows, int64_t c, const float *__restrict sc, const float *__restrict sh,
                        float *__restrict y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *__restrict xr = x + r * c;
    float *__restrict yr = y + r * c;
    for (int64_t k = 0; k < c; ++k) {
      const float v = xr[k] * sc[k] + sh[k];
      if constexpr (Relu) yr[k] = v > 0.0f ? v : 0.0f;
      else yr[k] = v;
    }
  }
}

PB_CLONES void affineRows(const float *x, int64_t rows, int64_t c, const float *sc, const float *sh, bool relu, float *y) {
  if (relu) affineRowsT<true>(x, rows, c, sc, sh, y);
  else affineRowsT<false>(x, rows, c, sc, sh, y);
}

// batchNormInference(heap, rows, channels, x, gamma, beta, mean, variance, eps, relu, y):
// y = x * gamma / sqrt(variance + eps) + (beta - mean * gamma / sqrt(variance + eps)), then ReLU.
napi_value BatchNormInference(napi_env env, napi_callback_info info) {
  return guard(env, "batchNormInference", [&]() -> napi_value {
    CallArgs a(env, info, 11, "batchNormInference");
    const Args s = shapeArgs(a, "batchNormInference");
    const size_t n = static_cast<size_t>(s.rows * s.c), c = static_cast<size_t>(s.c);
    const float *x = s.heap.f32(a.i64(3, "x offset"), n, "x");
    const float *gamma = s.heap.f32(a.i64(4, "gamma offset"), c, "gamma");
    const float *beta = s.heap.f32(a.i64(5, "beta offset"), c, "beta");
    const float *mean = s.heap.f32(a.i64(6, "mean offset"), c, "mean");
    const float *var = s.heap.f32(a.i64(7, "variance offset"), c, "variance");
    const float eps = static_cast<float>(a.f64(8, "eps"));
    const bool relu = a.flag(9, "relu");
    float *y = s.heap.f32(a.i64(10, "y offset"), n, "y");
    std::vector<float> scale(c), shift(c);
    for (size_t k = 0; k < c; ++k) {
      scale[k] = gamma[k] * (1.0f / std::sqrt(var[k] + eps));
      shift[k] = beta[k] - mean[k] * scale[k];
    }
    affineRows(x, s.rows, s.c, scale.data(), shift.data(), relu, y);
    return nullptr;
  });
}

}  // namespace

void defineBatchNorm(napi_env env, napi_value exports) {
  defineFunction(env, exports, "batchNormTrainForward", BatchNormTrainForward);
  defineFunction(env, exports, "batchNormTrainBackward", BatchNormTrainBackward);
  defineFunction(env, exports, "batchNormInference", BatchNormInference);
}

}  // namespace pb
