/*
 * dynamics_checkpoint_test.c: m4_dyn_load on a dynamics checkpoint written
 * by m4's Go encoder (fixtures/dyn_small.safetensors; pipeline/dynamics's
 * TestFixture checks it is what the encoder writes today): hidden 4, gnn
 * width 3, 2 graph layers, heads of 2, 2 configuration values; parameters
 * m4_dyn_init(7), AdamW moments i/1024 and i/4096 for parameter i, a
 * training record with step 3. Then damaged copies of it, each refused with
 * a message naming the field. Fixtures are found through $M4_SOURCE_DIR
 * (ctest sets it) or ../native/tests.
 */
#include "m4.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE "dyn_small.safetensors"

static void fixture_path(char *path, size_t n) {
    const char *root = getenv("M4_SOURCE_DIR");
    snprintf(path, n, "%s/native/tests/fixtures/" FIXTURE, root ? root : "..");
}

/* read_all returns the file's bytes (NULL if it cannot be read). */
static unsigned char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = n > 0 ? malloc((size_t)n) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = b ? (size_t)n : 0;
    return b;
}

static m4_dyn_config fixture_config(void) {
    m4_dyn_config c;
    m4_dyn_config_default(&c);
    c.hidden = 4, c.gnn_width = 3, c.gnn_layers = 2, c.mlp_hidden = 2;
    c.w_remain = 0.25f, c.w_queue = 0.5f, c.queue_norm_bytes = 1000, c.n_params = 2;
    return c;
}

/* test_ranges: the fixture's trained ranges (DCTCP at 1-4 MB and HPCC at
 * 2 MB buffers, window 16000, 32-64 hosts, 10 and 40 Gbps links; see
 * pipeline/dynamics TestFixture) as read, and workloads checked against them. */
static void test_ranges(const m4_dyn_checkpoint_info *info) {
    const m4_trained_ranges *r = &info->ranges;
    CHECK(r->has && r->cc[0] && !r->cc[1] && r->cc[2] && !r->cc[3] && r->pfc[1] && !r->pfc[0] && r->network[1] &&
              r->lo[M4_RANGE_BUFFER_KB] == 1024 && r->hi[M4_RANGE_BUFFER_KB] == 4096 && info->hosts[0] == 32 &&
              info->hosts[1] == 64 && info->n_link_gbps == 2 && info->link_gbps[0] == 10 && info->link_gbps[1] == 40,
          "ranges: has %d cc %d%d%d%d buffer [%g, %g] hosts [%d, %d] %d rates", r->has, r->cc[0], r->cc[1], r->cc[2],
          r->cc[3], r->lo[M4_RANGE_BUFFER_KB], r->hi[M4_RANGE_BUFFER_KB], info->hosts[0], info->hosts[1],
          info->n_link_gbps);
    m4_cc_config c;
    memset(&c, 0, sizeof c);
    c.cc = M4_CC_DCTCP, c.buffer_kb = 2048, c.window_bytes = 16000, c.pfc = 1, c.dctcp_k = 20;
    const double ok_rates[] = {10, 40, 10, 40};
    char rep[512];
    CHECK(m4_dyn_check_workload(info, &c, 48, ok_rates, 4, rep, sizeof rep) == 0 && rep[0] == 0, "inside: %s", rep);
    /* a 256-host network of 100/400 Gbps links at 3 MB */
    const double rates[] = {100, 400, 100, 400, 10};
    int n = m4_dyn_check_workload(info, &c, 256, rates, 5, rep, sizeof rep);
    CHECK(n == 3 && strstr(rep, "hosts = 256 is outside the trained range [32, 64]\n") &&
              strstr(rep, "link rate = 100 Gbps was never trained on\n") &&
              strstr(rep, "link rate = 400 Gbps was never trained on\n") && !strstr(rep, "10 Gbps"),
          "256 hosts, 100/400 Gbps: %d \"%s\"", n, rep);
    c.buffer_kb = 32768, c.dctcp_k = 200;
    n = m4_dyn_check_workload(info, &c, 16, NULL, 0, rep, sizeof rep);
    CHECK(n == 3 && strstr(rep, "buffer_kb = 32768 is outside the trained range [1024, 4096]\n") &&
              strstr(rep, "dctcp_k = 200 is outside the trained range [20, 20]\n") && strstr(rep, "hosts = 16 "),
          "32 MB buffer, K 200, 16 hosts: %d \"%s\"", n, rep);
    c.cc = M4_CC_TIMELY;
    n = m4_dyn_check_workload(info, &c, 32, ok_rates, 2, NULL, 0);
    CHECK(n == 1, "TIMELY, never trained on: %d", n);
    CHECK(m4_dyn_check_workload(info, &c, 32, ok_rates, 2, rep, 8) == 1 && strlen(rep) == 7, "a short report: %s",
          rep);
    CHECK(m4_dyn_check_workload(NULL, &c, 32, NULL, 0, NULL, 0) == -1 &&
              m4_dyn_check_workload(info, NULL, 32, NULL, 0, NULL, 0) == -1 &&
              m4_dyn_check_workload(info, &c, 32, NULL, 3, NULL, 0) == -1,
          "NULL accepted");
    m4_dyn_checkpoint_info none;
    memset(&none, 0, sizeof none);
    c.cc = M4_CC_DCTCP;
    CHECK(m4_dyn_check_workload(&none, &c, 4096, rates, 5, rep, sizeof rep) == 0 && rep[0] == 0,
          "a checkpoint without ranges reports: %s", rep);
}

static void test_load(const unsigned char *b, size_t len, const char *path) {
    m4_dyn_config want = fixture_config();
    m4_dyn *ref = NULL;
    CHECK(m4_dyn_create(&ref, &want, 0) == M4_OK && m4_dyn_init(ref, 7) == M4_OK, "reference model");
    if (!ref) return;
    size_t n = m4_dyn_num_params(ref);

    /* for training: parameters and moments */
    m4_dyn *m = NULL;
    m4_dyn_checkpoint_info info;
    char err[512];
    m4_status st = m4_dyn_load_buffer(&m, b, len, "fixture", 1, &info, err, sizeof err);
    CHECK(st == M4_OK && m, "load: %d %s", st, err);
    if (m) {
        m4_dyn_config got;
        m4_dyn_get_config(m, &got);
        CHECK(memcmp(&got, &want, sizeof got) == 0 && memcmp(&info.config, &want, sizeof want) == 0,
              "config: hidden %d gnn_width %d n_params %d w_queue %g", got.hidden, got.gnn_width, got.n_params,
              (double)got.w_queue);
        CHECK(m4_dyn_num_params(m) == n && memcmp(m4_dyn_params(m), m4_dyn_params(ref), n * sizeof(float)) == 0,
              "parameters differ from m4_dyn_init(7)'s");
        CHECK(info.has_optimizer_state == 1, "has_optimizer_state %d", info.has_optimizer_state);
        CHECK(info.training && strstr(info.training, "\"step\":3") && info.training[0] == '{',
              "training record: %s", info.training ? info.training : "(null)");
        test_ranges(&info);
        float *m1 = malloc(n * sizeof(float)), *m2 = malloc(n * sizeof(float));
        CHECK(m1 && m2 && m4_dyn_get_adam(m, m1, m2, n) == M4_OK, "moments");
        int bad = 0;
        for (size_t i = 0; m1 && m2 && i < n; i++) bad += m1[i] != (float)i / 1024 || m2[i] != (float)i / 4096;
        CHECK(bad == 0, "%d moments differ from i/1024, i/4096", bad);
        free(m1);
        free(m2);
        m4_dyn_destroy(m);
    }
    m4_dyn_checkpoint_info_free(&info);
    CHECK(info.training == NULL, "info_free leaves a pointer");

    /* for inference: the moments are checked and dropped */
    m = NULL;
    st = m4_dyn_load(&m, path, 0, NULL, err, sizeof err);
    CHECK(st == M4_OK && m, "load %s: %d %s", path, st, err);
    if (m) {
        float x;
        CHECK(m4_dyn_grads(m) == NULL && m4_dyn_get_adam(m, &x, &x, n) != M4_OK, "an inference model has moments");
        CHECK(memcmp(m4_dyn_params(m), m4_dyn_params(ref), n * sizeof(float)) == 0, "parameters (path)");
        m4_dyn_destroy(m);
    }
    /* check only */
    CHECK(m4_dyn_load_buffer(NULL, b, len, "fixture", 0, NULL, NULL, 0) == M4_OK, "check only");
    m4_dyn_destroy(ref);

    st = m4_dyn_load(&m, "/nonexistent/dyn.safetensors", 0, &info, err, sizeof err);
    CHECK(st == M4_ERR_IO && !m && strstr(err, "/nonexistent/dyn.safetensors: "), "missing file: %d %s", st, err);
    /* the path model's reader refuses it, naming the format */
    m4_model *pm = NULL;
    st = m4_model_load_buffer(&pm, b, len, "fixture", 1, NULL, err, sizeof err);
    CHECK(st == M4_ERR_FORMAT && !pm && strstr(err, "\"m4-dynamics\", want \"m4-checkpoint\""), "m4_model_load: %s",
          err);
}

/* replace overwrites the first old in b[0..len) with new (same length). */
static int replace(unsigned char *b, size_t len, const char *old, const char *new) {
    size_t n = strlen(old);
    if (strlen(new) != n) return 0;
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(b + i, old, n) == 0) {
            memcpy(b + i, new, n);
            return 1;
        }
    return 0;
}

static void test_broken(const unsigned char *good, size_t len) {
    static const struct {
        const char *name, *old, *new; /* an edit of the header; old NULL: see cut/flip */
        size_t cut;                    /* bytes cut from the end */
        int flip;                      /* flip the last data bit */
        const char *want;
    } cases[] = {
        {"truncated", NULL, NULL, 4, 0, "truncated: tensors need"},
        {"short", NULL, NULL, 0, 0, "truncated: 5 bytes"},
        {"flipped bit", NULL, NULL, 0, 1, "metadata data_sha256: the tensor data hash to"},
        {"format", "\"m4-dynamics\"", "\"m4-dynamicz\"", 0, 0,
         "metadata format = \"m4-dynamicz\", want \"m4-dynamics\" (not an m4 dynamics checkpoint)"},
        {"version", "\"format_version\":\"1\"", "\"format_version\":\"2\"", 0, 0,
         "metadata format_version = \"2\": unknown version"},
        {"config range", "\\\"hidden\\\":4,", "\\\"hidden\\\":0,", 0, 0,
         "metadata dyn_config: hidden = 0, want 1..16384"},
        {"config type", "\\\"ln_eps\\\":0.00001", "\\\"ln_eps\\\":true   ", 0, 0,
         "metadata dyn_config: ln_eps is not a finite float32"},
        {"config field", "\\\"n_params\\\"", "\\\"n_paramz\\\"", 0, 0,
         "metadata dyn_config: unknown field \"n_paramz\""},
        {"config too big", "\\\"hidden\\\":4,", "\\\"hidden\\\":9,", 0, 0,
         "metadata dyn_config: a model of"},
        {"shape", "\"flow_init.weight\":{\"dtype\":\"F32\",\"shape\":[4,5]",
         "\"flow_init.weight\":{\"dtype\":\"F32\",\"shape\":[5,4]", 0, 0,
         "tensor flow_init.weight: shape [5 4], want [4 5]"},
        {"dims", "\"flow_init.bias\":{\"dtype\":\"F32\",\"shape\":[4]",
         "\"flow_init.bias\":{\"dtype\":\"F32\",\"shape\":[] ", 0, 0, "tensor flow_init.bias: shape [], want [4]"},
        {"dtype", "\"flow_init.bias\":{\"dtype\":\"F32\"", "\"flow_init.bias\":{\"dtype\":\"F16\"", 0, 0,
         "tensor flow_init.bias: dtype \"F16\" not allowed here (want F32)"},
        {"unknown tensor", "\"optim.exp_avg.flow_init.bias\"", "\"optiz.exp_avg.flow_init.bias\"", 0, 0,
         "tensor optiz.exp_avg.flow_init.bias: unknown to a dynamics model of this config"},
        {"training", "\"training\":\"{", "\"training\":\"[", 0, 0, "metadata training: "},
        {"metadata key", "\"dyn_config\"", "\"dyn_confix\"", 0, 0, "metadata: unknown key \"dyn_confix\""},
        {"ranges hosts", "\\\"hosts\\\":[32,64],\\\"link", "\\\"hosts\\\":[64,32],\\\"link", 0, 0,
         "metadata training: ranges.hosts is not [lo, hi]"},
        {"ranges rates", "\\\"link_gbps\\\":[10,40]", "\\\"link_gbps\\\":[40,10]", 0, 0,
         "metadata training: ranges.link_gbps holds a rate that is not positive and ascending"},
        {"ranges cc", "\\\"hpcc\\\"]", "\\\"hpcx\\\"]", 0, 0,
         "metadata training: ranges.config.cc holds an unknown algorithm"},
        {"ranges value", "\\\"buffer_kb\\\":[1024,4096]", "\\\"buffer_kb\\\":[4096,1024]", 0, 0,
         "metadata training: ranges.config.values.buffer_kb is not [lo, hi]"},
    };
    unsigned char *b = malloc(len);
    for (size_t i = 0; b && i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(b, good, len);
        size_t n = len - cases[i].cut;
        if (strcmp(cases[i].name, "short") == 0) n = 5;
        if (cases[i].flip) b[len - 1] ^= 1;
        if (cases[i].old && !replace(b, n, cases[i].old, cases[i].new)) {
            CHECK(0, "case %s: the fixture has no %s", cases[i].name, cases[i].old);
            continue;
        }
        char err[512] = "";
        m4_dyn *m = NULL;
        m4_dyn_checkpoint_info info;
        m4_status st = m4_dyn_load_buffer(&m, b, n, "bad.safetensors", 1, &info, err, sizeof err);
        CHECK(st == M4_ERR_FORMAT && !m && info.training == NULL && strncmp(err, "bad.safetensors: ", 17) == 0 &&
                  strstr(err, cases[i].want),
              "case %s: status %d, \"%s\", want \"%s\"", cases[i].name, st, err, cases[i].want);
        m4_dyn_destroy(m);
        m4_dyn_checkpoint_info_free(&info);
    }
    free(b);
}

static void test_config_check(void) {
    m4_dyn_config c;
    m4_dyn_config_default(&c);
    char msg[128];
    CHECK(m4_dyn_config_check(&c, msg, sizeof msg) == M4_OK && msg[0] == 0, "default config: %s", msg);
    c.gnn_layers = 9;
    CHECK(m4_dyn_config_check(&c, msg, sizeof msg) == M4_ERR_INVALID_ARGUMENT &&
              strcmp(msg, "gnn_layers = 9, want 1..8") == 0,
          "gnn_layers 9: %s", msg);
    m4_dyn *m = NULL;
    CHECK(m4_dyn_create(&m, &c, 0) == M4_ERR_INVALID_ARGUMENT && !m, "create accepts what check refuses");
    m4_dyn_config_default(&c);
    c.queue_norm_bytes = 0;
    CHECK(m4_dyn_config_check(&c, msg, sizeof msg) == M4_ERR_INVALID_ARGUMENT && strstr(msg, "queue_norm_bytes"),
          "queue_norm_bytes 0: %s", msg);
}

int main(void) {
    char path[1024];
    fixture_path(path, sizeof path);
    size_t len;
    unsigned char *b = read_all(path, &len);
    CHECK(b, "fixture %s: cannot read (set M4_SOURCE_DIR to the repository root)", path);
    if (b) {
        test_load(b, len, path);
        test_broken(b, len);
    }
    free(b);
    test_config_check();
    CHECK_DONE("dynamics_checkpoint_test");
}
