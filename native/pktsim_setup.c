/*
 * pktsim_setup.c: the configuration (defaults and checks) and building a
 * simulator: m4_pktsim_create turns a topology into nodes, devices (one per
 * link end), switch MMUs, ECMP routes and the event wheel, in that order;
 * m4_pktsim_destroy frees it all.
 */
#include "pktsim_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pk_set_err(m4_pktsim *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* setup                                                                     */
/* ------------------------------------------------------------------------ */

void m4_pktsim_config_default(m4_pktsim_config *c) {
    if (!c) return;
    memset(c, 0, sizeof(*c));
    c->cc_mode = 1;
    c->payload_bytes = 1000;
    c->enable_pfc = 1;
    c->ack_high_prio = 0;
    c->has_win = 1;
    c->var_win = 0;
    c->fixed_win_bytes = 0;
    c->base_rtt_ns = 0;
    c->rate_bound = 1;
    c->l2_chunk_size = 0;
    c->l2_ack_interval = 0;
    c->l2_back_to_zero = 0;
    c->nack_interval_us = 500;
    c->alpha_resume_interval_us = 55;
    c->rate_decrease_interval_us = 4;
    c->rp_timer_us = 0;
    c->ewma_gain = 0; /* third.cc: 1 / 16 in integer arithmetic */
    c->fast_recovery_times = 5;
    c->clamp_target_rate = 0;
    c->rate_on_first_cnp = 1.0;
    c->rate_ai_bps = 0;
    c->rate_hai_bps = 0;
    c->min_rate_bps = 100000000ull;
    c->max_rate_bps = 10000000000ull;
    c->dctcp_rate_ai_bps = 1000000000ull;
    c->u_target = 0.95;
    c->mi_thresh = 5;
    c->fast_react = 1;
    c->multi_rate = 1;
    c->sample_feedback = 0;
    c->int_multi = 1;
    c->timely_t_low_ns = 50000;
    c->timely_t_high_ns = 500000;
    c->timely_beta = 0.8;
    c->timely_alpha = 0.875;
    c->timely_min_rtt_ns = 20000;
    c->buffer_size_kb = 16;
    c->pause_time_us = 5;
    c->stop_time_ns = 3009999999ull; /* Seconds(3.01) */
    c->ideal_rate_cap_bps = 10000000000ull;
    c->rng_stream_base = 0;
}

static int check_config(m4_pktsim *s, const m4_pktsim_config *c) {
#define BAD(...)                \
    do {                        \
        pk_set_err(s, __VA_ARGS__); \
        return -1;              \
    } while (0)
    if (c->cc_mode != M4_CC_DCQCN && c->cc_mode != M4_CC_HPCC && c->cc_mode != M4_CC_TIMELY &&
        c->cc_mode != M4_CC_DCTCP)
        BAD("CC_MODE %d is not supported (1 DCQCN, 3 HPCC, 7 TIMELY, 8 DCTCP)", c->cc_mode);
    if (c->payload_bytes == 0 || c->payload_bytes > 9000) BAD("PACKET_PAYLOAD_SIZE %u out of range (1..9000)", c->payload_bytes);
    if (c->min_rate_bps == 0) BAD("MIN_RATE must be > 0");
    if (c->max_rate_bps == 0) BAD("MAX_RATE must be > 0");
    if (c->n_ecn < 0 || c->n_ecn > M4_PKTSIM_MAX_RATES) BAD("n_ecn %d out of range (0..%d)", c->n_ecn, M4_PKTSIM_MAX_RATES);
    for (int i = 0; i < c->n_ecn; i++) {
        if (c->ecn_pmax[i] != c->ecn_pmax[i] || c->ecn_pmax[i] < 0 || c->ecn_pmax[i] > 1)
            BAD("PMAX_MAP entry %d: %g is not a probability", i, c->ecn_pmax[i]);
        if (c->ecn_kmin_kb[i] > c->ecn_kmax_kb[i]) BAD("KMIN_MAP entry %d (%u KB) exceeds KMAX_MAP's (%u KB)", i, c->ecn_kmin_kb[i], c->ecn_kmax_kb[i]);
    }
    double dbl[] = {c->ewma_gain, c->u_target, c->timely_beta, c->timely_alpha, c->alpha_resume_interval_us,
                    c->rate_decrease_interval_us, c->rp_timer_us, c->nack_interval_us, c->rate_on_first_cnp,
                    c->max_wall_seconds};
    const char *names[] = {"EWMA_GAIN", "U_TARGET", "TIMELY_BETA", "timely_alpha", "ALPHA_RESUME_INTERVAL",
                           "RATE_DECREASE_INTERVAL", "RP_TIMER", "nack_interval_us", "rate_on_first_cnp",
                           "max_wall_seconds"};
    for (size_t i = 0; i < sizeof(dbl) / sizeof(dbl[0]); i++)
        if (dbl[i] != dbl[i] || dbl[i] < 0 || dbl[i] > 1e12) BAD("%s = %g is out of range", names[i], dbl[i]);
    if (c->cc_mode == M4_CC_HPCC) {
        if (c->u_target <= 0) BAD("U_TARGET must be > 0 for HPCC");
        if (c->base_rtt_ns == 0) BAD("BASE_RTT must be > 0 for HPCC");
        if (!c->has_win || c->fixed_win_bytes == 0) BAD("HPCC needs a window (HAS_WIN 1, FIXED_WIN > 0)");
        if (c->int_multi == 0) BAD("INT_MULTI must be > 0");
    }
    if (c->cc_mode == M4_CC_TIMELY && c->timely_min_rtt_ns == 0) BAD("timely_min_rtt_ns must be > 0");
    if (c->cc_mode == M4_CC_DCQCN) {
        if (us_to_ns(c->alpha_resume_interval_us) == 0) BAD("ALPHA_RESUME_INTERVAL must be >= 1 us");
        if (us_to_ns(c->rp_timer_us) == 0) BAD("RP_TIMER must be >= 1 us");
        if (us_to_ns(c->rate_decrease_interval_us) == 0) BAD("RATE_DECREASE_INTERVAL must be >= 1 us");
    }
    if (c->ideal_rate_cap_bps == 0) BAD("ideal_rate_cap_bps must be > 0");
    return 0;
#undef BAD
}

static void free_topology(m4_pktsim *s) {
    if (s->devs)
        for (uint32_t i = 0; i < s->n_devs; i++) free(s->devs[i].qps);
    if (s->sws)
        for (int32_t i = 0; i < s->n_switches; i++) {
            swtch *w = &s->sws[i];
            free(w->headroom);
            free(w->shift);
            free(w->kmin);
            free(w->kmax);
            free(w->pmax);
            free(w->hdrm_bytes);
            free(w->ingress_bytes);
            free(w->paused);
            free(w->egress_bytes);
            free(w->tx_bytes);
        }
    free(s->nodes);
    free(s->devs);
    free(s->sws);
    free(s->host_node);
    free(s->switch_node);
    free(s->link_err);
    free(s->link_rate);
    free(s->link_dev);
    free(s->link_rng);
    free(s->route_off);
    free(s->route_port);
    free(s->tree_link);
    free(s->tree_parent);
    free(s->tree_delay);
}

/* The interface from node a to neighbour b: the last link between them, as
 * the fork's nbr2if map keeps. Returns the device index or -1. */
static int64_t nbr_dev(const m4_pktsim *s, int32_t a, int32_t b) {
    const node *na = &s->nodes[a];
    for (int64_t i = (int64_t)na->n_dev - 1; i >= 0; i--) {
        const device *dv = &s->devs[na->dev0 + (uint32_t)i];
        if (s->devs[dv->peer].node == b) return (int64_t)(na->dev0 + (uint32_t)i);
    }
    return -1;
}

/* The order in which the fork's CalculateRoute visits neighbours: its
 * nbr2if maps are keyed by Ptr<Node>, i.e. by the node objects' addresses.
 * Hosts are small heap objects; a SwitchNode (its m_bytes table alone is
 * 257 x 257 x 8 uint32) is above glibc's mmap threshold, so each gets its
 * own mapping, and Linux places each new mapping below the previous one.
 * So hosts come first and switches follow in descending id. Only the
 * switches' order matters: it orders the BFS queue and with it every ECMP
 * next-hop list (docs/pktsim.md, "Routing"). */
static int nbr_before(const m4_pktsim *s, int32_t a, int32_t b) {
    int sa = s->nodes[a].is_switch, sb = s->nodes[b].is_switch;
    if (sa != sb) return sb;
    return sa ? a > b : a < b;
}

/* Neighbours of node v in the fork's visiting order, one per neighbour. */
static int32_t neighbours(const m4_pktsim *s, int32_t v, int32_t *out) {
    const node *nv = &s->nodes[v];
    int32_t n = 0;
    for (uint32_t i = 0; i < nv->n_dev; i++) {
        int32_t b = s->devs[s->devs[nv->dev0 + i].peer].node;
        int dup = 0;
        for (int32_t j = 0; j < n; j++)
            if (out[j] == b) dup = 1;
        if (!dup) out[n++] = b;
    }
    for (int32_t i = 1; i < n; i++) { /* insertion sort */
        int32_t x = out[i], j = i - 1;
        while (j >= 0 && nbr_before(s, x, out[j])) {
            out[j + 1] = out[j];
            j--;
        }
        out[j + 1] = x;
    }
    return n;
}

/* CalculateRoutes: a BFS from every host over switches; fills the ECMP
 * tables of switches and the trees behind the ideal FCT. */
static int build_routes(m4_pktsim *s) {
    int32_t N = s->n_nodes, H = s->n_hosts, S = s->n_switches;
    size_t tn = (size_t)H * (size_t)N;
    s->tree_link = malloc(tn * sizeof(int32_t));
    s->tree_parent = malloc(tn * sizeof(int32_t));
    s->tree_delay = malloc(tn * sizeof(uint64_t));
    int32_t *dis = malloc((size_t)N * sizeof(int32_t));
    int32_t *queue = malloc((size_t)N * sizeof(int32_t));
    int32_t *nb = malloc((size_t)N * sizeof(int32_t));
    /* next hops per (switch, host), collected as (switch, host, port) triples */
    size_t cap = (size_t)S * (size_t)H + 16, n_trip = 0;
    uint32_t *trip = malloc(cap * 3 * sizeof(uint32_t));
    uint32_t *fill = NULL;
    int rc = -1;
    s->route_off = calloc((size_t)S * (size_t)H + 1, sizeof(uint32_t));
    if (!s->tree_link || !s->tree_parent || !s->tree_delay || !dis || !queue || !nb || !trip || !s->route_off)
        goto oom;
    for (int32_t h = 0; h < H; h++) {
        int32_t root = s->host_node[h];
        int32_t *tl = s->tree_link + (size_t)h * N, *tp = s->tree_parent + (size_t)h * N;
        uint64_t *td = s->tree_delay + (size_t)h * N;
        for (int32_t v = 0; v < N; v++) {
            dis[v] = -1;
            tl[v] = -1;
            tp[v] = -1;
            td[v] = 0;
        }
        int32_t qn = 0;
        queue[qn++] = root;
        dis[root] = 0;
        for (int32_t i = 0; i < qn; i++) {
            int32_t now = queue[i];
            int32_t d = dis[now];
            int32_t nn = neighbours(s, now, nb);
            for (int32_t j = 0; j < nn; j++) {
                int32_t next = nb[j];
                int64_t dev = nbr_dev(s, now, next);
                const device *dv = &s->devs[dev];
                if (dis[next] < 0) {
                    dis[next] = d + 1;
                    td[next] = td[now] + dv->delay;
                    tl[next] = dv->link;
                    tp[next] = now;
                    if (s->nodes[next].is_switch) queue[qn++] = next;
                }
                if (d + 1 == dis[next] && s->nodes[next].is_switch) {
                    /* nextHop[next][root] gets `now`: next's interface toward now */
                    int64_t back = nbr_dev(s, next, now);
                    if (n_trip == cap) {
                        cap *= 2;
                        uint32_t *t = realloc(trip, cap * 3 * sizeof(uint32_t));
                        if (!t) goto oom;
                        trip = t;
                    }
                    trip[3 * n_trip] = (uint32_t)s->nodes[next].index;
                    trip[3 * n_trip + 1] = (uint32_t)h;
                    trip[3 * n_trip + 2] = s->devs[back].ifindex;
                    n_trip++;
                }
            }
        }
    }
    /* CSR by (switch, host), keeping each list in discovery order */
    for (size_t i = 0; i < n_trip; i++) s->route_off[(size_t)trip[3 * i] * H + trip[3 * i + 1] + 1]++;
    for (size_t i = 0; i < (size_t)S * H; i++) s->route_off[i + 1] += s->route_off[i];
    s->route_port = malloc((n_trip + 1) * sizeof(uint16_t));
    fill = calloc((size_t)S * H + 1, sizeof(uint32_t));
    if (!s->route_port || !fill) goto oom;
    for (size_t i = 0; i < n_trip; i++) {
        size_t r = (size_t)trip[3 * i] * H + trip[3 * i + 1];
        s->route_port[s->route_off[r] + fill[r]++] = (uint16_t)trip[3 * i + 2];
    }
    rc = 0;
    goto done;
oom:
    pk_set_err(s, "out of memory building routes");
done:
    free(fill);
    free(dis);
    free(queue);
    free(nb);
    free(trip);
    return rc;
}

/* build_links checks the topology's size and links, allocates nodes,
 * devices and per-link arrays, and counts each node's devices. */
static m4_status build_links(m4_pktsim *s, const m4_pktsim_topology *t) {
    if (t->n_nodes < 2 || t->n_nodes > 1 << 24) {
        pk_set_err(s, "topology: %d nodes (want 2..%d)", t->n_nodes, 1 << 24);
        return M4_ERR_INVALID_INPUT;
    }
    if (t->n_links < 1 || !t->is_switch || !t->link_a || !t->link_b || !t->rate_bps || !t->delay_ns) {
        pk_set_err(s, "topology: no links, or a NULL array");
        return M4_ERR_INVALID_INPUT;
    }
    int32_t N = t->n_nodes;
    s->n_nodes = N;
    s->n_links = t->n_links;
    s->nodes = calloc((size_t)N, sizeof(node));
    s->devs = calloc((size_t)t->n_links * 2, sizeof(device));
    s->link_err = calloc((size_t)t->n_links, sizeof(double));
    s->link_rate = calloc((size_t)t->n_links, sizeof(uint64_t));
    s->link_dev = calloc((size_t)t->n_links * 2, sizeof(uint32_t));
    if (!s->nodes || !s->devs || !s->link_err || !s->link_rate || !s->link_dev) return M4_ERR_NO_MEMORY;
    for (int32_t l = 0; l < t->n_links; l++) {
        int32_t a = t->link_a[l], b = t->link_b[l];
        if (a < 0 || a >= N || b < 0 || b >= N || a == b) {
            pk_set_err(s, "topology: link %d joins nodes %d and %d: not two distinct nodes in 0..%d", l, a, b, N - 1);
            return M4_ERR_INVALID_INPUT;
        }
        if (t->rate_bps[l] == 0) {
            pk_set_err(s, "topology: link %d (%d-%d) has rate 0", l, a, b);
            return M4_ERR_INVALID_INPUT;
        }
        if (t->delay_ns[l] > 1000000000000ull) {
            pk_set_err(s, "topology: link %d (%d-%d) delay %llu ns is out of range", l, a, b,
                       (unsigned long long)t->delay_ns[l]);
            return M4_ERR_INVALID_INPUT;
        }
        double e = t->error_rate ? t->error_rate[l] : 0;
        if (e != e || e < 0 || e > 1) {
            pk_set_err(s, "topology: link %d (%d-%d) error rate %g is not a probability", l, a, b, e);
            return M4_ERR_INVALID_INPUT;
        }
        s->link_err[l] = e;
        s->link_rate[l] = t->rate_bps[l];
        s->nodes[a].n_dev++;
        s->nodes[b].n_dev++;
    }
    return M4_OK;
}

/* build_nodes numbers hosts and switches, gives each node its first device
 * and IP address, and fills the host and switch index -> node maps. */
static m4_status build_nodes(m4_pktsim *s, const m4_pktsim_topology *t) {
    int32_t N = s->n_nodes;
    uint32_t acc = 0;
    for (int32_t v = 0; v < N; v++) {
        node *nd = &s->nodes[v];
        nd->is_switch = t->is_switch[v] ? 1 : 0;
        nd->dev0 = acc;
        acc += nd->n_dev;
        nd->ip = 0x0b000001u + (uint32_t)(v / 256) * 0x00010000u + (uint32_t)(v % 256) * 0x00000100u;
        if (nd->is_switch) {
            nd->index = s->n_switches++;
            if (nd->n_dev > 256) {
                pk_set_err(s, "topology: switch %d has %u ports (the fork allows 256)", v, nd->n_dev);
                return M4_ERR_INVALID_INPUT;
            }
        } else {
            nd->index = s->n_hosts++;
            if (nd->n_dev > 1) {
                pk_set_err(s, "topology: host %d has %u links; only single-homed hosts are supported", v, nd->n_dev);
                return M4_ERR_UNSUPPORTED;
            }
        }
    }
    if (s->n_hosts == 0) {
        pk_set_err(s, "topology: no hosts");
        return M4_ERR_INVALID_INPUT;
    }
    s->n_devs = acc;
    s->host_node = malloc((size_t)s->n_hosts * sizeof(int32_t));
    s->switch_node = malloc((size_t)(s->n_switches + 1) * sizeof(int32_t));
    if (!s->host_node || !s->switch_node) return M4_ERR_NO_MEMORY;
    for (int32_t v = 0; v < N; v++) {
        if (s->nodes[v].is_switch)
            s->switch_node[s->nodes[v].index] = v;
        else
            s->host_node[s->nodes[v].index] = v;
    }
    return M4_OK;
}

/* build_devices creates two devices per link, in link order (ifindex counts
 * up per node), records which device sends on each directed link (2l from
 * link_a[l], 2l+1 from link_b[l]), and takes the NIC rate from the first
 * host. */
static m4_status build_devices(m4_pktsim *s, const m4_pktsim_topology *t) {
    int32_t N = s->n_nodes;
    uint32_t *cnt = calloc((size_t)N, sizeof(uint32_t));
    if (!cnt) return M4_ERR_NO_MEMORY;
    for (int32_t l = 0; l < t->n_links; l++) {
        int32_t ab[2] = {t->link_a[l], t->link_b[l]};
        uint32_t di[2];
        for (int k = 0; k < 2; k++) {
            node *nd = &s->nodes[ab[k]];
            di[k] = nd->dev0 + cnt[ab[k]]++;
            s->link_dev[2 * l + k] = di[k];
            device *dv = &s->devs[di[k]];
            dv->node = ab[k];
            dv->ifindex = cnt[ab[k]];
            dv->rate = t->rate_bps[l];
            dv->delay = t->delay_ns[l];
            dv->link = l;
            dv->hop_rate = (uint8_t)(pk_hop_rate_index(dv->rate) & 7);
        }
        s->devs[di[0]].peer = (int32_t)di[1];
        s->devs[di[1]].peer = (int32_t)di[0];
    }
    free(cnt);
    /* nic_rate: the first host's device 1 */
    for (int32_t v = 0; v < N; v++)
        if (!s->nodes[v].is_switch) {
            if (s->nodes[v].n_dev == 0) {
                pk_set_err(s, "topology: host %d (the first host) has no link", v);
                return M4_ERR_INVALID_INPUT;
            }
            s->nic_rate = s->devs[s->nodes[v].dev0].rate;
            break;
        }
    return M4_OK;
}

/* setup_headers sets the cc-dependent header sizes and the ACK queue. */
static m4_status setup_headers(m4_pktsim *s) {
    const m4_pktsim_config *cfg = &s->cfg;
    if (cfg->cc_mode == M4_CC_HPCC) {
        s->int_mode = 2;
        s->int_bytes = MAXHOP * 8 + 2;
        for (uint32_t i = 0; i < s->n_devs; i++)
            if (s->nodes[s->devs[i].node].is_switch && pk_hop_rate_index(s->devs[i].rate) < 0) {
                pk_set_err(s, "topology: link %d runs at %llu bit/s, which HPCC's INT header cannot encode "
                              "(10, 25, 40, 50, 100, 200, 400 Gbps or 100 Tbps)",
                           s->devs[i].link, (unsigned long long)s->devs[i].rate);
                return M4_ERR_UNSUPPORTED;
            }
    } else if (cfg->cc_mode == M4_CC_TIMELY) {
        s->int_mode = 1;
        s->int_bytes = 8;
    }
    s->ack_q_idx = cfg->ack_high_prio ? 0 : 3;
    return M4_OK;
}

/* setup_switches configures each switch's SwitchMmu as third.cc does. */
static m4_status setup_switches(m4_pktsim *s) {
    const m4_pktsim_config *cfg = &s->cfg;
    s->sws = calloc((size_t)(s->n_switches + 1), sizeof(swtch));
    if (!s->sws) return M4_ERR_NO_MEMORY;
    for (int32_t i = 0; i < s->n_switches; i++) {
        swtch *w = &s->sws[i];
        node *nd = &s->nodes[s->switch_node[i]];
        uint32_t np = nd->n_dev + 1;
        w->node = s->switch_node[i];
        w->n_ports = nd->n_dev;
        w->headroom = calloc(np, sizeof(uint32_t));
        w->shift = calloc(np, sizeof(uint32_t));
        w->kmin = calloc(np, sizeof(uint32_t));
        w->kmax = calloc(np, sizeof(uint32_t));
        w->pmax = calloc(np, sizeof(double));
        w->hdrm_bytes = calloc((size_t)np * QCNT, sizeof(uint32_t));
        w->ingress_bytes = calloc((size_t)np * QCNT, sizeof(uint32_t));
        w->paused = calloc((size_t)np * QCNT, sizeof(uint32_t));
        w->egress_bytes = calloc((size_t)np * QCNT, sizeof(uint32_t));
        w->tx_bytes = calloc(np, sizeof(uint64_t));
        if (!w->headroom || !w->shift || !w->kmin || !w->kmax || !w->pmax || !w->hdrm_bytes ||
            !w->ingress_bytes || !w->paused || !w->egress_bytes || !w->tx_bytes)
            return M4_ERR_NO_MEMORY;
        w->reserve = 4 * 1024;
        w->resume_offset = 3 * 1024;
        for (uint32_t j = 1; j <= nd->n_dev; j++) {
            device *dv = &s->devs[nd->dev0 + j - 1];
            uint64_t rate = dv->rate;
            /* a rate missing from the maps reads as 0, as std::map::operator[] does */
            for (int e = 0; e < cfg->n_ecn; e++)
                if (cfg->ecn_rate_bps[e] == rate) {
                    w->kmin[j] = cfg->ecn_kmin_kb[e] * 1000u;
                    w->kmax[j] = cfg->ecn_kmax_kb[e] * 1000u;
                    w->pmax[j] = cfg->ecn_pmax[e];
                }
            w->headroom[j] = (uint32_t)(rate * dv->delay / 8 / 1000000000u * 3);
            uint32_t shift = 2;
            while (rate > s->nic_rate && shift > 0) {
                shift--;
                rate /= 2;
            }
            w->shift[j] = shift;
        }
        for (uint32_t j = 1; j <= nd->n_dev; j++) {
            w->total_hdrm += w->headroom[j];
            w->total_rsrv += w->reserve;
        }
        w->buffer_size = cfg->buffer_size_kb * 1024u;
    }
    return M4_OK;
}

/* setup_link_loss gives links with loss a stream each (drawn from ns-3's
 * fixed stream 50; m4_pktsim_run seeds them). */
static m4_status setup_link_loss(m4_pktsim *s) {
    int any_err = 0;
    for (int32_t l = 0; l < s->n_links; l++)
        if (s->link_err[l] > 0) any_err = 1;
    if (any_err) {
        s->link_rng = calloc((size_t)s->n_links, sizeof(*s->link_rng));
        if (!s->link_rng) return M4_ERR_NO_MEMORY;
    }
    return M4_OK;
}

m4_status m4_pktsim_create(m4_pktsim **out, const m4_pktsim_config *cfg, const m4_pktsim_topology *t) {
    if (!out) return M4_ERR_INVALID_ARGUMENT;
    *out = NULL;
    m4_pktsim *s = calloc(1, sizeof(*s));
    if (!s) return M4_ERR_NO_MEMORY;
    *out = s;
    s->free_head = NIL;
    if (!cfg || !t) {
        pk_set_err(s, "config and topology are required");
        return M4_ERR_INVALID_ARGUMENT;
    }
    s->cfg = *cfg;
    if (check_config(s, cfg)) return M4_ERR_INVALID_ARGUMENT;
    m4_status st;
    if ((st = build_links(s, t)) != M4_OK) return st;
    if ((st = build_nodes(s, t)) != M4_OK) return st;
    if ((st = build_devices(s, t)) != M4_OK) return st;
    if ((st = setup_headers(s)) != M4_OK) return st;
    if ((st = setup_switches(s)) != M4_OK) return st;
    if ((st = setup_link_loss(s)) != M4_OK) return st;
    if (build_routes(s)) return M4_ERR_NO_MEMORY;
    return pk_events_create(s, t);
}

void m4_pktsim_destroy(m4_pktsim *s) {
    if (!s) return;
    free_topology(s);
    pk_events_destroy(s);
    free(s->flows);
    free(s->order);
    free(s->pfc);
    free(s->qlen_node);
    free(s->qlen_if);
    free(s->qlen_counts);
    pk_trace_destroy(s);
    free(s);
}
