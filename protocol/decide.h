/*
 * decide.h - the one decision engine: the trust store and proto_decide().
 *
 * `mrx verify` and the node call the same code. The trust store holds only
 * verified knowledge: root keys (trust anchors), delegations signed by a
 * root, key revocations signed by a root, status lists signed by a delegated
 * key of their issuer, and agreements signed by both of their parties. Each
 * proto_trust_add_*() verifies before it stores, and on refusal leaves the
 * store unchanged and returns a diag whose `field` is the decision reason
 * code the refusal corresponds to (e.g. "bad-signature"). The one
 * exception is an issuer node's own status lists, which its engine keeps
 * live and registers with proto_trust_own_status(): the node is their
 * author, so there is no signature to check and no staleness.
 *
 * proto_decide() checks a presented clearance (and operator certification)
 * in the order of DESIGN.md: well-formed -> signature -> key delegated by a
 * trusted root and not revoked -> time window -> status known and fresh ->
 * status valid -> level (same scheme, or an agreement row in force) ->
 * scope -> operator certification -> accept. A definite reject found by any
 * check wins over an indeterminate one (stale or missing status); nothing is
 * accepted unless every check passed.
 *
 * Time: a record is judged valid at `req->at` (nbf - skew <= at < exp, iat
 * <= at + skew; expiry has no allowance). Signatures are judged at signing
 * time: the record's iat must lie in the delegation's window and before any
 * revocation of the signing key. Status freshness is judged against
 * `req->now`, the verifier's clock, since it measures how current the
 * verifier's knowledge is; the node passes the same value for both. A
 * signed list's age is now minus its freshness time: the latest iat of the
 * list itself, of the feed deltas applied to it and of the checkpoints that
 * confirmed it (proto_trust_apply_delta, proto_trust_fresh).
 *
 * Pure: no I/O, no clock, no allocation in proto_decide(). Deterministic:
 * every table is an array searched in insertion order.
 */
#ifndef PROTO_DECIDE_H
#define PROTO_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "key.h"
#include "mrx_err.h"
#include "record.h"

#define PROTO_TRUST_ROOTS_MAX 64
#define PROTO_TRUST_DELEGATIONS_MAX 4096
#define PROTO_TRUST_REVOCATIONS_MAX 4096
#define PROTO_TRUST_STATUS_MAX 1024
#define PROTO_TRUST_AGREEMENTS_MAX 256
#define PROTO_TRUST_OWN_STATUS_MAX 256	/* live lists of the node itself */
#define PROTO_TRUST_SIGNERS_MAX 4	/* keys behind one held status list */
#define PROTO_REASONS_MAX 8
#define PROTO_CODE_MAX 31
#define PROTO_MESSAGE_MAX 255

#define PROTO_SKEW_DEFAULT_S 60		/* clock-skew allowance */
#define PROTO_STATUS_AGE_DEFAULT_S 86400 /* offline freshness bound */

struct proto_trust;

enum proto_verdict {
	PROTO_ACCEPT = 0,
	PROTO_REJECT = 1,
	PROTO_INDETERMINATE = 2,
};

/* The verifier's policy. */
struct proto_policy {
	int64_t skew_s;			/* allowance on nbf and iat */
	int64_t max_status_age_s;	/* older status lists are stale */
	bool require_operator_cert;	/* both layers must be presented */
};

/* What is asked. */
/*
 * What the issuer's own log says of a record (the runtime asked it with a
 * fetch request by record id): only consulted for a record signed by a key
 * its root has since declared compromised, signed (by its iat) before the
 * revocation's `from`. An iat is the signer's claim: whoever holds the
 * compromised key can back-date, so such a record counts only once its
 * issuer confirms having issued it.
 */
enum proto_log_check {
	PROTO_LOG_UNCHECKED = 0,	/* not asked (or no answer) */
	PROTO_LOG_HELD,			/* the issuer holds these very bytes */
	PROTO_LOG_ABSENT,		/* the issuer holds no such record */
};

struct proto_decide_req {
	const uint8_t *record;		/* the clearance, COSE bytes */
	size_t record_len;
	const uint8_t *operator_record;	/* operator certification, or NULL */
	size_t operator_record_len;
	const char *access;		/* requested local "SCHEME:LEVEL" */
	const char *scope;		/* requested scope, or NULL for none */
	int64_t at;			/* time the records must be valid at */
	int64_t now;			/* verifier's clock, for freshness */
	bool signatures_verified;	/* the caller has verified the
					 * signature of each record presented
					 * with the key proto_trust_signer()
					 * names for it: not verified again */
	enum proto_log_check issuer_log;	/* of the record */
	enum proto_log_check operator_issuer_log; /* of the certification */
};

/*
 * Does `rec` (COSE bytes of a clearance or operator certification) need
 * its issuer's confirmation (enum proto_log_check)? True when it is signed
 * by a delegated key that its root has declared compromised from a time
 * after the record's iat; then *issuer and cti name what to ask for.
 */
bool proto_trust_needs_log(const struct proto_trust *t, const uint8_t *rec,
    size_t len, char issuer[PROTO_ID_MAX + 1],
    uint8_t cti[PROTO_CTI_LEN]);

struct proto_reason_msg {
	char code[PROTO_CODE_MAX + 1];		/* "revoked", "ELIGIBILITY_REVOKED" */
	char message[PROTO_MESSAGE_MAX + 1];	/* one sentence */
};

/* The decision and the evidence behind it (no personal data). */
struct proto_decision {
	enum proto_verdict verdict;
	struct proto_reason_msg reasons[PROTO_REASONS_MAX];
	size_t nreasons;
	/* evidence, filled as far as the checks got */
	uint8_t cti[PROTO_CTI_LEN];
	bool has_cti;
	char issuer[PROTO_ID_MAX + 1];	/* clearance issuer */
	char root[PROTO_ID_MAX + 1];	/* the root that delegated the issuer */
	uint8_t kid[CRY_KID_LEN];	/* signing key */
	enum cry_alg alg;
	char level[PROTO_LEVEL_MAX + 1];
	char operator_id[PROTO_ID_MAX + 1];
	int64_t exp;
	struct proto_status_ref status_ref; /* the clearance's status entry */
	bool has_status;
	uint64_t status_seq;
	int64_t status_age_s;
	char agreement[PROTO_SUB_MAX + 1]; /* agreement id when one was used */
	int agreement_row;		/* its row, or -1 */
};

const char *proto_verdict_name(enum proto_verdict v); /* "accept"... */

/* Default policy values (PROTO_*_DEFAULT_*). */
void proto_policy_default(struct proto_policy *p);

struct proto_trust *proto_trust_new(void);
void proto_trust_free(struct proto_trust *t);

/*
 * Adds a trust anchor: root `id` with public key `key`. On success the
 * store owns `key`; on failure the caller still does. MRX_EEXIST if the id
 * or kid is already a root.
 */
int proto_trust_add_root(struct proto_trust *t, const char *id,
    struct cry_key *key, struct mrx_diag *diag);

/*
 * Adds a signed record: a delegation, key revocation, status list or
 * agreement (anything else is MRX_EINVAL). Verifies it against what the
 * store holds (so add roots, then delegations and revocations, then status
 * lists and agreements). `now` bounds iat (a record from the future beyond
 * the skew is refused). A status list older than one held for the same uri
 * is ignored (returns 0); a different list with the same seq is kept as
 * equivocation evidence and marks that uri as equivocating. When the state
 * held at that seq was reached by applying deltas (so no list record of it
 * exists), a list with the same seq is different when its head or its
 * entries differ.
 */
int proto_trust_add(struct proto_trust *t, const uint8_t *rec, size_t len,
    int64_t now, int64_t skew_s, struct mrx_diag *diag);

/*
 * True when the store holds the delegation, key revocation or agreement
 * whose record hash is `hash` (adding it again changes nothing).
 */
bool proto_trust_holds(const struct proto_trust *t,
    const uint8_t hash[PROTO_HASH_LEN]);

/*
 * As proto_trust_add(), for a record already decoded with
 * proto_record_decode(): its envelope views point into bytes that must
 * stay alive for the call. The store may take heap parts of `rec` over;
 * call proto_record_fini() after, whatever the outcome. The signature is
 * verified again: nothing enters the store unchecked.
 */
int proto_trust_add_record(struct proto_trust *t, struct proto_record *rec,
    int64_t now, int64_t skew_s, struct mrx_diag *diag);

/*
 * Checks a record from an issuer's feed (a status list, status delta or
 * checkpoint) without adding anything: strict decode, the signing key (by
 * kid) delegated to the record's iss by a trusted root, in force at its
 * iat and not revoked, the signature (skipped when `signature_verified`:
 * the caller verified these exact bytes with that key before), and iat no
 * later than now + skew_s. On success `rec` holds the decoded record
 * (views into `bytes`) and `hash` its record hash; call
 * proto_record_fini() after, also on failure. On refusal the diag field
 * is the reason code: "malformed", "wrong-type", "unknown-issuer",
 * "unknown-key", "outside-delegation", "key-revoked", "bad-signature",
 * "unsupported-alg" or "issued-in-future".
 */
int proto_trust_verify_feed(const struct proto_trust *t, const uint8_t *bytes,
    size_t len, int64_t now, int64_t skew_s, bool signature_verified,
    struct proto_record *rec, uint8_t hash[PROTO_HASH_LEN],
    struct mrx_diag *diag);

/* What the store holds of one signed status list. */
struct proto_status_info {
	bool has_list;			/* false: only marked equivocating */
	uint64_t seq;			/* sequence of the state held */
	uint8_t head[PROTO_HASH_LEN];	/* record hash of the delta at seq;
					 * zeros at seq 0 (delta 1's prev) */
	bool has_head;			/* the head is known (always at 0) */
	uint32_t size;			/* entries */
	int64_t fresh_at;		/* see proto_trust_fresh() */
	bool equivocating;
};

/*
 * The state held for `issuer`'s signed list at `uri` (not an own list):
 * 0, or MRX_ENOENT when the store has nothing for it.
 */
int proto_trust_status_info(const struct proto_trust *t, const char *issuer,
    const char *uri, struct proto_status_info *out);

/*
 * The signed list held for (issuer, uri), or NULL. It belongs to the store
 * and is valid until the next call that changes the store.
 */
const struct proto_status_list *proto_trust_status_list(
    const struct proto_trust *t, const char *issuer, const char *uri);

/*
 * Applies a status delta, verified by the caller (proto_trust_verify_feed)
 * and signed with the key `kid` (CRY_KID_LEN bytes), to the signed list
 * held for (issuer, uri), in place: d->seq must be the held seq + 1 and
 * d->prev the held head. All or nothing. Afterwards the list is at d->seq
 * with head `head` (the delta's record hash), its iat is the delta's, and
 * its freshness time at least that. The key joins the keys the held state
 * depends on: should a root revoke it from a time at or before the
 * delta's iat, decisions find the status missing.
 * Returns 0; MRX_ENOENT when no list is held; MRX_ESTATE when the list is
 * marked equivocating or has no head to chain to; MRX_ERANGE when d->seq
 * is not the next; MRX_EINVAL when iss or sub differ or prev is not the
 * head; MRX_ENOSPC over PROTO_TRUST_SIGNERS_MAX keys; an error of
 * proto_status_apply() (an index beyond the list: MRX_ERANGE) or
 * MRX_ENOMEM. The list is unchanged on error.
 */
int proto_trust_apply_delta(struct proto_trust *t, const char *issuer,
    const char *uri, const struct proto_status_delta *d,
    const uint8_t head[PROTO_HASH_LEN], const uint8_t *kid);

/*
 * A checkpoint signed at `iat` with the key `kid` vouched that the list
 * held for (issuer, uri) is current: its freshness time becomes the later
 * of what it was and iat. A decision measures status age as now minus the
 * freshness time, which is the latest iat of the list, of the deltas
 * applied to it and of the checkpoints that matched it. The caller checks
 * that the checkpoint's seq and head are the held ones. 0; MRX_ENOENT when
 * no list is held; MRX_ENOSPC over PROTO_TRUST_SIGNERS_MAX keys.
 */
int proto_trust_fresh(struct proto_trust *t, const char *issuer,
    const char *uri, int64_t iat, const uint8_t *kid);

/*
 * Marks (issuer, uri) as equivocating, for good: the issuer signed two
 * records that cannot both be true (two deltas with one seq, a checkpoint
 * or a delta contradicting the head). Decisions on it are indeterminate
 * with `status-equivocation`. Works whether or not a list is held.
 * 0; MRX_EINVAL for an invalid issuer or uri; MRX_ENOSPC when a new entry
 * is needed and the store holds PROTO_TRUST_STATUS_MAX.
 */
int proto_trust_mark_equivocation(struct proto_trust *t, const char *issuer,
    const char *uri);

/*
 * Registers a live status list that the caller owns and keeps current (a
 * node's own lists) as the status of `issuer`'s entries at `sl->c.sub`. The
 * store keeps the pointer, not a copy, and never frees it: `sl` and its uri
 * must stay valid and unchanged in place until the store is freed; its
 * entries may change between decisions. No signature is involved: the
 * caller is the issuer. A decision treats such a list as always fresh
 * (status age 0, no expiry) and prefers it over a signed list with the
 * same (issuer, uri). MRX_EINVAL for an invalid issuer id or a list
 * without entries, MRX_EEXIST if (issuer, uri) is already registered,
 * MRX_ENOSPC over PROTO_TRUST_OWN_STATUS_MAX.
 */
int proto_trust_own_status(struct proto_trust *t, const char *issuer,
    const struct proto_status_list *sl);

/*
 * The key that must verify the signature of `rec` (a clearance or an
 * operator certification): the delegated key of its issuer named by its
 * kid, in force at its iat and not revoked, found exactly as
 * proto_decide() finds it. NULL when the record is malformed, of another
 * type or cannot be chained (the decision will say why). The key belongs
 * to the store and stays valid until the store is freed.
 */
const struct cry_key *proto_trust_signer(const struct proto_trust *t,
    const uint8_t *rec, size_t len);

/*
 * May `issuer`, signing with its key `kid` (CRY_KID_LEN bytes) at time
 * `at`, issue a record for every level of `levels` and every scope of
 * `scopes` (may be NULL or empty)? The delegation is found and its levels
 * and scopes are judged exactly as proto_decide() judges a presented
 * record, so a record that passes here passes those checks there. Returns
 * 0; MRX_ENOENT when no delegation is in force for that key (diag field
 * "unknown-issuer", "unknown-key", "outside-delegation" or "key-revoked");
 * MRX_ERANGE when one is but does not cover a level (field
 * "level-not-delegated") or a scope (field "scope-not-delegated"); the
 * message names the level or scope.
 */
int proto_trust_may_issue(const struct proto_trust *t, const char *issuer,
    const uint8_t *kid, int64_t at, const struct proto_strs *levels,
    const struct proto_strs *scopes, struct mrx_diag *diag);

/* Decides `req` under `pol`. Returns 0 (the outcome is in `out`) or
 * MRX_EINVAL for a missing argument. */
int proto_decide(const struct proto_trust *t, const struct proto_decide_req *req,
    const struct proto_policy *pol, struct proto_decision *out);

#endif
