/*
 * http.c - the node's HTTP/1.1 server on the libuv loop (see http.h).
 *
 * A connection owns two handles (its TCP stream and one timer), a fixed read
 * buffer, a request store and a response buffer. The store holds the target,
 * the three header values the API reads and the body, each NUL-terminated;
 * it and the response buffer are reused between keep-alive requests and
 * released between requests only when a large request made them grow, so a
 * keep-alive connection does not allocate per request. The exchange handed
 * to the handler is embedded in its connection.
 *
 * A connection moves through these states:
 *   IDLE     waiting for the first byte of a request (idle timer, reading);
 *   READING  a request has begun (read timer from its first byte, reading);
 *   BUSY     the handler kept the exchange past its call (reading into the
 *            buffer, not parsing);
 *   WRITING  a response the socket did not take at once is being written
 *            (write timer; reading into the buffer unless it is the last);
 *   LINGER   the last response is written and our side shut down; input is
 *            read and dropped until EOF, so closing does not reset the
 *            connection under a response the client has not read yet;
 *   CLOSING  uv_close() was called on both handles.
 *
 * Invariants: in IDLE and READING everything read is parsed at once, so the
 * read buffer is empty whenever reading is on; bytes that follow a complete
 * request (pipelining) stay in the buffer, and the parser is paused at each
 * message end so that one call never carries two requests. Nothing is
 * parsed while a request is handled: the handler runs on the loop thread,
 * and if it keeps the exchange, reading stays on (no stop and restart per
 * answer) but what arrives is only appended to the buffer, to be parsed
 * once the answer is written. The buffer is bounded: when it is full,
 * reading stops (backpressure) and resumes once the parser has emptied it.
 * The head and body limits apply when the buffered bytes are parsed. An
 * EOF with nothing left unparsed, or a read error, while the exchange is
 * pending marks the client gone (http_exchange_gone); an EOF behind
 * buffered requests only stops reading, as those are answered first. A
 * connection is BUSY exactly while its exchange is pending, and a BUSY
 * connection is never closed: the exchange stays valid until answered.
 * Handlers never run inside the parser, and an answer never runs a
 * handler: an answer given inside the handler lets the parsing loop go on,
 * a later one is finished by the write callback. Memory is freed only in
 * close callbacks; the server frees itself once its listener and every
 * connection are closed, then calls `done`.
 */
#include "http.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <http_parser.h>

#include "mrx_err.h"

#define HTTP_RBUF_BYTES       (16u << 10) /* read buffer of a connection */
#define HTTP_STORE_MIN        1024        /* first allocation of a buffer */
#define HTTP_KEEP_BYTES       (64u << 10) /* larger buffers go between requests */
#define HTTP_REJECTING_MAX    64          /* 503 answers in flight at once */
#define HTTP_LINGER_MS_MAX    2000        /* draining after the last response */
#define HTTP_LINGER_BYTES_MAX (256u << 10)
#define HTTP_BACKLOG          511
#define HTTP_HEAD_FIXED       256 /* status line and our header lines */
#define HTTP_NAME_MAX         16  /* longest header name we look for */
#define HTTP_MSG_MAX          160 /* error message text */

enum conn_state {
	CONN_IDLE,
	CONN_READING,
	CONN_BUSY,
	CONN_WRITING,
	CONN_LINGER,
	CONN_CLOSING,
};

/* Strings kept from a request head, in the order they can appear. */
enum req_str {
	STR_URL,
	STR_AUTH,
	STR_CTYPE,
	STR_ACCEPT,
	STR_EXPECT,
	STR_N,
	STR_NONE = STR_N,
};

struct str_ref {
	size_t off; /* offset in the store */
	size_t len; /* bytes, without the NUL */
	bool set;   /* seen in this request */
};

struct buf {
	char *p;
	size_t len;
	size_t cap;
};

struct http_exchange {
	struct http_conn *conn;  /* the connection it came on */
	struct http_request req; /* pointers into conn->store */
	bool pending;            /* handed to the handler, unanswered */
	bool gone;               /* the client left while it was pending */
	bool in_handler;         /* the handler call has not returned */
};

struct http_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;       /* idle, read, write or linger timeout */
	uv_write_t wr;          /* the response */
	uv_write_t wr_continue; /* "100 Continue" */
	uv_shutdown_t shut;
	struct http_server *srv;
	struct http_conn *prev, *next; /* in srv->conns */
	enum conn_state state;
	int closing;        /* close callbacks still due */
	bool reading;       /* uv_read_start is in effect */
	bool rejected;      /* turned away with 503 */
	bool close_after;   /* close once the response is written */
	bool keep_alive;    /* the request allows keep-alive */
	bool http10_ka;     /* HTTP/1.0 keep-alive: say so */
	bool is_head;       /* HEAD: headers without body */
	bool continue_busy; /* wr_continue is queued */
	http_parser parser;
	bool head_done;           /* headers of this request complete */
	size_t head_seen;         /* head bytes fed to the parser */
	enum req_str cur;         /* string being stored, or STR_NONE */
	bool in_value;            /* last header callback was a value */
	char name[HTTP_NAME_MAX]; /* current header name, if short */
	size_t name_len;          /* > HTTP_NAME_MAX: too long to matter */
	struct str_ref str[STR_N];
	size_t body_off; /* body offset in the store */
	size_t body_len;
	int fail_status; /* first error found by a callback */
	const char *fail_code;
	char fail_msg[HTTP_MSG_MAX];
	size_t linger_bytes; /* dropped while lingering */
	struct buf store;    /* strings and body of the request */
	struct buf out;      /* the response being written */
	struct http_exchange x;
	size_t rlen; /* bytes in rbuf */
	size_t roff; /* bytes of rbuf already parsed */
	char rbuf[HTTP_RBUF_BYTES];
};

struct http_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	struct http_limits lim;
	http_handler_fn fn;
	void *ctx;
	int port;
	size_t nconns;           /* served connections, see http.h */
	size_t rejecting;        /* connections being sent a 503 */
	struct http_conn *conns; /* every connection not yet freed */
	bool stopping;
	bool listener_closed;
	bool accept_stalled; /* a connection waits for memory */
	void (*done)(void *);
	void *done_arg;
};

static void conn_pump(struct http_conn *c);
static void conn_close(struct http_conn *c);
static void conn_after_write(struct http_conn *c);
static void conn_on_timer(uv_timer_t *t);
static void conn_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b);
static void conn_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b);
static void srv_accept(struct http_server *s);

/*
 * The invariants of a connection as seen from a libuv callback (not in the
 * middle of parsing); used inside assert().
 */
static bool __attribute__((unused))	/* in assert() only */
conn_check(const struct http_conn *c)
{
	if (c->roff > c->rlen || c->rlen > sizeof(c->rbuf))
		return false;
	if (c->x.pending != (c->state == CONN_BUSY))
		return false;
	if ((c->closing > 0) != (c->state == CONN_CLOSING))
		return false;
	if (c->reading && c->state == CONN_CLOSING)
		return false;
	if (c->reading && (c->state == CONN_IDLE || c->state == CONN_READING) &&
	    c->rlen != 0)
		return false;
	if (c->reading && (c->state == CONN_BUSY || c->state == CONN_WRITING) &&
	    c->rlen - c->roff == sizeof(c->rbuf))
		return false;
	return c->rejected ? c->srv->rejecting > 0 : c->srv->nconns > 0;
}

void
http_limits_default(struct http_limits *l)
{
	l->body_max = HTTP_BODY_MAX_DEFAULT;
	l->head_max = HTTP_HEAD_MAX_DEFAULT;
	l->conns_max = HTTP_CONNS_MAX_DEFAULT;
	l->read_timeout_ms = HTTP_READ_TIMEOUT_MS_DEFAULT;
	l->idle_timeout_ms = HTTP_IDLE_TIMEOUT_MS_DEFAULT;
}

/* ---- buffers ---- */

static int
buf_reserve(struct buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (need <= b->cap)
		return 0;
	cap = b->cap == 0 ? HTTP_STORE_MIN : b->cap;
	cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
	/* Jump straight to a large known size (a Content-Length body). */
	if (cap < need)
		cap = need;
	p = realloc(b->p, cap);
	if (p == NULL)
		return MRX_ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static void
buf_put(struct buf *b, const void *p, size_t n)
{
	assert(n <= b->cap - b->len);
	if (n == 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
buf_trim(struct buf *b)
{
	b->len = 0;
	if (b->cap > HTTP_KEEP_BYTES) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
}

/* ---- error bodies ---- */

/* The JSON error body; `msg` is ours, but is made safe to quote anyway. */
static size_t
err_body(char *buf, size_t cap, const char *code, const char *msg)
{
	char clean[HTTP_MSG_MAX];
	size_t i;
	int n;

	for (i = 0; msg[i] != '\0' && i < sizeof(clean) - 1; i++) {
		unsigned char ch = (unsigned char)msg[i];

		if (ch == '"' || ch == '\\' || ch < 0x20 || ch > 0x7e)
			ch = '\'';
		clean[i] = (char)ch;
	}
	clean[i] = '\0';
	n = snprintf(buf, cap,
	    "{\"error\":{\"code\":\"%s\",\"message\":\"%s\",\"field\":null}}",
	    code, clean);
	assert(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

/* ---- writing ---- */

static const char *
status_reason(int status)
{
	const char *r = http_status_str((enum http_status)status);

	return r[0] == '<' ? "Unknown" : r;
}

static void
conn_timer(struct http_conn *c, uint64_t ms)
{
	uv_timer_start(&c->timer, conn_on_timer, ms, 0);
}

static void
conn_read_stop(struct http_conn *c)
{
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
}

static void
conn_on_write(uv_write_t *w, int status)
{
	struct http_conn *c = w->data;

	assert(conn_check(c));
	if (c->state == CONN_CLOSING)
		return;
	assert(c->state == CONN_WRITING);
	if (status < 0) {
		conn_close(c);
		return;
	}
	conn_after_write(c);
	conn_pump(c);
}

/* Puts the status line, the header lines and the body in c->out. */
static int
conn_build(struct http_conn *c, int status, const char *ctype, const void *body,
    size_t len, const char *extra)
{
	bool no_body = status == 204 || status == 304;
	size_t tlen = ctype != NULL ? strlen(ctype) : 0;
	size_t elen = extra != NULL ? strlen(extra) : 0;
	char line[96];
	int n;

	assert(
	    elen == 0 || (elen >= 2 && strcmp(extra + elen - 2, "\r\n") == 0));
	assert(ctype == NULL || strpbrk(ctype, "\r\n") == NULL);
	c->out.len = 0;
	/* uv_try_write() counts in int. */
	if (tlen + elen > INT_MAX / 2 ||
	    len > (size_t)INT_MAX - HTTP_HEAD_FIXED - tlen - elen)
		return MRX_ETOOBIG;
	if (buf_reserve(&c->out, HTTP_HEAD_FIXED + tlen + elen + len) != 0)
		return MRX_ENOMEM;
	n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", status,
	    status_reason(status));
	assert(n > 0 && (size_t)n < sizeof(line));
	buf_put(&c->out, line, (size_t)n);
	if (ctype != NULL && !no_body) {
		buf_put(&c->out, "Content-Type: ", 14);
		buf_put(&c->out, ctype, tlen);
		buf_put(&c->out, "\r\n", 2);
	}
	if (!no_body) {
		n = snprintf(
		    line, sizeof(line), "Content-Length: %zu\r\n", len);
		buf_put(&c->out, line, (size_t)n);
	}
	if (c->close_after)
		buf_put(&c->out, "Connection: close\r\n", 19);
	else if (c->http10_ka)
		buf_put(&c->out, "Connection: keep-alive\r\n", 24);
	buf_put(&c->out, extra, elen);
	buf_put(&c->out, "\r\n", 2);
	if (!no_body && !c->is_head)
		buf_put(&c->out, body, len);
	return 0;
}

/*
 * Writes one response. `close` forces the end of the connection; it also
 * ends when the request did not allow keep-alive or the server is stopping.
 * With `now`, a response the socket takes whole is finished on the spot
 * (the common case: no write callback, reading never paused); without it,
 * or when the socket is full, it is finished in the write callback, which
 * also resumes parsing, so an answer never runs the handler re-entrantly.
 * A response that cannot be built (out of memory) ends the connection.
 */
static void
conn_send(struct http_conn *c, int status, const char *ctype, const void *body,
    size_t len, const char *extra, bool close, bool now)
{
	uv_buf_t b;
	int n;

	c->close_after = close || !c->keep_alive || c->srv->stopping;
	if (conn_build(c, status, ctype, body, len, extra) != 0) {
		conn_close(c);
		return;
	}
	b = uv_buf_init(c->out.p, (unsigned int)c->out.len);
	if (now) {
		n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
		if (n >= 0 && (size_t)n == b.len) {
			conn_after_write(c);
			return;
		}
		if (n < 0 && n != UV_EAGAIN) {
			conn_close(c);
			return;
		}
		if (n > 0) {
			b.base += n;
			b.len -= (size_t)n;
		}
	}
	c->state = CONN_WRITING;
	/* Input after the last response is read by the linger phase. */
	if (c->close_after)
		conn_read_stop(c);
	/* A client that does not read its answer must not hold us forever. */
	conn_timer(c, c->srv->lim.idle_timeout_ms);
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, conn_on_write) != 0)
		conn_close(c);
}

/* Answers with a JSON error and closes; the request is abandoned. */
static void
conn_fail(struct http_conn *c, int status, const char *code, const char *msg)
{
	char body[HTTP_MSG_MAX + 96];
	size_t n;

	conn_read_stop(c);
	n = err_body(body, sizeof(body), code, msg);
	conn_send(c, status, "application/json", body, n, NULL, true, true);
}

static void
conn_on_continue(uv_write_t *w, int status)
{
	struct http_conn *c = w->data;

	/* An error shows again on the response write or the next read. */
	(void)status;
	c->continue_busy = false;
}

/*
 * Tells a client that waits before sending its body to go on. The socket
 * usually takes the 25 bytes at once; if not, the rest is queued, unless a
 * previous one is still queued (pipelined requests), in which case this
 * one is skipped and the client sends its body after its own wait.
 */
static void
conn_send_continue(struct http_conn *c)
{
	static char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
	uv_buf_t b = uv_buf_init(msg, sizeof(msg) - 1);
	int n;

	if (c->continue_busy)
		return;
	n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (n >= 0 && (size_t)n == b.len)
		return;
	if (n > 0) {
		b.base += n;
		b.len -= (size_t)n;
	} else if (n != UV_EAGAIN) {
		return;
	}
	if (uv_write(&c->wr_continue, (uv_stream_t *)&c->tcp, &b, 1,
	        conn_on_continue) == 0)
		c->continue_busy = true;
}

/* ---- closing ---- */

static void
srv_maybe_done(struct http_server *s)
{
	void (*done)(void *) = s->done;
	void *arg = s->done_arg;

	if (!s->stopping || !s->listener_closed || s->conns != NULL)
		return;
	assert(s->nconns == 0 && s->rejecting == 0);
	free(s);
	if (done != NULL)
		done(arg);
}

/*
 * The request's bytes (URL, headers with the admin token, and a body that
 * may hold a person's name and date of birth) are wiped once they are no
 * longer needed: when the next request begins and when the connection
 * ends, so a core file or a later heap overread finds none of them.
 */
static void
wipe_store(struct http_conn *c)
{
	if (c->store.len > 0)
		explicit_bzero(c->store.p, c->store.len);
	c->store.len = 0;
}

static void
conn_free(struct http_conn *c)
{
	struct http_server *s = c->srv;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->rejected)
		s->rejecting--;
	else
		s->nconns--;
	wipe_store(c);
	free(c->store.p);
	free(c->out.p);
	free(c);
	if (s->accept_stalled && !s->stopping)
		srv_accept(s);
	srv_maybe_done(s);
}

static void
conn_on_close(uv_handle_t *h)
{
	struct http_conn *c = h->data;

	assert(c->closing > 0);
	if (--c->closing == 0)
		conn_free(c);
}

static void
conn_close(struct http_conn *c)
{
	if (c->state == CONN_CLOSING)
		return;
	assert(!c->x.pending);
	c->state = CONN_CLOSING;
	c->reading = false;
	c->closing = 2;
	uv_close((uv_handle_t *)&c->tcp, conn_on_close);
	uv_close((uv_handle_t *)&c->timer, conn_on_close);
}

static void
conn_on_shutdown(uv_shutdown_t *r, int status)
{
	struct http_conn *c = r->data;

	if (status < 0 && c->state == CONN_LINGER)
		conn_close(c);
}

static void
conn_read_start(struct http_conn *c)
{
	if (c->reading)
		return;
	if (uv_read_start(
	        (uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read) != 0) {
		conn_close(c);
		return;
	}
	c->reading = true;
}

/* After the last response: send FIN, drop input until EOF, then close. */
static void
conn_linger(struct http_conn *c)
{
	uint64_t ms = c->srv->lim.read_timeout_ms;

	c->state = CONN_LINGER;
	c->linger_bytes = 0;
	c->roff = c->rlen = 0;
	if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, conn_on_shutdown) !=
	    0) {
		conn_close(c);
		return;
	}
	conn_timer(c, ms < HTTP_LINGER_MS_MAX ? ms : HTTP_LINGER_MS_MAX);
	conn_read_start(c);
}

/* The response is written: close, or wait for the next request. */
static void
conn_after_write(struct http_conn *c)
{
	buf_trim(&c->out);
	if (c->close_after) {
		if (c->srv->stopping)
			conn_close(c);
		else
			conn_linger(c);
		return;
	}
	if (c->srv->stopping) {
		/* the server is draining: an answered connection is done */
		conn_close(c);
		return;
	}
	buf_trim(&c->store);
	c->state = CONN_IDLE;
	conn_timer(c, c->srv->lim.idle_timeout_ms);
}

/* ---- parsing ---- */

/* Records the first error found inside a parser callback; stops the parser. */
static int req_fail(struct http_conn *c, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
req_fail(
    struct http_conn *c, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (c->fail_status != 0)
		return -1;
	c->fail_status = status;
	c->fail_code = code;
	va_start(ap, fmt);
	vsnprintf(c->fail_msg, sizeof(c->fail_msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int
store_put(struct http_conn *c, const char *p, size_t n)
{
	if (buf_reserve(&c->store, c->store.len + n) != 0)
		return req_fail(
		    c, 503, "overloaded", "the server is out of memory");
	buf_put(&c->store, p, n);
	return 0;
}

/* Ends the string being stored (target or header value) with a NUL. */
static int
store_end_str(struct http_conn *c)
{
	struct str_ref *r;

	if (c->cur == STR_NONE)
		return 0;
	r = &c->str[c->cur];
	/* The parser drops white space before a value, not after it. */
	while (c->cur != STR_URL && r->len > 0 &&
	       (c->store.p[c->store.len - 1] == ' ' ||
	           c->store.p[c->store.len - 1] == '\t')) {
		r->len--;
		c->store.len--;
	}
	c->cur = STR_NONE;
	return store_put(c, "", 1);
}

static enum req_str
hdr_lookup(const char *name, size_t len)
{
	switch (len) {
	case 13:
		if (strncasecmp(name, "authorization", len) == 0)
			return STR_AUTH;
		break;
	case 12:
		if (strncasecmp(name, "content-type", len) == 0)
			return STR_CTYPE;
		break;
	case 6:
		if (strncasecmp(name, "accept", len) == 0)
			return STR_ACCEPT;
		if (strncasecmp(name, "expect", len) == 0)
			return STR_EXPECT;
		break;
	}
	return STR_NONE;
}

static const char *const hdr_names[STR_N] = {
    [STR_URL] = "request target",
    [STR_AUTH] = "Authorization",
    [STR_CTYPE] = "Content-Type",
    [STR_ACCEPT] = "Accept",
    [STR_EXPECT] = "Expect",
};

static int
on_message_begin(http_parser *p)
{
	struct http_conn *c = p->data;

	wipe_store(c);
	memset(c->str, 0, sizeof(c->str));
	c->str[STR_URL].set = true;
	c->cur = STR_URL;
	c->in_value = false;
	c->name_len = 0;
	c->body_off = c->body_len = 0;
	c->is_head = false;
	c->fail_status = 0;
	return 0;
}

static int
on_url(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = p->data;

	c->str[STR_URL].len += n;
	return store_put(c, at, n);
}

static int
on_header_field(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = p->data;

	/* Trailers of a chunked body are not read: they would follow it. */
	if (c->head_done)
		return 0;
	if (c->in_value || c->cur == STR_URL) {
		if (store_end_str(c) != 0)
			return -1;
		c->in_value = false;
		c->name_len = 0;
	}
	/*
	 * The lenient parser lets spaces into names; "Content-Length :" must
	 * not pass as some other header (RFC 9112, section 5.1).
	 */
	if (memchr(at, ' ', n) != NULL || memchr(at, '\t', n) != NULL)
		return req_fail(c, 400, "malformed-request",
		    "white space in a header name");
	if (c->name_len <= sizeof(c->name) &&
	    n <= sizeof(c->name) - c->name_len) {
		memcpy(c->name + c->name_len, at, n);
		c->name_len += n;
	} else {
		c->name_len = sizeof(c->name) + 1;
	}
	return 0;
}

static int
on_header_value(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = p->data;
	enum req_str h;

	if (c->head_done)
		return 0;
	if (!c->in_value) {
		c->in_value = true;
		h = STR_NONE;
		if (c->name_len <= sizeof(c->name))
			h = hdr_lookup(c->name, c->name_len);
		if (h != STR_NONE) {
			/* Two values would be ambiguous for what we read. */
			if (c->str[h].set)
				return req_fail(c, 400, "malformed-request",
				    "duplicate %s header", hdr_names[h]);
			c->str[h].set = true;
			c->str[h].off = c->store.len;
		}
		c->cur = h;
	}
	if (c->cur == STR_NONE)
		return 0;
	c->str[c->cur].len += n;
	return store_put(c, at, n);
}

static bool
expects_continue(const struct http_conn *c)
{
	const struct str_ref *e = &c->str[STR_EXPECT];

	return e->set && e->len == 12 &&
	       strncasecmp(c->store.p + e->off, "100-continue", 12) == 0;
}

static int
on_headers_complete(http_parser *p)
{
	struct http_conn *c = p->data;
	size_t body_max = c->srv->lim.body_max;
	bool has_body;

	if (store_end_str(c) != 0)
		return -1;
	c->head_done = true;
	c->is_head = p->method == HTTP_HEAD;
	if (p->http_major != 1)
		return req_fail(c, 505, "version-not-supported",
		    "HTTP/%u.%u is not supported, only HTTP/1.x",
		    (unsigned)p->http_major, (unsigned)p->http_minor);
	if (p->method == HTTP_CONNECT)
		return req_fail(
		    c, 400, "malformed-request", "CONNECT is not supported");
	has_body = (p->flags & F_CHUNKED) != 0;
	if (!has_body && p->content_length != ULLONG_MAX) {
		if (p->content_length > body_max)
			return req_fail(c, 413, "body-too-large",
			    "the request body of %llu bytes exceeds the limit "
			    "of %zu bytes",
			    (unsigned long long)p->content_length, body_max);
		/* One allocation, so the body is copied once, from rbuf. */
		if (buf_reserve(&c->store,
		        c->store.len + (size_t)p->content_length + 1) != 0)
			return req_fail(c, 503, "overloaded",
			    "the server is out of memory");
		has_body = p->content_length > 0;
	}
	c->body_off = c->store.len;
	if (has_body && expects_continue(c) && p->http_minor >= 1)
		conn_send_continue(c);
	return 0;
}

static int
on_body(http_parser *p, const char *at, size_t n)
{
	struct http_conn *c = p->data;
	size_t body_max = c->srv->lim.body_max;

	if (n > body_max - c->body_len)
		return req_fail(c, 413, "body-too-large",
		    "the request body exceeds the limit of %zu bytes",
		    body_max);
	c->body_len += n;
	return store_put(c, at, n);
}

static int
on_message_complete(http_parser *p)
{
	struct http_conn *c = p->data;

	if (store_put(c, "", 1) != 0)
		return -1;
	c->keep_alive = http_should_keep_alive(p) != 0;
	c->http10_ka =
	    c->keep_alive && p->http_major == 1 && p->http_minor == 0;
	/* Hand over one request at a time; the rest waits in rbuf. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/*
 * Splits the stored target (NUL-terminated, ours to modify) into path and
 * query. Origin form ("/a?b") is the rule; "*" and absolute form are
 * accepted as HTTP/1.1 requires.
 */
static int
req_split_target(char *url, size_t len, const char **path, const char **query)
{
	struct http_parser_url u;
	char *q, *h;

	if (url[0] == '/') {
		if ((h = memchr(url, '#', len)) != NULL) {
			*h = '\0';
			len = (size_t)(h - url);
		}
		*path = url;
		*query = url + len;
		if ((q = memchr(url, '?', len)) != NULL) {
			*q = '\0';
			*query = q + 1;
		}
		return 0;
	}
	if (strcmp(url, "*") == 0) {
		*path = url;
		*query = url + len;
		return 0;
	}
	http_parser_url_init(&u);
	if (http_parser_parse_url(url, len, 0, &u) != 0)
		return MRX_EMALFORMED;
	*query = url + len;
	if (u.field_set & (1 << UF_QUERY)) {
		*query = url + u.field_data[UF_QUERY].off;
		url[u.field_data[UF_QUERY].off + u.field_data[UF_QUERY].len] =
		    '\0';
	}
	*path = "/";
	if (u.field_set & (1 << UF_PATH)) {
		*path = url + u.field_data[UF_PATH].off;
		url[u.field_data[UF_PATH].off + u.field_data[UF_PATH].len] =
		    '\0';
	}
	return 0;
}

static const char *
req_str_get(const struct http_conn *c, enum req_str i)
{
	return c->str[i].set ? c->store.p + c->str[i].off : NULL;
}

static int
req_finish(struct http_conn *c)
{
	struct http_request *r = &c->x.req;

	r->method = http_method_str((enum http_method)c->parser.method);
	if (req_split_target(c->store.p + c->str[STR_URL].off,
	        c->str[STR_URL].len, &r->path, &r->query) != 0)
		return MRX_EMALFORMED;
	r->authorization = req_str_get(c, STR_AUTH);
	r->content_type = req_str_get(c, STR_CTYPE);
	r->accept = req_str_get(c, STR_ACCEPT);
	r->body = (const uint8_t *)c->store.p + c->body_off;
	r->body_len = c->body_len;
	return 0;
}

/*
 * A complete request: hand it to the handler. Nothing is read while the
 * handler runs; if it returns without answering, reading goes on into the
 * buffer, and nothing more is parsed until the answer is written.
 */
static void
conn_dispatch(struct http_conn *c)
{
	struct http_server *s = c->srv;
	struct http_exchange *x = &c->x;

	uv_timer_stop(&c->timer);
	c->head_done = false;
	c->head_seen = 0;
	if (req_finish(c) != 0) {
		conn_fail(
		    c, 400, "malformed-request", "malformed request target");
		return;
	}
	c->state = CONN_BUSY;
	x->pending = true;
	x->gone = false;
	x->in_handler = true;
	s->fn(s->ctx, x, &x->req);
	x->in_handler = false;
}

static void
conn_parse_error(struct http_conn *c, enum http_errno e)
{
	char msg[HTTP_MSG_MAX];

	if (c->fail_status != 0) {
		conn_fail(c, c->fail_status, c->fail_code, c->fail_msg);
		return;
	}
	if (e == HPE_HEADER_OVERFLOW) {
		snprintf(msg, sizeof(msg),
		    "the request head exceeds the limit "
		    "of %zu bytes",
		    c->srv->lim.head_max);
		conn_fail(c, 431, "header-too-large", msg);
		return;
	}
	snprintf(msg, sizeof(msg), "malformed request: %s",
	    http_errno_description(e));
	conn_fail(c, 400, "malformed-request", msg);
}

/*
 * Parses what is in rbuf. While the head is incomplete the parser is fed
 * no more than head_max bytes in total, so the head limit is exact.
 */
static void
conn_parse(struct http_conn *c)
{
	size_t head_max = c->srv->lim.head_max;
	size_t feed = c->rlen - c->roff, n;
	enum http_errno e;

	assert(feed > 0 && (c->head_done || c->head_seen < head_max));
	if (!c->head_done && feed > head_max - c->head_seen)
		feed = head_max - c->head_seen;
	n = http_parser_execute(
	    &c->parser, &parser_settings, c->rbuf + c->roff, feed);
	/* what the parser consumed lives on in the store: wipe the input */
	explicit_bzero(c->rbuf + c->roff, n);
	c->roff += n;
	if (!c->head_done)
		c->head_seen += n;
	e = HTTP_PARSER_ERRNO(&c->parser);
	if (e == HPE_PAUSED) {
		http_parser_pause(&c->parser, 0);
		conn_dispatch(c);
	} else if (e != HPE_OK) {
		conn_parse_error(c, e);
	} else if (!c->head_done && c->head_seen >= head_max) {
		conn_parse_error(c, HPE_HEADER_OVERFLOW);
	} else if (n < feed) {
		conn_parse_error(c, HPE_UNKNOWN);
	}
}

/* Parses buffered input and dispatches requests while the connection may. */
static void
conn_pump(struct http_conn *c)
{
	while (c->state == CONN_IDLE || c->state == CONN_READING) {
		if (c->roff == c->rlen) {
			c->roff = c->rlen = 0;
			conn_read_start(c);
			return;
		}
		if (c->state == CONN_IDLE) {
			c->state = CONN_READING;
			conn_timer(c, c->srv->lim.read_timeout_ms);
		}
		conn_parse(c);
	}
}

/* ---- libuv callbacks of a connection ---- */

static void
conn_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct http_conn *c = h->data;

	(void)hint;
	assert(conn_check(c));
	/* While lingering the input is dropped: reuse the whole buffer. */
	if (c->state == CONN_LINGER)
		c->rlen = 0;
	/*
	 * While answering, input waits behind what is parsed already; the
	 * request itself lives in the store, so the buffer may move.
	 */
	if (c->roff > 0 && (c->state == CONN_BUSY || c->state == CONN_WRITING)) {
		memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
		c->rlen -= c->roff;
		c->roff = 0;
	}
	*b = uv_buf_init(
	    c->rbuf + c->rlen, (unsigned int)(sizeof(c->rbuf) - c->rlen));
}

static void
conn_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct http_conn *c = st->data;

	(void)b;
	assert(conn_check(c));
	if (nread == 0 || c->state == CONN_CLOSING)
		return;
	if (c->state == CONN_BUSY || c->state == CONN_WRITING) {
		/* Buffered, parsed after the answer; see the header comment. */
		if (nread < 0) {
			conn_read_stop(c);
			if (c->state == CONN_BUSY &&
			    (nread != UV_EOF || c->roff == c->rlen))
				c->x.gone = true;
			return;
		}
		c->rlen += (size_t)nread;
		if (c->rlen == sizeof(c->rbuf))
			conn_read_stop(c);
		return;
	}
	if (nread < 0) {
		/* EOF or reset; a half-sent request is abandoned. */
		conn_close(c);
		return;
	}
	if (c->state == CONN_LINGER) {
		c->linger_bytes += (size_t)nread;
		if (c->linger_bytes > HTTP_LINGER_BYTES_MAX)
			conn_close(c);
		return;
	}
	assert(c->state == CONN_IDLE || c->state == CONN_READING);
	c->rlen += (size_t)nread;
	conn_pump(c);
}

static void
conn_on_timer(uv_timer_t *t)
{
	struct http_conn *c = t->data;
	char msg[HTTP_MSG_MAX];

	assert(conn_check(c));
	switch (c->state) {
	case CONN_READING:
		snprintf(msg, sizeof(msg),
		    "the request was not complete "
		    "within %llu ms",
		    (unsigned long long)c->srv->lim.read_timeout_ms);
		conn_fail(c, 408, "timeout", msg);
		break;
	case CONN_IDLE:
	case CONN_WRITING:
	case CONN_LINGER:
		conn_close(c);
		break;
	case CONN_BUSY:
	case CONN_CLOSING:
		break;
	}
}

/* ---- exchanges ---- */

void
http_respond(struct http_exchange *x, int status, const char *content_type,
    const void *body, size_t len, const char *extra_headers)
{
	struct http_conn *c = x->conn;

	assert(x->pending); /* answered once, and only when asked */
	assert(x->in_handler || conn_check(c));
	assert(c->state == CONN_BUSY);
	assert(status >= 200 && status <= 599);
	assert(body != NULL || len == 0);
	x->pending = false;
	/* Set only by a read, and nothing is read inside the handler. */
	if (x->gone) {
		conn_close(c);
		return;
	}
	conn_send(c, status, content_type, body, len, extra_headers, false,
	    x->in_handler);
}

const struct http_request *
http_exchange_request(const struct http_exchange *x)
{
	assert(x->pending);
	return &x->req;
}

bool
http_exchange_gone(const struct http_exchange *x)
{
	assert(x->pending);
	return x->gone;
}

/* ---- the server ---- */

static void
conn_peer_name(struct http_conn *c)
{
	struct sockaddr_storage ss;
	char ip[INET6_ADDRSTRLEN];
	char *peer = c->x.req.peer;
	size_t cap = sizeof(c->x.req.peer);
	int len = (int)sizeof(ss);

	snprintf(peer, cap, "?");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

		uv_ip4_name(a, ip, sizeof(ip));
		snprintf(peer, cap, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

		uv_ip6_name(a, ip, sizeof(ip));
		snprintf(
		    peer, cap, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
	}
}

static struct http_conn *
conn_new(struct http_server *s)
{
	struct http_conn *c;
	int rc;

	c = malloc(sizeof(*c));
	if (c == NULL)
		return NULL;
	/* rbuf needs no clearing. */
	memset(c, 0, offsetof(struct http_conn, rbuf));
	c->srv = s;
	c->x.conn = c;
	c->cur = STR_NONE;
	rc = uv_tcp_init(s->loop, &c->tcp);
	assert(rc == 0); /* no socket is made before accept */
	(void)rc;
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c->timer.data = c->wr.data = c->shut.data = c;
	c->wr_continue.data = c;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	return c;
}

static void
srv_accept(struct http_server *s)
{
	struct http_conn *c;
	char msg[HTTP_MSG_MAX];

	c = conn_new(s);
	if (c == NULL) {
		/* libuv keeps the connection queued; retried on a free. */
		s->accept_stalled = true;
		return;
	}
	s->accept_stalled = false;
	c->rejected = s->nconns >= s->lim.conns_max;
	if (c->rejected)
		s->rejecting++;
	else
		s->nconns++;
	if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&c->tcp) !=
	    0) {
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	conn_peer_name(c);
	if (c->rejected) {
		if (s->rejecting > HTTP_REJECTING_MAX) {
			conn_close(c);
			return;
		}
		snprintf(msg, sizeof(msg),
		    "the server is at its limit of %zu "
		    "connections",
		    s->lim.conns_max);
		conn_fail(c, 503, "too-many-connections", msg);
		return;
	}
	c->state = CONN_IDLE;
	conn_timer(c, s->lim.idle_timeout_ms);
	conn_read_start(c);
}

static void
srv_on_connection(uv_stream_t *ls, int status)
{
	struct http_server *s = ls->data;

	/* A failed accept (EMFILE, ...) is transient; libuv retries. */
	if (status < 0 || s->stopping)
		return;
	srv_accept(s);
}

static void
srv_on_listener_close(uv_handle_t *h)
{
	struct http_server *s = h->data;

	s->listener_closed = true;
	srv_maybe_done(s);
}

static void
srv_on_start_fail_close(uv_handle_t *h)
{
	free(h->data);
}

static int
srv_addr(const char *host, int port, struct sockaddr_storage *ss)
{
	char inner[INET6_ADDRSTRLEN + 16];
	size_t n = strlen(host);
	int rc;

	memset(ss, 0, sizeof(*ss));
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		if (n - 2 >= sizeof(inner))
			return MRX_EINVAL;
		memcpy(inner, host + 1, n - 2);
		inner[n - 2] = '\0';
		host = inner;
	}
	if (strchr(host, ':') != NULL)
		rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss);
	else
		rc = uv_ip4_addr(host, port, (struct sockaddr_in *)ss);
	return rc == 0 ? 0 : MRX_EINVAL;
}

static int
srv_listen(struct http_server *s, const struct sockaddr_storage *ss)
{
	struct sockaddr_storage bound;
	int len = (int)sizeof(bound);
	int rc;

	rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)ss, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->listener, HTTP_BACKLOG,
		    srv_on_connection);
	if (rc == 0)
		rc = uv_tcp_getsockname(
		    &s->listener, (struct sockaddr *)&bound, &len);
	if (rc != 0)
		return rc;
	if (bound.ss_family == AF_INET6)
		s->port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
	else
		s->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
	return 0;
}

int
http_server_start_diag(uv_loop_t *loop, const char *host, int port,
    const struct http_limits *lim, http_handler_fn fn, void *ctx,
    struct http_server **out, struct mrx_diag *diag)
{
	struct http_limits dl;
	struct sockaddr_storage ss;
	struct http_server *s;
	int rc;

	assert(loop != NULL && host != NULL && fn != NULL && out != NULL);
	*out = NULL;
	if (lim == NULL) {
		http_limits_default(&dl);
		lim = &dl;
	}
	if (lim->head_max == 0 || lim->conns_max == 0 ||
	    lim->read_timeout_ms == 0 || lim->idle_timeout_ms == 0)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "limits",
		    "head_max, conns_max and the timeouts must not "
		    "be zero");
	if (port < 0 || port > 65535)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "port", "port %d is outside 0..65535", port);
	if (srv_addr(host, port, &ss) != 0)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "host", "'%s' is not an IPv4 or IPv6 address literal",
		    host);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return mrx_diag_set(
		    diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET, "", "out of memory");
	s->loop = loop;
	s->lim = *lim;
	s->fn = fn;
	s->ctx = ctx;
	if ((rc = uv_tcp_init(loop, &s->listener)) != 0) {
		free(s);
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET, "host",
		    "listen on %s:%d: %s (%s)", host, port, uv_err_name(rc),
		    uv_strerror(rc));
	}
	s->listener.data = s;
	if ((rc = srv_listen(s, &ss)) != 0) {
		uv_close((uv_handle_t *)&s->listener, srv_on_start_fail_close);
		return mrx_diag_set(diag,
		    rc == UV_ENOMEM ? MRX_ENOMEM : MRX_EIO, MRX_DIAG_NO_OFFSET,
		    "host", "listen on %s:%d: %s (%s)", host, port,
		    uv_err_name(rc), uv_strerror(rc));
	}
	*out = s;
	return 0;
}

int
http_server_start(uv_loop_t *loop, const char *host, int port,
    const struct http_limits *lim, http_handler_fn fn, void *ctx,
    struct http_server **out)
{
	return http_server_start_diag(
	    loop, host, port, lim, fn, ctx, out, NULL);
}

int
http_server_port(const struct http_server *s)
{
	return s->port;
}

size_t
http_server_conns(const struct http_server *s)
{
	return s->nconns;
}

void
http_server_stop(struct http_server *s, void (*done)(void *), void *arg)
{
	struct http_conn *c, *next;

	assert(!s->stopping);
	s->stopping = true;
	s->done = done;
	s->done_arg = arg;
	uv_close((uv_handle_t *)&s->listener, srv_on_listener_close);
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		/* BUSY and WRITING ones close after their response. */
		if (c->state == CONN_IDLE || c->state == CONN_READING ||
		    c->state == CONN_LINGER)
			conn_close(c);
	}
}
