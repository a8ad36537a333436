/*
 * flowsim.c: max-min fair flow-level simulation of a parking-lot path.
 *
 * Semantics follow m3's clibs (get_fct_mmf.c, topo.c, one-layer parking lot):
 * rates are re-solved by progressive filling after every arrival and every
 * completion, links whose fair share lies within RATE_TIE_GBPS of the
 * bottleneck's saturate together, and a completion wins a tie with an arrival.
 *
 * Speed comes from grouping: every active flow between the same (src, dst)
 * crosses the same links, so max-min gives all of them the same rate. The
 * solver works on at most H*(H-1) groups instead of on flows, and each group
 * keeps its flows in a min-heap keyed by "bits the group must have served for
 * this flow to finish". One event then costs O(groups * links + log flows),
 * independent of how many flows are active.
 */
#include "m4.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Links whose fair shares differ by less than this (Gbit/s) are treated as
 * the same bottleneck, as m3's solver does. */
#define RATE_TIE_GBPS 1e-4

typedef struct {
    double target; /* group service (bits) at which this flow completes */
    uint32_t flow;
} heap_entry;

typedef struct {
    int lo, hi, dir;     /* crosses links lo..hi-1 in direction dir (0: left to right) */
    uint32_t n_active;   /* active flows */
    double rate;         /* per-flow rate, Gbit/s */
    double served;       /* bits served to each of its flows since it last went idle */
    heap_entry *heap;    /* min-heap on target */
    size_t heap_cap;
    int assigned;        /* scratch for the solver */
} group;

struct m4_flowsim {
    m4_path_config cfg;
    int n_links;         /* H-1 */
    int n_dlinks;        /* 2*(H-1): link l direction d is d*n_links + l */
    int n_groups;        /* H*(H-1) */
    group *groups;
    double *link_bw;     /* per directed link */
    double *link_cap;    /* scratch: capacity left */
    double *link_lim;    /* scratch: fair share */
    uint32_t *link_load; /* scratch: unassigned flows */
    uint32_t *link_active; /* active flows crossing each directed link */
    uint32_t *link_room;   /* flows each directed link carries at the cap without contention */
    int n_over;            /* directed links with more active flows than link_room */
    uint64_t dir_active[2]; /* active flows left to right, right to left */
    int *dlink_groups;   /* CSR: groups crossing each directed link */
    int *dlink_start;    /* n_dlinks + 1 offsets into dlink_groups */
    int *active;         /* indices of groups with n_active > 0 */
    int n_active_groups;
    m4_flowsim_stats stats;
    char err[256];
    const char *err_field;
    size_t err_index;
};

void m4_path_config_default(m4_path_config *cfg, int n_hosts) {
    if (!cfg) return;
    cfg->n_hosts = n_hosts;
    cfg->edge_gbps = 10.0;
    cfg->core_gbps = 40.0;
    cfg->flow_cap_gbps = 10.0;
    cfg->payload_bytes = 1000.0;
    cfg->header_bytes = 48.0;
}

/* room returns how many flows a link of bw carries at the per-flow cap with
 * no contention: the most k with k * cap <= bw. While no link holds more
 * active flows than that, max-min gives every flow the cap (progressive
 * filling never finds a share below it), so the solver can be skipped. */
static uint32_t room(double bw, double cap) {
    double k = floor(bw / cap);
    if (!(k < (double)UINT32_MAX)) return UINT32_MAX - 1; /* room + 1 must not wrap */
    while (k > 0 && k * cap > bw) k--;
    return (uint32_t)k;
}

static int group_index(int n_hosts, int s, int d) {
    /* pairs (s, d), s != d, in row-major order without the diagonal */
    return s * (n_hosts - 1) + (d < s ? d : d - 1);
}

m4_status m4_flowsim_create(m4_flowsim **out, const m4_path_config *cfg) {
    if (!out || !cfg) return M4_ERR_INVALID_ARGUMENT;
    *out = NULL;
    int h = cfg->n_hosts;
    if (h < 2 || h > 4096) return M4_ERR_INVALID_ARGUMENT;
    if (!(cfg->edge_gbps > 0) || !(cfg->core_gbps > 0) || !(cfg->flow_cap_gbps > 0) ||
        !(cfg->payload_bytes > 0) || !(cfg->header_bytes >= 0) || !isfinite(cfg->edge_gbps) ||
        !isfinite(cfg->core_gbps) || !isfinite(cfg->payload_bytes) || !isfinite(cfg->header_bytes))
        return M4_ERR_INVALID_ARGUMENT;

    m4_flowsim *s = calloc(1, sizeof(*s));
    if (!s) return M4_ERR_NO_MEMORY;
    s->cfg = *cfg;
    s->n_links = h - 1;
    s->n_dlinks = 2 * s->n_links;
    s->n_groups = h * (h - 1);
    s->groups = calloc((size_t)s->n_groups, sizeof(group));
    s->link_bw = calloc((size_t)s->n_dlinks, sizeof(double));
    s->link_cap = calloc((size_t)s->n_dlinks, sizeof(double));
    s->link_lim = calloc((size_t)s->n_dlinks, sizeof(double));
    s->link_load = calloc((size_t)s->n_dlinks, sizeof(uint32_t));
    s->link_active = calloc((size_t)s->n_dlinks, sizeof(uint32_t));
    s->link_room = calloc((size_t)s->n_dlinks, sizeof(uint32_t));
    s->dlink_start = calloc((size_t)s->n_dlinks + 1, sizeof(int));
    s->active = calloc((size_t)s->n_groups, sizeof(int));
    if (!s->groups || !s->link_bw || !s->link_cap || !s->link_lim || !s->link_load || !s->link_active || !s->link_room ||
        !s->dlink_start || !s->active) {
        m4_flowsim_destroy(s);
        return M4_ERR_NO_MEMORY;
    }
    for (int d = 0; d < 2; d++)
        for (int l = 0; l < s->n_links; l++) {
            int edge = (l == 0 || l == s->n_links - 1);
            int dl = d * s->n_links + l;
            s->link_bw[dl] = edge ? cfg->edge_gbps : cfg->core_gbps;
            s->link_room[dl] = room(s->link_bw[dl], cfg->flow_cap_gbps);
        }

    /* Groups and the CSR map from directed link to the groups crossing it. */
    size_t total = 0;
    for (int a = 0; a < h; a++)
        for (int b = 0; b < h; b++) {
            if (a == b) continue;
            group *g = &s->groups[group_index(h, a, b)];
            g->lo = a < b ? a : b;
            g->hi = a < b ? b : a;
            g->dir = a < b ? 0 : 1;
            for (int l = g->lo; l < g->hi; l++) s->dlink_start[g->dir * s->n_links + l + 1]++;
            total += (size_t)(g->hi - g->lo);
        }
    for (int dl = 0; dl < s->n_dlinks; dl++) s->dlink_start[dl + 1] += s->dlink_start[dl];
    s->dlink_groups = malloc(total * sizeof(int));
    int *fill = calloc((size_t)s->n_dlinks, sizeof(int));
    if (!s->dlink_groups || !fill) {
        free(fill);
        m4_flowsim_destroy(s);
        return M4_ERR_NO_MEMORY;
    }
    for (int gi = 0; gi < s->n_groups; gi++) {
        group *g = &s->groups[gi];
        for (int l = g->lo; l < g->hi; l++) {
            int dl = g->dir * s->n_links + l;
            s->dlink_groups[s->dlink_start[dl] + fill[dl]++] = gi;
        }
    }
    free(fill);
    *out = s;
    return M4_OK;
}

void m4_flowsim_destroy(m4_flowsim *s) {
    if (!s) return;
    if (s->groups)
        for (int gi = 0; gi < s->n_groups; gi++) free(s->groups[gi].heap);
    free(s->groups);
    free(s->link_bw);
    free(s->link_cap);
    free(s->link_lim);
    free(s->link_load);
    free(s->link_active);
    free(s->link_room);
    free(s->dlink_groups);
    free(s->dlink_start);
    free(s->active);
    free(s);
}

const char *m4_flowsim_error(const m4_flowsim *s, const char **field, size_t *index) {
    if (!s) return "";
    if (field) *field = s->err_field;
    if (index) *index = s->err_index;
    return s->err;
}

void m4_flowsim_get_stats(const m4_flowsim *s, m4_flowsim_stats *stats) {
    if (s && stats) *stats = s->stats;
}

static m4_status input_error(m4_flowsim *s, const char *field, size_t i, const char *what,
                             double v) {
    s->err_field = field;
    s->err_index = i;
    snprintf(s->err, sizeof(s->err), "%s[%zu] = %g: %s", field, i, v, what);
    return M4_ERR_INVALID_INPUT;
}

static m4_status validate(m4_flowsim *s, size_t n, const double *at, const double *size,
                          const int32_t *src, const int32_t *dst) {
    int h = s->cfg.n_hosts;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(at[i]) || at[i] < 0)
            return input_error(s, "arrival_ns", i, "must be a finite time >= 0", at[i]);
        if (i > 0 && at[i] < at[i - 1])
            return input_error(s, "arrival_ns", i, "arrival times must be ascending", at[i]);
        if (!isfinite(size[i]) || size[i] <= 0)
            return input_error(s, "size_bytes", i, "must be a finite size > 0", size[i]);
        if (src[i] < 0 || src[i] >= h)
            return input_error(s, "src", i, "host outside the path", src[i]);
        if (dst[i] < 0 || dst[i] >= h)
            return input_error(s, "dst", i, "host outside the path", dst[i]);
        if (src[i] == dst[i])
            return input_error(s, "dst", i, "equals src", dst[i]);
    }
    return M4_OK;
}

/* ---- per-group min-heap ------------------------------------------------- */

static int heap_push(group *g, double target, uint32_t flow) {
    if (g->n_active == g->heap_cap) {
        size_t cap = g->heap_cap ? 2 * g->heap_cap : 16;
        heap_entry *h = realloc(g->heap, cap * sizeof(*h));
        if (!h) return 0;
        g->heap = h;
        g->heap_cap = cap;
    }
    size_t i = g->n_active++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (g->heap[p].target <= target) break;
        g->heap[i] = g->heap[p];
        i = p;
    }
    g->heap[i].target = target;
    g->heap[i].flow = flow;
    return 1;
}

static uint32_t heap_pop(group *g) {
    uint32_t top = g->heap[0].flow;
    heap_entry last = g->heap[--g->n_active];
    size_t n = g->n_active, i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && g->heap[c + 1].target < g->heap[c].target) c++;
        if (last.target <= g->heap[c].target) break;
        g->heap[i] = g->heap[c];
        i = c;
    }
    if (n > 0) g->heap[i] = last;
    return top;
}

/* ---- progressive filling over groups ------------------------------------ */

static void solve_rates(m4_flowsim *s) {
    /* directed links in use: left to right [0, n_links), back [n_links, 2 n_links) */
    const int D0 = s->dir_active[0] ? 0 : s->n_links;
    const int L = s->dir_active[1] ? s->n_dlinks : s->n_links;
    const double cap_flow = s->cfg.flow_cap_gbps;
    for (int dl = D0; dl < L; dl++) {
        s->link_load[dl] = s->link_active[dl];
        s->link_cap[dl] = s->link_bw[dl];
    }
    for (int k = 0; k < s->n_active_groups; k++) s->groups[s->active[k]].assigned = 0;

    /* A link with no more active flows than its room shares out at least
     * the cap to whatever is left on it (its capacity is at least that
     * many caps), so only the links over their room can set a level below
     * the cap. Each round takes the least share of those; links under
     * their room join the round only when that level lies within the tie
     * tolerance of the cap, where m3's tie test could saturate them too. */
    int unassigned = s->n_active_groups;
    while (unassigned > 0) {
        double min_lim = INFINITY;
        for (int dl = D0; dl < L; dl++)
            if (s->link_load[dl] && s->link_active[dl] > s->link_room[dl]) {
                s->link_lim[dl] = s->link_cap[dl] / (double)s->link_load[dl];
                if (s->link_lim[dl] < min_lim) min_lim = s->link_lim[dl];
            }
        const int all = min_lim > cap_flow - RATE_TIE_GBPS;
        if (all)
            for (int dl = D0; dl < L; dl++)
                if (s->link_load[dl] && s->link_active[dl] <= s->link_room[dl]) {
                    s->link_lim[dl] = s->link_cap[dl] / (double)s->link_load[dl];
                    if (s->link_lim[dl] < min_lim) min_lim = s->link_lim[dl];
                }
        if (min_lim >= cap_flow) {
            /* No link left can share out less than the cap (filling only
             * raises the level): every group left runs at the cap, which
             * the rounds to come would give them one link at a time. */
            for (int k = 0; k < s->n_active_groups; k++) {
                group *g = &s->groups[s->active[k]];
                if (!g->assigned) g->rate = cap_flow;
            }
            break;
        }
        double rate = min_lim;
        /* Saturate every link at the bottleneck share. Its groups are fixed
         * at once; their flows leave the load (and their rate the capacity)
         * of every link they cross, so later links see what is left. The
         * tie test uses the shares computed above, as m3's solver does. */
        for (int dl = D0; dl < L; dl++) {
            if (!s->link_load[dl] || (!all && s->link_active[dl] <= s->link_room[dl]) ||
                fabs(s->link_lim[dl] - min_lim) >= RATE_TIE_GBPS)
                continue;
            for (int k = s->dlink_start[dl]; k < s->dlink_start[dl + 1]; k++) {
                group *g = &s->groups[s->dlink_groups[k]];
                if (!g->n_active || g->assigned) continue;
                g->rate = rate;
                g->assigned = 1;
                unassigned--;
                double used = (double)g->n_active * rate;
                for (int l = g->lo; l < g->hi; l++) {
                    int gl = g->dir * s->n_links + l;
                    s->link_cap[gl] -= used;
                    s->link_load[gl] -= g->n_active;
                }
            }
        }
    }
    s->stats.rate_solves++;
}

static void advance(m4_flowsim *s, double dt) {
    for (int k = 0; k < s->n_active_groups; k++) {
        group *g = &s->groups[s->active[k]];
        g->served += dt * g->rate;
    }
}

m4_status m4_flowsim_run(m4_flowsim *s, size_t n, const double *at, const double *size,
                         const int32_t *src, const int32_t *dst, double *fct) {
    if (!s) return M4_ERR_INVALID_ARGUMENT;
    s->err[0] = 0;
    s->err_field = "";
    s->err_index = 0;
    memset(&s->stats, 0, sizeof(s->stats));
    if (n == 0) {
        snprintf(s->err, sizeof s->err, "no flows: an empty scenario has nothing to simulate");
        return M4_ERR_INVALID_ARGUMENT;
    }
    if (!at || !size || !src || !dst || !fct) return M4_ERR_INVALID_ARGUMENT;
    if (n > UINT32_MAX) return M4_ERR_INVALID_ARGUMENT;
    m4_status st = validate(s, n, at, size, src, dst);
    if (st != M4_OK) return st;

    const int h = s->cfg.n_hosts;
    const double payload = s->cfg.payload_bytes, header = s->cfg.header_bytes;
    const double cap_flow = s->cfg.flow_cap_gbps;
    for (int gi = 0; gi < s->n_groups; gi++) {
        s->groups[gi].n_active = 0;
        s->groups[gi].served = 0;
        s->groups[gi].rate = 0;
    }
    for (int dl = 0; dl < s->n_dlinks; dl++) s->link_active[dl] = 0;
    s->n_over = 0;
    s->dir_active[0] = s->dir_active[1] = 0;
    s->n_active_groups = 0;
    uint64_t n_active = 0;

    double t = 0;
    size_t j = 0;
    int at_cap = 1; /* every active group's rate is the cap (none solved since) */
    for (;;) {
        double dt_arrival = j < n ? at[j] - t : INFINITY;
        double dt_done = INFINITY;
        int done_k = -1;
        if (n_active && s->n_over) {
            solve_rates(s);
            at_cap = 0;
            for (int k = 0; k < s->n_active_groups; k++) {
                const group *g = &s->groups[s->active[k]];
                double dt = (g->heap[0].target - g->served) / g->rate;
                if (dt < dt_done) {
                    dt_done = dt;
                    done_k = k;
                }
            }
            if (dt_done < 0) dt_done = 0; /* rounding in served */
        } else if (n_active) {
            /* Every group at the cap: the first to finish has the least
             * service left. Divide only where that can win, keeping the
             * choice (the first least quotient) of the loop above. */
            double best_x = INFINITY;
            for (int k = 0; k < s->n_active_groups; k++) {
                group *g = &s->groups[s->active[k]];
                if (!at_cap) g->rate = cap_flow;
                double x = g->heap[0].target - g->served;
                if (x > best_x) continue;
                best_x = x;
                double dt = x / cap_flow;
                if (dt < dt_done) {
                    dt_done = dt;
                    done_k = k;
                }
            }
            at_cap = 1;
            if (dt_done < 0) dt_done = 0; /* rounding in served */
        }
        if (n_active && (j >= n || dt_done <= dt_arrival)) {
            advance(s, dt_done);
            t += dt_done;
            group *g = &s->groups[s->active[done_k]];
            uint32_t f = heap_pop(g);
            fct[f] = t - fct[f]; /* fct[f] held the arrival time */
            n_active--;
            s->dir_active[g->dir]--;
            for (int l = g->lo; l < g->hi; l++) {
                int dl = g->dir * s->n_links + l;
                if (s->link_active[dl]-- == s->link_room[dl] + 1) s->n_over--;
            }
            if (g->n_active == 0) {
                g->served = 0;
                s->active[done_k] = s->active[--s->n_active_groups];
            }
        } else if (j < n) {
            if (n_active) advance(s, dt_arrival);
            t += dt_arrival;
            int gi = group_index(h, src[j], dst[j]);
            group *g = &s->groups[gi];
            double bits = (size[j] + ceil(size[j] / payload) * header) * 8.0;
            if (g->n_active == 0) {
                s->active[s->n_active_groups++] = gi;
                g->rate = cap_flow; /* until a solve says otherwise */
            }
            if (!heap_push(g, g->served + bits, (uint32_t)j)) return M4_ERR_NO_MEMORY;
            fct[j] = t;
            for (int l = g->lo; l < g->hi; l++) {
                int dl = g->dir * s->n_links + l;
                if (++s->link_active[dl] == s->link_room[dl] + 1) s->n_over++;
            }
            n_active++;
            s->dir_active[g->dir]++;
            if (n_active > s->stats.max_active) s->stats.max_active = n_active;
            j++;
        } else {
            break;
        }
        s->stats.events++;
    }
    return M4_OK;
}
