/*
 * pktsim_switch.c: a switch: SwitchNode (ECMP forwarding, INT), SwitchMmu
 * (the shared buffer's admission, ECN marking, PFC pause and resume) and the
 * ports' BEgressQueue (strict priority for queue 0, round robin for the rest).
 */
#include "pktsim_internal.h"

#include <stdlib.h>

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
        if (pk_rng_fresh_u01(&s->rng) < p) return 1;
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
    pk_dequeue_and_transmit(s, d);
}

/* QbbNetDevice::SendPfc on device d: type 0 pause, 1 resume. */
static void send_pfc(m4_pktsim *s, uint32_t d, uint32_t q, int type) {
    uint32_t p = pk_pkt_new(s);
    if (p == NIL) return;
    pkt *k = &s->pool[p];
    k->type = PK_PFC;
    k->size = 9 + 20 + 14;
    k->pfc_time = type == 0 ? s->cfg.pause_time_us : 0;
    k->pg = (uint8_t)q;
    (void)pk_rng_fresh_u01(&s->rng); /* the IPv4 id: UniformVariable(0, 65536) */
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

uint32_t pk_switch_route(const m4_pktsim *s, int32_t nid, int32_t src, int32_t dst, uint16_t sport, uint16_t dport) {
    size_t r = (size_t)s->nodes[nid].index * (size_t)s->n_hosts + (size_t)s->nodes[dst].index;
    uint32_t lo = s->route_off[r], hi = s->route_off[r + 1];
    if (lo == hi) return 0;
    if (hi - lo == 1) return s->route_port[lo];
    uint32_t key[3] = {s->nodes[src].ip, s->nodes[dst].ip, (uint32_t)sport | ((uint32_t)dport << 16)};
    return s->route_port[lo + ecmp_hash(key, (uint32_t)nid) % (hi - lo)];
}

/* SwitchNode::SendToDev for a packet that arrived on ingress ifindex in_if. */
void pk_switch_receive(m4_pktsim *s, int32_t nid, uint32_t p) {
    node *nd = &s->nodes[nid];
    swtch *w = &s->sws[nd->index];
    pkt *k = &s->pool[p];
    uint32_t out = pk_switch_route(s, nid, k->src, k->dst, k->sport, k->dport);
    if (out == 0) {
        s->stats.drops++;
        pkt_free(s, p);
        return;
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

uint32_t pk_switch_dequeue(m4_pktsim *s, uint32_t d) {
    uint32_t q;
    uint32_t p = beq_dequeue(s, &s->devs[d], &q);
    if (p != NIL) switch_notify_dequeue(s, d, q, p);
    return p;
}
