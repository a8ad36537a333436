/* checkpoint_test.c: m4_model_load on checkpoints written here in the format
 * of docs/checkpoint.md (F32, F16, input normalisation, AdamW state), on
 * broken ones (each must fail with M4_ERR_FORMAT naming the problem), and
 * m4_estimate_path against the same chain run step by step. The Go side
 * checks the C reader on files Go's writer made (bindings/checkpoint_test.go). */
#include "m4.h"
#include "check.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* a growable byte buffer */
typedef struct {
    char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *data, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
    b->p[b->n] = 0;
}

__attribute__((format(printf, 2, 3))) static void putf(buf *b, const char *fmt, ...) {
    char tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    put(b, tmp, (size_t)k);
}

static m4_model_config small_config(void) {
    m4_model_config c;
    m4_model_config_default(&c);
    c.dim = 8;
    c.n_layers = 1;
    c.n_heads = 2;
    c.hidden_dim = 12;
    c.max_seq = 6;
    c.mlp_hidden1 = 6;
    c.mlp_hidden2 = 5;
    return c;
}

static const char *M3_FEATURES =
    "{\\\"name\\\":\\\"m3-path-v1\\\",\\\"row_width\\\":1019,\\\"input_buckets\\\":10,\\\"percentiles\\\":100,"
    "\\\"params\\\":19,\\\"input_edges\\\":[250,500,750,1000,2000,5000,7500,10000,50000],"
    "\\\"output_edges\\\":[1000,10000,50000],\\\"percentile_method\\\":\\\"nearest\\\","
    "\\\"normalisation\\\":\\\"none \\u0026 m3's\\\",\\\"empty_buckets\\\":\\\"const_tensor\\\",\\\"output\\\":\\\"p1..p100\\\"}";

typedef struct {
    int f16;          /* parameters as F16 */
    int norm;         /* add input_norm.shift/scale */
    int optim;        /* add AdamW state */
    const char *version;
    const char *features;   /* the features JSON (escaped) */
    const char *extra_meta; /* appended inside __metadata__ */
    const char *training;   /* the training JSON (escaped) */
    const char *extra_cfg;  /* appended inside model_config */
    const char *rename_from, *rename_to; /* rename a tensor in the header */
    int nan_at;       /* parameter index made NaN, or -1 */
    int gap;          /* make the first tensor's data_offsets leave a gap */
    int dup;          /* repeat the first tensor's entry */
} ckopts;

static ckopts defaults(void) {
    ckopts o = {0};
    o.version = "1";
    o.features = M3_FEATURES;
    o.extra_meta = "";
    o.training = "{\\\"seed\\\":1}";
    o.extra_cfg = "";
    o.nan_at = -1;
    return o;
}

static uint16_t f32_to_f16_exact(float v) {
    /* the values used here are k/64 with |k| < 512: exact in F16 */
    if (v == 0) return 0;
    uint32_t b;
    memcpy(&b, &v, 4);
    uint32_t sign = (b >> 16) & 0x8000, exp = (b >> 23) & 0xFF, mant = b & 0x7FFFFF;
    return (uint16_t)(sign | ((exp - 112) << 10) | (mant >> 13));
}

/* write_ckpt makes a checkpoint image of model m's parameters (and shift/scale). */
static buf write_ckpt(const m4_model *m, const float *shift, const float *scale, ckopts o) {
    m4_model_config c;
    m4_model_get_config(m, &c);
    const float *params = m4_model_params(m);
    buf h = {0}, d = {0};
    putf(&h, "{\"__metadata__\":{\"format\":\"m4-checkpoint\",\"format_version\":\"%s\",", o.version);
    putf(&h,
         "\"model_config\":\"{\\\"feat_dim\\\":%d,\\\"n_buckets_in\\\":%d,\\\"n_pct\\\":%d,\\\"dim\\\":%d,"
         "\\\"n_layers\\\":%d,\\\"n_heads\\\":%d,\\\"hidden_dim\\\":%d,\\\"max_seq\\\":%d,\\\"mlp_hidden1\\\":%d,"
         "\\\"mlp_hidden2\\\":%d,\\\"out_dim\\\":%d,\\\"norm_eps\\\":1e-05,\\\"rope_theta\\\":10000,\\\"dropout\\\":0.2%s}\",",
         c.feat_dim, c.n_buckets_in, c.n_pct, c.dim, c.n_layers, c.n_heads, c.hidden_dim, c.max_seq,
         c.mlp_hidden1, c.mlp_hidden2, c.out_dim, o.extra_cfg);
    putf(&h, "\"features\":\"%s\",\"training\":\"%s\"%s}", o.features, o.training, o.extra_meta);
    int nt = m4_model_num_tensors(m);
    for (int pass = 0; pass < 3; pass++) {
        if (pass > 0 && !o.optim) break;
        for (int t = 0; t < nt; t++) {
            m4_tensor_info ti;
            m4_model_tensor(m, t, &ti);
            const char *prefix = pass == 0 ? "" : pass == 1 ? "adamw.exp_avg." : "adamw.exp_avg_sq.";
            const char *name = ti.name;
            if (pass == 0 && o.rename_from && strcmp(name, o.rename_from) == 0) name = o.rename_to;
            size_t begin = d.n;
            int f16 = pass == 0 && o.f16;
            for (size_t i = 0; i < ti.size; i++) {
                float v = pass == 0 ? params[ti.offset + i] : (pass == 1 ? 0.5f : 0.25f);
                if (pass == 0 && (int)(ti.offset + i) == o.nan_at) v = NAN;
                if (f16) {
                    uint16_t hv = f32_to_f16_exact(v);
                    if (v != v) hv = 0x7E00;
                    put(&d, &hv, 2);
                } else {
                    put(&d, &v, 4);
                }
            }
            size_t end = d.n;
            if (pass == 0 && t == 0 && o.gap) begin += 4;
            putf(&h, ",\"%s%s\":{\"dtype\":\"%s\",\"shape\":[%d", prefix, name, f16 ? "F16" : "F32", ti.shape[0]);
            if (ti.ndim == 2) putf(&h, ",%d", ti.shape[1]);
            putf(&h, "],\"data_offsets\":[%zu,%zu]}", begin, end);
            if (pass == 0 && t == 0 && o.dup)
                putf(&h, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", name);
        }
    }
    if (o.norm) {
        const char *names[2] = {"input_norm.shift", "input_norm.scale"};
        const float *vals[2] = {shift, scale};
        for (int k = 0; k < 2; k++) {
            size_t begin = d.n;
            put(&d, vals[k], (size_t)c.feat_dim * 4);
            putf(&h, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}", names[k], c.feat_dim,
                 begin, d.n);
        }
    }
    put(&h, "}", 1);
    while ((8 + h.n) % 8) put(&h, " ", 1);
    buf out = {0};
    uint64_t hl = h.n;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(hl >> (8 * i));
    put(&out, le, 8);
    put(&out, h.p, h.n);
    put(&out, d.p, d.n);
    free(h.p);
    free(d.p);
    return out;
}

static m4_model *new_model(void) {
    m4_model_config c = small_config();
    m4_model *m = NULL;
    if (m4_model_create(&m, &c, 2, 0, 0) != M4_OK) return NULL;
    /* f16-exact, distinct values */
    size_t n = m4_model_num_params(m);
    float *p = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = (float)((int)(i % 509) - 254) / 64.0f;
    m4_model_set_params(m, p, n);
    free(p);
    return m;
}

static void test_round_trip(const m4_model *src) {
    size_t n = m4_model_num_params(src);
    for (int f16 = 0; f16 < 2; f16++)
        for (int optim = 0; optim < 2; optim++) {
            ckopts o = defaults();
            o.f16 = f16;
            o.optim = optim;
            buf b = write_ckpt(src, NULL, NULL, o);
            m4_model *m = NULL;
            m4_checkpoint_info info;
            char err[256];
            m4_status st = m4_model_load_buffer(&m, b.p, b.n, "ck", 1, &info, err, sizeof err);
            CHECK(st == M4_OK, "f16=%d optim=%d: %s", f16, optim, err);
            if (m) {
                CHECK(memcmp(m4_model_params(m), m4_model_params(src), n * sizeof(float)) == 0,
                      "f16=%d: parameters differ", f16);
                CHECK(info.f16 == f16 && info.has_optimizer_state == optim && !info.has_input_norm &&
                          info.m3_features && strcmp(info.features, "m3-path-v1") == 0 && info.config.dim == 8,
                      "info %d %d %d %d %s", info.f16, info.has_optimizer_state, info.has_input_norm,
                      info.m3_features, info.features);
                m4_model_destroy(m);
            }
            /* m4_checkpoint_read keeps it all: parameters, moments, metadata text */
            m4_checkpoint ck;
            st = m4_checkpoint_read(&ck, b.p, b.n, "ck", err, sizeof err);
            CHECK(st == M4_OK && ck.n_params == n && ck.params &&
                      memcmp(ck.params, m4_model_params(src), n * sizeof(float)) == 0,
                  "read f16=%d optim=%d: %s", f16, optim, err);
            CHECK((ck.exp_avg != NULL) == optim && (ck.exp_avg_sq != NULL) == optim && !ck.ema && !ck.norm_shift,
                  "read optim=%d: state %p %p", optim, (void *)ck.exp_avg, (void *)ck.exp_avg_sq);
            CHECK(!optim || (ck.exp_avg && ck.exp_avg[n - 1] == 0.5f && ck.exp_avg_sq[0] == 0.25f), "moments");
            CHECK(ck.training && strcmp(ck.training, "{\"seed\":1}") == 0 && ck.features &&
                      strstr(ck.features, "m3-path-v1") && ck.model_config && strstr(ck.model_config, "\"dim\":8"),
                  "metadata text: %s | %s", ck.training ? ck.training : "(null)",
                  ck.model_config ? ck.model_config : "(null)");
            CHECK(ck.info.f16 == f16 && ck.info.has_optimizer_state == optim, "read info");
            m4_checkpoint_free(&ck);
            CHECK(ck.params == NULL && ck.training == NULL, "m4_checkpoint_free leaves pointers");
            /* every prefix of the file is refused, never read past */
            for (size_t cut = 0; cut < b.n; cut += (cut < 64 ? 1 : 97)) {
                st = m4_model_load_buffer(NULL, b.p, cut, "ck", 1, NULL, err, sizeof err);
                CHECK(st == M4_ERR_FORMAT, "prefix of %zu bytes: status %d (%s)", cut, st, err);
            }
            free(b.p);
        }
    /* m4-path-v2 and v3 are v1's maps with other parameter blocks: loaded alike */
    for (int v = 0; v < 2; v++) {
        const char *name = v ? M4_FEATURES_V3 : M4_FEATURES_V2;
        char feats[1024];
        const char *rest = strstr(M3_FEATURES, "m3-path-v1") + strlen("m3-path-v1");
        snprintf(feats, sizeof feats, "{\\\"name\\\":\\\"%s%s", name, rest);
        ckopts o = defaults();
        o.features = feats;
        buf b = write_ckpt(src, NULL, NULL, o);
        m4_model *m = NULL;
        m4_checkpoint_info info;
        char err[256] = "";
        m4_status st = m4_model_load_buffer(&m, b.p, b.n, "ck", 1, &info, err, sizeof err);
        CHECK(st == M4_OK && info.m3_features && strcmp(info.features, name) == 0, "%s: status %d, %s (%s)", name, st,
              info.features, err);
        m4_model_destroy(m);
        free(b.p);
    }
}

static void test_input_norm(const m4_model *src) {
    m4_model_config c;
    m4_model_get_config(src, &c);
    float *shift = malloc((size_t)c.feat_dim * sizeof(float)), *scale = malloc((size_t)c.feat_dim * sizeof(float));
    for (int j = 0; j < c.feat_dim; j++) {
        shift[j] = (float)(j % 7) * 0.25f;
        scale[j] = 0.5f + (float)(j % 3);
    }
    ckopts o = defaults();
    o.norm = 1;
    buf b = write_ckpt(src, shift, scale, o);
    m4_model *m = NULL, *ref = NULL;
    m4_checkpoint_info info;
    char err[256];
    CHECK(m4_model_load_buffer(&m, b.p, b.n, "ck", 1, &info, err, sizeof err) == M4_OK, "norm: %s", err);
    CHECK(info.has_input_norm, "input norm not reported");
    /* the same model with the normalisation set by hand gives the same output */
    m4_model_create(&ref, &c, 1, 0, 0);
    m4_model_set_params(ref, m4_model_params(src), m4_model_num_params(src));
    m4_model_set_input_norm(ref, shift, scale);
    float *x = malloc(3 * (size_t)c.feat_dim * sizeof(float));
    for (int i = 0; i < 3 * c.feat_dim; i++) x[i] = (float)sin(i * 0.37) + 1.5f;
    int32_t rows = 3;
    float o1[M4_FEAT_OUTPUTS], o2[M4_FEAT_OUTPUTS];
    if (m && ref) {
        CHECK(m4_model_forward(m, 1, &rows, x, NULL, 0, 0, o1) == M4_OK, "forward");
        CHECK(m4_model_forward(ref, 1, &rows, x, NULL, 0, 0, o2) == M4_OK, "forward ref");
        CHECK(memcmp(o1, o2, sizeof o1) == 0, "loaded input normalisation differs");
    }
    /* a zero scale is refused */
    scale[5] = 0;
    free(b.p);
    b = write_ckpt(src, shift, scale, o);
    CHECK(m4_model_load_buffer(NULL, b.p, b.n, "ck", 1, NULL, err, sizeof err) == M4_ERR_FORMAT &&
              strstr(err, "column 5"),
          "zero scale: %s", err);
    free(b.p);
    free(x);
    free(shift);
    free(scale);
    m4_model_destroy(m);
    m4_model_destroy(ref);
}

static void test_broken(const m4_model *src) {
    struct {
        const char *what;
        ckopts o;
        m4_status want;
        const char *msg;
    } cases[16];
    int nc = 0;
#define CASE(W, ST, MSG, ...)                                                                      \
    do {                                                                                           \
        ckopts o = defaults();                                                                     \
        __VA_ARGS__;                                                                               \
        cases[nc].what = W;                                                                        \
        cases[nc].o = o;                                                                           \
        cases[nc].want = ST;                                                                       \
        cases[nc].msg = MSG;                                                                       \
        nc++;                                                                                      \
    } while (0)
    CASE("version 2", M4_ERR_FORMAT, "unknown version", o.version = "2");
    CASE("unknown metadata", M4_ERR_FORMAT, "unknown key \"colour\"", o.extra_meta = ",\"colour\":\"red\"");
    CASE("metadata not a string", M4_ERR_FORMAT, "map of strings", o.extra_meta = ",\"n\":3");
    CASE("unknown config field", M4_ERR_FORMAT, "unknown field \"depth\"", o.extra_cfg = ",\\\"depth\\\":3");
    CASE("duplicate config field", M4_ERR_FORMAT, "duplicate key \"dim\"", o.extra_cfg = ",\\\"dim\\\":8");
    CASE("fractional int", M4_ERR_FORMAT, "max_seq", o.extra_cfg = ",\\\"max_seq\\\":6.0");
    CASE("NaN parameter", M4_ERR_FORMAT, "element 3 is NaN", o.nan_at = 3);
    CASE("NaN F16 parameter", M4_ERR_FORMAT, "element 3 is NaN", o.nan_at = 3; o.f16 = 1);
    CASE("unknown tensor", M4_ERR_FORMAT, "tensor const_tensorX: unknown", o.rename_from = "const_tensor";
         o.rename_to = "const_tensorX");
    CASE("gap", M4_ERR_FORMAT, "gap or overlap", o.gap = 1);
    CASE("duplicate tensor", M4_ERR_FORMAT, "duplicate key", o.dup = 1);
    CASE("other features", M4_ERR_UNSUPPORTED, "m4-path-v3 feature maps only",
         o.features = "{\\\"name\\\":\\\"synthetic\\\",\\\"row_width\\\":1019}");
    CASE("features field", M4_ERR_FORMAT, "unknown field \"colour\"",
         o.features = "{\\\"name\\\":\\\"m3-path-v1\\\",\\\"colour\\\":1}");
    CASE("features not JSON", M4_ERR_FORMAT, "metadata features", o.features = "{\\\"name\\\":");
    for (int i = 0; i < nc; i++) {
        buf b = write_ckpt(src, NULL, NULL, cases[i].o);
        char err[256] = "";
        m4_model *m = (m4_model *)&err; /* must be reset to NULL */
        m4_status st = m4_model_load_buffer(&m, b.p, b.n, "bad.safetensors", 1, NULL, err, sizeof err);
        CHECK(st == cases[i].want && strstr(err, cases[i].msg) && strstr(err, "bad.safetensors") && m == NULL,
              "%s: status %d, error \"%s\", want %d and \"%s\"", cases[i].what, st, err, cases[i].want, cases[i].msg);
        /* m4_checkpoint_read refuses the same files, except features libm4
         * cannot build: it makes no model, so they read */
        m4_checkpoint ck;
        st = m4_checkpoint_read(&ck, b.p, b.n, "bad.safetensors", err, sizeof err);
        if (cases[i].want == M4_ERR_UNSUPPORTED)
            CHECK(st == M4_OK && ck.params && !ck.info.m3_features && strcmp(ck.info.features, "synthetic") == 0,
                  "%s: read: status %d (%s)", cases[i].what, st, err);
        else
            CHECK(st == cases[i].want && strstr(err, cases[i].msg) && !ck.params && !ck.training,
                  "%s: read: status %d, error \"%s\"", cases[i].what, st, err);
        m4_checkpoint_free(&ck);
        free(b.p);
    }
    /* raw damage: a header length beyond the file, a JSON that is not an object */
    unsigned char raw[16] = {0xFF, 0xFF, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    char err[256];
    CHECK(m4_model_load_buffer(NULL, raw, 16, "raw", 1, NULL, err, sizeof err) == M4_ERR_FORMAT &&
              strstr(err, "header length"),
          "long header: %s", err);
    raw[0] = 8;
    raw[1] = 0;
    CHECK(m4_model_load_buffer(NULL, raw, 16, "raw", 1, NULL, err, sizeof err) == M4_ERR_FORMAT &&
              strstr(err, "__metadata__"),
          "empty header: %s", err);
    memcpy(raw + 8, "[1,2]   ", 8);
    CHECK(m4_model_load_buffer(NULL, raw, 16, "raw", 1, NULL, err, sizeof err) == M4_ERR_FORMAT &&
              strstr(err, "not a JSON object"),
          "array header: %s", err);
    memcpy(raw + 8, "{\"a\":[[[", 8);
    CHECK(m4_model_load_buffer(NULL, raw, 16, "raw", 1, NULL, err, sizeof err) == M4_ERR_FORMAT, "open array: %s", err);
    CHECK(m4_model_load(NULL, "/nonexistent/ck.safetensors", 1, NULL, err, sizeof err) == M4_ERR_IO &&
              strstr(err, "/nonexistent/ck.safetensors"),
          "missing file: %s", err);
}

/* m4_estimate_path equals flowsim -> features -> forward done by hand. */
static void test_estimate(m4_model *m) {
    enum { N = 60, H = 5 };
    double at[N], size[N];
    int32_t src[N], dst[N];
    uint64_t s = 7;
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        at[i] = i * 900.0;
        size[i] = 100 + (double)((s >> 33) % 60000);
        src[i] = (int32_t)((s >> 20) % (H - 1));
        dst[i] = i % 4 == 0 ? H - 1 : src[i] + 1 + (int32_t)((s >> 40) % (uint64_t)(H - 1 - src[i]));
    }
    double vec[15] = {0, 30, 15, 1, 1, 0, 0, 0, 12}, params[M4_FEAT_PARAMS];
    CHECK(m4_features_params(H, vec, params) == M4_OK, "params");
    m4_path_scenario sc = {H, N, at, size, src, dst, params};
    float got[M4_FEAT_OUTPUTS], want[M4_FEAT_OUTPUTS];
    char err[256];
    CHECK(m4_estimate_path(m, &sc, got, err, sizeof err) == M4_OK, "estimate: %s", err);

    m4_path_config pc;
    m4_path_config_default(&pc, H);
    m4_flowsim *sim;
    m4_features *f;
    double fct[N], share[H * M4_FEAT_CELLS];
    float res[H * M4_FEAT_ROW];
    uint8_t empty[H * M4_FEAT_BUCKETS];
    int64_t counts[H * M4_FEAT_BUCKETS];
    m4_flowsim_create(&sim, &pc);
    m4_flowsim_run(sim, N, at, size, src, dst, fct);
    m4_features_create(&f);
    m4_features_build(f, H, N, size, src, dst, fct, params, res, share, counts);
    int n_empty = 0;
    for (int i = 0; i < H * M4_FEAT_BUCKETS; i++) {
        empty[i] = counts[i] == 0;
        n_empty += empty[i];
    }
    int32_t rows = H;
    CHECK(m4_model_forward(m, 1, &rows, res, empty, 0, 0, want) == M4_OK, "forward");
    CHECK(m4_slowdowns_valid(want, M4_FEAT_OUTPUTS / M4_FEAT_PERCENTILES, M4_FEAT_PERCENTILES) >= 0, "valid");
    CHECK(memcmp(got, want, sizeof got) == 0, "m4_estimate_path differs from the chain by hand");
    for (int k = 0; k < M4_FEAT_OUTPUTS; k++)
        CHECK(got[k] >= 1 && (k % M4_FEAT_PERCENTILES == 0 || got[k] >= got[k - 1]),
              "estimate %d = %g after %g: not a valid distribution", k, got[k], k ? got[k - 1] : 0);
    CHECK(n_empty > 0 && n_empty < H * M4_FEAT_BUCKETS, "test scenario should have some empty cells: %d", n_empty);
    for (int k = 0; k < M4_FEAT_OUTPUTS; k++) CHECK(isfinite(got[k]), "estimate %d = %g", k, got[k]);
    m4_flowsim_destroy(sim);
    m4_features_destroy(f);

    /* with calibration levels the estimate is the valid curve re-read at them */
    float lv[M4_FEAT_OUTPUTS];
    for (int k = 0; k < M4_FEAT_OUTPUTS; k++) lv[k] = 0.8f * (float)((k % M4_FEAT_PERCENTILES) + 0.5) / M4_FEAT_PERCENTILES;
    CHECK(m4_model_set_calibration(m, lv) == M4_OK && m4_model_calibration(m) != NULL, "set calibration");
    CHECK(m4_estimate_path(m, &sc, got, err, sizeof err) == M4_OK, "calibrated estimate: %s", err);
    CHECK(m4_slowdowns_calibrate(want, M4_FEAT_OUTPUTS / M4_FEAT_PERCENTILES, M4_FEAT_PERCENTILES, lv) == 0, "calibrate");
    CHECK(memcmp(got, want, sizeof got) == 0, "calibrated m4_estimate_path differs from the chain by hand");
    lv[3] = 0.01f; /* decreasing within bucket 0 */
    CHECK(m4_model_set_calibration(m, lv) == M4_ERR_INVALID_INPUT && strstr(m4_model_error(m), "level 3"),
          "decreasing levels: %s", m4_model_error(m));
    CHECK(m4_model_set_calibration(m, NULL) == M4_OK && m4_model_calibration(m) == NULL, "calibration removed");

    /* bad input is named */
    size[7] = -1;
    CHECK(m4_estimate_path(m, &sc, got, err, sizeof err) == M4_ERR_INVALID_INPUT && strstr(err, "size_bytes[7]"),
          "negative size: %s", err);
    size[7] = 10;
    sc.n_hosts = 9; /* max_seq 6: at most 7 hosts */
    CHECK(m4_estimate_path(m, &sc, got, err, sizeof err) == M4_ERR_INVALID_ARGUMENT && strstr(err, "9 hosts"),
          "too many hosts: %s", err);
    sc.n_hosts = H;
    /* empty scenarios: nothing to estimate */
    sc.n_flows = 0;
    CHECK(m4_estimate_path(m, &sc, got, err, sizeof err) == M4_ERR_INVALID_ARGUMENT && strstr(err, "no flows"),
          "no flows: %s", err);
    double at2[2] = {0, 10}, size2[2] = {1000, 2000};
    int32_t src2[2] = {1, 0}, dst2[2] = {2, 3}; /* neither goes 0 -> H-1 */
    m4_path_scenario bg = {H, 2, at2, size2, src2, dst2, params};
    sc = bg;
    CHECK(m4_estimate_path(m, &sc, got, err, sizeof err) == M4_ERR_INVALID_INPUT && strstr(err, "no foreground flows"),
          "no foreground flows: %s", err);
}

/* m4_slowdowns_valid: values below 1 raised, crossed percentiles sorted,
 * NaN and Inf refused, a valid distribution left as it is. */
static void test_slowdowns_valid(void) {
    float v[2 * 4] = {0.5f, 3, 2, 2.5f, /* */ 1, 1, 4, 9};
    CHECK(m4_slowdowns_valid(v, 2, 4) == 3, "changes counted");
    const float want[8] = {1, 2, 2.5f, 3, 1, 1, 4, 9};
    CHECK(memcmp(v, want, sizeof v) == 0, "valid: %g %g %g %g", v[0], v[1], v[2], v[3]);
    CHECK(m4_slowdowns_valid(v, 2, 4) == 0, "a valid distribution changed");
    v[5] = NAN;
    CHECK(m4_slowdowns_valid(v, 2, 4) == -1, "NaN accepted");
    v[5] = INFINITY;
    CHECK(m4_slowdowns_valid(v, 2, 4) == -1, "Inf accepted");
    CHECK(m4_slowdowns_valid(NULL, 2, 4) == -1 && m4_slowdowns_valid(v, 0, 4) == -1 && m4_slowdowns_valid(v, 2, -1) == -1,
          "NULL or empty accepted");
}

/* m4_slowdowns_calibrate: identity levels change nothing; a level between
 * two points interpolates, levels beyond the ends hold the end values. */
static void test_slowdowns_calibrate(void) {
    float v[2 * 4] = {1, 2, 4, 8, /* */ 1, 1, 3, 5};
    const float keep[8] = {1, 2, 4, 8, 1, 1, 3, 5};
    float id[8];
    for (int k = 0; k < 8; k++) id[k] = (float)((k % 4) + 0.5) / 4;
    CHECK(m4_slowdowns_calibrate(v, 2, 4, id) == 0 && memcmp(v, keep, sizeof v) == 0, "identity levels moved a value");
    /* points at levels 1/8, 3/8, 5/8, 7/8 */
    const float lv[8] = {0, 0.25f, 0.5f, 1, /* */ 0.125f, 0.3125f, 0.75f, 0.875f};
    CHECK(m4_slowdowns_calibrate(v, 2, 4, lv) == 0, "calibrate");
    const float want[8] = {1, 1.5f, 3, 8, 1, 1, 4, 5};
    for (int k = 0; k < 8; k++) CHECK(fabsf(v[k] - want[k]) < 1e-6f, "value %d: %g, want %g", k, v[k], want[k]);
    CHECK(m4_slowdowns_calibrate(NULL, 2, 4, lv) == -1 && m4_slowdowns_calibrate(v, 2, 4, NULL) == -1 &&
              m4_slowdowns_calibrate(v, 0, 4, lv) == -1,
          "NULL or empty accepted");
}

/* trained ranges: read from the training record, checked by m4_check_config */
static void test_ranges(const m4_model *src) {
    ckopts o = defaults();
    o.training = "{\\\"seed\\\":1,\\\"trained_ranges\\\":{\\\"cc\\\":[\\\"dctcp\\\",\\\"hpcc\\\"],"
                 "\\\"pfc\\\":[true],\\\"network\\\":[true,false],\\\"hosts\\\":[3,5,7],\\\"values\\\":{"
                 "\\\"buffer_kb\\\":[256,32768],\\\"window_bytes\\\":[5000,64000],\\\"dctcp_k\\\":[10,200],"
                 "\\\"hpcc_u_target\\\":[0.9,0.98],\\\"hpcc_ai\\\":[5,1000]}}}";
    buf b = write_ckpt(src, NULL, NULL, o);
    m4_checkpoint_info info;
    char err[256] = "", rep[512];
    CHECK(m4_model_load_buffer(NULL, b.p, b.n, "ranges.safetensors", 1, &info, err, sizeof err) == M4_OK, "load: %s", err);
    free(b.p);
    const m4_trained_ranges *r = &info.ranges;
    CHECK(r->has && r->cc[0] && !r->cc[1] && r->cc[2] && !r->pfc[0] && r->pfc[1] && r->network[0] && r->network[1] &&
              r->lo[M4_RANGE_BUFFER_KB] == 256 && r->hi[M4_RANGE_HPCC_AI] == 1000 &&
              r->lo[M4_RANGE_TIMELY_T_LOW] > r->hi[M4_RANGE_TIMELY_T_LOW],
          "ranges read back wrong");
    m4_cc_config c = {0};
    c.buffer_kb = 3072, c.window_bytes = 18000, c.pfc = 1, c.cc = M4_CC_DCTCP, c.dctcp_k = 20;
    CHECK(m4_check_config(r, &c, 1, rep, sizeof rep) == 0 && rep[0] == 0, "in range: %s", rep);
    /* within M4_RANGE_EDGE (2.5%) past an edge: inside; further: outside */
    c.buffer_kb = 33500, c.dctcp_k = 204;
    CHECK(m4_check_config(r, &c, 1, rep, sizeof rep) == 0, "within the edge: %s", rep);
    c.buffer_kb = 250, c.dctcp_k = 10;
    CHECK(m4_check_config(r, &c, 1, rep, sizeof rep) == 0, "within the lower edge: %s", rep);
    c.buffer_kb = 33700, c.dctcp_k = 206;
    CHECK(m4_check_config(r, &c, 1, rep, sizeof rep) == 2 && strstr(rep, "buffer_kb = 33700") && strstr(rep, "dctcp_k = 206"),
          "past the edge: %s", rep);
    c.buffer_kb = 65536, c.dctcp_k = 300, c.pfc = 0;
    CHECK(m4_check_config(r, &c, 1, rep, sizeof rep) == 3 && strstr(rep, "buffer_kb = 65536 is outside the trained range [256, 32768]") &&
              strstr(rep, "dctcp_k = 300") && strstr(rep, "pfc = 0"),
          "three out of range: %s", rep);
    c.cc = M4_CC_DCQCN;
    CHECK(m4_check_config(r, &c, 1, rep, sizeof rep) == 1 && strstr(rep, "cc = dcqcn"), "untrained CC: %s", rep);
    c.cc = M4_CC_HPCC, c.pfc = 1, c.buffer_kb = 512, c.hpcc_u_target = 0.95, c.hpcc_ai = 2000;
    CHECK(m4_check_config(r, &c, 0, NULL, 0) == 1, "HPCC AI 2000 on a parking lot");
    CHECK(m4_check_config(NULL, &c, 0, NULL, 0) == -1 && m4_check_config(r, NULL, 0, NULL, 0) == -1, "NULL accepted");
    /* a checkpoint without ranges checks nothing */
    b = write_ckpt(src, NULL, NULL, defaults());
    CHECK(m4_model_load_buffer(NULL, b.p, b.n, "plain", 1, &info, err, sizeof err) == M4_OK && !info.ranges.has &&
              m4_check_config(&info.ranges, &c, 1, rep, sizeof rep) == 0,
          "no ranges: %s", err);
    free(b.p);
    /* PFC seen over both path kinds, but off on parking lots only */
    o.training = "{\\\"trained_ranges\\\":{\\\"cc\\\":[\\\"dctcp\\\"],\\\"pfc\\\":[true,false],\\\"network\\\":[true,false],"
                 "\\\"network_pfc\\\":[true],\\\"values\\\":{\\\"buffer_kb\\\":[1,99999],\\\"window_bytes\\\":[1,99999],"
                 "\\\"dctcp_k\\\":[1,999]}}}";
    b = write_ckpt(src, NULL, NULL, o);
    CHECK(m4_model_load_buffer(NULL, b.p, b.n, "netpfc", 1, &info, err, sizeof err) == M4_OK && !info.ranges.network_pfc[0] &&
              info.ranges.network_pfc[1],
          "network_pfc read back wrong: %s", err);
    free(b.p);
    c.cc = M4_CC_DCTCP, c.pfc = 0;
    CHECK(m4_check_config(&info.ranges, &c, 1, rep, sizeof rep) == 1 &&
              strstr(rep, "pfc = 0 was never trained on a path cut from a network"),
          "PFC off on a network path: %s", rep);
    CHECK(m4_check_config(&info.ranges, &c, 0, rep, sizeof rep) == 0, "PFC off on a parking lot: %s", rep);
    c.pfc = 1;
    CHECK(m4_check_config(&info.ranges, &c, 1, rep, sizeof rep) == 0, "PFC on on a network path: %s", rep);
    o.training = "{\\\"trained_ranges\\\":{\\\"values\\\":{\\\"buffer_kb\\\":[9,1]}}}";
    b = write_ckpt(src, NULL, NULL, o);
    CHECK(m4_model_load_buffer(NULL, b.p, b.n, "bad", 1, NULL, err, sizeof err) == M4_ERR_FORMAT &&
              strstr(err, "trained_ranges.values.buffer_kb"),
          "lo > hi accepted: %s", err);
    free(b.p);
}

int main(void) {
    m4_model *src = new_model();
    CHECK(src != NULL, "create");
    if (!src) return 1;
    test_round_trip(src);
    test_input_norm(src);
    test_broken(src);
    test_estimate(src);
    test_ranges(src);
    test_slowdowns_valid();
    test_slowdowns_calibrate();
    m4_model_destroy(src);
    CHECK_DONE("checkpoint_test");
}
