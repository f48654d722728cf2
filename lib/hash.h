/* Keyed hashing. SPDX-License-Identifier: MIT */
#ifndef QUOTA_LIB_HASH_H
#define QUOTA_LIB_HASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-1-3 of data under a 128-bit key. */
uint64_t quota__siphash(const uint64_t key[2], const void *data, size_t len);

/* Fill key with random bytes (getrandom, falling back to time and address). */
void quota__random_key(uint64_t key[2]);

/*
 * The table hash of an engine. On a CPU with the AES instructions it is a
 * chain of AES rounds under four 128-bit round keys drawn from the
 * engine's key (quota__aeshash); elsewhere it is SipHash-1-3 under that
 * key. Either way the value depends on a key that whoever picks the names
 * does not know, so names cannot be picked to collide
 * (tests/test-hashflood.c tries with names that collide without a key).
 */
typedef struct quota__hash_keys {
	uint64_t round[8]; /* four round keys, low word first */
	uint64_t sip[2];
	int aes; /* whether quota__aeshash is the hash */
} quota__hash_keys;

/* Set k from the 128-bit key: the AES-round hash when the CPU has it and
 * quota__hash_no_aes is clear, SipHash-1-3 otherwise. */
void quota__hash_keys_init(quota__hash_keys *k, const uint64_t key[2]);

/* Set by tests (before an engine is made) to get the SipHash engine on a
 * CPU with AES; never set by the library. */
extern int quota__hash_no_aes;

/* 1 when this CPU has the AES instructions the AES-round hash needs. */
int quota__hash_aes_available(void);

#if defined(__x86_64__)
#define QUOTA__AES_HASH 1
/* The AES-round hash of data: each 16-byte block (the last one ending at
 * the end of data, so overlapping the one before when the length is not a
 * multiple of 16; shorter data read as two overlapping halves) is xored
 * into the state, which starts as round key 0 xor the length, and goes
 * through two AES rounds under round keys 1 and 2; two more rounds under
 * keys 3 and 0 end it, and the result is the xor of the state's halves.
 * Only the CPU with AES may call it (k->aes). */
uint64_t quota__aeshash(const quota__hash_keys *k, const void *data, size_t len);
#endif

static inline uint64_t quota__hash_with(const quota__hash_keys *k, const void *data, size_t len)
{
#ifdef QUOTA__AES_HASH
	if (k->aes)
		return quota__aeshash(k, data, len);
#endif
	return quota__siphash(k->sip, data, len);
}

#endif
