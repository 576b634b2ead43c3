/*
 * scenario.h - a simulation scenario as plain structs, read from YAML
 * (docs/sim.md describes the format with a worked example).
 *
 * A scenario names the federation (nodes listed one by one, or drawn by a
 * generator), the agreements between roots, the network, the policy every
 * node applies, the people, a generated workload, and timed events with
 * expectations. Reading is strict: an unknown key, a key twice, a value of
 * the wrong shape, an unknown node, person, credential or level is an
 * error "FILE:LINE: KEY: what is wrong (what was expected)". Cross
 * references (a parent, an employer, a credential label) are resolved by
 * sim_scenario_resolve() once the whole file is read, with the line of the
 * reference in the message.
 *
 * Times: the simulator's clock counts microseconds from `start` (a
 * NumericDate); an event's `at` is a duration from start ("5.2s",
 * "1h30m", "10y" in calendar years), "+DURATION" after the previous
 * event, an RFC 3339 time, or "exp(CRED) +/- DURATION" (the expiry of an
 * issued credential, known once it is issued).
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "envelope.h"
#include "mrx_err.h"
#include "net.h"

#define SIM_NODES_MAX 4096		/* nodes of one federation */
#define SIM_EVENTS_MAX 65536		/* timed events of one scenario */
#define SIM_AGREEMENTS_MAX 64		/* agreements of one scenario */
#define SIM_PEOPLE_MAX (1u << 21)	/* people (listed or generated) */
#define SIM_LABEL_MAX 31		/* person and credential labels */
#define SIM_NAME_MAX 63			/* a person's name */
#define SIM_GROUPS_MAX 16		/* partition groups of one event */
#define SIM_MEMBERS_MAX 64		/* node patterns of one event */
#define SIM_SCENARIO_BYTES_MAX (4u << 20) /* size of a scenario file */
#define SIM_COUNTRIES_MAX 8		/* generated countries */
#define SIM_US_PER_S 1000000LL

/* What a timed event does. */
enum sim_act {
	SIM_ACT_ISSUE = 1,	/* an issuer issues a clearance to a person */
	SIM_ACT_ISSUE_OPERATOR,	/* an issuer certifies an operator */
	SIM_ACT_PRESENT,	/* the holder's employer presents, over the net */
	SIM_ACT_VERIFY,		/* a node decides on a credential it holds */
	SIM_ACT_SUSPEND,
	SIM_ACT_REVOKE,
	SIM_ACT_REINSTATE,
	SIM_ACT_MOVE,		/* a person moves to another employer */
	SIM_ACT_COMPROMISE,	/* a root declares an issuer key compromised */
	SIM_ACT_CRASH,
	SIM_ACT_RESTART,
	SIM_ACT_PARTITION,
	SIM_ACT_HEAL,
	SIM_ACT_FORGE,		/* byzantine: sign a record nobody issued */
	SIM_ACT_REPLAY,		/* byzantine: send an old status again */
	SIM_ACT_EQUIVOCATE,	/* byzantine: two deltas with one seq */
	SIM_ACT_LEAK,		/* byzantine: a name in a message */
	SIM_ACT_FETCH,		/* ask the issuer for a record by id */
	SIM_ACT_CONVERGED,	/* every node holds the issuers' status */
	SIM_ACT_NETWORK,	/* change the default links */
	SIM_ACT_COUNT
};

const char *sim_act_name(enum sim_act a);	/* "issue", "present"... */

/* What an event expects. */
enum sim_expect {
	SIM_EXPECT_NONE = 0,
	SIM_EXPECT_ACCEPT,		/* decisions: the verdicts */
	SIM_EXPECT_REJECT,
	SIM_EXPECT_INDETERMINATE,
	SIM_EXPECT_OK,			/* requests: done (201/200) */
	SIM_EXPECT_REFUSED,		/* requests: refused (4xx, 5xx) */
	SIM_EXPECT_FOUND,		/* fetch */
	SIM_EXPECT_NOT_FOUND,
};

const char *sim_expect_name(enum sim_expect e);

enum sim_time_kind {
	SIM_TIME_AT = 0,	/* us from start (+ calendar years) */
	SIM_TIME_ABS,		/* a NumericDate (resolved to AT on load) */
	SIM_TIME_EXP,		/* us after the expiry of credential `cred` */
};

struct sim_time {
	enum sim_time_kind kind;
	int64_t us;		/* AT: from start; EXP: offset from exp */
	int years;		/* AT: calendar years first (resolved) */
	int64_t abs;		/* ABS: NumericDate */
	char cred[SIM_LABEL_MAX + 1];
};

/* A partition: node patterns and the group each goes to (1..). */
struct sim_groups {
	char member[SIM_MEMBERS_MAX][PROTO_ID_MAX + 1];
	uint32_t group[SIM_MEMBERS_MAX];
	size_t n;
};

/* One timed event, as written. */
struct sim_event_conf {
	enum sim_act act;
	int line;				/* of the event in the file */
	size_t index;				/* in file order, from 0 */
	struct sim_time at;
	char node[PROTO_ID_MAX + 1];		/* node id or pattern */
	char person[SIM_LABEL_MAX + 1];
	char cred[SIM_LABEL_MAX + 1];		/* credential label */
	char as[SIM_LABEL_MAX + 1];		/* label of what it makes */
	char level[PROTO_LEVEL_MAX + 1];
	struct proto_strs levels;		/* issue-operator */
	struct proto_strs scopes;
	char access[PROTO_LEVEL_MAX + 1];
	char scope[PROTO_SCOPE_MAX + 1];
	char target[PROTO_ID_MAX + 1];		/* move: new employer;
						 * issue-operator, forge:
						 * the operator */
	char key[PROTO_ID_MAX + 1];		/* forge: whose key, or
						 * "attacker" */
	char issuer[PROTO_ID_MAX + 1];		/* forge: iss; replay */
	char kind[16];				/* forge: clearance or
						 * operator-cert; replay:
						 * record or envelope */
	int64_t iat_us;				/* forge: iat from now */
	bool has_iat;
	char uri[PROTO_URI_MAX + 1];		/* forge/replay: a list */
	bool unallocated;			/* forge: a free index */
	uint64_t seq;				/* replay: the delta's seq */
	bool operator_cert;			/* present: with the holder's
						 * employer's certification */
	enum proto_reason reason;
	int64_t valid_s;			/* issue: validity, or 0 */
	int valid_years;
	int64_t from_us;			/* compromise: from now + */
	bool has_from;
	struct sim_groups groups;		/* partition; equivocate,
						 * replay, leak: to */
	struct sim_link link;			/* network */
	char between[2][SIM_JUR_MAX];		/* network: a link rule */
	bool has_between;
	enum sim_expect expect;
	char code[PROTO_CODE_MAX + 1];		/* a reason code expected */
};

struct sim_node_conf {
	char id[PROTO_ID_MAX + 1];
	enum eng_role role;
	char jur[SIM_JUR_MAX];
	char parent[PROTO_ID_MAX + 1];		/* "" for a root */
	struct proto_strs levels;		/* issuer: its delegation */
	struct proto_strs scopes;
	struct proto_strs certified;		/* operator: certified for
						 * (by its parent) */
	int64_t max_status_age_s;		/* -1: the policy's */
	int require_operator_cert;		/* -1: the policy's */
	int line;
};

struct sim_agreement_conf {
	char id[PROTO_SUB_MAX + 1];
	char parties[2][PROTO_ID_MAX + 1];
	int64_t nbf, exp;			/* NumericDate; 0: default */
	int64_t max_status_age_s;
	bool operator_cert_required;
	struct proto_agreement_row rows[PROTO_ROWS_MAX];
	size_t nrows;
	int line;
};

struct sim_person_conf {
	char label[SIM_LABEL_MAX + 1];
	char name[SIM_NAME_MAX + 1];		/* "" : generated */
	char employer[PROTO_ID_MAX + 1];
	char nationality[4];			/* "JPN"; "" : the employer's */
	int line;
};

/* What every node applies (policy:). */
struct sim_policy {
	int64_t max_status_age_s;
	int64_t skew_s;
	bool require_operator_cert;
	int64_t checkpoint_interval_s;
	int64_t tick_us;			/* engine ticks */
	uint32_t status_list_size;
	size_t watches_max;
	size_t vcache_max;
	uint32_t replay_ids;			/* envelope replay set */
	uint32_t rate_per_s, rate_burst;	/* per peer */
	int64_t sync_us;			/* store commit delay */
	int64_t relay_batch_us;			/* relays gather records */
	int64_t republish_us;			/* roots resend revocations */
	bool align_ticks;			/* every node ticks at
						 * multiples of tick */
};

/* A generated federation (federation:). */
struct sim_federation {
	bool on;
	uint32_t countries;			/* 1..SIM_COUNTRIES_MAX */
	uint32_t operators;			/* spread over the countries */
	uint32_t issuers;			/* per country */
	bool mesh;				/* agreements between all roots */
	bool certify;				/* operators certified */
	int line;
};

/* A generated workload (workload:). */
struct sim_workload {
	bool on;
	int64_t start_us, duration_us;
	uint64_t people;			/* generated people */
	uint64_t clearances;			/* issued to them */
	uint64_t revocations;
	uint64_t suspensions;
	uint64_t verifications;
	uint32_t foreign_ppm;			/* verified abroad */
	int line;
};

/* Checks on the whole run (assert:). 0: not checked. */
struct sim_asserts {
	int64_t propagation_p99_us;
	int64_t propagation_max_us;
	int64_t wall_ms;			/* wall-clock time (not part
						 * of the deterministic
						 * output) */
	int64_t cpu_ms;				/* the process's CPU time
						 * (user + system) */
	bool converged;				/* at the end */
	int line;
};

struct sim_scenario {
	char file[256];				/* as named in messages */
	char name[64];
	char description[256];
	uint64_t seed;
	bool has_seed;
	int64_t start;				/* NumericDate of time 0 */
	int64_t duration_us;			/* 0: last event + 10 s */
	bool duration_set;			/* given in the file */
	int64_t fast_forward_us;		/* quiet gaps skipped */
	struct sim_link link;			/* default links */
	struct sim_link_rule rules[SIM_NET_RULES_MAX];
	size_t nrules;
	struct sim_policy policy;
	struct sim_node_conf *nodes;
	size_t nnodes;
	size_t nodes_cap;			/* allocated (sim_scenario_reserve) */
	struct sim_agreement_conf agreements[SIM_AGREEMENTS_MAX];
	size_t nagreements;
	struct sim_person_conf *people;
	size_t npeople;
	size_t people_cap;
	struct sim_federation fed;
	bool trust_all_roots;			/* every node trusts every
						 * root (generated meshes) */
	struct sim_workload work;
	struct sim_event_conf *events;
	size_t nevents;
	size_t events_cap;
	struct sim_asserts asserts;
};

/* Defaults for everything a scenario may leave out. */
void sim_scenario_defaults(struct sim_scenario *sc);

/*
 * Reads the scenario file `path` into *sc (zeroed first; release with
 * sim_scenario_fini, also on error). Errors: those of conf_yaml (syntax,
 * unknown keys, wrong shapes, missing keys), MRX_EINVAL for a value that
 * is wrong ("unknown level", "no such node"), with diag->msg the whole
 * line "FILE:LINE: KEY: what is wrong".
 */
int sim_scenario_load(const char *path, struct sim_scenario *sc,
    struct mrx_diag *diag);

/* The same from text in memory, `name` naming it in messages. */
int sim_scenario_parse(const char *name, const char *text, size_t len,
    struct sim_scenario *sc, struct mrx_diag *diag);

void sim_scenario_fini(struct sim_scenario *sc);

/*
 * Makes room for at least `nodes` nodes, `people` listed people and
 * `events` events (a count below the current one changes nothing), so that
 * a scenario costs memory for what it lists, not for the limits. Arrays
 * grow by doubling and move: a pointer into them is good until the next
 * call. MRX_ENOMEM with a message naming sc->file when memory runs out.
 */
int sim_scenario_reserve(struct sim_scenario *sc, size_t nodes,
    size_t people, size_t events, struct mrx_diag *diag);

/* Parses a duration with optional fraction: "250ms", "5.2s", "1h30m",
 * "2d", "10y" (years only if years_ok, returned apart). */
int sim_duration_parse(const char *s, bool years_ok, int *years,
    int64_t *us);

/* Finds a node by id; SIZE_MAX if none. */
size_t sim_scenario_node(const struct sim_scenario *sc, const char *id);

/*
 * Generates the nodes (and, for a mesh, the agreements) that sc->fed
 * describes, appending them to what the file lists (gen.c).
 */
int sim_federation_generate(struct sim_scenario *sc, struct mrx_diag *diag);

/* Does the pattern ("*", "jp.op.*", "jp.meti") match node id? */
bool sim_pattern_match(const char *pat, const char *id);

#endif
