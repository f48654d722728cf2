/*
 * Status names and the thread-local detail of the last error.
 * SPDX-License-Identifier: MIT
 */
#include "error.h"

#include <quota/common.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[QUOTA__ERROR_MAX];

int quota__fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	return code;
}

int quota__fail_prefix(int code, const char *fmt, ...)
{
	char detail[QUOTA__ERROR_MAX];
	va_list ap;
	memcpy(detail, last_error, sizeof detail);
	va_start(ap, fmt);
	int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof last_error)
		snprintf(last_error + n, sizeof last_error - (size_t)n, ": %s", detail);
	return code;
}

void quota__error_save(quota__saved_error *s)
{
	memcpy(s->text, last_error, sizeof s->text);
}

void quota__error_restore(const quota__saved_error *s)
{
	memcpy(last_error, s->text, sizeof last_error);
}

QUOTA_API const char *quota_last_error(void)
{
	return last_error;
}

QUOTA_API const char *quota_strerror(int code)
{
	switch (code) {
	case QUOTA_OK: return "ok";
	case QUOTA_ERR_INVALID: return "invalid argument";
	case QUOTA_ERR_NOMEM: return "out of memory";
	case QUOTA_ERR_NOT_FOUND: return "not found";
	case QUOTA_ERR_EXISTS: return "already exists";
	case QUOTA_ERR_CONFLICT: return "conflict";
	case QUOTA_ERR_EXCEEDED: return "quota exceeded";
	case QUOTA_ERR_UNREGISTERED: return "resource type not registered";
	case QUOTA_ERR_NOT_ALLOWED: return "not allowed";
	case QUOTA_ERR_RATE_LIMITED: return "rate limited";
	case QUOTA_ERR_IN_USE: return "in use";
	case QUOTA_ERR_WRONG_STATE: return "wrong state";
	case QUOTA_ERR_PARSE: return "parse error";
	case QUOTA_ERR_EVAL: return "evaluation error";
	case QUOTA_ERR_IO: return "I/O error";
	case QUOTA_ERR_CORRUPT: return "corrupt data";
	case QUOTA_ERR_UNSUPPORTED: return "unsupported";
	case QUOTA_ERR_OVERFLOW: return "arithmetic overflow";
	case QUOTA_ERR_INTERNAL: return "internal error";
	case QUOTA_ITER_DONE: return "iteration done";
	default: return "unknown status";
	}
}
