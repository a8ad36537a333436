/* api_test.c: every entry point of m4.h called with NULL pointers, negative
 * and zero sizes, and out-of-range values: each returns an error status (or,
 * for accessors, a neutral value) instead of crashing or reading out of
 * bounds. CI runs it under AddressSanitizer and UBSan. The pointer
 * arguments of each call are set to NULL one at a time, and each size or
 * index to the values in `bad_ints`. */
#include "m4.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const int bad_ints[] = {-1, -100, INT32_MIN, 0};
#define N_BAD (int)(sizeof bad_ints / sizeof bad_ints[0])

static void test_misc(void) {
    CHECK(m4_version() && strcmp(m4_version(), M4_VERSION_STRING) == 0, "version");
    CHECK(m4_sizeof("m4_checkpoint_info") == sizeof(m4_checkpoint_info), "sizeof checkpoint info");
    CHECK(m4_sizeof("m4_trained_ranges") == sizeof(m4_trained_ranges), "sizeof trained ranges");
    CHECK(m4_sizeof("m4_dyn_checkpoint_info") == sizeof(m4_dyn_checkpoint_info), "sizeof dynamics checkpoint info");
    CHECK(m4_sizeof("m4_cc_config") == sizeof(m4_cc_config), "sizeof cc config");
    CHECK(m4_sizeof("m4_path_scenario") == sizeof(m4_path_scenario), "sizeof path scenario");
    CHECK(m4_sizeof("m4_pktsim_config") == sizeof(m4_pktsim_config), "sizeof pktsim config");
    CHECK(m4_sizeof("m4_model") == 0 && m4_sizeof(NULL) == 0, "sizeof of an opaque or unknown type is 0");
    CHECK(m4_strerror(-1) != NULL && m4_strerror(999) != NULL && m4_strerror(INT32_MIN) != NULL, "strerror");
    m4_path_config_default(NULL, 3);
    m4_pktsim_config_default(NULL);
    m4_model_config_default(NULL);
    CHECK(m4_model_config_check(NULL, NULL, 0) == M4_ERR_INVALID_ARGUMENT, "config check of NULL");
    uint8_t e;
    double v = 0;
    CHECK(m4_features_empty_buckets(1, 1, NULL, &e) == M4_ERR_INVALID_ARGUMENT &&
              m4_features_empty_buckets(1, 1, &v, NULL) == M4_ERR_INVALID_ARGUMENT &&
              m4_features_empty_buckets(1, INT32_MIN, &v, &e) == M4_ERR_INVALID_ARGUMENT,
          "empty buckets of NULL or n_pct < 1");
}

static void test_flowsim(void) {
    m4_path_config cfg;
    m4_path_config_default(&cfg, 3);
    m4_flowsim *sim = NULL;
    CHECK(m4_flowsim_create(NULL, &cfg) == M4_ERR_INVALID_ARGUMENT, "create NULL out");
    CHECK(m4_flowsim_create(&sim, NULL) == M4_ERR_INVALID_ARGUMENT && !sim, "create NULL cfg");
    for (int i = 0; i < N_BAD; i++) {
        m4_path_config c = cfg;
        c.n_hosts = bad_ints[i];
        CHECK(m4_flowsim_create(&sim, &c) == M4_ERR_INVALID_ARGUMENT && !sim, "create %d hosts", bad_ints[i]);
        c = cfg;
        c.edge_gbps = -bad_ints[i] ? bad_ints[i] : NAN;
        CHECK(m4_flowsim_create(&sim, &c) == M4_ERR_INVALID_ARGUMENT && !sim, "create edge %g Gbps", c.edge_gbps);
    }
    CHECK(m4_flowsim_create(&sim, &cfg) == M4_OK && sim, "create");
    double at[2] = {0, 1}, size[2] = {100, 200}, fct[2];
    int32_t src[2] = {0, 1}, dst[2] = {2, 2};
    const void *args[5] = {at, size, src, dst, fct};
    for (int k = 0; k < 5; k++) {
        const void *a[5];
        memcpy(a, args, sizeof a);
        a[k] = NULL;
        CHECK(m4_flowsim_run(sim, 2, a[0], a[1], a[2], a[3], (double *)a[4]) == M4_ERR_INVALID_ARGUMENT,
              "run with argument %d NULL", k);
    }
    CHECK(m4_flowsim_run(NULL, 2, at, size, src, dst, fct) == M4_ERR_INVALID_ARGUMENT, "run NULL sim");
    CHECK(m4_flowsim_run(sim, 0, at, size, src, dst, fct) == M4_ERR_INVALID_ARGUMENT, "run 0 flows");
    CHECK(m4_flowsim_run(sim, (size_t)-1, at, size, src, dst, fct) != M4_OK, "run (size_t)-1 flows");
    int32_t neg[2] = {-1, INT32_MIN};
    CHECK(m4_flowsim_run(sim, 2, at, size, neg, dst, fct) == M4_ERR_INVALID_INPUT, "negative host");
    CHECK(m4_flowsim_error(NULL, NULL, NULL) != NULL, "error of NULL");
    m4_flowsim_get_stats(NULL, NULL);
    m4_flowsim_get_stats(sim, NULL);
    m4_flowsim_destroy(sim);
    m4_flowsim_destroy(NULL);
}

static void test_features(void) {
    m4_features *f = NULL;
    CHECK(m4_features_create(NULL) == M4_ERR_INVALID_ARGUMENT, "create NULL");
    CHECK(m4_features_create(&f) == M4_OK && f, "create");
    double size[2] = {100, 2000}, fct[2] = {10, 20}, params[M4_FEAT_PARAMS] = {0}, sl[2];
    int32_t src[2] = {0, 1}, dst[2] = {2, 2};
    float res[3 * M4_FEAT_ROW];
    double share[3 * M4_FEAT_CELLS];
    int64_t counts[3 * M4_FEAT_BUCKETS];
    const void *args[6] = {size, src, dst, fct, params, res};
    for (int k = 0; k < 6; k++) {
        const void *a[6];
        memcpy(a, args, sizeof a);
        a[k] = NULL;
        CHECK(m4_features_build(f, 3, 2, a[0], a[1], a[2], a[3], a[4], (float *)a[5], share, counts) ==
                  M4_ERR_INVALID_ARGUMENT,
              "build with argument %d NULL", k);
    }
    for (int k = 0; k < 5; k++) {
        const void *a[5] = {size, src, dst, fct, sl};
        a[k] = NULL;
        CHECK(m4_features_slowdowns(f, 3, 2, a[0], a[1], a[2], a[3], (double *)a[4]) == M4_ERR_INVALID_ARGUMENT,
              "slowdowns with argument %d NULL", k);
    }
    for (int i = 0; i < N_BAD; i++) {
        int h = bad_ints[i];
        CHECK(m4_features_build(f, h, 2, size, src, dst, fct, params, res, share, counts) == M4_ERR_INVALID_ARGUMENT,
              "build %d hosts", h);
        CHECK(m4_features_slowdowns(f, h, 2, size, src, dst, fct, sl) == M4_ERR_INVALID_ARGUMENT,
              "slowdowns %d hosts", h);
        double vec[15] = {0}, out[M4_FEAT_PARAMS];
        CHECK(m4_features_params(h, vec, out) != M4_OK, "params %d hosts", h);
        CHECK(isfinite(m4_features_base_delay_ns(h, h, h, -1)) && m4_features_base_delay_ns(h, h, h, -1) >= 0,
              "base delay of %d hosts", h);
    }
    CHECK(m4_features_build(NULL, 3, 2, size, src, dst, fct, params, res, share, counts) == M4_ERR_INVALID_ARGUMENT,
          "build NULL f");
    CHECK(m4_features_slowdowns(NULL, 3, 2, size, src, dst, fct, sl) == M4_ERR_INVALID_ARGUMENT, "slowdowns NULL f");
    CHECK(m4_features_build(f, 3, (size_t)-1, size, src, dst, fct, params, res, share, counts) != M4_OK,
          "build (size_t)-1 flows");
    double vec[15] = {0}, out[M4_FEAT_PARAMS];
    CHECK(m4_features_params(3, NULL, out) == M4_ERR_INVALID_ARGUMENT && m4_features_params(3, vec, NULL) == M4_ERR_INVALID_ARGUMENT,
          "params NULL");
    m4_cc_config cc = {0};
    CHECK(m4_cc_config_vector(NULL, vec) == M4_ERR_INVALID_ARGUMENT && m4_cc_config_vector(&cc, NULL) == M4_ERR_INVALID_ARGUMENT,
          "cc vector NULL");
    CHECK(m4_cc_config_vector(&cc, vec) != M4_OK, "cc vector of cc 0");
    m4_features_percentiles(NULL, 0, out);
    m4_features_percentiles(size, 2, NULL);
    CHECK(m4_features_input_bucket(NAN) >= 0 && m4_features_input_bucket(-1) == 0, "bucket of NaN, -1");
    CHECK(m4_features_error(NULL, NULL, NULL) != NULL, "error of NULL");
    m4_features_destroy(f);
    m4_features_destroy(NULL);
}

static m4_model_config tiny(void) {
    m4_model_config c;
    m4_model_config_default(&c);
    c.dim = 4, c.n_layers = 1, c.n_heads = 1, c.hidden_dim = 4, c.max_seq = 4, c.mlp_hidden1 = 4, c.mlp_hidden2 = 4;
    return c;
}

static void test_model(void) {
    m4_model_config c = tiny();
    m4_model *m = NULL;
    CHECK(m4_model_create(NULL, &c, 1, 0, 1) == M4_ERR_INVALID_ARGUMENT, "create NULL out");
    CHECK(m4_model_create(&m, NULL, 1, 0, 1) == M4_ERR_INVALID_ARGUMENT && !m, "create NULL cfg");
    for (int i = 0; i < N_BAD; i++) {
        int v = bad_ints[i];
        if (v != 0) {
            CHECK(m4_model_create(&m, &c, v, 0, 1) == M4_ERR_INVALID_ARGUMENT && !m, "create max_batch %d", v);
            CHECK(m4_model_create(&m, &c, 1, v, 1) == M4_ERR_INVALID_ARGUMENT && !m, "create max_rows %d", v);
        }
        int *fields[] = {&c.feat_dim, &c.n_pct, &c.dim, &c.n_heads, &c.hidden_dim, &c.max_seq, &c.mlp_hidden1,
                         &c.mlp_hidden2, &c.out_dim};
        for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
            m4_model_config b = c;
            *(int *)((char *)&b + ((char *)fields[k] - (char *)&c)) = v;
            CHECK(m4_model_create(&m, &b, 1, 0, 1) == M4_ERR_INVALID_ARGUMENT && !m, "create config field %zu = %d", k, v);
        }
    }
    CHECK(m4_model_create(&m, &c, 2, 0, 1) == M4_OK && m, "create");
    /* accessors of NULL: neutral values */
    m4_model_config got;
    m4_model_get_config(NULL, &got);
    m4_model_get_config(m, NULL);
    CHECK(m4_model_num_params(NULL) == 0 && m4_model_num_tensors(NULL) == 0, "counts of NULL");
    CHECK(m4_model_params(NULL) == NULL && m4_model_grads(NULL) == NULL, "params of NULL");
    CHECK(m4_model_error(NULL) != NULL && m4_model_kernel(NULL) != NULL, "error, kernel of NULL");
    m4_tensor_info ti;
    CHECK(m4_model_tensor(NULL, 0, &ti) == M4_ERR_INVALID_ARGUMENT && m4_model_tensor(m, 0, NULL) == M4_ERR_INVALID_ARGUMENT,
          "tensor NULL");
    CHECK(m4_model_tensor(m, -1, &ti) == M4_ERR_INVALID_ARGUMENT && m4_model_tensor(m, INT32_MIN, &ti) == M4_ERR_INVALID_ARGUMENT &&
              m4_model_tensor(m, m4_model_num_tensors(m), &ti) == M4_ERR_INVALID_ARGUMENT,
          "tensor index out of range");
    CHECK(m4_model_init(NULL, 1) == M4_ERR_INVALID_ARGUMENT, "init NULL");
    size_t np = m4_model_num_params(m);
    m4_model_config bad = c;
    bad.n_heads = 3; /* does not divide dim */
    CHECK(m4_model_config_num_params(&c) == np && m4_model_config_num_params(&bad) == 0 &&
              m4_model_config_num_params(NULL) == 0,
          "config_num_params: %zu for the model's config (want %zu), 0 for a refused one and NULL",
          m4_model_config_num_params(&c), np);
    static float p[16384], p2[16384];
    CHECK(np <= 16384, "tiny model of %zu parameters", np);
    CHECK(m4_model_set_params(NULL, p, np) == M4_ERR_INVALID_ARGUMENT && m4_model_set_params(m, NULL, np) == M4_ERR_INVALID_ARGUMENT &&
              m4_model_set_params(m, p, np - 1) == M4_ERR_INVALID_ARGUMENT && m4_model_set_params(m, p, (size_t)-1) == M4_ERR_INVALID_ARGUMENT,
          "set_params NULL or size");
    CHECK(m4_model_get_adam(NULL, p, p2, np) == M4_ERR_INVALID_ARGUMENT && m4_model_get_adam(m, NULL, p2, np) == M4_ERR_INVALID_ARGUMENT &&
              m4_model_get_adam(m, p, NULL, np) == M4_ERR_INVALID_ARGUMENT && m4_model_get_adam(m, p, p2, 0) == M4_ERR_INVALID_ARGUMENT,
          "get_adam NULL or size");
    CHECK(m4_model_set_adam(NULL, p, p2, np) == M4_ERR_INVALID_ARGUMENT && m4_model_set_adam(m, NULL, p2, np) == M4_ERR_INVALID_ARGUMENT &&
              m4_model_set_adam(m, p, NULL, np) == M4_ERR_INVALID_ARGUMENT && m4_model_set_adam(m, p, p2, (size_t)-1) == M4_ERR_INVALID_ARGUMENT,
          "set_adam NULL or size");
    for (int i = 0; i < N_BAD; i++)
        CHECK(m4_model_set_threads(m, bad_ints[i]) == M4_ERR_INVALID_ARGUMENT, "set_threads %d", bad_ints[i]);
    CHECK(m4_model_set_threads(NULL, 1) == M4_ERR_INVALID_ARGUMENT, "set_threads NULL");
    CHECK(m4_model_set_kernel(NULL, "generic") == M4_ERR_INVALID_ARGUMENT && m4_model_set_kernel(m, NULL) != M4_OK &&
              m4_model_set_kernel(m, "no-such-kernel") != M4_OK,
          "set_kernel NULL or unknown");
    float shift[M4_FEAT_ROW] = {0}, scale[M4_FEAT_ROW];
    for (int j = 0; j < M4_FEAT_ROW; j++) scale[j] = 1;
    CHECK(m4_model_set_input_norm(NULL, shift, scale) == M4_ERR_INVALID_ARGUMENT &&
              m4_model_set_input_norm(m, shift, NULL) == M4_ERR_INVALID_ARGUMENT &&
              m4_model_set_input_norm(m, NULL, scale) == M4_ERR_INVALID_ARGUMENT,
          "set_input_norm with one NULL");

    /* forward: NULL arrays, batch and row counts out of range */
    int32_t rows[2] = {3, 2};
    static float feat[5 * M4_FEAT_ROW], out[2 * M4_FEAT_OUTPUTS];
    uint8_t empty[5 * M4_FEAT_BUCKETS] = {0};
    CHECK(m4_model_forward(m, 2, rows, feat, empty, 0, 0, out) == M4_OK, "forward");
    CHECK(m4_model_forward(NULL, 2, rows, feat, empty, 0, 0, out) == M4_ERR_INVALID_ARGUMENT &&
              m4_model_forward(m, 2, NULL, feat, empty, 0, 0, out) == M4_ERR_INVALID_ARGUMENT &&
              m4_model_forward(m, 2, rows, NULL, empty, 0, 0, out) == M4_ERR_INVALID_ARGUMENT &&
              m4_model_forward(m, 2, rows, feat, empty, 0, 0, NULL) == M4_ERR_INVALID_ARGUMENT,
          "forward with a NULL array");
    for (int i = 0; i < N_BAD; i++) {
        int v = bad_ints[i];
        CHECK(m4_model_forward(m, v, rows, feat, empty, 0, 0, out) == M4_ERR_INVALID_ARGUMENT, "forward batch %d", v);
        int32_t r2[2] = {3, v};
        CHECK(m4_model_forward(m, 2, r2, feat, empty, 0, 0, out) != M4_OK, "forward with a scenario of %d rows", v);
    }
    CHECK(m4_model_forward(m, 3, rows, feat, empty, 0, 0, out) == M4_ERR_INVALID_ARGUMENT, "forward past max_batch");
    int32_t big[2] = {INT32_MAX, 2};
    CHECK(m4_model_forward(m, 2, big, feat, empty, 0, 0, out) != M4_OK, "forward with INT32_MAX rows");
    float target[2 * M4_FEAT_OUTPUTS], mask[2 * M4_FEAT_OUTPUTS], loss, dout[2 * M4_FEAT_OUTPUTS] = {0};
    for (int k = 0; k < 2 * M4_FEAT_OUTPUTS; k++) target[k] = 2, mask[k] = 1;
    CHECK(m4_model_loss(NULL, target, mask, &loss) == M4_ERR_INVALID_ARGUMENT && m4_model_loss(m, NULL, mask, &loss) == M4_ERR_INVALID_ARGUMENT &&
              m4_model_loss(m, target, NULL, &loss) == M4_ERR_INVALID_ARGUMENT && m4_model_loss(m, target, mask, NULL) == M4_ERR_INVALID_ARGUMENT,
          "loss with a NULL");
    CHECK(m4_model_backward(NULL, target, mask, &loss) == M4_ERR_INVALID_ARGUMENT &&
              m4_model_backward(m, NULL, mask, &loss) == M4_ERR_INVALID_ARGUMENT &&
              m4_model_backward(m, target, NULL, &loss) == M4_ERR_INVALID_ARGUMENT,
          "backward with a NULL");
    CHECK(m4_model_backward_dout(NULL, dout) == M4_ERR_INVALID_ARGUMENT && m4_model_backward_dout(m, NULL) == M4_ERR_INVALID_ARGUMENT,
          "backward_dout with a NULL");
    for (int i = 0; i < N_BAD; i++)
        CHECK(m4_model_adamw(m, 1e-3f, 0.9f, 0.95f, 1e-8f, 0, bad_ints[i]) == M4_ERR_INVALID_ARGUMENT, "adamw step %d",
              bad_ints[i]);
    CHECK(m4_model_adamw(NULL, 1e-3f, 0.9f, 0.95f, 1e-8f, 0, 1) == M4_ERR_INVALID_ARGUMENT, "adamw NULL");
    CHECK(m4_model_adamw(m, NAN, 0.9f, 0.95f, 1e-8f, 0, 1) == M4_ERR_INVALID_ARGUMENT, "adamw NaN lr");
    m4_model_destroy(m);
    m4_model_destroy(NULL);
    CHECK(m4_bench_sgemm(-1, 4, 4, 1, 1) < 0 && m4_bench_sgemm(4, 4, 4, -1, 1) < 0 && m4_bench_sgemm(4, 4, 4, 1, -1) < 0,
          "bench_sgemm negative sizes");
}

static void test_checkpoint_estimate(void) {
    char err[256];
    m4_model *m = NULL;
    m4_checkpoint_info info;
    CHECK(m4_model_load(&m, NULL, 1, &info, err, sizeof err) == M4_ERR_INVALID_ARGUMENT && !m, "load NULL path");
    CHECK(m4_model_load_buffer(&m, NULL, 10, "x", 1, &info, err, sizeof err) == M4_ERR_INVALID_ARGUMENT && !m,
          "load_buffer NULL data");
    CHECK(m4_model_load_buffer(&m, "", 0, NULL, 1, &info, NULL, 0) == M4_ERR_FORMAT && !m, "load_buffer empty, NULL name");
    for (int i = 0; i < N_BAD; i++)
        CHECK(m4_model_load_buffer(&m, "abcdefgh", 8, "x", bad_ints[i], NULL, err, sizeof err) == M4_ERR_FORMAT && !m,
              "load_buffer max_batch %d", bad_ints[i]);
    CHECK(m4_model_load(&m, "/nonexistent", 1, NULL, NULL, 0) == M4_ERR_IO && !m, "load without err buffer");

    m4_model_config c = tiny();
    CHECK(m4_model_create(&m, &c, 1, 0, 0) == M4_OK, "create");
    double at[2] = {0, 1}, size[2] = {100, 200}, params[M4_FEAT_PARAMS] = {0};
    int32_t src[2] = {0, 0}, dst[2] = {3, 3};
    float out[M4_FEAT_OUTPUTS];
    m4_path_scenario sc = {4, 2, at, size, src, dst, params};
    CHECK(m4_estimate_path(m, &sc, out, err, sizeof err) == M4_OK, "estimate: %s", err);
    CHECK(m4_estimate_path(NULL, &sc, out, err, sizeof err) == M4_ERR_INVALID_ARGUMENT &&
              m4_estimate_path(m, NULL, out, err, sizeof err) == M4_ERR_INVALID_ARGUMENT &&
              m4_estimate_path(m, &sc, NULL, NULL, 0) == M4_ERR_INVALID_ARGUMENT,
          "estimate with a NULL");
    for (int k = 0; k < 5; k++) {
        m4_path_scenario b = sc;
        switch (k) {
        case 0: b.arrival_ns = NULL; break;
        case 1: b.size_bytes = NULL; break;
        case 2: b.params = NULL; break;
        case 3: b.src = NULL; break;
        default: b.dst = NULL;
        }
        CHECK(m4_estimate_path(m, &b, out, err, sizeof err) == M4_ERR_INVALID_ARGUMENT, "estimate with array %d NULL", k);
    }
    m4_path_scenario b;
    for (int i = 0; i < N_BAD; i++) {
        b = sc;
        b.n_hosts = bad_ints[i];
        CHECK(m4_estimate_path(m, &b, out, err, sizeof err) == M4_ERR_INVALID_ARGUMENT, "estimate %d hosts", b.n_hosts);
    }
    b = sc;
    b.n_flows = (size_t)-1;
    CHECK(m4_estimate_path(m, &b, out, err, sizeof err) != M4_OK, "estimate (size_t)-1 flows");
    m4_model_destroy(m);
    for (int i = 0; i < N_BAD; i++)
        CHECK(m4_slowdowns_valid(out, bad_ints[i], 100) == -1 && m4_slowdowns_valid(out, 4, bad_ints[i]) == -1,
              "slowdowns_valid size %d", bad_ints[i]);
    CHECK(m4_slowdowns_valid(NULL, 4, 100) == -1, "slowdowns_valid NULL");
    m4_trained_ranges r;
    memset(&r, 0, sizeof r);
    m4_cc_config cc = {0};
    cc.cc = M4_CC_DCTCP;
    char rep[8];
    CHECK(m4_check_config(NULL, &cc, 1, rep, sizeof rep) == -1 && m4_check_config(&r, NULL, 1, rep, sizeof rep) == -1,
          "check_config NULL");
    cc.cc = -5;
    CHECK(m4_check_config(&r, &cc, 1, NULL, 0) == -1, "check_config unknown CC");
    cc.cc = M4_CC_DCTCP, cc.buffer_kb = -1;
    r.has = 1, r.cc[0] = 1, r.pfc[0] = 1, r.network[1] = 1, r.lo[0] = 1, r.hi[0] = 2;
    CHECK(m4_check_config(&r, &cc, 1, rep, sizeof rep) >= 1 && strlen(rep) < sizeof rep, "check_config tiny report: %s", rep);
}

static void test_pktsim(void) {
    m4_pktsim_config cfg;
    m4_pktsim_config_default(&cfg);
    cfg.cc_mode = M4_CC_DCTCP;
    uint8_t sw[3] = {0, 0, 1};
    int32_t la[2] = {0, 1}, lb[2] = {2, 2};
    uint64_t rate[2] = {10000000000ULL, 10000000000ULL}, delay[2] = {1000, 1000};
    m4_pktsim_topology topo = {3, sw, 2, la, lb, rate, delay, NULL};
    m4_pktsim *s = NULL;
    CHECK(m4_pktsim_create(NULL, &cfg, &topo) == M4_ERR_INVALID_ARGUMENT, "create NULL out");
    CHECK(m4_pktsim_create(&s, NULL, &topo) == M4_ERR_INVALID_ARGUMENT, "create NULL cfg");
    m4_pktsim_destroy(s);
    s = NULL;
    CHECK(m4_pktsim_create(&s, &cfg, NULL) == M4_ERR_INVALID_ARGUMENT, "create NULL topology");
    m4_pktsim_destroy(s);
    for (int i = 0; i < N_BAD; i++) {
        m4_pktsim_topology t = topo;
        t.n_nodes = bad_ints[i];
        s = NULL;
        CHECK(m4_pktsim_create(&s, &cfg, &t) != M4_OK, "create %d nodes", t.n_nodes);
        m4_pktsim_destroy(s);
        t = topo;
        t.n_links = bad_ints[i];
        s = NULL;
        CHECK(m4_pktsim_create(&s, &cfg, &t) != M4_OK, "create %d links", t.n_links);
        m4_pktsim_destroy(s);
    }
    const void **tp[5] = {(const void **)&topo.is_switch, (const void **)&topo.link_a, (const void **)&topo.link_b,
                          (const void **)&topo.rate_bps, (const void **)&topo.delay_ns};
    for (int k = 0; k < 5; k++) {
        const void *keep = *tp[k];
        *tp[k] = NULL;
        s = NULL;
        CHECK(m4_pktsim_create(&s, &cfg, &topo) != M4_OK, "create with topology array %d NULL", k);
        m4_pktsim_destroy(s);
        *tp[k] = keep;
    }
    s = NULL;
    CHECK(m4_pktsim_create(&s, &cfg, &topo) == M4_OK && s, "create: %s", m4_pktsim_error(s));
    uint32_t id[1] = {0};
    int32_t fs[1] = {0}, fd[1] = {1};
    uint16_t pg[1] = {3}, dport[1] = {100};
    uint64_t fsize[1] = {1000}, start[1] = {0};
    m4_pktsim_flows fl = {1, id, fs, fd, pg, dport, fsize, start};
    int64_t fct[1];
    m4_pktsim_result res = {fct, NULL, NULL, NULL};
    CHECK(m4_pktsim_run(NULL, &fl, &res) == M4_ERR_INVALID_ARGUMENT && m4_pktsim_run(s, NULL, &res) == M4_ERR_INVALID_ARGUMENT &&
              m4_pktsim_run(s, &fl, NULL) == M4_ERR_INVALID_ARGUMENT,
          "run with a NULL");
    m4_pktsim_result nores = {NULL, NULL, NULL, NULL};
    CHECK(m4_pktsim_run(s, &fl, &nores) == M4_ERR_INVALID_ARGUMENT, "run without fct_ns");
    const void **fp[7] = {(const void **)&fl.id, (const void **)&fl.src, (const void **)&fl.dst, (const void **)&fl.pg,
                          (const void **)&fl.dport, (const void **)&fl.size_bytes, (const void **)&fl.start_ns};
    for (int k = 0; k < 7; k++) {
        const void *keep = *fp[k];
        *fp[k] = NULL;
        CHECK(m4_pktsim_run(s, &fl, &res) != M4_OK, "run with flow array %d NULL", k);
        *fp[k] = keep;
    }
    int32_t negh[1] = {-1};
    fl.src = negh;
    CHECK(m4_pktsim_run(s, &fl, &res) == M4_ERR_INVALID_INPUT, "run from host -1");
    fl.src = fs;
    CHECK(m4_pktsim_error(NULL) != NULL, "error of NULL");
    m4_pktsim_get_stats(NULL, NULL);
    m4_pktsim_get_stats(s, NULL);
    size_t n = 7;
    CHECK(m4_pktsim_pfc_trace(NULL, &n) == NULL && n == 0, "pfc trace of NULL");
    m4_pktsim_pfc_trace(s, NULL);
    size_t np, nk;
    const int32_t *node, *ifx;
    const uint64_t *counts;
    CHECK(m4_pktsim_qlen_hist(NULL, &np, &nk, &node, &ifx, &counts) == M4_ERR_INVALID_ARGUMENT, "qlen of NULL");
    CHECK(m4_pktsim_qlen_hist(s, NULL, NULL, NULL, NULL, NULL) == M4_ERR_INVALID_ARGUMENT, "qlen into NULL");
    m4_pktsim_trace tr;
    CHECK(m4_pktsim_set_trace(NULL, 1) == M4_ERR_INVALID_ARGUMENT, "set_trace of NULL");
    CHECK(m4_pktsim_get_trace(NULL, &tr) == M4_ERR_INVALID_ARGUMENT && m4_pktsim_get_trace(s, NULL) == M4_ERR_INVALID_ARGUMENT,
          "get_trace with a NULL");
    CHECK(m4_pktsim_get_trace(s, &tr) == M4_OK && tr.n_events == 0 && tr.active_ptr == NULL, "trace of a run without it");
    CHECK(m4_pktsim_links(NULL, NULL, NULL, NULL, NULL) == M4_ERR_INVALID_ARGUMENT, "links of NULL");
    CHECK(m4_pktsim_links(s, NULL, NULL, NULL, NULL) == M4_OK, "links into NULL arrays (none wanted)");
    int64_t rptr[2];
    CHECK(m4_pktsim_routes(NULL, &fl, rptr, NULL, 0) == M4_ERR_INVALID_ARGUMENT &&
              m4_pktsim_routes(s, NULL, rptr, NULL, 0) == M4_ERR_INVALID_ARGUMENT &&
              m4_pktsim_routes(s, &fl, NULL, NULL, 0) == M4_ERR_INVALID_ARGUMENT,
          "routes with a NULL");
    fl.src = negh;
    CHECK(m4_pktsim_routes(s, &fl, rptr, NULL, 0) == M4_ERR_INVALID_INPUT, "routes from host -1");
    fl.src = fs;
    m4_pktsim_destroy(s);
    m4_pktsim_destroy(NULL);
}

int main(void) {
    test_misc();
    test_flowsim();
    test_features();
    test_model();
    test_checkpoint_estimate();
    test_pktsim();
    CHECK_DONE("api_test");
}
