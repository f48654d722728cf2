/*
 * template.h: literal text, {{ }} parts, braces and quotes inside parts,
 * errors with columns, the shared cost budget and allocation failures.
 *
 * SPDX-License-Identifier: MIT
 */
#include <quota/quota.h>

#include "alloc-hook.h"
#include "check.h"
#include "doc-util.h"

static const char *const VARS[] = {"trigger", "user"};
static quota_doc *trigger, *user;

static int render(const char *src, const quota_expr_options *o, char **out, size_t *len)
{
	quota_template *t = NULL;
	const quota_doc *values[] = {trigger, user};
	*out = NULL;
	int rc = quota_template_compile(src, VARS, 2, &t);
	if (rc == QUOTA_OK)
		rc = quota_template_render(t, values, 2, o, out, len);
	quota_template_free(t);
	return rc;
}

static void check_render_(const char *file, int line, const char *src, const char *want)
{
	char *out = NULL;
	size_t len = 0;
	int rc = render(src, NULL, &out, &len);
	if (rc != QUOTA_OK)
		check_fail_(file, line, "%s: %s", src, quota_strerror(rc));
	else if (strcmp(out, want) != 0 || len != strlen(want))
		check_fail_(file, line, "%s: got \"%s\" (%zu bytes), want \"%s\"", src, out, len,
			    want);
	quota_free(out);
}

static void check_render_fails_(const char *file, int line, const char *src, int code,
				const char *fragment)
{
	char *out = NULL;
	int rc = render(src, NULL, &out, NULL);
	check_failure_(file, line, src, rc, code, fragment, out != NULL);
	quota_free(out);
}

#define CHECK_RENDER(src, want) check_render_(__FILE__, __LINE__, (src), (want))
#define CHECK_RENDER_FAILS(src, code, fragment)                                                    \
	check_render_fails_(__FILE__, __LINE__, (src), (code), (fragment))

static void test_literal(void)
{
	quota_template *t = NULL;
	CHECK_RC(quota_template_compile("plain text { } }} {", VARS, 2, &t), QUOTA_OK);
	CHECK_EQ_INT(quota_template_is_literal(t), 1);
	quota_template_free(t);
	CHECK_RC(quota_template_compile("", NULL, 0, &t), QUOTA_OK);
	CHECK_EQ_INT(quota_template_is_literal(t), 1);
	char *out = NULL;
	size_t len = 99;
	CHECK_RC(quota_template_render(t, NULL, 0, NULL, &out, &len), QUOTA_OK);
	CHECK_STR_EQ(out, "");
	CHECK_EQ_INT(len, 0);
	quota_free(out);
	quota_template_free(t);
	CHECK_RC(quota_template_compile("a {{ 'b' }}", VARS, 2, &t), QUOTA_OK);
	CHECK_EQ_INT(quota_template_is_literal(t), 0);
	quota_template_free(t);
	CHECK_RC(quota_template_is_literal(NULL), QUOTA_ERR_INVALID);

	CHECK_RENDER("plain text { } }} {", "plain text { } }} {");
	CHECK_RENDER("h\xC3\xA9 \xF0\x9F\x98\x80", "h\xC3\xA9 \xF0\x9F\x98\x80");
}

static void test_parts(void)
{
	CHECK_RENDER("{{ trigger.metadata.name }}", "web-1");
	CHECK_RENDER("claim-{{ trigger.metadata.name }}-{{ user.name }}", "claim-web-1-alice");
	CHECK_RENDER("{{trigger.kind}}{{user.name}}", "Projectalice");
	CHECK_RENDER("{{ trigger.metadata.name.upperAscii() }}.example.com", "WEB-1.example.com");
	CHECK_RENDER("{{ string(trigger.spec.replicas * 2) }} cpus", "6 cpus");
	CHECK_RENDER("{{ trigger.spec.replicas > 2 ? 'big' : 'small' }}", "big");
	CHECK_RENDER("x{{\n  user.name\n}}y", "xalicey");
	/* braces and quotes inside a part */
	CHECK_RENDER("{{ '}}' }}", "}}");
	CHECK_RENDER("literal {{ '{{' }} braces", "literal {{ braces");
	CHECK_RENDER("{{ \"{{\" + '}}' }}!", "{{}}!");
	CHECK_RENDER("{{ 'it\\'s }}' }}", "it's }}");
	CHECK_RENDER("{{ r'\\' + '}}' }}", "\\}}");
	CHECK_RENDER("{{ '''a}}b''' }}", "a}}b");
	CHECK_RENDER("{{ {'k': 'v'}['k'] }}", "v");
	CHECK_RENDER("{{ {'k': {'j': 'deep'}}.k.j}}", "deep");
	CHECK_RENDER("{{ [{'a': 'x'}].map(m, m.a)[0] }}", "x");
	/* a part may make a NUL: the length tells */
	char *out = NULL;
	size_t len = 0;
	CHECK_RC(render("a{{ '\\u0000' }}b", NULL, &out, &len), QUOTA_OK);
	CHECK_EQ_INT(len, 3);
	CHECK(out && memcmp(out, "a\0b", 4) == 0);
	quota_free(out);
}

static void test_errors(void)
{
	CHECK_RENDER_FAILS("abc {{ trigger.kind", QUOTA_ERR_PARSE,
			   "column 5: '{{' without its '}}'");
	CHECK_RENDER_FAILS("{{ 'a' }} {{ '}}'", QUOTA_ERR_PARSE, "column 11: '{{' without");
	CHECK_RENDER_FAILS("{{ {'a': 1 }}", QUOTA_ERR_PARSE, "without its '}}'");
	CHECK_RENDER_FAILS("x {{ }}", QUOTA_ERR_PARSE, "column 5: empty expression");
	CHECK_RENDER_FAILS("name-{{ nobody }}", QUOTA_ERR_PARSE,
			   "column 9: undeclared reference to 'nobody'");
	CHECK_RENDER_FAILS("a\nbc {{ 1 + }}", QUOTA_ERR_PARSE, "line 2, column 11: expected");
	/* every part must give a string */
	CHECK_RENDER_FAILS("n={{ trigger.spec.replicas }}", QUOTA_ERR_EVAL,
			   "column 3: the template part must give a string, got int");
	CHECK_RENDER_FAILS("{{ 'ok' }} and {{ trigger.spec.tags }}", QUOTA_ERR_EVAL,
			   "column 16: the template part must give a string, got list");
	CHECK_RENDER_FAILS("{{ null }}", QUOTA_ERR_EVAL, "got null");
	/* evaluation errors point into the template */
	CHECK_RENDER_FAILS("ns/{{ trigger.metadata.nope }}", QUOTA_ERR_EVAL,
			   "column 24: no such key 'nope'");
	/* long parts */
	static char src[1100];
	snprintf(src, sizeof src, "{{ '%01030d' }}", 0);
	CHECK_RENDER_FAILS(src, QUOTA_ERR_PARSE, "column 3: expression is longer than 1024 bytes");
	CHECK_RENDER_FAILS("\xC3 {{ 'a' }}", QUOTA_ERR_PARSE, "invalid UTF-8");

	/* arguments */
	quota_template *t = NULL;
	char *out = NULL;
	static const char *const bad_vars[] = {"no way"};
	CHECK_RC(quota_template_compile("literal", bad_vars, 1, &t), QUOTA_ERR_INVALID);
	CHECK_RC(quota_template_compile(NULL, VARS, 2, &t), QUOTA_ERR_INVALID);
	CHECK_RC(quota_template_compile("x", VARS, 2, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_template_compile("{{ user.name }}", VARS, 2, &t), QUOTA_OK);
	const quota_doc *values[] = {trigger, user};
	CHECK_RC(quota_template_render(t, values, 1, NULL, &out, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_template_render(t, values, 2, NULL, NULL, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_template_render(NULL, values, 2, NULL, &out, NULL), QUOTA_ERR_INVALID);
	CHECK(out == NULL);
	quota_template_free(t);
	quota_template_free(NULL);
}

/* One budget covers all the parts of a rendering. */
static void test_cost(void)
{
	quota_expr_options o;
	char *out = NULL;
	quota_expr_options_init(&o, sizeof o);
	o.cost_limit = 3; /* the three parts take one step each */
	CHECK_RC(render("{{'a'}}{{'b'}}{{'c'}}", &o, &out, NULL), QUOTA_OK);
	CHECK_STR_EQ(out, "abc");
	quota_free(out);
	CHECK_RC(render("{{'a'}}{{'b'}}{{'c'}}{{'d'}}", &o, &out, NULL), QUOTA_ERR_EVAL);
	CHECK_ERR_CONTAINS("column 24: cost budget of 3 steps exceeded");
	CHECK(out == NULL);
}

static int op_compile(void *arg)
{
	quota_template *t = NULL;
	int rc = quota_template_compile(arg, VARS, 2, &t);
	quota_template_free(t);
	return rc;
}

static int op_render(void *arg)
{
	char *out = NULL;
	const quota_doc *values[] = {trigger, user};
	int rc = quota_template_render(arg, values, 2, NULL, &out, NULL);
	quota_free(out);
	return rc;
}

static void test_allocation_failures(void)
{
	static const char *const sources[] = {
		"just text",
		"claim-{{ trigger.metadata.name }}-{{ user.groups.map(g, g.upperAscii())[0] }}",
		"{{ 'x'.matches('^x$') ? 'yes' : 'no' }} {{ trigger.kind + '/' + user.name }} tail",
	};
	struct counting c;
	quota_doc *t0 = trigger, *u0 = user;
	if (counting_install(&c) != QUOTA_OK) {
		CHECK(0);
		return;
	}
	trigger = tdoc("{\"kind\": \"Project\", \"metadata\": {\"name\": \"web-1\"}}");
	user = tdoc("{\"name\": \"alice\", \"groups\": [\"admins\", \"dev\"]}");
	for (size_t k = 0; k < sizeof sources / sizeof sources[0]; k++) {
		quota_template *t = NULL;
		FAULT_SWEEP(&c, op_compile, (void *)sources[k]);
		CHECK_RC(quota_template_compile(sources[k], VARS, 2, &t), QUOTA_OK);
		FAULT_SWEEP(&c, op_render, t);
		quota_template_free(t);
	}
	quota_doc_unref(trigger);
	quota_doc_unref(user);
	CHECK_EQ_INT(live(&c), 0);
	quota_set_allocator(NULL);
	trigger = t0;
	user = u0;
}

int main(void)
{
	trigger = tdoc("{\"kind\": \"Project\", \"metadata\": {\"name\": \"web-1\"}, "
		       "\"spec\": {\"replicas\": 3, \"tags\": [\"a\"]}}");
	user = tdoc("{\"name\": \"alice\", \"groups\": [\"admins\", \"dev\"]}");
	RUN(test_literal);
	RUN(test_parts);
	RUN(test_errors);
	RUN(test_cost);
	RUN(test_allocation_failures);
	quota_doc_unref(trigger);
	quota_doc_unref(user);
	return check_exit();
}
