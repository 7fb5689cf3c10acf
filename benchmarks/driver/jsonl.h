/* Reading the runners' replies: one flat JSON object per line whose values are numbers, strings,
 * true/false/null or arrays of numbers (null read as NaN). Nothing else is accepted. */
#ifndef JSONL_H
#define JSONL_H

#include <stdbool.h>

#define JL_MAX_FIELDS 24
#define JL_MAX_ARRAY 64

typedef enum { JL_NUM, JL_STR, JL_BOOL, JL_NULL, JL_ARR } jl_type;

typedef struct {
    char key[40];
    jl_type type;
    double num; /* JL_NUM; JL_BOOL as 0/1 */
    char str[1024];
    double arr[JL_MAX_ARRAY];
    int narr;
} jl_field;

typedef struct {
    jl_field f[JL_MAX_FIELDS];
    int n;
} jl_obj;

/* 0 on success, -1 if the line is not such an object. */
int jl_parse(const char *line, jl_obj *o);
const jl_field *jl_get(const jl_obj *o, const char *key);
double jl_num(const jl_obj *o, const char *key, double dflt);
const char *jl_str(const jl_obj *o, const char *key); /* "" when absent or not a string */
bool jl_bool(const jl_obj *o, const char *key, bool dflt);

#endif
