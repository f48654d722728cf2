/*
 * registration.h: every validation rule of a registration, idempotent
 * create / update with generations, CONFLICT on immutable fields,
 * NOT_FOUND, delete and IN_USE, get and list. After every refused call the
 * engine must read exactly as before.
 *
 * SPDX-License-Identifier: MIT
 */
#include <quota/quota.h>

#include "check.h"

#define BASE "compute.example.com/vcpus"
#define FRESH "compute.example.com/fresh"
#define GROUP "rm.example.com"

static const quota_ref acme = {.api_group = GROUP, .kind = "Organization", .name = "acme"};

static const quota_kind_ref base_claimers[] = {
	{.api_group = "compute.example.com", .kind = "Instance"},
	{.api_group = NULL, .kind = "Job"},
};
static const char *const base_dims[] = {"region", "tier"};

/* A valid registration with every optional field set. */
static void base_reg(quota_registration *r, const char *type)
{
	quota_registration_init(r, sizeof *r);
	r->resource_type = type;
	r->consumer_type.api_group = GROUP;
	r->consumer_type.kind = "Organization";
	r->resource_class = QUOTA_RESOURCE_ALLOCATION;
	r->enforcement = QUOTA_ENFORCE;
	r->base_unit = "millicore";
	r->display_unit = "vCPU";
	r->description = "Virtual CPUs";
	r->unit_conversion_factor = 1000;
	r->claiming_resources = base_claimers;
	r->claiming_resource_count = 2;
	r->allowed_dimensions = base_dims;
	r->allowed_dimension_count = 2;
	r->default_limit = 0;
}

/* Every registration, every field, as one string. */
static void snapshot(quota_engine *e, char *buf, size_t cap)
{
	quota_registration **list = NULL;
	size_t count = 0, n = 0;
#define APPEND(...)                                                                          \
	do {                                                                                 \
		if (n < cap)                                                                 \
			n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__);                \
	} while (0)
#define S(x) ((x) ? (x) : "")
	buf[0] = '\0';
	int rc = quota_registration_list(e, &list, &count);
	if (rc != QUOTA_OK) {
		APPEND("list failed: %d", rc);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const quota_registration *r = list[i];
		APPEND("[%s %s/%s c%d e%d u'%s' d'%s' desc'%s' f%" PRId64 " dl%" PRId64
		       " g%" PRId64 " cr",
		       S(r->resource_type), S(r->consumer_type.api_group),
		       S(r->consumer_type.kind), r->resource_class, r->enforcement,
		       S(r->base_unit), S(r->display_unit), S(r->description),
		       r->unit_conversion_factor, r->default_limit, r->generation);
		for (uint32_t k = 0; k < r->claiming_resource_count; k++)
			APPEND(" %s/%s", S(r->claiming_resources[k].api_group),
			       S(r->claiming_resources[k].kind));
		APPEND(" dims");
		for (uint32_t k = 0; k < r->allowed_dimension_count; k++)
			APPEND(" %s", S(r->allowed_dimensions[k]));
		APPEND("]\n");
	}
	quota_free(list);
#undef S
#undef APPEND
}

static char snap_before[65536], snap_after[65536];

#define CHECK_UNCHANGED(e, what)                                                             \
	do {                                                                                 \
		snapshot((e), snap_after, sizeof snap_after);                                \
		if (strcmp(snap_before, snap_after) != 0)                                    \
			check_fail_(__FILE__, __LINE__,                                      \
				    "%s changed the engine:\nbefore:\n%safter:\n%s", (what),  \
				    snap_before, snap_after);                                \
	} while (0)

static int64_t generation_of(quota_engine *e, const char *type)
{
	quota_registration *r = NULL;
	int rc = quota_registration_get(e, type, &r);
	if (rc != QUOTA_OK)
		return rc;
	int64_t g = r->generation;
	quota_free(r);
	return g;
}

/*
 * A mutation of a valid registration must be refused with `code`, with the
 * detail naming `field`, by create of a new type, create of an existing
 * type and update of an existing type, and change nothing.
 */
typedef void (*mutation)(quota_registration *r);

static void expect_refused_(int line, quota_engine *e, mutation mut, int code, const char *field)
{
	quota_registration r;
	const char *types[] = {FRESH, BASE, BASE};
	snapshot(e, snap_before, sizeof snap_before);
	for (int k = 0; k < 3; k++) {
		base_reg(&r, types[k]);
		mut(&r);
		int rc = k < 2 ? quota_registration_create(e, &r) : quota_registration_update(e, &r);
		if (rc != code)
			check_fail_(__FILE__, line, "%s(%s): %s, expected %s",
				    k < 2 ? "create" : "update", types[k], quota_strerror(rc),
				    quota_strerror(code));
		else if (field && !check_err_mentions_(field))
			check_fail_(__FILE__, line, "detail does not name \"%s\"", field);
		snapshot(e, snap_after, sizeof snap_after);
		if (strcmp(snap_before, snap_after) != 0)
			check_fail_(__FILE__, line, "refused call changed the engine:\n%s---\n%s",
				    snap_before, snap_after);
	}
	CHECK_EQ_INT(generation_of(e, FRESH), QUOTA_ERR_NOT_FOUND);
}
#define EXPECT_INVALID(e, mut, field) expect_refused_(__LINE__, (e), (mut), QUOTA_ERR_INVALID, (field))

static void expect_accepted_(int line, quota_engine *e, mutation mut)
{
	quota_registration r;
	base_reg(&r, FRESH);
	mut(&r);
	const char *type = r.resource_type;
	int rc = quota_registration_create(e, &r);
	if (rc != QUOTA_OK) {
		check_fail_(__FILE__, line, "create: %s, expected OK", quota_strerror(rc));
		return;
	}
	quota_registration *got = NULL;
	rc = quota_registration_get(e, type, &got);
	if (rc != QUOTA_OK)
		check_fail_(__FILE__, line, "get after create: %s", quota_strerror(rc));
	quota_free(got);
	rc = quota_registration_delete(e, type);
	if (rc != QUOTA_OK)
		check_fail_(__FILE__, line, "delete after create: %s", quota_strerror(rc));
}
#define EXPECT_ACCEPTED(e, mut) expect_accepted_(__LINE__, (e), (mut))

/* Long strings for the length limits. */
static char s50[51], s51[52], s500[501], s501[502], s63[64], s64[65], s253[254], s254[255];

static void fill(char *s, size_t n, char c)
{
	memset(s, c, n);
	s[n] = '\0';
}

/* ---- mutations --------------------------------------------------------- */

/* A function per mutation keeps the table readable. */
#define MUT(name, body)                                                                      \
	static void name(quota_registration *r)                                              \
	{                                                                                    \
		body;                                                                        \
	}

MUT(type_null, r->resource_type = NULL)
MUT(type_empty, r->resource_type = "")
MUT(type_254, r->resource_type = s254)
MUT(type_bad_utf8_ff, r->resource_type = "cpu\xff")
MUT(type_bad_utf8_truncated, r->resource_type = "cpu\xc3")
MUT(type_bad_utf8_overlong, r->resource_type = "cpu\xc0\xaf")
MUT(type_bad_utf8_surrogate, r->resource_type = "cpu\xed\xa0\x80")
MUT(type_bad_utf8_too_big, r->resource_type = "cpu\xf4\x90\x80\x80")
MUT(type_bad_utf8_lone_cont, r->resource_type = "\x80" "cpu")
MUT(type_newline, r->resource_type = "cpu\nmem")
MUT(type_tab, r->resource_type = "cpu\tmem")
MUT(type_soh, r->resource_type = "\x01" "cpu")
MUT(type_del, r->resource_type = "cpu\x7f")
MUT(type_c1, r->resource_type = "cpu\xc2\x85")
MUT(kind_null, r->consumer_type.kind = NULL)
MUT(kind_empty, r->consumer_type.kind = "")
MUT(kind_digit_first, r->consumer_type.kind = "1Org")
MUT(kind_dash, r->consumer_type.kind = "Org-anization")
MUT(kind_space, r->consumer_type.kind = "Org anization")
MUT(kind_64, r->consumer_type.kind = s64)
MUT(group_bad_utf8, r->consumer_type.api_group = "rm\xff.example.com")
MUT(class_0, r->resource_class = 0)
MUT(class_5, r->resource_class = 5)
MUT(class_neg, r->resource_class = -1)
MUT(enforce_2, r->enforcement = 2)
MUT(enforce_neg, r->enforcement = -1)
MUT(base_unit_51, r->base_unit = s51)
MUT(base_unit_ctl, r->base_unit = "core\x1b")
MUT(display_unit_51, r->display_unit = s51)
MUT(display_unit_bad, r->display_unit = "v\xfe")
MUT(desc_501, r->description = s501)
MUT(desc_bad, r->description = "bad \xff byte")
MUT(factor_0, r->unit_conversion_factor = 0)
MUT(factor_neg, r->unit_conversion_factor = -1)
MUT(factor_min, r->unit_conversion_factor = INT64_MIN)
MUT(default_neg2, r->default_limit = -2)
MUT(default_min, r->default_limit = INT64_MIN)
MUT(size_0, r->size = 0)
MUT(size_short, r->size = sizeof *r - 1)

static quota_kind_ref claimers21[21], claimers20[20];
static const char *dims33[33], *dims32[32];
static char dim_names[33][8];

MUT(claimers_21, r->claiming_resources = claimers21; r->claiming_resource_count = 21)
MUT(claimers_null, r->claiming_resources = NULL; r->claiming_resource_count = 1)
static const quota_kind_ref claimer_no_kind[] = {{.api_group = "x.example.com", .kind = NULL}};
static const quota_kind_ref claimer_bad_kind[] = {{.kind = "Instance"}, {.kind = "9Lives"}};
static const quota_kind_ref claimer_bad_group[] = {{.api_group = "\xff", .kind = "Instance"}};
MUT(claimer_no_kind_m, r->claiming_resources = claimer_no_kind; r->claiming_resource_count = 1)
MUT(claimer_bad_kind_m, r->claiming_resources = claimer_bad_kind; r->claiming_resource_count = 2)
MUT(claimer_bad_group_m, r->claiming_resources = claimer_bad_group;
    r->claiming_resource_count = 1)
MUT(dims_33, r->allowed_dimensions = dims33; r->allowed_dimension_count = 33)
MUT(dims_null, r->allowed_dimensions = NULL; r->allowed_dimension_count = 1)
static const char *const dim_null_entry[] = {"region", NULL};
static const char *const dim_empty_entry[] = {""};
static const char *dim_long_entry[] = {s64};
static const char *const dim_ctl_entry[] = {"re\ngion"};
MUT(dim_null_m, r->allowed_dimensions = dim_null_entry; r->allowed_dimension_count = 2)
MUT(dim_empty_m, r->allowed_dimensions = dim_empty_entry; r->allowed_dimension_count = 1)
MUT(dim_long_m, r->allowed_dimensions = dim_long_entry; r->allowed_dimension_count = 1)
MUT(dim_ctl_m, r->allowed_dimensions = dim_ctl_entry; r->allowed_dimension_count = 1)

/* accepted boundaries */
MUT(ok_type_1, r->resource_type = "x")
MUT(ok_type_253, r->resource_type = s253)
MUT(ok_type_utf8, r->resource_type = "gr\xc3\xbcn.example.com/\xe6\x95\xb0")
MUT(ok_type_4byte, r->resource_type = "emoji.example.com/\xf0\x9f\x98\x80")
MUT(ok_kind_63, r->consumer_type.kind = s63)
MUT(ok_kind_1, r->consumer_type.kind = "O")
MUT(ok_no_group, r->consumer_type.api_group = NULL)
MUT(ok_units_50, r->base_unit = s50; r->display_unit = s50)
MUT(ok_units_none, r->base_unit = NULL; r->display_unit = "")
MUT(ok_desc_500, r->description = s500)
MUT(ok_factor_1, r->unit_conversion_factor = 1)
MUT(ok_factor_max, r->unit_conversion_factor = INT64_MAX)
MUT(ok_claimers_20, r->claiming_resources = claimers20; r->claiming_resource_count = 20)
MUT(ok_claimers_0, r->claiming_resources = NULL; r->claiming_resource_count = 0)
MUT(ok_dims_32, r->allowed_dimensions = dims32; r->allowed_dimension_count = 32)
static const char *dim_63_entry[] = {s63};
MUT(ok_dim_63, r->allowed_dimensions = dim_63_entry; r->allowed_dimension_count = 1)
MUT(ok_default_unlimited, r->default_limit = QUOTA_UNLIMITED)
MUT(ok_default_max, r->default_limit = INT64_MAX)
MUT(ok_class_entity, r->resource_class = QUOTA_RESOURCE_ENTITY)
MUT(ok_class_feature, r->resource_class = QUOTA_RESOURCE_FEATURE)
MUT(ok_class_rate, r->resource_class = QUOTA_RESOURCE_RATE)
MUT(ok_warn, r->enforcement = QUOTA_WARN)

static void setup_arrays(void)
{
	fill(s50, 50, 'u');
	fill(s51, 51, 'u');
	fill(s500, 500, 'd');
	fill(s501, 501, 'd');
	fill(s63, 63, 'K');
	fill(s64, 64, 'K');
	fill(s253, 253, 't');
	fill(s254, 254, 't');
	for (int i = 0; i < 21; i++) {
		claimers21[i].kind = "Instance";
		claimers21[i].api_group = NULL;
	}
	for (int i = 0; i < 20; i++)
		claimers20[i] = claimers21[i];
	for (int i = 0; i < 33; i++) {
		snprintf(dim_names[i], sizeof dim_names[i], "d%d", i);
		dims33[i] = dim_names[i];
		if (i < 32)
			dims32[i] = dim_names[i];
	}
}

static void test_validation(void)
{
	quota_engine *e = test_engine(NULL, 0);
	quota_registration r;
	CHECK(e != NULL);
	if (!e)
		return;
	base_reg(&r, BASE);
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_RC(test_register(e, "other.example.com/x", NULL, "Project", 0), QUOTA_OK);

	EXPECT_INVALID(e, type_null, "resource_type");
	EXPECT_INVALID(e, type_empty, "resource_type");
	EXPECT_INVALID(e, type_254, "resource_type");
	EXPECT_INVALID(e, type_bad_utf8_ff, "resource_type");
	EXPECT_INVALID(e, type_bad_utf8_truncated, "resource_type");
	EXPECT_INVALID(e, type_bad_utf8_overlong, "resource_type");
	EXPECT_INVALID(e, type_bad_utf8_surrogate, "resource_type");
	EXPECT_INVALID(e, type_bad_utf8_too_big, "resource_type");
	EXPECT_INVALID(e, type_bad_utf8_lone_cont, "resource_type");
	EXPECT_INVALID(e, type_newline, "resource_type");
	EXPECT_INVALID(e, type_tab, "resource_type");
	EXPECT_INVALID(e, type_soh, "resource_type");
	EXPECT_INVALID(e, type_del, "resource_type");
	EXPECT_INVALID(e, type_c1, "resource_type");
	EXPECT_INVALID(e, kind_null, "consumer_type");
	EXPECT_INVALID(e, kind_empty, "consumer_type");
	EXPECT_INVALID(e, kind_digit_first, "consumer_type");
	EXPECT_INVALID(e, kind_dash, "consumer_type");
	EXPECT_INVALID(e, kind_space, "consumer_type");
	EXPECT_INVALID(e, kind_64, "consumer_type");
	EXPECT_INVALID(e, group_bad_utf8, "consumer_type");
	EXPECT_INVALID(e, class_0, "resource_class|.type");
	EXPECT_INVALID(e, class_5, "resource_class|.type");
	EXPECT_INVALID(e, class_neg, "resource_class|.type");
	EXPECT_INVALID(e, enforce_2, "enforcement");
	EXPECT_INVALID(e, enforce_neg, "enforcement");
	EXPECT_INVALID(e, base_unit_51, "base_unit");
	EXPECT_INVALID(e, base_unit_ctl, "base_unit");
	EXPECT_INVALID(e, display_unit_51, "display_unit");
	EXPECT_INVALID(e, display_unit_bad, "display_unit");
	EXPECT_INVALID(e, desc_501, "description");
	EXPECT_INVALID(e, desc_bad, "description");
	EXPECT_INVALID(e, factor_0, "unit_conversion_factor");
	EXPECT_INVALID(e, factor_neg, "unit_conversion_factor");
	EXPECT_INVALID(e, factor_min, "unit_conversion_factor");
	EXPECT_INVALID(e, default_neg2, "default_limit");
	EXPECT_INVALID(e, default_min, "default_limit");
	EXPECT_INVALID(e, claimers_21, "claiming_resources");
	EXPECT_INVALID(e, claimers_null, "claiming_resources");
	EXPECT_INVALID(e, claimer_no_kind_m, "claiming_resources[0]");
	EXPECT_INVALID(e, claimer_bad_kind_m, "claiming_resources[1]");
	EXPECT_INVALID(e, claimer_bad_group_m, "claiming_resources[0]");
	EXPECT_INVALID(e, dims_33, "allowed_dimensions");
	EXPECT_INVALID(e, dims_null, "allowed_dimensions");
	EXPECT_INVALID(e, dim_null_m, "allowed_dimensions[1]");
	EXPECT_INVALID(e, dim_empty_m, "allowed_dimensions[0]");
	EXPECT_INVALID(e, dim_long_m, "allowed_dimensions[0]");
	EXPECT_INVALID(e, dim_ctl_m, "allowed_dimensions[0]");
	EXPECT_INVALID(e, size_0, NULL);
	EXPECT_INVALID(e, size_short, NULL);

	/* NULL arguments */
	snapshot(e, snap_before, sizeof snap_before);
	base_reg(&r, FRESH);
	CHECK_RC(quota_registration_create(NULL, &r), QUOTA_ERR_INVALID);
	CHECK_RC(quota_registration_create(e, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_registration_update(NULL, &r), QUOTA_ERR_INVALID);
	CHECK_RC(quota_registration_update(e, NULL), QUOTA_ERR_INVALID);
	CHECK_UNCHANGED(e, "NULL arguments");

	EXPECT_ACCEPTED(e, ok_type_1);
	EXPECT_ACCEPTED(e, ok_type_253);
	EXPECT_ACCEPTED(e, ok_type_utf8);
	EXPECT_ACCEPTED(e, ok_type_4byte);
	EXPECT_ACCEPTED(e, ok_kind_63);
	EXPECT_ACCEPTED(e, ok_kind_1);
	EXPECT_ACCEPTED(e, ok_no_group);
	EXPECT_ACCEPTED(e, ok_units_50);
	EXPECT_ACCEPTED(e, ok_units_none);
	EXPECT_ACCEPTED(e, ok_desc_500);
	EXPECT_ACCEPTED(e, ok_factor_1);
	EXPECT_ACCEPTED(e, ok_factor_max);
	EXPECT_ACCEPTED(e, ok_claimers_20);
	EXPECT_ACCEPTED(e, ok_claimers_0);
	EXPECT_ACCEPTED(e, ok_dims_32);
	EXPECT_ACCEPTED(e, ok_dim_63);
	EXPECT_ACCEPTED(e, ok_default_unlimited);
	EXPECT_ACCEPTED(e, ok_default_max);
	EXPECT_ACCEPTED(e, ok_class_entity);
	EXPECT_ACCEPTED(e, ok_class_feature);
	EXPECT_ACCEPTED(e, ok_class_rate);
	EXPECT_ACCEPTED(e, ok_warn);
	quota_engine_free(e);
}

/* A caller built against a newer header passes a bigger struct. */
static void test_bigger_struct(void)
{
	quota_engine *e = test_engine(NULL, 0);
	union {
		quota_registration r;
		unsigned char bytes[sizeof(quota_registration) + 32];
	} big;
	memset(&big, 0, sizeof big);
	CHECK_RC(quota_registration_init(&big.r, sizeof big), QUOTA_OK);
	base_reg(&big.r, FRESH);
	big.r.size = sizeof big;
	CHECK_RC(quota_registration_create(e, &big.r), QUOTA_OK);
	CHECK(generation_of(e, FRESH) == 1);
	quota_engine_free(e);
}

static void test_get_copies_everything(void)
{
	quota_engine *e = test_engine(NULL, 0);
	quota_registration r, *got = NULL;
	char type[64], unit[16], desc[32], kind[16], claimer_kind[16], dim[16];
	quota_kind_ref claimers[1];
	const char *dims[1] = {dim};
	CHECK(e != NULL);
	if (!e)
		return;

	snprintf(type, sizeof type, "%s", BASE);
	snprintf(unit, sizeof unit, "core");
	snprintf(desc, sizeof desc, "what it is");
	snprintf(kind, sizeof kind, "Organization");
	snprintf(claimer_kind, sizeof claimer_kind, "Instance");
	snprintf(dim, sizeof dim, "region");
	claimers[0].api_group = "compute.example.com";
	claimers[0].kind = claimer_kind;

	base_reg(&r, type);
	r.consumer_type.kind = kind;
	r.base_unit = unit;
	r.display_unit = NULL;
	r.description = desc;
	r.claiming_resources = claimers;
	r.claiming_resource_count = 1;
	r.allowed_dimensions = dims;
	r.allowed_dimension_count = 1;
	r.resource_class = QUOTA_RESOURCE_ENTITY;
	r.enforcement = QUOTA_WARN;
	r.unit_conversion_factor = 7;
	r.default_limit = 42;
	r.generation = 99; /* output only: ignored */
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);

	/* the library copied everything: scribble over the caller's memory */
	memset(type, 'X', sizeof type - 1);
	memset(unit, 'X', sizeof unit - 1);
	memset(desc, 'X', sizeof desc - 1);
	memset(kind, 'X', sizeof kind - 1);
	memset(claimer_kind, 'X', sizeof claimer_kind - 1);
	memset(dim, 'X', sizeof dim - 1);
	claimers[0].api_group = "scribbled";

	CHECK_RC(quota_registration_get(e, BASE, &got), QUOTA_OK);
	if (got) {
		CHECK(got->size >= sizeof *got);
		CHECK_STR_EQ(got->resource_type, BASE);
		CHECK_STR_EQ(got->consumer_type.api_group, GROUP);
		CHECK_STR_EQ(got->consumer_type.kind, "Organization");
		CHECK_EQ_INT(got->resource_class, QUOTA_RESOURCE_ENTITY);
		CHECK_EQ_INT(got->enforcement, QUOTA_WARN);
		CHECK_STR_EQ(got->base_unit, "core");
		CHECK_STR_EQ(got->display_unit, "");
		CHECK_STR_EQ(got->description, "what it is");
		CHECK_EQ_INT(got->unit_conversion_factor, 7);
		CHECK_EQ_INT(got->default_limit, 42);
		CHECK_EQ_INT(got->generation, 1);
		CHECK_EQ_INT(got->claiming_resource_count, 1);
		if (got->claiming_resource_count == 1 && got->claiming_resources) {
			CHECK_STR_EQ(got->claiming_resources[0].api_group, "compute.example.com");
			CHECK_STR_EQ(got->claiming_resources[0].kind, "Instance");
		}
		CHECK_EQ_INT(got->allowed_dimension_count, 1);
		if (got->allowed_dimension_count == 1 && got->allowed_dimensions)
			CHECK_STR_EQ(got->allowed_dimensions[0], "region");
	}
	quota_free(got);

	got = (quota_registration *)&r;
	CHECK_RC(quota_registration_get(e, "no.example.com/such", &got), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_registration_get(NULL, BASE, &got), QUOTA_ERR_INVALID);
	CHECK_RC(quota_registration_get(e, NULL, &got), QUOTA_ERR_INVALID);
	CHECK_RC(quota_registration_get(e, "", &got), QUOTA_ERR_INVALID);
	CHECK_RC(quota_registration_get(e, BASE, NULL), QUOTA_ERR_INVALID);
	quota_engine_free(e);
}

static void test_generation_and_conflict(void)
{
	quota_engine *e = test_engine(NULL, 0);
	quota_registration r;
	CHECK(e != NULL);
	if (!e)
		return;

	base_reg(&r, BASE);
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), 1);

	/* identical: idempotent, no bump */
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), 1);
	CHECK_RC(quota_registration_update(e, &r), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), 1);
	r.generation = 77; /* output only */
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), 1);

	/* each mutable field that changes bumps it by one */
	int64_t want = 1;
	r.description = "changed";
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), ++want);
	r.enforcement = QUOTA_WARN;
	CHECK_RC(quota_registration_update(e, &r), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), ++want);
	r.base_unit = "core";
	CHECK_RC(quota_registration_update(e, &r), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), ++want);
	r.display_unit = "cores";
	CHECK_RC(quota_registration_update(e, &r), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), ++want);
	r.unit_conversion_factor = 1;
	CHECK_RC(quota_registration_update(e, &r), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), ++want);
	r.claiming_resource_count = 1;
	CHECK_RC(quota_registration_update(e, &r), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), ++want);
	r.allowed_dimension_count = 1;
	CHECK_RC(quota_registration_update(e, &r), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), ++want);
	r.default_limit = QUOTA_UNLIMITED;
	CHECK_RC(quota_registration_update(e, &r), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), ++want);
	/* the same again: no bump */
	CHECK_RC(quota_registration_update(e, &r), QUOTA_OK);
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), want);

	/* NULL and "" are the same optional string: no change */
	r.display_unit = "";
	r.base_unit = "core";
	quota_registration r2 = r;
	r2.description = "changed";
	CHECK_RC(quota_registration_update(e, &r2), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), want + 1); /* display_unit "cores" -> "" */
	want++;
	r2.display_unit = NULL;
	CHECK_RC(quota_registration_update(e, &r2), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), want);

	/* immutable fields differ: CONFLICT, for create and update, nothing changes */
	snapshot(e, snap_before, sizeof snap_before);
	quota_registration c = r2;
	c.consumer_type.kind = "Project";
	CHECK_RC(quota_registration_create(e, &c), QUOTA_ERR_CONFLICT);
	CHECK_RC(quota_registration_update(e, &c), QUOTA_ERR_CONFLICT);
	c = r2;
	c.consumer_type.api_group = "other.example.com";
	CHECK_RC(quota_registration_create(e, &c), QUOTA_ERR_CONFLICT);
	CHECK_RC(quota_registration_update(e, &c), QUOTA_ERR_CONFLICT);
	c = r2;
	c.resource_class = QUOTA_RESOURCE_ENTITY;
	CHECK_RC(quota_registration_create(e, &c), QUOTA_ERR_CONFLICT);
	CHECK_RC(quota_registration_update(e, &c), QUOTA_ERR_CONFLICT);
	/* a conflict with mutable changes too changes none of them */
	c.description = "should not land";
	c.default_limit = 5;
	CHECK_RC(quota_registration_create(e, &c), QUOTA_ERR_CONFLICT);
	CHECK_UNCHANGED(e, "CONFLICT");
	CHECK_EQ_INT(generation_of(e, BASE), want);

	/* update of an unknown type: NOT_FOUND, and nothing is created */
	c = r2;
	c.resource_type = FRESH;
	CHECK_RC(quota_registration_update(e, &c), QUOTA_ERR_NOT_FOUND);
	CHECK_EQ_INT(generation_of(e, FRESH), QUOTA_ERR_NOT_FOUND);
	CHECK_UNCHANGED(e, "update NOT_FOUND");
	quota_engine_free(e);
}

/* A changed default_limit or enforcement applies to existing buckets. */
static void test_mutable_fields_apply_to_buckets(void)
{
	quota_engine *e = test_engine(NULL, 0);
	quota_registration r;
	quota_answer a;
	CHECK(e != NULL);
	if (!e)
		return;
	base_reg(&r, BASE);
	r.default_limit = 5;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_RC(quota_consume(e, &acme, BASE, 4, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, BASE, 5, 4, 0, 1);
	struct test_bucket b0 = test_bucket_read(e, &acme, BASE);
	CHECK(b0.flags & QUOTA_BUCKET_DEFAULT_LIMIT);

	r.default_limit = 10;
	CHECK_RC(quota_registration_update(e, &r), QUOTA_OK);
	CHECK_BUCKET(e, &acme, BASE, 10, 4, 0, 6);
	struct test_bucket b1 = test_bucket_read(e, &acme, BASE);
	CHECK(b1.observed_generation > b0.observed_generation);

	/* lowered below what is allocated: nothing revoked, over the limit */
	r.default_limit = 2;
	CHECK_RC(quota_registration_update(e, &r), QUOTA_OK);
	CHECK_BUCKET(e, &acme, BASE, 2, 4, 0, 0);
	struct test_bucket b2 = test_bucket_read(e, &acme, BASE);
	CHECK(b2.flags & QUOTA_BUCKET_OVER_LIMIT);
	CHECK(b2.flags & QUOTA_BUCKET_DEFAULT_LIMIT);
	CHECK(b2.observed_generation > b1.observed_generation);
	CHECK_RC(quota_consume(e, &acme, BASE, 1, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_BUCKET(e, &acme, BASE, 2, 4, 0, 0);

	/* Warn: allowed, counted, flagged */
	r.enforcement = QUOTA_WARN;
	CHECK_RC(quota_registration_update(e, &r), QUOTA_OK);
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_consume(e, &acme, BASE, 1, &a), QUOTA_OK);
	CHECK(a.flags & QUOTA_ANSWER_WARNED);
	CHECK_BUCKET(e, &acme, BASE, 2, 5, 0, 0);

	/* back to Enforce and unlimited */
	r.enforcement = QUOTA_ENFORCE;
	r.default_limit = QUOTA_UNLIMITED;
	CHECK_RC(quota_registration_update(e, &r), QUOTA_OK);
	CHECK_BUCKET(e, &acme, BASE, -1, 5, 0, -1);
	struct test_bucket b3 = test_bucket_read(e, &acme, BASE);
	CHECK(!(b3.flags & QUOTA_BUCKET_OVER_LIMIT));
	quota_engine_free(e);
}

static void test_list(void)
{
	quota_engine *e = test_engine(NULL, 0);
	quota_registration **list = NULL;
	size_t count = 99;
	CHECK(e != NULL);
	if (!e)
		return;

	/* empty: never NULL */
	CHECK_RC(quota_registration_list(e, &list, &count), QUOTA_OK);
	CHECK_EQ_INT(count, 0);
	CHECK(list != NULL);
	quota_free(list);

	CHECK_RC(quota_registration_list(NULL, &list, &count), QUOTA_ERR_INVALID);
	CHECK_RC(quota_registration_list(e, NULL, &count), QUOTA_ERR_INVALID);
	CHECK_RC(quota_registration_list(e, &list, NULL), QUOTA_ERR_INVALID);

	static const char *const order[] = {"c.example.com/z", "a.example.com/y", "b.example.com/x",
					    "a.example.com/a", "B.example.com/upper"};
	static const char *const sorted[] = {"B.example.com/upper", "a.example.com/a",
					     "a.example.com/y", "b.example.com/x", "c.example.com/z"};
	for (int i = 0; i < 5; i++) {
		quota_registration r;
		base_reg(&r, order[i]);
		r.default_limit = i;
		CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	}
	CHECK_RC(quota_registration_list(e, &list, &count), QUOTA_OK);
	CHECK_EQ_INT(count, 5);
	if (list && count == 5) {
		for (int i = 0; i < 5; i++) {
			CHECK(list[i] != NULL);
			if (!list[i])
				continue;
			CHECK_STR_EQ(list[i]->resource_type, sorted[i]);
			CHECK_STR_EQ(list[i]->consumer_type.kind, "Organization");
			CHECK_STR_EQ(list[i]->description, "Virtual CPUs");
			CHECK_EQ_INT(list[i]->allowed_dimension_count, 2);
			if (list[i]->allowed_dimension_count == 2)
				CHECK_STR_EQ(list[i]->allowed_dimensions[1], "tier");
			CHECK_EQ_INT(list[i]->generation, 1);
		}
		/* the objects belong to the list: b.example.com/x had default 2 */
		CHECK_EQ_INT(list[3]->default_limit, 2);
	}
	/* one allocation: a single quota_free releases everything (ASan/valgrind) */
	quota_free(list);

	CHECK_RC(quota_registration_delete(e, "a.example.com/y"), QUOTA_OK);
	CHECK_RC(quota_registration_list(e, &list, &count), QUOTA_OK);
	CHECK_EQ_INT(count, 4);
	if (list && count == 4)
		CHECK_STR_EQ(list[2]->resource_type, "b.example.com/x");
	quota_free(list);
	quota_engine_free(e);
}

static int delete_refused(quota_engine *e, int code, int line)
{
	snapshot(e, snap_before, sizeof snap_before);
	int rc = quota_registration_delete(e, BASE);
	if (rc != code)
		check_fail_(__FILE__, line, "delete: %s, expected %s", quota_strerror(rc),
			    quota_strerror(code));
	snapshot(e, snap_after, sizeof snap_after);
	if (strcmp(snap_before, snap_after) != 0)
		check_fail_(__FILE__, line, "refused delete changed registrations");
	return rc;
}

static int count_buckets_of(quota_engine *e, const char *type)
{
	quota_bucket_iter *it = NULL;
	const quota_bucket_info *b;
	int n = 0, rc;
	if (quota_bucket_iter_new(e, NULL, type, &it) != QUOTA_OK)
		return -1;
	while ((rc = quota_bucket_iter_next(it, &b)) == QUOTA_OK)
		n++;
	quota_bucket_iter_free(it);
	return rc == QUOTA_ITER_DONE ? n : -1;
}

static void test_delete(void)
{
	/* retention 0: a released claim is forgotten at once */
	quota_engine *e = test_engine(NULL, 0);
	quota_registration r;
	quota_bucket_handle *h = NULL;
	struct test_claim t;
	CHECK(e != NULL);
	if (!e)
		return;

	CHECK_RC(quota_registration_delete(NULL, BASE), QUOTA_ERR_INVALID);
	CHECK_RC(quota_registration_delete(e, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_registration_delete(e, ""), QUOTA_ERR_INVALID);
	CHECK_RC(quota_registration_delete(e, "cpu\xff"), QUOTA_ERR_INVALID);
	CHECK_RC(quota_registration_delete(e, BASE), QUOTA_ERR_NOT_FOUND);

	base_reg(&r, BASE);
	r.default_limit = 100;
	r.claiming_resource_count = 0;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_RC(test_register(e, "keep.example.com/x", NULL, "Organization", 0), QUOTA_OK);

	/* a grant names it */
	CHECK_RC(test_grant(e, NULL, "g", &acme, BASE, 10, NULL), QUOTA_OK);
	delete_refused(e, QUOTA_ERR_IN_USE, __LINE__);
	CHECK_RC(quota_grant_delete(e, NULL, "g"), QUOTA_OK);

	/* anonymous allocation */
	CHECK_RC(quota_consume(e, &acme, BASE, 3, NULL), QUOTA_OK);
	delete_refused(e, QUOTA_ERR_IN_USE, __LINE__);
	CHECK_RC(quota_give_back(e, &acme, BASE, 3), QUOTA_OK);

	/* a reservation */
	test_claim_init(&t, "ns", "c", &acme);
	test_claim_add(&t, BASE, 2);
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	delete_refused(e, QUOTA_ERR_IN_USE, __LINE__);
	/* a granted claim */
	CHECK_RC(quota_claim_commit(e, "ns", "c", NULL, 0), QUOTA_OK);
	delete_refused(e, QUOTA_ERR_IN_USE, __LINE__);
	CHECK_RC(quota_claim_release(e, "ns", "c"), QUOTA_OK);

	/* an open handle */
	CHECK_RC(quota_bucket_handle_open(e, &acme, BASE, &h), QUOTA_OK);
	delete_refused(e, QUOTA_ERR_IN_USE, __LINE__);
	quota_bucket_handle_close(h);

	/* the bucket that remains is empty: it goes with the registration */
	CHECK_BUCKET(e, &acme, BASE, 100, 0, 0, 100);
	CHECK_RC(quota_registration_delete(e, BASE), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), QUOTA_ERR_NOT_FOUND);
	CHECK_EQ_INT(generation_of(e, "keep.example.com/x"), 1);
	CHECK_EQ_INT(count_buckets_of(e, BASE), 0);
	struct test_bucket b = test_bucket_read(e, &acme, BASE);
	CHECK_RC(b.rc, QUOTA_ERR_UNREGISTERED);
	CHECK_RC(quota_consume(e, &acme, BASE, 1, NULL), QUOTA_ERR_UNREGISTERED);
	CHECK_RC(quota_registration_delete(e, BASE), QUOTA_ERR_NOT_FOUND);

	/* registered again: a new life, generation 1, fresh bucket */
	r.default_limit = 7;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_EQ_INT(generation_of(e, BASE), 1);
	CHECK_BUCKET(e, &acme, BASE, 7, 0, 0, 7);
	quota_engine_free(e);
}

int main(void)
{
	setup_arrays();
	RUN(test_validation);
	RUN(test_bigger_struct);
	RUN(test_get_copies_everything);
	RUN(test_generation_and_conflict);
	RUN(test_mutable_fields_apply_to_buckets);
	RUN(test_list);
	RUN(test_delete);
	return check_exit();
}
