/*
 * The expression parser: recursive descent over CEL's grammar,
 *
 *   expr    = or ["?" or ":" expr]
 *   or      = and {"||" and}
 *   and     = rel {"&&" rel}
 *   rel     = add {("<" | "<=" | ">" | ">=" | "==" | "!=" | "in") add}
 *   add     = mul {("+" | "-") mul}
 *   mul     = unary {("*" | "/" | "%") unary}
 *   unary   = member | "!" unary | "-" unary
 *   member  = primary {"." name ["(" [args] ")"] | "[" expr "]"}
 *   primary = name ["(" [args] ")"] | "(" expr ")" | list | map | literal
 *
 * Chains of && and of || become balanced trees (their results do not depend
 * on grouping), so that long chains do not nest deep. Every other node adds
 * a level; past QUOTA_EXPR_MAX_DEPTH the parser stops with an error instead
 * of recursing further.
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "../alloc.h"
#include "expr.h"
#include "lex.h"

typedef struct parser {
	lexer lx;
	void **arena;
	xres *owned;
	int nest;
} parser;

static int parse_expr(parser *p, xnode **out);

static int next(parser *p)
{
	return quota__lex_next(&p->lx);
}

static int is(const parser *p, int kind)
{
	return p->lx.tok.kind == kind;
}

static int unexpected(const parser *p, const char *wanted)
{
	const token *t = &p->lx.tok;
	if (t->kind == T_IDENT)
		return quota__expr_parse_error(t->line, t->col, "expected %s, found '%.*s'", wanted,
					       (int)t->len, p->lx.src + t->pos);
	return quota__expr_parse_error(t->line, t->col, "expected %s, found %s", wanted,
				       quota__token_name(t->kind));
}

static int expect(parser *p, int kind)
{
	if (!is(p, kind))
		return unexpected(p, quota__token_name(kind));
	return next(p);
}

static xnode *node(parser *p, int kind, const token *at)
{
	xnode *n = quota__arena_alloc(p->arena, sizeof *n);
	if (n) {
		n->kind = (uint8_t)kind;
		n->line = at->line;
		n->col = at->col;
	}
	return n;
}

/* The node is complete: set its depth, which must stay within the limit. */
static int finish(xnode *n)
{
	uint32_t d = 0;
	const xnode *kids[] = {n->a, n->b, n->c};
	for (size_t i = 0; i < 3; i++)
		if (kids[i] && kids[i]->depth > d)
			d = kids[i]->depth;
	for (uint32_t i = 0; i < n->nargs; i++)
		if (n->args[i]->depth > d)
			d = n->args[i]->depth;
	if (d + 1 > QUOTA_EXPR_MAX_DEPTH)
		return quota__expr_parse_error(n->line, n->col,
					       "expression nested deeper than %d levels",
					       QUOTA_EXPR_MAX_DEPTH);
	n->depth = (uint8_t)(d + 1);
	return QUOTA_OK;
}

/* Append to an array of node pointers that lives in the arena. */
static int push(parser *p, xnode ***arr, uint32_t *n, uint32_t *cap, xnode *x)
{
	if (*n == *cap) {
		uint32_t grown = *cap ? *cap * 2 : 4;
		xnode **a = quota__arena_alloc(p->arena, grown * sizeof *a);
		if (!a)
			return QUOTA_ERR_NOMEM;
		if (*n)
			memcpy(a, *arr, *n * sizeof *a);
		*arr = a;
		*cap = grown;
	}
	(*arr)[(*n)++] = x;
	return QUOTA_OK;
}

/* Expressions separated by commas up to the closing token, which is
 * consumed; a trailing comma is allowed where trailing says so. Map
 * literals (pairs) read "key: value" for each item. */
static int parse_items(parser *p, int close, int trailing, int pairs, xnode *into)
{
	uint32_t cap = into->nargs;
	int rc;
	while (!is(p, close)) {
		xnode *x;
		for (int half = 0; half <= pairs; half++) {
			if ((rc = parse_expr(p, &x)))
				return rc;
			if ((rc = push(p, &into->args, &into->nargs, &cap, x)))
				return rc;
			if (half < pairs && (rc = expect(p, T_COLON)))
				return rc;
		}
		if (!is(p, T_COMMA))
			break;
		if ((rc = next(p)))
			return rc;
		if (!trailing && is(p, close))
			return unexpected(p, "an expression");
	}
	if (!is(p, close))
		return unexpected(p, close == T_RPAREN     ? "',' or ')'"
				     : close == T_RBRACKET ? "',' or ']'"
							   : "',' or '}'");
	return next(p);
}

static int parse_literal(parser *p, xnode **out)
{
	const token *t = &p->lx.tok;
	static const int kinds[] = {[T_INT] = N_INT,   [T_DOUBLE] = N_DOUBLE, [T_STRING] = N_STRING,
				    [T_TRUE] = N_BOOL, [T_FALSE] = N_BOOL,    [T_NULL] = N_NULL};
	xnode *n = node(p, kinds[t->kind], t);
	if (!n)
		return QUOTA_ERR_NOMEM;
	if (t->kind == T_INT) {
		if (t->u > INT64_MAX)
			return quota__expr_parse_error(t->line, t->col,
						       "integer literal out of range");
		n->v.i = (int64_t)t->u;
	} else if (t->kind == T_DOUBLE) {
		n->v.d = t->d;
	} else if (t->kind == T_STRING) {
		quota_doc *d = quota__doc_string(p->lx.str.buf, p->lx.str.len);
		int rc = d ? quota__res_doc(p->owned, d) : QUOTA_ERR_NOMEM;
		if (rc)
			return rc;
		n->v.doc = d;
	} else {
		n->v.b = t->kind == T_TRUE;
	}
	*out = n;
	finish(n);
	return next(p);
}

static int parse_primary(parser *p, xnode **out)
{
	token t = p->lx.tok;
	xnode *n;
	int rc;
	switch (t.kind) {
	case T_INT:
	case T_DOUBLE:
	case T_STRING:
	case T_TRUE:
	case T_FALSE:
	case T_NULL: return parse_literal(p, out);
	case T_LPAREN:
		if ((rc = next(p)) || (rc = parse_expr(p, out)))
			return rc;
		return expect(p, T_RPAREN);
	case T_LBRACKET:
	case T_LBRACE:
		if (!(n = node(p, t.kind == T_LBRACKET ? N_LIST : N_MAP, &t)))
			return QUOTA_ERR_NOMEM;
		if ((rc = next(p)) ||
		    (rc = parse_items(p, t.kind == T_LBRACKET ? T_RBRACKET : T_RBRACE, 1,
				      t.kind == T_LBRACE, n)))
			return rc;
		*out = n;
		return finish(n);
	case T_IDENT:
		/* reserved words may name fields (a.namespace), nothing else */
		if (t.reserved)
			return quota__expr_parse_error(t.line, t.col, "'%.*s' is a reserved word",
						       (int)t.len, p->lx.src + t.pos);
		if (!(n = node(p, N_IDENT, &t)))
			return QUOTA_ERR_NOMEM;
		n->name = p->lx.src + t.pos;
		n->name_len = (uint32_t)t.len;
		if ((rc = next(p)))
			return rc;
		if (is(p, T_LPAREN)) {
			n->kind = N_CALL;
			if ((rc = next(p)) || (rc = parse_items(p, T_RPAREN, 0, 0, n)))
				return rc;
		}
		*out = n;
		return finish(n);
	case T_DOT:
		return quota__expr_parse_error(t.line, t.col,
					       "names with a leading '.' are not supported");
	default: return unexpected(p, "an expression");
	}
}

/* The selections, indexes and member calls after an operand. */
static int parse_member(parser *p, xnode *n, xnode **out)
{
	int rc;
	if (!n && (rc = parse_primary(p, &n)))
		return rc;
	while (is(p, T_DOT) || is(p, T_LBRACKET)) {
		token t = p->lx.tok;
		xnode *m;
		if ((rc = next(p)))
			return rc;
		if (t.kind == T_LBRACKET) {
			if (!(m = node(p, N_INDEX, &t)))
				return QUOTA_ERR_NOMEM;
			m->a = n;
			if ((rc = parse_expr(p, &m->b)) || (rc = expect(p, T_RBRACKET)))
				return rc;
		} else {
			token name = p->lx.tok;
			if (!is(p, T_IDENT))
				return unexpected(p, "a field name after '.'");
			if (!(m = node(p, N_SELECT, &name)) || (rc = next(p)))
				return m ? rc : QUOTA_ERR_NOMEM;
			m->name = p->lx.src + name.pos;
			m->name_len = (uint32_t)name.len;
			m->a = n;
			if (is(p, T_LPAREN)) {
				uint32_t cap = 1;
				m->kind = N_CALL;
				m->flags = NODE_MEMBER;
				m->a = NULL;
				if (!(m->args = quota__arena_alloc(p->arena, sizeof *m->args)))
					return QUOTA_ERR_NOMEM;
				m->args[0] = n;
				m->nargs = cap;
				if ((rc = next(p)) || (rc = parse_items(p, T_RPAREN, 0, 0, m)))
					return rc;
			}
		}
		if ((rc = finish(m)))
			return rc;
		n = m;
	}
	*out = n;
	return QUOTA_OK;
}

static int parse_unary(parser *p, xnode **out)
{
	token t = p->lx.tok;
	xnode *n;
	int rc;
	if (!is(p, T_NOT) && !is(p, T_MINUS))
		return parse_member(p, NULL, out);
	if ((rc = next(p)))
		return rc;
	if (t.kind == T_MINUS && (is(p, T_INT) || is(p, T_DOUBLE))) {
		/* a negative literal: -9223372036854775808 is an int */
		token *lit = &p->lx.tok;
		if (lit->kind == T_INT && lit->u > (uint64_t)INT64_MAX + 1)
			return quota__expr_parse_error(t.line, t.col,
						       "integer literal out of range");
		if (!(n = node(p, lit->kind == T_INT ? N_INT : N_DOUBLE, &t)))
			return QUOTA_ERR_NOMEM;
		if (lit->kind == T_INT)
			n->v.i = (int64_t)(0 - lit->u);
		else
			n->v.d = -lit->d;
		finish(n);
		if ((rc = next(p)))
			return rc;
		return parse_member(p, n, out);
	}
	if (!(n = node(p, t.kind == T_NOT ? N_NOT : N_NEG, &t)))
		return QUOTA_ERR_NOMEM;
	if (++p->nest > QUOTA_EXPR_MAX_DEPTH)
		return quota__expr_parse_error(t.line, t.col,
					       "expression nested deeper than %d levels",
					       QUOTA_EXPR_MAX_DEPTH);
	if ((rc = parse_unary(p, &n->a)))
		return rc;
	p->nest--;
	*out = n;
	return finish(n);
}

/* Left-associative binary operators, one precedence level each. */
static const struct {
	int token, op;
} levels[][7] = {
	{{T_LT, OP_LT},
	 {T_LE, OP_LE},
	 {T_GT, OP_GT},
	 {T_GE, OP_GE},
	 {T_EQ, OP_EQ},
	 {T_NE, OP_NE},
	 {T_IN, OP_IN}},
	{{T_PLUS, OP_ADD}, {T_MINUS, OP_SUB}},
	{{T_STAR, OP_MUL}, {T_SLASH, OP_DIV}, {T_PERCENT, OP_MOD}},
};

static int operator_at(const parser *p, int level)
{
	for (int i = 0; i < 7; i++)
		if (levels[level][i].token == p->lx.tok.kind && levels[level][i].token != T_EOF)
			return levels[level][i].op;
	return -1;
}

static int parse_binary(parser *p, int level, xnode **out)
{
	int rc, op;
	xnode *left;
	rc = level < 2 ? parse_binary(p, level + 1, &left) : parse_unary(p, &left);
	while (rc == QUOTA_OK && (op = operator_at(p, level)) >= 0) {
		xnode *n = node(p, N_BINARY, &p->lx.tok);
		if (!n)
			return QUOTA_ERR_NOMEM;
		n->op = (uint8_t)op;
		n->a = left;
		if ((rc = next(p)) ||
		    (rc = level < 2 ? parse_binary(p, level + 1, &n->b) : parse_unary(p, &n->b)) ||
		    (rc = finish(n)))
			return rc;
		left = n;
	}
	*out = left;
	return rc;
}

/* ops[i] is the operator between operands i and i + 1. */
static int balance(xnode **operands, xnode **ops, uint32_t lo, uint32_t hi, xnode **out)
{
	int rc;
	if (hi - lo == 1) {
		*out = operands[lo];
		return QUOTA_OK;
	}
	uint32_t mid = lo + (hi - lo) / 2;
	xnode *n = ops[mid - 1];
	if ((rc = balance(operands, ops, lo, mid, &n->a)) ||
	    (rc = balance(operands, ops, mid, hi, &n->b)))
		return rc;
	*out = n;
	return finish(n);
}

/* level 0: ||, level 1: && */
static int parse_logic(parser *p, int level, xnode **out)
{
	int tok = level ? T_AND : T_OR, rc;
	xnode **operands = NULL, **ops = NULL, *x;
	uint32_t n = 0, cap = 0, nops = 0, capops = 0;
	for (;;) {
		rc = level ? parse_binary(p, 0, &x) : parse_logic(p, 1, &x);
		if (rc || (rc = push(p, &operands, &n, &cap, x)) || !is(p, tok))
			break;
		xnode *op = node(p, level ? N_AND : N_OR, &p->lx.tok);
		if (!op)
			return QUOTA_ERR_NOMEM;
		if ((rc = push(p, &ops, &nops, &capops, op)) || (rc = next(p)))
			return rc;
	}
	return rc ? rc : balance(operands, ops, 0, n, out);
}

static int parse_expr(parser *p, xnode **out)
{
	int rc;
	if (++p->nest > QUOTA_EXPR_MAX_DEPTH)
		return quota__expr_parse_error(p->lx.tok.line, p->lx.tok.col,
					       "expression nested deeper than %d levels",
					       QUOTA_EXPR_MAX_DEPTH);
	if ((rc = parse_logic(p, 0, out)))
		return rc;
	if (is(p, T_QUESTION)) {
		xnode *n = node(p, N_COND, &p->lx.tok);
		if (!n)
			return QUOTA_ERR_NOMEM;
		n->a = *out;
		if ((rc = next(p)) || (rc = parse_logic(p, 0, &n->b)) ||
		    (rc = expect(p, T_COLON)) || (rc = parse_expr(p, &n->c)) || (rc = finish(n)))
			return rc;
		*out = n;
	}
	p->nest--;
	return QUOTA_OK;
}

int quota__expr_parse(const char *src, size_t start, size_t end, uint32_t line, uint32_t col,
		      void **arena, xres *owned, xnode **root)
{
	parser p = {.arena = arena, .owned = owned};
	int rc = quota__lex_init(&p.lx, src, start, end, line, col);
	if (rc == QUOTA_OK && is(&p, T_EOF))
		rc = quota__expr_parse_error(line, col, "empty expression");
	if (rc == QUOTA_OK)
		rc = parse_expr(&p, root);
	if (rc == QUOTA_OK && !is(&p, T_EOF))
		rc = unexpected(&p, "an operator or the end of the expression");
	quota__lex_done(&p.lx);
	return rc;
}
