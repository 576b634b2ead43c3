/*
 * mrxd.h - the daemon's runtime state, shared by mrxd.c (start-up, loop,
 * group commit, signals) and api.c (the HTTP/JSON API).
 *
 * Threads: one libuv loop thread owns everything here: the engine, the
 * store, the HTTP server. Signature checks run on libuv's thread pool with
 * keys the engine designated (immutable while the trust store lives) and
 * come back to the loop in the after-work callback.
 *
 * Group commit: every action of the engine that must be durable is written
 * into the one open store transaction; the replies that depend on it wait
 * in `pending` and are sent only after the commit at the end of the loop
 * turn (a uv_check handle) returned; while signature checks are on the
 * pool, up to NODE_COMMIT_HOLD_NS after the transaction opened, the commit
 * waits for their decisions to join it.
 */
#ifndef NODE_MRXD_H
#define NODE_MRXD_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "engine.h"
#include "http.h"
#include "node_conf.h"
#include "store.h"

#define NODE_PENDING_MAX 65536	/* replies waiting for one commit */
#define NODE_TOKEN_MAX 158	/* admin token characters */
#define NODE_WAITERS_MAX 256	/* long-polls on /v1/alerts */
#define NODE_ALERT_WAIT_MAX_S 60
#define NODE_VERIFY_INFLIGHT_MAX 4096
#define NODE_COMMIT_HOLD_NS 2000000	/* see hold_commit() in mrxd.c */
#define NODE_LAT_BUCKETS 12

/* A reply that waits for the commit holding its effect to be durable. */
struct node_pending {
	uint64_t cseq;		/* that commit's number; 0: the open one */
	struct http_exchange *x;
	int status;
	char *body;		/* malloc'd JSON */
	size_t len;
};

/* A long-poll on /v1/alerts. */
struct node_waiter {
	struct http_exchange *x;
	uint64_t since;
	uint64_t deadline_ms;	/* loop time */
	bool used;
};

/* A status list whose allocation changed in this transaction: written
 * once at commit instead of once per issuance. */
struct node_dirty_list {
	struct eng_persist_list l;	/* latest; pointers are engine-owned */
};

struct node {
	struct node_conf conf;
	uv_loop_t *loop;
	struct cry_key *key;		/* signing key */
	uint8_t token_hash[32];		/* the admin token's SHA-256 */
	struct engine *eng;
	struct store *store;
	struct http_server *http;
	struct eng_actions *acts;	/* scratch for one event */
	struct node_fed *fedn;		/* federation (fednode.c), or NULL */
	bool txn_open;
	uint64_t txn_opened_ns;		/* uv_hrtime() at its store_begin */
	bool alerts_in_txn;		/* wake long-polls after commit */
	/* durability: commits numbered from 1; replies and sends wait until
	 * `durable` reaches their commit (syncer.h) */
	uint64_t commits;		/* the last commit's number */
	uint64_t durable;		/* commits up to here are on disk */
	uint64_t alerts_cseq;		/* wake long-polls when durable */
	struct node_syncer *syncer;	/* NULL: commits sync themselves */
	struct node_syncer *syncer_unused; /* started, then not used */
	bool sync_failed;		/* fatal: nothing is acknowledged */
	struct node_dirty_list dirty[ENG_LISTS_MAX];
	size_t ndirty;
	struct node_pending *pending;
	size_t npending;
	struct node_waiter waiters[NODE_WAITERS_MAX];
	uint64_t alert_last;
	uv_check_t commit;
	uv_timer_t waiter_timer;
	uv_signal_t sig_term, sig_int, sig_hup;
	bool stopping;
	int exit_code;
	unsigned verify_inflight;
	/* metrics */
	uint64_t http_requests;
	uint64_t commit_failures;
	uint64_t commits_full;		/* of those: the disk was full */
	uint64_t lat_count;
	double lat_sum_s;
	uint64_t lat_bucket[NODE_LAT_BUCKETS];	/* cumulative counts */
	uint64_t records_at_start[PROTO_REC_KEY_REVOCATION + 1];
	int64_t started_at;
};

extern const double node_lat_bounds[NODE_LAT_BUCKETS];

/* The HTTP handler (api.c). */
void api_handle(void *ctx, struct http_exchange *x,
    const struct http_request *req);

/* Answers long-polls that have news or timed out (api.c). */
void api_wake_waiters(struct node *n, bool timeouts_only);

/*
 * Carries out the engine's actions of one event (mrxd.c): durable ones
 * into the open transaction. Returns 0 or an MRX_E* code after which the
 * caller answers with node_respond_unstored() (the transaction is already
 * rolled back and the engine resynchronised).
 */
int node_apply(struct node *n, const struct eng_actions *acts);

/*
 * Answers a request whose change could not be stored (rc from node_apply,
 * node_apply_begin or a failed commit): 507 "storage-full" when the disk
 * holding the store is full (MRX_ENOSPC), else 503 "store-unavailable";
 * either way nothing was changed and the client may retry.
 */
void node_respond_unstored(struct http_exchange *x, int rc);

/* Opens the turn's transaction if none is open (for writes that are not
 * engine actions); 0 or an MRX_E* code. */
int node_apply_begin(struct node *n);

/* Whether the request carries "Authorization: Bearer <admin token>"
 * (api.c; compared as SHA-256 digests in constant time). */
bool node_authorized(const struct node *n, const struct http_request *req);

/* True while a commit of this node is not yet durable (or a transaction
 * is open): what depends on the store's state must wait (fednode.c). */
bool node_undurable(const struct node *n);

/* Queues a reply behind the current transaction (or, with none open,
 * behind the last commit) until that commit is durable, or sends it at
 * once if nothing waits for the disk. Takes ownership of `body`. */
void node_reply_after_commit(struct node *n, struct http_exchange *x,
    int status, char *body, size_t len);

/* The wall clock in NumericDate seconds, and random bytes for an event. */
int64_t node_now(void);
void node_event_init(struct eng_event *ev, enum eng_ev_type type);

/* Records one decision latency for /metrics. */
void node_observe_latency(struct node *n, double seconds);

#endif
