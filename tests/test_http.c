/*
 * test_http.c - the HTTP/1.1 server (node/http.c) over real sockets.
 *
 * The server runs on a libuv loop in a thread of its own; the test body is
 * the client, with plain blocking sockets whose receive timeout keeps a
 * broken server from hanging the test. Whatever touches the server or the
 * loop runs on the loop thread through fx_call(); the loop thread never uses
 * cmocka, it counts its own failures in `bad` and the test checks them.
 *
 * Covered: GET and POST echo (path, query, the three headers, peer),
 * keep-alive without per-request buffers, pipelining, answers from a timer,
 * a client that leaves before its answer, every limit (413 without reading
 * the body, 431 at head_max + 1 bytes, 408 for a trickling client, idle
 * close, 503 beyond conns_max, 400 and 505), chunked bodies and trailers,
 * Connection: close and HTTP/1.0, 100-continue, HEAD, a request arriving a
 * byte at a time, stopping with an exchange pending, start errors; and
 * keep-alive throughput figures that are printed, never asserted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "http.h"
#include "mrx_err.h"

#define WAIT_MS 5000 /* longest any step may take */

enum mode {
	MODE_ECHO, /* answer at once with the request echoed */
	MODE_OK,   /* answer at once with a small JSON body */
	MODE_LATE, /* answer 50 ms later from a uv_timer */
	MODE_HOLD, /* keep the exchange until the test answers */
};

struct fx {
	uv_loop_t loop;
	uv_async_t wake;  /* runs `call` on the loop thread */
	uv_timer_t later; /* MODE_LATE */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void (*call)(struct fx *, void *);
	void *call_arg;
	bool call_done;
	struct http_server *srv;
	int port;
	enum mode mode;
	struct http_exchange *held; /* loop thread only */
	const char *first_path;     /* loop thread: first request's path */
	/* Under mu: */
	int handled;         /* requests handed to the handler */
	int answered_late;   /* answers given from the timer */
	bool gone_at_answer; /* http_exchange_gone() then */
	bool stopped;        /* the server's done ran */
	int bad;             /* checks failed on the loop thread */
	int path_moved;      /* requests kept elsewhere than the first */
};

/* ---- the loop thread ---- */

static void
fx_signal(struct fx *fx, int *counter, int add)
{
	pthread_mutex_lock(&fx->mu);
	*counter += add;
	pthread_cond_broadcast(&fx->cv);
	pthread_mutex_unlock(&fx->mu);
}

static void
echo(struct http_exchange *x, const struct http_request *req)
{
	char *out, peer[96];
	int n;
	size_t cap = 512 + req->body_len;

	out = malloc(cap);
	if (out == NULL) {
		http_respond(x, 500, NULL, NULL, 0, NULL);
		return;
	}
	n = snprintf(out, cap, "%s %s q=%s ct=%s acc=%s auth=%s len=%zu\n",
	    req->method, req->path, req->query,
	    req->content_type ? req->content_type : "-",
	    req->accept ? req->accept : "-",
	    req->authorization ? req->authorization : "-", req->body_len);
	memcpy(out + n, req->body, req->body_len);
	snprintf(peer, sizeof(peer), "X-Peer: %s\r\n", req->peer);
	http_respond(
	    x, 200, "text/plain", out, (size_t)n + req->body_len, peer);
	free(out);
}

static void
on_later(uv_timer_t *t)
{
	struct fx *fx = t->data;
	struct http_exchange *x = fx->held;
	bool gone;

	fx->held = NULL;
	if (x == NULL) {
		fx_signal(fx, &fx->bad, 1);
		return;
	}
	gone = http_exchange_gone(x);
	http_respond(x, 200, "text/plain", "late", 4, "X-Late: yes\r\n");
	pthread_mutex_lock(&fx->mu);
	fx->gone_at_answer = gone;
	pthread_mutex_unlock(&fx->mu);
	fx_signal(fx, &fx->answered_late, 1);
}

static void
handler(void *ctx, struct http_exchange *x, const struct http_request *req)
{
	static const char ok[] = "{\"ok\":true}";
	struct fx *fx = ctx;

	if (http_exchange_request(x) != req || req->body[req->body_len] != 0)
		fx_signal(fx, &fx->bad, 1);
	if (fx->first_path == NULL)
		fx->first_path = req->path;
	else if (req->path != fx->first_path)
		fx_signal(fx, &fx->path_moved, 1);
	switch (fx->mode) {
	case MODE_ECHO:
		echo(x, req);
		break;
	case MODE_OK:
		http_respond(
		    x, 200, "application/json", ok, sizeof(ok) - 1, NULL);
		break;
	case MODE_LATE:
		if (fx->held != NULL) {
			fx_signal(fx, &fx->bad, 1);
			http_respond(x, 500, NULL, NULL, 0, NULL);
			break;
		}
		fx->held = x;
		uv_timer_start(&fx->later, on_later, 50, 0);
		break;
	case MODE_HOLD:
		if (fx->held != NULL) {
			fx_signal(fx, &fx->bad, 1);
			http_respond(x, 500, NULL, NULL, 0, NULL);
			break;
		}
		fx->held = x;
		break;
	}
	fx_signal(fx, &fx->handled, 1);
}

static void
on_wake(uv_async_t *a)
{
	struct fx *fx = a->data;
	void (*fn)(struct fx *, void *);
	void *arg;

	pthread_mutex_lock(&fx->mu);
	fn = fx->call;
	arg = fx->call_arg;
	pthread_mutex_unlock(&fx->mu);
	if (fn == NULL)
		return;
	fn(fx, arg);
	pthread_mutex_lock(&fx->mu);
	fx->call = NULL;
	fx->call_done = true;
	pthread_cond_broadcast(&fx->cv);
	pthread_mutex_unlock(&fx->mu);
}

static void
on_stopped(void *arg)
{
	struct fx *fx = arg;
	bool stopped;

	pthread_mutex_lock(&fx->mu);
	stopped = fx->stopped;
	fx->stopped = true;
	pthread_cond_broadcast(&fx->cv);
	pthread_mutex_unlock(&fx->mu);
	if (stopped)
		fx_signal(fx, &fx->bad, 1);
	uv_close((uv_handle_t *)&fx->wake, NULL);
	uv_close((uv_handle_t *)&fx->later, NULL);
}

static void
call_stop(struct fx *fx, void *arg)
{
	(void)arg;
	http_server_stop(fx->srv, on_stopped, fx);
}

static void
call_conns(struct fx *fx, void *arg)
{
	*(size_t *)arg = http_server_conns(fx->srv);
}

static void
call_answer_held(struct fx *fx, void *arg)
{
	struct http_exchange *x = fx->held;

	(void)arg;
	fx->held = NULL;
	if (x == NULL) {
		fx_signal(fx, &fx->bad, 1);
		return;
	}
	http_respond(x, 200, "application/json", "{\"held\":1}", 10, NULL);
}

static void *
loop_main(void *arg)
{
	struct fx *fx = arg;

	uv_run(&fx->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* ---- the test thread ---- */

static struct timespec
deadline(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct fx *
fx_start(const struct http_limits *lim, enum mode mode)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->mode = mode;
	pthread_mutex_init(&fx->mu, NULL);
	pthread_cond_init(&fx->cv, NULL);
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	assert_int_equal(uv_async_init(&fx->loop, &fx->wake, on_wake), 0);
	fx->wake.data = fx;
	uv_timer_init(&fx->loop, &fx->later);
	fx->later.data = fx;
	assert_int_equal(http_server_start(&fx->loop, "127.0.0.1", 0, lim,
	                     handler, fx, &fx->srv),
	    0);
	fx->port = http_server_port(fx->srv);
	assert_true(fx->port > 0);
	assert_int_equal(pthread_create(&fx->thread, NULL, loop_main, fx), 0);
	return fx;
}

static void
fx_call(struct fx *fx, void (*fn)(struct fx *, void *), void *arg)
{
	struct timespec ts = deadline(WAIT_MS);
	int rc = 0;

	pthread_mutex_lock(&fx->mu);
	fx->call = fn;
	fx->call_arg = arg;
	fx->call_done = false;
	pthread_mutex_unlock(&fx->mu);
	uv_async_send(&fx->wake);
	pthread_mutex_lock(&fx->mu);
	while (!fx->call_done && rc == 0)
		rc = pthread_cond_timedwait(&fx->cv, &fx->mu, &ts);
	pthread_mutex_unlock(&fx->mu);
	assert_int_equal(rc, 0);
}

/* Waits until *counter reaches `want`; false on timeout. */
static bool
fx_wait(struct fx *fx, const int *counter, int want)
{
	struct timespec ts = deadline(WAIT_MS);
	int rc = 0;
	bool ok;

	pthread_mutex_lock(&fx->mu);
	while (*counter < want && rc == 0)
		rc = pthread_cond_timedwait(&fx->cv, &fx->mu, &ts);
	ok = *counter >= want;
	pthread_mutex_unlock(&fx->mu);
	return ok;
}

static int
fx_get(struct fx *fx, const int *field)
{
	int v;

	pthread_mutex_lock(&fx->mu);
	v = *field;
	pthread_mutex_unlock(&fx->mu);
	return v;
}

static size_t
fx_conns(struct fx *fx)
{
	size_t n = 0;

	fx_call(fx, call_conns, &n);
	return n;
}

/* Polls until the server has `want` connections; false on timeout. */
static bool
fx_conns_reach(struct fx *fx, size_t want)
{
	double end = now_ms() + WAIT_MS;

	while (now_ms() < end) {
		if (fx_conns(fx) == want)
			return true;
		usleep(5000);
	}
	return false;
}

static void
fx_join(struct fx *fx)
{
	struct timespec ts = deadline(WAIT_MS);
	int rc = 0;

	pthread_mutex_lock(&fx->mu);
	while (!fx->stopped && rc == 0)
		rc = pthread_cond_timedwait(&fx->cv, &fx->mu, &ts);
	pthread_mutex_unlock(&fx->mu);
	assert_int_equal(rc, 0);
	assert_int_equal(pthread_join(fx->thread, NULL), 0);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	assert_int_equal(fx->bad, 0);
	pthread_cond_destroy(&fx->cv);
	pthread_mutex_destroy(&fx->mu);
	free(fx);
}

static void
fx_finish(struct fx *fx)
{
	fx_call(fx, call_stop, NULL);
	fx_join(fx);
}

/* A blocking client connection with its own receive buffer. */
struct cl {
	int fd;
	size_t len;
	char buf[1 << 17];
};

struct resp {
	int status;
	char head[8192];
	size_t body_len;
	char body[1 << 16];
};

/* Connects to 127.0.0.1:port; NULL on failure (usable off the test thread). */
static struct cl *
cl_connect(int port)
{
	struct cl *c = calloc(1, sizeof(*c));
	struct sockaddr_in a;
	struct timeval tv = {WAIT_MS / 1000, 0};
	int one = 1;

	if (c == NULL)
		return NULL;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0) {
		free(c);
		return NULL;
	}
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(c->fd);
		free(c);
		return NULL;
	}
	return c;
}

static struct cl *
cl_open(int port)
{
	struct cl *c = cl_connect(port);

	assert_non_null(c);
	return c;
}

static void
cl_close(struct cl *c)
{
	close(c->fd);
	free(c);
}

/* Sends all of it; false if the server closed the connection first. */
static bool
cl_send(struct cl *c, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n > 0) {
		w = send(c->fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
	}
	return true;
}

static void
cl_sends(struct cl *c, const char *s)
{
	assert_true(cl_send(c, s, strlen(s)));
}

/* Reads more; the bytes read, 0 at EOF, -1 on error or timeout. */
static ssize_t
cl_fill(struct cl *c)
{
	ssize_t r;

	if (c->len == sizeof(c->buf))
		return -1;
	do
		r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		c->len += (size_t)r;
	return r;
}

static size_t
find_crlfcrlf(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 4 <= n; i++)
		if (memcmp(p + i, "\r\n\r\n", 4) == 0)
			return i;
	return SIZE_MAX;
}

/* The value of header `name` in r->head (copied to val), or NULL. */
static const char *
resp_hdr(const struct resp *r, const char *name, char *val, size_t cap)
{
	const char *line = strstr(r->head, "\r\n");
	size_t n = strlen(name);
	const char *v, *e;

	while (line != NULL && line[2] != '\r' && line[2] != '\0') {
		line += 2;
		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			v = line + n + 1;
			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			if (e == NULL || (size_t)(e - v) >= cap)
				return NULL;
			memcpy(val, v, (size_t)(e - v));
			val[e - v] = '\0';
			return val;
		}
		line = strstr(line, "\r\n");
	}
	return NULL;
}

/* Reads one response; `no_body` for HEAD and 100. 0, or -1. */
static int
cl_response_x(struct cl *c, struct resp *r, bool no_body)
{
	size_t hl, blen = 0;
	char v[64];

	memset(r, 0, offsetof(struct resp, body));
	while ((hl = find_crlfcrlf(c->buf, c->len)) == SIZE_MAX)
		if (cl_fill(c) <= 0)
			return -1;
	hl += 4;
	if (hl >= sizeof(r->head))
		return -1;
	memcpy(r->head, c->buf, hl);
	r->head[hl] = '\0';
	if (sscanf(r->head, "HTTP/1.1 %d ", &r->status) != 1)
		return -1;
	if (!no_body && resp_hdr(r, "Content-Length", v, sizeof(v)) != NULL)
		blen = strtoul(v, NULL, 10);
	if (blen >= sizeof(r->body))
		return -1;
	while (c->len < hl + blen)
		if (cl_fill(c) <= 0)
			return -1;
	memcpy(r->body, c->buf + hl, blen);
	r->body[blen] = '\0';
	r->body_len = blen;
	c->len -= hl + blen;
	memmove(c->buf, c->buf + hl + blen, c->len);
	return 0;
}

static void
cl_response(struct cl *c, struct resp *r)
{
	assert_int_equal(cl_response_x(c, r, false), 0);
}

/* True if the server closes the connection (EOF or reset) in time. */
static bool
cl_closed(struct cl *c)
{
	ssize_t r;

	if (c->len != 0)
		return false;
	r = cl_fill(c);
	return r == 0 || (r < 0 && (errno == ECONNRESET || errno == EPIPE));
}

static bool
has_header(const struct resp *r, const char *name, const char *want)
{
	char v[256];

	return resp_hdr(r, name, v, sizeof(v)) != NULL &&
	       strcasecmp(v, want) == 0;
}

/* Checks a JSON error answer and that the server then closes. */
static void
expect_error(struct cl *c, int status, const char *code)
{
	struct resp *r = malloc(sizeof(*r));
	char want[128];

	assert_non_null(r);
	cl_response(c, r);
	assert_int_equal(r->status, status);
	assert_true(has_header(r, "Content-Type", "application/json"));
	assert_true(has_header(r, "Connection", "close"));
	snprintf(want, sizeof(want),
	    "{\"error\":{\"code\":\"%s\",\"message\":", code);
	assert_memory_equal(r->body, want, strlen(want));
	assert_non_null(strstr(r->body, ",\"field\":null}}"));
	assert_true(cl_closed(c));
	free(r);
}

static struct http_limits
limits(void)
{
	struct http_limits l;

	http_limits_default(&l);
	return l;
}

/* ---- tests ---- */

static void
test_get_echo(void **state)
{
	struct fx *fx = fx_start(NULL, MODE_ECHO);
	struct cl *c = cl_open(fx->port);
	static struct resp r;
	char v[96];

	(void)state;
	cl_sends(c,
	    "GET /v1/clearances/ab12?x=1&y=2 HTTP/1.1\r\nHost: a\r\n"
	    "authorization: Bearer t0k\r\nACCEPT: application/json \r\n\r\n");
	cl_response(c, &r);
	assert_int_equal(r.status, 200);
	assert_true(has_header(&r, "Content-Type", "text/plain"));
	assert_non_null(resp_hdr(&r, "X-Peer", v, sizeof(v)));
	assert_memory_equal(v, "127.0.0.1:", 10);
	assert_true(atoi(v + 10) > 0);
	assert_false(has_header(&r, "Connection", "close"));
	assert_string_equal(r.body,
	    "GET /v1/clearances/ab12 q=x=1&y=2 ct=- "
	    "acc=application/json auth=Bearer t0k len=0\n");

	/* Absolute form, a fragment, no query. */
	cl_sends(c, "GET http://mrx.example:7400/p/q?z=9 HTTP/1.1\r\n"
	            "Host: a\r\n\r\n");
	cl_response(c, &r);
	assert_string_equal(r.body, "GET /p/q q=z=9 ct=- acc=- auth=- len=0\n");
	cl_sends(c, "GET /frag#part HTTP/1.1\r\nHost: a\r\n\r\n");
	cl_response(c, &r);
	assert_string_equal(r.body, "GET /frag q= ct=- acc=- auth=- len=0\n");
	cl_close(c);
	fx_finish(fx);
}

static void
test_post_echo(void **state)
{
	struct fx *fx = fx_start(NULL, MODE_ECHO);
	struct cl *c = cl_open(fx->port);
	static struct resp r;

	(void)state;
	cl_sends(c,
	    "POST /v1/verify HTTP/1.1\r\nHost: a\r\n"
	    "Content-Type: application/json\r\nContent-Length: 14\r\n\r\n"
	    "{\"record\":\"x\"}");
	cl_response(c, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "POST /v1/verify q= ct=application/json "
	                            "acc=- auth=- len=14\n{\"record\":\"x\"}");
	cl_close(c);
	fx_finish(fx);
}

static void
test_keepalive(void **state)
{
	struct fx *fx = fx_start(NULL, MODE_ECHO);
	struct cl *c = cl_open(fx->port);
	static struct resp r;
	char req[256], want[256];
	int i;

	(void)state;
	for (i = 0; i < 20; i++) {
		snprintf(req, sizeof(req),
		    "POST /k/%d HTTP/1.1\r\nHost: a\r\n"
		    "Content-Length: %d\r\n\r\n%0*d",
		    i, i + 1, i + 1, i);
		cl_sends(c, req);
		cl_response(c, &r);
		assert_int_equal(r.status, 200);
		snprintf(want, sizeof(want),
		    "POST /k/%d q= ct=- acc=- auth=- "
		    "len=%d\n%0*d",
		    i, i + 1, i + 1, i);
		assert_string_equal(r.body, want);
	}
	assert_int_equal(fx_conns(fx), 1);
	assert_true(fx_wait(fx, &fx->handled, 20));
	/* The connection's buffers were reused, not allocated per request. */
	assert_int_equal(fx_get(fx, &fx->path_moved), 0);
	cl_close(c);
	assert_true(fx_conns_reach(fx, 0));
	fx_finish(fx);
}

static void
test_pipelined(void **state)
{
	struct fx *fx = fx_start(NULL, MODE_ECHO);
	struct cl *c = cl_open(fx->port);
	static struct resp r;

	(void)state;
	cl_sends(c,
	    "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
	    "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
	    "GET /three?x HTTP/1.1\r\nHost: a\r\n\r\n");
	cl_response(c, &r);
	assert_string_equal(r.body, "GET /one q= ct=- acc=- auth=- len=0\n");
	cl_response(c, &r);
	assert_string_equal(r.body, "POST /two q= ct=- acc=- auth=- len=3\n"
	                            "abc");
	cl_response(c, &r);
	assert_string_equal(r.body, "GET /three q=x ct=- acc=- auth=- len=0\n");
	cl_close(c);
	fx_finish(fx);
}

static void
test_async_answer(void **state)
{
	struct fx *fx = fx_start(NULL, MODE_LATE);
	struct cl *c = cl_open(fx->port);
	static struct resp r;
	double t0;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		t0 = now_ms();
		cl_sends(c, "GET /late HTTP/1.1\r\nHost: a\r\n\r\n");
		cl_response(c, &r);
		assert_true(now_ms() - t0 >= 45);
		assert_int_equal(r.status, 200);
		assert_string_equal(r.body, "late");
		assert_true(has_header(&r, "X-Late", "yes"));
	}
	assert_true(fx_wait(fx, &fx->answered_late, 2));
	pthread_mutex_lock(&fx->mu);
	assert_false(fx->gone_at_answer);
	pthread_mutex_unlock(&fx->mu);
	cl_close(c);
	fx_finish(fx);
}

static void
test_async_client_gone(void **state)
{
	struct fx *fx = fx_start(NULL, MODE_LATE);
	struct cl *c = cl_open(fx->port);

	(void)state;
	cl_sends(c, "GET /late HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_true(fx_wait(fx, &fx->handled, 1));
	cl_close(c);
	assert_true(fx_wait(fx, &fx->answered_late, 1));
	pthread_mutex_lock(&fx->mu);
	assert_true(fx->gone_at_answer);
	pthread_mutex_unlock(&fx->mu);
	assert_true(fx_conns_reach(fx, 0));
	fx_finish(fx);
}

static void
test_body_too_large(void **state)
{
	struct fx *fx = fx_start(NULL, MODE_ECHO);
	struct cl *c = cl_open(fx->port);

	(void)state;
	/* Only the head: the 413 must come without the body being sent. */
	cl_sends(c, "POST /x HTTP/1.1\r\nHost: a\r\n"
	            "Content-Length: 2097152\r\n\r\n");
	expect_error(c, 413, "body-too-large");
	cl_close(c);
	assert_int_equal(fx_get(fx, &fx->handled), 0);
	fx_finish(fx);
}

static void
test_head_too_large(void **state)
{
	struct fx *fx = fx_start(NULL, MODE_ECHO);
	struct cl *c = cl_open(fx->port);
	size_t n = 20 << 10;
	char *req = malloc(n + 64);
	int off;

	(void)state;
	assert_non_null(req);
	off = snprintf(req, 64, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
	memset(req + off, 'a', n);
	memcpy(req + off + n, "\r\n\r\n", 4);
	assert_true(cl_send(c, req, (size_t)off + n + 4));
	expect_error(c, 431, "header-too-large");
	cl_close(c);
	free(req);

	/* A head of exactly head_max bytes is accepted. */
	{
		struct http_limits l = limits();
		struct fx *fx2;
		static struct resp r;
		const char *pre = "GET / HTTP/1.1\r\nX: ";

		l.head_max = 200;
		fx2 = fx_start(&l, MODE_OK);
		c = cl_open(fx2->port);
		req = malloc(l.head_max);
		assert_non_null(req);
		memset(req, 'v', l.head_max);
		memcpy(req, pre, strlen(pre));
		memcpy(req + l.head_max - 4, "\r\n\r\n", 4);
		assert_true(cl_send(c, req, l.head_max));
		cl_response(c, &r);
		assert_int_equal(r.status, 200);
		req[l.head_max - 5] = 'v';
		assert_true(cl_send(c, req, l.head_max - 4));
		assert_true(cl_send(c, "v\r\n\r\n", 5));
		expect_error(c, 431, "header-too-large");
		cl_close(c);
		free(req);
		fx_finish(fx2);
	}
	fx_finish(fx);
}

static void
test_read_timeout(void **state)
{
	struct http_limits l = limits();
	struct fx *fx;
	struct cl *c;
	const char *req = "GET / HTTP/1.1\r\nHost: a\r\n";
	double t0;
	size_t i;

	(void)state;
	l.read_timeout_ms = 200;
	fx = fx_start(&l, MODE_ECHO);

	/* A head that stops short. */
	c = cl_open(fx->port);
	t0 = now_ms();
	cl_sends(c, req);
	expect_error(c, 408, "timeout");
	assert_true(now_ms() - t0 >= 150);
	cl_close(c);

	/* A slow loris: a byte every 30 ms keeps nothing alive. */
	c = cl_open(fx->port);
	t0 = now_ms();
	for (i = 0; i < strlen(req); i++) {
		if (!cl_send(c, req + i, 1))
			break;
		usleep(30000);
		if (now_ms() - t0 > 400)
			break;
	}
	expect_error(c, 408, "timeout");
	assert_true(now_ms() - t0 < 1000);
	cl_close(c);
	assert_int_equal(fx_get(fx, &fx->handled), 0);
	fx_finish(fx);
}

static void
test_idle_close(void **state)
{
	struct http_limits l = limits();
	struct fx *fx;
	struct cl *c;
	static struct resp r;
	double t0;

	(void)state;
	l.idle_timeout_ms = 200;
	fx = fx_start(&l, MODE_OK);
	c = cl_open(fx->port);
	cl_sends(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	cl_response(c, &r);
	assert_int_equal(r.status, 200);
	t0 = now_ms();
	assert_true(cl_closed(c));
	assert_true(now_ms() - t0 >= 150);
	cl_close(c);
	assert_true(fx_conns_reach(fx, 0));

	/* A connection that never sends a byte goes the same way. */
	c = cl_open(fx->port);
	assert_true(cl_closed(c));
	cl_close(c);
	fx_finish(fx);
}

static void
test_too_many_connections(void **state)
{
	struct http_limits l = limits();
	struct fx *fx;
	struct cl *c[4], *extra;
	static struct resp r;
	int i;

	(void)state;
	l.conns_max = 4;
	fx = fx_start(&l, MODE_OK);
	for (i = 0; i < 4; i++) {
		c[i] = cl_open(fx->port);
		cl_sends(c[i], "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
		cl_response(c[i], &r);
		assert_int_equal(r.status, 200);
	}
	assert_int_equal(fx_conns(fx), 4);
	extra = cl_open(fx->port);
	cl_sends(extra, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_error(extra, 503, "too-many-connections");
	cl_close(extra);
	assert_int_equal(fx_conns(fx), 4);

	cl_close(c[0]);
	assert_true(fx_conns_reach(fx, 3));
	c[0] = cl_open(fx->port);
	cl_sends(c[0], "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	cl_response(c[0], &r);
	assert_int_equal(r.status, 200);
	for (i = 0; i < 4; i++)
		cl_close(c[i]);
	fx_finish(fx);
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
	    "\x01\x02 garbage\r\n\r\n",
	    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
	    "Content-Length: 2\r\n\r\nab",
	    "GET / HTTP/1.1\r\nAuthorization: a\r\nauthorization: b\r\n\r\n",
	    "POST / HTTP/1.1\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	    "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
	    "POST / HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc",
	    "CONNECT mrx.example:443 HTTP/1.1\r\n\r\n",
	};
	struct fx *fx = fx_start(NULL, MODE_ECHO);
	struct cl *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = cl_open(fx->port);
		cl_sends(c, bad[i]);
		expect_error(c, 400, "malformed-request");
		cl_close(c);
	}
	c = cl_open(fx->port);
	cl_sends(c, "GET / HTTP/2.0\r\n\r\n");
	expect_error(c, 505, "version-not-supported");
	cl_close(c);
	assert_int_equal(fx_get(fx, &fx->handled), 0);
	fx_finish(fx);
}

static void
test_chunked(void **state)
{
	struct http_limits l = limits();
	struct fx *fx;
	struct cl *c;
	static struct resp r;
	char req[512];
	int n;

	(void)state;
	l.body_max = 64;
	fx = fx_start(&l, MODE_ECHO);
	c = cl_open(fx->port);
	cl_sends(c,
	    "POST /c HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: t\r\n\r\n");
	cl_response(c, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "POST /c q= ct=- acc=- auth=- len=11\n"
	                            "hello world");
	/* Trailers are not headers: they cannot add one after the fact. */
	cl_sends(c,
	    "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n0\r\nAccept: evil\r\nAuthorization: x\r\n\r\n");
	cl_response(c, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "POST /c q= ct=- acc=- auth=- len=3\nabc");
	/* Exactly body_max in chunks is fine; one byte more is not. */
	n = snprintf(req, sizeof(req),
	    "POST /c HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n20\r\n%032d\r\n20\r\n%032d\r\n"
	    "0\r\n\r\n",
	    1, 2);
	assert_true(cl_send(c, req, (size_t)n));
	cl_response(c, &r);
	assert_int_equal(r.status, 200);
	n = snprintf(req, sizeof(req),
	    "POST /c HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n20\r\n%032d\r\n21\r\n%033d\r\n"
	    "0\r\n\r\n",
	    1, 2);
	assert_true(cl_send(c, req, (size_t)n));
	expect_error(c, 413, "body-too-large");
	cl_close(c);
	fx_finish(fx);
}

static void
test_connection_close(void **state)
{
	struct fx *fx = fx_start(NULL, MODE_OK);
	struct cl *c;
	static struct resp r;

	(void)state;
	c = cl_open(fx->port);
	cl_sends(c, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
	cl_response(c, &r);
	assert_int_equal(r.status, 200);
	assert_true(has_header(&r, "Connection", "close"));
	assert_string_equal(r.body, "{\"ok\":true}");
	assert_true(cl_closed(c));
	cl_close(c);

	/* HTTP/1.0 closes unless keep-alive is asked for. */
	c = cl_open(fx->port);
	cl_sends(c, "GET / HTTP/1.0\r\n\r\n");
	cl_response(c, &r);
	assert_true(has_header(&r, "Connection", "close"));
	assert_true(cl_closed(c));
	cl_close(c);

	c = cl_open(fx->port);
	cl_sends(c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	cl_response(c, &r);
	assert_true(has_header(&r, "Connection", "keep-alive"));
	cl_sends(c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	cl_response(c, &r);
	assert_int_equal(r.status, 200);
	cl_close(c);
	fx_finish(fx);
}

static void
test_continue_and_head(void **state)
{
	struct fx *fx = fx_start(NULL, MODE_ECHO);
	struct cl *c = cl_open(fx->port);
	static struct resp r;
	char v[32];

	(void)state;
	cl_sends(c, "POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
	            "Content-Length: 5\r\n\r\n");
	assert_int_equal(cl_response_x(c, &r, true), 0);
	assert_int_equal(r.status, 100);
	cl_sends(c, "hello");
	cl_response(c, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "POST /e q= ct=- acc=- auth=- len=5\n"
	                            "hello");

	/* HEAD: the length of the body, not the body. */
	cl_sends(c, "HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_int_equal(cl_response_x(c, &r, true), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(resp_hdr(&r, "Content-Length", v, sizeof(v)));
	assert_int_equal(atoi(v), (int)strlen("HEAD /h q= ct=- acc=- auth=- "
	                                      "len=0\n"));
	cl_sends(c, "GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
	cl_response(c, &r);
	assert_string_equal(r.body, "GET /after q= ct=- acc=- auth=- len=0\n");

	/* Two requests that expect 100 and did not wait, in one write. */
	cl_sends(c, "POST /1 HTTP/1.1\r\nExpect: 100-continue\r\n"
	            "Content-Length: 1\r\n\r\nx"
	            "POST /2 HTTP/1.1\r\nExpect: 100-continue\r\n"
	            "Content-Length: 1\r\n\r\ny");
	assert_int_equal(cl_response_x(c, &r, true), 0);
	assert_int_equal(r.status, 100);
	cl_response(c, &r);
	assert_string_equal(r.body, "POST /1 q= ct=- acc=- auth=- len=1\nx");
	assert_int_equal(cl_response_x(c, &r, true), 0);
	assert_int_equal(r.status, 100);
	cl_response(c, &r);
	assert_string_equal(r.body, "POST /2 q= ct=- acc=- auth=- len=1\ny");
	cl_close(c);
	fx_finish(fx);
}

/* A request that arrives a byte at a time is put together whole. */
static void
test_split_reads(void **state)
{
	static const char req[] =
	    "POST /split?q=1 HTTP/1.1\r\n"
	    "Host: a\r\nAuthorization:   Bearer abc \t\r\n"
	    "X-Authorization-Not: no\r\nContent-Type: text/x\r\n"
	    "Accept: */*\r\nContent-Length: 3\r\n\r\nxyz";
	struct fx *fx = fx_start(NULL, MODE_ECHO);
	struct cl *c = cl_open(fx->port);
	static struct resp r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(req) - 1; i++) {
		assert_true(cl_send(c, req + i, 1));
		if (i % 7 == 0)
			usleep(1000);
	}
	cl_response(c, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "POST /split q=q=1 ct=text/x acc=*/* "
	                            "auth=Bearer abc len=3\nxyz");
	cl_close(c);
	fx_finish(fx);
}

static void
test_stop_with_pending_exchange(void **state)
{
	struct fx *fx = fx_start(NULL, MODE_HOLD);
	struct cl *busy = cl_open(fx->port), *idle = cl_open(fx->port);
	static struct resp r;
	struct sockaddr_in a;
	int fd, rc = 0;
	double end;

	(void)state;
	cl_sends(busy, "GET /wait HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_true(fx_wait(fx, &fx->handled, 1));
	assert_true(fx_conns_reach(fx, 2));
	fx_call(fx, call_stop, NULL);
	assert_true(cl_closed(idle));
	cl_close(idle);

	/* The listener is gone. */
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)fx->port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	end = now_ms() + WAIT_MS;
	while (now_ms() < end) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
		close(fd);
		if (rc != 0)
			break;
		usleep(5000);
	}
	assert_int_not_equal(rc, 0);

	usleep(50000);
	pthread_mutex_lock(&fx->mu);
	assert_false(fx->stopped);
	pthread_mutex_unlock(&fx->mu);

	/* The pending exchange is still answered, then the connection ends. */
	fx_call(fx, call_answer_held, NULL);
	cl_response(busy, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"held\":1}");
	assert_true(has_header(&r, "Connection", "close"));
	assert_true(cl_closed(busy));
	cl_close(busy);
	fx_join(fx);
}

static void
test_start_errors(void **state)
{
	uv_loop_t loop;
	struct http_server *a = NULL, *b = NULL;
	struct http_limits l = limits();
	struct mrx_diag d;
	int rc;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	mrx_diag_clear(&d);
	assert_int_equal(http_server_start_diag(&loop, "localhost", 0, NULL,
	                     handler, NULL, &a, &d),
	    MRX_EINVAL);
	assert_null(a);
	assert_string_equal(d.field, "host");
	mrx_diag_clear(&d);
	assert_int_equal(http_server_start_diag(&loop, "127.0.0.1", 70000, NULL,
	                     handler, NULL, &a, &d),
	    MRX_ERANGE);
	assert_string_equal(d.field, "port");
	l.conns_max = 0;
	assert_int_equal(
	    http_server_start(&loop, "127.0.0.1", 0, &l, handler, NULL, &a),
	    MRX_EINVAL);

	assert_int_equal(
	    http_server_start(&loop, "127.0.0.1", 0, NULL, handler, NULL, &a),
	    0);
	mrx_diag_clear(&d);
	assert_int_equal(http_server_start_diag(&loop, "127.0.0.1",
	                     http_server_port(a), NULL, handler, NULL, &b, &d),
	    MRX_EIO);
	assert_null(b);
	assert_non_null(strstr(d.msg, "EADDRINUSE"));
	http_server_stop(a, NULL, NULL);

	/* IPv6, where the host has it. */
	rc = http_server_start(&loop, "[::1]", 0, NULL, handler, NULL, &b);
	if (rc == 0) {
		assert_true(http_server_port(b) > 0);
		http_server_stop(b, NULL, NULL);
	} else {
		assert_int_equal(rc, MRX_EIO);
	}
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

#define BENCH_MS      1000
#define BENCH_CLIENTS 4

static const char bench_req[] =
    "POST /v1/verify HTTP/1.1\r\nHost: a\r\n"
    "Content-Type: application/json\r\nContent-Length: 23\r\n\r\n"
    "{\"record\":\"0123456789\"}";

struct bench {
	int port;
	pthread_t thread;
	long n; /* requests answered with 200 */
	bool failed;
};

/* One keep-alive client, POST after POST for BENCH_MS; no cmocka here. */
static void *
bench_client(void *arg)
{
	struct bench *b = arg;
	struct cl *c = cl_connect(b->port);
	struct resp *r = malloc(sizeof(*r));
	double end = now_ms() + BENCH_MS;

	b->failed = c == NULL || r == NULL;
	while (!b->failed && now_ms() < end) {
		if (!cl_send(c, bench_req, sizeof(bench_req) - 1) ||
		    cl_response_x(c, r, false) != 0 || r->status != 200)
			b->failed = true;
		else
			b->n++;
	}
	if (c != NULL)
		cl_close(c);
	free(r);
	return NULL;
}

static double
thread_cpu_us(clockid_t cpu)
{
	struct timespec ts;

	clock_gettime(cpu, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/*
 * Small keep-alive POSTs as fast as they go: one client on the test thread,
 * then BENCH_CLIENTS client threads with a connection each. Printed, not
 * asserted; with one client the figure is bound by the loopback round trip
 * and by where the scheduler puts the two threads.
 */
static void
test_throughput(void **state)
{
	struct fx *fx = fx_start(NULL, MODE_OK);
	struct bench one, many[BENCH_CLIENTS];
	clockid_t cpu;
	double t0, cpu0, dt1, dt4, us1, us4;
	long n4 = 0;
	int i;

	(void)state;
	assert_int_equal(strlen(strstr(bench_req, "\r\n\r\n") + 4), 23);
	assert_int_equal(pthread_getcpuclockid(fx->thread, &cpu), 0);

	memset(&one, 0, sizeof(one));
	one.port = fx->port;
	cpu0 = thread_cpu_us(cpu);
	t0 = now_ms();
	bench_client(&one);
	dt1 = now_ms() - t0;
	us1 = (thread_cpu_us(cpu) - cpu0) / (double)one.n;
	assert_false(one.failed);

	memset(many, 0, sizeof(many));
	cpu0 = thread_cpu_us(cpu);
	t0 = now_ms();
	for (i = 0; i < BENCH_CLIENTS; i++) {
		many[i].port = fx->port;
		assert_int_equal(pthread_create(&many[i].thread, NULL,
		                     bench_client, &many[i]),
		    0);
	}
	for (i = 0; i < BENCH_CLIENTS; i++) {
		assert_int_equal(pthread_join(many[i].thread, NULL), 0);
		assert_false(many[i].failed);
		n4 += many[i].n;
	}
	dt4 = now_ms() - t0;
	us4 = (thread_cpu_us(cpu) - cpu0) / (double)n4;

	printf("http throughput, keep-alive POSTs of 23 bytes: "
	       "1 client %.0f requests/s (%.1f us server CPU each), "
	       "%d clients %.0f requests/s (%.1f us server CPU each)\n",
	    (double)one.n * 1e3 / dt1, us1, BENCH_CLIENTS,
	    (double)n4 * 1e3 / dt4, us4);
	fflush(stdout);
	fx_finish(fx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_echo),
	    cmocka_unit_test(test_post_echo),
	    cmocka_unit_test(test_keepalive),
	    cmocka_unit_test(test_pipelined),
	    cmocka_unit_test(test_async_answer),
	    cmocka_unit_test(test_async_client_gone),
	    cmocka_unit_test(test_body_too_large),
	    cmocka_unit_test(test_head_too_large),
	    cmocka_unit_test(test_read_timeout),
	    cmocka_unit_test(test_idle_close),
	    cmocka_unit_test(test_too_many_connections),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_chunked),
	    cmocka_unit_test(test_connection_close),
	    cmocka_unit_test(test_continue_and_head),
	    cmocka_unit_test(test_split_reads),
	    cmocka_unit_test(test_stop_with_pending_exchange),
	    cmocka_unit_test(test_start_errors),
	    cmocka_unit_test(test_throughput),
	};

	/* As mrxd does: a reset client must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
