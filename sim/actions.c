/*
 * actions.c - the scenario's timed events: what each `do:` does to the
 * federation (docs/sim.md lists them).
 *
 * Requests go through the engine of the node that serves them, as the
 * HTTP API of mrxd would hand them over: an issuance is ENG_EV_ISSUE_*, a
 * suspension ENG_EV_SET_STATUS, a decision ENG_EV_VERIFY. Faults act on
 * the world around the engines: the network (partitions, link changes),
 * the nodes' processes (crash, restart) and byzantine nodes, which sign
 * with keys they hold (or stole) what no engine would: a forged record, a
 * second delta for one sequence number, an old record sent again, a name
 * in a message. What byzantine nodes do is ground truth for check.c: a
 * forged credential is marked forged, an equivocating issuer is marked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "fedmsg.h"
#include "level.h"
#include "ptime.h"
#include "sim.h"

#define NOW_S(w) ((w)->sc->start + (w)->now_us / SIM_US_PER_S)

static const char *
tnow(const struct sim_world *w, char *buf, size_t cap)
{
	return sim_fmt_time(w->now_us, buf, cap);
}

/* ---- issuance ---- */

static int
act_issue(struct sim_world *w, size_t i)
{
	const struct sim_event_conf *ev = &w->sc->events[i];
	uint32_t ni = sim_node_find(w, ev->node);
	uint32_t pi = sim_person_find(w, ev->person);
	struct sim_node *n = &w->nodes[ni];
	const struct sim_person *p = &w->people[pi];
	const struct eng_reply *r;
	struct sim_pending t;
	struct eng_event e;
	size_t k = sim_expect_new(w, i, ni);
	char tb[32], got[160];
	int rc;

	if (!n->up) {
		sim_trace(w, "%s %s is down: cannot issue", tnow(w, tb,
		    sizeof(tb)), n->conf->id);
		sim_expect_request(w, k, false, "refused (node down)");
		return 0;
	}
	sim_event_init(w, &e, ENG_EV_ISSUE_CLEARANCE);
	snprintf(e.u.clr.sub, sizeof(e.u.clr.sub), "%s", p->sub);
	snprintf(e.u.clr.level, sizeof(e.u.clr.level), "%s", ev->level);
	e.u.clr.scopes = ev->scopes;
	snprintf(e.u.clr.operator_id, sizeof(e.u.clr.operator_id), "%s",
	    w->nodes[p->employer].conf->id);
	e.u.clr.valid_years = ev->valid_years;
	e.u.clr.valid_seconds = ev->valid_s;
	memset(&t, 0, sizeof(t));
	snprintf(t.label, sizeof(t.label), "%s", ev->as[0] != '\0' ? ev->as :
	    p->label);
	t.person = pi;
	t.op_node = SIM_NONE;
	t.expect = k;
	t.node = ni;
	rc = sim_node_issue(w, n, &e, &t);
	if (rc != 0)
		return rc;
	r = sim_last_reply(w);
	if (r != NULL && r->status != ENG_CREATED) {
		snprintf(got, sizeof(got), "refused (%d %s: %.90s)", r->status,
		    r->err_code, r->err_message);
		sim_trace(w, "%s %s refuses to issue %s to %s: %d %s",
		    tnow(w, tb, sizeof(tb)), n->conf->id, ev->level, p->label,
		    r->status, r->err_code);
		sim_expect_request(w, k, false, got);
	}
	return 0;
}

static int
issue_operator(struct sim_world *w, struct sim_node *n, uint32_t op,
    const struct proto_strs *levels, const struct proto_strs *scopes,
    int years, int64_t secs, const char *label, size_t k)
{
	const struct eng_reply *r;
	struct sim_pending t;
	struct eng_event e;
	char got[160];
	int rc;

	if (!n->up) {
		sim_expect_request(w, k, false, "refused (node down)");
		return 0;
	}
	sim_event_init(w, &e, ENG_EV_ISSUE_OPERATOR);
	snprintf(e.u.op.sub, sizeof(e.u.op.sub), "%s", w->nodes[op].conf->id);
	e.u.op.levels = *levels;
	if (scopes != NULL)
		e.u.op.scopes = *scopes;
	e.u.op.valid_years = years;
	e.u.op.valid_seconds = secs;
	memset(&t, 0, sizeof(t));
	snprintf(t.label, sizeof(t.label), "%s", label);
	t.person = SIM_NONE;
	t.op_node = op;
	t.expect = k;
	t.node = n->ix;
	rc = sim_node_issue(w, n, &e, &t);
	if (rc != 0)
		return rc;
	r = sim_last_reply(w);
	if (r != NULL && r->status != ENG_CREATED) {
		snprintf(got, sizeof(got), "refused (%d %s: %.90s)", r->status,
		    r->err_code, r->err_message);
		sim_expect_request(w, k, false, got);
	}
	return 0;
}

static int
act_issue_operator(struct sim_world *w, size_t i)
{
	const struct sim_event_conf *ev = &w->sc->events[i];
	uint32_t ni = sim_node_find(w, ev->node);
	uint32_t op = sim_node_find(w, ev->target);

	return issue_operator(w, &w->nodes[ni], op, &ev->levels, &ev->scopes,
	    ev->valid_years, ev->valid_s, ev->as[0] != '\0' ? ev->as :
	    ev->target, sim_expect_new(w, i, ni));
}

int
sim_certify_operators(struct sim_world *w)
{
	struct sim_node *n;
	size_t i;
	int rc;

	for (i = 0; i < w->nnodes; i++) {
		n = &w->nodes[i];
		if (n->conf->role != ENG_ROLE_OPERATOR ||
		    n->conf->certified.n == 0)
			continue;
		rc = issue_operator(w, &w->nodes[n->parent], (uint32_t)i,
		    &n->conf->certified, NULL, 0, 0, n->conf->id, SIZE_MAX);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- status changes ---- */

static int
set_status(struct sim_world *w, struct sim_node *n, uint32_t ci,
    enum proto_status st, enum proto_reason why, size_t k)
{
	const struct sim_cred *c = &w->creds[ci];
	const struct eng_reply *r;
	struct eng_event e;
	char tb[32], got[160];
	int rc;

	if (!n->up) {
		sim_expect_request(w, k, false, "refused (node down)");
		return 0;
	}
	sim_event_init(w, &e, ENG_EV_SET_STATUS);
	e.u.st.rec_type = c->type;
	memcpy(e.u.st.cti, c->cti, PROTO_CTI_LEN);
	e.u.st.ref = c->ref;
	e.u.st.status = st;
	e.u.st.reason = why;
	rc = sim_node_handle(w, n, &e);
	if (rc != 0)
		return rc;
	r = sim_last_reply(w);
	if (r == NULL)
		return MRX_EINVAL;
	if (c->label[0] != '\0' || k != SIZE_MAX)
		sim_trace(w, "%s %s sets %s %s: %d%s%s (seq %llu)",
		    tnow(w, tb, sizeof(tb)), n->conf->id, c->label[0] ?
		    c->label : "-", proto_status_name(st), r->status,
		    r->err_code[0] ? " " : "", r->err_code,
		    (unsigned long long)r->seq);
	snprintf(got, sizeof(got), "%s (%d%s%s)", r->status == ENG_OK ? "ok" :
	    "refused", r->status, r->err_code[0] ? " " : "", r->err_code);
	sim_expect_request(w, k, r->status == ENG_OK, got);
	return 0;
}

static int
act_status(struct sim_world *w, size_t i)
{
	const struct sim_event_conf *ev = &w->sc->events[i];
	uint32_t ci = sim_cred_of(w, ev), ni;
	enum proto_status st = PROTO_STATUS_REVOKED;
	enum proto_reason why = ev->reason;
	size_t k;

	if (ev->act == SIM_ACT_SUSPEND) {
		st = PROTO_STATUS_SUSPENDED;
		if (why == PROTO_REASON_NONE)
			why = PROTO_REASON_SUSPENDED_PENDING_REVIEW;
	} else if (ev->act == SIM_ACT_REINSTATE) {
		st = PROTO_STATUS_VALID;
		if (why == PROTO_REASON_NONE)
			why = PROTO_REASON_REINSTATED;
	} else if (why == PROTO_REASON_NONE) {
		why = PROTO_REASON_ELIGIBILITY_REVOKED;
	}
	if (ci == SIM_NONE) {
		sim_fail(w, i, SIM_NONE, "no such credential (not issued, or "
		    "lost)");
		return 0;
	}
	ni = ev->node[0] != '\0' ? sim_node_find(w, ev->node) :
	    w->creds[ci].issuer;
	k = sim_expect_new(w, i, ni);
	if (ni == SIM_NONE) {
		sim_expect_request(w, k, false, "refused (no issuer node)");
		return 0;
	}
	return set_status(w, &w->nodes[ni], ci, st, why, k);
}

/* ---- decisions ---- */

int
sim_present(struct sim_world *w, uint32_t ci, uint32_t op, uint32_t v,
    const char *access, const char *scope, size_t k)
{
	const struct sim_cred *c = &w->creds[ci];
	struct proto_present pr;
	struct sim_node *h;
	uint32_t hi;
	size_t len;

	hi = c->person != SIM_NONE ? w->people[c->person].employer : v;
	h = &w->nodes[hi];
	if (!h->up) {
		sim_expect_done(w, k, false, "nothing (the holder's employer "
		    "is down)");
		return 0;
	}
	if (hi == v)	/* presented on the spot */
		return sim_ask(w, h, c->bytes, c->len, op != SIM_NONE ?
		    w->creds[op].bytes : NULL, op != SIM_NONE ?
		    w->creds[op].len : 0, access, scope, k, SIM_NONE);
	memset(&pr, 0, sizeof(pr));
	pr.record.p = c->bytes;
	pr.record.n = c->len;
	if (op != SIM_NONE) {
		pr.operator_record.p = w->creds[op].bytes;
		pr.operator_record.n = w->creds[op].len;
	}
	sim_strcopy(pr.access, sizeof(pr.access), access);
	sim_strcopy(pr.scope, sizeof(pr.scope), scope != NULL ? scope : "");
	if (proto_present_encode(&pr, w->buf2, PROTO_ENV_BODY_MAX, &len) != 0)
		return MRX_ENOSPC;
	w->tag_next = k;	/* the decision resolves the expectation */
	return sim_send(w, h, v, PROTO_MSG_PRESENT, w->buf2, len);
}

static int
act_decide(struct sim_world *w, size_t i)
{
	const struct sim_event_conf *ev = &w->sc->events[i];
	uint32_t ci = sim_cred_of(w, ev), op = SIM_NONE, hi;
	size_t j, k;
	int rc;

	if (ci == SIM_NONE) {
		sim_fail(w, i, SIM_NONE, "%s holds no credential (not issued "
		    "yet, or its issuance was lost)", ev->cred[0] ? ev->cred :
		    ev->person);
		return 0;
	}
	if (ev->operator_cert) {
		if (ev->target[0] != '\0')
			op = sim_cred_find(w, ev->target);
		else if (w->creds[ci].person != SIM_NONE) {
			hi = w->people[w->creds[ci].person].employer;
			op = w->nodes[hi].opcert;
		}
		if (op == SIM_NONE) {
			sim_fail(w, i, SIM_NONE, "no operator certification to "
			    "present");
			return 0;
		}
	}
	for (j = 0; j < w->nnodes; j++) {
		if (!sim_pattern_match(ev->node, w->nodes[j].conf->id))
			continue;
		k = sim_expect_new(w, i, (uint32_t)j);
		if (ev->act == SIM_ACT_PRESENT) {
			rc = sim_present(w, ci, op, (uint32_t)j, ev->access,
			    ev->scope, k);
		} else if (!w->nodes[j].up) {
			sim_expect_done(w, k, false, "nothing (node down)");
			rc = 0;
		} else {
			rc = sim_ask(w, &w->nodes[j], w->creds[ci].bytes,
			    w->creds[ci].len, op != SIM_NONE ?
			    w->creds[op].bytes : NULL, op != SIM_NONE ?
			    w->creds[op].len : 0, ev->access, ev->scope, k,
			    SIM_NONE);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- moving to another employer ---- */

static int
act_move(struct sim_world *w, size_t i)
{
	const struct sim_event_conf *ev = &w->sc->events[i];
	uint32_t pi = sim_person_find(w, ev->person);
	uint32_t to = sim_node_find(w, ev->groups.member[0]);
	struct sim_person *p = &w->people[pi];
	uint32_t old = p->cred, org = w->nodes[to].parent;
	struct proto_record rec;
	struct sim_pending t;
	struct eng_event e;
	char tb[32];
	size_t k = sim_expect_new(w, i, org);
	int rc;

	p->employer = to;
	if (old == SIM_NONE || w->creds[old].issuer != org) {
		sim_trace(w, "%s %s moves to %s: another organ (%s), a new "
		    "assessment is required", tnow(w, tb, sizeof(tb)),
		    p->label, ev->groups.member[0], w->nodes[org].conf->id);
		sim_expect_request(w, k, false, "refused (another organ: a "
		    "new assessment is required)");
		return 0;
	}
	sim_trace(w, "%s %s moves to %s: same organ, affiliation re-issued",
	    tnow(w, tb, sizeof(tb)), p->label, ev->groups.member[0]);
	if (!w->nodes[org].up) {
		sim_expect_request(w, k, false, "refused (node down)");
		return 0;
	}
	rc = proto_record_decode(w->creds[old].bytes, w->creds[old].len, &rec,
	    NULL);
	if (rc != 0) {
		proto_record_fini(&rec);
		return rc;
	}
	sim_event_init(w, &e, ENG_EV_ISSUE_CLEARANCE);
	snprintf(e.u.clr.sub, sizeof(e.u.clr.sub), "%s", p->sub);
	snprintf(e.u.clr.level, sizeof(e.u.clr.level), "%s",
	    rec.u.clr.level);
	e.u.clr.scopes = rec.u.clr.scopes;
	snprintf(e.u.clr.operator_id, sizeof(e.u.clr.operator_id), "%s",
	    w->nodes[to].conf->id);
	/* the validity stays: re-affiliation, not a new assessment */
	e.u.clr.valid_seconds = rec.u.clr.c.exp - NOW_S(w);
	proto_record_fini(&rec);
	memset(&t, 0, sizeof(t));
	snprintf(t.label, sizeof(t.label), "%s", ev->as[0] != '\0' ? ev->as :
	    p->label);
	t.person = pi;
	t.op_node = SIM_NONE;
	t.expect = k;
	t.node = org;
	rc = sim_node_issue(w, &w->nodes[org], &e, &t);
	if (rc != 0)
		return rc;
	return set_status(w, &w->nodes[org], old, PROTO_STATUS_REVOKED,
	    ev->reason != PROTO_REASON_NONE ? ev->reason :
	    PROTO_REASON_SUPERSEDED, SIZE_MAX);
}

/* ---- key compromise ---- */

static int
act_compromise(struct sim_world *w, size_t i)
{
	const struct sim_event_conf *ev = &w->sc->events[i];
	struct sim_node *is = &w->nodes[sim_node_find(w, ev->node)];
	struct sim_node *r = &w->nodes[is->root];
	struct proto_record rec;
	struct proto_key_revocation *kr = &rec.u.kr;
	struct sim_keyrev *nk;
	uint8_t *buf = w->buf2;
	size_t len;
	char tb[32], fb[PROTO_TIME_STR];
	int rc;

	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_KEY_REVOCATION;
	snprintf(kr->c.iss, sizeof(kr->c.iss), "%s", r->conf->id);
	snprintf(kr->c.sub, sizeof(kr->c.sub), "%s", is->conf->id);
	kr->c.iat = NOW_S(w);
	sim_rng_bytes(&w->rng_fault, kr->c.cti, PROTO_CTI_LEN);
	memcpy(kr->kid, cry_key_kid(is->key), CRY_KID_LEN);
	kr->from = NOW_S(w) + (ev->has_from ? ev->from_us / SIM_US_PER_S : 0);
	kr->reason = PROTO_REASON_ISSUER_KEY_COMPROMISED;
	rc = proto_record_sign(&rec, r->key, buf, PROTO_ENV_BODY_MAX, &len,
	    NULL);
	if (rc != 0)
		return rc;
	sim_trace(w, "%s %s declares the key of %s compromised from %s%s",
	    tnow(w, tb, sizeof(tb)), r->conf->id, is->conf->id,
	    proto_time_format(kr->from, fb, sizeof(fb)), r->up ? "" :
	    " (the root is down: not published)");
	if (!r->up)
		return 0;
	nk = realloc(w->keyrevs, (w->nkeyrevs + 1) * sizeof(*nk));
	if (nk == NULL)
		return MRX_ENOMEM;
	w->keyrevs = nk;
	nk = &w->keyrevs[w->nkeyrevs];
	nk->root = r->ix;
	nk->rec.p = malloc(len);
	if (nk->rec.p == NULL)
		return MRX_ENOMEM;
	memcpy(nk->rec.p, buf, len);
	nk->rec.n = len;
	w->nkeyrevs++;
	if (kr->from < is->compromised_from) {
		is->compromised_from = kr->from;
		is->compromise_known_us = w->now_us;
	}
	return sim_node_feed(w, r, nk->rec.p, nk->rec.n, true, SIM_NONE);
}

/* ---- faults ---- */

static int
act_nodes(struct sim_world *w, size_t i)
{
	const struct sim_event_conf *ev = &w->sc->events[i];
	struct sim_node *n;
	char tb[32];
	size_t j;
	int rc;

	for (j = 0; j < w->nnodes; j++) {
		n = &w->nodes[j];
		if (!sim_pattern_match(ev->node, n->conf->id))
			continue;
		if (ev->act == SIM_ACT_CRASH && n->up) {
			sim_node_crash(w, n);
			sim_trace(w, "%s %s crashes", tnow(w, tb, sizeof(tb)),
			    n->conf->id);
		} else if (ev->act == SIM_ACT_RESTART && !n->up) {
			rc = sim_node_start(w, n, NULL);
			if (rc != 0)
				return rc;
			w->st.restarts++;
			sim_trace(w, "%s %s restarts from its store",
			    tnow(w, tb, sizeof(tb)), n->conf->id);
		}
	}
	return 0;
}

static int
act_partition(struct sim_world *w, size_t i)
{
	const struct sim_event_conf *ev = &w->sc->events[i];
	const struct sim_groups *g = &ev->groups;
	char tb[32];
	uint32_t grp;
	size_t j, k;

	for (j = 0; j < w->nnodes; j++) {
		grp = 0;
		for (k = 0; k < g->n; k++)
			if (sim_pattern_match(g->member[k],
			    w->nodes[j].conf->id)) {
				grp = g->group[k];
				break;
			}
		sim_net_set_group(&w->net, (uint32_t)j, grp);
	}
	sim_trace(w, "%s partition (%zu groups named)", tnow(w, tb,
	    sizeof(tb)), g->n > 0 ? (size_t)g->group[g->n - 1] : 0);
	return 0;
}

/* ---- byzantine ---- */

/* The nodes an event's `to` names, or n's subscribers. */
static size_t
targets(struct sim_world *w, const struct sim_event_conf *ev,
    const struct sim_node *n, uint32_t *out)
{
	size_t j, k, m = 0;

	if (ev->groups.n == 0) {
		memcpy(out, n->subs, n->nsubs * sizeof(*out));
		return n->nsubs;
	}
	for (j = 0; j < w->nnodes; j++)
		for (k = 0; k < ev->groups.n; k++)
			if (j != n->ix && sim_pattern_match(
			    ev->groups.member[k], w->nodes[j].conf->id)) {
				out[m++] = (uint32_t)j;
				break;
			}
	return m;
}

/* A status index the issuer never gave out on its list `uri`. */
static uint32_t
unallocated(struct sim_world *w, const struct sim_node *is, const char *uri)
{
	const struct sim_store_list *l = sim_store_list(&is->store, uri);
	uint32_t size = l != NULL ? l->sl.size : w->sc->policy.status_list_size;
	uint32_t idx = (uint32_t)sim_rng_below(&w->rng_fault, size), k;

	for (k = 0; l != NULL && k < size; k++, idx = (idx + 1) % size)
		if (!((l->alloc[idx / 8] >> (idx % 8)) & 1))
			break;
	return idx;
}

static int
forge_fill(struct sim_world *w, const struct sim_event_conf *ev,
    struct proto_record *rec, struct sim_cred *c, const char *iss)
{
	const struct proto_level *lv;
	uint32_t ii = sim_node_find(w, iss), pi;
	int64_t iat = NOW_S(w) + (ev->has_iat ? ev->iat_us / SIM_US_PER_S : 0);
	struct proto_claims *cl;
	struct proto_status_ref *ref;

	if (strcmp(ev->kind, "clearance") == 0) {
		pi = sim_person_find(w, ev->person);
		rec->type = PROTO_REC_CLEARANCE;
		cl = &rec->u.clr.c;
		snprintf(cl->sub, sizeof(cl->sub), "%s", w->people[pi].sub);
		snprintf(rec->u.clr.level, sizeof(rec->u.clr.level), "%s",
		    ev->level);
		rec->u.clr.scopes = ev->scopes;
		snprintf(rec->u.clr.operator_id,
		    sizeof(rec->u.clr.operator_id), "%s", ev->target[0] ?
		    ev->target : w->nodes[w->people[pi].employer].conf->id);
		ref = &rec->u.clr.status;
		lv = proto_level_find(ev->level);
		c->person = pi;
		snprintf(c->level, sizeof(c->level), "%s", ev->level);
	} else {
		rec->type = PROTO_REC_OPERATOR;
		cl = &rec->u.op.c;
		snprintf(cl->sub, sizeof(cl->sub), "%s", ev->target);
		rec->u.op.levels = ev->levels;
		rec->u.op.scopes = ev->scopes;
		ref = &rec->u.op.status;
		lv = proto_level_find(ev->levels.v[0]);
		c->op_node = sim_node_find(w, ev->target);
		sim_strcopy(c->level, sizeof(c->level), ev->levels.v[0]);
	}
	snprintf(cl->iss, sizeof(cl->iss), "%s", iss);
	cl->iat = cl->nbf = iat;
	if (proto_time_add_years(iat, lv != NULL ? lv->default_years : 5,
	    &cl->exp) != 0)
		return MRX_ERANGE;
	cl->has_nbf = cl->has_exp = true;
	sim_rng_bytes(&w->rng_fault, cl->cti, PROTO_CTI_LEN);
	if (ev->uri[0] != '\0')
		snprintf(ref->uri, sizeof(ref->uri), "%s", ev->uri);
	else if (ev->unallocated)
		snprintf(ref->uri, sizeof(ref->uri), "mrx://%s/status/1", iss);
	else	/* a list the issuer never opened: its log has no entry */
		snprintf(ref->uri, sizeof(ref->uri), "mrx://%s/status/%u", iss,
		    ii != SIM_NONE ? (unsigned)w->nodes[ii].store.nlists + 7 :
		    1u);
	ref->idx = ev->unallocated && ii != SIM_NONE ? unallocated(w,
	    &w->nodes[ii], ref->uri) : (uint32_t)sim_rng_below(&w->rng_fault,
	    w->sc->policy.status_list_size);
	c->type = rec->type;
	c->issuer = ii;
	snprintf(c->iss, sizeof(c->iss), "%s", iss);
	memcpy(c->cti, cl->cti, PROTO_CTI_LEN);
	c->ref = *ref;
	c->iat = iat;
	c->exp = cl->exp;
	return 0;
}

static int
act_forge(struct sim_world *w, size_t i)
{
	const struct sim_event_conf *ev = &w->sc->events[i];
	const struct cry_key *key = w->attacker;
	const char *iss;
	struct proto_record rec;
	struct sim_cred c;
	char tb[32];
	size_t len;
	int rc;

	if (ev->key[0] != '\0' && strcmp(ev->key, "attacker") != 0)
		key = w->nodes[sim_node_find(w, ev->key)].key;
	iss = ev->issuer[0] != '\0' ? ev->issuer : ev->key[0] != '\0' ?
	    ev->key : "attacker";
	memset(&rec, 0, sizeof(rec));
	memset(&c, 0, sizeof(c));
	c.person = c.op_node = SIM_NONE;
	rc = forge_fill(w, ev, &rec, &c, iss);
	if (rc != 0)
		return rc;
	rc = proto_record_sign(&rec, key, w->buf2, PROTO_RECORD_MAX, &len,
	    NULL);
	if (rc != 0)
		return rc;
	snprintf(c.label, sizeof(c.label), "%s", ev->as);
	memcpy(c.kid, cry_key_kid(key), CRY_KID_LEN);
	c.forged = true;
	c.status = PROTO_STATUS_VALID;
	if (sim_cred_add(w, &c, w->buf2, len) == SIM_NONE)
		return MRX_ENOMEM;
	w->st.forged++;
	sim_trace(w, "%s forged %s %s: iss %s, signed with the key of %s, "
	    "status %s #%u", tnow(w, tb, sizeof(tb)), ev->kind, ev->as, iss,
	    ev->key[0] ? ev->key : "attacker", c.ref.uri, c.ref.idx);
	return 0;
}

static int
act_replay(struct sim_world *w, size_t i)
{
	const struct sim_event_conf *ev = &w->sc->events[i];
	struct sim_node *b = &w->nodes[sim_node_find(w, ev->node)];
	const struct sim_node *is = &w->nodes[sim_node_find(w, ev->issuer)];
	const struct sim_blob *d;
	const struct sim_archived *a = NULL;
	struct sim_msg *m;
	char uri[PROTO_URI_MAX + 1], tb[32];
	uint32_t *to;
	size_t nto, j;
	int64_t delay[2];
	int copies, c, rc = 0;

	snprintf(uri, sizeof(uri), "%s", ev->uri);
	if (ev->uri[0] == '\0')
		snprintf(uri, sizeof(uri), "mrx://%s/status/1", is->conf->id);
	to = calloc(w->nnodes, sizeof(*to));
	if (to == NULL)
		return MRX_ENOMEM;
	nto = targets(w, ev, b, to);
	w->st.replays++;
	if (strcmp(ev->kind, "envelope") != 0) {
		d = sim_store_delta(&is->store, uri, ev->seq);
		sim_trace(w, "%s %s replays delta %llu of %s in a new envelope "
		    "to %zu nodes%s", tnow(w, tb, sizeof(tb)), b->conf->id,
		    (unsigned long long)ev->seq, uri, nto, d == NULL ?
		    " (no such delta: nothing sent)" : "");
		if (d != NULL && b->up)
			rc = sim_broadcast(w, b, to, nto, d->p, d->n);
		free(to);
		return rc;
	}
	for (j = 0; j < w->narch; j++)
		if (w->arch[j].issuer == is->ix && w->arch[j].seq == ev->seq &&
		    strcmp(w->arch[j].uri, uri) == 0)
			a = &w->arch[j];
	sim_trace(w, "%s %s replays the envelope that carried delta %llu of "
	    "%s to %zu nodes%s", tnow(w, tb, sizeof(tb)), b->conf->id,
	    (unsigned long long)ev->seq, uri, nto, a == NULL ?
	    " (none was sent: nothing replayed)" : "");
	for (j = 0; a != NULL && rc == 0 && j < nto; j++) {
		m = malloc(sizeof(*m) + a->env.n);
		if (m == NULL) {
			rc = MRX_ENOMEM;
			break;
		}
		m->refs = 0;
		m->from = b->ix;
		m->type = PROTO_MSG_FEED_RECORD;
			m->len = a->env.n;
		memcpy(m->bytes, a->env.p, a->env.n);
		copies = sim_net_route(&w->net, b->ix, to[j], sim_net_link(
		    &w->net, b->conf->jur, w->nodes[to[j]].conf->jur), delay);
		for (c = 0; c < copies && rc == 0; c++) {
			m->refs++;
			rc = sim_schedule(w, w->now_us + delay[c],
			    SIM_K_DELIVER, to[j], 0, (uint64_t)(uintptr_t)m);
		}
		if (m->refs == 0)
			free(m);
	}
	free(to);
	return rc;
}

static int
act_equivocate(struct sim_world *w, size_t i)
{
	const struct sim_event_conf *ev = &w->sc->events[i];
	struct sim_node *is = &w->nodes[sim_node_find(w, ev->node)];
	uint32_t ci = sim_cred_of(w, ev);
	const struct sim_listlog *lg;
	struct proto_record rec;
	struct proto_status_delta *d = &rec.u.sd;
	const char *p;
	uint32_t *to, list;
	size_t nto, len;
	char tb[32];
	int rc;

	if (ci == SIM_NONE || w->creds[ci].issuer != is->ix || !is->up) {
		sim_fail(w, i, is->ix, "no credential of this issuer to fork "
		    "(or the issuer is down)");
		return 0;
	}
	p = strrchr(w->creds[ci].ref.uri, '/');
	list = p != NULL ? (uint32_t)strtoul(p + 1, NULL, 10) : 0;
	if (list == 0 || list > ENG_LISTS_MAX)
		return MRX_EINVAL;
	lg = &is->logs[list - 1];
	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_STATUS_DELTA;
	snprintf(d->c.iss, sizeof(d->c.iss), "%s", is->conf->id);
	snprintf(d->c.sub, sizeof(d->c.sub), "%s", w->creds[ci].ref.uri);
	d->c.iat = NOW_S(w);
	sim_rng_bytes(&w->rng_fault, d->c.cti, PROTO_CTI_LEN);
	d->seq = lg->seq + 1;
	if (lg->seq > 0)
		memcpy(d->prev, lg->head, PROTO_HASH_LEN);
	d->changes[0].idx = w->creds[ci].ref.idx;
	d->changes[0].status = PROTO_STATUS_SUSPENDED;
	d->changes[0].reason = PROTO_REASON_SUSPENDED_PENDING_REVIEW;
	d->nchanges = 1;
	rc = proto_record_sign(&rec, is->key, w->buf2, PROTO_RECORD_MAX, &len,
	    NULL);
	if (rc != 0)
		return rc;
	to = calloc(w->nnodes, sizeof(*to));
	if (to == NULL)
		return MRX_ENOMEM;
	nto = targets(w, ev, is, to);
	is->equivocated = true;
	sim_trace(w, "%s %s equivocates: delta %llu of %s suspends %s for %zu "
	    "nodes, and revokes it for the others", tnow(w, tb, sizeof(tb)),
	    is->conf->id, (unsigned long long)d->seq, d->c.sub,
	    w->creds[ci].label[0] ? w->creds[ci].label : "-", nto);
	rc = sim_broadcast(w, is, to, nto, w->buf2, len);
	free(to);
	if (rc != 0)
		return rc;
	return set_status(w, is, ci, PROTO_STATUS_REVOKED,
	    PROTO_REASON_ELIGIBILITY_REVOKED, SIZE_MAX);
}

static int
act_leak(struct sim_world *w, size_t i)
{
	const struct sim_event_conf *ev = &w->sc->events[i];
	struct sim_node *b = &w->nodes[sim_node_find(w, ev->node)];
	const struct sim_person *p = &w->people[sim_person_find(w,
	    ev->person)];
	uint32_t *to;
	size_t nto, j, len;
	char tb[32];
	int rc = 0;

	to = calloc(w->nnodes, sizeof(*to));
	if (to == NULL)
		return MRX_ENOMEM;
	nto = targets(w, ev, b, to);
	w->st.leaks++;
	sim_trace(w, "%s %s sends %s's name in a message to %zu nodes",
	    tnow(w, tb, sizeof(tb)), b->conf->id, p->label, nto);
	/* a refusal whose message is the person's name */
	if (proto_refusal_encode("note", p->name, w->buf2, PROTO_ENV_BODY_MAX,
	    &len) != 0) {
		free(to);
		return MRX_ENOSPC;
	}
	for (j = 0; rc == 0 && j < nto && b->up; j++)
		rc = sim_send(w, b, to[j], PROTO_MSG_REFUSAL, w->buf2, len);
	free(to);
	return rc;
}

static int
act_fetch(struct sim_world *w, size_t i)
{
	const struct sim_event_conf *ev = &w->sc->events[i];
	uint32_t ai = sim_node_find(w, ev->node), ci = sim_cred_of(w, ev), ii;
	uint8_t buf[128];
	size_t k = sim_expect_new(w, i, ai), len;

	if (ci == SIM_NONE) {
		sim_fail(w, i, ai, "no such credential");
		return 0;
	}
	ii = sim_node_find(w, w->creds[ci].iss);
	if (ii == SIM_NONE || ii == ai || !w->nodes[ai].up) {
		sim_fetch_done(w, k, false);
		return 0;
	}
	if (proto_fetch_req_encode(w->creds[ci].cti, buf, sizeof(buf),
	    &len) != 0)
		return MRX_ENOSPC;
	w->tag_next = k;	/* the answer resolves the expectation */
	return sim_send(w, &w->nodes[ai], ii, PROTO_MSG_FETCH_REQUEST, buf,
	    len);
}

static int
act_converged(struct sim_world *w, size_t i)
{
	size_t k = sim_expect_new(w, i, SIM_NONE);
	char why[256], got[300], tb[32];
	bool ok = sim_check_converged(w, why, sizeof(why));

	sim_trace(w, "%s converged: %s", tnow(w, tb, sizeof(tb)),
	    ok ? "yes" : why);
	snprintf(got, sizeof(got), "not converged: %s", why);
	if (k != SIZE_MAX && !ok) {
		w->expects[k].done = true;
		sim_fail(w, i, SIM_NONE, "expected every node to hold every "
		    "issuer's status, %s", got);
	} else if (k != SIZE_MAX) {
		w->expects[k].done = w->expects[k].ok = true;
	}
	return 0;
}

/* network with between: replace the rule for that pair, or add one. */
static int
net_rule(struct sim_world *w, const struct sim_event_conf *ev)
{
	struct sim_link_rule *r;
	char tb[32];
	size_t k;

	sim_trace(w, "%s network between %s and %s: latency %lldus loss "
	    "%uppm", tnow(w, tb, sizeof(tb)), ev->between[0], ev->between[1],
	    (long long)ev->link.latency_us, ev->link.loss_ppm);
	for (k = 0; k < w->net.nrules; k++) {
		r = &w->net.rules[k];
		if ((strncmp(r->a, ev->between[0], SIM_JUR_MAX) == 0 &&
		    strncmp(r->b, ev->between[1], SIM_JUR_MAX) == 0) ||
		    (strncmp(r->a, ev->between[1], SIM_JUR_MAX) == 0 &&
		    strncmp(r->b, ev->between[0], SIM_JUR_MAX) == 0)) {
			r->link = ev->link;
			return 0;
		}
	}
	return sim_net_add_rule(&w->net, ev->between[0], ev->between[1],
	    &ev->link);
}

int
sim_action_run(struct sim_world *w, size_t i)
{
	const struct sim_event_conf *ev = &w->sc->events[i];
	char tb[32];

	switch (ev->act) {
	case SIM_ACT_ISSUE:
		return act_issue(w, i);
	case SIM_ACT_ISSUE_OPERATOR:
		return act_issue_operator(w, i);
	case SIM_ACT_PRESENT:
	case SIM_ACT_VERIFY:
		return act_decide(w, i);
	case SIM_ACT_SUSPEND:
	case SIM_ACT_REVOKE:
	case SIM_ACT_REINSTATE:
		return act_status(w, i);
	case SIM_ACT_MOVE:
		return act_move(w, i);
	case SIM_ACT_COMPROMISE:
		return act_compromise(w, i);
	case SIM_ACT_CRASH:
	case SIM_ACT_RESTART:
		return act_nodes(w, i);
	case SIM_ACT_PARTITION:
		return act_partition(w, i);
	case SIM_ACT_HEAL:
		sim_net_heal(&w->net);
		sim_trace(w, "%s heal", tnow(w, tb, sizeof(tb)));
		return 0;
	case SIM_ACT_FORGE:
		return act_forge(w, i);
	case SIM_ACT_REPLAY:
		return act_replay(w, i);
	case SIM_ACT_EQUIVOCATE:
		return act_equivocate(w, i);
	case SIM_ACT_LEAK:
		return act_leak(w, i);
	case SIM_ACT_FETCH:
		return act_fetch(w, i);
	case SIM_ACT_CONVERGED:
		return act_converged(w, i);
	case SIM_ACT_NETWORK:
		if (ev->has_between)
			return net_rule(w, ev);
		w->net.dflt = ev->link;
		sim_trace(w, "%s network: latency %lldus jitter %lldus loss "
		    "%uppm", tnow(w, tb, sizeof(tb)),
		    (long long)ev->link.latency_us,
		    (long long)ev->link.jitter_us, ev->link.loss_ppm);
		return 0;
	case SIM_ACT_COUNT:
		break;
	}
	return MRX_EINVAL;
}
