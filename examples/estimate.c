/*
 * estimate.c: estimate a path scenario with libm4, from C.
 *
 *   estimate CKPT SHARD_DIR [--hosts H] [--sample S] [--flowsim] [--compare FILE.npy]
 *
 * SHARD_DIR is a folder in m4's reference layout: fat.npy (arrival times,
 * ns), fsize.npy (sizes, bytes), fsd.npy (source and destination hosts, n x 2)
 * and param_topo-pl-H_sS.npy (the 15-value configuration vector). H comes
 * from the folder's name (..._nhostsH_...) unless --hosts says. The program
 * loads the checkpoint (m4_model_load), runs flowsim, the feature map and the
 * model (m4_estimate_path), and prints the 400 slowdown estimates, one a line:
 * per output size bucket (< 1 kB, < 10 kB, < 50 kB, larger) the percentiles
 * 1..100 of the foreground flows' slowdown. With --flowsim it prints flowsim's
 * FCT (ns) of every flow instead and needs no checkpoint (pass -). With
 * --compare it also checks its output against an .npy file of the same values
 * (e.g. from `m4 predict`) to a relative 1e-5, and fails if they differ.
 *
 * Build against an installed libm4:
 *   cc -std=c99 -O2 estimate.c $(pkg-config --cflags --libs m4) -lm -o estimate
 * or in the source tree with CMake (target m4_example_estimate).
 */
#define _POSIX_C_SOURCE 200809L
#include <m4.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* A small, strict .npy reader: little-endian int32/int64/float32/float64,  */
/* C order, 1 or 2 dimensions.                                              */
/* ------------------------------------------------------------------------ */

typedef struct {
    size_t n;       /* elements */
    size_t dims[2];
    int ndim;
    double *data;   /* converted to double */
} array;

static int read_file(const char *path, unsigned char **out, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return -1;
    }
    long sz = ftell(f);
    if (sz < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return -1;
    }
    *out = malloc((size_t)sz + 1);
    if (!*out || fread(*out, 1, (size_t)sz, f) != (size_t)sz) {
        free(*out);
        fclose(f);
        return -1;
    }
    fclose(f);
    *len = (size_t)sz;
    return 0;
}

static int read_npy(const char *path, array *a) {
    unsigned char *b;
    size_t len;
    memset(a, 0, sizeof *a);
    if (read_file(path, &b, &len) != 0) {
        fprintf(stderr, "%s: cannot read\n", path);
        return -1;
    }
    int ok = 0;
    size_t hl = 0, off = 0;
    if (len >= 10 && memcmp(b, "\x93NUMPY", 6) == 0) {
        if (b[6] == 1) {
            hl = (size_t)b[8] | (size_t)b[9] << 8;
            off = 10;
        } else if ((b[6] == 2 || b[6] == 3) && len >= 12) {
            hl = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
            off = 12;
        }
        ok = off > 0 && hl <= len - off;
    }
    if (!ok) {
        fprintf(stderr, "%s: not an .npy file\n", path);
        free(b);
        return -1;
    }
    char hdr[1024];
    size_t hn = hl < sizeof hdr - 1 ? hl : sizeof hdr - 1;
    memcpy(hdr, b + off, hn);
    hdr[hn] = 0;
    int size = 0, isfloat = 0;
    if (strstr(hdr, "'<f8'")) size = 8, isfloat = 1;
    else if (strstr(hdr, "'<f4'")) size = 4, isfloat = 1;
    else if (strstr(hdr, "'<i8'")) size = 8;
    else if (strstr(hdr, "'<i4'")) size = 4;
    const char *sh = strstr(hdr, "'shape': (");
    if (!size || !strstr(hdr, "'fortran_order': False") || !sh) {
        fprintf(stderr, "%s: want a C-order <i4, <i8, <f4 or <f8 array\n", path);
        free(b);
        return -1;
    }
    sh += strlen("'shape': (");
    a->n = 1;
    while (*sh && *sh != ')' && a->ndim < 3) {
        char *end;
        unsigned long long d = strtoull(sh, &end, 10);
        if (end == sh) break;
        if (a->ndim < 2) a->dims[a->ndim] = (size_t)d;
        a->ndim++;
        a->n *= (size_t)d;
        sh = end;
        while (*sh == ',' || *sh == ' ') sh++;
    }
    size_t data_off = off + hl;
    if (a->ndim < 1 || a->ndim > 2 || *sh != ')' || a->n > (len - data_off) / (size_t)size ||
        a->n * (size_t)size != len - data_off) {
        fprintf(stderr, "%s: shape and file size disagree (truncated?)\n", path);
        free(b);
        return -1;
    }
    a->data = malloc((a->n ? a->n : 1) * sizeof(double));
    const unsigned char *p = b + data_off;
    for (size_t i = 0; i < a->n; i++, p += size) {
        uint64_t u = 0;
        for (int k = size - 1; k >= 0; k--) u = u << 8 | p[k];
        double v;
        if (isfloat && size == 8) {
            memcpy(&v, &u, 8);
        } else if (isfloat) {
            uint32_t w = (uint32_t)u;
            float f;
            memcpy(&f, &w, 4);
            v = f;
        } else if (size == 8) {
            v = (double)(int64_t)u;
        } else {
            v = (double)(int32_t)(uint32_t)u;
        }
        a->data[i] = v;
    }
    free(b);
    return 0;
}

static int hosts_from_name(const char *dir) {
    const char *p = strstr(dir, "_nhosts");
    return p ? atoi(p + strlen("_nhosts")) : 0;
}

int main(int argc, char **argv) {
    const char *ckpt = NULL, *dir = NULL, *compare = NULL;
    int hosts = 0, sample = 0, flowsim_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--hosts") == 0 && i + 1 < argc) hosts = atoi(argv[++i]);
        else if (strcmp(argv[i], "--sample") == 0 && i + 1 < argc) sample = atoi(argv[++i]);
        else if (strcmp(argv[i], "--compare") == 0 && i + 1 < argc) compare = argv[++i];
        else if (strcmp(argv[i], "--flowsim") == 0) flowsim_only = 1;
        else if (!ckpt) ckpt = argv[i];
        else if (!dir) dir = argv[i];
        else ckpt = NULL, i = argc; /* too many: print usage */
    }
    if (!ckpt || !dir) {
        fprintf(stderr, "usage: %s CKPT SHARD_DIR [--hosts H] [--sample S] [--flowsim] [--compare FILE.npy]\n", argv[0]);
        return 2;
    }
    if (hosts == 0) hosts = hosts_from_name(dir);
    if (hosts < 2) {
        fprintf(stderr, "%s: cannot tell the number of hosts from the name; pass --hosts\n", dir);
        return 2;
    }
    fprintf(stderr, "libm4 %s\n", m4_version());

    char path[4096];
    array fat, fsize, fsd, param;
    snprintf(path, sizeof path, "%s/fat.npy", dir);
    if (read_npy(path, &fat)) return 1;
    snprintf(path, sizeof path, "%s/fsize.npy", dir);
    if (read_npy(path, &fsize)) return 1;
    snprintf(path, sizeof path, "%s/fsd.npy", dir);
    if (read_npy(path, &fsd)) return 1;
    size_t n = fat.n;
    if (fsize.n != n || fsd.ndim != 2 || fsd.dims[0] != n || fsd.dims[1] != 2) {
        fprintf(stderr, "%s: fat.npy, fsize.npy and fsd.npy (n x 2) disagree on the flow count\n", dir);
        return 1;
    }
    int32_t *src = malloc((n ? n : 1) * sizeof(int32_t)), *dst = malloc((n ? n : 1) * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) {
        src[i] = (int32_t)fsd.data[2 * i];
        dst[i] = (int32_t)fsd.data[2 * i + 1];
    }

    int rc = 0;
    if (flowsim_only) {
        m4_path_config cfg;
        m4_path_config_default(&cfg, hosts);
        m4_flowsim *sim;
        double *fct = malloc((n ? n : 1) * sizeof(double));
        m4_status st = m4_flowsim_create(&sim, &cfg);
        if (st == M4_OK) st = m4_flowsim_run(sim, n, fat.data, fsize.data, src, dst, fct);
        if (st != M4_OK) {
            fprintf(stderr, "%s: flowsim: %s\n", dir, st == M4_ERR_INVALID_INPUT ? m4_flowsim_error(sim, NULL, NULL) : m4_strerror(st));
            rc = 1;
        } else {
            for (size_t i = 0; i < n; i++) printf("%.17g\n", fct[i]);
        }
        m4_flowsim_destroy(sim);
        free(fct);
    } else {
        snprintf(path, sizeof path, "%s/param_topo-pl-%d_s%d.npy", dir, hosts, sample);
        if (read_npy(path, &param)) return 1;
        char err[512];
        m4_model *model = NULL;
        m4_checkpoint_info info;
        m4_status st;
        if ((st = m4_model_load(&model, ckpt, 1, &info, err, sizeof err)) != M4_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        /* the parameters as the checkpoint's feature definition encodes them;
         * a shard folder is one of m3's parking lots (network = 0) */
        double params[M4_FEAT_PARAMS];
        long fg = m4_features_foreground(hosts, n, src, dst);
        st = param.n == 15 ? m4_features_params_for(info.features, hosts, 0, fg, param.data, params) : M4_ERR_INVALID_INPUT;
        if (st != M4_OK) {
            fprintf(stderr, "%s: want 15 finite values for a 3-, 5- or 7-host path (%s)\n", path, m4_strerror(st));
            m4_model_destroy(model);
            return 1;
        }
        fprintf(stderr, "%s: %s features, %d layers of width %d%s\n", ckpt, info.features, info.config.n_layers,
                info.config.dim, info.f16 ? ", F16" : "");
        if (!info.checksum)
            fprintf(stderr, "%s: warning: no checksum of its tensor data (written before m4 0.2): nothing vouches for them\n",
                    ckpt);
        m4_path_scenario sc = {hosts, n, fat.data, fsize.data, src, dst, params};
        float out[M4_FEAT_OUTPUTS];
        if ((st = m4_estimate_path(model, &sc, out, err, sizeof err)) != M4_OK) {
            fprintf(stderr, "%s: %s\n", dir, err);
            rc = 1;
        } else {
            for (int k = 0; k < M4_FEAT_OUTPUTS; k++) printf("%.9g\n", out[k]);
            if (compare) {
                array want;
                if (read_npy(compare, &want)) return 1;
                if (want.n != M4_FEAT_OUTPUTS) {
                    fprintf(stderr, "%s: %zu values, want %d\n", compare, want.n, M4_FEAT_OUTPUTS);
                    return 1;
                }
                double worst = 0;
                for (int k = 0; k < M4_FEAT_OUTPUTS; k++) {
                    double d = fabs(out[k] - want.data[k]) / fmax(fabs(want.data[k]), 1e-30);
                    if (!(d <= worst)) worst = d;
                }
                fprintf(stderr, "compared with %s: worst relative difference %.3g\n", compare, worst);
                if (!(worst <= 1e-5)) rc = 1;
                free(want.data);
            }
        }
        m4_model_destroy(model);
        free(param.data);
    }
    free(src);
    free(dst);
    free(fat.data);
    free(fsize.data);
    free(fsd.data);
    return rc;
}
