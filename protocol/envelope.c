/*
 * envelope.c - the signed node-to-node envelope (seal, strict open,
 * verify), the peer table with its ACLs, the per-peer replay sets and
 * token buckets, and the pairwise blinded key. docs/protocol.md
 * ("Node-to-node envelope") is the normative description.
 *
 * Invariants:
 *  - An envelope payload is a closed map of exactly six text keys, written
 *    and read in core deterministic order ("t" < "id" < "to" < "body" <
 *    "from" < "type": shorter encodings first, then bytewise). The encoder
 *    validates its arguments with the rules the decoder applies, so it
 *    never produces an envelope the decoder refuses.
 *  - A replay set holds at most ids_max ids in a ring (oldest at `head`)
 *    and a linear-probing hash table at most half full whose non-empty
 *    slots are exactly the ring's entries (index + 1). Deletion shifts
 *    entries back (no tombstones), so a probe stops at the first empty
 *    slot. The floor only rises, to the time of each evicted id.
 *  - Peer lookups are binary searches over index arrays sorted by id
 *    (strcmp) and by kid (memcmp); no id and no kid occurs twice.
 *  - A check that refuses changes nothing: the replay test and the rate
 *    bucket are consulted before the id is remembered.
 * Pure: no I/O, clock or randomness; allocation only when a set or a table
 * is made, and for the payload of an envelope being sealed.
 */
#include "envelope.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbor.h"

#define ENV_TIME_MAX INT64_C(253402300799)	/* 9999-12-31T23:59:59Z */
#define ENV_AAD_LEN (sizeof(PROTO_ENV_AAD) - 1)
#define ENV_KEY_SHOW 24				/* bytes of a key quoted */
#define REPLAY_NONE UINT32_MAX			/* "no slot" */
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Worst case of the bytes around a body: the payload map head and its six
 * keys and values with "to" and "from" at PROTO_ID_MAX characters, and the
 * COSE_Sign1 around the payload.
 */
#define ENV_PAYLOAD_FIXED (1 + (2 + 9) + (3 + 17) + (3 + 2 + PROTO_ID_MAX) + \
	(5 + 5) + (5 + 2 + PROTO_ID_MAX) + (5 + 2))
_Static_assert(ENV_PAYLOAD_FIXED + CRY_COSE_OVERHEAD <= PROTO_ENV_ROOM,
    "PROTO_ENV_ROOM holds the envelope around a body");
_Static_assert(PROTO_ENV_BODY_MAX <= UINT32_MAX, "a body head fits 5 bytes");

/* The payload's keys, in deterministic order. */
enum env_key { EK_T, EK_ID, EK_TO, EK_BODY, EK_FROM, EK_TYPE, EK_COUNT };

static const struct {
	const char *name;	/* the text key */
	const char *field;	/* as named in diags */
} env_keys[EK_COUNT] = {
	[EK_T] = { "t", "payload.t" },
	[EK_ID] = { "id", "payload.id" },
	[EK_TO] = { "to", "payload.to" },
	[EK_BODY] = { "body", "payload.body" },
	[EK_FROM] = { "from", "payload.from" },
	[EK_TYPE] = { "type", "payload.type" },
};

static const char *const msg_names[PROTO_MSG_COUNT] = {
	[PROTO_MSG_NONE] = NULL,
	[PROTO_MSG_FEED_RECORD] = "feed-record",
	[PROTO_MSG_CATCHUP_REQUEST] = "catchup-request",
	[PROTO_MSG_CATCHUP_RESPONSE] = "catchup-response",
	[PROTO_MSG_PRESENT] = "present",
	[PROTO_MSG_PRESENT_RESPONSE] = "present-response",
	[PROTO_MSG_CONFIRM_REQUEST] = "confirm-request",
	[PROTO_MSG_CONFIRM_RESPONSE] = "confirm-response",
	[PROTO_MSG_LOOKUP_SURVEY] = "lookup-survey",
	[PROTO_MSG_LOOKUP_RESPONSE] = "lookup-response",
	[PROTO_MSG_FETCH_REQUEST] = "fetch-request",
	[PROTO_MSG_FETCH_RESPONSE] = "fetch-response",
	[PROTO_MSG_REFUSAL] = "refusal",
};

static const char *const refusal_names[PROTO_REFUSE_COUNT] = {
	[PROTO_REFUSE_NONE] = "",
	[PROTO_REFUSE_TOO_BIG] = "too-big",
	[PROTO_REFUSE_MALFORMED] = "malformed",
	[PROTO_REFUSE_UNKNOWN_TYPE] = "unknown-type",
	[PROTO_REFUSE_UNKNOWN_PEER] = "unknown-peer",
	[PROTO_REFUSE_WRONG_KEY] = "wrong-key",
	[PROTO_REFUSE_BAD_SIGNATURE] = "bad-signature",
	[PROTO_REFUSE_REROUTED] = "re-routed",
	[PROTO_REFUSE_FORBIDDEN_TYPE] = "forbidden-type",
	[PROTO_REFUSE_TOO_OLD] = "too-old",
	[PROTO_REFUSE_FROM_THE_FUTURE] = "from-the-future",
	[PROTO_REFUSE_REPLAYED] = "replayed",
	[PROTO_REFUSE_REPLAY_FLOOR] = "replay-floor",
	[PROTO_REFUSE_RATE_LIMITED] = "rate-limited",
};

const char *
proto_msg_type_name(enum proto_msg_type t)
{
	return (unsigned)t < PROTO_MSG_COUNT ? msg_names[t] : NULL;
}

int
proto_msg_type_parse(const char *s, enum proto_msg_type *out)
{
	unsigned i;

	if (s == NULL || out == NULL)
		return MRX_EINVAL;
	for (i = 1; i < PROTO_MSG_COUNT; i++) {
		if (strcmp(s, msg_names[i]) == 0) {
			*out = (enum proto_msg_type)i;
			return 0;
		}
	}
	return MRX_EINVAL;
}

bool
proto_msg_type_broadcast(enum proto_msg_type t)
{
	return t == PROTO_MSG_FEED_RECORD || t == PROTO_MSG_LOOKUP_SURVEY;
}

const char *
proto_refusal_name(enum proto_refusal r)
{
	return (unsigned)r < PROTO_REFUSE_COUNT ? refusal_names[r] : "";
}

/* Sets *why (if asked) and passes `rc` through. */
static int
refuse(enum proto_refusal *why, enum proto_refusal r, int rc)
{
	if (why != NULL)
		*why = r;
	return rc;
}

static bool
type_defined(uint64_t t)
{
	return t > PROTO_MSG_NONE && t < PROTO_MSG_COUNT;
}

static bool
to_valid(const char *s)
{
	return strcmp(s, PROTO_ENV_BROADCAST) == 0 || proto_id_valid(s);
}

/* ------------------------------------------------------------ seal */

static void
put_payload(struct cry_cbor_wr *wr, const char *from, const char *to,
    enum proto_msg_type type, int64_t t, const uint8_t *id,
    const uint8_t *body, size_t body_len)
{
	cry_cbor_put_map(wr, EK_COUNT);
	cry_cbor_put_tstr(wr, env_keys[EK_T].name);
	cry_cbor_put_uint(wr, (uint64_t)t);
	cry_cbor_put_tstr(wr, env_keys[EK_ID].name);
	cry_cbor_put_bstr(wr, id, PROTO_ENV_ID_LEN);
	cry_cbor_put_tstr(wr, env_keys[EK_TO].name);
	cry_cbor_put_tstr(wr, to);
	cry_cbor_put_tstr(wr, env_keys[EK_BODY].name);
	cry_cbor_put_bstr(wr, body, body_len);
	cry_cbor_put_tstr(wr, env_keys[EK_FROM].name);
	cry_cbor_put_tstr(wr, from);
	cry_cbor_put_tstr(wr, env_keys[EK_TYPE].name);
	cry_cbor_put_uint(wr, (uint64_t)type);
}

/* The arguments of a seal, with the rules of the decoder. */
static int
seal_args(const struct cry_key *key, const char *from, const char *to,
    enum proto_msg_type type, int64_t t, const uint8_t *id,
    const uint8_t *body, size_t body_len, struct mrx_diag *diag)
{
	if (key == NULL || !cry_key_has_private(key))
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET, "key",
		    "sealing needs the sender's private key");
	if (from == NULL || !proto_id_valid(from))
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "from", "the sender is not a node id");
	if (to == NULL || !to_valid(to))
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET, "to",
		    "the recipient is neither a node id nor \"*\"");
	if (!type_defined((uint64_t)type))
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "type", "message type %d is not defined", (int)type);
	if (proto_msg_type_broadcast(type) !=
	    (strcmp(to, PROTO_ENV_BROADCAST) == 0))
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET, "to",
		    "a %s is sent to %s", proto_msg_type_name(type),
		    proto_msg_type_broadcast(type) ? "\"*\"" : "one node");
	if (t < 0 || t > ENV_TIME_MAX)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET, "t",
		    "send time %" PRId64 " is not a NumericDate", t);
	if (id == NULL || (body == NULL && body_len > 0))
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    id == NULL ? "id" : "body", "missing argument");
	if (body_len > PROTO_ENV_BODY_MAX)
		return mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET,
		    "body", "the body is %zu bytes, over the limit of %u",
		    body_len, (unsigned)PROTO_ENV_BODY_MAX);
	return 0;
}

int
proto_envelope_seal(const struct cry_key *key, const char *from,
    const char *to, enum proto_msg_type type, int64_t t,
    const uint8_t id[PROTO_ENV_ID_LEN], const uint8_t *body, size_t body_len,
    uint8_t *out, size_t cap, size_t *out_len, struct mrx_diag *diag)
{
	struct cry_cbor_wr wr;
	uint8_t *payload;
	size_t plen;
	int rc;

	if (out_len == NULL)
		return MRX_EINVAL;
	*out_len = 0;
	rc = seal_args(key, from, to, type, t, id, body, body_len, diag);
	if (rc != 0)
		return rc;
	cry_cbor_wr_init(&wr, NULL, 0);
	put_payload(&wr, from, to, type, t, id, body, body_len);
	plen = wr.len;
	payload = malloc(plen);
	if (payload == NULL)
		return MRX_ENOMEM;
	cry_cbor_wr_init(&wr, payload, plen);
	put_payload(&wr, from, to, type, t, id, body, body_len);
	rc = cry_cbor_wr_finish(&wr, &plen);
	/* cry_sign1_sign() measures first: no signature for nothing */
	if (rc == 0)
		rc = cry_sign1_sign(key, NULL, 0,
		    (const uint8_t *)PROTO_ENV_AAD, ENV_AAD_LEN, payload, plen,
		    out, cap, out_len);
	free(payload);
	if (rc == MRX_ENOSPC)
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, "",
		    "the envelope needs %zu bytes, the buffer has %zu",
		    *out_len, cap);
	return rc;
}

/* ------------------------------------------------------------ open */

/* Offset of pointer p inside msg. */
static size_t
off_in(const uint8_t *msg, const uint8_t *p)
{
	return (size_t)(p - msg);
}

/* True if the protected header map (bstr content) has label `label`. */
static bool
prot_has(const uint8_t *prot, size_t len, uint64_t label)
{
	struct cry_cbor_rd rd;
	struct cry_cbor_item map, key;
	size_t start, end;
	uint64_t i;

	if (len == 0)
		return false;
	cry_cbor_rd_init(&rd, prot, len);
	if (cry_cbor_next(&rd, &map, NULL) != 0 || map.type != CRY_CBOR_MAP)
		return false;
	for (i = 0; i < map.val; i++) {
		if (cry_cbor_next(&rd, &key, NULL) != 0)
			return false;
		if (key.type == CRY_CBOR_UINT && key.val == label)
			return true;
		if (cry_cbor_skip(&rd, &key, NULL) != 0 ||
		    cry_cbor_read_span(&rd, &start, &end, NULL) != 0)
			return false;
	}
	return false;
}

/* The COSE layer beyond cry_sign1_decode(): what an envelope requires. */
static int
open_cose(const uint8_t *msg, const struct cry_sign1 *s,
    struct mrx_diag *diag)
{
	const struct cry_cose_hdr *h = &s->hdr;
	size_t poff = h->prot != NULL ? off_in(msg, h->prot) : 0;

	if (s->payload == NULL)
		return mrx_diag_set(diag, MRX_EMISSING, MRX_DIAG_NO_OFFSET,
		    "payload", "an envelope's payload is never detached");
	if (!prot_has(h->prot, h->prot_len, 1))
		return mrx_diag_set(diag, MRX_EMISSING, poff, "protected.alg",
		    "alg must be in the protected header");
	if (h->alg != CRY_ALG_EDDSA && h->alg != CRY_ALG_ES256)
		return mrx_diag_set(diag, MRX_EUNSUPPORTED, poff,
		    "protected.alg", "alg %" PRId64 " is not EdDSA (-8) or "
		    "ES256 (-7)", h->alg_raw);
	if (h->kid == NULL || h->kid < h->prot ||
	    h->kid + h->kid_len > h->prot + h->prot_len)
		return mrx_diag_set(diag, MRX_EMISSING, poff, "protected.kid",
		    "kid must be in the protected header");
	if (h->kid_len != CRY_KID_LEN)
		return mrx_diag_set(diag, MRX_ERANGE, off_in(msg, h->kid),
		    "protected.kid", "kid is %zu bytes, not %d", h->kid_len,
		    CRY_KID_LEN);
	if (s->sig_len != CRY_SIG_LEN)
		return mrx_diag_set(diag, MRX_ERANGE, off_in(msg, s->sig),
		    "signature", "the signature is %zu bytes, not %d",
		    s->sig_len, CRY_SIG_LEN);
	return 0;
}

/* Reads one head in its shortest form, of type `want`. */
static int
get_item(struct cry_cbor_rd *rd, struct cry_cbor_item *it,
    enum cry_cbor_type want, const char *field, struct mrx_diag *diag)
{
	struct mrx_diag ld;
	size_t off = rd->off;
	int rc;

	mrx_diag_clear(&ld);
	rc = cry_cbor_next(rd, it, &ld);
	if (rc != 0)
		return mrx_diag_set(diag, rc, ld.offset != MRX_DIAG_NO_OFFSET ?
		    ld.offset : off, field, "%s", ld.msg[0] != '\0' ? ld.msg :
		    mrx_strerror(rc));
	if (!it->shortest)
		return mrx_diag_set(diag, MRX_ENONCANON, it->off, field,
		    "this head is not in its shortest form");
	if (it->type != want)
		return mrx_diag_set(diag, MRX_ETYPE, it->off, field,
		    "wrong CBOR type (major %d expected)", (int)want);
	return 0;
}

/* A node id (or "*" when `star`) from a text string. */
static int
get_node(struct cry_cbor_rd *rd, char *out, bool star, const char *field,
    struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	int rc = get_item(rd, &it, CRY_CBOR_TSTR, field, diag);

	if (rc != 0)
		return rc;
	if (it.val > PROTO_ID_MAX)
		return mrx_diag_set(diag, MRX_ETOOBIG, it.off, field,
		    "a node id is at most %d bytes", PROTO_ID_MAX);
	memcpy(out, it.ptr, (size_t)it.val);
	out[it.val] = '\0';
	if (strlen(out) != it.val || !(star ? to_valid(out) :
	    proto_id_valid(out)))
		return mrx_diag_set(diag, MRX_ERANGE, it.off, field,
		    "not a node id%s", star ? " or \"*\"" : "");
	return 0;
}

static int
get_time(struct cry_cbor_rd *rd, struct proto_envelope *e, const char *f,
    struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	int rc = get_item(rd, &it, CRY_CBOR_UINT, f, diag);

	if (rc != 0)
		return rc;
	if (it.val > (uint64_t)ENV_TIME_MAX)
		return mrx_diag_set(diag, MRX_ERANGE, it.off, f,
		    "not a NumericDate (above 253402300799)");
	e->t = (int64_t)it.val;
	return 0;
}

static int
get_type(struct cry_cbor_rd *rd, struct proto_envelope *e, const char *f,
    enum proto_refusal *why, struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	int rc = get_item(rd, &it, CRY_CBOR_UINT, f, diag);

	if (rc != 0)
		return rc;
	if (!type_defined(it.val))
		return refuse(why, PROTO_REFUSE_UNKNOWN_TYPE, mrx_diag_set(diag,
		    MRX_ERANGE, it.off, f, "message type %" PRIu64 " is not "
		    "defined", it.val));
	e->type = (enum proto_msg_type)it.val;
	return 0;
}

static int
get_id(struct cry_cbor_rd *rd, struct proto_envelope *e, const char *f,
    struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	int rc = get_item(rd, &it, CRY_CBOR_BSTR, f, diag);

	if (rc != 0)
		return rc;
	if (it.val != PROTO_ENV_ID_LEN)
		return mrx_diag_set(diag, MRX_ERANGE, it.off, f,
		    "a message id is %d bytes, not %" PRIu64, PROTO_ENV_ID_LEN,
		    it.val);
	memcpy(e->id, it.ptr, PROTO_ENV_ID_LEN);
	return 0;
}

static int
get_body(struct cry_cbor_rd *rd, struct proto_envelope *e, const char *f,
    enum proto_refusal *why, struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	int rc = get_item(rd, &it, CRY_CBOR_BSTR, f, diag);

	if (rc != 0)
		return rc;
	if (it.val > PROTO_ENV_BODY_MAX)
		return refuse(why, PROTO_REFUSE_TOO_BIG, mrx_diag_set(diag,
		    MRX_ETOOBIG, it.off, f, "the body is %" PRIu64 " bytes, "
		    "over the limit of %u", it.val,
		    (unsigned)PROTO_ENV_BODY_MAX));
	e->body = it.ptr;
	e->body_len = (size_t)it.val;
	return 0;
}

/* The value of key k into e; *why is set for the refusals not "malformed". */
static int
get_value(struct cry_cbor_rd *rd, enum env_key k, struct proto_envelope *e,
    enum proto_refusal *why, struct mrx_diag *diag)
{
	const char *f = env_keys[k].field;

	switch (k) {
	case EK_T:
		return get_time(rd, e, f, diag);
	case EK_ID:
		return get_id(rd, e, f, diag);
	case EK_TO:
		return get_node(rd, e->to, true, f, diag);
	case EK_BODY:
		return get_body(rd, e, f, why, diag);
	case EK_FROM:
		return get_node(rd, e->from, false, f, diag);
	case EK_TYPE:
		return get_type(rd, e, f, why, diag);
	case EK_COUNT:
		break;
	}
	assert(!"unreachable");
	return MRX_EINVAL;
}

/* Quotes at most ENV_KEY_SHOW bytes of a key, printable ASCII only. */
static const char *
show_key(const struct cry_cbor_item *it, char *out, size_t cap)
{
	size_t i, n = it->val < ENV_KEY_SHOW ? (size_t)it->val : ENV_KEY_SHOW;

	assert(cap > n);
	for (i = 0; i < n; i++)
		out[i] = it->ptr[i] >= 0x20 && it->ptr[i] < 0x7f ?
		    (char)it->ptr[i] : '?';
	out[n] = '\0';
	return out;
}

/* A map key, which must be one of env_keys[]: its index. */
static int
get_key(struct cry_cbor_rd *rd, enum env_key *k, struct mrx_diag *diag)
{
	struct cry_cbor_item it;
	char shown[ENV_KEY_SHOW + 1];
	unsigned i;
	int rc = get_item(rd, &it, CRY_CBOR_TSTR, "payload", diag);

	if (rc != 0)
		return rc;
	for (i = 0; i < EK_COUNT; i++) {
		if (strlen(env_keys[i].name) == it.val &&
		    memcmp(env_keys[i].name, it.ptr, (size_t)it.val) == 0) {
			*k = (enum env_key)i;
			return 0;
		}
	}
	return mrx_diag_set(diag, MRX_ECRIT, it.off, "payload",
	    "unknown envelope field \"%s\" (the map is closed)",
	    show_key(&it, shown, sizeof(shown)));
}

static int
open_payload(const uint8_t *msg, struct proto_envelope *e,
    enum proto_refusal *why, struct mrx_diag *diag)
{
	struct cry_cbor_rd rd;
	struct cry_cbor_item it;
	size_t base = off_in(msg, e->cose.payload);
	unsigned seen = 0, i;
	uint64_t n;
	enum env_key k = EK_COUNT;
	int prev = -1, rc;

	/* A cursor over msg that ends with the payload: offsets are msg's. */
	cry_cbor_rd_init(&rd, msg, base + e->cose.payload_len);
	rd.off = base;
	rc = get_item(&rd, &it, CRY_CBOR_MAP, "payload", diag);
	for (n = 0; rc == 0 && n < it.val; n++) {
		size_t koff = rd.off;

		rc = get_key(&rd, &k, diag);
		if (rc == 0 && (int)k == prev)
			rc = mrx_diag_set(diag, MRX_EDUP, koff,
			    env_keys[k].field, "duplicate map key");
		else if (rc == 0 && (int)k < prev)
			rc = mrx_diag_set(diag, MRX_ENONCANON, koff,
			    env_keys[k].field,
			    "map keys are not in deterministic order");
		if (rc == 0)
			rc = get_value(&rd, k, e, why, diag);
		if (rc == 0) {
			prev = (int)k;
			seen |= 1u << k;
		}
	}
	if (rc == 0 && !cry_cbor_rd_done(&rd))
		rc = mrx_diag_set(diag, MRX_ETRAILING, rd.off, "payload",
		    "bytes after the payload map");
	for (i = 0; rc == 0 && i < EK_COUNT; i++)
		if (!(seen & (1u << i)))
			rc = mrx_diag_set(diag, MRX_EMISSING, base,
			    env_keys[i].field, "required field \"%s\" is "
			    "absent", env_keys[i].name);
	return rc;
}

int
proto_envelope_open(const uint8_t *msg, size_t len,
    struct proto_envelope *env, enum proto_refusal *why,
    struct mrx_diag *diag)
{
	struct proto_envelope e;
	enum proto_refusal r = PROTO_REFUSE_MALFORMED;
	int rc;

	refuse(why, PROTO_REFUSE_NONE, 0);
	if (env == NULL || (msg == NULL && len > 0))
		return MRX_EINVAL;
	memset(env, 0, sizeof(*env));
	memset(&e, 0, sizeof(e));
	if (len > PROTO_ENV_MAX)
		return refuse(why, PROTO_REFUSE_TOO_BIG, mrx_diag_set(diag,
		    MRX_ETOOBIG, PROTO_ENV_MAX, "", "the envelope is %zu "
		    "bytes, over the limit of %u", len,
		    (unsigned)PROTO_ENV_MAX));
	rc = cry_sign1_decode(msg, len, &e.cose, diag);
	if (rc == 0)
		rc = open_cose(msg, &e.cose, diag);
	if (rc == 0)
		rc = open_payload(msg, &e, &r, diag);
	if (rc != 0)
		return refuse(why, r, rc);
	e.kid = e.cose.hdr.kid;
	*env = e;
	return 0;
}

int
proto_envelope_verify(const struct proto_envelope *env,
    const struct cry_key *key, struct mrx_diag *diag)
{
	if (env == NULL || key == NULL || env->kid == NULL)
		return MRX_EINVAL;
	if (memcmp(env->kid, cry_key_kid(key), CRY_KID_LEN) != 0)
		return mrx_diag_set(diag, MRX_EKEY, MRX_DIAG_NO_OFFSET,
		    "protected.kid",
		    "the envelope is not signed with this key");
	return cry_sign1_verify(&env->cose, key, (const uint8_t *)PROTO_ENV_AAD,
	    ENV_AAD_LEN, diag);
}

/* ------------------------------------------------------------ rate limit */

static int
rate_config_ok(const struct proto_rate_config *c, struct mrx_diag *diag)
{
	if (c->per_s < 1 || c->per_s > PROTO_RATE_MAX)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "rate.per_s", "rate %" PRIu32 " is outside 1..%d", c->per_s,
		    PROTO_RATE_MAX);
	if (c->burst < 1 || c->burst > PROTO_RATE_MAX)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "rate.burst", "burst %" PRIu32 " is outside 1..%d",
		    c->burst, PROTO_RATE_MAX);
	return 0;
}

int
proto_rate_init(struct proto_rate *b, const struct proto_rate_config *c,
    int64_t now_ms)
{
	if (b == NULL || c == NULL || rate_config_ok(c, NULL) != 0)
		return MRX_EINVAL;
	b->per_s = c->per_s;
	b->burst = c->burst;
	b->milli = (uint64_t)c->burst * 1000u;
	b->last_ms = now_ms;
	return 0;
}

static void
rate_refill(struct proto_rate *b, int64_t now_ms)
{
	uint64_t full = (uint64_t)b->burst * 1000u, elapsed;

	if (now_ms <= b->last_ms)
		return;
	/* the true difference is below 2^64: unsigned wrap-around is exact */
	elapsed = (uint64_t)now_ms - (uint64_t)b->last_ms;
	b->last_ms = now_ms;
	/* per_s >= 1 milli-token per ms: `full` ms always fill the bucket */
	if (elapsed >= full || full - b->milli <= elapsed * b->per_s)
		b->milli = full;
	else
		b->milli += elapsed * b->per_s;
}

bool
proto_rate_take(struct proto_rate *b, int64_t now_ms)
{
	assert(b != NULL && b->per_s >= 1);
	rate_refill(b, now_ms);
	if (b->milli < 1000u)
		return false;
	b->milli -= 1000u;
	return true;
}

/* ------------------------------------------------------------ SipHash */

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND							\
	do {								\
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;			\
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;			\
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

uint64_t
proto_siphash24(const uint8_t key[PROTO_HASH_KEY_LEN], const void *p,
    size_t n)
{
	const uint8_t *in = p;
	uint64_t k0 = le64(key), k1 = le64(key + 8), m, b;
	uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
	uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
	uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
	size_t i, left = n & 7;

	for (i = 0; i + 8 <= n; i += 8) {
		m = le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	b = (uint64_t)n << 56;
	for (i = 0; i < left; i++)
		b |= (uint64_t)in[n - left + i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ------------------------------------------------------------ replay */

struct replay_ent {
	uint8_t id[PROTO_ENV_ID_LEN];	/* the message id */
	int64_t t;			/* its send time */
	uint32_t home;			/* its home slot in the table */
};

struct proto_replay {
	struct proto_replay_config cfg;	/* validated */
	uint8_t key[PROTO_HASH_KEY_LEN];	/* SipHash key */
	int64_t floor;			/* t <= floor is refused; only rises */
	uint32_t head;			/* ring index of the oldest id */
	uint32_t count;			/* ids in the ring, <= cfg.ids_max */
	uint32_t mask;			/* slots - 1; slots a power of 2 */
	struct replay_ent *ring;	/* cfg.ids_max entries */
	uint32_t *slots;		/* 0 empty, else ring index + 1 */
};

static int
replay_config_ok(const struct proto_replay_config *c, struct mrx_diag *diag)
{
	if (c->ids_max < PROTO_REPLAY_IDS_MIN ||
	    c->ids_max > PROTO_REPLAY_IDS_MAX)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "replay.ids_max", "%" PRIu32 " ids is outside %d..%u",
		    c->ids_max, PROTO_REPLAY_IDS_MIN,
		    (unsigned)PROTO_REPLAY_IDS_MAX);
	if (c->window_s < 1 || c->window_s > PROTO_WINDOW_MAX_S)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "replay.window_s", "window %" PRId64 " s is outside 1..%d",
		    c->window_s, PROTO_WINDOW_MAX_S);
	if (c->skew_s < 0 || c->skew_s > PROTO_ENV_SKEW_MAX_S)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "replay.skew_s", "skew %" PRId64 " s is outside 0..%d",
		    c->skew_s, PROTO_ENV_SKEW_MAX_S);
	return 0;
}

int
proto_replay_new(const struct proto_replay_config *c,
    const uint8_t hash_key[PROTO_HASH_KEY_LEN], int64_t floor,
    struct proto_replay **out, struct mrx_diag *diag)
{
	struct proto_replay *r;
	uint32_t slots = 1;
	int rc;

	if (c == NULL || hash_key == NULL || out == NULL)
		return MRX_EINVAL;
	*out = NULL;
	rc = replay_config_ok(c, diag);
	if (rc != 0)
		return rc;
	while (slots < 2 * c->ids_max)
		slots <<= 1;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return MRX_ENOMEM;
	r->ring = calloc(c->ids_max, sizeof(*r->ring));
	r->slots = calloc(slots, sizeof(*r->slots));
	if (r->ring == NULL || r->slots == NULL) {
		proto_replay_free(r);
		return MRX_ENOMEM;
	}
	r->cfg = *c;
	memcpy(r->key, hash_key, PROTO_HASH_KEY_LEN);
	r->floor = floor;
	r->mask = slots - 1;
	*out = r;
	return 0;
}

void
proto_replay_free(struct proto_replay *r)
{
	if (r == NULL)
		return;
	free(r->ring);
	free(r->slots);
	free(r);
}

static uint32_t
replay_home(const struct proto_replay *r, const uint8_t *id)
{
	return (uint32_t)proto_siphash24(r->key, id, PROTO_ENV_ID_LEN) &
	    r->mask;
}

/* The slot holding `id`, or REPLAY_NONE. */
static uint32_t
replay_find(const struct proto_replay *r, const uint8_t *id, uint32_t home)
{
	uint32_t i, s;

	for (i = home; (s = r->slots[i]) != 0; i = (i + 1) & r->mask)
		if (memcmp(r->ring[s - 1].id, id, PROTO_ENV_ID_LEN) == 0)
			return i;
	return REPLAY_NONE;
}

/*
 * Empties slot i and shifts back the entries of its probe run that may
 * move (those whose home is not cyclically in (i, j]).
 */
static void
replay_unslot(struct proto_replay *r, uint32_t i)
{
	uint32_t j = i, k;

	for (;;) {
		j = (j + 1) & r->mask;
		if (r->slots[j] == 0)
			break;
		k = r->ring[r->slots[j] - 1].home;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		r->slots[i] = r->slots[j];
		i = j;
	}
	r->slots[i] = 0;
}

static int
window_test(const struct proto_replay *r, int64_t t, int64_t now,
    enum proto_refusal *why, struct mrx_diag *diag)
{
	int64_t lo = now < INT64_MIN + r->cfg.window_s ? INT64_MIN :
	    now - r->cfg.window_s;
	int64_t hi = now > INT64_MAX - r->cfg.skew_s ? INT64_MAX :
	    now + r->cfg.skew_s;

	if (t < lo)
		return refuse(why, PROTO_REFUSE_TOO_OLD, mrx_diag_set(diag,
		    MRX_ERANGE, MRX_DIAG_NO_OFFSET, "payload.t", "sent at %"
		    PRId64 ", more than %" PRId64 " s before now %" PRId64, t,
		    r->cfg.window_s, now));
	if (t > hi)
		return refuse(why, PROTO_REFUSE_FROM_THE_FUTURE,
		    mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.t", "sent at %" PRId64 ", more than %" PRId64
		    " s after now %" PRId64, t, r->cfg.skew_s, now));
	return 0;
}

int
proto_replay_test(const struct proto_replay *r,
    const uint8_t id[PROTO_ENV_ID_LEN], int64_t t, int64_t now,
    enum proto_refusal *why, struct mrx_diag *diag)
{
	int rc;

	assert(r != NULL && id != NULL);
	refuse(why, PROTO_REFUSE_NONE, 0);
	rc = window_test(r, t, now, why, diag);
	if (rc != 0)
		return rc;
	if (replay_find(r, id, replay_home(r, id)) != REPLAY_NONE)
		return refuse(why, PROTO_REFUSE_REPLAYED, mrx_diag_set(diag,
		    MRX_EDUP, MRX_DIAG_NO_OFFSET, "payload.id",
		    "this message id was seen before"));
	if (t <= r->floor)
		return refuse(why, PROTO_REFUSE_REPLAY_FLOOR,
		    mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "payload.t", "sent at %" PRId64 ", at or below the replay "
		    "floor %" PRId64 ": its id may have been forgotten", t,
		    r->floor));
	return 0;
}

void
proto_replay_add(struct proto_replay *r, const uint8_t id[PROTO_ENV_ID_LEN],
    int64_t t)
{
	struct replay_ent *e;
	uint32_t home = replay_home(r, id), at, i;

	assert(replay_find(r, id, home) == REPLAY_NONE);
	if (r->count == r->cfg.ids_max) {
		/* Full: forget the oldest id, refuse its time from now on. */
		e = &r->ring[r->head];
		if (e->t > r->floor)
			r->floor = e->t;
		replay_unslot(r, replay_find(r, e->id, e->home));
		at = r->head;
		r->head = (r->head + 1) % r->cfg.ids_max;
	} else {
		at = (r->head + r->count) % r->cfg.ids_max;
		r->count++;
	}
	e = &r->ring[at];
	memcpy(e->id, id, PROTO_ENV_ID_LEN);
	e->t = t;
	e->home = home;
	for (i = home; r->slots[i] != 0; i = (i + 1) & r->mask)
		;
	r->slots[i] = at + 1;
}

int
proto_replay_check(struct proto_replay *r, const uint8_t id[PROTO_ENV_ID_LEN],
    int64_t t, int64_t now, enum proto_refusal *why, struct mrx_diag *diag)
{
	int rc = proto_replay_test(r, id, t, now, why, diag);

	if (rc == 0)
		proto_replay_add(r, id, t);
	return rc;
}

int64_t
proto_replay_floor(const struct proto_replay *r)
{
	return r->floor;
}

size_t
proto_replay_count(const struct proto_replay *r)
{
	return r->count;
}

bool
proto_replay_consistent(const struct proto_replay *r)
{
	uint32_t i, at, used = 0;

	if (r == NULL || r->count > r->cfg.ids_max ||
	    r->head >= r->cfg.ids_max)
		return false;
	for (i = 0; i <= r->mask; i++)
		used += r->slots[i] != 0;
	if (used != r->count)
		return false;
	for (i = 0; i < r->count; i++) {
		at = (r->head + i) % r->cfg.ids_max;
		if (r->ring[at].home != replay_home(r, r->ring[at].id))
			return false;
		if (replay_find(r, r->ring[at].id, r->ring[at].home) ==
		    REPLAY_NONE)
			return false;
	}
	return true;
}

/* ------------------------------------------------------------ peers */

struct proto_peer_table {
	struct proto_peer_table_config cfg;	/* validated */
	uint8_t hash_key[PROTO_HASH_KEY_LEN];	/* for the replay sets */
	struct proto_peer *peers;	/* cfg.peers_max, the first n in use */
	uint32_t *by_id;		/* n indices into peers, by id */
	uint32_t *by_kid;		/* n indices into peers, by kid */
	size_t n;			/* peers in the table */
};

void
proto_peer_table_config_default(struct proto_peer_table_config *c)
{
	memset(c, 0, sizeof(*c));
	c->peers_max = PROTO_PEERS_DEFAULT;
	c->replay.ids_max = PROTO_REPLAY_IDS_DEFAULT;
	c->replay.window_s = PROTO_WINDOW_DEFAULT_S;
	c->replay.skew_s = PROTO_ENV_SKEW_DEFAULT_S;
	c->rate.per_s = PROTO_RATE_DEFAULT_PER_S;
	c->rate.burst = PROTO_RATE_DEFAULT_BURST;
}

int
proto_peer_table_new(const struct proto_peer_table_config *c,
    const uint8_t hash_key[PROTO_HASH_KEY_LEN], struct proto_peer_table **out,
    struct mrx_diag *diag)
{
	struct proto_peer_table *t;
	int rc;

	if (c == NULL || hash_key == NULL || out == NULL)
		return MRX_EINVAL;
	*out = NULL;
	if (c->peers_max < 1 || c->peers_max > PROTO_PEERS_MAX)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "peers_max", "%" PRIu32 " peers is outside 1..%d",
		    c->peers_max, PROTO_PEERS_MAX);
	rc = replay_config_ok(&c->replay, diag);
	if (rc == 0)
		rc = rate_config_ok(&c->rate, diag);
	if (rc != 0)
		return rc;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return MRX_ENOMEM;
	t->peers = calloc(c->peers_max, sizeof(*t->peers));
	t->by_id = calloc(c->peers_max, sizeof(*t->by_id));
	t->by_kid = calloc(c->peers_max, sizeof(*t->by_kid));
	if (t->peers == NULL || t->by_id == NULL || t->by_kid == NULL) {
		proto_peer_table_free(t);
		return MRX_ENOMEM;
	}
	t->cfg = *c;
	memcpy(t->hash_key, hash_key, PROTO_HASH_KEY_LEN);
	*out = t;
	return 0;
}

void
proto_peer_table_free(struct proto_peer_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		proto_replay_free(t->peers[i].replay);
	free(t->peers);
	free(t->by_id);
	free(t->by_kid);
	free(t);
}

size_t
proto_peer_count(const struct proto_peer_table *t)
{
	return t != NULL ? t->n : 0;
}

/*
 * Binary search of an index array: the position of the first entry not
 * below the probe (cmp(entry) >= 0), and whether it is equal.
 */
static size_t
search(const struct proto_peer_table *t, const uint32_t *idx,
    int (*cmp)(const struct proto_peer *, const void *), const void *probe,
    bool *found)
{
	size_t lo = 0, hi = t->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = cmp(&t->peers[idx[mid]], probe);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < t->n && cmp(&t->peers[idx[lo]], probe) == 0;
	return lo;
}

static int
cmp_id(const struct proto_peer *p, const void *id)
{
	return strcmp(p->id, id);
}

static int
cmp_kid(const struct proto_peer *p, const void *kid)
{
	return memcmp(cry_key_kid(p->key), kid, CRY_KID_LEN);
}

static struct proto_peer *
peer_by_id(const struct proto_peer_table *t, const char *id)
{
	bool found;
	size_t at;

	if (t == NULL || id == NULL)
		return NULL;
	at = search(t, t->by_id, cmp_id, id, &found);
	return found ? &t->peers[t->by_id[at]] : NULL;
}

const struct proto_peer *
proto_peer_find(const struct proto_peer_table *t, const char *id)
{
	return peer_by_id(t, id);
}

const struct proto_peer *
proto_peer_find_kid(const struct proto_peer_table *t,
    const uint8_t kid[CRY_KID_LEN])
{
	bool found;
	size_t at;

	if (t == NULL || kid == NULL)
		return NULL;
	at = search(t, t->by_kid, cmp_kid, kid, &found);
	return found ? &t->peers[t->by_kid[at]] : NULL;
}

static int
peer_spec_ok(const struct proto_peer_table *t, const struct proto_peer_spec *s,
    struct mrx_diag *diag)
{
	if (s->id == NULL || !proto_id_valid(s->id))
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET, "id",
		    "the peer's id is not a node id");
	if (s->key == NULL)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET, "key",
		    "peer %s has no key", s->id);
	if ((s->allowed_types & ~PROTO_MSG_ALL) != 0)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "allowed_types", "ACL 0x%" PRIx32 " of peer %s names "
		    "undefined types", s->allowed_types, s->id);
	if (s->rate != NULL && rate_config_ok(s->rate, diag) != 0)
		return MRX_EINVAL;
	if (peer_by_id(t, s->id) != NULL)
		return mrx_diag_set(diag, MRX_EEXIST, MRX_DIAG_NO_OFFSET, "id",
		    "peer %s is already in the table", s->id);
	if (proto_peer_find_kid(t, cry_key_kid(s->key)) != NULL)
		return mrx_diag_set(diag, MRX_EEXIST, MRX_DIAG_NO_OFFSET, "key",
		    "the key of peer %s is already peer %s's", s->id,
		    proto_peer_find_kid(t, cry_key_kid(s->key))->id);
	if (t->n >= t->cfg.peers_max)
		return mrx_diag_set(diag, MRX_ENOSPC, MRX_DIAG_NO_OFFSET, "id",
		    "the table is full (%" PRIu32 " peers)", t->cfg.peers_max);
	return 0;
}

/* Inserts index `v` at position `at` of an array of n entries. */
static void
insert_at(uint32_t *a, size_t n, size_t at, uint32_t v)
{
	memmove(a + at + 1, a + at, (n - at) * sizeof(*a));
	a[at] = v;
}

int
proto_peer_add(struct proto_peer_table *t, const struct proto_peer_spec *s,
    int64_t now_ms, struct mrx_diag *diag)
{
	struct proto_peer p;
	size_t at_id, at_kid;
	bool found;
	int rc;

	if (t == NULL || s == NULL)
		return MRX_EINVAL;
	rc = peer_spec_ok(t, s, diag);
	if (rc != 0)
		return rc;
	memset(&p, 0, sizeof(p));
	snprintf(p.id, sizeof(p.id), "%s", s->id);
	p.key = s->key;
	p.allowed_types = s->allowed_types;
	rc = proto_rate_init(&p.rate, s->rate != NULL ? s->rate : &t->cfg.rate,
	    now_ms);
	assert(rc == 0);
	rc = proto_replay_new(&t->cfg.replay, t->hash_key, s->replay_floor,
	    &p.replay, diag);
	if (rc != 0)
		return rc;
	at_id = search(t, t->by_id, cmp_id, p.id, &found);
	at_kid = search(t, t->by_kid, cmp_kid, cry_key_kid(p.key), &found);
	t->peers[t->n] = p;
	insert_at(t->by_id, t->n, at_id, (uint32_t)t->n);
	insert_at(t->by_kid, t->n, at_kid, (uint32_t)t->n);
	t->n++;
	return 0;
}

int
proto_peer_check(const struct proto_peer_table *t,
    const struct proto_envelope *env, const char *self_id,
    enum proto_refusal *why, struct mrx_diag *diag)
{
	const struct proto_peer *p;
	bool bcast;
	int rc;

	refuse(why, PROTO_REFUSE_NONE, 0);
	if (t == NULL || env == NULL || env->kid == NULL || self_id == NULL ||
	    !proto_id_valid(self_id) || !type_defined((uint64_t)env->type))
		return MRX_EINVAL;
	p = peer_by_id(t, env->from);
	if (p == NULL)
		return refuse(why, PROTO_REFUSE_UNKNOWN_PEER, mrx_diag_set(diag,
		    MRX_ENOENT, MRX_DIAG_NO_OFFSET, "payload.from",
		    "%s is not a peer of this node", env->from));
	if (memcmp(env->kid, cry_key_kid(p->key), CRY_KID_LEN) != 0)
		return refuse(why, PROTO_REFUSE_WRONG_KEY, mrx_diag_set(diag,
		    MRX_EKEY, MRX_DIAG_NO_OFFSET, "protected.kid",
		    "the kid is not the key of peer %s", p->id));
	rc = proto_envelope_verify(env, p->key, diag);
	if (rc == MRX_ENOMEM || rc == MRX_ECRYPTO)
		return rc;
	if (rc != 0)
		return refuse(why, PROTO_REFUSE_BAD_SIGNATURE, rc);
	bcast = proto_msg_type_broadcast(env->type);
	if (strcmp(env->to, bcast ? PROTO_ENV_BROADCAST : self_id) != 0)
		return refuse(why, PROTO_REFUSE_REROUTED, mrx_diag_set(diag,
		    MRX_ERANGE, MRX_DIAG_NO_OFFSET, "payload.to",
		    "a %s to \"%s\" is not for %s", proto_msg_type_name(
		    env->type), env->to, bcast ? "a subscriber" : self_id));
	if ((p->allowed_types & PROTO_MSG_BIT(env->type)) == 0)
		return refuse(why, PROTO_REFUSE_FORBIDDEN_TYPE,
		    mrx_diag_set(diag, MRX_EPERM, MRX_DIAG_NO_OFFSET,
		    "payload.type", "peer %s may not send a %s", p->id,
		    proto_msg_type_name(env->type)));
	return 0;
}

/* Seconds of a millisecond time, rounded down (also below zero). */
static int64_t
ms_to_s(int64_t ms)
{
	return ms >= 0 ? ms / 1000 : -((-(ms + 1)) / 1000) - 1;
}

int
proto_peer_accept(struct proto_peer_table *t,
    const struct proto_envelope *env, int64_t now_ms, enum proto_refusal *why,
    struct mrx_diag *diag)
{
	struct proto_peer *p;
	int rc;

	refuse(why, PROTO_REFUSE_NONE, 0);
	if (t == NULL || env == NULL)
		return MRX_EINVAL;
	p = peer_by_id(t, env->from);
	if (p == NULL)
		return refuse(why, PROTO_REFUSE_UNKNOWN_PEER, mrx_diag_set(diag,
		    MRX_ENOENT, MRX_DIAG_NO_OFFSET, "payload.from",
		    "%s is not a peer of this node", env->from));
	rc = proto_replay_test(p->replay, env->id, env->t, ms_to_s(now_ms),
	    why, diag);
	if (rc != 0)
		return rc;
	if (!proto_rate_take(&p->rate, now_ms))
		return refuse(why, PROTO_REFUSE_RATE_LIMITED, mrx_diag_set(diag,
		    MRX_ENOSPC, MRX_DIAG_NO_OFFSET, "payload.from",
		    "peer %s is over its rate (%" PRIu32 "/s, burst %" PRIu32
		    ")", p->id, p->rate.per_s, p->rate.burst));
	proto_replay_add(p->replay, env->id, env->t);
	return 0;
}

/* ------------------------------------------------------------ blinded key */

/* An output buffer of the normalised input. */
struct nbuf {
	uint8_t b[PROTO_BLIND_INPUT_MAX];
	size_t n;
};

static void
nput(struct nbuf *o, const void *p, size_t n)
{
	assert(o->n + n <= sizeof(o->b));
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

/* One RFC 3629 code point at p (n > 0 bytes): its length, or 0 if invalid. */
static size_t
utf8_cp(const uint8_t *p, size_t n, uint32_t *cp)
{
	size_t len, k;
	uint32_t v, min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		len = 2;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	v = p[0] & (0x7fu >> len);
	for (k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[k] & 0x3fu);
	}
	min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* The Unicode White_Space property (PropList.txt; stable since 6.3). */
static bool
is_white(uint32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 ||
	    cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	    cp == 0x3000;
}

/* C0 and C1 controls and DEL (the white-space ones are tested first). */
static bool
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

static int
blind_name(const char *name, struct nbuf *o, struct mrx_diag *diag)
{
	const uint8_t *p = (const uint8_t *)name;
	size_t n = strnlen(name, PROTO_BLIND_NAME_MAX + 1), i, len;
	size_t start = o->n;
	bool gap = false;
	uint32_t cp;
	uint8_t c;

	if (n > PROTO_BLIND_NAME_MAX)
		return mrx_diag_set(diag, MRX_ETOOBIG, PROTO_BLIND_NAME_MAX,
		    "name", "a name is at most %d bytes", PROTO_BLIND_NAME_MAX);
	for (i = 0; i < n; i += len) {
		len = utf8_cp(p + i, n - i, &cp);
		if (len == 0)
			return mrx_diag_set(diag, MRX_EMALFORMED, i, "name",
			    "the name is not valid UTF-8");
		if (is_white(cp)) {
			gap = true;
			continue;
		}
		if (is_control(cp))
			return mrx_diag_set(diag, MRX_ERANGE, i, "name",
			    "control character U+%04" PRIX32 " in the name",
			    cp);
		if (gap && o->n > start)
			nput(o, " ", 1);
		gap = false;
		if (cp >= 'a' && cp <= 'z') {
			c = (uint8_t)(cp - 'a' + 'A');
			nput(o, &c, 1);
		} else {
			nput(o, p + i, len);
		}
	}
	if (o->n == start)
		return mrx_diag_set(diag, MRX_EMISSING, 0, "name",
		    "the name is empty");
	return 0;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
blind_dob(const char *dob, struct nbuf *o, struct mrx_diag *diag)
{
	static const int days[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	static const size_t digit_at[8] = { 0, 1, 2, 3, 5, 6, 8, 9 };
	int y, m, d;
	size_t i;
	bool leap;

	if (strnlen(dob, 11) != 10 || dob[4] != '-' || dob[7] != '-')
		return mrx_diag_set(diag, MRX_ERANGE, 0, "dob",
		    "a date of birth is YYYY-MM-DD");
	for (i = 0; i < NELEM(digit_at); i++)
		if (!is_digit(dob[digit_at[i]]))
			return mrx_diag_set(diag, MRX_ERANGE, digit_at[i],
			    "dob", "a date of birth is YYYY-MM-DD");
	y = (dob[0] - '0') * 1000 + (dob[1] - '0') * 100 +
	    (dob[2] - '0') * 10 + (dob[3] - '0');
	m = (dob[5] - '0') * 10 + (dob[6] - '0');
	d = (dob[8] - '0') * 10 + (dob[9] - '0');
	leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
	if (y < 1)
		return mrx_diag_set(diag, MRX_ERANGE, 0, "dob",
		    "year 0000 is not a date");
	if (m < 1 || m > 12)
		return mrx_diag_set(diag, MRX_ERANGE, 5, "dob",
		    "month %02d is not a month", m);
	if (d < 1 || d > days[m - 1] || (m == 2 && d == 29 && !leap))
		return mrx_diag_set(diag, MRX_ERANGE, 8, "dob",
		    "%s is not a date", dob);
	nput(o, dob, 10);
	return 0;
}

static int
blind_nationality(const char *nat, struct nbuf *o, struct mrx_diag *diag)
{
	uint8_t c[3];
	size_t i;

	if (strnlen(nat, 4) != 3)
		return mrx_diag_set(diag, MRX_ERANGE, 0, "nationality",
		    "a nationality is an ISO 3166-1 alpha-3 code");
	for (i = 0; i < 3; i++) {
		c[i] = (uint8_t)nat[i];
		if (c[i] >= 'a' && c[i] <= 'z')
			c[i] = (uint8_t)(c[i] - 'a' + 'A');
		if (c[i] < 'A' || c[i] > 'Z')
			return mrx_diag_set(diag, MRX_ERANGE, i, "nationality",
			    "a nationality is three letters (ISO 3166-1 "
			    "alpha-3)");
	}
	nput(o, c, 3);
	return 0;
}

int
proto_blind_normalise(const char *name, const char *dob,
    const char *nationality, uint8_t *buf, size_t cap, size_t *len,
    struct mrx_diag *diag)
{
	static const uint8_t sep = 0x1f;
	struct nbuf o;
	int rc;

	if (name == NULL || dob == NULL || nationality == NULL || len == NULL)
		return MRX_EINVAL;
	*len = 0;
	o.n = 0;
	nput(&o, PROTO_BLIND_LABEL, sizeof(PROTO_BLIND_LABEL) - 1);
	nput(&o, &sep, 1);
	rc = blind_name(name, &o, diag);
	if (rc == 0) {
		nput(&o, &sep, 1);
		rc = blind_dob(dob, &o, diag);
	}
	if (rc == 0) {
		nput(&o, &sep, 1);
		rc = blind_nationality(nationality, &o, diag);
	}
	if (rc != 0)
		return rc;
	*len = o.n;
	if (buf == NULL || cap < o.n)
		return MRX_ENOSPC;
	memcpy(buf, o.b, o.n);
	return 0;
}

int
proto_blind_key(const uint8_t *key, size_t keylen, const char *name,
    const char *dob, const char *nationality, uint8_t out[PROTO_BLIND_LEN],
    struct mrx_diag *diag)
{
	uint8_t in[PROTO_BLIND_INPUT_MAX];
	size_t n;
	int rc;

	if (key == NULL || out == NULL)
		return MRX_EINVAL;
	if (keylen < PROTO_BLIND_KEY_MIN || keylen > PROTO_BLIND_KEY_MAX)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET, "key",
		    "an agreement key is %d..%d bytes, not %zu",
		    PROTO_BLIND_KEY_MIN, PROTO_BLIND_KEY_MAX, keylen);
	rc = proto_blind_normalise(name, dob, nationality, in, sizeof(in), &n,
	    diag);
	if (rc == 0)
		rc = cry_hmac_sha256(key, keylen, in, n, out);
	return rc;
}
