// Data movement that tfjs's wasm backend does slowly (row-by-row copies in JavaScript): channel
// concatenation (DenseNet's dense blocks), its gradient (a split on the channel axis) and slices.
#include <cstring>
#include <vector>

#include "common.h"

namespace pb {
namespace {

constexpr int kMaxRank = 8;

// concatChannels(heap, rows, sizes Int32Array[n], inputs Float64Array[n] of offsets, out):
// out[r, :] = [in_0[r, :], in_1[r, :], ...], each input rows x sizes[i] floats.
napi_value ConcatChannels(napi_env env, napi_callback_info info) {
  return guard(env, "concatChannels", [&]() -> napi_value {
    CallArgs a(env, info, 5, "concatChannels");
    Heap heap = a.heap(0);
    const int64_t rows = a.i64(1, "rows");
    const size_t n = a.intsLength(2, "sizes");
    const int32_t *sizes = a.ints(2, n, "sizes");
    const double *offsets = a.doubles(3, n, "input offsets");
    if (rows < 1 || n < 1) throw ArgError("concatChannels: rows and inputs must be positive", true);
    int64_t total = 0;
    std::vector<const float *> in(n);
    for (size_t i = 0; i < n; ++i) {
      if (sizes[i] < 1) throw ArgError("concatChannels: sizes must be positive", true);
      in[i] = heap.f32(static_cast<int64_t>(offsets[i]), static_cast<size_t>(rows * sizes[i]), "input");
      total += sizes[i];
    }
    float *out = heap.f32(a.i64(4, "out offset"), static_cast<size_t>(rows * total), "out");
    for (int64_t r = 0; r < rows; ++r) {
      float *o = out + r * total;
      for (size_t i = 0; i < n; ++i) {
        std::memcpy(o, in[i] + r * sizes[i], sizeof(float) * static_cast<size_t>(sizes[i]));
        o += sizes[i];
      }
    }
    return nullptr;
  });
}

// splitChannels(heap, rows, sizes Int32Array[n], input, outputs Float64Array[n] of offsets)
napi_value SplitChannels(napi_env env, napi_callback_info info) {
  return guard(env, "splitChannels", [&]() -> napi_value {
    CallArgs a(env, info, 5, "splitChannels");
    Heap heap = a.heap(0);
    const int64_t rows = a.i64(1, "rows");
    const size_t n = a.intsLength(2, "sizes");
    const int32_t *sizes = a.ints(2, n, "sizes");
    const double *offsets = a.doubles(4, n, "output offsets");
    if (rows < 1 || n < 1) throw ArgError("splitChannels: rows and outputs must be positive", true);
    int64_t total = 0;
    std::vector<float *> out(n);
    for (size_t i = 0; i < n; ++i) {
      if (sizes[i] < 1) throw ArgError("splitChannels: sizes must be positive", true);
      out[i] = heap.f32(static_cast<int64_t>(offsets[i]), static_cast<size_t>(rows * sizes[i]), "output");
      total += sizes[i];
    }
    const float *in = heap.f32(a.i64(3, "input offset"), static_cast<size_t>(rows * total), "input");
    for (int64_t r = 0; r < rows; ++r) {
      const float *src = in + r * total;
      for (size_t i = 0; i < n; ++i) {
        std::memcpy(out[i] + r * sizes[i], src, sizeof(float) * static_cast<size_t>(sizes[i]));
        src += sizes[i];
      }
    }
    return nullptr;
  });
}

// slice(heap, shape Int32Array[rank], begin Int32Array[rank], size Int32Array[rank], input, output):
// a 4-byte-element slice of a row-major tensor, copied as contiguous innermost runs.
napi_value Slice(napi_env env, napi_callback_info info) {
  return guard(env, "slice", [&]() -> napi_value {
    CallArgs a(env, info, 6, "slice");
    Heap heap = a.heap(0);
    const size_t rank = a.intsLength(1, "shape");
    if (rank < 1 || rank > kMaxRank) throw ArgError("slice: rank must be 1.." + std::to_string(kMaxRank), true);
    const int32_t *shape = a.ints(1, rank, "shape");
    const int32_t *begin = a.ints(2, rank, "begin");
    const int32_t *size = a.ints(3, rank, "size");
    size_t inCount = 1, outCount = 1;
    for (size_t d = 0; d < rank; ++d) {
      if (shape[d] < 1 || size[d] < 1 || begin[d] < 0 || begin[d] + size[d] > shape[d]) {
        throw ArgError("slice: begin/size out of range on axis " + std::to_string(d), true);
      }
      inCount *= static_cast<size_t>(shape[d]);
      outCount *= static_cast<size_t>(size[d]);
    }
    const float *in = heap.f32(a.i64(4, "input offset"), inCount, "input");
    float *out = heap.f32(a.i64(5, "output offset"), outCount, "output");
    int64_t stride[kMaxRank];
    stride[rank - 1] = 1;
    for (size_t d = rank - 1; d > 0; --d) stride[d - 1] = stride[d] * shape[d];
    const size_t run = static_cast<size_t>(size[rank - 1]);
    const size_t runs = outCount / run;
    int64_t idx[kMaxRank] = {0};
    for (size_t k = 0; k < runs; ++k) {
      int64_t src = begin[rank - 1];
      for (size_t d = 0; d + 1 < rank; ++d) src += (begin[d] + idx[d]) * stride[d];
      std::memcpy(out + k * run, in + src, run * sizeof(float));
      for (size_t d = rank - 1; d-- > 0;) {  // odometer over the outer axes
        if (++idx[d] < size[d]) break;
        idx[d] = 0;
      }
    }
    return nullptr;
  });
}

}  // namespace

void defineCopy(napi_env env, napi_value exports) {
  defineFunction(env, exports, "concatChannels", ConcatChannels);
  defineFunction(env, exports, "splitChannels", SplitChannels);
  defineFunction(env, exports, "slice", Slice);
}

}  // namespace pb
