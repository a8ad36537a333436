/*
 * model.c: m3's estimator as one object (config, parameters, gradients, AdamW
 * state, activations, all allocated once at create), after llama2.c/llm.c.
 *
 *   feature rows 1..H-1 -> Linear(feat_dim, dim) + bias -> dropout
 *     -> n_layers x [x += dropout(Wo attn(rope(Wq n(x)), rope(Wk n(x)), Wv n(x)));
 *                    x += dropout(W2 (silu(W1 n(x)) * W3 n(x)))]   (n = RMSNorm)
 *     -> RMSNorm -> Linear(dim, dim) -> mean over rows = context
 *   [row 0, context] -> Linear+ReLU -> Linear+ReLU -> Linear -> + 1 = estimate
 *
 * Empty buckets of any row are overwritten by the learned vector const_tensor
 * before the model reads it. Loss: mean of mask * |estimate/target - 1|.
 * The ops are in model_ops.c, the matrix multiply in model_gemm.c.
 */
#include "m4.h"
#include "model_internal.h"
#include "model_layout.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

enum { SITE_EMB = 0, SITE_ATT = 1, SITE_RESID_ATT = 2, SITE_RESID_FFN = 3 };

struct m4_model {
    m4_model_config c;
    int max_batch, max_rows, training;
    int hd; /* head dim */
    int nthreads;
    m4i_gemm gemm;
    float *ws;       /* gemm workspace, nthreads slices */
    float *scratch;  /* attention backward, nthreads x max_seq */

    size_t n_params;
    float *params, *grads, *mom1, *mom2;
    int n_tensors;
    m4_tensor_info *tensors;
    m4i_tensor_def *defs; /* the layout; tensors[i].name points into defs[i] */
    m4i_tensor_index ti;

    /* W^T of every forward matrix packed for the gemm; stale after updates */
    float *packed;
    size_t *pk_off; /* per tensor, (size_t)-1 if not packed */
    int packed_valid;

    float *rope_cos, *rope_sin;
    float *norm_shift, *norm_scale; /* input normalisation, NULL = none */
    float *calib;                   /* output calibration levels (out_dim), NULL = none */

    /* activations (per layer when training, one layer's worth otherwise) */
    float *arena;
    float *xin, *mlpin, *x, *hbuf, *xn1, *xn2, *q, *k, *v, *ao, *rms1, *rms2, *att;
    float *a1, *a3, *g, *tmp, *nf, *rmsf, *yT, *ctx, *h1, *h2, *out;
    /* backward buffers (training only) */
    float *dx, *dh, *dtmp, *dxn, *dq, *dk, *dv, *dao, *dg, *da1, *da3, *dxin, *dmlpin, *dctx,
        *dyT, *dh1, *dh2, *dout;
    uint8_t *emp_x, *emp_0;

    /* a replica reads its base's parameters, packed weights, tensor table,
     * RoPE tables, input normalisation and calibration (m4_model_create_replica);
     * a base counts its replicas and keeps all of those fixed while it has any */
    const m4_model *base;
    int n_replicas;

    /* the last forward */
    int B, R, has_forward, last_train;
    uint64_t last_seed;
    int *tstart; /* max_batch + 1 transformer-row offsets */

    char err[256];
};

#define ALIGN_FLOATS 16

static m4_status fixed(m4_model *m);

/* too_many_rows: a model of c for rows transformer rows would index its
 * widest activations past 2^31 floats. */
static int too_many_rows(const m4_model_config *c, long rows) {
    return rows * (c->hidden_dim + c->feat_dim) > (1L << 31);
}

void m4_model_config_default(m4_model_config *c) {
    if (!c) return;
    c->feat_dim = 1019;
    c->n_buckets_in = 10;
    c->n_pct = 100;
    c->dim = 576;
    c->n_layers = 4;
    c->n_heads = 4;
    c->hidden_dim = 1536;
    c->max_seq = 16;
    c->mlp_hidden1 = 512;
    c->mlp_hidden2 = 512;
    c->out_dim = 400;
    c->norm_eps = 1e-5f;
    c->rope_theta = 10000.0f;
    c->dropout = 0.2f;
}

m4_status m4_model_config_check(const m4_model_config *c, char *err, size_t err_len) {
    char msg[128] = "";
    if (!c) snprintf(msg, sizeof msg, "no config");
    else m4i_config_check(c, msg, sizeof msg);
    if (err && err_len) snprintf(err, err_len, "%s", msg);
    return msg[0] ? M4_ERR_INVALID_ARGUMENT : M4_OK;
}

/* ------------------------------------------------------------------------ */
/* tensor table (model_layout.h, shared with gpu/model.cu)                  */
/* ------------------------------------------------------------------------ */

static int build_tensors(m4_model *m) {
    int n = m4i_num_tensors(&m->c);
    m->tensors = calloc((size_t)n, sizeof(m4_tensor_info));
    m->defs = calloc((size_t)n, sizeof(m4i_tensor_def));
    if (!m->tensors || !m->defs) return 0;
    m->n_params = m4i_layout(&m->c, m->defs, &m->ti);
    for (int i = 0; i < n; i++) {
        const m4i_tensor_def *d = &m->defs[i];
        m4_tensor_info *t = &m->tensors[i];
        t->name = d->name;
        t->offset = d->offset;
        t->size = d->size;
        t->ndim = d->cols > 0 ? 2 : 1;
        t->shape[0] = d->rows;
        t->shape[1] = d->cols;
        t->decay = d->decay;
    }
    m->n_tensors = n;
    return 1;
}

static float *P(const m4_model *m, int t) { return m->params + m->tensors[t].offset; }
static float *G(const m4_model *m, int t) { return m->grads + m->tensors[t].offset; }
static int LT(const m4_model *m, int l, int j) { return m->ti.layer0 + l * L_COUNT + j; }

/* ------------------------------------------------------------------------ */
/* create / destroy                                                         */
/* ------------------------------------------------------------------------ */

static size_t packed_total(m4_model *m) {
    size_t tot = 0;
    for (int t = 0; t < m->n_tensors; t++) {
        m4_tensor_info *ti = &m->tensors[t];
        if (ti->ndim == 2) {
            m->pk_off[t] = tot;
            /* W (out, in): pack W^T, K = in, N = out */
            tot += m4i_gemm_packed_floats(&m->gemm, ti->shape[1], ti->shape[0]) + ALIGN_FLOATS;
        } else {
            m->pk_off[t] = (size_t)-1;
        }
    }
    return tot;
}

static float *aligned_floats(size_t n) {
    /* C99 has no aligned_alloc: over-allocate and keep the raw pointer before */
    unsigned char *raw = malloc(n * sizeof(float) + 64 + sizeof(void *));
    if (!raw) return NULL;
    uintptr_t u = (uintptr_t)(raw + sizeof(void *));
    u = (u + 63) & ~(uintptr_t)63;
    ((void **)u)[-1] = raw;
    return (float *)u;
}

/* aligned_zeroed_floats is aligned_floats zeroed by calloc: large blocks come
 * as fresh zero pages from the OS, faulted in only where used, so a model
 * sized for a big batch costs little until it runs one. */
static float *aligned_zeroed_floats(size_t n) {
    unsigned char *raw = calloc(1, n * sizeof(float) + 64 + sizeof(void *));
    if (!raw) return NULL;
    uintptr_t u = (uintptr_t)(raw + sizeof(void *));
    u = (u + 63) & ~(uintptr_t)63;
    ((void **)u)[-1] = raw;
    return (float *)u;
}

static void aligned_free(float *p) {
    if (p) free(((void **)p)[-1]);
}

static int alloc_packed(m4_model *m) {
    aligned_free(m->packed);
    size_t tot = packed_total(m);
    m->packed = aligned_floats(tot);
    m->packed_valid = 0;
    return m->packed != NULL;
}

static int alloc_workspace(m4_model *m, int nthreads) {
    aligned_free(m->ws);
    free(m->scratch);
    m->ws = aligned_floats((size_t)nthreads * m4i_gemm_ws_floats(&m->gemm));
    m->scratch = malloc(sizeof(float) * (size_t)nthreads * (size_t)m->c.max_seq);
    return m->ws && m->scratch;
}

static int alloc_activations(m4_model *m) {
    const m4_model_config *c = &m->c;
    size_t R = (size_t)m->max_rows, B = (size_t)m->max_batch, D = (size_t)c->dim;
    size_t Hd = (size_t)c->hidden_dim, F = (size_t)c->feat_dim, S = (size_t)c->max_seq;
    size_t La = m->training ? (size_t)c->n_layers : 1, Lx = m->training ? (size_t)c->n_layers + 1 : 1;
    if (La == 0) La = 1;
    struct {
        float **p;
        size_t n;
    } plan[] = {
        {&m->xin, R * F},
        {&m->mlpin, B * (F + D)},
        {&m->x, Lx * R * D},
        {&m->hbuf, La * R * D},
        {&m->xn1, La * R * D},
        {&m->xn2, La * R * D},
        {&m->q, La * R * D},
        {&m->k, La * R * D},
        {&m->v, La * R * D},
        {&m->ao, La * R * D},
        {&m->rms1, La * R},
        {&m->rms2, La * R},
        {&m->att, La * B * (size_t)c->n_heads * S * S},
        {&m->a1, La * R * Hd},
        {&m->a3, La * R * Hd},
        {&m->g, La * R * Hd},
        {&m->tmp, R * D},
        {&m->nf, R * D},
        {&m->rmsf, R},
        {&m->yT, R * D},
        {&m->ctx, B * D},
        {&m->h1, B * (size_t)c->mlp_hidden1},
        {&m->h2, B * (size_t)c->mlp_hidden2},
        {&m->out, B * (size_t)c->out_dim},
        /* backward */
        {&m->dx, m->training ? R * D : 0},
        {&m->dh, m->training ? R * D : 0},
        {&m->dtmp, m->training ? R * D : 0},
        {&m->dxn, m->training ? R * D : 0},
        {&m->dq, m->training ? R * D : 0},
        {&m->dk, m->training ? R * D : 0},
        {&m->dv, m->training ? R * D : 0},
        {&m->dao, m->training ? R * D : 0},
        {&m->dg, m->training ? R * Hd : 0},
        {&m->da1, m->training ? R * Hd : 0},
        {&m->da3, m->training ? R * Hd : 0},
        {&m->dxin, m->training ? R * F : 0},
        {&m->dmlpin, m->training ? B * (F + D) : 0},
        {&m->dctx, m->training ? B * D : 0},
        {&m->dyT, m->training ? R * D : 0},
        {&m->dh1, m->training ? B * (size_t)c->mlp_hidden1 : 0},
        {&m->dh2, m->training ? B * (size_t)c->mlp_hidden2 : 0},
        {&m->dout, m->training ? B * (size_t)c->out_dim : 0},
    };
    size_t np = sizeof(plan) / sizeof(plan[0]), tot = 0;
    for (size_t i = 0; i < np; i++) tot += (plan[i].n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    m->arena = aligned_zeroed_floats(tot);
    if (!m->arena) return 0;
    size_t off = 0;
    for (size_t i = 0; i < np; i++) {
        *plan[i].p = plan[i].n ? m->arena + off : NULL;
        off += (plan[i].n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    }
    m->emp_x = calloc(R * (size_t)(c->n_buckets_in ? c->n_buckets_in : 1), 1);
    m->emp_0 = calloc(B * (size_t)(c->n_buckets_in ? c->n_buckets_in : 1), 1);
    m->tstart = calloc(B + 1, sizeof(int));
    return m->emp_x && m->emp_0 && m->tstart;
}

m4_status m4_model_create(m4_model **out, const m4_model_config *cfg, int max_batch, int max_rows,
                          int training) {
    if (!out || !cfg) return M4_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!m4i_config_ok(cfg) || max_batch < 1 || max_rows < 0) return M4_ERR_INVALID_ARGUMENT;
    if (max_rows == 0) max_rows = max_batch * cfg->max_seq;
    if (max_rows < max_batch || too_many_rows(cfg, max_rows)) return M4_ERR_INVALID_ARGUMENT;
    m4_model *m = calloc(1, sizeof(*m));
    if (!m) return M4_ERR_NO_MEMORY;
    m->c = *cfg;
    m->max_batch = max_batch;
    m->max_rows = max_rows;
    m->training = training != 0;
    m->hd = cfg->dim / cfg->n_heads;
    m->nthreads = 1;
    m4i_gemm_select(&m->gemm, NULL);
    int ok = build_tensors(m);
    if (ok) {
        m->pk_off = calloc((size_t)m->n_tensors, sizeof(size_t));
        m->params = aligned_zeroed_floats(m->n_params); /* zero until loaded or drawn */
        ok = m->pk_off && m->params && alloc_packed(m) && alloc_workspace(m, 1) &&
             alloc_activations(m);
    }
    if (ok && m->training) {
        m->grads = aligned_floats(m->n_params);
        m->mom1 = aligned_floats(m->n_params);
        m->mom2 = aligned_floats(m->n_params);
        ok = m->grads && m->mom1 && m->mom2;
        if (ok) memset(m->grads, 0, m->n_params * sizeof(float));
    }
    if (ok) {
        size_t half = (size_t)m->hd / 2;
        m->rope_cos = malloc(sizeof(float) * (size_t)cfg->max_seq * half);
        m->rope_sin = malloc(sizeof(float) * (size_t)cfg->max_seq * half);
        ok = m->rope_cos && m->rope_sin;
        if (ok) m4i_rope_tables(m->rope_cos, m->rope_sin, cfg->max_seq, m->hd, cfg->rope_theta);
    }
    if (!ok) {
        m4_model_destroy(m);
        return M4_ERR_NO_MEMORY;
    }
    if (m->training) m4_model_init(m, 0);
    *out = m;
    return M4_OK;
}

void m4_model_destroy(m4_model *m) {
    if (!m) return;
    if (m->base) {
        ((m4_model *)m->base)->n_replicas--; /* the rest below is its base's */
    } else {
        aligned_free(m->params);
        aligned_free(m->grads);
        aligned_free(m->mom1);
        aligned_free(m->mom2);
        aligned_free(m->packed);
        free(m->tensors);
        free(m->defs);
        free(m->pk_off);
        free(m->rope_cos);
        free(m->rope_sin);
        free(m->norm_shift);
        free(m->norm_scale);
        free(m->calib);
    }
    /* its own: workspace and activations */
    aligned_free(m->ws);
    aligned_free(m->arena);
    free(m->scratch);
    free(m->emp_x);
    free(m->emp_0);
    free(m->tstart);
    free(m);
}

/* The accessors of a NULL model give neutral values (no config, 0, NULL, ""). */
void m4_model_get_config(const m4_model *m, m4_model_config *cfg) {
    if (m && cfg) *cfg = m->c;
}
size_t m4_model_num_params(const m4_model *m) { return m ? m->n_params : 0; }

size_t m4_model_config_num_params(const m4_model_config *cfg) {
    if (!cfg || !m4i_config_ok(cfg)) return 0;
    m4i_tensor_def *defs = malloc((size_t)m4i_num_tensors(cfg) * sizeof *defs);
    if (!defs) return 0;
    m4i_tensor_index ti;
    size_t n = m4i_layout(cfg, defs, &ti);
    free(defs);
    return n;
}
int m4_model_num_tensors(const m4_model *m) { return m ? m->n_tensors : 0; }

m4_status m4_model_tensor(const m4_model *m, int i, m4_tensor_info *info) {
    if (!m || !info || i < 0 || i >= m->n_tensors) return M4_ERR_INVALID_ARGUMENT;
    *info = m->tensors[i];
    return M4_OK;
}

const char *m4_model_error(const m4_model *m) { return m ? m->err : ""; }

__attribute__((format(printf, 3, 4))) static m4_status fail(m4_model *m, m4_status st,
                                                            const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err, sizeof m->err, fmt, ap);
    va_end(ap);
    return st;
}

/* ------------------------------------------------------------------------ */
/* parameters                                                               */
/* ------------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

static double rng_normal(uint64_t *s) {
    double u1 = rng_unit(s), u2 = rng_unit(s);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

m4_status m4_model_init(m4_model *m, uint64_t seed) {
    if (!m) return M4_ERR_INVALID_ARGUMENT;
    if (fixed(m) != M4_OK) return M4_ERR_INVALID_ARGUMENT;
    uint64_t s = seed ^ 0x6D346D6F64656CULL; /* "m4model" */
    const m4_model_config *c = &m->c;
    for (int t = 0; t < m->n_tensors; t++) {
        m4_tensor_info *ti = &m->tensors[t];
        float *p = m->params + ti->offset;
        int is_mlp = strncmp(ti->name, "model_mlp.", 10) == 0;
        if (t == m->ti.cvec || (!is_mlp && strstr(ti->name, ".bias"))) {
            for (size_t i = 0; i < ti->size; i++) p[i] = 0.0f;
        } else if (strstr(ti->name, "norm.weight")) {
            for (size_t i = 0; i < ti->size; i++) p[i] = 1.0f;
        } else if (is_mlp) {
            /* nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
            int fan_in = m->tensors[ti->ndim == 2 ? t : t - 1].shape[1];
            double bound = 1.0 / sqrt((double)fan_in);
            for (size_t i = 0; i < ti->size; i++) p[i] = (float)((2.0 * rng_unit(&s) - 1.0) * bound);
        } else {
            double std = 0.02;
            if (strstr(ti->name, ".wo.weight") || strstr(ti->name, ".w3.weight"))
                std = 0.02 / sqrt(2.0 * (c->n_layers > 0 ? c->n_layers : 1));
            for (size_t i = 0; i < ti->size; i++) p[i] = (float)(std * rng_normal(&s));
        }
    }
    if (m->training) {
        memset(m->mom1, 0, m->n_params * sizeof(float));
        memset(m->mom2, 0, m->n_params * sizeof(float));
        memset(m->grads, 0, m->n_params * sizeof(float));
    }
    m->packed_valid = 0;
    m->has_forward = 0;
    return M4_OK;
}

const float *m4_model_params(const m4_model *m) { return m ? m->params : NULL; }
const float *m4_model_grads(const m4_model *m) { return m && m->training ? m->grads : NULL; }

static m4_status check_finite(m4_model *m, const float *a, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i])) {
            int t = 0;
            while (t + 1 < m->n_tensors && m->tensors[t + 1].offset <= i) t++;
            snprintf(m->err, sizeof m->err, "%s: tensor %s: element %zu is %s", what,
                     m->tensors[t].name, i - m->tensors[t].offset, isnan(a[i]) ? "NaN" : "Inf");
            return M4_ERR_INVALID_INPUT;
        }
    return M4_OK;
}

m4_status m4_model_set_params(m4_model *m, const float *src, size_t n) {
    if (!m || !src || n != m->n_params) return M4_ERR_INVALID_ARGUMENT;
    if (fixed(m) != M4_OK) return M4_ERR_INVALID_ARGUMENT;
    m4_status st = check_finite(m, src, n, "parameters");
    if (st != M4_OK) return st;
    memcpy(m->params, src, n * sizeof(float));
    m->packed_valid = 0;
    m->has_forward = 0;
    return M4_OK;
}

m4_status m4_model_get_adam(const m4_model *m, float *mom1, float *mom2, size_t n) {
    if (!m || !m->training || !mom1 || !mom2 || n != m->n_params) return M4_ERR_INVALID_ARGUMENT;
    memcpy(mom1, m->mom1, n * sizeof(float));
    memcpy(mom2, m->mom2, n * sizeof(float));
    return M4_OK;
}

m4_status m4_model_set_adam(m4_model *m, const float *mom1, const float *mom2, size_t n) {
    if (!m || !m->training || !mom1 || !mom2 || n != m->n_params) return M4_ERR_INVALID_ARGUMENT;
    m4_status st = check_finite(m, mom1, n, "AdamW first moment");
    if (st == M4_OK) st = check_finite(m, mom2, n, "AdamW second moment");
    if (st != M4_OK) return st;
    for (size_t i = 0; i < n; i++)
        if (mom2[i] < 0.0f) {
            snprintf(m->err, sizeof m->err, "AdamW second moment: element %zu is negative", i);
            return M4_ERR_INVALID_INPUT;
        }
    memcpy(m->mom1, mom1, n * sizeof(float));
    memcpy(m->mom2, mom2, n * sizeof(float));
    return M4_OK;
}

m4_status m4_model_set_threads(m4_model *m, int n) {
    if (!m || n < 1 || n > 1024) return M4_ERR_INVALID_ARGUMENT;
    if (n == m->nthreads) return M4_OK;
    if (!alloc_workspace(m, n)) {
        alloc_workspace(m, 1);
        m->nthreads = 1;
        return M4_ERR_NO_MEMORY;
    }
    m->nthreads = n;
    return M4_OK;
}

m4_status m4_model_set_input_norm(m4_model *m, const float *shift, const float *scale) {
    if (!m || (!shift) != (!scale)) return M4_ERR_INVALID_ARGUMENT;
    if (fixed(m) != M4_OK) return M4_ERR_INVALID_ARGUMENT;
    m->has_forward = 0;
    if (!shift) {
        free(m->norm_shift);
        free(m->norm_scale);
        m->norm_shift = m->norm_scale = NULL;
        return M4_OK;
    }
    int F = m->c.feat_dim;
    for (int j = 0; j < F; j++)
        if (!isfinite(shift[j]) || !isfinite(scale[j]) || !(scale[j] != 0.0f)) {
            snprintf(m->err, sizeof m->err, "input normalisation: column %d: shift %g, scale %g (want finite, scale != 0)",
                     j, (double)shift[j], (double)scale[j]);
            return M4_ERR_INVALID_INPUT;
        }
    if (!m->norm_shift) {
        m->norm_shift = malloc(sizeof(float) * (size_t)F);
        m->norm_scale = malloc(sizeof(float) * (size_t)F);
        if (!m->norm_shift || !m->norm_scale) {
            free(m->norm_shift);
            free(m->norm_scale);
            m->norm_shift = m->norm_scale = NULL;
            return M4_ERR_NO_MEMORY;
        }
    }
    memcpy(m->norm_shift, shift, sizeof(float) * (size_t)F);
    memcpy(m->norm_scale, scale, sizeof(float) * (size_t)F);
    return M4_OK;
}

m4_status m4_model_set_calibration(m4_model *m, const float *levels) {
    if (!m) return M4_ERR_INVALID_ARGUMENT;
    if (fixed(m) != M4_OK) return M4_ERR_INVALID_ARGUMENT;
    if (!levels) {
        free(m->calib);
        m->calib = NULL;
        return M4_OK;
    }
    int nb = m->c.out_dim / m->c.n_pct;
    size_t bad = m4i_levels_bad(levels, nb, m->c.n_pct);
    if (bad) {
        snprintf(m->err, sizeof m->err, "calibration: level %zu is %g (want in [0, 1], non-decreasing in each bucket)",
                 bad - 1, (double)levels[bad - 1]);
        return M4_ERR_INVALID_INPUT;
    }
    if (!m->calib && !(m->calib = malloc(sizeof(float) * (size_t)m->c.out_dim))) return M4_ERR_NO_MEMORY;
    memcpy(m->calib, levels, sizeof(float) * (size_t)m->c.out_dim);
    return M4_OK;
}

const float *m4_model_calibration(const m4_model *m) { return m ? m->calib : NULL; }

const char *m4_model_kernel(const m4_model *m) { return m ? m->gemm.name : ""; }

m4_status m4_model_set_kernel(m4_model *m, const char *name) {
    if (!m || !name) return M4_ERR_INVALID_ARGUMENT;
    if (fixed(m) != M4_OK) return M4_ERR_INVALID_ARGUMENT;
    m4i_gemm g;
    if (m4i_gemm_select(&g, name) != 0) return M4_ERR_UNSUPPORTED;
    m->gemm = g;
    if (!alloc_packed(m) || !alloc_workspace(m, m->nthreads)) return M4_ERR_NO_MEMORY;
    return M4_OK;
}

static void ensure_packed(m4_model *m) {
    if (m->packed_valid) return;
    int nt = m->nthreads;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
#endif
    for (int t = 0; t < m->n_tensors; t++) {
        m4_tensor_info *ti = &m->tensors[t];
        if (ti->ndim != 2) continue;
        int out = ti->shape[0], in = ti->shape[1];
        m4i_mat B = {m->params + ti->offset, 1, in};
        m4i_gemm_pack(&m->gemm, in, out, B, m->packed + m->pk_off[t]);
    }
    m->packed_valid = 1;
}

static const float *PK(const m4_model *m, int t) { return m->packed + m->pk_off[t]; }

m4_status m4_model_create_replica(m4_model **out, m4_model *src, int max_batch) {
    if (!out) return M4_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!src || src->base || src->training || max_batch < 1 || too_many_rows(&src->c, (long)max_batch * src->c.max_seq))
        return M4_ERR_INVALID_ARGUMENT;
    m4_model *m = calloc(1, sizeof(*m));
    if (!m) return M4_ERR_NO_MEMORY;
    ensure_packed(src); /* once, here, so that no forward packs what replicas read */
    m->c = src->c;
    m->max_batch = max_batch;
    m->max_rows = max_batch * src->c.max_seq;
    m->hd = src->hd;
    m->nthreads = 1;
    m->gemm = src->gemm;
    m->n_params = src->n_params;
    m->params = src->params;
    m->n_tensors = src->n_tensors;
    m->tensors = src->tensors;
    m->defs = src->defs;
    m->ti = src->ti;
    m->packed = src->packed;
    m->pk_off = src->pk_off;
    m->packed_valid = 1;
    m->rope_cos = src->rope_cos;
    m->rope_sin = src->rope_sin;
    m->norm_shift = src->norm_shift;
    m->norm_scale = src->norm_scale;
    m->calib = src->calib;
    m->base = src;
    src->n_replicas++;
    if (!alloc_workspace(m, 1) || !alloc_activations(m)) {
        m4_model_destroy(m);
        return M4_ERR_NO_MEMORY;
    }
    *out = m;
    return M4_OK;
}

/* fixed says why m's weights (and what replicas share) cannot change now:
 * it is a replica, or the base of some; M4_OK when they can. */
static m4_status fixed(m4_model *m) {
    if (m->base) return fail(m, M4_ERR_INVALID_ARGUMENT, "a replica reads its base's weights: set them there");
    if (m->n_replicas)
        return fail(m, M4_ERR_INVALID_ARGUMENT, "%d replicas read these weights: destroy them first", m->n_replicas);
    return M4_OK;
}

/* ------------------------------------------------------------------------ */
/* row-parallel forward helpers: each thread takes a contiguous range of      */
/* rows (elements), so results do not depend on the thread count              */
/* ------------------------------------------------------------------------ */

#define PAR_MIN_ELEMS 65536L

static void par_rmsnorm(const m4_model *m, float *y, float *rstd, const float *x, const float *w, int R,
                        int n) {
    int nt = (long)R * n >= PAR_MIN_ELEMS ? m->nthreads : 1;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int t = 0; t < nt; t++) {
        int lo = (int)((long)R * t / nt), hi = (int)((long)R * (t + 1) / nt);
        m4i_rmsnorm_forward(y + (long)lo * n, rstd + lo, x + (long)lo * n, w, hi - lo, n, m->c.norm_eps);
    }
}

static void par_swiglu(const m4_model *m, float *g, const float *a1, const float *a3, long n) {
    int nt = n >= PAR_MIN_ELEMS ? m->nthreads : 1;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int t = 0; t < nt; t++) {
        long lo = n * t / nt, hi = n * (t + 1) / nt;
        m4i_swiglu_forward(g + lo, a1 + lo, a3 + lo, hi - lo);
    }
}

/* out = a + dropout(b) (b is modified) */
static void par_residual(const m4_model *m, float *out, const float *a, float *b, long n, float p,
                         uint64_t seed, uint64_t site) {
    int nt = n >= PAR_MIN_ELEMS ? m->nthreads : 1;
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int t = 0; t < nt; t++) {
        long lo = n * t / nt, hi = n * (t + 1) / nt;
        m4i_dropout_forward(b + lo, hi - lo, p, seed, site, (uint64_t)lo);
        for (long i = lo; i < hi; i++) out[i] = a[i] + b[i];
    }
}

/* ------------------------------------------------------------------------ */
/* forward                                                                  */
/* ------------------------------------------------------------------------ */

static uint64_t site_id(int layer, int kind, int b) {
    return ((uint64_t)(layer + 1) << 40) | ((uint64_t)kind << 32) | (uint64_t)(uint32_t)b;
}

/* copy one feature row, overwriting empty buckets with the learned vector */
static void load_row(const m4_model *m, float *dst, const float *src, const uint8_t *empty,
                     uint8_t *emp_keep) {
    const m4_model_config *c = &m->c;
    if (m->norm_shift)
        for (int j = 0; j < c->feat_dim; j++) dst[j] = (src[j] - m->norm_shift[j]) * m->norm_scale[j];
    else
        memcpy(dst, src, sizeof(float) * (size_t)c->feat_dim);
    const float *cv = P(m, m->ti.cvec);
    for (int j = 0; j < c->n_buckets_in; j++) {
        uint8_t e = empty ? (empty[j] != 0) : 0;
        emp_keep[j] = e;
        if (e) memcpy(dst + (size_t)j * c->n_pct, cv, sizeof(float) * (size_t)c->n_pct);
    }
}

m4_status m4_model_forward(m4_model *m, int batch, const int32_t *n_rows, const float *feat,
                           const uint8_t *empty, int train, uint64_t dropout_seed, float *out) {
    if (!m || !n_rows || !feat || !out) return M4_ERR_INVALID_ARGUMENT;
    m->err[0] = 0;
    m->has_forward = 0;
    const m4_model_config *c = &m->c;
    if (batch < 1 || batch > m->max_batch)
        return fail(m, M4_ERR_INVALID_ARGUMENT, "batch of %d scenarios, at most %d", batch,
                    m->max_batch);
    int F = c->feat_dim, D = c->dim, Hd = c->hidden_dim, nb = c->n_buckets_in;
    int S = c->max_seq, nh = c->n_heads, hd = m->hd, L = c->n_layers;
    /* layout and validation */
    long R = 0, in_rows = 0;
    for (int b = 0; b < batch; b++) {
        if (n_rows[b] < 2 || n_rows[b] > S + 1)
            return fail(m, M4_ERR_INVALID_INPUT, "scenario %d: %d feature rows (hosts); need 2 to max_seq+1 = %d",
                        b, (int)n_rows[b], S + 1);
        m->tstart[b] = (int)R;
        R += n_rows[b] - 1;
        in_rows += n_rows[b];
    }
    if (R > m->max_rows)
        return fail(m, M4_ERR_INVALID_ARGUMENT, "%ld transformer rows in the batch, at most %d", R,
                    m->max_rows);
    m->tstart[batch] = (int)R;
    for (long i = 0; i < in_rows * F; i++)
        if (!isfinite(feat[i])) {
            long row = i / F, b = 0, acc = 0;
            while (b < batch && acc + n_rows[b] <= row) acc += n_rows[b++];
            snprintf(m->err, sizeof m->err, "scenario %ld: feature row %ld, column %ld is %s", b,
                     row - acc, i % F, isnan(feat[i]) ? "NaN" : "Inf");
            return M4_ERR_INVALID_INPUT;
        }
    m->B = batch;
    m->R = (int)R;
    m->last_train = train != 0 && c->dropout > 0.0f;
    m->last_seed = dropout_seed;
    float p = m->last_train ? c->dropout : 0.0f;

    /* inputs: row 0 of each scenario to the MLP, rows 1.. to the transformer */
    long in = 0;
    for (int b = 0; b < batch; b++) {
        const uint8_t *e = empty ? empty + in * nb : NULL;
        load_row(m, m->mlpin + (long)b * (F + D), feat + in * F, e, m->emp_0 + (long)b * nb);
        for (int t = 1; t < n_rows[b]; t++) {
            long r = m->tstart[b] + t - 1;
            load_row(m, m->xin + r * F, feat + (in + t) * F, e ? e + (long)t * nb : NULL,
                     m->emp_x + r * nb);
        }
        in += n_rows[b];
    }

    ensure_packed(m);
    m4i_ctx cx = {&m->gemm, m->nthreads, m->ws};
    int nt = m->nthreads;
    (void)nt;
    const m4i_tensor_index *ti = &m->ti;

    float *x0 = m->x;
    m4i_linear_forward(&cx, x0, m->xin, P(m, ti->emb_w), PK(m, ti->emb_w), P(m, ti->emb_b), m->R, F, D);
    m4i_dropout_forward(x0, (long)m->R * D, p, dropout_seed, site_id(-1, SITE_EMB, 0), 0);

    for (int l = 0; l < L; l++) {
        long la = m->training ? l : 0;
        float *X = m->x + (m->training ? (long)l : 0) * m->max_rows * D;
        float *XN = m->x + (m->training ? (long)l + 1 : 0) * m->max_rows * D;
        float *xn1 = m->xn1 + la * m->max_rows * D, *xn2 = m->xn2 + la * m->max_rows * D;
        float *q = m->q + la * m->max_rows * D, *k = m->k + la * m->max_rows * D;
        float *v = m->v + la * m->max_rows * D, *ao = m->ao + la * m->max_rows * D;
        float *hb = m->hbuf + la * m->max_rows * D;
        float *rms1 = m->rms1 + la * m->max_rows, *rms2 = m->rms2 + la * m->max_rows;
        float *att = m->att + la * m->max_batch * (long)nh * S * S;
        float *a1 = m->a1 + la * m->max_rows * Hd, *a3 = m->a3 + la * m->max_rows * Hd;
        float *g = m->g + la * m->max_rows * Hd;

        par_rmsnorm(m, xn1, rms1, X, P(m, LT(m, l, L_ATT_NORM)), m->R, D);
        m4i_linear_forward(&cx, q, xn1, P(m, LT(m, l, L_WQ)), PK(m, LT(m, l, L_WQ)), NULL, m->R, D, D);
        m4i_linear_forward(&cx, k, xn1, P(m, LT(m, l, L_WK)), PK(m, LT(m, l, L_WK)), NULL, m->R, D, D);
        m4i_linear_forward(&cx, v, xn1, P(m, LT(m, l, L_WV)), PK(m, LT(m, l, L_WV)), NULL, m->R, D, D);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && batch > 1)
#endif
        for (int b = 0; b < batch; b++) {
            long r0 = m->tstart[b];
            int T = m->tstart[b + 1] - m->tstart[b];
            m4i_rope_forward(q + r0 * D, T, nh, hd, D, m->rope_cos, m->rope_sin);
            m4i_rope_forward(k + r0 * D, T, nh, hd, D, m->rope_cos, m->rope_sin);
            m4i_attention_forward(ao + r0 * D, att + (long)b * nh * S * S, q + r0 * D, k + r0 * D,
                                  v + r0 * D, T, nh, hd, D, S, p, dropout_seed,
                                  site_id(l, SITE_ATT, b));
        }
        m4i_linear_forward(&cx, m->tmp, ao, P(m, LT(m, l, L_WO)), PK(m, LT(m, l, L_WO)), NULL, m->R, D, D);
        par_residual(m, hb, X, m->tmp, (long)m->R * D, p, dropout_seed, site_id(l, SITE_RESID_ATT, 0));

        par_rmsnorm(m, xn2, rms2, hb, P(m, LT(m, l, L_FFN_NORM)), m->R, D);
        m4i_linear_forward(&cx, a1, xn2, P(m, LT(m, l, L_W1)), PK(m, LT(m, l, L_W1)), NULL, m->R, D, Hd);
        m4i_linear_forward(&cx, a3, xn2, P(m, LT(m, l, L_W3)), PK(m, LT(m, l, L_W3)), NULL, m->R, D, Hd);
        par_swiglu(m, g, a1, a3, (long)m->R * Hd);
        m4i_linear_forward(&cx, m->tmp, g, P(m, LT(m, l, L_W2)), PK(m, LT(m, l, L_W2)), NULL, m->R, Hd, D);
        par_residual(m, XN, hb, m->tmp, (long)m->R * D, p, dropout_seed, site_id(l, SITE_RESID_FFN, 0));
    }
    float *xL = m->x + (m->training ? (long)L : 0) * m->max_rows * D;
    par_rmsnorm(m, m->nf, m->rmsf, xL, P(m, ti->norm_w), m->R, D);
    m4i_linear_forward(&cx, m->yT, m->nf, P(m, ti->out_w), PK(m, ti->out_w), NULL, m->R, D, D);
    m4i_meanpool_forward(m->ctx, m->yT, m->tstart, batch, D);
    for (int b = 0; b < batch; b++)
        memcpy(m->mlpin + (long)b * (F + D) + F, m->ctx + (long)b * D, sizeof(float) * (size_t)D);

    int mh1 = c->mlp_hidden1, mh2 = c->mlp_hidden2, O = c->out_dim;
    m4i_linear_forward(&cx, m->h1, m->mlpin, P(m, ti->mlp_w[0]), PK(m, ti->mlp_w[0]), P(m, ti->mlp_b[0]),
                       batch, F + D, mh1);
    m4i_relu_forward(m->h1, (long)batch * mh1);
    m4i_linear_forward(&cx, m->h2, m->h1, P(m, ti->mlp_w[1]), PK(m, ti->mlp_w[1]), P(m, ti->mlp_b[1]),
                       batch, mh1, mh2);
    m4i_relu_forward(m->h2, (long)batch * mh2);
    m4i_linear_forward(&cx, m->out, m->h2, P(m, ti->mlp_w[2]), PK(m, ti->mlp_w[2]), P(m, ti->mlp_b[2]),
                       batch, mh2, O);
    for (long i = 0; i < (long)batch * O; i++) m->out[i] += 1.0f;
    memcpy(out, m->out, sizeof(float) * (size_t)batch * (size_t)O);
    m->has_forward = 1;
    return M4_OK;
}

/* ------------------------------------------------------------------------ */
/* loss, backward, AdamW                                                    */
/* ------------------------------------------------------------------------ */

static m4_status check_targets(m4_model *m, const float *target, const float *mask) {
    long n = (long)m->B * m->c.out_dim;
    for (long i = 0; i < n; i++) {
        if (!isfinite(target[i]) || !(target[i] > 0.0f))
            return fail(m, M4_ERR_INVALID_INPUT, "target of scenario %ld, output %ld is %g, not a finite positive value",
                        i / m->c.out_dim, i % m->c.out_dim, (double)target[i]);
        if (!isfinite(mask[i]))
            return fail(m, M4_ERR_INVALID_INPUT, "mask of scenario %ld, output %ld is not finite",
                        i / m->c.out_dim, i % m->c.out_dim);
    }
    return M4_OK;
}

m4_status m4_model_loss(m4_model *m, const float *target, const float *mask, float *loss) {
    if (!m || !target || !mask || !loss) return M4_ERR_INVALID_ARGUMENT;
    if (!m->has_forward) return fail(m, M4_ERR_INVALID_ARGUMENT, "loss needs a forward pass first");
    m4_status st = check_targets(m, target, mask);
    if (st != M4_OK) return st;
    *loss = m4i_rel_l1_loss(NULL, m->out, target, mask, (long)m->B * m->c.out_dim);
    return M4_OK;
}

/* add the gradient of every overwritten bucket to the learned vector's */
static void cvec_backward(const m4_model *m, float *dcv, const float *drows, long nrows, long ld,
                          const uint8_t *emp) {
    const m4_model_config *c = &m->c;
    for (long r = 0; r < nrows; r++)
        for (int j = 0; j < c->n_buckets_in; j++)
            if (emp[r * c->n_buckets_in + j]) {
                const float *d = drows + r * ld + (long)j * c->n_pct;
                for (int i = 0; i < c->n_pct; i++) dcv[i] += d[i];
            }
}

/* gradients of every parameter from the loss gradient in m->dout */
static m4_status backward_from_dout(m4_model *m);

m4_status m4_model_backward(m4_model *m, const float *target, const float *mask, float *loss) {
    if (!m || !target || !mask) return M4_ERR_INVALID_ARGUMENT;
    if (!m->training) return fail(m, M4_ERR_INVALID_ARGUMENT, "backward needs a model created for training");
    if (!m->has_forward) return fail(m, M4_ERR_INVALID_ARGUMENT, "backward needs a forward pass first");
    m4_status st = check_targets(m, target, mask);
    if (st != M4_OK) return st;
    float lv = m4i_rel_l1_loss(m->dout, m->out, target, mask, (long)m->B * m->c.out_dim);
    if (loss) *loss = lv;
    return backward_from_dout(m);
}

m4_status m4_model_backward_dout(m4_model *m, const float *dout) {
    if (!m || !dout) return M4_ERR_INVALID_ARGUMENT;
    if (!m->training) return fail(m, M4_ERR_INVALID_ARGUMENT, "backward needs a model created for training");
    if (!m->has_forward) return fail(m, M4_ERR_INVALID_ARGUMENT, "backward needs a forward pass first");
    long n = (long)m->B * m->c.out_dim;
    for (long i = 0; i < n; i++)
        if (!isfinite(dout[i]))
            return fail(m, M4_ERR_INVALID_INPUT, "loss gradient of scenario %ld, output %ld is not finite",
                        i / m->c.out_dim, i % m->c.out_dim);
    memcpy(m->dout, dout, sizeof(float) * (size_t)n);
    return backward_from_dout(m);
}

static m4_status backward_from_dout(m4_model *m) {
    const m4_model_config *c = &m->c;
    const m4i_tensor_index *ti = &m->ti;
    int B = m->B, R = m->R, F = c->feat_dim, D = c->dim, Hd = c->hidden_dim, O = c->out_dim;
    int mh1 = c->mlp_hidden1, mh2 = c->mlp_hidden2, nh = c->n_heads, hd = m->hd, S = c->max_seq;
    int L = c->n_layers, nb = c->n_buckets_in;
    float p = m->last_train ? c->dropout : 0.0f;
    uint64_t seed = m->last_seed;
    m4i_ctx cx = {&m->gemm, m->nthreads, m->ws};
    int nt = m->nthreads;
    (void)nt;
    long RD = (long)R * D, RH = (long)R * Hd;

    memset(m->grads, 0, m->n_params * sizeof(float));

    /* MLP */
    memset(m->dh2, 0, sizeof(float) * (size_t)B * mh2);
    m4i_linear_backward(&cx, m->dh2, G(m, ti->mlp_w[2]), G(m, ti->mlp_b[2]), m->dout, m->h2,
                        P(m, ti->mlp_w[2]), B, mh2, O);
    m4i_relu_backward(m->dh2, m->h2, (long)B * mh2);
    memset(m->dh1, 0, sizeof(float) * (size_t)B * mh1);
    m4i_linear_backward(&cx, m->dh1, G(m, ti->mlp_w[1]), G(m, ti->mlp_b[1]), m->dh2, m->h1,
                        P(m, ti->mlp_w[1]), B, mh1, mh2);
    m4i_relu_backward(m->dh1, m->h1, (long)B * mh1);
    memset(m->dmlpin, 0, sizeof(float) * (size_t)B * (F + D));
    m4i_linear_backward(&cx, m->dmlpin, G(m, ti->mlp_w[0]), G(m, ti->mlp_b[0]), m->dh1, m->mlpin,
                        P(m, ti->mlp_w[0]), B, F + D, mh1);
    float *dcv = G(m, ti->cvec);
    cvec_backward(m, dcv, m->dmlpin, B, F + D, m->emp_0);
    for (int b = 0; b < B; b++)
        memcpy(m->dctx + (long)b * D, m->dmlpin + (long)b * (F + D) + F, sizeof(float) * (size_t)D);

    /* context -> final norm and projection */
    memset(m->dyT, 0, sizeof(float) * (size_t)RD);
    m4i_meanpool_backward(m->dyT, m->dctx, m->tstart, B, D);
    memset(m->dxn, 0, sizeof(float) * (size_t)RD);
    m4i_linear_backward(&cx, m->dxn, G(m, ti->out_w), NULL, m->dyT, m->nf, P(m, ti->out_w), R, D, D);
    memset(m->dx, 0, sizeof(float) * (size_t)RD);
    m4i_rmsnorm_backward(m->dx, G(m, ti->norm_w), m->dxn, m->x + (long)L * m->max_rows * D,
                         P(m, ti->norm_w), m->rmsf, R, D);

    for (int l = L - 1; l >= 0; l--) {
        long off = (long)l * m->max_rows * D, offh = (long)l * m->max_rows * Hd;
        float *X = m->x + off, *hb = m->hbuf + off, *xn1 = m->xn1 + off, *xn2 = m->xn2 + off;
        float *q = m->q + off, *k = m->k + off, *v = m->v + off, *ao = m->ao + off;
        float *rms1 = m->rms1 + (long)l * m->max_rows, *rms2 = m->rms2 + (long)l * m->max_rows;
        float *att = m->att + (long)l * m->max_batch * nh * S * S;
        float *a1 = m->a1 + offh, *a3 = m->a3 + offh, *g = m->g + offh;

        /* x_{l+1} = h + dropout(W2 swiglu(W1 n(h), W3 n(h))) */
        memcpy(m->dtmp, m->dx, sizeof(float) * (size_t)RD);
        m4i_dropout_backward(m->dtmp, RD, p, seed, site_id(l, SITE_RESID_FFN, 0), 0);
        memset(m->dg, 0, sizeof(float) * (size_t)RH);
        m4i_linear_backward(&cx, m->dg, G(m, LT(m, l, L_W2)), NULL, m->dtmp, g, P(m, LT(m, l, L_W2)), R, Hd, D);
        memset(m->da1, 0, sizeof(float) * (size_t)RH);
        memset(m->da3, 0, sizeof(float) * (size_t)RH);
        m4i_swiglu_backward(m->da1, m->da3, m->dg, a1, a3, RH);
        memset(m->dxn, 0, sizeof(float) * (size_t)RD);
        m4i_linear_backward(&cx, m->dxn, G(m, LT(m, l, L_W1)), NULL, m->da1, xn2, P(m, LT(m, l, L_W1)), R, D, Hd);
        m4i_linear_backward(&cx, m->dxn, G(m, LT(m, l, L_W3)), NULL, m->da3, xn2, P(m, LT(m, l, L_W3)), R, D, Hd);
        memcpy(m->dh, m->dx, sizeof(float) * (size_t)RD);
        m4i_rmsnorm_backward(m->dh, G(m, LT(m, l, L_FFN_NORM)), m->dxn, hb, P(m, LT(m, l, L_FFN_NORM)), rms2, R, D);

        /* h = x + dropout(Wo attention(...)) */
        memcpy(m->dtmp, m->dh, sizeof(float) * (size_t)RD);
        m4i_dropout_backward(m->dtmp, RD, p, seed, site_id(l, SITE_RESID_ATT, 0), 0);
        memset(m->dao, 0, sizeof(float) * (size_t)RD);
        m4i_linear_backward(&cx, m->dao, G(m, LT(m, l, L_WO)), NULL, m->dtmp, ao, P(m, LT(m, l, L_WO)), R, D, D);
        memset(m->dq, 0, sizeof(float) * (size_t)RD);
        memset(m->dk, 0, sizeof(float) * (size_t)RD);
        memset(m->dv, 0, sizeof(float) * (size_t)RD);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && B > 1)
#endif
        for (int b = 0; b < B; b++) {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            long r0 = m->tstart[b];
            int T = m->tstart[b + 1] - m->tstart[b];
            m4i_attention_backward(m->dq + r0 * D, m->dk + r0 * D, m->dv + r0 * D, m->dao + r0 * D,
                                   att + (long)b * nh * S * S, q + r0 * D, k + r0 * D, v + r0 * D, T,
                                   nh, hd, D, S, p, seed, site_id(l, SITE_ATT, b),
                                   m->scratch + (long)tid * S);
            m4i_rope_backward(m->dq + r0 * D, T, nh, hd, D, m->rope_cos, m->rope_sin);
            m4i_rope_backward(m->dk + r0 * D, T, nh, hd, D, m->rope_cos, m->rope_sin);
        }
        memset(m->dxn, 0, sizeof(float) * (size_t)RD);
        m4i_linear_backward(&cx, m->dxn, G(m, LT(m, l, L_WQ)), NULL, m->dq, xn1, P(m, LT(m, l, L_WQ)), R, D, D);
        m4i_linear_backward(&cx, m->dxn, G(m, LT(m, l, L_WK)), NULL, m->dk, xn1, P(m, LT(m, l, L_WK)), R, D, D);
        m4i_linear_backward(&cx, m->dxn, G(m, LT(m, l, L_WV)), NULL, m->dv, xn1, P(m, LT(m, l, L_WV)), R, D, D);
        memcpy(m->dx, m->dh, sizeof(float) * (size_t)RD);
        m4i_rmsnorm_backward(m->dx, G(m, LT(m, l, L_ATT_NORM)), m->dxn, X, P(m, LT(m, l, L_ATT_NORM)), rms1, R, D);
    }

    /* embedding of the transformer rows */
    m4i_dropout_backward(m->dx, RD, p, seed, site_id(-1, SITE_EMB, 0), 0);
    int any_empty = 0;
    for (long i = 0; i < (long)R * nb; i++) any_empty |= m->emp_x[i];
    if (any_empty) memset(m->dxin, 0, sizeof(float) * (size_t)R * F);
    m4i_linear_backward(&cx, any_empty ? m->dxin : NULL, G(m, ti->emb_w), G(m, ti->emb_b), m->dx,
                        m->xin, P(m, ti->emb_w), R, F, D);
    if (any_empty) cvec_backward(m, dcv, m->dxin, R, F, m->emp_x);
    return M4_OK;
}

m4_status m4_model_adamw(m4_model *m, float lr, float beta1, float beta2, float eps,
                         float weight_decay, int step) {
    if (!m) return M4_ERR_INVALID_ARGUMENT;
    if (!m->training) return fail(m, M4_ERR_INVALID_ARGUMENT, "AdamW needs a model created for training");
    if (step < 1 || !(lr >= 0.0f) || !(beta1 >= 0.0f && beta1 < 1.0f) || !(beta2 >= 0.0f && beta2 < 1.0f) ||
        !(eps > 0.0f) || !(weight_decay >= 0.0f))
        return fail(m, M4_ERR_INVALID_ARGUMENT, "AdamW: bad hyper-parameters (step %d)", step);
    int nt = m->nthreads;
    (void)nt;
    /* chunks of 64K parameters within each tensor: elementwise, so any split
     * gives the same result */
    const long CH = 65536;
    long nchunks = 0;
    for (int t = 0; t < m->n_tensors; t++) nchunks += ((long)m->tensors[t].size + CH - 1) / CH;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (long ch = 0; ch < nchunks; ch++) {
        long acc = 0;
        int t = 0;
        for (; t < m->n_tensors; t++) {
            long nt_ch = ((long)m->tensors[t].size + CH - 1) / CH;
            if (ch < acc + nt_ch) break;
            acc += nt_ch;
        }
        const m4_tensor_info *ti = &m->tensors[t];
        long lo = (ch - acc) * CH, n = (long)ti->size - lo < CH ? (long)ti->size - lo : CH;
        size_t o = ti->offset + (size_t)lo;
        m4i_adamw(m->params + o, m->grads + o, m->mom1 + o, m->mom2 + o, n, lr, beta1, beta2, eps,
                  ti->decay ? weight_decay : 0.0f, step);
    }
    m->packed_valid = 0;
    m->has_forward = 0;
    return M4_OK;
}

/* ------------------------------------------------------------------------ */
/* benchmarks                                                               */
/* ------------------------------------------------------------------------ */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double m4_bench_fma_peak(double seconds) {
    m4i_gemm g;
    m4i_gemm_select(&g, NULL);
    return m4i_fma_peak(&g, seconds);
}

double m4_bench_sgemm(int M, int N, int K, int nthreads, int reps) {
    if (M < 1 || N < 1 || K < 1 || nthreads < 1 || reps < 1) return -1;
    m4i_gemm g;
    m4i_gemm_select(&g, NULL);
    float *A = aligned_floats((size_t)M * K), *W = aligned_floats((size_t)N * K);
    float *C = aligned_floats((size_t)M * N), *pk = aligned_floats(m4i_gemm_packed_floats(&g, K, N));
    float *ws = aligned_floats((size_t)nthreads * m4i_gemm_ws_floats(&g));
    double best = -1;
    if (A && W && C && pk && ws) {
        uint64_t s = 1;
        for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)(rng_unit(&s) - 0.5);
        for (size_t i = 0; i < (size_t)N * K; i++) W[i] = (float)(rng_unit(&s) - 0.5);
        m4i_mat Am = {A, K, 1}, Bm = {W, 1, K};
        m4i_gemm_pack(&g, K, N, Bm, pk);
        double tbest = 1e30;
        for (int r = 0; r < reps; r++) {
            double t0 = now_s();
            m4i_gemm_run(&g, nthreads, ws, M, N, K, Am, Bm, pk, C, N, 0);
            double dt = now_s() - t0;
            if (dt < tbest) tbest = dt;
        }
        best = 2.0 * M * N * (double)K / tbest / 1e9;
    }
    aligned_free(A);
    aligned_free(W);
    aligned_free(C);
    aligned_free(pk);
    aligned_free(ws);
    return best;
}
