/*
 * fedmsg.h - the bodies of node-to-node messages (inside a signed
 * envelope, envelope.h): small positional CBOR arrays, decoded strictly
 * (types, sizes, no trailing bytes). docs/protocol.md section 13 and
 * docs/mrx.cddl ("Message bodies") are the normative description.
 *
 *  feed-record        the record itself (a status list, delta, checkpoint,
 *                     delegation, key revocation or agreement): no wrapper
 *  catchup-request    [issuer, uri, from, max]
 *  catchup-response   [* record]  (the whole list first when from is 0)
 *  fetch-request      [cti]       (16 bytes)
 *  fetch-response     [* record]  (empty: not held)
 *  present            [record, operator-record / null, access, scope]
 *  present-response   [verdict, decision-json]
 *  confirm-request    [agreement, blinded-key]
 *  confirm-response   [found, record / null]
 *  lookup-survey      [* [node, agreement, blinded-key]]
 *  lookup-response    [found, record / null]
 *  refusal            [code, message]
 *
 * Pure: no I/O. Views point into the input, which must outlive them.
 */
#ifndef PROTO_FEDMSG_H
#define PROTO_FEDMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decide.h"
#include "envelope.h"
#include "mrx_err.h"
#include "record.h"

#define PROTO_BATCH_MAX 1024		/* records of one response */
#define PROTO_SURVEY_KEYS_MAX 64	/* entries of one look-up survey */
#define PROTO_DECISION_JSON_MAX 16384	/* bytes of a decision document */

struct proto_catchup_req {
	char issuer[PROTO_ID_MAX + 1];
	char uri[PROTO_URI_MAX + 1];
	uint64_t from;
	uint32_t max;
};

struct proto_bytes {
	const uint8_t *p;		/* NULL: absent */
	size_t n;
};

struct proto_present {
	struct proto_bytes record;
	struct proto_bytes operator_record;	/* p NULL: none */
	char access[PROTO_LEVEL_MAX + 1];
	char scope[PROTO_SCOPE_MAX + 1];	/* "" none */
};

struct proto_present_resp {
	uint8_t verdict;			/* enum proto_verdict */
	struct proto_bytes json;		/* the decision document */
};

struct proto_blinded {
	char node[PROTO_ID_MAX + 1];		/* survey entries only */
	char agreement[PROTO_ID_MAX + 1];
	uint8_t key[PROTO_BLIND_LEN];
};

struct proto_found {
	bool found;
	struct proto_bytes record;		/* p NULL: none */
};

struct proto_refusal_msg {
	char code[PROTO_CODE_MAX + 1];
	char message[256];
};

/*
 * Encoders write into out (cap bytes) and set *len; MRX_ENOSPC when short
 * (*len is then the size needed), MRX_EINVAL for an argument out of its
 * syntax (ids, uris, sizes).
 */
int proto_catchup_req_encode(const struct proto_catchup_req *m, uint8_t *out,
    size_t cap, size_t *len);
int proto_batch_encode(const struct proto_bytes *recs, size_t n, uint8_t *out,
    size_t cap, size_t *len);
int proto_fetch_req_encode(const uint8_t cti[PROTO_CTI_LEN], uint8_t *out,
    size_t cap, size_t *len);
int proto_present_encode(const struct proto_present *m, uint8_t *out,
    size_t cap, size_t *len);
int proto_present_resp_encode(const struct proto_present_resp *m,
    uint8_t *out, size_t cap, size_t *len);
int proto_confirm_req_encode(const struct proto_blinded *m, uint8_t *out,
    size_t cap, size_t *len);
int proto_found_encode(const struct proto_found *m, uint8_t *out, size_t cap,
    size_t *len);
int proto_survey_encode(const struct proto_blinded *keys, size_t n,
    uint8_t *out, size_t cap, size_t *len);
int proto_refusal_encode(const char *code, const char *message, uint8_t *out,
    size_t cap, size_t *len);

/*
 * Decoders: strict. MRX_EMALFORMED / MRX_ETYPE / MRX_ERANGE / MRX_ETRUNC /
 * MRX_ETOOBIG with diag naming the element ("body[2]", "body.record").
 * proto_batch_decode() fills at most `max` views into recs.
 */
int proto_catchup_req_decode(const uint8_t *b, size_t len,
    struct proto_catchup_req *m, struct mrx_diag *diag);
int proto_batch_decode(const uint8_t *b, size_t len, struct proto_bytes *recs,
    size_t max, size_t *n, struct mrx_diag *diag);
int proto_fetch_req_decode(const uint8_t *b, size_t len,
    uint8_t cti[PROTO_CTI_LEN], struct mrx_diag *diag);
int proto_present_decode(const uint8_t *b, size_t len,
    struct proto_present *m, struct mrx_diag *diag);
int proto_present_resp_decode(const uint8_t *b, size_t len,
    struct proto_present_resp *m, struct mrx_diag *diag);
int proto_confirm_req_decode(const uint8_t *b, size_t len,
    struct proto_blinded *m, struct mrx_diag *diag);
int proto_found_decode(const uint8_t *b, size_t len, struct proto_found *m,
    struct mrx_diag *diag);
int proto_survey_decode(const uint8_t *b, size_t len,
    struct proto_blinded *keys, size_t max, size_t *n,
    struct mrx_diag *diag);
int proto_refusal_decode(const uint8_t *b, size_t len,
    struct proto_refusal_msg *m, struct mrx_diag *diag);

#endif
