/*
 * test_status.c - the status list of protocol/status.c: 2-bit entries in
 * IETF order, the sorted reasons kept in step with them, batches applied all
 * or nothing, the zlib form and its bounds (size limits, a zlib bomb,
 * corrupt, truncated and trailing streams).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "record.h"

#define BYTES_MAX (PROTO_STATUS_ENTRIES_MAX / 4)

/* A deterministic xorshift stream: tests replay the same way each run. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
assert_checked(const struct proto_status_list *sl)
{
	struct mrx_diag d;

	mrx_diag_clear(&d);
	assert_int_equal(proto_status_list_check(sl, &d), 0);
}

static void
assert_diag(const struct mrx_diag *d, int code, const char *field)
{
	assert_int_equal(d->code, code);
	assert_string_equal(d->field, field);
}

static void
test_init_sizes(void **state)
{
	struct proto_status_list sl;
	static const uint32_t bad[] = { 0, 1, 2, 3, 5, 6, 130,
	    PROTO_STATUS_ENTRIES_MAX + 4, UINT32_MAX };
	size_t i;

	(void)state;
	memset(&sl, 0, sizeof(sl));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(proto_status_list_init(&sl, bad[i]),
		    MRX_ERANGE);
	assert_null(sl.bits);
	assert_int_equal(proto_status_list_init(&sl, 4), 0);
	assert_int_equal(sl.size, 4);
	assert_checked(&sl);
	proto_status_list_fini(&sl);
	assert_int_equal(proto_status_list_init(&sl,
	    PROTO_STATUS_ENTRIES_MAX), 0);
	assert_int_equal(sl.size, PROTO_STATUS_ENTRIES_MAX);
	assert_checked(&sl);
	proto_status_list_fini(&sl);
	assert_null(sl.bits);
	proto_status_list_fini(&sl);	/* twice is fine */
	proto_status_list_fini(NULL);
}

/* init sets only the list: claims, seq and head set before it stay. */
static void
test_init_keeps_claims(void **state)
{
	struct proto_status_list sl;

	(void)state;
	memset(&sl, 0, sizeof(sl));
	strcpy(sl.c.iss, "jp.meti");
	sl.seq = 7;
	sl.has_head = true;
	sl.head[0] = 0xaa;
	assert_int_equal(proto_status_list_init(&sl, 64), 0);
	assert_string_equal(sl.c.iss, "jp.meti");
	assert_int_equal(sl.seq, 7);
	assert_true(sl.has_head);
	assert_int_equal(sl.head[0], 0xaa);
	proto_status_list_fini(&sl);
}

static void
test_set_get(void **state)
{
	struct proto_status_list sl;
	enum proto_status st;
	enum proto_reason why;

	(void)state;
	memset(&sl, 0, sizeof(sl));
	assert_int_equal(proto_status_list_init(&sl, 16), 0);
	assert_int_equal(proto_status_get(&sl, 3, &st, &why), 0);
	assert_int_equal(st, PROTO_STATUS_VALID);
	assert_int_equal(why, PROTO_REASON_NONE);

	assert_int_equal(proto_status_set(&sl, 3, PROTO_STATUS_REVOKED,
	    PROTO_REASON_ELIGIBILITY_REVOKED), 0);
	assert_int_equal(proto_status_get(&sl, 3, &st, &why), 0);
	assert_int_equal(st, PROTO_STATUS_REVOKED);
	assert_int_equal(why, PROTO_REASON_ELIGIBILITY_REVOKED);
	assert_int_equal(sl.nreasons, 1);
	assert_checked(&sl);

	/* Changing a non-valid entry replaces its reason. */
	assert_int_equal(proto_status_set(&sl, 3, PROTO_STATUS_SUSPENDED,
	    PROTO_REASON_SUSPENDED_PENDING_REVIEW), 0);
	assert_int_equal(proto_status_get(&sl, 3, &st, &why), 0);
	assert_int_equal(st, PROTO_STATUS_SUSPENDED);
	assert_int_equal(why, PROTO_REASON_SUSPENDED_PENDING_REVIEW);
	assert_int_equal(sl.nreasons, 1);

	/* Back to valid: the reason goes, whatever reason is given. */
	assert_int_equal(proto_status_set(&sl, 3, PROTO_STATUS_VALID,
	    PROTO_REASON_REINSTATED), 0);
	assert_int_equal(proto_status_get(&sl, 3, &st, &why), 0);
	assert_int_equal(st, PROTO_STATUS_VALID);
	assert_int_equal(why, PROTO_REASON_NONE);
	assert_int_equal(sl.nreasons, 0);
	assert_checked(&sl);

	/* A non-valid entry may carry NONE ("unspecified"). */
	assert_int_equal(proto_status_set(&sl, 0, PROTO_STATUS_REVOKED,
	    PROTO_REASON_NONE), 0);
	assert_int_equal(sl.nreasons, 1);
	assert_checked(&sl);

	/* Errors change nothing. */
	assert_int_equal(proto_status_set(&sl, 16, PROTO_STATUS_REVOKED,
	    PROTO_REASON_EXPIRED), MRX_ERANGE);
	assert_int_equal(proto_status_set(&sl, 1, (enum proto_status)3,
	    PROTO_REASON_EXPIRED), MRX_EINVAL);
	assert_int_equal(proto_status_set(&sl, 1, PROTO_STATUS_REVOKED,
	    PROTO_REASON_COUNT), MRX_EINVAL);
	assert_int_equal(proto_status_get(&sl, 16, &st, &why), MRX_ERANGE);
	assert_int_equal(proto_status_get(&sl, 1, &st, &why), 0);
	assert_int_equal(st, PROTO_STATUS_VALID);
	assert_int_equal(sl.nreasons, 1);
	proto_status_list_fini(&sl);
}

/* Entry i is bits (i % 4) * 2 .. +1 of byte i / 4. */
static void
test_bit_order(void **state)
{
	struct proto_status_list sl;

	(void)state;
	memset(&sl, 0, sizeof(sl));
	assert_int_equal(proto_status_list_init(&sl, 8), 0);
	assert_int_equal(proto_status_set(&sl, 0, PROTO_STATUS_REVOKED,
	    PROTO_REASON_EXPIRED), 0);
	assert_int_equal(sl.bits[0], 0x01);
	assert_int_equal(proto_status_set(&sl, 1, PROTO_STATUS_SUSPENDED,
	    PROTO_REASON_EXPIRED), 0);
	assert_int_equal(sl.bits[0], 0x09);
	assert_int_equal(proto_status_set(&sl, 3, PROTO_STATUS_REVOKED,
	    PROTO_REASON_EXPIRED), 0);
	assert_int_equal(sl.bits[0], 0x49);
	assert_int_equal(proto_status_set(&sl, 6, PROTO_STATUS_SUSPENDED,
	    PROTO_REASON_EXPIRED), 0);
	assert_int_equal(sl.bits[1], 0x20);
	assert_int_equal(proto_status_set(&sl, 1, PROTO_STATUS_VALID,
	    PROTO_REASON_NONE), 0);
	assert_int_equal(sl.bits[0], 0x41);
	assert_checked(&sl);
	proto_status_list_fini(&sl);
}

/*
 * Random sets against a plain model: reasons stay sorted and in step
 * with the bits.
 */
static void
test_random_sets(void **state)
{
	enum { N = 4096, OPS = 20000 };
	struct proto_status_list sl;
	uint8_t st_model[N] = { 0 }, why_model[N] = { 0 };
	enum proto_status st;
	enum proto_reason why;
	uint64_t s = 0x9e3779b97f4a7c15u;
	uint32_t i, idx;
	unsigned v, r;
	size_t n;

	(void)state;
	memset(&sl, 0, sizeof(sl));
	assert_int_equal(proto_status_list_init(&sl, N), 0);
	for (i = 0; i < OPS; i++) {
		idx = (uint32_t)(rnd(&s) % N);
		v = (unsigned)(rnd(&s) % 3);
		r = (unsigned)(rnd(&s) % PROTO_REASON_COUNT);
		assert_int_equal(proto_status_set(&sl, idx,
		    (enum proto_status)v, (enum proto_reason)r), 0);
		st_model[idx] = (uint8_t)v;
		why_model[idx] = v != 0 ? (uint8_t)r : 0;
	}
	assert_checked(&sl);
	for (i = 0, n = 0; i < N; i++) {
		assert_int_equal(proto_status_get(&sl, i, &st, &why), 0);
		assert_int_equal(st, st_model[i]);
		assert_int_equal(why, why_model[i]);
		n += st_model[i] != 0;
	}
	assert_int_equal(sl.nreasons, n);
	for (i = 1; i < sl.nreasons; i++)
		assert_true(sl.reasons[i - 1].idx < sl.reasons[i].idx);
	proto_status_list_fini(&sl);
}

static void
copy_list(const struct proto_status_list *a, struct proto_status_list *b)
{
	memset(b, 0, sizeof(*b));
	assert_int_equal(proto_status_list_init(b, a->size), 0);
	memcpy(b->bits, a->bits, a->size / 4);
	b->reasons = malloc((a->nreasons + 1) * sizeof(*b->reasons));
	assert_non_null(b->reasons);
	memcpy(b->reasons, a->reasons, a->nreasons * sizeof(*a->reasons));
	b->nreasons = a->nreasons;
	b->reasons_cap = a->nreasons + 1;
}

static void
assert_same_list(const struct proto_status_list *a,
    const struct proto_status_list *b)
{
	size_t i;

	assert_int_equal(a->size, b->size);
	assert_memory_equal(a->bits, b->bits, a->size / 4);
	assert_int_equal(a->nreasons, b->nreasons);
	for (i = 0; i < a->nreasons; i++) {
		assert_int_equal(a->reasons[i].idx, b->reasons[i].idx);
		assert_int_equal(a->reasons[i].reason, b->reasons[i].reason);
	}
}

/* apply() equals the same changes made one by one with set(). */
static void
test_apply_matches_set(void **state)
{
	enum { N = 8192, M = 3000 };
	struct proto_status_list a, b;
	struct proto_status_change *ch;
	uint64_t s = 42;
	uint8_t used[N] = { 0 };
	size_t i, n = 0;

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(proto_status_list_init(&a, N), 0);
	for (i = 0; i < 500; i++)
		assert_int_equal(proto_status_set(&a, (uint32_t)(rnd(&s) % N),
		    PROTO_STATUS_REVOKED, PROTO_REASON_ADMIN_SEPARATION), 0);
	copy_list(&a, &b);
	ch = calloc(M, sizeof(*ch));
	assert_non_null(ch);
	while (n < M) {
		uint32_t idx = (uint32_t)(rnd(&s) % N);

		if (used[idx])
			continue;
		used[idx] = 1;
		ch[n].idx = idx;
		ch[n].status = (uint8_t)(rnd(&s) % 3);
		ch[n].reason = (uint8_t)(rnd(&s) % PROTO_REASON_COUNT);
		n++;
	}
	assert_int_equal(proto_status_apply(&a, ch, M), 0);
	for (i = 0; i < M; i++)
		assert_int_equal(proto_status_set(&b, ch[i].idx,
		    (enum proto_status)ch[i].status,
		    (enum proto_reason)ch[i].reason), 0);
	assert_checked(&a);
	assert_same_list(&a, &b);
	assert_int_equal(proto_status_apply(&a, ch, 0), 0);
	free(ch);
	proto_status_list_fini(&a);
	proto_status_list_fini(&b);
}

/* A batch with one bad change changes nothing. */
static void
test_apply_all_or_nothing(void **state)
{
	struct proto_status_list a, before;
	struct proto_status_change ch[3] = {
		{ 1, PROTO_STATUS_REVOKED, PROTO_REASON_EXPIRED },
		{ 5, PROTO_STATUS_SUSPENDED, PROTO_REASON_REASSESSMENT_PENDING },
		{ 9, PROTO_STATUS_REVOKED, PROTO_REASON_EXPIRED },
	};

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(proto_status_list_init(&a, 64), 0);
	assert_int_equal(proto_status_set(&a, 2, PROTO_STATUS_REVOKED,
	    PROTO_REASON_SUPERSEDED), 0);
	copy_list(&a, &before);

	ch[2].idx = 64;
	assert_int_equal(proto_status_apply(&a, ch, 3), MRX_ERANGE);
	assert_same_list(&a, &before);
	ch[2].idx = 9;
	ch[2].status = 3;
	assert_int_equal(proto_status_apply(&a, ch, 3), MRX_EINVAL);
	assert_same_list(&a, &before);
	ch[2].status = PROTO_STATUS_REVOKED;
	ch[2].reason = PROTO_REASON_COUNT;
	assert_int_equal(proto_status_apply(&a, ch, 3), MRX_EINVAL);
	assert_same_list(&a, &before);
	ch[2].reason = PROTO_REASON_EXPIRED;
	ch[2].idx = 1;
	assert_int_equal(proto_status_apply(&a, ch, 3), MRX_EDUP);
	assert_same_list(&a, &before);
	ch[2].idx = 2;	/* revoked -> valid drops its reason */
	ch[2].status = PROTO_STATUS_VALID;
	assert_int_equal(proto_status_apply(&a, ch, 3), 0);
	assert_checked(&a);
	assert_int_equal(a.nreasons, 2);
	assert_int_equal(a.reasons[0].idx, 1);
	assert_int_equal(a.reasons[1].idx, 5);
	proto_status_list_fini(&a);
	proto_status_list_fini(&before);
}

/*
 * The largest list, with a million revocations at random indices in one
 * batch: bounded by O(n log n), so this is quick.
 */
static void
test_apply_large(void **state)
{
	enum { M = 1 << 20 };
	struct proto_status_list sl;
	struct proto_status_change *ch;
	uint64_t s = 7;
	uint8_t *used;
	size_t n = 0;

	(void)state;
	memset(&sl, 0, sizeof(sl));
	assert_int_equal(proto_status_list_init(&sl,
	    PROTO_STATUS_ENTRIES_MAX), 0);
	used = calloc(PROTO_STATUS_ENTRIES_MAX, 1);
	ch = calloc(M, sizeof(*ch));
	assert_non_null(used);
	assert_non_null(ch);
	while (n < M) {
		uint32_t idx = (uint32_t)(rnd(&s) % PROTO_STATUS_ENTRIES_MAX);

		if (used[idx])
			continue;
		used[idx] = 1;
		ch[n].idx = idx;
		ch[n].status = PROTO_STATUS_REVOKED;
		ch[n].reason = PROTO_REASON_ELIGIBILITY_REVOKED;
		n++;
	}
	assert_int_equal(proto_status_apply(&sl, ch, M), 0);
	assert_int_equal(sl.nreasons, M);
	assert_checked(&sl);
	free(ch);
	free(used);
	proto_status_list_fini(&sl);
}

/* Broken lists are named by check(). */
static void
test_check_names_breakage(void **state)
{
	struct proto_status_list sl;
	struct proto_reason_entry saved;
	struct mrx_diag d;

	(void)state;
	memset(&sl, 0, sizeof(sl));
	assert_int_equal(proto_status_list_init(&sl, 32), 0);
	assert_int_equal(proto_status_set(&sl, 4, PROTO_STATUS_REVOKED,
	    PROTO_REASON_EXPIRED), 0);
	assert_int_equal(proto_status_set(&sl, 9, PROTO_STATUS_REVOKED,
	    PROTO_REASON_EXPIRED), 0);

	sl.bits[0] = 0x03;	/* entry 0 is the reserved 3 */
	mrx_diag_clear(&d);
	assert_int_equal(proto_status_list_check(&sl, &d), MRX_ERANGE);
	assert_diag(&d, MRX_ERANGE, "payload.status_list");

	sl.bits[0] = 0x04;	/* entry 1 revoked, no reason */
	mrx_diag_clear(&d);
	assert_int_equal(proto_status_list_check(&sl, &d), MRX_ERANGE);
	assert_diag(&d, MRX_ERANGE, "payload.reasons");
	assert_non_null(strstr(d.msg, "entry 1 "));
	sl.bits[0] = 0;

	sl.bits[1] = 0;		/* entry 4 valid, but has a reason */
	mrx_diag_clear(&d);
	assert_int_equal(proto_status_list_check(&sl, &d), MRX_ERANGE);
	assert_diag(&d, MRX_ERANGE, "payload.reasons");
	assert_non_null(strstr(d.msg, "entry 4 is valid"));
	sl.bits[1] = 0x01;

	saved = sl.reasons[0];	/* unsorted */
	sl.reasons[0] = sl.reasons[1];
	sl.reasons[1] = saved;
	mrx_diag_clear(&d);
	assert_int_equal(proto_status_list_check(&sl, &d), MRX_ERANGE);
	assert_diag(&d, MRX_ERANGE, "payload.reasons");
	sl.reasons[1] = sl.reasons[0];
	sl.reasons[0] = saved;
	assert_checked(&sl);

	sl.reasons[1].reason = PROTO_REASON_COUNT;
	mrx_diag_clear(&d);
	assert_int_equal(proto_status_list_check(&sl, &d), MRX_ERANGE);
	assert_diag(&d, MRX_ERANGE, "payload.reasons");
	sl.reasons[1].reason = PROTO_REASON_EXPIRED;

	sl.size = 30;
	mrx_diag_clear(&d);
	assert_int_equal(proto_status_list_check(&sl, &d), MRX_ERANGE);
	assert_diag(&d, MRX_ERANGE, "payload.status_list");
	sl.size = 32;
	assert_checked(&sl);
	proto_status_list_fini(&sl);
}

static void
test_pack_roundtrip(void **state)
{
	static const uint32_t sizes[] = { 4, 8, 1000, 131072,
	    PROTO_STATUS_ENTRIES_MAX };
	struct proto_status_list a, b;
	struct mrx_diag d;
	uint64_t s = 99;
	struct proto_status_change *ch;
	uint8_t *z, *z2;
	size_t zlen, zlen2, i, k, nch;
	uLongf n;

	(void)state;
	ch = calloc(PROTO_STATUS_ENTRIES_MAX / 50, sizeof(*ch));
	assert_non_null(ch);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		assert_int_equal(proto_status_list_init(&a, sizes[k]), 0);
		/* About 1% not valid, spread at random, set in one batch. */
		nch = 0;
		for (i = 0; i < sizes[k]; i++)
			if (rnd(&s) % 100 == 0 &&
			    nch < PROTO_STATUS_ENTRIES_MAX / 50)
				ch[nch++] = (struct proto_status_change){
				    (uint32_t)i, (uint8_t)(1 + rnd(&s) % 2),
				    PROTO_REASON_EXPIRED };
		assert_int_equal(proto_status_apply(&a, ch, nch), 0);
		assert_int_equal(proto_status_list_pack(&a, &z, &zlen), 0);
		/* It is plain zlib: zlib itself reads it back. */
		n = sizes[k] / 4;
		z2 = malloc(n);
		assert_non_null(z2);
		assert_int_equal(uncompress(z2, &n, z, zlen), Z_OK);
		assert_int_equal(n, sizes[k] / 4);
		assert_memory_equal(z2, a.bits, n);
		free(z2);
		/* Deterministic: the same list packs to the same bytes. */
		assert_int_equal(proto_status_list_pack(&a, &z2, &zlen2), 0);
		assert_int_equal(zlen, zlen2);
		assert_memory_equal(z, z2, zlen);
		free(z2);
		mrx_diag_clear(&d);
		assert_int_equal(proto_status_list_unpack(&b, z, zlen, &d), 0);
		assert_int_equal(b.size, sizes[k]);
		assert_memory_equal(a.bits, b.bits, sizes[k] / 4);
		free(z);
		proto_status_list_fini(&a);
		proto_status_list_fini(&b);
	}
	free(ch);
}

/* Compresses n bytes of `fill` with zlib. */
static uint8_t *
deflate_fill(size_t n, uint8_t fill, size_t *zlen)
{
	uint8_t *src = malloc(n), *z;
	uLongf zn = compressBound(n);

	assert_non_null(src);
	memset(src, fill, n);
	z = malloc(zn);
	assert_non_null(z);
	assert_int_equal(compress2(z, &zn, src, n, 9), Z_OK);
	free(src);
	*zlen = zn;
	return z;
}

static void
assert_unpack_fails(const uint8_t *z, size_t zlen, int code)
{
	struct proto_status_list sl;
	struct mrx_diag d;

	memset(&sl, 0, sizeof(sl));
	assert_int_equal(proto_status_list_init(&sl, 8), 0);
	sl.bits[0] = 0x11;
	mrx_diag_clear(&d);
	assert_int_equal(proto_status_list_unpack(&sl, z, zlen, &d), code);
	assert_diag(&d, code, "payload.status_list.lst");
	assert_true(d.offset <= zlen);
	/* Unchanged on error. */
	assert_int_equal(sl.size, 8);
	assert_int_equal(sl.bits[0], 0x11);
	proto_status_list_fini(&sl);
}

static void
test_unpack_size_limits(void **state)
{
	struct proto_status_list sl;
	struct mrx_diag d;
	uint8_t *z;
	size_t zlen;

	(void)state;
	/* Exactly the largest list: accepted. */
	z = deflate_fill(BYTES_MAX, 0, &zlen);
	memset(&sl, 0, sizeof(sl));
	mrx_diag_clear(&d);
	assert_int_equal(proto_status_list_unpack(&sl, z, zlen, &d), 0);
	assert_int_equal(sl.size, PROTO_STATUS_ENTRIES_MAX);
	proto_status_list_fini(&sl);
	free(z);
	/* One byte (four entries) more: rejected, not truncated. */
	z = deflate_fill(BYTES_MAX + 1, 0, &zlen);
	assert_unpack_fails(z, zlen, MRX_ETOOBIG);
	free(z);
	/* The smallest list: one byte, four entries. */
	z = deflate_fill(1, 0x01, &zlen);
	memset(&sl, 0, sizeof(sl));
	assert_int_equal(proto_status_list_unpack(&sl, z, zlen, NULL), 0);
	assert_int_equal(sl.size, 4);
	assert_int_equal(sl.bits[0], 0x01);
	proto_status_list_fini(&sl);
	free(z);
	/* Nothing at all: no entries. */
	z = deflate_fill(0, 0, &zlen);
	assert_unpack_fails(z, zlen, MRX_ERANGE);
	free(z);
}

/* 256 MiB of zeros in ~250 KiB: stopped after the first 4 MiB. */
static void
test_unpack_bomb(void **state)
{
	enum { BOMB = 256 << 20 };
	z_stream zs;
	uint8_t *zero, *z;
	size_t zcap = 1 << 20, left = BOMB, chunk = 1 << 20;

	(void)state;
	zero = calloc(chunk, 1);
	z = malloc(zcap);
	assert_non_null(zero);
	assert_non_null(z);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit(&zs, 9), Z_OK);
	zs.next_out = z;
	zs.avail_out = (uInt)zcap;
	while (left > 0) {
		zs.next_in = zero;
		zs.avail_in = (uInt)chunk;
		left -= chunk;
		assert_int_not_equal(deflate(&zs, left > 0 ? Z_NO_FLUSH :
		    Z_FINISH), Z_STREAM_ERROR);
	}
	assert_int_equal(zs.avail_in, 0);
	assert_true(zs.total_out < zcap);
	assert_unpack_fails(z, zs.total_out, MRX_ETOOBIG);
	deflateEnd(&zs);
	free(z);
	free(zero);
}

static void
test_unpack_corrupt(void **state)
{
	struct proto_status_list a;
	uint8_t *z, *bad, dict_stream[64];
	size_t zlen, i;
	z_stream zs;
	int flips = 0;

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(proto_status_list_init(&a, 4096), 0);
	for (i = 0; i < 4096; i += 37)
		assert_int_equal(proto_status_set(&a, (uint32_t)i,
		    PROTO_STATUS_REVOKED, PROTO_REASON_EXPIRED), 0);
	assert_int_equal(proto_status_list_pack(&a, &z, &zlen), 0);
	bad = malloc(zlen + 8);
	assert_non_null(bad);

	/* Header check fails. */
	memcpy(bad, z, zlen);
	bad[1] ^= 0x01;
	assert_unpack_fails(bad, zlen, MRX_EMALFORMED);
	/* Adler-32 at the end is wrong. */
	memcpy(bad, z, zlen);
	bad[zlen - 1] ^= 0x5a;
	assert_unpack_fails(bad, zlen, MRX_EMALFORMED);
	/* Truncated at every length. */
	for (i = 0; i < zlen; i++)
		assert_unpack_fails(z, i, MRX_EMALFORMED);
	/* Bytes after the end of the stream. */
	memcpy(bad, z, zlen);
	bad[zlen] = 0;
	assert_unpack_fails(bad, zlen + 1, MRX_ETRAILING);
	/* Raw deflate without the zlib wrapper. */
	assert_unpack_fails(z + 2, zlen - 6, MRX_EMALFORMED);
	/* Every single-byte corruption is rejected or, if it still
	 * inflates, inflates to a bounded list: never a crash. */
	for (i = 0; i < zlen; i++) {
		struct proto_status_list b;

		memcpy(bad, z, zlen);
		bad[i] ^= 0xff;
		memset(&b, 0, sizeof(b));
		if (proto_status_list_unpack(&b, bad, zlen, NULL) != 0)
			flips++;
		else
			assert_true(b.size <= PROTO_STATUS_ENTRIES_MAX);
		proto_status_list_fini(&b);
	}
	assert_true(flips > 0);

	/* A stream that needs a preset dictionary. */
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit(&zs, 6), Z_OK);
	assert_int_equal(deflateSetDictionary(&zs, (const Bytef *)"mrx", 3),
	    Z_OK);
	zs.next_in = a.bits;
	zs.avail_in = 4;
	zs.next_out = dict_stream;
	zs.avail_out = sizeof(dict_stream);
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	assert_unpack_fails(dict_stream, zs.total_out, MRX_EMALFORMED);
	deflateEnd(&zs);

	free(bad);
	free(z);
	proto_status_list_fini(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_sizes),
		cmocka_unit_test(test_init_keeps_claims),
		cmocka_unit_test(test_set_get),
		cmocka_unit_test(test_bit_order),
		cmocka_unit_test(test_random_sets),
		cmocka_unit_test(test_apply_matches_set),
		cmocka_unit_test(test_apply_all_or_nothing),
		cmocka_unit_test(test_apply_large),
		cmocka_unit_test(test_check_names_breakage),
		cmocka_unit_test(test_pack_roundtrip),
		cmocka_unit_test(test_unpack_size_limits),
		cmocka_unit_test(test_unpack_bomb),
		cmocka_unit_test(test_unpack_corrupt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
