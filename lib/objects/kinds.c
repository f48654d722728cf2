/*
 * The kinds the loader knows, in the order it applies them. A new kind
 * (ClaimCreationPolicy, GrantCreationPolicy, ...) is one more entry: how
 * to read it, check its references, prepare it into the load's
 * transaction, and write the engine's objects of that kind.
 * SPDX-License-Identifier: MIT
 */
#include "objects.h"

/* Output only: read back from a dump, and skipped. */
static int output_only(quota__load *ld, quota__item *it)
{
	(void)ld;
	(void)it;
	return QUOTA_OK;
}

const quota__kind quota__kinds[] = {
	{"ResourceRegistration", 0, 0, quota__registration_read, NULL, quota__registration_prepare,
	 quota__registration_dump, QUOTA_JSON_REGISTRATIONS},
	{"ServiceQuotaRegistration", 1, 0, quota__registration_read_legacy, NULL,
	 quota__registration_prepare, NULL, 0},
	{"ResourceGrant", 0, 1, quota__grant_read, quota__grant_check, quota__grant_prepare,
	 quota__grant_dump, QUOTA_JSON_GRANTS},
	{"ResourceQuotaGrant", 1, 1, quota__grant_read_legacy, quota__grant_check,
	 quota__grant_prepare, NULL, 0},
	{"ResourceClaim", 0, 2, quota__claim_read, quota__claim_check, NULL, quota__claim_dump,
	 QUOTA_JSON_CLAIMS},
	{"ResourceQuotaClaim", 1, 2, quota__claim_read_legacy, quota__claim_check, NULL, NULL, 0},
	{"AllowanceBucket", 0, 3, output_only, NULL, NULL, quota__bucket_dump, QUOTA_JSON_BUCKETS},
};

const size_t quota__kind_count = sizeof quota__kinds / sizeof quota__kinds[0];
