// Shared plumbing of the prunebench oneDNN addon: argument decoding with bounds checks, the one
// oneDNN engine and stream, the shared scratchpad, and the N-API call wrapper that turns C++
// exceptions into JavaScript errors (a bad offset must be a JS error, never a crash).
#pragma once
#include <node_api.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pb {

// An argument error: thrown while decoding, reported to JS as a RangeError or TypeError.
struct ArgError : std::runtime_error {
  bool range;
  ArgError(const std::string &m, bool isRange) : std::runtime_error(m), range(isRange) {}
};

// The bytes of the caller's heap (the tfjs wasm memory), resolved on every call: wasm memory
// growth replaces the ArrayBuffer, so no pointer into it may outlive one call.
struct Heap {
  char *base = nullptr;
  size_t length = 0;
  // A float/int pointer at byte offset `offset` for `count` 4-byte elements, bounds-checked.
  void *at(int64_t offset, size_t count, const char *what) const;
  float *f32(int64_t offset, size_t count, const char *what) const {
    return static_cast<float *>(at(offset, count, what));
  }
};

class CallArgs {
 public:
  CallArgs(napi_env env, napi_callback_info info, size_t expected, const char *fn);
  size_t size() const { return values_.size(); }
  int64_t i64(size_t i, const char *what) const;
  double f64(size_t i, const char *what) const;
  bool flag(size_t i, const char *what) const;
  Heap heap(size_t i) const;
  // An Int32Array of exactly n parameters.
  const int32_t *ints(size_t i, size_t n, const char *what) const;
  // The length of an Int32Array argument.
  size_t intsLength(size_t i, const char *what) const;
  // A Float64Array of exactly n values (heap offsets, which may exceed int32).
  const double *doubles(size_t i, size_t n, const char *what) const;
  napi_env env() const { return env_; }

 private:
  napi_env env_;
  std::vector<napi_value> values_;
  const char *fn_;
};

dnnl::engine &engine();
dnnl::stream &stream();

// One scratchpad shared by every primitive (calls are sequential on one stream), grown on demand.
dnnl::memory scratchpadFor(const dnnl::primitive_desc_base &pd);

// Current OpenMP thread count used for new primitives (setThreads).
int currentThreads();

// Runs `body` and converts exceptions to a thrown JS error; returns `undefined` or body's value.
napi_value guard(napi_env env, const char *fn, const std::function<napi_value()> &body);

napi_value makeInt(napi_env env, int64_t v);
napi_value undefinedValue(napi_env env);

// Registration helpers, one per kernel family (defined in conv.cc, bnorm.cc, pool.cc).
void defineConv(napi_env env, napi_value exports);
void defineBatchNorm(napi_env env, napi_value exports);
void definePool(napi_env env, napi_value exports);
void defineCopy(napi_env env, napi_value exports);
void defineSgd(napi_env env, napi_value exports);
void defineFunction(napi_env env, napi_value exports, const char *name, napi_callback cb);

}  // namespace pb
