/*
 * net.h - the virtual network: per-link latency with jitter, loss,
 * duplication and reordering, and partitions.
 *
 * The network decides the fate of each message when it is sent: how many
 * copies arrive (0 lost, 1, or 2 duplicated) and after which delay each.
 * The draws come from the network's own stream (rng.h), in the order the
 * simulator sends messages, so a seed replays the same fates. Latency is
 * uniform in latency +- jitter (at least SIM_NET_DELAY_MIN_US); a
 * reordered copy is held back a further reorder_us, so that messages sent
 * after it overtake it. Probabilities are integers in parts per million.
 *
 * Partitions: each node is in a group (0 by default); a message crosses
 * only between nodes of the same group, checked at send and again at
 * delivery, so a partition also cuts what is in flight. heal() puts every
 * node back in group 0. Link rules override the default for messages
 * between two jurisdictions ("JP" and "US"; "*" matches any).
 */
#ifndef SIM_NET_H
#define SIM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mrx_err.h"
#include "rng.h"

#define SIM_NET_RULES_MAX 64		/* link rules of one scenario */
#define SIM_NET_DELAY_MIN_US 1		/* no message arrives in 0 us */
#define SIM_NET_LATENCY_MAX_US (3600LL * 1000000) /* one hour */
#define SIM_JUR_MAX 8			/* "JP" and its NUL, and room */

/* How the links behave. */
struct sim_link {
	int64_t latency_us;	/* one-way base latency */
	int64_t jitter_us;	/* uniform +- around the latency */
	uint32_t loss_ppm;	/* a message is lost */
	uint32_t dup_ppm;	/* a message arrives twice */
	uint32_t reorder_ppm;	/* a copy is held back reorder_us more */
	int64_t reorder_us;	/* extra delay of a held-back copy */
};

/* A link rule: messages between jurisdictions a and b (either way). */
struct sim_link_rule {
	char a[SIM_JUR_MAX];	/* "JP" or "*" */
	char b[SIM_JUR_MAX];
	struct sim_link link;
};

struct sim_net {
	struct sim_link dflt;			/* links without a rule */
	struct sim_link_rule rules[SIM_NET_RULES_MAX];
	size_t nrules;
	uint32_t *group;			/* partition group per node */
	size_t nnodes;
	bool faults;				/* loss, dup, reorder active */
	struct sim_rng rng;			/* the network's stream */
	/* counters */
	uint64_t sent;				/* messages offered */
	uint64_t lost;				/* dropped by loss */
	uint64_t duplicated;			/* extra copies */
	uint64_t reordered;			/* copies held back */
	uint64_t cut;				/* dropped by a partition */
};

/*
 * Sets up a network of `nnodes` nodes, all in group 0, with `dflt` links
 * and the stream of `seed`. MRX_EINVAL for a bad link (negative values,
 * jitter over latency, probability over 1e6), MRX_ENOMEM.
 */
int sim_net_init(struct sim_net *n, size_t nnodes, const struct sim_link *dflt,
    uint64_t seed);
void sim_net_fini(struct sim_net *n);

/* Checks a link's values: 0 or MRX_EINVAL. */
int sim_link_check(const struct sim_link *l);

/* Adds a rule; MRX_ENOSPC past SIM_NET_RULES_MAX, MRX_EINVAL. */
int sim_net_add_rule(struct sim_net *n, const char *a, const char *b,
    const struct sim_link *l);

/* The link between two jurisdictions: the first rule that matches, or the
 * default. */
const struct sim_link *sim_net_link(const struct sim_net *n, const char *ja,
    const char *jb);

/* Are nodes a and b in the same partition group? */
bool sim_net_connected(const struct sim_net *n, uint32_t a, uint32_t b);

/*
 * The fate of one message from a to b over link `l`: the number of copies
 * that arrive (0, 1 or 2), with their delays in delay_us[]. A message
 * between partitioned nodes arrives nowhere (counted as cut).
 */
int sim_net_route(struct sim_net *n, uint32_t a, uint32_t b,
    const struct sim_link *l, int64_t delay_us[2]);

/* Puts `node` in partition group `g`. */
void sim_net_set_group(struct sim_net *n, uint32_t node, uint32_t g);

/* Every node back in group 0. */
void sim_net_heal(struct sim_net *n);

#endif
