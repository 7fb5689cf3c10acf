/* Writing JSON values: strings escaped, non-finite numbers as null (JSON has no NaN). */
#ifndef JSON_OUT_H
#define JSON_OUT_H

#include <stdio.h>

void jo_str(FILE *f, const char *s);
void jo_num(FILE *f, double v);

#endif
