/*
 * libquota: sizes and limits as functions, for bindings that cannot read
 * the headers' macros or sizeof (ctypes, cgo wrappers, other FFIs): a
 * binding compares its own idea of each struct with quota_type_size() and
 * refuses to run against a library it does not match.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_INTROSPECT_H
#define QUOTA_INTROSPECT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The public types whose size quota_type_size() reports. Never renumbered. */
typedef enum quota_type_id {
	QUOTA_TYPE_REF = 1,
	QUOTA_TYPE_KIND_REF = 2,
	QUOTA_TYPE_ALLOCATOR = 3,
	QUOTA_TYPE_ENGINE_OPTIONS = 4,
	QUOTA_TYPE_EVENT = 5,
	QUOTA_TYPE_REGISTRATION = 6,
	QUOTA_TYPE_LABEL = 7,
	QUOTA_TYPE_SELECTOR_REQUIREMENT = 8,
	QUOTA_TYPE_GRANT_BUCKET = 9,
	QUOTA_TYPE_ALLOWANCE = 10,
	QUOTA_TYPE_GRANT = 11,
	QUOTA_TYPE_ANSWER = 12,
	QUOTA_TYPE_GRANT_REF = 13,
	QUOTA_TYPE_RATE_INFO = 14,
	QUOTA_TYPE_BUCKET_INFO = 15,
	QUOTA_TYPE_REQUEST = 16,
	QUOTA_TYPE_CLAIM = 17,
	QUOTA_TYPE_ALLOCATION = 18,
	QUOTA_TYPE_CLAIM_INFO = 19,
	QUOTA_TYPE_STATS = 20,
	QUOTA_TYPE_DENIAL = 21,
	QUOTA_TYPE_CONSTRAINT = 22,
	QUOTA_TYPE_TRIGGER_REF = 23,
	QUOTA_TYPE_REQUEST_TEMPLATE = 24,
	QUOTA_TYPE_CLAIM_TEMPLATE = 25,
	QUOTA_TYPE_CLAIM_POLICY = 26,
	QUOTA_TYPE_GRANT_TEMPLATE = 27,
	QUOTA_TYPE_PARENT_CONTEXT = 28,
	QUOTA_TYPE_GRANT_POLICY = 29,
	QUOTA_TYPE_ADMISSION = 30,
	QUOTA_TYPE_ADMISSION_RESULT = 31,
	QUOTA_TYPE_GRANT_CHANGE = 32,
	QUOTA_TYPE_JSON_OPTIONS = 33,
	QUOTA_TYPE_JSON_RESULT = 34,
	QUOTA_TYPE_JOURNAL_STATS = 35
} quota_type_id;

/**
 * sizeof the public type id in this library, or 0 for an unknown id.
 * Thread-safe; never fails.
 */
QUOTA_API size_t quota_type_size(int32_t id);

/** The limits quota_constant() reports. Never renumbered. */
typedef enum quota_constant_id {
	QUOTA_CONST_BUCKET_ID_MAX = 1,           /**< QUOTA_BUCKET_ID_MAX */
	QUOTA_CONST_MAX_REQUESTS = 2,            /**< QUOTA_MAX_REQUESTS */
	QUOTA_CONST_MAX_DEPTH = 3,               /**< QUOTA_MAX_DEPTH */
	QUOTA_CONST_AUDIT_CAPACITY = 4,          /**< QUOTA_AUDIT_CAPACITY */
	QUOTA_CONST_AUDIT_MESSAGE_MAX = 5,       /**< QUOTA_AUDIT_MESSAGE_MAX */
	QUOTA_CONST_AUDIT_CLAIM_MAX = 6,         /**< QUOTA_AUDIT_CLAIM_MAX */
	QUOTA_CONST_PERIOD_MAX = 7,              /**< QUOTA_PERIOD_MAX */
	QUOTA_CONST_UNLIMITED = 8,               /**< QUOTA_UNLIMITED */
	QUOTA_CONST_MAX_CONSTRAINTS = 9,         /**< QUOTA_MAX_CONSTRAINTS */
	QUOTA_CONST_CONSTRAINT_MESSAGE_MAX = 10, /**< QUOTA_CONSTRAINT_MESSAGE_MAX */
	QUOTA_CONST_JSON_MAX_DEPTH = 11,         /**< QUOTA_JSON_MAX_DEPTH */
	QUOTA_CONST_DOC_MAX_DEPTH = 12,          /**< QUOTA_DOC_MAX_DEPTH */
	QUOTA_CONST_MAX_CLAIM_SET = 13,          /**< QUOTA_MAX_CLAIM_SET */
	QUOTA_CONST_EXPR_MAX_LENGTH = 14,        /**< QUOTA_EXPR_MAX_LENGTH */
	QUOTA_CONST_EXPR_MAX_DEPTH = 15,         /**< QUOTA_EXPR_MAX_DEPTH */
	QUOTA_CONST_EXPR_MAX_VARS = 16,          /**< QUOTA_EXPR_MAX_VARS */
	QUOTA_CONST_EXPR_DEFAULT_COST_LIMIT = 17 /**< QUOTA_EXPR_DEFAULT_COST_LIMIT */
} quota_constant_id;

/**
 * The value of limit id, or INT64_MIN for an unknown id.
 * Thread-safe; never fails.
 */
QUOTA_API int64_t quota_constant(int32_t id);

#ifdef __cplusplus
}
#endif

#endif /* QUOTA_INTROSPECT_H */
