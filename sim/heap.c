/*
 * heap.c - binary min-heap of events (see heap.h).
 *
 * Invariant: for every i > 0, v[(i - 1) / 2] is not later than v[i] in the
 * order (t_us, seq). Sequence numbers are unique, so the order is total and
 * the pop order is a function of the pushes alone.
 */
#include "heap.h"

#include <stdlib.h>
#include <string.h>

static bool
before(const struct sim_event *a, const struct sim_event *b)
{
	if (a->t_us != b->t_us)
		return a->t_us < b->t_us;
	return a->seq < b->seq;
}

void
sim_heap_init(struct sim_heap *h)
{
	memset(h, 0, sizeof(*h));
	h->max = SIM_HEAP_MAX;
}

void
sim_heap_fini(struct sim_heap *h)
{
	free(h->v);
	memset(h, 0, sizeof(*h));
}

static void
sift_up(struct sim_heap *h, size_t i)
{
	struct sim_event e = h->v[i];
	size_t p;

	while (i > 0) {
		p = (i - 1) / 2;
		if (!before(&e, &h->v[p]))
			break;
		h->v[i] = h->v[p];
		i = p;
	}
	h->v[i] = e;
}

static void
sift_down(struct sim_heap *h, size_t i)
{
	struct sim_event e = h->v[i];
	size_t c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c]))
			c++;
		if (!before(&h->v[c], &e))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	h->v[i] = e;
}

int
sim_heap_push(struct sim_heap *h, int64_t t_us, uint16_t kind, uint32_t node,
    uint16_t aux, uint64_t arg)
{
	struct sim_event *nv;
	size_t cap;

	if (h->n >= h->max)
		return MRX_ENOSPC;
	if (h->n == h->cap) {
		cap = h->cap == 0 ? 256 : 2 * h->cap;
		nv = realloc(h->v, cap * sizeof(*nv));
		if (nv == NULL)
			return MRX_ENOMEM;
		h->v = nv;
		h->cap = cap;
	}
	h->v[h->n].t_us = t_us;
	h->v[h->n].seq = h->next_seq++;
	h->v[h->n].arg = arg;
	h->v[h->n].node = node;
	h->v[h->n].kind = kind;
	h->v[h->n].aux = aux;
	h->n++;
	sift_up(h, h->n - 1);
	if (h->n > h->peak)
		h->peak = h->n;
	return 0;
}

bool
sim_heap_pop(struct sim_heap *h, struct sim_event *out)
{
	if (h->n == 0)
		return false;
	*out = h->v[0];
	h->n--;
	if (h->n > 0) {
		h->v[0] = h->v[h->n];
		sift_down(h, 0);
	}
	return true;
}

const struct sim_event *
sim_heap_peek(const struct sim_heap *h)
{
	return h->n > 0 ? &h->v[0] : NULL;
}

void
sim_heap_rebase(struct sim_heap *h, uint16_t kind, int64_t t_us,
    int64_t period_us)
{
	struct sim_event *e;
	int64_t k;
	size_t i;

	if (period_us <= 0)
		return;
	for (i = 0; i < h->n; i++) {
		e = &h->v[i];
		if (e->kind != kind || e->t_us >= t_us)
			continue;
		k = (t_us - e->t_us + period_us - 1) / period_us;
		e->t_us += k * period_us;
	}
	/* Floyd's heap construction: the order is again (t_us, seq). */
	for (i = h->n / 2; i > 0; i--)
		sift_down(h, i - 1);
}

bool
sim_heap_check(const struct sim_heap *h)
{
	size_t i;

	if (h->n > h->cap || h->n > h->max)
		return false;
	for (i = 1; i < h->n; i++)
		if (before(&h->v[i], &h->v[(i - 1) / 2]))
			return false;
	for (i = 0; i < h->n; i++)
		if (h->v[i].seq >= h->next_seq)
			return false;
	return true;
}
