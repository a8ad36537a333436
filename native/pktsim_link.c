/*
 * pktsim_link.c: QbbNetDevice, a port of a host or a switch: it sends one
 * packet at a time (the switch's or the NIC's queues pick which), delivers
 * what arrives to its node, and obeys the PFC frames it receives.
 */
#include "pktsim_internal.h"

#include <stdlib.h>

void pk_transmit_start(m4_pktsim *s, uint32_t d, uint32_t p) {
    device *dv = &s->devs[d];
    dv->busy = 1;
    int64_t tx = tx_time(s->pool[p].size, dv->rate);
    pk_schedule(s, s->now + tx, EV_TX_DONE, d);
    s->pool[p].rx_dev = (uint32_t)dv->peer;
    pk_schedule(s, s->now + tx + (int64_t)dv->delay, EV_RECV, p);
}

/* QbbNetDevice::Receive */
void pk_device_receive(m4_pktsim *s, uint32_t d, uint32_t p) {
    device *dv = &s->devs[d];
    if (s->link_rng && s->link_err[dv->link] > 0) {
        if (pk_rng_u01(s->link_rng[dv->link]) < s->link_err[dv->link]) {
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
                pk_dequeue_and_transmit(s, d);
            }
        } else {
            pkt_free(s, p);
        }
        return;
    }
    if (nd->is_switch) {
        k->in_if = dv->ifindex;
        pk_switch_receive(s, dv->node, p);
    } else if (k->type == PK_DATA) {
        pk_receive_data(s, dv->node, p);
    } else {
        pk_receive_ack(s, dv->node, p);
    }
}
