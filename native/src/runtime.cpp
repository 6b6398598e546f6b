// Runtime glue for the C# engine: device memory, streams, CUDA graphs, events, device properties.
#include <algorithm>
#include <cstring>

#include "internal.h"

VG_API vg_status vg_malloc(size_t bytes, void** out) {
    vg::clear_error();
    if (!out) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_malloc: out is NULL");
    *out = nullptr;
    if (bytes == 0) return VG_OK;
    cudaError_t e = cudaMalloc(out, bytes);
    if (e != cudaSuccess) {
        *out = nullptr;
        cudaGetLastError();
        return vg::fail(VG_ERROR_CUDA, "vg_malloc: cudaMalloc of " + std::to_string(bytes) + " bytes: " +
                                           cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
    }
    return VG_OK;
}

VG_API vg_status vg_free(void* ptr) {
    vg::clear_error();
    if (!ptr) return VG_OK;
    return vg::cuda_check(cudaFree(ptr), "vg_free: cudaFree");
}

VG_API vg_status vg_memcpy_async(void* dst, const void* src, size_t bytes, vg_copy_kind kind, void* stream) {
    vg::clear_error();
    if (bytes == 0) return VG_OK;
    if (!dst || !src) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_memcpy_async: dst and src must not be NULL");
    cudaMemcpyKind k;
    switch (kind) {
        case VG_COPY_HOST_TO_DEVICE: k = cudaMemcpyHostToDevice; break;
        case VG_COPY_DEVICE_TO_HOST: k = cudaMemcpyDeviceToHost; break;
        case VG_COPY_DEVICE_TO_DEVICE: k = cudaMemcpyDeviceToDevice; break;
        default: return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_memcpy_async: kind is not a vg_copy_kind");
    }
    return vg::cuda_check(cudaMemcpyAsync(dst, src, bytes, k, static_cast<cudaStream_t>(stream)),
                          "vg_memcpy_async: cudaMemcpyAsync");
}

VG_API vg_status vg_memset_async(void* dst, int32_t byte_value, size_t bytes, void* stream) {
    vg::clear_error();
    if (bytes == 0) return VG_OK;
    if (!dst) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_memset_async: dst is NULL");
    return vg::cuda_check(cudaMemsetAsync(dst, byte_value, bytes, static_cast<cudaStream_t>(stream)),
                          "vg_memset_async: cudaMemsetAsync");
}

VG_API vg_status vg_stream_create(void** out) {
    vg::clear_error();
    if (!out) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_stream_create: out is NULL");
    cudaStream_t s = nullptr;
    VG_TRY(vg::cuda_check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "vg_stream_create"));
    *out = s;
    return VG_OK;
}

VG_API vg_status vg_stream_destroy(void* stream) {
    vg::clear_error();
    if (!stream) return VG_OK;
    return vg::cuda_check(cudaStreamDestroy(static_cast<cudaStream_t>(stream)), "vg_stream_destroy");
}

VG_API vg_status vg_stream_synchronize(void* stream) {
    vg::clear_error();
    return vg::cuda_check(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "vg_stream_synchronize");
}

struct vg_graph_t {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
};

VG_API vg_status vg_graph_capture_begin(void* stream) {
    vg::clear_error();
    if (!stream) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_graph_capture_begin: the legacy stream (NULL) cannot be captured");
    return vg::cuda_check(cudaStreamBeginCapture(static_cast<cudaStream_t>(stream), cudaStreamCaptureModeThreadLocal),
                          "vg_graph_capture_begin: cudaStreamBeginCapture");
}

VG_API vg_status vg_graph_capture_end(void* stream, vg_graph* out) {
    vg::clear_error();
    if (!out) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_graph_capture_end: out is NULL");
    *out = nullptr;
    cudaGraph_t g = nullptr;
    VG_TRY(vg::cuda_check(cudaStreamEndCapture(static_cast<cudaStream_t>(stream), &g), "vg_graph_capture_end: cudaStreamEndCapture"));
    cudaGraphExec_t exec = nullptr;
    cudaError_t e = cudaGraphInstantiate(&exec, g, 0);
    if (e != cudaSuccess) {
        cudaGraphDestroy(g);
        return vg::cuda_check(e, "vg_graph_capture_end: cudaGraphInstantiate");
    }
    auto* h = new vg_graph_t;
    h->graph = g;
    h->exec = exec;
    *out = h;
    return VG_OK;
}

VG_API vg_status vg_graph_launch(vg_graph graph, void* stream) {
    vg::clear_error();
    if (!graph) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_graph_launch: graph is NULL");
    return vg::cuda_check(cudaGraphLaunch(graph->exec, static_cast<cudaStream_t>(stream)), "vg_graph_launch");
}

VG_API vg_status vg_graph_destroy(vg_graph graph) {
    vg::clear_error();
    if (!graph) return VG_OK;
    if (graph->exec) cudaGraphExecDestroy(graph->exec);
    if (graph->graph) cudaGraphDestroy(graph->graph);
    delete graph;
    return VG_OK;
}

VG_API vg_status vg_event_create(void** out) {
    vg::clear_error();
    if (!out) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_event_create: out is NULL");
    cudaEvent_t e = nullptr;
    VG_TRY(vg::cuda_check(cudaEventCreate(&e), "vg_event_create"));
    *out = e;
    return VG_OK;
}

VG_API vg_status vg_event_destroy(void* event) {
    vg::clear_error();
    if (!event) return VG_OK;
    return vg::cuda_check(cudaEventDestroy(static_cast<cudaEvent_t>(event)), "vg_event_destroy");
}

VG_API vg_status vg_event_record(void* event, void* stream) {
    vg::clear_error();
    return vg::cuda_check(cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(stream)), "vg_event_record");
}

VG_API vg_status vg_event_elapsed_ms(void* start, void* end, float* ms) {
    vg::clear_error();
    if (!ms) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_event_elapsed_ms: ms is NULL");
    VG_TRY(vg::cuda_check(cudaEventSynchronize(static_cast<cudaEvent_t>(end)), "vg_event_elapsed_ms: cudaEventSynchronize"));
    return vg::cuda_check(cudaEventElapsedTime(ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(end)),
                          "vg_event_elapsed_ms: cudaEventElapsedTime");
}

VG_API vg_status vg_get_device_info(int32_t device, vg_device_info* out) {
    vg::clear_error();
    if (!out || out->struct_size != sizeof(vg_device_info))
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_get_device_info: out is NULL or its struct_size is not sizeof(vg_device_info)");
    cudaDeviceProp p{};
    VG_TRY(vg::cuda_check(cudaGetDeviceProperties(&p, device), "vg_get_device_info: cudaGetDeviceProperties"));
    out->cc_major = p.major;
    out->cc_minor = p.minor;
    out->sm_count = p.multiProcessorCount;
    out->total_memory = static_cast<int64_t>(p.totalGlobalMem);
    std::memset(out->name, 0, sizeof(out->name));
    std::memcpy(out->name, p.name, strnlen(p.name, std::min(sizeof(out->name), sizeof(p.name)) - 1));  // stays NUL-terminated
    return VG_OK;
}

int vg::stride_grid(int64_t items) {
    int dev = 0, sms = 132;
    if (cudaGetDevice(&dev) == cudaSuccess) cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
    const int64_t blocks = (items + 255) / 256, cap = static_cast<int64_t>(sms) * 8;
    return static_cast<int>(blocks < 1 ? 1 : (blocks > cap ? cap : blocks));
}

bool vg::compute_capability(int device, int* major, int* minor) {
    if (cudaDeviceGetAttribute(major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
        cudaDeviceGetAttribute(minor, cudaDevAttrComputeCapabilityMinor, device) == cudaSuccess)
        return true;
    cudaGetLastError();
    return false;
}
