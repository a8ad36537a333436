/*
 * model_gemm.cu: m4's fp32 GEMM on the GPU, the CUDA twin of
 * native/model_gemm.c for the model's linear layers: C (M,N) = A (M,K) @
 * B (N,K)^T with a fused epilogue (bias, residual, ReLU, constant).
 *
 * A classic shared-memory tiled SGEMM: a block computes a BM x BN tile of C,
 * walking K in BK-wide slices that are staged through shared memory (stored
 * k-major so that the inner loop reads 4 consecutive rows/columns as one
 * float4), double-buffered with a register prefetch of the next slice so
 * that one __syncthreads per slice suffices. Each thread owns a TM x TN
 * sub-tile, split into groups of 4 rows/columns spaced BM/(TM/4) apart
 * (likewise for N) so that a warp's shared-memory reads are contiguous.
 * Every product is summed in fp32 in ascending k order per slice, fp32 FMA.
 * Products of at most 16 rows take a second kernel, warps per column
 * (sgemm_skinny). Operands of any size and alignment: loads outside the
 * matrix read 0.
 */
#include "m4cuda_internal.cuh"

/* Global -> registers: element e = tid + i*NT of a (rows, BK) slice is row
 * r0 + e/BK, column k0 + e%BK of the row-major X (ld); outside X it is 0. */
template <int L, int NT, int BK>
__device__ __forceinline__ void gload(float (&r)[L], const float *__restrict__ X, long ld, int rows,
                                      int K, int r0, int k0, int tid) {
#pragma unroll
    for (int i = 0; i < L; i++) {
        int e = tid + i * NT, gr = r0 + e / BK, gk = k0 + e % BK;
        r[i] = (gr < rows && gk < K) ? X[(long)gr * ld + gk] : 0.0f;
    }
}

/* Registers -> shared memory, transposed to k-major: s[k][row]. */
template <int L, int NT, int BK, int W>
__device__ __forceinline__ void sstore(float (&s)[BK][W], const float (&r)[L], int tid) {
#pragma unroll
    for (int i = 0; i < L; i++) {
        int e = tid + i * NT;
        s[e % BK][e / BK] = r[i];
    }
}

template <int BM, int BN, int BK, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    sgemm_nt(int M, int N, int K, const float *__restrict__ A, long lda, const float *__restrict__ B,
             long ldb, float *C, long ldc, m4c_epi ep) {
    constexpr int NT = (BM / TM) * (BN / TN); /* threads */
    constexpr int TX = BN / TN;               /* threads along N */
    constexpr int VM = TM < 4 ? TM : 4, VN = TN < 4 ? TN : 4;
    constexpr int GM = TM / VM, GN = TN / VN; /* groups of VM rows / VN columns */
    constexpr int SM_ = BM / GM, SN_ = BN / GN; /* spacing of the groups */
    constexpr int LA = BM * BK / NT, LB = BN * BK / NT;
    static_assert(BM * BK % NT == 0 && BN * BK % NT == 0, "tile loads must split evenly");
    static_assert(TM % VM == 0 && TN % VN == 0, "sub-tile must be whole groups");
    __shared__ __align__(16) float As[2][BK][BM + 4];
    __shared__ __align__(16) float Bs[2][BK][BN + 4];

    const int tid = threadIdx.x, tx = tid % TX, ty = tid / TX;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;
    float ra[LA], rb[LB];

    gload<LA, NT, BK>(ra, A, lda, M, K, m0, 0, tid);
    gload<LB, NT, BK>(rb, B, ldb, N, K, n0, 0, tid);
    sstore<LA, NT, BK>(As[0], ra, tid);
    sstore<LB, NT, BK>(Bs[0], rb, tid);
    __syncthreads();
    int buf = 0;
    for (int k0 = 0; k0 < K; k0 += BK) {
        const bool more = k0 + BK < K;
        if (more) {
            gload<LA, NT, BK>(ra, A, lda, M, K, m0, k0 + BK, tid);
            gload<LB, NT, BK>(rb, B, ldb, N, K, n0, k0 + BK, tid);
        }
#pragma unroll
        for (int kk = 0; kk < BK; kk++) {
            float a[TM], b[TN];
#pragma unroll
            for (int g = 0; g < GM; g++) {
                const float *p = &As[buf][kk][g * SM_ + ty * VM];
                if constexpr (VM == 4) {
                    float4 v = *reinterpret_cast<const float4 *>(p);
                    a[g * 4 + 0] = v.x;
                    a[g * 4 + 1] = v.y;
                    a[g * 4 + 2] = v.z;
                    a[g * 4 + 3] = v.w;
                } else {
#pragma unroll
                    for (int i = 0; i < VM; i++) a[g * VM + i] = p[i];
                }
            }
#pragma unroll
            for (int g = 0; g < GN; g++) {
                const float *p = &Bs[buf][kk][g * SN_ + tx * VN];
                if constexpr (VN == 4) {
                    float4 v = *reinterpret_cast<const float4 *>(p);
                    b[g * 4 + 0] = v.x;
                    b[g * 4 + 1] = v.y;
                    b[g * 4 + 2] = v.z;
                    b[g * 4 + 3] = v.w;
                } else {
#pragma unroll
                    for (int j = 0; j < VN; j++) b[g * VN + j] = p[j];
                }
            }
#pragma unroll
            for (int i = 0; i < TM; i++)
#pragma unroll
                for (int j = 0; j < TN; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        if (more) {
            sstore<LA, NT, BK>(As[buf ^ 1], ra, tid);
            sstore<LB, NT, BK>(Bs[buf ^ 1], rb, tid);
        }
        __syncthreads();
        buf ^= 1;
    }

    /* epilogue */
#pragma unroll
    for (int i = 0; i < TM; i++) {
        int gm = m0 + (i / VM) * SM_ + ty * VM + i % VM;
        if (gm >= M) continue;
#pragma unroll
        for (int j = 0; j < TN; j++) {
            int gn = n0 + (j / VN) * SN_ + tx * VN + j % VN;
            if (gn >= N) continue;
            float v = acc[i][j];
            if (ep.bias) v += ep.bias[gn];
            if (ep.res) v += ep.res[(long)gm * ep.ldr + gn];
            if (ep.relu && !(v > 0.0f)) v = 0.0f;
            C[(long)gm * ldc + gn] = v + ep.addc;
        }
    }
}

/* Few rows (M <= MMAX, e.g. one path's transformer rows): the product is
 * bound by streaming the weights, and a 2-D tiling leaves most SMs idle or
 * waiting on one K slice at a time. Here a block of 8 warps computes CPB
 * columns of C for all M rows: 8/CPB warps per column, each streaming every
 * (8/CPB)-th 32-wide piece of row n of B (coalesced), all sharing A, staged
 * through shared memory in K chunks. Lane sums are combined by a butterfly,
 * the warps' sums in a fixed order: results do not vary between runs. */
template <int MMAX, int CPB>
__global__ void __launch_bounds__(256)
    sgemm_skinny(int M, int N, int K, const float *__restrict__ A, long lda,
                 const float *__restrict__ B, long ldb, float *C, long ldc, m4c_epi ep) {
    constexpr int WARPS = 8, WPC = WARPS / CPB, KC = 256;
    __shared__ float As[MMAX][KC];
    __shared__ float part[WARPS][MMAX];
    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    const int n = blockIdx.x * CPB + warp / WPC, sub = warp % WPC;
    const float *w = B + (long)(n < N ? n : 0) * ldb;
    float acc[MMAX];
#pragma unroll
    for (int m = 0; m < MMAX; m++) acc[m] = 0.0f;
    for (int k0 = 0; k0 < K; k0 += KC) {
        for (int idx = tid; idx < MMAX * KC; idx += 256) {
            int m = idx / KC, kk = idx % KC;
            As[m][kk] = (m < M && k0 + kk < K) ? A[(long)m * lda + k0 + kk] : 0.0f;
        }
        __syncthreads();
        if (n < N) {
#pragma unroll 4
            for (int kk = sub * 32 + lane; kk < KC; kk += 32 * WPC) {
                float wv = k0 + kk < K ? w[k0 + kk] : 0.0f;
#pragma unroll
                for (int m = 0; m < MMAX; m++) acc[m] = fmaf(As[m][kk], wv, acc[m]);
            }
        }
        __syncthreads();
    }
#pragma unroll
    for (int m = 0; m < MMAX; m++) {
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) acc[m] += __shfl_xor_sync(0xffffffffu, acc[m], o);
        if (lane == 0) part[warp][m] = acc[m];
    }
    __syncthreads();
    if (tid < CPB * MMAX) {
        const int c = tid / MMAX, m = tid % MMAX, nc = blockIdx.x * CPB + c;
        if (nc < N && m < M) {
            float v = 0.0f;
#pragma unroll
            for (int s = 0; s < WPC; s++) v += part[c * WPC + s][m];
            if (ep.bias) v += ep.bias[nc];
            if (ep.res) v += ep.res[(long)m * ep.ldr + nc];
            if (ep.relu && !(v > 0.0f)) v = 0.0f;
            C[(long)m * ldc + nc] = v + ep.addc;
        }
    }
}

template <int MMAX>
static cudaError_t launch_skinny(cudaStream_t st, int sms, int M, int N, int K, const float *A,
                                 long lda, const float *B, long ldb, float *C, long ldc, m4c_epi ep) {
    /* as many columns per block as still give every SM a block (measured on
     * an H100: 4 x 576 x 1536 in 11 us with 4 columns per block, 14 with 8;
     * 4 x 1728 x 576 in 10 us with 8, 13 with 4) */
    int cpb = 8;
    while (cpb > 1 && (N + cpb - 1) / cpb < sms) cpb /= 2;
    unsigned grid = (unsigned)((N + cpb - 1) / cpb);
    switch (cpb) {
    case 8: sgemm_skinny<MMAX, 8><<<grid, 256, 0, st>>>(M, N, K, A, lda, B, ldb, C, ldc, ep); break;
    case 4: sgemm_skinny<MMAX, 4><<<grid, 256, 0, st>>>(M, N, K, A, lda, B, ldb, C, ldc, ep); break;
    case 2: sgemm_skinny<MMAX, 2><<<grid, 256, 0, st>>>(M, N, K, A, lda, B, ldb, C, ldc, ep); break;
    default: sgemm_skinny<MMAX, 1><<<grid, 256, 0, st>>>(M, N, K, A, lda, B, ldb, C, ldc, ep); break;
    }
    return cudaGetLastError();
}

template <int BM, int BN, int BK, int TM, int TN>
static cudaError_t launch(cudaStream_t st, int M, int N, int K, const float *A, long lda,
                          const float *B, long ldb, float *C, long ldc, m4c_epi ep) {
    dim3 grid((unsigned)((N + BN - 1) / BN), (unsigned)((M + BM - 1) / BM));
    if (grid.y > 65535u) return cudaErrorInvalidConfiguration;
    sgemm_nt<BM, BN, BK, TM, TN><<<grid, (BM / TM) * (BN / TN), 0, st>>>(M, N, K, A, lda, B, ldb, C,
                                                                         ldc, ep);
    return cudaGetLastError();
}

static long blocks(int M, int N, int bm, int bn) {
    return (long)((M + bm - 1) / bm) * (long)((N + bn - 1) / bn);
}

cudaError_t m4c_gemm(cudaStream_t st, int sms, m4c_tile tile, int M, int N, int K, const float *A,
                     long lda, const float *B, long ldb, float *C, long ldc, m4c_epi ep) {
    if (M <= 0 || N <= 0) return cudaSuccess;
    if (tile == M4C_TILE_AUTO) {
        /* the largest tile that still gives every SM a block; small products
         * (a few paths) are bound by reading the weights, and smaller tiles
         * spread that over more SMs */
        if (M <= 16) /* above that the 16x32 tiles were faster (H100) */
            tile = M4C_TILE_SKINNY;
        else if (blocks(M, N, 128, 128) >= sms)
            tile = M4C_TILE_128x128;
        else if (blocks(M, N, 64, 64) >= sms)
            tile = M4C_TILE_64x64;
        else
            tile = M4C_TILE_16x32;
        if ((M + 15) / 16 > 65535) tile = M4C_TILE_128x128;
    }
    switch (tile) {
    case M4C_TILE_128x128:
        return launch<128, 128, 16, 8, 8>(st, M, N, K, A, lda, B, ldb, C, ldc, ep);
    case M4C_TILE_64x64:
        return launch<64, 64, 16, 4, 4>(st, M, N, K, A, lda, B, ldb, C, ldc, ep);
    case M4C_TILE_16x32:
        return launch<16, 32, 16, 2, 2>(st, M, N, K, A, lda, B, ldb, C, ldc, ep);
    case M4C_TILE_SKINNY:
        if (M <= 4) return launch_skinny<4>(st, sms, M, N, K, A, lda, B, ldb, C, ldc, ep);
        if (M <= 8) return launch_skinny<8>(st, sms, M, N, K, A, lda, B, ldb, C, ldc, ep);
        if (M <= 16) return launch_skinny<16>(st, sms, M, N, K, A, lda, B, ldb, C, ldc, ep);
        return cudaErrorInvalidValue;
    default:
        return cudaErrorInvalidValue;
    }
}
