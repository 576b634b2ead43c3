/*
 * test_record.c - the record codec of protocol/record.c.
 *
 * Every record type round-trips (encode, sign, decode, re-encode: the same
 * bytes, the same fields); two payloads match golden bytes made by an
 * independent encoder; and each strictness rule of docs/protocol.md has a
 * test that builds the offending bytes by hand and checks the error code
 * and the field the diag names. Truncation at every length and single-byte
 * corruption never crash (the ASan build checks for over-reads).
 *
 * Bad payloads are built with a small editor (struct pl): a valid payload
 * is split into its top-level (key, value) pairs, which tests replace,
 * delete, duplicate or reorder before writing the map back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "cbor.h"
#include "record.h"

#define T0 INT64_C(1750000000)		/* 2025-06-15T15:06:40Z */
#define T_EXP INT64_C(2065000000)	/* T0 + ~10 years */
#define BUF_MAX (PROTO_STATUS_LIST_MAX + 4096)
#define PL_MAX 48			/* pairs of an edited payload */
#define PL_KEY_MAX 64
#define PL_VAL_MAX 8192
#define URI "mrx://jp.meti/status/0"
#define SUBJECT "00112233445566778899aabbccddeeff"

static struct cry_key *k_ed;	/* Ed25519: deterministic signatures */
static struct cry_key *k_ed2;	/* the second party of agreements */
static struct cry_key *k_es;	/* ES256 */
static uint8_t buf[BUF_MAX], buf2[BUF_MAX], msg[BUF_MAX], msg2[BUF_MAX];

/* Golden payloads, from an independent encoder (see docs/protocol.md). */
static const char golden_key_revocation[] =
    "a801676a702e726f6f7402676a702e6d657469061a684ee180075000010203040506"
    "0708090a0b0c0d0e0f636b696450101112131415161718191a1b1c1d1e1f6466726f"
    "6d1a683f9f4064747970656e6b65792d7265766f636174696f6e66726561736f6e0d";
static const char golden_clearance[] =
    "ab01676a702e6d657469027820303031313232333334343535363637373838393961"
    "6162626363646465656666041a7b156640051a684ee180061a684ee1800750a5a5a5"
    "a5a5a5a5a5a5a5a5a5a5a5a5a5647479706569636c656172616e6365656c6576656c"
    "744a502d434553493a434f4e464944454e5449414c6673636f706573816e73656d69"
    "636f6e647563746f727366737461747573a16b7374617475735f6c697374a2636964"
    "7819109263757269766d72783a2f2f6a702e6d6574692f7374617475732f30686f70"
    "657261746f726b6a702e6f702e7072696d65";

static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	for (; hex[0] != '\0' && hex[1] != '\0'; hex += 2) {
		assert_true(n < cap);
		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* Record makers: fixed inputs, valid records. */

static void
claims(struct proto_claims *c, const char *iss, const char *sub, bool window)
{
	snprintf(c->iss, sizeof(c->iss), "%s", iss);
	snprintf(c->sub, sizeof(c->sub), "%s", sub);
	c->iat = T0;
	memset(c->cti, 0xa5, sizeof(c->cti));
	if (window) {
		c->nbf = T0;
		c->exp = T_EXP;
		c->has_nbf = c->has_exp = true;
	}
}

static void
strs(struct proto_strs *l, const char *a, const char *b)
{
	l->n = 0;
	if (a != NULL)
		snprintf(l->v[l->n++], sizeof(l->v[0]), "%s", a);
	if (b != NULL)
		snprintf(l->v[l->n++], sizeof(l->v[0]), "%s", b);
}

static void
mk_delegation(struct proto_record *r)
{
	struct proto_delegation *d = &r->u.del;

	r->type = PROTO_REC_DELEGATION;
	claims(&d->c, "jp.root", "jp.meti", true);
	assert_int_equal(cry_key_spki(k_ed2, d->key, sizeof(d->key),
	    &d->key_len), 0);
	strs(&d->levels, "JP-CESI:CONFIDENTIAL", "JP-SDS:SECRET");
	strs(&d->scopes, "semiconductors", "batteries");
}

static void
mk_clearance(struct proto_record *r)
{
	struct proto_clearance *c = &r->u.clr;

	r->type = PROTO_REC_CLEARANCE;
	claims(&c->c, "jp.meti", SUBJECT, true);
	strcpy(c->level, "JP-CESI:CONFIDENTIAL");
	strs(&c->scopes, "semiconductors", NULL);
	strcpy(c->operator_id, "jp.op.prime");
	strcpy(c->status.uri, URI);
	c->status.idx = 4242;
}

static void
mk_operator(struct proto_record *r)
{
	struct proto_operator_cert *o = &r->u.op;

	r->type = PROTO_REC_OPERATOR;
	claims(&o->c, "jp.meti", "jp.op.prime", true);
	strs(&o->levels, "JP-CESI:CONFIDENTIAL", NULL);
	strs(&o->scopes, NULL, NULL);	/* any scope */
	strcpy(o->status.uri, URI);
	o->status.idx = 17;
}

static void
mk_status_list(struct proto_record *r)
{
	struct proto_status_list *sl = &r->u.sl;

	r->type = PROTO_REC_STATUS_LIST;
	claims(&sl->c, "jp.meti", URI, false);
	sl->c.has_exp = true;
	sl->c.exp = T0 + 86400;
	sl->seq = 3;
	sl->has_head = true;
	memset(sl->head, 0x11, sizeof(sl->head));
	assert_int_equal(proto_status_list_init(sl,
	    PROTO_STATUS_ENTRIES_DEFAULT), 0);
	assert_int_equal(proto_status_set(sl, 4242, PROTO_STATUS_REVOKED,
	    PROTO_REASON_ELIGIBILITY_REVOKED), 0);
	assert_int_equal(proto_status_set(sl, 17, PROTO_STATUS_SUSPENDED,
	    PROTO_REASON_SUSPENDED_PENDING_REVIEW), 0);
	assert_int_equal(proto_status_set(sl, 131071, PROTO_STATUS_REVOKED,
	    PROTO_REASON_NONE), 0);
}

static void
mk_status_delta(struct proto_record *r)
{
	struct proto_status_delta *sd = &r->u.sd;

	r->type = PROTO_REC_STATUS_DELTA;
	claims(&sd->c, "jp.meti", URI, false);
	sd->seq = 3;
	memset(sd->prev, 0x22, sizeof(sd->prev));
	sd->changes[0] = (struct proto_status_change){ 4242,
	    PROTO_STATUS_REVOKED, PROTO_REASON_ELIGIBILITY_REVOKED };
	sd->changes[1] = (struct proto_status_change){ 17,
	    PROTO_STATUS_VALID, PROTO_REASON_REINSTATED };
	sd->nchanges = 2;
}

static void
mk_checkpoint(struct proto_record *r)
{
	struct proto_checkpoint *cp = &r->u.cp;

	r->type = PROTO_REC_CHECKPOINT;
	claims(&cp->c, "jp.meti", URI, false);
	cp->seq = 3;
	memset(cp->head, 0x33, sizeof(cp->head));
}

static void
mk_agreement(struct proto_record *r)
{
	struct proto_agreement *a = &r->u.agr;

	r->type = PROTO_REC_AGREEMENT;
	claims(&a->c, "jp.root", "jp-uk.2026", true);
	strcpy(a->parties[0], "jp.root");
	strcpy(a->parties[1], "uk.root");
	a->rows = calloc(2, sizeof(*a->rows));
	assert_non_null(a->rows);
	a->nrows = 2;
	strcpy(a->rows[0].from, "UK:SC");
	strcpy(a->rows[0].to, "JP-CESI:CONFIDENTIAL");
	strs(&a->rows[0].scopes, "semiconductors", "batteries");
	strcpy(a->rows[1].from, "UK:DV");
	strcpy(a->rows[1].to, "JP-SDS:SECRET");
	strs(&a->rows[1].scopes, NULL, NULL);
	a->max_status_age_s = 300;
	a->operator_cert_required = true;
}

static void
mk_key_revocation(struct proto_record *r)
{
	struct proto_key_revocation *k = &r->u.kr;
	size_t i;

	r->type = PROTO_REC_KEY_REVOCATION;
	claims(&k->c, "jp.root", "jp.meti", false);
	for (i = 0; i < PROTO_CTI_LEN; i++)
		k->c.cti[i] = (uint8_t)i;
	for (i = 0; i < CRY_KID_LEN; i++)
		k->kid[i] = (uint8_t)(16 + i);
	k->from = 1749000000;
	k->reason = PROTO_REASON_ISSUER_KEY_COMPROMISED;
}

static void (*const makers[])(struct proto_record *) = {
	[PROTO_REC_DELEGATION] = mk_delegation,
	[PROTO_REC_CLEARANCE] = mk_clearance,
	[PROTO_REC_OPERATOR] = mk_operator,
	[PROTO_REC_STATUS_LIST] = mk_status_list,
	[PROTO_REC_STATUS_DELTA] = mk_status_delta,
	[PROTO_REC_CHECKPOINT] = mk_checkpoint,
	[PROTO_REC_AGREEMENT] = mk_agreement,
	[PROTO_REC_KEY_REVOCATION] = mk_key_revocation,
};

static void
make(enum proto_rec_type t, struct proto_record *r)
{
	memset(r, 0, sizeof(*r));
	makers[t](r);
}

/* Field-by-field equality. */

static void
assert_claims_equal(const struct proto_claims *a, const struct proto_claims *b)
{
	assert_string_equal(a->iss, b->iss);
	assert_string_equal(a->sub, b->sub);
	assert_int_equal(a->has_exp, b->has_exp);
	assert_int_equal(a->has_nbf, b->has_nbf);
	if (a->has_exp)
		assert_int_equal(a->exp, b->exp);
	if (a->has_nbf)
		assert_int_equal(a->nbf, b->nbf);
	assert_int_equal(a->iat, b->iat);
	assert_memory_equal(a->cti, b->cti, PROTO_CTI_LEN);
}

static void
assert_strs_equal(const struct proto_strs *a, const struct proto_strs *b)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++)
		assert_string_equal(a->v[i], b->v[i]);
}

static void
assert_sref_equal(const struct proto_status_ref *a,
    const struct proto_status_ref *b)
{
	assert_string_equal(a->uri, b->uri);
	assert_int_equal(a->idx, b->idx);
}

static void
assert_sl_equal(const struct proto_status_list *a,
    const struct proto_status_list *b)
{
	size_t i;

	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->size, b->size);
	assert_memory_equal(a->bits, b->bits, a->size / 4);
	assert_int_equal(a->nreasons, b->nreasons);
	for (i = 0; i < a->nreasons; i++) {
		assert_int_equal(a->reasons[i].idx, b->reasons[i].idx);
		assert_int_equal(a->reasons[i].reason, b->reasons[i].reason);
	}
	assert_int_equal(a->has_head, b->has_head);
	if (a->has_head)
		assert_memory_equal(a->head, b->head, PROTO_HASH_LEN);
}

static void
assert_agr_equal(const struct proto_agreement *a,
    const struct proto_agreement *b)
{
	size_t i;

	assert_string_equal(a->parties[0], b->parties[0]);
	assert_string_equal(a->parties[1], b->parties[1]);
	assert_int_equal(a->nrows, b->nrows);
	for (i = 0; i < a->nrows; i++) {
		assert_string_equal(a->rows[i].from, b->rows[i].from);
		assert_string_equal(a->rows[i].to, b->rows[i].to);
		assert_strs_equal(&a->rows[i].scopes, &b->rows[i].scopes);
	}
	assert_int_equal(a->max_status_age_s, b->max_status_age_s);
	assert_int_equal(a->operator_cert_required, b->operator_cert_required);
}

static void
assert_rec_equal(const struct proto_record *a, const struct proto_record *b)
{
	size_t i;

	assert_int_equal(a->type, b->type);
	switch (a->type) {
	case PROTO_REC_DELEGATION:
		assert_claims_equal(&a->u.del.c, &b->u.del.c);
		assert_int_equal(a->u.del.key_len, b->u.del.key_len);
		assert_memory_equal(a->u.del.key, b->u.del.key,
		    a->u.del.key_len);
		assert_strs_equal(&a->u.del.levels, &b->u.del.levels);
		assert_strs_equal(&a->u.del.scopes, &b->u.del.scopes);
		break;
	case PROTO_REC_CLEARANCE:
		assert_claims_equal(&a->u.clr.c, &b->u.clr.c);
		assert_string_equal(a->u.clr.level, b->u.clr.level);
		assert_strs_equal(&a->u.clr.scopes, &b->u.clr.scopes);
		assert_string_equal(a->u.clr.operator_id,
		    b->u.clr.operator_id);
		assert_sref_equal(&a->u.clr.status, &b->u.clr.status);
		break;
	case PROTO_REC_OPERATOR:
		assert_claims_equal(&a->u.op.c, &b->u.op.c);
		assert_strs_equal(&a->u.op.levels, &b->u.op.levels);
		assert_strs_equal(&a->u.op.scopes, &b->u.op.scopes);
		assert_sref_equal(&a->u.op.status, &b->u.op.status);
		break;
	case PROTO_REC_STATUS_LIST:
		assert_claims_equal(&a->u.sl.c, &b->u.sl.c);
		assert_sl_equal(&a->u.sl, &b->u.sl);
		break;
	case PROTO_REC_STATUS_DELTA:
		assert_claims_equal(&a->u.sd.c, &b->u.sd.c);
		assert_int_equal(a->u.sd.seq, b->u.sd.seq);
		assert_memory_equal(a->u.sd.prev, b->u.sd.prev,
		    PROTO_HASH_LEN);
		assert_int_equal(a->u.sd.nchanges, b->u.sd.nchanges);
		for (i = 0; i < a->u.sd.nchanges; i++) {
			assert_int_equal(a->u.sd.changes[i].idx,
			    b->u.sd.changes[i].idx);
			assert_int_equal(a->u.sd.changes[i].status,
			    b->u.sd.changes[i].status);
			assert_int_equal(a->u.sd.changes[i].reason,
			    b->u.sd.changes[i].reason);
		}
		break;
	case PROTO_REC_CHECKPOINT:
		assert_claims_equal(&a->u.cp.c, &b->u.cp.c);
		assert_int_equal(a->u.cp.seq, b->u.cp.seq);
		assert_memory_equal(a->u.cp.head, b->u.cp.head,
		    PROTO_HASH_LEN);
		break;
	case PROTO_REC_AGREEMENT:
		assert_claims_equal(&a->u.agr.c, &b->u.agr.c);
		assert_agr_equal(&a->u.agr, &b->u.agr);
		break;
	case PROTO_REC_KEY_REVOCATION:
		assert_claims_equal(&a->u.kr.c, &b->u.kr.c);
		assert_memory_equal(a->u.kr.kid, b->u.kr.kid, CRY_KID_LEN);
		assert_int_equal(a->u.kr.from, b->u.kr.from);
		assert_int_equal(a->u.kr.reason, b->u.kr.reason);
		break;
	default:
		fail();
	}
}

/* The payload editor. */

struct pl {
	struct {
		uint8_t k[PL_KEY_MAX];
		size_t kn;
		uint8_t v[PL_VAL_MAX];
		size_t vn;
	} e[PL_MAX];
	size_t n;
};

static struct pl P;

/* "1".."7" and "-5" are integer keys, anything else a text key. */
static size_t
key_enc(const char *name, uint8_t *out)
{
	struct cry_cbor_wr wr;
	char *end;
	long long v = strtoll(name, &end, 10);

	cry_cbor_wr_init(&wr, out, PL_KEY_MAX);
	if (*name != '\0' && *end == '\0')
		cry_cbor_put_int(&wr, v);
	else
		cry_cbor_put_tstr(&wr, name);
	assert_int_equal(wr.err, 0);
	return wr.len;
}

static void
pl_from(struct pl *p, const uint8_t *b, size_t n)
{
	struct cry_cbor_rd rd;
	struct cry_cbor_item it;
	size_t s, e;
	uint64_t i;

	memset(p, 0, sizeof(*p));
	cry_cbor_rd_init(&rd, b, n);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_int_equal(it.type, CRY_CBOR_MAP);
	for (i = 0; i < it.val; i++) {
		assert_true(p->n < PL_MAX);
		assert_int_equal(cry_cbor_read_span(&rd, &s, &e, NULL), 0);
		assert_true(e - s <= PL_KEY_MAX);
		memcpy(p->e[p->n].k, b + s, e - s);
		p->e[p->n].kn = e - s;
		assert_int_equal(cry_cbor_read_span(&rd, &s, &e, NULL), 0);
		assert_true(e - s <= PL_VAL_MAX);
		memcpy(p->e[p->n].v, b + s, e - s);
		p->e[p->n].vn = e - s;
		p->n++;
	}
	assert_true(cry_cbor_rd_done(&rd));
}

/* Loads the payload of a freshly made record of type t. */
static void
pl_base(struct pl *p, enum proto_rec_type t)
{
	struct proto_record r;
	size_t n;

	make(t, &r);
	assert_int_equal(proto_payload_encode(&r, buf, sizeof(buf), &n, NULL),
	    0);
	proto_record_fini(&r);
	pl_from(p, buf, n);
}

static int
pl_find(const struct pl *p, const char *key)
{
	uint8_t k[PL_KEY_MAX];
	size_t kn = key_enc(key, k), i;

	for (i = 0; i < p->n; i++)
		if (p->e[i].kn == kn && memcmp(p->e[i].k, k, kn) == 0)
			return (int)i;
	return -1;
}

static void
pl_add(struct pl *p, const char *key, const void *v, size_t vn)
{
	assert_true(p->n < PL_MAX && vn <= PL_VAL_MAX);
	p->e[p->n].kn = key_enc(key, p->e[p->n].k);
	memcpy(p->e[p->n].v, v, vn);
	p->e[p->n].vn = vn;
	p->n++;
}

static void
pl_set(struct pl *p, const char *key, const void *v, size_t vn)
{
	int i = pl_find(p, key);

	if (i < 0) {
		pl_add(p, key, v, vn);
		return;
	}
	assert_true(vn <= PL_VAL_MAX);
	memcpy(p->e[i].v, v, vn);
	p->e[i].vn = vn;
}

static void
pl_del(struct pl *p, const char *key)
{
	int i = pl_find(p, key);

	assert_true(i >= 0);
	memmove(&p->e[i], &p->e[i + 1], (p->n - (size_t)i - 1) *
	    sizeof(p->e[0]));
	p->n--;
}

static void
pl_set_hex(struct pl *p, const char *key, const char *hex)
{
	uint8_t v[PL_VAL_MAX];

	pl_set(p, key, v, unhex(hex, v, sizeof(v)));
}

static void
pl_set_tstr(struct pl *p, const char *key, const char *s)
{
	uint8_t v[PL_VAL_MAX];
	struct cry_cbor_wr wr;

	cry_cbor_wr_init(&wr, v, sizeof(v));
	cry_cbor_put_tstr(&wr, s);
	pl_set(p, key, v, wr.len);
}

static void
pl_set_int(struct pl *p, const char *key, int64_t x)
{
	uint8_t v[16];
	struct cry_cbor_wr wr;

	cry_cbor_wr_init(&wr, v, sizeof(v));
	cry_cbor_put_int(&wr, x);
	pl_set(p, key, v, wr.len);
}

static void
pl_set_bstr(struct pl *p, const char *key, const void *b, size_t n)
{
	uint8_t v[PL_VAL_MAX];
	struct cry_cbor_wr wr;

	cry_cbor_wr_init(&wr, v, sizeof(v));
	cry_cbor_put_bstr(&wr, b, n);
	assert_int_equal(wr.err, 0);
	pl_set(p, key, v, wr.len);
}

static void
pl_swap(struct pl *p, size_t i, size_t j)
{
	static struct pl one;

	one.e[0] = p->e[i];
	p->e[i] = p->e[j];
	p->e[j] = one.e[0];
}

static int
ent_cmp(const struct pl *p, size_t a, size_t b)
{
	size_t n = p->e[a].kn < p->e[b].kn ? p->e[a].kn : p->e[b].kn;
	int c = memcmp(p->e[a].k, p->e[b].k, n);

	if (c != 0)
		return c;
	return p->e[a].kn < p->e[b].kn ? -1 : p->e[a].kn > p->e[b].kn;
}

/* Writes the map, its pairs sorted (or as they are), into out. */
static size_t
pl_write(const struct pl *p, bool sort, uint8_t *out, size_t cap)
{
	struct cry_cbor_wr wr;
	size_t order[PL_MAX], i, j, t;

	for (i = 0; i < p->n; i++)
		order[i] = i;
	for (i = 1; sort && i < p->n; i++)
		for (j = i; j > 0 && ent_cmp(p, order[j - 1], order[j]) > 0;
		    j--) {
			t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	cry_cbor_wr_init(&wr, out, cap);
	cry_cbor_put_map(&wr, p->n);
	for (i = 0; i < p->n; i++) {
		cry_cbor_put_raw(&wr, p->e[order[i]].k, p->e[order[i]].kn);
		cry_cbor_put_raw(&wr, p->e[order[i]].v, p->e[order[i]].vn);
	}
	assert_int_equal(wr.err, 0);
	return wr.len;
}

/* Decoding expectations. */

static void
expect_bytes(const uint8_t *b, size_t n, int code, const char *field)
{
	struct proto_record r;
	struct mrx_diag d;
	char line[320];
	int rc;

	mrx_diag_clear(&d);
	rc = proto_payload_decode(b, n, &r, &d);
	if (rc != code || (field != NULL && strcmp(d.field, field) != 0))
		print_message("expected %s '%s', got %s %s\n",
		    mrx_errname(code), field != NULL ? field : "",
		    mrx_errname(rc), mrx_diag_str(&d, line, sizeof(line)));
	assert_int_equal(rc, code);
	if (code != 0) {
		assert_int_equal(d.code, code);
		assert_true(d.field[0] != '\0' ||
		    d.offset != MRX_DIAG_NO_OFFSET);
		if (field != NULL)
			assert_string_equal(d.field, field);
	}
	proto_record_fini(&r);
}

static void
expect_pl(const struct pl *p, int code, const char *field)
{
	expect_bytes(buf2, pl_write(p, true, buf2, sizeof(buf2)), code, field);
}

static void
expect_pl_as_is(const struct pl *p, int code, const char *field)
{
	expect_bytes(buf2, pl_write(p, false, buf2, sizeof(buf2)), code,
	    field);
}

/* Signs raw payload bytes as a Sign1 (or a COSE_Sign) into msg. */
static size_t
sign_raw(const uint8_t *payload, size_t n, bool multi)
{
	size_t len;

	if (multi)
		assert_int_equal(cry_sign_sign(k_ed, NULL, 0, payload, n, msg,
		    sizeof(msg), &len), 0);
	else
		assert_int_equal(cry_sign1_sign(k_ed, NULL, 0, NULL, 0, payload,
		    n, msg, sizeof(msg), &len), 0);
	return len;
}

static int
decode_msg(const uint8_t *m, size_t n, struct mrx_diag *d)
{
	struct proto_record r;
	int rc;

	mrx_diag_clear(d);
	rc = proto_record_decode(m, n, &r, d);
	proto_record_fini(&r);
	return rc;
}

/* Where needle first occurs in hay, or NULL. */
static const uint8_t *
find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	size_t i;

	for (i = 0; m <= n && i <= n - m; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

/* Writes with a fresh writer into a scratch value buffer. */
static uint8_t vbuf[PL_VAL_MAX];

static struct cry_cbor_wr
vw(void)
{
	struct cry_cbor_wr wr;

	cry_cbor_wr_init(&wr, vbuf, sizeof(vbuf));
	return wr;
}

/* Round trips. */

static void
roundtrip(enum proto_rec_type t)
{
	struct proto_record r, d, d2;
	struct mrx_diag dg;
	uint8_t h[CRY_SHA256_LEN], h2[CRY_SHA256_LEN];
	const uint8_t *pv;
	size_t plen, plen2, mlen, mlen2, pvlen;

	make(t, &r);
	mrx_diag_clear(&dg);
	assert_int_equal(proto_payload_encode(&r, buf, sizeof(buf), &plen,
	    &dg), 0);
	assert_int_equal(proto_record_sign(&r, k_ed, msg, sizeof(msg), &mlen,
	    &dg), 0);
	assert_int_equal(proto_record_decode(msg, mlen, &d, &dg), 0);
	assert_rec_equal(&r, &d);
	/* The hash is SHA-256 of the payload: the record's identity. */
	assert_int_equal(cry_sha256(buf, plen, h), 0);
	assert_int_equal(proto_record_hash(&d, h2), 0);
	assert_memory_equal(h, h2, sizeof(h));
	/* The envelope carries exactly the encoded payload. */
	pv = t == PROTO_REC_AGREEMENT ? d.multi.payload : d.env.payload;
	pvlen = t == PROTO_REC_AGREEMENT ? d.multi.payload_len :
	    d.env.payload_len;
	assert_int_equal(pvlen, plen);
	assert_memory_equal(pv, buf, plen);
	if (t == PROTO_REC_AGREEMENT)
		assert_int_equal(d.multi.nsigs, 1);
	else
		assert_true(d.env.tagged);
	/* Re-encoding the decoded record gives the same payload ... */
	assert_int_equal(proto_payload_encode(&d, buf2, sizeof(buf2), &plen2,
	    &dg), 0);
	assert_int_equal(plen2, plen);
	assert_memory_equal(buf2, buf, plen);
	/* ... and, Ed25519 being deterministic, the same record. */
	assert_int_equal(proto_record_sign(&d, k_ed, msg2, sizeof(msg2),
	    &mlen2, &dg), 0);
	assert_int_equal(mlen2, mlen);
	assert_memory_equal(msg2, msg, mlen);
	/* The payload alone decodes to the same record. */
	assert_int_equal(proto_payload_decode(buf, plen, &d2, &dg), 0);
	assert_rec_equal(&r, &d2);
	proto_record_fini(&d2);
	proto_record_fini(&d);
	proto_record_fini(&r);
}

static void
test_roundtrip_delegation(void **state)
{
	(void)state;
	roundtrip(PROTO_REC_DELEGATION);
}

static void
test_roundtrip_clearance(void **state)
{
	(void)state;
	roundtrip(PROTO_REC_CLEARANCE);
}

static void
test_roundtrip_operator(void **state)
{
	(void)state;
	roundtrip(PROTO_REC_OPERATOR);
}

static void
test_roundtrip_status_list(void **state)
{
	(void)state;
	roundtrip(PROTO_REC_STATUS_LIST);
}

static void
test_roundtrip_status_delta(void **state)
{
	(void)state;
	roundtrip(PROTO_REC_STATUS_DELTA);
}

static void
test_roundtrip_checkpoint(void **state)
{
	(void)state;
	roundtrip(PROTO_REC_CHECKPOINT);
}

static void
test_roundtrip_agreement(void **state)
{
	(void)state;
	roundtrip(PROTO_REC_AGREEMENT);
}

static void
test_roundtrip_key_revocation(void **state)
{
	(void)state;
	roundtrip(PROTO_REC_KEY_REVOCATION);
}

/* Optional parts absent, lists empty, extremes of every range. */
static void
test_roundtrip_edges(void **state)
{
	struct proto_record r, d;
	size_t mlen, i;

	(void)state;
	make(PROTO_REC_STATUS_LIST, &r);
	r.u.sl.c.has_exp = false;
	r.u.sl.has_head = false;
	for (i = 0; i < r.u.sl.nreasons; i++)
		r.u.sl.bits[r.u.sl.reasons[i].idx / 4] = 0;
	r.u.sl.nreasons = 0;
	r.u.sl.seq = 0;		/* never changed: no head, all valid */
	assert_int_equal(proto_record_sign(&r, k_ed, msg, sizeof(msg), &mlen,
	    NULL), 0);
	assert_int_equal(proto_record_decode(msg, mlen, &d, NULL), 0);
	assert_rec_equal(&r, &d);
	proto_record_fini(&d);
	proto_record_fini(&r);

	make(PROTO_REC_CHECKPOINT, &r);
	r.u.cp.seq = 0;		/* an empty log */
	r.u.cp.c.iat = 253402300799;
	assert_int_equal(proto_record_sign(&r, k_ed, msg, sizeof(msg), &mlen,
	    NULL), 0);
	assert_int_equal(proto_record_decode(msg, mlen, &d, NULL), 0);
	assert_rec_equal(&r, &d);
	proto_record_fini(&d);
	proto_record_fini(&r);

	make(PROTO_REC_STATUS_DELTA, &r);
	r.u.sd.seq = (uint64_t)INT64_MAX;
	r.u.sd.nchanges = PROTO_CHANGES_MAX;
	for (i = 0; i < PROTO_CHANGES_MAX; i++)
		r.u.sd.changes[i] = (struct proto_status_change){
		    PROTO_STATUS_ENTRIES_MAX - 1 - (uint32_t)i,
		    (uint8_t)(i % 3), (uint8_t)(i % PROTO_REASON_COUNT) };
	assert_int_equal(proto_record_sign(&r, k_ed, msg, sizeof(msg), &mlen,
	    NULL), 0);
	assert_int_equal(proto_record_decode(msg, mlen, &d, NULL), 0);
	assert_rec_equal(&r, &d);
	proto_record_fini(&d);
	proto_record_fini(&r);

	make(PROTO_REC_CLEARANCE, &r);
	r.u.clr.scopes.n = PROTO_LIST_MAX;
	for (i = 0; i < PROTO_LIST_MAX; i++) {
		memset(r.u.clr.scopes.v[i], 'x', PROTO_SCOPE_MAX);
		memcpy(r.u.clr.scopes.v[i], "0._:/-", 6);
		r.u.clr.scopes.v[i][1] = (char)('a' + i);
	}
	strcpy(r.u.clr.level, "ABCDEFGHIJKLMNOPQRST:UVWXYZ-012");
	assert_int_equal(strlen(r.u.clr.level), PROTO_LEVEL_MAX);
	memset(r.u.clr.operator_id, 'a', PROTO_ID_MAX);
	r.u.clr.status.idx = PROTO_STATUS_ENTRIES_MAX - 1;
	assert_int_equal(proto_record_sign(&r, k_es, msg, sizeof(msg), &mlen,
	    NULL), 0);
	assert_int_equal(proto_record_decode(msg, mlen, &d, NULL), 0);
	assert_rec_equal(&r, &d);
	assert_int_equal(d.env.hdr.alg, CRY_ALG_ES256);
	proto_record_fini(&d);
	proto_record_fini(&r);
}

/* An agreement is countersigned by the second party. */
static void
test_agreement_two_signatures(void **state)
{
	struct proto_record r, d;
	size_t mlen, mlen2;

	(void)state;
	make(PROTO_REC_AGREEMENT, &r);
	assert_int_equal(proto_record_sign(&r, k_ed, msg, sizeof(msg), &mlen,
	    NULL), 0);
	assert_int_equal(cry_sign_add(msg, mlen, k_ed2, NULL, 0, msg2,
	    sizeof(msg2), &mlen2, NULL), 0);
	assert_int_equal(proto_record_decode(msg2, mlen2, &d, NULL), 0);
	assert_rec_equal(&r, &d);
	assert_int_equal(d.multi.nsigs, 2);
	assert_int_equal(cry_sign_verify(&d.multi, 0, k_ed, NULL, 0, NULL), 0);
	assert_int_equal(cry_sign_verify(&d.multi, 1, k_ed2, NULL, 0, NULL),
	    0);
	proto_record_fini(&d);
	proto_record_fini(&r);
}

/* Walks the top-level keys of a payload: strictly ascending encodings. */
static void
assert_keys_sorted(const uint8_t *b, size_t n)
{
	struct cry_cbor_rd rd;
	struct cry_cbor_item it;
	size_t s, e, ps = 0, pe = 0, m;
	uint64_t i;

	cry_cbor_rd_init(&rd, b, n);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_int_equal(it.type, CRY_CBOR_MAP);
	for (i = 0; i < it.val; i++) {
		assert_int_equal(cry_cbor_read_span(&rd, &s, &e, NULL), 0);
		if (i > 0) {
			m = e - s < pe - ps ? e - s : pe - ps;
			assert_true(memcmp(b + ps, b + s, m) < 0 ||
			    (memcmp(b + ps, b + s, m) == 0 && pe - ps <
			    e - s));
		}
		ps = s;
		pe = e;
		assert_int_equal(cry_cbor_read_span(&rd, &s, &e, NULL), 0);
	}
}

static void
golden(enum proto_rec_type t, const char *hex)
{
	struct proto_record r;
	uint8_t want[512];
	size_t n, n2, wn = unhex(hex, want, sizeof(want));
	enum proto_rec_type i;

	make(t, &r);
	assert_int_equal(proto_payload_encode(&r, buf, sizeof(buf), &n, NULL),
	    0);
	assert_int_equal(proto_payload_encode(&r, buf2, sizeof(buf2), &n2,
	    NULL), 0);
	assert_int_equal(n, n2);
	assert_memory_equal(buf, buf2, n);
	assert_int_equal(n, wn);
	assert_memory_equal(buf, want, wn);
	proto_record_fini(&r);
	for (i = PROTO_REC_DELEGATION; i <= PROTO_REC_KEY_REVOCATION; i++) {
		make(i, &r);
		assert_int_equal(proto_payload_encode(&r, buf, sizeof(buf), &n,
		    NULL), 0);
		assert_keys_sorted(buf, n);
		proto_record_fini(&r);
	}
}

static void
test_golden(void **state)
{
	(void)state;
	golden(PROTO_REC_KEY_REVOCATION, golden_key_revocation);
	golden(PROTO_REC_CLEARANCE, golden_clearance);
}

/* Strictness: limits. */

static void
test_limit_sizes(void **state)
{
	static uint8_t pad[PROTO_RECORD_MAX];
	struct proto_status_change *ch;
	struct proto_record r;
	struct cry_cbor_wr wr;
	struct mrx_diag d;
	size_t n, mlen, k;

	(void)state;
	/* Over the largest record of all: refused before anything. */
	assert_int_equal(decode_msg(msg, PROTO_STATUS_LIST_MAX + 1, &d),
	    MRX_ETOOBIG);
	assert_string_equal(d.field, "record");
	/* A clearance padded past its limit with an unknown claim "pad",
	 * which sorts after the integer keys and before "type". */
	pl_base(&P, PROTO_REC_CLEARANCE);
	cry_cbor_wr_init(&wr, buf2, sizeof(buf2));
	cry_cbor_put_map(&wr, P.n + 1);
	for (k = 0; k < P.n; k++) {
		if (k == 6) {
			cry_cbor_put_tstr(&wr, "pad");
			cry_cbor_put_bstr(&wr, pad, sizeof(pad));
		}
		cry_cbor_put_raw(&wr, P.e[k].k, P.e[k].kn);
		cry_cbor_put_raw(&wr, P.e[k].v, P.e[k].vn);
	}
	n = wr.len;
	expect_bytes(buf2, n, MRX_ETOOBIG, "payload");
	mlen = sign_raw(buf2, n, false);
	assert_true(mlen > PROTO_RECORD_MAX);
	assert_int_equal(decode_msg(msg, mlen, &d), MRX_ETOOBIG);
	assert_string_equal(d.field, "record");
	/* A status list may be larger than PROTO_RECORD_MAX ... */
	make(PROTO_REC_STATUS_LIST, &r);
	for (n = 0; n < 30000; n++)
		assert_int_equal(proto_status_set(&r.u.sl, (uint32_t)(n * 4 +
		    1), PROTO_STATUS_REVOKED, PROTO_REASON_EXPIRED), 0);
	assert_int_equal(proto_record_sign(&r, k_ed, msg, sizeof(msg), &mlen,
	    NULL), 0);
	assert_true(mlen > PROTO_RECORD_MAX);
	assert_int_equal(decode_msg(msg, mlen, &d), 0);
	/* ... but not larger than PROTO_STATUS_LIST_MAX: the encoder
	 * refuses to make it (200000 reasons of 6 bytes). */
	free(r.u.sl.bits);
	free(r.u.sl.reasons);
	assert_int_equal(proto_status_list_init(&r.u.sl, 1u << 20), 0);
	ch = calloc(200000, sizeof(*ch));
	assert_non_null(ch);
	for (n = 0; n < 200000; n++)
		ch[n] = (struct proto_status_change){ (uint32_t)(n * 5 + 3),
		    PROTO_STATUS_REVOKED, PROTO_REASON_EXPIRED };
	assert_int_equal(proto_status_apply(&r.u.sl, ch, 200000), 0);
	free(ch);
	mrx_diag_clear(&d);
	assert_int_equal(proto_record_sign(&r, k_ed, msg, sizeof(msg), &mlen,
	    &d), MRX_ETOOBIG);
	assert_string_equal(d.field, "payload");
	proto_record_fini(&r);
	/* An agreement at its row and list limits is still too big. */
	make(PROTO_REC_AGREEMENT, &r);
	free(r.u.agr.rows);
	r.u.agr.rows = calloc(PROTO_ROWS_MAX, sizeof(*r.u.agr.rows));
	assert_non_null(r.u.agr.rows);
	r.u.agr.nrows = PROTO_ROWS_MAX;
	for (n = 0; n < PROTO_ROWS_MAX; n++) {
		size_t j;

		snprintf(r.u.agr.rows[n].from, sizeof(r.u.agr.rows[n].from),
		    "UK:L%zu", n);
		strcpy(r.u.agr.rows[n].to, "JP-CESI:CONFIDENTIAL");
		r.u.agr.rows[n].scopes.n = PROTO_LIST_MAX;
		for (j = 0; j < PROTO_LIST_MAX; j++) {
			memset(r.u.agr.rows[n].scopes.v[j], 'a',
			    PROTO_SCOPE_MAX);
			r.u.agr.rows[n].scopes.v[j][0] = (char)('a' + j);
		}
	}
	mrx_diag_clear(&d);
	assert_int_equal(proto_payload_encode(&r, buf, sizeof(buf), &n, &d),
	    MRX_ETOOBIG);
	assert_string_equal(d.field, "payload");
	proto_record_fini(&r);
}

static void
test_limit_lengths(void **state)
{
	static const char long40[] = "ABCDEFGHIJKLMNOP:QRSTUVWXYZ0123456789AB";
	char s[256];
	uint8_t cti[17] = { 0 };
	struct cry_cbor_wr wr;
	int i;

	(void)state;
	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_tstr(&P, "level", long40);
	expect_pl(&P, MRX_ETOOBIG, "payload.level");

	pl_base(&P, PROTO_REC_CLEARANCE);
	memset(s, 'a', 64);
	s[64] = '\0';
	pl_set_tstr(&P, "1", s);
	expect_pl(&P, MRX_ETOOBIG, "payload.iss");

	pl_base(&P, PROTO_REC_CLEARANCE);
	memset(s, 'a', 128);
	s[128] = '\0';
	pl_set_tstr(&P, "2", s);
	expect_pl(&P, MRX_ETOOBIG, "payload.sub");

	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_bstr(&P, "7", cti, 15);
	expect_pl(&P, MRX_ERANGE, "payload.cti");
	pl_set_bstr(&P, "7", cti, 17);
	expect_pl(&P, MRX_ERANGE, "payload.cti");

	pl_base(&P, PROTO_REC_CLEARANCE);
	wr = vw();
	cry_cbor_put_array(&wr, PROTO_LIST_MAX + 1);
	for (i = 0; i <= PROTO_LIST_MAX; i++) {
		snprintf(s, sizeof(s), "scope-%d", i);
		cry_cbor_put_tstr(&wr, s);
	}
	pl_set(&P, "scopes", vbuf, wr.len);
	expect_pl(&P, MRX_ETOOBIG, "payload.scopes");

	wr = vw();
	cry_cbor_put_array(&wr, 1);
	memset(s, 'a', 64);
	cry_cbor_put_tstrn(&wr, s, 64);
	pl_set(&P, "scopes", vbuf, wr.len);
	expect_pl(&P, MRX_ETOOBIG, "payload.scopes[0]");

	pl_base(&P, PROTO_REC_CLEARANCE);
	wr = vw();
	cry_cbor_put_map(&wr, 1);
	cry_cbor_put_tstr(&wr, "status_list");
	cry_cbor_put_map(&wr, 2);
	cry_cbor_put_tstr(&wr, "idx");
	cry_cbor_put_uint(&wr, 1);
	cry_cbor_put_tstr(&wr, "uri");
	memset(s, 'a', 128);
	memcpy(s, "mrx:", 4);
	cry_cbor_put_tstrn(&wr, s, 128);
	pl_set(&P, "status", vbuf, wr.len);
	expect_pl(&P, MRX_ETOOBIG, "payload.status.status_list.uri");

	pl_base(&P, PROTO_REC_DELEGATION);
	memset(s, 0x30, CRY_SPKI_MAX + 1);
	pl_set_bstr(&P, "key", s, CRY_SPKI_MAX + 1);
	expect_pl(&P, MRX_ETOOBIG, "payload.key");
	pl_set_bstr(&P, "key", "\x30\x03\x01\x02", 4);
	expect_pl(&P, MRX_ERANGE, "payload.key");

	pl_base(&P, PROTO_REC_STATUS_DELTA);
	wr = vw();
	cry_cbor_put_array(&wr, PROTO_CHANGES_MAX + 1);
	for (i = 0; i <= PROTO_CHANGES_MAX; i++) {
		cry_cbor_put_array(&wr, 3);
		cry_cbor_put_uint(&wr, (uint64_t)i);
		cry_cbor_put_uint(&wr, 1);
		cry_cbor_put_uint(&wr, 1);
	}
	pl_set(&P, "changes", vbuf, wr.len);
	expect_pl(&P, MRX_ETOOBIG, "payload.changes");

	pl_base(&P, PROTO_REC_AGREEMENT);
	wr = vw();
	cry_cbor_put_array(&wr, PROTO_ROWS_MAX + 1);
	for (i = 0; i <= PROTO_ROWS_MAX; i++) {
		cry_cbor_put_map(&wr, 3);
		cry_cbor_put_tstr(&wr, "to");
		cry_cbor_put_tstr(&wr, "JP-SDS:SECRET");
		cry_cbor_put_tstr(&wr, "from");
		snprintf(s, sizeof(s), "UK:L%d", i);
		cry_cbor_put_tstr(&wr, s);
		cry_cbor_put_tstr(&wr, "scopes");
		cry_cbor_put_array(&wr, 0);
	}
	pl_set(&P, "rows", vbuf, wr.len);
	expect_pl(&P, MRX_ETOOBIG, "payload.rows");

	/* A NUL inside a text string would shorten the C string. */
	pl_base(&P, PROTO_REC_CLEARANCE);
	wr = vw();
	cry_cbor_put_tstrn(&wr, "jp.op\0evil", 10);
	pl_set(&P, "operator", vbuf, wr.len);
	expect_pl(&P, MRX_ERANGE, "payload.operator");
}

/* Strictness: the CBOR itself. */

static void
test_indefinite(void **state)
{
	size_t n;

	(void)state;
	pl_base(&P, PROTO_REC_CLEARANCE);
	n = pl_write(&P, true, buf2, sizeof(buf2));
	buf2[0] = 0xbf;		/* indefinite map ... */
	buf2[n] = 0xff;		/* ... with its break */
	expect_bytes(buf2, n + 1, MRX_EINDEF, "payload");

	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_hex(&P, "level", "7f6141ff");	/* (_ "A") */
	expect_pl(&P, MRX_EINDEF, "payload.level");
	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_hex(&P, "scopes", "9f6161ff");	/* [_ "a"] */
	expect_pl(&P, MRX_EINDEF, "payload.scopes");
	pl_base(&P, PROTO_REC_KEY_REVOCATION);
	pl_set_hex(&P, "kid", "5f4101ff");	/* (_ h'01') */
	expect_pl(&P, MRX_EINDEF, "payload.kid");
}

static void
test_duplicate_keys(void **state)
{
	struct cry_cbor_wr wr;

	(void)state;
	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_add(&P, "level", P.e[pl_find(&P, "level")].v,
	    P.e[pl_find(&P, "level")].vn);
	expect_pl(&P, MRX_EDUP, "payload.level");

	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_add(&P, "1", P.e[0].v, P.e[0].vn);
	expect_pl(&P, MRX_EDUP, "payload.iss");

	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_add(&P, "zz", "\x01", 1);
	pl_add(&P, "zz", "\x02", 1);
	expect_pl(&P, MRX_EDUP, "payload.zz");

	/* In a nested map: named by the claim that holds it. */
	pl_base(&P, PROTO_REC_CLEARANCE);
	wr = vw();
	cry_cbor_put_map(&wr, 1);
	cry_cbor_put_tstr(&wr, "status_list");
	cry_cbor_put_map(&wr, 3);
	cry_cbor_put_tstr(&wr, "idx");
	cry_cbor_put_uint(&wr, 1);
	cry_cbor_put_tstr(&wr, "idx");
	cry_cbor_put_uint(&wr, 2);
	cry_cbor_put_tstr(&wr, "uri");
	cry_cbor_put_tstr(&wr, URI);
	pl_set(&P, "status", vbuf, wr.len);
	expect_pl(&P, MRX_EDUP, "payload.status");

	/* Known claims out of order and repeated: still EDUP. */
	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_add(&P, "2", P.e[1].v, P.e[1].vn);
	expect_pl_as_is(&P, MRX_EDUP, "payload.sub");
}

static void
test_noncanonical(void **state)
{
	struct proto_record r;
	struct mrx_diag d;
	size_t n, mlen, off;

	(void)state;
	/* Keys out of order: sub before iss. */
	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_swap(&P, 0, 1);
	expect_pl_as_is(&P, MRX_ENONCANON, "payload.iss");

	/*
	 * Shorter text keys first: "from" sorts before "kid" as text, but
	 * its encoding (0x64...) sorts after that of "kid" (0x63...).
	 */
	pl_base(&P, PROTO_REC_KEY_REVOCATION);
	assert_int_equal(pl_find(&P, "kid"), 4);
	assert_int_equal(pl_find(&P, "from"), 5);
	pl_swap(&P, 4, 5);
	expect_pl_as_is(&P, MRX_ENONCANON, "payload.kid");
	/* Same length: bytewise, "type" before "from" is out of order. */
	pl_swap(&P, 4, 5);
	pl_swap(&P, 5, 6);
	expect_pl_as_is(&P, MRX_ENONCANON, "payload.from");

	/* A value with a longer head than needed, and where it is. */
	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_hex(&P, "6", "1b00000000684ee180");
	n = pl_write(&P, true, buf2, sizeof(buf2));
	expect_bytes(buf2, n, MRX_ENONCANON, "payload.iat");
	mrx_diag_clear(&d);
	assert_int_equal(proto_payload_decode(buf2, n, &r, &d),
	    MRX_ENONCANON);
	proto_record_fini(&r);
	off = d.offset;
	assert_int_equal(buf2[off], 0x1b);
	/* In a whole record the offset counts from the record's start. */
	mlen = sign_raw(buf2, n, false);
	mrx_diag_clear(&d);
	assert_int_equal(proto_record_decode(msg, mlen, &r, &d),
	    MRX_ENONCANON);
	assert_string_equal(d.field, "payload.iat");
	assert_int_equal(d.offset, (size_t)(r.env.payload - msg) + off);
	assert_int_equal(msg[d.offset], 0x1b);
	proto_record_fini(&r);

	/* A key with a longer head than needed. */
	pl_base(&P, PROTO_REC_CLEARANCE);
	P.e[0].k[0] = 0x18;
	P.e[0].k[1] = 0x01;
	P.e[0].kn = 2;
	expect_pl_as_is(&P, MRX_ENONCANON, "payload");

	/* A text string length, a nested integer, the map head. */
	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_hex(&P, "level", "7814" "4a502d434553493a434f4e464944454e5449414c");
	expect_pl(&P, MRX_ENONCANON, "payload.level");
	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_hex(&P, "status", "a16b7374617475735f6c697374a2636964781900"
	    "0563757269766d72783a2f2f6a702e6d6574692f7374617475732f30");
	expect_pl(&P, MRX_ENONCANON, "payload.status");
	pl_base(&P, PROTO_REC_CLEARANCE);
	n = pl_write(&P, true, buf2 + 1, sizeof(buf2) - 1);
	buf2[0] = 0xb8;
	buf2[1] = (uint8_t)P.n;
	expect_bytes(buf2, n + 1, MRX_ENONCANON, "payload");
}

static void
test_wrong_types(void **state)
{
	(void)state;
	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_int(&P, "level", 3);
	expect_pl(&P, MRX_ETYPE, "payload.level");

	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_tstr(&P, "6", "2025-06-15");
	expect_pl(&P, MRX_ETYPE, "payload.iat");

	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_tstr(&P, "7", "not bytes");
	expect_pl(&P, MRX_ETYPE, "payload.cti");

	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_int(&P, "type", 2);
	expect_pl(&P, MRX_ETYPE, "payload.type");

	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_hex(&P, "scopes", "a0");
	expect_pl(&P, MRX_ETYPE, "payload.scopes");
	pl_set_hex(&P, "scopes", "8101");
	expect_pl(&P, MRX_ETYPE, "payload.scopes[0]");

	pl_base(&P, PROTO_REC_CLEARANCE);	/* "idx": "1" */
	pl_set_hex(&P, "status", "a16b7374617475735f6c697374a26369647861"
	    "3163757269766d72783a2f2f6a702e6d6574692f7374617475732f30");
	expect_pl(&P, MRX_ETYPE, "payload.status.status_list.idx");

	pl_base(&P, PROTO_REC_AGREEMENT);	/* "operator_cert": 1 */
	pl_set_hex(&P, "conditions", "a26d6f70657261746f725f6365727401"
	    "6e6d61785f7374617475735f616765190e10");
	expect_pl(&P, MRX_ETYPE, "payload.conditions.operator_cert");

	/* Not a map at all; a key that is neither integer nor text. */
	expect_bytes((const uint8_t *)"\x80", 1, MRX_ETYPE, "payload");
	expect_bytes((const uint8_t *)"\xa1\x41\x01\x01", 4, MRX_ETYPE,
	    "payload");
}

/* Every top-level claim of every type, removed in turn. */
static void
test_missing_claims(void **state)
{
	static const char *const cwt[] = { "", "iss", "sub", "", "exp",
	    "nbf", "iat", "cti" };
	struct pl *q = malloc(sizeof(*q));
	struct cry_cbor_rd rd;
	struct cry_cbor_item it;
	char field[64];
	enum proto_rec_type t;
	size_t i;

	(void)state;
	assert_non_null(q);
	for (t = PROTO_REC_DELEGATION; t <= PROTO_REC_KEY_REVOCATION; t++) {
		pl_base(&P, t);
		for (i = 0; i < P.n; i++) {
			*q = P;
			memmove(&q->e[i], &q->e[i + 1], (q->n - i - 1) *
			    sizeof(q->e[0]));
			q->n--;
			cry_cbor_rd_init(&rd, P.e[i].k, P.e[i].kn);
			assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
			if (it.type == CRY_CBOR_UINT)
				snprintf(field, sizeof(field), "payload.%s",
				    cwt[it.val]);
			else
				snprintf(field, sizeof(field), "payload.%.*s",
				    (int)it.val, (const char *)it.ptr);
			if (t == PROTO_REC_STATUS_LIST && (strcmp(field,
			    "payload.exp") == 0 || strcmp(field,
			    "payload.head") == 0))
				expect_pl(q, 0, NULL);
			else
				expect_pl(q, MRX_EMISSING, field);
		}
	}
	free(q);

	/* Inside nested maps. */
	pl_base(&P, PROTO_REC_CLEARANCE);	/* no "uri" */
	pl_set_hex(&P, "status", "a16b7374617475735f6c697374a163696478"
	    "01");
	expect_pl(&P, MRX_EMISSING, "payload.status.status_list.uri");
	pl_set_hex(&P, "status", "a1637572690a");
	expect_pl(&P, MRX_EMISSING, "payload.status.status_list");
	pl_base(&P, PROTO_REC_AGREEMENT);	/* no "max_status_age" */
	pl_set_hex(&P, "conditions", "a16d6f70657261746f725f63657274f5");
	expect_pl(&P, MRX_EMISSING, "payload.conditions.max_status_age");
	pl_set_hex(&P, "rows", "81a2627a7a00646672"
	    "6f6d65554b3a5343");	/* [{"zz": 0, "from": "UK:SC"}] */
	pl_set_hex(&P, "conditions", "a26d6f70657261746f725f63657274f5"
	    "6e6d61785f7374617475735f616765190e10");
	expect_pl(&P, MRX_EMISSING, "payload.rows[0].to");
	pl_base(&P, PROTO_REC_STATUS_LIST);
	pl_set_hex(&P, "status_list", "a1646269747302");
	expect_pl(&P, MRX_EMISSING, "payload.status_list.lst");
}

static void
test_crit(void **state)
{
	(void)state;
	/* Claims this type defines: fine. */
	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_hex(&P, "crit", "82656c6576656c04");	/* ["level", 4] */
	expect_pl(&P, 0, NULL);
	/* Unknown to mrx. */
	pl_set_hex(&P, "crit", "8163666f6f");		/* ["foo"] */
	expect_pl(&P, MRX_ECRIT, "payload.foo");
	pl_add(&P, "foo", "\x01", 1);		/* present, still unknown */
	expect_pl(&P, MRX_ECRIT, "payload.foo");
	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_hex(&P, "crit", "8103");			/* [3] (aud) */
	expect_pl(&P, MRX_ECRIT, "payload.3");
	pl_set_hex(&P, "crit", "8120");			/* [-1] */
	expect_pl(&P, MRX_ECRIT, "payload.-1");
	/* Known to mrx, but not a claim of this type. */
	pl_set_hex(&P, "crit", "81636b6579");		/* ["key"] */
	pl_set_bstr(&P, "key", "\x30\x00", 2);
	expect_pl(&P, MRX_ECRIT, "payload.key");
	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_hex(&P, "crit", "816463726974");		/* ["crit"] */
	expect_pl(&P, MRX_ECRIT, "payload.crit");
	/* Malformed crit lists. */
	pl_set_hex(&P, "crit", "80");
	expect_pl(&P, MRX_ERANGE, "payload.crit");
	pl_set_hex(&P, "crit", "82656c6576656c656c6576656c");
	expect_pl(&P, MRX_EDUP, "payload.crit[1]");
	pl_set_hex(&P, "crit", "8141aa");
	expect_pl(&P, MRX_ETYPE, "payload.crit[0]");
	pl_set_hex(&P, "crit", "a0");
	expect_pl(&P, MRX_ETYPE, "payload.crit");
	pl_set_hex(&P, "crit", "91" "0101010101010101010101010101010101");
	expect_pl(&P, MRX_ETOOBIG, "payload.crit");
	/* Listed but absent. */
	pl_base(&P, PROTO_REC_STATUS_LIST);
	pl_del(&P, "head");
	pl_set_hex(&P, "crit", "816468656164");		/* ["head"] */
	expect_pl(&P, MRX_EMISSING, "payload.head");
}

/* Unknown claims (not in crit) are checked, then ignored. */
static void
test_unknown_claims_ignored(void **state)
{
	struct proto_record a, b;
	size_t n;

	(void)state;
	pl_base(&P, PROTO_REC_CLEARANCE);
	n = pl_write(&P, true, buf2, sizeof(buf2));
	assert_int_equal(proto_payload_decode(buf2, n, &a, NULL), 0);
	pl_set_hex(&P, "3", "6461756469");			/* aud */
	pl_set_hex(&P, "-70000", "f5");
	pl_set_hex(&P, "zz", "a2616182014100616280");	/* {"a":[1,h'00'],"b":[]} */
	pl_set_hex(&P, "key", "4100");		/* a delegation's claim */
	pl_set_hex(&P, "a-very-long-claim-name-of-over-23-bytes", "f4");
	n = pl_write(&P, true, buf2, sizeof(buf2));
	assert_int_equal(proto_payload_decode(buf2, n, &b, NULL), 0);
	assert_rec_equal(&a, &b);
	proto_record_fini(&a);
	proto_record_fini(&b);
}

static void
test_forbidden_items(void **state)
{
	char hex[2 * 20 + 8];
	int i;

	(void)state;
	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_hex(&P, "level", "f93c00");		/* 1.0 */
	expect_pl(&P, MRX_ETYPE, "payload.level");
	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_hex(&P, "zz", "fb3ff0000000000000");
	expect_pl(&P, MRX_ETYPE, "payload.zz");
	pl_set_hex(&P, "zz", "c100");			/* tag 1 */
	expect_pl(&P, MRX_ETYPE, "payload.zz");
	pl_set_hex(&P, "zz", "82f601");			/* [null, 1] */
	expect_pl(&P, MRX_ETYPE, "payload.zz");
	pl_set_hex(&P, "zz", "f7");			/* undefined */
	expect_pl(&P, MRX_ETYPE, "payload.zz");
	pl_set_hex(&P, "zz", "f0");			/* simple(16) */
	expect_pl(&P, MRX_ETYPE, "payload.zz");
	pl_set_hex(&P, "zz", "f8ff");			/* simple(255) */
	expect_pl(&P, MRX_ETYPE, "payload.zz");
	pl_set_hex(&P, "zz", "62c328");			/* bad UTF-8 */
	expect_pl(&P, MRX_EMALFORMED, "payload.zz");
	pl_set_hex(&P, "zz", "63eda080");		/* a surrogate */
	expect_pl(&P, MRX_EMALFORMED, "payload.zz");
	pl_set_hex(&P, "zz", "62c080");		/* overlong NUL */
	expect_pl(&P, MRX_EMALFORMED, "payload.zz");
	pl_set_hex(&P, "zz", "64f4908080");		/* over U+10FFFF */
	expect_pl(&P, MRX_EMALFORMED, "payload.zz");
	/* "ü日本🙂": two-, three- and four-byte forms are fine. */
	pl_set_hex(&P, "zz", "6cc3bce697a5e69cacf09f9982");
	expect_pl(&P, 0, NULL);
	for (i = 0; i < 20; i++)
		memcpy(hex + 2 * i, "81", 2);
	strcpy(hex + 40, "00");
	pl_set_hex(&P, "zz", hex);			/* 20 deep */
	expect_pl(&P, MRX_EDEPTH, "payload.zz");
	pl_base(&P, PROTO_REC_CLEARANCE);	/* tag 2 around the cti */
	pl_set_hex(&P, "7", "c250a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5");
	expect_pl(&P, MRX_ETYPE, "payload.cti");
}

static void
test_trailing(void **state)
{
	struct mrx_diag d;
	size_t n, mlen;
	struct proto_record r;

	(void)state;
	pl_base(&P, PROTO_REC_CLEARANCE);
	n = pl_write(&P, true, buf2, sizeof(buf2));
	buf2[n] = 0x00;
	expect_bytes(buf2, n + 1, MRX_ETRAILING, "payload");
	mlen = sign_raw(buf2, n, false);
	msg[mlen] = 0x00;
	assert_int_equal(decode_msg(msg, mlen + 1, &d), MRX_ETRAILING);
	/* Trailing bytes inside the payload of a record. */
	mlen = sign_raw(buf2, n + 1, false);
	mrx_diag_clear(&d);
	assert_int_equal(proto_record_decode(msg, mlen, &r, &d),
	    MRX_ETRAILING);
	assert_string_equal(d.field, "payload");
	assert_int_equal(d.offset, (size_t)(r.env.payload - msg) + n);
	proto_record_fini(&r);
}

/* Syntax of ids, subjects, levels, scopes and URIs. */
static void
test_syntax(void **state)
{
	(void)state;
	assert_true(proto_id_valid("jp.meti"));
	assert_true(proto_id_valid("0"));
	assert_true(proto_id_valid("a-b.c-9"));
	assert_false(proto_id_valid(""));
	assert_false(proto_id_valid(NULL));
	assert_false(proto_id_valid("-a"));
	assert_false(proto_id_valid(".a"));
	assert_false(proto_id_valid("JP.meti"));
	assert_false(proto_id_valid("jp_meti"));
	assert_false(proto_id_valid("jp meti"));
	assert_true(proto_id_valid(
	    "a23456789012345678901234567890123456789012345678901234567890123"));
	assert_false(proto_id_valid(
	    "a234567890123456789012345678901234567890123456789012345678901234"));

	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_tstr(&P, "1", "JP.meti");
	expect_pl(&P, MRX_ERANGE, "payload.iss");
	pl_set_tstr(&P, "1", "");
	expect_pl(&P, MRX_ERANGE, "payload.iss");
	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_tstr(&P, "operator", "-x");
	expect_pl(&P, MRX_ERANGE, "payload.operator");

	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_tstr(&P, "2", "00112233445566778899AABBCCDDEEFF");
	expect_pl(&P, MRX_ERANGE, "payload.sub");
	pl_set_tstr(&P, "2", "00112233445566778899aabbccddeef");
	expect_pl(&P, MRX_ERANGE, "payload.sub");
	pl_set_tstr(&P, "2", "00112233445566778899aabbccddeefg");
	expect_pl(&P, MRX_ERANGE, "payload.sub");
	pl_set_tstr(&P, "2", "jp.person");
	expect_pl(&P, MRX_ERANGE, "payload.sub");

	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_tstr(&P, "level", "JP-CESI");
	expect_pl(&P, MRX_ERANGE, "payload.level");
	pl_set_tstr(&P, "level", "jp-cesi:confidential");
	expect_pl(&P, MRX_ERANGE, "payload.level");
	pl_set_tstr(&P, "level", "A:B:C");
	expect_pl(&P, MRX_ERANGE, "payload.level");
	pl_set_tstr(&P, "level", ":SECRET");
	expect_pl(&P, MRX_ERANGE, "payload.level");
	pl_set_tstr(&P, "level", "UK:");
	expect_pl(&P, MRX_ERANGE, "payload.level");
	pl_set_tstr(&P, "level", "UK :SC");
	expect_pl(&P, MRX_ERANGE, "payload.level");
	pl_set_tstr(&P, "level", "NATO:COSMIC-TOP-SECRET");
	expect_pl(&P, 0, NULL);

	pl_base(&P, PROTO_REC_OPERATOR);		/* ["UK:SC", "x"] */
	pl_set_hex(&P, "levels", "8265554b3a53436178");
	expect_pl(&P, MRX_ERANGE, "payload.levels[1]");
	pl_set_hex(&P, "levels", "8265554b3a534365554b3a5343");
	expect_pl(&P, MRX_EDUP, "payload.levels[1]");
	pl_set_hex(&P, "levels", "80");
	expect_pl(&P, MRX_ERANGE, "payload.levels");
	pl_set_hex(&P, "levels", "8165554b3a5343");
	pl_set_hex(&P, "scopes", "816144");		/* ["D"] */
	expect_pl(&P, MRX_ERANGE, "payload.scopes[0]");
	pl_set_hex(&P, "scopes", "8261646164");		/* ["d", "d"] */
	expect_pl(&P, MRX_EDUP, "payload.scopes[1]");

	pl_base(&P, PROTO_REC_CHECKPOINT);
	pl_set_tstr(&P, "2", "no-scheme");
	expect_pl(&P, MRX_ERANGE, "payload.sub");
	pl_set_tstr(&P, "2", "mrx://jp.meti/a b");
	expect_pl(&P, MRX_ERANGE, "payload.sub");
	pl_set_tstr(&P, "2", "https://status.meti.go.jp/lists/7");
	expect_pl(&P, 0, NULL);
}

static void
test_ranges(void **state)
{
	(void)state;
	pl_base(&P, PROTO_REC_STATUS_DELTA);	/* [[1, 3, 0]] */
	pl_set_hex(&P, "changes", "8183010300");
	expect_pl(&P, MRX_ERANGE, "payload.changes[0]");
	pl_set_hex(&P, "changes", "818301010f");	/* reason 15 */
	expect_pl(&P, MRX_ERANGE, "payload.changes[0]");
	pl_set_hex(&P, "changes", "81831a010000000100");	/* 2^24 */
	expect_pl(&P, MRX_ERANGE, "payload.changes[0]");
	pl_set_hex(&P, "changes", "828301010083010200");	/* idx twice */
	expect_pl(&P, MRX_EDUP, "payload.changes[1]");
	pl_set_hex(&P, "changes", "81820101");
	expect_pl(&P, MRX_ETYPE, "payload.changes[0]");
	pl_set_hex(&P, "changes", "80");
	expect_pl(&P, MRX_ERANGE, "payload.changes");
	pl_set_hex(&P, "changes", "8183010100");
	pl_set_int(&P, "seq", 0);
	expect_pl(&P, MRX_ERANGE, "payload.seq");
	pl_set_int(&P, "seq", 1);	/* the first delta has no prev */
	expect_pl(&P, MRX_ERANGE, "payload.prev");
	pl_set_hex(&P, "seq", "1b8000000000000000");
	expect_pl(&P, MRX_ERANGE, "payload.seq");

	pl_base(&P, PROTO_REC_KEY_REVOCATION);
	pl_set_int(&P, "reason", PROTO_REASON_COUNT);
	expect_pl(&P, MRX_ERANGE, "payload.reason");
	pl_set_int(&P, "reason", -1);
	expect_pl(&P, MRX_ETYPE, "payload.reason");

	pl_base(&P, PROTO_REC_CLEARANCE);	/* "idx": 2^24 */
	pl_set_hex(&P, "status", "a16b7374617475735f6c697374a263696478"
	    "1a0100000063757269766d72783a2f2f6a702e6d6574692f7374617475"
	    "732f30");
	expect_pl(&P, MRX_ERANGE, "payload.status.status_list.idx");
}

/* Validity windows: present where required, absent where undefined. */
static void
test_window(void **state)
{
	(void)state;
	pl_base(&P, PROTO_REC_KEY_REVOCATION);
	pl_set_int(&P, "4", T_EXP);
	expect_pl(&P, MRX_ECRIT, "payload.exp");
	pl_base(&P, PROTO_REC_STATUS_LIST);
	pl_set_int(&P, "5", T0);
	expect_pl(&P, MRX_ECRIT, "payload.nbf");

	pl_base(&P, PROTO_REC_CLEARANCE);
	pl_set_int(&P, "4", T0);	/* exp == nbf */
	expect_pl(&P, MRX_ERANGE, "payload.exp");
	pl_set_int(&P, "4", T0 - 1);
	expect_pl(&P, MRX_ERANGE, "payload.exp");
	pl_set_int(&P, "4", T0 + 1);
	expect_pl(&P, 0, NULL);
	pl_set_int(&P, "6", -1);
	expect_pl(&P, MRX_ERANGE, "payload.iat");
	pl_set_int(&P, "6", INT64_C(253402300800));
	expect_pl(&P, MRX_ERANGE, "payload.iat");
}

static void
test_agreement_rules(void **state)
{
	(void)state;
	pl_base(&P, PROTO_REC_AGREEMENT);
	pl_set_hex(&P, "parties", "83616161626163");
	expect_pl(&P, MRX_ERANGE, "payload.parties");
	/* ["jp.root", "jp.root"] */
	pl_set_hex(&P, "parties", "82676a702e726f6f74676a702e726f6f74");
	expect_pl(&P, MRX_EDUP, "payload.parties[1]");
	/* ["fr.root", "uk.root"]: the issuer is not a party */
	pl_set_hex(&P, "parties", "826766722e726f6f7467756b2e726f6f74");
	expect_pl(&P, MRX_ERANGE, "payload.parties");
	pl_set_hex(&P, "parties", "82676a702e726f6f7467554b2e726f6f74");
	expect_pl(&P, MRX_ERANGE, "payload.parties[1]");

	pl_base(&P, PROTO_REC_AGREEMENT);
	pl_set_hex(&P, "rows", "80");
	expect_pl(&P, MRX_ERANGE, "payload.rows");
	/* [{"to": "UK:DV", "from": "UK:SC", "scopes": []}] */
	pl_set_hex(&P, "rows", "81a362746f65554b3a445664667"
	    "26f6d65554b3a53436673636f70657380");
	expect_pl(&P, MRX_ERANGE, "payload.rows[0].to");
	/* the same (from, to) twice */
	pl_set_hex(&P, "rows", "82"
	    "a362746f694a502d5344533a4131646672"
	    "6f6d65554b3a53436673636f70657380"
	    "a362746f694a502d5344533a4131646672"
	    "6f6d65554b3a53436673636f70657381616b");
	expect_pl(&P, MRX_EDUP, "payload.rows");
	pl_base(&P, PROTO_REC_AGREEMENT);	/* max_status_age 2^32 */
	pl_set_hex(&P, "conditions", "a26d6f70657261746f725f63657274f5"
	    "6e6d61785f7374617475735f6167651b0000000100000000");
	expect_pl(&P, MRX_ERANGE, "payload.conditions.max_status_age");
}

/* A status list's reasons must match its bits exactly. */
static void
test_status_list_record(void **state)
{
	struct proto_record r;
	struct cry_cbor_wr wr;
	struct mrx_diag d;
	uint8_t *z;
	size_t zlen, n;

	(void)state;
	pl_base(&P, PROTO_REC_STATUS_LIST);
	/* One reason short: {17: 6, 4242: 8} */
	pl_set_hex(&P, "reasons", "a2110619109208");
	expect_pl(&P, MRX_ERANGE, "payload.reasons");
	/* Right count, but entry 18 is valid. */
	pl_set_hex(&P, "reasons", "a31206191092081a0001ffff00");
	expect_pl(&P, MRX_ERANGE, "payload.reasons");
	/* Beyond the list. */
	pl_set_hex(&P, "reasons", "a3110619109208" "1a0002000000");
	expect_pl(&P, MRX_ERANGE, "payload.reasons");
	/* Unknown reason code. */
	pl_set_hex(&P, "reasons", "a3110619109208" "1a0001ffff0f");
	expect_pl(&P, MRX_ERANGE, "payload.reasons");
	pl_set_hex(&P, "reasons", "a3110619109208" "1a0001ffff00");
	expect_pl(&P, 0, NULL);

	pl_set_hex(&P, "status_list", "a2636c73744100646269747301");
	expect_pl(&P, MRX_ERANGE, "payload.status_list.bits");
	pl_set_hex(&P, "status_list", "a2636c73746100646269747302");
	expect_pl(&P, MRX_ETYPE, "payload.status_list.lst");

	/* A list with the reserved status 3 in entry 0. */
	make(PROTO_REC_STATUS_LIST, &r);
	r.u.sl.bits[0] = 0x03;
	assert_int_equal(proto_status_list_pack(&r.u.sl, &z, &zlen), 0);
	proto_record_fini(&r);
	pl_base(&P, PROTO_REC_STATUS_LIST);
	wr = vw();
	cry_cbor_put_map(&wr, 2);
	cry_cbor_put_tstr(&wr, "lst");
	cry_cbor_put_bstr(&wr, z, zlen);
	cry_cbor_put_tstr(&wr, "bits");
	cry_cbor_put_uint(&wr, 2);
	pl_set(&P, "status_list", vbuf, wr.len);
	pl_set_hex(&P, "reasons", "a400011106191092081a0001ffff00");
	expect_pl(&P, MRX_ERANGE, "payload.status_list");

	/* A corrupt stream, named with an offset inside it. */
	z[zlen - 1] ^= 0xff;
	wr = vw();
	cry_cbor_put_map(&wr, 2);
	cry_cbor_put_tstr(&wr, "lst");
	cry_cbor_put_bstr(&wr, z, zlen);
	cry_cbor_put_tstr(&wr, "bits");
	cry_cbor_put_uint(&wr, 2);
	pl_set(&P, "status_list", vbuf, wr.len);
	n = pl_write(&P, true, buf2, sizeof(buf2));
	expect_bytes(buf2, n, MRX_EMALFORMED, "payload.status_list.lst");
	mrx_diag_clear(&d);
	assert_int_equal(proto_payload_decode(buf2, n, &r, &d),
	    MRX_EMALFORMED);
	z[zlen - 1] ^= 0xff;
	{
		const uint8_t *at = find(buf2, n, z, zlen - 1);

		assert_non_null(at);
		assert_true(d.offset >= (size_t)(at - buf2));
		assert_true(d.offset <= (size_t)(at - buf2) + zlen);
	}
	proto_record_fini(&r);
	free(z);

	/* A zlib bomb inside a signed record. */
	{
		uint8_t *big = calloc(6u << 20, 1);
		uLongf blen = compressBound(6u << 20);
		uint8_t *bz = malloc(blen);

		assert_non_null(big);
		assert_non_null(bz);
		assert_int_equal(compress2(bz, &blen, big, 6u << 20, 9),
		    Z_OK);
		wr = vw();
		cry_cbor_put_map(&wr, 2);
		cry_cbor_put_tstr(&wr, "lst");
		cry_cbor_put_bstr(&wr, bz, blen);
		cry_cbor_put_tstr(&wr, "bits");
		cry_cbor_put_uint(&wr, 2);
		assert_int_equal(wr.err, 0);
		pl_set(&P, "status_list", vbuf, wr.len);
		pl_set_hex(&P, "reasons", "a0");
		n = pl_write(&P, true, buf2, sizeof(buf2));
		n = sign_raw(buf2, n, false);
		assert_int_equal(decode_msg(msg, n, &d), MRX_ETOOBIG);
		assert_string_equal(d.field, "payload.status_list.lst");
		free(bz);
		free(big);
	}
}

/* Agreements are COSE_Sign only; everything else COSE_Sign1 only. */
static void
test_envelope(void **state)
{
	struct mrx_diag d;
	struct proto_record r;
	size_t n, mlen;
	struct cry_cbor_wr wr;

	(void)state;
	pl_base(&P, PROTO_REC_AGREEMENT);
	n = pl_write(&P, true, buf2, sizeof(buf2));
	mlen = sign_raw(buf2, n, false);
	assert_int_equal(decode_msg(msg, mlen, &d), MRX_ETYPE);
	assert_string_equal(d.field, "payload.type");
	mlen = sign_raw(buf2, n, true);
	assert_int_equal(decode_msg(msg, mlen, &d), 0);
	/* Untagged COSE_Sign: told apart by its shape. */
	assert_int_equal(msg[0], 0xd8);
	assert_int_equal(msg[1], 0x62);
	assert_int_equal(proto_record_decode(msg + 2, mlen - 2, &r, &d), 0);
	assert_int_equal(r.type, PROTO_REC_AGREEMENT);
	assert_false(r.multi.tagged);
	proto_record_fini(&r);

	pl_base(&P, PROTO_REC_CLEARANCE);
	n = pl_write(&P, true, buf2, sizeof(buf2));
	mlen = sign_raw(buf2, n, true);
	assert_int_equal(decode_msg(msg, mlen, &d), MRX_ETYPE);
	assert_string_equal(d.field, "payload.type");
	mlen = sign_raw(buf2, n, false);
	assert_int_equal(msg[0], 0xd2);
	assert_int_equal(proto_record_decode(msg + 1, mlen - 1, &r, &d), 0);
	assert_int_equal(r.type, PROTO_REC_CLEARANCE);
	assert_false(r.env.tagged);
	proto_record_fini(&r);

	/* A detached payload: nil where the payload should be. */
	cry_cbor_wr_init(&wr, msg, sizeof(msg));
	cry_cbor_put_tag(&wr, CRY_COSE_TAG_SIGN1);
	cry_cbor_put_array(&wr, 4);
	cry_cbor_put_bstr(&wr, "\xa1\x01\x27", 3);
	cry_cbor_put_map(&wr, 0);
	cry_cbor_put_null(&wr);
	cry_cbor_put_bstr(&wr, buf2, 64);
	assert_int_equal(decode_msg(msg, wr.len, &d), MRX_EMISSING);
	assert_string_equal(d.field, "payload");
	/* Not COSE at all. */
	assert_int_not_equal(decode_msg((const uint8_t *)"\xa0", 1, &d), 0);
	assert_int_not_equal(decode_msg(msg, 0, &d), 0);
}

/* Truncation at every length, and every single-byte corruption. */
static void
test_truncation_and_corruption(void **state)
{
	struct proto_record r;
	struct mrx_diag d;
	enum proto_rec_type t;
	size_t mlen, plen, k;
	uint8_t *m, *p;
	int rc;

	(void)state;
	for (t = PROTO_REC_DELEGATION; t <= PROTO_REC_KEY_REVOCATION; t++) {
		make(t, &r);
		assert_int_equal(proto_record_sign(&r, k_ed, msg, sizeof(msg),
		    &mlen, NULL), 0);
		assert_int_equal(proto_payload_encode(&r, buf, sizeof(buf),
		    &plen, NULL), 0);
		proto_record_fini(&r);
		for (k = 0; k < mlen; k++) {
			/* An exact-size copy, so that ASan sees over-reads. */
			m = malloc(k + 1);
			assert_non_null(m);
			memcpy(m, msg, k);
			rc = decode_msg(m, k, &d);
			assert_int_not_equal(rc, 0);
			assert_int_equal(d.code, rc);
			free(m);
		}
		for (k = 0; k < plen; k++) {
			p = malloc(k + 1);
			assert_non_null(p);
			memcpy(p, buf, k);
			mrx_diag_clear(&d);
			rc = proto_payload_decode(p, k, &r, &d);
			proto_record_fini(&r);
			assert_int_not_equal(rc, 0);
			free(p);
		}
		m = malloc(mlen);
		assert_non_null(m);
		for (k = 0; k < mlen; k++) {
			memcpy(m, msg, mlen);
			m[k] ^= 0xff;
			mrx_diag_clear(&d);
			rc = proto_record_decode(m, mlen, &r, &d);
			assert_int_equal(d.code, rc);
			proto_record_fini(&r);
		}
		free(m);
	}
}

/* The encoder refuses what the decoder would refuse. */
static void
test_encode_validation(void **state)
{
	struct proto_record r;
	struct mrx_diag d;
	size_t n;

#define EXPECT_ENC(code, fieldname) do {				\
	mrx_diag_clear(&d);						\
	assert_int_equal(proto_payload_encode(&r, buf, sizeof(buf), &n,	\
	    &d), code);							\
	assert_string_equal(d.field, fieldname);			\
	proto_record_fini(&r);						\
} while (0)

	(void)state;
	make(PROTO_REC_CLEARANCE, &r);
	r.u.clr.c.has_nbf = false;
	EXPECT_ENC(MRX_EMISSING, "payload.nbf");
	make(PROTO_REC_CHECKPOINT, &r);
	r.u.cp.c.has_exp = true;
	r.u.cp.c.exp = T_EXP;
	EXPECT_ENC(MRX_ECRIT, "payload.exp");
	make(PROTO_REC_CLEARANCE, &r);
	strcpy(r.u.clr.level, "secret");
	EXPECT_ENC(MRX_ERANGE, "payload.level");
	make(PROTO_REC_CLEARANCE, &r);
	r.u.clr.scopes.n = PROTO_LIST_MAX + 1;
	EXPECT_ENC(MRX_ETOOBIG, "payload.scopes");
	make(PROTO_REC_CLEARANCE, &r);
	memset(r.u.clr.c.iss, 'a', sizeof(r.u.clr.c.iss));
	EXPECT_ENC(MRX_ETOOBIG, "payload.iss");
	make(PROTO_REC_CLEARANCE, &r);
	r.u.clr.c.iss[0] = '\0';
	EXPECT_ENC(MRX_ERANGE, "payload.iss");
	make(PROTO_REC_DELEGATION, &r);
	r.u.del.key_len = 0;
	EXPECT_ENC(MRX_ERANGE, "payload.key");
	make(PROTO_REC_AGREEMENT, &r);
	strcpy(r.u.agr.c.iss, "fr.root");
	EXPECT_ENC(MRX_ERANGE, "payload.parties");
	make(PROTO_REC_AGREEMENT, &r);
	strcpy(r.u.agr.rows[1].from, "UK:SC");
	strcpy(r.u.agr.rows[1].to, "JP-CESI:CONFIDENTIAL");
	EXPECT_ENC(MRX_EDUP, "payload.rows");
	make(PROTO_REC_AGREEMENT, &r);
	r.u.agr.max_status_age_s = -1;
	EXPECT_ENC(MRX_ERANGE, "payload.conditions.max_status_age");
	make(PROTO_REC_STATUS_LIST, &r);
	r.u.sl.seq = 0;		/* seq 0 names no head */
	EXPECT_ENC(MRX_EINVAL, "payload.head");
	make(PROTO_REC_STATUS_LIST, &r);
	r.u.sl.seq = 0;		/* ... and has only valid entries */
	r.u.sl.has_head = false;
	EXPECT_ENC(MRX_EINVAL, "payload.status_list");
	make(PROTO_REC_STATUS_LIST, &r);
	r.u.sl.seq = (uint64_t)INT64_MAX + 1;
	EXPECT_ENC(MRX_ERANGE, "payload.seq");
	make(PROTO_REC_STATUS_LIST, &r);
	r.u.sl.nreasons--;	/* the last non-valid entry loses its reason */
	EXPECT_ENC(MRX_ERANGE, "payload.reasons");
	make(PROTO_REC_STATUS_DELTA, &r);
	r.u.sd.changes[1].idx = r.u.sd.changes[0].idx;
	EXPECT_ENC(MRX_EDUP, "payload.changes[1]");
	make(PROTO_REC_KEY_REVOCATION, &r);
	r.u.kr.reason = PROTO_REASON_COUNT;
	EXPECT_ENC(MRX_ERANGE, "payload.reason");
	make(PROTO_REC_KEY_REVOCATION, &r);
	r.u.kr.c.iat = -5;
	EXPECT_ENC(MRX_ERANGE, "payload.iat");
	memset(&r, 0, sizeof(r));
	EXPECT_ENC(MRX_ERANGE, "payload.type");
	r.type = (enum proto_rec_type)42;
	EXPECT_ENC(MRX_ERANGE, "payload.type");

	/* Buffers too small: the payload, then the signed record. */
	make(PROTO_REC_CLEARANCE, &r);
	mrx_diag_clear(&d);
	assert_int_equal(proto_payload_encode(&r, buf, 10, &n, &d),
	    MRX_ENOSPC);
	assert_string_equal(d.field, "payload");
	mrx_diag_clear(&d);
	assert_int_equal(proto_payload_encode(&r, NULL, 0, &n, &d),
	    MRX_ENOSPC);
	mrx_diag_clear(&d);
	assert_int_equal(proto_record_sign(&r, k_ed, msg, 100, &n, &d),
	    MRX_ENOSPC);
	assert_string_equal(d.field, "record");
	proto_record_fini(&r);
#undef EXPECT_ENC
}

static void
test_names(void **state)
{
	enum proto_rec_type t, tt;
	enum proto_status s;
	enum proto_reason w;
	int i;

	(void)state;
	assert_null(proto_rec_type_name(PROTO_REC_NONE));
	assert_null(proto_rec_type_name((enum proto_rec_type)99));
	assert_string_equal(proto_rec_type_name(PROTO_REC_CLEARANCE),
	    "clearance");
	assert_string_equal(proto_rec_type_name(PROTO_REC_OPERATOR),
	    "operator-cert");
	for (t = PROTO_REC_DELEGATION; t <= PROTO_REC_KEY_REVOCATION; t++) {
		assert_int_equal(proto_rec_type_parse(proto_rec_type_name(t),
		    &tt), 0);
		assert_int_equal(tt, t);
	}
	assert_int_equal(proto_rec_type_parse("Clearance", &tt), MRX_EINVAL);
	assert_int_equal(proto_rec_type_parse(NULL, &tt), MRX_EINVAL);

	assert_string_equal(proto_status_name(PROTO_STATUS_VALID), "valid");
	assert_string_equal(proto_status_name(PROTO_STATUS_REVOKED),
	    "revoked");
	assert_string_equal(proto_status_name(PROTO_STATUS_SUSPENDED),
	    "suspended");
	assert_null(proto_status_name((enum proto_status)3));
	assert_int_equal(proto_status_parse("suspended", &s), 0);
	assert_int_equal(s, PROTO_STATUS_SUSPENDED);
	assert_int_equal(proto_status_parse("expired", &s), MRX_EINVAL);

	assert_string_equal(proto_reason_name(PROTO_REASON_NONE), "");
	assert_string_equal(proto_reason_name(
	    PROTO_REASON_ELIGIBILITY_REVOKED), "ELIGIBILITY_REVOKED");
	assert_null(proto_reason_name(PROTO_REASON_COUNT));
	for (i = 0; i < PROTO_REASON_COUNT; i++) {
		assert_int_equal(proto_reason_parse(proto_reason_name(
		    (enum proto_reason)i), &w), 0);
		assert_int_equal(w, i);
	}
	assert_int_equal(proto_reason_parse("AGREEMENT_TERMINATED", &w), 0);
	assert_int_equal(w, PROTO_REASON_AGREEMENT_TERMINATED);
	assert_int_equal(proto_reason_parse("eligibility_revoked", &w),
	    MRX_EINVAL);
}

static void
test_fini_safe(void **state)
{
	struct proto_record r;
	struct mrx_diag d;

	(void)state;
	memset(&r, 0, sizeof(r));
	proto_record_fini(&r);
	proto_record_fini(NULL);
	/* A status list that fails after its bits were inflated. */
	pl_base(&P, PROTO_REC_STATUS_LIST);
	pl_set_hex(&P, "reasons", "a0");
	mrx_diag_clear(&d);
	assert_int_equal(proto_payload_decode(buf2, pl_write(&P, true, buf2,
	    sizeof(buf2)), &r, &d), MRX_ERANGE);
	proto_record_fini(&r);
	assert_int_equal(r.type, PROTO_REC_NONE);
	/* An agreement that fails after its rows were allocated. */
	pl_base(&P, PROTO_REC_AGREEMENT);
	pl_set_hex(&P, "parties", "80");
	assert_int_equal(proto_payload_decode(buf2, pl_write(&P, true, buf2,
	    sizeof(buf2)), &r, NULL), MRX_ERANGE);
	proto_record_fini(&r);
}

static int
setup(void **state)
{
	(void)state;
	if (cry_key_generate(CRY_ALG_EDDSA, &k_ed) != 0 ||
	    cry_key_generate(CRY_ALG_EDDSA, &k_ed2) != 0 ||
	    cry_key_generate(CRY_ALG_ES256, &k_es) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	cry_key_free(k_ed);
	cry_key_free(k_ed2);
	cry_key_free(k_es);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_delegation),
		cmocka_unit_test(test_roundtrip_clearance),
		cmocka_unit_test(test_roundtrip_operator),
		cmocka_unit_test(test_roundtrip_status_list),
		cmocka_unit_test(test_roundtrip_status_delta),
		cmocka_unit_test(test_roundtrip_checkpoint),
		cmocka_unit_test(test_roundtrip_agreement),
		cmocka_unit_test(test_roundtrip_key_revocation),
		cmocka_unit_test(test_roundtrip_edges),
		cmocka_unit_test(test_agreement_two_signatures),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_limit_sizes),
		cmocka_unit_test(test_limit_lengths),
		cmocka_unit_test(test_indefinite),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_noncanonical),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_missing_claims),
		cmocka_unit_test(test_crit),
		cmocka_unit_test(test_unknown_claims_ignored),
		cmocka_unit_test(test_forbidden_items),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_agreement_rules),
		cmocka_unit_test(test_status_list_record),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_truncation_and_corruption),
		cmocka_unit_test(test_encode_validation),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_fini_safe),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
