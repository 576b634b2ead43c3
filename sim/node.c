/*
 * node.c - the runtime of one simulated node, as mrxd would be: it hands
 * events to the engine, carries out the actions, and moves messages in
 * signed envelopes.
 *
 * Actions (engine.h): PERSIST_* become writes of one store transaction
 * per event; PUBLISH becomes a broadcast once that transaction commits
 * (never before: an uncommitted delta must never be seen); CATCHUP becomes
 * a catchup-request (fedmsg.h) to the issuer or to the relay the feed
 * comes through (catchup_target), answered in recv.c. Everything the
 * engine asks to persist is what a restart finds again (sim_node_start
 * restores lists and watches).
 *
 * Messages: each is a real envelope (proto_envelope_seal) from the sending
 * node's key, opened and admitted at the receiver with proto_envelope_open,
 * proto_peer_check and proto_peer_accept. A broadcast is sealed once and
 * delivered to every subscriber, like a pub socket. Two results are
 * memoized across nodes, because they are pure functions of their inputs
 * and the simulator runs a thousand nodes on one core: the peer check of
 * one broadcast envelope (keyed by its identity, the sender's kid and
 * ACL), and "these record bytes verify under the key their kid names" (any
 * engine that verified them, found by eng_vcache_has afterwards), which
 * the next engine is told with eng_vcache_put, as mrxd does for a record
 * its issuer's own envelope carried.
 * Neither changes a decision: a miss only costs a verification.
 *
 * Relays: a node with subscribers forwards every feed record its engine
 * took (not refused, not stale, not a duplicate) and every trust record
 * its trust store took, once (a ring of recent record identities), one
 * record per feed-record message in its own envelope; the records keep
 * their issuers' signatures and every receiver checks them again.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "fedmsg.h"
#include "sim.h"

enum sim_fx {
	SIM_FX_ISSUED = 1,	/* a record was signed (bytes) */
	SIM_FX_CHANGE,		/* a status changed (packed change) */
	SIM_FX_PUBLISH,		/* a record for the feed (bytes) */
};

#define NOW_S(w) ((w)->sc->start + (w)->now_us / SIM_US_PER_S)
#define NOW_MS(w) ((w)->sc->start * 1000 + (w)->now_us / 1000)

/* ---- peeking at records ---- */

int
sim_peek_record(const uint8_t *b, size_t n, enum proto_rec_type *type,
    char iss[PROTO_ID_MAX + 1], char sub[PROTO_SUB_MAX + 1])
{
	struct cry_sign1 s;
	struct cry_cbor_rd rd;
	struct cry_cbor_item k, v;
	char t[32];
	uint64_t i;

	*type = PROTO_REC_NONE;
	iss[0] = sub[0] = '\0';
	if (cry_sign1_decode(b, n, &s, NULL) != 0 || s.payload == NULL)
		return MRX_EMALFORMED;
	cry_cbor_rd_init(&rd, s.payload, s.payload_len);
	if (cry_cbor_next(&rd, &k, NULL) != 0 || k.type != CRY_CBOR_MAP)
		return MRX_EMALFORMED;
	for (i = k.val; i > 0; i--) {
		if (cry_cbor_next(&rd, &k, NULL) != 0 ||
		    cry_cbor_next(&rd, &v, NULL) != 0)
			return MRX_EMALFORMED;
		if (k.type == CRY_CBOR_UINT && v.type == CRY_CBOR_TSTR &&
		    (k.val == 1 || k.val == 2)) {
			char *d = k.val == 1 ? iss : sub;
			size_t cap = k.val == 1 ? PROTO_ID_MAX : PROTO_SUB_MAX;
			size_t m = v.val < cap ? v.val : cap;

			memcpy(d, v.ptr, m);
			d[m] = '\0';
		} else if (k.type == CRY_CBOR_TSTR && k.val == 4 &&
		    memcmp(k.ptr, "type", 4) == 0 && v.type == CRY_CBOR_TSTR &&
		    v.val < sizeof(t)) {
			memcpy(t, v.ptr, v.val);
			t[v.val] = '\0';
			(void)proto_rec_type_parse(t, type);
		}
		if (cry_cbor_skip(&rd, &v, NULL) != 0)
			return MRX_EMALFORMED;
	}
	return *type == PROTO_REC_NONE ? MRX_EMALFORMED : 0;
}

/* The cti (claim 7) of a record, without a full decode. */
bool
sim_peek_cti(const uint8_t *b, size_t n, uint8_t cti[PROTO_CTI_LEN])
{
	struct cry_sign1 s;
	struct cry_cbor_rd rd;
	struct cry_cbor_item k, v;
	uint64_t i;

	if (b == NULL || cry_sign1_decode(b, n, &s, NULL) != 0 ||
	    s.payload == NULL)
		return false;
	cry_cbor_rd_init(&rd, s.payload, s.payload_len);
	if (cry_cbor_next(&rd, &k, NULL) != 0 || k.type != CRY_CBOR_MAP)
		return false;
	for (i = k.val; i > 0; i--) {
		if (cry_cbor_next(&rd, &k, NULL) != 0 ||
		    cry_cbor_next(&rd, &v, NULL) != 0)
			return false;
		if (k.type == CRY_CBOR_UINT && k.val == 7 &&
		    v.type == CRY_CBOR_BSTR && v.val == PROTO_CTI_LEN) {
			memcpy(cti, v.ptr, PROTO_CTI_LEN);
			return true;
		}
		if (cry_cbor_skip(&rd, &v, NULL) != 0)
			return false;
	}
	return false;
}

/* The list number N of "mrx://<id>/status/N", or 0. */
static uint32_t
list_number(const char *uri)
{
	const char *p = strrchr(uri, '/');
	uint32_t n = 0;

	if (p == NULL || p[1] == '\0')
		return 0;
	for (p++; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > ENG_LISTS_MAX)
			return 0;
		n = n * 10 + (uint32_t)(*p - '0');
	}
	return n;
}

/* ---- memos ---- */

struct sim_id
sim_id_of(const struct sim_world *w, const uint8_t *b, size_t n)
{
	struct sim_id id;

	/* one keyed 64-bit PRF and the length: two different byte strings
	 * share an identity with probability 2^-64 */
	id.a = proto_siphash24(w->id_key[0], b, n);
	id.b = (uint64_t)n;
	return id;
}

bool
sim_vmemo_known(struct sim_world *w, struct sim_id id)
{
	const struct sim_id *v = &w->vmemo[id.a % SIM_VMEMO_SLOTS];

	return v->a == id.a && v->b == id.b;
}

void
sim_vmemo_learn(struct sim_world *w, struct sim_id id)
{
	w->vmemo[id.a % SIM_VMEMO_SLOTS] = id;
}

/* ---- the node's lists and their changes ---- */

const struct sim_store_list *
sim_own_list(const struct sim_node *n, size_t k)
{
	return k < n->store.nlists ? &n->store.lists[k] : NULL;
}

static int
log_change(struct sim_node *n, uint32_t list, uint64_t seq, int64_t us,
    bool revocation)
{
	struct sim_listlog *l;
	size_t cap;
	void *p;

	if (list == 0 || list > ENG_LISTS_MAX || n->logs == NULL)
		return MRX_EINVAL;
	l = &n->logs[list - 1];
	if (list > n->nlogs)
		n->nlogs = list;
	if (seq != l->n + 1)
		return 0;	/* a landed retry: known already */
	if (l->n == l->cap) {
		cap = l->cap == 0 ? 16 : 2 * l->cap;
		p = realloc(l->us, cap * sizeof(*l->us));
		if (p == NULL)
			return MRX_ENOMEM;
		l->us = p;
		p = realloc(l->revocation, cap);
		if (p == NULL)
			return MRX_ENOMEM;
		l->revocation = p;
		l->cap = cap;
	}
	l->us[l->n] = us;
	l->revocation[l->n++] = revocation;
	return 0;
}

/* A change as carried by an effect until its commit. */
struct change {
	uint64_t seq;
	int64_t us;
	uint32_t idx;
	uint8_t status, reason;
	char uri[PROTO_URI_MAX + 1];
};

/* ---- actions ---- */

/*
 * Whom to ask for a feed's records (mrxd asks the issuer if it is a peer,
 * else the peer the feed came through): the issuer when it is a direct
 * peer (this node's parent or subscriber); else, below the roots, the
 * parent, whose feed carries every feed this node hears; else, for a
 * root, the issuer's own root when it is a partner, or the partner root
 * the feed came through. Relays answer from the feeds they stored.
 */
static uint32_t
catchup_target(const struct sim_world *w, const struct sim_node *n,
    uint32_t is)
{
	size_t i;

	if (is == n->parent)
		return is;
	for (i = 0; i < n->nsubs; i++)
		if (n->subs[i] == is)
			return is;
	if (n->conf->role != ENG_ROLE_ROOT)
		return n->parent;
	/* the issuer's own root hears it first-hand; two roots that only
	 * relayed the feed to each other could wait on each other */
	for (i = 0; i < n->nsubs; i++)
		if (n->subs[i] == w->nodes[is].root)
			return n->subs[i];
	for (i = 0; i < n->nvia; i++)
		if (n->via[i].issuer == is)
			return n->via[i].peer;
	return SIM_NONE;
}

static int
send_catchup(struct sim_world *w, struct sim_node *n,
    const struct eng_catchup *c)
{
	uint32_t is = sim_node_find(w, c->issuer), to;
	struct proto_catchup_req rq;
	uint8_t buf[512];
	size_t len;

	if (is == SIM_NONE || is == n->ix)
		return 0;	/* no such node: nobody to ask */
	to = catchup_target(w, n, is);
	if (to == SIM_NONE || to == n->ix)
		return 0;
	memset(&rq, 0, sizeof(rq));
	sim_strcopy(rq.issuer, sizeof(rq.issuer), c->issuer);
	sim_strcopy(rq.uri, sizeof(rq.uri), c->uri);
	rq.from = c->from_seq;
	rq.max = ENG_CATCHUP_MAX;
	if (proto_catchup_req_encode(&rq, buf, sizeof(buf), &len) != 0)
		return 0;
	w->st.catchups++;
	sim_debug(w, "%s asks %s for %s from %llu", n->conf->id,
	    w->nodes[to].conf->id, c->uri, (unsigned long long)c->from_seq);
	return sim_send(w, n, to, PROTO_MSG_CATCHUP_REQUEST, buf, len);
}

static int
on_list(struct sim_world *w, struct sim_node *n, struct sim_txn *t,
    const struct eng_persist_list *l)
{
	uint32_t k = list_number(l->sl->c.sub);
	struct change ch;
	int rc;

	rc = sim_txn_list(t, l);
	if (rc != 0 || k == 0 || k > ENG_LISTS_MAX || n->logs == NULL)
		return rc;
	n->logs[k - 1].seq = l->sl->seq;
	memcpy(n->logs[k - 1].head, l->sl->head, PROTO_HASH_LEN);
	if (k > n->nlogs)
		n->nlogs = k;
	if (!l->has_change)
		return 0;
	memset(&ch, 0, sizeof(ch));
	ch.seq = l->sl->seq;
	ch.us = w->now_us;
	ch.idx = l->change.idx;
	ch.status = l->change.status;
	ch.reason = l->change.reason;
	snprintf(ch.uri, sizeof(ch.uri), "%s", l->sl->c.sub);
	return sim_txn_effect(t, SIM_FX_CHANGE, n->ix, 0,
	    (const uint8_t *)&ch, sizeof(ch));
}

static int
on_action(struct sim_world *w, struct sim_node *n, struct sim_txn *t,
    const struct eng_action *a)
{
	char tb[32];
	int rc;

	switch (a->type) {
	case ENG_ACT_PERSIST_RECORD:
		rc = sim_txn_record(t, &a->u.rec);
		return rc != 0 ? rc : sim_txn_effect(t, SIM_FX_ISSUED, n->ix,
		    a->u.rec.type, a->u.rec.bytes, a->u.rec.len);
	case ENG_ACT_PERSIST_LIST:
		return on_list(w, n, t, &a->u.list);
	case ENG_ACT_PERSIST_WATCH:
		return sim_txn_watch(t, &a->u.watch);
	case ENG_ACT_PUBLISH:
		return sim_txn_effect(t, SIM_FX_PUBLISH, n->ix, a->u.pub.type,
		    a->u.pub.bytes, a->u.pub.len);
	case ENG_ACT_PERSIST_EVIDENCE:
		w->st.equivocations++;
		sim_trace(w, "%s %s equivocation evidence: %s %s seq %llu",
		    sim_fmt_time(w->now_us, tb, sizeof(tb)), n->conf->id,
		    a->u.evidence.issuer, a->u.evidence.uri,
		    (unsigned long long)a->u.evidence.seq);
		return sim_txn_evidence(t, &a->u.evidence);
	case ENG_ACT_ALERT:
		w->st.alerts++;
		if (a->u.alert.kind == ENG_ALERT_STATUS)
			sim_hash(w, &a->u.alert.seq, sizeof(a->u.alert.seq));
		return 0;
	case ENG_ACT_CATCHUP:
		return send_catchup(w, n, &a->u.catchup);
	case ENG_ACT_AUDIT:
		sim_hash(w, &a->u.audit.kind, sizeof(a->u.audit.kind));
		return 0;
	case ENG_ACT_REPLY:
		return 0;
	}
	return 0;
}

static int
queue_txn(struct sim_world *w, struct sim_node *n, struct sim_txn *t)
{
	int64_t at = w->now_us + w->sc->policy.sync_us;
	int rc;

	if (sim_txn_empty(t)) {
		sim_txn_free(t);
		return 0;
	}
	rc = sim_store_queue(&n->store, t, at);
	if (rc != 0) {
		sim_txn_free(t);
		return rc;
	}
	if (w->sc->policy.sync_us == 0)
		return sim_node_commit(w, n);
	return sim_schedule(w, sim_store_next_commit(&n->store) > at ? at :
	    n->store.tail->commit_us, SIM_K_COMMIT, n->ix, 0, 0);
}

static int
pending_add(struct sim_world *w, const struct sim_pending *tmpl,
    const uint8_t cti[PROTO_CTI_LEN])
{
	struct sim_pending *np;
	size_t cap;

	if (w->npend == w->cappend) {
		cap = w->cappend == 0 ? 16 : 2 * w->cappend;
		np = realloc(w->pend, cap * sizeof(*np));
		if (np == NULL)
			return MRX_ENOMEM;
		w->pend = np;
		w->cappend = cap;
	}
	w->pend[w->npend] = *tmpl;
	memcpy(w->pend[w->npend].cti, cti, PROTO_CTI_LEN);
	w->npend++;
	return 0;
}

static int
handle(struct sim_world *w, struct sim_node *n, struct eng_event *ev,
    const struct sim_pending *tmpl)
{
	const struct eng_reply *r;
	struct sim_txn *t;
	size_t i;
	int rc;

	assert(n->up && n->eng != NULL);
	eng_actions_reset(w->acts);
	rc = eng_handle(n->eng, ev, w->acts);
	if (rc != 0)
		return rc;
	w->st.engine_events++;
	sim_hash(w, &ev->type, sizeof(ev->type));
	sim_hash(w, &n->ix, sizeof(n->ix));
	if (w->opt.check_engines && !eng_check(n->eng))
		sim_violation(w, "engine-invariant", "%s: eng_check() failed "
		    "after a %d event", n->conf->id, (int)ev->type);
	t = sim_txn_new();
	if (t == NULL)
		return MRX_ENOMEM;
	for (i = 0; i < w->acts->n; i++) {
		rc = on_action(w, n, t, &w->acts->a[i]);
		if (rc != 0) {
			sim_txn_free(t);
			return rc;
		}
	}
	r = sim_last_reply(w);
	if (tmpl != NULL && r != NULL && r->status == ENG_CREATED &&
	    (rc = pending_add(w, tmpl, r->cti)) != 0) {
		sim_txn_free(t);
		return rc;
	}
	return queue_txn(w, n, t);
}

int
sim_node_handle(struct sim_world *w, struct sim_node *n,
    struct eng_event *ev)
{
	return handle(w, n, ev, NULL);
}

int
sim_node_issue(struct sim_world *w, struct sim_node *n, struct eng_event *ev,
    const struct sim_pending *tmpl)
{
	return handle(w, n, ev, tmpl);
}

void
sim_event_init(struct sim_world *w, struct eng_event *ev,
    enum eng_ev_type type)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->req_id = w->st.engine_events + 1;
	ev->now = NOW_S(w);
	sim_rng_bytes(&w->rng_engine, ev->rnd, ENG_RAND_LEN);
}

const struct eng_reply *
sim_last_reply(const struct sim_world *w)
{
	const struct eng_actions *a = w->acts;

	if (a->n == 0 || a->a[a->n - 1].type != ENG_ACT_REPLY)
		return NULL;
	return &a->a[a->n - 1].u.reply;
}

/* ---- commit effects ---- */

static size_t
pending_find(const struct sim_world *w, const uint8_t *cti)
{
	size_t i;

	for (i = 0; i < w->npend; i++)
		if (memcmp(w->pend[i].cti, cti, PROTO_CTI_LEN) == 0)
			return i;
	return SIZE_MAX;
}

/* A record this node signed is now durable: the world learns of it. */
static int
fx_issued(struct sim_world *w, struct sim_node *n, const struct sim_effect *e)
{
	struct proto_record rec;
	struct sim_pending p;
	struct sim_cred c;
	uint32_t ci;
	size_t k;
	int rc;

	if (e->arg != PROTO_REC_CLEARANCE && e->arg != PROTO_REC_OPERATOR)
		return 0;
	rc = proto_record_decode(e->b.p, e->b.n, &rec, NULL);
	if (rc != 0) {
		proto_record_fini(&rec);
		return rc;
	}
	memset(&c, 0, sizeof(c));
	c.type = rec.type;
	c.person = c.op_node = SIM_NONE;
	c.issuer = n->ix;
	if (rec.type == PROTO_REC_CLEARANCE) {
		c.iat = rec.u.clr.c.iat;
		c.exp = rec.u.clr.c.exp;
		memcpy(c.cti, rec.u.clr.c.cti, PROTO_CTI_LEN);
		c.ref = rec.u.clr.status;
		snprintf(c.level, sizeof(c.level), "%s", rec.u.clr.level);
		snprintf(c.operator_id, sizeof(c.operator_id), "%s",
		    rec.u.clr.operator_id);
	} else {
		c.iat = rec.u.op.c.iat;
		c.exp = rec.u.op.c.exp;
		memcpy(c.cti, rec.u.op.c.cti, PROTO_CTI_LEN);
		c.ref = rec.u.op.status;
		sim_strcopy(c.level, sizeof(c.level), rec.u.op.levels.v[0]);
	}
	proto_record_fini(&rec);
	snprintf(c.iss, sizeof(c.iss), "%s", n->conf->id);
	memcpy(c.kid, cry_key_kid(n->key), CRY_KID_LEN);
	c.status = PROTO_STATUS_VALID;
	k = pending_find(w, c.cti);
	memset(&p, 0, sizeof(p));
	p.person = p.op_node = SIM_NONE;
	p.expect = SIZE_MAX;
	if (k != SIZE_MAX) {
		p = w->pend[k];
		w->pend[k] = w->pend[--w->npend];
	}
	snprintf(c.label, sizeof(c.label), "%s", p.label);
	c.person = p.person;
	c.op_node = p.op_node;
	ci = sim_cred_add(w, &c, e->b.p, e->b.n);
	if (ci == SIM_NONE)
		return MRX_ENOMEM;
	w->st.issued++;
	return sim_issued(w, ci, &p);
}

/* Ground truth: the status an issuer's store now holds. */
static int
fx_change(struct sim_world *w, struct sim_node *n, const struct sim_effect *e)
{
	struct change ch;
	uint32_t ci;

	if (e->b.n != sizeof(ch))
		return MRX_EINVAL;
	memcpy(&ch, e->b.p, sizeof(ch));
	w->st.status_changes++;
	ci = sim_cred_by_ref(w, n->ix, ch.uri, ch.idx);
	if (ci != SIM_NONE) {
		struct sim_cred *c = &w->creds[ci];

		c->status = (enum proto_status)ch.status;
		c->status_at = w->sc->start + ch.us / SIM_US_PER_S;
		c->status_us = ch.us;
		if (ch.status != PROTO_STATUS_VALID)
			c->ever_invalid = true;
	}
	return log_change(n, list_number(ch.uri), ch.seq, ch.us,
	    ch.status == PROTO_STATUS_REVOKED);
}

static int
batch_add(struct sim_world *w, struct sim_node *n, const uint8_t *b,
    size_t len)
{
	int rc;

	if (n->nbatch == SIM_BATCH_MAX && (rc = sim_node_flush(w, n)) != 0)
		return rc;
	n->batch[n->nbatch].p = malloc(len);
	if (n->batch[n->nbatch].p == NULL)
		return MRX_ENOMEM;
	memcpy(n->batch[n->nbatch].p, b, len);
	n->batch[n->nbatch++].n = len;
	if (!n->flush_due) {
		n->flush_due = true;
		return sim_schedule(w, w->now_us + w->sc->policy.relay_batch_us,
		    SIM_K_FLUSH, n->ix, 0, 0);
	}
	return 0;
}

/* ---- the relay's memory ---- */

static bool
seen_has(const struct sim_seen *s, uint64_t k)
{
	size_t j = (size_t)(k % (2 * SIM_RELAY_SEEN));
	uint32_t v;

	while ((v = s->slot[j]) != 0) {
		if (s->ring[v - 1] == k)
			return true;
		j = (j + 1) % (2 * SIM_RELAY_SEEN);
	}
	return false;
}

/* Removes ring entry r from the table (backward-shift deletion). */
static void
seen_del(struct sim_seen *s, size_t r)
{
	const size_t m = 2 * SIM_RELAY_SEEN;
	size_t j = (size_t)(s->ring[r] % m), k, home;

	while (s->slot[j] != r + 1)
		j = (j + 1) % m;
	s->slot[j] = 0;
	for (k = (j + 1) % m; s->slot[k] != 0; k = (k + 1) % m) {
		home = (size_t)(s->ring[s->slot[k] - 1] % m);
		if ((k > j && (home <= j || home > k)) ||
		    (k < j && (home <= j && home > k))) {
			s->slot[j] = s->slot[k];
			s->slot[k] = 0;
			j = k;
		}
	}
}

static void
seen_add(struct sim_seen *s, uint64_t k)
{
	const size_t m = 2 * SIM_RELAY_SEEN;
	size_t j;

	if (seen_has(s, k))
		return;
	if (s->n == SIM_RELAY_SEEN)
		seen_del(s, s->head);
	else
		s->n++;
	s->ring[s->head] = k;
	for (j = (size_t)(k % m); s->slot[j] != 0; j = (j + 1) % m)
		;
	s->slot[j] = (uint32_t)s->head + 1;
	s->head = (s->head + 1) % SIM_RELAY_SEEN;
}

/* Forwards a record to n's subscribers, once. */
int
sim_node_relay(struct sim_world *w, struct sim_node *n, const uint8_t *b,
    size_t len, struct sim_id id)
{
	uint64_t k = id.a;

	if (n->nsubs == 0)
		return 0;
	if (n->seen == NULL && (n->seen = calloc(1, sizeof(*n->seen))) ==
	    NULL)
		return MRX_ENOMEM;
	if (seen_has(n->seen, k))
		return 0;
	seen_add(n->seen, k);
	return batch_add(w, n, b, len);
}

static int
fx_publish(struct sim_world *w, struct sim_node *n, const struct sim_effect *e)
{
	return sim_node_relay(w, n, e->b.p, e->b.n, sim_id_of(w, e->b.p,
	    e->b.n));
}

int
sim_node_commit(struct sim_world *w, struct sim_node *n)
{
	struct sim_txn *t;
	size_t i;
	int rc = 0, rc2;

	while ((t = sim_store_commit(&n->store, w->now_us, &rc2)) != NULL) {
		if (rc2 != 0 && rc == 0)
			rc = rc2;
		for (i = 0; rc == 0 && i < t->nfx; i++) {
			const struct sim_effect *e = &t->fx[i];

			if (e->kind == SIM_FX_ISSUED)
				rc = fx_issued(w, n, e);
			else if (e->kind == SIM_FX_CHANGE)
				rc = fx_change(w, n, e);
			else if (e->kind == SIM_FX_PUBLISH && n->up)
				rc = fx_publish(w, n, e);
		}
		sim_txn_free(t);
	}
	return rc;
}

/* ---- sending ---- */

static int
ensure_peer(struct sim_world *w, struct sim_node *a, const struct sim_node *b)
{
	struct proto_peer_spec s;

	if (!a->up || a->peers == NULL || a == b ||
	    proto_peer_find(a->peers, b->conf->id) != NULL)
		return 0;
	memset(&s, 0, sizeof(s));
	s.id = b->conf->id;
	s.key = b->key;
	s.allowed_types = PROTO_MSG_ALL;
	s.replay_floor = a->boot > 1 ? a->started_s : -1;
	(void)proto_peer_add(a->peers, &s, NOW_MS(w), NULL);
	return 0;	/* a full table refuses: counted at delivery */
}

static struct sim_msg *
seal(struct sim_world *w, struct sim_node *n, const char *to,
    enum proto_msg_type type, const uint8_t *body, size_t len)
{
	uint8_t id[PROTO_ENV_ID_LEN];
	struct sim_msg *m;
	struct mrx_diag d;
	size_t elen;

	sim_rng_bytes(&w->rng_env, id, sizeof(id));
	w->st.seals++;
	mrx_diag_clear(&d);
	if (proto_envelope_seal(n->key, n->conf->id, to, type, NOW_S(w), id,
	    body, len, w->buf, PROTO_ENV_MAX, &elen, &d) != 0)
		return NULL;
	sim_check_message(w, n, type, w->buf, elen);
	m = malloc(sizeof(*m) + elen);
	if (m == NULL)
		return NULL;
	if (w->tag_next != SIZE_MAX) {
		sim_tag_put(w, id, w->tag_next);
		w->tag_next = SIZE_MAX;
	}
	m->refs = 0;
	m->from = n->ix;
	m->type = type;
	m->len = elen;
	memcpy(m->bytes, w->buf, elen);
	sim_hash(w, m->bytes, m->len);
	return m;
}

/* Puts the copies of m to node `to` on the network. */
static int
route(struct sim_world *w, struct sim_node *n, struct sim_msg *m, uint32_t to)
{
	const struct sim_node *d = &w->nodes[to];
	const struct sim_link *l;
	int64_t delay[2];
	int copies, i, rc;

	l = sim_net_link(&w->net, n->conf->jur, d->conf->jur);
	copies = sim_net_route(&w->net, n->ix, to, l, delay);
	n->tr.sent[m->type]++;
	n->tr.sent_bytes[m->type] += m->len;
	for (i = 0; i < copies; i++) {
		m->refs++;
		rc = sim_schedule(w, w->now_us + delay[i], SIM_K_DELIVER, to,
		    0, (uint64_t)(uintptr_t)m);
		if (rc != 0) {
			m->refs--;
			return rc;
		}
	}
	return 0;
}

int
sim_send(struct sim_world *w, struct sim_node *n, uint32_t to,
    enum proto_msg_type type, const uint8_t *body, size_t len)
{
	struct sim_msg *m;
	int rc;

	ensure_peer(w, &w->nodes[to], n);
	ensure_peer(w, n, &w->nodes[to]);
	m = seal(w, n, w->nodes[to].conf->id, type, body, len);
	if (m == NULL)
		return MRX_ENOMEM;
	rc = route(w, n, m, to);
	if (m->refs == 0)
		free(m);
	return rc;
}

/* Seals once and routes to every node of to[]; keeps the envelope's
 * bytes in *keep when asked (for a replay). */
static int
broadcast(struct sim_world *w, struct sim_node *n, const uint32_t *to,
    size_t nto, const uint8_t *body, size_t len, struct sim_blob *keep)
{
	bool subs = to == n->subs;	/* configured peers already */
	struct sim_msg *m;
	size_t i;
	int rc = 0;

	if (nto == 0)
		return 0;
	m = seal(w, n, PROTO_ENV_BROADCAST, PROTO_MSG_FEED_RECORD, body, len);
	if (m == NULL)
		return MRX_ENOMEM;
	if (keep != NULL && (keep->p = malloc(m->len)) != NULL) {
		memcpy(keep->p, m->bytes, m->len);
		keep->n = m->len;
	}
	m->refs = 1;	/* held while routing */
	for (i = 0; rc == 0 && i < nto; i++) {
		if (!subs)
			ensure_peer(w, &w->nodes[to[i]], n);
		rc = route(w, n, m, to[i]);
	}
	if (--m->refs == 0)
		free(m);
	return rc;
}

int
sim_broadcast(struct sim_world *w, struct sim_node *n, const uint32_t *to,
    size_t nto, const uint8_t *body, size_t len)
{
	return broadcast(w, n, to, nto, body, len, NULL);
}

/* Sends one record alone; keeps the envelope of an own delta, for a
 * replay. */
static int
broadcast_archived(struct sim_world *w, struct sim_node *n,
    const struct sim_blob *rec)
{
	enum proto_rec_type type;
	char iss[PROTO_ID_MAX + 1], sub[PROTO_SUB_MAX + 1];
	struct proto_record r;
	struct sim_archived *a;
	struct sim_blob env = { NULL, 0 };
	size_t cap;
	int rc;

	rc = broadcast(w, n, n->subs, n->nsubs, rec->p, rec->n, &env);
	if (rc != 0 || env.p == NULL || sim_peek_record(rec->p, rec->n, &type,
	    iss, sub) != 0 || type != PROTO_REC_STATUS_DELTA ||
	    strcmp(iss, n->conf->id) != 0 ||
	    proto_record_decode(rec->p, rec->n, &r, NULL) != 0) {
		free(env.p);
		return rc;
	}
	if (w->narch == w->caparch) {
		cap = w->caparch == 0 ? 16 : 2 * w->caparch;
		a = realloc(w->arch, cap * sizeof(*a));
		if (a == NULL) {
			free(env.p);
			proto_record_fini(&r);
			return MRX_ENOMEM;
		}
		w->arch = a;
		w->caparch = cap;
	}
	a = &w->arch[w->narch++];
	a->env = env;
	a->issuer = n->ix;
	snprintf(a->uri, sizeof(a->uri), "%s", sub);
	a->seq = r.u.sd.seq;
	proto_record_fini(&r);
	return 0;
}

int
sim_node_flush(struct sim_world *w, struct sim_node *n)
{
	size_t i;
	int rc = 0;

	n->flush_due = false;
	/* a feed-record message carries one record (fedmsg.h) */
	for (i = 0; i < n->nbatch && rc == 0 && n->up; i++)
		rc = w->archive ? broadcast_archived(w, n, &n->batch[i]) :
		    sim_broadcast(w, n, n->subs, n->nsubs, n->batch[i].p,
		    n->batch[i].n);
	for (i = 0; i < n->nbatch; i++)
		free(n->batch[i].p);
	n->nbatch = 0;
	return rc;
}
