/*
 * model_dout_test.c: m4_model_backward_dout, the backward pass from a loss
 * gradient the caller computes (m4 train's quantile loss).
 *   - with the gradient of m3's loss it gives m4_model_backward's gradients,
 *     bit for bit (dropout on);
 *   - with another loss (a weighted squared error) its gradients match
 *     central finite differences of that loss;
 *   - non-finite gradients, a missing forward pass and an inference model
 *     are errors.
 */
#include "m4.h"
#include "check.h"
#include "model_fd.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 7;
static double urand(void) { /* [0, 1) */
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

enum { B = 3, ROWS = 9, NB = 10 };

typedef struct {
    m4_model *m;
    m4_model_config c;
    int32_t n_rows[B];
    float *feat, *target, *weight, *out, *params;
    uint8_t *empty;
} ctx;

static void setup(ctx *s) {
    m4_model_config *c = &s->c;
    m4_model_config_default(c);
    c->feat_dim = NB * 6 + 5;
    c->n_pct = 6;
    c->dim = 16;
    c->n_layers = 2;
    c->n_heads = 2;
    c->hidden_dim = 24;
    c->max_seq = 8;
    c->mlp_hidden1 = 12;
    c->mlp_hidden2 = 10;
    c->out_dim = 4 * 6;
    c->dropout = 0.25f;
    s->m = NULL;
    CHECK(m4_model_create(&s->m, c, 4, 0, 1) == M4_OK, "create");
    if (!s->m) return;
    m4_model_init(s->m, 3);
    s->n_rows[0] = 2, s->n_rows[1] = 4, s->n_rows[2] = 3;
    long no = (long)B * c->out_dim;
    s->feat = calloc((size_t)ROWS * c->feat_dim, sizeof(float));
    s->target = calloc((size_t)no, sizeof(float));
    s->weight = calloc((size_t)no, sizeof(float));
    s->out = calloc((size_t)no, sizeof(float));
    s->empty = calloc((size_t)ROWS * NB, 1);
    size_t np = m4_model_num_params(s->m);
    s->params = malloc(np * sizeof(float));
    memcpy(s->params, m4_model_params(s->m), np * sizeof(float));
    for (long i = 0; i < (long)ROWS * c->feat_dim; i++) s->feat[i] = (float)(1.0 + 2.0 * urand());
    for (long i = 0; i < no; i++) {
        s->target[i] = (float)(1.0 + 5.0 * urand());
        s->weight[i] = urand() < 0.8 ? (float)(0.5 + urand()) : 0.0f;
    }
    s->empty[0 * NB + 2] = s->empty[3 * NB + 7] = 1;
}

static void teardown(ctx *s) {
    m4_model_destroy(s->m);
    free(s->feat), free(s->target), free(s->weight), free(s->out), free(s->empty), free(s->params);
}

/* the weighted squared error 0.5 / n * sum w (out - t)^2, in double from the
 * float estimates */
static double sq_loss(ctx *s) {
    m4_model_set_params(s->m, s->params, m4_model_num_params(s->m));
    m4_model_forward(s->m, B, s->n_rows, s->feat, s->empty, 1, 11, s->out);
    long n = (long)B * s->c.out_dim;
    double sum = 0;
    for (long i = 0; i < n; i++) {
        double d = (double)s->out[i] - s->target[i];
        sum += 0.5 * s->weight[i] * d * d;
    }
    return sum / n;
}

static double sq_loss_of(void *s) { return sq_loss(s); }

static void test_matches_m3_loss(void) {
    ctx s;
    setup(&s);
    if (!s.m) return;
    long no = (long)B * s.c.out_dim;
    size_t np = m4_model_num_params(s.m);
    float lv;
    CHECK(m4_model_forward(s.m, B, s.n_rows, s.feat, s.empty, 1, 5, s.out) == M4_OK, "forward");
    CHECK(m4_model_backward(s.m, s.target, s.weight, &lv) == M4_OK, "backward: %s", m4_model_error(s.m));
    float *g1 = malloc(np * sizeof(float));
    memcpy(g1, m4_model_grads(s.m), np * sizeof(float));
    /* m3's loss gradient: mask * sign(est/t - 1) / t / n */
    float *dout = malloc((size_t)no * sizeof(float));
    CHECK(m4_model_forward(s.m, B, s.n_rows, s.feat, s.empty, 1, 5, s.out) == M4_OK, "forward");
    for (long i = 0; i < no; i++) {
        float r = s.out[i] / s.target[i] - 1.0f;
        float sg = r > 0.0f ? 1.0f : (r < 0.0f ? -1.0f : 0.0f);
        dout[i] = s.weight[i] * sg / s.target[i] / (float)no;
    }
    CHECK(m4_model_backward_dout(s.m, dout) == M4_OK, "backward_dout: %s", m4_model_error(s.m));
    CHECK(memcmp(g1, m4_model_grads(s.m), np * sizeof(float)) == 0,
          "backward_dout with m3's loss gradient differs from backward");
    double norm = 0;
    for (size_t i = 0; i < np; i++) norm += (double)g1[i] * g1[i];
    CHECK(norm > 0, "gradients are all zero");
    free(g1), free(dout);
    teardown(&s);
}

static void test_finite_differences(void) {
    ctx s;
    setup(&s);
    if (!s.m) return;
    long no = (long)B * s.c.out_dim;
    size_t np = m4_model_num_params(s.m);
    float *dout = malloc((size_t)no * sizeof(float));
    fd_params(s.m, s.params, urand);
    /* targets near the start's estimates: residuals of order 1 */
    sq_loss(&s);
    for (long i = 0; i < no; i++) s.target[i] = s.out[i] + (float)(2.0 * urand() - 1.0);
    sq_loss(&s);
    for (long i = 0; i < no; i++) dout[i] = s.weight[i] * (s.out[i] - s.target[i]) / (float)no;
    CHECK(m4_model_backward_dout(s.m, dout) == M4_OK, "backward_dout: %s", m4_model_error(s.m));
    float *g = malloc(np * sizeof(float));
    memcpy(g, m4_model_grads(s.m), np * sizeof(float));
    long checked = check_model_gradient(s.m, s.params, g, sq_loss_of, &s);
    CHECK(checked == (long)np, "%ld of %zu elements checked", checked, np);
    free(g), free(dout);
    teardown(&s);
}

static void test_errors(void) {
    ctx s;
    setup(&s);
    if (!s.m) return;
    long no = (long)B * s.c.out_dim;
    float *dout = calloc((size_t)no, sizeof(float));
    m4_model *fresh = NULL;
    CHECK(m4_model_create(&fresh, &s.c, 4, 0, 1) == M4_OK, "create");
    CHECK(m4_model_backward_dout(fresh, dout) == M4_ERR_INVALID_ARGUMENT, "backward_dout before a forward pass");
    m4_model_destroy(fresh);
    CHECK(m4_model_backward_dout(NULL, dout) == M4_ERR_INVALID_ARGUMENT, "NULL model");
    m4_model_forward(s.m, B, s.n_rows, s.feat, s.empty, 1, 5, s.out);
    CHECK(m4_model_backward_dout(s.m, NULL) == M4_ERR_INVALID_ARGUMENT, "NULL gradient");
    dout[no - 3] = NAN;
    CHECK(m4_model_backward_dout(s.m, dout) == M4_ERR_INVALID_INPUT, "NaN gradient accepted");
    CHECK(strstr(m4_model_error(s.m), "scenario 2") != NULL, "error names the scenario: %s", m4_model_error(s.m));
    dout[no - 3] = INFINITY;
    CHECK(m4_model_backward_dout(s.m, dout) == M4_ERR_INVALID_INPUT, "Inf gradient accepted");
    m4_model *inf = NULL;
    CHECK(m4_model_create(&inf, &s.c, 4, 0, 0) == M4_OK, "create inference model");
    m4_model_set_params(inf, s.params, m4_model_num_params(inf));
    m4_model_forward(inf, B, s.n_rows, s.feat, s.empty, 0, 0, s.out);
    dout[no - 3] = 0;
    CHECK(m4_model_backward_dout(inf, dout) == M4_ERR_INVALID_ARGUMENT, "backward_dout on an inference model");
    m4_model_destroy(inf);
    free(dout);
    teardown(&s);
}

int main(void) {
    test_matches_m3_loss();
    test_finite_differences();
    test_errors();
    CHECK_DONE("model_dout");
}
