/*
 * cli_record.c - what the record commands share: new claims, sign and
 * write, read and decode, and the JSON view of a record for inspect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_util.h"
#include "decide.h"
#include "ptime.h"

int
cli_claims_init(struct proto_claims *c, const char *iss, const char *iat_opt)
{
	int rc;

	snprintf(c->iss, sizeof(c->iss), "%s", iss);
	c->iat = cli_now();
	if (iat_opt != NULL && cli_time_opt("--iat", iat_opt, &c->iat) != 0)
		return CLI_USAGE;
	c->nbf = c->iat;
	rc = cry_random(c->cti, sizeof(c->cti));
	if (rc != 0) {
		cli_err("no randomness for the record id: %s", mrx_strerror(rc));
		return CLI_USAGE;
	}
	return 0;
}

int
cli_sign_write(const struct proto_record *rec, const struct cry_key *key,
    const char *out, bool force)
{
	size_t cap = rec->type == PROTO_REC_STATUS_LIST ?
	    PROTO_STATUS_LIST_MAX : PROTO_RECORD_MAX;
	struct mrx_diag d;
	uint8_t *buf;
	size_t len;
	int rc;

	buf = malloc(cap);
	if (buf == NULL) {
		cli_err("out of memory");
		return CLI_USAGE;
	}
	mrx_diag_clear(&d);
	rc = proto_record_sign(rec, key, buf, cap, &len, &d);
	if (rc != 0) {
		free(buf);
		return cli_err_diag(CLI_USAGE, "cannot make the record", &d);
	}
	rc = cli_write_file(out, buf, len, force);
	free(buf);
	return rc;
}

int
cli_read_record(const char *path, uint8_t **buf, size_t *len,
    struct proto_record *rec)
{
	struct mrx_diag d;
	char what[4200];
	int rc;

	memset(rec, 0, sizeof(*rec));
	rc = cli_read_file(path, PROTO_STATUS_LIST_MAX, buf, len);
	if (rc != 0)
		return rc;
	mrx_diag_clear(&d);
	if (proto_record_decode(*buf, *len, rec, &d) != 0) {
		proto_record_fini(rec);
		free(*buf);
		*buf = NULL;
		snprintf(what, sizeof(what), "%s is not a valid mrx record", path);
		return cli_err_diag(CLI_REJECT, what, &d);
	}
	return 0;
}

static json_t *
jtime(int64_t t)
{
	char b[PROTO_TIME_STR];

	return json_string(proto_time_format(t, b, sizeof(b)));
}

static json_t *
jhex(const uint8_t *p, size_t n)
{
	char b[2 * 64 + 1];

	if (n > 64)
		n = 64;
	return json_string(cli_hex(p, n, b));
}

static json_t *
jstrs(const struct proto_strs *s)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < s->n; i++)
		json_array_append_new(a, json_string(s->v[i]));
	return a;
}

static json_t *
jstatus_ref(const struct proto_status_ref *s)
{
	return json_pack("{s:s, s:I}", "uri", s->uri, "idx", (json_int_t)s->idx);
}

static void
claims_json(json_t *o, const struct proto_claims *c)
{
	json_object_set_new(o, "iss", json_string(c->iss));
	if (c->sub[0] != '\0')
		json_object_set_new(o, "sub", json_string(c->sub));
	json_object_set_new(o, "iat", jtime(c->iat));
	if (c->has_nbf)
		json_object_set_new(o, "nbf", jtime(c->nbf));
	if (c->has_exp)
		json_object_set_new(o, "exp", jtime(c->exp));
	json_object_set_new(o, "cti", jhex(c->cti, sizeof(c->cti)));
}

static void
status_list_json(json_t *o, const struct proto_status_list *sl)
{
	uint32_t i, counts[4] = { 0 };
	enum proto_status st;
	enum proto_reason why;

	for (i = 0; i < sl->size; i++)
		if (proto_status_get(sl, i, &st, &why) == 0)
			counts[st & 3]++;
	json_object_set_new(o, "seq", json_integer((json_int_t)sl->seq));
	json_object_set_new(o, "size", json_integer(sl->size));
	json_object_set_new(o, "counts", json_pack("{s:I, s:I, s:I}", "valid",
	    (json_int_t)counts[0], "revoked", (json_int_t)counts[1],
	    "suspended", (json_int_t)counts[2]));
	if (sl->has_head)
		json_object_set_new(o, "head", jhex(sl->head, sizeof(sl->head)));
}

static json_t *
payload_json(const struct proto_record *rec)
{
	json_t *o = json_object(), *a;
	size_t i;

	claims_json(o, &rec->u.clr.c);
	switch (rec->type) {
	case PROTO_REC_DELEGATION:
		json_object_set_new(o, "levels", jstrs(&rec->u.del.levels));
		json_object_set_new(o, "scopes", jstrs(&rec->u.del.scopes));
		json_object_set_new(o, "key", jhex(rec->u.del.key,
		    rec->u.del.key_len));
		break;
	case PROTO_REC_CLEARANCE:
		json_object_set_new(o, "level", json_string(rec->u.clr.level));
		json_object_set_new(o, "scopes", jstrs(&rec->u.clr.scopes));
		json_object_set_new(o, "operator",
		    json_string(rec->u.clr.operator_id));
		json_object_set_new(o, "status", jstatus_ref(&rec->u.clr.status));
		break;
	case PROTO_REC_OPERATOR:
		json_object_set_new(o, "levels", jstrs(&rec->u.op.levels));
		json_object_set_new(o, "scopes", jstrs(&rec->u.op.scopes));
		json_object_set_new(o, "status", jstatus_ref(&rec->u.op.status));
		break;
	case PROTO_REC_STATUS_LIST:
		status_list_json(o, &rec->u.sl);
		break;
	case PROTO_REC_STATUS_DELTA:
		json_object_set_new(o, "seq", json_integer((json_int_t)rec->u.sd.seq));
		json_object_set_new(o, "prev", jhex(rec->u.sd.prev, PROTO_HASH_LEN));
		a = json_array();
		for (i = 0; i < rec->u.sd.nchanges; i++)
			json_array_append_new(a, json_pack("{s:I, s:s, s:s}",
			    "idx", (json_int_t)rec->u.sd.changes[i].idx,
			    "status", proto_status_name(rec->u.sd.changes[i].status),
			    "reason", proto_reason_name(rec->u.sd.changes[i].reason)));
		json_object_set_new(o, "changes", a);
		break;
	case PROTO_REC_CHECKPOINT:
		json_object_set_new(o, "seq", json_integer((json_int_t)rec->u.cp.seq));
		json_object_set_new(o, "head", jhex(rec->u.cp.head, PROTO_HASH_LEN));
		break;
	case PROTO_REC_AGREEMENT:
		json_object_set_new(o, "parties", json_pack("[s, s]",
		    rec->u.agr.parties[0], rec->u.agr.parties[1]));
		a = json_array();
		for (i = 0; i < rec->u.agr.nrows; i++)
			json_array_append_new(a, json_pack("{s:s, s:s, s:o}",
			    "from", rec->u.agr.rows[i].from, "to",
			    rec->u.agr.rows[i].to, "scopes",
			    jstrs(&rec->u.agr.rows[i].scopes)));
		json_object_set_new(o, "rows", a);
		json_object_set_new(o, "conditions", json_pack("{s:I, s:b}",
		    "max_status_age", (json_int_t)rec->u.agr.max_status_age_s,
		    "operator_cert", rec->u.agr.operator_cert_required));
		break;
	case PROTO_REC_KEY_REVOCATION:
		json_object_set_new(o, "kid", jhex(rec->u.kr.kid, CRY_KID_LEN));
		json_object_set_new(o, "from", jtime(rec->u.kr.from));
		json_object_set_new(o, "reason",
		    json_string(proto_reason_name(rec->u.kr.reason)));
		break;
	default:
		break;
	}
	return o;
}

json_t *
cli_record_json(const struct proto_record *rec)
{
	json_t *o = json_object(), *sigs;
	char b[2 * PROTO_HASH_LEN + 1];
	uint8_t h[PROTO_HASH_LEN];
	size_t i;

	json_object_set_new(o, "type", json_string(proto_rec_type_name(rec->type)));
	if (proto_record_hash(rec, h) == 0)
		json_object_set_new(o, "hash", json_string(cli_hex(h,
		    PROTO_HASH_LEN, b)));
	if (rec->type == PROTO_REC_AGREEMENT) {
		sigs = json_array();
		for (i = 0; i < rec->multi.nsigs; i++)
			json_array_append_new(sigs, json_pack("{s:s?, s:o}", "alg",
			    cry_alg_name(rec->multi.sigs[i].hdr.alg), "kid",
			    jhex(rec->multi.sigs[i].hdr.kid,
			    rec->multi.sigs[i].hdr.kid != NULL ?
			    rec->multi.sigs[i].hdr.kid_len : 0)));
		json_object_set_new(o, "signatures", sigs);
	} else {
		json_object_set_new(o, "alg",
		    cry_alg_name(rec->env.hdr.alg) != NULL ?
		    json_string(cry_alg_name(rec->env.hdr.alg)) :
		    json_integer(rec->env.hdr.alg_raw));
		json_object_set_new(o, "kid", jhex(rec->env.hdr.kid,
		    rec->env.hdr.kid != NULL ? rec->env.hdr.kid_len : 0));
	}
	json_object_set_new(o, "claims", payload_json(rec));
	return o;
}

json_t *
cli_decision_json(const struct proto_decision *dc, const char *access,
    int64_t at, int64_t now)
{
	char b[PROTO_TIME_STR], h[2 * PROTO_HASH_LEN + 1];
	json_t *o, *rs, *ev;
	size_t i;

	rs = json_array();
	for (i = 0; i < dc->nreasons; i++)
		json_array_append_new(rs, json_pack("{s:s, s:s}", "code",
		    dc->reasons[i].code, "message", dc->reasons[i].message));
	ev = json_object();
	if (dc->has_cti) {
		json_object_set_new(ev, "record_id",
		    json_string(cli_hex(dc->cti, PROTO_CTI_LEN, h)));
		json_object_set_new(ev, "issuer", json_string(dc->issuer));
		json_object_set_new(ev, "level", json_string(dc->level));
		json_object_set_new(ev, "operator", json_string(dc->operator_id));
		json_object_set_new(ev, "exp", json_string(proto_time_format(
		    dc->exp, b, sizeof(b))));
		json_object_set_new(ev, "kid",
		    json_string(cli_hex(dc->kid, CRY_KID_LEN, h)));
		if (cry_alg_name(dc->alg) != NULL)
			json_object_set_new(ev, "alg",
			    json_string(cry_alg_name(dc->alg)));
	}
	if (dc->root[0] != '\0')
		json_object_set_new(ev, "root", json_string(dc->root));
	if (dc->has_status) {
		json_object_set_new(ev, "status_seq",
		    json_integer((json_int_t)dc->status_seq));
		json_object_set_new(ev, "status_age_s",
		    json_integer((json_int_t)dc->status_age_s));
	}
	if (dc->agreement[0] != '\0') {
		json_object_set_new(ev, "agreement", json_string(dc->agreement));
		json_object_set_new(ev, "agreement_row",
		    json_integer(dc->agreement_row + 1));
	}
	o = json_pack("{s:s, s:o, s:o, s:s}", "decision",
	    proto_verdict_name(dc->verdict), "reasons", rs, "evidence", ev,
	    "access", access);
	json_object_set_new(o, "at", json_string(proto_time_format(at, b,
	    sizeof(b))));
	json_object_set_new(o, "decided_at", json_string(proto_time_format(
	    now, b, sizeof(b))));
	return o;
}

/*
 * The bytes json_dumps(cli_decision_json(...), JSON_COMPACT |
 * JSON_PRESERVE_ORDER) gives, written straight into a buffer. A string
 * that is not valid UTF-8 (jansson's utf8_check_string) is left out where
 * jansson leaves it out: json_string() of it is NULL, so the member is not
 * set, and a reason whose json_pack fails is not appended.
 */
struct jw {
	char *p;
	size_t cap;
	size_t len;
};

static void
jw_put(struct jw *w, const char *s, size_t n)
{
	if (w->len < w->cap) {
		size_t room = w->cap - w->len;

		memcpy(w->p + w->len, s, n < room ? n : room);
	}
	w->len += n;
}

static void
jw_lit(struct jw *w, const char *s)
{
	jw_put(w, s, strlen(s));
}

/* Length of the UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t i, k;
	uint32_t v;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		k = 2;
		v = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		k = 3;
		v = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		k = 4;
		v = s[0] & 0x07;
	} else {
		return 0;
	}
	if (k > n)
		return 0;
	for (i = 1; i < k; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ||
	    (k == 2 && v < 0x80) || (k == 3 && v < 0x800) ||
	    (k == 4 && v < 0x10000))
		return 0;
	return k;
}

static bool
utf8_ok(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n, i, k;

	if (s == NULL)
		return false;
	n = strlen(s);
	for (i = 0; i < n; i += k)
		if ((k = utf8_seq(u + i, n - i)) == 0)
			return false;
	return true;
}

/* A JSON string as jansson dumps it by default; s is valid UTF-8. */
static void
jw_str(struct jw *w, const char *s)
{
	static const char hx[] = "0123456789ABCDEF";
	const char *run = s, *p;
	char esc[6];
	unsigned char c;

	jw_put(w, "\"", 1);
	for (p = s; *p != '\0'; p++) {
		c = (unsigned char)*p;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jw_put(w, run, (size_t)(p - run));
		run = p + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hx[c >> 4];
			esc[5] = hx[c & 15];
			jw_put(w, esc, 6);
			continue;
		}
		jw_put(w, esc, 2);
	}
	jw_put(w, run, (size_t)(p - run));
	jw_put(w, "\"", 1);
}

/*
 * Writes ,"key":"s" (the comma unless first) when s is valid UTF-8, as
 * json_object_set_new(o, key, json_string(s)) sets it only then.
 */
static void
jw_member_str(struct jw *w, bool *first, const char *key, const char *s)
{
	if (!utf8_ok(s))
		return;
	jw_put(w, *first ? "\"" : ",\"", *first ? 1 : 2);
	jw_lit(w, key);
	jw_put(w, "\":", 2);
	jw_str(w, s);
	*first = false;
}

static void
jw_member_int(struct jw *w, bool *first, const char *key, long long v)
{
	char b[24];
	int n;

	jw_put(w, *first ? "\"" : ",\"", *first ? 1 : 2);
	jw_lit(w, key);
	jw_put(w, "\":", 2);
	n = snprintf(b, sizeof(b), "%lld", v);
	jw_put(w, b, (size_t)n);
	*first = false;
}

size_t
cli_decision_json_write(const struct proto_decision *dc, const char *access,
    int64_t at, int64_t now, char *buf, size_t cap)
{
	char b[PROTO_TIME_STR], h[2 * PROTO_HASH_LEN + 1];
	struct jw w = { buf, cap > 0 ? cap - 1 : 0, 0 };
	bool first;
	size_t i;

	/* json_pack of the whole object fails on these: nothing is dumped. */
	if (!utf8_ok(access)) {
		if (cap > 0)
			buf[0] = '\0';
		return 0;
	}
	jw_lit(&w, "{\"decision\":");
	jw_str(&w, proto_verdict_name(dc->verdict));
	jw_lit(&w, ",\"reasons\":[");
	first = true;
	for (i = 0; i < dc->nreasons; i++) {
		if (!utf8_ok(dc->reasons[i].code) ||
		    !utf8_ok(dc->reasons[i].message))
			continue;
		jw_lit(&w, first ? "{\"code\":" : ",{\"code\":");
		jw_str(&w, dc->reasons[i].code);
		jw_lit(&w, ",\"message\":");
		jw_str(&w, dc->reasons[i].message);
		jw_put(&w, "}", 1);
		first = false;
	}
	jw_lit(&w, "],\"evidence\":{");
	first = true;
	if (dc->has_cti) {
		jw_member_str(&w, &first, "record_id",
		    cli_hex(dc->cti, PROTO_CTI_LEN, h));
		jw_member_str(&w, &first, "issuer", dc->issuer);
		jw_member_str(&w, &first, "level", dc->level);
		jw_member_str(&w, &first, "operator", dc->operator_id);
		jw_member_str(&w, &first, "exp",
		    proto_time_format(dc->exp, b, sizeof(b)));
		jw_member_str(&w, &first, "kid",
		    cli_hex(dc->kid, CRY_KID_LEN, h));
		if (cry_alg_name(dc->alg) != NULL)
			jw_member_str(&w, &first, "alg", cry_alg_name(dc->alg));
	}
	if (dc->root[0] != '\0')
		jw_member_str(&w, &first, "root", dc->root);
	if (dc->has_status) {
		jw_member_int(&w, &first, "status_seq",
		    (long long)(json_int_t)dc->status_seq);
		jw_member_int(&w, &first, "status_age_s",
		    (long long)dc->status_age_s);
	}
	if (dc->agreement[0] != '\0') {
		jw_member_str(&w, &first, "agreement", dc->agreement);
		jw_member_int(&w, &first, "agreement_row",
		    (long long)dc->agreement_row + 1);
	}
	jw_lit(&w, "},\"access\":");
	jw_str(&w, access);
	jw_lit(&w, ",\"at\":");
	jw_str(&w, proto_time_format(at, b, sizeof(b)));
	jw_lit(&w, ",\"decided_at\":");
	jw_str(&w, proto_time_format(now, b, sizeof(b)));
	jw_put(&w, "}", 1);
	if (cap > 0)
		buf[w.len < w.cap ? w.len : w.cap] = '\0';
	return w.len;
}
