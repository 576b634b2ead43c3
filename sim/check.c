/*
 * check.c - the invariants: judged against the world's ground truth, not
 * against what any engine believes.
 *
 * Safety, on every decision that accepts and every message sealed:
 *  - untrusted-accept: what was accepted was signed with a key a root the
 *    verifier trusts delegated to its issuer (a forged record with any
 *    other key must never pass), and that root is the issuer's;
 *  - compromised-key-accept: nothing signed at or after the time its key
 *    was declared compromised, and nothing forged with that key whatever
 *    its date, is accepted once that declaration is older than the
 *    verifier's freshness bound (a back-dated forgery is caught by the
 *    issuer's log);
 *  - foreign-level-accept: a level of another scheme is accepted only
 *    through an agreement the verifier holds, in force, between the
 *    issuer's root and another, whose row maps the held level onto one
 *    covering the access asked (and the scope);
 *  - revoked-accept: nothing is accepted once its revocation (or
 *    suspension) is older than the freshness bound at that verifier (the
 *    policy's, or the agreement's tighter one), whole seconds as the
 *    engine counts them;
 *  - personal-data: no message carries a person's name or passport-like
 *    number; feed and catch-up messages carry no subject id either (a
 *    presentation carries the clearance, whose subject id is
 *    pseudonymous);
 *  - false-equivocation: no node holds an issuer's feed as equivocating
 *    unless the issuer did equivocate.
 * Liveness (sim_check_converged): every up node holds every list of every
 * up issuer it trusts at the issuer's committed seq and head, or knows the
 * feed equivocated.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "level.h"
#include "sim.h"

#define NOW_S(w) ((w)->sc->start + (w)->now_us / SIM_US_PER_S)
#define RK_BASE UINT64_C(1099511628211)

void
sim_violation(struct sim_world *w, const char *name, const char *fmt, ...)
{
	char what[400], tb[32];
	va_list ap;

	if (w->violated)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	w->violated = true;
	w->violation_us = w->now_us;
	snprintf(w->violation, sizeof(w->violation), "%s: %s", name, what);
	sim_trace(w, "VIOLATION at %s: %s", sim_fmt_time(w->now_us, tb,
	    sizeof(tb)), w->violation);
	if (!w->opt.quiet && !w->opt.trace_stdout)
		printf("VIOLATION at %ss: %s\n", tb, w->violation);
}

/* ---- personal data ---- */

static uint64_t
window_hash(const uint8_t *p)
{
	uint64_t h = 0;
	int i;

	for (i = 0; i < SIM_LEAK_WINDOW; i++)
		h = h * RK_BASE + p[i];
	return h | 1;	/* 0 marks an empty slot */
}

/* Token t of person i: 0 name, 1 national id, 2 subject id. */
static const char *
token(const struct sim_world *w, size_t i, int t)
{
	const struct sim_person *p = &w->people[i];

	return t == 0 ? p->name : t == 1 ? p->natid : p->sub;
}

static int
leak_put(struct sim_world *w, size_t i, int t)
{
	const char *s = token(w, i, t);
	size_t j;
	uint64_t h;

	if (strlen(s) < SIM_LEAK_WINDOW)
		return 0;	/* too short to tell from noise */
	h = window_hash((const uint8_t *)s);
	for (j = (size_t)(h >> 7) & (w->leak_slots - 1); w->leak_tab[j] != 0;
	    j = (j + 1) & (w->leak_slots - 1))
		;
	w->leak_tab[j] = h;
	w->leak_who[j] = (uint32_t)(3 * i + (size_t)t) + 1;
	w->leak_bits[(h >> 40) % (SIM_LEAK_BITS / 64)] |= UINT64_C(1) <<
	    (h & 63);
	return 0;
}

int
sim_leak_init(struct sim_world *w)
{
	size_t n = 3 * w->npeople, i;

	for (w->leak_slots = 1024; w->leak_slots < 2 * n;)
		w->leak_slots *= 2;
	w->leak_tab = calloc(w->leak_slots, sizeof(*w->leak_tab));
	w->leak_who = calloc(w->leak_slots, sizeof(*w->leak_who));
	w->leak_bits = calloc(SIM_LEAK_BITS / 64, sizeof(*w->leak_bits));
	if (w->leak_tab == NULL || w->leak_who == NULL || w->leak_bits == NULL)
		return MRX_ENOMEM;
	for (i = 0; i < w->npeople; i++) {
		leak_put(w, i, 0);
		leak_put(w, i, 1);
		leak_put(w, i, 2);
	}
	return 0;
}

/* Which token (3 * person + kind, + 1) starts at p, or 0. */
static uint32_t
leak_at(const struct sim_world *w, uint64_t h, const uint8_t *p, size_t left)
{
	size_t j;
	uint32_t v;
	const char *s;

	/* most windows: one bit of a table that stays in cache says no */
	if (!((w->leak_bits[(h >> 40) % (SIM_LEAK_BITS / 64)] >> (h & 63)) &
	    1))
		return 0;
	for (j = (size_t)(h >> 7) & (w->leak_slots - 1); w->leak_tab[j] != 0;
	    j = (j + 1) & (w->leak_slots - 1)) {
		if (w->leak_tab[j] != h)
			continue;
		v = w->leak_who[j] - 1;
		s = token(w, v / 3, (int)(v % 3));
		if (strlen(s) <= left && memcmp(p, s, strlen(s)) == 0)
			return v + 1;
	}
	return 0;
}

void
sim_check_message(struct sim_world *w, const struct sim_node *from,
    enum proto_msg_type type, const uint8_t *b, size_t n)
{
	static const char *const kind[3] = { "name", "passport number",
		"subject id" };
	bool sub_ok = type == PROTO_MSG_PRESENT ||
	    type == PROTO_MSG_FETCH_RESPONSE;
	uint64_t h = 0, top = 1;
	uint32_t v;
	size_t i, run = 0;

	if (n < SIM_LEAK_WINDOW || w->npeople == 0)
		return;
	for (i = 1; i < SIM_LEAK_WINDOW; i++)
		top *= RK_BASE;
	for (i = 0; i < SIM_LEAK_WINDOW; i++)
		h = h * RK_BASE + b[i];
	/* text only: a window with a control byte holds no token (names may
	 * be UTF-8, so bytes over 0x7f stay candidates) */
	for (i = 0; i < SIM_LEAK_WINDOW; i++)
		run = b[i] >= 0x20 && b[i] != 0x7f ? run + 1 : 0;
	for (i = 0;; i++) {
		v = run >= SIM_LEAK_WINDOW ? leak_at(w, h | 1, b + i, n - i) : 0;
		if (v != 0 && ((v - 1) % 3 != 2 || !sub_ok)) {
			sim_violation(w, "personal-data", "a %s message from %s "
			    "carries the %s of %s at byte %zu",
			    proto_msg_type_name(type), from->conf->id,
			    kind[(v - 1) % 3], w->people[(v - 1) / 3].label, i);
			return;
		}
		if (i + SIM_LEAK_WINDOW >= n)
			break;
		h = (h - b[i] * top) * RK_BASE + b[i + SIM_LEAK_WINDOW];
		run = b[i + SIM_LEAK_WINDOW] >= 0x20 &&
		    b[i + SIM_LEAK_WINDOW] != 0x7f ? run + 1 : 0;
	}
}

/* ---- decisions ---- */

static const struct sim_agreement_conf *
agreement(const struct sim_world *w, const char *id)
{
	size_t i;

	for (i = 0; i < w->sc->nagreements; i++)
		if (strcmp(w->sc->agreements[i].id, id) == 0)
			return &w->sc->agreements[i];
	return NULL;
}

/* The freshness bound that applied: the policy's, or the agreement's. */
static int64_t
bound_s(const struct sim_world *w, const struct sim_node *v,
    const struct proto_decision *d)
{
	const struct sim_agreement_conf *a = d->agreement[0] != '\0' ?
	    agreement(w, d->agreement) : NULL;
	int64_t b = v->cfg.policy.max_status_age_s;

	if (a != NULL && a->max_status_age_s > 0 && a->max_status_age_s < b)
		b = a->max_status_age_s;
	return b;
}

static const char *
name_of(const struct sim_cred *c)
{
	return c->label[0] != '\0' ? c->label : "a credential";
}

/* Is the credential's level within what the root delegated? */
static bool
level_delegated(const struct sim_node *is, const struct sim_cred *c)
{
	const struct proto_level *held = proto_level_find(c->level);
	size_t i;

	for (i = 0; i < is->conf->levels.n; i++)
		if (proto_level_dominates(proto_level_find(
		    is->conf->levels.v[i]), held))
			return true;
	return false;
}

/* Chained to a root v trusts, by a key not declared compromised. */
static void
check_chain(struct sim_world *w, const struct sim_node *v,
    const struct sim_cred *c, int64_t bound)
{
	const struct sim_node *is = c->issuer != SIM_NONE ?
	    &w->nodes[c->issuer] : NULL;

	if (is == NULL || is->conf->role != ENG_ROLE_ISSUER ||
	    memcmp(c->kid, cry_key_kid(is->key), CRY_KID_LEN) != 0 ||
	    !sim_trusts_root(v, is->root)) {
		sim_violation(w, "untrusted-accept", "%s accepted %s (%s), "
		    "signed by a key no root it trusts delegated to %s",
		    v->conf->id, name_of(c), c->forged ? "forged" : "issued",
		    c->iss);
		return;
	}
	if (!level_delegated(is, c)) {
		sim_violation(w, "untrusted-accept", "%s accepted %s at %s, a "
		    "level %s was never delegated", v->conf->id, name_of(c),
		    c->level, is->conf->id);
		return;
	}
	/* signed after the compromise, or forged (back-dated) with the
	 * stolen key: void once the declaration had time to arrive */
	if ((c->iat >= is->compromised_from || (c->forged &&
	    is->compromised_from != INT64_MAX)) && w->now_us >
	    is->compromise_known_us + (bound + 1) * SIM_US_PER_S)
		sim_violation(w, "compromised-key-accept", "%s accepted %s%s, "
		    "signed with %s's key, declared compromised", v->conf->id,
		    c->forged ? "the forged " : "", name_of(c), is->conf->id);
}

static void
check_status(struct sim_world *w, const struct sim_node *v,
    const struct sim_cred *c, int64_t bound)
{
	int64_t age;

	if (c->forged || c->status == PROTO_STATUS_VALID)
		return;
	age = NOW_S(w) - c->status_at;
	if (age > bound)
		sim_violation(w, "revoked-accept", "%s accepted %s, %s at its "
		    "issuer %lld s ago (bound %lld s)", v->conf->id, name_of(c),
		    proto_status_name(c->status), (long long)age,
		    (long long)bound);
}

static bool
scope_in(const struct proto_strs *s, const char *scope)
{
	size_t i;

	if (s->n == 0)
		return true;
	for (i = 0; scope != NULL && i < s->n; i++)
		if (strcmp(s->v[i], scope) == 0)
			return true;
	return false;
}

static void
check_level(struct sim_world *w, const struct sim_node *v,
    const struct sim_cred *c, const char *access, const char *scope,
    const struct proto_decision *d)
{
	const struct proto_level *held = proto_level_find(c->level);
	const struct proto_level *want = proto_level_find(access);
	const struct sim_agreement_conf *a;
	const struct proto_agreement_row *row;
	uint32_t p0, p1, ir = w->nodes[c->issuer].root;
	int64_t now = NOW_S(w);

	if (held == NULL || want == NULL)
		return;
	if (strcmp(held->scheme, want->scheme) == 0)
		return;
	a = d->agreement[0] != '\0' ? agreement(w, d->agreement) : NULL;
	if (a == NULL || d->agreement_row < 0 ||
	    (size_t)d->agreement_row >= a->nrows) {
		sim_violation(w, "foreign-level-accept", "%s accepted %s (%s) "
		    "for %s without an agreement row", v->conf->id, name_of(c),
		    c->level, access);
		return;
	}
	row = &a->rows[d->agreement_row];
	p0 = sim_node_find(w, a->parties[0]);
	p1 = sim_node_find(w, a->parties[1]);
	if (now < a->nbf || now >= a->exp || (p0 != ir && p1 != ir) ||
	    !sim_trusts_root(v, p0) || !sim_trusts_root(v, p1) ||
	    !proto_level_dominates(held, proto_level_find(row->from)) ||
	    !proto_level_dominates(proto_level_find(row->to), want) ||
	    !scope_in(&row->scopes, scope))
		sim_violation(w, "foreign-level-accept", "%s accepted %s (%s) "
		    "for %s under agreement %s row %d, which does not allow it "
		    "now", v->conf->id, name_of(c), c->level, access, a->id,
		    d->agreement_row + 1);
}

void
sim_check_decision(struct sim_world *w, const struct sim_node *v,
    uint32_t ci, uint32_t op, const char *access, const char *scope,
    const struct proto_decision *d)
{
	int64_t bound;

	if (d->verdict != PROTO_ACCEPT)
		return;
	if (ci == SIM_NONE) {
		sim_violation(w, "untrusted-accept", "%s accepted a record the "
		    "world never made or forged", v->conf->id);
		return;
	}
	bound = bound_s(w, v, d);
	check_chain(w, v, &w->creds[ci], bound);
	check_status(w, v, &w->creds[ci], bound);
	if (!w->violated)
		check_level(w, v, &w->creds[ci], access, scope, d);
	if (op != SIM_NONE && !w->violated) {
		check_chain(w, v, &w->creds[op], bound);
		check_status(w, v, &w->creds[op], bound);
	}
}

/* ---- convergence ---- */

/*
 * The same status view: the issuer's committed seq and entries; and the
 * same head, when the node knows one. A node that reached a seq by a
 * delta applied to a list at seq 0 holds no head (the trust store does
 * not record it): its view is the same, but it must fetch the whole list
 * before it can apply the next delta. Counted, not a liveness failure.
 */
static bool
same_view(const struct sim_node *n, const struct sim_node *is,
    const struct sim_store_list *l, const struct proto_status_info *info)
{
	const struct proto_status_list *held;

	if (info->seq != l->sl.seq)
		return false;
	if (info->has_head && l->sl.seq > 0 && memcmp(info->head, l->sl.head,
	    PROTO_HASH_LEN) != 0)
		return false;
	held = proto_trust_status_list(eng_trust(n->eng), is->conf->id,
	    l->sl.c.sub);
	return held != NULL && held->size == l->sl.size &&
	    memcmp(held->bits, l->sl.bits, l->sl.size / 4) == 0;
}

bool
sim_check_converged(struct sim_world *w, char *why, size_t cap)
{
	const struct sim_node *is, *n;
	const struct sim_store_list *l;
	struct proto_status_info info;
	size_t i, j, k;

	why[0] = '\0';
	for (i = 0; i < w->nnodes; i++) {
		is = &w->nodes[i];
		if (is->conf->role != ENG_ROLE_ISSUER || !is->up)
			continue;
		for (k = 0; k < is->store.nlists; k++) {
			l = &is->store.lists[k];
			for (j = 0; j < w->nnodes; j++) {
				n = &w->nodes[j];
				if (j == i || !n->up ||
				    !sim_trusts_root(n, is->root))
					continue;
				if (proto_trust_status_info(eng_trust(n->eng),
				    is->conf->id, l->sl.c.sub, &info) != 0)
					memset(&info, 0, sizeof(info));
				if (info.equivocating && !is->equivocated) {
					sim_violation(w, "false-equivocation",
					    "%s holds %s as equivocating; the "
					    "issuer never equivocated",
					    n->conf->id, l->sl.c.sub);
					snprintf(why, cap, "false equivocation");
					return false;
				}
				/* a feed that forked, or whose key is void,
				 * stops: no one can be asked to follow it */
				if (info.equivocating || is->equivocated ||
				    is->compromised_from != INT64_MAX)
					continue;
				if (info.has_list && same_view(n, is, l, &info))
					continue;
				if (info.has_list)
					snprintf(why, cap, "%s holds %s at seq "
					    "%llu, its issuer is at %llu",
					    n->conf->id, l->sl.c.sub,
					    (unsigned long long)info.seq,
					    (unsigned long long)l->sl.seq);
				else
					snprintf(why, cap, "%s holds no %s "
					    "(its issuer is at seq %llu)",
					    n->conf->id, l->sl.c.sub,
					    (unsigned long long)l->sl.seq);
				return false;
			}
		}
	}
	return true;
}
