/*
 * decide.c - the trust store and the decision engine (see decide.h).
 *
 * Invariants of struct proto_trust:
 *  - every entry was verified when added, against entries added before it;
 *  - roots own their keys; delegations own the key parsed from their SPKI
 *    (parsed once, reused for every verify);
 *  - a status list entry is unique per (issuer, uri) and holds the highest
 *    sequence number seen; a second, different list with that sequence
 *    marks the entry as equivocating, for good. Feed deltas move it forward
 *    one sequence at a time, each chained to the head (prev); once one has,
 *    `hash` no longer names a list record (has_hash false). fresh_at never
 *    decreases: it is the latest iat of the list, of the deltas applied and
 *    of the checkpoints that confirmed it. signers[] holds every key the
 *    state depends on with the latest time it signed, [0] the list's. An
 *    entry without a list (has_list false) only marks equivocation seen
 *    before any list arrived;
 *  - an own list (proto_trust_own_status) is borrowed, unique per (issuer,
 *    uri), never freed here, and wins over a signed list of that uri;
 *  - tables are arrays searched in insertion order, so a decision never
 *    depends on a pointer value or hash order.
 *
 * proto_decide() allocates nothing: records are decoded into stack structs
 * (clearances and operator certifications have no heap parts).
 */
#include "decide.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "level.h"
#include "ptime.h"

struct trust_root {
	char id[PROTO_ID_MAX + 1];
	struct cry_key *key;		/* owned */
};

struct trust_deleg {
	char root[PROTO_ID_MAX + 1];	/* who delegated */
	char issuer[PROTO_ID_MAX + 1];	/* to whom */
	struct cry_key *key;		/* owned, parsed once */
	struct proto_strs levels;
	struct proto_strs scopes;
	int64_t nbf, exp;
	uint8_t hash[PROTO_HASH_LEN];
};

struct trust_keyrev {
	char root[PROTO_ID_MAX + 1];
	uint8_t kid[CRY_KID_LEN];
	int64_t from;
	uint8_t reason;
	uint8_t hash[PROTO_HASH_LEN];
};

/* A key a held status list depends on, and the latest time it signed. */
struct trust_signer {
	uint8_t kid[CRY_KID_LEN];
	int64_t at;
};

struct trust_status {
	char issuer[PROTO_ID_MAX + 1];
	struct proto_status_list sl;	/* owned (bits, reasons); only c.sub
					 * is set when !has_list */
	struct trust_signer signers[PROTO_TRUST_SIGNERS_MAX];
	size_t nsigners;
	uint8_t hash[PROTO_HASH_LEN];	/* the list record's, if has_hash */
	int64_t fresh_at;		/* status age is measured from here */
	bool has_list;
	bool has_hash;			/* no delta applied since the list */
	bool equivocating;
};

struct trust_agreement {
	struct proto_agreement agr;	/* owned (rows) */
	uint8_t hash[PROTO_HASH_LEN];
};

/* A live list of the node itself: its uri is sl->c.sub. */
struct trust_own {
	char issuer[PROTO_ID_MAX + 1];
	const struct proto_status_list *sl; /* borrowed, kept current */
};

struct proto_trust {
	struct trust_root roots[PROTO_TRUST_ROOTS_MAX];
	size_t nroots;
	struct trust_deleg *delegs;
	size_t ndelegs;
	struct trust_keyrev *keyrevs;
	size_t nkeyrevs;
	struct trust_status *status;
	size_t nstatus;
	struct trust_agreement *agrs;
	size_t nagrs;
	struct trust_own own[PROTO_TRUST_OWN_STATUS_MAX];
	size_t nown;
};

/* Reason codes: the set is documented in docs/decision.md. */
#define R_ACCEPTED "accepted"
#define R_MALFORMED "malformed"
#define R_WRONG_TYPE "wrong-type"
#define R_UNKNOWN_ISSUER "unknown-issuer"
#define R_UNKNOWN_KEY "unknown-key"
#define R_UNKNOWN_ROOT "unknown-root"
#define R_BAD_SIGNATURE "bad-signature"
#define R_UNSUPPORTED_ALG "unsupported-alg"
#define R_OUTSIDE_DELEGATION "outside-delegation"
#define R_KEY_REVOKED "key-revoked"
#define R_LEVEL_NOT_DELEGATED "level-not-delegated"
#define R_SCOPE_NOT_DELEGATED "scope-not-delegated"
#define R_NOT_IN_ISSUER_LOG "not-in-issuer-log"
#define R_ISSUER_LOG_UNCONFIRMED "issuer-log-unconfirmed"
#define R_NOT_YET_VALID "not-yet-valid"
#define R_EXPIRED "expired"
#define R_ISSUED_IN_FUTURE "issued-in-future"
#define R_STATUS_MISSING "status-missing"
#define R_STATUS_STALE "status-stale"
#define R_STATUS_EQUIVOCATION "status-equivocation"
#define R_STATUS_RANGE "status-index-out-of-range"
#define R_STATUS_UNKNOWN "status-unknown"
#define R_REVOKED "revoked"
#define R_SUSPENDED "suspended"
#define R_UNKNOWN_LEVEL "unknown-level"
#define R_UNKNOWN_ACCESS "unknown-access-level"
#define R_LEVEL_INSUFFICIENT "level-insufficient"
#define R_NO_EQUIVALENCE "no-equivalence"
#define R_SCOPE_MISMATCH "scope-mismatch"
#define R_OPERATOR_MISSING "operator-cert-missing"
#define R_OPERATOR_MISMATCH "operator-mismatch"
#define R_OPERATOR_LEVEL "operator-level"
#define R_CAPACITY "capacity"

/* Copies a NUL-terminated string into a fixed buffer, truncating. */
static void
strbuf(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

const char *
proto_verdict_name(enum proto_verdict v)
{
	switch (v) {
	case PROTO_ACCEPT:
		return "accept";
	case PROTO_REJECT:
		return "reject";
	case PROTO_INDETERMINATE:
		return "indeterminate";
	}
	return "reject";
}

void
proto_policy_default(struct proto_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->skew_s = PROTO_SKEW_DEFAULT_S;
	p->max_status_age_s = PROTO_STATUS_AGE_DEFAULT_S;
	p->require_operator_cert = false;
}

static bool __attribute__((unused))	/* in assert() only */
trust_check(const struct proto_trust *t)
{
	return t != NULL && t->nroots <= PROTO_TRUST_ROOTS_MAX &&
	    t->ndelegs <= PROTO_TRUST_DELEGATIONS_MAX &&
	    t->nkeyrevs <= PROTO_TRUST_REVOCATIONS_MAX &&
	    t->nstatus <= PROTO_TRUST_STATUS_MAX &&
	    t->nagrs <= PROTO_TRUST_AGREEMENTS_MAX &&
	    t->nown <= PROTO_TRUST_OWN_STATUS_MAX;
}

struct proto_trust *
proto_trust_new(void)
{
	struct proto_trust *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->delegs = calloc(PROTO_TRUST_DELEGATIONS_MAX, sizeof(*t->delegs));
	t->keyrevs = calloc(PROTO_TRUST_REVOCATIONS_MAX, sizeof(*t->keyrevs));
	t->status = calloc(PROTO_TRUST_STATUS_MAX, sizeof(*t->status));
	t->agrs = calloc(PROTO_TRUST_AGREEMENTS_MAX, sizeof(*t->agrs));
	if (t->delegs == NULL || t->keyrevs == NULL || t->status == NULL ||
	    t->agrs == NULL) {
		proto_trust_free(t);
		return NULL;
	}
	return t;
}

void
proto_trust_free(struct proto_trust *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nroots; i++)
		cry_key_free(t->roots[i].key);
	for (i = 0; i < t->ndelegs; i++)
		cry_key_free(t->delegs[i].key);
	for (i = 0; i < t->nstatus; i++)
		proto_status_list_fini(&t->status[i].sl);
	for (i = 0; i < t->nagrs; i++)
		free(t->agrs[i].agr.rows);
	free(t->delegs);
	free(t->keyrevs);
	free(t->status);
	free(t->agrs);
	free(t);
}

static const struct trust_root *
root_find(const struct proto_trust *t, const char *id)
{
	size_t i;

	for (i = 0; i < t->nroots; i++)
		if (strcmp(t->roots[i].id, id) == 0)
			return &t->roots[i];
	return NULL;
}

static bool
kid_eq(const uint8_t *kid, size_t kid_len, const struct cry_key *key)
{
	return kid != NULL && kid_len == CRY_KID_LEN &&
	    memcmp(kid, cry_key_kid(key), CRY_KID_LEN) == 0;
}

int
proto_trust_add_root(struct proto_trust *t, const char *id,
    struct cry_key *key, struct mrx_diag *diag)
{
	size_t i;

	assert(trust_check(t));
	if (key == NULL || !proto_id_valid(id))
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "root", "a root needs a valid id and a key");
	for (i = 0; i < t->nroots; i++)
		if (strcmp(t->roots[i].id, id) == 0 ||
		    memcmp(cry_key_kid(t->roots[i].key), cry_key_kid(key),
			CRY_KID_LEN) == 0)
			return mrx_diag_set(diag, MRX_EEXIST,
			    MRX_DIAG_NO_OFFSET, "root",
			    "root %s or its key is already a trust anchor", id);
	if (t->nroots == PROTO_TRUST_ROOTS_MAX)
		return mrx_diag_set(diag, MRX_ENOSPC, MRX_DIAG_NO_OFFSET,
		    R_CAPACITY, "more than %d roots", PROTO_TRUST_ROOTS_MAX);
	strbuf(t->roots[t->nroots].id, sizeof(t->roots[0].id), id);
	t->roots[t->nroots].key = key;
	t->nroots++;
	return 0;
}

/* The revocation of `kid` by `root` in force at time `at`, or NULL. */
static const struct trust_keyrev *
keyrev_find(const struct proto_trust *t, const char *root, const uint8_t *kid,
    int64_t at)
{
	size_t i;

	for (i = 0; i < t->nkeyrevs; i++)
		if (memcmp(t->keyrevs[i].kid, kid, CRY_KID_LEN) == 0 &&
		    strcmp(t->keyrevs[i].root, root) == 0 &&
		    at >= t->keyrevs[i].from)
			return &t->keyrevs[i];
	return NULL;
}

/*
 * Finds the delegation under which `issuer` signed with `kid` at `iat`.
 * On failure returns NULL and sets *why to the reason code and *near to the
 * closest candidate (for the message), if any.
 */
static const struct trust_deleg *
deleg_find(const struct proto_trust *t, const char *issuer, const uint8_t *kid,
    size_t kid_len, int64_t iat, const char **why,
    const struct trust_deleg **near)
{
	const struct trust_deleg *d;
	size_t i;
	bool issuer_known = false;

	*why = R_UNKNOWN_ISSUER;
	*near = NULL;
	for (i = 0; i < t->ndelegs; i++) {
		d = &t->delegs[i];
		if (strcmp(d->issuer, issuer) != 0)
			continue;
		issuer_known = true;
		if (!kid_eq(kid, kid_len, d->key))
			continue;
		*near = d;
		if (iat < d->nbf || iat >= d->exp) {
			*why = R_OUTSIDE_DELEGATION;
			continue;
		}
		if (keyrev_find(t, d->root, cry_key_kid(d->key), iat) != NULL) {
			*why = R_KEY_REVOKED;
			continue;
		}
		return d;
	}
	if (issuer_known && *near == NULL)
		*why = R_UNKNOWN_KEY;
	return NULL;
}

/* Maps a crypto error from a signature check to a reason code. */
static const char *
sig_reason(int rc)
{
	return rc == MRX_EUNSUPPORTED ? R_UNSUPPORTED_ALG : R_BAD_SIGNATURE;
}

static int
add_delegation(struct proto_trust *t, struct proto_record *rec,
    const uint8_t *hash, int64_t now, int64_t skew_s, struct mrx_diag *diag)
{
	const struct proto_delegation *d = &rec->u.del;
	const struct trust_root *r;
	struct trust_deleg *td;
	struct cry_key *key = NULL;
	size_t i;
	int rc;

	if (!proto_id_valid(d->c.sub))
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    R_MALFORMED, "delegation names an invalid issuer id");
	r = root_find(t, d->c.iss);
	if (r == NULL)
		return mrx_diag_set(diag, MRX_ENOENT, MRX_DIAG_NO_OFFSET,
		    R_UNKNOWN_ROOT, "delegation is signed in the name of %s, "
		    "which is not a trusted root", d->c.iss);
	if (!kid_eq(rec->env.hdr.kid, rec->env.hdr.kid_len, r->key))
		return mrx_diag_set(diag, MRX_ESIG, MRX_DIAG_NO_OFFSET,
		    R_UNKNOWN_KEY, "delegation names a key that is not root "
		    "%s's key", r->id);
	rc = cry_sign1_verify(&rec->env, r->key, NULL, 0, NULL);
	if (rc != 0)
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, sig_reason(rc),
		    "delegation signature does not verify with root %s's key: %s",
		    r->id, mrx_strerror(rc));
	for (i = 0; i < t->ndelegs; i++)
		if (memcmp(t->delegs[i].hash, hash, PROTO_HASH_LEN) == 0)
			return 0; /* the same record again: idempotent */
	if (d->c.iat > now + skew_s)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    R_ISSUED_IN_FUTURE, "delegation is dated in the future");
	if (t->ndelegs == PROTO_TRUST_DELEGATIONS_MAX)
		return mrx_diag_set(diag, MRX_ENOSPC, MRX_DIAG_NO_OFFSET,
		    R_CAPACITY, "more than %d delegations",
		    PROTO_TRUST_DELEGATIONS_MAX);
	rc = cry_key_from_spki(d->key, d->key_len, &key, NULL);
	if (rc != 0)
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, R_MALFORMED,
		    "delegated key is not an Ed25519 or P-256 public key");
	td = &t->delegs[t->ndelegs++];
	strbuf(td->root, sizeof(td->root), r->id);
	strbuf(td->issuer, sizeof(td->issuer), d->c.sub);
	td->key = key;
	td->levels = d->levels;
	td->scopes = d->scopes;
	td->nbf = d->c.nbf;
	td->exp = d->c.exp;
	memcpy(td->hash, hash, PROTO_HASH_LEN);
	return 0;
}

static int
add_keyrev(struct proto_trust *t, struct proto_record *rec,
    const uint8_t *hash, int64_t now, int64_t skew_s, struct mrx_diag *diag)
{
	const struct proto_key_revocation *k = &rec->u.kr;
	const struct trust_root *r;
	struct trust_keyrev *tk;
	size_t i;
	int rc;

	r = root_find(t, k->c.iss);
	if (r == NULL || !kid_eq(rec->env.hdr.kid, rec->env.hdr.kid_len, r->key))
		return mrx_diag_set(diag, MRX_ENOENT, MRX_DIAG_NO_OFFSET,
		    R_UNKNOWN_ROOT, "key revocation is not signed by a trusted "
		    "root (claims %s)", k->c.iss);
	rc = cry_sign1_verify(&rec->env, r->key, NULL, 0, NULL);
	if (rc != 0)
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, sig_reason(rc),
		    "key revocation signature does not verify with root %s's "
		    "key", r->id);
	for (i = 0; i < t->nkeyrevs; i++)
		if (memcmp(t->keyrevs[i].hash, hash, PROTO_HASH_LEN) == 0)
			return 0;
	if (k->c.iat > now + skew_s)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    R_ISSUED_IN_FUTURE, "key revocation is dated in the future");
	if (t->nkeyrevs == PROTO_TRUST_REVOCATIONS_MAX)
		return mrx_diag_set(diag, MRX_ENOSPC, MRX_DIAG_NO_OFFSET,
		    R_CAPACITY, "more than %d key revocations",
		    PROTO_TRUST_REVOCATIONS_MAX);
	tk = &t->keyrevs[t->nkeyrevs++];
	strbuf(tk->root, sizeof(tk->root), r->id);
	memcpy(tk->kid, k->kid, CRY_KID_LEN);
	tk->from = k->from;
	tk->reason = k->reason;
	memcpy(tk->hash, hash, PROTO_HASH_LEN);
	return 0;
}

static struct trust_status *
status_find(const struct proto_trust *t, const char *issuer, const char *uri)
{
	size_t i;

	for (i = 0; i < t->nstatus; i++)
		if (strcmp(t->status[i].issuer, issuer) == 0 &&
		    strcmp(t->status[i].sl.c.sub, uri) == 0)
			return &t->status[i];
	return NULL;
}

static const struct trust_own *
own_find(const struct proto_trust *t, const char *issuer, const char *uri)
{
	size_t i;

	for (i = 0; i < t->nown; i++)
		if (strcmp(t->own[i].sl->c.sub, uri) == 0 &&
		    strcmp(t->own[i].issuer, issuer) == 0)
			return &t->own[i];
	return NULL;
}

int
proto_trust_own_status(struct proto_trust *t, const char *issuer,
    const struct proto_status_list *sl)
{
	struct trust_own *o;

	assert(trust_check(t));
	if (!proto_id_valid(issuer) || sl == NULL || sl->bits == NULL ||
	    sl->size == 0 || sl->c.sub[0] == '\0')
		return MRX_EINVAL;
	if (own_find(t, issuer, sl->c.sub) != NULL)
		return MRX_EEXIST;
	if (t->nown == PROTO_TRUST_OWN_STATUS_MAX)
		return MRX_ENOSPC;
	o = &t->own[t->nown++];
	strbuf(o->issuer, sizeof(o->issuer), issuer);
	o->sl = sl;
	return 0;
}

/* Entries and reasons equal (reason entries compared field by field:
 * the struct has padding). */
static bool
entries_equal(const struct proto_status_list *a,
    const struct proto_status_list *b)
{
	size_t i;

	if (a->size != b->size || a->nreasons != b->nreasons ||
	    memcmp(a->bits, b->bits, a->size / 4) != 0)
		return false;
	for (i = 0; i < a->nreasons; i++)
		if (a->reasons[i].idx != b->reasons[i].idx ||
		    a->reasons[i].reason != b->reasons[i].reason)
			return false;
	return true;
}

/*
 * A list with the held seq: the same record, or (when deltas built the
 * held state, so no record of it exists) the same head and entries?
 */
static bool
same_state(const struct trust_status *ts, const struct proto_status_list *sl,
    const uint8_t *hash)
{
	if (ts->has_hash)
		return memcmp(ts->hash, hash, PROTO_HASH_LEN) == 0;
	if (sl->has_head != ts->sl.has_head || (sl->has_head &&
	    memcmp(sl->head, ts->sl.head, PROTO_HASH_LEN) != 0))
		return false;
	return entries_equal(sl, &ts->sl);
}

/* A new entry for (issuer, uri), or NULL when the table is full. */
static struct trust_status *
status_new(struct proto_trust *t, const char *issuer, const char *uri)
{
	struct trust_status *ts;

	if (t->nstatus == PROTO_TRUST_STATUS_MAX)
		return NULL;
	ts = &t->status[t->nstatus++];
	memset(ts, 0, sizeof(*ts));
	strbuf(ts->issuer, sizeof(ts->issuer), issuer);
	strbuf(ts->sl.c.sub, sizeof(ts->sl.c.sub), uri);
	return ts;
}

static int
add_status(struct proto_trust *t, struct proto_record *rec,
    const uint8_t *hash, int64_t now, int64_t skew_s, struct mrx_diag *diag)
{
	struct proto_status_list *sl = &rec->u.sl;
	const struct trust_deleg *d, *near;
	struct trust_status *ts;
	const char *why;
	int64_t fresh;
	int rc;

	d = deleg_find(t, sl->c.iss, rec->env.hdr.kid, rec->env.hdr.kid_len,
	    sl->c.iat, &why, &near);
	if (d == NULL)
		return mrx_diag_set(diag, MRX_ENOENT, MRX_DIAG_NO_OFFSET, why,
		    "status list %s is not signed by a delegated key of %s",
		    sl->c.sub, sl->c.iss);
	rc = cry_sign1_verify(&rec->env, d->key, NULL, 0, NULL);
	if (rc != 0)
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, sig_reason(rc),
		    "status list %s: signature does not verify with %s's "
		    "delegated key", sl->c.sub, sl->c.iss);
	if (sl->c.iat > now + skew_s)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    R_ISSUED_IN_FUTURE, "status list %s is dated in the future",
		    sl->c.sub);
	ts = status_find(t, sl->c.iss, sl->c.sub);
	if (ts != NULL && ts->has_list) {
		if (sl->seq < ts->sl.seq)
			return 0; /* older than what we hold */
		if (sl->seq == ts->sl.seq) {
			if (!same_state(ts, sl, hash))
				ts->equivocating = true;
			return 0;
		}
	} else if (ts == NULL) {
		ts = status_new(t, sl->c.iss, sl->c.sub);
		if (ts == NULL)
			return mrx_diag_set(diag, MRX_ENOSPC, MRX_DIAG_NO_OFFSET,
			    R_CAPACITY, "more than %d status lists",
			    PROTO_TRUST_STATUS_MAX);
	}
	fresh = ts->has_list && ts->fresh_at > sl->c.iat ? ts->fresh_at :
	    sl->c.iat;
	proto_status_list_fini(&ts->sl);
	/* take the heap parts over from the record */
	ts->sl = *sl;
	memset(sl, 0, sizeof(*sl));
	memcpy(ts->signers[0].kid, cry_key_kid(d->key), CRY_KID_LEN);
	ts->signers[0].at = ts->sl.c.iat;
	ts->nsigners = 1;
	memcpy(ts->hash, hash, PROTO_HASH_LEN);
	ts->has_hash = true;
	ts->has_list = true;
	ts->fresh_at = fresh;
	return 0;
}

static int
add_agreement(struct proto_trust *t, struct proto_record *rec,
    const uint8_t *hash, int64_t now, int64_t skew_s, struct mrx_diag *diag)
{
	struct proto_agreement *a = &rec->u.agr;
	const struct trust_root *r;
	struct trust_agreement *ta;
	size_t i, p, s;
	bool ok;
	int rc = MRX_ESIG;

	for (p = 0; p < 2; p++) {
		r = root_find(t, a->parties[p]);
		if (r == NULL)
			return mrx_diag_set(diag, MRX_ENOENT, MRX_DIAG_NO_OFFSET,
			    R_UNKNOWN_ROOT, "agreement %s: party %s is not a "
			    "trusted root", a->c.sub, a->parties[p]);
		ok = false;
		for (s = 0; s < rec->multi.nsigs && !ok; s++) {
			if (!kid_eq(rec->multi.sigs[s].hdr.kid,
				rec->multi.sigs[s].hdr.kid_len, r->key))
				continue;
			rc = cry_sign_verify(&rec->multi, s, r->key, NULL, 0,
			    NULL);
			ok = rc == 0;
		}
		if (!ok)
			return mrx_diag_set(diag, MRX_ESIG, MRX_DIAG_NO_OFFSET,
			    R_BAD_SIGNATURE, "agreement %s lacks a valid "
			    "signature by party %s", a->c.sub, r->id);
	}
	for (i = 0; i < t->nagrs; i++)
		if (memcmp(t->agrs[i].hash, hash, PROTO_HASH_LEN) == 0)
			return 0;
	if (a->c.iat > now + skew_s)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    R_ISSUED_IN_FUTURE, "agreement is dated in the future");
	if (t->nagrs == PROTO_TRUST_AGREEMENTS_MAX)
		return mrx_diag_set(diag, MRX_ENOSPC, MRX_DIAG_NO_OFFSET,
		    R_CAPACITY, "more than %d agreements",
		    PROTO_TRUST_AGREEMENTS_MAX);
	ta = &t->agrs[t->nagrs++];
	ta->agr = *a;
	a->rows = NULL;
	a->nrows = 0;
	memcpy(ta->hash, hash, PROTO_HASH_LEN);
	return 0;
}

int
proto_trust_add_record(struct proto_trust *t, struct proto_record *rec,
    int64_t now, int64_t skew_s, struct mrx_diag *diag)
{
	uint8_t hash[PROTO_HASH_LEN];
	int rc;

	assert(trust_check(t) && rec != NULL);
	rc = proto_record_hash(rec, hash);
	if (rc != 0)
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, R_MALFORMED,
		    "cannot hash the record");
	switch (rec->type) {
	case PROTO_REC_DELEGATION:
		return add_delegation(t, rec, hash, now, skew_s, diag);
	case PROTO_REC_KEY_REVOCATION:
		return add_keyrev(t, rec, hash, now, skew_s, diag);
	case PROTO_REC_STATUS_LIST:
		return add_status(t, rec, hash, now, skew_s, diag);
	case PROTO_REC_AGREEMENT:
		return add_agreement(t, rec, hash, now, skew_s, diag);
	default:
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    R_WRONG_TYPE, "a %s is not trust material (expected a "
		    "delegation, key revocation, status list or agreement)",
		    proto_rec_type_name(rec->type));
	}
}

int
proto_trust_add(struct proto_trust *t, const uint8_t *bytes, size_t len,
    int64_t now, int64_t skew_s, struct mrx_diag *diag)
{
	struct proto_record rec;
	struct mrx_diag dd;
	int rc;

	assert(trust_check(t));
	mrx_diag_clear(&dd);
	rc = proto_record_decode(bytes, len, &rec, &dd);
	if (rc != 0) {
		char why[320];

		proto_record_fini(&rec);
		return mrx_diag_set(diag, rc, dd.offset, R_MALFORMED, "%s",
		    mrx_diag_str(&dd, why, sizeof(why)));
	}
	rc = proto_trust_add_record(t, &rec, now, skew_s, diag);
	proto_record_fini(&rec);
	return rc;
}

/* ---- feeds: signed deltas and checkpoints on held lists ---- */

/* The claims of a feed record, or NULL for another type. */
static const struct proto_claims *
feed_claims(const struct proto_record *rec)
{
	switch (rec->type) {
	case PROTO_REC_STATUS_LIST:
		return &rec->u.sl.c;
	case PROTO_REC_STATUS_DELTA:
		return &rec->u.sd.c;
	case PROTO_REC_CHECKPOINT:
		return &rec->u.cp.c;
	default:
		return NULL;
	}
}

int
proto_trust_verify_feed(const struct proto_trust *t, const uint8_t *bytes,
    size_t len, int64_t now, int64_t skew_s, bool signature_verified,
    struct proto_record *rec, uint8_t hash[PROTO_HASH_LEN],
    struct mrx_diag *diag)
{
	const struct proto_claims *c;
	const struct trust_deleg *d, *near;
	const char *why;
	struct mrx_diag dd;
	char b[320];
	int rc;

	assert(trust_check(t) && rec != NULL && hash != NULL);
	mrx_diag_clear(&dd);
	rc = proto_record_decode(bytes, len, rec, &dd);
	if (rc != 0)
		return mrx_diag_set(diag, rc, dd.offset, R_MALFORMED, "%s",
		    mrx_diag_str(&dd, b, sizeof(b)));
	c = feed_claims(rec);
	if (c == NULL)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    R_WRONG_TYPE, "a %s is not a feed record (expected a "
		    "status list, status delta or checkpoint)",
		    proto_rec_type_name(rec->type));
	d = deleg_find(t, c->iss, rec->env.hdr.kid, rec->env.hdr.kid_len,
	    c->iat, &why, &near);
	if (d == NULL)
		return mrx_diag_set(diag, MRX_ENOENT, MRX_DIAG_NO_OFFSET, why,
		    "%s for %s is not signed by a key delegated to %s in "
		    "force at its iat", proto_rec_type_name(rec->type),
		    c->sub, c->iss);
	rc = signature_verified ? 0 :
	    cry_sign1_verify(&rec->env, d->key, NULL, 0, NULL);
	if (rc != 0)
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, sig_reason(rc),
		    "%s for %s: signature does not verify with %s's delegated "
		    "key", proto_rec_type_name(rec->type), c->sub, c->iss);
	if (c->iat > now + skew_s)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    R_ISSUED_IN_FUTURE, "%s for %s is dated in the future",
		    proto_rec_type_name(rec->type), c->sub);
	rc = proto_record_hash(rec, hash);
	if (rc != 0)
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, R_MALFORMED,
		    "cannot hash the record");
	return 0;
}

int
proto_trust_status_info(const struct proto_trust *t, const char *issuer,
    const char *uri, struct proto_status_info *out)
{
	const struct trust_status *ts;

	assert(trust_check(t) && issuer != NULL && uri != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	ts = status_find(t, issuer, uri);
	if (ts == NULL)
		return MRX_ENOENT;
	out->has_list = ts->has_list;
	out->equivocating = ts->equivocating;
	if (!ts->has_list)
		return 0;
	out->seq = ts->sl.seq;
	/* at seq 0 the chain starts from zeros: delta 1's prev */
	out->has_head = ts->sl.has_head || ts->sl.seq == 0;
	if (ts->sl.has_head)
		memcpy(out->head, ts->sl.head, PROTO_HASH_LEN);
	out->size = ts->sl.size;
	out->fresh_at = ts->fresh_at;
	return 0;
}

const struct proto_status_list *
proto_trust_status_list(const struct proto_trust *t, const char *issuer,
    const char *uri)
{
	const struct trust_status *ts;

	assert(trust_check(t) && issuer != NULL && uri != NULL);
	ts = status_find(t, issuer, uri);
	return ts != NULL && ts->has_list ? &ts->sl : NULL;
}

/* Where `kid` goes among the signers: its slot, a new one, or -1 (full). */
static int
signer_slot(const struct trust_status *ts, const uint8_t *kid)
{
	size_t i;

	for (i = 0; i < ts->nsigners; i++)
		if (memcmp(ts->signers[i].kid, kid, CRY_KID_LEN) == 0)
			return (int)i;
	return ts->nsigners < PROTO_TRUST_SIGNERS_MAX ? (int)ts->nsigners : -1;
}

/* Records that `kid` signed at `at` (slot from signer_slot()). */
static void
signer_note(struct trust_status *ts, int slot, const uint8_t *kid, int64_t at)
{
	struct trust_signer *s = &ts->signers[slot];

	if ((size_t)slot == ts->nsigners) {
		memcpy(s->kid, kid, CRY_KID_LEN);
		s->at = at;
		ts->nsigners++;
	} else if (at > s->at) {
		s->at = at;
	}
}

static const uint8_t zero_hash[PROTO_HASH_LEN];

bool
proto_trust_needs_log(const struct proto_trust *t, const uint8_t *b,
    size_t len, char issuer[PROTO_ID_MAX + 1], uint8_t cti[PROTO_CTI_LEN])
{
	const struct trust_deleg *d, *near;
	const struct proto_claims *c;
	struct proto_record rec;
	const char *why;
	bool need = false;

	assert(trust_check(t) && b != NULL);
	if (t->nkeyrevs == 0 || proto_record_decode(b, len, &rec, NULL) != 0)
		return false;
	if (rec.type == PROTO_REC_CLEARANCE || rec.type == PROTO_REC_OPERATOR) {
		c = rec.type == PROTO_REC_CLEARANCE ? &rec.u.clr.c :
		    &rec.u.op.c;
		d = deleg_find(t, c->iss, rec.env.hdr.kid,
		    rec.env.hdr.kid_len, c->iat, &why, &near);
		need = d != NULL && keyrev_find(t, d->root, rec.env.hdr.kid,
		    INT64_MAX) != NULL;
		if (need) {
			strbuf(issuer, PROTO_ID_MAX + 1, c->iss);
			memcpy(cti, c->cti, PROTO_CTI_LEN);
		}
	}
	proto_record_fini(&rec);
	return need;
}

bool
proto_trust_holds(const struct proto_trust *t,
    const uint8_t hash[PROTO_HASH_LEN])
{
	size_t i;

	assert(trust_check(t) && hash != NULL);
	for (i = 0; i < t->ndelegs; i++)
		if (memcmp(t->delegs[i].hash, hash, PROTO_HASH_LEN) == 0)
			return true;
	for (i = 0; i < t->nkeyrevs; i++)
		if (memcmp(t->keyrevs[i].hash, hash, PROTO_HASH_LEN) == 0)
			return true;
	for (i = 0; i < t->nagrs; i++)
		if (memcmp(t->agrs[i].hash, hash, PROTO_HASH_LEN) == 0)
			return true;
	return false;
}

int
proto_trust_apply_delta(struct proto_trust *t, const char *issuer,
    const char *uri, const struct proto_status_delta *d,
    const uint8_t head[PROTO_HASH_LEN], const uint8_t *kid)
{
	struct trust_status *ts;
	int slot, rc;

	assert(trust_check(t) && issuer != NULL && uri != NULL && d != NULL &&
	    head != NULL && kid != NULL);
	ts = status_find(t, issuer, uri);
	if (ts == NULL || !ts->has_list)
		return MRX_ENOENT;
	/* a list at seq 0 is followed by delta 1, whose prev is zeros */
	if (ts->equivocating || (!ts->sl.has_head && ts->sl.seq != 0))
		return MRX_ESTATE;
	if (ts->sl.seq == UINT64_MAX || d->seq != ts->sl.seq + 1)
		return MRX_ERANGE;
	if (strcmp(d->c.iss, issuer) != 0 || strcmp(d->c.sub, uri) != 0 ||
	    memcmp(d->prev, ts->sl.has_head ? ts->sl.head : zero_hash,
	    PROTO_HASH_LEN) != 0)
		return MRX_EINVAL;
	slot = signer_slot(ts, kid);
	if (slot < 0)
		return MRX_ENOSPC;
	/* all or nothing: the last step that can fail */
	rc = proto_status_apply(&ts->sl, d->changes, d->nchanges);
	if (rc != 0)
		return rc;
	ts->sl.seq = d->seq;
	memcpy(ts->sl.head, head, PROTO_HASH_LEN);
	ts->sl.has_head = true;
	ts->sl.c.iat = d->c.iat;
	ts->has_hash = false;
	if (d->c.iat > ts->fresh_at)
		ts->fresh_at = d->c.iat;
	signer_note(ts, slot, kid, d->c.iat);
	return 0;
}

int
proto_trust_fresh(struct proto_trust *t, const char *issuer, const char *uri,
    int64_t iat, const uint8_t *kid)
{
	struct trust_status *ts;
	int slot;

	assert(trust_check(t) && issuer != NULL && uri != NULL && kid != NULL);
	ts = status_find(t, issuer, uri);
	if (ts == NULL || !ts->has_list)
		return MRX_ENOENT;
	slot = signer_slot(ts, kid);
	if (slot < 0)
		return MRX_ENOSPC;
	if (iat > ts->fresh_at)
		ts->fresh_at = iat;
	signer_note(ts, slot, kid, iat);
	return 0;
}

int
proto_trust_mark_equivocation(struct proto_trust *t, const char *issuer,
    const char *uri)
{
	struct trust_status *ts;

	assert(trust_check(t));
	if (issuer == NULL || uri == NULL || !proto_id_valid(issuer) ||
	    uri[0] == '\0' || strnlen(uri, PROTO_URI_MAX + 1) > PROTO_URI_MAX)
		return MRX_EINVAL;
	ts = status_find(t, issuer, uri);
	if (ts == NULL)
		ts = status_new(t, issuer, uri);
	if (ts == NULL)
		return MRX_ENOSPC;
	ts->equivocating = true;
	return 0;
}

/* ---- decisions ---- */

/* Working state of one decision. */
struct dcx {
	const struct proto_trust *t;
	const struct proto_decide_req *req;
	const struct proto_policy *pol;
	struct proto_decision *out;
	bool rejected;
	bool indeterminate;
	int64_t max_status_age_s;	/* tightened by an agreement */
	bool need_operator;
	const char *needed_level;	/* level the operator must be certified for */
};

static void reason(struct dcx *x, enum proto_verdict v, const char *prefix,
    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Appends a reason; a REJECT marks the decision as rejected. */
static void
reason(struct dcx *x, enum proto_verdict v, const char *prefix,
    const char *code, const char *fmt, ...)
{
	struct proto_reason_msg *m;
	va_list ap;

	if (v == PROTO_REJECT)
		x->rejected = true;
	else if (v == PROTO_INDETERMINATE)
		x->indeterminate = true;
	if (x->out->nreasons == PROTO_REASONS_MAX)
		return;
	m = &x->out->reasons[x->out->nreasons++];
	snprintf(m->code, sizeof(m->code), "%s%s", prefix, code);
	va_start(ap, fmt);
	vsnprintf(m->message, sizeof(m->message), fmt, ap);
	va_end(ap);
}

static bool
strs_has(const struct proto_strs *s, const char *v)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], v) == 0)
			return true;
	return false;
}

/* True if a holder of one of `levels` may cover `level` (dominance). */
static bool
levels_cover(const struct proto_strs *levels, const char *level)
{
	const struct proto_level *want = proto_level_find(level), *have;
	size_t i;

	for (i = 0; i < levels->n; i++) {
		if (strcmp(levels->v[i], level) == 0)
			return true;
		have = proto_level_find(levels->v[i]);
		if (proto_level_dominates(have, want))
			return true;
	}
	return false;
}

/* Is `scope` (may be NULL) allowed by `own`, else by the delegation's? */
static bool
scope_ok(const struct proto_strs *own, const struct proto_strs *deleg,
    const char *scope)
{
	if (scope == NULL)
		return true;
	if (own->n > 0)
		return strs_has(own, scope) &&
		    (deleg->n == 0 || strs_has(deleg, scope));
	return deleg->n == 0 || strs_has(deleg, scope);
}

/*
 * Checks the parts common to clearances and operator certifications:
 * signature, delegation, time window, status. `prefix` is "" or
 * "operator-" for the reason codes; `what` names the record in messages.
 * Returns the delegation, or NULL once a reject has been recorded.
 */
static const struct trust_deleg *
check_credential(struct dcx *x, const struct proto_record *rec,
    const char *prefix, const char *what, const struct proto_strs *levels)
{
	const struct proto_claims *c = rec->type == PROTO_REC_CLEARANCE ?
	    &rec->u.clr.c : &rec->u.op.c;
	const struct proto_strs *scopes = rec->type == PROTO_REC_CLEARANCE ?
	    &rec->u.clr.scopes : &rec->u.op.scopes;
	const struct proto_decide_req *rq = x->req;
	const struct trust_deleg *d, *near;
	const char *why;
	char tb[PROTO_TIME_STR], tb2[PROTO_TIME_STR], tb3[PROTO_TIME_STR];
	size_t i;
	int rc;

	d = deleg_find(x->t, c->iss, rec->env.hdr.kid, rec->env.hdr.kid_len,
	    c->iat, &why, &near);
	if (d == NULL) {
		if (strcmp(why, R_UNKNOWN_ISSUER) == 0)
			reason(x, PROTO_REJECT, prefix, why, "the %s's issuer %s "
			    "has no delegation from a trusted root", what, c->iss);
		else if (strcmp(why, R_UNKNOWN_KEY) == 0)
			reason(x, PROTO_REJECT, prefix, why, "the %s is signed "
			    "by a key of %s that no trusted root delegated",
			    what, c->iss);
		else if (strcmp(why, R_KEY_REVOKED) == 0)
			reason(x, PROTO_REJECT, prefix, why, "the %s was signed "
			    "at %s by a key of %s that its root declared "
			    "compromised", what,
			    proto_time_format(c->iat, tb, sizeof(tb)), c->iss);
		else
			reason(x, PROTO_REJECT, prefix, why, "the %s was signed "
			    "at %s, outside the signing key's delegation (%s "
			    "to %s)", what,
			    proto_time_format(c->iat, tb, sizeof(tb)),
			    proto_time_format(near->nbf, tb2, sizeof(tb2)),
			    proto_time_format(near->exp, tb3, sizeof(tb3)));
		return NULL;
	}
	/* a caller that verified with d->key (proto_trust_signer) says so */
	rc = rq->signatures_verified ? 0 :
	    cry_sign1_verify(&rec->env, d->key, NULL, 0, NULL);
	if (rc != 0) {
		reason(x, PROTO_REJECT, prefix, sig_reason(rc), "the %s's "
		    "signature does not verify with %s's delegated key: %s",
		    what, c->iss, mrx_strerror(rc));
		return NULL;
	}
	for (i = 0; i < levels->n; i++)
		if (!levels_cover(&d->levels, levels->v[i])) {
			reason(x, PROTO_REJECT, prefix, R_LEVEL_NOT_DELEGATED,
			    "%s is not delegated to issue %s (root %s)", c->iss,
			    levels->v[i], d->root);
			return NULL;
		}
	/*
	 * Signed by a key since declared compromised, dated before the
	 * revocation: the date is the signer's claim, so only the issuer's
	 * log can tell a genuine record from a back-dated forgery.
	 */
	if (keyrev_find(x->t, d->root, rec->env.hdr.kid, INT64_MAX) != NULL) {
		enum proto_log_check lg = prefix[0] != '\0' ?
		    rq->operator_issuer_log : rq->issuer_log;

		if (lg == PROTO_LOG_ABSENT) {
			reason(x, PROTO_REJECT, prefix, R_NOT_IN_ISSUER_LOG,
			    "%s's log holds no such %s: signed with a key its "
			    "root has declared compromised, it is taken for a "
			    "back-dated forgery", c->iss, what);
			return NULL;
		}
		if (lg != PROTO_LOG_HELD) {
			reason(x, PROTO_INDETERMINATE, prefix,
			    R_ISSUER_LOG_UNCONFIRMED, "the %s is signed by a "
			    "key its root has since declared compromised; only "
			    "%s's log can confirm it was issued before that",
			    what, c->iss);
			return NULL;
		}
	}
	/* a credential claiming a scope its key may not issue for was not
	 * issued within the delegation, whatever the request asks */
	for (i = 0; i < scopes->n; i++)
		if (!scope_ok(scopes, &d->scopes, scopes->v[i])) {
			reason(x, PROTO_REJECT, prefix, R_SCOPE_NOT_DELEGATED,
			    "%s is not delegated to issue for scope %s (root "
			    "%s)", c->iss, scopes->v[i], d->root);
			return NULL;
		}
	if (c->iat > rq->now + x->pol->skew_s) {
		reason(x, PROTO_REJECT, prefix, R_ISSUED_IN_FUTURE, "the %s is "
		    "dated %s, ahead of this verifier's clock", what,
		    proto_time_format(c->iat, tb, sizeof(tb)));
		return NULL;
	}
	if (c->has_nbf && rq->at < c->nbf - x->pol->skew_s) {
		reason(x, PROTO_REJECT, prefix, R_NOT_YET_VALID, "the %s is "
		    "not valid before %s", what,
		    proto_time_format(c->nbf, tb, sizeof(tb)));
		return NULL;
	}
	if (c->has_exp && rq->at >= c->exp) {
		reason(x, PROTO_REJECT, prefix, R_EXPIRED, "the %s expired at "
		    "%s", what, proto_time_format(c->exp, tb, sizeof(tb)));
		return NULL;
	}
	return d;
}

/*
 * Where the credential's status comes from: the issuer's own live list
 * (fresh by definition), else a signed list still backed by a trusted key
 * and not equivocating. Returns the list and sets *age_s, or NULL once an
 * indeterminate reason has been recorded.
 */
static const struct proto_status_list *
status_source(struct dcx *x, const struct proto_claims *c,
    const struct proto_status_ref *sref, const char *prefix, const char *what,
    int64_t *age_s, bool *fresh)
{
	const struct trust_own *own = own_find(x->t, c->iss, sref->uri);
	const struct trust_status *ts;
	const struct trust_deleg *d, *near;
	const char *rwhy;
	size_t i;

	if (own != NULL) {
		*age_s = 0;
		*fresh = true;
		return own->sl;
	}
	*fresh = false;
	ts = status_find(x->t, c->iss, sref->uri);
	if (ts == NULL) {
		reason(x, PROTO_INDETERMINATE, prefix, R_STATUS_MISSING, "no "
		    "status list %s from %s is known, so the %s's status "
		    "cannot be checked", sref->uri, c->iss, what);
		return NULL;
	}
	/* a key the list depends on may have been revoked since */
	for (i = 0; i < ts->nsigners; i++) {
		d = deleg_find(x->t, ts->issuer, ts->signers[i].kid,
		    CRY_KID_LEN, ts->signers[i].at, &rwhy, &near);
		if (d == NULL) {
			reason(x, PROTO_INDETERMINATE, prefix, R_STATUS_MISSING,
			    "the status list %s was signed by a key that is no "
			    "longer trusted (%s)", sref->uri, rwhy);
			return NULL;
		}
	}
	if (ts->equivocating) {
		reason(x, PROTO_INDETERMINATE, prefix, R_STATUS_EQUIVOCATION,
		    "%s signed two different states of status list %s with "
		    "one sequence number", c->iss, sref->uri);
		return NULL;
	}
	if (!ts->has_list) {
		reason(x, PROTO_INDETERMINATE, prefix, R_STATUS_MISSING, "no "
		    "status list %s from %s is known, so the %s's status "
		    "cannot be checked", sref->uri, c->iss, what);
		return NULL;
	}
	*age_s = x->req->now - ts->fresh_at;
	return &ts->sl;
}

/* Status of the credential: reject if not valid, indeterminate if unknown
 * or stale. Fills the evidence for the clearance (not the operator). */
static void
check_status(struct dcx *x, const struct proto_claims *c,
    const struct proto_status_ref *sref, const char *prefix, const char *what,
    bool evidence)
{
	const struct proto_status_list *sl;
	enum proto_status st;
	enum proto_reason why;
	int64_t age;
	bool fresh;

	sl = status_source(x, c, sref, prefix, what, &age, &fresh);
	if (sl == NULL)
		return;
	if (evidence) {
		x->out->has_status = true;
		x->out->status_seq = sl->seq;
		x->out->status_age_s = age;
	}
	if (proto_status_get(sl, sref->idx, &st, &why) != 0) {
		reason(x, PROTO_REJECT, prefix, R_STATUS_RANGE, "the %s's "
		    "status index %u is outside list %s (%u entries)", what,
		    sref->idx, sref->uri, sl->size);
		return;
	}
	if (st == PROTO_STATUS_REVOKED || st == PROTO_STATUS_SUSPENDED) {
		reason(x, PROTO_REJECT, prefix,
		    st == PROTO_STATUS_REVOKED ? R_REVOKED : R_SUSPENDED,
		    "%s marked the %s %s in status list %s sequence %llu",
		    c->iss, what, proto_status_name(st), sref->uri,
		    (unsigned long long)sl->seq);
		if (why != PROTO_REASON_NONE)
			reason(x, PROTO_REJECT, "", proto_reason_name(why),
			    "administrative reason recorded by %s", c->iss);
		return;
	}
	if (st != PROTO_STATUS_VALID) {
		reason(x, PROTO_REJECT, prefix, R_STATUS_UNKNOWN, "the %s's "
		    "status value %d is not defined", what, (int)st);
		return;
	}
	if (!fresh && (age > x->max_status_age_s ||
	    (sl->c.has_exp && x->req->now >= sl->c.exp)))
		reason(x, PROTO_INDETERMINATE, prefix, R_STATUS_STALE, "status "
		    "list %s is %lld s old, over the %lld s freshness bound",
		    sref->uri, (long long)age, (long long)x->max_status_age_s);
}

static bool
row_scope_ok(const struct proto_agreement_row *row, const char *scope)
{
	return row->scopes.n == 0 || (scope != NULL &&
	    strs_has(&row->scopes, scope));
}

/*
 * Level: the same scheme and dominance, or an agreement row in force that
 * maps the held foreign level onto a local level covering the request.
 */
static void
check_level(struct dcx *x, const struct proto_clearance *clr,
    const struct trust_deleg *d)
{
	const struct proto_level *held = proto_level_find(clr->level);
	const struct proto_level *want = proto_level_find(x->req->access);
	const struct trust_agreement *ta;
	const struct proto_agreement_row *row;
	size_t i, j;
	int considered = 0;

	if (want == NULL) {
		reason(x, PROTO_REJECT, "", R_UNKNOWN_ACCESS, "the requested "
		    "access %s is not a known SCHEME:LEVEL", x->req->access);
		return;
	}
	x->needed_level = want->name;
	if (held == NULL) {
		reason(x, PROTO_REJECT, "", R_UNKNOWN_LEVEL, "the clearance's "
		    "level %s is not a known SCHEME:LEVEL", clr->level);
		return;
	}
	if (strcmp(held->scheme, want->scheme) == 0) {
		if (!proto_level_dominates(held, want))
			reason(x, PROTO_REJECT, "", R_LEVEL_INSUFFICIENT, "a %s "
			    "clearance does not cover %s", held->name,
			    want->name);
		return;
	}
	for (i = 0; i < x->t->nagrs; i++) {
		ta = &x->t->agrs[i];
		if (strcmp(ta->agr.parties[0], d->root) != 0 &&
		    strcmp(ta->agr.parties[1], d->root) != 0)
			continue;
		if (x->req->at < ta->agr.c.nbf || x->req->at >= ta->agr.c.exp)
			continue;
		considered++;
		for (j = 0; j < ta->agr.nrows; j++) {
			row = &ta->agr.rows[j];
			if (!proto_level_dominates(held,
				proto_level_find(row->from)) ||
			    !proto_level_dominates(proto_level_find(row->to),
				want) ||
			    !row_scope_ok(row, x->req->scope))
				continue;
			snprintf(x->out->agreement, sizeof(x->out->agreement),
			    "%s", ta->agr.c.sub);
			x->out->agreement_row = (int)j;
			x->needed_level = row->from;
			if (ta->agr.max_status_age_s > 0 &&
			    ta->agr.max_status_age_s < x->max_status_age_s)
				x->max_status_age_s = ta->agr.max_status_age_s;
			if (ta->agr.operator_cert_required)
				x->need_operator = true;
			return;
		}
	}
	reason(x, PROTO_REJECT, "", R_NO_EQUIVALENCE, "no agreement in force "
	    "maps %s onto %s%s%s (%d agreement%s of root %s considered)",
	    held->name, want->name, x->req->scope ? " for scope " : "",
	    x->req->scope ? x->req->scope : "", considered,
	    considered == 1 ? "" : "s", d->root);
}

static void
check_operator(struct dcx *x, const struct proto_clearance *clr)
{
	const struct proto_decide_req *rq = x->req;
	struct proto_record op;
	const struct trust_deleg *d;
	int rc;

	if (rq->operator_record == NULL) {
		if (x->need_operator)
			reason(x, PROTO_REJECT, "", R_OPERATOR_MISSING, "an "
			    "operator certification for %s is required and "
			    "none was presented", clr->operator_id);
		return;
	}
	rc = proto_record_decode(rq->operator_record, rq->operator_record_len,
	    &op, NULL);
	if (rc != 0 || op.type != PROTO_REC_OPERATOR) {
		reason(x, PROTO_REJECT, "operator-", rc != 0 ? R_MALFORMED :
		    R_WRONG_TYPE, "the operator certification is %s",
		    rc != 0 ? mrx_strerror(rc) : "not an operator-cert record");
		proto_record_fini(&op);
		return;
	}
	d = check_credential(x, &op, "operator-", "operator certification",
	    &op.u.op.levels);
	if (d == NULL)
		goto out;
	if (strcmp(op.u.op.c.sub, clr->operator_id) != 0) {
		reason(x, PROTO_REJECT, "", R_OPERATOR_MISMATCH, "the clearance "
		    "is affiliated to %s, the certification is for %s",
		    clr->operator_id, op.u.op.c.sub);
		goto out;
	}
	if (!levels_cover(&op.u.op.levels, x->needed_level)) {
		reason(x, PROTO_REJECT, "", R_OPERATOR_LEVEL, "operator %s is "
		    "not certified for %s", op.u.op.c.sub, x->needed_level);
		goto out;
	}
	if (!scope_ok(&op.u.op.scopes, &d->scopes, rq->scope)) {
		reason(x, PROTO_REJECT, "operator-", R_SCOPE_MISMATCH,
		    "operator %s is not certified for scope %s", op.u.op.c.sub,
		    rq->scope);
		goto out;
	}
	check_status(x, &op.u.op.c, &op.u.op.status, "operator-",
	    "operator certification", false);
out:
	proto_record_fini(&op);
}

static void
fill_evidence(struct dcx *x, const struct proto_record *rec,
    const struct trust_deleg *d)
{
	const struct proto_clearance *clr = &rec->u.clr;
	struct proto_decision *o = x->out;

	memcpy(o->cti, clr->c.cti, PROTO_CTI_LEN);
	o->has_cti = true;
	strbuf(o->issuer, sizeof(o->issuer), clr->c.iss);
	strbuf(o->level, sizeof(o->level), clr->level);
	snprintf(o->operator_id, sizeof(o->operator_id), "%s",
	    clr->operator_id);
	o->exp = clr->c.exp;
	o->status_ref = clr->status;
	o->alg = rec->env.hdr.alg;
	if (rec->env.hdr.kid != NULL && rec->env.hdr.kid_len == CRY_KID_LEN)
		memcpy(o->kid, rec->env.hdr.kid, CRY_KID_LEN);
	if (d != NULL)
		strbuf(o->root, sizeof(o->root), d->root);
}

static void
accept_reason(struct dcx *x)
{
	struct proto_decision *o = x->out;

	if (o->agreement[0] != '\0')
		reason(x, PROTO_ACCEPT, "", R_ACCEPTED, "%s clearance by %s "
		    "counts as %s under agreement %s row %d", o->level,
		    o->issuer, x->req->access, o->agreement,
		    o->agreement_row + 1);
	else
		reason(x, PROTO_ACCEPT, "", R_ACCEPTED, "%s clearance by %s "
		    "(delegated by %s) is valid for %s", o->level, o->issuer,
		    o->root, x->req->access);
}

int
proto_decide(const struct proto_trust *t, const struct proto_decide_req *req,
    const struct proto_policy *pol, struct proto_decision *out)
{
	struct proto_record rec;
	struct proto_strs one;
	const struct trust_deleg *d;
	struct dcx x;
	char why[320];
	struct mrx_diag dd;
	int rc;

	if (t == NULL || req == NULL || pol == NULL || out == NULL ||
	    req->record == NULL || req->access == NULL)
		return MRX_EINVAL;
	assert(trust_check(t));
	memset(out, 0, sizeof(*out));
	out->agreement_row = -1;
	memset(&x, 0, sizeof(x));
	x.t = t;
	x.req = req;
	x.pol = pol;
	x.out = out;
	x.max_status_age_s = pol->max_status_age_s;
	x.need_operator = pol->require_operator_cert;
	mrx_diag_clear(&dd);
	rc = proto_record_decode(req->record, req->record_len, &rec, &dd);
	if (rc != 0) {
		reason(&x, PROTO_REJECT, "", R_MALFORMED, "the clearance is not "
		    "a well-formed record: %s",
		    mrx_diag_str(&dd, why, sizeof(why)));
		goto done;
	}
	if (rec.type != PROTO_REC_CLEARANCE) {
		reason(&x, PROTO_REJECT, "", R_WRONG_TYPE, "a %s was presented "
		    "where a clearance was expected",
		    proto_rec_type_name(rec.type));
		goto done;
	}
	memset(&one, 0, sizeof(one));
	strbuf(one.v[0], sizeof(one.v[0]), rec.u.clr.level);
	one.n = 1;
	d = check_credential(&x, &rec, "", "clearance", &one);
	fill_evidence(&x, &rec, d);
	if (d == NULL)
		goto done;
	check_level(&x, &rec.u.clr, d);
	if (x.rejected)
		goto done;
	check_status(&x, &rec.u.clr.c, &rec.u.clr.status, "", "clearance",
	    true);
	if (x.rejected)
		goto done;
	if (!scope_ok(&rec.u.clr.scopes, &d->scopes, req->scope)) {
		reason(&x, PROTO_REJECT, "", R_SCOPE_MISMATCH, "the clearance "
		    "does not cover scope %s", req->scope);
		goto done;
	}
	check_operator(&x, &rec.u.clr);
done:
	if (x.rejected)
		out->verdict = PROTO_REJECT;
	else if (x.indeterminate)
		out->verdict = PROTO_INDETERMINATE;
	else {
		out->verdict = PROTO_ACCEPT;
		accept_reason(&x);
	}
	proto_record_fini(&rec);
	return 0;
}

const struct cry_key *
proto_trust_signer(const struct proto_trust *t, const uint8_t *bytes,
    size_t len)
{
	struct proto_record rec;
	const struct proto_claims *c;
	const struct trust_deleg *d = NULL, *near;
	const char *why;

	assert(trust_check(t));
	if (bytes == NULL)
		return NULL;
	if (proto_record_decode(bytes, len, &rec, NULL) != 0) {
		proto_record_fini(&rec);
		return NULL;
	}
	if (rec.type == PROTO_REC_CLEARANCE || rec.type == PROTO_REC_OPERATOR) {
		c = rec.type == PROTO_REC_CLEARANCE ? &rec.u.clr.c :
		    &rec.u.op.c;
		d = deleg_find(t, c->iss, rec.env.hdr.kid, rec.env.hdr.kid_len,
		    c->iat, &why, &near);
	}
	proto_record_fini(&rec);
	return d != NULL ? d->key : NULL;
}

int
proto_trust_may_issue(const struct proto_trust *t, const char *issuer,
    const uint8_t *kid, int64_t at, const struct proto_strs *levels,
    const struct proto_strs *scopes, struct mrx_diag *diag)
{
	const struct trust_deleg *d, *near;
	const char *why;
	size_t i;

	assert(trust_check(t) && issuer != NULL && kid != NULL &&
	    levels != NULL);
	d = deleg_find(t, issuer, kid, CRY_KID_LEN, at, &why, &near);
	if (d == NULL)
		return mrx_diag_set(diag, MRX_ENOENT, MRX_DIAG_NO_OFFSET, why,
		    "%s holds no delegation in force for its signing key "
		    "(%s)", issuer, why);
	for (i = 0; i < levels->n; i++)
		if (!levels_cover(&d->levels, levels->v[i]))
			return mrx_diag_set(diag, MRX_ERANGE,
			    MRX_DIAG_NO_OFFSET, R_LEVEL_NOT_DELEGATED, "%s is "
			    "not delegated to issue %s (root %s)", issuer,
			    levels->v[i], d->root);
	for (i = 0; scopes != NULL && i < scopes->n; i++)
		if (!scope_ok(scopes, &d->scopes, scopes->v[i]))
			return mrx_diag_set(diag, MRX_ERANGE,
			    MRX_DIAG_NO_OFFSET, R_SCOPE_NOT_DELEGATED, "%s is "
			    "not delegated to issue for scope %s (root %s)",
			    issuer, scopes->v[i], d->root);
	return 0;
}
