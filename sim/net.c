/*
 * net.c - the virtual network (see net.h).
 *
 * Invariant: the draws of one sim_net_route() call are made in a fixed
 * order (loss, duplication, then per copy the jitter and the reorder
 * chance), so a seed and the sequence of sends fix every fate. A message
 * that a partition cuts draws nothing.
 */
#include "net.h"

#include <stdlib.h>
#include <string.h>

int
sim_link_check(const struct sim_link *l)
{
	if (l->latency_us < 0 || l->latency_us > SIM_NET_LATENCY_MAX_US ||
	    l->jitter_us < 0 || l->jitter_us > l->latency_us ||
	    l->reorder_us < 0 || l->reorder_us > SIM_NET_LATENCY_MAX_US ||
	    l->loss_ppm > SIM_PPM || l->dup_ppm > SIM_PPM ||
	    l->reorder_ppm > SIM_PPM)
		return MRX_EINVAL;
	return 0;
}

int
sim_net_init(struct sim_net *n, size_t nnodes, const struct sim_link *dflt,
    uint64_t seed)
{
	memset(n, 0, sizeof(*n));
	if (sim_link_check(dflt) != 0)
		return MRX_EINVAL;
	n->group = calloc(nnodes > 0 ? nnodes : 1, sizeof(*n->group));
	if (n->group == NULL)
		return MRX_ENOMEM;
	n->nnodes = nnodes;
	n->dflt = *dflt;
	n->faults = true;
	sim_rng_init(&n->rng, seed, "network");
	return 0;
}

void
sim_net_fini(struct sim_net *n)
{
	free(n->group);
	memset(n, 0, sizeof(*n));
}

int
sim_net_add_rule(struct sim_net *n, const char *a, const char *b,
    const struct sim_link *l)
{
	struct sim_link_rule *r;

	if (n->nrules >= SIM_NET_RULES_MAX)
		return MRX_ENOSPC;
	if (sim_link_check(l) != 0 || strlen(a) >= SIM_JUR_MAX ||
	    strlen(b) >= SIM_JUR_MAX)
		return MRX_EINVAL;
	r = &n->rules[n->nrules++];
	memcpy(r->a, a, strlen(a) + 1);
	memcpy(r->b, b, strlen(b) + 1);
	r->link = *l;
	return 0;
}

static bool
jur_match(const char *pat, const char *j)
{
	return strcmp(pat, "*") == 0 || strcmp(pat, j) == 0;
}

const struct sim_link *
sim_net_link(const struct sim_net *n, const char *ja, const char *jb)
{
	const struct sim_link_rule *r;
	size_t i;

	for (i = 0; i < n->nrules; i++) {
		r = &n->rules[i];
		if ((jur_match(r->a, ja) && jur_match(r->b, jb)) ||
		    (jur_match(r->a, jb) && jur_match(r->b, ja)))
			return &r->link;
	}
	return &n->dflt;
}

bool
sim_net_connected(const struct sim_net *n, uint32_t a, uint32_t b)
{
	if (a >= n->nnodes || b >= n->nnodes)
		return false;
	return n->group[a] == n->group[b];
}

static int64_t
delay(struct sim_net *n, const struct sim_link *l)
{
	int64_t d = l->latency_us;

	if (l->jitter_us > 0)
		d += sim_rng_range(&n->rng, -l->jitter_us, l->jitter_us);
	if (n->faults && sim_rng_chance(&n->rng, l->reorder_ppm)) {
		d += l->reorder_us;
		n->reordered++;
	}
	return d < SIM_NET_DELAY_MIN_US ? SIM_NET_DELAY_MIN_US : d;
}

int
sim_net_route(struct sim_net *n, uint32_t a, uint32_t b,
    const struct sim_link *l, int64_t delay_us[2])
{
	int copies = 1, i;

	n->sent++;
	if (!sim_net_connected(n, a, b)) {
		n->cut++;
		return 0;
	}
	if (n->faults && sim_rng_chance(&n->rng, l->loss_ppm)) {
		n->lost++;
		return 0;
	}
	if (n->faults && sim_rng_chance(&n->rng, l->dup_ppm)) {
		copies = 2;
		n->duplicated++;
	}
	for (i = 0; i < copies; i++)
		delay_us[i] = delay(n, l);
	return copies;
}

void
sim_net_set_group(struct sim_net *n, uint32_t node, uint32_t g)
{
	if (node < n->nnodes)
		n->group[node] = g;
}

void
sim_net_heal(struct sim_net *n)
{
	memset(n->group, 0, n->nnodes * sizeof(*n->group));
}
