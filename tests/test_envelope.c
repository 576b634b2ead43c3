/*
 * test_envelope.c - the node-to-node envelope of protocol/envelope.c.
 *
 * Envelopes round-trip with Ed25519 and ES256 keys and match a payload
 * written by hand byte for byte, with a signature checked over a
 * Sig_structure built here (so the external AAD is the documented one).
 * Bad envelopes are built field by field (struct fld) or as raw COSE, and
 * each refusal of docs/protocol.md is checked with its code, the field the
 * diag names and its refusal name. A mutation loop flips, replaces and
 * truncates every byte of sealed envelopes: none is ever accepted. The
 * replay sets are checked at the window's edges, under memory pressure
 * against a model of everything accepted, and for their invariants after
 * every operation; the token bucket at millisecond edges. Blinded keys are
 * checked against normalised strings written here and against HMAC values
 * computed by an independent implementation (Python's hmac module).
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
#include "envelope.h"
#include "record.h"

#define T0 INT64_C(1750000000)		/* 2025-06-15T15:06:40Z */
#define NOW_MS (T0 * 1000)
#define SELF "jp.op.prime"
#define A_ID "jp.meti"			/* Ed25519 peer, every type */
#define B_ID "uk.cabinet-office"	/* ES256 peer, every type */
#define C_ID "us.dcsa"			/* Ed25519 peer, feed records only */
#define BUF_MAX (PROTO_ENV_MAX + 4096)
#define FLD_MAX 10

static struct cry_key *k_a, *k_b, *k_c, *k_x;	/* k_x: no peer's */
static uint8_t *big, *big2;			/* BUF_MAX each */
/* docs/protocol.md, "Node-to-node envelope": the example envelope. */
static const char golden_envelope[] =
    "d28455a2012704509064b45b3e0fb33b851a2e994e8bbf6fa05836a661741a684ee1"
    "8062696450000102030405060708090a0b0c0d0e0f62746f616264626f6479426869"
    "6466726f6d616164747970650458403cc23e1a598c83d028d6dc00bec1dde9e1145a"
    "256d4f2596f5cab04a656a4a2c95e63fe780d142cb6be980825b731e22f00e17f0e2"
    "22a64fa534a88fa93ae009";
static const uint8_t hkey[PROTO_HASH_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8,
	9, 10, 11, 12, 13, 14, 15, 16 };

/* ------------------------------------------------------------ helpers */

static void
id_fill(uint8_t id[PROTO_ENV_ID_LEN], uint32_t n)
{
	size_t i;

	for (i = 0; i < PROTO_ENV_ID_LEN; i++)
		id[i] = (uint8_t)(n >> (8 * (i % 4))) ^ (uint8_t)(i * 17);
}

static size_t
seal(const struct cry_key *key, const char *from, const char *to,
    enum proto_msg_type type, int64_t t, uint32_t idn, const void *body,
    size_t len, uint8_t *out)
{
	uint8_t id[PROTO_ENV_ID_LEN];
	struct mrx_diag d;
	size_t n = 0;

	id_fill(id, idn);
	mrx_diag_clear(&d);
	assert_int_equal(proto_envelope_seal(key, from, to, type, t, id, body,
	    len, out, BUF_MAX, &n, &d), 0);
	return n;
}

/* Opens msg and expects failure `code`, diag `field`, refusal `why`. */
static void
open_fails(const uint8_t *msg, size_t len, int code, const char *field,
    enum proto_refusal why)
{
	struct proto_envelope env;
	enum proto_refusal r = PROTO_REFUSE_NONE;
	struct mrx_diag d;
	char line[300];

	mrx_diag_clear(&d);
	assert_int_equal(proto_envelope_open(msg, len, &env, &r, &d), code);
	if (field != NULL && strcmp(d.field, field) != 0)
		fail_msg("field '%s', expected '%s' (%s)", d.field, field,
		    mrx_diag_str(&d, line, sizeof(line)));
	assert_int_equal(d.code, code);
	assert_int_equal(r, why);
	assert_null(env.body);
	assert_string_equal(env.from, "");
}

/* One field of a payload built by hand. */
enum fk { F_UINT, F_BSTR, F_TSTR, F_RAW };
struct fld {
	const char *key;
	enum fk kind;
	uint64_t u;
	const void *p;
	size_t n;
};

static uint8_t id0[PROTO_ENV_ID_LEN];

/* The fields of a valid payload, in deterministic order. */
static size_t
good_fields(struct fld *f)
{
	static const char body[] = "hello";

	f[0] = (struct fld){ "t", F_UINT, (uint64_t)T0, NULL, 0 };
	f[1] = (struct fld){ "id", F_BSTR, 0, id0, sizeof(id0) };
	f[2] = (struct fld){ "to", F_TSTR, 0, SELF, strlen(SELF) };
	f[3] = (struct fld){ "body", F_BSTR, 0, body, 5 };
	f[4] = (struct fld){ "from", F_TSTR, 0, A_ID, strlen(A_ID) };
	f[5] = (struct fld){ "type", F_UINT, PROTO_MSG_PRESENT, NULL, 0 };
	return 6;
}

static size_t
payload_of(const struct fld *f, size_t n, uint8_t *out, size_t cap)
{
	struct cry_cbor_wr wr;
	size_t i, len;

	cry_cbor_wr_init(&wr, out, cap);
	cry_cbor_put_map(&wr, n);
	for (i = 0; i < n; i++) {
		cry_cbor_put_tstr(&wr, f[i].key);
		switch (f[i].kind) {
		case F_UINT:
			cry_cbor_put_uint(&wr, f[i].u);
			break;
		case F_BSTR:
			cry_cbor_put_bstr(&wr, f[i].p, f[i].n);
			break;
		case F_TSTR:
			cry_cbor_put_tstrn(&wr, f[i].p, f[i].n);
			break;
		case F_RAW:
			cry_cbor_put_raw(&wr, f[i].p, f[i].n);
			break;
		}
	}
	assert_int_equal(cry_cbor_wr_finish(&wr, &len), 0);
	return len;
}

/* Signs raw payload bytes as an envelope would be (with the AAD). */
static size_t
sign_payload(const struct cry_key *key, const uint8_t *p, size_t n,
    uint8_t *out)
{
	size_t len = 0;

	assert_int_equal(cry_sign1_sign(key, NULL, 0,
	    (const uint8_t *)PROTO_ENV_AAD, strlen(PROTO_ENV_AAD), p, n, out,
	    BUF_MAX, &len), 0);
	return len;
}

static size_t
sign_fields(const struct cry_key *key, const struct fld *f, size_t n,
    uint8_t *out)
{
	uint8_t p[4096];

	return sign_payload(key, p, payload_of(f, n, p, sizeof(p)), out);
}

/* A COSE_Sign1 built from parts: protected, unprotected (raw CBOR map). */
static size_t
cose_raw(const uint8_t *prot, size_t prot_len, const char *unprot_hex,
    const uint8_t *payload, size_t plen, size_t sig_len, uint8_t *out)
{
	static const uint8_t zeros[128];
	struct cry_cbor_wr wr;
	uint8_t u[64];
	size_t ul = 0, len;
	unsigned v;

	for (; unprot_hex[0] != '\0'; unprot_hex += 2) {
		assert_int_equal(sscanf(unprot_hex, "%2x", &v), 1);
		u[ul++] = (uint8_t)v;
	}
	cry_cbor_wr_init(&wr, out, BUF_MAX);
	cry_cbor_put_tag(&wr, 18);
	cry_cbor_put_array(&wr, 4);
	cry_cbor_put_bstr(&wr, prot, prot_len);
	cry_cbor_put_raw(&wr, u, ul);
	if (payload == NULL)
		cry_cbor_put_null(&wr);
	else
		cry_cbor_put_bstr(&wr, payload, plen);
	cry_cbor_put_bstr(&wr, zeros, sig_len);
	assert_int_equal(cry_cbor_wr_finish(&wr, &len), 0);
	return len;
}

/* A protected header {1: alg, 4: kid} (either may be left out). */
static size_t
prot_of(int64_t alg, const uint8_t *kid, size_t kid_len, uint8_t *out)
{
	struct cry_cbor_wr wr;
	size_t len;

	cry_cbor_wr_init(&wr, out, 64);
	cry_cbor_put_map(&wr, (alg != 0) + (kid != NULL));
	if (alg != 0) {
		cry_cbor_put_uint(&wr, 1);
		cry_cbor_put_int(&wr, alg);
	}
	if (kid != NULL) {
		cry_cbor_put_uint(&wr, 4);
		cry_cbor_put_bstr(&wr, kid, kid_len);
	}
	assert_int_equal(cry_cbor_wr_finish(&wr, &len), 0);
	return len;
}

/* A: every type; B: every type; C: feed records only. Floors at -1. */
static struct proto_peer_table *
table_abc(const struct proto_peer_table_config *cfg)
{
	struct proto_peer_table_config def;
	struct proto_peer_table *t = NULL;
	struct proto_peer_spec s = { 0 };
	struct mrx_diag d;

	proto_peer_table_config_default(&def);
	mrx_diag_clear(&d);
	assert_int_equal(proto_peer_table_new(cfg != NULL ? cfg : &def, hkey,
	    &t, &d), 0);
	s.replay_floor = -1;
	s.id = A_ID, s.key = k_a, s.allowed_types = PROTO_MSG_ALL;
	assert_int_equal(proto_peer_add(t, &s, NOW_MS, &d), 0);
	s.id = B_ID, s.key = k_b;
	assert_int_equal(proto_peer_add(t, &s, NOW_MS, &d), 0);
	s.id = C_ID, s.key = k_c;
	s.allowed_types = PROTO_MSG_BIT(PROTO_MSG_FEED_RECORD);
	assert_int_equal(proto_peer_add(t, &s, NOW_MS, &d), 0);
	return t;
}

/* Open and peer-check; returns the check's result (open must succeed). */
static int
open_check(const struct proto_peer_table *t, const uint8_t *msg, size_t len,
    struct proto_envelope *env, enum proto_refusal *why, struct mrx_diag *d)
{
	mrx_diag_clear(d);
	assert_int_equal(proto_envelope_open(msg, len, env, why, d), 0);
	return proto_peer_check(t, env, SELF, why, d);
}

/* ------------------------------------------------------------ names */

static void
test_names(void **state)
{
	enum proto_msg_type t;
	unsigned i, j;

	(void)state;
	for (i = 1; i < PROTO_MSG_COUNT; i++) {
		const char *n = proto_msg_type_name((enum proto_msg_type)i);

		assert_non_null(n);
		assert_int_equal(proto_msg_type_parse(n, &t), 0);
		assert_int_equal(t, i);
	}
	assert_null(proto_msg_type_name(PROTO_MSG_NONE));
	assert_null(proto_msg_type_name(PROTO_MSG_COUNT));
	assert_int_equal(proto_msg_type_parse("PRESENT", &t), MRX_EINVAL);
	assert_int_equal(proto_msg_type_parse("", &t), MRX_EINVAL);
	assert_int_equal(PROTO_MSG_FEED_RECORD, 1);
	assert_int_equal(PROTO_MSG_REFUSAL, 12);
	assert_int_equal(PROTO_MSG_ALL, 0x1ffe);
	for (i = 1; i < PROTO_MSG_COUNT; i++)
		assert_int_equal(proto_msg_type_broadcast(
		    (enum proto_msg_type)i), i == PROTO_MSG_FEED_RECORD ||
		    i == PROTO_MSG_LOOKUP_SURVEY);
	assert_string_equal(proto_refusal_name(PROTO_REFUSE_NONE), "");
	assert_string_equal(proto_refusal_name(PROTO_REFUSE_REROUTED),
	    "re-routed");
	assert_string_equal(proto_refusal_name(PROTO_REFUSE_COUNT), "");
	for (i = 1; i < PROTO_REFUSE_COUNT; i++) {
		const char *a = proto_refusal_name((enum proto_refusal)i);

		assert_true(strlen(a) > 0 && strspn(a,
		    "abcdefghijklmnopqrstuvwxyz-") == strlen(a));
		for (j = 1; j < i; j++)
			assert_string_not_equal(a, proto_refusal_name(
			    (enum proto_refusal)j));
	}
}

/* ------------------------------------------------------------ round trip */

static void
roundtrip(const struct cry_key *key, const char *from)
{
	static const uint8_t body[] = { 0xd2, 0x84, 0x00, 0xff, 'r', 'e', 'c' };
	struct proto_envelope env;
	enum proto_refusal why = PROTO_REFUSE_MALFORMED;
	struct mrx_diag d;
	uint8_t id[PROTO_ENV_ID_LEN];
	size_t n;

	n = seal(key, from, SELF, PROTO_MSG_CONFIRM_REQUEST, T0 + 5, 42, body,
	    sizeof(body), big);
	assert_true(n <= PROTO_ENV_SIZE(sizeof(body)));
	mrx_diag_clear(&d);
	assert_int_equal(proto_envelope_open(big, n, &env, &why, &d), 0);
	assert_int_equal(why, PROTO_REFUSE_NONE);
	assert_string_equal(env.from, from);
	assert_string_equal(env.to, SELF);
	assert_int_equal(env.type, PROTO_MSG_CONFIRM_REQUEST);
	assert_int_equal(env.t, T0 + 5);
	id_fill(id, 42);
	assert_memory_equal(env.id, id, sizeof(id));
	assert_int_equal(env.body_len, sizeof(body));
	assert_memory_equal(env.body, body, sizeof(body));
	assert_true(env.body > big && env.body + env.body_len <= big + n);
	assert_memory_equal(env.kid, cry_key_kid(key), CRY_KID_LEN);
	assert_true(env.cose.tagged);
	assert_int_equal(proto_envelope_verify(&env, key, &d), 0);
	assert_int_equal(proto_envelope_verify(&env, k_x, &d), MRX_EKEY);
	assert_string_equal(d.field, "protected.kid");
}

static void
test_roundtrip_ed25519(void **state)
{
	(void)state;
	roundtrip(k_a, A_ID);
}

static void
test_roundtrip_es256(void **state)
{
	(void)state;
	roundtrip(k_b, B_ID);
}

static void
test_roundtrip_limits(void **state)
{
	char from[PROTO_ID_MAX + 1], to[PROTO_ID_MAX + 1];
	struct proto_envelope env;
	struct mrx_diag d;
	size_t n;

	(void)state;
	/* empty body, broadcast */
	n = seal(k_a, A_ID, "*", PROTO_MSG_FEED_RECORD, 0, 1, NULL, 0, big);
	assert_int_equal(proto_envelope_open(big, n, &env, NULL, &d), 0);
	assert_int_equal(env.body_len, 0);
	assert_string_equal(env.to, "*");
	assert_int_equal(env.t, 0);
	/* the largest body, the largest time, the longest ids */
	memset(from, 'f', PROTO_ID_MAX);
	memset(to, 't', PROTO_ID_MAX);
	from[PROTO_ID_MAX] = to[PROTO_ID_MAX] = '\0';
	memset(big2, 0x5c, PROTO_ENV_BODY_MAX);
	n = seal(k_b, from, to, PROTO_MSG_CATCHUP_RESPONSE,
	    INT64_C(253402300799), 7, big2,
	    PROTO_ENV_BODY_MAX, big);
	assert_true(n <= PROTO_ENV_MAX);
	assert_true(n <= PROTO_ENV_SIZE(PROTO_ENV_BODY_MAX));
	mrx_diag_clear(&d);
	assert_int_equal(proto_envelope_open(big, n, &env, NULL, &d), 0);
	assert_int_equal(env.body_len, PROTO_ENV_BODY_MAX);
	assert_int_equal(env.t, INT64_C(253402300799));
	assert_string_equal(env.from, from);
	assert_string_equal(env.to, to);
	assert_int_equal(proto_envelope_verify(&env, k_b, &d), 0);
}

/*
 * The payload as written by hand, the protected header, the tag, and the
 * signature checked over a Sig_structure built here with the AAD.
 */
static void
test_wire_layout(void **state)
{
	static const char want[] =
	    "a6" "6174" "1a684ee180"
	    "626964" "50000102030405060708090a0b0c0d0e0f"
	    "62746f" "6162"
	    "64626f6479" "426869"
	    "6466726f6d" "6161"
	    "6474797065" "04";
	uint8_t id[PROTO_ENV_ID_LEN], exp[128], tbs[512], prot[32];
	struct proto_envelope env;
	struct cry_cbor_wr wr;
	struct mrx_diag d;
	size_t n, i, elen = 0, tlen;
	unsigned v;

	(void)state;
	for (i = 0; i < sizeof(id); i++)
		id[i] = (uint8_t)i;
	for (i = 0; want[2 * i] != '\0'; i++) {
		assert_int_equal(sscanf(want + 2 * i, "%2x", &v), 1);
		exp[elen++] = (uint8_t)v;
	}
	mrx_diag_clear(&d);
	assert_int_equal(proto_envelope_seal(k_a, "a", "b", PROTO_MSG_PRESENT,
	    T0, id, (const uint8_t *)"hi", 2, big, BUF_MAX, &n, &d), 0);
	assert_int_equal(big[0], 0xd2);		/* tag 18 */
	assert_int_equal(big[1], 0x84);		/* array of 4 */
	assert_int_equal(proto_envelope_open(big, n, &env, NULL, &d), 0);
	assert_int_equal(env.cose.payload_len, elen);
	assert_memory_equal(env.cose.payload, exp, elen);
	/* protected {1: -8, 4: kid}, unprotected {} */
	assert_int_equal(prot_of(-8, cry_key_kid(k_a), CRY_KID_LEN, prot),
	    env.cose.hdr.prot_len);
	assert_memory_equal(env.cose.hdr.prot, prot, env.cose.hdr.prot_len);
	assert_int_equal(env.cose.hdr.prot[-1], 0x40 + env.cose.hdr.prot_len);
	assert_int_equal(env.cose.hdr.prot[env.cose.hdr.prot_len], 0xa0);
	/* ["Signature1", prot, "mrx-envelope-v1", payload] */
	cry_cbor_wr_init(&wr, tbs, sizeof(tbs));
	cry_cbor_put_array(&wr, 4);
	cry_cbor_put_tstr(&wr, "Signature1");
	cry_cbor_put_bstr(&wr, prot, env.cose.hdr.prot_len);
	cry_cbor_put_bstr(&wr, "mrx-envelope-v1", 15);
	cry_cbor_put_bstr(&wr, exp, elen);
	assert_int_equal(cry_cbor_wr_finish(&wr, &tlen), 0);
	assert_int_equal(cry_verify(k_a, CRY_ALG_EDDSA, tbs, tlen,
	    env.cose.sig, env.cose.sig_len), 0);
	/* the whole envelope, as made by an independent COSE implementation
	 * (Python's cryptography, Ed25519 key from 32 bytes 0xa1) */
	assert_int_equal(n, strlen(golden_envelope) / 2);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(golden_envelope + 2 * i, "%2x", &v), 1);
		assert_int_equal(big[i], v);
	}
	/* Ed25519 is deterministic: the same envelope twice */
	assert_int_equal(proto_envelope_seal(k_a, "a", "b", PROTO_MSG_PRESENT,
	    T0, id, (const uint8_t *)"hi", 2, big2, BUF_MAX, &i, &d), 0);
	assert_int_equal(i, n);
	assert_memory_equal(big, big2, n);
}

/* ------------------------------------------------------------ seal errors */

static void
seal_fails(const struct cry_key *key, const char *from, const char *to,
    enum proto_msg_type type, int64_t t, size_t body_len, int code,
    const char *field)
{
	uint8_t id[PROTO_ENV_ID_LEN] = { 0 };
	struct mrx_diag d;
	size_t n = 99;

	mrx_diag_clear(&d);
	assert_int_equal(proto_envelope_seal(key, from, to, type, t, id, big2,
	    body_len, big, BUF_MAX, &n, &d), code);
	assert_string_equal(d.field, field);
	assert_int_equal(n, 0);
}

static void
test_seal_errors(void **state)
{
	uint8_t id[PROTO_ENV_ID_LEN] = { 0 }, spki[CRY_SPKI_MAX], small[64];
	struct cry_key *pub = NULL;
	struct mrx_diag d;
	size_t n, need, sl;

	(void)state;
	seal_fails(NULL, A_ID, SELF, PROTO_MSG_PRESENT, T0, 0, MRX_EINVAL,
	    "key");
	assert_int_equal(cry_key_spki(k_a, spki, sizeof(spki), &sl), 0);
	assert_int_equal(cry_key_from_spki(spki, sl, &pub, NULL), 0);
	seal_fails(pub, A_ID, SELF, PROTO_MSG_PRESENT, T0, 0, MRX_EINVAL,
	    "key");
	cry_key_free(pub);
	seal_fails(k_a, "JP.METI", SELF, PROTO_MSG_PRESENT, T0, 0,
	    MRX_EINVAL, "from");
	seal_fails(k_a, "*", SELF, PROTO_MSG_PRESENT, T0, 0, MRX_EINVAL,
	    "from");
	seal_fails(k_a, NULL, SELF, PROTO_MSG_PRESENT, T0, 0, MRX_EINVAL,
	    "from");
	seal_fails(k_a, A_ID, "", PROTO_MSG_PRESENT, T0, 0, MRX_EINVAL, "to");
	seal_fails(k_a, A_ID, "**", PROTO_MSG_PRESENT, T0, 0, MRX_EINVAL,
	    "to");
	seal_fails(k_a, A_ID, SELF, PROTO_MSG_NONE, T0, 0, MRX_EINVAL, "type");
	seal_fails(k_a, A_ID, SELF, PROTO_MSG_COUNT, T0, 0, MRX_EINVAL,
	    "type");
	seal_fails(k_a, A_ID, SELF, (enum proto_msg_type)-1, T0, 0,
	    MRX_EINVAL, "type");
	/* addressing is fixed by the type */
	seal_fails(k_a, A_ID, "*", PROTO_MSG_PRESENT, T0, 0, MRX_EINVAL, "to");
	seal_fails(k_a, A_ID, SELF, PROTO_MSG_FEED_RECORD, T0, 0, MRX_EINVAL,
	    "to");
	seal_fails(k_a, A_ID, SELF, PROTO_MSG_LOOKUP_SURVEY, T0, 0,
	    MRX_EINVAL, "to");
	seal_fails(k_a, A_ID, SELF, PROTO_MSG_PRESENT, -1, 0, MRX_EINVAL, "t");
	seal_fails(k_a, A_ID, SELF, PROTO_MSG_PRESENT,
	    INT64_C(253402300800), 0, MRX_EINVAL, "t");
	seal_fails(k_a, A_ID, SELF, PROTO_MSG_PRESENT, T0,
	    PROTO_ENV_BODY_MAX + 1, MRX_ETOOBIG, "body");
	mrx_diag_clear(&d);
	assert_int_equal(proto_envelope_seal(k_a, A_ID, SELF,
	    PROTO_MSG_PRESENT, T0, NULL, NULL, 0, big, BUF_MAX, &n, &d),
	    MRX_EINVAL);
	assert_int_equal(proto_envelope_seal(k_a, A_ID, SELF,
	    PROTO_MSG_PRESENT, T0, id, NULL, 1, big, BUF_MAX, &n, &d),
	    MRX_EINVAL);
	assert_int_equal(proto_envelope_seal(k_a, A_ID, SELF,
	    PROTO_MSG_PRESENT, T0, id, NULL, 0, big, BUF_MAX, NULL, &d),
	    MRX_EINVAL);
	/* too small a buffer: the exact size needed, then it fits */
	mrx_diag_clear(&d);
	assert_int_equal(proto_envelope_seal(k_b, B_ID, SELF,
	    PROTO_MSG_PRESENT, T0, id, big2, 100, small, sizeof(small), &need,
	    &d), MRX_ENOSPC);
	assert_int_equal(d.code, MRX_ENOSPC);
	assert_true(need > sizeof(small) && need <= PROTO_ENV_SIZE(100));
	assert_int_equal(proto_envelope_seal(k_b, B_ID, SELF,
	    PROTO_MSG_PRESENT, T0, id, big2, 100, big, need - 1, &n, NULL),
	    MRX_ENOSPC);
	assert_int_equal(proto_envelope_seal(k_b, B_ID, SELF,
	    PROTO_MSG_PRESENT, T0, id, big2, 100, big, need, &n, NULL), 0);
	assert_int_equal(n, need);
	assert_int_equal(proto_envelope_seal(k_b, B_ID, SELF,
	    PROTO_MSG_PRESENT, T0, id, big2, 100, NULL, 0, &n, NULL),
	    MRX_ENOSPC);
	assert_int_equal(n, need);
}

/* ------------------------------------------------------------ open errors */

static void
open_fields_fails(const struct fld *f, size_t n, int code, const char *field,
    enum proto_refusal why)
{
	size_t len = sign_fields(k_a, f, n, big);

	open_fails(big, len, code, field, why);
}

static void
test_open_payload_rules(void **state)
{
	static const uint8_t t_long[] = { 0x1b, 0, 0, 0, 0, 0x68, 0x4e, 0xe1,
		0x80 };				/* T0 in 9 bytes */
	static const uint8_t t_neg[] = { 0x20 };	/* -1 */
	static const uint8_t t_text[] = { 0x61, 0x31 };	/* "1" */
	static const uint8_t nul_id[] = { 'a', 0, 'b' };
	struct fld f[FLD_MAX], g[FLD_MAX];
	char long_id[PROTO_ID_MAX + 2];
	struct proto_envelope env;
	uint8_t p[256], id15[15];
	size_t n = good_fields(f), pl, len, i;

	(void)state;
	/* the valid base opens */
	len = sign_fields(k_a, f, n, big);
	assert_int_equal(proto_envelope_open(big, len, &env, NULL, NULL), 0);
	/* each field missing */
	for (i = 0; i < n; i++) {
		char fieldname[32];

		memcpy(g, f, sizeof(f[0]) * i);
		memcpy(g + i, f + i + 1, sizeof(f[0]) * (n - i - 1));
		snprintf(fieldname, sizeof(fieldname), "payload.%s", f[i].key);
		open_fields_fails(g, n - 1, MRX_EMISSING, fieldname,
		    PROTO_REFUSE_MALFORMED);
	}
	/* an unknown field: the map is closed */
	memcpy(g, f, sizeof(f));
	g[n] = (struct fld){ "zzzzz", F_UINT, 1, NULL, 0 };
	open_fields_fails(g, n + 1, MRX_ECRIT, "payload",
	    PROTO_REFUSE_MALFORMED);
	g[n] = (struct fld){ "crit", F_UINT, 1, NULL, 0 };
	open_fields_fails(g, n + 1, MRX_ECRIT, "payload",
	    PROTO_REFUSE_MALFORMED);
	/* a duplicate key; keys out of order */
	memcpy(g, f, sizeof(f));
	g[6] = g[5];
	open_fields_fails(g, n + 1, MRX_EDUP, "payload.type",
	    PROTO_REFUSE_MALFORMED);
	memcpy(g, f, sizeof(f));
	g[1] = f[2], g[2] = f[1];
	open_fields_fails(g, n, MRX_ENONCANON, "payload.id",
	    PROTO_REFUSE_MALFORMED);
	/* non-shortest head; negative, text and too large times */
	memcpy(g, f, sizeof(f));
	g[0] = (struct fld){ "t", F_RAW, 0, t_long, sizeof(t_long) };
	open_fields_fails(g, n, MRX_ENONCANON, "payload.t",
	    PROTO_REFUSE_MALFORMED);
	g[0] = (struct fld){ "t", F_RAW, 0, t_neg, sizeof(t_neg) };
	open_fields_fails(g, n, MRX_ETYPE, "payload.t",
	    PROTO_REFUSE_MALFORMED);
	g[0] = (struct fld){ "t", F_RAW, 0, t_text, sizeof(t_text) };
	open_fields_fails(g, n, MRX_ETYPE, "payload.t",
	    PROTO_REFUSE_MALFORMED);
	g[0] = (struct fld){ "t", F_UINT, UINT64_C(253402300800), NULL, 0 };
	open_fields_fails(g, n, MRX_ERANGE, "payload.t",
	    PROTO_REFUSE_MALFORMED);
	/* ids: 15 bytes, text */
	memcpy(g, f, sizeof(f));
	memset(id15, 1, sizeof(id15));
	g[1] = (struct fld){ "id", F_BSTR, 0, id15, sizeof(id15) };
	open_fields_fails(g, n, MRX_ERANGE, "payload.id",
	    PROTO_REFUSE_MALFORMED);
	g[1] = (struct fld){ "id", F_TSTR, 0, "0123456789abcdef", 16 };
	open_fields_fails(g, n, MRX_ETYPE, "payload.id",
	    PROTO_REFUSE_MALFORMED);
	/* node ids */
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	memcpy(g, f, sizeof(f));
	g[2] = (struct fld){ "to", F_TSTR, 0, long_id, strlen(long_id) };
	open_fields_fails(g, n, MRX_ETOOBIG, "payload.to",
	    PROTO_REFUSE_MALFORMED);
	g[2] = (struct fld){ "to", F_TSTR, 0, "Jp", 2 };
	open_fields_fails(g, n, MRX_ERANGE, "payload.to",
	    PROTO_REFUSE_MALFORMED);
	g[2] = (struct fld){ "to", F_TSTR, 0, "", 0 };
	open_fields_fails(g, n, MRX_ERANGE, "payload.to",
	    PROTO_REFUSE_MALFORMED);
	g[2] = (struct fld){ "to", F_TSTR, 0, nul_id, sizeof(nul_id) };
	open_fields_fails(g, n, MRX_ERANGE, "payload.to",
	    PROTO_REFUSE_MALFORMED);
	g[2] = (struct fld){ "to", F_BSTR, 0, SELF, strlen(SELF) };
	open_fields_fails(g, n, MRX_ETYPE, "payload.to",
	    PROTO_REFUSE_MALFORMED);
	memcpy(g, f, sizeof(f));
	g[4] = (struct fld){ "from", F_TSTR, 0, "*", 1 };
	open_fields_fails(g, n, MRX_ERANGE, "payload.from",
	    PROTO_REFUSE_MALFORMED);
	g[4] = (struct fld){ "from", F_TSTR, 0, "-jp", 3 };
	open_fields_fails(g, n, MRX_ERANGE, "payload.from",
	    PROTO_REFUSE_MALFORMED);
	/* body as text */
	memcpy(g, f, sizeof(f));
	g[3] = (struct fld){ "body", F_TSTR, 0, "hello", 5 };
	open_fields_fails(g, n, MRX_ETYPE, "payload.body",
	    PROTO_REFUSE_MALFORMED);
	/* types: undefined is its own refusal */
	memcpy(g, f, sizeof(f));
	g[5].u = PROTO_MSG_COUNT;
	open_fields_fails(g, n, MRX_ERANGE, "payload.type",
	    PROTO_REFUSE_UNKNOWN_TYPE);
	g[5].u = 0;
	open_fields_fails(g, n, MRX_ERANGE, "payload.type",
	    PROTO_REFUSE_UNKNOWN_TYPE);
	g[5].u = UINT64_MAX;
	open_fields_fails(g, n, MRX_ERANGE, "payload.type",
	    PROTO_REFUSE_UNKNOWN_TYPE);
	g[5] = (struct fld){ "type", F_TSTR, 0, "present", 7 };
	open_fields_fails(g, n, MRX_ETYPE, "payload.type",
	    PROTO_REFUSE_MALFORMED);
	/* a non-text key */
	pl = payload_of(f, n, p, sizeof(p));
	p[1] = 0x01;		/* "t" -> 1: key 1, then 0x74 is the value */
	len = sign_payload(k_a, p, pl, big);
	open_fails(big, len, MRX_ETYPE, "payload", PROTO_REFUSE_MALFORMED);
	/* trailing bytes after the map; not a map; a truncated map */
	pl = payload_of(f, n, p, sizeof(p));
	p[pl++] = 0x00;
	open_fails(big, sign_payload(k_a, p, pl, big), MRX_ETRAILING,
	    "payload", PROTO_REFUSE_MALFORMED);
	p[0] = 0x81;
	open_fails(big, sign_payload(k_a, p, 1, big), MRX_ETYPE, "payload",
	    PROTO_REFUSE_MALFORMED);
	pl = payload_of(f, n, p, sizeof(p));
	open_fails(big, sign_payload(k_a, p, pl - 1, big), MRX_ETRUNC,
	    "payload.type", PROTO_REFUSE_MALFORMED);
	p[0] = 0xbf;		/* indefinite map */
	open_fails(big, sign_payload(k_a, p, pl, big), MRX_EINDEF, "payload",
	    PROTO_REFUSE_MALFORMED);
	open_fails(big, sign_payload(k_a, p, 0, big), MRX_ETRUNC, "payload",
	    PROTO_REFUSE_MALFORMED);
}

static void
test_open_size_limits(void **state)
{
	struct fld f[FLD_MAX];
	size_t n = good_fields(f), len, pl;

	(void)state;
	/* the message limit is checked before anything is read */
	memset(big, 0, PROTO_ENV_MAX + 1);
	open_fails(big, PROTO_ENV_MAX + 1, MRX_ETOOBIG, "",
	    PROTO_REFUSE_TOO_BIG);
	/* a body one byte over its limit inside a message under its own */
	memset(big2, 0x33, PROTO_ENV_BODY_MAX + 1);
	f[3] = (struct fld){ "body", F_BSTR, 0, big2, PROTO_ENV_BODY_MAX + 1 };
	pl = payload_of(f, n, big, BUF_MAX);
	memcpy(big2, big, pl);
	len = sign_payload(k_a, big2, pl, big);
	assert_true(len <= PROTO_ENV_MAX);
	open_fails(big, len, MRX_ETOOBIG, "payload.body", PROTO_REFUSE_TOO_BIG);
}

static void
test_open_cose_rules(void **state)
{
	uint8_t prot[64], p[256], kid8[8] = { 0 };
	struct fld f[FLD_MAX];
	size_t n = good_fields(f), pl, prl, len;
	const uint8_t *kid = cry_key_kid(k_a);
	struct proto_envelope env;
	struct mrx_diag d;

	(void)state;
	pl = payload_of(f, n, p, sizeof(p));
	/* the raw builder makes what open accepts */
	prl = prot_of(-8, kid, CRY_KID_LEN, prot);
	len = cose_raw(prot, prl, "a0", p, pl, 64, big);
	assert_int_equal(proto_envelope_open(big, len, &env, NULL, NULL), 0);
	/* detached payload */
	len = cose_raw(prot, prl, "a0", NULL, 0, 64, big);
	open_fails(big, len, MRX_EMISSING, "payload", PROTO_REFUSE_MALFORMED);
	/* alg only in the unprotected header */
	prl = prot_of(0, kid, CRY_KID_LEN, prot);
	len = cose_raw(prot, prl, "a10127", p, pl, 64, big);
	open_fails(big, len, MRX_EMISSING, "protected.alg",
	    PROTO_REFUSE_MALFORMED);
	/* kid only in the unprotected header, or nowhere */
	prl = prot_of(-8, NULL, 0, prot);
	len = cose_raw(prot, prl,
	    "a10450000102030405060708090a0b0c0d0e0f", p, pl, 64, big);
	open_fails(big, len, MRX_EMISSING, "protected.kid",
	    PROTO_REFUSE_MALFORMED);
	len = cose_raw(prot, prl, "a0", p, pl, 64, big);
	open_fails(big, len, MRX_EMISSING, "protected.kid",
	    PROTO_REFUSE_MALFORMED);
	/* an alg we do not implement (ES384) */
	prl = prot_of(-35, kid, CRY_KID_LEN, prot);
	len = cose_raw(prot, prl, "a0", p, pl, 64, big);
	open_fails(big, len, MRX_EUNSUPPORTED, "protected.alg",
	    PROTO_REFUSE_MALFORMED);
	/* a kid of 8 bytes */
	prl = prot_of(-8, kid8, sizeof(kid8), prot);
	len = cose_raw(prot, prl, "a0", p, pl, 64, big);
	open_fails(big, len, MRX_ERANGE, "protected.kid",
	    PROTO_REFUSE_MALFORMED);
	/* a signature of 63 or 65 bytes */
	prl = prot_of(-8, kid, CRY_KID_LEN, prot);
	len = cose_raw(prot, prl, "a0", p, pl, 63, big);
	open_fails(big, len, MRX_ERANGE, "signature", PROTO_REFUSE_MALFORMED);
	len = cose_raw(prot, prl, "a0", p, pl, 65, big);
	open_fails(big, len, MRX_ERANGE, "signature", PROTO_REFUSE_MALFORMED);
	/* a COSE_Sign tag; trailing bytes; nothing */
	len = cose_raw(prot, prl, "a0", p, pl, 64, big);
	big[0] = 0xd8, memmove(big + 2, big + 1, len - 1), big[1] = 98, len++;
	mrx_diag_clear(&d);
	assert_true(proto_envelope_open(big, len, &env, NULL, &d) < 0);
	len = cose_raw(prot, prl, "a0", p, pl, 64, big);
	big[len++] = 0;
	open_fails(big, len, MRX_ETRAILING, NULL, PROTO_REFUSE_MALFORMED);
	open_fails(big, 0, MRX_ETRUNC, NULL, PROTO_REFUSE_MALFORMED);
	assert_int_equal(proto_envelope_open(NULL, 1, &env, NULL, NULL),
	    MRX_EINVAL);
	assert_int_equal(proto_envelope_open(big, 1, NULL, NULL, NULL),
	    MRX_EINVAL);
	/* untagged: read as well (and it still verifies) */
	len = seal(k_a, A_ID, SELF, PROTO_MSG_PRESENT, T0, 1, "x", 1, big);
	assert_int_equal(big[0], 0xd2);
	assert_int_equal(proto_envelope_open(big + 1, len - 1, &env, NULL,
	    NULL), 0);
	assert_false(env.cose.tagged);
	assert_int_equal(proto_envelope_verify(&env, k_a, NULL), 0);
}

/* ------------------------------------------------------------ verify */

static void
test_verify_refusals(void **state)
{
	uint8_t prot[64], p[256];
	struct proto_envelope env;
	struct fld f[FLD_MAX];
	struct proto_record rec;
	struct mrx_diag d;
	size_t n = good_fields(f), len, pl;

	(void)state;
	/* a flipped signature bit */
	len = seal(k_a, A_ID, SELF, PROTO_MSG_PRESENT, T0, 1, "x", 1, big);
	big[len - 1] ^= 1;
	assert_int_equal(proto_envelope_open(big, len, &env, NULL, NULL), 0);
	mrx_diag_clear(&d);
	assert_int_equal(proto_envelope_verify(&env, k_a, &d), MRX_ESIG);
	/* the right kid but the other algorithm's alg: never downgraded */
	pl = payload_of(f, n, p, sizeof(p));
	len = cose_raw(prot, prot_of(-7, cry_key_kid(k_a), CRY_KID_LEN, prot),
	    "a0", p, pl, 64, big);
	assert_int_equal(proto_envelope_open(big, len, &env, NULL, NULL), 0);
	assert_int_equal(proto_envelope_verify(&env, k_a, NULL), MRX_EALG);
	/* signed without the envelope's AAD: a different signing context */
	assert_int_equal(cry_sign1_sign(k_a, NULL, 0, NULL, 0, p, pl, big,
	    BUF_MAX, &len), 0);
	assert_int_equal(proto_envelope_open(big, len, &env, NULL, NULL), 0);
	assert_int_equal(proto_envelope_verify(&env, k_a, NULL), MRX_ESIG);
	/* a signed record is not an envelope */
	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_KEY_REVOCATION;
	snprintf(rec.u.kr.c.iss, sizeof(rec.u.kr.c.iss), "jp.root");
	snprintf(rec.u.kr.c.sub, sizeof(rec.u.kr.c.sub), "jp.meti");
	rec.u.kr.c.iat = T0;
	rec.u.kr.from = T0;
	rec.u.kr.reason = PROTO_REASON_ISSUER_KEY_COMPROMISED;
	assert_int_equal(proto_record_sign(&rec, k_a, big, BUF_MAX, &len,
	    NULL), 0);
	open_fails(big, len, MRX_ETYPE, "payload", PROTO_REFUSE_MALFORMED);
	assert_int_equal(proto_envelope_verify(NULL, k_a, NULL), MRX_EINVAL);
}

/* ------------------------------------------------------------ peers */

static void
check_refused(const struct proto_peer_table *t, const uint8_t *msg,
    size_t len, int code, enum proto_refusal why, const char *name,
    const char *field)
{
	struct proto_envelope env;
	enum proto_refusal r;
	struct mrx_diag d;

	assert_int_equal(open_check(t, msg, len, &env, &r, &d), code);
	assert_int_equal(r, why);
	assert_string_equal(proto_refusal_name(r), name);
	assert_string_equal(d.field, field);
}

static void
test_peer_check(void **state)
{
	struct proto_peer_table *t = table_abc(NULL);
	struct proto_envelope env;
	enum proto_refusal r;
	struct fld f[FLD_MAX];
	struct mrx_diag d;
	size_t len, n = good_fields(f);

	(void)state;
	/* accepted: a request to self; a feed record to "*" */
	len = seal(k_a, A_ID, SELF, PROTO_MSG_PRESENT, T0, 1, "x", 1, big);
	assert_int_equal(open_check(t, big, len, &env, &r, &d), 0);
	assert_int_equal(r, PROTO_REFUSE_NONE);
	len = seal(k_b, B_ID, "*", PROTO_MSG_LOOKUP_SURVEY, T0, 1, "x", 1,
	    big);
	assert_int_equal(open_check(t, big, len, &env, &r, &d), 0);
	len = seal(k_c, C_ID, "*", PROTO_MSG_FEED_RECORD, T0, 1, "x", 1, big);
	assert_int_equal(open_check(t, big, len, &env, &r, &d), 0);
	/* unknown-peer: a sender not in the table, whatever its key */
	len = seal(k_x, "kr.nis", SELF, PROTO_MSG_PRESENT, T0, 1, "x", 1, big);
	check_refused(t, big, len, MRX_ENOENT, PROTO_REFUSE_UNKNOWN_PEER,
	    "unknown-peer", "payload.from");
	len = seal(k_a, "jp.metj", SELF, PROTO_MSG_PRESENT, T0, 1, "x", 1,
	    big);
	check_refused(t, big, len, MRX_ENOENT, PROTO_REFUSE_UNKNOWN_PEER,
	    "unknown-peer", "payload.from");
	/* wrong-key: A's name, another peer's key or a stranger's */
	len = seal(k_c, A_ID, SELF, PROTO_MSG_PRESENT, T0, 1, "x", 1, big);
	check_refused(t, big, len, MRX_EKEY, PROTO_REFUSE_WRONG_KEY,
	    "wrong-key", "protected.kid");
	len = seal(k_x, A_ID, SELF, PROTO_MSG_PRESENT, T0, 1, "x", 1, big);
	check_refused(t, big, len, MRX_EKEY, PROTO_REFUSE_WRONG_KEY,
	    "wrong-key", "protected.kid");
	/* bad-signature: one bit of the signature, of the body */
	len = seal(k_b, B_ID, SELF, PROTO_MSG_PRESENT, T0, 1, "xyz", 3, big);
	big[len - 10] ^= 0x40;
	check_refused(t, big, len, MRX_ESIG, PROTO_REFUSE_BAD_SIGNATURE,
	    "bad-signature", "signature");
	len = seal(k_a, A_ID, SELF, PROTO_MSG_PRESENT, T0, 1, "xyz", 3, big);
	assert_int_equal(proto_envelope_open(big, len, &env, NULL, NULL), 0);
	big[env.body - big + 1] = 'Y';
	check_refused(t, big, len, MRX_ESIG, PROTO_REFUSE_BAD_SIGNATURE,
	    "bad-signature", "signature");
	/* re-routed: to another node; a request to "*"; a feed to a node */
	len = seal(k_a, A_ID, "jp.op.sub", PROTO_MSG_PRESENT, T0, 1, "x", 1,
	    big);
	check_refused(t, big, len, MRX_ERANGE, PROTO_REFUSE_REROUTED,
	    "re-routed", "payload.to");
	len = seal(k_a, A_ID, A_ID, PROTO_MSG_PRESENT, T0, 1, "x", 1, big);
	check_refused(t, big, len, MRX_ERANGE, PROTO_REFUSE_REROUTED,
	    "re-routed", "payload.to");
	f[2] = (struct fld){ "to", F_TSTR, 0, "*", 1 };
	len = sign_fields(k_a, f, n, big);
	check_refused(t, big, len, MRX_ERANGE, PROTO_REFUSE_REROUTED,
	    "re-routed", "payload.to");
	good_fields(f);
	f[5].u = PROTO_MSG_FEED_RECORD;
	len = sign_fields(k_a, f, n, big);
	check_refused(t, big, len, MRX_ERANGE, PROTO_REFUSE_REROUTED,
	    "re-routed", "payload.to");
	/* forbidden-type: C may only publish feed records */
	len = seal(k_c, C_ID, SELF, PROTO_MSG_PRESENT, T0, 1, "x", 1, big);
	check_refused(t, big, len, MRX_EPERM, PROTO_REFUSE_FORBIDDEN_TYPE,
	    "forbidden-type", "payload.type");
	len = seal(k_c, C_ID, "*", PROTO_MSG_LOOKUP_SURVEY, T0, 1, "x", 1,
	    big);
	check_refused(t, big, len, MRX_EPERM, PROTO_REFUSE_FORBIDDEN_TYPE,
	    "forbidden-type", "payload.type");
	/* the signature is checked before addressing and ACL */
	len = seal(k_c, C_ID, SELF, PROTO_MSG_PRESENT, T0, 1, "xyz", 3, big);
	big[len - 1] ^= 1;
	check_refused(t, big, len, MRX_ESIG, PROTO_REFUSE_BAD_SIGNATURE,
	    "bad-signature", "signature");
	/* a bad self id is the caller's error, not a refusal */
	len = seal(k_a, A_ID, SELF, PROTO_MSG_PRESENT, T0, 1, "x", 1, big);
	assert_int_equal(proto_envelope_open(big, len, &env, NULL, NULL), 0);
	assert_int_equal(proto_peer_check(t, &env, "Not An Id", &r, NULL),
	    MRX_EINVAL);
	assert_int_equal(r, PROTO_REFUSE_NONE);
	proto_peer_table_free(t);
}

static void
test_peer_table(void **state)
{
	struct proto_peer_table_config cfg;
	struct proto_peer_table *t = NULL, *u = NULL;
	struct proto_rate_config bad_rate = { 0, 5 }, rate = { 7, 9 };
	struct proto_peer_spec s = { 0 };
	const struct proto_peer *p;
	struct mrx_diag d;

	(void)state;
	proto_peer_table_config_default(&cfg);
	assert_int_equal(cfg.peers_max, PROTO_PEERS_DEFAULT);
	assert_int_equal(cfg.replay.window_s, 300);
	assert_int_equal(cfg.replay.skew_s, 60);
	/* config limits */
	cfg.peers_max = 0;
	mrx_diag_clear(&d);
	assert_int_equal(proto_peer_table_new(&cfg, hkey, &t, &d), MRX_EINVAL);
	assert_string_equal(d.field, "peers_max");
	assert_null(t);
	cfg.peers_max = PROTO_PEERS_MAX + 1;
	assert_int_equal(proto_peer_table_new(&cfg, hkey, &t, NULL),
	    MRX_EINVAL);
	proto_peer_table_config_default(&cfg);
	cfg.replay.ids_max = PROTO_REPLAY_IDS_MIN - 1;
	mrx_diag_clear(&d);
	assert_int_equal(proto_peer_table_new(&cfg, hkey, &t, &d), MRX_EINVAL);
	assert_string_equal(d.field, "replay.ids_max");
	proto_peer_table_config_default(&cfg);
	cfg.replay.window_s = 0;
	mrx_diag_clear(&d);
	assert_int_equal(proto_peer_table_new(&cfg, hkey, &t, &d), MRX_EINVAL);
	assert_string_equal(d.field, "replay.window_s");
	proto_peer_table_config_default(&cfg);
	cfg.replay.skew_s = PROTO_ENV_SKEW_MAX_S + 1;
	mrx_diag_clear(&d);
	assert_int_equal(proto_peer_table_new(&cfg, hkey, &t, &d), MRX_EINVAL);
	assert_string_equal(d.field, "replay.skew_s");
	proto_peer_table_config_default(&cfg);
	cfg.rate.burst = PROTO_RATE_MAX + 1;
	mrx_diag_clear(&d);
	assert_int_equal(proto_peer_table_new(&cfg, hkey, &t, &d), MRX_EINVAL);
	assert_string_equal(d.field, "rate.burst");
	/* a table of two */
	proto_peer_table_config_default(&cfg);
	cfg.peers_max = 2;
	assert_int_equal(proto_peer_table_new(&cfg, hkey, &t, NULL), 0);
	s.id = "Bad", s.key = k_a, s.allowed_types = PROTO_MSG_ALL;
	mrx_diag_clear(&d);
	assert_int_equal(proto_peer_add(t, &s, 0, &d), MRX_EINVAL);
	assert_string_equal(d.field, "id");
	s.id = A_ID, s.key = NULL;
	mrx_diag_clear(&d);
	assert_int_equal(proto_peer_add(t, &s, 0, &d), MRX_EINVAL);
	assert_string_equal(d.field, "key");
	s.key = k_a, s.allowed_types = PROTO_MSG_ALL | 1u;
	mrx_diag_clear(&d);
	assert_int_equal(proto_peer_add(t, &s, 0, &d), MRX_EINVAL);
	assert_string_equal(d.field, "allowed_types");
	s.allowed_types = PROTO_MSG_BIT(PROTO_MSG_COUNT);
	assert_int_equal(proto_peer_add(t, &s, 0, NULL), MRX_EINVAL);
	s.allowed_types = PROTO_MSG_ALL, s.rate = &bad_rate;
	mrx_diag_clear(&d);
	assert_int_equal(proto_peer_add(t, &s, 0, &d), MRX_EINVAL);
	assert_string_equal(d.field, "rate.per_s");
	assert_int_equal(proto_peer_count(t), 0);
	s.rate = &rate;
	assert_int_equal(proto_peer_add(t, &s, 0, NULL), 0);
	mrx_diag_clear(&d);
	assert_int_equal(proto_peer_add(t, &s, 0, &d), MRX_EEXIST);
	assert_string_equal(d.field, "id");
	s.id = B_ID;	/* A's key under another name */
	mrx_diag_clear(&d);
	assert_int_equal(proto_peer_add(t, &s, 0, &d), MRX_EEXIST);
	assert_string_equal(d.field, "key");
	s.key = k_b, s.rate = NULL, s.allowed_types = 0;
	assert_int_equal(proto_peer_add(t, &s, 0, NULL), 0);
	s.id = C_ID, s.key = k_c;
	mrx_diag_clear(&d);
	assert_int_equal(proto_peer_add(t, &s, 0, &d), MRX_ENOSPC);
	assert_int_equal(proto_peer_count(t), 2);
	/* look-ups */
	p = proto_peer_find(t, A_ID);
	assert_non_null(p);
	assert_ptr_equal(p->key, k_a);
	assert_int_equal(p->rate.per_s, 7);
	assert_int_equal(p->rate.burst, 9);
	assert_ptr_equal(proto_peer_find_kid(t, cry_key_kid(k_a)), p);
	p = proto_peer_find(t, B_ID);
	assert_non_null(p);
	assert_int_equal(p->allowed_types, 0);
	assert_int_equal(p->rate.per_s, PROTO_RATE_DEFAULT_PER_S);
	assert_ptr_equal(proto_peer_find_kid(t, cry_key_kid(k_b)), p);
	assert_null(proto_peer_find(t, C_ID));
	assert_null(proto_peer_find(t, "jp.met"));
	assert_null(proto_peer_find(t, NULL));
	assert_null(proto_peer_find_kid(t, cry_key_kid(k_c)));
	proto_peer_table_free(t);
	proto_peer_table_free(NULL);
	/* many peers, added in two orders: the same look-ups */
	{
		struct cry_key *keys[40];
		char ids[40][16];
		uint8_t seed[32];
		size_t i, j;

		cfg.peers_max = 40;
		assert_int_equal(proto_peer_table_new(&cfg, hkey, &t, NULL),
		    0);
		assert_int_equal(proto_peer_table_new(&cfg, hkey, &u, NULL),
		    0);
		for (i = 0; i < 40; i++) {
			memset(seed, (int)(i + 100), sizeof(seed));
			assert_int_equal(cry_key_from_seed(seed, &keys[i]), 0);
			snprintf(ids[i], sizeof(ids[i]), "n%zu.x",
			    (i * 7) % 40);
		}
		for (i = 0; i < 40; i++) {
			s = (struct proto_peer_spec){ ids[i], keys[i],
			    PROTO_MSG_ALL, NULL, -1 };
			assert_int_equal(proto_peer_add(t, &s, 0, NULL), 0);
			j = 39 - i;
			s = (struct proto_peer_spec){ ids[j], keys[j],
			    PROTO_MSG_ALL, NULL, -1 };
			assert_int_equal(proto_peer_add(u, &s, 0, NULL), 0);
		}
		for (i = 0; i < 40; i++) {
			assert_ptr_equal(proto_peer_find(t, ids[i])->key,
			    keys[i]);
			assert_ptr_equal(proto_peer_find(u, ids[i])->key,
			    keys[i]);
			assert_string_equal(proto_peer_find_kid(t,
			    cry_key_kid(keys[i]))->id, ids[i]);
			assert_string_equal(proto_peer_find_kid(u,
			    cry_key_kid(keys[i]))->id, ids[i]);
		}
		proto_peer_table_free(t);
		proto_peer_table_free(u);
		for (i = 0; i < 40; i++)
			cry_key_free(keys[i]);
	}
}

/* ------------------------------------------------------------ accept */

static int
accept_one(struct proto_peer_table *t, const struct cry_key *key,
    const char *from, int64_t t_send, uint32_t idn, int64_t now_ms,
    enum proto_refusal *why)
{
	struct proto_envelope env;
	struct mrx_diag d;
	size_t len;
	int rc;

	len = seal(key, from, SELF, PROTO_MSG_PRESENT, t_send, idn, "x", 1,
	    big);
	rc = open_check(t, big, len, &env, why, &d);
	if (rc != 0)
		return rc;
	return proto_peer_accept(t, &env, now_ms, why, &d);
}

static void
test_accept(void **state)
{
	struct proto_peer_table_config cfg;
	struct proto_peer_table *t;
	struct proto_envelope env;
	enum proto_refusal r;
	struct mrx_diag d;
	int i;

	(void)state;
	proto_peer_table_config_default(&cfg);
	cfg.rate.per_s = 1;
	cfg.rate.burst = 3;
	t = table_abc(&cfg);
	/* new, then the same message again */
	assert_int_equal(accept_one(t, k_a, A_ID, T0, 1, NOW_MS, &r), 0);
	assert_int_equal(r, PROTO_REFUSE_NONE);
	assert_int_equal(accept_one(t, k_a, A_ID, T0, 1, NOW_MS, &r),
	    MRX_EDUP);
	assert_string_equal(proto_refusal_name(r), "replayed");
	/* the same id from another peer is that peer's business */
	assert_int_equal(accept_one(t, k_b, B_ID, T0, 1, NOW_MS, &r), 0);
	/* the window: 300 s back, 60 s ahead, edges included */
	assert_int_equal(accept_one(t, k_b, B_ID, T0 - 300, 2, NOW_MS, &r), 0);
	assert_int_equal(accept_one(t, k_b, B_ID, T0 - 301, 3, NOW_MS, &r),
	    MRX_ERANGE);
	assert_string_equal(proto_refusal_name(r), "too-old");
	assert_int_equal(accept_one(t, k_b, B_ID, T0 + 61, 4, NOW_MS + 999,
	    &r), MRX_ERANGE);
	assert_string_equal(proto_refusal_name(r), "from-the-future");
	/* B's bucket (3, 1/s) had two taken: refusals took none */
	assert_int_equal(accept_one(t, k_b, B_ID, T0 + 60, 5, NOW_MS, &r), 0);
	assert_int_equal(accept_one(t, k_b, B_ID, T0 + 60, 6, NOW_MS, &r),
	    MRX_ENOSPC);
	assert_string_equal(proto_refusal_name(r), "rate-limited");
	/* a rate-limited message is not remembered: it is welcome later */
	assert_int_equal(accept_one(t, k_b, B_ID, T0 + 60, 6, NOW_MS + 999,
	    &r), MRX_ENOSPC);
	assert_int_equal(accept_one(t, k_b, B_ID, T0 + 60, 6, NOW_MS + 1000,
	    &r), 0);
	/* a flood of replays of A's message does not drain A's bucket */
	for (i = 0; i < 100; i++)
		assert_int_equal(accept_one(t, k_a, A_ID, T0, 1, NOW_MS, &r),
		    MRX_EDUP);
	assert_int_equal(accept_one(t, k_a, A_ID, T0, 2, NOW_MS, &r), 0);
	assert_int_equal(accept_one(t, k_a, A_ID, T0, 3, NOW_MS, &r), 0);
	assert_int_equal(accept_one(t, k_a, A_ID, T0, 4, NOW_MS, &r),
	    MRX_ENOSPC);
	/* one noisy peer does not starve another: C is untouched */
	{
		size_t len = seal(k_c, C_ID, "*", PROTO_MSG_FEED_RECORD, T0, 9,
		    "x", 1, big);

		assert_int_equal(open_check(t, big, len, &env, &r, &d), 0);
		assert_int_equal(proto_peer_accept(t, &env, NOW_MS, &r, &d), 0);
	}
	/* accept names an unknown sender too */
	strcpy(env.from, "kr.nis");
	assert_int_equal(proto_peer_accept(t, &env, NOW_MS, &r, &d),
	    MRX_ENOENT);
	assert_string_equal(proto_refusal_name(r), "unknown-peer");
	assert_true(proto_replay_consistent(proto_peer_find(t, A_ID)->replay));
	proto_peer_table_free(t);
}

/* ------------------------------------------------------------ replay */

static struct proto_replay *
replay_new(uint32_t ids, int64_t window, int64_t skew, int64_t floor)
{
	struct proto_replay_config c = { ids, window, skew };
	struct proto_replay *r = NULL;

	assert_int_equal(proto_replay_new(&c, hkey, floor, &r, NULL), 0);
	return r;
}

static void
test_replay_boundaries(void **state)
{
	struct proto_replay_config c = { 16, 300, 60 };
	struct proto_replay *r = replay_new(16, 300, 60, T0 - 100), *q = NULL;
	uint8_t id[PROTO_ENV_ID_LEN];
	enum proto_refusal w;
	struct mrx_diag d;

	(void)state;
	id_fill(id, 1);
	/* the floor given at creation: t <= floor refused */
	mrx_diag_clear(&d);
	assert_int_equal(proto_replay_check(r, id, T0 - 100, T0, &w, &d),
	    MRX_ERANGE);
	assert_int_equal(w, PROTO_REFUSE_REPLAY_FLOOR);
	assert_string_equal(d.field, "payload.t");
	assert_int_equal(proto_replay_count(r), 0);
	assert_int_equal(proto_replay_check(r, id, T0 - 99, T0, &w, NULL), 0);
	assert_int_equal(proto_replay_check(r, id, T0 - 99, T0, &w, NULL),
	    MRX_EDUP);
	assert_int_equal(w, PROTO_REFUSE_REPLAYED);
	/* the lower edge: now - 300 is in, a second earlier is out */
	id_fill(id, 2);
	assert_int_equal(proto_replay_test(r, id, T0 - 99, T0 + 201, &w,
	    NULL), 0);
	assert_int_equal(w, PROTO_REFUSE_NONE);
	assert_int_equal(proto_replay_test(r, id, T0 - 100, T0 + 201, &w,
	    NULL), MRX_ERANGE);
	assert_int_equal(w, PROTO_REFUSE_TOO_OLD);
	/* inside the window but at the floor */
	assert_int_equal(proto_replay_test(r, id, T0 - 100, T0 + 200, &w,
	    NULL), MRX_ERANGE);
	assert_int_equal(w, PROTO_REFUSE_REPLAY_FLOOR);
	/* the upper edge: now + 60 is in, a second later is out */
	assert_int_equal(proto_replay_test(r, id, T0 + 60, T0, &w, NULL), 0);
	assert_int_equal(proto_replay_test(r, id, T0 + 61, T0, &w, NULL),
	    MRX_ERANGE);
	assert_int_equal(w, PROTO_REFUSE_FROM_THE_FUTURE);
	/* a replay is "replayed" up to the window's edge, then "too-old" */
	id_fill(id, 1);
	assert_int_equal(proto_replay_test(r, id, T0 - 99, T0 + 201, &w, NULL),
	    MRX_EDUP);
	assert_int_equal(w, PROTO_REFUSE_REPLAYED);
	assert_int_equal(proto_replay_test(r, id, T0 - 99, T0 + 202, &w, NULL),
	    MRX_ERANGE);
	assert_int_equal(w, PROTO_REFUSE_TOO_OLD);
	/* extreme clocks do not overflow */
	assert_int_equal(proto_replay_test(r, id, 0, INT64_MIN, &w, NULL),
	    MRX_ERANGE);
	assert_int_equal(w, PROTO_REFUSE_FROM_THE_FUTURE);
	assert_int_equal(proto_replay_test(r, id, 0, INT64_MAX, &w, NULL),
	    MRX_ERANGE);
	assert_int_equal(w, PROTO_REFUSE_TOO_OLD);
	assert_int_equal(proto_replay_floor(r), T0 - 100);
	proto_replay_free(r);
	proto_replay_free(NULL);
	/* parameters */
	c.ids_max = PROTO_REPLAY_IDS_MAX + 1;
	assert_int_equal(proto_replay_new(&c, hkey, 0, &q, NULL), MRX_EINVAL);
	c.ids_max = 16, c.window_s = PROTO_WINDOW_MAX_S + 1;
	assert_int_equal(proto_replay_new(&c, hkey, 0, &q, NULL), MRX_EINVAL);
	c.window_s = 300, c.skew_s = -1;
	assert_int_equal(proto_replay_new(&c, hkey, 0, &q, NULL), MRX_EINVAL);
	assert_null(q);
}

/* A small deterministic generator for the tests (xorshift64*). */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

/*
 * Memory pressure: many more ids than the set holds, sent at times spread
 * over the window in any order. Every id ever accepted is replayed at
 * every step: none is ever accepted twice, and every refusal of a replay
 * is "replayed" (still remembered), "replay-floor" (forgotten, time at or
 * below the floor) or "too-old". The set's invariants hold throughout.
 */
static void
test_replay_pressure(void **state)
{
	enum { IDS = 16, MSGS = 3000 };
	struct proto_replay *r = replay_new(IDS, 300, 60, -1);
	static uint8_t acc_id[MSGS][PROTO_ENV_ID_LEN];
	static int64_t acc_t[MSGS];
	uint8_t id[PROTO_ENV_ID_LEN];
	size_t nacc = 0, i, k, remembered, floored, old, refused_new = 0;
	uint64_t s = 0x9e3779b97f4a7c15u;
	int64_t now = T0, t, floor_before;
	enum proto_refusal w;
	int rc;

	(void)state;
	for (i = 0; i < MSGS; i++) {
		now += (int64_t)(rnd(&s) % 3);	/* time moves, slowly */
		t = now - (int64_t)(rnd(&s) % 320) + 30;
		for (k = 0; k < PROTO_ENV_ID_LEN; k++)
			id[k] = (uint8_t)rnd(&s);
		floor_before = proto_replay_floor(r);
		rc = proto_replay_check(r, id, t, now, &w, NULL);
		if (rc == 0) {
			memcpy(acc_id[nacc], id, sizeof(id));
			acc_t[nacc++] = t;
			assert_true(t > floor_before);
		} else {
			refused_new++;
			assert_true(w == PROTO_REFUSE_TOO_OLD ||
			    w == PROTO_REFUSE_FROM_THE_FUTURE ||
			    w == PROTO_REFUSE_REPLAY_FLOOR);
		}
		assert_true(proto_replay_floor(r) >= floor_before);
		assert_true(proto_replay_count(r) <= IDS);
		if (i % 97 != 0 && i < MSGS - 1)
			continue;
		assert_true(proto_replay_consistent(r));
		remembered = floored = old = 0;
		for (k = 0; k < nacc; k++) {
			rc = proto_replay_check(r, acc_id[k], acc_t[k], now, &w,
			    NULL);
			assert_int_not_equal(rc, 0);
			remembered += w == PROTO_REFUSE_REPLAYED;
			floored += w == PROTO_REFUSE_REPLAY_FLOOR;
			old += w == PROTO_REFUSE_TOO_OLD;
			assert_int_equal(remembered + floored + old, k + 1);
			if (w == PROTO_REFUSE_REPLAY_FLOOR)
				assert_true(acc_t[k] <= proto_replay_floor(r));
		}
		assert_true(remembered <= IDS);
	}
	assert_true(nacc > 100);
	assert_true(refused_new > 100);	/* the cost of pressure: refusals */
	proto_replay_free(r);
}

/*
 * Without pressure (at most ids_max messages per window + skew seconds)
 * no legitimate message is refused, however long it runs; and eviction
 * through a small table keeps the invariants.
 */
static void
test_replay_no_false_refusal(void **state)
{
	struct proto_replay *r = replay_new(16, 10, 5, -1);
	uint8_t id[PROTO_ENV_ID_LEN];
	enum proto_refusal w;
	uint32_t i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		id_fill(id, i);
		assert_int_equal(proto_replay_check(r, id, T0 + i, T0 + i, &w,
		    NULL), 0);
		if (i % 500 == 0)
			assert_true(proto_replay_consistent(r));
	}
	assert_int_equal(proto_replay_count(r), 16);
	assert_true(proto_replay_floor(r) < T0 + 5000 - 15);
	assert_true(proto_replay_consistent(r));
	/* the last 16 are remembered; the one before is below the window */
	for (i = 5000 - 16; i < 5000; i++) {
		id_fill(id, i);
		assert_int_equal(proto_replay_test(r, id, T0 + i, T0 + 4994,
		    &w, NULL), MRX_EDUP);
	}
	id_fill(id, 5000 - 17);
	assert_int_equal(proto_replay_test(r, id, T0 + 5000 - 17, T0 + 4994,
	    &w, NULL), MRX_ERANGE);
	assert_int_equal(w, PROTO_REFUSE_TOO_OLD);
	proto_replay_free(r);
}

/* The same stream under two hash keys: the same answers. */
static void
test_replay_determinism(void **state)
{
	struct proto_replay_config c = { 32, 300, 60 };
	struct proto_replay *r1 = NULL, *r2 = NULL;
	uint8_t k2[PROTO_HASH_KEY_LEN], id[PROTO_ENV_ID_LEN];
	enum proto_refusal w1, w2;
	uint64_t s = 42;
	int64_t now = T0, t;
	size_t i, k;

	(void)state;
	memset(k2, 0xee, sizeof(k2));
	assert_int_equal(proto_replay_new(&c, hkey, -1, &r1, NULL), 0);
	assert_int_equal(proto_replay_new(&c, k2, -1, &r2, NULL), 0);
	for (i = 0; i < 4000; i++) {
		now += (int64_t)(rnd(&s) % 2);
		t = now - (int64_t)(rnd(&s) % 200);
		/* one message in four repeats the previous id */
		if (rnd(&s) % 4 != 0 || i == 0)
			for (k = 0; k < sizeof(id); k++)
				id[k] = (uint8_t)(rnd(&s) % 8);
		assert_int_equal(proto_replay_check(r1, id, t, now, &w1, NULL),
		    proto_replay_check(r2, id, t, now, &w2, NULL));
		assert_int_equal(w1, w2);
		assert_int_equal(proto_replay_floor(r1),
		    proto_replay_floor(r2));
	}
	assert_true(proto_replay_consistent(r1));
	assert_true(proto_replay_consistent(r2));
	proto_replay_free(r1);
	proto_replay_free(r2);
}

static void
test_siphash_vectors(void **state)
{
	uint8_t k[16], m[16];
	size_t i;

	(void)state;
	for (i = 0; i < 16; i++)
		k[i] = (uint8_t)i, m[i] = (uint8_t)i;
	/* the SipHash paper's appendix and its reference implementation */
	assert_true(proto_siphash24(k, m, 0) == UINT64_C(0x726fdb47dd0e0e31));
	assert_true(proto_siphash24(k, m, 8) == UINT64_C(0x93f5f5799a932462));
	assert_true(proto_siphash24(k, m, 15) == UINT64_C(0xa129ca6149be45e5));
}

/* ------------------------------------------------------------ rate */

static void
test_rate(void **state)
{
	struct proto_rate_config c = { 10, 3 };
	struct proto_rate b;
	int i;

	(void)state;
	assert_int_equal(proto_rate_init(&b, &c, 1000), 0);
	for (i = 0; i < 3; i++)
		assert_true(proto_rate_take(&b, 1000));
	assert_false(proto_rate_take(&b, 1000));
	/* 10/s: a token every 100 ms */
	assert_false(proto_rate_take(&b, 1099));
	assert_true(proto_rate_take(&b, 1100));
	assert_false(proto_rate_take(&b, 1100));
	/* a clock going backwards adds nothing and is not remembered */
	assert_false(proto_rate_take(&b, 500));
	assert_false(proto_rate_take(&b, 1199));
	assert_true(proto_rate_take(&b, 1200));
	/* a long pause refills to the burst, not beyond */
	for (i = 0; i < 3; i++)
		assert_true(proto_rate_take(&b, INT64_C(1) << 50));
	assert_false(proto_rate_take(&b, INT64_C(1) << 50));
	/* the largest rate and burst, the widest clock jump */
	c.per_s = PROTO_RATE_MAX, c.burst = PROTO_RATE_MAX;
	assert_int_equal(proto_rate_init(&b, &c, INT64_MIN), 0);
	for (i = 0; i < 1000; i++)
		assert_true(proto_rate_take(&b, INT64_MIN));
	assert_true(proto_rate_take(&b, INT64_MAX));
	assert_int_equal(b.milli, (uint64_t)PROTO_RATE_MAX * 1000 - 1000);
	/* 1/s, burst 1: exactly one per second */
	c.per_s = 1, c.burst = 1;
	assert_int_equal(proto_rate_init(&b, &c, 0), 0);
	assert_true(proto_rate_take(&b, 0));
	assert_false(proto_rate_take(&b, 999));
	assert_true(proto_rate_take(&b, 1000));
	assert_false(proto_rate_take(&b, 1999));
	/* parameters */
	c.per_s = 0;
	assert_int_equal(proto_rate_init(&b, &c, 0), MRX_EINVAL);
	c.per_s = 1, c.burst = 0;
	assert_int_equal(proto_rate_init(&b, &c, 0), MRX_EINVAL);
	c.burst = PROTO_RATE_MAX + 1;
	assert_int_equal(proto_rate_init(&b, &c, 0), MRX_EINVAL);
}

/* ------------------------------------------------------------ mutation */

/*
 * Every byte of a sealed envelope flipped (three ways), replaced by 0x00
 * and 0xff, and the envelope truncated at every length: never accepted.
 */
static void
mutate_all(const struct cry_key *key, const char *from)
{
	static const uint8_t flips[] = { 0x01, 0x80, 0xff };
	struct proto_peer_table *t = table_abc(NULL);
	struct proto_envelope env;
	enum proto_refusal r;
	uint8_t orig[512], m[512];
	size_t len, i, k, opened = 0, tried = 0;

	len = seal(key, from, SELF, PROTO_MSG_PRESENT, T0, 77,
	    "a clearance record", 18, big);
	assert_true(len <= sizeof(orig));
	memcpy(orig, big, len);
	assert_int_equal(proto_envelope_open(orig, len, &env, NULL, NULL), 0);
	assert_int_equal(proto_peer_check(t, &env, SELF, NULL, NULL), 0);
	for (i = 0; i < len; i++) {
		uint8_t subst[5];
		size_t ns = 0;

		for (k = 0; k < sizeof(flips); k++)
			subst[ns++] = orig[i] ^ flips[k];
		if (orig[i] != 0x00)
			subst[ns++] = 0x00;
		if (orig[i] != 0xff)
			subst[ns++] = 0xff;
		for (k = 0; k < ns; k++) {
			memcpy(m, orig, len);
			m[i] = subst[k];
			tried++;
			if (proto_envelope_open(m, len, &env, NULL, NULL) != 0)
				continue;
			opened++;
			if (proto_peer_check(t, &env, SELF, &r, NULL) == 0)
				fail_msg("byte %zu -> 0x%02x accepted", i,
				    subst[k]);
			assert_int_not_equal(r, PROTO_REFUSE_NONE);
		}
		tried++;
		if (proto_envelope_open(orig, i, &env, NULL, NULL) == 0 &&
		    proto_peer_check(t, &env, SELF, NULL, NULL) == 0)
			fail_msg("truncated at %zu accepted", i);
	}
	assert_true(opened > len);	/* most mutations reach the signature */
	assert_true(tried > 5 * len);
	proto_peer_table_free(t);
}

static void
test_mutation_ed25519(void **state)
{
	(void)state;
	mutate_all(k_a, A_ID);
}

static void
test_mutation_es256(void **state)
{
	(void)state;
	mutate_all(k_b, B_ID);
}

/* ------------------------------------------------------------ blind */

static void
norm_is(const char *name, const char *dob, const char *nat,
    const char *want_name, const char *want_dob, const char *want_nat)
{
	uint8_t buf[PROTO_BLIND_INPUT_MAX], want[PROTO_BLIND_INPUT_MAX];
	struct mrx_diag d;
	size_t len, wl;

	wl = (size_t)snprintf((char *)want, sizeof(want),
	    "mrx-blind-v1\x1f%s\x1f%s\x1f%s", want_name, want_dob, want_nat);
	mrx_diag_clear(&d);
	if (proto_blind_normalise(name, dob, nat, buf, sizeof(buf), &len, &d)
	    != 0)
		fail_msg("'%s': %s", name, d.msg);
	assert_int_equal(len, wl);
	assert_memory_equal(buf, want, wl);
}

static void
norm_fails(const char *name, const char *dob, const char *nat, int code,
    const char *field, size_t offset)
{
	uint8_t buf[PROTO_BLIND_INPUT_MAX], out[PROTO_BLIND_LEN];
	uint8_t key[32] = { 0 };
	struct mrx_diag d;
	size_t len = 1;

	mrx_diag_clear(&d);
	assert_int_equal(proto_blind_normalise(name, dob, nat, buf,
	    sizeof(buf), &len, &d), code);
	assert_string_equal(d.field, field);
	assert_int_equal(d.offset, offset);
	assert_int_equal(len, 0);
	mrx_diag_clear(&d);
	assert_int_equal(proto_blind_key(key, sizeof(key), name, dob, nat, out,
	    &d), code);
	assert_string_equal(d.field, field);
}

static void
test_blind_normalise(void **state)
{
	char name[PROTO_BLIND_NAME_MAX + 2];
	uint8_t buf[PROTO_BLIND_INPUT_MAX];
	size_t len;

	(void)state;
	norm_is("Taro Yamada", "1990-04-01", "JPN", "TARO YAMADA",
	    "1990-04-01", "JPN");
	norm_is("  taro   yamada ", "1990-04-01", "jpn", "TARO YAMADA",
	    "1990-04-01", "JPN");
	norm_is("\tTaro\r\n\v\fYamada\n", "1990-04-01", "jPn", "TARO YAMADA",
	    "1990-04-01", "JPN");
	/* non-ASCII white space: ideographic space, NBSP, NNBSP, NEL */
	norm_is("\xe3\x80\x80\xe5\xb1\xb1\xe7\x94\xb0\xe3\x80\x80\xe5\xa4\xaa"
	    "\xe9\x83\x8e\xe3\x80\x80", "1985-12-31", "JPN",
	    "\xe5\xb1\xb1\xe7\x94\xb0 \xe5\xa4\xaa\xe9\x83\x8e", "1985-12-31",
	    "JPN");
	norm_is("Ann\xc2\xa0Lee\xe2\x80\xaf" "Wong\xc2\x85X", "2001-01-01",
	    "GBR", "ANN LEE WONG X", "2001-01-01", "GBR");
	/* non-ASCII letters are kept as they are (no case mapping) */
	norm_is("Jos\xc3\xa9 \xc3\x81lvarez", "2000-02-29", "ESP",
	    "JOS\xc3\xa9 \xc3\x81LVAREZ", "2000-02-29", "ESP");
	norm_is("o'brien-smith", "1970-01-01", "GBR", "O'BRIEN-SMITH",
	    "1970-01-01", "GBR");
	norm_is("x", "0001-01-01", "XXA", "X", "0001-01-01", "XXA");
	norm_is("x", "9999-12-31", "zzz", "X", "9999-12-31", "ZZZ");
	norm_is("x", "2024-02-29", "USA", "X", "2024-02-29", "USA");
	norm_is("x", "1990-04-30", "USA", "X", "1990-04-30", "USA");
	/* a zero-width space is not white space: kept */
	norm_is("a\xe2\x80\x8b" "b", "1990-04-30", "USA", "A\xe2\x80\x8b" "B",
	    "1990-04-30", "USA");
	/* name: UTF-8, controls, empty, length */
	norm_fails("A\xc3\x28", "1990-01-01", "JPN", MRX_EMALFORMED, "name", 1);
	norm_fails("\xc0\xaf", "1990-01-01", "JPN", MRX_EMALFORMED, "name", 0);
	norm_fails("ab\xed\xa0\x80", "1990-01-01", "JPN", MRX_EMALFORMED,
	    "name", 2);
	norm_fails("\xf4\x90\x80\x80", "1990-01-01", "JPN", MRX_EMALFORMED,
	    "name", 0);
	norm_fails("ab\xe3\x80", "1990-01-01", "JPN", MRX_EMALFORMED, "name",
	    2);
	norm_fails("A\x1f" "B", "1990-01-01", "JPN", MRX_ERANGE, "name", 1);
	norm_fails("AB\x7f", "1990-01-01", "JPN", MRX_ERANGE, "name", 2);
	norm_fails("A\x01", "1990-01-01", "JPN", MRX_ERANGE, "name", 1);
	norm_fails("\xc2\x80" "A", "1990-01-01", "JPN", MRX_ERANGE, "name", 0);
	norm_fails("", "1990-01-01", "JPN", MRX_EMISSING, "name", 0);
	norm_fails(" \t\xe3\x80\x80 ", "1990-01-01", "JPN", MRX_EMISSING,
	    "name", 0);
	memset(name, 'a', PROTO_BLIND_NAME_MAX);
	name[PROTO_BLIND_NAME_MAX] = '\0';
	assert_int_equal(proto_blind_normalise(name, "1990-01-01", "JPN", buf,
	    sizeof(buf), &len, NULL), 0);
	assert_int_equal(len, PROTO_BLIND_INPUT_MAX);
	name[PROTO_BLIND_NAME_MAX] = 'a';
	name[PROTO_BLIND_NAME_MAX + 1] = '\0';
	norm_fails(name, "1990-01-01", "JPN", MRX_ETOOBIG, "name",
	    PROTO_BLIND_NAME_MAX);
	/* dob */
	norm_fails("x", "1990-02-29", "JPN", MRX_ERANGE, "dob", 8);
	norm_fails("x", "1900-02-29", "JPN", MRX_ERANGE, "dob", 8);
	norm_fails("x", "1990-04-31", "JPN", MRX_ERANGE, "dob", 8);
	norm_fails("x", "1990-01-32", "JPN", MRX_ERANGE, "dob", 8);
	norm_fails("x", "1990-01-00", "JPN", MRX_ERANGE, "dob", 8);
	norm_fails("x", "1990-13-01", "JPN", MRX_ERANGE, "dob", 5);
	norm_fails("x", "1990-00-10", "JPN", MRX_ERANGE, "dob", 5);
	norm_fails("x", "0000-01-01", "JPN", MRX_ERANGE, "dob", 0);
	norm_fails("x", "1990-1-01", "JPN", MRX_ERANGE, "dob", 0);
	norm_fails("x", "1990/01/01", "JPN", MRX_ERANGE, "dob", 0);
	norm_fails("x", "19900101", "JPN", MRX_ERANGE, "dob", 0);
	norm_fails("x", "1990-01-01 ", "JPN", MRX_ERANGE, "dob", 0);
	norm_fails("x", "199O-01-01", "JPN", MRX_ERANGE, "dob", 3);
	norm_fails("x", "1990-01-XX", "JPN", MRX_ERANGE, "dob", 8);
	/* nationality */
	norm_fails("x", "1990-01-01", "JP", MRX_ERANGE, "nationality", 0);
	norm_fails("x", "1990-01-01", "JPNX", MRX_ERANGE, "nationality", 0);
	norm_fails("x", "1990-01-01", "J1N", MRX_ERANGE, "nationality", 1);
	norm_fails("x", "1990-01-01", "\xc3\x84" "B", MRX_ERANGE, "nationality",
	    0);
	norm_fails("x", "1990-01-01", "JP ", MRX_ERANGE, "nationality", 2);
	/* buffer and arguments */
	assert_int_equal(proto_blind_normalise("x", "1990-01-01", "JPN", buf,
	    10, &len, NULL), MRX_ENOSPC);
	assert_int_equal(len,
	    strlen("mrx-blind-v1\x1fX\x1f" "1990-01-01\x1fJPN"));
	assert_int_equal(proto_blind_normalise(NULL, "1990-01-01", "JPN", buf,
	    sizeof(buf), &len, NULL), MRX_EINVAL);
}

static void
hex_is(const uint8_t *got, const char *hex)
{
	char s[2 * PROTO_BLIND_LEN + 1];
	size_t i;

	for (i = 0; i < PROTO_BLIND_LEN; i++)
		snprintf(s + 2 * i, 3, "%02x", got[i]);
	assert_string_equal(s, hex);
}

static void
test_blind_vectors(void **state)
{
	uint8_t key[32], key64[64], out[PROTO_BLIND_LEN], out2[PROTO_BLIND_LEN];
	static const char norm[] =
	    "mrx-blind-v1\x1fTARO YAMADA\x1f" "1990-04-01\x1fJPN";
	struct mrx_diag d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	memset(key64, 0x5a, sizeof(key64));
	/* HMAC-SHA-256 values from Python's hmac over the normalised input */
	assert_int_equal(proto_blind_key(key, 32, " taro  YAMADA", "1990-04-01",
	    "jpn", out, NULL), 0);
	hex_is(out, "60946cb7dec4598f7ca9f1bc438e4d34"
	    "443d0acaf5e0ecf03d2454ecef5b8f13");
	assert_int_equal(cry_hmac_sha256(key, 32, norm, strlen(norm), out2), 0);
	assert_memory_equal(out, out2, sizeof(out));
	assert_int_equal(proto_blind_key(key, 32, "\xe5\xb1\xb1\xe7\x94\xb0"
	    "\xe3\x80\x80\xe5\xa4\xaa\xe9\x83\x8e", "1985-12-31", "JPN", out,
	    NULL), 0);
	hex_is(out, "54574357ae96d7f31f85c8d3b3331dbb"
	    "24356cdb1ad7754305923bb4621006bc");
	assert_int_equal(proto_blind_key(key, 32, "Jos\xc3\xa9\t\xc3\x81lvarez",
	    "2000-02-29", "esp", out, NULL), 0);
	hex_is(out, "e43c2f1f604b247e57ae254091cc3efa"
	    "2b372064afff5f956b26e071d0861c07");
	assert_int_equal(proto_blind_key(key64, 64, "O'Brien-Smith",
	    "1970-01-01", "GBR", out, NULL), 0);
	hex_is(out, "4280f768565f9a383f9bf015e017c471"
	    "1407008db53801f71836d522836116c2");
	/* spellings that normalise alike match; a different field does not */
	assert_int_equal(proto_blind_key(key, 32, "TARO YAMADA", "1990-04-01",
	    "JPN", out2, NULL), 0);
	assert_int_equal(proto_blind_key(key, 32, "\xe3\x80\x80taro\n yamada",
	    "1990-04-01", "jPN", out, NULL), 0);
	assert_memory_equal(out, out2, sizeof(out));
	assert_int_equal(proto_blind_key(key, 32, "TARO YAMADA", "1990-04-02",
	    "JPN", out, NULL), 0);
	assert_memory_not_equal(out, out2, sizeof(out));
	assert_int_equal(proto_blind_key(key, 32, "TAROYAMADA", "1990-04-01",
	    "JPN", out, NULL), 0);
	assert_memory_not_equal(out, out2, sizeof(out));
	/* another agreement's key: another blinded key */
	key[0] ^= 1;
	assert_int_equal(proto_blind_key(key, 32, "TARO YAMADA", "1990-04-01",
	    "JPN", out, NULL), 0);
	assert_memory_not_equal(out, out2, sizeof(out));
	/* key length */
	mrx_diag_clear(&d);
	assert_int_equal(proto_blind_key(key, 31, "x", "1990-01-01", "JPN",
	    out, &d), MRX_ERANGE);
	assert_string_equal(d.field, "key");
	assert_int_equal(proto_blind_key(key64, 65, "x", "1990-01-01", "JPN",
	    out, NULL), MRX_ERANGE);
	assert_int_equal(proto_blind_key(NULL, 32, "x", "1990-01-01", "JPN",
	    out, NULL), MRX_EINVAL);
}

/* ------------------------------------------------------------ main */

static int
setup(void **state)
{
	uint8_t seed[32];

	(void)state;
	memset(seed, 0xa1, sizeof(seed));
	if (cry_key_from_seed(seed, &k_a) != 0)
		return -1;
	memset(seed, 0xc3, sizeof(seed));
	if (cry_key_from_seed(seed, &k_c) != 0)
		return -1;
	memset(seed, 0xd4, sizeof(seed));
	if (cry_key_from_seed(seed, &k_x) != 0)
		return -1;
	if (cry_key_generate(CRY_ALG_ES256, &k_b) != 0)
		return -1;
	big = malloc(BUF_MAX);
	big2 = malloc(BUF_MAX);
	return big != NULL && big2 != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	cry_key_free(k_a);
	cry_key_free(k_b);
	cry_key_free(k_c);
	cry_key_free(k_x);
	free(big);
	free(big2);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_roundtrip_ed25519),
		cmocka_unit_test(test_roundtrip_es256),
		cmocka_unit_test(test_roundtrip_limits),
		cmocka_unit_test(test_wire_layout),
		cmocka_unit_test(test_seal_errors),
		cmocka_unit_test(test_open_payload_rules),
		cmocka_unit_test(test_open_size_limits),
		cmocka_unit_test(test_open_cose_rules),
		cmocka_unit_test(test_verify_refusals),
		cmocka_unit_test(test_peer_check),
		cmocka_unit_test(test_peer_table),
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_replay_boundaries),
		cmocka_unit_test(test_replay_pressure),
		cmocka_unit_test(test_replay_no_false_refusal),
		cmocka_unit_test(test_replay_determinism),
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_mutation_ed25519),
		cmocka_unit_test(test_mutation_es256),
		cmocka_unit_test(test_blind_normalise),
		cmocka_unit_test(test_blind_vectors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
