/*
 * cose.c - COSE_Sign1 and COSE_Sign (RFC 9052) over the keys of key.c and
 * the reader and writer of cbor.c (see cose.h for the contract).
 *
 * Decoding is strict about structure and lenient about encoding: heads need
 * not be shortest (envelopes come from other implementations), but there
 * must be exactly the items RFC 9052 defines, of the right types, with no
 * trailing bytes, no indefinite lengths, at most HDR_LABELS_MAX labels per
 * header map, no duplicate label within a map, no label in both the
 * protected and the unprotected map, and no crit entry other than alg (1) or
 * kid (4). Decoded structs point into the message; nothing is allocated.
 *
 * Where alg is read: the protected header, or else the unprotected one
 * (RFC 9052 allows both, and the COSE working group's sign-pass-01 example
 * signs with an empty protected header). This gives no downgrade, because
 * the algorithm is never chosen by the message: each key serves exactly one
 * algorithm, and a message whose alg is not the key's is refused with
 * MRX_EALG whatever bucket it came from. An alg we do not implement (an
 * unknown integer, or a text string) decodes with hdr.alg == CRY_ALG_NONE
 * and is refused by verify with MRX_EUNSUPPORTED naming it.
 *
 * Sig_structure: written with the bounded writer into a stack buffer of
 * TBS_STACK bytes, or into one heap buffer when the payload is larger. A
 * protected header that holds no entries enters it as a zero-length byte
 * string whether it was sent as h'' or as an encoded empty map (h'a0'), as
 * RFC 9052 4.4 requires ("if there are no protected attributes, a
 * zero-length byte string is used").
 *
 * What is written: tagged messages, protected {1: alg, 4: kid} with key 1
 * before key 4, an empty unprotected map, shortest heads throughout; for
 * COSE_Sign the body protected header is h''. cry_sign_add() copies the
 * existing body and signatures byte for byte and appends one signature.
 */
#include "cose.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbor.h"

#define HDR_LABELS_MAX 16	/* labels in one header map, entries in crit */
#define TBS_STACK 2048		/* Sig_structure bytes kept on the stack */
#define PROT_MAX (8 + CRY_COSE_KID_MAX)	/* our {1: alg, 4: kid} */
#define LABEL_ALG 1
#define LABEL_CRIT 2
#define LABEL_KID 4
#define ALG_OUT_OF_RANGE INT64_MIN	/* alg_raw of an int beyond int64 */

/* A header label: an integer (as a CBOR head) or a text string. */
struct label {
	enum cry_cbor_type type;	/* CRY_CBOR_UINT, _NEGINT or _TSTR */
	uint64_t val;			/* the head's argument (text length) */
	const uint8_t *text;		/* text bytes for _TSTR */
};

struct labels {
	struct label l[HDR_LABELS_MAX];
	size_t n;
};

/* State while one protected/unprotected pair is decoded. */
struct hdr_dec {
	struct cry_cose_hdr *hdr;	/* what is filled in */
	struct labels prot;		/* labels seen in the protected map */
	struct labels unprot;		/* ... and in the unprotected one */
	bool has_alg;			/* alg found in either bucket */
	const char *pfx;		/* "" or "signatures[1]." */
};

/* Inputs of one Sig_structure (RFC 9052 4.4). */
struct tbs {
	const char *context;		/* "Signature1" or "Signature" */
	const uint8_t *body_prot;
	size_t body_prot_len;
	bool has_sign_prot;		/* COSE_Sign: the signer's header */
	const uint8_t *sign_prot;
	size_t sign_prot_len;
	const uint8_t *aad;
	size_t aad_len;
	const uint8_t *payload;
	size_t payload_len;
};

/* Where each part of a COSE_Sign lies in its message, for cry_sign_add(). */
struct sign_layout {
	size_t body_start;		/* body protected header ... */
	size_t body_end;		/* ... through the payload */
	size_t sig_start[CRY_COSE_SIGNERS_MAX];
	size_t sig_end[CRY_COSE_SIGNERS_MAX];
};

static const uint8_t empty_bytes[1];

static const char *
field(char buf[64], const char *pfx, const char *name)
{
	snprintf(buf, 64, "%s%s", pfx, name);
	return buf;
}

/*
 * The reader calls below run without a diag first (the hot path of every
 * verify); only on failure do they run again, from the same position, to
 * name the field in the caller's diag.
 */
static int
named(struct mrx_diag *diag, int rc, const struct mrx_diag *d,
    const char *pfx, const char *name)
{
	char f[64];

	return rc == 0 ? 0 : mrx_diag_set(diag, rc, d->offset,
	    field(f, pfx, name), "%s", d->msg);
}

/* cry_cbor_next() with the failing field named in the diagnostic. */
static int
rd_next(struct cry_cbor_rd *rd, struct cry_cbor_item *it, const char *pfx,
    const char *name, struct mrx_diag *diag)
{
	struct mrx_diag d;

	/* the reader leaves rd unchanged on error */
	if (cry_cbor_next(rd, it, NULL) == 0)
		return 0;
	mrx_diag_clear(&d);
	return named(diag, cry_cbor_next(rd, it, &d), &d, pfx, name);
}

static int
rd_skip(struct cry_cbor_rd *rd, const struct cry_cbor_item *it,
    const char *pfx, const char *name, struct mrx_diag *diag)
{
	struct cry_cbor_rd save = *rd;
	struct mrx_diag d;

	if (cry_cbor_skip(rd, it, NULL) == 0)
		return 0;
	*rd = save;
	mrx_diag_clear(&d);
	return named(diag, cry_cbor_skip(rd, it, &d), &d, pfx, name);
}

static int
fail(struct mrx_diag *diag, int code, size_t off, const char *pfx,
    const char *name, const char *msg)
{
	char f[64];

	return mrx_diag_set(diag, code, off, field(f, pfx, name), "%s", msg);
}

/* Text for a label, printable whatever the input: 4, -7 or "ctyp". */
static const char *
label_str(const struct label *l, char *buf, size_t cap)
{
	size_t i, n, o = 0;

	if (l->type == CRY_CBOR_UINT) {
		snprintf(buf, cap, "%" PRIu64, l->val);
	} else if (l->type == CRY_CBOR_NEGINT) {
		if (l->val < UINT64_MAX)
			snprintf(buf, cap, "-%" PRIu64, l->val + 1);
		else
			snprintf(buf, cap, "-18446744073709551616");
	} else {
		n = l->val < 32 ? (size_t)l->val : 32;
		buf[o++] = '"';
		for (i = 0; i < n && o + 3 < cap; i++)
			buf[o++] = l->text[i] >= 0x20 && l->text[i] < 0x7f ?
			    (char)l->text[i] : '?';
		if (n < l->val && o + 6 < cap) {
			memcpy(buf + o, "...", 3);
			o += 3;
		}
		buf[o++] = '"';
		buf[o] = '\0';
	}
	return buf;
}

static bool
label_eq(const struct label *a, const struct label *b)
{
	return a->type == b->type && a->val == b->val &&
	    (a->type != CRY_CBOR_TSTR ||
	    memcmp(a->text, b->text, (size_t)a->val) == 0);
}

static bool
labels_has(const struct labels *ls, const struct label *l)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		if (label_eq(&ls->l[i], l))
			return true;
	return false;
}

static bool
label_is(const struct label *l, uint64_t v)
{
	return l->type == CRY_CBOR_UINT && l->val == v;
}

static int
label_read(struct cry_cbor_rd *rd, struct label *l, const char *pfx,
    const char *name, struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	int rc;

	rc = rd_next(rd, &it, pfx, name, diag);
	if (rc != 0)
		return rc;
	if (it.type != CRY_CBOR_UINT && it.type != CRY_CBOR_NEGINT &&
	    it.type != CRY_CBOR_TSTR)
		return fail(diag, MRX_ETYPE, it.off, pfx, name,
		    "header label must be an integer or a text string");
	l->type = it.type;
	l->val = it.val;
	l->text = it.ptr;
	return 0;
}

static int
alg_value(struct cry_cbor_rd *rd, struct hdr_dec *hd, const char *name,
    struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	int64_t v = 0;
	int rc;

	rc = rd_next(rd, &it, hd->pfx, name, diag);
	if (rc != 0)
		return rc;
	if (it.type == CRY_CBOR_UINT)
		v = it.val > INT64_MAX ? ALG_OUT_OF_RANGE : (int64_t)it.val;
	else if (it.type == CRY_CBOR_NEGINT)
		v = it.val > INT64_MAX ? ALG_OUT_OF_RANGE :
		    -1 - (int64_t)it.val;
	else if (it.type != CRY_CBOR_TSTR)
		return fail(diag, MRX_ETYPE, it.off, hd->pfx, name,
		    "alg must be an integer or a text string");
	hd->has_alg = true;
	hd->hdr->alg_raw = v;
	if (v == 0 || cry_alg_from_cose(v, &hd->hdr->alg) != 0)
		hd->hdr->alg = CRY_ALG_NONE;
	return 0;
}

static int
kid_value(struct cry_cbor_rd *rd, struct hdr_dec *hd, const char *name,
    struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	char msg[64];
	int rc;

	rc = rd_next(rd, &it, hd->pfx, name, diag);
	if (rc != 0)
		return rc;
	if (it.type != CRY_CBOR_BSTR)
		return fail(diag, MRX_ETYPE, it.off, hd->pfx, name,
		    "kid must be a byte string");
	if (it.val > CRY_COSE_KID_MAX) {
		snprintf(msg, sizeof(msg), "kid of %" PRIu64
		    " bytes exceeds %d", it.val, CRY_COSE_KID_MAX);
		return fail(diag, MRX_ETOOBIG, it.off, hd->pfx, name, msg);
	}
	hd->hdr->kid = it.ptr;
	hd->hdr->kid_len = (size_t)it.val;
	return 0;
}

/* crit: a non-empty array of labels, each of which we must understand. */
static int
crit_value(struct cry_cbor_rd *rd, struct hdr_dec *hd, const char *name,
    struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	struct label l;
	char msg[128], ls[48];
	size_t off;
	uint64_t i;
	int rc;

	rc = rd_next(rd, &it, hd->pfx, name, diag);
	if (rc != 0)
		return rc;
	if (it.type != CRY_CBOR_ARRAY)
		return fail(diag, MRX_ETYPE, it.off, hd->pfx, name,
		    "crit must be an array of labels");
	if (it.val == 0 || it.val > HDR_LABELS_MAX) {
		snprintf(msg, sizeof(msg), "crit must list 1 to %d labels",
		    HDR_LABELS_MAX);
		return fail(diag, it.val == 0 ? MRX_EMALFORMED : MRX_ETOOBIG,
		    it.off, hd->pfx, name, msg);
	}
	for (i = 0; i < it.val; i++) {
		off = rd->off;
		rc = label_read(rd, &l, hd->pfx, name, diag);
		if (rc != 0)
			return rc;
		if (label_is(&l, LABEL_ALG) || label_is(&l, LABEL_KID))
			continue;
		snprintf(msg, sizeof(msg), "crit lists header %s, which is "
		    "not understood", label_str(&l, ls, sizeof(ls)));
		return fail(diag, MRX_ECRIT, off, hd->pfx, name, msg);
	}
	return 0;
}

/* Reads the value of label `l` in the protected (prot) or other bucket. */
static int
hdr_value(struct cry_cbor_rd *rd, struct hdr_dec *hd, const struct label *l,
    bool prot, struct mrx_diag *diag)
{
	const char *bucket = prot ? "protected" : "unprotected";
	struct cry_cbor_item it;
	char name[40];
	int rc;

	if (label_is(l, LABEL_ALG)) {
		snprintf(name, sizeof(name), "%s.alg", bucket);
		return alg_value(rd, hd, name, diag);
	}
	if (label_is(l, LABEL_KID)) {
		snprintf(name, sizeof(name), "%s.kid", bucket);
		return kid_value(rd, hd, name, diag);
	}
	if (label_is(l, LABEL_CRIT)) {
		snprintf(name, sizeof(name), "%s.crit", bucket);
		if (!prot)
			return fail(diag, MRX_EMALFORMED, rd->off, hd->pfx,
			    name, "crit must be in the protected header");
		return crit_value(rd, hd, name, diag);
	}
	rc = rd_next(rd, &it, hd->pfx, bucket, diag);
	if (rc != 0)
		return rc;
	return rd_skip(rd, &it, hd->pfx, bucket, diag);
}

/* Reads the `n` pairs of a header map of the protected or other bucket. */
static int
hdr_map(struct cry_cbor_rd *rd, uint64_t n, bool prot, struct hdr_dec *hd,
    struct mrx_diag *diag)
{
	const char *bucket = prot ? "protected" : "unprotected";
	struct labels *mine = prot ? &hd->prot : &hd->unprot;
	const struct labels *other = prot ? &hd->unprot : &hd->prot;
	char msg[128], ls[48];
	struct label l;
	size_t off;
	uint64_t i;
	int rc;

	if (n > HDR_LABELS_MAX) {
		snprintf(msg, sizeof(msg), "header map has more than %d labels",
		    HDR_LABELS_MAX);
		return fail(diag, MRX_ETOOBIG, rd->off, hd->pfx, bucket, msg);
	}
	for (i = 0; i < n; i++) {
		off = rd->off;
		rc = label_read(rd, &l, hd->pfx, bucket, diag);
		if (rc != 0)
			return rc;
		label_str(&l, ls, sizeof(ls));
		if (labels_has(mine, &l)) {
			snprintf(msg, sizeof(msg), "duplicate header label %s",
			    ls);
			return fail(diag, MRX_EDUP, off, hd->pfx, bucket, msg);
		}
		if (labels_has(other, &l)) {
			snprintf(msg, sizeof(msg), "header label %s is in both "
			    "the protected and the unprotected header", ls);
			return fail(diag, MRX_EMALFORMED, off, hd->pfx, bucket,
			    msg);
		}
		mine->l[mine->n++] = l;
		rc = hdr_value(rd, hd, &l, prot, diag);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Decodes the content of the protected header bstr `it` of message `msg`. */
static int
hdr_prot(const uint8_t *msg, const struct cry_cbor_item *it,
    struct hdr_dec *hd, struct mrx_diag *diag)
{
	struct cry_cbor_rd sub;
	struct cry_cbor_item m;
	int rc;

	hd->hdr->prot = it->ptr;
	hd->hdr->prot_len = (size_t)it->val;
	if (it->val == 0)
		return 0;
	/* A reader over the bstr content keeps offsets message-relative. */
	sub.buf = msg;
	sub.len = it->off + it->len;
	sub.off = sub.len - (size_t)it->val;
	rc = rd_next(&sub, &m, hd->pfx, "protected", diag);
	if (rc != 0)
		return rc;
	if (m.type != CRY_CBOR_MAP)
		return fail(diag, MRX_ETYPE, m.off, hd->pfx, "protected",
		    "protected header must encode a map");
	rc = hdr_map(&sub, m.val, true, hd, diag);
	if (rc != 0)
		return rc;
	if (!cry_cbor_rd_done(&sub))
		return fail(diag, MRX_ETRAILING, sub.off, hd->pfx, "protected",
		    "bytes after the protected header map");
	return 0;
}

/*
 * Reads a protected bstr and an unprotected map into `hdr`. With need_alg,
 * a pair without alg is MRX_EMISSING.
 */
static int
hdr_pair(struct cry_cbor_rd *rd, struct cry_cose_hdr *hdr, const char *pfx,
    bool need_alg, struct mrx_diag *diag)
{
	struct hdr_dec hd;
	struct cry_cbor_item it;
	int rc;

	memset(&hd, 0, sizeof(hd));
	memset(hdr, 0, sizeof(*hdr));
	hd.hdr = hdr;
	hd.pfx = pfx;
	rc = rd_next(rd, &it, pfx, "protected", diag);
	if (rc != 0)
		return rc;
	if (it.type != CRY_CBOR_BSTR)
		return fail(diag, MRX_ETYPE, it.off, pfx, "protected",
		    "protected header must be a byte string");
	rc = hdr_prot(rd->buf, &it, &hd, diag);
	if (rc != 0)
		return rc;
	rc = rd_next(rd, &it, pfx, "unprotected", diag);
	if (rc != 0)
		return rc;
	if (it.type != CRY_CBOR_MAP)
		return fail(diag, MRX_ETYPE, it.off, pfx, "unprotected",
		    "unprotected header must be a map");
	rc = hdr_map(rd, it.val, false, &hd, diag);
	if (rc != 0)
		return rc;
	if (need_alg && !hd.has_alg)
		return fail(diag, MRX_EMISSING, MRX_DIAG_NO_OFFSET, pfx,
		    "protected.alg", "no alg header");
	return 0;
}

/* Reads the payload: a byte string, or nil when detached. */
static int
payload_read(struct cry_cbor_rd *rd, const uint8_t **p, size_t *n,
    struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	int rc;

	rc = rd_next(rd, &it, "", "payload", diag);
	if (rc != 0)
		return rc;
	if (it.type == CRY_CBOR_NULL) {
		*p = NULL;
		*n = 0;
		return 0;
	}
	if (it.type != CRY_CBOR_BSTR)
		return fail(diag, MRX_ETYPE, it.off, "", "payload",
		    "payload must be a byte string or nil");
	*p = it.ptr;
	*n = (size_t)it.val;
	return 0;
}

static int
sig_read(struct cry_cbor_rd *rd, const uint8_t **p, size_t *n,
    const char *pfx, struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	int rc;

	rc = rd_next(rd, &it, pfx, "signature", diag);
	if (rc != 0)
		return rc;
	if (it.type != CRY_CBOR_BSTR)
		return fail(diag, MRX_ETYPE, it.off, pfx, "signature",
		    "signature must be a byte string");
	*p = it.ptr;
	*n = (size_t)it.val;
	return 0;
}

/*
 * Reads an optional tag, which must be `tag`, then the head of an array of
 * `n` items. Sets *tagged.
 */
static int
envelope_head(struct cry_cbor_rd *rd, uint64_t tag, uint64_t n,
    const char *what, bool *tagged, struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	char msg[96];
	int rc;

	rc = rd_next(rd, &it, "", "", diag);
	if (rc != 0)
		return rc;
	*tagged = false;
	if (it.type == CRY_CBOR_TAG) {
		if (it.val != tag) {
			snprintf(msg, sizeof(msg), "tag %" PRIu64 " is not %s "
			    "(%" PRIu64 ")", it.val, what, tag);
			return fail(diag, MRX_EMALFORMED, it.off, "", "tag",
			    msg);
		}
		*tagged = true;
		rc = rd_next(rd, &it, "", "", diag);
		if (rc != 0)
			return rc;
	}
	if (it.type != CRY_CBOR_ARRAY || it.val != n) {
		snprintf(msg, sizeof(msg), "%s must be an array of %" PRIu64
		    " items", what, n);
		return fail(diag, MRX_EMALFORMED, it.off, "", "", msg);
	}
	return 0;
}

int
cry_sign1_decode(const uint8_t *msg, size_t len, struct cry_sign1 *out,
    struct mrx_diag *diag)
{
	struct cry_cbor_rd rd;
	struct cry_sign1 s;
	int rc;

	if (out == NULL || (msg == NULL && len > 0))
		return MRX_EINVAL;
	memset(&s, 0, sizeof(s));
	cry_cbor_rd_init(&rd, msg, len);
	rc = envelope_head(&rd, CRY_COSE_TAG_SIGN1, 4, "COSE_Sign1", &s.tagged,
	    diag);
	if (rc == 0)
		rc = hdr_pair(&rd, &s.hdr, "", true, diag);
	if (rc == 0)
		rc = payload_read(&rd, &s.payload, &s.payload_len, diag);
	if (rc == 0)
		rc = sig_read(&rd, &s.sig, &s.sig_len, "", diag);
	if (rc == 0 && !cry_cbor_rd_done(&rd))
		rc = fail(diag, MRX_ETRAILING, rd.off, "", "",
		    "bytes after the COSE_Sign1");
	if (rc != 0)
		return rc;
	*out = s;
	return 0;
}

/* A protected header enters the Sig_structure empty if it has no entries. */
static size_t
prot_tbs_len(const uint8_t *p, size_t n)
{
	struct cry_cbor_rd rd;
	struct cry_cbor_item it;

	if (n == 0)
		return 0;
	cry_cbor_rd_init(&rd, p, n);
	if (cry_cbor_next(&rd, &it, NULL) == 0 && it.type == CRY_CBOR_MAP &&
	    it.val == 0 && cry_cbor_rd_done(&rd))
		return 0;
	return n;
}

static void
tbs_write(struct cry_cbor_wr *wr, const struct tbs *t)
{
	cry_cbor_put_array(wr, t->has_sign_prot ? 5 : 4);
	cry_cbor_put_tstr(wr, t->context);
	cry_cbor_put_bstr(wr, t->body_prot,
	    prot_tbs_len(t->body_prot, t->body_prot_len));
	if (t->has_sign_prot)
		cry_cbor_put_bstr(wr, t->sign_prot,
		    prot_tbs_len(t->sign_prot, t->sign_prot_len));
	cry_cbor_put_bstr(wr, t->aad, t->aad_len);
	cry_cbor_put_bstr(wr, t->payload, t->payload_len);
}

/*
 * Builds the Sig_structure in `stack` (TBS_STACK bytes) or, if it does not
 * fit, in a heap buffer returned in *heap (to be freed by the caller).
 */
static int
tbs_build(const struct tbs *t, uint8_t *stack, uint8_t **heap,
    const uint8_t **buf, size_t *len)
{
	struct cry_cbor_wr wr;
	size_t need;

	*heap = NULL;
	cry_cbor_wr_init(&wr, stack, TBS_STACK);
	tbs_write(&wr, t);
	if (wr.err != 0) {
		need = wr.len;
		if (need == SIZE_MAX)
			return MRX_ETOOBIG;
		*heap = malloc(need);
		if (*heap == NULL)
			return MRX_ENOMEM;
		cry_cbor_wr_init(&wr, *heap, need);
		tbs_write(&wr, t);
	}
	*buf = *heap != NULL ? *heap : stack;
	return cry_cbor_wr_finish(&wr, len);
}

static int
tbs_verify(const struct tbs *t, const struct cry_key *key, enum cry_alg alg,
    const uint8_t *sig, size_t siglen)
{
	uint8_t stack[TBS_STACK], *heap;
	const uint8_t *buf;
	size_t len;
	int rc;

	rc = tbs_build(t, stack, &heap, &buf, &len);
	if (rc == 0)
		rc = cry_verify(key, alg, buf, len, sig, siglen);
	free(heap);
	return rc;
}

static int
tbs_sign(const struct tbs *t, const struct cry_key *key,
    uint8_t sig[CRY_SIG_LEN])
{
	uint8_t stack[TBS_STACK], *heap;
	const uint8_t *buf;
	size_t len;
	int rc;

	rc = tbs_build(t, stack, &heap, &buf, &len);
	if (rc == 0)
		rc = cry_sign(key, buf, len, sig);
	free(heap);
	return rc;
}

/* Name of a COSE alg value for messages: "ES384 (-35)" or "-999". */
static void
alg_describe(const struct cry_cose_hdr *hdr, char *buf, size_t cap)
{
	static const struct {
		int64_t v;
		const char *name;
	} names[] = {
		{ -7, "ES256" }, { -8, "EdDSA" }, { -35, "ES384" },
		{ -36, "ES512" }, { -37, "PS256" }, { -38, "PS384" },
		{ -39, "PS512" }, { -47, "ES256K" }, { -257, "RS256" },
		{ -258, "RS384" }, { -259, "RS512" }, { -65535, "RS1" },
	};
	struct cry_cbor_rd rd;
	struct cry_cbor_item it;
	struct label l;
	size_t i;

	if (hdr->alg_raw == ALG_OUT_OF_RANGE) {
		snprintf(buf, cap, "(an integer out of range)");
		return;
	}
	if (hdr->alg_raw != 0) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (names[i].v == hdr->alg_raw) {
				snprintf(buf, cap, "%s (%" PRId64 ")",
				    names[i].name, hdr->alg_raw);
				return;
			}
		snprintf(buf, cap, "%" PRId64, hdr->alg_raw);
		return;
	}
	/* alg_raw 0: a text alg (or 0); find it again to name it. */
	snprintf(buf, cap, "(a text string)");
	cry_cbor_rd_init(&rd, hdr->prot, hdr->prot_len);
	if (cry_cbor_next(&rd, &it, NULL) != 0 || it.type != CRY_CBOR_MAP)
		return;
	for (i = it.val; i > 0; i--) {
		if (cry_cbor_next(&rd, &it, NULL) != 0)
			return;
		if (it.type == CRY_CBOR_UINT && it.val == LABEL_ALG) {
			if (cry_cbor_next(&rd, &it, NULL) != 0)
				return;
			if (it.type == CRY_CBOR_UINT && it.val == 0) {
				snprintf(buf, cap, "0");
			} else if (it.type == CRY_CBOR_TSTR) {
				l.type = CRY_CBOR_TSTR;
				l.val = it.val;
				l.text = it.ptr;
				label_str(&l, buf, cap);
			}
			return;
		}
		if (cry_cbor_skip(&rd, &it, NULL) != 0 ||
		    cry_cbor_next(&rd, &it, NULL) != 0 ||
		    cry_cbor_skip(&rd, &it, NULL) != 0)
			return;
	}
}

static void
kid_hex(const uint8_t *kid, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < CRY_KID_LEN; i++) {
		buf[2 * i] = hex[kid[i] >> 4];
		buf[2 * i + 1] = hex[kid[i] & 0xf];
	}
	buf[2 * CRY_KID_LEN] = '\0';
}

/* Checks alg against the key, then the signature over t. */
static int
verify_hdr(const struct cry_cose_hdr *hdr, const struct tbs *t,
    const struct cry_key *key, const uint8_t *sig, size_t siglen,
    const char *pfx, struct mrx_diag *diag)
{
	char f[64], desc[64], kh[2 * CRY_KID_LEN + 1];
	int rc;

	if (key == NULL)
		return MRX_EINVAL;
	if (hdr->alg == CRY_ALG_NONE) {
		alg_describe(hdr, desc, sizeof(desc));
		return mrx_diag_set(diag, MRX_EUNSUPPORTED, MRX_DIAG_NO_OFFSET,
		    field(f, pfx, "protected.alg"),
		    "unsupported algorithm %s", desc);
	}
	if (hdr->alg != cry_key_alg(key))
		return mrx_diag_set(diag, MRX_EALG, MRX_DIAG_NO_OFFSET,
		    field(f, pfx, "protected.alg"),
		    "alg %s does not match the %s key", cry_alg_name(hdr->alg),
		    cry_alg_name(cry_key_alg(key)));
	if (t->payload == NULL)
		return mrx_diag_set(diag, MRX_EUNSUPPORTED, MRX_DIAG_NO_OFFSET,
		    "payload", "detached payloads are not supported");
	rc = tbs_verify(t, key, hdr->alg, sig, siglen);
	if (rc == MRX_ESIG) {
		kid_hex(cry_key_kid(key), kh);
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET,
		    field(f, pfx, "signature"),
		    "signature does not verify with key %s", kh);
	}
	return rc;
}

int
cry_sign1_verify(const struct cry_sign1 *s, const struct cry_key *key,
    const uint8_t *aad, size_t aad_len, struct mrx_diag *diag)
{
	struct tbs t;

	if (s == NULL || (aad == NULL && aad_len > 0))
		return MRX_EINVAL;
	memset(&t, 0, sizeof(t));
	t.context = "Signature1";
	t.body_prot = s->hdr.prot;
	t.body_prot_len = s->hdr.prot_len;
	t.aad = aad;
	t.aad_len = aad_len;
	t.payload = s->payload;
	t.payload_len = s->payload_len;
	return verify_hdr(&s->hdr, &t, key, s->sig, s->sig_len, "", diag);
}

int
cry_sign1_tbs(const struct cry_sign1 *s, const uint8_t *aad,
    size_t aad_len, uint8_t *buf, size_t cap, size_t *len)
{
	struct cry_cbor_wr wr;
	struct tbs t;

	if (s == NULL || len == NULL || (aad == NULL && aad_len > 0))
		return MRX_EINVAL;
	memset(&t, 0, sizeof(t));
	t.context = "Signature1";
	t.body_prot = s->hdr.prot;
	t.body_prot_len = s->hdr.prot_len;
	t.aad = aad;
	t.aad_len = aad_len;
	t.payload = s->payload;
	t.payload_len = s->payload_len;
	cry_cbor_wr_init(&wr, buf, cap);
	tbs_write(&wr, &t);
	*len = wr.len;		/* the size needed, also on MRX_ENOSPC */
	return wr.err;
}

/* Our protected header {1: alg, 4: kid} into `buf` (PROT_MAX bytes). */
static int
prot_make(const struct cry_key *key, const uint8_t *kid, size_t kid_len,
    uint8_t *buf, size_t *len)
{
	struct cry_cbor_wr wr;

	if (kid == NULL) {
		kid = cry_key_kid(key);
		kid_len = CRY_KID_LEN;
	}
	if (kid_len > CRY_COSE_KID_MAX)
		return MRX_ETOOBIG;
	cry_cbor_wr_init(&wr, buf, PROT_MAX);
	cry_cbor_put_map(&wr, 2);
	cry_cbor_put_uint(&wr, LABEL_ALG);
	cry_cbor_put_int(&wr, cry_key_alg(key));
	cry_cbor_put_uint(&wr, LABEL_KID);
	cry_cbor_put_bstr(&wr, kid, kid_len);
	return cry_cbor_wr_finish(&wr, len);
}

static int
sign_args_check(const struct cry_key *key, const uint8_t *aad,
    size_t aad_len, const uint8_t *payload, size_t payload_len,
    size_t *out_len)
{
	if (key == NULL || out_len == NULL || (aad == NULL && aad_len > 0) ||
	    (payload == NULL && payload_len > 0))
		return MRX_EINVAL;
	if (!cry_key_has_private(key))
		return MRX_EKEY;
	return 0;
}

static void
sign1_write(struct cry_cbor_wr *wr, const uint8_t *prot, size_t prot_len,
    const uint8_t *payload, size_t payload_len, const uint8_t *sig)
{
	cry_cbor_put_tag(wr, CRY_COSE_TAG_SIGN1);
	cry_cbor_put_array(wr, 4);
	cry_cbor_put_bstr(wr, prot, prot_len);
	cry_cbor_put_map(wr, 0);
	cry_cbor_put_bstr(wr, payload, payload_len);
	cry_cbor_put_bstr(wr, sig, CRY_SIG_LEN);
}

int
cry_sign1_sign(const struct cry_key *key, const uint8_t *kid,
    size_t kid_len, const uint8_t *aad, size_t aad_len, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t prot[PROT_MAX], sig[CRY_SIG_LEN];
	struct cry_cbor_wr wr;
	struct tbs t;
	size_t prot_len;
	int rc;

	rc = sign_args_check(key, aad, aad_len, payload, payload_len,
	    out_len);
	if (rc == 0)
		rc = prot_make(key, kid, kid_len, prot, &prot_len);
	if (rc != 0)
		return rc;
	if (payload == NULL)
		payload = empty_bytes;
	/* Measure first: a signature is not made for nothing. */
	memset(sig, 0, sizeof(sig));
	cry_cbor_wr_init(&wr, NULL, 0);
	sign1_write(&wr, prot, prot_len, payload, payload_len, sig);
	*out_len = wr.len;
	if (out == NULL || wr.len > cap)
		return MRX_ENOSPC;
	memset(&t, 0, sizeof(t));
	t.context = "Signature1";
	t.body_prot = prot;
	t.body_prot_len = prot_len;
	t.aad = aad;
	t.aad_len = aad_len;
	t.payload = payload;
	t.payload_len = payload_len;
	rc = tbs_sign(&t, key, sig);
	if (rc != 0)
		return rc;
	cry_cbor_wr_init(&wr, out, cap);
	sign1_write(&wr, prot, prot_len, payload, payload_len, sig);
	return cry_cbor_wr_finish(&wr, out_len);
}

/* One COSE_Signature: [protected, unprotected, signature]. */
static int
signer_read(struct cry_cbor_rd *rd, struct cry_sign *s, size_t i,
    struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	char pfx[40];
	int rc;

	snprintf(pfx, sizeof(pfx), "signatures[%zu].", i);
	rc = rd_next(rd, &it, pfx, "", diag);
	if (rc != 0)
		return rc;
	if (it.type != CRY_CBOR_ARRAY || it.val != 3)
		return fail(diag, MRX_EMALFORMED, it.off, pfx, "",
		    "COSE_Signature must be an array of 3 items");
	rc = hdr_pair(rd, &s->sigs[i].hdr, pfx, true, diag);
	if (rc == 0)
		rc = sig_read(rd, &s->sigs[i].sig, &s->sigs[i].sig_len, pfx,
		    diag);
	return rc;
}

static int
signers_read(struct cry_cbor_rd *rd, struct cry_sign *s,
    struct sign_layout *lay, struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	char msg[64];
	size_t i;
	int rc;

	rc = rd_next(rd, &it, "", "signatures", diag);
	if (rc != 0)
		return rc;
	if (it.type != CRY_CBOR_ARRAY)
		return fail(diag, MRX_ETYPE, it.off, "", "signatures",
		    "signatures must be an array");
	if (it.val == 0)
		return fail(diag, MRX_EMISSING, it.off, "", "signatures",
		    "COSE_Sign without signatures");
	if (it.val > CRY_COSE_SIGNERS_MAX) {
		snprintf(msg, sizeof(msg), "more than %d signatures",
		    CRY_COSE_SIGNERS_MAX);
		return fail(diag, MRX_ETOOBIG, it.off, "", "signatures", msg);
	}
	for (i = 0; i < it.val; i++) {
		lay->sig_start[i] = rd->off;
		rc = signer_read(rd, s, i, diag);
		if (rc != 0)
			return rc;
		lay->sig_end[i] = rd->off;
	}
	s->nsigs = (size_t)it.val;
	return 0;
}

static int
sign_decode(const uint8_t *msg, size_t len, struct cry_sign *out,
    struct sign_layout *lay, struct mrx_diag *diag)
{
	struct cry_cbor_rd rd;
	struct cry_cose_hdr body;
	struct cry_sign s;
	int rc;

	if (out == NULL || (msg == NULL && len > 0))
		return MRX_EINVAL;
	memset(&s, 0, sizeof(s));
	cry_cbor_rd_init(&rd, msg, len);
	rc = envelope_head(&rd, CRY_COSE_TAG_SIGN, 4, "COSE_Sign", &s.tagged,
	    diag);
	lay->body_start = rd.off;
	if (rc == 0)
		rc = hdr_pair(&rd, &body, "", false, diag);
	if (rc == 0)
		rc = payload_read(&rd, &s.payload, &s.payload_len, diag);
	lay->body_end = rd.off;
	if (rc == 0)
		rc = signers_read(&rd, &s, lay, diag);
	if (rc == 0 && !cry_cbor_rd_done(&rd))
		rc = fail(diag, MRX_ETRAILING, rd.off, "", "",
		    "bytes after the COSE_Sign");
	if (rc != 0)
		return rc;
	s.body_prot = body.prot;
	s.body_prot_len = body.prot_len;
	*out = s;
	return 0;
}

int
cry_sign_decode(const uint8_t *msg, size_t len, struct cry_sign *out,
    struct mrx_diag *diag)
{
	struct sign_layout lay;

	return sign_decode(msg, len, out, &lay, diag);
}

static void
sign_tbs_init(struct tbs *t, const uint8_t *body_prot, size_t body_prot_len,
    const uint8_t *sign_prot, size_t sign_prot_len, const uint8_t *aad,
    size_t aad_len, const uint8_t *payload, size_t payload_len)
{
	memset(t, 0, sizeof(*t));
	t->context = "Signature";
	t->body_prot = body_prot;
	t->body_prot_len = body_prot_len;
	t->has_sign_prot = true;
	t->sign_prot = sign_prot;
	t->sign_prot_len = sign_prot_len;
	t->aad = aad;
	t->aad_len = aad_len;
	t->payload = payload;
	t->payload_len = payload_len;
}

int
cry_sign_verify(const struct cry_sign *s, size_t i,
    const struct cry_key *key, const uint8_t *aad, size_t aad_len,
    struct mrx_diag *diag)
{
	char pfx[40];
	struct tbs t;

	if (s == NULL || i >= s->nsigs || (aad == NULL && aad_len > 0))
		return MRX_EINVAL;
	snprintf(pfx, sizeof(pfx), "signatures[%zu].", i);
	sign_tbs_init(&t, s->body_prot, s->body_prot_len, s->sigs[i].hdr.prot,
	    s->sigs[i].hdr.prot_len, aad, aad_len, s->payload, s->payload_len);
	return verify_hdr(&s->sigs[i].hdr, &t, key, s->sigs[i].sig,
	    s->sigs[i].sig_len, pfx, diag);
}

/* The new COSE_Signature [prot, {}, sig]. */
static void
signer_write(struct cry_cbor_wr *wr, const uint8_t *prot, size_t prot_len,
    const uint8_t *sig)
{
	cry_cbor_put_array(wr, 3);
	cry_cbor_put_bstr(wr, prot, prot_len);
	cry_cbor_put_map(wr, 0);
	cry_cbor_put_bstr(wr, sig, CRY_SIG_LEN);
}

static void
sign_new_write(struct cry_cbor_wr *wr, const uint8_t *prot, size_t prot_len,
    const uint8_t *payload, size_t payload_len, const uint8_t *sig)
{
	cry_cbor_put_tag(wr, CRY_COSE_TAG_SIGN);
	cry_cbor_put_array(wr, 4);
	cry_cbor_put_bstr(wr, NULL, 0);
	cry_cbor_put_map(wr, 0);
	cry_cbor_put_bstr(wr, payload, payload_len);
	cry_cbor_put_array(wr, 1);
	signer_write(wr, prot, prot_len, sig);
}

int
cry_sign_sign(const struct cry_key *key, const uint8_t *aad,
    size_t aad_len, const uint8_t *payload, size_t payload_len, uint8_t *out,
    size_t cap, size_t *out_len)
{
	uint8_t prot[PROT_MAX], sig[CRY_SIG_LEN];
	struct cry_cbor_wr wr;
	struct tbs t;
	size_t prot_len;
	int rc;

	rc = sign_args_check(key, aad, aad_len, payload, payload_len,
	    out_len);
	if (rc == 0)
		rc = prot_make(key, NULL, 0, prot, &prot_len);
	if (rc != 0)
		return rc;
	if (payload == NULL)
		payload = empty_bytes;
	memset(sig, 0, sizeof(sig));
	cry_cbor_wr_init(&wr, NULL, 0);
	sign_new_write(&wr, prot, prot_len, payload, payload_len, sig);
	*out_len = wr.len;
	if (out == NULL || wr.len > cap)
		return MRX_ENOSPC;
	sign_tbs_init(&t, empty_bytes, 0, prot, prot_len, aad, aad_len,
	    payload, payload_len);
	rc = tbs_sign(&t, key, sig);
	if (rc != 0)
		return rc;
	cry_cbor_wr_init(&wr, out, cap);
	sign_new_write(&wr, prot, prot_len, payload, payload_len, sig);
	return cry_cbor_wr_finish(&wr, out_len);
}

static void
sign_add_write(struct cry_cbor_wr *wr, const uint8_t *msg,
    const struct sign_layout *lay, size_t nsigs, const uint8_t *prot,
    size_t prot_len, const uint8_t *sig)
{
	size_t i;

	cry_cbor_put_tag(wr, CRY_COSE_TAG_SIGN);
	cry_cbor_put_array(wr, 4);
	cry_cbor_put_raw(wr, msg + lay->body_start,
	    lay->body_end - lay->body_start);
	cry_cbor_put_array(wr, nsigs + 1);
	for (i = 0; i < nsigs; i++)
		cry_cbor_put_raw(wr, msg + lay->sig_start[i],
		    lay->sig_end[i] - lay->sig_start[i]);
	signer_write(wr, prot, prot_len, sig);
}

/* Refuses a second signature by the same kid, or one too many. */
static int
sign_add_check(const struct cry_sign *s, const struct cry_key *key,
    struct mrx_diag *diag)
{
	char kh[2 * CRY_KID_LEN + 1];
	size_t i;

	if (s->payload == NULL)
		return mrx_diag_set(diag, MRX_EUNSUPPORTED, MRX_DIAG_NO_OFFSET,
		    "payload", "detached payloads are not supported");
	for (i = 0; i < s->nsigs; i++) {
		if (s->sigs[i].hdr.kid_len == CRY_KID_LEN &&
		    memcmp(s->sigs[i].hdr.kid, cry_key_kid(key),
		    CRY_KID_LEN) == 0) {
			kid_hex(cry_key_kid(key), kh);
			return mrx_diag_set(diag, MRX_EEXIST,
			    MRX_DIAG_NO_OFFSET, "signatures",
			    "already signed by key %s", kh);
		}
	}
	if (s->nsigs >= CRY_COSE_SIGNERS_MAX)
		return mrx_diag_set(diag, MRX_ENOSPC, MRX_DIAG_NO_OFFSET,
		    "signatures", "already %zu signatures, the most allowed",
		    s->nsigs);
	return 0;
}

int
cry_sign_add(const uint8_t *msg, size_t len, const struct cry_key *key,
    const uint8_t *aad, size_t aad_len, uint8_t *out, size_t cap,
    size_t *out_len, struct mrx_diag *diag)
{
	uint8_t prot[PROT_MAX], sig[CRY_SIG_LEN];
	struct sign_layout lay;
	struct cry_cbor_wr wr;
	struct cry_sign s;
	struct tbs t;
	size_t prot_len;
	int rc;

	rc = sign_args_check(key, aad, aad_len, empty_bytes, 0, out_len);
	if (rc != 0)
		return rc;
	if (out != NULL && msg != NULL && (uintptr_t)out < (uintptr_t)msg +
	    len && (uintptr_t)msg < (uintptr_t)out + cap)
		return MRX_EINVAL;	/* out must not overlap msg */
	rc = sign_decode(msg, len, &s, &lay, diag);
	if (rc == 0)
		rc = sign_add_check(&s, key, diag);
	if (rc == 0)
		rc = prot_make(key, NULL, 0, prot, &prot_len);
	if (rc != 0)
		return rc;
	memset(sig, 0, sizeof(sig));
	cry_cbor_wr_init(&wr, NULL, 0);
	sign_add_write(&wr, msg, &lay, s.nsigs, prot, prot_len, sig);
	*out_len = wr.len;
	if (out == NULL || wr.len > cap)
		return MRX_ENOSPC;
	sign_tbs_init(&t, s.body_prot, s.body_prot_len, prot, prot_len, aad,
	    aad_len, s.payload, s.payload_len);
	rc = tbs_sign(&t, key, sig);
	if (rc != 0)
		return rc;
	cry_cbor_wr_init(&wr, out, cap);
	sign_add_write(&wr, msg, &lay, s.nsigs, prot, prot_len, sig);
	return cry_cbor_wr_finish(&wr, out_len);
}
