/*
 * workload.c - a generated workload: clearances issued to generated
 * people, revocations and suspensions, and presentations at local and
 * foreign operators, spread over a time window by the seed.
 *
 * Every step is a heap event whose time is drawn when the run starts, from
 * the workload's own stream; what a step picks (which clearance to revoke,
 * which operator verifies) is drawn when it runs, from the same stream, so
 * it depends only on the seed and what ran before. A foreign verifier asks
 * for the local level an agreement row maps the clearance's level onto;
 * with no row (two countries of one scheme) it asks for the level itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "level.h"
#include "sim.h"

enum work_kind {
	WORK_ISSUE = 1,
	WORK_REVOKE,
	WORK_SUSPEND,
	WORK_VERIFY,
};

static int
push_n(struct sim_world *w, enum work_kind k, uint64_t n, int64_t from,
    int64_t span, bool indexed)
{
	uint64_t i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = sim_schedule(w, from + (int64_t)sim_rng_below(&w->rng_work,
		    (uint64_t)(span > 0 ? span : 1)), SIM_K_WORK, SIM_NONE,
		    (uint16_t)k, indexed ? i : 0);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
index_operators(struct sim_world *w)
{
	uint32_t *v;
	size_t i, r;

	w->ops_by_root = calloc(w->nnodes, sizeof(*w->ops_by_root));
	w->nops_by_root = calloc(w->nnodes, sizeof(*w->nops_by_root));
	if (w->ops_by_root == NULL || w->nops_by_root == NULL)
		return MRX_ENOMEM;
	for (i = 0; i < w->nnodes; i++) {
		if (w->nodes[i].conf->role != ENG_ROLE_OPERATOR)
			continue;
		r = w->nodes[i].root;
		v = realloc(w->ops_by_root[r], (w->nops_by_root[r] + 1) *
		    sizeof(*v));
		if (v == NULL)
			return MRX_ENOMEM;
		v[w->nops_by_root[r]++] = (uint32_t)i;
		w->ops_by_root[r] = v;
	}
	return 0;
}

int
sim_work_schedule(struct sim_world *w)
{
	const struct sim_workload *wl = &w->sc->work;
	int64_t s = wl->start_us, d = wl->duration_us;
	int rc;

	rc = index_operators(w);
	if (rc == 0)
		rc = push_n(w, WORK_ISSUE, wl->clearances, s, d * 8 / 10, true);
	if (rc == 0)
		rc = push_n(w, WORK_REVOKE, wl->revocations, s + d / 10,
		    d * 9 / 10, false);
	if (rc == 0)
		rc = push_n(w, WORK_SUSPEND, wl->suspensions, s + d / 10,
		    d * 9 / 10, false);
	if (rc == 0)
		rc = push_n(w, WORK_VERIFY, wl->verifications, s + d / 20,
		    d * 19 / 20, false);
	return rc;
}

static int
work_issue(struct sim_world *w, uint64_t k)
{
	size_t pi = w->sc->npeople + (size_t)k;
	const struct sim_person *p;
	struct sim_node *is;
	struct sim_pending t;
	struct eng_event e;
	const struct proto_strs *lv;

	if (pi >= w->npeople)
		return 0;
	p = &w->people[pi];
	is = &w->nodes[w->nodes[p->employer].parent];
	if (!is->up || is->conf->role != ENG_ROLE_ISSUER)
		return 0;
	lv = &is->conf->levels;
	sim_event_init(w, &e, ENG_EV_ISSUE_CLEARANCE);
	snprintf(e.u.clr.sub, sizeof(e.u.clr.sub), "%s", p->sub);
	snprintf(e.u.clr.level, sizeof(e.u.clr.level), "%s",
	    lv->v[sim_rng_below(&w->rng_work, lv->n)]);
	snprintf(e.u.clr.operator_id, sizeof(e.u.clr.operator_id), "%s",
	    w->nodes[p->employer].conf->id);
	memset(&t, 0, sizeof(t));
	t.person = (uint32_t)pi;
	t.op_node = SIM_NONE;
	t.expect = SIZE_MAX;
	t.node = is->ix;
	t.workload = true;
	return sim_node_issue(w, is, &e, &t);
}

/* A clearance issued by the workload and still valid, or SIM_NONE. */
static uint32_t
pick_valid(struct sim_world *w)
{
	uint32_t c;
	int tries;

	for (tries = 0; tries < 8 && w->nissued > 0; tries++) {
		c = w->issued[sim_rng_below(&w->rng_work, w->nissued)];
		if (w->creds[c].status == PROTO_STATUS_VALID)
			return c;
	}
	return SIM_NONE;
}

static int
work_status(struct sim_world *w, enum proto_status st)
{
	uint32_t ci = pick_valid(w);
	struct sim_node *is;
	struct eng_event e;

	if (ci == SIM_NONE)
		return 0;
	is = &w->nodes[w->creds[ci].issuer];
	if (!is->up)
		return 0;
	sim_event_init(w, &e, ENG_EV_SET_STATUS);
	e.u.st.rec_type = PROTO_REC_CLEARANCE;
	memcpy(e.u.st.cti, w->creds[ci].cti, PROTO_CTI_LEN);
	e.u.st.ref = w->creds[ci].ref;
	e.u.st.status = st;
	e.u.st.reason = st == PROTO_STATUS_REVOKED ?
	    PROTO_REASON_ELIGIBILITY_REVOKED :
	    PROTO_REASON_SUSPENDED_PENDING_REVIEW;
	return sim_node_handle(w, is, &e);
}

/* The local level verifier root `vr` asks for a clearance at `level` of
 * root `cr`: an agreement row's `to`, or the level itself. */
static const char *
access_for(const struct sim_world *w, uint32_t vr, uint32_t cr,
    const char *level)
{
	const struct sim_agreement_conf *a;
	uint32_t p0, p1;
	size_t i, j;

	if (vr == cr)
		return level;
	for (i = 0; i < w->sc->nagreements; i++) {
		a = &w->sc->agreements[i];
		p0 = sim_node_find(w, a->parties[0]);
		p1 = sim_node_find(w, a->parties[1]);
		if (!((p0 == vr && p1 == cr) || (p0 == cr && p1 == vr)))
			continue;
		for (j = 0; j < a->nrows; j++)
			if (strcmp(a->rows[j].from, level) == 0 &&
			    strcmp(proto_level_find(a->rows[j].to)->scheme,
			    proto_level_find(level)->scheme) != 0 &&
			    a->rows[j].scopes.n == 0) {
				/* a row whose `to` is the verifier's */
				const char *to = a->rows[j].to;
				size_t k;
				const struct sim_node_conf *vi = NULL;

				for (k = 0; k < w->nnodes; k++)
					if (w->nodes[k].root == vr &&
					    w->nodes[k].conf->role ==
					    ENG_ROLE_ISSUER)
						vi = w->nodes[k].conf;
				for (k = 0; vi != NULL && k < vi->levels.n; k++)
					if (strcmp(vi->levels.v[k], to) == 0)
						return to;
			}
	}
	return level;
}

static int
work_verify(struct sim_world *w)
{
	uint32_t ci, cr, vr, v, hr;
	const struct sim_cred *c;
	size_t n;

	if (w->nissued == 0)
		return 0;
	ci = w->issued[sim_rng_below(&w->rng_work, w->nissued)];
	c = &w->creds[ci];
	cr = w->nodes[c->issuer].root;
	hr = w->nodes[w->people[c->person].employer].root;
	vr = hr;
	if (sim_rng_chance(&w->rng_work, w->sc->work.foreign_ppm)) {
		/* a root other than the holder's, one that trusts the
		 * issuer's root */
		uint32_t r = (uint32_t)sim_rng_below(&w->rng_work, w->nnodes);

		vr = w->nodes[r].root;
		if (!sim_trusts_root(&w->nodes[vr], cr))
			vr = hr;
	}
	n = w->nops_by_root[vr];
	if (n == 0)
		return 0;
	v = w->ops_by_root[vr][sim_rng_below(&w->rng_work, n)];
	return sim_present(w, ci, SIM_NONE, v, access_for(w, vr, cr, c->level),
	    NULL, SIZE_MAX);
}

int
sim_work_run(struct sim_world *w, uint16_t kind, uint64_t arg)
{
	switch ((enum work_kind)kind) {
	case WORK_ISSUE:
		return work_issue(w, arg);
	case WORK_REVOKE:
		return work_status(w, PROTO_STATUS_REVOKED);
	case WORK_SUSPEND:
		return work_status(w, PROTO_STATUS_SUSPENDED);
	case WORK_VERIFY:
		return work_verify(w);
	}
	return MRX_EINVAL;
}
