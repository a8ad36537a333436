/*
 * model_ops.cu: the model's forward ops on the GPU, the CUDA twins of
 * native/model_ops.c (and of load_row in native/model.c): loading feature
 * rows (input normalisation, empty buckets -> the learned vector, NaN/Inf
 * check), RMSNorm, RoPE + causal attention, SwiGLU, mean-pool. Each kernel
 * computes what its C reference computes, in the same order where the order
 * changes the rounding (attention's sums over positions, RMSNorm's double
 * sum of squares); only the summation order inside dot products and reductions
 * differs.
 */
#include "m4cuda_internal.cuh"

#include <math.h>

/* ------------------------------------------------------------------------ */
/* input rows                                                               */
/* ------------------------------------------------------------------------ */

__global__ void load_rows_kernel(float *xin, float *mlpin, long ld_mlp,
                                 const float *__restrict__ feat, const uint8_t *__restrict__ empty,
                                 const int *__restrict__ dst, int F, int nb, int npct,
                                 const float *__restrict__ shift, const float *__restrict__ scale,
                                 const float *__restrict__ cvec, unsigned long long *bad) {
    /* one block per input row */
    const long i = blockIdx.x;
    const int d = dst[i];
    float *out = d >= 0 ? xin + (long)d * F : mlpin + (long)(-d - 1) * ld_mlp;
    const float *src = feat + i * F;
    const uint8_t *e = empty ? empty + i * nb : NULL;
    for (int j = threadIdx.x; j < F; j += blockDim.x) {
        float v = src[j];
        if (!isfinite(v)) atomicMin(bad, (unsigned long long)(i * F + j));
        if (shift) v = (v - shift[j]) * scale[j];
        if (e && j < nb * npct && e[j / npct] != 0) v = cvec[j % npct];
        out[j] = v;
    }
}

cudaError_t m4c_load_rows(cudaStream_t st, float *xin, float *mlpin, long ld_mlp, const float *feat,
                          const uint8_t *empty, const int *dst, int in_rows, int F, int nb,
                          int npct, const float *shift, const float *scale, const float *cvec,
                          unsigned long long *bad) {
    if (in_rows <= 0) return cudaSuccess;
    load_rows_kernel<<<in_rows, 256, 0, st>>>(xin, mlpin, ld_mlp, feat, empty, dst, F, nb, npct,
                                              shift, scale, cvec, bad);
    return cudaGetLastError();
}

/* ------------------------------------------------------------------------ */
/* RMSNorm                                                                  */
/* ------------------------------------------------------------------------ */

__global__ void rmsnorm_kernel(float *y, const float *__restrict__ x, const float *__restrict__ w,
                               int R, int n, float eps) {
    /* one warp per row; the sum of squares in double, as the CPU sums it */
    const int lane = threadIdx.x % 32;
    const long r = (long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (r >= R) return;
    const float *xr = x + r * n;
    float *yr = y + r * n;
    double ss = 0.0;
    for (int j = lane; j < n; j += 32) ss += (double)xr[j] * xr[j];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    const float s = (float)(1.0 / sqrt(ss / n + (double)eps));
    for (int j = lane; j < n; j += 32) yr[j] = w[j] * (xr[j] * s);
}

cudaError_t m4c_rmsnorm(cudaStream_t st, float *y, const float *x, const float *w, int R, int n,
                        float eps) {
    if (R <= 0) return cudaSuccess;
    const int rows_per_block = 8;
    rmsnorm_kernel<<<(R + rows_per_block - 1) / rows_per_block, 32 * rows_per_block, 0, st>>>(
        y, x, w, R, n, eps);
    return cudaGetLastError();
}

/* ------------------------------------------------------------------------ */
/* RoPE + causal attention                                                  */
/* ------------------------------------------------------------------------ */

size_t m4c_attention_smem(int S, int hd) {
    /* q, k, v (S, hd) and the probabilities (S, S) */
    return sizeof(float) * ((size_t)3 * S * hd + (size_t)S * S);
}

__global__ void attention_kernel(float *out, const float *__restrict__ qkv,
                                 const int *__restrict__ tstart, int hd, int D, int S,
                                 const float *__restrict__ cos_t, const float *__restrict__ sin_t) {
    /* one block per (head, scenario) */
    extern __shared__ float sm[];
    const int h = blockIdx.x, b = blockIdx.y;
    const int r0 = tstart[b], T = tstart[b + 1] - r0;
    const int half = hd / 2, nthr = blockDim.x, tid = threadIdx.x;
    const long ld = 3L * D;
    float *q = sm, *k = sm + (long)S * hd, *v = sm + 2L * S * hd, *P = sm + 3L * S * hd;

    /* load q, k (rotated by RoPE at their position t) and v of this head */
    for (int idx = tid; idx < T * half; idx += nthr) {
        int t = idx / half, i = idx % half;
        const float *row = qkv + (long)(r0 + t) * ld + (long)h * hd + 2 * i;
        float c = cos_t[t * half + i], s = sin_t[t * half + i];
        float q0 = row[0], q1 = row[1], k0 = row[D], k1 = row[D + 1];
        q[t * hd + 2 * i] = q0 * c - q1 * s;
        q[t * hd + 2 * i + 1] = q0 * s + q1 * c;
        k[t * hd + 2 * i] = k0 * c - k1 * s;
        k[t * hd + 2 * i + 1] = k0 * s + k1 * c;
        v[t * hd + 2 * i] = row[2 * D];
        v[t * hd + 2 * i + 1] = row[2 * D + 1];
    }
    __syncthreads();

    /* scores P[i][j] = q_i . k_j / sqrt(hd), j <= i */
    const float scale = 1.0f / sqrtf((float)hd);
    for (int idx = tid; idx < T * T; idx += nthr) {
        int i = idx / T, j = idx % T;
        if (j > i) continue;
        const float *qi = q + i * hd, *kj = k + j * hd;
        float s = 0.0f;
        for (int d = 0; d < hd; d++) s += qi[d] * kj[d];
        P[i * S + j] = s * scale;
    }
    __syncthreads();

    /* causal softmax of each row, in the CPU's order */
    for (int i = tid; i < T; i += nthr) {
        float *Pi = P + i * S;
        float mx = -INFINITY;
        for (int j = 0; j <= i; j++) mx = fmaxf(mx, Pi[j]);
        float sum = 0.0f;
        for (int j = 0; j <= i; j++) {
            Pi[j] = expf(Pi[j] - mx);
            sum += Pi[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j <= i; j++) Pi[j] *= inv;
    }
    __syncthreads();

    /* out_i = sum_{j <= i} P_ij v_j, summed over j in ascending order */
    for (int idx = tid; idx < T * hd; idx += nthr) {
        int i = idx / hd, d = idx % hd;
        const float *Pi = P + i * S;
        float o = 0.0f;
        for (int j = 0; j <= i; j++) o += Pi[j] * v[j * hd + d];
        out[(long)(r0 + i) * D + (long)h * hd + d] = o;
    }
}

cudaError_t m4c_attention_prepare(size_t smem) {
    return cudaFuncSetAttribute(attention_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                (int)smem);
}

cudaError_t m4c_attention(cudaStream_t st, float *out, const float *qkv, const int *tstart, int B,
                          int nh, int hd, int D, int S, const float *cos_t, const float *sin_t) {
    if (B <= 0) return cudaSuccess;
    dim3 grid((unsigned)nh, (unsigned)B);
    attention_kernel<<<grid, 128, m4c_attention_smem(S, hd), st>>>(out, qkv, tstart, hd, D, S,
                                                                    cos_t, sin_t);
    return cudaGetLastError();
}

/* ------------------------------------------------------------------------ */
/* SwiGLU, mean-pool                                                        */
/* ------------------------------------------------------------------------ */

__global__ void swiglu_kernel(float *g, const float *__restrict__ a13, long n, int Hd) {
    for (long idx = (long)blockIdx.x * blockDim.x + threadIdx.x; idx < n;
         idx += (long)gridDim.x * blockDim.x) {
        long r = idx / Hd;
        int j = (int)(idx % Hd);
        float x = a13[r * 2 * Hd + j], a3 = a13[r * 2 * Hd + Hd + j];
        g[idx] = x / (1.0f + expf(-x)) * a3;
    }
}

cudaError_t m4c_swiglu(cudaStream_t st, float *g, const float *a13, int R, int Hd) {
    long n = (long)R * Hd;
    if (n <= 0) return cudaSuccess;
    long nb = (n + 255) / 256;
    if (nb > 65536) nb = 65536;
    swiglu_kernel<<<(unsigned)nb, 256, 0, st>>>(g, a13, n, Hd);
    return cudaGetLastError();
}

__global__ void meanpool_kernel(float *dst, long ldd, const float *__restrict__ y,
                                const int *__restrict__ tstart, int n) {
    const int b = blockIdx.y;
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n) return;
    const int t0 = tstart[b], t1 = tstart[b + 1];
    float c = 0.0f;
    for (int t = t0; t < t1; t++) c += y[(long)t * n + j];
    dst[(long)b * ldd + j] = c * (1.0f / (float)(t1 - t0));
}

cudaError_t m4c_meanpool(cudaStream_t st, float *dst, long ldd, const float *y, const int *tstart,
                         int B, int n) {
    if (B <= 0 || n <= 0) return cudaSuccess;
    /* B <= 65535 (m4cuda_model_create caps max_batch at grid.y's limit) */
    dim3 grid((unsigned)((n + 127) / 128), (unsigned)B);
    meanpool_kernel<<<grid, 128, 0, st>>>(dst, ldd, y, tstart, n);
    return cudaGetLastError();
}
