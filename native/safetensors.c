/*
 * safetensors.c: the safetensors layer both of m4's checkpoint readers use
 * (safetensors_internal.h): the header's JSON, its tensor table, the SHA-256
 * of the tensor data, one tensor's values, and the file itself (mapped).
 *
 * Every count read from the file is checked against what the file's size
 * can back before anything is allocated from it. The JSON parser is small
 * and bounded (nesting, sizes) and rejects what JSON does not allow, plus
 * duplicate keys.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* open, fstat, mmap */
#endif
#include "safetensors_internal.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
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


m4_status m4i_fail(m4i_errbuf *e, m4_status st, const char *fmt, ...) {
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


void m4i_json_free(m4i_json *p) {
    free(p->nodes);
    free(p->text);
    p->nodes = NULL;
    p->text = NULL;
}

__attribute__((format(printf, 2, 3))) static int jerr(m4i_json *p, const char *fmt, ...) {
    if (p->err[0]) return -1;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
    if (k >= 0 && (size_t)k < sizeof p->err)
        snprintf(p->err + k, sizeof p->err - (size_t)k, " at byte %zu", p->pos);
    return -1;
}

static void skip_ws(m4i_json *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int new_node(m4i_json *p, int type) {
    if (p->n == p->cap) {
        /* each node takes at least one byte of source: the count is bounded */
        int c = p->cap ? 2 * p->cap : 64;
        if ((size_t)c > p->len + 64) c = (int)(p->len + 64);
        if (c <= p->n) return jerr(p, "too many values");
        m4i_jnode *q = realloc(p->nodes, (size_t)c * sizeof(m4i_jnode));
        if (!q) return jerr(p, "out of memory");
        p->nodes = q;
        p->cap = c;
    }
    m4i_jnode *nd = &p->nodes[p->n];
    memset(nd, 0, sizeof *nd);
    nd->type = type;
    nd->first = nd->next = -1;
    return p->n++;
}

static void put_utf8(m4i_json *p, unsigned cp) {
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

static int hex4(m4i_json *p, unsigned *out) {
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
static int parse_string(m4i_json *p, const char **out, size_t *out_len) {
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

static int parse_value(m4i_json *p, int depth);

static int parse_number(m4i_json *p) {
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

static int parse_literal(m4i_json *p, const char *word, int type) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) return jerr(p, "bad value");
    p->pos += n;
    return new_node(p, type);
}

static int parse_container(m4i_json *p, int depth, int obj) {
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

static int parse_value(m4i_json *p, int depth) {
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
    const m4i_jnode *a = *(const m4i_jnode *const *)x, *b = *(const m4i_jnode *const *)y;
    return cmp_key(a->key, a->key_len, b->key, b->key_len);
}

/* check_duplicates refuses an object with a key twice (ambiguous: JSON
 * readers differ on which one wins), in O(n log n). */
static int check_duplicates(m4i_json *p) {
    const m4i_jnode **keys = NULL;
    int cap = 0, bad = 0;
    for (int k = 0; k < p->n && !bad; k++) {
        if (p->nodes[k].type != J_OBJ || p->nodes[k].n < 2) continue;
        if (p->nodes[k].n > cap) {
            cap = p->nodes[k].n;
            const m4i_jnode **q = realloc(keys, (size_t)cap * sizeof(*q));
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

/* m4i_json_parse parses a whole document (trailing whitespace only); returns the
 * root node or -1 with p->err set. */
int m4i_json_parse(m4i_json *p, const char *s, size_t len) {
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

int m4i_json_get(const m4i_json *p, int obj, const char *key) {
    size_t n = strlen(key);
    for (int c = p->nodes[obj].first; c >= 0; c = p->nodes[c].next)
        if (p->nodes[c].key_len == n && memcmp(p->nodes[c].key, key, n) == 0) return c;
    return -1;
}

/* m4i_json_int reads an integer node (digits only, as Go's json reads into int). */
int m4i_json_int(const m4i_json *p, int k, long long lo, long long hi, long long *out) {
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

/* m4i_json_num reads a number node as a double or, with as_float, a float rounded
 * once from the decimal text (as Go reads into float32); locale-proof. */
int m4i_json_num(const m4i_json *p, int k, int as_float, double *out) {
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

int m4i_json_str_eq(const m4i_json *p, int k, const char *s) {
    return k >= 0 && p->nodes[k].type == J_STR && p->nodes[k].str_len == strlen(s) &&
           memcmp(p->nodes[k].str, s, p->nodes[k].str_len) == 0;
}

/* check_keys fails on a member of obj not in the NULL-terminated list. */
const char *m4i_json_unknown_key(const m4i_json *p, int obj, const char *const *known) {
    for (int c = p->nodes[obj].first; c >= 0; c = p->nodes[c].next) {
        int ok = 0;
        for (const char *const *k = known; *k; k++)
            if (p->nodes[c].key_len == strlen(*k) && memcmp(p->nodes[c].key, *k, p->nodes[c].key_len) == 0)
                ok = 1;
        if (!ok) return p->nodes[c].key;
    }
    return NULL;
}

int m4i_json_object(m4i_errbuf *e, m4i_json *p, const char *text, size_t len, const char *what,
                    const char *const *known) {
    int root = m4i_json_parse(p, text, len);
    if (root < 0) {
        m4i_fail(e, M4_ERR_FORMAT, "metadata %s: %s", what, p->err);
        return -1;
    }
    if (p->nodes[root].type != J_OBJ) {
        m4i_fail(e, M4_ERR_FORMAT, "metadata %s: not a JSON object", what);
        return -1;
    }
    const char *u = m4i_json_unknown_key(p, root, known);
    if (u) {
        m4i_fail(e, M4_ERR_FORMAT, "metadata %s: unknown field \"%.40s\"", what, u);
        return -1;
    }
    return root;
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

/* m4i_sha256_hex writes the SHA-256 of data[0..len) as 64 lowercase hex digits
 * and a NUL to hex (65 bytes). */
void m4i_sha256_hex(const unsigned char *data, size_t len, char hex[65]) {
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
/* the tensor table                                                         */
/* ------------------------------------------------------------------------ */

static int cmp_entry_begin(const void *a, const void *b) {
    const m4i_st_entry *x = *(const m4i_st_entry *const *)a, *y = *(const m4i_st_entry *const *)b;
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

m4_status m4i_st_read_tensor(m4i_errbuf *e, const m4i_st_file *f, const m4i_st_entry *en, const char *name,
                             int ndim, const int *shape, size_t count, int allow_f16, float *dst) {
    if (!en) return m4i_fail(e, M4_ERR_FORMAT, "tensor %s: missing", name);
    int same = en->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = en->shape[i] == shape[i];
    if (!same) {
        char got[64], want[32];
        int k = snprintf(got, sizeof got, "[");
        for (int i = 0; i < en->ndim; i++)
            k += snprintf(got + k, sizeof got - (size_t)k, "%s%lld", i ? " " : "", en->shape[i]);
        snprintf(got + k, sizeof got - (size_t)k, "]");
        if (ndim == 1) snprintf(want, sizeof want, "[%d]", shape[0]);
        else snprintf(want, sizeof want, "[%d %d]", shape[0], shape[1]);
        return m4i_fail(e, M4_ERR_FORMAT, "tensor %s: shape %s, want %s", name, got, want);
    }
    if (en->f16 && !allow_f16)
        return m4i_fail(e, M4_ERR_FORMAT, "tensor %s: dtype \"F16\" not allowed here (want F32)", name);
    unsigned long long size = en->f16 ? 2 : 4;
    if (en->end - en->begin != size * count)
        return m4i_fail(e, M4_ERR_FORMAT, "tensor %s: %llu bytes for %zu %s values", name, en->end - en->begin,
                        count, en->f16 ? "F16" : "F32");
    const unsigned char *src = f->data + en->begin;
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
            return m4i_fail(e, M4_ERR_FORMAT, "tensor %s: element %zu is %s", name, i, isnan(v) ? "NaN" : "Inf");
        if (dst) dst[i] = v;
    }
    return M4_OK;
}

static int cmp_entry_name(const void *a, const void *b) {
    const m4i_st_entry *x = a, *y = b;
    return cmp_key(x->name, x->name_len, y->name, y->name_len);
}

m4i_st_entry *m4i_st_find(const m4i_st_file *f, const char *name) {
    m4i_st_entry key;
    key.name = name;
    key.name_len = strlen(name);
    return f->ne > 0 ? bsearch(&key, f->es, (size_t)f->ne, sizeof(m4i_st_entry), cmp_entry_name) : NULL;
}

void m4i_st_free(m4i_st_file *f) {
    m4i_json_free(&f->p);
    free(f->es);
    f->es = NULL;
    f->ne = 0;
}

m4_status m4i_st_header(m4i_st_file *f, const unsigned char *b, size_t len, const char *format,
                        const char *what, const char *const *meta_keys, m4i_errbuf *e) {
    memset(f, 0, sizeof *f);
    f->root = f->meta = -1;
    if (len < 8) return m4i_fail(e, M4_ERR_FORMAT, "truncated: %zu bytes, not a checkpoint", len);
    uint64_t hlen = le64(b);
    if (hlen > MAX_HEADER || hlen > len - 8)
        return m4i_fail(e, M4_ERR_FORMAT,
                        "header length %llu does not fit the file's %zu bytes (truncated or not a safetensors file)",
                        (unsigned long long)hlen, len);
    f->data = b + 8 + hlen;
    f->data_len = len - 8 - (size_t)hlen;
    m4i_json *p = &f->p;
    int root = m4i_json_parse(p, (const char *)b + 8, (size_t)hlen);
    if (root < 0) return m4i_fail(e, M4_ERR_FORMAT, "header: %s", p->err);
    if (p->nodes[root].type != J_OBJ) return m4i_fail(e, M4_ERR_FORMAT, "header: not a JSON object");
    f->root = root;
    /* metadata: a map of strings */
    int meta = m4i_json_get(p, root, "__metadata__");
    int ok = meta >= 0 && p->nodes[meta].type == J_OBJ;
    for (int c = ok ? p->nodes[meta].first : -1; c >= 0; c = p->nodes[c].next)
        if (p->nodes[c].type != J_STR) ok = 0;
    if (!ok) return m4i_fail(e, M4_ERR_FORMAT, "header: __metadata__ missing or not a map of strings");
    f->meta = meta;
    int kf = m4i_json_get(p, meta, "format");
    if (!m4i_json_str_eq(p, kf, format))
        return m4i_fail(e, M4_ERR_FORMAT, "metadata format = \"%.40s\", want \"%s\" (not %s)",
                        kf >= 0 ? p->nodes[kf].str : "", format, what);
    int kv = m4i_json_get(p, meta, "format_version");
    if (!m4i_json_str_eq(p, kv, "1"))
        return m4i_fail(e, M4_ERR_FORMAT,
                        "metadata format_version = \"%.20s\": unknown version (this libm4 reads version 1)",
                        kv >= 0 ? p->nodes[kv].str : "");
    const char *u = m4i_json_unknown_key(p, meta, meta_keys);
    if (u) return m4i_fail(e, M4_ERR_FORMAT, "metadata: unknown key \"%.40s\"", u);
    return M4_OK;
}

/* read_entry reads header member c into en. */
static m4_status read_entry(const m4i_json *p, int c, m4i_st_entry *en, m4i_errbuf *e) {
    en->name = p->nodes[c].key;
    en->name_len = p->nodes[c].key_len;
    if (p->nodes[c].type != J_OBJ)
        return m4i_fail(e, M4_ERR_FORMAT, "tensor %.80s: header entry is not an object", en->name);
    static const char *const ek[] = {"dtype", "shape", "data_offsets", NULL};
    const char *u = m4i_json_unknown_key(p, c, ek);
    if (u) return m4i_fail(e, M4_ERR_FORMAT, "tensor %.80s: header entry: unknown field \"%.40s\"", en->name, u);
    int kd = m4i_json_get(p, c, "dtype"), ks = m4i_json_get(p, c, "shape"), ko = m4i_json_get(p, c, "data_offsets");
    if (m4i_json_str_eq(p, kd, "F16")) {
        en->f16 = 1;
    } else if (!m4i_json_str_eq(p, kd, "F32")) {
        int str = kd >= 0 && p->nodes[kd].type == J_STR;
        return m4i_fail(e, M4_ERR_FORMAT, "tensor %.80s: dtype %s%.20s%s not allowed (want F32 or F16)", en->name,
                        str ? "\"" : "", str ? p->nodes[kd].str : "missing", str ? "\"" : "");
    }
    if (ks < 0 || p->nodes[ks].type != J_ARR || p->nodes[ks].n > 2)
        return m4i_fail(e, M4_ERR_FORMAT, "tensor %.80s: shape missing or not 1 or 2 dims", en->name);
    en->ndim = p->nodes[ks].n;
    int i = 0;
    for (int d = p->nodes[ks].first; d >= 0; d = p->nodes[d].next, i++)
        if (m4i_json_int(p, d, 0, 1LL << 40, &en->shape[i]))
            return m4i_fail(e, M4_ERR_FORMAT, "tensor %.80s: shape entry %d is not a size", en->name, i);
    if (ko < 0 || p->nodes[ko].type != J_ARR || p->nodes[ko].n != 2)
        return m4i_fail(e, M4_ERR_FORMAT, "tensor %.80s: data_offsets missing or not [begin, end]", en->name);
    long long bo, eo;
    int k0 = p->nodes[ko].first, k1 = p->nodes[k0].next;
    if (m4i_json_int(p, k0, 0, 1LL << 62, &bo) || m4i_json_int(p, k1, 0, 1LL << 62, &eo) || eo < bo)
        return m4i_fail(e, M4_ERR_FORMAT, "tensor %.80s: data_offsets are not 0 <= begin <= end", en->name);
    en->begin = (unsigned long long)bo;
    en->end = (unsigned long long)eo;
    return M4_OK;
}

/* check_tiling checks that the entries cover the data area exactly. */
static m4_status check_tiling(const m4i_st_file *f, m4i_errbuf *e) {
    int ne = f->ne;
    m4i_st_entry **order = malloc((size_t)(ne > 0 ? ne : 1) * sizeof(m4i_st_entry *));
    if (!order) return m4i_fail(e, M4_ERR_NO_MEMORY, "out of memory");
    for (int i = 0; i < ne; i++) order[i] = &f->es[i];
    qsort(order, (size_t)ne, sizeof(m4i_st_entry *), cmp_entry_begin);
    m4_status st = M4_OK;
    unsigned long long pos = 0;
    for (int i = 0; i < ne && st == M4_OK; i++) {
        if (order[i]->begin != pos)
            st = m4i_fail(e, M4_ERR_FORMAT,
                          "tensor %.80s: data_offsets [%llu, %llu] leave a gap or overlap at byte %llu",
                          order[i]->name, order[i]->begin, order[i]->end, pos);
        pos = order[i]->end;
    }
    free(order);
    if (st != M4_OK) return st;
    if (pos > f->data_len)
        return m4i_fail(e, M4_ERR_FORMAT, "truncated: tensors need %llu data bytes, the file has %zu", pos,
                        f->data_len);
    if (pos < f->data_len)
        return m4i_fail(e, M4_ERR_FORMAT, "%llu bytes after the last tensor",
                        (unsigned long long)f->data_len - pos);
    return M4_OK;
}

m4_status m4i_st_tensors(m4i_st_file *f, int require_checksum, int *checksum, m4i_errbuf *e) {
    const m4i_json *p = &f->p;
    if (checksum) *checksum = 0;
    int n_entries = p->nodes[f->root].n - 1;
    f->es = calloc((size_t)(n_entries > 0 ? n_entries : 1), sizeof(m4i_st_entry));
    if (!f->es) return m4i_fail(e, M4_ERR_NO_MEMORY, "out of memory");
    f->ne = 0;
    for (int c = p->nodes[f->root].first; c >= 0; c = p->nodes[c].next) {
        if (c == f->meta) continue;
        m4_status st = read_entry(p, c, &f->es[f->ne++], e);
        if (st != M4_OK) return st;
    }
    m4_status st = check_tiling(f, e);
    if (st != M4_OK) return st;
    /* the tensor data must be what was written: its SHA-256 */
    int ksum = m4i_json_get(p, f->meta, "data_sha256");
    if (ksum < 0 && require_checksum)
        return m4i_fail(e, M4_ERR_FORMAT, "metadata data_sha256: missing (nothing vouches for the tensor data)");
    if (ksum >= 0) {
        const m4i_jnode *sn = &p->nodes[ksum];
        int hex_ok = sn->str_len == 64;
        for (size_t i = 0; hex_ok && i < 64; i++)
            hex_ok = (sn->str[i] >= '0' && sn->str[i] <= '9') || (sn->str[i] >= 'a' && sn->str[i] <= 'f');
        if (!hex_ok)
            return m4i_fail(e, M4_ERR_FORMAT, "metadata data_sha256: \"%.70s\" is not 64 lowercase hex digits",
                            sn->str);
        char got[65];
        m4i_sha256_hex(f->data, f->data_len, got);
        if (memcmp(got, sn->str, 64) != 0)
            return m4i_fail(e, M4_ERR_FORMAT,
                            "metadata data_sha256: the tensor data hash to %.16s..., the file says %.16s...: the file "
                            "is corrupt",
                            got, sn->str);
        if (checksum) *checksum = 1;
    }
    qsort(f->es, (size_t)f->ne, sizeof(m4i_st_entry), cmp_entry_name);
    return M4_OK;
}

/* ------------------------------------------------------------------------ */
/* the file                                                                 */
/* ------------------------------------------------------------------------ */

m4_status m4i_read_file(const char *path, const unsigned char **b, size_t *len, void **token, m4i_errbuf *e) {
    *b = (const unsigned char *)"";
    *len = 0;
    *token = NULL;
#ifdef M4_HAVE_MMAP
    int fd = open(path, O_RDONLY);
    if (fd < 0) return m4i_fail(e, M4_ERR_IO, "%s", strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int en = errno;
        close(fd);
        return m4i_fail(e, M4_ERR_IO, "%s", strerror(en));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return m4i_fail(e, M4_ERR_IO, "not a regular file");
    }
    size_t n = (size_t)sb.st_size;
    if (n == 0) {
        close(fd);
        return M4_OK;
    }
    void *map = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return m4i_fail(e, M4_ERR_IO, "mmap: %s", strerror(errno));
    *b = map;
    *len = n;
    *token = map;
    return M4_OK;
#else
    FILE *fp = fopen(path, "rb");
    if (!fp) return m4i_fail(e, M4_ERR_IO, "%s", strerror(errno));
    size_t cap = 1 << 20, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(fp);
            return m4i_fail(e, M4_ERR_NO_MEMORY, "out of memory");
        }
        n += fread(buf + n, 1, cap - n, fp);
        if (n < cap) break;
        unsigned char *nb = realloc(buf, cap * 2);
        if (!nb) free(buf);
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(buf);
        return m4i_fail(e, M4_ERR_IO, "read error");
    }
    *b = buf;
    *len = n;
    *token = buf;
    return M4_OK;
#endif
}

void m4i_release_file(const unsigned char *b, size_t len, void *token) {
    (void)b;
#ifdef M4_HAVE_MMAP
    if (token) munmap(token, len);
#else
    (void)len;
    free(token);
#endif
}
