/*
 * record.h - mrx's signed records: plain structs, their deterministic CBOR
 * encoding, and strict decoding of untrusted bytes.
 *
 * Every record is a COSE_Sign1 (the agreement: a COSE_Sign with one signature
 * per party) whose payload is a CBOR map of CWT claims (RFC 8392: 1 iss,
 * 2 sub, 4 exp, 5 nbf, 6 iat, 7 cti) plus text-keyed mrx claims, among
 * them "type", which says which record it is. docs/protocol.md and docs/mrx.cddl are the normative text.
 *
 * Encoding is RFC 8949 core deterministic (shortest heads, definite lengths,
 * map keys in bytewise order of their encoding): one record, one byte string.
 * Decoding rejects, with a diag naming the field or byte offset: input over
 * its limit, indefinite lengths, duplicate keys, wrong types, missing required
 * claims, claims listed in "crit" that this type does not define, values out
 * of range, non-deterministic encoding and trailing bytes. Unknown claims not
 * listed in "crit" are ignored. Decoding never verifies a signature: that is
 * the caller's (decide.h) job, with the key the trust store says.
 *
 * Ownership: decoded string fields are copied into the struct (bounded
 * arrays); status lists and agreement rows are heap-allocated and released by
 * proto_record_fini(), which is safe on a zeroed or failed record. The record
 * keeps views (struct cry_sign1 / cry_sign) into the input bytes: keep the
 * input alive while you use `env`.
 */
#ifndef PROTO_RECORD_H
#define PROTO_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cose.h"
#include "key.h"
#include "mrx_err.h"

#define PROTO_RECORD_MAX 65536		/* bytes of any record but a status list */
#define PROTO_STATUS_LIST_MAX (1u << 20) /* bytes of a status list record */
#define PROTO_STATUS_ENTRIES_MAX (1u << 24) /* entries of one status list */
#define PROTO_STATUS_ENTRIES_DEFAULT 131072u /* herd-privacy floor */
#define PROTO_ID_MAX 63		/* issuer/operator ids: [a-z0-9][a-z0-9.-]* */
#define PROTO_SUB_MAX 127	/* sub claim text */
#define PROTO_URI_MAX 127	/* status list uri */
#define PROTO_LEVEL_MAX 31	/* "SCHEME:LEVEL" */
#define PROTO_SCOPE_MAX 63	/* one scope name */
#define PROTO_LIST_MAX 16	/* levels or scopes in one record */
#define PROTO_CHANGES_MAX 64	/* status changes in one delta */
#define PROTO_ROWS_MAX 64	/* equivalence rows in one agreement */
#define PROTO_CTI_LEN 16
#define PROTO_HASH_LEN 32
#define PROTO_SUBJECT_LEN 16	/* pseudonymous subject id: 16 bytes, 32 hex */

enum proto_rec_type {
	PROTO_REC_NONE = 0,
	PROTO_REC_DELEGATION,	  /* "delegation" */
	PROTO_REC_CLEARANCE,	  /* "clearance" */
	PROTO_REC_OPERATOR,	  /* "operator-cert" */
	PROTO_REC_STATUS_LIST,	  /* "status-list" */
	PROTO_REC_STATUS_DELTA,	  /* "status-delta" */
	PROTO_REC_CHECKPOINT,	  /* "checkpoint" */
	PROTO_REC_AGREEMENT,	  /* "agreement" (COSE_Sign, one signature per party) */
	PROTO_REC_KEY_REVOCATION, /* "key-revocation" */
};

/* 2-bit statuses of the IETF Token Status List (3 is reserved). */
enum proto_status {
	PROTO_STATUS_VALID = 0,
	PROTO_STATUS_REVOKED = 1,
	PROTO_STATUS_SUSPENDED = 2,
};

/* Administrative reason codes of DOMAIN.md; the wire value is the number. */
enum proto_reason {
	PROTO_REASON_NONE = 0,
	PROTO_REASON_ADMIN_SEPARATION,
	PROTO_REASON_ACCESS_DEBRIEFED,
	PROTO_REASON_EXPIRED,
	PROTO_REASON_SUPERSEDED,
	PROTO_REASON_REASSESSMENT_PENDING,
	PROTO_REASON_SUSPENDED_PENDING_REVIEW,
	PROTO_REASON_REINSTATED,
	PROTO_REASON_ELIGIBILITY_REVOKED,
	PROTO_REASON_ELIGIBILITY_DENIED,
	PROTO_REASON_CONSENT_WITHDRAWN,
	PROTO_REASON_ADMIN_WITHDRAWN,
	PROTO_REASON_OPERATOR_CERT_REVOKED,
	PROTO_REASON_ISSUER_KEY_COMPROMISED,
	PROTO_REASON_AGREEMENT_TERMINATED,
	PROTO_REASON_COUNT
};

/* A bounded list of short strings (levels or scopes). */
struct proto_strs {
	char v[PROTO_LIST_MAX][PROTO_SCOPE_MAX + 1];
	size_t n;
};

/* The CWT claims every record has (which are required depends on type). */
struct proto_claims {
	char iss[PROTO_ID_MAX + 1];	/* 1: issuer id */
	char sub[PROTO_SUB_MAX + 1];	/* 2: subject, "" when absent */
	int64_t exp;			/* 4: NumericDate, valid if has_exp */
	int64_t nbf;			/* 5: NumericDate, valid if has_nbf */
	int64_t iat;			/* 6: NumericDate, always present */
	uint8_t cti[PROTO_CTI_LEN];	/* 7: record id, always present */
	bool has_exp;
	bool has_nbf;
};

/* Where a record's status lives: entry idx of the status list at uri. */
struct proto_status_ref {
	char uri[PROTO_URI_MAX + 1];
	uint32_t idx;
};

/* Root -> issuer: the key `key` of issuer `c.sub` may issue `levels`/`scopes`. */
struct proto_delegation {
	struct proto_claims c;		/* iss root, sub delegate, nbf, exp */
	uint8_t key[CRY_SPKI_MAX];	/* delegate's SubjectPublicKeyInfo DER */
	size_t key_len;
	struct proto_strs levels;	/* >= 1 */
	struct proto_strs scopes;	/* empty: any scope */
};

/* Issuer -> subject `c.sub` (32 lowercase hex) holds `level`. */
struct proto_clearance {
	struct proto_claims c;		/* iss, sub, nbf, exp */
	char level[PROTO_LEVEL_MAX + 1];
	struct proto_strs scopes;	/* empty: any scope of the issuer */
	char operator_id[PROTO_ID_MAX + 1]; /* affiliation */
	struct proto_status_ref status;
};

/* Issuer -> operator `c.sub` is an eligible business operator. */
struct proto_operator_cert {
	struct proto_claims c;		/* iss, sub operator id, nbf, exp */
	struct proto_strs levels;	/* >= 1 */
	struct proto_strs scopes;	/* empty: any scope */
	struct proto_status_ref status;
};

struct proto_reason_entry {
	uint32_t idx;
	uint8_t reason;			/* enum proto_reason */
};

/*
 * The whole status list at uri `c.sub`, as of sequence `seq`. Entry i is
 * bits (i % 4) * 2 .. +1 of bits[i / 4] (IETF Token Status List order).
 * `reasons` holds the administrative reason of every entry that is not
 * valid, sorted by idx.
 */
struct proto_status_list {
	struct proto_claims c;		/* iss, sub uri, iat, optional exp */
	uint64_t seq;			/* +1 per change batch; 0 before the
					 * first (then no head, all valid) */
	uint32_t size;			/* entries; a multiple of 4 */
	uint8_t *bits;			/* size / 4 bytes, owned */
	struct proto_reason_entry *reasons; /* owned */
	size_t nreasons;
	size_t reasons_cap;
	uint8_t head[PROTO_HASH_LEN];	/* record hash of the delta of this seq */
	bool has_head;
};

struct proto_status_change {
	uint32_t idx;
	uint8_t status;			/* enum proto_status */
	uint8_t reason;			/* enum proto_reason */
};

/* One entry of an issuer's append-only status log. */
struct proto_status_delta {
	struct proto_claims c;		/* iss, sub uri, iat */
	uint64_t seq;			/* >= 1 */
	uint8_t prev[PROTO_HASH_LEN];	/* record hash of delta seq - 1 (zeros for seq 1) */
	struct proto_status_change changes[PROTO_CHANGES_MAX];
	size_t nchanges;		/* >= 1 */
};

/* "My log at uri is at seq with head hash `head` at time c.iat." */
struct proto_checkpoint {
	struct proto_claims c;		/* iss, sub uri, iat */
	uint64_t seq;
	uint8_t head[PROTO_HASH_LEN];
};

struct proto_agreement_row {
	char from[PROTO_LEVEL_MAX + 1];	/* foreign SCHEME:LEVEL */
	char to[PROTO_LEVEL_MAX + 1];	/* local SCHEME:LEVEL */
	struct proto_strs scopes;	/* empty: any scope */
};

/* Mutual recognition between two roots. */
struct proto_agreement {
	struct proto_claims c;		/* iss drafting root, sub agreement id, nbf, exp */
	char parties[2][PROTO_ID_MAX + 1];
	struct proto_agreement_row *rows; /* owned */
	size_t nrows;			/* >= 1 */
	int64_t max_status_age_s;	/* condition; 0 = the verifier's own policy */
	bool operator_cert_required;	/* condition */
};

/* Root: key `kid` of `c.sub` is compromised from `from`. */
struct proto_key_revocation {
	struct proto_claims c;		/* iss root, sub key holder, iat */
	uint8_t kid[CRY_KID_LEN];
	int64_t from;
	uint8_t reason;			/* enum proto_reason */
};

struct proto_record {
	enum proto_rec_type type;
	struct cry_sign1 env;		/* envelope view (all but agreements) */
	struct cry_sign multi;		/* envelope view (agreements) */
	union {
		struct proto_delegation del;
		struct proto_clearance clr;
		struct proto_operator_cert op;
		struct proto_status_list sl;
		struct proto_status_delta sd;
		struct proto_checkpoint cp;
		struct proto_agreement agr;
		struct proto_key_revocation kr;
	} u;
};

const char *proto_rec_type_name(enum proto_rec_type t); /* "clearance", NULL */
int proto_rec_type_parse(const char *s, enum proto_rec_type *out);
const char *proto_status_name(enum proto_status s);	/* "valid", "revoked", "suspended" */
int proto_status_parse(const char *s, enum proto_status *out);
const char *proto_reason_name(enum proto_reason r);	/* "ELIGIBILITY_REVOKED", "" for NONE */
int proto_reason_parse(const char *s, enum proto_reason *out);

/* True if s is a valid id: 1..PROTO_ID_MAX of [a-z0-9.-], starting alnum. */
bool proto_id_valid(const char *s);

/*
 * Decodes a whole signed record (envelope and payload) without verifying
 * its signature. `rec` is zeroed first; call proto_record_fini() after, also
 * on failure. Limits: PROTO_RECORD_MAX, or PROTO_STATUS_LIST_MAX for status
 * lists.
 */
int proto_record_decode(const uint8_t *msg, size_t len,
    struct proto_record *rec, struct mrx_diag *diag);

/* Decodes a payload alone into rec (type taken from the payload). */
int proto_payload_decode(const uint8_t *payload, size_t len,
    struct proto_record *rec, struct mrx_diag *diag);

/*
 * Encodes rec's payload deterministically into buf. Validates rec first
 * (required claims, ranges, id syntax) and fails with diag on a bad field,
 * so that a record that cannot be decoded is never produced.
 */
int proto_payload_encode(const struct proto_record *rec, uint8_t *buf,
    size_t cap, size_t *len, struct mrx_diag *diag);

/*
 * Encodes and signs rec with key: a tagged COSE_Sign1 (for an agreement, a
 * COSE_Sign with this one signature; add the other with cry_sign_add()).
 */
int proto_record_sign(const struct proto_record *rec,
    const struct cry_key *key, uint8_t *out, size_t cap, size_t *out_len,
    struct mrx_diag *diag);

/*
 * The record's identity: SHA-256 of its payload bytes. Re-wrapping the
 * envelope (tag or not, header encoding) or a second valid signature does
 * not change it. Computed on demand: a verifier that does not need it does
 * not pay for it.
 */
int proto_record_hash(const struct proto_record *rec,
    uint8_t out[PROTO_HASH_LEN]);

/* Releases heap parts of rec; safe on a zeroed record; leaves rec zeroed. */
void proto_record_fini(struct proto_record *rec);

/* Status list operations (pure). */

/* Makes an all-valid list of `size` entries (multiple of 4, <= max). */
int proto_status_list_init(struct proto_status_list *sl, uint32_t size);

/* Releases the list's heap parts; safe on a zeroed list. */
void proto_status_list_fini(struct proto_status_list *sl);

/* Reads entry idx; reason is NONE for valid entries. MRX_ERANGE if idx >= size. */
int proto_status_get(const struct proto_status_list *sl, uint32_t idx,
    enum proto_status *st, enum proto_reason *why);

/* Sets entry idx and its reason (dropped when st is valid). */
int proto_status_set(struct proto_status_list *sl, uint32_t idx,
    enum proto_status st, enum proto_reason why);

/*
 * Applies `n` changes to `sl` as one batch, all or nothing: every change is
 * checked first (idx < size: MRX_ERANGE; status or reason out of range:
 * MRX_EINVAL; one idx twice: MRX_EDUP), then applied, keeping `reasons`
 * sorted. O(n log n + nreasons). On any error `sl` is unchanged.
 */
int proto_status_apply(struct proto_status_list *sl,
    const struct proto_status_change *ch, size_t n);

/*
 * Checks the invariants of a status list: size a multiple of 4 in
 * [4, PROTO_STATUS_ENTRIES_MAX], bits present, no entry 3, and `reasons`
 * strictly sorted, naming exactly the entries that are not valid, each with
 * a reason below PROTO_REASON_COUNT. O(size / 4 + nreasons). Returns 0 or
 * MRX_ERANGE with diag naming "payload.status_list" or "payload.reasons".
 */
int proto_status_list_check(const struct proto_status_list *sl,
    struct mrx_diag *diag);

/*
 * Compresses the bits of `sl` (size / 4 bytes) in zlib format (RFC 1950)
 * at level 6: the "lst" of a status-list record. On success *out is a heap
 * buffer of *out_len bytes owned by the caller (free()); on error *out is
 * NULL.
 */
int proto_status_list_pack(const struct proto_status_list *sl, uint8_t **out,
    size_t *out_len);

/*
 * Inflates a zlib stream `lst` into new bits for `sl` and sets sl->size to
 * four entries per inflated byte. The output is bounded by
 * PROTO_STATUS_ENTRIES_MAX / 4 bytes: a stream that inflates to more is
 * MRX_ETOOBIG; a corrupt, truncated or dictionary stream MRX_EMALFORMED;
 * bytes after its end MRX_ETRAILING; an empty result MRX_ERANGE. The diag
 * names "payload.status_list.lst" and an offset inside `lst`. On success the
 * old bits are freed; on error `sl` is unchanged. `reasons` is not touched.
 */
int proto_status_list_unpack(struct proto_status_list *sl, const uint8_t *lst,
    size_t len, struct mrx_diag *diag);

#endif
