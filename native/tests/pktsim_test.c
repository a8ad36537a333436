/* pktsim_test.c: the packet simulator through m4.h on cases solvable by hand. */
#include "m4.h"
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>


/* DCTCP as the m3 generator configures it, with marking at 12 KB (48 KB on
 * 40 Gbps links) and a 15 kB window (above the BDP of the paths below). */
static void dctcp_config(m4_pktsim_config *c) {
    m4_pktsim_config_default(c);
    c->cc_mode = M4_CC_DCTCP;
    c->enable_pfc = 0;
    c->ack_high_prio = 1;
    c->has_win = 1;
    c->var_win = 1;
    c->fixed_win_bytes = 15000;
    c->base_rtt_ns = 14400;
    c->l2_chunk_size = 4000;
    c->l2_ack_interval = 1;
    c->ewma_gain = 0.0625;
    c->min_rate_bps = 1000000000ull;
    c->max_rate_bps = 10000000000ull;
    c->dctcp_rate_ai_bps = 615000000ull;
    c->buffer_size_kb = 400;
    c->n_ecn = 2;
    c->ecn_rate_bps[0] = 10000000000ull;
    c->ecn_kmin_kb[0] = c->ecn_kmax_kb[0] = 12;
    c->ecn_pmax[0] = 1;
    c->ecn_rate_bps[1] = 40000000000ull;
    c->ecn_kmin_kb[1] = c->ecn_kmax_kb[1] = 48;
    c->ecn_pmax[1] = 1;
    c->stop_time_ns = 4000000000ull;
}

/* hosts 0..n-1 on switch n, links at rate with 1 us delay */
typedef struct {
    uint8_t is_switch[8];
    int32_t a[8], b[8];
    uint64_t rate[8], delay[8];
    m4_pktsim_topology t;
} star_topo;

static void star(star_topo *s, int n, uint64_t rate) {
    memset(s, 0, sizeof(*s));
    s->is_switch[n] = 1;
    for (int i = 0; i < n; i++) {
        s->a[i] = i;
        s->b[i] = n;
        s->rate[i] = rate;
        s->delay[i] = 1000;
    }
    s->t.n_nodes = n + 1;
    s->t.is_switch = s->is_switch;
    s->t.n_links = n;
    s->t.link_a = s->a;
    s->t.link_b = s->b;
    s->t.rate_bps = s->rate;
    s->t.delay_ns = s->delay;
}

typedef struct {
    uint32_t id[4];
    int32_t src[4], dst[4];
    uint16_t pg[4], dport[4];
    uint64_t size[4], start[4];
    m4_pktsim_flows f;
} flow_set;

static void flows(flow_set *fs, size_t n, const int32_t *src, const int32_t *dst, const uint64_t *size) {
    memset(fs, 0, sizeof(*fs));
    for (size_t i = 0; i < n; i++) {
        fs->id[i] = (uint32_t)i;
        fs->src[i] = src[i];
        fs->dst[i] = dst[i];
        fs->pg[i] = 3;
        fs->dport[i] = 100;
        fs->size[i] = size[i];
        fs->start[i] = 1000000000ull;
    }
    fs->f.n = n;
    fs->f.id = fs->id;
    fs->f.src = fs->src;
    fs->f.dst = fs->dst;
    fs->f.pg = fs->pg;
    fs->f.dport = fs->dport;
    fs->f.size_bytes = fs->size;
    fs->f.start_ns = fs->start;
}

/* progress hook of the test below: counts calls, checks monotonicity */
typedef struct {
    uint64_t calls;
    size_t last_done, total;
    int64_t last_now;
    int bad;
} progress_state;

static void progress_count(void *ctx, size_t done, size_t total, int64_t now_ns) {
    progress_state *p = ctx;
    if (done < p->last_done || now_ns < p->last_now) p->bad = 1;
    p->calls++;
    p->last_done = done;
    p->total = total;
    p->last_now = now_ns;
}

static double wire_bits(uint64_t size) { return 8.0 * (double)(size + (size + 999) / 1000 * 48); }

int main(void) {
    m4_pktsim_config cfg;
    star_topo st;
    flow_set fs;

    /* One flow alone finishes in the fork's ideal FCT: 100 packets of 1048 B
     * every 838 ns (floor of 838.4), the last stored and forwarded once
     * more, two 1 us links: 101 * 838 + 2000 ns. */
    {
        dctcp_config(&cfg);
        star(&st, 2, 10000000000ull);
        m4_pktsim *sim = NULL;
        CHECK(m4_pktsim_create(&sim, &cfg, &st.t) == M4_OK, "create: %s", m4_pktsim_error(sim));
        int32_t src[] = {0}, dst[] = {1};
        uint64_t size[] = {100000};
        flows(&fs, 1, src, dst, size);
        int64_t fct[1], ideal[1];
        m4_pktsim_result res = {fct, ideal, NULL, NULL};
        CHECK(m4_pktsim_run(sim, &fs.f, &res) == M4_OK, "run: %s", m4_pktsim_error(sim));
        CHECK(fct[0] == 101 * 838 + 2000, "alone: fct %lld, want %d", (long long)fct[0], 101 * 838 + 2000);
        CHECK(ideal[0] == fct[0], "alone: ideal %lld, fct %lld", (long long)ideal[0], (long long)fct[0]);
        /* the object runs again from an empty network: same answer */
        int64_t again[1];
        m4_pktsim_result res2 = {again, NULL, NULL, NULL};
        CHECK(m4_pktsim_run(sim, &fs.f, &res2) == M4_OK && again[0] == fct[0], "rerun differs");
        /* the ideal FCT without a run is the run's */
        int64_t alone[1] = {0};
        CHECK(m4_pktsim_ideal(sim, &fs.f, alone) == M4_OK && alone[0] == ideal[0], "m4_pktsim_ideal %lld, run %lld",
              (long long)alone[0], (long long)ideal[0]);
        fs.dst[0] = 2; /* the switch */
        CHECK(m4_pktsim_ideal(sim, &fs.f, alone) == M4_ERR_INVALID_INPUT &&
                  strstr(m4_pktsim_error(sim), "dst 2 is not a host") != NULL,
              "ideal of a flow to a switch: %s", m4_pktsim_error(sim));
        m4_pktsim_destroy(sim);
    }

    /* Ideal FCT over a 10 and a 40 Gbps link: the first packet at each
     * link's rate (838 + 209 ns), the other 99 000 B and 99 headers at the
     * slowest (79 200 + 99 * 38 ns), 2 us of propagation. */
    {
        dctcp_config(&cfg);
        star(&st, 2, 10000000000ull);
        st.rate[1] = 40000000000ull;
        m4_pktsim *sim = NULL;
        CHECK(m4_pktsim_create(&sim, &cfg, &st.t) == M4_OK, "create: %s", m4_pktsim_error(sim));
        int32_t src[] = {0, 1}, dst[] = {1, 0};
        uint64_t size[] = {100000, 100000};
        flows(&fs, 2, src, dst, size);
        int64_t ideal[2];
        CHECK(m4_pktsim_ideal(sim, &fs.f, ideal) == M4_OK, "ideal: %s", m4_pktsim_error(sim));
        for (int i = 0; i < 2; i++)
            CHECK(ideal[i] == 2000 + 838 + 209 + 79200 + 99 * 38, "mixed rates: flow %d ideal %lld, want %d", i,
                  (long long)ideal[i], 2000 + 838 + 209 + 79200 + 99 * 38);
        m4_pktsim_destroy(sim);
    }

    /* The progress hook sees every event once with progress_every_events 1,
     * flows finished never decreasing and time never going back. */
    {
        dctcp_config(&cfg);
        star(&st, 3, 10000000000ull);
        progress_state pr = {0, 0, 0, 0, 0};
        cfg.progress = progress_count;
        cfg.progress_ctx = &pr;
        cfg.progress_every_events = 1;
        m4_pktsim *sim = NULL;
        CHECK(m4_pktsim_create(&sim, &cfg, &st.t) == M4_OK, "create: %s", m4_pktsim_error(sim));
        int32_t src[] = {0, 1}, dst[] = {2, 2};
        uint64_t size[] = {200000, 300000};
        flows(&fs, 2, src, dst, size);
        int64_t fct[2];
        m4_pktsim_result res = {fct, NULL, NULL, NULL};
        CHECK(m4_pktsim_run(sim, &fs.f, &res) == M4_OK, "run: %s", m4_pktsim_error(sim));
        m4_pktsim_stats s;
        m4_pktsim_get_stats(sim, &s);
        CHECK(pr.calls == s.events && !pr.bad && pr.total == 2 && pr.last_done <= 2,
              "progress: %llu calls for %llu events, total %zu, last done %zu, bad %d", (unsigned long long)pr.calls,
              (unsigned long long)s.events, pr.total, pr.last_done, pr.bad);
        m4_pktsim_destroy(sim);
    }

    /* Two equal flows into one 10 Gbps port: half the rate each, within 2%. */
    {
        dctcp_config(&cfg);
        star(&st, 3, 10000000000ull);
        m4_pktsim *sim = NULL;
        CHECK(m4_pktsim_create(&sim, &cfg, &st.t) == M4_OK, "create: %s", m4_pktsim_error(sim));
        int32_t src[] = {0, 1}, dst[] = {2, 2};
        uint64_t size[] = {5000000, 5000000};
        flows(&fs, 2, src, dst, size);
        int64_t fct[2];
        uint32_t order[2];
        uint16_t sport[2];
        m4_pktsim_result res = {fct, NULL, sport, order};
        CHECK(m4_pktsim_run(sim, &fs.f, &res) == M4_OK, "run: %s", m4_pktsim_error(sim));
        for (int i = 0; i < 2; i++) {
            double gbps = wire_bits(size[i]) / (double)fct[i];
            CHECK(fabs(gbps / 5.0 - 1) < 0.02, "fair share: flow %d at %.3f Gbps", i, gbps);
            CHECK(sport[i] == 10000, "flow %d sport %u, want 10000 (first of its pair)", i, sport[i]);
        }
        CHECK((order[0] == 0 && order[1] == 1) || (order[0] == 1 && order[1] == 0), "order %u %u", order[0], order[1]);
        m4_pktsim_stats s;
        m4_pktsim_get_stats(sim, &s);
        CHECK(s.events > 0 && s.ecn_marks > 0 && s.drops == 0, "stats: %llu events %llu marks %llu drops",
              (unsigned long long)s.events, (unsigned long long)s.ecn_marks, (unsigned long long)s.drops);
        m4_pktsim_destroy(sim);
    }

    /* Incast without ECN or window fills the buffer: PFC pauses, no drops. */
    {
        dctcp_config(&cfg);
        cfg.enable_pfc = 1;
        cfg.has_win = 0;
        cfg.buffer_size_kb = 100;
        cfg.ecn_kmin_kb[0] = cfg.ecn_kmax_kb[0] = 100000;
        star(&st, 3, 10000000000ull);
        m4_pktsim *sim = NULL;
        CHECK(m4_pktsim_create(&sim, &cfg, &st.t) == M4_OK, "create: %s", m4_pktsim_error(sim));
        int32_t src[] = {0, 1}, dst[] = {2, 2};
        uint64_t size[] = {1000000, 1000000};
        flows(&fs, 2, src, dst, size);
        int64_t fct[2];
        m4_pktsim_result res = {fct, NULL, NULL, NULL};
        CHECK(m4_pktsim_run(sim, &fs.f, &res) == M4_OK, "run: %s", m4_pktsim_error(sim));
        size_t n = 0;
        const m4_pktsim_pfc_event *ev = m4_pktsim_pfc_trace(sim, &n);
        int pauses = 0;
        for (size_t i = 0; i < n; i++) pauses += ev[i].pause;
        CHECK(pauses > 0 && (size_t)pauses * 2 == n, "PFC: %d pauses in %zu frames", pauses, n);
        m4_pktsim_stats s;
        m4_pktsim_get_stats(sim, &s);
        CHECK(s.drops == 0, "PFC: %llu drops", (unsigned long long)s.drops);
        double drain = 2 * wire_bits(1000000) / 10.0;
        double last = (double)(fct[0] > fct[1] ? fct[0] : fct[1]);
        CHECK(last >= drain && last < drain * 1.01 + 3000, "PFC: last fct %.0f, drain %.0f", last, drain);
        m4_pktsim_destroy(sim);
    }

    /* Bad input: a flow to a switch, unsorted starts, an exhausted budget. */
    {
        dctcp_config(&cfg);
        cfg.max_events = 100;
        star(&st, 2, 10000000000ull);
        m4_pktsim *sim = NULL;
        CHECK(m4_pktsim_create(&sim, &cfg, &st.t) == M4_OK, "create: %s", m4_pktsim_error(sim));
        int32_t src[] = {0, 0}, dst[] = {2, 1};
        uint64_t size[] = {1000, 1000};
        flows(&fs, 2, src, dst, size);
        int64_t fct[2];
        m4_pktsim_result res = {fct, NULL, NULL, NULL};
        CHECK(m4_pktsim_run(sim, &fs.f, &res) == M4_ERR_INVALID_INPUT, "flow to a switch accepted");
        CHECK(strstr(m4_pktsim_error(sim), "dst 2 is not a host") != NULL, "message: %s", m4_pktsim_error(sim));
        fs.dst[0] = 1;
        fs.start[1] = 5;
        CHECK(m4_pktsim_run(sim, &fs.f, &res) == M4_ERR_INVALID_INPUT, "unsorted flows accepted");
        fs.start[1] = fs.start[0];
        fs.size[0] = fs.size[1] = 10000000;
        CHECK(m4_pktsim_run(sim, &fs.f, &res) == M4_ERR_BUDGET, "budget not enforced");
        CHECK(strstr(m4_pktsim_error(sim), "event budget") != NULL, "message: %s", m4_pktsim_error(sim));
        m4_pktsim_destroy(sim);

        cfg.cc_mode = 10;
        sim = NULL;
        CHECK(m4_pktsim_create(&sim, &cfg, &st.t) == M4_ERR_INVALID_ARGUMENT, "CC_MODE 10 accepted");
        CHECK(sim && strstr(m4_pktsim_error(sim), "CC_MODE 10") != NULL, "message: %s", m4_pktsim_error(sim));
        m4_pktsim_destroy(sim);
        CHECK(m4_pktsim_create(NULL, &cfg, &st.t) == M4_ERR_INVALID_ARGUMENT, "NULL out accepted");
    }

    CHECK_DONE("pktsim_test");
}
