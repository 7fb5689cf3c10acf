/* The part of Criterion's API our suites use, running every test in the one process (runner.c)
 * instead of a forked worker each: for ThreadSanitizer (Criterion's arena cannot be mapped under
 * TSan, Snaipe/Criterion#274) and valgrind (which should see the whole run). Built in place of
 * libcriterion when TJ_INPROCESS_TESTS or TJ_TSAN is on (tests/CMakeLists.txt). Tests run one
 * after the other; a suite's .init/.fini run around each of its tests, as in Criterion. */
#ifndef TJ_INPROCESS_CRITERION_H
#define TJ_INPROCESS_CRITERION_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct criterion_test_extra_data {
    void (*init)(void);
    void (*fini)(void);
    double timeout;
    bool disabled;
    const char *description;
    int exit_code;
    int signal;
};

typedef struct cr_test_entry {
    const char *suite, *name;
    void (*run)(void);
    struct criterion_test_extra_data opts;
    struct cr_test_entry *next;
} cr_test_entry;

typedef struct cr_suite_entry {
    const char *name;
    struct criterion_test_extra_data opts;
    struct cr_suite_entry *next;
} cr_suite_entry;

void cr_register_test_(cr_test_entry *t);
void cr_register_suite_(cr_suite_entry *s);
/* Records a failed check and says where; a failed assert (fatal) ends the test. fmt is the
 * check's optional message ("" when none). */
void cr_check_(bool fatal, bool ok, const char *expr, const char *file, int line,
               const char *fmt, ...);

#define CR_IDENT_(a, b) cr_##a##_##b

#define Test(suite, name, ...)                                                                   \
    static void CR_IDENT_(suite, name)(void);                                                    \
    static cr_test_entry CR_IDENT_(suite, name##_entry) = {                                      \
        #suite, #name, CR_IDENT_(suite, name), {__VA_ARGS__}, NULL};                             \
    __attribute__((constructor)) static void CR_IDENT_(suite, name##_reg)(void)                  \
    {                                                                                            \
        cr_register_test_(&CR_IDENT_(suite, name##_entry));                                      \
    }                                                                                            \
    static void CR_IDENT_(suite, name)(void)

#define TestSuite(suite, ...)                                                                    \
    static cr_suite_entry CR_IDENT_(suite, suite_entry_) = {#suite, {__VA_ARGS__}, NULL};        \
    __attribute__((constructor)) static void CR_IDENT_(suite, suite_reg_)(void)                  \
    {                                                                                            \
        cr_register_suite_(&CR_IDENT_(suite, suite_entry_));                                     \
    }

#define cr_assert(cond, ...) cr_check_(true, (cond), #cond, __FILE__, __LINE__, "" __VA_ARGS__)
#define cr_expect(cond, ...) cr_check_(false, (cond), #cond, __FILE__, __LINE__, "" __VA_ARGS__)
#define CR_CMP_(fatal, a, op, b, ...)                                                            \
    cr_check_(fatal, (a)op(b), #a " " #op " " #b, __FILE__, __LINE__, "" __VA_ARGS__)
#define cr_assert_eq(a, b, ...) CR_CMP_(true, a, ==, b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) CR_CMP_(true, a, !=, b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) CR_CMP_(true, a, <, b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) CR_CMP_(true, a, >, b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) CR_CMP_(false, a, ==, b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) CR_CMP_(false, a, !=, b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) CR_CMP_(false, a, <, b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) CR_CMP_(false, a, >, b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) CR_CMP_(false, a, <=, b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) CR_CMP_(false, a, >=, b, __VA_ARGS__)
#define cr_assert_null(p, ...) CR_CMP_(true, (const void *)(p), ==, NULL, __VA_ARGS__)
#define cr_assert_not_null(p, ...) CR_CMP_(true, (const void *)(p), !=, NULL, __VA_ARGS__)
#define cr_expect_null(p, ...) CR_CMP_(false, (const void *)(p), ==, NULL, __VA_ARGS__)
#define cr_expect_not_null(p, ...) CR_CMP_(false, (const void *)(p), !=, NULL, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...)                                                              \
    cr_check_(true, strcmp((a), (b)) == 0, #a " == " #b, __FILE__, __LINE__, "" __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...)                                                              \
    cr_check_(false, strcmp((a), (b)) == 0, #a " == " #b, __FILE__, __LINE__, "" __VA_ARGS__)

#endif
