/*
 * The C side of the Go bindings: small wrappers that call one libquota
 * function and, in the same cgo call, copy what Go needs out of
 * thread-local or stack storage.
 *
 * quota_last_error() is thread-local, and a goroutine may move to another
 * OS thread between two cgo calls, so the detail of a failed call must be
 * read on the thread that made it, before the wrapper returns. Every
 * wrapper returns a gq_status or gq_decision by value with that detail
 * (and a decision's bucket id) copied into one malloc'd block that the Go
 * side frees.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef GOQUOTA_SHIM_H
#define GOQUOTA_SHIM_H

#include <stdint.h>
#include <stdlib.h>

#include <quota/quota.h>

/* A call's status; text is the malloc'd detail when rc < 0, else NULL. */
typedef struct gq_status {
	int32_t rc;
	char *text;
} gq_status;

/*
 * A decision's status and answer. text (malloc'd, or NULL) holds the
 * detail when rc < 0 (detail_len bytes and a NUL), followed by the
 * answer's bucket id when it names one (bucket_len bytes and a NUL).
 */
typedef struct gq_decision {
	int32_t rc;
	int32_t state;
	uint32_t flags;
	int32_t binding_request;
	int32_t binding_claim;
	int64_t requested;
	int64_t available;
	int64_t limit;
	int64_t period_ms;
	int64_t retry_after_ms;
	int64_t reset_after_ms;
	char *text;
	uint32_t detail_len;
	uint32_t bucket_len;
} gq_decision;

/* The status of a call that returned rc, with the detail when it failed. */
gq_status gq_status_of(int rc);

/* The decision of a call that returned rc and filled answer a. */
gq_decision gq_decision_of(int rc, const quota_answer *a);

/*
 * Documents as the Go side encodes them (document.go): a tag byte, then
 * for INT and DOUBLE 8 bytes (little-endian; a double's bits), for STRING
 * a 4-byte length and the bytes, for LIST a 4-byte count and the items,
 * for MAP a 4-byte count and per entry a 4-byte key length, the key and
 * the value. ABSENT stands for a document not given (NULL), at the top
 * level only.
 */
enum {
	GQ_DOC_ABSENT,
	GQ_DOC_NULL,
	GQ_DOC_FALSE,
	GQ_DOC_TRUE,
	GQ_DOC_INT,
	GQ_DOC_DOUBLE,
	GQ_DOC_STRING,
	GQ_DOC_LIST,
	GQ_DOC_MAP
};

/*
 * Build the n documents encoded one after the other in buf (with
 * quota_doc_new_*, _list_append and _map_set: no JSON parser needed). On
 * success out[i] holds a reference (NULL for ABSENT) that the caller
 * drops; on failure nothing is held.
 */
gq_status gq_docs_build(const unsigned char *buf, size_t len, quota_doc **out, int n);

/* quota_admit of the documents encoded in docs (trigger, user,
 * request info); the decision carries the result's answer. */
gq_decision gq_admit(void *e, const unsigned char *docs, size_t len, uint32_t flags,
		     int64_t ttl_ms, quota_admission_result **out);

/* quota_grant_policies_sync of the trigger encoded in doc. */
gq_status gq_grant_sync(void *e, const unsigned char *doc, size_t len, int32_t event,
			quota_grant_change ***changes, size_t *count);

/* For the tests: the document encoded in doc as quota_doc_to_json writes it. */
gq_status gq_doc_json(const unsigned char *doc, size_t len, char **text, size_t *text_len);

/*
 * quota_engine_new with the options the Go side chose. handle is the
 * cgo.Handle of the Go engine, passed as the payload of the clock (when
 * with_clock) and of the event callback (when with_events).
 * retention_ms < 0 keeps the library's default.
 */
gq_status gq_engine_new(quota_engine **out, uint32_t stripes, int64_t retention_ms,
			uint64_t key0, uint64_t key1, uintptr_t handle, int with_clock,
			int with_events, const char *journal_path, int32_t sync_mode,
			uint32_t sync_interval_ms);

/* Fault injection for the tests: install (enable) or remove the counting
 * allocator; only while no engine exists. */
gq_status gq_test_allocator(int enable);
/* Let n more allocations through the counting allocator, then fail every
 * one; n < 0: never fail. */
void gq_test_fail_after(int64_t n);
/* Allocations the library holds through the counting allocator. */
int64_t gq_test_allocations_live(void);

#endif
