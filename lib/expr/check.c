/*
 * The checker: resolves names to variables and comprehension slots, turns
 * calls into functions or macros (has, all, exists, exists_one, map,
 * filter), folds lists and maps of constants into documents and compiles
 * constant patterns, so that evaluation finds nothing left to look up.
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "expr.h"

typedef struct checker {
	const char *const *vars;
	uint32_t var_count;
	void **arena;
	xres *owned;
	const xnode *scope[QUOTA_EXPR_MAX_DEPTH]; /* the comprehension variables */
	uint32_t depth;
} checker;

static const struct function {
	const char *name;
	int id;
	int member_args, global_args; /* arguments besides the receiver; -1: no such form */
	const char *usage;
} functions[] = {
	{"size", F_SIZE, 0, 1, "size(x) or x.size()"},
	{"startsWith", F_STARTS_WITH, 1, -1, "s.startsWith(prefix)"},
	{"endsWith", F_ENDS_WITH, 1, -1, "s.endsWith(suffix)"},
	{"contains", F_CONTAINS, 1, -1, "s.contains(part)"},
	{"matches", F_MATCHES, 1, 2, "s.matches(pattern) or matches(s, pattern)"},
	{"lowerAscii", F_LOWER_ASCII, 0, -1, "s.lowerAscii()"},
	{"upperAscii", F_UPPER_ASCII, 0, -1, "s.upperAscii()"},
	{"int", F_INT, -1, 1, "int(x)"},
	{"double", F_DOUBLE, -1, 1, "double(x)"},
	{"string", F_STRING, -1, 1, "string(x)"},
};

static const struct macro {
	const char *name;
	int id;
	uint32_t min_args, max_args;
	const char *usage;
} macros[] = {
	{"all", C_ALL, 2, 2, "e.all(x, predicate)"},
	{"exists", C_EXISTS, 2, 2, "e.exists(x, predicate)"},
	{"exists_one", C_EXISTS_ONE, 2, 2, "e.exists_one(x, predicate)"},
	{"map", C_MAP, 2, 3, "e.map(x, transform) or e.map(x, predicate, transform)"},
	{"filter", C_FILTER, 2, 2, "e.filter(x, predicate)"},
};

static int check(checker *ck, xnode **np);

static int name_is(const xnode *n, const char *s)
{
	return strlen(s) == n->name_len && memcmp(s, n->name, n->name_len) == 0;
}

static int resolve(checker *ck, xnode *n)
{
	for (uint32_t i = ck->depth; i-- > 0;)
		if (ck->scope[i]->name_len == n->name_len &&
		    memcmp(ck->scope[i]->name, n->name, n->name_len) == 0) {
			n->kind = N_LOCAL;
			n->v.slot = i;
			return QUOTA_OK;
		}
	for (uint32_t i = 0; i < ck->var_count; i++)
		if (name_is(n, ck->vars[i])) {
			n->kind = N_VAR;
			n->v.slot = i;
			return QUOTA_OK;
		}
	return quota__expr_parse_error(n->line, n->col, "undeclared reference to '%.*s'",
				       (int)n->name_len, n->name);
}

/* The field name of a selection, as a document the expression keeps. */
static int field_name(checker *ck, xnode *n)
{
	quota_doc *d = quota__doc_string(n->name, n->name_len);
	if (!d)
		return QUOTA_ERR_NOMEM;
	n->v.doc = d;
	return quota__res_doc(ck->owned, d);
}

static int is_const(const xnode *n)
{
	return n->kind <= N_CONST;
}

/* A constant node as a document (a new reference); NULL when out of
 * memory. */
static quota_doc *const_doc(const xnode *n)
{
	switch (n->kind) {
	case N_NULL: return &quota__doc_null;
	case N_BOOL: return quota__doc_bool(n->v.b);
	case N_INT: return quota__doc_int(n->v.i);
	case N_DOUBLE: return quota__doc_double(n->v.d);
	default: return quota_doc_ref(n->v.doc);
	}
}

/* Lists and maps whose members are all constants become one document,
 * built once here instead of at every evaluation. */
static int fold(checker *ck, xnode *n)
{
	int is_map = n->kind == N_MAP, rc = QUOTA_OK;
	for (uint32_t i = 0; is_map && i < n->nargs; i += 2)
		if (is_const(n->args[i]) && n->args[i]->kind != N_STRING)
			return quota__expr_parse_error(n->args[i]->line, n->args[i]->col,
						       "map keys must be strings");
	for (uint32_t i = 0; i < n->nargs; i++)
		if (!is_const(n->args[i]))
			return QUOTA_OK;
	quota_doc *d = is_map ? quota__doc_map(n->nargs / 2) : quota__doc_list(n->nargs);
	if (!d)
		return QUOTA_ERR_NOMEM;
	for (uint32_t i = 0; i < n->nargs && rc == QUOTA_OK; i += 1 + is_map) {
		quota_doc *v = const_doc(n->args[i + is_map]);
		if (!v) {
			rc = QUOTA_ERR_NOMEM;
		} else if (!is_map) {
			rc = quota__doc_push(d, v);
		} else {
			const quota_doc *k = n->args[i]->v.doc;
			if (quota__doc_find(d, k->u.s.ptr, k->u.s.len)) {
				quota_doc_unref(v);
				quota_doc_unref(d);
				return quota__expr_parse_error(n->args[i]->line, n->args[i]->col,
							       "duplicate key '%.*s' in a map",
							       (int)k->u.s.len, k->u.s.ptr);
			}
			rc = quota__doc_put(d, quota_doc_ref(k), v);
		}
	}
	if (rc != QUOTA_OK) {
		quota_doc_unref(d);
		return QUOTA_ERR_NOMEM;
	}
	n->kind = N_CONST;
	n->v.doc = d;
	n->args = NULL;
	n->nargs = 0;
	return quota__res_doc(ck->owned, d);
}

static int check_comprehension(checker *ck, xnode *n, const struct macro *m)
{
	/* the arguments besides the receiver */
	uint32_t args = (n->flags & NODE_MEMBER) ? n->nargs - 1 : 0;
	int rc;
	if (!(n->flags & NODE_MEMBER) || args < m->min_args || args > m->max_args)
		return quota__expr_parse_error(n->line, n->col, "%s() is called as %s", m->name,
					       m->usage);
	xnode *var = n->args[1];
	if (var->kind != N_IDENT)
		return quota__expr_parse_error(var->line, var->col,
					       "the first argument of %s() must be a simple name",
					       m->name);
	if ((rc = check(ck, &n->args[0])))
		return rc;
	uint32_t slot = ck->depth++;
	ck->scope[slot] = var;
	for (uint32_t i = 2; i < n->nargs && rc == QUOTA_OK; i++)
		rc = check(ck, &n->args[i]);
	ck->depth--;
	if (rc != QUOTA_OK)
		return rc;
	n->kind = N_COMP;
	n->op = (uint8_t)m->id;
	n->v.slot = slot;
	n->a = n->args[0];
	if (m->id == C_MAP) {
		n->b = args == 3 ? n->args[2] : NULL;
		n->c = n->args[n->nargs - 1];
	} else {
		n->b = n->args[2];
	}
	n->args = NULL;
	n->nargs = 0;
	return QUOTA_OK;
}

static int check_has(checker *ck, xnode *n)
{
	xnode *sel = n->nargs == 1 ? n->args[0] : NULL;
	int rc;
	if ((n->flags & NODE_MEMBER) || !sel || sel->kind != N_SELECT)
		return quota__expr_parse_error(n->line, n->col,
					       "has() takes one field selection, as in has(a.b)");
	if ((rc = check(ck, &sel->a)) || (rc = field_name(ck, sel)))
		return rc;
	n->kind = N_HAS;
	n->a = sel->a;
	n->v.doc = sel->v.doc;
	n->args = NULL;
	n->nargs = 0;
	return QUOTA_OK;
}

/* matches() with a constant pattern compiles it once, here. */
static int check_pattern(checker *ck, xnode *n)
{
	const xnode *pat = n->args[1];
	char err[160];
	regex_t *re;
	if (pat->kind != N_STRING)
		return QUOTA_OK;
	int rc = quota__re_compile(pat->v.doc->u.s.ptr, pat->v.doc->u.s.len, &re, err, sizeof err);
	if (rc == QUOTA_ERR_NOMEM)
		return rc;
	if (rc != QUOTA_OK)
		return quota__expr_parse_error(pat->line, pat->col, "%s", err);
	n->v.re = re;
	return quota__res_regex(ck->owned, re);
}

static int check_call(checker *ck, xnode *n)
{
	int member = (n->flags & NODE_MEMBER) != 0, rc;
	if (name_is(n, "has"))
		return check_has(ck, n);
	for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
		if (name_is(n, macros[i].name))
			return check_comprehension(ck, n, &macros[i]);
	for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
		const struct function *f = &functions[i];
		if (!name_is(n, f->name))
			continue;
		int want = member ? f->member_args : f->global_args;
		if (want < 0 || n->nargs != (uint32_t)want + (uint32_t)member)
			return quota__expr_parse_error(n->line, n->col, "%s() is called as %s",
						       f->name, f->usage);
		for (uint32_t k = 0; k < n->nargs; k++)
			if ((rc = check(ck, &n->args[k])))
				return rc;
		n->op = (uint8_t)f->id;
		return f->id == F_MATCHES ? check_pattern(ck, n) : QUOTA_OK;
	}
	return quota__expr_parse_error(n->line, n->col, "unknown function '%.*s'", (int)n->name_len,
				       n->name);
}

static int check(checker *ck, xnode **np)
{
	xnode *n = *np;
	int rc = QUOTA_OK;
	switch (n->kind) {
	case N_IDENT: return resolve(ck, n);
	case N_CALL: return check_call(ck, n);
	case N_SELECT:
		if ((rc = field_name(ck, n)))
			return rc;
		break;
	default: break;
	}
	xnode **kids[] = {&n->a, &n->b, &n->c};
	for (size_t i = 0; i < 3 && rc == QUOTA_OK; i++)
		if (*kids[i])
			rc = check(ck, kids[i]);
	for (uint32_t i = 0; i < n->nargs && rc == QUOTA_OK; i++)
		rc = check(ck, &n->args[i]);
	if (rc == QUOTA_OK && (n->kind == N_LIST || n->kind == N_MAP))
		rc = fold(ck, n);
	return rc;
}

int quota__expr_check(xnode **root, const char *const *vars, uint32_t var_count, void **arena,
		      xres *owned)
{
	checker ck = {.vars = vars, .var_count = var_count, .arena = arena, .owned = owned};
	return check(&ck, root);
}
