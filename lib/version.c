/*
 * Version and build features.
 * SPDX-License-Identifier: MIT
 */
#include <quota/common.h>

#include "quota_config.h"

#define STR_(x) #x
#define STR(x) STR_(x)

QUOTA_API uint32_t quota_version(void)
{
	return QUOTA_VERSION;
}

QUOTA_API const char *quota_version_string(void)
{
	return STR(QUOTA_VERSION_MAJOR) "." STR(QUOTA_VERSION_MINOR) "." STR(QUOTA_VERSION_PATCH);
}

QUOTA_API uint64_t quota_features(void)
{
	uint64_t f = QUOTA_FEATURE_THREADS;
#if QUOTA_HAVE_CJSON
	f |= QUOTA_FEATURE_JSON;
#endif
	return f;
}
