/*
 * run.c - the simulation loop: pops events off the virtual clock in
 * (time, sequence) order and runs them; carries out the scenario's timed
 * events and the generated workload; matches outcomes to expectations.
 *
 * Invariants: the clock never goes back (an event is never scheduled
 * before now); every expectation is resolved exactly once (the first
 * outcome wins: a duplicated presentation decides twice, and the second
 * decision is counted but not matched); the run stops at the scenario's
 * end or at the first invariant violation.
 *
 * Fast-forward: when nothing is in flight (no message, commit or relay
 * pending) and the next scheduled event other than a periodic tick is more
 * than fast_forward away, the clock jumps to 5 s before it, moving the
 * periodic ticks along; this lets a scenario check an expiry ten years on
 * without simulating ten years of checkpoints. The jump is traced.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "level.h"
#include "ptime.h"
#include "sim.h"

#define NOW_S(w) ((w)->sc->start + (w)->now_us / SIM_US_PER_S)
#define FF_WARMUP_US (5 * SIM_US_PER_S)

const char *
sim_fmt_time(int64_t us, char *buf, size_t cap)
{
	snprintf(buf, cap, "%lld.%06lld", (long long)(us / SIM_US_PER_S),
	    (long long)(us % SIM_US_PER_S));
	return buf;
}

int
sim_schedule(struct sim_world *w, int64_t t_us, enum sim_kind kind,
    uint32_t node, uint16_t aux, uint64_t arg)
{
	int rc;

	if (t_us < w->now_us)
		t_us = w->now_us;
	rc = sim_heap_push(&w->heap, t_us, (uint16_t)kind, node, aux, arg);
	if (rc == 0 && (kind == SIM_K_DELIVER || kind == SIM_K_COMMIT ||
	    kind == SIM_K_FLUSH))
		w->busy++;
	return rc;
}

/* ---- expectations ---- */

static const char *
ev_node(const struct sim_world *w, const struct sim_event_conf *ev,
    uint32_t node)
{
	(void)ev;
	return node != SIM_NONE ? w->nodes[node].conf->id : "-";
}

/* "present alice/JP-CESI:CONFIDENTIAL at jp.op.prime" and the like. */
static void
describe(const struct sim_world *w, const struct sim_event_conf *ev,
    uint32_t node, char *buf, size_t cap)
{
	const char *who = ev->cred[0] != '\0' ? ev->cred : ev->person;

	switch (ev->act) {
	case SIM_ACT_PRESENT:
	case SIM_ACT_VERIFY:
		snprintf(buf, cap, "%s %s for %s%s%s at %s", sim_act_name(
		    ev->act), who, ev->access, ev->scope[0] ? " scope " : "",
		    ev->scope, ev_node(w, ev, node));
		break;
	case SIM_ACT_ISSUE:
		snprintf(buf, cap, "issue %s to %s at %s", ev->level, who,
		    ev_node(w, ev, node));
		break;
	default:
		snprintf(buf, cap, "%s%s%s%s%s", sim_act_name(ev->act),
		    who[0] != '\0' || ev->target[0] != '\0' ? " " : "",
		    who[0] != '\0' ? who : ev->target,
		    node != SIM_NONE ? " at " : "", node != SIM_NONE ?
		    w->nodes[node].conf->id : "");
		break;
	}
}

void
sim_fail(struct sim_world *w, size_t event, uint32_t node, const char *fmt,
    ...)
{
	const struct sim_event_conf *ev = &w->sc->events[event];
	char what[256], desc[512], tb[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	describe(w, ev, node, desc, sizeof(desc));
	if (w->opt.swarm) {
		/* a drawn event that cannot apply: the swarm judges by
		 * invariants only */
		sim_trace(w, "skip event %zu at %s: %s: %s", event + 1,
		    sim_fmt_time(w->now_us, tb, sizeof(tb)), desc, what);
		return;
	}
	w->failed++;
	sim_trace(w, "FAIL event %zu (%s:%d) at %s: %s: %s", event + 1,
	    w->sc->file, ev->line, sim_fmt_time(w->now_us, tb, sizeof(tb)),
	    desc, what);
	if (w->opt.quiet || w->opt.trace_stdout)
		return;
	printf("FAIL event %zu (%s:%d) at %ss: %s: %s\n", event + 1,
	    w->sc->file, ev->line, tb, desc, what);
}

size_t
sim_expect_new(struct sim_world *w, size_t event, uint32_t node)
{
	struct sim_expectation *ne;
	size_t cap;

	if (w->sc->events[event].expect == SIM_EXPECT_NONE &&
	    w->sc->events[event].act != SIM_ACT_CONVERGED)
		return SIZE_MAX;
	if (w->nexpects >= SIM_EXPECTS_MAX)
		return SIZE_MAX;
	if (w->nexpects >= 64 && (w->nexpects & (w->nexpects - 1)) == 0) {
		cap = 2 * w->nexpects;
		ne = realloc(w->expects, cap * sizeof(*ne));
		if (ne == NULL)
			return SIZE_MAX;
		w->expects = ne;
	}
	ne = &w->expects[w->nexpects];
	memset(ne, 0, sizeof(*ne));
	ne->event = event;
	ne->node = node;
	return w->nexpects++;
}

void
sim_expect_done(struct sim_world *w, size_t k, bool ok, const char *got)
{
	struct sim_expectation *x;
	const struct sim_event_conf *ev;

	if (k == SIZE_MAX || k >= w->nexpects || w->expects[k].done)
		return;
	x = &w->expects[k];
	x->done = true;
	x->ok = ok;
	if (ok)
		return;
	ev = &w->sc->events[x->event];
	if (ev->code[0] != '\0')
		sim_fail(w, x->event, x->node, "expected %s with %s, got %s",
		    sim_expect_name(ev->expect), ev->code, got);
	else
		sim_fail(w, x->event, x->node, "expected %s, got %s",
		    sim_expect_name(ev->expect), got);
}

/* A request outcome: ok or refused. */
void
sim_expect_request(struct sim_world *w, size_t k, bool done, const char *got)
{
	enum sim_expect e;

	if (k == SIZE_MAX || k >= w->nexpects)
		return;
	e = w->sc->events[w->expects[k].event].expect;
	sim_expect_done(w, k, done ? e == SIM_EXPECT_OK :
	    e == SIM_EXPECT_REFUSED, got);
}

static const enum sim_expect verdict_expect[3] = {
	SIM_EXPECT_ACCEPT, SIM_EXPECT_REJECT, SIM_EXPECT_INDETERMINATE,
};

static bool
has_code(const struct proto_decision *d, const char *code)
{
	size_t i;

	for (i = 0; i < d->nreasons; i++)
		if (strcmp(d->reasons[i].code, code) == 0)
			return true;
	return false;
}

static void
codes(const struct proto_decision *d, char *buf, size_t cap)
{
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < d->nreasons && n + 2 < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? "," : "",
		    d->reasons[i].code);
}

void
sim_decided(struct sim_world *w, struct sim_node *n, uint32_t c, uint32_t op,
    const char *access, const char *scope, const struct proto_decision *d,
    size_t k)
{
	const struct sim_event_conf *ev;
	struct sim_decision_log *nl;
	char cs[200], got[256], tb[32];
	size_t cap;

	w->st.decisions[d->verdict]++;
	n->decisions[d->verdict]++;
	sim_count_decision(w, d);
	if (w->ndlog == w->capdlog) {
		cap = w->capdlog == 0 ? 1024 : 2 * w->capdlog;
		nl = realloc(w->dlog, cap * sizeof(*nl));
		if (nl != NULL) {
			w->dlog = nl;
			w->capdlog = cap;
		}
	}
	if (w->ndlog < w->capdlog) {
		w->dlog[w->ndlog].us = w->now_us;
		w->dlog[w->ndlog++].verdict = (uint8_t)d->verdict;
	}
	codes(d, cs, sizeof(cs));
	sim_trace(w, "%s %s decides %s for %s%s%s: %s (%s)",
	    sim_fmt_time(w->now_us, tb, sizeof(tb)), n->conf->id,
	    c != SIM_NONE && w->creds[c].label[0] != '\0' ?
	    w->creds[c].label : "a credential", access, scope != NULL &&
	    scope[0] != '\0' ? " scope " : "", scope != NULL ? scope : "",
	    proto_verdict_name(d->verdict), cs);
	sim_check_decision(w, n, c, op, access, scope, d);
	if (k == SIZE_MAX || k >= w->nexpects)
		return;
	ev = &w->sc->events[w->expects[k].event];
	snprintf(got, sizeof(got), "%s (%s)", proto_verdict_name(d->verdict),
	    cs);
	sim_expect_done(w, k, verdict_expect[d->verdict] == ev->expect &&
	    (ev->code[0] == '\0' || has_code(d, ev->code)), got);
}

void
sim_fetch_done(struct sim_world *w, size_t k, bool found)
{
	enum sim_expect e;
	char tb[32];

	if (k >= w->nexpects)
		return;
	sim_trace(w, "%s %s fetches event %zu's record from its issuer: %s",
	    sim_fmt_time(w->now_us, tb, sizeof(tb)),
	    w->expects[k].node != SIM_NONE ?
	    w->nodes[w->expects[k].node].conf->id : "-",
	    w->expects[k].event + 1, found ? "found" : "not found");
	e = w->sc->events[w->expects[k].event].expect;
	sim_expect_done(w, k, found ? e == SIM_EXPECT_FOUND :
	    e == SIM_EXPECT_NOT_FOUND, found ? "found" : "not-found");
}

void
sim_lost_pending(struct sim_world *w, uint32_t node)
{
	size_t i = 0;

	while (i < w->npend) {
		if (w->pend[i].node != node) {
			i++;
			continue;
		}
		sim_expect_request(w, w->pend[i].expect, false, "refused (the node "
		    "crashed before the commit that acknowledges it)");
		w->pend[i] = w->pend[--w->npend];
	}
}

/* ---- credentials ---- */

static int schedule_exp_events(struct sim_world *w, uint32_t ci);

int
sim_issued(struct sim_world *w, uint32_t ci, const struct sim_pending *p)
{
	struct sim_cred *c = &w->creds[ci];
	char tb[32], eb[PROTO_TIME_STR];
	uint32_t *ni;
	size_t cap;

	if (c->person != SIM_NONE)
		w->people[c->person].cred = ci;
	if (c->op_node != SIM_NONE)
		w->nodes[c->op_node].opcert = ci;
	if (p->workload) {
		cap = w->nissued + 1;
		if ((cap & (cap - 1)) == 0 || w->issued == NULL) {
			ni = realloc(w->issued, 2 * cap * sizeof(*ni));
			if (ni == NULL)
				return MRX_ENOMEM;
			w->issued = ni;
		}
		w->issued[w->nissued++] = ci;
	} else {
		sim_trace(w, "%s %s issued %s %s %s (%s #%u, expires %s)",
		    sim_fmt_time(w->now_us, tb, sizeof(tb)), c->iss,
		    proto_rec_type_name(c->type), c->label[0] != '\0' ?
		    c->label : "-", c->level, c->ref.uri, c->ref.idx,
		    proto_time_format(c->exp, eb, sizeof(eb)));
	}
	sim_expect_request(w, p->expect, true, "ok (created)");
	return schedule_exp_events(w, ci);
}

uint32_t
sim_cred_of(const struct sim_world *w, const struct sim_event_conf *ev)
{
	uint32_t p;

	if (ev->cred[0] != '\0') {
		uint32_t c = sim_cred_find(w, ev->cred);

		if (c != SIM_NONE)
			return c;
		p = sim_person_find(w, ev->cred);
		return p != SIM_NONE ? w->people[p].cred : SIM_NONE;
	}
	p = sim_person_find(w, ev->person);
	return p != SIM_NONE ? w->people[p].cred : SIM_NONE;
}

/* exp() events wait for the credential they name. */
static int
schedule_exp_events(struct sim_world *w, uint32_t ci)
{
	const struct sim_cred *c = &w->creds[ci];
	const struct sim_event_conf *ev;
	int64_t t;
	size_t i;
	int rc;

	if (c->label[0] == '\0')
		return 0;
	for (i = 0; i < w->sc->nevents; i++) {
		ev = &w->sc->events[i];
		if (ev->at.kind != SIM_TIME_EXP ||
		    strcmp(ev->at.cred, c->label) != 0 || w->dyn_done[i])
			continue;
		w->dyn_done[i] = 1;
		t = (c->exp - w->sc->start) * SIM_US_PER_S + ev->at.us;
		if (t < w->now_us) {
			sim_fail(w, i, SIM_NONE, "exp(%s) puts it in the past",
			    c->label);
			continue;
		}
		if (w->sc->duration_set && t > w->end_us) {
			sim_fail(w, i, SIM_NONE, "exp(%s) puts it after the "
			    "scenario's duration", c->label);
			continue;
		}
		if (!w->sc->duration_set && t + 10 * SIM_US_PER_S > w->end_us)
			w->end_us = t + 10 * SIM_US_PER_S;
		rc = sim_schedule(w, t, SIM_K_SCRIPT, SIM_NONE, 0, i);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- the loop ---- */

static bool
periodic(uint16_t kind)
{
	return kind == SIM_K_TICK || kind == SIM_K_REPUBLISH;
}

static void
fast_forward(struct sim_world *w)
{
	const struct sim_event *top = sim_heap_peek(&w->heap);
	int64_t next = INT64_MAX, target;
	char a[32], b[32];
	size_t i;

	if (w->sc->fast_forward_us <= 0 || w->busy != 0 || top == NULL ||
	    !periodic(top->kind) || top->t_us < w->ff_checked_us)
		return;
	for (i = 0; i < w->heap.n; i++)
		if (!periodic(w->heap.v[i].kind) && w->heap.v[i].t_us < next)
			next = w->heap.v[i].t_us;
	if (next == INT64_MAX || next > w->end_us)
		next = w->end_us;
	/* no jump can help before that event has run */
	w->ff_checked_us = next;
	if (next - top->t_us <= w->sc->fast_forward_us)
		return;
	target = next - FF_WARMUP_US;
	sim_heap_rebase(&w->heap, SIM_K_TICK, target,
	    w->sc->policy.tick_us);
	sim_heap_rebase(&w->heap, SIM_K_REPUBLISH, target,
	    w->sc->policy.republish_us);
	w->st.fast_forwards++;
	sim_trace(w, "%s fast-forward to %s (nothing in flight)",
	    sim_fmt_time(top->t_us, a, sizeof(a)),
	    sim_fmt_time(target, b, sizeof(b)));
}

static int
swarm_phase(struct sim_world *w, uint16_t aux)
{
	char why[256], tb[32];
	size_t i;
	int rc;

	if (aux == 0) {
		sim_net_heal(&w->net);
		w->net.faults = false;
		for (i = 0; i < w->nnodes; i++)
			if (!w->nodes[i].up && (rc = sim_node_start(w,
			    &w->nodes[i], NULL)) != 0)
				return rc;
		snprintf(w->phase, sizeof(w->phase), "liveness");
		sim_trace(w, "%s faults stop: network healed, every node "
		    "up; liveness within %llds", sim_fmt_time(w->now_us, tb,
		    sizeof(tb)), (long long)(w->opt.liveness_bound_us /
		    SIM_US_PER_S));
		return sim_schedule(w, w->now_us + w->opt.liveness_bound_us,
		    SIM_K_PHASE, SIM_NONE, 1, 0);
	}
	if (!sim_check_converged(w, why, sizeof(why)))
		sim_violation(w, "liveness", "%llds after the faults stopped: "
		    "%s", (long long)(w->opt.liveness_bound_us / SIM_US_PER_S),
		    why);
	return 0;
}

static int
republish(struct sim_world *w, struct sim_node *n)
{
	size_t i;
	int rc;

	for (i = 0; n->up && i < w->nkeyrevs; i++)
		if (w->keyrevs[i].root == n->ix && (rc = sim_broadcast(w, n,
		    n->subs, n->nsubs, w->keyrevs[i].rec.p,
		    w->keyrevs[i].rec.n)) != 0)
			return rc;
	return sim_schedule(w, w->now_us + w->sc->policy.republish_us,
	    SIM_K_REPUBLISH, n->ix, 0, 0);
}

static int
step(struct sim_world *w, const struct sim_event *e)
{
	struct sim_node *n = e->node != SIM_NONE ? &w->nodes[e->node] : NULL;
	int rc;

	switch ((enum sim_kind)e->kind) {
	case SIM_K_SCRIPT:
		return sim_action_run(w, (size_t)e->arg);
	case SIM_K_DELIVER:
		rc = sim_deliver(w, (struct sim_msg *)(uintptr_t)e->arg,
		    e->node);
		{
			struct sim_msg *m = (struct sim_msg *)(uintptr_t)e->arg;

			if (--m->refs == 0)
				free(m);
		}
		return rc;
	case SIM_K_TICK:
		rc = sim_node_tick(w, n);
		return rc != 0 ? rc : sim_schedule(w, w->now_us +
		    w->sc->policy.tick_us, SIM_K_TICK, n->ix, 0, 0);
	case SIM_K_COMMIT:
		return sim_node_commit(w, n);
	case SIM_K_FLUSH:
		return sim_node_flush(w, n);
	case SIM_K_WORK:
		return sim_work_run(w, e->aux, e->arg);
	case SIM_K_SAMPLE:
		sim_sample(w);
		return sim_schedule(w, w->now_us + w->sample_every_us,
		    SIM_K_SAMPLE, SIM_NONE, 0, 0);
	case SIM_K_REPUBLISH:
		return republish(w, n);
	case SIM_K_PHASE:
		return swarm_phase(w, e->aux);
	case SIM_K_TIMEOUT:
		return sim_wait_timeout(w, e->arg);
	}
	return MRX_EINVAL;
}

static int
schedule_start(struct sim_world *w)
{
	const struct sim_scenario *sc = w->sc;
	struct sim_rng r;
	size_t i;
	int rc = 0;

	sim_rng_init(&r, w->opt.seed, "ticks");
	for (i = 0; rc == 0 && i < sc->nevents; i++)
		if (sc->events[i].at.kind == SIM_TIME_AT)
			rc = sim_schedule(w, sc->events[i].at.us, SIM_K_SCRIPT,
			    SIM_NONE, 0, i);
	for (i = 0; rc == 0 && i < w->nnodes; i++) {
		rc = sim_schedule(w, sc->policy.align_ticks ? 0 :
		    (int64_t)sim_rng_below(&r, (uint64_t)sc->policy.tick_us),
		    SIM_K_TICK, (uint32_t)i, 0, 0);
		if (rc == 0 && w->nodes[i].conf->role == ENG_ROLE_ROOT)
			rc = sim_schedule(w, sc->policy.republish_us,
			    SIM_K_REPUBLISH, (uint32_t)i, 0, 0);
	}
	w->sample_every_us = w->end_us / SIM_SAMPLES_MAX;
	if (w->sample_every_us < SIM_US_PER_S)
		w->sample_every_us = SIM_US_PER_S;
	if (rc == 0)
		rc = sim_schedule(w, 0, SIM_K_SAMPLE, SIM_NONE, 0, 0);
	if (rc == 0 && w->opt.swarm)
		rc = sim_schedule(w, w->opt.swarm_faults_until_us, SIM_K_PHASE,
		    SIM_NONE, 0, 0);
	if (rc == 0)
		rc = sim_certify_operators(w);
	if (rc == 0 && sc->work.on)
		rc = sim_work_schedule(w);
	return rc;
}

/* What is left at the end: expectations without an outcome, asserts. */
static void
finish(struct sim_world *w)
{
	const struct sim_asserts *a = &w->sc->asserts;
	char why[256], tb[32];
	int64_t p;
	size_t i;

	for (i = 0; i < w->nexpects; i++)
		if (!w->expects[i].done) {
			w->expects[i].done = true;
			sim_fail(w, w->expects[i].event, w->expects[i].node,
			    "no outcome by the end of the run (a message was "
			    "lost, or a node was down)");
		}
	if (a->converged && !sim_check_converged(w, why, sizeof(why)))
		sim_violation(w, "converged", "at the end of the run: %s", why);
	p = sim_prop_pct(w, 990);
	if (a->propagation_p99_us > 0 && p > a->propagation_p99_us) {
		w->failed++;
		sim_trace(w, "FAIL assert (%s:%d): revocation propagation p99 "
		    "%ss over the bound", w->sc->file, a->line,
		    sim_fmt_time(p, tb, sizeof(tb)));
		if (!w->opt.quiet)
			printf("FAIL assert (%s:%d): revocation propagation "
			    "p99 %ss is over the bound %ss\n", w->sc->file,
			    a->line, tb, sim_fmt_time(a->propagation_p99_us,
			    why, sizeof(why)));
	}
	p = sim_prop_pct(w, 1000);
	if (a->propagation_max_us > 0 && p > a->propagation_max_us) {
		w->failed++;
		sim_trace(w, "FAIL assert (%s:%d): revocation propagation max "
		    "%ss over the bound", w->sc->file, a->line,
		    sim_fmt_time(p, tb, sizeof(tb)));
		if (!w->opt.quiet)
			printf("FAIL assert (%s:%d): revocation propagation "
			    "max %ss is over the bound\n", w->sc->file, a->line,
			    tb);
	}
}

int
sim_run(struct sim_world *w, struct mrx_diag *diag)
{
	struct sim_event e;
	int rc;

	w->end_us = w->sc->duration_us;
	w->dyn_done = calloc(w->sc->nevents + 1, 1);
	if (w->dyn_done == NULL)
		return MRX_ENOMEM;
	rc = schedule_start(w);
	while (rc == 0 && !w->violated) {
		fast_forward(w);
		if (!sim_heap_pop(&w->heap, &e))
			break;
		if (e.t_us > w->end_us) {
			/* put it back for sim_world_free to release */
			(void)sim_heap_push(&w->heap, e.t_us, e.kind, e.node,
			    e.aux, e.arg);
			break;
		}
		if (e.kind == SIM_K_DELIVER || e.kind == SIM_K_COMMIT ||
		    e.kind == SIM_K_FLUSH)
			w->busy--;
		w->now_us = e.t_us;
		w->st.events++;
		sim_hash(w, &e.t_us, sizeof(e.t_us));
		sim_hash(w, &e.kind, sizeof(e.kind));
		rc = step(w, &e);
	}
	if (rc != 0)
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, "",
		    "the simulation stopped at %lld us: %s (%s)",
		    (long long)w->now_us, mrx_strerror(rc), mrx_errname(rc));
	if (!w->violated)
		finish(w);
	return 0;
}
