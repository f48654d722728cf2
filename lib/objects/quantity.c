/*
 * Kubernetes quantities, durations and RFC 3339 times.
 *
 * A quantity is read exactly: its digits make an integer mantissa (at most
 * 19 significant digits), its fraction, suffix and exponent a power of ten
 * and a power of 1024, and the value in base units is
 * mantissa * factor * 1024^b * 10^d, computed in 128 bits and divided
 * last, so that the only rounding is the one the caller asks for.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../error.h"
#include "objects.h"

#define QUANTITY_MAX 64
#define DIGITS_MAX 19

__extension__ typedef unsigned __int128 u128;

typedef struct quantity {
	int negative;
	uint64_t mantissa;
	int64_t dexp; /* power of ten */
	int bexp;     /* power of 1024 */
} quantity;

static int qfail(const char *s, size_t n, size_t at, const char *why)
{
	return quota__fail(QUOTA_ERR_PARSE, "quantity \"%.*s\": %s at byte %zu", (int)n, s, why,
			   at);
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The suffix s[0..n): its powers of ten and 1024; 0, or -1 if unknown. */
static int suffix(const char *s, size_t n, int64_t *dexp, int *bexp)
{
	static const char dec[] = "num\0kMGTPE";
	static const int dec_exp[] = {-9, -6, -3, 0, 3, 6, 9, 12, 15, 18};
	static const char bin[] = "KMGTPE";
	*dexp = 0;
	*bexp = 0;
	if (n == 0)
		return 0;
	if (n == 1) {
		const char *p = memchr(dec, s[0], sizeof dec - 1);
		if (!p || !*p)
			return -1;
		*dexp = dec_exp[p - dec];
		return 0;
	}
	const char *p = memchr(bin, s[0], sizeof bin - 1);
	if (!p || s[1] != 'i' || (n == 3 && s[2] != 'B') || n > 3)
		return -1;
	*bexp = (int)(p - bin) + 1;
	return 0;
}

/* An exponent: [+-]digits; 0, or -1 when malformed. Huge ones are
 * clamped: no mantissa survives 10^±400 inside int64. */
static int exponent(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (i == n)
		return -1;
	int64_t v = 0;
	for (; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		if (v < 400)
			v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return 0;
}

static int quantity_read(const char *s, size_t n, quantity *q)
{
	size_t i = 0, digits = 0;
	int significant = 0;
	memset(q, 0, sizeof *q);
	if (n == 0)
		return quota__fail(QUOTA_ERR_PARSE, "quantity: empty");
	if (n > QUANTITY_MAX)
		return quota__fail(QUOTA_ERR_PARSE, "quantity \"%.20s...\": longer than %d bytes",
				   s, QUANTITY_MAX);
	if (s[i] == '+' || s[i] == '-')
		q->negative = s[i++] == '-';
	for (int frac = 0; i < n; i++) {
		if (s[i] == '.' && !frac) {
			frac = 1;
			continue;
		}
		if (!is_digit(s[i]))
			break;
		digits++;
		int d = s[i] - '0';
		if (significant < DIGITS_MAX) {
			if (d || significant) {
				q->mantissa = q->mantissa * 10 + (uint64_t)d;
				significant++;
			}
			q->dexp -= frac;
		} else if (d) {
			return qfail(s, n, i, "more than 19 significant digits");
		} else if (!frac) {
			q->dexp++; /* a trailing zero of the whole part */
		}
	}
	if (digits == 0)
		return qfail(s, n, i, "expected a digit");
	int64_t dexp = 0, e = 0;
	int bexp = 0;
	/* "E" alone is exa, "Ei" exbi; "e3", "E-3" are exponents. */
	if (i + 1 < n && (s[i] == 'e' || s[i] == 'E') &&
	    (is_digit(s[i + 1]) || s[i + 1] == '+' || s[i + 1] == '-')) {
		if (exponent(s + i + 1, n - i - 1, &e))
			return qfail(s, n, i, "malformed exponent");
	} else if (suffix(s + i, n - i, &dexp, &bexp)) {
		return qfail(s, n, i, "unknown suffix");
	}
	q->dexp += dexp + e;
	q->bexp = bexp;
	return QUOTA_OK;
}

/* m * f, or 0 on overflow of 128 bits (m, f > 0). */
static int mul(u128 *m, u128 f)
{
	if (*m > ~(u128)0 / f)
		return -1;
	*m *= f;
	return 0;
}

QUOTA_API int quota_quantity_parse(const char *text, size_t len, int64_t factor, int32_t rounding,
				   int64_t *out)
{
	quantity q;
	int rc;
	if (!out || (!text && len))
		return quota__fail(QUOTA_ERR_INVALID, "quantity: %s must not be NULL",
				   out ? "text" : "out");
	*out = 0;
	if (factor < 1)
		return quota__fail(QUOTA_ERR_INVALID, "quantity: factor must be >= 1, got %lld",
				   (long long)factor);
	if (rounding < QUOTA_ROUND_EXACT || rounding > QUOTA_ROUND_DOWN)
		return quota__fail(QUOTA_ERR_INVALID, "quantity: unknown rounding %d", rounding);
	if ((rc = quantity_read(text ? text : "", len, &q)))
		return rc;
	if (q.mantissa == 0)
		return QUOTA_OK;
	/* The magnitude as num / den, den a power of ten. */
	u128 num = q.mantissa, quot, rem = 0;
	int over = mul(&num, (u128)factor);
	for (int k = 0; k < q.bexp && !over; k++)
		over = mul(&num, 1024);
	for (int64_t k = 0; k < q.dexp && !over; k++)
		over = mul(&num, 10);
	if (over)
		return quota__fail(QUOTA_ERR_OVERFLOW, "quantity \"%.*s\": out of the int64 range",
				   (int)len, text);
	if (q.dexp < -38) { /* 10^39 exceeds any 128-bit numerator */
		quot = 0;
		rem = num;
	} else {
		u128 den = 1;
		for (int64_t k = 0; k < -q.dexp; k++)
			den *= 10;
		quot = num / den;
		rem = num % den;
	}
	if (rem && rounding == QUOTA_ROUND_EXACT)
		return quota__fail(
			QUOTA_ERR_INVALID,
			"quantity \"%.*s\": not a whole number of base units (factor %lld)",
			(int)len, text, (long long)factor);
	/* Up is toward +infinity, down toward -infinity. */
	if (rem && (rounding == QUOTA_ROUND_UP) != q.negative)
		quot++;
	u128 limit = q.negative ? (u128)INT64_MAX + 1 : (u128)INT64_MAX;
	if (quot > limit)
		return quota__fail(QUOTA_ERR_OVERFLOW, "quantity \"%.*s\": out of the int64 range",
				   (int)len, text);
	*out = q.negative ? (int64_t)(0 - (uint64_t)quot) : (int64_t)quot;
	return QUOTA_OK;
}

/* ---- durations ------------------------------------------------------------ */

static const struct {
	const char *unit, *name;
	int64_t ms;
} units[] = {{"d", "day", 86400000},
	     {"h", "hour", 3600000},
	     {"m", "minute", 60000},
	     {"s", "second", 1000},
	     {"ms", NULL, 1}};
#define UNIT_COUNT (sizeof units / sizeof units[0])

int quota__duration_parse(const char *s, size_t n, int named, int64_t *ms)
{
	*ms = 0;
	for (size_t u = 0; named && u < UNIT_COUNT; u++)
		if (units[u].name && strlen(units[u].name) == n &&
		    memcmp(units[u].name, s, n) == 0) {
			*ms = units[u].ms;
			return 0;
		}
	if (n == 0)
		return -1;
	/* Parts like "1h", "30m", "1.5s": each a quantity of one unit. */
	int64_t total = 0;
	for (size_t i = 0; i < n;) {
		size_t start = i;
		while (i < n && (is_digit(s[i]) || s[i] == '.'))
			i++;
		size_t num_end = i;
		while (i < n && s[i] >= 'a' && s[i] <= 'z')
			i++;
		size_t u = 0;
		while (u < UNIT_COUNT && !(strlen(units[u].unit) == i - num_end &&
					   memcmp(units[u].unit, s + num_end, i - num_end) == 0))
			u++;
		if (num_end == start || u == UNIT_COUNT)
			return -1;
		int64_t part;
		quota__saved_error saved;
		quota__error_save(&saved);
		int rc = quota_quantity_parse(s + start, num_end - start, units[u].ms,
					      QUOTA_ROUND_EXACT, &part);
		quota__error_restore(&saved);
		if (rc == QUOTA_ERR_PARSE)
			return -1;
		if (rc || __builtin_add_overflow(total, part, &total))
			return -2;
	}
	*ms = total;
	return 0;
}

void quota__duration_format(int64_t ms, int named, char buf[32])
{
	for (size_t u = 0; u < UNIT_COUNT; u++) {
		if (ms % units[u].ms != 0)
			continue;
		if (named && units[u].name && ms == units[u].ms)
			snprintf(buf, 32, "%s", units[u].name);
		else
			snprintf(buf, 32, "%lld%s", (long long)(ms / units[u].ms), units[u].unit);
		return;
	}
}

void quota__time_format(int64_t ns, char buf[32])
{
	time_t secs = (time_t)(ns / 1000000000);
	struct tm tm;
	if (!gmtime_r(&secs, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "1970-01-01T00:00:00Z");
}
