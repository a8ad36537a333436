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
    for (long i = 0; i < n; i++)
        if (!(x[i] > 0.0f)) x[i] = 0.0f;
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
