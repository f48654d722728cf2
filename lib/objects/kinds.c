/*
 * The kinds the loader knows, in the order a dump writes them. A new kind
 * is one more entry: how to read it, check its references, prepare it
 * into the load's transaction, and write the engine's objects of that
 * kind; its slot says when it is applied, what its identity is, and what
 * the result counts it as.
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>

#include "objects.h"

/* Output only: read back from a dump, and skipped. */
static int output_only(quota__load *ld, quota__item *it)
{
	(void)ld;
	(void)it;
	return QUOTA_OK;
}

#define AT(field) offsetof(quota__item, u.field)

const quota__kind quota__kinds[] = {
	{"ResourceRegistration", 0, QUOTA__SLOT_REGISTRATION, AT(reg.resource_type), 0, 0,
	 quota__registration_read, NULL, quota__registration_prepare, quota__registration_dump,
	 QUOTA_JSON_REGISTRATIONS},
	{"ServiceQuotaRegistration", 1, QUOTA__SLOT_REGISTRATION, AT(reg.resource_type), 0, 0,
	 quota__registration_read_legacy, NULL, quota__registration_prepare, NULL, 0},
	{"ResourceGrant", 0, QUOTA__SLOT_GRANT, AT(grant.name), AT(grant.ns), 0, quota__grant_read,
	 quota__grant_check, quota__grant_prepare, quota__grant_dump, QUOTA_JSON_GRANTS},
	{"ResourceQuotaGrant", 1, QUOTA__SLOT_GRANT, AT(grant.name), AT(grant.ns), 0,
	 quota__grant_read_legacy, quota__grant_check, quota__grant_prepare, NULL, 0},
	{"ClaimCreationPolicy", 0, QUOTA__SLOT_CLAIM_POLICY, AT(claim_policy.name), 0, 1,
	 quota__policy_read, NULL, quota__claim_policy_prepare, quota__claim_policy_dump,
	 QUOTA_JSON_CLAIM_POLICIES},
	{"GrantCreationPolicy", 0, QUOTA__SLOT_GRANT_POLICY, AT(grant_policy.name), 0, 1,
	 quota__policy_read, quota__grant_policy_check_refs, quota__grant_policy_prepare,
	 quota__grant_policy_dump, QUOTA_JSON_GRANT_POLICIES},
	{"ResourceClaim", 0, QUOTA__SLOT_CLAIM, AT(claim.name), AT(claim.ns), 0, quota__claim_read,
	 quota__claim_check, NULL, quota__claim_dump, QUOTA_JSON_CLAIMS},
	{"ResourceQuotaClaim", 1, QUOTA__SLOT_CLAIM, AT(claim.name), AT(claim.ns), 0,
	 quota__claim_read_legacy, quota__claim_check, NULL, NULL, 0},
	{"AllowanceBucket", 0, QUOTA__SLOT_OUTPUT, 0, 0, 0, output_only, NULL, NULL,
	 quota__bucket_dump, QUOTA_JSON_BUCKETS},
};

const size_t quota__kind_count = sizeof quota__kinds / sizeof quota__kinds[0];
