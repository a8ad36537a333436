/*
 * model_ops.c: the model's ops, forward and backward side by side (m3's model:
 * a Llama-style transformer over the per-link feature rows, an MLP over the
 * foreground row and the pooled context). Every backward accumulates into
 * the gradients it is given; see model_internal.h for shapes.
 */
#include "model_internal.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* linear                                                                   */
/* ------------------------------------------------------------------------ */

void m4i_linear_forward(const m4i_ctx *cx, float *Y, const float *X, const float *W,
                        const float *W_packed, const float *b, int R, int in, int out) {
    /* X (R, in) @ W^T (in, out) -> Y (R, out); W^T (k, j) = W[j*in + k] */
    m4i_mat A = {X, in, 1}, B = {W, 1, in};
    m4i_gemm_run(cx->gemm, cx->nthreads, cx->ws, R, out, in, A, B, W_packed, Y, out, 0);
    if (b)
        for (int r = 0; r < R; r++) {
            float *y = Y + (long)r * out;
            for (int j = 0; j < out; j++) y[j] += b[j];
        }
}

void m4i_linear_backward(const m4i_ctx *cx, float *dX, float *dW, float *db, const float *dY,
                         const float *X, const float *W, int R, int in, int out) {
    if (dX) {
        /* dY (R, out) @ W (out, in) -> dX (R, in) */
        m4i_mat A = {dY, out, 1}, B = {W, in, 1};
        m4i_gemm_run(cx->gemm, cx->nthreads, cx->ws, R, in, out, A, B, NULL, dX, in, 1);
    }
    /* dY^T (out, R) @ X (R, in) -> dW (out, in) */
    m4i_mat A = {dY, 1, out}, B = {X, in, 1};
    m4i_gemm_run(cx->gemm, cx->nthreads, cx->ws, out, in, R, A, B, NULL, dW, in, 1);
    if (db)
        for (int r = 0; r < R; r++) {
            const float *d = dY + (long)r * out;
            for (int j = 0; j < out; j++) db[j] += d[j];
        }
}

/* ------------------------------------------------------------------------ */
/* RMSNorm                                                                  */
/* ------------------------------------------------------------------------ */

void m4i_rmsnorm_forward(float *y, float *rstd, const float *x, const float *w, int R, int n,
                         float eps) {
    for (int r = 0; r < R; r++) {
        const float *xr = x + (long)r * n;
        float *yr = y + (long)r * n;
        double ss = 0;
        for (int j = 0; j < n; j++) ss += (double)xr[j] * xr[j];
        float s = (float)(1.0 / sqrt(ss / n + eps));
        rstd[r] = s;
        for (int j = 0; j < n; j++) yr[j] = w[j] * (xr[j] * s);
    }
}

void m4i_rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                          const float *rstd, int R, int n) {
    /* y_j = w_j x_j s, s = (mean(x^2) + eps)^-1/2:
     * dx_i = s w_i dy_i - s^3 x_i / n * sum_j w_j dy_j x_j;  dw_j = sum_rows dy_j x_j s */
    for (int r = 0; r < R; r++) {
        const float *xr = x + (long)r * n, *dyr = dy + (long)r * n;
        float *dxr = dx + (long)r * n;
        float s = rstd[r];
        double dot = 0;
        for (int j = 0; j < n; j++) dot += (double)w[j] * dyr[j] * xr[j];
        float c = (float)(dot * s * s * s / n);
        for (int j = 0; j < n; j++) {
            dxr[j] += s * w[j] * dyr[j] - c * xr[j];
            dw[j] += dyr[j] * xr[j] * s;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* RoPE                                                                     */
/* ------------------------------------------------------------------------ */

/* m4i_rope_tables is in model_layout.h (the GPU model builds the same tables) */

static void rope_apply(float *x, int T, int n_heads, int hd, long ld, const float *cos_t,
                       const float *sin_t, float dir) {
    int half = hd / 2;
    for (int t = 0; t < T; t++) {
        float *xt = x + (long)t * ld;
        const float *c = cos_t + t * half, *s = sin_t + t * half;
        for (int h = 0; h < n_heads; h++) {
            float *v = xt + h * hd;
            for (int i = 0; i < half; i++) {
                float x0 = v[2 * i], x1 = v[2 * i + 1], si = dir * s[i];
                v[2 * i] = x0 * c[i] - x1 * si;
                v[2 * i + 1] = x0 * si + x1 * c[i];
            }
        }
    }
}

void m4i_rope_forward(float *x, int T, int n_heads, int hd, long ld, const float *cos_t,
                      const float *sin_t) {
    rope_apply(x, T, n_heads, hd, ld, cos_t, sin_t, 1.0f);
}

void m4i_rope_backward(float *dx, int T, int n_heads, int hd, long ld, const float *cos_t,
                       const float *sin_t) {
    /* the rotation is orthogonal: its transpose rotates by -angle */
    rope_apply(dx, T, n_heads, hd, ld, cos_t, sin_t, -1.0f);
}

/* ------------------------------------------------------------------------ */
/* dropout                                                                  */
/* ------------------------------------------------------------------------ */

static uint64_t mix64(uint64_t z) {
    /* splitmix64's finaliser */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t stream_key(uint64_t seed, uint64_t site) {
    return mix64(seed * 0x9E3779B97F4A7C15ULL + mix64(site + 0x632BE59BD9B4E019ULL));
}

static int keep_key(uint64_t key, uint64_t idx, uint32_t thresh) {
    return (uint32_t)(mix64(key + idx * 0xD1B54A32D192ED03ULL) >> 40) >= thresh;
}

static uint32_t drop_threshold(float p) { return (uint32_t)((double)p * 16777216.0); }

int m4i_dropout_keep(uint64_t seed, uint64_t site, uint64_t idx, float p) {
    return keep_key(stream_key(seed, site), idx, drop_threshold(p));
}

void m4i_dropout_forward(float *x, long n, float p, uint64_t seed, uint64_t site, uint64_t idx0) {
    if (p <= 0.0f) return;
    uint64_t key = stream_key(seed, site);
    uint32_t th = drop_threshold(p);
    float scale = 1.0f / (1.0f - p);
    for (long i = 0; i < n; i++) x[i] = keep_key(key, idx0 + (uint64_t)i, th) ? x[i] * scale : 0.0f;
}

void m4i_dropout_backward(float *dx, long n, float p, uint64_t seed, uint64_t site, uint64_t idx0) {
    /* y = x * mask / (1-p): the same map applies to the gradient */
    m4i_dropout_forward(dx, n, p, seed, site, idx0);
}

/* ------------------------------------------------------------------------ */
/* causal attention                                                         */
/* ------------------------------------------------------------------------ */

void m4i_attention_forward(float *out, float *probs, const float *q, const float *k,
                           const float *v, int T, int nh, int hd, long ld, int S, float p,
                           uint64_t seed, uint64_t site) {
    float scale = 1.0f / sqrtf((float)hd);
    uint64_t key = stream_key(seed, site);
    uint32_t th = drop_threshold(p);
    float dscale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    for (int h = 0; h < nh; h++) {
        for (int i = 0; i < T; i++) {
            const float *qi = q + (long)i * ld + h * hd;
            float *P = probs + ((long)h * S + i) * S;
            float mx = -INFINITY;
            for (int j = 0; j <= i; j++) {
                const float *kj = k + (long)j * ld + h * hd;
                float s = 0;
                for (int d = 0; d < hd; d++) s += qi[d] * kj[d];
                s *= scale;
                P[j] = s;
                if (s > mx) mx = s;
            }
            float sum = 0;
            for (int j = 0; j <= i; j++) {
                P[j] = expf(P[j] - mx);
                sum += P[j];
            }
            float inv = 1.0f / sum;
            for (int j = 0; j <= i; j++) P[j] *= inv;
            for (int j = i + 1; j < S; j++) P[j] = 0.0f;
            float *oi = out + (long)i * ld + h * hd;
            for (int d = 0; d < hd; d++) oi[d] = 0.0f;
            for (int j = 0; j <= i; j++) {
                float a = P[j];
                if (p > 0.0f)
                    a = keep_key(key, ((uint64_t)h * S + i) * S + j, th) ? a * dscale : 0.0f;
                const float *vj = v + (long)j * ld + h * hd;
                for (int d = 0; d < hd; d++) oi[d] += a * vj[d];
            }
        }
    }
}

void m4i_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                            const float *probs, const float *q, const float *k, const float *v,
                            int T, int nh, int hd, long ld, int S, float p, uint64_t seed,
                            uint64_t site, float *scratch) {
    float scale = 1.0f / sqrtf((float)hd);
    uint64_t key = stream_key(seed, site);
    uint32_t th = drop_threshold(p);
    float dscale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    float *dP = scratch;
    for (int h = 0; h < nh; h++) {
        for (int i = 0; i < T; i++) {
            const float *P = probs + ((long)h * S + i) * S;
            const float *doi = dout + (long)i * ld + h * hd;
            /* through out_i = sum_j P'_ij v_j, P' = P * mask / (1-p) */
            for (int j = 0; j <= i; j++) {
                float m = 1.0f;
                if (p > 0.0f) m = keep_key(key, ((uint64_t)h * S + i) * S + j, th) ? dscale : 0.0f;
                const float *vj = v + (long)j * ld + h * hd;
                float *dvj = dv + (long)j * ld + h * hd;
                float s = 0, a = P[j] * m;
                for (int d = 0; d < hd; d++) {
                    s += doi[d] * vj[d];
                    dvj[d] += a * doi[d];
                }
                dP[j] = s * m;
            }
            /* through softmax: dS_j = P_j (dP_j - sum_l P_l dP_l) */
            float dot = 0;
            for (int j = 0; j <= i; j++) dot += P[j] * dP[j];
            const float *qi = q + (long)i * ld + h * hd;
            float *dqi = dq + (long)i * ld + h * hd;
            for (int j = 0; j <= i; j++) {
                float ds = P[j] * (dP[j] - dot) * scale;
                const float *kj = k + (long)j * ld + h * hd;
                float *dkj = dk + (long)j * ld + h * hd;
                for (int d = 0; d < hd; d++) {
                    dqi[d] += ds * kj[d];
                    dkj[d] += ds * qi[d];
                }
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* SwiGLU, ReLU, mean-pool                                                  */
/* ------------------------------------------------------------------------ */

void m4i_swiglu_forward(float *g, const float *a1, const float *a3, long n) {
    for (long i = 0; i < n; i++) {
        float x = a1[i];
        g[i] = x / (1.0f + expf(-x)) * a3[i];
    }
}

void m4i_swiglu_backward(float *da1, float *da3, const float *dg, const float *a1, const float *a3,
                         long n) {
    for (long i = 0; i < n; i++) {
        float x = a1[i];
        float sg = 1.0f / (1.0f + expf(-x));
        float silu = x * sg;
        da1[i] += dg[i] * a3[i] * sg * (1.0f + x * (1.0f - sg));
        da3[i] += dg[i] * silu;
    }
}

void m4i_relu_forward(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f; /* a select: vectorizes */
}

void m4i_relu_backward(float *dy, const float *y, long n) {
    for (long i = 0; i < n; i++)
        if (!(y[i] > 0.0f)) dy[i] = 0.0f;
}

void m4i_meanpool_forward(float *ctx, const float *y, const int *start, int B, int n) {
    for (int b = 0; b < B; b++) {
        float *c = ctx + (long)b * n;
        int T = start[b + 1] - start[b];
        for (int j = 0; j < n; j++) c[j] = 0.0f;
        for (int t = start[b]; t < start[b + 1]; t++) {
            const float *yt = y + (long)t * n;
            for (int j = 0; j < n; j++) c[j] += yt[j];
        }
        float inv = 1.0f / (float)T;
        for (int j = 0; j < n; j++) c[j] *= inv;
    }
}

void m4i_meanpool_backward(float *dy, const float *dctx, const int *start, int B, int n) {
    for (int b = 0; b < B; b++) {
        const float *dc = dctx + (long)b * n;
        float inv = 1.0f / (float)(start[b + 1] - start[b]);
        for (int t = start[b]; t < start[b + 1]; t++) {
            float *d = dy + (long)t * n;
            for (int j = 0; j < n; j++) d[j] += dc[j] * inv;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* loss and optimiser                                                       */
/* ------------------------------------------------------------------------ */

float m4i_rel_l1_loss(float *grad, const float *est, const float *gt, const float *mask, long n) {
    double sum = 0;
    for (long i = 0; i < n; i++) {
        float r = est[i] / gt[i] - 1.0f;
        sum += (double)(mask[i] * fabsf(r));
        if (grad) {
            float sg = r > 0.0f ? 1.0f : (r < 0.0f ? -1.0f : 0.0f);
            grad[i] = mask[i] * sg / gt[i] / (float)n;
        }
    }
    return (float)(sum / (double)n);
}

void m4i_adamw(float *p, const float *g, float *m, float *v, long n, float lr, float beta1,
               float beta2, float eps, float weight_decay, int t) {
    /* PyTorch's AdamW: decay, moments, bias-corrected step */
    float decay = (float)(1.0 - (double)lr * weight_decay);
    double bc1 = 1.0 - pow(beta1, t), bc2 = 1.0 - pow(beta2, t);
    float step = (float)((double)lr / bc1);
    float bc2s = (float)sqrt(bc2);
    float b1c = 1.0f - beta1, b2c = 1.0f - beta2;
    for (long i = 0; i < n; i++) {
        float gi = g[i];
        float pi = weight_decay != 0.0f ? p[i] * decay : p[i];
        float mi = m[i] * beta1 + b1c * gi;
        float vi = v[i] * beta2 + b2c * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - step * (mi / (sqrtf(vi) / bc2s + eps));
    }
}

/* ------------------------------------------------------------------------ */
/* exp, sigmoid and tanh on 8 floats at once (GCC/Clang vector extensions:   */
/* two SSE registers by default, one AVX register in the avx2 variant). No   */
/* FMA contraction (C99 mode), so every variant gives the same bits.         */
/* ------------------------------------------------------------------------ */

typedef float m4i_v8f __attribute__((vector_size(32)));
typedef int32_t m4i_v8i __attribute__((vector_size(32)));

/* The helpers take and give vectors through pointers (by value, GCC notes an
 * ABI that differs with AVX); always inlined, they cost nothing. */
#define V8(x) ((m4i_v8f){0} + (x))
#define V8_SELECT(mask, a, b) ((m4i_v8f)(((m4i_v8i)(a) & (mask)) | ((m4i_v8i)(b) & ~(mask))))

/* y = exp(x), x clamped to [-87, 88]: x = n ln2 + r (Cody-Waite), |r| <= ln2/2,
 * exp(r) by its Taylor series to r^7 (truncation < 6e-9), times 2^n from the
 * exponent bits. Within 1e-7 relative of exp (measured over 4e7 draws). */
static inline __attribute__((always_inline)) void v8_exp(m4i_v8f *y, const m4i_v8f *xp) {
    m4i_v8f x = *xp;
    x = V8_SELECT(x < V8(-87.0f), V8(-87.0f), x);
    x = V8_SELECT(x > V8(88.0f), V8(88.0f), x);
    m4i_v8f n = (x * V8(1.44269504088896341f) + V8(12582912.0f)) - V8(12582912.0f); /* round(x/ln2) */
    m4i_v8f r = x - n * V8(0.693359375f);
    r = r - n * V8(-2.12194440e-4f);
    m4i_v8f p = V8(1.0f / 5040);
    p = p * r + V8(1.0f / 720);
    p = p * r + V8(1.0f / 120);
    p = p * r + V8(1.0f / 24);
    p = p * r + V8(1.0f / 6);
    p = p * r + V8(0.5f);
    p = p * r + V8(1.0f);
    p = p * r + V8(1.0f);
    m4i_v8i e = (__builtin_convertvector(n, m4i_v8i) + 127) << 23;
    *y = p * (m4i_v8f)e;
}

static inline __attribute__((always_inline)) void v8_sigmoid(m4i_v8f *y, const m4i_v8f *x) {
    m4i_v8f m = -*x, e;
    v8_exp(&e, &m);
    *y = V8(1.0f) / (V8(1.0f) + e);
}

/* y = tanh(x): the odd Taylor series to x^19 below |x| = 0.55 (truncation
 * < 5e-9), (e - 1) / (e + 1) with e = exp(2|x|) above; within 1.5e-7 relative. */
static inline __attribute__((always_inline)) void v8_tanh(m4i_v8f *y, const m4i_v8f *xp) {
    m4i_v8i sign = (m4i_v8i)*xp & ((m4i_v8i){0} + INT32_MIN);
    m4i_v8f ax = (m4i_v8f)((m4i_v8i)*xp & ~sign);
    ax = V8_SELECT(ax > V8(9.0f), V8(9.0f), ax);
    m4i_v8f t = ax * ax;
    m4i_v8f p = V8(-2.3912911424355248e-4f);
    p = p * t + V8(5.90027440945586e-4f);
    p = p * t + V8(-1.4558343870513183e-3f);
    p = p * t + V8(3.592128036572481e-3f);
    p = p * t + V8(-8.863235529902197e-3f);
    p = p * t + V8(2.1869488536155203e-2f);
    p = p * t + V8(-5.396825396825397e-2f);
    p = p * t + V8(0.13333333333333333f);
    p = p * t + V8(-0.3333333333333333f);
    m4i_v8f small = ax + ax * t * p, a2 = ax + ax, e;
    v8_exp(&e, &a2);
    m4i_v8f big = (e - V8(1.0f)) / (e + V8(1.0f));
    *y = (m4i_v8f)((m4i_v8i)V8_SELECT(ax < V8(0.55f), small, big) | sign);
}

/* n <= 8 floats in and out (the rest of the vector zero) */
static inline __attribute__((always_inline)) void v8_load(m4i_v8f *v, const float *p, int n) {
    *v = V8(0.0f);
    memcpy(v, p, sizeof(float) * (size_t)n);
}

/* m4i_gru_gates' body (model_internal.h), a = gi and b = gh of row r */
static inline __attribute__((always_inline)) void gates_body(int H, int R, const float *gi, const float *gh,
                                                             const float *Hp, float *Ho, float *gates,
                                                             float *ghn) {
    for (int r = 0; r < R; r++) {
        const float *a = gi + (size_t)r * 3 * H, *b = gh + (size_t)r * 3 * H, *h = Hp + (size_t)r * H;
        float *gt = gates + (size_t)r * 3 * H, *o = Ho + (size_t)r * H, *hn = ghn + (size_t)r * H;
        for (int j = 0; j < H; j += 8) {
            int n = H - j < 8 ? H - j : 8;
            size_t sz = sizeof(float) * (size_t)n;
            m4i_v8f ar, br, az, bz, an, bn, hv, rr, zz, nn, x;
            v8_load(&ar, a + j, n), v8_load(&br, b + j, n);
            v8_load(&az, a + H + j, n), v8_load(&bz, b + H + j, n);
            v8_load(&an, a + 2 * H + j, n), v8_load(&bn, b + 2 * H + j, n);
            v8_load(&hv, h + j, n);
            x = ar + br, v8_sigmoid(&rr, &x);
            x = az + bz, v8_sigmoid(&zz, &x);
            x = an + rr * bn, v8_tanh(&nn, &x);
            memcpy(gt + j, &rr, sz), memcpy(gt + H + j, &zz, sz), memcpy(gt + 2 * H + j, &nn, sz);
            memcpy(hn + j, &bn, sz);
            x = (V8(1.0f) - zz) * nn + zz * hv;
            memcpy(o + j, &x, sz);
        }
    }
}

/* x = tanh(x), n elements */
static inline __attribute__((always_inline)) void tanh_body(float *x, size_t n) {
    for (size_t i = 0; i < n; i += 8) {
        int k = n - i < 8 ? (int)(n - i) : 8;
        m4i_v8f v, y;
        v8_load(&v, x + i, k);
        v8_tanh(&y, &v);
        memcpy(x + i, &y, sizeof(float) * (size_t)k);
    }
}

static void gates_generic(int H, int R, const float *gi, const float *gh, const float *Hp, float *Ho,
                          float *gates, float *ghn) {
    gates_body(H, R, gi, gh, Hp, Ho, gates, ghn);
}
static void tanh_generic(float *x, size_t n) { tanh_body(x, n); }

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define M4_VEC_AVX2 1
__attribute__((target("avx2"))) static void gates_avx2(int H, int R, const float *gi, const float *gh,
                                                       const float *Hp, float *Ho, float *gates, float *ghn) {
    gates_body(H, R, gi, gh, Hp, Ho, gates, ghn);
}
__attribute__((target("avx2"))) static void tanh_avx2(float *x, size_t n) { tanh_body(x, n); }
#endif

/* the AVX2 variant wherever the GEMM found AVX2 (or AVX-512) */
static int use_avx2(const m4i_gemm *g) { return strcmp(g->name, "generic") != 0; }

void m4i_gru_gates(const m4i_gemm *g, int H, int R, const float *gi, const float *gh, const float *Hp, float *Ho,
                   float *gates, float *ghn) {
#ifdef M4_VEC_AVX2
    if (use_avx2(g)) {
        gates_avx2(H, R, gi, gh, Hp, Ho, gates, ghn);
        return;
    }
#else
    (void)g;
#endif
    gates_generic(H, R, gi, gh, Hp, Ho, gates, ghn);
}

void m4i_tanh(const m4i_gemm *g, float *x, size_t n) {
#ifdef M4_VEC_AVX2
    if (use_avx2(g)) {
        tanh_avx2(x, n);
        return;
    }
#else
    (void)g;
#endif
    tanh_generic(x, n);
}
