/*
 * agreement_conf.c - the YAML draft of an agreement -> struct
 * proto_agreement (see agreement_conf.h and docs/agreements.md).
 *
 * Reading follows the rules of conf/yaml.c, as the node configuration
 * does: one YAML document whose root is a mapping, every mapping walked
 * against a table of the keys it may hold; an unknown key, a key twice, a
 * missing required key, a value of the wrong shape or out of its range is
 * an error naming NAME:LINE: KEY, and the caller's struct gets nothing.
 * Unlike the node's file, a list key given without a value is an error
 * (an empty list is written []), and an unknown key whose path is too long
 * for a message is named by that path cut short.
 *
 * Invariant on success: the terms pass proto_payload_encode() once the
 * caller sets iat and cti, so a draft that loads always makes a payload.
 * The levels are also checked against the table of known levels, which the
 * record codec leaves to the decision engine: a typo in a signed agreement
 * would be a row that never matches, for the whole life of the agreement.
 */
#include "agreement_conf.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "level.h"
#include "ptime.h"
#include "value.h"
#include "conf_yaml.h"

/* The state of one parse, the handlers' y->user. */
struct actx {
	struct proto_agreement *a;	/* being filled (not the caller's) */
	size_t row;			/* index of the row being read */
	int from_line, to_line;		/* lines of the row's levels */
	int row_lines[PROTO_ROWS_MAX];	/* line of each row read so far */
	int nbf_line, exp_line, rows_line;
};

/* ---- values ---- */

static int
id_value(struct conf_yaml *y, const struct conf_yaml_item *it, char *dst,
    size_t cap)
{
	char s[CONF_YAML_VALUE_MAX];
	int rc;

	rc = conf_yaml_scalar(y, it, "an id such as jp.cao", s, sizeof(s));
	if (rc != 0)
		return rc;
	if (!proto_id_valid(s))
		return conf_yaml_err(y, MRX_EINVAL,
		    conf_yaml_line(it->val, it->line), it->key,
		    "'%.40s' is not a valid id (expected 1 to %d of a-z, 0-9, "
		    "'.', '-', starting with a letter or digit)", s,
		    PROTO_ID_MAX);
	/* a valid id is at most PROTO_ID_MAX bytes, and cap holds that */
	assert(strlen(s) < cap);
	snprintf(dst, cap, "%.*s", PROTO_ID_MAX, s);
	return 0;
}

static int
time_value(struct conf_yaml *y, const struct conf_yaml_item *it,
    int64_t *out)
{
	char s[CONF_YAML_VALUE_MAX];
	int line = conf_yaml_line(it->val, it->line);
	int64_t t;
	int rc;

	rc = conf_yaml_scalar(y, it,
	    "an RFC 3339 time, e.g. 2026-12-01T00:00:00Z", s, sizeof(s));
	if (rc != 0)
		return rc;
	if (conf_time_parse(s, &t, NULL) != 0)
		return conf_yaml_err(y, MRX_EINVAL, line, it->key, "'%.40s' is "
		    "not a time (expected RFC 3339, e.g. 2026-12-01T00:00:00Z)",
		    s);
	if (t < 0 || t > PROTO_TIME_MAX)
		return conf_yaml_err(y, MRX_ERANGE, line, it->key, "'%.40s' is "
		    "out of range (expected 1970-01-01 to 9999-12-31)", s);
	*out = t;
	return 0;
}

/* "US" of "US:SECRET" into buf. */
static void
scheme_of(const char *level, char *buf, size_t cap)
{
	snprintf(buf, cap, "%.*s", (int)strcspn(level, ":"), level);
}

/* What to write instead of an unknown level: its scheme's levels, or the
 * known schemes. */
static void
level_hint(const char *bad, char *buf, size_t cap)
{
	const struct proto_level *lv;
	char scheme[PROTO_LEVEL_MAX + 1];
	size_t len = 0;
	int i, n, w;
	bool same;

	scheme_of(bad, scheme, sizeof(scheme));
	lv = proto_levels(&n);
	for (i = 0; i < n; i++)
		if (strcmp(lv[i].scheme, scheme) == 0)
			break;
	same = i < n;
	w = snprintf(buf, cap, same ? "known %s levels: " : "known schemes: ",
	    scheme);
	if (w < 0 || (size_t)w >= cap)
		return;
	len = (size_t)w;
	for (i = 0; i < n; i++) {
		if (same ? strcmp(lv[i].scheme, scheme) != 0 :
		    (i > 0 && strcmp(lv[i].scheme, lv[i - 1].scheme) == 0))
			continue;
		w = snprintf(buf + len, cap - len, "%s%s",
		    len > (size_t)0 && buf[len - 1] != ' ' ? ", " : "",
		    same ? lv[i].name : lv[i].scheme);
		if (w < 0 || (size_t)w >= cap - len)
			return;
		len += (size_t)w;
	}
}

static int
level_value(struct conf_yaml *y, const struct conf_yaml_item *it, char *dst,
    size_t cap)
{
	char s[CONF_YAML_VALUE_MAX], hint[128];
	const struct proto_level *lv;
	int rc;

	rc = conf_yaml_scalar(y, it, "a level SCHEME:LEVEL, e.g. US:SECRET", s,
	    sizeof(s));
	if (rc != 0)
		return rc;
	lv = proto_level_find(s);
	if (lv == NULL) {
		level_hint(s, hint, sizeof(hint));
		return conf_yaml_err(y, MRX_EINVAL,
		    conf_yaml_line(it->val, it->line), it->key,
		    "unknown level '%.31s' (%s)", s, hint);
	}
	assert(strlen(lv->name) < cap);
	snprintf(dst, cap, "%s", lv->name);
	return 0;
}

/* The scope syntax of docs/protocol.md: [a-z0-9][a-z0-9._:/-]*, 1..63. */
static bool
scope_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > PROTO_SCOPE_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || strchr("._:/-", c) == NULL))
			return false;
	}
	return true;
}

/* ---- the keys ---- */

static int
h_id(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct actx *x = y->user;

	return id_value(y, it, x->a->c.sub, sizeof(x->a->c.sub));
}

static int
h_parties(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct actx *x = y->user;
	struct conf_yaml_item el;
	struct fy_node *seq;
	char key[CONF_YAML_KEY_MAX];
	void *iter = NULL;
	size_t n, i = 0;
	int rc, line = it->line;

	rc = conf_yaml_list(y, it, PROTO_LIST_MAX, CONF_YAML_NULL_MISSING,
	    "root authority ids", &seq, &n);
	if (rc != 0)
		return rc;
	if (n != 2)
		return conf_yaml_err(y, MRX_ERANGE,
		    conf_yaml_line(seq, it->line), it->key, "%zu part%s "
		    "(expected exactly two root authority ids, the drafting "
		    "party first)", n, n == 1 ? "y" : "ies");
	while ((el.val = fy_node_sequence_iterate(seq, &iter)) != NULL) {
		snprintf(key, sizeof(key), "%s[%zu]", it->key, i);
		line = conf_yaml_line(el.val, it->line);
		el.key = key;
		el.line = line;
		rc = id_value(y, &el, x->a->parties[i],
		    sizeof(x->a->parties[i]));
		if (rc != 0)
			return rc;
		i++;
	}
	if (strcmp(x->a->parties[0], x->a->parties[1]) == 0)
		return conf_yaml_err(y, MRX_EDUP, line, key,
		    "'%s' is listed twice (an agreement is between two "
		    "different roots)", x->a->parties[1]);
	snprintf(x->a->c.iss, sizeof(x->a->c.iss), "%s", x->a->parties[0]);
	return 0;
}

static int
h_valid_from(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct actx *x = y->user;

	x->nbf_line = it->line;
	x->a->c.has_nbf = true;
	return time_value(y, it, &x->a->c.nbf);
}

static int
h_valid_until(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct actx *x = y->user;

	x->exp_line = it->line;
	x->a->c.has_exp = true;
	return time_value(y, it, &x->a->c.exp);
}

static int
h_max_status_age(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	static const char expect[] = "a duration, e.g. 5m, 1h, or 0 for the "
	    "verifier's own policy";
	struct actx *x = y->user;
	char s[CONF_YAML_VALUE_MAX];
	int line = conf_yaml_line(it->val, it->line);
	int64_t v;
	int rc;

	rc = conf_yaml_scalar(y, it, expect, s, sizeof(s));
	if (rc != 0)
		return rc;
	rc = conf_duration_seconds(s, &v, NULL);
	if (rc == MRX_ERANGE)
		return conf_yaml_err(y, MRX_ERANGE, line, it->key, "%.40s is "
		    "out of range (expected at most 100 years, in days: "
		    "36600d)", s);
	if (rc != 0)
		return conf_yaml_err(y, MRX_EINVAL, line, it->key, "'%.40s' is "
		    "not a duration (expected %s)", s, expect);
	if (v < 0 || v > CONF_AGREEMENT_AGE_MAX)
		return conf_yaml_err(y, MRX_ERANGE, line, it->key, "%.40s is "
		    "out of range (expected 0 to %lld seconds)", s,
		    (long long)CONF_AGREEMENT_AGE_MAX);
	x->a->max_status_age_s = v;
	return 0;
}

static int
h_operator_cert(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct actx *x = y->user;

	return conf_yaml_bool(y, it, &x->a->operator_cert_required);
}

static const struct conf_yaml_key condition_keys[] = {
	{ "max_status_age", h_max_status_age, "the oldest status a verifier "
	    "may rely on, e.g. 5m (0: its own policy)" },
	{ "operator_cert_required", h_operator_cert, "true or false" },
};

static int
h_conditions(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return conf_yaml_walk(y, it->val, it->key, it->line, condition_keys,
	    sizeof(condition_keys) / sizeof(condition_keys[0]));
}

static int
h_from(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct actx *x = y->user;
	struct proto_agreement_row *r = &x->a->rows[x->row];

	x->from_line = conf_yaml_line(it->val, it->line);
	return level_value(y, it, r->from, sizeof(r->from));
}

static int
h_to(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct actx *x = y->user;
	struct proto_agreement_row *r = &x->a->rows[x->row];

	x->to_line = conf_yaml_line(it->val, it->line);
	return level_value(y, it, r->to, sizeof(r->to));
}

static int
h_scopes(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct actx *x = y->user;
	struct proto_strs *sc = &x->a->rows[x->row].scopes;
	struct conf_yaml_item el;
	struct fy_node *seq;
	char key[CONF_YAML_KEY_MAX], s[CONF_YAML_VALUE_MAX];
	void *iter = NULL;
	size_t n, i = 0, j;
	int rc;

	rc = conf_yaml_list(y, it, PROTO_LIST_MAX, CONF_YAML_NULL_MISSING,
	    "scopes", &seq, &n);
	if (rc != 0)
		return rc;
	while ((el.val = fy_node_sequence_iterate(seq, &iter)) != NULL) {
		snprintf(key, sizeof(key), "%s[%zu]", it->key, i);
		el.key = key;
		el.line = conf_yaml_line(el.val, it->line);
		rc = conf_yaml_scalar(y, &el, "a scope such as semiconductors",
		    s, sizeof(s));
		if (rc != 0)
			return rc;
		if (!scope_valid(s))
			return conf_yaml_err(y, MRX_EINVAL, el.line, key,
			    "'%.40s' is not a scope (expected 1 to %d of a-z, "
			    "0-9, '.', '_', ':', '/', '-', starting with a "
			    "letter or digit)", s, PROTO_SCOPE_MAX);
		for (j = 0; j < i; j++)
			if (strcmp(sc->v[j], s) == 0)
				return conf_yaml_err(y, MRX_EDUP, el.line, key,
				    "'%s' is listed twice", s);
		snprintf(sc->v[i], sizeof(sc->v[i]), "%s", s);
		i++;
	}
	sc->n = n;
	return 0;
}

static const struct conf_yaml_key row_keys[] = {
	{ "from", h_from, "the foreign level, e.g. US:SECRET" },
	{ "to", h_to, "the local level it counts as, e.g. JP-SDS:SECRET" },
	{ "scopes", h_scopes, NULL },
};

/* The checks across one row and the rows before it. */
static int
row_check(struct conf_yaml *y, size_t i, const char *key, int line)
{
	const struct actx *x = y->user;
	const struct proto_agreement_row *r = &x->a->rows[i];
	char sf[PROTO_LEVEL_MAX + 1], st[PROTO_LEVEL_MAX + 1];
	char tkey[CONF_YAML_KEY_MAX];
	size_t j;

	scheme_of(r->from, sf, sizeof(sf));
	scheme_of(r->to, st, sizeof(st));
	if (strcmp(sf, st) == 0) {
		/* "rows[N]" + ".to" always fits */
		conf_yaml_key_join(key, "to", tkey, sizeof(tkey));
		return conf_yaml_err(y, MRX_EINVAL, x->to_line, tkey,
		    "%s is of the scheme of from (%s): a row maps a foreign "
		    "scheme onto a local one", r->to, r->from);
	}
	for (j = 0; j < i; j++)
		if (strcmp(x->a->rows[j].from, r->from) == 0 &&
		    strcmp(x->a->rows[j].to, r->to) == 0)
			return conf_yaml_err(y, MRX_EDUP, line, key, "%s -> %s "
			    "is already rows[%zu] (line %d); merge their "
			    "scopes", r->from, r->to, j, x->row_lines[j]);
	return 0;
}

static int
h_rows(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct actx *x = y->user;
	struct fy_node *seq, *e;
	char key[CONF_YAML_KEY_MAX];
	void *iter = NULL;
	size_t n;
	int rc, line;

	x->rows_line = it->line;
	rc = conf_yaml_list(y, it, PROTO_ROWS_MAX, CONF_YAML_NULL_MISSING,
	    "rows (from, to, scopes)", &seq, &n);
	if (rc != 0)
		return rc;
	if (n == 0)
		return conf_yaml_err(y, MRX_ERANGE,
		    conf_yaml_line(seq, it->line), it->key,
		    "no rows (expected 1 to %d equivalences)", PROTO_ROWS_MAX);
	x->a->rows = calloc(n, sizeof(*x->a->rows));
	if (x->a->rows == NULL)
		return mrx_diag_set(y->diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET,
		    it->key, "no memory for %zu rows", n);
	x->a->nrows = n;
	for (x->row = 0; (e = fy_node_sequence_iterate(seq, &iter)) != NULL;
	    x->row++) {
		snprintf(key, sizeof(key), "%s[%zu]", it->key, x->row);
		line = conf_yaml_line(e, it->line);
		x->row_lines[x->row] = line;
		x->from_line = x->to_line = line;
		rc = conf_yaml_walk(y, e, key, line, row_keys,
		    sizeof(row_keys) / sizeof(row_keys[0]));
		if (rc == 0)
			rc = row_check(y, x->row, key, line);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static const struct conf_yaml_key top_keys[] = {
	{ "id", h_id, "the agreement id, e.g. jp-us-2026" },
	{ "parties", h_parties, "the two root authority ids, the drafting "
	    "party first" },
	{ "valid_from", h_valid_from, "when it enters into force, RFC 3339" },
	{ "valid_until", h_valid_until, "when it ends, RFC 3339" },
	{ "conditions", h_conditions, "max_status_age and "
	    "operator_cert_required" },
	{ "rows", h_rows, "a list of equivalences (from, to, scopes)" },
};

/* ---- the whole document ---- */

/* Cross-key checks, after every key has been read. */
static int
check_terms(struct conf_yaml *y)
{
	const struct actx *x = y->user;
	char b1[PROTO_TIME_STR], b2[PROTO_TIME_STR];
	struct proto_record *rec;
	struct mrx_diag d;
	uint8_t *buf;
	size_t len;
	int rc;

	if (x->a->c.exp <= x->a->c.nbf)
		return conf_yaml_err(y, MRX_ERANGE, x->exp_line, "valid_until",
		    "%s is not after valid_from (%s, line %d)",
		    proto_time_format(x->a->c.exp, b1, sizeof(b1)),
		    proto_time_format(x->a->c.nbf, b2, sizeof(b2)),
		    x->nbf_line);
	rec = calloc(1, sizeof(*rec));
	buf = malloc(PROTO_RECORD_MAX);
	if (rec == NULL || buf == NULL) {
		free(rec);
		free(buf);
		return mrx_diag_set(y->diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET, "",
		    "no memory to encode the terms");
	}
	/* the largest iat the caller may set, so the real payload fits too */
	rec->type = PROTO_REC_AGREEMENT;
	rec->u.agr = *x->a;
	rec->u.agr.c.iat = PROTO_TIME_MAX;
	mrx_diag_clear(&d);
	rc = proto_payload_encode(rec, buf, PROTO_RECORD_MAX, &len, &d);
	free(buf);
	free(rec);
	if (rc == MRX_ETOOBIG)
		return conf_yaml_err(y, rc, x->rows_line, "rows", "the terms "
		    "do not fit in one agreement record (%s); use fewer rows "
		    "or scopes", d.msg);
	if (rc != 0)
		return conf_yaml_err(y, rc, 1, d.field, "the terms cannot be "
		    "encoded: %s", d.msg);
	return 0;
}

int
conf_agreement_parse(const char *name, const char *text, size_t len,
    struct proto_agreement *out, struct mrx_diag *diag)
{
	struct proto_agreement a;
	struct conf_yaml y;
	struct actx x;
	int rc;

	assert(name != NULL && out != NULL && (text != NULL || len == 0));
	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	memset(&x, 0, sizeof(x));
	x.a = &a;
	conf_yaml_init(&y, name, diag, &x, CONF_YAML_CUT_KEYS);
	rc = conf_yaml_parse(&y, text, len, top_keys,
	    sizeof(top_keys) / sizeof(top_keys[0]));
	if (rc == 0)
		rc = check_terms(&y);
	if (rc != 0) {
		conf_agreement_fini(&a);
		return rc;
	}
	*out = a;
	return 0;
}

int
conf_agreement_load(const char *path, struct proto_agreement *out,
    struct mrx_diag *diag)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = conf_yaml_read(path, CONF_AGREEMENT_BYTES_MAX,
	    "an agreement draft", NULL, &text, &len, diag);
	if (rc == 0)
		rc = conf_agreement_parse(path, text, len, out, diag);
	free(text);
	return rc;
}

void
conf_agreement_fini(struct proto_agreement *a)
{
	if (a == NULL)
		return;
	free(a->rows);
	memset(a, 0, sizeof(*a));
}
