"""ctypes binding of libvisualgen_native.so (mirrors native/include/visualgen_native.h) for the
device-side correctness checks and benchmarks. Every call's status is checked: a non-zero status
raises VgError with the library's vg_last_error() message."""
import ctypes as C
import math

FP32, BF16, FP16, FP8_E4M3, INT64 = 0, 1, 2, 3, 5
FP8_SCALE_FLOATS, FP8_DEQUANT, FP8_AMAX, FP8_QUANT = 8, 0, 2, 4
WEIGHT_NK, WEIGHT_KN = 0, 1
EPI_NONE, EPI_BIAS, EPI_GELU, EPI_BIAS_GELU = 0, 1, 2, 3
ATTN_AUTO, ATTN_CUDNN, ATTN_CUDNN_FP8 = 0, 1, 2
SAGE_PHASE_ALL, SAGE_PHASE_QUANTIZE, SAGE_PHASE_ATTEND, SAGE_PHASE_KV_ATTEND = 0, 1, 2, 3
SAGE_KERNEL_AUTO, SAGE_KERNEL_MMA, SAGE_KERNEL_WGMMA = 0, 1, 2
NORM_LAYER, NORM_RMS = 0, 1
GELU_TANH, GELU_ERF, SILU, IDENTITY = 0, 1, 2, 3
ADD, MUL, SUB = 0, 1, 2
ALGO_BLOB_BYTES = 96
FP8_TENSOR_SCALE_FLOATS, FP8_TENSOR_DEQUANT = 4, 0
NVFP4_SCALE_FLOATS, NVFP4_SCALE_2 = 4, 0
FP8_SCALING_TENSOR, FP8_SCALING_BLOCK128, FP8_SCALING_ROWS = 0, 1, 2
STATUS = {0: "VG_OK", 1: "INVALID_ARGUMENT", 2: "NOT_SUPPORTED", 3: "CUDA", 4: "CUBLAS", 5: "CUDNN",
          6: "OUT_OF_MEMORY", 7: "INTERNAL"}


class VgError(RuntimeError):
    def __init__(self, status, message):
        super().__init__(f"{STATUS.get(status, status)}: {message}")
        self.status = status


class Versions(C.Structure):
    _fields_ = [("abi", C.c_int32), ("cuda_runtime", C.c_int32), ("cuda_driver", C.c_int32),
                ("cublaslt", C.c_int64), ("cudnn", C.c_int64)]


class GemmDesc(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("m", C.c_int64), ("n", C.c_int64), ("k", C.c_int64),
                ("lda", C.c_int64), ("ldw", C.c_int64), ("ldc", C.c_int64),
                ("a_dtype", C.c_int32), ("w_dtype", C.c_int32), ("out_dtype", C.c_int32), ("bias_dtype", C.c_int32),
                ("w_layout", C.c_int32), ("epilogue", C.c_int32), ("has_c", C.c_int32),
                ("alpha", C.c_float), ("beta", C.c_float)]


class Fp8GemmDesc(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("m", C.c_int64), ("n", C.c_int64), ("k", C.c_int64),
                ("scaling", C.c_int32), ("epilogue", C.c_int32), ("fast_accumulation", C.c_int32)]


class Nvfp4GemmDesc(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("m", C.c_int64), ("n", C.c_int64), ("k", C.c_int64)]


class AttentionDesc(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("kernel", C.c_int32), ("qkv_dtype", C.c_int32),
                ("out_dtype", C.c_int32), ("batch", C.c_int64), ("heads", C.c_int64), ("kv_heads", C.c_int64),
                ("q_len", C.c_int64), ("kv_len", C.c_int64), ("head_dim", C.c_int64),
                ("q_strides", C.c_int64 * 4), ("k_strides", C.c_int64 * 4), ("v_strides", C.c_int64 * 4),
                ("out_strides", C.c_int64 * 4), ("scale", C.c_float)]


class AttentionArgs(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("q", C.c_void_p), ("k", C.c_void_p), ("v", C.c_void_p),
                ("out", C.c_void_p), ("q_scale", C.c_void_p), ("k_scale", C.c_void_p), ("v_scale", C.c_void_p),
                ("out_scale", C.c_void_p), ("workspace", C.c_void_p), ("workspace_bytes", C.c_size_t)]


class SageAttentionDesc(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("batch", C.c_int64), ("heads", C.c_int64), ("kv_heads", C.c_int64),
                ("q_len", C.c_int64), ("kv_len", C.c_int64), ("head_dim", C.c_int64),
                ("q_strides", C.c_int64 * 4), ("k_strides", C.c_int64 * 4), ("v_strides", C.c_int64 * 4),
                ("out_strides", C.c_int64 * 4), ("scale", C.c_float), ("block_q", C.c_int32), ("block_k", C.c_int32),
                ("kernel", C.c_int32), ("q_scale_tokens", C.c_int32), ("k_scale_tokens", C.c_int32)]


class SageAttentionArgs(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("q", C.c_void_p), ("k", C.c_void_p), ("v", C.c_void_p),
                ("out", C.c_void_p), ("workspace", C.c_void_p), ("workspace_bytes", C.c_size_t)]


class NdTensor(C.Structure):
    _fields_ = [("ptr", C.c_void_p), ("dtype", C.c_int32), ("strides", C.c_int64 * 8)]


class RowVector(C.Structure):
    _fields_ = [("ptr", C.c_void_p), ("dtype", C.c_int32), ("batch_stride", C.c_int64), ("token_stride", C.c_int64)]


class ConvDesc(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("dtype", C.c_int32), ("spatial_dims", C.c_int32),
                ("batch", C.c_int64), ("in_channels", C.c_int64), ("out_channels", C.c_int64),
                ("in_size", C.c_int64 * 3), ("kernel", C.c_int64 * 3), ("stride", C.c_int64 * 3), ("pad", C.c_int64 * 3),
                ("dilation", C.c_int64 * 3), ("max_workspace", C.c_size_t)]


class BgemmDesc(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("batch", C.c_int64), ("m", C.c_int64), ("n", C.c_int64), ("k", C.c_int64),
                ("trans_b", C.c_int32), ("lda", C.c_int64), ("ldb", C.c_int64), ("ldc", C.c_int64),
                ("stride_a", C.c_int64), ("stride_b", C.c_int64), ("stride_c", C.c_int64),
                ("in_dtype", C.c_int32), ("out_dtype", C.c_int32), ("alpha", C.c_float)]


def dtype_of(t):
    import torch
    return {torch.float32: FP32, torch.bfloat16: BF16, torch.float16: FP16, torch.float8_e4m3fn: FP8_E4M3,
            torch.int64: INT64}[t.dtype]


def ptr(t):
    return None if t is None else C.c_void_p(t.data_ptr())


def row_vector(t, batch_stride, token_stride=0):
    return None if t is None else RowVector(t.data_ptr(), dtype_of(t), batch_stride, token_stride)


class Native:
    def __init__(self, path):
        self.lib = L = C.CDLL(path)
        L.vg_last_error.restype = C.c_char_p
        vp, i32, i64, f32, sz = C.c_void_p, C.c_int32, C.c_int64, C.c_float, C.c_size_t
        sig = {
            "vg_get_versions": [C.POINTER(Versions)],
            "vg_context_create": [i32, C.POINTER(vp)],
            "vg_context_destroy": [vp],
            "vg_gemm_plan_create": [vp, C.POINTER(GemmDesc), C.POINTER(vp)],
            "vg_gemm_plan_destroy": [vp],
            "vg_gemm_plan_workspace_size": [vp, C.POINTER(sz)],
            "vg_gemm_plan_tune": [vp, vp, vp, vp, vp, vp, vp, sz, i32, i32, vp, C.POINTER(f32), C.POINTER(i32)],
            "vg_gemm_plan_get_algo": [vp, vp, sz],
            "vg_gemm_plan_set_algo": [vp, vp, sz],
            "vg_gemm_run": [vp, vp, vp, vp, vp, vp, vp, sz, vp],
            "vg_attention_plan_create": [vp, C.POINTER(AttentionDesc), C.POINTER(vp)],
            "vg_attention_plan_destroy": [vp],
            "vg_attention_plan_workspace_size": [vp, C.POINTER(sz)],
            "vg_attention_plan_kernel": [vp, C.POINTER(i32)],
            "vg_attention_run": [vp, C.POINTER(AttentionArgs), vp],
            "vg_sage_attention_plan_create": [vp, C.POINTER(SageAttentionDesc), C.POINTER(vp)],
            "vg_sage_attention_plan_destroy": [vp],
            "vg_sage_attention_plan_workspace_size": [vp, C.POINTER(sz)],
            "vg_sage_attention_plan_blocks": [vp, C.POINTER(i32), C.POINTER(i32)],
            "vg_sage_attention_run": [vp, C.POINTER(SageAttentionArgs), i32, vp],
            "vg_norm_modulate": [i32, vp, i32, i64, vp, i32, i64, i64, i64, i64, f32, vp, vp, i32,
                                 C.POINTER(RowVector), C.POINTER(RowVector), vp],
            "vg_norm_modulate_fp8_scaled": [i32, vp, i32, i64, vp, vp, i64, i64, i64, f32, vp, vp, i32,
                                            C.POINTER(RowVector), C.POINTER(RowVector), vp],
            "vg_norm_modulate_fp8_rows": [i32, vp, i32, i64, vp, vp, i64, i64, i64, f32, vp, vp, i32,
                                          C.POINTER(RowVector), C.POINTER(RowVector), vp],
            "vg_rmsnorm_rope": [vp, i64, vp, i64, i64, i64, i64, i64, i32, f32, vp, i32, vp, vp, i64, vp],
            "vg_gated_residual": [vp, i32, vp, i32, C.POINTER(RowVector), vp, i64, i64, i64, vp],
            "vg_residual_norm": [i32, vp, i32, vp, i32, C.POINTER(RowVector), vp, vp, i32, vp, i64, i64, i64, f32, vp, vp,
                                 i32, C.POINTER(RowVector), C.POINTER(RowVector), vp],
            "vg_unary": [i32, vp, i32, vp, i32, i64, vp],
            "vg_combine": [vp, i64, i32, C.POINTER(C.c_double), C.POINTER(vp), vp],
            "vg_rescale_row_norms": [vp, vp, vp, i64, i64, vp],
            "vg_l1_distance": [vp, vp, i64, vp, vp],
            "vg_binary": [i32, vp, i32, vp, i32, i64, vp, i64, i64, vp],
            "vg_quantize_fp8": [vp, i32, i64, vp, vp, vp],
            "vg_nd": [i32, i32, C.POINTER(i64), C.POINTER(NdTensor), C.POINTER(NdTensor), C.POINTER(NdTensor), vp],
            "vg_dequantize_fp8": [vp, vp, i64, vp, i32, vp],
            "vg_conv_plan_create": [vp, C.POINTER(ConvDesc), C.POINTER(vp)],
            "vg_conv_plan_destroy": [vp],
            "vg_conv_plan_info": [vp, C.POINTER(sz), C.POINTER(i64)],
            "vg_conv_run": [vp, vp, vp, vp, i32, vp, vp, sz, vp],
            "vg_bgemm": [vp, C.POINTER(BgemmDesc), vp, vp, vp, vp, sz, vp],
            "vg_softmax_rows": [vp, i32, vp, i32, C.POINTER(i64), i64, f32, vp, i32, C.POINTER(i64), vp],
            "vg_gather_rows": [vp, i32, i64, i64, vp, i64, vp, i32, vp],
            "vg_channel_l2norm": [vp, vp, i32, i64, i64, i64, f32, vp, vp],
            "vg_group_norm": [vp, i32, vp, i32, i64, i64, i64, i64, f32, vp, vp, i32, vp, sz, vp],
            "vg_group_norm_workspace_size": [i64, i64, i64, i64, C.POINTER(sz)],
            "vg_argmax": [vp, i32, i64, i64, i64, i32, vp, vp],
            "vg_quantize_fp8_tensor": [vp, i32, i64, vp, vp, vp, vp],
            "vg_quantize_fp8_groups": [vp, i32, i64, i64, i64, vp, vp, vp],
            "vg_quantize_fp8_rows": [vp, i32, i64, i64, vp, vp, vp],
            "vg_fp8_weight_row_norms": [vp, i64, i64, vp, vp],
            "vg_fp8_gelu_row_scales": [vp, i64, i64, vp, vp, vp, i64, vp, vp, vp, vp],
            "vg_fp8_gemm_gelu_rows_workspace_size": [i64, i64, i64, C.POINTER(sz)],
            "vg_fp8_gemm_gelu_rows": [vp, vp, vp, vp, vp, i64, i64, i64, vp, vp, sz, vp],
            "vg_fp8_gemm_plan_create": [vp, C.POINTER(Fp8GemmDesc), C.POINTER(vp)],
            "vg_fp8_gemm_plan_destroy": [vp],
            "vg_fp8_gemm_plan_workspace_size": [vp, C.POINTER(sz)],
            "vg_fp8_gemm_run": [vp, vp, vp, vp, vp, vp, vp, vp, sz, vp],
            "vg_fp8_gemm_plan_tune": [vp, vp, vp, vp, vp, vp, vp, vp, sz, i32, i32, vp, C.POINTER(f32), C.POINTER(i32)],
            "vg_fp8_gemm_plan_get_algo": [vp, vp, sz],
            "vg_fp8_gemm_plan_set_algo": [vp, vp, sz],
            "vg_dequantize_nvfp4": [vp, vp, vp, i64, i64, vp, vp],
            "vg_quantize_nvfp4": [vp, i32, i64, i64, vp, vp, vp, vp],
            "vg_swizzle_nvfp4_scales": [vp, i64, i64, vp, vp],
            "vg_nvfp4_gemm_plan_create": [vp, C.POINTER(Nvfp4GemmDesc), C.POINTER(vp)],
            "vg_nvfp4_gemm_plan_destroy": [vp],
            "vg_nvfp4_gemm_plan_workspace_size": [vp, C.POINTER(sz)],
            "vg_nvfp4_gemm_run": [vp, vp, vp, vp, vp, vp, vp, vp, vp, vp, sz, vp],
        }
        for name, args in sig.items():
            f = getattr(L, name)
            f.argtypes = args
            f.restype = C.c_int
        L.vg_sage_attention_plan_q_codes_bytes.argtypes = [vp, C.POINTER(sz)]
        L.vg_sage_attention_plan_q_codes_bytes.restype = C.c_int
        L.vg_sage_quantize_q_norm_rope.argtypes = [vp, vp, i64, i32, f32, vp, i32, vp, vp, i64, vp, sz, vp]
        L.vg_sage_quantize_q_norm_rope.restype = C.c_int
        L.vg_quantize_fp8_rows_gelu.argtypes = [vp, i32, i64, i64, vp, vp, vp]
        L.vg_quantize_fp8_rows_gelu.restype = C.c_int
        L.vg_nvfp4_tiled_scale_bytes.argtypes = [i64, i64]
        L.vg_nvfp4_tiled_scale_bytes.restype = i64
        ctx = C.c_void_p()
        self.check(L.vg_context_create(0, C.byref(ctx)))
        self.ctx = ctx

    def check(self, status):
        if status != 0:
            raise VgError(status, self.lib.vg_last_error().decode())

    def call(self, name, *args):
        self.check(getattr(self.lib, name)(*args))

    def versions(self):
        v = Versions()
        self.call("vg_get_versions", C.byref(v))
        return {f: getattr(v, f) for f, _ in Versions._fields_}

    # ---- GEMM ----
    def gemm_plan(self, m, n, k, layout=WEIGHT_NK, epilogue=EPI_NONE, out_dtype=BF16, bias_dtype=BF16, has_c=False,
                  alpha=1.0, beta=0.0, lda=0, ldw=0, ldc=0):
        d = GemmDesc(C.sizeof(GemmDesc), m, n, k, lda, ldw, ldc, BF16, BF16, out_dtype, bias_dtype, layout, epilogue,
                     int(has_c), alpha, beta)
        p = C.c_void_p()
        self.call("vg_gemm_plan_create", self.ctx, C.byref(d), C.byref(p))
        return p

    def gemm_workspace(self, plan):
        s = C.c_size_t()
        self.call("vg_gemm_plan_workspace_size", plan, C.byref(s))
        return s.value

    def gemm_run(self, plan, a, w, bias, c, out, ws, stream=0):
        self.call("vg_gemm_run", plan, ptr(a), ptr(w), ptr(bias), ptr(c), ptr(out), ptr(ws),
                  0 if ws is None else ws.numel(), C.c_void_p(stream))

    def gemm_tune(self, plan, a, w, bias, c, out, ws, candidates=8, iterations=5, stream=0):
        best, tried = C.c_float(), C.c_int32()
        self.call("vg_gemm_plan_tune", plan, ptr(a), ptr(w), ptr(bias), ptr(c), ptr(out), ptr(ws), ws.numel(),
                  candidates, iterations, C.c_void_p(stream), C.byref(best), C.byref(tried))
        return best.value, tried.value

    def gemm_get_algo(self, plan):
        return self._get_algo("vg_gemm_plan_get_algo", plan)

    def gemm_set_algo(self, plan, blob):
        self._set_algo("vg_gemm_plan_set_algo", plan, blob)

    def _get_algo(self, fn, plan):
        """A GEMM plan's algorithm as its ALGO_BLOB_BYTES blob (bf16 and FP8 plans: fn names which)."""
        buf = (C.c_uint8 * ALGO_BLOB_BYTES)()
        self.call(fn, plan, buf, ALGO_BLOB_BYTES)
        return bytes(buf)

    def _set_algo(self, fn, plan, blob):
        buf = (C.c_uint8 * len(blob)).from_buffer_copy(blob)
        self.call(fn, plan, buf, len(blob))

    # ---- attention ----
    def attention_plan(self, b, h, sq, skv, d, q_strides=(0, 0, 0, 0), k_strides=(0, 0, 0, 0), v_strides=(0, 0, 0, 0),
                       o_strides=(0, 0, 0, 0), kv_heads=0, scale=0.0, kernel=ATTN_AUTO, dtype=BF16):
        arr = C.c_int64 * 4
        desc = AttentionDesc(C.sizeof(AttentionDesc), kernel, dtype, dtype, b, h, kv_heads, sq, skv, d,
                             arr(*q_strides), arr(*k_strides), arr(*v_strides), arr(*o_strides), scale)
        p = C.c_void_p()
        self.call("vg_attention_plan_create", self.ctx, C.byref(desc), C.byref(p))
        return p

    def attention_workspace(self, plan):
        s = C.c_size_t()
        self.call("vg_attention_plan_workspace_size", plan, C.byref(s))
        return s.value

    def attention_run(self, plan, q, k, v, out, ws, stream=0, scales=None):
        """scales: FP8 kernel only, the (q, k, v, out) scale blocks (float32 tensors of FP8_SCALE_FLOATS)."""
        sp = [None] * 4 if scales is None else [t.data_ptr() for t in scales]
        a = AttentionArgs(C.sizeof(AttentionArgs), q.data_ptr(), k.data_ptr(), v.data_ptr(), out.data_ptr(),
                          *sp, None if ws is None else ws.data_ptr(), 0 if ws is None else ws.numel())
        self.call("vg_attention_run", plan, C.byref(a), C.c_void_p(stream))

    # ---- Sage-style quantized attention (bf16 in and out) ----
    def sage_plan(self, b, h, sq, skv, d, q_strides=(0, 0, 0, 0), k_strides=(0, 0, 0, 0), v_strides=(0, 0, 0, 0),
                  o_strides=(0, 0, 0, 0), kv_heads=0, scale=0.0, block_q=0, block_k=0, kernel=0, q_scale_tokens=0,
                  k_scale_tokens=0):
        arr = C.c_int64 * 4
        desc = SageAttentionDesc(C.sizeof(SageAttentionDesc), b, h, kv_heads, sq, skv, d, arr(*q_strides),
                                 arr(*k_strides), arr(*v_strides), arr(*o_strides), scale, block_q, block_k, kernel,
                                 q_scale_tokens, k_scale_tokens)
        p = C.c_void_p()
        self.call("vg_sage_attention_plan_create", self.ctx, C.byref(desc), C.byref(p))
        return p

    def sage_workspace(self, plan):
        s = C.c_size_t()
        self.call("vg_sage_attention_plan_workspace_size", plan, C.byref(s))
        return s.value

    def sage_blocks(self, plan):
        bq, bk = C.c_int32(), C.c_int32()
        self.call("vg_sage_attention_plan_blocks", plan, C.byref(bq), C.byref(bk))
        return bq.value, bk.value

    def sage_kernel(self, plan):
        """The main kernel a plan runs: SAGE_KERNEL_MMA or SAGE_KERNEL_WGMMA."""
        k = C.c_int32()
        self.call("vg_sage_attention_plan_kernel", plan, C.byref(k))
        return k.value

    def sage_run(self, plan, q, k, v, out, ws, phase=SAGE_PHASE_ALL, stream=0):
        """q/k/v may be None for SAGE_PHASE_ATTEND, out for SAGE_PHASE_QUANTIZE; ws a uint8 tensor."""
        p = lambda t: None if t is None else t.data_ptr()  # noqa: E731
        a = SageAttentionArgs(C.sizeof(SageAttentionArgs), p(q), p(k), p(v), p(out), p(ws), 0 if ws is None else ws.numel())
        self.call("vg_sage_attention_run", plan, C.byref(a), phase, C.c_void_p(stream))

    def sage_q_codes_bytes(self, plan):
        s = C.c_size_t()
        self.call("vg_sage_attention_plan_q_codes_bytes", plan, C.byref(s))
        return s.value

    def sage_quantize_q_norm_rope(self, plan, x, q_codes, eps, weight, cos, sin, apply_norm=1, x_stride=0,
                                  table_stride=0, stream=0):
        """Q's codes and scales (q_codes: a uint8 tensor of sage_q_codes_bytes) from q's projection x, normalized and
        rotated as rmsnorm_rope does (cos/sin None: no rotation); SAGE_PHASE_KV_ATTEND takes q_codes as q."""
        self.call("vg_sage_quantize_q_norm_rope", plan, ptr(x), x_stride, apply_norm, eps, ptr(weight),
                  dtype_of(weight) if weight is not None else FP32, ptr(cos), ptr(sin), table_stride, ptr(q_codes),
                  q_codes.numel(), C.c_void_p(stream))

    # ---- N-d elementwise (op 0 = copy) ----
    def nd_copy(self, sizes, out, out_offset, out_strides, a, a_offset, a_strides, stream=0):
        """out[view] = a[view]: element offsets and strides per dim (elements)."""
        arr = C.c_int64 * 8
        o = NdTensor(out.data_ptr() + out_offset * out.element_size(), dtype_of(out), arr(*out_strides))
        x = NdTensor(a.data_ptr() + a_offset * a.element_size(), dtype_of(a), arr(*a_strides))
        self.call("vg_nd", 0, len(sizes), (C.c_int64 * len(sizes))(*sizes), C.byref(o), C.byref(x), None, C.c_void_p(stream))

    def rope_rotate_half(self, sizes, axis, first, out, out_strides, x, x_strides, cos, cos_strides, sin, sin_strides, stream=0):
        """out = x·cos + rotate_half(x)·sin over the index space `sizes`; the rotated `axis` is split [first, n − first];
        strides per dim in elements (0 = broadcast); cos/sin float32."""
        arr = C.c_int64 * 8
        t = [NdTensor(a.data_ptr(), dtype_of(a), arr(*st)) for a, st in ((out, out_strides), (x, x_strides), (cos, cos_strides), (sin, sin_strides))]
        self.call("vg_rope_rotate_half", len(sizes), (C.c_int64 * len(sizes))(*sizes), axis, C.c_int64(first),
                  *[C.byref(v) for v in t], C.c_void_p(stream))

    # ---- FP8 quantization ----
    def quantize_fp8(self, x, out, block, stream=0):
        self.call("vg_quantize_fp8", ptr(x), dtype_of(x), x.numel(), ptr(out), ptr(block), C.c_void_p(stream))

    def dequantize_fp8(self, x, block, out, stream=0):
        self.call("vg_dequantize_fp8", ptr(x), ptr(block), x.numel(), ptr(out), dtype_of(out), C.c_void_p(stream))

    # ---- quantized linears ----
    def quantize_fp8_tensor(self, x, out, scale, static_scale=None, stream=0):
        """out (e4m3, x's shape) and scale[FP8_TENSOR_DEQUANT] (the dequantization scale); static_scale: a 1-float tensor."""
        self.call("vg_quantize_fp8_tensor", ptr(x), dtype_of(x), x.numel(), ptr(static_scale), ptr(out), ptr(scale),
                  C.c_void_p(stream))

    def quantize_fp8_groups(self, x, out, scales, padded_rows=None, stream=0):
        """x [rows, cols] -> out [padded_rows, cols] e4m3, scales [cols / 128, padded_rows] float32."""
        rows, cols = x.shape
        self.call("vg_quantize_fp8_groups", ptr(x), dtype_of(x), rows, cols, padded_rows or rows, ptr(out), ptr(scales),
                  C.c_void_p(stream))

    def quantize_fp8_rows(self, x, out, scales, stream=0):
        """x [rows, cols] -> out [rows, cols] e4m3, scales [rows] float32 (one dequantization scale per row)."""
        rows, cols = x.shape
        self.call("vg_quantize_fp8_rows", ptr(x), dtype_of(x), rows, cols, ptr(out), ptr(scales), C.c_void_p(stream))

    def quantize_fp8_rows_gelu(self, x, out, scales, stream=0):
        """As quantize_fp8_rows, of GELU(x) (tanh form), each value rounded to x's dtype first."""
        rows, cols = x.shape
        self.call("vg_quantize_fp8_rows_gelu", ptr(x), dtype_of(x), rows, cols, ptr(out), ptr(scales), C.c_void_p(stream))

    def fp8_weight_row_norms(self, w, norms, stream=0):
        """w [n, k] e4m3 -> norms [n] float32: the L2 norm of each row's codes."""
        n, k = w.shape
        self.call("vg_fp8_weight_row_norms", ptr(w), n, k, ptr(norms), C.c_void_p(stream))

    def fp8_gelu_row_scales(self, a_scale, k, w_norms, w_scale, bias, out_scale, row_scale, inv_half, stream=0):
        """Per row: out_scale (the bound scale of GELU(a · wᵀ + bias)), row_scale = a_scale · w_scale, inv_half = 0.5 /
        out_scale (w_scale one float: per tensor)."""
        self.call("vg_fp8_gelu_row_scales", ptr(a_scale), a_scale.shape[0], k, ptr(w_norms), ptr(w_scale), ptr(bias),
                  w_norms.shape[0], ptr(out_scale), ptr(row_scale), ptr(inv_half), C.c_void_p(stream))

    def fp8_gemm_gelu_rows_workspace(self, m, n, k):
        b = C.c_size_t()
        self.call("vg_fp8_gemm_gelu_rows_workspace_size", m, n, k, C.byref(b))
        return b.value

    def fp8_gemm_gelu_rows(self, a, w, bias, row_scale, inv_half, codes, workspace, stream=0):
        """codes[m, n] e4m3 = (GELU(row_scale[m] · (a · wᵀ) + bias) · 2 · inv_half[m] (CUTLASS, sm_90a)."""
        m, k = a.shape
        n = w.shape[0]
        self.call("vg_fp8_gemm_gelu_rows", ptr(a), ptr(w), ptr(bias), ptr(row_scale), ptr(inv_half), m, n, k, ptr(codes),
                  ptr(workspace), 0 if workspace is None else workspace.numel() * workspace.element_size(), C.c_void_p(stream))

    def fp8_gemm_plan(self, m, n, k, scaling=FP8_SCALING_TENSOR, epilogue=EPI_NONE, fast_accumulation=False):
        d = Fp8GemmDesc(C.sizeof(Fp8GemmDesc), m, n, k, scaling, epilogue, int(fast_accumulation))
        p = C.c_void_p()
        self.call("vg_fp8_gemm_plan_create", self.ctx, C.byref(d), C.byref(p))
        return p

    def fp8_gemm_workspace(self, plan):
        s = C.c_size_t()
        self.call("vg_fp8_gemm_plan_workspace_size", plan, C.byref(s))
        return s.value

    def fp8_gemm_run(self, plan, a, a_scale, w, w_scale, bias, out, ws, stream=0):
        self.call("vg_fp8_gemm_run", plan, ptr(a), ptr(a_scale), ptr(w), ptr(w_scale), ptr(bias), ptr(out), ptr(ws),
                  0 if ws is None else ws.numel(), C.c_void_p(stream))

    def fp8_gemm_tune(self, plan, a, a_scale, w, w_scale, bias, out, ws, candidates=8, iterations=5, stream=0):
        best, tried = C.c_float(), C.c_int32()
        self.call("vg_fp8_gemm_plan_tune", plan, ptr(a), ptr(a_scale), ptr(w), ptr(w_scale), ptr(bias), ptr(out), ptr(ws),
                  ws.numel(), candidates, iterations, C.c_void_p(stream), C.byref(best), C.byref(tried))
        return best.value, tried.value

    def fp8_gemm_get_algo(self, plan):
        return self._get_algo("vg_fp8_gemm_plan_get_algo", plan)

    def fp8_gemm_set_algo(self, plan, blob):
        self._set_algo("vg_fp8_gemm_plan_set_algo", plan, blob)

    def dequantize_nvfp4(self, packed, block_scales, scale_2, out, stream=0):
        """packed uint8 [rows, cols / 2], block_scales e4m3 (or uint8 bytes) [rows, cols / 16], scale_2 a 1-float tensor,
        out bf16 [rows, cols]."""
        rows, cols = out.shape
        self.call("vg_dequantize_nvfp4", ptr(packed), ptr(block_scales), ptr(scale_2), rows, cols, ptr(out),
                  C.c_void_p(stream))

    def nvfp4_tiled_scale_bytes(self, rows, cols):
        return self.lib.vg_nvfp4_tiled_scale_bytes(rows, cols)

    def quantize_nvfp4(self, x, packed, tiled_scales, scale, stream=0):
        """x bf16/fp32 [rows, cols] -> packed uint8 [rows, cols / 2], tiled e4m3 scales (nvfp4_tiled_scale_bytes),
        scale: NVFP4_SCALE_FLOATS floats ([NVFP4_SCALE_2] = the dynamic scale_2)."""
        rows, cols = x.shape
        self.call("vg_quantize_nvfp4", ptr(x), dtype_of(x), rows, cols, ptr(packed), ptr(tiled_scales), ptr(scale),
                  C.c_void_p(stream))

    def swizzle_nvfp4_scales(self, block_scales, cols, tiled_scales, stream=0):
        self.call("vg_swizzle_nvfp4_scales", ptr(block_scales), block_scales.shape[0], cols, ptr(tiled_scales),
                  C.c_void_p(stream))

    def nvfp4_gemm_plan(self, m, n, k):
        d = Nvfp4GemmDesc(C.sizeof(Nvfp4GemmDesc), m, n, k)
        p = C.c_void_p()
        self.call("vg_nvfp4_gemm_plan_create", self.ctx, C.byref(d), C.byref(p))
        return p

    # ---- fused kernels ----
    def norm_modulate(self, kind, x, out, rows, tokens, channels, eps, weight=None, bias=None, scale=None, shift=None,
                      x_stride=0, out_stride=0, stream=0):
        pd = dtype_of(weight if weight is not None else bias) if (weight is not None or bias is not None) else FP32
        self.call("vg_norm_modulate", kind, ptr(x), dtype_of(x), x_stride, ptr(out), dtype_of(out), out_stride, rows,
                  tokens, channels, eps, ptr(weight), ptr(bias), pd,
                  None if scale is None else C.byref(scale), None if shift is None else C.byref(shift),
                  C.c_void_p(stream))

    def norm_modulate_fp8_rows(self, kind, x, codes, row_scales, rows, tokens, channels, eps, weight=None, bias=None,
                               scale=None, shift=None, x_stride=0, stream=0):
        self._norm_fp8("vg_norm_modulate_fp8_rows", kind, x, codes, row_scales, rows, tokens, channels, eps, weight, bias,
                       scale, shift, x_stride, stream)

    def norm_modulate_fp8_scaled(self, kind, x, codes, quant_factor, rows, tokens, channels, eps, weight=None, bias=None,
                                 scale=None, shift=None, x_stride=0, stream=0):
        """codes = e4m3(norm(x) · quant_factor[0]) (quant_factor a one-float device tensor)."""
        self._norm_fp8("vg_norm_modulate_fp8_scaled", kind, x, codes, quant_factor, rows, tokens, channels, eps, weight, bias,
                       scale, shift, x_stride, stream)

    def _norm_fp8(self, fn, kind, x, codes, scales, rows, tokens, channels, eps, weight, bias, scale, shift, x_stride, stream):
        pd = dtype_of(weight if weight is not None else bias) if (weight is not None or bias is not None) else FP32
        self.call(fn, kind, ptr(x), dtype_of(x), x_stride, ptr(codes), ptr(scales), rows, tokens, channels, eps, ptr(weight),
                  ptr(bias), pd, None if scale is None else C.byref(scale), None if shift is None else C.byref(shift),
                  C.c_void_p(stream))

    def rmsnorm_rope(self, x, out, rows, tokens, heads, head_dim, eps, weight, cos, sin, apply_norm=1, x_stride=0,
                     out_stride=0, table_stride=0, stream=0):
        self.call("vg_rmsnorm_rope", ptr(x), x_stride, ptr(out), out_stride, rows, tokens, heads, head_dim, apply_norm,
                  eps, ptr(weight), dtype_of(weight) if weight is not None else FP32, ptr(cos), ptr(sin),
                  table_stride, C.c_void_p(stream))

    def gated_residual(self, x, y, gate, out, rows, tokens, channels, stream=0):
        self.call("vg_gated_residual", ptr(x), dtype_of(x), ptr(y), dtype_of(y), C.byref(gate), ptr(out), rows,
                  tokens, channels, C.c_void_p(stream))

    def residual_norm(self, kind, x, y, gate, sum_out, out, rows, tokens, channels, eps, row_scales=None, weight=None,
                      bias=None, scale=None, shift=None, stream=0):
        """sum_out = x + y * gate (gate a RowVector or None), out = the norm of sum_out (bf16/fp32, or FP8 codes with
        row_scales)."""
        pd = dtype_of(weight if weight is not None else bias) if (weight is not None or bias is not None) else FP32
        self.call("vg_residual_norm", kind, ptr(x), dtype_of(x), ptr(y), dtype_of(y), None if gate is None else C.byref(gate),
                  ptr(sum_out), ptr(out), FP32 if row_scales is not None else dtype_of(out), ptr(row_scales), rows, tokens,
                  channels, eps, ptr(weight), ptr(bias), pd, None if scale is None else C.byref(scale),
                  None if shift is None else C.byref(shift), C.c_void_p(stream))

    def unary(self, op, x, out, stream=0):
        self.call("vg_unary", op, ptr(x), dtype_of(x), ptr(out), dtype_of(out), x.numel(), C.c_void_p(stream))

    def combine(self, out, terms, count=None, stream=0):
        """out[:count] = sum(coef * src[:count] for coef, src in terms) in float64, stored float32."""
        n = len(terms)
        coefs = (C.c_double * n)(*[c for c, _ in terms])
        srcs = (C.c_void_p * n)(*[ptr(t) for _, t in terms])
        self.call("vg_combine", ptr(out), count if count is not None else out.numel(), n, coefs, srcs, C.c_void_p(stream))

    def rescale_row_norms(self, out, src, ref, row_length, stream=0):
        """out[r] = src[r] * (||ref[r]|| / ||src[r]||) over rows of row_length float32 elements."""
        self.call("vg_rescale_row_norms", ptr(out), ptr(src), ptr(ref), src.numel() // row_length, row_length,
                  C.c_void_p(stream))

    def l1_distance(self, a, b, stream=0):
        """(sum |a - b|, sum |b|) of float32 tensors, float64 sums on the device."""
        import torch
        sums = torch.empty(2, dtype=torch.float64, device=a.device)
        self.call("vg_l1_distance", ptr(a), ptr(b), a.numel(), ptr(sums), C.c_void_p(stream))
        torch.cuda.synchronize()
        return sums[0].item(), sums[1].item()

    def binary(self, op, a, b, b_row_stride, out, rows, channels, stream=0):
        self.call("vg_binary", op, ptr(a), dtype_of(a), ptr(b), dtype_of(b), b_row_stride, ptr(out), rows, channels,
                  C.c_void_p(stream))

    # ---- encoder / VAE kernels ----
    def conv(self, x, w, bias, out, stride, pad, dilation, stream=0):
        """NC[D]HW convolution (groups 1, symmetric pads); returns the plan's workspace bytes used."""
        sd = x.dim() - 2
        arr = C.c_int64 * 3
        fill = lambda v: arr(*(list(v) + [1] * (3 - len(v))))
        d = ConvDesc(C.sizeof(ConvDesc), dtype_of(x), sd, x.shape[0], x.shape[1], w.shape[0], fill(x.shape[2:]),
                     fill(w.shape[2:]), fill(stride), arr(*(list(pad) + [0] * (3 - len(pad)))), fill(dilation), 0)
        p = C.c_void_p()
        self.call("vg_conv_plan_create", self.ctx, C.byref(d), C.byref(p))
        try:
            ws, osz = C.c_size_t(), (C.c_int64 * 3)()
            self.call("vg_conv_plan_info", p, C.byref(ws), osz)
            import torch
            buf = torch.empty(max(ws.value, 1), dtype=torch.uint8, device=x.device)
            self.call("vg_conv_run", p, ptr(x), ptr(w), ptr(bias), dtype_of(bias) if bias is not None else FP32, ptr(out),
                      ptr(buf), ws.value, C.c_void_p(stream))
            return ws.value, list(osz)[:sd]
        finally:
            self.call("vg_conv_plan_destroy", p)

    def bgemm(self, a, b, out, batch, m, n, k, trans_b, lda, ldb, ldc, sa, sb, sc, alpha=1.0, ws=None, stream=0):
        d = BgemmDesc(C.sizeof(BgemmDesc), batch, m, n, k, int(trans_b), lda, ldb, ldc, sa, sb, sc, dtype_of(a),
                      dtype_of(out), alpha)
        self.call("vg_bgemm", self.ctx, C.byref(d), ptr(a), ptr(b), ptr(out), ptr(ws), 0 if ws is None else ws.numel(),
                  C.c_void_p(stream))

    def softmax_rows(self, x, out, row_dims, n, scale=1.0, bias=None, bias_strides=(0, 0, 0, 0), stream=0):
        self.call("vg_softmax_rows", ptr(x), dtype_of(x), ptr(out), dtype_of(out), (C.c_int64 * 3)(*row_dims), n, scale,
                  ptr(bias), dtype_of(bias) if bias is not None else FP32, (C.c_int64 * 4)(*bias_strides), C.c_void_p(stream))

    def gather_rows(self, table, indices, out, stream=0):
        self.call("vg_gather_rows", ptr(table), dtype_of(table), table.shape[0], table.shape[1], ptr(indices),
                  indices.numel(), ptr(out), dtype_of(out), C.c_void_p(stream))

    def channel_l2norm(self, x, out, eps, weight=None, stream=0):
        b, c = x.shape[0], x.shape[1]
        self.call("vg_channel_l2norm", ptr(x), ptr(out), dtype_of(x), b, c, x.numel() // (b * c), eps, ptr(weight),
                  C.c_void_p(stream))

    def group_norm(self, x, out, groups, eps, weight=None, bias=None, silu=False, stream=0):
        """x, out [batch, channels, ...] contiguous; weight/bias fp32 [channels] or None."""
        import torch
        b, c = x.shape[0], x.shape[1]
        inner = x.numel() // (b * c)
        n = C.c_size_t()
        self.call("vg_group_norm_workspace_size", b, c, inner, groups, C.byref(n))
        ws = torch.empty(max(n.value, 1), dtype=torch.uint8, device=x.device)
        self.call("vg_group_norm", ptr(x), dtype_of(x), ptr(out), dtype_of(out), b, c, inner, groups, eps,
                  ptr(weight), ptr(bias), 1 if silu else 0, ptr(ws), n.value, C.c_void_p(stream))

    def argmax(self, x, dim, out, select_last=False, stream=0):
        """out (int64, x's shape without `dim`) = argmax of contiguous x along dim."""
        outer = math.prod(x.shape[:dim])
        inner = math.prod(x.shape[dim + 1:])
        self.call("vg_argmax", ptr(x), dtype_of(x), outer, x.shape[dim], inner, 1 if select_last else 0, ptr(out),
                  C.c_void_p(stream))

    def close(self):
        if self.ctx:
            self.call("vg_context_destroy", self.ctx)
            self.ctx = None
