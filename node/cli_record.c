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
