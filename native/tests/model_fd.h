/* model_fd.h: the whole-model gradient check the model tests share: central
 * differences of a scalar loss at every element of every tensor, against the
 * analytic gradient. */
#ifndef M4_TEST_MODEL_FD_H
#define M4_TEST_MODEL_FD_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "m4.h"

/* fd_params draws params (m's layout) at a scale where every tensor moves
 * the loss: m4_model_init's transformer (std 0.02, norms 1) leaves its
 * gradients near 1e-8, below what float differences resolve, so a wrong one
 * would pass. Matrices and biases are U(-a, a) with a = 3/sqrt(fan_in), norm
 * weights U(0.7, 1.3), the learned vector 1.5, 1.6, ... */
static void fd_params(m4_model *m, float *params, double (*urand)(void)) {
    int nt = m4_model_num_tensors(m);
    for (int t = 0; t < nt; t++) {
        m4_tensor_info ti;
        m4_model_tensor(m, t, &ti);
        float *p = params + ti.offset;
        double a = 3.0 / sqrt(ti.ndim == 2 ? (double)ti.shape[1] : 16.0);
        for (size_t i = 0; i < ti.size; i++) {
            if (t == nt - 1)
                p[i] = 1.5f + 0.1f * (float)i;
            else if (strstr(ti.name, "norm.weight"))
                p[i] = (float)(0.7 + 0.6 * urand());
            else
                p[i] = (float)((2.0 * urand() - 1.0) * a);
        }
    }
}

/* fd_central is (loss(p + h) - loss(p - h)) / 2h at params[i]. */
static double fd_central(float *params, size_t i, float h, double (*loss)(void *), void *ctx) {
    float keep = params[i];
    params[i] = keep + h;
    double up = loss(ctx);
    params[i] = keep - h;
    double dn = loss(ctx);
    params[i] = keep;
    return (up - dn) / (2.0 * (double)h);
}

/* check_model_gradient compares grad[i] with the central difference at every
 * element i of params (the buffer loss(ctx) loads into m), h = 3% of
 * max(|p|, 0.1), allowing 1% + 5e-5: float rounding in the forward pass puts
 * up to ~3e-5 of noise in the differences of fd_params' models, and their
 * tensors' largest gradients are 1e-3 .. 0.4, so a gradient off by a factor
 * misses at many elements. No element may miss it, except where a loss kink
 * (|.|, ReLU) lies within h: an element that misses is measured again with
 * h/4 (4x the noise), and passes if that agrees. Each tensor's largest
 * gradient must be 10x the absolute tolerance, or the check could not see it
 * scaled. It returns how many elements it checked. */
static long check_model_gradient(m4_model *m, float *params, const float *grad, double (*loss)(void *),
                                 void *ctx) {
    int nt = m4_model_num_tensors(m);
    long checked = 0, retried = 0;
    for (int t = 0; t < nt; t++) {
        m4_tensor_info ti;
        m4_model_tensor(m, t, &ti);
        long bad = 0;
        double gmax = 0;
        for (size_t j = 0; j < ti.size; j++) {
            size_t i = ti.offset + j;
            double g = grad[i];
            float h = 3e-2f * (fabsf(params[i]) > 0.1f ? fabsf(params[i]) : 0.1f);
            double num = fd_central(params, i, h, loss, ctx);
            if (fabs(g) > gmax) gmax = fabs(g);
            checked++;
            if (fabs(num - g) <= 1e-2 * fabs(g) + 5e-5) continue;
            retried++;
            double fine = fd_central(params, i, h / 4, loss, ctx);
            if (fabs(fine - g) <= 1e-2 * fabs(g) + 2e-4) continue;
            if (bad++ < 5)
                fprintf(stderr, "  %s[%zu]: analytic %.6g, numeric %.6g (h/4: %.6g)\n", ti.name, j, g, num, fine);
        }
        CHECK(bad == 0, "gradient of %s: %ld of %zu elements off", ti.name, bad, ti.size);
        CHECK(gmax > 5e-4, "gradient of %s: largest %.3g, too small to check", ti.name, gmax);
    }
    CHECK(retried <= checked / 100, "%ld of %ld elements needed h/4", retried, checked);
    return checked;
}

#endif
