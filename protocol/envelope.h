/*
 * envelope.h - the signed node-to-node envelope, and what a node checks
 * before it lets a peer's message in; plus the pairwise blinded key of
 * cross-border look-ups. docs/protocol.md ("Node-to-node envelope") and
 * docs/mrx.cddl are the normative description.
 *
 * An envelope is a tagged COSE_Sign1 made with the sending node's key, with
 * external AAD PROTO_ENV_AAD, whose payload is a closed, deterministically
 * encoded CBOR map {"t", "id", "to", "body", "from", "type"}. It carries one
 * message (its body) from one node to another ("to" a node id), or to
 * every subscriber of a broadcast ("to" "*", for the broadcast types only).
 *
 * A receiving node takes four steps; each refusal is an MRX_E* code, a
 * diag naming the field, and an enum proto_refusal whose name is stable and
 * fit for a metrics label ("unknown-peer", "replayed", ...):
 *  1. proto_envelope_open(): strict decoding of untrusted bytes, no key.
 *  2. proto_peer_check(): the sender is a configured peer, the kid is that
 *     peer's key, the signature verifies, the message is addressed to this
 *     node (or is a broadcast of a broadcast type), and the peer's ACL
 *     allows the type. Read-only: may run on a verify worker thread.
 *  3. proto_peer_accept(): the send time is inside the window, the id was
 *     not seen before, and the peer's token bucket has a token; then the id
 *     is remembered. Changes state: the loop thread only.
 *  4. The body goes to the engine.
 *
 * Pure: no clock, file, socket, thread or random source. Time (`now`,
 * `now_ms`) and randomness (message ids, the hash key of the replay sets)
 * are inputs. Nothing depends on a pointer value or a hash seed taken from
 * an address; hashing only places ids in a table and never changes an
 * answer. No floating point.
 */
#ifndef PROTO_ENVELOPE_H
#define PROTO_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cose.h"
#include "key.h"
#include "mrx_err.h"
#include "record.h"

#define PROTO_ENV_ID_LEN 16		/* message id: random, by the sender */
/* Bytes of a body: the largest record (a status list) fits. */
#define PROTO_ENV_BODY_MAX PROTO_STATUS_LIST_MAX
#define PROTO_ENV_ROOM 512		/* envelope bytes around a body */
/* Bytes of an envelope: 1049088. */
#define PROTO_ENV_MAX (PROTO_ENV_BODY_MAX + PROTO_ENV_ROOM)
/* An output capacity that always suffices for a body of n bytes. */
#define PROTO_ENV_SIZE(n) ((size_t)(n) + PROTO_ENV_ROOM)
#define PROTO_ENV_BROADCAST "*"		/* "to" of a broadcast */
#define PROTO_ENV_AAD "mrx-envelope-v1"	/* COSE external AAD (15 bytes) */

#define PROTO_WINDOW_DEFAULT_S 300	/* oldest t accepted: now - 300 */
#define PROTO_WINDOW_MAX_S 86400
#define PROTO_ENV_SKEW_DEFAULT_S 60	/* newest: now + 60 (as decide.h) */
#define PROTO_ENV_SKEW_MAX_S 3600
#define PROTO_REPLAY_IDS_DEFAULT 4096	/* ids remembered per peer */
#define PROTO_REPLAY_IDS_MIN 16
#define PROTO_REPLAY_IDS_MAX (1u << 20)
#define PROTO_PEERS_DEFAULT 64		/* peers of one node */
#define PROTO_PEERS_MAX 1024
#define PROTO_RATE_DEFAULT_PER_S 100	/* messages per second per peer */
#define PROTO_RATE_DEFAULT_BURST 200	/* bucket size, messages */
#define PROTO_RATE_MAX 1000000		/* largest rate or burst */
#define PROTO_HASH_KEY_LEN 16		/* SipHash key of the replay sets */

#define PROTO_BLIND_LEN 32		/* HMAC-SHA-256 output */
#define PROTO_BLIND_KEY_MIN 32		/* agreement key bytes */
#define PROTO_BLIND_KEY_MAX 64
#define PROTO_BLIND_NAME_MAX 256	/* bytes of a name as given */
#define PROTO_BLIND_LABEL "mrx-blind-v1" /* first field of the HMAC input */
/* Bytes of the HMAC input: label, name, dob, nationality and 3 separators. */
#define PROTO_BLIND_INPUT_MAX (12 + 1 + PROTO_BLIND_NAME_MAX + 1 + 10 + 1 + 3)

/*
 * Message types; the wire value is the number. Each peer's ACL is a mask
 * of PROTO_MSG_BIT(type). Broadcast types are sent to "*", every other type
 * to one node.
 */
enum proto_msg_type {
	PROTO_MSG_NONE = 0,
	PROTO_MSG_FEED_RECORD = 1,	/* "feed-record" (broadcast) */
	PROTO_MSG_CATCHUP_REQUEST = 2,	/* "catchup-request": feed from seq */
	PROTO_MSG_CATCHUP_RESPONSE = 3,	/* "catchup-response": its records */
	PROTO_MSG_PRESENT = 4,		/* "present": a clearance to decide */
	PROTO_MSG_PRESENT_RESPONSE = 5,	/* "present-response": the decision */
	PROTO_MSG_CONFIRM_REQUEST = 6,	/* "confirm-request": by blinded key */
	PROTO_MSG_CONFIRM_RESPONSE = 7,	/* "confirm-response" */
	PROTO_MSG_LOOKUP_SURVEY = 8,	/* "lookup-survey" (broadcast) */
	PROTO_MSG_LOOKUP_RESPONSE = 9,	/* "lookup-response" */
	PROTO_MSG_FETCH_REQUEST = 10,	/* "fetch-request": a record by id */
	PROTO_MSG_FETCH_RESPONSE = 11,	/* "fetch-response" */
	PROTO_MSG_REFUSAL = 12,		/* "refusal": a request was refused */
	PROTO_MSG_COUNT
};
_Static_assert(PROTO_MSG_COUNT <= 32, "ACLs are 32-bit masks");

#define PROTO_MSG_BIT(t) (UINT32_C(1) << (unsigned)(t))
/* Every defined type (bits 1 .. PROTO_MSG_COUNT - 1). */
#define PROTO_MSG_ALL ((PROTO_MSG_BIT(PROTO_MSG_COUNT) - 1u) & ~UINT32_C(1))

const char *proto_msg_type_name(enum proto_msg_type t); /* "present", NULL */
int proto_msg_type_parse(const char *s, enum proto_msg_type *out);
/* True for the types sent to "*" (feed-record, lookup-survey). */
bool proto_msg_type_broadcast(enum proto_msg_type t);

/* Why a message was refused; names are stable (metrics labels, logs). */
enum proto_refusal {
	PROTO_REFUSE_NONE = 0,		/* "": accepted, or a local failure */
	PROTO_REFUSE_TOO_BIG,		/* "too-big": message or body */
	PROTO_REFUSE_MALFORMED,		/* "malformed": not an envelope */
	PROTO_REFUSE_UNKNOWN_TYPE,	/* "unknown-type": type not defined */
	PROTO_REFUSE_UNKNOWN_PEER,	/* "unknown-peer": "from" not a peer */
	PROTO_REFUSE_WRONG_KEY,		/* "wrong-key": not the peer's kid */
	PROTO_REFUSE_BAD_SIGNATURE,	/* "bad-signature" */
	PROTO_REFUSE_REROUTED,		/* "re-routed": not for this node */
	PROTO_REFUSE_FORBIDDEN_TYPE,	/* "forbidden-type": not in the ACL */
	PROTO_REFUSE_TOO_OLD,		/* "too-old": t < now - window */
	PROTO_REFUSE_FROM_THE_FUTURE,	/* "from-the-future": t > now + skew */
	PROTO_REFUSE_REPLAYED,		/* "replayed": this id was seen */
	PROTO_REFUSE_REPLAY_FLOOR,	/* "replay-floor": t <= the floor */
	PROTO_REFUSE_RATE_LIMITED,	/* "rate-limited": bucket empty */
	PROTO_REFUSE_COUNT
};

/* The refusal's name ("replayed"); "" for NONE; never NULL. */
const char *proto_refusal_name(enum proto_refusal r);

/* ------------------------------------------------------------ envelope */

/*
 * A decoded envelope. Views (cose, kid, body) point into the input bytes,
 * which must outlive the struct; the rest is copied.
 */
struct proto_envelope {
	struct cry_sign1 cose;		/* COSE_Sign1: views into the input */
	const uint8_t *kid;		/* CRY_KID_LEN bytes (protected) */
	char from[PROTO_ID_MAX + 1];	/* sender node id */
	char to[PROTO_ID_MAX + 1];	/* recipient node id, or "*" */
	uint8_t id[PROTO_ENV_ID_LEN];	/* message id */
	int64_t t;			/* send time, NumericDate */
	enum proto_msg_type type;	/* a defined type */
	const uint8_t *body;		/* the message: body_len bytes */
	size_t body_len;		/* <= PROTO_ENV_BODY_MAX */
};

/*
 * Seals `body` from node `from` to `to` (a node id, or "*" exactly when
 * `type` is a broadcast type) as a tagged COSE_Sign1 signed with `key`,
 * which must hold its private part. `t` is the send time (0 ..
 * 253402300799) and `id` 16 fresh random bytes, both the caller's.
 * Writes into out (cap bytes); *out_len gets the size, also the size
 * needed when the result is MRX_ENOSPC. PROTO_ENV_SIZE(body_len) always
 * suffices. Returns 0, MRX_EINVAL (a key without its private part, a bad
 * id, type, time or addressing; diag names the argument), MRX_ETOOBIG
 * (body over PROTO_ENV_BODY_MAX), MRX_ENOSPC, MRX_ENOMEM, or an error of
 * cry_sign1_sign(). The caller owns out, also on error (its content is
 * then unspecified).
 */
int proto_envelope_seal(const struct cry_key *key, const char *from,
    const char *to, enum proto_msg_type type, int64_t t,
    const uint8_t id[PROTO_ENV_ID_LEN], const uint8_t *body, size_t body_len,
    uint8_t *out, size_t cap, size_t *out_len, struct mrx_diag *diag);

/*
 * Decodes untrusted envelope bytes strictly, without verifying the
 * signature. Refuses: more than PROTO_ENV_MAX bytes or a body over
 * PROTO_ENV_BODY_MAX (MRX_ETOOBIG, "too-big"); a type this node does not
 * define (MRX_ERANGE on payload.type, "unknown-type"); and as "malformed"
 * every other breach: COSE structure (errors of cry_sign1_decode()), a
 * detached payload, alg or kid absent from the protected header, an alg
 * other than EdDSA or ES256, a kid that is not 16 bytes, a signature that
 * is not 64 bytes, a payload that is not the closed map of six fields in
 * core deterministic encoding, a field of the wrong type, an id that is
 * not 16 bytes, a node id of bad syntax, a time out of range, trailing
 * bytes. `env` is zeroed first and filled only on success; *why (may be
 * NULL) is the refusal, NONE on success.
 */
int proto_envelope_open(const uint8_t *msg, size_t len,
    struct proto_envelope *env, enum proto_refusal *why,
    struct mrx_diag *diag);

/*
 * Verifies the envelope's signature with `key`: the kid must be the key's
 * (MRX_EKEY, "protected.kid"), the alg the key's (MRX_EALG), and the
 * signature over the payload with external AAD PROTO_ENV_AAD must verify
 * (MRX_ESIG). MRX_ENOMEM or MRX_ECRYPTO on a local failure.
 */
int proto_envelope_verify(const struct proto_envelope *env,
    const struct cry_key *key, struct mrx_diag *diag);

/* ------------------------------------------------------------ rate limit */

/* A token bucket's parameters. */
struct proto_rate_config {
	uint32_t per_s;			/* tokens a second, 1..PROTO_RATE_MAX */
	uint32_t burst;			/* bucket size, 1..PROTO_RATE_MAX */
};

/*
 * A token bucket in integer milli-tokens: it refills at per_s tokens per
 * second of `now_ms`, up to burst tokens, and one message takes one token.
 * A clock that goes backwards adds nothing (and does not move last_ms back).
 */
struct proto_rate {
	uint64_t milli;			/* tokens x 1000, <= burst x 1000 */
	int64_t last_ms;		/* time of the last refill */
	uint32_t per_s;			/* refill rate */
	uint32_t burst;			/* capacity */
};

/* Fills `b`: full at now_ms. MRX_EINVAL: rate or burst out of range. */
int proto_rate_init(struct proto_rate *b, const struct proto_rate_config *c,
    int64_t now_ms);

/*
 * Refills for the time since the last call, then takes one token: true,
 * or false (refusal "rate-limited") with the bucket unchanged but for the
 * refill. O(1).
 */
bool proto_rate_take(struct proto_rate *b, int64_t now_ms);

/* ------------------------------------------------------------ replay */

/* A replay set's parameters. */
struct proto_replay_config {
	uint32_t ids_max;	/* ids remembered, PROTO_REPLAY_IDS_MIN..MAX */
	int64_t window_s;	/* oldest t: now - window_s (1 s..1 day) */
	int64_t skew_s;		/* newest t: now + skew_s (0..1 h) */
};

/*
 * The recent message ids of one peer: a ring of the last ids_max ids
 * accepted (oldest first) indexed by an open-addressing hash table keyed
 * with SipHash-2-4 under the caller's hash key. Memory, allocated once:
 * 32 x ids_max bytes for the ring and 4 bytes per table slot, the slots
 * being the power of two at or above 2 x ids_max (at most half full).
 *
 * The floor: when the ring is full, adding an id evicts the oldest one and
 * raises the floor to the evicted id's time if that is higher. A message
 * with t <= floor is refused ("replay-floor"), because its id may have
 * been evicted. Guarantee (tested): an id accepted once is never accepted
 * again, whatever the load -- while t is inside the window it is either
 * still in the set ("replayed") or t <= floor ("replay-floor"); after, it
 * is "too-old". The cost of overload is refusing, never accepting:
 * legitimate messages at or below the floor are refused. Beyond the
 * initial floor, a legitimate message is refused as "replay-floor" only
 * if a message sent no earlier than it was accepted before it and then
 * followed by ids_max more accepted messages: with a rate limit of R per
 * second and burst B, only if it arrives at least (ids_max - B) / R
 * seconds after a message sent no earlier than it.
 */
struct proto_replay;

/*
 * Makes a set with `floor` as its initial floor: the set cannot know what
 * was accepted before it existed. A node that starts (or restarts) with
 * empty sets passes now + skew_s for the guarantee above to hold across
 * the restart (any message accepted before it had t <= its then now +
 * skew_s), at the cost of refusing messages sent in the first skew_s
 * seconds; passing now leaves a replay open for messages accepted in the
 * last skew_s seconds before the restart from a peer whose clock runs
 * ahead. A fresh federation (a simulation at time 0) may pass -1. `hash_key`
 * is 16 random bytes (an input: the simulator derives it from its seed).
 * *out is the caller's (proto_replay_free). MRX_EINVAL for a parameter out
 * of range (diag names it), MRX_ENOMEM.
 */
int proto_replay_new(const struct proto_replay_config *c,
    const uint8_t hash_key[PROTO_HASH_KEY_LEN], int64_t floor,
    struct proto_replay **out, struct mrx_diag *diag);

void proto_replay_free(struct proto_replay *r);	/* NULL is fine */

/*
 * Would a message with `id` sent at `t` be accepted at `now`? Read-only.
 * Returns 0, or MRX_ERANGE with *why TOO_OLD (t < now - window_s),
 * FROM_THE_FUTURE (t > now + skew_s) or REPLAY_FLOOR (t <= floor), or
 * MRX_EDUP with *why REPLAYED (the id is in the set). O(1) expected.
 */
int proto_replay_test(const struct proto_replay *r,
    const uint8_t id[PROTO_ENV_ID_LEN], int64_t t, int64_t now,
    enum proto_refusal *why, struct mrx_diag *diag);

/*
 * Remembers `id` sent at `t`, evicting the oldest id when the set is full
 * (and raising the floor to its time). The id must not be in the set
 * (assert): call it after proto_replay_test() returned 0. O(1) expected.
 */
void proto_replay_add(struct proto_replay *r,
    const uint8_t id[PROTO_ENV_ID_LEN], int64_t t);

/* proto_replay_test(), then proto_replay_add() if it returned 0. */
int proto_replay_check(struct proto_replay *r,
    const uint8_t id[PROTO_ENV_ID_LEN], int64_t t, int64_t now,
    enum proto_refusal *why, struct mrx_diag *diag);

int64_t proto_replay_floor(const struct proto_replay *r);
size_t proto_replay_count(const struct proto_replay *r);

/*
 * The set's invariants: count <= ids_max, every remembered id found in the
 * table at its place, the table holding nothing else. O(ids_max): for
 * assert() in tests and the simulator.
 */
bool proto_replay_consistent(const struct proto_replay *r);

/* SipHash-2-4 of n bytes under a 16-byte key (the replay sets' hash). */
uint64_t proto_siphash24(const uint8_t key[PROTO_HASH_KEY_LEN], const void *p,
    size_t n);

/* ------------------------------------------------------------ peers */

/* The peer table's limits and defaults. */
struct proto_peer_table_config {
	uint32_t peers_max;			/* 1..PROTO_PEERS_MAX */
	struct proto_replay_config replay;	/* every peer's replay set */
	struct proto_rate_config rate;		/* a peer's default bucket */
};

/* Defaults: 64 peers, 4096 ids, window 300 s, skew 60 s, 100/s, burst 200. */
void proto_peer_table_config_default(struct proto_peer_table_config *c);

/* One configured peer node. */
struct proto_peer {
	char id[PROTO_ID_MAX + 1];	/* its node id, the envelope's "from" */
	const struct cry_key *key;	/* borrowed: outlives the table */
	uint32_t allowed_types;		/* ACL: PROTO_MSG_BIT() it may send */
	struct proto_rate rate;		/* its token bucket */
	struct proto_replay *replay;	/* its recent ids, owned by the table */
};

/* A peer for proto_peer_add(): borrowed for the call, but for the key. */
struct proto_peer_spec {
	const char *id;				/* node id (proto_id_valid) */
	const struct cry_key *key;		/* outlives the table */
	uint32_t allowed_types;			/* mask within PROTO_MSG_ALL */
	const struct proto_rate_config *rate;	/* NULL: the table's default */
	int64_t replay_floor;			/* see proto_replay_new() */
};

/*
 * A bounded table of peers, looked up by node id and by kid (binary search
 * over arrays sorted by id and by kid: O(log n), deterministic). Lookups
 * and proto_peer_check() only read: several threads may run them at once
 * while nothing adds a peer or calls proto_peer_accept().
 */
struct proto_peer_table;

/*
 * Makes an empty table. `hash_key`: 16 random bytes for the peers' replay
 * sets (see proto_replay_new()). *out is the caller's
 * (proto_peer_table_free). MRX_EINVAL for a limit out of range (diag names
 * it), MRX_ENOMEM.
 */
int proto_peer_table_new(const struct proto_peer_table_config *c,
    const uint8_t hash_key[PROTO_HASH_KEY_LEN], struct proto_peer_table **out,
    struct mrx_diag *diag);

void proto_peer_table_free(struct proto_peer_table *t);	/* NULL is fine */

/*
 * Adds a peer with a full bucket at now_ms and an empty replay set with
 * floor spec->replay_floor. Refuses, leaving the table unchanged: a bad id,
 * no key, ACL bits outside PROTO_MSG_ALL or a bad rate (MRX_EINVAL, diag
 * names the field); an id or a kid already in the table (MRX_EEXIST: a kid
 * must name one peer); a full table (MRX_ENOSPC); MRX_ENOMEM.
 */
int proto_peer_add(struct proto_peer_table *t, const struct proto_peer_spec *s,
    int64_t now_ms, struct mrx_diag *diag);

size_t proto_peer_count(const struct proto_peer_table *t);

/* The peer with node id `id`, or NULL; valid until the table is freed. */
const struct proto_peer *proto_peer_find(const struct proto_peer_table *t,
    const char *id);

/* The peer whose key has kid `kid`, or NULL. */
const struct proto_peer *proto_peer_find_kid(const struct proto_peer_table *t,
    const uint8_t kid[CRY_KID_LEN]);

/*
 * Checks an opened envelope against the table, in this order, for node
 * `self_id`: "from" is a peer (MRX_ENOENT, "unknown-peer"); the kid is that
 * peer's key (MRX_EKEY, "wrong-key"); the signature verifies (MRX_ESIG or
 * MRX_EALG, "bad-signature"); a broadcast type is addressed to "*" and any
 * other type to self_id (MRX_ERANGE, "re-routed"); the type is in the
 * peer's ACL (MRX_EPERM, "forbidden-type"). The signature comes before
 * addressing and ACL so that those two refusals are attributable to the
 * peer. Read-only. A local failure (MRX_ENOMEM, MRX_ECRYPTO) leaves *why
 * NONE: the message may be retried. MRX_EINVAL if self_id is not an id or
 * env was not filled by proto_envelope_open().
 */
int proto_peer_check(const struct proto_peer_table *t,
    const struct proto_envelope *env, const char *self_id,
    enum proto_refusal *why, struct mrx_diag *diag);

/*
 * Admits an envelope that passed proto_peer_check(), at now_ms (ms since
 * the epoch; now is its floor in seconds): the replay test (too-old,
 * from-the-future, replayed, replay-floor), then a token from the peer's
 * bucket (MRX_ENOSPC, "rate-limited"), then the id is remembered. A
 * message refused for any reason takes no token and is not remembered, so
 * a replay cannot drain a peer's bucket and a rate-limited message may be
 * sent again. MRX_ENOENT ("unknown-peer") if "from" is not a peer.
 */
int proto_peer_accept(struct proto_peer_table *t,
    const struct proto_envelope *env, int64_t now_ms, enum proto_refusal *why,
    struct mrx_diag *diag);

/* ------------------------------------------------------------ blinded key */

/*
 * Writes into buf the normalised HMAC input of a blinded key, without a
 * terminating NUL: PROTO_BLIND_LABEL 0x1F NAME 0x1F DOB 0x1F NATIONALITY.
 *  - name: valid UTF-8 (MRX_EMALFORMED), at most PROTO_BLIND_NAME_MAX bytes
 *    (MRX_ETOOBIG), no control character (MRX_ERANGE); white space (the
 *    Unicode White_Space code points) trimmed at both ends and each inner
 *    run replaced by one space U+0020; ASCII a-z upper-cased; every other
 *    code point kept as it is (no Unicode normalisation: give NFC). Empty
 *    after trimming: MRX_EMISSING.
 *  - dob: exactly YYYY-MM-DD, a date of the proleptic Gregorian calendar
 *    from 0001-01-01 (MRX_ERANGE).
 *  - nationality: three ASCII letters, upper-cased (MRX_ERANGE).
 * diag names the field ("name", "dob", "nationality") and the byte offset in
 * it. *len gets the length; MRX_ENOSPC if cap is short (PROTO_BLIND_INPUT_MAX
 * always suffices).
 */
int proto_blind_normalise(const char *name, const char *dob,
    const char *nationality, uint8_t *buf, size_t cap, size_t *len,
    struct mrx_diag *diag);

/*
 * The pairwise blinded key of a person: HMAC-SHA-256 under the agreement's
 * key (PROTO_BLIND_KEY_MIN..MAX bytes, else MRX_ERANGE on "key") of the
 * input proto_blind_normalise() makes; its errors are this function's.
 */
int proto_blind_key(const uint8_t *key, size_t keylen, const char *name,
    const char *dob, const char *nationality, uint8_t out[PROTO_BLIND_LEN],
    struct mrx_diag *diag);

#endif
