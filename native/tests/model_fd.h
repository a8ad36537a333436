/* model_fd.h: the whole-model gradient check the model tests share: central
 * differences of a scalar loss at random elements of every tensor, against
 * the analytic gradient. */
#ifndef M4_TEST_MODEL_FD_H
#define M4_TEST_MODEL_FD_H

#include <math.h>
#include <stdio.h>

#include "check.h"
#include "m4.h"

/* check_model_gradient perturbs params (the buffer loss(ctx) loads into m)
 * at up to k elements of every tensor, drawn with urand, and compares
 * (loss(p + h) - loss(p - h)) / 2h with grad. The loss may have kinks (|.|,
 * ReLU) that one perturbation in a tensor crosses; a wrong gradient fails
 * many. It returns how many elements it checked. */
static int check_model_gradient(m4_model *m, float *params, const float *grad, long k, double (*loss)(void *),
                                void *ctx, double (*urand)(void)) {
    int nt = m4_model_num_tensors(m), checked = 0;
    for (int t = 0; t < nt; t++) {
        m4_tensor_info ti;
        m4_model_tensor(m, t, &ti);
        long kt = (long)ti.size < k ? (long)ti.size : k;
        int bad = 0;
        for (long j = 0; j < kt; j++) {
            size_t i = ti.offset + (size_t)(urand() * (double)ti.size);
            float keep = params[i], h = 1e-2f * (fabsf(keep) > 0.1f ? fabsf(keep) : 0.1f);
            params[i] = keep + h;
            double up = loss(ctx);
            params[i] = keep - h;
            double dn = loss(ctx);
            params[i] = keep;
            double num = (up - dn) / (2.0 * h);
            if (fabs(num - grad[i]) > 2e-3 * fabs(grad[i]) + 3e-5) {
                bad++;
                fprintf(stderr, "  %s[%zu]: analytic %.6g, numeric %.6g\n", ti.name, i - ti.offset, grad[i], num);
            }
            checked++;
        }
        CHECK(bad <= (kt > 2 ? 1 : 0), "gradient of %s: %d of %ld elements off", ti.name, bad, kt);
    }
    return checked;
}

#endif
