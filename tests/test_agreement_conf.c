/*
 * test_agreement_conf.c - the YAML draft of an agreement
 * (conf/agreement_conf.c): a good draft gives exactly the terms it says and
 * a payload that decodes back to them; every error a drafter can make comes
 * back with the right code, line and key, and leaves nothing allocated.
 *
 * Drafts are parsed from strings (conf_agreement_parse); the file reader is
 * tested on the shipped example and on a missing and an oversized file in
 * a fresh mkdtemp directory, removed after.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agreement_conf.h"
#include "level.h"

#define T_2026_12_01 1796083200	/* 2026-12-01T00:00:00Z */
#define T_2031_12_01 1953849600	/* 2031-12-01T00:00:00Z */

/* Seven lines: id, parties, dates, conditions. Rows start at line 8. */
#define HEAD                                                              \
	"id: jp-us-2026-draft\n"                                          \
	"parties: [jp.cao, us.dcsa]\n"                                    \
	"valid_from: 2026-12-01T00:00:00Z\n"                              \
	"valid_until: 2031-12-01T00:00:00Z\n"                             \
	"conditions:\n"                                                   \
	"  max_status_age: 5m\n"                                          \
	"  operator_cert_required: true\n"
#define ONE_ROW "rows: [{from: US:SECRET, to: JP-SDS:SECRET}]\n"

static const char example[] =
    "# the example of docs/agreements.md\n"
    "id: jp-us-2026-draft          # the agreement id (sub)\n"
    "parties: [jp.cao, us.dcsa]    # the first drafts (iss)\n"
    "valid_from: 2026-12-01T00:00:00Z\n"
    "valid_until: 2031-12-01T00:00:00Z\n"
    "conditions:\n"
    "  max_status_age: 5m\n"
    "  operator_cert_required: true\n"
    "rows:\n"
    "  - from: US:SECRET\n"
    "    to: JP-SDS:SECRET\n"
    "  - from: US:TOP-SECRET\n"
    "    to: JP-SDS:TOP-SECRET\n"
    "  - from: US:CONFIDENTIAL\n"
    "    to: JP-CESI:CONFIDENTIAL\n"
    "    scopes: [semiconductors, batteries]\n"
    "  - from: JP-SDS:SECRET\n"
    "    to: US:SECRET\n";

static int
parse(const char *text, struct proto_agreement *a, struct mrx_diag *d)
{
	mrx_diag_clear(d);
	return conf_agreement_parse("draft.yaml", text, strlen(text), a, d);
}

/*
 * Parses `text` and checks that it fails with `code`, the key `key` in
 * diag.field, a message that starts "draft.yaml:LINE: KEY: " and contains
 * `part`, and an output struct that owns nothing.
 */
static void
expect_err_len(const char *text, size_t len, int code, int line,
    const char *key, const char *part)
{
	struct proto_agreement a;
	struct mrx_diag d;
	char want[128];
	int rc;

	memset(&a, 0x5a, sizeof(a));
	mrx_diag_clear(&d);
	rc = conf_agreement_parse("draft.yaml", text, len, &a, &d);
	if (key[0] != '\0')
		snprintf(want, sizeof(want), "draft.yaml:%d: %s: ", line, key);
	else
		snprintf(want, sizeof(want), "draft.yaml:%d: ", line);
	if (rc != code || strcmp(d.field, key) != 0 ||
	    strncmp(d.msg, want, strlen(want)) != 0 ||
	    strstr(d.msg, part) == NULL)
		print_error("got %s field '%s' msg '%s'; wanted %s '%s' '%s' "
		    "'%s'\n", mrx_errname(rc), d.field, d.msg,
		    mrx_errname(code), key, want, part);
	assert_int_equal(rc, code);
	assert_string_equal(d.field, key);
	assert_true(strncmp(d.msg, want, strlen(want)) == 0);
	assert_non_null(strstr(d.msg, part));
	assert_null(a.rows);
	assert_int_equal(a.nrows, 0);
}

static void
expect_err(const char *text, int code, int line, const char *key,
    const char *part)
{
	expect_err_len(text, strlen(text), code, line, key, part);
}

static void
test_example(void **state)
{
	struct proto_agreement a;
	struct mrx_diag d;

	(void)state;
	assert_int_equal(parse(example, &a, &d), 0);
	assert_string_equal(a.c.sub, "jp-us-2026-draft");
	assert_string_equal(a.c.iss, "jp.cao");
	assert_string_equal(a.parties[0], "jp.cao");
	assert_string_equal(a.parties[1], "us.dcsa");
	assert_true(a.c.has_nbf && a.c.has_exp);
	assert_int_equal(a.c.nbf, T_2026_12_01);
	assert_int_equal(a.c.exp, T_2031_12_01);
	assert_int_equal(a.c.iat, 0);
	assert_int_equal(a.max_status_age_s, 300);
	assert_true(a.operator_cert_required);
	assert_int_equal(a.nrows, 4);
	assert_string_equal(a.rows[0].from, "US:SECRET");
	assert_string_equal(a.rows[0].to, "JP-SDS:SECRET");
	assert_int_equal(a.rows[0].scopes.n, 0);
	assert_string_equal(a.rows[2].from, "US:CONFIDENTIAL");
	assert_string_equal(a.rows[2].to, "JP-CESI:CONFIDENTIAL");
	assert_int_equal(a.rows[2].scopes.n, 2);
	assert_string_equal(a.rows[2].scopes.v[0], "semiconductors");
	assert_string_equal(a.rows[2].scopes.v[1], "batteries");
	assert_string_equal(a.rows[3].from, "JP-SDS:SECRET");
	assert_string_equal(a.rows[3].to, "US:SECRET");
	conf_agreement_fini(&a);
	assert_null(a.rows);
	conf_agreement_fini(&a);
}

/* The terms encode, and the payload decodes back to the same terms. */
static void
test_payload_round_trip(void **state)
{
	struct proto_record rec, back;
	struct mrx_diag d;
	uint8_t buf[PROTO_RECORD_MAX], buf2[PROTO_RECORD_MAX];
	size_t len, len2, i;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(parse(example, &rec.u.agr, &d), 0);
	rec.type = PROTO_REC_AGREEMENT;
	rec.u.agr.c.iat = 1795000000;
	memset(rec.u.agr.c.cti, 0xa5, PROTO_CTI_LEN);
	assert_int_equal(proto_payload_encode(&rec, buf, sizeof(buf), &len,
	    &d), 0);
	assert_int_equal(proto_payload_decode(buf, len, &back, &d), 0);
	assert_int_equal(back.type, PROTO_REC_AGREEMENT);
	assert_string_equal(back.u.agr.c.sub, "jp-us-2026-draft");
	assert_string_equal(back.u.agr.c.iss, "jp.cao");
	assert_int_equal(back.u.agr.c.nbf, T_2026_12_01);
	assert_int_equal(back.u.agr.c.exp, T_2031_12_01);
	assert_int_equal(back.u.agr.max_status_age_s, 300);
	assert_true(back.u.agr.operator_cert_required);
	assert_int_equal(back.u.agr.nrows, rec.u.agr.nrows);
	for (i = 0; i < back.u.agr.nrows; i++) {
		assert_string_equal(back.u.agr.rows[i].from,
		    rec.u.agr.rows[i].from);
		assert_string_equal(back.u.agr.rows[i].to,
		    rec.u.agr.rows[i].to);
		assert_int_equal(back.u.agr.rows[i].scopes.n,
		    rec.u.agr.rows[i].scopes.n);
	}
	/* deterministic: the same draft, iat and cti give the same bytes */
	assert_int_equal(proto_payload_encode(&back, buf2, sizeof(buf2), &len2,
	    &d), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(buf2, buf, len);
	proto_record_fini(&back);
	proto_record_fini(&rec);
}

static void
test_flow_style_and_defaults(void **state)
{
	static const char text[] =
	    "{id: \"a-b\", parties: ['x.root', y.root],\n"
	    " valid_from: '2026-01-01',\n"
	    " valid_until: 2026-01-01T09:00:01+09:00,\n"
	    " conditions: {max_status_age: 0, operator_cert_required: False},\n"
	    " rows: [{from: UK:DV, to: NATO:CTS, scopes: []},\n"
	    "        {to: UK:SC, from: NATO:NS}]}\n";
	struct proto_agreement a;
	struct mrx_diag d;

	(void)state;
	assert_int_equal(parse(text, &a, &d), 0);
	assert_string_equal(a.c.sub, "a-b");
	assert_string_equal(a.c.iss, "x.root");
	assert_int_equal(a.c.nbf, 1767225600);
	assert_int_equal(a.c.exp, 1767225601);
	assert_int_equal(a.max_status_age_s, 0);
	assert_false(a.operator_cert_required);
	assert_int_equal(a.nrows, 2);
	assert_int_equal(a.rows[0].scopes.n, 0);
	assert_string_equal(a.rows[1].from, "NATO:NS");
	assert_string_equal(a.rows[1].to, "UK:SC");
	conf_agreement_fini(&a);
}

static void
test_durations(void **state)
{
	struct proto_agreement a;
	struct mrx_diag d;
	char text[512];

	(void)state;
	snprintf(text, sizeof(text), "%s", HEAD ONE_ROW);
	memcpy(strstr(text, "5m"), "1d", 2);
	assert_int_equal(parse(text, &a, &d), 0);
	assert_int_equal(a.max_status_age_s, 86400);
	conf_agreement_fini(&a);
	expect_err("id: a\nparties: [a, b]\nvalid_from: 2026-01-01\n"
	    "valid_until: 2027-01-01\nconditions:\n  max_status_age: 1y\n",
	    MRX_EINVAL, 6, "conditions.max_status_age", "is not a duration");
	expect_err("id: a\nparties: [a, b]\nvalid_from: 2026-01-01\n"
	    "valid_until: 2027-01-01\nconditions:\n  max_status_age: 36601d\n",
	    MRX_ERANGE, 6, "conditions.max_status_age", "out of range");
	expect_err("id: a\nparties: [a, b]\nvalid_from: 2026-01-01\n"
	    "valid_until: 2027-01-01\nconditions:\n  max_status_age: -5m\n",
	    MRX_EINVAL, 6, "conditions.max_status_age", "is not a duration");
}

static void
test_levels_and_rows(void **state)
{
	(void)state;
	expect_err(HEAD "rows:\n  - from: US:SECRET\n    to: JP-SDS:SECRT\n",
	    MRX_EINVAL, 10, "rows[0].to", "unknown level 'JP-SDS:SECRT' "
	    "(known JP-SDS levels: JP-SDS:SECRET, JP-SDS:TOP-SECRET)");
	expect_err(HEAD "rows:\n  - from: us:secret\n    to: JP-SDS:SECRET\n",
	    MRX_EINVAL, 9, "rows[0].from", "(known schemes: JP-CESI, JP-SDS, "
	    "US, UK, NATO)");
	expect_err(HEAD "rows:\n  - from: JP-CESI:CONFIDENTIAL\n"
	    "    to: JP-CESI:CONFIDENTIAL\n", MRX_EINVAL, 10, "rows[0].to",
	    "a row maps a foreign scheme onto a local one");
	/* JP-SDS and JP-CESI are different schemes: a row may join them */
	{
		struct proto_agreement a;
		struct mrx_diag d;

		assert_int_equal(parse(HEAD "rows:\n  - from: JP-SDS:SECRET\n"
		    "    to: JP-CESI:CONFIDENTIAL\n", &a, &d), 0);
		conf_agreement_fini(&a);
	}
	expect_err(HEAD "rows:\n  - {from: US:SECRET, to: JP-SDS:SECRET}\n"
	    "  - {from: US:SECRET, to: JP-SDS:SECRET, scopes: [batteries]}\n",
	    MRX_EDUP, 10, "rows[1]", "US:SECRET -> JP-SDS:SECRET is already "
	    "rows[0] (line 9)");
	expect_err(HEAD "rows:\n  - from: US:SECRET\n", MRX_EMISSING, 9,
	    "rows[0].to", "missing (required: the local level");
	expect_err(HEAD "rows:\n  - to: US:SECRET\n", MRX_EMISSING, 9,
	    "rows[0].from", "missing (required: the foreign level");
	expect_err(HEAD "rows:\n  - {from: US:SECRET, to: JP-SDS:SECRET, "
	    "note: x}\n", MRX_EINVAL, 9, "rows[0].note",
	    "unknown key (allowed: from, to, scopes)");
	expect_err(HEAD "rows: []\n", MRX_ERANGE, 8, "rows", "no rows");
	expect_err(HEAD "rows:\n", MRX_EMISSING, 8, "rows", "no value");
	expect_err(HEAD "rows: {from: US:SECRET}\n", MRX_ETYPE, 8, "rows",
	    "expected a list of rows");
	expect_err(HEAD "rows:\n  - US:SECRET\n", MRX_ETYPE, 9, "rows[0]",
	    "expected a mapping of keys (from, to, scopes), not a value");
	expect_err(HEAD "rows:\n  - from: [US:SECRET]\n", MRX_ETYPE, 9,
	    "rows[0].from", "not a list");
}

static void
test_scopes(void **state)
{
	char text[4096];
	size_t n, i;

	(void)state;
	expect_err(HEAD "rows:\n  - from: US:SECRET\n    to: JP-SDS:SECRET\n"
	    "    scopes: [a, a]\n", MRX_EDUP, 11, "rows[0].scopes[1]",
	    "'a' is listed twice");
	expect_err(HEAD "rows:\n  - from: US:SECRET\n    to: JP-SDS:SECRET\n"
	    "    scopes: [Semis]\n", MRX_EINVAL, 11, "rows[0].scopes[0]",
	    "'Semis' is not a scope");
	expect_err(HEAD "rows:\n  - from: US:SECRET\n    to: JP-SDS:SECRET\n"
	    "    scopes: [-x]\n", MRX_EINVAL, 11, "rows[0].scopes[0]",
	    "is not a scope");
	expect_err(HEAD "rows:\n  - from: US:SECRET\n    to: JP-SDS:SECRET\n"
	    "    scopes:\n", MRX_EMISSING, 11, "rows[0].scopes",
	    "no value (expected a list of scopes)");
	expect_err(HEAD "rows:\n  - from: US:SECRET\n    to: JP-SDS:SECRET\n"
	    "    scopes: batteries\n", MRX_ETYPE, 11, "rows[0].scopes",
	    "expected a list of scopes, not a value");
	n = (size_t)snprintf(text, sizeof(text), "%s", HEAD "rows:\n  - from: "
	    "US:SECRET\n    to: JP-SDS:SECRET\n    scopes:\n");
	for (i = 0; i < PROTO_LIST_MAX + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "      - s%zu\n", i);
	expect_err(text, MRX_ETOOBIG, 12 + PROTO_LIST_MAX, "rows[0].scopes",
	    "more than 16 scopes");
	/* a scope of 63 characters is fine, 64 is not */
	n = (size_t)snprintf(text, sizeof(text), "%s", HEAD "rows:\n  - from: "
	    "US:SECRET\n    to: JP-SDS:SECRET\n    scopes: [");
	memset(text + n, 'a', 64);
	snprintf(text + n + 64, sizeof(text) - n - 64, "]\n");
	expect_err(text, MRX_EINVAL, 11, "rows[0].scopes[0]", "is not a scope");
	{
		struct proto_agreement a;
		struct mrx_diag d;

		snprintf(text + n + 63, sizeof(text) - n - 63, "]\n");
		assert_int_equal(parse(text, &a, &d), 0);
		assert_int_equal(strlen(a.rows[0].scopes.v[0]), 63);
		conf_agreement_fini(&a);
	}
}

static void
test_top_level(void **state)
{
	(void)state;
	expect_err("", MRX_EMISSING, 1, "id", "missing (required: the "
	    "agreement id");
	expect_err("# only a comment\n", MRX_EMISSING, 1, "id", "missing");
	expect_err("- id: a\n", MRX_ETYPE, 1, "", "expected a mapping of keys "
	    "(id, parties, valid_from, valid_until, conditions, rows), not a "
	    "list");
	expect_err("id: a\nsubject: b\n", MRX_EINVAL, 2, "subject",
	    "unknown key (allowed: id, parties, valid_from");
	expect_err("id: a\nid: b\n", MRX_EDUP, 2, "id",
	    "duplicate key (first given at line 1)");
	expect_err("id: a\nparties: [a, b]\nvalid_from: 2026-01-01\n"
	    "valid_until: 2027-01-01\nrows: [{from: US:SECRET, to: UK:SC}]\n",
	    MRX_EMISSING, 1, "conditions", "missing (required: max_status_age "
	    "and operator_cert_required)");
	expect_err("id: a\nparties: [a, b]\nvalid_from: 2026-01-01\n"
	    "valid_until: 2027-01-01\nconditions: {max_status_age: 5m}\n",
	    MRX_EMISSING, 5, "conditions.operator_cert_required",
	    "missing (required: true or false)");
	expect_err("id: a\nparties: [a, b]\nvalid_from: 2026-01-01\n"
	    "valid_until: 2027-01-01\nconditions:\n  max_status_age: 5m\n"
	    "  operator_cert_required: 1\n", MRX_EINVAL, 7,
	    "conditions.operator_cert_required", "'1' is not a boolean");
	expect_err("id: a\nparties: [a, b]\nvalid_from: 2026-01-01\n"
	    "valid_until: 2027-01-01\nconditions: [5m]\n", MRX_ETYPE, 5,
	    "conditions", "expected a mapping of keys (max_status_age, "
	    "operator_cert_required), not a list");
	expect_err("id: a\nparties: [a, b]\nvalid_from: 2026-01-01\n"
	    "valid_until: 2027-01-01\nconditions:\n  max_age: 5m\n",
	    MRX_EINVAL, 6, "conditions.max_age", "unknown key");
}

static void
test_ids_and_parties(void **state)
{
	char text[256];

	(void)state;
	expect_err("id: JP-US\n", MRX_EINVAL, 1, "id", "'JP-US' is not a valid "
	    "id");
	expect_err("id:\n", MRX_EMISSING, 1, "id", "no value (expected an id");
	memset(text, 0, sizeof(text));
	memcpy(text, "id: ", 4);
	memset(text + 4, 'a', PROTO_ID_MAX + 1);
	text[4 + PROTO_ID_MAX + 1] = '\n';
	expect_err(text, MRX_EINVAL, 1, "id", "is not a valid id");
	expect_err("id: a\nparties: [jp.cao]\n", MRX_ERANGE, 2, "parties",
	    "1 party (expected exactly two");
	expect_err("id: a\nparties: [a, b, c]\n", MRX_ERANGE, 2, "parties",
	    "3 parties");
	expect_err("id: a\nparties: []\n", MRX_ERANGE, 2, "parties",
	    "0 parties");
	expect_err("id: a\nparties:\n  - jp.cao\n  - jp.cao\n", MRX_EDUP, 4,
	    "parties[1]", "'jp.cao' is listed twice");
	expect_err("id: a\nparties: [jp.cao, US]\n", MRX_EINVAL, 2,
	    "parties[1]", "'US' is not a valid id");
	expect_err("id: a\nparties: [jp.cao, [us.dcsa]]\n", MRX_ETYPE, 2,
	    "parties[1]", "not a list");
	expect_err("id: a\nparties: jp.cao us.dcsa\n", MRX_ETYPE, 2,
	    "parties", "expected a list of root authority ids");
}

static void
test_dates(void **state)
{
	(void)state;
	expect_err("id: a\nparties: [a, b]\nvalid_from: 2026-12-01T00:00:00Z\n"
	    "valid_until: 2026-12-01T00:00:00Z\n"
	    "conditions: {max_status_age: 0, operator_cert_required: true}\n"
	    ONE_ROW, MRX_ERANGE, 4, "valid_until",
	    "2026-12-01T00:00:00Z is not after valid_from "
	    "(2026-12-01T00:00:00Z, line 3)");
	expect_err("id: a\nparties: [a, b]\nvalid_until: 2026-01-01\n"
	    "valid_from: 2027-01-01\n"
	    "conditions: {max_status_age: 0, operator_cert_required: true}\n"
	    ONE_ROW, MRX_ERANGE, 3, "valid_until", "is not after valid_from "
	    "(2027-01-01T00:00:00Z, line 4)");
	expect_err("id: a\nparties: [a, b]\nvalid_from: 2026-12-01 00:00\n",
	    MRX_EINVAL, 3, "valid_from", "'2026-12-01 00:00' is not a time");
	expect_err("id: a\nparties: [a, b]\nvalid_from: 1969-12-31\n",
	    MRX_ERANGE, 3, "valid_from", "out of range");
	expect_err("id: a\nparties: [a, b]\nvalid_from: 2026-01-01\n"
	    "valid_until: tomorrow\n", MRX_EINVAL, 4, "valid_until",
	    "is not a time");
	expect_err("id: a\nparties: [a, b]\nvalid_from: 2026-01-01\n"
	    "valid_until:\n", MRX_EMISSING, 4, "valid_until", "no value");
}

static void
test_yaml_features(void **state)
{
	static const char nul[] = "id: a\nparties: [a,\0 b]\n";

	(void)state;
	/* libfyaml reports an unclosed bracket where the input ends */
	expect_err("id: a\nparties: [a, b\nvalid_from: x\n", MRX_EMALFORMED, 4,
	    "", "YAML syntax error");
	expect_err("id: a\nparties: [a, b]]\nvalid_from: x\n", MRX_EMALFORMED,
	    2, "", "YAML syntax error");
	expect_err("id: a\n---\nid: b\n", MRX_EINVAL, 3, "",
	    "a second YAML document");
	expect_err("id: &x a\nparties: [*x, b]\n", MRX_EINVAL, 2, "parties[0]",
	    "aliases (*name) are not supported");
	expect_err("id: !!str a\n", MRX_EINVAL, 1, "id",
	    "tags (!name) are not supported");
	expect_err_len(nul, sizeof(nul) - 1, MRX_EMALFORMED, 2, "",
	    "the file holds a NUL byte");
	expect_err("? [a, b]\n: c\n", MRX_ETYPE, 1, "",
	    "a key must be a plain name");
}

/*
 * A draft of `nrows` rows (lines 9, 12, 15, ...: three lines a row), each
 * mapping a level onto one of another scheme, with 16 scopes of 62
 * characters. Returns a heap string.
 */
static char *
big_draft(size_t nrows)
{
	const struct proto_level *lv;
	size_t cap = 256 * 1024, n, rows = 0, k;
	char *text = malloc(cap);
	int nl, i, j;

	assert_non_null(text);
	lv = proto_levels(&nl);
	n = (size_t)snprintf(text, cap, "%s", HEAD "rows:\n");
	for (i = 0; i < nl; i++)
		for (j = 0; j < nl && rows < nrows; j++) {
			if (strcmp(lv[i].scheme, lv[j].scheme) == 0)
				continue;
			n += (size_t)snprintf(text + n, cap - n,
			    "  - from: %s\n    to: %s\n    scopes: [",
			    lv[i].name, lv[j].name);
			for (k = 0; k < PROTO_LIST_MAX; k++)
				n += (size_t)snprintf(text + n, cap - n,
				    "%s%02zu%060d", k > 0 ? ", " : "", k, 0);
			n += (size_t)snprintf(text + n, cap - n, "]\n");
			rows++;
		}
	assert_int_equal(rows, nrows);
	assert_true(n < cap - 1);
	return text;
}

/* 64 rows of 16 long scopes are valid rows, but not one record. */
static void
test_limits(void **state)
{
	struct proto_agreement a;
	struct mrx_diag d;
	char *text;

	(void)state;
	text = big_draft(PROTO_ROWS_MAX + 1);
	expect_err(text, MRX_ETOOBIG, 9 + 3 * PROTO_ROWS_MAX, "rows",
	    "more than 64 rows");
	free(text);
	text = big_draft(PROTO_ROWS_MAX);
	mrx_diag_clear(&d);
	assert_int_equal(conf_agreement_parse("draft.yaml", text, strlen(text),
	    &a, &d), MRX_ETOOBIG);
	assert_string_equal(d.field, "rows");
	assert_non_null(strstr(d.msg, "draft.yaml:8: rows: the terms do not "
	    "fit in one agreement record"));
	assert_null(a.rows);
	free(text);
	/* a few such rows fit */
	text = big_draft(8);
	mrx_diag_clear(&d);
	assert_int_equal(conf_agreement_parse("draft.yaml", text, strlen(text),
	    &a, &d), 0);
	assert_int_equal(a.nrows, 8);
	assert_int_equal(a.rows[7].scopes.n, PROTO_LIST_MAX);
	conf_agreement_fini(&a);
	free(text);
}

static void
test_files(void **state)
{
	char dir[64], path[128], *src;
	struct proto_agreement a;
	struct mrx_diag d;
	FILE *f;
	size_t i;

	(void)state;
	src = getenv("MRX_SRC");
	if (src != NULL) {
		snprintf(path, sizeof(path),
		    "%s/conf/examples/jp-us-draft.yaml", src);
		mrx_diag_clear(&d);
		if (conf_agreement_load(path, &a, &d) != 0)
			print_error("%s\n", d.msg);
		assert_int_equal(a.nrows, 4);
		assert_string_equal(a.c.sub, "jp-us-2026-draft");
		assert_int_equal(a.rows[2].scopes.n, 2);
		conf_agreement_fini(&a);
	}
	snprintf(dir, sizeof(dir), "/tmp/mrx-agrconf-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/none.yaml", dir);
	mrx_diag_clear(&d);
	assert_int_equal(conf_agreement_load(path, &a, &d), MRX_ENOENT);
	assert_non_null(strstr(d.msg, "none.yaml: cannot open"));
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (i = 0; i <= CONF_AGREEMENT_BYTES_MAX / 16; i++)
		fputs("# padding line.\n", f);
	assert_int_equal(fclose(f), 0);
	mrx_diag_clear(&d);
	assert_int_equal(conf_agreement_load(path, &a, &d), MRX_ETOOBIG);
	assert_non_null(strstr(d.msg, "limit of an agreement draft"));
	/* a file's errors name the path as given */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("id: a\nrows: x\n", f);
	assert_int_equal(fclose(f), 0);
	mrx_diag_clear(&d);
	assert_int_equal(conf_agreement_load(path, &a, &d), MRX_ETYPE);
	assert_true(strncmp(d.msg, path, strlen(path)) == 0);
	assert_non_null(strstr(d.msg, ":2: rows: expected a list"));
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_payload_round_trip),
		cmocka_unit_test(test_flow_style_and_defaults),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_levels_and_rows),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_top_level),
		cmocka_unit_test(test_ids_and_parties),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_yaml_features),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
