/*
 * cli_agreement.c - mrx agreement draft|sign|verify: a mutual-recognition
 * agreement between two root authorities, from the YAML draft to the
 * COSE_Sign that both roots have signed (docs/agreements.md).
 *
 * draft reads the YAML (conf/agreement_conf.c) and writes the terms: the
 * deterministic payload, unsigned, that both parties review. sign: the
 * drafting party (iss, the first of `parties`) signs those exact bytes
 * into a COSE_Sign; the other party adds its signature with cry_sign_add(),
 * which keeps the first byte for byte. verify checks each party's signature
 * with that party's root key, as the decision engine does before it
 * installs an agreement (proto_trust_add).
 *
 * Invariants: after draft the payload is never re-encoded, so the bytes a
 * party reviewed (their SHA-256, the "terms hash", is the record hash) are
 * the bytes it signs; sign writes at most one signature per party and at
 * most two in all; nothing is written unless the result decodes as an
 * agreement.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agreement_conf.h"
#include "cli.h"
#include "cli_util.h"
#include "decide.h"
#include "level.h"
#include "ptime.h"

#define AGR_PARTIES 2

static const char agreement_usage[] =
    "usage: mrx agreement draft DRAFT.yaml --out PAYLOAD [--force]\n"
    "       mrx agreement sign --key ROOT.key --party ID --payload PAYLOAD\n"
    "                          --out AGREEMENT [--force]\n"
    "       mrx agreement sign --key ROOT.key --party ID --in AGREEMENT\n"
    "                          [--payload PAYLOAD] [--root ID=PUB]...\n"
    "                          --out AGREEMENT [--force]\n"
    "       mrx agreement verify AGREEMENT --root ID=PUB --root ID=PUB\n"
    "                          [--at TIME] [--json]\n"
    "\n"
    "A mutual-recognition agreement: rows by which a foreign SCHEME:LEVEL\n"
    "counts as a local one, under conditions, from valid_from to\n"
    "valid_until, signed by the root authorities of both parties.\n"
    "\n"
    "  draft   validate the YAML draft and write the terms (the unsigned\n"
    "          payload both parties review); print the rows and the terms\n"
    "          hash (SHA-256 of the payload, the agreement's record hash)\n"
    "  sign    --payload: the drafting party (the first of parties) signs\n"
    "          the terms into a new agreement. --in: the other party adds\n"
    "          its signature; with --payload too, the agreement must hold\n"
    "          exactly those terms; --root ID=PUB checks the signatures\n"
    "          already on it (and that --key is ID's root key)\n"
    "  verify  check each party's signature with its root key (one --root\n"
    "          ID=PUB per party); --at judges whether it is in force at TIME\n"
    "\n"
    "Exit status: 0 success (verify: both parties signed, both valid),\n"
    "1 invalid input, changed terms or (verify) incomplete or invalid,\n"
    "2 usage or I/O error, or a refused signer.\n";

struct agr_opts {
	const char *file;		/* draft: YAML; verify: agreement */
	const char *out, *key, *party, *payload, *in, *at;
	const char *roots[CLI_LIST_MAX];
	size_t nroots;
	bool force, json;
};

/* A party's root key, from --root ID=PUB or the signing key. */
struct agr_root {
	char id[PROTO_ID_MAX + 1];
	struct cry_key *key;
	bool owned;			/* loaded here: freed with the set */
};

struct agr_roots {
	struct agr_root v[CLI_LIST_MAX + 1];
	size_t n;
};

enum agr_check {
	AGR_NOT_CHECKED = 0,		/* no root key for the party */
	AGR_VALID,
	AGR_BAD,
};

/* What the signatures say about one party. */
struct agr_party {
	const char *id;
	int sig;			/* index of its signature, -1: none */
	enum agr_check check;
	bool presumed;			/* sig 1 taken as the drafter's */
};

static int
parse_agr_opts(int argc, char **argv, struct agr_opts *o)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "key", required_argument, NULL, 'k' },
		{ "party", required_argument, NULL, 'p' },
		{ "payload", required_argument, NULL, 'P' },
		{ "in", required_argument, NULL, 'i' },
		{ "root", required_argument, NULL, 'r' },
		{ "at", required_argument, NULL, 't' },
		{ "force", no_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = 0;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': o->out = optarg; break;
		case 'k': o->key = optarg; break;
		case 'p': o->party = optarg; break;
		case 'P': o->payload = optarg; break;
		case 'i': o->in = optarg; break;
		case 'r':
			rc = cli_list_add(o->roots, &o->nroots, "--root",
			    optarg);
			break;
		case 't': o->at = optarg; break;
		case 'F': o->force = true; break;
		case 'j': o->json = true; break;
		case 'h': fputs(agreement_usage, stdout); return -1;
		default: fputs(agreement_usage, stderr); return CLI_USAGE;
		}
		if (rc != 0)
			return rc;
	}
	if (optind < argc)
		o->file = argv[optind++];
	if (optind != argc) {
		cli_err("unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	return 0;
}

/* ---- showing the terms ---- */

/* Seconds as "5m", "1h30m", "2d"; "0s" for none. */
static const char *
age_str(int64_t s, char *buf, size_t cap)
{
	static const int64_t unit_s[] = { 86400, 3600, 60, 1 };
	static const char unit[] = "dhms";
	size_t i, n = 0;
	int w;

	snprintf(buf, cap, "0s");
	for (i = 0; i < sizeof(unit_s) / sizeof(unit_s[0]) && s > 0; i++) {
		if (s / unit_s[i] == 0)
			continue;
		w = snprintf(buf + n, cap - n, "%lld%c",
		    (long long)(s / unit_s[i]), unit[i]);
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
		s %= unit_s[i];
	}
	return buf;
}

static void
scopes_str(const struct proto_strs *s, char *buf, size_t cap)
{
	size_t i, n = 0;
	int w;

	buf[0] = '\0';
	for (i = 0; i < s->n; i++) {
		w = snprintf(buf + n, cap - n, "%s%s", i > 0 ? ", " : "",
		    s->v[i]);
		if (w < 0 || (size_t)w >= cap - n)
			return;
		n += (size_t)w;
	}
}

/* "in force", "not yet in force" or "ended" at `at`. */
static const char *
in_force_str(const struct proto_agreement *a, int64_t at)
{
	if (at < a->c.nbf)
		return "not yet in force";
	return at < a->c.exp ? "in force" : "ended";
}

/* The terms for a person: parties, window, conditions, rows, hash. */
static void
terms_print(FILE *f, const struct proto_agreement *a, const uint8_t *payload,
    size_t plen, int64_t at)
{
	char b1[PROTO_TIME_STR], b2[PROTO_TIME_STR], age[32];
	char sc[PROTO_LIST_MAX * (PROTO_SCOPE_MAX + 2) + 1];
	char hex[2 * PROTO_HASH_LEN + 1];
	uint8_t h[PROTO_HASH_LEN];
	size_t i;

	fprintf(f, "agreement %s between %s (drafting party) and %s\n",
	    a->c.sub, a->parties[0], a->parties[1]);
	fprintf(f, "  valid      %s to %s (%s at %s)\n",
	    proto_time_format(a->c.nbf, b1, sizeof(b1)),
	    proto_time_format(a->c.exp, b2, sizeof(b2)), in_force_str(a, at),
	    proto_time_format(at, age, sizeof(age)));
	if (a->max_status_age_s > 0)
		fprintf(f, "  conditions status at most %s old",
		    age_str(a->max_status_age_s, age, sizeof(age)));
	else
		fprintf(f, "  conditions status age: the verifier's own "
		    "policy");
	fprintf(f, "; operator certification %s\n",
	    a->operator_cert_required ? "required" : "not required");
	fprintf(f, "  rows       (foreign -> local)\n");
	for (i = 0; i < a->nrows; i++) {
		scopes_str(&a->rows[i].scopes, sc, sizeof(sc));
		fprintf(f, "    %2zu  %-20s -> %-20s  %s%s%s\n", i + 1,
		    a->rows[i].from, a->rows[i].to,
		    sc[0] != '\0' ? "scopes: " : "any scope",
		    sc, proto_level_find(a->rows[i].from) == NULL ||
		    proto_level_find(a->rows[i].to) == NULL ?
		    "  (unknown level: this row never matches)" : "");
	}
	if (cry_sha256(payload, plen, h) == 0)
		fprintf(f, "  terms hash %s\n", cli_hex(h, sizeof(h), hex));
}

/* ---- roots and signatures ---- */

static bool
is_party(const struct proto_agreement *a, const char *id)
{
	return strcmp(a->parties[0], id) == 0 ||
	    strcmp(a->parties[1], id) == 0;
}

static void
roots_free(struct agr_roots *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->v[i].owned)
			cry_key_free(r->v[i].key);
	r->n = 0;
}

static const struct agr_root *
root_of(const struct agr_roots *r, const char *id)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i].id, id) == 0)
			return &r->v[i];
	return NULL;
}

/* One key for two parties would let one signature count for both. */
static int
root_kid_dup(const struct agr_roots *r, const char *arg)
{
	const struct agr_root *last = &r->v[r->n - 1];
	size_t i;

	for (i = 0; i + 1 < r->n; i++)
		if (memcmp(cry_key_kid(r->v[i].key), cry_key_kid(last->key),
		    CRY_KID_LEN) == 0) {
			cli_err("--root %s: the same key is given for %s and "
			    "%s; each party has its own root key", arg,
			    r->v[i].id, last->id);
			return CLI_USAGE;
		}
	return 0;
}

/* Loads every --root ID=PUB; each ID must be a party, once. */
static int
roots_load(const struct agr_opts *o, const struct proto_agreement *a,
    struct agr_roots *r)
{
	struct agr_root *e;
	const char *arg, *eq;
	size_t i, idlen;

	for (i = 0; i < o->nroots; i++) {
		arg = o->roots[i];
		eq = strchr(arg, '=');
		idlen = eq != NULL ? (size_t)(eq - arg) : 0;
		if (eq == NULL || idlen == 0 || idlen > PROTO_ID_MAX) {
			cli_err("--root %s: give it as ID=PUB, ID being a "
			    "party (%s or %s)", arg, a->parties[0],
			    a->parties[1]);
			return CLI_USAGE;
		}
		e = &r->v[r->n];
		snprintf(e->id, sizeof(e->id), "%.*s", (int)idlen, arg);
		if (!is_party(a, e->id)) {
			cli_err("--root %s: %s is not a party of agreement %s "
			    "(parties: %s, %s)", arg, e->id, a->c.sub,
			    a->parties[0], a->parties[1]);
			return CLI_USAGE;
		}
		if (root_of(r, e->id) != NULL) {
			cli_err("--root %s: a root for %s is already given",
			    arg, e->id);
			return CLI_USAGE;
		}
		if (cli_load_key(eq + 1, false, &e->key) != 0)
			return CLI_USAGE;
		e->owned = true;
		r->n++;
		if (root_kid_dup(r, arg) != 0)
			return CLI_USAGE;
	}
	return 0;
}

/* The index of the signature made with the key of `kid`, or -1. */
static int
sig_by_kid(const struct cry_sign *s, const uint8_t *kid)
{
	size_t i;

	for (i = 0; i < s->nsigs; i++)
		if (s->sigs[i].hdr.kid != NULL &&
		    s->sigs[i].hdr.kid_len == CRY_KID_LEN &&
		    memcmp(s->sigs[i].hdr.kid, kid, CRY_KID_LEN) == 0)
			return (int)i;
	return -1;
}

/*
 * Which signature is each party's. With the party's root key: the one made
 * with that key (by kid), verified. Without: the drafting party signs
 * first, so signature 1 is presumed to be its own, unchecked.
 */
static void
parties_map(const struct proto_record *rec, const struct agr_roots *r,
    struct agr_party pv[AGR_PARTIES])
{
	const struct proto_agreement *a = &rec->u.agr;
	const struct agr_root *root;
	size_t p;

	for (p = 0; p < AGR_PARTIES; p++) {
		memset(&pv[p], 0, sizeof(pv[p]));
		pv[p].id = a->parties[p];
		pv[p].sig = -1;
		root = root_of(r, a->parties[p]);
		if (root != NULL) {
			pv[p].sig = sig_by_kid(&rec->multi,
			    cry_key_kid(root->key));
			if (pv[p].sig >= 0)
				pv[p].check = cry_sign_verify(&rec->multi,
				    (size_t)pv[p].sig, root->key, NULL, 0,
				    NULL) == 0 ? AGR_VALID : AGR_BAD;
		} else if (strcmp(a->parties[p], a->c.iss) == 0 &&
		    rec->multi.nsigs > 0) {
			pv[p].sig = 0;
			pv[p].presumed = true;
		}
	}
	/* a presumption never takes a signature a root key has claimed */
	for (p = 0; p < AGR_PARTIES; p++)
		if (pv[p].presumed && pv[1 - p].sig == 0) {
			pv[p].sig = -1;
			pv[p].presumed = false;
		}
}

static const char *
sig_alg(const struct cry_sign *s, int i)
{
	const char *n = cry_alg_name(s->sigs[i].hdr.alg);

	return n != NULL ? n : "unsupported alg";
}

static const char *
sig_kid(const struct cry_sign *s, int i, char *buf)
{
	size_t n = s->sigs[i].hdr.kid != NULL ? s->sigs[i].hdr.kid_len : 0;

	if (n > CRY_COSE_KID_MAX)
		n = CRY_COSE_KID_MAX;
	return n == 0 ? "none" : cli_hex(s->sigs[i].hdr.kid, n, buf);
}

/* One line per party: signed (and how we know) or still to sign. */
static void
parties_print(FILE *f, const struct proto_record *rec,
    const struct agr_party pv[AGR_PARTIES], int signed_now)
{
	char kid[2 * CRY_COSE_KID_MAX + 1];
	const struct agr_party *p;
	size_t i;

	for (i = 0; i < AGR_PARTIES; i++) {
		p = &pv[i];
		fprintf(f, "  %-20s ", p->id);
		if (p->sig < 0) {
			fprintf(f, "still to sign\n");
			continue;
		}
		fprintf(f, "%s signature %d (%s, kid %s)",
		    p->sig == signed_now ? "signed now:" :
		    p->check == AGR_BAD ? "INVALID" : "signed:", p->sig + 1,
		    sig_alg(&rec->multi, p->sig),
		    sig_kid(&rec->multi, p->sig, kid));
		if (p->sig == signed_now)
			fputc('\n', f);
		else if (p->check == AGR_VALID)
			fprintf(f, ", verified with its root key\n");
		else if (p->check == AGR_BAD)
			fprintf(f, " does not verify with its root key\n");
		else
			fprintf(f, ", the drafting party's (not checked: no "
			    "--root %s=PUB)\n", p->id);
	}
}

/* ---- draft ---- */

/* Where the human summary goes: stdout, unless the bytes go there. */
static FILE *
info_stream(const char *out)
{
	return out != NULL && strcmp(out, "-") == 0 ? stderr : stdout;
}

static int
draft_run(const struct agr_opts *o, struct proto_record *rec)
{
	struct mrx_diag d;
	uint8_t *buf;
	size_t len;
	FILE *f = info_stream(o->out);
	int rc;

	mrx_diag_clear(&d);
	rc = conf_agreement_load(o->file, &rec->u.agr, &d);
	if (rc != 0) {
		cli_err("%s", d.msg);
		return rc == MRX_ENOENT || rc == MRX_EIO || rc == MRX_ENOMEM ?
		    CLI_USAGE : CLI_REJECT;
	}
	rec->type = PROTO_REC_AGREEMENT;
	rec->u.agr.c.iat = cli_now();
	rc = cry_random(rec->u.agr.c.cti, sizeof(rec->u.agr.c.cti));
	if (rc != 0) {
		cli_err("no randomness for the record id: %s",
		    mrx_strerror(rc));
		return CLI_USAGE;
	}
	buf = malloc(PROTO_RECORD_MAX);
	if (buf == NULL) {
		cli_err("out of memory");
		return CLI_USAGE;
	}
	mrx_diag_clear(&d);
	rc = proto_payload_encode(rec, buf, PROTO_RECORD_MAX, &len, &d);
	if (rc != 0) {
		free(buf);
		return cli_err_diag(CLI_REJECT, "cannot make the terms", &d);
	}
	rc = cli_write_file(o->out, buf, len, o->force);
	if (rc == 0) {
		terms_print(f, &rec->u.agr, buf, len, rec->u.agr.c.iat);
		fprintf(f, "wrote the terms (%zu bytes, unsigned) to %s\n"
		    "next: %s reviews and signs them: mrx agreement sign --key "
		    "ROOT.key --party %s --payload %s --out AGREEMENT\n", len,
		    o->out, rec->u.agr.parties[0], rec->u.agr.parties[0],
		    o->out);
		if (rec->u.agr.c.exp <= rec->u.agr.c.iat)
			fprintf(f, "note: valid_until is already past: no "
			    "verifier will ever use this agreement\n");
	}
	free(buf);
	return rc;
}

static int
agreement_draft(const struct agr_opts *o)
{
	struct proto_record *rec;
	int rc;

	if (o->key != NULL || o->party != NULL || o->payload != NULL ||
	    o->in != NULL || o->nroots > 0 || o->at != NULL || o->json) {
		cli_err("draft takes DRAFT.yaml, --out and --force only");
		return CLI_USAGE;
	}
	if (o->file == NULL || o->out == NULL) {
		cli_err("a DRAFT.yaml file and --out are required");
		return CLI_USAGE;
	}
	rec = calloc(1, sizeof(*rec));
	if (rec == NULL) {
		cli_err("out of memory");
		return CLI_USAGE;
	}
	rc = draft_run(o, rec);
	proto_record_fini(rec);
	free(rec);
	return rc;
}

/* ---- sign ---- */

/* One signing: what was read, the keys, and what is written. */
struct sign_ctx {
	const struct agr_opts *o;
	uint8_t *in;			/* the terms or agreement read */
	size_t in_len;
	struct proto_record rec;	/* decoded from `in` */
	struct cry_key *key;		/* the signer's private key */
	struct agr_roots roots;
	uint8_t *out;			/* the agreement to write */
	size_t out_len;
};

static int
party_check(const struct sign_ctx *s)
{
	const struct proto_agreement *a = &s->rec.u.agr;

	if (!is_party(a, s->o->party)) {
		cli_err("--party %s is not a party of agreement %s (parties: "
		    "%s, %s)", s->o->party, a->c.sub, a->parties[0],
		    a->parties[1]);
		return CLI_USAGE;
	}
	return 0;
}

/* The signing key, and --roots; --key must be the party's given root. */
static int
keys_load(struct sign_ctx *s)
{
	const struct agr_root *r;
	char k1[2 * CRY_KID_LEN + 1], k2[2 * CRY_KID_LEN + 1];
	size_t i;

	if (roots_load(s->o, &s->rec.u.agr, &s->roots) != 0 ||
	    cli_load_key(s->o->key, true, &s->key) != 0)
		return CLI_USAGE;
	for (i = 0; i < s->roots.n; i++)
		if (strcmp(s->roots.v[i].id, s->o->party) != 0 &&
		    memcmp(cry_key_kid(s->roots.v[i].key), cry_key_kid(s->key),
		    CRY_KID_LEN) == 0) {
			cli_err("--key %s is the root key given for %s, not "
			    "%s's", s->o->key, s->roots.v[i].id, s->o->party);
			return CLI_USAGE;
		}
	r = root_of(&s->roots, s->o->party);
	if (r != NULL && memcmp(cry_key_kid(r->key), cry_key_kid(s->key),
	    CRY_KID_LEN) != 0) {
		cli_err("--key %s (kid %s) is not the root key given for %s by "
		    "--root (kid %s)", s->o->key,
		    cli_hex(cry_key_kid(s->key), CRY_KID_LEN, k1), s->o->party,
		    cli_hex(cry_key_kid(r->key), CRY_KID_LEN, k2));
		return CLI_USAGE;
	}
	return 0;
}

/* Decodes what was signed, writes it, says who has signed and who must. */
static int
sign_finish(struct sign_ctx *s)
{
	struct proto_record done;
	struct agr_party pv[AGR_PARTIES];
	struct mrx_diag d;
	FILE *f = info_stream(s->o->out);
	const char *other;
	size_t i;
	int rc, now_sig;

	mrx_diag_clear(&d);
	if (proto_record_decode(s->out, s->out_len, &done, &d) != 0 ||
	    done.type != PROTO_REC_AGREEMENT) {
		proto_record_fini(&done);
		return cli_err_diag(CLI_USAGE, "the signed agreement does not "
		    "decode", &d);
	}
	if (root_of(&s->roots, s->o->party) == NULL) {
		i = s->roots.n++;
		snprintf(s->roots.v[i].id, sizeof(s->roots.v[i].id), "%s",
		    s->o->party);
		s->roots.v[i].key = s->key;
		s->roots.v[i].owned = false;
	}
	rc = cli_write_file(s->o->out, s->out, s->out_len, s->o->force);
	if (rc != 0) {
		proto_record_fini(&done);
		return rc;
	}
	now_sig = sig_by_kid(&done.multi, cry_key_kid(s->key));
	parties_map(&done, &s->roots, pv);
	terms_print(f, &done.u.agr, done.multi.payload,
	    done.multi.payload_len, cli_now());
	fprintf(f, "signatures (%zu) in %s\n", done.multi.nsigs, s->o->out);
	parties_print(f, &done, pv, now_sig);
	other = strcmp(s->o->party, done.u.agr.parties[0]) == 0 ?
	    done.u.agr.parties[1] : done.u.agr.parties[0];
	if (pv[0].sig >= 0 && pv[1].sig >= 0)
		fprintf(f, "both parties have signed: check it with mrx "
		    "agreement verify %s --root %s=PUB --root %s=PUB\n",
		    s->o->out, done.u.agr.parties[0], done.u.agr.parties[1]);
	else
		fprintf(f, "still to sign: %s (mrx agreement sign --key "
		    "ROOT.key --party %s --in %s --payload TERMS --out "
		    "AGREEMENT)\n", other, other, s->o->out);
	proto_record_fini(&done);
	return 0;
}

/* The drafting party signs the reviewed terms: a new COSE_Sign. */
static int
sign_first(struct sign_ctx *s)
{
	const struct proto_agreement *a = &s->rec.u.agr;
	struct proto_record probe;
	struct mrx_diag d;
	int rc;

	rc = cli_read_file(s->o->payload, PROTO_RECORD_MAX, &s->in, &s->in_len);
	if (rc != 0)
		return rc;
	cli_maybe_unhex(s->in, &s->in_len);
	mrx_diag_clear(&d);
	if (proto_payload_decode(s->in, s->in_len, &s->rec, &d) != 0) {
		rc = proto_record_decode(s->in, s->in_len, &probe, NULL);
		proto_record_fini(&probe);
		if (rc == 0) {
			cli_err("%s is a signed record, not the terms; to add "
			    "a signature to an agreement use --in",
			    s->o->payload);
			return CLI_USAGE;
		}
		return cli_err_diag(CLI_REJECT, "the terms are not a valid "
		    "agreement payload", &d);
	}
	if (s->rec.type != PROTO_REC_AGREEMENT) {
		cli_err("%s holds the payload of a %s, not of an agreement",
		    s->o->payload, proto_rec_type_name(s->rec.type));
		return CLI_REJECT;
	}
	if ((rc = party_check(s)) != 0)
		return rc;
	if (strcmp(s->o->party, a->c.iss) != 0) {
		cli_err("--party %s: the drafting party %s signs the terms "
		    "first; %s then adds its signature with --in AGREEMENT",
		    s->o->party, a->c.iss, s->o->party);
		return CLI_USAGE;
	}
	if ((rc = keys_load(s)) != 0)
		return rc;
	rc = cry_sign_sign(s->key, NULL, 0, s->in, s->in_len, s->out,
	    PROTO_RECORD_MAX, &s->out_len);
	if (rc != 0) {
		cli_err("cannot sign the terms: %s", mrx_strerror(rc));
		return CLI_USAGE;
	}
	return sign_finish(s);
}

/* With --root keys: the signatures already there must verify. */
static int
existing_check(const struct sign_ctx *s, const struct agr_party pv[])
{
	const struct proto_agreement *a = &s->rec.u.agr;
	size_t p;

	for (p = 0; p < AGR_PARTIES; p++) {
		if (pv[p].check == AGR_BAD) {
			cli_err("signature %d on %s does not verify with the "
			    "root key of %s: the terms were changed after %s "
			    "signed, or the signature is not %s's; refusing to "
			    "sign",
			    pv[p].sig + 1, s->o->in, pv[p].id, pv[p].id,
			    pv[p].id);
			return CLI_REJECT;
		}
		if (pv[p].sig < 0 && strcmp(pv[p].id, a->c.iss) == 0 &&
		    root_of(&s->roots, pv[p].id) != NULL) {
			cli_err("%s carries no signature by its drafting party "
			    "%s (none with the kid of the given root key); "
			    "refusing to sign", s->o->in, pv[p].id);
			return CLI_REJECT;
		}
	}
	return 0;
}

/* The terms in the agreement must be the reviewed ones, byte for byte. */
static int
terms_check(const struct sign_ctx *s)
{
	char h1[2 * PROTO_HASH_LEN + 1], h2[2 * PROTO_HASH_LEN + 1];
	uint8_t a[PROTO_HASH_LEN], b[PROTO_HASH_LEN], *buf;
	size_t len;
	int rc;

	rc = cli_read_file(s->o->payload, PROTO_RECORD_MAX, &buf, &len);
	if (rc != 0)
		return rc;
	cli_maybe_unhex(buf, &len);
	if (len == s->rec.multi.payload_len &&
	    memcmp(buf, s->rec.multi.payload, len) == 0) {
		free(buf);
		return 0;
	}
	cry_sha256(s->rec.multi.payload, s->rec.multi.payload_len, a);
	cry_sha256(buf, len, b);
	free(buf);
	cli_err("the terms in %s (hash %s) are not those of %s (hash %s): "
	    "refusing to sign changed terms", s->o->in,
	    cli_hex(a, sizeof(a), h1), s->o->payload,
	    cli_hex(b, sizeof(b), h2));
	return CLI_REJECT;
}

/* Refuses a party or key that has signed already. */
static int
signer_check(const struct sign_ctx *s, const struct agr_party pv[])
{
	const struct proto_agreement *a = &s->rec.u.agr;
	char kid[2 * CRY_KID_LEN + 1];
	int i;
	size_t p;

	if (s->rec.multi.nsigs >= AGR_PARTIES) {
		cli_err("agreement %s already carries %zu signatures: both "
		    "parties have signed", a->c.sub, s->rec.multi.nsigs);
		return CLI_USAGE;
	}
	i = sig_by_kid(&s->rec.multi, cry_key_kid(s->key));
	if (i >= 0) {
		cli_err("this key (kid %s) already signed agreement %s "
		    "(signature %d)", cli_hex(cry_key_kid(s->key), CRY_KID_LEN,
		    kid), a->c.sub, i + 1);
		return CLI_USAGE;
	}
	for (p = 0; p < AGR_PARTIES; p++)
		if (strcmp(pv[p].id, s->o->party) == 0 && pv[p].sig >= 0) {
			cli_err("%s has already signed agreement %s (signature "
			    "%d%s); the other party signs next", s->o->party,
			    a->c.sub, pv[p].sig + 1, pv[p].presumed ? ", the "
			    "drafting party's" : "");
			return CLI_USAGE;
		}
	return 0;
}

/* The other party adds its signature to the drafting party's agreement. */
static int
sign_add(struct sign_ctx *s)
{
	struct agr_party pv[AGR_PARTIES];
	struct mrx_diag d;
	int rc;

	rc = cli_read_file(s->o->in, PROTO_RECORD_MAX, &s->in, &s->in_len);
	if (rc != 0)
		return rc;
	cli_maybe_unhex(s->in, &s->in_len);
	mrx_diag_clear(&d);
	if (proto_record_decode(s->in, s->in_len, &s->rec, &d) != 0)
		return cli_err_diag(CLI_REJECT, "not a valid agreement", &d);
	if (s->rec.type != PROTO_REC_AGREEMENT) {
		cli_err("%s is a %s, not an agreement", s->o->in,
		    proto_rec_type_name(s->rec.type));
		return CLI_REJECT;
	}
	if ((rc = party_check(s)) != 0 || (rc = keys_load(s)) != 0)
		return rc;
	parties_map(&s->rec, &s->roots, pv);
	if ((rc = signer_check(s, pv)) != 0 ||
	    (rc = existing_check(s, pv)) != 0 ||
	    (s->o->payload != NULL && (rc = terms_check(s)) != 0))
		return rc;
	mrx_diag_clear(&d);
	rc = cry_sign_add(s->in, s->in_len, s->key, NULL, 0, s->out,
	    PROTO_RECORD_MAX, &s->out_len, &d);
	if (rc != 0)
		return cli_err_diag(CLI_USAGE, "cannot add the signature", &d);
	return sign_finish(s);
}

static int
agreement_sign(const struct agr_opts *o)
{
	struct sign_ctx *s;
	int rc;

	if (o->file != NULL || o->at != NULL || o->json) {
		cli_err("sign takes no %s", o->file != NULL ? "positional "
		    "argument (the input is --payload or --in)" : "--at or "
		    "--json");
		return CLI_USAGE;
	}
	if (o->key == NULL || o->party == NULL || o->out == NULL ||
	    (o->payload == NULL && o->in == NULL)) {
		cli_err("--key, --party, --out and --payload or --in are "
		    "required");
		return CLI_USAGE;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->out = malloc(PROTO_RECORD_MAX)) == NULL) {
		free(s);
		cli_err("out of memory");
		return CLI_USAGE;
	}
	s->o = o;
	rc = o->in != NULL ? sign_add(s) : sign_first(s);
	proto_record_fini(&s->rec);
	roots_free(&s->roots);
	cry_key_free(s->key);
	free(s->in);
	free(s->out);
	free(s);
	return rc;
}

/* ---- verify ---- */

struct verify_view {
	struct proto_record rec;
	struct agr_roots roots;
	struct agr_party pv[AGR_PARTIES];
	int64_t now, at;
	bool complete;
	char warnings[PROTO_ROWS_MAX + 2][160];
	size_t nwarnings;
};

static void
warn_add(struct verify_view *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
warn_add(struct verify_view *v, const char *fmt, ...)
{
	va_list ap;

	if (v->nwarnings == sizeof(v->warnings) / sizeof(v->warnings[0]))
		return;
	va_start(ap, fmt);
	vsnprintf(v->warnings[v->nwarnings++], sizeof(v->warnings[0]), fmt,
	    ap);
	va_end(ap);
}

/* What a verifier would object to besides the signatures. */
static void
warnings_find(struct verify_view *v)
{
	const struct proto_agreement *a = &v->rec.u.agr;
	size_t i;

	if (a->c.iat > v->now + PROTO_SKEW_DEFAULT_S)
		warn_add(v, "dated in the future: a verifier refuses it until "
		    "then");
	for (i = 0; i < a->nrows; i++)
		if (proto_level_find(a->rows[i].from) == NULL ||
		    proto_level_find(a->rows[i].to) == NULL)
			warn_add(v, "row %zu maps %s to %s: an unknown level, "
			    "the row never matches", i + 1, a->rows[i].from,
			    a->rows[i].to);
}

/* The verdict line: complete, incomplete (who is missing) or invalid. */
static const char *
verdict_str(const struct verify_view *v, char *buf, size_t cap)
{
	size_t p;

	for (p = 0; p < AGR_PARTIES; p++)
		if (v->pv[p].check == AGR_BAD) {
			snprintf(buf, cap, "invalid: the signature of %s does "
			    "not verify with its root key", v->pv[p].id);
			return buf;
		}
	for (p = 0; p < AGR_PARTIES; p++)
		if (v->pv[p].sig < 0) {
			snprintf(buf, cap, "incomplete: %s has not signed",
			    v->pv[p].id);
			return buf;
		}
	return "complete: both parties signed and both signatures verify";
}

static bool
sig_is_partys(const struct verify_view *v, size_t i)
{
	return v->pv[0].sig == (int)i || v->pv[1].sig == (int)i;
}

static void
verify_print(const struct verify_view *v)
{
	char b[320], kid[2 * CRY_COSE_KID_MAX + 1];
	const struct cry_sign *s = &v->rec.multi;
	size_t i;

	printf("%s\n", verdict_str(v, b, sizeof(b)));
	terms_print(stdout, &v->rec.u.agr, s->payload, s->payload_len, v->at);
	printf("signatures (%zu)\n", s->nsigs);
	parties_print(stdout, &v->rec, v->pv, -1);
	for (i = 0; i < s->nsigs; i++)
		if (!sig_is_partys(v, i))
			printf("  %-20s signature %zu (%s, kid %s) is by "
			    "neither party's root key\n", "other", i + 1,
			    sig_alg(s, (int)i), sig_kid(s, (int)i, kid));
	for (i = 0; i < v->nwarnings; i++)
		printf("  note: %s\n", v->warnings[i]);
}

static json_t *
party_json(const struct verify_view *v, const struct agr_party *p)
{
	static const char *const st[] = {
		[AGR_NOT_CHECKED] = "not-signed",
		[AGR_VALID] = "valid",
		[AGR_BAD] = "bad-signature",
	};
	char kid[2 * CRY_COSE_KID_MAX + 1];
	json_t *o;

	o = json_pack("{s:s, s:b, s:s}", "id", p->id, "drafting",
	    strcmp(p->id, v->rec.u.agr.c.iss) == 0, "status", st[p->check]);
	if (p->sig >= 0) {
		json_object_set_new(o, "signature", json_integer(p->sig + 1));
		json_object_set_new(o, "alg",
		    json_string(sig_alg(&v->rec.multi, p->sig)));
		json_object_set_new(o, "kid",
		    json_string(sig_kid(&v->rec.multi, p->sig, kid)));
	}
	return o;
}

static json_t *
verify_json(const struct verify_view *v)
{
	char b[320], kid[2 * CRY_COSE_KID_MAX + 1], t[PROTO_TIME_STR];
	const struct cry_sign *s = &v->rec.multi;
	json_t *o, *ps, *others, *ws;
	size_t i;

	ps = json_array();
	for (i = 0; i < AGR_PARTIES; i++)
		json_array_append_new(ps, party_json(v, &v->pv[i]));
	others = json_array();
	for (i = 0; i < s->nsigs; i++)
		if (!sig_is_partys(v, i))
			json_array_append_new(others, json_pack(
			    "{s:I, s:s, s:s}", "signature", (json_int_t)(i + 1),
			    "alg", sig_alg(s, (int)i), "kid",
			    sig_kid(s, (int)i, kid)));
	ws = json_array();
	for (i = 0; i < v->nwarnings; i++)
		json_array_append_new(ws, json_string(v->warnings[i]));
	o = json_pack("{s:s, s:b, s:s, s:o, s:o}", "agreement",
	    v->rec.u.agr.c.sub, "complete", v->complete, "summary",
	    verdict_str(v, b, sizeof(b)), "parties", ps, "other_signatures",
	    others);
	json_object_set_new(o, "in_force", json_boolean(v->at >=
	    v->rec.u.agr.c.nbf && v->at < v->rec.u.agr.c.exp));
	json_object_set_new(o, "at", json_string(proto_time_format(v->at, t,
	    sizeof(t))));
	json_object_set_new(o, "warnings", ws);
	json_object_set_new(o, "record", cli_record_json(&v->rec));
	return o;
}

static int
verify_run(const struct agr_opts *o, struct verify_view *v, uint8_t **buf)
{
	size_t len, p;
	int rc;

	rc = cli_read_record(o->file, buf, &len, &v->rec);
	if (rc != 0)
		return rc;
	if (v->rec.type != PROTO_REC_AGREEMENT) {
		cli_err("%s is a %s, not an agreement", o->file,
		    proto_rec_type_name(v->rec.type));
		return CLI_REJECT;
	}
	if (roots_load(o, &v->rec.u.agr, &v->roots) != 0)
		return CLI_USAGE;
	for (p = 0; p < AGR_PARTIES; p++)
		if (root_of(&v->roots, v->rec.u.agr.parties[p]) == NULL) {
			cli_err("no root key for party %s: give --root %s=PUB "
			    "for each party", v->rec.u.agr.parties[p],
			    v->rec.u.agr.parties[p]);
			return CLI_USAGE;
		}
	parties_map(&v->rec, &v->roots, v->pv);
	v->complete = v->pv[0].check == AGR_VALID &&
	    v->pv[1].check == AGR_VALID;
	warnings_find(v);
	if (o->json)
		cli_json_print(verify_json(v));
	else
		verify_print(v);
	return v->complete ? CLI_OK : CLI_REJECT;
}

static int
agreement_verify(const struct agr_opts *o)
{
	struct verify_view *v;
	uint8_t *buf = NULL;
	int rc;

	if (o->key != NULL || o->party != NULL || o->payload != NULL ||
	    o->in != NULL || o->out != NULL || o->force) {
		cli_err("verify takes AGREEMENT, --root, --at and --json only");
		return CLI_USAGE;
	}
	if (o->file == NULL || o->nroots == 0) {
		cli_err("an AGREEMENT file and --root ID=PUB for each party "
		    "are required");
		return CLI_USAGE;
	}
	v = calloc(1, sizeof(*v));
	if (v == NULL) {
		cli_err("out of memory");
		return CLI_USAGE;
	}
	v->now = cli_now();
	v->at = v->now;
	rc = o->at != NULL ? cli_time_opt("--at", o->at, &v->at) : 0;
	if (rc == 0)
		rc = verify_run(o, v, &buf);
	proto_record_fini(&v->rec);
	roots_free(&v->roots);
	free(buf);
	free(v);
	return rc;
}

/* ---- dispatch ---- */

int
cmd_agreement(int argc, char **argv)
{
	static char prefix[64];
	struct agr_opts o;
	int rc;

	if (argc < 2 || argv[1][0] == '-') {
		bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0);

		fputs(agreement_usage, help ? stdout : stderr);
		return help ? CLI_OK : CLI_USAGE;
	}
	if (strcmp(argv[1], "draft") != 0 && strcmp(argv[1], "sign") != 0 &&
	    strcmp(argv[1], "verify") != 0) {
		cli_err("unknown agreement command '%s' (draft, sign, verify)",
		    argv[1]);
		return CLI_USAGE;
	}
	snprintf(prefix, sizeof(prefix), "mrx agreement %s", argv[1]);
	cli_cmd = prefix;
	rc = parse_agr_opts(argc - 1, argv + 1, &o);
	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	if (strcmp(argv[1], "draft") == 0)
		return agreement_draft(&o);
	if (strcmp(argv[1], "sign") == 0)
		return agreement_sign(&o);
	return agreement_verify(&o);
}
