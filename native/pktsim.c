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
 * Layout: one struct m4_pktsim owns everything (no globals). Packets live in
 * a growable pool addressed by index and chained into FIFO queues through
 * their `next` field; events are 32-byte entries of a binary min-heap on
 * (ts, uid). A run allocates once per scenario and nothing per packet.
 */
#include "m4.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QCNT 8         /* priorities per port */
#define MAXHOP 5       /* IntHeader::maxHop */
#define NIL 0xffffffffu

/* ------------------------------------------------------------------------ */
/* ns-3 time and rate arithmetic                                             */
/* ------------------------------------------------------------------------ */

/* hi 64 bits of a * b */
static uint64_t mul64hi(uint64_t a, uint64_t b) {
    uint64_t a0 = a & 0xffffffffu, a1 = a >> 32, b0 = b & 0xffffffffu, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
    return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/* Seconds(x) for x >= 0, as ns-3 builds it: int64x64_t(x) keeps floor(x)
 * and trunc(frac(x) * 2^64); multiplying by 10^9 and keeping the high part
 * floors the product. */
static int64_t seconds_to_ns(double x) {
    if (!(x > 0)) return 0;
    double hi = floor(x);
    double lo = (x - hi) * 18446744073709551616.0;
    uint64_t l = lo >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)lo;
    return (int64_t)hi * 1000000000 + (int64_t)mul64hi(l, 1000000000u);
}

/* DataRate::CalculateTxTime then Seconds(). */
static int64_t tx_time(uint32_t bytes, uint64_t bps) {
    return seconds_to_ns((double)bytes * 8 / (double)bps);
}

/* double -> uint64 as x86-64 code from gcc converts it (C leaves
 * out-of-range values undefined; the fork runs on x86-64). */
static uint64_t d2u(double x) {
    if (x != x) return 0;
    if (x >= 18446744073709551616.0) return 0;
    if (x >= 9223372036854775808.0) return (uint64_t)(x - 9223372036854775808.0) ^ 0x8000000000000000ull;
    if (x <= -9223372036854775808.0) return 0x8000000000000000ull;
    return (uint64_t)(int64_t)x;
}

/* MicroSeconds(double): the double converts to uint64 first (truncates). */
static int64_t us_to_ns(double us) { return (int64_t)d2u(us) * 1000; }

/* ------------------------------------------------------------------------ */
/* ns-3's MRG32k3a streams (RngStream with seed 1, run 1)                    */
/* ------------------------------------------------------------------------ */

#define RNG_M1 4294967087ull
#define RNG_M2 4294944443ull

typedef uint64_t mat3[3][3];

static void matvec(const mat3 a, uint64_t v[3], uint64_t m) {
    uint64_t x[3];
    for (int i = 0; i < 3; i++) {
        uint64_t s = 0;
        for (int j = 0; j < 3; j++) s = (s + (a[i][j] * v[j]) % m) % m;
        x[i] = s;
    }
    for (int i = 0; i < 3; i++) v[i] = x[i];
}

static void matmat(const mat3 a, const mat3 b, mat3 c, uint64_t m) {
    mat3 w;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            uint64_t s = 0;
            for (int k = 0; k < 3; k++) s = (s + (a[i][k] * b[k][j]) % m) % m;
            w[i][j] = s;
        }
    memcpy(c, w, sizeof(w));
}

typedef struct {
    mat3 a1p127, a2p127, a1p76, a2p76; /* A^(2^127), A^(2^76) per component */
    uint64_t base[6];                  /* state of the next stream before its substream jump */
    uint64_t next_index;
} rng_streams;

typedef struct {
    uint64_t s[6];
} rng_state;

/* pow2[e-1] = A^(2^e) for e = 1..190, as ns-3 precalculates. */
static void rng_pow2_table(mat3 *p1, mat3 *p2, int n) {
    mat3 a1 = {{0, 1, 0}, {0, 0, 1}, {RNG_M1 - 810728u, 1403580u, 0}};
    mat3 a2 = {{0, 1, 0}, {0, 0, 1}, {RNG_M2 - 1370589u, 0, 527612u}};
    for (int e = 0; e < n; e++) {
        matmat(a1, a1, a1, RNG_M1);
        matmat(a2, a2, a2, RNG_M2);
        memcpy(p1[e], a1, sizeof(mat3));
        memcpy(p2[e], a2, sizeof(mat3));
    }
}

/* AdvanceNthBy(nth, by): apply A^(nth * 2^by) bit by bit. */
static void rng_advance(const mat3 *p1, const mat3 *p2, uint64_t nth, int by, uint64_t st[6]) {
    for (int b = 63; b >= 0; b--)
        if ((nth >> b) & 1) {
            matvec((const uint64_t(*)[3])p1[by + b - 1], st, RNG_M1);
            matvec((const uint64_t(*)[3])p2[by + b - 1], st + 3, RNG_M2);
        }
}

/* rng_init sets the counter so the next stream opened is `first`; also
 * returns stream 2^63+50's start (RateErrorModel's fixed stream) in st50. */
static int rng_init(rng_streams *r, uint64_t first, uint64_t st50[6]) {
    mat3 *p1 = malloc(sizeof(mat3) * 190), *p2 = malloc(sizeof(mat3) * 190);
    if (!p1 || !p2) {
        free(p1);
        free(p2);
        return -1;
    }
    rng_pow2_table(p1, p2, 190);
    memcpy(r->a1p127, p1[126], sizeof(mat3));
    memcpy(r->a2p127, p2[126], sizeof(mat3));
    memcpy(r->a1p76, p1[75], sizeof(mat3));
    memcpy(r->a2p76, p2[75], sizeof(mat3));
    for (int i = 0; i < 6; i++) r->base[i] = 1;
    rng_advance((const mat3 *)p1, (const mat3 *)p2, first, 127, r->base);
    r->next_index = first;
    if (st50) {
        for (int i = 0; i < 6; i++) st50[i] = 1;
        rng_advance((const mat3 *)p1, (const mat3 *)p2, (1ull << 63) + 50, 127, st50);
        rng_advance((const mat3 *)p1, (const mat3 *)p2, 1, 76, st50);
    }
    free(p1);
    free(p2);
    return 0;
}

static double rng_u01(uint64_t s[6]) {
    int64_t p1 = (int64_t)(1403580u * s[1] % RNG_M1) - (int64_t)(810728u * s[0] % RNG_M1);
    if (p1 < 0) p1 += (int64_t)RNG_M1;
    s[0] = s[1];
    s[1] = s[2];
    s[2] = (uint64_t)p1;
    int64_t p2 = (int64_t)(527612u * s[5] % RNG_M2) - (int64_t)(1370589u * s[3] % RNG_M2);
    if (p2 < 0) p2 += (int64_t)RNG_M2;
    s[3] = s[4];
    s[4] = s[5];
    s[5] = (uint64_t)p2;
    const double norm = 1.0 / ((double)RNG_M1 + 1.0);
    return p1 > p2 ? (double)(p1 - p2) * norm : (double)(p1 - p2 + (int64_t)RNG_M1) * norm;
}

/* The first value of a freshly opened stream (new UniformVariable().GetValue()). */
static double rng_fresh_u01(rng_streams *r) {
    uint64_t st[6];
    memcpy(st, r->base, sizeof(st));
    matvec((const uint64_t(*)[3])r->a1p76, st, RNG_M1);
    matvec((const uint64_t(*)[3])r->a2p76, st + 3, RNG_M2);
    matvec((const uint64_t(*)[3])r->a1p127, r->base, RNG_M1);
    matvec((const uint64_t(*)[3])r->a2p127, r->base + 3, RNG_M2);
    r->next_index++;
    return rng_u01(st);
}

/* ------------------------------------------------------------------------ */
/* objects                                                                   */
/* ------------------------------------------------------------------------ */

enum { PK_DATA = 0, PK_ACK = 1, PK_NACK = 2, PK_PFC = 3 };

/* IntHop packed: time 24 bits | bytes 20 | qlen 17 | line-rate index 3. */
#define HOP_TIME(h) ((uint32_t)((h) & 0xffffffu))
#define HOP_BYTES(h) ((uint32_t)(((h) >> 24) & 0xfffffu))
#define HOP_QLEN(h) ((uint32_t)(((h) >> 44) & 0x1ffffu))
#define HOP_RATE(h) ((uint32_t)((h) >> 61))

static const uint64_t hop_line_rates[8] = {25000000000ull, 50000000000ull, 100000000000ull,
                                           200000000000ull, 400000000000ull, 10000000000ull,
                                           40000000000ull, 100000000000000ull};

static int hop_rate_index(uint64_t bps) {
    for (int i = 0; i < 8; i++)
        if (hop_line_rates[i] == bps) return i;
    return -1;
}

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
    int oom, overflow;
    char err[512];
};

static void set_err(m4_pktsim *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* events                                                                    */
/* ------------------------------------------------------------------------ */

static int ev_less(event a, event b) { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo); }

static void heap_push(m4_pktsim *s, event e) {
    if (s->heap_n == s->heap_cap) {
        size_t cap = s->heap_cap ? s->heap_cap * 2 : 1024;
        event *h = realloc(s->heap, cap * sizeof(event));
        if (!h) {
            s->oom = 1;
            return;
        }
        s->heap = h;
        s->heap_cap = cap;
    }
    size_t i = s->heap_n++;
    event *h = s->heap;
    while (i > 0) {
        size_t p = (i - 1) >> 2;
        if (!ev_less(e, h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

/* 4-ary: a node's four children share one 64-byte cache line */
static event heap_pop(m4_pktsim *s) {
    event *h = s->heap;
    event top = h[0];
    event last = h[--s->heap_n];
    size_t n = s->heap_n, i = 0;
    for (;;) {
        size_t c = 4 * i + 1;
        if (c >= n) break;
        size_t m = c, end = c + 4 < n ? c + 4 : n;
        for (size_t k = c + 1; k < end; k++)
            if (ev_less(h[k], h[m])) m = k;
        if (!ev_less(h[m], last)) break;
        h[i] = h[m];
        i = m;
    }
    if (n > 0) h[i] = last;
    return top;
}

static void wheel_push(m4_pktsim *s, uint32_t b, uint64_t uid, uint32_t type, uint32_t idx) {
    if (s->wn_free == NIL) {
        uint32_t cap = s->wn_cap ? s->wn_cap * 2 : 4096;
        wnode *w = realloc(s->wn, (size_t)cap * sizeof(wnode));
        if (!w) {
            s->oom = 1;
            return;
        }
        s->wn = w;
        for (uint32_t i = s->wn_cap; i < cap; i++) w[i].next = i + 1 < cap ? i + 1 : NIL;
        s->wn_free = s->wn_cap;
        s->wn_cap = cap;
    }
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

/* schedule adds an event at absolute time ts (>= now) and returns its uid,
 * its place in scheduling order (0 when out of memory or out of range). */
static uint64_t schedule(m4_pktsim *s, int64_t ts, uint32_t type, uint32_t idx) {
    uint64_t uid = ++s->next_uid;
    if (ts >= s->stop) return uid; /* at or after the stop time: never runs */
    if (ts < s->now || uid >= MAX_UID) {
        s->overflow = 1;
        return 0;
    }
    if (ts - s->now < (int64_t)s->wheel_n) {
        wheel_push(s, (uint32_t)ts & s->wheel_mask, uid, type, idx);
    } else {
        event e = {((uint64_t)ts << 16) | (uid >> 24), ((uid & 0xffffffu) << 40) | ((uint64_t)type << 32) | idx};
        heap_push(s, e);
    }
    size_t pending = s->wheel_count + s->heap_n;
    if (pending > s->stats.max_pending) s->stats.max_pending = pending;
    return uid;
}

/* index of the lowest set bit of x != 0 (de Bruijn; portable C99) */
static uint32_t ctz64(uint64_t x) {
    static const uint8_t tab[64] = {0,  1,  2,  53, 3,  7,  54, 27, 4,  38, 41, 8,  34, 55, 48, 28,
                                    62, 5,  39, 46, 44, 42, 22, 9,  24, 35, 59, 56, 49, 18, 29, 11,
                                    63, 52, 6,  26, 37, 40, 33, 47, 61, 45, 43, 21, 23, 58, 17, 10,
                                    51, 25, 36, 32, 60, 20, 57, 16, 50, 31, 19, 15, 30, 14, 13, 12};
    return tab[((x & (~x + 1)) * 0x022fdd63cc95386dull) >> 58];
}

/* first non-empty bucket at or after b, cyclically (the wheel is not empty) */
static uint32_t wheel_next(const m4_pktsim *s, uint32_t b) {
    uint32_t words = s->wheel_n >> 6;
    uint32_t w = b >> 6;
    uint64_t m = s->bmap[w] & (~0ull << (b & 63));
    for (uint32_t i = 0; i <= words; i++) {
        if (m) return (w << 6) | ctz64(m);
        w = (w + 1) & (words - 1);
        m = s->bmap[w];
    }
    return b; /* unreachable while wheel_count > 0 */
}

/* next_event pops the next event in (time, uid) order into *type, *idx,
 * *uid and advances now; returns 0 when none is left before the stop. */
static int next_event(m4_pktsim *s, uint32_t *type, uint32_t *idx, uint64_t *uid) {
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
        int64_t next;
        if (s->wheel_count > 0) {
            uint32_t nb = wheel_next(s, b);
            next = s->now + (int64_t)((nb - b) & s->wheel_mask);
        } else if (s->heap_n > 0) {
            next = EV_TS(s->heap[0]);
        } else {
            return 0;
        }
        if (next >= s->stop) return 0;
        s->now = next;
        /* far events now within the window join their buckets, in order,
         * before anything scheduled from now on can reach those buckets */
        while (s->heap_n > 0 && EV_TS(s->heap[0]) - s->now < (int64_t)s->wheel_n) {
            event e = heap_pop(s);
            wheel_push(s, (uint32_t)EV_TS(e) & s->wheel_mask, EV_UID(e), EV_TYPE(e), EV_IDX(e));
        }
        if (s->oom) return 0;
    }
}

/* ------------------------------------------------------------------------ */
/* packets                                                                   */
/* ------------------------------------------------------------------------ */

static uint32_t pkt_new(m4_pktsim *s) {
    if (s->free_head == NIL) {
        uint32_t cap = s->pool_cap ? s->pool_cap * 2 : 4096;
        pkt *p = realloc(s->pool, (size_t)cap * sizeof(pkt));
        if (!p) {
            s->oom = 1;
            return NIL;
        }
        s->pool = p;
        for (uint32_t i = s->pool_cap; i < cap; i++) p[i].next = i + 1 < cap ? i + 1 : NIL;
        s->free_head = s->pool_cap;
        s->pool_cap = cap;
    }
    uint32_t i = s->free_head;
    s->free_head = s->pool[i].next;
    pkt *p = &s->pool[i];
    memset(p, 0, offsetof(pkt, hop));
    p->next = NIL;
    s->stats.packets++;
    return i;
}

static void pkt_free(m4_pktsim *s, uint32_t i) {
    s->pool[i].next = s->free_head;
    s->free_head = i;
}

/* ------------------------------------------------------------------------ */
/* flow (queue pair) helpers                                                 */
/* ------------------------------------------------------------------------ */

static uint64_t bytes_left(const flow *f) { return f->size >= f->snd_nxt ? f->size - f->snd_nxt : 0; }
static int qp_finished(const flow *f) { return f->snd_una >= f->size; }

static uint64_t qp_win(const m4_pktsim *s, const flow *f) {
    if (f->win == 0) return 0;
    if (s->cfg.var_win) {
        uint64_t w = (uint64_t)f->win * f->rate / f->max_rate;
        return w == 0 ? 1 : w;
    }
    return f->win;
}

static int qp_win_bound(const m4_pktsim *s, const flow *f) {
    uint64_t w = qp_win(s, f);
    return w != 0 && f->snd_nxt - f->snd_una >= w;
}

static uint32_t data_header(const m4_pktsim *s) { return 48 + s->int_bytes; }

/* ------------------------------------------------------------------------ */
/* devices                                                                   */
/* ------------------------------------------------------------------------ */

static void dequeue_and_transmit(m4_pktsim *s, uint32_t d);

static void transmit_start(m4_pktsim *s, uint32_t d, uint32_t p) {
    device *dv = &s->devs[d];
    dv->busy = 1;
    int64_t tx = tx_time(s->pool[p].size, dv->rate);
    schedule(s, s->now + tx, EV_TX_DONE, d);
    s->pool[p].rx_dev = (uint32_t)dv->peer;
    schedule(s, s->now + tx + (int64_t)dv->delay, EV_RECV, p);
}

static void fifo_push(m4_pktsim *s, uint32_t *head, uint32_t *tail, uint32_t p) {
    s->pool[p].next = NIL;
    if (*head == NIL)
        *head = p;
    else
        s->pool[*tail].next = p;
    *tail = p;
}

static uint32_t fifo_pop(m4_pktsim *s, uint32_t *head, uint32_t *tail) {
    uint32_t p = *head;
    *head = s->pool[p].next;
    if (*head == NIL) *tail = NIL;
    return p;
}

/* RdmaEgressQueue::GetNextQindex: -1 = ACK queue, -1024 = nothing. */
static int64_t nic_next_qindex(m4_pktsim *s, device *dv) {
    if (!dv->paused[s->ack_q_idx] && dv->ack_head != NIL) return -1;
    int64_t res = -1024;
    uint32_t fcount = dv->n_qps;
    uint32_t min_finish = NIL;
    for (uint32_t q = 1; q <= fcount; q++) {
        uint32_t idx = (uint32_t)(((uint64_t)q + dv->nic_rrlast) % fcount);
        flow *f = &s->flows[dv->qps[idx]];
        if (!dv->paused[f->pg] && bytes_left(f) > 0 && !qp_win_bound(s, f)) {
            if (f->next_avail > s->now) continue;
            res = idx;
            break;
        } else if (qp_finished(f)) {
            if (idx < min_finish) min_finish = idx;
        }
    }
    if (min_finish != NIL) {
        uint32_t nxt = min_finish;
        for (uint32_t i = min_finish + 1; i < fcount; i++)
            if (!qp_finished(&s->flows[dv->qps[i]])) {
                if ((int64_t)i == res) res = nxt;
                dv->qps[nxt++] = dv->qps[i];
            }
        dv->n_qps = nxt;
    }
    return res;
}

/* RdmaHw::GetNxtPacket */
static uint32_t get_next_packet(m4_pktsim *s, flow *f) {
    uint64_t left = bytes_left(f);
    uint32_t payload = left < s->cfg.payload_bytes ? (uint32_t)left : s->cfg.payload_bytes;
    uint32_t p = pkt_new(s);
    if (p == NIL) return NIL;
    pkt *k = &s->pool[p];
    k->type = PK_DATA;
    k->pg = (uint8_t)f->pg;
    k->sport = f->sport;
    k->dport = f->dport;
    k->seq = (uint32_t)f->snd_nxt;
    k->size = payload + data_header(s);
    k->flow = (uint32_t)(f - s->flows);
    k->src = f->src;
    k->dst = f->dst;
    k->ts = (uint64_t)s->now;
    f->snd_nxt += payload;
    f->ipid++;
    return p;
}

/* RdmaHw::PktSent -> UpdateNextAvail */
static void pkt_sent(m4_pktsim *s, flow *f, uint32_t size) {
    f->last_pkt_size = size;
    int64_t t = s->cfg.rate_bound ? tx_time(size, f->rate) : tx_time(size, f->max_rate);
    f->next_avail = s->now + t;
}

static void nic_schedule_send(m4_pktsim *s, uint32_t d, int64_t t) {
    device *dv = &s->devs[d];
    dv->ns_pending = 1;
    dv->ns_ts = t;
    dv->ns_uid = schedule(s, t, EV_NIC_SEND, d);
}

/* ------------------------------------------------------------------------ */
/* switch: SwitchMmu, SwitchNode                                             */
/* ------------------------------------------------------------------------ */

static uint32_t mmu_threshold(const swtch *w, uint32_t port) {
    return (w->buffer_size - w->total_hdrm - w->total_rsrv - w->shared_used) >> w->shift[port];
}

static uint32_t mmu_shared_used(const swtch *w, uint32_t port, uint32_t q) {
    uint32_t used = w->ingress_bytes[port * QCNT + q];
    return used > w->reserve ? used - w->reserve : 0;
}

static int mmu_check_ingress(const swtch *w, uint32_t port, uint32_t q, uint32_t psize) {
    return !(psize + w->hdrm_bytes[port * QCNT + q] > w->headroom[port] &&
             psize + mmu_shared_used(w, port, q) > mmu_threshold(w, port));
}

static void mmu_update_ingress(swtch *w, uint32_t port, uint32_t q, uint32_t psize) {
    uint32_t i = port * QCNT + q;
    uint32_t new_bytes = w->ingress_bytes[i] + psize;
    if (new_bytes <= w->reserve) {
        w->ingress_bytes[i] += psize;
    } else {
        uint32_t thresh = mmu_threshold(w, port);
        if (new_bytes - w->reserve > thresh) {
            w->hdrm_bytes[i] += psize;
        } else {
            w->ingress_bytes[i] += psize;
            uint32_t over = new_bytes - w->reserve;
            w->shared_used += psize < over ? psize : over;
        }
    }
}

static void mmu_remove_ingress(swtch *w, uint32_t port, uint32_t q, uint32_t psize) {
    uint32_t i = port * QCNT + q;
    uint32_t from_hdrm = w->hdrm_bytes[i] < psize ? w->hdrm_bytes[i] : psize;
    uint32_t ib = w->ingress_bytes[i];
    uint32_t over = ib > w->reserve ? ib - w->reserve : 0;
    uint32_t from_shared = psize - from_hdrm < over ? psize - from_hdrm : over;
    w->hdrm_bytes[i] -= from_hdrm;
    w->ingress_bytes[i] -= psize - from_hdrm;
    w->shared_used -= from_shared;
}

static int mmu_should_pause(const swtch *w, uint32_t port, uint32_t q) {
    uint32_t i = port * QCNT + q;
    return !w->paused[i] && (w->hdrm_bytes[i] > 0 || mmu_shared_used(w, port, q) >= mmu_threshold(w, port));
}

static int mmu_should_resume(const swtch *w, uint32_t port, uint32_t q) {
    uint32_t i = port * QCNT + q;
    if (!w->paused[i]) return 0;
    uint32_t su = mmu_shared_used(w, port, q);
    return w->hdrm_bytes[i] == 0 && (su == 0 || su + w->resume_offset <= mmu_threshold(w, port));
}

/* SwitchMmu::ShouldSendCN */
static int mmu_should_mark(m4_pktsim *s, const swtch *w, uint32_t port, uint32_t q) {
    if (q == 0) return 0;
    uint32_t eb = w->egress_bytes[port * QCNT + q];
    if (eb > w->kmax[port]) return 1;
    if (eb > w->kmin[port]) {
        double p = w->pmax[port] * (double)(eb - w->kmin[port]) / (double)(w->kmax[port] - w->kmin[port]);
        if (rng_fresh_u01(&s->rng) < p) return 1;
    }
    return 0;
}

/* QbbNetDevice::SwitchSend: enqueue, then try to transmit. */
static void switch_send(m4_pktsim *s, uint32_t d, uint32_t q, uint32_t p) {
    device *dv = &s->devs[d];
    s->pool[p].qindex = (uint8_t)q;
    fifo_push(s, &dv->qhead[q], &dv->qtail[q], p);
    dv->qbytes[q] += s->pool[p].size;
    dv->bytes_total += s->pool[p].size;
    dequeue_and_transmit(s, d);
}

/* QbbNetDevice::SendPfc on device d: type 0 pause, 1 resume. */
static void send_pfc(m4_pktsim *s, uint32_t d, uint32_t q, int type) {
    uint32_t p = pkt_new(s);
    if (p == NIL) return;
    pkt *k = &s->pool[p];
    k->type = PK_PFC;
    k->size = 9 + 20 + 14;
    k->pfc_time = type == 0 ? s->cfg.pause_time_us : 0;
    k->pg = (uint8_t)q;
    (void)rng_fresh_u01(&s->rng); /* the IPv4 id: UniformVariable(0, 65536) */
    if (type == 0) s->stats.pfc_pauses++;
    switch_send(s, d, 0, p);
}

static uint32_t ecmp_hash(const uint32_t key[3], uint32_t seed) {
    uint32_t h = seed;
    for (int i = 0; i < 3; i++) {
        uint32_t k = key[i];
        k *= 0xcc9e2d51u;
        k = (k << 15) | (k >> 17);
        k *= 0x1b873593u;
        h ^= k;
        h = (h << 13) | (h >> 19);
        h += (h << 2) + 0xe6546b64u;
    }
    h ^= 12;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

/* SwitchNode::SendToDev for a packet that arrived on ingress ifindex in_if. */
static void switch_receive(m4_pktsim *s, int32_t nid, uint32_t p) {
    node *nd = &s->nodes[nid];
    swtch *w = &s->sws[nd->index];
    pkt *k = &s->pool[p];
    int32_t h = s->nodes[k->dst].index;
    size_t r = (size_t)nd->index * (size_t)s->n_hosts + (size_t)h;
    uint32_t lo = s->route_off[r], hi = s->route_off[r + 1];
    if (lo == hi) {
        s->stats.drops++;
        pkt_free(s, p);
        return;
    }
    uint32_t out;
    if (hi - lo == 1) {
        out = s->route_port[lo];
    } else {
        uint32_t key[3] = {s->nodes[k->src].ip, s->nodes[k->dst].ip, (uint32_t)k->sport | ((uint32_t)k->dport << 16)};
        out = s->route_port[lo + ecmp_hash(key, (uint32_t)nid) % (hi - lo)];
    }
    uint32_t q;
    if (k->type == PK_PFC || (s->cfg.ack_high_prio && (k->type == PK_ACK || k->type == PK_NACK)))
        q = 0;
    else
        q = k->pg;
    uint32_t in = k->in_if;
    if (q != 0) {
        if (mmu_check_ingress(w, in, q, k->size)) {
            mmu_update_ingress(w, in, q, k->size);
            w->egress_bytes[out * QCNT + q] += k->size;
        } else {
            s->stats.drops++;
            pkt_free(s, p);
            return;
        }
        if (mmu_should_pause(w, in, q)) {
            send_pfc(s, nd->dev0 + in - 1, q, 0);
            w->paused[in * QCNT + q] = 1;
        }
    }
    switch_send(s, nd->dev0 + out - 1, q, p);
}

/* SwitchNode::SwitchNotifyDequeue */
static void switch_notify_dequeue(m4_pktsim *s, uint32_t d, uint32_t q, uint32_t p) {
    device *dv = &s->devs[d];
    node *nd = &s->nodes[dv->node];
    swtch *w = &s->sws[nd->index];
    pkt *k = &s->pool[p];
    uint32_t port = dv->ifindex;
    if (q != 0) {
        uint32_t in = k->in_if;
        mmu_remove_ingress(w, in, q, k->size);
        w->egress_bytes[port * QCNT + q] -= k->size;
        if (mmu_should_mark(s, w, port, q)) {
            if (k->ecn != 3) s->stats.ecn_marks++;
            k->ecn = 3;
        }
        if (mmu_should_resume(w, in, q)) {
            send_pfc(s, nd->dev0 + in - 1, q, 1);
            w->paused[in * QCNT + q] = 0;
            k = &s->pool[p]; /* the pool may have grown */
        }
    }
    if (k->type == PK_DATA && s->int_mode == 2) {
        /* IntHeader::PushHop(now, tx bytes, queue bytes, rate) */
        uint32_t idx = k->nhop % MAXHOP;
        uint32_t multi = s->cfg.int_multi;
        uint64_t t = (uint64_t)s->now & 0xffffffu;
        uint64_t b = (w->tx_bytes[port] / (128u * (uint64_t)multi)) & 0xfffffu;
        uint64_t ql = (uint64_t)((dv->bytes_total / (80u * multi)) & 0x1ffffu);
        uint64_t ri = (uint64_t)dv->hop_rate & 7u;
        k->hop[idx] = t | (b << 24) | (ql << 44) | (ri << 61);
        k->nhop++;
    }
    w->tx_bytes[port] += k->size;
}

/* BEgressQueue::DequeueRR */
static uint32_t beq_dequeue(m4_pktsim *s, device *dv, uint32_t *qout) {
    if (dv->bytes_total == 0) return NIL;
    uint32_t q;
    int found = 0;
    if (dv->qhead[0] != NIL) {
        found = 1;
        q = 0;
    } else {
        for (q = 1; q <= QCNT; q++) {
            uint32_t i = (q + dv->rrlast) % QCNT;
            if (!dv->paused[i] && dv->qhead[i] != NIL) {
                found = 1;
                break;
            }
        }
        q = (q + dv->rrlast) % QCNT;
    }
    if (!found) return NIL;
    uint32_t p = fifo_pop(s, &dv->qhead[q], &dv->qtail[q]);
    dv->bytes_total -= s->pool[p].size;
    dv->qbytes[q] -= s->pool[p].size;
    if (q != 0) dv->rrlast = q;
    dv->qlast = q;
    *qout = q;
    return p;
}

/* QbbNetDevice::DequeueAndTransmit */
static void dequeue_and_transmit(m4_pktsim *s, uint32_t d) {
    device *dv = &s->devs[d];
    if (dv->busy) return;
    if (!s->nodes[dv->node].is_switch) {
        int64_t qi = nic_next_qindex(s, dv);
        if (qi != -1024) {
            if (qi == -1) {
                uint32_t p = fifo_pop(s, &dv->ack_head, &dv->ack_tail);
                transmit_start(s, d, p);
                return;
            }
            flow *f = &s->flows[dv->qps[qi]];
            uint32_t p = get_next_packet(s, f);
            if (p == NIL) return;
            dv->nic_rrlast = (uint32_t)qi;
            uint32_t size = s->pool[p].size;
            transmit_start(s, d, p);
            pkt_sent(s, f, size);
        } else {
            int64_t t = INT64_MAX;
            for (uint32_t i = 0; i < dv->n_qps; i++) {
                flow *f = &s->flows[dv->qps[i]];
                if (bytes_left(f) == 0) continue;
                if (f->next_avail < t) t = f->next_avail;
            }
            if (!dv->ns_pending && t < INT64_MAX && t > s->now) nic_schedule_send(s, d, t);
        }
        return;
    }
    uint32_t q;
    uint32_t p = beq_dequeue(s, dv, &q);
    if (p != NIL) {
        switch_notify_dequeue(s, d, q, p);
        transmit_start(s, d, p);
    }
}

/* QbbNetDevice::UpdateNextAvail */
static void nic_update_next_avail(m4_pktsim *s, uint32_t d, int64_t t) {
    device *dv = &s->devs[d];
    if (dv->ns_pending && t < dv->ns_ts) {
        dv->ns_pending = 0; /* cancel */
        int64_t delta = t < s->now ? 0 : t - s->now;
        nic_schedule_send(s, d, s->now + delta);
    }
}

/* ------------------------------------------------------------------------ */
/* RdmaHw: congestion control                                                */
/* ------------------------------------------------------------------------ */

static uint32_t host_nic(const m4_pktsim *s, int32_t host_node) { return s->nodes[host_node].dev0; }

static void change_rate(m4_pktsim *s, flow *f, uint64_t new_rate) {
    int64_t old_t = tx_time(f->last_pkt_size, f->rate);
    int64_t new_t = tx_time(f->last_pkt_size, new_rate);
    f->next_avail = f->next_avail + new_t - old_t;
    nic_update_next_avail(s, host_nic(s, f->src), f->next_avail);
    f->rate = new_rate;
}

static uint64_t rate_mul(uint64_t bps, double c) { return d2u((double)bps * c); }
static uint64_t rate_div(uint64_t bps, double c) { return d2u((double)bps / c); }

/* --- DCQCN (Mellanox) --- */

static void dcqcn_schedule_alpha(m4_pktsim *s, flow *f) {
    f->ev_alpha = schedule(s, s->now + us_to_ns(s->cfg.alpha_resume_interval_us), EV_ALPHA,
                           (uint32_t)(f - s->flows));
}

static void dcqcn_schedule_decrease(m4_pktsim *s, flow *f, int64_t delta) {
    f->ev_dec = schedule(s, s->now + us_to_ns(s->cfg.rate_decrease_interval_us) + delta, EV_DEC,
                         (uint32_t)(f - s->flows));
}

static void dcqcn_cnp(m4_pktsim *s, flow *f) {
    f->m_alpha_cnp = 1;
    f->m_dec_cnp = 1;
    if (f->m_first_cnp) {
        f->m_alpha = 1;
        f->m_alpha_cnp = 0;
        if (f->in_map) { /* timers of a finished flow change nothing anyone sees */
            dcqcn_schedule_alpha(s, f);
            dcqcn_schedule_decrease(s, f, 1);
        }
        f->rate = rate_mul(f->rate, s->cfg.rate_on_first_cnp);
        f->m_target = f->rate;
        f->m_first_cnp = 0;
    }
}

static void dcqcn_update_alpha(m4_pktsim *s, flow *f) {
    double g = s->cfg.ewma_gain;
    if (f->m_alpha_cnp)
        f->m_alpha = (1 - g) * f->m_alpha + g;
    else
        f->m_alpha = (1 - g) * f->m_alpha;
    f->m_alpha_cnp = 0;
    dcqcn_schedule_alpha(s, f);
}

static void dcqcn_check_decrease(m4_pktsim *s, flow *f) {
    dcqcn_schedule_decrease(s, f, 0);
    if (f->m_dec_cnp) {
        int clamp = 1;
        if (!s->cfg.clamp_target_rate && f->m_rp_stage == 0) clamp = 0;
        if (clamp) f->m_target = f->rate;
        uint64_t r = rate_mul(f->rate, 1 - f->m_alpha / 2);
        f->rate = r > s->cfg.min_rate_bps ? r : s->cfg.min_rate_bps;
        f->m_rp_stage = 0;
        f->m_dec_cnp = 0;
        f->ev_rp = schedule(s, s->now + us_to_ns(s->cfg.rp_timer_us), EV_RP, (uint32_t)(f - s->flows));
    }
}

static void dcqcn_rate_increase(m4_pktsim *s, flow *f) {
    f->ev_rp = schedule(s, s->now + us_to_ns(s->cfg.rp_timer_us), EV_RP, (uint32_t)(f - s->flows));
    uint64_t dev_rate = s->devs[host_nic(s, f->src)].rate;
    if (f->m_rp_stage < s->cfg.fast_recovery_times) {
        /* fast recovery */
    } else if (f->m_rp_stage == s->cfg.fast_recovery_times) {
        f->m_target += s->cfg.rate_ai_bps;
        if (f->m_target > dev_rate) f->m_target = dev_rate;
    } else {
        f->m_target += s->cfg.rate_hai_bps;
        if (f->m_target > dev_rate) f->m_target = dev_rate;
    }
    f->rate = rate_div(f->rate, 2) + rate_div(f->m_target, 2);
    f->m_rp_stage++;
}

/* --- HPCC --- */

static uint64_t hop_bytes_delta(uint64_t a, uint64_t b, uint32_t multi) {
    uint32_t x = HOP_BYTES(a), y = HOP_BYTES(b);
    uint32_t d = x >= y ? x - y : x + (1u << 20) - y;
    return (uint64_t)(d * 128u * multi);
}

static uint64_t hop_time_delta(uint64_t a, uint64_t b) {
    uint32_t x = HOP_TIME(a), y = HOP_TIME(b);
    return x >= y ? x - y : x + (1u << 24) - y;
}

static uint32_t hop_qlen(uint64_t h, uint32_t multi) { return HOP_QLEN(h) * 80u * multi; }

static void hpcc_update(m4_pktsim *s, flow *f, const pkt *k, int fast) {
    const m4_pktsim_config *c = &s->cfg;
    uint32_t next_seq = (uint32_t)f->snd_nxt;
    if (f->h_last_seq == 0) {
        f->h_last_seq = next_seq;
        for (uint32_t i = 0; i < k->nhop && i < MAXHOP; i++) f->h_hop[i] = k->hop[i];
        return;
    }
    if (k->nhop <= MAXHOP) {
        double U = 0;
        uint64_t dt = 0;
        int updated[MAXHOP] = {0}, updated_any = 0;
        uint64_t new_rate = 0;
        uint32_t new_inc = 0;
        uint64_t new_rate_hop[MAXHOP];
        uint32_t new_inc_hop[MAXHOP];
        for (uint32_t i = 0; i < k->nhop; i++) {
            if (c->sample_feedback && hop_qlen(k->hop[i], c->int_multi) == 0 && fast) continue;
            updated[i] = updated_any = 1;
            uint64_t tau = hop_time_delta(k->hop[i], f->h_hop[i]);
            double duration = (double)tau * 1e-9;
            double tx_rate = (double)(hop_bytes_delta(k->hop[i], f->h_hop[i], c->int_multi) * 8) / duration;
            uint64_t line = hop_line_rates[HOP_RATE(k->hop[i])];
            uint32_t q1 = hop_qlen(k->hop[i], c->int_multi), q2 = hop_qlen(f->h_hop[i], c->int_multi);
            double u = tx_rate / (double)line +
                       (double)(q1 < q2 ? q1 : q2) * (double)f->max_rate / (double)line / (double)f->win;
            if (!c->multi_rate) {
                if (u > U) {
                    U = u;
                    dt = tau;
                }
            } else {
                if (tau > c->base_rtt_ns) tau = c->base_rtt_ns;
                f->h_st[i].u = (f->h_st[i].u * (double)(c->base_rtt_ns - tau) + u * (double)tau) / (double)c->base_rtt_ns;
            }
            f->h_hop[i] = k->hop[i];
        }
        if (!c->multi_rate) {
            if (updated_any) {
                if (dt > c->base_rtt_ns) dt = c->base_rtt_ns;
                f->h_u = (f->h_u * (double)(c->base_rtt_ns - dt) + U * (double)dt) / (double)c->base_rtt_ns;
                double max_c = f->h_u / c->u_target;
                if (max_c >= 1 || f->h_inc >= c->mi_thresh) {
                    new_rate = rate_div(f->h_cur_rate, max_c) + c->rate_ai_bps;
                    new_inc = 0;
                } else {
                    new_rate = f->h_cur_rate + c->rate_ai_bps;
                    new_inc = f->h_inc + 1;
                }
                if (new_rate < c->min_rate_bps) new_rate = c->min_rate_bps;
                if (new_rate > f->max_rate) new_rate = f->max_rate;
            }
        } else {
            new_rate = f->max_rate;
            for (uint32_t i = 0; i < k->nhop; i++) {
                if (updated[i]) {
                    double cc = f->h_st[i].u / c->u_target;
                    if (cc >= 1 || f->h_st[i].inc >= c->mi_thresh) {
                        new_rate_hop[i] = rate_div(f->h_st[i].rc, cc) + c->rate_ai_bps;
                        new_inc_hop[i] = 0;
                    } else {
                        new_rate_hop[i] = f->h_st[i].rc + c->rate_ai_bps;
                        new_inc_hop[i] = f->h_st[i].inc + 1;
                    }
                    if (new_rate_hop[i] < c->min_rate_bps) new_rate_hop[i] = c->min_rate_bps;
                    if (new_rate_hop[i] > f->max_rate) new_rate_hop[i] = f->max_rate;
                    if (new_rate_hop[i] < new_rate) new_rate = new_rate_hop[i];
                } else {
                    if (f->h_st[i].rc < new_rate) new_rate = f->h_st[i].rc;
                }
            }
        }
        if (updated_any) change_rate(s, f, new_rate);
        if (!fast) {
            if (updated_any) {
                f->h_cur_rate = new_rate;
                f->h_inc = new_inc;
            }
            if (c->multi_rate)
                for (uint32_t i = 0; i < k->nhop; i++)
                    if (updated[i]) {
                        f->h_st[i].rc = new_rate_hop[i];
                        f->h_st[i].inc = new_inc_hop[i];
                    }
        }
    }
    if (!fast && next_seq > f->h_last_seq) f->h_last_seq = next_seq;
}

/* --- TIMELY --- */

static void timely_update(m4_pktsim *s, flow *f, const pkt *k) {
    const m4_pktsim_config *c = &s->cfg;
    uint32_t next_seq = (uint32_t)f->snd_nxt;
    uint64_t rtt = (uint64_t)s->now - k->ts;
    if (f->t_last_seq != 0) {
        int64_t new_diff = (int64_t)rtt - (int64_t)f->t_last_rtt;
        double rtt_diff = (1 - c->timely_alpha) * f->t_rtt_diff + c->timely_alpha * (double)new_diff;
        double gradient = rtt_diff / (double)c->timely_min_rtt_ns;
        int inc = 0;
        double cc = 0;
        if (rtt < c->timely_t_low_ns) {
            inc = 1;
        } else if (rtt > c->timely_t_high_ns) {
            cc = 1 - c->timely_beta * (1 - (double)c->timely_t_high_ns / (double)rtt);
        } else if (gradient <= 0) {
            inc = 1;
        } else {
            cc = 1 - c->timely_beta * gradient;
            if (cc < 0) cc = 0;
        }
        if (inc) {
            f->rate = f->t_cur_rate + (f->t_inc < 5 ? c->rate_ai_bps : c->rate_hai_bps);
            if (f->rate > f->max_rate) f->rate = f->max_rate;
            f->t_cur_rate = f->rate;
            f->t_inc++;
        } else {
            uint64_t r = rate_mul(f->t_cur_rate, cc);
            f->rate = r > c->min_rate_bps ? r : c->min_rate_bps;
            f->t_cur_rate = f->rate;
            f->t_inc = 0;
        }
        f->t_rtt_diff = rtt_diff;
    }
    if (next_seq > f->t_last_seq) {
        f->t_last_seq = next_seq;
        f->t_last_rtt = rtt;
    }
}

/* --- DCTCP --- */

static void dctcp_ack(m4_pktsim *s, flow *f, const pkt *k) {
    const m4_pktsim_config *c = &s->cfg;
    uint32_t ack_seq = k->seq;
    int new_batch = 0;
    f->d_ecn += k->cnp ? 1 : 0;
    if (ack_seq > f->d_last_seq) {
        new_batch = 1;
        if (f->d_last_seq == 0) {
            f->d_last_seq = (uint32_t)f->snd_nxt;
            f->d_batch = (uint32_t)(f->snd_nxt / c->payload_bytes + 1);
        } else {
            double frac = (double)f->d_ecn / (double)f->d_batch;
            if (frac > 1.0) frac = 1.0;
            f->d_alpha = (1 - c->ewma_gain) * f->d_alpha + c->ewma_gain * frac;
            f->d_last_seq = (uint32_t)f->snd_nxt;
            f->d_ecn = 0;
            f->d_batch = (uint32_t)((f->snd_nxt - ack_seq) / c->payload_bytes + 1);
        }
    }
    if (f->d_ca == 1 && ack_seq > f->d_high) f->d_ca = 0;
    if (k->cnp && f->d_ca == 0) {
        uint64_t r = rate_mul(f->rate, 1 - f->d_alpha / 2);
        f->rate = r > c->min_rate_bps ? r : c->min_rate_bps;
        f->d_ca = 1;
        f->d_high = (uint32_t)f->snd_nxt;
    }
    if (f->d_ca == 0 && new_batch) {
        uint64_t r = f->rate + c->dctcp_rate_ai_bps;
        f->rate = r < f->max_rate ? r : f->max_rate;
    }
}

/* ------------------------------------------------------------------------ */
/* RdmaHw: send and receive                                                  */
/* ------------------------------------------------------------------------ */

/* RdmaHw::AddQueuePair + QbbNetDevice::NewQp */
static void add_queue_pair(m4_pktsim *s, uint32_t fi) {
    const m4_pktsim_config *c = &s->cfg;
    flow *f = &s->flows[fi];
    uint32_t d = host_nic(s, f->src);
    device *dv = &s->devs[d];
    f->start = s->now;
    f->started = 1;
    f->in_map = 1;
    f->win = c->has_win ? c->fixed_win_bytes : 0;
    if (dv->n_qps == dv->cap_qps) {
        uint32_t cap = dv->cap_qps ? dv->cap_qps * 2 : 16;
        uint32_t *q = realloc(dv->qps, cap * sizeof(uint32_t));
        if (!q) {
            s->oom = 1;
            return;
        }
        dv->qps = q;
        dv->cap_qps = cap;
    }
    dv->qps[dv->n_qps++] = fi;
    uint64_t bps = dv->rate;
    f->rate = bps < c->max_rate_bps ? bps : c->max_rate_bps;
    f->max_rate = f->rate;
    if (c->cc_mode == M4_CC_DCQCN) {
        f->m_target = bps;
    } else if (c->cc_mode == M4_CC_HPCC) {
        f->h_cur_rate = bps;
        if (c->multi_rate)
            for (int i = 0; i < MAXHOP; i++) f->h_st[i].rc = bps;
    } else if (c->cc_mode == M4_CC_TIMELY) {
        f->t_cur_rate = bps;
    }
    f->next_avail = s->now;
    dequeue_and_transmit(s, d);
}

/* RdmaHw::QpComplete */
static void qp_complete(m4_pktsim *s, flow *f) {
    if (s->cfg.cc_mode == M4_CC_DCQCN) f->ev_alpha = f->ev_dec = f->ev_rp = 0;
    f->rx_exists = 0; /* qp_finish: the receiver forgets the flow */
    f->in_map = 0;
}

static void receive_ack(m4_pktsim *s, int32_t host, uint32_t p) {
    const m4_pktsim_config *c = &s->cfg;
    pkt *k = &s->pool[p];
    flow *f = &s->flows[k->flow];
    if (!f->in_map) { /* "NIC cannot find the flow" */
        pkt_free(s, p);
        return;
    }
    uint32_t d = host_nic(s, host);
    if (c->l2_ack_interval != 0) {
        uint64_t ack = k->seq;
        if (c->l2_back_to_zero && c->l2_chunk_size) ack = ack / c->l2_chunk_size * c->l2_chunk_size;
        if (ack > f->snd_una) f->snd_una = ack;
        if (qp_finished(f)) qp_complete(s, f);
    }
    if (k->type == PK_NACK) f->snd_nxt = f->snd_una;
    if (k->cnp && c->cc_mode == M4_CC_DCQCN) dcqcn_cnp(s, f);
    if (c->cc_mode == M4_CC_HPCC) {
        if (k->seq > f->h_last_seq)
            hpcc_update(s, f, k, 0);
        else if (c->fast_react)
            hpcc_update(s, f, k, 1);
    } else if (c->cc_mode == M4_CC_TIMELY) {
        if (k->seq > f->t_last_seq) timely_update(s, f, k);
    } else if (c->cc_mode == M4_CC_DCTCP) {
        dctcp_ack(s, f, k);
    }
    pkt_free(s, p);
    dequeue_and_transmit(s, d);
}

static void receive_data(m4_pktsim *s, int32_t host, uint32_t p) {
    const m4_pktsim_config *c = &s->cfg;
    pkt *k = &s->pool[p];
    flow *f = &s->flows[k->flow];
    if (!f->rx_exists) {
        f->rx_exists = 1;
        f->rx_ipid = 0;
        f->rcv_next = 0;
        f->nack_timer = 0;
        f->last_nack = 0;
    }
    uint8_t ecn = k->ecn;
    f->milestone = (int32_t)c->l2_ack_interval;
    uint32_t payload = k->size - data_header(s);
    int x;
    uint32_t expected = f->rcv_next;
    if (k->seq == expected) {
        f->rcv_next = expected + payload;
        if ((int64_t)f->rcv_next >= (int64_t)f->milestone) {
            f->milestone += (int32_t)c->l2_ack_interval;
            x = 1;
        } else if (c->l2_chunk_size && f->rcv_next % c->l2_chunk_size == 0) {
            x = 1;
        } else {
            x = 5;
        }
    } else if (k->seq > expected) {
        if (s->now >= f->nack_timer || f->last_nack != expected) {
            f->nack_timer = s->now + us_to_ns(c->nack_interval_us);
            f->last_nack = expected;
            if (c->l2_back_to_zero && c->l2_chunk_size)
                f->rcv_next = f->rcv_next / c->l2_chunk_size * c->l2_chunk_size;
            x = 2;
        } else {
            x = 4;
        }
    } else {
        x = 3;
    }
    if (x == 1 || x == 2) {
        uint32_t a = pkt_new(s);
        if (a == NIL) return;
        k = &s->pool[p]; /* the pool may have moved */
        pkt *ak = &s->pool[a];
        ak->type = x == 1 ? PK_ACK : PK_NACK;
        ak->seq = f->rcv_next;
        ak->pg = k->pg;
        ak->sport = k->dport;
        ak->dport = k->sport;
        ak->cnp = ecn ? 1 : 0;
        ak->flow = k->flow;
        ak->src = host;
        ak->dst = k->src;
        ak->ts = k->ts;
        ak->nhop = k->nhop;
        if (s->int_mode == 2) memcpy(ak->hop, k->hop, sizeof(ak->hop));
        uint32_t hdr = 12 + s->int_bytes;
        uint32_t pad = 60 - 14 - 20 > hdr ? 60 - 14 - 20 - hdr : 0;
        ak->size = pad + hdr + 20 + 14;
        f->rx_ipid++;
        uint32_t d = host_nic(s, host);
        fifo_push(s, &s->devs[d].ack_head, &s->devs[d].ack_tail, a);
        dequeue_and_transmit(s, d);
    }
    if ((uint64_t)f->rcv_next == f->size && !f->delivered) {
        f->delivered = 1;
        f->fct = s->now - f->start;
        s->order[s->n_delivered++] = (uint32_t)(f - s->flows);
    }
    pkt_free(s, p);
}

/* QbbNetDevice::Receive */
static void device_receive(m4_pktsim *s, uint32_t d, uint32_t p) {
    device *dv = &s->devs[d];
    if (s->link_rng && s->link_err[dv->link] > 0) {
        if (rng_u01(s->link_rng[dv->link]) < s->link_err[dv->link]) {
            s->stats.drops++;
            pkt_free(s, p);
            return;
        }
    }
    pkt *k = &s->pool[p];
    node *nd = &s->nodes[dv->node];
    if (k->type == PK_PFC) {
        if (s->cfg.enable_pfc) {
            uint32_t q = k->pg;
            int pause = k->pfc_time > 0;
            if (s->n_pfc == s->cap_pfc) {
                size_t cap = s->cap_pfc ? s->cap_pfc * 2 : 256;
                m4_pktsim_pfc_event *e = realloc(s->pfc, cap * sizeof(*e));
                if (!e) {
                    s->oom = 1;
                    return;
                }
                s->pfc = e;
                s->cap_pfc = cap;
            }
            m4_pktsim_pfc_event *e = &s->pfc[s->n_pfc++];
            e->time_ns = (uint64_t)s->now;
            e->node = dv->node;
            e->node_type = nd->is_switch;
            e->ifindex = (int32_t)dv->ifindex;
            e->pause = pause;
            pkt_free(s, p);
            if (pause) {
                dv->paused[q] = 1;
            } else {
                dv->paused[q] = 0;
                dequeue_and_transmit(s, d);
            }
        } else {
            pkt_free(s, p);
        }
        return;
    }
    if (nd->is_switch) {
        k->in_if = dv->ifindex;
        switch_receive(s, dv->node, p);
    } else if (k->type == PK_DATA) {
        receive_data(s, dv->node, p);
    } else {
        receive_ack(s, dv->node, p);
    }
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
        set_err(s, __VA_ARGS__); \
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
    s->route_off = calloc((size_t)S * (size_t)H + 1, sizeof(uint32_t));
    if (!s->tree_link || !s->tree_parent || !s->tree_delay || !dis || !queue || !nb || !trip || !s->route_off) {
        free(dis);
        free(queue);
        free(nb);
        free(trip);
        set_err(s, "out of memory building routes");
        return -1;
    }
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
                        if (!t) {
                            free(dis);
                            free(queue);
                            free(nb);
                            free(trip);
                            set_err(s, "out of memory building routes");
                            return -1;
                        }
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
    uint32_t *fill = calloc((size_t)S * H + 1, sizeof(uint32_t));
    if (!s->route_port || !fill) {
        free(fill);
        free(dis);
        free(queue);
        free(nb);
        free(trip);
        set_err(s, "out of memory building routes");
        return -1;
    }
    for (size_t i = 0; i < n_trip; i++) {
        size_t r = (size_t)trip[3 * i] * H + trip[3 * i + 1];
        s->route_port[s->route_off[r] + fill[r]++] = (uint16_t)trip[3 * i + 2];
    }
    free(fill);
    free(dis);
    free(queue);
    free(nb);
    free(trip);
    return 0;
}

m4_status m4_pktsim_create(m4_pktsim **out, const m4_pktsim_config *cfg, const m4_pktsim_topology *t) {
    if (!out) return M4_ERR_INVALID_ARGUMENT;
    *out = NULL;
    m4_pktsim *s = calloc(1, sizeof(*s));
    if (!s) return M4_ERR_NO_MEMORY;
    *out = s;
    s->free_head = NIL;
    if (!cfg || !t) {
        set_err(s, "config and topology are required");
        return M4_ERR_INVALID_ARGUMENT;
    }
    s->cfg = *cfg;
    if (check_config(s, cfg)) return M4_ERR_INVALID_ARGUMENT;
    if (t->n_nodes < 2 || t->n_nodes > 1 << 24) {
        set_err(s, "topology: %d nodes (want 2..%d)", t->n_nodes, 1 << 24);
        return M4_ERR_INVALID_INPUT;
    }
    if (t->n_links < 1 || !t->is_switch || !t->link_a || !t->link_b || !t->rate_bps || !t->delay_ns) {
        set_err(s, "topology: no links, or a NULL array");
        return M4_ERR_INVALID_INPUT;
    }
    int32_t N = t->n_nodes;
    s->n_nodes = N;
    s->n_links = t->n_links;
    s->nodes = calloc((size_t)N, sizeof(node));
    s->devs = calloc((size_t)t->n_links * 2, sizeof(device));
    s->link_err = calloc((size_t)t->n_links, sizeof(double));
    s->link_rate = calloc((size_t)t->n_links, sizeof(uint64_t));
    if (!s->nodes || !s->devs || !s->link_err || !s->link_rate) return M4_ERR_NO_MEMORY;
    for (int32_t l = 0; l < t->n_links; l++) {
        int32_t a = t->link_a[l], b = t->link_b[l];
        if (a < 0 || a >= N || b < 0 || b >= N || a == b) {
            set_err(s, "topology: link %d joins nodes %d and %d: not two distinct nodes in 0..%d", l, a, b, N - 1);
            return M4_ERR_INVALID_INPUT;
        }
        if (t->rate_bps[l] == 0) {
            set_err(s, "topology: link %d (%d-%d) has rate 0", l, a, b);
            return M4_ERR_INVALID_INPUT;
        }
        if (t->delay_ns[l] > 1000000000000ull) {
            set_err(s, "topology: link %d (%d-%d) delay %llu ns is out of range", l, a, b,
                    (unsigned long long)t->delay_ns[l]);
            return M4_ERR_INVALID_INPUT;
        }
        double e = t->error_rate ? t->error_rate[l] : 0;
        if (e != e || e < 0 || e > 1) {
            set_err(s, "topology: link %d (%d-%d) error rate %g is not a probability", l, a, b, e);
            return M4_ERR_INVALID_INPUT;
        }
        s->link_err[l] = e;
        s->link_rate[l] = t->rate_bps[l];
        s->nodes[a].n_dev++;
        s->nodes[b].n_dev++;
    }
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
                set_err(s, "topology: switch %d has %u ports (the fork allows 256)", v, nd->n_dev);
                return M4_ERR_INVALID_INPUT;
            }
        } else {
            nd->index = s->n_hosts++;
            if (nd->n_dev > 1) {
                set_err(s, "topology: host %d has %u links; only single-homed hosts are supported", v, nd->n_dev);
                return M4_ERR_UNSUPPORTED;
            }
        }
    }
    if (s->n_hosts == 0) {
        set_err(s, "topology: no hosts");
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
    /* devices in link order: ifindex counts up per node */
    uint32_t *cnt = calloc((size_t)N, sizeof(uint32_t));
    if (!cnt) return M4_ERR_NO_MEMORY;
    for (int32_t l = 0; l < t->n_links; l++) {
        int32_t ab[2] = {t->link_a[l], t->link_b[l]};
        uint32_t di[2];
        for (int k = 0; k < 2; k++) {
            node *nd = &s->nodes[ab[k]];
            di[k] = nd->dev0 + cnt[ab[k]]++;
            device *dv = &s->devs[di[k]];
            dv->node = ab[k];
            dv->ifindex = cnt[ab[k]];
            dv->rate = t->rate_bps[l];
            dv->delay = t->delay_ns[l];
            dv->link = l;
            dv->hop_rate = (uint8_t)(hop_rate_index(dv->rate) & 7);
        }
        s->devs[di[0]].peer = (int32_t)di[1];
        s->devs[di[1]].peer = (int32_t)di[0];
    }
    free(cnt);
    /* nic_rate: the first host's device 1 */
    for (int32_t v = 0; v < N; v++)
        if (!s->nodes[v].is_switch) {
            if (s->nodes[v].n_dev == 0) {
                set_err(s, "topology: host %d (the first host) has no link", v);
                return M4_ERR_INVALID_INPUT;
            }
            s->nic_rate = s->devs[s->nodes[v].dev0].rate;
            break;
        }
    /* cc-dependent header sizes */
    if (cfg->cc_mode == M4_CC_HPCC) {
        s->int_mode = 2;
        s->int_bytes = MAXHOP * 8 + 2;
        for (uint32_t i = 0; i < s->n_devs; i++)
            if (s->nodes[s->devs[i].node].is_switch && hop_rate_index(s->devs[i].rate) < 0) {
                set_err(s, "topology: link %d runs at %llu bit/s, which HPCC's INT header cannot encode "
                           "(10, 25, 40, 50, 100, 200, 400 Gbps or 100 Tbps)",
                        s->devs[i].link, (unsigned long long)s->devs[i].rate);
                return M4_ERR_UNSUPPORTED;
            }
    } else if (cfg->cc_mode == M4_CC_TIMELY) {
        s->int_mode = 1;
        s->int_bytes = 8;
    }
    s->ack_q_idx = cfg->ack_high_prio ? 0 : 3;
    /* switches: SwitchMmu as third.cc configures it */
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
    /* links with loss draw from ns-3's fixed stream 50, one stream per link */
    int any_err = 0;
    for (int32_t l = 0; l < t->n_links; l++)
        if (s->link_err[l] > 0) any_err = 1;
    if (any_err) {
        s->link_rng = calloc((size_t)t->n_links, sizeof(*s->link_rng));
        if (!s->link_rng) return M4_ERR_NO_MEMORY;
    }
    if (build_routes(s)) return M4_ERR_NO_MEMORY;
    /* the wheel spans the longest link's delay plus a jumbo packet's
     * transmission (and DCQCN's 4 us checks) at least twice over */
    uint64_t span = 8192;
    for (int32_t l = 0; l < t->n_links; l++) {
        uint64_t need = 2 * (t->delay_ns[l] + (uint64_t)tx_time(9100, t->rate_bps[l]));
        while (span < need && span < (1u << 16)) span *= 2;
    }
    s->wheel_n = (uint32_t)span;
    s->wheel_mask = s->wheel_n - 1;
    s->bhead = malloc(span * sizeof(uint32_t));
    s->btail = malloc(span * sizeof(uint32_t));
    s->bmap = calloc(span / 64, sizeof(uint64_t));
    if (!s->bhead || !s->btail || !s->bmap) return M4_ERR_NO_MEMORY;
    for (uint32_t b = 0; b < s->wheel_n; b++) s->bhead[b] = NIL;
    s->wn_free = NIL;
    return M4_OK;
}

void m4_pktsim_destroy(m4_pktsim *s) {
    if (!s) return;
    free_topology(s);
    free(s->heap);
    free(s->bhead);
    free(s->btail);
    free(s->bmap);
    free(s->wn);
    free(s->pool);
    free(s->flows);
    free(s->order);
    free(s->pfc);
    free(s->qlen_node);
    free(s->qlen_if);
    free(s->qlen_counts);
    free(s);
}

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
    if (s->now < (int64_t)s->cfg.qlen_end_ns) schedule(s, s->now + (int64_t)s->cfg.qlen_interval_ns, EV_QLEN, 0);
}

static int check_flows(m4_pktsim *s, const m4_pktsim_flows *fl) {
    if (!fl->id || !fl->src || !fl->dst || !fl->pg || !fl->dport || !fl->size_bytes || !fl->start_ns) {
        set_err(s, "flows: a NULL array");
        return -1;
    }
    for (size_t i = 0; i < fl->n; i++) {
        int32_t a = fl->src[i], b = fl->dst[i];
        if (a < 0 || a >= s->n_nodes || s->nodes[a].is_switch) {
            set_err(s, "flow %zu (id %u): src %d is not a host of the topology", i, fl->id[i], a);
            return -1;
        }
        if (b < 0 || b >= s->n_nodes || s->nodes[b].is_switch) {
            set_err(s, "flow %zu (id %u): dst %d is not a host of the topology", i, fl->id[i], b);
            return -1;
        }
        if (a == b) {
            set_err(s, "flow %zu (id %u): src and dst are both host %d", i, fl->id[i], a);
            return -1;
        }
        if (s->tree_parent[(size_t)s->nodes[b].index * s->n_nodes + a] < 0) {
            set_err(s, "flow %zu (id %u): no path from host %d to host %d (disconnected topology)", i, fl->id[i], a, b);
            return -1;
        }
        if (fl->size_bytes[i] == 0 || fl->size_bytes[i] > 0xffffffffull) {
            set_err(s, "flow %zu (id %u): size %llu bytes is out of range (1..2^32-1)", i, fl->id[i],
                    (unsigned long long)fl->size_bytes[i]);
            return -1;
        }
        if (fl->pg[i] == 0 || fl->pg[i] >= QCNT) {
            set_err(s, "flow %zu (id %u): priority group %u is out of range (1..7)", i, fl->id[i], fl->pg[i]);
            return -1;
        }
        if (fl->start_ns[i] > (uint64_t)INT64_MAX / 2) {
            set_err(s, "flow %zu (id %u): start time %llu ns is out of range", i, fl->id[i],
                    (unsigned long long)fl->start_ns[i]);
            return -1;
        }
        if (i > 0 && fl->start_ns[i] < fl->start_ns[i - 1]) {
            set_err(s, "flow %zu (id %u): start time %llu ns is before the previous flow's %llu ns (flows must be sorted)",
                    i, fl->id[i], (unsigned long long)fl->start_ns[i], (unsigned long long)fl->start_ns[i - 1]);
            return -1;
        }
    }
    return 0;
}

/* source ports: per (src, dst) pair, 10000 upward (uint16 wraps, as in the fork) */
static int assign_ports(m4_pktsim *s) {
    size_t cap = 64;
    while (cap < 2 * s->n_flows) cap *= 2;
    uint64_t *keys = malloc(cap * sizeof(uint64_t));
    uint16_t *vals = malloc(cap * sizeof(uint16_t));
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t i = 0; i < cap; i++) keys[i] = UINT64_MAX;
    for (size_t i = 0; i < s->n_flows; i++) {
        flow *f = &s->flows[i];
        uint64_t key = ((uint64_t)(uint32_t)f->src << 32) | (uint32_t)f->dst;
        size_t h = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
        while (keys[h] != UINT64_MAX && keys[h] != key) h = (h + 1) & (cap - 1);
        if (keys[h] == UINT64_MAX) {
            keys[h] = key;
            vals[h] = 10000;
        }
        f->sport = vals[h]++;
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
    s->now = 0;
    s->heap_n = 0;
    s->wheel_count = 0;
    if (s->wheel_n) {
        for (uint32_t b = 0; b < s->wheel_n; b++) s->bhead[b] = NIL;
        memset(s->bmap, 0, (s->wheel_n >> 6) * sizeof(uint64_t));
    }
    s->wn_free = NIL;
    if (s->wn_cap) {
        for (uint32_t i = 0; i < s->wn_cap; i++) s->wn[i].next = i + 1 < s->wn_cap ? i + 1 : NIL;
        s->wn_free = 0;
    }
    s->next_uid = 0;
    s->free_head = NIL;
    if (s->pool_cap) {
        for (uint32_t i = 0; i < s->pool_cap; i++) s->pool[i].next = i + 1 < s->pool_cap ? i + 1 : NIL;
        s->free_head = 0;
    }
    memset(&s->stats, 0, sizeof(s->stats));
    s->n_pfc = 0;
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
        set_err(s, "flows and the ideal FCT array are required");
        return M4_ERR_INVALID_ARGUMENT;
    }
    if (check_flows(s, fl)) return M4_ERR_INVALID_INPUT;
    for (size_t i = 0; i < fl->n; i++) ideal_ns[i] = ideal_fct(s, fl->src[i], fl->dst[i], fl->size_bytes[i]);
    return M4_OK;
}

m4_status m4_pktsim_run(m4_pktsim *s, const m4_pktsim_flows *fl, const m4_pktsim_result *res) {
    if (!s) return M4_ERR_INVALID_ARGUMENT;
    if (!s->nodes || !s->wheel_n) return M4_ERR_INVALID_ARGUMENT; /* create failed */
    if (!fl || !res || !res->fct_ns) {
        set_err(s, "flows and result arrays are required");
        return M4_ERR_INVALID_ARGUMENT;
    }
    reset_state(s);
    s->stop = s->cfg.stop_time_ns < (uint64_t)MAX_TS ? (int64_t)s->cfg.stop_time_ns : MAX_TS;
    if (check_flows(s, fl)) return M4_ERR_INVALID_INPUT;
    const m4_pktsim_config *c = &s->cfg;
    size_t n = fl->n;
    if (n > s->cap_flows) {
        flow *f = realloc(s->flows, n * sizeof(flow));
        uint32_t *o = realloc(s->order, n * sizeof(uint32_t));
        if (f) s->flows = f;
        if (o) s->order = o;
        if (!f || !o) {
            set_err(s, "out of memory for %zu flows", n);
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
    if (assign_ports(s)) {
        set_err(s, "out of memory assigning ports");
        return M4_ERR_NO_MEMORY;
    }
    if (rng_init(&s->rng, c->rng_stream_base, s->link_rng ? s->st50 : NULL)) {
        set_err(s, "out of memory for the RNG tables");
        return M4_ERR_NO_MEMORY;
    }
    if (s->link_rng)
        for (int32_t l = 0; l < s->n_links; l++) memcpy(s->link_rng[l], s->st50, sizeof(s->st50));
    /* queue-length histogram */
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
            set_err(s, "out of memory for the queue-length trace");
            return M4_ERR_NO_MEMORY;
        }
        size_t pi = 0;
        for (int32_t i = 0; i < s->n_switches; i++)
            for (uint32_t j = 1; j <= s->sws[i].n_ports; j++, pi++) {
                s->qlen_node[pi] = s->sws[i].node;
                s->qlen_if[pi] = (int32_t)j;
            }
        schedule(s, (int64_t)c->qlen_start_ns, EV_QLEN, 0);
    }
    if (n > 0) schedule(s, s->flows[0].start, EV_FLOW_INPUT, 0);

    double t0 = c->max_wall_seconds > 0 ? wall_seconds() : 0;
    m4_status st = M4_OK;
    uint32_t ev_type, x;
    uint64_t ev_uid;
    uint64_t every = c->progress_every_events ? c->progress_every_events : (uint64_t)1 << 20;
    while (s->n_delivered < n && next_event(s, &ev_type, &x, &ev_uid)) {
        s->stats.events++;
        if (c->progress && s->stats.events % every == 0) c->progress(c->progress_ctx, s->n_delivered, n, s->now);
        if (c->max_events && s->stats.events > c->max_events) {
            set_err(s, "event budget of %llu events exhausted at t=%lld ns with %zu of %zu flows unfinished",
                    (unsigned long long)c->max_events, (long long)s->now, n - s->n_delivered, n);
            st = M4_ERR_BUDGET;
            break;
        }
        if (c->max_wall_seconds > 0 && (s->stats.events & 0xffff) == 0 && wall_seconds() - t0 > c->max_wall_seconds) {
            set_err(s, "wall-clock budget of %g s exhausted at t=%lld ns with %zu of %zu flows unfinished",
                    c->max_wall_seconds, (long long)s->now, n - s->n_delivered, n);
            st = M4_ERR_BUDGET;
            break;
        }
        switch (ev_type) {
        case EV_TX_DONE:
            s->devs[x].busy = 0;
            dequeue_and_transmit(s, x);
            break;
        case EV_RECV:
            device_receive(s, s->pool[x].rx_dev, x);
            break;
        case EV_NIC_SEND: {
            device *dv = &s->devs[x];
            if (!dv->ns_pending || dv->ns_uid != ev_uid) break; /* cancelled */
            dv->ns_pending = 0;
            dequeue_and_transmit(s, x);
            break;
        }
        case EV_FLOW_INPUT:
            while (s->flow_input_idx < n && s->flows[s->flow_input_idx].start == s->now) {
                schedule(s, s->now, EV_APP_START, (uint32_t)s->flow_input_idx);
                s->flow_input_idx++;
            }
            if (s->flow_input_idx < n) schedule(s, s->flows[s->flow_input_idx].start, EV_FLOW_INPUT, 0);
            break;
        case EV_APP_START:
            schedule(s, s->now, EV_QP_START, x);
            break;
        case EV_QP_START:
            add_queue_pair(s, x);
            break;
        case EV_ALPHA:
            if (s->flows[x].ev_alpha == ev_uid) dcqcn_update_alpha(s, &s->flows[x]);
            break;
        case EV_DEC:
            if (s->flows[x].ev_dec == ev_uid) dcqcn_check_decrease(s, &s->flows[x]);
            break;
        case EV_RP:
            if (s->flows[x].ev_rp == ev_uid) dcqcn_rate_increase(s, &s->flows[x]);
            break;
        case EV_QLEN:
            qlen_sample(s);
            break;
        }
        if (s->oom) break;
        if (s->overflow) {
            set_err(s, "the run reached the simulator's limit of 2^40 scheduled events at t=%lld ns",
                    (long long)s->now);
            st = M4_ERR_BUDGET;
            break;
        }
    }
    if (s->oom) {
        set_err(s, "out of memory at t=%lld ns", (long long)s->now);
        return M4_ERR_NO_MEMORY;
    }
    s->stats.end_ns = (uint64_t)s->now;
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
    if (st != M4_OK) return st;
    if (s->n_delivered < n) {
        if (s->stats.drops > 0)
            set_err(s, "%zu of %zu flows did not finish by the stop time (%.9f s, SIMULATOR_STOP_TIME); %llu packets "
                       "were dropped, and the fork's go-back-N has no retransmission timeout, so a flow whose last "
                       "packets are dropped never finishes: enable PFC or enlarge BUFFER_SIZE",
                    n - s->n_delivered, n, (double)c->stop_time_ns * 1e-9, (unsigned long long)s->stats.drops);
        else
            set_err(s, "%zu of %zu flows did not finish by the stop time (%.9f s, SIMULATOR_STOP_TIME)",
                    n - s->n_delivered, n, (double)c->stop_time_ns * 1e-9);
        return M4_ERR_BUDGET;
    }
    return M4_OK;
}
