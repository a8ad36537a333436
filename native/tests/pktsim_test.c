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

/* trace_has_queue returns the bytes queued on directed link l at event e of
 * tr (0 when it is not listed). */
static float trace_queue(const m4_pktsim_trace *tr, size_t e, int32_t l) {
    for (int64_t k = tr->queue_ptr[e]; k < tr->queue_ptr[e + 1]; k++)
        if (tr->queue_link[k] == l) return tr->queue_bytes[k];
    return 0;
}

/* trace_cases: the dynamics trace, the link table and routes on cases
 * solvable by hand. */
static void trace_cases(void) {
    m4_pktsim_config cfg;
    star_topo st;
    flow_set fs;

    /* One flow alone: arrival at its start with all its bytes left, the
     * departure at start + FCT with nothing active, no queue anywhere (its
     * path never carries more than the line rate). Directed links: link l
     * is 2l from link_a[l] and 2l+1 back, so host 0 -> switch 2 is 0 and
     * switch 2 -> host 1 is 3. */
    {
        dctcp_config(&cfg);
        star(&st, 2, 10000000000ull);
        m4_pktsim *sim = NULL;
        CHECK(m4_pktsim_create(&sim, &cfg, &st.t) == M4_OK, "create: %s", m4_pktsim_error(sim));
        CHECK(m4_pktsim_set_trace(sim, 1) == M4_OK, "set_trace");
        int32_t src[] = {0}, dst[] = {1};
        uint64_t size[] = {100000};
        flows(&fs, 1, src, dst, size);
        int64_t fct[1];
        m4_pktsim_result res = {fct, NULL, NULL, NULL};
        CHECK(m4_pktsim_run(sim, &fs.f, &res) == M4_OK, "run: %s", m4_pktsim_error(sim));
        m4_pktsim_trace tr;
        CHECK(m4_pktsim_get_trace(sim, &tr) == M4_OK, "get_trace");
        CHECK(tr.n_events == 2, "alone: %zu events, want 2", tr.n_events);
        if (tr.n_events == 2) {
            CHECK(tr.time_ns[0] == 1000000000 && tr.kind[0] == 0 && tr.flow[0] == 0, "alone: event 0 = %lld %d %d",
                  (long long)tr.time_ns[0], tr.kind[0], tr.flow[0]);
            CHECK(tr.time_ns[1] == 1000000000 + fct[0] && tr.kind[1] == 1 && tr.flow[1] == 0,
                  "alone: event 1 = %lld %d %d, fct %lld", (long long)tr.time_ns[1], tr.kind[1], tr.flow[1],
                  (long long)fct[0]);
            CHECK(tr.active_ptr[0] == 0 && tr.active_ptr[1] == 1 && tr.active_ptr[2] == 1,
                  "alone: active offsets %lld %lld %lld", (long long)tr.active_ptr[0], (long long)tr.active_ptr[1],
                  (long long)tr.active_ptr[2]);
            CHECK(tr.active_flow[0] == 0 && tr.active_remaining[0] == 100000.0f, "alone: active %d with %g bytes",
                  tr.active_flow[0], (double)tr.active_remaining[0]);
            CHECK(tr.queue_ptr[2] == 0, "alone: %lld queue entries, want none", (long long)tr.queue_ptr[2]);
        }
        int64_t ptr[2];
        int32_t route[4];
        CHECK(m4_pktsim_routes(sim, &fs.f, ptr, route, 4) == M4_OK, "routes: %s", m4_pktsim_error(sim));
        CHECK(ptr[0] == 0 && ptr[1] == 2 && route[0] == 0 && route[1] == 3, "alone: route %lld..%lld = %d %d",
              (long long)ptr[0], (long long)ptr[1], route[0], route[1]);
        CHECK(m4_pktsim_routes(sim, &fs.f, ptr, route, 1) == M4_ERR_INVALID_ARGUMENT &&
                  strstr(m4_pktsim_error(sim), "2 links do not fit in 1") != NULL,
              "routes into a short array: %s", m4_pktsim_error(sim));
        int32_t from[4], to[4];
        uint64_t rate[4], delay[4];
        CHECK(m4_pktsim_links(sim, from, to, rate, delay) == M4_OK, "links");
        int32_t want_from[] = {0, 2, 1, 2}, want_to[] = {2, 0, 2, 1};
        for (int l = 0; l < 4; l++)
            CHECK(from[l] == want_from[l] && to[l] == want_to[l] && rate[l] == 10000000000ull && delay[l] == 1000,
                  "link %d: %d -> %d at %llu bit/s, %llu ns", l, from[l], to[l], (unsigned long long)rate[l],
                  (unsigned long long)delay[l]);
        /* off again: the next run records nothing */
        m4_pktsim_set_trace(sim, 0);
        CHECK(m4_pktsim_run(sim, &fs.f, &res) == M4_OK, "run: %s", m4_pktsim_error(sim));
        m4_pktsim_get_trace(sim, &tr);
        CHECK(tr.n_events == 0 && tr.time_ns == NULL, "trace off: %zu events", tr.n_events);
        m4_pktsim_destroy(sim);
    }

    /* Two 5 MB flows into one 10 Gbps port, the second 20 us later: its
     * arrival sees the first with bytes acknowledged, the shared port
     * (switch 3 -> host 2, link 5) queues, and each departure is at its
     * start + FCT. The FCTs are the same with the trace off. */
    {
        dctcp_config(&cfg);
        star(&st, 3, 10000000000ull);
        int32_t src[] = {0, 1}, dst[] = {2, 2};
        uint64_t size[] = {5000000, 5000000};
        flows(&fs, 2, src, dst, size);
        fs.start[1] += 20000;
        int64_t fct[2], fct_off[2];
        for (int on = 1; on >= 0; on--) {
            m4_pktsim *sim = NULL;
            CHECK(m4_pktsim_create(&sim, &cfg, &st.t) == M4_OK, "create: %s", m4_pktsim_error(sim));
            m4_pktsim_set_trace(sim, on);
            m4_pktsim_result res = {on ? fct : fct_off, NULL, NULL, NULL};
            CHECK(m4_pktsim_run(sim, &fs.f, &res) == M4_OK, "run: %s", m4_pktsim_error(sim));
            if (!on) {
                m4_pktsim_destroy(sim);
                break;
            }
            m4_pktsim_trace tr;
            m4_pktsim_get_trace(sim, &tr);
            CHECK(tr.n_events == 4, "shared: %zu events, want 4", tr.n_events);
            if (tr.n_events == 4) {
                CHECK(tr.kind[1] == 0 && tr.flow[1] == 1 && tr.time_ns[1] == (int64_t)fs.start[1],
                      "shared: event 1 = %d %d at %lld", tr.kind[1], tr.flow[1], (long long)tr.time_ns[1]);
                int64_t a = tr.active_ptr[1];
                CHECK(tr.active_ptr[2] - a == 2 && tr.active_flow[a] == 0 && tr.active_flow[a + 1] == 1,
                      "shared: active after the second arrival");
                float r0 = tr.active_remaining[a], r1 = tr.active_remaining[a + 1];
                /* 20 us at 10 Gbps less one RTT's worth is on the order of 20 kB */
                CHECK(r0 < 5000000.0f - 10000.0f && r0 > 5000000.0f - 25000.0f && r1 == 5000000.0f,
                      "shared: remaining %g, %g at the second arrival", (double)r0, (double)r1);
                int first = tr.flow[2];
                CHECK(tr.kind[2] == 1 && tr.kind[3] == 1 && tr.flow[3] == 1 - first, "shared: departures %d %d",
                      tr.flow[2], tr.flow[3]);
                for (int e = 2; e < 4; e++)
                    CHECK(tr.time_ns[e] == (int64_t)fs.start[tr.flow[e]] + fct[tr.flow[e]],
                          "shared: departure of flow %d at %lld, start + fct %lld", tr.flow[e],
                          (long long)tr.time_ns[e], (long long)fs.start[tr.flow[e]] + fct[tr.flow[e]]);
                a = tr.active_ptr[2];
                CHECK(tr.active_ptr[3] - a == 1 && tr.active_flow[a] == 1 - first && tr.active_remaining[a] > 0 &&
                          tr.active_remaining[a] < 5000000.0f,
                      "shared: after the first departure");
                float q = trace_queue(&tr, 2, 5);
                CHECK(q > 1000.0f && q < 400.0f * 1024, "shared: %g bytes queued on link 5 at the first departure",
                      (double)q);
                CHECK(tr.active_ptr[4] == tr.active_ptr[3], "shared: flows left after the last departure");
            }
            int64_t ptr[3];
            int32_t route[4];
            CHECK(m4_pktsim_routes(sim, &fs.f, ptr, route, 4) == M4_OK && ptr[2] == 4 && route[0] == 0 &&
                      route[1] == 5 && route[2] == 2 && route[3] == 5,
                  "shared: routes %d %d / %d %d", route[0], route[1], route[2], route[3]);
            m4_pktsim_destroy(sim);
        }
        CHECK(memcmp(fct, fct_off, sizeof(fct)) == 0, "shared: FCTs %lld %lld with the trace, %lld %lld without",
              (long long)fct[0], (long long)fct[1], (long long)fct_off[0], (long long)fct_off[1]);
    }

    /* ECMP: hosts 0, 1 on switch 4 and 2, 3 on switch 5 (40 Gbps), joined
     * through switches 6 and 7 (10 Gbps). Flow 0 (0 -> 2) overruns the
     * 10 Gbps hop that switch 4's hash picks: when flow 1 (3 -> 1, small)
     * arrives, a queue stands on exactly that hop of m4_pktsim_routes'
     * route, and none on the other. No window, and rates up to 40 Gbps. */
    {
        dctcp_config(&cfg);
        cfg.has_win = 0;
        cfg.max_rate_bps = 40000000000ull;
        memset(&st, 0, sizeof(st));
        int32_t la[] = {0, 1, 2, 3, 4, 4, 6, 7}, lb[] = {4, 4, 5, 5, 6, 7, 5, 5};
        for (int l = 0; l < 8; l++) {
            st.a[l] = la[l];
            st.b[l] = lb[l];
            st.rate[l] = l < 4 ? 40000000000ull : 10000000000ull;
            st.delay[l] = 1000;
        }
        for (int v = 4; v < 8; v++) st.is_switch[v] = 1;
        st.t.n_nodes = 8;
        st.t.is_switch = st.is_switch;
        st.t.n_links = 8;
        st.t.link_a = st.a;
        st.t.link_b = st.b;
        st.t.rate_bps = st.rate;
        st.t.delay_ns = st.delay;
        m4_pktsim *sim = NULL;
        CHECK(m4_pktsim_create(&sim, &cfg, &st.t) == M4_OK, "create: %s", m4_pktsim_error(sim));
        m4_pktsim_set_trace(sim, 1);
        int32_t src[] = {0, 3}, dst[] = {2, 1};
        uint64_t size[] = {1000000, 1000};
        flows(&fs, 2, src, dst, size);
        fs.start[1] += 50000;
        int64_t ptr[3];
        int32_t route[8];
        CHECK(m4_pktsim_routes(sim, &fs.f, ptr, route, 8) == M4_OK && ptr[1] == 4 && ptr[2] == 8,
              "ecmp: route offsets %lld %lld", (long long)ptr[1], (long long)ptr[2]);
        int32_t mid = route[1], other = mid == 8 ? 10 : 8;
        CHECK(route[0] == 0 && (mid == 8 || mid == 10) && route[2] == (mid == 8 ? 12 : 14) && route[3] == 5,
              "ecmp: flow 0 route %d %d %d %d", route[0], route[1], route[2], route[3]);
        int64_t fct[2];
        m4_pktsim_result res = {fct, NULL, NULL, NULL};
        CHECK(m4_pktsim_run(sim, &fs.f, &res) == M4_OK, "run: %s", m4_pktsim_error(sim));
        m4_pktsim_trace tr;
        m4_pktsim_get_trace(sim, &tr);
        CHECK(tr.n_events == 4 && tr.flow[1] == 1 && tr.kind[1] == 0, "ecmp: %zu events", tr.n_events);
        if (tr.n_events == 4) {
            float q = trace_queue(&tr, 1, mid), qo = trace_queue(&tr, 1, other);
            CHECK(q > 1000.0f && qo == 0, "ecmp: %g bytes queued on the route's hop %d, %g on the other (%d)",
                  (double)q, mid, (double)qo, other);
        }
        m4_pktsim_destroy(sim);
    }
}

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

    trace_cases();
    CHECK_DONE("pktsim_test");
}
