/*
 * pktsim.c: packet-level simulation of an RDMA datacenter network.
 *
 * A re-implementation of the HPCC ns-3 fork (branch m3: scratch/third.cc,
 * src/point-to-point/model/{rdma-hw,rdma-queue-pair,qbb-net-device,
 * switch-node,switch-mmu}.cc) that produced m4's reference ground truth.
 * docs/pktsim.md lists the semantics kept; the short version:
 *
 *   - Events run in ns-3's order: by integer ns, ties by scheduling order
 *     (ns-3's map scheduler keys on (time, uid)). Every event the fork
 *     schedules that can change state is scheduled here in the same order,
 *     including the two zero-delay hops of an application start, so ties
 *     break the same way.
 *   - Time and rate arithmetic is the fork's: Seconds(double) conversions go
 *     through ns-3's 64.64 fixed point (floor), DataRate is integer bit/s and
 *     every "rate * double" truncates to an integer as DataRate does.
 *   - Random ECN marking (and the IP id of PFC frames) draws from ns-3's
 *     MRG32k3a streams: every draw opens the next stream, as the deprecated
 *     UniformVariable does, so the draws match once the stream counter's
 *     start (cfg.rng_stream_base) matches the fork's setup.
 *
 * Layout: one struct m4_pktsim owns everything (no globals); its parts live
 * in pktsim_*.c by concern, listed in pktsim_internal.h. Packets live in a
 * growable pool addressed by index and chained into FIFO queues through
 * their `next` field; events sit in a wheel of 1-ns buckets or, far ahead,
 * a 4-ary min-heap on (ts, uid) (pktsim_event.c). A run allocates once per
 * scenario and nothing per packet.
 *
 * This file: m4_pktsim_run (reset, load the flows, run the events, write
 * the results), m4_pktsim_ideal and m4_pktsim_routes (no simulation), and
 * the getters of stats and traces.
 */
#include "pktsim_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *m4_pktsim_error(const m4_pktsim *s) { return s ? s->err : "no simulator"; }

void m4_pktsim_get_stats(const m4_pktsim *s, m4_pktsim_stats *st) {
    if (s && st) *st = s->stats;
}

const m4_pktsim_pfc_event *m4_pktsim_pfc_trace(const m4_pktsim *s, size_t *n) {
    if (n) *n = s ? s->n_pfc : 0;
    return s ? s->pfc : NULL;
}

m4_status m4_pktsim_qlen_hist(const m4_pktsim *s, size_t *n_ports, size_t *n_kb, const int32_t **node_out,
                              const int32_t **ifindex, const uint64_t **counts) {
    if (!s || !n_ports || !n_kb || !node_out || !ifindex || !counts) return M4_ERR_INVALID_ARGUMENT;
    *n_ports = s->qlen_n_ports;
    *n_kb = s->qlen_n_kb;
    *node_out = s->qlen_node;
    *ifindex = s->qlen_if;
    *counts = s->qlen_counts;
    return M4_OK;
}

/* ------------------------------------------------------------------------ */
/* run                                                                       */
/* ------------------------------------------------------------------------ */

/* The fork's standalone FCT (qp_delivered in third.cc) of size bytes from
 * node src to node dst. */
static int64_t ideal_fct(const m4_pktsim *s, int32_t src, int32_t dst, uint64_t size) {
    int32_t N = s->n_nodes;
    int32_t h = s->nodes[dst].index;
    const int32_t *tl = s->tree_link + (size_t)h * N, *tp = s->tree_parent + (size_t)h * N;
    uint64_t delay = s->tree_delay[(size_t)h * N + src];
    uint64_t b = UINT64_MAX;
    uint64_t header = 48;
    uint64_t head = size < s->cfg.payload_bytes ? size : s->cfg.payload_bytes;
    uint64_t rest = size - head;
    uint64_t rest_n = (size - 1) / s->cfg.payload_bytes;
    uint64_t tx = 0;
    for (int32_t v = src; tp[v] >= 0; v = tp[v]) {
        uint64_t bw = s->link_rate[tl[v]];
        if (bw < b) b = bw;
        tx += (head + header) * 8000000000ull / bw;
    }
    if (s->cfg.ideal_rate_cap_bps < b) b = s->cfg.ideal_rate_cap_bps;
    uint64_t header_delay = header * 8000000000ull / b;
    uint64_t rest_delay = rest * 8000000000ull / b + rest_n * header_delay;
    return (int64_t)((2 * delay) / 2 + tx + rest_delay);
}

static void qlen_sample(m4_pktsim *s) {
    size_t pi = 0;
    for (int32_t i = 0; i < s->n_switches; i++) {
        swtch *w = &s->sws[i];
        for (uint32_t j = 1; j <= w->n_ports; j++, pi++) {
            uint32_t size = 0;
            for (uint32_t q = 0; q < QCNT; q++) size += w->egress_bytes[j * QCNT + q];
            size_t kb = size / 1000;
            if (kb >= s->qlen_n_kb) kb = s->qlen_n_kb - 1;
            s->qlen_counts[pi * s->qlen_n_kb + kb]++;
        }
    }
    if (s->now < (int64_t)s->cfg.qlen_end_ns) pk_schedule(s, s->now + (int64_t)s->cfg.qlen_interval_ns, EV_QLEN, 0);
}

static int check_flows(m4_pktsim *s, const m4_pktsim_flows *fl) {
    if (!fl->id || !fl->src || !fl->dst || !fl->pg || !fl->dport || !fl->size_bytes || !fl->start_ns) {
        pk_set_err(s, "flows: a NULL array");
        return -1;
    }
    for (size_t i = 0; i < fl->n; i++) {
        int32_t a = fl->src[i], b = fl->dst[i];
        if (a < 0 || a >= s->n_nodes || s->nodes[a].is_switch) {
            pk_set_err(s, "flow %zu (id %u): src %d is not a host of the topology", i, fl->id[i], a);
            return -1;
        }
        if (b < 0 || b >= s->n_nodes || s->nodes[b].is_switch) {
            pk_set_err(s, "flow %zu (id %u): dst %d is not a host of the topology", i, fl->id[i], b);
            return -1;
        }
        if (a == b) {
            pk_set_err(s, "flow %zu (id %u): src and dst are both host %d", i, fl->id[i], a);
            return -1;
        }
        if (s->tree_parent[(size_t)s->nodes[b].index * s->n_nodes + a] < 0) {
            pk_set_err(s, "flow %zu (id %u): no path from host %d to host %d (disconnected topology)", i, fl->id[i], a, b);
            return -1;
        }
        if (fl->size_bytes[i] == 0 || fl->size_bytes[i] > 0xffffffffull) {
            pk_set_err(s, "flow %zu (id %u): size %llu bytes is out of range (1..2^32-1)", i, fl->id[i],
                       (unsigned long long)fl->size_bytes[i]);
            return -1;
        }
        if (fl->pg[i] == 0 || fl->pg[i] >= QCNT) {
            pk_set_err(s, "flow %zu (id %u): priority group %u is out of range (1..7)", i, fl->id[i], fl->pg[i]);
            return -1;
        }
        if (fl->start_ns[i] > (uint64_t)INT64_MAX / 2) {
            pk_set_err(s, "flow %zu (id %u): start time %llu ns is out of range", i, fl->id[i],
                       (unsigned long long)fl->start_ns[i]);
            return -1;
        }
        if (i > 0 && fl->start_ns[i] < fl->start_ns[i - 1]) {
            pk_set_err(s, "flow %zu (id %u): start time %llu ns is before the previous flow's %llu ns (flows must be sorted)",
                       i, fl->id[i], (unsigned long long)fl->start_ns[i], (unsigned long long)fl->start_ns[i - 1]);
            return -1;
        }
    }
    return 0;
}

/* assign_ports gives n flows from src to dst their source ports: per
 * (src, dst) pair, 10000 upward in flow order (uint16 wraps, as in the
 * fork). Returns -1 when out of memory. */
static int assign_ports(size_t n, const int32_t *src, const int32_t *dst, uint16_t *sport) {
    size_t cap = 64;
    while (cap < 2 * n) cap *= 2;
    uint64_t *keys = malloc(cap * sizeof(uint64_t));
    uint16_t *vals = malloc(cap * sizeof(uint16_t));
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t i = 0; i < cap; i++) keys[i] = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        uint64_t key = ((uint64_t)(uint32_t)src[i] << 32) | (uint32_t)dst[i];
        size_t h = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
        while (keys[h] != UINT64_MAX && keys[h] != key) h = (h + 1) & (cap - 1);
        if (keys[h] == UINT64_MAX) {
            keys[h] = key;
            vals[h] = 10000;
        }
        sport[i] = vals[h]++;
    }
    free(keys);
    free(vals);
    return 0;
}

static double wall_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void reset_state(m4_pktsim *s) {
    pk_events_reset(s);
    memset(&s->stats, 0, sizeof(s->stats));
    s->n_pfc = 0;
    s->tr_valid = 0;
    s->n_delivered = 0;
    s->flow_input_idx = 0;
    s->oom = 0;
    s->overflow = 0;
    s->err[0] = 0;
    for (uint32_t i = 0; i < s->n_devs; i++) {
        device *dv = &s->devs[i];
        dv->busy = 0;
        memset(dv->paused, 0, sizeof(dv->paused));
        for (int q = 0; q < QCNT; q++) {
            dv->qhead[q] = dv->qtail[q] = NIL;
            dv->qbytes[q] = 0;
        }
        dv->bytes_total = 0;
        dv->rrlast = dv->qlast = 0;
        dv->ack_head = dv->ack_tail = NIL;
        dv->n_qps = 0;
        dv->nic_rrlast = 0;
        dv->ns_pending = 0;
    }
    for (int32_t i = 0; i < s->n_switches; i++) {
        swtch *w = &s->sws[i];
        size_t np = (size_t)w->n_ports + 1;
        w->shared_used = 0;
        memset(w->hdrm_bytes, 0, np * QCNT * sizeof(uint32_t));
        memset(w->ingress_bytes, 0, np * QCNT * sizeof(uint32_t));
        memset(w->paused, 0, np * QCNT * sizeof(uint32_t));
        memset(w->egress_bytes, 0, np * QCNT * sizeof(uint32_t));
        memset(w->tx_bytes, 0, np * sizeof(uint64_t));
    }
}

m4_status m4_pktsim_ideal(m4_pktsim *s, const m4_pktsim_flows *fl, int64_t *ideal_ns) {
    if (!s) return M4_ERR_INVALID_ARGUMENT;
    if (!s->nodes || !s->wheel_n) return M4_ERR_INVALID_ARGUMENT; /* create failed */
    s->err[0] = 0;
    if (!fl || !ideal_ns) {
        pk_set_err(s, "flows and the ideal FCT array are required");
        return M4_ERR_INVALID_ARGUMENT;
    }
    if (check_flows(s, fl)) return M4_ERR_INVALID_INPUT;
    for (size_t i = 0; i < fl->n; i++) ideal_ns[i] = ideal_fct(s, fl->src[i], fl->dst[i], fl->size_bytes[i]);
    return M4_OK;
}

m4_status m4_pktsim_routes(m4_pktsim *s, const m4_pktsim_flows *fl, int64_t *route_ptr, int32_t *route, size_t cap) {
    if (!s) return M4_ERR_INVALID_ARGUMENT;
    if (!s->nodes || !s->wheel_n) return M4_ERR_INVALID_ARGUMENT; /* create failed */
    s->err[0] = 0;
    if (!fl || !route_ptr) {
        pk_set_err(s, "flows and the route offsets are required");
        return M4_ERR_INVALID_ARGUMENT;
    }
    if (check_flows(s, fl)) return M4_ERR_INVALID_INPUT;
    uint16_t *sport = malloc((fl->n + 1) * sizeof(uint16_t));
    if (!sport || assign_ports(fl->n, fl->src, fl->dst, sport)) {
        free(sport);
        pk_set_err(s, "out of memory assigning ports");
        return M4_ERR_NO_MEMORY;
    }
    /* each hop: the device that sends on it, then its peer's node; hosts
     * have one device, switches pick theirs as pk_switch_receive does */
    int64_t k = 0;
    for (size_t i = 0; i < fl->n; i++) {
        route_ptr[i] = k;
        int32_t v = fl->src[i];
        uint32_t d = s->nodes[v].dev0;
        for (;;) {
            const device *dv = &s->devs[d];
            uint32_t l = (uint32_t)dv->link;
            if (route && (size_t)k < cap) route[k] = (int32_t)(2 * l + (s->link_dev[2 * l] == d ? 0 : 1));
            k++;
            v = s->devs[dv->peer].node;
            if (v == fl->dst[i] || !s->nodes[v].is_switch) break;
            uint32_t out = pk_switch_route(s, v, fl->src[i], fl->dst[i], sport[i], fl->dport[i]);
            if (out == 0) break; /* unreachable: check_flows found a path */
            d = s->nodes[v].dev0 + out - 1;
        }
    }
    route_ptr[fl->n] = k;
    free(sport);
    if (route && (size_t)k > cap) {
        pk_set_err(s, "routes: %lld links do not fit in %zu entries", (long long)k, cap);
        return M4_ERR_INVALID_ARGUMENT;
    }
    return M4_OK;
}

/* load_flows copies the flows into the simulator's flow table and gives
 * them their initial CC state and source ports. */
static m4_status load_flows(m4_pktsim *s, const m4_pktsim_flows *fl) {
    size_t n = fl->n;
    if (n > s->cap_flows) {
        flow *f = realloc(s->flows, n * sizeof(flow));
        uint32_t *o = realloc(s->order, n * sizeof(uint32_t));
        if (f) s->flows = f;
        if (o) s->order = o;
        if (!f || !o) {
            pk_set_err(s, "out of memory for %zu flows", n);
            return M4_ERR_NO_MEMORY;
        }
        s->cap_flows = n;
    }
    s->n_flows = n;
    memset(s->flows, 0, n * sizeof(flow));
    for (size_t i = 0; i < n; i++) {
        flow *f = &s->flows[i];
        f->id = fl->id[i];
        f->src = fl->src[i];
        f->dst = fl->dst[i];
        f->pg = fl->pg[i];
        f->dport = fl->dport[i];
        f->size = fl->size_bytes[i];
        f->start = (int64_t)fl->start_ns[i];
        f->m_alpha = 1;
        f->m_first_cnp = 1;
        f->h_u = 1;
        for (int k = 0; k < MAXHOP; k++) f->h_st[k].u = 1;
        f->d_alpha = 1;
        f->fct = -1;
    }
    uint16_t *sport = malloc((n + 1) * sizeof(uint16_t));
    if (!sport || assign_ports(n, fl->src, fl->dst, sport)) {
        free(sport);
        pk_set_err(s, "out of memory assigning ports");
        return M4_ERR_NO_MEMORY;
    }
    for (size_t i = 0; i < n; i++) s->flows[i].sport = sport[i];
    free(sport);
    return M4_OK;
}

/* setup_rng opens the first ECN stream and seeds the lossy links' streams. */
static m4_status setup_rng(m4_pktsim *s) {
    if (pk_rng_init(&s->rng, s->cfg.rng_stream_base, s->link_rng ? s->st50 : NULL)) {
        pk_set_err(s, "out of memory for the RNG tables");
        return M4_ERR_NO_MEMORY;
    }
    if (s->link_rng)
        for (int32_t l = 0; l < s->n_links; l++) memcpy(s->link_rng[l], s->st50, sizeof(s->st50));
    return M4_OK;
}

/* setup_qlen_trace allocates the queue-length histogram (one row per switch
 * port) and schedules its first sample, when the config asks for one. */
static m4_status setup_qlen_trace(m4_pktsim *s) {
    const m4_pktsim_config *c = &s->cfg;
    free(s->qlen_node);
    free(s->qlen_if);
    free(s->qlen_counts);
    s->qlen_node = NULL;
    s->qlen_if = NULL;
    s->qlen_counts = NULL;
    s->qlen_n_ports = s->qlen_n_kb = 0;
    if (c->qlen_interval_ns > 0) {
        size_t np = 0;
        for (int32_t i = 0; i < s->n_switches; i++) np += s->sws[i].n_ports;
        uint64_t maxkb = (uint64_t)c->buffer_size_kb * 1024 / 1000 + 2;
        if (maxkb > 100000) maxkb = 100000;
        s->qlen_n_ports = np;
        s->qlen_n_kb = (size_t)maxkb;
        s->qlen_node = malloc((np + 1) * sizeof(int32_t));
        s->qlen_if = malloc((np + 1) * sizeof(int32_t));
        s->qlen_counts = calloc(np * maxkb + 1, sizeof(uint64_t));
        if (!s->qlen_node || !s->qlen_if || !s->qlen_counts) {
            pk_set_err(s, "out of memory for the queue-length trace");
            return M4_ERR_NO_MEMORY;
        }
        size_t pi = 0;
        for (int32_t i = 0; i < s->n_switches; i++)
            for (uint32_t j = 1; j <= s->sws[i].n_ports; j++, pi++) {
                s->qlen_node[pi] = s->sws[i].node;
                s->qlen_if[pi] = (int32_t)j;
            }
        pk_schedule(s, (int64_t)c->qlen_start_ns, EV_QLEN, 0);
    }
    return M4_OK;
}

/* run_event runs one event: type and index x as scheduled, uid its place
 * in scheduling order (timers and sends check it to see cancellation). */
static void run_event(m4_pktsim *s, uint32_t ev_type, uint32_t x, uint64_t ev_uid) {
    size_t n = s->n_flows;
    switch (ev_type) {
    case EV_TX_DONE:
        s->devs[x].busy = 0;
        pk_dequeue_and_transmit(s, x);
        break;
    case EV_RECV:
        pk_device_receive(s, s->pool[x].rx_dev, x);
        break;
    case EV_NIC_SEND: {
        device *dv = &s->devs[x];
        if (!dv->ns_pending || dv->ns_uid != ev_uid) break; /* cancelled */
        dv->ns_pending = 0;
        pk_dequeue_and_transmit(s, x);
        break;
    }
    case EV_FLOW_INPUT:
        while (s->flow_input_idx < n && s->flows[s->flow_input_idx].start == s->now) {
            pk_schedule(s, s->now, EV_APP_START, (uint32_t)s->flow_input_idx);
            s->flow_input_idx++;
        }
        if (s->flow_input_idx < n) pk_schedule(s, s->flows[s->flow_input_idx].start, EV_FLOW_INPUT, 0);
        break;
    case EV_APP_START:
        pk_schedule(s, s->now, EV_QP_START, x);
        break;
    case EV_QP_START:
        pk_add_queue_pair(s, x);
        if (s->trace_on) pk_trace_event(s, 0, x);
        break;
    case EV_ALPHA:
        if (s->flows[x].ev_alpha == ev_uid) pk_dcqcn_update_alpha(s, &s->flows[x]);
        break;
    case EV_DEC:
        if (s->flows[x].ev_dec == ev_uid) pk_dcqcn_check_decrease(s, &s->flows[x]);
        break;
    case EV_RP:
        if (s->flows[x].ev_rp == ev_uid) pk_dcqcn_rate_increase(s, &s->flows[x]);
        break;
    case EV_QLEN:
        qlen_sample(s);
        break;
    }
}

/* run_events runs events until every flow is delivered, the queue runs
 * dry before the stop time, or a budget or limit ends the run. */
static m4_status run_events(m4_pktsim *s) {
    const m4_pktsim_config *c = &s->cfg;
    size_t n = s->n_flows;
    double t0 = c->max_wall_seconds > 0 ? wall_seconds() : 0;
    m4_status st = M4_OK;
    uint32_t ev_type, x;
    uint64_t ev_uid;
    uint64_t every = c->progress_every_events ? c->progress_every_events : (uint64_t)1 << 20;
    while (s->n_delivered < n && pk_next_event(s, &ev_type, &x, &ev_uid)) {
        s->stats.events++;
        if (c->progress && s->stats.events % every == 0) c->progress(c->progress_ctx, s->n_delivered, n, s->now);
        if (c->max_events && s->stats.events > c->max_events) {
            pk_set_err(s, "event budget of %llu events exhausted at t=%lld ns with %zu of %zu flows unfinished",
                       (unsigned long long)c->max_events, (long long)s->now, n - s->n_delivered, n);
            st = M4_ERR_BUDGET;
            break;
        }
        if (c->max_wall_seconds > 0 && (s->stats.events & 0xffff) == 0 && wall_seconds() - t0 > c->max_wall_seconds) {
            pk_set_err(s, "wall-clock budget of %g s exhausted at t=%lld ns with %zu of %zu flows unfinished",
                       c->max_wall_seconds, (long long)s->now, n - s->n_delivered, n);
            st = M4_ERR_BUDGET;
            break;
        }
        run_event(s, ev_type, x, ev_uid);
        if (s->oom) break;
        if (s->overflow) {
            pk_set_err(s, "the run reached the simulator's limit of 2^40 scheduled events at t=%lld ns",
                       (long long)s->now);
            st = M4_ERR_BUDGET;
            break;
        }
    }
    return st;
}

/* write_results fills res with each flow's FCT (-1: unfinished), ideal FCT,
 * source port and the completion order. */
static void write_results(const m4_pktsim *s, const m4_pktsim_result *res) {
    size_t n = s->n_flows;
    for (size_t i = 0; i < n; i++) {
        flow *f = &s->flows[i];
        res->fct_ns[i] = f->delivered ? f->fct : -1;
        if (res->ideal_ns) res->ideal_ns[i] = ideal_fct(s, f->src, f->dst, f->size);
        if (res->sport) res->sport[i] = f->sport;
    }
    if (res->order) {
        memcpy(res->order, s->order, s->n_delivered * sizeof(uint32_t));
        for (size_t i = s->n_delivered; i < n; i++) res->order[i] = NIL;
    }
}

m4_status m4_pktsim_run(m4_pktsim *s, const m4_pktsim_flows *fl, const m4_pktsim_result *res) {
    if (!s) return M4_ERR_INVALID_ARGUMENT;
    if (!s->nodes || !s->wheel_n) return M4_ERR_INVALID_ARGUMENT; /* create failed */
    if (!fl || !res || !res->fct_ns) {
        pk_set_err(s, "flows and result arrays are required");
        return M4_ERR_INVALID_ARGUMENT;
    }
    reset_state(s);
    s->stop = s->cfg.stop_time_ns < (uint64_t)MAX_TS ? (int64_t)s->cfg.stop_time_ns : MAX_TS;
    if (check_flows(s, fl)) return M4_ERR_INVALID_INPUT;
    const m4_pktsim_config *c = &s->cfg;
    size_t n = fl->n;
    m4_status st;
    if ((st = load_flows(s, fl)) != M4_OK) return st;
    if ((st = setup_rng(s)) != M4_OK) return st;
    if ((st = setup_qlen_trace(s)) != M4_OK) return st;
    if (pk_trace_reset(s, n)) return M4_ERR_NO_MEMORY;
    if (n > 0) pk_schedule(s, s->flows[0].start, EV_FLOW_INPUT, 0);

    st = run_events(s);
    if (s->oom) {
        pk_set_err(s, "out of memory at t=%lld ns", (long long)s->now);
        return M4_ERR_NO_MEMORY;
    }
    s->stats.end_ns = (uint64_t)s->now;
    write_results(s, res);
    if (st != M4_OK) return st;
    if (s->n_delivered < n) {
        if (s->stats.drops > 0)
            pk_set_err(s, "%zu of %zu flows did not finish by the stop time (%.9f s, SIMULATOR_STOP_TIME); %llu packets "
                          "were dropped, and the fork's go-back-N has no retransmission timeout, so a flow whose last "
                          "packets are dropped never finishes: enable PFC or enlarge BUFFER_SIZE",
                       n - s->n_delivered, n, (double)c->stop_time_ns * 1e-9, (unsigned long long)s->stats.drops);
        else
            pk_set_err(s, "%zu of %zu flows did not finish by the stop time (%.9f s, SIMULATOR_STOP_TIME)",
                       n - s->n_delivered, n, (double)c->stop_time_ns * 1e-9);
        return M4_ERR_BUDGET;
    }
    return M4_OK;
}
