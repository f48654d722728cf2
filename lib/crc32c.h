/*
 * CRC-32C (Castagnoli), the checksum of journal and snapshot records.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_CRC32C_H
#define QUOTA_LIB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue crc (0 to start) over n bytes at p. Uses the SSE4.2
 * instruction when the processor has it. */
uint32_t quota__crc32c(uint32_t crc, const void *p, size_t n);

#endif
