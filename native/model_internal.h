/*
 * model_internal.h: what model*.c share and the C tests reach into; not part
 * of the public API (m4.h). Names start with m4i_.
 */
#ifndef M4_MODEL_INTERNAL_H
#define M4_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "model_layout.h"

/* ------------------------------------------------------------------------ */
/* GEMM (model_gemm.c): C (M,N) = [C +] A (M,K) @ B (K,N), fp32, row-major C. */
/* ------------------------------------------------------------------------ */

/* A strided matrix view: element (i, j) is p[i*rs + j*cs]. A plain row-major
 * (R, C) array is {p, C, 1}; its transpose is {p, 1, C}. */
typedef struct {
    const float *p;
    long rs, cs;
} m4i_mat;

/* One micro-kernel: C tile (mr, nr) [+]= Ap (kc, mr packed) @ B (kc, nr), row k
 * of B at bp + k*ldb (ldb = nr when packed; a row-major B is read in place). */
typedef void (*m4i_ukernel)(int kc, const float *ap, const float *bp, long ldb, float *c, long ldc,
                            int accumulate);

/* The micro-kernels chosen for this CPU and their blocking. */
typedef struct {
    const char *name;   /* "avx512", "avx2", "generic" */
    int mr, nr;         /* micro-tile */
    int mc, kc, nc;     /* cache blocks (mc multiple of mr, nc of nr) */
    m4i_ukernel kernel;
    int mr_small;       /* a shorter tile for products of few rows (<= mr_small) */
    m4i_ukernel kernel_small;
    int kmax;           /* largest K the workspace holds a whole A panel of */
} m4i_gemm;

/* m4i_gemm_select picks the fastest micro-kernels this CPU runs; name (may be
 * NULL) forces one set by name and returns -1 if that one cannot run here.
 * kmax starts at 4096. */
int m4i_gemm_select(m4i_gemm *g, const char *name);

/* Floats of workspace one thread needs: its packed A and B blocks. Products
 * with M <= mc and K <= g->kmax pack all of A once and stream B. */
size_t m4i_gemm_ws_floats(const m4i_gemm *g);

/* Floats a fully packed B (K, N) takes. */
size_t m4i_gemm_packed_floats(const m4i_gemm *g, int K, int N);

/* m4i_gemm_pack packs B (K, N) once, for repeated use as `packed` below. */
void m4i_gemm_pack(const m4i_gemm *g, int K, int N, m4i_mat B, float *packed);

/* m4i_gemm_run: C (M, N) = A @ B, or C += A @ B when accumulate. B comes
 * either as a view (packed == NULL) or pre-packed by m4i_gemm_pack. The work
 * is split over nthreads (OpenMP) so that every element of C is computed by
 * one thread in one fixed order: results do not depend on nthreads. ws holds
 * nthreads * m4i_gemm_ws_floats floats. */
void m4i_gemm_run(const m4i_gemm *g, int nthreads, float *ws, int M, int N, int K, m4i_mat A,
                  m4i_mat B, const float *packed, float *C, long ldc, int accumulate);

/* m4i_fma_peak measures the fp32 FMA rate (GFLOP/s) of one core with the
 * selected kernel's vector width, running for about `seconds`. */
double m4i_fma_peak(const m4i_gemm *g, double seconds);

/* ------------------------------------------------------------------------ */
/* Ops (model_ops.c): forward and backward side by side. Shapes in comments  */
/* are row-major (rows, cols). Backward functions ACCUMULATE (+=) into the    */
/* gradients they are given, so a tensor used twice sums its two gradients.   */
/* ------------------------------------------------------------------------ */

/* What a linear layer needs to run GEMMs: the kernel, threads, workspace. */
typedef struct {
    const m4i_gemm *gemm;
    int nthreads;
    float *ws; /* nthreads * m4i_gemm_ws_floats */
} m4i_ctx;

/* linear: Y (R, out) = X (R, in) @ W (out, in)^T [+ b (out)]. W_packed, if
 * set, is W^T packed by m4i_gemm_pack (K = in, N = out). */
void m4i_linear_forward(const m4i_ctx *cx, float *Y, const float *X, const float *W,
                        const float *W_packed, const float *b, int R, int in, int out);
/* dX (R, in) += dY @ W (skipped if dX is NULL); dW (out, in) += dY^T @ X;
 * db (out) += column sums of dY (skipped if db is NULL). */
void m4i_linear_backward(const m4i_ctx *cx, float *dX, float *dW, float *db, const float *dY,
                         const float *X, const float *W, int R, int in, int out);

/* rmsnorm: y = w * x / sqrt(mean(x^2) + eps) per row; rstd (R) keeps 1/sqrt(.). */
void m4i_rmsnorm_forward(float *y, float *rstd, const float *x, const float *w, int R, int n,
                         float eps);
void m4i_rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                          const float *rstd, int R, int n);

/* RoPE tables: m4i_rope_tables in model_layout.h. */
/* rope: rotate, in place, the pairs (2i, 2i+1) of every head of T rows
 * (row t at position t, row stride ld); backward rotates the gradient back. */
void m4i_rope_forward(float *x, int T, int n_heads, int hd, long ld, const float *cos_t,
                      const float *sin_t);
void m4i_rope_backward(float *dx, int T, int n_heads, int hd, long ld, const float *cos_t,
                       const float *sin_t);

/* dropout: keep element idx of stream `site` with probability 1-p and scale it by
 * 1/(1-p). The mask is a pure function of (seed, site, idx), so backward
 * recomputes it instead of storing it, and no thread split can change it. */
int m4i_dropout_keep(uint64_t seed, uint64_t site, uint64_t idx, float p);
void m4i_dropout_forward(float *x, long n, float p, uint64_t seed, uint64_t site, uint64_t idx0);
void m4i_dropout_backward(float *dx, long n, float p, uint64_t seed, uint64_t site, uint64_t idx0);

/* causal self-attention of one sequence, all heads: q, k, v, out are (T, nh*hd)
 * with row stride ld; probs (nh, S, S) keeps softmax(q k^T / sqrt(hd)) (before
 * dropout; S >= T is the table stride). Attention dropout p uses stream site
 * with element index (h*S + i)*S + j. */
void m4i_attention_forward(float *out, float *probs, const float *q, const float *k,
                           const float *v, int T, int nh, int hd, long ld, int S, float p,
                           uint64_t seed, uint64_t site);
/* dq, dk, dv (T, nh*hd) += the gradients through out. scratch: S floats. */
void m4i_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                            const float *probs, const float *q, const float *k, const float *v,
                            int T, int nh, int hd, long ld, int S, float p, uint64_t seed,
                            uint64_t site, float *scratch);

/* swiglu: g = silu(a1) * a3, silu(x) = x * sigmoid(x), elementwise over n. */
void m4i_swiglu_forward(float *g, const float *a1, const float *a3, long n);
void m4i_swiglu_backward(float *da1, float *da3, const float *dg, const float *a1, const float *a3,
                         long n);

/* relu in place; backward zeroes dy where the forward output y was not > 0. */
void m4i_relu_forward(float *x, long n);
void m4i_relu_backward(float *dy, const float *y, long n);

/* Vectorized on 8 floats (vector extensions; AVX2 where g, the GEMM's choice,
 * found it): every variant gives the same bits (no FMA contraction), within
 * 1.5e-7 relative of libm. tanh of n floats in place: */
void m4i_tanh(const m4i_gemm *g, float *x, size_t n);
/* GRU gates of R rows, PyTorch's order r, z, n: gi = W_i x + b_i and
 * gh = W_h h + b_h (R, 3H); r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z),
 * n = tanh(gi_n + r gh_n); Ho = (1 - z) n + z Hp (R, H); keeps gates = r, z, n
 * (R, 3H) and ghn = gh_n (R, H) for the backward. */
void m4i_gru_gates(const m4i_gemm *g, int H, int R, const float *gi, const float *gh, const float *Hp, float *Ho,
                   float *gates, float *ghn);

/* mean-pool: ctx (B, n) row b = mean of y rows [start[b], start[b+1]). */
void m4i_meanpool_forward(float *ctx, const float *y, const int *start, int B, int n);
void m4i_meanpool_backward(float *dy, const float *dctx, const int *start, int B, int n);

/* masked relative L1: mean over n of mask * |est/gt - 1|. If grad is set it
 * receives d loss / d est (overwritten). Sums in double, in index order. */
float m4i_rel_l1_loss(float *grad, const float *est, const float *gt, const float *mask, long n);

/* AdamW (PyTorch's, decoupled weight decay) on n parameters, step t >= 1. */
void m4i_adamw(float *p, const float *g, float *m, float *v, long n, float lr, float beta1,
               float beta2, float eps, float weight_decay, int t);

#endif /* M4_MODEL_INTERNAL_H */
