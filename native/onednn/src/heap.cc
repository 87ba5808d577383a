#include <omp.h>

#include <cstdlib>
#include <cstring>

#include "common.h"

namespace pb {

void *Heap::at(int64_t offset, size_t count, const char *what) const {
  if (offset < 0) throw ArgError(std::string("negative byte offset for ") + what, true);
  if (offset % 4 != 0) throw ArgError(std::string("misaligned byte offset for ") + what, true);
  const size_t bytes = count * 4;
  if (base == nullptr || static_cast<size_t>(offset) > length || bytes > length - static_cast<size_t>(offset)) {
    throw ArgError(std::string("out of bounds: ") + what + " needs " + std::to_string(bytes) + " bytes at offset " +
                       std::to_string(offset) + " of a heap of " + std::to_string(length) + " bytes",
                   true);
  }
  return base + offset;
}

CallArgs::CallArgs(napi_env env, napi_callback_info info, size_t expected, const char *fn) : env_(env), fn_(fn) {
  size_t argc = expected;
  values_.resize(expected);
  if (napi_get_cb_info(env, info, &argc, values_.data(), nullptr, nullptr) != napi_ok) {
    throw ArgError(std::string(fn) + ": cannot read arguments", false);
  }
  if (argc < expected) {
    throw ArgError(std::string(fn) + ": expected " + std::to_string(expected) + " arguments, got " + std::to_string(argc),
                   false);
  }
}

int64_t CallArgs::i64(size_t i, const char *what) const {
  int64_t v = 0;
  napi_valuetype t;
  if (napi_typeof(env_, values_[i], &t) != napi_ok || t != napi_number || napi_get_value_int64(env_, values_[i], &v) != napi_ok) {
    throw ArgError(std::string(fn_) + ": " + what + " must be a number", false);
  }
  return v;
}

double CallArgs::f64(size_t i, const char *what) const {
  double v = 0;
  napi_valuetype t;
  if (napi_typeof(env_, values_[i], &t) != napi_ok || t != napi_number || napi_get_value_double(env_, values_[i], &v) != napi_ok) {
    throw ArgError(std::string(fn_) + ": " + what + " must be a number", false);
  }
  return v;
}

bool CallArgs::flag(size_t i, const char *what) const {
  bool v = false;
  if (napi_get_value_bool(env_, values_[i], &v) != napi_ok) {
    throw ArgError(std::string(fn_) + ": " + what + " must be a boolean", false);
  }
  return v;
}

Heap CallArgs::heap(size_t i) const {
  Heap h;
  bool isTyped = false;
  napi_is_typedarray(env_, values_[i], &isTyped);
  if (isTyped) {
    napi_typedarray_type type;
    size_t len = 0, off = 0;
    void *data = nullptr;
    napi_value ab;
    if (napi_get_typedarray_info(env_, values_[i], &type, &len, &data, &ab, &off) != napi_ok ||
        (type != napi_uint8_array && type != napi_int8_array)) {
      throw ArgError(std::string(fn_) + ": heap must be a Uint8Array (the wasm HEAPU8) or an ArrayBuffer", false);
    }
    h.base = static_cast<char *>(data);
    h.length = len;
  } else {
    bool isAb = false;
    napi_is_arraybuffer(env_, values_[i], &isAb);
    void *data = nullptr;
    size_t len = 0;
    if (!isAb || napi_get_arraybuffer_info(env_, values_[i], &data, &len) != napi_ok) {
      throw ArgError(std::string(fn_) + ": heap must be a Uint8Array (the wasm HEAPU8) or an ArrayBuffer", false);
    }
    h.base = static_cast<char *>(data);
    h.length = len;
  }
  // A detached buffer (after wasm memory growth) has length 0: every access then fails the bounds check.
  return h;
}

const int32_t *CallArgs::ints(size_t i, size_t n, const char *what) const {
  bool isTyped = false;
  napi_is_typedarray(env_, values_[i], &isTyped);
  napi_typedarray_type type;
  size_t len = 0, off = 0;
  void *data = nullptr;
  napi_value ab;
  if (!isTyped || napi_get_typedarray_info(env_, values_[i], &type, &len, &data, &ab, &off) != napi_ok ||
      type != napi_int32_array || len != n) {
    throw ArgError(std::string(fn_) + ": " + what + " must be an Int32Array of " + std::to_string(n) + " values", false);
  }
  return static_cast<const int32_t *>(data);
}

size_t CallArgs::intsLength(size_t i, const char *what) const {
  bool isTyped = false;
  napi_is_typedarray(env_, values_[i], &isTyped);
  napi_typedarray_type type;
  size_t len = 0, off = 0;
  void *data = nullptr;
  napi_value ab;
  if (!isTyped || napi_get_typedarray_info(env_, values_[i], &type, &len, &data, &ab, &off) != napi_ok || type != napi_int32_array) {
    throw ArgError(std::string(fn_) + ": " + what + " must be an Int32Array", false);
  }
  return len;
}

const double *CallArgs::doubles(size_t i, size_t n, const char *what) const {
  bool isTyped = false;
  napi_is_typedarray(env_, values_[i], &isTyped);
  napi_typedarray_type type;
  size_t len = 0, off = 0;
  void *data = nullptr;
  napi_value ab;
  if (!isTyped || napi_get_typedarray_info(env_, values_[i], &type, &len, &data, &ab, &off) != napi_ok ||
      type != napi_float64_array || len != n) {
    throw ArgError(std::string(fn_) + ": " + what + " must be a Float64Array of " + std::to_string(n) + " values", false);
  }
  return static_cast<const double *>(data);
}

dnnl::engine &engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream &stream() {
  static dnnl::stream s(engine());
  return s;
}

namespace {
void *g_scratch = nullptr;
size_t g_scratchBytes = 0;
}  // namespace

dnnl::memory scratchpadFor(const dnnl::primitive_desc_base &pd) {
  const dnnl::memory::desc md = pd.scratchpad_desc();
  const size_t need = md.get_size();
  if (need > g_scratchBytes) {
    std::free(g_scratch);
    const size_t bytes = ((need + 63) / 64) * 64;
    g_scratch = std::aligned_alloc(64, bytes);
    if (g_scratch == nullptr) {
      g_scratchBytes = 0;
      throw std::runtime_error("cannot allocate a " + std::to_string(bytes) + "-byte oneDNN scratchpad");
    }
    g_scratchBytes = bytes;
  }
  return dnnl::memory(md, engine(), need > 0 ? g_scratch : nullptr);
}

int currentThreads() { return omp_get_max_threads(); }

napi_value makeInt(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

napi_value undefinedValue(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

napi_value guard(napi_env env, const char *fn, const std::function<napi_value()> &body) {
  try {
    napi_value r = body();
    return r != nullptr ? r : undefinedValue(env);
  } catch (const ArgError &e) {
    if (e.range) napi_throw_range_error(env, "ERR_PRUNEBENCH_ONEDNN_ARG", (std::string(fn) + ": " + e.what()).c_str());
    else napi_throw_type_error(env, "ERR_PRUNEBENCH_ONEDNN_ARG", e.what());
  } catch (const dnnl::error &e) {
    napi_throw_error(env, "ERR_PRUNEBENCH_ONEDNN", (std::string(fn) + ": oneDNN: " + e.what()).c_str());
  } catch (const std::exception &e) {
    napi_throw_error(env, "ERR_PRUNEBENCH_ONEDNN", (std::string(fn) + ": " + e.what()).c_str());
  }
  return nullptr;
}

void defineFunction(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn);
  napi_set_named_property(env, exports, name, fn);
}

}  // namespace pb
