/*
 * pktsim_trace.c: the dynamics trace and the directed link table.
 *
 * The trace (m4.h, m4_pktsim_trace) is what a flow-level dynamics model
 * learns from: at each flow arrival and departure, the remaining bytes of
 * every active flow and the bytes queued at every busy switch port. It is
 * recorded from two places only, the start of a queue pair (run_event,
 * EV_QP_START) and the receiver taking the last byte (pk_receive_data), each
 * behind one `if (s->trace_on)`; it reads the simulator's state and never
 * writes it, so FCTs are the same with it on or off.
 *
 * Storage: the events in parallel arrays, the snapshots in CSR form (per
 * event an offset into the flat active-flow and queue arrays), all growing
 * by doubling and kept across runs. The active set is a list of flow
 * indices in arrival order; a departed flow is dropped from it while the
 * next snapshot walks it, so removal costs nothing extra.
 */
#include "pktsim_internal.h"

#include <stdlib.h>
#include <string.h>

/* grow resizes *p (elem-byte entries) to hold at least need entries,
 * doubling; returns -1 when out of memory (*p unchanged). */
static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* grow_events makes room for one more event in the five per-event arrays
 * (the two offset arrays hold one entry more). */
static int grow_events(m4_pktsim *s) {
    if (s->tr_n + 2 <= s->tr_cap) return 0;
    size_t c = s->tr_cap ? s->tr_cap * 2 : 1024;
    int64_t *t = realloc(s->tr_time, c * sizeof(int64_t));
    if (t) s->tr_time = t;
    int64_t *ap = realloc(s->tr_aptr, c * sizeof(int64_t));
    if (ap) s->tr_aptr = ap;
    int64_t *qp = realloc(s->tr_qptr, c * sizeof(int64_t));
    if (qp) s->tr_qptr = qp;
    int8_t *k = realloc(s->tr_kind, c * sizeof(int8_t));
    if (k) s->tr_kind = k;
    int32_t *f = realloc(s->tr_flow, c * sizeof(int32_t));
    if (f) s->tr_flow = f;
    if (!t || !ap || !qp || !k || !f) return -1;
    s->tr_cap = c;
    return 0;
}

int pk_trace_reset(m4_pktsim *s, size_t n) {
    s->tr_n = s->tr_na = s->tr_nq = s->tr_n_active = 0;
    s->tr_valid = 0;
    if (!s->trace_on) return 0;
    if (!s->tr_swl) { /* once: only switch ports queue */
        s->tr_swl = malloc(2 * (size_t)s->n_links * sizeof(uint32_t));
        if (s->tr_swl)
            for (uint32_t l = 0; l < 2 * (uint32_t)s->n_links; l++)
                if (s->nodes[s->devs[s->link_dev[l]].node].is_switch) s->tr_swl[s->tr_n_swl++] = l;
    }
    if (!s->tr_swl || grow_events(s) || grow((void **)&s->tr_active, &s->tr_cap_active, n + 1, sizeof(uint32_t))) {
        pk_set_err(s, "out of memory for the dynamics trace");
        return -1;
    }
    s->tr_aptr[0] = 0;
    s->tr_qptr[0] = 0;
    s->tr_valid = 1;
    return 0;
}

void pk_trace_event(m4_pktsim *s, int kind, uint32_t fi) {
    if (grow_events(s)) {
        s->oom = 1;
        return;
    }
    if (kind == 0) s->tr_active[s->tr_n_active++] = fi; /* room for every flow: pk_trace_reset */
    /* active flows: at most all of them; compact out the departed */
    if (grow((void **)&s->tr_aflow, &s->tr_cap_a, s->tr_na + s->tr_n_active, sizeof(int32_t)) ||
        grow((void **)&s->tr_arem, &s->tr_cap_a_rem, s->tr_na + s->tr_n_active, sizeof(float))) {
        s->oom = 1;
        return;
    }
    size_t kept = 0;
    for (size_t i = 0; i < s->tr_n_active; i++) {
        uint32_t a = s->tr_active[i];
        const flow *f = &s->flows[a];
        if (f->delivered) continue;
        s->tr_active[kept++] = a;
        s->tr_aflow[s->tr_na] = (int32_t)a;
        s->tr_arem[s->tr_na] = (float)(f->size - f->snd_una);
        s->tr_na++;
    }
    s->tr_n_active = kept;
    /* queues: switch ports with bytes queued, by directed link id */
    for (size_t i = 0; i < s->tr_n_swl; i++) {
        uint32_t l = s->tr_swl[i];
        const device *dv = &s->devs[s->link_dev[l]];
        if (dv->bytes_total == 0) continue;
        if (s->tr_nq == s->tr_cap_q &&
            (grow((void **)&s->tr_qlink, &s->tr_cap_q, s->tr_nq + 1, sizeof(int32_t)) ||
             grow((void **)&s->tr_qbytes, &s->tr_cap_q_bytes, s->tr_nq + 1, sizeof(float)))) {
            s->oom = 1;
            return;
        }
        s->tr_qlink[s->tr_nq] = (int32_t)l;
        s->tr_qbytes[s->tr_nq] = (float)dv->bytes_total;
        s->tr_nq++;
    }
    size_t e = s->tr_n++;
    s->tr_time[e] = s->now;
    s->tr_kind[e] = (int8_t)kind;
    s->tr_flow[e] = (int32_t)fi;
    s->tr_aptr[e + 1] = (int64_t)s->tr_na;
    s->tr_qptr[e + 1] = (int64_t)s->tr_nq;
}

void pk_trace_destroy(m4_pktsim *s) {
    free(s->tr_time);
    free(s->tr_aptr);
    free(s->tr_qptr);
    free(s->tr_kind);
    free(s->tr_flow);
    free(s->tr_aflow);
    free(s->tr_arem);
    free(s->tr_qlink);
    free(s->tr_qbytes);
    free(s->tr_active);
    free(s->tr_swl);
}

m4_status m4_pktsim_set_trace(m4_pktsim *s, int on) {
    if (!s) return M4_ERR_INVALID_ARGUMENT;
    s->trace_on = on != 0;
    return M4_OK;
}

m4_status m4_pktsim_get_trace(const m4_pktsim *s, m4_pktsim_trace *tr) {
    if (!s || !tr) return M4_ERR_INVALID_ARGUMENT;
    memset(tr, 0, sizeof(*tr));
    if (!s->tr_valid) return M4_OK;
    tr->n_events = s->tr_n;
    tr->time_ns = s->tr_time;
    tr->kind = s->tr_kind;
    tr->flow = s->tr_flow;
    tr->active_ptr = s->tr_aptr;
    tr->active_flow = s->tr_aflow;
    tr->active_remaining = s->tr_arem;
    tr->queue_ptr = s->tr_qptr;
    tr->queue_link = s->tr_qlink;
    tr->queue_bytes = s->tr_qbytes;
    return M4_OK;
}

m4_status m4_pktsim_links(const m4_pktsim *s, int32_t *from, int32_t *to, uint64_t *rate_bps, uint64_t *delay_ns) {
    if (!s || !s->link_dev || !s->wheel_n) return M4_ERR_INVALID_ARGUMENT; /* none, or create failed */
    for (size_t l = 0; l < 2 * (size_t)s->n_links; l++) {
        const device *dv = &s->devs[s->link_dev[l]];
        if (from) from[l] = dv->node;
        if (to) to[l] = s->devs[dv->peer].node;
        if (rate_bps) rate_bps[l] = dv->rate;
        if (delay_ns) delay_ns[l] = dv->delay;
    }
    return M4_OK;
}
