/*
 * pktsim_event.c: the event queue and the packet pool.
 *
 * Events run in ns-3's order: by integer ns, ties by scheduling order
 * (uid). Events less than wheel_n ns ahead sit in a wheel of 1-ns buckets
 * (FIFO per bucket = scheduling order); the rest wait in a 4-ary min-heap
 * on (ts, uid) and move into the wheel as now approaches them. Packets live
 * in a growable pool addressed by index, chained through their `next`
 * field. Neither allocates per event or per packet once warm. The fast
 * paths every event takes (pk_schedule, pk_next_event) are static inline
 * in pktsim_internal.h; their slow paths live here.
 */
#include "pktsim_internal.h"

#include <stdlib.h>
#include <string.h>

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

int pk_wheel_grow(m4_pktsim *s) {
    uint32_t cap = s->wn_cap ? s->wn_cap * 2 : 4096;
    wnode *w = realloc(s->wn, (size_t)cap * sizeof(wnode));
    if (!w) {
        s->oom = 1;
        return -1;
    }
    s->wn = w;
    for (uint32_t i = s->wn_cap; i < cap; i++) w[i].next = i + 1 < cap ? i + 1 : NIL;
    s->wn_free = s->wn_cap;
    s->wn_cap = cap;
    return 0;
}

void pk_heap_push(m4_pktsim *s, int64_t ts, uint64_t uid, uint32_t type, uint32_t idx) {
    event e = {((uint64_t)ts << 16) | (uid >> 24), ((uid & 0xffffffu) << 40) | ((uint64_t)type << 32) | idx};
    heap_push(s, e);
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

int pk_advance(m4_pktsim *s) {
    uint32_t b = (uint32_t)s->now & s->wheel_mask;
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
    return !s->oom;
}

/* ------------------------------------------------------------------------ */
/* packets                                                                   */
/* ------------------------------------------------------------------------ */

uint32_t pk_pkt_new(m4_pktsim *s) {
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


m4_status pk_events_create(m4_pktsim *s, const m4_pktsim_topology *t) {
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

void pk_events_reset(m4_pktsim *s) {
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
}

void pk_events_destroy(m4_pktsim *s) {
    free(s->heap);
    free(s->bhead);
    free(s->btail);
    free(s->bmap);
    free(s->wn);
    free(s->pool);
}
