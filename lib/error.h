/* Error details. SPDX-License-Identifier: MIT */
#ifndef QUOTA_LIB_ERROR_H
#define QUOTA_LIB_ERROR_H

#define QUOTA__ERROR_MAX 512

/* Record a thread-local detail message and return code. */
int quota__fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Put a formatted prefix and ": " in front of the thread's detail, and
 * return code: for a caller that says which of its parts failed. */
int quota__fail_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The detail of the call in progress, kept across work done on its behalf
 * after it decided (queue admissions, event callbacks that call back in),
 * so that the caller reads its own. */
typedef struct quota__saved_error {
	char text[QUOTA__ERROR_MAX];
} quota__saved_error;
void quota__error_save(quota__saved_error *s);
void quota__error_restore(const quota__saved_error *s);

#endif
