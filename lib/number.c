/*
 * Numbers as text in the C locale.
 * SPDX-License-Identifier: MIT
 */
#include "number.h"

#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	/* glibc hands back its static C locale here; nothing to free. */
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static locale_t c_numeric(void)
{
	pthread_once(&c_locale_once, c_locale_init);
	return c_locale;
}

double quota__strtod_c(const char *s, char **end)
{
	locale_t c = c_numeric();
	return c ? strtod_l(s, end, c) : strtod(s, end);
}

size_t quota__double_format(double d, char buf[QUOTA__DOUBLE_TEXT])
{
	if (d != d)
		return (size_t)snprintf(buf, QUOTA__DOUBLE_TEXT, "NaN");
	if (d - d != 0)
		return (size_t)snprintf(buf, QUOTA__DOUBLE_TEXT, d > 0 ? "+Inf" : "-Inf");
	locale_t c = c_numeric(), old = c ? uselocale(c) : (locale_t)0;
	/* the fewest significant digits that read back as d */
	int digits = 1;
	for (; digits < 17; digits++) {
		snprintf(buf, QUOTA__DOUBLE_TEXT, "%.*e", digits - 1, d);
		if (quota__strtod_c(buf, NULL) == d)
			break;
	}
	snprintf(buf, QUOTA__DOUBLE_TEXT, "%.*e", digits - 1, d);
	int exp = atoi(strchr(buf, 'e') + 1);
	/* plain notation for exponents -4 to 5, as %g would choose with
	 * precision 6, but never losing digits */
	if (exp >= -4 && exp < 6) {
		int decimals = digits - 1 - exp;
		snprintf(buf, QUOTA__DOUBLE_TEXT, "%.*f", decimals > 0 ? decimals : 0, d);
	}
	if (c)
		uselocale(old);
	return strlen(buf);
}

int quota__double_parse(const char *s, size_t n, double *out)
{
	char buf[128], *end;
	if (n == 0 || n >= sizeof buf || memchr(s, '\0', n))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r'))
		return -1;
	*out = quota__strtod_c(buf, &end);
	return end == buf + n ? 0 : -1;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

int quota__uint_parse(const char *s, size_t n, int base, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int d = digit_value(s[i]);
		if (d >= base)
			return -1;
		if (__builtin_mul_overflow(v, (uint64_t)base, &v) ||
		    __builtin_add_overflow(v, (uint64_t)d, &v))
			return -2;
	}
	*out = v;
	return 0;
}

int quota__int_parse(const char *s, size_t n, int64_t *out)
{
	int neg = n > 0 && s[0] == '-';
	size_t skip = n > 0 && (s[0] == '-' || s[0] == '+');
	uint64_t mag;
	int rc = quota__uint_parse(s + skip, n - skip, 10, &mag);
	if (rc != 0)
		return rc;
	if (mag > (uint64_t)INT64_MAX + neg)
		return -2;
	*out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return 0;
}
