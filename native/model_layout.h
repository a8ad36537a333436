/*
 * model_layout.h: the model's configuration check, parameter layout and
 * RoPE tables, the one definition the CPU model (model.c) and its CUDA twin
 * (gpu/model.cu) both use, so they accept the same configs, read a
 * checkpoint's tensors at the same offsets and rotate by the same angles.
 * Header-only; valid C99 and C++ (nvcc).
 */
#ifndef M4_MODEL_LAYOUT_H
#define M4_MODEL_LAYOUT_H

#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "m4.h"

/* the tensors of one transformer block, in layout order */
enum { L_ATT_NORM, L_WQ, L_WK, L_WV, L_WO, L_FFN_NORM, L_W1, L_W2, L_W3, L_COUNT };

/* where the named tensors are in the table; block l's tensor j is at
 * layer0 + l * L_COUNT + j */
typedef struct {
    int emb_w, emb_b, layer0, norm_w, out_w, mlp_w[3], mlp_b[3], cvec;
} m4i_tensor_index;

/* one tensor: PyTorch's name, its floats at params[offset, offset + size),
 * shape (rows, cols) or (rows) when cols is 0, and whether m3 decays it */
typedef struct {
    char name[64];
    size_t offset, size;
    int rows, cols, decay;
} m4i_tensor_def;

/* m4i_levels_bad checks output calibration levels (n_buckets x n_pct): each
 * in [0, 1] (not NaN) and non-decreasing within its bucket. Returns 0 if
 * so, else the first bad index + 1. */
static inline size_t m4i_levels_bad(const float *lv, int n_buckets, int n_pct) {
    for (size_t i = 0, n = (size_t)n_buckets * (size_t)n_pct; i < n; i++)
        if (!(lv[i] >= 0.0f && lv[i] <= 1.0f) || (i % (size_t)n_pct > 0 && lv[i] < lv[i - 1])) return i + 1;
    return 0;
}

/* The config checks (m4_model_config_check). Each returns NULL for a good
 * config, else the name of the first bad field, with the reason in msg
 * (len bytes, may be NULL): "dim = 0, want 1..1048576". */
#define M4I_SAY(...) ((msg && len) ? (void)snprintf(msg, len, __VA_ARGS__) : (void)0)

/* m4i_config_ranges: counts 1..2^20 (n_buckets_in from 0, n_layers 0..1024,
 * max_seq 1..4096), n_buckets_in x n_pct <= feat_dim, heads dividing dim into
 * even head widths (RoPE pairs), norm_eps in (0, 1], rope_theta in (0, 1e9],
 * dropout in [0, 1). */
static inline const char *m4i_config_ranges(const m4_model_config *c, char *msg, size_t len) {
    const char *const names[] = {"feat_dim", "n_buckets_in", "n_pct", "dim", "n_layers", "n_heads",
                                 "hidden_dim", "max_seq", "mlp_hidden1", "mlp_hidden2", "out_dim"};
    const int v[] = {c->feat_dim, c->n_buckets_in, c->n_pct, c->dim, c->n_layers, c->n_heads,
                     c->hidden_dim, c->max_seq, c->mlp_hidden1, c->mlp_hidden2, c->out_dim};
    for (int i = 0; i < 11; i++) {
        int lo = (i == 1 || i == 4) ? 0 : 1, hi = i == 4 ? 1024 : i == 7 ? 4096 : 1 << 20;
        if (v[i] < lo || v[i] > hi) {
            M4I_SAY("%s = %d, want %d..%d", names[i], v[i], lo, hi);
            return names[i];
        }
    }
    if ((long long)c->n_buckets_in * c->n_pct > c->feat_dim) {
        M4I_SAY("%d buckets x %d percentiles exceed feat_dim %d", c->n_buckets_in, c->n_pct, c->feat_dim);
        return "n_buckets_in";
    }
    if (c->dim % c->n_heads != 0 || (c->dim / c->n_heads) % 2 != 0) {
        M4I_SAY("dim %d / n_heads %d must be an even integer", c->dim, c->n_heads);
        return "n_heads";
    }
    if (!(c->norm_eps > 0.0f) || c->norm_eps > 1.0f) {
        M4I_SAY("norm_eps = %g, want in (0, 1]", (double)c->norm_eps);
        return "norm_eps";
    }
    if (!(c->rope_theta > 0.0f) || c->rope_theta > 1e9f) {
        M4I_SAY("rope_theta = %g, want in (0, 1e9]", (double)c->rope_theta);
        return "rope_theta";
    }
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f)) {
        M4I_SAY("dropout = %g, want in [0, 1)", (double)c->dropout);
        return "dropout";
    }
    return NULL;
}

/* m4i_config_sizes: every weight matrix under 2^30 floats, so that every
 * size stays well inside int (for a config within m4i_config_ranges). */
static inline const char *m4i_config_sizes(const m4_model_config *c, char *msg, size_t len) {
    const long long lim = 1LL << 30;
    if ((long long)c->feat_dim * c->dim > lim) {
        M4I_SAY("feat_dim %d x dim %d exceeds 2^30 weights", c->feat_dim, c->dim);
        return "dim";
    }
    if ((long long)c->hidden_dim * c->dim > lim) {
        M4I_SAY("hidden_dim %d x dim %d exceeds 2^30 weights", c->hidden_dim, c->dim);
        return "hidden_dim";
    }
    if ((long long)(c->feat_dim + c->dim) * c->mlp_hidden1 > lim) {
        M4I_SAY("(feat_dim + dim) %d x mlp_hidden1 %d exceeds 2^30 weights", c->feat_dim + c->dim, c->mlp_hidden1);
        return "mlp_hidden1";
    }
    return NULL;
}
#undef M4I_SAY

/* m4i_config_check: both checks, in that order. */
static inline const char *m4i_config_check(const m4_model_config *c, char *msg, size_t len) {
    const char *bad = m4i_config_ranges(c, msg, len);
    return bad ? bad : m4i_config_sizes(c, msg, len);
}

/* m4i_config_ok: 1 for a config the model runs (m4i_config_check). */
static inline int m4i_config_ok(const m4_model_config *c) { return m4i_config_check(c, NULL, 0) == NULL; }

/* m4i_num_tensors: the table's length for c */
static inline int m4i_num_tensors(const m4_model_config *c) { return 2 + c->n_layers * L_COUNT + 2 + 6 + 1; }

/* m4i_layout fills t (m4i_num_tensors(c) entries) and ti with the tensors
 * in checkpoint order and returns the number of parameters. */
static inline size_t m4i_layout(const m4_model_config *c, m4i_tensor_def *t, m4i_tensor_index *ti) {
    static const char *const layer_names[L_COUNT] = {
        "attention_norm.weight",  "attention.wq.weight",    "attention.wk.weight",
        "attention.wv.weight",    "attention.wo.weight",    "ffn_norm.weight",
        "feed_forward.w1.weight", "feed_forward.w2.weight", "feed_forward.w3.weight"};
    int i = 0;
    size_t off = 0;
    char buf[64];
#define M4I_ADD(label, r, cdim, dec)                                                      \
    do {                                                                                  \
        snprintf(t[i].name, sizeof t[i].name, "%s", label);                               \
        t[i].offset = off;                                                                \
        t[i].rows = (r);                                                                  \
        t[i].cols = (cdim) > 0 ? (cdim) : 0;                                              \
        t[i].size = (size_t)(r) * (size_t)((cdim) > 0 ? (cdim) : 1);                      \
        t[i].decay = (dec);                                                               \
        off += t[i].size;                                                                 \
        i++;                                                                              \
    } while (0)
    ti->emb_w = i;
    M4I_ADD("model_transformer.tok_embeddings.weight", c->dim, c->feat_dim, 1);
    ti->emb_b = i;
    M4I_ADD("model_transformer.tok_embeddings.bias", c->dim, 0, 0);
    ti->layer0 = i;
    for (int l = 0; l < c->n_layers; l++) {
        int shp[L_COUNT][2] = {{c->dim, 0},        {c->dim, c->dim},        {c->dim, c->dim},
                               {c->dim, c->dim},   {c->dim, c->dim},        {c->dim, 0},
                               {c->hidden_dim, c->dim}, {c->dim, c->hidden_dim}, {c->hidden_dim, c->dim}};
        for (int j = 0; j < L_COUNT; j++) {
            snprintf(buf, sizeof buf, "model_transformer.layers.%d.%s", l, layer_names[j]);
            M4I_ADD(buf, shp[j][0], shp[j][1], shp[j][1] > 0);
        }
    }
    ti->norm_w = i;
    M4I_ADD("model_transformer.norm.weight", c->dim, 0, 0);
    ti->out_w = i;
    M4I_ADD("model_transformer.output.weight", c->dim, c->dim, 1);
    int ins[3] = {c->feat_dim + c->dim, c->mlp_hidden1, c->mlp_hidden2};
    int outs[3] = {c->mlp_hidden1, c->mlp_hidden2, c->out_dim};
    for (int j = 0; j < 3; j++) {
        ti->mlp_w[j] = i;
        snprintf(buf, sizeof buf, "model_mlp.%d.weight", 2 * j);
        M4I_ADD(buf, outs[j], ins[j], 0);
        ti->mlp_b[j] = i;
        snprintf(buf, sizeof buf, "model_mlp.%d.bias", 2 * j);
        M4I_ADD(buf, outs[j], 0, 0);
    }
    ti->cvec = i;
    M4I_ADD("const_tensor", c->n_pct, 0, 0);
#undef M4I_ADD
    return off;
}

/* m4i_rope_tables: cos/sin (max_seq, hd/2) of pos * theta^(-2i/hd), on the
 * host in fp32 as PyTorch computes them: 1 / theta^(2i/hd), then pos * freq. */
static inline void m4i_rope_tables(float *cos_t, float *sin_t, int max_seq, int hd, float theta) {
    int half = hd / 2;
    for (int i = 0; i < half; i++) {
        float freq = 1.0f / powf(theta, (float)(2 * i) / (float)hd);
        for (int t = 0; t < max_seq; t++) {
            float a = (float)t * freq;
            cos_t[t * half + i] = cosf(a);
            sin_t[t * half + i] = sinf(a);
        }
    }
}

#endif
