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
 */
int http_server_start(uv_loop_t *loop, const char *host, int port,
    const struct http_limits *lim, http_handler_fn fn, void *ctx,
    struct http_server **out);

/* The port actually bound. */
int http_server_port(const struct http_server *s);

/* Number of open connections (for /metrics and tests). */
size_t http_server_conns(const struct http_server *s);

/*
 * Answers an exchange: status, content type, body (copied), and optional
 * extra header lines ("Name: value\r\n" each, may be NULL). Exactly once
 * per exchange, on the loop thread.
 */
void http_respond(struct http_exchange *x, int status,
    const char *content_type, const void *body, size_t len,
    const char *extra_headers);

/* The request of an exchange (valid until it is answered). */
const struct http_request *http_exchange_request(const struct http_exchange *x);

/* True if the client has gone away (its answer would be dropped). */
bool http_exchange_gone(const struct http_exchange *x);

/*
 * Stops listening and closes idle connections; connections with a request
 * in progress are closed once it is answered. `done` runs when every
 * handle is closed. Pending exchanges must still be answered.
 */
void http_server_stop(struct http_server *s, void (*done)(void *), void *arg);

#endif
