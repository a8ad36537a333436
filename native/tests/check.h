/* check.h: the assertion every C test uses. CHECK records a failure with its
 * file, line and message and carries on, so one run reports every broken
 * case; a test's main ends with CHECK_DONE("name"). */
#ifndef M4_TEST_CHECK_H
#define M4_TEST_CHECK_H

#include <stdio.h>

static int failures = 0;

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                       \
            fprintf(stderr, __VA_ARGS__);                                         \
            fprintf(stderr, "\n");                                                \
            failures++;                                                           \
        }                                                                         \
    } while (0)

/* CHECK_DONE prints the verdict and returns main's exit status. */
#define CHECK_DONE(name)                                                          \
    do {                                                                          \
        if (failures) {                                                           \
            fprintf(stderr, "%s: %d failure(s)\n", name, failures);              \
            return 1;                                                             \
        }                                                                         \
        printf("%s: ok\n", name);                                                 \
        return 0;                                                                 \
    } while (0)

#endif
