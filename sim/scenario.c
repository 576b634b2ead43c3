/*
 * scenario.c - reading a scenario file (see scenario.h and docs/sim.md).
 *
 * The file is walked with conf/'s strict YAML reader: each mapping against
 * a table of the keys it may hold, every error "FILE:LINE: KEY: what".
 * An event's keys depend on what it does, so its `do` is looked up first
 * and its mapping is then walked against that action's table: an unknown
 * key is named with the action ("key 'reason' is not one of at, do, ...").
 * Cross references are checked once the whole file is read (resolve()),
 * in file order, naming the line of the reference.
 *
 * Invariant on success: every node's parent exists and has the right role
 * (operator -> issuer or root, issuer -> root); every employer is an
 * operator; every agreement's parties are roots; every event's node
 * pattern matches a node; every credential label an event uses is made by
 * an earlier issue, move or forge event (or is a person's label); event
 * times are resolved to microseconds from start, except exp() times.
 */
#include "scenario.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "conf_yaml.h"
#include "level.h"
#include "ptime.h"
#include "value.h"

/* The reader's state: the scenario being filled and the current item. */
struct sctx {
	struct sim_scenario *sc;
	struct sim_node_conf *node;		/* nodes[i] being read */
	struct sim_agreement_conf *agr;		/* agreements[i] */
	struct proto_agreement_row *row;
	struct sim_person_conf *person;
	struct sim_link *link;			/* network or a link rule */
	struct sim_link_rule *rule;
	struct sim_event_conf *ev;
	int64_t prev_at_us;			/* previous event's time */
	int prev_years;
	bool prev_static;
	int start_line;
	char between[2][SIM_JUR_MAX];
};

static const char *const act_names[SIM_ACT_COUNT] = {
	[SIM_ACT_ISSUE] = "issue",
	[SIM_ACT_ISSUE_OPERATOR] = "issue-operator",
	[SIM_ACT_PRESENT] = "present",
	[SIM_ACT_VERIFY] = "verify",
	[SIM_ACT_SUSPEND] = "suspend",
	[SIM_ACT_REVOKE] = "revoke",
	[SIM_ACT_REINSTATE] = "reinstate",
	[SIM_ACT_MOVE] = "move",
	[SIM_ACT_COMPROMISE] = "compromise",
	[SIM_ACT_CRASH] = "crash",
	[SIM_ACT_RESTART] = "restart",
	[SIM_ACT_PARTITION] = "partition",
	[SIM_ACT_HEAL] = "heal",
	[SIM_ACT_FORGE] = "forge",
	[SIM_ACT_REPLAY] = "replay",
	[SIM_ACT_EQUIVOCATE] = "equivocate",
	[SIM_ACT_LEAK] = "leak",
	[SIM_ACT_FETCH] = "fetch",
	[SIM_ACT_CONVERGED] = "converged",
	[SIM_ACT_NETWORK] = "network",
};

const char *
sim_act_name(enum sim_act a)
{
	if ((unsigned)a >= SIM_ACT_COUNT || act_names[a] == NULL)
		return "?";
	return act_names[a];
}

static const char *const expect_names[] = {
	"", "accept", "reject", "indeterminate", "ok", "refused", "found",
	"not-found",
};

const char *
sim_expect_name(enum sim_expect e)
{
	if ((unsigned)e >= sizeof(expect_names) / sizeof(expect_names[0]))
		return "?";
	return expect_names[e];
}

void
sim_scenario_defaults(struct sim_scenario *sc)
{
	struct sim_policy *p = &sc->policy;

	memset(sc, 0, sizeof(*sc));
	snprintf(sc->name, sizeof(sc->name), "scenario");
	sc->seed = 1;
	sc->start = 1790000000;		/* 2026-09-21T14:13:20Z */
	sc->fast_forward_us = 600 * SIM_US_PER_S;
	sc->link.latency_us = 50000;
	sc->link.jitter_us = 20000;
	sc->link.reorder_us = 100000;
	p->max_status_age_s = 30;
	p->skew_s = PROTO_SKEW_DEFAULT_S;
	p->checkpoint_interval_s = 1;
	p->tick_us = SIM_US_PER_S;
	p->status_list_size = 1024;
	p->watches_max = 4096;
	p->vcache_max = 1024;
	p->replay_ids = 256;
	p->rate_per_s = PROTO_RATE_DEFAULT_PER_S;
	p->rate_burst = PROTO_RATE_DEFAULT_BURST;
	p->sync_us = 1000;
	p->relay_batch_us = 0;
	p->republish_us = 30 * SIM_US_PER_S;
}

void
sim_scenario_fini(struct sim_scenario *sc)
{
	free(sc->nodes);
	free(sc->people);
	free(sc->events);
	sc->nodes = NULL;
	sc->people = NULL;
	sc->events = NULL;
	sc->nodes_cap = sc->people_cap = sc->events_cap = 0;
}

/* Grows *arr (of *cap elements of `size` bytes, zeroed) to hold `need`. */
static int
grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap > 0 ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if (ncap > SIZE_MAX / size || (p = realloc(*arr, ncap * size)) == NULL)
		return MRX_ENOMEM;
	memset((char *)p + *cap * size, 0, (ncap - *cap) * size);
	*arr = p;
	*cap = ncap;
	return 0;
}

int
sim_scenario_reserve(struct sim_scenario *sc, size_t nodes, size_t people,
    size_t events, struct mrx_diag *diag)
{
	if (grow((void **)&sc->nodes, &sc->nodes_cap, nodes,
	    sizeof(*sc->nodes)) != 0 ||
	    grow((void **)&sc->people, &sc->people_cap, people,
	    sizeof(*sc->people)) != 0 ||
	    grow((void **)&sc->events, &sc->events_cap, events,
	    sizeof(*sc->events)) != 0)
		return mrx_diag_set(diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET, "",
		    "%s: out of memory for %zu nodes, %zu people, %zu events",
		    sc->file, nodes, people, events);
	return 0;
}

size_t
sim_scenario_node(const struct sim_scenario *sc, const char *id)
{
	size_t i;

	for (i = 0; i < sc->nnodes; i++)
		if (strcmp(sc->nodes[i].id, id) == 0)
			return i;
	return SIZE_MAX;
}

bool
sim_pattern_match(const char *pat, const char *id)
{
	size_t n = strlen(pat);

	if (n > 0 && pat[n - 1] == '*')
		return strncmp(pat, id, n - 1) == 0;
	return strcmp(pat, id) == 0;
}

/* Copies s into dst (cap bytes), cut short if it must be (callers
 * checked the length already). */
static void
strcopy(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* ---- durations ---- */

static int64_t
gcd64(int64_t a, int64_t b)
{
	while (b != 0) {
		int64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* Reads digits[.digits] times unit_us (> 0), exactly, into *out. */
static int
scaled(const char **p, int64_t unit_us, int64_t *out)
{
	const char *s = *p;
	int64_t v = 0, frac = 0, div = 1, g;

	if (!isdigit((unsigned char)*s))
		return MRX_EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > INT64_MAX / 10 / (unit_us > 0 ? unit_us : 1))
			return MRX_ERANGE;
		v = v * 10 + (*s - '0');
	}
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return MRX_EINVAL;
		for (; isdigit((unsigned char)*s); s++) {
			if (div >= unit_us)
				return MRX_ERANGE;	/* below 1 us */
			frac = frac * 10 + (*s - '0');
			div *= 10;
		}
	}
	/* frac / div of a unit must be a whole number of microseconds: with
	 * g = gcd(div, unit_us), div / g must divide frac (frac < div, so
	 * nothing here can overflow, unlike frac * unit_us) */
	g = gcd64(div, unit_us);
	if (frac % (div / g) != 0)
		return MRX_ERANGE;
	*out = v * unit_us + frac / (div / g) * (unit_us / g);
	*p = s;
	return 0;
}

int
sim_duration_parse(const char *s, bool years_ok, int *years, int64_t *us)
{
	static const struct {
		const char *u;
		int64_t us;
	} units[] = {
		{ "y", 0 }, { "w", 604800 * SIM_US_PER_S },
		{ "d", 86400 * SIM_US_PER_S }, { "h", 3600 * SIM_US_PER_S },
		{ "ms", 1000 }, { "us", 1 }, { "m", 60 * SIM_US_PER_S },
		{ "s", SIM_US_PER_S },
	};
	/* the order units must come in: y w d h m s ms us */
	static const int rank[] = { 0, 1, 2, 3, 6, 7, 4, 5 };
	const char *p = s, *q;
	int64_t total = 0, v;
	int last = -1, y = 0, rc;
	size_t i;

	*years = 0;
	*us = 0;
	if (strcmp(s, "0") == 0)
		return 0;
	if (*s == '\0')
		return MRX_EINVAL;
	while (*p != '\0') {
		q = p;
		while (isdigit((unsigned char)*q) || *q == '.')
			q++;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strncmp(q, units[i].u, strlen(units[i].u)) == 0)
				break;
		if (i == sizeof(units) / sizeof(units[0]) || rank[i] <= last)
			return MRX_EINVAL;
		last = rank[i];
		if (units[i].us == 0) {
			if (!years_ok)
				return MRX_EINVAL;
			rc = scaled(&p, 1, &v);
			if (rc != 0 || v > 100)
				return rc != 0 ? rc : MRX_ERANGE;
			y = (int)v;
		} else {
			rc = scaled(&p, units[i].us, &v);
			if (rc != 0)
				return rc;
			if (total > INT64_MAX - v)
				return MRX_ERANGE;
			total += v;
		}
		if (p != q)
			return MRX_EINVAL;
		p += strlen(units[i].u);
	}
	*years = y;
	*us = total;
	return 0;
}

/* ---- scalar getters ---- */

static int
get_str(struct conf_yaml *y, const struct conf_yaml_item *it,
    const char *expect, char *buf, size_t cap)
{
	return conf_yaml_scalar(y, it, expect, buf, cap);
}

static int
get_id(struct conf_yaml *y, const struct conf_yaml_item *it, char *buf,
    size_t cap)
{
	char v[CONF_YAML_VALUE_MAX];
	int rc = get_str(y, it, "a node id like jp.meti", v, sizeof(v));

	if (rc != 0)
		return rc;
	if (!proto_id_valid(v) || strlen(v) >= cap)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is not a node id ([a-z0-9][a-z0-9.-]*, at most "
		    "%d characters)", v, PROTO_ID_MAX);
	strcopy(buf, cap, v);
	return 0;
}

/* A node id or a pattern ending in '*'. */
static int
get_pattern(struct conf_yaml *y, const struct conf_yaml_item *it,
    char *buf, size_t cap)
{
	char v[CONF_YAML_VALUE_MAX], w[CONF_YAML_VALUE_MAX];
	size_t n;
	int rc = get_str(y, it, "a node id, or a pattern like jp.op.* or *",
	    v, sizeof(v));

	if (rc != 0)
		return rc;
	n = strlen(v);
	snprintf(w, sizeof(w), "%s", v);
	if (n > 0 && w[n - 1] == '*')
		w[n - 1] = '\0';
	if ((w[0] != '\0' && !proto_id_valid(w)) || n >= cap ||
	    strchr(w, '*') != NULL)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is not a node id or a pattern (an id, or a prefix "
		    "followed by *)", v);
	strcopy(buf, cap, v);
	return 0;
}

static int
get_label(struct conf_yaml *y, const struct conf_yaml_item *it, char *buf)
{
	char v[CONF_YAML_VALUE_MAX];
	size_t i;
	int rc = get_str(y, it, "a label like alice", v, sizeof(v));

	if (rc != 0)
		return rc;
	for (i = 0; v[i] != '\0'; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '-' &&
		    v[i] != '_' && v[i] != '.')
			break;
	if (v[i] != '\0' || i == 0 || i > SIM_LABEL_MAX)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is not a label (letters, digits, - _ . ; at most "
		    "%d characters)", v, SIM_LABEL_MAX);
	strcopy(buf, SIM_LABEL_MAX + 1, v);
	return 0;
}

static int
get_level(struct conf_yaml *y, const struct conf_yaml_item *it, char *buf)
{
	char v[CONF_YAML_VALUE_MAX];
	int rc = get_str(y, it, "a level like JP-CESI:CONFIDENTIAL", v,
	    sizeof(v));

	if (rc != 0)
		return rc;
	if (proto_level_find(v) == NULL)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "unknown level '%s' (known: JP-CESI:CONFIDENTIAL, "
		    "JP-SDS:SECRET, US:SECRET, UK:SC, NATO:NS, ... see "
		    "docs/decision.md)", v);
	strcopy(buf, PROTO_LEVEL_MAX + 1, v);
	return 0;
}

static bool
scope_valid(const char *s)
{
	size_t i;

	if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && strchr("._:/-", s[i]) ==
		    NULL)
			return false;
	return i <= PROTO_SCOPE_MAX;
}

static int
get_dur(struct conf_yaml *y, const struct conf_yaml_item *it,
    int64_t *us)
{
	char v[CONF_YAML_VALUE_MAX];
	int years, rc = get_str(y, it, "a duration like 50ms, 1.5s or 2m",
	    v, sizeof(v));

	if (rc != 0)
		return rc;
	if (sim_duration_parse(v, false, &years, us) != 0)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is not a duration (expected e.g. 50ms, 1.5s, 2m, "
		    "1h30m, 3d; units w d h m s ms us in that order)", v);
	return 0;
}

static int
get_secs(struct conf_yaml *y, const struct conf_yaml_item *it, int64_t *s)
{
	int64_t us;
	int rc = get_dur(y, it, &us);

	if (rc != 0)
		return rc;
	if (us % SIM_US_PER_S != 0)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "whole seconds expected (the engine counts seconds)");
	*s = us / SIM_US_PER_S;
	return 0;
}

/* A probability: "0.5%", "1%", "0". */
static int
get_ppm(struct conf_yaml *y, const struct conf_yaml_item *it, uint32_t *ppm)
{
	char v[CONF_YAML_VALUE_MAX];
	const char *p = v;
	int64_t x;
	int rc = get_str(y, it, "a percentage like 1% or 0.5%", v, sizeof(v));

	if (rc != 0)
		return rc;
	if (strcmp(v, "0") == 0) {
		*ppm = 0;
		return 0;
	}
	/* percent with up to four decimals: 1% = 10000 ppm */
	if (scaled(&p, 10000, &x) != 0 || strcmp(p, "%") != 0 ||
	    x > (int64_t)SIM_PPM)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is not a percentage from 0%% to 100%% (at most "
		    "four decimals, e.g. 0.25%%)", v);
	*ppm = (uint32_t)x;
	return 0;
}

static int
get_u64(struct conf_yaml *y, const struct conf_yaml_item *it, uint64_t lo,
    uint64_t hi, uint64_t *out)
{
	return conf_yaml_uint(y, it, lo, hi, out);
}

/* A list of strings with a per-item check. */
typedef int (*item_fn)(struct conf_yaml *, const struct conf_yaml_item *,
    void *, size_t);

static int
get_list(struct conf_yaml *y, const struct conf_yaml_item *it, size_t max,
    const char *what, item_fn fn, void *arg, size_t *n)
{
	struct conf_yaml_item el;
	struct fy_node *seq;
	char key[CONF_YAML_KEY_MAX];
	void *iter = NULL;
	size_t cnt, i = 0;
	int rc;

	rc = conf_yaml_list(y, it, max, CONF_YAML_NULL_EMPTY, what, &seq,
	    &cnt);
	if (rc != 0)
		return rc;
	while ((el.val = fy_node_sequence_iterate(seq, &iter)) != NULL) {
		(void)conf_yaml_key_join("", it->key, key, sizeof(key));
		snprintf(key + strlen(key), sizeof(key) - strlen(key), "[%zu]",
		    i);
		el.key = key;
		el.line = conf_yaml_line(el.val, it->line);
		rc = fn(y, &el, arg, i);
		if (rc != 0)
			return rc;
		i++;
	}
	*n = i;
	return 0;
}

static int
level_item(struct conf_yaml *y, const struct conf_yaml_item *it, void *arg,
    size_t i)
{
	struct proto_strs *s = arg;
	size_t k;
	int rc = get_level(y, it, s->v[i]);

	if (rc != 0)
		return rc;
	for (k = 0; k < i; k++)
		if (strcmp(s->v[k], s->v[i]) == 0)
			return conf_yaml_err(y, MRX_EDUP, it->line, it->key,
			    "'%s' is listed twice", s->v[i]);
	s->n = i + 1;
	return 0;
}

static int
scope_item(struct conf_yaml *y, const struct conf_yaml_item *it, void *arg,
    size_t i)
{
	struct proto_strs *s = arg;
	char v[CONF_YAML_VALUE_MAX];
	size_t k;
	int rc = get_str(y, it, "a scope like semiconductors", v, sizeof(v));

	if (rc != 0)
		return rc;
	if (!scope_valid(v))
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is not a scope ([a-z0-9][a-z0-9._:/-]*, at most "
		    "%d characters)", v, PROTO_SCOPE_MAX);
	for (k = 0; k < i; k++)
		if (strcmp(s->v[k], v) == 0)
			return conf_yaml_err(y, MRX_EDUP, it->line, it->key,
			    "'%s' is listed twice", v);
	strcopy(s->v[i], sizeof(s->v[i]), v);
	s->n = i + 1;
	return 0;
}

static int
get_levels(struct conf_yaml *y, const struct conf_yaml_item *it,
    struct proto_strs *s)
{
	size_t n;

	memset(s, 0, sizeof(*s));
	return get_list(y, it, PROTO_LIST_MAX, "levels", level_item, s, &n);
}

static int
get_scopes(struct conf_yaml *y, const struct conf_yaml_item *it,
    struct proto_strs *s)
{
	size_t n;

	memset(s, 0, sizeof(*s));
	return get_list(y, it, PROTO_LIST_MAX, "scopes", scope_item, s, &n);
}

/* ---- top level ---- */

#define X(y) ((struct sctx *)(y)->user)

static int
h_name(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_str(y, it, "a short name", X(y)->sc->name,
	    sizeof(X(y)->sc->name));
}

static int
h_description(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_str(y, it, "one sentence", X(y)->sc->description,
	    sizeof(X(y)->sc->description));
}

static int
h_seed(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	X(y)->sc->has_seed = true;
	return get_u64(y, it, 0, UINT64_MAX, &X(y)->sc->seed);
}

static int
h_start(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	char v[CONF_YAML_VALUE_MAX];
	int rc = get_str(y, it, "an RFC 3339 time like 2026-09-21T00:00:00Z",
	    v, sizeof(v));

	if (rc != 0)
		return rc;
	if (X(y)->sc->nevents > 0 || X(y)->sc->nagreements > 0)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "start must come before agreements and events (their "
		    "times are read against it)");
	if (conf_time_parse(v, &X(y)->sc->start, NULL) != 0 ||
	    X(y)->sc->start < 0)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is not an RFC 3339 time like 2026-09-21T00:00:00Z",
		    v);
	X(y)->start_line = it->line;
	return 0;
}

static int
h_duration(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	int64_t us;
	int rc = get_dur(y, it, &us);

	if (rc == 0 && us <= 0)
		return conf_yaml_err(y, MRX_ERANGE, it->line, it->key,
		    "must be positive");
	X(y)->sc->duration_us = us;
	X(y)->sc->duration_set = true;
	return rc;
}

static int
h_fast_forward(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_dur(y, it, &X(y)->sc->fast_forward_us);
}

/* ---- network ---- */

static int
l_latency(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_dur(y, it, &X(y)->link->latency_us);
}

static int
l_jitter(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_dur(y, it, &X(y)->link->jitter_us);
}

static int
l_loss(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_ppm(y, it, &X(y)->link->loss_ppm);
}

static int
l_dup(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_ppm(y, it, &X(y)->link->dup_ppm);
}

static int
l_reorder(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_ppm(y, it, &X(y)->link->reorder_ppm);
}

static int
l_reorder_delay(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_dur(y, it, &X(y)->link->reorder_us);
}

static int
jur_item(struct conf_yaml *y, const struct conf_yaml_item *it, void *arg,
    size_t i)
{
	char (*b)[SIM_JUR_MAX] = arg;
	char v[CONF_YAML_VALUE_MAX];
	int rc = get_str(y, it, "a jurisdiction like JP, or *", v, sizeof(v));

	if (rc != 0)
		return rc;
	if (strlen(v) == 0 || strlen(v) >= SIM_JUR_MAX)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is not a jurisdiction (1 to %d characters)", v,
		    SIM_JUR_MAX - 1);
	snprintf(b[i], SIM_JUR_MAX, "%s", v);
	return 0;
}

static int
l_between(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	size_t n;
	int rc = get_list(y, it, 2, "jurisdictions", jur_item, X(y)->between,
	    &n);

	if (rc == 0 && n != 2)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "expected two jurisdictions, like [JP, US]");
	if (rc == 0) {
		memcpy(X(y)->rule->a, X(y)->between[0], SIM_JUR_MAX);
		memcpy(X(y)->rule->b, X(y)->between[1], SIM_JUR_MAX);
	}
	return rc;
}

#define LINK_KEYS \
	{ "latency", l_latency, NULL }, { "jitter", l_jitter, NULL }, \
	{ "loss", l_loss, NULL }, { "duplicate", l_dup, NULL }, \
	{ "reorder", l_reorder, NULL }, \
	{ "reorder_delay", l_reorder_delay, NULL }

static const struct conf_yaml_key rule_keys[] = {
	{ "between", l_between, "the two jurisdictions, like [JP, US]" },
	LINK_KEYS,
};

static int
check_link(struct conf_yaml *y, const struct sim_link *l, int line,
    const char *key)
{
	if (sim_link_check(l) != 0)
		return conf_yaml_err(y, MRX_ERANGE, line, key,
		    "jitter must not exceed latency, and latency and delays "
		    "must be at most one hour");
	return 0;
}

static int
link_item(struct conf_yaml *y, const struct conf_yaml_item *it, void *arg,
    size_t i)
{
	struct sim_scenario *sc = X(y)->sc;
	int rc;

	(void)arg;
	sc->rules[i].link = sc->link;	/* a rule starts from the default */
	X(y)->rule = &sc->rules[i];
	X(y)->link = &sc->rules[i].link;
	rc = conf_yaml_walk(y, it->val, it->key, it->line, rule_keys,
	    sizeof(rule_keys) / sizeof(rule_keys[0]));
	if (rc == 0)
		rc = check_link(y, X(y)->link, it->line, it->key);
	sc->nrules = i + 1;
	X(y)->link = &sc->link;
	return rc;
}

static int
l_links(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	size_t n;

	return get_list(y, it, SIM_NET_RULES_MAX, "link rules", link_item,
	    NULL, &n);
}

static const struct conf_yaml_key network_keys[] = {
	LINK_KEYS,
	{ "links", l_links, NULL },
};

static int
h_network(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	int rc;

	X(y)->link = &X(y)->sc->link;
	rc = conf_yaml_walk(y, it->val, it->key, it->line, network_keys,
	    sizeof(network_keys) / sizeof(network_keys[0]));
	return rc != 0 ? rc : check_link(y, &X(y)->sc->link, it->line,
	    it->key);
}

/* ---- policy ---- */

#define P(y) (&X(y)->sc->policy)

static int
p_age(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_secs(y, it, &P(y)->max_status_age_s);
}

static int
p_skew(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_secs(y, it, &P(y)->skew_s);
}

static int
p_opcert(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return conf_yaml_bool(y, it, &P(y)->require_operator_cert);
}

static int
p_checkpoint(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	int rc = get_secs(y, it, &P(y)->checkpoint_interval_s);

	if (rc == 0 && P(y)->checkpoint_interval_s >
	    ENG_CHECKPOINT_INTERVAL_MAX_S)
		return conf_yaml_err(y, MRX_ERANGE, it->line, it->key,
		    "at most %d s", ENG_CHECKPOINT_INTERVAL_MAX_S);
	return rc;
}

static int
p_tick(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	int rc = get_dur(y, it, &P(y)->tick_us);

	if (rc == 0 && P(y)->tick_us < 1000)
		return conf_yaml_err(y, MRX_ERANGE, it->line, it->key,
		    "at least 1ms");
	return rc;
}

static int
p_list_size(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	uint64_t v;
	int rc = get_u64(y, it, ENG_LIST_SIZE_MIN, PROTO_STATUS_ENTRIES_MAX,
	    &v);

	if (rc == 0 && v % 8 != 0)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "%llu is not a multiple of 8", (unsigned long long)v);
	P(y)->status_list_size = (uint32_t)v;
	return rc;
}

static int
p_watches(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	uint64_t v;
	int rc = get_u64(y, it, 1, ENG_WATCHES_LIMIT, &v);

	P(y)->watches_max = (size_t)v;
	return rc;
}

static int
p_vcache(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	uint64_t v;
	int rc = get_u64(y, it, 1, ENG_VCACHE_LIMIT, &v);

	P(y)->vcache_max = (size_t)v;
	return rc;
}

static int
p_replay(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	uint64_t v;
	int rc = get_u64(y, it, PROTO_REPLAY_IDS_MIN, PROTO_REPLAY_IDS_MAX,
	    &v);

	P(y)->replay_ids = (uint32_t)v;
	return rc;
}

static int
p_rate(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	uint64_t v;
	int rc = get_u64(y, it, 1, PROTO_RATE_MAX, &v);

	P(y)->rate_per_s = (uint32_t)v;
	return rc;
}

static int
p_burst(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	uint64_t v;
	int rc = get_u64(y, it, 1, PROTO_RATE_MAX, &v);

	P(y)->rate_burst = (uint32_t)v;
	return rc;
}

static int
p_sync(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_dur(y, it, &P(y)->sync_us);
}

static int
p_relay_batch(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_dur(y, it, &P(y)->relay_batch_us);
}

static int
p_republish(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	int rc = get_dur(y, it, &P(y)->republish_us);

	if (rc == 0 && P(y)->republish_us < SIM_US_PER_S)
		return conf_yaml_err(y, MRX_ERANGE, it->line, it->key,
		    "at least 1s");
	return rc;
}

static int
p_align(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return conf_yaml_bool(y, it, &P(y)->align_ticks);
}

static const struct conf_yaml_key policy_keys[] = {
	{ "max_status_age", p_age, NULL },
	{ "skew", p_skew, NULL },
	{ "require_operator_cert", p_opcert, NULL },
	{ "checkpoint_interval", p_checkpoint, NULL },
	{ "tick", p_tick, NULL },
	{ "status_list_size", p_list_size, NULL },
	{ "watches_max", p_watches, NULL },
	{ "vcache_max", p_vcache, NULL },
	{ "replay_ids", p_replay, NULL },
	{ "rate", p_rate, NULL },
	{ "burst", p_burst, NULL },
	{ "sync", p_sync, NULL },
	{ "relay_batch", p_relay_batch, NULL },
	{ "republish", p_republish, NULL },
	{ "align_ticks", p_align, NULL },
};

static int
h_policy(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return conf_yaml_walk(y, it->val, it->key, it->line, policy_keys,
	    sizeof(policy_keys) / sizeof(policy_keys[0]));
}

/* ---- nodes ---- */

#define N(y) (X(y)->node)

static int
n_id(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_id(y, it, N(y)->id, sizeof(N(y)->id));
}

static int
n_role(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	char v[CONF_YAML_VALUE_MAX];
	int rc = get_str(y, it, "root, issuer or operator", v, sizeof(v));

	if (rc != 0)
		return rc;
	if (eng_role_parse(v, &N(y)->role) != 0)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is not a role (expected root, issuer or operator)",
		    v);
	return 0;
}

static int
n_jur(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	char b[1][SIM_JUR_MAX];
	int rc = jur_item(y, it, b, 0);

	if (rc == 0)
		snprintf(N(y)->jur, sizeof(N(y)->jur), "%s", b[0]);
	return rc;
}

static int
n_parent(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_id(y, it, N(y)->parent, sizeof(N(y)->parent));
}

static int
n_levels(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_levels(y, it, &N(y)->levels);
}

static int
n_scopes(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_scopes(y, it, &N(y)->scopes);
}

static int
n_certified(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_levels(y, it, &N(y)->certified);
}

static int
n_age(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_secs(y, it, &N(y)->max_status_age_s);
}

static int
n_opcert(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	bool b;
	int rc = conf_yaml_bool(y, it, &b);

	N(y)->require_operator_cert = b;
	return rc;
}

static const struct conf_yaml_key node_keys[] = {
	{ "id", n_id, "the node id, like jp.meti" },
	{ "role", n_role, "root, issuer or operator" },
	{ "jurisdiction", n_jur, NULL },
	{ "parent", n_parent, NULL },
	{ "levels", n_levels, NULL },
	{ "scopes", n_scopes, NULL },
	{ "certified", n_certified, NULL },
	{ "max_status_age", n_age, NULL },
	{ "require_operator_cert", n_opcert, NULL },
};

static int
node_item(struct conf_yaml *y, const struct conf_yaml_item *it, void *arg,
    size_t i)
{
	struct sim_scenario *sc = X(y)->sc;
	struct sim_node_conf *n;
	size_t k;
	int rc;

	if ((rc = sim_scenario_reserve(sc, i + 1, 0, 0, y->diag)) != 0)
		return rc;
	n = &sc->nodes[i];

	(void)arg;
	memset(n, 0, sizeof(*n));
	n->max_status_age_s = -1;
	n->require_operator_cert = -1;
	n->line = conf_yaml_line(it->val, it->line);
	X(y)->node = n;
	rc = conf_yaml_walk(y, it->val, it->key, it->line, node_keys,
	    sizeof(node_keys) / sizeof(node_keys[0]));
	if (rc != 0)
		return rc;
	for (k = 0; k < i; k++)
		if (strcmp(sc->nodes[k].id, n->id) == 0)
			return conf_yaml_err(y, MRX_EDUP, n->line, it->key,
			    "node '%s' is listed twice (first at line %d)",
			    n->id, sc->nodes[k].line);
	if (n->role == ENG_ROLE_ISSUER && n->levels.n == 0)
		return conf_yaml_err(y, MRX_EMISSING, n->line, it->key,
		    "issuer '%s' needs levels: the levels its root "
		    "delegates to it", n->id);
	if (n->role != ENG_ROLE_ISSUER && n->levels.n > 0)
		return conf_yaml_err(y, MRX_EINVAL, n->line, it->key,
		    "only an issuer has levels (operators: certified)");
	if (n->role != ENG_ROLE_OPERATOR && n->certified.n > 0)
		return conf_yaml_err(y, MRX_EINVAL, n->line, it->key,
		    "only an operator is certified");
	if (n->role == ENG_ROLE_ROOT && n->parent[0] != '\0')
		return conf_yaml_err(y, MRX_EINVAL, n->line, it->key,
		    "a root has no parent");
	if (n->role != ENG_ROLE_ROOT && n->parent[0] == '\0')
		return conf_yaml_err(y, MRX_EMISSING, n->line, it->key,
		    "%s '%s' needs a parent (its authority)",
		    eng_role_name(n->role), n->id);
	if (n->jur[0] == '\0') {
		/* jp.meti -> JP */
		for (k = 0; n->id[k] != '\0' && n->id[k] != '.' &&
		    k < SIM_JUR_MAX - 1; k++)
			n->jur[k] = (char)toupper((unsigned char)n->id[k]);
		n->jur[k] = '\0';
	}
	sc->nnodes = i + 1;
	return 0;
}

static int
h_nodes(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	size_t n;

	return get_list(y, it, SIM_NODES_MAX, "nodes", node_item, NULL, &n);
}

/* ---- federation generator ---- */

#define F(y) (&X(y)->sc->fed)

static int
f_countries(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	uint64_t v;
	int rc = get_u64(y, it, 1, SIM_COUNTRIES_MAX, &v);

	F(y)->countries = (uint32_t)v;
	return rc;
}

static int
f_operators(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	uint64_t v;
	int rc = get_u64(y, it, 0, SIM_NODES_MAX - 64, &v);

	F(y)->operators = (uint32_t)v;
	return rc;
}

static int
f_issuers(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	uint64_t v;
	int rc = get_u64(y, it, 1, 8, &v);

	F(y)->issuers = (uint32_t)v;
	return rc;
}

static int
f_agreements(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	char v[CONF_YAML_VALUE_MAX];
	int rc = get_str(y, it, "mesh or none", v, sizeof(v));

	if (rc != 0)
		return rc;
	if (strcmp(v, "mesh") != 0 && strcmp(v, "none") != 0)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s': expected mesh (an agreement between every two "
		    "roots) or none", v);
	F(y)->mesh = strcmp(v, "mesh") == 0;
	return 0;
}

static int
f_certified(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return conf_yaml_bool(y, it, &F(y)->certify);
}

static const struct conf_yaml_key fed_keys[] = {
	{ "countries", f_countries, "how many countries (1 to 8)" },
	{ "operators", f_operators, "how many operator nodes in all" },
	{ "issuers", f_issuers, NULL },
	{ "agreements", f_agreements, NULL },
	{ "certified", f_certified, NULL },
};

static int
h_federation(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	F(y)->on = true;
	F(y)->issuers = 1;
	F(y)->mesh = true;
	F(y)->certify = true;
	F(y)->line = it->line;
	return conf_yaml_walk(y, it->val, it->key, it->line, fed_keys,
	    sizeof(fed_keys) / sizeof(fed_keys[0]));
}

/* ---- agreements ---- */

#define A(y) (X(y)->agr)

static int
r_from(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_level(y, it, X(y)->row->from);
}

static int
r_to(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_level(y, it, X(y)->row->to);
}

static int
r_scopes(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_scopes(y, it, &X(y)->row->scopes);
}

static const struct conf_yaml_key row_keys[] = {
	{ "from", r_from, "the foreign level" },
	{ "to", r_to, "the local level it counts as" },
	{ "scopes", r_scopes, NULL },
};

static int
row_item(struct conf_yaml *y, const struct conf_yaml_item *it, void *arg,
    size_t i)
{
	struct sim_agreement_conf *a = A(y);
	const struct proto_level *f, *t;
	size_t k;
	int rc;

	(void)arg;
	X(y)->row = &a->rows[i];
	memset(X(y)->row, 0, sizeof(*X(y)->row));
	rc = conf_yaml_walk(y, it->val, it->key, it->line, row_keys,
	    sizeof(row_keys) / sizeof(row_keys[0]));
	if (rc != 0)
		return rc;
	f = proto_level_find(a->rows[i].from);
	t = proto_level_find(a->rows[i].to);
	if (strcmp(f->scheme, t->scheme) == 0)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "from and to are of the same scheme %s (a row maps a "
		    "foreign scheme onto a local one)", f->scheme);
	for (k = 0; k < i; k++)
		if (strcmp(a->rows[k].from, a->rows[i].from) == 0 &&
		    strcmp(a->rows[k].to, a->rows[i].to) == 0)
			return conf_yaml_err(y, MRX_EDUP, it->line, it->key,
			    "the row %s -> %s is listed twice",
			    a->rows[i].from, a->rows[i].to);
	a->nrows = i + 1;
	return 0;
}

static int
a_id(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_id(y, it, A(y)->id, sizeof(A(y)->id));
}

static int
party_item(struct conf_yaml *y, const struct conf_yaml_item *it, void *arg,
    size_t i)
{
	(void)arg;
	return get_id(y, it, A(y)->parties[i], sizeof(A(y)->parties[i]));
}

static int
a_parties(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	size_t n;
	int rc = get_list(y, it, 2, "root ids", party_item, NULL, &n);

	if (rc == 0 && (n != 2 || strcmp(A(y)->parties[0],
	    A(y)->parties[1]) == 0))
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "expected two different root ids, like [jp.cao, us.dcsa]");
	return rc;
}

/* An agreement time: RFC 3339, or a duration from start ("-1d", "30y"). */
static int
agr_time(struct conf_yaml *y, const struct conf_yaml_item *it, int64_t *out)
{
	char v[CONF_YAML_VALUE_MAX];
	int64_t abs, us;
	int years, sign = 1, rc = get_str(y, it, "an RFC 3339 time, or a "
	    "duration from start like -1d or 20y", v, sizeof(v));

	if (rc != 0)
		return rc;
	if (conf_time_parse(v, out, NULL) == 0)
		return 0;
	if (v[0] == '-')
		sign = -1;
	if (sim_duration_parse(v + (v[0] == '-' || v[0] == '+'), true, &years,
	    &us) != 0)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is neither an RFC 3339 time nor a duration from "
		    "start like -1d or 20y", v);
	if (proto_time_add_years(X(y)->sc->start, sign * years, &abs) != 0)
		return conf_yaml_err(y, MRX_ERANGE, it->line, it->key,
		    "'%s' is out of range", v);
	*out = abs + sign * (us / SIM_US_PER_S);
	return 0;
}

static int
a_from(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return agr_time(y, it, &A(y)->nbf);
}

static int
a_until(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return agr_time(y, it, &A(y)->exp);
}

static int
a_age(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_secs(y, it, &A(y)->max_status_age_s);
}

static int
a_opcert(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return conf_yaml_bool(y, it, &A(y)->operator_cert_required);
}

static int
a_rows(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	size_t n;
	int rc = get_list(y, it, PROTO_ROWS_MAX, "rows", row_item, NULL, &n);

	if (rc == 0 && n == 0)
		return conf_yaml_err(y, MRX_EMISSING, it->line, it->key,
		    "an agreement needs at least one row");
	return rc;
}

static const struct conf_yaml_key agr_keys[] = {
	{ "id", a_id, "the agreement id" },
	{ "parties", a_parties, "the two roots, like [jp.cao, us.dcsa]" },
	{ "valid_from", a_from, NULL },
	{ "valid_until", a_until, NULL },
	{ "max_status_age", a_age, NULL },
	{ "operator_cert_required", a_opcert, NULL },
	{ "rows", a_rows, "the equivalence rows" },
};

static int
agr_item(struct conf_yaml *y, const struct conf_yaml_item *it, void *arg,
    size_t i)
{
	struct sim_scenario *sc = X(y)->sc;
	struct sim_agreement_conf *a = &sc->agreements[i];
	int rc;

	(void)arg;
	memset(a, 0, sizeof(*a));
	a->line = conf_yaml_line(it->val, it->line);
	X(y)->agr = a;
	rc = conf_yaml_walk(y, it->val, it->key, it->line, agr_keys,
	    sizeof(agr_keys) / sizeof(agr_keys[0]));
	if (rc != 0)
		return rc;
	if (a->nbf != 0 && a->exp != 0 && a->exp <= a->nbf)
		return conf_yaml_err(y, MRX_ERANGE, a->line, it->key,
		    "valid_until must be after valid_from");
	sc->nagreements = i + 1;
	return 0;
}

static int
h_agreements(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	size_t n;

	return get_list(y, it, SIM_AGREEMENTS_MAX, "agreements", agr_item,
	    NULL, &n);
}

/* ---- people ---- */

static int
pe_label(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_label(y, it, X(y)->person->label);
}

static int
pe_name(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_str(y, it, "the person's full name", X(y)->person->name,
	    sizeof(X(y)->person->name));
}

static int
pe_employer(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_id(y, it, X(y)->person->employer,
	    sizeof(X(y)->person->employer));
}

static int
pe_nationality(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	char v[CONF_YAML_VALUE_MAX];
	int rc = get_str(y, it, "three letters like JPN", v, sizeof(v));

	if (rc != 0)
		return rc;
	if (strlen(v) != 3 || !isupper((unsigned char)v[0]) ||
	    !isupper((unsigned char)v[1]) || !isupper((unsigned char)v[2]))
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is not a nationality (three capital letters, like "
		    "JPN)", v);
	memcpy(X(y)->person->nationality, v, 4);
	return 0;
}

static const struct conf_yaml_key person_keys[] = {
	{ "label", pe_label, "the label events use, like alice" },
	{ "name", pe_name, NULL },
	{ "employer", pe_employer, "the operator node employing the person" },
	{ "nationality", pe_nationality, NULL },
};

static int
person_item(struct conf_yaml *y, const struct conf_yaml_item *it, void *arg,
    size_t i)
{
	struct sim_scenario *sc = X(y)->sc;
	struct sim_person_conf *p;
	size_t k;
	int rc;

	if ((rc = sim_scenario_reserve(sc, 0, i + 1, 0, y->diag)) != 0)
		return rc;
	p = &sc->people[i];

	(void)arg;
	memset(p, 0, sizeof(*p));
	p->line = conf_yaml_line(it->val, it->line);
	X(y)->person = p;
	rc = conf_yaml_walk(y, it->val, it->key, it->line, person_keys,
	    sizeof(person_keys) / sizeof(person_keys[0]));
	if (rc != 0)
		return rc;
	for (k = 0; k < i; k++)
		if (strcmp(sc->people[k].label, p->label) == 0)
			return conf_yaml_err(y, MRX_EDUP, p->line, it->key,
			    "person '%s' is listed twice (first at line %d)",
			    p->label, sc->people[k].line);
	sc->npeople = i + 1;
	return 0;
}

#define PEOPLE_LISTED_MAX 4096

static int
h_people(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	size_t n;

	return get_list(y, it, PEOPLE_LISTED_MAX, "people", person_item, NULL,
	    &n);
}

/* ---- workload ---- */

#define W(y) (&X(y)->sc->work)

static int
w_start(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_dur(y, it, &W(y)->start_us);
}

static int
w_duration(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	int rc = get_dur(y, it, &W(y)->duration_us);

	if (rc == 0 && W(y)->duration_us <= 0)
		return conf_yaml_err(y, MRX_ERANGE, it->line, it->key,
		    "must be positive");
	return rc;
}

#define WCOUNT(fn, field, hi) \
static int \
fn(struct conf_yaml *y, const struct conf_yaml_item *it) \
{ \
	return get_u64(y, it, 0, (hi), &W(y)->field); \
}
WCOUNT(w_people, people, SIM_PEOPLE_MAX)
WCOUNT(w_clearances, clearances, SIM_PEOPLE_MAX)
WCOUNT(w_revocations, revocations, SIM_PEOPLE_MAX)
WCOUNT(w_suspensions, suspensions, SIM_PEOPLE_MAX)
WCOUNT(w_verifications, verifications, 16u << 20)

static int
w_foreign(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_ppm(y, it, &W(y)->foreign_ppm);
}

static const struct conf_yaml_key work_keys[] = {
	{ "start", w_start, NULL },
	{ "duration", w_duration, "how long the workload runs, like 1h" },
	{ "people", w_people, "how many people to generate" },
	{ "clearances", w_clearances, NULL },
	{ "revocations", w_revocations, NULL },
	{ "suspensions", w_suspensions, NULL },
	{ "verifications", w_verifications, NULL },
	{ "foreign", w_foreign, NULL },
};

static int
h_workload(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct sim_workload *w = W(y);
	int rc;

	w->on = true;
	w->start_us = SIM_US_PER_S;
	w->line = it->line;
	rc = conf_yaml_walk(y, it->val, it->key, it->line, work_keys,
	    sizeof(work_keys) / sizeof(work_keys[0]));
	if (rc == 0 && w->clearances > w->people)
		return conf_yaml_err(y, MRX_ERANGE, it->line, it->key,
		    "clearances (%llu) exceed people (%llu): one clearance "
		    "each", (unsigned long long)w->clearances,
		    (unsigned long long)w->people);
	if (rc == 0 && w->revocations + w->suspensions > w->clearances)
		return conf_yaml_err(y, MRX_ERANGE, it->line, it->key,
		    "more revocations and suspensions than clearances");
	return rc;
}

/* ---- assert ---- */

static int
s_p99(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_dur(y, it, &X(y)->sc->asserts.propagation_p99_us);
}

static int
s_max(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_dur(y, it, &X(y)->sc->asserts.propagation_max_us);
}

static int
s_wall(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	int64_t us;
	int rc = get_dur(y, it, &us);

	X(y)->sc->asserts.wall_ms = us / 1000;
	return rc;
}

static int
s_cpu(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	int64_t us;
	int rc = get_dur(y, it, &us);

	X(y)->sc->asserts.cpu_ms = us / 1000;
	return rc;
}

static int
s_converged(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return conf_yaml_bool(y, it, &X(y)->sc->asserts.converged);
}

static const struct conf_yaml_key assert_keys[] = {
	{ "propagation_p99", s_p99, NULL },
	{ "propagation_max", s_max, NULL },
	{ "wall_time", s_wall, NULL },
	{ "cpu_time", s_cpu, NULL },
	{ "converged", s_converged, NULL },
};

static int
h_assert(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	X(y)->sc->asserts.line = it->line;
	return conf_yaml_walk(y, it->val, it->key, it->line, assert_keys,
	    sizeof(assert_keys) / sizeof(assert_keys[0]));
}

/* ---- events ---- */

#define E(y) (X(y)->ev)

static int
e_do(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	(void)y;
	(void)it;
	return 0;	/* read first, by event_item() */
}

/* "+5s" or "-1d" or "0": a signed duration. */
static int
get_signed(struct conf_yaml *y, const struct conf_yaml_item *it,
    int64_t *us)
{
	char v[CONF_YAML_VALUE_MAX];
	int years, sign = 1, rc = get_str(y, it, "a signed duration like "
	    "-1d or +10s", v, sizeof(v));

	if (rc != 0)
		return rc;
	if (v[0] == '-')
		sign = -1;
	if (sim_duration_parse(v + (v[0] == '-' || v[0] == '+'), false,
	    &years, us) != 0)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is not a signed duration like -1d or +10s", v);
	*us *= sign;
	return 0;
}

/* exp(LABEL) [+|- DURATION] */
static int
at_exp(struct conf_yaml *y, const struct conf_yaml_item *it, const char *v)
{
	struct sim_time *t = &E(y)->at;
	const char *p = v + 4, *q = strchr(p, ')');
	char d[CONF_YAML_VALUE_MAX];
	int years, sign;
	size_t n = q != NULL ? (size_t)(q - p) : 0;

	if (q == NULL || n == 0 || n > SIM_LABEL_MAX)
		goto bad;
	memcpy(t->cred, p, n);
	t->cred[n] = '\0';
	t->kind = SIM_TIME_EXP;
	for (p = q + 1; *p == ' '; p++)
		;
	if (*p == '\0')
		return 0;
	if (*p != '+' && *p != '-')
		goto bad;
	sign = *p == '-' ? -1 : 1;
	for (p++; *p == ' '; p++)
		;
	snprintf(d, sizeof(d), "%s", p);
	if (sim_duration_parse(d, false, &years, &t->us) != 0)
		goto bad;
	t->us *= sign;
	return 0;
bad:
	return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
	    "'%s' is not a time: expected exp(CREDENTIAL) optionally "
	    "followed by + or - a duration, like exp(alice) - 1d", v);
}

static int
e_at(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct sctx *x = X(y);
	struct sim_time *t = &E(y)->at;
	char v[CONF_YAML_VALUE_MAX];
	int64_t abs, us;
	int years, rc = get_str(y, it, "a time: a duration from start like "
	    "5.2s, +2s after the previous event, an RFC 3339 time, or "
	    "exp(CREDENTIAL) - 1d", v, sizeof(v));

	if (rc != 0)
		return rc;
	memset(t, 0, sizeof(*t));
	if (strncmp(v, "exp(", 4) == 0)
		return at_exp(y, it, v);
	if (conf_time_parse(v, &abs, NULL) == 0) {
		if (abs < x->sc->start)
			return conf_yaml_err(y, MRX_ERANGE, it->line, it->key,
			    "'%s' is before the scenario's start", v);
		t->us = (abs - x->sc->start) * SIM_US_PER_S;
		return 0;
	}
	if (v[0] == '+') {
		if (!x->prev_static)
			return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
			    "'%s': the previous event's time is an exp() "
			    "time; write exp(...) + DURATION", v);
		if (sim_duration_parse(v + 1, false, &years, &us) != 0)
			return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
			    "'%s' is not +DURATION like +2s", v);
		t->us = x->prev_at_us + us;
		return 0;
	}
	if (sim_duration_parse(v, true, &years, &us) != 0)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is not a time (expected a duration from start like "
		    "5.2s or 10y, +2s, an RFC 3339 time, or exp(CREDENTIAL) "
		    "- 1d)", v);
	if (proto_time_add_years(x->sc->start, years, &abs) != 0)
		return conf_yaml_err(y, MRX_ERANGE, it->line, it->key,
		    "'%s' is out of range", v);
	t->us = (abs - x->sc->start) * SIM_US_PER_S + us;
	return 0;
}

static int
e_node(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_pattern(y, it, E(y)->node, sizeof(E(y)->node));
}

static int
e_expect(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	char v[CONF_YAML_VALUE_MAX];
	size_t i;
	int rc = get_str(y, it, "accept, reject, indeterminate, ok, refused, "
	    "found or not-found", v, sizeof(v));

	if (rc != 0)
		return rc;
	for (i = 1; i < sizeof(expect_names) / sizeof(expect_names[0]); i++)
		if (strcmp(v, expect_names[i]) == 0) {
			E(y)->expect = (enum sim_expect)i;
			return 0;
		}
	return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
	    "'%s' is not an outcome (expected accept, reject, indeterminate, "
	    "ok, refused, found or not-found)", v);
}

static int
e_code(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_str(y, it, "a reason code like revoked or no-equivalence",
	    E(y)->code, sizeof(E(y)->code));
}

static int
e_person(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_label(y, it, E(y)->person);
}

static int
e_cred(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_label(y, it, E(y)->cred);
}

static int
e_as(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_label(y, it, E(y)->as);
}

static int
e_level(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_level(y, it, E(y)->level);
}

static int
e_levels(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_levels(y, it, &E(y)->levels);
}

static int
e_scopes(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_scopes(y, it, &E(y)->scopes);
}

static int
e_access(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_level(y, it, E(y)->access);
}

static int
e_scope(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	char v[CONF_YAML_VALUE_MAX];
	int rc = get_str(y, it, "a scope like semiconductors", v, sizeof(v));

	if (rc != 0)
		return rc;
	if (!scope_valid(v))
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is not a scope", v);
	strcopy(E(y)->scope, sizeof(E(y)->scope), v);
	return 0;
}

/* true, false, or the label of a (forged) operator certification */
static int
e_opcert(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	char v[CONF_YAML_VALUE_MAX];
	int rc = get_str(y, it, "true, false or a credential label", v,
	    sizeof(v));

	if (rc != 0)
		return rc;
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
		E(y)->operator_cert = v[0] == 't';
		return 0;
	}
	E(y)->operator_cert = true;
	return get_label(y, it, E(y)->target);
}

static int
e_reason(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	char v[CONF_YAML_VALUE_MAX];
	int rc = get_str(y, it, "a reason code like ELIGIBILITY_REVOKED", v,
	    sizeof(v));

	if (rc != 0)
		return rc;
	if (proto_reason_parse(v, &E(y)->reason) != 0)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is not a reason code (ADMIN_SEPARATION, "
		    "ELIGIBILITY_REVOKED, SUSPENDED_PENDING_REVIEW, "
		    "REINSTATED, SUPERSEDED, ... see DOMAIN.md)", v);
	return 0;
}

static int
e_valid_for(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct conf_duration d;
	char v[CONF_YAML_VALUE_MAX];
	int rc = get_str(y, it, "a validity like 10y or 30d", v, sizeof(v));

	if (rc != 0)
		return rc;
	if (conf_duration_parse(v, &d, NULL) != 0 || (d.years == 0 &&
	    d.seconds == 0))
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is not a positive validity like 10y, 90d or 1d12h",
		    v);
	E(y)->valid_years = d.years;
	E(y)->valid_s = d.seconds;
	return 0;
}

static int
member_item(struct conf_yaml *y, const struct conf_yaml_item *it, void *arg,
    size_t i)
{
	struct sim_groups *g = &E(y)->groups;
	uint32_t grp = (uint32_t)(uintptr_t)arg;

	(void)i;
	if (g->n >= SIM_MEMBERS_MAX)
		return conf_yaml_err(y, MRX_ETOOBIG, it->line, it->key,
		    "more than %d node patterns in one event",
		    SIM_MEMBERS_MAX);
	g->group[g->n] = grp;
	return get_pattern(y, it, g->member[g->n++], PROTO_ID_MAX + 1);
}

/* to: a node pattern or a list of them (group 0) */
static int
e_to(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	size_t n;

	if (it->val != NULL && fy_node_is_sequence(it->val))
		return get_list(y, it, SIM_MEMBERS_MAX, "node patterns",
		    member_item, (void *)(uintptr_t)0, &n);
	return member_item(y, it, (void *)(uintptr_t)0, 0);
}

static int
group_item(struct conf_yaml *y, const struct conf_yaml_item *it, void *arg,
    size_t i)
{
	size_t n;

	(void)arg;
	if (i >= SIM_GROUPS_MAX)
		return conf_yaml_err(y, MRX_ETOOBIG, it->line, it->key,
		    "more than %d groups", SIM_GROUPS_MAX);
	if (it->val != NULL && fy_node_is_sequence(it->val))
		return get_list(y, it, SIM_MEMBERS_MAX, "node patterns",
		    member_item, (void *)(uintptr_t)(i + 1), &n);
	return member_item(y, it, (void *)(uintptr_t)(i + 1), 0);
}

static int
e_groups(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	size_t n;

	return get_list(y, it, SIM_GROUPS_MAX, "groups of nodes", group_item,
	    NULL, &n);
}

static int
e_from(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	E(y)->has_from = true;
	return get_signed(y, it, &E(y)->from_us);
}

static int
e_kind(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_str(y, it, "clearance or operator-cert (forge), record or "
	    "envelope (replay)", E(y)->kind, sizeof(E(y)->kind));
}

static int
e_key(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_id(y, it, E(y)->key, sizeof(E(y)->key));
}

static int
e_issuer(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_id(y, it, E(y)->issuer, sizeof(E(y)->issuer));
}

static int
e_iat(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	E(y)->has_iat = true;
	return get_signed(y, it, &E(y)->iat_us);
}

static int
e_uri(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	int rc = get_str(y, it, "a status list uri like "
	    "mrx://jp.meti/status/1", E(y)->uri, sizeof(E(y)->uri));

	if (rc == 0 && strncmp(E(y)->uri, "mrx://", 6) != 0)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s' is not a status list uri (mrx://ISSUER/status/N)",
		    E(y)->uri);
	return rc;
}

static int
e_index(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	char v[CONF_YAML_VALUE_MAX];
	int rc = get_str(y, it, "unallocated", v, sizeof(v));

	if (rc == 0 && strcmp(v, "unallocated") != 0)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "'%s': expected unallocated (an index the issuer never "
		    "gave out)", v);
	E(y)->unallocated = true;
	return rc;
}

static int
e_seq(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_u64(y, it, 1, INT64_MAX, &E(y)->seq);
}

static int
e_operator(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return get_id(y, it, E(y)->target, sizeof(E(y)->target));
}

#define K(name, fn) { name, fn, NULL }
#define COMMON K("at", e_at), K("do", e_do)
#define EXPECT K("expect", e_expect), K("code", e_code)

static const struct conf_yaml_key k_issue[] = { COMMON, EXPECT,
	K("node", e_node), K("person", e_person), K("level", e_level),
	K("scopes", e_scopes), K("valid_for", e_valid_for), K("as", e_as) };
static const struct conf_yaml_key k_issue_op[] = { COMMON, EXPECT,
	K("node", e_node), K("operator", e_operator), K("levels", e_levels),
	K("scopes", e_scopes), K("valid_for", e_valid_for), K("as", e_as) };
static const struct conf_yaml_key k_present[] = { COMMON, EXPECT,
	K("node", e_node), K("person", e_person), K("cred", e_cred),
	K("access", e_access), K("scope", e_scope),
	K("operator_cert", e_opcert) };
static const struct conf_yaml_key k_status[] = { COMMON, EXPECT,
	K("node", e_node), K("person", e_person), K("cred", e_cred),
	K("reason", e_reason) };
static const struct conf_yaml_key k_move[] = { COMMON, EXPECT,
	K("person", e_person), K("to", e_to), K("reason", e_reason),
	K("as", e_as) };
static const struct conf_yaml_key k_compromise[] = { COMMON,
	K("node", e_node), K("from", e_from) };
static const struct conf_yaml_key k_node[] = { COMMON, K("node", e_node) };
static const struct conf_yaml_key k_partition[] = { COMMON,
	K("groups", e_groups) };
static const struct conf_yaml_key k_heal[] = { COMMON };
static const struct conf_yaml_key k_forge[] = { COMMON,
	K("node", e_node), K("kind", e_kind), K("key", e_key),
	K("issuer", e_issuer), K("person", e_person),
	K("operator", e_operator), K("level", e_level),
	K("levels", e_levels), K("scopes", e_scopes), K("iat", e_iat),
	K("uri", e_uri), K("index", e_index), K("as", e_as) };
static const struct conf_yaml_key k_replay[] = { COMMON,
	K("node", e_node), K("kind", e_kind), K("issuer", e_issuer),
	K("uri", e_uri), K("seq", e_seq), K("to", e_to) };
static const struct conf_yaml_key k_equivocate[] = { COMMON,
	K("node", e_node), K("person", e_person), K("cred", e_cred),
	K("to", e_to) };
static const struct conf_yaml_key k_leak[] = { COMMON,
	K("node", e_node), K("person", e_person), K("to", e_to) };
static const struct conf_yaml_key k_fetch[] = { COMMON, EXPECT,
	K("node", e_node), K("person", e_person), K("cred", e_cred) };
static const struct conf_yaml_key k_converged[] = { COMMON };
static int
e_between(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	size_t n;
	int rc = get_list(y, it, 2, "jurisdictions", jur_item, E(y)->between,
	    &n);

	if (rc == 0 && n != 2)
		return conf_yaml_err(y, MRX_EINVAL, it->line, it->key,
		    "expected two jurisdictions, like [JP, US]");
	E(y)->has_between = rc == 0;
	return rc;
}

static const struct conf_yaml_key k_network[] = { COMMON, LINK_KEYS,
	K("between", e_between) };

#define TABLE(t) t, sizeof(t) / sizeof(t[0])

static const struct {
	const struct conf_yaml_key *keys;
	size_t n;
} act_keys[SIM_ACT_COUNT] = {
	[SIM_ACT_ISSUE] = { TABLE(k_issue) },
	[SIM_ACT_ISSUE_OPERATOR] = { TABLE(k_issue_op) },
	[SIM_ACT_PRESENT] = { TABLE(k_present) },
	[SIM_ACT_VERIFY] = { TABLE(k_present) },
	[SIM_ACT_SUSPEND] = { TABLE(k_status) },
	[SIM_ACT_REVOKE] = { TABLE(k_status) },
	[SIM_ACT_REINSTATE] = { TABLE(k_status) },
	[SIM_ACT_MOVE] = { TABLE(k_move) },
	[SIM_ACT_COMPROMISE] = { TABLE(k_compromise) },
	[SIM_ACT_CRASH] = { TABLE(k_node) },
	[SIM_ACT_RESTART] = { TABLE(k_node) },
	[SIM_ACT_PARTITION] = { TABLE(k_partition) },
	[SIM_ACT_HEAL] = { TABLE(k_heal) },
	[SIM_ACT_FORGE] = { TABLE(k_forge) },
	[SIM_ACT_REPLAY] = { TABLE(k_replay) },
	[SIM_ACT_EQUIVOCATE] = { TABLE(k_equivocate) },
	[SIM_ACT_LEAK] = { TABLE(k_leak) },
	[SIM_ACT_FETCH] = { TABLE(k_fetch) },
	[SIM_ACT_CONVERGED] = { TABLE(k_converged) },
	[SIM_ACT_NETWORK] = { TABLE(k_network) },
};

/* The action named by the event's `do`. */
static int
event_act(struct conf_yaml *y, const struct conf_yaml_item *it,
    enum sim_act *act)
{
	struct conf_yaml_item d;
	char key[CONF_YAML_KEY_MAX], v[CONF_YAML_VALUE_MAX];
	int i, rc;

	if (it->val == NULL || !fy_node_is_mapping(it->val))
		return conf_yaml_err(y, MRX_ETYPE, it->line, it->key,
		    "an event is a mapping with at least at and do");
	(void)conf_yaml_key_join(it->key, "do", key, sizeof(key));
	d.key = key;
	d.val = fy_node_mapping_lookup_by_string(it->val, "do", 2);
	d.line = conf_yaml_line(it->val, it->line);
	if (d.val == NULL)
		return conf_yaml_err(y, MRX_EMISSING, d.line, it->key,
		    "the event has no do: (issue, present, verify, revoke, "
		    "crash, partition, forge, ... see docs/sim.md)");
	d.line = conf_yaml_line(d.val, d.line);
	rc = get_str(y, &d, "an action like issue or present", v, sizeof(v));
	if (rc != 0)
		return rc;
	for (i = 1; i < SIM_ACT_COUNT; i++)
		if (strcmp(v, act_names[i]) == 0) {
			*act = (enum sim_act)i;
			return 0;
		}
	return conf_yaml_err(y, MRX_EINVAL, d.line, key, "'%s' is not an "
	    "action (issue, issue-operator, present, verify, suspend, "
	    "revoke, reinstate, move, compromise, crash, restart, partition, "
	    "heal, forge, replay, equivocate, leak, fetch, converged, "
	    "network)", v);
}

static bool
expect_fits(enum sim_act a, enum sim_expect e)
{
	if (e == SIM_EXPECT_NONE)
		return true;
	switch (a) {
	case SIM_ACT_PRESENT:
	case SIM_ACT_VERIFY:
		return e == SIM_EXPECT_ACCEPT || e == SIM_EXPECT_REJECT ||
		    e == SIM_EXPECT_INDETERMINATE;
	case SIM_ACT_FETCH:
		return e == SIM_EXPECT_FOUND || e == SIM_EXPECT_NOT_FOUND;
	default:
		return e == SIM_EXPECT_OK || e == SIM_EXPECT_REFUSED;
	}
}

/* What each action needs beyond at and do. */
static int
event_check(struct conf_yaml *y, const struct conf_yaml_item *it,
    struct sim_event_conf *ev)
{
	const char *need = NULL;
	enum sim_act a = ev->act;
	bool cred = ev->person[0] != '\0' || ev->cred[0] != '\0';

	if (!expect_fits(a, ev->expect))
		return conf_yaml_err(y, MRX_EINVAL, ev->line, it->key,
		    "%s cannot expect %s", sim_act_name(a),
		    sim_expect_name(ev->expect));
	if (ev->code[0] != '\0' && ev->expect == SIM_EXPECT_NONE)
		return conf_yaml_err(y, MRX_EINVAL, ev->line, it->key,
		    "code needs expect");
	if (a == SIM_ACT_ISSUE && (ev->node[0] == '\0' ||
	    ev->person[0] == '\0' || ev->level[0] == '\0'))
		need = "node (the issuer), person and level";
	else if (a == SIM_ACT_ISSUE_OPERATOR && (ev->node[0] == '\0' ||
	    ev->target[0] == '\0' || ev->levels.n == 0))
		need = "node (the issuer), operator and levels";
	else if ((a == SIM_ACT_PRESENT || a == SIM_ACT_VERIFY) &&
	    (ev->node[0] == '\0' || !cred || ev->access[0] == '\0'))
		need = "node (the verifier), person or cred, and access";
	else if ((a == SIM_ACT_SUSPEND || a == SIM_ACT_REVOKE ||
	    a == SIM_ACT_REINSTATE || a == SIM_ACT_FETCH) && !cred)
		need = "person or cred";
	else if (a == SIM_ACT_FETCH && ev->node[0] == '\0')
		need = "node (who asks)";
	else if (a == SIM_ACT_MOVE && (ev->person[0] == '\0' ||
	    ev->groups.n != 1))
		need = "person and to (one operator)";
	else if ((a == SIM_ACT_COMPROMISE || a == SIM_ACT_CRASH ||
	    a == SIM_ACT_RESTART || a == SIM_ACT_REPLAY ||
	    a == SIM_ACT_LEAK || a == SIM_ACT_EQUIVOCATE) &&
	    ev->node[0] == '\0')
		need = "node";
	else if (a == SIM_ACT_PARTITION && ev->groups.n == 0)
		need = "groups, like [[jp.*], [us.*]]";
	else if (a == SIM_ACT_FORGE && (ev->as[0] == '\0' ||
	    (strcmp(ev->kind, "clearance") == 0 && (ev->person[0] == '\0' ||
	    ev->level[0] == '\0')) || (strcmp(ev->kind, "operator-cert") ==
	    0 && (ev->target[0] == '\0' || ev->levels.n == 0))))
		need = "as, and for kind clearance person and level, for kind "
		    "operator-cert operator and levels";
	else if (a == SIM_ACT_FORGE && strcmp(ev->kind, "clearance") != 0 &&
	    strcmp(ev->kind, "operator-cert") != 0)
		need = "kind: clearance or operator-cert";
	else if (a == SIM_ACT_REPLAY && (ev->issuer[0] == '\0' ||
	    ev->seq == 0))
		need = "issuer and seq (the status delta to send again)";
	else if (a == SIM_ACT_REPLAY && ev->kind[0] != '\0' &&
	    strcmp(ev->kind, "record") != 0 &&
	    strcmp(ev->kind, "envelope") != 0)
		need = "kind: record or envelope";
	else if (a == SIM_ACT_EQUIVOCATE && (!cred || ev->groups.n == 0))
		need = "person or cred, and to (who gets the other delta)";
	else if (a == SIM_ACT_LEAK && ev->person[0] == '\0')
		need = "person";
	if (need != NULL)
		return conf_yaml_err(y, MRX_EMISSING, ev->line, it->key,
		    "%s needs %s", sim_act_name(a), need);
	if (a == SIM_ACT_NETWORK && sim_link_check(&ev->link) != 0)
		return check_link(y, &ev->link, ev->line, it->key);
	return 0;
}

static int
event_item(struct conf_yaml *y, const struct conf_yaml_item *it, void *arg,
    size_t i)
{
	struct sctx *x = X(y);
	struct sim_event_conf *ev;
	int rc;

	if ((rc = sim_scenario_reserve(x->sc, 0, 0, i + 1, y->diag)) != 0)
		return rc;
	ev = &x->sc->events[i];

	(void)arg;
	memset(ev, 0, sizeof(*ev));
	ev->line = conf_yaml_line(it->val, it->line);
	ev->index = i;
	ev->link = x->sc->link;
	x->ev = ev;
	x->link = &ev->link;
	rc = event_act(y, it, &ev->act);
	if (rc != 0)
		return rc;
	if (ev->act == SIM_ACT_FORGE)
		snprintf(ev->kind, sizeof(ev->kind), "clearance");
	rc = conf_yaml_walk(y, it->val, it->key, it->line,
	    act_keys[ev->act].keys, act_keys[ev->act].n);
	x->link = &x->sc->link;
	if (rc != 0)
		return rc;
	rc = event_check(y, it, ev);
	if (rc != 0)
		return rc;
	x->prev_static = ev->at.kind == SIM_TIME_AT;
	if (x->prev_static)
		x->prev_at_us = ev->at.us;
	x->sc->nevents = i + 1;
	return 0;
}

static int
h_events(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	size_t n;

	return get_list(y, it, SIM_EVENTS_MAX, "events", event_item, NULL,
	    &n);
}

/* ---- cross references ---- */

static int
ref_err(const struct sim_scenario *sc, struct mrx_diag *diag, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
ref_err(const struct sim_scenario *sc, struct mrx_diag *diag, int line,
    const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET, "",
	    "%s:%d: %s", sc->file, line, what);
}

static const struct sim_node_conf *
node_of(const struct sim_scenario *sc, const char *id)
{
	size_t i = sim_scenario_node(sc, id);

	return i == SIZE_MAX ? NULL : &sc->nodes[i];
}

static int
resolve_nodes(const struct sim_scenario *sc, struct mrx_diag *diag)
{
	const struct sim_node_conf *n, *p;
	size_t i;

	if (sc->nnodes == 0)
		return ref_err(sc, diag, 1, "no nodes: list them under nodes: "
		    "or generate them with federation:");
	for (i = 0; i < sc->nnodes; i++) {
		n = &sc->nodes[i];
		if (n->role == ENG_ROLE_ROOT)
			continue;
		p = node_of(sc, n->parent);
		if (p == NULL)
			return ref_err(sc, diag, n->line, "node '%s': parent "
			    "'%s' is not a node of this scenario", n->id,
			    n->parent);
		if (n->role == ENG_ROLE_ISSUER && p->role != ENG_ROLE_ROOT)
			return ref_err(sc, diag, n->line, "issuer '%s': its "
			    "parent '%s' is not a root (a root delegates to "
			    "an issuer)", n->id, p->id);
		if (n->role == ENG_ROLE_OPERATOR && p->role ==
		    ENG_ROLE_OPERATOR)
			return ref_err(sc, diag, n->line, "operator '%s': its "
			    "parent '%s' is an operator (expected an issuer "
			    "or a root)", n->id, p->id);
		if (n->certified.n > 0 && p->role != ENG_ROLE_ISSUER)
			return ref_err(sc, diag, n->line, "operator '%s' is "
			    "certified by its parent, which must be an "
			    "issuer", n->id);
	}
	return 0;
}

static int
resolve_agreements(struct sim_scenario *sc, struct mrx_diag *diag)
{
	struct sim_agreement_conf *a;
	const struct sim_node_conf *n;
	size_t i, k;

	for (i = 0; i < sc->nagreements; i++) {
		a = &sc->agreements[i];
		for (k = 0; k < 2; k++) {
			n = node_of(sc, a->parties[k]);
			if (n == NULL || n->role != ENG_ROLE_ROOT)
				return ref_err(sc, diag, a->line, "agreement "
				    "'%s': party '%s' is not a root node", a->id,
				    a->parties[k]);
		}
		for (k = 0; k < i; k++)
			if (strcmp(sc->agreements[k].id, a->id) == 0)
				return ref_err(sc, diag, a->line, "agreement "
				    "'%s' is listed twice", a->id);
		if (a->nbf == 0)
			a->nbf = sc->start - 86400;
		if (a->exp == 0 && proto_time_add_years(sc->start, 30,
		    &a->exp) != 0)
			return MRX_ERANGE;
	}
	return 0;
}

static const struct sim_person_conf *
person_of(const struct sim_scenario *sc, const char *label)
{
	size_t i;

	for (i = 0; i < sc->npeople; i++)
		if (strcmp(sc->people[i].label, label) == 0)
			return &sc->people[i];
	return NULL;
}

static int
resolve_people(struct sim_scenario *sc, struct mrx_diag *diag)
{
	struct sim_person_conf *p;
	const struct sim_node_conf *n;
	size_t i;

	for (i = 0; i < sc->npeople; i++) {
		p = &sc->people[i];
		n = node_of(sc, p->employer);
		if (n == NULL || n->role != ENG_ROLE_OPERATOR)
			return ref_err(sc, diag, p->line, "person '%s': "
			    "employer '%s' is not an operator node", p->label,
			    p->employer);
	}
	return 0;
}

static bool
pattern_used(const struct sim_scenario *sc, const char *pat)
{
	size_t i;

	for (i = 0; i < sc->nnodes; i++)
		if (sim_pattern_match(pat, sc->nodes[i].id))
			return true;
	return false;
}

/* Is `label` made by an event before index i, or a person? */
static bool
label_known(const struct sim_scenario *sc, size_t i, const char *label)
{
	size_t k;

	if (person_of(sc, label) != NULL)
		return true;
	/* an operator's certification is named after the operator */
	k = sim_scenario_node(sc, label);
	if (k != SIZE_MAX && sc->nodes[k].certified.n > 0)
		return true;
	for (k = 0; k < i; k++)
		if (strcmp(sc->events[k].as, label) == 0 ||
		    (sc->events[k].act == SIM_ACT_ISSUE_OPERATOR &&
		    sc->events[k].as[0] == '\0' &&
		    strcmp(sc->events[k].target, label) == 0))
			return true;
	return false;
}

static int
resolve_event(const struct sim_scenario *sc, size_t i, struct mrx_diag *diag)
{
	const struct sim_event_conf *ev = &sc->events[i];
	const struct sim_node_conf *n;
	const char *act = sim_act_name(ev->act);
	size_t k;

	if (ev->node[0] != '\0' && !pattern_used(sc, ev->node))
		return ref_err(sc, diag, ev->line, "%s: node '%s' matches no "
		    "node of this scenario", act, ev->node);
	for (k = 0; k < ev->groups.n; k++)
		if (!pattern_used(sc, ev->groups.member[k]))
			return ref_err(sc, diag, ev->line, "%s: '%s' matches "
			    "no node of this scenario", act,
			    ev->groups.member[k]);
	if (ev->person[0] != '\0' && person_of(sc, ev->person) == NULL)
		return ref_err(sc, diag, ev->line, "%s: no person '%s' (list "
		    "people under people:)", act, ev->person);
	if (ev->cred[0] != '\0' && !label_known(sc, i, ev->cred))
		return ref_err(sc, diag, ev->line, "%s: credential '%s' is "
		    "made by no earlier event (issue ... as: %s)", act,
		    ev->cred, ev->cred);
	if (ev->at.kind == SIM_TIME_EXP && !label_known(sc, i, ev->at.cred))
		return ref_err(sc, diag, ev->line, "%s: exp(%s): no earlier "
		    "event makes credential '%s'", act, ev->at.cred,
		    ev->at.cred);
	if ((ev->act == SIM_ACT_PRESENT || ev->act == SIM_ACT_VERIFY) &&
	    ev->target[0] != '\0' && !label_known(sc, i, ev->target))
		return ref_err(sc, diag, ev->line, "%s: operator_cert '%s' is "
		    "made by no earlier event", act, ev->target);
	n = ev->node[0] != '\0' && strchr(ev->node, '*') == NULL ?
	    node_of(sc, ev->node) : NULL;
	if ((ev->act == SIM_ACT_ISSUE || ev->act == SIM_ACT_ISSUE_OPERATOR) &&
	    n == NULL)
		return ref_err(sc, diag, ev->line, "%s: node must name one "
		    "node, not a pattern", act);
	if (ev->act == SIM_ACT_MOVE && ((n = node_of(sc,
	    ev->groups.member[0])) == NULL || n->role != ENG_ROLE_OPERATOR))
		return ref_err(sc, diag, ev->line, "move: to '%s' is not an "
		    "operator node", ev->groups.member[0]);
	if (ev->act == SIM_ACT_ISSUE_OPERATOR && ((n = node_of(sc,
	    ev->target)) == NULL || n->role != ENG_ROLE_OPERATOR))
		return ref_err(sc, diag, ev->line, "issue-operator: '%s' is "
		    "not an operator node", ev->target);
	if (ev->act == SIM_ACT_COMPROMISE && ((n = node_of(sc, ev->node)) ==
	    NULL || n->role != ENG_ROLE_ISSUER))
		return ref_err(sc, diag, ev->line, "compromise: node '%s' is "
		    "not an issuer (its root declares its key compromised)",
		    ev->node);
	if (ev->act == SIM_ACT_FORGE && ev->key[0] != '\0' &&
	    strcmp(ev->key, "attacker") != 0 && node_of(sc, ev->key) == NULL)
		return ref_err(sc, diag, ev->line, "forge: key '%s' is "
		    "neither attacker nor a node", ev->key);
	if (ev->act == SIM_ACT_FORGE && strcmp(ev->kind, "operator-cert") ==
	    0 && ((n = node_of(sc, ev->target)) == NULL ||
	    n->role != ENG_ROLE_OPERATOR))
		return ref_err(sc, diag, ev->line, "forge: operator '%s' is "
		    "not an operator node", ev->target);
	if (ev->act == SIM_ACT_REPLAY && ((n = node_of(sc, ev->issuer)) ==
	    NULL || n->role != ENG_ROLE_ISSUER))
		return ref_err(sc, diag, ev->line, "replay: issuer '%s' is not "
		    "an issuer node", ev->issuer);
	if (ev->at.kind == SIM_TIME_AT && sc->duration_us > 0 &&
	    ev->at.us > sc->duration_us)
		return ref_err(sc, diag, ev->line, "%s: at %lld.%06llds is "
		    "after the scenario's duration", act,
		    (long long)(ev->at.us / SIM_US_PER_S),
		    (long long)(ev->at.us % SIM_US_PER_S));
	return 0;
}

static int
resolve(struct conf_yaml *y, struct sim_scenario *sc)
{
	struct mrx_diag *diag = y->diag;
	size_t i;
	int rc;

	if (sc->fed.on && (rc = sim_federation_generate(sc, diag)) != 0)
		return rc;
	if ((rc = resolve_nodes(sc, diag)) != 0 ||
	    (rc = resolve_agreements(sc, diag)) != 0 ||
	    (rc = resolve_people(sc, diag)) != 0)
		return rc;
	for (i = 0; i < sc->nevents; i++)
		if ((rc = resolve_event(sc, i, diag)) != 0)
			return rc;
	if (sc->work.on && sc->work.clearances > 0 && !sc->fed.on)
		return ref_err(sc, diag, sc->work.line, "workload: generated "
		    "people need a generated federation (federation:)");
	if (sc->duration_us == 0) {
		for (i = 0; i < sc->nevents; i++)
			if (sc->events[i].at.kind == SIM_TIME_AT &&
			    sc->events[i].at.us > sc->duration_us)
				sc->duration_us = sc->events[i].at.us;
		if (sc->work.on && sc->work.start_us + sc->work.duration_us >
		    sc->duration_us)
			sc->duration_us = sc->work.start_us +
			    sc->work.duration_us;
		sc->duration_us += 10 * SIM_US_PER_S;
	}
	return 0;
}

static const struct conf_yaml_key top_keys[] = {
	{ "name", h_name, NULL },
	{ "description", h_description, NULL },
	{ "seed", h_seed, NULL },
	{ "start", h_start, NULL },
	{ "duration", h_duration, NULL },
	{ "fast_forward", h_fast_forward, NULL },
	{ "network", h_network, NULL },
	{ "policy", h_policy, NULL },
	{ "nodes", h_nodes, NULL },
	{ "federation", h_federation, NULL },
	{ "agreements", h_agreements, NULL },
	{ "people", h_people, NULL },
	{ "workload", h_workload, NULL },
	{ "events", h_events, NULL },
	{ "assert", h_assert, NULL },
};

int
sim_scenario_parse(const char *name, const char *text, size_t len,
    struct sim_scenario *sc, struct mrx_diag *diag)
{
	struct conf_yaml y;
	struct sctx x;
	int rc;

	sim_scenario_defaults(sc);
	snprintf(sc->file, sizeof(sc->file), "%s", name);
	if ((rc = sim_scenario_reserve(sc, 1, 1, 1, diag)) != 0)
		return rc;
	memset(&x, 0, sizeof(x));
	x.sc = sc;
	x.prev_static = true;
	conf_yaml_init(&y, name, diag, &x, 0);
	rc = conf_yaml_parse(&y, text, len, top_keys,
	    sizeof(top_keys) / sizeof(top_keys[0]));
	if (rc != 0)
		return rc;
	return resolve(&y, sc);
}

int
sim_scenario_load(const char *path, struct sim_scenario *sc,
    struct mrx_diag *diag)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	sim_scenario_defaults(sc);
	rc = conf_yaml_read(path, SIM_SCENARIO_BYTES_MAX, "a scenario file",
	    NULL, &buf, &len, diag);
	if (rc != 0)
		return rc;
	rc = sim_scenario_parse(path, buf, len, sc, diag);
	free(buf);
	return rc;
}
