/*
 * test_cbor.c - the strict CBOR reader and the bounded writer (crypto/cbor.h).
 *
 * Every type is written and read back; shortest-form detection is checked on
 * hand-made non-minimal heads; indefinite lengths, breaks and reserved or
 * unsupported heads are refused with the right code and offset; every prefix
 * of a sample item is refused as truncated from a heap copy of exactly that
 * size, so an over-read shows under AddressSanitizer; skip enforces its depth
 * limit; the writer's ENOSPC is sticky and it measures with cap 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cbor.h"

static int
read_one(const uint8_t *buf, size_t len, struct cry_cbor_item *it,
    struct mrx_diag *d)
{
	struct cry_cbor_rd rd;

	cry_cbor_rd_init(&rd, buf, len);
	mrx_diag_clear(d);
	return cry_cbor_next(&rd, it, d);
}

static void
test_roundtrip_ints(void **state)
{
	static const uint64_t uv[] = { 0, 1, 23, 24, 255, 256, 65535, 65536,
		UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX };
	static const int64_t iv[] = { -1, -24, -25, -256, -257, -65536,
		-65537, INT64_MIN, INT64_MAX, 0, 42 };
	uint8_t buf[256];
	struct cry_cbor_wr wr;
	struct cry_cbor_rd rd;
	struct cry_cbor_item it;
	size_t i, len;

	(void)state;
	cry_cbor_wr_init(&wr, buf, sizeof(buf));
	for (i = 0; i < sizeof(uv) / sizeof(uv[0]); i++)
		cry_cbor_put_uint(&wr, uv[i]);
	for (i = 0; i < sizeof(iv) / sizeof(iv[0]); i++)
		cry_cbor_put_int(&wr, iv[i]);
	assert_int_equal(cry_cbor_wr_finish(&wr, &len), 0);
	cry_cbor_rd_init(&rd, buf, len);
	for (i = 0; i < sizeof(uv) / sizeof(uv[0]); i++) {
		assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
		assert_int_equal(it.type, CRY_CBOR_UINT);
		assert_true(it.val == uv[i]);
		assert_true(it.shortest);
		assert_null(it.ptr);
	}
	for (i = 0; i < sizeof(iv) / sizeof(iv[0]); i++) {
		assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
		if (iv[i] >= 0) {
			assert_int_equal(it.type, CRY_CBOR_UINT);
			assert_true(it.val == (uint64_t)iv[i]);
		} else {
			assert_int_equal(it.type, CRY_CBOR_NEGINT);
			assert_true(it.val == (uint64_t)(-(iv[i] + 1)));
		}
		assert_true(it.shortest);
	}
	assert_true(cry_cbor_rd_done(&rd));
	/* Known encodings. */
	cry_cbor_wr_init(&wr, buf, sizeof(buf));
	cry_cbor_put_int(&wr, -7);
	cry_cbor_put_uint(&wr, 500);
	cry_cbor_put_int(&wr, INT64_MIN);
	assert_int_equal(cry_cbor_wr_finish(&wr, &len), 0);
	assert_int_equal(len, 1 + 3 + 9);
	assert_memory_equal(buf,
	    "\x26\x19\x01\xf4\x3b\x7f\xff\xff\xff\xff\xff\xff\xff", len);
}

static void
test_roundtrip_strings_and_containers(void **state)
{
	uint8_t buf[512], blob[300];
	struct cry_cbor_wr wr;
	struct cry_cbor_rd rd;
	struct cry_cbor_item it;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)i;
	cry_cbor_wr_init(&wr, buf, sizeof(buf));
	cry_cbor_put_tag(&wr, 18);
	cry_cbor_put_tag(&wr, 98);
	cry_cbor_put_array(&wr, 3);
	cry_cbor_put_bstr(&wr, blob, sizeof(blob));
	cry_cbor_put_tstr(&wr, "alice");
	cry_cbor_put_map(&wr, 2);
	cry_cbor_put_bstr(&wr, NULL, 0);
	cry_cbor_put_bool(&wr, true);
	cry_cbor_put_tstrn(&wr, "xyz", 2);
	cry_cbor_put_bool(&wr, false);
	cry_cbor_put_null(&wr);
	cry_cbor_put_bstr_head(&wr, 2);
	cry_cbor_put_raw(&wr, "\xab\xcd", 2);
	cry_cbor_put_raw(&wr, "\xf7\xf9\x3c\x00\xfa\x3f\x80\x00\x00"
			      "\xfb\x3f\xf0\x00\x00\x00\x00\x00\x00", 18);
	assert_int_equal(cry_cbor_wr_finish(&wr, &len), 0);
	assert_int_equal(buf[0], 0xd2);	/* tag 18 is one byte */
	assert_memory_equal(buf + 1, "\xd8\x62", 2);

	cry_cbor_rd_init(&rd, buf, len);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_int_equal(it.type, CRY_CBOR_TAG);
	assert_true(it.val == 18 && it.len == 1 && it.off == 0);
	assert_true(it.shortest);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_true(it.type == CRY_CBOR_TAG && it.val == 98 && it.len == 2);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_true(it.type == CRY_CBOR_ARRAY && it.val == 3);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_int_equal(it.type, CRY_CBOR_BSTR);
	assert_int_equal(it.val, sizeof(blob));
	assert_int_equal(it.len, 3 + sizeof(blob));
	assert_ptr_equal(it.ptr, buf + it.off + 3);	/* zero-copy */
	assert_memory_equal(it.ptr, blob, sizeof(blob));
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_true(it.type == CRY_CBOR_TSTR && it.val == 5);
	assert_memory_equal(it.ptr, "alice", 5);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_true(it.type == CRY_CBOR_MAP && it.val == 2);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_true(it.type == CRY_CBOR_BSTR && it.val == 0 && it.len == 1);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_int_equal(it.type, CRY_CBOR_TRUE);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_true(it.type == CRY_CBOR_TSTR && it.val == 2);
	assert_memory_equal(it.ptr, "xy", 2);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_int_equal(it.type, CRY_CBOR_FALSE);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_int_equal(it.type, CRY_CBOR_NULL);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_true(it.type == CRY_CBOR_BSTR && it.val == 2);
	assert_memory_equal(it.ptr, "\xab\xcd", 2);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_int_equal(it.type, CRY_CBOR_UNDEF);
	for (i = 0; i < 3; i++) {
		assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
		assert_int_equal(it.type, CRY_CBOR_FLOAT);
		assert_true(it.shortest);
	}
	assert_true(cry_cbor_rd_done(&rd));
}

static void
test_all_one_byte_tags(void **state)
{
	uint8_t b[2];
	struct cry_cbor_item it;
	unsigned t;

	(void)state;
	for (t = 0; t < 24; t++) {
		b[0] = (uint8_t)(0xc0 + t);
		b[1] = 0x00;
		assert_int_equal(read_one(b, 2, &it, NULL), 0);
		assert_int_equal(it.type, CRY_CBOR_TAG);
		assert_int_equal(it.val, t);
		assert_int_equal(it.len, 1);
		assert_true(it.shortest);
	}
}

static void
test_shortest(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		enum cry_cbor_type type;
		uint64_t val;
		bool shortest;
	} cases[] = {
		{ "\x17", 1, CRY_CBOR_UINT, 23, true },
		{ "\x18\x17", 2, CRY_CBOR_UINT, 23, false },
		{ "\x18\x18", 2, CRY_CBOR_UINT, 24, true },
		{ "\x19\x00\xff", 3, CRY_CBOR_UINT, 255, false },
		{ "\x19\x01\x00", 3, CRY_CBOR_UINT, 256, true },
		{ "\x1a\x00\x00\xff\xff", 5, CRY_CBOR_UINT, 65535, false },
		{ "\x1b\x00\x00\x00\x00\xff\xff\xff\xff", 9, CRY_CBOR_UINT,
		    UINT32_MAX, false },
		{ "\x1b\x00\x00\x00\x01\x00\x00\x00\x00", 9, CRY_CBOR_UINT,
		    (uint64_t)UINT32_MAX + 1, true },
		{ "\x38\x06", 2, CRY_CBOR_NEGINT, 6, false },
		{ "\x39\x03\xe6", 3, CRY_CBOR_NEGINT, 998, true },
		{ "\x58\x01\x41", 3, CRY_CBOR_BSTR, 1, false },
		{ "\x78\x18" "abcdefghijklmnopqrstuvwx", 26, CRY_CBOR_TSTR, 24,
		    true },
		{ "\x98\x00", 2, CRY_CBOR_ARRAY, 0, false },
		{ "\xb9\x00\x01", 3, CRY_CBOR_MAP, 1, false },
		{ "\xd8\x12", 2, CRY_CBOR_TAG, 18, false },
		{ "\xd9\x00\x62", 3, CRY_CBOR_TAG, 98, false },
		{ "\xd8\x62", 2, CRY_CBOR_TAG, 98, true },
		{ "\xf9\x00\x00", 3, CRY_CBOR_FLOAT, 0, true },
		{ "\xf6", 1, CRY_CBOR_NULL, 0, true },
	};
	struct cry_cbor_item it;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(read_one((const uint8_t *)cases[i].bytes,
		    cases[i].len, &it, NULL), 0);
		assert_int_equal(it.type, cases[i].type);
		if (cases[i].type != CRY_CBOR_FLOAT &&
		    cases[i].type != CRY_CBOR_NULL)
			assert_true(it.val == cases[i].val);
		assert_int_equal(it.shortest, cases[i].shortest);
		assert_int_equal(it.len, cases[i].len);
	}
}

static void
test_rejects(void **state)
{
	static const struct {
		uint8_t b;
		int code;
	} cases[] = {
		{ 0x5f, MRX_EINDEF }, { 0x7f, MRX_EINDEF },
		{ 0x9f, MRX_EINDEF }, { 0xbf, MRX_EINDEF },
		{ 0xff, MRX_EINDEF },
		{ 0x1c, MRX_EMALFORMED }, { 0x1d, MRX_EMALFORMED },
		{ 0x1e, MRX_EMALFORMED }, { 0x1f, MRX_EMALFORMED },
		{ 0x3c, MRX_EMALFORMED }, { 0x3f, MRX_EMALFORMED },
		{ 0x5c, MRX_EMALFORMED }, { 0x7d, MRX_EMALFORMED },
		{ 0x9e, MRX_EMALFORMED }, { 0xbc, MRX_EMALFORMED },
		{ 0xdc, MRX_EMALFORMED }, { 0xdf, MRX_EMALFORMED },
		{ 0xe0, MRX_EMALFORMED }, { 0xf3, MRX_EMALFORMED },
		{ 0xf8, MRX_EMALFORMED }, { 0xfc, MRX_EMALFORMED },
		{ 0xfd, MRX_EMALFORMED }, { 0xfe, MRX_EMALFORMED },
	};
	uint8_t buf[4] = { 0, 0x20, 0x20, 0x20 };
	struct cry_cbor_rd rd;
	struct cry_cbor_item it;
	struct mrx_diag d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf[0] = cases[i].b;
		assert_int_equal(read_one(buf, sizeof(buf), &it, &d),
		    cases[i].code);
		assert_int_equal(d.code, cases[i].code);
		assert_int_equal(d.offset, 0);
		assert_true(d.msg[0] != '\0');
	}
	/* The offset is the failing head's, and the cursor does not move. */
	cry_cbor_rd_init(&rd, (const uint8_t *)"\x82\x01\x9f\xff", 4);
	mrx_diag_clear(&d);
	assert_int_equal(cry_cbor_next(&rd, &it, &d), 0);
	assert_int_equal(cry_cbor_skip(&rd, &it, &d), MRX_EINDEF);
	assert_int_equal(d.offset, 2);
	assert_int_equal(rd.off, 1);
	/* An indefinite string inside a map, found by skip. */
	cry_cbor_rd_init(&rd, (const uint8_t *)"\xa1\x01\x5f\x41\x00\xff", 6);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_int_equal(cry_cbor_skip(&rd, &it, NULL), MRX_EINDEF);
	/* A simple value in one extra byte is not something we accept. */
	assert_int_equal(read_one((const uint8_t *)"\xf8\x20", 2, &it, NULL),
	    MRX_EMALFORMED);
}

/* A sample item with every head size and type, nested. */
static size_t
sample(uint8_t *buf, size_t cap)
{
	static const uint8_t blob[70] = { 1, 2, 3 };
	struct cry_cbor_wr wr;
	size_t len;

	cry_cbor_wr_init(&wr, buf, cap);
	cry_cbor_put_tag(&wr, 18);
	cry_cbor_put_array(&wr, 4);
	cry_cbor_put_bstr(&wr, blob, sizeof(blob));
	cry_cbor_put_map(&wr, 3);
	cry_cbor_put_int(&wr, 1);
	cry_cbor_put_int(&wr, -7);
	cry_cbor_put_tstr(&wr, "text label");
	cry_cbor_put_array(&wr, 2);
	cry_cbor_put_uint(&wr, 70000);
	cry_cbor_put_uint(&wr, (uint64_t)1 << 40);
	cry_cbor_put_int(&wr, -300);
	cry_cbor_put_tag(&wr, 1000);
	cry_cbor_put_null(&wr);
	cry_cbor_put_bool(&wr, true);
	cry_cbor_put_tstr(&wr, "");
	cry_cbor_put_raw(&wr, "\xfb\x40\x09\x21\xfb\x54\x44\x2d\x18", 9);
	assert_int_equal(cry_cbor_wr_finish(&wr, &len), 0);
	return len;
}

static void
test_truncation_every_byte(void **state)
{
	uint8_t full[256], *cut;
	struct cry_cbor_rd rd;
	struct mrx_diag d;
	size_t len, n, s, e, first_end;

	(void)state;
	len = sample(full, sizeof(full));
	cry_cbor_rd_init(&rd, full, len);
	assert_int_equal(cry_cbor_read_span(&rd, &s, &first_end, NULL), 0);
	assert_int_equal(s, 0);
	/* The float after the tagged array is a second item. */
	assert_int_equal(cry_cbor_read_span(&rd, &s, &e, NULL), 0);
	assert_int_equal(s, first_end);
	assert_int_equal(e, len);
	assert_true(cry_cbor_rd_done(&rd));
	for (n = 0; n < len; n++) {
		/* Exactly n bytes on the heap: ASan sees any over-read. */
		cut = malloc(n > 0 ? n : 1);
		assert_non_null(cut);
		memcpy(cut, full, n);
		cry_cbor_rd_init(&rd, cut, n);
		mrx_diag_clear(&d);
		if (n >= first_end) {
			assert_int_equal(cry_cbor_read_span(&rd, &s, &e, &d),
			    0);
			assert_int_equal(e, first_end);
		}
		s = rd.off;
		assert_int_equal(cry_cbor_read_span(&rd, &s, &e, &d),
		    MRX_ETRUNC);
		assert_int_equal(d.code, MRX_ETRUNC);
		assert_true(d.offset <= n);
		assert_true(rd.off == (n >= first_end ? first_end : 0));
		free(cut);
	}
}

static void
test_big_lengths(void **state)
{
	static const char *heads[] = {
		"\x5b\xff\xff\xff\xff\xff\xff\xff\xf0",
		"\x5b\x7f\xff\xff\xff\xff\xff\xff\xff",
		"\x7b\xff\xff\xff\xff\xff\xff\xff\xff",
		"\x5a\xff\xff\xff\xff",
		"\x59\x01\x00",
		"\x58\x05",
	};
	uint8_t *buf;
	struct cry_cbor_item it;
	struct cry_cbor_rd rd;
	struct mrx_diag d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		size_t hl = heads[i][0] == 0x58 ? 2 : heads[i][0] == 0x59 ? 3 :
		    heads[i][0] == 0x5a ? 5 : 9;

		buf = malloc(hl + 4);
		assert_non_null(buf);
		memcpy(buf, heads[i], hl);
		memset(buf + hl, 0x41, 4);
		assert_int_equal(read_one(buf, hl + 4, &it, &d), MRX_ETRUNC);
		assert_int_equal(d.offset, 0);
		free(buf);
	}
	/* Containers that claim more entries than there are bytes. */
	buf = malloc(9);
	assert_non_null(buf);
	memcpy(buf, "\x9b\xff\xff\xff\xff\xff\xff\xff\xff", 9);
	cry_cbor_rd_init(&rd, buf, 9);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_int_equal(cry_cbor_skip(&rd, &it, &d), MRX_ETRUNC);
	memcpy(buf, "\xbb\x80\x00\x00\x00\x00\x00\x00\x00", 9);
	cry_cbor_rd_init(&rd, buf, 9);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_int_equal(cry_cbor_skip(&rd, &it, NULL), MRX_ETRUNC);
	cry_cbor_rd_init(&rd, buf, 9);
	assert_int_equal(cry_cbor_read_span(&rd, &i, &i, NULL), MRX_ETRUNC);
	assert_int_equal(rd.off, 0);
	free(buf);
	/* An empty input. */
	cry_cbor_rd_init(&rd, NULL, 0);
	assert_true(cry_cbor_rd_done(&rd));
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), MRX_ETRUNC);
}

static size_t
nested(uint8_t *buf, size_t cap, int depth, bool tags)
{
	struct cry_cbor_wr wr;
	size_t len;
	int i;

	cry_cbor_wr_init(&wr, buf, cap);
	for (i = 0; i < depth; i++) {
		if (tags && i % 2 == 1)
			cry_cbor_put_tag(&wr, 24);
		else
			cry_cbor_put_array(&wr, 1);
	}
	cry_cbor_put_uint(&wr, 7);
	assert_int_equal(cry_cbor_wr_finish(&wr, &len), 0);
	return len;
}

static void
test_skip_depth(void **state)
{
	uint8_t buf[64];
	struct cry_cbor_rd rd;
	struct mrx_diag d;
	size_t len, s, e;

	(void)state;
	len = nested(buf, sizeof(buf), CRY_CBOR_DEPTH_MAX, false);
	cry_cbor_rd_init(&rd, buf, len);
	assert_int_equal(cry_cbor_read_span(&rd, &s, &e, NULL), 0);
	assert_true(s == 0 && e == len);

	len = nested(buf, sizeof(buf), CRY_CBOR_DEPTH_MAX + 1, false);
	cry_cbor_rd_init(&rd, buf, len);
	mrx_diag_clear(&d);
	assert_int_equal(cry_cbor_read_span(&rd, &s, &e, &d), MRX_EDEPTH);
	assert_int_equal(d.offset, CRY_CBOR_DEPTH_MAX);
	assert_int_equal(rd.off, 0);

	len = nested(buf, sizeof(buf), CRY_CBOR_DEPTH_MAX + 1, true);
	cry_cbor_rd_init(&rd, buf, len);
	assert_int_equal(cry_cbor_read_span(&rd, &s, &e, NULL), MRX_EDEPTH);

	/* Wide is fine: depth, not breadth, is limited. */
	memset(buf, 0x80, sizeof(buf));
	buf[0] = 0x98;
	buf[1] = 62;
	cry_cbor_rd_init(&rd, buf, sizeof(buf));
	assert_int_equal(cry_cbor_read_span(&rd, &s, &e, NULL), 0);
	assert_int_equal(e, sizeof(buf));
}

static void
test_skip_scalars_and_map(void **state)
{
	static const uint8_t m[] = { 0xa2, 0x01, 0x26, 0x63, 'k', 'i', 'd',
		0x82, 0x41, 0x00, 0xc1, 0x1a, 0, 0, 0, 1, 0x07 };
	struct cry_cbor_rd rd;
	struct cry_cbor_item it;

	(void)state;
	cry_cbor_rd_init(&rd, m, sizeof(m));
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_int_equal(cry_cbor_skip(&rd, &it, NULL), 0);
	assert_int_equal(rd.off, sizeof(m) - 1);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_int_equal(cry_cbor_skip(&rd, &it, NULL), 0);
	assert_true(cry_cbor_rd_done(&rd));
}

static void
test_writer_enospc(void **state)
{
	static const uint8_t big[300];
	uint8_t buf[8];
	struct cry_cbor_wr wr;
	size_t len = 99;

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	cry_cbor_wr_init(&wr, buf, 4);
	cry_cbor_put_uint(&wr, 1);			/* 1 byte */
	cry_cbor_put_uint(&wr, 1000);			/* 3 bytes: full */
	assert_int_equal(wr.err, 0);
	cry_cbor_put_bstr(&wr, "abc", 3);		/* does not fit */
	assert_int_equal(wr.err, MRX_ENOSPC);
	cry_cbor_put_null(&wr);				/* nor this */
	assert_int_equal(cry_cbor_wr_finish(&wr, &len), MRX_ENOSPC);
	assert_int_equal(len, 99);
	assert_int_equal(wr.len, 4 + 4 + 1);		/* bytes needed */
	assert_int_equal(buf[4], 0xee);			/* nothing past cap */

	/* Sticky: a later put that would fit is not written. */
	memset(buf, 0xee, sizeof(buf));
	cry_cbor_wr_init(&wr, buf, 3);
	cry_cbor_put_uint(&wr, 1);
	cry_cbor_put_tstr(&wr, "abcd");
	cry_cbor_put_uint(&wr, 2);
	assert_int_equal(cry_cbor_wr_finish(&wr, NULL), MRX_ENOSPC);
	assert_int_equal(buf[0], 0x01);
	assert_int_equal(buf[1], 0xee);
	assert_int_equal(buf[2], 0xee);

	/* A head never lands in half. */
	memset(buf, 0xee, sizeof(buf));
	cry_cbor_wr_init(&wr, buf, 2);
	cry_cbor_put_uint(&wr, 70000);
	assert_int_equal(wr.err, MRX_ENOSPC);
	assert_int_equal(buf[0], 0xee);

	/* Measuring with no buffer. */
	cry_cbor_wr_init(&wr, NULL, 0);
	cry_cbor_put_array(&wr, 2);
	cry_cbor_put_bstr(&wr, big, sizeof(big));
	assert_int_equal(cry_cbor_wr_finish(&wr, NULL), MRX_ENOSPC);
	assert_int_equal(wr.len, 1 + 3 + 300);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_ints),
		cmocka_unit_test(test_roundtrip_strings_and_containers),
		cmocka_unit_test(test_all_one_byte_tags),
		cmocka_unit_test(test_shortest),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_truncation_every_byte),
		cmocka_unit_test(test_big_lengths),
		cmocka_unit_test(test_skip_depth),
		cmocka_unit_test(test_skip_scalars_and_map),
		cmocka_unit_test(test_writer_enospc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
