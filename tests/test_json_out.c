/*
 * test_json_out.c - cli_decision_json_write() against the JSON tree it
 * replaces: for hand-made and pseudo-random decisions (every verdict, 0..8
 * reasons, evidence with and without its optional parts, strings with
 * quotes, backslashes, control characters, UTF-8, invalid UTF-8, fields at
 * their maximum length) its bytes must equal json_dumps(cli_decision_json(
 * ...), JSON_COMPACT | JSON_PRESERVE_ORDER), and a buffer too small must
 * give the needed length, a prefix and a NUL, and nothing past its end.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli.h"
#include "decide.h"
#include "ptime.h"

#define GUARD 64
#define ACCESS_MAX 127
#define OUT_MAX 65536

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

static size_t
rnd_below(size_t n)
{
	return (size_t)(rnd() % n);
}

/*
 * Fills s (room for max bytes and the NUL) with a string of the kind k:
 * 0 plain ASCII, 1 JSON specials and control characters, 2 UTF-8, 3 all
 * of these mixed, 4 the mix with an occasional invalid UTF-8 byte.
 */
static void
rnd_str(char *s, size_t max, int k)
{
	static const char *const pieces[] = {
		"\"", "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x01", "\x1f",
		"\x7f", "\\\"", "\"\\", "\\u0041", "\x1b[0m",
	};
	static const char *const utf8[] = {
		"\xc3\xa9", "\xc2\x80", "\xdf\xbf", "\xe2\x82\xac",
		"\xe0\xa0\x80", "\xef\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80",
		"\xf0\x9f\x98\x80", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
		"\xe2\x80\xa8", "\xe2\x80\xa9", "\xef\xbb\xbf",
	};
	static const char *const bad[] = {
		"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc3", "\xe2\x82",
		"\xed\xa0\x80", "\xed\xbf\xbf", "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf",
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xfe",
		"\xc3\x28",
	};
	size_t len, n = 0, pl;
	const char *p;
	char one[2];
	int kind;

	switch (rnd_below(4)) {
	case 0:
		len = max;
		break;
	case 1:
		len = 0;
		break;
	default:
		len = rnd_below(max + 1);
		break;
	}
	while (n < len) {
		kind = k < 3 ? k : (int)rnd_below(k == 4 ? 20 : 3);
		if (kind > 4)
			kind = kind % 3;
		switch (kind) {
		case 0:
			one[0] = (char)(0x20 + rnd_below(0x5f));
			one[1] = '\0';
			p = one;
			break;
		case 1:
			if (rnd_below(2) == 0) {
				one[0] = (char)(1 + rnd_below(0x1f));
				one[1] = '\0';
				p = one;
			} else {
				p = pieces[rnd_below(sizeof(pieces) /
				    sizeof(pieces[0]))];
			}
			break;
		case 2:
			p = utf8[rnd_below(sizeof(utf8) / sizeof(utf8[0]))];
			break;
		default:
			p = bad[rnd_below(sizeof(bad) / sizeof(bad[0]))];
			break;
		}
		pl = strlen(p);
		if (n + pl > len) {
			if (kind == 0 || kind == 1)
				break;
			/* a sequence that does not fit: pad with ASCII */
			s[n++] = 'x';
			continue;
		}
		memcpy(s + n, p, pl);
		n += pl;
	}
	s[n] = '\0';
}

static int64_t
rnd_time(void)
{
	switch (rnd_below(6)) {
	case 0:
		return PROTO_TIME_MIN;
	case 1:
		return PROTO_TIME_MAX;
	case 2:
		return (int64_t)rnd();	/* mostly out of range: "@..." */
	case 3:
		return PROTO_TIME_MIN - 1 - (int64_t)rnd_below(1000);
	default:
		return PROTO_TIME_MIN + (int64_t)(rnd() %
		    (uint64_t)(PROTO_TIME_MAX - PROTO_TIME_MIN + 1));
	}
}

static void
rnd_decision(struct proto_decision *dc, char *access, int k)
{
	size_t i;

	memset(dc, 0, sizeof(*dc));
	dc->verdict = (enum proto_verdict)rnd_below(3);
	dc->nreasons = rnd_below(PROTO_REASONS_MAX + 1);
	for (i = 0; i < dc->nreasons; i++) {
		rnd_str(dc->reasons[i].code, PROTO_CODE_MAX, k);
		rnd_str(dc->reasons[i].message, PROTO_MESSAGE_MAX, k);
	}
	dc->has_cti = rnd_below(2) == 0;
	for (i = 0; i < PROTO_CTI_LEN; i++)
		dc->cti[i] = (uint8_t)rnd();
	rnd_str(dc->issuer, PROTO_ID_MAX, k);
	rnd_str(dc->level, PROTO_LEVEL_MAX, k);
	rnd_str(dc->operator_id, PROTO_ID_MAX, k);
	dc->exp = rnd_time();
	for (i = 0; i < CRY_KID_LEN; i++)
		dc->kid[i] = (uint8_t)rnd();
	switch (rnd_below(4)) {
	case 0:
		dc->alg = CRY_ALG_EDDSA;
		break;
	case 1:
		dc->alg = CRY_ALG_ES256;
		break;
	case 2:
		dc->alg = CRY_ALG_NONE;
		break;
	default:
		dc->alg = (enum cry_alg)(int)(rnd_below(100) + 1);
		break;
	}
	if (rnd_below(2) == 0)
		rnd_str(dc->root, PROTO_ID_MAX, k);
	dc->has_status = rnd_below(2) == 0;
	dc->status_seq = rnd_below(3) == 0 ? UINT64_MAX - rnd_below(3) :
	    rnd_below(2) == 0 ? rnd() : rnd_below(1000);
	dc->status_age_s = rnd_below(4) == 0 ? INT64_MIN :
	    rnd_below(3) == 0 ? INT64_MAX : (int64_t)rnd();
	if (rnd_below(2) == 0)
		rnd_str(dc->agreement, PROTO_SUB_MAX, k);
	switch (rnd_below(4)) {
	case 0:
		dc->agreement_row = -1;
		break;
	case 1:
		dc->agreement_row = INT_MAX - 1;
		break;
	case 2:
		dc->agreement_row = INT_MIN;
		break;
	default:
		dc->agreement_row = (int)rnd_below(1000);
		break;
	}
	rnd_str(access, ACCESS_MAX, k);
}

/* What the JSON tree dumps, or NULL when it cannot be built or dumped. */
static char *
reference(const struct proto_decision *dc, const char *access, int64_t at,
    int64_t now)
{
	json_t *j = cli_decision_json(dc, access, at, now);
	char *s;

	if (j == NULL)
		return NULL;
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return s;
}

static size_t n_checked, n_null;

/* The writer against the reference, with every interesting cap. */
static void
check(const struct proto_decision *dc, const char *access, int64_t at,
    int64_t now)
{
	static char out[OUT_MAX + GUARD];
	char *ref = reference(dc, access, at, now);
	size_t n, rl, caps[8], ncaps = 0, i, j, cap, keep;

	if (ref == NULL) {
		/* cli_decision_json gave nothing: the writer gives 0 */
		memset(out, 0x55, 16);
		assert_int_equal(cli_decision_json_write(dc, access, at, now,
		    out, 16), 0);
		assert_int_equal(out[0], '\0');
		for (i = 1; i < 16; i++)
			assert_int_equal((unsigned char)out[i], 0x55);
		assert_int_equal(cli_decision_json_write(dc, access, at, now,
		    NULL, 0), 0);
		n_null++;
		return;
	}
	rl = strlen(ref);
	assert_true(rl > 0 && rl < OUT_MAX);

	/* exact: the whole output and its NUL */
	memset(out, 0x55, sizeof(out));
	n = cli_decision_json_write(dc, access, at, now, out, OUT_MAX);
	assert_int_equal(n, rl);
	if (memcmp(out, ref, rl + 1) != 0) {
		fprintf(stderr, "want %s\ngot  %.*s\n", ref, (int)n, out);
		fail();
	}
	for (i = rl + 1; i < sizeof(out); i++)
		assert_int_equal((unsigned char)out[i], 0x55);

	/* a NULL buffer of size 0 gives the length */
	assert_int_equal(cli_decision_json_write(dc, access, at, now, NULL,
	    0), rl);

	caps[ncaps++] = 1;
	caps[ncaps++] = 2;
	caps[ncaps++] = rl / 2;
	caps[ncaps++] = rl - 1;
	caps[ncaps++] = rl;
	caps[ncaps++] = rl + 1;
	caps[ncaps++] = 1 + rnd_below(rl + 1);
	for (j = 0; j < ncaps; j++) {
		cap = caps[j];
		if (cap == 0)
			continue;
		memset(out, 0x55, cap + GUARD);
		n = cli_decision_json_write(dc, access, at, now, out, cap);
		assert_int_equal(n, rl);
		keep = rl < cap - 1 ? rl : cap - 1;
		assert_memory_equal(out, ref, keep);
		assert_int_equal(out[keep], '\0');
		for (i = keep + 1; i < cap + GUARD; i++)
			assert_int_equal((unsigned char)out[i], 0x55);
	}
	free(ref);
	n_checked++;
}

static void
fill(char *s, size_t max, char c)
{
	memset(s, c, max);
	s[max] = '\0';
}

static void
test_hand_made(void **state)
{
	struct proto_decision dc;
	char access[ACCESS_MAX + 1];
	size_t i;
	int c;

	(void)state;
	/* empty: no reasons, no evidence */
	memset(&dc, 0, sizeof(dc));
	dc.verdict = PROTO_ACCEPT;
	dc.agreement_row = -1;
	check(&dc, "", 0, 0);
	check(&dc, "door-7", 1790000000, 1790000001);

	/* every verdict, with full evidence */
	for (c = 0; c < 3; c++) {
		memset(&dc, 0, sizeof(dc));
		dc.verdict = (enum proto_verdict)c;
		dc.nreasons = 1;
		snprintf(dc.reasons[0].code, sizeof(dc.reasons[0].code),
		    "revoked");
		snprintf(dc.reasons[0].message,
		    sizeof(dc.reasons[0].message),
		    "the clearance was revoked at \"2026-09-21\" by a\\b");
		dc.has_cti = true;
		memset(dc.cti, 0xab, sizeof(dc.cti));
		snprintf(dc.issuer, sizeof(dc.issuer), "issuer.example");
		snprintf(dc.level, sizeof(dc.level), "NATO:SECRET");
		snprintf(dc.operator_id, sizeof(dc.operator_id), "op-1");
		dc.exp = 1790000000 + 365 * 86400;
		memset(dc.kid, 0x01, sizeof(dc.kid));
		dc.alg = CRY_ALG_EDDSA;
		snprintf(dc.root, sizeof(dc.root), "root.example");
		dc.has_status = true;
		dc.status_seq = 42;
		dc.status_age_s = 17;
		snprintf(dc.agreement, sizeof(dc.agreement), "agr/1");
		dc.agreement_row = 0;
		check(&dc, "zone/a", 1790000000, 1790000002);
	}

	/* every byte 1..255 alone in every string: escapes and UTF-8 checks */
	for (c = 1; c < 256; c++) {
		memset(&dc, 0, sizeof(dc));
		dc.verdict = PROTO_REJECT;
		dc.nreasons = 2;
		dc.reasons[0].code[0] = (char)c;
		snprintf(dc.reasons[0].message,
		    sizeof(dc.reasons[0].message), "a%cb", c);
		snprintf(dc.reasons[1].code, sizeof(dc.reasons[1].code), "x");
		dc.reasons[1].message[0] = (char)c;
		dc.has_cti = true;
		dc.issuer[0] = (char)c;
		dc.level[0] = (char)c;
		dc.operator_id[0] = (char)c;
		dc.root[0] = (char)c;
		dc.agreement[0] = (char)c;
		dc.agreement_row = 3;
		dc.alg = CRY_ALG_ES256;
		access[0] = (char)c;
		access[1] = '\0';
		check(&dc, access, -1, PROTO_TIME_MAX + 1);
		check(&dc, "ok", 0, 0);
	}

	/* every field at its maximum, of bytes that each need \u00XX */
	memset(&dc, 0, sizeof(dc));
	dc.verdict = PROTO_INDETERMINATE;
	dc.nreasons = PROTO_REASONS_MAX;
	for (i = 0; i < PROTO_REASONS_MAX; i++) {
		fill(dc.reasons[i].code, PROTO_CODE_MAX, '\x01');
		fill(dc.reasons[i].message, PROTO_MESSAGE_MAX, '\x1f');
	}
	dc.has_cti = true;
	fill(dc.issuer, PROTO_ID_MAX, '\x02');
	fill(dc.level, PROTO_LEVEL_MAX, '\x03');
	fill(dc.operator_id, PROTO_ID_MAX, '\x04');
	fill(dc.root, PROTO_ID_MAX, '\x05');
	fill(dc.agreement, PROTO_SUB_MAX, '\x06');
	dc.has_status = true;
	dc.status_seq = UINT64_MAX;
	dc.status_age_s = INT64_MIN;
	dc.exp = INT64_MIN;
	dc.agreement_row = INT_MAX - 1;
	fill(access, ACCESS_MAX, '\x07');
	check(&dc, access, INT64_MIN, INT64_MAX);
	/* the same with quotes and backslashes */
	for (i = 0; i < PROTO_REASONS_MAX; i++) {
		fill(dc.reasons[i].code, PROTO_CODE_MAX, '"');
		fill(dc.reasons[i].message, PROTO_MESSAGE_MAX, '\\');
	}
	check(&dc, access, PROTO_TIME_MIN, PROTO_TIME_MAX);
	/* and with 4-byte UTF-8 */
	for (i = 0; i + 4 <= PROTO_MESSAGE_MAX; i += 4)
		memcpy(dc.reasons[0].message + i, "\xf0\x9f\x98\x80", 4);
	dc.reasons[0].message[i] = '\0';
	check(&dc, access, PROTO_TIME_MIN, PROTO_TIME_MAX);

	/* NULL access: cli_decision_json gives NULL, the writer 0 */
	check(&dc, NULL, 0, 0);
	assert_true(n_checked > 0 && n_null > 0);
}

static void
test_random(void **state)
{
	struct proto_decision dc;
	char access[ACCESS_MAX + 1];
	int k, i;

	(void)state;
	for (k = 0; k <= 4; k++)
		for (i = 0; i < 4000; i++) {
			rnd_decision(&dc, access, k);
			check(&dc, access, rnd_time(), rnd_time());
		}
	fprintf(stderr, "json_out: %zu decisions equal, %zu refused by both\n",
	    n_checked, n_null);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hand_made),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
