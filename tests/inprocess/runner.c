/* main() of a suite built against the in-process Criterion (criterion/criterion.h): runs every
 * registered test in registration order in this process, prints one line per test and exits
 * non-zero when a check failed. Command-line arguments (ctest passes --jobs) are ignored, except
 * --filter SUITE/NAME-PREFIX. */
#include "criterion/criterion.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static cr_test_entry *tests, **tests_tail = &tests;
static cr_suite_entry *suites;
static atomic_int failures; /* checks failed in the current test */
static jmp_buf abort_test;
static pthread_t runner_thread;

void cr_register_test_(cr_test_entry *t)
{
    *tests_tail = t;
    tests_tail = &t->next;
}

void cr_register_suite_(cr_suite_entry *s)
{
    s->next = suites;
    suites = s;
}

void cr_check_(bool fatal, bool ok, const char *expr, const char *file, int line,
               const char *fmt, ...)
{
    if (ok)
        return;
    atomic_fetch_add(&failures, 1);
    fprintf(stderr, "%s:%d: %s failed: %s", file, line, fatal ? "assertion" : "expectation", expr);
    if (*fmt) {
        va_list ap;
        va_start(ap, fmt);
        fputs(": ", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    if (fatal) {
        if (!pthread_equal(pthread_self(), runner_thread))
            abort(); /* no way back to the runner from another thread */
        longjmp(abort_test, 1);
    }
}

static const cr_suite_entry *suite_of(const cr_test_entry *t)
{
    for (const cr_suite_entry *s = suites; s; s = s->next)
        if (strcmp(s->name, t->suite) == 0)
            return s;
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* the test body, returning early through a failed assert (no locals here for longjmp to clobber) */
static void run_body(void (*run)(void))
{
    if (!setjmp(abort_test))
        run();
}

static bool selected(const cr_test_entry *t, const char *filter)
{
    if (!filter)
        return true;
    char full[256];
    snprintf(full, sizeof full, "%s/%s", t->suite, t->name);
    return strncmp(full, filter, strlen(filter)) == 0;
}

int main(int argc, char **argv)
{
    const char *filter = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--filter") == 0)
            filter = argv[i + 1];
    runner_thread = pthread_self();
    int ran = 0, failed = 0;
    for (cr_test_entry *t = tests; t; t = t->next) {
        const cr_suite_entry *s = suite_of(t);
        if (t->opts.disabled || (s && s->opts.disabled) || !selected(t, filter))
            continue;
        atomic_store(&failures, 0);
        double t0 = now();
        if (s && s->opts.init)
            s->opts.init();
        if (t->opts.init)
            t->opts.init();
        run_body(t->run);
        if (t->opts.fini)
            t->opts.fini();
        if (s && s->opts.fini)
            s->opts.fini();
        bool ok = atomic_load(&failures) == 0;
        printf("[%s] %s::%s (%.2f s)\n", ok ? "PASS" : "FAIL", t->suite, t->name, now() - t0);
        fflush(stdout);
        ran++;
        failed += !ok;
    }
    printf("Synthesis: Tested: %d | Passing: %d | Failing: %d\n", ran, ran - failed, failed);
    return failed ? 1 : 0;
}
