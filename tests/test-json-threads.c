/*
 * json.h under threads: a load is one step for concurrent callers. Two
 * loads each move one unit between two types; a claim that needs one of
 * each checked meanwhile must never fit, which it would if the grants of
 * a load were applied one at a time.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <quota/quota.h>

#include "check.h"
#include "json-util.h"

static struct test_clock clk;
static const quota_ref acme = {NULL, "Organization", NULL, "acme"};

#define GRANT(name, type, amount)                                                                  \
	"{" API ",'kind':'ResourceGrant','metadata':{'name':'" name "'},'spec':{'consumerRef':"    \
	"{'kind':'Organization','name':'acme'},'allowances':[{'resourceType':'" type "',"          \
	"'buckets':[{'amount':" amount "}]}]}}"
#define REG(type)                                                                                  \
	"{" API ",'kind':'ResourceRegistration','spec':{'resourceType':'" type "',"                \
	"'consumerType':{'kind':'Organization'},'type':'Allocation'}}"
#define LOADS 3000

struct flip {
	quota_engine *e;
	quota_doc *docs[2];
	atomic_int done;
	atomic_long loads;
};

static void *flipper(void *arg)
{
	struct flip *f = arg;
	for (int i = 0; i < LOADS; i++) {
		if (quota_json_load_doc(f->e, f->docs[i % 2], NULL, NULL) != QUOTA_OK)
			break;
		atomic_fetch_add(&f->loads, 1);
	}
	atomic_store(&f->done, 1);
	return NULL;
}

static void test_loads_are_one_step(void)
{
	struct flip f = {0};
	f.e = test_engine(&clk, 60000);
	CHECK_RC(jload(f.e, jlist(REG("a"), REG("b"), NULL), NULL), QUOTA_OK);
	/* a's grant comes first in both, so applying them one by one would
	 * show a = 1, b = 1 on the way from the second to the first */
	f.docs[0] = jd(jlist(GRANT("ga", "a", "1"), GRANT("gb", "b", "0"), NULL));
	f.docs[1] = jd(jlist(GRANT("ga", "a", "0"), GRANT("gb", "b", "1"), NULL));
	CHECK_RC(quota_json_load_doc(f.e, f.docs[1], NULL, NULL), QUOTA_OK);
	struct test_claim c;
	test_claim_init(&c, NULL, "both", &acme);
	test_claim_add(&c, "a", 1);
	test_claim_add(&c, "b", 1);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, flipper, &f) == 0);
	long checks = 0, fits = 0;
	while (!atomic_load(&f.done)) {
		fits += quota_claim_check(f.e, &c.c, NULL) == QUOTA_OK;
		checks++;
	}
	pthread_join(t, NULL);
	printf("   %ld loads, %ld checks\n", atomic_load(&f.loads), checks);
	CHECK_EQ_INT(atomic_load(&f.loads), LOADS);
	CHECK_EQ_INT(fits, 0);
	quota_doc_unref(f.docs[0]);
	quota_doc_unref(f.docs[1]);
	quota_engine_free(f.e);
}

int main(void)
{
	RUN(test_loads_are_one_step);
	return check_exit();
}
