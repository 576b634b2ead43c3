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
 *
 * Feeds. An issuer publishes each signed status delta (ENG_ACT_PUBLISH next
 * to the PERSIST_LIST that stores it) and, on ENG_EV_TICK, a signed
 * checkpoint per changed list every checkpoint_interval_s. The runtime puts
 * PUBLISH records on the node's pub socket only after the transaction that
 * holds their effect has committed: a delta that was never committed must
 * never be seen, or the next delta of that seq would be equivocation. Whole
 * lists are signed on demand (eng_list_record()); deltas for a catch-up are
 * served by the runtime from its store after ENG_EV_CATCHUP_REQUEST
 * validated the range (the engine keeps no deltas of its own lists).
 *
 * A subscriber hands every record from a feed to ENG_EV_FEED_RECORD. The
 * signature is checked end to end against the issuer's delegated key, so a
 * relay is never trusted. The held state of each (issuer, uri) is the
 * trust store's signed list; the engine adds, per feed, the last deltas it
 * applied (to tell a duplicate from equivocation), the last whole list
 * installed, and deltas that arrived ahead of a gap (bounded), applied in
 * sequence order once the gap is filled. Equivocation (two records by the
 * issuer that cannot both be true) distrusts the feed for good. Refusals
 * are counted in eng_stats by reason and change nothing else.
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
#define ENG_ACTIONS_MAX 1088		/* actions appended by one event: a
					 * feed delta's alerts (2 x 64 changes
					 * x 8 watches) plus 64 */
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
#define ENG_CHECKPOINT_INTERVAL_DEFAULT_S 1 /* the configuration default */
#define ENG_CHECKPOINT_INTERVAL_MAX_S 86400 /* largest interval accepted */
#define ENG_SUBS_MAX PROTO_TRUST_STATUS_MAX /* foreign feeds followed */
#define ENG_SUB_HISTORY 16		/* deltas remembered per feed */
#define ENG_SUB_PENDING_MAX 32		/* deltas held ahead of a gap */
#define ENG_WITNESS_MAX (256u * 1024u)	/* largest list kept as evidence */
#define ENG_CATCHUP_DEFAULT 64		/* deltas per catch-up reply */
#define ENG_CATCHUP_MAX 1024		/* largest max accepted */
#define ENG_CATCHUP_RETRY_S 1		/* same catch-up asked again after */
#define ENG_LIST_ALERTS_MAX (ENG_ACTIONS_MAX / 2 - 4) /* alert pairs of one
					 * list install; more are counted */

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
	int64_t checkpoint_interval_s;	/* seconds between checkpoints of the
					 * own lists; 0 = none (a configuration
					 * sets ENG_CHECKPOINT_INTERVAL_DEFAULT_S
					 * unless told otherwise) */
};

enum eng_ev_type {
	ENG_EV_ISSUE_CLEARANCE = 1,
	ENG_EV_ISSUE_OPERATOR,
	ENG_EV_SET_STATUS,
	ENG_EV_VERIFY,
	ENG_EV_TICK,
	ENG_EV_FEED_RECORD,
	ENG_EV_CATCHUP_REQUEST,
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
	enum proto_log_check issuer_log;	/* what the issuers' logs said
						 * (proto_trust_needs_log()) */
	enum proto_log_check operator_issuer_log;
};

/* A record from a peer's feed: a status list, status delta or checkpoint. */
struct eng_feed_record {
	const uint8_t *bytes;			/* borrowed for the call */
	size_t len;
};

/*
 * A peer asks for the deltas of an own list from `from_seq` on. The engine
 * only validates: the runtime serves the range the reply names from its
 * store (deltas of one list by seq). A peer that holds no list (catch-up
 * from 0) is served eng_list_record() instead.
 */
struct eng_catchup_request {
	char uri[PROTO_URI_MAX + 1];
	uint64_t from_seq;			/* >= 1 */
	uint32_t max;				/* 0 = ENG_CATCHUP_DEFAULT; more
						 * than ENG_CATCHUP_MAX is cut */
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
		struct eng_feed_record feed;
		struct eng_catchup_request cu;
	} u;
};

enum eng_act_type {
	ENG_ACT_REPLY = 1,
	ENG_ACT_PERSIST_RECORD,	/* a record this node signed */
	ENG_ACT_PERSIST_LIST,	/* a status list changed (state to save) */
	ENG_ACT_AUDIT,		/* append to the audit chain */
	ENG_ACT_ALERT,		/* a watched clearance changed status */
	ENG_ACT_PERSIST_WATCH,	/* an accepted clearance is now watched */
	ENG_ACT_PUBLISH,	/* a record for this node's feed */
	ENG_ACT_PERSIST_EVIDENCE, /* two records proving equivocation */
	ENG_ACT_CATCHUP,	/* a feed has a gap: ask any peer */
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
	uint64_t seq;				/* also: catch-up, the list's */
	/* catch-up: serve the deltas of ref.uri with seq from_seq..to_seq
	 * (none when to_seq < from_seq) */
	uint64_t from_seq, to_seq;
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

enum eng_alert_kind {
	ENG_ALERT_STATUS = 0,		/* a watched clearance changed status */
	ENG_ALERT_EQUIVOCATION,		/* an issuer's feed equivocated: its
					 * entries are indeterminate now */
};

struct eng_alert {
	enum eng_alert_kind kind;
	uint8_t cti[PROTO_CTI_LEN];		/* the watched clearance (zeros
						 * for EQUIVOCATION) */
	char issuer[PROTO_ID_MAX + 1];
	char uri[PROTO_URI_MAX + 1];		/* its status list */
	enum proto_status status;		/* STATUS */
	enum proto_reason reason;		/* STATUS */
	uint64_t seq;				/* of the change; EQUIVOCATION:
						 * the seq in dispute */
	int64_t time;
};

/* A record for the pub socket, once the transaction has committed. */
struct eng_publish {
	enum proto_rec_type type;		/* status delta or checkpoint */
	char uri[PROTO_URI_MAX + 1];		/* the list */
	uint64_t seq;				/* the record's seq */
	const uint8_t *bytes;			/* in the arena */
	size_t len;
};

/*
 * Two records signed by one issuer for one list and one seq that cannot
 * both be true: keep them. `held` is what this node held (a delta, or the
 * status list that named the head); it is NULL when not retained (a list
 * over ENG_WITNESS_MAX, or one from the configuration), and held_hash is
 * then the head the held state names. `got` is the record just received
 * (NULL for a list over ENG_WITNESS_MAX; got_hash names it).
 */
struct eng_evidence {
	char issuer[PROTO_ID_MAX + 1];
	char uri[PROTO_URI_MAX + 1];
	uint64_t seq;				/* the seq in dispute */
	const uint8_t *held;			/* in the arena, or NULL */
	size_t held_len;
	uint8_t held_hash[PROTO_HASH_LEN];
	const uint8_t *got;			/* in the arena, or NULL */
	size_t got_len;
	uint8_t got_hash[PROTO_HASH_LEN];
};

/*
 * A feed is behind: fetch its deltas from `from_seq` on (ENG_EV_CATCHUP_
 * REQUEST at any peer that serves it) and hand them to ENG_EV_FEED_RECORD;
 * from_seq 0: no list is held, fetch the whole status list
 * (eng_list_record() at the issuer). Asked again for the same from_seq at
 * most every ENG_CATCHUP_RETRY_S.
 */
struct eng_catchup {
	char issuer[PROTO_ID_MAX + 1];
	char uri[PROTO_URI_MAX + 1];
	uint64_t from_seq;
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
		struct eng_publish pub;
		struct eng_evidence evidence;
		struct eng_catchup catchup;
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
 *    on the entry, PUBLISH (the same delta bytes), REPLY 200. The same status again is REPLY 200 alone
 *    (the first reason stays); a revoked entry changes no more (409);
 *    an entry that is not an allocated one of this node's lists is 404.
 *  VERIFY: PERSIST_WATCH (on accept, when the watch is new), AUDIT
 *    (DECISION), REPLY 200 with the decision. When the watch table is
 *    full the decision stands and is not watched (eng_stats.watches_dropped).
 *  TICK: when checkpoint_interval_s has passed since the last round, a
 *    PUBLISH (checkpoint: iss, sub = uri, iat = now, seq, head) for every
 *    own list (seq 0 with a head of zeros), in list order, all or none (MRX_ENOSPC); then
 *    the feed deltas left ready by an earlier event, as FEED_RECORD applies
 *    them, as far as the buffer has room.
 *  FEED_RECORD (any role; no reply): nothing when refused (counted by
 *    reason), a duplicate or older than what can be judged. A status list
 *    newer than the one held: installed, then ALERT and AUDIT (ALERT) for
 *    each watched entry whose status it changes (at most
 *    ENG_LIST_ALERTS_MAX pairs; eng_stats.alerts_dropped counts the rest). A delta at the
 *    held seq + 1 chained to the head: applied, ALERT and AUDIT per watch
 *    on each entry whose status it changes; then buffered deltas that now
 *    follow, in order. A delta or checkpoint ahead of the held seq, or any
 *    record of a list not held: CATCHUP (the delta is buffered). A
 *    checkpoint at the held seq and head: the list is fresh as of its iat.
 *    Equivocation: PERSIST_EVIDENCE, ALERT (EQUIVOCATION), AUDIT (ALERT);
 *    the feed is distrusted from then on and its entries decide
 *    indeterminate (status-equivocation).
 *  CATCHUP_REQUEST (issuer role, else 403): REPLY 200 naming the range of
 *    deltas to serve; 404 for a uri that is not an own list, 400 for
 *    from_seq 0.
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
 * The signed status-list record of own list `uri` at its current seq, for
 * a peer that catches up from scratch: iss, sub = uri, iat = the time of
 * the list's last change, seq, head, the entries; its cti is derived from
 * the list's and the seq, so the record at one seq is always the same
 * payload (the same bytes with Ed25519) and two copies are never taken
 * for equivocation. Signed on first request and cached until the list
 * changes. A list that never changed is signed at seq 0, without a head,
 * every entry valid, iat the time it was opened. *rec is engine-owned and
 * valid until the next eng_handle(), eng_list_record() or eng_free().
 * Returns 0; MRX_ENOENT when `uri` is not an own list; MRX_ENOMEM,
 * MRX_ETOOBIG or MRX_ECRYPTO.
 */
int eng_list_record(struct engine *e, const char *uri, const uint8_t **rec,
    size_t *len, uint64_t *seq);

/*
 * Current status of one of this issuer's own entries: 0, or MRX_ENOENT
 * when `ref` is not an allocated entry of one of this node's lists. *seq
 * gets the list's sequence number (0 before its first change).
 */
int eng_status_of(const struct engine *e, const struct proto_status_ref *ref,
    enum proto_status *st, enum proto_reason *why, uint64_t *seq);

/* Why a feed record was refused (eng_stats.feed_refused). */
enum eng_feed_why {
	ENG_FEED_MALFORMED = 0,		/* not a well-formed record */
	ENG_FEED_WRONG_TYPE,		/* not a list, delta or checkpoint */
	ENG_FEED_UNKNOWN_ISSUER,	/* no trusted root delegated it */
	ENG_FEED_UNKNOWN_KEY,		/* signed by a key not delegated */
	ENG_FEED_OUTSIDE_DELEGATION,	/* signed outside the key's window */
	ENG_FEED_KEY_REVOKED,		/* signed by a compromised key */
	ENG_FEED_BAD_SIGNATURE,		/* does not verify (or wrong alg) */
	ENG_FEED_FUTURE,		/* dated ahead of now + skew */
	ENG_FEED_OWN,			/* about this node's own lists */
	ENG_FEED_INCONSISTENT,		/* signed, but does not fit the list
					 * held (an index beyond it) */
	ENG_FEED_DISTRUSTED,		/* the feed equivocated before */
	ENG_FEED_CAPACITY,		/* no room for another feed */
	ENG_FEED_WHY_COUNT
};

const char *eng_feed_why_name(enum eng_feed_why w);	/* "bad-signature" */

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
	uint64_t alerts_dropped;	/* alerts of a list install beyond one
					 * action buffer */
	/* publisher */
	uint64_t published;		/* PUBLISH actions */
	uint64_t checkpoints;		/* checkpoints signed */
	uint64_t lists_signed;		/* status-list records signed */
	uint64_t catchup_requests;	/* CATCHUP_REQUEST answered 200 */
	/* subscriber */
	uint64_t feed_refused[ENG_FEED_WHY_COUNT]; /* by reason */
	uint64_t feed_lists;		/* status lists installed */
	uint64_t feed_deltas;		/* deltas applied */
	uint64_t feed_checkpoints;	/* checkpoints that refreshed a list */
	uint64_t feed_duplicates;	/* records already held */
	uint64_t feed_stale;		/* older than what can be judged */
	uint64_t feed_buffered;		/* deltas held back for a gap */
	uint64_t feed_overflow;		/* deltas dropped: buffer full */
	uint64_t feed_catchups;		/* CATCHUP actions */
	uint64_t feed_equivocations;	/* feeds found equivocating */
	size_t feeds;			/* foreign feeds followed */
};
void eng_stats_get(const struct engine *e, struct eng_stats *out);

/*
 * Invariants, for assert(): the lists (uris, entries, allocation bitmaps
 * and counts, sequence and head), the watch table, the verified-
 * signature cache and the feeds followed (sorted; history and buffered
 * deltas in seq order, buffered ones beyond the held seq). Linear in the state's size: tests call it after each
 * step; eng_handle asserts a constant-time subset on every event.
 */
bool eng_check(const struct engine *e);

#endif
