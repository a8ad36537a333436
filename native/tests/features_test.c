/* features_test.c: m3's input feature map through m4.h, on cases worked out
 * by hand and values numpy gives. (Every reference scenario is checked from
 * Go: pipeline/features/reference_test.go.) */
#include "m4.h"
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_percentiles(void) {
    /* numpy 1.24: np.percentile(a, [1, 25, 50, 75, 100], method='nearest');
     * (10, 20, 30) at p25/p75 sits half-way and rounds to the even index. */
    struct {
        double a[11];
        size_t n;
        double want[5];
    } cases[] = {
        {{10, 20, 30}, 3, {10, 10, 20, 30, 30}},
        {{1, 2, 3, 4}, 4, {1, 2, 3, 3, 4}},
        {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 11, {1, 3, 6, 9, 11}},
        {{7}, 1, {7, 7, 7, 7, 7}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double out[M4_FEAT_PERCENTILES];
        m4_features_percentiles(cases[c].a, cases[c].n, out);
        int at[5] = {0, 24, 49, 74, 99};
        for (int k = 0; k < 5; k++)
            CHECK(out[at[k]] == cases[c].want[k], "case %zu: p%d = %g, want %g", c, at[k] + 1,
                  out[at[k]], cases[c].want[k]);
    }
    /* (1, 2, 3, 4): 1 up to p16, 2 to p49, 3 to p83, 4 from p84 */
    double a[] = {1, 2, 3, 4}, out[M4_FEAT_PERCENTILES];
    m4_features_percentiles(a, 4, out);
    for (int p = 1; p <= 100; p++) {
        double want = p <= 16 ? 1 : p <= 49 ? 2 : p <= 83 ? 3 : 4;
        CHECK(out[p - 1] == want, "p%d of 1..4 = %g, want %g", p, out[p - 1], want);
    }
}

static void test_buckets_and_delays(void) {
    struct {
        double size;
        int bucket;
    } b[] = {{1, 0}, {249, 0}, {250, 1}, {999, 3}, {1000, 4}, {1999, 4}, {2000, 5},
             {9999, 7}, {10000, 8}, {49999, 8}, {50000, 9}, {1e9, 9}};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
        CHECK(m4_features_input_bucket(b[i].size) == b[i].bucket, "bucket of %g B = %d, want %d",
              b[i].size, m4_features_input_bucket(b[i].size), b[i].bucket);
    /* By hand, H = 5: 0->4 500 B: 4 links: 4000 + 4384/10 + 4384/40*2 = 4657.6;
     * 1->3 3000 B: 4 links, 8384 bits: 4000 + 8384/40*2 - 8384/10 + 1000 (host 2
     * is neither 1 nor 3; hosts 1 and 3 add 0) = 3580.8; 0->2 1000 B: 3 links +
     * 1 us at host 2: 3000 + 8384/40 + 1000 = 4209.6. */
    struct {
        int s, d;
        double size, want;
    } dl[] = {{0, 4, 500, 4657.6}, {1, 3, 3000, 3580.8}, {0, 2, 1000, 4209.6}, {2, 4, 20000, 4209.6}};
    for (size_t i = 0; i < sizeof dl / sizeof dl[0]; i++) {
        double g = m4_features_base_delay_ns(5, dl[i].s, dl[i].d, dl[i].size);
        CHECK(fabs(g - dl[i].want) < 1e-9, "base delay %d->%d %g B = %.9g, want %g", dl[i].s,
              dl[i].d, dl[i].size, g, dl[i].want);
    }
    CHECK(m4_features_ideal_ns(1500) == (1500 + 96) * 8 / 10.0, "ideal of 1500 B = %g",
          m4_features_ideal_ns(1500));
}

static void test_params(void) {
    /* ns3-paths/shard100_nflows300_nhosts5: TIMELY, 371 KB, 19113 B, no PFC,
     * T_low/high 46729/118793 ns; the row tail of its feat file. */
    m4_cc_config c = {0};
    c.buffer_kb = 371;
    c.window_bytes = 19113;
    c.cc = M4_CC_TIMELY;
    c.timely_t_low_ns = 46729;
    c.timely_t_high_ns = 118793;
    double vec[15], p[M4_FEAT_PARAMS];
    CHECK(m4_cc_config_vector(&c, vec) == M4_OK, "vector");
    CHECK(m4_features_params(5, vec, p) == M4_OK, "params");
    double want[M4_FEAT_PARAMS] = {0, 1, 0, 10, 37.1, 19.113, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 46.729, 118.793};
    for (int j = 0; j < M4_FEAT_PARAMS; j++)
        CHECK(p[j] == want[j], "param %d = %.17g, want %.17g", j, p[j], want[j]);
    CHECK(m4_features_params(4, vec, p) == M4_ERR_UNSUPPORTED, "4 hosts accepted");

    /* m4-path-v2: the same configuration, log scales, as a network path */
    double q[M4_FEAT_PARAMS];
    CHECK(m4_features_params_for(M4_FEATURES_V2, 5, 1, 7, vec, q) == M4_OK, "v2 params");
    double want2[M4_FEAT_PARAMS] = {0, 1, 0, 1, log2(371), log2(19113), 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 46.729, 118.793};
    for (int j = 0; j < M4_FEAT_PARAMS; j++)
        CHECK(fabs(q[j] - want2[j]) < 1e-12, "v2 param %d = %.17g, want %.17g", j, q[j], want2[j]);
    CHECK(m4_features_params_for(M4_FEATURES_V1, 5, 1, 7, vec, q) == M4_OK && memcmp(p, q, sizeof p) == 0,
          "m4_features_params_for(v1) differs from m4_features_params");
    CHECK(m4_features_params_for("m3-path-v9", 5, 0, 7, vec, q) == M4_ERR_UNSUPPORTED, "unknown definition accepted");
    /* m4-path-v3: v2's with 1-pfc replaced by log2(1 + foreground flows) */
    double r[M4_FEAT_PARAMS];
    CHECK(m4_features_params_for(M4_FEATURES_V3, 5, 1, 7, vec, r) == M4_OK, "v3 params");
    for (int j = 0; j < M4_FEAT_PARAMS; j++)
        CHECK(fabs(r[j] - (j == 7 ? 3.0 : want2[j])) < 1e-12, "v3 param %d = %.17g, want %.17g", j, r[j], j == 7 ? 3.0 : want2[j]);
    CHECK(m4_features_params_v3(5, 1, 0, vec, r) == M4_OK && r[7] == 0, "v3, no foreground flow: %g", r[7]);
    CHECK(m4_features_params_v3(5, 1, -1, vec, r) == M4_ERR_INVALID_INPUT, "negative foreground accepted");
    int32_t fs[] = {0, 0, 1, 0, 2}, fd[] = {4, 3, 4, 4, 4};
    CHECK(m4_features_foreground(5, 5, fs, fd) == 2, "foreground flows: %ld, want 2", m4_features_foreground(5, 5, fs, fd));
    m4_cc_config h = {0};
    h.buffer_kb = 3072, h.window_bytes = 18000, h.pfc = 1, h.cc = M4_CC_HPCC, h.hpcc_u_target = 0.95, h.hpcc_ai = 50;
    CHECK(m4_cc_config_vector(&h, vec) == M4_OK, "hpcc vector");
    CHECK(m4_features_params_v2(7, 0, vec, q) == M4_OK, "hpcc v2");
    CHECK(q[2] == 1 && q[3] == 0 && fabs(q[4] - log2(3072)) < 1e-12 && q[6] == 1 && q[7] == 0 && q[10] == 1 &&
              fabs(q[15] - 95) < 1e-12 && fabs(q[16] - log2(50)) < 1e-12 && q[12] == 0 && q[17] == 0,
          "hpcc v2 params: %g %g %g %g %g", q[4], q[15], q[16], q[12], q[17]);
    vec[1] = 0; /* no buffer */
    CHECK(m4_features_params_v2(7, 0, vec, q) == M4_ERR_INVALID_INPUT, "zero buffer accepted by v2");
    CHECK(m4_cc_config_vector(&c, vec) == M4_OK, "vector");
    vec[5] = NAN;
    CHECK(m4_features_params(3, vec, p) == M4_ERR_INVALID_INPUT, "NaN accepted");
    c.cc = 2;
    CHECK(m4_cc_config_vector(&c, vec) == M4_ERR_INVALID_ARGUMENT, "unknown CC accepted");
}

/* m3's rule at its threshold: a bucket is empty when the mean of its values
 * is below 1e-12. */
static void test_empty_buckets(void) {
    double v[6] = {0, 0, 0, 2.9e-12, 0, 0}; /* 3 buckets of 2: means 0, 1.45e-12, 0 */
    uint8_t e[3] = {9, 9, 9};
    CHECK(m4_features_empty_buckets(3, 2, v, e) == M4_OK && e[0] == 1 && e[1] == 0 && e[2] == 1,
          "empty %d %d %d, want 1 0 1", e[0], e[1], e[2]);
    v[3] = 1.9e-12; /* mean 0.95e-12 */
    CHECK(m4_features_empty_buckets(3, 2, v, e) == M4_OK && e[1] == 1, "mean below 1e-12 is empty");
    CHECK(m4_features_empty_buckets(0, 2, v, e) == M4_OK, "no buckets");
    CHECK(m4_features_empty_buckets(3, 0, v, e) == M4_ERR_INVALID_ARGUMENT &&
              m4_features_empty_buckets(3, 2, NULL, e) == M4_ERR_INVALID_ARGUMENT &&
              m4_features_empty_buckets(3, 2, v, NULL) == M4_ERR_INVALID_ARGUMENT,
          "bad arguments");
}

/* The by-hand map of pipeline/features' TestBuildInputByHand: 5 hosts, one
 * flow of each kind. */
static void test_build_by_hand(m4_features *f) {
    double size[] = {500, 3000, 1000, 20000, 800};
    int32_t src[] = {0, 1, 0, 2, 4}, dst[] = {4, 3, 2, 4, 0};
    double fct[] = {1000, 5000, 2000, 30000, 700};
    double params[M4_FEAT_PARAMS] = {1, 2, 3};
    float res[5 * M4_FEAT_ROW];
    double share[5 * M4_FEAT_CELLS];
    int64_t counts[5 * M4_FEAT_BUCKETS];
    CHECK(m4_features_build(f, 5, 5, size, src, dst, fct, params, res, share, counts) == M4_OK,
          "build: %s", m4_features_error(f, NULL, NULL));
    float sl[5];
    for (int i = 0; i < 5; i++) {
        double d = m4_features_base_delay_ns(5, src[i], dst[i], size[i]);
        double s = (fct[i] + d) / (m4_features_ideal_ns(size[i]) + d);
        sl[i] = (float)(s > 1 ? s : 1);
    }
#define AT(r, b, p) res[(r) * M4_FEAT_ROW + (b) * M4_FEAT_PERCENTILES + (p) - 1]
    CHECK(AT(0, 2, 1) == sl[0] && AT(0, 2, 100) == sl[0] && AT(0, 1, 50) == 0, "row 0");
    /* link 0: flow 2 (bucket 4); link 1: flows 1 (bucket 5), 2; link 2: flows
     * 1, 3 (bucket 8); link 3: flow 3; flow 4 (4 -> 0) is in no row */
    int64_t want[5][M4_FEAT_BUCKETS] = {{0, 0, 1}, {0, 0, 0, 0, 1}, {0, 0, 0, 0, 1, 1},
                                        {0, 0, 0, 0, 0, 1, 0, 0, 1}, {0, 0, 0, 0, 0, 0, 0, 0, 1}};
    for (int r = 0; r < 5; r++)
        for (int b = 0; b < M4_FEAT_BUCKETS; b++)
            CHECK(counts[r * M4_FEAT_BUCKETS + b] == want[r][b], "row %d bucket %d: %lld flows, want %lld",
                  r, b, (long long)counts[r * M4_FEAT_BUCKETS + b], (long long)want[r][b]);
    CHECK(AT(3, 5, 100) == sl[1] && AT(3, 8, 1) == sl[3] && AT(2, 4, 37) == sl[2], "background cells");
    CHECK(share[3 * M4_FEAT_CELLS + 5 * M4_FEAT_PERCENTILES + 7] == 1.0 / 3, "row 3 share %g",
          share[3 * M4_FEAT_CELLS + 5 * M4_FEAT_PERCENTILES + 7]);
    CHECK(share[3 * M4_FEAT_CELLS + 0] == 0, "empty cell share");
    /* m3's empty buckets are the buckets without flows */
    uint8_t empty[5 * M4_FEAT_BUCKETS];
    CHECK(m4_features_empty_buckets(5 * M4_FEAT_BUCKETS, M4_FEAT_PERCENTILES, share, empty) == M4_OK, "empty");
    for (int i = 0; i < 5 * M4_FEAT_BUCKETS; i++)
        CHECK(empty[i] == (counts[i] == 0), "bucket %d: empty %d with %lld flows", i, empty[i], (long long)counts[i]);
    /* the same rule on the counts */
    uint8_t empty_c[5 * M4_FEAT_BUCKETS];
    memset(empty_c, 9, sizeof empty_c);
    CHECK(m4_features_empty_counts(5 * M4_FEAT_BUCKETS, counts, empty_c) == M4_OK &&
              memcmp(empty, empty_c, sizeof empty) == 0,
          "empty from counts differs from empty from shares");
    CHECK(m4_features_empty_counts(1, NULL, empty_c) == M4_ERR_INVALID_ARGUMENT &&
              m4_features_empty_counts(1, counts, NULL) == M4_ERR_INVALID_ARGUMENT,
          "bad arguments to empty_counts");
    for (int r = 0; r < 5; r++) {
        const float *t = res + r * M4_FEAT_ROW + M4_FEAT_CELLS;
        CHECK(t[0] == 1 && t[1] == 2 && t[2] == 3 && t[3] == 0, "row %d parameters", r);
    }
    /* a zero FCT clips to slowdown 1 */
    double zero[5] = {0};
    CHECK(m4_features_build(f, 5, 5, size, src, dst, zero, params, res, NULL, NULL) == M4_OK, "zero fct");
    CHECK(AT(0, 2, 50) == 1 && AT(4, 8, 1) == 1, "clip: %g %g", AT(0, 2, 50), AT(4, 8, 1));
#undef AT
}

/* pipeline/features' ExampleBuildInput: by hand 1.1605 and 2.1849. */
static void test_example(m4_features *f) {
    double size[] = {500, 20000, 3000}, fct[] = {900, 40000, 5000};
    int32_t src[] = {0, 0, 1}, dst[] = {2, 2, 2};
    double params[M4_FEAT_PARAMS] = {0};
    float res[3 * M4_FEAT_ROW];
    CHECK(m4_features_build(f, 3, 3, size, src, dst, fct, params, res, NULL, NULL) == M4_OK, "example");
    double a = res[2 * M4_FEAT_PERCENTILES + 49], b = res[8 * M4_FEAT_PERCENTILES + 49];
    CHECK(fabs(a - 3338.4 / 2876.8) < 1e-6, "flow 0 slowdown %.6f, want %.6f", a, 3338.4 / 2876.8);
    CHECK(fabs(b - 42838.4 / 19606.4) < 1e-6, "flow 1 slowdown %.6f, want %.6f", b, 42838.4 / 19606.4);
}

/* Many flows: each cell's percentiles equal those of qsort'ed values (the
 * introsort against the C library), and the shares add up. */
static void test_sort_large(m4_features *f) {
    const size_t n = 200000;
    const int H = 7;
    double *size = malloc(n * sizeof(double)), *fct = malloc(n * sizeof(double));
    int32_t *src = malloc(n * sizeof(int32_t)), *dst = malloc(n * sizeof(int32_t));
    float *res = malloc((size_t)H * M4_FEAT_ROW * sizeof(float));
    int64_t counts[7 * M4_FEAT_BUCKETS];
    double params[M4_FEAT_PARAMS] = {0};
    uint64_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        size[i] = 1 + (double)((s >> 33) % 100000);
        /* many equal slowdowns too, to exercise the partition on ties */
        fct[i] = (i % 3 == 0) ? 0 : (double)((s >> 17) % 1000000);
        src[i] = (int32_t)((s >> 7) % H);
        dst[i] = (int32_t)((src[i] + 1 + (s >> 40) % (H - 1)) % H);
    }
    CHECK(m4_features_build(f, H, n, size, src, dst, fct, params, res, NULL, counts) == M4_OK, "large");
    /* recompute row 2 (link 1) bucket 8 with qsort */
    double *v = malloc(n * sizeof(double));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == 0 && dst[i] == H - 1) continue;
        if (!(src[i] <= 1 && 1 < dst[i]) || m4_features_input_bucket(size[i]) != 8) continue;
        double d = m4_features_base_delay_ns(H, src[i], dst[i], size[i]);
        double sl = (fct[i] + d) / (m4_features_ideal_ns(size[i]) + d);
        v[k++] = sl > 1 ? sl : 1;
    }
    CHECK((int64_t)k == counts[2 * M4_FEAT_BUCKETS + 8], "row 2 bucket 8: %zu flows, counts say %lld", k,
          (long long)counts[2 * M4_FEAT_BUCKETS + 8]);
    qsort(v, k, sizeof(double), cmp_double);
    double pct[M4_FEAT_PERCENTILES];
    m4_features_percentiles(v, k, pct);
    for (int p = 0; p < M4_FEAT_PERCENTILES; p++)
        CHECK(res[2 * M4_FEAT_ROW + 8 * M4_FEAT_PERCENTILES + p] == (float)pct[p], "p%d: %g, qsort %g",
              p + 1, res[2 * M4_FEAT_ROW + 8 * M4_FEAT_PERCENTILES + p], pct[p]);
    free(v);
    free(size);
    free(fct);
    free(src);
    free(dst);
    free(res);
}

static void test_bad_input(m4_features *f) {
    double size[] = {500, 1000}, fct[] = {10, 20}, params[M4_FEAT_PARAMS] = {0};
    int32_t src[] = {0, 0}, dst[] = {2, 2};
    float res[3 * M4_FEAT_ROW];
    const char *field;
    size_t idx;
    struct {
        int which; /* 0 size, 1 src, 2 dst, 3 fct, 4 param */
        double v;
        const char *field;
    } cases[] = {{0, NAN, "size_bytes"}, {0, 0, "size_bytes"},  {1, 3, "src"},     {1, -1, "src"},
                 {2, 0, "dst"},          {3, -1, "fct_ns"},     {3, INFINITY, "fct_ns"}, {4, NAN, "params"}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double sz[2] = {size[0], size[1]}, ft[2] = {fct[0], fct[1]}, pr[M4_FEAT_PARAMS] = {0};
        int32_t s2[2] = {src[0], src[1]}, d2[2] = {dst[0], dst[1]};
        switch (cases[c].which) {
        case 0: sz[1] = cases[c].v; break;
        case 1: s2[1] = (int32_t)cases[c].v; break;
        case 2: d2[1] = (int32_t)cases[c].v; break;
        case 3: ft[1] = cases[c].v; break;
        case 4: pr[1] = cases[c].v; break;
        }
        m4_status st = m4_features_build(f, 3, 2, sz, s2, d2, ft, pr, res, NULL, NULL);
        const char *msg = m4_features_error(f, &field, &idx);
        CHECK(st == M4_ERR_INVALID_INPUT && field && strcmp(field, cases[c].field) == 0 && idx == 1,
              "case %zu: status %d, field %s[%zu]: %s", c, st, field ? field : "(null)", idx, msg);
    }
    CHECK(m4_features_build(f, 1, 2, size, src, dst, fct, params, res, NULL, NULL) == M4_ERR_INVALID_ARGUMENT,
          "1 host accepted");
    CHECK(m4_features_build(f, 3, 2, NULL, src, dst, fct, params, res, NULL, NULL) == M4_ERR_INVALID_ARGUMENT,
          "NULL sizes accepted");
    /* no flows: an empty scenario has no map, and says so */
    CHECK(m4_features_build(f, 3, 0, NULL, NULL, NULL, NULL, params, res, NULL, NULL) == M4_ERR_INVALID_ARGUMENT &&
              strstr(m4_features_error(f, NULL, NULL), "no flows"),
          "no flows: %s", m4_features_error(f, NULL, NULL));
    double sl[2];
    CHECK(m4_features_slowdowns(f, 3, 0, size, src, dst, fct, sl) == M4_ERR_INVALID_ARGUMENT &&
              strstr(m4_features_error(f, NULL, NULL), "no flows"),
          "no flows (slowdowns): %s", m4_features_error(f, NULL, NULL));
}

int main(void) {
    m4_features *f = NULL;
    CHECK(m4_features_create(&f) == M4_OK && f, "create");
    if (!f) return 1;
    test_percentiles();
    test_buckets_and_delays();
    test_params();
    test_empty_buckets();
    test_build_by_hand(f);
    test_example(f);
    test_sort_large(f);
    test_bad_input(f);
    m4_features_destroy(f);
    CHECK_DONE("features_test");
}
