/*
 * record.c - mrx's signed records: the deterministic encoder of their
 * payloads, the strict decoder of untrusted record bytes, and the envelope
 * (COSE_Sign1, or COSE_Sign for agreements) around them. docs/protocol.md
 * and docs/mrx.cddl are the normative description of what is read here.
 *
 * Every claim is a row of claim_defs[], in the bytewise order of its key's
 * encoding (int keys 1..7, then text keys shorter first, then bytewise); the
 * encoder writes claims in table order, which is therefore the deterministic
 * order. Which claims a record type requires or allows is rec_types[].
 *
 * Decoding is three steps, each failing with a diag that names the field
 * and, where it has one, the byte offset:
 *  1. walk: one pass over the whole payload checks the CBOR itself (shortest
 *     heads, map keys integers or text in strictly ascending order of their
 *     encodings, valid UTF-8, no tags, floats or simple values but booleans,
 *     bounded depth, no trailing bytes) and notes where each known claim's
 *     value starts. Unknown claims are checked and passed over here.
 *  2. parse: the type is read first, then required claims and "crit" are
 *     checked, then each claim the type defines is read into the struct
 *     with its CBOR type and bounds checked before anything is copied.
 *  3. validate: rec_validate(), the very function the encoder runs before it
 *     writes, checks syntax, ranges and cross-field rules. So the decoder
 *     accepts what the encoder can produce, and the encoder never produces
 *     what the decoder would reject.
 * Pure: no I/O, clock or randomness; allocation only for agreement rows and
 * status lists, bounded by the limits of record.h.
 */
#include "record.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbor.h"

#define REC_TIME_MAX INT64_C(253402300799)	/* 9999-12-31T23:59:59Z */
#define REC_SEQ_MAX ((uint64_t)INT64_MAX)	/* fits a signed 64-bit column */
#define REC_AGE_MAX ((int64_t)UINT32_MAX)	/* max_status_age, seconds */
#define REC_CRIT_MAX PROTO_LIST_MAX		/* entries of "crit" */
#define REC_PARTIES 2				/* parties of an agreement */
#define REC_CHANGE_ITEMS 3			/* [idx, status, reason] */
#define REC_SUBJECT_HEX (2 * PROTO_SUBJECT_LEN)
#define REC_FIELD_MAX 64			/* sizeof(mrx_diag.field) */
#define REC_SHOW_MAX 48				/* bytes of a value quoted in a diag */
/* Room kept under the record limit for the envelope: every signature. */
#define REC_ENV_ROOM (CRY_COSE_OVERHEAD * CRY_COSE_SIGNERS_MAX)
#define REC_PAYLOAD_MAX (PROTO_RECORD_MAX - REC_ENV_ROOM)
#define REC_SL_PAYLOAD_MAX (PROTO_STATUS_LIST_MAX - CRY_COSE_OVERHEAD)
#define REC_ABSENT SIZE_MAX			/* offset of an absent value */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define BIT(id) (UINT32_C(1) << (id))

/* Claims, in the deterministic order of their keys. */
enum claim {
	CL_ISS, CL_SUB, CL_EXP, CL_NBF, CL_IAT, CL_CTI,
	CL_KEY, CL_KID, CL_SEQ,
	CL_CRIT, CL_FROM, CL_HEAD, CL_PREV, CL_ROWS, CL_TYPE,
	CL_LEVEL,
	CL_LEVELS, CL_REASON, CL_SCOPES, CL_STATUS,
	CL_CHANGES, CL_PARTIES, CL_REASONS,
	CL_OPERATOR,
	CL_CONDITIONS,
	CL_STATUS_LIST,
	CL_COUNT
};
_Static_assert(CL_COUNT <= 32, "claim sets are 32-bit masks");

static const struct claim_def {
	unsigned label;		/* CWT int key; 0 for a text key */
	const char *name;	/* text key, or the CWT claim's name */
	const char *field;	/* as named in diags */
} claim_defs[CL_COUNT] = {
	[CL_ISS] = { 1, "iss", "payload.iss" },
	[CL_SUB] = { 2, "sub", "payload.sub" },
	[CL_EXP] = { 4, "exp", "payload.exp" },
	[CL_NBF] = { 5, "nbf", "payload.nbf" },
	[CL_IAT] = { 6, "iat", "payload.iat" },
	[CL_CTI] = { 7, "cti", "payload.cti" },
	[CL_KEY] = { 0, "key", "payload.key" },
	[CL_KID] = { 0, "kid", "payload.kid" },
	[CL_SEQ] = { 0, "seq", "payload.seq" },
	[CL_CRIT] = { 0, "crit", "payload.crit" },
	[CL_FROM] = { 0, "from", "payload.from" },
	[CL_HEAD] = { 0, "head", "payload.head" },
	[CL_PREV] = { 0, "prev", "payload.prev" },
	[CL_ROWS] = { 0, "rows", "payload.rows" },
	[CL_TYPE] = { 0, "type", "payload.type" },
	[CL_LEVEL] = { 0, "level", "payload.level" },
	[CL_LEVELS] = { 0, "levels", "payload.levels" },
	[CL_REASON] = { 0, "reason", "payload.reason" },
	[CL_SCOPES] = { 0, "scopes", "payload.scopes" },
	[CL_STATUS] = { 0, "status", "payload.status" },
	[CL_CHANGES] = { 0, "changes", "payload.changes" },
	[CL_PARTIES] = { 0, "parties", "payload.parties" },
	[CL_REASONS] = { 0, "reasons", "payload.reasons" },
	[CL_OPERATOR] = { 0, "operator", "payload.operator" },
	[CL_CONDITIONS] = { 0, "conditions", "payload.conditions" },
	[CL_STATUS_LIST] = { 0, "status_list", "payload.status_list" },
};

#define CL_COMMON (BIT(CL_ISS) | BIT(CL_SUB) | BIT(CL_IAT) | BIT(CL_CTI) | \
	BIT(CL_TYPE))
#define CL_WINDOW (BIT(CL_NBF) | BIT(CL_EXP))

/* What each record type requires and allows ("crit" is allowed in all). */
static const struct rec_type_def {
	const char *name;	/* the "type" claim */
	uint32_t required;	/* claims that must be present */
	uint32_t optional;	/* claims that may be present */
	bool multi;		/* a COSE_Sign, else a COSE_Sign1 */
} rec_types[] = {
	[PROTO_REC_NONE] = { NULL, 0, 0, false },
	[PROTO_REC_DELEGATION] = { "delegation", CL_COMMON | CL_WINDOW |
	    BIT(CL_KEY) | BIT(CL_LEVELS) | BIT(CL_SCOPES), 0, false },
	[PROTO_REC_CLEARANCE] = { "clearance", CL_COMMON | CL_WINDOW |
	    BIT(CL_LEVEL) | BIT(CL_SCOPES) | BIT(CL_OPERATOR) |
	    BIT(CL_STATUS), 0, false },
	[PROTO_REC_OPERATOR] = { "operator-cert", CL_COMMON | CL_WINDOW |
	    BIT(CL_LEVELS) | BIT(CL_SCOPES) | BIT(CL_STATUS), 0, false },
	[PROTO_REC_STATUS_LIST] = { "status-list", CL_COMMON | BIT(CL_SEQ) |
	    BIT(CL_STATUS_LIST) | BIT(CL_REASONS), BIT(CL_EXP) |
	    BIT(CL_HEAD), false },
	[PROTO_REC_STATUS_DELTA] = { "status-delta", CL_COMMON | BIT(CL_SEQ) |
	    BIT(CL_PREV) | BIT(CL_CHANGES), 0, false },
	[PROTO_REC_CHECKPOINT] = { "checkpoint", CL_COMMON | BIT(CL_SEQ) |
	    BIT(CL_HEAD), 0, false },
	[PROTO_REC_AGREEMENT] = { "agreement", CL_COMMON | CL_WINDOW |
	    BIT(CL_PARTIES) | BIT(CL_ROWS) | BIT(CL_CONDITIONS), 0, true },
	[PROTO_REC_KEY_REVOCATION] = { "key-revocation", CL_COMMON |
	    BIT(CL_KID) | BIT(CL_FROM) | BIT(CL_REASON), 0, false },
};

static const char *const status_names[] = {
	[PROTO_STATUS_VALID] = "valid",
	[PROTO_STATUS_REVOKED] = "revoked",
	[PROTO_STATUS_SUSPENDED] = "suspended",
};

static const char *const reason_names[PROTO_REASON_COUNT] = {
	[PROTO_REASON_NONE] = "",
	[PROTO_REASON_ADMIN_SEPARATION] = "ADMIN_SEPARATION",
	[PROTO_REASON_ACCESS_DEBRIEFED] = "ACCESS_DEBRIEFED",
	[PROTO_REASON_EXPIRED] = "EXPIRED",
	[PROTO_REASON_SUPERSEDED] = "SUPERSEDED",
	[PROTO_REASON_REASSESSMENT_PENDING] = "REASSESSMENT_PENDING",
	[PROTO_REASON_SUSPENDED_PENDING_REVIEW] = "SUSPENDED_PENDING_REVIEW",
	[PROTO_REASON_REINSTATED] = "REINSTATED",
	[PROTO_REASON_ELIGIBILITY_REVOKED] = "ELIGIBILITY_REVOKED",
	[PROTO_REASON_ELIGIBILITY_DENIED] = "ELIGIBILITY_DENIED",
	[PROTO_REASON_CONSENT_WITHDRAWN] = "CONSENT_WITHDRAWN",
	[PROTO_REASON_ADMIN_WITHDRAWN] = "ADMIN_WITHDRAWN",
	[PROTO_REASON_OPERATOR_CERT_REVOKED] = "OPERATOR_CERT_REVOKED",
	[PROTO_REASON_ISSUER_KEY_COMPROMISED] = "ISSUER_KEY_COMPROMISED",
	[PROTO_REASON_AGREEMENT_TERMINATED] = "AGREEMENT_TERMINATED",
};

/* Names and syntax. */

const char *
proto_rec_type_name(enum proto_rec_type t)
{
	if ((unsigned)t >= NELEM(rec_types))
		return NULL;
	return rec_types[t].name;
}

static bool
type_lookup(const void *s, size_t n, enum proto_rec_type *out)
{
	size_t i;

	for (i = 1; i < NELEM(rec_types); i++) {
		if (strlen(rec_types[i].name) == n &&
		    memcmp(rec_types[i].name, s, n) == 0) {
			*out = (enum proto_rec_type)i;
			return true;
		}
	}
	return false;
}

int
proto_rec_type_parse(const char *s, enum proto_rec_type *out)
{
	if (s == NULL || out == NULL)
		return MRX_EINVAL;
	return type_lookup(s, strlen(s), out) ? 0 : MRX_EINVAL;
}

const char *
proto_status_name(enum proto_status s)
{
	if ((unsigned)s >= NELEM(status_names))
		return NULL;
	return status_names[s];
}

int
proto_status_parse(const char *s, enum proto_status *out)
{
	size_t i;

	if (s == NULL || out == NULL)
		return MRX_EINVAL;
	for (i = 0; i < NELEM(status_names); i++) {
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum proto_status)i;
			return 0;
		}
	}
	return MRX_EINVAL;
}

const char *
proto_reason_name(enum proto_reason r)
{
	if ((unsigned)r >= PROTO_REASON_COUNT)
		return NULL;
	return reason_names[r];
}

int
proto_reason_parse(const char *s, enum proto_reason *out)
{
	size_t i;

	if (s == NULL || out == NULL)
		return MRX_EINVAL;
	for (i = 0; i < PROTO_REASON_COUNT; i++) {
		if (strcmp(s, reason_names[i]) == 0) {
			*out = (enum proto_reason)i;
			return 0;
		}
	}
	return MRX_EINVAL;
}

static bool
is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_upper_alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* [a-z0-9][a-z0-9.-]*, 1..PROTO_ID_MAX bytes. */
static bool
id_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > PROTO_ID_MAX || !is_lower_alnum(s[0]))
		return false;
	for (i = 1; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

bool
proto_id_valid(const char *s)
{
	return s != NULL && id_ok(s, strnlen(s, PROTO_ID_MAX + 1));
}

/* SCHEME:LEVEL, each [A-Z0-9-]+, 1..PROTO_LEVEL_MAX bytes in all. */
static bool
level_ok(const char *s, size_t n)
{
	size_t i, colon = 0, ncolon = 0;

	if (n == 0 || n > PROTO_LEVEL_MAX)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == ':') {
			colon = i;
			ncolon++;
		} else if (!is_upper_alnum(s[i]) && s[i] != '-') {
			return false;
		}
	}
	return ncolon == 1 && colon > 0 && colon < n - 1;
}

/* [a-z0-9][a-z0-9._:/-]*, 1..PROTO_SCOPE_MAX bytes. */
static bool
scope_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > PROTO_SCOPE_MAX || !is_lower_alnum(s[0]))
		return false;
	for (i = 1; i < n; i++)
		if (!is_lower_alnum(s[i]) && strchr("._:/-", s[i]) == NULL)
			return false;
	return true;
}

/* scheme ":" rest: scheme [a-z][a-z0-9+.-]*, rest 1+ of ASCII 0x21..0x7e. */
static bool
uri_ok(const char *s, size_t n)
{
	size_t i = 1;

	if (n < 3 || n > PROTO_URI_MAX || s[0] < 'a' || s[0] > 'z')
		return false;
	while (i < n && (is_lower_alnum(s[i]) || s[i] == '+' || s[i] == '.' ||
	    s[i] == '-'))
		i++;
	if (i >= n - 1 || s[i] != ':')
		return false;
	for (i++; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

/* Exactly REC_SUBJECT_HEX lowercase hex digits. */
static bool
subject_ok(const char *s, size_t n)
{
	size_t i;

	if (n != REC_SUBJECT_HEX)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return false;
	return true;
}

/* A DER SEQUENCE, short-form length, exactly n bytes (any SPKI we sign). */
static bool
spki_shape_ok(const uint8_t *p, size_t n)
{
	return n >= 2 && p[0] == 0x30 && p[1] < 0x80 && (size_t)p[1] + 2 == n;
}

/* Quotes untrusted text for a diag: printable ASCII only, bounded. */
static const char *
show(char *out, size_t cap, const void *s, size_t n)
{
	const unsigned char *p = s;
	size_t i, m = n < cap - 1 ? n : cap - 1;

	for (i = 0; i < m; i++)
		out[i] = (char)(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?');
	out[m] = '\0';
	return out;
}

/* Record parts by type. */

static struct proto_claims *
rec_claims(struct proto_record *rec)
{
	switch (rec->type) {
	case PROTO_REC_DELEGATION:
		return &rec->u.del.c;
	case PROTO_REC_CLEARANCE:
		return &rec->u.clr.c;
	case PROTO_REC_OPERATOR:
		return &rec->u.op.c;
	case PROTO_REC_STATUS_LIST:
		return &rec->u.sl.c;
	case PROTO_REC_STATUS_DELTA:
		return &rec->u.sd.c;
	case PROTO_REC_CHECKPOINT:
		return &rec->u.cp.c;
	case PROTO_REC_AGREEMENT:
		return &rec->u.agr.c;
	case PROTO_REC_KEY_REVOCATION:
		return &rec->u.kr.c;
	default:
		return NULL;
	}
}

static const struct proto_claims *
rec_claims_c(const struct proto_record *rec)
{
	return rec_claims((struct proto_record *)rec);
}

static struct proto_strs *
rec_levels(struct proto_record *rec)
{
	return rec->type == PROTO_REC_DELEGATION ? &rec->u.del.levels :
	    &rec->u.op.levels;
}

static struct proto_strs *
rec_scopes(struct proto_record *rec)
{
	if (rec->type == PROTO_REC_DELEGATION)
		return &rec->u.del.scopes;
	return rec->type == PROTO_REC_CLEARANCE ? &rec->u.clr.scopes :
	    &rec->u.op.scopes;
}

static struct proto_status_ref *
rec_sref(struct proto_record *rec)
{
	return rec->type == PROTO_REC_CLEARANCE ? &rec->u.clr.status :
	    &rec->u.op.status;
}

static uint64_t *
rec_seq(struct proto_record *rec)
{
	if (rec->type == PROTO_REC_STATUS_LIST)
		return &rec->u.sl.seq;
	return rec->type == PROTO_REC_STATUS_DELTA ? &rec->u.sd.seq :
	    &rec->u.cp.seq;
}

static uint8_t *
rec_head(struct proto_record *rec)
{
	return rec->type == PROTO_REC_STATUS_LIST ? rec->u.sl.head :
	    rec->u.cp.head;
}

static size_t
record_limit(enum proto_rec_type t)
{
	return t == PROTO_REC_STATUS_LIST ? PROTO_STATUS_LIST_MAX :
	    PROTO_RECORD_MAX;
}

static size_t
payload_limit(enum proto_rec_type t)
{
	return t == PROTO_REC_STATUS_LIST ? REC_SL_PAYLOAD_MAX :
	    REC_PAYLOAD_MAX;
}

/*
 * Validation of a record struct: shared by the encoder (before it writes)
 * and the decoder (after it parsed). Diags name the field, no offset.
 */

/* Common checks of a bounded C string: terminated, not empty, not long. */
static int
v_text(const char *s, size_t cap, size_t max, const char *field,
    struct mrx_diag *diag, size_t *n)
{
	*n = strnlen(s, cap);
	if (*n == cap)
		return mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET,
		    field, "not terminated within %zu bytes", cap);
	if (*n > max)
		return mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET,
		    field, "%zu bytes, at most %zu", *n, max);
	if (*n == 0)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    field, "empty");
	return 0;
}

enum syntax { SYN_ID, SYN_LEVEL, SYN_SCOPE, SYN_URI, SYN_SUBJECT };

static const struct syntax_def {
	size_t max;
	bool (*ok)(const char *, size_t);
	const char *what;
} syntaxes[] = {
	[SYN_ID] = { PROTO_ID_MAX, id_ok, "an id ([a-z0-9][a-z0-9.-]*)" },
	[SYN_LEVEL] = { PROTO_LEVEL_MAX, level_ok,
	    "a level (SCHEME:LEVEL of [A-Z0-9-])" },
	[SYN_SCOPE] = { PROTO_SCOPE_MAX, scope_ok,
	    "a scope ([a-z0-9][a-z0-9._:/-]*)" },
	[SYN_URI] = { PROTO_URI_MAX, uri_ok,
	    "a URI (scheme:rest, printable ASCII)" },
	[SYN_SUBJECT] = { REC_SUBJECT_HEX, subject_ok,
	    "a subject id (32 lowercase hex digits)" },
};

static int
v_str(enum syntax syn, const char *s, size_t cap, const char *field,
    struct mrx_diag *diag)
{
	const struct syntax_def *sd = &syntaxes[syn];
	char buf[REC_SHOW_MAX];
	size_t n;
	int rc;

	rc = v_text(s, cap, sd->max, field, diag, &n);
	if (rc != 0)
		return rc;
	if (!sd->ok(s, n))
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    field, "\"%s\" is not %s", show(buf, sizeof(buf), s, n),
		    sd->what);
	return 0;
}

static int
v_strs(enum syntax syn, const struct proto_strs *l, size_t min,
    const char *field, struct mrx_diag *diag)
{
	char f[REC_FIELD_MAX];
	size_t i, j;
	int rc;

	if (l->n > PROTO_LIST_MAX)
		return mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET,
		    field, "%zu entries, at most %d", l->n, PROTO_LIST_MAX);
	if (l->n < min)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    field, "needs at least %zu entry", min);
	for (i = 0; i < l->n; i++) {
		snprintf(f, sizeof(f), "%s[%zu]", field, i);
		rc = v_str(syn, l->v[i], sizeof(l->v[i]), f, diag);
		if (rc != 0)
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp(l->v[i], l->v[j]) == 0)
				return mrx_diag_set(diag, MRX_EDUP,
				    MRX_DIAG_NO_OFFSET, f, "\"%s\" is listed "
				    "twice", l->v[i]);
	}
	return 0;
}

static int
v_time(int64_t t, const char *field, struct mrx_diag *diag)
{
	if (t < 0 || t > REC_TIME_MAX)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    field, "time %" PRId64 " is outside 0..%" PRId64, t,
		    REC_TIME_MAX);
	return 0;
}

static int
v_seq(uint64_t seq, uint64_t min, struct mrx_diag *diag)
{
	if (seq < min || seq > REC_SEQ_MAX)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.seq", "sequence %" PRIu64 " is outside %" PRIu64
		    "..%" PRIu64, seq, min, REC_SEQ_MAX);
	return 0;
}

static int
v_sref(const struct proto_status_ref *r, struct mrx_diag *diag)
{
	if (r->idx >= PROTO_STATUS_ENTRIES_MAX)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.status.status_list.idx", "index %u is not below "
		    "%u", (unsigned)r->idx, PROTO_STATUS_ENTRIES_MAX);
	return v_str(SYN_URI, r->uri, sizeof(r->uri),
	    "payload.status.status_list.uri", diag);
}

static int
v_reason(unsigned r, const char *field, struct mrx_diag *diag)
{
	if (r >= PROTO_REASON_COUNT)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    field, "reason %u is not below %d", r, PROTO_REASON_COUNT);
	return 0;
}

/* One of exp/nbf: present where required, absent where undefined. */
static int
v_window_claim(const struct rec_type_def *t, enum claim id, bool has,
    int64_t v, struct mrx_diag *diag)
{
	const char *f = claim_defs[id].field;

	if (!has && (t->required & BIT(id)))
		return mrx_diag_set(diag, MRX_EMISSING, MRX_DIAG_NO_OFFSET, f,
		    "a %s record needs %s", t->name, claim_defs[id].name);
	if (has && !((t->required | t->optional) & BIT(id)))
		return mrx_diag_set(diag, MRX_ECRIT, MRX_DIAG_NO_OFFSET, f,
		    "%s is not defined for a %s record", claim_defs[id].name,
		    t->name);
	return has ? v_time(v, f, diag) : 0;
}

static int
v_common(const struct proto_record *rec, const struct rec_type_def *t,
    struct mrx_diag *diag)
{
	const struct proto_claims *c = rec_claims_c(rec);
	enum syntax sub = SYN_ID;
	int rc;

	if (rec->type == PROTO_REC_CLEARANCE)
		sub = SYN_SUBJECT;
	else if (rec->type == PROTO_REC_STATUS_LIST ||
	    rec->type == PROTO_REC_STATUS_DELTA ||
	    rec->type == PROTO_REC_CHECKPOINT)
		sub = SYN_URI;
	if ((rc = v_str(SYN_ID, c->iss, sizeof(c->iss), "payload.iss",
	    diag)) != 0 ||
	    (rc = v_str(sub, c->sub, sizeof(c->sub), "payload.sub",
	    diag)) != 0 ||
	    (rc = v_time(c->iat, "payload.iat", diag)) != 0 ||
	    (rc = v_window_claim(t, CL_EXP, c->has_exp, c->exp, diag)) != 0 ||
	    (rc = v_window_claim(t, CL_NBF, c->has_nbf, c->nbf, diag)) != 0)
		return rc;
	if (c->has_exp && c->has_nbf && c->exp <= c->nbf)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.exp", "exp %" PRId64 " is not after nbf %" PRId64,
		    c->exp, c->nbf);
	return 0;
}

static int
v_delegation(const struct proto_delegation *d, struct mrx_diag *diag)
{
	int rc;

	if (d->key_len > CRY_SPKI_MAX)
		return mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET,
		    "payload.key", "%zu bytes, at most %d", d->key_len,
		    CRY_SPKI_MAX);
	if (!spki_shape_ok(d->key, d->key_len))
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.key", "not a DER SubjectPublicKeyInfo");
	rc = v_strs(SYN_LEVEL, &d->levels, 1, "payload.levels", diag);
	if (rc != 0)
		return rc;
	return v_strs(SYN_SCOPE, &d->scopes, 0, "payload.scopes", diag);
}

static int
v_clearance(const struct proto_clearance *c, struct mrx_diag *diag)
{
	int rc;

	if ((rc = v_str(SYN_LEVEL, c->level, sizeof(c->level),
	    "payload.level", diag)) != 0 ||
	    (rc = v_strs(SYN_SCOPE, &c->scopes, 0, "payload.scopes",
	    diag)) != 0 ||
	    (rc = v_str(SYN_ID, c->operator_id, sizeof(c->operator_id),
	    "payload.operator", diag)) != 0)
		return rc;
	return v_sref(&c->status, diag);
}

static int
v_operator(const struct proto_operator_cert *o, struct mrx_diag *diag)
{
	int rc;

	if ((rc = v_strs(SYN_LEVEL, &o->levels, 1, "payload.levels",
	    diag)) != 0 ||
	    (rc = v_strs(SYN_SCOPE, &o->scopes, 0, "payload.scopes",
	    diag)) != 0)
		return rc;
	return v_sref(&o->status, diag);
}

static size_t count_not_valid(const struct proto_status_list *sl);

/*
 * seq 0 is a list before its first change: it names no head (there is no
 * delta 0) and every entry is valid.
 */
static int
v_status_list(const struct proto_status_list *sl, struct mrx_diag *diag)
{
	int rc = v_seq(sl->seq, 0, diag);

	if (rc == 0)
		rc = proto_status_list_check(sl, diag);
	if (rc != 0 || sl->seq != 0)
		return rc;
	if (sl->has_head)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "payload.head", "a list at seq 0 has no head (no delta "
		    "precedes it)");
	if (count_not_valid(sl) != 0)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "payload.status_list", "a list at seq 0 has only valid "
		    "entries (no change precedes it)");
	return 0;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static int
v_change(const struct proto_status_delta *sd, size_t i,
    struct mrx_diag *diag)
{
	const struct proto_status_change *ch = &sd->changes[i];
	char f[REC_FIELD_MAX];
	size_t j;

	snprintf(f, sizeof(f), "payload.changes[%zu]", i);
	if (ch->idx >= PROTO_STATUS_ENTRIES_MAX)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET, f,
		    "index %u is not below %u", (unsigned)ch->idx,
		    PROTO_STATUS_ENTRIES_MAX);
	if (ch->status > PROTO_STATUS_SUSPENDED)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET, f,
		    "status %u is not 0, 1 or 2", (unsigned)ch->status);
	if (ch->reason >= PROTO_REASON_COUNT)
		return v_reason(ch->reason, f, diag);
	for (j = 0; j < i; j++)
		if (sd->changes[j].idx == ch->idx)
			return mrx_diag_set(diag, MRX_EDUP, MRX_DIAG_NO_OFFSET,
			    f, "index %u changes twice", (unsigned)ch->idx);
	return 0;
}

static int
v_status_delta(const struct proto_status_delta *sd, struct mrx_diag *diag)
{
	size_t i;
	int rc;

	rc = v_seq(sd->seq, 1, diag);
	if (rc != 0)
		return rc;
	if (sd->seq == 1 && !all_zero(sd->prev, sizeof(sd->prev)))
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.prev", "the first delta's prev is all zeros");
	if (sd->nchanges > PROTO_CHANGES_MAX)
		return mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET,
		    "payload.changes", "%zu changes, at most %d", sd->nchanges,
		    PROTO_CHANGES_MAX);
	if (sd->nchanges == 0)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.changes", "a delta has at least one change");
	for (i = 0; i < sd->nchanges; i++)
		if ((rc = v_change(sd, i, diag)) != 0)
			return rc;
	return 0;
}

static int
v_parties(const struct proto_agreement *a, struct mrx_diag *diag)
{
	char f[REC_FIELD_MAX];
	size_t i;
	int rc;

	for (i = 0; i < REC_PARTIES; i++) {
		snprintf(f, sizeof(f), "payload.parties[%zu]", i);
		rc = v_str(SYN_ID, a->parties[i], sizeof(a->parties[i]), f,
		    diag);
		if (rc != 0)
			return rc;
	}
	if (strcmp(a->parties[0], a->parties[1]) == 0)
		return mrx_diag_set(diag, MRX_EDUP, MRX_DIAG_NO_OFFSET,
		    "payload.parties[1]", "an agreement is between two "
		    "different parties");
	if (strcmp(a->c.iss, a->parties[0]) != 0 &&
	    strcmp(a->c.iss, a->parties[1]) != 0)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.parties", "the issuer %s is not a party",
		    a->c.iss);
	return 0;
}

/* Length of the SCHEME part of a valid level. */
static size_t
scheme_len(const char *level)
{
	return strcspn(level, ":");
}

static int
v_row(const struct proto_agreement *a, size_t i, struct mrx_diag *diag)
{
	const struct proto_agreement_row *r = &a->rows[i];
	char f[REC_FIELD_MAX];
	size_t j, n;
	int rc;

	snprintf(f, sizeof(f), "payload.rows[%zu].from", i);
	if ((rc = v_str(SYN_LEVEL, r->from, sizeof(r->from), f, diag)) != 0)
		return rc;
	snprintf(f, sizeof(f), "payload.rows[%zu].to", i);
	if ((rc = v_str(SYN_LEVEL, r->to, sizeof(r->to), f, diag)) != 0)
		return rc;
	n = scheme_len(r->from);
	if (n == scheme_len(r->to) && memcmp(r->from, r->to, n) == 0)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET, f,
		    "a row maps a foreign scheme to a local one, not %.*s to "
		    "itself", (int)n, r->from);
	snprintf(f, sizeof(f), "payload.rows[%zu].scopes", i);
	if ((rc = v_strs(SYN_SCOPE, &r->scopes, 0, f, diag)) != 0)
		return rc;
	for (j = 0; j < i; j++)
		if (strcmp(a->rows[j].from, r->from) == 0 &&
		    strcmp(a->rows[j].to, r->to) == 0)
			return mrx_diag_set(diag, MRX_EDUP, MRX_DIAG_NO_OFFSET,
			    "payload.rows", "rows %zu and %zu both map %s to "
			    "%s", j, i, r->from, r->to);
	return 0;
}

static int
v_agreement(const struct proto_agreement *a, struct mrx_diag *diag)
{
	size_t i;
	int rc;

	if ((rc = v_parties(a, diag)) != 0)
		return rc;
	if (a->nrows > PROTO_ROWS_MAX)
		return mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET,
		    "payload.rows", "%zu rows, at most %d", a->nrows,
		    PROTO_ROWS_MAX);
	if (a->nrows == 0 || a->rows == NULL)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.rows", "an agreement has at least one row");
	for (i = 0; i < a->nrows; i++)
		if ((rc = v_row(a, i, diag)) != 0)
			return rc;
	if (a->max_status_age_s < 0 || a->max_status_age_s > REC_AGE_MAX)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.conditions.max_status_age", "%" PRId64 " seconds "
		    "is outside 0..%" PRId64, a->max_status_age_s, REC_AGE_MAX);
	return 0;
}

static int
v_key_revocation(const struct proto_key_revocation *k,
    struct mrx_diag *diag)
{
	int rc = v_time(k->from, "payload.from", diag);

	return rc != 0 ? rc : v_reason(k->reason, "payload.reason", diag);
}

static int
rec_validate(const struct proto_record *rec, struct mrx_diag *diag)
{
	const struct rec_type_def *t;
	int rc;

	if (proto_rec_type_name(rec->type) == NULL)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.type", "unknown record type %d", (int)rec->type);
	t = &rec_types[rec->type];
	rc = v_common(rec, t, diag);
	if (rc != 0)
		return rc;
	switch (rec->type) {
	case PROTO_REC_DELEGATION:
		return v_delegation(&rec->u.del, diag);
	case PROTO_REC_CLEARANCE:
		return v_clearance(&rec->u.clr, diag);
	case PROTO_REC_OPERATOR:
		return v_operator(&rec->u.op, diag);
	case PROTO_REC_STATUS_LIST:
		return v_status_list(&rec->u.sl, diag);
	case PROTO_REC_STATUS_DELTA:
		return v_status_delta(&rec->u.sd, diag);
	case PROTO_REC_CHECKPOINT:
		return v_seq(rec->u.cp.seq, 0, diag);
	case PROTO_REC_AGREEMENT:
		return v_agreement(&rec->u.agr, diag);
	case PROTO_REC_KEY_REVOCATION:
		return v_key_revocation(&rec->u.kr, diag);
	default:
		return MRX_EINVAL;
	}
}

/* Encoder. */

/* Whether optional claim `id` is set in rec (required ones always are). */
static bool
claim_set(const struct proto_record *rec, enum claim id)
{
	const struct rec_type_def *t = &rec_types[rec->type];

	if (t->required & BIT(id))
		return true;
	if (!(t->optional & BIT(id)))
		return false;
	if (id == CL_EXP)
		return rec_claims_c(rec)->has_exp;
	if (id == CL_NBF)
		return rec_claims_c(rec)->has_nbf;
	return id == CL_HEAD && rec->u.sl.has_head;
}

static void
put_strs(struct cry_cbor_wr *wr, const struct proto_strs *l)
{
	size_t i;

	cry_cbor_put_array(wr, l->n);
	for (i = 0; i < l->n; i++)
		cry_cbor_put_tstr(wr, l->v[i]);
}

static void
put_sref(struct cry_cbor_wr *wr, const struct proto_status_ref *r)
{
	cry_cbor_put_map(wr, 1);
	cry_cbor_put_tstr(wr, "status_list");
	cry_cbor_put_map(wr, 2);
	cry_cbor_put_tstr(wr, "idx");
	cry_cbor_put_uint(wr, r->idx);
	cry_cbor_put_tstr(wr, "uri");
	cry_cbor_put_tstr(wr, r->uri);
}

static void
put_rows(struct cry_cbor_wr *wr, const struct proto_agreement *a)
{
	size_t i;

	cry_cbor_put_array(wr, a->nrows);
	for (i = 0; i < a->nrows; i++) {
		cry_cbor_put_map(wr, 3);
		cry_cbor_put_tstr(wr, "to");
		cry_cbor_put_tstr(wr, a->rows[i].to);
		cry_cbor_put_tstr(wr, "from");
		cry_cbor_put_tstr(wr, a->rows[i].from);
		cry_cbor_put_tstr(wr, "scopes");
		put_strs(wr, &a->rows[i].scopes);
	}
}

static void
put_changes(struct cry_cbor_wr *wr, const struct proto_status_delta *sd)
{
	size_t i;

	cry_cbor_put_array(wr, sd->nchanges);
	for (i = 0; i < sd->nchanges; i++) {
		cry_cbor_put_array(wr, REC_CHANGE_ITEMS);
		cry_cbor_put_uint(wr, sd->changes[i].idx);
		cry_cbor_put_uint(wr, sd->changes[i].status);
		cry_cbor_put_uint(wr, sd->changes[i].reason);
	}
}

static void
put_reasons(struct cry_cbor_wr *wr, const struct proto_status_list *sl)
{
	size_t i;

	cry_cbor_put_map(wr, sl->nreasons);
	for (i = 0; i < sl->nreasons; i++) {
		cry_cbor_put_uint(wr, sl->reasons[i].idx);
		cry_cbor_put_uint(wr, sl->reasons[i].reason);
	}
}

static void
put_parties(struct cry_cbor_wr *wr, const struct proto_agreement *a)
{
	cry_cbor_put_array(wr, REC_PARTIES);
	cry_cbor_put_tstr(wr, a->parties[0]);
	cry_cbor_put_tstr(wr, a->parties[1]);
}

static void
put_conditions(struct cry_cbor_wr *wr, const struct proto_agreement *a)
{
	cry_cbor_put_map(wr, 2);
	cry_cbor_put_tstr(wr, "operator_cert");
	cry_cbor_put_bool(wr, a->operator_cert_required);
	cry_cbor_put_tstr(wr, "max_status_age");
	cry_cbor_put_uint(wr, (uint64_t)a->max_status_age_s);
}

static void
put_status_list(struct cry_cbor_wr *wr, const uint8_t *lst, size_t lst_len)
{
	cry_cbor_put_map(wr, 2);
	cry_cbor_put_tstr(wr, "lst");
	cry_cbor_put_bstr(wr, lst, lst_len);
	cry_cbor_put_tstr(wr, "bits");
	cry_cbor_put_uint(wr, 2);
}

/* Writes the value of claim id; lst is the packed list of a status list. */
static void
put_value(struct cry_cbor_wr *wr, const struct proto_record *rec,
    enum claim id, const uint8_t *lst, size_t lst_len)
{
	struct proto_record *r = (struct proto_record *)rec;
	const struct proto_claims *c = rec_claims_c(rec);

	switch (id) {
	case CL_ISS:
		cry_cbor_put_tstr(wr, c->iss);
		break;
	case CL_SUB:
		cry_cbor_put_tstr(wr, c->sub);
		break;
	case CL_EXP:
		cry_cbor_put_int(wr, c->exp);
		break;
	case CL_NBF:
		cry_cbor_put_int(wr, c->nbf);
		break;
	case CL_IAT:
		cry_cbor_put_int(wr, c->iat);
		break;
	case CL_CTI:
		cry_cbor_put_bstr(wr, c->cti, PROTO_CTI_LEN);
		break;
	case CL_KEY:
		cry_cbor_put_bstr(wr, rec->u.del.key, rec->u.del.key_len);
		break;
	case CL_KID:
		cry_cbor_put_bstr(wr, rec->u.kr.kid, CRY_KID_LEN);
		break;
	case CL_SEQ:
		cry_cbor_put_uint(wr, *rec_seq(r));
		break;
	case CL_FROM:
		cry_cbor_put_int(wr, rec->u.kr.from);
		break;
	case CL_HEAD:
		cry_cbor_put_bstr(wr, rec_head(r), PROTO_HASH_LEN);
		break;
	case CL_PREV:
		cry_cbor_put_bstr(wr, rec->u.sd.prev, PROTO_HASH_LEN);
		break;
	case CL_ROWS:
		put_rows(wr, &rec->u.agr);
		break;
	case CL_TYPE:
		cry_cbor_put_tstr(wr, rec_types[rec->type].name);
		break;
	case CL_LEVEL:
		cry_cbor_put_tstr(wr, rec->u.clr.level);
		break;
	case CL_LEVELS:
		put_strs(wr, rec_levels(r));
		break;
	case CL_REASON:
		cry_cbor_put_uint(wr, rec->u.kr.reason);
		break;
	case CL_SCOPES:
		put_strs(wr, rec_scopes(r));
		break;
	case CL_STATUS:
		put_sref(wr, rec_sref(r));
		break;
	case CL_CHANGES:
		put_changes(wr, &rec->u.sd);
		break;
	case CL_PARTIES:
		put_parties(wr, &rec->u.agr);
		break;
	case CL_REASONS:
		put_reasons(wr, &rec->u.sl);
		break;
	case CL_OPERATOR:
		cry_cbor_put_tstr(wr, rec->u.clr.operator_id);
		break;
	case CL_CONDITIONS:
		put_conditions(wr, &rec->u.agr);
		break;
	case CL_STATUS_LIST:
		put_status_list(wr, lst, lst_len);
		break;
	case CL_CRIT:
	case CL_COUNT:
		assert(!"claim is never written");
		break;
	}
}

static void
put_claims(struct cry_cbor_wr *wr, const struct proto_record *rec,
    const uint8_t *lst, size_t lst_len)
{
	size_t n = 0;
	int id;

	for (id = 0; id < CL_COUNT; id++)
		n += claim_set(rec, (enum claim)id);
	cry_cbor_put_map(wr, n);
	for (id = 0; id < CL_COUNT; id++) {
		if (!claim_set(rec, (enum claim)id))
			continue;
		if (claim_defs[id].label != 0)
			cry_cbor_put_uint(wr, claim_defs[id].label);
		else
			cry_cbor_put_tstr(wr, claim_defs[id].name);
		put_value(wr, rec, (enum claim)id, lst, lst_len);
	}
}

int
proto_payload_encode(const struct proto_record *rec, uint8_t *buf,
    size_t cap, size_t *len, struct mrx_diag *diag)
{
	struct cry_cbor_wr wr;
	uint8_t *lst = NULL;
	size_t lst_len = 0, max;
	int rc;

	assert(rec != NULL && len != NULL);
	*len = 0;
	rc = rec_validate(rec, diag);
	if (rc != 0)
		return rc;
	if (rec->type == PROTO_REC_STATUS_LIST) {
		rc = proto_status_list_pack(&rec->u.sl, &lst, &lst_len);
		if (rc != 0)
			return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET,
			    "payload.status_list.lst", "cannot compress the "
			    "list: %s", mrx_strerror(rc));
	}
	cry_cbor_wr_init(&wr, buf, cap);
	put_claims(&wr, rec, lst, lst_len);
	free(lst);
	max = payload_limit(rec->type);
	if (wr.len > max)
		return mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET,
		    "payload", "%zu bytes, a %s payload is at most %zu", wr.len,
		    rec_types[rec->type].name, max);
	rc = cry_cbor_wr_finish(&wr, len);
	if (rc != 0)
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, "payload",
		    "the payload needs %zu bytes, the buffer has %zu", wr.len,
		    cap);
	return 0;
}

int
proto_record_sign(const struct proto_record *rec,
    const struct cry_key *key, uint8_t *out, size_t cap, size_t *out_len,
    struct mrx_diag *diag)
{
	uint8_t *payload;
	size_t plen, max;
	int rc;

	assert(rec != NULL && key != NULL && out_len != NULL);
	*out_len = 0;
	max = payload_limit(rec->type);
	payload = malloc(max);
	if (payload == NULL)
		return mrx_diag_set(diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET,
		    "payload", "no memory for a %zu-byte payload", max);
	rc = proto_payload_encode(rec, payload, max, &plen, diag);
	if (rc != 0) {
		free(payload);
		return rc;
	}
	if (rec->type == PROTO_REC_AGREEMENT)
		rc = cry_sign_sign(key, NULL, 0, payload, plen, out, cap,
		    out_len);
	else
		rc = cry_sign1_sign(key, NULL, 0, NULL, 0, payload, plen, out,
		    cap, out_len);
	free(payload);
	if (rc != 0)
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, "record",
		    "cannot sign the %zu-byte payload into %zu bytes: %s",
		    plen, cap, mrx_strerror(rc));
	if (*out_len > record_limit(rec->type))
		return mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET,
		    "record", "%zu bytes, a record is at most %zu", *out_len,
		    record_limit(rec->type));
	return rc;
}

/*
 * Decoder, step 1: the walk. `depth` is the nesting level of the item about
 * to be read; the payload map is level 1.
 */

enum env { ENV_NONE, ENV_SIGN1, ENV_SIGN };

struct dec {
	const uint8_t *buf;	/* the payload, not owned */
	size_t len;
	struct mrx_diag *diag;
	size_t at[CL_COUNT];	/* offset of each present claim's value */
	uint32_t present;	/* claims found, BIT(enum claim) */
	size_t rec_len;		/* bytes of the whole record, 0 if none */
	enum env env;		/* the envelope it came in */
};

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

static void
rd_at(const struct dec *d, struct cry_cbor_rd *rd, size_t off)
{
	cry_cbor_rd_init(rd, d->buf, d->len);
	rd->off = off;
}

/*
 * A well-formed simple value other than false/true/null/undefined (the
 * reader refuses those as unassigned): simple(0..19) in one byte, or
 * simple(32..255) in two.
 */
static bool
is_simple(const struct cry_cbor_rd *rd, size_t off)
{
	uint8_t b = off < rd->len ? rd->buf[off] : 0;

	if (b >= 0xe0 && b <= 0xf3)
		return true;
	return b == 0xf8 && off + 1 < rd->len && rd->buf[off + 1] >= 0x20;
}

/* Reads one head, insisting on its shortest form; names `field`. */
static int
rd_next(struct dec *d, struct cry_cbor_rd *rd, struct cry_cbor_item *it,
    const char *field)
{
	struct mrx_diag ld;
	size_t off = rd->off;
	int rc;

	/* fast path without a diag: this runs for every item of every record */
	rc = cry_cbor_next(rd, it, NULL);
	if (rc != 0) {
		/* the reader left rd unchanged: read again for the detail */
		mrx_diag_clear(&ld);
		rc = cry_cbor_next(rd, it, &ld);
	}
	if (rc == MRX_EMALFORMED && is_simple(rd, off))
		return mrx_diag_set(d->diag, MRX_ETYPE, off, field,
		    "a simple value is not allowed in a record payload");
	if (rc != 0)
		return mrx_diag_set(d->diag, rc, ld.offset != MRX_DIAG_NO_OFFSET ?
		    ld.offset : off, field, "%s",
		    ld.msg[0] != '\0' ? ld.msg : mrx_strerror(rc));
	if (!it->shortest)
		return mrx_diag_set(d->diag, MRX_ENONCANON, it->off, field,
		    "the head of this %s is not in its shortest form",
		    tname(it->type));
	return 0;
}

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
		cp = p[i] & (0x7fu >> len);
		min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
		if (len > n - i)
			return false;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static int
check_text(struct dec *d, const struct cry_cbor_item *it, const char *field)
{
	if (!utf8_ok(it->ptr, it->val))
		return mrx_diag_set(d->diag, MRX_EMALFORMED, it->off, field,
		    "text string is not valid UTF-8");
	return 0;
}

/* A map key: an integer or a text string. */
static int
read_key(struct dec *d, struct cry_cbor_rd *rd, struct cry_cbor_item *key,
    const char *field)
{
	int rc = rd_next(d, rd, key, field);

	if (rc != 0)
		return rc;
	if (key->type == CRY_CBOR_TSTR)
		return check_text(d, key, field);
	if (key->type != CRY_CBOR_UINT && key->type != CRY_CBOR_NEGINT)
		return mrx_diag_set(d->diag, MRX_ETYPE, key->off, field,
		    "a map key is an integer or a text string, not a %s",
		    tname(key->type));
	return 0;
}

/* Keys must ascend strictly in the bytewise order of their encodings. */
static int
key_order(struct dec *d, const struct cry_cbor_item *key, size_t *prev_off,
    size_t *prev_len, const char *field)
{
	const uint8_t *a = d->buf + *prev_off, *b = d->buf + key->off;
	size_t n = *prev_len < key->len ? *prev_len : key->len;
	int c;

	if (*prev_len != 0) {
		c = memcmp(a, b, n);
		if (c == 0 && *prev_len == key->len)
			return mrx_diag_set(d->diag, MRX_EDUP, key->off, field,
			    "duplicate map key");
		if (c > 0 || (c == 0 && *prev_len > key->len))
			return mrx_diag_set(d->diag, MRX_ENONCANON, key->off,
			    field, "map keys are not in deterministic order");
	}
	*prev_off = key->off;
	*prev_len = key->len;
	return 0;
}

static int walk_item(struct dec *d, struct cry_cbor_rd *rd, unsigned depth,
    const char *field);

static int
walk_map(struct dec *d, struct cry_cbor_rd *rd, uint64_t n, unsigned depth,
    const char *field)
{
	struct cry_cbor_item key;
	size_t prev_off = 0, prev_len = 0;
	uint64_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if ((rc = read_key(d, rd, &key, field)) != 0 ||
		    (rc = key_order(d, &key, &prev_off, &prev_len,
		    field)) != 0 ||
		    (rc = walk_item(d, rd, depth, field)) != 0)
			return rc;
	}
	return 0;
}

static int
walk_item(struct dec *d, struct cry_cbor_rd *rd, unsigned depth,
    const char *field)
{
	struct cry_cbor_item it;
	uint64_t i;
	int rc;

	if ((rc = rd_next(d, rd, &it, field)) != 0)
		return rc;
	switch (it.type) {
	case CRY_CBOR_UINT:
	case CRY_CBOR_NEGINT:
	case CRY_CBOR_BSTR:
	case CRY_CBOR_FALSE:
	case CRY_CBOR_TRUE:
		return 0;
	case CRY_CBOR_TSTR:
		return check_text(d, &it, field);
	case CRY_CBOR_ARRAY:
	case CRY_CBOR_MAP:
		break;
	default:
		return mrx_diag_set(d->diag, MRX_ETYPE, it.off, field,
		    "a %s is not allowed in a record payload", tname(it.type));
	}
	if (depth >= CRY_CBOR_DEPTH_MAX)
		return mrx_diag_set(d->diag, MRX_EDEPTH, it.off, field,
		    "nested deeper than %d levels", CRY_CBOR_DEPTH_MAX);
	if (it.type == CRY_CBOR_MAP)
		return walk_map(d, rd, it.val, depth + 1, field);
	for (i = 0; i < it.val; i++)
		if ((rc = walk_item(d, rd, depth + 1, field)) != 0)
			return rc;
	return 0;
}

/* The known claim a key names, or -1. */
static int
claim_find(const struct cry_cbor_item *key)
{
	int id;

	for (id = 0; id < CL_COUNT; id++) {
		if (key->type == CRY_CBOR_UINT && claim_defs[id].label != 0 &&
		    key->val == claim_defs[id].label)
			return id;
		if (key->type == CRY_CBOR_TSTR && claim_defs[id].label == 0 &&
		    strlen(claim_defs[id].name) == key->val &&
		    memcmp(claim_defs[id].name, key->ptr, key->val) == 0)
			return id;
	}
	return -1;
}

/* "payload.<key>" for a key that is not a known claim. */
static const char *
key_field(const struct cry_cbor_item *key, char *out, size_t cap)
{
	char buf[REC_SHOW_MAX];

	if (key->type == CRY_CBOR_TSTR)
		snprintf(out, cap, "payload.%s",
		    show(buf, sizeof(buf), key->ptr, key->val));
	else if (key->type == CRY_CBOR_UINT)
		snprintf(out, cap, "payload.%" PRIu64, key->val);
	else if (key->val < UINT64_MAX)
		snprintf(out, cap, "payload.-%" PRIu64, key->val + 1);
	else
		snprintf(out, cap, "payload.-18446744073709551616");
	return out;
}

static int
walk_payload(struct dec *d)
{
	struct cry_cbor_rd rd;
	struct cry_cbor_item it, key;
	char name[REC_FIELD_MAX];
	const char *field;
	size_t prev_off = 0, prev_len = 0;
	uint64_t i;
	int id, rc;

	cry_cbor_rd_init(&rd, d->buf, d->len);
	if ((rc = rd_next(d, &rd, &it, "payload")) != 0)
		return rc;
	if (it.type != CRY_CBOR_MAP)
		return mrx_diag_set(d->diag, MRX_ETYPE, it.off, "payload",
		    "a payload is a map, not a %s", tname(it.type));
	for (i = 0; i < it.val; i++) {
		if ((rc = read_key(d, &rd, &key, "payload")) != 0)
			return rc;
		id = claim_find(&key);
		field = id >= 0 ? claim_defs[id].field :
		    key_field(&key, name, sizeof(name));
		if (id >= 0 && (d->present & BIT(id)))
			return mrx_diag_set(d->diag, MRX_EDUP, key.off, field,
			    "claim %s appears twice", claim_defs[id].name);
		if ((rc = key_order(d, &key, &prev_off, &prev_len,
		    field)) != 0)
			return rc;
		if (id >= 0) {
			d->present |= BIT(id);
			d->at[id] = rd.off;
		}
		if ((rc = walk_item(d, &rd, 2, field)) != 0)
			return rc;
	}
	if (!cry_cbor_rd_done(&rd))
		return mrx_diag_set(d->diag, MRX_ETRAILING, rd.off, "payload",
		    "%zu bytes follow the payload map", d->len - rd.off);
	return 0;
}

/* Decoder, step 2: typed reads of what the walk has already checked. */

static int
get_item(struct dec *d, struct cry_cbor_rd *rd, enum cry_cbor_type want,
    struct cry_cbor_item *it, const char *field)
{
	int rc = rd_next(d, rd, it, field);

	if (rc != 0)
		return rc;
	if (it->type != want)
		return mrx_diag_set(d->diag, MRX_ETYPE, it->off, field,
		    "expected a %s, found a %s", tname(want), tname(it->type));
	return 0;
}

static int
get_uint(struct dec *d, struct cry_cbor_rd *rd, const char *field,
    uint64_t max, uint64_t *v)
{
	struct cry_cbor_item it;
	int rc = get_item(d, rd, CRY_CBOR_UINT, &it, field);

	if (rc != 0)
		return rc;
	if (it.val > max)
		return mrx_diag_set(d->diag, MRX_ERANGE, it.off, field,
		    "%" PRIu64 " is over the maximum %" PRIu64, it.val, max);
	*v = it.val;
	return 0;
}

static int
get_time(struct dec *d, struct cry_cbor_rd *rd, const char *field,
    int64_t *t)
{
	struct cry_cbor_item it;
	int rc = rd_next(d, rd, &it, field);

	if (rc != 0)
		return rc;
	if (it.type == CRY_CBOR_NEGINT)
		return mrx_diag_set(d->diag, MRX_ERANGE, it.off, field,
		    "a time before 1970");
	if (it.type != CRY_CBOR_UINT)
		return mrx_diag_set(d->diag, MRX_ETYPE, it.off, field,
		    "expected an integer NumericDate, found a %s",
		    tname(it.type));
	if (it.val > (uint64_t)REC_TIME_MAX)
		return mrx_diag_set(d->diag, MRX_ERANGE, it.off, field,
		    "time %" PRIu64 " is after 9999", it.val);
	*t = (int64_t)it.val;
	return 0;
}

/* A text string into out (cap bytes with its NUL). */
static int
get_text(struct dec *d, struct cry_cbor_rd *rd, const char *field, char *out,
    size_t cap)
{
	struct cry_cbor_item it;
	int rc = get_item(d, rd, CRY_CBOR_TSTR, &it, field);

	if (rc != 0)
		return rc;
	if (it.val >= cap)
		return mrx_diag_set(d->diag, MRX_ETOOBIG, it.off, field,
		    "%" PRIu64 " bytes, at most %zu", it.val, cap - 1);
	if (it.val > 0 && memchr(it.ptr, 0, it.val) != NULL)
		return mrx_diag_set(d->diag, MRX_ERANGE, it.off, field,
		    "text contains a NUL character");
	if (it.val > 0)
		memcpy(out, it.ptr, it.val);
	out[it.val] = '\0';
	return 0;
}

/* A byte string of exactly n bytes. */
static int
get_bytes(struct dec *d, struct cry_cbor_rd *rd, const char *field,
    uint8_t *out, size_t n)
{
	struct cry_cbor_item it;
	int rc = get_item(d, rd, CRY_CBOR_BSTR, &it, field);

	if (rc != 0)
		return rc;
	if (it.val != n)
		return mrx_diag_set(d->diag, MRX_ERANGE, it.off, field,
		    "%" PRIu64 " bytes, expected exactly %zu", it.val, n);
	memcpy(out, it.ptr, n);
	return 0;
}

/* An array (or map) head of at most max entries. */
static int
get_count(struct dec *d, struct cry_cbor_rd *rd, enum cry_cbor_type want,
    const char *field, size_t max, size_t *n)
{
	struct cry_cbor_item it;
	int rc = get_item(d, rd, want, &it, field);

	if (rc != 0)
		return rc;
	if (it.val > max)
		return mrx_diag_set(d->diag, MRX_ETOOBIG, it.off, field,
		    "%" PRIu64 " entries, at most %zu", it.val, max);
	*n = (size_t)it.val;
	return 0;
}

static int
get_strs(struct dec *d, struct cry_cbor_rd *rd, const char *field,
    struct proto_strs *out, size_t maxlen)
{
	char f[REC_FIELD_MAX];
	size_t i, n = 0;
	int rc;

	if ((rc = get_count(d, rd, CRY_CBOR_ARRAY, field, PROTO_LIST_MAX,
	    &n)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "%s[%zu]", field, i);
		if ((rc = get_text(d, rd, f, out->v[i], maxlen + 1)) != 0)
			return rc;
	}
	out->n = n;
	return 0;
}

/*
 * Reads a map and notes in at[k] where the value of text key names[k]
 * starts (REC_ABSENT if it does not occur); other keys are passed over.
 * Each of names[] is required: the first absent one is MRX_EMISSING.
 */
static int
get_fields(struct dec *d, struct cry_cbor_rd *rd, const char *field,
    const char *const *names, size_t nnames, size_t *at)
{
	struct cry_cbor_item it, key, val;
	char f[REC_FIELD_MAX];
	uint64_t i;
	size_t k;
	int rc;

	if ((rc = get_item(d, rd, CRY_CBOR_MAP, &it, field)) != 0)
		return rc;
	for (k = 0; k < nnames; k++)
		at[k] = REC_ABSENT;
	for (i = 0; i < it.val; i++) {
		if ((rc = rd_next(d, rd, &key, field)) != 0)
			return rc;
		for (k = 0; k < nnames; k++)
			if (key.type == CRY_CBOR_TSTR &&
			    strlen(names[k]) == key.val &&
			    memcmp(names[k], key.ptr, key.val) == 0)
				at[k] = rd->off;
		if ((rc = rd_next(d, rd, &val, field)) != 0 ||
		    (rc = cry_cbor_skip(rd, &val, d->diag)) != 0)
			return rc;
	}
	for (k = 0; k < nnames; k++) {
		if (at[k] != REC_ABSENT)
			continue;
		snprintf(f, sizeof(f), "%.40s.%.20s", field, names[k]);
		return mrx_diag_set(d->diag, MRX_EMISSING, it.off, f,
		    "%s is required", names[k]);
	}
	return 0;
}

static int
parse_sref(struct dec *d, struct cry_cbor_rd *rd, struct proto_status_ref *r)
{
	static const char *const outer[] = { "status_list" };
	static const char *const inner[] = { "idx", "uri" };
	struct cry_cbor_rd sub;
	size_t at1[1], at2[2];
	uint64_t idx;
	int rc;

	if ((rc = get_fields(d, rd, "payload.status", outer, 1, at1)) != 0)
		return rc;
	rd_at(d, &sub, at1[0]);
	if ((rc = get_fields(d, &sub, "payload.status.status_list", inner, 2,
	    at2)) != 0)
		return rc;
	rd_at(d, &sub, at2[0]);
	if ((rc = get_uint(d, &sub, "payload.status.status_list.idx",
	    PROTO_STATUS_ENTRIES_MAX - 1, &idx)) != 0)
		return rc;
	r->idx = (uint32_t)idx;
	rd_at(d, &sub, at2[1]);
	return get_text(d, &sub, "payload.status.status_list.uri", r->uri,
	    sizeof(r->uri));
}

static int
parse_row(struct dec *d, struct cry_cbor_rd *rd, size_t i,
    struct proto_agreement_row *row)
{
	static const char *const names[] = { "to", "from", "scopes" };
	struct cry_cbor_rd sub;
	char f[REC_FIELD_MAX], g[REC_FIELD_MAX];
	size_t at[3];
	int rc;

	snprintf(f, sizeof(f), "payload.rows[%zu]", i);
	if ((rc = get_fields(d, rd, f, names, 3, at)) != 0)
		return rc;
	snprintf(g, sizeof(g), "payload.rows[%zu].to", i);
	rd_at(d, &sub, at[0]);
	if ((rc = get_text(d, &sub, g, row->to, sizeof(row->to))) != 0)
		return rc;
	snprintf(g, sizeof(g), "payload.rows[%zu].from", i);
	rd_at(d, &sub, at[1]);
	if ((rc = get_text(d, &sub, g, row->from, sizeof(row->from))) != 0)
		return rc;
	snprintf(g, sizeof(g), "payload.rows[%zu].scopes", i);
	rd_at(d, &sub, at[2]);
	return get_strs(d, &sub, g, &row->scopes, PROTO_SCOPE_MAX);
}

static int
parse_rows(struct dec *d, struct cry_cbor_rd *rd, struct proto_agreement *a)
{
	size_t i, n = 0;
	int rc;

	if ((rc = get_count(d, rd, CRY_CBOR_ARRAY, "payload.rows",
	    PROTO_ROWS_MAX, &n)) != 0)
		return rc;
	if (n == 0)
		return 0;	/* rec_validate() names the empty list */
	a->rows = calloc(n, sizeof(*a->rows));
	if (a->rows == NULL)
		return mrx_diag_set(d->diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET,
		    "payload.rows", "no memory for %zu rows", n);
	a->nrows = n;
	for (i = 0; i < n; i++)
		if ((rc = parse_row(d, rd, i, &a->rows[i])) != 0)
			return rc;
	return 0;
}

static int
parse_changes(struct dec *d, struct cry_cbor_rd *rd,
    struct proto_status_delta *sd)
{
	struct cry_cbor_item it;
	char f[REC_FIELD_MAX];
	uint64_t idx, st, why;
	size_t i, n;
	int rc;

	if ((rc = get_count(d, rd, CRY_CBOR_ARRAY, "payload.changes",
	    PROTO_CHANGES_MAX, &n)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "payload.changes[%zu]", i);
		if ((rc = get_item(d, rd, CRY_CBOR_ARRAY, &it, f)) != 0)
			return rc;
		if (it.val != REC_CHANGE_ITEMS)
			return mrx_diag_set(d->diag, MRX_ETYPE, it.off, f,
			    "a change is [idx, status, reason], not %" PRIu64
			    " items", it.val);
		if ((rc = get_uint(d, rd, f, PROTO_STATUS_ENTRIES_MAX - 1,
		    &idx)) != 0 ||
		    (rc = get_uint(d, rd, f, PROTO_STATUS_SUSPENDED, &st)) != 0 ||
		    (rc = get_uint(d, rd, f, PROTO_REASON_COUNT - 1,
		    &why)) != 0)
			return rc;
		sd->changes[i].idx = (uint32_t)idx;
		sd->changes[i].status = (uint8_t)st;
		sd->changes[i].reason = (uint8_t)why;
	}
	sd->nchanges = n;
	return 0;
}

static int
parse_parties(struct dec *d, struct cry_cbor_rd *rd,
    struct proto_agreement *a)
{
	struct cry_cbor_item it;
	char f[REC_FIELD_MAX];
	size_t i;
	int rc;

	if ((rc = get_item(d, rd, CRY_CBOR_ARRAY, &it,
	    "payload.parties")) != 0)
		return rc;
	if (it.val != REC_PARTIES)
		return mrx_diag_set(d->diag, MRX_ERANGE, it.off,
		    "payload.parties", "an agreement has exactly %d parties, "
		    "not %" PRIu64, REC_PARTIES, it.val);
	for (i = 0; i < REC_PARTIES; i++) {
		snprintf(f, sizeof(f), "payload.parties[%zu]", i);
		if ((rc = get_text(d, rd, f, a->parties[i],
		    sizeof(a->parties[i]))) != 0)
			return rc;
	}
	return 0;
}

static int
parse_conditions(struct dec *d, struct cry_cbor_rd *rd,
    struct proto_agreement *a)
{
	static const char *const names[] = { "operator_cert",
	    "max_status_age" };
	struct cry_cbor_rd sub;
	struct cry_cbor_item it;
	size_t at[2];
	uint64_t age;
	int rc;

	if ((rc = get_fields(d, rd, "payload.conditions", names, 2, at)) != 0)
		return rc;
	rd_at(d, &sub, at[0]);
	if ((rc = rd_next(d, &sub, &it,
	    "payload.conditions.operator_cert")) != 0)
		return rc;
	if (it.type != CRY_CBOR_TRUE && it.type != CRY_CBOR_FALSE)
		return mrx_diag_set(d->diag, MRX_ETYPE, it.off,
		    "payload.conditions.operator_cert", "expected true or "
		    "false, found a %s", tname(it.type));
	a->operator_cert_required = it.type == CRY_CBOR_TRUE;
	rd_at(d, &sub, at[1]);
	if ((rc = get_uint(d, &sub, "payload.conditions.max_status_age",
	    (uint64_t)REC_AGE_MAX, &age)) != 0)
		return rc;
	a->max_status_age_s = (int64_t)age;
	return 0;
}

static int
parse_status_list(struct dec *d, struct cry_cbor_rd *rd,
    struct proto_status_list *sl)
{
	static const char *const names[] = { "lst", "bits" };
	struct cry_cbor_rd sub;
	struct cry_cbor_item it;
	struct mrx_diag ld;
	size_t at[2], data;
	uint64_t bits;
	int rc;

	if ((rc = get_fields(d, rd, "payload.status_list", names, 2, at)) != 0)
		return rc;
	rd_at(d, &sub, at[1]);
	if ((rc = get_uint(d, &sub, "payload.status_list.bits", UINT64_MAX,
	    &bits)) != 0)
		return rc;
	if (bits != 2)
		return mrx_diag_set(d->diag, MRX_ERANGE, at[1],
		    "payload.status_list.bits", "mrx lists have 2 bits per "
		    "entry, not %" PRIu64, bits);
	rd_at(d, &sub, at[0]);
	if ((rc = get_item(d, &sub, CRY_CBOR_BSTR, &it,
	    "payload.status_list.lst")) != 0)
		return rc;
	data = it.off + it.len - (size_t)it.val;
	mrx_diag_clear(&ld);
	rc = proto_status_list_unpack(sl, it.ptr, (size_t)it.val, &ld);
	if (rc != 0)
		return mrx_diag_set(d->diag, rc, ld.offset !=
		    MRX_DIAG_NO_OFFSET ? data + ld.offset : data,
		    "payload.status_list.lst", "%s", ld.msg[0] != '\0' ?
		    ld.msg : mrx_strerror(rc));
	return 0;
}

/* Entries of the list that are not valid. */
static size_t
count_not_valid(const struct proto_status_list *sl)
{
	size_t i, n = 0;
	unsigned k;

	for (i = 0; i < sl->size / 4; i++)
		if (sl->bits[i] != 0)
			for (k = 0; k < 4; k++)
				n += ((sl->bits[i] >> (2 * k)) & 3u) != 0;
	return n;
}

/* After "status_list": one reason per entry that is not valid. */
static int
parse_reasons(struct dec *d, struct cry_cbor_rd *rd,
    struct proto_status_list *sl)
{
	struct cry_cbor_item it;
	uint64_t idx, why;
	size_t i, want;
	int rc;

	if ((rc = get_item(d, rd, CRY_CBOR_MAP, &it, "payload.reasons")) != 0)
		return rc;
	want = count_not_valid(sl);
	if (it.val != want)
		return mrx_diag_set(d->diag, MRX_ERANGE, it.off,
		    "payload.reasons", "%" PRIu64 " reasons for %zu entries "
		    "that are not valid", it.val, want);
	if (want == 0)
		return 0;
	sl->reasons = malloc(want * sizeof(*sl->reasons));
	if (sl->reasons == NULL)
		return mrx_diag_set(d->diag, MRX_ENOMEM, it.off,
		    "payload.reasons", "no memory for %zu reasons", want);
	sl->reasons_cap = want;
	for (i = 0; i < want; i++) {
		if ((rc = get_uint(d, rd, "payload.reasons", sl->size - 1,
		    &idx)) != 0 ||
		    (rc = get_uint(d, rd, "payload.reasons",
		    PROTO_REASON_COUNT - 1, &why)) != 0)
			return rc;
		sl->reasons[i].idx = (uint32_t)idx;
		sl->reasons[i].reason = (uint8_t)why;
		sl->nreasons++;
	}
	return 0;
}

static int
parse_head(struct dec *d, struct cry_cbor_rd *rd, struct proto_record *rec)
{
	if (rec->type == PROTO_REC_STATUS_LIST)
		rec->u.sl.has_head = true;
	return get_bytes(d, rd, "payload.head", rec_head(rec), PROTO_HASH_LEN);
}

static int
parse_seq(struct dec *d, struct cry_cbor_rd *rd, struct proto_record *rec)
{
	return get_uint(d, rd, "payload.seq", REC_SEQ_MAX, rec_seq(rec));
}

static int
parse_uint8(struct dec *d, struct cry_cbor_rd *rd, const char *field,
    uint64_t max, uint8_t *out)
{
	uint64_t v;
	int rc = get_uint(d, rd, field, max, &v);

	if (rc == 0)
		*out = (uint8_t)v;
	return rc;
}

static int
parse_bstr_max(struct dec *d, struct cry_cbor_rd *rd, const char *field,
    uint8_t *out, size_t cap, size_t *n)
{
	struct cry_cbor_item it;
	int rc = get_item(d, rd, CRY_CBOR_BSTR, &it, field);

	if (rc != 0)
		return rc;
	if (it.val > cap)
		return mrx_diag_set(d->diag, MRX_ETOOBIG, it.off, field,
		    "%" PRIu64 " bytes, at most %zu", it.val, cap);
	if (it.val > 0)
		memcpy(out, it.ptr, (size_t)it.val);
	*n = (size_t)it.val;
	return 0;
}

/* Reads claim id (present and defined for rec->type) into rec. */
static int
parse_claim(struct dec *d, struct proto_record *rec, enum claim id)
{
	struct proto_claims *c = rec_claims(rec);
	const char *f = claim_defs[id].field;
	struct cry_cbor_rd rd;

	rd_at(d, &rd, d->at[id]);
	switch (id) {
	case CL_ISS:
		return get_text(d, &rd, f, c->iss, sizeof(c->iss));
	case CL_SUB:
		return get_text(d, &rd, f, c->sub, sizeof(c->sub));
	case CL_EXP:
		c->has_exp = true;
		return get_time(d, &rd, f, &c->exp);
	case CL_NBF:
		c->has_nbf = true;
		return get_time(d, &rd, f, &c->nbf);
	case CL_IAT:
		return get_time(d, &rd, f, &c->iat);
	case CL_CTI:
		return get_bytes(d, &rd, f, c->cti, PROTO_CTI_LEN);
	case CL_KEY:
		return parse_bstr_max(d, &rd, f, rec->u.del.key,
		    sizeof(rec->u.del.key), &rec->u.del.key_len);
	case CL_KID:
		return get_bytes(d, &rd, f, rec->u.kr.kid, CRY_KID_LEN);
	case CL_SEQ:
		return parse_seq(d, &rd, rec);
	case CL_FROM:
		return get_time(d, &rd, f, &rec->u.kr.from);
	case CL_HEAD:
		return parse_head(d, &rd, rec);
	case CL_PREV:
		return get_bytes(d, &rd, f, rec->u.sd.prev, PROTO_HASH_LEN);
	case CL_ROWS:
		return parse_rows(d, &rd, &rec->u.agr);
	case CL_LEVEL:
		return get_text(d, &rd, f, rec->u.clr.level,
		    sizeof(rec->u.clr.level));
	case CL_LEVELS:
		return get_strs(d, &rd, f, rec_levels(rec), PROTO_LEVEL_MAX);
	case CL_REASON:
		return parse_uint8(d, &rd, f, PROTO_REASON_COUNT - 1,
		    &rec->u.kr.reason);
	case CL_SCOPES:
		return get_strs(d, &rd, f, rec_scopes(rec), PROTO_SCOPE_MAX);
	case CL_STATUS:
		return parse_sref(d, &rd, rec_sref(rec));
	case CL_CHANGES:
		return parse_changes(d, &rd, &rec->u.sd);
	case CL_PARTIES:
		return parse_parties(d, &rd, &rec->u.agr);
	case CL_REASONS:
		return parse_reasons(d, &rd, &rec->u.sl);
	case CL_OPERATOR:
		return get_text(d, &rd, f, rec->u.clr.operator_id,
		    sizeof(rec->u.clr.operator_id));
	case CL_CONDITIONS:
		return parse_conditions(d, &rd, &rec->u.agr);
	case CL_STATUS_LIST:
		return parse_status_list(d, &rd, &rec->u.sl);
	case CL_TYPE:
	case CL_CRIT:
	case CL_COUNT:
		break;
	}
	return 0;
}

static int
parse_type(struct dec *d, struct proto_record *rec)
{
	struct cry_cbor_rd rd;
	struct cry_cbor_item it;
	enum proto_rec_type t;
	char buf[REC_SHOW_MAX];
	int rc;

	if (!(d->present & BIT(CL_TYPE)))
		return mrx_diag_set(d->diag, MRX_EMISSING, 0, "payload.type",
		    "a payload names its record type");
	rd_at(d, &rd, d->at[CL_TYPE]);
	if ((rc = get_item(d, &rd, CRY_CBOR_TSTR, &it, "payload.type")) != 0)
		return rc;
	if (!type_lookup(it.ptr, (size_t)it.val, &t))
		return mrx_diag_set(d->diag, MRX_ERANGE, it.off,
		    "payload.type", "unknown record type \"%s\"",
		    show(buf, sizeof(buf), it.ptr, (size_t)it.val));
	rec->type = t;
	return 0;
}

/* The type fits its envelope and its size limits. */
static int
check_frame(const struct dec *d, const struct proto_record *rec)
{
	const struct rec_type_def *t = &rec_types[rec->type];

	if (d->env != ENV_NONE && t->multi != (d->env == ENV_SIGN))
		return mrx_diag_set(d->diag, MRX_ETYPE, d->at[CL_TYPE],
		    "payload.type", "a %s record is a %s, not a %s", t->name,
		    t->multi ? "COSE_Sign" : "COSE_Sign1",
		    t->multi ? "COSE_Sign1" : "COSE_Sign");
	if (d->rec_len > record_limit(rec->type))
		return mrx_diag_set(d->diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET,
		    "record", "%zu bytes, a %s record is at most %zu",
		    d->rec_len, t->name, record_limit(rec->type));
	if (d->len > payload_limit(rec->type))
		return mrx_diag_set(d->diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET,
		    "payload", "%zu bytes, a %s payload is at most %zu",
		    d->len, t->name, payload_limit(rec->type));
	return 0;
}

/* Every crit entry names a claim of this type that is present. */
static int
check_crit(struct dec *d, const struct rec_type_def *t)
{
	struct cry_cbor_rd rd;
	struct cry_cbor_item it;
	char f[REC_FIELD_MAX];
	uint32_t seen = 0, defined = t->required | t->optional;
	size_t i, n;
	int id, rc;

	rd_at(d, &rd, d->at[CL_CRIT]);
	if ((rc = get_count(d, &rd, CRY_CBOR_ARRAY, "payload.crit",
	    REC_CRIT_MAX, &n)) != 0)
		return rc;
	if (n == 0)
		return mrx_diag_set(d->diag, MRX_ERANGE, d->at[CL_CRIT],
		    "payload.crit", "crit lists at least one claim");
	for (i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "payload.crit[%zu]", i);
		if ((rc = rd_next(d, &rd, &it, f)) != 0)
			return rc;
		if (it.type != CRY_CBOR_UINT && it.type != CRY_CBOR_NEGINT &&
		    it.type != CRY_CBOR_TSTR)
			return mrx_diag_set(d->diag, MRX_ETYPE, it.off, f,
			    "crit lists claim keys, not a %s", tname(it.type));
		id = claim_find(&it);
		if (id < 0 || !(defined & BIT(id)))
			return mrx_diag_set(d->diag, MRX_ECRIT, it.off,
			    key_field(&it, f, sizeof(f)), "a critical claim "
			    "a %s record does not define", t->name);
		if (seen & BIT(id))
			return mrx_diag_set(d->diag, MRX_EDUP, it.off, f,
			    "%s is listed twice", claim_defs[id].name);
		if (!(d->present & BIT(id)))
			return mrx_diag_set(d->diag, MRX_EMISSING, it.off,
			    claim_defs[id].field, "%s is listed in crit but "
			    "absent", claim_defs[id].name);
		seen |= BIT(id);
	}
	return 0;
}

static int
check_claims(struct dec *d, const struct proto_record *rec)
{
	const struct rec_type_def *t = &rec_types[rec->type];
	uint32_t missing = t->required & ~d->present;
	int id;

	for (id = 0; id < CL_COUNT; id++)
		if (missing & BIT(id))
			return mrx_diag_set(d->diag, MRX_EMISSING, 0,
			    claim_defs[id].field, "a %s record needs %s",
			    t->name, claim_defs[id].name);
	/* Ignoring a validity bound would widen what the issuer signed. */
	for (id = CL_EXP; id <= CL_NBF; id++)
		if ((d->present & BIT(id)) &&
		    !((t->required | t->optional) & BIT(id)))
			return mrx_diag_set(d->diag, MRX_ECRIT, d->at[id],
			    claim_defs[id].field, "%s is not defined for a %s "
			    "record", claim_defs[id].name, t->name);
	return (d->present & BIT(CL_CRIT)) ? check_crit(d, t) : 0;
}

static int
parse_claims(struct dec *d, struct proto_record *rec)
{
	const struct rec_type_def *t = &rec_types[rec->type];
	uint32_t todo = d->present & (t->required | t->optional);
	int id, rc;

	/* "reasons" sorts before "status_list" but needs its bits. */
	for (id = 0; id < CL_COUNT; id++) {
		if (id == CL_REASONS || !(todo & BIT(id)))
			continue;
		if ((rc = parse_claim(d, rec, (enum claim)id)) != 0)
			return rc;
	}
	if (todo & BIT(CL_REASONS))
		return parse_claim(d, rec, CL_REASONS);
	return 0;
}

static int
payload_decode(struct dec *d, struct proto_record *rec)
{
	int rc;

	if (d->len > REC_SL_PAYLOAD_MAX)
		return mrx_diag_set(d->diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET,
		    "payload", "%zu bytes, a payload is at most %u", d->len,
		    (unsigned)REC_SL_PAYLOAD_MAX);
	if ((rc = walk_payload(d)) != 0 ||
	    (rc = parse_type(d, rec)) != 0 ||
	    (rc = check_frame(d, rec)) != 0 ||
	    (rc = check_claims(d, rec)) != 0 ||
	    (rc = parse_claims(d, rec)) != 0)
		return rc;
	return rec_validate(rec, d->diag);
}

/* Decodes a payload found at byte `base` of a record of rec_len bytes. */
static int
decode_at(const uint8_t *payload, size_t len, size_t rec_len, enum env env,
    size_t base, struct proto_record *rec, struct mrx_diag *diag)
{
	struct mrx_diag ld;
	struct dec d;
	int rc;

	memset(&d, 0, sizeof(d));
	mrx_diag_clear(&ld);
	d.buf = payload;
	d.len = len;
	d.diag = &ld;
	d.rec_len = rec_len;
	d.env = env;
	rc = payload_decode(&d, rec);
	if (rc == 0)
		return 0;
	return mrx_diag_set(diag, rc, ld.offset != MRX_DIAG_NO_OFFSET ?
	    base + ld.offset : MRX_DIAG_NO_OFFSET, ld.field, "%s",
	    ld.msg[0] != '\0' ? ld.msg : mrx_strerror(rc));
}

int
proto_payload_decode(const uint8_t *payload, size_t len,
    struct proto_record *rec, struct mrx_diag *diag)
{
	assert(rec != NULL);
	memset(rec, 0, sizeof(*rec));
	if (payload == NULL)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "payload", "no payload");
	return decode_at(payload, len, 0, ENV_NONE, 0, rec, diag);
}

/* COSE_Sign (tag 98, or an untagged array whose 4th item is an array)? */
static bool
envelope_is_sign(const uint8_t *msg, size_t len)
{
	struct cry_cbor_rd rd;
	struct cry_cbor_item it;
	size_t s, e;
	int i;

	cry_cbor_rd_init(&rd, msg, len);
	if (cry_cbor_next(&rd, &it, NULL) != 0)
		return false;
	if (it.type == CRY_CBOR_TAG)
		return it.val == CRY_COSE_TAG_SIGN;
	if (it.type != CRY_CBOR_ARRAY || it.val != 4)
		return false;
	for (i = 0; i < 3; i++)
		if (cry_cbor_read_span(&rd, &s, &e, NULL) != 0)
			return false;
	return cry_cbor_next(&rd, &it, NULL) == 0 &&
	    it.type == CRY_CBOR_ARRAY;
}

int
proto_record_decode(const uint8_t *msg, size_t len,
    struct proto_record *rec, struct mrx_diag *diag)
{
	const uint8_t *payload;
	size_t plen;
	bool multi;
	int rc;

	assert(rec != NULL);
	memset(rec, 0, sizeof(*rec));
	if (msg == NULL)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "record", "no record");
	if (len > PROTO_STATUS_LIST_MAX)
		return mrx_diag_set(diag, MRX_ETOOBIG, PROTO_STATUS_LIST_MAX,
		    "record", "%zu bytes, a record is at most %u", len,
		    PROTO_STATUS_LIST_MAX);
	multi = envelope_is_sign(msg, len);
	if (multi) {
		rc = cry_sign_decode(msg, len, &rec->multi, diag);
		payload = rec->multi.payload;
		plen = rec->multi.payload_len;
	} else {
		rc = cry_sign1_decode(msg, len, &rec->env, diag);
		payload = rec->env.payload;
		plen = rec->env.payload_len;
	}
	if (rc != 0)
		return rc;
	if (payload == NULL)
		return mrx_diag_set(diag, MRX_EMISSING, MRX_DIAG_NO_OFFSET,
		    "payload", "a record carries its payload (detached "
		    "payloads are not used)");
	return decode_at(payload, plen, len, multi ? ENV_SIGN : ENV_SIGN1,
	    (size_t)(payload - msg), rec, diag);
}

int
proto_record_hash(const struct proto_record *rec, uint8_t out[PROTO_HASH_LEN])
{
	const uint8_t *p = rec->type == PROTO_REC_AGREEMENT ?
	    rec->multi.payload : rec->env.payload;
	size_t n = rec->type == PROTO_REC_AGREEMENT ?
	    rec->multi.payload_len : rec->env.payload_len;

	/* identity is what was signed, not how the envelope was wrapped */
	if (p == NULL)
		return MRX_EINVAL;
	return cry_sha256(p, n, out);
}

void
proto_record_fini(struct proto_record *rec)
{
	if (rec == NULL)
		return;
	if (rec->type == PROTO_REC_STATUS_LIST)
		proto_status_list_fini(&rec->u.sl);
	else if (rec->type == PROTO_REC_AGREEMENT)
		free(rec->u.agr.rows);
	memset(rec, 0, sizeof(*rec));
}
