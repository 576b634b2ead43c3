/*
 * heap.h - the virtual clock: a binary min-heap of events ordered by time,
 * then by sequence number.
 *
 * Every event pushed gets the next sequence number, so two events due at
 * the same microsecond come out in the order they were pushed: ties are
 * broken by a counter, never by a pointer or an address (libuv's timers
 * do the same). The payload (`arg`) may carry a pointer, but it is never
 * compared. The heap holds at most SIM_HEAP_MAX events; a push beyond is
 * MRX_ENOSPC, a tested path.
 */
#ifndef SIM_HEAP_H
#define SIM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mrx_err.h"

#define SIM_HEAP_MAX (1u << 26)	/* events pending at once */

struct sim_event {
	int64_t t_us;		/* due time, simulated microseconds */
	uint64_t seq;		/* push order: the tie-breaker */
	uint64_t arg;		/* payload: an index or a pointer */
	uint32_t node;		/* the node concerned, or UINT32_MAX */
	uint16_t kind;		/* what happens (the caller's enum) */
	uint16_t aux;		/* a small extra argument */
};

struct sim_heap {
	struct sim_event *v;	/* v[0] is the earliest */
	size_t n;		/* events held */
	size_t cap;		/* allocated slots */
	size_t max;		/* limit on n (SIM_HEAP_MAX unless lowered) */
	size_t peak;		/* largest n seen */
	uint64_t next_seq;	/* the seq the next push gets */
};

void sim_heap_init(struct sim_heap *h);
void sim_heap_fini(struct sim_heap *h);

/*
 * Pushes an event due at t_us. Returns 0, MRX_ENOSPC when the heap holds
 * `max` events, or MRX_ENOMEM; the heap is unchanged on error.
 */
int sim_heap_push(struct sim_heap *h, int64_t t_us, uint16_t kind,
    uint32_t node, uint16_t aux, uint64_t arg);

/* Pops the earliest event into *out; false when the heap is empty. */
bool sim_heap_pop(struct sim_heap *h, struct sim_event *out);

/* The earliest event, or NULL; valid until the next push or pop. */
const struct sim_event *sim_heap_peek(const struct sim_heap *h);

/*
 * Moves every event of kind `kind` due before `t_us` forward by whole
 * multiples of `period_us` to the first time at or after t_us (periodic
 * timers across a fast-forward), then restores the heap order. O(n).
 */
void sim_heap_rebase(struct sim_heap *h, uint16_t kind, int64_t t_us,
    int64_t period_us);

/* The heap property and seq uniqueness of the top, for assert(). O(n). */
bool sim_heap_check(const struct sim_heap *h);

#endif
