/*
 * fedmsg.c - the bodies of node-to-node messages (fedmsg.h): small
 * positional CBOR arrays, written deterministically and read strictly.
 *
 * Invariants:
 *  - One rule per element serves both directions: text_check(), view_ok()
 *    and the bounds below are what the decoder applies to untrusted bytes
 *    and what an encoder applies to its arguments, so an encoder never
 *    writes a body its decoder refuses, and a body a decoder accepts is the
 *    one encoding of what it decoded (shortest heads, definite lengths, no
 *    tags, no trailing bytes): decode then encode gives the input back.
 *  - Decoding reads one head at a time with cry_cbor_next() and skips
 *    nothing: every byte of the input belongs to an element that a rule
 *    checked, or the body is refused.
 *  - A refusal names the element by position ("body", "body[2]",
 *    "body[1][0]") and the byte offset of the offending head. The codes are
 *    the five of fedmsg.h: MRX_EMALFORMED (not well-formed CBOR, a head not
 *    in shortest form, an indefinite length, text that is not UTF-8, an
 *    array of the wrong length, bytes after the body), MRX_ETYPE (a wrong
 *    CBOR type, a tag), MRX_ERANGE (a value outside its syntax or range),
 *    MRX_ETRUNC (the input ends inside the body) and MRX_ETOOBIG (a string
 *    or a list over its limit).
 *  - Views (struct proto_bytes) point into the input; text is copied into
 *    the caller's bounded arrays and NUL-terminated. A struct decoder
 *    zeroes its output first and fills it only on success (the fetch
 *    decoder leaves cti as it was); a list decoder writes entries as it
 *    goes but sets *n, zeroed first, only on success.
 * Pure: no I/O, no allocation.
 */
/* first: fedmsg.h uses PROTO_CODE_MAX and PROTO_MESSAGE_MAX without it */
#include "decide.h"
#include "fedmsg.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cbor.h"

#define URI_PREFIX "mrx://"
#define URI_PREFIX_LEN (sizeof(URI_PREFIX) - 1)
#define VERDICT_MAX PROTO_INDETERMINATE
#define NONE_AT (-1L)			/* struct at: no index at this level */
#define BIT(t) (1u << (t))
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(sizeof(((struct proto_refusal_msg *)0)->message) ==
    PROTO_MESSAGE_MAX + 1, "a refusal message holds PROTO_MESSAGE_MAX bytes");
_Static_assert(PROTO_ENV_BODY_MAX <= SIZE_MAX, "a body length fits size_t");

/* Where an element sits: body[i][j]; NONE_AT for a level not taken. */
struct at {
	long i;			/* index in the body array */
	long j;			/* index in the entry at i */
};

static struct at
at0(void)
{
	return (struct at){ NONE_AT, NONE_AT };
}

static struct at
at1(size_t i)
{
	return (struct at){ (long)i, NONE_AT };
}

static struct at
at2(size_t i, size_t j)
{
	return (struct at){ (long)i, (long)j };
}

static const char *
at_name(struct at a, char *buf, size_t cap)
{
	if (a.i == NONE_AT)
		snprintf(buf, cap, "body");
	else if (a.j == NONE_AT)
		snprintf(buf, cap, "body[%ld]", a.i);
	else
		snprintf(buf, cap, "body[%ld][%ld]", a.i, a.j);
	return buf;
}

static int fail(struct mrx_diag *diag, int code, size_t off, struct at a,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Records a refusal of the element at `a` in diag; returns `code`. */
static int
fail(struct mrx_diag *diag, int code, size_t off, struct at a,
    const char *fmt, ...)
{
	char field[32], msg[sizeof(diag->msg)];
	va_list ap;

	if (diag == NULL)
		return code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return mrx_diag_set(diag, code, off, at_name(a, field, sizeof(field)),
	    "%s", msg);
}

/* ------------------------------------------------------------ rules */

/* The kinds of text an element holds. */
enum text_kind { TK_ID, TK_URI, TK_ACCESS, TK_SCOPE, TK_CODE, TK_MESSAGE };

static const struct {
	const char *what;	/* as named in diags */
	size_t max;		/* bytes */
} text_kinds[] = {
	[TK_ID] = { "an id", PROTO_ID_MAX },
	[TK_URI] = { "a status list uri", PROTO_URI_MAX },
	[TK_ACCESS] = { "an access level", PROTO_LEVEL_MAX },
	[TK_SCOPE] = { "a scope", PROTO_SCOPE_MAX },
	[TK_CODE] = { "a refusal code", PROTO_CODE_MAX },
	[TK_MESSAGE] = { "a refusal message", PROTO_MESSAGE_MAX },
};

/* RFC 3629 UTF-8: no overlong forms, surrogates or values over U+10FFFF. */
static bool
utf8_ok(const uint8_t *p, size_t n)
{
	size_t i = 0, k, len;
	uint32_t cp, min;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0)
			len = 2;
		else if ((p[i] & 0xf0) == 0xe0)
			len = 3;
		else if ((p[i] & 0xf8) == 0xf0)
			len = 4;
		else
			return false;
		if (len > n - i)
			return false;
		cp = p[i] & (0x7fu >> len);
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3fu);
		}
		min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/*
 * "mrx://" and at least one more byte, all of them printable ASCII without
 * space (the URI syntax of docs/protocol.md section 6).
 */
static bool
uri_ok(const char *s, size_t n)
{
	size_t i;

	if (n <= URI_PREFIX_LEN || memcmp(s, URI_PREFIX, URI_PREFIX_LEN) != 0)
		return false;
	for (i = URI_PREFIX_LEN; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

/*
 * Checks text s of n bytes (s[n] is NUL) as a value of kind k. Returns 0,
 * or the code of the first breach with *why completing "<what> ...".
 */
static int
text_check(enum text_kind k, const char *s, size_t n, const char **why)
{
	if (n > text_kinds[k].max) {
		*why = "is too long";
		return MRX_ETOOBIG;
	}
	if (memchr(s, '\0', n) != NULL) {
		*why = "contains a NUL byte";
		return MRX_ERANGE;
	}
	if (!utf8_ok((const uint8_t *)s, n)) {
		*why = "is not valid UTF-8";
		return MRX_EMALFORMED;
	}
	if (k == TK_ID && !proto_id_valid(s)) {
		*why = "is not 1..63 of [a-z0-9.-] starting with [a-z0-9]";
		return MRX_ERANGE;
	}
	if (k == TK_URI && !uri_ok(s, n)) {
		*why = "is not \"mrx://\" and printable ASCII without space";
		return MRX_ERANGE;
	}
	return 0;
}

/* A text argument of an encoder: NUL-terminated and of kind k. */
static bool
text_arg_ok(enum text_kind k, const char *s)
{
	const char *why;

	return s != NULL && text_check(k, s, strnlen(s, text_kinds[k].max + 1),
	    &why) == 0;
}

/* A byte-string argument: min..max bytes, or absent (p NULL) if `opt`. */
static bool
view_ok(const struct proto_bytes *v, size_t min, size_t max, bool opt)
{
	if (v->p == NULL)
		return opt && v->n == 0;
	return v->n >= min && v->n <= max;
}

/* ------------------------------------------------------------ reading */

static const char *
tname(enum cry_cbor_type t)
{
	static const char *const names[] = {
		[CRY_CBOR_UINT] = "unsigned integer",
		[CRY_CBOR_NEGINT] = "negative integer",
		[CRY_CBOR_BSTR] = "byte string",
		[CRY_CBOR_TSTR] = "text string",
		[CRY_CBOR_ARRAY] = "array",
		[CRY_CBOR_MAP] = "map",
		[CRY_CBOR_TAG] = "tag",
		[CRY_CBOR_FALSE] = "false",
		[CRY_CBOR_TRUE] = "true",
		[CRY_CBOR_NULL] = "null",
		[CRY_CBOR_UNDEF] = "undefined",
		[CRY_CBOR_FLOAT] = "float",
	};

	return (unsigned)t < NELEM(names) ? names[t] : "simple value";
}

/*
 * Reads one head in its shortest form whose type is in the mask `want`
 * (BIT(type)); `expect` names it for the diag.
 */
static int
get_item(struct cry_cbor_rd *rd, struct cry_cbor_item *it, unsigned want,
    const char *expect, struct at a, struct mrx_diag *diag)
{
	struct mrx_diag ld;
	size_t off = rd->off;
	int rc;

	mrx_diag_clear(&ld);
	rc = cry_cbor_next(rd, it, &ld);
	if (rc != 0)
		return fail(diag, rc == MRX_EINDEF ? MRX_EMALFORMED : rc,
		    ld.offset != MRX_DIAG_NO_OFFSET ? ld.offset : off, a, "%s",
		    ld.msg[0] != '\0' ? ld.msg : mrx_strerror(rc));
	/*
	 * cry_cbor marks every major-7 head shortest (and refuses 0xf8 today):
	 * false, true, null and undefined are one byte, whatever the reader.
	 */
	if (!it->shortest || (it->type >= CRY_CBOR_FALSE &&
	    it->type <= CRY_CBOR_UNDEF && it->len != 1))
		return fail(diag, MRX_EMALFORMED, it->off, a,
		    "this head is not in its shortest form");
	if ((want & BIT(it->type)) == 0)
		return fail(diag, MRX_ETYPE, it->off, a,
		    "a %s where %s is expected", tname(it->type), expect);
	return 0;
}

/* The head of an array of exactly `n` elements. */
static int
get_tuple(struct cry_cbor_rd *rd, size_t n, struct at a,
    struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	int rc = get_item(rd, &it, BIT(CRY_CBOR_ARRAY), "an array", a, diag);

	if (rc == 0 && it.val != n)
		rc = fail(diag, MRX_EMALFORMED, it.off, a,
		    "an array of %" PRIu64 " elements where %zu are expected",
		    it.val, n);
	return rc;
}

/* The head of an array of at most `limit` entries: *n gets the count. */
static int
get_list(struct cry_cbor_rd *rd, size_t limit, const char *what,
    size_t *n, struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	int rc = get_item(rd, &it, BIT(CRY_CBOR_ARRAY), "an array", at0(),
	    diag);

	if (rc != 0)
		return rc;
	if (it.val > limit)
		return fail(diag, MRX_ETOOBIG, it.off, at0(),
		    "%" PRIu64 " %s, over the limit of %zu", it.val, what,
		    limit);
	*n = (size_t)it.val;
	return 0;
}

/* Text of kind k into out (text_kinds[k].max + 1 bytes). */
static int
get_text(struct cry_cbor_rd *rd, enum text_kind k, char *out, struct at a,
    struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	const char *why;
	int rc = get_item(rd, &it, BIT(CRY_CBOR_TSTR), "a text string", a,
	    diag);

	if (rc != 0)
		return rc;
	if (it.val > text_kinds[k].max)
		return fail(diag, MRX_ETOOBIG, it.off, a,
		    "%s is at most %zu bytes, not %" PRIu64, text_kinds[k].what,
		    text_kinds[k].max, it.val);
	if (it.val > 0)
		memcpy(out, it.ptr, (size_t)it.val);
	out[it.val] = '\0';
	rc = text_check(k, out, (size_t)it.val, &why);
	if (rc != 0)
		return fail(diag, rc, it.off, a, "%s %s", text_kinds[k].what,
		    why);
	return 0;
}

/* A byte string of exactly n bytes into out. */
static int
get_fixed(struct cry_cbor_rd *rd, uint8_t *out, size_t n, const char *what,
    struct at a, struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	int rc = get_item(rd, &it, BIT(CRY_CBOR_BSTR), "a byte string", a,
	    diag);

	if (rc != 0)
		return rc;
	if (it.val != n)
		return fail(diag, MRX_ERANGE, it.off, a,
		    "%s is %zu bytes, not %" PRIu64, what, n, it.val);
	memcpy(out, it.ptr, n);
	return 0;
}

/* A view of min..max bytes; null (v->p NULL) too when `opt`. */
static int
get_view(struct cry_cbor_rd *rd, struct proto_bytes *v, size_t min,
    size_t max, bool opt, const char *what, struct at a,
    struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	int rc;

	rc = get_item(rd, &it, BIT(CRY_CBOR_BSTR) | (opt ?
	    BIT(CRY_CBOR_NULL) : 0), opt ? "a byte string or null" :
	    "a byte string", a, diag);
	if (rc != 0)
		return rc;
	if (it.type == CRY_CBOR_NULL) {
		v->p = NULL;
		v->n = 0;
		return 0;
	}
	if (it.val > max)
		return fail(diag, MRX_ETOOBIG, it.off, a,
		    "%s is at most %zu bytes, not %" PRIu64, what, max, it.val);
	if (it.val < min)
		return fail(diag, MRX_ERANGE, it.off, a,
		    "%s is at least %zu bytes, not %" PRIu64, what, min,
		    it.val);
	v->p = it.ptr;
	v->n = (size_t)it.val;
	return 0;
}

static int
get_uint(struct cry_cbor_rd *rd, uint64_t *v, uint64_t max, const char *what,
    struct at a, struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	int rc = get_item(rd, &it, BIT(CRY_CBOR_UINT), "an unsigned integer",
	    a, diag);

	if (rc != 0)
		return rc;
	if (it.val > max)
		return fail(diag, MRX_ERANGE, it.off, a,
		    "%s %" PRIu64 " is over %" PRIu64, what, it.val, max);
	*v = it.val;
	return 0;
}

static int
get_bool(struct cry_cbor_rd *rd, bool *v, struct at a, struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	int rc = get_item(rd, &it, BIT(CRY_CBOR_FALSE) | BIT(CRY_CBOR_TRUE),
	    "true or false", a, diag);

	if (rc == 0)
		*v = it.type == CRY_CBOR_TRUE;
	return rc;
}

/* The body ends with its array. */
static int
get_end(const struct cry_cbor_rd *rd, struct mrx_diag *diag)
{
	if (!cry_cbor_rd_done(rd))
		return fail(diag, MRX_EMALFORMED, rd->off, at0(),
		    "%zu bytes after the body array", rd->len - rd->off);
	return 0;
}

/* A blinded key entry: [node,] agreement, key; node only in surveys. */
static int
get_blinded(struct cry_cbor_rd *rd, struct proto_blinded *e, bool survey,
    size_t i, struct mrx_diag *diag)
{
	/* a survey entry is body[i][0..2], a confirm-request body[0..1] */
	struct at a0 = survey ? at2(i, 0) : at1(0);
	struct at a1 = survey ? at2(i, 1) : at1(0);
	struct at a2 = survey ? at2(i, 2) : at1(1);
	int rc = 0;

	memset(e, 0, sizeof(*e));
	if (survey)
		rc = get_text(rd, TK_ID, e->node, a0, diag);
	if (rc == 0)
		rc = get_text(rd, TK_ID, e->agreement, a1, diag);
	if (rc == 0)
		rc = get_fixed(rd, e->key, PROTO_BLIND_LEN, "a blinded key",
		    a2, diag);
	return rc;
}

/* ------------------------------------------------------------ decoders */

int
proto_catchup_req_decode(const uint8_t *b, size_t len,
    struct proto_catchup_req *m, struct mrx_diag *diag)
{
	struct proto_catchup_req r;
	struct cry_cbor_rd rd;
	uint64_t max = 0;
	int rc;

	if (m == NULL || (b == NULL && len > 0))
		return MRX_EINVAL;
	memset(m, 0, sizeof(*m));
	memset(&r, 0, sizeof(r));
	cry_cbor_rd_init(&rd, b, len);
	rc = get_tuple(&rd, 4, at0(), diag);
	if (rc == 0)
		rc = get_text(&rd, TK_ID, r.issuer, at1(0), diag);
	if (rc == 0)
		rc = get_text(&rd, TK_URI, r.uri, at1(1), diag);
	if (rc == 0)
		rc = get_uint(&rd, &r.from, UINT64_MAX, "from", at1(2), diag);
	if (rc == 0)
		rc = get_uint(&rd, &max, PROTO_BATCH_MAX, "max", at1(3), diag);
	if (rc == 0)
		rc = get_end(&rd, diag);
	if (rc != 0)
		return rc;
	r.max = (uint32_t)max;
	*m = r;
	return 0;
}

int
proto_batch_decode(const uint8_t *b, size_t len, struct proto_bytes *recs,
    size_t max, size_t *n, struct mrx_diag *diag)
{
	struct cry_cbor_rd rd;
	size_t i, count = 0;
	int rc;

	if (n == NULL || (recs == NULL && max > 0) || (b == NULL && len > 0))
		return MRX_EINVAL;
	*n = 0;
	cry_cbor_rd_init(&rd, b, len);
	rc = get_list(&rd, max < PROTO_BATCH_MAX ? max : PROTO_BATCH_MAX,
	    "records", &count, diag);
	for (i = 0; rc == 0 && i < count; i++)
		rc = get_view(&rd, &recs[i], 1, PROTO_ENV_BODY_MAX, false,
		    "a record", at1(i), diag);
	if (rc == 0)
		rc = get_end(&rd, diag);
	if (rc == 0)
		*n = count;
	return rc;
}

int
proto_fetch_req_decode(const uint8_t *b, size_t len,
    uint8_t cti[PROTO_CTI_LEN], struct mrx_diag *diag)
{
	struct cry_cbor_rd rd;
	uint8_t r[PROTO_CTI_LEN] = { 0 };
	int rc;

	if (cti == NULL || (b == NULL && len > 0))
		return MRX_EINVAL;
	cry_cbor_rd_init(&rd, b, len);
	rc = get_tuple(&rd, 1, at0(), diag);
	if (rc == 0)
		rc = get_fixed(&rd, r, PROTO_CTI_LEN, "a record id (cti)",
		    at1(0), diag);
	if (rc == 0)
		rc = get_end(&rd, diag);
	if (rc == 0)
		memcpy(cti, r, PROTO_CTI_LEN);
	return rc;
}

int
proto_present_decode(const uint8_t *b, size_t len, struct proto_present *m,
    struct mrx_diag *diag)
{
	struct proto_present r;
	struct cry_cbor_rd rd;
	int rc;

	if (m == NULL || (b == NULL && len > 0))
		return MRX_EINVAL;
	memset(m, 0, sizeof(*m));
	memset(&r, 0, sizeof(r));
	cry_cbor_rd_init(&rd, b, len);
	rc = get_tuple(&rd, 4, at0(), diag);
	if (rc == 0)
		rc = get_view(&rd, &r.record, 1, PROTO_ENV_BODY_MAX, false,
		    "a record", at1(0), diag);
	if (rc == 0)
		rc = get_view(&rd, &r.operator_record, 1, PROTO_ENV_BODY_MAX,
		    true, "a record", at1(1), diag);
	if (rc == 0)
		rc = get_text(&rd, TK_ACCESS, r.access, at1(2), diag);
	if (rc == 0)
		rc = get_text(&rd, TK_SCOPE, r.scope, at1(3), diag);
	if (rc == 0)
		rc = get_end(&rd, diag);
	if (rc == 0)
		*m = r;
	return rc;
}

int
proto_present_resp_decode(const uint8_t *b, size_t len,
    struct proto_present_resp *m, struct mrx_diag *diag)
{
	struct proto_present_resp r;
	struct cry_cbor_rd rd;
	uint64_t verdict = 0;
	int rc;

	if (m == NULL || (b == NULL && len > 0))
		return MRX_EINVAL;
	memset(m, 0, sizeof(*m));
	memset(&r, 0, sizeof(r));
	cry_cbor_rd_init(&rd, b, len);
	rc = get_tuple(&rd, 2, at0(), diag);
	if (rc == 0)
		rc = get_uint(&rd, &verdict, VERDICT_MAX, "verdict", at1(0),
		    diag);
	if (rc == 0)
		rc = get_view(&rd, &r.json, 1, PROTO_DECISION_JSON_MAX, false,
		    "a decision document", at1(1), diag);
	if (rc == 0)
		rc = get_end(&rd, diag);
	if (rc != 0)
		return rc;
	r.verdict = (uint8_t)verdict;
	*m = r;
	return 0;
}

int
proto_confirm_req_decode(const uint8_t *b, size_t len,
    struct proto_blinded *m, struct mrx_diag *diag)
{
	struct proto_blinded r;
	struct cry_cbor_rd rd;
	int rc;

	if (m == NULL || (b == NULL && len > 0))
		return MRX_EINVAL;
	memset(m, 0, sizeof(*m));
	cry_cbor_rd_init(&rd, b, len);
	rc = get_tuple(&rd, 2, at0(), diag);
	if (rc == 0)
		rc = get_blinded(&rd, &r, false, 0, diag);
	if (rc == 0)
		rc = get_end(&rd, diag);
	if (rc == 0)
		*m = r;
	return rc;
}

int
proto_found_decode(const uint8_t *b, size_t len, struct proto_found *m,
    struct mrx_diag *diag)
{
	struct proto_found r;
	struct cry_cbor_rd rd;
	int rc;

	if (m == NULL || (b == NULL && len > 0))
		return MRX_EINVAL;
	memset(m, 0, sizeof(*m));
	memset(&r, 0, sizeof(r));
	cry_cbor_rd_init(&rd, b, len);
	rc = get_tuple(&rd, 2, at0(), diag);
	if (rc == 0)
		rc = get_bool(&rd, &r.found, at1(0), diag);
	if (rc == 0)
		rc = get_view(&rd, &r.record, 1, PROTO_ENV_BODY_MAX, true,
		    "a record", at1(1), diag);
	if (rc == 0)
		rc = get_end(&rd, diag);
	if (rc == 0)
		*m = r;
	return rc;
}

int
proto_survey_decode(const uint8_t *b, size_t len, struct proto_blinded *keys,
    size_t max, size_t *n, struct mrx_diag *diag)
{
	struct cry_cbor_rd rd;
	size_t i, count = 0;
	int rc;

	if (n == NULL || (keys == NULL && max > 0) || (b == NULL && len > 0))
		return MRX_EINVAL;
	*n = 0;
	cry_cbor_rd_init(&rd, b, len);
	rc = get_list(&rd, max < PROTO_SURVEY_KEYS_MAX ? max :
	    PROTO_SURVEY_KEYS_MAX, "survey entries", &count, diag);
	for (i = 0; rc == 0 && i < count; i++) {
		rc = get_tuple(&rd, 3, at1(i), diag);
		if (rc == 0)
			rc = get_blinded(&rd, &keys[i], true, i, diag);
	}
	if (rc == 0)
		rc = get_end(&rd, diag);
	if (rc == 0)
		*n = count;
	return rc;
}

int
proto_refusal_decode(const uint8_t *b, size_t len,
    struct proto_refusal_msg *m, struct mrx_diag *diag)
{
	struct proto_refusal_msg r;
	struct cry_cbor_rd rd;
	int rc;

	if (m == NULL || (b == NULL && len > 0))
		return MRX_EINVAL;
	memset(m, 0, sizeof(*m));
	memset(&r, 0, sizeof(r));
	cry_cbor_rd_init(&rd, b, len);
	rc = get_tuple(&rd, 2, at0(), diag);
	if (rc == 0)
		rc = get_text(&rd, TK_CODE, r.code, at1(0), diag);
	if (rc == 0)
		rc = get_text(&rd, TK_MESSAGE, r.message, at1(1), diag);
	if (rc == 0)
		rc = get_end(&rd, diag);
	if (rc == 0)
		*m = r;
	return rc;
}

/* ------------------------------------------------------------ encoders */

/* The common arguments of an encoder; clears *len. */
static bool
out_ok(const uint8_t *out, size_t cap, size_t *len)
{
	if (len == NULL)
		return false;
	*len = 0;
	return out != NULL || cap == 0;
}

/* 0 and the length written, or MRX_ENOSPC and the length needed. */
static int
put_end(const struct cry_cbor_wr *wr, size_t *len)
{
	*len = wr->len;
	return wr->err;
}

static void
put_view(struct cry_cbor_wr *wr, const struct proto_bytes *v)
{
	if (v->p == NULL)
		cry_cbor_put_null(wr);
	else
		cry_cbor_put_bstr(wr, v->p, v->n);
}

int
proto_catchup_req_encode(const struct proto_catchup_req *m, uint8_t *out,
    size_t cap, size_t *len)
{
	struct cry_cbor_wr wr;

	if (!out_ok(out, cap, len) || m == NULL ||
	    !text_arg_ok(TK_ID, m->issuer) || !text_arg_ok(TK_URI, m->uri) ||
	    m->max > PROTO_BATCH_MAX)
		return MRX_EINVAL;
	cry_cbor_wr_init(&wr, out, cap);
	cry_cbor_put_array(&wr, 4);
	cry_cbor_put_tstr(&wr, m->issuer);
	cry_cbor_put_tstr(&wr, m->uri);
	cry_cbor_put_uint(&wr, m->from);
	cry_cbor_put_uint(&wr, m->max);
	return put_end(&wr, len);
}

int
proto_batch_encode(const struct proto_bytes *recs, size_t n, uint8_t *out,
    size_t cap, size_t *len)
{
	struct cry_cbor_wr wr;
	size_t i;

	if (!out_ok(out, cap, len) || n > PROTO_BATCH_MAX ||
	    (recs == NULL && n > 0))
		return MRX_EINVAL;
	for (i = 0; i < n; i++)
		if (!view_ok(&recs[i], 1, PROTO_ENV_BODY_MAX, false))
			return MRX_EINVAL;
	cry_cbor_wr_init(&wr, out, cap);
	cry_cbor_put_array(&wr, n);
	for (i = 0; i < n; i++)
		put_view(&wr, &recs[i]);
	return put_end(&wr, len);
}

int
proto_fetch_req_encode(const uint8_t cti[PROTO_CTI_LEN], uint8_t *out,
    size_t cap, size_t *len)
{
	struct cry_cbor_wr wr;

	if (!out_ok(out, cap, len) || cti == NULL)
		return MRX_EINVAL;
	cry_cbor_wr_init(&wr, out, cap);
	cry_cbor_put_array(&wr, 1);
	cry_cbor_put_bstr(&wr, cti, PROTO_CTI_LEN);
	return put_end(&wr, len);
}

int
proto_present_encode(const struct proto_present *m, uint8_t *out,
    size_t cap, size_t *len)
{
	struct cry_cbor_wr wr;

	if (!out_ok(out, cap, len) || m == NULL ||
	    !view_ok(&m->record, 1, PROTO_ENV_BODY_MAX, false) ||
	    !view_ok(&m->operator_record, 1, PROTO_ENV_BODY_MAX, true) ||
	    !text_arg_ok(TK_ACCESS, m->access) ||
	    !text_arg_ok(TK_SCOPE, m->scope))
		return MRX_EINVAL;
	cry_cbor_wr_init(&wr, out, cap);
	cry_cbor_put_array(&wr, 4);
	put_view(&wr, &m->record);
	put_view(&wr, &m->operator_record);
	cry_cbor_put_tstr(&wr, m->access);
	cry_cbor_put_tstr(&wr, m->scope);
	return put_end(&wr, len);
}

int
proto_present_resp_encode(const struct proto_present_resp *m,
    uint8_t *out, size_t cap, size_t *len)
{
	struct cry_cbor_wr wr;

	if (!out_ok(out, cap, len) || m == NULL || m->verdict > VERDICT_MAX ||
	    !view_ok(&m->json, 1, PROTO_DECISION_JSON_MAX, false))
		return MRX_EINVAL;
	cry_cbor_wr_init(&wr, out, cap);
	cry_cbor_put_array(&wr, 2);
	cry_cbor_put_uint(&wr, m->verdict);
	put_view(&wr, &m->json);
	return put_end(&wr, len);
}

/* A blinded key's fields; `survey`: the node too. */
static bool
blinded_ok(const struct proto_blinded *e, bool survey)
{
	return (!survey || text_arg_ok(TK_ID, e->node)) &&
	    text_arg_ok(TK_ID, e->agreement);
}

int
proto_confirm_req_encode(const struct proto_blinded *m, uint8_t *out,
    size_t cap, size_t *len)
{
	struct cry_cbor_wr wr;

	if (!out_ok(out, cap, len) || m == NULL || !blinded_ok(m, false))
		return MRX_EINVAL;
	cry_cbor_wr_init(&wr, out, cap);
	cry_cbor_put_array(&wr, 2);
	cry_cbor_put_tstr(&wr, m->agreement);
	cry_cbor_put_bstr(&wr, m->key, PROTO_BLIND_LEN);
	return put_end(&wr, len);
}

int
proto_found_encode(const struct proto_found *m, uint8_t *out, size_t cap,
    size_t *len)
{
	struct cry_cbor_wr wr;

	if (!out_ok(out, cap, len) || m == NULL ||
	    !view_ok(&m->record, 1, PROTO_ENV_BODY_MAX, true))
		return MRX_EINVAL;
	cry_cbor_wr_init(&wr, out, cap);
	cry_cbor_put_array(&wr, 2);
	cry_cbor_put_bool(&wr, m->found);
	put_view(&wr, &m->record);
	return put_end(&wr, len);
}

int
proto_survey_encode(const struct proto_blinded *keys, size_t n,
    uint8_t *out, size_t cap, size_t *len)
{
	struct cry_cbor_wr wr;
	size_t i;

	if (!out_ok(out, cap, len) || n > PROTO_SURVEY_KEYS_MAX ||
	    (keys == NULL && n > 0))
		return MRX_EINVAL;
	for (i = 0; i < n; i++)
		if (!blinded_ok(&keys[i], true))
			return MRX_EINVAL;
	cry_cbor_wr_init(&wr, out, cap);
	cry_cbor_put_array(&wr, n);
	for (i = 0; i < n; i++) {
		cry_cbor_put_array(&wr, 3);
		cry_cbor_put_tstr(&wr, keys[i].node);
		cry_cbor_put_tstr(&wr, keys[i].agreement);
		cry_cbor_put_bstr(&wr, keys[i].key, PROTO_BLIND_LEN);
	}
	return put_end(&wr, len);
}

int
proto_refusal_encode(const char *code, const char *message, uint8_t *out,
    size_t cap, size_t *len)
{
	struct cry_cbor_wr wr;

	if (!out_ok(out, cap, len) || !text_arg_ok(TK_CODE, code) ||
	    !text_arg_ok(TK_MESSAGE, message))
		return MRX_EINVAL;
	cry_cbor_wr_init(&wr, out, cap);
	cry_cbor_put_array(&wr, 2);
	cry_cbor_put_tstr(&wr, code);
	cry_cbor_put_tstr(&wr, message);
	return put_end(&wr, len);
}
