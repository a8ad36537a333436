/*
 * m4cuda_internal.cuh: what the .cu files of libm4cuda share; not part of the
 * API (m4cuda.h). Each launcher enqueues its kernel on stream st and returns
 * the launch's error (cudaGetLastError). Shapes are row-major (rows, cols).
 * The CPU references are native/model_gemm.c and native/model_ops.c.
 */
#ifndef M4CUDA_INTERNAL_CUH
#define M4CUDA_INTERNAL_CUH

#include <cuda_runtime.h>
#include <stdint.h>

/* GEMM (model_gemm.cu): C (M,N) = A (M,K) @ B (N,K)^T, then per element
 * v = acc [+ bias[j]] [+ res[i*ldr + j]], [relu], + addc. B is a weight in
 * PyTorch's (out, in) layout, so C = linear(A). res may alias C (each element
 * is read before it is written, by the same thread). */
typedef struct {
    const float *bias; /* (N) or NULL */
    const float *res;  /* (M, ldr) or NULL */
    long ldr;
    int relu;
    float addc;
} m4c_epi;

/* The kernels the launcher picks from: three 2-D tilings, by how many blocks
 * fill the GPU, and for M <= 16 rows warps per column (SKINNY). */
typedef enum {
    M4C_TILE_AUTO = 0,
    M4C_TILE_128x128,
    M4C_TILE_64x64,
    M4C_TILE_16x32,
    M4C_TILE_SKINNY
} m4c_tile;

cudaError_t m4c_gemm(cudaStream_t st, int sms, m4c_tile tile, int M, int N, int K, const float *A,
                     long lda, const float *B, long ldb, float *C, long ldc, m4c_epi ep);

/* Ops (model_ops.cu). */

/* load_rows: input row i (feat_dim floats) goes to xin row dst[i] when
 * dst[i] >= 0, else to mlpin row -dst[i]-1 (row stride ld_mlp): normalised
 * ((x - shift) * scale, when shift != NULL), then each bucket flagged in
 * empty (n_buckets x n_pct values) overwritten by cvec. The smallest flat
 * index of a NaN/Inf input is atomicMin'ed into *bad. */
cudaError_t m4c_load_rows(cudaStream_t st, float *xin, float *mlpin, long ld_mlp, const float *feat,
                          const uint8_t *empty, const int *dst, int in_rows, int F, int nb,
                          int npct, const float *shift, const float *scale, const float *cvec,
                          unsigned long long *bad);

/* rmsnorm: y = w * x / sqrt(mean(x^2) + eps) per row of n, sum in double. */
cudaError_t m4c_rmsnorm(cudaStream_t st, float *y, const float *x, const float *w, int R, int n,
                        float eps);

/* attention: per scenario b (rows tstart[b]..tstart[b+1]-1, at most S) and
 * head: RoPE on q and k (tables cos_t, sin_t (S, hd/2)), causal softmax(q k^T
 * / sqrt(hd)) v. qkv is (R, 3*D): q, k, v side by side; out is (R, D). */
cudaError_t m4c_attention(cudaStream_t st, float *out, const float *qkv, const int *tstart, int B,
                          int nh, int hd, int D, int S, const float *cos_t, const float *sin_t);
/* Dynamic shared memory the attention kernel needs, in bytes. */
size_t m4c_attention_smem(int S, int hd);
/* m4c_attention_prepare allows the kernel that much shared memory (once per
 * device; needed above 48 KB). */
cudaError_t m4c_attention_prepare(size_t smem);

/* swiglu: g (R, Hd) = silu(a1) * a3, a1 and a3 the two halves of a13 (R, 2 Hd). */
cudaError_t m4c_swiglu(cudaStream_t st, float *g, const float *a13, int R, int Hd);

/* meanpool: dst row b (stride ldd) = mean of y rows tstart[b]..tstart[b+1]-1 (n wide). */
cudaError_t m4c_meanpool(cudaStream_t st, float *dst, long ldd, const float *y, const int *tstart,
                         int B, int n);

#endif /* M4CUDA_INTERNAL_CUH */
