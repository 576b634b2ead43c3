/*
 * fuzz_api_req.c - the decoders of the node's HTTP API requests
 * (node/api_req.h): JSON bodies into engine events, and the alerts query.
 * HTTP/1.1 itself is parsed by libhttp-parser on the libuv loop
 * (node/http.c) and is not fuzzed here.
 *
 * The first byte of an input picks the request (mod 5): issue clearance,
 * issue operator-cert, set status, verify, alerts query; the rest is the
 * body (or the query text, cut at its first NUL as a C string would be).
 * A verify request's record then goes through proto_record_decode(), as
 * the node's engine would take it.
 *
 * Properties:
 *  - the result is 0 or MRX_EINVAL; an error is a 400 with a code, a
 *    message and a NUL-terminated field; nothing is left allocated (LSan);
 *  - a decoded request keeps every string NUL-terminated inside its
 *    buffer, lists within PROTO_LIST_MAX, a status and reason in range,
 *    records of 1..PROTO_RECORD_MAX bytes, a positive validity;
 *  - decoding is deterministic: a second run gives the same result.
 * Inputs over FUZZ_API_MAX bytes are ignored.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_req.h"
#include "fuzzkit.h"
#include "record.h"

#define FUZZ_API_MAX (256 * 1024)
#define STR_OK(s) (memchr((s), '\0', sizeof(s)) != NULL)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void
check_err(int rc, const struct api_err *e)
{
	FUZZ_CHECK(rc == MRX_EINVAL, "rc %d", rc);
	FUZZ_CHECK(e->status == 400, "status %d", e->status);
	FUZZ_CHECK(e->code != NULL && e->code[0] != '\0', "no code");
	FUZZ_CHECK(STR_OK(e->field) && STR_OK(e->message) &&
	    e->message[0] != '\0', "field or message");
}

static void
check_strs(const struct proto_strs *l)
{
	size_t i;

	FUZZ_CHECK(l->n <= PROTO_LIST_MAX, "%zu entries", l->n);
	for (i = 0; i < l->n; i++)
		FUZZ_CHECK(STR_OK(l->v[i]), "entry %zu not terminated", i);
}

static void
check_validity(int years, int64_t secs)
{
	FUZZ_CHECK(years >= 0 && secs >= 0, "validity %dy %llds", years,
	    (long long)secs);
}

static void
clearance(const uint8_t *b, size_t n)
{
	struct eng_issue_clearance c, c2;
	struct api_err e;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(&c2, 0, sizeof(c2));
	rc = api_req_issue_clearance(b, n, &c, &e);
	FUZZ_CHECK(api_req_issue_clearance(b, n, &c2, &e) == rc,
	    "not deterministic");
	if (rc != 0) {
		check_err(rc, &e);
		return;
	}
	FUZZ_CHECK(STR_OK(c.sub) && STR_OK(c.level) && STR_OK(c.operator_id),
	    "strings");
	check_strs(&c.scopes);
	check_validity(c.valid_years, c.valid_seconds);
	FUZZ_CHECK(memcmp(&c, &c2, sizeof(c)) == 0, "not deterministic");
}

static void
operator(const uint8_t *b, size_t n)
{
	struct eng_issue_operator o, o2;
	struct api_err e;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&o2, 0, sizeof(o2));
	rc = api_req_issue_operator(b, n, &o, &e);
	FUZZ_CHECK(api_req_issue_operator(b, n, &o2, &e) == rc,
	    "not deterministic");
	if (rc != 0) {
		check_err(rc, &e);
		return;
	}
	FUZZ_CHECK(STR_OK(o.sub), "sub");
	FUZZ_CHECK(o.levels.n >= 1, "no levels");
	check_strs(&o.levels);
	check_strs(&o.scopes);
	check_validity(o.valid_years, o.valid_seconds);
	FUZZ_CHECK(memcmp(&o, &o2, sizeof(o)) == 0, "not deterministic");
}

static void
set_status(const uint8_t *b, size_t n)
{
	struct eng_set_status s;
	struct api_err e;
	int rc;

	memset(&s, 0, sizeof(s));
	rc = api_req_set_status(b, n, &s, &e);
	if (rc != 0) {
		check_err(rc, &e);
		return;
	}
	FUZZ_CHECK(s.status <= PROTO_STATUS_SUSPENDED, "status %d",
	    (int)s.status);
	FUZZ_CHECK(s.reason < PROTO_REASON_COUNT, "reason %d", (int)s.reason);
}

static void
verify(const uint8_t *b, size_t n)
{
	struct proto_record rec;
	struct api_records r;
	struct eng_verify vf;
	struct api_err e;
	int rc;

	memset(&vf, 0, sizeof(vf));
	rc = api_req_verify(b, n, &vf, &r, &e);
	if (rc != 0) {
		check_err(rc, &e);
		FUZZ_CHECK(r.rec == NULL && r.op == NULL, "records kept");
		return;
	}
	FUZZ_CHECK(STR_OK(vf.access) && STR_OK(vf.scope), "strings");
	FUZZ_CHECK(r.rec != NULL && r.rec_len >= 1 &&
	    r.rec_len <= PROTO_RECORD_MAX, "record of %zu bytes", r.rec_len);
	FUZZ_CHECK(r.op == NULL || (r.op_len >= 1 &&
	    r.op_len <= PROTO_RECORD_MAX), "operator record of %zu bytes",
	    r.op_len);
	(void)proto_record_decode(r.rec, r.rec_len, &rec, NULL);
	proto_record_fini(&rec);
	free(r.rec);
	free(r.op);
}

static void
alerts(const uint8_t *b, size_t n)
{
	struct api_err e;
	uint64_t since = 7, wait = 9;
	char *q = malloc(n + 1);
	int rc;

	FUZZ_CHECK(q != NULL, "out of memory");
	memcpy(q, b, n);
	q[n] = '\0';
	rc = api_req_alerts_query(q, &since, &wait, &e);
	if (rc != 0)
		check_err(rc, &e);
	else
		FUZZ_CHECK(since <= INT64_MAX && wait <= INT64_MAX,
		    "since %llu, wait %llu", (unsigned long long)since,
		    (unsigned long long)wait);
	free(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const reqs[])(const uint8_t *, size_t) = { clearance,
		operator, set_status, verify, alerts };

	if (size == 0 || size > FUZZ_API_MAX)
		return 0;
	reqs[data[0] % 5](data + 1, size - 1);
	return 0;
}
