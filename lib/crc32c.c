/*
 * CRC-32C: the reflected polynomial 0x82F63B78, initial and final value
 * all ones. A table of 256 entries built at first use, or the crc32
 * instruction of SSE4.2 where the processor has it.
 * SPDX-License-Identifier: MIT
 */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[256];
static int hardware;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void setup(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (POLY & (0u - (c & 1)));
		table[i] = c;
	}
#if defined(__x86_64__)
	__builtin_cpu_init();
	hardware = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t software(uint32_t c, const unsigned char *p, size_t n)
{
	while (n--)
		c = table[(c ^ *p++) & 0xFF] ^ (c >> 8);
	return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t sse42(uint32_t c, const unsigned char *p,
							  size_t n)
{
	uint64_t c64 = c;
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c64 = __builtin_ia32_crc32di(c64, w);
	}
	c = (uint32_t)c64;
	while (n--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}
#endif

uint32_t quota__crc32c(uint32_t crc, const void *p, size_t n)
{
	pthread_once(&once, setup);
	uint32_t c = ~crc;
#if defined(__x86_64__)
	if (hardware)
		return ~sse42(c, p, n);
#endif
	return ~software(c, p, n);
}
