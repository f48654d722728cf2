/*
 * Patterns for matches(): POSIX extended regular expressions through the C
 * library's regcomp/regexec, matched anywhere in the string (as CEL does:
 * anchor with ^ and $ to match the whole).
 *
 * Patterns run in a UTF-8 locale of their own (C.UTF-8 when the system has
 * it), so that '.' and bracket expressions see characters, not bytes,
 * whatever the program's locale is. Before a pattern reaches regcomp it is
 * checked for what makes a regex engine slow or hungry: back-references
 * (not POSIX ERE anyway) and repetitions that multiply into a huge
 * automaton, like ((a{1,100}){1,100}){1,100} or a+++++... (each '+' is a
 * copy).
 *
 * The regex_t comes from libquota's allocator; what regcomp allocates
 * inside it comes from the C library's malloc.
 * SPDX-License-Identifier: MIT
 */
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../alloc.h"
#include "expr.h"

/* How large a pattern may grow once its bounded repetitions are copied
 * out, counted in atoms. */
#define MAX_EXPANDED 4096

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_init(void)
{
	static const char *const names[] = {"C.UTF-8", "C.utf8", "en_US.UTF-8"};
	for (size_t i = 0; i < sizeof names / sizeof names[0] && !utf8_locale; i++)
		utf8_locale = newlocale(LC_CTYPE_MASK, names[i], (locale_t)0);
}

/* Switch the calling thread to the UTF-8 locale; returns the one to go
 * back to, or 0 when there is none to switch to. */
static locale_t enter(void)
{
	pthread_once(&utf8_once, utf8_init);
	return utf8_locale ? uselocale(utf8_locale) : (locale_t)0;
}

static void leave(locale_t old)
{
	if (old)
		uselocale(old);
}

/* The end of a bracket expression that starts at p[i] == '['. */
static size_t bracket_end(const char *p, size_t n, size_t i)
{
	i++;
	if (i < n && p[i] == '^')
		i++;
	if (i < n && p[i] == ']')
		i++;
	while (i < n && p[i] != ']') {
		if (p[i] == '[' && i + 1 < n && strchr(":.=", p[i + 1]) && p[i + 1]) {
			char close = p[i + 1];
			for (i += 2; i + 1 < n && !(p[i] == close && p[i + 1] == ']'); i++)
				;
			i++;
		}
		i++;
	}
	return i;
}

/* The bound of an interval {m}, {m,} or {m,n} at p[i] == '{' (the larger
 * count, or m + 1 when open), and where it ends; 0 when it is none. */
static uint64_t interval(const char *p, size_t n, size_t *i)
{
	uint64_t m = 0, hi = 0;
	size_t k = *i + 1;
	int digits = 0, comma = 0;
	for (; k < n && p[k] != '}'; k++) {
		if (p[k] == ',' && !comma) {
			comma = 1;
			continue;
		}
		if (p[k] < '0' || p[k] > '9')
			return 0;
		uint64_t *v = comma ? &hi : &m;
		*v = *v * 10 + (uint64_t)(p[k] - '0');
		if (*v > MAX_EXPANDED)
			*v = MAX_EXPANDED + 1;
		digits++;
	}
	if (k >= n || !digits)
		return 0;
	*i = k;
	if (!comma)
		return m ? m : 1;
	return hi ? (hi > m ? hi : m) : m + 1;
}

static int is_quantifier(char c)
{
	return c == '*' || c == '+' || c == '?' || c == '{';
}

static int check_pattern(const char *p, size_t n, char *err, size_t errn)
{
	uint64_t sum[QUOTA__RE_MAX_LEN + 1] = {0}, last = 0;
	size_t depth = 0;
	int quantified = 0; /* the previous token was a repetition */
	for (size_t i = 0; i < n; i++) {
		/* POSIX leaves a repetition of a repetition (a+*, a{2}+)
		 * undefined, and the C library makes some of them very slow. */
		if (is_quantifier(p[i]) && quantified) {
			snprintf(err, errn, "a repetition of a repetition (like a+* or a{2}+) at "
					    "offset %zu is not allowed",
				 i);
			return -1;
		}
		quantified = is_quantifier(p[i]) && i > 0;
		switch (p[i]) {
		case '(':
			sum[++depth] = 0;
			last = 0;
			continue;
		case ')':
			if (depth == 0)
				break; /* regcomp will say */
			last = sum[depth] ? sum[depth] : 1;
			sum[--depth] += last;
			continue;
		case '{': {
			uint64_t k = interval(p, n, &i);
			if (k == 0) {
				quantified = 0; /* a literal brace */
				break;
			}
			sum[depth] += last * (k - 1);
			last *= k;
			if (sum[depth] > MAX_EXPANDED) {
				snprintf(err, errn,
					 "pattern repeats too much (more than %d atoms once "
					 "expanded)",
					 MAX_EXPANDED);
				return -1;
			}
			continue;
		}
		case '+':
			/* The C library copies what a '+' repeats (a+ is aa*): a
			 * doubling, which stacked or nested (a+++..., ((a+)+)+)
			 * grows without bound. Count it as {2}. */
			sum[depth] += last;
			last *= 2;
			if (sum[depth] > MAX_EXPANDED || last > MAX_EXPANDED) {
				snprintf(err, errn,
					 "pattern repeats too much (more than %d atoms once "
					 "expanded)",
					 MAX_EXPANDED);
				return -1;
			}
			continue;
		case '*':
		case '?':
		case '|': continue;
		case '\\':
			if (i + 1 < n && p[i + 1] >= '1' && p[i + 1] <= '9') {
				snprintf(err, errn, "back-references are not supported");
				return -1;
			}
			i++;
			break;
		case '[': i = bracket_end(p, n, i); break;
		default: break;
		}
		last = 1;
		sum[depth]++;
	}
	return 0;
}

int quota__re_compile(const char *pat, size_t len, regex_t **out, char *err, size_t errn)
{
	*out = NULL;
	if (len > QUOTA__RE_MAX_LEN) {
		snprintf(err, errn, "pattern is %zu bytes long, the limit is %d", len,
			 QUOTA__RE_MAX_LEN);
		return QUOTA_ERR_INVALID;
	}
	if (memchr(pat, '\0', len)) {
		snprintf(err, errn, "pattern contains a NUL character");
		return QUOTA_ERR_INVALID;
	}
	if (check_pattern(pat, len, err, errn) != 0)
		return QUOTA_ERR_INVALID;
	regex_t *re = quota__malloc(sizeof *re);
	if (!re)
		return QUOTA_ERR_NOMEM;
	locale_t old = enter();
	int rc = regcomp(re, pat, REG_EXTENDED | REG_NOSUB);
	leave(old);
	if (rc == REG_ESPACE) {
		quota__free(re);
		return QUOTA_ERR_NOMEM;
	}
	if (rc != 0) {
		char why[128];
		regerror(rc, re, why, sizeof why);
		snprintf(err, errn, "invalid regular expression: %s", why);
		quota__free(re);
		return QUOTA_ERR_INVALID;
	}
	*out = re;
	return QUOTA_OK;
}

int quota__re_match(const regex_t *re, const char *s, size_t len)
{
	regmatch_t m[1] = {{0, (regoff_t)len}};
	locale_t old = enter();
	int rc = regexec(re, s, 1, m, REG_STARTEND);
	leave(old);
	if (rc == 0)
		return 1;
	return rc == REG_NOMATCH ? 0 : -1;
}

void quota__re_free(regex_t *re)
{
	if (!re)
		return;
	regfree(re);
	quota__free(re);
}
