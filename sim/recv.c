/*
 * recv.c - what a simulated node does with what arrives, and its life:
 * start from the store, crash, tick. (node.c sends and carries out the
 * engine's actions.)
 *
 * A message is admitted in the three steps of docs/protocol.md 11.4
 * (open, peer check, accept) and then dispatched on its type, with the
 * bodies of protocol/fedmsg.h, as mrxd's federation does: a feed record
 * goes to the engine (status lists, deltas, checkpoints) or the trust
 * store (key revocations, delegations) and, when taken, on to the node's
 * subscribers; a catch-up request is answered from the engine and the
 * store (own lists) or from the feeds a relay stored (foreign lists); a
 * catch-up response is taken record by record and not relayed; a
 * presentation is decided by the engine and answered; a fetch is looked
 * up in the store.
 *
 * A node that starts gets a new engine and a new peer table: its own lists
 * and watches come back from the store (eng_restore_list,
 * eng_restore_watch), the trust records it kept are added to a trust store
 * rebuilt from its configuration, and everything else (the feeds it
 * followed, the verify cache, the replay sets) starts empty, as after a
 * real restart: feeds are caught up from 0 on the next checkpoint.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "fedmsg.h"
#include "sim.h"

#define NOW_S(w) ((w)->sc->start + (w)->now_us / SIM_US_PER_S)
#define NOW_MS(w) ((w)->sc->start * 1000 + (w)->now_us / 1000)
#define FFEED_DELTAS_MAX (1u << 20)	/* deltas a relay keeps per feed */

/* ---- expectations carried by messages ---- */

void
sim_tag_put(struct sim_world *w, const uint8_t id[PROTO_ENV_ID_LEN],
    size_t expect)
{
	struct sim_tag *t;
	size_t cap;

	if (w->ntags == w->captags) {
		cap = w->captags == 0 ? 16 : 2 * w->captags;
		t = realloc(w->tags, cap * sizeof(*t));
		if (t == NULL)
			return;	/* the expectation then ends unresolved */
		w->tags = t;
		w->captags = cap;
	}
	memcpy(w->tags[w->ntags].id, id, PROTO_ENV_ID_LEN);
	w->tags[w->ntags++].expect = expect;
}

size_t
sim_tag_take(struct sim_world *w, const uint8_t id[PROTO_ENV_ID_LEN])
{
	size_t i, k;

	for (i = 0; i < w->ntags; i++)
		if (memcmp(w->tags[i].id, id, PROTO_ENV_ID_LEN) == 0) {
			k = w->tags[i].expect;
			w->tags[i] = w->tags[--w->ntags];
			return k;
		}
	return SIZE_MAX;
}

/* ---- feeds ---- */

/* Propagation: what n holds of (issuer, uri) after a feed record. */
static void
view_update(struct sim_world *w, struct sim_node *n, uint32_t issuer,
    const char *uri)
{
	const struct sim_node *is = &w->nodes[issuer];
	const struct sim_listlog *lg;
	struct proto_status_info info;
	struct sim_view *v = NULL, *nv;
	uint32_t list;
	const char *p = strrchr(uri, '/');
	size_t i;
	uint64_t s;

	list = p != NULL ? (uint32_t)strtoul(p + 1, NULL, 10) : 0;
	if (list == 0 || list > ENG_LISTS_MAX || proto_trust_status_info(
	    eng_trust(n->eng), is->conf->id, uri, &info) != 0 ||
	    !info.has_list)
		return;
	for (i = 0; i < n->nviews; i++)
		if (n->views[i].issuer == issuer && n->views[i].list == list)
			v = &n->views[i];
	if (v == NULL) {
		if (n->nviews == n->capviews) {
			size_t cap = n->capviews == 0 ? 8 : 2 * n->capviews;

			nv = realloc(n->views, cap * sizeof(*nv));
			if (nv == NULL)
				return;
			n->views = nv;
			n->capviews = cap;
		}
		v = &n->views[n->nviews++];
		memset(v, 0, sizeof(*v));
		v->issuer = issuer;
		v->list = list;
	}
	v->equivocating = info.equivocating;
	if (is->logs == NULL)
		return;
	lg = &is->logs[list - 1];
	for (s = v->seq + 1; s <= info.seq && s <= lg->n; s++)
		if (lg->revocation[s - 1])
			sim_prop_sample(w, w->now_us - lg->us[s - 1]);
	if (info.seq > v->seq)
		v->seq = info.seq;
}

static uint64_t
refused_sum(const struct eng_stats *s)
{
	uint64_t n = s->feed_stale + s->feed_duplicates;
	int i;

	for (i = 0; i < ENG_FEED_WHY_COUNT; i++)
		n += s->feed_refused[i];
	return n;
}

/* Which partner root a foreign issuer's feed came through, at a root
 * (mrxd's via table; below the roots the parent is the way). */
static void
via_note(struct sim_world *w, struct sim_node *n, uint32_t issuer,
    uint32_t from)
{
	void *p;
	size_t i;

	if (from == SIM_NONE || from == issuer ||
	    n->conf->role != ENG_ROLE_ROOT ||
	    w->nodes[from].conf->role != ENG_ROLE_ROOT)
		return;
	for (i = 0; i < n->nvia; i++)
		if (n->via[i].issuer == issuer) {
			n->via[i].peer = from;
			return;
		}
	p = realloc(n->via, (n->nvia + 1) * sizeof(*n->via));
	if (p == NULL)
		return;
	n->via = p;
	n->via[n->nvia].issuer = issuer;
	n->via[n->nvia++].peer = from;
}

static struct sim_ffeed *
ffeed_get(struct sim_node *n, uint32_t issuer, const char *uri)
{
	struct sim_ffeed *f;
	size_t i;

	for (i = 0; i < n->nffeeds; i++)
		if (n->ffeeds[i].issuer == issuer &&
		    strcmp(n->ffeeds[i].uri, uri) == 0)
			return &n->ffeeds[i];
	f = realloc(n->ffeeds, (n->nffeeds + 1) * sizeof(*f));
	if (f == NULL)
		return NULL;
	n->ffeeds = f;
	f = &n->ffeeds[n->nffeeds++];
	memset(f, 0, sizeof(*f));
	f->issuer = issuer;
	sim_strcopy(f->uri, sizeof(f->uri), uri);
	return f;
}

static int
blob_dup(struct sim_blob *b, const uint8_t *p, size_t n)
{
	free(b->p);
	b->p = malloc(n);
	if (b->p == NULL) {
		b->n = 0;
		return MRX_ENOMEM;
	}
	memcpy(b->p, p, n);
	b->n = n;
	return 0;
}

/* The slot of delta seq in f (sorted by seq), or where it would go. */
static size_t
ffeed_slot(const struct sim_ffeed *f, uint64_t seq)
{
	size_t lo = 0, hi = f->ndeltas, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (f->dseq[mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Drops the deltas a list at seq supersedes (seq <= it). */
static void
ffeed_trim(struct sim_ffeed *f, uint64_t seq)
{
	size_t k = ffeed_slot(f, seq + 1), i;

	if (k == 0)
		return;		/* nothing superseded (deltas may be NULL) */
	for (i = 0; i < k; i++)
		free(f->deltas[i].p);
	memmove(f->deltas, f->deltas + k, (f->ndeltas - k) *
	    sizeof(*f->deltas));
	memmove(f->dseq, f->dseq + k, (f->ndeltas - k) * sizeof(*f->dseq));
	f->ndeltas -= k;
}

/*
 * A relay keeps what it took of a foreign feed (as mrxd's store does), to
 * answer its subscribers' catch-ups: the last whole list, and every delta
 * taken by seq, also one that came before any list (the engine buffered
 * it); a list drops the deltas it supersedes.
 */
static int
ffeed_keep(struct sim_node *n, uint32_t issuer, const char *uri,
    enum proto_rec_type type, const uint8_t *rec, size_t len)
{
	struct sim_ffeed *f;
	struct proto_record r;
	uint64_t seq;
	size_t k;
	void *p;
	int rc;

	if (n->nsubs == 0 || (type != PROTO_REC_STATUS_LIST &&
	    type != PROTO_REC_STATUS_DELTA))
		return 0;
	if (proto_record_decode(rec, len, &r, NULL) != 0) {
		proto_record_fini(&r);
		return 0;
	}
	seq = type == PROTO_REC_STATUS_LIST ? r.u.sl.seq : r.u.sd.seq;
	proto_record_fini(&r);
	if ((f = ffeed_get(n, issuer, uri)) == NULL)
		return MRX_ENOMEM;
	if (type == PROTO_REC_STATUS_LIST) {
		if (f->list.p != NULL && seq <= f->list_seq)
			return 0;
		rc = blob_dup(&f->list, rec, len);
		f->list_seq = seq;
		ffeed_trim(f, seq);
		return rc;
	}
	if ((f->list.p != NULL && seq <= f->list_seq) ||
	    f->ndeltas >= FFEED_DELTAS_MAX)
		return 0;
	k = ffeed_slot(f, seq);
	if (k < f->ndeltas && f->dseq[k] == seq)
		return 0;	/* held */
	if (f->ndeltas == f->cap) {
		size_t cap = f->cap == 0 ? 16 : 2 * f->cap;

		if ((p = realloc(f->deltas, cap * sizeof(*f->deltas))) == NULL)
			return MRX_ENOMEM;
		f->deltas = p;
		if ((p = realloc(f->dseq, cap * sizeof(*f->dseq))) == NULL)
			return MRX_ENOMEM;
		f->dseq = p;
		f->cap = cap;
	}
	memmove(f->deltas + k + 1, f->deltas + k, (f->ndeltas - k) *
	    sizeof(*f->deltas));
	memmove(f->dseq + k + 1, f->dseq + k, (f->ndeltas - k) *
	    sizeof(*f->dseq));
	memset(&f->deltas[k], 0, sizeof(f->deltas[k]));
	f->dseq[k] = seq;
	f->ndeltas++;
	return blob_dup(&f->deltas[k], rec, len);
}

/* A status list, delta or checkpoint into the engine. */
static int
feed_engine(struct sim_world *w, struct sim_node *n, const uint8_t *rec,
    size_t len, enum proto_rec_type type, const char *iss, const char *sub,
    bool fwd, uint32_t from)
{
	struct sim_id h = sim_id_of(w, rec, len);
	struct eng_stats before, after;
	struct eng_event ev;
	uint32_t is;
	int rc, k;

	eng_stats_get(n->eng, &before);
	if (sim_vmemo_known(w, h)) {
		eng_vcache_put(n->eng, rec, len);
		w->st.vmemo_hits++;
	}
	sim_event_init(w, &ev, ENG_EV_FEED_RECORD);
	ev.u.feed.bytes = rec;
	ev.u.feed.len = len;
	rc = sim_node_handle(w, n, &ev);
	if (rc != 0)
		return rc;
	if (!sim_vmemo_known(w, h) && eng_vcache_has(n->eng, rec, len)) {
		sim_vmemo_learn(w, h);
		w->st.record_verifies++;
	}
	eng_stats_get(n->eng, &after);
	is = sim_node_find(w, iss);
	if (is == SIM_NONE || is == n->ix)
		return 0;
	view_update(w, n, is, sub);
	via_note(w, n, is, from);
	if (refused_sum(&after) != refused_sum(&before)) {
		for (k = 0; k < ENG_FEED_WHY_COUNT; k++)
			if (after.feed_refused[k] != before.feed_refused[k])
				sim_debug(w, "%s engine refuses a record of %s "
				    "%s: %s", n->conf->id, iss, sub,
				    eng_feed_why_name(k));
		return 0;	/* refused, stale or known: not taken */
	}
	rc = ffeed_keep(n, is, sub, type, rec, len);
	if (rc != 0 || !fwd)
		return rc;
	return sim_node_relay(w, n, rec, len, h);
}

/* A key revocation or delegation into the trust store (and the store). */
static int
feed_trust(struct sim_world *w, struct sim_node *n, const uint8_t *rec,
    size_t len, bool fwd)
{
	struct sim_txn *t;
	struct mrx_diag d;
	int rc;

	mrx_diag_clear(&d);
	rc = proto_trust_add(eng_trust(n->eng), rec, len, NOW_S(w),
	    n->cfg.policy.skew_s, &d);
	if (rc != 0)
		return 0;	/* refused or known: counted nowhere else */
	t = sim_txn_new();
	if (t == NULL || sim_txn_trust(t, rec, len) != 0 ||
	    sim_store_queue(&n->store, t, w->now_us +
	    w->sc->policy.sync_us) != 0) {
		sim_txn_free(t);
		return MRX_ENOMEM;
	}
	rc = sim_schedule(w, w->now_us + w->sc->policy.sync_us, SIM_K_COMMIT,
	    n->ix, 0, 0);
	if (rc != 0)
		return rc;
	return fwd ? sim_node_relay(w, n, rec, len, sim_id_of(w, rec, len)) :
	    0;
}

int
sim_node_feed(struct sim_world *w, struct sim_node *n, const uint8_t *rec,
    size_t len, bool fwd, uint32_t from)
{
	enum proto_rec_type type;
	char iss[PROTO_ID_MAX + 1], sub[PROTO_SUB_MAX + 1];

	if (!n->up)
		return 0;
	if (sim_peek_record(rec, len, &type, iss, sub) != 0)
		return 0;	/* not a record: dropped */
	switch (type) {
	case PROTO_REC_STATUS_LIST:
	case PROTO_REC_STATUS_DELTA:
	case PROTO_REC_CHECKPOINT:
		return feed_engine(w, n, rec, len, type, iss, sub, fwd, from);
	case PROTO_REC_KEY_REVOCATION:
	case PROTO_REC_DELEGATION:
		return feed_trust(w, n, rec, len, fwd);
	default:
		return 0;	/* no feed carries it */
	}
}

/* The records of a catch-up response: taken, not relayed (subscribers of
 * this node catch up on their own). */
static int
take_batch(struct sim_world *w, struct sim_node *n, uint32_t from,
    const uint8_t *b, size_t len)
{
	struct proto_bytes *recs;
	size_t k, i;
	int rc = 0;

	recs = calloc(PROTO_BATCH_MAX + 1, sizeof(*recs));
	if (recs == NULL)
		return MRX_ENOMEM;
	if (proto_batch_decode(b, len, recs, PROTO_BATCH_MAX + 1, &k,
	    NULL) != 0)
		k = 0;	/* malformed: dropped */
	for (i = 0; i < k && rc == 0 && n->up; i++)
		rc = sim_node_feed(w, n, recs[i].p, recs[i].n, false, from);
	free(recs);
	return rc;
}

/* ---- catch-up: the serving side ---- */

struct out_batch {
	struct proto_bytes recs[ENG_CATCHUP_MAX + 1];
	size_t n, bytes;
};

static bool
out_add(struct out_batch *o, const uint8_t *p, size_t n)
{
	if (o->n == ENG_CATCHUP_MAX + 1 || o->bytes + n + 16 >
	    PROTO_ENV_BODY_MAX)
		return false;
	o->recs[o->n].p = p;
	o->recs[o->n++].n = n;
	o->bytes += n + 16;
	return true;
}

/* Own lists: the whole list from 0, then the deltas the engine names,
 * from the store (committed only). */
static int
serve_own(struct sim_world *w, struct sim_node *n,
    const struct proto_catchup_req *rq, struct out_batch *o)
{
	const struct eng_reply *r;
	const struct sim_blob *d;
	const uint8_t *lb;
	struct eng_event ev;
	uint64_t from = rq->from, lseq, s;
	size_t ll;
	int rc;

	if (from == 0) {
		/* never a state not yet durable */
		if (n->store.npending > 0 ||
		    eng_list_record(n->eng, rq->uri, &lb, &ll, &lseq) != 0)
			return 0;
		memcpy(w->buf2, lb, ll);	/* engine-owned: copy */
		if (!out_add(o, w->buf2, ll))
			return 0;
		from = lseq + 1;
	}
	sim_event_init(w, &ev, ENG_EV_CATCHUP_REQUEST);
	sim_strcopy(ev.u.cu.uri, sizeof(ev.u.cu.uri), rq->uri);
	ev.u.cu.from_seq = from;
	ev.u.cu.max = ENG_CATCHUP_MAX;
	rc = sim_node_handle(w, n, &ev);
	if (rc != 0)
		return rc;
	r = sim_last_reply(w);
	if (r == NULL || r->status != ENG_OK)
		return 0;
	for (s = r->from_seq; s <= r->to_seq; s++) {
		d = sim_store_delta(&n->store, rq->uri, s);
		if (d == NULL || !out_add(o, d->p, d->n))
			break;	/* not committed yet: the rest later */
	}
	return 0;
}

/* Foreign lists: what this relay stored of the feed: the list when the
 * asker holds none or an older one, then the deltas that follow without
 * a gap. */
static void
serve_foreign(struct sim_world *w, struct sim_node *n,
    const struct proto_catchup_req *rq, struct out_batch *o)
{
	uint32_t is = sim_node_find(w, rq->issuer);
	const struct sim_ffeed *f = NULL;
	uint64_t from = rq->from;
	size_t i, k;

	for (i = 0; is != SIM_NONE && i < n->nffeeds; i++)
		if (n->ffeeds[i].issuer == is &&
		    strcmp(n->ffeeds[i].uri, rq->uri) == 0)
			f = &n->ffeeds[i];
	if (f == NULL)
		return;
	if (f->list.p != NULL && (from == 0 || from <= f->list_seq)) {
		if (!out_add(o, f->list.p, f->list.n))
			return;
		from = f->list_seq + 1;
	}
	if (from == 0)
		return;	/* no list to start from */
	for (k = ffeed_slot(f, from); k < f->ndeltas &&
	    f->dseq[k] == from; k++, from++)
		if (!out_add(o, f->deltas[k].p, f->deltas[k].n))
			break;
}

static int
serve_catchup(struct sim_world *w, struct sim_node *n, uint32_t from,
    const uint8_t *body, size_t len)
{
	struct proto_catchup_req rq;
	struct out_batch *o;
	size_t olen;
	int rc = 0;

	if (proto_catchup_req_decode(body, len, &rq, NULL) != 0)
		return 0;
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return MRX_ENOMEM;
	sim_debug(w, "%s serves catch-up of %s from %llu to %s", n->conf->id,
	    rq.uri, (unsigned long long)rq.from, w->nodes[from].conf->id);
	if (strcmp(rq.issuer, n->conf->id) == 0)
		rc = serve_own(w, n, &rq, o);
	else
		serve_foreign(w, n, &rq, o);
	sim_debug(w, "%s has %zu records for it", n->conf->id, o->n);
	if (rc == 0 && o->n > 0 && proto_batch_encode(o->recs, o->n, w->buf,
	    PROTO_ENV_BODY_MAX, &olen) == 0) {
		n->catchups_served++;
		/* the body is sealed from w->buf: copy it out first */
		memcpy(w->buf2, w->buf, olen);
		rc = sim_send(w, n, from, PROTO_MSG_CATCHUP_RESPONSE, w->buf2,
		    olen);
	}
	free(o);
	return rc;
}

/* ---- presentations ---- */

/* The decision back to the presenter: verdict and a decision document
 * (its verdict and reason codes). */
static int
respond(struct sim_world *w, struct sim_node *n, uint32_t to,
    const struct proto_decision *d)
{
	struct proto_present_resp rs;
	char json[PROTO_CODE_MAX * PROTO_REASONS_MAX + 64];
	size_t olen, i, jl;

	if (to == SIM_NONE || !n->up)
		return 0;
	jl = (size_t)snprintf(json, sizeof(json), "{\"verdict\":\"%s\","
	    "\"reasons\":[", proto_verdict_name(d->verdict));
	for (i = 0; i < d->nreasons && jl + PROTO_CODE_MAX + 8 < sizeof(json);
	    i++)
		jl += (size_t)snprintf(json + jl, sizeof(json) - jl,
		    "%s\"%s\"", i ? "," : "", d->reasons[i].code);
	jl += (size_t)snprintf(json + jl, sizeof(json) - jl, "]}");
	memset(&rs, 0, sizeof(rs));
	rs.verdict = (uint8_t)d->verdict;
	rs.json.p = (const uint8_t *)json;
	rs.json.n = jl;
	if (proto_present_resp_encode(&rs, w->buf2, PROTO_ENV_BODY_MAX,
	    &olen) != 0)
		return 0;
	return sim_send(w, n, to, PROTO_MSG_PRESENT_RESPONSE, w->buf2, olen);
}

static int
on_present(struct sim_world *w, struct sim_node *n, uint32_t from,
    const struct proto_envelope *env)
{
	struct proto_present pr;
	size_t k = sim_tag_take(w, env->id);

	if (proto_present_decode(env->body, env->body_len, &pr, NULL) != 0)
		return 0;
	return sim_ask(w, n, pr.record.p, pr.record.n, pr.operator_record.p,
	    pr.operator_record.p != NULL ? pr.operator_record.n : 0,
	    pr.access, pr.scope, k, from);
}

/* ---- decisions that wait for the issuers' logs ---- */

static int
wait_finish(struct sim_world *w, size_t slot)
{
	struct sim_waiting *wt = &w->waits[slot];
	struct sim_node *n = &w->nodes[wt->node];
	const struct proto_decision *d;
	int rc = 0;

	wt->used = false;
	if (n->up) {
		rc = sim_decide(w, n, wt->rec.p, wt->rec.n, wt->op.p, wt->op.n,
		    wt->access, wt->scope, wt->expect, wt->log[0], wt->log[1],
		    &d);
		rc = rc < 0 ? rc : respond(w, n, wt->reply_to, d);
	} else {
		sim_expect_done(w, wt->expect, false, "nothing (the verifier "
		    "went down while it waited for the issuer's log)");
	}
	free(wt->rec.p);
	free(wt->op.p);
	wt->rec.p = wt->op.p = NULL;
	return rc;
}

static size_t
wait_slot(struct sim_world *w)
{
	struct sim_waiting *nw;
	size_t i;

	for (i = 0; i < w->nwaits; i++)
		if (!w->waits[i].used)
			return i;
	nw = realloc(w->waits, (w->nwaits + 1) * sizeof(*nw));
	if (nw == NULL)
		return SIZE_MAX;
	w->waits = nw;
	memset(&w->waits[w->nwaits], 0, sizeof(*nw));
	return w->nwaits++;
}

/* What the issuer's answer says of the bytes presented. */
static enum proto_log_check
log_of(const struct sim_blob *presented, const uint8_t *held, size_t n)
{
	return held != NULL && n == presented->n && memcmp(held,
	    presented->p, n) == 0 ? PROTO_LOG_HELD : PROTO_LOG_ABSENT;
}

/* Asks the issuer of record i of slot for it; or answers at once. */
static int
wait_ask(struct sim_world *w, struct sim_node *n, size_t slot, int i,
    const char *iss, const uint8_t cti[PROTO_CTI_LEN])
{
	struct sim_waiting *wt = &w->waits[slot];
	const struct sim_blob *b = i == 0 ? &wt->rec : &wt->op;
	const struct sim_store_rec *r;
	uint32_t is = sim_node_find(w, iss);
	uint8_t buf[64];
	size_t len;

	if (is == SIM_NONE)
		return 0;	/* no one to ask: unchecked */
	if (is == n->ix) {	/* its own log */
		r = sim_store_find(&n->store, cti);
		wt->log[i] = log_of(b, r != NULL ? r->bytes : NULL, r != NULL ?
		    r->len : 0);
		return 0;
	}
	if (proto_fetch_req_encode(cti, buf, sizeof(buf), &len) != 0)
		return 0;
	wt->waiting[i] = true;
	w->tag_next = SIM_TAG_DECISION | (size_t)(wt->gen & 0x3fffffff) << 32 |
	    slot << 1 | (size_t)i;
	return sim_send(w, n, is, PROTO_MSG_FETCH_REQUEST, buf, len);
}

int
sim_ask(struct sim_world *w, struct sim_node *n, const uint8_t *rec,
    size_t len, const uint8_t *op, size_t oplen, const char *access,
    const char *scope, size_t expect, uint32_t reply_to)
{
	const struct proto_decision *d;
	struct sim_waiting *wt;
	char iss[2][PROTO_ID_MAX + 1];
	uint8_t cti[2][PROTO_CTI_LEN];
	bool need[2];
	size_t slot;
	int i, rc;

	need[0] = proto_trust_needs_log(eng_trust(n->eng), rec, len, iss[0],
	    cti[0]);
	need[1] = op != NULL && proto_trust_needs_log(eng_trust(n->eng), op,
	    oplen, iss[1], cti[1]);
	if (!need[0] && !need[1]) {
		rc = sim_decide(w, n, rec, len, op, oplen, access, scope,
		    expect, PROTO_LOG_UNCHECKED, PROTO_LOG_UNCHECKED, &d);
		return rc < 0 ? rc : respond(w, n, reply_to, d);
	}
	if ((slot = wait_slot(w)) == SIZE_MAX)
		return MRX_ENOMEM;
	wt = &w->waits[slot];
	wt->used = true;
	wt->gen++;
	wt->node = n->ix;
	wt->reply_to = reply_to;
	wt->expect = expect;
	wt->waiting[0] = wt->waiting[1] = false;
	wt->log[0] = wt->log[1] = PROTO_LOG_UNCHECKED;
	sim_strcopy(wt->access, sizeof(wt->access), access);
	sim_strcopy(wt->scope, sizeof(wt->scope), scope != NULL ? scope : "");
	wt->rec.p = malloc(len);
	wt->op.p = op != NULL ? malloc(oplen) : NULL;
	if (wt->rec.p == NULL || (op != NULL && wt->op.p == NULL))
		return MRX_ENOMEM;
	memcpy(wt->rec.p, rec, len);
	wt->rec.n = len;
	if (op != NULL)
		memcpy(wt->op.p, op, oplen);
	wt->op.n = op != NULL ? oplen : 0;
	for (i = 0; i < 2; i++) {
		char tb[32];

		if (!need[i])
			continue;
		sim_trace(w, "%s %s asks %s's log for the %s presented (its key "
		    "is declared compromised)", sim_fmt_time(w->now_us, tb,
		    sizeof(tb)), n->conf->id, iss[i], i == 0 ? "clearance" :
		    "certification");
		if ((rc = wait_ask(w, n, slot, i, iss[i], cti[i])) != 0)
			return rc;
	}
	if (!wt->waiting[0] && !wt->waiting[1])
		return wait_finish(w, slot);
	return sim_schedule(w, w->now_us + SIM_LOG_TIMEOUT_US, SIM_K_TIMEOUT,
	    n->ix, 0, (uint64_t)wt->gen << 32 | slot);
}

int
sim_wait_timeout(struct sim_world *w, uint64_t arg)
{
	size_t slot = (size_t)(arg & 0xffffffffu);

	if (slot >= w->nwaits || !w->waits[slot].used ||
	    w->waits[slot].gen != (uint32_t)(arg >> 32))
		return 0;	/* answered in time */
	return wait_finish(w, slot);
}

/* An issuer's answer to a waiting decision's fetch. */
static int
wait_answer(struct sim_world *w, size_t tag, const struct proto_bytes *rec,
    size_t n)
{
	size_t slot = (tag >> 1) & 0x7fffffffu;
	int i = (int)(tag & 1);
	struct sim_waiting *wt;

	if (slot >= w->nwaits)
		return 0;
	wt = &w->waits[slot];
	if (!wt->used || (wt->gen & 0x3fffffff) != ((tag >> 32) & 0x3fffffff) ||
	    !wt->waiting[i])
		return 0;	/* late: decided without it */
	wt->waiting[i] = false;
	wt->log[i] = log_of(i == 0 ? &wt->rec : &wt->op, n > 0 ? rec->p : NULL,
	    n > 0 ? rec->n : 0);
	if (wt->waiting[0] || wt->waiting[1])
		return 0;
	return wait_finish(w, slot);
}

/* ---- fetch: a record by id ---- */

static int
on_fetch(struct sim_world *w, struct sim_node *n, uint32_t from,
    const struct proto_envelope *env)
{
	const struct sim_store_rec *r;
	struct proto_bytes rec;
	uint8_t cti[PROTO_CTI_LEN];
	size_t olen, k = sim_tag_take(w, env->id);

	if (proto_fetch_req_decode(env->body, env->body_len, cti, NULL) != 0)
		return 0;
	r = sim_store_find(&n->store, cti);
	if (r != NULL) {
		rec.p = r->bytes;
		rec.n = r->len;
	}
	if (proto_batch_encode(&rec, r != NULL ? 1 : 0, w->buf2,
	    PROTO_ENV_BODY_MAX, &olen) != 0)
		return 0;
	w->tag_next = k;	/* the answer carries the expectation back */
	return sim_send(w, n, from, PROTO_MSG_FETCH_RESPONSE, w->buf2, olen);
}

static int
on_fetched(struct sim_world *w, const struct proto_envelope *env)
{
	struct proto_bytes rec;
	size_t n = 0, k = sim_tag_take(w, env->id);

	if (k == SIZE_MAX || proto_batch_decode(env->body, env->body_len, &rec,
	    1, &n, NULL) != 0)
		return 0;
	if (k & SIM_TAG_DECISION)
		return wait_answer(w, k, &rec, n);
	sim_fetch_done(w, k, n > 0);
	return 0;
}

/* ---- admitting a message ---- */

/* The peer check of a broadcast, memoized across receivers that hold the
 * sender with the same key and ACL (a pure function of those). */
static int
peer_check(struct sim_world *w, struct sim_node *n,
    const struct sim_msg *m, const struct proto_envelope *env,
    enum proto_refusal *why)
{
	const struct proto_peer *p = proto_peer_find(n->peers, env->from);
	struct sim_id h;
	uint8_t key[40];
	size_t slot;
	int rc;

	if (p == NULL || !proto_msg_type_broadcast(env->type) ||
	    strcmp(env->to, PROTO_ENV_BROADCAST) != 0) {
		w->st.peer_checks += p != NULL;
		return proto_peer_check(n->peers, env, n->conf->id, why, NULL);
	}
	h = sim_id_of(w, m->bytes, m->len);
	memcpy(key, &h.a, 8);
	memcpy(key + 8, &h.b, 8);
	memcpy(key + 16, cry_key_kid(p->key), CRY_KID_LEN);
	memcpy(key + 32, &p->allowed_types, 4);
	memset(key + 36, 0, 4);
	slot = (size_t)(h.a % SIM_EMEMO_SLOTS);
	if (w->ememo[slot].used && memcmp(w->ememo[slot].key, key,
	    sizeof(key)) == 0) {
		w->st.ememo_hits++;
		rc = w->ememo[slot].rc;
		*why = (enum proto_refusal)w->ememo[slot].why;
		return rc;
	}
	w->st.peer_checks++;
	rc = proto_peer_check(n->peers, env, n->conf->id, why, NULL);
	if (rc == MRX_ENOMEM || rc == MRX_ECRYPTO)
		return rc;
	memcpy(w->ememo[slot].key, key, sizeof(key));
	w->ememo[slot].rc = rc;
	w->ememo[slot].why = (int)*why;
	w->ememo[slot].used = true;
	return rc;
}

static int
dispatch(struct sim_world *w, struct sim_node *n, uint32_t from,
    const struct proto_envelope *env)
{
	switch (env->type) {
	case PROTO_MSG_FEED_RECORD:	/* one record, no wrapper */
		return sim_node_feed(w, n, env->body, env->body_len, true,
		    from);
	case PROTO_MSG_CATCHUP_RESPONSE:
		return take_batch(w, n, from, env->body, env->body_len);
	case PROTO_MSG_CATCHUP_REQUEST:
		return serve_catchup(w, n, from, env->body, env->body_len);
	case PROTO_MSG_PRESENT:
		return on_present(w, n, from, env);
	case PROTO_MSG_FETCH_REQUEST:
		return on_fetch(w, n, from, env);
	case PROTO_MSG_FETCH_RESPONSE:
		return on_fetched(w, env);
	default:
		return 0;	/* counted: nothing more to do */
	}
}

int
sim_deliver(struct sim_world *w, struct sim_msg *m, uint32_t to)
{
	struct sim_node *n = &w->nodes[to];
	struct proto_envelope env;
	enum proto_refusal why = PROTO_REFUSE_NONE;
	uint32_t from;
	int rc;

	if (!n->up) {
		n->tr.dropped++;
		return 0;
	}
	if (!sim_net_connected(&w->net, m->from, to)) {
		w->net.cut++;
		return 0;
	}
	if (proto_envelope_open(m->bytes, m->len, &env, &why, NULL) != 0 ||
	    (rc = peer_check(w, n, m, &env, &why)) != 0 ||
	    (rc = proto_peer_accept(n->peers, &env, NOW_MS(w), &why,
	    NULL)) != 0) {
		if (why == PROTO_REFUSE_NONE)
			why = PROTO_REFUSE_MALFORMED;
		n->tr.refused[why]++;
		sim_hash(w, &why, sizeof(why));
		sim_debug(w, "%s refuses a message from %s: %s", n->conf->id,
		    w->nodes[m->from].conf->id, proto_refusal_name(why));
		return 0;
	}
	n->tr.recv[env.type]++;
	n->tr.recv_bytes[env.type] += m->len;
	w->st.messages++;
	w->st.bytes += m->len;
	from = strcmp(env.from, w->nodes[m->from].conf->id) == 0 ? m->from :
	    sim_node_find(w, env.from);
	if (from == SIM_NONE)
		return 0;
	sim_debug(w, "%s <- %s %s (%zu bytes)", n->conf->id, env.from,
	    proto_msg_type_name(env.type), env.body_len);
	return dispatch(w, n, from, &env);
}

/* ---- life ---- */

static int
peers_new(struct sim_world *w, struct sim_node *n, struct mrx_diag *diag)
{
	struct proto_peer_table_config c;
	struct proto_peer_spec s;
	uint8_t hk[PROTO_HASH_KEY_LEN];
	size_t i;
	int rc;

	proto_peer_table_config_default(&c);
	/* an operator talks to its authority, the issuers it catches up
	 * from and those who present to it; an authority to everyone */
	c.peers_max = n->conf->role == ENG_ROLE_OPERATOR ? SIM_OP_PEERS_MAX :
	    PROTO_PEERS_MAX;
	c.replay.ids_max = w->sc->policy.replay_ids;
	c.replay.skew_s = w->sc->policy.skew_s < PROTO_ENV_SKEW_MAX_S ?
	    w->sc->policy.skew_s : PROTO_ENV_SKEW_MAX_S;
	c.rate.per_s = w->sc->policy.rate_per_s;
	c.rate.burst = w->sc->policy.rate_burst;
	sim_rng_bytes(&w->rng_fault, hk, sizeof(hk));
	rc = proto_peer_table_new(&c, hk, &n->peers, diag);
	if (rc != 0)
		return rc;
	memset(&s, 0, sizeof(s));
	s.allowed_types = PROTO_MSG_ALL;
	s.replay_floor = n->boot > 1 ? n->started_s : -1;
	/* the feeds it hears: its parent, and partner roots */
	if (n->parent != SIM_NONE) {
		s.id = w->nodes[n->parent].conf->id;
		s.key = w->nodes[n->parent].key;
		(void)proto_peer_add(n->peers, &s, NOW_MS(w), NULL);
	}
	for (i = 0; i < n->nsubs; i++) {
		s.id = w->nodes[n->subs[i]].conf->id;
		s.key = w->nodes[n->subs[i]].key;
		(void)proto_peer_add(n->peers, &s, NOW_MS(w), NULL);
	}
	return 0;
}

int
sim_node_start(struct sim_world *w, struct sim_node *n, struct mrx_diag *diag)
{
	struct proto_trust *t;
	const struct sim_store_list *l;
	const struct eng_persist_watch *wt;
	size_t i;
	int rc;

	if (n->up)
		return 0;
	t = sim_trust_build(w, n, diag);
	if (t == NULL)
		return diag != NULL && diag->code != 0 ? diag->code :
		    MRX_ENOMEM;
	rc = eng_new(&n->cfg, t, &n->eng, diag);
	if (rc != 0) {
		proto_trust_free(t);
		return rc;
	}
	for (i = 0; rc == 0 && i < n->store.nlists; i++) {
		l = &n->store.lists[i];
		rc = eng_restore_list(n->eng, &l->sl, l->alloc, l->nalloc,
		    diag);
	}
	for (i = 0; rc == 0 && i < n->store.nwatches; i++) {
		wt = &n->store.watches[i];
		rc = eng_restore_watch(n->eng, wt->issuer, wt->ref.uri,
		    wt->ref.idx, wt->cti);
		if (rc == MRX_ENOSPC)
			rc = 0;	/* the table's bound: the rest unwatched */
	}
	n->boot++;
	n->started_s = NOW_S(w);
	if (rc == 0)
		rc = peers_new(w, n, diag);
	if (rc != 0) {
		eng_free(n->eng);
		n->eng = NULL;
		return rc;
	}
	/* the engine's view of its lists is the store's now */
	for (i = 0; n->logs != NULL && i < n->store.nlists; i++) {
		n->logs[i].seq = n->store.lists[i].sl.seq;
		memcpy(n->logs[i].head, n->store.lists[i].sl.head,
		    PROTO_HASH_LEN);
	}
	if (n->seen != NULL)
		memset(n->seen, 0, sizeof(*n->seen));
	n->up = true;
	return 0;
}

void
sim_node_crash(struct sim_world *w, struct sim_node *n)
{
	size_t landed = 0, lost = 0, i;

	if (!n->up)
		return;
	(void)sim_store_crash(&n->store, &w->rng_fault, &landed, &lost);
	w->st.txns_lost += lost;
	sim_lost_pending(w, n->ix);
	eng_free(n->eng);
	n->eng = NULL;
	proto_peer_table_free(n->peers);
	n->peers = NULL;
	for (i = 0; i < n->nbatch; i++)
		free(n->batch[i].p);
	n->nbatch = 0;
	n->up = false;
	w->st.crashes++;
}

int
sim_node_tick(struct sim_world *w, struct sim_node *n)
{
	struct eng_event ev;

	if (!n->up)
		return 0;
	sim_event_init(w, &ev, ENG_EV_TICK);
	return sim_node_handle(w, n, &ev);
}

/* ---- decisions ---- */

int
sim_decide(struct sim_world *w, struct sim_node *n, const uint8_t *rec,
    size_t len, const uint8_t *op, size_t oplen, const char *access,
    const char *scope, size_t expect, enum proto_log_check log,
    enum proto_log_check oplog, const struct proto_decision **out)
{
	struct sim_id h1, h2 = { 0, 0 };
	uint8_t cti[PROTO_CTI_LEN];
	const struct eng_reply *r;
	const struct proto_decision *d;
	struct eng_event ev;
	uint32_t c, oc = SIM_NONE;
	int rc;

	h1 = sim_id_of(w, rec, len);
	if (op != NULL)
		h2 = sim_id_of(w, op, oplen);
	if (sim_vmemo_known(w, h1))
		eng_vcache_put(n->eng, rec, len);
	if (op != NULL && sim_vmemo_known(w, h2))
		eng_vcache_put(n->eng, op, oplen);
	sim_event_init(w, &ev, ENG_EV_VERIFY);
	ev.u.vf.record = rec;
	ev.u.vf.record_len = len;
	ev.u.vf.operator_record = op;
	ev.u.vf.operator_record_len = op != NULL ? oplen : 0;
	snprintf(ev.u.vf.access, sizeof(ev.u.vf.access), "%s", access);
	snprintf(ev.u.vf.scope, sizeof(ev.u.vf.scope), "%s",
	    scope != NULL ? scope : "");
	ev.u.vf.issuer_log = log;
	ev.u.vf.operator_issuer_log = oplog;
	rc = sim_node_handle(w, n, &ev);
	if (rc != 0)
		return rc;
	r = sim_last_reply(w);
	if (r == NULL || r->status != ENG_OK || r->decision == NULL)
		return MRX_EINVAL;
	d = r->decision;
	if (!sim_vmemo_known(w, h1) && eng_vcache_has(n->eng, rec, len)) {
		sim_vmemo_learn(w, h1);
		w->st.record_verifies++;
	}
	if (op != NULL && !sim_vmemo_known(w, h2) &&
	    eng_vcache_has(n->eng, op, oplen))
		sim_vmemo_learn(w, h2);
	c = d->has_cti ? sim_cred_by_cti(w, d->cti) : SIM_NONE;
	if (op != NULL && sim_peek_cti(op, oplen, cti))
		oc = sim_cred_by_cti(w, cti);
	sim_decided(w, n, c, oc, access, scope, d, expect);
	*out = d;
	return (int)d->verdict;
}
