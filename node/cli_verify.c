/*
 * cli_verify.c - mrx verify: the decision engine of protocol/decide.h,
 * offline. Builds a trust store from the given roots, delegation chain,
 * key revocations and status lists, then decides one clearance.
 *
 * Trust material that fails its own checks is not an error of the command:
 * it is left out of the store and reported, so the decision says why the
 * clearance is not chained (exit 1), as a node would.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_util.h"
#include "decide.h"
#include "ptime.h"

static const char verify_usage[] =
    "usage: mrx verify CLEARANCE --root [ID=]PUB --access SCHEME:LEVEL\n"
    "                  [--chain FILE]... [--status FILE]... [--operator-cert FILE]\n"
    "                  [--scope S] [--at TIME] [--skew DUR] [--max-status-age DUR]\n"
    "                  [--require-operator] [--issuer-confirmed] [--json]\n"
    "\n"
    "Decides whether CLEARANCE grants the requested access. Checks, in order:\n"
    "well-formed, signature, key delegated by a trusted root and not revoked,\n"
    "time window, status known and fresh, status valid, level (same scheme\n"
    "or an agreement row), scope, operator certification.\n"
    "\n"
    "  --root [ID=]PUB     a trust anchor; without ID, the id is taken from\n"
    "                      the delegations that root signed\n"
    "  --chain FILE        delegations, key revocations, agreements\n"
    "  --status FILE       the issuer's status list\n"
    "  --at TIME           judge the validity window at TIME (RFC 3339);\n"
    "                      status freshness is always judged against now\n"
    "  --skew DUR          clock-skew allowance on nbf/iat (default 60s)\n"
    "  --max-status-age DUR  freshness bound of the status list (default 1d)\n"
    "  --issuer-confirmed  the issuer's log holds these very records (asked\n"
    "                      of its node); without it a record signed by a key\n"
    "                      since declared compromised is indeterminate, as\n"
    "                      its date could be a forger's\n"
    "\n"
    "Exit status: 0 accept, 1 reject or indeterminate, 2 usage or I/O error.\n";

struct verify_opts {
	const char *clearance, *access, *scope, *at, *skew, *max_age, *opcert;
	const char *roots[CLI_LIST_MAX], *chain[CLI_LIST_MAX];
	const char *status[CLI_LIST_MAX];
	size_t nroots, nchain, nstatus;
	bool json, require_op, confirmed;
};

/* Trust material that was refused, for the report. */
struct refusal {
	char file[256];
	char code[PROTO_CODE_MAX + 1];
	char message[320];
};

struct verify_ctx {
	struct verify_opts o;
	struct proto_trust *trust;
	struct proto_policy pol;
	int64_t now, at;
	struct refusal refused[3 * CLI_LIST_MAX];
	size_t nrefused;
	uint8_t *files[3 * CLI_LIST_MAX];	/* chain file bytes, owned */
	size_t lens[3 * CLI_LIST_MAX];
	size_t nfiles;
};

static int
parse_verify_opts(int argc, char **argv, struct verify_opts *o)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "chain", required_argument, NULL, 'c' },
		{ "status", required_argument, NULL, 's' },
		{ "operator-cert", required_argument, NULL, 'O' },
		{ "access", required_argument, NULL, 'a' },
		{ "scope", required_argument, NULL, 'S' },
		{ "at", required_argument, NULL, 't' },
		{ "skew", required_argument, NULL, 'k' },
		{ "max-status-age", required_argument, NULL, 'm' },
		{ "require-operator", no_argument, NULL, 'R' },
		{ "issuer-confirmed", no_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = 0;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': rc = cli_list_add(o->roots, &o->nroots, "--root", optarg); break;
		case 'c': rc = cli_list_add(o->chain, &o->nchain, "--chain", optarg); break;
		case 's': rc = cli_list_add(o->status, &o->nstatus, "--status", optarg); break;
		case 'O': o->opcert = optarg; break;
		case 'a': o->access = optarg; break;
		case 'S': o->scope = optarg; break;
		case 't': o->at = optarg; break;
		case 'k': o->skew = optarg; break;
		case 'm': o->max_age = optarg; break;
		case 'R': o->require_op = true; break;
		case 'C': o->confirmed = true; break;
		case 'j': o->json = true; break;
		case 'h': fputs(verify_usage, stdout); return -1;
		default: fputs(verify_usage, stderr); return CLI_USAGE;
		}
		if (rc != 0)
			return rc;
	}
	if (optind + 1 != argc || o->nroots == 0 || o->access == NULL) {
		cli_err("a CLEARANCE file, --root and --access are required");
		fputs(verify_usage, stderr);
		return CLI_USAGE;
	}
	o->clearance = argv[optind];
	return 0;
}

static void
refuse(struct verify_ctx *v, const char *file, const struct mrx_diag *d)
{
	struct refusal *r;

	if (v->nrefused == sizeof(v->refused) / sizeof(v->refused[0]))
		return;
	r = &v->refused[v->nrefused++];
	snprintf(r->file, sizeof(r->file), "%s", file);
	snprintf(r->code, sizeof(r->code), "%.31s", d->field);
	snprintf(r->message, sizeof(r->message), "%s", d->msg);
}

/* Reads a trust file into v->files (kept for the root-id inference). */
static int
load_file(struct verify_ctx *v, const char *path)
{
	size_t i = v->nfiles;
	int rc;

	rc = cli_read_file(path, PROTO_STATUS_LIST_MAX, &v->files[i],
	    &v->lens[i]);
	if (rc != 0)
		return CLI_USAGE;
	v->nfiles++;
	return 0;
}

/*
 * The root's id: given as ID=PUB, or the iss of the chain records signed
 * by that root's key (all must agree).
 */
static int
root_id(struct verify_ctx *v, const struct cry_key *key, const char *arg,
    char *id, size_t cap)
{
	struct proto_record rec;
	size_t i;

	id[0] = '\0';
	for (i = 0; i < v->o.nchain; i++) {
		if (proto_record_decode(v->files[i], v->lens[i], &rec, NULL) == 0 &&
		    rec.type != PROTO_REC_AGREEMENT && rec.env.hdr.kid != NULL &&
		    rec.env.hdr.kid_len == CRY_KID_LEN &&
		    memcmp(rec.env.hdr.kid, cry_key_kid(key), CRY_KID_LEN) == 0) {
			if (id[0] != '\0' && strcmp(id, rec.u.del.c.iss) != 0) {
				cli_err("--root %s signed records as both %s and "
				    "%s; give the id as --root ID=%s", arg, id,
				    rec.u.del.c.iss, arg);
				proto_record_fini(&rec);
				return CLI_USAGE;
			}
			snprintf(id, cap, "%s", rec.u.del.c.iss);
		}
		proto_record_fini(&rec);
	}
	if (id[0] == '\0') {
		cli_err("--root %s: no --chain record is signed by this key, so "
		    "its id is unknown; give it as --root ID=%s", arg, arg);
		return CLI_USAGE;
	}
	return 0;
}

static int
add_roots(struct verify_ctx *v)
{
	char id[PROTO_ID_MAX + 1];
	const char *arg, *eq, *path;
	struct cry_key *key;
	struct mrx_diag d;
	size_t i;

	for (i = 0; i < v->o.nroots; i++) {
		arg = v->o.roots[i];
		eq = strchr(arg, '=');
		path = eq != NULL ? eq + 1 : arg;
		if (cli_load_key(path, false, &key) != 0)
			return CLI_USAGE;
		if (eq != NULL) {
			snprintf(id, sizeof(id), "%.*s", (int)(eq - arg), arg);
		} else if (root_id(v, key, arg, id, sizeof(id)) != 0) {
			cry_key_free(key);
			return CLI_USAGE;
		}
		mrx_diag_clear(&d);
		if (proto_trust_add_root(v->trust, id, key, &d) != 0) {
			cry_key_free(key);
			return cli_err_diag(CLI_USAGE, arg, &d);
		}
	}
	return 0;
}

/* Adds chain files (pass 0: delegations and revocations, pass 1: the rest)
 * and status lists, recording refusals. */
static void
add_material(struct verify_ctx *v)
{
	struct proto_record rec;
	struct mrx_diag d;
	size_t i, pass;
	bool first;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < v->nfiles; i++) {
			if (proto_record_decode(v->files[i], v->lens[i], &rec,
				NULL) == 0)
				first = rec.type == PROTO_REC_DELEGATION ||
				    rec.type == PROTO_REC_KEY_REVOCATION;
			else
				first = true;
			proto_record_fini(&rec);
			if (first != (pass == 0))
				continue;
			mrx_diag_clear(&d);
			if (proto_trust_add(v->trust, v->files[i], v->lens[i],
				v->now, v->pol.skew_s, &d) != 0)
				refuse(v, i < v->o.nchain ? v->o.chain[i] :
				    v->o.status[i - v->o.nchain], &d);
		}
	}
}

static json_t *
decision_json(const struct verify_ctx *v, const struct proto_decision *dc)
{
	json_t *o, *ref;
	size_t i;

	o = cli_decision_json(dc, v->o.access, v->at, v->now);
	if (v->nrefused > 0) {
		ref = json_array();
		for (i = 0; i < v->nrefused; i++)
			json_array_append_new(ref, json_pack("{s:s, s:s, s:s}",
			    "file", v->refused[i].file, "code",
			    v->refused[i].code, "message",
			    v->refused[i].message));
		json_object_set_new(o, "refused", ref);
	}
	return o;
}

static void
decision_print(const struct verify_ctx *v, const struct proto_decision *dc)
{
	char b[PROTO_TIME_STR];
	size_t i;

	printf("%s\n", proto_verdict_name(dc->verdict));
	for (i = 0; i < dc->nreasons; i++)
		printf("  %s: %s\n", dc->reasons[i].code, dc->reasons[i].message);
	for (i = 0; i < v->nrefused; i++)
		printf("  note: %s was not used (%s): %s\n", v->refused[i].file,
		    v->refused[i].code, v->refused[i].message);
	if (dc->has_status)
		printf("  status: sequence %llu, %lld s old\n",
		    (unsigned long long)dc->status_seq,
		    (long long)dc->status_age_s);
	printf("  judged at %s\n", proto_time_format(v->at, b, sizeof(b)));
}

static int
run_verify(struct verify_ctx *v)
{
	struct proto_decide_req req;
	struct proto_decision dc;
	uint8_t *clr = NULL, *op = NULL;
	size_t clr_len = 0, op_len = 0, i;
	int rc;

	for (i = 0; i < v->o.nchain; i++)
		if (load_file(v, v->o.chain[i]) != 0)
			return CLI_USAGE;
	for (i = 0; i < v->o.nstatus; i++)
		if (load_file(v, v->o.status[i]) != 0)
			return CLI_USAGE;
	if (add_roots(v) != 0)
		return CLI_USAGE;
	add_material(v);
	rc = cli_read_file(v->o.clearance, PROTO_RECORD_MAX, &clr, &clr_len);
	if (rc != 0)
		return rc;
	if (v->o.opcert != NULL) {
		rc = cli_read_file(v->o.opcert, PROTO_RECORD_MAX, &op, &op_len);
		if (rc != 0) {
			free(clr);
			return rc;
		}
	}
	memset(&req, 0, sizeof(req));
	req.record = clr;
	req.record_len = clr_len;
	req.operator_record = op;
	req.operator_record_len = op_len;
	req.access = v->o.access;
	req.scope = v->o.scope;
	req.at = v->at;
	req.now = v->now;
	if (v->o.confirmed)
		req.issuer_log = req.operator_issuer_log = PROTO_LOG_HELD;
	rc = proto_decide(v->trust, &req, &v->pol, &dc);
	free(clr);
	free(op);
	if (rc != 0) {
		cli_err("cannot decide: %s", mrx_strerror(rc));
		return CLI_USAGE;
	}
	if (v->o.json)
		cli_json_print(decision_json(v, &dc));
	else
		decision_print(v, &dc);
	return dc.verdict == PROTO_ACCEPT ? CLI_OK : CLI_REJECT;
}

int
cmd_verify(int argc, char **argv)
{
	struct verify_ctx *v;
	size_t i;
	int rc;

	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return CLI_USAGE;
	rc = parse_verify_opts(argc, argv, &v->o);
	if (rc != 0) {
		free(v);
		return rc < 0 ? CLI_OK : rc;
	}
	proto_policy_default(&v->pol);
	v->pol.require_operator_cert = v->o.require_op;
	v->now = cli_now();
	v->at = v->now;
	if ((v->o.at != NULL && cli_time_opt("--at", v->o.at, &v->at) != 0) ||
	    (v->o.skew != NULL &&
		cli_seconds_opt("--skew", v->o.skew, &v->pol.skew_s) != 0) ||
	    (v->o.max_age != NULL && cli_seconds_opt("--max-status-age",
		v->o.max_age, &v->pol.max_status_age_s) != 0)) {
		free(v);
		return CLI_USAGE;
	}
	v->trust = proto_trust_new();
	rc = v->trust == NULL ? CLI_USAGE : run_verify(v);
	proto_trust_free(v->trust);
	for (i = 0; i < v->nfiles; i++)
		free(v->files[i]);
	free(v);
	return rc;
}
