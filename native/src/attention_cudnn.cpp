// Attention through cuDNN's fused flash SDPA (bf16/fp16, and FP8 E4M3 with per-tensor scales), built with the
// header-only cudnn-frontend graph API.
// cuDNN's logical order is (b, h, s, d); the ABI's strides are given in (b, s, h, d) order and are
// permuted here, so [B, S, H, D] and [B, H, S, D] buffers both run without copies.
#include "internal.h"

#include <algorithm>
#include <array>
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
enum : int64_t {
    kQ = 1, kK = 2, kV = 3, kO = 4,
    // FP8 only: per-tensor factors (scale blocks of the caller, constants of the plan) and amax outputs.
    kDescaleQ, kDescaleK, kDescaleV, kDescaleS, kScaleS, kScaleO, kAmaxS, kAmaxO
};
// The plan's own device floats for the FP8 kernel, each 16-byte aligned: P's fixed factors (P is in [0, 1],
// quantized with 448) and the amax outputs cuDNN writes (unused here).
enum : int { kConstDescaleS = 0, kConstScaleS = 4, kConstAmaxS = 8, kConstAmaxO = 12, kConstFloats = 16 };
constexpr float kFp8Max = 448.0f;
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
    float* constants = nullptr;  // FP8 only: kConstFloats device floats

    bool fp8() const { return desc.kernel == VG_ATTENTION_CUDNN_FP8; }
    ~vg_attention_plan_t() {
        if (constants) cudaFree(constants);
    }
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

// q, k, v in cuDNN's (b, h, s, d) order with the descriptor's strides (their data type is the graph's io type).
std::array<std::shared_ptr<fe::graph::Tensor_attributes>, 3> qkv_tensors(fe::graph::Graph& g, const vg_attention_desc& d) {
    auto tensor = [&](const char* name, int64_t uid, int64_t heads, int64_t len, const int64_t strides[4]) {
        return g.tensor(fe::graph::Tensor_attributes().set_name(name).set_uid(uid)
                            .set_dim({d.batch, heads, len, d.head_dim}).set_stride(bhsd(strides)));
    };
    return {tensor("Q", kQ, d.heads, d.q_len, d.q_strides), tensor("K", kK, d.kv_heads, d.kv_len, d.k_strides),
            tensor("V", kV, d.kv_heads, d.kv_len, d.v_strides)};
}

fe::DataType_t io_type(vg_dtype t) {
    return t == VG_DTYPE_BF16 ? fe::DataType_t::BFLOAT16 : t == VG_DTYPE_FP16 ? fe::DataType_t::HALF : fe::DataType_t::FP8_E4M3;
}

// FP8: q, k, v dequantized by their per-tensor factors, P quantized with 448, out quantized by out's factor.
std::shared_ptr<fe::graph::Graph> make_fp8_graph(const vg_attention_desc& d, fe::AttentionImplementation_t impl) {
    auto g = std::make_shared<fe::graph::Graph>();
    g->set_io_data_type(fe::DataType_t::FP8_E4M3).set_intermediate_data_type(fe::DataType_t::FLOAT)
        .set_compute_data_type(fe::DataType_t::FLOAT);
    auto [Q, K, V] = qkv_tensors(*g, d);
    auto scalar = [&](const char* name, int64_t uid) {
        return g->tensor(fe::graph::Tensor_attributes().set_name(name).set_uid(uid).set_dim({1, 1, 1, 1})
                             .set_stride({1, 1, 1, 1}).set_data_type(fe::DataType_t::FLOAT));
    };
    auto opts = fe::graph::SDPA_fp8_attributes().set_name("sdpa_fp8").set_generate_stats(false)
                    .set_attn_scale(d.scale).set_implementation(impl);
    auto [O, stats, amax_s, amax_o] =
        g->sdpa_fp8(Q, K, V, scalar("descale_q", kDescaleQ), scalar("descale_k", kDescaleK),
                    scalar("descale_v", kDescaleV), scalar("descale_s", kDescaleS), scalar("scale_s", kScaleS),
                    scalar("scale_o", kScaleO), opts);
    (void)stats;
    O->set_output(true).set_uid(kO).set_dim({d.batch, d.heads, d.q_len, d.head_dim}).set_stride(bhsd(d.out_strides))
        .set_data_type(fe::DataType_t::FP8_E4M3);
    amax_s->set_output(true).set_uid(kAmaxS).set_dim({1, 1, 1, 1}).set_stride({1, 1, 1, 1}).set_data_type(fe::DataType_t::FLOAT);
    amax_o->set_output(true).set_uid(kAmaxO).set_dim({1, 1, 1, 1}).set_stride({1, 1, 1, 1}).set_data_type(fe::DataType_t::FLOAT);
    return g;
}

std::shared_ptr<fe::graph::Graph> make_graph(const vg_attention_desc& d, fe::AttentionImplementation_t impl) {
    if (d.kernel == VG_ATTENTION_CUDNN_FP8) return make_fp8_graph(d, impl);
    auto io = io_type(d.qkv_dtype);
    auto g = std::make_shared<fe::graph::Graph>();
    g->set_io_data_type(io).set_intermediate_data_type(fe::DataType_t::FLOAT).set_compute_data_type(fe::DataType_t::FLOAT);
    auto [Q, K, V] = qkv_tensors(*g, d);
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
    if (d.kernel != VG_ATTENTION_AUTO && d.kernel != VG_ATTENTION_CUDNN && d.kernel != VG_ATTENTION_CUDNN_FP8)
        return vg::fail(VG_ERROR_NOT_SUPPORTED, fn + ": kernel " + std::to_string(d.kernel) + " is not implemented");
    if (d.qkv_dtype != VG_DTYPE_BF16 && d.qkv_dtype != VG_DTYPE_FP16 && d.qkv_dtype != VG_DTYPE_FP8_E4M3)
        return vg::fail(VG_ERROR_NOT_SUPPORTED,
                        fn + ": qkv_dtype " + vg::dtype_name(d.qkv_dtype) + " has no kernel (bf16, fp16 or fp8_e4m3)");
    if (d.out_dtype != d.qkv_dtype) return bad("out_dtype must equal qkv_dtype");
    const bool fp8 = d.qkv_dtype == VG_DTYPE_FP8_E4M3;
    if (d.kernel == VG_ATTENTION_AUTO) d.kernel = fp8 ? VG_ATTENTION_CUDNN_FP8 : VG_ATTENTION_CUDNN;
    if (fp8 != (d.kernel == VG_ATTENTION_CUDNN_FP8))
        return bad(std::string("kernel ") + (fp8 ? "VG_ATTENTION_CUDNN runs bf16/fp16" : "VG_ATTENTION_CUDNN_FP8 runs fp8_e4m3") +
                   ", qkv_dtype is " + vg::dtype_name(d.qkv_dtype));
    if (fp8) {
        int major = 0, dev = 0;
        VG_TRY(vg::cuda_check(cudaGetDevice(&dev), "vg_attention_plan_create: cudaGetDevice"));
        VG_TRY(vg::cuda_check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev),
                              "vg_attention_plan_create: cudaDeviceGetAttribute"));
        if (major < 9)
            return vg::fail(VG_ERROR_NOT_SUPPORTED, fn + ": FP8 attention needs compute capability 9.0 (Hopper) or newer");
        if (d.head_dim % 16 || d.head_dim > 128)
            return vg::fail(VG_ERROR_NOT_SUPPORTED,
                            fn + ": FP8 attention needs head_dim a multiple of 16 and <= 128, got " + std::to_string(d.head_dim));
    }
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
            if (st[i] <= 0 || st[i] % (fp8 ? 16 : 8))
                return bad(std::string("b/s/h strides must be positive multiples of ") + (fp8 ? "16" : "8") + " elements");
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
    std::unique_ptr<vg_attention_plan_t> p(new vg_attention_plan_t());
    p->ctx = ctx;
    p->desc = d;
    p->candidates = std::move(cands);
    if (fp8) {
        float host[kConstFloats] = {};
        host[kConstDescaleS] = 1.0f / kFp8Max;
        host[kConstScaleS] = kFp8Max;
        VG_TRY(vg::cuda_check(cudaMalloc(&p->constants, sizeof host), "vg_attention_plan_create: cudaMalloc"));
        VG_TRY(vg::cuda_check(cudaMemcpy(p->constants, host, sizeof host, cudaMemcpyHostToDevice),
                              "vg_attention_plan_create: cudaMemcpy"));
    }
    *out = p.release();
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

vg_status check_args(const char* fn, vg_attention_plan plan, const vg_attention_args* args) {
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + m); };
    if (!args) return bad("args must not be NULL");
    if (args->struct_size != sizeof(vg_attention_args))
        return bad("args->struct_size is " + std::to_string(args->struct_size) + ", expected " +
                   std::to_string(sizeof(vg_attention_args)));
    if (!args->q || !args->k || !args->v || !args->out) return bad("q, k, v and out must not be NULL");
    for (const void* p : {args->q, args->k, args->v, static_cast<const void*>(args->out)})
        if (!vg::aligned16(p)) return bad("q, k, v and out must be 16-byte aligned");
    const float* scales[] = {args->q_scale, args->k_scale, args->v_scale, args->out_scale};
    if (!plan->fp8()) {
        for (const float* p : scales)
            if (p) return bad("scale pointers must be NULL for the bf16/fp16 cuDNN kernel");
        return VG_OK;
    }
    for (const float* p : scales)
        if (!p || !vg::aligned16(p)) return bad("the FP8 kernel needs q_scale, k_scale, v_scale and out_scale (16-byte aligned scale blocks)");
    return VG_OK;
}

// Enqueues one candidate (no argument checks, no stream change).
fe::error_t execute(vg_attention_plan plan, const AttentionCandidate& c, const vg_attention_args* args) {
    std::unordered_map<fe::graph::Tensor_attributes::uid_t, void*> pack = {
        {kQ, const_cast<void*>(args->q)}, {kK, const_cast<void*>(args->k)},
        {kV, const_cast<void*>(args->v)}, {kO, args->out}};
    if (plan->fp8()) {
        auto at = [](const float* block, int i) { return const_cast<float*>(block + i); };
        pack[kDescaleQ] = at(args->q_scale, VG_FP8_DEQUANT);
        pack[kDescaleK] = at(args->k_scale, VG_FP8_DEQUANT);
        pack[kDescaleV] = at(args->v_scale, VG_FP8_DEQUANT);
        pack[kScaleO] = at(args->out_scale, VG_FP8_QUANT);
        pack[kDescaleS] = plan->constants + kConstDescaleS;
        pack[kScaleS] = plan->constants + kConstScaleS;
        pack[kAmaxS] = plan->constants + kConstAmaxS;
        pack[kAmaxO] = plan->constants + kConstAmaxO;
    }
    return c.graph->execute_plan_at_index(plan->ctx->cudnn, pack, args->workspace, c.index);
}

}  // namespace

extern "C" {

VG_API vg_status vg_attention_run(vg_attention_plan plan, const vg_attention_args* args, void* stream) {
    VG_GUARD_BEGIN
    static const std::string fn = "vg_attention_run";
    vg::clear_error();
    if (!plan) return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": plan must not be NULL");
    VG_TRY(check_args("vg_attention_run", plan, args));
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
    return vg::launch_check(plan->fp8() ? "cuDNN FP8 SDPA" : "cuDNN SDPA");
    VG_GUARD_END("vg_attention_run")
}

VG_API vg_status vg_attention_plan_tune(vg_attention_plan plan, const vg_attention_args* args, int32_t iterations,
                                        void* stream, float* best_ms, int32_t* tried) {
    VG_GUARD_BEGIN
    static const std::string fn = "vg_attention_plan_tune";
    vg::clear_error();
    if (!plan) return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": plan must not be NULL");
    VG_TRY(check_args("vg_attention_plan_tune", plan, args));
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
