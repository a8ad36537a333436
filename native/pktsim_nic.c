/*
 * pktsim_nic.c: a host's NIC: RdmaHw's queue pairs (send windows, pacing,
 * ACK/NACK generation, go-back-N) and RdmaEgressQueue (the ACK queue first,
 * then the queue pairs round robin).
 */
#include "pktsim_internal.h"

#include <stdlib.h>
#include <string.h>

static uint64_t bytes_left(const flow *f) { return f->size >= f->snd_nxt ? f->size - f->snd_nxt : 0; }

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
    uint32_t p = pk_pkt_new(s);
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
    dv->ns_uid = pk_schedule(s, t, EV_NIC_SEND, d);
}

/* QbbNetDevice::DequeueAndTransmit on a host */
void pk_nic_dequeue(m4_pktsim *s, uint32_t d) {
    device *dv = &s->devs[d];
    int64_t qi = nic_next_qindex(s, dv);
    if (qi != -1024) {
        if (qi == -1) {
            uint32_t p = fifo_pop(s, &dv->ack_head, &dv->ack_tail);
            pk_transmit_start(s, d, p);
            return;
        }
        flow *f = &s->flows[dv->qps[qi]];
        uint32_t p = get_next_packet(s, f);
        if (p == NIL) return;
        dv->nic_rrlast = (uint32_t)qi;
        uint32_t size = s->pool[p].size;
        pk_transmit_start(s, d, p);
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
}

/* QbbNetDevice::UpdateNextAvail */
void pk_nic_update_next_avail(m4_pktsim *s, uint32_t d, int64_t t) {
    device *dv = &s->devs[d];
    if (dv->ns_pending && t < dv->ns_ts) {
        dv->ns_pending = 0; /* cancel */
        int64_t delta = t < s->now ? 0 : t - s->now;
        nic_schedule_send(s, d, s->now + delta);
    }
}

/* ------------------------------------------------------------------------ */
/* RdmaHw: send and receive                                                  */
/* ------------------------------------------------------------------------ */

/* RdmaHw::AddQueuePair + QbbNetDevice::NewQp */
void pk_add_queue_pair(m4_pktsim *s, uint32_t fi) {
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
    pk_dequeue_and_transmit(s, d);
}

/* RdmaHw::QpComplete */
static void qp_complete(m4_pktsim *s, flow *f) {
    if (s->cfg.cc_mode == M4_CC_DCQCN) f->ev_alpha = f->ev_dec = f->ev_rp = 0;
    f->rx_exists = 0; /* qp_finish: the receiver forgets the flow */
    f->in_map = 0;
}

void pk_receive_ack(m4_pktsim *s, int32_t host, uint32_t p) {
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
    if (k->cnp && c->cc_mode == M4_CC_DCQCN) pk_dcqcn_cnp(s, f);
    if (c->cc_mode == M4_CC_HPCC) {
        if (k->seq > f->h_last_seq)
            pk_hpcc_update(s, f, k, 0);
        else if (c->fast_react)
            pk_hpcc_update(s, f, k, 1);
    } else if (c->cc_mode == M4_CC_TIMELY) {
        if (k->seq > f->t_last_seq) pk_timely_update(s, f, k);
    } else if (c->cc_mode == M4_CC_DCTCP) {
        pk_dctcp_ack(s, f, k);
    }
    pkt_free(s, p);
    pk_dequeue_and_transmit(s, d);
}

void pk_receive_data(m4_pktsim *s, int32_t host, uint32_t p) {
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
        uint32_t a = pk_pkt_new(s);
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
        pk_dequeue_and_transmit(s, d);
    }
    if ((uint64_t)f->rcv_next == f->size && !f->delivered) {
        f->delivered = 1;
        f->fct = s->now - f->start;
        s->order[s->n_delivered++] = (uint32_t)(f - s->flows);
        if (s->trace_on) pk_trace_event(s, 1, (uint32_t)(f - s->flows));
    }
    pkt_free(s, p);
}

