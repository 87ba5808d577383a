// prunebench's oneDNN addon: entry point, version/ISA information and the thread setting.
// Every tensor argument is a byte offset into the caller's heap (the tfjs wasm memory, passed as
// its HEAPU8 view on every call), so kernels read and write TensorFlow.js tensors in place.
#include <omp.h>

#include "common.h"

namespace pb {
namespace {

const char *isaName(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

napi_value Info(napi_env env, napi_callback_info info) {
  return guard(env, "info", [&]() -> napi_value {
    const dnnl_version_t *v = dnnl_version();
    napi_value obj, s;
    napi_create_object(env, &obj);
    const std::string version = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
    napi_create_string_utf8(env, version.c_str(), version.size(), &s);
    napi_set_named_property(env, obj, "version", s);
    const char *isa = isaName(dnnl_get_effective_cpu_isa());
    napi_create_string_utf8(env, isa, NAPI_AUTO_LENGTH, &s);
    napi_set_named_property(env, obj, "isa", s);
    const char *runtime = v->cpu_runtime == DNNL_RUNTIME_OMP ? "openmp" : v->cpu_runtime == DNNL_RUNTIME_TBB ? "tbb"
                          : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential" : "other";
    napi_create_string_utf8(env, runtime, NAPI_AUTO_LENGTH, &s);
    napi_set_named_property(env, obj, "cpuRuntime", s);
    napi_set_named_property(env, obj, "threads", makeInt(env, currentThreads()));
    return obj;
  });
}

// setThreads(n): OpenMP threads for primitives created from now on (callers key plans by it).
napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guard(env, "setThreads", [&]() -> napi_value {
    CallArgs a(env, info, 1, "setThreads");
    const int64_t n = a.i64(0, "threads");
    if (n < 1 || n > 1024) throw ArgError("setThreads: threads must be in 1..1024", true);
    omp_set_num_threads(static_cast<int>(n));
    return nullptr;
  });
}

napi_value Init(napi_env env, napi_value exports) {
  return guard(env, "init", [&]() -> napi_value {
    engine();
    stream();
    // One thread unless the caller asks for more: 2-thread OpenMP under a loaded machine was
    // measured 10x slower than 1 thread; parallelism comes from running cells in processes.
    omp_set_num_threads(1);
    defineFunction(env, exports, "info", Info);
    defineFunction(env, exports, "setThreads", SetThreads);
    defineConv(env, exports);
    defineBatchNorm(env, exports);
    definePool(env, exports);
    defineCopy(env, exports);
    defineSgd(env, exports);
    return exports;
  });
}

}  // namespace
}  // namespace pb

NAPI_MODULE(NODE_GYP_MODULE_NAME, pb::Init)
