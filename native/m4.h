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
#define M4_VERSION_MINOR 6
#define M4_VERSION_PATCH 1
#define M4_VERSION_STRING "0.6.1"

/* m4_version returns M4_VERSION_STRING as compiled into the library. */
M4_API const char *m4_version(void);

/* m4_sizeof returns sizeof of the public struct named type ("m4_cc_config",
 * "m4_checkpoint_info", ...) as compiled into the library, 0 for another
 * name: bindings that lay out m4.h's structs themselves (ctypes, cffi,
 * purego) check their layout against it. */
M4_API size_t m4_sizeof(const char *type);

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

/* m4_flowsim_run simulates n >= 1 flows (n = 0, an empty scenario, is
 * M4_ERR_INVALID_ARGUMENT). arrival_ns must be ascending; sizes are
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
    /* progress: when set, called about every progress_every_events events
     * (0: 2^20) with the flows finished so far, the flows of the run and the
     * simulated time, on the thread of m4_pktsim_run */
    void (*progress)(void *ctx, size_t done, size_t total, int64_t now_ns);
    void *progress_ctx;
    uint64_t progress_every_events;
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

/* m4_pktsim_ideal writes each flow's ideal FCT (the fork's standalone FCT,
 * as m4_pktsim_run reports it in res.ideal_ns) without simulating: one-way
 * propagation delay + the first packet (payload + 48 B) at every hop's rate +
 * the rest of the bytes and their headers at min(slowest link,
 * ideal_rate_cap_bps), in integer ns. Flows are checked as by m4_pktsim_run. */
M4_API m4_status m4_pktsim_ideal(m4_pktsim *sim, const m4_pktsim_flows *flows, int64_t *ideal_ns);

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

/* The dynamics trace: what a flow-level model of the network's dynamics
 * learns from. Off by default, and then it costs nothing; turned on, every
 * later m4_pktsim_run records, at each flow arrival (the flow's start time,
 * when its queue pair starts) and each departure (when its receiver has every
 * byte: start + FCT), in simulation order, a snapshot of
 *   - the flows active right after the event (arrived, not yet departed; the
 *     departing flow is gone, the arriving one is in) in arrival order, which
 *     is flow order, with their remaining bytes: size minus the bytes
 *     acknowledged to the sender (the arriving flow: its size);
 *   - the directed links whose egress queue is not empty, with the bytes
 *     queued there (all priorities, the packet on the wire not counted), in
 *     link id order. Only switch ports queue: a host NIC makes each packet
 *     when it can send it, so links leaving hosts never appear.
 * Directed link ids: topology link l is 2l from link_a[l] to link_b[l] and
 * 2l+1 back (m4_pktsim_links). Flow indices are positions in the flows given
 * to m4_pktsim_run. The FCTs are the same with the trace on or off. */
typedef struct {
    size_t n_events;
    const int64_t *time_ns;          /* n_events */
    const int8_t *kind;              /* n_events: 0 arrival, 1 departure */
    const int32_t *flow;             /* n_events: the arriving or departing flow */
    const int64_t *active_ptr;       /* n_events + 1: event e's active flows are */
    const int32_t *active_flow;      /*   active_flow[active_ptr[e] .. active_ptr[e+1]) */
    const float *active_remaining;   /*   and their remaining bytes */
    const int64_t *queue_ptr;        /* n_events + 1: event e's queues are */
    const int32_t *queue_link;       /*   queue_link[queue_ptr[e] .. queue_ptr[e+1]) */
    const float *queue_bytes;        /*   and their bytes */
} m4_pktsim_trace;

/* m4_pktsim_set_trace turns the dynamics trace on (on != 0) or off for the
 * runs that follow. */
M4_API m4_status m4_pktsim_set_trace(m4_pktsim *sim, int on);

/* m4_pktsim_get_trace points tr at the last run's dynamics trace (all zero
 * when the trace was off); valid until the next run or destroy. A run that
 * failed leaves the trace up to where it stopped. */
M4_API m4_status m4_pktsim_get_trace(const m4_pktsim *sim, m4_pktsim_trace *tr);

/* m4_pktsim_links fills the directed link table, 2 * topo.n_links entries
 * (ids as in the trace): from and to node, rate (bit/s) and delay (ns). Any
 * array may be NULL. */
M4_API m4_status m4_pktsim_links(const m4_pktsim *sim, int32_t *from, int32_t *to, uint64_t *rate_bps,
                                 uint64_t *delay_ns);

/* m4_pktsim_routes writes the directed links (ids as in the trace) that each
 * flow's data packets cross, source to destination, without simulating:
 * flow i's are route[route_ptr[i] .. route_ptr[i+1]). They are the links
 * m4_pktsim_run uses for these flows: the same source ports (per host pair
 * in flow order) and the same ECMP hash. route_ptr has flows->n + 1 entries
 * and is always filled; route (cap entries) may be NULL to ask for the
 * length, route_ptr[n]. Returns M4_ERR_INVALID_ARGUMENT when cap is too
 * small, M4_ERR_INVALID_INPUT for a bad flow (as m4_pktsim_run checks). */
M4_API m4_status m4_pktsim_routes(m4_pktsim *sim, const m4_pktsim_flows *flows, int64_t *route_ptr,
                                  int32_t *route, size_t cap);

/* ------------------------------------------------------------------------ */
/* model: m3's estimator (a Llama-style transformer over the feature rows of */
/* a path's links, mean-pooled into a context, and an MLP over the           */
/* foreground row and that context), forward, backward and AdamW on the CPU. */
/*                                                                          */
/* Input of one path scenario with H hosts: H feature rows of feat_dim       */
/* floats. Row 0 describes the foreground (host 0 -> H-1) flows, row 1+l the  */
/* flows crossing link l; a row is n_buckets_in x n_pct slowdown percentiles  */
/* followed by feat_dim - n_buckets_in*n_pct configuration values. Buckets   */
/* flagged empty are replaced by a learned n_pct-vector. The transformer     */
/* reads rows 1..H-1 (positions 0..H-2, causal), the mean of its outputs is   */
/* the context, and the MLP maps [row 0, context] to out_dim values; the      */
/* estimate is that output + 1 (slowdowns are >= 1).                          */
/*                                                                          */
/* Parameters live in one float array in a fixed order of named tensors      */
/* (m4_model_tensor), named as in m3's PyTorch state dict. A model object is  */
/* not safe for concurrent use; it may use several threads itself           */
/* (m4_model_set_threads), and its results do not depend on how many.       */
/* ------------------------------------------------------------------------ */

typedef struct {
    int feat_dim;     /* floats per input row (m3: 10*100 + 19 = 1019) */
    int n_buckets_in; /* size buckets per input row (10) */
    int n_pct;        /* percentiles per bucket (100); length of the empty-bucket vector */
    int dim;          /* transformer width (576) */
    int n_layers;     /* transformer blocks (4) */
    int n_heads;      /* attention heads (4); dim/n_heads must be even */
    int hidden_dim;   /* SwiGLU hidden width (1536) */
    int max_seq;      /* most transformer positions, i.e. H-1 (16) */
    int mlp_hidden1;  /* MLP hidden widths (512, 512) */
    int mlp_hidden2;
    int out_dim;      /* outputs (4 size buckets x 100 percentiles = 400) */
    float norm_eps;   /* RMSNorm epsilon (1e-5) */
    float rope_theta; /* RoPE base (10000) */
    float dropout;    /* dropout inside the transformer when training (0.2) */
} m4_model_config;

/* m4_model_config_default fills cfg with m3's model (18.1M parameters). */
M4_API void m4_model_config_default(m4_model_config *cfg);

/* m4_model_config_check is M4_OK for a config m4_model_create accepts, else
 * M4_ERR_INVALID_ARGUMENT with the first field out of range in err (err_len
 * bytes, may be NULL): "dim = 0, want 1..1048576". Counts 1..2^20
 * (n_buckets_in from 0, n_layers 0..1024, max_seq 1..4096), n_buckets_in x
 * n_pct <= feat_dim, dim/n_heads an even integer, norm_eps in (0, 1],
 * rope_theta in (0, 1e9], dropout in [0, 1), weight matrices up to 2^30
 * floats. New in 0.4.0; m4_model_create applies the same ranges since. */
M4_API m4_status m4_model_config_check(const m4_model_config *cfg, char *err, size_t err_len);

typedef struct m4_model m4_model;

/* One named parameter tensor: params[offset .. offset+size), shape (shape[0])
 * or (shape[0], shape[1]) row-major, as PyTorch stores it. decay is 1 for the
 * tensors m3 applies weight decay to (the transformer's 2-D weights). */
typedef struct {
    const char *name;
    size_t offset, size;
    int ndim;
    int shape[2];
    int decay;
} m4_tensor_info;

/* m4_model_create allocates a model for batches of up to max_batch scenarios
 * holding up to max_rows transformer rows in all (sum of H-1; 0 means
 * max_batch * max_seq). training != 0 also allocates gradients, AdamW state and
 * the activations backward needs. A training model's parameters start at
 * m3's initialisation with seed 0 (see m4_model_init), an inference model's at
 * zero (load them with m4_model_set_params). */
M4_API m4_status m4_model_create(m4_model **out, const m4_model_config *cfg, int max_batch,
                                 int max_rows, int training);
M4_API void m4_model_destroy(m4_model *m);
/* m4_model_create_replica makes another inference model of src's weights
 * for batches of up to max_batch scenarios, for a second thread to run
 * forward passes beside src's: it reads src's parameters, packed weights,
 * input normalisation and calibration in place (nothing copied or packed
 * again) and has its own activations, on one thread (m4_model_set_threads
 * may give it more). src must not be a training model or a replica, and must
 * outlive its replicas: destroy them first. While src has replicas, it and
 * they refuse what would change those weights (m4_model_set_params,
 * _init, _set_input_norm, _set_calibration, _set_kernel:
 * M4_ERR_INVALID_ARGUMENT, with a message in m4_model_error). New in
 * 0.5.1. */
M4_API m4_status m4_model_create_replica(m4_model **out, m4_model *src, int max_batch);

M4_API void m4_model_get_config(const m4_model *m, m4_model_config *cfg);
M4_API size_t m4_model_num_params(const m4_model *m);
/* m4_model_config_num_params: the parameters a model of cfg has, without
 * making one (0 for a config m4_model_create refuses), so a reader can
 * bound a file's claims before allocating for them. */
M4_API size_t m4_model_config_num_params(const m4_model_config *cfg);
M4_API int m4_model_num_tensors(const m4_model *m);
M4_API m4_status m4_model_tensor(const m4_model *m, int i, m4_tensor_info *info);

/* m4_model_init draws parameters as m3 does: N(0, 0.02) for the transformer's
 * linear weights (0.02/sqrt(2*n_layers) for wo and w3), zero biases, unit
 * RMSNorm weights, PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for
 * the MLP, zeros for the empty-bucket vector; and zeroes the AdamW state. */
M4_API m4_status m4_model_init(m4_model *m, uint64_t seed);

/* Parameters (num_params floats, tensor order): a read-only view, and copies
 * in and out. m4_model_set_params rejects NaN/Inf (naming the tensor). */
M4_API const float *m4_model_params(const m4_model *m);
M4_API m4_status m4_model_set_params(m4_model *m, const float *src, size_t n);
/* Gradients of the last m4_model_backward (NULL unless training). */
M4_API const float *m4_model_grads(const m4_model *m);
/* AdamW first and second moments (num_params floats each), for checkpoints. */
M4_API m4_status m4_model_get_adam(const m4_model *m, float *mom1, float *mom2, size_t n);
M4_API m4_status m4_model_set_adam(m4_model *m, const float *mom1, const float *mom2, size_t n);

/* m4_model_set_threads sets the threads (>= 1) the model's kernels use. */
M4_API m4_status m4_model_set_threads(m4_model *m, int n);

/* m4_model_forward runs batch scenarios. n_rows[b] = H of scenario b (2 <=
 * H <= max_seq+1); feat holds sum(n_rows) rows of feat_dim floats, scenario
 * after scenario; empty (may be NULL) holds sum(n_rows) x n_buckets_in flags,
 * 1 where that bucket of that row had no flows. out receives batch x out_dim
 * estimates. train != 0 applies dropout with masks drawn from dropout_seed
 * (the same seed gives the same masks). On M4_ERR_INVALID_INPUT,
 * m4_model_error says which value of which scenario. */
M4_API m4_status m4_model_forward(m4_model *m, int batch, const int32_t *n_rows,
                                  const float *feat, const uint8_t *empty, int train,
                                  uint64_t dropout_seed, float *out);

/* m4_model_loss returns m3's masked relative L1 loss of the last forward's
 * estimates: mean over batch x out_dim of mask * |est/target - 1|. target must
 * be finite and > 0. */
M4_API m4_status m4_model_loss(m4_model *m, const float *target, const float *mask, float *loss);

/* m4_model_backward computes that loss and the gradients of all parameters
 * (overwriting the previous ones), for the last forward. Needs training. */
M4_API m4_status m4_model_backward(m4_model *m, const float *target, const float *mask,
                                   float *loss);

/* m4_model_adamw applies one AdamW step (PyTorch's formula) with the current
 * gradients: weight_decay on the decay tensors only; step >= 1 counts steps
 * for the bias corrections. */
M4_API m4_status m4_model_adamw(m4_model *m, float lr, float beta1, float beta2, float eps,
                                float weight_decay, int step);

/* m4_model_set_input_norm sets a per-column affine map applied to every
 * feature row before the model reads it: x[j] = (x[j] - shift[j]) * scale[j]
 * (feat_dim values each; then empty buckets are filled with the learned
 * vector). NULL, NULL removes it (m3's models have none). */
M4_API m4_status m4_model_set_input_norm(m4_model *m, const float *shift, const float *scale);

/* m4_model_set_calibration sets the output calibration: out_dim levels,
 * n_pct per output bucket, each in [0, 1] and non-decreasing within its
 * bucket. The calibrated percentile k of bucket b is the model's (valid)
 * curve read at level levels[b * n_pct + k] (m4_slowdowns_calibrate), so that
 * a reported percentile at level (k + 1/2) / n_pct has that share of true
 * slowdowns below it on held-out data (m4 ckpt calibrate; docs/accuracy.md).
 * NULL removes it. m4_model_load sets it from a checkpoint that has one. */
M4_API m4_status m4_model_set_calibration(m4_model *m, const float *levels);

/* m4_model_calibration returns the model's calibration levels (out_dim
 * floats), or NULL when it has none. m4_estimate_path applies them; a caller
 * of m4_model_forward applies them with m4_slowdowns_valid and then
 * m4_slowdowns_calibrate. */
M4_API const float *m4_model_calibration(const m4_model *m);

/* m4_model_error returns the text of the last error ("" if none). */
M4_API const char *m4_model_error(const m4_model *m);

/* m4_model_kernel names the matrix-multiply kernel in use ("avx512", "avx2",
 * "generic"); m4_model_set_kernel forces one (M4_ERR_UNSUPPORTED if this CPU
 * cannot run it). */
M4_API const char *m4_model_kernel(const m4_model *m);
M4_API m4_status m4_model_set_kernel(m4_model *m, const char *name);

/* Benchmarks: m4_bench_fma_peak measures one core's fp32 FMA rate (GFLOP/s)
 * with the widest vectors this CPU runs; m4_bench_sgemm times C (M,N) = A
 * (M,K) @ B (K,N) with B pre-packed as the model's forward weights are, on
 * nthreads threads, best of reps, and returns GFLOP/s (< 0 on error). */
M4_API double m4_bench_fma_peak(double seconds);
M4_API double m4_bench_sgemm(int M, int N, int K, int nthreads, int reps);

/* ------------------------------------------------------------------------ */
/* features: m3's input feature map of a path scenario (the model's input).  */
/*                                                                          */
/* For H hosts: H rows of M4_FEAT_ROW floats. Row 0 describes the foreground */
/* flows (host 0 -> H-1), row 1+l the other flows crossing link l left to    */
/* right (a flow from a higher to a lower host is in no row, as in m3). A    */
/* row is 10 flow-size buckets (numpy.digitize on 250, 500, 750, 1000, 2000, */
/* 5000, 7500, 10000, 50000 bytes) x the percentiles 1..100 (numpy's         */
/* 'nearest': sorted[rint((n-1) p/100)]) of the flows' slowdowns, then the   */
/* 19 parameters. Slowdown = (fct + d) / (ideal + d) clipped below at 1,     */
/* ideal = (size + ceil(size/1000)*48) * 8 / 10 Gbit/s, d = m3's base delay  */
/* (m4_features_base_delay_ns). An empty cell is zeros. Values equal m3's    */
/* util/dataset.py (feat_*.npz) on every reference scenario.                 */
/* ------------------------------------------------------------------------ */

#define M4_FEAT_BUCKETS 10                                     /* input size buckets */
#define M4_FEAT_PERCENTILES 100                                /* percentiles 1..100 */
#define M4_FEAT_PARAMS 19                                      /* parameters per row */
#define M4_FEAT_CELLS (M4_FEAT_BUCKETS * M4_FEAT_PERCENTILES)  /* 1000 */
#define M4_FEAT_ROW (M4_FEAT_CELLS + M4_FEAT_PARAMS)           /* 1019 */
#define M4_FEAT_OUTPUTS 400 /* estimates: 4 output size buckets (< 1000, < 10000, < 50000, >= 50000 B) x p1..p100 */

/* A scenario's configuration as m3 samples it (param_*.txt, second line);
 * the fields of the CCs not in use are ignored. */
typedef struct {
    int sample;            /* configuration index (kept in the vector, unused by the model) */
    int buffer_kb;         /* BUFFER_SIZE */
    int window_bytes;      /* FIXED_WIN */
    int pfc;               /* ENABLE_PFC, 0 or 1 */
    int cc;                /* M4_CC_DCTCP, M4_CC_DCQCN, M4_CC_HPCC or M4_CC_TIMELY */
    int dctcp_k;           /* DCTCP marking threshold, KB at 10 Gbit/s */
    int dcqcn_kmin, dcqcn_kmax; /* DCQCN thresholds as sampled */
    double hpcc_u_target;  /* HPCC eta, in (0, 1] */
    int hpcc_ai;           /* HPCC additive increase, Mbit/s */
    int timely_t_low_ns, timely_t_high_ns;
} m4_cc_config;

/* m4_cc_config_vector writes the 15-value configuration vector of
 * param_*.npy: [sample, buffer_kb/10, window_bytes/1000, pfc, one-hot dctcp
 * dcqcn hpcc timely, dctcp_k, dcqcn_kmin, dcqcn_kmax, hpcc_u_target/0.01,
 * hpcc_ai/10, t_low/1000, t_high/1000], zeros for the CCs not in use. */
M4_API m4_status m4_cc_config_vector(const m4_cc_config *cfg, double *vec15);

/* m4_features_params turns a 15-value configuration vector into the 19
 * parameters appended to each row: [H==3, H==5, H==7, 5/10/15 (BDP in
 * packets), vec[1], vec[2], pfc, 1-pfc, vec[4..14]]. M4_ERR_UNSUPPORTED
 * unless H is 3, 5 or 7 (m3 defines no other); M4_ERR_INVALID_INPUT for a
 * NaN or Inf value. */
M4_API m4_status m4_features_params(int n_hosts, const double *vec15, double *out19);

/* Feature definitions by name (a checkpoint's m4_checkpoint_info.features):
 * m3's, and m4's second and third, which differ from it only in the 19
 * parameters. */
#define M4_FEATURES_V1 "m3-path-v1"
#define M4_FEATURES_V2 "m4-path-v2"
#define M4_FEATURES_V3 "m4-path-v3"

/* m4_features_params_v2 is m4-path-v2's parameter encoding: [H==3, H==5,
 * H==7, network, log2 buffer_KB, log2 window_B, pfc, 1-pfc, one-hot dctcp
 * dcqcn hpcc timely, log2 dctcp_K, log2 dcqcn_Kmin, log2 dcqcn_Kmax,
 * hpcc_eta*100, log2 hpcc_AI (Mb/s), T_low (us), T_high (us)], the CC values
 * 0 for the CCs not in use. network is 1 for a path cut from a network whose
 * switches share BUFFER_SIZE over all their ports (m4 run), 0 for m3's
 * parking lots (a shard folder). Errors as m4_features_params, and
 * M4_ERR_INVALID_INPUT for a negative value or a buffer or window <= 0. */
M4_API m4_status m4_features_params_v2(int n_hosts, int network, const double *vec15, double *out19);

/* m4_features_params_v3 is m4-path-v3's: v2's with entry 7 (1-pfc, which
 * pfc already says) replaced by log2(1 + foreground), the path's foreground
 * flows (host 0 -> H-1; m4_features_foreground). A busy host pair's flows
 * queue behind each other, which the feature map's percentiles do not show.
 * Errors as v2's, and M4_ERR_INVALID_INPUT for foreground < 0. */
M4_API m4_status m4_features_params_v3(int n_hosts, int network, long foreground, const double *vec15,
                                       double *out19);

/* m4_features_params_for encodes with the definition named features
 * (M4_FEATURES_V1 ignores network, only M4_FEATURES_V3 reads foreground);
 * M4_ERR_UNSUPPORTED for another name. Changed in 0.3.0: foreground. */
M4_API m4_status m4_features_params_for(const char *features, int n_hosts, int network, long foreground,
                                        const double *vec15, double *out19);

/* m4_features_foreground counts the foreground flows of an n_hosts path
 * (src 0, dst n_hosts-1) among n flows. */
M4_API long m4_features_foreground(int n_hosts, size_t n, const int32_t *src, const int32_t *dst);

typedef struct m4_features m4_features;

M4_API m4_status m4_features_create(m4_features **out);
M4_API void m4_features_destroy(m4_features *f);

/* m4_features_build builds the input map of n >= 1 flows (n = 0 is
 * M4_ERR_INVALID_ARGUMENT: an empty scenario has no map) on an n_hosts path from
 * their flowsim FCTs (ns, queueing + transmission, as m4_flowsim_run gives
 * them): res receives n_hosts x M4_FEAT_ROW floats; num_flows_per_cell (may
 * be NULL) n_hosts x M4_FEAT_CELLS values, a cell's flow count / (1 + the
 * row's flows); counts (may be NULL) n_hosts x M4_FEAT_BUCKETS flow counts.
 * params holds M4_FEAT_PARAMS values. On M4_ERR_INVALID_INPUT,
 * m4_features_error names the field ("size_bytes", "src", "dst", "fct_ns",
 * "params") and the flow. Scratch buffers grow as needed and are reused. */
M4_API m4_status m4_features_build(m4_features *f, int n_hosts, size_t n, const double *size_bytes,
                                   const int32_t *src, const int32_t *dst, const double *fct_ns,
                                   const double *params, float *res, double *num_flows_per_cell,
                                   int64_t *counts);

/* m4_features_slowdowns writes each flow's input-side slowdown (as above,
 * clipped at 1) to out (n values), with the checks of m4_features_build. */
M4_API m4_status m4_features_slowdowns(m4_features *f, int n_hosts, size_t n,
                                       const double *size_bytes, const int32_t *src,
                                       const int32_t *dst, const double *fct_ns, double *out);

/* m4_features_error returns the text of the last error ("" if none). */
M4_API const char *m4_features_error(const m4_features *f, const char **field, size_t *index);

/* The pieces, for tests and other tools: the input size bucket (0..9) of a
 * size, m3's base delay and ideal FCT (ns) of a flow, and the percentiles
 * 1..100 of n >= 1 ascending values (out: M4_FEAT_PERCENTILES). */
M4_API int m4_features_input_bucket(double size_bytes);
M4_API double m4_features_base_delay_ns(int n_hosts, int src, int dst, double size_bytes);
M4_API double m4_features_ideal_ns(double size_bytes);
M4_API void m4_features_percentiles(const double *sorted, size_t n, double *out);

/* m4_features_empty_buckets applies m3's empty-bucket rule (util/model.py)
 * to n_buckets buckets of n_pct >= 1 num_flows_per_cell values each (a map's
 * n_hosts x M4_FEAT_BUCKETS, as m4_features_build writes them): empty[i] is 1
 * when bucket i's mean is below 1e-12, i.e. it has no flows, else 0. The
 * model replaces empty buckets by a learned vector (m4_model_forward). New in
 * 0.4.0. */
M4_API m4_status m4_features_empty_buckets(size_t n_buckets, int n_pct, const double *num_flows_per_cell,
                                           uint8_t *empty);

/* m4_features_empty_counts is the same rule on the counts m4_features_build
 * writes (a bucket's shares are its count / (1 + the row's flows)): empty[i]
 * is 1 when counts[i] is 0. For a builder it saves the share map. New in
 * 0.4.0. */
M4_API m4_status m4_features_empty_counts(size_t n_buckets, const int64_t *counts, uint8_t *empty);

/* ------------------------------------------------------------------------ */
/* checkpoints and the end-to-end estimate of a path scenario.              */
/*                                                                          */
/* m4_model_load reads an m4 checkpoint file (docs/checkpoint.md: a          */
/* safetensors file with m4's metadata; F32 or F16 parameters, an optional   */
/* input normalisation, optional AdamW state and parameter average, which   */
/* are checked and dropped)                                                 */
/* and returns a model ready for inference. The reader is strict: a         */
/* truncated, inconsistent or unknown file is M4_ERR_FORMAT with a message   */
/* naming the file and the tensor or metadata field. A checkpoint whose      */
/* features are not m3-path-v1 (what m4_features_build makes) is             */
/* M4_ERR_UNSUPPORTED, since libm4 could not feed it.                        */
/* m4_estimate_path runs flowsim, builds the feature map and runs the model  */
/* on one path scenario: the 400 slowdown estimates m4 predict writes.       */
/* ------------------------------------------------------------------------ */

/* What a checkpoint holds besides its parameters. */
/* The inputs a checkpoint's training data covered (its training record's
 * trained_ranges): the algorithms, PFC settings and kinds of path seen, and
 * per numeric input of the configuration record (M4_RANGE_*) the lowest and
 * highest value (lo > hi: never seen). has = 0: the checkpoint records none. */
enum {
    M4_RANGE_BUFFER_KB,
    M4_RANGE_WINDOW_BYTES,
    M4_RANGE_DCTCP_K,
    M4_RANGE_DCQCN_KMIN,
    M4_RANGE_DCQCN_KMAX,
    M4_RANGE_HPCC_U_TARGET,
    M4_RANGE_HPCC_AI,
    M4_RANGE_TIMELY_T_LOW,
    M4_RANGE_TIMELY_T_HIGH,
    M4_RANGE_KEYS
};
typedef struct {
    int has;
    int cc[4];      /* trained on DCTCP, DCQCN, HPCC, TIMELY (in that order) */
    int pfc[2];     /* trained with PFC off, on */
    int network[2]; /* trained on m3's parking lots, on paths cut from networks */
    double lo[M4_RANGE_KEYS], hi[M4_RANGE_KEYS];
    /* PFC off, on as seen on paths cut from networks (pfc is over both kinds);
     * both 0 when the record does not say (written before 0.6.0): then not
     * checked. New in 0.6.0. */
    int network_pfc[2];
} m4_trained_ranges;

typedef struct {
    m4_model_config config;
    char features[64];       /* its feature definition's name ("m3-path-v1") */
    int m3_features;         /* 1: exactly the features libm4 builds */
    int f16;                 /* parameters stored as F16 */
    int has_input_norm;      /* carries an input normalisation (applied by the model) */
    int has_calibration;     /* carries output calibration levels (applied by m4_estimate_path) */
    int has_optimizer_state; /* a resume checkpoint (AdamW state, parameter average: checked, not loaded) */
    int checksum;            /* 1: the file carries the SHA-256 of its tensor data and it matched; 0: it carries
                                none (written before m4 0.2): nothing vouches for the data, warn */
    m4_trained_ranges ranges; /* what its training data covered */
} m4_checkpoint_info;

/* How far past a trained range's edge, as a fraction of the edge, a value
 * still counts as inside: the edges are the extremes of random draws (K
 * drawn from 10-200 KB ends at 199), so the range drawn from is as trained
 * as the draws. New in 0.6.1 (0.6.0 had none). */
#define M4_RANGE_EDGE 0.025

/* m4_check_config counts the inputs of cfg (on a path cut from a network
 * when network is 1, one of m3's parking lots when 0) outside what r was
 * trained on (past M4_RANGE_EDGE), and writes one line per input ("name =
 * value is outside the trained range [lo, hi]") into report (len bytes,
 * may be NULL). The estimate of such a configuration extrapolates: warn,
 * or refuse. Returns -1 for a NULL r or cfg or an unknown CC, 0 when r
 * records no ranges. */
M4_API int m4_check_config(const m4_trained_ranges *r, const m4_cc_config *cfg, int network, char *report,
                           size_t len);

/* m4_model_load loads the checkpoint at path for batches of up to max_batch
 * scenarios. A file whose tensor data do not match the SHA-256 in its
 * metadata (data_sha256) is M4_ERR_FORMAT; one without (older files) loads
 * with info->checksum = 0. info (may be NULL) receives what the file says; on failure err
 * (err_len bytes, may be NULL) receives a message naming the file and field.
 * With out == NULL the file is only checked. */
M4_API m4_status m4_model_load(m4_model **out, const char *path, int max_batch,
                               m4_checkpoint_info *info, char *err, size_t err_len);

/* m4_model_load_buffer is m4_model_load on a checkpoint image in memory;
 * name is used in messages. */
M4_API m4_status m4_model_load_buffer(m4_model **out, const void *data, size_t len,
                                      const char *name, int max_batch,
                                      m4_checkpoint_info *info, char *err, size_t err_len);

/* Everything an m4 checkpoint holds, for readers that keep more than a model
 * for inference (m4's own Go pipeline: training resumes from it, m4 ckpt
 * converts it): m4_checkpoint_read. Arrays are malloc'd; NULL when the file
 * has none. */
typedef struct {
    m4_checkpoint_info info;
    size_t n_params;
    float *params;                 /* n_params, the model's order (m4_model_tensor), F16 widened */
    float *norm_shift, *norm_scale; /* feat_dim each: the input normalisation */
    float *calibration;            /* out_dim: the output calibration levels */
    float *exp_avg, *exp_avg_sq;   /* n_params each: AdamW's moments (a resume checkpoint) */
    float *ema;                    /* n_params: the parameter average training keeps */
    char *model_config, *features, *training; /* the metadata's JSON text, NUL-terminated
                                                 (training NULL when absent) */
} m4_checkpoint;

/* m4_checkpoint_read reads and checks a checkpoint image as
 * m4_model_load_buffer does, whatever its features (no model is made, so
 * none is M4_ERR_UNSUPPORTED), and keeps everything in ck. Free ck with
 * m4_checkpoint_free (after a failure too). */
M4_API m4_status m4_checkpoint_read(m4_checkpoint *ck, const void *data, size_t len, const char *name,
                                    char *err, size_t err_len);
M4_API void m4_checkpoint_free(m4_checkpoint *ck);

/* A path scenario: n_flows >= 1 flows, at least one of them foreground
 * (host 0 -> H-1), on a parking-lot path of n_hosts hosts
 * (arrival_ns ascending; sizes in payload bytes > 0; hosts in [0, H), src !=
 * dst) and its M4_FEAT_PARAMS parameters (m4_features_params of the
 * configuration vector, or of m4_cc_config_vector). */
typedef struct {
    int n_hosts;
    size_t n_flows;
    const double *arrival_ns;
    const double *size_bytes;
    const int32_t *src, *dst;
    const double *params;
} m4_path_scenario;

/* m4_estimate_path estimates sc end to end: flowsim on m3's parking-lot
 * constants (m4_path_config_default), m4_features_build, empty buckets where a
 * cell has no flows, m4_model_forward on a model loaded by m4_model_load, and
 * m4_slowdowns_valid, then the model's calibration when it has one
 * (m4_slowdowns_calibrate). out receives M4_FEAT_OUTPUTS slowdowns: per output size
 * bucket (< 1 kB, < 10 kB, < 50 kB, larger) the percentiles 1..100 of the
 * foreground flows' slowdown, each >= 1 and non-decreasing. An empty scenario
 * (no flows) is M4_ERR_INVALID_ARGUMENT, one without foreground flows
 * M4_ERR_INVALID_INPUT: there is nothing to estimate. On failure err (may be
 * NULL) says which input and flow. Works in buffers it allocates and frees
 * (flowsim, features: O(flows)). A path whose links run at k x 10 / k x 40
 * Gbps is estimated as m4 run does it (docs/inputs.md, "Link rates"): pass
 * its sizes divided by k and the parameters of its configuration with the
 * buffer, window and HPCC AI divided by k; out is then per bucket of those
 * scaled sizes. */
M4_API m4_status m4_estimate_path(m4_model *m, const m4_path_scenario *sc, float *out, char *err,
                                  size_t err_len);

/* m4_slowdowns_valid makes n_buckets x n_pct slowdown percentiles
 * (bucket-major, as the model writes them) a valid distribution in place:
 * every value at least 1 (a slowdown is never below 1) and the percentiles
 * of each bucket non-decreasing (sorted: the monotone rearrangement, which
 * brings crossed quantile estimates no further from any non-decreasing
 * target). The one place m4 makes model outputs valid: m4_estimate_path and
 * m4's own estimator (pipeline/model) call it. Returns how many values it
 * moved or raised, or -1 for a NULL or empty array or a NaN or Inf value. */
M4_API int m4_slowdowns_valid(float *v, int n_buckets, int n_pct);

/* m4_slowdowns_calibrate rewrites valid slowdown percentiles v (n_buckets x
 * n_pct, each bucket non-decreasing, as m4_slowdowns_valid leaves them) by
 * calibration levels (the same layout, in [0, 1], non-decreasing): value k
 * of bucket b becomes the bucket's curve read at level levels[b][k], the
 * curve's point j sitting at level (j + 1/2) / n_pct, linear between points
 * and flat beyond the first and last. Identity levels (k + 1/2) / n_pct leave
 * v as it is; the result stays valid. Returns 0, or -1 for NULL arrays or
 * sizes out of range (n_pct <= 4096). */
M4_API int m4_slowdowns_calibrate(float *v, int n_buckets, int n_pct, const float *levels);

/* ------------------------------------------------------------------------ */
/* Training with other losses                                               */
/* ------------------------------------------------------------------------ */

/* m4_model_backward_dout computes the gradients of all parameters
 * (overwriting the previous ones) for the last forward, for a loss whose
 * gradient with respect to the forward's batch x out_dim estimates is dout
 * (finite values), computed by the caller: losses other than m3's (m4 train's
 * quantile loss for paths with few foreground flows). With dout = the
 * gradient of m3's loss it gives m4_model_backward's gradients. Needs
 * training. */
M4_API m4_status m4_model_backward_dout(m4_model *m, const float *dout);

/* ------------------------------------------------------------------------ */
/* dynamics: m4's flow-level dynamics model (Li et al., "m4: Modeling       */
/* Flow-level Network Dynamics from Data"), forward, backward, AdamW and the */
/* event loop that estimates a whole workload, on the CPU.                  */
/*                                                                          */
/* Every flow and every directed link keeps a hidden state (hidden floats). */
/* At each event (a flow's arrival or departure) the model:                 */
/*   1. departure of f: reads f's slowdown from its state (the output MLP), */
/*      then drops f; arrival of f: starts f's state from its features;     */
/*   2. advances every active flow and every link they cross by the time    */
/*      since that node's last update (a GRU on ln(1 + dt/1 us));            */
/*   3. reads each active flow's remaining bytes / size and each active      */
/*      link's queue / queue_norm_bytes (two MLPs; auxiliary supervision);   */
/*   4. runs gnn_layers GraphSAGE layers (sum aggregation, projection,       */
/*      LayerNorm; width gnn_width) over the bipartite graph of the active   */
/*      flows and their links, then updates each flow's state with a GRU on  */
/*      [its graph output, its features] and each link's with a GRU on its    */
/*      graph output.                                                       */
/* Flow features: ln(size)/16, ln(ideal FCT ns)/16, hops/8, then the         */
/* workload's n_params configuration values (and ln prior); link features:  */
/* Gbit/s / 100, propagation delay in us. A slowdown estimate is 1 +         */
/* softplus(output MLP), so it is never below 1.                             */
/*                                                                          */
/* Training replays a packet-level trace (m4_dyn_trace: the events in        */
/* simulation order, with each active flow's remaining bytes and each link's */
/* queue after every event). Loss of a window of events:                    */
/*   mean over its departures of |est/(fct/ideal) - 1|                      */
/*   + w_remain x mean over (event, active flow) of |est - remaining/size|   */
/*   + w_queue  x mean over (event, active link) of |est - queue/norm|       */
/* (a term without samples is 0). Backward runs through the whole window     */
/* (backpropagation through time); the state a window starts from is a      */
/* constant, so long traces train in windows: truncated BPTT, with memory    */
/* O(window), not O(trace).                                                  */
/*                                                                          */
/* Inference (m4_dyn_run) needs no trace: after each event the model reads   */
/* every active flow's slowdown; its predicted completion is start + est x   */
/* ideal (never before the current event); the next event is the earliest of */
/* the next arrival and those completions (an arrival first on a tie, then   */
/* the lower flow index). Deterministic; an object is not safe for           */
/* concurrent use.                                                          */
/* ------------------------------------------------------------------------ */

#define M4_DYN_FLOW_FEATS 3 /* ln(size)/16, ln(ideal_ns)/16, hops/8 */
#define M4_DYN_LINK_FEATS 2 /* gbps/100, delay_ns/1000 */
#define M4_DYN_MAX_PARAMS 64 /* most configuration values (m4_dyn_config.n_params) */

typedef struct {
    int hidden;             /* flow and link state width (200) */
    int gnn_width;          /* width of the inner graph layers (300) */
    int gnn_layers;         /* graph layers, >= 1 (3); the last one is hidden wide */
    int mlp_hidden;         /* hidden width of the three output MLPs (200) */
    float ln_eps;           /* LayerNorm epsilon (1e-5) */
    float w_remain;         /* weight of the remaining-bytes loss (0.1) */
    float w_queue;          /* weight of the queue-length loss (0.1) */
    float queue_norm_bytes; /* queue bytes that read as 1 (100000) */
    int n_params;           /* configuration values appended to every flow's features,
                               0..M4_DYN_MAX_PARAMS (0; m4's pipeline: 15, see docs/dynamics.md) */
    int prior;              /* 1: every flow has a prior slowdown p >= 1 (m4_dyn_workload.prior;
                               m4's pipeline: flowsim's), ln p is its last feature and the
                               estimate corrects it: 1 + softplus(out + softplus^-1(p - 1)),
                               p itself where out = 0; 0: none (0) */
    float w_every;          /* weight of the slowdown loss of every active flow after every event
                               (0: off, the paper's loss). The event loop schedules departures
                               from those estimates, so this trains what it reads (docs/dynamics.md).
                               New in 0.5.0 */
} m4_dyn_config;

/* m4_dyn_config_default fills cfg with the paper's sizes (about 1.5M parameters). */
M4_API void m4_dyn_config_default(m4_dyn_config *cfg);

/* m4_dyn_config_check is M4_OK for a config m4_dyn_create accepts, else
 * M4_ERR_INVALID_ARGUMENT with the first field out of range in err (err_len
 * bytes, may be NULL): "hidden = 0, want 1..16384". Widths (hidden,
 * gnn_width, mlp_hidden) 1..16384, gnn_layers 1..8, ln_eps in (0, 1], loss
 * weights in [0, 1e6], n_params 0..M4_DYN_MAX_PARAMS, queue_norm_bytes in
 * (0, 1e15], prior 0 or 1. */
M4_API m4_status m4_dyn_config_check(const m4_dyn_config *cfg, char *err, size_t err_len);

/* A workload: n_flows flows (sizes in payload bytes > 0, start times >= 0
 * in any order, ideal FCTs > 0: the slowdown denominator, may be NULL for
 * m4_dyn_run, which then uses m4_dyn_ideal_ns) and their routes (flow i
 * crosses route[route_ptr[i] .. route_ptr[i+1]), >= 1 directed link ids, from
 * source to destination, no link twice) over n_links directed links (rates >
 * 0, delays >= 0). */
typedef struct {
    size_t n_flows;
    const int64_t *size_bytes;
    const int64_t *start_ns;
    const int64_t *ideal_ns;
    const int64_t *route_ptr; /* n_flows + 1, route_ptr[0] = 0 */
    const int32_t *route;
    size_t n_links;
    const double *link_gbps;
    const int64_t *link_delay_ns;
    const float *params; /* n_params configuration values of the whole workload (congestion
                            control, buffer, ...), appended to every flow's features; NULL if 0 */
    const float *prior;  /* n_flows prior slowdowns >= 1 when the model's config.prior, else NULL */
} m4_dyn_workload;

/* A packet-level trace of a workload (the arrays of dynamics.npz): fct_ns
 * per flow, and n_events events in simulation order (times non-decreasing;
 * kind 0 arrival, 1 departure; each flow arrives once, then departs once).
 * After event e the flows ev_active_flow[ev_active_ptr[e] ..
 * ev_active_ptr[e+1]) were active with ev_active_remaining bytes left, and
 * the links ev_queue_link[ev_queue_ptr[e] .. ev_queue_ptr[e+1]) had
 * ev_queue_bytes queued (other links: none). ideal_ns is required here. */
typedef struct {
    m4_dyn_workload w;
    const int64_t *fct_ns;
    size_t n_events;
    const int64_t *ev_time_ns;
    const int8_t *ev_kind;
    const int32_t *ev_flow;
    const int64_t *ev_active_ptr;
    const int32_t *ev_active_flow;
    const float *ev_active_remaining;
    const int64_t *ev_queue_ptr;
    const int32_t *ev_queue_link;
    const float *ev_queue_bytes;
} m4_dyn_trace;

/* The loss of the last forward: total and its four means, and how many
 * samples each mean has (every: active flows after events, with w_every). */
typedef struct {
    double total, slowdown, remain, queue;
    size_t n_slowdown, n_remain, n_queue;
    double every;
    size_t n_every;
} m4_dyn_loss;

typedef struct m4_dyn m4_dyn;

/* m4_dyn_create allocates a model; training != 0 also allocates gradients and
 * AdamW state. Parameters start at m4_dyn_init(seed 0). Buffers for a
 * workload grow on first use and are reused. */
M4_API m4_status m4_dyn_create(m4_dyn **out, const m4_dyn_config *cfg, int training);
M4_API void m4_dyn_destroy(m4_dyn *m);
M4_API void m4_dyn_get_config(const m4_dyn *m, m4_dyn_config *cfg);

/* Parameters: one float array of named tensors (m4_tensor_info; decay 1 for
 * the matrices, which AdamW decays). */
M4_API size_t m4_dyn_num_params(const m4_dyn *m);
M4_API int m4_dyn_num_tensors(const m4_dyn *m);
M4_API m4_status m4_dyn_tensor(const m4_dyn *m, int i, m4_tensor_info *info);

/* m4_dyn_init draws PyTorch's default initialisation (U(+-1/sqrt(fan_in))
 * for linear layers and GRUs, LayerNorm 1 and 0) from seed, and zeroes the
 * AdamW state. With config.prior the slowdown head's last layer starts at 0,
 * so an untrained model estimates each flow's prior. */
M4_API m4_status m4_dyn_init(m4_dyn *m, uint64_t seed);

M4_API const float *m4_dyn_params(const m4_dyn *m);
/* m4_dyn_set_params copies n = num_params floats in (NaN/Inf rejected). */
M4_API m4_status m4_dyn_set_params(m4_dyn *m, const float *src, size_t n);
/* Gradients of the last m4_dyn_backward (NULL unless training). */
M4_API const float *m4_dyn_grads(const m4_dyn *m);
/* m4_dyn_set_grads replaces them with n = num_params floats (a training
 * model; NaN/Inf rejected): the next m4_dyn_adamw applies these. Data-parallel
 * training averages several replicas' gradients into one model this way. */
M4_API m4_status m4_dyn_set_grads(m4_dyn *m, const float *src, size_t n);
M4_API m4_status m4_dyn_get_adam(const m4_dyn *m, float *mom1, float *mom2, size_t n);
M4_API m4_status m4_dyn_set_adam(m4_dyn *m, const float *mom1, const float *mom2, size_t n);
/* m4_dyn_set_threads: the forward's threads (the model's own pool; each
 * event's rows are shared out, so results do not depend on n). The backward
 * runs on one. */
M4_API m4_status m4_dyn_set_threads(m4_dyn *m, int n);

/* m4_dyn_forward replays events [e0, e1) of tr (e0 < e1 <= n_events) and
 * computes the loss of that window. e0 = 0 starts from fresh states; any
 * other e0 must be where the previous forward on the same trace stopped
 * (its states carry on). A training model records what backward needs. On
 * M4_ERR_INVALID_INPUT m4_dyn_error names the field and index. */
M4_API m4_status m4_dyn_forward(m4_dyn *m, const m4_dyn_trace *tr, size_t e0, size_t e1,
                                m4_dyn_loss *loss);

/* m4_dyn_backward writes the gradient of the last forward's total loss with
 * respect to every parameter (overwriting). Needs training. */
M4_API m4_status m4_dyn_backward(m4_dyn *m);

/* m4_dyn_adamw applies one AdamW step (PyTorch's formula, as
 * m4_model_adamw) with the current gradients; step >= 1. */
M4_API m4_status m4_dyn_adamw(m4_dyn *m, float lr, float beta1, float beta2, float eps,
                              float weight_decay, int step);

/* m4_dyn_run estimates every flow of w from an empty network: fct_ns[i]
 * (n_flows values, input order) is flow i's predicted completion minus its
 * start: at least its ideal FCT, since the model's slowdown is >= 1. The
 * workload's n_params configuration values are required (params). */
M4_API m4_status m4_dyn_run(m4_dyn *m, const m4_dyn_workload *w, double *fct_ns);

/* m4_dyn_ideal_ns is the ideal FCT m4_dyn_run uses when w has none: the
 * route's propagation delay plus size + 48 B per 1000 B of payload at the
 * slowest link's rate. */
M4_API double m4_dyn_ideal_ns(int64_t size_bytes, const int32_t *route, size_t hops,
                              const double *link_gbps, const int64_t *link_delay_ns);

/* m4_dyn_error returns the text of the last error ("" if none). */
M4_API const char *m4_dyn_error(const m4_dyn *m);

/* Dynamics checkpoints (docs/dynamics.md; m4's Go pipeline writes them):
 * a safetensors file with metadata format "m4-dynamics", format_version
 * "1", dyn_config (the m4_dyn_config as JSON: hidden, gnn_width,
 * gnn_layers, mlp_hidden, ln_eps, w_remain, w_queue, queue_norm_bytes,
 * n_params; an absent field is 0), training (the training record, a JSON
 * object) and data_sha256 (the SHA-256 of the tensor data, required); F32
 * tensors under the model's names (m4_dyn_tensor) and, in a resumable
 * checkpoint, AdamW's moments under "optim.exp_avg." and
 * "optim.exp_avg_sq." + name. The reader is as strict as m4_model_load's:
 * a truncated, inconsistent or unknown file is M4_ERR_FORMAT with a message
 * naming the file and the tensor or metadata field. */
#define M4_DYN_MAX_RATES 16 /* most distinct link rates a checkpoint's ranges list */
typedef struct {
    m4_dyn_config config;
    int has_optimizer_state; /* the file holds AdamW's moments (a resumable checkpoint) */
    char *training;          /* the training record: JSON object text, NUL-terminated, malloc'd
                                (m4_dyn_checkpoint_info_free); its fields are the writer's */
    /* What the training traces covered (the record's "ranges"; New in 0.5.0):
     * ranges.has = 0 when the file records none (written before 2026-12-07). */
    m4_trained_ranges ranges; /* their configurations, as a path checkpoint's */
    int hosts[2];             /* fewest and most hosts of a training network */
    int n_link_gbps;          /* link rates of the training networks, ascending */
    double link_gbps[M4_DYN_MAX_RATES];
} m4_dyn_checkpoint_info;

/* m4_dyn_load loads the dynamics checkpoint at path into a new model
 * (m4_dyn_destroy frees it). training != 0 creates it for training (as
 * m4_dyn_create) with the file's AdamW moments, when it has them (zero
 * otherwise); training = 0 checks them and drops them. info (may be NULL)
 * receives what the file says; free it with m4_dyn_checkpoint_info_free
 * (after a failure too). On failure err (err_len bytes, may be NULL) names
 * the file and field. With out == NULL the file is only checked. */
M4_API m4_status m4_dyn_load(m4_dyn **out, const char *path, int training, m4_dyn_checkpoint_info *info,
                             char *err, size_t err_len);

/* m4_dyn_load_buffer is m4_dyn_load on a checkpoint image in memory; name
 * is used in messages. */
M4_API m4_status m4_dyn_load_buffer(m4_dyn **out, const void *data, size_t len, const char *name,
                                    int training, m4_dyn_checkpoint_info *info, char *err, size_t err_len);

/* m4_dyn_checkpoint_info_free frees what info owns and zeroes it. */
M4_API void m4_dyn_checkpoint_info_free(m4_dyn_checkpoint_info *info);

/* m4_dyn_check_workload counts the inputs of a workload outside what the
 * checkpoint described by info was trained on: its configuration cfg (as
 * m4_check_config on a path cut from a network), its host count and each
 * of its n_links link rates (Gbit/s) never trained on, and writes one line
 * per input ("name = value is outside the trained range [lo, hi]") into
 * report (len bytes, may be NULL). The model extrapolates there: warn, or
 * refuse (m4 run --strict refuses). Returns 0 when info records no ranges,
 * -1 for a NULL info or cfg, an unknown CC, or NULL link_gbps with
 * n_links > 0. New in 0.5.0. */
M4_API int m4_dyn_check_workload(const m4_dyn_checkpoint_info *info, const m4_cc_config *cfg, int hosts,
                                 const double *link_gbps, size_t n_links, char *report, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* M4_H */
