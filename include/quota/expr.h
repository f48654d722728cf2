/*
 * libquota: policy expressions, a subset of CEL (the Common Expression
 * Language). doc/expressions.md describes the language; in short: null,
 * bool, int, double, string, list and map values; the operators
 *   ! -(unary)  * / %  + -  < <= > >= == != in  &&  ||  ?:
 * field selection a.b, indexing a[i], has(a.b); the functions size,
 * startsWith, endsWith, contains, matches (POSIX extended regular
 * expressions), lowerAscii, upperAscii, int, double, string; and the macros
 * all, exists, exists_one, map and filter.
 *
 * An expression is compiled once against the names of its variables and
 * then evaluated any number of times, from any number of threads at once,
 * against documents given for those variables.
 *
 * Errors say where: a compile error is QUOTA_ERR_PARSE and an evaluation
 * error QUOTA_ERR_EVAL, and quota_last_error() begins with the position,
 * "column 14: no such key 'foo'" (or "line 2, column 3: ..." after a
 * newline). Columns count characters (code points) from 1.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_EXPR_H
#define QUOTA_EXPR_H

#include "doc.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A compiled expression. Opaque and immutable. */
typedef struct quota_expr quota_expr;

/** The longest expression source, in bytes. */
#define QUOTA_EXPR_MAX_LENGTH 1024
/** How deep an expression's tree may nest (parentheses, operators, calls). */
#define QUOTA_EXPR_MAX_DEPTH 64
/** How many variables an expression may have. */
#define QUOTA_EXPR_MAX_VARS 64
/** The default cost budget of one evaluation, in steps. */
#define QUOTA_EXPR_DEFAULT_COST_LIMIT 1000000

/**
 * Evaluation options. Initialise with quota_expr_options_init().
 *
 * - size:       sizeof(quota_expr_options).
 * - cost_limit: the most steps one evaluation may take (default
 *               QUOTA_EXPR_DEFAULT_COST_LIMIT, at least 1). Every node
 *               evaluated is a step, every round of a comprehension is
 *               another, and work on long strings and lists costs one step
 *               per 64 bytes or per item. Past the budget the evaluation
 *               stops with QUOTA_ERR_EVAL "cost budget of N steps exceeded".
 */
typedef struct quota_expr_options {
	size_t size;
	uint64_t cost_limit;
} quota_expr_options;

/**
 * Initialise options to the defaults.
 *
 * @param o     the options.
 * @param size  sizeof(*o) as the caller knows it.
 * @return QUOTA_OK, or QUOTA_ERR_INVALID if o is NULL or size too small.
 */
QUOTA_API int quota_expr_options_init(quota_expr_options *o, size_t size);

/**
 * Compile an expression: parse it and check it once (names, functions,
 * macros, constant regular expressions).
 *
 * @param src        the expression, NUL-terminated, valid UTF-8, at most
 *                   QUOTA_EXPR_MAX_LENGTH bytes.
 * @param vars       the names of the variables, [A-Za-z_][A-Za-z0-9_]*, no
 *                   reserved word, no duplicates; may be NULL when var_count
 *                   is 0. The names are not kept.
 * @param var_count  their number, at most QUOTA_EXPR_MAX_VARS.
 * @param[out] out   the compiled expression; free it with quota_expr_free().
 * @return QUOTA_OK; QUOTA_ERR_INVALID if src or out is NULL or a variable
 *         name is bad; QUOTA_ERR_PARSE when the expression is too long,
 *         nests too deep, has a syntax error, names an unknown variable or
 *         function, or has an invalid constant pattern (the detail starts
 *         with the column); QUOTA_ERR_NOMEM.
 * Thread-safe.
 */
QUOTA_API int quota_expr_compile(const char *src, const char *const *vars, uint32_t var_count,
				 quota_expr **out);

/**
 * Evaluate a compiled expression.
 *
 * @param x            the expression.
 * @param values       one document per variable, in the order of the names
 *                     given to quota_expr_compile(); none may be NULL (use a
 *                     null document). They are only read.
 * @param value_count  must equal the number of variables.
 * @param opts         options, or NULL for the defaults.
 * @param[out] result  the value, owned by the caller (quota_doc_unref()).
 *                     It may share parts with the input documents; an
 *                     input placed inside a list or map of the result is
 *                     immutable from then on (see doc.h).
 * @return QUOTA_OK; QUOTA_ERR_INVALID for a NULL or mismatched argument or
 *         bad options; QUOTA_ERR_EVAL when evaluation fails (a missing
 *         key, a type mismatch, overflow, division by zero, the cost
 *         budget, ...: the detail starts with the column); QUOTA_ERR_NOMEM.
 * Thread-safe: any number of threads may evaluate one expression at once.
 */
QUOTA_API int quota_expr_eval(const quota_expr *x, const quota_doc *const *values,
			      uint32_t value_count, const quota_expr_options *opts,
			      quota_doc **result);

/**
 * Evaluate an expression that must yield a bool, such as a constraint.
 *
 * @param[out] result  1 or 0.
 * @return as quota_expr_eval(); also QUOTA_ERR_EVAL "expected bool, got
 *         string" (say) when the value is no bool.
 * Thread-safe.
 */
QUOTA_API int quota_expr_eval_bool(const quota_expr *x, const quota_doc *const *values,
				   uint32_t value_count, const quota_expr_options *opts,
				   int32_t *result);

/** Free a compiled expression. NULL is a no-op. */
QUOTA_API void quota_expr_free(quota_expr *x);

#ifdef __cplusplus
}
#endif

#endif /* QUOTA_EXPR_H */
