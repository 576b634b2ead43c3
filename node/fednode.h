/*
 * fednode.h - federation on the loop thread: what a node does with the
 * messages nng brings (fed.h) and with the engine's federation actions.
 *
 * In: every message is a signed envelope (envelope.h), opened, checked
 * against the peer table (sender, key, signature, addressing, ACL) and
 * admitted (time window, replay, rate) before its body is looked at;
 * refusals are counted by reason (/metrics) and logged without content.
 * Feed records go to the engine (status lists, deltas, checkpoints) or the
 * trust store (delegations, key revocations, agreements); what was taken
 * is stored (to restore at start-up and to serve catch-ups as a relay) and
 * relayed to this node's own subscribers when it came from a peer marked
 * `relay`. Requests (catch-up, fetch, present, confirm) and look-up
 * surveys are answered; answers that depend on a durable effect wait for
 * the commit.
 *
 * Out: the engine's PUBLISH records go on the pub socket once the
 * transaction holding them has committed; CATCHUP actions become a
 * catch-up request to the issuer, or to the peer the feed came through.
 */
#ifndef NODE_FEDNODE_H
#define NODE_FEDNODE_H

#include <stdbool.h>

#include "engine.h"
#include "http.h"

struct node;

/* Start-up (after the engine exists and the loop is set): the peer table,
 * the sockets, the checkpoint timer. 0 or an exit code (2). A node whose
 * configuration has no federation section starts none of it. */
int node_fed_start(struct node *n);

/* Stop: closes the sockets (pending exchanges get 503). */
void node_fed_stop(struct node *n);

/* Free what node_fed_start made (after the loop ended). */
void node_fed_free(struct node *n);

/*
 * Restores the engine from the store's federation tables: trust records
 * learned at run time, then every stored feed (lists, deltas) replayed as
 * FEED_RECORD events. Called from make_engine before watches are restored,
 * so the replay raises no alerts. 0 or an MRX_E* code.
 */
int node_fed_restore(struct node *n, struct engine *e);

/* Engine actions (mrxd.c's apply_one). */
int node_fed_on_publish(struct node *n, const struct eng_publish *p);
void node_fed_on_catchup(struct node *n, const struct eng_catchup *c);

/*
 * After the turn's transaction: what waited for it now waits for commit
 * number `cseq` to be durable, or, cseq 0 (the commit failed), is dropped
 * (a request gets an empty reply).
 */
void node_fed_committed(struct node *n, uint64_t cseq);

/* Commits up to `upto` are durable: send what waited for them; !ok:
 * durability was lost, drop everything that waits. */
void node_fed_durable(struct node *n, uint64_t upto, bool ok);

/*
 * Before a decision on `rec` (and `op`, may be NULL): when either is
 * signed by a key its root has since declared compromised
 * (proto_trust_needs_log()), asks its issuer's node whether its log holds
 * these very bytes (a fetch request by record id), and calls `fn` on the
 * loop with the answers (PROTO_LOG_UNCHECKED when the issuer is not a peer
 * that takes requests, or did not answer in time). Returns true when it
 * asked (fn comes later), false when there is nothing to ask (fn is not
 * called). The bytes must stay alive until fn.
 */
typedef void (*node_fed_log_fn)(void *arg, enum proto_log_check rec_log,
    enum proto_log_check op_log);
bool node_fed_check_logs(struct node *n, const uint8_t *rec, size_t rl,
    const uint8_t *op, size_t ol, node_fed_log_fn fn, void *arg);

/* True when this request path belongs to the federation API (api.c). */
bool node_fed_route(struct node *n, struct http_exchange *x,
    const struct http_request *req);

/* Appends the federation metrics (Prometheus text) to `b` (cap bytes);
 * returns the bytes written. */
size_t node_fed_metrics(struct node *n, char *b, size_t cap);

#endif
