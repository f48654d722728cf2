/*
 * One compiled expression and one template, evaluated by several threads at
 * once over one shared input document: every thread gets the same answers,
 * its own error messages, and (under ThreadSanitizer) no data race on the
 * shared documents, reference counts or compiled patterns.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>

#include <quota/quota.h>

#include "check.h"
#include "doc-util.h"

#define THREADS 8
#define ROUNDS 2000

static const char *const VARS[] = {"trigger"};
static quota_doc *trigger;
static quota_expr *expr, *constraint, *failing;
static quota_template *tpl;
static char *want_json, *want_text;

static const char EXPR[] =
	"{'name': trigger.metadata.name, "
	"'labels': trigger.metadata.labels, "
	"'big': trigger.spec.items.filter(i, i.cpu > 2).map(i, i.name + '/' + string(i.cpu)), "
	"'web': trigger.spec.items.exists(i, i.name.matches('^web-[0-9]+$')), "
	"'self': trigger.spec.items.all(i, i.name.matches(i.name)), "
	"'sum': trigger.spec.items.map(i, i.cpu)[0] + size(trigger.spec.items)}";

static const char CONSTRAINT[] = "trigger.metadata.labels.tier in ['gold', 'silver'] && "
				 "trigger.spec.items.all(i, i.cpu <= 8)";

static const char TEMPLATE[] = "{{ trigger.metadata.name }}-{{ trigger.metadata.labels.tier "
			       "}}-{{ string(size(trigger.spec.items)) }}";

static void *worker(void *arg)
{
	long id = (long)arg;
	const quota_doc *values[] = {trigger};
	for (int r = 0; r < ROUNDS; r++) {
		quota_doc *d = NULL;
		char *text = NULL;
		int32_t ok = 0;
		CHECK_RC(quota_expr_eval(expr, values, 1, NULL, &d), QUOTA_OK);
		CHECK_RC(quota_doc_to_json(d, &text, NULL), QUOTA_OK);
		if (text && strcmp(text, want_json) != 0)
			check_fail_(__FILE__, __LINE__, "thread %ld round %d: %s", id, r, text);
		quota_free(text);
		quota_doc_unref(d);

		CHECK_RC(quota_expr_eval_bool(constraint, values, 1, NULL, &ok), QUOTA_OK);
		CHECK_EQ_INT(ok, 1);

		CHECK_RC(quota_template_render(tpl, values, 1, NULL, &text, NULL), QUOTA_OK);
		if (text && strcmp(text, want_text) != 0)
			check_fail_(__FILE__, __LINE__, "thread %ld: rendered %s", id, text);
		quota_free(text);

		/* errors are per thread */
		CHECK_RC(quota_expr_eval(failing, values, 1, NULL, &d), QUOTA_ERR_EVAL);
		CHECK_ERR_CONTAINS("column 28: no such key 'missing'");
	}
	return NULL;
}

int main(void)
{
	pthread_t threads[THREADS];
	trigger = tdoc("{\"metadata\": {\"name\": \"web-7\", \"labels\": {\"tier\": \"gold\"}}, "
		       "\"spec\": {\"items\": [{\"name\": \"web-1\", \"cpu\": 4}, "
		       "{\"name\": \"db\", \"cpu\": 2}, {\"name\": \"web-22\", \"cpu\": 8}]}}");
	CHECK_RC(quota_expr_compile(EXPR, VARS, 1, &expr), QUOTA_OK);
	CHECK_RC(quota_expr_compile(CONSTRAINT, VARS, 1, &constraint), QUOTA_OK);
	CHECK_RC(quota_expr_compile("trigger.metadata + trigger.missing", VARS, 1, &failing),
		 QUOTA_OK);
	CHECK_RC(quota_template_compile(TEMPLATE, VARS, 1, &tpl), QUOTA_OK);
	if (!expr || !constraint || !failing || !tpl)
		return check_exit();

	const quota_doc *values[] = {trigger};
	quota_doc *d = NULL;
	CHECK_RC(quota_expr_eval(expr, values, 1, NULL, &d), QUOTA_OK);
	CHECK_RC(quota_doc_to_json(d, &want_json, NULL), QUOTA_OK);
	quota_doc_unref(d);
	CHECK_STR_EQ(want_json, "{\"name\":\"web-7\",\"labels\":{\"tier\":\"gold\"},"
				"\"big\":[\"web-1/4\",\"web-22/8\"],\"web\":true,\"self\":true,"
				"\"sum\":7}");
	CHECK_RC(quota_template_render(tpl, values, 1, NULL, &want_text, NULL), QUOTA_OK);
	CHECK_STR_EQ(want_text, "web-7-gold-3");

	for (long i = 0; i < THREADS; i++)
		CHECK(pthread_create(&threads[i], NULL, worker, (void *)i) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);

	quota_free(want_json);
	quota_free(want_text);
	quota_expr_free(expr);
	quota_expr_free(constraint);
	quota_expr_free(failing);
	quota_template_free(tpl);
	quota_doc_unref(trigger);
	return check_exit();
}
