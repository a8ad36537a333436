/*
 * pktsim_cc.c: RdmaHw's congestion control: DCQCN (Mellanox), HPCC, TIMELY
 * and DCTCP. Each reacts to ACKs (and DCQCN also to its timers) by changing
 * a flow's sending rate, with the fork's integer DataRate arithmetic.
 */
#include "pktsim_internal.h"

const uint64_t pk_hop_line_rates[8] = {25000000000ull, 50000000000ull, 100000000000ull,
                                           200000000000ull, 400000000000ull, 10000000000ull,
                                           40000000000ull, 100000000000000ull};

int pk_hop_rate_index(uint64_t bps) {
    for (int i = 0; i < 8; i++)
        if (pk_hop_line_rates[i] == bps) return i;
    return -1;
}

static void change_rate(m4_pktsim *s, flow *f, uint64_t new_rate) {
    int64_t old_t = tx_time(f->last_pkt_size, f->rate);
    int64_t new_t = tx_time(f->last_pkt_size, new_rate);
    f->next_avail = f->next_avail + new_t - old_t;
    pk_nic_update_next_avail(s, host_nic(s, f->src), f->next_avail);
    f->rate = new_rate;
}

static uint64_t rate_mul(uint64_t bps, double c) { return d2u((double)bps * c); }
static uint64_t rate_div(uint64_t bps, double c) { return d2u((double)bps / c); }

/* --- DCQCN (Mellanox) --- */

static void dcqcn_schedule_alpha(m4_pktsim *s, flow *f) {
    f->ev_alpha = pk_schedule(s, s->now + us_to_ns(s->cfg.alpha_resume_interval_us), EV_ALPHA,
                              (uint32_t)(f - s->flows));
}

static void dcqcn_schedule_decrease(m4_pktsim *s, flow *f, int64_t delta) {
    f->ev_dec = pk_schedule(s, s->now + us_to_ns(s->cfg.rate_decrease_interval_us) + delta, EV_DEC,
                            (uint32_t)(f - s->flows));
}

void pk_dcqcn_cnp(m4_pktsim *s, flow *f) {
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

void pk_dcqcn_update_alpha(m4_pktsim *s, flow *f) {
    double g = s->cfg.ewma_gain;
    if (f->m_alpha_cnp)
        f->m_alpha = (1 - g) * f->m_alpha + g;
    else
        f->m_alpha = (1 - g) * f->m_alpha;
    f->m_alpha_cnp = 0;
    dcqcn_schedule_alpha(s, f);
}

void pk_dcqcn_check_decrease(m4_pktsim *s, flow *f) {
    dcqcn_schedule_decrease(s, f, 0);
    if (f->m_dec_cnp) {
        int clamp = 1;
        if (!s->cfg.clamp_target_rate && f->m_rp_stage == 0) clamp = 0;
        if (clamp) f->m_target = f->rate;
        uint64_t r = rate_mul(f->rate, 1 - f->m_alpha / 2);
        f->rate = r > s->cfg.min_rate_bps ? r : s->cfg.min_rate_bps;
        f->m_rp_stage = 0;
        f->m_dec_cnp = 0;
        f->ev_rp = pk_schedule(s, s->now + us_to_ns(s->cfg.rp_timer_us), EV_RP, (uint32_t)(f - s->flows));
    }
}

void pk_dcqcn_rate_increase(m4_pktsim *s, flow *f) {
    f->ev_rp = pk_schedule(s, s->now + us_to_ns(s->cfg.rp_timer_us), EV_RP, (uint32_t)(f - s->flows));
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

void pk_hpcc_update(m4_pktsim *s, flow *f, const pkt *k, int fast) {
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
            uint64_t line = pk_hop_line_rates[HOP_RATE(k->hop[i])];
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

void pk_timely_update(m4_pktsim *s, flow *f, const pkt *k) {
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

void pk_dctcp_ack(m4_pktsim *s, flow *f, const pkt *k) {
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

