/*
 * libquota: status codes, error details, allocator hook, version.
 *
 * Every function in libquota returns an int status: QUOTA_OK (0) on success,
 * a negative QUOTA_ERR_* code on failure, and a small positive code only where
 * documented (QUOTA_ITER_DONE). Codes are never renumbered.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_COMMON_H
#define QUOTA_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(QUOTA_BUILDING_LIBRARY) && defined(__GNUC__)
#define QUOTA_API __attribute__((visibility("default")))
#else
#define QUOTA_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** The version of these headers; quota_version() gives the library's. */
#define QUOTA_VERSION_MAJOR 0
#define QUOTA_VERSION_MINOR 1
#define QUOTA_VERSION_PATCH 0
/** The same, as (major << 16) | (minor << 8) | patch. */
#define QUOTA_VERSION                                                                             \
	((QUOTA_VERSION_MAJOR << 16) | (QUOTA_VERSION_MINOR << 8) | QUOTA_VERSION_PATCH)

/**
 * Status codes. 0 is success; errors are negative and keep their values
 * forever. quota_strerror() names each one.
 */
typedef enum quota_status {
	QUOTA_OK = 0,
	QUOTA_ERR_INVALID = -1,      /**< a bad argument; the detail names it */
	QUOTA_ERR_NOMEM = -2,        /**< an allocation failed; nothing changed */
	QUOTA_ERR_NOT_FOUND = -3,    /**< no such object */
	QUOTA_ERR_EXISTS = -4,       /**< the object exists already (for create-only calls) */
	QUOTA_ERR_CONFLICT = -5,     /**< same name, different immutable spec */
	QUOTA_ERR_EXCEEDED = -6,     /**< a limit would be exceeded */
	QUOTA_ERR_UNREGISTERED = -7, /**< the resource type is not registered */
	QUOTA_ERR_NOT_ALLOWED = -8,  /**< a kind may not consume / claim this type */
	QUOTA_ERR_RATE_LIMITED = -9, /**< a rate limit denied the request */
	QUOTA_ERR_IN_USE = -10,      /**< still referenced; cannot be removed */
	QUOTA_ERR_WRONG_STATE = -11, /**< the object is in a state that forbids this */
	QUOTA_ERR_PARSE = -12,       /**< text could not be parsed */
	QUOTA_ERR_EVAL = -13,        /**< an expression failed to evaluate */
	QUOTA_ERR_IO = -14,          /**< an I/O call failed */
	QUOTA_ERR_CORRUPT = -15,     /**< stored data is damaged */
	QUOTA_ERR_UNSUPPORTED = -16, /**< not built in, or not supported */
	QUOTA_ERR_OVERFLOW = -17,    /**< an int64 sum or product would overflow */
	QUOTA_ERR_INTERNAL = -18,    /**< a broken invariant: please report it */
	/** Not an error: an iterator has no more items. */
	QUOTA_ITER_DONE = 1
} quota_status;

/** The unlimited amount, as in limits and grant amounts. */
#define QUOTA_UNLIMITED INT64_C(-1)

/**
 * A static, human-readable name for a status code.
 *
 * @param code  any int; unknown codes get "unknown status".
 * @return a string that is never NULL and never freed.
 * Thread-safe.
 */
QUOTA_API const char *quota_strerror(int code);

/**
 * The detail message of the last error raised on the calling thread, naming
 * the offending field, bucket or claim, e.g.
 * "claim.requests[1].amount: must be > 0, got -5".
 *
 * Valid until the next libquota call on the same thread that fails. A
 * successful call does not clear it; read it right after a failed call.
 *
 * @return a thread-local string, never NULL ("" before any error).
 * Thread-safe (each thread has its own).
 */
QUOTA_API const char *quota_last_error(void);

/** The library version as (major << 16) | (minor << 8) | patch. */
QUOTA_API uint32_t quota_version(void);

/** The library version as a static string, e.g. "0.1.0". Never NULL. */
QUOTA_API const char *quota_version_string(void);

/** Feature bits reported by quota_features(). */
typedef enum quota_feature {
	QUOTA_FEATURE_JSON = 1 << 0,    /**< built with cJSON: JSON entry points work */
	QUOTA_FEATURE_THREADS = 1 << 1, /**< engines are thread-safe (always set) */
} quota_feature;

/** The QUOTA_FEATURE_* bits of this build. */
QUOTA_API uint64_t quota_features(void);

/**
 * Allocator hook. Set before any engine exists; it is then used for every
 * allocation the library makes, including memory handed to the caller (which
 * the caller releases with quota_free()).
 *
 * Fields:
 * - size:      sizeof(quota_allocator), set by quota_allocator_init().
 * - malloc_fn: allocate n > 0 bytes aligned for any type, or return NULL.
 * - free_fn:   release memory from malloc_fn; never called with NULL.
 * - payload:   passed to both functions.
 *
 * A malloc_fn that returns NULL makes the calling operation fail with
 * QUOTA_ERR_NOMEM and leave the engine unchanged, which makes the hook a
 * fault-injection seam for tests. Both functions may be called with engine
 * locks held, from any thread: they must be thread-safe and must not call
 * into libquota.
 */
typedef struct quota_allocator {
	size_t size;
	void *(*malloc_fn)(size_t n, void *payload);
	void (*free_fn)(void *p, void *payload);
	void *payload;
} quota_allocator;

/**
 * Initialise an allocator struct to the libc allocator.
 *
 * @param a     the struct to fill.
 * @param size  sizeof(*a) as the caller knows it.
 * @return QUOTA_OK, or QUOTA_ERR_INVALID if a is NULL or size too small.
 */
QUOTA_API int quota_allocator_init(quota_allocator *a, size_t size);

/**
 * Install an allocator for the whole library.
 *
 * @param a  the allocator (copied), or NULL to go back to libc.
 * @return QUOTA_OK; QUOTA_ERR_INVALID if a function is missing or size is
 *         too small; QUOTA_ERR_WRONG_STATE while any engine exists.
 * Not to be called concurrently with any other libquota call. Memory the
 * library returned earlier must be freed before the allocator changes.
 */
QUOTA_API int quota_set_allocator(const quota_allocator *a);

/**
 * Free memory that libquota returned to the caller (objects from *_get,
 * arrays from *_list). NULL is a no-op. Thread-safe.
 */
QUOTA_API void quota_free(void *p);

/**
 * A reference to an object (consumer, or the resource that claims).
 * A plain value type embedded in other structs; it never grows.
 *
 * - api_group: optional (NULL or ""); carried and checked, not identity.
 * - kind:      required, 1-63 chars, [A-Za-z][A-Za-z0-9]*.
 * - ns:        the namespace; NULL or "" when the object is cluster-wide.
 * - name:      required, 1-253 chars of printable UTF-8.
 */
typedef struct quota_ref {
	const char *api_group;
	const char *kind;
	const char *ns;
	const char *name;
} quota_ref;

#ifdef __cplusplus
}
#endif

#endif /* QUOTA_COMMON_H */
