/*
 * fed.c - the node's nng sockets (fed.h).
 *
 * Every asynchronous operation has a preallocated slot (an nng_aio and,
 * for the request/reply protocols, an nng_ctx), so nothing is allocated or
 * freed inside nng's callbacks but messages. A slot's callback moves what
 * arrived onto the inbox and starts the slot's next step.
 */
#include "fed.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/protocol/survey0/respond.h>
#include <nng/protocol/survey0/survey.h>
#include <nng/supplemental/tls/tls.h>

#include "envelope.h"

#define FED_RECV_MAX (PROTO_ENV_MAX + 64)	/* larger: nng drops it */
#define FED_PEM_MAX (64u * 1024u)
#define FED_PUB_DRAIN_MS 200	/* a stop lets a burst leave this long */
#define FED_CLOSE_MAX_S 5	/* then gives up on nng's close */

struct fed;

/* A context answering peers (rep) or surveys (respondent). */
struct fed_srv {
	struct fed *f;
	nng_ctx ctx;
	nng_aio *aio;
	bool respondent;
	bool waiting;		/* a request is with the loop */
	uint32_t gen;		/* bumps with every request: stale tokens */
	unsigned idx;
};

/* One of this node's requests or surveys in flight. */
struct fed_out {
	struct fed *f;
	nng_ctx ctx;
	nng_aio *aio;
	bool busy;
	bool sent;		/* the send finished: now receiving */
	bool survey;
	uint64_t cookie;
	char peer[PROTO_ID_MAX + 1];
	struct fed_out *next_free;
};

struct fed_peer {
	char id[PROTO_ID_MAX + 1];
	bool has_req;
	nng_socket req;
};

struct fed {
	uv_loop_t *loop;
	fed_deliver_fn deliver;
	void *ctx;
	uv_async_t wake;
	pthread_mutex_t mu;		/* inbox, free lists, stats */
	struct fed_msg *head, *tail;
	size_t ninbox;
	bool stopping;

	bool has_pub, has_sub, has_rep, has_resp, has_surv;
	nng_socket pub, sub, rep, resp, surv;
	nng_aio *sub_aio;
	struct fed_srv rep_ctx[FED_REP_CONTEXTS];
	struct fed_srv resp_ctx[FED_REP_CONTEXTS];
	struct fed_out out[FED_OUT_MAX];
	struct fed_out *free_out;
	struct fed_peer *peers;
	size_t npeers;
	nng_tls_config *tls_server;
	char *cert_pem, *key_pem;
	char ca_path[CONF_PATH_MAX];
	struct fed_stats st;
	uint64_t pub_last_ns;		/* uv_hrtime() of the last publish */
	/* the stop's closer thread (fed_stop) */
	pthread_cond_t close_cv;	/* with mu */
	bool closed;			/* the closer is done */
};

void
fed_msg_free(struct fed_msg *m)
{
	if (m == NULL)
		return;
	free(m->bytes);
	free(m);
}

/* ---- the inbox ---- */

/* Moves `msg` (taken) onto the inbox and wakes the loop. Any thread. */
static void
inbox_push(struct fed *f, enum fed_in_kind kind, nng_msg *msg, uint64_t token,
    uint64_t cookie, int err, const char *peer)
{
	struct fed_msg *m = calloc(1, sizeof(*m));
	size_t len = msg != NULL ? nng_msg_len(msg) : 0;

	if (m != NULL && len > 0) {
		m->bytes = malloc(len);
		if (m->bytes == NULL) {
			free(m);
			m = NULL;
		} else {
			memcpy(m->bytes, nng_msg_body(msg), len);
		}
	}
	if (msg != NULL)
		nng_msg_free(msg);
	pthread_mutex_lock(&f->mu);
	if (m == NULL || f->stopping || (f->ninbox >= FED_INBOX_MAX &&
	    kind != FED_IN_DONE)) {
		f->st.inbox_dropped++;
		pthread_mutex_unlock(&f->mu);
		fed_msg_free(m);
		return;
	}
	m->kind = kind;
	m->len = len;
	m->token = token;
	m->cookie = cookie;
	m->err = err;
	if (peer != NULL)
		snprintf(m->peer, sizeof(m->peer), "%s", peer);
	if (f->tail != NULL)
		f->tail->next = m;
	else
		f->head = m;
	f->tail = m;
	f->ninbox++;
	pthread_mutex_unlock(&f->mu);
	uv_async_send(&f->wake);
}

static void
on_wake(uv_async_t *h)
{
	struct fed *f = h->data;
	struct fed_msg *m, *next;

	pthread_mutex_lock(&f->mu);
	m = f->head;
	f->head = f->tail = NULL;
	f->ninbox = 0;
	pthread_mutex_unlock(&f->mu);
	for (; m != NULL; m = next) {
		next = m->next;
		m->next = NULL;
		f->deliver(f->ctx, m);
	}
}

/* ---- TLS ---- */

/* Reads a PEM file; a private one (`secret`) that group or others may
 * read is refused, as the signing key is. */
static int
read_pem(const char *path, char **out, struct mrx_diag *diag,
    const char *key, bool secret)
{
	FILE *fp = fopen(path, "rb");
	struct stat st;
	char *b;
	size_t n;

	if (fp == NULL)
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET, key,
		    "%s: %s (make one with mrx init or mrx cert)", path,
		    strerror(errno));
	if (secret && (fstat(fileno(fp), &st) != 0 ||
	    (st.st_mode & 077) != 0)) {
		fclose(fp);
		return mrx_diag_set(diag, MRX_EPERM, MRX_DIAG_NO_OFFSET, key,
		    "%s: a private key that group or others may read (mode "
		    "%03o); chmod 600 it", path, (unsigned)(st.st_mode & 0777));
	}
	b = malloc(FED_PEM_MAX + 1);
	if (b == NULL) {
		fclose(fp);
		return MRX_ENOMEM;
	}
	n = fread(b, 1, FED_PEM_MAX + 1, fp);
	fclose(fp);
	if (n == 0 || n > FED_PEM_MAX) {
		free(b);
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET, key,
		    "%s: %s", path, n == 0 ? "empty" : "over 64 KiB");
	}
	b[n] = '\0';
	*out = b;
	return 0;
}

/*
 * A TLS configuration: the CA bundle, this node's certificate, and a
 * certificate demanded of the other side. `server_name` (client mode)
 * is what the server's certificate must name.
 */
static int
tls_config(struct fed *f, bool server, const char *server_name,
    nng_tls_config **out, struct mrx_diag *diag)
{
	nng_tls_config *cfg;
	int rv;

	rv = nng_tls_config_alloc(&cfg, server ? NNG_TLS_MODE_SERVER :
	    NNG_TLS_MODE_CLIENT);
	if (rv != 0)
		return mrx_diag_set(diag, MRX_ECRYPTO, MRX_DIAG_NO_OFFSET,
		    "federation.tls", "TLS is not available: %s",
		    nng_strerror(rv));
	rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED);
	if (rv == 0)
		rv = nng_tls_config_ca_file(cfg, f->ca_path);
	if (rv != 0) {
		nng_tls_config_free(cfg);
		return mrx_diag_set(diag, MRX_ECRYPTO, MRX_DIAG_NO_OFFSET,
		    "federation.tls.ca", "%s: %s", f->ca_path,
		    nng_strerror(rv));
	}
	rv = nng_tls_config_own_cert(cfg, f->cert_pem, f->key_pem, NULL);
	if (rv != 0) {
		nng_tls_config_free(cfg);
		return mrx_diag_set(diag, MRX_ECRYPTO, MRX_DIAG_NO_OFFSET,
		    "federation.tls.cert", "the certificate or its key is "
		    "not usable: %s", nng_strerror(rv));
	}
	if (server_name != NULL && server_name[0] != '\0') {
		rv = nng_tls_config_server_name(cfg, server_name);
		if (rv != 0) {
			nng_tls_config_free(cfg);
			return mrx_diag_set(diag, MRX_ECRYPTO,
			    MRX_DIAG_NO_OFFSET, "federation.tls", "server "
			    "name %s: %s", server_name, nng_strerror(rv));
		}
	}
	*out = cfg;
	return 0;
}

/* ---- dialers and listeners ---- */

static int
listen_on(struct fed *f, nng_socket s, const char *url, const char *key,
    struct mrx_diag *diag)
{
	nng_listener l;
	int rv;

	rv = nng_listener_create(&l, s, url);
	if (rv == 0 && conf_url_tls(url))
		rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG,
		    f->tls_server);
	if (rv == 0)
		rv = nng_listener_start(l, 0);
	if (rv != 0)
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET, key,
		    "cannot listen on %s: %s", url, nng_strerror(rv));
	return 0;
}

/*
 * Dials `url`; over TLS the server's certificate must name `peer` (a DNS
 * name: every node certificate carries DNS:<node id>, and mbedTLS matches
 * no IP address), so the peer's identity does not hang on its address.
 */
static int
dial(struct fed *f, nng_socket s, const char *url, const char *peer,
    const char *key, struct mrx_diag *diag)
{
	nng_tls_config *cfg = NULL;
	nng_dialer d;
	int rv, rc;

	rv = nng_dialer_create(&d, s, url);
	if (rv != 0)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET, key,
		    "cannot dial %s: %s", url, nng_strerror(rv));
	if (conf_url_tls(url)) {
		rc = tls_config(f, false, peer, &cfg, diag);
		if (rc != 0)
			return rc;
		rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
		nng_tls_config_free(cfg);	/* the dialer holds it */
	}
	if (rv == 0)
		rv = nng_dialer_set_ms(d, NNG_OPT_RECONNMINT,
		    FED_RECONNECT_MIN_MS);
	if (rv == 0)
		rv = nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT,
		    FED_RECONNECT_MAX_MS);
	if (rv == 0)
		rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK);
	if (rv != 0)
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET, key,
		    "cannot dial %s: %s", url, nng_strerror(rv));
	return 0;
}

/* Options every socket gets. */
static int
sock_opts(nng_socket s)
{
	int rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, FED_RECV_MAX);

	if (rv == 0)
		rv = nng_socket_set_ms(s, NNG_OPT_RECONNMINT,
		    FED_RECONNECT_MIN_MS);
	if (rv == 0)
		rv = nng_socket_set_ms(s, NNG_OPT_RECONNMAXT,
		    FED_RECONNECT_MAX_MS);
	return rv;
}

static int
open_err(struct mrx_diag *diag, const char *what, int rv)
{
	return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET, "federation",
	    "cannot open the %s socket: %s", what, nng_strerror(rv));
}

/* ---- the sub socket ---- */

static void
on_sub(void *arg)
{
	struct fed *f = arg;
	int rv = nng_aio_result(f->sub_aio);

	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
		return;
	if (rv == 0) {
		pthread_mutex_lock(&f->mu);
		f->st.in_feed++;
		pthread_mutex_unlock(&f->mu);
		inbox_push(f, FED_IN_FEED, nng_aio_get_msg(f->sub_aio), 0, 0,
		    0, NULL);
	} else {
		pthread_mutex_lock(&f->mu);
		f->st.recv_errors++;
		pthread_mutex_unlock(&f->mu);
	}
	nng_recv_aio(f->sub, f->sub_aio);
}

/* ---- rep and respondent contexts ---- */

static uint64_t
srv_token(const struct fed_srv *c)
{
	return ((uint64_t)c->gen << 32) | ((uint64_t)c->respondent << 31) |
	    c->idx;
}

static void
on_srv(void *arg)
{
	struct fed_srv *c = arg;
	struct fed *f = c->f;
	int rv = nng_aio_result(c->aio);
	nng_msg *m;

	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
		return;
	m = rv == 0 ? nng_aio_get_msg(c->aio) : NULL;
	pthread_mutex_lock(&f->mu);
	if (m == NULL) {
		/* a send (our answer) finished, or a receive failed */
		if (rv != 0)
			f->st.recv_errors++;
		c->waiting = false;
		pthread_mutex_unlock(&f->mu);
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	/* a request (or survey) arrived: the loop answers */
	c->gen++;
	c->waiting = true;
	if (c->respondent)
		f->st.in_surveys++;
	else
		f->st.in_requests++;
	pthread_mutex_unlock(&f->mu);
	inbox_push(f, c->respondent ? FED_IN_SURVEY : FED_IN_REQUEST, m,
	    srv_token(c), 0, 0, NULL);
}

static int
srv_answer(struct fed *f, uint64_t token, const uint8_t *b, size_t len)
{
	bool resp = (token >> 31) & 1;
	unsigned idx = (unsigned)(token & 0x7fffffffu);
	struct fed_srv *c;
	nng_msg *m = NULL;

	if (idx >= FED_REP_CONTEXTS)
		return MRX_EINVAL;
	c = resp ? &f->resp_ctx[idx] : &f->rep_ctx[idx];
	pthread_mutex_lock(&f->mu);
	if (!c->waiting || srv_token(c) != token || f->stopping) {
		pthread_mutex_unlock(&f->mu);
		return MRX_ENOENT;
	}
	c->waiting = false;
	f->st.replies += b != NULL;
	pthread_mutex_unlock(&f->mu);
	if (b != NULL && nng_msg_alloc(&m, len) == 0) {
		memcpy(nng_msg_body(m), b, len);
		nng_aio_set_msg(c->aio, m);
		nng_ctx_send(c->ctx, c->aio);
		return 0;
	}
	/* no answer: receiving again discards the request */
	nng_ctx_recv(c->ctx, c->aio);
	return b != NULL ? MRX_ENOMEM : 0;
}

int
fed_reply(struct fed *f, uint64_t token, const uint8_t *b, size_t len)
{
	return srv_answer(f, token, b, len);
}

int
fed_respond(struct fed *f, uint64_t token, const uint8_t *b, size_t len)
{
	return srv_answer(f, token, b, len);
}

static int
srv_start(struct fed *f, nng_socket s, struct fed_srv *ctxs, bool resp)
{
	unsigned i;
	int rv;

	for (i = 0; i < FED_REP_CONTEXTS; i++) {
		ctxs[i].f = f;
		ctxs[i].idx = i;
		ctxs[i].respondent = resp;
		rv = nng_aio_alloc(&ctxs[i].aio, on_srv, &ctxs[i]);
		if (rv == 0)
			rv = nng_ctx_open(&ctxs[i].ctx, s);
		if (rv != 0)
			return rv;
		nng_ctx_recv(ctxs[i].ctx, ctxs[i].aio);
	}
	return 0;
}

/* ---- this node's requests and surveys ---- */

static void
out_release(struct fed_out *o)
{
	struct fed *f = o->f;

	nng_ctx_close(o->ctx);
	pthread_mutex_lock(&f->mu);
	o->busy = false;
	o->next_free = f->free_out;
	f->free_out = o;
	f->st.out_inflight--;
	pthread_mutex_unlock(&f->mu);
}

static void
on_out(void *arg)
{
	struct fed_out *o = arg;
	struct fed *f = o->f;
	int rv = nng_aio_result(o->aio);

	if (rv == 0 && !o->sent) {
		o->sent = true;
		nng_ctx_recv(o->ctx, o->aio);
		return;
	}
	if (rv == 0) {
		inbox_push(f, o->survey ? FED_IN_SURVEY_ANSWER :
		    FED_IN_RESPONSE, nng_aio_get_msg(o->aio), 0, o->cookie, 0,
		    o->peer);
		pthread_mutex_lock(&f->mu);
		f->st.in_responses++;
		pthread_mutex_unlock(&f->mu);
		if (o->survey) {
			nng_ctx_recv(o->ctx, o->aio);
			return;
		}
		out_release(o);
		return;
	}
	if (rv != 0 && o->sent == false) {
		nng_msg *m = nng_aio_get_msg(o->aio);

		if (m != NULL)
			nng_msg_free(m);
	}
	/* a survey ends with a timeout: that is its normal end */
	if (!(o->survey && rv == NNG_ETIMEDOUT)) {
		pthread_mutex_lock(&f->mu);
		f->st.request_failures++;
		pthread_mutex_unlock(&f->mu);
	}
	inbox_push(f, FED_IN_DONE, NULL, 0, o->cookie,
	    o->survey && rv == NNG_ETIMEDOUT ? 0 : rv, o->peer);
	out_release(o);
}

static struct fed_out *
out_take(struct fed *f)
{
	struct fed_out *o;

	pthread_mutex_lock(&f->mu);
	o = f->free_out;
	if (o != NULL) {
		f->free_out = o->next_free;
		o->busy = true;
		o->sent = false;
		f->st.out_inflight++;
	}
	pthread_mutex_unlock(&f->mu);
	return o;
}

static void
out_untake(struct fed *f, struct fed_out *o)
{
	pthread_mutex_lock(&f->mu);
	o->busy = false;
	o->next_free = f->free_out;
	f->free_out = o;
	f->st.out_inflight--;
	pthread_mutex_unlock(&f->mu);
}

static int
out_send(struct fed *f, nng_socket s, struct fed_out *o, const uint8_t *b,
    size_t len, int timeout_ms)
{
	nng_msg *m;
	int rv;

	rv = nng_ctx_open(&o->ctx, s);
	if (rv != 0) {
		out_untake(f, o);
		return MRX_EIO;
	}
	if (o->survey)
		(void)nng_ctx_set_ms(o->ctx, NNG_OPT_SURVEYOR_SURVEYTIME,
		    FED_SURVEY_MS);
	if (nng_msg_alloc(&m, len) != 0) {
		nng_ctx_close(o->ctx);
		out_untake(f, o);
		return MRX_ENOMEM;
	}
	memcpy(nng_msg_body(m), b, len);
	nng_aio_set_timeout(o->aio, timeout_ms);
	nng_aio_set_msg(o->aio, m);
	nng_ctx_send(o->ctx, o->aio);
	return 0;
}

int
fed_request(struct fed *f, const char *peer, const uint8_t *b, size_t len,
    uint64_t cookie, int timeout_ms)
{
	struct fed_out *o;
	size_t i;

	for (i = 0; i < f->npeers; i++)
		if (strcmp(f->peers[i].id, peer) == 0)
			break;
	if (i == f->npeers || !f->peers[i].has_req)
		return MRX_ENOENT;
	o = out_take(f);
	if (o == NULL)
		return MRX_ENOSPC;
	o->survey = false;
	o->cookie = cookie;
	snprintf(o->peer, sizeof(o->peer), "%s", peer);
	pthread_mutex_lock(&f->mu);
	f->st.requests++;
	pthread_mutex_unlock(&f->mu);
	return out_send(f, f->peers[i].req, o, b, len, timeout_ms);
}

int
fed_survey(struct fed *f, const uint8_t *b, size_t len, uint64_t cookie)
{
	struct fed_out *o;

	if (!f->has_surv)
		return MRX_ENOENT;
	o = out_take(f);
	if (o == NULL)
		return MRX_ENOSPC;
	o->survey = true;
	o->cookie = cookie;
	o->peer[0] = '\0';
	return out_send(f, f->surv, o, b, len, FED_SURVEY_MS + 500);
}

int
fed_publish(struct fed *f, const uint8_t *b, size_t len)
{
	nng_msg *m;
	int rv;

	if (!f->has_pub)
		return MRX_ENOENT;
	if (nng_msg_alloc(&m, len) != 0)
		return MRX_ENOMEM;
	memcpy(nng_msg_body(m), b, len);
	rv = nng_sendmsg(f->pub, m, NNG_FLAG_NONBLOCK);
	if (rv != 0) {
		nng_msg_free(m);
		return MRX_EIO;
	}
	f->pub_last_ns = uv_hrtime();
	pthread_mutex_lock(&f->mu);
	f->st.published++;
	pthread_mutex_unlock(&f->mu);
	return 0;
}

void
fed_stats_get(struct fed *f, struct fed_stats *out)
{
	pthread_mutex_lock(&f->mu);
	*out = f->st;
	pthread_mutex_unlock(&f->mu);
}

/* ---- start and stop ---- */

static bool
any_tls(const struct node_conf *c)
{
	const struct conf_fed *fd = &c->fed;
	size_t i;

	if (conf_url_tls(fd->listen) || conf_url_tls(fd->publish) ||
	    conf_url_tls(fd->survey))
		return true;
	for (i = 0; i < fd->npeers; i++)
		if (conf_url_tls(fd->peers[i].feed) ||
		    conf_url_tls(fd->peers[i].requests) ||
		    conf_url_tls(fd->peers[i].survey))
			return true;
	return false;
}

static int
start_sockets(struct fed *f, const struct node_conf *c,
    struct mrx_diag *diag)
{
	const struct conf_fed *fd = &c->fed;
	char key[64];
	size_t i;
	int rv, rc;

	if (any_tls(c)) {
		snprintf(f->ca_path, sizeof(f->ca_path), "%s", fd->tls_ca);
		rc = read_pem(fd->tls_cert, &f->cert_pem, diag,
		    "federation.tls.cert", false);
		if (rc == 0)
			rc = read_pem(fd->tls_key, &f->key_pem, diag,
			    "federation.tls.key", true);
		if (rc == 0)
			rc = tls_config(f, true, NULL, &f->tls_server, diag);
		if (rc != 0)
			return rc;
	}
	if (fd->publish[0] != '\0') {
		if ((rv = nng_pub0_open(&f->pub)) != 0)
			return open_err(diag, "pub", rv);
		f->has_pub = true;
		if ((rv = sock_opts(f->pub)) != 0)
			return open_err(diag, "pub", rv);
		rc = listen_on(f, f->pub, fd->publish, "federation.publish",
		    diag);
		if (rc != 0)
			return rc;
	}
	if (fd->listen[0] != '\0') {
		if ((rv = nng_rep0_open(&f->rep)) != 0)
			return open_err(diag, "rep", rv);
		f->has_rep = true;
		if ((rv = sock_opts(f->rep)) != 0 ||
		    (rv = srv_start(f, f->rep, f->rep_ctx, false)) != 0)
			return open_err(diag, "rep", rv);
		rc = listen_on(f, f->rep, fd->listen, "federation.listen",
		    diag);
		if (rc != 0)
			return rc;
	}
	if (fd->survey[0] != '\0') {
		if ((rv = nng_respondent0_open(&f->resp)) != 0)
			return open_err(diag, "respondent", rv);
		f->has_resp = true;
		if ((rv = sock_opts(f->resp)) != 0 ||
		    (rv = srv_start(f, f->resp, f->resp_ctx, true)) != 0)
			return open_err(diag, "respondent", rv);
		rc = listen_on(f, f->resp, fd->survey, "federation.survey",
		    diag);
		if (rc != 0)
			return rc;
	}
	f->peers = calloc(fd->npeers + 1, sizeof(*f->peers));
	if (f->peers == NULL)
		return MRX_ENOMEM;
	for (i = 0; i < fd->npeers; i++) {
		const struct conf_peer *p = &fd->peers[i];

		snprintf(f->peers[i].id, sizeof(f->peers[i].id), "%s", p->id);
		f->npeers++;
		if (p->feed[0] != '\0') {
			if (!f->has_sub) {
				if ((rv = nng_sub0_open(&f->sub)) != 0)
					return open_err(diag, "sub", rv);
				f->has_sub = true;
				if ((rv = sock_opts(f->sub)) != 0 ||
				    (rv = nng_socket_set(f->sub,
				    NNG_OPT_SUB_SUBSCRIBE, "", 0)) != 0)
					return open_err(diag, "sub", rv);
			}
			snprintf(key, sizeof(key), "federation.peers[%zu].feed",
			    i);
			rc = dial(f, f->sub, p->feed, p->id, key, diag);
			if (rc != 0)
				return rc;
		}
		if (p->requests[0] != '\0') {
			if ((rv = nng_req0_open(&f->peers[i].req)) != 0)
				return open_err(diag, "req", rv);
			f->peers[i].has_req = true;
			/* no blind resend: a request is answered or fails */
			if ((rv = sock_opts(f->peers[i].req)) != 0 ||
			    (rv = nng_socket_set_ms(f->peers[i].req,
			    NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE)) !=
			    0)
				return open_err(diag, "req", rv);
			snprintf(key, sizeof(key),
			    "federation.peers[%zu].requests", i);
			rc = dial(f, f->peers[i].req, p->requests, p->id, key,
			    diag);
			if (rc != 0)
				return rc;
		}
		if (p->survey[0] != '\0') {
			if (!f->has_surv) {
				if ((rv = nng_surveyor0_open(&f->surv)) != 0)
					return open_err(diag, "surveyor", rv);
				f->has_surv = true;
				if ((rv = sock_opts(f->surv)) != 0)
					return open_err(diag, "surveyor", rv);
			}
			snprintf(key, sizeof(key),
			    "federation.peers[%zu].survey", i);
			rc = dial(f, f->surv, p->survey, p->id, key, diag);
			if (rc != 0)
				return rc;
		}
	}
	if (f->has_sub) {
		if ((rv = nng_aio_alloc(&f->sub_aio, on_sub, f)) != 0)
			return open_err(diag, "sub", rv);
		nng_recv_aio(f->sub, f->sub_aio);
	}
	return 0;
}

int
fed_start(uv_loop_t *loop, const struct node_conf *c, fed_deliver_fn fn,
    void *ctx, struct fed **out, struct mrx_diag *diag)
{
	struct fed *f = calloc(1, sizeof(*f));
	size_t i;
	int rc;

	if (f == NULL)
		return MRX_ENOMEM;
	f->loop = loop;
	f->deliver = fn;
	f->ctx = ctx;
	pthread_mutex_init(&f->mu, NULL);
	for (i = FED_OUT_MAX; i > 0; i--) {
		f->out[i - 1].f = f;
		if (nng_aio_alloc(&f->out[i - 1].aio, on_out,
		    &f->out[i - 1]) != 0) {
			/* the slots made so far are freed by fed_stop */
			uv_async_init(loop, &f->wake, on_wake);
			f->wake.data = f;
			fed_stop(f);
			return MRX_ENOMEM;
		}
		f->out[i - 1].next_free = f->free_out;
		f->free_out = &f->out[i - 1];
	}
	rc = uv_async_init(loop, &f->wake, on_wake);
	if (rc != 0) {
		for (i = 0; i < FED_OUT_MAX; i++)
			nng_aio_free(f->out[i].aio);
		pthread_mutex_destroy(&f->mu);
		free(f);
		return MRX_EIO;
	}
	f->wake.data = f;
	rc = start_sockets(f, c, diag);
	if (rc != 0) {
		fed_stop(f);
		return rc;
	}
	*out = f;
	return 0;
}

static void
on_wake_closed(uv_handle_t *h)
{
	struct fed *f = h->data;
	struct fed_msg *m, *next;

	for (m = f->head; m != NULL; m = next) {
		next = m->next;
		fed_msg_free(m);
	}
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static void
srv_stop(struct fed_srv *ctxs)
{
	unsigned i;

	for (i = 0; i < FED_REP_CONTEXTS; i++)
		if (ctxs[i].aio != NULL)
			nng_aio_stop(ctxs[i].aio);
}

static void
srv_free(struct fed_srv *ctxs)
{
	unsigned i;

	for (i = 0; i < FED_REP_CONTEXTS; i++)
		if (ctxs[i].aio != NULL)
			nng_aio_free(ctxs[i].aio);
}

/*
 * Stops every operation, then closes the sockets and frees what nng held.
 * Runs on the stop's closer thread (or inline if it cannot start).
 */
static void
close_all(struct fed *f)
{
	size_t i;

	/* stop every operation first: no callback runs after this */
	if (f->sub_aio != NULL)
		nng_aio_stop(f->sub_aio);
	srv_stop(f->rep_ctx);
	srv_stop(f->resp_ctx);
	for (i = 0; i < FED_OUT_MAX; i++)
		if (f->out[i].aio != NULL)
			nng_aio_stop(f->out[i].aio);
	if (f->has_pub)
		nng_close(f->pub);
	if (f->has_sub)
		nng_close(f->sub);
	if (f->has_rep)
		nng_close(f->rep);
	if (f->has_resp)
		nng_close(f->resp);
	if (f->has_surv)
		nng_close(f->surv);
	for (i = 0; i < f->npeers; i++)
		if (f->peers[i].has_req)
			nng_close(f->peers[i].req);
	if (f->sub_aio != NULL)
		nng_aio_free(f->sub_aio);
	srv_free(f->rep_ctx);
	srv_free(f->resp_ctx);
	for (i = 0; i < FED_OUT_MAX; i++)
		if (f->out[i].aio != NULL)
			nng_aio_free(f->out[i].aio);
	if (f->tls_server != NULL)
		nng_tls_config_free(f->tls_server);
}

static void *
closer_main(void *arg)
{
	struct fed *f = arg;

	close_all(f);
	pthread_mutex_lock(&f->mu);
	f->closed = true;
	pthread_cond_signal(&f->close_cv);
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/* A condition variable whose waits time out on CLOCK_MONOTONIC. */
static int
closer_cv_init(pthread_cond_t *cv)
{
	pthread_condattr_t a;
	int rc;

	if ((rc = pthread_condattr_init(&a)) != 0)
		return rc;
	rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
	return rc;
}

/* Waits for the closer until FED_CLOSE_MAX_S from now; whether it ended. */
static bool
closer_wait(struct fed *f)
{
	struct timespec until;
	bool closed;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += FED_CLOSE_MAX_S;
	pthread_mutex_lock(&f->mu);
	while (!f->closed && pthread_cond_timedwait(&f->close_cv, &f->mu,
	    &until) != ETIMEDOUT)
		;
	closed = f->closed;
	pthread_mutex_unlock(&f->mu);
	return closed;
}

/* The pub socket's last publish was under FED_PUB_DRAIN_MS ago: wait. */
static void
pub_drain(const struct fed *f)
{
	uint64_t now = uv_hrtime(), until;
	struct timespec ts;

	if (!f->has_pub || f->pub_last_ns == 0)
		return;
	until = f->pub_last_ns + (uint64_t)FED_PUB_DRAIN_MS * 1000000u;
	if (now >= until)
		return;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(until - now);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * nng 1.5.2 can hang in nng_aio_stop() or nng_close() when a pipe closes
 * while a send is under way (docs/design-notes.md, "Stopping right after a
 * burst of feed messages"); later nng releases fix it. So a burst gets
 * FED_PUB_DRAIN_MS to leave, and the closing runs on a thread of its own
 * that the stop waits for at most FED_CLOSE_MAX_S: after that the node
 * stops without it (everything it stored is committed; the peers see their
 * connections drop at exit), and `f` is left to that thread, never freed,
 * since nng may still call back into it (inbox_push drops what comes once
 * f->stopping is set).
 */
bool
fed_stop(struct fed *f)
{
	pthread_t t;
	bool closed = true;

	if (f == NULL)
		return true;
	pthread_mutex_lock(&f->mu);
	f->stopping = true;
	pthread_mutex_unlock(&f->mu);
	pub_drain(f);
	if (closer_cv_init(&f->close_cv) == 0) {
		if (pthread_create(&t, NULL, closer_main, f) == 0) {
			closed = closer_wait(f);
			if (closed)
				pthread_join(t, NULL);
			else
				pthread_detach(t);
		} else {
			close_all(f);
		}
		if (closed)
			pthread_cond_destroy(&f->close_cv);
	} else {
		close_all(f);
	}
	/* nng parsed the PEM into its own TLS configuration at start */
	free(f->cert_pem);
	if (f->key_pem != NULL) {
		explicit_bzero(f->key_pem, strlen(f->key_pem));
		free(f->key_pem);
	}
	f->cert_pem = f->key_pem = NULL;
	if (!closed) {
		uv_close((uv_handle_t *)&f->wake, NULL);
		return false;
	}
	free(f->peers);
	uv_close((uv_handle_t *)&f->wake, on_wake_closed);
	return true;
}
