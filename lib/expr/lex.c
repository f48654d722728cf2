/*
 * The expression lexer.
 * SPDX-License-Identifier: MIT
 */
#include "lex.h"

#include <string.h>

#include "../alloc.h"
#include "../number.h"
#include "../util.h"
#include "expr.h"

/* Words CEL keeps for itself besides true, false, null and in. */
static const char *const reserved[] = {"as",   "break",    "const",     "continue", "else",
				       "for",  "function", "if",        "import",   "let",
				       "loop", "package",  "namespace", "return",   "var",
				       "void", "while"};

static const struct {
	const char *text, *quoted;
	int kind;
} puncts[] = {
	{"<=", "'<='", T_LE},     {">=", "'>='", T_GE},   {"==", "'=='", T_EQ},
	{"!=", "'!='", T_NE},     {"&&", "'&&'", T_AND},  {"||", "'||'", T_OR},
	{"(", "'('", T_LPAREN},   {")", "')'", T_RPAREN}, {"[", "'['", T_LBRACKET},
	{"]", "']'", T_RBRACKET}, {"{", "'{'", T_LBRACE}, {"}", "'}'", T_RBRACE},
	{".", "'.'", T_DOT},      {",", "','", T_COMMA},  {":", "':'", T_COLON},
	{"?", "'?'", T_QUESTION}, {"!", "'!'", T_NOT},    {"-", "'-'", T_MINUS},
	{"+", "'+'", T_PLUS},     {"*", "'*'", T_STAR},   {"/", "'/'", T_SLASH},
	{"%", "'%'", T_PERCENT},  {"<", "'<'", T_LT},     {">", "'>'", T_GT},
};

const char *quota__token_name(int kind)
{
	switch (kind) {
	case T_EOF: return "the end of the expression";
	case T_IDENT: return "a name";
	case T_INT: return "a number";
	case T_DOUBLE: return "a number";
	case T_STRING: return "a string";
	case T_TRUE: return "'true'";
	case T_FALSE: return "'false'";
	case T_NULL: return "'null'";
	case T_IN: return "'in'";
	}
	for (size_t i = 0; i < sizeof puncts / sizeof puncts[0]; i++)
		if (puncts[i].kind == kind)
			return puncts[i].quoted;
	return "a token";
}

static int is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_ident_char(char c)
{
	return is_ident_start(c) || is_digit(c);
}

static int is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Move n bytes on, keeping line and column. */
static void advance(lexer *lx, size_t n)
{
	quota__text_advance(lx->src + lx->pos, n, &lx->line, &lx->col);
	lx->pos += n;
}

static char peek(const lexer *lx, size_t ahead)
{
	return lx->pos + ahead < lx->end ? lx->src[lx->pos + ahead] : '\0';
}

static int error_here(const lexer *lx, const char *what)
{
	return quota__expr_parse_error(lx->line, lx->col, "%s", what);
}

/* Append code point cp as UTF-8 to the string buffer. */
static int put_code_point(lexer *lx, uint32_t cp)
{
	char b[4];
	size_t n = quota__utf8_encode(cp, b);
	if (n == 0)
		return error_here(lx, "escape names an invalid code point");
	quota__text_putn(&lx->str, b, n);
	return QUOTA_OK;
}

/* An escape after a backslash (lx at the backslash). */
static int lex_escape(lexer *lx)
{
	static const char simple[] = "a\ab\bf\fn\nr\rt\tv\v\\\\''\"\"``??";
	char c = peek(lx, 1);
	for (size_t i = 0; simple[i]; i += 2)
		if (simple[i] == c) {
			quota__text_putn(&lx->str, &simple[i + 1], 1);
			advance(lx, 2);
			return QUOTA_OK;
		}
	size_t digits = 0;
	int base = 16;
	if (c == 'x' || c == 'X')
		digits = 2;
	else if (c == 'u')
		digits = 4;
	else if (c == 'U')
		digits = 8;
	else if (c >= '0' && c <= '3')
		digits = 3, base = 8;
	else
		return error_here(lx, "unknown escape sequence");
	size_t skip = base == 8 ? 1 : 2; /* the backslash, and the letter */
	uint64_t cp;
	if (lx->pos + skip + digits > lx->end ||
	    quota__uint_parse(lx->src + lx->pos + skip, digits, base, &cp) != 0)
		return error_here(lx, "malformed escape sequence");
	int rc = put_code_point(lx, (uint32_t)cp);
	if (rc == QUOTA_OK)
		advance(lx, skip + digits);
	return rc;
}

/* A string literal; lx at its prefix or its first quote. */
static int lex_string(lexer *lx)
{
	int raw = 0, rc;
	if (peek(lx, 0) == 'r' || peek(lx, 0) == 'R') {
		raw = 1;
		advance(lx, 1);
	}
	char q = peek(lx, 0);
	size_t qlen = peek(lx, 1) == q && peek(lx, 2) == q ? 3 : 1;
	advance(lx, qlen);
	lx->str.len = 0;
	for (;;) {
		char c = peek(lx, 0);
		if (lx->pos >= lx->end)
			return quota__expr_parse_error(lx->tok.line, lx->tok.col,
						       "unterminated string");
		if (c == q && (qlen == 1 || (peek(lx, 1) == q && peek(lx, 2) == q))) {
			advance(lx, qlen);
			break;
		}
		if (qlen == 1 && (c == '\n' || c == '\r'))
			return error_here(lx, "newline in a string; use \\n or triple quotes");
		if (c == '\\' && !raw) {
			if ((rc = lex_escape(lx)))
				return rc;
			continue;
		}
		quota__text_putn(&lx->str, &lx->src[lx->pos], 1);
		advance(lx, 1);
	}
	if (lx->str.nomem)
		return QUOTA_ERR_NOMEM;
	lx->tok.kind = T_STRING;
	return QUOTA_OK;
}

static int lex_number(lexer *lx)
{
	size_t start = lx->pos;
	int is_double = 0;
	if (peek(lx, 0) == '0' && (peek(lx, 1) == 'x' || peek(lx, 1) == 'X')) {
		advance(lx, 2);
		size_t digits = lx->pos;
		while (is_hex(peek(lx, 0)))
			advance(lx, 1);
		if (lx->pos == digits)
			return error_here(lx, "hexadecimal number without digits");
		if (quota__uint_parse(lx->src + digits, lx->pos - digits, 16, &lx->tok.u) != 0)
			return quota__expr_parse_error(lx->tok.line, lx->tok.col,
						       "integer literal out of range");
	} else {
		while (is_digit(peek(lx, 0)))
			advance(lx, 1);
		if (peek(lx, 0) == '.' && is_digit(peek(lx, 1))) {
			is_double = 1;
			advance(lx, 1);
			while (is_digit(peek(lx, 0)))
				advance(lx, 1);
		}
		if (peek(lx, 0) == 'e' || peek(lx, 0) == 'E') {
			size_t sign = peek(lx, 1) == '+' || peek(lx, 1) == '-';
			if (!is_digit(peek(lx, 1 + sign)))
				return error_here(lx, "exponent without digits");
			is_double = 1;
			advance(lx, 1 + sign);
			while (is_digit(peek(lx, 0)))
				advance(lx, 1);
		}
		if (is_double) {
			if (quota__double_parse(lx->src + start, lx->pos - start, &lx->tok.d) != 0)
				return error_here(lx, "malformed number");
		} else if (quota__uint_parse(lx->src + start, lx->pos - start, 10, &lx->tok.u) !=
			   0) {
			return quota__expr_parse_error(lx->tok.line, lx->tok.col,
						       "integer literal out of range");
		}
	}
	if (peek(lx, 0) == 'u' || peek(lx, 0) == 'U')
		return error_here(lx, "unsigned integers are not supported");
	if (is_ident_char(peek(lx, 0)) || (peek(lx, 0) == '.' && is_digit(peek(lx, 1))))
		return error_here(lx, "malformed number");
	lx->tok.kind = is_double ? T_DOUBLE : T_INT;
	return QUOTA_OK;
}

static const struct {
	const char *w;
	int kind;
} words[] = {{"true", T_TRUE}, {"false", T_FALSE}, {"null", T_NULL}, {"in", T_IN}};

static int word_is(const char *w, const char *s, size_t n)
{
	return strlen(w) == n && memcmp(w, s, n) == 0;
}

static int is_reserved(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (word_is(reserved[i], s, n))
			return 1;
	return 0;
}

int quota__lex_is_keyword(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (word_is(words[i].w, s, n))
			return 1;
	return is_reserved(s, n);
}

static int lex_word(lexer *lx)
{
	size_t start = lx->pos;
	while (is_ident_char(peek(lx, 0)))
		advance(lx, 1);
	const char *w = lx->src + start;
	size_t n = lx->pos - start;
	lx->tok.kind = T_IDENT;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (word_is(words[i].w, w, n))
			lx->tok.kind = words[i].kind;
	lx->tok.reserved = is_reserved(w, n);
	return QUOTA_OK;
}

int quota__lex_next(lexer *lx)
{
	int rc = QUOTA_OK;
	while (lx->pos < lx->end && lx->src[lx->pos] && strchr(" \t\r\n", lx->src[lx->pos]))
		advance(lx, 1);
	lx->tok.line = lx->line;
	lx->tok.col = lx->col;
	lx->tok.pos = lx->pos;
	lx->tok.reserved = 0;
	char c = peek(lx, 0), c1 = peek(lx, 1);
	if (lx->pos >= lx->end) {
		lx->tok.kind = T_EOF;
	} else if (c == '"' || c == '\'' || ((c == 'r' || c == 'R') && (c1 == '"' || c1 == '\''))) {
		rc = lex_string(lx);
	} else if ((c == 'b' || c == 'B') && (c1 == '"' || c1 == '\'')) {
		rc = error_here(lx, "bytes literals are not supported");
	} else if (is_digit(c) || (c == '.' && is_digit(c1))) {
		rc = lex_number(lx);
	} else if (is_ident_start(c)) {
		rc = lex_word(lx);
	} else {
		rc = error_here(lx, "unexpected character");
		for (size_t i = 0; i < sizeof puncts / sizeof puncts[0]; i++) {
			size_t n = strlen(puncts[i].text);
			if (lx->pos + n <= lx->end &&
			    memcmp(lx->src + lx->pos, puncts[i].text, n) == 0) {
				lx->tok.kind = puncts[i].kind;
				advance(lx, n);
				rc = QUOTA_OK;
				break;
			}
		}
	}
	lx->tok.len = lx->pos - lx->tok.pos;
	return rc;
}

int quota__lex_init(lexer *lx, const char *src, size_t start, size_t end, uint32_t line,
		    uint32_t col)
{
	memset(lx, 0, sizeof *lx);
	lx->src = src;
	lx->pos = start;
	lx->end = end;
	lx->line = line;
	lx->col = col;
	size_t bad = quota__utf8_invalid_at(src + start, end - start);
	for (size_t i = start; i < start + bad; i++) {
		unsigned char c = (unsigned char)src[i];
		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7F) {
			bad = i - start;
			advance(lx, bad);
			return error_here(lx, "control character");
		}
	}
	if (start + bad < end) {
		advance(lx, bad);
		return error_here(lx, "invalid UTF-8");
	}
	return quota__lex_next(lx);
}

void quota__lex_done(lexer *lx)
{
	quota__free(lx->str.buf);
	lx->str = (quota__text){0};
}
