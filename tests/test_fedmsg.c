/*
 * test_fedmsg.c - the message bodies of protocol/fedmsg.c.
 *
 * Every body has a sample written by hand, element by element, in hex from
 * the rules of RFC 8949 (shortest heads, definite lengths): the encoders
 * must produce these bytes exactly and the decoders must read them back.
 * Bodies are rebuilt here with one element replaced (a wrong type, a
 * longer head, an indefinite length, a tag, a value out of range) by a
 * CBOR head writer of this file, independent of crypto/cbor.c, and each
 * refusal is checked with its code, the element the diag names and its
 * byte offset. Every prefix of every sample is MRX_ETRUNC; a byte after it
 * is MRX_EMALFORMED. Edge values round-trip. The mutation loop flips every
 * bit and replaces every byte of every sample (inputs are malloc'd to
 * their exact length, so that ASan sees any read past them): a decoder
 * returns one of the five codes of fedmsg.h with a diag, or 0, and then
 * re-encoding what it decoded must give the input back byte for byte (a
 * body has one encoding).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cbor.h"
/* fedmsg.h uses PROTO_CODE_MAX and PROTO_MESSAGE_MAX without it */
#include "decide.h"
#include "fedmsg.h"

#define BUF_MAX 8192
#define NO_OFF SIZE_MAX			/* expect_dec(): any offset */
#define BIT(t) (1u << (t))
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum kind {
	K_CATCHUP, K_BATCH, K_FETCH, K_PRESENT, K_PRESENT_RESP, K_CONFIRM,
	K_FOUND, K_SURVEY, K_REFUSAL, K_COUNT
};

/* ------------------------------------------------------------ buffers */

/* A growable byte buffer for bodies built here. */
struct bb {
	uint8_t *b;
	size_t n;
	size_t cap;
};

static void
bb_init(struct bb *o)
{
	o->cap = BUF_MAX;
	o->n = 0;
	o->b = malloc(o->cap);
	assert_non_null(o->b);
}

static void
bb_fini(struct bb *o)
{
	free(o->b);
	o->b = NULL;
}

static void
bb_raw(struct bb *o, const void *p, size_t n)
{
	if (o->n + n > o->cap) {
		while (o->n + n > o->cap)
			o->cap *= 2;
		o->b = realloc(o->b, o->cap);
		assert_non_null(o->b);
	}
	if (n > 0)
		memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void
bb_byte(struct bb *o, uint8_t c)
{
	bb_raw(o, &c, 1);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	fail_msg("bad hex digit '%c'", c);
	return 0;
}

/* Appends hex (spaces ignored). */
static void
bb_hex(struct bb *o, const char *hex)
{
	while (*hex != '\0') {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		assert_true(hex[1] != '\0');
		bb_byte(o, (uint8_t)(hexval(hex[0]) << 4 | hexval(hex[1])));
		hex += 2;
	}
}

/* A shortest head (RFC 8949 3.1), written here, not by crypto/cbor.c. */
static void
bb_head(struct bb *o, unsigned major, uint64_t v)
{
	uint8_t m = (uint8_t)(major << 5);
	int i, bytes;

	if (v < 24) {
		bb_byte(o, (uint8_t)(m | v));
		return;
	}
	if (v <= 0xff) {
		bb_byte(o, m | 24);
		bytes = 1;
	} else if (v <= 0xffff) {
		bb_byte(o, m | 25);
		bytes = 2;
	} else if (v <= 0xffffffffu) {
		bb_byte(o, m | 26);
		bytes = 4;
	} else {
		bb_byte(o, m | 27);
		bytes = 8;
	}
	for (i = bytes - 1; i >= 0; i--)
		bb_byte(o, (uint8_t)(v >> (8 * i)));
}

static void
bb_textn(struct bb *o, const char *s, size_t n)
{
	bb_head(o, 3, n);
	bb_raw(o, s, n);
}

static void
bb_text(struct bb *o, const char *s)
{
	bb_textn(o, s, strlen(s));
}

/* A byte string of n bytes of value c. */
static void
bb_fill(struct bb *o, size_t n, uint8_t c)
{
	size_t i;

	bb_head(o, 2, n);
	for (i = 0; i < n; i++)
		bb_byte(o, c);
}

/* A text of n times c. */
static void
bb_rep(struct bb *o, size_t n, char c)
{
	size_t i;

	bb_head(o, 3, n);
	for (i = 0; i < n; i++)
		bb_byte(o, (uint8_t)c);
}

static void
bb_one(struct bb *o, const char *hex)
{
	o->n = 0;
	bb_hex(o, hex);
}

/* A malloc'd copy of exactly n bytes (NULL for 0): ASan sees overreads. */
static uint8_t *
exact(const uint8_t *p, size_t n)
{
	uint8_t *c;

	if (n == 0)
		return NULL;
	c = malloc(n);
	assert_non_null(c);
	memcpy(c, p, n);
	return c;
}

/* ------------------------------------------------------------ samples */

/*
 * One body per sample, in hex written by hand: the array head and the
 * elements (the entries, for a batch or a survey). ok[i] is the set of
 * CBOR types element i may have.
 */
struct sample {
	const char *name;
	enum kind k;
	const char *head;
	const char *el[4];
	size_t n;
	unsigned ok[4];
};

#define B_UINT BIT(CRY_CBOR_UINT)
#define B_BSTR BIT(CRY_CBOR_BSTR)
#define B_TSTR BIT(CRY_CBOR_TSTR)
#define B_ARRAY BIT(CRY_CBOR_ARRAY)
#define B_BOOL (BIT(CRY_CBOR_FALSE) | BIT(CRY_CBOR_TRUE))
#define B_NULL BIT(CRY_CBOR_NULL)

/* A blinded key: 32 bytes 00..1f, and 20..3f. */
#define KEY_A "58 20 000102030405060708090a0b0c0d0e0f" \
	"101112131415161718191a1b1c1d1e1f"
#define KEY_B "58 20 202122232425262728292a2b2c2d2e2f" \
	"303132333435363738393a3b3c3d3e3f"

static const struct sample samples[] = {
	/* ["jp.meti", "mrx://jp.meti/status/0", 256, 64] */
	{ "catchup", K_CATCHUP, "84", {
		"67 6a702e6d657469",
		"76 6d72783a2f2f 6a702e6d657469 2f7374617475732f 30",
		"19 0100",
		"18 40" }, 4, { B_TSTR, B_TSTR, B_UINT, B_UINT } },
	/* ["a", "mrx://a", 0, 0] */
	{ "catchup-min", K_CATCHUP, "84", {
		"61 61", "67 6d72783a2f2f61", "00", "00" }, 4,
		{ B_TSTR, B_TSTR, B_UINT, B_UINT } },
	/* [h'd28440', h'ff'] */
	{ "batch", K_BATCH, "82", { "43 d28440", "41 ff" }, 2,
		{ B_BSTR, B_BSTR } },
	{ "batch-empty", K_BATCH, "80", { NULL }, 0, { 0 } },
	/* [h'000102...0f'] */
	{ "fetch", K_FETCH, "81", {
		"50 000102030405060708090a0b0c0d0e0f" }, 1, { B_BSTR } },
	/* [h'd28440', null, "JP-CESI:CONFIDENTIAL", "defence.air"] */
	{ "present", K_PRESENT, "84", {
		"43 d28440",
		"f6",
		"74 4a502d43455349 3a 434f4e464944454e5449414c",
		"6b 646566656e63652e616972" }, 4,
		{ B_BSTR, B_BSTR | B_NULL, B_TSTR, B_TSTR } },
	/* [h'd28440', h'd280', "UK:SC", ""] */
	{ "present-op", K_PRESENT, "84", {
		"43 d28440", "42 d280", "65 554b3a5343", "60" }, 4,
		{ B_BSTR, B_BSTR | B_NULL, B_TSTR, B_TSTR } },
	/* [2, h'7b7d'] */
	{ "present-resp", K_PRESENT_RESP, "82", { "02", "42 7b7d" }, 2,
		{ B_UINT, B_BSTR } },
	/* ["jp-uk.2025", h'00..1f'] */
	{ "confirm", K_CONFIRM, "82", {
		"6a 6a702d756b2e32303235", KEY_A }, 2, { B_TSTR, B_BSTR } },
	/* [true, h'd28440'] */
	{ "found", K_FOUND, "82", { "f5", "43 d28440" }, 2,
		{ B_BOOL, B_BSTR | B_NULL } },
	/* [false, null] */
	{ "not-found", K_FOUND, "82", { "f4", "f6" }, 2,
		{ B_BOOL, B_BSTR | B_NULL } },
	/* [["jp.meti", "jp-uk.2025", h'00..1f'], ["uk.o", "jp-uk.2025",
	 * h'20..3f']] */
	{ "survey", K_SURVEY, "82", {
		"83 67 6a702e6d657469 6a 6a702d756b2e32303235 " KEY_A,
		"83 64 756b2e6f 6a 6a702d756b2e32303235 " KEY_B }, 2,
		{ B_ARRAY, B_ARRAY } },
	{ "survey-empty", K_SURVEY, "80", { NULL }, 0, { 0 } },
	/* ["rate-limited", "slow down"] */
	{ "refusal", K_REFUSAL, "82", {
		"6c 726174652d6c696d69746564", "69 736c6f7720646f776e" }, 2,
		{ B_TSTR, B_TSTR } },
	/* ["", ""] */
	{ "refusal-empty", K_REFUSAL, "82", { "60", "60" }, 2,
		{ B_TSTR, B_TSTR } },
};

/*
 * Builds sample s into o with element `idx` replaced by `repl` (idx -1:
 * none; repl NULL: the element left out); *off gets element idx's offset.
 */
static void
build(const struct sample *s, long idx, const struct bb *repl, struct bb *o,
    size_t *off)
{
	size_t i;

	o->n = 0;
	bb_hex(o, s->head);
	for (i = 0; i < s->n; i++) {
		if ((long)i == idx) {
			if (off != NULL)
				*off = o->n;
			if (repl != NULL)
				bb_raw(o, repl->b, repl->n);
			continue;
		}
		bb_hex(o, s->el[i]);
	}
}

static const struct sample *
sample_named(const char *name)
{
	size_t i;

	for (i = 0; i < NELEM(samples); i++)
		if (strcmp(samples[i].name, name) == 0)
			return &samples[i];
	fail_msg("no sample %s", name);
	return NULL;
}

/* ------------------------------------------------------------ decoding */

/* What the last decode() produced. */
static struct {
	struct proto_catchup_req cr;
	struct proto_bytes recs[PROTO_BATCH_MAX];
	size_t nrecs;
	uint8_t cti[PROTO_CTI_LEN];
	struct proto_present pr;
	struct proto_present_resp prr;
	struct proto_blinded bl;
	struct proto_found fd;
	struct proto_blinded keys[PROTO_SURVEY_KEYS_MAX];
	size_t nkeys;
	struct proto_refusal_msg rf;
} g;

static size_t g_max_recs = PROTO_BATCH_MAX;	/* caller's room */
static size_t g_max_keys = PROTO_SURVEY_KEYS_MAX;

static int
decode(enum kind k, const uint8_t *b, size_t len, struct mrx_diag *d)
{
	mrx_diag_clear(d);
	switch (k) {
	case K_CATCHUP:
		return proto_catchup_req_decode(b, len, &g.cr, d);
	case K_BATCH:
		return proto_batch_decode(b, len, g.recs, g_max_recs, &g.nrecs,
		    d);
	case K_FETCH:
		return proto_fetch_req_decode(b, len, g.cti, d);
	case K_PRESENT:
		return proto_present_decode(b, len, &g.pr, d);
	case K_PRESENT_RESP:
		return proto_present_resp_decode(b, len, &g.prr, d);
	case K_CONFIRM:
		return proto_confirm_req_decode(b, len, &g.bl, d);
	case K_FOUND:
		return proto_found_decode(b, len, &g.fd, d);
	case K_SURVEY:
		return proto_survey_decode(b, len, g.keys, g_max_keys, &g.nkeys,
		    d);
	case K_REFUSAL:
		return proto_refusal_decode(b, len, &g.rf, d);
	case K_COUNT:
		break;
	}
	fail_msg("bad kind");
	return 0;
}

/* Encodes what the last successful decode() of kind k produced. */
static int
reencode(enum kind k, uint8_t *out, size_t cap, size_t *len)
{
	switch (k) {
	case K_CATCHUP:
		return proto_catchup_req_encode(&g.cr, out, cap, len);
	case K_BATCH:
		return proto_batch_encode(g.recs, g.nrecs, out, cap, len);
	case K_FETCH:
		return proto_fetch_req_encode(g.cti, out, cap, len);
	case K_PRESENT:
		return proto_present_encode(&g.pr, out, cap, len);
	case K_PRESENT_RESP:
		return proto_present_resp_encode(&g.prr, out, cap, len);
	case K_CONFIRM:
		return proto_confirm_req_encode(&g.bl, out, cap, len);
	case K_FOUND:
		return proto_found_encode(&g.fd, out, cap, len);
	case K_SURVEY:
		return proto_survey_encode(g.keys, g.nkeys, out, cap, len);
	case K_REFUSAL:
		return proto_refusal_encode(g.rf.code, g.rf.message, out, cap,
		    len);
	case K_COUNT:
		break;
	}
	fail_msg("bad kind");
	return 0;
}

/*
 * Decodes an exact copy of b and expects `code`, the diag naming `field`
 * (NULL: any element) at `off` (NO_OFF: any offset).
 */
static void
expect_dec(enum kind k, const struct bb *b, int code, const char *field,
    size_t off)
{
	uint8_t *c = exact(b->b, b->n);
	struct mrx_diag d;
	int rc = decode(k, c, b->n, &d);

	free(c);
	if (rc != code)
		fail_msg("expected %s, got %s (%s: %s)", mrx_errname(code),
		    mrx_errname(rc), d.field, d.msg);
	if (code == 0)
		return;
	assert_int_equal(d.code, code);
	if (field != NULL)
		assert_string_equal(d.field, field);
	else
		assert_true(strncmp(d.field, "body", 4) == 0);
	assert_true(d.msg[0] != '\0');
	if (off != NO_OFF && d.offset != off)
		fail_msg("%s: offset %zu, expected %zu (%s)", field, d.offset,
		    off, d.msg);
}

/* Decodes an exact copy of b and expects it to be accepted. */
static void
expect_ok(enum kind k, const struct bb *b)
{
	expect_dec(k, b, 0, "", NO_OFF);
}

/* Sample s with element idx replaced by `repl`: expect code there. */
static void
expect_elem(const struct sample *s, size_t idx, const struct bb *repl,
    int code)
{
	struct bb o;
	char field[32];
	size_t off = 0;

	bb_init(&o);
	build(s, (long)idx, repl, &o, &off);
	snprintf(field, sizeof(field), "body[%zu]", idx);
	expect_dec(s->k, &o, code, code == 0 ? "" : field, off);
	bb_fini(&o);
}

/* ------------------------------------------------------------ vectors */

static void
expect_bytes(const uint8_t *got, size_t n, const struct bb *want)
{
	size_t i;

	if (n == want->n && memcmp(got, want->b, n) == 0)
		return;
	fprintf(stderr, "got  ");
	for (i = 0; i < n; i++)
		fprintf(stderr, "%02x", got[i]);
	fprintf(stderr, "\nwant ");
	for (i = 0; i < want->n; i++)
		fprintf(stderr, "%02x", want->b[i]);
	fprintf(stderr, "\n");
	fail_msg("encoding differs");
}

/*
 * The encoder's output for a sample equals the hand-written bytes. `n` is
 * a pointer: it is read after the encoder (an argument beside this one)
 * has run.
 */
static void
expect_sample(const char *name, int rc, const uint8_t *out, const size_t *n)
{
	struct bb want;

	assert_int_equal(rc, 0);
	bb_init(&want);
	build(sample_named(name), -1, NULL, &want, NULL);
	expect_bytes(out, *n, &want);
	bb_fini(&want);
}

/* Decodes the sample into g. */
static void
decode_sample(const char *name, struct bb *o)
{
	const struct sample *s = sample_named(name);
	struct mrx_diag d;
	int rc;

	build(s, -1, NULL, o, NULL);
	rc = decode(s->k, o->b, o->n, &d);
	if (rc != 0)
		fail_msg("%s: %s: %s: %s", name, mrx_errname(rc), d.field,
		    d.msg);
}

static const uint8_t key_a[PROTO_BLIND_LEN] = { 0, 1, 2, 3, 4, 5, 6, 7, 8,
	9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
	27, 28, 29, 30, 31 };
static const uint8_t rec_a[] = { 0xd2, 0x84, 0x40 };
static const uint8_t rec_b[] = { 0xd2, 0x80 };

static void
test_vectors_requests(void **state)
{
	struct proto_catchup_req cr = { .issuer = "jp.meti",
		.uri = "mrx://jp.meti/status/0", .from = 256, .max = 64 };
	struct proto_present pr = { .record = { rec_a, sizeof(rec_a) },
		.access = "JP-CESI:CONFIDENTIAL", .scope = "defence.air" };
	struct proto_blinded bl = { .agreement = "jp-uk.2025" };
	uint8_t out[256], cti[PROTO_CTI_LEN];
	struct bb o;
	size_t n, i;

	(void)state;
	bb_init(&o);
	expect_sample("catchup", proto_catchup_req_encode(&cr, out,
	    sizeof(out), &n), out, &n);
	decode_sample("catchup", &o);
	assert_string_equal(g.cr.issuer, "jp.meti");
	assert_string_equal(g.cr.uri, "mrx://jp.meti/status/0");
	assert_int_equal(g.cr.from, 256);
	assert_int_equal(g.cr.max, 64);

	for (i = 0; i < PROTO_CTI_LEN; i++)
		cti[i] = (uint8_t)i;
	expect_sample("fetch", proto_fetch_req_encode(cti, out, sizeof(out),
	    &n), out, &n);
	decode_sample("fetch", &o);
	assert_memory_equal(g.cti, cti, PROTO_CTI_LEN);

	expect_sample("present", proto_present_encode(&pr, out, sizeof(out),
	    &n), out, &n);
	decode_sample("present", &o);
	assert_ptr_equal(g.pr.record.p, o.b + 2);	/* a view */
	assert_int_equal(g.pr.record.n, 3);
	assert_null(g.pr.operator_record.p);
	assert_string_equal(g.pr.access, "JP-CESI:CONFIDENTIAL");
	assert_string_equal(g.pr.scope, "defence.air");
	pr.operator_record.p = rec_b;
	pr.operator_record.n = sizeof(rec_b);
	snprintf(pr.access, sizeof(pr.access), "UK:SC");
	pr.scope[0] = '\0';
	expect_sample("present-op", proto_present_encode(&pr, out,
	    sizeof(out), &n), out, &n);
	decode_sample("present-op", &o);
	assert_ptr_equal(g.pr.operator_record.p, o.b + 6);
	assert_memory_equal(g.pr.operator_record.p, rec_b, 2);
	assert_string_equal(g.pr.scope, "");

	memcpy(bl.key, key_a, PROTO_BLIND_LEN);
	snprintf(bl.node, sizeof(bl.node), "NOT AN ID: not written");
	expect_sample("confirm", proto_confirm_req_encode(&bl, out,
	    sizeof(out), &n), out, &n);
	decode_sample("confirm", &o);
	assert_string_equal(g.bl.node, "");
	assert_string_equal(g.bl.agreement, "jp-uk.2025");
	assert_memory_equal(g.bl.key, key_a, PROTO_BLIND_LEN);
	bb_fini(&o);
}

static void
test_vectors_responses(void **state)
{
	struct proto_bytes recs[2] = { { rec_a, 3 }, { (const uint8_t *)"\xff",
		1 } };
	struct proto_present_resp prr = { 2, { (const uint8_t *)"{}", 2 } };
	struct proto_found fd = { true, { rec_a, 3 } };
	struct proto_blinded keys[2] = { { .node = "jp.meti",
		.agreement = "jp-uk.2025" }, { .node = "uk.o",
		.agreement = "jp-uk.2025" } };
	uint8_t out[256];
	struct bb o;
	size_t n, i;

	(void)state;
	bb_init(&o);
	expect_sample("batch", proto_batch_encode(recs, 2, out, sizeof(out),
	    &n), out, &n);
	expect_sample("batch-empty", proto_batch_encode(NULL, 0, out,
	    sizeof(out), &n), out, &n);
	decode_sample("batch", &o);
	assert_int_equal(g.nrecs, 2);
	assert_ptr_equal(g.recs[0].p, o.b + 2);
	assert_int_equal(g.recs[0].n, 3);
	assert_ptr_equal(g.recs[1].p, o.b + 6);
	assert_int_equal(g.recs[1].n, 1);

	expect_sample("present-resp", proto_present_resp_encode(&prr, out,
	    sizeof(out), &n), out, &n);
	decode_sample("present-resp", &o);
	assert_int_equal(g.prr.verdict, PROTO_INDETERMINATE);
	assert_ptr_equal(g.prr.json.p, o.b + 3);
	assert_int_equal(g.prr.json.n, 2);

	expect_sample("found", proto_found_encode(&fd, out, sizeof(out), &n),
	    out, &n);
	decode_sample("found", &o);
	assert_true(g.fd.found);
	assert_ptr_equal(g.fd.record.p, o.b + 3);
	memset(&fd, 0, sizeof(fd));
	expect_sample("not-found", proto_found_encode(&fd, out, sizeof(out),
	    &n), out, &n);
	decode_sample("not-found", &o);
	assert_false(g.fd.found);
	assert_null(g.fd.record.p);

	for (i = 0; i < PROTO_BLIND_LEN; i++) {
		keys[0].key[i] = (uint8_t)i;
		keys[1].key[i] = (uint8_t)(0x20 + i);
	}
	expect_sample("survey", proto_survey_encode(keys, 2, out, sizeof(out),
	    &n), out, &n);
	expect_sample("survey-empty", proto_survey_encode(NULL, 0, out,
	    sizeof(out), &n), out, &n);
	decode_sample("survey", &o);
	assert_int_equal(g.nkeys, 2);
	assert_string_equal(g.keys[1].node, "uk.o");
	assert_string_equal(g.keys[1].agreement, "jp-uk.2025");
	assert_memory_equal(g.keys[1].key, keys[1].key, PROTO_BLIND_LEN);

	expect_sample("refusal", proto_refusal_encode("rate-limited",
	    "slow down", out, sizeof(out), &n), out, &n);
	expect_sample("refusal-empty", proto_refusal_encode("", "", out,
	    sizeof(out), &n), out, &n);
	decode_sample("refusal", &o);
	assert_string_equal(g.rf.code, "rate-limited");
	assert_string_equal(g.rf.message, "slow down");
	bb_fini(&o);
}

/* ------------------------------------------------------------ round trip */

/*
 * Encodes with `enc` (through reencode() on g) into a buffer of exactly
 * the size measured first, decodes that, re-encodes and compares.
 */
static void
roundtrip(enum kind k, size_t want_len)
{
	uint8_t *buf, *again;
	struct mrx_diag d;
	size_t n = 0, m = 0;
	int rc;

	assert_int_equal(reencode(k, NULL, 0, &n), MRX_ENOSPC);
	if (want_len != 0)
		assert_int_equal(n, want_len);
	buf = malloc(n);
	again = malloc(n);
	assert_non_null(buf);
	assert_non_null(again);
	assert_int_equal(reencode(k, buf, n, &m), 0);
	assert_int_equal(m, n);
	rc = decode(k, buf, n, &d);
	if (rc != 0)
		fail_msg("%s: %s: %s", mrx_errname(rc), d.field, d.msg);
	assert_int_equal(reencode(k, again, n, &m), 0);
	assert_int_equal(m, n);
	assert_memory_equal(buf, again, n);
	free(again);
	free(buf);
}

static void
fill_str(char *s, size_t n, char c)
{
	memset(s, c, n);
	s[n] = '\0';
}

static void
test_roundtrip_catchup(void **state)
{
	static const struct {
		uint64_t v;
		size_t head;	/* bytes of its head */
	} from[] = {
		{ 0, 1 }, { 23, 1 }, { 24, 2 }, { 255, 2 }, { 256, 3 },
		{ 65535, 3 }, { 65536, 5 }, { UINT32_MAX, 5 },
		{ (uint64_t)UINT32_MAX + 1, 9 }, { UINT64_MAX, 9 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(from); i++) {
		memset(&g.cr, 0, sizeof(g.cr));
		fill_str(g.cr.issuer, PROTO_ID_MAX, 'z');
		memcpy(g.cr.uri, "mrx://", 6);
		fill_str(g.cr.uri + 6, PROTO_URI_MAX - 6, '~');
		g.cr.from = from[i].v;
		g.cr.max = i % 2 ? PROTO_BATCH_MAX : 0;
		/* 1 + (2 + 63) + (2 + 127) + head + (1 or 3) */
		roundtrip(K_CATCHUP, 1 + 65 + 129 + from[i].head +
		    (i % 2 ? 3 : 1));
		assert_int_equal(g.cr.from, from[i].v);
		assert_int_equal(strlen(g.cr.issuer), PROTO_ID_MAX);
		assert_int_equal(strlen(g.cr.uri), PROTO_URI_MAX);
		assert_int_equal(g.cr.max, i % 2 ? PROTO_BATCH_MAX : 0);
	}
}

static void
test_roundtrip_batch(void **state)
{
	static uint8_t one = 0x5a;
	uint8_t *big = malloc(PROTO_ENV_BODY_MAX);
	size_t i;

	(void)state;
	assert_non_null(big);
	memset(big, 0xa5, PROTO_ENV_BODY_MAX);
	for (i = 0; i < PROTO_BATCH_MAX; i++) {
		g.recs[i].p = &one;
		g.recs[i].n = 1;
	}
	g.nrecs = PROTO_BATCH_MAX;
	roundtrip(K_BATCH, 3 + 2 * PROTO_BATCH_MAX);
	assert_int_equal(g.nrecs, PROTO_BATCH_MAX);
	g.nrecs = 0;
	roundtrip(K_BATCH, 1);
	assert_int_equal(g.nrecs, 0);
	g.recs[0].p = big;
	g.recs[0].n = PROTO_ENV_BODY_MAX;
	g.recs[1].p = &one;
	g.recs[1].n = 1;
	g.nrecs = 2;
	roundtrip(K_BATCH, 1 + 5 + PROTO_ENV_BODY_MAX + 2);
	assert_int_equal(g.recs[0].n, PROTO_ENV_BODY_MAX);
	free(big);
}

static void
test_roundtrip_others(void **state)
{
	static uint8_t json[PROTO_DECISION_JSON_MAX];
	static const char euro[] = "\xe2\x82\xac";	/* U+20AC, 3 bytes */
	size_t i;

	(void)state;
	memset(g.cti, 0xff, PROTO_CTI_LEN);
	roundtrip(K_FETCH, 18);

	memset(&g.pr, 0, sizeof(g.pr));
	g.pr.record.p = rec_a;
	g.pr.record.n = 1;
	g.pr.operator_record.p = json;
	g.pr.operator_record.n = 24;	/* the first 1-byte length */
	fill_str(g.pr.access, PROTO_LEVEL_MAX, 'A');
	fill_str(g.pr.scope, PROTO_SCOPE_MAX, 's');
	roundtrip(K_PRESENT, 1 + 2 + 26 + 33 + 65);
	assert_int_equal(strlen(g.pr.scope), PROTO_SCOPE_MAX);

	memset(json, '7', sizeof(json));
	for (i = 0; i <= 2; i++) {
		g.prr.verdict = (uint8_t)i;
		g.prr.json.p = json;
		g.prr.json.n = i == 1 ? 1 : PROTO_DECISION_JSON_MAX;
		roundtrip(K_PRESENT_RESP, 0);
		assert_int_equal(g.prr.verdict, i);
	}

	memset(&g.bl, 0, sizeof(g.bl));
	fill_str(g.bl.agreement, PROTO_ID_MAX, '9');
	memset(g.bl.key, 0xff, PROTO_BLIND_LEN);
	roundtrip(K_CONFIRM, 1 + 65 + 34);

	for (i = 0; i < 4; i++) {
		g.fd.found = i & 1;
		g.fd.record.p = i & 2 ? json : NULL;
		g.fd.record.n = i & 2 ? PROTO_DECISION_JSON_MAX : 0;
		roundtrip(K_FOUND, i & 2 ? 5 + PROTO_DECISION_JSON_MAX : 3);
		assert_int_equal(g.fd.found, i & 1);
	}

	for (i = 0; i < PROTO_SURVEY_KEYS_MAX; i++) {
		memset(&g.keys[i], 0, sizeof(g.keys[i]));
		snprintf(g.keys[i].node, sizeof(g.keys[i].node), "n%zu", i);
		fill_str(g.keys[i].agreement, PROTO_ID_MAX, 'a');
		memset(g.keys[i].key, (int)i, PROTO_BLIND_LEN);
	}
	g.nkeys = PROTO_SURVEY_KEYS_MAX;
	roundtrip(K_SURVEY, 0);
	assert_int_equal(g.nkeys, PROTO_SURVEY_KEYS_MAX);
	assert_string_equal(g.keys[63].node, "n63");

	fill_str(g.rf.code, PROTO_CODE_MAX, 'c');
	g.rf.message[0] = '\0';
	for (i = 0; i < PROTO_MESSAGE_MAX / 3; i++)
		strcat(g.rf.message, euro);
	assert_int_equal(strlen(g.rf.message), PROTO_MESSAGE_MAX);
	roundtrip(K_REFUSAL, 1 + 33 + 2 + PROTO_MESSAGE_MAX);
	assert_int_equal(strlen(g.rf.message), PROTO_MESSAGE_MAX);
}

/* ------------------------------------------------------------ encoders */

/* Every capacity short of the body: MRX_ENOSPC and the size needed. */
static void
test_encode_nospace(void **state)
{
	uint8_t out[BUF_MAX], *c;
	struct bb o;
	size_t i, cap, n;

	(void)state;
	bb_init(&o);
	for (i = 0; i < NELEM(samples); i++) {
		decode_sample(samples[i].name, &o);
		for (cap = 0; cap < o.n; cap++) {
			c = cap > 0 ? malloc(cap) : NULL;
			n = 0;
			assert_int_equal(reencode(samples[i].k, c, cap, &n),
			    MRX_ENOSPC);
			assert_int_equal(n, o.n);
			free(c);
		}
		assert_int_equal(reencode(samples[i].k, out, o.n, &n), 0);
		expect_bytes(out, n, &o);
	}
	bb_fini(&o);
}

static void
test_encode_invalid(void **state)
{
	struct proto_catchup_req cr = { .issuer = "jp.meti",
		.uri = "mrx://jp.meti/status/0" };
	struct proto_present pr = { .record = { rec_a, 3 }, .access = "UK:SC" };
	struct proto_present_resp prr = { 0, { rec_a, 3 } };
	struct proto_blinded bl = { .agreement = "jp-uk.2025" };
	struct proto_blinded keys[PROTO_SURVEY_KEYS_MAX + 1];
	struct proto_bytes recs[PROTO_BATCH_MAX + 1];
	struct proto_found fd = { false, { NULL, 0 } };
	char msg[PROTO_MESSAGE_MAX + 2];
	uint8_t out[BUF_MAX];
	size_t n, i;

	(void)state;
	/* the good ones first: each test below breaks one thing */
	assert_int_equal(proto_catchup_req_encode(&cr, out, sizeof(out), &n),
	    0);
	assert_int_equal(proto_present_encode(&pr, out, sizeof(out), &n), 0);
	assert_int_equal(proto_present_resp_encode(&prr, out, sizeof(out),
	    &n), 0);
	assert_int_equal(proto_confirm_req_encode(&bl, out, sizeof(out), &n),
	    0);
	assert_int_equal(proto_found_encode(&fd, out, sizeof(out), &n), 0);

	/* arguments */
	assert_int_equal(proto_catchup_req_encode(NULL, out, 9, &n),
	    MRX_EINVAL);
	assert_int_equal(proto_catchup_req_encode(&cr, out, 9, NULL),
	    MRX_EINVAL);
	assert_int_equal(proto_catchup_req_encode(&cr, NULL, 9, &n),
	    MRX_EINVAL);
	assert_int_equal(proto_fetch_req_encode(NULL, out, 9, &n), MRX_EINVAL);
	assert_int_equal(proto_batch_encode(NULL, 1, out, 9, &n), MRX_EINVAL);
	assert_int_equal(proto_survey_encode(NULL, 1, out, 9, &n), MRX_EINVAL);
	assert_int_equal(proto_refusal_encode(NULL, "", out, 9, &n),
	    MRX_EINVAL);
	assert_int_equal(proto_refusal_encode("", NULL, out, 9, &n),
	    MRX_EINVAL);

	/* catchup-request: ids, uris, max */
	n = 77;
	snprintf(cr.issuer, sizeof(cr.issuer), "JP.METI");
	assert_int_equal(proto_catchup_req_encode(&cr, out, sizeof(out), &n),
	    MRX_EINVAL);
	assert_int_equal(n, 0);
	memset(cr.issuer, 'a', sizeof(cr.issuer));	/* no NUL */
	assert_int_equal(proto_catchup_req_encode(&cr, out, sizeof(out), &n),
	    MRX_EINVAL);
	snprintf(cr.issuer, sizeof(cr.issuer), "jp.meti");
	snprintf(cr.uri, sizeof(cr.uri), "https://jp.meti/status/0");
	assert_int_equal(proto_catchup_req_encode(&cr, out, sizeof(out), &n),
	    MRX_EINVAL);
	snprintf(cr.uri, sizeof(cr.uri), "mrx://");
	assert_int_equal(proto_catchup_req_encode(&cr, out, sizeof(out), &n),
	    MRX_EINVAL);
	snprintf(cr.uri, sizeof(cr.uri), "mrx://a b");
	assert_int_equal(proto_catchup_req_encode(&cr, out, sizeof(out), &n),
	    MRX_EINVAL);
	memset(cr.uri, 'm', sizeof(cr.uri));
	assert_int_equal(proto_catchup_req_encode(&cr, out, sizeof(out), &n),
	    MRX_EINVAL);
	snprintf(cr.uri, sizeof(cr.uri), "mrx://x");
	cr.max = PROTO_BATCH_MAX + 1;
	assert_int_equal(proto_catchup_req_encode(&cr, out, sizeof(out), &n),
	    MRX_EINVAL);
	cr.max = PROTO_BATCH_MAX;
	assert_int_equal(proto_catchup_req_encode(&cr, out, sizeof(out), &n),
	    0);

	/* batch: count and record sizes */
	for (i = 0; i <= PROTO_BATCH_MAX; i++) {
		recs[i].p = rec_a;
		recs[i].n = 1;
	}
	assert_int_equal(proto_batch_encode(recs, PROTO_BATCH_MAX + 1, out,
	    sizeof(out), &n), MRX_EINVAL);
	recs[1].n = 0;
	assert_int_equal(proto_batch_encode(recs, 2, out, sizeof(out), &n),
	    MRX_EINVAL);
	recs[1].n = PROTO_ENV_BODY_MAX + 1;	/* never read */
	assert_int_equal(proto_batch_encode(recs, 2, out, sizeof(out), &n),
	    MRX_EINVAL);
	recs[1].p = NULL;
	recs[1].n = 0;
	assert_int_equal(proto_batch_encode(recs, 2, out, sizeof(out), &n),
	    MRX_EINVAL);

	/* present: records, access, scope */
	pr.record.p = NULL;
	pr.record.n = 0;
	assert_int_equal(proto_present_encode(&pr, out, sizeof(out), &n),
	    MRX_EINVAL);
	pr.record.p = rec_a;
	pr.record.n = 3;
	pr.operator_record.n = 1;	/* with p NULL */
	assert_int_equal(proto_present_encode(&pr, out, sizeof(out), &n),
	    MRX_EINVAL);
	pr.operator_record.p = rec_b;
	pr.operator_record.n = 0;
	assert_int_equal(proto_present_encode(&pr, out, sizeof(out), &n),
	    MRX_EINVAL);
	pr.operator_record.p = NULL;
	memset(pr.access, 'A', sizeof(pr.access));
	assert_int_equal(proto_present_encode(&pr, out, sizeof(out), &n),
	    MRX_EINVAL);
	snprintf(pr.access, sizeof(pr.access), "UK:\xc3");	/* cut UTF-8 */
	assert_int_equal(proto_present_encode(&pr, out, sizeof(out), &n),
	    MRX_EINVAL);
	snprintf(pr.access, sizeof(pr.access), "UK:SC");
	memset(pr.scope, 's', sizeof(pr.scope));
	assert_int_equal(proto_present_encode(&pr, out, sizeof(out), &n),
	    MRX_EINVAL);

	/* present-response: verdict, document */
	prr.verdict = 3;
	assert_int_equal(proto_present_resp_encode(&prr, out, sizeof(out),
	    &n), MRX_EINVAL);
	prr.verdict = 2;
	prr.json.n = 0;
	assert_int_equal(proto_present_resp_encode(&prr, out, sizeof(out),
	    &n), MRX_EINVAL);
	prr.json.n = PROTO_DECISION_JSON_MAX + 1;
	assert_int_equal(proto_present_resp_encode(&prr, out, sizeof(out),
	    &n), MRX_EINVAL);
	prr.json.p = NULL;
	prr.json.n = 0;
	assert_int_equal(proto_present_resp_encode(&prr, out, sizeof(out),
	    &n), MRX_EINVAL);

	/* confirm-request, survey: ids, count */
	snprintf(bl.agreement, sizeof(bl.agreement), "-jp");
	assert_int_equal(proto_confirm_req_encode(&bl, out, sizeof(out), &n),
	    MRX_EINVAL);
	bl.agreement[0] = '\0';
	assert_int_equal(proto_confirm_req_encode(&bl, out, sizeof(out), &n),
	    MRX_EINVAL);
	memset(keys, 0, sizeof(keys));
	for (i = 0; i <= PROTO_SURVEY_KEYS_MAX; i++) {
		snprintf(keys[i].node, sizeof(keys[i].node), "n");
		snprintf(keys[i].agreement, sizeof(keys[i].agreement), "a");
	}
	assert_int_equal(proto_survey_encode(keys, PROTO_SURVEY_KEYS_MAX,
	    out, sizeof(out), &n), 0);
	assert_int_equal(proto_survey_encode(keys, PROTO_SURVEY_KEYS_MAX + 1,
	    out, sizeof(out), &n), MRX_EINVAL);
	keys[1].node[0] = '\0';		/* a survey entry names its node */
	assert_int_equal(proto_survey_encode(keys, 2, out, sizeof(out), &n),
	    MRX_EINVAL);
	snprintf(keys[1].node, sizeof(keys[1].node), "n_1");
	assert_int_equal(proto_survey_encode(keys, 2, out, sizeof(out), &n),
	    MRX_EINVAL);

	/* found: the record */
	fd.record.n = 3;
	assert_int_equal(proto_found_encode(&fd, out, sizeof(out), &n),
	    MRX_EINVAL);
	fd.record.p = rec_a;
	fd.record.n = 0;
	assert_int_equal(proto_found_encode(&fd, out, sizeof(out), &n),
	    MRX_EINVAL);

	/* refusal: lengths, UTF-8 */
	assert_int_equal(proto_refusal_encode(
	    "cccccccccccccccccccccccccccccccc", "", out, sizeof(out), &n),
	    MRX_EINVAL);
	assert_int_equal(proto_refusal_encode(
	    "ccccccccccccccccccccccccccccccc", "", out, sizeof(out), &n), 0);
	fill_str(msg, PROTO_MESSAGE_MAX + 1, 'm');
	assert_int_equal(proto_refusal_encode("c", msg, out, sizeof(out), &n),
	    MRX_EINVAL);
	msg[PROTO_MESSAGE_MAX] = '\0';
	assert_int_equal(proto_refusal_encode("c", msg, out, sizeof(out), &n),
	    0);
	assert_int_equal(proto_refusal_encode("c", "\xed\xa0\x80", out,
	    sizeof(out), &n), MRX_EINVAL);	/* a surrogate */
	assert_int_equal(proto_refusal_encode("\xc0\xaf", "", out,
	    sizeof(out), &n), MRX_EINVAL);	/* overlong */
}

/* ------------------------------------------------------------ structure */

static void
test_truncated(void **state)
{
	struct bb o, p;
	size_t i, cut;

	(void)state;
	bb_init(&o);
	bb_init(&p);
	for (i = 0; i < NELEM(samples); i++) {
		build(&samples[i], -1, NULL, &o, NULL);
		expect_ok(samples[i].k, &o);
		for (cut = 0; cut < o.n; cut++) {
			p.n = 0;
			bb_raw(&p, o.b, cut);
			expect_dec(samples[i].k, &p, MRX_ETRUNC, NULL,
			    NO_OFF);
		}
	}
	bb_fini(&p);
	bb_fini(&o);
}

static void
test_trailing(void **state)
{
	static const uint8_t extra[] = { 0x00, 0x80, 0xf6, 0xff };
	struct bb o;
	size_t i, j, len;

	(void)state;
	bb_init(&o);
	for (i = 0; i < NELEM(samples); i++) {
		for (j = 0; j < NELEM(extra); j++) {
			build(&samples[i], -1, NULL, &o, NULL);
			len = o.n;
			bb_byte(&o, extra[j]);
			expect_dec(samples[i].k, &o, MRX_EMALFORMED, "body",
			    len);
		}
		/* the sample twice */
		build(&samples[i], -1, NULL, &o, NULL);
		len = o.n;
		bb_raw(&o, o.b, len);
		expect_dec(samples[i].k, &o, MRX_EMALFORMED, "body", len);
	}
	bb_fini(&o);
}

/* One item of every CBOR type, some with longer heads or a tag. */
static const struct {
	const char *hex;
	enum cry_cbor_type t;
} items[] = {
	{ "00", CRY_CBOR_UINT }, { "1818", CRY_CBOR_UINT },
	{ "1bffffffffffffffff", CRY_CBOR_UINT }, { "20", CRY_CBOR_NEGINT },
	{ "3903e7", CRY_CBOR_NEGINT }, { "40", CRY_CBOR_BSTR },
	{ "4100", CRY_CBOR_BSTR }, { "60", CRY_CBOR_TSTR },
	{ "6161", CRY_CBOR_TSTR }, { "80", CRY_CBOR_ARRAY },
	{ "8100", CRY_CBOR_ARRAY }, { "a0", CRY_CBOR_MAP },
	{ "a10000", CRY_CBOR_MAP }, { "c060", CRY_CBOR_TAG },
	{ "c64100", CRY_CBOR_TAG }, { "d81840", CRY_CBOR_TAG },
	{ "f4", CRY_CBOR_FALSE }, { "f5", CRY_CBOR_TRUE },
	{ "f6", CRY_CBOR_NULL }, { "f7", CRY_CBOR_UNDEF },
	{ "f93c00", CRY_CBOR_FLOAT }, { "fa3f800000", CRY_CBOR_FLOAT },
	{ "fb3ff0000000000000", CRY_CBOR_FLOAT },
};

static void
test_wrong_type(void **state)
{
	struct bb r;
	size_t i, j, t;

	(void)state;
	bb_init(&r);
	for (i = 0; i < NELEM(samples); i++) {
		const struct sample *s = &samples[i];

		/* the body itself */
		for (t = 0; t < NELEM(items); t++) {
			if (items[t].t == CRY_CBOR_ARRAY)
				continue;
			bb_one(&r, items[t].hex);
			expect_dec(s->k, &r, MRX_ETYPE, "body", 0);
		}
		for (j = 0; j < s->n; j++) {
			for (t = 0; t < NELEM(items); t++) {
				if (s->ok[j] & BIT(items[t].t))
					continue;
				bb_one(&r, items[t].hex);
				expect_elem(s, j, &r, MRX_ETYPE);
			}
			/* a tag around the good element */
			bb_one(&r, "c0");
			bb_hex(&r, s->el[j]);
			expect_elem(s, j, &r, MRX_ETYPE);
		}
	}
	bb_fini(&r);
}

/* The survey entries' elements, one by one. */
static void
test_wrong_type_survey_entry(void **state)
{
	static const char *const el[3] = { "67 6a702e6d657469",
		"6a 6a702d756b2e32303235", KEY_A };
	static const unsigned ok[3] = { B_TSTR, B_TSTR, B_BSTR };
	const struct sample *s = sample_named("survey");
	struct bb e, o;
	char field[32];
	size_t j, k, t, off = 0, eoff = 0;

	(void)state;
	bb_init(&e);
	bb_init(&o);
	for (j = 0; j < 3; j++) {
		for (t = 0; t < NELEM(items); t++) {
			if (ok[j] & BIT(items[t].t))
				continue;
			bb_one(&e, "83");
			for (k = 0; k < 3; k++) {
				if (k == j)
					off = e.n;
				bb_hex(&e, k == j ? items[t].hex : el[k]);
			}
			build(s, 1, &e, &o, &eoff);
			snprintf(field, sizeof(field), "body[1][%zu]", j);
			assert_int_equal(eoff, 1 + 54);	/* after entry 0 */
			expect_dec(K_SURVEY, &o, MRX_ETYPE, field, eoff + off);
		}
	}
	bb_fini(&o);
	bb_fini(&e);
}

/* Arrays one element short or long. */
static void
test_wrong_length(void **state)
{
	static const char *const heads[] = { "80", "81", "82", "83", "84",
		"85", "97" };
	static const char *const bad_entries[] = { "80", "82 6161 6161",
		"84 6161 6161 " KEY_A " 00" };
	const struct sample *sv = sample_named("survey");
	struct bb o, r;
	size_t i, h, e;

	(void)state;
	bb_init(&o);
	bb_init(&r);
	for (i = 0; i < NELEM(samples); i++) {
		const struct sample *s = &samples[i];

		if (s->k == K_BATCH || s->k == K_SURVEY)
			continue;	/* any length: see test_limits_* */
		for (h = 0; h < NELEM(heads); h++) {
			bb_one(&r, heads[h]);
			if (strtoul(heads[h], NULL, 16) - 0x80 == s->n)
				continue;
			build(s, -1, NULL, &o, NULL);
			memcpy(o.b, r.b, 1);
			expect_dec(s->k, &o, MRX_EMALFORMED, "body", 0);
		}
	}
	for (e = 0; e < NELEM(bad_entries); e++) {
		bb_one(&r, bad_entries[e]);
		expect_elem(sv, 0, &r, MRX_EMALFORMED);
	}
	bb_fini(&r);
	bb_fini(&o);
}

/* The element (a hex item) with its head one size longer. */
static bool
longer_head(const char *hex, struct bb *out)
{
	struct bb in;
	uint8_t b, major, ai;
	size_t i, hl;

	bb_init(&in);
	bb_hex(&in, hex);
	b = in.b[0];
	major = b >> 5;
	ai = b & 0x1f;
	out->n = 0;
	if (major == 7) {
		bool simple = ai >= 20 && ai <= 23;

		if (simple) {
			bb_byte(out, 0xf8);
			bb_byte(out, ai);
		}
		bb_fini(&in);
		return simple;
	}
	hl = ai < 24 ? 1 : 1 + ((size_t)1 << (ai - 24));
	assert_true(ai < 27);
	bb_byte(out, (uint8_t)(major << 5 | (ai < 24 ? 24 : ai + 1)));
	/* the argument, zero-extended to twice its width */
	if (ai < 24) {
		bb_byte(out, ai);
	} else {
		for (i = 0; i < hl - 1; i++)
			bb_byte(out, 0);
		bb_raw(out, in.b + 1, hl - 1);
	}
	bb_raw(out, in.b + hl, in.n - hl);
	bb_fini(&in);
	return true;
}

static void
test_not_shortest(void **state)
{
	struct bb o, r;
	size_t i, j;

	(void)state;
	bb_init(&o);
	bb_init(&r);
	for (i = 0; i < NELEM(samples); i++) {
		const struct sample *s = &samples[i];

		/* the body's own head */
		assert_true(longer_head(s->head, &r));
		o.n = 0;
		bb_raw(&o, r.b, r.n);
		for (j = 0; j < s->n; j++)
			bb_hex(&o, s->el[j]);
		expect_dec(s->k, &o, MRX_EMALFORMED, "body", 0);
		for (j = 0; j < s->n; j++) {
			assert_true(longer_head(s->el[j], &r));
			expect_elem(s, j, &r, MRX_EMALFORMED);
		}
	}
	/* a uint with a longer head than needed, at each width */
	bb_one(&r, "1900ff");
	expect_elem(sample_named("catchup"), 2, &r, MRX_EMALFORMED);
	bb_one(&r, "1a0000ffff");
	expect_elem(sample_named("catchup"), 2, &r, MRX_EMALFORMED);
	bb_one(&r, "1b00000000ffffffff");
	expect_elem(sample_named("catchup"), 2, &r, MRX_EMALFORMED);
	bb_one(&r, "1b0000000100000000");	/* shortest: accepted */
	expect_elem(sample_named("catchup"), 2, &r, 0);
	/* a reserved additional information, a lone break */
	bb_one(&r, "1c");
	expect_elem(sample_named("catchup"), 2, &r, MRX_EMALFORMED);
	bb_one(&r, "ff");
	expect_elem(sample_named("catchup"), 2, &r, MRX_EMALFORMED);
	bb_fini(&r);
	bb_fini(&o);
}

static void
test_indefinite(void **state)
{
	struct bb o, r, in;
	size_t i, j, hl;
	uint8_t major, ai;

	(void)state;
	bb_init(&o);
	bb_init(&r);
	bb_init(&in);
	for (i = 0; i < NELEM(samples); i++) {
		const struct sample *s = &samples[i];

		bb_one(&o, "9f");
		for (j = 0; j < s->n; j++)
			bb_hex(&o, s->el[j]);
		bb_byte(&o, 0xff);
		expect_dec(s->k, &o, MRX_EMALFORMED, "body", 0);
		for (j = 0; j < s->n; j++) {
			bb_one(&in, s->el[j]);
			major = in.b[0] >> 5;
			ai = in.b[0] & 0x1f;
			if (major < 2 || major > 4)
				continue;
			hl = ai < 24 ? 1 : 1 + ((size_t)1 << (ai - 24));
			r.n = 0;
			bb_byte(&r, (uint8_t)(major << 5 | 31));
			/* a string keeps itself as its one chunk */
			if (major == 4)
				bb_raw(&r, in.b + hl, in.n - hl);
			else
				bb_raw(&r, in.b, in.n);
			bb_byte(&r, 0xff);
			expect_elem(s, j, &r, MRX_EMALFORMED);
		}
	}
	bb_fini(&in);
	bb_fini(&r);
	bb_fini(&o);
}

static void
test_tagged_body(void **state)
{
	static const char *const tags[] = { "c0", "c6", "d818", "d9d9f7" };
	struct bb o;
	size_t i, t, j;

	(void)state;
	bb_init(&o);
	for (i = 0; i < NELEM(samples); i++) {
		for (t = 0; t < NELEM(tags); t++) {
			bb_one(&o, tags[t]);
			bb_hex(&o, samples[i].head);
			for (j = 0; j < samples[i].n; j++)
				bb_hex(&o, samples[i].el[j]);
			expect_dec(samples[i].k, &o, MRX_ETYPE, "body", 0);
		}
	}
	bb_fini(&o);
}

/* ------------------------------------------------------------ limits */

/* Element idx of sample `name` as text s (n bytes). */
static void
text_elem(const char *name, size_t idx, const char *s, size_t n, int code)
{
	struct bb r;

	bb_init(&r);
	r.n = 0;
	bb_textn(&r, s, n);
	expect_elem(sample_named(name), idx, &r, code);
	bb_fini(&r);
}

static void
rep_elem(const char *name, size_t idx, size_t n, char c, int code)
{
	struct bb r;

	bb_init(&r);
	bb_rep(&r, n, c);
	expect_elem(sample_named(name), idx, &r, code);
	bb_fini(&r);
}

static void
hex_elem(const char *name, size_t idx, const char *hex, int code)
{
	struct bb r;

	bb_init(&r);
	bb_hex(&r, hex);
	expect_elem(sample_named(name), idx, &r, code);
	bb_fini(&r);
}

static void
bytes_elem(const char *name, size_t idx, size_t n, int code)
{
	struct bb r;

	bb_init(&r);
	bb_fill(&r, n, 0x42);
	expect_elem(sample_named(name), idx, &r, code);
	bb_fini(&r);
}

#define TXT(s) (s), sizeof(s) - 1

/* Bad UTF-8, NUL, oversize, for a text element of max bytes. */
static void
text_rules(const char *name, size_t idx, size_t max)
{
	static const char *const bad_utf8[] = { "\x80", "\xc3", "\xc0\xaf",
		"\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf8\x88",
		"\xff" };
	size_t i;

	for (i = 0; i < NELEM(bad_utf8); i++)
		text_elem(name, idx, bad_utf8[i], strlen(bad_utf8[i]),
		    MRX_EMALFORMED);
	text_elem(name, idx, TXT("a\0b"), MRX_ERANGE);
	rep_elem(name, idx, max + 1, 'a', MRX_ETOOBIG);
	rep_elem(name, idx, 1000, 'a', MRX_ETOOBIG);
}

static void
test_limits_catchup(void **state)
{
	char uri[PROTO_URI_MAX + 2];

	(void)state;
	/* issuer */
	text_rules("catchup", 0, PROTO_ID_MAX);
	text_elem("catchup", 0, TXT(""), MRX_ERANGE);
	text_elem("catchup", 0, TXT("JP.METI"), MRX_ERANGE);
	text_elem("catchup", 0, TXT("-jp"), MRX_ERANGE);
	text_elem("catchup", 0, TXT("jp_meti"), MRX_ERANGE);
	text_elem("catchup", 0, TXT("\xc3\xa9t\xc3\xa9"), MRX_ERANGE);
	rep_elem("catchup", 0, PROTO_ID_MAX, 'a', 0);
	rep_elem("catchup", 0, 1, '0', 0);
	/* uri */
	text_rules("catchup", 1, PROTO_URI_MAX);
	text_elem("catchup", 1, TXT("https://jp.meti/status/0"), MRX_ERANGE);
	text_elem("catchup", 1, TXT("MRX://jp.meti/status/0"), MRX_ERANGE);
	text_elem("catchup", 1, TXT("mrx:/jp.meti"), MRX_ERANGE);
	text_elem("catchup", 1, TXT("mrx://"), MRX_ERANGE);
	text_elem("catchup", 1, TXT("mrx://a b"), MRX_ERANGE);
	text_elem("catchup", 1, TXT("mrx://a\x7f"), MRX_ERANGE);
	text_elem("catchup", 1, TXT("mrx://\xc3\xa9"), MRX_ERANGE);
	text_elem("catchup", 1, TXT("mrx://!~"), 0);
	memset(uri, 'u', sizeof(uri));
	memcpy(uri, "mrx://", 6);
	text_elem("catchup", 1, uri, PROTO_URI_MAX, 0);
	text_elem("catchup", 1, uri, PROTO_URI_MAX + 1, MRX_ETOOBIG);
	/* from: any uint64, no negative */
	hex_elem("catchup", 2, "1bffffffffffffffff", 0);
	hex_elem("catchup", 2, "00", 0);
	hex_elem("catchup", 2, "20", MRX_ETYPE);
	/* max: 0..PROTO_BATCH_MAX */
	hex_elem("catchup", 3, "190400", 0);
	hex_elem("catchup", 3, "190401", MRX_ERANGE);
	hex_elem("catchup", 3, "1a00010000", MRX_ERANGE);
	hex_elem("catchup", 3, "1bffffffffffffffff", MRX_ERANGE);
}

static void
test_limits_batch(void **state)
{
	size_t big_n = PROTO_ENV_BODY_MAX + 1, i;
	struct bb o;

	(void)state;
	bb_init(&o);
	/* counts: the limit, over it, over the caller's room */
	bb_one(&o, "990400");
	for (i = 0; i < PROTO_BATCH_MAX; i++)
		bb_hex(&o, "4100");
	expect_ok(K_BATCH, &o);
	assert_int_equal(g.nrecs, PROTO_BATCH_MAX);
	assert_int_equal(g.recs[PROTO_BATCH_MAX - 1].n, 1);
	bb_one(&o, "990401");
	for (i = 0; i <= PROTO_BATCH_MAX; i++)
		bb_hex(&o, "4100");
	expect_dec(K_BATCH, &o, MRX_ETOOBIG, "body", 0);
	bb_one(&o, "9bffffffffffffffff");
	expect_dec(K_BATCH, &o, MRX_ETOOBIG, "body", 0);
	build(sample_named("batch"), -1, NULL, &o, NULL);
	g_max_recs = 1;
	expect_dec(K_BATCH, &o, MRX_ETOOBIG, "body", 0);
	g_max_recs = 2;
	expect_ok(K_BATCH, &o);
	g_max_recs = 0;
	bb_one(&o, "80");
	assert_int_equal(proto_batch_decode(o.b, o.n, NULL, 0, &i, NULL), 0);
	assert_int_equal(i, 0);
	g_max_recs = PROTO_BATCH_MAX;
	/* records: 1..PROTO_ENV_BODY_MAX bytes */
	bytes_elem("batch", 1, 0, MRX_ERANGE);
	hex_elem("batch", 1, "f6", MRX_ETYPE);
	bytes_elem("batch", 1, PROTO_ENV_BODY_MAX, 0);
	bytes_elem("batch", 1, big_n, MRX_ETOOBIG);
	/* a length no input can hold: truncated, not too big */
	hex_elem("batch", 1, "5b7fffffffffffffff", MRX_ETRUNC);
	bb_fini(&o);
}

static void
test_limits_fetch_found(void **state)
{
	(void)state;
	bytes_elem("fetch", 0, PROTO_CTI_LEN - 1, MRX_ERANGE);
	bytes_elem("fetch", 0, PROTO_CTI_LEN + 1, MRX_ERANGE);
	bytes_elem("fetch", 0, 0, MRX_ERANGE);
	bytes_elem("fetch", 0, PROTO_CTI_LEN, 0);
	text_elem("fetch", 0, TXT("0123456789abcdef"), MRX_ETYPE);

	hex_elem("found", 0, "00", MRX_ETYPE);
	hex_elem("found", 0, "01", MRX_ETYPE);
	hex_elem("found", 0, "f6", MRX_ETYPE);
	hex_elem("found", 0, "f4", 0);
	hex_elem("found", 1, "f6", 0);
	bytes_elem("found", 1, 0, MRX_ERANGE);
	bytes_elem("found", 1, PROTO_ENV_BODY_MAX, 0);
	bytes_elem("found", 1, PROTO_ENV_BODY_MAX + 1, MRX_ETOOBIG);
	hex_elem("not-found", 1, "f7", MRX_ETYPE);
	hex_elem("not-found", 0, "f5", 0);
}

static void
test_limits_present(void **state)
{
	(void)state;
	/* record: no null */
	hex_elem("present", 0, "f6", MRX_ETYPE);
	bytes_elem("present", 0, 0, MRX_ERANGE);
	bytes_elem("present", 0, PROTO_ENV_BODY_MAX + 1, MRX_ETOOBIG);
	/* operator record: null or 1.. bytes */
	bytes_elem("present", 1, 0, MRX_ERANGE);
	bytes_elem("present", 1, 1, 0);
	bytes_elem("present", 1, PROTO_ENV_BODY_MAX + 1, MRX_ETOOBIG);
	/* access, scope */
	text_rules("present", 2, PROTO_LEVEL_MAX);
	rep_elem("present", 2, PROTO_LEVEL_MAX, 'A', 0);
	hex_elem("present", 2, "f6", MRX_ETYPE);
	text_rules("present", 3, PROTO_SCOPE_MAX);
	rep_elem("present", 3, PROTO_SCOPE_MAX, 's', 0);
	text_elem("present", 3, TXT(""), 0);
	hex_elem("present", 3, "f6", MRX_ETYPE);
}

static void
test_limits_present_resp(void **state)
{
	(void)state;
	hex_elem("present-resp", 0, "00", 0);
	hex_elem("present-resp", 0, "01", 0);
	hex_elem("present-resp", 0, "03", MRX_ERANGE);
	hex_elem("present-resp", 0, "18ff", MRX_ERANGE);
	hex_elem("present-resp", 0, "1bffffffffffffffff", MRX_ERANGE);
	hex_elem("present-resp", 0, "20", MRX_ETYPE);
	bytes_elem("present-resp", 1, 0, MRX_ERANGE);
	bytes_elem("present-resp", 1, PROTO_DECISION_JSON_MAX, 0);
	bytes_elem("present-resp", 1, PROTO_DECISION_JSON_MAX + 1,
	    MRX_ETOOBIG);
	text_elem("present-resp", 1, TXT("{}"), MRX_ETYPE);
	hex_elem("present-resp", 1, "f6", MRX_ETYPE);
}

static void
test_limits_confirm(void **state)
{
	(void)state;
	text_rules("confirm", 0, PROTO_ID_MAX);
	text_elem("confirm", 0, TXT(""), MRX_ERANGE);
	text_elem("confirm", 0, TXT("JP-UK"), MRX_ERANGE);
	text_elem("confirm", 0, TXT(".jp"), MRX_ERANGE);
	rep_elem("confirm", 0, PROTO_ID_MAX, '7', 0);
	bytes_elem("confirm", 1, PROTO_BLIND_LEN - 1, MRX_ERANGE);
	bytes_elem("confirm", 1, PROTO_BLIND_LEN + 1, MRX_ERANGE);
	bytes_elem("confirm", 1, 0, MRX_ERANGE);
	bytes_elem("confirm", 1, PROTO_BLIND_LEN, 0);
}

/* A survey of one entry [node, agreement, key of keylen bytes]. */
static void
survey_one(struct bb *o, const char *node, const char *agr, size_t keylen)
{
	bb_one(o, "81 83");
	bb_text(o, node);
	bb_text(o, agr);
	bb_fill(o, keylen, 7);
}

static void
test_limits_survey(void **state)
{
	char id64[PROTO_ID_MAX + 2];
	struct bb o;
	size_t i;

	(void)state;
	bb_init(&o);
	bb_one(&o, "9840");
	for (i = 0; i < PROTO_SURVEY_KEYS_MAX; i++)
		bb_hex(&o, "83 6161 6162 " KEY_A);
	expect_ok(K_SURVEY, &o);
	assert_int_equal(g.nkeys, PROTO_SURVEY_KEYS_MAX);
	assert_string_equal(g.keys[63].agreement, "b");
	bb_one(&o, "9841");
	for (i = 0; i <= PROTO_SURVEY_KEYS_MAX; i++)
		bb_hex(&o, "83 6161 6162 " KEY_A);
	expect_dec(K_SURVEY, &o, MRX_ETOOBIG, "body", 0);
	build(sample_named("survey"), -1, NULL, &o, NULL);
	g_max_keys = 1;
	expect_dec(K_SURVEY, &o, MRX_ETOOBIG, "body", 0);
	g_max_keys = PROTO_SURVEY_KEYS_MAX;

	/* the entry's fields, at body[0][j], offsets 2, 2 + node, ... */
	survey_one(&o, "jp.meti", "jp-uk", PROTO_BLIND_LEN);
	expect_ok(K_SURVEY, &o);
	survey_one(&o, "JP", "jp-uk", PROTO_BLIND_LEN);
	expect_dec(K_SURVEY, &o, MRX_ERANGE, "body[0][0]", 2);
	survey_one(&o, "", "jp-uk", PROTO_BLIND_LEN);
	expect_dec(K_SURVEY, &o, MRX_ERANGE, "body[0][0]", 2);
	survey_one(&o, "jp", "jp_uk", PROTO_BLIND_LEN);
	expect_dec(K_SURVEY, &o, MRX_ERANGE, "body[0][1]", 5);
	survey_one(&o, "jp", "jp-uk", PROTO_BLIND_LEN - 1);
	expect_dec(K_SURVEY, &o, MRX_ERANGE, "body[0][2]", 11);
	survey_one(&o, "jp", "jp-uk", PROTO_BLIND_LEN + 1);
	expect_dec(K_SURVEY, &o, MRX_ERANGE, "body[0][2]", 11);
	memset(id64, 'a', sizeof(id64));
	id64[PROTO_ID_MAX + 1] = '\0';
	survey_one(&o, id64, "jp-uk", PROTO_BLIND_LEN);
	expect_dec(K_SURVEY, &o, MRX_ETOOBIG, "body[0][0]", 2);
	id64[PROTO_ID_MAX] = '\0';
	survey_one(&o, "jp", id64, PROTO_BLIND_LEN);
	expect_ok(K_SURVEY, &o);
	survey_one(&o, "jp", "\xc3", PROTO_BLIND_LEN);
	expect_dec(K_SURVEY, &o, MRX_EMALFORMED, "body[0][1]", 5);
	bb_fini(&o);
}

static void
test_limits_refusal(void **state)
{
	char msg[PROTO_MESSAGE_MAX + 4];
	size_t i;

	(void)state;
	text_rules("refusal", 0, PROTO_CODE_MAX);
	rep_elem("refusal", 0, PROTO_CODE_MAX, 'c', 0);
	text_rules("refusal", 1, PROTO_MESSAGE_MAX);
	rep_elem("refusal", 1, PROTO_MESSAGE_MAX, 'm', 0);
	/* 85 three-byte characters: 255 bytes; one more byte is too many */
	for (i = 0; i < PROTO_MESSAGE_MAX; i += 3)
		memcpy(msg + i, "\xe2\x82\xac", 3);
	text_elem("refusal", 1, msg, PROTO_MESSAGE_MAX, 0);
	assert_memory_equal(g.rf.message, msg, PROTO_MESSAGE_MAX);
	msg[PROTO_MESSAGE_MAX] = '!';
	text_elem("refusal", 1, msg, PROTO_MESSAGE_MAX + 1, MRX_ETOOBIG);
	/* a character cut by the length */
	text_elem("refusal", 1, msg, PROTO_MESSAGE_MAX - 1, MRX_EMALFORMED);
	text_elem("refusal", 1, TXT("\xf0\x9f\x98\x80 ok"), 0);
}

static void
test_decode_args(void **state)
{
	static const uint8_t b[] = { 0x80 };
	struct proto_catchup_req cr;
	struct proto_bytes rec;
	struct proto_blinded bl;
	uint8_t cti[PROTO_CTI_LEN];
	size_t n;

	(void)state;
	assert_int_equal(proto_catchup_req_decode(b, 1, NULL, NULL),
	    MRX_EINVAL);
	assert_int_equal(proto_catchup_req_decode(NULL, 1, &cr, NULL),
	    MRX_EINVAL);
	assert_int_equal(proto_catchup_req_decode(NULL, 0, &cr, NULL),
	    MRX_ETRUNC);
	assert_int_equal(proto_batch_decode(b, 1, &rec, 1, NULL, NULL),
	    MRX_EINVAL);
	assert_int_equal(proto_batch_decode(b, 1, NULL, 1, &n, NULL),
	    MRX_EINVAL);
	assert_int_equal(proto_batch_decode(b, 1, &rec, 1, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(proto_fetch_req_decode(b, 1, NULL, NULL), MRX_EINVAL);
	assert_int_equal(proto_fetch_req_decode(b, 1, cti, NULL),
	    MRX_EMALFORMED);
	assert_int_equal(proto_present_decode(b, 1, NULL, NULL), MRX_EINVAL);
	assert_int_equal(proto_present_resp_decode(b, 1, NULL, NULL),
	    MRX_EINVAL);
	assert_int_equal(proto_confirm_req_decode(b, 1, NULL, NULL),
	    MRX_EINVAL);
	assert_int_equal(proto_found_decode(b, 1, NULL, NULL), MRX_EINVAL);
	assert_int_equal(proto_survey_decode(b, 1, NULL, 1, &n, NULL),
	    MRX_EINVAL);
	assert_int_equal(proto_survey_decode(b, 1, &bl, 1, NULL, NULL),
	    MRX_EINVAL);
	assert_int_equal(proto_survey_decode(b, 1, NULL, 0, &n, NULL), 0);
	assert_int_equal(proto_refusal_decode(b, 1, NULL, NULL), MRX_EINVAL);
}

/* A refusal leaves the output zeroed (or *n 0), never half-filled. */
static void
test_decode_failure_output(void **state)
{
	struct bb o, r;
	size_t n = 99;

	(void)state;
	bb_init(&o);
	bb_init(&r);
	bb_one(&r, "03");
	build(sample_named("catchup"), 3, NULL, &o, NULL);	/* 3 of 4 */
	memset(&g.cr, 0x55, sizeof(g.cr));
	expect_dec(K_CATCHUP, &o, MRX_ETRUNC, "body[3]", o.n);
	assert_int_equal(g.cr.issuer[0], '\0');
	assert_int_equal(g.cr.from, 0);
	build(sample_named("refusal"), 1, &r, &o, NULL);
	memset(&g.rf, 0x55, sizeof(g.rf));
	expect_dec(K_REFUSAL, &o, MRX_ETYPE, "body[1]", 14);
	assert_int_equal(g.rf.code[0], '\0');
	build(sample_named("batch"), 1, &r, &o, NULL);
	assert_int_equal(proto_batch_decode(o.b, o.n, g.recs, 4, &n, NULL),
	    MRX_ETYPE);
	assert_int_equal(n, 0);
	bb_fini(&r);
	bb_fini(&o);
}

/* ------------------------------------------------------------ mutation */

static const int allowed[] = { MRX_EMALFORMED, MRX_ETYPE, MRX_ERANGE,
	MRX_ETRUNC, MRX_ETOOBIG };

/* Decodes an exact copy; accepted input must re-encode to itself. */
static int
probe(enum kind k, const uint8_t *b, size_t len)
{
	uint8_t *c = exact(b, len), *again;
	struct mrx_diag d;
	size_t i, n = 0;
	int rc = decode(k, c, len, &d);

	if (rc == 0) {
		again = malloc(len + 1);
		assert_non_null(again);
		assert_int_equal(reencode(k, again, len + 1, &n), 0);
		if (n != len || memcmp(again, c, len) != 0)
			fail_msg("an accepted body does not re-encode to "
			    "itself (%zu bytes, %zu again)", len, n);
		free(again);
	} else {
		for (i = 0; i < NELEM(allowed) && allowed[i] != rc; i++)
			;
		if (i == NELEM(allowed))
			fail_msg("unexpected %s", mrx_errname(rc));
		assert_int_equal(d.code, rc);
		assert_true(strncmp(d.field, "body", 4) == 0);
		assert_true(d.offset <= len);
	}
	free(c);
	return rc;
}

static void
test_mutation(void **state)
{
	static const uint8_t vals[] = { 0x00, 0x01, 0x17, 0x18, 0x1b, 0x1f,
		0x20, 0x3f, 0x40, 0x5f, 0x60, 0x7f, 0x80, 0x9f, 0xa0, 0xc0,
		0xd8, 0xf4, 0xf5, 0xf6, 0xf8, 0xff };
	struct bb o, m;
	size_t i, pos, v, accepted = 0, tried = 0;
	unsigned bit;

	(void)state;
	bb_init(&o);
	bb_init(&m);
	for (i = 0; i < NELEM(samples); i++) {
		build(&samples[i], -1, NULL, &o, NULL);
		for (pos = 0; pos < o.n; pos++) {
			for (bit = 0; bit < 8; bit++) {
				m.n = 0;
				bb_raw(&m, o.b, o.n);
				m.b[pos] ^= (uint8_t)(1u << bit);
				accepted += probe(samples[i].k, m.b, m.n) == 0;
				tried++;
			}
			for (v = 0; v < NELEM(vals); v++) {
				m.n = 0;
				bb_raw(&m, o.b, o.n);
				m.b[pos] = vals[v];
				accepted += probe(samples[i].k, m.b, m.n) == 0;
				tried++;
			}
			/* a byte left out, a byte put in */
			m.n = 0;
			bb_raw(&m, o.b, pos);
			bb_raw(&m, o.b + pos + 1, o.n - pos - 1);
			accepted += probe(samples[i].k, m.b, m.n) == 0;
			m.n = 0;
			bb_raw(&m, o.b, pos);
			bb_byte(&m, o.b[pos]);
			bb_raw(&m, o.b + pos, o.n - pos);
			accepted += probe(samples[i].k, m.b, m.n) == 0;
			tried += 2;
		}
	}
	/* some mutations are valid bodies (a changed key byte): not all */
	assert_true(accepted > 0);
	assert_true(accepted < tried);
	bb_fini(&m);
	bb_fini(&o);
}

/* Many mutations at once, from a fixed seed: the same run every time. */
static void
test_mutation_random(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15u;
	struct bb o;
	size_t i, round, k, muts;

	(void)state;
	bb_init(&o);
	for (round = 0; round < 200000; round++) {
		i = round % NELEM(samples);
		build(&samples[i], -1, NULL, &o, NULL);
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		muts = 1 + (size_t)(x % 4);
		for (k = 0; k < muts; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			o.b[(x >> 8) % o.n] = (uint8_t)x;
		}
		if (x & (1u << 20))
			o.n -= (size_t)((x >> 24) % o.n);
		probe(samples[i].k, o.b, o.n);
		/* every kind's decoder on every other kind's body */
		probe((enum kind)((x >> 40) % K_COUNT), o.b, o.n);
	}
	bb_fini(&o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_requests),
		cmocka_unit_test(test_vectors_responses),
		cmocka_unit_test(test_roundtrip_catchup),
		cmocka_unit_test(test_roundtrip_batch),
		cmocka_unit_test(test_roundtrip_others),
		cmocka_unit_test(test_encode_nospace),
		cmocka_unit_test(test_encode_invalid),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_wrong_type_survey_entry),
		cmocka_unit_test(test_wrong_length),
		cmocka_unit_test(test_not_shortest),
		cmocka_unit_test(test_indefinite),
		cmocka_unit_test(test_tagged_body),
		cmocka_unit_test(test_limits_catchup),
		cmocka_unit_test(test_limits_batch),
		cmocka_unit_test(test_limits_fetch_found),
		cmocka_unit_test(test_limits_present),
		cmocka_unit_test(test_limits_present_resp),
		cmocka_unit_test(test_limits_confirm),
		cmocka_unit_test(test_limits_survey),
		cmocka_unit_test(test_limits_refusal),
		cmocka_unit_test(test_decode_args),
		cmocka_unit_test(test_decode_failure_output),
		cmocka_unit_test(test_mutation),
		cmocka_unit_test(test_mutation_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
