/*
 * fednode.c - federation on the loop thread (fednode.h).
 */
#include "fednode.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cli_util.h"
#include "envelope.h"
#include "fed.h"
#include "fedmsg.h"
#include "log.h"
#include "mrxd.h"

#define FED_VIA_MAX 1024		/* issuers whose feed came via a peer */
#define FED_WAIT_MAX 1024		/* HTTP exchanges waiting for peers */
#define FED_SEND_MAX 65536		/* sends waiting for the commit */
/* records of one catch-up response: what one envelope body holds */
#define FED_CATCHUP_BYTES (PROTO_ENV_BODY_MAX - 16u * 1024u)
#define FED_PRESENT_TIMEOUT_MS 5000
#define FED_LOOKUP_MAX 64
#define FED_RELAYED_RING 1024		/* records relayed lately, by hash */
#define FED_TRUST_SYNC_TICKS 30		/* ask peers for trust records every
					 * this many ticks (and at start) */
#define FED_TRUST_URI "/trust"		/* mrx://<node>/trust: its trust
					 * records, in a catch-up request */

/* Something to send once the turn's transaction has committed. */
struct fed_send {
	uint64_t cseq;			/* the commit it waits for; 0: the
					 * open transaction's */
	bool reply;			/* a reply to token, else a publish */
	uint64_t token;
	uint8_t *b;			/* sealed envelope, malloc'd */
	size_t len;
};

/* A decision waiting for what issuers' logs say (node_fed_check_logs). */
struct log_job {
	node_fed_log_fn fn;
	void *arg;
	const uint8_t *b[2];		/* the record, the certification */
	size_t len[2];
	enum proto_log_check log[2];
	int pending;
};

/* An HTTP exchange (or a catch-up) waiting for a peer's answer. */
struct fed_wait {
	bool used;
	uint64_t cookie;
	enum proto_msg_type type;	/* what was asked */
	struct http_exchange *x;	/* NULL for a catch-up */
	char peer[PROTO_ID_MAX + 1];
	json_t *found;			/* look-up: answers so far */
	char issuer[PROTO_ID_MAX + 1];	/* catch-up: the feed */
	char uri[PROTO_URI_MAX + 1];
	struct log_job *job;		/* fetch: the decision waiting */
	int which;			/* 0 the record, 1 the certification */
};

/* Which peer a foreign issuer's feed came through. */
struct fed_via {
	char issuer[PROTO_ID_MAX + 1];
	char peer[PROTO_ID_MAX + 1];
};

struct node_fed {
	struct fed *fed;
	struct proto_peer_table *peers;
	struct cry_key *keys[CONF_PEERS_MAX];
	uv_timer_t tick;
	bool tick_on;
	uint64_t ticks;
	struct fed_send *sends;
	size_t nsends;
	struct fed_wait wait[FED_WAIT_MAX];
	uint64_t next_cookie;
	struct fed_via via[FED_VIA_MAX];
	size_t nvia;
	uint8_t relayed_ring[FED_RELAYED_RING][16]; /* SHA-256 prefixes */
	size_t relayed_next;
	uint8_t *buf;			/* scratch: a body or an envelope */
	size_t buf_cap;
	/* counters for /metrics */
	uint64_t refused[PROTO_REFUSE_COUNT];
	uint64_t in_by_type[PROTO_MSG_COUNT];
	uint64_t out_by_type[PROTO_MSG_COUNT];
	uint64_t relayed, trust_added, catchups_sent, catchups_served;
	uint64_t feed_taken, feed_dropped, body_malformed;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- envelopes ---- */

/* Seals `body` for `to` into a malloc'd buffer. */
static int
seal(struct node *n, const char *to, enum proto_msg_type type,
    const uint8_t *body, size_t len, uint8_t **out, size_t *out_len)
{
	uint8_t id[PROTO_ENV_ID_LEN], *b;
	size_t cap = PROTO_ENV_SIZE(len);
	int rc;

	if (cry_random(id, sizeof(id)) != 0)
		return MRX_ECRYPTO;
	b = malloc(cap);
	if (b == NULL)
		return MRX_ENOMEM;
	rc = proto_envelope_seal(n->key, n->conf.id, to, type, node_now(), id,
	    body, len, b, cap, out_len, NULL);
	if (rc != 0) {
		free(b);
		return rc;
	}
	*out = b;
	n->fedn->out_by_type[type]++;
	return 0;
}

/*
 * Opens and admits an envelope: 0 with *env filled, or a refusal (counted,
 * logged at debug: a flood must not flood the log).
 */
static int
admit(struct node *n, const uint8_t *b, size_t len, struct proto_envelope *env)
{
	struct node_fed *fn = n->fedn;
	enum proto_refusal why = PROTO_REFUSE_NONE;
	struct mrx_diag d;
	char m[300];
	int rc;

	mrx_diag_clear(&d);
	rc = proto_envelope_open(b, len, env, &why, &d);
	if (rc == 0)
		rc = proto_peer_check(fn->peers, env, n->conf.id, &why, &d);
	if (rc == 0)
		rc = proto_peer_accept(fn->peers, env, now_ms(), &why, &d);
	if (rc != 0) {
		fn->refused[why]++;
		log_msg(LOG_DEBUG, "peer", "message refused (%s) from %s: %s",
		    proto_refusal_name(why), rc == 0 || env->from[0] == '\0' ?
		    "?" : env->from, mrx_diag_str(&d, m, sizeof(m)));
		return rc;
	}
	fn->in_by_type[env->type]++;
	return 0;
}

/* ---- after-commit sends ---- */

/*
 * A message that may depend on the store's state (a published record, an
 * answer read from the store) leaves only once everything committed before
 * it is durable: a subscriber must never hold a delta its issuer could
 * lose in a crash and then sign differently.
 */
static int
queue_send(struct node *n, bool reply, uint64_t token, uint8_t *b, size_t len)
{
	struct node_fed *fn = n->fedn;
	struct fed_send *s;

	if (!node_undurable(n)) {
		int rc = reply ? fed_reply(fn->fed, token, b, len) :
		    fed_publish(fn->fed, b, len);

		free(b);
		return rc;
	}
	if (fn->nsends == FED_SEND_MAX) {
		free(b);
		return MRX_ENOSPC;
	}
	s = &fn->sends[fn->nsends++];
	s->cseq = n->txn_open ? 0 : n->commits;
	s->reply = reply;
	s->token = token;
	s->b = b;
	s->len = len;
	return 0;
}

/* Sends (ok) or drops sends[from, to) and closes the gap. */
static void
flush_sends(struct node_fed *fn, size_t from, size_t to, bool ok)
{
	size_t i;

	for (i = from; i < to; i++) {
		struct fed_send *s = &fn->sends[i];

		if (ok && s->reply)
			fed_reply(fn->fed, s->token, s->b, s->len);
		else if (ok)
			fed_publish(fn->fed, s->b, s->len);
		else if (s->reply)
			fed_reply(fn->fed, s->token, NULL, 0);
		free(s->b);
	}
	memmove(fn->sends + from, fn->sends + to,
	    (fn->nsends - to) * sizeof(*fn->sends));
	fn->nsends -= to - from;
}

void
node_fed_committed(struct node *n, uint64_t cseq)
{
	struct node_fed *fn = n->fedn;
	size_t i;

	if (fn == NULL)
		return;
	i = fn->nsends;
	while (i > 0 && fn->sends[i - 1].cseq == 0)
		i--;
	if (cseq == 0) {
		flush_sends(fn, i, fn->nsends, false);
		return;
	}
	for (; i < fn->nsends; i++)
		fn->sends[i].cseq = cseq;
}

void
node_fed_durable(struct node *n, uint64_t upto, bool ok)
{
	struct node_fed *fn = n->fedn;
	size_t k;

	if (fn == NULL)
		return;
	if (!ok) {
		flush_sends(fn, 0, fn->nsends, false);
		return;
	}
	for (k = 0; k < fn->nsends && fn->sends[k].cseq != 0 &&
	    fn->sends[k].cseq <= upto; k++)
		;
	flush_sends(fn, 0, k, true);
}

/* Seals and sends (after the commit) an answer to `token`. */
static void
answer(struct node *n, uint64_t token, const char *to, enum proto_msg_type t,
    const uint8_t *body, size_t len)
{
	uint8_t *b;
	size_t bl;

	if (seal(n, to, t, body, len, &b, &bl) != 0) {
		fed_reply(n->fedn->fed, token, NULL, 0);
		return;
	}
	queue_send(n, true, token, b, bl);
}

static void
refuse(struct node *n, uint64_t token, const char *to, const char *code,
    const char *msg)
{
	uint8_t body[512];
	size_t len;

	if (proto_refusal_encode(code, msg, body, sizeof(body), &len) != 0) {
		fed_reply(n->fedn->fed, token, NULL, 0);
		return;
	}
	answer(n, token, to, PROTO_MSG_REFUSAL, body, len);
}

int
node_fed_on_publish(struct node *n, const struct eng_publish *p)
{
	uint8_t *b;
	size_t len;
	int rc;

	if (n->fedn == NULL)
		return 0;
	rc = seal(n, PROTO_ENV_BROADCAST, PROTO_MSG_FEED_RECORD, p->bytes,
	    p->len, &b, &len);
	if (rc != 0)
		return rc;
	return queue_send(n, false, 0, b, len);
}

/* ---- waits ---- */

static struct fed_wait *
wait_new(struct node *n, enum proto_msg_type type, struct http_exchange *x,
    const char *peer)
{
	struct node_fed *fn = n->fedn;
	size_t i;

	for (i = 0; i < FED_WAIT_MAX; i++)
		if (!fn->wait[i].used) {
			struct fed_wait *w = &fn->wait[i];

			memset(w, 0, sizeof(*w));
			w->used = true;
			w->cookie = ++fn->next_cookie;
			w->type = type;
			w->x = x;
			snprintf(w->peer, sizeof(w->peer), "%s", peer);
			return w;
		}
	return NULL;
}

static struct fed_wait *
wait_find(struct node *n, uint64_t cookie)
{
	size_t i;

	for (i = 0; i < FED_WAIT_MAX; i++)
		if (n->fedn->wait[i].used && n->fedn->wait[i].cookie == cookie)
			return &n->fedn->wait[i];
	return NULL;
}

static void
wait_done(struct fed_wait *w)
{
	if (w->found != NULL)
		json_decref(w->found);
	memset(w, 0, sizeof(*w));
}

/* ---- JSON answers ---- */

static void
respond_json(struct http_exchange *x, int status, json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT |
	    JSON_PRESERVE_ORDER) : NULL;

	if (s == NULL) {
		static const char oom[] = "{\"error\":{\"code\":\"busy\","
		    "\"message\":\"out of memory\",\"field\":null}}";

		http_respond(x, 503, "application/json", oom, sizeof(oom) - 1,
		    NULL);
	} else {
		http_respond(x, status, "application/json", s, strlen(s),
		    NULL);
	}
	free(s);
	json_decref(j);
}

static void
respond_err(struct http_exchange *x, int status, const char *code,
    const char *field, const char *msg)
{
	respond_json(x, status, json_pack("{s:{s:s, s:s, s:o}}", "error",
	    "code", code, "message", msg, "field", field != NULL ?
	    json_string(field) : json_null()));
}

/* ---- feed records ---- */

static const char *
via_peer(const struct node_fed *fn, const char *issuer)
{
	size_t i;

	for (i = 0; i < fn->nvia; i++)
		if (strcmp(fn->via[i].issuer, issuer) == 0)
			return fn->via[i].peer;
	return NULL;
}

static void
via_note(struct node_fed *fn, const char *issuer, const char *peer)
{
	size_t i;

	for (i = 0; i < fn->nvia; i++)
		if (strcmp(fn->via[i].issuer, issuer) == 0) {
			snprintf(fn->via[i].peer, sizeof(fn->via[i].peer), "%s",
			    peer);
			return;
		}
	if (fn->nvia == FED_VIA_MAX)
		return;
	snprintf(fn->via[fn->nvia].issuer, sizeof(fn->via[0].issuer), "%s",
	    issuer);
	snprintf(fn->via[fn->nvia].peer, sizeof(fn->via[0].peer), "%s", peer);
	fn->nvia++;
}

static const struct conf_peer *
conf_peer(const struct node *n, const char *id)
{
	size_t i;

	for (i = 0; i < n->conf.fed.npeers; i++)
		if (strcmp(n->conf.fed.peers[i].id, id) == 0)
			return &n->conf.fed.peers[i];
	return NULL;
}

/* Which counter says why a record was not taken. */
static const char *
why_not(const struct eng_stats *a, const struct eng_stats *b)
{
	int i;

	if (b->feed_duplicates != a->feed_duplicates)
		return "duplicate";
	if (b->feed_stale != a->feed_stale)
		return "stale";
	for (i = 0; i < ENG_FEED_WHY_COUNT; i++)
		if (b->feed_refused[i] != a->feed_refused[i])
			return eng_feed_why_name((enum eng_feed_why)i);
	return "?";
}

/* Sum of the engine's counters that say "not taken". */
static uint64_t
not_taken(const struct eng_stats *st)
{
	uint64_t s = st->feed_duplicates + st->feed_stale;
	int i;

	for (i = 0; i < ENG_FEED_WHY_COUNT; i++)
		s += st->feed_refused[i];
	return s;
}

static void
relay(struct node *n, const char *from, const uint8_t *rec, size_t len)
{
	const struct conf_peer *p = from != NULL ? conf_peer(n, from) : NULL;
	uint8_t h[CRY_SHA256_LEN], *b;
	size_t bl, i;

	if (p == NULL || !p->relay || n->fedn->fed == NULL ||
	    cry_sha256(rec, len, h) != 0)
		return;
	/* each record once: two authorities that relay each other's feeds
	 * must not send a record back and forth */
	for (i = 0; i < FED_RELAYED_RING; i++)
		if (memcmp(n->fedn->relayed_ring[i], h, 16) == 0)
			return;
	memcpy(n->fedn->relayed_ring[n->fedn->relayed_next], h, 16);
	n->fedn->relayed_next = (n->fedn->relayed_next + 1) %
	    FED_RELAYED_RING;
	if (seal(n, PROTO_ENV_BROADCAST, PROTO_MSG_FEED_RECORD, rec, len, &b,
	    &bl) != 0)
		return;
	n->fedn->relayed++;
	fed_publish(n->fedn->fed, b, bl);
	free(b);
}

/*
 * A trust record from a feed: added to the trust store if new and valid,
 * stored, relayed. Returns true when it was new.
 */
static bool
take_trust(struct node *n, struct engine *e, struct proto_record *rec,
    const uint8_t *b, size_t len, bool store)
{
	uint8_t h[PROTO_HASH_LEN];
	struct mrx_diag d;
	char m[300];
	int rc;

	mrx_diag_clear(&d);
	if (proto_record_hash(rec, h) != 0 ||
	    proto_trust_holds(eng_trust(e), h))
		return false;		/* already held: not new */
	rc = proto_trust_add(eng_trust(e), b, len, node_now(),
	    n->conf.clock_skew_s, &d);
	if (rc == MRX_EEXIST)
		return false;
	if (rc != 0) {
		log_msg(LOG_WARN, "feed", "%s record refused: %s",
		    proto_rec_type_name(rec->type), mrx_diag_str(&d, m,
		    sizeof(m)));
		if (n->fedn != NULL)
			n->fedn->feed_dropped++;
		return false;
	}
	if (n->fedn != NULL)
		n->fedn->trust_added++;
	log_msg(LOG_INFO, "feed", "trust store: %s added",
	    proto_rec_type_name(rec->type));
	if (store && node_apply_begin(n) == 0)
		(void)store_put_trust(n->store, rec->type, h, b, len,
		    node_now(), NULL);
	return true;
}

/* Is `kid` the kid of the COSE_Sign1 `b`, in its protected header? */
static bool
signed_by_kid(const uint8_t *b, size_t len, const uint8_t *kid)
{
	struct cry_sign1 s;

	return kid != NULL && cry_sign1_decode(b, len, &s, NULL) == 0 &&
	    s.hdr.kid != NULL && s.hdr.kid_len == CRY_KID_LEN &&
	    s.hdr.kid >= s.hdr.prot && s.hdr.kid + CRY_KID_LEN <=
	    s.hdr.prot + s.hdr.prot_len &&
	    memcmp(s.hdr.kid, kid, CRY_KID_LEN) == 0;
}

/*
 * Hands one feed record to the engine (or the trust store). Returns true
 * when it was taken (new). `from` is the peer it came from (NULL: the
 * store at start-up). `env_kid`: the kid of the envelope that carried it
 * (verified): when the record is a feed record signed with that same key,
 * the envelope's signature already proves its issuer sent these bytes, and
 * the engine is told so (its verified-signature cache) instead of checking
 * a second signature by the same key over the same bytes.
 */
static bool
take_record(struct node *n, struct engine *e, const uint8_t *b, size_t len,
    const char *from, struct eng_actions *acts, const uint8_t *env_kid)
{
	struct eng_stats s0, s1;
	struct proto_record rec;
	struct eng_event ev;
	enum store_feed_kind kind;
	bool taken = false, storable = true;
	enum proto_rec_type rec_type;
	const char *iss;
	uint64_t seq = 0;
	char uri[PROTO_URI_MAX + 1];
	char issuer[PROTO_ID_MAX + 1];

	if (proto_record_decode(b, len, &rec, NULL) != 0) {
		if (n->fedn != NULL)
			n->fedn->feed_dropped++;
		return false;
	}
	switch (rec.type) {
	case PROTO_REC_DELEGATION:
	case PROTO_REC_KEY_REVOCATION:
	case PROTO_REC_AGREEMENT:
		taken = take_trust(n, e, &rec, b, len, from != NULL);
		proto_record_fini(&rec);
		return taken;
	case PROTO_REC_STATUS_LIST:
		seq = rec.u.sl.seq;
		iss = rec.u.sl.c.iss;
		snprintf(uri, sizeof(uri), "%s", rec.u.sl.c.sub);
		break;
	case PROTO_REC_STATUS_DELTA:
		seq = rec.u.sd.seq;
		iss = rec.u.sd.c.iss;
		snprintf(uri, sizeof(uri), "%s", rec.u.sd.c.sub);
		break;
	case PROTO_REC_CHECKPOINT:
		storable = false;
		iss = rec.u.cp.c.iss;
		snprintf(uri, sizeof(uri), "%s", rec.u.cp.c.sub);
		break;
	default:
		proto_record_fini(&rec);
		if (n->fedn != NULL)
			n->fedn->feed_dropped++;
		return false;
	}
	snprintf(issuer, sizeof(issuer), "%s", iss);
	kind = rec.type == PROTO_REC_STATUS_LIST ? STORE_FEED_LIST :
	    STORE_FEED_DELTA;
	rec_type = rec.type;
	proto_record_fini(&rec);
	if (strcmp(issuer, n->conf.id) == 0)
		return false;	/* our own, come back through a relay */
	if (env_kid != NULL && signed_by_kid(b, len, env_kid))
		eng_vcache_put(e, b, len);
	eng_stats_get(e, &s0);
	node_event_init(&ev, ENG_EV_FEED_RECORD);
	ev.u.feed.bytes = b;
	ev.u.feed.len = len;
	eng_actions_reset(acts);
	if (eng_handle(e, &ev, acts) != 0)
		return false;
	eng_stats_get(e, &s1);
	taken = not_taken(&s1) == not_taken(&s0);
	if (from == NULL)
		return taken;	/* restoring: nothing to store or apply */
	if (taken) {
		n->fedn->feed_taken++;
		if (kind == STORE_FEED_LIST || seq % 1000 == 1)
			log_msg(LOG_DEBUG, "feed", "%s of %s seq %llu taken",
			    proto_rec_type_name(rec_type), issuer,
			    (unsigned long long)seq);
	} else {
		n->fedn->feed_dropped++;
		log_msg(LOG_DEBUG, "feed", "%s record of %s from %s not taken: "
		    "%s", proto_rec_type_name(rec_type), issuer, from,
		    why_not(&s0, &s1));
	}
	via_note(n->fedn, issuer, from);
	if (node_apply(n, acts) != 0)
		return false;
	/* checkpoints are not kept: the next one supersedes them */
	if (taken && storable && node_apply_begin(n) == 0)
		(void)store_put_feed(n->store, issuer, uri, kind, seq, b, len,
		    NULL);
	return taken;
}

static void
on_feed(struct node *n, const struct fed_msg *m)
{
	struct proto_envelope env;

	if (admit(n, m->bytes, m->len, &env) != 0)
		return;
	if (env.type != PROTO_MSG_FEED_RECORD) {
		n->fedn->refused[PROTO_REFUSE_FORBIDDEN_TYPE]++;
		return;
	}
	if (take_record(n, n->eng, env.body, env.body_len, env.from, n->acts,
	    env.kid))
		relay(n, env.from, env.body, env.body_len);
}

/* ---- catch-up ---- */

void
node_fed_on_catchup(struct node *n, const struct eng_catchup *c)
{
	struct node_fed *fn = n->fedn;
	struct proto_catchup_req rq;
	const struct conf_peer *p;
	const char *to = NULL;
	struct fed_wait *w;
	uint8_t body[600], *b;
	size_t len, bl, i;

	if (fn == NULL || fn->fed == NULL)
		return;
	/* one catch-up of a feed at a time: the engine asks again after
	 * ENG_CATCHUP_RETRY_S, and an answer in flight would make a second
	 * request fetch the same range */
	for (i = 0; i < FED_WAIT_MAX; i++)
		if (fn->wait[i].used &&
		    fn->wait[i].type == PROTO_MSG_CATCHUP_REQUEST &&
		    strcmp(fn->wait[i].issuer, c->issuer) == 0 &&
		    strcmp(fn->wait[i].uri, c->uri) == 0)
			return;
	p = conf_peer(n, c->issuer);
	if (p != NULL && p->requests[0] != '\0')
		to = p->id;
	else if ((to = via_peer(fn, c->issuer)) != NULL &&
	    ((p = conf_peer(n, to)) == NULL || p->requests[0] == '\0'))
		to = NULL;
	for (i = 0; to == NULL && i < n->conf.fed.npeers; i++) {
		/* not learnt yet (at start): a peer whose feed this node
		 * follows and that takes requests, a relay most likely */
		p = &n->conf.fed.peers[i];
		if (p->feed[0] != '\0' && p->requests[0] != '\0')
			to = p->id;
	}
	if (to == NULL) {
		log_msg(LOG_DEBUG, "feed", "no peer to catch %s up from",
		    c->issuer);
		return;
	}
	memset(&rq, 0, sizeof(rq));
	snprintf(rq.issuer, sizeof(rq.issuer), "%s", c->issuer);
	snprintf(rq.uri, sizeof(rq.uri), "%s", c->uri);
	rq.from = c->from_seq;
	rq.max = ENG_CATCHUP_MAX;
	if (proto_catchup_req_encode(&rq, body, sizeof(body), &len) != 0)
		return;
	w = wait_new(n, PROTO_MSG_CATCHUP_REQUEST, NULL, to);
	if (w == NULL)
		return;
	snprintf(w->issuer, sizeof(w->issuer), "%s", c->issuer);
	snprintf(w->uri, sizeof(w->uri), "%s", c->uri);
	if (seal(n, to, PROTO_MSG_CATCHUP_REQUEST, body, len, &b, &bl) != 0) {
		wait_done(w);
		return;
	}
	if (fed_request(fn->fed, to, b, bl, w->cookie,
	    CONF_FED_REQUEST_TIMEOUT_MS) != 0) {
		wait_done(w);
	} else {
		fn->catchups_sent++;
		log_msg(LOG_DEBUG, "feed", "catch-up of %s %s from seq %llu "
		    "asked of %s", c->issuer, c->uri,
		    (unsigned long long)c->from_seq, to);
	}
	free(b);
}

struct batch {
	struct proto_bytes *recs;
	uint8_t **own;
	size_t n, max, bytes;
};

static int
batch_add(void *ctx, uint64_t seq, const uint8_t *b, size_t len)
{
	struct batch *bt = ctx;
	uint8_t *c;

	(void)seq;
	if (bt->n == bt->max || bt->bytes + len > FED_CATCHUP_BYTES)
		return 1;
	c = malloc(len);
	if (c == NULL)
		return 1;
	memcpy(c, b, len);
	bt->own[bt->n] = c;
	bt->recs[bt->n].p = c;
	bt->recs[bt->n].n = len;
	bt->n++;
	bt->bytes += len;
	return 0;
}

static void
batch_free(struct batch *bt)
{
	size_t i;

	for (i = 0; i < bt->n; i++)
		free(bt->own[i]);
	free(bt->own);
	free(bt->recs);
}

static bool
is_trust_uri(const char *node, const char *uri)
{
	char want[PROTO_URI_MAX + 1];

	snprintf(want, sizeof(want), "mrx://%s%s", node, FED_TRUST_URI);
	return strcmp(uri, want) == 0;
}

static int
trust_add_batch(void *ctx, enum proto_rec_type type, const uint8_t *b,
    size_t len)
{
	(void)type;
	return batch_add(ctx, 0, b, len);
}

/*
 * Answers a catch-up: own lists from the engine and the deltas table,
 * foreign ones from the stored feed, and mrx://<this node>/trust with the
 * trust records this node learned at run time (delegations, key
 * revocations, agreements), for a peer that was away when they were
 * published.
 */
static void
serve_catchup(struct node *n, uint64_t token, const struct proto_envelope *env)
{
	struct proto_catchup_req rq;
	struct batch bt;
	struct eng_event ev;
	const struct eng_reply *r = NULL;
	const uint8_t *lb;
	uint8_t *fl = NULL, *out;
	size_t ll, i, cap, len;
	uint64_t from, lseq;
	int rc;

	if (proto_catchup_req_decode(env->body, env->body_len, &rq, NULL) !=
	    0) {
		n->fedn->body_malformed++;
		refuse(n, token, env->from, "malformed", "not a catch-up "
		    "request");
		return;
	}
	memset(&bt, 0, sizeof(bt));
	/* at most PROTO_BATCH_MAX records (the list counts) in one body */
	bt.max = rq.max == 0 ? ENG_CATCHUP_DEFAULT : rq.max;
	if (bt.max > PROTO_BATCH_MAX)
		bt.max = PROTO_BATCH_MAX;
	bt.recs = calloc(bt.max, sizeof(*bt.recs));
	bt.own = calloc(bt.max, sizeof(*bt.own));
	if (bt.recs == NULL || bt.own == NULL) {
		batch_free(&bt);
		fed_reply(n->fedn->fed, token, NULL, 0);
		return;
	}
	from = rq.from;
	if (strcmp(rq.issuer, n->conf.id) == 0 && is_trust_uri(n->conf.id,
	    rq.uri)) {
		store_load_trust(n->store, trust_add_batch, &bt, NULL);
	} else if (strcmp(rq.issuer, n->conf.id) == 0) {
		if (from == 0) {
			rc = eng_list_record(n->eng, rq.uri, &lb, &ll, &lseq);
			if (rc != 0) {
				batch_free(&bt);
				refuse(n, token, env->from, "not-found",
				    "no such list");
				return;
			}
			batch_add(&bt, lseq, lb, ll);
			from = lseq + 1;
		}
		node_event_init(&ev, ENG_EV_CATCHUP_REQUEST);
		ev.type = bt.n < bt.max ? ENG_EV_CATCHUP_REQUEST : 0;
		snprintf(ev.u.cu.uri, sizeof(ev.u.cu.uri), "%s", rq.uri);
		ev.u.cu.from_seq = from;
		ev.u.cu.max = (uint32_t)(bt.max - bt.n);
		eng_actions_reset(n->acts);
		if (ev.type != 0 && eng_handle(n->eng, &ev, n->acts) == 0)
			for (i = 0; i < n->acts->n; i++)
				if (n->acts->a[i].type == ENG_ACT_REPLY)
					r = &n->acts->a[i].u.reply;
		if (r != NULL && r->status == ENG_OK &&
		    r->to_seq >= r->from_seq)
			store_deltas_range(n->store, rq.uri, r->from_seq,
			    r->to_seq, bt.max - bt.n, batch_add, &bt, NULL);
	} else {
		if (from == 0 && store_feed_list(n->store, rq.issuer, rq.uri,
		    &fl, &ll, &lseq, NULL) == 0) {
			batch_add(&bt, lseq, fl, ll);
			free(fl);
			from = lseq + 1;
		}
		if (from > 0)
			store_feed_deltas(n->store, rq.issuer, rq.uri, from,
			    bt.max - bt.n, batch_add, &bt, NULL);
	}
	cap = bt.bytes + 16 * (bt.n + 1);
	out = malloc(cap);
	if (out == NULL || proto_batch_encode(bt.recs, bt.n, out, cap,
	    &len) != 0) {
		free(out);
		batch_free(&bt);
		fed_reply(n->fedn->fed, token, NULL, 0);
		return;
	}
	n->fedn->catchups_served++;
	log_msg(LOG_DEBUG, "feed", "catch-up of %s %s from seq %llu for %s: "
	    "%zu records", rq.issuer, rq.uri, (unsigned long long)rq.from,
	    env->from, bt.n);
	answer(n, token, env->from, PROTO_MSG_CATCHUP_RESPONSE, out, len);
	free(out);
	batch_free(&bt);
}

/* The facts of a delta needed to check a chain. */
struct link {
	bool delta;
	uint64_t seq;
	uint8_t hash[PROTO_HASH_LEN];	/* its record hash */
	uint8_t prev[PROTO_HASH_LEN];
	const uint8_t *prot;		/* protected header */
	size_t prot_len;
	char iss[PROTO_ID_MAX + 1];
	char uri[PROTO_URI_MAX + 1];
};

static void
link_of(const struct proto_bytes *r, struct link *l)
{
	struct proto_record rec;

	memset(l, 0, sizeof(*l));
	if (proto_record_decode(r->p, r->n, &rec, NULL) != 0 ||
	    rec.type != PROTO_REC_STATUS_DELTA ||
	    proto_record_hash(&rec, l->hash) != 0 ||
	    rec.env.hdr.kid == NULL || rec.env.hdr.kid < rec.env.hdr.prot ||
	    rec.env.hdr.kid + rec.env.hdr.kid_len > rec.env.hdr.prot +
	    rec.env.hdr.prot_len) {
		proto_record_fini(&rec);
		return;
	}
	l->delta = true;
	l->seq = rec.u.sd.seq;
	memcpy(l->prev, rec.u.sd.prev, PROTO_HASH_LEN);
	l->prot = rec.env.hdr.prot;
	l->prot_len = rec.env.hdr.prot_len;
	snprintf(l->iss, sizeof(l->iss), "%s", rec.u.sd.c.iss);
	snprintf(l->uri, sizeof(l->uri), "%s", rec.u.sd.c.sub);
	proto_record_fini(&rec);
}

/*
 * A run of deltas of one feed, each naming the previous one's record hash
 * as prev, is authentic as a whole once its newest delta's signature
 * verifies: that signature covers prev, which pins the payload before it,
 * and so on back (SHA-256). So one signature is checked per run, and the
 * deltas it vouches for (same issuer, list and protected header, with the
 * kid in it) are put in the engine's verified-signature cache; the engine
 * checks everything else about each of them (key delegated and in force,
 * not revoked, times, sequence, chaining to what it holds).
 */
static void
vouch_chains(struct node *n, const struct proto_bytes *recs, size_t k)
{
	struct link *l = calloc(k + 1, sizeof(*l));
	struct proto_record rec;
	uint8_t h[PROTO_HASH_LEN];
	bool ok = false;
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < k; i++)
		link_of(&recs[i], &l[i]);
	for (i = k; i > 0; i--) {
		struct link *a = &l[i - 1], *b = &l[i];

		if (!a->delta) {
			ok = false;
			continue;
		}
		if (i == k || !ok || !b->delta || b->seq != a->seq + 1 ||
		    memcmp(b->prev, a->hash, PROTO_HASH_LEN) != 0 ||
		    strcmp(a->iss, b->iss) != 0 ||
		    strcmp(a->uri, b->uri) != 0 ||
		    a->prot_len != b->prot_len ||
		    memcmp(a->prot, b->prot, a->prot_len) != 0) {
			/* the newest of a run: its own signature decides */
			memset(&rec, 0, sizeof(rec));
			ok = proto_trust_verify_feed(eng_trust(n->eng),
			    recs[i - 1].p, recs[i - 1].n, node_now(),
			    n->conf.clock_skew_s, false, &rec, h, NULL) == 0;
			proto_record_fini(&rec);
		}
		if (ok)
			eng_vcache_put(n->eng, recs[i - 1].p, recs[i - 1].n);
	}
	free(l);
}

/*
 * The records of a catch-up or fetch response, into the engine. Returns
 * the number of deltas in it (a full batch: ask for more at once).
 */
static size_t
take_batch(struct node *n, const struct proto_envelope *env)
{
	struct proto_bytes *recs;
	size_t k, i;

	recs = calloc(PROTO_BATCH_MAX + 1, sizeof(*recs));
	if (recs == NULL)
		return 0;
	if (proto_batch_decode(env->body, env->body_len, recs,
	    PROTO_BATCH_MAX + 1, &k, NULL) != 0) {
		n->fedn->body_malformed++;
		free(recs);
		return 0;
	}
	vouch_chains(n, recs, k);
	/* not relayed: subscribers of this node catch up on their own */
	for (i = 0; i < k; i++)
		take_record(n, n->eng, recs[i].p, recs[i].n, env->from,
		    n->acts, NULL);
	free(recs);
	return k;
}

/* ---- present, fetch, confirm, look-up: the answering side ---- */

/* A presentation waiting for what issuers' logs say. */
struct present_job {
	struct node *n;
	uint64_t token;
	char from[PROTO_ID_MAX + 1];
	uint8_t *body;
	size_t len;
};

static void
present_decide(struct node *n, uint64_t token, const char *from,
    const uint8_t *body, size_t body_len, enum proto_log_check rec_log,
    enum proto_log_check op_log)
{
	struct proto_present pr;
	struct proto_present_resp rs;
	const struct eng_reply *r = NULL;
	struct eng_event ev;
	char *json;
	uint8_t *out;
	size_t i, jl, len, cap;

	if (proto_present_decode(body, body_len, &pr, NULL) != 0) {
		n->fedn->body_malformed++;
		refuse(n, token, from, "malformed", "not a presentation");
		return;
	}
	node_event_init(&ev, ENG_EV_VERIFY);
	ev.u.vf.record = pr.record.p;
	ev.u.vf.record_len = pr.record.n;
	ev.u.vf.operator_record = pr.operator_record.p;
	ev.u.vf.operator_record_len = pr.operator_record.n;
	snprintf(ev.u.vf.access, sizeof(ev.u.vf.access), "%s", pr.access);
	snprintf(ev.u.vf.scope, sizeof(ev.u.vf.scope), "%s", pr.scope);
	ev.u.vf.issuer_log = rec_log;
	ev.u.vf.operator_issuer_log = op_log;
	eng_actions_reset(n->acts);
	if (eng_handle(n->eng, &ev, n->acts) != 0) {
		fed_reply(n->fedn->fed, token, NULL, 0);
		return;
	}
	for (i = 0; i < n->acts->n; i++)
		if (n->acts->a[i].type == ENG_ACT_REPLY)
			r = &n->acts->a[i].u.reply;
	if (r == NULL || node_apply(n, n->acts) != 0) {
		fed_reply(n->fedn->fed, token, NULL, 0);
		return;
	}
	if (r->status != ENG_OK || r->decision == NULL) {
		refuse(n, token, from, r->err_code[0] != '\0' ?
		    r->err_code : "bad-request", r->err_message);
		return;
	}
	json = malloc(PROTO_DECISION_JSON_MAX);
	if (json == NULL) {
		fed_reply(n->fedn->fed, token, NULL, 0);
		return;
	}
	jl = cli_decision_json_write(r->decision, pr.access, ev.now, ev.now,
	    json, PROTO_DECISION_JSON_MAX);
	if (jl == 0 || jl >= PROTO_DECISION_JSON_MAX) {
		free(json);
		fed_reply(n->fedn->fed, token, NULL, 0);
		return;
	}
	log_msg(LOG_INFO, "present", "from %s: %s for %s", from,
	    proto_verdict_name(r->decision->verdict), pr.access);
	rs.verdict = (uint8_t)r->decision->verdict;
	rs.json.p = (const uint8_t *)json;
	rs.json.n = jl;
	cap = jl + 32;
	out = malloc(cap);
	if (out != NULL && proto_present_resp_encode(&rs, out, cap, &len) == 0)
		answer(n, token, from, PROTO_MSG_PRESENT_RESPONSE, out,
		    len);
	else
		fed_reply(n->fedn->fed, token, NULL, 0);
	free(out);
	free(json);
}

static void
present_logs_done(void *arg, enum proto_log_check rec_log,
    enum proto_log_check op_log)
{
	struct present_job *j = arg;

	if (!j->n->stopping)
		present_decide(j->n, j->token, j->from, j->body, j->len,
		    rec_log, op_log);
	else
		fed_reply(j->n->fedn->fed, j->token, NULL, 0);
	free(j->body);
	free(j);
}

/* A presentation: its records' issuers' logs asked first when a key
 * was since declared compromised (node_fed_check_logs), then decided. */
static void
serve_present(struct node *n, uint64_t token, const struct proto_envelope *env)
{
	struct proto_present pr;
	struct present_job *j;

	if (proto_present_decode(env->body, env->body_len, &pr, NULL) != 0) {
		n->fedn->body_malformed++;
		refuse(n, token, env->from, "malformed", "not a presentation");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL || (j->body = malloc(env->body_len)) == NULL) {
		free(j);
		fed_reply(n->fedn->fed, token, NULL, 0);
		return;
	}
	j->n = n;
	j->token = token;
	snprintf(j->from, sizeof(j->from), "%s", env->from);
	memcpy(j->body, env->body, env->body_len);
	j->len = env->body_len;
	/* re-decoded from the copy: the views must outlive the wait */
	if (proto_present_decode(j->body, j->len, &pr, NULL) == 0 &&
	    node_fed_check_logs(n, pr.record.p, pr.record.n,
	    pr.operator_record.p, pr.operator_record.n, present_logs_done, j))
		return;
	present_decide(n, token, j->from, j->body, j->len,
	    PROTO_LOG_UNCHECKED, PROTO_LOG_UNCHECKED);
	free(j->body);
	free(j);
}

static void
serve_fetch(struct node *n, uint64_t token, const struct proto_envelope *env)
{
	uint8_t cti[PROTO_CTI_LEN], *out;
	struct store_record rec;
	struct proto_bytes one;
	size_t len;
	int rc;

	if (proto_fetch_req_decode(env->body, env->body_len, cti, NULL) != 0) {
		n->fedn->body_malformed++;
		refuse(n, token, env->from, "malformed", "not a fetch request");
		return;
	}
	memset(&rec, 0, sizeof(rec));
	rc = store_get_record(n->store, cti, &rec, NULL);
	one.p = rc == 0 ? rec.bytes : NULL;
	one.n = rc == 0 ? rec.len : 0;
	out = malloc(one.n + 32);
	if (out != NULL && proto_batch_encode(&one, rc == 0 ? 1 : 0, out,
	    one.n + 32, &len) == 0)
		answer(n, token, env->from, PROTO_MSG_FETCH_RESPONSE, out, len);
	else
		fed_reply(n->fedn->fed, token, NULL, 0);
	free(out);
	if (rc == 0)
		store_record_fini(&rec);
}

/* The clearance a blinded key names here, with its record: 0 or ENOENT. */
static int
find_blinded(struct node *n, const char *agreement, const uint8_t *key,
    struct store_record *rec)
{
	uint8_t cti[PROTO_CTI_LEN];
	int rc;

	rc = store_find_blind(n->store, agreement, key, cti, NULL);
	if (rc == 0)
		rc = store_get_record(n->store, cti, rec, NULL);
	return rc;
}

static void
answer_found(struct node *n, uint64_t token, const char *to,
    enum proto_msg_type t, int rc, const struct store_record *rec,
    bool survey)
{
	struct proto_found f;
	uint8_t *out, *b;
	size_t cap, len, bl;

	f.found = rc == 0;
	f.record.p = rc == 0 ? rec->bytes : NULL;
	f.record.n = rc == 0 ? rec->len : 0;
	cap = f.record.n + 32;
	out = malloc(cap);
	if (out == NULL || proto_found_encode(&f, out, cap, &len) != 0) {
		free(out);
		if (survey)
			fed_respond(n->fedn->fed, token, NULL, 0);
		else
			fed_reply(n->fedn->fed, token, NULL, 0);
		return;
	}
	if (!survey) {
		answer(n, token, to, t, out, len);
	} else if (seal(n, to, t, out, len, &b, &bl) == 0) {
		fed_respond(n->fedn->fed, token, b, bl);
		free(b);
	} else {
		fed_respond(n->fedn->fed, token, NULL, 0);
	}
	free(out);
}

static void
serve_confirm(struct node *n, uint64_t token, const struct proto_envelope *env)
{
	struct proto_blinded q;
	struct store_record rec;
	int rc;

	if (proto_confirm_req_decode(env->body, env->body_len, &q, NULL) !=
	    0) {
		n->fedn->body_malformed++;
		refuse(n, token, env->from, "malformed", "not a confirm "
		    "request");
		return;
	}
	memset(&rec, 0, sizeof(rec));
	rc = find_blinded(n, q.agreement, q.key, &rec);
	log_msg(LOG_INFO, "confirm", "from %s under %s: %s", env->from,
	    q.agreement, rc == 0 ? "found" : "not found");
	answer_found(n, token, env->from, PROTO_MSG_CONFIRM_RESPONSE, rc, &rec,
	    false);
	if (rc == 0)
		store_record_fini(&rec);
}

static void
on_survey(struct node *n, const struct fed_msg *m)
{
	struct proto_envelope env;
	struct proto_blinded keys[PROTO_SURVEY_KEYS_MAX];
	struct store_record rec;
	size_t k, i;
	int rc = MRX_ENOENT;

	if (admit(n, m->bytes, m->len, &env) != 0 ||
	    env.type != PROTO_MSG_LOOKUP_SURVEY ||
	    proto_survey_decode(env.body, env.body_len, keys,
	    PROTO_SURVEY_KEYS_MAX, &k, NULL) != 0) {
		fed_respond(n->fedn->fed, m->token, NULL, 0);
		return;
	}
	memset(&rec, 0, sizeof(rec));
	for (i = 0; i < k && rc != 0; i++)
		if (strcmp(keys[i].node, n->conf.id) == 0)
			rc = find_blinded(n, keys[i].agreement, keys[i].key,
			    &rec);
	answer_found(n, m->token, env.from, PROTO_MSG_LOOKUP_RESPONSE, rc,
	    &rec, true);
	if (rc == 0)
		store_record_fini(&rec);
}

static void
on_request(struct node *n, const struct fed_msg *m)
{
	struct proto_envelope env;

	if (admit(n, m->bytes, m->len, &env) != 0) {
		fed_reply(n->fedn->fed, m->token, NULL, 0);
		return;
	}
	switch (env.type) {
	case PROTO_MSG_CATCHUP_REQUEST:
		serve_catchup(n, m->token, &env);
		break;
	case PROTO_MSG_PRESENT:
		serve_present(n, m->token, &env);
		break;
	case PROTO_MSG_FETCH_REQUEST:
		serve_fetch(n, m->token, &env);
		break;
	case PROTO_MSG_CONFIRM_REQUEST:
		serve_confirm(n, m->token, &env);
		break;
	default:
		refuse(n, m->token, env.from, "unexpected-type",
		    "not a request this node answers");
		break;
	}
}

/* ---- answers to this node's requests ---- */

static json_t *
found_json(const struct proto_envelope *env)
{
	struct proto_found f;
	char *b64;
	json_t *j;

	if (proto_found_decode(env->body, env->body_len, &f, NULL) != 0)
		return NULL;
	j = json_pack("{s:s, s:b}", "node", env->from, "found", f.found);
	if (j != NULL && f.found && f.record.p != NULL) {
		b64 = malloc((f.record.n + 2) / 3 * 4 + 1);
		if (b64 != NULL) {
			cli_b64url(f.record.p, f.record.n, b64);
			json_object_set_new(j, "record", json_string(b64));
			free(b64);
		}
	}
	return j;
}

/* The seq held for a foreign feed (0 when none). */
static uint64_t
held_seq(struct node *n, const char *issuer, const char *uri)
{
	struct proto_status_info in;

	if (proto_trust_status_info(eng_trust(n->eng), issuer, uri, &in) != 0 ||
	    !in.has_list)
		return 0;
	return in.seq;
}

/* A full catch-up batch: more may follow; ask from the new seq at once
 * rather than at the next checkpoint. */
static void
more(struct node *n, const struct fed_wait *w)
{
	struct proto_status_info in;
	struct eng_catchup c;

	if (proto_trust_status_info(eng_trust(n->eng), w->issuer, w->uri,
	    &in) != 0 || !in.has_list || in.equivocating)
		return;
	memset(&c, 0, sizeof(c));
	snprintf(c.issuer, sizeof(c.issuer), "%s", w->issuer);
	snprintf(c.uri, sizeof(c.uri), "%s", w->uri);
	c.from_seq = in.seq + 1;
	node_fed_on_catchup(n, &c);
}

/*
 * A fetch answer for a log check: HELD when the issuer returned these very
 * bytes, ABSENT when it returned nothing or other bytes; `env` NULL (no or
 * a refused answer) leaves it unchecked. The last answer calls back.
 */
static void
log_answer(struct node *n, struct fed_wait *w, const struct proto_envelope *env)
{
	struct log_job *j = w->job;
	struct proto_bytes recs[2];
	size_t k;

	if (env != NULL && proto_batch_decode(env->body, env->body_len, recs, 2,
	    &k, NULL) == 0) {
		j->log[w->which] = k == 1 && recs[0].n == j->len[w->which] &&
		    memcmp(recs[0].p, j->b[w->which], recs[0].n) == 0 ?
		    PROTO_LOG_HELD : PROTO_LOG_ABSENT;
		log_msg(LOG_INFO, "confirm", "%s's log %s the record presented",
		    w->peer, j->log[w->which] == PROTO_LOG_HELD ? "holds" :
		    "does not hold");
	}
	w->job = NULL;
	if (--j->pending == 0) {
		j->fn(j->arg, j->log[0], j->log[1]);
		free(j);
	}
}

/* Asks `issuer` (a peer that takes requests) for record `cti`. */
static bool
log_ask(struct node *n, struct log_job *j, int which, const char *issuer,
    const uint8_t *cti)
{
	const struct conf_peer *p = conf_peer(n, issuer);
	struct fed_wait *w;
	uint8_t body[64], *b;
	size_t len, bl;
	int rc;

	if (p == NULL || p->requests[0] == '\0' ||
	    proto_fetch_req_encode(cti, body, sizeof(body), &len) != 0 ||
	    (w = wait_new(n, PROTO_MSG_FETCH_REQUEST, NULL, issuer)) == NULL)
		return false;
	if (seal(n, issuer, PROTO_MSG_FETCH_REQUEST, body, len, &b, &bl) != 0) {
		wait_done(w);
		return false;
	}
	rc = fed_request(n->fedn->fed, issuer, b, bl, w->cookie,
	    CONF_FED_REQUEST_TIMEOUT_MS);
	free(b);
	if (rc != 0) {
		wait_done(w);
		return false;
	}
	w->job = j;
	w->which = which;
	j->pending++;
	return true;
}

bool
node_fed_check_logs(struct node *n, const uint8_t *rec, size_t rl,
    const uint8_t *op, size_t ol, node_fed_log_fn fn, void *arg)
{
	char iss[2][PROTO_ID_MAX + 1];
	uint8_t cti[2][PROTO_CTI_LEN];
	bool need[2];
	struct log_job *j;
	int i;

	need[0] = proto_trust_needs_log(eng_trust(n->eng), rec, rl, iss[0],
	    cti[0]);
	need[1] = op != NULL && proto_trust_needs_log(eng_trust(n->eng), op,
	    ol, iss[1], cti[1]);
	if ((!need[0] && !need[1]) || n->fedn == NULL || n->fedn->fed == NULL)
		return false;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return false;
	j->fn = fn;
	j->arg = arg;
	j->b[0] = rec;
	j->len[0] = rl;
	j->b[1] = op;
	j->len[1] = ol;
	j->pending = 1;		/* held until every question is out */
	for (i = 0; i < 2; i++)
		if (need[i] && !log_ask(n, j, i, iss[i], cti[i]))
			log_msg(LOG_INFO, "confirm", "cannot ask %s's log (not a "
			    "peer that takes requests)", iss[i]);
	if (--j->pending == 0) {
		/* nothing could be asked: the engine decides unconfirmed */
		free(j);
		return false;
	}
	return true;
}

static void
on_response(struct node *n, const struct fed_msg *m)
{
	struct proto_envelope env;
	struct proto_present_resp pr;
	struct proto_refusal_msg rf;
	struct fed_wait *w = wait_find(n, m->cookie);
	uint64_t before;
	json_t *j;
	size_t k;

	if (w == NULL)
		return;
	if (admit(n, m->bytes, m->len, &env) != 0 ||
	    (strcmp(env.from, w->peer) != 0 && w->type !=
	    PROTO_MSG_LOOKUP_SURVEY)) {
		if (w->job != NULL)
			log_answer(n, w, NULL);
		if (w->x != NULL && w->type != PROTO_MSG_LOOKUP_SURVEY)
			respond_err(w->x, 502, "peer-refused", NULL, "the "
			    "peer's answer was refused (see the node's log "
			    "and metrics)");
		if (w->type != PROTO_MSG_LOOKUP_SURVEY)
			wait_done(w);
		return;
	}
	if (env.type == PROTO_MSG_REFUSAL && w->job != NULL) {
		log_answer(n, w, NULL);
		wait_done(w);
		return;
	}
	if (env.type == PROTO_MSG_REFUSAL &&
	    w->type == PROTO_MSG_LOOKUP_SURVEY)
		return;		/* one respondent refused: others may answer */
	if (env.type == PROTO_MSG_REFUSAL) {
		if (proto_refusal_decode(env.body, env.body_len, &rf, NULL) !=
		    0)
			snprintf(rf.code, sizeof(rf.code), "refused");
		if (w->x != NULL)
			respond_json(w->x, 502, json_pack("{s:{s:s, s:s, "
			    "s:n}}", "error", "code", rf.code, "message",
			    rf.message, "field"));
		if (w->type != PROTO_MSG_LOOKUP_SURVEY)
			wait_done(w);
		return;
	}
	switch (w->type) {
	case PROTO_MSG_CATCHUP_REQUEST:
		if (env.type == PROTO_MSG_CATCHUP_RESPONSE) {
			before = held_seq(n, w->issuer, w->uri);
			k = take_batch(n, &env);
			/* a batch that moved the feed on: more may wait (an
			 * empty answer ends it) */
			if (k > 0 && held_seq(n, w->issuer, w->uri) > before) {
				struct fed_wait done = *w;

				wait_done(w);
				more(n, &done);
				break;
			}
		}
		wait_done(w);
		break;
	case PROTO_MSG_PRESENT:
		if (env.type != PROTO_MSG_PRESENT_RESPONSE ||
		    proto_present_resp_decode(env.body, env.body_len, &pr,
		    NULL) != 0) {
			respond_err(w->x, 502, "peer-malformed", NULL, "the "
			    "peer's answer is not a decision");
		} else {
			http_respond(w->x, 200, "application/json",
			    (const char *)pr.json.p, pr.json.n, NULL);
		}
		wait_done(w);
		break;
	case PROTO_MSG_CONFIRM_REQUEST:
		j = env.type == PROTO_MSG_CONFIRM_RESPONSE ? found_json(&env) :
		    NULL;
		if (j == NULL)
			respond_err(w->x, 502, "peer-malformed", NULL, "the "
			    "peer's answer is not a confirmation");
		else
			respond_json(w->x, 200, j);
		wait_done(w);
		break;
	case PROTO_MSG_FETCH_REQUEST:
		if (w->job != NULL)
			log_answer(n, w, env.type == PROTO_MSG_FETCH_RESPONSE ?
			    &env : NULL);
		wait_done(w);
		break;
	case PROTO_MSG_LOOKUP_SURVEY:
		if (env.type == PROTO_MSG_LOOKUP_RESPONSE &&
		    (j = found_json(&env)) != NULL)
			json_array_append_new(w->found, j);
		break;
	default:
		wait_done(w);
		break;
	}
}

static void
on_done(struct node *n, const struct fed_msg *m)
{
	struct fed_wait *w = wait_find(n, m->cookie);
	char msg[200];

	if (w == NULL)
		return;
	if (w->job != NULL) {
		log_answer(n, w, NULL);	/* unanswered: stays unchecked */
		wait_done(w);
		return;
	}
	if (w->type == PROTO_MSG_LOOKUP_SURVEY && m->err == 0) {
		respond_json(w->x, 200, json_pack("{s:O}", "answers",
		    w->found));
		wait_done(w);
		return;
	}
	if (w->x != NULL) {
		snprintf(msg, sizeof(msg), "peer %s did not answer (%s)",
		    w->peer[0] != '\0' ? w->peer : "?", m->err != 0 ?
		    "timed out or unreachable" : "no answer");
		respond_err(w->x, 504, "peer-unavailable", NULL, msg);
	}
	log_msg(LOG_INFO, "peer", "%s to %s ended without an answer: %d",
	    proto_msg_type_name(w->type), w->peer, m->err);
	wait_done(w);
}

static void
deliver(void *ctx, struct fed_msg *m)
{
	struct node *n = ctx;

	if (n->eng == NULL || n->stopping) {
		if (m->kind == FED_IN_REQUEST)
			fed_reply(n->fedn->fed, m->token, NULL, 0);
		fed_msg_free(m);
		return;
	}
	switch (m->kind) {
	case FED_IN_FEED:
		on_feed(n, m);
		break;
	case FED_IN_REQUEST:
		on_request(n, m);
		break;
	case FED_IN_SURVEY:
		on_survey(n, m);
		break;
	case FED_IN_RESPONSE:
	case FED_IN_SURVEY_ANSWER:
		on_response(n, m);
		break;
	case FED_IN_DONE:
		on_done(n, m);
		break;
	}
	fed_msg_free(m);
}

/* ---- the checkpoint timer ---- */

/* Asks every peer that takes requests for the trust records it holds: a
 * key revocation published while this node was away still arrives. */
static void
trust_sync(struct node *n)
{
	struct eng_catchup c;
	size_t i;

	for (i = 0; i < n->conf.fed.npeers; i++) {
		const struct conf_peer *p = &n->conf.fed.peers[i];

		if (p->requests[0] == '\0')
			continue;
		memset(&c, 0, sizeof(c));
		snprintf(c.issuer, sizeof(c.issuer), "%s", p->id);
		snprintf(c.uri, sizeof(c.uri), "mrx://%s%s", p->id,
		    FED_TRUST_URI);
		node_fed_on_catchup(n, &c);
	}
}

/* At start: catch every restored feed up from what the store held, rather
 * than wait for its next checkpoint. */
static int
resume_feed(void *ctx, const char *issuer, const char *uri,
    enum store_feed_kind kind, uint64_t seq, const uint8_t *b, size_t len)
{
	struct node *n = ctx;
	struct proto_status_info in;
	struct eng_catchup c;

	(void)seq;
	(void)b;
	(void)len;
	if (kind != STORE_FEED_LIST)
		return 0;	/* a feed's list comes first */
	memset(&c, 0, sizeof(c));
	snprintf(c.issuer, sizeof(c.issuer), "%s", issuer);
	snprintf(c.uri, sizeof(c.uri), "%s", uri);
	c.from_seq = proto_trust_status_info(eng_trust(n->eng), issuer, uri,
	    &in) == 0 && in.has_list ? in.seq + 1 : 0;
	node_fed_on_catchup(n, &c);
	return 0;
}

static void
on_tick(uv_timer_t *t)
{
	struct node *n = t->data;
	struct eng_event ev;

	if (n->eng == NULL || n->stopping)
		return;
	if (n->fedn->ticks == 0)
		(void)store_load_feeds(n->store, resume_feed, n, NULL);
	if (n->fedn->ticks++ % FED_TRUST_SYNC_TICKS == 0)
		trust_sync(n);
	node_event_init(&ev, ENG_EV_TICK);
	eng_actions_reset(n->acts);
	if (eng_handle(n->eng, &ev, n->acts) == 0)
		node_apply(n, n->acts);
}

/* ---- the HTTP side: present, confirm, look-up, trust, blind ---- */

static json_t *
body_json(struct http_exchange *x, const struct http_request *req,
    const char *const *allowed)
{
	json_error_t je;
	const char *k;
	json_t *j, *v;
	size_t i;
	bool ok;

	j = json_loadb((const char *)req->body, req->body_len,
	    JSON_REJECT_DUPLICATES, &je);
	if (j == NULL || !json_is_object(j)) {
		respond_err(x, 400, "malformed-json", NULL, j == NULL ?
		    je.text : "the body is not a JSON object");
		json_decref(j);
		return NULL;
	}
	json_object_foreach(j, k, v) {
		ok = false;
		for (i = 0; allowed[i] != NULL; i++)
			ok |= strcmp(allowed[i], k) == 0;
		if (!ok) {
			respond_err(x, 400, "unknown-field", k, "this field "
			    "is not part of the request");
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

/* A string member (required unless `opt`) of at most cap - 1 bytes. */
static bool
get_s(struct http_exchange *x, json_t *j, const char *key, bool opt,
    char *out, size_t cap)
{
	json_t *v = json_object_get(j, key);

	out[0] = '\0';
	if (v == NULL && opt)
		return true;
	if (!json_is_string(v) || json_string_length(v) >= cap ||
	    (json_string_length(v) == 0 && !opt)) {
		respond_err(x, 400, v == NULL ? "missing-field" :
		    "invalid-field", key, v == NULL ? "required" :
		    "not a string of the expected length");
		return false;
	}
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return true;
}

static bool
get_b64(struct http_exchange *x, json_t *j, const char *key, bool opt,
    uint8_t **out, size_t *len)
{
	json_t *v = json_object_get(j, key);

	*out = NULL;
	*len = 0;
	if (v == NULL && opt)
		return true;
	if (!json_is_string(v) || cli_b64url_decode(json_string_value(v),
	    json_string_length(v), out, len) != 0 || *len == 0 ||
	    *len > PROTO_ENV_BODY_MAX) {
		free(*out);
		*out = NULL;
		respond_err(x, 400, v == NULL ? "missing-field" :
		    "invalid-base64", key, "expected a base64url record");
		return false;
	}
	return true;
}

/* Seals and sends a request to `peer`; the exchange waits. */
static void
ask(struct node *n, struct http_exchange *x, const char *peer,
    enum proto_msg_type t, const uint8_t *body, size_t len)
{
	struct fed_wait *w;
	uint8_t *b;
	size_t bl;
	int rc;

	if (conf_peer(n, peer) == NULL) {
		respond_err(x, 404, "unknown-peer", "peer", "no such peer in "
		    "federation.peers");
		return;
	}
	w = wait_new(n, t, x, peer);
	if (w == NULL) {
		respond_err(x, 503, "busy", NULL, "too many requests to peers "
		    "in flight");
		return;
	}
	if (seal(n, peer, t, body, len, &b, &bl) != 0) {
		wait_done(w);
		respond_err(x, 503, "busy", NULL, "cannot seal the message");
		return;
	}
	rc = fed_request(n->fedn->fed, peer, b, bl, w->cookie,
	    FED_PRESENT_TIMEOUT_MS);
	free(b);
	if (rc != 0) {
		wait_done(w);
		respond_err(x, rc == MRX_ENOENT ? 409 : 503, rc == MRX_ENOENT ?
		    "no-requests-url" : "busy", "peer", rc == MRX_ENOENT ?
		    "the peer has no requests URL" : "too many requests in "
		    "flight");
	}
}

static void
h_present(struct node *n, struct http_exchange *x,
    const struct http_request *req)
{
	static const char *const allowed[] = { "peer", "record",
	    "operator_record", "access", "scope", NULL };
	char peer[PROTO_ID_MAX + 1];
	struct proto_present pr;
	uint8_t *rec = NULL, *op = NULL, *body = NULL;
	size_t rl, ol, cap, len;
	json_t *j;

	j = body_json(x, req, allowed);
	if (j == NULL)
		return;
	memset(&pr, 0, sizeof(pr));
	if (get_s(x, j, "peer", false, peer, sizeof(peer)) &&
	    get_b64(x, j, "record", false, &rec, &rl) &&
	    get_b64(x, j, "operator_record", true, &op, &ol) &&
	    get_s(x, j, "access", false, pr.access, sizeof(pr.access)) &&
	    get_s(x, j, "scope", true, pr.scope, sizeof(pr.scope))) {
		pr.record.p = rec;
		pr.record.n = rl;
		pr.operator_record.p = op;
		pr.operator_record.n = ol;
		cap = rl + ol + 512;
		body = malloc(cap);
		if (body == NULL || proto_present_encode(&pr, body, cap,
		    &len) != 0)
			respond_err(x, 400, "invalid-field", "access", "the "
			    "presentation cannot be encoded (access or scope "
			    "syntax)");
		else
			ask(n, x, peer, PROTO_MSG_PRESENT, body, len);
	}
	free(body);
	free(rec);
	free(op);
	json_decref(j);
}

/* The per-agreement blinding key (hex file, 32..64 bytes). */
static int
blind_key(const struct conf_blind *cb, uint8_t *key, size_t *len)
{
	char hex[2 * PROTO_BLIND_KEY_MAX + 8];
	int fd = open(cb->key_path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t n = 0, i;
	ssize_t r;
	unsigned v;
	int rc = 0;

	if (fd < 0)
		return MRX_EIO;
	/* a shared secret: refused if group or others may read it */
	if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
		close(fd);
		log_msg(LOG_ERROR, "confirm", "blinding key %s is readable by "
		    "group or others (mode %03o); chmod 600 it", cb->key_path,
		    (unsigned)(st.st_mode & 0777));
		return MRX_EPERM;
	}
	/* read(2) into this buffer only (no stdio copy), wiped below */
	while (n < sizeof(hex) - 1 &&
	    (r = read(fd, hex + n, sizeof(hex) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	while (n > 0 && (hex[n - 1] == '\n' || hex[n - 1] == ' '))
		n--;
	hex[n] = '\0';
	if (n % 2 != 0 || n / 2 < PROTO_BLIND_KEY_MIN ||
	    n / 2 > PROTO_BLIND_KEY_MAX)
		rc = MRX_EINVAL;
	for (i = 0; rc == 0 && i < n / 2; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			rc = MRX_EINVAL;
		key[i] = (uint8_t)v;
	}
	explicit_bzero(hex, sizeof(hex));
	if (rc != 0) {
		explicit_bzero(key, PROTO_BLIND_KEY_MAX);
		return rc;
	}
	*len = n / 2;
	return 0;
}

/*
 * A person's fields, checked; never stored, never logged, and wiped
 * (person_wipe, which the compiler may not drop) as soon as the blinded
 * keys are made, on every path.
 */
struct person {
	char name[PROTO_BLIND_NAME_MAX + 1];
	char dob[16];
	char nat[8];
};

static bool
person(struct http_exchange *x, json_t *j, struct person *p)
{
	return get_s(x, j, "name", false, p->name, sizeof(p->name)) &&
	    get_s(x, j, "dob", false, p->dob, sizeof(p->dob)) &&
	    get_s(x, j, "nationality", false, p->nat, sizeof(p->nat));
}

static void
person_wipe(struct person *p)
{
	explicit_bzero(p, sizeof(*p));
}

static const struct conf_blind *
blind_conf(const struct node *n, const char *peer, const char *agreement)
{
	size_t i;

	for (i = 0; i < n->conf.fed.nblind; i++)
		if ((peer == NULL || strcmp(n->conf.fed.blind[i].peer, peer) ==
		    0) && (agreement == NULL || agreement[0] == '\0' ||
		    strcmp(n->conf.fed.blind[i].agreement, agreement) == 0))
			return &n->conf.fed.blind[i];
	return NULL;
}

static bool
blinded(struct http_exchange *x, const struct conf_blind *cb,
    const struct person *p, uint8_t *out)
{
	uint8_t key[PROTO_BLIND_KEY_MAX];
	struct mrx_diag d;
	size_t kl;
	int rc;

	if (blind_key(cb, key, &kl) != 0) {
		respond_err(x, 503, "blinding-key-unusable", NULL, "the "
		    "agreement's blinding key file cannot be read");
		return false;
	}
	mrx_diag_clear(&d);
	rc = proto_blind_key(key, kl, p->name, p->dob, p->nat, out, &d);
	explicit_bzero(key, sizeof(key));
	if (rc != 0) {
		respond_err(x, 400, "invalid-field", d.field, d.msg);
		return false;
	}
	return true;
}

static void
h_confirm(struct node *n, struct http_exchange *x,
    const struct http_request *req)
{
	static const char *const allowed[] = { "peer", "agreement", "name",
	    "dob", "nationality", NULL };
	char peer[PROTO_ID_MAX + 1];
	const struct conf_blind *cb;
	struct proto_blinded q;
	struct person who;
	uint8_t body[256];
	size_t len;
	json_t *j;
	bool ok;

	j = body_json(x, req, allowed);
	if (j == NULL)
		return;
	memset(&q, 0, sizeof(q));
	ok = get_s(x, j, "peer", false, peer, sizeof(peer)) &&
	    get_s(x, j, "agreement", true, q.agreement, sizeof(q.agreement)) &&
	    person(x, j, &who);
	json_decref(j);
	cb = ok ? blind_conf(n, peer, q.agreement) : NULL;
	if (ok && cb == NULL)
		respond_err(x, 404, "no-blinding-key", "agreement", "no "
		    "federation.blinding entry for this peer and agreement");
	if (cb != NULL) {
		snprintf(q.agreement, sizeof(q.agreement), "%s",
		    cb->agreement);
		ok = blinded(x, cb, &who, q.key);
	}
	person_wipe(&who);
	if (cb == NULL || !ok)
		return;
	if (proto_confirm_req_encode(&q, body, sizeof(body), &len) != 0) {
		respond_err(x, 500, "internal", NULL, "cannot encode");
		return;
	}
	ask(n, x, peer, PROTO_MSG_CONFIRM_REQUEST, body, len);
}

static void
h_lookup(struct node *n, struct http_exchange *x,
    const struct http_request *req)
{
	static const char *const allowed[] = { "name", "dob", "nationality",
	    NULL };
	struct proto_blinded keys[PROTO_SURVEY_KEYS_MAX];
	struct person who;
	struct fed_wait *w;
	uint8_t body[PROTO_SURVEY_KEYS_MAX * 96 + 16], *b;
	size_t k = 0, i, len, bl;
	json_t *j;
	bool ok;
	int rc;

	j = body_json(x, req, allowed);
	if (j == NULL)
		return;
	ok = person(x, j, &who);
	json_decref(j);
	for (i = 0; ok && i < n->conf.fed.nblind && k < PROTO_SURVEY_KEYS_MAX;
	    i++) {
		const struct conf_blind *cb = &n->conf.fed.blind[i];

		snprintf(keys[k].node, sizeof(keys[k].node), "%s", cb->peer);
		snprintf(keys[k].agreement, sizeof(keys[k].agreement), "%s",
		    cb->agreement);
		ok = blinded(x, cb, &who, keys[k].key);
		k++;
	}
	person_wipe(&who);
	if (!ok)
		return;
	if (k == 0) {
		respond_err(x, 409, "no-blinding-key", NULL, "no "
		    "federation.blinding entries: nothing to survey with");
		return;
	}
	if (proto_survey_encode(keys, k, body, sizeof(body), &len) != 0 ||
	    (w = wait_new(n, PROTO_MSG_LOOKUP_SURVEY, x, "")) == NULL) {
		respond_err(x, 503, "busy", NULL, "cannot start a survey");
		return;
	}
	w->found = json_array();
	if (seal(n, PROTO_ENV_BROADCAST, PROTO_MSG_LOOKUP_SURVEY, body, len,
	    &b, &bl) != 0) {
		wait_done(w);
		respond_err(x, 503, "busy", NULL, "cannot seal the survey");
		return;
	}
	rc = fed_survey(n->fedn->fed, b, bl, w->cookie);
	free(b);
	if (rc != 0) {
		wait_done(w);
		respond_err(x, 409, "no-survey-peers", NULL, "no peer has a "
		    "survey URL");
	}
}

/* Stores one blinded key of `who` per agreement for cti; on failure has
 * answered x and returns nonzero. */
static int
blind_index(struct node *n, struct http_exchange *x,
    const uint8_t cti[PROTO_CTI_LEN], const struct person *who)
{
	uint8_t key[CONF_BLIND_MAX][PROTO_BLIND_LEN];
	size_t i;
	int rc;

	if (n->conf.fed.nblind == 0) {
		respond_err(x, 409, "no-blinding-key", NULL, "no "
		    "federation.blinding entries configured");
		return MRX_ENOENT;
	}
	/* every key first: a failure stores none */
	for (i = 0; i < n->conf.fed.nblind; i++)
		if (!blinded(x, &n->conf.fed.blind[i], who, key[i]))
			return MRX_EINVAL;
	if ((rc = node_apply_begin(n)) != 0) {
		node_respond_unstored(x, rc);
		return rc;
	}
	for (i = 0; i < n->conf.fed.nblind; i++) {
		if ((rc = store_put_blind(n->store,
		    n->conf.fed.blind[i].agreement, key[i], cti, NULL)) != 0) {
			node_respond_unstored(x, rc);
			return rc;
		}
	}
	return 0;
}

/* POST /v1/clearances/{id}/blind: index an own clearance by the person's
 * blinded keys, one per configured agreement; the fields are not kept. */
static void
h_blind(struct node *n, struct http_exchange *x,
    const struct http_request *req, const char *idhex)
{
	static const char *const allowed[] = { "name", "dob", "nationality",
	    NULL };
	uint8_t cti[PROTO_CTI_LEN];
	struct store_record rec;
	struct person who;
	unsigned v;
	size_t i;
	int rc;
	json_t *j;

	if (strlen(idhex) != 2 * PROTO_CTI_LEN) {
		respond_err(x, 400, "invalid-id", "id", "a record id is 32 hex "
		    "digits");
		return;
	}
	for (i = 0; i < PROTO_CTI_LEN; i++) {
		if (sscanf(idhex + 2 * i, "%2x", &v) != 1) {
			respond_err(x, 400, "invalid-id", "id", "a record id "
			    "is 32 hex digits");
			return;
		}
		cti[i] = (uint8_t)v;
	}
	if (store_get_record(n->store, cti, &rec, NULL) != 0) {
		respond_err(x, 404, "not-found", "id", "no such record");
		return;
	}
	store_record_fini(&rec);
	j = body_json(x, req, allowed);
	if (j == NULL)
		return;
	if (!person(x, j, &who)) {
		json_decref(j);
		person_wipe(&who);
		return;
	}
	json_decref(j);
	rc = blind_index(n, x, cti, &who);
	person_wipe(&who);
	if (rc != 0)
		return;
	node_reply_after_commit(n, x, 200, strdup("{\"indexed\":true}"), 16);
}

/* POST /v1/trust: a delegation, key revocation or agreement to install
 * and publish. */
static void
h_trust(struct node *n, struct http_exchange *x,
    const struct http_request *req)
{
	static const char *const allowed[] = { "record", NULL };
	struct proto_record rec;
	uint8_t *b, *env;
	size_t len, el;
	bool isnew;
	json_t *j;

	j = body_json(x, req, allowed);
	if (j == NULL)
		return;
	if (!get_b64(x, j, "record", false, &b, &len)) {
		json_decref(j);
		return;
	}
	json_decref(j);
	if (proto_record_decode(b, len, &rec, NULL) != 0 ||
	    (rec.type != PROTO_REC_DELEGATION &&
	    rec.type != PROTO_REC_KEY_REVOCATION &&
	    rec.type != PROTO_REC_AGREEMENT)) {
		proto_record_fini(&rec);
		free(b);
		respond_err(x, 400, "invalid-record", "record", "not a "
		    "delegation, key revocation or agreement");
		return;
	}
	isnew = take_trust(n, n->eng, &rec, b, len, true);
	proto_record_fini(&rec);
	if (!isnew) {
		free(b);
		respond_err(x, 409, "not-added", "record", "already held, or "
		    "refused by the trust store (see the log)");
		return;
	}
	if (n->fedn->fed != NULL && seal(n, PROTO_ENV_BROADCAST,
	    PROTO_MSG_FEED_RECORD, b, len, &env, &el) == 0)
		queue_send(n, false, 0, env, el);
	free(b);
	node_reply_after_commit(n, x, 201, strdup("{\"added\":true}"), 14);
}

static void
h_federation(struct node *n, struct http_exchange *x)
{
	struct fed_stats fs;
	struct eng_stats es;
	json_t *j, *peers, *ref;
	size_t i;

	memset(&fs, 0, sizeof(fs));
	if (n->fedn->fed != NULL)
		fed_stats_get(n->fedn->fed, &fs);
	eng_stats_get(n->eng, &es);
	peers = json_array();
	for (i = 0; i < n->conf.fed.npeers; i++)
		json_array_append_new(peers, json_pack("{s:s, s:b, s:b}", "id",
		    n->conf.fed.peers[i].id, "feed",
		    n->conf.fed.peers[i].feed[0] != '\0', "relay",
		    n->conf.fed.peers[i].relay));
	ref = json_object();
	for (i = 1; i < PROTO_REFUSE_COUNT; i++)
		if (n->fedn->refused[i] != 0)
			json_object_set_new(ref, proto_refusal_name(
			    (enum proto_refusal)i),
			    json_integer((json_int_t)n->fedn->refused[i]));
	j = json_pack("{s:s, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I}}", "id", n->conf.id,
	    "peers", peers, "refused", ref, "feeds", "followed",
	    (json_int_t)es.feeds, "lists", (json_int_t)es.feed_lists,
	    "deltas", (json_int_t)es.feed_deltas, "checkpoints",
	    (json_int_t)es.feed_checkpoints, "taken",
	    (json_int_t)n->fedn->feed_taken, "dropped",
	    (json_int_t)n->fedn->feed_dropped, "relayed",
	    (json_int_t)n->fedn->relayed, "equivocations",
	    (json_int_t)es.feed_equivocations, "catchups_sent",
	    (json_int_t)n->fedn->catchups_sent, "messages", "published",
	    (json_int_t)fs.published, "in_feed", (json_int_t)fs.in_feed,
	    "in_requests", (json_int_t)fs.in_requests, "requests",
	    (json_int_t)fs.requests, "request_failures",
	    (json_int_t)fs.request_failures);
	respond_json(x, 200, j);
}

bool
node_fed_route(struct node *n, struct http_exchange *x,
    const struct http_request *req)
{
	const char *p = req->path;
	size_t pl = strlen(p);
	bool post = strcmp(req->method, "POST") == 0;
	char id[2 * PROTO_CTI_LEN + 2];

	if (strcmp(p, "/v1/federation") != 0 && strcmp(p, "/v1/present") != 0 &&
	    strcmp(p, "/v1/confirm") != 0 && strcmp(p, "/v1/lookup") != 0 &&
	    strcmp(p, "/v1/trust") != 0 &&
	    !(strncmp(p, "/v1/clearances/", 15) == 0 && pl > 21 &&
	    strcmp(p + pl - 6, "/blind") == 0))
		return false;
	if (n->fedn == NULL) {
		respond_err(x, 409, "no-federation", NULL, "this node has no "
		    "federation section in its configuration");
		return true;
	}
	if (strcmp(p, "/v1/federation") == 0) {
		if (strcmp(req->method, "GET") != 0)
			respond_err(x, 405, "method-not-allowed", NULL, "GET");
		else
			h_federation(n, x);
		return true;
	}
	if (!post) {
		respond_err(x, 405, "method-not-allowed", NULL, "POST");
		return true;
	}
	if (!node_authorized(n, req)) {
		respond_err(x, 401, "unauthorized", NULL, "missing or wrong "
		    "bearer token");
		return true;
	}
	if (n->fedn->fed == NULL && strcmp(p, "/v1/trust") != 0 &&
	    strncmp(p, "/v1/clearances/", 15) != 0) {
		respond_err(x, 409, "no-federation", NULL, "no sockets");
		return true;
	}
	if (strcmp(p, "/v1/present") == 0)
		h_present(n, x, req);
	else if (strcmp(p, "/v1/confirm") == 0)
		h_confirm(n, x, req);
	else if (strcmp(p, "/v1/lookup") == 0)
		h_lookup(n, x, req);
	else if (strcmp(p, "/v1/trust") == 0)
		h_trust(n, x, req);
	else {
		snprintf(id, sizeof(id), "%.*s", (int)(pl - 21), p + 15);
		h_blind(n, x, req, id);
	}
	return true;
}

size_t
node_fed_metrics(struct node *n, char *b, size_t cap)
{
	struct node_fed *fn = n->fedn;
	struct eng_stats es;
	struct fed_stats fs;
	size_t off = 0;
	int i, w;

	if (fn == NULL)
		return 0;
#define PUT(...) do {							\
	w = snprintf(b + off, cap - off, __VA_ARGS__);			\
	if (w < 0 || (size_t)w >= cap - off)				\
		return off;						\
	off += (size_t)w;						\
} while (0)
	PUT("# HELP mrx_peer_refused_total Peer messages refused, by "
	    "reason.\n# TYPE mrx_peer_refused_total counter\n");
	for (i = 1; i < PROTO_REFUSE_COUNT; i++)
		PUT("mrx_peer_refused_total{reason=\"%s\"} %llu\n",
		    proto_refusal_name((enum proto_refusal)i),
		    (unsigned long long)fn->refused[i]);
	PUT("# HELP mrx_peer_messages_total Peer messages admitted, by "
	    "type.\n# TYPE mrx_peer_messages_total counter\n");
	for (i = 1; i < PROTO_MSG_COUNT; i++)
		PUT("mrx_peer_messages_total{type=\"%s\"} %llu\n",
		    proto_msg_type_name((enum proto_msg_type)i),
		    (unsigned long long)fn->in_by_type[i]);
	PUT("# HELP mrx_feed_records_total Records from peers' feeds and "
	    "catch-ups: taken by the engine or trust store, dropped, relayed "
	    "on.\n# TYPE mrx_feed_records_total counter\n"
	    "mrx_feed_records_total{outcome=\"taken\"} %llu\n"
	    "mrx_feed_records_total{outcome=\"dropped\"} %llu\n"
	    "mrx_feed_records_total{outcome=\"relayed\"} %llu\n",
	    (unsigned long long)fn->feed_taken,
	    (unsigned long long)fn->feed_dropped,
	    (unsigned long long)fn->relayed);
	eng_stats_get(n->eng, &es);
	PUT("# HELP mrx_feed_refused_total Feed records the engine refused, "
	    "by reason.\n# TYPE mrx_feed_refused_total counter\n");
	for (i = 0; i < ENG_FEED_WHY_COUNT; i++)
		PUT("mrx_feed_refused_total{reason=\"%s\"} %llu\n",
		    eng_feed_why_name((enum eng_feed_why)i),
		    (unsigned long long)es.feed_refused[i]);
	PUT("# HELP mrx_feed_equivocations_total Feeds found equivocating "
	    "(distrusted).\n# TYPE mrx_feed_equivocations_total counter\n"
	    "mrx_feed_equivocations_total %llu\n"
	    "# HELP mrx_feeds_followed Foreign status lists held.\n"
	    "# TYPE mrx_feeds_followed gauge\nmrx_feeds_followed %zu\n"
	    "# HELP mrx_catchups_total Catch-up requests sent and served.\n"
	    "# TYPE mrx_catchups_total counter\n"
	    "mrx_catchups_total{side=\"sent\"} %llu\n"
	    "mrx_catchups_total{side=\"served\"} %llu\n"
	    "# HELP mrx_trust_records_added_total Delegations, key "
	    "revocations and agreements learned at run time.\n"
	    "# TYPE mrx_trust_records_added_total counter\n"
	    "mrx_trust_records_added_total %llu\n"
	    "# HELP mrx_peer_bodies_malformed_total Admitted messages whose "
	    "body did not decode.\n# TYPE mrx_peer_bodies_malformed_total "
	    "counter\nmrx_peer_bodies_malformed_total %llu\n",
	    (unsigned long long)es.feed_equivocations, es.feeds,
	    (unsigned long long)fn->catchups_sent,
	    (unsigned long long)fn->catchups_served,
	    (unsigned long long)fn->trust_added,
	    (unsigned long long)fn->body_malformed);
	if (fn->fed != NULL) {
		fed_stats_get(fn->fed, &fs);
		PUT("# HELP mrx_nng_inbox_dropped_total Messages dropped "
		    "because the loop fell behind.\n"
		    "# TYPE mrx_nng_inbox_dropped_total counter\n"
		    "mrx_nng_inbox_dropped_total %llu\n"
		    "# HELP mrx_nng_recv_errors_total nng receive errors.\n"
		    "# TYPE mrx_nng_recv_errors_total counter\n"
		    "mrx_nng_recv_errors_total %llu\n"
		    "# HELP mrx_peer_request_failures_total Requests to peers "
		    "that got no answer (timeout, unreachable).\n"
		    "# TYPE mrx_peer_request_failures_total counter\n"
		    "mrx_peer_request_failures_total %llu\n"
		    "# HELP mrx_feed_published_total Messages put on this "
		    "node's feed.\n# TYPE mrx_feed_published_total counter\n"
		    "mrx_feed_published_total %llu\n",
		    (unsigned long long)fs.inbox_dropped,
		    (unsigned long long)fs.recv_errors,
		    (unsigned long long)fs.request_failures,
		    (unsigned long long)fs.published);
	}
#undef PUT
	return off;
}

/* ---- start, restore, stop ---- */

static int
restore_trust(void *ctx, enum proto_rec_type type, const uint8_t *b,
    size_t len)
{
	void **c = ctx;
	struct node *n = c[0];
	struct engine *e = c[1];

	(void)type;
	(void)proto_trust_add(eng_trust(e), b, len, node_now(),
	    n->conf.clock_skew_s, NULL);
	return 0;
}

static int
restore_feed(void *ctx, const char *issuer, const char *uri,
    enum store_feed_kind kind, uint64_t seq, const uint8_t *b, size_t len)
{
	void **c = ctx;

	(void)issuer;
	(void)uri;
	(void)kind;
	(void)seq;
	take_record(c[0], c[1], b, len, NULL, c[2], NULL);
	return 0;
}

/* A feed that equivocated stays distrusted across restarts. */
static int
restore_evidence(void *ctx, const char *issuer, const char *uri,
    uint64_t seq)
{
	void **c = ctx;

	(void)seq;
	(void)proto_trust_mark_equivocation(eng_trust(c[1]), issuer, uri);
	return 0;
}

int
node_fed_restore(struct node *n, struct engine *e)
{
	struct eng_actions *acts = malloc(sizeof(*acts));
	void *ctx[3] = { n, e, acts };
	struct mrx_diag d;
	int rc;

	if (acts == NULL)
		return MRX_ENOMEM;
	mrx_diag_clear(&d);
	rc = store_load_trust(n->store, restore_trust, ctx, &d);
	if (rc == 0)
		rc = store_load_feeds(n->store, restore_feed, ctx, &d);
	if (rc == 0)
		rc = store_load_evidence(n->store, restore_evidence, ctx, &d);
	free(acts);
	return rc;
}

int
node_fed_start(struct node *n)
{
	const struct conf_fed *fc = &n->conf.fed;
	struct proto_peer_table_config tc;
	struct proto_rate_config rate;
	struct proto_peer_spec sp;
	uint8_t hk[PROTO_HASH_KEY_LEN];
	struct node_fed *fn;
	struct mrx_diag d;
	char m[600];
	size_t i;
	int rc;

	if (fc->listen[0] == '\0' && fc->publish[0] == '\0' &&
	    fc->survey[0] == '\0' && fc->npeers == 0)
		return 0;
	fn = calloc(1, sizeof(*fn));
	if (fn == NULL)
		return 2;
	n->fedn = fn;
	fn->sends = calloc(FED_SEND_MAX, sizeof(*fn->sends));
	if (fn->sends == NULL || cry_random(hk, sizeof(hk)) != 0)
		return 2;
	proto_peer_table_config_default(&tc);
	tc.rate.per_s = CONF_PEER_RATE_DEFAULT;
	tc.rate.burst = CONF_PEER_BURST_DEFAULT;
	/* ids remembered: above the burst, so a burst is not refused as
	 * replay-floor (envelope.h) */
	tc.replay.ids_max = CONF_PEER_REPLAY_IDS;
	tc.peers_max = (uint32_t)(fc->npeers > 0 ? fc->npeers : 1);
	tc.replay.skew_s = n->conf.clock_skew_s;
	mrx_diag_clear(&d);
	if (proto_peer_table_new(&tc, hk, &fn->peers, &d) != 0) {
		log_msg(LOG_ERROR, "peer", "%s", mrx_diag_str(&d, m,
		    sizeof(m)));
		return 2;
	}
	for (i = 0; i < fc->npeers; i++) {
		const struct conf_peer *p = &fc->peers[i];

		mrx_diag_clear(&d);
		if (cry_key_load(p->key_path, &fn->keys[i], &d) != 0) {
			log_msg(LOG_ERROR, "peer", "federation.peers[%zu] %s: "
			    "%s", i, p->id, mrx_diag_str(&d, m, sizeof(m)));
			return 2;
		}
		memset(&sp, 0, sizeof(sp));
		sp.id = p->id;
		sp.key = fn->keys[i];
		sp.allowed_types = p->may | CONF_PEER_RESPONSES;
		rate = tc.rate;
		if (p->rate_per_s != 0)
			rate.per_s = p->rate_per_s;
		if (p->rate_burst != 0)
			rate.burst = p->rate_burst;
		sp.rate = &rate;
		/*
		 * The floor is the start time, not start + skew (envelope.h):
		 * peers must be able to catch up from a node the moment it is
		 * back. What is left open is a replay, after a restart, of a
		 * message accepted in the second before it; every request
		 * type is idempotent (feeds dedupe, catch-up and fetch read)
		 * or only audits a decision again (present).
		 */
		sp.replay_floor = node_now() - 1;
		if (proto_peer_add(fn->peers, &sp, now_ms(), &d) != 0) {
			log_msg(LOG_ERROR, "peer", "federation.peers[%zu] %s: "
			    "%s", i, p->id, mrx_diag_str(&d, m, sizeof(m)));
			return 2;
		}
	}
	mrx_diag_clear(&d);
	rc = fed_start(n->loop, &n->conf, deliver, n, &fn->fed, &d);
	if (rc != 0) {
		fn->fed = NULL;
		log_msg(LOG_ERROR, "federation", "%s", mrx_diag_str(&d, m,
		    sizeof(m)));
		return 2;
	}
	/* every second: the engine signs checkpoints when their interval
	 * has passed, and applies feed deltas left for later */
	uv_timer_init(n->loop, &fn->tick);
	fn->tick.data = n;
	fn->tick_on = true;
	uv_timer_start(&fn->tick, on_tick, 0, 1000);
	log_msg(LOG_INFO, "federation", "%zu peers; feed %s, requests %s, "
	    "survey %s", fc->npeers, fc->publish[0] ? fc->publish : "-",
	    fc->listen[0] ? fc->listen : "-", fc->survey[0] ? fc->survey :
	    "-");
	return 0;
}

void
node_fed_stop(struct node *n)
{
	struct node_fed *fn = n->fedn;
	size_t i;

	if (fn == NULL)
		return;
	if (fn->tick_on) {
		uv_timer_stop(&fn->tick);
		uv_close((uv_handle_t *)&fn->tick, NULL);
		fn->tick_on = false;
	}
	for (i = 0; i < FED_WAIT_MAX; i++)
		if (fn->wait[i].used) {
			if (fn->wait[i].job != NULL)
				log_answer(n, &fn->wait[i], NULL);
			if (fn->wait[i].x != NULL)
				respond_err(fn->wait[i].x, 503, "stopping",
				    NULL, "the node is stopping");
			wait_done(&fn->wait[i]);
		}
	node_fed_durable(n, UINT64_MAX, false);
	if (fn->fed != NULL) {
		if (!fed_stop(fn->fed))
			log_msg(LOG_WARN, "fed", "the federation's sockets did "
			    "not close within 5 s (nng 1.5.2 can hang closing "
			    "a pipe that is still sending); the node stops "
			    "without waiting for them: everything stored is "
			    "committed, and peers see the connections drop "
			    "at exit");
		fn->fed = NULL;
	}
}

void
node_fed_free(struct node *n)
{
	struct node_fed *fn = n->fedn;
	size_t i;

	if (fn == NULL)
		return;
	proto_peer_table_free(fn->peers);
	for (i = 0; i < CONF_PEERS_MAX; i++)
		cry_key_free(fn->keys[i]);
	free(fn->sends);
	free(fn->buf);
	free(fn);
	n->fedn = NULL;
}
