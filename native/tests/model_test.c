/*
 * model_test.c: the model kernels (native/model*.c).
 *   - GEMM against a double-precision reference, every transpose, packed or
 *     not, and bit-identical for 1 and 3 threads;
 *   - every op's backward against central finite differences;
 *   - dropout's keep rate and scaling; AdamW against the formula in double;
 *   - the vectorized tanh and GRU gates against libm in double, every variant
 *     bit-identical;
 *   - the whole model: gradients against finite differences (dropout on), and
 *     forward, loss, gradients and three AdamW steps against PyTorch
 *     (fixtures/model_small.m4fx), and m3's full-size model's forward and
 *     gradient sums (fixtures/model_m3size.m4fx); see
 *     fixtures/gen_model_fixtures.py.
 * Fixtures are found through $M4_SOURCE_DIR (ctest sets it) or ../native/tests.
 */
#include "m4.h"
#include "check.h"
#include "model_fd.h"
#include "model_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ------------------------------------------------------------------------ */
/* helpers                                                                  */
/* ------------------------------------------------------------------------ */

static uint64_t rng_state = 42;
static double urand(void) { /* [0, 1) */
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static float srand1(void) { return (float)(2.0 * urand() - 1.0); }
static void fill(float *a, long n, float scale) {
    for (long i = 0; i < n; i++) a[i] = scale * srand1();
}
static float *falloc(long n) { return calloc((size_t)n, sizeof(float)); }

/* |a - b| <= atol + rtol * |b| for all; prints the worst one */
static int close_all(const char *what, const float *a, const float *b, long n, double atol, double rtol) {
    long worst = -1;
    double wex = 0;
    for (long i = 0; i < n; i++) {
        double ex = fabs((double)a[i] - b[i]) - (atol + rtol * fabs((double)b[i]));
        if (!(ex <= 0) && (worst < 0 || ex > wex || isnan(ex))) worst = i, wex = ex;
    }
    CHECK(worst < 0, "%s: element %ld: got %.7g, want %.7g", what, worst, worst >= 0 ? a[worst] : 0.0,
          worst >= 0 ? b[worst] : 0.0);
    return worst < 0;
}

/* A scalar loss of some outputs: sum_i c_i y_i with fixed random c_i. */
static double dotc(const float *y, const float *c, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += (double)y[i] * c[i];
    return s;
}

/* ------------------------------------------------------------------------ */
/* GEMM                                                                     */
/* ------------------------------------------------------------------------ */

static void test_gemm(void) {
    const char *kernels[] = {"avx512", "avx2", "generic"};
    int shapes[][3] = {{1, 1, 1}, {5, 7, 3}, {13, 33, 17}, {37, 100, 300}, {12, 32, 256}, {25, 65, 513}, {100, 40, 9}};
    for (int kn = 0; kn < 3; kn++) {
        m4i_gemm g;
        if (m4i_gemm_select(&g, kernels[kn]) != 0) continue; /* this CPU cannot run it */
        float *ws = falloc(3 * (long)m4i_gemm_ws_floats(&g) + 64);
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++)
                    for (int pk = 0; pk < 2; pk++)
                        for (int acc = 0; acc < 2; acc++) {
                            int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
                            float *A = falloc((long)M * K), *B = falloc((long)K * N);
                            float *C1 = falloc((long)M * N), *C3 = falloc((long)M * N), *R = falloc((long)M * N);
                            fill(A, (long)M * K, 1);
                            fill(B, (long)K * N, 1);
                            fill(C1, (long)M * N, 1);
                            memcpy(C3, C1, sizeof(float) * (size_t)M * N);
                            m4i_mat Am = ta ? (m4i_mat){A, 1, M} : (m4i_mat){A, K, 1};
                            m4i_mat Bm = tb ? (m4i_mat){B, 1, K} : (m4i_mat){B, N, 1};
                            for (int i = 0; i < M; i++)
                                for (int j = 0; j < N; j++) {
                                    double v = acc ? C1[i * N + j] : 0;
                                    for (int k = 0; k < K; k++)
                                        v += (double)Am.p[i * Am.rs + k * Am.cs] * Bm.p[k * Bm.rs + j * Bm.cs];
                                    R[i * N + j] = (float)v;
                                }
                            float *P = NULL;
                            if (pk) {
                                P = falloc((long)m4i_gemm_packed_floats(&g, K, N));
                                m4i_gemm_pack(&g, K, N, Bm, P);
                            }
                            m4i_gemm_run(&g, 1, ws, M, N, K, Am, Bm, P, C1, N, acc);
                            m4i_gemm_run(&g, 3, ws, M, N, K, Am, Bm, P, C3, N, acc);
                            char what[128];
                            snprintf(what, sizeof what, "gemm %s %dx%dx%d ta%d tb%d packed%d acc%d",
                                     g.name, M, N, K, ta, tb, pk, acc);
                            close_all(what, C1, R, (long)M * N, 1e-5 * sqrt(K), 1e-5);
                            CHECK(memcmp(C1, C3, sizeof(float) * (size_t)M * N) == 0,
                                  "%s: 1 and 3 threads differ", what);
                            free(A), free(B), free(C1), free(C3), free(R), free(P);
                        }
        free(ws);
    }
}

/* ------------------------------------------------------------------------ */
/* op gradients against central differences                                 */
/* ------------------------------------------------------------------------ */

/* Each op test defines a loss f(params) = sum c * op(inputs); fd_check
 * perturbs every element of the input `x` and compares (f(x+h) - f(x-h))/2h
 * with the analytic gradient `g`. */
typedef double (*loss_fn)(void *ctx);

static void fd_check(const char *what, float *x, const float *g, long n, loss_fn f, void *ctx,
                     float h, double tol) {
    float *num = falloc(n);
    double gmax = 0;
    for (long i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + h;
        double up = f(ctx);
        x[i] = keep - h;
        double dn = f(ctx);
        x[i] = keep;
        num[i] = (float)((up - dn) / (2.0 * h));
        if (fabs(g[i]) > gmax) gmax = fabs(g[i]);
    }
    close_all(what, g, num, n, tol * (gmax > 1 ? gmax : 1), tol);
    free(num);
}

/* linear */
typedef struct {
    m4i_ctx *cx;
    float *X, *W, *b, *Y, *c;
    int R, in, out;
} lin_ctx;
static double lin_loss(void *p) {
    lin_ctx *s = p;
    m4i_linear_forward(s->cx, s->Y, s->X, s->W, NULL, s->b, s->R, s->in, s->out);
    return dotc(s->Y, s->c, (long)s->R * s->out);
}

static void test_linear(m4i_ctx *cx) {
    lin_ctx s = {cx, NULL, NULL, NULL, NULL, NULL, 5, 7, 6};
    long nx = (long)s.R * s.in, nw = (long)s.out * s.in, ny = (long)s.R * s.out;
    s.X = falloc(nx), s.W = falloc(nw), s.b = falloc(s.out), s.Y = falloc(ny), s.c = falloc(ny);
    fill(s.X, nx, 1), fill(s.W, nw, 1), fill(s.b, s.out, 1), fill(s.c, ny, 1);
    float *dX = falloc(nx), *dW = falloc(nw), *db = falloc(s.out);
    m4i_linear_backward(cx, dX, dW, db, s.c, s.X, s.W, s.R, s.in, s.out);
    fd_check("linear dX", s.X, dX, nx, lin_loss, &s, 1e-2f, 1e-3);
    fd_check("linear dW", s.W, dW, nw, lin_loss, &s, 1e-2f, 1e-3);
    fd_check("linear db", s.b, db, s.out, lin_loss, &s, 1e-2f, 1e-3);
    /* packed weights give the same forward */
    float *Y1 = falloc(ny), *P = falloc((long)m4i_gemm_packed_floats(cx->gemm, s.in, s.out));
    m4i_linear_forward(cx, Y1, s.X, s.W, NULL, s.b, s.R, s.in, s.out);
    m4i_gemm_pack(cx->gemm, s.in, s.out, (m4i_mat){s.W, 1, s.in}, P);
    m4i_linear_forward(cx, s.Y, s.X, s.W, P, s.b, s.R, s.in, s.out);
    CHECK(memcmp(Y1, s.Y, sizeof(float) * (size_t)ny) == 0, "linear: packed and unpacked W differ");
    free(s.X), free(s.W), free(s.b), free(s.Y), free(s.c), free(dX), free(dW), free(db), free(Y1), free(P);
}

/* rmsnorm */
typedef struct {
    float *x, *w, *y, *r, *c;
    int R, n;
} rms_ctx;
static double rms_loss(void *p) {
    rms_ctx *s = p;
    m4i_rmsnorm_forward(s->y, s->r, s->x, s->w, s->R, s->n, 1e-5f);
    return dotc(s->y, s->c, (long)s->R * s->n);
}

static void test_rmsnorm(void) {
    rms_ctx s = {NULL, NULL, NULL, NULL, NULL, 4, 9};
    long N = (long)s.R * s.n;
    s.x = falloc(N), s.w = falloc(s.n), s.y = falloc(N), s.r = falloc(s.R), s.c = falloc(N);
    fill(s.x, N, 2), fill(s.w, s.n, 1), fill(s.c, N, 1);
    rms_loss(&s);
    /* analytic value: row 0 */
    double ss = 0;
    for (int j = 0; j < s.n; j++) ss += (double)s.x[j] * s.x[j];
    CHECK(fabs(s.y[3] - s.w[3] * s.x[3] / sqrt(ss / s.n + 1e-5)) < 1e-6, "rmsnorm value");
    float *dx = falloc(N), *dw = falloc(s.n);
    m4i_rmsnorm_backward(dx, dw, s.c, s.x, s.w, s.r, s.R, s.n);
    fd_check("rmsnorm dx", s.x, dx, N, rms_loss, &s, 1e-3f, 2e-3);
    fd_check("rmsnorm dw", s.w, dw, s.n, rms_loss, &s, 1e-3f, 2e-3);
    free(s.x), free(s.w), free(s.y), free(s.r), free(s.c), free(dx), free(dw);
}

/* rope */
typedef struct {
    float *x, *y, *c, *cs, *sn;
    int T, nh, hd;
} rope_ctx;
static double rope_loss(void *p) {
    rope_ctx *s = p;
    long n = (long)s->T * s->nh * s->hd;
    memcpy(s->y, s->x, sizeof(float) * (size_t)n);
    m4i_rope_forward(s->y, s->T, s->nh, s->hd, (long)s->nh * s->hd, s->cs, s->sn);
    return dotc(s->y, s->c, n);
}

static void test_rope(void) {
    rope_ctx s = {NULL, NULL, NULL, NULL, NULL, 5, 2, 6};
    long n = (long)s.T * s.nh * s.hd;
    s.x = falloc(n), s.y = falloc(n), s.c = falloc(n);
    s.cs = falloc(8 * 3), s.sn = falloc(8 * 3);
    m4i_rope_tables(s.cs, s.sn, 8, s.hd, 10000.0f);
    /* analytic: position 3, pair 1 (i = 1): angle 3 * 10000^(-2/6) */
    double a = 3.0 * pow(10000.0, -2.0 / 6.0);
    CHECK(fabs(s.cs[3 * 3 + 1] - cos(a)) < 1e-6 && fabs(s.sn[3 * 3 + 1] - sin(a)) < 1e-6, "rope table");
    fill(s.x, n, 1), fill(s.c, n, 1);
    float *d = falloc(n);
    memcpy(d, s.c, sizeof(float) * (size_t)n);
    m4i_rope_backward(d, s.T, s.nh, s.hd, (long)s.nh * s.hd, s.cs, s.sn);
    fd_check("rope dx", s.x, d, n, rope_loss, &s, 1e-2f, 1e-3);
    /* position 0 is the identity */
    rope_loss(&s);
    CHECK(memcmp(s.x, s.y, sizeof(float) * (size_t)s.nh * s.hd) == 0, "rope: position 0 not identity");
    free(s.x), free(s.y), free(s.c), free(s.cs), free(s.sn), free(d);
}

/* attention (with dropout) */
typedef struct {
    float *q, *k, *v, *o, *P, *c;
    int T, nh, hd, S;
    float p;
} att_ctx;
static double att_loss(void *p) {
    att_ctx *s = p;
    m4i_attention_forward(s->o, s->P, s->q, s->k, s->v, s->T, s->nh, s->hd, (long)s->nh * s->hd, s->S,
                          s->p, 7, 3);
    return dotc(s->o, s->c, (long)s->T * s->nh * s->hd);
}

static void test_attention(void) {
    for (int withdrop = 0; withdrop < 2; withdrop++) {
        att_ctx s = {NULL, NULL, NULL, NULL, NULL, NULL, 6, 2, 4, 8, withdrop ? 0.3f : 0.0f};
        long n = (long)s.T * s.nh * s.hd;
        s.q = falloc(n), s.k = falloc(n), s.v = falloc(n), s.o = falloc(n), s.c = falloc(n);
        s.P = falloc((long)s.nh * s.S * s.S);
        fill(s.q, n, 1), fill(s.k, n, 1), fill(s.v, n, 1), fill(s.c, n, 1);
        att_loss(&s);
        if (!withdrop) {
            /* row 0 attends only to itself: out_0 = v_0; rows of P sum to 1 */
            CHECK(fabsf(s.o[1] - s.v[1]) < 1e-6f, "attention: position 0 is not v_0");
            for (int h = 0; h < s.nh; h++)
                for (int i = 0; i < s.T; i++) {
                    double sum = 0;
                    for (int j = 0; j < s.S; j++) sum += s.P[(h * s.S + i) * s.S + j];
                    CHECK(fabs(sum - 1) < 1e-5 && s.P[(h * s.S + i) * s.S + s.S - 1] == 0.0f,
                          "attention: probabilities of row %d", i);
                }
        }
        float *dq = falloc(n), *dk = falloc(n), *dv = falloc(n), scratch[8];
        m4i_attention_backward(dq, dk, dv, s.c, s.P, s.q, s.k, s.v, s.T, s.nh, s.hd, (long)s.nh * s.hd,
                               s.S, s.p, 7, 3, scratch);
        fd_check(withdrop ? "attention+dropout dq" : "attention dq", s.q, dq, n, att_loss, &s, 1e-3f, 2e-3);
        fd_check(withdrop ? "attention+dropout dk" : "attention dk", s.k, dk, n, att_loss, &s, 1e-3f, 2e-3);
        fd_check(withdrop ? "attention+dropout dv" : "attention dv", s.v, dv, n, att_loss, &s, 1e-3f, 2e-3);
        free(s.q), free(s.k), free(s.v), free(s.o), free(s.c), free(s.P), free(dq), free(dk), free(dv);
    }
}

/* swiglu, relu, meanpool, dropout, loss: small elementwise ops */
typedef struct {
    float *a, *b, *y, *c;
    long n;
    int kind;
    int *start;
    float *gt, *mask;
} ew_ctx;
static double ew_loss(void *p) {
    ew_ctx *s = p;
    switch (s->kind) {
    case 0:
        m4i_swiglu_forward(s->y, s->a, s->b, s->n);
        return dotc(s->y, s->c, s->n);
    case 1:
        memcpy(s->y, s->a, sizeof(float) * (size_t)s->n);
        m4i_relu_forward(s->y, s->n);
        return dotc(s->y, s->c, s->n);
    case 2:
        m4i_meanpool_forward(s->y, s->a, s->start, 3, 4);
        return dotc(s->y, s->c, 12);
    case 3:
        memcpy(s->y, s->a, sizeof(float) * (size_t)s->n);
        m4i_dropout_forward(s->y, s->n, 0.4f, 11, 5, 100);
        return dotc(s->y, s->c, s->n);
    default:
        return m4i_rel_l1_loss(NULL, s->a, s->gt, s->mask, s->n);
    }
}

static void test_elementwise(void) {
    long n = 40;
    ew_ctx s = {falloc(n), falloc(n), falloc(n), falloc(n), n, 0, NULL, falloc(n), falloc(n)};
    fill(s.a, n, 3), fill(s.b, n, 2), fill(s.c, n, 1);
    /* swiglu */
    float *da = falloc(n), *db = falloc(n);
    m4i_swiglu_backward(da, db, s.c, s.a, s.b, n);
    fd_check("swiglu da1", s.a, da, n, ew_loss, &s, 1e-3f, 2e-3);
    fd_check("swiglu da3", s.b, db, n, ew_loss, &s, 1e-3f, 2e-3);
    ew_loss(&s);
    CHECK(fabs(s.y[0] - s.a[0] / (1 + exp(-s.a[0])) * s.b[0]) < 1e-5, "swiglu value");
    /* relu, inputs kept away from the kink */
    s.kind = 1;
    for (long i = 0; i < n; i++) s.a[i] = (i % 2 ? 1.0f : -1.0f) * (0.1f + (float)urand());
    ew_loss(&s);
    memcpy(da, s.c, sizeof(float) * (size_t)n);
    m4i_relu_backward(da, s.y, n);
    fd_check("relu dx", s.a, da, n, ew_loss, &s, 1e-2f, 1e-3);
    /* meanpool over 3 sequences of 1, 4, 2 rows of 4 */
    s.kind = 2;
    int start[4] = {0, 1, 5, 7};
    s.start = start;
    fill(s.a, 28, 1);
    memset(da, 0, sizeof(float) * (size_t)n);
    m4i_meanpool_backward(da, s.c, start, 3, 4);
    fd_check("meanpool dy", s.a, da, 28, ew_loss, &s, 1e-2f, 1e-3);
    ew_loss(&s);
    CHECK(fabsf(s.y[4 + 2] - (s.a[4 + 2] + s.a[8 + 2] + s.a[12 + 2] + s.a[16 + 2]) / 4) < 1e-6f, "meanpool value");
    /* dropout: linear, so its backward is its forward map */
    s.kind = 3;
    fill(s.a, n, 1);
    memcpy(da, s.c, sizeof(float) * (size_t)n);
    m4i_dropout_backward(da, n, 0.4f, 11, 5, 100);
    fd_check("dropout dx", s.a, da, n, ew_loss, &s, 1e-2f, 1e-3);
    /* masked relative L1, away from its kinks */
    s.kind = 4;
    for (long i = 0; i < n; i++) {
        s.gt[i] = 1.0f + 3.0f * (float)urand();
        s.a[i] = s.gt[i] * (i % 3 ? 1.3f : 0.6f);
        s.mask[i] = i % 5 ? 1.0f : 0.0f;
    }
    float lv = m4i_rel_l1_loss(da, s.a, s.gt, s.mask, n);
    double want = 0;
    for (long i = 0; i < n; i++) want += s.mask[i] * fabs(s.a[i] / s.gt[i] - 1.0);
    CHECK(fabs(lv - want / n) < 1e-6, "loss value %g, want %g", lv, want / n);
    fd_check("rel-l1 d est", s.a, da, n, ew_loss, &s, 1e-3f, 2e-3);
    free(s.a), free(s.b), free(s.y), free(s.c), free(s.gt), free(s.mask), free(da), free(db);

    /* dropout statistics: keep rate 1-p, kept values scaled by 1/(1-p), same
     * seed same mask, other seed other mask */
    long big = 200000;
    float *x = falloc(big), *y = falloc(big);
    for (long i = 0; i < big; i++) x[i] = y[i] = 1.0f;
    m4i_dropout_forward(x, big, 0.2f, 123, 1, 0);
    m4i_dropout_forward(y, big, 0.2f, 124, 1, 0);
    long kept = 0, same = 0;
    for (long i = 0; i < big; i++) {
        kept += x[i] != 0.0f;
        CHECK(x[i] == 0.0f || fabsf(x[i] - 1.25f) < 1e-6f, "dropout scale");
        same += (x[i] != 0.0f) == (y[i] != 0.0f);
        if (failures > 20) break;
    }
    double rate = (double)kept / big;
    CHECK(fabs(rate - 0.8) < 0.005, "dropout keep rate %g, want 0.8", rate);
    CHECK(same < big - 1000, "dropout: two seeds give nearly the same mask");
    CHECK(m4i_dropout_keep(123, 1, 17, 0.2f) == (x[17] != 0.0f), "dropout_keep disagrees with forward");
    free(x), free(y);
}

static void test_adamw(void) {
    long n = 10;
    float p[10], g[10], m[10] = {0}, v[10] = {0};
    double pd[10], md[10] = {0}, vd[10] = {0};
    fill(p, n, 1);
    for (long i = 0; i < n; i++) pd[i] = p[i];
    for (int t = 1; t <= 3; t++) {
        fill(g, n, 1);
        m4i_adamw(p, g, m, v, n, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
        for (long i = 0; i < n; i++) {
            pd[i] *= 1 - 1e-2 * 0.1;
            md[i] = 0.9 * md[i] + 0.1 * g[i];
            vd[i] = 0.95 * vd[i] + 0.05 * (double)g[i] * g[i];
            double mh = md[i] / (1 - pow(0.9, t)), vh = vd[i] / (1 - pow(0.95, t));
            pd[i] -= 1e-2 * mh / (sqrt(vh) + 1e-8);
        }
    }
    for (long i = 0; i < n; i++) CHECK(fabs(p[i] - pd[i]) < 1e-6, "adamw param %ld: %g want %g", i, p[i], pd[i]);
}

/* ------------------------------------------------------------------------ */
/* vectorized tanh and GRU gates (m4i_tanh, m4i_gru_gates)                  */
/* ------------------------------------------------------------------------ */

static double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

/* Against libm in double, on every range the approximations switch between
 * (the series below |x| = 0.55, exp's clamps), rows of 13 (a partial vector);
 * the portable and the AVX2 variants give the same bits. */
static void test_vector_math(void) {
    m4i_gemm gen, best;
    m4i_gemm_select(&gen, "generic");
    m4i_gemm_select(&best, NULL);
    enum { N = 4000 };
    float x[N], y[N], y2[N], want[N];
    for (int i = 0; i < N; i++) {
        double u = urand();
        x[i] = i < 8 ? (float)(0.549 + 0.0005 * i)                            /* the switch */
               : i < 1000 ? (float)(1e-6 * srand1()) : i < 3000 ? (float)(2.0 * srand1())
                                                                 : (float)(120.0 * (u - 0.5));
        if (i % 2) x[i] = -x[i];
    }
    x[8] = 0.0f, x[9] = -0.0f, x[10] = 9.5f, x[11] = -1e30f;
    for (int i = 0; i < N; i++) want[i] = (float)tanh((double)x[i]);
    memcpy(y, x, sizeof x), memcpy(y2, x, sizeof x);
    m4i_tanh(&gen, y, N);
    m4i_tanh(&best, y2, N - 3); /* a partial last vector */
    m4i_tanh(&best, y2 + N - 3, 3);
    close_all("tanh", y, want, N, 0, 2e-7);
    CHECK(memcmp(y, y2, sizeof y) == 0, "tanh: %s and generic differ", best.name);
    CHECK(signbit(y[9]) && y[9] == 0.0f, "tanh(-0) = %g", y[9]);

    enum { H = 13, R = 37 };
    float *gi = falloc(R * 3 * H), *gh = falloc(R * 3 * H), *hp = falloc(R * H);
    float *ho = falloc(R * H), *gt = falloc(R * 3 * H), *hn = falloc(R * H);
    float *ho2 = falloc(R * H), *gt2 = falloc(R * 3 * H), *hn2 = falloc(R * H);
    float *wo = falloc(R * H), *wg = falloc(R * 3 * H);
    fill(gi, R * 3 * H, 6.0f), fill(gh, R * 3 * H, 6.0f), fill(hp, R * H, 1.0f);
    gi[0] = 200.0f, gi[1] = -200.0f; /* exp's clamps */
    for (int r = 0; r < R; r++)
        for (int j = 0; j < H; j++) {
            const float *a = gi + r * 3 * H, *b = gh + r * 3 * H;
            double rr = sigmoid_d((double)a[j] + b[j]), zz = sigmoid_d((double)a[H + j] + b[H + j]);
            double nn = tanh((double)a[2 * H + j] + (double)(float)rr * b[2 * H + j]);
            wg[r * 3 * H + j] = (float)rr, wg[r * 3 * H + H + j] = (float)zz, wg[r * 3 * H + 2 * H + j] = (float)nn;
            wo[r * H + j] = (float)((1.0 - zz) * nn + zz * hp[r * H + j]);
        }
    m4i_gru_gates(&gen, H, R, gi, gh, hp, ho, gt, hn);
    m4i_gru_gates(&best, H, R, gi, gh, hp, ho2, gt2, hn2);
    close_all("gru gates", gt, wg, R * 3 * H, 2e-6, 1e-6); /* r, z to 1 ulp enter n through r gh_n */
    close_all("gru output", ho, wo, R * H, 2e-6, 1e-6);
    for (int r = 0; r < R; r++) close_all("gru ghn", hn + r * H, gh + r * 3 * H + 2 * H, H, 0, 0);
    CHECK(memcmp(ho, ho2, sizeof(float) * R * H) == 0 && memcmp(gt, gt2, sizeof(float) * R * 3 * H) == 0,
          "gru gates: %s and generic differ", best.name);
    free(gi), free(gh), free(hp), free(ho), free(gt), free(hn), free(ho2), free(gt2), free(hn2), free(wo), free(wg);
}

/* ------------------------------------------------------------------------ */
/* the whole model                                                          */
/* ------------------------------------------------------------------------ */

static void small_config(m4_model_config *c) {
    m4_model_config_default(c);
    c->feat_dim = 10 * 6 + 5;
    c->n_pct = 6;
    c->dim = 16;
    c->n_layers = 2;
    c->n_heads = 2;
    c->hidden_dim = 24;
    c->max_seq = 8;
    c->mlp_hidden1 = 12;
    c->mlp_hidden2 = 10;
    c->out_dim = 4 * 6;
}

typedef struct {
    m4_model *m;
    int B, out_dim;
    int32_t *n_rows;
    float *feat, *target, *mask, *out;
    uint8_t *empty;
    float *params;
} model_ctx;

static double model_loss(void *p) {
    model_ctx *s = p;
    m4_model_set_params(s->m, s->params, m4_model_num_params(s->m));
    /* the loss in double from the float estimates, to keep rounding out of
     * the differences */
    m4_model_forward(s->m, s->B, s->n_rows, s->feat, s->empty, 1, 99, s->out);
    long n = (long)s->B * s->out_dim;
    double sum = 0;
    for (long i = 0; i < n; i++) sum += s->mask[i] * fabs((double)s->out[i] / s->target[i] - 1.0);
    return sum / n;
}

static void test_model_fd(void) {
    m4_model_config c;
    small_config(&c);
    c.dropout = 0.25f;
    m4_model *m = NULL;
    CHECK(m4_model_create(&m, &c, 4, 0, 1) == M4_OK, "create");
    if (!m) return;
    m4_model_init(m, 5);
    size_t np = m4_model_num_params(m);
    int32_t n_rows[3] = {2, 4, 3};
    int rows = 9;
    model_ctx s = {m, 3, c.out_dim, n_rows, falloc((long)rows * c.feat_dim), falloc(3L * c.out_dim),
                   falloc(3L * c.out_dim), falloc(3L * c.out_dim), calloc((size_t)rows * 10, 1), falloc((long)np)};
    for (long i = 0; i < (long)rows * c.feat_dim; i++) s.feat[i] = 1.0f + 2.0f * (float)urand();
    for (long i = 0; i < 3L * c.out_dim; i++) {
        s.target[i] = 1.0f + 5.0f * (float)urand();
        s.mask[i] = urand() < 0.8 ? 1.0f : 0.0f;
    }
    s.empty[0 * 10 + 2] = s.empty[3 * 10 + 7] = s.empty[8 * 10 + 0] = 1;
    m4_tensor_info cv;
    m4_model_tensor(m, m4_model_num_tensors(m) - 1, &cv);
    CHECK(strcmp(cv.name, "const_tensor") == 0, "last tensor is %s", cv.name);
    fd_params(m, s.params, urand);
    model_loss(&s);
    float lv;
    CHECK(m4_model_backward(m, s.target, s.mask, &lv) == M4_OK, "backward: %s", m4_model_error(m));
    float *grads = falloc((long)np);
    memcpy(grads, m4_model_grads(m), sizeof(float) * np);
    /* central differences at every element of every tensor */
    CHECK(check_model_gradient(m, s.params, grads, model_loss, &s) == (long)np, "not every element checked");
    /* gradients do not depend on the thread count */
    m4_model_set_threads(m, 3);
    model_loss(&s);
    m4_model_backward(m, s.target, s.mask, &lv);
    CHECK(memcmp(grads, m4_model_grads(m), sizeof(float) * np) == 0, "gradients differ with 3 threads");
    /* input normalisation: the same as feeding pre-normalised rows (empty
     * buckets are filled after it) */
    {
        long nf = (long)rows * c.feat_dim;
        float *shift = falloc(c.feat_dim), *scale = falloc(c.feat_dim), *pre = falloc(nf);
        float *o1 = falloc(3L * c.out_dim), *o2 = falloc(3L * c.out_dim);
        for (int j = 0; j < c.feat_dim; j++) shift[j] = 0.5f + 0.01f * j, scale[j] = 2.0f - 0.01f * j;
        for (long i = 0; i < nf; i++) pre[i] = (s.feat[i] - shift[i % c.feat_dim]) * scale[i % c.feat_dim];
        CHECK(m4_model_set_input_norm(m, shift, scale) == M4_OK, "set input norm");
        m4_model_forward(m, 3, n_rows, s.feat, s.empty, 0, 0, o1);
        CHECK(m4_model_set_input_norm(m, NULL, NULL) == M4_OK, "clear input norm");
        m4_model_forward(m, 3, n_rows, pre, s.empty, 0, 0, o2);
        close_all("input normalisation", o1, o2, 3L * c.out_dim, 1e-6, 1e-5);
        scale[3] = 0;
        CHECK(m4_model_set_input_norm(m, shift, scale) == M4_ERR_INVALID_INPUT, "zero scale accepted");
        free(shift), free(scale), free(pre), free(o1), free(o2);
    }
    /* bad input */
    s.feat[5] = NAN;
    CHECK(m4_model_forward(m, 3, n_rows, s.feat, s.empty, 0, 0, s.out) == M4_ERR_INVALID_INPUT &&
              strstr(m4_model_error(m), "scenario 0: feature row 0, column 5 is NaN"),
          "NaN feature: %s", m4_model_error(m));
    s.feat[5] = 1;
    n_rows[1] = 12;
    CHECK(m4_model_forward(m, 3, n_rows, s.feat, s.empty, 0, 0, s.out) == M4_ERR_INVALID_INPUT, "12 rows > max_seq+1");
    n_rows[1] = 4;
    s.params[3] = INFINITY;
    CHECK(m4_model_set_params(m, s.params, np) == M4_ERR_INVALID_INPUT &&
              strstr(m4_model_error(m), "model_transformer.tok_embeddings.weight: element 3 is Inf"),
          "Inf parameter: %s", m4_model_error(m));
    free(s.feat), free(s.target), free(s.mask), free(s.out), free(s.empty), free(s.params), free(grads);
    m4_model_destroy(m);
}

/* fixtures */
typedef struct {
    char name[64];
    int dtype, ndim, shape[4];
    long n;
    void *data;
} fx_array;
typedef struct {
    int count;
    fx_array a[64];
} fixture;

static int fx_load(fixture *fx, const char *file) {
    char path[1024];
    const char *root = getenv("M4_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/native/tests/fixtures/%s", root ? root : "..", file);
    FILE *f = fopen(path, "rb");
    if (!f) {
        CHECK(0, "fixture %s: cannot open (set M4_SOURCE_DIR to the repository root)", path);
        return 0;
    }
    char magic[4];
    int32_t hdr[2];
    int ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "M4FX", 4) == 0 && fread(hdr, 4, 2, f) == 2 &&
             hdr[0] == 1 && hdr[1] > 0 && hdr[1] <= 64;
    fx->count = ok ? hdr[1] : 0;
    for (int i = 0; ok && i < fx->count; i++) {
        fx_array *a = &fx->a[i];
        int32_t len, dt, nd;
        ok = fread(&len, 4, 1, f) == 1 && len > 0 && len < 64 && fread(a->name, 1, (size_t)len, f) == (size_t)len &&
             fread(&dt, 4, 1, f) == 1 && fread(&nd, 4, 1, f) == 1 && nd >= 0 && nd <= 4;
        if (!ok) break;
        a->name[len] = 0;
        a->dtype = dt, a->ndim = nd, a->n = 1;
        for (int d = 0; d < nd && ok; d++) {
            int32_t s;
            ok = fread(&s, 4, 1, f) == 1 && s >= 0;
            a->shape[d] = s;
            a->n *= s;
        }
        a->data = ok ? malloc((size_t)a->n * 4 + 4) : NULL;
        ok = ok && a->data && fread(a->data, 4, (size_t)a->n, f) == (size_t)a->n;
    }
    fclose(f);
    CHECK(ok, "fixture %s: malformed", path);
    return ok;
}

static fx_array *fx_get(fixture *fx, const char *name) {
    for (int i = 0; i < fx->count; i++)
        if (strcmp(fx->a[i].name, name) == 0) return &fx->a[i];
    CHECK(0, "fixture: no array %s", name);
    return NULL;
}

static void fx_free(fixture *fx) {
    for (int i = 0; i < fx->count; i++) free(fx->a[i].data);
}

static void fx_config(fixture *fx, m4_model_config *c) {
    int32_t *ci = fx_get(fx, "config_int")->data;
    float *cf = fx_get(fx, "config_float")->data;
    m4_model_config_default(c);
    c->feat_dim = ci[0], c->n_buckets_in = ci[1], c->n_pct = ci[2], c->dim = ci[3];
    c->n_layers = ci[4], c->n_heads = ci[5], c->hidden_dim = ci[6], c->max_seq = ci[7];
    c->mlp_hidden1 = ci[8], c->mlp_hidden2 = ci[9], c->out_dim = ci[10];
    c->norm_eps = cf[0], c->rope_theta = cf[1];
    c->dropout = 0.0f;
}

static uint8_t *fx_empty(fixture *fx) {
    fx_array *e = fx_get(fx, "empty");
    uint8_t *u = malloc((size_t)e->n);
    for (long i = 0; i < e->n; i++) u[i] = ((int32_t *)e->data)[i] != 0;
    return u;
}

static void test_fixture_small(void) {
    fixture fx = {0};
    if (!fx_load(&fx, "model_small.m4fx")) return;
    m4_model_config c;
    fx_config(&fx, &c);
    m4_model *m = NULL;
    fx_array *nr = fx_get(&fx, "n_rows");
    int B = nr->shape[0];
    CHECK(m4_model_create(&m, &c, B, 0, 1) == M4_OK, "create small");
    if (!m) return;
    size_t np = m4_model_num_params(m);
    fx_array *params = fx_get(&fx, "params");
    CHECK((size_t)params->n == np, "small: %zu parameters, fixture has %ld", np, params->n);
    if ((size_t)params->n != np) return;
    CHECK(m4_model_set_params(m, params->data, np) == M4_OK, "set params");
    float *out = falloc((long)B * c.out_dim), lv = 0;
    uint8_t *empty = fx_empty(&fx);
    float *feat = fx_get(&fx, "feat")->data, *target = fx_get(&fx, "target")->data, *mask = fx_get(&fx, "mask")->data;
    CHECK(m4_model_forward(m, B, nr->data, feat, empty, 0, 0, out) == M4_OK, "forward: %s", m4_model_error(m));
    close_all("small: estimates vs PyTorch", out, fx_get(&fx, "est")->data, (long)B * c.out_dim, 1e-5, 1e-5);
    CHECK(m4_model_backward(m, target, mask, &lv) == M4_OK, "backward: %s", m4_model_error(m));
    float want = ((float *)fx_get(&fx, "loss")->data)[0];
    CHECK(fabsf(lv - want) < 1e-6f + 1e-5f * want, "small: loss %.8g, PyTorch %.8g", lv, want);
    /* gradients, tensor by tensor, scaled to each tensor's largest */
    const float *gw = fx_get(&fx, "grads")->data, *g = m4_model_grads(m);
    for (int t = 0; t < m4_model_num_tensors(m); t++) {
        m4_tensor_info ti;
        m4_model_tensor(m, t, &ti);
        double gmax = 0;
        for (size_t i = 0; i < ti.size; i++) gmax = fmax(gmax, fabs(gw[ti.offset + i]));
        char what[128];
        snprintf(what, sizeof what, "small: gradient of %s vs PyTorch", ti.name);
        close_all(what, g + ti.offset, gw + ti.offset, (long)ti.size, 1e-4 * gmax + 1e-9, 1e-3);
    }
    /* three AdamW steps */
    float *hp = fx_get(&fx, "adamw")->data, *step_losses = fx_get(&fx, "step_losses")->data;
    CHECK(m4_model_set_params(m, params->data, np) == M4_OK, "reset params");
    for (int s = 1; s <= 3; s++) {
        m4_model_forward(m, B, nr->data, feat, empty, 1, 0, out);
        m4_model_backward(m, target, mask, &lv);
        CHECK(fabsf(lv - step_losses[s - 1]) < 1e-5f * step_losses[s - 1] + 1e-6f, "step %d loss %.8g, PyTorch %.8g",
              s, lv, step_losses[s - 1]);
        CHECK(m4_model_adamw(m, hp[0], hp[1], hp[2], hp[3], hp[4], s) == M4_OK, "adamw");
    }
    close_all("small: parameters after 3 AdamW steps vs PyTorch", m4_model_params(m),
              fx_get(&fx, "params_after")->data, (long)np, 2e-6, 1e-4);
    free(out), free(empty);
    m4_model_destroy(m);
    fx_free(&fx);
}

/* the hash the fixture generator uses for m3-size parameters */
static float hash_uniform(uint64_t seed, uint64_t i) {
    uint64_t z = seed + i * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z = z ^ (z >> 31);
    return (float)((double)(z >> 40) / 8388608.0 - 1.0);
}

static void test_fixture_m3size(void) {
    fixture fx = {0};
    if (!fx_load(&fx, "model_m3size.m4fx")) return;
    m4_model_config c, d;
    fx_config(&fx, &c);
    m4_model_config_default(&d);
    CHECK(c.dim == d.dim && c.hidden_dim == d.hidden_dim && c.feat_dim == d.feat_dim, "m3size is not m3's config");
    fx_array *nr = fx_get(&fx, "n_rows");
    int B = nr->shape[0];
    m4_model *m = NULL;
    CHECK(m4_model_create(&m, &c, B, 0, 1) == M4_OK, "create m3 size");
    if (!m) return;
    size_t np = m4_model_num_params(m);
    CHECK(np == 18134836, "m3's model has %zu parameters, want 18134836", np);
    float *p = malloc(sizeof(float) * np);
    for (int t = 0; t < m4_model_num_tensors(m); t++) {
        m4_tensor_info ti;
        m4_model_tensor(m, t, &ti);
        float scale = ti.ndim == 2 ? (float)(1.0 / sqrt((double)ti.shape[1])) : 0.1f;
        int norm = strstr(ti.name, "norm") != NULL;
        for (size_t i = 0; i < ti.size; i++) {
            float u = hash_uniform((uint64_t)t + 1, i);
            p[ti.offset + i] = norm ? 1.0f + u * 0.1f : u * scale;
        }
    }
    CHECK(m4_model_set_params(m, p, np) == M4_OK, "set params");
    m4_model_set_threads(m, 2);
    float *out = falloc((long)B * c.out_dim), lv;
    uint8_t *empty = fx_empty(&fx);
    CHECK(m4_model_forward(m, B, nr->data, fx_get(&fx, "feat")->data, empty, 0, 0, out) == M4_OK, "forward");
    close_all("m3 size: estimates vs PyTorch", out, fx_get(&fx, "est")->data, (long)B * c.out_dim, 1e-4, 1e-4);
    CHECK(m4_model_backward(m, fx_get(&fx, "target")->data, fx_get(&fx, "mask")->data, &lv) == M4_OK, "backward");
    float want = ((float *)fx_get(&fx, "loss")->data)[0];
    CHECK(fabsf(lv - want) < 1e-4f * want, "m3 size: loss %.8g, PyTorch %.8g", lv, want);
    const float *g = m4_model_grads(m);
    float *gsum = fx_get(&fx, "grad_sum")->data, *gabs = fx_get(&fx, "grad_abs_sum")->data;
    for (int t = 0; t < m4_model_num_tensors(m); t++) {
        m4_tensor_info ti;
        m4_model_tensor(m, t, &ti);
        double s = 0, a = 0;
        for (size_t i = 0; i < ti.size; i++) s += g[ti.offset + i], a += fabs(g[ti.offset + i]);
        CHECK(fabs(a - gabs[t]) <= 2e-3 * gabs[t] + 1e-9 && fabs(s - gsum[t]) <= 2e-3 * gabs[t] + 1e-9,
              "m3 size: gradient of %s: sum %.6g |sum| %.6g, PyTorch %.6g %.6g", ti.name, s, a, gsum[t], gabs[t]);
    }
    fx_array *gi = fx_get(&fx, "grad_index");
    float *gv = fx_get(&fx, "grad_value")->data;
    for (long i = 0; i < gi->n; i++) {
        int32_t k = ((int32_t *)gi->data)[i];
        CHECK(fabs(g[k] - gv[i]) <= 1e-3 * fabs(gv[i]) + 1e-7, "m3 size: gradient element %d: %.6g, PyTorch %.6g", k,
              g[k], gv[i]);
    }
    free(p), free(out), free(empty);
    m4_model_destroy(m);
    fx_free(&fx);
}

/* m4_model_config_default is m3's model, m4_model_config_check accepts it
 * and names the first field out of range, and m4_model_create agrees. */
static void test_config(void) {
    m4_model_config d;
    m4_model_config_default(&d);
    CHECK(d.feat_dim == 1019 && d.n_buckets_in == 10 && d.n_pct == 100 && d.dim == 576 && d.n_layers == 4 &&
              d.n_heads == 4 && d.hidden_dim == 1536 && d.max_seq == 16 && d.mlp_hidden1 == 512 &&
              d.mlp_hidden2 == 512 && d.out_dim == 400 && d.norm_eps == 1e-5f && d.rope_theta == 10000.0f &&
              d.dropout == 0.2f,
          "default config is not m3's");
    char err[128] = "x";
    CHECK(m4_model_config_check(&d, err, sizeof err) == M4_OK && err[0] == 0, "default refused: %s", err);
    CHECK(m4_model_config_check(&d, NULL, 0) == M4_OK, "default refused without a message buffer");
    CHECK(m4_model_config_check(NULL, err, sizeof err) == M4_ERR_INVALID_ARGUMENT && strstr(err, "no config"),
          "NULL config: %s", err);
    struct {
        const char *field;
        m4_model_config c;
    } bad[16];
    int n = 0;
#define BAD(F, ...)                     \
    do {                                \
        bad[n].field = F;               \
        bad[n].c = d;                   \
        m4_model_config *c = &bad[n].c; \
        __VA_ARGS__;                    \
        n++;                            \
    } while (0)
    BAD("feat_dim = 0", c->feat_dim = 0);
    BAD("n_buckets_in = -1", c->n_buckets_in = -1);
    BAD("n_pct = 1048577", c->n_pct = (1 << 20) + 1);
    BAD("dim = 0", c->dim = 0);
    BAD("n_layers = 1025", c->n_layers = 1025);
    BAD("n_heads = 0", c->n_heads = 0);
    BAD("hidden_dim = -5", c->hidden_dim = -5);
    BAD("max_seq = 4097", c->max_seq = 4097);
    BAD("mlp_hidden2 = 0", c->mlp_hidden2 = 0);
    BAD("11 buckets x 100 percentiles exceed feat_dim 1019", c->n_buckets_in = 11);
    BAD("dim 576 / n_heads 5", c->n_heads = 5);
    BAD("norm_eps = 2", c->norm_eps = 2);
    BAD("rope_theta = 0", c->rope_theta = 0);
    BAD("dropout = 1", c->dropout = 1);
    BAD("hidden_dim 1048576 x dim 2048 exceeds", c->hidden_dim = 1 << 20; c->dim = 2048);
#undef BAD
    for (int i = 0; i < n; i++) {
        err[0] = 0;
        m4_model *m = NULL;
        CHECK(m4_model_config_check(&bad[i].c, err, sizeof err) == M4_ERR_INVALID_ARGUMENT &&
                  strstr(err, bad[i].field) == err,
              "case %d: \"%s\", want it to start with \"%s\"", i, err, bad[i].field);
        CHECK(m4_model_config_num_params(&bad[i].c) == 0 &&
                  m4_model_create(&m, &bad[i].c, 1, 0, 0) == M4_ERR_INVALID_ARGUMENT && !m,
              "case %d: m4_model_create accepts what the check refuses", i);
    }
    /* a short buffer is cut, still NUL-terminated */
    char small[5];
    CHECK(m4_model_config_check(&bad[0].c, small, sizeof small) == M4_ERR_INVALID_ARGUMENT &&
              strcmp(small, "feat") == 0,
          "short buffer: \"%s\"", small);
}

/* A replica runs the same forward on its base's weights (bit for bit, also
 * after the base ran one), and neither changes those weights while both
 * live. */
static void test_replica(void) {
    m4_model_config c;
    small_config(&c);
    m4_model *base = NULL, *rep = NULL, *rep2 = NULL, *tr = NULL;
    CHECK(m4_model_create(&base, &c, 4, 0, 0) == M4_OK, "create");
    size_t np = m4_model_num_params(base);
    float *p = falloc((long)np);
    fill(p, (long)np, 0.3f);
    CHECK(m4_model_set_params(base, p, np) == M4_OK, "set params");
    float *shift = falloc(c.feat_dim), *scale = falloc(c.feat_dim);
    fill(shift, c.feat_dim, 0.5f);
    for (int j = 0; j < c.feat_dim; j++) scale[j] = 1.5f + 0.01f * (float)j;
    CHECK(m4_model_set_input_norm(base, shift, scale) == M4_OK, "set input norm"); /* the replica reads it too */
    int32_t rows[3] = {3, 2, 6}; /* hosts per scenario */
    long R = 3 + 2 + 6;
    float *feat = falloc(R * c.feat_dim);
    fill(feat, R * c.feat_dim, 1.0f);
    float *o1 = falloc(3L * c.out_dim), *o2 = falloc(3L * c.out_dim), *o3 = falloc(3L * c.out_dim);
    CHECK(m4_model_create_replica(&rep, base, 3) == M4_OK && rep, "create replica");
    CHECK(m4_model_num_params(rep) == np && m4_model_params(rep) == m4_model_params(base), "replica's parameters");
    CHECK(m4_model_forward(rep, 3, rows, feat, NULL, 0, 0, o2) == M4_OK, "replica forward: %s", m4_model_error(rep));
    CHECK(m4_model_forward(base, 3, rows, feat, NULL, 0, 0, o1) == M4_OK, "base forward");
    CHECK(memcmp(o1, o2, sizeof(float) * 3 * (size_t)c.out_dim) == 0, "replica's outputs differ from its base's");
    CHECK(m4_model_forward(rep, 3, rows, feat, NULL, 0, 0, o3) == M4_OK &&
              memcmp(o1, o3, sizeof(float) * 3 * (size_t)c.out_dim) == 0,
          "replica's second forward differs");
    CHECK(m4_model_forward(rep, 4, rows, feat, NULL, 0, 0, o3) == M4_ERR_INVALID_ARGUMENT, "replica took 4 scenarios");
    /* nothing changes the shared weights while the replica lives */
    CHECK(m4_model_set_params(rep, p, np) == M4_ERR_INVALID_ARGUMENT && strstr(m4_model_error(rep), "replica"),
          "replica set its parameters: %s", m4_model_error(rep));
    CHECK(m4_model_set_params(base, p, np) == M4_ERR_INVALID_ARGUMENT && strstr(m4_model_error(base), "1 replicas"),
          "base set its parameters under a replica: %s", m4_model_error(base));
    CHECK(m4_model_init(base, 1) == M4_ERR_INVALID_ARGUMENT && m4_model_set_kernel(base, "generic") == M4_ERR_INVALID_ARGUMENT &&
              m4_model_set_calibration(rep, NULL) == M4_ERR_INVALID_ARGUMENT &&
              m4_model_set_input_norm(base, NULL, NULL) == M4_ERR_INVALID_ARGUMENT,
          "shared weights changed");
    CHECK(m4_model_create_replica(&rep2, rep, 1) == M4_ERR_INVALID_ARGUMENT && !rep2, "replica of a replica");
    CHECK(m4_model_create_replica(&rep2, NULL, 1) == M4_ERR_INVALID_ARGUMENT &&
              m4_model_create_replica(&rep2, base, 0) == M4_ERR_INVALID_ARGUMENT &&
              m4_model_create_replica(NULL, base, 1) == M4_ERR_INVALID_ARGUMENT,
          "bad arguments accepted");
    CHECK(m4_model_create(&tr, &c, 2, 0, 1) == M4_OK && m4_model_create_replica(&rep2, tr, 1) == M4_ERR_INVALID_ARGUMENT,
          "replica of a training model");
    m4_model_destroy(tr);
    m4_model_destroy(rep);
    /* the replica gone, the base is free again, and a new replica sees the new weights */
    fill(p, (long)np, 0.2f);
    CHECK(m4_model_set_params(base, p, np) == M4_OK, "base refused new parameters after its replica went");
    CHECK(m4_model_forward(base, 3, rows, feat, NULL, 0, 0, o1) == M4_OK &&
              m4_model_create_replica(&rep2, base, 3) == M4_OK &&
              m4_model_forward(rep2, 3, rows, feat, NULL, 0, 0, o2) == M4_OK &&
              memcmp(o1, o2, sizeof(float) * 3 * (size_t)c.out_dim) == 0,
          "a new replica after new parameters");
    m4_model_destroy(rep2);
    m4_model_destroy(base);
    free(p);
    free(feat);
    free(o1);
    free(o2);
    free(o3);
    free(shift);
    free(scale);
}

int main(void) {
    m4i_gemm g;
    m4i_gemm_select(&g, NULL);
    m4i_ctx cx = {&g, 1, falloc((long)m4i_gemm_ws_floats(&g) + 64)};
    test_config();
    test_gemm();
    test_linear(&cx);
    test_rmsnorm();
    test_rope();
    test_attention();
    test_elementwise();
    test_vector_math();
    test_adamw();
    test_model_fd();
    test_fixture_small();
    test_fixture_m3size();
    test_replica();
    free(cx.ws);
    if (failures) {
        fprintf(stderr, "model_test: %d failures\n", failures);
        return 1;
    }
    printf("model_test: ok (kernel %s)\n", g.name);
    return 0;
}
