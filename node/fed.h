/*
 * fed.h - the node's nng sockets: the one wrapper that owns nng.
 *
 * Sockets (docs/federation.md): a pub socket that listens for this node's
 * subscribers (its feed), one sub socket that dials the feeds of the peers
 * that have one, a rep socket that listens for peers' requests, one req
 * socket per peer that takes requests, a respondent socket that listens
 * for look-up surveys and a surveyor socket that dials the peers'
 * respondents. Transports are tls+tcp:// with mutual TLS (every dialer and
 * listener demands a certificate that chains to the configured CA bundle,
 * and dialers check that the server's certificate names the peer's node
 * id as a DNS name), tcp:// and
 * ipc://. Every dialer backs off from 100 ms to 5 s between attempts.
 *
 * Only bytes cross this layer: what a message means (envelopes, ACLs,
 * replay, the engine) is the caller's, on the loop thread.
 *
 * Threads: nng runs its callbacks on its own threads; they only move a
 * message onto the inbox (a mutex-protected queue) and wake the loop with
 * uv_async_send. The deliver callback runs on the loop thread. Every other
 * function is called on the loop thread.
 */
#ifndef NODE_FED_H
#define NODE_FED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "mrx_err.h"
#include "node_conf.h"

#define FED_REP_CONTEXTS 64	/* peers' requests being answered at once */
#define FED_OUT_MAX 1024	/* this node's requests in flight */
#define FED_SURVEYS_MAX 16	/* look-up surveys in flight */
#define FED_INBOX_MAX 65536	/* messages waiting for the loop; beyond:
				 * dropped and counted */
#define FED_RECONNECT_MIN_MS 100
#define FED_RECONNECT_MAX_MS 5000
#define FED_SURVEY_MS 1000	/* how long a survey collects answers */

enum fed_in_kind {
	FED_IN_FEED = 1,	/* a message from a subscribed feed */
	FED_IN_REQUEST,		/* a peer's request: answer fed_reply(token) */
	FED_IN_RESPONSE,	/* the answer to fed_request(cookie) */
	FED_IN_SURVEY,		/* a look-up survey: fed_respond(token) */
	FED_IN_SURVEY_ANSWER,	/* one answer to fed_survey(cookie) */
	FED_IN_DONE,		/* fed_request / fed_survey (cookie) ended:
				 * err 0 after a survey's time, else the nng
				 * error (timeout, refused, closed) */
};

/* A message for the loop; `bytes` is malloc'd and the callee's to free. */
struct fed_msg {
	enum fed_in_kind kind;
	uint8_t *bytes;
	size_t len;
	uint64_t token;		/* REQUEST, SURVEY: the context to answer */
	uint64_t cookie;	/* RESPONSE, SURVEY_ANSWER, DONE */
	int err;		/* DONE: 0 or an nng error number */
	char peer[PROTO_ID_MAX + 1]; /* RESPONSE, DONE: the peer asked */
	struct fed_msg *next;
};

/* Called on the loop thread; takes ownership of `m` (free with fed_msg_free). */
typedef void (*fed_deliver_fn)(void *ctx, struct fed_msg *m);

void fed_msg_free(struct fed_msg *m);

struct fed;

/*
 * Opens the sockets `c` asks for (c->fed: listen, publish, survey, peers'
 * feed, requests and survey URLs), with TLS from c->fed's files for every
 * tls+tcp:// URL. Listeners start at once (an address in use is an error);
 * dialers start in the background and keep redialling with backoff.
 * MRX_EINVAL / MRX_EIO / MRX_ECRYPTO with diag naming the key
 * ("federation.listen", "federation.tls.cert", "federation.peers[2].feed")
 * and nng's reason.
 */
int fed_start(uv_loop_t *loop, const struct node_conf *c, fed_deliver_fn fn,
    void *ctx, struct fed **out, struct mrx_diag *diag);

/*
 * Closes every socket, waits for nng's callbacks, drops the inbox. A burst
 * just published gets up to 200 ms to leave first. Returns false when nng
 * did not finish closing within 5 s (a hang of nng 1.5.2): the sockets are
 * then left to a thread of their own and `f` is never freed.
 */
bool fed_stop(struct fed *f);

/* Puts `b` on the pub socket (for every subscriber); never blocks. */
int fed_publish(struct fed *f, const uint8_t *b, size_t len);

/*
 * Sends `b` to peer `peer`'s rep socket; the answer comes back as
 * FED_IN_RESPONSE with `cookie`, or FED_IN_DONE with an error (no answer
 * within timeout_ms, or the peer has no requests URL: MRX_ENOENT at once).
 * MRX_ENOSPC when FED_OUT_MAX are in flight.
 */
int fed_request(struct fed *f, const char *peer, const uint8_t *b,
    size_t len, uint64_t cookie, int timeout_ms);

/* Answers the request `token` with `b`; b NULL drops it unanswered. */
int fed_reply(struct fed *f, uint64_t token, const uint8_t *b, size_t len);

/*
 * Surveys every peer with a survey URL; answers arrive as
 * FED_IN_SURVEY_ANSWER (cookie) until FED_SURVEY_MS, then FED_IN_DONE.
 */
int fed_survey(struct fed *f, const uint8_t *b, size_t len, uint64_t cookie);

/* Answers the survey `token`; b NULL: no answer. */
int fed_respond(struct fed *f, uint64_t token, const uint8_t *b, size_t len);

struct fed_stats {
	uint64_t in_feed, in_requests, in_responses, in_surveys;
	uint64_t inbox_dropped;		/* the loop fell behind */
	uint64_t published, requests, request_failures, replies;
	uint64_t recv_errors;		/* nng receive errors */
	size_t out_inflight;
};
void fed_stats_get(struct fed *f, struct fed_stats *out);

#endif
