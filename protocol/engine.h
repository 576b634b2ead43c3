/*
 * engine.h - the node's sans-I/O state machine.
 *
 * The runtime (node/mrxd) and the simulator (sim/) drive the same engine:
 * they hand it one event at a time, with the current time and fresh random
 * bytes, and carry out the actions it appends to a caller-owned buffer:
 * persist a record, persist a status list, append to the audit log, raise an
 * alert, reply to a request. The engine never reads a clock, a socket, a
 * file or a random source, and never blocks.
 *
 * What the engine holds: its identity and signing key (borrowed), the trust
 * store (decide.h), the issuer's own status lists with their allocation
 * bitmaps, the watch table of accepted clearances, and a bounded cache of
 * record bytes whose signature has been verified. What it does not hold:
 * the issued records themselves (the store keeps them; the runtime looks a
 * record up and passes what the engine needs in the event).
 *
 * Check, then change, then emit: a handler validates its event and checks
 * that the action buffer has room before it changes any state, so a failed
 * event leaves the engine as it was. Action payloads (record bytes,
 * decisions) live in the action buffer's arena and stay valid until the
 * buffer is reset.
 *
 * Status indices are drawn at random (from the event's random bytes) among
 * the unallocated entries of the current list and never reused; a new list
 * is opened when the current one is half allocated, so a draw stays cheap
 * and an index links nothing across records.
 */
#ifndef PROTO_ENGINE_H
#define PROTO_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decide.h"
#include "key.h"
#include "mrx_err.h"
#include "record.h"

#define ENG_LISTS_MAX 256		/* status lists of one issuer */
#define ENG_ACTIONS_MAX 64		/* actions appended by one event */
#define ENG_ARENA_BYTES (512u * 1024u)	/* action payload bytes per event */
#define ENG_WATCHES_DEFAULT 1000000	/* accepted clearances watched */
#define ENG_VCACHE_DEFAULT 65536	/* verified-signature cache entries */
#define ENG_RAND_LEN 32			/* random bytes each event carries */
#define ENG_LIST_SIZE_MIN 8		/* entries of an own list (tests, sim) */
#define ENG_WATCHES_LIMIT (1u << 24)	/* largest watches_max accepted */
#define ENG_VCACHE_LIMIT (1u << 22)	/* largest vcache_max accepted */
#define ENG_WATCH_FEEDS_MAX 4096	/* (issuer, uri) lists watched */
#define ENG_WATCHES_PER_ENTRY_MAX 8	/* records watched on one entry */
#define ENG_VALID_YEARS_MAX 50		/* validity asked in an issuance */
#define ENG_OPERATOR_YEARS_DEFAULT 5	/* default operator certification */

enum eng_role {
	ENG_ROLE_ROOT = 0,
	ENG_ROLE_ISSUER,
	ENG_ROLE_OPERATOR,
};

const char *eng_role_name(enum eng_role r);		/* "root"... */
int eng_role_parse(const char *s, enum eng_role *out);

/* What the engine is told at creation (from the node's configuration). */
struct eng_config {
	enum eng_role role;
	char id[PROTO_ID_MAX + 1];	/* this node's id, the iss it signs as */
	char jurisdiction[8];		/* "JP" */
	const struct cry_key *key;	/* signing key, borrowed, outlives engine */
	struct proto_policy policy;	/* for verify */
	uint32_t status_list_size;	/* entries per list; 0 = default */
	size_t watches_max;		/* 0 = ENG_WATCHES_DEFAULT */
	size_t vcache_max;		/* 0 = ENG_VCACHE_DEFAULT */
};

enum eng_ev_type {
	ENG_EV_ISSUE_CLEARANCE = 1,
	ENG_EV_ISSUE_OPERATOR,
	ENG_EV_SET_STATUS,
	ENG_EV_VERIFY,
	ENG_EV_TICK,
};

/* POST /v1/clearances */
struct eng_issue_clearance {
	char sub[PROTO_SUB_MAX + 1];		/* 32 lowercase hex */
	char level[PROTO_LEVEL_MAX + 1];
	struct proto_strs scopes;
	char operator_id[PROTO_ID_MAX + 1];
	int valid_years;			/* with valid_seconds; both 0 = */
	int64_t valid_seconds;			/* the level's default */
};

/* POST /v1/operators */
struct eng_issue_operator {
	char sub[PROTO_ID_MAX + 1];		/* operator id */
	struct proto_strs levels;
	struct proto_strs scopes;
	int valid_years;			/* both 0 = 5 years */
	int64_t valid_seconds;
};

/* POST /v1/clearances/{id}/status: the runtime found the record. */
struct eng_set_status {
	enum proto_rec_type rec_type;		/* clearance or operator-cert */
	uint8_t cti[PROTO_CTI_LEN];
	struct proto_status_ref ref;		/* from the stored record */
	enum proto_status status;
	enum proto_reason reason;
};

/* POST /v1/verify */
struct eng_verify {
	const uint8_t *record;			/* borrowed for the call */
	size_t record_len;
	const uint8_t *operator_record;		/* or NULL */
	size_t operator_record_len;
	char access[PROTO_LEVEL_MAX + 1];
	char scope[PROTO_SCOPE_MAX + 1];	/* "" for none */
	bool signatures_verified;		/* the runtime verified both
						 * records' signatures with the
						 * keys eng_verify_keys() gave */
};

struct eng_event {
	enum eng_ev_type type;
	uint64_t req_id;			/* echoed in the reply */
	int64_t now;				/* NumericDate seconds */
	uint8_t rnd[ENG_RAND_LEN];		/* fresh randomness */
	union {
		struct eng_issue_clearance clr;
		struct eng_issue_operator op;
		struct eng_set_status st;
		struct eng_verify vf;
	} u;
};

enum eng_act_type {
	ENG_ACT_REPLY = 1,
	ENG_ACT_PERSIST_RECORD,	/* a record this node signed */
	ENG_ACT_PERSIST_LIST,	/* a status list changed (state to save) */
	ENG_ACT_AUDIT,		/* append to the audit chain */
	ENG_ACT_ALERT,		/* a watched clearance changed status */
	ENG_ACT_PERSIST_WATCH,	/* an accepted clearance is now watched */
};

enum eng_reply_status {
	ENG_OK = 200,
	ENG_CREATED = 201,
	ENG_BAD_REQUEST = 400,
	ENG_FORBIDDEN = 403,	/* not this node's role */
	ENG_NOT_FOUND = 404,
	ENG_CONFLICT = 409,
	ENG_UNAVAILABLE = 503,	/* out of capacity (lists, watches) */
};

/*
 * The answer to a request. On an error, err_field names the request field
 * as the HTTP API spells it ("sub", "level", "levels[1]", "scopes[0]",
 * "operator", "valid_for", "status", "reason", "ref", "record", "access",
 * "scope"), or is "" when the error is not about one field.
 */
struct eng_reply {
	enum eng_reply_status status;
	/* errors */
	char err_code[PROTO_CODE_MAX + 1];	/* "invalid-level" */
	char err_field[64];			/* "level" */
	char err_message[256];
	/* issuance */
	uint8_t cti[PROTO_CTI_LEN];
	const uint8_t *record;			/* in the arena */
	size_t record_len;
	struct proto_status_ref ref;
	/* status change */
	enum proto_status entry_status;		/* the entry's status now */
	uint64_t seq;
	/* verify */
	const struct proto_decision *decision;	/* in the arena */
};

struct eng_persist_record {
	enum proto_rec_type type;
	uint8_t cti[PROTO_CTI_LEN];
	char sub[PROTO_SUB_MAX + 1];
	struct proto_status_ref ref;
	int64_t iat, exp;
	const uint8_t *bytes;			/* in the arena */
	size_t len;
};

/*
 * The whole persistent state of one own status list. sl->seq counts the
 * list's changes: 0 until the first (an empty log, as a checkpoint says
 * it), then each change is a signed delta of seq n whose prev is the head
 * of n - 1 (zeros for 1), and sl->head is the record hash of delta seq.
 */
struct eng_persist_list {
	const struct proto_status_list *sl;	/* engine-owned, valid until
						 * the next eng_handle() */
	const uint8_t *alloc;			/* allocation bitmap, size/8 */
	uint32_t nalloc;			/* allocated entries */
	/* the change that caused it (absent when only allocating) */
	bool has_change;
	struct proto_status_change change;
	const uint8_t *delta;			/* signed delta record, arena */
	size_t delta_len;
};

enum eng_audit_kind {
	ENG_AUDIT_ISSUE = 1,		/* a record was issued */
	ENG_AUDIT_STATUS,		/* a status changed */
	ENG_AUDIT_DECISION,		/* a decision was made */
	ENG_AUDIT_ALERT,		/* an alert was raised */
};

/*
 * An audit entry: what happened, without personal data (no subject id, no
 * blinded key): record ids, levels, operator ids, codes.
 */
struct eng_audit {
	enum eng_audit_kind kind;
	int64_t time;
	enum proto_rec_type rec_type;		/* ISSUE, STATUS */
	uint8_t cti[PROTO_CTI_LEN];		/* the record concerned */
	bool has_cti;
	char level[PROTO_LEVEL_MAX + 1];	/* ISSUE (clearance), DECISION */
	char operator_id[PROTO_ID_MAX + 1];
	enum proto_status status;		/* STATUS, ALERT */
	enum proto_reason reason;		/* STATUS, ALERT */
	uint64_t seq;				/* STATUS */
	enum proto_verdict verdict;		/* DECISION */
	char codes[96];				/* DECISION: "revoked,ELIGIBILITY_REVOKED" */
	char access[PROTO_LEVEL_MAX + 1];	/* DECISION */
};

struct eng_alert {
	uint8_t cti[PROTO_CTI_LEN];		/* the watched clearance */
	char issuer[PROTO_ID_MAX + 1];
	enum proto_status status;
	enum proto_reason reason;
	uint64_t seq;
	int64_t time;
};

/*
 * A watch to keep: restore it at start-up with eng_restore_watch(). Storing
 * the same watch twice is harmless (the engine emits it once per accept
 * that added it, and restores idempotently).
 */
struct eng_persist_watch {
	char issuer[PROTO_ID_MAX + 1];		/* the clearance's issuer */
	struct proto_status_ref ref;		/* its status entry */
	uint8_t cti[PROTO_CTI_LEN];		/* the clearance */
};

struct eng_action {
	enum eng_act_type type;
	uint64_t req_id;
	union {
		struct eng_reply reply;
		struct eng_persist_record rec;
		struct eng_persist_list list;
		struct eng_audit audit;
		struct eng_alert alert;
		struct eng_persist_watch watch;
	} u;
};

/* The caller-owned action buffer (heap-allocate it: it holds the arena). */
struct eng_actions {
	struct eng_action a[ENG_ACTIONS_MAX];
	size_t n;
	uint8_t arena[ENG_ARENA_BYTES];
	size_t arena_used;
};

void eng_actions_reset(struct eng_actions *out);

struct engine;

/*
 * Creates an engine. `trust` is taken over (freed with the engine; build
 * it with decide.h first: roots, delegations, revocations, agreements).
 * On failure the caller still owns `trust`. Checks `cfg`: a valid id; a
 * private key for the root and issuer roles (optional for an operator);
 * status_list_size 0 or a multiple of 8 in ENG_LIST_SIZE_MIN..
 * PROTO_STATUS_ENTRIES_MAX; watches_max up to ENG_WATCHES_LIMIT;
 * vcache_max up to ENG_VCACHE_LIMIT; policy times not negative.
 * MRX_EINVAL / MRX_ERANGE with diag naming the field, or MRX_ENOMEM.
 */
int eng_new(const struct eng_config *cfg, struct proto_trust *trust,
    struct engine **out, struct mrx_diag *diag);
void eng_free(struct engine *e);

/* The trust store, to add material at run time (SIGHUP, feeds). */
struct proto_trust *eng_trust(struct engine *e);

/*
 * Start-up: restore one own status list as persisted (sl is copied; alloc
 * is size/8 bytes). Lists must be restored in the order they were opened,
 * before the first event. Checks what it is given: the list's issuer is
 * this node, its uri is the next "mrx://<id>/status/<n>", the entries are
 * well formed (proto_status_list_check), nalloc is the number of bits set
 * and at most half the list, and every entry that is not valid is
 * allocated. MRX_EINVAL / MRX_ERANGE with diag naming the part, MRX_ENOSPC
 * past ENG_LISTS_MAX, MRX_ENOMEM; the engine is unchanged on error.
 */
int eng_restore_list(struct engine *e, const struct proto_status_list *sl,
    const uint8_t *alloc, uint32_t nalloc, struct mrx_diag *diag);

/*
 * Start-up: restore a watch (an accepted clearance). Idempotent. MRX_EINVAL
 * for an invalid issuer, uri or index, MRX_ENOSPC when the table is full
 * (watches_max, ENG_WATCH_FEEDS_MAX or ENG_WATCHES_PER_ENTRY_MAX), MRX_ENOMEM.
 */
int eng_restore_watch(struct engine *e, const char *issuer, const char *uri,
    uint32_t idx, const uint8_t cti[PROTO_CTI_LEN]);

/*
 * Handles one event. Appends its actions to `out` (which the caller resets
 * between events or batches). Always appends exactly one ENG_ACT_REPLY for
 * a request event, last. Returns 0, or MRX_ENOSPC when `out` lacks room,
 * in which case the engine is unchanged and the event may be retried with
 * an empty buffer. Other failures leave the engine unchanged and append
 * nothing too: MRX_EINVAL for an event the caller built wrong (unknown
 * type, `now` outside 0..PROTO_TIME_MAX), MRX_ENOMEM or MRX_ECRYPTO when a
 * resource failed.
 *
 * What each event appends, in order:
 *  ISSUE_CLEARANCE, ISSUE_OPERATOR (issuer role, else 403): PERSIST_RECORD,
 *    PERSIST_LIST (the allocation), AUDIT (ISSUE), REPLY 201. A request
 *    that fails validation gets only a REPLY 400 (a level or scope beyond
 *    the node's delegation included); no delegation in force for the
 *    node's key: REPLY 403 with the reason code; no list left: REPLY 503.
 *  SET_STATUS (issuer role): PERSIST_LIST (with the change and its signed
 *    delta), AUDIT (STATUS), then ALERT and AUDIT (ALERT) for each watch
 *    on the entry, REPLY 200. The same status again is REPLY 200 alone
 *    (the first reason stays); a revoked entry changes no more (409);
 *    an entry that is not an allocated one of this node's lists is 404.
 *  VERIFY: PERSIST_WATCH (on accept, when the watch is new), AUDIT
 *    (DECISION), REPLY 200 with the decision. When the watch table is
 *    full the decision stands and is not watched (eng_stats.watches_dropped).
 *  TICK: nothing.
 */
int eng_handle(struct engine *e, const struct eng_event *ev,
    struct eng_actions *out);

/*
 * For verification off the loop thread: which keys verify the signatures
 * of `record` (and `operator_record`, may be NULL). Fills key pointers
 * (NULL when the record cannot be chained: the decision will say why).
 * The keys stay valid until the trust store is freed or replaced.
 */
void eng_verify_keys(const struct engine *e, const uint8_t *record,
    size_t len, const uint8_t *operator_record, size_t op_len,
    const struct cry_key **key, const struct cry_key **op_key);

/*
 * The verified-signature cache: true if these exact bytes were verified
 * before. eng_vcache_put() is called by the runtime after a successful
 * off-thread verification (and by eng_handle itself when it verifies).
 * Keyed by SHA-256 of all `len` bytes; holds vcache_max entries and
 * evicts the oldest insertion first. eng_vcache_has() counts a hit or a
 * miss in eng_stats (the only thing it changes).
 */
bool eng_vcache_has(const struct engine *e, const uint8_t *bytes, size_t len);
void eng_vcache_put(struct engine *e, const uint8_t *bytes, size_t len);

/*
 * Current status of one of this issuer's own entries: 0, or MRX_ENOENT
 * when `ref` is not an allocated entry of one of this node's lists. *seq
 * gets the list's sequence number (0 before its first change).
 */
int eng_status_of(const struct engine *e, const struct proto_status_ref *ref,
    enum proto_status *st, enum proto_reason *why, uint64_t *seq);

/* Counters for /metrics. */
struct eng_stats {
	uint64_t decisions[3];		/* by enum proto_verdict */
	uint64_t issued[PROTO_REC_KEY_REVOCATION + 1]; /* by record type */
	uint64_t status_changes;
	uint64_t alerts;
	size_t watches;
	size_t lists;
	uint64_t vcache_hits, vcache_misses;
	uint64_t watches_dropped;	/* accepts not watched: table full */
};
void eng_stats_get(const struct engine *e, struct eng_stats *out);

/*
 * Invariants, for assert(): the lists (uris, entries, allocation bitmaps
 * and counts, sequence and head), the watch table and the verified-
 * signature cache. Linear in the state's size: tests call it after each
 * step; eng_handle asserts a constant-time subset on every event.
 */
bool eng_check(const struct engine *e);

#endif
