/*
 * checkpoint.c: m4's checkpoint files (docs/checkpoint.md) read in C, so that
 * tools outside Go can load a trained model: m4_model_load.
 *
 * A checkpoint is a safetensors file: an 8-byte little-endian header length
 * N, N bytes of JSON, then the tensors' raw little-endian values. The reader
 * is strict, as the Go one (pipeline/model.Decode) is: every count read from
 * the file is checked against what the file's size can back before anything
 * is allocated from it, every problem is M4_ERR_FORMAT with a message naming
 * the file and the tensor or metadata field, and a file it accepts is one it
 * fully understands. The JSON parser below is small and bounded (nesting,
 * sizes) and rejects what JSON does not allow, plus duplicate keys.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* open, fstat, mmap */
#endif
#include "m4.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define M4_HAVE_MMAP 1
#endif

#define MAX_HEADER (64u << 20) /* JSON header bytes (m3's model: ~20 KiB) */
#define MAX_DEPTH 32           /* JSON nesting */

/* ------------------------------------------------------------------------ */
/* errors                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct {
    char *buf;
    size_t len;
    const char *name; /* the file, for messages */
} errbuf;

__attribute__((format(printf, 3, 4))) static m4_status efail(errbuf *e, m4_status st,
                                                             const char *fmt, ...) {
    if (e->buf && e->len > 0) {
        int k = snprintf(e->buf, e->len, "%s: ", e->name);
        if (k < 0) k = 0;
        if ((size_t)k < e->len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(e->buf + k, e->len - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return st;
}

/* ------------------------------------------------------------------------ */
/* JSON: a bounded DOM parser                                               */
/* ------------------------------------------------------------------------ */

enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct {
    int type;
    int first, next;   /* first child (arrays, objects) and next sibling, -1 for none */
    int n;             /* children */
    const char *key;   /* for object members: decoded key (NUL-terminated) */
    size_t key_len;
    const char *str;   /* strings: decoded text (NUL-terminated); numbers: raw text */
    size_t str_len;
} jnode;

typedef struct {
    const char *s;
    size_t len, pos;
    jnode *nodes;
    int n, cap;
    char *text;        /* decoded strings, len + 1 bytes: never more than the source */
    size_t text_len;
    char err[160];
} jparser;

static void jp_free(jparser *p) {
    free(p->nodes);
    free(p->text);
    p->nodes = NULL;
    p->text = NULL;
}

__attribute__((format(printf, 2, 3))) static int jerr(jparser *p, const char *fmt, ...) {
    if (p->err[0]) return -1;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
    if (k >= 0 && (size_t)k < sizeof p->err)
        snprintf(p->err + k, sizeof p->err - (size_t)k, " at byte %zu", p->pos);
    return -1;
}

static void skip_ws(jparser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int new_node(jparser *p, int type) {
    if (p->n == p->cap) {
        /* each node takes at least one byte of source: the count is bounded */
        int c = p->cap ? 2 * p->cap : 64;
        if ((size_t)c > p->len + 64) c = (int)(p->len + 64);
        if (c <= p->n) return jerr(p, "too many values");
        jnode *q = realloc(p->nodes, (size_t)c * sizeof(jnode));
        if (!q) return jerr(p, "out of memory");
        p->nodes = q;
        p->cap = c;
    }
    jnode *nd = &p->nodes[p->n];
    memset(nd, 0, sizeof *nd);
    nd->type = type;
    nd->first = nd->next = -1;
    return p->n++;
}

static void put_utf8(jparser *p, unsigned cp) {
    char *o = p->text + p->text_len;
    if (cp < 0x80) {
        o[0] = (char)cp;
        p->text_len += 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        p->text_len += 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        p->text_len += 3;
    } else {
        o[0] = (char)(0xF0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        p->text_len += 4;
    }
}

static int hex4(jparser *p, unsigned *out) {
    if (p->len - p->pos < 4) return jerr(p, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos + (size_t)i];
        unsigned d;
        if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
        else return jerr(p, "bad \\u escape");
        v = v * 16 + d;
    }
    p->pos += 4;
    *out = v;
    return 0;
}

/* parse_string decodes the string at p->pos (on its opening quote) into
 * p->text; every escape's UTF-8 is no longer than the escape itself. */
static int parse_string(jparser *p, const char **out, size_t *out_len) {
    p->pos++; /* opening quote */
    size_t start = p->text_len;
    for (;;) {
        if (p->pos >= p->len) return jerr(p, "unterminated string");
        unsigned char c = (unsigned char)p->s[p->pos++];
        if (c == '"') break;
        if (c < 0x20) return jerr(p, "control character in string");
        if (c != '\\') {
            p->text[p->text_len++] = (char)c;
            continue;
        }
        if (p->pos >= p->len) return jerr(p, "unterminated string");
        char e = p->s[p->pos++];
        switch (e) {
        case '"': p->text[p->text_len++] = '"'; break;
        case '\\': p->text[p->text_len++] = '\\'; break;
        case '/': p->text[p->text_len++] = '/'; break;
        case 'b': p->text[p->text_len++] = '\b'; break;
        case 'f': p->text[p->text_len++] = '\f'; break;
        case 'n': p->text[p->text_len++] = '\n'; break;
        case 'r': p->text[p->text_len++] = '\r'; break;
        case 't': p->text[p->text_len++] = '\t'; break;
        case 'u': {
            unsigned cp;
            if (hex4(p, &cp)) return -1;
            if (cp >= 0xD800 && cp < 0xDC00 && p->len - p->pos >= 6 && p->s[p->pos] == '\\' &&
                p->s[p->pos + 1] == 'u') {
                size_t save = p->pos;
                unsigned lo;
                p->pos += 2;
                if (hex4(p, &lo)) return -1;
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else {
                    p->pos = save; /* a lone high surrogate; the next escape stands alone */
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD; /* a lone surrogate, as Go's decoder reads it */
            }
            put_utf8(p, cp);
            break;
        }
        default: return jerr(p, "bad escape \\%c", e);
        }
    }
    p->text[p->text_len++] = 0;
    *out = p->text + start;
    *out_len = p->text_len - start - 1;
    return 0;
}

static int parse_value(jparser *p, int depth);

static int parse_number(jparser *p) {
    size_t st = p->pos;
    const char *s = p->s;
    size_t i = p->pos;
    if (i < p->len && s[i] == '-') i++;
    if (i >= p->len) return jerr(p, "bad number");
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < p->len && s[i] >= '0' && s[i] <= '9') i++;
    } else {
        return jerr(p, "bad value");
    }
    if (i < p->len && s[i] == '.') {
        i++;
        if (i >= p->len || s[i] < '0' || s[i] > '9') return jerr(p, "bad number");
        while (i < p->len && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < p->len && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= p->len || s[i] < '0' || s[i] > '9') return jerr(p, "bad number");
        while (i < p->len && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i - st > 64) return jerr(p, "number too long");
    int k = new_node(p, J_NUM);
    if (k < 0) return -1;
    p->nodes[k].str = s + st;
    p->nodes[k].str_len = i - st;
    p->pos = i;
    return k;
}

static int parse_literal(jparser *p, const char *word, int type) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) return jerr(p, "bad value");
    p->pos += n;
    return new_node(p, type);
}

static int parse_container(jparser *p, int depth, int obj) {
    if (depth >= MAX_DEPTH) return jerr(p, "nesting deeper than %d", MAX_DEPTH);
    int k = new_node(p, obj ? J_OBJ : J_ARR);
    if (k < 0) return -1;
    p->pos++; /* [ or { */
    skip_ws(p);
    char close = obj ? '}' : ']';
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return k;
    }
    int last = -1;
    for (;;) {
        skip_ws(p);
        const char *key = NULL;
        size_t key_len = 0;
        if (obj) {
            if (p->pos >= p->len || p->s[p->pos] != '"') return jerr(p, "want a string key");
            if (parse_string(p, &key, &key_len)) return -1;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') return jerr(p, "want ':'");
            p->pos++;
            skip_ws(p);
        }
        int v = parse_value(p, depth + 1);
        if (v < 0) return -1;
        p->nodes[v].key = key;
        p->nodes[v].key_len = key_len;
        if (last < 0) p->nodes[k].first = v;
        else p->nodes[last].next = v;
        last = v;
        p->nodes[k].n++;
        skip_ws(p);
        if (p->pos >= p->len) return jerr(p, "unterminated %s", obj ? "object" : "array");
        char c = p->s[p->pos++];
        if (c == close) return k;
        if (c != ',') return jerr(p, "want ',' or '%c'", close);
    }
}

static int parse_value(jparser *p, int depth) {
    skip_ws(p);
    if (p->pos >= p->len) return jerr(p, "unexpected end");
    switch (p->s[p->pos]) {
    case '{': return parse_container(p, depth, 1);
    case '[': return parse_container(p, depth, 0);
    case '"': {
        const char *str;
        size_t n;
        if (parse_string(p, &str, &n)) return -1;
        int k = new_node(p, J_STR);
        if (k < 0) return -1;
        p->nodes[k].str = str;
        p->nodes[k].str_len = n;
        return k;
    }
    case 't': return parse_literal(p, "true", J_TRUE);
    case 'f': return parse_literal(p, "false", J_FALSE);
    case 'n': return parse_literal(p, "null", J_NULL);
    default: return parse_number(p);
    }
}

static int cmp_key(const char *a, size_t an, const char *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int cmp_member(const void *x, const void *y) {
    const jnode *a = *(const jnode *const *)x, *b = *(const jnode *const *)y;
    return cmp_key(a->key, a->key_len, b->key, b->key_len);
}

/* check_duplicates refuses an object with a key twice (ambiguous: JSON
 * readers differ on which one wins), in O(n log n). */
static int check_duplicates(jparser *p) {
    const jnode **keys = NULL;
    int cap = 0, bad = 0;
    for (int k = 0; k < p->n && !bad; k++) {
        if (p->nodes[k].type != J_OBJ || p->nodes[k].n < 2) continue;
        if (p->nodes[k].n > cap) {
            cap = p->nodes[k].n;
            const jnode **q = realloc(keys, (size_t)cap * sizeof(*q));
            if (!q) {
                free(keys);
                return jerr(p, "out of memory");
            }
            keys = q;
        }
        int m = 0;
        for (int c = p->nodes[k].first; c >= 0; c = p->nodes[c].next) keys[m++] = &p->nodes[c];
        qsort(keys, (size_t)m, sizeof(*keys), cmp_member);
        for (int i = 1; i < m; i++)
            if (cmp_member(&keys[i - 1], &keys[i]) == 0) {
                jerr(p, "duplicate key \"%.40s\"", keys[i]->key);
                bad = 1;
                break;
            }
    }
    free(keys);
    return bad ? -1 : 0;
}

/* jparse parses a whole document (trailing whitespace only); returns the
 * root node or -1 with p->err set. */
static int jparse(jparser *p, const char *s, size_t len) {
    memset(p, 0, sizeof *p);
    p->s = s;
    p->len = len;
    p->text = malloc(len + 1);
    if (!p->text) return jerr(p, "out of memory");
    int root = parse_value(p, 0);
    if (root < 0) return -1;
    skip_ws(p);
    if (p->pos != p->len) return jerr(p, "trailing data");
    if (check_duplicates(p)) return -1;
    return root;
}

static int jget(const jparser *p, int obj, const char *key) {
    size_t n = strlen(key);
    for (int c = p->nodes[obj].first; c >= 0; c = p->nodes[c].next)
        if (p->nodes[c].key_len == n && memcmp(p->nodes[c].key, key, n) == 0) return c;
    return -1;
}

/* jint reads an integer node (digits only, as Go's json reads into int). */
static int jint(const jparser *p, int k, long long lo, long long hi, long long *out) {
    if (k < 0 || p->nodes[k].type != J_NUM) return -1;
    const char *s = p->nodes[k].str;
    size_t n = p->nodes[k].str_len, i = 0;
    int neg = 0;
    if (s[0] == '-') {
        neg = 1;
        i = 1;
    }
    unsigned long long v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        if (v > (1ULL << 62) / 10) return -1;
        v = v * 10 + (unsigned long long)(s[i] - '0');
    }
    if (v > (1ULL << 62)) return -1;
    long long x = neg ? -(long long)v : (long long)v;
    if (x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

/* jnum reads a number node as a double or, with as_float, a float rounded
 * once from the decimal text (as Go reads into float32); locale-proof. */
static int jnum(const jparser *p, int k, int as_float, double *out) {
    if (k < 0 || p->nodes[k].type != J_NUM) return -1;
    char buf[80];
    size_t n = p->nodes[k].str_len;
    memcpy(buf, p->nodes[k].str, n);
    buf[n] = 0;
    /* strtod reads the locale's decimal point */
    const struct lconv *lc = localeconv();
    char dp = (lc && lc->decimal_point && lc->decimal_point[0]) ? lc->decimal_point[0] : '.';
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '.') buf[i] = dp;
    char *end;
    errno = 0;
    double v = as_float ? (double)strtof(buf, &end) : strtod(buf, &end);
    if (end != buf + n || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int jstr_eq(const jparser *p, int k, const char *s) {
    return k >= 0 && p->nodes[k].type == J_STR && p->nodes[k].str_len == strlen(s) &&
           memcmp(p->nodes[k].str, s, p->nodes[k].str_len) == 0;
}

/* check_keys fails on a member of obj not in the NULL-terminated list. */
static const char *unknown_key(const jparser *p, int obj, const char *const *known) {
    for (int c = p->nodes[obj].first; c >= 0; c = p->nodes[c].next) {
        int ok = 0;
        for (const char *const *k = known; *k; k++)
            if (p->nodes[c].key_len == strlen(*k) && memcmp(p->nodes[c].key, *k, p->nodes[c].key_len) == 0)
                ok = 1;
        if (!ok) return p->nodes[c].key;
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* metadata                                                                 */
/* ------------------------------------------------------------------------ */

static m4_status read_config(errbuf *e, const char *text, size_t len, m4_model_config *c) {
    jparser p;
    int root = jparse(&p, text, len);
    m4_status st = M4_OK;
    if (root < 0) {
        st = efail(e, M4_ERR_FORMAT, "metadata model_config: %s", p.err);
        goto done;
    }
    if (p.nodes[root].type != J_OBJ) {
        st = efail(e, M4_ERR_FORMAT, "metadata model_config: not a JSON object");
        goto done;
    }
    static const char *const ints[] = {"feat_dim", "n_buckets_in", "n_pct", "dim", "n_layers", "n_heads",
                                       "hidden_dim", "max_seq", "mlp_hidden1", "mlp_hidden2", "out_dim"};
    static const char *const known[] = {"feat_dim", "n_buckets_in", "n_pct", "dim", "n_layers", "n_heads",
                                        "hidden_dim", "max_seq", "mlp_hidden1", "mlp_hidden2", "out_dim",
                                        "norm_eps", "rope_theta", "dropout", NULL};
    const char *u = unknown_key(&p, root, known);
    if (u) {
        st = efail(e, M4_ERR_FORMAT, "metadata model_config: unknown field \"%.40s\"", u);
        goto done;
    }
    int *dst[] = {&c->feat_dim, &c->n_buckets_in, &c->n_pct, &c->dim, &c->n_layers, &c->n_heads,
                  &c->hidden_dim, &c->max_seq, &c->mlp_hidden1, &c->mlp_hidden2, &c->out_dim};
    memset(c, 0, sizeof *c);
    for (int i = 0; i < 11; i++) {
        /* ranges as pipeline/model's ModelConfig.Validate: counts 1..2^20, n_layers
         * 0..1024, n_buckets_in >= 0, max_seq <= 4096 */
        long long lo = 1, hi = 1 << 20, v = 0;
        if (i == 1) lo = 0;
        if (i == 4) lo = 0, hi = 1024;
        if (i == 7) hi = 4096;
        int k = jget(&p, root, ints[i]);
        if (k < 0) continue; /* absent: zero, which the range check below refuses */
        if (jint(&p, k, lo, hi, &v)) {
            st = efail(e, M4_ERR_FORMAT, "metadata model_config: %s is not an integer in %lld..%lld",
                       ints[i], lo, hi);
            goto done;
        }
        *dst[i] = (int)v;
    }
    const char *fl[] = {"norm_eps", "rope_theta", "dropout"};
    float *fd[] = {&c->norm_eps, &c->rope_theta, &c->dropout};
    for (int i = 0; i < 3; i++) {
        int k = jget(&p, root, fl[i]);
        double v = 0;
        if (k >= 0 && jnum(&p, k, 1, &v)) {
            st = efail(e, M4_ERR_FORMAT, "metadata model_config: %s is not a finite number", fl[i]);
            goto done;
        }
        *fd[i] = (float)v;
    }
    const char *bad = NULL;
    if (c->feat_dim < 1) bad = "feat_dim";
    else if (c->n_pct < 1) bad = "n_pct";
    else if (c->dim < 1) bad = "dim";
    else if (c->n_heads < 1) bad = "n_heads";
    else if (c->hidden_dim < 1) bad = "hidden_dim";
    else if (c->max_seq < 1) bad = "max_seq";
    else if (c->mlp_hidden1 < 1) bad = "mlp_hidden1";
    else if (c->mlp_hidden2 < 1) bad = "mlp_hidden2";
    else if (c->out_dim < 1) bad = "out_dim";
    if (bad) {
        st = efail(e, M4_ERR_FORMAT, "metadata model_config: %s missing or < 1", bad);
        goto done;
    }
    if ((long long)c->n_buckets_in * c->n_pct > c->feat_dim) {
        st = efail(e, M4_ERR_FORMAT, "metadata model_config: %d buckets x %d percentiles exceed feat_dim %d",
                   c->n_buckets_in, c->n_pct, c->feat_dim);
    } else if (c->dim % c->n_heads != 0 || (c->dim / c->n_heads) % 2 != 0) {
        st = efail(e, M4_ERR_FORMAT, "metadata model_config: dim %d / n_heads %d must be an even integer",
                   c->dim, c->n_heads);
    } else if (!(c->norm_eps > 0) || c->norm_eps > 1) {
        st = efail(e, M4_ERR_FORMAT, "metadata model_config: norm_eps = %g, want in (0, 1]", c->norm_eps);
    } else if (!(c->rope_theta > 0) || c->rope_theta > 1e9) {
        st = efail(e, M4_ERR_FORMAT, "metadata model_config: rope_theta = %g, want in (0, 1e9]", c->rope_theta);
    } else if (!(c->dropout >= 0 && c->dropout < 1)) {
        st = efail(e, M4_ERR_FORMAT, "metadata model_config: dropout = %g, want in [0, 1)", c->dropout);
    }
done:
    jp_free(&p);
    return st;
}

/* The feature definition libm4 builds (m4_features_build), as the Go side's
 * model.M3Features describes it. */
static const double m3_input_edges[] = {250, 500, 750, 1000, 2000, 5000, 7500, 10000, 50000};
static const double m3_output_edges[] = {1000, 10000, 50000};

static int edges_eq(const jparser *p, int k, const double *want, int n) {
    if (k < 0 || p->nodes[k].type != J_ARR || p->nodes[k].n != n) return 0;
    int i = 0;
    for (int c = p->nodes[k].first; c >= 0; c = p->nodes[c].next, i++) {
        double v;
        if (jnum(p, c, 0, &v) || v != want[i]) return 0;
    }
    return 1;
}

static m4_status read_features(errbuf *e, const char *text, size_t len, m4_checkpoint_info *info) {
    jparser p;
    int root = jparse(&p, text, len);
    m4_status st = M4_OK;
    if (root < 0) {
        st = efail(e, M4_ERR_FORMAT, "metadata features: %s", p.err);
        goto done;
    }
    if (p.nodes[root].type != J_OBJ) {
        st = efail(e, M4_ERR_FORMAT, "metadata features: not a JSON object");
        goto done;
    }
    static const char *const known[] = {"name", "row_width", "input_buckets", "percentiles", "params",
                                        "input_edges", "output_edges", "percentile_method",
                                        "normalisation", "empty_buckets", "output", NULL};
    const char *u = unknown_key(&p, root, known);
    if (u) {
        st = efail(e, M4_ERR_FORMAT, "metadata features: unknown field \"%.40s\"", u);
        goto done;
    }
    /* types first: every field present must have its JSON type */
    static const char *const strs[] = {"name", "percentile_method", "normalisation", "empty_buckets", "output"};
    for (int i = 0; i < 5; i++) {
        int k = jget(&p, root, strs[i]);
        if (k >= 0 && p.nodes[k].type != J_STR) {
            st = efail(e, M4_ERR_FORMAT, "metadata features: %s is not a string", strs[i]);
            goto done;
        }
    }
    int kn = jget(&p, root, "name");
    if (kn >= 0) snprintf(info->features, sizeof info->features, "%s", p.nodes[kn].str);
    static const char *const ints[] = {"row_width", "input_buckets", "percentiles", "params"};
    const long long want[] = {M4_FEAT_ROW, M4_FEAT_BUCKETS, M4_FEAT_PERCENTILES, M4_FEAT_PARAMS};
    /* m4-path-v2 is m3-path-v1 with another parameter encoding
     * (m4_features_params_for): the same maps for libm4 */
    int same = (jstr_eq(&p, kn, M4_FEATURES_V1) || jstr_eq(&p, kn, M4_FEATURES_V2)) &&
               jstr_eq(&p, jget(&p, root, "percentile_method"), "nearest") &&
               edges_eq(&p, jget(&p, root, "input_edges"), m3_input_edges, 9) &&
               edges_eq(&p, jget(&p, root, "output_edges"), m3_output_edges, 3);
    for (int i = 0; i < 4; i++) {
        long long v;
        int k = jget(&p, root, ints[i]);
        if (k >= 0 && jint(&p, k, -(1LL << 62), 1LL << 62, &v)) {
            st = efail(e, M4_ERR_FORMAT, "metadata features: %s is not an integer", ints[i]);
            goto done;
        }
        if (k < 0 || v != want[i]) same = 0;
    }
    static const char *const arrs[] = {"input_edges", "output_edges"};
    for (int i = 0; i < 2; i++) {
        int k = jget(&p, root, arrs[i]);
        if (k < 0 || p.nodes[k].type == J_NULL) continue;
        if (p.nodes[k].type != J_ARR) {
            st = efail(e, M4_ERR_FORMAT, "metadata features: %s is not an array of numbers", arrs[i]);
            goto done;
        }
        for (int c = p.nodes[k].first; c >= 0; c = p.nodes[c].next) {
            double v;
            if (jnum(&p, c, 0, &v)) {
                st = efail(e, M4_ERR_FORMAT, "metadata features: %s is not an array of numbers", arrs[i]);
                goto done;
            }
        }
    }
    info->m3_features = same;
done:
    jp_free(&p);
    return st;
}

/* ------------------------------------------------------------------------ */
/* SHA-256 (FIPS 180-4) of the tensor data: the "data_sha256" metadata      */
/* ------------------------------------------------------------------------ */

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t rotr(uint32_t x, int n) { return x >> n | x << (32 - n); }

/* sha_block folds one 64-byte block into the state h. */
static void sha_block(uint32_t h[8], const unsigned char *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

/* sha256_hex writes the SHA-256 of data[0..len) as 64 lowercase hex digits
 * and a NUL to hex (65 bytes). */
static void sha256_hex(const unsigned char *data, size_t len, char hex[65]) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t full = len / 64 * 64;
    for (size_t i = 0; i < full; i += 64) sha_block(h, data + i);
    unsigned char tail[128] = {0};
    size_t rest = len - full;
    if (rest) memcpy(tail, data + full, rest);
    tail[rest] = 0x80;
    size_t tl = rest < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) tail[tl - 1 - (size_t)i] = (unsigned char)(bits >> (8 * i));
    sha_block(h, tail);
    if (tl == 128) sha_block(h, tail + 64);
    for (int i = 0; i < 8; i++) snprintf(hex + 8 * i, 9, "%08x", (unsigned)h[i]);
}

/* ------------------------------------------------------------------------ */
/* trained ranges                                                           */
/* ------------------------------------------------------------------------ */

static const char *const range_keys[M4_RANGE_KEYS] = {"buffer_kb",     "window_bytes",    "dctcp_k",
                                                      "dcqcn_kmin",    "dcqcn_kmax",      "hpcc_u_target",
                                                      "hpcc_ai",       "timely_t_low_ns", "timely_t_high_ns"};
static const char *const cc_names[4] = {"dctcp", "dcqcn", "hpcc", "timely"};

/* read_ranges reads the training record's trained_ranges (k: its node, -1
 * when absent) as Go's features.Ranges writes it. */
static m4_status read_ranges(errbuf *e, const jparser *q, int k, m4_trained_ranges *r) {
    memset(r, 0, sizeof *r);
    for (int i = 0; i < M4_RANGE_KEYS; i++) r->lo[i] = 1, r->hi[i] = 0;
    if (k < 0 || q->nodes[k].type == J_NULL) return M4_OK;
    if (q->nodes[k].type != J_OBJ) return efail(e, M4_ERR_FORMAT, "metadata training: trained_ranges is not an object");
    r->has = 1;
    int kc = jget(q, k, "cc");
    if (kc >= 0) {
        if (q->nodes[kc].type != J_ARR && q->nodes[kc].type != J_NULL)
            return efail(e, M4_ERR_FORMAT, "metadata training: trained_ranges.cc is not an array");
        for (int c = q->nodes[kc].type == J_ARR ? q->nodes[kc].first : -1; c >= 0; c = q->nodes[c].next) {
            int hit = 0;
            for (int j = 0; j < 4; j++)
                if (jstr_eq(q, c, cc_names[j])) r->cc[j] = hit = 1;
            if (!hit) return efail(e, M4_ERR_FORMAT, "metadata training: trained_ranges.cc holds an unknown algorithm");
        }
    }
    static const char *const flags[2] = {"pfc", "network"};
    int *dst[2] = {r->pfc, r->network};
    for (int f = 0; f < 2; f++) {
        int kf = jget(q, k, flags[f]);
        if (kf < 0 || q->nodes[kf].type == J_NULL) continue;
        if (q->nodes[kf].type != J_ARR)
            return efail(e, M4_ERR_FORMAT, "metadata training: trained_ranges.%s is not an array", flags[f]);
        for (int c = q->nodes[kf].first; c >= 0; c = q->nodes[c].next) {
            if (q->nodes[c].type != J_TRUE && q->nodes[c].type != J_FALSE)
                return efail(e, M4_ERR_FORMAT, "metadata training: trained_ranges.%s holds a non-boolean", flags[f]);
            dst[f][q->nodes[c].type == J_TRUE] = 1;
        }
    }
    int kv = jget(q, k, "values");
    if (kv >= 0 && q->nodes[kv].type != J_NULL) {
        if (q->nodes[kv].type != J_OBJ)
            return efail(e, M4_ERR_FORMAT, "metadata training: trained_ranges.values is not an object");
        for (int i = 0; i < M4_RANGE_KEYS; i++) {
            int kr = jget(q, kv, range_keys[i]);
            if (kr < 0) continue;
            double lo, hi;
            if (q->nodes[kr].type != J_ARR || q->nodes[kr].n != 2 || jnum(q, q->nodes[kr].first, 0, &lo) ||
                jnum(q, q->nodes[q->nodes[kr].first].next, 0, &hi) || lo > hi)
                return efail(e, M4_ERR_FORMAT, "metadata training: trained_ranges.values.%s is not [lo, hi]",
                             range_keys[i]);
            r->lo[i] = lo, r->hi[i] = hi;
        }
    }
    return M4_OK;
}

int m4_check_config(const m4_trained_ranges *r, const m4_cc_config *c, int network, char *report, size_t len) {
    if (!r || !c) return -1;
    int ci;
    switch (c->cc) {
    case M4_CC_DCTCP: ci = 0; break;
    case M4_CC_DCQCN: ci = 1; break;
    case M4_CC_HPCC: ci = 2; break;
    case M4_CC_TIMELY: ci = 3; break;
    default: return -1;
    }
    if (report && len) report[0] = 0;
    if (!r->has) return 0;
    size_t used = 0;
    int n = 0;
#define NOTE(...)                                                                                   \
    do {                                                                                            \
        n++;                                                                                        \
        if (report && used < len) {                                                                 \
            int w = snprintf(report + used, len - used, __VA_ARGS__);                               \
            used += w > 0 ? (size_t)w : 0;                                                          \
        }                                                                                           \
    } while (0)
    if (!r->cc[ci]) {
        NOTE("cc = %s is outside the trained algorithms\n", cc_names[ci]);
        return n; /* its parameters have no range either */
    }
    if (!r->pfc[c->pfc ? 1 : 0]) NOTE("pfc = %d was never trained on\n", c->pfc ? 1 : 0);
    if (!r->network[network ? 1 : 0])
        NOTE("path kind = %s was never trained on\n", network ? "a path cut from a network" : "one of m3's parking lots");
    double v[M4_RANGE_KEYS];
    int use[M4_RANGE_KEYS] = {1, 1};
    v[M4_RANGE_BUFFER_KB] = c->buffer_kb, v[M4_RANGE_WINDOW_BYTES] = c->window_bytes;
    v[M4_RANGE_DCTCP_K] = c->dctcp_k, use[M4_RANGE_DCTCP_K] = ci == 0;
    v[M4_RANGE_DCQCN_KMIN] = c->dcqcn_kmin, v[M4_RANGE_DCQCN_KMAX] = c->dcqcn_kmax;
    use[M4_RANGE_DCQCN_KMIN] = use[M4_RANGE_DCQCN_KMAX] = ci == 1;
    v[M4_RANGE_HPCC_U_TARGET] = c->hpcc_u_target, v[M4_RANGE_HPCC_AI] = c->hpcc_ai;
    use[M4_RANGE_HPCC_U_TARGET] = use[M4_RANGE_HPCC_AI] = ci == 2;
    v[M4_RANGE_TIMELY_T_LOW] = c->timely_t_low_ns, v[M4_RANGE_TIMELY_T_HIGH] = c->timely_t_high_ns;
    use[M4_RANGE_TIMELY_T_LOW] = use[M4_RANGE_TIMELY_T_HIGH] = ci == 3;
    for (int i = 0; i < M4_RANGE_KEYS; i++) {
        if (!use[i]) continue;
        if (r->lo[i] > r->hi[i])
            NOTE("%s = %g was never trained on\n", range_keys[i], v[i]);
        else if (v[i] < r->lo[i] || v[i] > r->hi[i])
            NOTE("%s = %g is outside the trained range [%g, %g]\n", range_keys[i], v[i], r->lo[i], r->hi[i]);
    }
#undef NOTE
    return n;
}

/* ------------------------------------------------------------------------ */
/* tensors                                                                  */
/* ------------------------------------------------------------------------ */

/* n_params is the parameter count of a config (the layout of m4.h's model
 * section), computed before anything is allocated for it. */
static unsigned long long n_params(const m4_model_config *c) {
    unsigned long long F = (unsigned)c->feat_dim, D = (unsigned)c->dim, Hd = (unsigned)c->hidden_dim;
    unsigned long long h1 = (unsigned)c->mlp_hidden1, h2 = (unsigned)c->mlp_hidden2, O = (unsigned)c->out_dim;
    unsigned long long L = (unsigned)c->n_layers;
    return D * F + D + L * (2 * D + 4 * D * D + 3 * Hd * D) + D + D * D + h1 * (F + D) + h1 + h2 * h1 +
           h2 + O * h2 + O + (unsigned)c->n_pct;
}

/* One tensor entry of the header. */
typedef struct {
    const char *name;
    size_t name_len;
    int f16;          /* dtype F16 (else F32) */
    int ndim;
    long long shape[2];
    unsigned long long begin, end;
    int used;
} entry;

static int cmp_entry_begin(const void *a, const void *b) {
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
    uint32_t bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (mant << 13); /* Inf or NaN */
    } else if (exp == 0) {
        float v = (float)mant / 1024.0f / 16384.0f; /* mant * 2^-24, exact */
        return sign ? -v : v;
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint64_t le64(const unsigned char *b) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

/* read_tensor converts entry en into dst (count values), checking shape,
 * dtype, size and every value. */
static m4_status read_tensor(errbuf *e, const unsigned char *data, entry *en, const char *name,
                             int ndim, const int *shape, size_t count, int allow_f16, float *dst) {
    if (!en) return efail(e, M4_ERR_FORMAT, "tensor %s: missing", name);
    int same = en->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = en->shape[i] == shape[i];
    if (!same) {
        if (ndim == 1)
            return efail(e, M4_ERR_FORMAT, "tensor %s: shape of %d dims, want [%d]", name, en->ndim, shape[0]);
        return efail(e, M4_ERR_FORMAT, "tensor %s: shape of %d dims, want [%d %d]", name, en->ndim, shape[0],
                     shape[1]);
    }
    if (en->f16 && !allow_f16)
        return efail(e, M4_ERR_FORMAT, "tensor %s: dtype \"F16\" not allowed here (want F32)", name);
    unsigned long long size = en->f16 ? 2 : 4;
    if (en->end - en->begin != size * count)
        return efail(e, M4_ERR_FORMAT, "tensor %s: %llu bytes for %zu %s values", name, en->end - en->begin,
                     count, en->f16 ? "F16" : "F32");
    const unsigned char *src = data + en->begin;
    for (size_t i = 0; i < count; i++) {
        float v;
        if (en->f16) {
            v = f16_to_f32((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
        } else {
            uint32_t b = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 |
                         (uint32_t)src[4 * i + 2] << 16 | (uint32_t)src[4 * i + 3] << 24;
            memcpy(&v, &b, 4);
        }
        if (!isfinite(v))
            return efail(e, M4_ERR_FORMAT, "tensor %s: element %zu is %s", name, i, isnan(v) ? "NaN" : "Inf");
        if (dst) dst[i] = v;
    }
    return M4_OK;
}

static int cmp_entry_name(const void *a, const void *b) {
    const entry *x = a, *y = b;
    return cmp_key(x->name, x->name_len, y->name, y->name_len);
}

/* find_entry looks a name up in the entries sorted by name. */
static entry *find_entry(entry *es, int n, const char *name) {
    entry key;
    key.name = name;
    key.name_len = strlen(name);
    return n > 0 ? bsearch(&key, es, (size_t)n, sizeof(entry), cmp_entry_name) : NULL;
}

/* ------------------------------------------------------------------------ */
/* the loader                                                               */
/* ------------------------------------------------------------------------ */

#define PREFIX_AVG "adamw.exp_avg."
#define PREFIX_AVG_SQ "adamw.exp_avg_sq."
#define PREFIX_EMA "ema."
#define NORM_SHIFT "input_norm.shift"
#define NORM_SCALE "input_norm.scale"

static m4_status load(m4_model **out, const unsigned char *b, size_t len, int max_batch,
                      m4_checkpoint_info *info, errbuf *e) {
    if (len < 8) return efail(e, M4_ERR_FORMAT, "truncated: %zu bytes, not a checkpoint", len);
    uint64_t hlen = le64(b);
    if (hlen > MAX_HEADER || hlen > len - 8)
        return efail(e, M4_ERR_FORMAT,
                     "header length %llu does not fit the file's %zu bytes (truncated or not a safetensors file)",
                     (unsigned long long)hlen, len);
    const unsigned char *data = b + 8 + hlen;
    size_t data_len = len - 8 - (size_t)hlen;

    m4_status st = M4_OK;
    jparser p;
    entry *es = NULL;
    float *params = NULL, *shift = NULL, *scale = NULL;
    m4_model *m = NULL;
    int root = jparse(&p, (const char *)b + 8, (size_t)hlen);
    if (root < 0) {
        st = efail(e, M4_ERR_FORMAT, "header: %s", p.err);
        goto done;
    }
    if (p.nodes[root].type != J_OBJ) {
        st = efail(e, M4_ERR_FORMAT, "header: not a JSON object");
        goto done;
    }
    /* metadata: a map of strings */
    int meta = jget(&p, root, "__metadata__");
    if (meta < 0 || p.nodes[meta].type != J_OBJ) {
        st = efail(e, M4_ERR_FORMAT, "header: __metadata__ missing or not a map of strings");
        goto done;
    }
    for (int c = p.nodes[meta].first; c >= 0; c = p.nodes[c].next)
        if (p.nodes[c].type != J_STR) {
            st = efail(e, M4_ERR_FORMAT, "header: __metadata__ missing or not a map of strings");
            goto done;
        }
    int kf = jget(&p, meta, "format");
    if (!jstr_eq(&p, kf, "m4-checkpoint")) {
        st = efail(e, M4_ERR_FORMAT, "metadata format = \"%.40s\", want \"m4-checkpoint\" (not an m4 checkpoint)",
                   kf >= 0 ? p.nodes[kf].str : "");
        goto done;
    }
    int kv = jget(&p, meta, "format_version");
    if (!jstr_eq(&p, kv, "1")) {
        st = efail(e, M4_ERR_FORMAT, "metadata format_version = \"%.20s\": unknown version (this libm4 reads version 1)",
                   kv >= 0 ? p.nodes[kv].str : "");
        goto done;
    }
    static const char *const meta_keys[] = {"format", "format_version", "model_config", "features", "training",
                                            "data_sha256", NULL};
    const char *u = unknown_key(&p, meta, meta_keys);
    if (u) {
        st = efail(e, M4_ERR_FORMAT, "metadata: unknown key \"%.40s\"", u);
        goto done;
    }
    m4_checkpoint_info ci;
    memset(&ci, 0, sizeof ci);
    int kc = jget(&p, meta, "model_config");
    if (kc < 0) {
        st = efail(e, M4_ERR_FORMAT, "metadata model_config: missing");
        goto done;
    }
    if ((st = read_config(e, p.nodes[kc].str, p.nodes[kc].str_len, &ci.config)) != M4_OK) goto done;
    int kfe = jget(&p, meta, "features");
    if (kfe < 0) {
        st = efail(e, M4_ERR_FORMAT, "metadata features: missing");
        goto done;
    }
    if ((st = read_features(e, p.nodes[kfe].str, p.nodes[kfe].str_len, &ci)) != M4_OK) goto done;
    int kt = jget(&p, meta, "training");
    if (kt >= 0) {
        /* the training record: inference needs only its trained ranges, but it must be a JSON object */
        jparser q;
        int r = jparse(&q, p.nodes[kt].str, p.nodes[kt].str_len);
        int ok = r >= 0 && q.nodes[r].type == J_OBJ;
        if (!ok) st = efail(e, M4_ERR_FORMAT, "metadata training: %s", r < 0 ? q.err : "not a JSON object");
        else st = read_ranges(e, &q, jget(&q, r, "trained_ranges"), &ci.ranges);
        jp_free(&q);
        if (!ok || st != M4_OK) goto done;
    }

    /* tensor entries */
    int n_entries = p.nodes[root].n - 1;
    es = calloc((size_t)(n_entries > 0 ? n_entries : 1), sizeof(entry));
    if (!es) {
        st = efail(e, M4_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    int ne = 0;
    for (int c = p.nodes[root].first; c >= 0; c = p.nodes[c].next) {
        if (c == meta) continue;
        entry *en = &es[ne++];
        en->name = p.nodes[c].key;
        en->name_len = p.nodes[c].key_len;
        if (p.nodes[c].type != J_OBJ) {
            st = efail(e, M4_ERR_FORMAT, "tensor %.80s: header entry is not an object", en->name);
            goto done;
        }
        static const char *const ek[] = {"dtype", "shape", "data_offsets", NULL};
        if ((u = unknown_key(&p, c, ek))) {
            st = efail(e, M4_ERR_FORMAT, "tensor %.80s: header entry: unknown field \"%.40s\"", en->name, u);
            goto done;
        }
        int kd = jget(&p, c, "dtype"), ks = jget(&p, c, "shape"), ko = jget(&p, c, "data_offsets");
        if (jstr_eq(&p, kd, "F16")) {
            en->f16 = 1;
        } else if (!jstr_eq(&p, kd, "F32")) {
            st = efail(e, M4_ERR_FORMAT, "tensor %.80s: dtype %s%.20s%s not allowed (want F32 or F16)", en->name,
                       kd >= 0 && p.nodes[kd].type == J_STR ? "\"" : "",
                       kd >= 0 && p.nodes[kd].type == J_STR ? p.nodes[kd].str : "missing",
                       kd >= 0 && p.nodes[kd].type == J_STR ? "\"" : "");
            goto done;
        }
        if (ks < 0 || p.nodes[ks].type != J_ARR || p.nodes[ks].n > 2) {
            st = efail(e, M4_ERR_FORMAT, "tensor %.80s: shape missing or not 1 or 2 dims", en->name);
            goto done;
        }
        en->ndim = p.nodes[ks].n;
        int i = 0;
        for (int d = p.nodes[ks].first; d >= 0; d = p.nodes[d].next, i++)
            if (jint(&p, d, 0, 1LL << 40, &en->shape[i])) {
                st = efail(e, M4_ERR_FORMAT, "tensor %.80s: shape entry %d is not a size", en->name, i);
                goto done;
            }
        if (ko < 0 || p.nodes[ko].type != J_ARR || p.nodes[ko].n != 2) {
            st = efail(e, M4_ERR_FORMAT, "tensor %.80s: data_offsets missing or not [begin, end]", en->name);
            goto done;
        }
        long long bo, eo;
        int k0 = p.nodes[ko].first, k1 = p.nodes[k0].next;
        if (jint(&p, k0, 0, 1LL << 62, &bo) || jint(&p, k1, 0, 1LL << 62, &eo) || eo < bo) {
            st = efail(e, M4_ERR_FORMAT, "tensor %.80s: data_offsets are not 0 <= begin <= end", en->name);
            goto done;
        }
        en->begin = (unsigned long long)bo;
        en->end = (unsigned long long)eo;
    }
    /* the tensors must tile the data area exactly */
    {
        entry **order = malloc((size_t)(ne > 0 ? ne : 1) * sizeof(entry *));
        if (!order) {
            st = efail(e, M4_ERR_NO_MEMORY, "out of memory");
            goto done;
        }
        for (int i = 0; i < ne; i++) order[i] = &es[i];
        qsort(order, (size_t)ne, sizeof(entry *), cmp_entry_begin);
        unsigned long long pos = 0;
        for (int i = 0; i < ne && st == M4_OK; i++) {
            if (order[i]->begin != pos)
                st = efail(e, M4_ERR_FORMAT, "tensor %.80s: data_offsets [%llu, %llu] leave a gap or overlap at byte %llu",
                           order[i]->name, order[i]->begin, order[i]->end, pos);
            pos = order[i]->end;
        }
        free(order);
        if (st != M4_OK) goto done;
        if (pos != data_len) {
            if (pos > data_len)
                st = efail(e, M4_ERR_FORMAT, "truncated: tensors need %llu data bytes, the file has %zu", pos, data_len);
            else
                st = efail(e, M4_ERR_FORMAT, "%llu bytes after the last tensor", (unsigned long long)data_len - pos);
            goto done;
        }
    }
    /* the tensor data must be what was written: its SHA-256, when the file
     * carries one (m4 writes it; files of m4 before 0.2 lack it) */
    int ksum = jget(&p, meta, "data_sha256");
    if (ksum >= 0) {
        const jnode *sn = &p.nodes[ksum];
        int hex_ok = sn->str_len == 64;
        for (size_t i = 0; hex_ok && i < 64; i++)
            hex_ok = (sn->str[i] >= '0' && sn->str[i] <= '9') || (sn->str[i] >= 'a' && sn->str[i] <= 'f');
        if (!hex_ok) {
            st = efail(e, M4_ERR_FORMAT, "metadata data_sha256: \"%.70s\" is not 64 lowercase hex digits", sn->str);
            goto done;
        }
        char got[65];
        sha256_hex(data, data_len, got);
        if (memcmp(got, sn->str, 64) != 0) {
            st = efail(e, M4_ERR_FORMAT,
                       "metadata data_sha256: the tensor data hash to %.16s..., the file says %.16s...: the file is corrupt",
                       got, sn->str);
            goto done;
        }
        ci.checksum = 1;
    }
    /* the parameters must fit in what the file holds before anything is
     * allocated for them (2 bytes each at least, as F16) */
    unsigned long long np = n_params(&ci.config);
    if (np > data_len / 2) {
        st = efail(e, M4_ERR_FORMAT, "metadata model_config: a model of %llu parameters cannot fit the file's %zu data bytes",
                   np, data_len);
        goto done;
    }
    {
        /* inference activations grow with widths the parameters need not
         * hold (hidden_dim with 0 layers, max_seq): bound them by the model */
        const m4_model_config *c = &ci.config;
        unsigned long long R = (unsigned long long)(max_batch > 0 ? max_batch : 1) * (unsigned)c->max_seq;
        unsigned long long act = R * ((unsigned)c->feat_dim + 10ULL * (unsigned)c->dim + 3ULL * (unsigned)c->hidden_dim) +
                                 R * (unsigned)c->n_heads * (unsigned)c->max_seq;
        if (act > 64 * np + (1ULL << 24)) {
            st = efail(e, M4_ERR_FORMAT, "metadata model_config: activations of %llu floats for a model of %llu parameters",
                       act, np);
            goto done;
        }
    }
    if (max_batch < 1) max_batch = 1;
    m4_status cs = m4_model_create(&m, &ci.config, max_batch, 0, 0);
    if (cs == M4_ERR_INVALID_ARGUMENT) {
        st = efail(e, M4_ERR_FORMAT, "metadata model_config: a config the native model cannot run (sizes beyond its limits)");
        goto done;
    }
    if (cs != M4_OK) {
        st = efail(e, cs, "creating the model: %s", m4_strerror(cs));
        goto done;
    }
    if (!ci.m3_features || ci.config.feat_dim != M4_FEAT_ROW || ci.config.n_buckets_in != M4_FEAT_BUCKETS ||
        ci.config.n_pct != M4_FEAT_PERCENTILES || ci.config.out_dim != M4_FEAT_OUTPUTS) {
        ci.m3_features = 0;
    }

    /* which tensors the file must hold */
    int nt = m4_model_num_tensors(m);
    m4_tensor_info t0;
    m4_model_tensor(m, 0, &t0);
    char nm[160];
    snprintf(nm, sizeof nm, PREFIX_AVG "%s", t0.name);
    qsort(es, (size_t)ne, sizeof(entry), cmp_entry_name);
    ci.has_optimizer_state = find_entry(es, ne, nm) != NULL;
    ci.has_input_norm = find_entry(es, ne, NORM_SHIFT) != NULL;
    snprintf(nm, sizeof nm, PREFIX_EMA "%s", t0.name);
    int has_ema = find_entry(es, ne, nm) != NULL;
    if (has_ema && !ci.has_optimizer_state) {
        st = efail(e, M4_ERR_FORMAT, "tensor %s: a parameter average without optimizer state", nm);
        goto done;
    }
    /* mark every entry a model of this config reads; any other is unknown */
    if (ci.has_input_norm) {
        entry *sc = find_entry(es, ne, NORM_SCALE);
        if (sc) sc->used = 1;
        find_entry(es, ne, NORM_SHIFT)->used = 1;
    }
    for (int t = 0; t < nt; t++) {
        m4_tensor_info ti;
        m4_model_tensor(m, t, &ti);
        for (int k = 0; k < (ci.has_optimizer_state ? 3 + has_ema : 1); k++) {
            snprintf(nm, sizeof nm, "%s%s", k == 0 ? "" : k == 1 ? PREFIX_AVG : k == 2 ? PREFIX_AVG_SQ : PREFIX_EMA,
                     ti.name);
            entry *en = find_entry(es, ne, nm);
            if (en) en->used = 1;
        }
    }
    for (int i = 0; i < ne; i++)
        if (!es[i].used) {
            st = efail(e, M4_ERR_FORMAT, "tensor %.80s: unknown to a model of this config", es[i].name);
            goto done;
        }
    /* parameters, in the model's order */
    size_t total = m4_model_num_params(m);
    params = malloc(total * sizeof(float));
    if (!params) {
        st = efail(e, M4_ERR_NO_MEMORY, "out of memory for %zu parameters", total);
        goto done;
    }
    int any_f16 = 0;
    for (int t = 0; t < nt; t++) {
        m4_tensor_info ti;
        m4_model_tensor(m, t, &ti);
        entry *en = find_entry(es, ne, ti.name);
        if ((st = read_tensor(e, data, en, ti.name, ti.ndim, ti.shape, ti.size, 1, params + ti.offset)) != M4_OK)
            goto done;
        any_f16 |= en->f16;
    }
    ci.f16 = any_f16;
    if (ci.has_input_norm) {
        int shape[2] = {ci.config.feat_dim, 0};
        size_t F = (size_t)ci.config.feat_dim;
        shift = malloc(F * sizeof(float));
        scale = malloc(F * sizeof(float));
        if (!shift || !scale) {
            st = efail(e, M4_ERR_NO_MEMORY, "out of memory");
            goto done;
        }
        if ((st = read_tensor(e, data, find_entry(es, ne, NORM_SHIFT), NORM_SHIFT, 1, shape, F, 0, shift)) != M4_OK ||
            (st = read_tensor(e, data, find_entry(es, ne, NORM_SCALE), NORM_SCALE, 1, shape, F, 0, scale)) != M4_OK)
            goto done;
        for (size_t j = 0; j < F; j++)
            if (scale[j] == 0) {
                st = efail(e, M4_ERR_FORMAT, "input normalisation: column %zu: scale 0 (want != 0)", j);
                goto done;
            }
    }
    if (ci.has_optimizer_state) {
        /* AdamW state and the parameter average: checked (F32, shapes,
         * finite values) but not kept */
        for (int t = 0; t < nt; t++) {
            m4_tensor_info ti;
            m4_model_tensor(m, t, &ti);
            for (int k = 0; k < 2 + has_ema; k++) {
                snprintf(nm, sizeof nm, "%s%s", k == 0 ? PREFIX_AVG : k == 1 ? PREFIX_AVG_SQ : PREFIX_EMA, ti.name);
                if ((st = read_tensor(e, data, find_entry(es, ne, nm), nm, ti.ndim, ti.shape, ti.size, 0, NULL)) != M4_OK)
                    goto done;
            }
        }
    }
    if ((cs = m4_model_set_params(m, params, total)) != M4_OK) {
        st = efail(e, cs == M4_ERR_NO_MEMORY ? cs : M4_ERR_FORMAT, "%s", m4_model_error(m));
        goto done;
    }
    if (ci.has_input_norm && (cs = m4_model_set_input_norm(m, shift, scale)) != M4_OK) {
        st = efail(e, cs == M4_ERR_NO_MEMORY ? cs : M4_ERR_FORMAT, "%s", m4_model_error(m));
        goto done;
    }
    if (!ci.m3_features) {
        st = efail(e, M4_ERR_UNSUPPORTED,
                   "features \"%.40s\" (feat_dim %d, out_dim %d): libm4 builds " M4_FEATURES_V1 " and " M4_FEATURES_V2 " feature maps only (%d values a row, %d outputs)",
                   ci.features, ci.config.feat_dim, ci.config.out_dim, M4_FEAT_ROW, M4_FEAT_OUTPUTS);
        goto done;
    }
    if (info) *info = ci;
    if (out) {
        *out = m;
        m = NULL;
    }
done:
    jp_free(&p);
    free(es);
    free(params);
    free(shift);
    free(scale);
    m4_model_destroy(m);
    return st;
}

m4_status m4_model_load_buffer(m4_model **out, const void *data, size_t len, const char *name,
                               int max_batch, m4_checkpoint_info *info, char *err, size_t err_len) {
    errbuf e = {err, err_len, name ? name : "checkpoint"};
    if (err && err_len) err[0] = 0;
    if (out) *out = NULL;
    if (!data && len > 0) return efail(&e, M4_ERR_INVALID_ARGUMENT, "NULL data");
    return load(out, data, len, max_batch, info, &e);
}

m4_status m4_model_load(m4_model **out, const char *path, int max_batch, m4_checkpoint_info *info,
                        char *err, size_t err_len) {
    errbuf e = {err, err_len, path ? path : "(null)"};
    if (err && err_len) err[0] = 0;
    if (out) *out = NULL;
    if (!path) return efail(&e, M4_ERR_INVALID_ARGUMENT, "no path");
#ifdef M4_HAVE_MMAP
    int fd = open(path, O_RDONLY);
    if (fd < 0) return efail(&e, M4_ERR_IO, "%s", strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int en = errno;
        close(fd);
        return efail(&e, M4_ERR_IO, "%s", strerror(en));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return efail(&e, M4_ERR_IO, "not a regular file");
    }
    size_t len = (size_t)sb.st_size;
    if (len == 0) {
        close(fd);
        return load(out, (const unsigned char *)"", 0, max_batch, info, &e);
    }
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return efail(&e, M4_ERR_IO, "mmap: %s", strerror(errno));
    m4_status st = load(out, map, len, max_batch, info, &e);
    munmap(map, len);
    return st;
#else
    FILE *f = fopen(path, "rb");
    if (!f) return efail(&e, M4_ERR_IO, "%s", strerror(errno));
    size_t cap = 1 << 20, len = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            return efail(&e, M4_ERR_NO_MEMORY, "out of memory");
        }
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) break;
        unsigned char *nb = realloc(buf, cap * 2);
        if (!nb) free(buf);
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return efail(&e, M4_ERR_IO, "read error");
    }
    m4_status st = load(out, buf, len, max_batch, info, &e);
    free(buf);
    return st;
#endif
}
