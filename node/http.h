/*
 * http.h - a small HTTP/1.1 server on the libuv loop, for the node's API
 * and /metrics. Parsing is Debian's libhttp-parser; everything runs on the
 * loop thread, so handlers may touch the engine and the store directly.
 *
 * One request at a time per connection (keep-alive; pipelined requests
 * wait their turn). The handler may answer at once or later (long-poll, a
 * group commit, a thread-pool verification): it keeps the exchange and
 * calls http_respond() exactly once. If the client went away meanwhile,
 * http_respond() just releases the exchange.
 *
 * Limits, each a tested path: connections (503 and close beyond it),
 * request head bytes (431), body bytes (413, the connection is closed
 * without reading the rest), a read timeout for a request that trickles in
 * (408 and close), an idle timeout between keep-alive requests (close),
 * malformed requests (400 and close). None of them blocks other clients.
 *
 * libuv writes with write(2): the process must ignore SIGPIPE, or a client
 * that resets its connection under an answer kills it.
 */
#ifndef NODE_HTTP_H
#define NODE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define HTTP_BODY_MAX_DEFAULT (1u << 20)	/* 1 MiB */
#define HTTP_HEAD_MAX_DEFAULT (16u << 10)	/* 16 KiB */
#define HTTP_CONNS_MAX_DEFAULT 1024
#define HTTP_READ_TIMEOUT_MS_DEFAULT 10000
#define HTTP_IDLE_TIMEOUT_MS_DEFAULT 60000

struct http_limits {
	size_t body_max;
	size_t head_max;
	size_t conns_max;
	uint64_t read_timeout_ms;	/* from first byte to complete request */
	uint64_t idle_timeout_ms;	/* between requests on one connection */
};

void http_limits_default(struct http_limits *l);

/* A parsed request; valid until http_respond() on its exchange. */
struct http_request {
	const char *method;		/* "GET", "POST", ... */
	const char *path;		/* "/v1/clearances/ab12", no query */
	const char *query;		/* after '?', or "" */
	const char *authorization;	/* header value or NULL */
	const char *content_type;	/* header value or NULL */
	const char *accept;		/* header value or NULL */
	const uint8_t *body;		/* NUL-terminated for convenience */
	size_t body_len;
	char peer[64];			/* "127.0.0.1:53122" */
};

struct http_exchange;

typedef void (*http_handler_fn)(void *ctx, struct http_exchange *x,
    const struct http_request *req);

struct http_server;

/*
 * Listens on host:port ("127.0.0.1", 7400; port 0 picks one, see
 * http_server_port). The handler runs on the loop thread.
 *
 * `host` is an IPv4 or IPv6 literal ("::1" or "[::1]"); `lim` NULL means
 * the defaults. Returns 0 and sets *out, or a negative MRX_E* code:
 * MRX_EINVAL (host is not a literal, a limit is zero), MRX_ERANGE (port
 * outside 0..65535), MRX_ENOMEM, MRX_EIO (bind or listen failed: the
 * libuv error name and text are in the diag of http_server_start_diag).
 * On error nothing is left for the caller to free; the loop may still hold
 * a closing handle that goes away the next time it runs.
 * The server stays the caller's until http_server_stop() calls `done`.
 */
int http_server_start(uv_loop_t *loop, const char *host, int port,
    const struct http_limits *lim, http_handler_fn fn, void *ctx,
    struct http_server **out);

/*
 * http_server_start(), and on error fills `diag` (may be NULL) with what
 * failed and why, e.g. "listen on 127.0.0.1:7400: EADDRINUSE (address
 * already in use)", field "host" or "port".
 */
struct mrx_diag;
int http_server_start_diag(uv_loop_t *loop, const char *host, int port,
    const struct http_limits *lim, http_handler_fn fn, void *ctx,
    struct http_server **out, struct mrx_diag *diag);

/* The port actually bound. */
int http_server_port(const struct http_server *s);

/*
 * Number of open connections (for /metrics and tests). A connection counts
 * from accept until its handles are closed, and counts against conns_max;
 * connections turned away with 503 are not counted.
 */
size_t http_server_conns(const struct http_server *s);

/*
 * Answers an exchange: status, content type, body (copied), and optional
 * extra header lines ("Name: value\r\n" each, may be NULL). Exactly once
 * per exchange, on the loop thread.
 * `status` is 200..599; `content_type` may be NULL (no Content-Type line).
 * 204 and 304 carry neither Content-Length nor body; an answer to HEAD
 * carries Content-Length and no body. The server adds Connection: close
 * when the connection ends after this answer. `body` may point into the
 * request (an echo): it is copied before the request is released. A client
 * that does not take its answer within idle_timeout_ms is disconnected; if
 * the answer cannot be built (out of memory) the connection is closed.
 */
void http_respond(struct http_exchange *x, int status,
    const char *content_type, const void *body, size_t len,
    const char *extra_headers);

/* The request of an exchange (valid until it is answered). */
const struct http_request *http_exchange_request(const struct http_exchange *x);

/*
 * True if the client has gone away (its answer would be dropped). The
 * connection goes on reading while a request is handled (what arrives is
 * buffered, not parsed), so this reports what was seen: the client closed
 * or reset its side and sent nothing more (a client that only shut down its
 * sending side after the request counts as gone too). While the read
 * buffer is full of pipelined requests nothing is read, and this is false.
 */
bool http_exchange_gone(const struct http_exchange *x);

/*
 * Stops listening and closes idle connections; connections with a request
 * in progress are closed once it is answered. `done` runs when every
 * handle is closed. Pending exchanges must still be answered.
 * `done` runs from a libuv callback, never from inside this call, and the
 * server has been freed by then: `s` must not be used after this call
 * except to answer its pending exchanges. Call it at most once; `done` may
 * be NULL.
 */
void http_server_stop(struct http_server *s, void (*done)(void *), void *arg);

#endif
