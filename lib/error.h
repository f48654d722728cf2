/* Error details. SPDX-License-Identifier: MIT */
#ifndef QUOTA_LIB_ERROR_H
#define QUOTA_LIB_ERROR_H

/* Record a thread-local detail message and return code. */
int quota__fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
