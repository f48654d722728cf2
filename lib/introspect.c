/*
 * Sizes and limits as functions.
 * SPDX-License-Identifier: MIT
 */
#include <quota/quota.h>

QUOTA_API size_t quota_type_size(int32_t id)
{
	switch (id) {
	case QUOTA_TYPE_REF: return sizeof(quota_ref);
	case QUOTA_TYPE_KIND_REF: return sizeof(quota_kind_ref);
	case QUOTA_TYPE_ALLOCATOR: return sizeof(quota_allocator);
	case QUOTA_TYPE_ENGINE_OPTIONS: return sizeof(quota_engine_options);
	case QUOTA_TYPE_EVENT: return sizeof(quota_event);
	case QUOTA_TYPE_REGISTRATION: return sizeof(quota_registration);
	case QUOTA_TYPE_LABEL: return sizeof(quota_label);
	case QUOTA_TYPE_SELECTOR_REQUIREMENT: return sizeof(quota_selector_requirement);
	case QUOTA_TYPE_GRANT_BUCKET: return sizeof(quota_grant_bucket);
	case QUOTA_TYPE_ALLOWANCE: return sizeof(quota_allowance);
	case QUOTA_TYPE_GRANT: return sizeof(quota_grant);
	case QUOTA_TYPE_ANSWER: return sizeof(quota_answer);
	case QUOTA_TYPE_GRANT_REF: return sizeof(quota_grant_ref);
	case QUOTA_TYPE_RATE_INFO: return sizeof(quota_rate_info);
	case QUOTA_TYPE_BUCKET_INFO: return sizeof(quota_bucket_info);
	case QUOTA_TYPE_REQUEST: return sizeof(quota_request);
	case QUOTA_TYPE_CLAIM: return sizeof(quota_claim);
	case QUOTA_TYPE_ALLOCATION: return sizeof(quota_allocation);
	case QUOTA_TYPE_CLAIM_INFO: return sizeof(quota_claim_info);
	case QUOTA_TYPE_STATS: return sizeof(quota_stats);
	case QUOTA_TYPE_DENIAL: return sizeof(quota_denial);
	case QUOTA_TYPE_CONSTRAINT: return sizeof(quota_constraint);
	case QUOTA_TYPE_TRIGGER_REF: return sizeof(quota_trigger_ref);
	case QUOTA_TYPE_REQUEST_TEMPLATE: return sizeof(quota_request_template);
	case QUOTA_TYPE_CLAIM_TEMPLATE: return sizeof(quota_claim_template);
	case QUOTA_TYPE_CLAIM_POLICY: return sizeof(quota_claim_policy);
	case QUOTA_TYPE_GRANT_TEMPLATE: return sizeof(quota_grant_template);
	case QUOTA_TYPE_PARENT_CONTEXT: return sizeof(quota_parent_context);
	case QUOTA_TYPE_GRANT_POLICY: return sizeof(quota_grant_policy);
	case QUOTA_TYPE_ADMISSION: return sizeof(quota_admission);
	case QUOTA_TYPE_ADMISSION_RESULT: return sizeof(quota_admission_result);
	case QUOTA_TYPE_GRANT_CHANGE: return sizeof(quota_grant_change);
	case QUOTA_TYPE_JSON_OPTIONS: return sizeof(quota_json_options);
	case QUOTA_TYPE_JSON_RESULT: return sizeof(quota_json_result);
	case QUOTA_TYPE_JOURNAL_STATS: return sizeof(quota_journal_stats);
	default: return 0;
	}
}

QUOTA_API int64_t quota_constant(int32_t id)
{
	switch (id) {
	case QUOTA_CONST_BUCKET_ID_MAX: return QUOTA_BUCKET_ID_MAX;
	case QUOTA_CONST_MAX_REQUESTS: return QUOTA_MAX_REQUESTS;
	case QUOTA_CONST_MAX_DEPTH: return QUOTA_MAX_DEPTH;
	case QUOTA_CONST_AUDIT_CAPACITY: return QUOTA_AUDIT_CAPACITY;
	case QUOTA_CONST_AUDIT_MESSAGE_MAX: return QUOTA_AUDIT_MESSAGE_MAX;
	case QUOTA_CONST_AUDIT_CLAIM_MAX: return QUOTA_AUDIT_CLAIM_MAX;
	case QUOTA_CONST_PERIOD_MAX: return QUOTA_PERIOD_MAX;
	case QUOTA_CONST_UNLIMITED: return QUOTA_UNLIMITED;
	case QUOTA_CONST_MAX_CONSTRAINTS: return QUOTA_MAX_CONSTRAINTS;
	case QUOTA_CONST_CONSTRAINT_MESSAGE_MAX: return QUOTA_CONSTRAINT_MESSAGE_MAX;
	case QUOTA_CONST_JSON_MAX_DEPTH: return QUOTA_JSON_MAX_DEPTH;
	case QUOTA_CONST_DOC_MAX_DEPTH: return QUOTA_DOC_MAX_DEPTH;
	case QUOTA_CONST_MAX_CLAIM_SET: return QUOTA_MAX_CLAIM_SET;
	case QUOTA_CONST_EXPR_MAX_LENGTH: return QUOTA_EXPR_MAX_LENGTH;
	case QUOTA_CONST_EXPR_MAX_DEPTH: return QUOTA_EXPR_MAX_DEPTH;
	case QUOTA_CONST_EXPR_MAX_VARS: return QUOTA_EXPR_MAX_VARS;
	case QUOTA_CONST_EXPR_DEFAULT_COST_LIMIT: return QUOTA_EXPR_DEFAULT_COST_LIMIT;
	default: return INT64_MIN;
	}
}
