// Error reporting (thread-local last error), versions, and the context handle.
#include "internal.h"

#include <new>

namespace {
thread_local std::string g_last_error;
}

namespace vg {

vg_status fail(vg_status status, const std::string& message) {
    g_last_error = message;
    return status;
}

void clear_error() { g_last_error.clear(); }

vg_status cuda_check(cudaError_t result, const char* where) {
    if (result == cudaSuccess) return VG_OK;
    return fail(result == cudaErrorMemoryAllocation ? VG_ERROR_CUDA : VG_ERROR_CUDA,
                std::string(where) + ": " + cudaGetErrorName(result) + ": " + cudaGetErrorString(result));
}

vg_status launch_check(const char* kernel) {
    return cuda_check(cudaGetLastError(), (std::string("launch of ") + kernel).c_str());
}

vg_status cublas_check(cublasStatus_t result, const char* where) {
    if (result == CUBLAS_STATUS_SUCCESS) return VG_OK;
    vg_status s = result == CUBLAS_STATUS_NOT_SUPPORTED ? VG_ERROR_NOT_SUPPORTED : VG_ERROR_CUBLAS;
    return fail(s, std::string(where) + ": cuBLASLt status " + std::to_string(static_cast<int>(result)));
}

vg_status cudnn_check(cudnnStatus_t result, const char* where) {
    if (result == CUDNN_STATUS_SUCCESS) return VG_OK;
    return fail(VG_ERROR_CUDNN, std::string(where) + ": " + cudnnGetErrorString(result));
}

const char* dtype_name(vg_dtype t) {
    switch (t) {
        case VG_DTYPE_FP32: return "fp32";
        case VG_DTYPE_BF16: return "bf16";
        case VG_DTYPE_FP16: return "fp16";
        case VG_DTYPE_FP8_E4M3: return "fp8_e4m3";
        case VG_DTYPE_FP8_E5M2: return "fp8_e5m2";
        case VG_DTYPE_INT64: return "int64";
    }
    return "unknown dtype";
}

}  // namespace vg

extern "C" {

VG_API const char* vg_last_error(void) { return g_last_error.c_str(); }

VG_API vg_status vg_get_versions(vg_versions* out) {
    VG_GUARD_BEGIN
    vg::clear_error();
    if (!out) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_get_versions: out is NULL");
    int rt = 0, drv = 0;
    VG_TRY(vg::cuda_check(cudaRuntimeGetVersion(&rt), "vg_get_versions: cudaRuntimeGetVersion"));
    VG_TRY(vg::cuda_check(cudaDriverGetVersion(&drv), "vg_get_versions: cudaDriverGetVersion"));
    out->abi = VG_ABI_VERSION;
    out->cuda_runtime = rt;
    out->cuda_driver = drv;
    out->cublaslt = static_cast<int64_t>(cublasLtGetVersion());
    out->cudnn = static_cast<int64_t>(cudnnGetVersion());
    return VG_OK;
    VG_GUARD_END("vg_get_versions")
}

VG_API vg_status vg_context_create(int32_t device, vg_context* out) {
    VG_GUARD_BEGIN
    vg::clear_error();
    if (!out) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_context_create: out is NULL");
    *out = nullptr;
    int count = 0;
    VG_TRY(vg::cuda_check(cudaGetDeviceCount(&count), "vg_context_create: cudaGetDeviceCount"));
    if (device < 0 || device >= count)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_context_create: device " + std::to_string(device) +
                                                       " is out of range (" + std::to_string(count) + " devices)");
    VG_TRY(vg::cuda_check(cudaSetDevice(device), "vg_context_create: cudaSetDevice"));
    auto* ctx = new vg_context_t();
    ctx->device = device;
    vg_status s = vg::cuda_check(cudaDeviceGetAttribute(&ctx->sm_count, cudaDevAttrMultiProcessorCount, device),
                                 "vg_context_create: cudaDeviceGetAttribute");
    if (s == VG_OK) s = vg::cublas_check(cublasLtCreate(&ctx->lt), "vg_context_create: cublasLtCreate");
    if (s == VG_OK) s = vg::cudnn_check(cudnnCreate(&ctx->cudnn), "vg_context_create: cudnnCreate");
    if (s != VG_OK) {
        if (ctx->lt) cublasLtDestroy(ctx->lt);
        delete ctx;
        return s;
    }
    *out = ctx;
    return VG_OK;
    VG_GUARD_END("vg_context_create")
}

VG_API vg_status vg_context_destroy(vg_context ctx) {
    VG_GUARD_BEGIN
    vg::clear_error();
    if (!ctx) return VG_OK;
    vg_status s = VG_OK;
    if (ctx->cudnn) s = vg::cudnn_check(cudnnDestroy(ctx->cudnn), "vg_context_destroy: cudnnDestroy");
    if (ctx->lt) {
        vg_status s2 = vg::cublas_check(cublasLtDestroy(ctx->lt), "vg_context_destroy: cublasLtDestroy");
        if (s == VG_OK) s = s2;
    }
    delete ctx;
    return s;
    VG_GUARD_END("vg_context_destroy")
}

}  // extern "C"
