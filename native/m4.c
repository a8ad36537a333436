/* m4.c: library-wide entry points (version, status text). */
#include "m4.h"

#include <string.h>

const char *m4_version(void) { return M4_VERSION_STRING; }

size_t m4_sizeof(const char *type) {
    static const struct {
        const char *name;
        size_t size;
    } sizes[] = {
        {"m4_path_config", sizeof(m4_path_config)},
        {"m4_flowsim_stats", sizeof(m4_flowsim_stats)},
        {"m4_pktsim_config", sizeof(m4_pktsim_config)},
        {"m4_pktsim_topology", sizeof(m4_pktsim_topology)},
        {"m4_pktsim_flows", sizeof(m4_pktsim_flows)},
        {"m4_pktsim_result", sizeof(m4_pktsim_result)},
        {"m4_pktsim_stats", sizeof(m4_pktsim_stats)},
        {"m4_pktsim_pfc_event", sizeof(m4_pktsim_pfc_event)},
        {"m4_model_config", sizeof(m4_model_config)},
        {"m4_tensor_info", sizeof(m4_tensor_info)},
        {"m4_cc_config", sizeof(m4_cc_config)},
        {"m4_trained_ranges", sizeof(m4_trained_ranges)},
        {"m4_checkpoint_info", sizeof(m4_checkpoint_info)},
        {"m4_path_scenario", sizeof(m4_path_scenario)},
        {"m4_dyn_config", sizeof(m4_dyn_config)},
        {"m4_dyn_workload", sizeof(m4_dyn_workload)},
        {"m4_dyn_trace", sizeof(m4_dyn_trace)},
        {"m4_dyn_loss", sizeof(m4_dyn_loss)},
        {"m4_dyn_checkpoint_info", sizeof(m4_dyn_checkpoint_info)},
    };
    if (!type) return 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (strcmp(sizes[i].name, type) == 0) return sizes[i].size;
    return 0;
}

const char *m4_strerror(int status) {
    switch (status) {
    case M4_OK: return "ok";
    case M4_ERR_INVALID_ARGUMENT: return "invalid argument";
    case M4_ERR_INVALID_INPUT: return "invalid input";
    case M4_ERR_NO_MEMORY: return "out of memory";
    case M4_ERR_IO: return "i/o error";
    case M4_ERR_FORMAT: return "malformed file";
    case M4_ERR_BUDGET: return "budget exceeded";
    case M4_ERR_UNSUPPORTED: return "not supported by this build";
    default: return "unknown status";
    }
}
