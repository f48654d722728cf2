/*
 * The public calls that change an engine, as they run inside their
 * journaled call (journal-api.c wraps each: the record, the change lock,
 * the sync).
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_API_H
#define QUOTA_LIB_API_H

#include <quota/quota.h>

int quota__impl_registration_create(quota_engine *e, const quota_registration *r);
int quota__impl_registration_update(quota_engine *e, const quota_registration *r);
int quota__impl_registration_delete(quota_engine *e, const char *resource_type);
int quota__impl_grant_apply(quota_engine *e, const quota_grant *g, int64_t *generation);
int quota__impl_grant_delete(quota_engine *e, const char *ns, const char *name);
int quota__impl_consumer_set_parent(quota_engine *e, const quota_ref *child,
				    const quota_ref *parent);
int quota__impl_claim_reserve(quota_engine *e, const quota_claim *c, quota_answer *answer);
int quota__impl_claim_acquire(quota_engine *e, const quota_claim *c, quota_answer *answer);
int quota__impl_claim_check(quota_engine *e, const quota_claim *c, quota_answer *answer);
int quota__impl_claim_commit(quota_engine *e, const char *ns, const char *name,
			     const quota_request *actual, uint32_t actual_count);
int quota__impl_claim_release(quota_engine *e, const char *ns, const char *name);
int quota__impl_claim_resize(quota_engine *e, const char *ns, const char *name,
			     const quota_request *requests, uint32_t request_count,
			     quota_answer *answer);
int quota__impl_claim_set_reserve(quota_engine *e, const quota_claim *claims, uint32_t count,
				  quota_answer *answer);
int quota__impl_claim_set_acquire(quota_engine *e, const quota_claim *claims, uint32_t count,
				  quota_answer *answer);
int quota__impl_claim_set_check(quota_engine *e, const quota_claim *claims, uint32_t count,
				quota_answer *answer);
int quota__impl_consume(quota_engine *e, const quota_ref *consumer, const char *resource_type,
			int64_t amount, quota_answer *answer);
int quota__impl_give_back(quota_engine *e, const quota_ref *consumer, const char *resource_type,
			  int64_t amount);
int quota__impl_usage_observe(quota_engine *e, const quota_ref *consumer,
			      const char *resource_type, int64_t value);
int quota__impl_rate_take(quota_engine *e, const quota_ref *consumer, const char *resource_type,
			  int64_t n, quota_answer *answer);
int quota__impl_engine_tick(quota_engine *e, int64_t now_ns, uint64_t *expired);
int quota__impl_claim_policy_apply(quota_engine *e, const quota_claim_policy *p,
				   int64_t *generation);
int quota__impl_claim_policy_delete(quota_engine *e, const char *name);
int quota__impl_grant_policy_apply(quota_engine *e, const quota_grant_policy *p,
				   int64_t *generation);
int quota__impl_grant_policy_delete(quota_engine *e, const char *name);
int quota__impl_grant_policies_sync(quota_engine *e, const quota_doc *trigger, int32_t event,
				    quota_grant_change ***changes, size_t *count);
int quota__impl_admit(quota_engine *e, const quota_admission *a, quota_admission_result **out);
int quota__impl_json_load(quota_engine *e, const char *text, size_t len,
			  const quota_json_options *opts, quota_json_result **out);
int quota__impl_json_load_doc(quota_engine *e, const quota_doc *doc,
			      const quota_json_options *opts, quota_json_result **out);
int quota__impl_handle_consume(quota_bucket_handle *h, int64_t amount, quota_answer *answer);
int quota__impl_handle_give_back(quota_bucket_handle *h, int64_t amount);
/* A handle's engine, and what it stands for: its consumer and type
 * (bucket.c). */
quota_engine *quota__handle_engine(const quota_bucket_handle *h);
void quota__handle_target(const quota_bucket_handle *h, quota_ref *consumer, const char **type);

#endif
