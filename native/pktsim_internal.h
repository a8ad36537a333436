/*
 * pktsim_internal.h: what pktsim*.c share; not part of the public API (m4.h).
 *
 * One struct m4_pktsim owns everything (no globals); the files split its
 * work by concern:
 *
 *   pktsim.c         m4_pktsim_run, m4_pktsim_ideal and m4_pktsim_routes, the
 *                    event loop, results
 *   pktsim_setup.c   config defaults and checks, m4_pktsim_create (topology,
 *                    devices, switch MMUs, routes), m4_pktsim_destroy
 *   pktsim_event.c   the event queue (time wheel + 4-ary heap) and packet pool
 *   pktsim_link.c    QbbNetDevice: transmit, receive, PFC frames received
 *   pktsim_switch.c  SwitchNode, SwitchMmu (buffers, ECN, PFC), BEgressQueue
 *   pktsim_nic.c     RdmaHw and RdmaEgressQueue: queue pairs, send, receive
 *   pktsim_cc.c      congestion control: DCQCN, HPCC, TIMELY, DCTCP
 *   pktsim_rng.c     ns-3's MRG32k3a streams
 *   pktsim_trace.c   the dynamics trace (flows and queues at each arrival and
 *                    departure) and the directed link table
 *
 * Functions shared between the files start with pk_; the static inline
 * helpers below are the small ones the files' hot paths share.
 */
#ifndef M4_PKTSIM_INTERNAL_H
#define M4_PKTSIM_INTERNAL_H

#include "m4.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define QCNT 8         /* priorities per port */
#define MAXHOP 5       /* IntHeader::maxHop */
#define NIL 0xffffffffu

/* ------------------------------------------------------------------------ */
/* ns-3 time and rate arithmetic                                             */
/* ------------------------------------------------------------------------ */

/* hi 64 bits of a * b */
static inline uint64_t mul64hi(uint64_t a, uint64_t b) {
    uint64_t a0 = a & 0xffffffffu, a1 = a >> 32, b0 = b & 0xffffffffu, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
    return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/* Seconds(x) for x >= 0, as ns-3 builds it: int64x64_t(x) keeps floor(x)
 * and trunc(frac(x) * 2^64); multiplying by 10^9 and keeping the high part
 * floors the product. */
static inline int64_t seconds_to_ns(double x) {
    if (!(x > 0)) return 0;
    double hi = floor(x);
    double lo = (x - hi) * 18446744073709551616.0;
    uint64_t l = lo >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)lo;
    return (int64_t)hi * 1000000000 + (int64_t)mul64hi(l, 1000000000u);
}

/* DataRate::CalculateTxTime then Seconds(). */
static inline int64_t tx_time(uint32_t bytes, uint64_t bps) {
    return seconds_to_ns((double)bytes * 8 / (double)bps);
}

/* double -> uint64 as x86-64 code from gcc converts it (C leaves
 * out-of-range values undefined; the fork runs on x86-64). */
static inline uint64_t d2u(double x) {
    if (x != x) return 0;
    if (x >= 18446744073709551616.0) return 0;
    if (x >= 9223372036854775808.0) return (uint64_t)(x - 9223372036854775808.0) ^ 0x8000000000000000ull;
    if (x <= -9223372036854775808.0) return 0x8000000000000000ull;
    return (uint64_t)(int64_t)x;
}

/* MicroSeconds(double): the double converts to uint64 first (truncates). */
static inline int64_t us_to_ns(double us) { return (int64_t)d2u(us) * 1000; }

/* ------------------------------------------------------------------------ */
/* ns-3's MRG32k3a streams (pktsim_rng.c)                                    */
/* ------------------------------------------------------------------------ */

#define RNG_M1 4294967087ull
#define RNG_M2 4294944443ull

typedef uint64_t mat3[3][3];

typedef struct {
    mat3 a1p127, a2p127, a1p76, a2p76; /* A^(2^127), A^(2^76) per component */
    uint64_t base[6];                  /* state of the next stream before its substream jump */
    uint64_t next_index;
} rng_streams;

/* pk_rng_init sets the counter so the next stream opened is `first`; also
 * returns stream 2^63+50's start (RateErrorModel's fixed stream) in st50.
 * Returns -1 when out of memory. */
int pk_rng_init(rng_streams *r, uint64_t first, uint64_t st50[6]);
/* the next value of stream state s, in [0, 1) */
double pk_rng_u01(uint64_t s[6]);
/* The first value of a freshly opened stream (new UniformVariable().GetValue()). */
double pk_rng_fresh_u01(rng_streams *r);

/* ------------------------------------------------------------------------ */
/* objects                                                                   */
/* ------------------------------------------------------------------------ */

enum { PK_DATA = 0, PK_ACK = 1, PK_NACK = 2, PK_PFC = 3 };

/* IntHop packed: time 24 bits | bytes 20 | qlen 17 | line-rate index 3. */
#define HOP_TIME(h) ((uint32_t)((h) & 0xffffffu))
#define HOP_BYTES(h) ((uint32_t)(((h) >> 24) & 0xfffffu))
#define HOP_QLEN(h) ((uint32_t)(((h) >> 44) & 0x1ffffu))
#define HOP_RATE(h) ((uint32_t)((h) >> 61))

/* line rates by IntHop line-rate index (pktsim_cc.c) */
extern const uint64_t pk_hop_line_rates[8];
/* the IntHop line-rate index of bps, or -1 when it has none */
int pk_hop_rate_index(uint64_t bps);

typedef struct {
    uint32_t next;      /* FIFO link / free list */
    uint8_t type;       /* PK_* */
    uint8_t ecn;        /* IPv4 ECN bits */
    uint8_t cnp;        /* ACK: CNP flag */
    uint8_t pg;
    uint8_t qindex;     /* PFC: priority; switch: queue it sits in */
    uint8_t nhop;       /* INT hops pushed */
    uint16_t sport, dport;
    uint32_t size;      /* bytes on the wire */
    uint32_t flow;      /* flow index */
    uint32_t seq;
    uint32_t in_if;     /* switch: ingress ifindex (FlowIdTag) */
    uint32_t rx_dev;    /* in flight: the device that will receive it */
    int32_t src, dst;   /* host node ids */
    uint32_t pfc_time;  /* PFC: pause time (0 = resume) */
    uint64_t ts;        /* TIMELY: send time */
    uint64_t hop[MAXHOP];
} pkt;

typedef struct {
    int32_t node, peer, link;
    uint32_t ifindex;
    uint64_t rate, delay;
    uint8_t hop_rate;       /* IntHop line-rate index of rate */
    uint8_t busy;
    uint8_t paused[QCNT];
    /* switch port: BEgressQueue */
    uint32_t qhead[QCNT], qtail[QCNT];
    uint32_t qbytes[QCNT];
    uint32_t bytes_total;
    uint32_t rrlast, qlast;
    /* host NIC: RdmaEgressQueue */
    uint32_t ack_head, ack_tail;
    uint32_t *qps;
    uint32_t n_qps, cap_qps;
    uint32_t nic_rrlast;
    uint8_t ns_pending;     /* m_nextSend scheduled and not yet run or cancelled */
    int64_t ns_ts;
    uint64_t ns_uid;
} device;

typedef struct {
    uint8_t is_switch;
    int32_t index;          /* host or switch index */
    uint32_t n_dev;
    uint32_t dev0;          /* devices dev0 .. dev0+n_dev-1 are ifindex 1..n_dev */
    uint32_t ip;
} node;

typedef struct {
    int32_t node;
    uint32_t n_ports;
    /* SwitchMmu, indexed [port * QCNT + q] or [port] (port = ifindex) */
    uint32_t buffer_size, reserve, resume_offset, total_hdrm, total_rsrv, shared_used;
    uint32_t *headroom, *shift, *kmin, *kmax;
    double *pmax;
    uint32_t *hdrm_bytes, *ingress_bytes, *paused, *egress_bytes;
    uint64_t *tx_bytes;
} swtch;

typedef struct {
    double u;
    uint64_t rc;
    uint32_t inc;
} hop_state;

typedef struct {
    /* input */
    uint32_t id;
    int32_t src, dst;
    uint16_t pg, sport, dport;
    uint64_t size;
    int64_t start;
    /* sender: RdmaQueuePair */
    uint64_t snd_nxt, snd_una;
    uint16_t ipid;
    uint8_t in_map;         /* in RdmaHw::m_qpMap (created, not completed) */
    uint8_t started;
    uint32_t win;
    uint64_t max_rate, rate;
    int64_t next_avail;
    uint32_t last_pkt_size;
    /* DCQCN */
    uint64_t m_target;
    double m_alpha;
    uint8_t m_alpha_cnp, m_first_cnp, m_dec_cnp;
    uint32_t m_rp_stage;
    uint64_t ev_alpha, ev_dec, ev_rp; /* uid of the live timer event, 0 = none */
    /* HPCC */
    uint32_t h_last_seq;
    uint64_t h_cur_rate;
    uint32_t h_inc;
    double h_u;
    uint64_t h_hop[MAXHOP];
    hop_state h_st[MAXHOP];
    /* TIMELY */
    uint32_t t_last_seq;
    uint64_t t_cur_rate;
    uint32_t t_inc;
    uint64_t t_last_rtt;
    double t_rtt_diff;
    /* DCTCP */
    uint32_t d_last_seq, d_ca, d_high, d_ecn, d_batch;
    double d_alpha;
    /* receiver: RdmaRxQueuePair */
    uint8_t rx_exists;
    uint16_t rx_ipid;
    uint32_t rcv_next;
    int32_t milestone;
    int64_t nack_timer;
    uint32_t last_nack;
    /* result */
    uint8_t delivered;
    int64_t fct;
} flow;

enum {
    EV_TX_DONE = 0, /* a: device */
    EV_RECV,        /* a: receiving device, b: packet */
    EV_NIC_SEND,    /* a: device (m_nextSend) */
    EV_FLOW_INPUT,  /* ScheduleFlowInputs */
    EV_APP_START,   /* a: flow (Application::Start) */
    EV_QP_START,    /* a: flow (StartApplication) */
    EV_ALPHA,       /* a: flow (UpdateAlphaMlx) */
    EV_DEC,         /* a: flow (CheckRateDecreaseMlx) */
    EV_RP,          /* a: flow (RateIncEventTimerMlx) */
    EV_QLEN         /* monitor_buffer */
};

/* A heap entry: 16 bytes ordered as (ts, uid) by comparing (hi, lo).
 * hi = ts (48 bits) | uid bits 24..39; lo = uid bits 0..23 | type (8) |
 * index (32): a device, a flow, or (EV_RECV) a packet, whose rx_dev says
 * which device receives it. Events at or after the stop time (at most 2^47
 * ns, 39 h) are never inserted; a run schedules fewer than 2^40 events. */
typedef struct {
    uint64_t hi, lo;
} event;

#define EV_TS(e) ((int64_t)((e).hi >> 16))
#define EV_UID(e) ((((e).hi & 0xffffu) << 24) | ((e).lo >> 40))
#define EV_TYPE(e) ((uint32_t)((e).lo >> 32) & 0xffu)
#define EV_IDX(e) ((uint32_t)(e).lo)
#define MAX_TS (1ll << 47)
#define MAX_UID (1ull << 40)

/* A wheel entry: its bucket gives the time. key = uid << 8 | type. */
typedef struct {
    uint64_t key;
    uint32_t idx;
    uint32_t next;
} wnode;

struct m4_pktsim {
    m4_pktsim_config cfg;
    /* topology */
    int32_t n_nodes, n_links, n_hosts, n_switches;
    node *nodes;
    device *devs;
    uint32_t n_devs;
    swtch *sws;
    int32_t *host_node;        /* host index -> node id */
    int32_t *switch_node;      /* switch index -> node id */
    double *link_err;
    uint64_t *link_rate;
    uint32_t *link_dev;        /* directed link 2l+k -> the device sending on it (k 0: from link_a[l]) */
    uint64_t nic_rate;
    /* routes: for switch s and destination host h, out ifindices
     * route_port[route_off[s*n_hosts+h] .. route_off[s*n_hosts+h+1]) */
    uint32_t *route_off;
    uint16_t *route_port;
    /* ideal FCT: BFS tree rooted at each host h: for node v, the link on
     * v's first-discovered path toward h (-1 none), and its delay */
    int32_t *tree_link;        /* n_hosts * n_nodes */
    int32_t *tree_parent;
    uint64_t *tree_delay;
    /* int header bytes for this cc */
    uint32_t int_bytes;
    int int_mode;              /* 0 none, 1 ts, 2 int */
    uint32_t ack_q_idx;
    /* run state */
    int64_t now;
    int64_t stop;              /* min(cfg.stop_time_ns, MAX_TS) */
    /* event queue: a wheel of 1-ns buckets for events less than wheel_n ns
     * ahead of now (FIFO per bucket = scheduling order), and a 4-ary heap
     * for the rest, which move into the wheel as now approaches them */
    uint32_t wheel_n, wheel_mask;
    uint32_t *bhead, *btail;   /* wheel_n buckets: first and last node */
    uint64_t *bmap;            /* bit b set when bucket b is not empty */
    wnode *wn;                 /* node pool, chained through next */
    uint32_t wn_cap, wn_free;
    size_t wheel_count;
    event *heap;
    size_t heap_n, heap_cap;
    uint64_t next_uid;
    pkt *pool;
    uint32_t pool_cap, free_head;
    flow *flows;
    size_t n_flows, cap_flows;
    size_t flow_input_idx;
    size_t n_delivered;
    uint32_t *order;
    rng_streams rng;
    uint64_t st50[6];
    uint64_t (*link_rng)[6];
    m4_pktsim_stats stats;
    /* traces */
    m4_pktsim_pfc_event *pfc;
    size_t n_pfc, cap_pfc;
    size_t qlen_n_ports, qlen_n_kb;
    int32_t *qlen_node, *qlen_if;
    uint64_t *qlen_counts;
    /* the dynamics trace (pktsim_trace.c): events, then per event a slice of
     * the active-flow and queue arrays; tr_active lists the flows arrived so
     * far, in arrival order, departed ones dropped at the next snapshot */
    int trace_on, tr_valid;    /* asked for; recorded by the last run */
    size_t tr_n, tr_cap;
    int64_t *tr_time, *tr_aptr, *tr_qptr;
    int8_t *tr_kind;
    int32_t *tr_flow;
    size_t tr_na, tr_cap_a, tr_cap_a_rem;
    int32_t *tr_aflow;
    float *tr_arem;
    size_t tr_nq, tr_cap_q, tr_cap_q_bytes;
    int32_t *tr_qlink;
    float *tr_qbytes;
    uint32_t *tr_active;
    size_t tr_n_active, tr_cap_active;
    uint32_t *tr_swl;          /* the directed links leaving switches, ascending (NULL until a traced run) */
    size_t tr_n_swl;
    int oom, overflow;
    char err[512];
};

/* pk_set_err formats the message m4_pktsim_error returns (pktsim_setup.c). */
void pk_set_err(m4_pktsim *s, const char *fmt, ...);

/* ------------------------------------------------------------------------ */
/* events and packets (pktsim_event.c)                                       */
/* ------------------------------------------------------------------------ */

/* The slow paths of pk_schedule: pk_wheel_grow doubles the wheel's node
 * pool (-1 and s->oom when out of memory); pk_heap_push queues an event
 * too far ahead for the wheel. */
int pk_wheel_grow(m4_pktsim *s);
void pk_heap_push(m4_pktsim *s, int64_t ts, uint64_t uid, uint32_t type, uint32_t idx);

/* wheel_push appends an event to bucket b (FIFO: scheduling order). */
static inline void wheel_push(m4_pktsim *s, uint32_t b, uint64_t uid, uint32_t type, uint32_t idx) {
    if (s->wn_free == NIL && pk_wheel_grow(s)) return;
    uint32_t k = s->wn_free;
    wnode *w = &s->wn[k];
    s->wn_free = w->next;
    w->key = (uid << 8) | type;
    w->idx = idx;
    w->next = NIL;
    if (s->bhead[b] == NIL) {
        s->bhead[b] = k;
        s->bmap[b >> 6] |= 1ull << (b & 63);
    } else {
        s->wn[s->btail[b]].next = k;
    }
    s->btail[b] = k;
    s->wheel_count++;
}

/* pk_schedule adds an event at absolute time ts (>= now) and returns its uid,
 * its place in scheduling order (0 when out of memory or out of range).
 * Inline: every packet hop schedules two. */
static inline uint64_t pk_schedule(m4_pktsim *s, int64_t ts, uint32_t type, uint32_t idx) {
    uint64_t uid = ++s->next_uid;
    if (ts >= s->stop) return uid; /* at or after the stop time: never runs */
    if (ts < s->now || uid >= MAX_UID) {
        s->overflow = 1;
        return 0;
    }
    if (ts - s->now < (int64_t)s->wheel_n) {
        wheel_push(s, (uint32_t)ts & s->wheel_mask, uid, type, idx);
    } else {
        pk_heap_push(s, ts, uid, type, idx);
    }
    size_t pending = s->wheel_count + s->heap_n;
    if (pending > s->stats.max_pending) s->stats.max_pending = pending;
    return uid;
}

/* pk_advance moves now to the next time with an event (and the heap's
 * events now within the window into the wheel); returns 0 when none is
 * left before the stop, or out of memory. */
int pk_advance(m4_pktsim *s);

/* pk_next_event pops the next event in (time, uid) order into *type, *idx,
 * *uid and advances now; returns 0 when none is left before the stop.
 * Inline: the run loop calls it once per event. */
static inline int pk_next_event(m4_pktsim *s, uint32_t *type, uint32_t *idx, uint64_t *uid) {
    for (;;) {
        uint32_t b = (uint32_t)s->now & s->wheel_mask;
        uint32_t k = s->bhead[b];
        if (k != NIL) {
            wnode *w = &s->wn[k];
            s->bhead[b] = w->next;
            if (w->next == NIL) s->bmap[b >> 6] &= ~(1ull << (b & 63));
            *type = (uint32_t)(w->key & 0xffu);
            *uid = w->key >> 8;
            *idx = w->idx;
            w->next = s->wn_free;
            s->wn_free = k;
            s->wheel_count--;
            return 1;
        }
        if (!pk_advance(s)) return 0;
    }
}

/* pk_events_create sizes and allocates the wheel for topology t. */
m4_status pk_events_create(m4_pktsim *s, const m4_pktsim_topology *t);
/* pk_events_reset empties the event queue and the packet pool for a new run. */
void pk_events_reset(m4_pktsim *s);
/* pk_events_destroy frees the event queue and the packet pool. */
void pk_events_destroy(m4_pktsim *s);
/* pk_pkt_new takes a zeroed packet from the pool (NIL when out of memory; the
 * pool may move, so re-read pointers into it). */
uint32_t pk_pkt_new(m4_pktsim *s);

static inline void pkt_free(m4_pktsim *s, uint32_t i) {
    s->pool[i].next = s->free_head;
    s->free_head = i;
}

static inline void fifo_push(m4_pktsim *s, uint32_t *head, uint32_t *tail, uint32_t p) {
    s->pool[p].next = NIL;
    if (*head == NIL)
        *head = p;
    else
        s->pool[*tail].next = p;
    *tail = p;
}

static inline uint32_t fifo_pop(m4_pktsim *s, uint32_t *head, uint32_t *tail) {
    uint32_t p = *head;
    *head = s->pool[p].next;
    if (*head == NIL) *tail = NIL;
    return p;
}

/* ------------------------------------------------------------------------ */
/* devices, switches, NICs (pktsim_link.c, pktsim_switch.c, pktsim_nic.c)    */
/* ------------------------------------------------------------------------ */

/* QbbNetDevice (pktsim_link.c): start sending packet p on device d / a
 * packet arrives at device d. */
void pk_transmit_start(m4_pktsim *s, uint32_t d, uint32_t p);
void pk_device_receive(m4_pktsim *s, uint32_t d, uint32_t p);

/* The out ifindex at switch node nid for a packet from host node src to
 * host node dst with these ports (the ECMP choice), or 0 when it has no
 * route. */
uint32_t pk_switch_route(const m4_pktsim *s, int32_t nid, int32_t src, int32_t dst, uint16_t sport, uint16_t dport);
/* SwitchNode::SendToDev for packet p arriving at switch node nid. */
void pk_switch_receive(m4_pktsim *s, int32_t nid, uint32_t p);
/* BEgressQueue::DequeueRR + SwitchNotifyDequeue on switch device d: the
 * packet to transmit, or NIL. */
uint32_t pk_switch_dequeue(m4_pktsim *s, uint32_t d);

/* The host half of DequeueAndTransmit on NIC d (not busy). */
void pk_nic_dequeue(m4_pktsim *s, uint32_t d);
/* QbbNetDevice::UpdateNextAvail */
void pk_nic_update_next_avail(m4_pktsim *s, uint32_t d, int64_t t);
/* RdmaHw::AddQueuePair for flow fi, and the receive paths at a host. */
void pk_add_queue_pair(m4_pktsim *s, uint32_t fi);
void pk_receive_ack(m4_pktsim *s, int32_t host, uint32_t p);
void pk_receive_data(m4_pktsim *s, int32_t host, uint32_t p);

/* QbbNetDevice::DequeueAndTransmit: if device d is idle, send its next
 * packet. Inline: it runs after every transmission and arrival. */
static inline void pk_dequeue_and_transmit(m4_pktsim *s, uint32_t d) {
    device *dv = &s->devs[d];
    if (dv->busy) return;
    if (!s->nodes[dv->node].is_switch) {
        pk_nic_dequeue(s, d);
        return;
    }
    uint32_t p = pk_switch_dequeue(s, d);
    if (p != NIL) pk_transmit_start(s, d, p);
}

static inline int qp_finished(const flow *f) { return f->snd_una >= f->size; }
static inline uint32_t data_header(const m4_pktsim *s) { return 48 + s->int_bytes; }
static inline uint32_t host_nic(const m4_pktsim *s, int32_t host_node) { return s->nodes[host_node].dev0; }

/* ------------------------------------------------------------------------ */
/* congestion control (pktsim_cc.c)                                          */
/* ------------------------------------------------------------------------ */

/* DCQCN: a CNP arrives; the alpha, rate-decrease and rate-increase timers */
void pk_dcqcn_cnp(m4_pktsim *s, flow *f);
void pk_dcqcn_update_alpha(m4_pktsim *s, flow *f);
void pk_dcqcn_check_decrease(m4_pktsim *s, flow *f);
void pk_dcqcn_rate_increase(m4_pktsim *s, flow *f);
/* HPCC, TIMELY, DCTCP: ACK k of flow f arrives (HPCC: fast = fast react) */
void pk_hpcc_update(m4_pktsim *s, flow *f, const pkt *k, int fast);
void pk_timely_update(m4_pktsim *s, flow *f, const pkt *k);
void pk_dctcp_ack(m4_pktsim *s, flow *f, const pkt *k);

/* ------------------------------------------------------------------------ */
/* the dynamics trace (pktsim_trace.c)                                       */
/* ------------------------------------------------------------------------ */

/* pk_trace_reset empties the trace for a new run of n flows (-1 and an
 * error when out of memory). */
int pk_trace_reset(m4_pktsim *s, size_t n);
/* pk_trace_event records flow fi's arrival (kind 0) or departure (kind 1)
 * and the snapshot after it; sets s->oom when out of memory. */
void pk_trace_event(m4_pktsim *s, int kind, uint32_t fi);
/* pk_trace_destroy frees the trace's arrays. */
void pk_trace_destroy(m4_pktsim *s);

#endif
