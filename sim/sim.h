/*
 * sim.h - the simulator's world: every node of a federation in one
 * process, on the real engine (protocol/engine.h), with a virtual clock
 * (heap.h), a virtual network (net.h) and in-memory stores (store.h).
 *
 * The world is the runtime of every node at once: it hands each engine one
 * event at a time (eng_handle), carries out the actions as mrxd would
 * (persist in the store, publish after commit, answer catch-ups from the
 * store, relay partners' feeds to the node's operators), and moves
 * messages between nodes in real signed envelopes (envelope.h). Nothing
 * here decides whether a record is valid: the engines and the trust store
 * do, with the same code as mrxd. What the world adds is ground truth (the
 * credentials it made, the status they really have, the keys really
 * compromised), against which check.c judges every decision.
 *
 * Determinism: every random draw comes from a stream of the seed (rng.h);
 * events run in (time, sequence) order; tables are arrays searched in
 * order or hash tables used only for lookups; nothing depends on a pointer
 * value or the wall clock. Output (trace, reports, plots) is a function of
 * the scenario and the seed: byte-identical across runs.
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "decide.h"
#include "engine.h"
#include "envelope.h"
#include "heap.h"
#include "net.h"
#include "rng.h"
#include "scenario.h"
#include "store.h"

#define SIM_NONE UINT32_MAX

/* Copies s into dst (cap bytes), cut short if it must be. */
static inline void
sim_strcopy(char *dst, size_t cap, const char *s)
{
	size_t n = 0;

	while (s[n] != '\0' && n + 1 < cap)
		n++;
	for (size_t i = 0; i < n; i++)
		dst[i] = s[i];
	dst[n] = '\0';
}
#define SIM_RELAY_SEEN 2048		/* record hashes a relay remembers */
#define SIM_OP_PEERS_MAX 128		/* peers of an operator node */
#define SIM_BATCH_MAX 64		/* records in one relayed message */
#define SIM_VMEMO_SLOTS (1u << 16)	/* verified record hashes (world) */
#define SIM_EMEMO_SLOTS 8192		/* envelope checks (world) */
#define SIM_SAMPLES_MAX 200		/* staleness samples per run */
#define SIM_EXPECTS_MAX (1u << 20)	/* expectations of one run */
#define SIM_LEAK_WINDOW 8		/* bytes the privacy scan matches */
#define SIM_LEAK_BITS (1u << 20)	/* its prefilter, bits */

/* Heap event kinds. */
enum sim_kind {
	SIM_K_SCRIPT = 1,	/* a scenario event (arg: index) */
	SIM_K_DELIVER,		/* a message arrives (arg: struct sim_msg *) */
	SIM_K_TICK,		/* a node's engine tick */
	SIM_K_COMMIT,		/* a node's store commits */
	SIM_K_WORK,		/* a workload step (arg: index) */
	SIM_K_SAMPLE,		/* staleness sample */
	SIM_K_FLUSH,		/* a relay sends what it gathered */
	SIM_K_REPUBLISH,	/* a root resends its key revocations */
	SIM_K_PHASE,		/* swarm: the faults stop */
	SIM_K_TIMEOUT,		/* a waiting decision stops waiting */
};

/*
 * The identity of some bytes: SipHash-2-4 under a key drawn from the
 * seed, and the length. It keys the world's memos (verified records,
 * envelope checks, what a relay forwarded): a keyed PRF, so no byzantine
 * node can make two different byte strings share an identity, and far
 * cheaper than SHA-256 through OpenSSL.
 */
struct sim_id {
	uint64_t a, b;
};

/* A sealed envelope in flight, shared by the copies of a broadcast. */
struct sim_msg {
	uint32_t refs;			/* deliveries pending */
	uint32_t from;			/* sending node */
	enum proto_msg_type type;
	size_t len;
	uint8_t bytes[];		/* the envelope */
};

/* A credential the world knows: issued by an engine, or forged. */
struct sim_cred {
	char label[SIM_LABEL_MAX + 1];	/* "" when unnamed */
	enum proto_rec_type type;	/* clearance or operator-cert */
	uint32_t person;		/* clearance: its holder */
	uint32_t op_node;		/* operator-cert: the operator */
	uint32_t issuer;		/* issuing node (SIM_NONE: none) */
	char iss[PROTO_ID_MAX + 1];	/* the iss it claims */
	char level[PROTO_LEVEL_MAX + 1];	/* first level */
	char operator_id[PROTO_ID_MAX + 1];	/* clearance: affiliation */
	uint8_t cti[PROTO_CTI_LEN];
	uint8_t kid[CRY_KID_LEN];	/* the key that signed it */
	struct proto_status_ref ref;
	int64_t iat, exp;
	uint8_t *bytes;			/* owned */
	size_t len;
	bool forged;
	/* ground truth at its issuer, as committed */
	enum proto_status status;
	int64_t status_at;		/* NumericDate of the last change */
	int64_t status_us;		/* sim time of the last change */
	bool ever_invalid;		/* changed away from valid once */
};

/* A person of the population. Personal data stays in the world: only the
 * pseudonymous subject id ever enters a record. */
struct sim_person {
	char label[SIM_LABEL_MAX + 1];
	char name[SIM_NAME_MAX + 1];	/* personal data */
	char natid[24];			/* passport-like number: personal */
	char dob[40];
	char nat[4];
	char sub[PROTO_SUBJECT_LEN * 2 + 1];	/* pseudonymous id */
	uint32_t employer;		/* operator node */
	uint32_t cred;			/* latest clearance, or SIM_NONE */
};

/* A relay's memory of what it forwarded (hashes, a ring + a table). */
struct sim_seen {
	uint64_t ring[SIM_RELAY_SEEN];
	uint32_t slot[2 * SIM_RELAY_SEEN];	/* ring index + 1 */
	size_t n, head;
};

/* What a node last held of one foreign list (for propagation). */
struct sim_view {
	uint32_t issuer;		/* node */
	uint32_t list;			/* list number (uri .../status/N) */
	uint64_t seq;
	bool equivocating;
};

/* A foreign feed a relay stored, to serve catch-ups: its last whole list
 * and the deltas taken after it, sorted by seq (gaps allowed). */
struct sim_ffeed {
	uint32_t issuer;
	char uri[PROTO_URI_MAX + 1];
	struct sim_blob list;		/* p NULL: none yet */
	uint64_t list_seq;
	struct sim_blob *deltas;
	uint64_t *dseq;			/* deltas[i] is delta dseq[i] */
	size_t ndeltas, cap;
};

/* An expectation carried by a message (presentation, fetch), or a
 * decision waiting for the answer (SIM_TAG_DECISION | gen | slot | which). */
struct sim_tag {
	uint8_t id[PROTO_ENV_ID_LEN];	/* the envelope's message id */
	size_t expect;
};
#define SIM_TAG_DECISION ((size_t)1 << 62)

/*
 * A decision that waits for issuers' logs: a record signed by a key its
 * root has since declared compromised, dated before that, counts only
 * once its issuer confirms it (decide.h, proto_trust_needs_log). The
 * node asks the issuer by record id (a fetch) and decides when the
 * answers are in, or after SIM_LOG_TIMEOUT_US without them.
 */
struct sim_waiting {
	bool used;
	uint32_t gen;			/* bumps at each use of the slot */
	uint32_t node;			/* who decides */
	uint32_t reply_to;		/* the presenter, or SIM_NONE */
	struct sim_blob rec, op;	/* op.p NULL: none */
	char access[PROTO_LEVEL_MAX + 1];
	char scope[PROTO_SCOPE_MAX + 1];
	size_t expect;
	bool waiting[2];		/* clearance, certification */
	enum proto_log_check log[2];
};
#define SIM_LOG_TIMEOUT_US (5 * SIM_US_PER_S)	/* as mrxd's present */

/* Changes of one own list, by seq, for propagation latency; and the
 * engine's latest state of it (ahead of the store until commit). */
struct sim_listlog {
	int64_t *us;			/* us[seq - 1]: when it changed */
	uint8_t *revocation;		/* it revoked something */
	size_t n, cap;			/* committed changes */
	uint64_t seq;			/* the engine's seq */
	uint8_t head[PROTO_HASH_LEN];	/* ... and head */
};

/* An issuance waiting for the commit that acknowledges it. */
struct sim_pending {
	uint8_t cti[PROTO_CTI_LEN];
	char label[SIM_LABEL_MAX + 1];
	uint32_t person;		/* clearance holder, or SIM_NONE */
	uint32_t op_node;		/* operator certified, or SIM_NONE */
	uint32_t replaces;		/* move: the credential superseded */
	size_t expect;			/* expectation, or SIZE_MAX */
	uint32_t node;			/* the issuing node */
	bool workload;
};

/* A key revocation a root published (resent every republish period). */
struct sim_keyrev {
	uint32_t root;
	struct sim_blob rec;
};

/* An envelope kept for a byzantine replay. */
struct sim_archived {
	uint32_t issuer;
	char uri[PROTO_URI_MAX + 1];
	uint64_t seq;
	struct sim_blob env;
};

/* Per message type and direction. */
struct sim_traffic {
	uint64_t sent[PROTO_MSG_COUNT], sent_bytes[PROTO_MSG_COUNT];
	uint64_t recv[PROTO_MSG_COUNT], recv_bytes[PROTO_MSG_COUNT];
	uint64_t refused[PROTO_REFUSE_COUNT];
	uint64_t dropped;		/* arrived at a down node */
};

struct sim_node {
	const struct sim_node_conf *conf;
	uint32_t ix;
	uint32_t parent;		/* SIM_NONE for a root */
	uint32_t root;			/* its root (itself for a root) */
	struct cry_key *key;		/* owned: records and envelopes */
	struct engine *eng;		/* NULL while down */
	bool up;
	uint32_t boot;			/* starts so far */
	int64_t started_s;		/* NumericDate of the last start */
	struct eng_config cfg;
	struct proto_peer_table *peers;	/* NULL while down */
	uint32_t *subs;			/* who gets its broadcasts */
	size_t nsubs;
	uint32_t *roots;		/* roots it trusts */
	size_t nroots;
	uint32_t opcert;		/* its certification (cred) */
	uint8_t *deleg;			/* issuer: its delegation record */
	size_t deleg_len;
	struct sim_store store;
	struct sim_seen *seen;		/* relayed record hashes (a relay:
					 * a node with subscribers) */
	struct sim_blob batch[SIM_BATCH_MAX];	/* gathered to relay */
	size_t nbatch;
	bool flush_due;
	struct sim_view *views;
	size_t nviews, capviews;
	struct {
		uint32_t issuer, peer;
	} *via;				/* whose feed came through whom */
	size_t nvia;
	struct sim_ffeed *ffeeds;	/* relays: foreign feeds stored */
	size_t nffeeds;
	struct sim_listlog *logs;	/* own lists (issuer), by number
					 * - 1; NULL for other roles */
	size_t nlogs;
	bool commit_due;		/* a COMMIT event is queued */
	bool equivocated;		/* byzantine: forked its feed */
	int64_t compromised_from;	/* NumericDate, or INT64_MAX */
	int64_t compromise_known_us;	/* when the root said so */
	struct sim_traffic tr;
	uint64_t decisions[3];
	uint64_t catchups_served;
	int64_t max_age_s;		/* worst status age, last sample */
};

/* An expectation waiting for its outcome. */
struct sim_expectation {
	size_t event;			/* scenario event index */
	uint32_t node;			/* where it is decided */
	bool done, ok;
};

/* One decision, for the timeline. */
struct sim_decision_log {
	int64_t us;
	uint8_t verdict;
};

/* Global counters. */
struct sim_stats {
	uint64_t events;		/* heap events run */
	uint64_t engine_events;		/* eng_handle calls */
	uint64_t messages;		/* envelopes delivered */
	uint64_t bytes;
	uint64_t decisions[3];
	uint64_t issued, status_changes, alerts, equivocations;
	uint64_t catchups, crashes, restarts, txns_lost;
	uint64_t forged, replays, leaks;
	uint64_t vmemo_hits, ememo_hits;
	uint64_t seals;			/* envelopes signed */
	uint64_t peer_checks;		/* envelope signatures verified */
	uint64_t record_verifies;	/* record signatures an engine
					 * verified (no memo) */
	uint64_t fast_forwards;
};

/* A reason code and how often it came. */
struct sim_reason_count {
	char code[PROTO_CODE_MAX + 1];
	uint64_t n[3];			/* by verdict */
};

struct sim_options {
	uint64_t seed;
	bool quiet;			/* no FAIL lines on stdout */
	bool trace_stdout;		/* the trace on stdout too */
	bool debug;			/* message-level lines on stderr
					 * (not hashed, not in the trace) */
	bool check_engines;		/* eng_check after every event */
	bool swarm;
	int64_t swarm_faults_until_us;	/* swarm: faults stop, heal */
	int64_t liveness_bound_us;	/* swarm: converge within */
};

struct sim_world {
	struct sim_scenario *sc;
	struct sim_options opt;
	struct sim_heap heap;
	struct sim_net net;
	int64_t now_us;
	struct sim_rng rng_engine;	/* engine events' rnd */
	struct sim_rng rng_env;		/* envelope ids */
	struct sim_rng rng_work;	/* workload choices */
	struct sim_rng rng_fault;	/* store crashes, byzantine */
	struct sim_node *nodes;
	size_t nnodes;
	uint32_t *by_id;		/* node ids: open addressing,
					 * index + 1 */
	size_t id_slots;
	struct sim_person *people;
	size_t npeople;
	struct sim_cred *creds;
	size_t ncreds, capcreds;
	uint32_t *cred_ix;		/* creds by cti (open addressing) */
	size_t cred_slots;
	uint64_t *ref_keys;		/* issued creds by (issuer, list,
					 * index): exact keys, + 1 */
	uint32_t *ref_vals;
	size_t ref_slots, nref;
	uint32_t *issued;		/* workload: clearances issued */
	size_t nissued;
	struct cry_key *attacker;	/* a key nobody delegated */
	struct eng_actions *acts;	/* scratch, one event at a time */
	uint8_t *buf;			/* scratch, PROTO_ENV_MAX bytes */
	uint8_t *buf2;
	struct sim_id *vmemo;		/* verified records */
	uint8_t id_key[2][PROTO_HASH_KEY_LEN];	/* sim_id's keys */
	struct {
		uint8_t key[40];	/* envelope id, kid, acl */
		int rc;
		int why;		/* enum proto_refusal */
		bool used;
	} *ememo;
	/* the privacy scan: hashes of SIM_LEAK_WINDOW-byte prefixes of
	 * every personal datum, and which are pseudonymous ids */
	uint64_t *leak_bits;		/* a bit per window hash class */
	uint64_t *leak_tab;
	uint32_t *leak_who;		/* person index + 1 */
	uint8_t *leak_pseud;		/* 1: a subject id (allowed in a
					 * presentation) */
	size_t leak_slots;
	struct sim_blob agreements[SIM_AGREEMENTS_MAX];	/* signed */
	struct sim_pending *pend;	/* issuances not yet committed */
	size_t npend, cappend;
	struct sim_keyrev *keyrevs;
	size_t nkeyrevs;
	struct sim_archived *arch;	/* NULL unless a replay needs it */
	size_t narch, caparch;
	bool archive;
	int64_t end_us;			/* the run stops here */
	uint64_t busy;			/* deliveries, commits, flushes
					 * pending in the heap */
	int64_t ff_checked_us;		/* last fast-forward look */
	/* expectations */
	struct sim_waiting *waits;	/* decisions waiting for logs */
	size_t nwaits;
	struct sim_tag *tags;		/* messages that carry one */
	size_t ntags, captags;
	size_t tag_next;		/* the next sealed message's, or
					 * SIZE_MAX */
	struct sim_expectation *expects;
	size_t nexpects;
	size_t failed;			/* expectations failed */
	uint8_t *dyn_done;		/* exp() events scheduled */
	uint32_t **ops_by_root;		/* workload: operators per root */
	size_t *nops_by_root;
	/* invariants */
	bool violated;
	char violation[512];		/* the first one */
	int64_t violation_us;
	/* metrics */
	struct sim_stats st;
	struct sim_reason_count *reasons;
	size_t nreasons, capreasons;
	int64_t *prop_us;		/* revocation propagation samples */
	size_t nprop, capprop;
	bool prop_sorted;
	struct sim_decision_log *dlog;
	size_t ndlog, capdlog;
	int64_t sample_us[SIM_SAMPLES_MAX];
	int64_t *stale;			/* [sample][node] worst age, s */
	size_t nsamples;
	int64_t sample_every_us;
	/* output */
	FILE *trace;			/* trace.txt, or NULL */
	uint8_t hash_state[CRY_SHA256_LEN];	/* running trace hash */
	uint8_t *hbuf;			/* hash input buffered */
	size_t hlen;
	char phase[16];			/* swarm: "faults", "liveness" */
	char final_hash[2 * CRY_SHA256_LEN + 1];	/* once run */
};

/* ---- world.c ---- */

/* Builds the world of scenario `sc` with `opt` (sc must outlive it). On
 * error, diag says why; *out is NULL. */
int sim_world_new(struct sim_scenario *sc, const struct sim_options *opt,
    struct sim_world **out, struct mrx_diag *diag);
void sim_world_free(struct sim_world *w);

/* Node by id, or SIM_NONE. */
uint32_t sim_node_find(const struct sim_world *w, const char *id);
/* Person by label, or SIM_NONE. */
uint32_t sim_person_find(const struct sim_world *w, const char *label);
/* Credential by label (the latest so named), or SIM_NONE. */
uint32_t sim_cred_find(const struct sim_world *w, const char *label);
/* Credential by cti, or SIM_NONE. */
uint32_t sim_cred_by_cti(const struct sim_world *w, const uint8_t *cti);
/* The credential an issuer gave entry (uri, idx), or SIM_NONE. */
uint32_t sim_cred_by_ref(const struct sim_world *w, uint32_t issuer,
    const char *uri, uint32_t idx);
/* Adds a credential (bytes copied); its index, or SIM_NONE on ENOMEM. */
uint32_t sim_cred_add(struct sim_world *w, const struct sim_cred *c,
    const uint8_t *bytes, size_t len);
/* The trust store a node starts with (roots, delegations, agreements,
 * the trust records its store kept). NULL on failure (diag). */
struct proto_trust *sim_trust_build(struct sim_world *w,
    const struct sim_node *n, struct mrx_diag *diag);
/* Does node n trust root r? */
bool sim_trusts_root(const struct sim_node *n, uint32_t r);

/* ---- node.c ---- */

/* Starts (or restarts) node n from its store. */
int sim_node_start(struct sim_world *w, struct sim_node *n,
    struct mrx_diag *diag);
/* Crashes node n: engine gone, unsynced writes land or vanish. */
void sim_node_crash(struct sim_world *w, struct sim_node *n);
/* Runs one engine event at node n; its actions are carried out. The
 * actions stay in w->acts until the next call. */
int sim_node_handle(struct sim_world *w, struct sim_node *n,
    struct eng_event *ev);
/* A fresh engine event of `type` at the current time. */
void sim_event_init(struct sim_world *w, struct eng_event *ev,
    enum eng_ev_type type);
/* As sim_node_handle, for an issuance: when the engine creates the
 * record, `tmpl` (holder, label, expectation) waits for its commit. */
int sim_node_issue(struct sim_world *w, struct sim_node *n,
    struct eng_event *ev, const struct sim_pending *tmpl);
/* The reply of the last handled event, or NULL. */
const struct eng_reply *sim_last_reply(const struct sim_world *w);
/* Seals and sends a message from n to node `to`. */
int sim_send(struct sim_world *w, struct sim_node *n, uint32_t to,
    enum proto_msg_type type, const uint8_t *body, size_t len);
/* Seals once and sends to the nodes in to[] (a broadcast to "*"). */
int sim_broadcast(struct sim_world *w, struct sim_node *n,
    const uint32_t *to, size_t nto, const uint8_t *body, size_t len);
/* A message arrives at node `to`. */
int sim_deliver(struct sim_world *w, struct sim_msg *m, uint32_t to);
/* The node's store commits what is due. */
int sim_node_commit(struct sim_world *w, struct sim_node *n);
/* The periodic engine tick. */
int sim_node_tick(struct sim_world *w, struct sim_node *n);
/* A relay sends its gathered records. */
int sim_node_flush(struct sim_world *w, struct sim_node *n);
/* Hands a record to node n's engine (or trust store) as if from a feed
 * (from: the peer it came through, or SIM_NONE); relays it on (fwd) if it
 * is new to n. */
int sim_node_feed(struct sim_world *w, struct sim_node *n,
    const uint8_t *rec, size_t len, bool fwd, uint32_t from);
/* Sends a presentation from the holder's employer to verifier v. */
int sim_present(struct sim_world *w, uint32_t c, uint32_t op, uint32_t v,
    const char *access, const char *scope, size_t expect);
/* The latest committed state of an own list of issuer n (NULL if none). */
const struct sim_store_list *sim_own_list(const struct sim_node *n,
    size_t k);
/* Messages carrying an expectation (world bookkeeping, not on the wire). */
void sim_tag_put(struct sim_world *w, const uint8_t id[PROTO_ENV_ID_LEN],
    size_t expect);
size_t sim_tag_take(struct sim_world *w, const uint8_t id[PROTO_ENV_ID_LEN]);
/* The cti (claim 7) of a record without a full decode. */
bool sim_peek_cti(const uint8_t *b, size_t n, uint8_t cti[PROTO_CTI_LEN]);
/* Record bytes known (by any engine) to verify under their kid's key. */
bool sim_vmemo_known(struct sim_world *w, struct sim_id id);
void sim_vmemo_learn(struct sim_world *w, struct sim_id id);
/* The identity of some bytes. */
struct sim_id sim_id_of(const struct sim_world *w, const uint8_t *b,
    size_t n);
/* Gathers a record for n's subscribers, once per record. */
int sim_node_relay(struct sim_world *w, struct sim_node *n,
    const uint8_t *b, size_t len, struct sim_id id);
/*
 * Node n is asked to decide on record bytes (and an operator
 * certification, or NULL): at once, or once the issuers' logs answered
 * when a record needs it (struct sim_waiting). The outcome goes to
 * sim_decided() and, when reply_to is a node, back to it in a
 * present-response. Returns 0 or an error.
 */
int sim_ask(struct sim_world *w, struct sim_node *n, const uint8_t *rec,
    size_t len, const uint8_t *op, size_t oplen, const char *access,
    const char *scope, size_t expect, uint32_t reply_to);
/* The decision itself, now (the logs as answered). Returns the verdict or
 * a negative error; *out is valid until the next engine event. */
int sim_decide(struct sim_world *w, struct sim_node *n, const uint8_t *rec,
    size_t len, const uint8_t *op, size_t oplen, const char *access,
    const char *scope, size_t expect, enum proto_log_check log,
    enum proto_log_check oplog, const struct proto_decision **out);
/* A waiting decision's time is up (arg: the slot and its generation). */
int sim_wait_timeout(struct sim_world *w, uint64_t arg);
/* Peeks type, iss and sub of a record without a full decode. */
int sim_peek_record(const uint8_t *b, size_t n, enum proto_rec_type *type,
    char iss[PROTO_ID_MAX + 1], char sub[PROTO_SUB_MAX + 1]);

/* ---- run.c ---- */

/* Runs the world to the end. 0 when it ran (expectations and invariants
 * may have failed: see w->failed and w->violated), else an error. */
int sim_run(struct sim_world *w, struct mrx_diag *diag);
/* An issued credential is now durable (acknowledged): the holder gets
 * it, the expectation is met. */
int sim_issued(struct sim_world *w, uint32_t ci, const struct sim_pending *p);
/* A decision was made: counted, judged (check.c), matched to its
 * expectation, traced. */
void sim_decided(struct sim_world *w, struct sim_node *n, uint32_t c,
    uint32_t op, const char *access, const char *scope,
    const struct proto_decision *d, size_t expect);
/* A fetch came back. */
void sim_fetch_done(struct sim_world *w, size_t expect, bool found);
/* Node `node` crashed: its issuances not yet acknowledged are lost. */
void sim_lost_pending(struct sim_world *w, uint32_t node);
/* Schedules a heap event; errors are fatal to the run. */
int sim_schedule(struct sim_world *w, int64_t t_us, enum sim_kind kind,
    uint32_t node, uint16_t aux, uint64_t arg);
/* A scenario event or expectation failed: prints and counts it. */
void sim_fail(struct sim_world *w, size_t event, uint32_t node,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Records the outcome of an expectation. */
void sim_expect_done(struct sim_world *w, size_t expect, bool ok,
    const char *got);

/* A new expectation for scenario event `event` decided at `node`
 * (SIZE_MAX when the event expects nothing). */
size_t sim_expect_new(struct sim_world *w, size_t event, uint32_t node);
/* A request's outcome (done: created or changed). */
void sim_expect_request(struct sim_world *w, size_t k, bool done,
    const char *got);
/* The credential an event names (cred, or the person's latest). */
uint32_t sim_cred_of(const struct sim_world *w,
    const struct sim_event_conf *ev);

/* ---- actions.c ---- */

/* Runs scenario event i. */
int sim_action_run(struct sim_world *w, size_t i);
/* Certifies the operators the scenario says are certified (time 0). */
int sim_certify_operators(struct sim_world *w);

/* ---- workload.c ---- */

int sim_work_schedule(struct sim_world *w);
int sim_work_run(struct sim_world *w, uint16_t kind, uint64_t arg);

/* ---- check.c ---- */

/* Sets up the privacy scan over the population. */
int sim_leak_init(struct sim_world *w);
/* Scans a message's bytes; a violation when personal data is found. */
void sim_check_message(struct sim_world *w, const struct sim_node *from,
    enum proto_msg_type type, const uint8_t *b, size_t n);
/* Judges a decision against ground truth (safety invariants). */
void sim_check_decision(struct sim_world *w, const struct sim_node *v,
    uint32_t c, uint32_t op, const char *access, const char *scope,
    const struct proto_decision *d);
/* Every up node holds every trusted up issuer's lists as the issuer
 * does (or knows the feed equivocated). Returns true, or false with
 * why filled. */
bool sim_check_converged(struct sim_world *w, char *why, size_t cap);
/* Records an invariant violation (the first one is kept). */
void sim_violation(struct sim_world *w, const char *name, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* ---- report.c ---- */

/* A trace line (hashed; written to trace.txt and, unless quiet, stdout). */
void sim_trace(struct sim_world *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A message-level line on stderr with --debug (never hashed). */
void sim_debug(struct sim_world *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Binary data that enters the trace hash only. */
void sim_hash(struct sim_world *w, const void *p, size_t n);
/* The final hash, hex. */
void sim_hash_final(struct sim_world *w, char hex[2 * CRY_SHA256_LEN + 1]);
/* Counts a decision's codes. */
void sim_count_decision(struct sim_world *w, const struct proto_decision *d);
/* A propagation sample. */
void sim_prop_sample(struct sim_world *w, int64_t us);
/* Staleness sample of every node. */
void sim_sample(struct sim_world *w);
/* Percentile (per mille) of the propagation samples. */
int64_t sim_prop_pct(struct sim_world *w, int permille);
/* Writes report.json, the CSVs and the plots into dir. */
int sim_report_write(struct sim_world *w, const char *dir,
    struct mrx_diag *diag);
/* Prints the summary on f. */
void sim_report_summary(struct sim_world *w, FILE *f);

/* ---- svg.c ---- */

int sim_svg_write(struct sim_world *w, const char *dir,
    struct mrx_diag *diag);

/* ---- swarm.c ---- */

/* Draws a random scenario from `seed` into *sc (release with
 * sim_scenario_fini). */
int sim_swarm_scenario(uint64_t seed, struct sim_scenario *sc,
    struct sim_options *opt, struct mrx_diag *diag);

/* Formats a simulated time "12.345678". */
const char *sim_fmt_time(int64_t us, char *buf, size_t cap);

#endif
