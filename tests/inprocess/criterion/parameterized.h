/* Criterion's parameterized tests for the in-process runner (criterion.h says why). */
#ifndef TJ_INPROCESS_PARAMETERIZED_H
#define TJ_INPROCESS_PARAMETERIZED_H

#include "criterion.h"

struct criterion_test_params {
    size_t size;
    void *params;
    size_t length;
};

#define cr_make_param_array(Type, Array, Len)                                                   \
    ((struct criterion_test_params){sizeof(Type), (void *)(Array), (size_t)(Len)})

#define ParameterizedTestParameters(suite, name)                                                 \
    static struct criterion_test_params CR_IDENT_(suite, name##_params)(void)

/* runs the body once per parameter, in order */
#define ParameterizedTest(decl, suite, name, ...)                                                \
    static void CR_IDENT_(suite, name##_body)(decl);                                             \
    Test(suite, name, __VA_ARGS__)                                                               \
    {                                                                                            \
        struct criterion_test_params p = CR_IDENT_(suite, name##_params)();                      \
        for (size_t i = 0; i < p.length; i++)                                                    \
            CR_IDENT_(suite, name##_body)((void *)((char *)p.params + i * p.size));              \
    }                                                                                            \
    static void CR_IDENT_(suite, name##_body)(decl)

#endif
