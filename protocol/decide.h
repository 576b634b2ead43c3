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
 * verifier's knowledge is; the node passes the same value for both.
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
};

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
 * equivocation evidence and marks that uri as equivocating.
 */
int proto_trust_add(struct proto_trust *t, const uint8_t *rec, size_t len,
    int64_t now, int64_t skew_s, struct mrx_diag *diag);

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
