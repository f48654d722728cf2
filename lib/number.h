/*
 * Numbers as text, always in the C locale whatever the program's locale
 * says (a host that calls setlocale(LC_NUMERIC, "de_DE") must not make
 * 1.5 print as "1,5").
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_NUMBER_H
#define QUOTA_LIB_NUMBER_H

#include <stddef.h>
#include <stdint.h>

/* Room for any text quota__double_format writes. */
#define QUOTA__DOUBLE_TEXT 32

/* The shortest text that reads back as d, plain for exponents from -4 to 5
 * and in e-notation beyond ("1.5", "100", "0.001", "1e+06", "1.5e-07"),
 * and "NaN", "+Inf", "-Inf"; returns its length. */
size_t quota__double_format(double d, char buf[QUOTA__DOUBLE_TEXT]);

/* All of s[0..n) as a double, strtod syntax without leading space:
 * 0, or -1 when it is not one. */
int quota__double_parse(const char *s, size_t n, double *out);

/* strtod of the NUL-terminated s in the C locale. */
double quota__strtod_c(const char *s, char **end);

/* All of s[0..n) as digits of base 10 or 16 (no sign, no prefix): 0, -1
 * when it is not such a number, -2 when it does not fit uint64. */
int quota__uint_parse(const char *s, size_t n, int base, uint64_t *out);

/* A decimal int64 with an optional + or - sign: 0, -1 syntax, -2 range. */
int quota__int_parse(const char *s, size_t n, int64_t *out);

#endif
