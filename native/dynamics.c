/*
 * dynamics.c: m4's flow-level dynamics model (m4.h, "dynamics") as one
 * object: config, parameters, gradients, AdamW state, per-workload states
 * and a tape of activations for backpropagation through time.
 *
 * One event (event_forward; m4.h lists the steps):
 *   departure f:  est = 1 + softplus(out MLP [h_f, x_f] + b_f);  drop f
 *                 (b_f = softplus^-1(prior_f - 1) with a prior, else 0)
 *   arrival f:    h_f = tanh(W_fi x_f + b_fi)
 *   advance:      h = GRU_t(ln(1 + dt/1us), h)   active flows; GRU_tl for their links
 *   supervision:  remain MLP(h_f), queue MLP(h_l)
 *   graph:        X = [h_flows; h_links]; gnn_layers x
 *                   Y = LN(W_l (sum_{nbr} relu(W_p X + b_p)) + b_l + W_r X)
 *   update:       h_f = GRU_r([Y_f, x_f], h_f);  h_l = GRU_rl(Y_l, h_l)
 *
 * The forward of a training model appends each event's activations to a
 * float tape (and indices to an int tape) by offset; backward walks the
 * events in reverse with dL/dstate accumulators for every flow and link. The
 * matrix products run on model_gemm.c through model_ops.c's linear layer.
 */
#include "m4.h"
#include "model_internal.h"
#include "safetensors_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>

#define DYN_MAX_LAYERS 8
#define DYN_MAX_WIDTH (1 << 14) /* hidden, gnn_width, mlp_hidden */
#define DYN_MAX_TENSORS (4 + 16 + 7 * DYN_MAX_LAYERS + 12)
#define FF0 M4_DYN_FLOW_FEATS /* per-flow features before the configuration values */
#define LF M4_DYN_LINK_FEATS

/* Weights are offsets into params; k* are their packed copies' offsets in wpk. */
typedef struct { size_t wih, whh, bih, bhh, kih, khh; int in; } dyn_gru; /* PyTorch GRUCell */
typedef struct { size_t w1, b1, w2, b2, k1; int in; } dyn_mlp;           /* in -> M -> ReLU -> 1 */
typedef struct { size_t wp, bp, wl, bl, wr, g, b, kp, kl, kr; int din, dout; } dyn_sage; /* SAGEConv + LayerNorm */

/* One weight W (out, in) whose transpose is kept packed for the GEMM. */
typedef struct { size_t w, k; int in, out; } dyn_pack;

/* What one event left on the tapes (offsets, since the tapes grow). */
typedef struct {
    int kind, flow;
    int nA, nL, nE, nadv_f, nadv_l;
    size_t i_act, i_lnk, i_edge, i_adv; /* int tape */
    int has_dep;
    float dep_gt;
    size_t f_dep;  /* u (H+NF), a (M), o (1) */
    size_t f_init; /* tanh output (H) */
    size_t f_x0;   /* states after the advance (N, H) */
    size_t f_adv;  /* dt (nadv), hprev (nadv, H), gates (nadv, 3H), ghn (nadv, H) */
    int has_sup;
    size_t f_rem;  /* a (nA, M), o (nA), sign (nA) */
    size_t f_que;  /* a (nL, M), o (nL), sign (nL) */
    size_t f_gnn[DYN_MAX_LAYERS]; /* P (N, din), A (N, din), xhat (N, dout), rstd (N), Y (N, dout) */
    size_t f_rf;   /* U (nA, H+NF), gates (nA, 3H), ghn (nA, H) */
    size_t f_rl;   /* gates (nL, 3H), ghn (nL, H) */
    int has_every;
    size_t f_every; /* U (nA, H+NF), a (nA, M), o (nA): the slowdown head after the event */
} dyn_step;

/* A pool of threads that share out an event's rows: the caller is thread 0
 * and n - 1 workers wait for jobs, spinning a while (events come every few
 * microseconds) and then sleeping. Its own, not OpenMP's: libgomp throttles
 * its spinning once the process holds more OpenMP threads than cores (each
 * Go thread that calls in gets a team of its own), and then every barrier
 * of an event became a sleep and a wake-up. */
typedef struct dyn_pool dyn_pool;
typedef void (*dyn_job)(void *arg, int t, int nt);
typedef struct {
    dyn_pool *p;
    int t;
} dyn_worker;
struct dyn_pool {
    int n;
    pthread_t *tid;
    dyn_worker *wk;
    dyn_job fn;
    void *arg;
    unsigned gen, done, bar_count, bar_gen; /* atomics */
    int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

struct m4_dyn {
    m4_dyn_config c;
    int nf; /* NF: flow features, FF0 + n_params (the workload's configuration) + prior */
    int training, nthreads;
    dyn_pool *pool; /* nthreads > 1 */
    m4i_gemm gemm;
    float *ws;

    size_t n_params;
    float *params, *grads, *mom1, *mom2;
    int n_tensors;
    m4_tensor_info tensors[DYN_MAX_TENSORS];
    char names[DYN_MAX_TENSORS][40];
    /* the forward's weights packed once per forward or run (pack_weights):
     * the GEMM would otherwise repack each one at every event */
    dyn_pack pk[DYN_MAX_TENSORS];
    int n_pk;
    size_t pk_len;
    float *wpk;

    size_t fi_w, fi_b, li_w, li_b, fi_k, li_k; /* flow and link state init */
    dyn_gru tg_f, tg_l, rg_f, rg_l;
    dyn_sage sage[DYN_MAX_LAYERS];
    dyn_mlp out, rem, que;

    /* states of the current workload (capacities f_cap, l_cap) */
    size_t F, L, f_cap, l_cap;
    float *hf, *hl, *xf, *xl, *dhf, *dhl, *qgt;
    int64_t *tl_f, *tl_l;
    int32_t *act, *pos, *lloc, *alinks;
    int nact;
    double *ideal;   /* m4_dyn_run without ideal FCTs */
    float *boff;     /* per flow: the slowdown head's offset b_f (0 without a prior) */
    int64_t *order;  /* m4_dyn_run: flows by start */
    uint8_t *status; /* validation: 0 not arrived, 1 active, 2 departed */

    /* tapes */
    float *ft;
    size_t ft_len, ft_cap;
    int32_t *it;
    size_t it_len, it_cap;
    dyn_step *steps;
    size_t n_steps, steps_cap;
    int has_link_init;
    size_t f_link_init; /* tanh outputs (L, H) when the window began at event 0 */

    float *wk; /* per-event scratch */
    size_t wk_cap;

    /* the last forward */
    double sum_s, sum_r, sum_q, sum_e;
    size_t n_s, n_r, n_q, n_e;
    int has_forward;
    const m4_dyn_trace *tr;
    size_t next_event;

    char err[256];
};

void m4_dyn_config_default(m4_dyn_config *c) {
    if (!c) return;
    c->hidden = 200;
    c->gnn_width = 300;
    c->gnn_layers = 3;
    c->mlp_hidden = 200;
    c->ln_eps = 1e-5f;
    c->w_remain = 0.1f;
    c->w_queue = 0.1f;
    c->queue_norm_bytes = 100000.0f;
    c->n_params = 0;
    c->prior = 0;
    c->w_every = 0;
}

__attribute__((format(printf, 3, 4))) static m4_status fail(m4_dyn *m, m4_status st, const char *fmt,
                                                            ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err, sizeof m->err, fmt, ap);
    va_end(ap);
    return st;
}

/* ------------------------------------------------------------------------ */
/* parameter layout                                                         */
/* ------------------------------------------------------------------------ */

static size_t add_tensor(m4_dyn *m, const char *name, int d0, int d1) {
    m4_tensor_info *t = &m->tensors[m->n_tensors];
    snprintf(m->names[m->n_tensors], sizeof m->names[0], "%s", name);
    t->name = m->names[m->n_tensors];
    t->offset = m->n_params;
    t->ndim = d1 > 0 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1 > 0 ? d1 : 0;
    t->size = (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1);
    t->decay = t->ndim == 2;
    m->n_params += t->size;
    m->n_tensors++;
    return t->offset;
}

/* add_packed gives weight w (out, in) a place in the packed copy. */
static size_t add_packed(m4_dyn *m, size_t w, int in, int out) {
    dyn_pack *p = &m->pk[m->n_pk++];
    p->w = w, p->k = m->pk_len, p->in = in, p->out = out;
    m->pk_len += m4i_gemm_packed_floats(&m->gemm, in, out);
    return p->k;
}

static void pack_weights(m4_dyn *m) {
    for (int i = 0; i < m->n_pk; i++) {
        const dyn_pack *p = &m->pk[i];
        m4i_mat B = {m->params + p->w, 1, p->in}; /* W^T (in, out) */
        m4i_gemm_pack(&m->gemm, p->in, p->out, B, m->wpk + p->k);
    }
}

static dyn_gru add_gru(m4_dyn *m, const char *pre, int in, int H) {
    char nm[40];
    dyn_gru g;
    g.in = in;
    snprintf(nm, sizeof nm, "%s.weight_ih", pre), g.wih = add_tensor(m, nm, 3 * H, in);
    snprintf(nm, sizeof nm, "%s.weight_hh", pre), g.whh = add_tensor(m, nm, 3 * H, H);
    snprintf(nm, sizeof nm, "%s.bias_ih", pre), g.bih = add_tensor(m, nm, 3 * H, 0);
    snprintf(nm, sizeof nm, "%s.bias_hh", pre), g.bhh = add_tensor(m, nm, 3 * H, 0);
    g.kih = add_packed(m, g.wih, in, 3 * H);
    g.khh = add_packed(m, g.whh, H, 3 * H);
    return g;
}

static dyn_mlp add_mlp(m4_dyn *m, const char *pre, int in, int M) {
    char nm[40];
    dyn_mlp p;
    p.in = in;
    snprintf(nm, sizeof nm, "%s.0.weight", pre), p.w1 = add_tensor(m, nm, M, in);
    snprintf(nm, sizeof nm, "%s.0.bias", pre), p.b1 = add_tensor(m, nm, M, 0);
    snprintf(nm, sizeof nm, "%s.2.weight", pre), p.w2 = add_tensor(m, nm, 1, M);
    snprintf(nm, sizeof nm, "%s.2.bias", pre), p.b2 = add_tensor(m, nm, 1, 0);
    p.k1 = add_packed(m, p.w1, in, M);
    return p;
}

static void build_layout(m4_dyn *m) {
    int H = m->c.hidden, G = m->c.gnn_width, M = m->c.mlp_hidden;
    m->fi_w = add_tensor(m, "flow_init.weight", H, m->nf);
    m->fi_b = add_tensor(m, "flow_init.bias", H, 0);
    m->li_w = add_tensor(m, "link_init.weight", H, LF);
    m->li_b = add_tensor(m, "link_init.bias", H, 0);
    m->fi_k = add_packed(m, m->fi_w, m->nf, H);
    m->li_k = add_packed(m, m->li_w, LF, H);
    m->tg_f = add_gru(m, "time_gru", 1, H);
    m->tg_l = add_gru(m, "time_gru_link", 1, H);
    for (int k = 0; k < m->c.gnn_layers; k++) {
        dyn_sage *s = &m->sage[k];
        char nm[40];
        s->din = k == 0 ? H : G;
        s->dout = k == m->c.gnn_layers - 1 ? H : G;
        snprintf(nm, sizeof nm, "gnn.%d.proj.weight", k), s->wp = add_tensor(m, nm, s->din, s->din);
        snprintf(nm, sizeof nm, "gnn.%d.proj.bias", k), s->bp = add_tensor(m, nm, s->din, 0);
        snprintf(nm, sizeof nm, "gnn.%d.lin_l.weight", k), s->wl = add_tensor(m, nm, s->dout, s->din);
        snprintf(nm, sizeof nm, "gnn.%d.lin_l.bias", k), s->bl = add_tensor(m, nm, s->dout, 0);
        snprintf(nm, sizeof nm, "gnn.%d.lin_r.weight", k), s->wr = add_tensor(m, nm, s->dout, s->din);
        snprintf(nm, sizeof nm, "gnn.%d.norm.weight", k), s->g = add_tensor(m, nm, s->dout, 0);
        snprintf(nm, sizeof nm, "gnn.%d.norm.bias", k), s->b = add_tensor(m, nm, s->dout, 0);
        s->kp = add_packed(m, s->wp, s->din, s->din);
        s->kl = add_packed(m, s->wl, s->din, s->dout);
        s->kr = add_packed(m, s->wr, s->din, s->dout);
    }
    m->rg_f = add_gru(m, "rate_gru", H + m->nf, H);
    m->rg_l = add_gru(m, "rate_gru_link", H, H);
    m->out = add_mlp(m, "output", H + m->nf, M);
    m->rem = add_mlp(m, "remain", H, M);
    m->que = add_mlp(m, "queue", H, M);
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

m4_status m4_dyn_init(m4_dyn *m, uint64_t seed) {
    if (!m) return M4_ERR_INVALID_ARGUMENT;
    uint64_t s = seed;
    int H = m->c.hidden;
    for (int t = 0; t < m->n_tensors; t++) {
        const m4_tensor_info *ti = &m->tensors[t];
        float *p = m->params + ti->offset;
        const char *n = ti->name;
        if (strstr(n, "norm.weight") || strstr(n, "norm.bias")) {
            float v = strstr(n, "norm.weight") ? 1.0f : 0.0f;
            for (size_t i = 0; i < ti->size; i++) p[i] = v;
            continue;
        }
        double fan_in;
        if (strstr(n, "gru"))
            fan_in = H; /* PyTorch: U(+-1/sqrt(hidden)) for every GRU tensor */
        else if (ti->ndim == 2)
            fan_in = ti->shape[1];
        else /* a bias: the fan-in of the weight before it */
            fan_in = m->tensors[t - 1].shape[1];
        double a = 1.0 / sqrt(fan_in);
        for (size_t i = 0; i < ti->size; i++) {
            double u = (double)(splitmix(&s) >> 11) * (1.0 / 9007199254740992.0);
            p[i] = (float)((2.0 * u - 1.0) * a);
        }
    }
    if (m->c.prior) { /* the slowdown head starts at the prior: its last layer at 0 */
        memset(m->params + m->out.w2, 0, sizeof(float) * (size_t)m->c.mlp_hidden);
        m->params[m->out.b2] = 0;
    }
    if (m->mom1) {
        memset(m->mom1, 0, sizeof(float) * m->n_params);
        memset(m->mom2, 0, sizeof(float) * m->n_params);
    }
    m->has_forward = 0;
    return M4_OK;
}

/* ------------------------------------------------------------------------ */
/* create / destroy / accessors                                             */
/* ------------------------------------------------------------------------ */

m4_status m4_dyn_config_check(const m4_dyn_config *c, char *err, size_t err_len) {
    char msg[128] = "";
    if (!c) {
        snprintf(msg, sizeof msg, "no config");
    } else if (c->hidden < 1 || c->hidden > DYN_MAX_WIDTH) {
        snprintf(msg, sizeof msg, "hidden = %d, want 1..%d", c->hidden, DYN_MAX_WIDTH);
    } else if (c->gnn_width < 1 || c->gnn_width > DYN_MAX_WIDTH) {
        snprintf(msg, sizeof msg, "gnn_width = %d, want 1..%d", c->gnn_width, DYN_MAX_WIDTH);
    } else if (c->mlp_hidden < 1 || c->mlp_hidden > DYN_MAX_WIDTH) {
        snprintf(msg, sizeof msg, "mlp_hidden = %d, want 1..%d", c->mlp_hidden, DYN_MAX_WIDTH);
    } else if (c->gnn_layers < 1 || c->gnn_layers > DYN_MAX_LAYERS) {
        snprintf(msg, sizeof msg, "gnn_layers = %d, want 1..%d", c->gnn_layers, DYN_MAX_LAYERS);
    } else if (!(c->ln_eps > 0) || c->ln_eps > 1) {
        snprintf(msg, sizeof msg, "ln_eps = %g, want in (0, 1]", (double)c->ln_eps);
    } else if (!(c->w_remain >= 0) || !(c->w_queue >= 0) || !(c->w_every >= 0) || c->w_remain > 1e6f ||
               c->w_queue > 1e6f || c->w_every > 1e6f) {
        snprintf(msg, sizeof msg, "loss weights %g, %g, %g, want >= 0", (double)c->w_remain, (double)c->w_queue,
                 (double)c->w_every);
    } else if (c->n_params < 0 || c->n_params > M4_DYN_MAX_PARAMS) {
        snprintf(msg, sizeof msg, "n_params = %d, want 0..%d", c->n_params, M4_DYN_MAX_PARAMS);
    } else if (!(c->queue_norm_bytes > 0) || c->queue_norm_bytes > 1e15f) {
        snprintf(msg, sizeof msg, "queue_norm_bytes = %g, want > 0", (double)c->queue_norm_bytes);
    } else if (c->prior != 0 && c->prior != 1) {
        snprintf(msg, sizeof msg, "prior = %d, want 0 or 1", c->prior);
    }
    if (err && err_len) snprintf(err, err_len, "%s", msg);
    return msg[0] ? M4_ERR_INVALID_ARGUMENT : M4_OK;
}

size_t m4i_dyn_count_params(const m4_dyn_config *cfg) {
    if (m4_dyn_config_check(cfg, NULL, 0) != M4_OK) return 0;
    m4_dyn *m = calloc(1, sizeof *m);
    if (!m) return 0;
    m->c = *cfg;
    m->nf = FF0 + cfg->n_params + cfg->prior;
    m4i_gemm_select(&m->gemm, NULL);
    build_layout(m);
    size_t n = m->n_params;
    free(m);
    return n;
}

/* ------------------------------------------------------------------------ */
/* the thread pool                                                          */
/* ------------------------------------------------------------------------ */

static void cpu_relax(void) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#endif
}

/* spin_wait: a wait's i-th look; past a few thousand it yields the core, so
 * that a pool with more threads than cores waits a context switch for the
 * thread it needs rather than that thread's next time slice. */
static void spin_wait(int i) {
    if (i < 4096)
        cpu_relax();
    else
        sched_yield();
}

#define POOL_SPIN (1 << 14) /* a worker's looks before it sleeps: ~1 ms */

static void *pool_worker(void *arg) {
    dyn_worker *w = arg;
    dyn_pool *p = w->p;
    unsigned seen = 0;
    for (;;) {
        unsigned g = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
        for (int i = 0; g == seen && i < POOL_SPIN; i++) {
            spin_wait(i);
            g = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE)) == seen) pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        seen = g;
        if (p->stop) return NULL;
        p->fn(p->arg, w->t, p->n);
        __atomic_add_fetch(&p->done, 1, __ATOMIC_RELEASE);
    }
}

static void pool_destroy(dyn_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    __atomic_add_fetch(&p->gen, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; p->wk && i < p->n; i++)
        if (p->wk[i].p) pthread_join(p->tid[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->tid), free(p->wk), free(p);
}

static dyn_pool *pool_create(int n) {
    dyn_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n;
    p->tid = calloc((size_t)n, sizeof *p->tid);
    p->wk = calloc((size_t)n, sizeof *p->wk);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (!p->tid || !p->wk) {
        pool_destroy(p);
        return NULL;
    }
    for (int i = 1; i < n; i++) {
        p->wk[i].t = i, p->wk[i].p = p;
        if (pthread_create(&p->tid[i], NULL, pool_worker, &p->wk[i]) != 0) {
            p->wk[i].p = NULL;
            pool_destroy(p);
            return NULL;
        }
    }
    return p;
}

/* pool_run runs fn(arg, t, nt) on threads t < nt (nt is 1 or the pool's
 * size) and returns when all are done. */
static void pool_run(dyn_pool *p, int nt, dyn_job fn, void *arg) {
    if (!p || nt <= 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn, p->arg = arg;
    __atomic_store_n(&p->done, 0, __ATOMIC_RELAXED);
    pthread_mutex_lock(&p->mu);
    __atomic_add_fetch(&p->gen, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, p->n);
    for (int i = 0; __atomic_load_n(&p->done, __ATOMIC_ACQUIRE) < (unsigned)p->n - 1; i++) spin_wait(i);
}

/* pool_barrier: every thread of a pool_run waits here for the others. */
static void pool_barrier(dyn_pool *p, int nt) {
    if (nt <= 1) return;
    unsigned g = __atomic_load_n(&p->bar_gen, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&p->bar_count, 1, __ATOMIC_ACQ_REL) == (unsigned)nt) {
        __atomic_store_n(&p->bar_count, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&p->bar_gen, g + 1, __ATOMIC_RELEASE);
    } else {
        for (int i = 0; __atomic_load_n(&p->bar_gen, __ATOMIC_ACQUIRE) == g; i++) spin_wait(i);
    }
}

m4_status m4_dyn_create(m4_dyn **out, const m4_dyn_config *cfg, int training) {
    if (!out || !cfg) return M4_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (m4_dyn_config_check(cfg, NULL, 0) != M4_OK) return M4_ERR_INVALID_ARGUMENT;
    m4_dyn *m = calloc(1, sizeof *m);
    if (!m) return M4_ERR_NO_MEMORY;
    m->c = *cfg;
    m->nf = FF0 + cfg->n_params + cfg->prior;
    m->training = training != 0;
    m->nthreads = 1;
    m4i_gemm_select(&m->gemm, NULL);
    build_layout(m);
    m->ws = malloc(sizeof(float) * m4i_gemm_ws_floats(&m->gemm));
    m->params = calloc(m->n_params, sizeof(float));
    m->wpk = malloc(sizeof(float) * m->pk_len);
    if (m->training) {
        m->grads = calloc(m->n_params, sizeof(float));
        m->mom1 = calloc(m->n_params, sizeof(float));
        m->mom2 = calloc(m->n_params, sizeof(float));
    }
    if (!m->ws || !m->params || !m->wpk || (m->training && (!m->grads || !m->mom1 || !m->mom2))) {
        m4_dyn_destroy(m);
        return M4_ERR_NO_MEMORY;
    }
    m4_dyn_init(m, 0);
    *out = m;
    return M4_OK;
}

void m4_dyn_destroy(m4_dyn *m) {
    if (!m) return;
    pool_destroy(m->pool);
    free(m->ws);
    free(m->params), free(m->grads), free(m->mom1), free(m->mom2), free(m->wpk);
    free(m->hf), free(m->hl), free(m->xf), free(m->xl), free(m->dhf), free(m->dhl), free(m->qgt);
    free(m->tl_f), free(m->tl_l), free(m->act), free(m->pos), free(m->lloc), free(m->alinks);
    free(m->ideal), free(m->boff), free(m->order), free(m->status);
    free(m->ft), free(m->it), free(m->steps), free(m->wk);
    free(m);
}

void m4_dyn_get_config(const m4_dyn *m, m4_dyn_config *cfg) {
    if (m && cfg) *cfg = m->c;
}
size_t m4_dyn_num_params(const m4_dyn *m) { return m ? m->n_params : 0; }
int m4_dyn_num_tensors(const m4_dyn *m) { return m ? m->n_tensors : 0; }
m4_status m4_dyn_tensor(const m4_dyn *m, int i, m4_tensor_info *info) {
    if (!m || !info || i < 0 || i >= m->n_tensors) return M4_ERR_INVALID_ARGUMENT;
    *info = m->tensors[i];
    return M4_OK;
}
const float *m4_dyn_params(const m4_dyn *m) { return m ? m->params : NULL; }
const float *m4_dyn_grads(const m4_dyn *m) { return m ? m->grads : NULL; }
const char *m4_dyn_error(const m4_dyn *m) { return m ? m->err : ""; }

m4_status m4_dyn_set_params(m4_dyn *m, const float *src, size_t n) {
    if (!m || !src || n != m->n_params) return M4_ERR_INVALID_ARGUMENT;
    for (int t = 0; t < m->n_tensors; t++) {
        const m4_tensor_info *ti = &m->tensors[t];
        for (size_t i = 0; i < ti->size; i++)
            if (!isfinite(src[ti->offset + i]))
                return fail(m, M4_ERR_INVALID_INPUT, "parameter %s[%zu] is not finite", ti->name, i);
    }
    memcpy(m->params, src, sizeof(float) * n);
    return M4_OK;
}

m4_status m4_dyn_set_grads(m4_dyn *m, const float *src, size_t n) {
    if (!m || !m->grads || !src || n != m->n_params) return M4_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(src[i])) return fail(m, M4_ERR_INVALID_INPUT, "gradient %zu is not finite", i);
    memcpy(m->grads, src, sizeof(float) * n);
    return M4_OK;
}

m4_status m4_dyn_get_adam(const m4_dyn *m, float *mom1, float *mom2, size_t n) {
    if (!m || !m->mom1 || !mom1 || !mom2 || n != m->n_params) return M4_ERR_INVALID_ARGUMENT;
    memcpy(mom1, m->mom1, sizeof(float) * n);
    memcpy(mom2, m->mom2, sizeof(float) * n);
    return M4_OK;
}

m4_status m4_dyn_set_adam(m4_dyn *m, const float *mom1, const float *mom2, size_t n) {
    if (!m || !m->mom1 || !mom1 || !mom2 || n != m->n_params) return M4_ERR_INVALID_ARGUMENT;
    memcpy(m->mom1, mom1, sizeof(float) * n);
    memcpy(m->mom2, mom2, sizeof(float) * n);
    return M4_OK;
}

m4_status m4_dyn_set_threads(m4_dyn *m, int n) {
    if (!m || n < 1) return M4_ERR_INVALID_ARGUMENT;
    if (n == m->nthreads) return M4_OK;
    float *ws = malloc(sizeof(float) * (size_t)n * m4i_gemm_ws_floats(&m->gemm));
    dyn_pool *p = n > 1 ? pool_create(n) : NULL;
    if (!ws || (n > 1 && !p)) {
        free(ws);
        pool_destroy(p);
        return M4_ERR_NO_MEMORY;
    }
    free(m->ws);
    pool_destroy(m->pool);
    m->ws = ws, m->pool = p;
    m->nthreads = n;
    return M4_OK;
}

m4_status m4_dyn_adamw(m4_dyn *m, float lr, float beta1, float beta2, float eps, float weight_decay,
                       int step) {
    if (!m || !m->training || step < 1) return M4_ERR_INVALID_ARGUMENT;
    for (int t = 0; t < m->n_tensors; t++) {
        const m4_tensor_info *ti = &m->tensors[t];
        size_t o = ti->offset;
        m4i_adamw(m->params + o, m->grads + o, m->mom1 + o, m->mom2 + o, (long)ti->size, lr, beta1,
                  beta2, eps, ti->decay ? weight_decay : 0.0f, step);
    }
    return M4_OK;
}

/* thread_ctx: what thread t of the pool (0: the caller) runs GEMMs with: one
 * thread (the pool is the only parallelism) and its own workspace. */
static m4i_ctx thread_ctx(const m4_dyn *m, int t) {
    m4i_ctx cx = {&m->gemm, 1, m->ws + (size_t)t * m4i_gemm_ws_floats(&m->gemm)};
    return cx;
}

/* ------------------------------------------------------------------------ */
/* ops: linear with accumulate, GRU cell, MLP head, LayerNorm               */
/* ------------------------------------------------------------------------ */

/* Y (R, out) [+]= X (R, in) @ W (out, in)^T [+ b]; Wk, if set, is W^T packed.
 * A single output is a dot product per row (a GEMM would pad it to a tile). */
static void lin(const m4i_ctx *cx, float *Y, const float *X, const float *W, const float *Wk, const float *b,
                int R, int in, int out, int acc) {
    if (R <= 0) return;
    if (out == 1) {
        for (int r = 0; r < R; r++) {
            const float *x = X + (size_t)r * in;
            float s[8] = {0};
            int k = 0;
            for (; k + 8 <= in; k += 8)
                for (int j = 0; j < 8; j++) s[j] += x[k + j] * W[k + j];
            for (; k < in; k++) s[0] += x[k] * W[k];
            float y = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
            Y[r] = acc ? Y[r] + y : y;
        }
    } else {
        m4i_mat A = {X, in, 1}, B = {W, 1, in};
        m4i_gemm_run(cx->gemm, cx->nthreads, cx->ws, R, out, in, A, B, Wk, Y, out, acc);
    }
    if (b)
        for (int r = 0; r < R; r++)
            for (int j = 0; j < out; j++) Y[(long)r * out + j] += b[j];
}

static float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }
static float softplusf(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

/* The slowdown head's estimate: 1 + softplus(out + b_f), b_f the flow's prior offset. */
static double slowdown_of(float out, float b) { return 1.0 + softplusf(out + b); }

/* true_slowdown: flow g's slowdown in trace tr (its packet-level FCT over its ideal). */
static double true_slowdown(const m4_dyn_trace *tr, int32_t g) {
    return (double)tr->fct_ns[g] / (double)tr->w.ideal_ns[g];
}

/* slowdown_dout is d/d out of scale x |slowdown_of(out, b) / gt - 1|. */
static float slowdown_dout(float out, float b, double gt, double scale) {
    double r = slowdown_of(out, b) / gt - 1.0;
    return (float)((r > 0 ? 1.0 : r < 0 ? -1.0 : 0.0) / gt * scale * sigmoidf(out + b));
}

/* softplus_inv(y) is the x with softplus(x) = y, y raised to 1e-3 (a prior
 * of exactly 1 would need -inf; 1.001 is as near as a slowdown needs). */
static double softplus_inv(double y) {
    if (y < 1e-3) y = 1e-3;
    return y > 20.0 ? y : log(expm1(y));
}

/* GRU cell (PyTorch's, gates r, z, n): X (R, in), Hp (R, H) -> Ho (R, H);
 * keeps gates (R, 3H) = r, z, n and ghn (R, H) = W_hn h + b_hn. wk: 6RH. */
static void gru_forward(const m4i_ctx *cx, const float *P, const float *K, const dyn_gru *g, int H, int R, const float *X,
                        const float *Hp, float *Ho, float *gates, float *ghn, float *wk) {
    if (R <= 0) return;
    float *gi = wk, *gh = wk + (size_t)R * 3 * H;
    lin(cx, gi, X, P + g->wih, K + g->kih, P + g->bih, R, g->in, 3 * H, 0);
    lin(cx, gh, Hp, P + g->whh, K + g->khh, P + g->bhh, R, H, 3 * H, 0);
    m4i_gru_gates(cx->gemm, H, R, gi, gh, Hp, Ho, gates, ghn);
}

/* dX (R, in) += (NULL: skipped), dHp (R, H) += the gradients through dHo. wk: 6RH. */
static void gru_backward(const m4i_ctx *cx, const float *P, float *Gd, const dyn_gru *g, int H, int R,
                         const float *X, const float *Hp, const float *gates, const float *ghn,
                         const float *dHo, float *dX, float *dHp, float *wk) {
    if (R <= 0) return;
    float *dgi = wk, *dgh = wk + (size_t)R * 3 * H;
    for (int r = 0; r < R; r++) {
        const float *gt = gates + (size_t)r * 3 * H, *h = Hp + (size_t)r * H, *hn = ghn + (size_t)r * H;
        const float *d = dHo + (size_t)r * H;
        float *di = dgi + (size_t)r * 3 * H, *dh = dgh + (size_t)r * 3 * H, *dp = dHp + (size_t)r * H;
        for (int j = 0; j < H; j++) {
            float rr = gt[j], zz = gt[H + j], nn = gt[2 * H + j];
            float dn = d[j] * (1.0f - zz), dz = d[j] * (h[j] - nn);
            dp[j] += d[j] * zz;
            float dan = dn * (1.0f - nn * nn);
            float dar = dan * hn[j] * rr * (1.0f - rr);
            float daz = dz * zz * (1.0f - zz);
            di[j] = dar, dh[j] = dar;
            di[H + j] = daz, dh[H + j] = daz;
            di[2 * H + j] = dan, dh[2 * H + j] = dan * rr;
        }
    }
    m4i_linear_backward(cx, dX, Gd + g->wih, Gd + g->bih, dgi, X, P + g->wih, R, g->in, 3 * H);
    m4i_linear_backward(cx, dHp, Gd + g->whh, Gd + g->bhh, dgh, Hp, P + g->whh, R, H, 3 * H);
}

/* MLP head: U (R, in) -> A = relu(U W1^T + b1) (R, M) -> O = A W2^T + b2 (R). */
static void mlp_forward(const m4i_ctx *cx, const float *P, const float *K, const dyn_mlp *p, int M, int R, const float *U,
                        float *A, float *O) {
    if (R <= 0) return;
    lin(cx, A, U, P + p->w1, K + p->k1, P + p->b1, R, p->in, M, 0);
    m4i_relu_forward(A, (long)R * M);
    lin(cx, O, A, P + p->w2, NULL, P + p->b2, R, M, 1, 0);
}

/* dU (R, in) += (NULL: skipped) the gradient through dO (R). wk: RM. */
static void mlp_backward(const m4i_ctx *cx, const float *P, float *Gd, const dyn_mlp *p, int M, int R,
                         const float *U, const float *A, const float *dO, float *dU, float *wk) {
    if (R <= 0) return;
    float *dA = wk;
    memset(dA, 0, sizeof(float) * (size_t)R * M);
    m4i_linear_backward(cx, dA, Gd + p->w2, Gd + p->b2, dO, A, P + p->w2, R, M, 1);
    m4i_relu_backward(dA, A, (long)R * M);
    m4i_linear_backward(cx, dU, Gd + p->w1, Gd + p->b1, dA, U, P + p->w1, R, p->in, M);
}

/* LayerNorm of O (R, n) -> Y = g * xhat + b; keeps xhat and rstd. */
static void ln_forward(float *Y, float *xhat, float *rstd, const float *O, const float *g, const float *b,
                       int R, int n, float eps) {
    for (int r = 0; r < R; r++) {
        const float *o = O + (size_t)r * n;
        double mu = 0, var = 0;
        for (int j = 0; j < n; j++) mu += o[j];
        mu /= n;
        for (int j = 0; j < n; j++) var += (o[j] - mu) * (o[j] - mu);
        var /= n;
        float s = (float)(1.0 / sqrt(var + eps));
        rstd[r] = s;
        for (int j = 0; j < n; j++) {
            float xh = (float)(o[j] - mu) * s;
            xhat[(size_t)r * n + j] = xh;
            Y[(size_t)r * n + j] = g[j] * xh + b[j];
        }
    }
}

/* dO (R, n) = (overwritten) the gradient through dY; dg, db +=. */
static void ln_backward(float *dO, float *dg, float *db, const float *dY, const float *xhat, const float *rstd,
                        const float *g, int R, int n) {
    for (int r = 0; r < R; r++) {
        const float *dy = dY + (size_t)r * n, *xh = xhat + (size_t)r * n;
        double m1 = 0, m2 = 0;
        for (int j = 0; j < n; j++) {
            float d = dy[j] * g[j];
            m1 += d;
            m2 += d * xh[j];
            dg[j] += dy[j] * xh[j];
            db[j] += dy[j];
        }
        m1 /= n, m2 /= n;
        for (int j = 0; j < n; j++)
            dO[(size_t)r * n + j] = rstd[r] * (float)(dy[j] * g[j] - m1 - xh[j] * m2);
    }
}

/* ------------------------------------------------------------------------ */
/* buffers                                                                  */
/* ------------------------------------------------------------------------ */

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 1024;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q) return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* reserve makes room for nf more floats and ni more ints on the tapes. */
static int reserve(m4_dyn *m, size_t nf, size_t ni) {
    if (grow((void **)&m->ft, &m->ft_cap, m->ft_len + nf, sizeof(float))) return -1;
    if (grow((void **)&m->it, &m->it_cap, m->it_len + ni, sizeof(int32_t))) return -1;
    return 0;
}
static size_t fal(m4_dyn *m, size_t n) {
    size_t o = m->ft_len;
    m->ft_len += n;
    return o;
}
static size_t ial(m4_dyn *m, size_t n) {
    size_t o = m->it_len;
    m->it_len += n;
    return o;
}

/* workload_buffers sizes the per-flow and per-link arrays. */
static int workload_buffers(m4_dyn *m, size_t F, size_t L) {
    int H = m->c.hidden;
    if (F > m->f_cap) {
        size_t n = F;
        float *a = realloc(m->hf, sizeof(float) * n * H), *b = NULL, *c = NULL;
        if (a) m->hf = a;
        b = realloc(m->xf, sizeof(float) * n * m->nf);
        if (b) m->xf = b;
        c = realloc(m->dhf, sizeof(float) * n * H);
        if (c) m->dhf = c;
        int64_t *d = realloc(m->tl_f, sizeof(int64_t) * n);
        if (d) m->tl_f = d;
        int32_t *e = realloc(m->act, sizeof(int32_t) * n), *f = NULL;
        if (e) m->act = e;
        f = realloc(m->pos, sizeof(int32_t) * n);
        if (f) m->pos = f;
        double *g = realloc(m->ideal, sizeof(double) * n);
        if (g) m->ideal = g;
        int64_t *o = realloc(m->order, sizeof(int64_t) * n);
        if (o) m->order = o;
        uint8_t *s = realloc(m->status, n);
        if (s) m->status = s;
        float *bo = realloc(m->boff, sizeof(float) * n);
        if (bo) m->boff = bo;
        if (!a || !b || !c || !d || !e || !f || !g || !o || !s || !bo) return -1;
        m->f_cap = n;
    }
    if (L > m->l_cap) {
        size_t n = L;
        float *a = realloc(m->hl, sizeof(float) * n * H), *b = NULL, *c = NULL, *q = NULL;
        if (a) m->hl = a;
        b = realloc(m->xl, sizeof(float) * n * LF);
        if (b) m->xl = b;
        c = realloc(m->dhl, sizeof(float) * n * H);
        if (c) m->dhl = c;
        q = realloc(m->qgt, sizeof(float) * n);
        if (q) m->qgt = q;
        int64_t *d = realloc(m->tl_l, sizeof(int64_t) * n);
        if (d) m->tl_l = d;
        int32_t *e = realloc(m->lloc, sizeof(int32_t) * n), *f = NULL;
        if (e) m->lloc = e;
        f = realloc(m->alinks, sizeof(int32_t) * n);
        if (f) m->alinks = f;
        if (!a || !b || !c || !q || !d || !e || !f) return -1;
        m->l_cap = n;
    }
    m->F = F, m->L = L;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* input checks                                                             */
/* ------------------------------------------------------------------------ */

static m4_status check_workload(m4_dyn *m, const m4_dyn_workload *w, int need_ideal) {
    if (!w || w->n_flows < 1 || w->n_links < 1 || !w->size_bytes || !w->start_ns || !w->route_ptr ||
        !w->route || !w->link_gbps || !w->link_delay_ns || (need_ideal && !w->ideal_ns))
        return fail(m, M4_ERR_INVALID_ARGUMENT, "workload: no flows, no links or a NULL array");
    if (m->c.n_params > 0 && !w->params)
        return fail(m, M4_ERR_INVALID_ARGUMENT, "workload: no configuration values (the model reads %d)", m->c.n_params);
    for (int k = 0; k < m->c.n_params; k++)
        if (!isfinite(w->params[k])) return fail(m, M4_ERR_INVALID_INPUT, "params[%d] is not finite", k);
    if (m->c.prior && !w->prior)
        return fail(m, M4_ERR_INVALID_ARGUMENT, "workload: no prior slowdowns (the model reads one per flow)");
    if (w->n_flows > INT32_MAX || w->n_links > INT32_MAX)
        return fail(m, M4_ERR_INVALID_ARGUMENT, "workload: too many flows or links");
    for (size_t l = 0; l < w->n_links; l++) {
        if (!(w->link_gbps[l] > 0) || !isfinite(w->link_gbps[l]))
            return fail(m, M4_ERR_INVALID_INPUT, "link_gbps[%zu] = %g is not a positive rate", l, w->link_gbps[l]);
        if (w->link_delay_ns[l] < 0)
            return fail(m, M4_ERR_INVALID_INPUT, "link_delay_ns[%zu] is negative", l);
    }
    if (w->route_ptr[0] != 0) return fail(m, M4_ERR_INVALID_INPUT, "flow_route_ptr[0] is not 0");
    if (workload_buffers(m, w->n_flows, w->n_links)) return fail(m, M4_ERR_NO_MEMORY, "out of memory");
    for (size_t l = 0; l < w->n_links; l++) m->lloc[l] = -1;
    for (size_t i = 0; i < w->n_flows; i++) {
        if (w->size_bytes[i] <= 0) return fail(m, M4_ERR_INVALID_INPUT, "flow_size[%zu] is not positive", i);
        if (w->start_ns[i] < 0) return fail(m, M4_ERR_INVALID_INPUT, "flow_start_ns[%zu] is negative", i);
        if (w->ideal_ns && w->ideal_ns[i] <= 0)
            return fail(m, M4_ERR_INVALID_INPUT, "flow_ideal_ns[%zu] is not positive", i);
        if (m->c.prior && !(w->prior[i] >= 1.0f && w->prior[i] < 1e6f))
            return fail(m, M4_ERR_INVALID_INPUT, "prior[%zu] = %g, want a slowdown in [1, 1e6)", i, (double)w->prior[i]);
        int64_t a = w->route_ptr[i], b = w->route_ptr[i + 1];
        if (b <= a) return fail(m, M4_ERR_INVALID_INPUT, "flow_route_ptr[%zu]: flow %zu has no links", i + 1, i);
        for (int64_t k = a; k < b; k++) {
            int32_t l = w->route[k];
            if (l < 0 || (size_t)l >= w->n_links)
                return fail(m, M4_ERR_INVALID_INPUT, "flow_route[%lld] = %d is not a link id", (long long)k, l);
            if (m->lloc[l] == (int32_t)i)
                return fail(m, M4_ERR_INVALID_INPUT, "flow_route: flow %zu crosses link %d twice", i, l);
            m->lloc[l] = (int32_t)i;
        }
    }
    for (size_t l = 0; l < w->n_links; l++) m->lloc[l] = -1;
    return M4_OK;
}

static m4_status check_trace(m4_dyn *m, const m4_dyn_trace *tr) {
    m4_status st = check_workload(m, &tr->w, 1);
    if (st) return st;
    size_t F = tr->w.n_flows, E = tr->n_events;
    if (!tr->fct_ns || E < 1 || !tr->ev_time_ns || !tr->ev_kind || !tr->ev_flow || !tr->ev_active_ptr ||
        !tr->ev_queue_ptr || (tr->ev_active_ptr[E] > 0 && (!tr->ev_active_flow || !tr->ev_active_remaining)) ||
        (tr->ev_queue_ptr[E] > 0 && (!tr->ev_queue_link || !tr->ev_queue_bytes)))
        return fail(m, M4_ERR_INVALID_ARGUMENT, "trace: no events or a NULL array");
    for (size_t i = 0; i < F; i++)
        if (tr->fct_ns[i] <= 0) return fail(m, M4_ERR_INVALID_INPUT, "flow_fct_ns[%zu] is not positive", i);
    memset(m->status, 0, F);
    if (tr->ev_active_ptr[0] != 0) return fail(m, M4_ERR_INVALID_INPUT, "ev_active_ptr[0] is not 0");
    if (tr->ev_queue_ptr[0] != 0) return fail(m, M4_ERR_INVALID_INPUT, "ev_queue_ptr[0] is not 0");
    for (size_t e = 0; e < E; e++) {
        if (e > 0 && tr->ev_time_ns[e] < tr->ev_time_ns[e - 1])
            return fail(m, M4_ERR_INVALID_INPUT, "ev_time_ns[%zu] is before the event before it", e);
        int32_t f = tr->ev_flow[e];
        if (f < 0 || (size_t)f >= F) return fail(m, M4_ERR_INVALID_INPUT, "ev_flow[%zu] = %d is not a flow", e, f);
        int k = tr->ev_kind[e];
        if (k != 0 && k != 1) return fail(m, M4_ERR_INVALID_INPUT, "ev_kind[%zu] = %d is not 0 or 1", e, k);
        if (m->status[f] != (uint8_t)k)
            return fail(m, M4_ERR_INVALID_INPUT, "ev_kind[%zu]: flow %d %s", e, f,
                        k == 0 ? "arrives twice" : "departs before arriving or twice");
        m->status[f] = (uint8_t)(k + 1);
        if (tr->ev_active_ptr[e + 1] < tr->ev_active_ptr[e])
            return fail(m, M4_ERR_INVALID_INPUT, "ev_active_ptr[%zu] decreases", e + 1);
        for (int64_t j = tr->ev_active_ptr[e]; j < tr->ev_active_ptr[e + 1]; j++) {
            if (tr->ev_active_flow[j] < 0 || (size_t)tr->ev_active_flow[j] >= F)
                return fail(m, M4_ERR_INVALID_INPUT, "ev_active_flow[%lld] is not a flow", (long long)j);
            if (!isfinite(tr->ev_active_remaining[j]) || tr->ev_active_remaining[j] < 0)
                return fail(m, M4_ERR_INVALID_INPUT, "ev_active_remaining[%lld] is negative or not finite",
                            (long long)j);
        }
        if (tr->ev_queue_ptr[e + 1] < tr->ev_queue_ptr[e])
            return fail(m, M4_ERR_INVALID_INPUT, "ev_queue_ptr[%zu] decreases", e + 1);
        for (int64_t j = tr->ev_queue_ptr[e]; j < tr->ev_queue_ptr[e + 1]; j++) {
            if (tr->ev_queue_link[j] < 0 || (size_t)tr->ev_queue_link[j] >= tr->w.n_links)
                return fail(m, M4_ERR_INVALID_INPUT, "ev_queue_link[%lld] is not a link", (long long)j);
            if (!isfinite(tr->ev_queue_bytes[j]) || tr->ev_queue_bytes[j] < 0)
                return fail(m, M4_ERR_INVALID_INPUT, "ev_queue_bytes[%lld] is negative or not finite", (long long)j);
        }
    }
    return M4_OK;
}

/* ------------------------------------------------------------------------ */
/* the event step                                                           */
/* ------------------------------------------------------------------------ */

static float dt_feature(int64_t dt) { return (float)log1p((double)dt / 1000.0); }

/* reset_states starts a workload: features, link states from their init
 * (recorded when record), no active flow. */
static int reset_states(m4_dyn *m, const m4_dyn_workload *w, const double *ideal, int64_t t0, int record) {
    int H = m->c.hidden;
    size_t F = w->n_flows, L = w->n_links;
    for (size_t i = 0; i < F; i++) {
        float *x = m->xf + i * m->nf;
        x[0] = (float)(log((double)w->size_bytes[i]) / 16.0);
        x[1] = (float)(log(ideal[i]) / 16.0);
        x[2] = (float)(w->route_ptr[i + 1] - w->route_ptr[i]) / 8.0f;
        for (int k = 0; k < m->c.n_params; k++) x[FF0 + k] = w->params[k];
        m->boff[i] = 0;
        if (m->c.prior) {
            double p = w->prior[i];
            x[FF0 + m->c.n_params] = (float)log(p);
            m->boff[i] = (float)softplus_inv(p - 1.0);
        }
        m->pos[i] = -1;
    }
    for (size_t l = 0; l < L; l++) {
        m->xl[l * LF] = (float)(w->link_gbps[l] / 100.0);
        m->xl[l * LF + 1] = (float)((double)w->link_delay_ns[l] / 1000.0);
        m->tl_l[l] = t0;
        m->lloc[l] = -1;
    }
    m4i_ctx cx = thread_ctx(m, 0);
    lin(&cx, m->hl, m->xl, m->params + m->li_w, m->wpk + m->li_k, m->params + m->li_b, (int)L, LF, H, 0);
    m4i_tanh(&m->gemm, m->hl, L * H);
    m->nact = 0;
    m->has_link_init = 0;
    if (record) {
        if (reserve(m, L * H, 0)) return -1;
        m->f_link_init = fal(m, L * H);
        memcpy(m->ft + m->f_link_init, m->hl, sizeof(float) * L * H);
        m->has_link_init = 1;
    }
    return 0;
}

/* Supervision of one event (NULL at inference). */
typedef struct {
    const m4_dyn_trace *tr;
    size_t e;
} dyn_sup;

/* The per-event scratch: first scratch_floats(N) for the GRU and MLP ops
 * (6 R H and R M), then the backward's gradient buffers. */
static size_t scratch_floats(const m4_dyn *m, size_t N) {
    size_t H = m->c.hidden, M = m->c.mlp_hidden;
    return N * (6 * H > M ? 6 * H : M) + M + H + m->nf + 32;
}

static size_t work_floats(const m4_dyn *m, size_t N) {
    size_t H = m->c.hidden, G = m->c.gnn_width;
    size_t D = H + m->nf > G ? H + m->nf : G;
    return scratch_floats(m, N) + N * (2 * H + 4 * D) + 64;
}

static int ensure_work(m4_dyn *m, size_t N) {
    return grow((void **)&m->wk, &m->wk_cap, work_floats(m, N), sizeof(float));
}

/* gnn_out: the last graph layer's output Y (N, H) on the tape of step st
 * (each layer's block: P, A (N, din), xhat (N, dout), rstd (N), Y). */
static float *gnn_out(const m4_dyn *m, const dyn_step *st, int N) {
    const dyn_sage *s = &m->sage[m->c.gnn_layers - 1];
    return m->ft + st->f_gnn[m->c.gnn_layers - 1] + (size_t)N * (2 * (size_t)s->din + (size_t)s->dout + 1);
}

/* event_threads: the threads an event of N nodes is shared out to (a
 * smaller one costs more to share than to run). */
static int event_threads(const m4_dyn *m, int N) { return N >= 8 ? m->nthreads : 1; }

/* share: the rows [lo, hi) of n that thread t of nt takes. */
static void share(int n, int t, int nt, int *lo, int *hi) {
    *lo = (int)((long)n * t / nt), *hi = (int)((long)n * (t + 1) / nt);
}

/* What the rows of an event's steps 3-6 need (event_rows). */
typedef struct {
    m4_dyn *m;
    const m4_dyn_workload *w;
    const dyn_step *st;
    int N, nA, nL, nadv, sup;
    size_t nE;
    int64_t t;
    float *X0, *dt, *hp, *agates, *aghn, *rem_a, *que_a, *ho, *wk;
    const float *X;
    const int32_t *adv, *ed;
} ev_rows;

/* event_rows: thread t of nt's share of steps 3-6 of an event (event_forward). */
static void event_rows(void *arg, int t, int nt) {
    const ev_rows *jb = arg;
    m4_dyn *m = jb->m;
    const m4_dyn_workload *w = jb->w;
    const dyn_step st = *jb->st;
    const int H = m->c.hidden, M = m->c.mlp_hidden, NLay = m->c.gnn_layers;
    const int N = jb->N, nA = jb->nA, nL = jb->nL, nadv = jb->nadv;
    const size_t nE = jb->nE;
    const int64_t t_ev = jb->t;
    const float *P = m->params, *K = m->wpk, *X = jb->X;
    float *X0 = jb->X0, *dt = jb->dt, *hp = jb->hp, *agates = jb->agates, *aghn = jb->aghn, *rem_a = jb->rem_a,
          *que_a = jb->que_a, *ho = jb->ho, *wk = jb->wk;
    const int32_t *adv = jb->adv, *ed = jb->ed;
    int lo, hi;
    m4i_ctx cx1 = thread_ctx(m, t);

    /* 3. advance every node by the time since its last update */
    share(N, t, nt, &lo, &hi);
    for (int i = lo; i < hi; i++) {
        const float *src = i < nA ? m->hf + (size_t)m->act[i] * H : m->hl + (size_t)m->alinks[i - nA] * H;
        memcpy(X0 + (size_t)i * H, src, sizeof(float) * H);
    }
    if (nadv > 0) {
        pool_barrier(m->pool, nt);
        /* flows' rows [0, nadv_f) and links' [nadv_f, nadv), each shared
         * out; a thread reads and writes back only its own nodes */
        for (int side = 0; side < 2; side++) {
            int a0 = side ? st.nadv_f : 0, na = side ? st.nadv_l : st.nadv_f;
            share(na, t, nt, &lo, &hi);
            lo += a0, hi += a0;
            for (int a = lo; a < hi; a++) {
                int n = adv[a];
                int64_t last = n < nA ? m->tl_f[m->act[n]] : m->tl_l[m->alinks[n - nA]];
                dt[a] = dt_feature(t_ev - last);
                memcpy(hp + (size_t)a * H, X0 + (size_t)n * H, sizeof(float) * H);
            }
            if (hi > lo)
                gru_forward(&cx1, P, K, side ? &m->tg_l : &m->tg_f, H, hi - lo, dt + lo, hp + (size_t)lo * H,
                            ho + (size_t)lo * H, agates + (size_t)lo * 3 * H, aghn + (size_t)lo * H,
                            wk + (size_t)lo * 6 * H);
            for (int a = lo; a < hi; a++)
                memcpy(X0 + (size_t)adv[a] * H, ho + (size_t)a * H, sizeof(float) * H);
        }
    }
    pool_barrier(m->pool, nt);

    /* 4. supervision: remaining bytes of the flows, queues of the links (losses below) */
    if (jb->sup) {
        share(nA, t, nt, &lo, &hi);
        mlp_forward(&cx1, P, K, &m->rem, M, hi - lo, X0 + (size_t)lo * H, rem_a + (size_t)lo * M,
                    rem_a + (size_t)nA * M + lo);
        share(nL, t, nt, &lo, &hi);
        mlp_forward(&cx1, P, K, &m->que, M, hi - lo, X0 + (size_t)(nA + lo) * H, que_a + (size_t)lo * M,
                    que_a + (size_t)nL * M + lo);
    }

    /* 5. graph layers */
    const float *Xk = X0;
    for (int k = 0; k < NLay; k++) {
        const dyn_sage *s = &m->sage[k];
        int di = s->din, dd = s->dout;
        float *Pp = m->ft + st.f_gnn[k], *A = Pp + (size_t)N * di, *xh = A + (size_t)N * di,
              *rs = xh + (size_t)N * dd, *Y = rs + N, *O = wk;
        share(N, t, nt, &lo, &hi);
        lin(&cx1, Pp + (size_t)lo * di, Xk + (size_t)lo * di, P + s->wp, K + s->kp, P + s->bp, hi - lo, di, di,
            0);
        m4i_relu_forward(Pp + (size_t)lo * di, (long)(hi - lo) * di);
        memset(A + (size_t)lo * di, 0, sizeof(float) * (size_t)(hi - lo) * di);
        pool_barrier(m->pool, nt);
        /* sums over the edges in edge order: a flow's edges are its own run
         * of them; a link's are found by a scan */
        share(nA, t, nt, &lo, &hi);
        size_t q = 0;
        for (int i = 0; i < lo; i++) q += (size_t)(w->route_ptr[m->act[i] + 1] - w->route_ptr[m->act[i]]);
        for (; q < nE && ed[2 * q] < hi; q++) {
            float *af = A + (size_t)ed[2 * q] * di;
            const float *pl = Pp + (size_t)(nA + ed[2 * q + 1]) * di;
            for (int j = 0; j < di; j++) af[j] += pl[j];
        }
        share(nL, t, nt, &lo, &hi);
        if (hi > lo)
            for (q = 0; q < nE; q++) {
                int l = ed[2 * q + 1];
                if (l < lo || l >= hi) continue;
                float *al = A + (size_t)(nA + l) * di;
                const float *pf = Pp + (size_t)ed[2 * q] * di;
                for (int j = 0; j < di; j++) al[j] += pf[j];
            }
        pool_barrier(m->pool, nt);
        share(N, t, nt, &lo, &hi);
        lin(&cx1, O + (size_t)lo * dd, A + (size_t)lo * di, P + s->wl, K + s->kl, P + s->bl, hi - lo, di, dd,
            0);
        lin(&cx1, O + (size_t)lo * dd, Xk + (size_t)lo * di, P + s->wr, K + s->kr, NULL, hi - lo, di, dd, 1);
        ln_forward(Y + (size_t)lo * dd, xh + (size_t)lo * dd, rs + lo, O + (size_t)lo * dd, P + s->g, P + s->b,
                   hi - lo, dd, m->c.ln_eps);
        Xk = Y;
    }
    pool_barrier(m->pool, nt);

    /* 6. state updates: flows' rows [0, nA), links' [nA, N) of ho and of the GRU scratch */
    share(nA, t, nt, &lo, &hi);
    {
        float *U = m->ft + st.f_rf, *gates = U + (size_t)nA * (H + m->nf), *ghn = gates + (size_t)nA * 3 * H;
        for (int i = lo; i < hi; i++) {
            memcpy(U + (size_t)i * (H + m->nf), X + (size_t)i * H, sizeof(float) * H);
            memcpy(U + (size_t)i * (H + m->nf) + H, m->xf + (size_t)m->act[i] * m->nf, sizeof(float) * m->nf);
        }
        if (hi > lo)
            gru_forward(&cx1, P, K, &m->rg_f, H, hi - lo, U + (size_t)lo * (H + m->nf), X0 + (size_t)lo * H,
                        ho + (size_t)lo * H, gates + (size_t)lo * 3 * H, ghn + (size_t)lo * H,
                        wk + (size_t)lo * 6 * H);
        for (int i = lo; i < hi; i++)
            memcpy(m->hf + (size_t)m->act[i] * H, ho + (size_t)i * H, sizeof(float) * H);
    }
    share(nL, t, nt, &lo, &hi);
    {
        float *gates = m->ft + st.f_rl, *ghn = gates + (size_t)nL * 3 * H;
        if (hi > lo)
            gru_forward(&cx1, P, K, &m->rg_l, H, hi - lo, X + (size_t)(nA + lo) * H, X0 + (size_t)(nA + lo) * H,
                        ho + (size_t)(nA + lo) * H, gates + (size_t)lo * 3 * H, ghn + (size_t)lo * H,
                        wk + (size_t)(nA + lo) * 6 * H);
        for (int j = lo; j < hi; j++)
            memcpy(m->hl + (size_t)m->alinks[j] * H, ho + (size_t)(nA + j) * H, sizeof(float) * H);
    }
}

/* The slowdown head over the active flows (out_rows_fn): U, A, O as in
 * mlp_forward, one row per flow of m->act. */
typedef struct {
    m4_dyn *m;
    int nA;
    float *U, *A, *O;
} out_rows;

static void out_rows_fn(void *arg, int t, int nt) {
    const out_rows *jb = arg;
    m4_dyn *m = jb->m;
    const int H = m->c.hidden, M = m->c.mlp_hidden, D = H + m->nf;
    int lo, hi;
    share(jb->nA, t, nt, &lo, &hi);
    for (int i = lo; i < hi; i++) {
        memcpy(jb->U + (size_t)i * D, m->hf + (size_t)m->act[i] * H, sizeof(float) * H);
        memcpy(jb->U + (size_t)i * D + H, m->xf + (size_t)m->act[i] * m->nf, sizeof(float) * m->nf);
    }
    m4i_ctx cx1 = thread_ctx(m, t);
    mlp_forward(&cx1, m->params, m->wpk, &m->out, M, hi - lo, jb->U + (size_t)lo * D, jb->A + (size_t)lo * M,
                jb->O + lo);
}

/* event_forward runs one event (kind 0 arrival, 1 departure of flow f at
 * time t). With sup, adds its losses; with record, keeps the activations on
 * the tapes, else reuses them from the start every event. */
static m4_status event_forward(m4_dyn *m, const m4_dyn_workload *w, const dyn_sup *sup, int kind, int32_t f,
                               int64_t t_ev, int record) {
    const int H = m->c.hidden, M = m->c.mlp_hidden, NLay = m->c.gnn_layers;
    const float *P = m->params, *K = m->wpk;
    m4i_ctx cx = thread_ctx(m, 0);
    if (!record) m->ft_len = 0, m->it_len = 0;
    dyn_step st;
    memset(&st, 0, sizeof st);
    st.kind = kind, st.flow = f;

    /* 1. the event itself */
    if (reserve(m, (size_t)H + m->nf + M + 1 + H, 0)) goto oom;
    if (kind == 1) {
        if (sup) {
            st.has_dep = 1;
            st.f_dep = fal(m, (size_t)H + m->nf + M + 1);
            float *u = m->ft + st.f_dep, *a = u + H + m->nf, *o = a + M;
            memcpy(u, m->hf + (size_t)f * H, sizeof(float) * H);
            memcpy(u + H, m->xf + (size_t)f * m->nf, sizeof(float) * m->nf);
            mlp_forward(&cx, P, K, &m->out, M, 1, u, a, o);
            double est = slowdown_of(o[0], m->boff[f]);
            const m4_dyn_trace *tr = sup->tr;
            st.dep_gt = (float)true_slowdown(tr, f);
            m->sum_s += fabs(est / st.dep_gt - 1.0);
            m->n_s++;
        }
        int p = m->pos[f];
        for (int i = p; i + 1 < m->nact; i++) {
            m->act[i] = m->act[i + 1];
            m->pos[m->act[i]] = i;
        }
        m->nact--;
        m->pos[f] = -1;
    } else {
        float *h = m->hf + (size_t)f * H;
        lin(&cx, h, m->xf + (size_t)f * m->nf, P + m->fi_w, K + m->fi_k, P + m->fi_b, 1, m->nf, H, 0);
        m4i_tanh(&m->gemm, h, (size_t)H);
        if (record) {
            st.f_init = fal(m, H);
            memcpy(m->ft + st.f_init, h, sizeof(float) * H);
        }
        m->tl_f[f] = t_ev;
        m->pos[f] = m->nact;
        m->act[m->nact++] = f;
    }

    /* 2. the graph: active flows, the links they cross, the edges */
    int nA = m->nact;
    st.nA = nA;
    if (nA == 0) goto done;
    size_t nE = 0;
    for (int i = 0; i < nA; i++) nE += (size_t)(w->route_ptr[m->act[i] + 1] - w->route_ptr[m->act[i]]);
    if (reserve(m, 0, (size_t)nA * 2 + nE * 3 + w->n_links)) goto oom;
    st.i_act = ial(m, nA);
    memcpy(m->it + st.i_act, m->act, sizeof(int32_t) * nA);
    st.i_edge = ial(m, 2 * nE);
    int nL = 0;
    {
        int32_t *ed = m->it + st.i_edge;
        size_t k = 0;
        for (int i = 0; i < nA; i++) {
            int32_t g = m->act[i];
            for (int64_t r = w->route_ptr[g]; r < w->route_ptr[g + 1]; r++) {
                int32_t l = w->route[r];
                if (m->lloc[l] < 0) m->lloc[l] = nL, m->alinks[nL++] = l;
                ed[2 * k] = i, ed[2 * k + 1] = m->lloc[l];
                k++;
            }
        }
    }
    st.nL = nL, st.nE = (int)nE;
    st.i_lnk = ial(m, nL);
    memcpy(m->it + st.i_lnk, m->alinks, sizeof(int32_t) * nL);
    int N = nA + nL;
    st.i_adv = ial(m, N);
    {
        int32_t *adv = m->it + st.i_adv;
        int na = 0;
        for (int i = 0; i < nA; i++)
            if (m->tl_f[m->act[i]] < t_ev) adv[na++] = i;
        st.nadv_f = na;
        for (int j = 0; j < nL; j++)
            if (m->tl_l[m->alinks[j]] < t_ev) adv[na++] = nA + j;
        st.nadv_l = na - st.nadv_f;
    }
    int nadv = st.nadv_f + st.nadv_l;

    /* tape floats of the rest of the event */
    size_t need = (size_t)N * H + (size_t)nadv * (1 + 5 * (size_t)H) + (size_t)N * (M + 2) +
                  (size_t)nA * (H + m->nf + 4 * (size_t)H) + (size_t)nL * 4 * H + 64;
    for (int k = 0; k < NLay; k++)
        need += (size_t)N * (2 * (size_t)m->sage[k].din + 2 * (size_t)m->sage[k].dout + 1);
    int every = sup && m->c.w_every > 0;
    if (every) need += (size_t)nA * (H + m->nf + M + 1);
    if (reserve(m, need, 0) || ensure_work(m, (size_t)N)) goto oom;
    float *wk = m->wk;

    /* 3-6 run on nt threads, each taking a share of the rows of every step
     * (rows never split a sum, so the result does not depend on nt); the
     * tape is laid out first so that no thread moves it. */
    st.f_x0 = fal(m, (size_t)N * H);
    float *X0 = m->ft + st.f_x0;
    float *dt = NULL, *hp = NULL, *agates = NULL, *aghn = NULL;
    if (nadv > 0) {
        st.f_adv = fal(m, (size_t)nadv * (1 + 5 * (size_t)H));
        dt = m->ft + st.f_adv, hp = dt + nadv, agates = hp + (size_t)nadv * H, aghn = agates + (size_t)nadv * 3 * H;
    }
    float *rem_a = NULL, *que_a = NULL;
    if (sup) {
        st.has_sup = 1;
        st.f_rem = fal(m, (size_t)nA * (M + 2));
        st.f_que = fal(m, (size_t)nL * (M + 2));
        rem_a = m->ft + st.f_rem, que_a = m->ft + st.f_que;
    }
    for (int k = 0; k < NLay; k++)
        st.f_gnn[k] = fal(m, (size_t)N * (2 * (size_t)m->sage[k].din + 2 * (size_t)m->sage[k].dout + 1));
    st.f_rf = fal(m, (size_t)nA * (H + m->nf + 4 * (size_t)H));
    st.f_rl = fal(m, (size_t)nL * 4 * H);
    if (every) st.has_every = 1, st.f_every = fal(m, (size_t)nA * (H + m->nf + M + 1));
    const int32_t *adv = m->it + st.i_adv, *ed = m->it + st.i_edge;
    float *ho = wk + scratch_floats(m, (size_t)N); /* GRU outputs (N, H) */
    const float *X = NLay > 0 ? gnn_out(m, &st, N) : X0; /* the graph's output (N, H) */
    ev_rows job = {m, w, &st, N, nA, nL, nadv, sup != NULL, nE, t_ev, X0, dt, hp, agates, aghn, rem_a, que_a,
                   ho, wk, X, adv, ed};
    pool_run(m->pool, event_threads(m, N), event_rows, &job);
    for (int i = 0; i < nA; i++) m->tl_f[m->act[i]] = t_ev;
    for (int j = 0; j < nL; j++) m->tl_l[m->alinks[j]] = t_ev;

    /* the supervision's losses, in their order */
    if (sup) {
        const m4_dyn_trace *tr = sup->tr;
        size_t e = sup->e;
        float *o = rem_a + (size_t)nA * M, *sg = o + nA;
        memset(sg, 0, sizeof(float) * nA);
        for (int64_t j = tr->ev_active_ptr[e]; j < tr->ev_active_ptr[e + 1]; j++) {
            int32_t g = tr->ev_active_flow[j];
            int i = m->pos[g];
            if (i < 0) continue;
            double d = o[i] - (double)tr->ev_active_remaining[j] / (double)w->size_bytes[g];
            m->sum_r += fabs(d);
            m->n_r++;
            sg[i] = d > 0 ? 1.0f : d < 0 ? -1.0f : 0.0f;
        }
        o = que_a + (size_t)nL * M, sg = o + nL;
        for (int j = 0; j < nL; j++) m->qgt[m->alinks[j]] = 0;
        for (int64_t j = tr->ev_queue_ptr[e]; j < tr->ev_queue_ptr[e + 1]; j++)
            if (m->lloc[tr->ev_queue_link[j]] >= 0) m->qgt[tr->ev_queue_link[j]] = tr->ev_queue_bytes[j];
        for (int j = 0; j < nL; j++) {
            double d = o[j] - (double)m->qgt[m->alinks[j]] / m->c.queue_norm_bytes;
            m->sum_q += fabs(d);
            m->n_q++;
            sg[j] = d > 0 ? 1.0f : d < 0 ? -1.0f : 0.0f;
        }
    }
    for (int j = 0; j < nL; j++) m->lloc[m->alinks[j]] = -1;
    if (every) { /* every active flow's slowdown as the event loop would read it now (m4_dyn_run) */
        float *U = m->ft + st.f_every, *a = U + (size_t)nA * (H + m->nf), *o = a + (size_t)nA * M;
        out_rows job = {m, nA, U, a, o};
        pool_run(m->pool, event_threads(m, nA), out_rows_fn, &job);
        for (int i = 0; i < nA; i++) {
            int32_t g = m->act[i];
            m->sum_e += fabs(slowdown_of(o[i], m->boff[g]) / true_slowdown(sup->tr, g) - 1.0);
            m->n_e++;
        }
    }
done:
    if (record) {
        if (grow((void **)&m->steps, &m->steps_cap, m->n_steps + 1, sizeof(dyn_step))) goto oom;
        m->steps[m->n_steps++] = st;
    }
    return M4_OK;
oom:
    return fail(m, M4_ERR_NO_MEMORY, "out of memory");
}

/* event_backward adds the event's gradients given dL/dstate after it (dhf,
 * dhl) and leaves dL/dstate before it there. */
static m4_status event_backward(m4_dyn *m, const dyn_step *st) {
    const int H = m->c.hidden, M = m->c.mlp_hidden, NLay = m->c.gnn_layers;
    const float *P = m->params;
    float *Gd = m->grads;
    m4i_ctx cx = thread_ctx(m, 0);
    int nA = st->nA, nL = st->nL, N = nA + nL;
    if (nA > 0) {
        if (ensure_work(m, (size_t)N)) return fail(m, M4_ERR_NO_MEMORY, "out of memory");
        size_t D = (size_t)(H + m->nf > m->c.gnn_width ? H + m->nf : m->c.gnn_width);
        float *wk = m->wk;                          /* GRU / MLP scratch */
        float *dX0 = wk + scratch_floats(m, (size_t)N); /* N H */
        float *dY = dX0 + (size_t)N * H;         /* N D */
        float *dX = dY + (size_t)N * D;          /* N D */
        float *dA = dX + (size_t)N * D;          /* N D: also dP */
        float *dO = dA + (size_t)N * D;          /* N D */
        float *dH = dO + (size_t)N * D;          /* N H: dL/d new states; also dU */
        const int32_t *act = m->it + st->i_act, *lnk = m->it + st->i_lnk, *ed = m->it + st->i_edge,
                      *adv = m->it + st->i_adv;
        const float *X0 = m->ft + st->f_x0;
        const float *Ylast = gnn_out(m, st, N);
        memset(dX0, 0, sizeof(float) * (size_t)N * H);
        memset(dY, 0, sizeof(float) * (size_t)N * H);

        /* 7. the every-event slowdowns: into dL/d new flow states */
        if (st->has_every) {
            const size_t Dn = (size_t)H + m->nf;
            const float *U = m->ft + st->f_every, *a = U + (size_t)nA * Dn, *o = a + (size_t)nA * M;
            float *dOut = dX, *dU = dO; /* nA <= N D; nA (H+NF) <= N D */
            for (int i = 0; i < nA; i++)
                dOut[i] = slowdown_dout(o[i], m->boff[act[i]], true_slowdown(m->tr, act[i]),
                                        m->c.w_every / (double)m->n_e);
            memset(dU, 0, sizeof(float) * (size_t)nA * Dn);
            mlp_backward(&cx, P, Gd, &m->out, M, nA, U, a, dOut, dU, wk);
            for (int i = 0; i < nA; i++) {
                float *dh = m->dhf + (size_t)act[i] * H;
                for (int j = 0; j < H; j++) dh[j] += dU[(size_t)i * Dn + j];
            }
        }

        /* 6. state updates */
        {
            const float *U = m->ft + st->f_rf, *gates = U + (size_t)nA * (H + m->nf),
                        *ghn = gates + (size_t)nA * 3 * H;
            for (int i = 0; i < nA; i++) memcpy(dH + (size_t)i * H, m->dhf + (size_t)act[i] * H, sizeof(float) * H);
            float *dU = dO; /* nA (H+NF) <= N D */
            memset(dU, 0, sizeof(float) * (size_t)nA * (H + m->nf));
            gru_backward(&cx, P, Gd, &m->rg_f, H, nA, U, X0, gates, ghn, dH, dU, dX0, wk);
            for (int i = 0; i < nA; i++)
                for (int j = 0; j < H; j++) dY[(size_t)i * H + j] += dU[(size_t)i * (H + m->nf) + j];
            gates = m->ft + st->f_rl, ghn = gates + (size_t)nL * 3 * H;
            for (int j = 0; j < nL; j++) memcpy(dH + (size_t)j * H, m->dhl + (size_t)lnk[j] * H, sizeof(float) * H);
            gru_backward(&cx, P, Gd, &m->rg_l, H, nL, Ylast + (size_t)nA * H, X0 + (size_t)nA * H, gates, ghn, dH,
                         dY + (size_t)nA * H, dX0 + (size_t)nA * H, wk);
        }

        /* 5. graph layers, last to first; dY holds dL/dY of layer k */
        for (int k = NLay - 1; k >= 0; k--) {
            const dyn_sage *s = &m->sage[k];
            int di = s->din, dd = s->dout;
            const float *Pp = m->ft + st->f_gnn[k], *A = Pp + (size_t)N * di, *xh = A + (size_t)N * di,
                        *rs = xh + (size_t)N * dd;
            const float *X = k == 0 ? X0
                                    : m->ft + st->f_gnn[k - 1] +
                                          (size_t)N * (2 * (size_t)m->sage[k - 1].din + (size_t)m->sage[k - 1].dout) + N;
            ln_backward(dO, Gd + s->g, Gd + s->b, dY, xh, rs, P + s->g, N, dd);
            memset(dA, 0, sizeof(float) * (size_t)N * di);
            memset(dX, 0, sizeof(float) * (size_t)N * di);
            m4i_linear_backward(&cx, dA, Gd + s->wl, Gd + s->bl, dO, A, P + s->wl, N, di, dd);
            m4i_linear_backward(&cx, dX, Gd + s->wr, NULL, dO, X, P + s->wr, N, di, dd);
            /* dP = scatter of dA over the edges, in dO (free now) */
            float *dP = dO;
            memset(dP, 0, sizeof(float) * (size_t)N * di);
            for (int q = 0; q < st->nE; q++) {
                const float *af = dA + (size_t)ed[2 * q] * di, *al = dA + (size_t)(nA + ed[2 * q + 1]) * di;
                float *pf = dP + (size_t)ed[2 * q] * di, *pl = dP + (size_t)(nA + ed[2 * q + 1]) * di;
                for (int j = 0; j < di; j++) pl[j] += af[j], pf[j] += al[j];
            }
            m4i_relu_backward(dP, Pp, (long)N * di);
            m4i_linear_backward(&cx, dX, Gd + s->wp, Gd + s->bp, dP, X, P + s->wp, N, di, di);
            if (k == 0)
                for (size_t q = 0; q < (size_t)N * H; q++) dX0[q] += dX[q];
            else
                memcpy(dY, dX, sizeof(float) * (size_t)N * di);
        }

        /* 4. supervision */
        if (st->has_sup) {
            const float *a = m->ft + st->f_rem, *o = a + (size_t)nA * M, *sg = o + nA;
            float *dOut = dH; /* N floats */
            double cr = m->n_r ? m->c.w_remain / (double)m->n_r : 0.0;
            for (int i = 0; i < nA; i++) dOut[i] = (float)(cr * sg[i]);
            mlp_backward(&cx, P, Gd, &m->rem, M, nA, X0, a, dOut, dX0, wk);
            a = m->ft + st->f_que, o = a + (size_t)nL * M, sg = o + nL;
            double cq = m->n_q ? m->c.w_queue / (double)m->n_q : 0.0;
            for (int j = 0; j < nL; j++) dOut[j] = (float)(cq * sg[j]);
            mlp_backward(&cx, P, Gd, &m->que, M, nL, X0 + (size_t)nA * H, a, dOut, dX0 + (size_t)nA * H, wk);
        }

        /* 3. the advance */
        int nadv = st->nadv_f + st->nadv_l;
        if (nadv > 0) {
            const float *dt = m->ft + st->f_adv, *hp = dt + nadv, *gates = hp + (size_t)nadv * H,
                        *ghn = gates + (size_t)nadv * 3 * H;
            float *dho = dH, *dhp = dY;
            for (int a = 0; a < nadv; a++) memcpy(dho + (size_t)a * H, dX0 + (size_t)adv[a] * H, sizeof(float) * H);
            memset(dhp, 0, sizeof(float) * (size_t)nadv * H);
            gru_backward(&cx, P, Gd, &m->tg_f, H, st->nadv_f, dt, hp, gates, ghn, dho, NULL, dhp, wk);
            size_t o = (size_t)st->nadv_f;
            gru_backward(&cx, P, Gd, &m->tg_l, H, st->nadv_l, dt + o, hp + o * H, gates + o * 3 * H, ghn + o * H,
                         dho + o * H, NULL, dhp + o * H, wk);
            for (int a = 0; a < nadv; a++) memcpy(dX0 + (size_t)adv[a] * H, dhp + (size_t)a * H, sizeof(float) * H);
        }
        for (int i = 0; i < nA; i++) memcpy(m->dhf + (size_t)act[i] * H, dX0 + (size_t)i * H, sizeof(float) * H);
        for (int j = 0; j < nL; j++)
            memcpy(m->dhl + (size_t)lnk[j] * H, dX0 + (size_t)(nA + j) * H, sizeof(float) * H);
    }

    /* 1. the event itself */
    float *dh = m->dhf + (size_t)st->flow * H;
    if (st->kind == 0) {
        if (ensure_work(m, 1)) return fail(m, M4_ERR_NO_MEMORY, "out of memory");
        const float *y = m->ft + st->f_init;
        float *dpre = m->wk;
        for (int j = 0; j < H; j++) dpre[j] = dh[j] * (1.0f - y[j] * y[j]);
        m4i_linear_backward(&cx, NULL, Gd + m->fi_w, Gd + m->fi_b, dpre, m->xf + (size_t)st->flow * m->nf,
                            P + m->fi_w, 1, m->nf, H);
        memset(dh, 0, sizeof(float) * H);
    } else if (st->has_dep) {
        if (ensure_work(m, 1)) return fail(m, M4_ERR_NO_MEMORY, "out of memory");
        const float *u = m->ft + st->f_dep, *a = u + H + m->nf, *o = a + M;
        float dOut = slowdown_dout(o[0], m->boff[st->flow], st->dep_gt, 1.0 / (double)m->n_s);
        float *du = m->wk + (size_t)M + 16;
        memset(du, 0, sizeof(float) * (H + m->nf));
        mlp_backward(&cx, P, Gd, &m->out, M, 1, u, a, &dOut, du, m->wk);
        for (int j = 0; j < H; j++) dh[j] += du[j];
    }
    return M4_OK;
}

/* ------------------------------------------------------------------------ */
/* training and inference entry points                                      */
/* ------------------------------------------------------------------------ */

m4_status m4_dyn_forward(m4_dyn *m, const m4_dyn_trace *tr, size_t e0, size_t e1, m4_dyn_loss *loss) {
    if (!m || !tr || e1 <= e0 || e1 > tr->n_events) return M4_ERR_INVALID_ARGUMENT;
    m->err[0] = 0;
    m->has_forward = 0;
    if (e0 == 0) {
        m4_status st = check_trace(m, tr);
        if (st) return st;
    } else if (tr != m->tr || e0 != m->next_event) {
        return fail(m, M4_ERR_INVALID_ARGUMENT, "window [%zu, %zu) does not continue the last forward", e0, e1);
    }
    m->ft_len = 0, m->it_len = 0, m->n_steps = 0;
    m->sum_s = m->sum_r = m->sum_q = m->sum_e = 0;
    m->n_s = m->n_r = m->n_q = m->n_e = 0;
    m->has_link_init = 0;
    pack_weights(m);
    if (e0 == 0) {
        for (size_t i = 0; i < tr->w.n_flows; i++) m->ideal[i] = (double)tr->w.ideal_ns[i];
        if (reset_states(m, &tr->w, m->ideal, tr->ev_time_ns[0], m->training))
            return fail(m, M4_ERR_NO_MEMORY, "out of memory");
    }
    m->tr = NULL;
    for (size_t e = e0; e < e1; e++) {
        dyn_sup sup = {tr, e};
        m4_status st = event_forward(m, &tr->w, &sup, tr->ev_kind[e], tr->ev_flow[e], tr->ev_time_ns[e], m->training);
        if (st) return st;
    }
    m->tr = tr;
    m->next_event = e1;
    m->has_forward = 1;
    if (loss) {
        loss->n_slowdown = m->n_s, loss->n_remain = m->n_r, loss->n_queue = m->n_q;
        loss->slowdown = m->n_s ? m->sum_s / (double)m->n_s : 0;
        loss->remain = m->n_r ? m->sum_r / (double)m->n_r : 0;
        loss->queue = m->n_q ? m->sum_q / (double)m->n_q : 0;
        loss->n_every = m->n_e;
        loss->every = m->n_e ? m->sum_e / (double)m->n_e : 0;
        loss->total = loss->slowdown + m->c.w_remain * loss->remain + m->c.w_queue * loss->queue +
                      m->c.w_every * loss->every;
    }
    return M4_OK;
}

m4_status m4_dyn_backward(m4_dyn *m) {
    if (!m || !m->training) return M4_ERR_INVALID_ARGUMENT;
    if (!m->has_forward) return fail(m, M4_ERR_INVALID_ARGUMENT, "backward without a forward");
    int H = m->c.hidden;
    memset(m->grads, 0, sizeof(float) * m->n_params);
    memset(m->dhf, 0, sizeof(float) * m->F * H);
    memset(m->dhl, 0, sizeof(float) * m->L * H);
    for (size_t s = m->n_steps; s-- > 0;) {
        m4_status st = event_backward(m, &m->steps[s]);
        if (st) return st;
    }
    if (m->has_link_init) {
        const float *y = m->ft + m->f_link_init;
        for (size_t i = 0; i < m->L * H; i++) m->dhl[i] *= 1.0f - y[i] * y[i];
        m4i_ctx cx = thread_ctx(m, 0);
        m4i_linear_backward(&cx, NULL, m->grads + m->li_w, m->grads + m->li_b, m->dhl, m->xl, m->params + m->li_w,
                            (int)m->L, LF, H);
    }
    m->has_forward = 0; /* the accumulators are spent */
    return M4_OK;
}

double m4_dyn_ideal_ns(int64_t size_bytes, const int32_t *route, size_t hops, const double *link_gbps,
                       const int64_t *link_delay_ns) {
    double delay = 0, gbps = INFINITY;
    for (size_t k = 0; k < hops; k++) {
        delay += (double)link_delay_ns[route[k]];
        if (link_gbps[route[k]] < gbps) gbps = link_gbps[route[k]];
    }
    double bytes = (double)size_bytes + ceil((double)size_bytes / 1000.0) * 48.0;
    return delay + bytes * 8.0 / gbps;
}

/* by_start orders flows by start time, then index. */
static void sort_by_start(int64_t *idx, size_t n, const int64_t *start) {
    /* insertion sort on runs would do for sorted inputs; use a simple merge sort */
    if (n < 2) return;
    int64_t *tmp = malloc(sizeof(int64_t) * n);
    if (!tmp) { /* fall back to insertion sort */
        for (size_t i = 1; i < n; i++) {
            int64_t v = idx[i];
            size_t j = i;
            while (j > 0 && (start[idx[j - 1]] > start[v] || (start[idx[j - 1]] == start[v] && idx[j - 1] > v)))
                idx[j] = idx[j - 1], j--;
            idx[j] = v;
        }
        return;
    }
    for (size_t wdt = 1; wdt < n; wdt *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * wdt) {
            size_t mid = lo + wdt < n ? lo + wdt : n, hi = lo + 2 * wdt < n ? lo + 2 * wdt : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi) {
                int64_t x = idx[a], y = idx[b];
                if (start[y] < start[x] || (start[y] == start[x] && y < x)) tmp[k++] = y, b++;
                else tmp[k++] = x, a++;
            }
            while (a < mid) tmp[k++] = idx[a++];
            while (b < hi) tmp[k++] = idx[b++];
        }
        memcpy(idx, tmp, sizeof(int64_t) * n);
    }
    free(tmp);
}

m4_status m4_dyn_run(m4_dyn *m, const m4_dyn_workload *w, double *fct_ns) {
    if (!m || !w || !fct_ns) return M4_ERR_INVALID_ARGUMENT;
    m->err[0] = 0;
    m->has_forward = 0;
    m->tr = NULL;
    m4_status st = check_workload(m, w, 0);
    if (st) return st;
    const int H = m->c.hidden, M = m->c.mlp_hidden;
    size_t F = w->n_flows;
    for (size_t i = 0; i < F; i++) {
        int64_t a = w->route_ptr[i];
        m->ideal[i] = w->ideal_ns ? (double)w->ideal_ns[i]
                                  : m4_dyn_ideal_ns(w->size_bytes[i], w->route + a, (size_t)(w->route_ptr[i + 1] - a),
                                                    w->link_gbps, w->link_delay_ns);
        m->order[i] = (int64_t)i;
    }
    sort_by_start(m->order, F, w->start_ns);
    pack_weights(m);
    m->ft_len = 0, m->it_len = 0;
    if (reset_states(m, w, m->ideal, w->start_ns[m->order[0]], 0)) return fail(m, M4_ERR_NO_MEMORY, "out of memory");
    size_t next = 0;
    int64_t now = w->start_ns[m->order[0]];
    float *U = NULL, *A = NULL, *O = NULL;
    size_t ucap = 0;
    while (next < F || m->nact > 0) {
        /* every active flow's predicted completion */
        int32_t best = -1;
        double tbest = INFINITY;
        int nA = m->nact;
        if (nA > 0) {
            if ((size_t)nA > ucap) {
                size_t n = (size_t)nA * 2;
                float *u = realloc(U, sizeof(float) * n * (H + m->nf + M + 1));
                if (!u) {
                    free(U);
                    return fail(m, M4_ERR_NO_MEMORY, "out of memory");
                }
                U = u, ucap = n;
            }
            A = U + (size_t)ucap * (H + m->nf), O = A + (size_t)ucap * M;
            out_rows job = {m, nA, U, A, O};
            pool_run(m->pool, event_threads(m, nA), out_rows_fn, &job);
            for (int i = 0; i < nA; i++) {
                int32_t g = m->act[i];
                if (!isfinite(O[i])) {
                    free(U);
                    return fail(m, M4_ERR_INVALID_INPUT, "the model's slowdown of flow %d is not finite", g);
                }
                double c = (double)w->start_ns[g] + slowdown_of(O[i], m->boff[g]) * m->ideal[g];
                if (c < (double)now) c = (double)now;
                if (c < tbest || (c == tbest && g < best)) tbest = c, best = g;
            }
        }
        int kind;
        int32_t f;
        int64_t t;
        if (next < F && (double)w->start_ns[m->order[next]] <= tbest) {
            kind = 0, f = (int32_t)m->order[next++], t = w->start_ns[f];
        } else {
            kind = 1, f = best, t = (int64_t)llround(tbest);
            if (t < now) t = now;
            fct_ns[f] = tbest - (double)w->start_ns[f];
        }
        st = event_forward(m, w, NULL, kind, f, t, 0);
        if (st) {
            free(U);
            return st;
        }
        now = t;
    }
    free(U);
    return M4_OK;
}
