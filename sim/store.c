/*
 * store.c - the in-memory store with unsynced-write faults (see store.h).
 *
 * Invariants (sim_store_check): lists[i] is the list at uri index i + 1 of
 * this node (the engine opens them in order); each list's deltas run from
 * seq 1 without a gap up to at most its seq; the cti index finds exactly
 * the records held; queued transactions have non-decreasing commit times.
 */
#include "store.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void
sim_store_init(struct sim_store *s)
{
	memset(s, 0, sizeof(*s));
}

static void
blob_free(struct sim_blob *b)
{
	free(b->p);
	b->p = NULL;
	b->n = 0;
}

static int
blob_set(struct sim_blob *b, const uint8_t *p, size_t n)
{
	b->p = malloc(n > 0 ? n : 1);
	if (b->p == NULL)
		return MRX_ENOMEM;
	if (n > 0)
		memcpy(b->p, p, n);
	b->n = n;
	return 0;
}

static void
slist_free(struct sim_store_list *l)
{
	size_t i;

	proto_status_list_fini(&l->sl);
	free(l->alloc);
	for (i = 0; i < l->ndeltas; i++)
		blob_free(&l->deltas[i]);
	free(l->deltas);
	memset(l, 0, sizeof(*l));
}

static void
write_free(struct sim_write *w)
{
	free(w->rec.bytes);
	proto_status_list_fini(&w->list.sl);
	free(w->list.alloc);
	blob_free(&w->delta);
	blob_free(&w->blob);
}

void
sim_txn_free(struct sim_txn *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nw; i++)
		write_free(&t->w[i]);
	for (i = 0; i < t->nfx; i++)
		blob_free(&t->fx[i].b);
	free(t->w);
	free(t->fx);
	free(t);
}

void
sim_store_fini(struct sim_store *s)
{
	struct sim_txn *t, *n;
	size_t i;

	for (i = 0; i < s->nlists; i++)
		slist_free(&s->lists[i]);
	free(s->lists);
	for (i = 0; i < s->nrecs; i++)
		free(s->recs[i].bytes);
	free(s->recs);
	free(s->index);
	free(s->watches);
	for (i = 0; i < s->ntrust; i++)
		blob_free(&s->trust[i]);
	free(s->trust);
	for (t = s->head; t != NULL; t = n) {
		n = t->next;
		sim_txn_free(t);
	}
	memset(s, 0, sizeof(*s));
}

struct sim_txn *
sim_txn_new(void)
{
	return calloc(1, sizeof(struct sim_txn));
}

static struct sim_write *
txn_add(struct sim_txn *t, enum sim_write_kind k)
{
	struct sim_write *nw;
	size_t cap;

	if (t->nw == t->capw) {
		cap = t->capw == 0 ? 4 : 2 * t->capw;
		nw = realloc(t->w, cap * sizeof(*nw));
		if (nw == NULL)
			return NULL;
		t->w = nw;
		t->capw = cap;
	}
	nw = &t->w[t->nw];
	memset(nw, 0, sizeof(*nw));
	nw->kind = k;
	return nw;
}

int
sim_txn_record(struct sim_txn *t, const struct eng_persist_record *r)
{
	struct sim_write *w = txn_add(t, SIM_W_RECORD);

	if (w == NULL)
		return MRX_ENOMEM;
	w->rec.bytes = malloc(r->len);
	if (w->rec.bytes == NULL)
		return MRX_ENOMEM;
	memcpy(w->rec.bytes, r->bytes, r->len);
	w->rec.len = r->len;
	memcpy(w->rec.cti, r->cti, PROTO_CTI_LEN);
	w->rec.type = r->type;
	w->rec.ref = r->ref;
	t->nw++;
	return 0;
}

/* A deep copy of a status list (bits and reasons). */
static int
sl_copy(struct proto_status_list *d, const struct proto_status_list *s)
{
	*d = *s;
	d->bits = NULL;
	d->reasons = NULL;
	d->reasons_cap = 0;
	d->bits = malloc(s->size / 4);
	if (d->bits == NULL)
		return MRX_ENOMEM;
	memcpy(d->bits, s->bits, s->size / 4);
	if (s->nreasons > 0) {
		d->reasons = malloc(s->nreasons * sizeof(*d->reasons));
		if (d->reasons == NULL) {
			free(d->bits);
			d->bits = NULL;
			return MRX_ENOMEM;
		}
		memcpy(d->reasons, s->reasons, s->nreasons *
		    sizeof(*d->reasons));
		d->reasons_cap = s->nreasons;
	}
	return 0;
}

int
sim_txn_list(struct sim_txn *t, const struct eng_persist_list *l)
{
	struct sim_write *w = txn_add(t, SIM_W_LIST);
	int rc;

	if (w == NULL)
		return MRX_ENOMEM;
	rc = sl_copy(&w->list.sl, l->sl);
	if (rc == 0 && (w->list.alloc = malloc(l->sl->size / 8)) == NULL)
		rc = MRX_ENOMEM;
	if (rc == 0 && l->has_change && l->delta != NULL)
		rc = blob_set(&w->delta, l->delta, l->delta_len);
	if (rc != 0) {
		write_free(w);
		return rc;
	}
	memcpy(w->list.alloc, l->alloc, l->sl->size / 8);
	w->list.nalloc = l->nalloc;
	w->delta_seq = l->has_change ? l->sl->seq : 0;
	t->nw++;
	return 0;
}

int
sim_txn_watch(struct sim_txn *t, const struct eng_persist_watch *wt)
{
	struct sim_write *w = txn_add(t, SIM_W_WATCH);

	if (w == NULL)
		return MRX_ENOMEM;
	w->watch = *wt;
	t->nw++;
	return 0;
}

int
sim_txn_trust(struct sim_txn *t, const uint8_t *b, size_t n)
{
	struct sim_write *w = txn_add(t, SIM_W_TRUST);

	if (w == NULL || blob_set(&w->blob, b, n) != 0)
		return MRX_ENOMEM;
	t->nw++;
	return 0;
}

int
sim_txn_evidence(struct sim_txn *t, const struct eng_evidence *ev)
{
	struct sim_write *w = txn_add(t, SIM_W_EVIDENCE);

	if (w == NULL || blob_set(&w->blob, ev->got, ev->got != NULL ?
	    ev->got_len : 0) != 0)
		return MRX_ENOMEM;
	t->nw++;
	return 0;
}

int
sim_txn_effect(struct sim_txn *t, uint16_t kind, uint32_t to, uint64_t arg,
    const uint8_t *b, size_t n)
{
	struct sim_effect *fx;
	size_t cap;

	if (t->nfx == t->capfx) {
		cap = t->capfx == 0 ? 4 : 2 * t->capfx;
		fx = realloc(t->fx, cap * sizeof(*fx));
		if (fx == NULL)
			return MRX_ENOMEM;
		t->fx = fx;
		t->capfx = cap;
	}
	fx = &t->fx[t->nfx];
	memset(fx, 0, sizeof(*fx));
	if (blob_set(&fx->b, b, n) != 0)
		return MRX_ENOMEM;
	fx->kind = kind;
	fx->to = to;
	fx->arg = arg;
	t->nfx++;
	return 0;
}

bool
sim_txn_empty(const struct sim_txn *t)
{
	return t->nw == 0 && t->nfx == 0;
}

int
sim_store_queue(struct sim_store *s, struct sim_txn *t, int64_t commit_us)
{
	if (s->npending >= SIM_STORE_PENDING_MAX)
		return MRX_ENOSPC;
	if (s->tail != NULL && s->tail->commit_us > commit_us)
		commit_us = s->tail->commit_us;
	t->commit_us = commit_us;
	t->next = NULL;
	if (s->tail != NULL)
		s->tail->next = t;
	else
		s->head = t;
	s->tail = t;
	s->npending++;
	return 0;
}

int64_t
sim_store_next_commit(const struct sim_store *s)
{
	return s->head != NULL ? s->head->commit_us : INT64_MAX;
}

/* ---- applying writes ---- */

/* The list number n of "mrx://<id>/status/<n>", or 0. */
static size_t
uri_number(const char *uri)
{
	const char *p = strrchr(uri, '/');
	size_t n = 0;

	if (p == NULL || p[1] == '\0')
		return 0;
	for (p++; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > SIM_STORE_LISTS_MAX)
			return 0;
		n = n * 10 + (size_t)(*p - '0');
	}
	return n;
}

static uint64_t
cti_key(const uint8_t *cti)
{
	uint64_t k = 0;
	int i;

	for (i = 0; i < 8; i++)
		k = (k << 8) | cti[i];
	return k ^ (k >> 29);
}

static int
index_grow(struct sim_store *s)
{
	size_t n = s->nslots == 0 ? 1024 : 2 * s->nslots, i, j;
	uint32_t *ix = calloc(n, sizeof(*ix));

	if (ix == NULL)
		return MRX_ENOMEM;
	for (i = 0; i < s->nrecs; i++) {
		j = (size_t)cti_key(s->recs[i].cti) & (n - 1);
		while (ix[j] != 0)
			j = (j + 1) & (n - 1);
		ix[j] = (uint32_t)i + 1;
	}
	free(s->index);
	s->index = ix;
	s->nslots = n;
	return 0;
}

static int
apply_record(struct sim_store *s, struct sim_write *w)
{
	struct sim_store_rec *nr;
	size_t cap, j;
	int rc;

	if (sim_store_find(s, w->rec.cti) != NULL)
		return 0;	/* a cti is signed once; keep the first */
	if (s->nrecs >= SIM_STORE_RECORDS_MAX)
		return MRX_ENOSPC;
	if (s->nrecs == s->caprecs) {
		cap = s->caprecs == 0 ? 64 : 2 * s->caprecs;
		nr = realloc(s->recs, cap * sizeof(*nr));
		if (nr == NULL)
			return MRX_ENOMEM;
		s->recs = nr;
		s->caprecs = cap;
	}
	if (2 * (s->nrecs + 1) > s->nslots && (rc = index_grow(s)) != 0)
		return rc;
	s->recs[s->nrecs] = w->rec;
	w->rec.bytes = NULL;	/* moved */
	j = (size_t)cti_key(s->recs[s->nrecs].cti) & (s->nslots - 1);
	while (s->index[j] != 0)
		j = (j + 1) & (s->nslots - 1);
	s->index[j] = (uint32_t)s->nrecs + 1;
	s->nrecs++;
	return 0;
}

static int
delta_put(struct sim_store_list *l, uint64_t seq, struct sim_blob *d)
{
	struct sim_blob *nd;
	size_t cap;

	if (seq != l->ndeltas + 1)
		return 0;	/* already held (a landed retry) */
	if (l->ndeltas >= SIM_STORE_DELTAS_MAX)
		return MRX_ENOSPC;
	if (l->ndeltas == l->cap) {
		cap = l->cap == 0 ? 16 : 2 * l->cap;
		nd = realloc(l->deltas, cap * sizeof(*nd));
		if (nd == NULL)
			return MRX_ENOMEM;
		l->deltas = nd;
		l->cap = cap;
	}
	l->deltas[l->ndeltas++] = *d;
	d->p = NULL;	/* moved */
	d->n = 0;
	return 0;
}

static int
apply_list(struct sim_store *s, struct sim_write *w)
{
	struct sim_store_list *l, *nl;
	size_t n = uri_number(w->list.sl.c.sub), cap;
	int rc;

	if (n == 0 || n > s->nlists + 1)
		return MRX_EINVAL;	/* lists open in order */
	if (n == s->nlists + 1) {
		if (s->nlists >= SIM_STORE_LISTS_MAX)
			return MRX_ENOSPC;
		if (s->nlists == s->caplists) {
			cap = s->caplists == 0 ? 2 : 2 * s->caplists;
			nl = realloc(s->lists, cap * sizeof(*nl));
			if (nl == NULL)
				return MRX_ENOMEM;
			s->lists = nl;
			s->caplists = cap;
		}
		memset(&s->lists[s->nlists++], 0, sizeof(*l));
	}
	l = &s->lists[n - 1];
	if (w->delta.p != NULL) {
		rc = delta_put(l, w->delta_seq, &w->delta);
		if (rc != 0)
			return rc;
	}
	proto_status_list_fini(&l->sl);
	free(l->alloc);
	l->sl = w->list.sl;		/* moved */
	l->alloc = w->list.alloc;
	l->nalloc = w->list.nalloc;
	memset(&w->list.sl, 0, sizeof(w->list.sl));
	w->list.alloc = NULL;
	return 0;
}

static int
apply_write(struct sim_store *s, struct sim_write *w)
{
	struct eng_persist_watch *nw;
	size_t cap;

	switch (w->kind) {
	case SIM_W_RECORD:
		return apply_record(s, w);
	case SIM_W_LIST:
		return apply_list(s, w);
	case SIM_W_WATCH:
		if (s->nwatches >= SIM_STORE_WATCHES_MAX)
			return MRX_ENOSPC;
		if (s->nwatches == s->capwatches) {
			cap = s->capwatches == 0 ? 16 : 2 * s->capwatches;
			nw = realloc(s->watches, cap * sizeof(*nw));
			if (nw == NULL)
				return MRX_ENOMEM;
			s->watches = nw;
			s->capwatches = cap;
		}
		s->watches[s->nwatches++] = w->watch;
		return 0;
	case SIM_W_TRUST:
		if (s->ntrust >= SIM_STORE_TRUST_MAX)
			return MRX_ENOSPC;
		if (s->ntrust == s->captrust) {
			struct sim_blob *nb;

			cap = s->captrust == 0 ? 4 : 2 * s->captrust;
			nb = realloc(s->trust, cap * sizeof(*nb));
			if (nb == NULL)
				return MRX_ENOMEM;
			s->trust = nb;
			s->captrust = cap;
		}
		s->trust[s->ntrust++] = w->blob;
		w->blob.p = NULL;
		w->blob.n = 0;
		return 0;
	case SIM_W_EVIDENCE:
		s->evidence++;
		return 0;
	}
	return MRX_EINVAL;
}

static struct sim_txn *
dequeue(struct sim_store *s)
{
	struct sim_txn *t = s->head;

	s->head = t->next;
	if (s->head == NULL)
		s->tail = NULL;
	s->npending--;
	t->next = NULL;
	return t;
}

static int
apply_txn(struct sim_store *s, struct sim_txn *t)
{
	size_t i;
	int rc;

	for (i = 0; i < t->nw; i++) {
		rc = apply_write(s, &t->w[i]);
		if (rc != 0)
			return rc;
	}
	s->commits++;
	return 0;
}

struct sim_txn *
sim_store_commit(struct sim_store *s, int64_t now_us, int *rc)
{
	struct sim_txn *t;

	*rc = 0;
	if (s->head == NULL || s->head->commit_us > now_us)
		return NULL;
	t = dequeue(s);
	*rc = apply_txn(s, t);
	return t;
}

int
sim_store_crash(struct sim_store *s, struct sim_rng *r, size_t *landed,
    size_t *lost)
{
	size_t keep = s->npending > 0 ?
	    (size_t)sim_rng_below(r, s->npending + 1) : 0, i;
	struct sim_txn *t;
	int rc = 0, rc2;

	*landed = keep;
	*lost = s->npending - keep;
	for (i = 0; s->head != NULL; i++) {
		t = dequeue(s);
		if (i < keep) {
			rc2 = apply_txn(s, t);
			if (rc == 0)
				rc = rc2;
		}
		sim_txn_free(t);
	}
	s->txns_landed += *landed;
	s->txns_lost += *lost;
	return rc;
}

/* ---- lookups ---- */

const struct sim_store_rec *
sim_store_find(const struct sim_store *s, const uint8_t cti[PROTO_CTI_LEN])
{
	size_t j;
	uint32_t v;

	if (s->nslots == 0)
		return NULL;
	j = (size_t)cti_key(cti) & (s->nslots - 1);
	while ((v = s->index[j]) != 0) {
		if (memcmp(s->recs[v - 1].cti, cti, PROTO_CTI_LEN) == 0)
			return &s->recs[v - 1];
		j = (j + 1) & (s->nslots - 1);
	}
	return NULL;
}

const struct sim_store_list *
sim_store_list(const struct sim_store *s, const char *uri)
{
	size_t n = uri_number(uri);

	if (n == 0 || n > s->nlists ||
	    strcmp(s->lists[n - 1].sl.c.sub, uri) != 0)
		return NULL;
	return &s->lists[n - 1];
}

const struct sim_blob *
sim_store_delta(const struct sim_store *s, const char *uri, uint64_t seq)
{
	const struct sim_store_list *l = sim_store_list(s, uri);

	if (l == NULL || seq == 0 || seq > l->ndeltas)
		return NULL;
	return &l->deltas[seq - 1];
}

bool
sim_store_check(const struct sim_store *s)
{
	const struct sim_txn *t;
	size_t i, n = 0;

	for (i = 0; i < s->nlists; i++) {
		if (uri_number(s->lists[i].sl.c.sub) != i + 1)
			return false;
		if (s->lists[i].ndeltas > s->lists[i].sl.seq)
			return false;
	}
	for (i = 0; i < s->nrecs; i++)
		if (sim_store_find(s, s->recs[i].cti) != &s->recs[i])
			return false;
	for (i = 0; i < s->nslots; i++)
		n += s->index[i] != 0;
	if (n != s->nrecs)
		return false;
	n = 0;
	for (t = s->head; t != NULL; t = t->next) {
		if (t->next != NULL && t->next->commit_us < t->commit_us)
			return false;
		n++;
	}
	return n == s->npending;
}
