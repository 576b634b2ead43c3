/*
 * api_req.h - the decoders of the node's HTTP API requests: JSON request
 * bodies (and the query of GET /v1/alerts) into the engine's event structs,
 * or a client error {status, code, field, message} as the API reports it
 * (docs/api.md).
 *
 * Pure functions of untrusted bytes: no I/O, clock, randomness or global
 * state, so they can be fuzzed and tested without a running node. api.c
 * calls them and answers the error as it is. Bodies are parsed strictly:
 * a JSON object, no duplicate or unknown members, the right types, bounded
 * strings and lists, base64url records of 1..PROTO_RECORD_MAX bytes. The
 * checks run in a fixed order and the first failure is the one reported.
 */
#ifndef NODE_API_REQ_H
#define NODE_API_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/* A client error, as the API reports it. */
struct api_err {
	int status;		/* HTTP status: 400 for every decoding error */
	const char *code;	/* stable code, "unknown-field" (static text) */
	char field[64];		/* the request member or "query"; "" if none */
	char message[256];	/* one sentence for a person */
};

/* Fills `e` (the message printf-style); `field` NULL means none. */
void api_fail(struct api_err *e, int status, const char *code,
    const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * POST /v1/clearances: {sub, level, scopes?, operator, valid_for?} into
 * *out (all of it written, on success). Returns 0, or MRX_EINVAL with `e`
 * filled; *out is then unspecified.
 */
int api_req_issue_clearance(const uint8_t *body, size_t len,
    struct eng_issue_clearance *out, struct api_err *e);

/*
 * POST /v1/operators: {sub, levels, scopes?, valid_for?}; `levels` needs
 * at least one entry. Returns as api_req_issue_clearance().
 */
int api_req_issue_operator(const uint8_t *body, size_t len,
    struct eng_issue_operator *out, struct api_err *e);

/*
 * POST /v1/{clearances,operators}/{id}/status: {status, reason?} into
 * out->status and out->reason (NONE when absent); nothing else of *out is
 * touched (the caller finds the record). Returns as above.
 */
int api_req_set_status(const uint8_t *body, size_t len,
    struct eng_set_status *out, struct api_err *e);

/* The records of a verify request, decoded from base64url. */
struct api_records {
	uint8_t *rec;		/* the record: malloc'd, the caller's */
	size_t rec_len;		/* 1..PROTO_RECORD_MAX */
	uint8_t *op;		/* the operator record, or NULL */
	size_t op_len;
};

/*
 * POST /v1/verify: {record, operator_record?, access, scope?}: the
 * records into *recs (the caller frees rec and op on success), access and
 * scope into out->access and out->scope; nothing else of *out is touched.
 * On error (MRX_EINVAL, `e` filled) *recs owns nothing.
 */
int api_req_verify(const uint8_t *body, size_t len, struct eng_verify *out,
    struct api_records *recs, struct api_err *e);

/*
 * GET /v1/alerts?since=N&wait=S: each of them, when present, a plain
 * decimal number of at most INT64_MAX; *since and *wait are left as they
 * are when absent (the caller's defaults). Other parameters are ignored.
 * `query` is the text after '?' ("" for none). Returns as above.
 */
int api_req_alerts_query(const char *query, uint64_t *since, uint64_t *wait,
    struct api_err *e);

#endif
