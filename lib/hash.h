/* Keyed hashing. SPDX-License-Identifier: MIT */
#ifndef QUOTA_LIB_HASH_H
#define QUOTA_LIB_HASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-1-3 of data under a 128-bit key. */
uint64_t quota__siphash(const uint64_t key[2], const void *data, size_t len);

/* Fill key with random bytes (getrandom, falling back to time and address). */
void quota__random_key(uint64_t key[2]);

#endif
