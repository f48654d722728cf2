/*
 * Hash flooding: 4096 consumer names that all collide under a fixed,
 * unkeyed string hash (31 * h + c, as Java's String.hashCode: "Aa" and
 * "BB" hash alike, so any string of such blocks does too). Put in a table
 * under that hash they make one chain of 4096; under the engine's keyed
 * hash they spread like any other names, and the engine serves them as
 * fast as random names (compared within this run, best of several
 * rounds, never against a fixed time). Both keyed hashes are tried: the
 * AES-round one (where the CPU has AES) and SipHash-1-3.
 * SPDX-License-Identifier: MIT
 */
#include <time.h>

#include "../lib/engine.h"
#include "check.h"

#define TYPE "compute.example.com/vcpus"
#define KEYS 4096 /* 2^12: twelve blocks of "Aa" or "BB" */
#define BLOCKS 12
#define ROUNDS 7
#define PASSES 40

static char colliding[KEYS][2 * BLOCKS + 1];
static char random_names[KEYS][2 * BLOCKS + 1];

static uint32_t java_hash(const char *s, size_t n)
{
	uint32_t h = 0;
	for (size_t i = 0; i < n; i++)
		h = 31 * h + (unsigned char)s[i];
	return h;
}

static void make_names(void)
{
	uint64_t x = 0x2545F4914F6CDD1Dull;
	for (int k = 0; k < KEYS; k++) {
		for (int b = 0; b < BLOCKS; b++)
			memcpy(colliding[k] + 2 * b, (k >> b) & 1 ? "BB" : "Aa", 2);
		for (int i = 0; i < 2 * BLOCKS; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			random_names[k][i] = (char)('a' + x % 26);
		}
	}
}

/* The longest chain of a table holding the bucket keys of names, hashed
 * with the engine's keyed hash, or with the unkeyed one. */
static size_t longest_chain(quota_engine *e, char (*names)[2 * BLOCKS + 1], int keyed)
{
	static quota__node nodes[KEYS];
	static char keys[KEYS][QUOTA__KEY_MAX + 1];
	quota__table t;
	CHECK(quota__table_init(&t, 16) == 0);
	for (int k = 0; k < KEYS; k++) {
		quota_ref c = {NULL, "Organization", NULL, names[k]};
		size_t len = quota__bucket_key(keys[k], &c, TYPE);
		nodes[k] = (quota__node){NULL, keyed ? quota__hash(e, keys[k], len)
						     : java_hash(keys[k], len),
					 keys[k], len};
		quota__table_insert(&t, &nodes[k]);
	}
	size_t longest = 0;
	for (size_t i = 0; i <= t.mask; i++) {
		size_t n = 0;
		for (quota__node *p = t.slots[i]; p; p = p->next)
			n++;
		if (n > longest)
			longest = n;
	}
	quota__table_destroy(&t);
	return longest;
}

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One pass of consume + give-back over every name. */
static double pass(quota_engine *e, char (*names)[2 * BLOCKS + 1])
{
	double t0 = seconds();
	for (int r = 0; r < PASSES; r++)
		for (int k = 0; k < KEYS; k++) {
			quota_ref c = {NULL, "Organization", NULL, names[k]};
			if (quota_consume(e, &c, TYPE, 1, NULL) != QUOTA_OK ||
			    quota_give_back(e, &c, TYPE, 1) != QUOTA_OK)
				return -1;
		}
	return seconds() - t0;
}

/* The hash of the engine under test: 1 the AES-round one, 0 SipHash. */
static int want_aes;

static quota_engine *engine(void)
{
	quota__hash_no_aes = !want_aes;
	quota_engine *e = test_engine(NULL, 0);
	quota__hash_no_aes = 0;
	CHECK_EQ_INT(e->hash.aes, want_aes);
	return e;
}

static void test_collisions_are_real(void)
{
	/* The construction: every name hashes alike without a key. */
	for (int k = 1; k < KEYS; k++)
		CHECK_EQ_INT(java_hash(colliding[k], 2 * BLOCKS), java_hash(colliding[0], 2 * BLOCKS));
	quota_engine *e = engine();
	/* Unkeyed, the whole set is one chain: the attack works on it. */
	CHECK_EQ_INT(longest_chain(e, colliding, 0), KEYS);
	/* Keyed, the same names spread like random ones. */
	size_t flood = longest_chain(e, colliding, 1), plain = longest_chain(e, random_names, 1);
	CHECK(flood <= 2 * plain + 4);
	CHECK(flood < 16);
	quota_engine_free(e);
}

static void test_speed_on_colliding_names(void)
{
	quota_engine *e = engine();
	CHECK_RC(test_register(e, TYPE, NULL, "Organization", 10), QUOTA_OK);
	double best_flood = 1e9, best_plain = 1e9;
	for (int r = 0; r < ROUNDS; r++) {
		double f = pass(e, colliding), p = pass(e, random_names);
		CHECK(f >= 0 && p >= 0);
		if (f < best_flood)
			best_flood = f;
		if (p < best_plain)
			best_plain = p;
	}
	printf("colliding names %.1f ns/pair, random names %.1f ns/pair (ratio %.2f)\n",
	       best_flood / (PASSES * KEYS) * 1e9, best_plain / (PASSES * KEYS) * 1e9,
	       best_flood / best_plain);
	CHECK(best_flood < 2 * best_plain);
	quota_engine_free(e);
}

int main(void)
{
	make_names();
	for (want_aes = quota__hash_aes_available(); want_aes >= 0; want_aes--) {
		printf("hash: %s\n", want_aes ? "AES rounds" : "SipHash-1-3");
		RUN(test_collisions_are_real);
		RUN(test_speed_on_colliding_names);
	}
	return check_exit();
}
