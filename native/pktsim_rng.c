/*
 * pktsim_rng.c: ns-3's MRG32k3a streams (RngStream with seed 1, run 1), the
 * draws behind random ECN marking, PFC frames' IP ids and link loss.
 */
#include "pktsim_internal.h"

#include <stdlib.h>
#include <string.h>

static void matvec(const mat3 a, uint64_t v[3], uint64_t m) {
    uint64_t x[3];
    for (int i = 0; i < 3; i++) {
        uint64_t s = 0;
        for (int j = 0; j < 3; j++) s = (s + (a[i][j] * v[j]) % m) % m;
        x[i] = s;
    }
    for (int i = 0; i < 3; i++) v[i] = x[i];
}

static void matmat(const mat3 a, const mat3 b, mat3 c, uint64_t m) {
    mat3 w;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            uint64_t s = 0;
            for (int k = 0; k < 3; k++) s = (s + (a[i][k] * b[k][j]) % m) % m;
            w[i][j] = s;
        }
    memcpy(c, w, sizeof(w));
}

/* pow2[e-1] = A^(2^e) for e = 1..190, as ns-3 precalculates. */
static void rng_pow2_table(mat3 *p1, mat3 *p2, int n) {
    mat3 a1 = {{0, 1, 0}, {0, 0, 1}, {RNG_M1 - 810728u, 1403580u, 0}};
    mat3 a2 = {{0, 1, 0}, {0, 0, 1}, {RNG_M2 - 1370589u, 0, 527612u}};
    for (int e = 0; e < n; e++) {
        matmat(a1, a1, a1, RNG_M1);
        matmat(a2, a2, a2, RNG_M2);
        memcpy(p1[e], a1, sizeof(mat3));
        memcpy(p2[e], a2, sizeof(mat3));
    }
}

/* AdvanceNthBy(nth, by): apply A^(nth * 2^by) bit by bit. */
static void rng_advance(const mat3 *p1, const mat3 *p2, uint64_t nth, int by, uint64_t st[6]) {
    for (int b = 63; b >= 0; b--)
        if ((nth >> b) & 1) {
            matvec((const uint64_t(*)[3])p1[by + b - 1], st, RNG_M1);
            matvec((const uint64_t(*)[3])p2[by + b - 1], st + 3, RNG_M2);
        }
}

int pk_rng_init(rng_streams *r, uint64_t first, uint64_t st50[6]) {
    mat3 *p1 = malloc(sizeof(mat3) * 190), *p2 = malloc(sizeof(mat3) * 190);
    if (!p1 || !p2) {
        free(p1);
        free(p2);
        return -1;
    }
    rng_pow2_table(p1, p2, 190);
    memcpy(r->a1p127, p1[126], sizeof(mat3));
    memcpy(r->a2p127, p2[126], sizeof(mat3));
    memcpy(r->a1p76, p1[75], sizeof(mat3));
    memcpy(r->a2p76, p2[75], sizeof(mat3));
    for (int i = 0; i < 6; i++) r->base[i] = 1;
    rng_advance((const mat3 *)p1, (const mat3 *)p2, first, 127, r->base);
    r->next_index = first;
    if (st50) {
        for (int i = 0; i < 6; i++) st50[i] = 1;
        rng_advance((const mat3 *)p1, (const mat3 *)p2, (1ull << 63) + 50, 127, st50);
        rng_advance((const mat3 *)p1, (const mat3 *)p2, 1, 76, st50);
    }
    free(p1);
    free(p2);
    return 0;
}

double pk_rng_u01(uint64_t s[6]) {
    int64_t p1 = (int64_t)(1403580u * s[1] % RNG_M1) - (int64_t)(810728u * s[0] % RNG_M1);
    if (p1 < 0) p1 += (int64_t)RNG_M1;
    s[0] = s[1];
    s[1] = s[2];
    s[2] = (uint64_t)p1;
    int64_t p2 = (int64_t)(527612u * s[5] % RNG_M2) - (int64_t)(1370589u * s[3] % RNG_M2);
    if (p2 < 0) p2 += (int64_t)RNG_M2;
    s[3] = s[4];
    s[4] = s[5];
    s[5] = (uint64_t)p2;
    const double norm = 1.0 / ((double)RNG_M1 + 1.0);
    return p1 > p2 ? (double)(p1 - p2) * norm : (double)(p1 - p2 + (int64_t)RNG_M1) * norm;
}

double pk_rng_fresh_u01(rng_streams *r) {
    uint64_t st[6];
    memcpy(st, r->base, sizeof(st));
    matvec((const uint64_t(*)[3])r->a1p76, st, RNG_M1);
    matvec((const uint64_t(*)[3])r->a2p76, st + 3, RNG_M2);
    matvec((const uint64_t(*)[3])r->a1p127, r->base, RNG_M1);
    matvec((const uint64_t(*)[3])r->a2p127, r->base + 3, RNG_M2);
    r->next_index++;
    return pk_rng_u01(st);
}

