/*
 * checkpoint.c: m4's checkpoint files (docs/checkpoint.md) read in C, so that
 * tools outside Go can load a trained model: m4_model_load.
 *
 * A checkpoint is a safetensors file (safetensors.c reads the layer both
 * of m4's checkpoint formats share; safetensors_internal.h). The reader is
 * strict: every count read from the file is checked against what the file's
 * size can back before anything is allocated from it, every problem is
 * M4_ERR_FORMAT with a message naming the file and the tensor or metadata
 * field, and a file it accepts is one it fully understands.
 */
#include "m4.h"
#include "model_layout.h"
#include "safetensors_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* metadata                                                                 */
/* ------------------------------------------------------------------------ */

static m4_status read_config(m4i_errbuf *e, const char *text, size_t len, m4_model_config *c) {
    m4i_json p;
    static const char *const known[] = {"feat_dim", "n_buckets_in", "n_pct", "dim", "n_layers", "n_heads",
                                        "hidden_dim", "max_seq", "mlp_hidden1", "mlp_hidden2", "out_dim",
                                        "norm_eps", "rope_theta", "dropout", NULL};
    m4_status st = M4_OK;
    int root = m4i_json_object(e, &p, text, len, "model_config", known);
    if (root < 0) {
        st = M4_ERR_FORMAT;
        goto done;
    }
    int *dst[] = {&c->feat_dim, &c->n_buckets_in, &c->n_pct, &c->dim, &c->n_layers, &c->n_heads,
                  &c->hidden_dim, &c->max_seq, &c->mlp_hidden1, &c->mlp_hidden2, &c->out_dim};
    float *fd[] = {&c->norm_eps, &c->rope_theta, &c->dropout};
    int absent[14] = {0};
    memset(c, 0, sizeof *c);
    for (int i = 0; i < 14; i++) {
        int k = m4i_json_get(&p, root, known[i]);
        if (k < 0) { /* absent: zero, which the range check refuses where 0 is not allowed */
            absent[i] = 1;
            continue;
        }
        long long v = 0;
        double x = 0;
        if (i < 11 && m4i_json_int(&p, k, -(1LL << 31), (1LL << 31) - 1, &v)) {
            st = m4i_fail(e, M4_ERR_FORMAT, "metadata model_config: %s is not a 32-bit integer", known[i]);
            goto done;
        }
        if (i >= 11 && m4i_json_num(&p, k, 1, &x)) {
            st = m4i_fail(e, M4_ERR_FORMAT, "metadata model_config: %s is not a finite number", known[i]);
            goto done;
        }
        if (i < 11) *dst[i] = (int)v;
        else *fd[i - 11] = (float)x;
    }
    /* the ranges are m4_model_config_check's (model_layout.h); the size
     * limits come after the file-size bound in read_ckpt */
    char msg[128];
    const char *bad = m4i_config_ranges(c, msg, sizeof msg);
    if (bad) {
        int missing = 0;
        for (int i = 0; i < 14; i++) missing |= absent[i] && strcmp(bad, known[i]) == 0;
        if (missing) st = m4i_fail(e, M4_ERR_FORMAT, "metadata model_config: %s missing", bad);
        else st = m4i_fail(e, M4_ERR_FORMAT, "metadata model_config: %s", msg);
    }
done:
    m4i_json_free(&p);
    return st;
}

/* The feature definition libm4 builds (m4_features_build), as the Go side's
 * model.M3Features describes it. */
static const double m3_input_edges[] = {250, 500, 750, 1000, 2000, 5000, 7500, 10000, 50000};
static const double m3_output_edges[] = {1000, 10000, 50000};

static int edges_eq(const m4i_json *p, int k, const double *want, int n) {
    if (k < 0 || p->nodes[k].type != J_ARR || p->nodes[k].n != n) return 0;
    int i = 0;
    for (int c = p->nodes[k].first; c >= 0; c = p->nodes[c].next, i++) {
        double v;
        if (m4i_json_num(p, c, 0, &v) || v != want[i]) return 0;
    }
    return 1;
}

static m4_status read_features(m4i_errbuf *e, const char *text, size_t len, m4_checkpoint_info *info) {
    m4i_json p;
    static const char *const known[] = {"name", "row_width", "input_buckets", "percentiles", "params",
                                        "input_edges", "output_edges", "percentile_method",
                                        "normalisation", "empty_buckets", "output", NULL};
    m4_status st = M4_OK;
    int root = m4i_json_object(e, &p, text, len, "features", known);
    if (root < 0) {
        st = M4_ERR_FORMAT;
        goto done;
    }
    /* types first: every field present must have its JSON type */
    static const char *const strs[] = {"name", "percentile_method", "normalisation", "empty_buckets", "output"};
    for (int i = 0; i < 5; i++) {
        int k = m4i_json_get(&p, root, strs[i]);
        if (k >= 0 && p.nodes[k].type != J_STR) {
            st = m4i_fail(e, M4_ERR_FORMAT, "metadata features: %s is not a string", strs[i]);
            goto done;
        }
    }
    int kn = m4i_json_get(&p, root, "name");
    if (kn >= 0) snprintf(info->features, sizeof info->features, "%s", p.nodes[kn].str);
    static const char *const ints[] = {"row_width", "input_buckets", "percentiles", "params"};
    const long long want[] = {M4_FEAT_ROW, M4_FEAT_BUCKETS, M4_FEAT_PERCENTILES, M4_FEAT_PARAMS};
    /* m4-path-v2 and v3 are m3-path-v1 with other parameter encodings
     * (m4_features_params_for): the same maps for libm4 */
    int same = (m4i_json_str_eq(&p, kn, M4_FEATURES_V1) || m4i_json_str_eq(&p, kn, M4_FEATURES_V2) ||
                m4i_json_str_eq(&p, kn, M4_FEATURES_V3)) &&
               m4i_json_str_eq(&p, m4i_json_get(&p, root, "percentile_method"), "nearest") &&
               edges_eq(&p, m4i_json_get(&p, root, "input_edges"), m3_input_edges, 9) &&
               edges_eq(&p, m4i_json_get(&p, root, "output_edges"), m3_output_edges, 3);
    for (int i = 0; i < 4; i++) {
        long long v;
        int k = m4i_json_get(&p, root, ints[i]);
        if (k >= 0 && m4i_json_int(&p, k, -(1LL << 62), 1LL << 62, &v)) {
            st = m4i_fail(e, M4_ERR_FORMAT, "metadata features: %s is not an integer", ints[i]);
            goto done;
        }
        if (k < 0 || v != want[i]) same = 0;
    }
    static const char *const arrs[] = {"input_edges", "output_edges"};
    for (int i = 0; i < 2; i++) {
        int k = m4i_json_get(&p, root, arrs[i]);
        if (k < 0 || p.nodes[k].type == J_NULL) continue;
        if (p.nodes[k].type != J_ARR) {
            st = m4i_fail(e, M4_ERR_FORMAT, "metadata features: %s is not an array of numbers", arrs[i]);
            goto done;
        }
        for (int c = p.nodes[k].first; c >= 0; c = p.nodes[c].next) {
            double v;
            if (m4i_json_num(&p, c, 0, &v)) {
                st = m4i_fail(e, M4_ERR_FORMAT, "metadata features: %s is not an array of numbers", arrs[i]);
                goto done;
            }
        }
    }
    info->m3_features = same;
done:
    m4i_json_free(&p);
    return st;
}

/* ------------------------------------------------------------------------ */
/* trained ranges                                                           */
/* ------------------------------------------------------------------------ */

static const char *const range_keys[M4_RANGE_KEYS] = {"buffer_kb",     "window_bytes",    "dctcp_k",
                                                      "dcqcn_kmin",    "dcqcn_kmax",      "hpcc_u_target",
                                                      "hpcc_ai",       "timely_t_low_ns", "timely_t_high_ns"};
static const char *const cc_names[4] = {"dctcp", "dcqcn", "hpcc", "timely"};

void m4i_note(char *report, size_t len, size_t *used, const char *fmt, ...) {
    if (!report || *used >= len) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(report + *used, len - *used, fmt, ap);
    va_end(ap);
    *used += w > 0 ? (size_t)w : 0;
}

/* m4i_read_ranges: safetensors_internal.h */
m4_status m4i_read_ranges(m4i_errbuf *e, const m4i_json *q, int k, const char *field, m4_trained_ranges *r) {
    memset(r, 0, sizeof *r);
    for (int i = 0; i < M4_RANGE_KEYS; i++) r->lo[i] = 1, r->hi[i] = 0;
    if (k < 0 || q->nodes[k].type == J_NULL) return M4_OK;
    if (q->nodes[k].type != J_OBJ) return m4i_fail(e, M4_ERR_FORMAT, "metadata training: %s is not an object", field);
    r->has = 1;
    int kc = m4i_json_get(q, k, "cc");
    if (kc >= 0) {
        if (q->nodes[kc].type != J_ARR && q->nodes[kc].type != J_NULL)
            return m4i_fail(e, M4_ERR_FORMAT, "metadata training: %s.cc is not an array", field);
        for (int c = q->nodes[kc].type == J_ARR ? q->nodes[kc].first : -1; c >= 0; c = q->nodes[c].next) {
            int hit = 0;
            for (int j = 0; j < 4; j++)
                if (m4i_json_str_eq(q, c, cc_names[j])) r->cc[j] = hit = 1;
            if (!hit) return m4i_fail(e, M4_ERR_FORMAT, "metadata training: %s.cc holds an unknown algorithm", field);
        }
    }
    static const char *const flags[3] = {"pfc", "network", "network_pfc"};
    int *dst[3] = {r->pfc, r->network, r->network_pfc};
    for (int f = 0; f < 3; f++) {
        int kf = m4i_json_get(q, k, flags[f]);
        if (kf < 0 || q->nodes[kf].type == J_NULL) continue;
        if (q->nodes[kf].type != J_ARR)
            return m4i_fail(e, M4_ERR_FORMAT, "metadata training: %s.%s is not an array", field, flags[f]);
        for (int c = q->nodes[kf].first; c >= 0; c = q->nodes[c].next) {
            if (q->nodes[c].type != J_TRUE && q->nodes[c].type != J_FALSE)
                return m4i_fail(e, M4_ERR_FORMAT, "metadata training: %s.%s holds a non-boolean", field, flags[f]);
            dst[f][q->nodes[c].type == J_TRUE] = 1;
        }
    }
    int kv = m4i_json_get(q, k, "values");
    if (kv >= 0 && q->nodes[kv].type != J_NULL) {
        if (q->nodes[kv].type != J_OBJ)
            return m4i_fail(e, M4_ERR_FORMAT, "metadata training: %s.values is not an object", field);
        for (int i = 0; i < M4_RANGE_KEYS; i++) {
            int kr = m4i_json_get(q, kv, range_keys[i]);
            if (kr < 0) continue;
            double lo, hi;
            if (q->nodes[kr].type != J_ARR || q->nodes[kr].n != 2 || m4i_json_num(q, q->nodes[kr].first, 0, &lo) ||
                m4i_json_num(q, q->nodes[q->nodes[kr].first].next, 0, &hi) || lo > hi)
                return m4i_fail(e, M4_ERR_FORMAT, "metadata training: %s.values.%s is not [lo, hi]",
                             field, range_keys[i]);
            r->lo[i] = lo, r->hi[i] = hi;
        }
    }
    return M4_OK;
}

int m4_check_config(const m4_trained_ranges *r, const m4_cc_config *c, int network, char *report, size_t len) {
    if (!r || !c) return -1;
    int ci;
    switch (c->cc) {
    case M4_CC_DCTCP: ci = 0; break;
    case M4_CC_DCQCN: ci = 1; break;
    case M4_CC_HPCC: ci = 2; break;
    case M4_CC_TIMELY: ci = 3; break;
    default: return -1;
    }
    if (report && len) report[0] = 0;
    if (!r->has) return 0;
    size_t used = 0;
    int n = 0;
#define NOTE(...) (n++, m4i_note(report, len, &used, __VA_ARGS__))
    if (!r->cc[ci]) {
        NOTE("cc = %s is outside the trained algorithms\n", cc_names[ci]);
        return n; /* its parameters have no range either */
    }
    if (!r->pfc[c->pfc ? 1 : 0])
        NOTE("pfc = %d was never trained on\n", c->pfc ? 1 : 0);
    else if (network && (r->network_pfc[0] || r->network_pfc[1]) && !r->network_pfc[c->pfc ? 1 : 0])
        NOTE("pfc = %d was never trained on a path cut from a network (on m3's parking lots only)\n", c->pfc ? 1 : 0);
    if (!r->network[network ? 1 : 0])
        NOTE("path kind = %s was never trained on\n", network ? "a path cut from a network" : "one of m3's parking lots");
    double v[M4_RANGE_KEYS];
    int use[M4_RANGE_KEYS] = {1, 1};
    v[M4_RANGE_BUFFER_KB] = c->buffer_kb, v[M4_RANGE_WINDOW_BYTES] = c->window_bytes;
    v[M4_RANGE_DCTCP_K] = c->dctcp_k, use[M4_RANGE_DCTCP_K] = ci == 0;
    v[M4_RANGE_DCQCN_KMIN] = c->dcqcn_kmin, v[M4_RANGE_DCQCN_KMAX] = c->dcqcn_kmax;
    use[M4_RANGE_DCQCN_KMIN] = use[M4_RANGE_DCQCN_KMAX] = ci == 1;
    v[M4_RANGE_HPCC_U_TARGET] = c->hpcc_u_target, v[M4_RANGE_HPCC_AI] = c->hpcc_ai;
    use[M4_RANGE_HPCC_U_TARGET] = use[M4_RANGE_HPCC_AI] = ci == 2;
    v[M4_RANGE_TIMELY_T_LOW] = c->timely_t_low_ns, v[M4_RANGE_TIMELY_T_HIGH] = c->timely_t_high_ns;
    use[M4_RANGE_TIMELY_T_LOW] = use[M4_RANGE_TIMELY_T_HIGH] = ci == 3;
    for (int i = 0; i < M4_RANGE_KEYS; i++) {
        if (!use[i]) continue;
        if (r->lo[i] > r->hi[i])
            NOTE("%s = %g was never trained on\n", range_keys[i], v[i]);
        else if (v[i] < r->lo[i] * (1 - M4_RANGE_EDGE) || v[i] > r->hi[i] * (1 + M4_RANGE_EDGE))
            NOTE("%s = %g is outside the trained range [%g, %g]\n", range_keys[i], v[i], r->lo[i], r->hi[i]);
    }
#undef NOTE
    return n;
}

/* ------------------------------------------------------------------------ */
/* tensors                                                                  */
/* ------------------------------------------------------------------------ */

/* n_params is the parameter count of a config (the layout of m4.h's model
 * section), computed before anything is allocated for it. */
static unsigned long long n_params(const m4_model_config *c) {
    unsigned long long F = (unsigned)c->feat_dim, D = (unsigned)c->dim, Hd = (unsigned)c->hidden_dim;
    unsigned long long h1 = (unsigned)c->mlp_hidden1, h2 = (unsigned)c->mlp_hidden2, O = (unsigned)c->out_dim;
    unsigned long long L = (unsigned)c->n_layers;
    return D * F + D + L * (2 * D + 4 * D * D + 3 * Hd * D) + D + D * D + h1 * (F + D) + h1 + h2 * h1 +
           h2 + O * h2 + O + (unsigned)c->n_pct;
}

/* ------------------------------------------------------------------------ */
/* the loader                                                               */
/* ------------------------------------------------------------------------ */

#define PREFIX_AVG "adamw.exp_avg."
#define PREFIX_AVG_SQ "adamw.exp_avg_sq."
#define PREFIX_EMA "ema."
#define NORM_SHIFT "input_norm.shift"
#define NORM_SCALE "input_norm.scale"
#define CALIBRATION "calibration.levels"

/* a parameter tensor's name, then the optimizer state's and the average's */
static const char *const state_prefix[4] = {"", PREFIX_AVG, PREFIX_AVG_SQ, PREFIX_EMA};

/* read_metadata reads the metadata's model_config, features and training
 * record into ci; keys receives their JSON nodes (-1: absent). */
static m4_status read_metadata(const m4i_st_file *f, m4_checkpoint_info *ci, int keys[3], m4i_errbuf *e) {
    const m4i_json *p = &f->p;
    int kc = keys[0] = m4i_json_get(p, f->meta, "model_config");
    if (kc < 0) return m4i_fail(e, M4_ERR_FORMAT, "metadata model_config: missing");
    m4_status st = read_config(e, p->nodes[kc].str, p->nodes[kc].str_len, &ci->config);
    if (st != M4_OK) return st;
    int kfe = keys[1] = m4i_json_get(p, f->meta, "features");
    if (kfe < 0) return m4i_fail(e, M4_ERR_FORMAT, "metadata features: missing");
    if ((st = read_features(e, p->nodes[kfe].str, p->nodes[kfe].str_len, ci)) != M4_OK) return st;
    int kt = keys[2] = m4i_json_get(p, f->meta, "training");
    if (kt < 0) return M4_OK;
    /* the training record: inference needs only its trained ranges, but it must be a JSON object */
    m4i_json q;
    int r = m4i_json_parse(&q, p->nodes[kt].str, p->nodes[kt].str_len);
    if (r < 0 || q.nodes[r].type != J_OBJ)
        st = m4i_fail(e, M4_ERR_FORMAT, "metadata training: %s", r < 0 ? q.err : "not a JSON object");
    else
        st = m4i_read_ranges(e, &q, m4i_json_get(&q, r, "trained_ranges"), "trained_ranges", &ci->ranges);
    m4i_json_free(&q);
    return st;
}

/* mark_tensors notes which optional tensors the file holds (optimizer
 * state, parameter average, input normalisation, calibration) and marks
 * every entry a model of this config reads; any other entry is an error.
 * *kinds is how many of state_prefix's groups the file holds per tensor. */
static m4_status mark_tensors(m4i_st_file *f, const m4i_tensor_def *defs, int nt, m4_checkpoint_info *ci,
                              int *kinds, m4i_errbuf *e) {
    char nm[160];
    snprintf(nm, sizeof nm, PREFIX_AVG "%s", defs[0].name);
    ci->has_optimizer_state = m4i_st_find(f, nm) != NULL;
    ci->has_input_norm = m4i_st_find(f, NORM_SHIFT) != NULL;
    m4i_st_entry *cal = m4i_st_find(f, CALIBRATION);
    ci->has_calibration = cal != NULL;
    if (cal) cal->used = 1;
    snprintf(nm, sizeof nm, PREFIX_EMA "%s", defs[0].name);
    int has_ema = m4i_st_find(f, nm) != NULL;
    if (has_ema && !ci->has_optimizer_state)
        return m4i_fail(e, M4_ERR_FORMAT, "tensor %s: a parameter average without optimizer state", nm);
    if (ci->has_input_norm) {
        m4i_st_entry *sc = m4i_st_find(f, NORM_SCALE);
        if (sc) sc->used = 1;
        m4i_st_find(f, NORM_SHIFT)->used = 1;
    }
    *kinds = ci->has_optimizer_state ? 3 + has_ema : 1;
    for (int t = 0; t < nt; t++)
        for (int k = 0; k < *kinds; k++) {
            snprintf(nm, sizeof nm, "%s%s", state_prefix[k], defs[t].name);
            m4i_st_entry *en = m4i_st_find(f, nm);
            if (en) en->used = 1;
        }
    for (int i = 0; i < f->ne; i++)
        if (!f->es[i].used)
            return m4i_fail(e, M4_ERR_FORMAT, "tensor %.80s: unknown to a model of this config", f->es[i].name);
    return M4_OK;
}

/* read_params reads the parameters (F32 or F16) into ck, in the model's order. */
static m4_status read_params(const m4i_st_file *f, const m4i_tensor_def *defs, int nt, size_t total,
                             m4_checkpoint *ck, m4i_errbuf *e) {
    ck->n_params = total;
    ck->params = malloc(total * sizeof(float));
    if (!ck->params) return m4i_fail(e, M4_ERR_NO_MEMORY, "out of memory for %zu parameters", total);
    for (int t = 0; t < nt; t++) {
        int shape[2] = {defs[t].rows, defs[t].cols};
        m4i_st_entry *en = m4i_st_find(f, defs[t].name);
        m4_status st = m4i_st_read_tensor(e, f, en, defs[t].name, defs[t].cols > 0 ? 2 : 1, shape, defs[t].size, 1,
                                          ck->params + defs[t].offset);
        if (st != M4_OK) return st;
        ck->info.f16 |= en->f16;
    }
    return M4_OK;
}

/* read_input_norm reads the input normalisation (F32, no scale 0). */
static m4_status read_input_norm(const m4i_st_file *f, m4_checkpoint *ck, m4i_errbuf *e) {
    int shape[2] = {ck->info.config.feat_dim, 0};
    size_t F = (size_t)ck->info.config.feat_dim;
    ck->norm_shift = malloc(F * sizeof(float));
    ck->norm_scale = malloc(F * sizeof(float));
    if (!ck->norm_shift || !ck->norm_scale) return m4i_fail(e, M4_ERR_NO_MEMORY, "out of memory");
    m4_status st;
    if ((st = m4i_st_read_tensor(e, f, m4i_st_find(f, NORM_SHIFT), NORM_SHIFT, 1, shape, F, 0, ck->norm_shift)) !=
            M4_OK ||
        (st = m4i_st_read_tensor(e, f, m4i_st_find(f, NORM_SCALE), NORM_SCALE, 1, shape, F, 0, ck->norm_scale)) !=
            M4_OK)
        return st;
    for (size_t j = 0; j < F; j++)
        if (ck->norm_scale[j] == 0)
            return m4i_fail(e, M4_ERR_FORMAT, "input normalisation: column %zu: scale 0 (want != 0)", j);
    return M4_OK;
}

/* read_calibration reads the calibration levels per output bucket and
 * percentile: in [0, 1], non-decreasing in each bucket. */
static m4_status read_calibration(const m4i_st_file *f, m4_checkpoint *ck, m4i_errbuf *e) {
    const m4_model_config *c = &ck->info.config;
    int P = c->n_pct, B = P > 0 ? c->out_dim / P : 0;
    int shape[2] = {B, P};
    if (B < 1 || B * P != c->out_dim)
        return m4i_fail(e, M4_ERR_FORMAT, "tensor " CALIBRATION ": out_dim %d is not buckets x n_pct %d", c->out_dim,
                        P);
    if (!(ck->calibration = malloc((size_t)c->out_dim * sizeof(float))))
        return m4i_fail(e, M4_ERR_NO_MEMORY, "out of memory");
    m4_status st = m4i_st_read_tensor(e, f, m4i_st_find(f, CALIBRATION), CALIBRATION, 2, shape, (size_t)c->out_dim,
                                      0, ck->calibration);
    if (st != M4_OK) return st;
    size_t bad = m4i_levels_bad(ck->calibration, B, P);
    if (bad)
        return m4i_fail(e, M4_ERR_FORMAT, "tensor " CALIBRATION ": bucket %zu level %zu is %g (want in [0, 1], non-decreasing)",
                        (bad - 1) / (size_t)P, (bad - 1) % (size_t)P, (double)ck->calibration[bad - 1]);
    return M4_OK;
}

/* read_optimizer reads AdamW's state and the parameter average (groups
 * 1..kinds-1 of state_prefix; F32): checked, and kept in ck with keep. */
static m4_status read_optimizer(const m4i_st_file *f, const m4i_tensor_def *defs, int nt, size_t total, int kinds,
                                int keep, m4_checkpoint *ck, m4i_errbuf *e) {
    float **state[3] = {&ck->exp_avg, &ck->exp_avg_sq, &ck->ema};
    char nm[160];
    for (int k = 1; k < kinds; k++) {
        float *dst = NULL;
        if (keep) {
            dst = *state[k - 1] = malloc(total * sizeof(float));
            if (!dst) return m4i_fail(e, M4_ERR_NO_MEMORY, "out of memory for %zu parameters", total);
        }
        for (int t = 0; t < nt; t++) {
            int shape[2] = {defs[t].rows, defs[t].cols};
            snprintf(nm, sizeof nm, "%s%s", state_prefix[k], defs[t].name);
            m4_status st = m4i_st_read_tensor(e, f, m4i_st_find(f, nm), nm, defs[t].cols > 0 ? 2 : 1, shape,
                                              defs[t].size, 0, dst ? dst + defs[t].offset : NULL);
            if (st != M4_OK) return st;
        }
    }
    return M4_OK;
}

/* keep_metadata copies the metadata's JSON texts (keys from read_metadata)
 * into ck, for readers that want more than libm4 does. */
static m4_status keep_metadata(const m4i_json *p, const int keys[3], m4_checkpoint *ck, m4i_errbuf *e) {
    char **dst[3] = {&ck->model_config, &ck->features, &ck->training};
    for (int i = 0; i < 3; i++) {
        if (keys[i] < 0) continue;
        const m4i_jnode *n = &p->nodes[keys[i]];
        if (!(*dst[i] = malloc(n->str_len + 1))) return m4i_fail(e, M4_ERR_NO_MEMORY, "out of memory");
        memcpy(*dst[i], n->str, n->str_len + 1);
    }
    return M4_OK;
}

/* read_ckpt reads checkpoint image b[0..len) into ck: the metadata, every
 * tensor checked, the parameters and input normalisation kept, and with
 * keep also the optimizer state, the parameter average and the metadata's
 * JSON text (else they are checked and dropped). */
static m4_status read_ckpt(const unsigned char *b, size_t len, m4_checkpoint *ck, int keep, m4i_errbuf *e) {
    static const char *const meta_keys[] = {"format", "format_version", "model_config", "features", "training",
                                            "data_sha256", NULL};
    m4i_st_file f;
    m4i_tensor_def *defs = NULL;
    m4_checkpoint_info *ci = &ck->info;
    int keys[3] = {-1, -1, -1}, kinds = 1;
    m4_status st = m4i_st_header(&f, b, len, "m4-checkpoint", "an m4 checkpoint", meta_keys, e);
    if (st != M4_OK) goto done;
    if ((st = read_metadata(&f, ci, keys, e)) != M4_OK) goto done;
    /* the tensor table and the checksum, when the file carries one (m4
     * writes it; files of m4 before 0.2 lack it) */
    if ((st = m4i_st_tensors(&f, 0, &ci->checksum, e)) != M4_OK) goto done;
    /* the parameters must fit in what the file holds before anything is
     * allocated for them (2 bytes each at least, as F16) */
    unsigned long long np = n_params(&ci->config);
    if (np > f.data_len / 2) {
        st = m4i_fail(e, M4_ERR_FORMAT, "metadata model_config: a model of %llu parameters cannot fit the file's %zu data bytes",
                      np, f.data_len);
        goto done;
    }
    char msg[128];
    if (m4i_config_sizes(&ci->config, msg, sizeof msg)) {
        st = m4i_fail(e, M4_ERR_FORMAT, "metadata model_config: %s", msg);
        goto done;
    }
    if (!ci->m3_features || ci->config.feat_dim != M4_FEAT_ROW || ci->config.n_buckets_in != M4_FEAT_BUCKETS ||
        ci->config.n_pct != M4_FEAT_PERCENTILES || ci->config.out_dim != M4_FEAT_OUTPUTS) {
        ci->m3_features = 0;
    }
    /* which tensors the file must hold: the model's (model_layout.h) */
    int nt = m4i_num_tensors(&ci->config);
    defs = malloc((size_t)nt * sizeof *defs);
    if (!defs) {
        st = m4i_fail(e, M4_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    m4i_tensor_index tix;
    size_t total = m4i_layout(&ci->config, defs, &tix);
    if ((st = mark_tensors(&f, defs, nt, ci, &kinds, e)) != M4_OK) goto done;
    if ((st = read_params(&f, defs, nt, total, ck, e)) != M4_OK) goto done;
    if (ci->has_input_norm && (st = read_input_norm(&f, ck, e)) != M4_OK) goto done;
    if (ci->has_calibration && (st = read_calibration(&f, ck, e)) != M4_OK) goto done;
    if ((st = read_optimizer(&f, defs, nt, total, kinds, keep, ck, e)) != M4_OK) goto done;
    if (keep) st = keep_metadata(&f.p, keys, ck, e);
done:
    m4i_st_free(&f);
    free(defs);
    return st;
}

static m4_status load(m4_model **out, const unsigned char *b, size_t len, int max_batch,
                      m4_checkpoint_info *info, m4i_errbuf *e) {
    m4_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    m4_model *m = NULL;
    m4_status st = read_ckpt(b, len, &ck, 0, e);
    if (st != M4_OK) goto done;
    {
        /* inference activations grow with widths the parameters need not
         * hold (hidden_dim with 0 layers, max_seq): bound them by the model */
        const m4_model_config *c = &ck.info.config;
        unsigned long long np = ck.n_params;
        unsigned long long R = (unsigned long long)(max_batch > 0 ? max_batch : 1) * (unsigned)c->max_seq;
        unsigned long long act = R * ((unsigned)c->feat_dim + 10ULL * (unsigned)c->dim + 3ULL * (unsigned)c->hidden_dim) +
                                 R * (unsigned)c->n_heads * (unsigned)c->max_seq;
        if (act > 64 * np + (1ULL << 24)) {
            st = m4i_fail(e, M4_ERR_FORMAT, "metadata model_config: activations of %llu floats for a model of %llu parameters",
                          act, np);
            goto done;
        }
    }
    if (max_batch < 1) max_batch = 1;
    m4_status cs = m4_model_create(&m, &ck.info.config, max_batch, 0, 0);
    if (cs == M4_ERR_INVALID_ARGUMENT) {
        st = m4i_fail(e, M4_ERR_FORMAT, "metadata model_config: a config the native model cannot run (sizes beyond its limits)");
        goto done;
    }
    if (cs != M4_OK) {
        st = m4i_fail(e, cs, "creating the model: %s", m4_strerror(cs));
        goto done;
    }
    if ((cs = m4_model_set_params(m, ck.params, ck.n_params)) != M4_OK ||
        (ck.info.has_input_norm && (cs = m4_model_set_input_norm(m, ck.norm_shift, ck.norm_scale)) != M4_OK) ||
        (ck.calibration && (cs = m4_model_set_calibration(m, ck.calibration)) != M4_OK)) {
        st = m4i_fail(e, cs == M4_ERR_NO_MEMORY ? cs : M4_ERR_FORMAT, "%s", m4_model_error(m));
        goto done;
    }
    const m4_checkpoint_info *ci = &ck.info;
    if (!ci->m3_features) {
        st = m4i_fail(e, M4_ERR_UNSUPPORTED,
                      "features \"%.40s\" (feat_dim %d, out_dim %d): libm4 builds " M4_FEATURES_V1 ", " M4_FEATURES_V2 " and " M4_FEATURES_V3 " feature maps only (%d values a row, %d outputs)",
                      ci->features, ci->config.feat_dim, ci->config.out_dim, M4_FEAT_ROW, M4_FEAT_OUTPUTS);
        goto done;
    }
    if (info) *info = *ci;
    if (out) {
        *out = m;
        m = NULL;
    }
done:
    m4_checkpoint_free(&ck);
    m4_model_destroy(m);
    return st;
}

m4_status m4_checkpoint_read(m4_checkpoint *ck, const void *data, size_t len, const char *name, char *err,
                             size_t err_len) {
    m4i_errbuf e = {err, err_len, name ? name : "checkpoint"};
    if (err && err_len) err[0] = 0;
    if (!ck) return m4i_fail(&e, M4_ERR_INVALID_ARGUMENT, "NULL checkpoint");
    memset(ck, 0, sizeof *ck);
    if (!data && len > 0) return m4i_fail(&e, M4_ERR_INVALID_ARGUMENT, "NULL data");
    m4_status st = read_ckpt(data ? data : (const void *)"", len, ck, 1, &e);
    if (st != M4_OK) m4_checkpoint_free(ck);
    return st;
}

void m4_checkpoint_free(m4_checkpoint *ck) {
    if (!ck) return;
    free(ck->params);
    free(ck->norm_shift);
    free(ck->norm_scale);
    free(ck->calibration);
    free(ck->exp_avg);
    free(ck->exp_avg_sq);
    free(ck->ema);
    free(ck->model_config);
    free(ck->features);
    free(ck->training);
    memset(ck, 0, sizeof *ck);
}

m4_status m4_model_load_buffer(m4_model **out, const void *data, size_t len, const char *name,
                               int max_batch, m4_checkpoint_info *info, char *err, size_t err_len) {
    m4i_errbuf e = {err, err_len, name ? name : "checkpoint"};
    if (err && err_len) err[0] = 0;
    if (out) *out = NULL;
    if (!data && len > 0) return m4i_fail(&e, M4_ERR_INVALID_ARGUMENT, "NULL data");
    return load(out, data, len, max_batch, info, &e);
}

m4_status m4_model_load(m4_model **out, const char *path, int max_batch, m4_checkpoint_info *info,
                        char *err, size_t err_len) {
    m4i_errbuf e = {err, err_len, path ? path : "(null)"};
    if (err && err_len) err[0] = 0;
    if (out) *out = NULL;
    if (!path) return m4i_fail(&e, M4_ERR_INVALID_ARGUMENT, "no path");
    const unsigned char *b;
    size_t len;
    void *token;
    m4_status st = m4i_read_file(path, &b, &len, &token, &e);
    if (st != M4_OK) return st;
    st = load(out, b, len, max_batch, info, &e);
    m4i_release_file(b, len, token);
    return st;
}
