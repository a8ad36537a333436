/* flowsim_test.c: flowsim through m4.h on cases solvable by hand. */
#include "m4.h"
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>


static double wire(double size) { return (size + ceil(size / 1000.0) * 48.0) * 8.0; }

static void check_close(const char *what, double got, double want) {
    CHECK(fabs(got - want) <= 1e-9 * fabs(want), "%s: got %.9f, want %.9f", what, got, want);
}

int main(void) {
    m4_path_config cfg;
    m4_path_config_default(&cfg, 3);
    m4_flowsim *sim = NULL;
    CHECK(m4_flowsim_create(&sim, &cfg) == M4_OK, "create");
    if (!sim) return 1;

    /* one flow alone: wire bits at 10 Gbit/s */
    {
        double at[] = {0}, size[] = {10000}, fct[1];
        int32_t src[] = {0}, dst[] = {2};
        CHECK(m4_flowsim_run(sim, 1, at, size, src, dst, fct) == M4_OK, "run alone");
        check_close("alone", fct[0], wire(10000) / 10);
    }
    /* a flow arrives while another drains */
    {
        double at[] = {0, 1000}, size[] = {10000, 1000}, fct[2];
        int32_t src[] = {0, 0}, dst[] = {2, 2};
        CHECK(m4_flowsim_run(sim, 2, at, size, src, dst, fct) == M4_OK, "run drain");
        double tb = wire(1000) / 5;
        check_close("drain long", fct[0], 1000 + tb + (wire(10000) - 10000 - wire(1000)) / 10);
        check_close("drain short", fct[1], tb);
        m4_flowsim_stats st;
        m4_flowsim_get_stats(sim, &st);
        CHECK(st.events == 4 && st.max_active == 2, "stats: %llu events, %llu active",
              (unsigned long long)st.events, (unsigned long long)st.max_active);
    }
    /* bad input names the field and the flow */
    {
        double at[] = {0, 1}, size[] = {100, NAN}, fct[2];
        int32_t src[] = {0, 0}, dst[] = {2, 2};
        CHECK(m4_flowsim_run(sim, 2, at, size, src, dst, fct) == M4_ERR_INVALID_INPUT, "NaN size");
        const char *field = NULL;
        size_t index = 99;
        const char *msg = m4_flowsim_error(sim, &field, &index);
        CHECK(field && strcmp(field, "size_bytes") == 0 && index == 1, "error field %s[%zu]: %s",
              field ? field : "(null)", index, msg);
    }
    /* an empty scenario: nothing to simulate */
    {
        double fct[1];
        CHECK(m4_flowsim_run(sim, 0, NULL, NULL, NULL, NULL, fct) == M4_ERR_INVALID_ARGUMENT &&
                  strstr(m4_flowsim_error(sim, NULL, NULL), "no flows"),
              "no flows: %s", m4_flowsim_error(sim, NULL, NULL));
    }
    m4_flowsim_destroy(sim);

    /* A 40 Gbit/s inner link carries four flows at the 10 Gbit/s cap with
     * no solve; a fifth makes it the bottleneck: 8 Gbit/s each. */
    m4_path_config_default(&cfg, 4);
    CHECK(m4_flowsim_create(&sim, &cfg) == M4_OK, "create 4 hosts");
    if (!sim) return 1;
    for (int n = 4; n <= 5; n++) {
        double at[5] = {0}, size[5] = {20000, 20000, 20000, 20000, 20000}, fct[5];
        int32_t src[5] = {1, 1, 1, 1, 1}, dst[5] = {2, 2, 2, 2, 2};
        CHECK(m4_flowsim_run(sim, (size_t)n, at, size, src, dst, fct) == M4_OK, "run %d on the core", n);
        for (int i = 0; i < n; i++) check_close("core share", fct[i], wire(20000) / (n == 4 ? 10 : 8));
        m4_flowsim_stats st;
        m4_flowsim_get_stats(sim, &st);
        CHECK((n == 4) == (st.rate_solves == 0), "%d flows: %llu solves", n, (unsigned long long)st.rate_solves);
    }
    m4_flowsim_destroy(sim);

    cfg.n_hosts = 1;
    CHECK(m4_flowsim_create(&sim, &cfg) == M4_ERR_INVALID_ARGUMENT, "1-host path accepted");
    CHECK(strcmp(m4_version(), M4_VERSION_STRING) == 0, "version %s", m4_version());
    CHECK(strcmp(m4_strerror(M4_ERR_NO_MEMORY), "out of memory") == 0, "strerror");

    CHECK_DONE("flowsim_test");
}
