/*
 * test_feed.c - signed feeds between engines wired back to back in memory.
 *
 * A tiny simulator: one issuer engine (jp.meti) and two subscriber engines
 * (operators that trust jp.meti through its root). The test is the
 * runtime: it carries the issuer's PUBLISH records into the subscribers'
 * FEED_RECORD events in whatever order, with duplicates, losses and gaps
 * it chooses; it keeps the issuer's deltas as the store's `deltas` table
 * would, and serves the subscribers' CATCHUP actions from it (a whole list
 * through eng_list_record(), a range through CATCHUP_REQUEST). Keys come
 * from fixed seeds and each event's randomness from a counter, so a world
 * replays byte for byte: the determinism test digests every action of
 * every engine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"
#include "testkit.h"

#define T0 1790000000LL		/* 2026-09-21 */
#define YEAR (365LL * 86400)
#define ROOT "jp.cao"
#define ISSUER "jp.meti"
#define CESI "JP-CESI:CONFIDENTIAL"
#define OPERATOR "jp.op.sub"
#define LIST_SIZE 256		/* entries of the issuer's lists */
#define BIG_LIST 2048		/* for the test of many alerts */
#define MAX_AGE 30		/* subscribers' freshness bound, seconds */
#define NSUB 2
#define WIRE_MAX 1024		/* records published in one world */
#define LOG_MAX 1024

/* What one engine did, as the runtime would keep it. */
struct node {
	struct engine *e;
	struct eng_alert alerts[LOG_MAX];	/* every ALERT, in order */
	size_t nalerts;
	struct eng_catchup cu[LOG_MAX];		/* CATCHUP not yet served */
	size_t ncu;
	uint8_t *ev_held, *ev_got;		/* the last evidence */
	size_t ev_held_len, ev_got_len, nevidence;
	uint64_t ev_seq;
};

/* A record on the wire. */
struct msg {
	uint8_t *b;
	size_t n;
	enum proto_rec_type type;
	uint64_t seq;
};

/* A growable byte string, to digest actions canonically. */
struct world {
	struct cry_key *root, *issuer, *forger;
	uint8_t *deleg;
	size_t deleg_len;
	struct eng_actions *acts;	/* scratch, reset per event */
	struct node iss;
	struct node sub[NSUB];
	struct msg wire[WIRE_MAX];	/* the issuer's feed, in order */
	size_t nwire;
	struct msg deltas[WIRE_MAX];	/* the issuer's store: deltas[seq] */
	struct proto_status_list saved;	/* ... and its list, as persisted */
	uint8_t *saved_alloc;
	uint32_t saved_nalloc;
	uint32_t rn;			/* randomness counter */
	struct testkit_sink dig;
};

/* A clearance as issued, outliving the action buffer. */
struct issued {
	uint8_t cti[PROTO_CTI_LEN];
	struct proto_status_ref ref;
	uint8_t rec[PROTO_RECORD_MAX];
	size_t len;
};

/* ---- the world ---- */

static struct proto_trust *
make_trust(struct world *w)
{
	struct proto_trust *t = proto_trust_new();
	struct mrx_diag d;

	assert_non_null(t);
	assert_int_equal(proto_trust_add_root(t, ROOT, seed_key(1), NULL), 0);
	mrx_diag_clear(&d);
	if (proto_trust_add(t, w->deleg, w->deleg_len, T0, 60, &d) != 0)
		fail_msg("trust: %s: %s", d.field, d.msg);
	return t;
}

static uint32_t list_size = LIST_SIZE;	/* of worlds made from now on */

static struct engine *
make_engine(struct world *w, enum eng_role role, const char *id)
{
	struct eng_config c;
	struct engine *e = NULL;
	struct mrx_diag d;

	memset(&c, 0, sizeof(c));
	c.role = role;
	snprintf(c.id, sizeof(c.id), "%s", id);
	snprintf(c.jurisdiction, sizeof(c.jurisdiction), "JP");
	c.key = role == ENG_ROLE_ISSUER ? w->issuer : NULL;
	proto_policy_default(&c.policy);
	c.policy.max_status_age_s = MAX_AGE;
	c.status_list_size = list_size;
	c.checkpoint_interval_s = ENG_CHECKPOINT_INTERVAL_DEFAULT_S;
	mrx_diag_clear(&d);
	if (eng_new(&c, make_trust(w), &e, &d) != 0)
		fail_msg("eng_new: %s: %s", d.field, d.msg);
	assert_true(eng_check(e));
	return e;
}

static struct world *
world_new(uint32_t seed)
{
	struct world *w = calloc(1, sizeof(*w));
	struct proto_record r;
	size_t i;

	assert_non_null(w);
	w->rn = seed;
	w->root = seed_key(1);
	w->issuer = seed_key(2);
	w->forger = seed_key(9);
	w->acts = malloc(sizeof(*w->acts));
	assert_non_null(w->acts);
	eng_actions_reset(w->acts);
	memset(&r, 0, sizeof(r));
	r.type = PROTO_REC_DELEGATION;
	snprintf(r.u.del.c.iss, sizeof(r.u.del.c.iss), ROOT);
	snprintf(r.u.del.c.sub, sizeof(r.u.del.c.sub), ISSUER);
	r.u.del.c.iat = T0 - YEAR;
	r.u.del.c.nbf = T0 - YEAR;
	r.u.del.c.exp = T0 + 5 * YEAR;
	r.u.del.c.has_nbf = r.u.del.c.has_exp = true;
	memset(r.u.del.c.cti, 0xd1, PROTO_CTI_LEN);
	assert_int_equal(cry_key_spki(w->issuer, r.u.del.key,
	    sizeof(r.u.del.key), &r.u.del.key_len), 0);
	snprintf(r.u.del.levels.v[0], sizeof(r.u.del.levels.v[0]), CESI);
	r.u.del.levels.n = 1;
	w->deleg = sign(&r, w->root, &w->deleg_len);
	w->iss.e = make_engine(w, ENG_ROLE_ISSUER, ISSUER);
	for (i = 0; i < NSUB; i++)
		w->sub[i].e = make_engine(w, ENG_ROLE_OPERATOR,
		    i == 0 ? "jp.op.a" : "jp.op.b");
	return w;
}

static void
node_fini(struct node *n)
{
	eng_free(n->e);
	free(n->ev_held);
	free(n->ev_got);
}

static void
world_free(struct world *w)
{
	size_t i;

	node_fini(&w->iss);
	for (i = 0; i < NSUB; i++)
		node_fini(&w->sub[i]);
	for (i = 0; i < w->nwire; i++)
		free(w->wire[i].b);
	for (i = 0; i < WIRE_MAX; i++)
		free(w->deltas[i].b);
	proto_status_list_fini(&w->saved);
	free(w->saved_alloc);
	cry_key_free(w->root);
	cry_key_free(w->issuer);
	cry_key_free(w->forger);
	free(w->deleg);
	free(w->acts);
	free(w->dig.p);
	free(w);
}

static uint8_t *
dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n);

	assert_non_null(d);
	memcpy(d, p, n);
	return d;
}

/* Keeps the list's state as a store would (one list in these worlds). */
static void
save_list(struct world *w, const struct eng_persist_list *l)
{
	struct proto_status_list *d = &w->saved;

	proto_status_list_fini(d);
	free(w->saved_alloc);
	*d = *l->sl;
	d->bits = dup_bytes(l->sl->bits, l->sl->size / 4);
	d->reasons = l->sl->nreasons == 0 ? NULL :
	    (struct proto_reason_entry *)dup_bytes((const uint8_t *)
	    l->sl->reasons, l->sl->nreasons * sizeof(*l->sl->reasons));
	d->reasons_cap = d->nreasons;
	w->saved_alloc = dup_bytes(l->alloc, l->sl->size / 8);
	w->saved_nalloc = l->nalloc;
}

/* Keeps what the runtime keeps of one action. */
static void
collect(struct world *w, struct node *n, const struct eng_action *a)
{
	const struct eng_persist_list *l;
	struct msg *m;

	switch (a->type) {
	case ENG_ACT_PUBLISH:
		assert_true(n == &w->iss && w->nwire < WIRE_MAX);
		m = &w->wire[w->nwire++];
		m->b = dup_bytes(a->u.pub.bytes, a->u.pub.len);
		m->n = a->u.pub.len;
		m->type = a->u.pub.type;
		m->seq = a->u.pub.seq;
		break;
	case ENG_ACT_PERSIST_LIST:
		l = &a->u.list;
		save_list(w, l);
		if (!l->has_change)
			break;
		/* one list in these worlds: the deltas table by seq */
		assert_true(l->sl->seq < WIRE_MAX &&
		    w->deltas[l->sl->seq].b == NULL);
		w->deltas[l->sl->seq].b = dup_bytes(l->delta, l->delta_len);
		w->deltas[l->sl->seq].n = l->delta_len;
		w->deltas[l->sl->seq].seq = l->sl->seq;
		break;
	case ENG_ACT_ALERT:
		assert_true(n->nalerts < LOG_MAX);
		n->alerts[n->nalerts++] = a->u.alert;
		break;
	case ENG_ACT_CATCHUP:
		assert_true(n->ncu < LOG_MAX);
		n->cu[n->ncu++] = a->u.catchup;
		break;
	case ENG_ACT_PERSIST_EVIDENCE:
		free(n->ev_held);
		free(n->ev_got);
		n->ev_held = a->u.evidence.held == NULL ? NULL :
		    dup_bytes(a->u.evidence.held, a->u.evidence.held_len);
		n->ev_held_len = a->u.evidence.held_len;
		n->ev_got = dup_bytes(a->u.evidence.got, a->u.evidence.got_len);
		n->ev_got_len = a->u.evidence.got_len;
		n->ev_seq = a->u.evidence.seq;
		n->nevidence++;
		break;
	default:
		break;
	}
}

static void
ev_init(struct world *w, struct eng_event *ev, enum eng_ev_type type,
    int64_t now)
{
	uint32_t n = w->rn++;
	uint8_t b[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16),
		(uint8_t)(n >> 8), (uint8_t)n };

	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->req_id = n;
	ev->now = now;
	assert_int_equal(cry_sha256(b, sizeof(b), ev->rnd), 0);
}

/* Runs one event on node n into the scratch buffer; keeps its effects. */
static const struct eng_actions *
run(struct world *w, struct node *n, const struct eng_event *ev)
{
	size_t i;

	eng_actions_reset(w->acts);
	assert_int_equal(eng_handle(n->e, ev, w->acts), 0);
	assert_true(eng_check(n->e));
	testkit_digest(&w->dig, w->acts);
	for (i = 0; i < w->acts->n; i++)
		collect(w, n, &w->acts->a[i]);
	return w->acts;
}

static size_t
count(const struct eng_actions *a, enum eng_act_type t)
{
	size_t i, n = 0;

	for (i = 0; i < a->n; i++)
		n += a->a[i].type == t;
	return n;
}

/* ---- the issuer ---- */

static void
issue(struct world *w, struct issued *out, int64_t now)
{
	const struct eng_actions *a;
	const struct eng_reply *r;
	struct eng_event ev;

	ev_init(w, &ev, ENG_EV_ISSUE_CLEARANCE, now);
	snprintf(ev.u.clr.sub, sizeof(ev.u.clr.sub),
	    "00112233445566778899aabbccddeeff");
	snprintf(ev.u.clr.level, sizeof(ev.u.clr.level), CESI);
	snprintf(ev.u.clr.operator_id, sizeof(ev.u.clr.operator_id),
	    OPERATOR);
	a = run(w, &w->iss, &ev);
	r = &a->a[a->n - 1].u.reply;
	assert_int_equal(r->status, ENG_CREATED);
	memcpy(out->cti, r->cti, PROTO_CTI_LEN);
	out->ref = r->ref;
	memcpy(out->rec, r->record, r->record_len);
	out->len = r->record_len;
}

/* Changes an entry at the issuer; returns the new seq. */
static uint64_t
set_status(struct world *w, const struct issued *c, enum proto_status st,
    enum proto_reason why, int64_t now)
{
	const struct eng_actions *a;
	const struct eng_reply *r;
	struct eng_event ev;

	ev_init(w, &ev, ENG_EV_SET_STATUS, now);
	ev.u.st.rec_type = PROTO_REC_CLEARANCE;
	memcpy(ev.u.st.cti, c->cti, PROTO_CTI_LEN);
	ev.u.st.ref = c->ref;
	ev.u.st.status = st;
	ev.u.st.reason = why;
	a = run(w, &w->iss, &ev);
	r = &a->a[a->n - 1].u.reply;
	assert_int_equal(r->status, ENG_OK);
	assert_int_equal(count(a, ENG_ACT_PUBLISH), 1);
	return r->seq;
}

static const struct eng_actions *
tick(struct world *w, struct node *n, int64_t now)
{
	struct eng_event ev;

	ev_init(w, &ev, ENG_EV_TICK, now);
	return run(w, n, &ev);
}

/* The last record published of a type (and seq, unless 0). */
static const struct msg *
published(const struct world *w, enum proto_rec_type t, uint64_t seq)
{
	size_t i;

	for (i = w->nwire; i > 0; i--)
		if (w->wire[i - 1].type == t && (seq == 0 ||
		    w->wire[i - 1].seq == seq))
			return &w->wire[i - 1];
	fail_msg("nothing published of type %d seq %llu", (int)t,
	    (unsigned long long)seq);
	return NULL;
}

/* ---- the subscribers ---- */

static const struct eng_actions *
feed(struct world *w, struct node *n, const uint8_t *b, size_t len,
    int64_t now)
{
	struct eng_event ev;

	ev_init(w, &ev, ENG_EV_FEED_RECORD, now);
	ev.u.feed.bytes = b;
	ev.u.feed.len = len;
	return run(w, n, &ev);
}

static const struct eng_actions *
feed_msg(struct world *w, struct node *n, const struct msg *m, int64_t now)
{
	return feed(w, n, m->b, m->n, now);
}

/* The whole list at the issuer, as a peer fetching it would get it. */
static struct msg
fetch_list(struct world *w, const char *uri)
{
	const uint8_t *b;
	struct msg m;
	size_t len;

	memset(&m, 0, sizeof(m));
	assert_int_equal(eng_list_record(w->iss.e, uri, &b, &len, &m.seq), 0);
	m.b = dup_bytes(b, len);
	m.n = len;
	m.type = PROTO_REC_STATUS_LIST;
	return m;
}

/*
 * Serves node n's catch-ups the way a runtime would: the whole list from
 * the issuer, or the range its CATCHUP_REQUEST names from the store.
 * Serving may raise new ones: loops until none is left. Returns how many
 * were served.
 */
static size_t
serve(struct world *w, struct node *n, int64_t now)
{
	const struct eng_actions *a;
	const struct eng_reply *r;
	struct eng_catchup cu;
	struct eng_event ev;
	struct msg m;
	uint64_t s, from, to;
	size_t served = 0;

	while (n->ncu > 0) {
		assert_true(served < 64);
		cu = n->cu[0];
		memmove(&n->cu[0], &n->cu[1], --n->ncu * sizeof(n->cu[0]));
		served++;
		assert_string_equal(cu.issuer, ISSUER);
		if (cu.from_seq == 0) {
			m = fetch_list(w, cu.uri);
			feed_msg(w, n, &m, now);
			free(m.b);
			continue;
		}
		ev_init(w, &ev, ENG_EV_CATCHUP_REQUEST, now);
		snprintf(ev.u.cu.uri, sizeof(ev.u.cu.uri), "%s", cu.uri);
		ev.u.cu.from_seq = cu.from_seq;
		a = run(w, &w->iss, &ev);
		r = &a->a[a->n - 1].u.reply;
		assert_int_equal(r->status, ENG_OK);
		from = r->from_seq;
		to = r->to_seq;
		for (s = from; s <= to; s++) {
			assert_non_null(w->deltas[s].b);
			feed_msg(w, n, &w->deltas[s], now);
		}
	}
	return served;
}

static enum proto_verdict
verify(struct world *w, struct node *n, const struct issued *c, int64_t now,
    char code[PROTO_CODE_MAX + 1])
{
	const struct eng_actions *a;
	const struct proto_decision *d;
	struct eng_event ev;

	ev_init(w, &ev, ENG_EV_VERIFY, now);
	ev.u.vf.record = c->rec;
	ev.u.vf.record_len = c->len;
	snprintf(ev.u.vf.access, sizeof(ev.u.vf.access), CESI);
	a = run(w, n, &ev);
	d = a->a[a->n - 1].u.reply.decision;
	assert_non_null(d);
	assert_true(d->nreasons > 0);
	snprintf(code, PROTO_CODE_MAX + 1, "%s", d->reasons[0].code);
	return d->verdict;
}

static void
expect(struct world *w, struct node *n, const struct issued *c, int64_t now,
    enum proto_verdict v, const char *code)
{
	char got[PROTO_CODE_MAX + 1];

	assert_int_equal(verify(w, n, c, now, got), v);
	assert_string_equal(got, code);
}

static struct proto_status_info
held(const struct node *n, const char *uri)
{
	struct proto_status_info in;

	memset(&in, 0, sizeof(in));
	(void)proto_trust_status_info(eng_trust(n->e), ISSUER, uri, &in);
	return in;
}

static struct eng_stats
stats(const struct node *n)
{
	struct eng_stats st;

	eng_stats_get(n->e, &st);
	return st;
}

/* The issuer's head for its list (its list as the trust store sees it). */
static void
issuer_head(const struct world *w, uint64_t seq, uint8_t h[PROTO_HASH_LEN])
{
	struct proto_record r;

	assert_non_null(w->deltas[seq].b);
	assert_int_equal(proto_record_decode(w->deltas[seq].b,
	    w->deltas[seq].n, &r, NULL), 0);
	assert_int_equal(proto_record_hash(&r, h), 0);
	proto_record_fini(&r);
}

/*
 * The common start: c[0..n) issued, c[n - 1] suspended (seq 1) so the list
 * exists as a record; both subscribers got delta 1, asked for the whole
 * list, got it, and accepted c[0] (now watched).
 */
static void
start(struct world *w, struct issued *c, size_t n, int64_t now)
{
	const struct msg *d1;
	size_t i, k;

	for (i = 0; i < n; i++)
		issue(w, &c[i], now);
	assert_true(set_status(w, &c[n - 1], PROTO_STATUS_SUSPENDED,
	    PROTO_REASON_REASSESSMENT_PENDING, now) == 1);
	d1 = published(w, PROTO_REC_STATUS_DELTA, 1);
	for (k = 0; k < NSUB; k++) {
		expect(w, &w->sub[k], &c[0], now, PROTO_INDETERMINATE,
		    "status-missing");
		feed_msg(w, &w->sub[k], d1, now);
		/* nothing held: the whole list is asked for, delta kept */
		assert_int_equal(w->sub[k].ncu, 1);
		assert_true(w->sub[k].cu[0].from_seq == 0);
		assert_string_equal(w->sub[k].cu[0].uri, c[0].ref.uri);
		assert_int_equal(serve(w, &w->sub[k], now), 1);
		assert_true(held(&w->sub[k], c[0].ref.uri).seq == 1);
		expect(w, &w->sub[k], &c[0], now, PROTO_ACCEPT, "accepted");
		expect(w, &w->sub[k], &c[n - 1], now, PROTO_REJECT,
		    "suspended");
	}
}

/* ---- tests ---- */

static void
test_revocation_propagates(void **state)
{
	struct world *w = world_new(1000);
	struct issued c[3];
	const struct eng_actions *a;
	struct eng_stats st;
	struct msg full;
	uint8_t h[PROTO_HASH_LEN];

	(void)state;
	start(w, c, 3, T0);
	/* the issuer revokes c[0]: the delta reaches subscriber 0 */
	assert_true(set_status(w, &c[0], PROTO_STATUS_REVOKED,
	    PROTO_REASON_ELIGIBILITY_REVOKED, T0 + 5) == 2);
	a = feed_msg(w, &w->sub[0], published(w, PROTO_REC_STATUS_DELTA, 2),
	    T0 + 5);
	assert_int_equal(a->n, 2);
	assert_int_equal(a->a[0].type, ENG_ACT_ALERT);
	assert_int_equal(a->a[1].type, ENG_ACT_AUDIT);
	assert_int_equal(w->sub[0].nalerts, 1);
	assert_int_equal(w->sub[0].alerts[0].kind, ENG_ALERT_STATUS);
	assert_memory_equal(w->sub[0].alerts[0].cti, c[0].cti, PROTO_CTI_LEN);
	assert_string_equal(w->sub[0].alerts[0].issuer, ISSUER);
	assert_string_equal(w->sub[0].alerts[0].uri, c[0].ref.uri);
	assert_true(w->sub[0].alerts[0].status == PROTO_STATUS_REVOKED &&
	    w->sub[0].alerts[0].reason == PROTO_REASON_ELIGIBILITY_REVOKED &&
	    w->sub[0].alerts[0].seq == 2);
	expect(w, &w->sub[0], &c[0], T0 + 5, PROTO_REJECT, "revoked");
	issuer_head(w, 2, h);
	assert_memory_equal(held(&w->sub[0], c[0].ref.uri).head, h,
	    PROTO_HASH_LEN);
	/* subscriber 1 missed it and catches up from a whole list: the
	 * change to its watched entry still alerts */
	expect(w, &w->sub[1], &c[0], T0 + 5, PROTO_ACCEPT, "accepted");
	full = fetch_list(w, c[0].ref.uri);
	assert_true(full.seq == 2);
	a = feed_msg(w, &w->sub[1], &full, T0 + 6);
	assert_int_equal(count(a, ENG_ACT_ALERT), 1);
	assert_true(w->sub[1].alerts[0].seq == 2 &&
	    w->sub[1].alerts[0].status == PROTO_STATUS_REVOKED);
	expect(w, &w->sub[1], &c[0], T0 + 6, PROTO_REJECT, "revoked");
	/* and the delta arriving late is a duplicate now */
	a = feed_msg(w, &w->sub[1], published(w, PROTO_REC_STATUS_DELTA, 2),
	    T0 + 6);
	assert_int_equal(a->n, 0);
	st = stats(&w->sub[1]);
	assert_true(st.feed_lists == 2 && st.feed_duplicates == 1 &&
	    st.alerts == 1 && st.feeds == 1);
	st = stats(&w->iss);
	assert_true(st.published == 2 && st.lists_signed == 2);
	free(full.b);
	world_free(w);
}

static void
test_out_of_order(void **state)
{
	struct world *w = world_new(2000);
	struct node *s = &w->sub[0];
	struct issued c[6];
	const struct eng_actions *a;
	struct eng_stats st, st0;
	uint8_t h[PROTO_HASH_LEN];
	size_t i;

	(void)state;
	start(w, c, 6, T0);
	st0 = stats(s);
	for (i = 1; i < 4; i++)
		expect(w, s, &c[i], T0, PROTO_ACCEPT, "accepted");
	/* seq 2..5, one watched entry each */
	for (i = 0; i < 4; i++)
		assert_true(set_status(w, &c[i], i % 2 ? PROTO_STATUS_SUSPENDED
		    : PROTO_STATUS_REVOKED, PROTO_REASON_ADMIN_WITHDRAWN,
		    T0 + 1 + (int64_t)i) == 2 + i);
	/* 4, 5, 3 arrive first: held back, one catch-up from 2 */
	a = feed_msg(w, s, published(w, PROTO_REC_STATUS_DELTA, 4), T0 + 5);
	assert_int_equal(a->n, 1);
	assert_int_equal(a->a[0].type, ENG_ACT_CATCHUP);
	assert_true(a->a[0].u.catchup.from_seq == 2);
	assert_string_equal(a->a[0].u.catchup.issuer, ISSUER);
	a = feed_msg(w, s, published(w, PROTO_REC_STATUS_DELTA, 5), T0 + 5);
	assert_int_equal(a->n, 0);	/* the same catch-up: not asked again */
	a = feed_msg(w, s, published(w, PROTO_REC_STATUS_DELTA, 3), T0 + 5);
	assert_int_equal(a->n, 0);
	assert_int_equal(s->nalerts, 0);
	assert_true(held(s, c[0].ref.uri).seq == 1);
	expect(w, s, &c[0], T0 + 5, PROTO_ACCEPT, "accepted");
	st = stats(s);
	assert_true(st.feed_buffered - st0.feed_buffered == 3 &&
	    st.feed_catchups - st0.feed_catchups == 1);
	/* the catch-up brings 2..5: 2 applies, then 3, 4, 5 from the
	 * buffer, in order; the copies of 3..5 are duplicates */
	assert_int_equal(serve(w, s, T0 + 6), 1);
	assert_true(held(s, c[0].ref.uri).seq == 5);
	issuer_head(w, 5, h);
	assert_memory_equal(held(s, c[0].ref.uri).head, h, PROTO_HASH_LEN);
	assert_int_equal(s->nalerts, 4);
	for (i = 0; i < 4; i++) {
		assert_true(s->alerts[i].seq == 2 + i);
		assert_memory_equal(s->alerts[i].cti, c[i].cti,
		    PROTO_CTI_LEN);
	}
	st = stats(s);
	assert_true(st.feed_deltas == 4 &&
	    st.feed_duplicates - st0.feed_duplicates == 3);
	expect(w, s, &c[0], T0 + 6, PROTO_REJECT, "revoked");
	expect(w, s, &c[1], T0 + 6, PROTO_REJECT, "suspended");
	expect(w, s, &c[4], T0 + 6, PROTO_ACCEPT, "accepted");
	world_free(w);
}

static void
test_lost_delta_checkpoint(void **state)
{
	struct world *w = world_new(3000);
	struct node *s = &w->sub[0];
	struct issued c[3];
	const struct eng_actions *a;
	const struct msg *cp;
	struct eng_stats st;
	struct proto_record r;

	(void)state;
	start(w, c, 3, T0);
	/* the issuer's tick: one checkpoint of its one changed list */
	a = tick(w, &w->iss, T0 + 1);
	assert_int_equal(a->n, 1);
	assert_int_equal(a->a[0].type, ENG_ACT_PUBLISH);
	assert_int_equal(a->a[0].u.pub.type, PROTO_REC_CHECKPOINT);
	assert_true(a->a[0].u.pub.seq == 1);
	a = tick(w, &w->iss, T0 + 1);	/* within the interval: nothing */
	assert_int_equal(a->n, 0);
	/* delta 2 is lost on the way */
	set_status(w, &c[0], PROTO_STATUS_REVOKED, PROTO_REASON_NONE, T0 + 2);
	a = tick(w, &w->iss, T0 + 2);
	assert_int_equal(a->n, 1);
	cp = published(w, PROTO_REC_CHECKPOINT, 2);
	assert_int_equal(proto_record_decode(cp->b, cp->n, &r, NULL), 0);
	assert_string_equal(r.u.cp.c.iss, ISSUER);
	assert_string_equal(r.u.cp.c.sub, c[0].ref.uri);
	assert_true(r.u.cp.c.iat == T0 + 2 && r.u.cp.seq == 2);
	proto_record_fini(&r);
	/* the checkpoint shows the gap: catch-up from 2 */
	a = feed_msg(w, s, cp, T0 + 2);
	assert_int_equal(a->n, 1);
	assert_int_equal(a->a[0].type, ENG_ACT_CATCHUP);
	assert_true(a->a[0].u.catchup.from_seq == 2);
	expect(w, s, &c[0], T0 + 2, PROTO_ACCEPT, "accepted");
	assert_int_equal(serve(w, s, T0 + 2), 1);
	assert_int_equal(s->nalerts, 1);
	expect(w, s, &c[0], T0 + 2, PROTO_REJECT, "revoked");
	/* the next checkpoint matches: the list is fresh as of it */
	tick(w, &w->iss, T0 + 3);
	a = feed_msg(w, s, published(w, PROTO_REC_CHECKPOINT, 2), T0 + 3);
	assert_int_equal(a->n, 0);
	assert_true(held(s, c[0].ref.uri).fresh_at == T0 + 3);
	st = stats(s);
	assert_true(st.feed_checkpoints == 1 && st.feed_catchups == 2);
	st = stats(&w->iss);
	assert_true(st.checkpoints == 3 && st.catchup_requests == 1);
	world_free(w);
}

static void
test_duplicates(void **state)
{
	struct world *w = world_new(4000);
	struct node *s = &w->sub[0];
	struct issued c[4];
	const struct eng_actions *a;
	struct proto_status_info before;
	struct eng_stats st;
	struct msg full;
	int i;

	(void)state;
	start(w, c, 4, T0);
	set_status(w, &c[0], PROTO_STATUS_REVOKED, PROTO_REASON_NONE, T0 + 1);
	set_status(w, &c[1], PROTO_STATUS_REVOKED, PROTO_REASON_NONE, T0 + 2);
	set_status(w, &c[2], PROTO_STATUS_SUSPENDED, PROTO_REASON_NONE,
	    T0 + 3);
	/* 4 twice while 2 and 3 are missing: buffered once */
	feed_msg(w, s, published(w, PROTO_REC_STATUS_DELTA, 4), T0 + 3);
	a = feed_msg(w, s, published(w, PROTO_REC_STATUS_DELTA, 4), T0 + 3);
	assert_int_equal(a->n, 0);
	for (i = 0; i < 3; i++) {
		feed_msg(w, s, published(w, PROTO_REC_STATUS_DELTA, 2),
		    T0 + 3);
		feed_msg(w, s, published(w, PROTO_REC_STATUS_DELTA, 3),
		    T0 + 3);
	}
	assert_int_equal(s->nalerts, 1);	/* c[0], once */
	before = held(s, c[0].ref.uri);
	assert_true(before.seq == 4);
	tick(w, &w->iss, T0 + 4);
	for (i = 0; i < 3; i++) {
		a = feed_msg(w, s, published(w, PROTO_REC_CHECKPOINT, 4),
		    T0 + 4);
		assert_int_equal(a->n, 0);
	}
	full = fetch_list(w, c[0].ref.uri);
	for (i = 0; i < 2; i++) {
		a = feed_msg(w, s, &full, T0 + 4);
		assert_int_equal(a->n, 0);
	}
	assert_true(held(s, c[0].ref.uri).seq == 4);
	assert_memory_equal(held(s, c[0].ref.uri).head, before.head,
	    PROTO_HASH_LEN);
	assert_int_equal(s->nalerts, 1);
	st = stats(s);
	/* the buffered 4, deltas 2 and 3 twice more, the list twice, the
	 * checkpoint twice more (no fresher: not a refresh, so a relay
	 * does not pass it on again) */
	assert_true(st.feed_duplicates == 1 + 4 + 2 + 2);
	assert_true(st.feed_checkpoints == 1);
	assert_true(st.feed_deltas == 3 && st.feed_equivocations == 0);
	expect(w, s, &c[2], T0 + 4, PROTO_REJECT, "suspended");
	free(full.b);
	world_free(w);
}

/* A delta for the issuer's list signed with `key`. */
static uint8_t *
forge_delta(const struct world *w, const struct issued *c, uint64_t seq,
    const uint8_t *prev, enum proto_status st, int64_t iat,
    const struct cry_key *key, size_t *len)
{
	struct proto_record r;

	memset(&r, 0, sizeof(r));
	r.type = PROTO_REC_STATUS_DELTA;
	snprintf(r.u.sd.c.iss, sizeof(r.u.sd.c.iss), ISSUER);
	snprintf(r.u.sd.c.sub, sizeof(r.u.sd.c.sub), "%s", c->ref.uri);
	r.u.sd.c.iat = iat;
	memset(r.u.sd.c.cti, 0xee, PROTO_CTI_LEN);
	r.u.sd.seq = seq;
	memcpy(r.u.sd.prev, prev, PROTO_HASH_LEN);
	r.u.sd.changes[0].idx = c->ref.idx;
	r.u.sd.changes[0].status = (uint8_t)st;
	r.u.sd.nchanges = 1;
	(void)w;
	return sign(&r, key, len);
}

static void
test_equivocation(void **state)
{
	struct world *w = world_new(5000);
	struct node *s = &w->sub[0], *t = &w->sub[1];
	struct issued c[3];
	const struct eng_actions *a;
	struct proto_record real, r;
	struct eng_stats st;
	uint8_t *fake, h[PROTO_HASH_LEN];
	size_t flen;

	(void)state;
	start(w, c, 3, T0);
	set_status(w, &c[2], PROTO_STATUS_REVOKED, PROTO_REASON_NONE, T0 + 1);
	feed_msg(w, s, published(w, PROTO_REC_STATUS_DELTA, 2), T0 + 1);
	/* the issuer's key signs another delta 2: c[0] revoked instead */
	assert_int_equal(proto_record_decode(w->deltas[2].b, w->deltas[2].n,
	    &real, NULL), 0);
	fake = forge_delta(w, &c[0], 2, real.u.sd.prev, PROTO_STATUS_REVOKED,
	    T0 + 1, w->issuer, &flen);
	proto_record_fini(&real);
	a = feed(w, s, fake, flen, T0 + 2);
	assert_int_equal(a->n, 3);
	assert_int_equal(a->a[0].type, ENG_ACT_PERSIST_EVIDENCE);
	assert_int_equal(a->a[1].type, ENG_ACT_ALERT);
	assert_int_equal(a->a[2].type, ENG_ACT_AUDIT);
	assert_string_equal(a->a[0].u.evidence.issuer, ISSUER);
	assert_string_equal(a->a[0].u.evidence.uri, c[0].ref.uri);
	assert_true(a->a[0].u.evidence.seq == 2);
	assert_int_equal(a->a[1].u.alert.kind, ENG_ALERT_EQUIVOCATION);
	assert_string_equal(a->a[2].u.audit.codes, "status-equivocation");
	/* both records kept, byte for byte */
	assert_true(s->ev_held_len == w->deltas[2].n && s->ev_got_len == flen);
	assert_memory_equal(s->ev_held, w->deltas[2].b, w->deltas[2].n);
	assert_memory_equal(s->ev_got, fake, flen);
	issuer_head(w, 2, h);
	assert_memory_equal(a->a[0].u.evidence.held_hash, h, PROTO_HASH_LEN);
	/* every entry of that list is now indeterminate */
	expect(w, s, &c[0], T0 + 2, PROTO_INDETERMINATE,
	    "status-equivocation");
	expect(w, s, &c[1], T0 + 2, PROTO_INDETERMINATE,
	    "status-equivocation");
	/* for good: later records of the feed are refused */
	tick(w, &w->iss, T0 + 3);
	a = feed_msg(w, s, published(w, PROTO_REC_CHECKPOINT, 2), T0 + 3);
	assert_int_equal(a->n, 0);
	st = stats(s);
	assert_true(st.feed_equivocations == 1 &&
	    st.feed_refused[ENG_FEED_DISTRUSTED] == 1);
	/* the other subscriber: a checkpoint at its seq with another head */
	memset(&r, 0, sizeof(r));
	r.type = PROTO_REC_CHECKPOINT;
	snprintf(r.u.cp.c.iss, sizeof(r.u.cp.c.iss), ISSUER);
	snprintf(r.u.cp.c.sub, sizeof(r.u.cp.c.sub), "%s", c[0].ref.uri);
	r.u.cp.c.iat = T0 + 3;
	memset(r.u.cp.c.cti, 0xcc, PROTO_CTI_LEN);
	r.u.cp.seq = 1;
	memset(r.u.cp.head, 0x55, PROTO_HASH_LEN);
	free(fake);
	fake = sign(&r, w->issuer, &flen);
	expect(w, t, &c[0], T0 + 3, PROTO_ACCEPT, "accepted");
	a = feed(w, t, fake, flen, T0 + 3);
	assert_int_equal(count(a, ENG_ACT_PERSIST_EVIDENCE), 1);
	/* t's head came from the whole list: that list is the witness */
	assert_non_null(t->ev_held);
	assert_int_equal(proto_record_decode(t->ev_held, t->ev_held_len, &r,
	    NULL), 0);
	assert_int_equal(r.type, PROTO_REC_STATUS_LIST);
	proto_record_fini(&r);
	expect(w, t, &c[0], T0 + 3, PROTO_INDETERMINATE,
	    "status-equivocation");
	free(fake);
	world_free(w);
}

static void
test_refusals(void **state)
{
	struct world *w = world_new(6000);
	struct node *s = &w->sub[0];
	struct issued c[2];
	const struct eng_actions *a;
	struct proto_status_info before, after;
	struct eng_stats st;
	struct proto_record r;
	uint8_t *b, h1[PROTO_HASH_LEN];
	static const uint8_t junk[] = { 0xd2, 0x84, 0x40, 0xa0, 0xff };
	size_t len;

	(void)state;
	start(w, c, 2, T0);
	issuer_head(w, 1, h1);
	before = held(s, c[0].ref.uri);
	/* another key, posing as the issuer */
	b = forge_delta(w, &c[0], 2, h1, PROTO_STATUS_REVOKED, T0 + 1,
	    w->forger, &len);
	a = feed(w, s, b, len, T0 + 1);
	assert_int_equal(a->n, 0);
	/* the issuer's key, one byte of the signature changed */
	free(b);
	b = forge_delta(w, &c[0], 2, h1, PROTO_STATUS_REVOKED, T0 + 1,
	    w->issuer, &len);
	b[len - 1] ^= 1;
	assert_int_equal(feed(w, s, b, len, T0 + 1)->n, 0);
	b[len - 1] ^= 1;
	/* dated ahead of the clock beyond the skew */
	free(b);
	b = forge_delta(w, &c[0], 2, h1, PROTO_STATUS_REVOKED, T0 + 1000,
	    w->issuer, &len);
	assert_int_equal(feed(w, s, b, len, T0 + 1)->n, 0);
	/* junk, a clearance, nothing at all */
	assert_int_equal(feed(w, s, junk, sizeof(junk), T0 + 1)->n, 0);
	assert_int_equal(feed(w, s, c[0].rec, c[0].len, T0 + 1)->n, 0);
	assert_int_equal(feed(w, s, NULL, 0, T0 + 1)->n, 0);
	/* an issuer nobody delegated */
	free(b);
	memset(&r, 0, sizeof(r));
	r.type = PROTO_REC_CHECKPOINT;
	snprintf(r.u.cp.c.iss, sizeof(r.u.cp.c.iss), "uk.mod");
	snprintf(r.u.cp.c.sub, sizeof(r.u.cp.c.sub), "mrx://uk.mod/status/1");
	r.u.cp.c.iat = T0;
	r.u.cp.seq = 3;
	b = sign(&r, w->forger, &len);
	assert_int_equal(feed(w, s, b, len, T0 + 1)->n, 0);
	/* the issuer's own feed back at the issuer */
	assert_int_equal(feed_msg(w, &w->iss, published(w,
	    PROTO_REC_STATUS_DELTA, 1), T0 + 1)->n, 0);
	after = held(s, c[0].ref.uri);
	assert_true(after.seq == before.seq && after.fresh_at ==
	    before.fresh_at);
	assert_memory_equal(after.head, before.head, PROTO_HASH_LEN);
	expect(w, s, &c[0], T0 + 1, PROTO_ACCEPT, "accepted");
	st = stats(s);
	assert_true(st.feed_refused[ENG_FEED_UNKNOWN_KEY] == 1);
	assert_true(st.feed_refused[ENG_FEED_BAD_SIGNATURE] == 1);
	assert_true(st.feed_refused[ENG_FEED_FUTURE] == 1);
	assert_true(st.feed_refused[ENG_FEED_MALFORMED] == 2);
	assert_true(st.feed_refused[ENG_FEED_WRONG_TYPE] == 1);
	assert_true(st.feed_refused[ENG_FEED_UNKNOWN_ISSUER] == 1);
	assert_true(st.feeds == 1 && st.feed_deltas == 0 &&
	    s->nalerts == 0 && s->ncu == 0);
	assert_int_equal(stats(&w->iss).feed_refused[ENG_FEED_OWN], 1);
	assert_string_equal(eng_feed_why_name(ENG_FEED_UNKNOWN_KEY),
	    "unknown-key");
	/* the genuine delta 2 still applies afterwards */
	free(b);
	set_status(w, &c[0], PROTO_STATUS_REVOKED, PROTO_REASON_NONE, T0 + 2);
	feed_msg(w, s, published(w, PROTO_REC_STATUS_DELTA, 2), T0 + 2);
	expect(w, s, &c[0], T0 + 2, PROTO_REJECT, "revoked");
	world_free(w);
}

static void
test_stale_then_checkpoint(void **state)
{
	struct world *w = world_new(7000);
	struct node *s = &w->sub[0];
	struct issued c[2];
	const struct eng_actions *a;
	const struct proto_decision *d;
	struct eng_event ev;

	(void)state;
	start(w, c, 2, T0);
	/* the list was made at T0: within the bound, then past it */
	expect(w, s, &c[0], T0 + MAX_AGE, PROTO_ACCEPT, "accepted");
	expect(w, s, &c[0], T0 + MAX_AGE + 1, PROTO_INDETERMINATE,
	    "status-stale");
	/* a checkpoint from the issuer, matching: accepted again */
	tick(w, &w->iss, T0 + 100);
	a = feed_msg(w, s, published(w, PROTO_REC_CHECKPOINT, 1), T0 + 100);
	assert_int_equal(a->n, 0);
	ev_init(w, &ev, ENG_EV_VERIFY, T0 + 100);
	ev.u.vf.record = c[0].rec;
	ev.u.vf.record_len = c[0].len;
	snprintf(ev.u.vf.access, sizeof(ev.u.vf.access), CESI);
	a = run(w, s, &ev);
	d = a->a[a->n - 1].u.reply.decision;
	assert_int_equal(d->verdict, PROTO_ACCEPT);
	assert_true(d->status_seq == 1 && d->status_age_s == 0);
	/* and stale again when the checkpoints stop */
	expect(w, s, &c[0], T0 + 100 + MAX_AGE + 1, PROTO_INDETERMINATE,
	    "status-stale");
	/* a delta is as good a proof of freshness */
	set_status(w, &c[1], PROTO_STATUS_REVOKED, PROTO_REASON_NONE,
	    T0 + 200);
	feed_msg(w, s, published(w, PROTO_REC_STATUS_DELTA, 2), T0 + 200);
	expect(w, s, &c[0], T0 + 200, PROTO_ACCEPT, "accepted");
	world_free(w);
}

static void
test_reinstatement_by_seq(void **state)
{
	struct world *w = world_new(8000);
	struct node *s = &w->sub[0], *t = &w->sub[1];
	struct issued c[2];
	struct msg full;

	(void)state;
	start(w, c, 2, T0);
	assert_true(set_status(w, &c[0], PROTO_STATUS_SUSPENDED,
	    PROTO_REASON_SUSPENDED_PENDING_REVIEW, T0 + 1) == 2);
	assert_true(set_status(w, &c[0], PROTO_STATUS_VALID,
	    PROTO_REASON_REINSTATED, T0 + 2) == 3);
	assert_true(set_status(w, &c[0], PROTO_STATUS_REVOKED,
	    PROTO_REASON_ADMIN_SEPARATION, T0 + 3) == 4);
	/* the revocation first, then the suspension, the reinstatement
	 * last: applied by seq, the revocation stands */
	feed_msg(w, s, published(w, PROTO_REC_STATUS_DELTA, 4), T0 + 4);
	feed_msg(w, s, published(w, PROTO_REC_STATUS_DELTA, 2), T0 + 4);
	expect(w, s, &c[0], T0 + 4, PROTO_REJECT, "suspended");
	feed_msg(w, s, published(w, PROTO_REC_STATUS_DELTA, 3), T0 + 4);
	expect(w, s, &c[0], T0 + 4, PROTO_REJECT, "revoked");
	assert_int_equal(s->nalerts, 3);
	assert_true(s->alerts[0].seq == 2 && s->alerts[1].seq == 3 &&
	    s->alerts[2].seq == 4);
	assert_true(s->alerts[1].status == PROTO_STATUS_VALID &&
	    s->alerts[2].status == PROTO_STATUS_REVOKED);
	/* the reinstatement again, later: it changes nothing */
	feed_msg(w, s, published(w, PROTO_REC_STATUS_DELTA, 3), T0 + 5);
	expect(w, s, &c[0], T0 + 5, PROTO_REJECT, "revoked");
	/* a subscriber that took the whole list at 4 ignores the old
	 * deltas it cannot judge */
	full = fetch_list(w, c[0].ref.uri);
	feed_msg(w, t, &full, T0 + 5);
	feed_msg(w, t, published(w, PROTO_REC_STATUS_DELTA, 3), T0 + 5);
	feed_msg(w, t, published(w, PROTO_REC_STATUS_DELTA, 2), T0 + 5);
	expect(w, t, &c[0], T0 + 5, PROTO_REJECT, "revoked");
	assert_true(stats(t).feed_stale == 2);
	free(full.b);
	world_free(w);
}

static void
test_buffer_bound(void **state)
{
	struct world *w = world_new(9000);
	struct node *s = &w->sub[0];
	struct issued c[ENG_SUB_PENDING_MAX + 8];
	size_t i, n = ENG_SUB_PENDING_MAX + 6;
	struct eng_stats st, st0;

	(void)state;
	start(w, c, n + 1, T0);
	st0 = stats(s);
	for (i = 0; i < n; i++)
		set_status(w, &c[i], PROTO_STATUS_REVOKED, PROTO_REASON_NONE,
		    T0 + 1);
	/* deltas 3..n+1 arrive, 2 is missing: more than the buffer holds,
	 * newest first so that the ones nearest the gap are kept */
	for (i = n + 1; i >= 3; i--)
		feed_msg(w, s, published(w, PROTO_REC_STATUS_DELTA, i),
		    T0 + 2);
	st = stats(s);
	assert_true(st.feed_overflow == n - 1 - ENG_SUB_PENDING_MAX);
	assert_true(st.feed_buffered - st0.feed_buffered == n - 1);
	assert_true(st.feed_catchups - st0.feed_catchups == 1);
	/* the catch-up fills everything in */
	serve(w, s, T0 + 3);
	assert_true(held(s, c[0].ref.uri).seq == n + 1);
	for (i = 0; i < n; i++)
		expect(w, s, &c[i], T0 + 3, PROTO_REJECT, "revoked");
	world_free(w);
}

static void
test_publisher_requests(void **state)
{
	struct world *w = world_new(10000);
	struct issued c[2];
	const struct eng_actions *a;
	const struct eng_reply *r;
	const uint8_t *b1, *b2;
	struct eng_event ev;
	struct engine *twin;
	struct proto_record rec;
	size_t l1, l2, i;
	uint64_t seq;

	(void)state;
	issue(w, &c[0], T0);
	issue(w, &c[1], T0);
	/* no change yet: the list at seq 0 (test_list_before_change) */
	assert_int_equal(eng_list_record(w->iss.e, c[0].ref.uri, &b1, &l1,
	    &seq), 0);
	assert_true(seq == 0);
	assert_int_equal(eng_list_record(w->iss.e, "mrx://jp.meti/status/9",
	    &b1, &l1, &seq), MRX_ENOENT);
	for (i = 0; i < 2; i++)
		set_status(w, &c[i], PROTO_STATUS_SUSPENDED,
		    PROTO_REASON_NONE, T0);
	assert_int_equal(eng_list_record(w->iss.e, c[0].ref.uri, &b1, &l1,
	    &seq), 0);
	assert_true(seq == 2);
	assert_int_equal(proto_record_decode(b1, l1, &rec, NULL), 0);
	assert_int_equal(rec.type, PROTO_REC_STATUS_LIST);
	assert_true(rec.u.sl.seq == 2 && rec.u.sl.has_head &&
	    rec.u.sl.c.iat == T0);
	assert_int_equal(cry_sign1_verify(&rec.env, w->issuer, NULL, 0, NULL),
	    0);
	proto_record_fini(&rec);
	/* cached until the list changes; signed again, the same bytes */
	assert_int_equal(eng_list_record(w->iss.e, c[0].ref.uri, &b2, &l2,
	    NULL), 0);
	assert_ptr_equal(b1, b2);
	/* after a restart from the stored state: the very same record */
	twin = make_engine(w, ENG_ROLE_ISSUER, ISSUER);
	assert_int_equal(eng_restore_list(twin, &w->saved, w->saved_alloc,
	    w->saved_nalloc, NULL), 0);
	assert_int_equal(eng_list_record(twin, c[0].ref.uri, &b2, &l2, NULL),
	    0);
	assert_true(l1 == l2);
	assert_memory_equal(b1, b2, l1);
	eng_free(twin);
	/* catch-up requests: the range to serve */
	ev_init(w, &ev, ENG_EV_CATCHUP_REQUEST, T0);
	snprintf(ev.u.cu.uri, sizeof(ev.u.cu.uri), "%s", c[0].ref.uri);
	ev.u.cu.from_seq = 1;
	ev.u.cu.max = 1;
	a = run(w, &w->iss, &ev);
	r = &a->a[0].u.reply;
	assert_true(a->n == 1 && r->status == ENG_OK && r->from_seq == 1 &&
	    r->to_seq == 1 && r->seq == 2);
	assert_string_equal(r->ref.uri, c[0].ref.uri);
	ev.u.cu.from_seq = 3;	/* nothing newer */
	ev.u.cu.max = 0;
	r = &run(w, &w->iss, &ev)->a[0].u.reply;
	assert_true(r->status == ENG_OK && r->to_seq < r->from_seq);
	ev.u.cu.from_seq = 0;
	r = &run(w, &w->iss, &ev)->a[0].u.reply;
	assert_int_equal(r->status, ENG_BAD_REQUEST);
	assert_string_equal(r->err_field, "from_seq");
	ev.u.cu.from_seq = 1;
	snprintf(ev.u.cu.uri, sizeof(ev.u.cu.uri), "mrx://jp.meti/status/7");
	r = &run(w, &w->iss, &ev)->a[0].u.reply;
	assert_int_equal(r->status, ENG_NOT_FOUND);
	r = &run(w, &w->sub[0], &ev)->a[0].u.reply;
	assert_int_equal(r->status, ENG_FORBIDDEN);
	/* a tick needs room for every checkpoint, or emits none */
	eng_actions_reset(w->acts);
	w->acts->n = ENG_ACTIONS_MAX;
	ev_init(w, &ev, ENG_EV_TICK, T0 + 1);
	assert_int_equal(eng_handle(w->iss.e, &ev, w->acts), MRX_ENOSPC);
	a = tick(w, &w->iss, T0 + 1);
	assert_int_equal(count(a, ENG_ACT_PUBLISH), 1);
	world_free(w);
}

/*
 * A list that never changed is a record at seq 0 (no head, every entry
 * valid) with a checkpoint naming zeros as its head: a subscriber learns
 * it from the first checkpoint, accepts its clearances, stays fresh on
 * later checkpoints, and applies delta 1 (prev zeros) on top of it.
 */
static void
test_list_before_change(void **state)
{
	struct world *w = world_new(11000);
	static const uint8_t zeros[PROTO_HASH_LEN];
	struct issued c[2];
	const struct eng_actions *a;
	struct proto_record rec;
	const struct msg *cp;
	const uint8_t *b;
	size_t len, k;
	uint64_t seq;

	(void)state;
	issue(w, &c[0], T0);
	issue(w, &c[1], T0);
	assert_int_equal(eng_list_record(w->iss.e, c[0].ref.uri, &b, &len,
	    &seq), 0);
	assert_true(seq == 0);
	assert_int_equal(proto_record_decode(b, len, &rec, NULL), 0);
	assert_true(rec.type == PROTO_REC_STATUS_LIST && rec.u.sl.seq == 0 &&
	    !rec.u.sl.has_head && rec.u.sl.nreasons == 0 &&
	    rec.u.sl.c.iat == T0);
	proto_record_fini(&rec);
	a = tick(w, &w->iss, T0);
	assert_int_equal(count(a, ENG_ACT_PUBLISH), 1);
	cp = published(w, PROTO_REC_CHECKPOINT, 0);
	assert_true(cp->seq == 0);
	assert_int_equal(proto_record_decode(cp->b, cp->n, &rec, NULL), 0);
	assert_memory_equal(rec.u.cp.head, zeros, PROTO_HASH_LEN);
	proto_record_fini(&rec);
	for (k = 0; k < NSUB; k++) {
		expect(w, &w->sub[k], &c[0], T0, PROTO_INDETERMINATE,
		    "status-missing");
		/* the checkpoint of a list not held asks for the list */
		feed_msg(w, &w->sub[k], cp, T0);
		assert_int_equal(w->sub[k].ncu, 1);
		assert_true(w->sub[k].cu[0].from_seq == 0);
		assert_int_equal(serve(w, &w->sub[k], T0), 1);
		assert_true(held(&w->sub[k], c[0].ref.uri).has_list &&
		    held(&w->sub[k], c[0].ref.uri).seq == 0);
		expect(w, &w->sub[k], &c[0], T0, PROTO_ACCEPT, "accepted");
	}
	/* later checkpoints at seq 0 keep it fresh past the bound */
	tick(w, &w->iss, T0 + MAX_AGE);
	feed_msg(w, &w->sub[0], published(w, PROTO_REC_CHECKPOINT, 0),
	    T0 + MAX_AGE);
	assert_int_equal(stats(&w->sub[0]).feed_checkpoints, 1);
	expect(w, &w->sub[0], &c[0], T0 + MAX_AGE + 1, PROTO_ACCEPT,
	    "accepted");
	expect(w, &w->sub[1], &c[0], T0 + MAX_AGE + 1, PROTO_INDETERMINATE,
	    "status-stale");
	/* delta 1 (prev zeros) applies on the seq-0 list: no catch-up */
	assert_true(set_status(w, &c[0], PROTO_STATUS_REVOKED,
	    PROTO_REASON_ELIGIBILITY_REVOKED, T0 + MAX_AGE + 2) == 1);
	for (k = 0; k < NSUB; k++) {
		a = feed_msg(w, &w->sub[k], published(w,
		    PROTO_REC_STATUS_DELTA, 1), T0 + MAX_AGE + 2);
		assert_int_equal(count(a, ENG_ACT_CATCHUP), 0);
		assert_int_equal(count(a, ENG_ACT_ALERT), 1);
		assert_true(held(&w->sub[k], c[0].ref.uri).seq == 1);
		expect(w, &w->sub[k], &c[0], T0 + MAX_AGE + 2, PROTO_REJECT,
		    "revoked");
		expect(w, &w->sub[k], &c[1], T0 + MAX_AGE + 2, PROTO_ACCEPT,
		    "accepted");
	}
	/* and delta 2 chains on delta 1 as on any list */
	assert_true(set_status(w, &c[1], PROTO_STATUS_SUSPENDED,
	    PROTO_REASON_NONE, T0 + MAX_AGE + 3) == 2);
	for (k = 0; k < NSUB; k++) {
		a = feed_msg(w, &w->sub[k], published(w,
		    PROTO_REC_STATUS_DELTA, 2), T0 + MAX_AGE + 3);
		assert_int_equal(count(a, ENG_ACT_CATCHUP), 0);
		assert_true(held(&w->sub[k], c[0].ref.uri).seq == 2 &&
		    held(&w->sub[k], c[0].ref.uri).has_head);
		expect(w, &w->sub[k], &c[1], T0 + MAX_AGE + 3, PROTO_REJECT,
		    "suspended");
	}
	world_free(w);
}

/* A status list of the issuer's list at `seq`, signed by the issuer's key,
 * with entry idx at `st`. */
static uint8_t *
forge_list(struct world *w, const struct issued *c, uint64_t seq,
    const uint8_t *head, enum proto_status st, size_t *len)
{
	struct proto_record r;
	uint8_t *buf = malloc(PROTO_STATUS_LIST_MAX);

	assert_non_null(buf);
	memset(&r, 0, sizeof(r));
	r.type = PROTO_REC_STATUS_LIST;
	assert_int_equal(proto_status_list_init(&r.u.sl, LIST_SIZE), 0);
	snprintf(r.u.sl.c.iss, sizeof(r.u.sl.c.iss), ISSUER);
	snprintf(r.u.sl.c.sub, sizeof(r.u.sl.c.sub), "%s", c->ref.uri);
	r.u.sl.c.iat = T0 + 1;
	memset(r.u.sl.c.cti, 0xab, PROTO_CTI_LEN);
	r.u.sl.seq = seq;
	memcpy(r.u.sl.head, head, PROTO_HASH_LEN);
	r.u.sl.has_head = true;
	assert_int_equal(proto_status_set(&r.u.sl, c->ref.idx, st,
	    PROTO_REASON_NONE), 0);
	assert_int_equal(proto_record_sign(&r, w->issuer, buf,
	    PROTO_STATUS_LIST_MAX, len, NULL), 0);
	proto_record_fini(&r);
	return buf;
}

static void
test_list_equivocation(void **state)
{
	struct world *w = world_new(11000);
	struct node *s = &w->sub[0], *t = &w->sub[1];
	struct issued c[3];
	const struct eng_actions *a;
	uint8_t *b, h[PROTO_HASH_LEN];
	struct msg full;
	size_t len;

	(void)state;
	start(w, c, 3, T0);
	/* s holds list 1 as a record: another list 1 that revokes c[0] */
	issuer_head(w, 1, h);
	b = forge_list(w, &c[0], 1, h, PROTO_STATUS_REVOKED, &len);
	a = feed(w, s, b, len, T0 + 1);
	assert_int_equal(count(a, ENG_ACT_PERSIST_EVIDENCE), 1);
	full = fetch_list(w, c[0].ref.uri);
	assert_true(s->ev_held_len == full.n && s->ev_got_len == len);
	assert_memory_equal(s->ev_held, full.b, full.n);
	assert_memory_equal(s->ev_got, b, len);
	expect(w, s, &c[0], T0 + 1, PROTO_INDETERMINATE,
	    "status-equivocation");
	free(b);
	free(full.b);
	/* t reached seq 2 by a delta: a list 2 with the right head but
	 * other entries is equivocation too */
	set_status(w, &c[1], PROTO_STATUS_REVOKED, PROTO_REASON_NONE, T0 + 1);
	feed_msg(w, t, published(w, PROTO_REC_STATUS_DELTA, 2), T0 + 1);
	issuer_head(w, 2, h);
	b = forge_list(w, &c[0], 2, h, PROTO_STATUS_REVOKED, &len);
	a = feed(w, t, b, len, T0 + 2);
	assert_int_equal(count(a, ENG_ACT_PERSIST_EVIDENCE), 1);
	assert_int_equal(count(a, ENG_ACT_ALERT), 1);
	assert_true(t->ev_seq == 2 && t->ev_held_len == w->deltas[2].n);
	assert_memory_equal(t->ev_held, w->deltas[2].b, w->deltas[2].n);
	expect(w, t, &c[2], T0 + 2, PROTO_INDETERMINATE,
	    "status-equivocation");
	free(b);
	world_free(w);
}

static void
test_list_alerts_bound(void **state)
{
	struct world *w;
	struct node *s;
	struct issued *c;
	const struct eng_actions *a;
	struct eng_stats st;
	struct msg full;
	size_t i, n = ENG_ACTIONS_MAX / 2;

	(void)state;
	list_size = BIG_LIST;
	w = world_new(12000);
	list_size = LIST_SIZE;
	s = &w->sub[0];
	c = calloc(n + 1, sizeof(*c));
	assert_non_null(c);
	start(w, c, n + 1, T0);
	for (i = 1; i < n; i++)
		expect(w, s, &c[i], T0, PROTO_ACCEPT, "accepted");
	for (i = 0; i < n; i++)
		set_status(w, &c[i], PROTO_STATUS_REVOKED, PROTO_REASON_NONE,
		    T0 + 1);
	/* one list brings n changes to watched entries: one buffer's worth
	 * of alerts, the rest counted */
	full = fetch_list(w, c[0].ref.uri);
	a = feed_msg(w, s, &full, T0 + 2);
	assert_true(n > ENG_LIST_ALERTS_MAX);
	assert_true(count(a, ENG_ACT_ALERT) == ENG_LIST_ALERTS_MAX);
	st = stats(s);
	assert_true(st.alerts == ENG_LIST_ALERTS_MAX &&
	    st.alerts_dropped == n - ENG_LIST_ALERTS_MAX);
	assert_true(held(s, c[0].ref.uri).seq == n + 1);
	free(full.b);
	free(c);
	world_free(w);
}

static void
test_enospc_and_config(void **state)
{
	struct world *w = world_new(13000);
	struct node *s = &w->sub[0];
	struct issued c[2];
	struct eng_event ev;
	struct eng_config cfg;
	struct engine *e = NULL;
	struct proto_trust *tr;
	struct mrx_diag d;
	const struct msg *m;

	(void)state;
	start(w, c, 2, T0);
	set_status(w, &c[0], PROTO_STATUS_REVOKED, PROTO_REASON_NONE, T0 + 1);
	m = published(w, PROTO_REC_STATUS_DELTA, 2);
	/* too little room: nothing changes, the event can be retried */
	ev_init(w, &ev, ENG_EV_FEED_RECORD, T0 + 1);
	ev.u.feed.bytes = m->b;
	ev.u.feed.len = m->n;
	eng_actions_reset(w->acts);
	w->acts->n = ENG_ACTIONS_MAX - 2;
	assert_int_equal(eng_handle(s->e, &ev, w->acts), MRX_ENOSPC);
	assert_true(w->acts->n == ENG_ACTIONS_MAX - 2);
	assert_true(held(s, c[0].ref.uri).seq == 1);
	assert_true(eng_check(s->e));
	eng_actions_reset(w->acts);
	w->acts->n = ENG_ACTIONS_MAX - 3;
	assert_int_equal(eng_handle(s->e, &ev, w->acts), MRX_ENOSPC);
	assert_true(held(s, c[0].ref.uri).seq == 1 && s->nalerts == 0);
	run(w, s, &ev);
	assert_true(held(s, c[0].ref.uri).seq == 2 && s->nalerts == 1);
	/* the checkpoint interval is bounded */
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = ENG_ROLE_OPERATOR;
	snprintf(cfg.id, sizeof(cfg.id), "jp.op.c");
	proto_policy_default(&cfg.policy);
	cfg.checkpoint_interval_s = -1;
	tr = make_trust(w);
	mrx_diag_clear(&d);
	assert_int_equal(eng_new(&cfg, tr, &e, &d), MRX_ERANGE);
	assert_string_equal(d.field, "checkpoint_interval_s");
	cfg.checkpoint_interval_s = ENG_CHECKPOINT_INTERVAL_MAX_S + 1;
	assert_int_equal(eng_new(&cfg, tr, &e, &d), MRX_ERANGE);
	proto_trust_free(tr);
	world_free(w);
}

/* A scripted world with faults; returns the digest of every action. */
static void
script(uint32_t seed, uint8_t out[CRY_SHA256_LEN])
{
	struct world *w = world_new(seed);
	struct issued c[6];
	size_t i, k;
	int64_t now = T0;

	start(w, c, 6, now);
	for (i = 0; i < 5; i++)
		set_status(w, &c[i], i % 2 ? PROTO_STATUS_SUSPENDED :
		    PROTO_STATUS_REVOKED, PROTO_REASON_ADMIN_WITHDRAWN,
		    ++now);
	/* sub 0: reversed, each twice; sub 1: only the odd ones, then a
	 * checkpoint */
	for (i = 6; i >= 2; i--) {
		feed_msg(w, &w->sub[0], published(w, PROTO_REC_STATUS_DELTA,
		    i), now);
		feed_msg(w, &w->sub[0], published(w, PROTO_REC_STATUS_DELTA,
		    i), now);
	}
	for (i = 3; i <= 6; i += 2)
		feed_msg(w, &w->sub[1], published(w, PROTO_REC_STATUS_DELTA,
		    i), now);
	tick(w, &w->iss, ++now);
	for (k = 0; k < NSUB; k++) {
		feed_msg(w, &w->sub[k], published(w, PROTO_REC_CHECKPOINT, 6),
		    now);
		serve(w, &w->sub[k], now);
		for (i = 0; i < 6; i++) {
			char code[PROTO_CODE_MAX + 1];

			(void)verify(w, &w->sub[k], &c[i], now, code);
		}
	}
	assert_true(held(&w->sub[0], c[0].ref.uri).seq == 6 &&
	    held(&w->sub[1], c[0].ref.uri).seq == 6);
	assert_int_equal(cry_sha256(w->dig.p, w->dig.n, out), 0);
	world_free(w);
}

static void
test_determinism(void **state)
{
	uint8_t a[CRY_SHA256_LEN], b[CRY_SHA256_LEN], c[CRY_SHA256_LEN];

	(void)state;
	script(100, a);
	script(100, b);
	script(200, c);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_revocation_propagates),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_lost_delta_checkpoint),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_equivocation),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_stale_then_checkpoint),
		cmocka_unit_test(test_reinstatement_by_seq),
		cmocka_unit_test(test_buffer_bound),
		cmocka_unit_test(test_publisher_requests),
		cmocka_unit_test(test_list_before_change),
		cmocka_unit_test(test_list_equivocation),
		cmocka_unit_test(test_list_alerts_bound),
		cmocka_unit_test(test_enospc_and_config),
		cmocka_unit_test(test_determinism),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
