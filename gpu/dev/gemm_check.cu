/*
 * gemm_check.cu: checks, then times, each tile variant of m4's GPU GEMM
 * (gpu/model_gemm.cu) against a float64 CPU reference, in the style of
 * llm.c's dev/cuda: every variant is validated before it is timed.
 *
 * Build and run (CMake builds it as m4cuda_gemm_check when CUDA is found):
 *   nvcc -O3 -std=c++17 -arch=sm_90 -Inative -Igpu gpu/dev/gemm_check.cu gpu/model_gemm.cu \
 *        -o gemm_check && ./gemm_check
 *
 * C (M,N) = A (M,K) @ B (N,K)^T + bias + residual, on shapes that are not
 * multiples of any tile (the model's K = 1019, 1595), fresh random data for
 * each check, C poisoned with NaN before each run so that an unwritten
 * element fails. Exit status 1 if any check fails.
 */
#include "m4cuda_internal.cuh"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CK(call)                                                                            \
    do {                                                                                    \
        cudaError_t e_ = (call);                                                            \
        if (e_ != cudaSuccess) {                                                            \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
            exit(2);                                                                        \
        }                                                                                   \
    } while (0)

static uint64_t rng = 88172645463325252ULL;
static float frand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static float *upload(const float *h, size_t n) {
    float *d;
    CK(cudaMalloc(&d, n * sizeof(float)));
    CK(cudaMemcpy(d, h, n * sizeof(float), cudaMemcpyHostToDevice));
    return d;
}

static const char *tile_name(m4c_tile t) {
    switch (t) {
    case M4C_TILE_128x128: return "128x128";
    case M4C_TILE_64x64: return "64x64";
    case M4C_TILE_16x32: return "16x32";
    case M4C_TILE_SKINNY: return "skinny";
    default: return "auto";
    }
}

/* one check: returns 1 if the relative error is within tol */
static int check(int sms, m4c_tile tile, int M, int N, int K, int use_bias, int use_res, int relu) {
    size_t na = (size_t)M * K, nb = (size_t)N * K, nc = (size_t)M * N;
    float *A = (float *)malloc(na * 4), *B = (float *)malloc(nb * 4), *bias = (float *)malloc((size_t)N * 4);
    float *res = (float *)malloc(nc * 4), *C = (float *)malloc(nc * 4);
    for (size_t i = 0; i < na; i++) A[i] = frand();
    for (size_t i = 0; i < nb; i++) B[i] = frand();
    for (int i = 0; i < N; i++) bias[i] = frand();
    for (size_t i = 0; i < nc; i++) res[i] = frand();
    float *dA = upload(A, na), *dB = upload(B, nb), *dbias = upload(bias, N), *dres = upload(res, nc);
    float *dC;
    CK(cudaMalloc(&dC, nc * 4));
    CK(cudaMemset(dC, 0xff, nc * 4)); /* NaN */
    m4c_epi ep = {use_bias ? dbias : NULL, use_res ? dres : NULL, N, relu, 0.25f};
    CK(m4c_gemm(0, sms, tile, M, N, K, dA, K, dB, K, dC, N, ep));
    CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(C, dC, nc * 4, cudaMemcpyDeviceToHost));
    double num = 0, den = 0, maxabs = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0;
            for (int k = 0; k < K; k++) acc += (double)A[(size_t)i * K + k] * B[(size_t)j * K + k];
            if (use_bias) acc += bias[j];
            if (use_res) acc += res[(size_t)i * N + j];
            if (relu && !(acc > 0)) acc = 0;
            acc += 0.25;
            double d = (double)C[(size_t)i * N + j] - acc;
            if (isnan(d)) d = INFINITY;
            num += d * d;
            den += acc * acc;
            if (fabs(d) > maxabs) maxabs = fabs(d);
        }
    double rel = sqrt(num / den);
    /* fp32 products summed in fp32 over K terms of size ~1: ~sqrt(K) * 6e-8 */
    double tol = 1e-6 * sqrt((double)K) + 1e-6;
    int ok = rel <= tol;
    printf("%-8s %5d x %5d x %5d bias %d res %d relu %d: rel err %.2e, max abs %.2e  %s\n", tile_name(tile),
           M, N, K, use_bias, use_res, relu, rel, maxabs, ok ? "ok" : "FAIL");
    cudaFree(dA);
    cudaFree(dB);
    cudaFree(dbias);
    cudaFree(dres);
    cudaFree(dC);
    free(A);
    free(B);
    free(bias);
    free(res);
    free(C);
    return ok;
}

static int cmpf(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void timeit(int sms, m4c_tile tile, int M, int N, int K) {
    float *A, *B, *C;
    CK(cudaMalloc(&A, (size_t)M * K * 4));
    CK(cudaMalloc(&B, (size_t)N * K * 4));
    CK(cudaMalloc(&C, (size_t)M * N * 4));
    CK(cudaMemset(A, 0x3c, (size_t)M * K * 4)); /* ~0.01: not zeros */
    CK(cudaMemset(B, 0x3c, (size_t)N * K * 4));
    m4c_epi ep = {NULL, NULL, 0, 0, 0.0f};
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    for (int i = 0; i < 3; i++) CK(m4c_gemm(0, sms, tile, M, N, K, A, K, B, K, C, N, ep));
    enum { REPS = 20 };
    float ts[REPS];
    for (int i = 0; i < REPS; i++) {
        CK(cudaEventRecord(e0));
        CK(m4c_gemm(0, sms, tile, M, N, K, A, K, B, K, C, N, ep));
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        CK(cudaEventElapsedTime(&ts[i], e0, e1));
    }
    qsort(ts, REPS, sizeof(float), cmpf);
    double ms = ts[REPS / 2];
    printf("%-8s %6d x %5d x %5d: %8.3f ms  %7.0f GFLOP/s\n", tile_name(tile), M, N, K, ms,
           2.0 * M * N * (double)K / (ms * 1e-3) / 1e9);
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    cudaFree(A);
    cudaFree(B);
    cudaFree(C);
}

int main(void) {
    cudaDeviceProp p;
    CK(cudaGetDeviceProperties(&p, 0));
    printf("device: %s, sm_%d%d, %d SMs\n", p.name, p.major, p.minor, p.multiProcessorCount);
    int sms = p.multiProcessorCount, ok = 1;
    m4c_tile tiles[] = {M4C_TILE_128x128, M4C_TILE_64x64, M4C_TILE_16x32, M4C_TILE_AUTO, M4C_TILE_SKINNY};
    int shapes[][3] = {{1, 400, 512}, {4, 576, 1019}, {37, 129, 77}, {300, 1536, 576}, {257, 576, 1595},
                       {7, 3072, 576}, {16, 577, 1536}, {29, 1728, 300}};
    for (int t = 0; t < 5; t++)
        for (int s = 0; s < 8; s++) {
            if (tiles[t] == M4C_TILE_SKINNY && shapes[s][0] > 16) continue;
            ok &= check(sms, tiles[t], shapes[s][0], shapes[s][1], shapes[s][2], s % 2, s % 3 == 0, s == 2);
        }
    printf("\ntimings (median of 20; m3's model, 5-host paths: M = 4 x paths)\n");
    int tshapes[][3] = {{16384, 576, 1019}, {16384, 1728, 576}, {16384, 3072, 576}, {16384, 576, 1536},
                        {4096, 512, 1595},  {4, 1728, 576},     {4, 576, 1536},     {16, 3072, 576},
                        {32, 1728, 576},    {32, 576, 1536},    {256, 1728, 576},   {4096, 4096, 4096}};
    for (int s = 0; s < 12; s++)
        for (int t = 0; t < 5; t++) {
            if (tiles[t] == M4C_TILE_SKINNY && tshapes[s][0] > 16) continue;
            timeit(sms, tiles[t], tshapes[s][0], tshapes[s][1], tshapes[s][2]);
        }
    printf("%s\n", ok ? "all checks passed" : "SOME CHECKS FAILED");
    return ok ? 0 : 1;
}
