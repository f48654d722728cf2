/*
 * Milo-shaped objects in and out: the pieces the kinds share.
 *
 * Reading walks a document with a path ("items[3].spec.requests[2].amount")
 * that every error names. Converted objects point into the document's
 * strings (which live as long as the load) and into an arena of the load.
 * Writing builds documents through a builder whose first failure sticks.
 *
 * A kind is one entry of a table (kinds.c): how to read it, how to check
 * its references to other objects, how to prepare it into the load's
 * transaction, and how to write it.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_OBJECTS_H
#define QUOTA_LIB_OBJECTS_H

#include <quota/quota.h>

#include "../doc.h"
#include "../txn.h"

#define QUOTA__API_VERSION "quota.miloapis.com/v1alpha1"
#define QUOTA__API_GROUP "quota.miloapis.com"
#define QUOTA__PATH_MAX 384

/* ---- reading ------------------------------------------------------------ */

/* Arena blocks of a load, freed together. */
typedef struct quota__arena_block {
	struct quota__arena_block *next;
} quota__arena_block;

/* Where the reader stands, and the load's arena. */
typedef struct quota__rd {
	char path[QUOTA__PATH_MAX];
	size_t len;
	quota__arena_block *blocks;
} quota__rd;

/* n zeroed bytes from the arena; NULL (with the NOMEM detail) when out of
 * memory. */
void *quota__rd_alloc(quota__rd *rd, size_t n);
void quota__rd_free(quota__rd *rd);

/* Step into ".key" or "[i]"; each returns the length to go back to. */
size_t quota__rd_key(quota__rd *rd, const char *key);
size_t quota__rd_index(quota__rd *rd, size_t i);
static inline void quota__rd_back(quota__rd *rd, size_t len)
{
	rd->len = len;
	rd->path[len] = '\0';
}
/* Fail with "path: message". */
int quota__rd_fail(quota__rd *rd, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The name of a document's type, for messages ("a string", "an int"). */
const char *quota__doc_type_name(const quota_doc *d);

/* Every key of map m must be one of keys (NULL-terminated). */
int quota__rd_known(quota__rd *rd, const quota_doc *m, const char *const *keys);

/* Typed fields of map m. Absent: QUOTA_ERR_NOT_FOUND with no detail when
 * optional, an error "key: required" otherwise; a null value counts as
 * absent. A value of another type is an error naming the path. */
int quota__rd_get(quota__rd *rd, const quota_doc *m, const char *key, int required, int type,
		  const quota_doc **out);
/* A string of min..max bytes, printable UTF-8 without NUL. */
int quota__rd_string(quota__rd *rd, const quota_doc *m, const char *key, int required, size_t min,
		     size_t max, const char **out);
int quota__rd_int(quota__rd *rd, const quota_doc *m, const char *key, int required, int64_t lo,
		  int64_t hi, int64_t *out);
int quota__rd_bool(quota__rd *rd, const quota_doc *m, const char *key, int32_t *out);
/* One of names (NULL-terminated); *out gets values[i]. */
int quota__rd_enum(quota__rd *rd, const quota_doc *m, const char *key, int required,
		   const char *const *names, const int32_t *values, int32_t *out);
/* A list of at most max items. */
int quota__rd_list(quota__rd *rd, const quota_doc *m, const char *key, int required, size_t max,
		   const quota_doc **out, size_t *n);
/* A duration string ("250ms", "90s", "1h30m"; with named, also "second",
 * "minute", "hour", "day") as whole milliseconds in 1..max. */
int quota__rd_duration(quota__rd *rd, const quota_doc *m, const char *key, int named, int64_t max,
		       int64_t *out);
/* A string item of a list (the path stands at the item). */
int quota__rd_string_at(quota__rd *rd, const quota_doc *v, size_t min, size_t max,
			const char **out);

/* An object reference {apiGroup, kind, name, namespace} (uid ignored);
 * with_name: name required (else there is none). */
int quota__rd_ref(quota__rd *rd, const quota_doc *m, const char *key, int required, int with_name,
		  quota_ref *out);
/* The same in a policy's template, whose name and namespace may be
 * templates (checked when the policy is compiled); name required. */
int quota__rd_template_ref(quota__rd *rd, const quota_doc *m, const char *key, int required,
			   quota_ref *out);
/* A label selector {matchLabels, matchExpressions} into a grant bucket. */
int quota__rd_selector(quota__rd *rd, const quota_doc *m, const char *key, quota_grant_bucket *b);
/* Dimensions {key: value} into labels. */
int quota__rd_labels(quota__rd *rd, const quota_doc *m, const char *key, const quota_label **out,
		     uint32_t *n);
/* A map of strings (each at most max bytes) into labels, as they are: for
 * maps whose values may be templates, checked where they are used. */
int quota__rd_string_map(quota__rd *rd, const quota_doc *m, const char *key, uint32_t max_n,
			 size_t max, const quota_label **out, uint32_t *n);

/* ---- quantities, durations and times ------------------------------------ */

/* Whole milliseconds of a duration text; named allows "second" .. "day".
 * 0, or -1 when malformed, -2 when not whole or out of range. */
int quota__duration_parse(const char *s, size_t n, int named, int64_t *ms);
/* A duration as text: "second".."day" when named and exactly one, else
 * the largest unit that divides it ("90s", "250ms", "36h"). */
void quota__duration_format(int64_t ms, int named, char buf[32]);
/* RFC 3339 in UTC, to the second ("2024-05-01T12:00:00Z"). */
void quota__time_format(int64_t ns, char buf[32]);

/* ---- writing ------------------------------------------------------------ */

/* A map under construction; the first failure sticks in rc. */
typedef struct quota__w {
	quota_doc *doc;
	int rc;
} quota__w;

quota__w quota__w_map(void);
quota__w quota__w_list(void);
/* Set key to a value (taken over, also on failure or when NULL: NULL is
 * out of memory). */
void quota__w_put(quota__w *w, const char *key, quota_doc *v);
void quota__w_str(quota__w *w, const char *key, const char *s);
/* Only when s is not empty. */
void quota__w_opt(quota__w *w, const char *key, const char *s);
void quota__w_int(quota__w *w, const char *key, int64_t v);
void quota__w_bool(quota__w *w, const char *key, int v);
/* Put the child built in c (ends it). */
void quota__w_child(quota__w *w, const char *key, quota__w *c);
/* Append to a list. */
void quota__w_push(quota__w *w, quota_doc *v);
void quota__w_push_child(quota__w *w, quota__w *c);
/* The document, or NULL with the failure in *rc (ends w). */
quota_doc *quota__w_end(quota__w *w, int *rc);
quota_doc *quota__w_string(const char *s);

/* The frame of every object: apiVersion, kind, metadata{name, namespace,
 * generation (when > 0)}; derived: name is made a Kubernetes name (for
 * objects whose name is not their identity). Spec and status go after. */
quota__w quota__w_object(const char *kind, const char *ns, const char *name, int derived,
			 int64_t generation);
void quota__w_ref(quota__w *w, const char *key, const quota_ref *r);
/* A condition {type, status, reason, message, lastTransitionTime when > 0}. */
void quota__w_condition(quota__w *w, const char *type, int ok, const char *reason,
			const char *message, int64_t when_ns);
void quota__w_selector(quota__w *w, const quota_grant_bucket *b);
void quota__w_labels(quota__w *w, const char *key, const quota_label *l, uint32_t n);
/* A name Kubernetes would take for s: lowercase [a-z0-9.-]. */
quota_doc *quota__w_dns_name(const char *s);
/* Status -> public status: QUOTA_ERR_NOMEM gets its detail. */
int quota__w_result(int rc, const char *what);

/* Documents gathered in any order and written sorted by key (iterators
 * of the engine go in hash order). The first failure sticks. */
typedef struct quota__sorted_item {
	char *key;
	quota_doc *doc;
} quota__sorted_item;
typedef struct quota__sorted {
	quota__sorted_item *items;
	size_t n, cap;
	int rc;
} quota__sorted;
/* Add doc (taken over; NULL is out of memory) under key (copied), made of
 * the parts, each ended by a byte 1 so that shorter parts sort first. */
void quota__sorted_add(quota__sorted *s, quota_doc *doc, const char *const *parts, size_t n);
/* Append every document to list in key order and free s; the first
 * failure of either. */
int quota__sorted_flush(quota__sorted *s, quota__w *list);

/* Names of enum values (index = value). */
extern const char *const quota__class_names[];
extern const char *const quota__action_names[];
extern const char *const quota__window_names[];

/* ---- the load ----------------------------------------------------------- */

struct quota__kind;

/* What each kind is read into: objects of one slot share an identity
 * (a name, and a namespace for some), are applied in slot order, and are
 * counted together in the result. */
enum {
	QUOTA__SLOT_REGISTRATION,
	QUOTA__SLOT_GRANT,
	QUOTA__SLOT_CLAIM,
	QUOTA__SLOT_CLAIM_POLICY,
	QUOTA__SLOT_GRANT_POLICY,
	QUOTA__SLOT_OUTPUT, /* written, and skipped when read back */
	QUOTA__SLOTS
};

/* One object of the input. */
typedef struct quota__item {
	const struct quota__kind *kind;
	const char *path; /* "items[3]" or "" */
	const quota_doc *doc;
	union {
		quota_registration reg;
		quota_grant grant;
		quota_claim claim;
		quota_claim_policy claim_policy; /* its template in the arena */
		quota_grant_policy grant_policy;
	} u;
	/* Quantities of the older shapes, resolved once the registrations
	 * are known (their unitConversionFactor). */
	struct quota__qty *qty;
} quota__item;

typedef struct quota__qty {
	struct quota__qty *next;
	const char *path;
	const char *type;       /* whose factor applies */
	const quota_doc *value; /* a string or an int */
	int64_t *dst;
	int32_t rounding; /* QUOTA_ROUND_UP for what is charged, DOWN for limits */
	int limit;        /* -1 means unlimited here */
} quota__qty;

typedef struct quota__load {
	quota_engine *e;
	quota__rd rd;
	quota_json_options opts;
	quota__item *items;
	size_t count, cap;
	quota__txn txn;
} quota__load;

/* A registration by type: of the input, else of the engine (the load
 * holds the config lock), else NULL; *rc is QUOTA_OK. */
const quota_registration *quota__load_registration(quota__load *ld, const char *type, int *rc);
/* The registration of type, for entry i of the current path's list_key
 * whose type_key names it; NULL with QUOTA_ERR_UNREGISTERED (and the path
 * of that field) in *rc when neither the input nor the engine has it. */
const quota_registration *quota__load_type(quota__load *ld, const char *list_key, size_t i,
					   const char *type_key, const char *type, int *rc);
/* Note the quantity m.key (required: a string, or an integer) of the
 * given type, to resolve into *dst once the registrations are known. With
 * limit, -1 means unlimited. */
int quota__load_quantity(quota__load *ld, quota__item *it, const quota_doc *m, const char *key,
			 const char *type, int32_t rounding, int limit, int64_t *dst);

typedef struct quota__kind {
	const char *kind;
	int legacy; /* the older design's shape */
	int slot;   /* QUOTA__SLOT_*: the order of the steps, identity, counts */
	/* Where the item keeps its identity: offsets of const char * fields
	 * of quota__item (0: none). */
	size_t name_at, ns_at;
	/* Errors name the object: "items[3] (Kind name): field: ...". */
	int named;
	/* Read the object into it (the path stands at the object). */
	int (*read)(quota__load *ld, quota__item *it);
	/* Check references to other objects (registrations of the input or
	 * the engine); quantities are resolved before. */
	int (*check)(quota__load *ld, quota__item *it);
	/* Prepare into ld->txn; NULL for kinds that are not applied. */
	int (*prepare)(quota__load *ld, quota__item *it);
	/* Append the engine's objects of this kind to list; NULL for the
	 * older shapes (never written). */
	int (*dump)(quota_engine *e, quota__w *list);
	uint32_t dump_bit; /* QUOTA_JSON_* */
} quota__kind;

extern const quota__kind quota__kinds[];
extern const size_t quota__kind_count;

/* Each kind's functions (registration.c, grant.c, claim.c, policy.c,
 * bucket.c). */
int quota__registration_read(quota__load *ld, quota__item *it);
int quota__registration_read_legacy(quota__load *ld, quota__item *it);
int quota__registration_prepare(quota__load *ld, quota__item *it);
int quota__registration_dump(quota_engine *e, quota__w *list);
quota_doc *quota__registration_doc(const quota_registration *r, int *rc);

int quota__grant_read(quota__load *ld, quota__item *it);
int quota__grant_read_legacy(quota__load *ld, quota__item *it);
int quota__grant_check(quota__load *ld, quota__item *it);
/* A grant's allowances (Milo's "allowances", the older "limits") of spec:
 * read into *out; checked against the registrations (of the input and the
 * engine) for consumer, named at consumer_key, with the path at spec; and
 * written into w as "allowances". */
int quota__allowances_read(quota__load *ld, quota__item *it, const quota_doc *spec, int legacy,
			   const quota_allowance **out, uint32_t *n);
int quota__allowances_check(quota__load *ld, const quota_ref *consumer, const char *consumer_key,
			    const quota_allowance *a, uint32_t n, int legacy);
void quota__w_allowances(quota__w *w, const quota_allowance *a, uint32_t n);
int quota__grant_prepare(quota__load *ld, quota__item *it);
int quota__grant_dump(quota_engine *e, quota__w *list);
quota_doc *quota__grant_doc(const quota_grant *g, int *rc);

int quota__claim_read(quota__load *ld, quota__item *it);
int quota__claim_read_legacy(quota__load *ld, quota__item *it);
int quota__claim_check(quota__load *ld, quota__item *it);
int quota__claim_dump(quota_engine *e, quota__w *list);
quota_doc *quota__claim_doc(const quota_claim_info *c, int *rc);

/* Either kind of policy (by its slot). */
int quota__policy_read(quota__load *ld, quota__item *it);
int quota__claim_policy_prepare(quota__load *ld, quota__item *it);
int quota__claim_policy_dump(quota_engine *e, quota__w *list);
quota_doc *quota__claim_policy_doc(const quota_claim_policy *p, int *rc);

int quota__grant_policy_check_refs(quota__load *ld, quota__item *it);
int quota__grant_policy_prepare(quota__load *ld, quota__item *it);
int quota__grant_policy_dump(quota_engine *e, quota__w *list);
quota_doc *quota__grant_policy_doc(const quota_grant_policy *p, int *rc);

int quota__bucket_dump(quota_engine *e, quota__w *list);
quota_doc *quota__bucket_doc(const quota_bucket_info *b, int *rc);

#endif
