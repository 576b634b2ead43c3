/*
 * engine.c - the node's sans-I/O state machine (see engine.h).
 *
 * One event in, actions out, nothing else: no clock (time is ev->now), no
 * entropy source (ev->rnd), no I/O. Every handler runs in three phases:
 * check (validate the event, find what it touches, make sure `out` has
 * room for every action and arena byte), change (the engine's state, in
 * steps that can no longer fail), emit (the actions). Work that can fail
 * but changes nothing visible, such as signing into the arena's free space
 * or growing a table, happens in the check phase.
 *
 * State and its invariants (eng_check()):
 *  - lists[0..nlists) are this issuer's own status lists, lists[n] at uri
 *    "mrx://<id>/status/<n + 1>" with iss = id, each registered in the
 *    trust store by address (proto_trust_own_status), which is stable
 *    because lists[] lives inside the engine. Only the last list takes new
 *    entries; a list is opened when the last one is half allocated, so
 *    nalloc <= size / 2 everywhere and a random draw hits a free entry
 *    with probability >= 1/2. alloc has exactly nalloc bits set; every
 *    entry that is not valid is allocated. seq counts the list's changes
 *    (0: none yet, no head); head is the record hash of the delta of seq.
 *  - the watch table maps (issuer, uri, idx) to the clearances accepted on
 *    that entry: an open-addressed table of 24-byte slots (linear probing,
 *    at most 3/4 full, never deleted from) keyed by a feed id, which
 *    interns (issuer, uri) in a table searched by bisection.
 *  - the verified-signature cache is a ring of SHA-256 hashes in insertion
 *    order (the oldest evicted first) indexed by an open-addressed table
 *    with backward-shift deletion.
 *  - an own list's signed status-list record is cached beside it (rec) and
 *    is current while rec_seq equals the list's seq.
 *  - subs[0..nsubs) are the foreign feeds followed, sorted by (issuer,
 *    uri). The held state itself is the trust store's signed list; a sub
 *    keeps the records needed to judge what arrives next: hist, the last
 *    ENG_SUB_HISTORY deltas applied, and base, the last list installed
 *    (both to tell a duplicate from equivocation and to produce evidence),
 *    and pend, deltas that arrived ahead of a gap, in seq order. A
 *    distrusted sub (it equivocated) holds nothing pending and takes
 *    nothing more. An empty sub behaves exactly as no sub.
 *
 * Determinism: randomness is derived from ev->rnd only, as SHA-256(rnd ||
 * label || counter), so a seeded simulator replays byte for byte. No table
 * is iterated in an order that depends on a pointer or on insertion history
 * where the result is visible: alerts for one entry are sorted by record id.
 */
#include "engine.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "level.h"
#include "ptime.h"

#define ENG_URI_SCHEME "mrx://"
#define ENG_URI_STATUS "/status/"
#define ENG_DRAW_BLOCKS 16	/* hash blocks of index candidates (4 each) */
#define ENG_WATCH_SLOTS_MIN 1024
#define ENG_FEEDS_MIN 16
#define ENG_ISSUE_ACTIONS 4	/* record, list, audit, reply */
#define ENG_STATUS_ACTIONS 4	/* list, audit, publish, reply (+2 per
				 * watch) */
#define ENG_FEED_ACTIONS 4	/* evidence, alert, audit, catch-up */
#define ENG_VERIFY_ACTIONS 3	/* watch, audit, reply */
#define ENG_YEAR_S (365LL * 86400)

_Static_assert(ENG_LISTS_MAX <= PROTO_TRUST_OWN_STATUS_MAX,
    "every own list can be registered in the trust store");
_Static_assert(ENG_STATUS_ACTIONS + 2 * ENG_WATCHES_PER_ENTRY_MAX <=
    ENG_ACTIONS_MAX, "a status change fits one action buffer");
_Static_assert(ENG_FEED_ACTIONS + 2 * PROTO_CHANGES_MAX *
    ENG_WATCHES_PER_ENTRY_MAX <= ENG_ACTIONS_MAX,
    "the alerts of one feed delta fit one action buffer");
_Static_assert(ENG_FEED_ACTIONS + 2 * ENG_LIST_ALERTS_MAX <= ENG_ACTIONS_MAX,
    "the alerts of one list install fit one action buffer");
_Static_assert(ENG_LISTS_MAX <= ENG_ACTIONS_MAX,
    "a checkpoint of every own list fits one action buffer");
_Static_assert(2 * ENG_WITNESS_MAX <= ENG_ARENA_BYTES,
    "both records of an evidence fit one arena");
_Static_assert(PROTO_RECORD_MAX <= ENG_WITNESS_MAX,
    "every delta and checkpoint is kept as evidence");

/* One of this issuer's own status lists. */
struct eng_list {
	struct proto_status_list sl;	/* entries, seq, head; iss, uri */
	uint8_t *alloc;			/* allocation bitmap, size / 8 bytes */
	uint32_t nalloc;		/* bits set in alloc */
	uint8_t *rec;			/* signed status-list record, or NULL */
	size_t rec_len;
	uint64_t rec_seq;		/* the seq rec was signed at */
};

/* A record whose bytes a feed keeps: a delta, or a whole list. */
struct eng_held {
	uint64_t seq;
	uint8_t hash[PROTO_HASH_LEN];	/* its record hash */
	uint8_t *bytes;			/* owned; NULL when not retained */
	size_t len;
};

/* A foreign feed followed: the records of one (issuer, uri). */
struct eng_sub {
	char issuer[PROTO_ID_MAX + 1];
	char uri[PROTO_URI_MAX + 1];
	struct eng_held hist[ENG_SUB_HISTORY];	/* applied, seq ascending */
	size_t nhist;
	struct eng_held pend[ENG_SUB_PENDING_MAX]; /* ahead of a gap,
						 * seq ascending */
	size_t npend;
	struct eng_held base;		/* last list installed (seq 0: none;
					 * bytes NULL over ENG_WITNESS_MAX) */
	bool distrusted;		/* equivocated: takes nothing more */
	bool cu_sent;			/* a catch-up was asked */
	uint64_t cu_from;		/* from that seq */
	int64_t cu_at;			/* at that time */
};

/* A watched (issuer, uri): watches name it by id (index + 1). */
struct eng_feed {
	char issuer[PROTO_ID_MAX + 1];
	char uri[PROTO_URI_MAX + 1];
};

/* One watch: a slot of the open-addressed table. */
struct eng_watch {
	uint32_t feed;			/* feed id; 0 marks an empty slot */
	uint32_t idx;			/* status index */
	uint8_t cti[PROTO_CTI_LEN];	/* the accepted record */
};
_Static_assert(sizeof(struct eng_watch) == 24, "a watch is 24 bytes");

struct eng_watches {
	struct eng_feed *feeds;		/* feeds[id - 1], in order of first use */
	uint32_t *order;		/* feed ids sorted by (issuer, uri) */
	size_t nfeeds, feeds_cap;
	struct eng_watch *slot;		/* nslots slots, linear probing */
	size_t nslots;			/* 0 or a power of two */
	size_t n;			/* watches held */
	size_t max;			/* watches_max */
};

struct eng_vcache {
	uint8_t (*ring)[CRY_SHA256_LEN]; /* hashes in insertion order */
	uint32_t *slot;			/* ring index + 1; 0 marks empty */
	size_t nslots;			/* a power of two >= 2 * max */
	size_t max;			/* entries */
	size_t n;			/* entries held */
	size_t head;			/* next ring entry written (the oldest
					 * once full) */
	uint64_t hits, misses;		/* counted by lookups */
};

struct engine {
	struct eng_config cfg;		/* as given; key borrowed */
	struct proto_trust *trust;	/* owned */
	uint32_t list_size;		/* entries of a list opened now */
	struct eng_list lists[ENG_LISTS_MAX];
	size_t nlists;
	struct eng_watches w;
	struct eng_vcache *vc;		/* owned; mutable through const */
	struct eng_sub **subs;		/* owned, sorted by (issuer, uri) */
	size_t nsubs, subs_cap;
	int64_t cp_last;		/* time of the last checkpoint round */
	bool cp_done;			/* a round has been made */
	struct eng_stats st;		/* counters (watches, lists, feeds:
					 * derived) */
};

/* An error reply in the making. */
struct eng_err {
	enum eng_reply_status status;
	char code[PROTO_CODE_MAX + 1];
	char field[64];
	char msg[256];
};

static int eng_fail(struct eng_err *er, enum eng_reply_status st,
    const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- small helpers ---- */

/* Copies a NUL-terminated string into a fixed buffer, truncating. */
static void
strbuf(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool
terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static uint64_t
load64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* splitmix64's finaliser: a fixed, well-spread hash of a 64-bit key. */
static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static size_t
pow2_at_least(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* out = SHA-256(rnd || label || counter): the event's randomness, split. */
static int
derive(const uint8_t rnd[ENG_RAND_LEN], const char *label, uint32_t ctr,
    uint8_t out[CRY_SHA256_LEN])
{
	uint8_t buf[ENG_RAND_LEN + 32 + 4];
	size_t n = strlen(label);

	assert(n <= 32);
	memcpy(buf, rnd, ENG_RAND_LEN);
	memcpy(buf + ENG_RAND_LEN, label, n);
	buf[ENG_RAND_LEN + n] = (uint8_t)(ctr >> 24);
	buf[ENG_RAND_LEN + n + 1] = (uint8_t)(ctr >> 16);
	buf[ENG_RAND_LEN + n + 2] = (uint8_t)(ctr >> 8);
	buf[ENG_RAND_LEN + n + 3] = (uint8_t)ctr;
	return cry_sha256(buf, ENG_RAND_LEN + n + 4, out);
}

static int
eng_fail(struct eng_err *er, enum eng_reply_status st, const char *code,
    const char *field, const char *fmt, ...)
{
	va_list ap;

	er->status = st;
	strbuf(er->code, sizeof(er->code), code);
	strbuf(er->field, sizeof(er->field), field);
	va_start(ap, fmt);
	vsnprintf(er->msg, sizeof(er->msg), fmt, ap);
	va_end(ap);
	return 1;
}

/* ---- the action buffer ---- */

void
eng_actions_reset(struct eng_actions *out)
{
	out->n = 0;
	out->arena_used = 0;
}

static bool
room(const struct eng_actions *out, size_t nact)
{
	return out->n <= ENG_ACTIONS_MAX && ENG_ACTIONS_MAX - out->n >= nact;
}

static uint8_t *
arena_free(struct eng_actions *out, size_t *cap)
{
	*cap = ENG_ARENA_BYTES - out->arena_used;
	return out->arena + out->arena_used;
}

static size_t
arena_pad(const struct eng_actions *out, size_t align)
{
	uintptr_t p = (uintptr_t)(out->arena + out->arena_used);

	return (size_t)((align - (p & (align - 1))) & (align - 1));
}

static bool
arena_room(const struct eng_actions *out, size_t len, size_t align)
{
	return ENG_ARENA_BYTES - out->arena_used >= arena_pad(out, align) + len;
}

/* Where arena_take(out, ., align) will start, without taking it. */
static void *
arena_peek(struct eng_actions *out, size_t align)
{
	return out->arena + out->arena_used + arena_pad(out, align);
}

/* Takes len bytes (room checked before); returns where they start. */
static void *
arena_take(struct eng_actions *out, size_t len, size_t align)
{
	void *p;

	assert(arena_room(out, len, align));
	out->arena_used += arena_pad(out, align);
	p = out->arena + out->arena_used;
	out->arena_used += len;
	return p;
}

static struct eng_action *
emit(struct eng_actions *out, enum eng_act_type type,
    const struct eng_event *ev)
{
	struct eng_action *a;

	assert(room(out, 1));
	a = &out->a[out->n++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->req_id = ev->req_id;
	return a;
}

static struct eng_reply *
emit_reply(struct eng_actions *out, const struct eng_event *ev,
    enum eng_reply_status st)
{
	struct eng_reply *r = &emit(out, ENG_ACT_REPLY, ev)->u.reply;

	r->status = st;
	return r;
}

static int
emit_error(struct eng_actions *out, const struct eng_event *ev,
    const struct eng_err *er)
{
	struct eng_reply *r = emit_reply(out, ev, er->status);

	strbuf(r->err_code, sizeof(r->err_code), er->code);
	strbuf(r->err_field, sizeof(r->err_field), er->field);
	strbuf(r->err_message, sizeof(r->err_message), er->msg);
	return 0;
}

static void
emit_publish(struct eng_actions *out, const struct eng_event *ev,
    enum proto_rec_type type, const char *uri, uint64_t seq,
    const uint8_t *bytes, size_t len)
{
	struct eng_publish *p = &emit(out, ENG_ACT_PUBLISH, ev)->u.pub;

	p->type = type;
	strbuf(p->uri, sizeof(p->uri), uri);
	p->seq = seq;
	p->bytes = bytes;
	p->len = len;
}

static int
reply_role(const struct engine *e, const struct eng_event *ev,
    struct eng_actions *out, const char *what)
{
	struct eng_err er;

	eng_fail(&er, ENG_FORBIDDEN, "forbidden", "", "a %s node does not "
	    "%s; an issuer node does", eng_role_name(e->cfg.role), what);
	return emit_error(out, ev, &er);
}

/* ---- roles ---- */

static const char *const role_names[] = {
	[ENG_ROLE_ROOT] = "root",
	[ENG_ROLE_ISSUER] = "issuer",
	[ENG_ROLE_OPERATOR] = "operator",
};

const char *
eng_role_name(enum eng_role r)
{
	if ((unsigned)r >= sizeof(role_names) / sizeof(role_names[0]))
		return "unknown";
	return role_names[r];
}

int
eng_role_parse(const char *s, enum eng_role *out)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof(role_names) /
	    sizeof(role_names[0]); i++)
		if (strcmp(s, role_names[i]) == 0) {
			*out = (enum eng_role)i;
			return 0;
		}
	return MRX_EINVAL;
}

/* ---- the verified-signature cache ---- */

static size_t
vc_home(const struct eng_vcache *vc, const uint8_t *h)
{
	return (size_t)load64(h) & (vc->nslots - 1);
}

/* The slot holding hash h, or SIZE_MAX. */
static size_t
vc_find(const struct eng_vcache *vc, const uint8_t *h)
{
	size_t i = vc_home(vc, h);

	while (vc->slot[i] != 0) {
		if (memcmp(vc->ring[vc->slot[i] - 1], h, CRY_SHA256_LEN) == 0)
			return i;
		i = (i + 1) & (vc->nslots - 1);
	}
	return SIZE_MAX;
}

/* Empties slot i and shifts its cluster back (no tombstones). */
static void
vc_delete(struct eng_vcache *vc, size_t i)
{
	size_t mask = vc->nslots - 1, j = i, k;

	for (;;) {
		j = (j + 1) & mask;
		if (vc->slot[j] == 0)
			break;
		k = vc_home(vc, vc->ring[vc->slot[j] - 1]);
		/* the entry at j may move to i unless its home is in (i, j] */
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			vc->slot[i] = vc->slot[j];
			i = j;
		}
	}
	vc->slot[i] = 0;
}

static void
vc_put_hash(struct eng_vcache *vc, const uint8_t *h)
{
	size_t i;

	if (vc_find(vc, h) != SIZE_MAX)
		return;
	if (vc->n == vc->max) {
		i = vc_find(vc, vc->ring[vc->head]);
		assert(i != SIZE_MAX);
		vc_delete(vc, i);
	} else {
		vc->n++;
	}
	memcpy(vc->ring[vc->head], h, CRY_SHA256_LEN);
	i = vc_home(vc, h);
	while (vc->slot[i] != 0)
		i = (i + 1) & (vc->nslots - 1);
	vc->slot[i] = (uint32_t)vc->head + 1;
	vc->head = (vc->head + 1) % vc->max;
}

/* Looks h up and counts the hit or miss. */
static bool
vc_has_hash(struct eng_vcache *vc, const uint8_t *h)
{
	bool hit = vc_find(vc, h) != SIZE_MAX;

	if (hit)
		vc->hits++;
	else
		vc->misses++;
	return hit;
}

static struct eng_vcache *
vc_new(size_t max)
{
	struct eng_vcache *vc = calloc(1, sizeof(*vc));

	if (vc == NULL)
		return NULL;
	vc->max = max;
	vc->nslots = pow2_at_least(2 * max);
	vc->ring = calloc(max, sizeof(*vc->ring));
	vc->slot = calloc(vc->nslots, sizeof(*vc->slot));
	if (vc->ring == NULL || vc->slot == NULL) {
		free(vc->ring);
		free(vc->slot);
		free(vc);
		return NULL;
	}
	return vc;
}

static void
vc_free(struct eng_vcache *vc)
{
	if (vc == NULL)
		return;
	free(vc->ring);
	free(vc->slot);
	free(vc);
}

static bool
vc_ok(const struct eng_vcache *vc)
{
	size_t i, used = 0;

	if (vc->n > vc->max || vc->head >= vc->max ||
	    (vc->n < vc->max && vc->head != vc->n))
		return false;
	for (i = 0; i < vc->nslots; i++) {
		if (vc->slot[i] == 0)
			continue;
		used++;
		if (vc->slot[i] > vc->n ||
		    vc_find(vc, vc->ring[vc->slot[i] - 1]) != i)
			return false;
	}
	return used == vc->n;
}

bool
eng_vcache_has(const struct engine *e, const uint8_t *bytes, size_t len)
{
	uint8_t h[CRY_SHA256_LEN];

	if (bytes == NULL || cry_sha256(bytes, len, h) != 0)
		return false;
	return vc_has_hash(e->vc, h);
}

void
eng_vcache_put(struct engine *e, const uint8_t *bytes, size_t len)
{
	uint8_t h[CRY_SHA256_LEN];

	if (bytes != NULL && cry_sha256(bytes, len, h) == 0)
		vc_put_hash(e->vc, h);
}

/* ---- the watch table ---- */

static int
feed_cmp(const struct eng_feed *f, const char *issuer, const char *uri)
{
	int c = strcmp(f->issuer, issuer);

	return c != 0 ? c : strcmp(f->uri, uri);
}

/* The id of (issuer, uri), or 0; *pos gets its place in `order`. */
static uint32_t
feed_search(const struct eng_watches *w, const char *issuer, const char *uri,
    size_t *pos)
{
	size_t lo = 0, hi = w->nfeeds, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = feed_cmp(&w->feeds[w->order[mid] - 1], issuer, uri);
		if (c == 0) {
			*pos = mid;
			return w->order[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return 0;
}

/* Makes room for one more feed. */
static int
feeds_reserve(struct eng_watches *w)
{
	struct eng_feed *f;
	uint32_t *o;
	size_t cap;

	if (w->nfeeds < w->feeds_cap)
		return 0;
	if (w->nfeeds == ENG_WATCH_FEEDS_MAX)
		return MRX_ENOSPC;
	cap = w->feeds_cap == 0 ? ENG_FEEDS_MIN : 2 * w->feeds_cap;
	if (cap > ENG_WATCH_FEEDS_MAX)
		cap = ENG_WATCH_FEEDS_MAX;
	f = realloc(w->feeds, cap * sizeof(*f));
	if (f == NULL)
		return MRX_ENOMEM;
	w->feeds = f;
	o = realloc(w->order, cap * sizeof(*o));
	if (o == NULL)
		return MRX_ENOMEM;
	w->order = o;
	w->feeds_cap = cap;
	return 0;
}

static uint32_t
feed_insert(struct eng_watches *w, const char *issuer, const char *uri,
    size_t pos)
{
	struct eng_feed *f;

	assert(w->nfeeds < w->feeds_cap);
	f = &w->feeds[w->nfeeds++];
	strbuf(f->issuer, sizeof(f->issuer), issuer);
	strbuf(f->uri, sizeof(f->uri), uri);
	memmove(&w->order[pos + 1], &w->order[pos],
	    (w->nfeeds - 1 - pos) * sizeof(*w->order));
	w->order[pos] = (uint32_t)w->nfeeds;
	return (uint32_t)w->nfeeds;
}

static size_t
watch_home(size_t nslots, uint32_t feed, uint32_t idx)
{
	return (size_t)mix64((uint64_t)feed << 32 | idx) & (nslots - 1);
}

static void
watch_place(struct eng_watch *slot, size_t nslots, const struct eng_watch *wt)
{
	size_t i = watch_home(nslots, wt->feed, wt->idx);

	while (slot[i].feed != 0)
		i = (i + 1) & (nslots - 1);
	slot[i] = *wt;
}

/* Makes room for one more watch (grows at 3/4 full, rehashing in order). */
static int
slots_reserve(struct eng_watches *w)
{
	struct eng_watch *ns;
	size_t nn, i;

	if (w->nslots != 0 && (w->n + 1) * 4 <= w->nslots * 3)
		return 0;
	nn = w->nslots == 0 ? ENG_WATCH_SLOTS_MIN : 2 * w->nslots;
	ns = calloc(nn, sizeof(*ns));
	if (ns == NULL)
		return MRX_ENOMEM;
	for (i = 0; i < w->nslots; i++)
		if (w->slot[i].feed != 0)
			watch_place(ns, nn, &w->slot[i]);
	free(w->slot);
	w->slot = ns;
	w->nslots = nn;
	return 0;
}

/*
 * The watches on (feed, idx): their number, and whether `cti` (may be
 * NULL) is among them; up to ENG_WATCHES_PER_ENTRY_MAX ids into `ctis`
 * (may be NULL). All of one key's watches lie in the cluster that starts
 * at its home slot, since nothing is ever deleted.
 */
static size_t
watch_scan(const struct eng_watches *w, uint32_t feed, uint32_t idx,
    const uint8_t *cti, bool *found,
    uint8_t ctis[][PROTO_CTI_LEN])
{
	size_t i, n = 0;

	if (found != NULL)
		*found = false;
	if (w->nslots == 0 || feed == 0)
		return 0;
	for (i = watch_home(w->nslots, feed, idx); w->slot[i].feed != 0;
	    i = (i + 1) & (w->nslots - 1)) {
		if (w->slot[i].feed != feed || w->slot[i].idx != idx)
			continue;
		if (cti != NULL && memcmp(w->slot[i].cti, cti,
		    PROTO_CTI_LEN) == 0)
			*found = true;
		if (ctis != NULL && n < ENG_WATCHES_PER_ENTRY_MAX)
			memcpy(ctis[n], w->slot[i].cti, PROTO_CTI_LEN);
		n++;
	}
	return n;
}

/*
 * Adds a watch. *added tells whether it is new. MRX_ENOSPC when a bound
 * is reached, MRX_ENOMEM; the set of watches is unchanged on error.
 */
static int
watch_add(struct eng_watches *w, const char *issuer, const char *uri,
    uint32_t idx, const uint8_t *cti, bool *added)
{
	struct eng_watch wt;
	size_t pos;
	uint32_t feed;
	bool found;
	int rc;

	*added = false;
	feed = feed_search(w, issuer, uri, &pos);
	if (feed != 0) {
		if (watch_scan(w, feed, idx, cti, &found, NULL) >=
		    ENG_WATCHES_PER_ENTRY_MAX && !found)
			return MRX_ENOSPC;
		if (found)
			return 0;
	} else if ((rc = feeds_reserve(w)) != 0) {
		return rc;
	}
	if (w->n >= w->max)
		return MRX_ENOSPC;
	if ((rc = slots_reserve(w)) != 0)
		return rc;
	if (feed == 0)
		feed = feed_insert(w, issuer, uri, pos);
	wt.feed = feed;
	wt.idx = idx;
	memcpy(wt.cti, cti, PROTO_CTI_LEN);
	watch_place(w->slot, w->nslots, &wt);
	w->n++;
	*added = true;
	return 0;
}

static int
cti_cmp(const void *a, const void *b)
{
	return memcmp(a, b, PROTO_CTI_LEN);
}

/* The records watched on (issuer, uri, idx), sorted; returns how many. */
static size_t
watch_list(const struct eng_watches *w, const char *issuer, const char *uri,
    uint32_t idx, uint8_t ctis[ENG_WATCHES_PER_ENTRY_MAX][PROTO_CTI_LEN])
{
	size_t pos, n;
	uint32_t feed = feed_search(w, issuer, uri, &pos);

	n = watch_scan(w, feed, idx, NULL, NULL, ctis);
	assert(n <= ENG_WATCHES_PER_ENTRY_MAX);
	qsort(ctis, n, PROTO_CTI_LEN, cti_cmp);
	return n;
}

static bool
watches_ok(const struct eng_watches *w)
{
	size_t i, j, used = 0;

	if (w->n > w->max || w->nfeeds > w->feeds_cap ||
	    (w->nslots != 0 && w->n * 4 > w->nslots * 3))
		return false;
	for (i = 0; i < w->nfeeds; i++)
		if (w->order[i] == 0 || w->order[i] > w->nfeeds ||
		    (i > 0 && feed_cmp(&w->feeds[w->order[i - 1] - 1],
		    w->feeds[w->order[i] - 1].issuer,
		    w->feeds[w->order[i] - 1].uri) >= 0))
			return false;
	for (i = 0; i < w->nslots; i++) {
		if (w->slot[i].feed == 0)
			continue;
		used++;
		if (w->slot[i].feed > w->nfeeds)
			return false;
		/* reachable from its home without crossing an empty slot */
		j = watch_home(w->nslots, w->slot[i].feed, w->slot[i].idx);
		while (j != i) {
			if (w->slot[j].feed == 0)
				return false;
			j = (j + 1) & (w->nslots - 1);
		}
	}
	return used == w->n;
}

static void
watches_fini(struct eng_watches *w)
{
	free(w->feeds);
	free(w->order);
	free(w->slot);
	memset(w, 0, sizeof(*w));
}

/* ---- own status lists ---- */

static void
list_uri(const struct engine *e, size_t n, char *buf, size_t cap)
{
	snprintf(buf, cap, ENG_URI_SCHEME "%s" ENG_URI_STATUS "%zu", e->cfg.id,
	    n + 1);
}

/* The index of the own list at `uri`, or SIZE_MAX: parses the number,
 * then confirms. */
static size_t
list_find(const struct engine *e, const char *uri)
{
	size_t plen = strlen(ENG_URI_SCHEME), ilen = strlen(e->cfg.id);
	size_t slen = strlen(ENG_URI_STATUS), n = 0;
	const char *p;

	if (strncmp(uri, ENG_URI_SCHEME, plen) != 0 ||
	    strncmp(uri + plen, e->cfg.id, ilen) != 0 ||
	    strncmp(uri + plen + ilen, ENG_URI_STATUS, slen) != 0)
		return SIZE_MAX;
	for (p = uri + plen + ilen + slen; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (size_t)(*p - '0');
		if (n > e->nlists)
			return SIZE_MAX;
	}
	if (n == 0 || strcmp(e->lists[n - 1].sl.c.sub, uri) != 0)
		return SIZE_MAX;
	return n - 1;
}

static bool
bit_get(const uint8_t *bitmap, uint32_t idx)
{
	return (bitmap[idx / 8] >> (idx % 8)) & 1;
}

static bool
alloc_get(const struct eng_list *l, uint32_t idx)
{
	return bit_get(l->alloc, idx);
}

static void
list_free(struct eng_list *l)
{
	proto_status_list_fini(&l->sl);
	free(l->alloc);
	free(l->rec);
	memset(l, 0, sizeof(*l));
}

static uint32_t
popcount(const uint8_t *p, size_t n)
{
	uint32_t c = 0;
	size_t i;

	for (i = 0; i < n; i++)
		c += (uint32_t)__builtin_popcount(p[i]);
	return c;
}

/* Every entry that is not valid is allocated (reasons name exactly them). */
static bool
changes_allocated(const struct proto_status_list *sl, const uint8_t *alloc)
{
	size_t i;

	for (i = 0; i < sl->nreasons; i++)
		if (!bit_get(alloc, sl->reasons[i].idx))
			return false;
	return true;
}

static bool
list_ok(const struct engine *e, size_t n)
{
	const struct eng_list *l = &e->lists[n];
	char uri[PROTO_URI_MAX + 1];

	list_uri(e, n, uri, sizeof(uri));
	return strcmp(l->sl.c.sub, uri) == 0 &&
	    strcmp(l->sl.c.iss, e->cfg.id) == 0 &&
	    proto_status_list_check(&l->sl, NULL) == 0 &&
	    l->sl.size % 8 == 0 && l->alloc != NULL &&
	    l->nalloc <= l->sl.size / 2 &&
	    popcount(l->alloc, l->sl.size / 8) == l->nalloc &&
	    (l->sl.seq == 0) == !l->sl.has_head &&
	    changes_allocated(&l->sl, l->alloc);
}

/* Prepares list number e->nlists (not yet installed). */
static int
list_prepare(const struct engine *e, const struct eng_event *ev,
    struct eng_list *l)
{
	uint8_t h[CRY_SHA256_LEN];
	int rc;

	memset(l, 0, sizeof(*l));
	rc = derive(ev->rnd, "mrx list cti", 0, h);
	if (rc != 0)
		return rc;
	rc = proto_status_list_init(&l->sl, e->list_size);
	if (rc != 0)
		return rc;
	l->alloc = calloc(e->list_size / 8, 1);
	if (l->alloc == NULL) {
		list_free(l);
		return MRX_ENOMEM;
	}
	strbuf(l->sl.c.iss, sizeof(l->sl.c.iss), e->cfg.id);
	list_uri(e, e->nlists, l->sl.c.sub, sizeof(l->sl.c.sub));
	l->sl.c.iat = ev->now;
	memcpy(l->sl.c.cti, h, PROTO_CTI_LEN);
	return 0;
}

/* Moves a prepared list into place and registers it: the one step of
 * opening a list that can fail, taken before anything else changes. */
static int
list_install(struct engine *e, struct eng_list *l)
{
	struct eng_list *dst = &e->lists[e->nlists];
	int rc;

	assert(e->nlists < ENG_LISTS_MAX);
	*dst = *l;
	rc = proto_trust_own_status(e->trust, e->cfg.id, &dst->sl);
	if (rc != 0) {
		memset(dst, 0, sizeof(*dst));
		return rc;
	}
	memset(l, 0, sizeof(*l));
	e->nlists++;
	return 0;
}

/*
 * Draws a free index of `l` (less than half allocated): up to 64 uniform
 * candidates from the event's randomness, each free with probability
 * >= 1/2; should all 64 be taken (p <= 2^-64), the next free one after the
 * last. The modulo bias is below size / 2^64.
 */
static int
draw_index(const struct eng_list *l, const uint8_t rnd[ENG_RAND_LEN],
    uint32_t *idx)
{
	uint8_t blk[CRY_SHA256_LEN];
	uint32_t k, j, i = 0;
	int rc;

	assert(l->nalloc < l->sl.size / 2);
	for (k = 0; k < ENG_DRAW_BLOCKS; k++) {
		rc = derive(rnd, "mrx status index", k, blk);
		if (rc != 0)
			return rc;
		for (j = 0; j < CRY_SHA256_LEN / 8; j++) {
			i = (uint32_t)(load64(blk + 8 * j) % l->sl.size);
			if (!alloc_get(l, i)) {
				*idx = i;
				return 0;
			}
		}
	}
	while (alloc_get(l, i))
		i = (i + 1) % l->sl.size;
	*idx = i;
	return 0;
}

/* ---- issuance ---- */

/* Working state of one issuance, complete before anything changes. */
struct issue {
	struct proto_record rec;	/* what is signed */
	struct eng_list fresh;		/* the list to open, if opening */
	bool opening;
	struct eng_list *list;		/* where the index is drawn */
	const uint8_t *bytes;		/* the signed record, arena */
	size_t len;
};

/* Validity: years then seconds from now, or the default in years. */
static int
validity(const struct eng_event *ev, int years, int64_t seconds,
    int default_years, int64_t *exp, struct eng_err *er)
{
	int64_t t;

	if (years < 0 || years > ENG_VALID_YEARS_MAX || seconds < 0 ||
	    seconds > ENG_VALID_YEARS_MAX * ENG_YEAR_S)
		return eng_fail(er, ENG_BAD_REQUEST, "invalid-validity",
		    "valid_for", "a validity is 0..%d years and 0..%lld "
		    "seconds", ENG_VALID_YEARS_MAX,
		    (long long)(ENG_VALID_YEARS_MAX * ENG_YEAR_S));
	if (years == 0 && seconds == 0)
		years = default_years;
	if (proto_time_add_years(ev->now, years, &t) != 0 ||
	    t > PROTO_TIME_MAX - seconds)
		return eng_fail(er, ENG_BAD_REQUEST, "invalid-validity",
		    "valid_for", "the validity ends after 9999-12-31");
	*exp = t + seconds;
	return 0;
}

static int
check_scopes(const struct proto_strs *s, struct eng_err *er)
{
	size_t i;

	if (s->n > PROTO_LIST_MAX)
		return eng_fail(er, ENG_BAD_REQUEST, "invalid-scope", "scopes",
		    "%zu scopes, at most %d", s->n, PROTO_LIST_MAX);
	for (i = 0; i < s->n; i++)
		if (!terminated(s->v[i], sizeof(s->v[i])))
			return eng_fail(er, ENG_BAD_REQUEST, "invalid-scope",
			    "scopes", "scope %zu is not terminated", i);
	return 0;
}

/*
 * Does this node's delegation cover these levels and scopes now? A level
 * or scope it does not cover is the request's fault (400, naming the
 * field); no delegation in force for the node's key is the node's (403).
 */
static int
check_delegated(const struct engine *e, const struct eng_event *ev,
    const struct proto_strs *levels, const struct proto_strs *scopes,
    const char *level_field, struct eng_err *er)
{
	struct mrx_diag d;
	int rc;

	mrx_diag_clear(&d);
	rc = proto_trust_may_issue(e->trust, e->cfg.id,
	    cry_key_kid(e->cfg.key), ev->now, levels, scopes, &d);
	if (rc == 0)
		return 0;
	/* no delegation in force: no request could succeed here */
	if (rc == MRX_ENOENT)
		return eng_fail(er, ENG_FORBIDDEN, d.field, "", "%s", d.msg);
	return eng_fail(er, ENG_BAD_REQUEST, d.field,
	    strcmp(d.field, "scope-not-delegated") == 0 ? "scopes" :
	    level_field, "%s", d.msg);
}

static bool
subject_ok(const char *s)
{
	size_t i;

	for (i = 0; i < 2 * PROTO_SUBJECT_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return false;
	return s[i] == '\0';
}

/* Validates a clearance request and fills the record's fields. */
static int
clearance_fields(const struct engine *e, const struct eng_event *ev,
    struct proto_record *rec, struct eng_err *er)
{
	const struct eng_issue_clearance *rq = &ev->u.clr;
	struct proto_clearance *c = &rec->u.clr;
	const struct proto_level *lv;
	struct proto_strs one;

	if (!terminated(rq->sub, sizeof(rq->sub)) || !subject_ok(rq->sub))
		return eng_fail(er, ENG_BAD_REQUEST, "invalid-sub", "sub",
		    "a subject id is 32 lowercase hex digits");
	lv = terminated(rq->level, sizeof(rq->level)) ?
	    proto_level_find(rq->level) : NULL;
	if (lv == NULL)
		return eng_fail(er, ENG_BAD_REQUEST, "invalid-level", "level",
		    "not a known SCHEME:LEVEL");
	if (!terminated(rq->operator_id, sizeof(rq->operator_id)) ||
	    !proto_id_valid(rq->operator_id))
		return eng_fail(er, ENG_BAD_REQUEST, "invalid-operator",
		    "operator", "an operator id is [a-z0-9][a-z0-9.-]*, at "
		    "most %d bytes", PROTO_ID_MAX);
	if (check_scopes(&rq->scopes, er) != 0 ||
	    validity(ev, rq->valid_years, rq->valid_seconds,
	    lv->default_years, &c->c.exp, er) != 0)
		return 1;
	memset(&one, 0, sizeof(one));
	strbuf(one.v[0], sizeof(one.v[0]), lv->name);
	one.n = 1;
	if (check_delegated(e, ev, &one, &rq->scopes, "level", er) != 0)
		return 1;
	rec->type = PROTO_REC_CLEARANCE;
	strbuf(c->c.sub, sizeof(c->c.sub), rq->sub);
	strbuf(c->level, sizeof(c->level), lv->name);
	c->scopes = rq->scopes;
	strbuf(c->operator_id, sizeof(c->operator_id), rq->operator_id);
	return 0;
}

/* Validates an operator certification request and fills the record. */
static int
operator_fields(const struct engine *e, const struct eng_event *ev,
    struct proto_record *rec, struct eng_err *er)
{
	const struct eng_issue_operator *rq = &ev->u.op;
	struct proto_operator_cert *o = &rec->u.op;
	char f[32];
	size_t i;

	if (!terminated(rq->sub, sizeof(rq->sub)) || !proto_id_valid(rq->sub))
		return eng_fail(er, ENG_BAD_REQUEST, "invalid-sub", "sub",
		    "an operator id is [a-z0-9][a-z0-9.-]*, at most %d bytes",
		    PROTO_ID_MAX);
	if (rq->levels.n == 0 || rq->levels.n > PROTO_LIST_MAX)
		return eng_fail(er, ENG_BAD_REQUEST, "invalid-level", "levels",
		    "an operator is certified for 1..%d levels",
		    PROTO_LIST_MAX);
	for (i = 0; i < rq->levels.n; i++) {
		snprintf(f, sizeof(f), "levels[%zu]", i);
		if (!terminated(rq->levels.v[i], sizeof(rq->levels.v[i])) ||
		    proto_level_find(rq->levels.v[i]) == NULL)
			return eng_fail(er, ENG_BAD_REQUEST, "invalid-level", f,
			    "not a known SCHEME:LEVEL");
	}
	if (check_scopes(&rq->scopes, er) != 0 ||
	    validity(ev, rq->valid_years, rq->valid_seconds,
	    ENG_OPERATOR_YEARS_DEFAULT, &o->c.exp, er) != 0 ||
	    check_delegated(e, ev, &rq->levels, &rq->scopes, "levels",
	    er) != 0)
		return 1;
	rec->type = PROTO_REC_OPERATOR;
	strbuf(o->c.sub, sizeof(o->c.sub), rq->sub);
	o->levels = rq->levels;
	o->scopes = rq->scopes;
	return 0;
}

/* Picks the list to draw from, preparing a new one when the last is half
 * allocated. Returns 0, 1 with er set (no list left), or an error. */
static int
issue_list(struct engine *e, const struct eng_event *ev, struct issue *is,
    struct eng_err *er)
{
	struct eng_list *last;
	int rc;

	last = e->nlists > 0 ? &e->lists[e->nlists - 1] : NULL;
	if (last != NULL && last->nalloc < last->sl.size / 2) {
		is->list = last;
		return 0;
	}
	if (e->nlists == ENG_LISTS_MAX)
		return eng_fail(er, ENG_UNAVAILABLE, "capacity", "", "all %d "
		    "status lists of this issuer are in use", ENG_LISTS_MAX);
	rc = list_prepare(e, ev, &is->fresh);
	if (rc != 0)
		return rc;
	is->opening = true;
	is->list = &is->fresh;
	return 0;
}

/* Maps a field of the encoder's diag to the request's field. */
static void
encoder_error(const struct mrx_diag *d, struct eng_err *er)
{
	static const struct {
		const char *payload, *field, *code;
	} map[] = {
		{ "payload.scopes", "scopes", "invalid-scope" },
		{ "payload.levels", "levels", "invalid-level" },
		{ "payload.level", "level", "invalid-level" },
		{ "payload.operator", "operator", "invalid-operator" },
		{ "payload.sub", "sub", "invalid-sub" },
		{ "payload.exp", "valid_for", "invalid-validity" },
	};
	char f[sizeof(er->field)];
	size_t i, n;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		n = strlen(map[i].payload);
		if (strncmp(d->field, map[i].payload, n) == 0 &&
		    (d->field[n] == '\0' || d->field[n] == '[')) {
			snprintf(f, sizeof(f), "%s%s", map[i].field,
			    d->field + n);
			eng_fail(er, ENG_BAD_REQUEST, map[i].code, f, "%s",
			    d->msg);
			return;
		}
	}
	eng_fail(er, ENG_BAD_REQUEST, "invalid-value", d->field, "%s", d->msg);
}

static struct proto_claims *
issue_claims(struct issue *is)
{
	return is->rec.type == PROTO_REC_CLEARANCE ? &is->rec.u.clr.c :
	    &is->rec.u.op.c;
}

static struct proto_status_ref *
issue_ref(struct issue *is)
{
	return is->rec.type == PROTO_REC_CLEARANCE ? &is->rec.u.clr.status :
	    &is->rec.u.op.status;
}

/*
 * Draws the index and the record id, and signs the record into the
 * arena's free space (not taken yet). Returns 0, 1 with er set (the
 * encoder refused a field), MRX_ENOSPC when the arena is too small, or
 * another error.
 */
static int
issue_sign(const struct engine *e, const struct eng_event *ev,
    struct issue *is, struct eng_actions *out, struct eng_err *er)
{
	struct proto_claims *c = issue_claims(is);
	struct proto_status_ref *ref = issue_ref(is);
	uint8_t h[CRY_SHA256_LEN], *buf;
	struct mrx_diag d;
	size_t cap;
	int rc;

	if ((rc = draw_index(is->list, ev->rnd, &ref->idx)) != 0 ||
	    (rc = derive(ev->rnd, "mrx record cti", 0, h)) != 0)
		return rc;
	strbuf(ref->uri, sizeof(ref->uri), is->list->sl.c.sub);
	strbuf(c->iss, sizeof(c->iss), e->cfg.id);
	memcpy(c->cti, h, PROTO_CTI_LEN);
	c->iat = ev->now;
	c->nbf = ev->now;
	c->has_nbf = true;
	c->has_exp = true;
	buf = arena_free(out, &cap);
	mrx_diag_clear(&d);
	rc = proto_record_sign(&is->rec, e->cfg.key, buf, cap, &is->len, &d);
	if (rc == 0) {
		is->bytes = buf;
		return 0;
	}
	if (rc != MRX_ENOSPC && strncmp(d.field, "payload", 7) == 0) {
		encoder_error(&d, er);
		return 1;
	}
	return rc;
}

static void
emit_issue(const struct eng_event *ev, struct issue *is,
    struct eng_actions *out)
{
	const struct proto_claims *c = issue_claims(is);
	const struct proto_status_ref *ref = issue_ref(is);
	struct eng_persist_record *pr;
	struct eng_persist_list *pl;
	struct eng_audit *au;
	struct eng_reply *r;

	pr = &emit(out, ENG_ACT_PERSIST_RECORD, ev)->u.rec;
	pr->type = is->rec.type;
	memcpy(pr->cti, c->cti, PROTO_CTI_LEN);
	strbuf(pr->sub, sizeof(pr->sub), c->sub);
	pr->ref = *ref;
	pr->iat = c->iat;
	pr->exp = c->exp;
	pr->bytes = is->bytes;
	pr->len = is->len;
	pl = &emit(out, ENG_ACT_PERSIST_LIST, ev)->u.list;
	pl->sl = &is->list->sl;
	pl->alloc = is->list->alloc;
	pl->nalloc = is->list->nalloc;
	au = &emit(out, ENG_ACT_AUDIT, ev)->u.audit;
	au->kind = ENG_AUDIT_ISSUE;
	au->time = ev->now;
	au->rec_type = is->rec.type;
	memcpy(au->cti, c->cti, PROTO_CTI_LEN);
	au->has_cti = true;
	if (is->rec.type == PROTO_REC_CLEARANCE) {
		strbuf(au->level, sizeof(au->level), is->rec.u.clr.level);
		strbuf(au->operator_id, sizeof(au->operator_id),
		    is->rec.u.clr.operator_id);
	} else {
		strbuf(au->operator_id, sizeof(au->operator_id), c->sub);
	}
	r = emit_reply(out, ev, ENG_CREATED);
	memcpy(r->cti, c->cti, PROTO_CTI_LEN);
	r->record = is->bytes;
	r->record_len = is->len;
	r->ref = *ref;
}

/* Opens the prepared list if any, allocates the entry, takes the arena. */
static int
issue_change(struct engine *e, struct issue *is, struct eng_actions *out)
{
	uint32_t idx = issue_ref(is)->idx;
	int rc;

	if (is->opening) {
		rc = list_install(e, &is->fresh);
		if (rc != 0)
			return rc;
		is->list = &e->lists[e->nlists - 1];
	}
	/* nothing below can fail */
	is->list->alloc[idx / 8] |= (uint8_t)(1u << (idx % 8));
	is->list->nalloc++;
	(void)arena_take(out, is->len, 1);
	e->st.issued[is->rec.type]++;
	return 0;
}

static int
on_issue(struct engine *e, const struct eng_event *ev,
    struct eng_actions *out)
{
	bool clr = ev->type == ENG_EV_ISSUE_CLEARANCE;
	struct eng_err er;
	struct issue is;
	int rc;

	if (!room(out, 1))
		return MRX_ENOSPC;
	if (e->cfg.role != ENG_ROLE_ISSUER)
		return reply_role(e, ev, out, clr ? "issue clearances" :
		    "certify operators");
	memset(&is, 0, sizeof(is));
	rc = clr ? clearance_fields(e, ev, &is.rec, &er) :
	    operator_fields(e, ev, &is.rec, &er);
	if (rc != 0)
		return emit_error(out, ev, &er);
	if (!room(out, ENG_ISSUE_ACTIONS))
		return MRX_ENOSPC;
	rc = issue_list(e, ev, &is, &er);
	if (rc == 0)
		rc = issue_sign(e, ev, &is, out, &er);
	if (rc == 0)
		rc = issue_change(e, &is, out);
	list_free(&is.fresh);
	if (rc != 0)
		return rc > 0 ? emit_error(out, ev, &er) : rc;
	emit_issue(ev, &is, out);
	return 0;
}

/* ---- status changes ---- */

/* Working state of one status change, complete before anything changes. */
struct change {
	struct eng_list *list;
	struct proto_status_change ch;
	uint64_t seq;			/* the list's next */
	uint8_t head[PROTO_HASH_LEN];	/* the delta's record hash */
	const uint8_t *bytes;		/* the signed delta, arena */
	size_t len;
	uint8_t ctis[ENG_WATCHES_PER_ENTRY_MAX][PROTO_CTI_LEN]; /* watched */
	size_t nw;
};

static int
status_request(const struct eng_set_status *rq, struct eng_err *er)
{
	if (rq->rec_type != PROTO_REC_CLEARANCE &&
	    rq->rec_type != PROTO_REC_OPERATOR)
		return eng_fail(er, ENG_BAD_REQUEST, "invalid-value", "type",
		    "only clearances and operator certifications have a "
		    "status");
	if ((unsigned)rq->status > PROTO_STATUS_SUSPENDED)
		return eng_fail(er, ENG_BAD_REQUEST, "invalid-value", "status",
		    "status must be valid, revoked or suspended");
	if ((unsigned)rq->reason >= PROTO_REASON_COUNT)
		return eng_fail(er, ENG_BAD_REQUEST, "invalid-value", "reason",
		    "unknown reason code %u", (unsigned)rq->reason);
	return 0;
}

/* The index of the own list holding allocated entry `ref`, or SIZE_MAX. */
static size_t
entry_list(const struct engine *e, const struct proto_status_ref *ref)
{
	size_t n = SIZE_MAX;

	if (terminated(ref->uri, sizeof(ref->uri)))
		n = list_find(e, ref->uri);
	if (n == SIZE_MAX || ref->idx >= e->lists[n].sl.size ||
	    !alloc_get(&e->lists[n], ref->idx))
		return SIZE_MAX;
	return n;
}

/* Builds, signs (into the arena's free space) and hashes the delta. */
static int
delta_sign(const struct engine *e, const struct eng_event *ev,
    struct change *cg, struct eng_actions *out)
{
	struct proto_record rec, back;
	struct proto_status_delta *sd = &rec.u.sd;
	uint8_t h[CRY_SHA256_LEN], *buf;
	size_t cap;
	int rc;

	rc = derive(ev->rnd, "mrx record cti", 0, h);
	if (rc != 0)
		return rc;
	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_STATUS_DELTA;
	strbuf(sd->c.iss, sizeof(sd->c.iss), e->cfg.id);
	strbuf(sd->c.sub, sizeof(sd->c.sub), cg->list->sl.c.sub);
	sd->c.iat = ev->now;
	memcpy(sd->c.cti, h, PROTO_CTI_LEN);
	sd->seq = cg->list->sl.seq + 1;
	if (cg->list->sl.has_head)
		memcpy(sd->prev, cg->list->sl.head, PROTO_HASH_LEN);
	sd->changes[0] = cg->ch;
	sd->nchanges = 1;
	buf = arena_free(out, &cap);
	rc = proto_record_sign(&rec, e->cfg.key, buf, cap, &cg->len, NULL);
	if (rc != 0)
		return rc;
	rc = proto_record_decode(buf, cg->len, &back, NULL);
	if (rc == 0)
		rc = proto_record_hash(&back, cg->head);
	proto_record_fini(&back);
	cg->bytes = buf;
	cg->seq = sd->seq;
	return rc;
}

static void
reply_status(struct eng_actions *out, const struct eng_event *ev,
    enum proto_status st, uint64_t seq)
{
	struct eng_reply *r = emit_reply(out, ev, ENG_OK);

	memcpy(r->cti, ev->u.st.cti, PROTO_CTI_LEN);
	r->ref = ev->u.st.ref;
	r->entry_status = st;
	r->seq = seq;
}

static void
emit_alert(const struct engine *e, const struct eng_event *ev,
    const struct change *cg, size_t i, struct eng_actions *out)
{
	struct eng_alert *al = &emit(out, ENG_ACT_ALERT, ev)->u.alert;
	struct eng_audit *au;

	memcpy(al->cti, cg->ctis[i], PROTO_CTI_LEN);
	strbuf(al->issuer, sizeof(al->issuer), e->cfg.id);
	strbuf(al->uri, sizeof(al->uri), cg->list->sl.c.sub);
	al->status = (enum proto_status)cg->ch.status;
	al->reason = (enum proto_reason)cg->ch.reason;
	al->seq = cg->seq;
	al->time = ev->now;
	au = &emit(out, ENG_ACT_AUDIT, ev)->u.audit;
	au->kind = ENG_AUDIT_ALERT;
	au->time = ev->now;
	au->rec_type = ev->u.st.rec_type;
	memcpy(au->cti, cg->ctis[i], PROTO_CTI_LEN);
	au->has_cti = true;
	au->status = al->status;
	au->reason = al->reason;
	au->seq = cg->seq;
}

static void
emit_status(const struct engine *e, const struct eng_event *ev,
    const struct change *cg, struct eng_actions *out)
{
	const struct eng_set_status *rq = &ev->u.st;
	struct eng_persist_list *pl;
	struct eng_audit *au;
	size_t i;

	pl = &emit(out, ENG_ACT_PERSIST_LIST, ev)->u.list;
	pl->sl = &cg->list->sl;
	pl->alloc = cg->list->alloc;
	pl->nalloc = cg->list->nalloc;
	pl->has_change = true;
	pl->change = cg->ch;
	pl->delta = cg->bytes;
	pl->delta_len = cg->len;
	au = &emit(out, ENG_ACT_AUDIT, ev)->u.audit;
	au->kind = ENG_AUDIT_STATUS;
	au->time = ev->now;
	au->rec_type = rq->rec_type;
	memcpy(au->cti, rq->cti, PROTO_CTI_LEN);
	au->has_cti = true;
	au->status = rq->status;
	au->reason = rq->reason;
	au->seq = cg->seq;
	for (i = 0; i < cg->nw; i++)
		emit_alert(e, ev, cg, i, out);
	emit_publish(out, ev, PROTO_REC_STATUS_DELTA, cg->list->sl.c.sub,
	    cg->seq, cg->bytes, cg->len);
	reply_status(out, ev, rq->status, cg->seq);
}

static int
on_set_status(struct engine *e, const struct eng_event *ev,
    struct eng_actions *out)
{
	const struct eng_set_status *rq = &ev->u.st;
	enum proto_status cur;
	struct eng_err er;
	struct change cg;
	size_t n;
	int rc;

	if (!room(out, 1))
		return MRX_ENOSPC;
	if (e->cfg.role != ENG_ROLE_ISSUER)
		return reply_role(e, ev, out, "keep status lists");
	if (status_request(rq, &er) != 0)
		return emit_error(out, ev, &er);
	memset(&cg, 0, sizeof(cg));
	n = entry_list(e, &rq->ref);
	if (n == SIZE_MAX) {
		eng_fail(&er, ENG_NOT_FOUND, "not-found", "ref", "entry %u of "
		    "%.*s is not one this issuer allocated", rq->ref.idx,
		    PROTO_URI_MAX, rq->ref.uri);
		return emit_error(out, ev, &er);
	}
	cg.list = &e->lists[n];
	(void)proto_status_get(&cg.list->sl, rq->ref.idx, &cur, NULL);
	if (cur == rq->status) {
		reply_status(out, ev, cur, cg.list->sl.seq);
		return 0;
	}
	if (cur == PROTO_STATUS_REVOKED) {
		eng_fail(&er, ENG_CONFLICT, "revoked-final", "status", "a "
		    "revoked %s cannot be reinstated; issue a new one",
		    rq->rec_type == PROTO_REC_CLEARANCE ? "clearance" :
		    "operator certification");
		return emit_error(out, ev, &er);
	}
	cg.nw = watch_list(&e->w, e->cfg.id, rq->ref.uri, rq->ref.idx,
	    cg.ctis);
	if (!room(out, ENG_STATUS_ACTIONS + 2 * cg.nw))
		return MRX_ENOSPC;
	cg.ch.idx = rq->ref.idx;
	cg.ch.status = (uint8_t)rq->status;
	cg.ch.reason = (uint8_t)rq->reason;
	rc = delta_sign(e, ev, &cg, out);
	/* proto_status_set is all or nothing: the last step that can fail */
	if (rc == 0)
		rc = proto_status_set(&cg.list->sl, rq->ref.idx, rq->status,
		    rq->reason);
	if (rc != 0)
		return rc;
	cg.list->sl.seq = cg.seq;
	cg.list->sl.c.iat = ev->now;
	memcpy(cg.list->sl.head, cg.head, PROTO_HASH_LEN);
	cg.list->sl.has_head = true;
	(void)arena_take(out, cg.len, 1);
	e->st.status_changes++;
	e->st.alerts += cg.nw;
	e->st.published++;
	emit_status(e, ev, &cg, out);
	return 0;
}

/* ---- verification ---- */

/*
 * Is the signature of `bytes` known good: cached, or verified now with the
 * key the trust store designates? *put tells whether to cache it.
 */
static bool
sig_check(const struct engine *e, const uint8_t *bytes, size_t len,
    uint8_t h[CRY_SHA256_LEN], bool *put)
{
	const struct cry_key *key;
	struct cry_sign1 s;

	*put = false;
	if (cry_sha256(bytes, len, h) != 0)
		return false;
	if (vc_has_hash(e->vc, h))
		return true;
	key = proto_trust_signer(e->trust, bytes, len);
	if (key == NULL || cry_sign1_decode(bytes, len, &s, NULL) != 0 ||
	    cry_sign1_verify(&s, key, NULL, 0, NULL) != 0)
		return false;
	*put = true;
	return true;
}

/* Joins the decision's codes with ',' as far as whole codes fit. */
static void
join_codes(const struct proto_decision *d, char *buf, size_t cap)
{
	size_t i, n = 0, m;

	buf[0] = '\0';
	for (i = 0; i < d->nreasons; i++) {
		m = strlen(d->reasons[i].code);
		if (n + (n > 0) + m >= cap)
			break;
		if (n > 0)
			buf[n++] = ',';
		memcpy(buf + n, d->reasons[i].code, m + 1);
		n += m;
	}
}

static void
emit_decision(const struct eng_event *ev, const struct proto_decision *d,
    bool watched, struct eng_actions *out)
{
	struct eng_persist_watch *pw;
	struct eng_audit *au;

	if (watched) {
		pw = &emit(out, ENG_ACT_PERSIST_WATCH, ev)->u.watch;
		strbuf(pw->issuer, sizeof(pw->issuer), d->issuer);
		pw->ref = d->status_ref;
		memcpy(pw->cti, d->cti, PROTO_CTI_LEN);
	}
	au = &emit(out, ENG_ACT_AUDIT, ev)->u.audit;
	au->kind = ENG_AUDIT_DECISION;
	au->time = ev->now;
	au->rec_type = PROTO_REC_CLEARANCE;
	memcpy(au->cti, d->cti, PROTO_CTI_LEN);
	au->has_cti = d->has_cti;
	strbuf(au->level, sizeof(au->level), d->level);
	strbuf(au->operator_id, sizeof(au->operator_id), d->operator_id);
	au->verdict = d->verdict;
	join_codes(d, au->codes, sizeof(au->codes));
	strbuf(au->access, sizeof(au->access), ev->u.vf.access);
	emit_reply(out, ev, ENG_OK)->decision = d;
}

static int
verify_request(const struct eng_verify *rq, struct eng_err *er)
{
	if (rq->record == NULL || rq->record_len == 0)
		return eng_fail(er, ENG_BAD_REQUEST, "missing-field", "record",
		    "a clearance record is required");
	if (rq->operator_record != NULL && rq->operator_record_len == 0)
		return eng_fail(er, ENG_BAD_REQUEST, "invalid-value",
		    "operator_record", "the operator certification is empty");
	if (!terminated(rq->access, sizeof(rq->access)) ||
	    rq->access[0] == '\0')
		return eng_fail(er, ENG_BAD_REQUEST, "missing-field", "access",
		    "the requested access SCHEME:LEVEL is required");
	if (!terminated(rq->scope, sizeof(rq->scope)))
		return eng_fail(er, ENG_BAD_REQUEST, "invalid-value", "scope",
		    "the scope is not terminated");
	return 0;
}

/* Watches an accepted clearance; false when a bound keeps it out. */
static bool
verify_watch(struct engine *e, const struct proto_decision *d)
{
	bool added = false;

	if (watch_add(&e->w, d->issuer, d->status_ref.uri, d->status_ref.idx,
	    d->cti, &added) != 0) {
		e->st.watches_dropped++;
		return false;
	}
	return added;
}

static int
on_verify(struct engine *e, const struct eng_event *ev,
    struct eng_actions *out)
{
	const struct eng_verify *rq = &ev->u.vf;
	uint8_t hr[CRY_SHA256_LEN], ho[CRY_SHA256_LEN];
	struct proto_decide_req req;
	struct proto_decision *d;
	bool put_r = false, put_o = false, ok, watched = false;
	struct eng_err er;

	if (!room(out, ENG_VERIFY_ACTIONS) || !arena_room(out, sizeof(*d),
	    _Alignof(struct proto_decision)))
		return MRX_ENOSPC;
	if (verify_request(rq, &er) != 0)
		return emit_error(out, ev, &er);
	ok = rq->signatures_verified;
	if (!ok)
		ok = sig_check(e, rq->record, rq->record_len, hr, &put_r) &&
		    (rq->operator_record == NULL || sig_check(e,
		    rq->operator_record, rq->operator_record_len, ho, &put_o));
	memset(&req, 0, sizeof(req));
	req.record = rq->record;
	req.record_len = rq->record_len;
	req.operator_record = rq->operator_record;
	req.operator_record_len = rq->operator_record_len;
	req.access = rq->access;
	req.scope = rq->scope[0] != '\0' ? rq->scope : NULL;
	req.at = ev->now;
	req.now = ev->now;
	req.signatures_verified = ok;
	req.issuer_log = rq->issuer_log;
	req.operator_issuer_log = rq->operator_issuer_log;
	d = arena_peek(out, _Alignof(struct proto_decision));
	if (proto_decide(e->trust, &req, &e->cfg.policy, d) != 0)
		return MRX_EINVAL;	/* unreachable: arguments checked */
	(void)arena_take(out, sizeof(*d), _Alignof(struct proto_decision));
	if (put_r)
		vc_put_hash(e->vc, hr);
	if (put_o)
		vc_put_hash(e->vc, ho);
	if (d->verdict == PROTO_ACCEPT && d->has_cti)
		watched = verify_watch(e, d);
	e->st.decisions[d->verdict]++;
	emit_decision(ev, d, watched, out);
	return 0;
}

/* ---- feeds: the publisher ---- */

/* Signs a checkpoint of own list n into the arena (taken). */
static int
checkpoint_sign(const struct engine *e, const struct eng_event *ev, size_t n,
    struct eng_actions *out, const uint8_t **bytes, size_t *len)
{
	const struct eng_list *l = &e->lists[n];
	struct proto_record rec;
	struct proto_checkpoint *cp = &rec.u.cp;
	uint8_t h[CRY_SHA256_LEN], *buf;
	size_t cap;
	int rc;

	rc = derive(ev->rnd, "mrx checkpoint cti", (uint32_t)n, h);
	if (rc != 0)
		return rc;
	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_CHECKPOINT;
	strbuf(cp->c.iss, sizeof(cp->c.iss), e->cfg.id);
	strbuf(cp->c.sub, sizeof(cp->c.sub), l->sl.c.sub);
	cp->c.iat = ev->now;
	memcpy(cp->c.cti, h, PROTO_CTI_LEN);
	cp->seq = l->sl.seq;
	memcpy(cp->head, l->sl.head, PROTO_HASH_LEN);
	buf = arena_free(out, &cap);
	rc = proto_record_sign(&rec, e->cfg.key, buf, cap, len, NULL);
	if (rc != 0)
		return rc;
	*bytes = arena_take(out, *len, 1);
	return 0;
}

/*
 * A checkpoint of every own list, once per interval (at seq 0 its head is
 * zeros: what delta 1 will name as prev), all or none: on a shortage the buffer is put back as it was.
 */
static int
tick_checkpoints(struct engine *e, const struct eng_event *ev,
    struct eng_actions *out)
{
	size_t i, n = 0, n0 = out->n, used0 = out->arena_used, len;
	const uint8_t *b;
	int rc;

	if (e->cfg.checkpoint_interval_s == 0 || (e->cp_done &&
	    ev->now - e->cp_last < e->cfg.checkpoint_interval_s))
		return 0;
	n = e->nlists;
	if (n == 0)
		return 0;
	if (!room(out, n))
		return MRX_ENOSPC;
	for (i = 0; i < e->nlists; i++) {
		rc = checkpoint_sign(e, ev, i, out, &b, &len);
		if (rc != 0) {
			out->n = n0;
			out->arena_used = used0;
			return rc;
		}
		emit_publish(out, ev, PROTO_REC_CHECKPOINT,
		    e->lists[i].sl.c.sub, e->lists[i].sl.seq, b, len);
	}
	e->cp_last = ev->now;
	e->cp_done = true;
	e->st.checkpoints += n;
	e->st.published += n;
	return 0;
}

/*
 * Signs own list l as a status-list record. The cti is derived from the
 * list's own and the seq, and iat is the time of the last change, so the
 * payload is a function of the list's state: signing it again after a
 * restart gives the same record hash.
 */
static int
list_sign(struct engine *e, struct eng_list *l)
{
	struct proto_record rec;
	uint8_t in[PROTO_CTI_LEN + 8 + 16], h[CRY_SHA256_LEN], *buf, *p;
	size_t len;
	int i, rc;

	memcpy(in, l->sl.c.cti, PROTO_CTI_LEN);
	for (i = 0; i < 8; i++)
		in[PROTO_CTI_LEN + i] = (uint8_t)(l->sl.seq >> (56 - 8 * i));
	memcpy(in + PROTO_CTI_LEN + 8, "mrx list record.", 16);
	rc = cry_sha256(in, sizeof(in), h);
	if (rc != 0)
		return rc;
	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_STATUS_LIST;
	rec.u.sl = l->sl;		/* a view: never finalised */
	memcpy(rec.u.sl.c.cti, h, PROTO_CTI_LEN);
	buf = malloc(PROTO_STATUS_LIST_MAX);
	if (buf == NULL)
		return MRX_ENOMEM;
	rc = proto_record_sign(&rec, e->cfg.key, buf, PROTO_STATUS_LIST_MAX,
	    &len, NULL);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	p = realloc(buf, len);
	if (p != NULL)
		buf = p;
	free(l->rec);
	l->rec = buf;
	l->rec_len = len;
	l->rec_seq = l->sl.seq;
	e->st.lists_signed++;
	return 0;
}

int
eng_list_record(struct engine *e, const char *uri, const uint8_t **rec,
    size_t *len, uint64_t *seq)
{
	struct eng_list *l;
	size_t n;
	int rc;

	assert(e != NULL && rec != NULL && len != NULL);
	n = uri != NULL && strnlen(uri, PROTO_URI_MAX + 1) <= PROTO_URI_MAX ?
	    list_find(e, uri) : SIZE_MAX;
	if (n == SIZE_MAX)
		return MRX_ENOENT;
	l = &e->lists[n];
	if (l->rec == NULL || l->rec_seq != l->sl.seq) {
		rc = list_sign(e, l);
		if (rc != 0)
			return rc;
	}
	*rec = l->rec;
	*len = l->rec_len;
	if (seq != NULL)
		*seq = l->sl.seq;
	return 0;
}

static int
on_catchup_request(struct engine *e, const struct eng_event *ev,
    struct eng_actions *out)
{
	const struct eng_catchup_request *rq = &ev->u.cu;
	struct eng_reply *r;
	struct eng_err er;
	uint64_t max, seq, to;
	size_t n;

	if (!room(out, 1))
		return MRX_ENOSPC;
	if (e->cfg.role != ENG_ROLE_ISSUER)
		return reply_role(e, ev, out, "serve catch-ups");
	n = terminated(rq->uri, sizeof(rq->uri)) ? list_find(e, rq->uri) :
	    SIZE_MAX;
	if (n == SIZE_MAX) {
		eng_fail(&er, ENG_NOT_FOUND, "not-found", "uri", "%.*s is not "
		    "a status list of this issuer", PROTO_URI_MAX, rq->uri);
		return emit_error(out, ev, &er);
	}
	if (rq->from_seq == 0) {
		eng_fail(&er, ENG_BAD_REQUEST, "invalid-value", "from_seq",
		    "a catch-up starts at seq 1; a peer that holds no list "
		    "fetches the whole list");
		return emit_error(out, ev, &er);
	}
	max = rq->max == 0 ? ENG_CATCHUP_DEFAULT : rq->max;
	if (max > ENG_CATCHUP_MAX)
		max = ENG_CATCHUP_MAX;
	seq = e->lists[n].sl.seq;
	if (rq->from_seq > seq)
		to = rq->from_seq - 1;	/* nothing newer */
	else
		to = seq - rq->from_seq >= max ? rq->from_seq + max - 1 : seq;
	r = emit_reply(out, ev, ENG_OK);
	strbuf(r->ref.uri, sizeof(r->ref.uri), rq->uri);
	r->seq = seq;
	r->from_seq = rq->from_seq;
	r->to_seq = to;
	e->st.catchup_requests++;
	return 0;
}

/* ---- feeds: the subscriber ---- */

static const char *const feed_why_names[ENG_FEED_WHY_COUNT] = {
	[ENG_FEED_MALFORMED] = "malformed",
	[ENG_FEED_WRONG_TYPE] = "wrong-type",
	[ENG_FEED_UNKNOWN_ISSUER] = "unknown-issuer",
	[ENG_FEED_UNKNOWN_KEY] = "unknown-key",
	[ENG_FEED_OUTSIDE_DELEGATION] = "outside-delegation",
	[ENG_FEED_KEY_REVOKED] = "key-revoked",
	[ENG_FEED_BAD_SIGNATURE] = "bad-signature",
	[ENG_FEED_FUTURE] = "issued-in-future",
	[ENG_FEED_OWN] = "own-feed",
	[ENG_FEED_INCONSISTENT] = "inconsistent",
	[ENG_FEED_DISTRUSTED] = "distrusted",
	[ENG_FEED_CAPACITY] = "capacity",
};

const char *
eng_feed_why_name(enum eng_feed_why w)
{
	if ((unsigned)w >= ENG_FEED_WHY_COUNT)
		return "unknown";
	return feed_why_names[w];
}

/* The refusal a trust-store reason code stands for. */
static enum eng_feed_why
feed_why(const char *code)
{
	size_t i;

	if (strcmp(code, "unsupported-alg") == 0)
		return ENG_FEED_BAD_SIGNATURE;
	for (i = 0; i < ENG_FEED_WHY_COUNT; i++)
		if (strcmp(code, feed_why_names[i]) == 0)
			return (enum eng_feed_why)i;
	return ENG_FEED_INCONSISTENT;
}

static void
held_free(struct eng_held *h)
{
	free(h->bytes);
	memset(h, 0, sizeof(*h));
}

/* Fills h with a copy of bytes (NULL keeps none). MRX_ENOMEM. */
static int
held_make(struct eng_held *h, uint64_t seq, const uint8_t *hash,
    const uint8_t *bytes, size_t len)
{
	memset(h, 0, sizeof(*h));
	h->seq = seq;
	memcpy(h->hash, hash, PROTO_HASH_LEN);
	if (bytes == NULL)
		return 0;
	h->bytes = malloc(len);
	if (h->bytes == NULL)
		return MRX_ENOMEM;
	memcpy(h->bytes, bytes, len);
	h->len = len;
	return 0;
}

static void
sub_free(struct eng_sub *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nhist; i++)
		held_free(&s->hist[i]);
	for (i = 0; i < s->npend; i++)
		held_free(&s->pend[i]);
	held_free(&s->base);
	free(s);
}

static int
sub_cmp(const struct eng_sub *s, const char *issuer, const char *uri)
{
	int c = strcmp(s->issuer, issuer);

	return c != 0 ? c : strcmp(s->uri, uri);
}

/* The sub of (issuer, uri), or NULL; *pos gets its place in subs. */
static struct eng_sub *
sub_find(const struct engine *e, const char *issuer, const char *uri,
    size_t *pos)
{
	size_t lo = 0, hi = e->nsubs, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = sub_cmp(e->subs[mid], issuer, uri);
		if (c == 0) {
			*pos = mid;
			return e->subs[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return NULL;
}

/* The sub of (issuer, uri), made empty if new. MRX_ENOSPC, MRX_ENOMEM. */
static int
sub_get(struct engine *e, const char *issuer, const char *uri,
    struct eng_sub **out)
{
	struct eng_sub **a, *s;
	size_t pos, cap;

	*out = sub_find(e, issuer, uri, &pos);
	if (*out != NULL)
		return 0;
	if (e->nsubs == ENG_SUBS_MAX)
		return MRX_ENOSPC;
	if (e->nsubs == e->subs_cap) {
		cap = e->subs_cap == 0 ? ENG_FEEDS_MIN : 2 * e->subs_cap;
		if (cap > ENG_SUBS_MAX)
			cap = ENG_SUBS_MAX;
		a = realloc(e->subs, cap * sizeof(*a));
		if (a == NULL)
			return MRX_ENOMEM;
		e->subs = a;
		e->subs_cap = cap;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return MRX_ENOMEM;
	strbuf(s->issuer, sizeof(s->issuer), issuer);
	strbuf(s->uri, sizeof(s->uri), uri);
	memmove(&e->subs[pos + 1], &e->subs[pos],
	    (e->nsubs - pos) * sizeof(*e->subs));
	e->subs[pos] = s;
	e->nsubs++;
	*out = s;
	return 0;
}

static bool
held_sorted(const struct eng_held *h, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (h[i - 1].seq >= h[i].seq)
			return false;
	return true;
}

static bool
subs_ok(const struct engine *e)
{
	const struct eng_sub *s;
	size_t i;

	for (i = 0; i < e->nsubs; i++) {
		s = e->subs[i];
		if (s == NULL || (i > 0 && sub_cmp(e->subs[i - 1], s->issuer,
		    s->uri) >= 0) || s->nhist > ENG_SUB_HISTORY ||
		    s->npend > ENG_SUB_PENDING_MAX ||
		    !held_sorted(s->hist, s->nhist) ||
		    !held_sorted(s->pend, s->npend) ||
		    (s->distrusted && s->npend != 0))
			return false;
	}
	return true;
}

/* One alert a feed record raises: a watched record whose status changed. */
struct feed_alert {
	uint8_t cti[PROTO_CTI_LEN];
	uint8_t status;			/* enum proto_status */
	uint8_t reason;			/* enum proto_reason */
};

struct feed_alerts {
	struct feed_alert *a;		/* heap, cap entries */
	size_t n, cap;
	uint64_t dropped;		/* beyond cap */
};

/* What one feed event works on. */
struct feed {
	struct engine *e;
	const struct eng_event *ev;
	struct eng_actions *out;
	struct eng_sub *sub;
	struct proto_status_info in;	/* the state held; has_list false
					 * when none */
};

static void
feed_refuse(struct engine *e, enum eng_feed_why why)
{
	e->st.feed_refused[why]++;
}

static void
feed_reload(struct feed *f)
{
	if (proto_trust_status_info(f->e->trust, f->sub->issuer, f->sub->uri,
	    &f->in) != 0)
		memset(&f->in, 0, sizeof(f->in));
}

/* Adds the alerts for entry idx going from `was` to `now_st`. */
static void
alerts_entry(const struct feed *f, struct feed_alerts *al, uint32_t idx,
    enum proto_status was, enum proto_status now_st, enum proto_reason why)
{
	uint8_t ctis[ENG_WATCHES_PER_ENTRY_MAX][PROTO_CTI_LEN];
	size_t i, n;

	if (was == now_st)
		return;
	n = watch_list(&f->e->w, f->sub->issuer, f->sub->uri, idx, ctis);
	for (i = 0; i < n; i++) {
		if (al->n == al->cap) {
			al->dropped++;
			continue;
		}
		memcpy(al->a[al->n].cti, ctis[i], PROTO_CTI_LEN);
		al->a[al->n].status = (uint8_t)now_st;
		al->a[al->n].reason = (uint8_t)why;
		al->n++;
	}
}

static int
alerts_init(struct feed_alerts *al, size_t cap)
{
	memset(al, 0, sizeof(*al));
	al->a = malloc(cap * sizeof(*al->a));
	if (al->a == NULL)
		return MRX_ENOMEM;
	al->cap = cap;
	return 0;
}

/* Status of idx in a held list (valid when there is none or beyond it). */
static enum proto_status
held_status(const struct proto_status_list *sl, uint32_t idx)
{
	enum proto_status st = PROTO_STATUS_VALID;

	if (sl != NULL && proto_status_get(sl, idx, &st, NULL) != 0)
		st = PROTO_STATUS_VALID;
	return st;
}

/* The alerts a delta raises on the list held. */
static void
alerts_delta(const struct feed *f, const struct proto_status_delta *d,
    struct feed_alerts *al)
{
	const struct proto_status_list *sl = proto_trust_status_list(
	    f->e->trust, f->sub->issuer, f->sub->uri);
	const struct proto_status_change *ch;
	size_t i;

	for (i = 0; i < d->nchanges; i++) {
		ch = &d->changes[i];
		alerts_entry(f, al, ch->idx, held_status(sl, ch->idx),
		    (enum proto_status)ch->status,
		    (enum proto_reason)ch->reason);
	}
}

/*
 * The alerts a whole list raises against the list held (or an all-valid
 * one): only entries that are not valid in one of them can differ, and
 * both lists name exactly those in their sorted reasons.
 */
static void
alerts_list(const struct feed *f, const struct proto_status_list *nl,
    struct feed_alerts *al)
{
	const struct proto_status_list *ol = proto_trust_status_list(
	    f->e->trust, f->sub->issuer, f->sub->uri);
	size_t i = 0, j = 0, no = ol != NULL ? ol->nreasons : 0;
	enum proto_status st;
	enum proto_reason why;
	uint32_t idx;

	while (i < no || j < nl->nreasons) {
		if (j == nl->nreasons || (i < no &&
		    ol->reasons[i].idx < nl->reasons[j].idx))
			idx = ol->reasons[i++].idx;
		else if (i == no || nl->reasons[j].idx < ol->reasons[i].idx)
			idx = nl->reasons[j++].idx;
		else {
			idx = nl->reasons[j++].idx;
			i++;
		}
		if (proto_status_get(nl, idx, &st, &why) != 0)
			continue;
		alerts_entry(f, al, idx, held_status(ol, idx), st, why);
	}
}

static void
emit_feed_alerts(struct feed *f, const struct feed_alerts *al, uint64_t seq)
{
	struct eng_alert *a;
	struct eng_audit *au;
	size_t i;

	for (i = 0; i < al->n; i++) {
		a = &emit(f->out, ENG_ACT_ALERT, f->ev)->u.alert;
		a->kind = ENG_ALERT_STATUS;
		memcpy(a->cti, al->a[i].cti, PROTO_CTI_LEN);
		strbuf(a->issuer, sizeof(a->issuer), f->sub->issuer);
		strbuf(a->uri, sizeof(a->uri), f->sub->uri);
		a->status = (enum proto_status)al->a[i].status;
		a->reason = (enum proto_reason)al->a[i].reason;
		a->seq = seq;
		a->time = f->ev->now;
		au = &emit(f->out, ENG_ACT_AUDIT, f->ev)->u.audit;
		au->kind = ENG_AUDIT_ALERT;
		au->time = f->ev->now;
		au->rec_type = PROTO_REC_CLEARANCE;
		memcpy(au->cti, a->cti, PROTO_CTI_LEN);
		au->has_cti = true;
		au->status = a->status;
		au->reason = a->reason;
		au->seq = seq;
	}
	f->e->st.alerts += al->n;
	f->e->st.alerts_dropped += al->dropped;
}

/* The record hash of the delta at `seq` as held, if known. */
static bool
expected_hash(const struct feed *f, uint64_t seq, uint8_t out[PROTO_HASH_LEN])
{
	const struct eng_sub *s = f->sub;
	size_t i;

	for (i = 0; i < s->nhist; i++)
		if (s->hist[i].seq == seq) {
			memcpy(out, s->hist[i].hash, PROTO_HASH_LEN);
			return true;
		}
	if (f->in.has_list && f->in.has_head && seq == f->in.seq) {
		memcpy(out, f->in.head, PROTO_HASH_LEN);
		return true;
	}
	return false;
}

/* The record held that vouches for seq: the delta, else the list. */
static const struct eng_held *
witness(const struct eng_sub *s, uint64_t seq)
{
	size_t i;

	for (i = 0; i < s->nhist; i++)
		if (s->hist[i].seq == seq)
			return &s->hist[i];
	if (s->base.bytes != NULL && s->base.seq == seq)
		return &s->base;
	return NULL;
}

static void
pend_drop(struct eng_sub *s, size_t i)
{
	assert(i < s->npend);
	held_free(&s->pend[i]);
	memmove(&s->pend[i], &s->pend[i + 1],
	    (s->npend - i - 1) * sizeof(*s->pend));
	s->npend--;
	memset(&s->pend[s->npend], 0, sizeof(*s->pend));
}

/* Copies record bytes into the arena (room checked); NULL for none. */
static const uint8_t *
arena_copy(struct eng_actions *out, const uint8_t *p, size_t n)
{
	uint8_t *d;

	if (p == NULL)
		return NULL;
	d = arena_take(out, n, 1);
	memcpy(d, p, n);
	return d;
}

/*
 * The issuer signed two records for seq that cannot both be true: `held`
 * (a witness, may be NULL; held_hash is then what the state names) and
 * the one just received. Keeps both, alerts, and distrusts the feed.
 * Returns 1 (handled) or MRX_ENOSPC with nothing changed.
 */
static int
equivocate(struct feed *f, uint64_t seq, const struct eng_held *held,
    const uint8_t *held_hash, const uint8_t *got, size_t got_len,
    const uint8_t *got_hash)
{
	const uint8_t *hb = held != NULL ? held->bytes : NULL;
	size_t hl = hb != NULL ? held->len : 0, i;
	struct eng_evidence *ev;
	struct eng_alert *al;
	struct eng_audit *au;

	if (got_len > ENG_WITNESS_MAX)
		got = NULL;
	if (!room(f->out, 3) || !arena_room(f->out, hl + (got != NULL ?
	    got_len : 0), 1))
		return MRX_ENOSPC;
	/* the records first: `got` may be a buffered delta freed below */
	ev = &emit(f->out, ENG_ACT_PERSIST_EVIDENCE, f->ev)->u.evidence;
	strbuf(ev->issuer, sizeof(ev->issuer), f->sub->issuer);
	strbuf(ev->uri, sizeof(ev->uri), f->sub->uri);
	ev->seq = seq;
	ev->held = arena_copy(f->out, hb, hl);
	ev->held_len = hl;
	memcpy(ev->held_hash, held_hash, PROTO_HASH_LEN);
	ev->got = arena_copy(f->out, got, got_len);
	ev->got_len = got != NULL ? got_len : 0;
	memcpy(ev->got_hash, got_hash, PROTO_HASH_LEN);
	/*
	 * Marking cannot fail while a list is held; without one it needs a
	 * new entry, and a full store leaves the status missing, which
	 * decides indeterminate all the same.
	 */
	(void)proto_trust_mark_equivocation(f->e->trust, f->sub->issuer,
	    f->sub->uri);
	f->sub->distrusted = true;
	for (i = f->sub->npend; i > 0; i--)
		pend_drop(f->sub, i - 1);
	al = &emit(f->out, ENG_ACT_ALERT, f->ev)->u.alert;
	al->kind = ENG_ALERT_EQUIVOCATION;
	strbuf(al->issuer, sizeof(al->issuer), f->sub->issuer);
	strbuf(al->uri, sizeof(al->uri), f->sub->uri);
	al->seq = seq;
	al->time = f->ev->now;
	au = &emit(f->out, ENG_ACT_AUDIT, f->ev)->u.audit;
	au->kind = ENG_AUDIT_ALERT;
	au->time = f->ev->now;
	au->seq = seq;
	strbuf(au->codes, sizeof(au->codes), "status-equivocation");
	f->e->st.feed_equivocations++;
	f->e->st.alerts++;
	feed_reload(f);
	return 1;
}

/* The first seq missing: after the held one and the buffered run. */
static uint64_t
missing_from(const struct feed *f)
{
	uint64_t from;
	size_t i;

	if (!f->in.has_list || !f->in.has_head)
		return 0;
	from = f->in.seq + 1;
	for (i = 0; i < f->sub->npend; i++)
		if (f->sub->pend[i].seq == from)
			from++;
	return from;
}

/* Asks for a catch-up, unless the same one was asked within the retry
 * time. Room for one action was checked on entry. */
static void
catchup(struct feed *f)
{
	struct eng_sub *s = f->sub;
	struct eng_catchup *c;
	uint64_t from = missing_from(f);

	if (s->cu_sent && s->cu_from == from &&
	    f->ev->now - s->cu_at < ENG_CATCHUP_RETRY_S)
		return;
	s->cu_sent = true;
	s->cu_from = from;
	s->cu_at = f->ev->now;
	c = &emit(f->out, ENG_ACT_CATCHUP, f->ev)->u.catchup;
	strbuf(c->issuer, sizeof(c->issuer), s->issuer);
	strbuf(c->uri, sizeof(c->uri), s->uri);
	c->from_seq = from;
	f->e->st.feed_catchups++;
}

/*
 * Applies delta `rec` (seq = held + 1), whose bytes are `bytes`. Returns
 * 0 when applied, 1 when handled otherwise (equivocation, refusal), or
 * MRX_ENOSPC / MRX_ENOMEM with nothing changed.
 */
static int
apply_delta(struct feed *f, const struct proto_record *rec,
    const uint8_t *bytes, size_t len, const uint8_t *hash)
{
	const struct proto_status_delta *d = &rec->u.sd;
	struct eng_sub *s = f->sub;
	struct feed_alerts al;
	struct eng_held h;
	int rc;

	assert(f->in.has_list && f->in.has_head && d->seq == f->in.seq + 1);
	if (memcmp(d->prev, f->in.head, PROTO_HASH_LEN) != 0)
		return equivocate(f, f->in.seq, witness(s, f->in.seq),
		    f->in.head, bytes, len, hash);
	rc = alerts_init(&al, (size_t)PROTO_CHANGES_MAX *
	    ENG_WATCHES_PER_ENTRY_MAX);
	if (rc != 0)
		return rc;
	alerts_delta(f, d, &al);
	if (!room(f->out, 2 * al.n)) {
		free(al.a);
		return MRX_ENOSPC;
	}
	rc = held_make(&h, d->seq, hash, bytes, len);
	if (rc == 0)
		rc = proto_trust_apply_delta(f->e->trust, s->issuer, s->uri, d,
		    hash, rec->env.hdr.kid);
	if (rc != 0) {
		free(al.a);
		held_free(&h);
		if (rc == MRX_ENOMEM)
			return rc;
		feed_refuse(f->e, rc == MRX_ENOSPC ? ENG_FEED_CAPACITY :
		    ENG_FEED_INCONSISTENT);
		return 1;
	}
	if (s->nhist == ENG_SUB_HISTORY) {
		held_free(&s->hist[0]);
		memmove(&s->hist[0], &s->hist[1],
		    (ENG_SUB_HISTORY - 1) * sizeof(*s->hist));
		s->nhist--;
	}
	s->hist[s->nhist++] = h;
	f->e->st.feed_deltas++;
	feed_reload(f);
	emit_feed_alerts(f, &al, d->seq);
	free(al.a);
	return 0;
}

/*
 * Applies the buffered deltas that now follow the held state, in order,
 * while the buffer has room; judges those a whole list overtook. Stops at
 * the first gap or shortage: what is left waits for the next event.
 */
static void
drain(struct feed *f)
{
	struct eng_sub *s = f->sub;
	struct proto_record rec;
	uint8_t want[PROTO_HASH_LEN];
	struct eng_held *p;
	int rc;

	while (s->npend > 0 && !s->distrusted && f->in.has_list &&
	    f->in.has_head) {
		p = &s->pend[0];
		if (p->seq <= f->in.seq) {
			if (expected_hash(f, p->seq, want) &&
			    memcmp(want, p->hash, PROTO_HASH_LEN) != 0) {
				if (equivocate(f, p->seq, witness(s, p->seq),
				    want, p->bytes, p->len, p->hash) < 0)
					return;
				continue;
			}
			pend_drop(s, 0);
			continue;
		}
		if (p->seq != f->in.seq + 1)
			return;
		if (proto_record_decode(p->bytes, p->len, &rec, NULL) != 0 ||
		    rec.type != PROTO_REC_STATUS_DELTA) {
			proto_record_fini(&rec);	/* checked on arrival */
			pend_drop(s, 0);
			continue;
		}
		rc = apply_delta(f, &rec, p->bytes, p->len, p->hash);
		proto_record_fini(&rec);
		if (rc < 0)
			return;
		if (!s->distrusted)
			pend_drop(s, 0);
	}
}

/* Holds a delta that arrived ahead of a gap, and asks for the gap. */
static int
buffer_delta(struct feed *f, const struct proto_record *rec,
    const uint8_t *bytes, size_t len, const uint8_t *hash)
{
	struct eng_sub *s = f->sub;
	uint64_t seq = rec->u.sd.seq;
	struct eng_held h;
	size_t i;
	int rc;

	for (i = 0; i < s->npend && s->pend[i].seq < seq; i++)
		;
	if (i < s->npend && s->pend[i].seq == seq) {
		if (memcmp(s->pend[i].hash, hash, PROTO_HASH_LEN) == 0) {
			f->e->st.feed_duplicates++;
			return 0;
		}
		return equivocate(f, seq, &s->pend[i], s->pend[i].hash, bytes,
		    len, hash);
	}
	if (i == ENG_SUB_PENDING_MAX) {
		/* keep the deltas nearest the gap */
		f->e->st.feed_overflow++;
		catchup(f);
		return 0;
	}
	rc = held_make(&h, seq, hash, bytes, len);
	if (rc != 0)
		return rc;
	if (s->npend == ENG_SUB_PENDING_MAX) {
		pend_drop(s, s->npend - 1);
		f->e->st.feed_overflow++;
	}
	memmove(&s->pend[i + 1], &s->pend[i], (s->npend - i) *
	    sizeof(*s->pend));
	s->pend[i] = h;
	s->npend++;
	f->e->st.feed_buffered++;
	catchup(f);
	return 0;
}

static int
feed_delta(struct feed *f, const struct proto_record *rec,
    const uint8_t *bytes, size_t len, const uint8_t *hash)
{
	uint64_t seq = rec->u.sd.seq;
	uint8_t want[PROTO_HASH_LEN];

	if (f->in.has_list && seq <= f->in.seq) {
		if (!expected_hash(f, seq, want)) {
			f->e->st.feed_stale++;
			return 0;
		}
		if (memcmp(want, hash, PROTO_HASH_LEN) == 0) {
			f->e->st.feed_duplicates++;
			return 0;
		}
		return equivocate(f, seq, witness(f->sub, seq), want, bytes,
		    len, hash);
	}
	if (f->in.has_list && f->in.has_head && seq == f->in.seq + 1)
		return apply_delta(f, rec, bytes, len, hash);
	return buffer_delta(f, rec, bytes, len, hash);
}

static int
feed_checkpoint(struct feed *f, const struct proto_record *rec,
    const uint8_t *bytes, size_t len, const uint8_t *hash)
{
	const struct proto_checkpoint *cp = &rec->u.cp;
	uint8_t want[PROTO_HASH_LEN];
	int rc;

	if (!f->in.has_list) {
		catchup(f);		/* from 0: the whole list */
		return 0;
	}
	if (cp->seq > f->in.seq) {
		/* unless the deltas buffered already reach it */
		if (cp->seq >= missing_from(f))
			catchup(f);
		return 0;
	}
	if (!expected_hash(f, cp->seq, want)) {
		f->e->st.feed_stale++;
		return 0;
	}
	if (memcmp(want, cp->head, PROTO_HASH_LEN) != 0)
		return equivocate(f, cp->seq, witness(f->sub, cp->seq), want,
		    bytes, len, hash);
	if (cp->seq < f->in.seq) {
		f->e->st.feed_stale++;	/* consistent, and old */
		return 0;
	}
	if (cp->c.iat <= f->in.fresh_at) {
		/* no fresher than what is held: the same one again (through
		 * another relay), or an older one */
		f->e->st.feed_duplicates++;
		return 0;
	}
	rc = proto_trust_fresh(f->e->trust, f->sub->issuer, f->sub->uri,
	    cp->c.iat, rec->env.hdr.kid);
	if (rc != 0) {
		feed_refuse(f->e, ENG_FEED_CAPACITY);
		return 0;
	}
	f->e->st.feed_checkpoints++;
	return 0;
}

/* A whole list with the held seq: the same, or equivocation? */
static int
feed_list_same(struct feed *f, struct proto_record *rec, const uint8_t *bytes,
    size_t len, const uint8_t *hash)
{
	struct eng_sub *s = f->sub;
	const struct eng_held *w = witness(s, f->in.seq);
	uint8_t want[PROTO_HASH_LEN];
	struct mrx_diag d;
	int rc;

	if (s->base.seq == f->in.seq && memcmp(s->base.hash, hash,
	    PROTO_HASH_LEN) == 0) {
		f->e->st.feed_duplicates++;
		return 0;
	}
	/* room for the evidence before the store may mark equivocation */
	if (!room(f->out, 3) || !arena_room(f->out, (w != NULL ? w->len : 0) +
	    (len <= ENG_WITNESS_MAX ? len : 0), 1))
		return MRX_ENOSPC;
	memcpy(want, f->in.head, PROTO_HASH_LEN);
	mrx_diag_clear(&d);
	rc = proto_trust_add_record(f->e->trust, rec, f->ev->now,
	    f->e->cfg.policy.skew_s, &d);
	if (rc != 0) {
		if (rc == MRX_ENOMEM)
			return rc;
		feed_refuse(f->e, feed_why(d.field));
		return 0;
	}
	feed_reload(f);
	if (!f->in.equivocating) {
		f->e->st.feed_duplicates++;
		return 0;
	}
	return equivocate(f, f->in.seq, w, want, bytes, len, hash);
}

/* A whole list newer than the one held (or the first): install it. */
static int
feed_list(struct feed *f, struct proto_record *rec, const uint8_t *bytes,
    size_t len, const uint8_t *hash)
{
	struct eng_sub *s = f->sub;
	uint64_t seq = rec->u.sl.seq;
	struct feed_alerts al;
	struct eng_held h;
	struct mrx_diag d;
	int rc;

	if (f->in.has_list && seq < f->in.seq) {
		f->e->st.feed_stale++;
		return 0;
	}
	if (f->in.has_list && seq == f->in.seq)
		return feed_list_same(f, rec, bytes, len, hash);
	rc = alerts_init(&al, ENG_LIST_ALERTS_MAX);
	if (rc != 0)
		return rc;
	alerts_list(f, &rec->u.sl, &al);
	if (!room(f->out, 2 * al.n)) {
		free(al.a);
		return MRX_ENOSPC;
	}
	rc = held_make(&h, seq, hash, len <= ENG_WITNESS_MAX ? bytes : NULL,
	    len);
	mrx_diag_clear(&d);
	if (rc == 0)
		rc = proto_trust_add_record(f->e->trust, rec, f->ev->now,
		    f->e->cfg.policy.skew_s, &d);
	if (rc != 0) {
		free(al.a);
		held_free(&h);
		if (rc == MRX_ENOMEM)
			return rc;
		feed_refuse(f->e, feed_why(d.field));
		return 0;
	}
	held_free(&s->base);
	s->base = h;
	f->e->st.feed_lists++;
	feed_reload(f);
	emit_feed_alerts(f, &al, seq);
	free(al.a);
	return 0;
}

/* Verifies a feed record; refusals are counted. 0, 1 (refused), or an
 * error of a resource. */
static int
feed_verify(struct engine *e, const struct eng_event *ev,
    struct proto_record *rec, uint8_t hash[PROTO_HASH_LEN], bool *put,
    uint8_t bh[CRY_SHA256_LEN])
{
	const struct eng_feed_record *fr = &ev->u.feed;
	struct mrx_diag d;
	bool cached;
	int rc;

	*put = false;
	memset(rec, 0, sizeof(*rec));
	if (fr->bytes == NULL || fr->len == 0 ||
	    cry_sha256(fr->bytes, fr->len, bh) != 0) {
		feed_refuse(e, ENG_FEED_MALFORMED);
		return 1;
	}
	cached = vc_has_hash(e->vc, bh);
	mrx_diag_clear(&d);
	rc = proto_trust_verify_feed(e->trust, fr->bytes, fr->len, ev->now,
	    e->cfg.policy.skew_s, cached, rec, hash, &d);
	if (rc == MRX_ENOMEM)
		return rc;
	if (rc != 0) {
		feed_refuse(e, feed_why(d.field));
		return 1;
	}
	*put = !cached;
	return 0;
}

static const struct proto_claims *
feed_claims(const struct proto_record *rec)
{
	return rec->type == PROTO_REC_STATUS_LIST ? &rec->u.sl.c :
	    rec->type == PROTO_REC_STATUS_DELTA ? &rec->u.sd.c : &rec->u.cp.c;
}

static int
on_feed(struct engine *e, const struct eng_event *ev, struct eng_actions *out)
{
	const struct eng_feed_record *fr = &ev->u.feed;
	const struct proto_claims *c;
	uint8_t hash[PROTO_HASH_LEN], bh[CRY_SHA256_LEN];
	struct proto_record rec;
	struct feed f;
	bool put;
	int rc;

	if (!room(out, ENG_FEED_ACTIONS))
		return MRX_ENOSPC;
	rc = feed_verify(e, ev, &rec, hash, &put, bh);
	if (rc != 0) {
		proto_record_fini(&rec);
		return rc < 0 ? rc : 0;
	}
	c = feed_claims(&rec);
	memset(&f, 0, sizeof(f));
	f.e = e;
	f.ev = ev;
	f.out = out;
	rc = 0;
	if (strcmp(c->iss, e->cfg.id) == 0)
		feed_refuse(e, ENG_FEED_OWN);
	else if ((rc = sub_get(e, c->iss, c->sub, &f.sub)) != 0) {
		if (rc == MRX_ENOSPC)
			feed_refuse(e, ENG_FEED_CAPACITY);
		rc = rc == MRX_ENOSPC ? 0 : rc;
	} else if (f.sub->distrusted) {
		feed_refuse(e, ENG_FEED_DISTRUSTED);
	} else {
		feed_reload(&f);
		if (rec.type == PROTO_REC_STATUS_LIST)
			rc = feed_list(&f, &rec, fr->bytes, fr->len, hash);
		else if (rec.type == PROTO_REC_STATUS_DELTA)
			rc = feed_delta(&f, &rec, fr->bytes, fr->len, hash);
		else
			rc = feed_checkpoint(&f, &rec, fr->bytes, fr->len,
			    hash);
		if (rc >= 0)
			drain(&f);
	}
	proto_record_fini(&rec);
	if (rc < 0)
		return rc;
	if (put)
		vc_put_hash(e->vc, bh);
	return 0;
}

static int
on_tick(struct engine *e, const struct eng_event *ev, struct eng_actions *out)
{
	struct feed f;
	size_t i;
	int rc;

	rc = tick_checkpoints(e, ev, out);
	if (rc != 0)
		return rc;
	memset(&f, 0, sizeof(f));
	f.e = e;
	f.ev = ev;
	f.out = out;
	for (i = 0; i < e->nsubs; i++) {
		f.sub = e->subs[i];
		if (f.sub->npend == 0 || f.sub->distrusted ||
		    !room(out, ENG_FEED_ACTIONS))
			continue;
		feed_reload(&f);
		drain(&f);
	}
	return 0;
}

/* ---- the engine ---- */

static int
config_check(const struct eng_config *cfg, struct mrx_diag *diag)
{
	if ((unsigned)cfg->role > ENG_ROLE_OPERATOR)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "role", "unknown role %d", (int)cfg->role);
	if (!terminated(cfg->id, sizeof(cfg->id)) || !proto_id_valid(cfg->id))
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET, "id",
		    "a node id is [a-z0-9][a-z0-9.-]*, at most %d bytes",
		    PROTO_ID_MAX);
	if (!terminated(cfg->jurisdiction, sizeof(cfg->jurisdiction)))
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "jurisdiction", "not terminated");
	if (cfg->role != ENG_ROLE_OPERATOR && (cfg->key == NULL ||
	    !cry_key_has_private(cfg->key)))
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET, "key",
		    "a %s node signs: it needs a private key",
		    eng_role_name(cfg->role));
	if (cfg->status_list_size != 0 && (cfg->status_list_size % 8 != 0 ||
	    cfg->status_list_size < ENG_LIST_SIZE_MIN ||
	    cfg->status_list_size > PROTO_STATUS_ENTRIES_MAX))
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "status_list_size", "%u entries: a multiple of 8 in "
		    "%d..%u", cfg->status_list_size, ENG_LIST_SIZE_MIN,
		    PROTO_STATUS_ENTRIES_MAX);
	if (cfg->watches_max > ENG_WATCHES_LIMIT)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "watches_max", "at most %u", ENG_WATCHES_LIMIT);
	if (cfg->vcache_max > ENG_VCACHE_LIMIT)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "vcache_max", "at most %u", ENG_VCACHE_LIMIT);
	if (cfg->policy.skew_s < 0 || cfg->policy.max_status_age_s < 0)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "policy", "the clock skew and the status age bound are "
		    "not negative");
	if (cfg->checkpoint_interval_s < 0 ||
	    cfg->checkpoint_interval_s > ENG_CHECKPOINT_INTERVAL_MAX_S)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "checkpoint_interval_s", "%lld s: 0 (none) to %d s",
		    (long long)cfg->checkpoint_interval_s,
		    ENG_CHECKPOINT_INTERVAL_MAX_S);
	return 0;
}

int
eng_new(const struct eng_config *cfg, struct proto_trust *trust,
    struct engine **out, struct mrx_diag *diag)
{
	struct engine *e;
	int rc;

	assert(out != NULL);
	*out = NULL;
	if (cfg == NULL || trust == NULL)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "config", "an engine needs a configuration and a trust "
		    "store");
	rc = config_check(cfg, diag);
	if (rc != 0)
		return rc;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return mrx_diag_set(diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET,
		    "engine", "no memory for the engine");
	e->cfg = *cfg;
	e->list_size = cfg->status_list_size != 0 ? cfg->status_list_size :
	    PROTO_STATUS_ENTRIES_DEFAULT;
	e->w.max = cfg->watches_max != 0 ? cfg->watches_max :
	    ENG_WATCHES_DEFAULT;
	e->vc = vc_new(cfg->vcache_max != 0 ? cfg->vcache_max :
	    ENG_VCACHE_DEFAULT);
	if (e->vc == NULL) {
		free(e);
		return mrx_diag_set(diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET,
		    "vcache_max", "no memory for the verified-signature "
		    "cache");
	}
	e->trust = trust;
	*out = e;
	return 0;
}

void
eng_free(struct engine *e)
{
	size_t i;

	if (e == NULL)
		return;
	/* the store only borrows the lists: free it first */
	proto_trust_free(e->trust);
	for (i = 0; i < e->nlists; i++)
		list_free(&e->lists[i]);
	for (i = 0; i < e->nsubs; i++)
		sub_free(e->subs[i]);
	free(e->subs);
	watches_fini(&e->w);
	vc_free(e->vc);
	free(e);
}

struct proto_trust *
eng_trust(struct engine *e)
{
	return e->trust;
}

/* Checks a list to restore as list number e->nlists. */
static int
restore_check(const struct engine *e, const struct proto_status_list *sl,
    const uint8_t *alloc, uint32_t nalloc, struct mrx_diag *diag)
{
	char uri[PROTO_URI_MAX + 1];
	int rc;

	if (e->nlists == ENG_LISTS_MAX)
		return mrx_diag_set(diag, MRX_ENOSPC, MRX_DIAG_NO_OFFSET,
		    "lists", "more than %d own status lists", ENG_LISTS_MAX);
	if (sl == NULL || alloc == NULL)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "list", "a list and its allocation bitmap are required");
	rc = proto_status_list_check(sl, diag);
	if (rc != 0)
		return rc;
	list_uri(e, e->nlists, uri, sizeof(uri));
	if (strcmp(sl->c.iss, e->cfg.id) != 0 || strcmp(sl->c.sub, uri) != 0)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "list.uri", "list %.*s of %.*s restored where %s of %s was "
		    "expected (lists are restored in the order opened)",
		    PROTO_URI_MAX, sl->c.sub, PROTO_ID_MAX, sl->c.iss, uri,
		    e->cfg.id);
	if (sl->size % 8 != 0 || nalloc > sl->size / 2 ||
	    popcount(alloc, sl->size / 8) != nalloc ||
	    !changes_allocated(sl, alloc))
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "list.alloc", "list %s: the allocation bitmap does not "
		    "hold %u entries, at most half of %u, covering every "
		    "changed entry", uri, nalloc, sl->size);
	if ((sl->seq == 0) != !sl->has_head)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "list.head", "list %s: a head goes with a sequence above "
		    "0", uri);
	return 0;
}

/* A deep copy of a list being restored. */
static int
list_copy(struct eng_list *l, const struct proto_status_list *sl,
    const uint8_t *alloc, uint32_t nalloc)
{
	memset(l, 0, sizeof(*l));
	l->sl = *sl;
	l->sl.bits = malloc(sl->size / 4);
	l->sl.reasons = sl->nreasons == 0 ? NULL :
	    malloc(sl->nreasons * sizeof(*sl->reasons));
	l->sl.reasons_cap = sl->nreasons;
	l->alloc = malloc(sl->size / 8);
	if (l->sl.bits == NULL || l->alloc == NULL ||
	    (sl->nreasons != 0 && l->sl.reasons == NULL)) {
		list_free(l);
		return MRX_ENOMEM;
	}
	memcpy(l->sl.bits, sl->bits, sl->size / 4);
	if (sl->nreasons != 0)
		memcpy(l->sl.reasons, sl->reasons,
		    sl->nreasons * sizeof(*sl->reasons));
	memcpy(l->alloc, alloc, sl->size / 8);
	l->nalloc = nalloc;
	return 0;
}

int
eng_restore_list(struct engine *e, const struct proto_status_list *sl,
    const uint8_t *alloc, uint32_t nalloc, struct mrx_diag *diag)
{
	struct eng_list l;
	int rc;

	assert(e != NULL);
	rc = restore_check(e, sl, alloc, nalloc, diag);
	if (rc != 0)
		return rc;
	rc = list_copy(&l, sl, alloc, nalloc);
	if (rc == 0)
		rc = list_install(e, &l);
	if (rc != 0) {
		list_free(&l);
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, "list",
		    "cannot restore list %s: %s", sl->c.sub, mrx_strerror(rc));
	}
	assert(list_ok(e, e->nlists - 1));
	return 0;
}

int
eng_restore_watch(struct engine *e, const char *issuer, const char *uri,
    uint32_t idx, const uint8_t cti[PROTO_CTI_LEN])
{
	bool added;

	assert(e != NULL);
	if (!proto_id_valid(issuer) || uri == NULL || uri[0] == '\0' ||
	    strnlen(uri, PROTO_URI_MAX + 1) > PROTO_URI_MAX ||
	    idx >= PROTO_STATUS_ENTRIES_MAX || cti == NULL)
		return MRX_EINVAL;
	return watch_add(&e->w, issuer, uri, idx, cti, &added);
}

/* The constant-time part of eng_check(), asserted on every event. */
static bool
shallow_ok(const struct engine *e)
{
	const struct eng_list *last;

	if (e == NULL || e->trust == NULL || e->vc == NULL ||
	    e->nlists > ENG_LISTS_MAX || e->w.n > e->w.max ||
	    e->nsubs > ENG_SUBS_MAX || e->nsubs > e->subs_cap ||
	    e->vc->n > e->vc->max || e->vc->head >= e->vc->max)
		return false;
	if (e->nlists == 0)
		return true;
	last = &e->lists[e->nlists - 1];
	return last->alloc != NULL && last->sl.bits != NULL &&
	    last->nalloc <= last->sl.size / 2;
}

bool
eng_check(const struct engine *e)
{
	size_t i;

	if (!shallow_ok(e))
		return false;
	for (i = 0; i < e->nlists; i++)
		if (!list_ok(e, i))
			return false;
	return watches_ok(&e->w) && vc_ok(e->vc) && subs_ok(e);
}

int
eng_handle(struct engine *e, const struct eng_event *ev,
    struct eng_actions *out)
{
	int rc;

	assert(e != NULL && ev != NULL && out != NULL && shallow_ok(e));
	assert(out->n <= ENG_ACTIONS_MAX && out->arena_used <= ENG_ARENA_BYTES);
	if (ev->now < 0 || ev->now > PROTO_TIME_MAX)
		return MRX_EINVAL;
	switch (ev->type) {
	case ENG_EV_ISSUE_CLEARANCE:
	case ENG_EV_ISSUE_OPERATOR:
		rc = on_issue(e, ev, out);
		break;
	case ENG_EV_SET_STATUS:
		rc = on_set_status(e, ev, out);
		break;
	case ENG_EV_VERIFY:
		rc = on_verify(e, ev, out);
		break;
	case ENG_EV_TICK:
		rc = on_tick(e, ev, out);
		break;
	case ENG_EV_FEED_RECORD:
		rc = on_feed(e, ev, out);
		break;
	case ENG_EV_CATCHUP_REQUEST:
		rc = on_catchup_request(e, ev, out);
		break;
	default:
		rc = MRX_EINVAL;
		break;
	}
	assert(shallow_ok(e));
	return rc;
}

void
eng_verify_keys(const struct engine *e, const uint8_t *record, size_t len,
    const uint8_t *operator_record, size_t op_len,
    const struct cry_key **key, const struct cry_key **op_key)
{
	assert(e != NULL && key != NULL && op_key != NULL);
	*key = record != NULL ? proto_trust_signer(e->trust, record, len) :
	    NULL;
	*op_key = operator_record != NULL ? proto_trust_signer(e->trust,
	    operator_record, op_len) : NULL;
}

int
eng_status_of(const struct engine *e, const struct proto_status_ref *ref,
    enum proto_status *st, enum proto_reason *why, uint64_t *seq)
{
	const struct eng_list *l;
	enum proto_status s;
	enum proto_reason w;
	size_t n;

	assert(e != NULL && ref != NULL);
	n = entry_list(e, ref);
	if (n == SIZE_MAX)
		return MRX_ENOENT;
	l = &e->lists[n];
	(void)proto_status_get(&l->sl, ref->idx, &s, &w);
	if (st != NULL)
		*st = s;
	if (why != NULL)
		*why = w;
	if (seq != NULL)
		*seq = l->sl.seq;
	return 0;
}

void
eng_stats_get(const struct engine *e, struct eng_stats *out)
{
	assert(e != NULL && out != NULL);
	*out = e->st;
	out->watches = e->w.n;
	out->lists = e->nlists;
	out->vcache_hits = e->vc->hits;
	out->vcache_misses = e->vc->misses;
	out->feeds = e->nsubs;
}
