/*
 * The expression engine inside the library: the tree the parser builds and
 * the checker resolves, the values evaluation passes around, and the calls
 * between the engine's files (lex, parse, check, eval, ops, func, regex).
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_EXPR_H
#define QUOTA_LIB_EXPR_H

#include <quota/expr.h>
#include <regex.h>
#include <stdint.h>

#include "../doc.h"

/* A regular expression pattern may be this long, constant or not. */
#define QUOTA__RE_MAX_LEN 512

/* Node kinds. */
enum {
	N_NULL,
	N_BOOL,
	N_INT,
	N_DOUBLE,
	N_STRING, /* v.doc */
	N_CONST,  /* a list or map folded at compile time: v.doc */
	N_IDENT,  /* before checking: name */
	N_VAR,    /* a variable: v.slot is its index */
	N_LOCAL,  /* a comprehension variable: v.slot */
	N_SELECT, /* a.field, the field's name in v.doc */
	N_HAS,    /* has(a.field) */
	N_INDEX,  /* a[b] */
	N_NOT,
	N_NEG,
	N_BINARY, /* op is an OP_* */
	N_AND,
	N_OR,
	N_COND, /* a ? b : c */
	N_LIST, /* args */
	N_MAP,  /* args: key, value, key, value, ... */
	N_CALL, /* before checking: name, flags & NODE_MEMBER; then op is an F_*;
		 * args[0] is the receiver for member calls */
	N_COMP  /* op is a C_*; a range, b predicate, c transform, v.slot */
};

/* Binary operators, in the order of the names in quota__op_name. */
enum {
	OP_ADD,
	OP_SUB,
	OP_MUL,
	OP_DIV,
	OP_MOD,
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_EQ,
	OP_NE,
	OP_IN
};

/* Functions. */
enum {
	F_SIZE,
	F_STARTS_WITH,
	F_ENDS_WITH,
	F_CONTAINS,
	F_MATCHES,
	F_LOWER_ASCII,
	F_UPPER_ASCII,
	F_INT,
	F_DOUBLE,
	F_STRING
};

/* Comprehensions. */
enum {
	C_ALL,
	C_EXISTS,
	C_EXISTS_ONE,
	C_MAP,
	C_FILTER
};

#define NODE_MEMBER 1 /* a call written as x.f(...) */

typedef struct xnode xnode;
struct xnode {
	uint8_t kind, op, depth, flags;
	uint32_t line, col;
	xnode *a, *b, *c;
	xnode **args;
	uint32_t nargs;
	uint32_t name_len;
	const char *name; /* into the source; only while compiling */
	union {
		int64_t i;
		double d;
		int32_t b;
		quota_doc *doc;
		uint32_t slot;
		regex_t *re; /* N_CALL of matches with a constant pattern */
	} v;
};

/* What a compiled expression owns besides its nodes: documents and
 * compiled patterns. */
typedef struct xres {
	struct xowned {
		void *p;
		int is_regex;
	} * items;
	uint32_t n, cap;
} xres;

struct quota_expr {
	xnode *root;
	uint32_t var_count;
	void *arena;
	xres owned;
};

/* ---- compiling ---- */

/* Where a position is, as the messages say it: "column 7" on the first
 * line, "line 2, column 3" after it. */
void quota__expr_where(char *buf, size_t n, uint32_t line, uint32_t col);

/* A compile error: QUOTA_ERR_PARSE with the position in front. */
__attribute__((format(printf, 3, 4))) int quota__expr_parse_error(uint32_t line, uint32_t col,
								  const char *fmt, ...);

/* Hand a document or a compiled pattern to the expression to free later;
 * on failure it is freed at once. */
int quota__res_doc(xres *r, quota_doc *d);
int quota__res_regex(xres *r, regex_t *re);
void quota__res_free(xres *r);

/*
 * Parse src[start..end) into a tree in *arena. The first byte is at
 * (line, col), so that the parts of a template report positions in the
 * template. QUOTA_OK, QUOTA_ERR_PARSE or QUOTA_ERR_NOMEM.
 */
int quota__expr_parse(const char *src, size_t start, size_t end, uint32_t line, uint32_t col,
		      void **arena, xres *owned, xnode **root);

/* Resolve names, expand macros, fold constant lists and maps, compile
 * constant patterns. */
int quota__expr_check(xnode **root, const char *const *vars, uint32_t var_count, void **arena,
		      xres *owned);

/*
 * The whole of compiling: check the variable names, parse, check. Used by
 * quota_expr_compile and by templates for their parts.
 */
int quota__expr_build(const char *src, size_t start, size_t end, uint32_t line, uint32_t col,
		      const char *const *vars, uint32_t var_count, quota_expr **out);

/* Variable names: [A-Za-z_][A-Za-z0-9_]*, no keyword, no repeats. */
int quota__expr_check_vars(const char *const *vars, uint32_t n);

/* ---- evaluating ---- */

/* A value: scalars inline, strings, lists and maps as documents. own says
 * whether the value holds a reference; a borrowed document lives in the
 * inputs, the compiled expression or a container held further up. */
typedef struct xval {
	uint8_t t; /* QUOTA_DOC_* */
	uint8_t own;
	union {
		int64_t i;
		double d;
		int32_t b;
		quota_doc *doc;
	} u;
} xval;

typedef struct xctx {
	const quota_doc *const *vars;
	xval locals[QUOTA_EXPR_MAX_DEPTH];
	uint64_t cost, limit;
	int fatal; /* the error must not be absorbed by && || all exists */
	char msg[320];
} xctx;

static inline void xval_drop(xval *v)
{
	if (v->own)
		quota_doc_unref(v->u.doc);
	v->own = 0;
}

/* A borrowed view of a document. */
static inline xval xval_of(const quota_doc *d)
{
	xval v = {d->type, 0, {0}};
	switch (d->type) {
	case QUOTA_DOC_NULL: break;
	case QUOTA_DOC_BOOL: v.u.b = d->u.b; break;
	case QUOTA_DOC_INT: v.u.i = d->u.i; break;
	case QUOTA_DOC_DOUBLE: v.u.d = d->u.d; break;
	default: v.u.doc = (quota_doc *)d;
	}
	return v;
}

static inline xval xval_bool(int b)
{
	xval v = {QUOTA_DOC_BOOL, 0, {.b = b != 0}};
	return v;
}

static inline xval xval_int(int64_t i)
{
	xval v = {QUOTA_DOC_INT, 0, {.i = i}};
	return v;
}

/* An owned document as a value (NULL means out of memory: the caller
 * checks before). */
static inline xval xval_take(quota_doc *d)
{
	xval v = {d->type, 1, {.doc = d}};
	return v;
}

/* Start an evaluation. */
void quota__xctx_init(xctx *c, const quota_doc *const *vars, uint64_t limit);
/* Check the values (one non-NULL document per variable) and the options
 * (NULL for the defaults), then start an evaluation in c. */
int quota__expr_start(uint32_t var_count, const quota_doc *const *values, uint32_t value_count,
		      const quota_expr_options *opts, xctx *c);
int quota__eval(xctx *c, const xnode *n, xval *out);
/* Evaluate a whole expression; a failure is recorded as the last error. */
int quota__expr_run(const quota_expr *x, xctx *c, xval *out);
/* The value as a document the caller owns (consumes v). */
int quota__xval_to_doc(xctx *c, xval *v, quota_doc **out);

/* Errors during evaluation: QUOTA_ERR_EVAL with the node's position. */
__attribute__((format(printf, 3, 4))) int quota__xfail(xctx *c, const xnode *n, const char *fmt,
						       ...);
int quota__xnomem(xctx *c);
/* Add steps to the cost; QUOTA_ERR_EVAL (fatal) past the budget. */
int quota__xcharge(xctx *c, const xnode *n, uint64_t steps);
const char *quota__type_name(int t);

/* What work on text costs: one step per 64 bytes, at least one. */
static inline uint64_t quota__text_steps(size_t bytes)
{
	return bytes / 64 + 1;
}

/* ops.c */
int quota__eval_binary(xctx *c, const xnode *n, xval *l, xval *r, xval *out);
int quota__eval_neg(xctx *c, const xnode *n, xval *v, xval *out);
/* Equality as == sees it: 1, 0; numbers of both kinds compare by value. */
int quota__xval_equal(const xval *a, const xval *b);

/* func.c */
int quota__eval_call(xctx *c, const xnode *n, xval *args, xval *out);
extern const char *const quota__op_name[];

/* regex.c */
int quota__re_compile(const char *pat, size_t len, regex_t **out, char *err, size_t errn);
int quota__re_match(const regex_t *re, const char *s, size_t len);
void quota__re_free(regex_t *re);

#endif
