/*
 * test_mutation.c - no small corruption of a signed record is accepted.
 *
 * A trust store is built in memory: an Ed25519 root, an issuer key (once
 * ES256, once Ed25519), a delegation from the root to the issuer, the
 * issuer's status list of 131072 entries (seq 1) and a clearance at index 7;
 * proto_decide() must accept the clearance. Then at every byte position of
 * the clearance each of the 8 bits is flipped, the byte is set to 0x00, 0xff
 * and three seeded random values, the record is truncated there and a byte
 * is inserted there (0x00 and a random value); trailing bytes are appended.
 * proto_decide() must return 0 and accept none of these: every byte belongs
 * to the COSE structure, to the signed protected header and payload, or to
 * the signature.
 *
 * Each byte is also deleted. Deleting the leading tag 18 leaves an untagged
 * COSE_Sign1 with the same signed bytes, which docs/protocol.md section 1
 * lets readers accept: it is the same record (same record hash). So a
 * deletion mutant may be accepted only as such a re-wrap - the original's
 * signed bytes, a signature that verifies with the issuer's key, and the
 * original's record hash - and is reported as one.
 *
 * The delegation and the status list are mutated the same way and offered to
 * proto_trust_add(), both to a store that lacks the original and to one that
 * holds it. The store may take (return 0 for) only a genuine re-wrap of the
 * original, as above; taking anything else tells the caller that bytes
 * whose signature does not verify are valid trust material. After a mutant
 * is taken the decision on the original clearance must still be accept, and
 * after all the refusals the store must still work.
 *
 * test_rewrapped_*: copies of a signed record that keep its signed bytes but
 * change its envelope (no tag, a non-shortest head, an extra unprotected
 * header, the high-s twin of an ECDSA signature). Anyone who relays a record
 * can make them, so the store must not count one as a second, different
 * status list from the issuer (equivocation).
 *
 * Reproducible from MUT_SEED and the fixed keys, except ECDSA signatures
 * (OpenSSL draws k at random). Each mutant is a heap copy of exactly its
 * length, so an over-read shows under AddressSanitizer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cose.h"
#include "decide.h"
#include "key.h"
#include "ptime.h"
#include "record.h"

#define MUT_SEED 0x6d72782d6d757461ULL	/* fixed: runs are reproducible */
#define MUT_RANDOM_VALUES 3		/* random byte values per position */
#define MUT_NOW 1767225600LL		/* 2026-01-01T00:00:00Z */
#define ROOT_ID "jp.cao"
#define ISSUER_ID "jp.meti"
#define OPERATOR_ID "jp.op.sub"
#define SUBJECT "00112233445566778899aabbccddeeff"
#define STATUS_URI "mrx://jp.meti/status/0"
#define LEVEL "JP-CESI:CONFIDENTIAL"
#define STATUS_IDX 7
#define HIST_MAX 32			/* distinct reason codes we tally */

static const uint8_t root_seed[32] = {
	0x72, 0x6f, 0x6f, 0x74, 0x2d, 0x6a, 0x70, 0x2e, 0x63, 0x61, 0x6f,
	0x2d, 0x6d, 0x75, 0x74, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x2d, 0x74,
	0x65, 0x73, 0x74, 0x2d, 0x73, 0x65, 0x65, 0x64, 0x2d, 0x31,
};

static const uint8_t issuer_seed[32] = {
	0x69, 0x73, 0x73, 0x75, 0x65, 0x72, 0x2d, 0x6a, 0x70, 0x2e, 0x6d,
	0x65, 0x74, 0x69, 0x2d, 0x6d, 0x75, 0x74, 0x61, 0x74, 0x69, 0x6f,
	0x6e, 0x2d, 0x73, 0x65, 0x65, 0x64, 0x2d, 0x30, 0x30, 0x32,
};

/* The P-256 key "11" of the COSE WG examples (x, y, d). */
static const uint8_t p256_x[32] = {
	0xba, 0xc5, 0xb1, 0x1c, 0xad, 0x8f, 0x99, 0xf9, 0xc7, 0x2b, 0x05,
	0xcf, 0x4b, 0x9e, 0x26, 0xd2, 0x44, 0xdc, 0x18, 0x9f, 0x74, 0x52,
	0x28, 0x25, 0x5a, 0x21, 0x9a, 0x86, 0xd6, 0xa0, 0x9e, 0xff,
};
static const uint8_t p256_y[32] = {
	0x20, 0x13, 0x8b, 0xf8, 0x2d, 0xc1, 0xb6, 0xd5, 0x62, 0xbe, 0x0f,
	0xa5, 0x4a, 0xb7, 0x80, 0x4a, 0x3a, 0x64, 0xb6, 0xd7, 0x2c, 0xcf,
	0xed, 0x6b, 0x6f, 0xb6, 0xed, 0x28, 0xbb, 0xfc, 0x11, 0x7e,
};
static const uint8_t p256_d[32] = {
	0x57, 0xc9, 0x20, 0x77, 0x66, 0x41, 0x46, 0xe8, 0x76, 0x76, 0x0c,
	0x95, 0x20, 0xd0, 0x54, 0xaa, 0x93, 0xc3, 0xaf, 0xb0, 0x4e, 0x30,
	0x67, 0x05, 0xdb, 0x60, 0x90, 0x30, 0x85, 0x07, 0xb4, 0xd3,
};

/* Order of the P-256 group. */
static const uint8_t p256_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
	0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/* A signed record's bytes, heap, exactly `len` long. */
struct bytes {
	uint8_t *p;
	size_t len;
};

/* Keys and the three signed records of one scenario. */
struct world {
	const char *name;		/* "ES256 issuer" */
	struct cry_key *root;		/* signs the delegation */
	struct cry_key *issuer;		/* signs the other two */
	struct bytes deleg, status, clr;
	uint64_t rng;			/* splitmix64 state */
};

enum mut_kind {
	MUT_FLIP,		/* one bit flipped */
	MUT_SET,		/* byte set to 0x00, 0xff or a random value */
	MUT_TRUNC,		/* cut before the position */
	MUT_INSERT,		/* a byte inserted before the position */
	MUT_DELETE,		/* the byte removed */
	MUT_APPEND,		/* bytes after the end */
	MUT_KINDS
};

static const char *const mut_kind_name[MUT_KINDS] = {
	"flip", "set", "truncate", "insert", "delete", "append",
};

/* One mutant: what was done where, and the bytes (heap, exactly len). */
struct mutant {
	enum mut_kind kind;
	size_t pos;
	unsigned val;		/* bit, new byte, or bytes appended */
	uint8_t *p;
	size_t len;
};

/* A tally of reason codes, in order of first appearance. */
struct hist {
	char code[HIST_MAX][64];	/* a reason code or a diag field */
	size_t n[HIST_MAX];
	size_t len;
	size_t other;
};

/* What the mutants of one record came to. */
struct tally {
	size_t kinds[MUT_KINDS];
	size_t total;
	size_t refused;		/* trust material: refused */
	size_t rewrapped;	/* accepted or taken as a genuine re-wrap */
	size_t forged;		/* clearance accepted, not a re-wrap */
	size_t unverified;	/* trust material taken, not a re-wrap */
	size_t disturbed;	/* decision on the original no longer accept */
	size_t verdicts[3];	/* clearances: by proto_verdict */
	size_t shown;		/* offending mutants printed so far */
	struct hist why;
};

#define BAD_SHOWN 12		/* offending mutants printed in full */

typedef void (*mut_fn)(void *ctx, const struct mutant *m);

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
hist_add(struct hist *h, const char *code)
{
	size_t i;

	for (i = 0; i < h->len; i++)
		if (strcmp(h->code[i], code) == 0) {
			h->n[i]++;
			return;
		}
	if (h->len == HIST_MAX) {
		h->other++;
		return;
	}
	snprintf(h->code[h->len], sizeof(h->code[0]), "%s", code);
	h->n[h->len++] = 1;
}

static void
tally_print(const char *world, const char *what, const struct tally *t)
{
	size_t i;

	printf("  %s, %s: %zu mutants (", world, what, t->total);
	for (i = 0; i < MUT_KINDS; i++)
		printf("%s%s %zu", i ? ", " : "", mut_kind_name[i],
		    t->kinds[i]);
	printf(")\n    ");
	if (t->verdicts[PROTO_REJECT] + t->verdicts[PROTO_INDETERMINATE] +
	    t->verdicts[PROTO_ACCEPT] > 0)
		printf("verdicts: reject %zu, indeterminate %zu, accept %zu; ",
		    t->verdicts[PROTO_REJECT], t->verdicts[PROTO_INDETERMINATE],
		    t->verdicts[PROTO_ACCEPT]);
	else
		printf("refused %zu, taken as a re-wrap %zu, taken although "
		    "not validly signed %zu; ", t->refused, t->rewrapped,
		    t->unverified);
	printf("reasons:");
	for (i = 0; i < t->why.len; i++)
		printf(" %s %zu", t->why.code[i], t->why.n[i]);
	if (t->why.other > 0)
		printf(" other %zu", t->why.other);
	printf("\n");
}

/* ---- the scenario ---- */

static void
bytes_free(struct bytes *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
}

static void
fill_claims(struct world *w, struct proto_claims *c, const char *iss,
    const char *sub, int64_t iat, int years)
{
	size_t i;

	snprintf(c->iss, sizeof(c->iss), "%s", iss);
	snprintf(c->sub, sizeof(c->sub), "%s", sub);
	c->iat = iat;
	c->nbf = iat;
	c->has_nbf = true;
	if (years > 0) {
		assert_int_equal(proto_time_add_years(iat, years, &c->exp), 0);
		c->has_exp = true;
	}
	for (i = 0; i < PROTO_CTI_LEN; i++)
		c->cti[i] = (uint8_t)rng_next(&w->rng);
}

/* Signs rec with key into a heap buffer of exactly the record's size. */
static void
sign_into(const struct proto_record *rec, const struct cry_key *key,
    struct bytes *out)
{
	struct mrx_diag d;
	char buf[320];
	uint8_t *p = malloc(PROTO_STATUS_LIST_MAX);
	size_t len = 0;
	int rc;

	assert_non_null(p);
	mrx_diag_clear(&d);
	rc = proto_record_sign(rec, key, p, PROTO_STATUS_LIST_MAX, &len, &d);
	if (rc != 0)
		fail_msg("proto_record_sign(%s): %s",
		    proto_rec_type_name(rec->type), mrx_diag_str(&d, buf,
			sizeof(buf)));
	out->p = realloc(p, len);
	assert_non_null(out->p);
	out->len = len;
}

static void
make_records(struct world *w)
{
	struct proto_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_DELEGATION;
	fill_claims(w, &rec.u.del.c, ROOT_ID, ISSUER_ID, MUT_NOW - 86400, 2);
	assert_int_equal(cry_key_spki(w->issuer, rec.u.del.key,
	    sizeof(rec.u.del.key), &rec.u.del.key_len), 0);
	snprintf(rec.u.del.levels.v[0], sizeof(rec.u.del.levels.v[0]), "%s",
	    LEVEL);
	rec.u.del.levels.n = 1;
	sign_into(&rec, w->root, &w->deleg);

	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_STATUS_LIST;
	assert_int_equal(proto_status_list_init(&rec.u.sl,
	    PROTO_STATUS_ENTRIES_DEFAULT), 0);
	fill_claims(w, &rec.u.sl.c, ISSUER_ID, STATUS_URI, MUT_NOW - 600, 0);
	rec.u.sl.c.has_nbf = false;
	rec.u.sl.seq = 1;
	sign_into(&rec, w->issuer, &w->status);
	proto_record_fini(&rec);

	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_CLEARANCE;
	fill_claims(w, &rec.u.clr.c, ISSUER_ID, SUBJECT, MUT_NOW - 600, 10);
	snprintf(rec.u.clr.level, sizeof(rec.u.clr.level), "%s", LEVEL);
	snprintf(rec.u.clr.operator_id, sizeof(rec.u.clr.operator_id), "%s",
	    OPERATOR_ID);
	snprintf(rec.u.clr.status.uri, sizeof(rec.u.clr.status.uri), "%s",
	    STATUS_URI);
	rec.u.clr.status.idx = STATUS_IDX;
	sign_into(&rec, w->issuer, &w->clr);
}

static void
world_init(struct world *w, enum cry_alg issuer_alg)
{
	memset(w, 0, sizeof(*w));
	w->rng = MUT_SEED ^ (uint64_t)(-issuer_alg);
	assert_int_equal(cry_key_from_seed(root_seed, &w->root), 0);
	if (issuer_alg == CRY_ALG_ES256) {
		w->name = "ES256 issuer";
		assert_int_equal(cry_key_from_raw(CRY_ALG_ES256, p256_x, 32,
		    p256_y, 32, p256_d, 32, &w->issuer), 0);
	} else {
		w->name = "Ed25519 issuer";
		assert_int_equal(cry_key_from_seed(issuer_seed, &w->issuer), 0);
	}
	assert_int_equal(cry_key_alg(w->issuer), issuer_alg);
	make_records(w);
}

static void
world_fini(struct world *w)
{
	cry_key_free(w->root);
	cry_key_free(w->issuer);
	bytes_free(&w->deleg);
	bytes_free(&w->status);
	bytes_free(&w->clr);
}

static int
trust_add(struct proto_trust *t, const uint8_t *p, size_t len,
    struct mrx_diag *d)
{
	mrx_diag_clear(d);
	return proto_trust_add(t, p, len, MUT_NOW, PROTO_SKEW_DEFAULT_S, d);
}

static void
must_add(struct proto_trust *t, const struct bytes *b, const char *what)
{
	struct mrx_diag d;
	char buf[320];

	if (trust_add(t, b->p, b->len, &d) != 0)
		fail_msg("proto_trust_add(%s) refused the original: %s", what,
		    mrx_diag_str(&d, buf, sizeof(buf)));
}

/* A store with the root (public key only) and, if asked, the others. */
static struct proto_trust *
store_new(const struct world *w, bool deleg, bool status)
{
	struct proto_trust *t = proto_trust_new();
	struct cry_key *pub = NULL;
	uint8_t spki[CRY_SPKI_MAX];
	size_t len;

	assert_non_null(t);
	assert_int_equal(cry_key_spki(w->root, spki, sizeof(spki), &len), 0);
	assert_int_equal(cry_key_from_spki(spki, len, &pub, NULL), 0);
	assert_int_equal(proto_trust_add_root(t, ROOT_ID, pub, NULL), 0);
	if (deleg)
		must_add(t, &w->deleg, "delegation");
	if (status)
		must_add(t, &w->status, "status list");
	return t;
}

static enum proto_verdict
decide(const struct proto_trust *t, const uint8_t *p, size_t len,
    struct proto_decision *out)
{
	struct proto_decide_req req;
	struct proto_policy pol;

	proto_policy_default(&pol);
	memset(&req, 0, sizeof(req));
	req.record = p;
	req.record_len = len;
	req.access = LEVEL;
	req.at = MUT_NOW;
	req.now = MUT_NOW;
	assert_int_equal(proto_decide(t, &req, &pol, out), 0);
	assert_true(out->verdict == PROTO_ACCEPT ||
	    out->verdict == PROTO_REJECT ||
	    out->verdict == PROTO_INDETERMINATE);
	assert_true(out->nreasons >= 1 && out->nreasons <= PROTO_REASONS_MAX);
	return out->verdict;
}

/* The original clearance must be accepted by `t`. */
static void
assert_accepts(const struct world *w, const struct proto_trust *t,
    const char *when)
{
	struct proto_decision d;

	if (decide(t, w->clr.p, w->clr.len, &d) != PROTO_ACCEPT)
		fail_msg("%s: the original clearance is not accepted %s: %s "
		    "(%s: %s)", w->name, when, proto_verdict_name(d.verdict),
		    d.reasons[0].code, d.reasons[0].message);
}

/*
 * True if b carries the statement a carries: the same Sig_structure
 * (protected header and payload). The signature may differ only where the
 * algorithm allows two signatures for one message (ECDSA's s and n - s).
 */
static bool
same_signed_bytes(const uint8_t *a, size_t alen, const uint8_t *b,
    size_t blen)
{
	struct cry_sign1 sa, sb;
	uint8_t *ta, *tb;
	size_t la, lb;
	bool same = false;

	if (cry_sign1_decode(a, alen, &sa, NULL) != 0 ||
	    cry_sign1_decode(b, blen, &sb, NULL) != 0)
		return false;
	ta = malloc(alen + 64);
	tb = malloc(blen + 64);
	assert_non_null(ta);
	assert_non_null(tb);
	if (cry_sign1_tbs(&sa, NULL, 0, ta, alen + 64, &la) == 0 &&
	    cry_sign1_tbs(&sb, NULL, 0, tb, blen + 64, &lb) == 0)
		same = la == lb && memcmp(ta, tb, la) == 0;
	free(ta);
	free(tb);
	return same;
}

/*
 * True if `m` is the record `orig` re-wrapped: the same signed bytes, a
 * signature that verifies with `signer`, and the same record hash.
 */
static bool
genuine_rewrap(const struct bytes *orig, const uint8_t *m, size_t len,
    const struct cry_key *signer)
{
	struct proto_record a, b;
	uint8_t ha[PROTO_HASH_LEN], hb[PROTO_HASH_LEN];
	bool same;

	if (!same_signed_bytes(orig->p, orig->len, m, len))
		return false;
	same = proto_record_decode(orig->p, orig->len, &a, NULL) == 0 &&
	    proto_record_decode(m, len, &b, NULL) == 0 &&
	    cry_sign1_verify(&b.env, signer, NULL, 0, NULL) == 0 &&
	    proto_record_hash(&a, ha) == 0 && proto_record_hash(&b, hb) == 0 &&
	    memcmp(ha, hb, PROTO_HASH_LEN) == 0;
	proto_record_fini(&a);
	proto_record_fini(&b);
	return same;
}

/* ---- the mutants ---- */

static void
emit(const uint8_t *orig, size_t len, struct mutant *m, struct tally *t,
    mut_fn fn, void *ctx, const uint8_t *extra, size_t extra_len)
{
	size_t n;

	switch (m->kind) {
	case MUT_FLIP:
	case MUT_SET:
		n = len;
		break;
	case MUT_TRUNC:
		n = m->pos;
		break;
	case MUT_INSERT:
		n = len + 1;
		break;
	case MUT_DELETE:
		n = len - 1;
		break;
	default:
		n = len + extra_len;
		break;
	}
	m->p = malloc(n > 0 ? n : 1);
	assert_non_null(m->p);
	m->len = n;
	switch (m->kind) {
	case MUT_FLIP:
	case MUT_SET:
		memcpy(m->p, orig, len);
		m->p[m->pos] = (uint8_t)m->val;
		break;
	case MUT_TRUNC:
		memcpy(m->p, orig, n);
		break;
	case MUT_INSERT:
		memcpy(m->p, orig, m->pos);
		m->p[m->pos] = (uint8_t)m->val;
		memcpy(m->p + m->pos + 1, orig + m->pos, len - m->pos);
		break;
	case MUT_DELETE:
		memcpy(m->p, orig, m->pos);
		memcpy(m->p + m->pos, orig + m->pos + 1, len - m->pos - 1);
		break;
	default:
		memcpy(m->p, orig, len);
		memcpy(m->p + len, extra, extra_len);
		break;
	}
	t->kinds[m->kind]++;
	t->total++;
	fn(ctx, m);
	free(m->p);
	m->p = NULL;
}

/* A byte value that is not `b`, 0x00, 0xff or a one-bit flip of `b`. */
static uint8_t
fresh_value(uint64_t *rng, uint8_t b)
{
	uint8_t v, x;

	for (;;) {
		v = (uint8_t)rng_next(rng);
		x = (uint8_t)(v ^ b);
		if (v != 0x00 && v != 0xff && x != 0 && (x & (x - 1)) != 0)
			return v;
	}
}

static void
mutate_position(const uint8_t *orig, size_t len, size_t pos, uint64_t *rng,
    struct tally *t, mut_fn fn, void *ctx)
{
	static const uint8_t fixed[2] = { 0x00, 0xff };
	struct mutant m;
	uint8_t b = orig[pos], x;
	unsigned i;

	memset(&m, 0, sizeof(m));
	m.pos = pos;
	m.kind = MUT_FLIP;
	for (i = 0; i < 8; i++) {
		m.val = b ^ (1u << i);
		emit(orig, len, &m, t, fn, ctx, NULL, 0);
	}
	m.kind = MUT_SET;
	for (i = 0; i < 2; i++) {
		x = (uint8_t)(fixed[i] ^ b);
		if (x == 0 || (x & (x - 1)) == 0)
			continue; /* the original or a flip above */
		m.val = fixed[i];
		emit(orig, len, &m, t, fn, ctx, NULL, 0);
	}
	for (i = 0; i < MUT_RANDOM_VALUES; i++) {
		m.val = fresh_value(rng, b);
		emit(orig, len, &m, t, fn, ctx, NULL, 0);
	}
	m.kind = MUT_TRUNC;
	emit(orig, len, &m, t, fn, ctx, NULL, 0);
	m.kind = MUT_INSERT;
	m.val = 0x00;
	emit(orig, len, &m, t, fn, ctx, NULL, 0);
	m.val = fresh_value(rng, 0x00);
	emit(orig, len, &m, t, fn, ctx, NULL, 0);
	m.kind = MUT_DELETE;
	emit(orig, len, &m, t, fn, ctx, NULL, 0);
}

/* Calls fn for every mutant of orig; the sequence depends only on seed. */
static void
mutate_all(const uint8_t *orig, size_t len, uint64_t seed, struct tally *t,
    mut_fn fn, void *ctx)
{
	uint8_t extra[64];
	uint8_t *twice;
	struct mutant m;
	uint64_t rng = seed;
	size_t pos, i, n;

	assert_true(len > 0 && len <= PROTO_STATUS_LIST_MAX);
	for (pos = 0; pos < len; pos++)
		mutate_position(orig, len, pos, &rng, t, fn, ctx);
	memset(&m, 0, sizeof(m));
	m.kind = MUT_APPEND;
	m.pos = len;
	extra[0] = 0x00;
	extra[1] = 0xff;
	for (i = 0; i < 2; i++) {
		m.val = 1;
		emit(orig, len, &m, t, fn, ctx, extra + i, 1);
	}
	for (n = 1; n <= 16; n++) {
		for (i = 0; i < n; i++)
			extra[i] = (uint8_t)rng_next(&rng);
		m.val = (unsigned)n;
		emit(orig, len, &m, t, fn, ctx, extra, n);
	}
	/* the record twice: a valid item followed by trailing bytes */
	twice = malloc(len);
	assert_non_null(twice);
	memcpy(twice, orig, len);
	m.val = (unsigned)len;
	emit(orig, len, &m, t, fn, ctx, twice, len);
	free(twice);
}

static void
describe(const struct mutant *m, const uint8_t *orig, char *buf, size_t cap)
{
	if (m->kind == MUT_APPEND)
		snprintf(buf, cap, "append %u bytes", m->val);
	else if (m->kind == MUT_TRUNC || m->kind == MUT_DELETE)
		snprintf(buf, cap, "%s at byte %zu (0x%02x)",
		    mut_kind_name[m->kind], m->pos, orig[m->pos]);
	else if (m->kind == MUT_FLIP)
		snprintf(buf, cap, "flip bit %u of byte %zu (0x%02x)",
		    (unsigned)__builtin_ctz(m->val ^ orig[m->pos]), m->pos,
		    orig[m->pos]);
	else
		snprintf(buf, cap, "%s 0x%02x at byte %zu (was 0x%02x)",
		    mut_kind_name[m->kind], m->val, m->pos, orig[m->pos]);
}

/* ---- clearance mutants: never accepted ---- */

struct clr_ctx {
	const struct world *w;
	const struct proto_trust *t;
	struct tally tally;
};

static void
clr_mutant(void *arg, const struct mutant *m)
{
	struct clr_ctx *c = arg;
	struct proto_decision d;
	enum proto_verdict v;
	char what[96];

	v = decide(c->t, m->p, m->len, &d);
	c->tally.verdicts[v]++;
	hist_add(&c->tally.why, d.reasons[0].code);
	if (v != PROTO_ACCEPT)
		return;
	describe(m, c->w->clr.p, what, sizeof(what));
	if (m->kind == MUT_DELETE &&
	    genuine_rewrap(&c->w->clr, m->p, m->len, c->w->issuer)) {
		c->tally.rewrapped++;
		printf("  %s: clearance %s: accepted as the same record "
		    "re-wrapped (docs/protocol.md 1)\n", c->w->name, what);
		return;
	}
	c->tally.forged++;
	if (c->tally.shown++ < BAD_SHOWN)
		printf("  %s: ACCEPTED clearance mutant: %s; it %s the signed "
		    "bytes of the original\n", c->w->name, what,
		    same_signed_bytes(c->w->clr.p, c->w->clr.len, m->p,
			m->len) ? "keeps" : "does NOT keep");
}

/* ---- trust material mutants: refused, or the original re-wrapped ---- */

struct trust_ctx {
	const struct world *w;
	const struct bytes *orig;	/* the record being mutated */
	const char *what;		/* "delegation", "status list" */
	const struct cry_key *signer;	/* who signed orig */
	bool holds_original;		/* the store already has orig */
	struct proto_trust *t;		/* renewed after each take */
	struct tally tally;
};

/*
 * The store a mutant is offered to: the root, the delegation unless it is
 * the record under test, and the status list only when the store is to hold
 * the original already.
 */
static struct proto_trust *
trust_ctx_store(const struct trust_ctx *c)
{
	bool is_deleg = c->orig == &c->w->deleg;

	return store_new(c->w, !is_deleg || c->holds_original,
	    c->holds_original);
}

static void
trust_mutant(void *arg, const struct mutant *m)
{
	struct trust_ctx *c = arg;
	struct proto_decision d;
	struct mrx_diag dd;
	char what[96];
	bool genuine;

	if (trust_add(c->t, m->p, m->len, &dd) != 0) {
		c->tally.refused++;
		hist_add(&c->tally.why, dd.field[0] ? dd.field : "(no field)");
		return;
	}
	describe(m, c->orig->p, what, sizeof(what));
	genuine = genuine_rewrap(c->orig, m->p, m->len, c->signer);
	if (genuine) {
		c->tally.rewrapped++;
		hist_add(&c->tally.why, "taken: re-wrap");
	} else {
		c->tally.unverified++;
		hist_add(&c->tally.why, "TAKEN: not signed");
		if (c->tally.shown++ < BAD_SHOWN)
			printf("  %s: %s mutant (%s) taken by proto_trust_add "
			    "although it is not a valid signature of %s over "
			    "these bytes\n", c->w->name, c->what, what,
			    c->signer == c->w->root ? "the root" :
			    "the issuer");
	}
	/* the decision must be the one the original gives */
	if (!c->holds_original && c->orig == &c->w->deleg)
		must_add(c->t, &c->w->status, "status list");
	decide(c->t, c->w->clr.p, c->w->clr.len, &d);
	if (d.verdict != PROTO_ACCEPT) {
		c->tally.disturbed++;
		if (c->tally.shown++ < BAD_SHOWN)
			printf("  %s: after the %s mutant (%s) was taken, the "
			    "clearance is %s (%s)\n", c->w->name, c->what, what,
			    proto_verdict_name(d.verdict), d.reasons[0].code);
	}
	proto_trust_free(c->t);
	c->t = trust_ctx_store(c);
}

/* Mutates one trust record; adds what went wrong to *sum. */
static void
mutate_trust(const struct world *w, const struct bytes *orig,
    const char *what, bool holds_original, uint64_t seed, struct tally *sum)
{
	struct trust_ctx c;
	char label[64];

	memset(&c, 0, sizeof(c));
	c.w = w;
	c.orig = orig;
	c.what = what;
	c.signer = orig == &w->deleg ? w->root : w->issuer;
	c.holds_original = holds_original;
	c.t = trust_ctx_store(&c);
	mutate_all(orig->p, orig->len, seed, &c.tally, trust_mutant, &c);
	/* refusals left the store as it was: it still works */
	if (!holds_original && orig == &w->deleg)
		must_add(c.t, &w->deleg, "delegation");
	if (!holds_original)
		must_add(c.t, &w->status, "status list");
	assert_accepts(w, c.t, "after the mutants");
	proto_trust_free(c.t);
	snprintf(label, sizeof(label), "%s (store %s it)", what,
	    holds_original ? "holds" : "lacks");
	tally_print(w->name, label, &c.tally);
	assert_int_equal(c.tally.refused + c.tally.rewrapped +
	    c.tally.unverified, c.tally.total);
	sum->total += c.tally.total;
	sum->rewrapped += c.tally.rewrapped;
	sum->unverified += c.tally.unverified;
	sum->disturbed += c.tally.disturbed;
}

static void
run_world(enum cry_alg alg)
{
	struct world w;
	struct proto_trust *t;
	struct clr_ctx c;
	struct tally sum;

	world_init(&w, alg);
	printf("  %s: delegation %zu bytes, status list %zu bytes, clearance "
	    "%zu bytes\n", w.name, w.deleg.len, w.status.len, w.clr.len);
	t = store_new(&w, true, true);
	assert_accepts(&w, t, "before mutation");

	memset(&c, 0, sizeof(c));
	c.w = &w;
	c.t = t;
	mutate_all(w.clr.p, w.clr.len, MUT_SEED, &c.tally, clr_mutant, &c);
	tally_print(w.name, "clearance", &c.tally);
	assert_accepts(&w, t, "after the mutants");
	assert_true(c.tally.total >= 1000);
	proto_trust_free(t);

	memset(&sum, 0, sizeof(sum));
	mutate_trust(&w, &w.deleg, "delegation", false, MUT_SEED + 1, &sum);
	mutate_trust(&w, &w.deleg, "delegation", true, MUT_SEED + 2, &sum);
	mutate_trust(&w, &w.status, "status list", false, MUT_SEED + 3, &sum);
	mutate_trust(&w, &w.status, "status list", true, MUT_SEED + 4, &sum);
	printf("  %s: %zu mutants in all (clearance %zu, trust material %zu); "
	    "re-wraps accepted %zu\n", w.name, c.tally.total + sum.total,
	    c.tally.total, sum.total, c.tally.rewrapped + sum.rewrapped);
	world_fini(&w);
	if (c.tally.forged > 0 || sum.unverified > 0 || sum.disturbed > 0)
		fail_msg("%zu clearance mutants accepted; %zu trust-material "
		    "mutants taken without a valid signature over their bytes; "
		    "%zu changed the decision on the original (see above)",
		    c.tally.forged, sum.unverified, sum.disturbed);
}

static void
test_mutants_es256_issuer(void **state)
{
	(void)state;
	run_world(CRY_ALG_ES256);
}

static void
test_mutants_ed25519_issuer(void **state)
{
	(void)state;
	run_world(CRY_ALG_EDDSA);
}

/* ---- re-wrapped copies ---- */

/* Where the parts of a COSE_Sign1 start in `b`. */
struct layout {
	size_t array;		/* the array head */
	size_t unprot;		/* the unprotected map */
	size_t sig_head;	/* the signature's bstr head */
	size_t sig;		/* the signature bytes */
	size_t sig_len;
};

static void
layout_of(const struct bytes *b, struct layout *l)
{
	struct cry_sign1 s;

	assert_int_equal(cry_sign1_decode(b->p, b->len, &s, NULL), 0);
	assert_true(s.tagged && b->p[0] == 0xd2 && b->p[1] == 0x84);
	assert_int_equal(s.sig_len, CRY_SIG_LEN);
	l->array = 1;
	l->unprot = (size_t)(s.hdr.prot - b->p) + s.hdr.prot_len;
	assert_int_equal(b->p[l->unprot], 0xa0);
	l->sig = (size_t)(s.sig - b->p);
	l->sig_len = s.sig_len;
	l->sig_head = l->sig - 2;
	assert_int_equal(b->p[l->sig_head], 0x58);
	assert_int_equal(l->sig + l->sig_len, b->len);
}

/* out = b with `cut` bytes at `at` replaced by `ins` (heap, exact size). */
static void
splice(const struct bytes *b, size_t at, size_t cut, const uint8_t *ins,
    size_t ins_len, struct bytes *out)
{
	out->len = b->len - cut + ins_len;
	out->p = malloc(out->len);
	assert_non_null(out->p);
	memcpy(out->p, b->p, at);
	if (ins_len > 0)
		memcpy(out->p + at, ins, ins_len);
	memcpy(out->p + at + ins_len, b->p + at + cut, b->len - at - cut);
}

/* s' = n - s, the other valid ECDSA signature for the same (r, message). */
static void
high_s_twin(uint8_t s[32])
{
	int i, borrow = 0, v;

	for (i = 31; i >= 0; i--) {
		v = p256_n[i] - s[i] - borrow;
		borrow = v < 0;
		s[i] = (uint8_t)(v + (borrow ? 256 : 0));
	}
}

#define REWRAP_MAX 5

/* Copies of `b` that keep its signed bytes; returns how many. */
static size_t
rewrap(const struct bytes *b, bool ecdsa, struct bytes out[REWRAP_MAX],
    const char *names[REWRAP_MAX])
{
	static const uint8_t array_long[2] = { 0x98, 0x04 };
	static const uint8_t unprot_extra[4] = { 0xa1, 0x18, 0x63, 0x00 };
	static const uint8_t sig_long[3] = { 0x59, 0x00, 0x40 };
	struct layout l;
	size_t n = 0;

	layout_of(b, &l);
	names[n] = "without tag 18";
	splice(b, 0, 1, NULL, 0, &out[n++]);
	names[n] = "array head in two bytes";
	splice(b, l.array, 1, array_long, 2, &out[n++]);
	names[n] = "unprotected header {99: 0}";
	splice(b, l.unprot, 1, unprot_extra, 4, &out[n++]);
	names[n] = "signature length in three bytes";
	splice(b, l.sig_head, 2, sig_long, 3, &out[n++]);
	if (ecdsa) {
		names[n] = "ECDSA high-s twin (r, n - s)";
		splice(b, 0, 0, NULL, 0, &out[n]);
		high_s_twin(out[n].p + l.sig + 32);
		n++;
	}
	return n;
}

/*
 * Offers each re-wrapped copy of the status list to a store that already
 * holds the original. A copy that the store takes is the issuer's own
 * statement, so the clearance must still be accepted; a copy that is
 * counted as a second list with the same seq makes any relay able to turn
 * an honest issuer into an "equivocating" one. Also reports what the
 * decision engine makes of re-wrapped clearances and delegations (the same
 * signed statement: taking them is not a forgery).
 */
static void
run_rewrapped(enum cry_alg alg)
{
	struct world w;
	struct bytes v[REWRAP_MAX];
	const char *names[REWRAP_MAX];
	struct proto_trust *t;
	struct proto_decision d;
	struct mrx_diag dd;
	size_t n, i, broken = 0;
	int rc;

	world_init(&w, alg);
	n = rewrap(&w.status, alg == CRY_ALG_ES256, v, names);
	for (i = 0; i < n; i++) {
		t = store_new(&w, true, false);
		rc = trust_add(t, v[i].p, v[i].len, &dd);
		proto_trust_free(t);
		if (rc != 0) {
			printf("  %s: status list %s: refused (%s)\n", w.name,
			    names[i], dd.field);
			continue;
		}
		t = store_new(&w, true, true);
		rc = trust_add(t, v[i].p, v[i].len, &dd);
		assert_int_equal(rc, 0);
		decide(t, w.clr.p, w.clr.len, &d);
		printf("  %s: status list %s: taken; with the original too, "
		    "the clearance is %s (%s)\n", w.name, names[i],
		    proto_verdict_name(d.verdict), d.reasons[0].code);
		if (d.verdict != PROTO_ACCEPT)
			broken++;
		proto_trust_free(t);
	}
	for (i = 0; i < n; i++)
		bytes_free(&v[i]);

	t = store_new(&w, true, true);
	n = rewrap(&w.clr, alg == CRY_ALG_ES256, v, names);
	for (i = 0; i < n; i++) {
		decide(t, v[i].p, v[i].len, &d);
		printf("  %s: clearance %s: %s (%s)\n", w.name, names[i],
		    proto_verdict_name(d.verdict), d.reasons[0].code);
		bytes_free(&v[i]);
	}
	n = rewrap(&w.deleg, false, v, names);
	for (i = 0; i < n; i++) {
		rc = trust_add(t, v[i].p, v[i].len, &dd);
		printf("  %s: delegation %s: %s\n", w.name, names[i],
		    rc == 0 ? "taken as another delegation entry" : dd.field);
		bytes_free(&v[i]);
	}
	assert_accepts(&w, t, "after re-wrapped delegations");
	proto_trust_free(t);
	world_fini(&w);
	if (broken > 0)
		fail_msg("%s: %zu re-wrapped cop%s of the issuer's own status "
		    "list made the store treat the issuer as equivocating",
		    alg == CRY_ALG_ES256 ? "ES256 issuer" : "Ed25519 issuer",
		    broken, broken == 1 ? "y" : "ies");
}

static void
test_rewrapped_es256_issuer(void **state)
{
	(void)state;
	run_rewrapped(CRY_ALG_ES256);
}

static void
test_rewrapped_ed25519_issuer(void **state)
{
	(void)state;
	run_rewrapped(CRY_ALG_EDDSA);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutants_es256_issuer),
		cmocka_unit_test(test_mutants_ed25519_issuer),
		cmocka_unit_test(test_rewrapped_es256_issuer),
		cmocka_unit_test(test_rewrapped_ed25519_issuer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
