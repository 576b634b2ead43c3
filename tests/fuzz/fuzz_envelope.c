/*
 * fuzz_envelope.c - what a node does with a peer's message before the
 * engine sees it (protocol/envelope.h): proto_envelope_open() of untrusted
 * bytes, proto_peer_check() against a fixed peer table, and for a message
 * that passes, proto_peer_accept() in a fresh table; the body of a
 * feed-record goes through proto_record_decode() as the node's would.
 *
 * Peers: "a.node" (every type) and "b.node" (feed records only), both
 * Ed25519 keys of fuzzkit.h; this node is "self.node"; the time is FUZZ_NOW
 * (gen_corpus seals its seeds at that time).
 *
 * Properties:
 *  - open never reads outside the input; on success the views lie inside
 *    it, the fields are in range and the refusal is NONE; on failure the
 *    refusal is too-big (with MRX_ETOOBIG), unknown-type or malformed;
 *  - the peer check returns a documented code with its refusal; when it
 *    passes, the envelope verifies with the key of the peer it names;
 *  - a fresh table accepts a passing message exactly when its time is in
 *    the window [now - 300, now + 60], and never twice (replayed).
 * Inputs over FUZZ_ENVELOPE_MAX bytes are ignored.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "fuzzkit.h"
#include "record.h"

#define FUZZ_ENVELOPE_MAX 65536

static const uint8_t hash_key[PROTO_HASH_KEY_LEN] = { 0x6d, 0x72, 0x78 };
static struct cry_key *k_a, *k_b;
static struct proto_peer_table *peers;

/* A small table with peers a.node and b.node, floors at -1. */
static struct proto_peer_table *
table_new(void)
{
	struct proto_peer_table_config cfg;
	struct proto_peer_table *t = NULL;
	struct proto_peer_spec s;
	struct mrx_diag d;

	proto_peer_table_config_default(&cfg);
	cfg.peers_max = 4;
	cfg.replay.ids_max = PROTO_REPLAY_IDS_MIN;
	mrx_diag_clear(&d);
	FUZZ_CHECK(proto_peer_table_new(&cfg, hash_key, &t, &d) == 0,
	    "peer table: %s", d.msg);
	memset(&s, 0, sizeof(s));
	s.replay_floor = -1;
	s.id = FUZZ_PEER_A_ID;
	s.key = k_a;
	s.allowed_types = PROTO_MSG_ALL;
	FUZZ_CHECK(proto_peer_add(t, &s, FUZZ_NOW * 1000, &d) == 0, "peer a");
	s.id = FUZZ_PEER_B_ID;
	s.key = k_b;
	s.allowed_types = PROTO_MSG_BIT(PROTO_MSG_FEED_RECORD);
	FUZZ_CHECK(proto_peer_add(t, &s, FUZZ_NOW * 1000, &d) == 0, "peer b");
	return t;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	k_a = fuzz_need_key(fuzz_key_ed(FUZZ_KEY_PEER_A));
	k_b = fuzz_need_key(fuzz_key_ed(FUZZ_KEY_PEER_B));
	peers = table_new();
	return 0;
}

static bool
inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t len)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)buf;

	return p != NULL && a >= b && n <= len && a - b <= len - n;
}

static void
check_opened(const struct proto_envelope *env, const uint8_t *msg,
    size_t len)
{
	FUZZ_CHECK(inside(env->kid, CRY_KID_LEN, msg, len), "kid view");
	FUZZ_CHECK(inside(env->body, env->body_len, msg, len) ||
	    env->body_len == 0, "body view");
	FUZZ_CHECK(env->body_len <= PROTO_ENV_BODY_MAX, "body of %zu bytes",
	    env->body_len);
	FUZZ_CHECK(proto_id_valid(env->from), "from '%s'", env->from);
	FUZZ_CHECK(proto_id_valid(env->to) ||
	    strcmp(env->to, PROTO_ENV_BROADCAST) == 0, "to '%s'", env->to);
	FUZZ_CHECK(env->type > PROTO_MSG_NONE && env->type < PROTO_MSG_COUNT,
	    "type %d", (int)env->type);
	FUZZ_CHECK(env->t >= 0 && env->t <= INT64_C(253402300799), "t %lld",
	    (long long)env->t);
}

/* The refusal a peer check gives with each code. */
static bool
check_pair(int rc, enum proto_refusal why)
{
	switch (rc) {
	case 0:
	case MRX_ENOMEM:
	case MRX_ECRYPTO:
		return why == PROTO_REFUSE_NONE;
	case MRX_ENOENT:
		return why == PROTO_REFUSE_UNKNOWN_PEER;
	case MRX_EKEY:
		return why == PROTO_REFUSE_WRONG_KEY;
	case MRX_ESIG:
	case MRX_EALG:
		return why == PROTO_REFUSE_BAD_SIGNATURE;
	case MRX_ERANGE:
		return why == PROTO_REFUSE_REROUTED;
	case MRX_EPERM:
		return why == PROTO_REFUSE_FORBIDDEN_TYPE;
	default:
		return false;
	}
}

static void
check_accept(const struct proto_envelope *env)
{
	struct proto_peer_table *t = table_new();
	enum proto_refusal why = PROTO_REFUSE_NONE;
	bool in_window = env->t >= FUZZ_NOW - PROTO_WINDOW_DEFAULT_S &&
	    env->t <= FUZZ_NOW + PROTO_ENV_SKEW_DEFAULT_S;
	int rc;

	rc = proto_peer_accept(t, env, FUZZ_NOW * 1000, &why, NULL);
	FUZZ_CHECK((rc == 0) == in_window, "accept at t %lld: rc %d (%s)",
	    (long long)env->t, rc, proto_refusal_name(why));
	if (rc == 0) {
		rc = proto_peer_accept(t, env, FUZZ_NOW * 1000, &why, NULL);
		FUZZ_CHECK(rc != 0 && why == PROTO_REFUSE_REPLAYED,
		    "accepted twice: rc %d (%s)", rc, proto_refusal_name(why));
	} else {
		FUZZ_CHECK(why == PROTO_REFUSE_TOO_OLD ||
		    why == PROTO_REFUSE_FROM_THE_FUTURE, "refused as %s",
		    proto_refusal_name(why));
	}
	proto_peer_table_free(t);
}

static void
check_peer(const struct proto_envelope *env)
{
	const struct proto_peer *p;
	enum proto_refusal why = PROTO_REFUSE_COUNT;
	struct mrx_diag d;
	int rc;

	mrx_diag_clear(&d);
	rc = proto_peer_check(peers, env, FUZZ_SELF_ID, &why, &d);
	FUZZ_CHECK(check_pair(rc, why), "peer check: rc %d with refusal %s",
	    rc, proto_refusal_name(why));
	if (rc != 0)
		return;
	p = proto_peer_find(peers, env->from);
	FUZZ_CHECK(p != NULL && proto_envelope_verify(env, p->key, NULL) == 0,
	    "passed the check, but does not verify with %s's key", env->from);
	check_accept(env);
}

/* A feed record's body is a record the node decodes next. */
static void
decode_body(const struct proto_envelope *env)
{
	struct proto_record rec;

	if (env->type != PROTO_MSG_FEED_RECORD)
		return;
	(void)proto_record_decode(env->body, env->body_len, &rec, NULL);
	proto_record_fini(&rec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_envelope env;
	enum proto_refusal why = PROTO_REFUSE_COUNT;
	struct mrx_diag d;
	int rc;

	if (size > FUZZ_ENVELOPE_MAX)
		return 0;
	mrx_diag_clear(&d);
	rc = proto_envelope_open(data, size, &env, &why, &d);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0 && d.code == rc, "open: rc %d, diag %d", rc,
		    d.code);
		/* too-big is MRX_ETOOBIG; a COSE header over its limit is
		 * MRX_ETOOBIG too, from cry_sign1_decode(), and malformed */
		FUZZ_CHECK((why == PROTO_REFUSE_TOO_BIG && rc == MRX_ETOOBIG) ||
		    why == PROTO_REFUSE_UNKNOWN_TYPE ||
		    why == PROTO_REFUSE_MALFORMED, "open: rc %d, refusal %s",
		    rc, proto_refusal_name(why));
		return 0;
	}
	FUZZ_CHECK(why == PROTO_REFUSE_NONE, "opened, refusal %s",
	    proto_refusal_name(why));
	check_opened(&env, data, size);
	check_peer(&env);
	decode_body(&env);
	return 0;
}
