/*
 * store.h - the in-memory store of one simulated node: what mrxd keeps in
 * SQLite, with the crash faults of an unsynced write-ahead log.
 *
 * It holds what the engine asks to persist (engine.h actions): the records
 * the node signed (by cti), its own status lists as last persisted, every
 * own status delta by (uri, seq) (served to catch-ups), the watches, the
 * trust records received on feeds (key revocations), and a count of the
 * equivocation evidence kept.
 *
 * Writes are grouped in transactions, one per engine event, as mrxd
 * groups them per loop turn. A transaction is queued with its commit time
 * (now + the sync delay); until it commits, its writes are not durable and
 * its effects (messages to publish, replies to send) are held: a record is
 * never published before the transaction that holds it has committed.
 * Transactions commit in queue order (commit times never decrease). A
 * crash keeps a prefix of the queued transactions, of random length (the
 * part of the log that reached the disk), and loses the rest, effects
 * included, like SQLite's WAL after power loss: a transaction lands whole
 * or not at all, and never after a later one.
 *
 * Ownership: the store owns every byte it holds; sim_txn_* copy what they
 * are given. Nothing here looks at a clock or a random source but through
 * its arguments.
 */
#ifndef SIM_STORE_H
#define SIM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "mrx_err.h"
#include "rng.h"

#define SIM_STORE_LISTS_MAX ENG_LISTS_MAX	/* own lists */
#define SIM_STORE_RECORDS_MAX (1u << 24)	/* records signed */
#define SIM_STORE_WATCHES_MAX (1u << 24)	/* watches */
#define SIM_STORE_TRUST_MAX 4096		/* trust records received */
#define SIM_STORE_DELTAS_MAX (1u << 24)		/* deltas of one list */
#define SIM_STORE_PENDING_MAX 65536		/* transactions queued */

/* An owned byte string. */
struct sim_blob {
	uint8_t *p;
	size_t n;
};

/* One own status list as persisted, with its deltas. */
struct sim_store_list {
	struct proto_status_list sl;	/* owned copy: bits, reasons */
	uint8_t *alloc;			/* allocation bitmap, size / 8 */
	uint32_t nalloc;
	struct sim_blob *deltas;	/* deltas[seq - 1], seq 1..ndeltas */
	size_t ndeltas, cap;
};

/* A record this node signed. */
struct sim_store_rec {
	uint8_t cti[PROTO_CTI_LEN];
	enum proto_rec_type type;
	struct proto_status_ref ref;
	uint8_t *bytes;			/* owned */
	size_t len;
};

enum sim_write_kind {
	SIM_W_RECORD = 1,
	SIM_W_LIST,
	SIM_W_WATCH,
	SIM_W_TRUST,
	SIM_W_EVIDENCE,
};

/* One write of a transaction (owned copies). */
struct sim_write {
	enum sim_write_kind kind;
	struct sim_store_rec rec;		/* RECORD */
	struct sim_store_list list;		/* LIST: sl, alloc, nalloc */
	struct sim_blob delta;			/* LIST: the delta, if any */
	uint64_t delta_seq;
	struct eng_persist_watch watch;		/* WATCH */
	struct sim_blob blob;			/* TRUST, EVIDENCE */
};

/* Something to do once the transaction has committed. */
struct sim_effect {
	uint16_t kind;			/* the caller's enum */
	uint32_t to;			/* a node, or UINT32_MAX */
	uint64_t arg;			/* the caller's */
	struct sim_blob b;		/* owned bytes */
};

struct sim_txn {
	struct sim_txn *next;		/* queue order */
	int64_t commit_us;		/* when it becomes durable */
	struct sim_write *w;
	size_t nw, capw;
	struct sim_effect *fx;
	size_t nfx, capfx;
};

struct sim_store {
	struct sim_store_list *lists;	/* own lists in the order opened */
	size_t nlists, caplists;
	struct sim_store_rec *recs;	/* in commit order */
	size_t nrecs, caprecs;
	uint32_t *index;		/* recs by cti: open addressing,
					 * rec index + 1, 0 empty */
	size_t nslots;
	struct eng_persist_watch *watches;
	size_t nwatches, capwatches;
	struct sim_blob *trust;		/* trust records, in order */
	size_t ntrust, captrust;
	uint64_t evidence;		/* evidence records kept */
	struct sim_txn *head, *tail;	/* queued, oldest first */
	size_t npending;
	/* counters */
	uint64_t commits, txns_lost, txns_landed;
};

void sim_store_init(struct sim_store *s);
void sim_store_fini(struct sim_store *s);

/* A new empty transaction (not queued); NULL on ENOMEM. */
struct sim_txn *sim_txn_new(void);
void sim_txn_free(struct sim_txn *t);	/* NULL is fine */

/* Adds writes and effects; each copies its arguments. 0 or MRX_ENOMEM. */
int sim_txn_record(struct sim_txn *t, const struct eng_persist_record *r);
int sim_txn_list(struct sim_txn *t, const struct eng_persist_list *l);
int sim_txn_watch(struct sim_txn *t, const struct eng_persist_watch *w);
int sim_txn_trust(struct sim_txn *t, const uint8_t *b, size_t n);
int sim_txn_evidence(struct sim_txn *t, const struct eng_evidence *ev);
int sim_txn_effect(struct sim_txn *t, uint16_t kind, uint32_t to,
    uint64_t arg, const uint8_t *b, size_t n);
bool sim_txn_empty(const struct sim_txn *t);

/*
 * Queues `t` (the store takes it) to commit at commit_us, or at the last
 * queued commit time if that is later. MRX_ENOSPC past
 * SIM_STORE_PENDING_MAX (the store does not take `t` then).
 */
int sim_store_queue(struct sim_store *s, struct sim_txn *t, int64_t commit_us);

/* The commit time of the oldest queued transaction, or INT64_MAX. */
int64_t sim_store_next_commit(const struct sim_store *s);

/*
 * Commits the oldest queued transaction if it is due at now_us: applies
 * its writes and returns it, for the caller to carry out its effects and
 * free it. NULL when none is due. Fails only on ENOMEM/ENOSPC (*rc).
 */
struct sim_txn *sim_store_commit(struct sim_store *s, int64_t now_us,
    int *rc);

/*
 * A crash: a random prefix of the queued transactions lands (writes
 * applied, effects dropped), the rest is lost. *landed and *lost get the
 * counts.
 */
int sim_store_crash(struct sim_store *s, struct sim_rng *r, size_t *landed,
    size_t *lost);

/* Lookups over what has committed. */
const struct sim_store_rec *sim_store_find(const struct sim_store *s,
    const uint8_t cti[PROTO_CTI_LEN]);
const struct sim_store_list *sim_store_list(const struct sim_store *s,
    const char *uri);
const struct sim_blob *sim_store_delta(const struct sim_store *s,
    const char *uri, uint64_t seq);

/* The store's invariants (lists, deltas, index, queue order). O(size). */
bool sim_store_check(const struct sim_store *s);

#endif
