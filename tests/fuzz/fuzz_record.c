/*
 * fuzz_record.c - proto_record_decode() of untrusted bytes, every record
 * type (protocol/record.h), with a deterministic-encoding round trip.
 *
 * For an input x that decodes, with payload p:
 *  1. the encoder accepts the decoded record: y = encode(decode(x)) succeeds
 *     (the decoder never accepts what the encoder would refuse);
 *  2. y is p re-encoded: compared item by item, every claim of y is in p
 *     with the same bytes, and p has nothing more than what the decoder is
 *     documented to pass over -- "crit", top-level claims the record's type
 *     does not define (docs/mrx.cddl, restated below, not taken from
 *     record.c), and unknown keys inside nested maps. The one value that
 *     may differ is a status list's zlib "lst" (zlib is not canonical).
 *     When p has nothing of the kind, y == p byte for byte: decoding then
 *     encoding gives back exactly the signed bytes;
 *  3. y decodes, and encodes to y again (a fixed point);
 *  4. proto_record_hash() is SHA-256 of p; a decoded status list passes
 *     proto_status_list_check().
 * On failure the diag's code is the one returned. Inputs over
 * FUZZ_RECORD_MAX bytes are ignored.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "fuzzkit.h"
#include "key.h"
#include "record.h"

#define FUZZ_RECORD_MAX (PROTO_STATUS_LIST_MAX + 16)
#define CMP_DEPTH_MAX (CRY_CBOR_DEPTH_MAX + 2)

/* The claims each record type defines (docs/mrx.cddl), besides "crit". */
static const char *const common_claims[] = { "1", "2", "6", "7", "type",
	NULL };
static const char *const type_claims[][8] = {
	[PROTO_REC_DELEGATION] = { "4", "5", "key", "levels", "scopes" },
	[PROTO_REC_CLEARANCE] = { "4", "5", "level", "scopes", "operator",
	    "status" },
	[PROTO_REC_OPERATOR] = { "4", "5", "levels", "scopes", "status" },
	[PROTO_REC_STATUS_LIST] = { "4", "seq", "status_list", "reasons",
	    "head" },
	[PROTO_REC_STATUS_DELTA] = { "seq", "prev", "changes" },
	[PROTO_REC_CHECKPOINT] = { "seq", "head" },
	[PROTO_REC_AGREEMENT] = { "4", "5", "parties", "rows", "conditions" },
	[PROTO_REC_KEY_REVOCATION] = { "kid", "from", "reason" },
};

/* One map entry: the spans of its key and value in their buffer. */
struct entry {
	size_t ks, ke, vs, ve;
};

/* A comparison of p (the input payload) with y (its re-encoding). */
struct cmp {
	const uint8_t *p, *y;
	size_t plen, ylen;
	enum proto_rec_type type;
	bool exact;		/* nothing passed over, lst identical */
};

/* The key at [s, e) as text: "type", or "6" for an int key; "" if other. */
static void
key_text(const uint8_t *buf, size_t s, size_t e, char *out, size_t cap)
{
	struct cry_cbor_rd rd;
	struct cry_cbor_item it;

	out[0] = '\0';
	cry_cbor_rd_init(&rd, buf + s, e - s);
	if (cry_cbor_next(&rd, &it, NULL) != 0)
		return;
	if (it.type == CRY_CBOR_TSTR && it.val < cap)
		snprintf(out, cap, "%.*s", (int)it.val, (const char *)it.ptr);
	else if (it.type == CRY_CBOR_UINT)
		snprintf(out, cap, "%llu", (unsigned long long)it.val);
}

static bool
defined_claim(enum proto_rec_type t, const char *key)
{
	size_t i;

	for (i = 0; common_claims[i] != NULL; i++)
		if (strcmp(common_claims[i], key) == 0)
			return true;
	for (i = 0; i < 8 && type_claims[t][i] != NULL; i++)
		if (strcmp(type_claims[t][i], key) == 0)
			return true;
	return false;
}

/* Reads the map whose head is `it` into a new array of *n entries. */
static struct entry *
read_map(const uint8_t *buf, size_t len, struct cry_cbor_rd *rd,
    const struct cry_cbor_item *it, size_t *n)
{
	struct entry *e;
	size_t i;

	FUZZ_CHECK(it->val <= len / 2, "map of %llu pairs in %zu bytes",
	    (unsigned long long)it->val, len);
	*n = (size_t)it->val;
	e = calloc(*n > 0 ? *n : 1, sizeof(*e));
	FUZZ_CHECK(e != NULL, "out of memory");
	for (i = 0; i < *n; i++) {
		FUZZ_CHECK(cry_cbor_read_span(rd, &e[i].ks, &e[i].ke, NULL) ==
		    0 && cry_cbor_read_span(rd, &e[i].vs, &e[i].ve, NULL) == 0,
		    "a map that decoded does not read again");
	}
	return e;
}

static bool
span_eq(const uint8_t *a, size_t as, size_t ae, const uint8_t *b, size_t bs,
    size_t be)
{
	return ae - as == be - bs && memcmp(a + as, b + bs, ae - as) == 0;
}

static void cmp_item(struct cmp *c, size_t ps, size_t pe, size_t ys,
    size_t ye, int depth, const char *path);

/* p's map at [ps, pe) against y's map at [ys, ye). */
static void
cmp_map(struct cmp *c, struct cry_cbor_rd *pr, const struct cry_cbor_item *pi,
    struct cry_cbor_rd *yr, const struct cry_cbor_item *yi, int depth,
    const char *path)
{
	struct entry *pe, *ye;
	size_t np, ny, i, j;
	char key[72], sub[160];

	pe = read_map(c->p, c->plen, pr, pi, &np);
	ye = read_map(c->y, c->ylen, yr, yi, &ny);
	for (j = 0; j < ny; j++) {
		key_text(c->y, ye[j].ks, ye[j].ke, key, sizeof(key));
		for (i = 0; i < np; i++)
			if (span_eq(c->p, pe[i].ks, pe[i].ke, c->y, ye[j].ks,
			    ye[j].ke))
				break;
		FUZZ_CHECK(i < np, "%s: the encoder wrote '%s', which the "
		    "input does not have", path, key);
		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		cmp_item(c, pe[i].vs, pe[i].ve, ye[j].vs, ye[j].ve, depth + 1,
		    sub);
	}
	for (i = 0; i < np; i++) {
		for (j = 0; j < ny; j++)
			if (span_eq(c->p, pe[i].ks, pe[i].ke, c->y, ye[j].ks,
			    ye[j].ke))
				break;
		if (j < ny)
			continue;
		/* passed over by the decoder: only what it may ignore */
		key_text(c->p, pe[i].ks, pe[i].ke, key, sizeof(key));
		FUZZ_CHECK(depth > 0 || strcmp(key, "crit") == 0 ||
		    !defined_claim(c->type, key), "claim '%s' of a %s record "
		    "was decoded but not re-encoded", key,
		    proto_rec_type_name(c->type));
		c->exact = false;
	}
	free(pe);
	free(ye);
}

/* p's item at [ps, pe) against y's at [ys, ye). */
static void
cmp_item(struct cmp *c, size_t ps, size_t pe, size_t ys, size_t ye,
    int depth, const char *path)
{
	struct cry_cbor_rd pr, yr;
	struct cry_cbor_item pi, yi;
	uint64_t k;
	size_t s, e, s2, e2;

	FUZZ_CHECK(depth <= CMP_DEPTH_MAX, "%s: nested too deep", path);
	cry_cbor_rd_init(&pr, c->p, pe);
	pr.off = ps;
	cry_cbor_rd_init(&yr, c->y, ye);
	yr.off = ys;
	FUZZ_CHECK(cry_cbor_next(&pr, &pi, NULL) == 0 &&
	    cry_cbor_next(&yr, &yi, NULL) == 0, "%s: unreadable", path);
	if (c->type == PROTO_REC_STATUS_LIST &&
	    strcmp(path, "payload.status_list.lst") == 0) {
		FUZZ_CHECK(pi.type == CRY_CBOR_BSTR && yi.type == CRY_CBOR_BSTR,
		    "%s: not byte strings", path);
		if (!span_eq(c->p, ps, pe, c->y, ys, ye))
			c->exact = false;	/* another zlib stream */
		return;
	}
	FUZZ_CHECK(pi.type == yi.type, "%s: type %d re-encoded as %d", path,
	    (int)pi.type, (int)yi.type);
	if (pi.type == CRY_CBOR_MAP) {
		cmp_map(c, &pr, &pi, &yr, &yi, depth, path);
		return;
	}
	if (pi.type != CRY_CBOR_ARRAY) {
		FUZZ_CHECK(span_eq(c->p, ps, pe, c->y, ys, ye),
		    "%s: the value changed in the round trip", path);
		return;
	}
	FUZZ_CHECK(pi.val == yi.val, "%s: %llu items re-encoded as %llu",
	    path, (unsigned long long)pi.val, (unsigned long long)yi.val);
	for (k = 0; k < pi.val; k++) {
		FUZZ_CHECK(cry_cbor_read_span(&pr, &s, &e, NULL) == 0 &&
		    cry_cbor_read_span(&yr, &s2, &e2, NULL) == 0,
		    "%s[%llu]: unreadable", path, (unsigned long long)k);
		cmp_item(c, s, e, s2, e2, depth + 1, path);
	}
}

static void
payload_of(const struct proto_record *rec, const uint8_t **p, size_t *n)
{
	*p = rec->type == PROTO_REC_AGREEMENT ? rec->multi.payload :
	    rec->env.payload;
	*n = rec->type == PROTO_REC_AGREEMENT ? rec->multi.payload_len :
	    rec->env.payload_len;
}

/* Steps 3 and 4 above. */
static void
check_fixed_point(const uint8_t *y, size_t ylen, uint8_t *buf, size_t cap)
{
	struct proto_record rec2;
	struct mrx_diag d;
	size_t len2 = 0;
	int rc;

	mrx_diag_clear(&d);
	rc = proto_payload_decode(y, ylen, &rec2, &d);
	FUZZ_CHECK(rc == 0, "the re-encoded payload does not decode: %s: %s",
	    d.field, d.msg);
	rc = proto_payload_encode(&rec2, buf, cap, &len2, &d);
	FUZZ_CHECK(rc == 0 && len2 == ylen && memcmp(buf, y, ylen) == 0,
	    "encode(decode(y)) != y (rc %d, %zu vs %zu bytes)", rc, len2,
	    ylen);
	proto_record_fini(&rec2);
}

static void
check_record(const struct proto_record *rec)
{
	const uint8_t *p;
	uint8_t *y, *y2, h1[PROTO_HASH_LEN], h2[CRY_SHA256_LEN];
	struct mrx_diag d;
	struct cmp c;
	size_t plen, ylen = 0;
	int rc;

	payload_of(rec, &p, &plen);
	FUZZ_CHECK(p != NULL, "a decoded record without a payload");
	y = malloc(PROTO_STATUS_LIST_MAX);
	y2 = malloc(PROTO_STATUS_LIST_MAX);
	FUZZ_CHECK(y != NULL && y2 != NULL, "out of memory");
	mrx_diag_clear(&d);
	rc = proto_payload_encode(rec, y, PROTO_STATUS_LIST_MAX, &ylen, &d);
	FUZZ_CHECK(rc == 0, "a decoded %s does not encode: %s: %s",
	    proto_rec_type_name(rec->type), d.field, d.msg);
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.plen = plen;
	c.y = y;
	c.ylen = ylen;
	c.type = rec->type;
	c.exact = true;
	cmp_item(&c, 0, plen, 0, ylen, 0, "payload");
	FUZZ_CHECK(!c.exact || (plen == ylen && memcmp(p, y, plen) == 0),
	    "nothing was passed over, yet the bytes differ");
	check_fixed_point(y, ylen, y2, PROTO_STATUS_LIST_MAX);
	FUZZ_CHECK(proto_record_hash(rec, h1) == 0 && cry_sha256(p, plen,
	    h2) == 0 && memcmp(h1, h2, sizeof(h1)) == 0,
	    "the record hash is not SHA-256 of the payload");
	if (rec->type == PROTO_REC_STATUS_LIST)
		FUZZ_CHECK(proto_status_list_check(&rec->u.sl, &d) == 0,
		    "a decoded status list breaks its invariants: %s", d.msg);
	free(y);
	free(y2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_record rec;
	struct mrx_diag d;
	int rc;

	if (size > FUZZ_RECORD_MAX)
		return 0;
	mrx_diag_clear(&d);
	rc = proto_record_decode(data, size, &rec, &d);
	if (rc == 0) {
		FUZZ_CHECK(proto_rec_type_name(rec.type) != NULL,
		    "decoded type %d", (int)rec.type);
		check_record(&rec);
	} else {
		FUZZ_CHECK(rc < 0 && (rc == MRX_ENOMEM || d.code == rc),
		    "decode: rc %d, diag %d", rc, d.code);
		FUZZ_CHECK(rc == MRX_ENOMEM || d.msg[0] != '\0',
		    "an error without a message");
	}
	proto_record_fini(&rec);
	return 0;
}
