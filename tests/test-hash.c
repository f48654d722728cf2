/*
 * The engine's keyed hashes against plain references written byte by byte,
 * for every length up to 100 and at every alignment: SipHash-1-3 from the
 * paper, and the AES-round hash from its description in lib/hash.h with
 * AES rounds computed in software (the S-box from the field inverse and
 * the affine map). Also: which hash an engine gets, and that both depend
 * on every input bit and on the key.
 * SPDX-License-Identifier: MIT
 */
#include "../lib/hash.h"
#include "check.h"

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void round_(uint64_t v[4])
{
	v[0] += v[1], v[1] = rotl(v[1], 13), v[1] ^= v[0], v[0] = rotl(v[0], 32);
	v[2] += v[3], v[3] = rotl(v[3], 16), v[3] ^= v[2];
	v[0] += v[3], v[3] = rotl(v[3], 21), v[3] ^= v[0];
	v[2] += v[1], v[1] = rotl(v[1], 17), v[1] ^= v[2], v[2] = rotl(v[2], 32);
}

static uint64_t reference(const uint64_t k[2], const unsigned char *p, size_t len)
{
	uint64_t v[4] = {0x736f6d6570736575ull ^ k[0], 0x646f72616e646f6dull ^ k[1],
			 0x6c7967656e657261ull ^ k[0], 0x7465646279746573ull ^ k[1]};
	uint64_t m = 0;
	for (size_t i = 0; i < len; i++) {
		m |= (uint64_t)p[i] << (8 * (i % 8));
		if (i % 8 == 7) {
			v[3] ^= m, round_(v), v[0] ^= m;
			m = 0;
		}
	}
	m |= (uint64_t)len << 56;
	v[3] ^= m, round_(v), v[0] ^= m;
	v[2] ^= 0xff;
	round_(v), round_(v), round_(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ---- AES rounds in software ------------------------------------------ */

static unsigned char gf_mul(unsigned char a, unsigned char b)
{
	unsigned char r = 0;
	for (; b; b >>= 1) {
		if (b & 1)
			r ^= a;
		a = (unsigned char)(a << 1 ^ (a & 0x80 ? 0x1b : 0));
	}
	return r;
}

static unsigned char sbox[256];

static void sbox_init(void)
{
	for (int a = 0; a < 256; a++) {
		unsigned char inv = 0; /* a^254, the inverse (0 for 0) */
		if (a) {
			inv = 1;
			for (int i = 0; i < 254; i++)
				inv = gf_mul(inv, (unsigned char)a);
		}
		unsigned char b = inv;
		for (int r = 1; r <= 4; r++)
			b ^= (unsigned char)(inv << r | inv >> (8 - r));
		sbox[a] = b ^ 0x63;
	}
}

/* One AES encryption round (the AESENC instruction): state byte i is row
 * i % 4 of column i / 4. */
static void aes_round(unsigned char s[16], const unsigned char k[16])
{
	unsigned char t[16];
	for (int c = 0; c < 4; c++)
		for (int r = 0; r < 4; r++) /* ShiftRows, SubBytes */
			t[r + 4 * c] = sbox[s[r + 4 * ((c + r) % 4)]];
	for (int c = 0; c < 4; c++) { /* MixColumns, AddRoundKey */
		const unsigned char *a = t + 4 * c;
		for (int r = 0; r < 4; r++)
			s[r + 4 * c] = gf_mul(2, a[r]) ^ gf_mul(3, a[(r + 1) % 4]) ^ a[(r + 2) % 4] ^
				       a[(r + 3) % 4] ^ k[r + 4 * c];
	}
}

static void put_le(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void absorb(unsigned char s[16], const unsigned char m[16], unsigned char rk[4][16])
{
	for (int i = 0; i < 16; i++)
		s[i] ^= m[i];
	aes_round(s, rk[1]);
	aes_round(s, rk[2]);
}

static uint64_t aes_reference(const quota__hash_keys *k, const unsigned char *p, size_t len)
{
	unsigned char rk[4][16], s[16], m[16] = {0};
	for (int i = 0; i < 4; i++) {
		put_le(rk[i], k->round[2 * i]);
		put_le(rk[i] + 8, k->round[2 * i + 1]);
	}
	memcpy(s, rk[0], 16);
	for (int i = 0; i < 8; i++)
		s[i] ^= (unsigned char)((uint64_t)len >> (8 * i));
	if (len > 16) {
		size_t i = 0;
		for (; i + 16 < len; i += 16)
			absorb(s, p + i, rk);
		memcpy(m, p + len - 16, 16);
	} else if (len >= 8) {
		memcpy(m, p, 8);
		memcpy(m + 8, p + len - 8, 8);
	} else if (len >= 4) {
		memcpy(m, p, 4);
		memcpy(m + 4, p + len - 4, 4);
	} else if (len) {
		m[0] = p[0], m[1] = p[len / 2], m[2] = p[len - 1];
	}
	absorb(s, m, rk);
	aes_round(s, rk[3]);
	aes_round(s, rk[0]);
	return get_le(s) ^ get_le(s + 8);
}

static void test_sbox(void)
{
	/* FIPS-197's table at a few places. */
	CHECK_EQ_INT(sbox[0x00], 0x63);
	CHECK_EQ_INT(sbox[0x01], 0x7c);
	CHECK_EQ_INT(sbox[0x53], 0xed);
	CHECK_EQ_INT(sbox[0xff], 0x16);
}

/* ---- the tests --------------------------------------------------------- */

static unsigned char buf[128];
static const uint64_t key[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

static void test_siphash(void)
{
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 100; len++)
			CHECK(quota__siphash(key, buf + off, len) ==
			      reference(key, buf + off, len));
}

/* Asked of the CPU here rather than of quota__hash_aes_available(), so
 * that test_choice checks the library's answer. */
static int cpu_has_aes(void)
{
#ifdef QUOTA__AES_HASH
	return !!__builtin_cpu_supports("aes");
#else
	return 0;
#endif
}

static void test_choice(void)
{
	quota__hash_keys k;
	quota__hash_keys_init(&k, key);
	CHECK_EQ_INT(k.aes, cpu_has_aes());
	quota__hash_no_aes = 1;
	quota__hash_keys_init(&k, key);
	quota__hash_no_aes = 0;
	CHECK_EQ_INT(k.aes, 0);
	for (size_t len = 0; len <= 100; len++)
		CHECK(quota__hash_with(&k, buf, len) == quota__siphash(key, buf, len));
	/* The round keys come from the key, whichever hash is used. */
	quota__hash_keys k2;
	quota__hash_keys_init(&k2, key);
	CHECK(memcmp(k.round, k2.round, sizeof k.round) == 0);
	uint64_t other[2] = {key[0] ^ 1, key[1]};
	quota__hash_keys_init(&k2, other);
	CHECK(memcmp(k.round, k2.round, sizeof k.round) != 0);
}

static void test_aes_hash(void)
{
	if (!cpu_has_aes()) {
		printf("no AES instructions here: the AES-round hash is not used\n");
		return;
	}
	quota__hash_keys k;
	quota__hash_keys_init(&k, key);
	CHECK(k.aes);
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 100; len++) {
			uint64_t h = quota__hash_with(&k, buf + off, len);
			CHECK(h == aes_reference(&k, buf + off, len));
			CHECK(h == quota__aeshash(&k, buf + off, len));
		}
}

/* Both hashes: every single-bit change of a 52-byte input (a typical
 * bucket key) changes about half the output bits, and so does the key. */
static void test_avalanche(void)
{
	for (int aes = 0; aes <= cpu_has_aes(); aes++) {
		quota__hash_no_aes = !aes;
		quota__hash_keys k, k2;
		quota__hash_keys_init(&k, key);
		uint64_t other[2] = {key[0], key[1] ^ (1ull << 40)};
		quota__hash_keys_init(&k2, other);
		quota__hash_no_aes = 0;
		CHECK_EQ_INT(k.aes, aes);
		unsigned char m[52];
		memcpy(m, buf, sizeof m);
		uint64_t h = quota__hash_with(&k, m, sizeof m);
		long flipped = 0, flips = 0;
		for (size_t i = 0; i < 8 * sizeof m; i++) {
			m[i / 8] ^= (unsigned char)(1u << (i % 8));
			uint64_t d = h ^ quota__hash_with(&k, m, sizeof m);
			m[i / 8] ^= (unsigned char)(1u << (i % 8));
			CHECK(d != 0);
			flipped += __builtin_popcountll(d);
			flips++;
		}
		/* 416 flips of 64 bits: the mean is 32 give or take 0.2. */
		CHECK(flipped > 30 * flips && flipped < 34 * flips);
		/* The length counts: a prefix is another input. */
		CHECK(quota__hash_with(&k, m, 51) != h);
		uint64_t hk = quota__hash_with(&k2, m, sizeof m);
		CHECK(__builtin_popcountll(h ^ hk) > 8);
	}
}

int main(void)
{
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < sizeof buf; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
	sbox_init();
	RUN(test_sbox);
	RUN(test_siphash);
	RUN(test_choice);
	RUN(test_aes_hash);
	RUN(test_avalanche);
	return check_exit();
}
