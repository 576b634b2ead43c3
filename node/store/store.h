/*
 * store.h - the node's durable state: SQLite in WAL mode in the data
 * directory. It sees only sqlite3 and the protocol's storage contract
 * (protocol/engine.h actions); nothing else of the runtime.
 *
 * Durability: the runtime groups the actions of one loop turn into one
 * transaction (store_begin ... store_commit) and acknowledges a request
 * only after the commit that holds its effect returned. The database runs
 * with journal_mode=WAL and synchronous=FULL, so a committed transaction
 * survives kill -9 and power loss (or, after store_sync_defer(), the
 * commit is durable once a store_sync() that began after it returned).
 *
 * The audit log is a hash chain: entry n stores hash_n = SHA-256 of
 * (hash_{n-1} || the canonical encoding of entry n's fields), with hash_0 =
 * 32 zero bytes, and seq is contiguous from 1. The head (seq, hash) is also
 * kept in the meta table in the same transaction. store_audit_verify()
 * recomputes the chain and names the first entry that was edited, deleted,
 * inserted or reordered.
 *
 * Schema migrations are versioned (PRAGMA user_version); opening a database
 * written by a newer mrx fails with MRX_ESTATE naming both versions.
 *
 * Thread: a store is used from one thread (the loop thread in mrxd),
 * except store_sync(), see below.
 */
#ifndef NODE_STORE_H
#define NODE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "mrx_err.h"
#include "record.h"

#define STORE_FILE "mrx.db"
#define STORE_SCHEMA_VERSION 3

struct store;

/*
 * Opens (creating and migrating if needed) DIR/mrx.db. Errors name the
 * path and SQLite's message. MRX_EIO for I/O errors, MRX_ENOSPC when the
 * disk is full, MRX_ESTATE for a schema from a newer version.
 */
int store_open(const char *dir, struct store **out, struct mrx_diag *diag);
void store_close(struct store *s);

/*
 * The schema version store_open() migrated the file from (0: it was new),
 * and in *ms (may be NULL) how long that took; -1 when the file was
 * already at STORE_SCHEMA_VERSION.
 */
int64_t store_migrated_from(const struct store *s, uint64_t *ms);

#define STORE_CHECKPOINT_MS_DEFAULT 1000

/*
 * Moves WAL checkpoints off the caller's thread: turns SQLite's automatic
 * checkpoint (which runs inside a commit, fsyncing the database file) off
 * and starts a thread with its own connection that runs a PASSIVE
 * checkpoint every interval_ms (0 = STORE_CHECKPOINT_MS_DEFAULT). It stops
 * in store_close(). The store itself is still used from one thread.
 */
int store_checkpointer_start(struct store *s, unsigned interval_ms,
    struct mrx_diag *diag);

/*
 * Deferred durability, for a runtime that keeps taking requests while a
 * commit reaches the disk. After store_sync_defer() (on the store's thread,
 * outside a transaction) store_commit() writes the transaction to the WAL
 * without waiting for the disk (synchronous=NORMAL: a crash or power loss
 * never corrupts the database, but may lose the last commits), and
 * store_sync() makes every commit that returned before it was called
 * durable (fdatasync of the WAL). The caller acknowledges a commit only
 * after a store_sync() that began after it: together that is FULL's
 * guarantee. store_sync() may run on one other thread while the store's
 * thread goes on with the next transaction; it touches only the WAL's file
 * descriptor. An error from store_sync() means commits may be lost: the
 * runtime must not acknowledge them and should stop.
 */
int store_sync_defer(struct store *s, struct mrx_diag *diag);
int store_sync(struct store *s, struct mrx_diag *diag);

/* One transaction (the group commit of a loop turn). */
/*
 * A write that fails inside the transaction fails the transaction: later
 * writes and store_commit() return MRX_ESTATE until store_rollback(), so a
 * half-applied turn is never committed. A write made outside store_begin()
 * runs in a transaction of its own.
 */
int store_begin(struct store *s, struct mrx_diag *diag);
int store_commit(struct store *s, struct mrx_diag *diag);
void store_rollback(struct store *s);

/* Carry out the persistent actions of the engine (inside a transaction). */
/* A record id stored twice, or a second delta for one list seq: MRX_EEXIST. */
int store_put_record(struct store *s, const struct eng_persist_record *r,
    struct mrx_diag *diag);
int store_put_list(struct store *s, const struct eng_persist_list *l,
    struct mrx_diag *diag);
int store_append_audit(struct store *s, const struct eng_audit *a,
    struct mrx_diag *diag);
/* Stores an alert; *id gets its number (increasing from 1). */
int store_put_alert(struct store *s, const struct eng_alert *a, uint64_t *id,
    struct mrx_diag *diag);
/*
 * Records a watch on an accepted clearance. Watches are appended: one put
 * twice is stored and loaded twice (the engine's table keeps it once).
 */
int store_put_watch(struct store *s, const char *issuer,
    const struct proto_status_ref *ref, const uint8_t cti[PROTO_CTI_LEN],
    struct mrx_diag *diag);

/* A stored record; `bytes` is malloc'd, free it with store_record_fini. */
struct store_record {
	enum proto_rec_type type;
	uint8_t cti[PROTO_CTI_LEN];
	struct proto_status_ref ref;
	int64_t iat, exp;
	uint8_t *bytes;
	size_t len;
};
void store_record_fini(struct store_record *r);

/* Looks a record up by id: 0, MRX_ENOENT, or an error. */
int store_get_record(struct store *s, const uint8_t cti[PROTO_CTI_LEN],
    struct store_record *out, struct mrx_diag *diag);

/* Number of stored records of a type (PROTO_REC_NONE: all). */
int store_count_records(struct store *s, enum proto_rec_type type,
    uint64_t *n, struct mrx_diag *diag);

/*
 * The walks below (lists, watches, alerts, audit entries) stop at the first
 * nonzero return of the callback and return that value.
 */

/* Start-up: every own status list in the order they were opened. */
typedef int (*store_list_fn)(void *ctx, const struct proto_status_list *sl,
    const uint8_t *alloc, uint32_t nalloc);
int store_load_lists(struct store *s, store_list_fn fn, void *ctx,
    struct mrx_diag *diag);

/* Start-up: every watch, in the order stored. */
typedef int (*store_watch_fn)(void *ctx, const char *issuer, const char *uri,
    uint32_t idx, const uint8_t cti[PROTO_CTI_LEN]);
int store_load_watches(struct store *s, store_watch_fn fn, void *ctx,
    struct mrx_diag *diag);

/* Alerts with id > since, oldest first, at most max. */
typedef int (*store_alert_fn)(void *ctx, uint64_t id, const struct eng_alert *a);
int store_alerts_since(struct store *s, uint64_t since, size_t max,
    store_alert_fn fn, void *ctx, struct mrx_diag *diag);
/* The highest alert id (0 if none). */
int store_alert_last(struct store *s, uint64_t *id, struct mrx_diag *diag);

/* ---- federation (schema version 2) ---- */

/*
 * Arguments of the calls below: strings non-NULL and non-empty (issuer up
 * to PROTO_ID_MAX bytes, uri PROTO_URI_MAX, agreement PROTO_SUB_MAX),
 * pointers non-NULL, record bytes 1..PROTO_STATUS_LIST_MAX (larger:
 * MRX_ETOOBIG), a seq to store up to INT64_MAX; otherwise MRX_EINVAL with
 * a diag naming the argument. A write refused so inside a transaction
 * fails the transaction like any failed write. MRX_ENOENT sets no diag.
 */

/*
 * Own deltas of list `uri` with from <= seq <= to, in seq order (the range
 * an ENG_EV_CATCHUP_REQUEST reply names), at most `max` of them. The
 * callback gets each delta record's bytes, valid during the call. None
 * (from > to, max 0, no such list or delta): 0 without a call.
 */
typedef int (*store_bytes_fn)(void *ctx, uint64_t seq, const uint8_t *b,
    size_t len);
int store_deltas_range(struct store *s, const char *uri, uint64_t from,
    uint64_t to, size_t max, store_bytes_fn fn, void *ctx,
    struct mrx_diag *diag);

/*
 * Foreign feeds: the records of another issuer's list (issuer, uri) that
 * this node's engine took (installed, applied, buffered), kept to restore
 * the engine at start-up and to serve catch-ups as a relay. Kinds:
 * STORE_FEED_LIST (a whole status list; storing one drops the stored list
 * and deltas of that feed with seq <= its seq) and STORE_FEED_DELTA (a
 * delta; a second one for the same (issuer, uri, seq) is ignored, 0). A
 * delta at or below the stored list's seq is ignored too, and so is a list
 * below the stored list's seq (one at the same seq replaces it).
 */
enum store_feed_kind {
	STORE_FEED_LIST = 1,
	STORE_FEED_DELTA = 2,
};
int store_put_feed(struct store *s, const char *issuer, const char *uri,
    enum store_feed_kind kind, uint64_t seq, const uint8_t *b, size_t len,
    struct mrx_diag *diag);

/* The stored whole list of a feed: 0 (bytes malloc'd into *b, *seq), or
 * MRX_ENOENT. The caller frees *b; it is NULL after any error. */
int store_feed_list(struct store *s, const char *issuer, const char *uri,
    uint8_t **b, size_t *len, uint64_t *seq, struct mrx_diag *diag);

/* Stored deltas of a feed with seq >= from, in seq order, at most max. */
int store_feed_deltas(struct store *s, const char *issuer, const char *uri,
    uint64_t from, size_t max, store_bytes_fn fn, void *ctx,
    struct mrx_diag *diag);

/*
 * Start-up: every stored feed record, each feed's list first then its
 * deltas in seq order, feeds in (issuer, uri) order.
 */
typedef int (*store_feed_fn)(void *ctx, const char *issuer, const char *uri,
    enum store_feed_kind kind, uint64_t seq, const uint8_t *b, size_t len);
int store_load_feeds(struct store *s, store_feed_fn fn, void *ctx,
    struct mrx_diag *diag);

/*
 * Trust records learned at run time (from feeds or the API): delegations,
 * key revocations, agreements, operator certifications. Keyed by the
 * record hash (SHA-256 of the payload, proto_record_hash): storing the same
 * record twice is harmless (0). Loaded at start-up in the order stored.
 */
int store_put_trust(struct store *s, enum proto_rec_type type,
    const uint8_t hash[PROTO_HASH_LEN], const uint8_t *b, size_t len,
    int64_t time, struct mrx_diag *diag);
typedef int (*store_trust_fn)(void *ctx, enum proto_rec_type type,
    const uint8_t *b, size_t len);
int store_load_trust(struct store *s, store_trust_fn fn, void *ctx,
    struct mrx_diag *diag);

/*
 * Equivocation evidence (ENG_ACT_PERSIST_EVIDENCE), kept for good. held or
 * got may be NULL with length 0 (not retained; the hash names it). The
 * same evidence again (issuer, uri, seq, held_hash, got_hash) is ignored
 * (0). The bytes are copied; the caller keeps ev.
 */
int store_put_evidence(struct store *s, const struct eng_evidence *ev,
    int64_t time, struct mrx_diag *diag);
/* Start-up: the feed of every evidence row, in the order kept. */
typedef int (*store_evidence_fn)(void *ctx, const char *issuer,
    const char *uri, uint64_t seq);
int store_load_evidence(struct store *s, store_evidence_fn fn, void *ctx,
    struct mrx_diag *diag);
/* Number of evidence rows. */
int store_count_evidence(struct store *s, uint64_t *n, struct mrx_diag *diag);

/*
 * Blinded look-up keys of own clearances (no personal data: HMACs). One
 * clearance id per (agreement, key): a later put replaces it.
 */
int store_put_blind(struct store *s, const char *agreement,
    const uint8_t key[32], const uint8_t cti[PROTO_CTI_LEN],
    struct mrx_diag *diag);
/* The newest clearance id for (agreement, key): 0, or MRX_ENOENT. */
int store_find_blind(struct store *s, const char *agreement,
    const uint8_t key[32], uint8_t cti[PROTO_CTI_LEN], struct mrx_diag *diag);

/* The audit log. */
struct store_audit_entry {
	uint64_t seq;
	struct eng_audit a;
	uint8_t prev[32];
	uint8_t hash[32];
};
typedef int (*store_audit_fn)(void *ctx, const struct store_audit_entry *e);
int store_audit_each(struct store *s, store_audit_fn fn, void *ctx,
    struct mrx_diag *diag);

enum store_audit_problem {
	STORE_AUDIT_OK = 0,
	STORE_AUDIT_EDITED,	/* an entry's fields no longer match its hash */
	STORE_AUDIT_DELETED,	/* a gap in seq, or the head is missing */
	STORE_AUDIT_INSERTED,	/* an entry whose prev does not chain, extra */
	STORE_AUDIT_REORDERED,	/* entries present but out of chain order */
};
struct store_audit_report {
	enum store_audit_problem problem;
	uint64_t seq;		/* the first entry concerned */
	uint64_t entries;	/* entries checked */
	char message[256];
};
int store_audit_verify(struct store *s, struct store_audit_report *out,
    struct mrx_diag *diag);

/* The annual aggregate a ministry reports: no personal data. */
struct store_annual {
	int year;
	uint64_t clearances_issued;
	uint64_t clearances_suspended;
	uint64_t clearances_revoked;
	uint64_t clearances_reinstated;
	uint64_t revoked_by_reason[PROTO_REASON_COUNT];
	uint64_t suspended_by_reason[PROTO_REASON_COUNT];
	uint64_t operators_certified;
	uint64_t operators_revoked;
	uint64_t decisions[3];	/* by enum proto_verdict */
};
int store_report_annual(struct store *s, int year, struct store_annual *out,
    struct mrx_diag *diag);

#endif
