/*
 * The engine's keyed hash against a plain SipHash-1-3 written from the
 * paper (byte by byte), for every length up to 100 and at every
 * alignment: the optimised loads change no value.
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

int main(void)
{
	unsigned char buf[128];
	uint64_t key[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull}, x = 88172645463325252ull;
	for (size_t i = 0; i < sizeof buf; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 100; len++)
			CHECK(quota__siphash(key, buf + off, len) ==
			      reference(key, buf + off, len));
	return check_exit();
}
