/*
 * dynamics_checkpoint.c: the dynamics model's checkpoints (m4.h, "Dynamics
 * checkpoints"; docs/dynamics.md) read in C: m4_dyn_load.
 *
 * The safetensors layer (header, tensor table, checksum, values) is
 * safetensors.c's, shared with the path model's reader; this file knows
 * what an "m4-dynamics" file's metadata mean and which tensors it holds: the
 * model's own (m4_dyn_tensor: names, shapes, order) and, in a resumable
 * checkpoint, AdamW's two moments of each. Nothing else is allowed.
 */
#include "m4.h"
#include "safetensors_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DYN_FORMAT "m4-dynamics"
#define PREFIX_AVG "optim.exp_avg."
#define PREFIX_AVG_SQ "optim.exp_avg_sq."

/* read_config reads the metadata dyn_config (JSON) into c. */
static m4_status read_config(m4i_errbuf *e, const char *text, size_t len, m4_dyn_config *c) {
    m4i_json p;
    memset(c, 0, sizeof *c);
    static const char *const known[] = {"hidden",   "gnn_width", "gnn_layers",       "mlp_hidden", "ln_eps",
                                        "w_remain", "w_queue",   "queue_norm_bytes", "n_params",   "prior",
                                        "w_every",  NULL};
    m4_status st = M4_OK;
    int root = m4i_json_object(e, &p, text, len, "dyn_config", known);
    if (root < 0) {
        st = M4_ERR_FORMAT;
        goto done;
    }
    static const char *const ints[] = {"hidden", "gnn_width", "gnn_layers", "mlp_hidden", "n_params", "prior"};
    int *id[] = {&c->hidden, &c->gnn_width, &c->gnn_layers, &c->mlp_hidden, &c->n_params, &c->prior};
    for (int i = 0; i < 6; i++) {
        int k = m4i_json_get(&p, root, ints[i]);
        long long v;
        if (k < 0) continue; /* absent: 0, which the range check refuses where 0 is wrong */
        if (m4i_json_int(&p, k, -(1LL << 30), 1LL << 30, &v)) {
            st = m4i_fail(e, M4_ERR_FORMAT, "metadata dyn_config: %s is not an integer", ints[i]);
            goto done;
        }
        *id[i] = (int)v;
    }
    static const char *const fl[] = {"ln_eps", "w_remain", "w_queue", "queue_norm_bytes", "w_every"};
    float *fd[] = {&c->ln_eps, &c->w_remain, &c->w_queue, &c->queue_norm_bytes, &c->w_every};
    for (int i = 0; i < 5; i++) {
        int k = m4i_json_get(&p, root, fl[i]);
        double v;
        if (k < 0) continue;
        if (m4i_json_num(&p, k, 1, &v)) {
            st = m4i_fail(e, M4_ERR_FORMAT, "metadata dyn_config: %s is not a finite float32", fl[i]);
            goto done;
        }
        *fd[i] = (float)v;
    }
    char msg[128];
    if (m4_dyn_config_check(c, msg, sizeof msg) != M4_OK)
        st = m4i_fail(e, M4_ERR_FORMAT, "metadata dyn_config: %s", msg);
done:
    m4i_json_free(&p);
    return st;
}

/* read_dyn_ranges reads the training record's ranges (node k of q; Go's
 * dynamics.Ranges: config, hosts, link_gbps) into ci; absent: none. */
static m4_status read_dyn_ranges(m4i_errbuf *e, const m4i_json *q, int k, m4_dyn_checkpoint_info *ci) {
    m4_status st = m4i_read_ranges(e, q, -1, "ranges.config", &ci->ranges);
    if (st != M4_OK || k < 0 || q->nodes[k].type == J_NULL) return st;
    if (q->nodes[k].type != J_OBJ) return m4i_fail(e, M4_ERR_FORMAT, "metadata training: ranges is not an object");
    if ((st = m4i_read_ranges(e, q, m4i_json_get(q, k, "config"), "ranges.config", &ci->ranges)) != M4_OK)
        return st;
    ci->ranges.has = 1;
    int kh = m4i_json_get(q, k, "hosts");
    long long lo, hi;
    if (kh < 0 || q->nodes[kh].type != J_ARR || q->nodes[kh].n != 2 ||
        m4i_json_int(q, q->nodes[kh].first, 0, 1LL << 30, &lo) ||
        m4i_json_int(q, q->nodes[q->nodes[kh].first].next, 0, 1LL << 30, &hi) || lo > hi)
        return m4i_fail(e, M4_ERR_FORMAT, "metadata training: ranges.hosts is not [lo, hi]");
    ci->hosts[0] = (int)lo, ci->hosts[1] = (int)hi;
    int kl = m4i_json_get(q, k, "link_gbps");
    if (kl < 0 || q->nodes[kl].type == J_NULL) return M4_OK;
    if (q->nodes[kl].type != J_ARR || q->nodes[kl].n > M4_DYN_MAX_RATES)
        return m4i_fail(e, M4_ERR_FORMAT, "metadata training: ranges.link_gbps is not an array of at most %d rates",
                        M4_DYN_MAX_RATES);
    for (int c = q->nodes[kl].first; c >= 0; c = q->nodes[c].next) {
        double g;
        if (m4i_json_num(q, c, 0, &g) || !(g > 0) || (ci->n_link_gbps > 0 && g <= ci->link_gbps[ci->n_link_gbps - 1]))
            return m4i_fail(e, M4_ERR_FORMAT, "metadata training: ranges.link_gbps holds a rate that is not positive "
                                              "and ascending");
        ci->link_gbps[ci->n_link_gbps++] = g;
    }
    return M4_OK;
}

/* read_training checks that the metadata training is a JSON object, reads
 * its trained ranges into ci and keeps a copy of its text in ci->training. */
static m4_status read_training(m4i_errbuf *e, const m4i_jnode *n, m4_dyn_checkpoint_info *ci) {
    m4i_json q;
    int r = m4i_json_parse(&q, n->str, n->str_len);
    int ok = r >= 0 && q.nodes[r].type == J_OBJ;
    m4_status st = M4_OK;
    if (!ok) st = m4i_fail(e, M4_ERR_FORMAT, "metadata training: %s", r < 0 ? q.err : "not a JSON object");
    else st = read_dyn_ranges(e, &q, m4i_json_get(&q, r, "ranges"), ci);
    m4i_json_free(&q);
    if (st != M4_OK) return st;
    ci->training = malloc(n->str_len + 1);
    if (!ci->training) return m4i_fail(e, M4_ERR_NO_MEMORY, "out of memory");
    memcpy(ci->training, n->str, n->str_len);
    ci->training[n->str_len] = 0;
    return M4_OK;
}

static m4_status load(m4_dyn **out, const unsigned char *b, size_t len, int training,
                      m4_dyn_checkpoint_info *info, m4i_errbuf *e) {
    static const char *const meta_keys[] = {"format", "format_version", "dyn_config", "training", "data_sha256",
                                            NULL};
    m4i_st_file f;
    m4_dyn_checkpoint_info ci;
    memset(&ci, 0, sizeof ci);
    m4_dyn *m = NULL;
    float *params = NULL, *mom1 = NULL, *mom2 = NULL;
    m4_status st = m4i_st_header(&f, b, len, DYN_FORMAT, "an m4 dynamics checkpoint", meta_keys, e);
    if (st != M4_OK) goto done;
    const m4i_json *p = &f.p;
    int kc = m4i_json_get(p, f.meta, "dyn_config");
    if (kc < 0) {
        st = m4i_fail(e, M4_ERR_FORMAT, "metadata dyn_config: missing");
        goto done;
    }
    if ((st = read_config(e, p->nodes[kc].str, p->nodes[kc].str_len, &ci.config)) != M4_OK) goto done;
    int kt = m4i_json_get(p, f.meta, "training");
    if (kt < 0) {
        st = m4i_fail(e, M4_ERR_FORMAT, "metadata training: missing");
        goto done;
    }
    if ((st = read_training(e, &p->nodes[kt], &ci)) != M4_OK) goto done;
    if ((st = m4i_st_tensors(&f, 1, NULL, e)) != M4_OK) goto done;

    /* the parameters must fit in what the file holds (F32) before anything
     * is allocated for them */
    size_t np = m4i_dyn_count_params(&ci.config);
    if (np > f.data_len / 4) {
        st = m4i_fail(e, M4_ERR_FORMAT, "metadata dyn_config: a model of %zu parameters cannot fit the file's %zu data bytes",
                      np, f.data_len);
        goto done;
    }
    m4_status cs = m4_dyn_create(&m, &ci.config, training);
    if (cs != M4_OK) {
        st = m4i_fail(e, cs, "creating the model: %s", m4_strerror(cs));
        goto done;
    }
    int nt = m4_dyn_num_tensors(m);
    m4_tensor_info t0;
    m4_dyn_tensor(m, 0, &t0);
    char nm[160];
    snprintf(nm, sizeof nm, PREFIX_AVG "%s", t0.name);
    ci.has_optimizer_state = m4i_st_find(&f, nm) != NULL;
    int kinds = ci.has_optimizer_state ? 3 : 1;
    static const char *const prefix[3] = {"", PREFIX_AVG, PREFIX_AVG_SQ};
    /* mark every entry the model reads; any other is unknown */
    for (int t = 0; t < nt; t++) {
        m4_tensor_info ti;
        m4_dyn_tensor(m, t, &ti);
        for (int k = 0; k < kinds; k++) {
            snprintf(nm, sizeof nm, "%s%s", prefix[k], ti.name);
            m4i_st_entry *en = m4i_st_find(&f, nm);
            if (en) en->used = 1;
        }
    }
    for (int i = 0; i < f.ne; i++)
        if (!f.es[i].used) {
            st = m4i_fail(e, M4_ERR_FORMAT, "tensor %.80s: unknown to a dynamics model of this config", f.es[i].name);
            goto done;
        }
    params = malloc(np * sizeof(float));
    int keep = ci.has_optimizer_state && training;
    if (keep) {
        mom1 = malloc(np * sizeof(float));
        mom2 = malloc(np * sizeof(float));
    }
    if (!params || (keep && (!mom1 || !mom2))) {
        st = m4i_fail(e, M4_ERR_NO_MEMORY, "out of memory for %zu parameters", np);
        goto done;
    }
    for (int k = 0; k < kinds; k++) {
        float *dst = k == 0 ? params : !keep ? NULL : k == 1 ? mom1 : mom2;
        for (int t = 0; t < nt; t++) {
            m4_tensor_info ti;
            m4_dyn_tensor(m, t, &ti);
            snprintf(nm, sizeof nm, "%s%s", prefix[k], ti.name);
            if ((st = m4i_st_read_tensor(e, &f, m4i_st_find(&f, nm), nm, ti.ndim, ti.shape, ti.size, 0,
                                         dst ? dst + ti.offset : NULL)) != M4_OK)
                goto done;
        }
    }
    if ((cs = m4_dyn_set_params(m, params, np)) != M4_OK ||
        (keep && (cs = m4_dyn_set_adam(m, mom1, mom2, np)) != M4_OK)) {
        st = m4i_fail(e, cs == M4_ERR_NO_MEMORY ? cs : M4_ERR_FORMAT, "%s", m4_dyn_error(m));
        goto done;
    }
    if (out) {
        *out = m;
        m = NULL;
    }
    if (info) {
        *info = ci;
        ci.training = NULL;
    }
done:
    m4i_st_free(&f);
    free(params);
    free(mom1);
    free(mom2);
    free(ci.training);
    m4_dyn_destroy(m);
    return st;
}

static void start(m4_dyn **out, m4_dyn_checkpoint_info *info, char *err, size_t err_len) {
    if (err && err_len) err[0] = 0;
    if (out) *out = NULL;
    if (info) memset(info, 0, sizeof *info);
}

m4_status m4_dyn_load_buffer(m4_dyn **out, const void *data, size_t len, const char *name, int training,
                             m4_dyn_checkpoint_info *info, char *err, size_t err_len) {
    m4i_errbuf e = {err, err_len, name ? name : "checkpoint"};
    start(out, info, err, err_len);
    if (!data && len > 0) return m4i_fail(&e, M4_ERR_INVALID_ARGUMENT, "NULL data");
    return load(out, data ? data : "", len, training, info, &e);
}

m4_status m4_dyn_load(m4_dyn **out, const char *path, int training, m4_dyn_checkpoint_info *info, char *err,
                      size_t err_len) {
    m4i_errbuf e = {err, err_len, path ? path : "(null)"};
    start(out, info, err, err_len);
    if (!path) return m4i_fail(&e, M4_ERR_INVALID_ARGUMENT, "no path");
    const unsigned char *b;
    size_t len;
    void *token;
    m4_status st = m4i_read_file(path, &b, &len, &token, &e);
    if (st != M4_OK) return st;
    st = load(out, b, len, training, info, &e);
    m4i_release_file(b, len, token);
    return st;
}

void m4_dyn_checkpoint_info_free(m4_dyn_checkpoint_info *info) {
    if (!info) return;
    free(info->training);
    memset(info, 0, sizeof *info);
}

int m4_dyn_check_workload(const m4_dyn_checkpoint_info *info, const m4_cc_config *cfg, int hosts,
                          const double *link_gbps, size_t n_links, char *report, size_t len) {
    if (!info || !cfg || (!link_gbps && n_links > 0)) return -1;
    int n = m4_check_config(&info->ranges, cfg, 1, report, len);
    if (n < 0 || !info->ranges.has) return n;
    size_t used = report && len ? strlen(report) : 0;
#define NOTE(...) (n++, m4i_note(report, len, &used, __VA_ARGS__))
    if (hosts < info->hosts[0] || hosts > info->hosts[1])
        NOTE("hosts = %d is outside the trained range [%d, %d]\n", hosts, info->hosts[0], info->hosts[1]);
    double told[16]; /* unseen rates already reported (a few; more are reported again) */
    int n_told = 0;
    for (size_t i = 0; i < n_links; i++) {
        int known = 0;
        for (int j = 0; j < info->n_link_gbps; j++) known |= link_gbps[i] == info->link_gbps[j];
        for (int j = 0; j < n_told; j++) known |= link_gbps[i] == told[j];
        if (known) continue;
        if (n_told < 16) told[n_told++] = link_gbps[i];
        NOTE("link rate = %g Gbps was never trained on\n", link_gbps[i]);
    }
#undef NOTE
    return n;
}
