/* harness.h: the tiny unit-test harness. A test file defines static functions `void test_x(void)`,
 * lists them in main() with RUN(test_x), and returns tx_test_finish(). CHECK failures print the
 * file, line and expression and mark the run failed; the test goes on so one run shows every failure.
 * The closing line "N passed, N failed" counts checks. */
#ifndef TX_TEST_HARNESS_H
#define TX_TEST_HARNESS_H

#include "tx-config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tx_test_passed, tx_test_failed;
static const char *tx_test_current __attribute__((unused)) = "";

#define CHECK(cond) do { \
    if (cond) tx_test_passed++; \
    else { tx_test_failed++; fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__, \
                                    tx_test_current, #cond); } \
} while (0)

#define CHECK_INT(a, b) do { \
    long long va_ = (long long)(a), vb_ = (long long)(b); \
    if (va_ == vb_) tx_test_passed++; \
    else { tx_test_failed++; fprintf(stderr, "%s:%d: %s: %s == %lld, expected %s == %lld\n", __FILE__, \
                                    __LINE__, tx_test_current, #a, va_, #b, vb_); } \
} while (0)

#define CHECK_STR(a, b) do { \
    const char *sa_ = (a), *sb_ = (b); \
    if (sa_ && sb_ && strcmp(sa_, sb_) == 0) tx_test_passed++; \
    else { tx_test_failed++; fprintf(stderr, "%s:%d: %s: %s is \"%s\", expected \"%s\"\n", __FILE__, \
                                    __LINE__, tx_test_current, #a, sa_ ? sa_ : "(null)", \
                                    sb_ ? sb_ : "(null)"); } \
} while (0)

#define CHECK_NEAR(a, b, tol) do { \
    double da_ = (a), db_ = (b); \
    if (fabs(da_ - db_) <= (tol)) tx_test_passed++; \
    else { tx_test_failed++; fprintf(stderr, "%s:%d: %s: %s == %.9g, expected %.9g (tolerance %g)\n", \
                                    __FILE__, __LINE__, tx_test_current, #a, da_, db_, (double)(tol)); } \
} while (0)

#define RUN(fn) do { tx_test_current = #fn; fn(); } while (0)

static inline int tx_test_finish(void)
{
    printf("%d passed, %d failed\n", tx_test_passed, tx_test_failed);
    return tx_test_failed ? 1 : 0;
}

/* The shared corpora folder (the source tree's ../shared/corpora) or NULL when it is absent; tests
 * that need it print a note and return 77 (meson's "skipped"). */
static inline const char *tx_test_corpora(void)
{
    static char path[4096];
    const char *env = getenv("TACTUS_CORPORA");
    if (env && *env)
        snprintf(path, sizeof path, "%s", env);
    else
        snprintf(path, sizeof path, "%s/../shared/corpora", TX_SOURCE_ROOT);
    FILE *f;
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/pop909/SOURCE.md", path);
    if (!(f = fopen(probe, "r")))
        return NULL;
    fclose(f);
    return path;
}

#endif
