// Convolution through cuDNN's convolution API (cudnnConvolutionForward): NC[D]HW, groups 1, symmetric padding.
// Plans hold the descriptors and the heuristic algorithm; vg_conv_run only enqueues (capture-safe).
#include "internal.h"

#include <string>

struct vg_conv_plan_t {
    vg_context ctx = nullptr;
    vg_conv_desc desc{};
    cudnnTensorDescriptor_t x = nullptr, y = nullptr;
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;
    cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    size_t workspace = 0;
    int64_t out_size[3] = {1, 1, 1};

    ~vg_conv_plan_t() {
        if (conv) cudnnDestroyConvolutionDescriptor(conv);
        if (w) cudnnDestroyFilterDescriptor(w);
        if (y) cudnnDestroyTensorDescriptor(y);
        if (x) cudnnDestroyTensorDescriptor(x);
    }
};

namespace {

cudnnDataType_t data_type(vg_dtype t) { return t == VG_DTYPE_BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT; }

// A contiguous N-d tensor descriptor for dims (cuDNN wants at least 4 dims: 1-d convs get a unit dim).
vg_status tensor_desc(cudnnTensorDescriptor_t* d, cudnnDataType_t t, const int* dims, int n, const char* what) {
    VG_TRY(vg::cudnn_check(cudnnCreateTensorDescriptor(d), what));
    int strides[8];
    strides[n - 1] = 1;
    for (int i = n - 2; i >= 0; --i) strides[i] = strides[i + 1] * dims[i + 1];
    return vg::cudnn_check(cudnnSetTensorNdDescriptor(*d, t, n, dims, strides), what);
}

}  // namespace

VG_API vg_status vg_conv_plan_create(vg_context ctx, const vg_conv_desc* d, vg_conv_plan* out) {
    VG_GUARD_BEGIN
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_conv_plan_create: " + m); };
    if (!ctx || !d || !out) return bad("ctx, desc and out must not be NULL");
    *out = nullptr;
    if (d->struct_size != sizeof(vg_conv_desc)) return bad("desc->struct_size is " + std::to_string(d->struct_size) +
                                                           ", expected " + std::to_string(sizeof(vg_conv_desc)));
    if (d->dtype != VG_DTYPE_FP32 && d->dtype != VG_DTYPE_BF16) return bad("dtype must be FP32 or BF16");
    if (d->spatial_dims < 1 || d->spatial_dims > 3) return bad("spatial_dims must be 1, 2 or 3");
    if (d->batch <= 0 || d->in_channels <= 0 || d->out_channels <= 0) return bad("batch and channels must be positive");
    const int sd = d->spatial_dims < 2 ? 2 : d->spatial_dims;  // cuDNN: 1-d as 2-d with a unit height
    int xd[5], wd[5], pad[3], stride[3], dil[3];
    xd[0] = static_cast<int>(d->batch);
    xd[1] = wd[1] = static_cast<int>(d->in_channels);
    wd[0] = static_cast<int>(d->out_channels);
    for (int i = 0; i < sd; ++i) {
        const int j = i - (sd - d->spatial_dims);  // index into the desc (negative = the added unit dim)
        const int64_t in = j < 0 ? 1 : d->in_size[j], k = j < 0 ? 1 : d->kernel[j];
        const int64_t s = j < 0 ? 1 : d->stride[j], p = j < 0 ? 0 : d->pad[j], di = j < 0 ? 1 : d->dilation[j];
        if (in <= 0 || k <= 0 || s <= 0 || p < 0 || di <= 0) return bad("spatial sizes, kernel, stride and dilation must be positive, padding non-negative");
        if (in > INT32_MAX) return bad("spatial size exceeds cuDNN's int range");
        xd[2 + i] = static_cast<int>(in); wd[2 + i] = static_cast<int>(k);
        pad[i] = static_cast<int>(p); stride[i] = static_cast<int>(s); dil[i] = static_cast<int>(di);
    }
    auto plan = new (std::nothrow) vg_conv_plan_t();
    if (!plan) return vg::fail(VG_ERROR_OUT_OF_MEMORY, "vg_conv_plan_create: host allocation failed");
    plan->ctx = ctx;
    plan->desc = *d;
    const cudnnDataType_t t = data_type(d->dtype);
    vg_status s = tensor_desc(&plan->x, t, xd, sd + 2, "vg_conv_plan_create: x descriptor");
    if (s == VG_OK) s = vg::cudnn_check(cudnnCreateFilterDescriptor(&plan->w), "vg_conv_plan_create: cudnnCreateFilterDescriptor");
    if (s == VG_OK) s = vg::cudnn_check(cudnnSetFilterNdDescriptor(plan->w, t, CUDNN_TENSOR_NCHW, sd + 2, wd), "vg_conv_plan_create: w descriptor");
    if (s == VG_OK) s = vg::cudnn_check(cudnnCreateConvolutionDescriptor(&plan->conv), "vg_conv_plan_create: cudnnCreateConvolutionDescriptor");
    if (s == VG_OK) s = vg::cudnn_check(cudnnSetConvolutionNdDescriptor(plan->conv, sd, pad, stride, dil, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                                        "vg_conv_plan_create: convolution descriptor");
    if (s == VG_OK) s = vg::cudnn_check(cudnnSetConvolutionMathType(plan->conv, d->dtype == VG_DTYPE_FP32 ? CUDNN_DEFAULT_MATH : CUDNN_TENSOR_OP_MATH),
                                        "vg_conv_plan_create: cudnnSetConvolutionMathType");
    int yd[5];
    if (s == VG_OK) s = vg::cudnn_check(cudnnGetConvolutionNdForwardOutputDim(plan->conv, plan->x, plan->w, sd + 2, yd),
                                        "vg_conv_plan_create: output size");
    if (s == VG_OK) {
        for (int i = 0; i < d->spatial_dims; ++i) plan->out_size[i] = yd[2 + (sd - d->spatial_dims) + i];
        s = tensor_desc(&plan->y, t, yd, sd + 2, "vg_conv_plan_create: y descriptor");
    }
    if (s == VG_OK) {
        const size_t cap = d->max_workspace ? d->max_workspace : (size_t(4) << 30);
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        int found = 0;
        s = vg::cudnn_check(cudnnGetConvolutionForwardAlgorithm_v7(ctx->cudnn, plan->x, plan->w, plan->conv, plan->y,
                                                                   CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf),
                            "vg_conv_plan_create: cudnnGetConvolutionForwardAlgorithm_v7");
        bool chosen = false;
        for (int i = 0; s == VG_OK && i < found && !chosen; ++i) {
            if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
            size_t ws = 0;
            if (cudnnGetConvolutionForwardWorkspaceSize(ctx->cudnn, plan->x, plan->w, plan->conv, plan->y, perf[i].algo, &ws) != CUDNN_STATUS_SUCCESS) continue;
            if (ws > cap) continue;
            plan->algo = perf[i].algo;
            plan->workspace = ws;
            chosen = true;
        }
        if (s == VG_OK && !chosen)
            s = vg::fail(VG_ERROR_NOT_SUPPORTED, "vg_conv_plan_create: cuDNN has no forward algorithm for this convolution within " +
                                                     std::to_string(cap >> 20) + " MiB of workspace");
    }
    if (s != VG_OK) { delete plan; return s; }
    *out = plan;
    return VG_OK;
    VG_GUARD_END("vg_conv_plan_create")
}

VG_API vg_status vg_conv_plan_destroy(vg_conv_plan plan) {
    delete plan;
    return VG_OK;
}

VG_API vg_status vg_conv_plan_info(vg_conv_plan plan, size_t* workspace_bytes, int64_t* out_size) {
    if (!plan) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_conv_plan_info: plan is NULL");
    if (workspace_bytes) *workspace_bytes = plan->workspace;
    if (out_size) for (int i = 0; i < 3; ++i) out_size[i] = plan->out_size[i];
    return VG_OK;
}

VG_API vg_status vg_conv_run(vg_conv_plan plan, const void* x, const void* w, const void* bias, vg_dtype bias_dtype,
                             void* y, void* workspace, size_t workspace_bytes, void* stream) {
    VG_GUARD_BEGIN
    vg::clear_error();
    if (!plan || !x || !w || !y) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_conv_run: plan, x, w and y must not be NULL");
    if (workspace_bytes < plan->workspace || (plan->workspace && !workspace))
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_conv_run: workspace of " + std::to_string(workspace_bytes) +
                                                       " bytes, the plan needs " + std::to_string(plan->workspace));
    cudnnHandle_t h = plan->ctx->cudnn;
    VG_TRY(vg::cudnn_check(cudnnSetStream(h, static_cast<cudaStream_t>(stream)), "vg_conv_run: cudnnSetStream"));
    const float one = 1.0f, zero = 0.0f;
    VG_TRY(vg::cudnn_check(cudnnConvolutionForward(h, &one, plan->x, x, plan->w, w, plan->conv, plan->algo, workspace,
                                                   plan->workspace, &zero, plan->y, y),
                           "vg_conv_run: cudnnConvolutionForward"));
    if (bias) {
        if (bias_dtype != VG_DTYPE_FP32 && bias_dtype != plan->desc.dtype) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_conv_run: bias_dtype must be FP32 or the tensor dtype");
        const int64_t inner = plan->out_size[0] * plan->out_size[1] * plan->out_size[2];
        VG_TRY(vg::add_channel_bias(y, plan->desc.dtype, bias, bias_dtype, plan->desc.batch * plan->desc.out_channels,
                                    plan->desc.out_channels, inner, static_cast<cudaStream_t>(stream)));
    }
    return VG_OK;
    VG_GUARD_END("vg_conv_run")
}
