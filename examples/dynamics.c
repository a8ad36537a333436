/*
 * dynamics.c: m4's flow-level dynamics model through libm4, from C: train it
 * on a packet-level trace, then estimate every flow of a workload with its
 * event loop.
 *
 *   dynamics [STEPS]
 *   dynamics --ckpt CKPT
 *
 * The workload: six flows among four hosts around one switch (directed links
 * 0-3 host -> switch, 4-7 switch -> host, 10 Gbit/s, 1 us). The trace: their
 * FCTs as a packet-level run measured them, each flow's remaining bytes
 * falling evenly over its FCT, and a 1500 B queue on a link for every flow
 * beyond the first on it (a real one comes from m4 datagen --dynamics's
 * dynamics.npz, whose arrays m4_dyn_trace takes as they are). The program
 * trains a small model for STEPS AdamW steps (default 300; the loss is
 * printed as it falls), then runs m4_dyn_run on the workload alone (no
 * trace) and prints each flow's ideal, measured and estimated FCT (ns) and
 * the mean |estimated / measured FCT - 1|. With --ckpt it loads a model
 * trained by m4 (m4 train --estimator dynamics writes CKPT) with
 * m4_dyn_load instead of training one, and runs it on the same workload
 * (its configuration values, the CC parameters m4 would pass, all 0 here),
 * after listing each input of the workload outside the model's trained
 * ranges (m4_dyn_check_workload).
 *
 * Build against an installed libm4:
 *   cc -std=c99 -O2 dynamics.c $(pkg-config --cflags --libs m4) -lm -o dynamics
 * or in the source tree with CMake (target m4_example_dynamics).
 */
#include <m4.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { F = 6, L = 8, E = 2 * F };

static int run(m4_dyn *m, const m4_dyn_workload *w, const int64_t *fct);

int main(int argc, char **argv) {
    const char *ckpt = argc == 3 && strcmp(argv[1], "--ckpt") == 0 ? argv[2] : NULL;
    int steps = argc == 2 ? atoi(argv[1]) : 300;
    if (steps < 0 || argc > 3 || (argc == 3 && !ckpt)) {
        fprintf(stderr, "usage: dynamics [STEPS] | dynamics --ckpt CKPT\n");
        return 2;
    }
    /* the workload */
    static const int src[F] = {0, 1, 2, 0, 3, 1}, dst[F] = {3, 3, 3, 2, 1, 0};
    int64_t size[F] = {40000, 8000, 120000, 3000, 60000, 20000};
    int64_t start[F] = {0, 2000, 3000, 9000, 12000, 30000};
    int64_t fct[F] = {61000, 24000, 162000, 7500, 58000, 19500}; /* as measured */
    int64_t ideal[F], rptr[F + 1];
    int32_t route[2 * F];
    double gbps[L];
    int64_t delay[L];
    for (int l = 0; l < L; l++) gbps[l] = 10, delay[l] = 1000;
    rptr[0] = 0;
    for (int i = 0; i < F; i++) {
        route[2 * i] = src[i], route[2 * i + 1] = 4 + dst[i];
        rptr[i + 1] = 2 * (i + 1);
        ideal[i] = (int64_t)m4_dyn_ideal_ns(size[i], route + 2 * i, 2, gbps, delay);
    }
    m4_dyn_workload w = {F, size, start, ideal, rptr, route, L, gbps, delay, NULL, NULL}; /* no configuration values, no prior */

    /* the trace: arrivals and departures by time (arrivals first on a tie) */
    int64_t ev_time[E], aptr[E + 1], qptr[E + 1];
    int8_t ev_kind[E];
    int32_t ev_flow[E], aflow[E * F], qlink[E * L];
    float arem[E * F], qbytes[E * L];
    int n = 0;
    for (int i = 0; i < F; i++) {
        ev_time[n] = start[i], ev_kind[n] = 0, ev_flow[n++] = i;
        ev_time[n] = start[i] + fct[i], ev_kind[n] = 1, ev_flow[n++] = i;
    }
    for (int i = 1; i < E; i++) /* insertion sort by (time, kind) */
        for (int j = i; j > 0 && (ev_time[j - 1] > ev_time[j] ||
                                  (ev_time[j - 1] == ev_time[j] && ev_kind[j - 1] > ev_kind[j]));
             j--) {
            int64_t t = ev_time[j]; ev_time[j] = ev_time[j - 1]; ev_time[j - 1] = t;
            int8_t k = ev_kind[j]; ev_kind[j] = ev_kind[j - 1]; ev_kind[j - 1] = k;
            int32_t f = ev_flow[j]; ev_flow[j] = ev_flow[j - 1]; ev_flow[j - 1] = f;
        }
    int active[F] = {0};
    aptr[0] = qptr[0] = 0;
    for (int e = 0; e < E; e++) {
        active[ev_flow[e]] = ev_kind[e] == 0;
        int on[L] = {0};
        int64_t na = aptr[e], nq = qptr[e];
        for (int i = 0; i < F; i++) {
            if (!active[i]) continue;
            aflow[na] = i;
            arem[na++] = (float)((double)size[i] * (1.0 - (double)(ev_time[e] - start[i]) / (double)fct[i]));
            on[route[2 * i]]++, on[route[2 * i + 1]]++;
        }
        for (int l = 0; l < L; l++)
            if (on[l] > 1) qlink[nq] = l, qbytes[nq++] = 1500.0f * (float)(on[l] - 1);
        aptr[e + 1] = na, qptr[e + 1] = nq;
    }
    m4_dyn_trace tr = {w, fct, E, ev_time, ev_kind, ev_flow, aptr, aflow, arem, qptr, qlink, qbytes};

    m4_dyn *m;
    m4_status st;
    float cfg_values[M4_DYN_MAX_PARAMS] = {0};
    if (ckpt) { /* a model m4 trained */
        m4_dyn_checkpoint_info info;
        char msg[512];
        if ((st = m4_dyn_load(&m, ckpt, 0, &info, msg, sizeof msg)) != M4_OK) {
            fprintf(stderr, "dynamics: %s: %s\n", m4_strerror(st), msg);
            m4_dyn_checkpoint_info_free(&info);
            return 1;
        }
        printf("model: %s, %zu parameters in %d tensors, hidden %d, %d configuration values\n", ckpt,
               m4_dyn_num_params(m), m4_dyn_num_tensors(m), info.config.hidden, info.config.n_params);
        if (info.config.n_params > 0) w.params = cfg_values;
        /* what the model was trained on against this workload: 4 hosts, 10
         * Gbit/s links, say DCTCP (K 30 KB) with 3 MB buffers and PFC;
         * m4 run warns of each such input, m4 run --strict refuses */
        m4_cc_config cc = {0};
        cc.cc = M4_CC_DCTCP, cc.buffer_kb = 3072, cc.window_bytes = 18000, cc.pfc = 1, cc.dctcp_k = 30;
        char report[1024];
        int outside = m4_dyn_check_workload(&info, &cc, 4, gbps, L, report, sizeof report);
        if (outside > 0) printf("outside the trained ranges (%d inputs; the estimate extrapolates):\n%s", outside, report);
        else if (outside == 0 && !info.ranges.has) printf("the checkpoint records no trained ranges\n");
        m4_dyn_checkpoint_info_free(&info);
        return run(m, &w, fct);
    }

    /* a small model, trained on the trace */
    m4_dyn_config cfg;
    m4_dyn_config_default(&cfg);
    cfg.hidden = 24, cfg.gnn_width = 32, cfg.mlp_hidden = 24;
    st = m4_dyn_create(&m, &cfg, 1);
    if (st != M4_OK) {
        fprintf(stderr, "dynamics: create: %s\n", m4_strerror(st));
        return 1;
    }
    printf("model: %zu parameters in %d tensors\n", m4_dyn_num_params(m), m4_dyn_num_tensors(m));
    for (int s = 1; s <= steps; s++) {
        m4_dyn_loss loss;
        if ((st = m4_dyn_forward(m, &tr, 0, E, &loss)) != M4_OK || (st = m4_dyn_backward(m)) != M4_OK ||
            (st = m4_dyn_adamw(m, 3e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, s)) != M4_OK) {
            fprintf(stderr, "dynamics: step %d: %s (%s)\n", s, m4_strerror(st), m4_dyn_error(m));
            m4_dyn_destroy(m);
            return 1;
        }
        if (s == 1 || s % 100 == 0 || s == steps)
            printf("step %4d: loss %.4f (slowdown %.4f, remaining %.4f, queue %.4f)\n", s, loss.total, loss.slowdown,
                   loss.remain, loss.queue);
    }

    return run(m, &w, fct);
}

/* run estimates every flow of w with m's event loop, prints them beside
 * the measured FCTs and frees m. */
static int run(m4_dyn *m, const m4_dyn_workload *w, const int64_t *fct) {
    double est[F], err = 0;
    m4_status st = m4_dyn_run(m, w, est);
    if (st != M4_OK) {
        fprintf(stderr, "dynamics: run: %s (%s)\n", m4_strerror(st), m4_dyn_error(m));
        m4_dyn_destroy(m);
        return 1;
    }
    printf("flow  size_B  ideal_ns  measured_ns  estimated_ns\n");
    for (int i = 0; i < F; i++) {
        printf("%4d %7lld %9lld %12lld %13.0f\n", i, (long long)w->size_bytes[i], (long long)w->ideal_ns[i],
               (long long)fct[i], est[i]);
        err += fabs(est[i] / (double)fct[i] - 1.0) / F;
    }
    printf("mean |estimated/measured FCT - 1|: %.3f\n", err);
    m4_dyn_destroy(m);
    return 0;
}
