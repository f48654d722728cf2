/*
 * walkthrough: the life of a claim, step by step.
 *
 * Registers a resource type, grants an organization 16 vCPUs, reserves and
 * commits a claim for 4, shows a claim for 14 more being denied (and why),
 * then releases the first claim. After every step it prints the allowance
 * bucket so that the effect of each call is visible.
 *
 * Every return code is checked; the program exits non-zero as soon as
 * anything differs from what the quota model promises, so it doubles as a
 * test.
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <quota/quota.h>

#define VCPUS "compute.example.com/vcpus"
#define GRANT_NAME "acme-compute"

/* The consumer that holds the quota: the cluster-wide Organization "acme". */
static const quota_ref acme = {
	.api_group = "resourcemanager.example.com",
	.kind = "Organization",
	.ns = NULL,
	.name = "acme",
};

/* Report a failed call with its status name and the thread-local detail. */
static int failed(const char *what, int rc)
{
	fprintf(stderr, "walkthrough: %s: %s (%d): %s\n", what, quota_strerror(rc), rc,
		quota_last_error());
	return -1;
}

/* Report a number that is not what the model promises. */
static int mismatch(const char *step, const char *field, int64_t got, int64_t want)
{
	fprintf(stderr, "walkthrough: after %s: %s is %" PRId64 ", expected %" PRId64 "\n", step,
		field, got, want);
	return -1;
}

/* An amount for humans: -1 means unlimited. */
static const char *amount_str(int64_t v, char *buf, size_t len)
{
	if (v == QUOTA_UNLIMITED)
		snprintf(buf, len, "unlimited");
	else
		snprintf(buf, len, "%" PRId64, v);
	return buf;
}

/* What a bucket should read after a step. */
struct expected {
	int64_t limit;
	int64_t allocated;
	int64_t reserved;
	int64_t available;
	int64_t claim_count;
	int64_t grant_count;
};

static int check_bucket(const char *step, const quota_bucket_info *b, const struct expected *want)
{
	if (b->limit != want->limit)
		return mismatch(step, "limit", b->limit, want->limit);
	if (b->allocated != want->allocated)
		return mismatch(step, "allocated", b->allocated, want->allocated);
	if (b->reserved != want->reserved)
		return mismatch(step, "reserved", b->reserved, want->reserved);
	if (b->available != want->available)
		return mismatch(step, "available", b->available, want->available);
	if (b->claim_count != want->claim_count)
		return mismatch(step, "claimCount", b->claim_count, want->claim_count);
	if (b->grant_count != want->grant_count)
		return mismatch(step, "grantCount", b->grant_count, want->grant_count);
	if (b->grant_ref_count != (uint32_t)want->grant_count)
		return mismatch(step, "grant_ref_count", b->grant_ref_count, want->grant_count);
	return 0;
}

/*
 * Read the (acme, vcpus) bucket, print it as a table and compare it with
 * what the step should have left behind.
 */
static int show_bucket(quota_engine *e, const char *step, const struct expected *want)
{
	quota_bucket_info *b = NULL;
	int rc = quota_bucket_get(e, &acme, VCPUS, &b);
	if (rc != QUOTA_OK)
		return failed("quota_bucket_get", rc);

	char limit[24], available[24];
	amount_str(b->limit, limit, sizeof limit);
	amount_str(b->available, available, sizeof available);
	printf("\n  after %s: bucket %s/%s:%s\n", step, b->consumer.kind, b->consumer.name,
	       b->resource_type);
	printf("  | %9s | %9s | %9s | %9s | %10s | %10s |\n", "limit", "allocated", "reserved",
	       "available", "claimCount", "grantCount");
	printf("  | %9s | %9" PRId64 " | %9" PRId64 " | %9s | %10" PRId64 " | %10" PRId64 " |\n",
	       limit, b->allocated, b->reserved, available, b->claim_count, b->grant_count);
	if (b->grant_ref_count == 0) {
		int by_default = (b->flags & QUOTA_BUCKET_DEFAULT_LIMIT) != 0;
		printf("  contributing grants: none%s\n", by_default ? " (default limit)" : "");
	}
	for (uint32_t i = 0; i < b->grant_ref_count; i++) {
		const quota_grant_ref *g = b->grant_refs[i];
		char amount[24];
		amount_str(g->amount, amount, sizeof amount);
		printf("  contributing grant: %s%s%s, amount %s, observed generation %" PRId64 "\n",
		       g->ns ? g->ns : "", (g->ns && *g->ns) ? "/" : "", g->name, amount,
		       g->last_observed_generation);
	}
	if (b->flags & QUOTA_BUCKET_OVER_LIMIT)
		printf("  (over its limit: new claims are denied until usage drops)\n");

	rc = check_bucket(step, b, want);
	quota_free(b);
	return rc;
}

/* Step 1: declare what can be granted and claimed, and who holds it. */
static int register_vcpus(quota_engine *e)
{
	quota_registration r;
	int rc = quota_registration_init(&r, sizeof r);
	if (rc != QUOTA_OK)
		return failed("quota_registration_init", rc);
	r.resource_type = VCPUS;
	r.consumer_type.api_group = acme.api_group;
	r.consumer_type.kind = acme.kind;
	r.resource_class = QUOTA_RESOURCE_ALLOCATION;
	r.enforcement = QUOTA_ENFORCE;
	r.base_unit = "vCPU";
	r.display_unit = "vCPU";
	r.description = "Virtual CPUs an organization may run at once";
	r.default_limit = 0; /* no grant, no vCPUs */
	if ((rc = quota_registration_create(e, &r)) != QUOTA_OK)
		return failed("quota_registration_create", rc);
	printf("registered %s (consumer %s, class Allocation, unit vCPU)\n", VCPUS, acme.kind);
	return 0;
}

/* Step 2: give acme 16 vCPUs. The bucket's limit becomes the grant sum. */
static int grant_vcpus(quota_engine *e)
{
	const int64_t amount = 16;
	quota_grant_bucket bucket;
	quota_allowance allowance;
	quota_grant g;
	int64_t generation = 0;
	int rc;
	if ((rc = quota_grant_bucket_init(&bucket, sizeof bucket)) ||
	    (rc = quota_allowance_init(&allowance, sizeof allowance)) ||
	    (rc = quota_grant_init(&g, sizeof g)))
		return failed("quota_*_init", rc);
	bucket.amount = amount;
	allowance.resource_type = VCPUS;
	allowance.buckets = &bucket;
	allowance.bucket_count = 1;
	g.ns = NULL;
	g.name = GRANT_NAME;
	g.consumer = acme;
	g.allowances = &allowance;
	g.allowance_count = 1;
	if ((rc = quota_grant_apply(e, &g, &generation)) != QUOTA_OK)
		return failed("quota_grant_apply", rc);
	if (generation != 1)
		return mismatch("grant", "grant generation", generation, 1);
	printf("\napplied grant %s: %" PRId64 " vCPU to %s/%s (generation %" PRId64 ")\n",
	       GRANT_NAME, amount, acme.kind, acme.name, generation);
	return 0;
}

/*
 * Fill a one-request claim for `amount` vCPUs charged to acme on behalf of
 * the instance of the same name. The request lives in the caller's storage
 * because the claim only points at it.
 */
static int make_claim(quota_claim *c, quota_request *req, const char *name, int64_t amount)
{
	int rc;
	if ((rc = quota_request_init(req, sizeof *req)) || (rc = quota_claim_init(c, sizeof *c)))
		return failed("quota_claim_init", rc);
	req->resource_type = VCPUS;
	req->amount = amount;
	c->ns = NULL;
	c->name = name;
	c->consumer = acme;
	c->resource = (quota_ref){.api_group = "compute.example.com",
				  .kind = "Instance",
				  .ns = "acme-prod",
				  .name = name};
	c->requests = req;
	c->request_count = 1;
	c->ttl_ms = 0; /* hold until committed or released */
	return 0;
}

/* Step 3: hold 4 vCPUs for "web-1" while its instance is being created. */
static int reserve_web1(quota_engine *e)
{
	quota_claim c;
	quota_request req;
	quota_answer answer;
	int rc;
	if (make_claim(&c, &req, "web-1", 4))
		return -1;
	if ((rc = quota_answer_init(&answer, sizeof answer)) != QUOTA_OK)
		return failed("quota_answer_init", rc);
	if ((rc = quota_claim_reserve(e, &c, &answer)) != QUOTA_OK)
		return failed("quota_claim_reserve(web-1)", rc);
	if (answer.status != QUOTA_OK || answer.state != QUOTA_CLAIM_RESERVED)
		return mismatch("reserve web-1", "answer.state", answer.state,
				QUOTA_CLAIM_RESERVED);
	printf("\nreserved claim web-1: 4 vCPU (state Reserved)\n");
	return 0;
}

/* Step 4: the instance is up; make the reservation permanent. */
static int commit_web1(quota_engine *e)
{
	quota_claim_info *info = NULL;
	int rc = quota_claim_commit(e, NULL, "web-1", NULL, 0);
	if (rc != QUOTA_OK)
		return failed("quota_claim_commit(web-1)", rc);
	if ((rc = quota_claim_get(e, NULL, "web-1", &info)) != QUOTA_OK)
		return failed("quota_claim_get(web-1)", rc);
	int32_t state = info->state;
	quota_free(info);
	if (state != QUOTA_CLAIM_GRANTED)
		return mismatch("commit web-1", "claim state", state, QUOTA_CLAIM_GRANTED);
	printf("\ncommitted claim web-1 (state Granted)\n");
	return 0;
}

/*
 * Step 5: ask for 14 more while only 12 are left. The call must fail with
 * QUOTA_ERR_EXCEEDED, hold nothing, store nothing, and say which bucket bound.
 */
static int reserve_web2_denied(quota_engine *e)
{
	quota_claim c;
	quota_request req;
	quota_answer answer;
	quota_claim_info *info = NULL;
	int rc;
	if (make_claim(&c, &req, "web-2", 14))
		return -1;
	if ((rc = quota_answer_init(&answer, sizeof answer)) != QUOTA_OK)
		return failed("quota_answer_init", rc);
	rc = quota_claim_reserve(e, &c, &answer);
	if (rc == QUOTA_OK) {
		fprintf(stderr, "walkthrough: web-2 was admitted past the limit\n");
		return -1;
	}
	if (rc != QUOTA_ERR_EXCEEDED)
		return failed("quota_claim_reserve(web-2)", rc);

	/* Read the detail right away: the next failing call replaces it. */
	printf("\nclaim web-2 for 14 vCPU: DENIED (%s)\n", quota_strerror(rc));
	printf("  %-20s %s\n", "binding bucket:", answer.bucket);
	printf("  %-20s %" PRId32 "\n", "binding request:", answer.binding_request);
	printf("  %-20s %" PRId64 "\n", "requested:", answer.requested);
	printf("  %-20s %" PRId64 "\n", "available:", answer.available);
	printf("  %-20s %" PRId64 "\n", "limit:", answer.limit);
	printf("  %-20s %s\n", "quota_last_error():", quota_last_error());

	if (answer.status != QUOTA_ERR_EXCEEDED)
		return mismatch("deny web-2", "answer.status", answer.status, QUOTA_ERR_EXCEEDED);
	if (answer.binding_request != 0)
		return mismatch("deny web-2", "answer.binding_request", answer.binding_request, 0);
	if (answer.requested != 14)
		return mismatch("deny web-2", "answer.requested", answer.requested, 14);
	if (answer.available != 12)
		return mismatch("deny web-2", "answer.available", answer.available, 12);
	if (strstr(answer.bucket, VCPUS) == NULL) {
		fprintf(stderr, "walkthrough: answer.bucket \"%s\" does not name %s\n",
			answer.bucket, VCPUS);
		return -1;
	}

	/* A denial is an answer, not a state: nothing named web-2 was stored. */
	rc = quota_claim_get(e, NULL, "web-2", &info);
	if (rc != QUOTA_ERR_NOT_FOUND) {
		quota_free(info);
		fprintf(stderr, "walkthrough: denied claim web-2: get returned %s, expected %s\n",
			quota_strerror(rc), quota_strerror(QUOTA_ERR_NOT_FOUND));
		return -1;
	}
	return 0;
}

/* Step 6: the instance is deleted; its 4 vCPUs return at once. */
static int release_web1(quota_engine *e)
{
	int rc = quota_claim_release(e, NULL, "web-1");
	if (rc != QUOTA_OK)
		return failed("quota_claim_release(web-1)", rc);
	/* Releasing again is a no-op, so retries after a crash are safe. */
	if ((rc = quota_claim_release(e, NULL, "web-1")) != QUOTA_OK)
		return failed("quota_claim_release(web-1) again", rc);
	printf("\nreleased claim web-1 (state Released)\n");
	return 0;
}

/* One step of the walkthrough and what the bucket must read after it. */
struct step {
	const char *name;
	int (*run)(quota_engine *e);
	struct expected after;
};

/* limit, allocated, reserved, available, claimCount, grantCount */
static const struct step steps[] = {
	{"registration", register_vcpus, {0, 0, 0, 0, 0, 0}},
	{"grant", grant_vcpus, {16, 0, 0, 16, 0, 1}},
	{"reserve web-1", reserve_web1, {16, 0, 4, 12, 0, 1}},
	{"commit web-1", commit_web1, {16, 4, 0, 12, 1, 1}},
	/* the denial must leave the bucket exactly as the commit left it */
	{"denied web-2", reserve_web2_denied, {16, 4, 0, 12, 1, 1}},
	{"release web-1", release_web1, {16, 0, 0, 16, 0, 1}},
};

int main(void)
{
	quota_engine *e = NULL;
	int rc;

	printf("libquota %s walkthrough\n\n", quota_version_string());
	if ((rc = quota_engine_new(&e, NULL)) != QUOTA_OK) {
		failed("quota_engine_new", rc);
		return EXIT_FAILURE;
	}

	int bad = 0;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0] && !bad; i++)
		bad = steps[i].run(e) || show_bucket(e, steps[i].name, &steps[i].after);

	quota_engine_free(e);
	if (bad) {
		fprintf(stderr, "walkthrough: FAILED\n");
		return EXIT_FAILURE;
	}
	printf("\nwalkthrough: every step behaved as expected\n");
	return EXIT_SUCCESS;
}
