/*
 * testkit.h - helpers the cmocka tests of the core share: deterministic
 * keys and signed records. Include after <cmocka.h> and "record.h".
 */
#ifndef TESTS_TESTKIT_H
#define TESTS_TESTKIT_H

#include <stdlib.h>
#include <string.h>

#include "key.h"
#include "record.h"

/* An Ed25519 key derived from 32 bytes of n: the same key every run. */
static inline struct cry_key *
seed_key(uint8_t n)
{
	uint8_t seed[32];
	struct cry_key *k = NULL;

	memset(seed, n, sizeof(seed));
	assert_int_equal(cry_key_from_seed(seed, &k), 0);
	return k;
}

/* Encodes and signs rec; returns a malloc'd buffer (free it), *len bytes. */
static inline uint8_t *
sign(const struct proto_record *rec, const struct cry_key *k, size_t *len)
{
	uint8_t *buf = malloc(PROTO_STATUS_LIST_MAX);
	struct mrx_diag d;

	assert_non_null(buf);
	mrx_diag_clear(&d);
	if (proto_record_sign(rec, k, buf, PROTO_STATUS_LIST_MAX, len, &d) != 0)
		fail_msg("sign: %s: %s", d.field, d.msg);
	return buf;
}

#endif
