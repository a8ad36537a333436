/* dynamics_test.c: the dynamics model (m4_dyn_*): gradients of every
 * parameter element against central differences, a check that the
 * comparison catches a gradient off by 1.5x, windows that carry the state,
 * the loss falling under AdamW on a tiny trace, and the event loop. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "m4.h"

/* ------------------------------------------------------------------------ */
/* a tiny trace, built analytically                                         */
/* ------------------------------------------------------------------------ */

enum { NF = 5, NL = 6, MAXE = 2 * NF };

/* Five flows over six directed links (0-1-2 one way, 3-4-5 back), each flow
 * served at a constant rate over its FCT: remaining bytes fall linearly, a
 * link's queue is 1500 B per active flow beyond the first. */
typedef struct {
    int64_t size[NF], start[NF], fct[NF], ideal[NF], rptr[NF + 1];
    int32_t route[3 * NF];
    double gbps[NL];
    int64_t delay[NL];
    int64_t ev_time[MAXE];
    int8_t ev_kind[MAXE];
    int32_t ev_flow[MAXE];
    int64_t aptr[MAXE + 1], qptr[MAXE + 1];
    int32_t aflow[MAXE * NF], qlink[MAXE * NL];
    float arem[MAXE * NF], qbytes[MAXE * NL];
    float params[2]; /* the workload's configuration (tiny_config reads 2 values) */
    float prior[NF]; /* prior slowdowns (read by a model with cfg.prior) */
    m4_dyn_trace tr;
} fixture;

static void build_fixture(fixture *x) {
    static const int64_t size[NF] = {20000, 3000, 150000, 8000, 60000};
    static const int64_t start[NF] = {0, 1000, 1500, 4000, 9000};
    static const double sldn[NF] = {1.6, 2.5, 1.2, 3.0, 1.1};
    static const int32_t routes[NF][3] = {{0, 1, -1}, {1, 2, -1}, {0, 1, 2}, {3, 4, -1}, {4, 5, -1}};
    memset(x, 0, sizeof *x);
    for (int l = 0; l < NL; l++) x->gbps[l] = l % 3 == 1 ? 40.0 : 10.0, x->delay[l] = 1000;
    int r = 0;
    for (int i = 0; i < NF; i++) {
        x->size[i] = size[i], x->start[i] = start[i];
        x->rptr[i] = r;
        for (int k = 0; k < 3 && routes[i][k] >= 0; k++) x->route[r++] = routes[i][k];
        x->rptr[i + 1] = r;
        x->ideal[i] = (int64_t)m4_dyn_ideal_ns(size[i], x->route + x->rptr[i], (size_t)(r - x->rptr[i]), x->gbps,
                                               x->delay);
        x->fct[i] = (int64_t)(sldn[i] * (double)x->ideal[i]);
    }
    /* events: arrivals and departures by time, an arrival first on a tie */
    int E = 0;
    for (int i = 0; i < NF; i++) {
        x->ev_time[E] = start[i], x->ev_kind[E] = 0, x->ev_flow[E++] = i;
        x->ev_time[E] = start[i] + x->fct[i], x->ev_kind[E] = 1, x->ev_flow[E++] = i;
    }
    for (int i = 1; i < E; i++)
        for (int j = i; j > 0; j--) {
            int64_t a = x->ev_time[j - 1], b = x->ev_time[j];
            if (a < b || (a == b && x->ev_kind[j - 1] <= x->ev_kind[j])) break;
            int64_t t = x->ev_time[j]; x->ev_time[j] = x->ev_time[j - 1]; x->ev_time[j - 1] = t;
            int8_t k = x->ev_kind[j]; x->ev_kind[j] = x->ev_kind[j - 1]; x->ev_kind[j - 1] = k;
            int32_t f = x->ev_flow[j]; x->ev_flow[j] = x->ev_flow[j - 1]; x->ev_flow[j - 1] = f;
        }
    int active[NF] = {0};
    int64_t na = 0, nq = 0;
    for (int e = 0; e < E; e++) {
        active[x->ev_flow[e]] = x->ev_kind[e] == 0;
        int64_t t = x->ev_time[e];
        int on[NL] = {0};
        for (int i = 0; i < NF; i++) {
            if (!active[i]) continue;
            double left = 1.0 - (double)(t - start[i]) / (double)x->fct[i];
            x->aflow[na] = i, x->arem[na++] = (float)(left * (double)size[i]);
            for (int64_t k = x->rptr[i]; k < x->rptr[i + 1]; k++) on[x->route[k]]++;
        }
        for (int l = 0; l < NL; l++)
            if (on[l] > 1) x->qlink[nq] = l, x->qbytes[nq++] = 1500.0f * (float)(on[l] - 1);
        x->aptr[e + 1] = na, x->qptr[e + 1] = nq;
    }
    m4_dyn_trace *tr = &x->tr;
    tr->w.n_flows = NF, tr->w.size_bytes = x->size, tr->w.start_ns = x->start, tr->w.ideal_ns = x->ideal;
    tr->w.route_ptr = x->rptr, tr->w.route = x->route;
    tr->w.n_links = NL, tr->w.link_gbps = x->gbps, tr->w.link_delay_ns = x->delay;
    x->params[0] = 0.5f, x->params[1] = -1.0f;
    tr->w.params = x->params;
    static const float prior[NF] = {1.3f, 2.0f, 1.0f, 2.8f, 1.1f};
    memcpy(x->prior, prior, sizeof prior);
    tr->w.prior = x->prior;
    tr->fct_ns = x->fct, tr->n_events = (size_t)E;
    tr->ev_time_ns = x->ev_time, tr->ev_kind = x->ev_kind, tr->ev_flow = x->ev_flow;
    tr->ev_active_ptr = x->aptr, tr->ev_active_flow = x->aflow, tr->ev_active_remaining = x->arem;
    tr->ev_queue_ptr = x->qptr, tr->ev_queue_link = x->qlink, tr->ev_queue_bytes = x->qbytes;
}

static void tiny_config(m4_dyn_config *c) {
    m4_dyn_config_default(c);
    c->hidden = 5, c->gnn_width = 7, c->gnn_layers = 3, c->mlp_hidden = 4;
    c->n_params = 2; /* configuration values on every flow's features */
    /* weights that make every loss term matter at this scale */
    c->w_remain = 0.5f, c->w_queue = 0.5f, c->queue_norm_bytes = 3000.0f;
}

/* ------------------------------------------------------------------------ */
/* gradients                                                                */
/* ------------------------------------------------------------------------ */

typedef struct {
    m4_dyn *m;
    const m4_dyn_trace *tr;
    float *params;
} fd_ctx;

static double fd_loss(fd_ctx *c) {
    m4_dyn_loss L;
    m4_dyn_set_params(c->m, c->params, m4_dyn_num_params(c->m));
    if (m4_dyn_forward(c->m, c->tr, 0, c->tr->n_events, &L) != M4_OK) return NAN;
    return L.total;
}

static double fd_central(fd_ctx *c, size_t i, float h) {
    float keep = c->params[i];
    c->params[i] = keep + h;
    double up = fd_loss(c);
    c->params[i] = keep - h;
    double dn = fd_loss(c);
    c->params[i] = keep;
    return (up - dn) / (2.0 * (double)h);
}

/* tensor_misses compares scale x grad with central differences at every
 * element of tensor t and returns how many elements miss. h = 3% of
 * max(|p|, 0.1), tolerance 2% + 5e-5: at fd_params the loss has no kink
 * near the point, and the float noise of its differences is ~1e-5; an element
 * that misses is measured again with h/4 (4x the noise, tolerance 2e-4) in
 * case a ReLU kink lies within h. *gmax receives the largest |scale x grad|,
 * *retried counts the second measurements. */
static long tensor_misses(fd_ctx *c, const float *grad, int t, double scale, double *gmax, long *retried,
                          int verbose) {
    m4_tensor_info ti;
    m4_dyn_tensor(c->m, t, &ti);
    long bad = 0;
    *gmax = 0;
    for (size_t j = 0; j < ti.size; j++) {
        size_t i = ti.offset + j;
        double g = scale * grad[i];
        float h = 3e-2f * (fabsf(c->params[i]) > 0.1f ? fabsf(c->params[i]) : 0.1f);
        double num = fd_central(c, i, h);
        if (fabs(g) > *gmax) *gmax = fabs(g);
        if (fabs(num - g) <= 2e-2 * fabs(g) + 5e-5) continue;
        (*retried)++;
        double fine = fd_central(c, i, h / 4);
        if (fabs(fine - g) <= 2e-2 * fabs(g) + 2e-4) continue;
        if (verbose && bad < 4)
            fprintf(stderr, "  %s[%zu]: analytic %.6g, numeric %.6g (h/4: %.6g)\n", ti.name, j, g, num, fine);
        bad++;
    }
    return bad;
}

/* fd_params moves m4_dyn_init's parameters to where central differences
 * measure every gradient: the MLPs' hidden biases 1, 1.1, ... (no dead
 * ReLU, which at hidden 4 may silence a whole head), and each head's output
 * bias far above its targets (remaining <= 1, queue <= 1, slowdown <= 3), so
 * that no |est - target| of the loss has its kink within a difference step. */
static void fd_params(m4_dyn *m, float *params) {
    for (int t = 0; t < m4_dyn_num_tensors(m); t++) {
        m4_tensor_info ti;
        m4_dyn_tensor(m, t, &ti);
        float *p = params + ti.offset;
        int head = strncmp(ti.name, "output.", 7) == 0 || strncmp(ti.name, "remain.", 7) == 0 ||
                   strncmp(ti.name, "queue.", 6) == 0;
        if (head && strstr(ti.name, ".0.bias"))
            for (size_t i = 0; i < ti.size; i++) p[i] = 1.0f + 0.1f * (float)i;
        if (head && strstr(ti.name, ".2.bias")) p[0] = strncmp(ti.name, "output.", 7) == 0 ? 6.0f : 3.0f;
        if (head && strstr(ti.name, ".2.weight") && p[0] == 0) /* zeroed under a prior: give it slopes */
            for (size_t i = 0; i < ti.size; i++) p[i] = 0.8f - 0.35f * (float)i;
        if (strstr(ti.name, "proj.bias"))
            for (size_t i = 0; i < ti.size; i++) p[i] = 2.0f;
    }
}

/* test_gradients checks every gradient element; prior != 0 with the
 * fixture's prior slowdowns (a feature and the slowdown head's offset),
 * every != 0 with the every-event slowdown term (w_every). */
static void test_gradients(int prior, int every) {
    fixture fx;
    build_fixture(&fx);
    m4_dyn_config cfg;
    tiny_config(&cfg);
    cfg.prior = prior;
    cfg.w_every = every ? 0.7f : 0.0f;
    m4_dyn *m;
    CHECK(m4_dyn_create(&m, &cfg, 1) == M4_OK, "create");
    CHECK(m4_dyn_init(m, prior ? 3 : 7) == M4_OK, "init"); /* seeds where every gradient is large enough to measure */
    size_t n = m4_dyn_num_params(m);
    float *params = malloc(sizeof(float) * n), *grad = malloc(sizeof(float) * n);
    memcpy(params, m4_dyn_params(m), sizeof(float) * n);
    fd_params(m, params);
    CHECK(m4_dyn_set_params(m, params, n) == M4_OK, "set params");
    m4_dyn_loss L;
    CHECK(m4_dyn_forward(m, &fx.tr, 0, fx.tr.n_events, &L) == M4_OK, "forward: %s", m4_dyn_error(m));
    CHECK(L.n_slowdown == NF, "slowdown samples %zu, want %d", L.n_slowdown, NF);
    CHECK(L.n_remain > 0 && L.n_queue > 0, "no auxiliary samples (%zu, %zu)", L.n_remain, L.n_queue);
    CHECK(isfinite(L.total) && L.total > 0, "loss %g", L.total);
    CHECK(fabs(L.total - (L.slowdown + 0.5 * L.remain + 0.5 * L.queue + (double)cfg.w_every * L.every)) < 1e-9,
          "total is not the weighted sum");
    /* every active flow after every event: as many as the trace's active lists */
    CHECK(every ? L.n_every == L.n_remain && L.every > 0 : L.n_every == 0 && L.every == 0,
          "every-event samples %zu (remaining-bytes samples %zu), mean %g", L.n_every, L.n_remain, L.every);
    CHECK(m4_dyn_backward(m) == M4_OK, "backward: %s", m4_dyn_error(m));
    memcpy(grad, m4_dyn_grads(m), sizeof(float) * n);

    fd_ctx c = {m, &fx.tr, params};
    long retried = 0, checked = 0;
    int nt = m4_dyn_num_tensors(m);
    for (int t = 0; t < nt; t++) {
        m4_tensor_info ti;
        m4_dyn_tensor(m, t, &ti);
        double gmax;
        long bad = tensor_misses(&c, grad, t, 1.0, &gmax, &retried, 1);
        checked += (long)ti.size;
        CHECK(bad == 0, "gradient of %s: %ld of %zu elements off", ti.name, bad, ti.size);
        CHECK(gmax > 5e-4, "gradient of %s: largest %.3g, too small to check", ti.name, gmax);
        /* the comparison must see a gradient off by 1.5x */
        long r2 = 0;
        long bad15 = tensor_misses(&c, grad, t, 1.5, &gmax, &r2, 0);
        CHECK(bad15 > 0, "gradient of %s x 1.5 passes the check", ti.name);
    }
    CHECK(retried <= checked / 50, "%ld of %ld elements needed h/4", retried, checked);
    printf("dynamics gradients%s%s: %ld elements of %d tensors checked, %ld re-measured\n", prior ? " (prior)" : "",
           every ? " (every event)" : "", checked, nt, retried);
    free(params), free(grad);
    m4_dyn_destroy(m);
}

/* Two windows carry the state: their sums equal one window's. */
static void test_windows(void) {
    fixture fx;
    build_fixture(&fx);
    m4_dyn_config cfg;
    tiny_config(&cfg);
    m4_dyn *m;
    CHECK(m4_dyn_create(&m, &cfg, 1) == M4_OK, "create");
    m4_dyn_loss all, a, b;
    size_t E = fx.tr.n_events, k = E / 2;
    CHECK(m4_dyn_forward(m, &fx.tr, 0, E, &all) == M4_OK, "forward");
    CHECK(m4_dyn_forward(m, &fx.tr, 0, k, &a) == M4_OK, "forward [0,k)");
    CHECK(m4_dyn_backward(m) == M4_OK, "backward of a window");
    CHECK(m4_dyn_forward(m, &fx.tr, k, E, &b) == M4_OK, "forward [k,E): %s", m4_dyn_error(m));
    CHECK(a.n_slowdown + b.n_slowdown == all.n_slowdown, "slowdown samples");
    CHECK(a.n_remain + b.n_remain == all.n_remain && a.n_queue + b.n_queue == all.n_queue, "aux samples");
    double s = a.slowdown * a.n_slowdown + b.slowdown * b.n_slowdown;
    CHECK(fabs(s - all.slowdown * all.n_slowdown) < 1e-5, "windowed slowdown sum %.8g, whole %.8g", s,
          all.slowdown * all.n_slowdown);
    double q = a.queue * a.n_queue + b.queue * b.n_queue;
    CHECK(fabs(q - all.queue * all.n_queue) < 1e-5, "windowed queue sum %.8g, whole %.8g", q,
          all.queue * all.n_queue);
    CHECK(m4_dyn_backward(m) == M4_OK, "backward of the second window");
    /* a window that does not continue is refused */
    CHECK(m4_dyn_forward(m, &fx.tr, 1, E, &b) == M4_ERR_INVALID_ARGUMENT, "a gap is accepted");
    m4_dyn_destroy(m);
}

/* The default model's loss, gradients and event loop are the same bit for
 * bit on 1 and 2 threads (the GEMM splits its output, never a sum). */
static void test_threads(void) {
    fixture fx;
    build_fixture(&fx);
    m4_dyn_config cfg;
    m4_dyn_config_default(&cfg);
    cfg.w_every = 0.5f; /* with the every-event term (its head runs on the pool from 8 active flows up) */
    m4_dyn *a, *b;
    CHECK(m4_dyn_create(&a, &cfg, 1) == M4_OK && m4_dyn_create(&b, &cfg, 1) == M4_OK, "create");
    CHECK(m4_dyn_set_threads(b, 2) == M4_OK, "threads");
    m4_dyn_loss la, lb;
    CHECK(m4_dyn_forward(a, &fx.tr, 0, fx.tr.n_events, &la) == M4_OK, "forward");
    CHECK(m4_dyn_forward(b, &fx.tr, 0, fx.tr.n_events, &lb) == M4_OK, "forward, 2 threads");
    CHECK(la.total == lb.total, "loss %.9g on 1 thread, %.9g on 2", la.total, lb.total);
    CHECK(m4_dyn_backward(a) == M4_OK && m4_dyn_backward(b) == M4_OK, "backward");
    size_t n = m4_dyn_num_params(a);
    CHECK(memcmp(m4_dyn_grads(a), m4_dyn_grads(b), sizeof(float) * n) == 0, "gradients differ on 2 threads");
    double fa[NF], fb[NF];
    CHECK(m4_dyn_run(a, &fx.tr.w, fa) == M4_OK && m4_dyn_run(b, &fx.tr.w, fb) == M4_OK, "run");
    CHECK(memcmp(fa, fb, sizeof fa) == 0, "the event loop differs on 2 threads");
    m4_dyn_destroy(a);
    m4_dyn_destroy(b);
}

/* The event loop of a busy workload (up to ~100 flows and 24 links at once,
 * so every event is shared out) is the same bit for bit on 1, 2 and 3
 * threads: threads take rows, and no row's sum is split. */
static void test_threads_run(void) {
    enum { F = 240, L = 24 };
    static int64_t size[F], start[F], rptr[F + 1];
    static int32_t route[F * 4];
    static float prior[F];
    double gbps[L];
    int64_t delay[L];
    for (int l = 0; l < L; l++) gbps[l] = l % 4 ? 10.0 : 40.0, delay[l] = 1000;
    uint64_t s = 7;
    int r = 0;
    for (int i = 0; i < F; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        size[i] = 1000 + (int64_t)((s >> 33) % 400000);
        start[i] = (int64_t)i * 2000 + (int64_t)((s >> 20) % 1500);
        prior[i] = 1.0f + (float)((s >> 40) % 300) / 100.0f;
        rptr[i] = r;
        int hops = 1 + (int)((s >> 50) % 4), l0 = (int)((s >> 10) % L);
        for (int k = 0; k < hops; k++) route[r++] = (l0 + 5 * k) % L;
    }
    rptr[F] = r;
    float cfgv[2] = {0.5f, -1.0f};
    m4_dyn_workload w = {F, size, start, NULL, rptr, route, L, gbps, delay, cfgv, prior};
    m4_dyn_config cfg;
    tiny_config(&cfg);
    cfg.hidden = 19, cfg.gnn_width = 21, cfg.mlp_hidden = 16, cfg.prior = 1; /* partial vectors */
    static double fct[3][F];
    for (int n = 1; n <= 3; n++) {
        m4_dyn *m;
        CHECK(m4_dyn_create(&m, &cfg, 0) == M4_OK && m4_dyn_init(m, 5) == M4_OK, "create");
        CHECK(m4_dyn_set_threads(m, n) == M4_OK, "threads");
        size_t np = m4_dyn_num_params(m);
        float *p = malloc(sizeof(float) * np); /* an output head that is not zero */
        memcpy(p, m4_dyn_params(m), sizeof(float) * np);
        for (size_t i = 0; i < np; i++) p[i] += 0.01f * (float)((i * 7919) % 13) - 0.06f;
        CHECK(m4_dyn_set_params(m, p, np) == M4_OK, "params");
        free(p);
        CHECK(m4_dyn_run(m, &w, fct[n - 1]) == M4_OK, "run on %d threads: %s", n, m4_dyn_error(m));
        m4_dyn_destroy(m);
    }
    for (int i = 0; i < F; i++) CHECK(isfinite(fct[0][i]) && fct[0][i] > 0, "flow %d: fct %g", i, fct[0][i]);
    CHECK(memcmp(fct[0], fct[1], sizeof fct[0]) == 0, "the event loop differs on 2 threads");
    CHECK(memcmp(fct[0], fct[2], sizeof fct[0]) == 0, "the event loop differs on 3 threads");
}

/* ------------------------------------------------------------------------ */
/* training and inference                                                   */
/* ------------------------------------------------------------------------ */

/* mean |fct_est / fct - 1| of the event loop over the fixture's flows */
static double run_error(m4_dyn *m, const fixture *fx) {
    double fct[NF], err = 0;
    if (m4_dyn_run(m, &fx->tr.w, fct) != M4_OK) return NAN;
    for (int i = 0; i < NF; i++) err += fabs(fct[i] / (double)fx->fct[i] - 1.0);
    return err / NF;
}

static void test_training(void) {
    fixture fx;
    build_fixture(&fx);
    m4_dyn_config cfg;
    tiny_config(&cfg);
    cfg.hidden = 16, cfg.gnn_width = 24, cfg.mlp_hidden = 16;
    m4_dyn *m;
    CHECK(m4_dyn_create(&m, &cfg, 1) == M4_OK, "create");
    CHECK(m4_dyn_init(m, 1) == M4_OK, "init");
    m4_dyn_loss L;
    double first = 0, last = 0, err0 = run_error(m, &fx);
    for (int step = 1; step <= 300; step++) {
        CHECK(m4_dyn_forward(m, &fx.tr, 0, fx.tr.n_events, &L) == M4_OK, "forward");
        CHECK(m4_dyn_backward(m) == M4_OK, "backward");
        CHECK(m4_dyn_adamw(m, 3e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, step) == M4_OK, "adamw");
        if (step == 1) first = L.total;
        last = L.total;
    }
    double err1 = run_error(m, &fx);
    printf("dynamics training: loss %.4f -> %.4f (slowdown %.4f, remain %.4f, queue %.4f); run error %.3f -> %.3f\n",
           first, last, L.slowdown, L.remain, L.queue, err0, err1);
    CHECK(last < 0.3 * first, "loss fell only from %.4f to %.4f", first, last);
    CHECK(L.slowdown < 0.1, "slowdown loss %.4f after training", L.slowdown);
    CHECK(err1 < err0, "the event loop's FCT error did not fall: %.3f -> %.3f", err0, err1);
    m4_dyn_destroy(m);
}

static void test_run(void) {
    m4_dyn_config cfg;
    tiny_config(&cfg);
    cfg.hidden = 12, cfg.mlp_hidden = 16; /* at 4, every ReLU of the output head may be dead */
    m4_dyn *m;
    CHECK(m4_dyn_create(&m, &cfg, 0) == M4_OK, "create");
    CHECK(m4_dyn_init(m, 3) == M4_OK, "init");
    double gbps[2] = {10, 40};
    int64_t delay[2] = {1000, 500};

    /* one flow alone: a finite FCT at least its ideal (no ideal given) */
    int64_t size1 = 50000, start1 = 777, rptr1[2] = {0, 2};
    int32_t route1[2] = {0, 1};
    float cfgv[2] = {0.5f, -1.0f};
    m4_dyn_workload w1 = {1, &size1, &start1, NULL, rptr1, route1, 2, gbps, delay, cfgv, NULL};
    double fct1 = -1;
    CHECK(m4_dyn_run(m, &w1, &fct1) == M4_OK, "run: %s", m4_dyn_error(m));
    double ideal1 = m4_dyn_ideal_ns(size1, route1, 2, gbps, delay);
    CHECK(fabs(ideal1 - (1500.0 + 52400.0 * 8 / 10)) < 1e-6, "ideal %g", ideal1);
    CHECK(isfinite(fct1) && fct1 >= ideal1, "alone: fct %g, ideal %g", fct1, ideal1);

    /* output order = input order, and runs are deterministic */
    int64_t size[3] = {1000, 200000, 30000}, start[3] = {5000, 0, 2000}, rptr[4] = {0, 1, 3, 4};
    int32_t route[4] = {0, 0, 1, 1};
    m4_dyn_workload w = {3, size, start, NULL, rptr, route, 2, gbps, delay, cfgv, NULL};
    double a[3], b[3], p[3];
    CHECK(m4_dyn_run(m, &w, a) == M4_OK, "run");
    CHECK(m4_dyn_run(m, &w, b) == M4_OK, "run again");
    CHECK(memcmp(a, b, sizeof a) == 0, "two runs differ");
    for (int i = 0; i < 3; i++) {
        int32_t r0 = route[rptr[i]];
        double id = m4_dyn_ideal_ns(size[i], route + rptr[i], (size_t)(rptr[i + 1] - rptr[i]), gbps, delay);
        CHECK(isfinite(a[i]) && a[i] >= id, "flow %d: fct %g below its ideal %g (link %d)", i, a[i], id, r0);
    }
    /* the same flows given in another order: the same FCTs, permuted */
    int perm[3] = {2, 0, 1};
    int64_t ps[3], pt[3], pr[4] = {0};
    int32_t prt[4];
    int k = 0;
    for (int i = 0; i < 3; i++) {
        int j = perm[i];
        ps[i] = size[j], pt[i] = start[j];
        for (int64_t q = rptr[j]; q < rptr[j + 1]; q++) prt[k++] = route[q];
        pr[i + 1] = k;
    }
    m4_dyn_workload wp = {3, ps, pt, NULL, pr, prt, 2, gbps, delay, cfgv, NULL};
    /* another configuration gives other estimates */
    float cfg2[2] = {-0.5f, 1.0f};
    double q[3];
    m4_dyn_workload w2 = w;
    w2.params = cfg2;
    CHECK(m4_dyn_run(m, &w2, q) == M4_OK, "run, another configuration");
    CHECK(q[0] != a[0] || q[1] != a[1] || q[2] != a[2], "the configuration values change nothing");
    w2.params = NULL;
    CHECK(m4_dyn_run(m, &w2, q) == M4_ERR_INVALID_ARGUMENT, "missing configuration values accepted");
    CHECK(m4_dyn_run(m, &wp, p) == M4_OK, "run permuted");
    for (int i = 0; i < 3; i++) CHECK(p[i] == a[perm[i]], "permuted flow %d: %g, want %g", i, p[i], a[perm[i]]);

    /* bad input names the field */
    int32_t bad[4] = {0, 0, 7, 1};
    m4_dyn_workload wb = w;
    wb.route = bad;
    CHECK(m4_dyn_run(m, &wb, a) == M4_ERR_INVALID_INPUT, "a bad link id is accepted");
    CHECK(strstr(m4_dyn_error(m), "flow_route[2]") != NULL, "error: %s", m4_dyn_error(m));
    m4_dyn_destroy(m);
}

/* With a prior, an untrained model (its slowdown head's last layer at 0)
 * estimates each flow's prior: FCT = prior x ideal; a missing or bad prior
 * is refused naming the field. */
static void test_prior_run(void) {
    m4_dyn_config cfg;
    tiny_config(&cfg);
    cfg.prior = 1;
    m4_dyn *m;
    CHECK(m4_dyn_create(&m, &cfg, 0) == M4_OK, "create");
    CHECK(m4_dyn_init(m, 5) == M4_OK, "init");
    double gbps[2] = {10, 40};
    int64_t delay[2] = {1000, 500};
    int64_t size[3] = {1000, 200000, 30000}, start[3] = {5000, 0, 2000}, rptr[4] = {0, 1, 3, 4};
    int32_t route[4] = {0, 0, 1, 1};
    float cfgv[2] = {0.5f, -1.0f}, prior[3] = {1.0f, 2.5f, 1.7f};
    m4_dyn_workload w = {3, size, start, NULL, rptr, route, 2, gbps, delay, cfgv, prior};
    double fct[3];
    CHECK(m4_dyn_run(m, &w, fct) == M4_OK, "run: %s", m4_dyn_error(m));
    for (int i = 0; i < 3; i++) {
        double id = m4_dyn_ideal_ns(size[i], route + rptr[i], (size_t)(rptr[i + 1] - rptr[i]), gbps, delay);
        double want = (prior[i] > 1.001f ? prior[i] : 1.001) * id; /* a prior of 1 reads as 1.001 */
        CHECK(fabs(fct[i] / want - 1) < 1e-5, "flow %d: fct %.1f, prior x ideal %.1f", i, fct[i], want);
    }
    w.prior = NULL;
    CHECK(m4_dyn_run(m, &w, fct) == M4_ERR_INVALID_ARGUMENT, "missing prior accepted");
    prior[1] = 0.9f;
    w.prior = prior;
    CHECK(m4_dyn_run(m, &w, fct) == M4_ERR_INVALID_INPUT, "prior below 1 accepted");
    CHECK(strstr(m4_dyn_error(m), "prior[1]") != NULL, "error: %s", m4_dyn_error(m));
    cfg.prior = 2;
    CHECK(m4_dyn_config_check(&cfg, NULL, 0) == M4_ERR_INVALID_ARGUMENT, "prior = 2 accepted");
    m4_dyn_destroy(m);
}

static void test_trace_checks(void) {
    fixture fx;
    build_fixture(&fx);
    m4_dyn_config cfg;
    tiny_config(&cfg);
    m4_dyn *m;
    CHECK(m4_dyn_create(&m, &cfg, 0) == M4_OK, "create");
    m4_dyn_loss L;
    fx.ev_kind[0] = 1; /* a departure before the arrival */
    CHECK(m4_dyn_forward(m, &fx.tr, 0, fx.tr.n_events, &L) == M4_ERR_INVALID_INPUT, "bad kind accepted");
    CHECK(strstr(m4_dyn_error(m), "ev_kind[0]") != NULL, "error: %s", m4_dyn_error(m));
    build_fixture(&fx);
    fx.qlink[0] = NL;
    CHECK(m4_dyn_forward(m, &fx.tr, 0, fx.tr.n_events, &L) == M4_ERR_INVALID_INPUT, "bad queue link accepted");
    CHECK(strstr(m4_dyn_error(m), "ev_queue_link[0]") != NULL, "error: %s", m4_dyn_error(m));
    m4_dyn_destroy(m);

    m4_dyn_config def;
    m4_dyn_config_default(&def);
    CHECK(m4_dyn_create(&m, &def, 0) == M4_OK, "create default");
    size_t np = m4_dyn_num_params(m);
    printf("dynamics default: %zu parameters in %d tensors\n", np, m4_dyn_num_tensors(m));
    CHECK(np > 1300000 && np < 1700000, "default model has %zu parameters", np);
    m4_dyn_destroy(m);
}

int main(void) {
    test_gradients(0, 0);
    test_gradients(1, 0);
    test_gradients(1, 1);
    test_windows();
    test_threads();
    test_threads_run();
    test_training();
    test_run();
    test_prior_run();
    test_trace_checks();
    CHECK_DONE("dynamics_test");
}
