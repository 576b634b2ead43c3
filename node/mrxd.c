/*
 * mrxd.c - the mrx node daemon: start-up, the libuv loop, the group
 * commit, signals.
 *
 * Start-up reads DATA/mrx.yaml, the signing key (refused if group/other
 * can read it), the admin token, the trust material the configuration
 * lists (a record that fails its checks stops the start: fail closed), the
 * store, and restores the engine's status lists and watches from it.
 *
 * Invariant of the group commit: a reply (or a message to a peer) that
 * depends on a durable effect is sent only after the transaction holding
 * that effect committed and reached the disk. Each loop turn's actions go
 * into one transaction, committed at the end of the turn (uv_check) on the
 * loop thread with synchronous=FULL, so the commit is durable when it
 * returns. With MRX_SYNC_THREAD=1 the commit only writes the WAL and the
 * syncer's thread (syncer.h) makes it durable with one fdatasync for every
 * commit written before it, while the loop goes on (the next turns join
 * one open transaction until that sync ends). Either way replies wait in
 * `pending` tagged with their commit's number and leave, in order, when
 * that number is durable (on_durable). If a commit fails
 * (disk full, I/O error), its transaction is rolled back, the requests
 * waiting on it get 507 (disk full) or 503, and the engine is rebuilt from
 * the store, so memory never runs ahead of disk; if a sync fails, nothing
 * more is acknowledged and the node stops (exit 1).
 *
 * SIGTERM/SIGINT: stop accepting, answer what is in flight, commit, close
 * the store, exit 0. SIGHUP: re-read the trust chain files listed in the
 * configuration and add what is new (a changed root needs a restart).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fednode.h"
#include "log.h"
#include "mrxd.h"
#include "syncer.h"

const double node_lat_bounds[NODE_LAT_BUCKETS] = { 0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0 };

static const char mrxd_usage[] =
    "usage: mrxd --data DIR [--config FILE] [--log-level LEVEL]\n"
    "\n"
    "Runs an mrx node in the foreground: the HTTP/JSON API on the address\n"
    "of DIR/mrx.yaml (api.listen), the store in DIR/mrx.db. Create DIR with\n"
    "'mrx init'. Logs one line per event to standard error.\n"
    "\n"
    "  --data DIR          the node's data directory\n"
    "  --config FILE       another configuration file (default DIR/mrx.yaml)\n"
    "  --log-level LEVEL   error, warn, info (default) or debug\n"
    "\n"
    "Signals: TERM/INT drain and exit 0; HUP reloads the trust chain.\n";

int64_t
node_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

void
node_event_init(struct eng_event *ev, enum eng_ev_type type)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->now = node_now();
	if (cry_random(ev->rnd, sizeof(ev->rnd)) != 0)
		abort(); /* no entropy: nothing safe can be issued */
}

void
node_observe_latency(struct node *n, double s)
{
	int i;

	n->lat_count++;
	n->lat_sum_s += s;
	for (i = 0; i < NODE_LAT_BUCKETS; i++)
		if (s <= node_lat_bounds[i])
			n->lat_bucket[i]++;
}

static int
txn_begin(struct node *n)
{
	struct mrx_diag d;
	char buf[400];
	int rc;

	if (n->txn_open)
		return 0;
	mrx_diag_clear(&d);
	rc = store_begin(n->store, &d);
	if (rc != 0) {
		log_msg(LOG_ERROR, "store", "cannot begin a transaction: %s",
		    mrx_diag_str(&d, buf, sizeof(buf)));
		return rc;
	}
	n->txn_open = true;
	n->txn_opened_ns = uv_hrtime();
	return 0;
}

int
node_apply_begin(struct node *n)
{
	return txn_begin(n);
}

static int
restore_list(void *ctx, const struct proto_status_list *sl,
    const uint8_t *alloc, uint32_t nalloc)
{
	return eng_restore_list(ctx, sl, alloc, nalloc, NULL);
}

static int
restore_watch(void *ctx, const char *issuer, const char *uri, uint32_t idx,
    const uint8_t cti[PROTO_CTI_LEN])
{
	return eng_restore_watch(ctx, issuer, uri, idx, cti);
}

/* Reads one trust file into the store; returns 0 or an exit code. */
static int
trust_add_file(struct proto_trust *t, const char *path, int64_t skew,
    bool quiet)
{
	uint8_t *buf;
	struct mrx_diag d;
	size_t len;
	FILE *f;
	int rc;

	f = fopen(path, "rb");
	if (f == NULL) {
		log_msg(LOG_ERROR, "trust", "cannot open %s: %s", path,
		    strerror(errno));
		return 2;
	}
	buf = malloc(PROTO_STATUS_LIST_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		return 2;
	}
	len = fread(buf, 1, PROTO_STATUS_LIST_MAX + 1, f);
	fclose(f);
	mrx_diag_clear(&d);
	rc = len > PROTO_STATUS_LIST_MAX ? MRX_ETOOBIG :
	    proto_trust_add(t, buf, len, node_now(), skew, &d);
	free(buf);
	if (rc != 0 && quiet)
		return 1;
	if (rc != 0) {
		log_msg(LOG_ERROR, "trust", "%s refused (%s): %s", path,
		    d.field[0] ? d.field : mrx_errname(rc),
		    d.msg[0] ? d.msg : mrx_strerror(rc));
		return 1;
	}
	return 0;
}

/* The trust store from the configuration: roots, then the chain. */
static int
build_trust(const struct node_conf *c, struct proto_trust **out)
{
	struct proto_trust *t = proto_trust_new();
	struct cry_key *k;
	struct mrx_diag d;
	char b[400];
	size_t i;
	int pass, rc;

	if (t == NULL)
		return 2;
	for (i = 0; i < c->nroots; i++) {
		mrx_diag_clear(&d);
		if (cry_key_load(c->roots[i].key_path, &k, &d) != 0 ||
		    proto_trust_add_root(t, c->roots[i].id, k, &d) != 0) {
			log_msg(LOG_ERROR, "trust", "root %s: %s", c->roots[i].id,
			    mrx_diag_str(&d, b, sizeof(b)));
			proto_trust_free(t);
			return 2;
		}
	}
	/* delegations and revocations may come in any order in the file
	 * list: two passes let each find what it builds on */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < c->nchain; i++) {
			rc = trust_add_file(t, c->chain[i], c->clock_skew_s,
			    pass == 0);
			if (rc == 2 || (rc != 0 && pass == 1)) {
				proto_trust_free(t);
				return 2;
			}
		}
	*out = t;
	return 0;
}

static int
make_engine(struct node *n)
{
	struct eng_config ec;
	struct proto_trust *t;
	struct mrx_diag d;
	char b[400];
	int rc;

	rc = build_trust(&n->conf, &t);
	if (rc != 0)
		return rc;
	memset(&ec, 0, sizeof(ec));
	ec.role = n->conf.role;
	snprintf(ec.id, sizeof(ec.id), "%s", n->conf.id);
	snprintf(ec.jurisdiction, sizeof(ec.jurisdiction), "%s",
	    n->conf.jurisdiction);
	ec.key = n->key;
	proto_policy_default(&ec.policy);
	ec.policy.skew_s = n->conf.clock_skew_s;
	ec.policy.max_status_age_s = n->conf.max_status_age_s;
	ec.policy.require_operator_cert = n->conf.require_operator_cert;
	ec.status_list_size = n->conf.status_list_size;
	ec.watches_max = n->conf.watches_max;
	ec.checkpoint_interval_s = n->conf.fed.publish[0] != '\0' ?
	    n->conf.fed.checkpoint_interval_s : 0;
	mrx_diag_clear(&d);
	if (eng_new(&ec, t, &n->eng, &d) != 0) {
		proto_trust_free(t);
		log_msg(LOG_ERROR, "engine", "%s",
		    mrx_diag_str(&d, b, sizeof(b)));
		return 2;
	}
	mrx_diag_clear(&d);
	if (store_load_lists(n->store, restore_list, n->eng, &d) != 0 ||
	    node_fed_restore(n, n->eng) != 0 ||
	    store_load_watches(n->store, restore_watch, n->eng, &d) != 0) {
		log_msg(LOG_ERROR, "store", "cannot restore state: %s",
		    mrx_diag_str(&d, b, sizeof(b)));
		eng_free(n->eng);
		n->eng = NULL;
		return 2;
	}
	return 0;
}

/* After a failed commit: the engine ran ahead of the disk; rebuild it. */
static void
resync_engine(struct node *n)
{
	eng_free(n->eng);
	n->eng = NULL;
	if (make_engine(n) != 0) {
		log_msg(LOG_ERROR, "engine", "cannot rebuild the engine from "
		    "the store; stopping");
		n->exit_code = 1;
		uv_stop(n->loop);
		return;
	}
	log_msg(LOG_WARN, "engine", "rebuilt from the store after a failed "
	    "commit");
}

/*
 * An allocation-only list change (every issuance makes one) is kept and
 * written once before the commit: the list's bits and bitmap are the
 * engine's own memory and stay valid, so the last action per list wins.
 */
static int
defer_list(struct node *n, const struct eng_persist_list *l)
{
	size_t i;

	for (i = 0; i < n->ndirty; i++)
		if (n->dirty[i].l.sl == l->sl) {
			n->dirty[i].l = *l;
			return 0;
		}
	if (n->ndirty == ENG_LISTS_MAX)
		return store_put_list(n->store, l, NULL);
	n->dirty[n->ndirty++].l = *l;
	return 0;
}

/* A full write of the list supersedes its deferred copy. */
static void
undefer_list(struct node *n, const struct proto_status_list *sl)
{
	size_t i;

	for (i = 0; i < n->ndirty; i++)
		if (n->dirty[i].l.sl == sl) {
			n->dirty[i] = n->dirty[--n->ndirty];
			return;
		}
}

static int
flush_lists(struct node *n, struct mrx_diag *d)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n->ndirty && rc == 0; i++)
		rc = store_put_list(n->store, &n->dirty[i].l, d);
	n->ndirty = 0;
	return rc;
}

void
node_respond_unstored(struct http_exchange *x, int rc)
{
	static const char unavailable[] = "{\"error\":{\"code\":\"store-"
	    "unavailable\",\"message\":\"the change could not be stored "
	    "durably; nothing was changed\",\"field\":null}}";
	static const char full[] = "{\"error\":{\"code\":\"storage-full\","
	    "\"message\":\"the disk holding the store is full; nothing was "
	    "changed; retry when space is freed\",\"field\":null}}";

	if (rc == MRX_ENOSPC)
		http_respond(x, 507, "application/json", full,
		    sizeof(full) - 1, NULL);
	else
		http_respond(x, 503, "application/json", unavailable,
		    sizeof(unavailable) - 1, NULL);
}

static void begin_stop(struct node *n, const char *why);
static int commit_turn(struct node *n);

/* Sends (rc 0) or refuses (rc: why) pending[from ..]; drops them. */
static void
answer_pending(struct node *n, size_t from, int rc)
{
	size_t i;

	for (i = from; i < n->npending; i++) {
		struct node_pending *p = &n->pending[i];

		if (rc == 0)
			http_respond(p->x, p->status, "application/json",
			    p->body, p->len, NULL);
		else
			node_respond_unstored(p->x, rc);
		free(p->body);
	}
	n->npending = from;
}

/* The first pending reply of the open transaction (cseq 0: the tail). */
static size_t
open_pending(const struct node *n)
{
	size_t i = n->npending;

	while (i > 0 && n->pending[i - 1].cseq == 0)
		i--;
	return i;
}

/*
 * Whether the turn's commit waits. While signature checks are on the pool,
 * each one that ends brings a loop turn and a decision to audit, so the
 * commit can take those decisions too: a busy node writes and syncs once
 * per NODE_COMMIT_HOLD_NS (2 ms) instead of once per handful of decisions,
 * which halves the commit's share of the loop's time on cold verification
 * and the pages the WAL and the checkpoint write. An idle pool, a stop or
 * an older transaction commits at once; no timer is needed, since every
 * check in flight ends in a turn that asks again.
 */
static bool
hold_commit(const struct node *n)
{
	return n->txn_open && n->verify_inflight > 0 && !n->stopping &&
	    !n->sync_failed &&
	    uv_hrtime() - n->txn_opened_ns < NODE_COMMIT_HOLD_NS;
}

/*
 * Commits up to `upto` are durable (or, err != 0, syncing failed): send the
 * replies and messages that waited for them. Called by the syncer on the
 * loop thread, and directly when commits sync themselves.
 */
static void
on_durable(void *arg, uint64_t upto, int err, const char *msg)
{
	struct node *n = arg;
	size_t k;

	if (err != 0) {
		if (n->sync_failed)
			return;
		n->sync_failed = true;
		n->commit_failures++;
		log_msg(LOG_ERROR, "store", "cannot make commits durable, so "
		    "%zu waiting replies are answered 503 and the node stops "
		    "(restart it to recover from what is on disk): %s",
		    n->npending, msg);
		answer_pending(n, 0, MRX_EIO);
		node_fed_durable(n, UINT64_MAX, false);
		n->exit_code = 1;
		begin_stop(n, "durability lost");
		return;
	}
	if (upto > n->durable)
		n->durable = upto;
	for (k = 0; k < n->npending && n->pending[k].cseq != 0 &&
	    n->pending[k].cseq <= n->durable; k++) {
		struct node_pending *p = &n->pending[k];

		http_respond(p->x, p->status, "application/json", p->body,
		    p->len, NULL);
		free(p->body);
	}
	if (k > 0) {
		memmove(n->pending, n->pending + k,
		    (n->npending - k) * sizeof(*n->pending));
		n->npending -= k;
	}
	node_fed_durable(n, n->durable, true);
	if (n->alerts_cseq != 0 && n->alerts_cseq <= n->durable) {
		n->alerts_cseq = 0;
		api_wake_waiters(n, false);
	}
	/* what gathered while the sync ran (on_commit) commits now, unless
	 * checks on the pool hold it (a turn that ends one commits it) */
	if (n->syncer != NULL && n->txn_open && n->durable == n->commits &&
	    !hold_commit(n))
		(void)commit_turn(n);
}

/* The open transaction failed (rc): refuse what waited for it, rebuild. */
static void
fail_open_txn(struct node *n, int rc)
{
	n->commit_failures++;
	if (rc == MRX_ENOSPC)
		n->commits_full++;
	store_rollback(n->store);
	n->txn_open = false;
	n->ndirty = 0;
	answer_pending(n, open_pending(n), rc);
	node_fed_committed(n, 0);
	n->alerts_in_txn = false;
	resync_engine(n);
}

/*
 * Commits the turn's transaction and hands what waited for it on to the
 * syncer (or, when commits sync themselves, answers it at once); if the
 * commit fails, answers it with node_respond_unstored() after rolling back
 * and rebuilding the engine. Returns 0 or the failure's code.
 */
static int
commit_turn(struct node *n)
{
	struct mrx_diag d;
	char b[400];
	size_t i;
	int rc;

	if (!n->txn_open)
		return 0;
	mrx_diag_clear(&d);
	if (flush_lists(n, &d) != 0 || store_commit(n->store, &d) != 0) {
		rc = d.code != 0 ? d.code : MRX_EIO;
		log_msg(LOG_ERROR, "store", "commit failed; the %zu changes "
		    "waiting on it were not stored and are answered %d: %s",
		    n->npending - open_pending(n), rc == MRX_ENOSPC ? 507 : 503,
		    mrx_diag_str(&d, b, sizeof(b)));
		fail_open_txn(n, rc);
		return rc;
	}
	n->txn_open = false;
	n->commits++;
	for (i = open_pending(n); i < n->npending; i++)
		n->pending[i].cseq = n->commits;
	node_fed_committed(n, n->commits);
	if (n->alerts_in_txn) {
		n->alerts_in_txn = false;
		n->alerts_cseq = n->commits;
	}
	if (n->syncer != NULL)
		syncer_request(n->syncer, n->commits);
	else
		on_durable(n, n->commits, 0, NULL);
	return 0;
}

/* Blocks until every commit is durable and answers what waited. */
static void
wait_durable(struct node *n)
{
	if (n->syncer != NULL && !n->sync_failed && n->durable < n->commits)
		(void)syncer_wait(n->syncer, n->commits);
}

bool
node_undurable(const struct node *n)
{
	return n->txn_open || n->durable < n->commits;
}

/*
 * The end of a loop turn. While a sync is in flight the turn's changes stay
 * in the open transaction, which commits when the sync ends (on_durable):
 * one commit and one sync per sync time rather than per turn, so a busy
 * node writes big batches, as when the loop itself waited for the disk,
 * without the loop waiting.
 */
static void
on_commit(uv_check_t *h)
{
	struct node *n = h->data;

	if (n->syncer != NULL && n->durable < n->commits && !n->stopping &&
	    !n->sync_failed)
		return;
	if (hold_commit(n))
		return;
	(void)commit_turn(n);
}

void
node_reply_after_commit(struct node *n, struct http_exchange *x, int status,
    char *body, size_t len)
{
	int rc;

	if (n->sync_failed) {
		node_respond_unstored(x, MRX_EIO);
		free(body);
		return;
	}
	if (n->npending == NODE_PENDING_MAX) {
		/* too many waiting: commit and sync now to bound memory; this
		 * reply's change is in that transaction too */
		if ((rc = commit_turn(n)) != 0) {
			node_respond_unstored(x, rc);
			free(body);
			return;
		}
		wait_durable(n);
		if (n->sync_failed) {
			node_respond_unstored(x, MRX_EIO);
			free(body);
			return;
		}
	}
	if (!node_undurable(n)) {
		http_respond(x, status, "application/json", body, len, NULL);
		free(body);
		return;
	}
	n->pending[n->npending].cseq = n->txn_open ? 0 : n->commits;
	n->pending[n->npending].x = x;
	n->pending[n->npending].status = status;
	n->pending[n->npending].body = body;
	n->pending[n->npending].len = len;
	n->npending++;
}

static int
apply_one(struct node *n, const struct eng_action *a)
{
	struct mrx_diag d;
	char b[400];
	uint64_t id;
	int rc = 0;

	mrx_diag_clear(&d);
	switch (a->type) {
	case ENG_ACT_PERSIST_RECORD:
		rc = store_put_record(n->store, &a->u.rec, &d);
		break;
	case ENG_ACT_PERSIST_LIST:
		if (a->u.list.has_change) {
			undefer_list(n, a->u.list.sl);
			rc = store_put_list(n->store, &a->u.list, &d);
		} else {
			rc = defer_list(n, &a->u.list);
		}
		break;
	case ENG_ACT_PERSIST_WATCH:
		rc = store_put_watch(n->store, a->u.watch.issuer,
		    &a->u.watch.ref, a->u.watch.cti, &d);
		break;
	case ENG_ACT_AUDIT:
		rc = store_append_audit(n->store, &a->u.audit, &d);
		break;
	case ENG_ACT_PUBLISH:
		/* sent once this transaction has committed */
		(void)node_fed_on_publish(n, &a->u.pub);
		break;
	case ENG_ACT_CATCHUP:
		node_fed_on_catchup(n, &a->u.catchup);
		break;
	case ENG_ACT_PERSIST_EVIDENCE:
		rc = store_put_evidence(n->store, &a->u.evidence, node_now(),
		    &d);
		log_msg(LOG_ERROR, "feed", "equivocation by %s on %s at seq "
		    "%llu: evidence kept, the feed is distrusted",
		    a->u.evidence.issuer, a->u.evidence.uri,
		    (unsigned long long)a->u.evidence.seq);
		break;
	case ENG_ACT_ALERT:
		rc = store_put_alert(n->store, &a->u.alert, &id, &d);
		if (rc == 0 && a->u.alert.kind == ENG_ALERT_EQUIVOCATION) {
			n->alert_last = id;
			n->alerts_in_txn = true;
			log_msg(LOG_ERROR, "alert", "feed %s of %s equivocated at "
			    "seq %llu: its entries decide indeterminate",
			    a->u.alert.uri, a->u.alert.issuer,
			    (unsigned long long)a->u.alert.seq);
		} else if (rc == 0) {
			n->alert_last = id;
			n->alerts_in_txn = true;
			log_msg(LOG_WARN, "alert", "watched record %02x%02x%02x"
			    "%02x… of %s is now %s%s%s (seq %llu)",
			    a->u.alert.cti[0], a->u.alert.cti[1],
			    a->u.alert.cti[2], a->u.alert.cti[3],
			    a->u.alert.issuer,
			    proto_status_name(a->u.alert.status),
			    a->u.alert.reason ? " " : "",
			    proto_reason_name(a->u.alert.reason),
			    (unsigned long long)a->u.alert.seq);
		}
		break;
	default:
		break;
	}
	if (rc != 0)
		log_msg(LOG_ERROR, "store", "%s",
		    mrx_diag_str(&d, b, sizeof(b)));
	return rc;
}

int
node_apply(struct node *n, const struct eng_actions *acts)
{
	size_t i;
	int rc;

	for (i = 0; i < acts->n; i++) {
		if (acts->a[i].type == ENG_ACT_REPLY)
			continue;
		rc = txn_begin(n);
		if (rc == 0)
			rc = apply_one(n, &acts->a[i]);
		if (rc != 0) {
			/* what this turn did so far cannot be kept either */
			fail_open_txn(n, rc);
			return rc;
		}
	}
	return 0;
}

static void
on_closed_all(void *arg)
{
	struct node *n = arg;

	uv_close((uv_handle_t *)&n->commit, NULL);
	syncer_close(n->syncer);
	uv_close((uv_handle_t *)&n->waiter_timer, NULL);
	uv_close((uv_handle_t *)&n->sig_term, NULL);
	uv_close((uv_handle_t *)&n->sig_int, NULL);
	uv_close((uv_handle_t *)&n->sig_hup, NULL);
}

static void
begin_stop(struct node *n, const char *why)
{
	if (n->stopping)
		return;
	n->stopping = true;
	log_msg(LOG_INFO, "mrxd", "%s: draining and stopping", why);
	/* what is committed goes out before the federation stops */
	wait_durable(n);
	/* the server stops first: a long-poll answered after that ends its
	 * connection; answered before, it would go back to idle keep-alive,
	 * which the stop has already passed over, and hold the exit for the
	 * idle timeout */
	node_fed_stop(n);
	http_server_stop(n->http, on_closed_all, n);
	api_wake_waiters(n, false);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	struct node *n = h->data;
	size_t i;

	if (signum == SIGHUP) {
		int added = 0;

		for (i = 0; i < n->conf.nchain; i++)
			if (trust_add_file(eng_trust(n->eng), n->conf.chain[i],
				n->conf.clock_skew_s, false) == 0)
				added++;
		log_msg(LOG_INFO, "mrxd", "SIGHUP: trust chain re-read (%d of "
		    "%zu files accepted)", added, n->conf.nchain);
		return;
	}
	begin_stop(n, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void
on_waiter_timer(uv_timer_t *t)
{
	api_wake_waiters(t->data, true);
}

static int
read_token(struct node *n)
{
	struct stat st;
	char buf[NODE_TOKEN_MAX + 2];
	size_t len;
	int fd, rc;
	ssize_t r;

	fd = open(n->conf.token_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		log_msg(LOG_ERROR, "mrxd", "cannot read the admin token %s: %s",
		    n->conf.token_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 2;
	}
	if ((st.st_mode & 077) != 0) {
		log_msg(LOG_ERROR, "mrxd", "admin token %s is readable by group "
		    "or others (mode %03o); chmod 600 it", n->conf.token_path,
		    (unsigned)(st.st_mode & 0777));
		close(fd);
		return 2;
	}
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0) {
		log_msg(LOG_ERROR, "mrxd", "admin token %s is empty",
		    n->conf.token_path);
		return 2;
	}
	len = (size_t)r;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' '))
		len--;
	if (len < 16) {
		explicit_bzero(buf, sizeof(buf));
		log_msg(LOG_ERROR, "mrxd", "admin token %s is shorter than 16 "
		    "characters", n->conf.token_path);
		return 2;
	}
	if (len > NODE_TOKEN_MAX) {
		explicit_bzero(buf, sizeof(buf));
		log_msg(LOG_ERROR, "mrxd", "admin token %s is longer than %d "
		    "characters", n->conf.token_path, NODE_TOKEN_MAX);
		return 2;
	}
	/* only its digest is kept */
	rc = cry_sha256(buf, len, n->token_hash);
	explicit_bzero(buf, sizeof(buf));
	return rc != 0 ? 2 : 0;
}

/*
 * By default every commit syncs itself on the loop thread
 * (synchronous=FULL). MRX_SYNC_THREAD=1 moves the sync to the syncer's
 * thread (syncer.h); on the 2-CPU machines measured it cost more CPU per
 * request than it saved in waiting (docs/design-notes.md), so it is not
 * the default.
 */
static void
start_syncer(struct node *n)
{
	const char *env = getenv("MRX_SYNC_THREAD");
	struct mrx_diag d;
	char b[400];

	if (env == NULL || strcmp(env, "1") != 0)
		return;
	log_msg(LOG_INFO, "store", "MRX_SYNC_THREAD=1: commits are made "
	    "durable on the syncer's thread");
	mrx_diag_clear(&d);
	if (syncer_start(n->loop, n->store, on_durable, n, &n->syncer,
	    &d) != 0 || store_sync_defer(n->store, &d) != 0) {
		log_msg(LOG_WARN, "store", "commits sync on the loop thread: %s",
		    mrx_diag_str(&d, b, sizeof(b)));
		if (n->syncer != NULL) {
			syncer_close(n->syncer);
			/* freed in finish(), after the loop ran the close */
			n->syncer_unused = n->syncer;
			n->syncer = NULL;
		}
	}
}

static int
start(struct node *n, const char *data, const char *config)
{
	struct http_limits lim;
	struct mrx_diag d;
	char b[600];
	uint64_t cnt, ms;
	int64_t from;
	int rc, t;

	mrx_diag_clear(&d);
	if (conf_node_load(data, config, &n->conf, &d) != 0) {
		/* the configuration's diag message is already file:line: key */
		fprintf(stderr, "mrxd: %s\n", d.msg[0] != '\0' ? d.msg :
		    mrx_diag_str(&d, b, sizeof(b)));
		return 2;
	}
	if (log_get_level() < 0)
		log_set_level(n->conf.log_level);
	mrx_diag_clear(&d);
	if (cry_key_load(n->conf.signing_key, &n->key, &d) != 0) {
		log_msg(LOG_ERROR, "mrxd", "%s", mrx_diag_str(&d, b, sizeof(b)));
		return 2;
	}
	if (read_token(n) != 0)
		return 2;
	mrx_diag_clear(&d);
	if (store_open(n->conf.data_dir, &n->store, &d) != 0) {
		log_msg(LOG_ERROR, "store", "%s", mrx_diag_str(&d, b, sizeof(b)));
		return 2;
	}
	if ((from = store_migrated_from(n->store, &ms)) > 0)
		log_msg(LOG_INFO, "store", "%s/%s upgraded from schema version "
		    "%" PRId64 " to %d in %" PRIu64 " ms", n->conf.data_dir,
		    STORE_FILE, from, STORE_SCHEMA_VERSION, ms);
	mrx_diag_clear(&d);
	if (store_checkpointer_start(n->store, 0, &d) != 0)
		log_msg(LOG_WARN, "store", "checkpoints stay on the commit path: "
		    "%s", mrx_diag_str(&d, b, sizeof(b)));
	n->loop = uv_default_loop();
	start_syncer(n);
	rc = make_engine(n);
	if (rc != 0)
		return rc;
	for (t = 0; t <= PROTO_REC_KEY_REVOCATION; t++)
		if (store_count_records(n->store, (enum proto_rec_type)t, &cnt,
			NULL) == 0)
			n->records_at_start[t] = cnt;
	store_alert_last(n->store, &n->alert_last, NULL);
	n->acts = malloc(sizeof(*n->acts));
	n->pending = calloc(NODE_PENDING_MAX, sizeof(*n->pending));
	if (n->acts == NULL || n->pending == NULL)
		return 2;
	uv_check_init(n->loop, &n->commit);
	n->commit.data = n;
	uv_check_start(&n->commit, on_commit);
	uv_timer_init(n->loop, &n->waiter_timer);
	n->waiter_timer.data = n;
	uv_timer_start(&n->waiter_timer, on_waiter_timer, 1000, 1000);
	uv_signal_init(n->loop, &n->sig_term);
	uv_signal_init(n->loop, &n->sig_int);
	uv_signal_init(n->loop, &n->sig_hup);
	n->sig_term.data = n->sig_int.data = n->sig_hup.data = n;
	uv_signal_start(&n->sig_term, on_signal, SIGTERM);
	uv_signal_start(&n->sig_int, on_signal, SIGINT);
	uv_signal_start(&n->sig_hup, on_signal, SIGHUP);
	http_limits_default(&lim);
	lim.body_max = n->conf.body_max;
	lim.conns_max = n->conf.conns_max;
	mrx_diag_clear(&d);
	rc = http_server_start_diag(n->loop, n->conf.api_host,
	    n->conf.api_port, &lim, api_handle, n, &n->http, &d);
	if (rc != 0) {
		log_msg(LOG_ERROR, "api", "cannot serve the API on %s:%d: %s",
		    n->conf.api_host, n->conf.api_port, d.msg[0] != '\0' ?
		    d.msg : mrx_strerror(rc));
		return 2;
	}
	if (node_fed_start(n) != 0)
		return 2;
	n->started_at = node_now();
	log_msg(LOG_INFO, "mrxd", "%s (%s, %s) listening on http://%s:%d, "
	    "data %s", n->conf.id, eng_role_name(n->conf.role),
	    n->conf.jurisdiction, n->conf.api_host,
	    http_server_port(n->http), n->conf.data_dir);
	return 0;
}

/*
 * Signature checks are the only work on libuv's thread pool, and they are
 * CPU-bound: more workers than CPUs (libuv's default is 4) only make the
 * loop thread, which every request needs, wait longer for a CPU, and fewer
 * leave CPUs of a larger machine idle. On 2 CPUs, one worker per CPU cut
 * the loop thread's run-queue wait per cold verification from 36 to 25 us
 * and raised the rate by 4% (tests/bench_node.c --profile cold). Unless
 * UV_THREADPOOL_SIZE is set, size the pool to the CPUs this process may
 * use; libuv reads the variable when the first work is queued.
 */
static void
pool_size_default(void)
{
	char b[16];

	if (getenv("UV_THREADPOOL_SIZE") != NULL)
		return;
	snprintf(b, sizeof(b), "%u", uv_available_parallelism());
	setenv("UV_THREADPOOL_SIZE", b, 0);
}

/*
 * jansson's memory is wiped when jansson frees it: its parse of a request
 * body holds a person's name, date of birth and nationality (/v1/present,
 * /v1/confirm, /v1/lookup) in its values and in its lexer's buffer, which
 * would otherwise stay in freed heap (the handlers wipe their own copies,
 * http.c the request bytes).
 */
static void
json_free_wiped(void *p)
{
	if (p != NULL) {
		explicit_bzero(p, malloc_usable_size(p));
		free(p);
	}
}

static void
finish(struct node *n)
{
	if (n->txn_open)
		(void)commit_turn(n);
	wait_durable(n);
	answer_pending(n, 0, MRX_EIO);	/* none is left unless syncing failed */
	node_fed_free(n);
	syncer_stop(n->syncer);
	syncer_stop(n->syncer_unused);
	store_close(n->store);
	eng_free(n->eng);
	cry_key_free(n->key);
	free(n->acts);
	free(n->pending);
	if (n->loop != NULL)
		uv_loop_close(n->loop);
	/* after the loop: their uv_async is closed, or the loop abandoned */
	syncer_free(n->syncer);
	syncer_free(n->syncer_unused);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct node node;
	const char *data = NULL, *config = NULL;
	int c, rc;

	log_set_level(-1);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': data = optarg; break;
		case 'c': config = optarg; break;
		case 'l':
			if (strcmp(optarg, "error") == 0)
				log_set_level(LOG_ERROR);
			else if (strcmp(optarg, "warn") == 0)
				log_set_level(LOG_WARN);
			else if (strcmp(optarg, "info") == 0)
				log_set_level(LOG_INFO);
			else if (strcmp(optarg, "debug") == 0)
				log_set_level(LOG_DEBUG);
			else {
				fprintf(stderr, "mrxd: --log-level: '%s' is "
				    "not error, warn, info or debug\n", optarg);
				return 2;
			}
			break;
		case 'h': fputs(mrxd_usage, stdout); return 0;
		default: fputs(mrxd_usage, stderr); return 2;
		}
	}
	if (data == NULL || optind != argc) {
		fputs(mrxd_usage, stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	json_set_alloc_funcs(malloc, json_free_wiped);
	pool_size_default();
	node.exit_code = 0;
	rc = start(&node, data, config);
	if (log_get_level() < 0)
		log_set_level(LOG_INFO);
	if (rc == 0) {
		uv_run(node.loop, UV_RUN_DEFAULT);
		log_msg(LOG_INFO, "mrxd", "stopped");
		rc = node.exit_code;
	}
	finish(&node);
	/*
	 * Join libuv's thread pool now, while OpenSSL is still set up: a
	 * worker's OpenSSL thread state (verify_work) is freed when the thread
	 * exits, which libuv's own exit-time destructor would otherwise do
	 * after OPENSSL_cleanup() had run, losing it (valgrind: definitely
	 * lost, ERR_set_mark under cry_verify).
	 */
	uv_library_shutdown();
	return rc;
}
