// Attention through cuDNN's fused flash SDPA, built with the header-only cudnn-frontend graph API.
// cuDNN's logical order is (b, h, s, d); the ABI's strides are given in (b, s, h, d) order and are
// permuted here, so [B, S, H, D] and [B, H, S, D] buffers both run without copies.
#include "internal.h"

#include <cmath>
#include <memory>
#include <unordered_map>

#include <cudnn_frontend.h>

namespace fe = cudnn_frontend;

namespace {
enum : int64_t { kQ = 1, kK = 2, kV = 3, kO = 4 };
}

struct vg_attention_plan_t {
    vg_context ctx = nullptr;
    vg_attention_desc desc{};
    std::shared_ptr<fe::graph::Graph> graph;
    size_t workspace = 0;
};

namespace {

void default_strides(int64_t s, int64_t h, int64_t d, int64_t out[4]) {
    out[0] = s * h * d;
    out[1] = h * d;
    out[2] = d;
    out[3] = 1;
}

bool all_zero(const int64_t st[4]) { return !st[0] && !st[1] && !st[2] && !st[3]; }

// (b, s, h, d) strides -> cuDNN's (b, h, s, d) order.
std::vector<int64_t> bhsd(const int64_t st[4]) { return {st[0], st[2], st[1], st[3]}; }

}  // namespace

extern "C" {

VG_API vg_status vg_attention_plan_create(vg_context ctx, const vg_attention_desc* desc, vg_attention_plan* out) {
    VG_GUARD_BEGIN
    static const std::string fn = "vg_attention_plan_create";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": " + m); };
    if (!ctx || !desc || !out) return bad("ctx, desc and out must not be NULL");
    *out = nullptr;
    if (desc->struct_size != sizeof(vg_attention_desc))
        return bad("desc->struct_size is " + std::to_string(desc->struct_size) + ", expected " +
                   std::to_string(sizeof(vg_attention_desc)));
    vg_attention_desc d = *desc;
    if (d.kernel != VG_ATTENTION_AUTO && d.kernel != VG_ATTENTION_CUDNN)
        return vg::fail(VG_ERROR_NOT_SUPPORTED, fn + ": kernel " + std::to_string(d.kernel) + " is not implemented");
    if (d.qkv_dtype != VG_DTYPE_BF16 && d.qkv_dtype != VG_DTYPE_FP16)
        return vg::fail(VG_ERROR_NOT_SUPPORTED,
                        fn + ": qkv_dtype " + vg::dtype_name(d.qkv_dtype) + " has no kernel (bf16 or fp16)");
    if (d.out_dtype != d.qkv_dtype) return bad("out_dtype must equal qkv_dtype");
    if (!d.kv_heads) d.kv_heads = d.heads;
    if (d.batch <= 0 || d.heads <= 0 || d.kv_heads <= 0 || d.q_len <= 0 || d.kv_len <= 0 || d.head_dim <= 0)
        return bad("batch, heads, kv_heads, q_len, kv_len and head_dim must be positive");
    if (d.heads % d.kv_heads) return bad("heads must be a multiple of kv_heads");
    if (d.head_dim % 8 || d.head_dim > 256)
        return vg::fail(VG_ERROR_NOT_SUPPORTED,
                        fn + ": head_dim " + std::to_string(d.head_dim) + " must be a multiple of 8 and <= 256");
    if (all_zero(d.q_strides)) default_strides(d.q_len, d.heads, d.head_dim, d.q_strides);
    if (all_zero(d.k_strides)) default_strides(d.kv_len, d.kv_heads, d.head_dim, d.k_strides);
    if (all_zero(d.v_strides)) default_strides(d.kv_len, d.kv_heads, d.head_dim, d.v_strides);
    if (all_zero(d.out_strides)) default_strides(d.q_len, d.heads, d.head_dim, d.out_strides);
    for (const int64_t* st : {d.q_strides, d.k_strides, d.v_strides, d.out_strides}) {
        if (st[3] != 1) return bad("the head_dim stride (index 3) must be 1");
        for (int i = 0; i < 3; ++i)
            if (st[i] <= 0 || st[i] % 8) return bad("b/s/h strides must be positive multiples of 8 elements");
    }
    if (d.scale == 0.0f) d.scale = 1.0f / std::sqrt(static_cast<float>(d.head_dim));

    auto io = d.qkv_dtype == VG_DTYPE_BF16 ? fe::DataType_t::BFLOAT16 : fe::DataType_t::HALF;
    auto g = std::make_shared<fe::graph::Graph>();
    g->set_io_data_type(io).set_intermediate_data_type(fe::DataType_t::FLOAT).set_compute_data_type(fe::DataType_t::FLOAT);
    auto Q = g->tensor(fe::graph::Tensor_attributes().set_name("Q").set_uid(kQ)
                           .set_dim({d.batch, d.heads, d.q_len, d.head_dim}).set_stride(bhsd(d.q_strides)));
    auto K = g->tensor(fe::graph::Tensor_attributes().set_name("K").set_uid(kK)
                           .set_dim({d.batch, d.kv_heads, d.kv_len, d.head_dim}).set_stride(bhsd(d.k_strides)));
    auto V = g->tensor(fe::graph::Tensor_attributes().set_name("V").set_uid(kV)
                           .set_dim({d.batch, d.kv_heads, d.kv_len, d.head_dim}).set_stride(bhsd(d.v_strides)));
    auto opts = fe::graph::SDPA_attributes().set_name("sdpa").set_generate_stats(false).set_attn_scale(d.scale);
    auto [O, stats] = g->sdpa(Q, K, V, opts);
    (void)stats;
    O->set_output(true).set_uid(kO).set_dim({d.batch, d.heads, d.q_len, d.head_dim}).set_stride(bhsd(d.out_strides));

    auto err = g->build(ctx->cudnn, {fe::HeurMode_t::A, fe::HeurMode_t::FALLBACK});
    if (!err.is_good())
        return vg::fail(VG_ERROR_NOT_SUPPORTED, fn + ": cuDNN cannot build SDPA for B=" + std::to_string(d.batch) +
                                                    " H=" + std::to_string(d.heads) + " Sq=" + std::to_string(d.q_len) +
                                                    " Skv=" + std::to_string(d.kv_len) + " D=" +
                                                    std::to_string(d.head_dim) + ": " + err.get_message());
    int64_t ws = 0;
    err = g->get_workspace_size(ws);
    if (!err.is_good()) return vg::fail(VG_ERROR_CUDNN, fn + ": get_workspace_size: " + err.get_message());
    auto* p = new vg_attention_plan_t();
    p->ctx = ctx;
    p->desc = d;
    p->desc.kernel = VG_ATTENTION_CUDNN;
    p->graph = g;
    p->workspace = static_cast<size_t>(ws);
    *out = p;
    return VG_OK;
    VG_GUARD_END("vg_attention_plan_create")
}

VG_API vg_status vg_attention_plan_destroy(vg_attention_plan plan) {
    VG_GUARD_BEGIN
    vg::clear_error();
    delete plan;
    return VG_OK;
    VG_GUARD_END("vg_attention_plan_destroy")
}

VG_API vg_status vg_attention_plan_workspace_size(vg_attention_plan plan, size_t* bytes) {
    vg::clear_error();
    if (!plan || !bytes)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_attention_plan_workspace_size: plan and bytes must not be NULL");
    *bytes = plan->workspace;
    return VG_OK;
}

VG_API vg_status vg_attention_plan_kernel(vg_attention_plan plan, vg_attention_kernel* kernel) {
    vg::clear_error();
    if (!plan || !kernel)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_attention_plan_kernel: plan and kernel must not be NULL");
    *kernel = plan->desc.kernel;
    return VG_OK;
}

VG_API vg_status vg_attention_run(vg_attention_plan plan, const vg_attention_args* args, void* stream) {
    VG_GUARD_BEGIN
    static const std::string fn = "vg_attention_run";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": " + m); };
    if (!plan || !args) return bad("plan and args must not be NULL");
    if (args->struct_size != sizeof(vg_attention_args))
        return bad("args->struct_size is " + std::to_string(args->struct_size) + ", expected " +
                   std::to_string(sizeof(vg_attention_args)));
    if (!args->q || !args->k || !args->v || !args->out) return bad("q, k, v and out must not be NULL");
    for (const void* p : {args->q, args->k, args->v, static_cast<const void*>(args->out)})
        if (!vg::aligned16(p)) return bad("q, k, v and out must be 16-byte aligned");
    if (args->q_scale || args->k_scale || args->v_scale || args->out_scale)
        return bad("scale pointers must be NULL for the bf16/fp16 cuDNN kernel");
    if (args->workspace_bytes < plan->workspace)
        return bad("workspace_bytes " + std::to_string(args->workspace_bytes) + " < the plan's " +
                   std::to_string(plan->workspace));
    if (plan->workspace && !args->workspace) return bad("workspace is NULL but the plan needs one");
    VG_TRY(vg::cudnn_check(cudnnSetStream(plan->ctx->cudnn, static_cast<cudaStream_t>(stream)),
                           "vg_attention_run: cudnnSetStream"));
    std::unordered_map<fe::graph::Tensor_attributes::uid_t, void*> pack = {
        {kQ, const_cast<void*>(args->q)}, {kK, const_cast<void*>(args->k)},
        {kV, const_cast<void*>(args->v)}, {kO, args->out}};
    auto err = plan->graph->execute(plan->ctx->cudnn, pack, args->workspace);
    if (!err.is_good()) return vg::fail(VG_ERROR_CUDNN, fn + ": cuDNN execute: " + err.get_message());
    return vg::launch_check("cuDNN SDPA");
    VG_GUARD_END("vg_attention_run")
}

}  // extern "C"
