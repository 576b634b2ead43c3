/*
 * cli_issue.c - mrx issue delegation|clearance|operator|key-revocation:
 * build a record from the options, validate it, sign it, write it.
 *
 * Nothing is written unless the record is complete and valid: the codec
 * validates every field before encoding, and the file appears atomically.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "level.h"
#include "value.h"

static const char issue_usage[] =
    "usage: mrx issue TYPE --key KEY --iss ID --out FILE [options]\n"
    "\n"
    "TYPE is one of:\n"
    "  delegation      --delegate PUB --sub ISSUER-ID --level L [--level L]...\n"
    "                  [--scope S]... [--valid-for DUR (2y)]\n"
    "  clearance       --sub HEX32 --level L --operator ID --status-index N\n"
    "                  [--status-uri URI] [--scope S]... [--valid-for DUR]\n"
    "                  (default validity by scheme: JP-CESI 10y, JP-SDS 5y)\n"
    "  operator        --sub OPERATOR-ID --level L [--level L]... --status-index N\n"
    "                  [--status-uri URI] [--scope S]... [--valid-for DUR (5y)]\n"
    "  key-revocation  --sub KEY-HOLDER-ID (--revoke PUB | --kid HEX)\n"
    "                  --from TIME [--reason CODE]\n"
    "\n"
    "common options:\n"
    "  --key KEY        the issuer's private key (.key)\n"
    "  --iss ID         the issuer's id, e.g. jp.meti\n"
    "  --out FILE       where to write the record (refuses to overwrite)\n"
    "  --force          overwrite FILE\n"
    "  --iat TIME       issue as of TIME instead of now (RFC 3339)\n"
    "  --nbf TIME       not valid before TIME (default: the issue time)\n"
    "\n"
    "Levels: JP-CESI:CONFIDENTIAL JP-SDS:SECRET JP-SDS:TOP-SECRET\n"
    "US:CONFIDENTIAL US:SECRET US:TOP-SECRET UK:SC UK:DV NATO:NC NATO:NS NATO:CTS\n"
    "The status list uri defaults to mrx://ISS/status/0.\n";

struct issue_opts {
	const char *key, *iss, *sub, *out, *iat, *nbf, *valid_for;
	const char *delegate, *op, *status_uri, *status_index, *revoke, *kid;
	const char *from, *reason;
	const char *levels[CLI_LIST_MAX], *scopes[CLI_LIST_MAX];
	size_t nlevels, nscopes;
	bool force;
};

static int
parse_issue_opts(int argc, char **argv, struct issue_opts *o)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "iss", required_argument, NULL, 'i' },
		{ "sub", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "iat", required_argument, NULL, 'I' },
		{ "nbf", required_argument, NULL, 'N' },
		{ "valid-for", required_argument, NULL, 'v' },
		{ "delegate", required_argument, NULL, 'd' },
		{ "operator", required_argument, NULL, 'p' },
		{ "status-uri", required_argument, NULL, 'u' },
		{ "status-index", required_argument, NULL, 'x' },
		{ "revoke", required_argument, NULL, 'r' },
		{ "kid", required_argument, NULL, 'K' },
		{ "from", required_argument, NULL, 'f' },
		{ "reason", required_argument, NULL, 'R' },
		{ "level", required_argument, NULL, 'l' },
		{ "scope", required_argument, NULL, 'S' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': o->key = optarg; break;
		case 'i': o->iss = optarg; break;
		case 's': o->sub = optarg; break;
		case 'o': o->out = optarg; break;
		case 'I': o->iat = optarg; break;
		case 'N': o->nbf = optarg; break;
		case 'v': o->valid_for = optarg; break;
		case 'd': o->delegate = optarg; break;
		case 'p': o->op = optarg; break;
		case 'u': o->status_uri = optarg; break;
		case 'x': o->status_index = optarg; break;
		case 'r': o->revoke = optarg; break;
		case 'K': o->kid = optarg; break;
		case 'f': o->from = optarg; break;
		case 'R': o->reason = optarg; break;
		case 'F': o->force = true; break;
		case 'l':
			if (cli_list_add(o->levels, &o->nlevels, "--level",
				optarg) != 0)
				return CLI_USAGE;
			break;
		case 'S':
			if (cli_list_add(o->scopes, &o->nscopes, "--scope",
				optarg) != 0)
				return CLI_USAGE;
			break;
		case 'h': fputs(issue_usage, stdout); return -1;
		default: fputs(issue_usage, stderr); return CLI_USAGE;
		}
	}
	if (optind != argc) {
		cli_err("unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (o->key == NULL || o->iss == NULL || o->out == NULL ||
	    o->sub == NULL) {
		cli_err("--key, --iss, --sub and --out are required");
		return CLI_USAGE;
	}
	return 0;
}

static int
need(const char *val, const char *opt)
{
	if (val != NULL)
		return 0;
	cli_err("%s is required for this record type", opt);
	return CLI_USAGE;
}

static int
copy_opt(char *dst, size_t cap, const char *opt, const char *val)
{
	if (strlen(val) >= cap) {
		cli_err("%s: '%s' is longer than %zu characters", opt, val,
		    cap - 1);
		return CLI_USAGE;
	}
	memcpy(dst, val, strlen(val) + 1);
	return 0;
}

/* Known levels only: a typo here would be signed forever. */
static int
fill_levels(struct proto_strs *dst, const struct issue_opts *o)
{
	size_t i;

	if (o->nlevels == 0)
		return need(NULL, "--level");
	for (i = 0; i < o->nlevels; i++) {
		if (proto_level_find(o->levels[i]) == NULL) {
			cli_err("--level: unknown level '%s' (see mrx issue "
			    "--help)", o->levels[i]);
			return CLI_USAGE;
		}
		if (copy_opt(dst->v[i], sizeof(dst->v[i]), "--level",
			o->levels[i]) != 0)
			return CLI_USAGE;
	}
	dst->n = o->nlevels;
	return 0;
}

static int
fill_scopes(struct proto_strs *dst, const struct issue_opts *o)
{
	size_t i;

	for (i = 0; i < o->nscopes; i++)
		if (copy_opt(dst->v[i], sizeof(dst->v[i]), "--scope",
			o->scopes[i]) != 0)
			return CLI_USAGE;
	dst->n = o->nscopes;
	return 0;
}

/* nbf, and exp = iat + --valid-for (or default_years). */
static int
fill_window(struct proto_claims *c, const struct issue_opts *o,
    int default_years)
{
	struct conf_duration dur = { default_years, 0 };
	struct mrx_diag d;
	char buf[400];

	if (o->nbf != NULL && cli_time_opt("--nbf", o->nbf, &c->nbf) != 0)
		return CLI_USAGE;
	c->has_nbf = true;
	mrx_diag_clear(&d);
	if (o->valid_for != NULL &&
	    conf_duration_parse(o->valid_for, &dur, &d) != 0) {
		cli_err("--valid-for: %s", mrx_diag_str(&d, buf, sizeof(buf)));
		return CLI_USAGE;
	}
	if (conf_duration_add(c->iat, &dur, &c->exp) != 0) {
		cli_err("--valid-for: the expiry is out of range");
		return CLI_USAGE;
	}
	c->has_exp = true;
	if (c->exp <= c->nbf) {
		cli_err("the record would expire before it becomes valid");
		return CLI_USAGE;
	}
	return 0;
}

static int
fill_status_ref(struct proto_status_ref *s, const struct issue_opts *o)
{
	char *end;
	unsigned long v;

	if (need(o->status_index, "--status-index") != 0)
		return CLI_USAGE;
	v = strtoul(o->status_index, &end, 10);
	if (*o->status_index == '\0' || *end != '\0' ||
	    o->status_index[0] == '-' || v >= PROTO_STATUS_ENTRIES_MAX) {
		cli_err("--status-index: '%s' is not an index below %u",
		    o->status_index, PROTO_STATUS_ENTRIES_MAX);
		return CLI_USAGE;
	}
	s->idx = (uint32_t)v;
	if (o->status_uri != NULL)
		return copy_opt(s->uri, sizeof(s->uri), "--status-uri",
		    o->status_uri);
	snprintf(s->uri, sizeof(s->uri), "mrx://%s/status/0", o->iss);
	return 0;
}

static int
build_delegation(struct proto_record *rec, const struct issue_opts *o)
{
	struct proto_delegation *d = &rec->u.del;
	struct cry_key *pub = NULL;
	int rc;

	rec->type = PROTO_REC_DELEGATION;
	if (need(o->delegate, "--delegate") != 0)
		return CLI_USAGE;
	if (cli_load_key(o->delegate, false, &pub) != 0)
		return CLI_USAGE;
	rc = cry_key_spki(pub, d->key, sizeof(d->key), &d->key_len);
	cry_key_free(pub);
	if (rc != 0) {
		cli_err("--delegate: cannot encode the public key: %s",
		    mrx_strerror(rc));
		return CLI_USAGE;
	}
	if (fill_levels(&d->levels, o) || fill_scopes(&d->scopes, o) ||
	    fill_window(&d->c, o, 2))
		return CLI_USAGE;
	return 0;
}

static int
build_clearance(struct proto_record *rec, const struct issue_opts *o)
{
	struct proto_clearance *c = &rec->u.clr;
	const struct proto_level *lv;
	size_t i;

	rec->type = PROTO_REC_CLEARANCE;
	if (strlen(o->sub) != 2 * PROTO_SUBJECT_LEN) {
		cli_err("--sub: a subject is a pseudonymous id of %d bytes, "
		    "given as %d hex digits", PROTO_SUBJECT_LEN,
		    2 * PROTO_SUBJECT_LEN);
		return CLI_USAGE;
	}
	for (i = 0; i < 2 * PROTO_SUBJECT_LEN; i++)
		c->c.sub[i] = (char)(o->sub[i] >= 'A' && o->sub[i] <= 'F' ?
		    o->sub[i] - 'A' + 'a' : o->sub[i]);
	c->c.sub[i] = '\0';
	if (strspn(c->c.sub, "0123456789abcdef") != 2 * PROTO_SUBJECT_LEN) {
		cli_err("--sub: '%s' is not hexadecimal", o->sub);
		return CLI_USAGE;
	}
	if (o->nlevels != 1) {
		cli_err("--level: a clearance has exactly one level");
		return CLI_USAGE;
	}
	lv = proto_level_find(o->levels[0]);
	if (lv == NULL) {
		cli_err("--level: unknown level '%s' (see mrx issue --help)",
		    o->levels[0]);
		return CLI_USAGE;
	}
	snprintf(c->level, sizeof(c->level), "%s", lv->name);
	if (need(o->op, "--operator") != 0 ||
	    copy_opt(c->operator_id, sizeof(c->operator_id), "--operator",
		o->op) != 0 ||
	    fill_scopes(&c->scopes, o) || fill_status_ref(&c->status, o) ||
	    fill_window(&c->c, o, lv->default_years))
		return CLI_USAGE;
	return 0;
}

static int
build_operator(struct proto_record *rec, const struct issue_opts *o)
{
	struct proto_operator_cert *p = &rec->u.op;

	rec->type = PROTO_REC_OPERATOR;
	if (fill_levels(&p->levels, o) || fill_scopes(&p->scopes, o) ||
	    fill_status_ref(&p->status, o) || fill_window(&p->c, o, 5))
		return CLI_USAGE;
	return 0;
}

static int
build_key_revocation(struct proto_record *rec, const struct issue_opts *o)
{
	struct proto_key_revocation *k = &rec->u.kr;
	struct cry_key *pub = NULL;
	struct mrx_diag d;
	enum proto_reason why = PROTO_REASON_ISSUER_KEY_COMPROMISED;
	size_t n;

	rec->type = PROTO_REC_KEY_REVOCATION;
	if ((o->revoke == NULL) == (o->kid == NULL)) {
		cli_err("give exactly one of --revoke PUB or --kid HEX");
		return CLI_USAGE;
	}
	if (o->revoke != NULL) {
		if (cli_load_key(o->revoke, false, &pub) != 0)
			return CLI_USAGE;
		memcpy(k->kid, cry_key_kid(pub), CRY_KID_LEN);
		cry_key_free(pub);
	} else {
		mrx_diag_clear(&d);
		if (conf_hex_parse(o->kid, k->kid, sizeof(k->kid), &n, &d) != 0 ||
		    n != CRY_KID_LEN) {
			cli_err("--kid: expected %d bytes of hex", CRY_KID_LEN);
			return CLI_USAGE;
		}
	}
	if (need(o->from, "--from") != 0 ||
	    cli_time_opt("--from", o->from, &k->from) != 0)
		return CLI_USAGE;
	if (o->reason != NULL && proto_reason_parse(o->reason, &why) != 0) {
		cli_err("--reason: unknown reason code '%s'", o->reason);
		return CLI_USAGE;
	}
	k->reason = (uint8_t)why;
	return 0;
}

int
cmd_issue(int argc, char **argv)
{
	struct issue_opts o;
	struct proto_record rec;
	struct cry_key *key = NULL;
	const char *type;
	int rc;

	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0)) {
			fputs(issue_usage, stdout);
			return CLI_OK;
		}
		fputs(issue_usage, stderr);
		return CLI_USAGE;
	}
	type = argv[1];
	rc = parse_issue_opts(argc - 1, argv + 1, &o);
	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	memset(&rec, 0, sizeof(rec));
	if (!proto_id_valid(o.iss)) {
		cli_err("--iss: '%s' is not a valid id (lowercase letters, "
		    "digits, '.' and '-', at most %d)", o.iss, PROTO_ID_MAX);
		return CLI_USAGE;
	}
	if (cli_claims_init(&rec.u.clr.c, o.iss, o.iat) != 0)
		return CLI_USAGE;
	if (strcmp(type, "clearance") != 0 &&
	    copy_opt(rec.u.clr.c.sub, sizeof(rec.u.clr.c.sub), "--sub",
		o.sub) != 0)
		return CLI_USAGE;
	/* the claims are the first member of every record struct */
	if (strcmp(type, "delegation") == 0)
		rc = build_delegation(&rec, &o);
	else if (strcmp(type, "clearance") == 0)
		rc = build_clearance(&rec, &o);
	else if (strcmp(type, "operator") == 0 ||
	    strcmp(type, "operator-cert") == 0)
		rc = build_operator(&rec, &o);
	else if (strcmp(type, "key-revocation") == 0)
		rc = build_key_revocation(&rec, &o);
	else {
		cli_err("unknown record type '%s' (delegation, clearance, "
		    "operator, key-revocation)", type);
		return CLI_USAGE;
	}
	if (rc != 0)
		return rc;
	if (cli_load_key(o.key, true, &key) != 0)
		return CLI_USAGE;
	rc = cli_sign_write(&rec, key, o.out, o.force);
	cry_key_free(key);
	return rc;
}
