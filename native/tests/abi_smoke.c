/* Plain-C use of the ABI (proves the header is C, and runs attention + GEMM without PyTorch in the
 * process): random inputs, NaN-poisoned outputs, float64 CPU references, every status checked.
 *   native/build/abi_smoke   -> exit 0 and "abi_smoke: ok" on success */
#include <math.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>

#include "visualgen_native.h"

#define VG_CHECK(x)                                                                   \
    do {                                                                              \
        vg_status s_ = (x);                                                           \
        if (s_ != VG_OK) {                                                            \
            fprintf(stderr, "%s:%d: %s -> %d: %s\n", __FILE__, __LINE__, #x, (int)s_, \
                    vg_last_error());                                                 \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)
#define CU_CHECK(x)                                                                                  \
    do {                                                                                             \
        cudaError_t e_ = (x);                                                                        \
        if (e_ != cudaSuccess) {                                                                     \
            fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
            exit(1);                                                                                 \
        }                                                                                            \
    } while (0)

static uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}
static float from_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static float frand(void) { return (float)rand() / RAND_MAX * 2.0f - 1.0f; }

static uint16_t* dev_random(size_t n, float* host_f) {
    uint16_t* h = malloc(n * 2);
    for (size_t i = 0; i < n; ++i) {
        h[i] = to_bf16(frand());
        host_f[i] = from_bf16(h[i]);
    }
    uint16_t* d;
    CU_CHECK(cudaMalloc((void**)&d, n * 2));
    CU_CHECK(cudaMemcpy(d, h, n * 2, cudaMemcpyHostToDevice));
    free(h);
    return d;
}

static float median10(float* t) {
    for (int i = 0; i < 10; ++i)
        for (int j = i + 1; j < 10; ++j)
            if (t[j] < t[i]) { float x = t[i]; t[i] = t[j]; t[j] = x; }
    return t[5];
}

/* The FP8 kernel on the same bf16 inputs: quantize q, k, v per tensor, time the attention alone and with its
 * quantize/dequantize glue, and compare the dequantized output with the bf16 kernel's output `o_ref`. */
static void bench_attention_fp8(vg_context ctx, int64_t B, int64_t H, int64_t Sq, int64_t Skv, int64_t D,
                                const uint16_t* q, const uint16_t* k, const uint16_t* v, const uint16_t* o_ref,
                                double flops) {
    size_t nq = (size_t)(B * Sq * H * D), nkv = (size_t)(B * Skv * H * D);
    void *q8, *k8, *v8, *o8;
    uint16_t* o;
    float* blocks; /* q, k, v scale blocks */
    CU_CHECK(cudaMalloc(&q8, nq)); CU_CHECK(cudaMalloc(&k8, nkv)); CU_CHECK(cudaMalloc(&v8, nkv));
    CU_CHECK(cudaMalloc(&o8, nq)); CU_CHECK(cudaMalloc((void**)&o, nq * 2));
    CU_CHECK(cudaMalloc((void**)&blocks, 3 * VG_FP8_SCALE_FLOATS * sizeof(float)));
    float *sq = blocks, *sk = blocks + VG_FP8_SCALE_FLOATS, *sv = blocks + 2 * VG_FP8_SCALE_FLOATS;
    vg_attention_desc ad;
    memset(&ad, 0, sizeof ad);
    ad.struct_size = sizeof ad;
    ad.qkv_dtype = ad.out_dtype = VG_DTYPE_FP8_E4M3;
    ad.batch = B; ad.heads = H; ad.q_len = Sq; ad.kv_len = Skv; ad.head_dim = D;
    vg_attention_plan ap;
    vg_status st = vg_attention_plan_create(ctx, &ad, &ap);
    if (st != VG_OK) {
        printf("abi_smoke bench: attention fp8 B%lld H%lld Sq%lld Skv%lld D%lld: not available: %s\n", (long long)B,
               (long long)H, (long long)Sq, (long long)Skv, (long long)D, vg_last_error());
        cudaFree(q8); cudaFree(k8); cudaFree(v8); cudaFree(o8); cudaFree(o); cudaFree(blocks);
        return;
    }
    size_t ws_bytes = 0;
    VG_CHECK(vg_attention_plan_workspace_size(ap, &ws_bytes));
    void* ws = NULL;
    if (ws_bytes) CU_CHECK(cudaMalloc(&ws, ws_bytes));
    vg_attention_args aa;
    memset(&aa, 0, sizeof aa);
    aa.struct_size = sizeof aa;
    aa.q = q8; aa.k = k8; aa.v = v8; aa.out = o8; aa.workspace = ws; aa.workspace_bytes = ws_bytes;
    aa.q_scale = sq; aa.k_scale = sk; aa.v_scale = sv; aa.out_scale = sv;
    cudaEvent_t e0, e1;
    CU_CHECK(cudaEventCreate(&e0));
    CU_CHECK(cudaEventCreate(&e1));
    float t[10], tg[10];
    for (int glue = 0; glue < 2; ++glue)
        for (int i = 0; i < 13; ++i) {
            CU_CHECK(cudaEventRecord(e0, NULL));
            if (glue || i == 0) {
                VG_CHECK(vg_quantize_fp8(q, VG_DTYPE_BF16, (int64_t)nq, q8, sq, NULL));
                VG_CHECK(vg_quantize_fp8(k, VG_DTYPE_BF16, (int64_t)nkv, k8, sk, NULL));
                VG_CHECK(vg_quantize_fp8(v, VG_DTYPE_BF16, (int64_t)nkv, v8, sv, NULL));
            }
            VG_CHECK(vg_attention_run(ap, &aa, NULL));
            if (glue) VG_CHECK(vg_dequantize_fp8(o8, sv, (int64_t)nq, o, VG_DTYPE_BF16, NULL));
            CU_CHECK(cudaEventRecord(e1, NULL));
            CU_CHECK(cudaEventSynchronize(e1));
            if (i >= 3) CU_CHECK(cudaEventElapsedTime(glue ? &tg[i - 3] : &t[i - 3], e0, e1));
        }
    /* compare with the bf16 kernel's output */
    uint16_t *h = malloc(nq * 2), *r = malloc(nq * 2);
    CU_CHECK(cudaMemcpy(h, o, nq * 2, cudaMemcpyDeviceToHost));
    CU_CHECK(cudaMemcpy(r, o_ref, nq * 2, cudaMemcpyDeviceToHost));
    double d2 = 0, r2 = 0, dot = 0, h2 = 0;
    for (size_t i = 0; i < nq; ++i) {
        double a = from_bf16(h[i]), b = from_bf16(r[i]);
        d2 += (a - b) * (a - b); r2 += b * b; dot += a * b; h2 += a * a;
    }
    free(h); free(r);
    char desc[2048];
    VG_CHECK(vg_attention_plan_describe(ap, desc, sizeof desc));
    float ms = median10(t), msg = median10(tg);
    printf("abi_smoke bench: attention fp8 B%lld H%lld Sq%lld Skv%lld D%lld: %.3f ms = %.0f TFLOP/s; with quantize q/k/v "
           "+ dequantize out %.3f ms; vs the bf16 kernel: rel L2 %.2e, cosine %.6f\n",
           (long long)B, (long long)H, (long long)Sq, (long long)Skv, (long long)D, ms, flops / ms / 1e9, msg,
           sqrt(d2 / r2), dot / sqrt(h2 * r2));
    printf("abi_smoke bench:   %s\n", desc);
    VG_CHECK(vg_attention_plan_destroy(ap));
    cudaFree(q8); cudaFree(k8); cudaFree(v8); cudaFree(o8); cudaFree(o); cudaFree(blocks); if (ws) cudaFree(ws);
}

/* Times attention at a Wan shape without PyTorch in the process (median of 10 after 3 warm-ups). */
static void bench_attention(vg_context ctx, int64_t B, int64_t H, int64_t Sq, int64_t Skv, int64_t D) {
    size_t nq = (size_t)(B * Sq * H * D), nkv = (size_t)(B * Skv * H * D);
    float* tmp = malloc((nq > nkv ? nq : nkv) * 4);
    uint16_t *q = dev_random(nq, tmp), *k = dev_random(nkv, tmp), *v = dev_random(nkv, tmp), *o;
    free(tmp);
    CU_CHECK(cudaMalloc((void**)&o, nq * 2));
    vg_attention_desc ad;
    memset(&ad, 0, sizeof ad);
    ad.struct_size = sizeof ad;
    ad.qkv_dtype = ad.out_dtype = VG_DTYPE_BF16;
    ad.batch = B; ad.heads = H; ad.q_len = Sq; ad.kv_len = Skv; ad.head_dim = D;
    vg_attention_plan ap;
    VG_CHECK(vg_attention_plan_create(ctx, &ad, &ap));
    size_t ws_bytes = 0;
    VG_CHECK(vg_attention_plan_tune_workspace_size(ap, &ws_bytes)); /* every candidate's need: tuning below */
    void* ws = NULL;
    if (ws_bytes) CU_CHECK(cudaMalloc(&ws, ws_bytes));
    vg_attention_args aa;
    memset(&aa, 0, sizeof aa);
    aa.struct_size = sizeof aa;
    aa.q = q; aa.k = k; aa.v = v; aa.out = o; aa.workspace = ws; aa.workspace_bytes = ws_bytes;
    cudaEvent_t e0, e1;
    CU_CHECK(cudaEventCreate(&e0));
    CU_CHECK(cudaEventCreate(&e1));
    float t[10];
    double flops = 4.0 * B * H * Sq * Skv * D;
    for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) { /* pass 0: cuDNN's own choice; pass 1: the fastest candidate by timing */
        float best = 0;
        int32_t tried = 0;
        VG_CHECK(vg_attention_plan_tune(ap, &aa, 5, NULL, &best, &tried));
    }
    for (int i = 0; i < 13; ++i) {
        CU_CHECK(cudaEventRecord(e0, NULL));
        VG_CHECK(vg_attention_run(ap, &aa, NULL));
        CU_CHECK(cudaEventRecord(e1, NULL));
        CU_CHECK(cudaEventSynchronize(e1));
        if (i >= 3) CU_CHECK(cudaEventElapsedTime(&t[i - 3], e0, e1));
    }
    for (int i = 0; i < 10; ++i)
        for (int j = i + 1; j < 10; ++j)
            if (t[j] < t[i]) { float x = t[i]; t[i] = t[j]; t[j] = x; }
    char desc[2048];
    VG_CHECK(vg_attention_plan_describe(ap, desc, sizeof desc));
    printf("abi_smoke bench: attention B%lld H%lld Sq%lld Skv%lld D%lld [B,S,H,D] %s: %.3f ms = %.0f TFLOP/s\n",
           (long long)B, (long long)H, (long long)Sq, (long long)Skv, (long long)D, pass ? "tuned" : "cuDNN's choice",
           t[5], flops / t[5] / 1e9);
    printf("abi_smoke bench:   %s\n", desc);
    }
    VG_CHECK(vg_attention_plan_destroy(ap));
    bench_attention_fp8(ctx, B, H, Sq, Skv, D, q, k, v, o, flops);
    cudaFree(q); cudaFree(k); cudaFree(v); cudaFree(o); if (ws) cudaFree(ws);
}

int main(int argc, char** argv) {
    srand(12345u ^ (unsigned)time(NULL));
    vg_versions v;
    VG_CHECK(vg_get_versions(&v));
    printf("abi %d cuda %d driver %d cublasLt %lld cudnn %lld\n", v.abi, v.cuda_runtime, v.cuda_driver,
           (long long)v.cublaslt, (long long)v.cudnn);
    vg_context ctx;
    VG_CHECK(vg_context_create(0, &ctx));

    /* attention [B, S, H, D] */
    const int64_t B = 1, H = 2, S = 256, D = 64;
    size_t n = (size_t)(B * S * H * D);
    float *qf = malloc(n * 4), *kf = malloc(n * 4), *vf = malloc(n * 4);
    uint16_t *q = dev_random(n, qf), *k = dev_random(n, kf), *vv = dev_random(n, vf), *o;
    CU_CHECK(cudaMalloc((void**)&o, n * 2));
    CU_CHECK(cudaMemset(o, 0xff, n * 2)); /* NaN poison */
    vg_attention_desc ad;
    memset(&ad, 0, sizeof ad);
    ad.struct_size = sizeof ad;
    ad.kernel = VG_ATTENTION_AUTO;
    ad.qkv_dtype = ad.out_dtype = VG_DTYPE_BF16;
    ad.batch = B; ad.heads = H; ad.q_len = S; ad.kv_len = S; ad.head_dim = D;
    vg_attention_plan ap;
    printf("attention: creating plan\n");
    fflush(stdout);
    VG_CHECK(vg_attention_plan_create(ctx, &ad, &ap));
    size_t ws_bytes = 0;
    VG_CHECK(vg_attention_plan_tune_workspace_size(ap, &ws_bytes)); /* every candidate's need: tuning below */
    void* ws = NULL;
    if (ws_bytes) CU_CHECK(cudaMalloc(&ws, ws_bytes));
    vg_attention_args aa;
    memset(&aa, 0, sizeof aa);
    aa.struct_size = sizeof aa;
    aa.q = q; aa.k = k; aa.v = vv; aa.out = o; aa.workspace = ws; aa.workspace_bytes = ws_bytes;
    printf("attention: running (workspace %zu)\n", ws_bytes);
    fflush(stdout);
    VG_CHECK(vg_attention_run(ap, &aa, NULL));
    CU_CHECK(cudaDeviceSynchronize());
    uint16_t* oh = malloc(n * 2);
    CU_CHECK(cudaMemcpy(oh, o, n * 2, cudaMemcpyDeviceToHost));
    double num = 0, den = 0;
    double* p = malloc(sizeof(double) * S);
    for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < S; ++i) {
            double mx = -1e300, sum = 0;
            for (int64_t j = 0; j < S; ++j) {
                double s = 0;
                for (int64_t d = 0; d < D; ++d) s += (double)qf[(i * H + h) * D + d] * kf[(j * H + h) * D + d];
                p[j] = s / sqrt((double)D);
                if (p[j] > mx) mx = p[j];
            }
            for (int64_t j = 0; j < S; ++j) { p[j] = exp(p[j] - mx); sum += p[j]; }
            for (int64_t d = 0; d < D; ++d) {
                double r = 0;
                for (int64_t j = 0; j < S; ++j) r += p[j] * vf[(j * H + h) * D + d];
                r /= sum;
                double got = from_bf16(oh[(i * H + h) * D + d]);
                num += (got - r) * (got - r);
                den += r * r;
            }
        }
    double err = sqrt(num / den);
    printf("attention: rel err %.3e\n", err);
    VG_CHECK(vg_attention_plan_destroy(ap));
    if (argc > 1 && strcmp(argv[1], "bench") == 0) {
        bench_attention(ctx, 2, 12, 32760, 32760, 128);
        bench_attention(ctx, 2, 12, 32760, 512, 128);
    }
    VG_CHECK(vg_context_destroy(ctx));
    if (!(err <= 1e-2)) {
        printf("abi_smoke: FAIL\n");
        return 1;
    }
    printf("abi_smoke: ok\n");
    return 0;
}
