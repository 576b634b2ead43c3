/*
 * testkit.h - helpers the cmocka tests of the core share: deterministic
 * keys, signed records, and a canonical digest of engine actions. Include
 * after <cmocka.h>.
 */
#ifndef TESTS_TESTKIT_H
#define TESTS_TESTKIT_H

#include <stdlib.h>
#include <string.h>

#include "engine.h"
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


/*
 * A canonical digest of what an engine did: every action's fields and the
 * bytes it points at, pointers left out, lists field by field (no padding
 * bytes), so that two runs can be compared byte for byte.
 */
struct testkit_sink {
	uint8_t *p;
	size_t n, cap;
};


static inline void
testkit_put(struct testkit_sink *s, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (s->n + n > s->cap) {
		s->cap = 2 * (s->n + n);
		s->p = realloc(s->p, s->cap);
		assert_non_null(s->p);
	}
	memcpy(s->p + s->n, p, n);
	s->n += n;
}

static inline void
testkit_put_list(struct testkit_sink *s, const struct eng_persist_list *l)
{
	const struct proto_status_list *sl = l->sl;
	size_t i;

	testkit_put(s, sl->c.iss, strlen(sl->c.iss));
	testkit_put(s, sl->c.sub, strlen(sl->c.sub));
	testkit_put(s, &sl->c.iat, sizeof(sl->c.iat));
	testkit_put(s, sl->c.cti, sizeof(sl->c.cti));
	testkit_put(s, &sl->seq, sizeof(sl->seq));
	testkit_put(s, sl->head, sizeof(sl->head));
	testkit_put(s, sl->bits, sl->size / 4);
	for (i = 0; i < sl->nreasons; i++) {
		testkit_put(s, &sl->reasons[i].idx, sizeof(sl->reasons[i].idx));
		testkit_put(s, &sl->reasons[i].reason, 1);
	}
	testkit_put(s, l->alloc, sl->size / 8);
	if (l->delta != NULL)
		testkit_put(s, l->delta, l->delta_len);
}

/* Every action's fields and the bytes it points at, pointers left out
 * (emit() zeroes each action, padding included). */
static inline void
testkit_digest(struct testkit_sink *s, const struct eng_actions *acts)
{
	struct eng_action c;
	size_t i;

	for (i = 0; i < acts->n; i++) {
		memcpy(&c, &acts->a[i], sizeof(c));
		switch (c.type) {
		case ENG_ACT_REPLY:
			if (c.u.reply.record != NULL)
				testkit_put(s, c.u.reply.record, c.u.reply.record_len);
			if (c.u.reply.decision != NULL)
				testkit_put(s, c.u.reply.decision,
				    sizeof(*c.u.reply.decision));
			c.u.reply.record = NULL;
			c.u.reply.decision = NULL;
			break;
		case ENG_ACT_PERSIST_RECORD:
			testkit_put(s, c.u.rec.bytes, c.u.rec.len);
			c.u.rec.bytes = NULL;
			break;
		case ENG_ACT_PERSIST_LIST:
			testkit_put_list(s, &c.u.list);
			memset(&c.u.list, 0, sizeof(c.u.list));
			break;
		case ENG_ACT_PUBLISH:
			testkit_put(s, c.u.pub.bytes, c.u.pub.len);
			c.u.pub.bytes = NULL;
			break;
		case ENG_ACT_PERSIST_EVIDENCE:
			if (c.u.evidence.held != NULL)
				testkit_put(s, c.u.evidence.held,
				    c.u.evidence.held_len);
			testkit_put(s, c.u.evidence.got, c.u.evidence.got_len);
			c.u.evidence.held = NULL;
			c.u.evidence.got = NULL;
			break;
		default:
			break;
		}
		testkit_put(s, &c, sizeof(c));
	}
}

#endif
