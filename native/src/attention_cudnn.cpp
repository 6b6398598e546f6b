// Attention through cuDNN's fused flash SDPA, built with the header-only cudnn-frontend graph API.
// cuDNN's logical order is (b, h, s, d); the ABI's strides are given in (b, s, h, d) order and are
// permuted here, so [B, S, H, D] and [B, H, S, D] buffers both run without copies.
#include "internal.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <cudnn_frontend.h>

namespace fe = cudnn_frontend;

namespace {
enum : int64_t { kQ = 1, kK = 2, kV = 3, kO = 4 };
}

// One way to run the shape: an execution plan (engine configuration) of one cuDNN SDPA implementation.
struct AttentionCandidate {
    std::shared_ptr<fe::graph::Graph> graph;
    int64_t index = 0;      // plan index inside `graph`
    int64_t workspace = 0;  // bytes
    std::string name;       // "unified:<engine tag>" or "composite:<engine tag>"
    float ms = -1;          // median time once tuned; -1 = not timed, -2 = failed or skipped
};

struct vg_attention_plan_t {
    vg_context ctx = nullptr;
    vg_attention_desc desc{};
    std::vector<AttentionCandidate> candidates;  // [0] = cuDNN's own choice (what AUTO would run)
    size_t chosen = 0;
    bool tuned = false;
};

namespace {

// Engine configurations built per implementation: the heuristics' first few are the only plausible ones, and each
// costs a build (the composite one compiles at run time).
constexpr int64_t kMaxPlansPerImplementation = 4;

void default_strides(int64_t s, int64_t h, int64_t d, int64_t out[4]) {
    out[0] = s * h * d;
    out[1] = h * d;
    out[2] = d;
    out[3] = 1;
}

bool all_zero(const int64_t st[4]) { return !st[0] && !st[1] && !st[2] && !st[3]; }

// (b, s, h, d) strides -> cuDNN's (b, h, s, d) order.
std::vector<int64_t> bhsd(const int64_t st[4]) { return {st[0], st[2], st[1], st[3]}; }

std::shared_ptr<fe::graph::Graph> make_graph(const vg_attention_desc& d, fe::AttentionImplementation_t impl) {
    auto io = d.qkv_dtype == VG_DTYPE_BF16 ? fe::DataType_t::BFLOAT16 : fe::DataType_t::HALF;
    auto g = std::make_shared<fe::graph::Graph>();
    g->set_io_data_type(io).set_intermediate_data_type(fe::DataType_t::FLOAT).set_compute_data_type(fe::DataType_t::FLOAT);
    auto Q = g->tensor(fe::graph::Tensor_attributes().set_name("Q").set_uid(kQ)
                           .set_dim({d.batch, d.heads, d.q_len, d.head_dim}).set_stride(bhsd(d.q_strides)));
    auto K = g->tensor(fe::graph::Tensor_attributes().set_name("K").set_uid(kK)
                           .set_dim({d.batch, d.kv_heads, d.kv_len, d.head_dim}).set_stride(bhsd(d.k_strides)));
    auto V = g->tensor(fe::graph::Tensor_attributes().set_name("V").set_uid(kV)
                           .set_dim({d.batch, d.kv_heads, d.kv_len, d.head_dim}).set_stride(bhsd(d.v_strides)));
    auto opts = fe::graph::SDPA_attributes().set_name("sdpa").set_generate_stats(false).set_attn_scale(d.scale)
                    .set_implementation(impl);
    auto [O, stats] = g->sdpa(Q, K, V, opts);
    (void)stats;
    O->set_output(true).set_uid(kO).set_dim({d.batch, d.heads, d.q_len, d.head_dim}).set_stride(bhsd(d.out_strides));
    return g;
}

// Builds the first few engine configurations of one implementation; appends those that build. Returns the first
// failure's message when none builds.
std::string add_candidates(vg_context ctx, const vg_attention_desc& d, fe::AttentionImplementation_t impl,
                           const char* label, std::vector<AttentionCandidate>& out) {
    std::shared_ptr<fe::graph::Graph> g;
    try {
        g = make_graph(d, impl);
    } catch (const std::exception& e) {
        return std::string(label) + ": " + e.what();
    }
    auto err = g->validate();
    if (err.is_good()) err = g->build_operation_graph(ctx->cudnn);
    if (err.is_good()) err = g->create_execution_plans({fe::HeurMode_t::A, fe::HeurMode_t::FALLBACK});
    if (!err.is_good()) return std::string(label) + ": " + err.get_message();
    std::string first_error;
    size_t before = out.size();
    int64_t count = std::min<int64_t>(g->get_execution_plan_count(), kMaxPlansPerImplementation);
    for (int64_t i = 0; i < count; ++i) {
        err = g->build_plan_at_index(i);
        if (!err.is_good()) {
            if (first_error.empty()) first_error = err.get_message();
            continue;
        }
        AttentionCandidate c;
        c.graph = g;
        c.index = i;
        std::string tag;
        if (!g->get_plan_name_at_index(i, tag).is_good()) tag = "plan" + std::to_string(i);
        c.name = std::string(label) + ":" + tag;
        bool duplicate = false;
        for (size_t j = before; j < out.size(); ++j) duplicate |= out[j].name == c.name;
        if (duplicate) continue;
        if (!g->get_workspace_size_plan_at_index(i, c.workspace).is_good()) continue;
        out.push_back(std::move(c));
    }
    if (out.size() == before)
        return std::string(label) + ": " + (first_error.empty() ? "no engine configuration" : first_error);
    return "";
}

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

    // cuDNN's AUTO prefers the unified implementation where it supports the shape; its first engine configuration
    // stays the untuned choice ([0]), the rest are for vg_attention_plan_tune.
    std::vector<AttentionCandidate> cands;
    std::string unified_err = add_candidates(ctx, d, fe::AttentionImplementation_t::UNIFIED, "unified", cands);
    std::string composite_err = add_candidates(ctx, d, fe::AttentionImplementation_t::COMPOSITE, "composite", cands);
    if (cands.empty())
        return vg::fail(VG_ERROR_NOT_SUPPORTED, fn + ": cuDNN cannot build SDPA for B=" + std::to_string(d.batch) +
                                                    " H=" + std::to_string(d.heads) + " Sq=" + std::to_string(d.q_len) +
                                                    " Skv=" + std::to_string(d.kv_len) + " D=" +
                                                    std::to_string(d.head_dim) + ": " + unified_err + "; " + composite_err);
    auto* p = new vg_attention_plan_t();
    p->ctx = ctx;
    p->desc = d;
    p->desc.kernel = VG_ATTENTION_CUDNN;
    p->candidates = std::move(cands);
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
    *bytes = static_cast<size_t>(plan->candidates[plan->chosen].workspace);
    return VG_OK;
}

VG_API vg_status vg_attention_plan_tune_workspace_size(vg_attention_plan plan, size_t* bytes) {
    vg::clear_error();
    if (!plan || !bytes)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT,
                        "vg_attention_plan_tune_workspace_size: plan and bytes must not be NULL");
    int64_t most = 0;
    for (const auto& c : plan->candidates) most = std::max(most, c.workspace);
    *bytes = static_cast<size_t>(most);
    return VG_OK;
}

VG_API vg_status vg_attention_plan_kernel(vg_attention_plan plan, vg_attention_kernel* kernel) {
    vg::clear_error();
    if (!plan || !kernel)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_attention_plan_kernel: plan and kernel must not be NULL");
    *kernel = plan->desc.kernel;
    return VG_OK;
}

}  // extern "C"

namespace {

vg_status check_args(const char* fn, const vg_attention_args* args) {
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + m); };
    if (!args) return bad("args must not be NULL");
    if (args->struct_size != sizeof(vg_attention_args))
        return bad("args->struct_size is " + std::to_string(args->struct_size) + ", expected " +
                   std::to_string(sizeof(vg_attention_args)));
    if (!args->q || !args->k || !args->v || !args->out) return bad("q, k, v and out must not be NULL");
    for (const void* p : {args->q, args->k, args->v, static_cast<const void*>(args->out)})
        if (!vg::aligned16(p)) return bad("q, k, v and out must be 16-byte aligned");
    if (args->q_scale || args->k_scale || args->v_scale || args->out_scale)
        return bad("scale pointers must be NULL for the bf16/fp16 cuDNN kernel");
    return VG_OK;
}

// Enqueues one candidate (no argument checks, no stream change).
fe::error_t execute(vg_attention_plan plan, const AttentionCandidate& c, const vg_attention_args* args) {
    std::unordered_map<fe::graph::Tensor_attributes::uid_t, void*> pack = {
        {kQ, const_cast<void*>(args->q)}, {kK, const_cast<void*>(args->k)},
        {kV, const_cast<void*>(args->v)}, {kO, args->out}};
    return c.graph->execute_plan_at_index(plan->ctx->cudnn, pack, args->workspace, c.index);
}

}  // namespace

extern "C" {

VG_API vg_status vg_attention_run(vg_attention_plan plan, const vg_attention_args* args, void* stream) {
    VG_GUARD_BEGIN
    static const std::string fn = "vg_attention_run";
    vg::clear_error();
    if (!plan) return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": plan must not be NULL");
    VG_TRY(check_args("vg_attention_run", args));
    const auto& c = plan->candidates[plan->chosen];
    if (args->workspace_bytes < static_cast<size_t>(c.workspace))
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": workspace_bytes " + std::to_string(args->workspace_bytes) +
                                                       " < the plan's " + std::to_string(c.workspace));
    if (c.workspace && !args->workspace)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": workspace is NULL but the plan needs one");
    VG_TRY(vg::cudnn_check(cudnnSetStream(plan->ctx->cudnn, static_cast<cudaStream_t>(stream)),
                           "vg_attention_run: cudnnSetStream"));
    auto err = execute(plan, c, args);
    if (!err.is_good()) return vg::fail(VG_ERROR_CUDNN, fn + ": cuDNN execute (" + c.name + "): " + err.get_message());
    return vg::launch_check("cuDNN SDPA");
    VG_GUARD_END("vg_attention_run")
}

VG_API vg_status vg_attention_plan_tune(vg_attention_plan plan, const vg_attention_args* args, int32_t iterations,
                                        void* stream, float* best_ms, int32_t* tried) {
    VG_GUARD_BEGIN
    static const std::string fn = "vg_attention_plan_tune";
    vg::clear_error();
    if (!plan) return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": plan must not be NULL");
    VG_TRY(check_args("vg_attention_plan_tune", args));
    if (iterations < 1 || iterations > 1000)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": iterations " + std::to_string(iterations) + " must be 1..1000");
    auto s = static_cast<cudaStream_t>(stream);
    VG_TRY(vg::cudnn_check(cudnnSetStream(plan->ctx->cudnn, s), "vg_attention_plan_tune: cudnnSetStream"));
    cudaEvent_t e0 = nullptr, e1 = nullptr;
    VG_TRY(vg::cuda_check(cudaEventCreate(&e0), "vg_attention_plan_tune: cudaEventCreate"));
    vg_status st = vg::cuda_check(cudaEventCreate(&e1), "vg_attention_plan_tune: cudaEventCreate");
    if (st != VG_OK) {
        cudaEventDestroy(e0);
        return st;
    }
    auto time_one = [&](const AttentionCandidate& c, float& ms) -> vg_status {
        VG_TRY(vg::cuda_check(cudaEventRecord(e0, s), "vg_attention_plan_tune: cudaEventRecord"));
        if (!execute(plan, c, args).is_good()) return VG_ERROR_CUDNN;
        VG_TRY(vg::cuda_check(cudaEventRecord(e1, s), "vg_attention_plan_tune: cudaEventRecord"));
        VG_TRY(vg::cuda_check(cudaEventSynchronize(e1), "vg_attention_plan_tune: cudaEventSynchronize"));
        VG_TRY(vg::cuda_check(cudaEventElapsedTime(&ms, e0, e1), "vg_attention_plan_tune: cudaEventElapsedTime"));
        return VG_OK;
    };
    int32_t timed = 0;
    float best = -1;
    size_t best_i = plan->chosen;
    for (size_t i = 0; i < plan->candidates.size() && st == VG_OK; ++i) {
        auto& c = plan->candidates[i];
        c.ms = -2;
        if (static_cast<size_t>(c.workspace) > args->workspace_bytes || (c.workspace && !args->workspace)) continue;
        float warm = 0;
        vg_status r = time_one(c, warm);  // warm-up (and a first estimate)
        if (r == VG_ERROR_CUDNN) {
            cudaGetLastError();  // a candidate that cannot run this shape is skipped, not fatal
            continue;
        }
        if (r != VG_OK) { st = r; break; }
        std::vector<float> t;
        // A candidate far slower than the best so far is not worth the iterations.
        int n = (best > 0 && warm > 3 * best) ? 0 : iterations;
        for (int k = 0; k < n && st == VG_OK; ++k) {
            float ms = 0;
            r = time_one(c, ms);
            if (r != VG_OK) st = r == VG_ERROR_CUDNN ? vg::fail(VG_ERROR_CUDNN, fn + ": " + c.name + " failed after its warm-up") : r;
            t.push_back(ms);
        }
        if (st != VG_OK) break;
        if (t.empty()) t.push_back(warm);
        std::sort(t.begin(), t.end());
        c.ms = t[t.size() / 2];
        ++timed;
        if (best < 0 || c.ms < best) {
            best = c.ms;
            best_i = i;
        }
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    if (st != VG_OK) return st;
    if (best < 0)
        return vg::fail(VG_ERROR_CUDNN, fn + ": no candidate ran (workspace_bytes " +
                                            std::to_string(args->workspace_bytes) + ")");
    plan->chosen = best_i;
    plan->tuned = true;
    if (best_ms) *best_ms = best;
    if (tried) *tried = timed;
    return VG_OK;
    VG_GUARD_END("vg_attention_plan_tune")
}

VG_API vg_status vg_attention_plan_describe(vg_attention_plan plan, char* buf, size_t bytes) {
    VG_GUARD_BEGIN
    vg::clear_error();
    if (!plan || !buf || !bytes)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_attention_plan_describe: plan and buf must not be NULL, bytes > 0");
    std::string text = "chosen " + plan->candidates[plan->chosen].name + (plan->tuned ? " (timed)" : " (cuDNN's choice)");
    for (size_t i = 0; i < plan->candidates.size(); ++i) {
        const auto& c = plan->candidates[i];
        char t[48];
        if (c.ms >= 0) std::snprintf(t, sizeof t, " %.3f ms", c.ms);
        else std::snprintf(t, sizeof t, "%s", c.ms == -2 ? " skipped" : "");
        text += (i ? "; " : " | ") + c.name + t + " ws " + std::to_string(c.workspace);
    }
    size_t n = std::min(text.size(), bytes - 1);
    std::memcpy(buf, text.data(), n);
    buf[n] = '\0';
    return VG_OK;
    VG_GUARD_END("vg_attention_plan_describe")
}

}  // extern "C"
