/*
 * test_decide.c - the decision engine driven directly: no process, no
 * file, no socket. Each test builds signed records in memory, a trust
 * store, and asserts the verdict and the first reason code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decide.h"
#include "ptime.h"
#include "testkit.h"

#define T0 1790000000LL		/* 2026-09-21, the issuance time */
#define YEAR (365LL * 86400)
#define BUF_MAX PROTO_STATUS_LIST_MAX

/* A federation in memory: keys, records, and the store built from them. */
struct fx {
	struct cry_key *root, *issuer, *us_root, *us_issuer;
	uint8_t *deleg, *us_deleg, *status, *clr, *opc;
	size_t deleg_len, us_deleg_len, status_len, clr_len, opc_len;
	struct proto_trust *t;
	enum proto_log_check log;	/* what the issuer's log says */
	struct proto_policy pol;
	struct proto_status_list sl;	/* the issuer's list, for changes */
	uint64_t seq;
	int cti;
};

static void
claims(struct fx *f, struct proto_claims *c, const char *iss, const char *sub,
    int64_t iat, int64_t exp)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->iss, sizeof(c->iss), "%s", iss);
	snprintf(c->sub, sizeof(c->sub), "%s", sub);
	c->iat = iat;
	c->nbf = iat;
	c->has_nbf = exp != 0;
	c->exp = exp;
	c->has_exp = exp != 0;
	memset(c->cti, ++f->cti, sizeof(c->cti));
}

static uint8_t *
make_deleg(struct fx *f, const struct cry_key *root, const char *root_id,
    const struct cry_key *iss, const char *iss_id, const char *level,
    int64_t nbf, int64_t exp, size_t *len)
{
	struct proto_record r;

	memset(&r, 0, sizeof(r));
	r.type = PROTO_REC_DELEGATION;
	claims(f, &r.u.del.c, root_id, iss_id, nbf, exp);
	assert_int_equal(cry_key_spki(iss, r.u.del.key, sizeof(r.u.del.key),
	    &r.u.del.key_len), 0);
	snprintf(r.u.del.levels.v[0], sizeof(r.u.del.levels.v[0]), "%s", level);
	r.u.del.levels.n = 1;
	return sign(&r, root, len);
}

static uint8_t *
make_clearance(struct fx *f, const struct cry_key *k, const char *iss,
    const char *level, const char *op, uint32_t idx, int64_t iat, int years,
    size_t *len)
{
	struct proto_record r;
	int64_t exp;

	memset(&r, 0, sizeof(r));
	r.type = PROTO_REC_CLEARANCE;
	assert_int_equal(proto_time_add_years(iat, years, &exp), 0);
	claims(f, &r.u.clr.c, iss, "00112233445566778899aabbccddeeff", iat,
	    exp);
	snprintf(r.u.clr.level, sizeof(r.u.clr.level), "%s", level);
	snprintf(r.u.clr.operator_id, sizeof(r.u.clr.operator_id), "%s", op);
	snprintf(r.u.clr.status.uri, sizeof(r.u.clr.status.uri),
	    "mrx://%s/status/0", iss);
	r.u.clr.status.idx = idx;
	return sign(&r, k, len);
}

/* Signs the fixture's status list at `iat` with seq f->seq. */
static uint8_t *
make_status(struct fx *f, const struct cry_key *k, const char *iss,
    int64_t iat, size_t *len)
{
	struct proto_record r;
	uint8_t *out;

	memset(&r, 0, sizeof(r));
	r.type = PROTO_REC_STATUS_LIST;
	claims(f, &r.u.sl.c, iss, "", iat, 0);
	snprintf(r.u.sl.c.sub, sizeof(r.u.sl.c.sub), "mrx://%s/status/0", iss);
	r.u.sl.seq = f->seq;
	r.u.sl.size = f->sl.size;
	r.u.sl.bits = f->sl.bits;
	r.u.sl.reasons = f->sl.reasons;
	r.u.sl.nreasons = f->sl.nreasons;
	out = sign(&r, k, len);
	return out;
}

static void
add(struct fx *f, const uint8_t *b, size_t n)
{
	struct mrx_diag d;

	mrx_diag_clear(&d);
	if (proto_trust_add(f->t, b, n, T0 + 10, 60, &d) != 0)
		fail_msg("trust add: %s: %s", d.field, d.msg);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct cry_key *rk;

	assert_non_null(f);
	f->root = seed_key(1);
	assert_int_equal(cry_key_generate(CRY_ALG_ES256, &f->issuer), 0);
	f->us_root = seed_key(3);
	f->us_issuer = seed_key(4);
	f->t = proto_trust_new();
	assert_non_null(f->t);
	proto_policy_default(&f->pol);
	assert_int_equal(proto_status_list_init(&f->sl,
	    PROTO_STATUS_ENTRIES_DEFAULT), 0);
	f->seq = 1;
	f->deleg = make_deleg(f, f->root, "jp.cao", f->issuer, "jp.meti",
	    "JP-CESI:CONFIDENTIAL", T0 - YEAR, T0 + 2 * YEAR, &f->deleg_len);
	f->status = make_status(f, f->issuer, "jp.meti", T0, &f->status_len);
	f->clr = make_clearance(f, f->issuer, "jp.meti", "JP-CESI:CONFIDENTIAL",
	    "jp.op.sub", 7, T0, 10, &f->clr_len);
	rk = seed_key(1);
	assert_int_equal(proto_trust_add_root(f->t, "jp.cao", rk, NULL), 0);
	add(f, f->deleg, f->deleg_len);
	add(f, f->status, f->status_len);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	cry_key_free(f->root);
	cry_key_free(f->issuer);
	cry_key_free(f->us_root);
	cry_key_free(f->us_issuer);
	free(f->deleg);
	free(f->us_deleg);
	free(f->status);
	free(f->clr);
	free(f->opc);
	proto_status_list_fini(&f->sl);
	proto_trust_free(f->t);
	free(f);
	return 0;
}

static enum proto_verdict
decide_full(struct fx *f, const uint8_t *clr, size_t len, const char *access,
    const char *scope, int64_t at, int64_t now, struct proto_decision *d)
{
	struct proto_decide_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.record = clr;
	rq.record_len = len;
	rq.operator_record = f->opc;
	rq.operator_record_len = f->opc_len;
	rq.access = access;
	rq.scope = scope;
	rq.at = at;
	rq.now = now;
	rq.issuer_log = f->log;
	assert_int_equal(proto_decide(f->t, &rq, &f->pol, d), 0);
	assert_true(d->nreasons >= 1);
	return d->verdict;
}

static enum proto_verdict
decide_at(struct fx *f, int64_t at, struct proto_decision *d)
{
	return decide_full(f, f->clr, f->clr_len, "JP-CESI:CONFIDENTIAL", NULL,
	    at, T0 + 60, d);
}

/* Changes entry idx and publishes the next list. */
static void
publish(struct fx *f, uint32_t idx, enum proto_status st,
    enum proto_reason why, int64_t iat)
{
	uint8_t *b;
	size_t n;

	assert_int_equal(proto_status_set(&f->sl, idx, st, why), 0);
	f->seq++;
	b = make_status(f, f->issuer, "jp.meti", iat, &n);
	add(f, b, n);
	free(b);
}

static void
test_accept(void **state)
{
	struct fx *f = *state;
	struct proto_decision d;

	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_ACCEPT);
	assert_string_equal(d.reasons[0].code, "accepted");
	assert_string_equal(d.issuer, "jp.meti");
	assert_string_equal(d.root, "jp.cao");
	assert_true(d.has_status);
	assert_true(d.status_seq == 1);
	assert_true(d.status_age_s == 60);
}

static void
test_revoked_then_reinstated(void **state)
{
	struct fx *f = *state;
	struct proto_decision d;

	publish(f, 7, PROTO_STATUS_REVOKED, PROTO_REASON_ELIGIBILITY_REVOKED,
	    T0 + 20);
	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "revoked");
	assert_string_equal(d.reasons[1].code, "ELIGIBILITY_REVOKED");
	/* another entry changing does not touch ours */
	publish(f, 8, PROTO_STATUS_SUSPENDED,
	    PROTO_REASON_SUSPENDED_PENDING_REVIEW, T0 + 30);
	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "revoked");
}

static void
test_suspended_and_replay(void **state)
{
	struct fx *f = *state;
	struct proto_decision d;
	uint8_t *old;
	size_t old_len;

	/* keep the seq 2 "suspended" list to replay it later */
	assert_int_equal(proto_status_set(&f->sl, 7, PROTO_STATUS_SUSPENDED,
	    PROTO_REASON_SUSPENDED_PENDING_REVIEW), 0);
	f->seq = 2;
	old = make_status(f, f->issuer, "jp.meti", T0 + 20, &old_len);
	add(f, old, old_len);
	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "suspended");
	assert_string_equal(d.reasons[1].code, "SUSPENDED_PENDING_REVIEW");
	publish(f, 7, PROTO_STATUS_VALID, PROTO_REASON_REINSTATED, T0 + 30);
	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_ACCEPT);
	/* the old list arriving late (replay) changes nothing */
	add(f, old, old_len);
	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_ACCEPT);
	assert_true(d.status_seq == 3);
	free(old);
}

static void
test_expiry_boundary(void **state)
{
	struct fx *f = *state;
	struct proto_decision d;
	int64_t exp;

	assert_int_equal(proto_time_add_years(T0, 10, &exp), 0);
	assert_int_equal(decide_at(f, exp - 1, &d), PROTO_ACCEPT);
	assert_int_equal(decide_at(f, exp, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "expired");
	assert_int_equal(decide_at(f, exp + 1, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "expired");
	assert_true(d.exp == exp);
}

static void
test_not_yet_valid_skew(void **state)
{
	struct fx *f = *state;
	struct proto_decision d;

	assert_int_equal(decide_at(f, T0 - 60, &d), PROTO_ACCEPT);
	assert_int_equal(decide_at(f, T0 - 61, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "not-yet-valid");
	f->pol.skew_s = 0;
	assert_int_equal(decide_at(f, T0 - 1, &d), PROTO_REJECT);
}

static void
test_stale_and_missing_status(void **state)
{
	struct fx *f = *state;
	struct proto_decision d;
	struct proto_record r;
	uint8_t *c;
	size_t n;

	assert_int_equal(decide_full(f, f->clr, f->clr_len,
	    "JP-CESI:CONFIDENTIAL", NULL, T0 + 100, T0 + 86400 + 1, &d),
	    PROTO_INDETERMINATE);
	assert_string_equal(d.reasons[0].code, "status-stale");
	assert_int_equal(decide_full(f, f->clr, f->clr_len,
	    "JP-CESI:CONFIDENTIAL", NULL, T0 + 100, T0 + 86400, &d),
	    PROTO_ACCEPT);
	/* a clearance in another list that nobody published */
	memset(&r, 0, sizeof(r));
	r.type = PROTO_REC_CLEARANCE;
	claims(f, &r.u.clr.c, "jp.meti", "00112233445566778899aabbccddeeff",
	    T0, T0 + YEAR);
	snprintf(r.u.clr.level, sizeof(r.u.clr.level), "JP-CESI:CONFIDENTIAL");
	snprintf(r.u.clr.operator_id, sizeof(r.u.clr.operator_id), "jp.op.sub");
	snprintf(r.u.clr.status.uri, sizeof(r.u.clr.status.uri),
	    "mrx://jp.meti/status/1");
	c = sign(&r, f->issuer, &n);
	assert_int_equal(decide_full(f, c, n, "JP-CESI:CONFIDENTIAL", NULL,
	    T0 + 100, T0 + 60, &d), PROTO_INDETERMINATE);
	assert_string_equal(d.reasons[0].code, "status-missing");
	free(c);
	/* a revocation in a stale list still rejects (fail closed) */
	publish(f, 7, PROTO_STATUS_REVOKED, PROTO_REASON_ADMIN_SEPARATION,
	    T0 + 20);
	assert_int_equal(decide_full(f, f->clr, f->clr_len,
	    "JP-CESI:CONFIDENTIAL", NULL, T0 + 100, T0 + 10 * 86400, &d),
	    PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "revoked");
}

static void
test_status_index_range(void **state)
{
	struct fx *f = *state;
	struct proto_decision d;
	uint8_t *c;
	size_t n;

	c = make_clearance(f, f->issuer, "jp.meti", "JP-CESI:CONFIDENTIAL",
	    "jp.op.sub", PROTO_STATUS_ENTRIES_DEFAULT, T0, 10, &n);
	assert_int_equal(decide_full(f, c, n, "JP-CESI:CONFIDENTIAL", NULL,
	    T0 + 100, T0 + 60, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "status-index-out-of-range");
	free(c);
}

static void
test_untrusted_chain(void **state)
{
	struct fx *f = *state;
	struct proto_decision d;
	struct cry_key *rogue_root = seed_key(9), *rogue = seed_key(10);
	struct mrx_diag dg;
	uint8_t *dl, *c;
	size_t dn, n;

	/* a delegation by a root nobody trusts is refused */
	dl = make_deleg(f, rogue_root, "jp.cao", rogue, "jp.meti",
	    "JP-CESI:CONFIDENTIAL", T0 - YEAR, T0 + YEAR, &dn);
	mrx_diag_clear(&dg);
	assert_int_not_equal(proto_trust_add(f->t, dl, dn, T0, 60, &dg), 0);
	assert_string_equal(dg.field, "unknown-key");
	/* a clearance by the rogue key in jp.meti's name: unknown key */
	c = make_clearance(f, rogue, "jp.meti", "JP-CESI:CONFIDENTIAL",
	    "jp.op.sub", 7, T0, 10, &n);
	assert_int_equal(decide_full(f, c, n, "JP-CESI:CONFIDENTIAL", NULL,
	    T0 + 100, T0 + 60, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "unknown-key");
	free(c);
	/* and in the name of an issuer nobody delegated */
	c = make_clearance(f, rogue, "jp.mof", "JP-CESI:CONFIDENTIAL",
	    "jp.op.sub", 7, T0, 10, &n);
	assert_int_equal(decide_full(f, c, n, "JP-CESI:CONFIDENTIAL", NULL,
	    T0 + 100, T0 + 60, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "unknown-issuer");
	free(c);
	free(dl);
	cry_key_free(rogue_root);
	cry_key_free(rogue);
}

static void
test_level_rules(void **state)
{
	struct fx *f = *state;
	struct proto_decision d;
	uint8_t *c;
	size_t n;

	/* the issuer is delegated JP-CESI only */
	c = make_clearance(f, f->issuer, "jp.meti", "JP-SDS:SECRET",
	    "jp.op.sub", 7, T0, 5, &n);
	assert_int_equal(decide_full(f, c, n, "JP-SDS:SECRET", NULL, T0 + 100,
	    T0 + 60, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "level-not-delegated");
	free(c);
	/* another scheme without an agreement */
	assert_int_equal(decide_full(f, f->clr, f->clr_len, "US:SECRET", NULL,
	    T0 + 100, T0 + 60, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "no-equivalence");
	assert_int_equal(decide_full(f, f->clr, f->clr_len, "XX:NOPE", NULL,
	    T0 + 100, T0 + 60, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "unknown-access-level");
}

/* A US issuer under a US root, and a signed JP-US agreement. */
static uint8_t *
us_setup(struct fx *f, const char *from, const char *to, int64_t nbf,
    int64_t exp, bool both_sign, size_t *agr_len)
{
	struct proto_record r;
	struct proto_agreement_row row;
	struct mrx_diag dg;
	struct cry_key *rk = seed_key(3);
	uint8_t *one, *two;
	size_t n1, n2;

	assert_int_equal(proto_trust_add_root(f->t, "us.dcsa", rk, NULL), 0);
	f->us_deleg = make_deleg(f, f->us_root, "us.dcsa", f->us_issuer,
	    "us.dcsa.issuer", "US:TOP-SECRET", T0 - YEAR, T0 + 2 * YEAR,
	    &f->us_deleg_len);
	add(f, f->us_deleg, f->us_deleg_len);
	memset(&r, 0, sizeof(r));
	memset(&row, 0, sizeof(row));
	r.type = PROTO_REC_AGREEMENT;
	claims(f, &r.u.agr.c, "jp.cao", "jp-us-2026", nbf, exp);
	snprintf(r.u.agr.parties[0], sizeof(r.u.agr.parties[0]), "jp.cao");
	snprintf(r.u.agr.parties[1], sizeof(r.u.agr.parties[1]), "us.dcsa");
	snprintf(row.from, sizeof(row.from), "%s", from);
	snprintf(row.to, sizeof(row.to), "%s", to);
	r.u.agr.rows = &row;
	r.u.agr.nrows = 1;
	one = sign(&r, f->root, &n1);
	if (!both_sign) {
		*agr_len = n1;
		return one;
	}
	two = malloc(BUF_MAX);
	assert_non_null(two);
	mrx_diag_clear(&dg);
	assert_int_equal(cry_sign_add(one, n1, f->us_root, NULL, 0, two,
	    BUF_MAX, &n2, &dg), 0);
	free(one);
	*agr_len = n2;
	return two;
}

static void
us_status(struct fx *f)
{
	struct proto_record r;
	uint8_t *b;
	size_t n;

	memset(&r, 0, sizeof(r));
	r.type = PROTO_REC_STATUS_LIST;
	claims(f, &r.u.sl.c, "us.dcsa.issuer", "mrx://us.dcsa.issuer/status/0",
	    T0, 0);
	r.u.sl.seq = 1;
	assert_int_equal(proto_status_list_init(&r.u.sl, 1024), 0);
	b = sign(&r, f->us_issuer, &n);
	add(f, b, n);
	free(b);
	proto_record_fini(&r);
}

static void
test_agreement(void **state)
{
	struct fx *f = *state;
	struct proto_decision d;
	uint8_t *agr, *c;
	size_t an, n;

	agr = us_setup(f, "US:SECRET", "JP-CESI:CONFIDENTIAL", T0 - 100,
	    T0 + YEAR, true, &an);
	us_status(f);
	c = make_clearance(f, f->us_issuer, "us.dcsa.issuer", "US:TOP-SECRET",
	    "us.op.acme", 3, T0, 5, &n);
	/* before the agreement is installed: no equivalence */
	assert_int_equal(decide_full(f, c, n, "JP-CESI:CONFIDENTIAL", NULL,
	    T0 + 100, T0 + 60, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "no-equivalence");
	add(f, agr, an);
	/* TOP-SECRET dominates the row's SECRET: accepted, naming the row */
	assert_int_equal(decide_full(f, c, n, "JP-CESI:CONFIDENTIAL", NULL,
	    T0 + 100, T0 + 60, &d), PROTO_ACCEPT);
	assert_string_equal(d.agreement, "jp-us-2026");
	assert_int_equal(d.agreement_row, 0);
	assert_non_null(strstr(d.reasons[0].message, "jp-us-2026"));
	/* a local level the row does not reach */
	assert_int_equal(decide_full(f, c, n, "JP-SDS:SECRET", NULL, T0 + 100,
	    T0 + 60, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "no-equivalence");
	/* after the agreement expires */
	assert_int_equal(decide_full(f, c, n, "JP-CESI:CONFIDENTIAL", NULL,
	    T0 + YEAR, T0 + 60, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "no-equivalence");
	free(c);
	free(agr);
}

static void
test_agreement_needs_both(void **state)
{
	struct fx *f = *state;
	struct mrx_diag dg;
	uint8_t *agr;
	size_t an;

	agr = us_setup(f, "US:SECRET", "JP-CESI:CONFIDENTIAL", T0 - 100,
	    T0 + YEAR, false, &an);
	mrx_diag_clear(&dg);
	assert_int_not_equal(proto_trust_add(f->t, agr, an, T0, 60, &dg), 0);
	assert_string_equal(dg.field, "bad-signature");
	free(agr);
}

static void
test_key_compromise(void **state)
{
	struct fx *f = *state;
	struct proto_record r;
	struct proto_decision d;
	uint8_t *kr, *late, cti[PROTO_CTI_LEN];
	char iss[PROTO_ID_MAX + 1];
	size_t kn, ln;

	memset(&r, 0, sizeof(r));
	r.type = PROTO_REC_KEY_REVOCATION;
	claims(f, &r.u.kr.c, "jp.cao", "jp.meti", T0 + 5, 0);
	memcpy(r.u.kr.kid, cry_key_kid(f->issuer), CRY_KID_LEN);
	r.u.kr.from = T0 + 1000;
	r.u.kr.reason = PROTO_REASON_ISSUER_KEY_COMPROMISED;
	kr = sign(&r, f->root, &kn);
	add(f, kr, kn);
	/* signed before t0: good once its issuer confirms it, void if its
	 * log has no such record (a back-dated forgery), open until asked */
	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_INDETERMINATE);
	assert_string_equal(d.reasons[0].code, "issuer-log-unconfirmed");
	f->log = PROTO_LOG_ABSENT;
	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "not-in-issuer-log");
	f->log = PROTO_LOG_HELD;
	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_ACCEPT);
	assert_true(proto_trust_needs_log(f->t, f->clr, f->clr_len, iss, cti));
	assert_string_equal(iss, "jp.meti");
	/* signed after t0 (a back-dated forgery would need an iat < t0) */
	late = make_clearance(f, f->issuer, "jp.meti", "JP-CESI:CONFIDENTIAL",
	    "jp.op.sub", 11, T0 + 2000, 10, &ln);
	assert_int_equal(decide_full(f, late, ln, "JP-CESI:CONFIDENTIAL", NULL,
	    T0 + 3000, T0 + 60, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "key-revoked");
	free(late);
	free(kr);
}

static void
operator_cert(struct fx *f, const char *op, const char *level)
{
	struct proto_record r;

	memset(&r, 0, sizeof(r));
	r.type = PROTO_REC_OPERATOR;
	claims(f, &r.u.op.c, "jp.meti", op, T0, T0 + 5 * YEAR);
	snprintf(r.u.op.levels.v[0], sizeof(r.u.op.levels.v[0]), "%s", level);
	r.u.op.levels.n = 1;
	snprintf(r.u.op.status.uri, sizeof(r.u.op.status.uri),
	    "mrx://jp.meti/status/0");
	r.u.op.status.idx = 100;
	free(f->opc);
	f->opc = sign(&r, f->issuer, &f->opc_len);
}

static void
test_operator(void **state)
{
	struct fx *f = *state;
	struct proto_decision d;

	f->pol.require_operator_cert = true;
	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "operator-cert-missing");
	operator_cert(f, "jp.op.sub", "JP-CESI:CONFIDENTIAL");
	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_ACCEPT);
	operator_cert(f, "jp.op.other", "JP-CESI:CONFIDENTIAL");
	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "operator-mismatch");
	operator_cert(f, "jp.op.sub", "JP-CESI:CONFIDENTIAL");
	publish(f, 100, PROTO_STATUS_REVOKED,
	    PROTO_REASON_OPERATOR_CERT_REVOKED, T0 + 20);
	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "operator-revoked");
	assert_string_equal(d.reasons[1].code, "OPERATOR_CERT_REVOKED");
}

static void
test_equivocation(void **state)
{
	struct fx *f = *state;
	struct proto_decision d;
	uint8_t *a, *b;
	size_t an, bn;

	f->seq = 2;
	a = make_status(f, f->issuer, "jp.meti", T0 + 20, &an);
	assert_int_equal(proto_status_set(&f->sl, 5, PROTO_STATUS_REVOKED,
	    PROTO_REASON_ADMIN_WITHDRAWN), 0);
	b = make_status(f, f->issuer, "jp.meti", T0 + 20, &bn);
	add(f, a, an);
	add(f, b, bn);
	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_INDETERMINATE);
	assert_string_equal(d.reasons[0].code, "status-equivocation");
	free(a);
	free(b);
}

static void
test_malformed_input(void **state)
{
	struct fx *f = *state;
	struct proto_decision d;
	static const uint8_t junk[] = { 0xd2, 0x84, 0x40, 0xa0, 0xff };

	assert_int_equal(decide_full(f, junk, sizeof(junk),
	    "JP-CESI:CONFIDENTIAL", NULL, T0, T0, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "malformed");
	assert_int_equal(decide_full(f, f->status, f->status_len,
	    "JP-CESI:CONFIDENTIAL", NULL, T0, T0, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "wrong-type");
}

/* A clearance of jp.meti whose status lives at `uri`, entry idx. */
static uint8_t *
clearance_at(struct fx *f, const char *uri, uint32_t idx, size_t *len)
{
	struct proto_record r;

	memset(&r, 0, sizeof(r));
	r.type = PROTO_REC_CLEARANCE;
	claims(f, &r.u.clr.c, "jp.meti", "00112233445566778899aabbccddeeff",
	    T0, T0 + YEAR);
	snprintf(r.u.clr.level, sizeof(r.u.clr.level), "JP-CESI:CONFIDENTIAL");
	snprintf(r.u.clr.operator_id, sizeof(r.u.clr.operator_id), "jp.op.sub");
	snprintf(r.u.clr.status.uri, sizeof(r.u.clr.status.uri), "%s", uri);
	r.u.clr.status.idx = idx;
	return sign(&r, f->issuer, len);
}

static void
test_own_status(void **state)
{
	struct fx *f = *state;
	struct proto_status_list own, shadow;
	struct proto_decision d;
	uint8_t *c;
	size_t n;

	memset(&own, 0, sizeof(own));
	assert_int_equal(proto_status_list_init(&own, 64), 0);
	snprintf(own.c.sub, sizeof(own.c.sub), "mrx://jp.meti/status/1");
	c = clearance_at(f, own.c.sub, 9, &n);
	assert_int_equal(decide_full(f, c, n, "JP-CESI:CONFIDENTIAL", NULL,
	    T0 + 100, T0 + 100, &d), PROTO_INDETERMINATE);
	assert_string_equal(d.reasons[0].code, "status-missing");
	assert_int_equal(proto_trust_own_status(f->t, "jp.meti", &own), 0);
	assert_int_equal(proto_trust_own_status(f->t, "jp.meti", &own),
	    MRX_EEXIST);
	assert_int_equal(proto_trust_own_status(f->t, "JP", &own), MRX_EINVAL);
	/* always fresh, however late; and the entry is read live */
	assert_int_equal(decide_full(f, c, n, "JP-CESI:CONFIDENTIAL", NULL,
	    T0 + 100, T0 + 100 * 86400, &d), PROTO_ACCEPT);
	assert_true(d.has_status && d.status_age_s == 0);
	assert_string_equal(d.status_ref.uri, own.c.sub);
	assert_int_equal(d.status_ref.idx, 9);
	assert_int_equal(proto_status_set(&own, 9, PROTO_STATUS_REVOKED,
	    PROTO_REASON_CONSENT_WITHDRAWN), 0);
	own.seq = 1;
	assert_int_equal(decide_full(f, c, n, "JP-CESI:CONFIDENTIAL", NULL,
	    T0 + 100, T0 + 100, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "revoked");
	assert_string_equal(d.reasons[1].code, "CONSENT_WITHDRAWN");
	assert_true(d.status_seq == 1);
	free(c);
	/* an own list wins over a signed one of the same uri */
	memset(&shadow, 0, sizeof(shadow));
	assert_int_equal(proto_status_list_init(&shadow, 64), 0);
	snprintf(shadow.c.sub, sizeof(shadow.c.sub), "mrx://jp.meti/status/0");
	assert_int_equal(proto_status_set(&shadow, 7, PROTO_STATUS_SUSPENDED,
	    PROTO_REASON_NONE), 0);
	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_ACCEPT);
	assert_int_equal(proto_trust_own_status(f->t, "jp.meti", &shadow), 0);
	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "suspended");
	/* the store borrows: the lists are the caller's to free, after it */
	proto_trust_free(f->t);
	f->t = NULL;
	proto_status_list_fini(&own);
	proto_status_list_fini(&shadow);
}

static void
test_signatures_verified(void **state)
{
	struct fx *f = *state;
	struct proto_decide_req rq;
	struct proto_decision d;
	struct cry_key *rogue = seed_key(10);
	uint8_t *c;
	size_t n;

	f->clr[f->clr_len - 1] ^= 1;	/* break the signature */
	assert_int_equal(decide_at(f, T0 + 100, &d), PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "bad-signature");
	memset(&rq, 0, sizeof(rq));
	rq.record = f->clr;
	rq.record_len = f->clr_len;
	rq.access = "JP-CESI:CONFIDENTIAL";
	rq.at = T0 + 100;
	rq.now = T0 + 100;
	rq.signatures_verified = true;
	assert_int_equal(proto_decide(f->t, &rq, &f->pol, &d), 0);
	assert_int_equal(d.verdict, PROTO_ACCEPT);
	/* the chain is still checked: an undelegated key is refused */
	c = make_clearance(f, rogue, "jp.meti", "JP-CESI:CONFIDENTIAL",
	    "jp.op.sub", 7, T0, 10, &n);
	rq.record = c;
	rq.record_len = n;
	assert_int_equal(proto_decide(f->t, &rq, &f->pol, &d), 0);
	assert_int_equal(d.verdict, PROTO_REJECT);
	assert_string_equal(d.reasons[0].code, "unknown-key");
	free(c);
	cry_key_free(rogue);
}

static void
test_signer(void **state)
{
	struct fx *f = *state;
	struct cry_key *rogue = seed_key(10);
	const struct cry_key *k;
	static const uint8_t junk[] = { 0xd2, 0x84, 0x40, 0xa0, 0xff };
	uint8_t *c;
	size_t n;

	k = proto_trust_signer(f->t, f->clr, f->clr_len);
	assert_non_null(k);
	assert_memory_equal(cry_key_kid(k), cry_key_kid(f->issuer),
	    CRY_KID_LEN);
	operator_cert(f, "jp.op.sub", "JP-CESI:CONFIDENTIAL");
	assert_ptr_equal(proto_trust_signer(f->t, f->opc, f->opc_len), k);
	assert_null(proto_trust_signer(f->t, f->status, f->status_len));
	assert_null(proto_trust_signer(f->t, junk, sizeof(junk)));
	assert_null(proto_trust_signer(f->t, NULL, 0));
	c = make_clearance(f, rogue, "jp.meti", "JP-CESI:CONFIDENTIAL",
	    "jp.op.sub", 7, T0, 10, &n);
	assert_null(proto_trust_signer(f->t, c, n));
	free(c);
	/* signed after the delegation ended: no key */
	c = make_clearance(f, f->issuer, "jp.meti", "JP-CESI:CONFIDENTIAL",
	    "jp.op.sub", 7, T0 + 3 * YEAR, 10, &n);
	assert_null(proto_trust_signer(f->t, c, n));
	free(c);
	cry_key_free(rogue);
}

static void
test_may_issue(void **state)
{
	struct fx *f = *state;
	struct proto_strs lv, sc;
	struct proto_record r;
	struct cry_key *mof = seed_key(11);
	struct proto_decision dc;
	uint8_t h[PROTO_HASH_LEN];
	struct mrx_diag d;
	uint8_t *b;
	size_t n;
	int k;

	memset(&lv, 0, sizeof(lv));
	memset(&sc, 0, sizeof(sc));
	snprintf(lv.v[0], sizeof(lv.v[0]), "JP-CESI:CONFIDENTIAL");
	lv.n = 1;
	snprintf(sc.v[0], sizeof(sc.v[0]), "semiconductors");
	sc.n = 1;
	assert_int_equal(proto_trust_may_issue(f->t, "jp.meti",
	    cry_key_kid(f->issuer), T0, &lv, &sc, NULL), 0);
	mrx_diag_clear(&d);
	assert_int_equal(proto_trust_may_issue(f->t, "jp.meti",
	    cry_key_kid(f->issuer), T0 + 3 * YEAR, &lv, NULL, &d), MRX_ENOENT);
	assert_string_equal(d.field, "outside-delegation");
	mrx_diag_clear(&d);
	assert_int_equal(proto_trust_may_issue(f->t, "jp.meti",
	    cry_key_kid(mof), T0, &lv, NULL, &d), MRX_ENOENT);
	assert_string_equal(d.field, "unknown-key");
	mrx_diag_clear(&d);
	snprintf(lv.v[1], sizeof(lv.v[1]), "JP-SDS:SECRET");
	lv.n = 2;
	assert_int_equal(proto_trust_may_issue(f->t, "jp.meti",
	    cry_key_kid(f->issuer), T0, &lv, NULL, &d), MRX_ERANGE);
	assert_string_equal(d.field, "level-not-delegated");
	assert_non_null(strstr(d.msg, "JP-SDS:SECRET"));
	lv.n = 1;
	/* a delegation limited to one scope */
	memset(&r, 0, sizeof(r));
	r.type = PROTO_REC_DELEGATION;
	claims(f, &r.u.del.c, "jp.cao", "jp.mof", T0 - YEAR, T0 + YEAR);
	assert_int_equal(cry_key_spki(mof, r.u.del.key, sizeof(r.u.del.key),
	    &r.u.del.key_len), 0);
	snprintf(r.u.del.levels.v[0], sizeof(r.u.del.levels.v[0]),
	    "JP-CESI:CONFIDENTIAL");
	r.u.del.levels.n = 1;
	snprintf(r.u.del.scopes.v[0], sizeof(r.u.del.scopes.v[0]), "finance");
	r.u.del.scopes.n = 1;
	b = sign(&r, f->root, &n);
	assert_int_equal(proto_record_decode(b, n, &r, NULL), 0);
	assert_int_equal(proto_record_hash(&r, h), 0);
	proto_record_fini(&r);
	assert_false(proto_trust_holds(f->t, h));
	add(f, b, n);
	free(b);
	assert_true(proto_trust_holds(f->t, h));
	h[0] ^= 1;
	assert_false(proto_trust_holds(f->t, h));
	mrx_diag_clear(&d);
	assert_int_equal(proto_trust_may_issue(f->t, "jp.mof",
	    cry_key_kid(mof), T0, &lv, &sc, &d), MRX_ERANGE);
	assert_string_equal(d.field, "scope-not-delegated");
	snprintf(sc.v[0], sizeof(sc.v[0]), "finance");
	assert_int_equal(proto_trust_may_issue(f->t, "jp.mof",
	    cry_key_kid(mof), T0, &lv, &sc, NULL), 0);
	/*
	 * A clearance that claims a scope its key may not issue for is not a
	 * genuine one, even for a request without a scope; one within the
	 * delegation's scopes gets past that check (and stops at its status).
	 */
	for (k = 0; k < 2; k++) {
		memset(&r, 0, sizeof(r));
		r.type = PROTO_REC_CLEARANCE;
		claims(f, &r.u.clr.c, "jp.mof", "00112233445566778899aabbccddeeff",
		    T0, T0 + YEAR);
		snprintf(r.u.clr.level, sizeof(r.u.clr.level),
		    "JP-CESI:CONFIDENTIAL");
		snprintf(r.u.clr.operator_id, sizeof(r.u.clr.operator_id),
		    "jp.op.prime");
		snprintf(r.u.clr.status.uri, sizeof(r.u.clr.status.uri),
		    "mrx://jp.mof/status/0");
		snprintf(r.u.clr.scopes.v[0], sizeof(r.u.clr.scopes.v[0]), "%s",
		    k == 0 ? "energy" : "finance");
		r.u.clr.scopes.n = 1;
		b = sign(&r, mof, &n);
		decide_full(f, b, n, "JP-CESI:CONFIDENTIAL", NULL, T0 + 60,
		    T0 + 60, &dc);
		free(b);
		assert_string_equal(dc.reasons[0].code, k == 0 ?
		    "scope-not-delegated" : "status-missing");
	}
	cry_key_free(mof);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_accept),
		T(test_revoked_then_reinstated),
		T(test_suspended_and_replay),
		T(test_expiry_boundary),
		T(test_not_yet_valid_skew),
		T(test_stale_and_missing_status),
		T(test_status_index_range),
		T(test_untrusted_chain),
		T(test_level_rules),
		T(test_agreement),
		T(test_agreement_needs_both),
		T(test_key_compromise),
		T(test_operator),
		T(test_equivocation),
		T(test_malformed_input),
		T(test_own_status),
		T(test_signatures_verified),
		T(test_signer),
		T(test_may_issue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
