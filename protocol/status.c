/*
 * status.c - the status list: a packed array of 2-bit statuses in IETF Token
 * Status List order (entry i is bits (i % 4) * 2 .. +1 of byte i / 4), the
 * administrative reason of every entry that is not valid, and the zlib form
 * ("lst") the list travels in.
 *
 * Invariants, checked by proto_status_list_check(): size is a multiple of 4
 * in [4, PROTO_STATUS_ENTRIES_MAX]; bits holds size / 4 bytes; no entry is 3
 * (reserved); reasons is strictly sorted by idx and names exactly the
 * entries that are not valid, each with a reason below PROTO_REASON_COUNT.
 * Every operation checks before it changes, so a failed call leaves the list
 * as it was.
 *
 * Costs, with n reasons: get is O(log n); set is O(log n) plus moving the
 * reasons after idx (appending in idx order is amortised O(1)); apply sorts
 * its m changes and merges them in one pass, O(m log m + n). Inflating is
 * bounded by the largest list (PROTO_STATUS_ENTRIES_MAX / 4 bytes): a stream
 * that would inflate to more is rejected, never truncated, and the work done
 * on it is bounded by that output size.
 */
#include "record.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <zlib.h>

#define STATUS_BYTES_MAX (PROTO_STATUS_ENTRIES_MAX / 4) /* inflated "lst" */
#define STATUS_UNPACK_MIN 4096	/* first inflate buffer */
#define STATUS_ZLIB_LEVEL 6	/* 14x faster than 9 for 17% more bytes */
#define STATUS_FIELD_LST "payload.status_list.lst"

static unsigned
bits_get(const uint8_t *bits, uint32_t idx)
{
	return (bits[idx / 4] >> ((idx % 4) * 2)) & 3u;
}

static void
bits_put(uint8_t *bits, uint32_t idx, unsigned st)
{
	unsigned sh = (idx % 4) * 2;

	bits[idx / 4] = (uint8_t)((bits[idx / 4] & ~(3u << sh)) | (st << sh));
}

static bool
size_ok(uint32_t size)
{
	return size >= 4 && size <= PROTO_STATUS_ENTRIES_MAX && size % 4 == 0;
}

/* Position of the first reason whose idx is >= idx. */
static size_t
reason_lower(const struct proto_status_list *sl, uint32_t idx)
{
	size_t lo = 0, hi = sl->nreasons, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (sl->reasons[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Makes room for `need` reasons, doubling; the list is unchanged on error. */
static int
reasons_reserve(struct proto_status_list *sl, size_t need)
{
	struct proto_reason_entry *r;
	size_t cap = sl->reasons_cap > 0 ? sl->reasons_cap : 16;

	if (need <= sl->reasons_cap)
		return 0;
	if (need > PROTO_STATUS_ENTRIES_MAX)
		return MRX_ENOSPC;
	while (cap < need)
		cap *= 2;
	if (cap > PROTO_STATUS_ENTRIES_MAX)
		cap = PROTO_STATUS_ENTRIES_MAX;
	r = realloc(sl->reasons, cap * sizeof(*r));
	if (r == NULL)
		return MRX_ENOMEM;
	sl->reasons = r;
	sl->reasons_cap = cap;
	return 0;
}

int
proto_status_list_init(struct proto_status_list *sl, uint32_t size)
{
	uint8_t *bits;

	assert(sl != NULL);
	if (!size_ok(size))
		return MRX_ERANGE;
	bits = calloc(size / 4, 1);
	if (bits == NULL)
		return MRX_ENOMEM;
	/* The claims, seq and head are the caller's: only the list is set. */
	sl->size = size;
	sl->bits = bits;
	sl->reasons = NULL;
	sl->nreasons = 0;
	sl->reasons_cap = 0;
	return 0;
}

void
proto_status_list_fini(struct proto_status_list *sl)
{
	if (sl == NULL)
		return;
	free(sl->bits);
	free(sl->reasons);
	memset(sl, 0, sizeof(*sl));
}

int
proto_status_get(const struct proto_status_list *sl, uint32_t idx,
    enum proto_status *st, enum proto_reason *why)
{
	unsigned v;
	size_t pos;

	assert(sl != NULL);
	if (sl->bits == NULL || idx >= sl->size)
		return MRX_ERANGE;
	v = bits_get(sl->bits, idx);
	if (st != NULL)
		*st = (enum proto_status)v;
	if (why == NULL)
		return 0;
	*why = PROTO_REASON_NONE;
	if (v != PROTO_STATUS_VALID) {
		pos = reason_lower(sl, idx);
		if (pos < sl->nreasons && sl->reasons[pos].idx == idx)
			*why = (enum proto_reason)sl->reasons[pos].reason;
	}
	return 0;
}

static bool
change_ok(unsigned st, unsigned why)
{
	return st <= PROTO_STATUS_SUSPENDED && why < PROTO_REASON_COUNT;
}

int
proto_status_set(struct proto_status_list *sl, uint32_t idx,
    enum proto_status st, enum proto_reason why)
{
	struct proto_reason_entry *r;
	size_t pos;
	bool found;
	int rc;

	assert(sl != NULL);
	if (sl->bits == NULL || idx >= sl->size)
		return MRX_ERANGE;
	if (!change_ok((unsigned)st, (unsigned)why))
		return MRX_EINVAL;
	pos = reason_lower(sl, idx);
	found = pos < sl->nreasons && sl->reasons[pos].idx == idx;
	if (st == PROTO_STATUS_VALID) {
		if (found) {
			memmove(&sl->reasons[pos], &sl->reasons[pos + 1],
			    (sl->nreasons - pos - 1) * sizeof(*sl->reasons));
			sl->nreasons--;
		}
	} else if (found) {
		sl->reasons[pos].reason = (uint8_t)why;
	} else {
		rc = reasons_reserve(sl, sl->nreasons + 1);
		if (rc != 0)
			return rc;
		r = sl->reasons;
		memmove(&r[pos + 1], &r[pos],
		    (sl->nreasons - pos) * sizeof(*r));
		r[pos].idx = idx;
		r[pos].reason = (uint8_t)why;
		sl->nreasons++;
	}
	bits_put(sl->bits, idx, (unsigned)st);
	return 0;
}

static int
change_cmp(const void *a, const void *b)
{
	const struct proto_status_change *x = a, *y = b;

	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Merges sorted changes `ch` into the sorted reasons of sl, into `out`. */
static size_t
reasons_merge(const struct proto_status_list *sl,
    const struct proto_status_change *ch, size_t n,
    struct proto_reason_entry *out)
{
	const struct proto_reason_entry *old = sl->reasons;
	size_t i = 0, j = 0, k = 0;

	while (i < sl->nreasons || j < n) {
		if (j == n || (i < sl->nreasons && old[i].idx < ch[j].idx)) {
			out[k++] = old[i++];
			continue;
		}
		if (i < sl->nreasons && old[i].idx == ch[j].idx)
			i++;
		if (ch[j].status != PROTO_STATUS_VALID) {
			out[k].idx = ch[j].idx;
			out[k].reason = ch[j].reason;
			k++;
		}
		j++;
	}
	return k;
}

int
proto_status_apply(struct proto_status_list *sl,
    const struct proto_status_change *ch, size_t n)
{
	struct proto_status_change *sorted;
	struct proto_reason_entry *merged;
	size_t i, cap, added = 0;

	assert(sl != NULL && (ch != NULL || n == 0));
	if (n == 0)
		return 0;
	if (sl->bits == NULL)
		return MRX_ERANGE;
	for (i = 0; i < n; i++) {
		if (ch[i].idx >= sl->size)
			return MRX_ERANGE;
		if (!change_ok(ch[i].status, ch[i].reason))
			return MRX_EINVAL;
		added += ch[i].status != PROTO_STATUS_VALID;
	}
	if (n > SIZE_MAX / sizeof(*sorted))
		return MRX_ENOMEM;
	sorted = malloc(n * sizeof(*sorted));
	if (sorted == NULL)
		return MRX_ENOMEM;
	memcpy(sorted, ch, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), change_cmp);
	for (i = 1; i < n; i++) {
		if (sorted[i].idx == sorted[i - 1].idx) {
			free(sorted);
			return MRX_EDUP;
		}
	}
	cap = sl->nreasons + added;
	merged = malloc((cap > 0 ? cap : 1) * sizeof(*merged));
	if (merged == NULL) {
		free(sorted);
		return MRX_ENOMEM;
	}
	sl->nreasons = reasons_merge(sl, sorted, n, merged);
	free(sl->reasons);
	sl->reasons = merged;
	sl->reasons_cap = cap > 0 ? cap : 1;
	for (i = 0; i < n; i++)
		bits_put(sl->bits, sorted[i].idx, sorted[i].status);
	free(sorted);
	return 0;
}

/*
 * Explains why reasons[j] is not the reason of entry idx, the next entry
 * that is not valid (idx is sl->size when there is none).
 */
static int
reasons_mismatch(const struct proto_status_list *sl, size_t j, uint32_t idx,
    struct mrx_diag *diag)
{
	uint32_t r;

	if (j >= sl->nreasons)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.reasons", "entry %u is not valid but has no "
		    "reason", (unsigned)idx);
	r = sl->reasons[j].idx;
	if (j > 0 && r <= sl->reasons[j - 1].idx)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.reasons", "reasons are not sorted by index at "
		    "entry %u", (unsigned)r);
	if (r >= sl->size)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.reasons", "a reason names entry %u of a list of "
		    "%u entries", (unsigned)r, (unsigned)sl->size);
	if (r < idx)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.reasons", "entry %u is valid but has a reason",
		    (unsigned)r);
	return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
	    "payload.reasons", "entry %u is not valid but has no reason",
	    (unsigned)idx);
}

/* Checks the entries of byte i against reasons[*j..]. */
static int
check_byte(const struct proto_status_list *sl, uint32_t i, size_t *j,
    struct mrx_diag *diag)
{
	uint32_t idx;
	unsigned k, st;

	for (k = 0; k < 4; k++) {
		idx = i * 4 + k;
		st = bits_get(sl->bits, idx);
		if (st == 3)
			return mrx_diag_set(diag, MRX_ERANGE,
			    MRX_DIAG_NO_OFFSET, "payload.status_list",
			    "entry %u has the reserved status 3", (unsigned)idx);
		if (st == PROTO_STATUS_VALID)
			continue;
		if (*j >= sl->nreasons || sl->reasons[*j].idx != idx)
			return reasons_mismatch(sl, *j, idx, diag);
		if (sl->reasons[*j].reason >= PROTO_REASON_COUNT)
			return mrx_diag_set(diag, MRX_ERANGE,
			    MRX_DIAG_NO_OFFSET, "payload.reasons",
			    "entry %u has the unknown reason %u", (unsigned)idx,
			    (unsigned)sl->reasons[*j].reason);
		(*j)++;
	}
	return 0;
}

int
proto_status_list_check(const struct proto_status_list *sl,
    struct mrx_diag *diag)
{
	size_t j = 0;
	uint32_t i;
	int rc;

	if (!size_ok(sl->size))
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.status_list", "a list has a multiple of 4 "
		    "entries from 4 to %u, not %u", PROTO_STATUS_ENTRIES_MAX,
		    (unsigned)sl->size);
	if (sl->bits == NULL)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.status_list", "the list has no entries");
	if (sl->nreasons > sl->size || (sl->nreasons > 0 &&
	    sl->reasons == NULL))
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.reasons", "%zu reasons for %u entries",
		    sl->nreasons, (unsigned)sl->size);
	for (i = 0; i < sl->size / 4; i++) {
		/* Most bytes of a list are all valid: skip them whole. */
		if (sl->bits[i] == 0)
			continue;
		rc = check_byte(sl, i, &j, diag);
		if (rc != 0)
			return rc;
	}
	if (j != sl->nreasons)
		return reasons_mismatch(sl, j, sl->size, diag);
	return 0;
}

int
proto_status_list_pack(const struct proto_status_list *sl, uint8_t **out,
    size_t *out_len)
{
	uLongf zlen;
	uint8_t *z;
	int zrc;

	assert(sl != NULL && out != NULL && out_len != NULL);
	*out = NULL;
	*out_len = 0;
	if (!size_ok(sl->size) || sl->bits == NULL)
		return MRX_ERANGE;
	zlen = compressBound(sl->size / 4);
	z = malloc(zlen);
	if (z == NULL)
		return MRX_ENOMEM;
	zrc = compress2(z, &zlen, sl->bits, sl->size / 4, STATUS_ZLIB_LEVEL);
	if (zrc != Z_OK) {
		free(z);
		return zrc == Z_MEM_ERROR ? MRX_ENOMEM : MRX_EINVAL;
	}
	*out = z;
	*out_len = zlen;
	return 0;
}

/* Maps what inflate() ended with to an error, or 0 for a whole stream. */
static int
inflate_result(const z_stream *zs, int zrc, size_t len, struct mrx_diag *diag)
{
	size_t at = len - zs->avail_in;

	if (zrc == Z_STREAM_END && zs->total_out > STATUS_BYTES_MAX)
		zrc = Z_BUF_ERROR;
	switch (zrc) {
	case Z_STREAM_END:
		break;
	case Z_BUF_ERROR:
	case Z_OK:
		if (zs->avail_out == 0)
			return mrx_diag_set(diag, MRX_ETOOBIG, at,
			    STATUS_FIELD_LST, "the list inflates to more "
			    "than %u bytes (%u entries)", STATUS_BYTES_MAX,
			    PROTO_STATUS_ENTRIES_MAX);
		return mrx_diag_set(diag, MRX_EMALFORMED, at, STATUS_FIELD_LST,
		    "the zlib stream is truncated");
	case Z_NEED_DICT:
		return mrx_diag_set(diag, MRX_EMALFORMED, at, STATUS_FIELD_LST,
		    "the zlib stream needs a preset dictionary");
	case Z_MEM_ERROR:
		return mrx_diag_set(diag, MRX_ENOMEM, at, STATUS_FIELD_LST,
		    "out of memory while inflating");
	default:
		return mrx_diag_set(diag, MRX_EMALFORMED, at, STATUS_FIELD_LST,
		    "the zlib stream is corrupt: %s",
		    zs->msg != NULL ? zs->msg : "inflate failed");
	}
	if (zs->avail_in != 0)
		return mrx_diag_set(diag, MRX_ETRAILING, at, STATUS_FIELD_LST,
		    "%u bytes follow the end of the zlib stream",
		    (unsigned)zs->avail_in);
	if (zs->total_out == 0)
		return mrx_diag_set(diag, MRX_ERANGE, at, STATUS_FIELD_LST,
		    "the list inflates to no entries");
	return 0;
}

int
proto_status_list_unpack(struct proto_status_list *sl, const uint8_t *lst,
    size_t len, struct mrx_diag *diag)
{
	z_stream zs;
	uint8_t *buf, *shrunk, *grown;
	size_t n, cap;
	int zrc, rc;

	assert(sl != NULL && (lst != NULL || len == 0));
	if (len > UINT_MAX)
		return mrx_diag_set(diag, MRX_ETOOBIG, 0, STATUS_FIELD_LST,
		    "%zu compressed bytes is too many", len);
	/*
	 * Inflate into a buffer that doubles as the output needs it, up to
	 * one byte over the maximum (which tells a full list from a bomb):
	 * a list of a few thousand entries costs kilobytes, not the 4 MiB a
	 * list may reach.
	 */
	cap = len < STATUS_BYTES_MAX / 8 ? len * 8 : STATUS_BYTES_MAX + 1;
	if (cap < STATUS_UNPACK_MIN)
		cap = STATUS_UNPACK_MIN;
	buf = malloc(cap);
	if (buf == NULL)
		return MRX_ENOMEM;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK) {
		free(buf);
		return MRX_ENOMEM;
	}
	zs.next_in = lst;
	zs.avail_in = (uInt)len;
	for (;;) {
		zs.next_out = buf + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		zrc = inflate(&zs, Z_FINISH);
		if ((zrc != Z_OK && zrc != Z_BUF_ERROR) || zs.avail_out != 0 ||
		    cap == STATUS_BYTES_MAX + 1)
			break;
		cap = cap > (STATUS_BYTES_MAX + 1) / 2 ? STATUS_BYTES_MAX + 1 :
		    cap * 2;
		if ((grown = realloc(buf, cap)) == NULL) {
			inflateEnd(&zs);
			free(buf);
			return MRX_ENOMEM;
		}
		buf = grown;
	}
	rc = inflate_result(&zs, zrc, len, diag);
	n = zs.total_out;
	inflateEnd(&zs);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	shrunk = realloc(buf, n);
	if (shrunk != NULL)
		buf = shrunk;
	free(sl->bits);
	sl->bits = buf;
	sl->size = (uint32_t)(n * 4);
	return 0;
}
