/*
 * model_gemm.c: the fp32 matrix multiply under every linear layer of the model.
 *
 * Layout after BLIS (Van Zee & van de Geijn): C (M,N) += A (M,K) @ B (K,N) is cut
 * into NC-wide column blocks, KC-deep slices and MC-tall row blocks; the A block
 * is packed into MR-row micro-panels and the B slice into NR-column micro-panels
 * (both contiguous in k), and a micro-kernel keeps one MR x NR tile of C in
 * registers while it streams kc steps of broadcast(A) * vector(B) FMAs.
 *
 * The micro-kernels use GCC vector extensions, one per instruction set, each
 * compiled for its target with the target attribute and picked at run time
 * (__builtin_cpu_supports), so the build needs no -march flag and runs on any
 * x86-64 or arm64 machine. fp32 inputs, fp32 accumulation; FMA contraction is
 * enabled for the kernels only (the package compiles as ISO C99, which turns it
 * off everywhere else).
 *
 * Threads split C into disjoint column (or row) ranges; every element of C is
 * summed by one thread in the same k order whatever the thread count, so results
 * are bit-identical for 1 or n threads.
 */
#include "model_internal.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__GNUC__) && !defined(__clang__)
#define M4_FMA_CONTRACT __attribute__((optimize("fp-contract=fast")))
#else
#define M4_FMA_CONTRACT
#endif

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define M4_X86 1
#endif

/* ------------------------------------------------------------------------ */
/* Micro-kernels. Each: acc (MR, NV vectors) = sum_k ap[k*MR + r] * bp[k*NR ..]; */
/* then C = acc or C += acc.                                                  */
/* ------------------------------------------------------------------------ */

#define M4_UKERNEL_BODY(VT, MR, NV)                                                     \
    VT acc[MR][NV];                                                                     \
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)                               \
        _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) acc[r][v] = (VT){0};       \
    for (int k = 0; k < kc; k++) {                                                      \
        VT b[NV];                                                                       \
        _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++)                            \
            memcpy(&b[v], bp + (long)k * ldb + v * (long)(sizeof(VT) / 4), sizeof(VT));  \
        _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {                         \
            float a = ap[(long)k * MR + r];                                             \
            _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) acc[r][v] += a * b[v]; \
        }                                                                               \
    }                                                                                   \
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {                             \
        float *cr = c + r * ldc;                                                        \
        _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) {                          \
            float *cv = cr + v * (long)(sizeof(VT) / 4);                                \
            VT t = acc[r][v];                                                           \
            if (accumulate) {                                                           \
                VT old;                                                                 \
                memcpy(&old, cv, sizeof(VT));                                           \
                t = old + t;                                                            \
            }                                                                           \
            memcpy(cv, &t, sizeof(VT));                                                 \
        }                                                                               \
    }

typedef float m4i_v4 __attribute__((vector_size(16)));

/* Portable kernel: 4-wide vectors (SSE2 on x86-64, NEON on arm64), 4 x 8 tile. */
M4_FMA_CONTRACT static void ukernel_generic(int kc, const float *ap, const float *bp, long ldb,
                                            float *c, long ldc, int accumulate) {
    M4_UKERNEL_BODY(m4i_v4, 4, 2)
}

#ifdef M4_X86
typedef float m4i_v8 __attribute__((vector_size(32)));
typedef float m4i_v16 __attribute__((vector_size(64)));

/* AVX2 + FMA: 16 ymm registers; 6 x 16 tile = 12 accumulators. */
M4_FMA_CONTRACT __attribute__((target("avx2,fma"))) static void
ukernel_avx2(int kc, const float *ap, const float *bp, long ldb, float *c, long ldc, int accumulate) {
    M4_UKERNEL_BODY(m4i_v8, 6, 2)
}

/* AVX-512: 32 zmm registers; 12 x 32 tile = 24 accumulators. */
M4_FMA_CONTRACT __attribute__((target("avx512f"))) static void
ukernel_avx512(int kc, const float *ap, const float *bp, long ldb, float *c, long ldc, int accumulate) {
    M4_UKERNEL_BODY(m4i_v16, 12, 2)
}

/* AVX-512, few rows (one path's transformer rows at batch 1): 4 x 32. */
M4_FMA_CONTRACT __attribute__((target("avx512f"))) static void
ukernel_avx512_small(int kc, const float *ap, const float *bp, long ldb, float *c, long ldc, int accumulate) {
    M4_UKERNEL_BODY(m4i_v16, 4, 2)
}

/* AVX2 few rows: 2 x 16. */
M4_FMA_CONTRACT __attribute__((target("avx2,fma"))) static void
ukernel_avx2_small(int kc, const float *ap, const float *bp, long ldb, float *c, long ldc, int accumulate) {
    M4_UKERNEL_BODY(m4i_v8, 2, 2)
}
#endif

/* Portable, few rows: 1 x 8. */
M4_FMA_CONTRACT static void ukernel_generic_small(int kc, const float *ap, const float *bp, long ldb,
                                                  float *c, long ldc, int accumulate) {
    M4_UKERNEL_BODY(m4i_v4, 1, 2)
}

int m4i_gemm_select(m4i_gemm *g, const char *name) {
    static const struct {
        const char *name;
        int mr, nr, mc, kc, nc;
        m4i_ukernel kernel;
        int mr_small;
        m4i_ukernel kernel_small;
    } table[] = {
#ifdef M4_X86
        {"avx512", 12, 32, 96, 256, 1024, ukernel_avx512, 4, ukernel_avx512_small},
        {"avx2", 6, 16, 72, 256, 1024, ukernel_avx2, 2, ukernel_avx2_small},
#endif
        {"generic", 4, 8, 64, 256, 512, ukernel_generic, 1, ukernel_generic_small},
    };
    int n = (int)(sizeof(table) / sizeof(table[0]));
    for (int i = 0; i < n; i++) {
        int ok = 1;
#ifdef M4_X86
        __builtin_cpu_init();
        if (strcmp(table[i].name, "avx512") == 0) ok = __builtin_cpu_supports("avx512f");
        if (strcmp(table[i].name, "avx2") == 0)
            ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
        if (name && strcmp(name, table[i].name) != 0) continue;
        if (!ok) {
            if (name) return -1;
            continue;
        }
        g->name = table[i].name;
        g->mr = table[i].mr;
        g->nr = table[i].nr;
        g->mc = table[i].mc;
        g->kc = table[i].kc;
        g->nc = table[i].nc;
        g->kernel = table[i].kernel;
        g->mr_small = table[i].mr_small;
        g->kernel_small = table[i].kernel_small;
        g->kmax = 4096;
        return 0;
    }
    return -1;
}

static int round_up(int x, int m) { return (x + m - 1) / m * m; }

size_t m4i_gemm_ws_floats(const m4i_gemm *g) {
    /* A: a block (mc, kc), or all of a short A (mc, kmax); B: a block (kc,
     * nc), or one whole panel (kmax, nr); one edge tile (mr, nr); padded so
     * every part starts on a 64-byte boundary. */
    size_t a = (size_t)g->mc * (size_t)(g->kmax > g->kc ? g->kmax : g->kc);
    size_t b = (size_t)g->kc * g->nc;
    if ((size_t)g->kmax * g->nr > b) b = (size_t)g->kmax * g->nr;
    return a + b + (size_t)g->mr * g->nr + 48;
}

size_t m4i_gemm_packed_floats(const m4i_gemm *g, int K, int N) {
    return (size_t)K * (size_t)round_up(N, g->nr);
}

static float *align64(float *p) {
    uintptr_t u = (uintptr_t)p;
    return (float *)((u + 63) & ~(uintptr_t)63);
}

/* pack_a: rows [i0, i0+mc) x cols [k0, k0+kc) of A into MR-row micro-panels:
 * ap[t*kc*MR + k*MR + r] = A(i0 + t*MR + r, k0 + k), zero past mc. */
static void pack_a(int MR, m4i_mat A, int i0, int mc, int k0, int kc, float *ap) {
    for (int t = 0; t * MR < mc; t++) {
        float *dst = ap + (long)t * kc * MR;
        int rows = mc - t * MR < MR ? mc - t * MR : MR;
        if (A.cs == 1) {
            for (int r = 0; r < rows; r++) {
                const float *src = A.p + (long)(i0 + t * MR + r) * A.rs + k0;
                for (int k = 0; k < kc; k++) dst[(long)k * MR + r] = src[k];
            }
        } else {
            for (int k = 0; k < kc; k++) {
                const float *src = A.p + (long)(k0 + k) * A.cs + (long)(i0 + t * MR) * A.rs;
                for (int r = 0; r < rows; r++) dst[(long)k * MR + r] = src[(long)r * A.rs];
            }
        }
        for (int r = rows; r < MR; r++)
            for (int k = 0; k < kc; k++) dst[(long)k * MR + r] = 0.0f;
    }
}

/* pack_b: rows [k0, k0+kc) x cols [j0, j0+nc) of B into NR-column micro-panels,
 * panel p at bp + p*pstride: bp[p*pstride + k*NR + c] = B(k0 + k, j0 + p*NR + c). */
static void pack_b(const m4i_gemm *g, m4i_mat B, int k0, int kc, int j0, int nc, float *bp,
                   long pstride) {
    int NR = g->nr;
    for (int p = 0; p * NR < nc; p++) {
        float *dst = bp + (long)p * pstride;
        int cols = nc - p * NR < NR ? nc - p * NR : NR;
        if (B.cs == 1) {
            for (int k = 0; k < kc; k++) {
                const float *src = B.p + (long)(k0 + k) * B.rs + j0 + p * NR;
                float *d = dst + (long)k * NR;
                for (int c = 0; c < cols; c++) d[c] = src[c];
                for (int c = cols; c < NR; c++) d[c] = 0.0f;
            }
        } else {
            /* a transpose: in blocks of 64 k so the block of dst written
             * (64 x NR floats) stays in L1 while NR source rows stream */
            for (int kb = 0; kb < kc; kb += 64) {
                int ke = kc - kb < 64 ? kc - kb : 64;
                for (int c = 0; c < cols; c++) {
                    const float *src = B.p + (long)(j0 + p * NR + c) * B.cs + (long)(k0 + kb) * B.rs;
                    float *d = dst + (long)kb * NR + c;
                    if (B.rs == 1)
                        for (int k = 0; k < ke; k++) d[(long)k * NR] = src[k];
                    else
                        for (int k = 0; k < ke; k++) d[(long)k * NR] = src[(long)k * B.rs];
                }
                for (int c = cols; c < NR; c++)
                    for (int k = 0; k < ke; k++) dst[(long)(kb + k) * NR + c] = 0.0f;
            }
        }
    }
}

void m4i_gemm_pack(const m4i_gemm *g, int K, int N, m4i_mat B, float *packed) {
    pack_b(g, B, 0, K, 0, N, packed, (long)K * g->nr);
}

/* gemm_serial: one thread's share, C rows [0, M) x cols [0, N) of the views
 * passed in (already offset). Bpk, if set, is the packed B with panel stride
 * K*NR, offset to this share's first panel. */
/* run one micro-tile: full tiles straight into C, edge tiles through a
 * scratch tile (the same arithmetic either way) */
static void tile_run(m4i_ukernel kern, int MR, int NR, int kc, const float *ap, const float *bp,
                     long ldb, float *c, long ldc, int mr, int nr, int acc, float *tile) {
    if (mr == MR && nr == NR) {
        kern(kc, ap, bp, ldb, c, ldc, acc);
        return;
    }
    kern(kc, ap, bp, ldb, tile, NR, 0);
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++)
            c[(long)r * ldc + j] = acc ? c[(long)r * ldc + j] + tile[r * NR + j] : tile[r * NR + j];
}

/* gemm_skinny: A of at most mc rows is packed once, whole, and B is streamed
 * one NR-column panel at a time over all of K: each weight is read once, in
 * order, which is what a few rows (a batch of one path) need. */
static void gemm_skinny(const m4i_gemm *g, float *ws, int M, int N, int K, m4i_mat A, m4i_mat B,
                        const float *Bpk, float *C, long ldc, int accumulate) {
    int NR = g->nr;
    int small = M <= g->mr_small;
    int MR = small ? g->mr_small : g->mr;
    m4i_ukernel kern = small ? g->kernel_small : g->kernel;
    int Mp = round_up(M, MR);
    float *aw = align64(ws);
    float *bw = align64(aw + (size_t)g->mc * (size_t)(g->kmax > g->kc ? g->kmax : g->kc));
    float *tile = align64(bw + ((size_t)g->kmax * NR > (size_t)g->kc * g->nc ? (size_t)g->kmax * NR
                                                                               : (size_t)g->kc * g->nc));
    /* A as consecutive (Mp, kc) blocks, one per kc slice */
    for (int pc = 0; pc < K; pc += g->kc) {
        int kc = K - pc < g->kc ? K - pc : g->kc;
        pack_a(MR, A, 0, M, pc, kc, aw + (size_t)pc * Mp);
    }
    for (int jr = 0; jr < N; jr += NR) {
        int nr = N - jr < NR ? N - jr : NR;
        const float *bp = Bpk ? Bpk + (long)(jr / NR) * K * NR : bw;
        long ldb = NR;
        if (!Bpk && B.cs == 1 && nr == NR) {
            bp = B.p + jr, ldb = B.rs; /* a full panel of a row-major B: read in place */
        } else if (!Bpk) {
            pack_b(g, B, 0, K, jr, nr, bw, (long)K * NR);
        }
        for (int pc = 0; pc < K; pc += g->kc) {
            int kc = K - pc < g->kc ? K - pc : g->kc;
            int acc = accumulate || pc > 0;
            for (int ir = 0; ir < M; ir += MR) {
                int mr = M - ir < MR ? M - ir : MR;
                tile_run(kern, MR, NR, kc, aw + (size_t)pc * Mp + (size_t)ir * kc, bp + (long)pc * ldb, ldb,
                         C + (long)ir * ldc + jr, ldc, mr, nr, acc, tile);
            }
        }
    }
}

static void gemm_serial(const m4i_gemm *g, float *ws, int M, int N, int K, m4i_mat A, m4i_mat B,
                        const float *Bpk, float *C, long ldc, int accumulate) {
    if (M <= g->mc && K <= g->kmax) {
        gemm_skinny(g, ws, M, N, K, A, B, Bpk, C, ldc, accumulate);
        return;
    }
    int MR = g->mr, NR = g->nr;
    float *aw = align64(ws);
    float *bw = align64(aw + (size_t)g->mc * (size_t)(g->kmax > g->kc ? g->kmax : g->kc));
    float *tile = align64(bw + ((size_t)g->kmax * NR > (size_t)g->kc * g->nc ? (size_t)g->kmax * NR
                                                                              : (size_t)g->kc * g->nc));
    for (int jc = 0; jc < N; jc += g->nc) {
        int nc = N - jc < g->nc ? N - jc : g->nc;
        for (int pc = 0; pc < K; pc += g->kc) {
            int kc = K - pc < g->kc ? K - pc : g->kc;
            int acc = accumulate || pc > 0;
            if (!Bpk) {
                m4i_mat Bs = B;
                pack_b(g, Bs, pc, kc, jc, nc, bw, (long)kc * NR);
            }
            for (int ic = 0; ic < M; ic += g->mc) {
                int mc = M - ic < g->mc ? M - ic : g->mc;
                pack_a(MR, A, ic, mc, pc, kc, aw);
                for (int jr = 0; jr < nc; jr += NR) {
                    int nr = nc - jr < NR ? nc - jr : NR;
                    const float *bp = Bpk ? Bpk + (long)((jc + jr) / NR) * K * NR + (long)pc * NR
                                          : bw + (long)(jr / NR) * kc * NR;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int mr = mc - ir < MR ? mc - ir : MR;
                        tile_run(g->kernel, MR, NR, kc, aw + (long)(ir / MR) * kc * MR, bp, NR,
                                 C + (long)(ic + ir) * ldc + jc + jr, ldc, mr, nr, acc, tile);
                    }
                }
            }
        }
    }
}

void m4i_gemm_run(const m4i_gemm *g, int nthreads, float *ws, int M, int N, int K, m4i_mat A,
                  m4i_mat B, const float *packed, float *C, long ldc, int accumulate) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate)
            for (int i = 0; i < M; i++) memset(C + (long)i * ldc, 0, sizeof(float) * (size_t)N);
        return;
    }
    int MR = g->mr, NR = g->nr;
    int ntile_n = (N + NR - 1) / NR, ntile_m = (M + MR - 1) / MR;
    /* split the larger tile count; never more threads than tiles */
    int split_n = ntile_n >= ntile_m;
    int ntiles = split_n ? ntile_n : ntile_m;
    int nt = nthreads < 1 ? 1 : nthreads;
    if (nt > ntiles) nt = ntiles;
    /* too little work to be worth waking a second thread */
    if ((double)M * N * K < 2e5) nt = 1;
    size_t wsz = m4i_gemm_ws_floats(g);
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        int lo = (int)((long)ntiles * t / nt), hi = (int)((long)ntiles * (t + 1) / nt);
        float *w = ws + wsz * (size_t)t;
        if (split_n) {
            int j0 = lo * NR, j1 = hi * NR < N ? hi * NR : N;
            if (j1 > j0) {
                m4i_mat Bs = B;
                Bs.p = B.p ? B.p + (long)j0 * B.cs : NULL;
                const float *pk = packed ? packed + (long)lo * K * NR : NULL;
                gemm_serial(g, w, M, j1 - j0, K, A, Bs, pk, C + j0, ldc, accumulate);
            }
        } else {
            int i0 = lo * MR, i1 = hi * MR < M ? hi * MR : M;
            if (i1 > i0) {
                m4i_mat As = A;
                As.p = A.p + (long)i0 * A.rs;
                gemm_serial(g, w, i1 - i0, N, K, As, B, packed, C + (long)i0 * ldc, ldc, accumulate);
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* FMA peak: independent FMA chains, enough to cover latency x ports.         */
/* ------------------------------------------------------------------------ */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define M4_PEAK_BODY(VT)                                                             \
    VT a[12], b = (VT){0} + 1.0000001f, c = (VT){0} + 1e-7f;                         \
    _Pragma("GCC unroll 12") for (int j = 0; j < 12; j++) a[j] = (VT){0} + (float)j; \
    for (long i = 0; i < iters; i++) {                                               \
        _Pragma("GCC unroll 12") for (int j = 0; j < 12; j++) a[j] = a[j] * b + c;   \
    }                                                                                \
    VT s = (VT){0};                                                                  \
    for (int j = 0; j < 12; j++) s += a[j];                                          \
    float r = 0;                                                                     \
    for (int i = 0; i < (int)(sizeof(VT) / 4); i++) r += s[i];                       \
    return r;

M4_FMA_CONTRACT __attribute__((noinline)) static float peak_generic(long iters) {
    M4_PEAK_BODY(m4i_v4)
}
#ifdef M4_X86
M4_FMA_CONTRACT __attribute__((noinline, target("avx2,fma"))) static float peak_avx2(long iters) {
    M4_PEAK_BODY(m4i_v8)
}
M4_FMA_CONTRACT __attribute__((noinline, target("avx512f"))) static float peak_avx512(long iters) {
    M4_PEAK_BODY(m4i_v16)
}
#endif

double m4i_fma_peak(const m4i_gemm *g, double seconds) {
    float (*fn)(long) = peak_generic;
    int lanes = 4;
#ifdef M4_X86
    if (strcmp(g->name, "avx512") == 0) fn = peak_avx512, lanes = 16;
    if (strcmp(g->name, "avx2") == 0) fn = peak_avx2, lanes = 8;
#endif
    long iters = 1000000;
    volatile float sink = 0;
    double best = 0;
    double t_end = now_s() + seconds;
    while (now_s() < t_end) {
        double t0 = now_s();
        sink += fn(iters);
        double dt = now_s() - t0;
        double gf = (double)iters * 12.0 * lanes * 2.0 / dt / 1e9;
        if (gf > best) best = gf;
        if (dt < 0.01) iters *= 2;
    }
    (void)sink;
    return best;
}
