/*
 * m4.h: the C API of libm4, m4's native core.
 *
 * m4 estimates flow completion times (FCT) in datacenter networks. This header is
 * the whole public surface of the native code: the path-level flow simulator
 * (flowsim), and, as they land, the packet simulator and the model kernels.
 *
 * Conventions
 *   - Every entry point returns an m4_status (0 = M4_OK) unless it cannot fail.
 *   - Objects are opaque and come in create/destroy pairs; the caller owns them.
 *     There is no global state: independent objects may be used from different
 *     threads at once.
 *   - Times are in nanoseconds, sizes in bytes, rates in Gbit/s (= bit/ns),
 *     all as double unless stated.
 *   - Only m4_* symbols are exported from the shared library.
 */
#ifndef M4_H
#define M4_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(M4_BUILDING_SHARED) && defined(__GNUC__)
#define M4_API __attribute__((visibility("default")))
#else
#define M4_API
#endif

/* Version of this API: bumped (minor) when entry points are added, (major)
 * when an existing one changes. */
#define M4_VERSION_MAJOR 0
#define M4_VERSION_MINOR 1
#define M4_VERSION_PATCH 0
#define M4_VERSION_STRING "0.1.0"

/* m4_version returns M4_VERSION_STRING as compiled into the library. */
M4_API const char *m4_version(void);

typedef enum {
    M4_OK = 0,
    M4_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, a bad size or config value */
    M4_ERR_INVALID_INPUT = 2,    /* a flow's values are out of range; see the object's error text */
    M4_ERR_NO_MEMORY = 3,
    M4_ERR_IO = 4,               /* a file could not be read or written */
    M4_ERR_FORMAT = 5,           /* a file is malformed, truncated or of an unknown version */
    M4_ERR_BUDGET = 6,           /* a run exceeded its configured event or time budget */
    M4_ERR_UNSUPPORTED = 7       /* a feature this build does not have */
} m4_status;

/* m4_strerror returns a static description of a status code. */
M4_API const char *m4_strerror(int status);

/* ------------------------------------------------------------------------ */
/* flowsim: max-min fair flow-level simulation of a parking-lot path.        */
/*                                                                          */
/* H hosts sit in a line joined by H-1 full-duplex links; link l joins host  */
/* l and l+1. The two end links run at edge_gbps, the inner ones at          */
/* core_gbps, and no flow exceeds flow_cap_gbps (the NIC rate). A flow from  */
/* s to d crosses links min(s,d)..max(s,d)-1 in its direction. Each flow     */
/* carries size + ceil(size/payload)*header bytes. Rates are re-solved by    */
/* progressive filling at every arrival and every completion; FCT is         */
/* queueing + transmission (no propagation delay).                           */
/* ------------------------------------------------------------------------ */

typedef struct {
    int n_hosts;          /* H >= 2 */
    double edge_gbps;     /* rate of links 0 and H-2 (10 in m3) */
    double core_gbps;     /* rate of the inner links (40 in m3) */
    double flow_cap_gbps; /* per-flow rate cap (10 in m3) */
    double payload_bytes; /* bytes of payload per packet (1000) */
    double header_bytes;  /* header bytes per packet (48) */
} m4_path_config;

/* m4_path_config_default fills cfg with m3's parking-lot constants for H hosts. */
M4_API void m4_path_config_default(m4_path_config *cfg, int n_hosts);

typedef struct m4_flowsim m4_flowsim;

/* Counters of the last run, for benchmarks. */
typedef struct {
    uint64_t events;        /* arrivals + completions */
    uint64_t rate_solves;   /* progressive-filling solves */
    uint64_t max_active;    /* most flows active at once */
} m4_flowsim_stats;

M4_API m4_status m4_flowsim_create(m4_flowsim **out, const m4_path_config *cfg);
M4_API void m4_flowsim_destroy(m4_flowsim *sim);

/* m4_flowsim_run simulates n flows. arrival_ns must be ascending; sizes are
 * payload bytes > 0; src/dst are host indices in [0, H) with src != dst.
 * On success fct_ns[i] is flow i's completion time minus its arrival. On
 * M4_ERR_INVALID_INPUT, m4_flowsim_error tells which field of which flow. The
 * object's buffers grow as needed and are reused across runs. */
M4_API m4_status m4_flowsim_run(m4_flowsim *sim, size_t n, const double *arrival_ns,
                                const double *size_bytes, const int32_t *src,
                                const int32_t *dst, double *fct_ns);

/* m4_flowsim_error returns the text of the last input error ("" if none) and,
 * if field/index are non-NULL, the offending field ("arrival_ns",
 * "size_bytes", "src", "dst") and flow index. */
M4_API const char *m4_flowsim_error(const m4_flowsim *sim, const char **field, size_t *index);

M4_API void m4_flowsim_get_stats(const m4_flowsim *sim, m4_flowsim_stats *stats);

/* ------------------------------------------------------------------------ */
/* pktsim: packet-level simulation of an RDMA datacenter network.            */
/*                                                                          */
/* A discrete-event re-implementation of the HPCC ns-3 fork (branch m3,      */
/* scratch/third.cc) that produced m4's reference ground truth: hosts with   */
/* RDMA NICs (DCQCN, HPCC, TIMELY or DCTCP; per-packet ACKs; optional       */
/* windows), switches with a shared output-queued buffer, ECN marking by    */
/* KMIN/KMAX/PMAX per link rate, PFC pause/resume, ACK priority, ECMP by     */
/* flow hash. Events run in the fork's order (time, then scheduling order)   */
/* with its integer time and rate arithmetic, so a scenario gives the same   */
/* FCTs as the fork. Times are integer ns and rates integer bit/s here,      */
/* as in the fork. See docs/pktsim.md for the exact semantics.               */
/* ------------------------------------------------------------------------ */

#define M4_PKTSIM_MAX_RATES 16 /* entries of the per-link-rate ECN maps */

/* Congestion control, as the config's CC_MODE. */
enum { M4_CC_DCQCN = 1, M4_CC_HPCC = 3, M4_CC_TIMELY = 7, M4_CC_DCTCP = 8 };

/* The configuration of a run: the fork's config keys as plain fields
 * (comments give the key). m4_pktsim_config_default fills the fork's
 * defaults, which apply to keys a config file leaves out. */
typedef struct {
    int cc_mode;                   /* CC_MODE: 1, 3, 7 or 8 */
    uint32_t payload_bytes;        /* PACKET_PAYLOAD_SIZE (MTU payload) */
    int enable_pfc;                /* ENABLE_PFC: devices obey PAUSE frames */
    int ack_high_prio;             /* ACK_HIGH_PRIO: ACKs in switch queue 0 */
    int has_win, var_win;          /* HAS_WIN, VAR_WIN */
    uint32_t fixed_win_bytes;      /* FIXED_WIN */
    uint64_t base_rtt_ns;          /* BASE_RTT (HPCC's T) */
    int rate_bound;                /* RATE_BOUND: pace packets at the current rate */
    uint32_t l2_chunk_size;        /* L2_CHUNK_SIZE */
    uint32_t l2_ack_interval;      /* L2_ACK_INTERVAL */
    int l2_back_to_zero;           /* L2_BACK_TO_ZERO */
    double nack_interval_us;       /* the fork's fixed 500 us */
    /* DCQCN (Mellanox version) */
    double alpha_resume_interval_us; /* ALPHA_RESUME_INTERVAL */
    double rate_decrease_interval_us; /* RATE_DECREASE_INTERVAL */
    double rp_timer_us;            /* RP_TIMER */
    double ewma_gain;              /* EWMA_GAIN (also DCTCP's g) */
    uint32_t fast_recovery_times;  /* FAST_RECOVERY_TIMES */
    int clamp_target_rate;         /* CLAMP_TARGET_RATE */
    double rate_on_first_cnp;      /* the fork's fixed 1.0 */
    uint64_t rate_ai_bps;          /* RATE_AI */
    uint64_t rate_hai_bps;         /* RATE_HAI */
    uint64_t min_rate_bps;         /* MIN_RATE */
    uint64_t max_rate_bps;         /* MAX_RATE */
    /* DCTCP */
    uint64_t dctcp_rate_ai_bps;    /* DCTCP_RATE_AI */
    /* HPCC */
    double u_target;               /* U_TARGET */
    uint32_t mi_thresh;            /* MI_THRESH */
    int fast_react;                /* FAST_REACT */
    int multi_rate;                /* MULTI_RATE */
    int sample_feedback;           /* SAMPLE_FEEDBACK */
    uint32_t int_multi;            /* INT_MULTI */
    /* TIMELY */
    uint64_t timely_t_low_ns;      /* TIMELY_T_LOW */
    uint64_t timely_t_high_ns;     /* TIMELY_T_HIGH */
    double timely_beta;            /* TIMELY_BETA */
    double timely_alpha;           /* the fork's fixed 0.875 */
    uint64_t timely_min_rtt_ns;    /* the fork's fixed 20000 */
    /* switches */
    uint32_t buffer_size_kb;       /* BUFFER_SIZE, in KiB (x1024 bytes) */
    uint32_t pause_time_us;        /* PAUSE_TIME */
    int n_ecn;                     /* entries of the maps below */
    uint64_t ecn_rate_bps[M4_PKTSIM_MAX_RATES]; /* link rate of each entry */
    uint32_t ecn_kmin_kb[M4_PKTSIM_MAX_RATES];  /* KMIN_MAP, in KB (x1000 bytes) */
    uint32_t ecn_kmax_kb[M4_PKTSIM_MAX_RATES];  /* KMAX_MAP */
    double ecn_pmax[M4_PKTSIM_MAX_RATES];       /* PMAX_MAP */
    /* run control */
    uint64_t stop_time_ns;         /* SIMULATOR_STOP_TIME; flows unfinished by then fail the run */
    uint64_t ideal_rate_cap_bps;   /* cap on the ideal FCT's bottleneck rate (the fork: 10 Gbps, whatever MAX_RATE says) */
    uint64_t rng_stream_base;      /* ns-3 RNG stream index of the run's first random draw (ECN, PFC) */
    uint64_t max_events;           /* event budget; 0 = none */
    double max_wall_seconds;       /* wall-clock budget; 0 = none */
    uint64_t qlen_interval_ns;     /* queue-length sampling period (0 = no trace) */
    uint64_t qlen_start_ns, qlen_end_ns; /* sampling window */
} m4_pktsim_config;

/* m4_pktsim_config_default fills cfg with the fork's defaults (third.cc). */
M4_API void m4_pktsim_config_default(m4_pktsim_config *cfg);

/* A topology in the ns-3 topology file's terms: nodes 0..n_nodes-1, switches
 * flagged in is_switch, and full-duplex links (a, b, rate, delay, error rate).
 * Devices are numbered per node from 1 in link order, as in ns-3. */
typedef struct {
    int32_t n_nodes;
    const uint8_t *is_switch;     /* n_nodes */
    int32_t n_links;
    const int32_t *link_a, *link_b; /* n_links */
    const uint64_t *rate_bps;     /* n_links */
    const uint64_t *delay_ns;     /* n_links */
    const double *error_rate;     /* n_links, per-packet loss probability; may be NULL */
} m4_pktsim_topology;

/* Flows, in the order of the ns-3 flow file (by start time, ascending). */
typedef struct {
    size_t n;
    const uint32_t *id;           /* flow id (printed in fct.txt) */
    const int32_t *src, *dst;     /* host node ids */
    const uint16_t *pg;           /* priority group (3 in the fork's files) */
    const uint16_t *dport;        /* destination port (100) */
    const uint64_t *size_bytes;   /* payload bytes > 0 */
    const uint64_t *start_ns;     /* start time, ns (see docs: the fork's %.9f-seconds rounding) */
} m4_pktsim_flows;

/* Per-flow results of a run; any pointer may be NULL except fct_ns. */
typedef struct {
    int64_t *fct_ns;      /* n: receiver has every byte, minus start */
    int64_t *ideal_ns;    /* n: the fork's ideal ("standalone") FCT */
    uint16_t *sport;      /* n: source port the fork assigns (fct.txt) */
    uint32_t *order;      /* n: flow indices in the order they completed */
} m4_pktsim_result;

/* Counters of the last run, for benchmarks. */
typedef struct {
    uint64_t events;       /* events executed */
    uint64_t packets;      /* packets created (data, ACK, PFC) */
    uint64_t ecn_marks;    /* packets marked CE */
    uint64_t pfc_pauses;   /* PAUSE frames sent */
    uint64_t drops;        /* packets dropped (buffer admission, link errors) */
    uint64_t end_ns;       /* simulated time of the last event */
    uint64_t max_pending;  /* most events pending at once */
} m4_pktsim_stats;

/* One PFC frame received by a device (the fork's pfc.txt line). */
typedef struct {
    uint64_t time_ns;
    int32_t node;
    int32_t node_type;   /* 0 host, 1 switch */
    int32_t ifindex;
    int32_t pause;       /* 1 pause, 0 resume */
} m4_pktsim_pfc_event;

typedef struct m4_pktsim m4_pktsim;

/* m4_pktsim_create checks cfg and topo (copying both) and computes routes.
 * On M4_ERR_INVALID_ARGUMENT/INPUT/UNSUPPORTED, *out is still set (when
 * memory allows) so m4_pktsim_error can say what is wrong; destroy it. */
M4_API m4_status m4_pktsim_create(m4_pktsim **out, const m4_pktsim_config *cfg,
                                  const m4_pktsim_topology *topo);
M4_API void m4_pktsim_destroy(m4_pktsim *sim);

/* m4_pktsim_run simulates the flows from an empty network and fills res.
 * Returns M4_ERR_INVALID_INPUT for a bad flow (see m4_pktsim_error), and
 * M4_ERR_BUDGET when the event or wall-clock budget runs out or flows are
 * unfinished at stop_time_ns. Runs may be repeated on one object. */
M4_API m4_status m4_pktsim_run(m4_pktsim *sim, const m4_pktsim_flows *flows,
                               const m4_pktsim_result *res);

/* m4_pktsim_error returns the text of the last error ("" if none). */
M4_API const char *m4_pktsim_error(const m4_pktsim *sim);

M4_API void m4_pktsim_get_stats(const m4_pktsim *sim, m4_pktsim_stats *stats);

/* m4_pktsim_pfc_trace returns the PFC frames received in the last run
 * (valid until the next run or destroy). */
M4_API const m4_pktsim_pfc_event *m4_pktsim_pfc_trace(const m4_pktsim *sim, size_t *n);

/* m4_pktsim_qlen_hist returns the queue-length histogram of the last run
 * when cfg.qlen_interval_ns > 0: for each switch port p (in node, ifindex
 * order; *n_ports of them, their node ids and ifindices in node[]/ifindex[]),
 * counts[p * n_kb + k] samples with k KB (1000 B) queued. Valid until the
 * next run or destroy. */
M4_API m4_status m4_pktsim_qlen_hist(const m4_pktsim *sim, size_t *n_ports, size_t *n_kb,
                                     const int32_t **node, const int32_t **ifindex,
                                     const uint64_t **counts);

#ifdef __cplusplus
}
#endif
#endif /* M4_H */
