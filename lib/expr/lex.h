/*
 * The expression lexer: source text to tokens, one token of lookahead.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_EXPR_LEX_H
#define QUOTA_LIB_EXPR_LEX_H

#include <stddef.h>
#include <stdint.h>

#include "../text.h"

enum {
	T_EOF,
	T_IDENT,
	T_INT, /* u: the magnitude; the sign is the parser's */
	T_DOUBLE,
	T_STRING, /* the decoded bytes in the lexer's text buffer */
	T_TRUE,
	T_FALSE,
	T_NULL,
	T_IN,
	T_LPAREN,
	T_RPAREN,
	T_LBRACKET,
	T_RBRACKET,
	T_LBRACE,
	T_RBRACE,
	T_DOT,
	T_COMMA,
	T_COLON,
	T_QUESTION,
	T_NOT,
	T_MINUS,
	T_PLUS,
	T_STAR,
	T_SLASH,
	T_PERCENT,
	T_LT,
	T_LE,
	T_GT,
	T_GE,
	T_EQ,
	T_NE,
	T_AND,
	T_OR
};

typedef struct token {
	int kind;
	uint32_t line, col;
	size_t pos, len; /* the token's bytes in the source */
	uint64_t u;
	double d;
	int reserved; /* a T_IDENT that may only follow a '.' */
} token;

typedef struct lexer {
	const char *src;
	size_t pos, end;
	uint32_t line, col; /* of src[pos] */
	quota__text str;    /* the last string literal, decoded */
	token tok;          /* the current token */
} lexer;

/* Start at src[start] (which is at line, col) and read the first token. */
int quota__lex_init(lexer *lx, const char *src, size_t start, size_t end, uint32_t line,
		    uint32_t col);
/* Read the next token into lx->tok: QUOTA_OK, QUOTA_ERR_PARSE or
 * QUOTA_ERR_NOMEM (long strings). */
int quota__lex_next(lexer *lx);
void quota__lex_done(lexer *lx);
/* Is s[0..n) a word that cannot name a variable (true, in, if, ...)? */
int quota__lex_is_keyword(const char *s, size_t n);
/* How a token kind reads in messages: "')'", "end of expression", ... */
const char *quota__token_name(int kind);

#endif
