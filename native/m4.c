/* m4.c: library-wide entry points (version, status text). */
#include "m4.h"

const char *m4_version(void) { return M4_VERSION_STRING; }

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
