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

#ifdef __cplusplus
}
#endif
#endif /* M4_H */
