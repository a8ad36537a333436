/*
 * features.c: m3's input feature map of a parking-lot path scenario (the
 * model's input), after m3's util/dataset.py and util/consts.py.
 *
 *   slowdown of flow i   (fct_i + d_i) / (ideal_i + d_i), clipped below at 1;
 *                        ideal = wire bytes * 8 / 10 Gbit/s, wire bytes = size
 *                        + ceil(size/1000)*48, d = m3's base delay (base_delay)
 *   rows                 row 0: the foreground flows (host 0 -> H-1); row 1+l:
 *                        the other flows crossing link l left to right. A flow
 *                        from a higher to a lower host is in no row, as in m3.
 *   cells                per row, 10 size buckets (numpy.digitize on 250, 500,
 *                        750, 1000, 2000, 5000, 7500, 10000, 50000 bytes)
 *   res (H, 1019) f32    per cell the slowdown percentiles 1..100 by numpy's
 *                        'nearest' method (sorted[rint((n-1) * p/100)], ties
 *                        to even); an empty cell is zeros; then the 19
 *                        parameters (m4_features_params)
 *   num_flows_per_cell   (H, 1000) f64: count / (1 + flows in the row), the
 *                        count first rounded to float32 as m3's code does
 *
 * Arithmetic follows m3's numpy expressions operation by operation, so that
 * the values round the same way: the result equals the feat_*.npz m3 wrote
 * for every reference scenario (pipeline/features/reference_test.go).
 */
#include "m4.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MTU_BYTES 1000.0
#define HEADER_BYTES 48.0
#define LINK_GBPS 10.0    /* the bottleneck (host) link, bit/ns */
#define PROP_DELAY_NS 1000.0 /* DELAY_PROPAGATION_BASE, per link */
#define MAX_HOSTS 4096

static const double input_edges[M4_FEAT_BUCKETS - 1] = {250,  500,  750,   1000, 2000,
                                                       5000, 7500, 10000, 50000};

struct m4_features {
    size_t cap_flows;  /* capacity of the per-flow arrays */
    double *sldn;      /* per flow: slowdown */
    int *bucket;       /* per flow: input size bucket */
    size_t cap_vals;
    double *vals;      /* slowdowns grouped by cell (row-major row, bucket) */
    size_t cap_cells;
    size_t *start;     /* cells + 1 offsets into vals */
    size_t *fill;      /* scratch fill positions */
    size_t *cnt;       /* flows of each cell */
    size_t *ones;      /* of which with slowdown exactly 1 (not stored in vals) */
    char err[256];
    const char *err_field;
    size_t err_index;
};

m4_status m4_features_create(m4_features **out) {
    if (!out) return M4_ERR_INVALID_ARGUMENT;
    *out = calloc(1, sizeof(m4_features));
    return *out ? M4_OK : M4_ERR_NO_MEMORY;
}

void m4_features_destroy(m4_features *f) {
    if (!f) return;
    free(f->sldn);
    free(f->bucket);
    free(f->vals);
    free(f->start);
    free(f->fill);
    free(f->cnt);
    free(f->ones);
    free(f);
}

const char *m4_features_error(const m4_features *f, const char **field, size_t *index) {
    if (field) *field = f ? f->err_field : NULL;
    if (index) *index = f ? f->err_index : 0;
    return f ? f->err : "";
}

__attribute__((format(printf, 5, 6))) static m4_status fail(m4_features *f, m4_status st,
                                                            const char *field, size_t index,
                                                            const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->err, sizeof f->err, fmt, ap);
    va_end(ap);
    f->err_field = field;
    f->err_index = index;
    return st;
}

int m4_features_input_bucket(double size_bytes) {
    int i = 0;
    while (i < M4_FEAT_BUCKETS - 1 && input_edges[i] <= size_bytes) i++;
    return i;
}

/* hop_delay_ns is m3's LINK_TO_DELAY_DICT: 1 us * max(0, min(i-1, H-2-i)). */
static double hop_delay_ns(int hosts, int host) {
    long long a = (long long)host - 1, b = (long long)hosts - 2 - host; /* no overflow for any ints */
    long long d = a < b ? a : b;
    return PROP_DELAY_NS * (double)(d < 0 ? 0 : d);
}

double m4_features_base_delay_ns(int hosts, int src, int dst, double size_bytes) {
    long long last = (long long)hosts - 1;
    double target = (src == 0 && dst == last) ? 1.0 : 0.0;
    double internal = (src != 0 && dst != last) ? 1.0 : 0.0;
    long long hops = dst > src ? (long long)dst - src : (long long)src - dst;
    double links = (double)hops + (1.0 - target) + internal;
    double head = size_bytes < 0 ? 0 : size_bytes;
    if (head > MTU_BYTES) head = MTU_BYTES;
    double pkt = (head + HEADER_BYTES) * 8.0;
    /* m3's numpy expression, in its order of operations */
    double tx = pkt / LINK_GBPS * target + pkt / (LINK_GBPS * 4) * (links - 2) -
                pkt / LINK_GBPS * internal;
    return PROP_DELAY_NS * links + tx + (hop_delay_ns(hosts, src) + hop_delay_ns(hosts, dst));
}

double m4_features_ideal_ns(double size_bytes) {
    return (size_bytes + ceil(size_bytes / MTU_BYTES) * HEADER_BYTES) * 8.0 / LINK_GBPS;
}

/* ------------------------------------------------------------------------ */
/* sorting: introsort on doubles (quicksort, heapsort past a depth limit,    */
/* insertion sort on short ranges). Equal values are interchangeable, so     */
/* the result is the same sorted array any sort gives.                      */
/* ------------------------------------------------------------------------ */

static void insertion_sort(double *a, size_t n) {
    for (size_t i = 1; i < n; i++) {
        double v = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

static void sift_down(double *a, size_t root, size_t n) {
    for (;;) {
        size_t c = 2 * root + 1;
        if (c >= n) return;
        if (c + 1 < n && a[c + 1] > a[c]) c++;
        if (!(a[c] > a[root])) return;
        double t = a[c];
        a[c] = a[root];
        a[root] = t;
        root = c;
    }
}

static void heap_sort(double *a, size_t n) {
    for (size_t i = n / 2; i-- > 0;) sift_down(a, i, n);
    for (size_t end = n; end-- > 1;) {
        double t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
}

static void intro_sort(double *a, size_t n, int depth) {
    while (n > 24) {
        if (depth-- == 0) {
            heap_sort(a, n);
            return;
        }
        /* median of three as the pivot, then Hoare partition */
        size_t mid = n / 2;
        double x = a[0], y = a[mid], z = a[n - 1];
        double p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        size_t i = 0, j = n - 1;
        for (;;) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i >= j) break;
            double t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        /* [0, j] <= p <= [j+1, n): recurse on the smaller side */
        size_t left = j + 1, right = n - left;
        if (left < right) {
            intro_sort(a, left, depth);
            a += left;
            n = right;
        } else {
            intro_sort(a + left, right, depth);
            n = left;
        }
    }
    insertion_sort(a, n);
}

static void sort_doubles(double *a, size_t n) {
    int depth = 0;
    for (size_t k = n; k > 1; k >>= 1) depth += 2;
    intro_sort(a, n, depth);
}

void m4_features_percentiles(const double *sorted, size_t n, double *out) {
    if (!sorted || !out || n == 0) return; /* nothing to take percentiles of */
    double n1 = (double)(n - 1);
    for (int k = 0; k < M4_FEAT_PERCENTILES; k++) {
        double q = (double)(k + 1) / 100.0;
        out[k] = sorted[(size_t)rint(n1 * q)];
    }
}

m4_status m4_features_empty_buckets(size_t n_buckets, int n_pct, const double *num_flows_per_cell,
                                    uint8_t *empty) {
    if (!num_flows_per_cell || !empty || n_pct < 1) return M4_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < n_buckets; i++) {
        const double *v = num_flows_per_cell + i * (size_t)n_pct;
        double s = 0;
        for (int k = 0; k < n_pct; k++) s += v[k];
        empty[i] = s / n_pct < 1e-12;
    }
    return M4_OK;
}

m4_status m4_features_empty_counts(size_t n_buckets, const int64_t *counts, uint8_t *empty) {
    if (!counts || !empty) return M4_ERR_INVALID_ARGUMENT;
    /* a bucket's shares are count / (1 + the row's flows): their mean is
     * below 1e-12 exactly when the count is 0 (m4_features_empty_buckets) */
    for (size_t i = 0; i < n_buckets; i++) empty[i] = counts[i] == 0;
    return M4_OK;
}

/* ------------------------------------------------------------------------ */
/* parameters                                                               */
/* ------------------------------------------------------------------------ */

m4_status m4_features_params(int n_hosts, const double *vec15, double *out19) {
    if (!vec15 || !out19) return M4_ERR_INVALID_ARGUMENT;
    for (int i = 0; i < 15; i++)
        if (!isfinite(vec15[i])) return M4_ERR_INVALID_INPUT;
    double bdp;
    switch (n_hosts) {
    case 3: bdp = 5; break;
    case 5: bdp = 10; break;
    case 7: bdp = 15; break;
    default: return M4_ERR_UNSUPPORTED; /* m3 defines the encoding for 3, 5, 7 hosts */
    }
    memset(out19, 0, M4_FEAT_PARAMS * sizeof(double));
    out19[n_hosts / 2 - 1] = 1;
    out19[3] = bdp;
    out19[4] = vec15[1];
    out19[5] = vec15[2];
    out19[6] = vec15[3];
    out19[7] = vec15[3] == 1 ? 0 : 1;
    for (int i = 4; i < 15; i++) out19[i + 4] = vec15[i];
    return M4_OK;
}

/* log2 of a positive parameter, 0 for a parameter of a CC not in use */
static double lg(double x) { return x > 0 ? log2(x) : 0; }

m4_status m4_features_params_v2(int n_hosts, int network, const double *vec15, double *out19) {
    if (!vec15 || !out19) return M4_ERR_INVALID_ARGUMENT;
    for (int i = 0; i < 15; i++)
        if (!isfinite(vec15[i]) || (i > 0 && vec15[i] < 0)) return M4_ERR_INVALID_INPUT;
    if (n_hosts != 3 && n_hosts != 5 && n_hosts != 7) return M4_ERR_UNSUPPORTED;
    if (vec15[1] <= 0 || vec15[2] <= 0) return M4_ERR_INVALID_INPUT; /* buffer, window */
    memset(out19, 0, M4_FEAT_PARAMS * sizeof(double));
    out19[n_hosts / 2 - 1] = 1;
    out19[3] = network ? 1 : 0;
    out19[4] = log2(vec15[1] * 10);   /* buffer, KB */
    out19[5] = log2(vec15[2] * 1000); /* window, bytes */
    out19[6] = vec15[3];
    out19[7] = vec15[3] == 1 ? 0 : 1;
    for (int i = 4; i < 8; i++) out19[i + 4] = vec15[i]; /* CC one-hot */
    out19[12] = lg(vec15[8]);                          /* DCTCP K, KB */
    out19[13] = lg(vec15[9]);                          /* DCQCN Kmin */
    out19[14] = lg(vec15[10]);                         /* DCQCN Kmax */
    out19[15] = vec15[11];                             /* HPCC eta x 100 */
    out19[16] = lg(vec15[12] * 10);                    /* HPCC AI, Mb/s */
    out19[17] = vec15[13];                             /* TIMELY T_low, us */
    out19[18] = vec15[14];                             /* TIMELY T_high, us */
    return M4_OK;
}

m4_status m4_features_params_v3(int n_hosts, int network, long foreground, const double *vec15, double *out19) {
    if (foreground < 0) return M4_ERR_INVALID_INPUT;
    m4_status st = m4_features_params_v2(n_hosts, network, vec15, out19);
    if (st != M4_OK) return st;
    out19[7] = log2(1 + (double)foreground); /* 1-pfc in v2: pfc says it */
    return M4_OK;
}

long m4_features_foreground(int n_hosts, size_t n, const int32_t *src, const int32_t *dst) {
    long c = 0;
    if (!src || !dst) return 0;
    for (size_t i = 0; i < n; i++) c += src[i] == 0 && dst[i] == n_hosts - 1;
    return c;
}

m4_status m4_features_params_for(const char *features, int n_hosts, int network, long foreground,
                                 const double *vec15, double *out19) {
    if (!features) return M4_ERR_INVALID_ARGUMENT;
    if (strcmp(features, M4_FEATURES_V1) == 0) return m4_features_params(n_hosts, vec15, out19);
    if (strcmp(features, M4_FEATURES_V2) == 0) return m4_features_params_v2(n_hosts, network, vec15, out19);
    if (strcmp(features, M4_FEATURES_V3) == 0)
        return m4_features_params_v3(n_hosts, network, foreground, vec15, out19);
    return M4_ERR_UNSUPPORTED;
}

m4_status m4_cc_config_vector(const m4_cc_config *c, double *vec15) {
    if (!c || !vec15) return M4_ERR_INVALID_ARGUMENT;
    memset(vec15, 0, 15 * sizeof(double));
    vec15[0] = c->sample;
    vec15[1] = (double)c->buffer_kb / 10;
    vec15[2] = (double)c->window_bytes / 1000;
    vec15[3] = c->pfc ? 1 : 0;
    switch (c->cc) {
    case M4_CC_DCTCP:
        vec15[4] = 1;
        vec15[8] = c->dctcp_k;
        break;
    case M4_CC_DCQCN:
        vec15[5] = 1;
        vec15[9] = c->dcqcn_kmin;
        vec15[10] = c->dcqcn_kmax;
        break;
    case M4_CC_HPCC:
        vec15[6] = 1;
        vec15[11] = c->hpcc_u_target / 0.01;
        vec15[12] = (double)c->hpcc_ai / 10;
        break;
    case M4_CC_TIMELY:
        vec15[7] = 1;
        vec15[13] = (double)c->timely_t_low_ns / 1000;
        vec15[14] = (double)c->timely_t_high_ns / 1000;
        break;
    default: return M4_ERR_INVALID_ARGUMENT;
    }
    return M4_OK;
}

/* ------------------------------------------------------------------------ */
/* the input map                                                            */
/* ------------------------------------------------------------------------ */

/* slowdowns checks every flow and writes its input-side slowdown to out. */
static m4_status slowdowns(m4_features *f, int H, size_t n, const double *size_bytes,
                           const int32_t *src, const int32_t *dst, const double *fct_ns,
                           double *out) {
    for (size_t i = 0; i < n; i++) {
        double sz = size_bytes[i], fct = fct_ns[i];
        int s = src[i], d = dst[i];
        if (!isfinite(sz) || !(sz > 0))
            return fail(f, M4_ERR_INVALID_INPUT, "size_bytes", i,
                        "size of flow %zu is %g: must be a finite number of bytes > 0", i, sz);
        if (s < 0 || s >= H)
            return fail(f, M4_ERR_INVALID_INPUT, "src", i,
                        "src of flow %zu is host %d, outside the %d-host path", i, s, H);
        if (d < 0 || d >= H)
            return fail(f, M4_ERR_INVALID_INPUT, "dst", i,
                        "dst of flow %zu is host %d, outside the %d-host path", i, d, H);
        if (s == d)
            return fail(f, M4_ERR_INVALID_INPUT, "dst", i, "flow %zu has src == dst == %d", i, s);
        if (!isfinite(fct) || fct < 0)
            return fail(f, M4_ERR_INVALID_INPUT, "fct_ns", i,
                        "flowsim FCT of flow %zu is %g, want a finite time >= 0", i, fct);
        double dl = m4_features_base_delay_ns(H, s, d, sz);
        double sl = (fct + dl) / (m4_features_ideal_ns(sz) + dl);
        out[i] = sl > 1 ? sl : 1; /* never NaN: dl > 0 */
    }
    return M4_OK;
}

static void clear_error(m4_features *f) {
    f->err[0] = 0;
    f->err_field = NULL;
    f->err_index = 0;
}

m4_status m4_features_slowdowns(m4_features *f, int n_hosts, size_t n, const double *size_bytes,
                                const int32_t *src, const int32_t *dst, const double *fct_ns,
                                double *out) {
    if (!f) return M4_ERR_INVALID_ARGUMENT;
    clear_error(f);
    if (n_hosts < 2 || n_hosts > MAX_HOSTS)
        return fail(f, M4_ERR_INVALID_ARGUMENT, NULL, 0, "%d hosts, want 2..%d", n_hosts, MAX_HOSTS);
    if (n == 0) return fail(f, M4_ERR_INVALID_ARGUMENT, NULL, 0, "no flows: an empty scenario has no slowdowns");
    if (n > UINT32_MAX) return fail(f, M4_ERR_INVALID_ARGUMENT, NULL, 0, "%zu flows: at most %u", n, UINT32_MAX);
    if (!size_bytes || !src || !dst || !fct_ns || !out)
        return fail(f, M4_ERR_INVALID_ARGUMENT, NULL, 0, "a required array is NULL");
    return slowdowns(f, n_hosts, n, size_bytes, src, dst, fct_ns, out);
}

/* reserve makes room for n flows and the given cell and membership counts. */
static int reserve(m4_features *f, size_t n, size_t cells) {
    if (n > f->cap_flows || !f->sldn) {
        size_t c = n + n / 2 + 16;
        if (c > ((size_t)-1) / sizeof(double)) return 0;
        double *s = malloc(c * sizeof(double));
        int *b = malloc(c * sizeof(int));
        if (!s || !b) {
            free(s);
            free(b);
            return 0;
        }
        free(f->sldn);
        free(f->bucket);
        f->sldn = s;
        f->bucket = b;
        f->cap_flows = c;
    }
    if (cells + 1 > f->cap_cells || !f->start) {
        size_t c = cells + 1;
        size_t *s = malloc(c * sizeof(size_t)), *w = malloc(c * sizeof(size_t));
        size_t *k = malloc(c * sizeof(size_t)), *o = malloc(c * sizeof(size_t));
        if (!s || !w || !k || !o) {
            free(s);
            free(w);
            free(k);
            free(o);
            return 0;
        }
        free(f->start);
        free(f->fill);
        free(f->cnt);
        free(f->ones);
        f->start = s;
        f->fill = w;
        f->cnt = k;
        f->ones = o;
        f->cap_cells = c;
    }
    return 1;
}

m4_status m4_features_build(m4_features *f, int n_hosts, size_t n, const double *size_bytes,
                            const int32_t *src, const int32_t *dst, const double *fct_ns,
                            const double *params, float *res, double *num_flows_per_cell,
                            int64_t *counts) {
    if (!f) return M4_ERR_INVALID_ARGUMENT;
    clear_error(f);
    if (n_hosts < 2 || n_hosts > MAX_HOSTS)
        return fail(f, M4_ERR_INVALID_ARGUMENT, NULL, 0, "%d hosts, want 2..%d", n_hosts, MAX_HOSTS);
    if (n == 0) return fail(f, M4_ERR_INVALID_ARGUMENT, NULL, 0, "no flows: an empty scenario has no feature map");
    if (n > UINT32_MAX) return fail(f, M4_ERR_INVALID_ARGUMENT, NULL, 0, "%zu flows: at most %u", n, UINT32_MAX);
    if (!params || !res || !size_bytes || !src || !dst || !fct_ns)
        return fail(f, M4_ERR_INVALID_ARGUMENT, NULL, 0, "a required array is NULL");
    for (int j = 0; j < M4_FEAT_PARAMS; j++)
        if (!isfinite(params[j]))
            return fail(f, M4_ERR_INVALID_INPUT, "params", (size_t)j, "parameter %d is %g", j,
                        params[j]);
    const int H = n_hosts;
    const size_t n_cells = (size_t)H * M4_FEAT_BUCKETS;
    if (!reserve(f, n, n_cells))
        return fail(f, M4_ERR_NO_MEMORY, NULL, 0, "out of memory for %zu flows", n);

    m4_status st = slowdowns(f, H, n, size_bytes, src, dst, fct_ns, f->sldn);
    if (st != M4_OK) return st;
    /* buckets; count the flows of every cell, and apart those whose
     * slowdown is exactly 1 (flows never slowed: often half of them),
     * which sort first and need no sorting */
    size_t *cnt = f->cnt, *ones = f->ones;
    memset(cnt, 0, n_cells * sizeof(size_t));
    memset(ones, 0, n_cells * sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        int s = src[i], d = dst[i];
        int b = m4_features_input_bucket(size_bytes[i]);
        int one = f->sldn[i] == 1.0;
        f->bucket[i] = b;
        if (s == 0 && d == H - 1) {
            cnt[b]++;
            ones[b] += (size_t)one;
        } else {
            for (int l = s; l < d; l++) {
                size_t c = (size_t)(1 + l) * M4_FEAT_BUCKETS + (size_t)b;
                cnt[c]++;
                ones[c] += (size_t)one;
            }
        }
    }
    /* group the other slowdowns by cell, in flow order */
    f->start[0] = 0;
    for (size_t c = 0; c < n_cells; c++) f->start[c + 1] = f->start[c] + cnt[c] - ones[c];
    size_t members = f->start[n_cells];
    if (members > f->cap_vals || !f->vals) {
        size_t c = members + members / 2 + 16;
        double *v = c <= ((size_t)-1) / sizeof(double) ? malloc(c * sizeof(double)) : NULL;
        if (!v) return fail(f, M4_ERR_NO_MEMORY, NULL, 0, "out of memory for %zu cell values", members);
        free(f->vals);
        f->vals = v;
        f->cap_vals = c;
    }
    memcpy(f->fill, f->start, n_cells * sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        if (f->sldn[i] == 1.0) continue;
        int s = src[i], d = dst[i], b = f->bucket[i];
        if (s == 0 && d == H - 1) {
            f->vals[f->fill[b]++] = f->sldn[i];
        } else {
            for (int l = s; l < d; l++)
                f->vals[f->fill[(size_t)(1 + l) * M4_FEAT_BUCKETS + (size_t)b]++] = f->sldn[i];
        }
    }
    /* per row: sort each cell, write its percentiles, shares and counts */
    for (int r = 0; r < H; r++) {
        float *row = res + (size_t)r * M4_FEAT_ROW;
        double *share_row = num_flows_per_cell ? num_flows_per_cell + (size_t)r * M4_FEAT_CELLS : NULL;
        size_t c0 = (size_t)r * M4_FEAT_BUCKETS;
        size_t total = 0;
        for (int b = 0; b < M4_FEAT_BUCKETS; b++) total += cnt[c0 + (size_t)b];
        for (int b = 0; b < M4_FEAT_BUCKETS; b++) {
            size_t c = c0 + (size_t)b, k = cnt[c], n1 = ones[c];
            if (counts) counts[c] = (int64_t)k;
            float *cell = row + b * M4_FEAT_PERCENTILES;
            if (k == 0) {
                memset(cell, 0, M4_FEAT_PERCENTILES * sizeof(float));
                if (share_row) memset(share_row + b * M4_FEAT_PERCENTILES, 0, M4_FEAT_PERCENTILES * sizeof(double));
                continue;
            }
            double *v = f->vals + f->start[c];
            sort_doubles(v, k - n1);
            /* the sorted cell is n1 ones, then v: m4_features_percentiles */
            double n1f = (double)(k - 1);
            double share = (double)(float)k / (double)(1 + total);
            for (int p = 0; p < M4_FEAT_PERCENTILES; p++) {
                size_t idx = (size_t)rint(n1f * ((double)(p + 1) / 100.0));
                cell[p] = (float)(idx < n1 ? 1.0 : v[idx - n1]);
                if (share_row) share_row[b * M4_FEAT_PERCENTILES + p] = share;
            }
        }
        for (int j = 0; j < M4_FEAT_PARAMS; j++) row[M4_FEAT_CELLS + j] = (float)params[j];
    }
    return M4_OK;
}
