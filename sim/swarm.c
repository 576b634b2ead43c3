/*
 * swarm.c - a random federation and fault schedule drawn from a seed
 * (mrx-sim --swarm --seed N), in the manner of FoundationDB's and
 * TigerBeetle's simulators: a safety phase with faults, then a liveness
 * phase that heals everything and must converge within a bound.
 *
 * Everything is drawn from the seed's "swarm" stream: 2 to 4 countries
 * with one issuer and 2 to 4 operators each, agreements between every two
 * roots (some dropped), a network with latency, jitter, loss, duplication
 * and reordering, 8 to 24 people, and 40 to 100 events over 60 to 120
 * simulated seconds: issuances, presentations at local and foreign
 * operators, suspensions, reinstatements and revocations, moves, crashes
 * and restarts, partitions and heals, and byzantine acts (forged records
 * with unknown, compromised or out-of-scope keys, replays of old deltas
 * and envelopes, an issuer that equivocates, a compromised key). Events
 * expect nothing: the invariants (check.c) judge, after every step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "level.h"
#include "sim.h"

#define S(x) ((int64_t)(x) * SIM_US_PER_S)

struct draw {
	struct sim_scenario *sc;
	struct sim_rng r;
	int64_t faults_us;
	size_t nforged;
};

static uint64_t
below(struct draw *d, uint64_t n)
{
	return sim_rng_below(&d->r, n);
}

static struct sim_event_conf *
event(struct draw *d, enum sim_act act, int64_t at)
{
	struct sim_event_conf *ev;

	if (d->sc->nevents >= SIM_EVENTS_MAX ||
	    sim_scenario_reserve(d->sc, 0, 0, d->sc->nevents + 1, NULL) != 0)
		return NULL;
	ev = &d->sc->events[d->sc->nevents];
	memset(ev, 0, sizeof(*ev));
	ev->act = act;
	ev->line = (int)d->sc->nevents + 1;
	ev->index = d->sc->nevents++;
	ev->at.us = at;
	ev->link = d->sc->link;
	return ev;
}

static const struct sim_node_conf *
pick_role(struct draw *d, enum eng_role role)
{
	const struct sim_scenario *sc = d->sc;
	size_t i, n = 0, k;

	for (i = 0; i < sc->nnodes; i++)
		n += sc->nodes[i].role == role;
	k = (size_t)below(d, n);
	for (i = 0; i < sc->nnodes; i++)
		if (sc->nodes[i].role == role && k-- == 0)
			return &sc->nodes[i];
	return NULL;
}

static const struct sim_person_conf *
pick_person(struct draw *d)
{
	return &d->sc->people[below(d, d->sc->npeople)];
}

/* The issuer of a person's country (its employer's parent). */
static const struct sim_node_conf *
issuer_of(struct draw *d, const struct sim_person_conf *p)
{
	size_t e = sim_scenario_node(d->sc, p->employer);

	return &d->sc->nodes[sim_scenario_node(d->sc, d->sc->nodes[e].parent)];
}

static void
set_str(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s);
}

static void
draw_network(struct draw *d)
{
	struct sim_link *l = &d->sc->link;

	l->latency_us = 5000 + (int64_t)below(d, 75000);
	l->jitter_us = (int64_t)below(d, (uint64_t)l->latency_us / 2 + 1);
	l->loss_ppm = (uint32_t)below(d, 30001);
	l->dup_ppm = (uint32_t)below(d, 20001);
	l->reorder_ppm = (uint32_t)below(d, 50001);
	l->reorder_us = 200000;
}

static int
draw_federation(struct draw *d, struct mrx_diag *diag)
{
	struct sim_scenario *sc = d->sc;
	size_t i, keep = 0;
	int rc;

	sc->fed.on = true;
	sc->fed.countries = 2 + (uint32_t)below(d, 3);
	sc->fed.operators = sc->fed.countries * (2 + (uint32_t)below(d, 3));
	sc->fed.issuers = 1;
	sc->fed.mesh = true;
	sc->fed.certify = true;
	rc = sim_federation_generate(sc, diag);
	if (rc != 0)
		return rc;
	/* some agreements are not concluded: their rows decide
	 * no-equivalence */
	for (i = 0; i < sc->nagreements; i++)
		if (below(d, 4) != 0)
			sc->agreements[keep++] = sc->agreements[i];
	sc->nagreements = keep;
	for (i = 0; i < sc->nagreements; i++) {
		sc->agreements[i].nbf = sc->start - 86400;
		sc->agreements[i].exp = sc->start + 20 * 365 * 86400LL;
		sc->agreements[i].max_status_age_s = below(d, 3) == 0 ?
		    5 + (int64_t)below(d, 10) : 0;
	}
	return 0;
}

static void
draw_people(struct draw *d)
{
	struct sim_scenario *sc = d->sc;
	const struct sim_node_conf *op;
	size_t i, n = 8 + (size_t)below(d, 17);

	for (i = 0; i < n; i++) {
		struct sim_person_conf *p = &sc->people[i];

		memset(p, 0, sizeof(*p));
		snprintf(p->label, sizeof(p->label), "s%zu", i + 1);
		op = pick_role(d, ENG_ROLE_OPERATOR);
		set_str(p->employer, sizeof(p->employer), op->id);
		p->line = (int)i + 1;
	}
	sc->npeople = n;
}

/* A level of the person's issuer. */
static const char *
level_of(struct draw *d, const struct sim_person_conf *p)
{
	const struct sim_node_conf *is = issuer_of(d, p);

	return is->levels.v[below(d, is->levels.n)];
}

/* An access a verifier of any country may ask: a level of its issuer. */
static void
access_at(struct draw *d, const struct sim_node_conf *v, char *out)
{
	const struct sim_node_conf *is = &d->sc->nodes[sim_scenario_node(
	    d->sc, v->parent)];

	set_str(out, PROTO_LEVEL_MAX + 1, is->levels.v[below(d,
	    is->levels.n)]);
}

static void
draw_present(struct draw *d, int64_t at)
{
	const struct sim_person_conf *p = pick_person(d);
	const struct sim_node_conf *v = pick_role(d, ENG_ROLE_OPERATOR);
	struct sim_event_conf *ev = event(d, below(d, 4) == 0 ?
	    SIM_ACT_VERIFY : SIM_ACT_PRESENT, at);

	if (ev == NULL)
		return;
	set_str(ev->node, sizeof(ev->node), v->id);
	if (d->nforged > 0 && below(d, 5) == 0)
		snprintf(ev->cred, sizeof(ev->cred), "forged%zu",
		    (size_t)below(d, d->nforged) + 1);
	else
		set_str(ev->person, sizeof(ev->person), p->label);
	access_at(d, v, ev->access);
	ev->operator_cert = below(d, 2) == 0;
}

static void
draw_forge(struct draw *d, int64_t at)
{
	const struct sim_person_conf *p = pick_person(d);
	const struct sim_node_conf *is = issuer_of(d, p);
	struct sim_event_conf *ev = event(d, SIM_ACT_FORGE, at);
	uint64_t how = below(d, 4);

	if (ev == NULL)
		return;
	set_str(ev->kind, sizeof(ev->kind), "clearance");
	set_str(ev->person, sizeof(ev->person), p->label);
	snprintf(ev->as, sizeof(ev->as), "forged%zu", ++d->nforged);
	if (how == 0) {		/* a key nobody delegated */
		set_str(ev->key, sizeof(ev->key), "attacker");
		set_str(ev->issuer, sizeof(ev->issuer), is->id);
		set_str(ev->level, sizeof(ev->level), level_of(d, p));
	} else if (how == 1) {	/* the genuine key, a level beyond it */
		set_str(ev->key, sizeof(ev->key), is->id);
		set_str(ev->level, sizeof(ev->level), strncmp(is->id, "us",
		    2) == 0 ? "UK:DV" : "US:TOP-SECRET");
	} else {		/* the genuine key (stolen), back-dated or
				 * on an index never given out */
		set_str(ev->key, sizeof(ev->key), is->id);
		set_str(ev->level, sizeof(ev->level), level_of(d, p));
		ev->has_iat = true;
		ev->iat_us = -S(below(d, 3600));
		ev->unallocated = how == 3;
	}
}

static void
draw_fault_pair(struct draw *d, enum sim_act a, enum sim_act b, int64_t at)
{
	const struct sim_node_conf *n = below(d, 3) == 0 ?
	    pick_role(d, ENG_ROLE_ISSUER) : pick_role(d, ENG_ROLE_OPERATOR);
	struct sim_event_conf *ev = event(d, a, at);
	int64_t back = at + S(2 + below(d, 12));

	if (ev == NULL)
		return;
	if (a == SIM_ACT_CRASH) {
		set_str(ev->node, sizeof(ev->node), n->id);
	} else {
		set_str(ev->groups.member[0], PROTO_ID_MAX + 1, n->id);
		ev->groups.group[0] = 1;
		ev->groups.n = 1;
	}
	if (back >= d->faults_us)
		return;	/* the liveness phase heals and restarts */
	ev = event(d, b, back);
	if (ev != NULL && b == SIM_ACT_RESTART)
		set_str(ev->node, sizeof(ev->node), n->id);
}

static void
draw_status(struct draw *d, int64_t at)
{
	static const enum sim_act acts[] = { SIM_ACT_SUSPEND, SIM_ACT_REVOKE,
		SIM_ACT_REINSTATE };
	struct sim_event_conf *ev = event(d, acts[below(d, 3)], at);

	if (ev != NULL)
		set_str(ev->person, sizeof(ev->person), pick_person(d)->label);
}

static void
draw_byzantine(struct draw *d, int64_t at)
{
	const struct sim_node_conf *is = pick_role(d, ENG_ROLE_ISSUER);
	struct sim_event_conf *ev;
	uint64_t what = below(d, 6);

	if (what <= 2) {
		ev = event(d, SIM_ACT_REPLAY, at);
		if (ev == NULL)
			return;
		set_str(ev->node, sizeof(ev->node), is->parent);
		set_str(ev->issuer, sizeof(ev->issuer), is->id);
		ev->seq = 1 + below(d, 3);
		set_str(ev->kind, sizeof(ev->kind), what == 0 ? "envelope" :
		    "record");
	} else if (what <= 4) {
		const struct sim_person_conf *p = pick_person(d);

		ev = event(d, SIM_ACT_EQUIVOCATE, at);
		if (ev == NULL)
			return;
		is = issuer_of(d, p);
		set_str(ev->node, sizeof(ev->node), is->id);
		set_str(ev->person, sizeof(ev->person), p->label);
		snprintf(ev->groups.member[0], PROTO_ID_MAX + 1, "%.*s.op*",
		    (int)(strchr(is->id, '.') - is->id), is->id);
		ev->groups.n = 1;
	} else {
		ev = event(d, SIM_ACT_COMPROMISE, at);
		if (ev != NULL)
			set_str(ev->node, sizeof(ev->node), is->id);
	}
}

static void
draw_move(struct draw *d, int64_t at)
{
	const struct sim_person_conf *p = pick_person(d);
	const struct sim_node_conf *to = pick_role(d, ENG_ROLE_OPERATOR);
	struct sim_event_conf *ev = event(d, SIM_ACT_MOVE, at);

	if (ev == NULL)
		return;
	set_str(ev->person, sizeof(ev->person), p->label);
	set_str(ev->groups.member[0], PROTO_ID_MAX + 1, to->id);
	ev->groups.n = 1;
}

static int
cmp_events(const void *a, const void *b)
{
	const struct sim_event_conf *x = a, *y = b;

	if (x->at.us != y->at.us)
		return x->at.us < y->at.us ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void
draw_events(struct draw *d)
{
	struct sim_scenario *sc = d->sc;
	size_t i, n = 40 + (size_t)below(d, 61);
	int64_t at;
	uint64_t k;

	for (i = 0; i < sc->npeople; i++) {
		struct sim_event_conf *ev = event(d, SIM_ACT_ISSUE,
		    S(1) + (int64_t)i * 100000);
		const struct sim_person_conf *p = &sc->people[i];

		set_str(ev->node, sizeof(ev->node), issuer_of(d, p)->id);
		set_str(ev->person, sizeof(ev->person), p->label);
		set_str(ev->level, sizeof(ev->level), level_of(d, p));
	}
	for (i = 0; i < n; i++) {
		at = S(5) + (int64_t)below(d, (uint64_t)(d->faults_us - S(5)));
		k = below(d, 100);
		if (k < 40)
			draw_present(d, at);
		else if (k < 58)
			draw_status(d, at);
		else if (k < 64)
			draw_fault_pair(d, SIM_ACT_CRASH, SIM_ACT_RESTART, at);
		else if (k < 70)
			draw_fault_pair(d, SIM_ACT_PARTITION, SIM_ACT_HEAL, at);
		else if (k < 80)
			draw_forge(d, at);
		else if (k < 92)
			draw_byzantine(d, at);
		else
			draw_move(d, at);
	}
	/* forged credentials must be made before they are presented: sort
	 * by time, then fix presentations of ones not made yet */
	qsort(sc->events, sc->nevents, sizeof(*sc->events), cmp_events);
	for (i = 0; i < sc->nevents; i++) {
		struct sim_event_conf *ev = &sc->events[i];
		size_t j;
		bool made = false;

		ev->index = i;
		if (ev->cred[0] == '\0')
			continue;
		for (j = 0; j < i; j++)
			made |= strcmp(sc->events[j].as, ev->cred) == 0;
		if (!made) {
			set_str(ev->person, sizeof(ev->person), "s1");
			ev->cred[0] = '\0';
		}
	}
}

int
sim_swarm_scenario(uint64_t seed, struct sim_scenario *sc,
    struct sim_options *opt, struct mrx_diag *diag)
{
	struct draw d;
	int rc;

	sim_scenario_defaults(sc);
	snprintf(sc->file, sizeof(sc->file), "swarm:%llu",
	    (unsigned long long)seed);
	snprintf(sc->name, sizeof(sc->name), "swarm-%llu",
	    (unsigned long long)seed);
	sc->seed = seed;
	if (sim_scenario_reserve(sc, 16, 64, 1024, NULL) != 0)
		return MRX_ENOMEM;
	memset(&d, 0, sizeof(d));
	d.sc = sc;
	sim_rng_init(&d.r, seed, "swarm");
	d.faults_us = S(60 + below(&d, 61));
	sc->policy.max_status_age_s = 10 + (int64_t)below(&d, 21);
	sc->policy.status_list_size = 256;
	sc->policy.sync_us = (int64_t)below(&d, 3001);
	sc->policy.require_operator_cert = below(&d, 4) == 0;
	draw_network(&d);
	rc = draw_federation(&d, diag);
	if (rc != 0)
		return rc;
	draw_people(&d);
	draw_events(&d);
	opt->swarm = true;
	opt->check_engines = true;
	opt->swarm_faults_until_us = d.faults_us;
	opt->liveness_bound_us = S(20);
	sc->duration_us = d.faults_us + opt->liveness_bound_us + S(1);
	sc->duration_set = true;
	return 0;
}
