/*
 * libquota: templates, text with expressions in it.
 *
 * A template is literal text with parts written {{ expression }}; rendering
 * evaluates each part (see expr.h for the language), which must give a
 * string, and splices it in. "{{" always opens a part (write {{ '{{' }} for
 * the two characters themselves). The part ends at the
 * first "}}" that is neither inside a string literal nor closing a brace
 * the part opened, so {{ x + "}}" }} and {{ {"a": x}["a"] }} work.
 * A template without "{{" is plain text and renders as itself.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_TEMPLATE_H
#define QUOTA_TEMPLATE_H

#include "expr.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A compiled template. Opaque and immutable. */
typedef struct quota_template quota_template;

/** The longest template source, in bytes (each part is also limited to
 * QUOTA_EXPR_MAX_LENGTH). */
#define QUOTA_TEMPLATE_MAX_LENGTH 65536

/**
 * Compile a template: split it into text and parts, and compile each part.
 *
 * @param src        the template, NUL-terminated, valid UTF-8, at most
 *                   QUOTA_TEMPLATE_MAX_LENGTH bytes.
 * @param vars       the variable names, as for quota_expr_compile().
 * @param var_count  their number.
 * @param[out] out   the template; free it with quota_template_free().
 * @return QUOTA_OK; QUOTA_ERR_INVALID if src or out is NULL or a variable
 *         name is bad; QUOTA_ERR_PARSE for a "{{" without its "}}", or a
 *         part that does not compile (columns count from the start of the
 *         template); QUOTA_ERR_NOMEM.
 * Thread-safe.
 */
QUOTA_API int quota_template_compile(const char *src, const char *const *vars, uint32_t var_count,
				     quota_template **out);

/**
 * Render a template.
 *
 * @param t            the template.
 * @param values       one document per variable, as for quota_expr_eval().
 * @param value_count  their number.
 * @param opts         options, or NULL for the defaults; the cost budget
 *                     covers all the parts together.
 * @param[out] out     the text, NUL-terminated; free it with quota_free().
 * @param[out] len     its length without the NUL, or NULL when not wanted
 *                     (the text may contain NUL characters a part made).
 * @return QUOTA_OK; QUOTA_ERR_INVALID for a NULL or mismatched argument;
 *         QUOTA_ERR_EVAL when a part fails or gives something other than a
 *         string (the detail names the column of the part's "{{");
 *         QUOTA_ERR_NOMEM.
 * Thread-safe: many threads may render one template at once.
 */
QUOTA_API int quota_template_render(const quota_template *t, const quota_doc *const *values,
				    uint32_t value_count, const quota_expr_options *opts,
				    char **out, size_t *len);

/**
 * Is the template plain text, without parts?
 *
 * @return 1 or 0; QUOTA_ERR_INVALID if t is NULL.
 */
QUOTA_API int quota_template_is_literal(const quota_template *t);

/** Free a template. NULL is a no-op. */
QUOTA_API void quota_template_free(quota_template *t);

#ifdef __cplusplus
}
#endif

#endif /* QUOTA_TEMPLATE_H */
