/*
 * cbor.c - the project's one wrapper around libcbor: a strict zero-copy
 * reader over libcbor's streaming decoder and a bounded writer over its head
 * encoders (see cbor.h for the contract).
 *
 * Reader. cry_cbor_next() hands the bytes at the cursor to
 * cbor_stream_decode(), whose callbacks fill a struct cry_cbor_item. libcbor
 * only ever consumes one head (plus string data) per call and reports
 * CBOR_DECODER_NEDATA, never an over-read, when the input ends early; a
 * definite string longer than what is left is NEDATA as well (checked in
 * libcbor 0.8.0: claim_bytes() compares against the bytes left before it
 * reads). Everything mrx never accepts is refused here, not in callers:
 * indefinite lengths and breaks (MRX_EINDEF), reserved additional
 * information and unassigned or one-byte simple values (MRX_EMALFORMED).
 * libcbor 0.8 also refuses the one-byte tag heads 0xc6..0xd4 (tags 6..20) as
 * "unassigned", although they are well-formed CBOR and tag 18 is COSE_Sign1:
 * those heads are decoded here directly. Invariants: the cursor moves only on
 * success; the item's length is exactly head plus string data as libcbor
 * consumed it; nothing is allocated.
 *
 * Skip walks nested items with an explicit stack of remaining counts, at most
 * CRY_CBOR_DEPTH_MAX deep, counting the skipped item itself as level 1 and a
 * tag as one level. A container claiming more items than there are bytes
 * left is truncated input and is refused before it is walked, so the time
 * spent is bounded by the input length.
 *
 * Writer. Heads come from libcbor's cbor_encode_* functions into a 9-byte
 * scratch and are copied, with any string data, only when the whole piece
 * fits, so a failed put leaves nothing behind. After the first failure
 * nothing more is written, but len keeps counting the bytes that would have
 * been needed (a writer with cap 0 measures).
 */
#include "cbor.h"

#include <assert.h>
/* Not <cbor.h>: inside crypto/ that name is this module's own header. */
#include <cbor/callbacks.h>
#include <cbor/encoding.h>
#include <cbor/streaming.h>
#include <stdint.h>
#include <string.h>

/* Filled by the streaming decoder's callbacks for one head. */
struct rd_ctx {
	struct cry_cbor_item *it;	/* the item being read */
	int err;			/* MRX_EINDEF for an indefinite head */
};

static void
cb_uint(void *c, uint64_t v)
{
	struct rd_ctx *ctx = c;

	ctx->it->type = CRY_CBOR_UINT;
	ctx->it->val = v;
}

static void
cb_uint8(void *c, uint8_t v)
{
	cb_uint(c, v);
}

static void
cb_uint16(void *c, uint16_t v)
{
	cb_uint(c, v);
}

static void
cb_uint32(void *c, uint32_t v)
{
	cb_uint(c, v);
}

static void
cb_negint(void *c, uint64_t v)
{
	struct rd_ctx *ctx = c;

	ctx->it->type = CRY_CBOR_NEGINT;
	ctx->it->val = v;
}

static void
cb_negint8(void *c, uint8_t v)
{
	cb_negint(c, v);
}

static void
cb_negint16(void *c, uint16_t v)
{
	cb_negint(c, v);
}

static void
cb_negint32(void *c, uint32_t v)
{
	cb_negint(c, v);
}

static void
cb_bstr(void *c, cbor_data p, size_t n)
{
	struct rd_ctx *ctx = c;

	ctx->it->type = CRY_CBOR_BSTR;
	ctx->it->ptr = p;
	ctx->it->val = n;
}

static void
cb_tstr(void *c, cbor_data p, size_t n)
{
	struct rd_ctx *ctx = c;

	ctx->it->type = CRY_CBOR_TSTR;
	ctx->it->ptr = p;
	ctx->it->val = n;
}

static void
cb_array(void *c, size_t n)
{
	struct rd_ctx *ctx = c;

	ctx->it->type = CRY_CBOR_ARRAY;
	ctx->it->val = n;
}

static void
cb_map(void *c, size_t n)
{
	struct rd_ctx *ctx = c;

	ctx->it->type = CRY_CBOR_MAP;
	ctx->it->val = n;
}

static void
cb_tag(void *c, uint64_t v)
{
	struct rd_ctx *ctx = c;

	ctx->it->type = CRY_CBOR_TAG;
	ctx->it->val = v;
}

static void
cb_float(void *c, float v)
{
	struct rd_ctx *ctx = c;

	(void)v;
	ctx->it->type = CRY_CBOR_FLOAT;
}

static void
cb_double(void *c, double v)
{
	struct rd_ctx *ctx = c;

	(void)v;
	ctx->it->type = CRY_CBOR_FLOAT;
}

static void
cb_undef(void *c)
{
	struct rd_ctx *ctx = c;

	ctx->it->type = CRY_CBOR_UNDEF;
}

static void
cb_null(void *c)
{
	struct rd_ctx *ctx = c;

	ctx->it->type = CRY_CBOR_NULL;
}

static void
cb_bool(void *c, bool b)
{
	struct rd_ctx *ctx = c;

	ctx->it->type = b ? CRY_CBOR_TRUE : CRY_CBOR_FALSE;
}

/* Indefinite-length starts and the break code: never accepted. */
static void
cb_indef(void *c)
{
	struct rd_ctx *ctx = c;

	ctx->err = MRX_EINDEF;
}

/*
 * libcbor's field names are crossed for strings and collections:
 * byte_string/string are the definite strings, *_start the indefinite ones.
 */
static const struct cbor_callbacks rd_callbacks = {
	.uint8 = cb_uint8,
	.uint16 = cb_uint16,
	.uint32 = cb_uint32,
	.uint64 = cb_uint,
	.negint64 = cb_negint,
	.negint32 = cb_negint32,
	.negint16 = cb_negint16,
	.negint8 = cb_negint8,
	.byte_string_start = cb_indef,
	.byte_string = cb_bstr,
	.string = cb_tstr,
	.string_start = cb_indef,
	.indef_array_start = cb_indef,
	.array_start = cb_array,
	.indef_map_start = cb_indef,
	.map_start = cb_map,
	.tag = cb_tag,
	.float2 = cb_float,
	.float4 = cb_float,
	.float8 = cb_double,
	.undefined = cb_undef,
	.null = cb_null,
	.boolean = cb_bool,
	.indef_break = cb_indef,
};

/* Bytes of a head whose additional information is `ai` (0..27). */
static size_t
head_len(unsigned ai)
{
	return ai < 24 ? 1 : 1 + ((size_t)1 << (ai - 24));
}

/* Bytes of the shortest head that carries argument `v`. */
static size_t
head_len_min(uint64_t v)
{
	if (v < 24)
		return 1;
	if (v <= UINT8_MAX)
		return 2;
	if (v <= UINT16_MAX)
		return 3;
	if (v <= UINT32_MAX)
		return 5;
	return 9;
}

static bool
type_has_data(enum cry_cbor_type t)
{
	return t == CRY_CBOR_BSTR || t == CRY_CBOR_TSTR;
}

static int
rd_fail(struct cry_cbor_rd *rd, int code, struct mrx_diag *diag)
{
	size_t off = rd->off;
	uint8_t b = off < rd->len ? rd->buf[off] : 0;

	switch (code) {
	case MRX_ETRUNC:
		if (off >= rd->len)
			return mrx_diag_set(diag, code, off, "",
			    "input ends where a CBOR item was expected");
		return mrx_diag_set(diag, code, off, "",
		    "CBOR item (head 0x%02x) is cut short: input ends at byte "
		    "%zu", b, rd->len);
	case MRX_EINDEF:
		if (b == 0xff)
			return mrx_diag_set(diag, code, off, "",
			    "break code (0xff) outside a definite item");
		return mrx_diag_set(diag, code, off, "",
		    "indefinite-length item (head 0x%02x) is not allowed", b);
	default:
		return mrx_diag_set(diag, code, off, "",
		    "reserved or unsupported CBOR head 0x%02x", b);
	}
}

/* Fills `it` from what libcbor consumed; checks its accounting. */
static int
rd_finish_item(const struct cry_cbor_rd *rd, struct cry_cbor_item *it,
    size_t consumed)
{
	uint8_t b = rd->buf[rd->off];
	unsigned major = b >> 5, ai = b & 0x1f;
	size_t hlen;

	/* libcbor has refused ai 28..31 before any callback ran. */
	if (ai > 27)
		return MRX_EMALFORMED;
	hlen = head_len(ai);
#if SIZE_MAX < UINT64_MAX
	/* libcbor narrows 8-byte lengths to size_t. */
	if (major >= 2 && major <= 5 && ai == 27)
		return MRX_ETOOBIG;
#endif
	if (consumed != hlen + (type_has_data(it->type) ? it->val : 0))
		return MRX_EMALFORMED;
	it->off = rd->off;
	it->len = consumed;
	if (major == 7)
		it->shortest = true;
	else
		it->shortest = hlen == head_len_min(it->val);
	return 0;
}

void
cry_cbor_rd_init(struct cry_cbor_rd *rd, const uint8_t *buf, size_t len)
{
	rd->buf = buf;
	rd->len = buf != NULL ? len : 0;
	rd->off = 0;
}

int
cry_cbor_next(struct cry_cbor_rd *rd, struct cry_cbor_item *it,
    struct mrx_diag *diag)
{
	struct cbor_decoder_result res;
	struct rd_ctx ctx;
	struct cry_cbor_item tmp;
	uint8_t b;
	int rc;

	if (rd->off >= rd->len)
		return rd_fail(rd, MRX_ETRUNC, diag);
	memset(&tmp, 0, sizeof(tmp));
	b = rd->buf[rd->off];
	if (b >= 0xc6 && b <= 0xd4) {
		/* One-byte tags 6..20, refused by libcbor 0.8. */
		tmp.type = CRY_CBOR_TAG;
		tmp.val = (uint64_t)(b - 0xc0);
		tmp.off = rd->off;
		tmp.len = 1;
		tmp.shortest = true;
		*it = tmp;
		rd->off++;
		return 0;
	}
	ctx.it = &tmp;
	ctx.err = 0;
	res = cbor_stream_decode(rd->buf + rd->off, rd->len - rd->off,
	    &rd_callbacks, &ctx);
	if (res.status == CBOR_DECODER_NEDATA)
		return rd_fail(rd, MRX_ETRUNC, diag);
	if (res.status != CBOR_DECODER_FINISHED)
		return rd_fail(rd, MRX_EMALFORMED, diag);
	if (ctx.err != 0)
		return rd_fail(rd, ctx.err, diag);
	rc = rd_finish_item(rd, &tmp, res.read);
	if (rc != 0)
		return rd_fail(rd, rc, diag);
	*it = tmp;
	rd->off += res.read;
	return 0;
}

static bool
is_container(const struct cry_cbor_item *it)
{
	return it->type == CRY_CBOR_ARRAY || it->type == CRY_CBOR_MAP ||
	    it->type == CRY_CBOR_TAG;
}

/*
 * Items contained in `it`: array elements, two per map pair, one under a
 * tag. Sets *n; returns MRX_ETRUNC when they cannot fit in `left` bytes.
 */
static int
content_count(const struct cry_cbor_item *it, size_t left, uint64_t *n)
{
	switch (it->type) {
	case CRY_CBOR_ARRAY:
		*n = it->val;
		break;
	case CRY_CBOR_MAP:
		if (it->val > left / 2)
			return MRX_ETRUNC;
		*n = it->val * 2;
		break;
	case CRY_CBOR_TAG:
		*n = 1;
		break;
	default:
		*n = 0;
		return 0;
	}
	return *n > left ? MRX_ETRUNC : 0;
}

static int
skip_fail(struct cry_cbor_rd *rd, size_t restore, int code,
    const struct cry_cbor_item *it, struct mrx_diag *diag)
{
	if (code == MRX_EDEPTH)
		mrx_diag_set(diag, code, it->off, "",
		    "CBOR nested deeper than %d levels", CRY_CBOR_DEPTH_MAX);
	else if (code == MRX_ETRUNC)
		mrx_diag_set(diag, code, it->off, "",
		    "CBOR container of %llu entries cannot fit in the %zu "
		    "bytes left", (unsigned long long)it->val,
		    rd->len - rd->off);
	rd->off = restore;
	return code;
}

int
cry_cbor_skip(struct cry_cbor_rd *rd, const struct cry_cbor_item *it,
    struct mrx_diag *diag)
{
	uint64_t left[CRY_CBOR_DEPTH_MAX];
	struct cry_cbor_item sub;
	size_t depth = 0, restore = rd->off;
	uint64_t n;
	int rc;

	if (content_count(it, rd->len - rd->off, &n) != 0)
		return skip_fail(rd, restore, MRX_ETRUNC, it, diag);
	if (n == 0)
		return 0;
	left[depth++] = n;
	while (depth > 0) {
		if (left[depth - 1] == 0) {
			depth--;
			continue;
		}
		left[depth - 1]--;
		rc = cry_cbor_next(rd, &sub, diag);
		if (rc != 0)
			return skip_fail(rd, restore, rc, &sub, diag);
		if (!is_container(&sub))
			continue;
		if (depth == CRY_CBOR_DEPTH_MAX)
			return skip_fail(rd, restore, MRX_EDEPTH, &sub, diag);
		if (content_count(&sub, rd->len - rd->off, &n) != 0)
			return skip_fail(rd, restore, MRX_ETRUNC, &sub, diag);
		if (n > 0)
			left[depth++] = n;
	}
	return 0;
}

int
cry_cbor_read_span(struct cry_cbor_rd *rd, size_t *start, size_t *end,
    struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	size_t s = rd->off;
	int rc;

	rc = cry_cbor_next(rd, &it, diag);
	if (rc != 0)
		return rc;
	rc = cry_cbor_skip(rd, &it, diag);
	if (rc != 0) {
		rd->off = s;
		return rc;
	}
	*start = s;
	*end = rd->off;
	return 0;
}

bool
cry_cbor_rd_done(const struct cry_cbor_rd *rd)
{
	return rd->off >= rd->len;
}

void
cry_cbor_wr_init(struct cry_cbor_wr *wr, uint8_t *buf, size_t cap)
{
	wr->buf = buf;
	wr->cap = buf != NULL ? cap : 0;
	wr->len = 0;
	wr->err = 0;
}

/*
 * Appends a head that a libcbor encoder wrote into `head` (hn bytes, 0 if it
 * did not fit the scratch) and then `n` bytes at `p`, all or nothing; once
 * an error is set it only counts.
 */
static void
wr_put(struct cry_cbor_wr *wr, const uint8_t *head, size_t hn, const void *p,
    size_t n)
{
	assert(p != NULL || n == 0);
	if (hn == 0 && head != NULL) {
		/* The 9-byte scratch always holds a head. */
		if (wr->err == 0)
			wr->err = MRX_EINVAL;
		return;
	}
	if (n > SIZE_MAX - hn || hn + n > SIZE_MAX - wr->len) {
		wr->len = SIZE_MAX;
		if (wr->err == 0)
			wr->err = MRX_ENOSPC;
		return;
	}
	if (wr->err == 0 && hn + n > wr->cap - wr->len)
		wr->err = MRX_ENOSPC;
	if (wr->err == 0) {
		if (hn > 0)
			memcpy(wr->buf + wr->len, head, hn);
		if (n > 0)
			memcpy(wr->buf + wr->len + hn, p, n);
	}
	wr->len += hn + n;
}

static void
wr_head(struct cry_cbor_wr *wr, const uint8_t *head, size_t hn)
{
	wr_put(wr, head, hn, NULL, 0);
}

void
cry_cbor_put_uint(struct cry_cbor_wr *wr, uint64_t v)
{
	uint8_t tmp[9];

	wr_head(wr, tmp, cbor_encode_uint(v, tmp, sizeof(tmp)));
}

void
cry_cbor_put_int(struct cry_cbor_wr *wr, int64_t v)
{
	uint8_t tmp[9];

	if (v >= 0) {
		cry_cbor_put_uint(wr, (uint64_t)v);
		return;
	}
	/* -1 - v without overflow, also for INT64_MIN. */
	wr_head(wr, tmp, cbor_encode_negint((uint64_t)(-(v + 1)), tmp,
	    sizeof(tmp)));
}

void
cry_cbor_put_bstr_head(struct cry_cbor_wr *wr, size_t n)
{
	uint8_t tmp[9];

	wr_head(wr, tmp, cbor_encode_bytestring_start(n, tmp, sizeof(tmp)));
}

void
cry_cbor_put_bstr(struct cry_cbor_wr *wr, const void *p, size_t n)
{
	uint8_t tmp[9];

	wr_put(wr, tmp, cbor_encode_bytestring_start(n, tmp, sizeof(tmp)), p,
	    n);
}

void
cry_cbor_put_tstrn(struct cry_cbor_wr *wr, const char *s, size_t n)
{
	uint8_t tmp[9];

	wr_put(wr, tmp, cbor_encode_string_start(n, tmp, sizeof(tmp)), s, n);
}

void
cry_cbor_put_tstr(struct cry_cbor_wr *wr, const char *s)
{
	cry_cbor_put_tstrn(wr, s, s != NULL ? strlen(s) : 0);
}

void
cry_cbor_put_array(struct cry_cbor_wr *wr, size_t n)
{
	uint8_t tmp[9];

	wr_head(wr, tmp, cbor_encode_array_start(n, tmp, sizeof(tmp)));
}

void
cry_cbor_put_map(struct cry_cbor_wr *wr, size_t n)
{
	uint8_t tmp[9];

	wr_head(wr, tmp, cbor_encode_map_start(n, tmp, sizeof(tmp)));
}

void
cry_cbor_put_tag(struct cry_cbor_wr *wr, uint64_t tag)
{
	uint8_t tmp[9];

	wr_head(wr, tmp, cbor_encode_tag(tag, tmp, sizeof(tmp)));
}

void
cry_cbor_put_bool(struct cry_cbor_wr *wr, bool b)
{
	uint8_t tmp[9];

	wr_head(wr, tmp, cbor_encode_bool(b, tmp, sizeof(tmp)));
}

void
cry_cbor_put_null(struct cry_cbor_wr *wr)
{
	uint8_t tmp[9];

	wr_head(wr, tmp, cbor_encode_null(tmp, sizeof(tmp)));
}

void
cry_cbor_put_raw(struct cry_cbor_wr *wr, const void *p, size_t n)
{
	wr_put(wr, NULL, 0, p, n);
}

int
cry_cbor_wr_finish(const struct cry_cbor_wr *wr, size_t *len)
{
	if (wr->err != 0)
		return wr->err;
	if (len != NULL)
		*len = wr->len;
	return 0;
}
