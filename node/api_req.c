/*
 * api_req.c - the decoders of the node's HTTP API requests (api_req.h):
 * JSON bodies into engine events, the alerts query into two numbers.
 *
 * Invariants: every function either fills its outputs and returns 0, or
 * fills the api_err and returns MRX_EINVAL with nothing left allocated.
 * The order of the checks is part of the API (the first failure is the one
 * a client sees): the body is a JSON object without duplicate or unknown
 * members, then the members are read in the order of each function.
 * No I/O, clock or randomness; jansson is the only library used.
 */
#include "api_req.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli_util.h"
#include "value.h"

void
api_fail(struct api_err *e, int status, const char *code, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->code = code;
	snprintf(e->field, sizeof(e->field), "%s", field != NULL ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

/* The body as a JSON object whose members are all in `allowed`. */
static json_t *
parse_body(const uint8_t *body, size_t len, const char *const *allowed,
    struct api_err *e)
{
	json_error_t je;
	const char *key;
	json_t *o, *v;
	size_t i;
	bool ok;

	if (len == 0) {
		api_fail(e, 400, "malformed-json", NULL, "the request needs a "
		    "JSON object body");
		return NULL;
	}
	o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		api_fail(e, 400, "malformed-json", NULL, "invalid JSON at line "
		    "%d column %d: %s", je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		api_fail(e, 400, "malformed-json", NULL, "the body must be a "
		    "JSON object");
		return NULL;
	}
	json_object_foreach(o, key, v) {
		ok = false;
		for (i = 0; allowed[i] != NULL && !ok; i++)
			ok = strcmp(allowed[i], key) == 0;
		if (!ok) {
			api_fail(e, 400, "unknown-field", key, "unknown field "
			    "'%.40s'", key);
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* A string member into a bounded buffer. */
static int
get_str(json_t *o, const char *key, bool required, char *out, size_t cap,
    struct api_err *e)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	out[0] = '\0';
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		api_fail(e, 400, "missing-field", key, "'%s' is required", key);
		return -1;
	}
	if (!json_is_string(v)) {
		api_fail(e, 400, "invalid-type", key, "'%s' must be a string",
		    key);
		return -1;
	}
	n = json_string_length(v);
	if (n >= cap || memchr(json_string_value(v), '\0', n) != NULL) {
		api_fail(e, 400, "invalid-value", key, "'%s' is longer than %zu "
		    "characters", key, cap - 1);
		return -1;
	}
	memcpy(out, json_string_value(v), n + 1);
	return 0;
}

static int
get_strs(json_t *o, const char *key, struct proto_strs *out,
    struct api_err *e)
{
	json_t *a = json_object_get(o, key), *v;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a)) {
		api_fail(e, 400, "invalid-type", key, "'%s' must be an array "
		    "of strings", key);
		return -1;
	}
	if (json_array_size(a) > PROTO_LIST_MAX) {
		api_fail(e, 400, "invalid-value", key, "'%s' has more than %d "
		    "entries", key, PROTO_LIST_MAX);
		return -1;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) ||
		    json_string_length(v) > PROTO_SCOPE_MAX) {
			api_fail(e, 400, "invalid-value", key, "'%s'[%zu] must be "
			    "a string of at most %d characters", key, i,
			    PROTO_SCOPE_MAX);
			return -1;
		}
		memcpy(out->v[i], json_string_value(v),
		    json_string_length(v) + 1);
	}
	out->n = json_array_size(a);
	return 0;
}

/* "10y", "90d" into years + seconds. */
static int
get_validity(json_t *o, int *years, int64_t *secs, struct api_err *e)
{
	struct conf_duration d;
	struct mrx_diag dg;
	char s[32];

	*years = 0;
	*secs = 0;
	if (get_str(o, "valid_for", false, s, sizeof(s), e) != 0)
		return -1;
	if (s[0] == '\0')
		return 0;
	mrx_diag_clear(&dg);
	if (conf_duration_parse(s, &d, &dg) != 0 ||
	    (d.years == 0 && d.seconds == 0)) {
		api_fail(e, 400, "invalid-value", "valid_for", "'%s' is not a "
		    "positive duration such as 10y or 90d", s);
		return -1;
	}
	*years = d.years;
	*secs = d.seconds;
	return 0;
}

static int
get_record(json_t *o, const char *key, bool required, uint8_t **out,
    size_t *len, struct api_err *e)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	*len = 0;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		api_fail(e, 400, "missing-field", key, "'%s' is required", key);
		return -1;
	}
	if (!json_is_string(v)) {
		api_fail(e, 400, "invalid-type", key, "'%s' must be a base64url "
		    "string", key);
		return -1;
	}
	if (json_string_length(v) > (PROTO_RECORD_MAX / 3 + 1) * 4 ||
	    cli_b64url_decode(json_string_value(v), json_string_length(v),
		out, len) != 0) {
		api_fail(e, 400, "invalid-value", key, "'%s' is not base64url "
		    "of at most %u bytes", key, PROTO_RECORD_MAX);
		return -1;
	}
	if (*len > PROTO_RECORD_MAX || *len == 0) {
		free(*out);
		*out = NULL;
		api_fail(e, 400, "invalid-value", key, "'%s' must be 1 to %u "
		    "bytes", key, PROTO_RECORD_MAX);
		return -1;
	}
	return 0;
}

int
api_req_issue_clearance(const uint8_t *body, size_t len,
    struct eng_issue_clearance *c, struct api_err *e)
{
	static const char *const allowed[] = { "sub", "level", "scopes",
		"operator", "valid_for", NULL };
	json_t *o;
	int rc = 0;

	o = parse_body(body, len, allowed, e);
	if (o == NULL || get_str(o, "sub", true, c->sub, sizeof(c->sub), e) ||
	    get_str(o, "level", true, c->level, sizeof(c->level), e) ||
	    get_strs(o, "scopes", &c->scopes, e) ||
	    get_str(o, "operator", true, c->operator_id,
		sizeof(c->operator_id), e) ||
	    get_validity(o, &c->valid_years, &c->valid_seconds, e))
		rc = MRX_EINVAL;
	json_decref(o);
	return rc;
}

int
api_req_issue_operator(const uint8_t *body, size_t len,
    struct eng_issue_operator *p, struct api_err *e)
{
	static const char *const allowed[] = { "sub", "levels", "scopes",
		"valid_for", NULL };
	json_t *o;
	int rc = 0;

	o = parse_body(body, len, allowed, e);
	if (o == NULL || get_str(o, "sub", true, p->sub, sizeof(p->sub), e) ||
	    get_strs(o, "levels", &p->levels, e) ||
	    get_strs(o, "scopes", &p->scopes, e) ||
	    get_validity(o, &p->valid_years, &p->valid_seconds, e))
		rc = MRX_EINVAL;
	json_decref(o);
	if (rc == 0 && p->levels.n == 0) {
		api_fail(e, 400, "missing-field", "levels", "%s", "'levels' "
		    "needs at least one SCHEME:LEVEL");
		rc = MRX_EINVAL;
	}
	return rc;
}

int
api_req_set_status(const uint8_t *body, size_t len, struct eng_set_status *s,
    struct api_err *e)
{
	static const char *const allowed[] = { "status", "reason", NULL };
	char st[16], why[40];
	json_t *o;
	int rc = 0;

	o = parse_body(body, len, allowed, e);
	if (o == NULL || get_str(o, "status", true, st, sizeof(st), e) ||
	    get_str(o, "reason", false, why, sizeof(why), e))
		rc = MRX_EINVAL;
	json_decref(o);
	if (rc != 0)
		return rc;
	if (proto_status_parse(st, &s->status) != 0) {
		api_fail(e, 400, "invalid-value", "status", "%s", "status "
		    "must be valid, revoked or suspended");
		return MRX_EINVAL;
	}
	s->reason = PROTO_REASON_NONE;
	if (why[0] != '\0' && proto_reason_parse(why, &s->reason) != 0) {
		api_fail(e, 400, "invalid-value", "reason", "%s", "unknown "
		    "reason code (see docs/decision.md)");
		return MRX_EINVAL;
	}
	return 0;
}

int
api_req_verify(const uint8_t *body, size_t len, struct eng_verify *vf,
    struct api_records *r, struct api_err *e)
{
	static const char *const allowed[] = { "record", "operator_record",
		"access", "scope", NULL };
	json_t *o;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	o = parse_body(body, len, allowed, e);
	if (o == NULL ||
	    get_record(o, "record", true, &r->rec, &r->rec_len, e) ||
	    get_record(o, "operator_record", false, &r->op, &r->op_len, e) ||
	    get_str(o, "access", true, vf->access, sizeof(vf->access), e) ||
	    get_str(o, "scope", false, vf->scope, sizeof(vf->scope), e))
		rc = MRX_EINVAL;
	json_decref(o);
	if (rc != 0) {
		free(r->rec);
		free(r->op);
		memset(r, 0, sizeof(*r));
	}
	return rc;
}

/* 0 and *out, 1 when `name` is absent, -1 when it is not a number. */
static int
query_u64(const char *q, const char *name, uint64_t *out)
{
	size_t nl = strlen(name);
	const char *p = q;
	char *end;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			/* strtoull alone takes "-1", "+1" and " 1", and
			 * saturates on overflow */
			p += nl + 1;
			if (*p < '0' || *p > '9')
				return -1;
			errno = 0;
			*out = strtoull(p, &end, 10);
			return errno == 0 && *out <= INT64_MAX &&
			    (*end == '&' || *end == '\0') ? 0 : -1;
		}
		p = strchr(p, '&');
		if (p != NULL)
			p++;
	}
	return 1; /* absent */
}

int
api_req_alerts_query(const char *query, uint64_t *since, uint64_t *wait,
    struct api_err *e)
{
	if (query_u64(query, "since", since) < 0 ||
	    query_u64(query, "wait", wait) < 0) {
		api_fail(e, 400, "invalid-value", "query", "%s", "since and "
		    "wait are non-negative integers");
		return MRX_EINVAL;
	}
	return 0;
}
