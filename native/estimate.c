/*
 * estimate.c: the estimate of a path scenario end to end, for callers of
 * libm4: flowsim -> feature map -> model (m4_estimate_path). It does what m4's
 * Go pipeline does for `m4 predict` (pipeline/features.BuildInput,
 * pipeline/model.EmptyBuckets, Estimator.Predict), through the same C code.
 */
#include "m4.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 4, 5))) static m4_status efail(char *err, size_t err_len, m4_status st,
                                                             const char *fmt, ...) {
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return st;
}

int m4_slowdowns_valid(float *v, int n_buckets, int n_pct) {
    if (!v || n_buckets < 1 || n_pct < 1) return -1;
    size_t n = (size_t)n_buckets * (size_t)n_pct;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return -1;
    int changed = 0;
    for (int b = 0; b < n_buckets; b++) {
        float *p = v + (size_t)b * (size_t)n_pct;
        for (int k = 0; k < n_pct; k++)
            if (p[k] < 1) {
                p[k] = 1;
                changed++;
            }
        /* insertion sort: the model's percentiles are nearly sorted */
        for (int k = 1; k < n_pct; k++) {
            float x = p[k];
            int j = k;
            while (j > 0 && p[j - 1] > x) {
                p[j] = p[j - 1];
                j--;
            }
            if (j != k) {
                p[j] = x;
                changed += k - j;
            }
        }
    }
    return changed;
}

int m4_slowdowns_calibrate(float *v, int n_buckets, int n_pct, const float *levels) {
    if (!v || !levels || n_buckets < 1 || n_pct < 1 || n_pct > 4096) return -1;
    float curve[4096];
    for (int b = 0; b < n_buckets; b++) {
        float *p = v + (size_t)b * (size_t)n_pct;
        const float *lv = levels + (size_t)b * (size_t)n_pct;
        memcpy(curve, p, sizeof(float) * (size_t)n_pct);
        for (int k = 0; k < n_pct; k++) {
            /* the curve's point j sits at level (j + 1/2) / n_pct; flat beyond the ends */
            double x = (double)lv[k] * n_pct - 0.5;
            if (!(x > 0)) p[k] = curve[0];
            else if (x >= n_pct - 1) p[k] = curve[n_pct - 1];
            else {
                int j = (int)x;
                double f = x - j;
                p[k] = (float)((1 - f) * curve[j] + f * curve[j + 1]);
            }
        }
    }
    return 0;
}

m4_status m4_estimate_path(m4_model *m, const m4_path_scenario *sc, float *out, char *err,
                           size_t err_len) {
    if (err && err_len) err[0] = 0;
    if (!m || !sc || !out) return efail(err, err_len, M4_ERR_INVALID_ARGUMENT, "NULL model, scenario or output");
    m4_model_config c;
    m4_model_get_config(m, &c);
    if (c.feat_dim != M4_FEAT_ROW || c.n_buckets_in != M4_FEAT_BUCKETS || c.n_pct != M4_FEAT_PERCENTILES ||
        c.out_dim != M4_FEAT_OUTPUTS)
        return efail(err, err_len, M4_ERR_UNSUPPORTED,
                     "the model reads rows of %d values into %d outputs, not m3-path-v1 feature maps (%d, %d)",
                     c.feat_dim, c.out_dim, M4_FEAT_ROW, M4_FEAT_OUTPUTS);
    const int H = sc->n_hosts;
    if (H < 2 || H > c.max_seq + 1)
        return efail(err, err_len, M4_ERR_INVALID_ARGUMENT, "%d hosts: the model reads paths of 2 to %d hosts", H,
                     c.max_seq + 1);
    const size_t n = sc->n_flows;
    if (n == 0)
        return efail(err, err_len, M4_ERR_INVALID_ARGUMENT, "no flows: an empty scenario has nothing to estimate");
    if (n > UINT32_MAX)
        return efail(err, err_len, M4_ERR_INVALID_ARGUMENT, "%zu flows: at most %u in one scenario", n, UINT32_MAX);
    if (!sc->params || !sc->arrival_ns || !sc->size_bytes || !sc->src || !sc->dst)
        return efail(err, err_len, M4_ERR_INVALID_ARGUMENT, "a required array of the scenario is NULL");
    if (m4_features_foreground(H, n, sc->src, sc->dst) == 0)
        return efail(err, err_len, M4_ERR_INVALID_INPUT,
                     "no foreground flows (host 0 -> %d): the estimate is of their slowdowns, and there are none", H - 1);

    m4_status st;
    m4_flowsim *sim = NULL;
    m4_features *feat = NULL;
    double *fct = malloc(n * sizeof(double));
    float *res = malloc((size_t)H * M4_FEAT_ROW * sizeof(float));
    int64_t *counts = malloc((size_t)H * M4_FEAT_BUCKETS * sizeof(int64_t));
    uint8_t *empty = malloc((size_t)H * M4_FEAT_BUCKETS);
    if (!fct || !res || !counts || !empty) {
        st = efail(err, err_len, M4_ERR_NO_MEMORY, "out of memory for %zu flows", n);
        goto done;
    }
    m4_path_config pc;
    m4_path_config_default(&pc, H);
    if ((st = m4_flowsim_create(&sim, &pc)) != M4_OK) {
        efail(err, err_len, st, "flowsim: %s", m4_strerror(st));
        goto done;
    }
    if ((st = m4_flowsim_run(sim, n, sc->arrival_ns, sc->size_bytes, sc->src, sc->dst, fct)) != M4_OK) {
        efail(err, err_len, st, "flowsim: %s", st == M4_ERR_INVALID_INPUT ? m4_flowsim_error(sim, NULL, NULL) : m4_strerror(st));
        goto done;
    }
    if ((st = m4_features_create(&feat)) != M4_OK) {
        efail(err, err_len, st, "features: %s", m4_strerror(st));
        goto done;
    }
    if ((st = m4_features_build(feat, H, n, sc->size_bytes, sc->src, sc->dst, fct, sc->params, res, NULL,
                                counts)) != M4_OK) {
        efail(err, err_len, st, "features: %s", m4_features_error(feat, NULL, NULL));
        goto done;
    }
    m4_features_empty_counts((size_t)H * M4_FEAT_BUCKETS, counts, empty);
    int32_t rows = H;
    if ((st = m4_model_forward(m, 1, &rows, res, empty, 0, 0, out)) != M4_OK) {
        efail(err, err_len, st, "model: %s", m4_model_error(m));
        goto done;
    }
    if (m4_slowdowns_valid(out, M4_FEAT_OUTPUTS / M4_FEAT_PERCENTILES, M4_FEAT_PERCENTILES) < 0) {
        st = efail(err, err_len, M4_ERR_INVALID_INPUT, "model: an estimate is NaN or Inf");
        goto done;
    }
    const float *levels = m4_model_calibration(m);
    if (levels) m4_slowdowns_calibrate(out, M4_FEAT_OUTPUTS / M4_FEAT_PERCENTILES, M4_FEAT_PERCENTILES, levels);
done:
    m4_flowsim_destroy(sim);
    m4_features_destroy(feat);
    free(fct);
    free(res);
    free(counts);
    free(empty);
    return st;
}
