/*
 * safetensors_internal.h: what m4's two checkpoint readers share (not API).
 *
 * Both of m4's checkpoint formats are safetensors files: an 8-byte
 * little-endian header length N, N bytes of JSON (a "__metadata__" map of
 * strings, naming the format and its version, and one entry per tensor),
 * then the tensors' raw little-endian values. safetensors.c reads that much
 * for both, strictly and within bounds: the JSON (a small bounded DOM parser
 * that refuses what JSON does not allow, plus duplicate keys), the tensor
 * table (F32 or F16, 1 or 2 dims, entries that tile the data exactly), the
 * SHA-256 of the tensor data and the values of one tensor. What the metadata
 * mean and which tensors a file must hold is each reader's own:
 *   checkpoint.c           the path model (m4_model_load; docs/checkpoint.md)
 *   dynamics_checkpoint.c  the dynamics model (m4_dyn_load; docs/dynamics.md)
 * Every error goes through m4i_fail: "<file>: <what>", naming the tensor or
 * metadata field.
 */
#ifndef M4_SAFETENSORS_INTERNAL_H
#define M4_SAFETENSORS_INTERNAL_H

#include "m4.h"

#include <stddef.h>

/* ------------------------------------------------------------------------ */
/* errors                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
    char *buf; /* the caller's message buffer (may be NULL) */
    size_t len;
    const char *name; /* the file, for messages */
} m4i_errbuf;

/* m4i_fail writes "<name>: <message>" to e's buffer and returns st. */
__attribute__((format(printf, 3, 4))) m4_status m4i_fail(m4i_errbuf *e, m4_status st, const char *fmt, ...);

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */
/* ------------------------------------------------------------------------ */

enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct {
    int type;
    int first, next; /* first child (arrays, objects) and next sibling, -1 for none */
    int n;           /* children */
    const char *key; /* for object members: decoded key (NUL-terminated) */
    size_t key_len;
    const char *str; /* strings: decoded text (NUL-terminated); numbers: raw text */
    size_t str_len;
} m4i_jnode;

typedef struct {
    const char *s;
    size_t len, pos;
    m4i_jnode *nodes;
    int n, cap;
    char *text; /* decoded strings, len + 1 bytes: never more than the source */
    size_t text_len;
    char err[160];
} m4i_json;

/* m4i_json_parse parses a whole document s[0..len) (trailing whitespace
 * only); returns the root node or -1 with p->err set. Free p with
 * m4i_json_free either way. */
int m4i_json_parse(m4i_json *p, const char *s, size_t len);
void m4i_json_free(m4i_json *p);
/* m4i_json_get returns the member key of object node obj, or -1. */
int m4i_json_get(const m4i_json *p, int obj, const char *key);
/* m4i_json_int reads integer node k (digits only) in [lo, hi]; -1 if not. */
int m4i_json_int(const m4i_json *p, int k, long long lo, long long hi, long long *out);
/* m4i_json_num reads number node k as a finite double or, with as_float,
 * a float rounded once from the decimal text; -1 if not. */
int m4i_json_num(const m4i_json *p, int k, int as_float, double *out);
/* m4i_json_str_eq says whether node k is the string s. */
int m4i_json_str_eq(const m4i_json *p, int k, const char *s);
/* m4i_json_unknown_key returns the first member of obj not in the
 * NULL-terminated list known, or NULL. */
const char *m4i_json_unknown_key(const m4i_json *p, int obj, const char *const *known);
/* m4i_json_object parses text as a JSON object whose members are all in
 * known; returns its root node, or -1 with the failure in e naming the
 * metadata entry what. Free p with m4i_json_free either way. */
int m4i_json_object(m4i_errbuf *e, m4i_json *p, const char *text, size_t len, const char *what,
                    const char *const *known);

/* m4i_sha256_hex writes the SHA-256 of data[0..len) as 64 lowercase hex
 * digits and a NUL to hex. */
void m4i_sha256_hex(const unsigned char *data, size_t len, char hex[65]);

/* ------------------------------------------------------------------------ */
/* safetensors                                                              */
/* ------------------------------------------------------------------------ */

/* One tensor entry of the header. */
typedef struct {
    const char *name;
    size_t name_len;
    int f16; /* dtype F16 (else F32) */
    int ndim;
    long long shape[2];
    unsigned long long begin, end;
    int used; /* for the reader: the entry belongs to the model */
} m4i_st_entry;

/* A safetensors image being read: its header, its metadata node and, after
 * m4i_st_tensors, its tensor entries sorted by name. */
typedef struct {
    m4i_json p;
    int root, meta; /* header object; its __metadata__ member */
    const unsigned char *data; /* the tensor data */
    size_t data_len;
    m4i_st_entry *es;
    int ne;
} m4i_st_file;

/* m4i_st_header reads the header of b[0..len): its length, its JSON, the
 * __metadata__ map of strings, metadata "format" = format (else "... (not
 * <what>)") and "format_version" = "1", and no metadata key outside the
 * NULL-terminated meta_keys. Free f with m4i_st_free either way. */
m4_status m4i_st_header(m4i_st_file *f, const unsigned char *b, size_t len, const char *format,
                        const char *what, const char *const *meta_keys, m4i_errbuf *e);

/* m4i_st_tensors reads the tensor entries (dtype F32 or F16, 1 or 2 dims,
 * data_offsets that tile the data exactly) and checks the metadata
 * "data_sha256" against the data: a mismatch is an error, and so is its
 * absence when require_checksum. *checksum (may be NULL) is 1 when the file
 * carried one. */
m4_status m4i_st_tensors(m4i_st_file *f, int require_checksum, int *checksum, m4i_errbuf *e);

void m4i_st_free(m4i_st_file *f);

/* m4i_st_find looks an entry up by name (NULL if absent). */
m4i_st_entry *m4i_st_find(const m4i_st_file *f, const char *name);

/* m4i_st_read_tensor converts entry en (NULL: "missing") into dst (count
 * values; dst may be NULL to check only), checking its shape (ndim dims of
 * shape), dtype (F16 only with allow_f16), size and that every value is
 * finite. */
m4_status m4i_st_read_tensor(m4i_errbuf *e, const m4i_st_file *f, const m4i_st_entry *en, const char *name,
                             int ndim, const int *shape, size_t count, int allow_f16, float *dst);

/* m4i_read_file maps (or reads) the file at path: *b, *len; release it with
 * m4i_release_file(*b, *len, token). An empty file is a valid (empty) image. */
m4_status m4i_read_file(const char *path, const unsigned char **b, size_t *len, void **token, m4i_errbuf *e);
void m4i_release_file(const unsigned char *b, size_t len, void *token);

/* m4i_dyn_count_params is the parameter count of a dynamics model of cfg
 * (dynamics.c; 0 for a config m4_dyn_config_check refuses), computed
 * without allocating the model: what a reader checks the file against
 * before it allocates. */
size_t m4i_dyn_count_params(const m4_dyn_config *cfg);

/* m4i_read_ranges reads a training record's trained ranges (node k of q,
 * -1 when absent; field names it in messages) as Go's features.Ranges
 * writes them (checkpoint.c; the dynamics reader uses it too). */
/* m4i_note appends a printf-formatted line to report (len bytes, may be
 * NULL), *used bytes of it written so far: the out-of-range reports. */
void m4i_note(char *report, size_t len, size_t *used, const char *fmt, ...);

m4_status m4i_read_ranges(m4i_errbuf *e, const m4i_json *q, int k, const char *field, m4_trained_ranges *r);

#endif
