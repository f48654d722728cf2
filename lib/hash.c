/*
 * SipHash-1-3 (Aumasson and Bernstein's construction with one compression
 * and three finalization rounds), keyed per engine so that an attacker who
 * picks names cannot make the tables degrade into lists.
 * SPDX-License-Identifier: MIT
 */
#include "hash.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

static inline uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = rotl(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = rotl(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = rotl(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = rotl(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = rotl(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = rotl(v2, 32);                                                                 \
	} while (0)

static inline uint64_t load_le64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

uint64_t quota__siphash(const uint64_t key[2], const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ key[0];
	uint64_t v1 = UINT64_C(0x646f72616e646f6d) ^ key[1];
	uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ key[0];
	uint64_t v3 = UINT64_C(0x7465646279746573) ^ key[1];
	size_t whole = len & ~(size_t)7;

	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m = load_le64(p + i);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	uint64_t last = (uint64_t)len << 56;
	size_t tail = len & 7;
	if (tail && whole) /* one load ending at the end, shifted down */
		last |= load_le64(p + len - 8) >> (64 - 8 * tail);
	else
		for (size_t i = 0; i < tail; i++)
			last |= (uint64_t)p[whole + i] << (8 * i);
	v3 ^= last;
	SIPROUND;
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void quota__random_key(uint64_t key[2])
{
	if (getrandom(key, 2 * sizeof key[0], GRND_NONBLOCK) == (ssize_t)(2 * sizeof key[0]))
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t seed[2] = {(uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)key, (uint64_t)ts.tv_sec};
	key[0] = quota__siphash(seed, "k0", 2);
	key[1] = quota__siphash(seed, "k1", 2);
}

int quota__hash_no_aes;

void quota__hash_keys_init(quota__hash_keys *k, const uint64_t key[2])
{
	k->sip[0] = key[0];
	k->sip[1] = key[1];
	/* Round keys drawn from the key; the tag keeps them apart from any
	 * table hash under it. */
	for (int i = 0; i < 8; i++) {
		unsigned char tag[8] = {'a', 'e', 's', 'r', 'o', 'u', 'n', (unsigned char)('0' + i)};
		k->round[i] = quota__siphash(key, tag, sizeof tag);
	}
	k->aes = quota__hash_aes_available() && !quota__hash_no_aes;
}

int quota__hash_aes_available(void)
{
#ifdef QUOTA__AES_HASH
	return __builtin_cpu_supports("aes") != 0;
#else
	return 0;
#endif
}

#ifdef QUOTA__AES_HASH
#include <immintrin.h>

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t load32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

__attribute__((target("aes"))) uint64_t quota__aeshash(const quota__hash_keys *k,
							const void *data, size_t len)
{
	const unsigned char *p = data;
	const __m128i *rk = (const __m128i *)k->round;
	__m128i k0 = _mm_loadu_si128(rk), k1 = _mm_loadu_si128(rk + 1);
	__m128i k2 = _mm_loadu_si128(rk + 2), k3 = _mm_loadu_si128(rk + 3);
	__m128i s = _mm_xor_si128(k0, _mm_cvtsi64_si128((long long)len)), m;
	if (len > 16) {
		for (size_t i = 0; i + 16 < len; i += 16) {
			m = _mm_loadu_si128((const __m128i *)(p + i));
			s = _mm_aesenc_si128(_mm_aesenc_si128(_mm_xor_si128(s, m), k1), k2);
		}
		m = _mm_loadu_si128((const __m128i *)(p + len - 16));
	} else if (len >= 8) {
		m = _mm_set_epi64x((long long)load64(p + len - 8), (long long)load64(p));
	} else if (len >= 4) {
		m = _mm_cvtsi64_si128((long long)((uint64_t)load32(p + len - 4) << 32 | load32(p)));
	} else if (len) {
		m = _mm_cvtsi32_si128(p[0] | p[len / 2] << 8 | p[len - 1] << 16);
	} else {
		m = _mm_setzero_si128();
	}
	s = _mm_aesenc_si128(_mm_aesenc_si128(_mm_xor_si128(s, m), k1), k2);
	s = _mm_aesenc_si128(_mm_aesenc_si128(s, k3), k0);
	return (uint64_t)_mm_cvtsi128_si64(s) ^ (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(s, s));
}
#endif
