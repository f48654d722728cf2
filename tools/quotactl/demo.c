/*
 * quotactl demo: a narrated tour of libquota in a fresh state directory.
 *
 * A small cloud: Organizations hold projects, Projects hold instances and
 * an API rate. Grant creation policies hand out quota when organizations
 * and projects appear, claim creation policies charge it when projects and
 * instances are created, a queued claim waits for capacity, and a rate
 * limit throttles. The engine's clock is fixed, so the output is the same
 * on every run (tools/quotactl/demo-expected.txt checks it).
 *
 * SPDX-License-Identifier: MIT
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quotactl.h"

#define PROJECTS "resourcemanager.example.com/projects"
#define INSTANCES "compute.example.com/instances"
#define REQUESTS "api.example.com/requests"
#define RM_VERSION "resourcemanager.example.com/v1"
#define COMPUTE_VERSION "compute.example.com/v1"

/* 2025-01-01T00:00:00Z */
static const int64_t demo_epoch_ns = INT64_C(1735689600) * 1000000000;

struct demo {
	quota_engine *e;
	int64_t now_ns; /* the engine's clock: moved only by the demo */
};

static int64_t demo_clock(void *payload)
{
	return ((const struct demo *)payload)->now_ns;
}

/* Claims leaving the queue are the news; every other transition is narrated by the step. */
static void demo_event(const quota_event *ev, void *payload)
{
	(void)payload;
	if (ev->prev_state == QUOTA_CLAIM_PENDING)
		printf("  event: claim %s/%s went from Pending to %s\n", ev->ns, ev->name,
		       claim_state_text(ev->state));
}

/* A failed call: say which step and why; the demo stops. */
static int failed(const char *what, int rc)
{
	report("demo: %s: %s (%s)", what, quota_last_error(), quota_strerror(rc));
	return -1;
}

/* --- documents: the objects a host's watch or admission webhook would hand over --- */

static void set_doc(quota_doc *map, const char *key, quota_doc *value, int *rc)
{
	if (*rc != QUOTA_OK)
		quota_doc_unref(value);
	else
		*rc = quota_doc_map_set(map, key, strlen(key), value);
}

static void set_string(quota_doc *map, const char *key, const char *value, int *rc)
{
	quota_doc *v = NULL;
	if (*rc == QUOTA_OK)
		*rc = quota_doc_new_string(value, strlen(value), &v);
	set_doc(map, key, v, rc);
}

/* {apiVersion, kind, metadata: {name, namespace, uid}, spec: {string fields}}. */
static int make_object(const char *api_version, const char *kind, const char *ns, const char *name,
		       const quota_label *spec, size_t spec_count, quota_doc **out)
{
	quota_doc *obj = NULL, *meta = NULL, *fields = NULL;
	char uid[256];
	int rc = quota_doc_new_map(&obj);
	if (rc == QUOTA_OK)
		rc = quota_doc_new_map(&meta);
	if (rc == QUOTA_OK)
		rc = quota_doc_new_map(&fields);
	snprintf(uid, sizeof uid, "uid-%s-%s-%s", kind, ns, name);
	set_string(meta, "name", name, &rc);
	set_string(meta, "namespace", ns, &rc);
	set_string(meta, "uid", uid, &rc);
	for (size_t i = 0; i < spec_count; i++)
		set_string(fields, spec[i].key, spec[i].value, &rc);
	set_string(obj, "apiVersion", api_version, &rc);
	set_string(obj, "kind", kind, &rc);
	set_doc(obj, "metadata", meta, &rc);
	set_doc(obj, "spec", fields, &rc);
	if (rc != QUOTA_OK) {
		quota_doc_unref(obj);
		return failed("making an object", rc);
	}
	*out = obj;
	return 0;
}

/* requestInfo: denial messages name the resource by its plural, as the API server does. */
static int make_request_info(const char *group, const char *resource, quota_doc **out)
{
	quota_doc *info = NULL;
	int rc = quota_doc_new_map(&info);
	set_string(info, "apiGroup", group, &rc);
	set_string(info, "resource", resource, &rc);
	if (rc != QUOTA_OK) {
		quota_doc_unref(info);
		return failed("making requestInfo", rc);
	}
	*out = info;
	return 0;
}

/* --- step 1: registrations --- */

static int register_type(struct demo *d, const char *type, const char *consumer, int32_t cls,
			 const char *what)
{
	quota_registration r;
	quota_registration_init(&r, sizeof r);
	r.resource_type = type;
	r.consumer_type.kind = consumer;
	r.resource_class = cls;
	r.description = what;
	int rc = quota_registration_create(d->e, &r);
	if (rc != QUOTA_OK)
		return failed("registering a type", rc);
	printf("  %s: %s\n", type, what);
	return 0;
}

static int step_register(struct demo *d)
{
	printf("Step 1. Register three resource types.\n");
	if (register_type(d, PROJECTS, "Organization", QUOTA_RESOURCE_ENTITY,
			  "how many projects an Organization may have") != 0 ||
	    register_type(d, INSTANCES, "Project", QUOTA_RESOURCE_ENTITY,
			  "how many instances a Project may run") != 0 ||
	    register_type(d, REQUESTS, "Project", QUOTA_RESOURCE_RATE,
			  "how many API requests a Project may make per second") != 0)
		return -1;
	return 0;
}

/* --- step 2: policies --- */

static int grant_policy(struct demo *d, const char *name, const char *trigger_kind,
			const quota_constraint *constraint, const char *consumer_kind,
			const quota_allowance *allowances, uint32_t allowance_count,
			const char *what)
{
	quota_grant_template t;
	quota_grant_policy p;
	char grant_name[128];

	snprintf(grant_name, sizeof grant_name, "{{trigger.metadata.name}}-%s",
		 strcmp(consumer_kind, "Project") == 0 ? "compute" : "projects");
	quota_grant_template_init(&t, sizeof t);
	t.name = grant_name;
	t.consumer.kind = consumer_kind;
	t.consumer.name = "{{trigger.metadata.name}}";
	t.allowances = allowances;
	t.allowance_count = allowance_count;
	quota_grant_policy_init(&p, sizeof p);
	p.name = name;
	p.trigger.api_version = RM_VERSION;
	p.trigger.kind = trigger_kind;
	p.constraints = constraint;
	p.constraint_count = constraint ? 1 : 0;
	p.grant = &t;
	int rc = quota_grant_policy_apply(d->e, &p, NULL);
	if (rc != QUOTA_OK)
		return failed("applying a grant policy", rc);
	printf("  grant policy %s: %s\n", name, what);
	return 0;
}

static int claim_policy(struct demo *d, const char *name, const char *trigger_version,
			const char *trigger_kind, const char *claim_name, const char *consumer_kind,
			const char *consumer_name, const char *type, const char *what)
{
	quota_request_template req;
	quota_claim_template t;
	quota_claim_policy p;

	quota_request_template_init(&req, sizeof req);
	req.resource_type = type;
	req.amount = 1;
	quota_claim_template_init(&t, sizeof t);
	t.name = claim_name;
	t.consumer.kind = consumer_kind;
	t.consumer.name = consumer_name;
	t.requests = &req;
	t.request_count = 1;
	quota_claim_policy_init(&p, sizeof p);
	p.name = name;
	p.trigger.api_version = trigger_version;
	p.trigger.kind = trigger_kind;
	p.claim = &t;
	int rc = quota_claim_policy_apply(d->e, &p, NULL);
	if (rc != QUOTA_OK)
		return failed("applying a claim policy", rc);
	printf("  claim policy %s: %s\n", name, what);
	return 0;
}

static int step_policies(struct demo *d)
{
	quota_grant_bucket projects, instances, requests;
	quota_allowance org[1], pro[2];
	quota_constraint tier;

	printf("\nStep 2. Apply the policies that hand out quota and charge it.\n");
	quota_grant_bucket_init(&projects, sizeof projects);
	projects.amount = 2;
	quota_allowance_init(&org[0], sizeof org[0]);
	org[0].resource_type = PROJECTS;
	org[0].buckets = &projects;
	org[0].bucket_count = 1;

	quota_grant_bucket_init(&instances, sizeof instances);
	instances.amount = 4;
	quota_grant_bucket_init(&requests, sizeof requests);
	requests.amount = 5;
	requests.period_ms = QUOTA_PERIOD_SECOND;
	requests.burst = 5;
	requests.violation_action = QUOTA_ACTION_THROTTLE;
	quota_allowance_init(&pro[0], sizeof pro[0]);
	pro[0].resource_type = INSTANCES;
	pro[0].buckets = &instances;
	pro[0].bucket_count = 1;
	quota_allowance_init(&pro[1], sizeof pro[1]);
	pro[1].resource_type = REQUESTS;
	pro[1].buckets = &requests;
	pro[1].bucket_count = 1;

	quota_constraint_init(&tier, sizeof tier);
	tier.expression = "has(trigger.spec.tier) && trigger.spec.tier == 'pro'";
	tier.message = "only pro projects get compute";

	if (grant_policy(d, "organization-projects", "Organization", NULL, "Organization", org, 1,
			 "every Organization may have 2 projects") != 0 ||
	    grant_policy(d, "pro-projects", "Project", &tier, "Project", pro, 2,
			 "a Project of tier \"pro\" may run 4 instances and make 5 API requests "
			 "per second") != 0 ||
	    claim_policy(d, "project-count", RM_VERSION, "Project",
			 "project-{{trigger.metadata.name}}", "Organization",
			 "{{trigger.spec.organization}}", PROJECTS,
			 "creating a Project claims 1 project from its Organization") != 0 ||
	    claim_policy(d, "instance-count", COMPUTE_VERSION, "Instance",
			 "instance-{{trigger.metadata.name}}", "Project",
			 "{{trigger.metadata.namespace}}", INSTANCES,
			 "creating an Instance claims 1 instance from its Project") != 0)
		return -1;
	return 0;
}

/* --- steps 3 and 4: organizations and projects --- */

/* Tell the grant policies an object was added, and say what they did. */
static int sync_added(struct demo *d, const quota_doc *obj, const char *indent)
{
	quota_grant_change **changes = NULL;
	size_t n = 0;
	int rc = quota_grant_policies_sync(d->e, obj, QUOTA_TRIGGER_ADDED, &changes, &n);
	if (rc != QUOTA_OK)
		return failed("syncing the grant policies", rc);
	if (n == 0)
		printf("%sno grant: no grant policy applies to it\n", indent);
	for (size_t i = 0; i < n; i++)
		printf("%sgrant %s applied by %s\n", indent, changes[i]->name, changes[i]->policy);
	quota_free(changes);
	return 0;
}

/*
 * Admit an object as an admission webhook would: allowed (with its claims)
 * or denied with the message the API server returns. *allowed says which.
 */
static int admit(struct demo *d, const quota_doc *obj, const quota_doc *request_info,
		 const char *label, int *allowed)
{
	quota_admission a;
	quota_admission_result *r = NULL;
	quota_admission_init(&a, sizeof a);
	a.trigger = obj;
	a.request_info = request_info;
	int rc = quota_admit(d->e, &a, &r);
	if (!r)
		return failed("admitting an object", rc);
	*allowed = r->allowed;
	if (r->allowed) {
		printf("  %s: allowed", label);
		for (uint32_t i = 0; i < r->claim_count; i++)
			printf("%s%s%s%s", i ? ", " : " (claim ", r->claims[i]->ns,
			       *r->claims[i]->ns ? "/" : "", r->claims[i]->name);
		printf("%s\n", r->claim_count ? ")" : "");
	} else {
		printf("  %s: denied\n    %s\n", label, r->message);
	}
	quota_free(r);
	return 0;
}

static int step_organization(struct demo *d)
{
	quota_doc *org;
	printf("\nStep 3. Create the Organization acme: the grant policies give it its quota.\n");
	if (make_object(RM_VERSION, "Organization", "", "acme", NULL, 0, &org) != 0)
		return -1;
	int rc = sync_added(d, org, "  ");
	quota_doc_unref(org);
	return rc;
}

static int step_projects(struct demo *d)
{
	static const struct {
		const char *name, *tier;
	} projects[] = {{"web", "pro"}, {"batch", "free"}, {"extra", "pro"}};
	quota_doc *info;

	printf("\nStep 4. Create three projects in acme. Each is admitted first (it claims a\n"
	       "project from acme), then the grant policies see it.\n");
	if (make_request_info("resourcemanager.example.com", "projects", &info) != 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof projects / sizeof projects[0]; i++) {
		const quota_label spec[] = {{"organization", "acme"}, {"tier", projects[i].tier}};
		char label[128];
		quota_doc *project;
		int allowed = 0;
		snprintf(label, sizeof label, "Project %s (tier %s)", projects[i].name,
			 projects[i].tier);
		rc = make_object(RM_VERSION, "Project", "", projects[i].name, spec, 2, &project);
		if (rc == 0)
			rc = admit(d, project, info, label, &allowed);
		if (rc == 0 && allowed)
			rc = sync_added(d, project, "    ");
		quota_doc_unref(project);
	}
	quota_doc_unref(info);
	return rc;
}

/* --- steps 5 to 7: instances --- */

static int admit_instance(struct demo *d, const char *name, const char *note)
{
	quota_doc *info = NULL, *instance = NULL;
	char label[128];
	int allowed;
	snprintf(label, sizeof label, "Instance web/%s%s", name, note);
	int rc = make_request_info("compute.example.com", "instances", &info);
	if (rc == 0)
		rc = make_object(COMPUTE_VERSION, "Instance", "web", name, NULL, 0, &instance);
	if (rc == 0)
		rc = admit(d, instance, info, label, &allowed);
	quota_doc_unref(instance);
	quota_doc_unref(info);
	return rc;
}

static int step_instances(struct demo *d)
{
	printf("\nStep 5. Create instances in project web until its quota says no.\n");
	for (int i = 1; i <= 5; i++) {
		char name[16];
		snprintf(name, sizeof name, "web-%d", i);
		if (admit_instance(d, name, "") != 0)
			return -1;
	}
	return 0;
}

static int step_show_buckets(struct demo *d, const char *title)
{
	printf("\n%s\n", title);
	return print_buckets(d->e, NULL) == EXIT_OK ? 0 : -1;
}

static int step_release(struct demo *d)
{
	quota_bucket_info *b;
	const quota_ref web = {.kind = "Project", .name = "web"};

	printf("\nStep 7. Delete instance web-2: releasing its claim frees one instance.\n");
	int rc = quota_claim_release(d->e, "web", "instance-web-2");
	if (rc != QUOTA_OK)
		return failed("releasing a claim", rc);
	if ((rc = quota_bucket_get(d->e, &web, INSTANCES, &b)) != QUOTA_OK)
		return failed("reading a bucket", rc);
	printf("  released web/instance-web-2: %" PRId64 " of %" PRId64 " instances available\n",
	       b->available, b->limit);
	quota_free(b);
	return admit_instance(d, "web-5", " (retried)");
}

/* --- step 8: a queued claim --- */

static int claim_state(struct demo *d, const char *ns, const char *name, int32_t *state)
{
	quota_claim_info *c;
	int rc = quota_claim_get(d->e, ns, name, &c);
	if (rc != QUOTA_OK)
		return failed("reading a claim", rc);
	*state = c->state;
	quota_free(c);
	return 0;
}

static int step_queue(struct demo *d)
{
	quota_request req;
	quota_claim c;
	quota_answer a;
	int32_t state;

	printf("\nStep 8. A controller asks for instance web-6 with a queued claim (Pattern 2):\n"
	       "it waits in line instead of being denied.\n");
	quota_request_init(&req, sizeof req);
	req.resource_type = INSTANCES;
	req.amount = 1;
	quota_claim_init(&c, sizeof c);
	c.ns = "web";
	c.name = "instance-web-6";
	c.consumer = (quota_ref){.kind = "Project", .name = "web"};
	c.requests = &req;
	c.request_count = 1;
	c.flags = QUOTA_CLAIM_QUEUE | QUOTA_CLAIM_AUTO_COMMIT;
	quota_answer_init(&a, sizeof a);
	int rc = quota_claim_reserve(d->e, &c, &a);
	if (rc != QUOTA_OK)
		return failed("queueing a claim", rc);
	printf("  claim web/instance-web-6: %s (bucket %s is full)\n", claim_state_text(a.state),
	       a.bucket);
	printf("  Instance web-1 is deleted: release web/instance-web-1.\n");
	if ((rc = quota_claim_release(d->e, "web", "instance-web-1")) != QUOTA_OK)
		return failed("releasing a claim", rc);
	if (claim_state(d, "web", "instance-web-6", &state) != 0)
		return -1;
	printf("  claim web/instance-web-6 is now %s: the controller can start web-6.\n",
	       claim_state_text(state));
	return 0;
}

/* --- step 9: a rate limit --- */

static int take_request(struct demo *d, int n)
{
	const quota_ref web = {.kind = "Project", .name = "web"};
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	int rc = quota_rate_take(d->e, &web, REQUESTS, 1, &a);
	if (rc == QUOTA_OK)
		printf("  request %d: allowed, %" PRId64 " left\n", n, a.available);
	else if (rc == QUOTA_ERR_RATE_LIMITED)
		printf("  request %d: throttled, retry after %" PRId64 " ms\n", n,
		       a.retry_after_ms);
	else
		return failed("taking from a rate limit", rc);
	return 0;
}

static int step_rate(struct demo *d)
{
	printf("\nStep 9. Project web calls the API: 5 requests per second, in bursts of at\n"
	       "most 5. Six requests arrive at once.\n");
	for (int n = 1; n <= 6; n++)
		if (take_request(d, n) != 0)
			return -1;
	d->now_ns += INT64_C(200) * 1000000;
	printf("  200 ms later:\n");
	return take_request(d, 7);
}

/* --- the tour --- */

static int run_tour(struct demo *d)
{
	printf("quotactl demo: quotas for a small cloud, step by step.\n\n");
	if (step_register(d) != 0 || step_policies(d) != 0 || step_organization(d) != 0 ||
	    step_projects(d) != 0 || step_instances(d) != 0 ||
	    step_show_buckets(d, "Step 6. The buckets now (quotactl get buckets):") != 0 ||
	    step_release(d) != 0 || step_queue(d) != 0 || step_rate(d) != 0 ||
	    step_show_buckets(d, "Step 10. The buckets at the end:") != 0)
		return -1;
	printf("\nDone. Every step above is one libquota call; see doc/quotactl.md to make\n"
	       "the same calls from the command line.\n");
	return 0;
}

/* Remove the demo's state directory: its files, then itself. */
static void remove_state_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *ent;
	char path[4096];
	if (d) {
		while ((ent = readdir(d))) {
			if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
				continue;
			int n = snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
			if (n < 0 || (size_t)n >= sizeof path || unlink(path) != 0)
				report("demo: %s: %s", path, strerror(errno));
		}
		closedir(d);
	}
	if (rmdir(dir) != 0)
		report("demo: %s: %s", dir, strerror(errno));
}

int cmd_demo(struct cli *cli, int argc, char **argv)
{
	static const struct option longs[] = {
		{"keep", no_argument, NULL, 'k'},
		{NULL, 0, NULL, 0},
	};
	const struct command *cmd = find_command(argv[0]);
	const char *tmp = getenv("TMPDIR");
	char dir[4096];
	int keep = 0, c;

	while ((c = next_option(cli, cmd, argc, argv, "", longs)) != -1) {
		if (c == 'k')
			keep = 1;
		else
			return c == OPT_HELP ? print_usage(cmd) : EXIT_INPUT;
	}
	if (optind < argc)
		return usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
	snprintf(dir, sizeof dir, "%s/quotactl-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		report("demo: %s: %s", dir, strerror(errno));
		return EXIT_ERROR;
	}

	struct demo d = {.now_ns = demo_epoch_ns};
	struct cli demo_cli = *cli;
	quota_engine_options o;
	quota_engine_options_init(&o, sizeof o);
	o.clock = demo_clock;
	o.clock_payload = &d;
	o.event_fn = demo_event;
	demo_cli.state_dir = dir;
	demo_cli.memory_fallback = 1;
	int rc = engine_open(&demo_cli, &o, &d.e);
	if (rc == EXIT_OK) {
		rc = run_tour(&d) == 0 ? EXIT_OK : EXIT_ERROR;
		quota_engine_free(d.e);
	}
	fflush(stdout);
	if (keep)
		fprintf(stderr, "quotactl: demo: the state is kept in %s\n", dir);
	else
		remove_state_dir(dir);
	return rc;
}
