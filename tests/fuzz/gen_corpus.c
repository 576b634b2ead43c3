/*
 * gen_corpus.c - makes the seed corpora of the fuzz targets with the
 * project's own encoders: signed records of every type, COSE_Sign
 * agreements, packed status lists (and one zlib bomb), sealed envelopes,
 * node configurations written by conf_node_write(), agreement drafts and
 * API request bodies.
 *
 *   gen_corpus OUTDIR [REGRESSDIR]
 *
 * writes OUTDIR/<target>/<seed> for every target, and with REGRESSDIR the
 * inputs too costly to fuzz from but that must always be run:
 * REGRESSDIR/status/bomb-4MiB+4.zlib, a zlib stream of 4 KiB that
 * inflates one byte past the largest status list (a bomb: MRX_ETOOBIG).
 *
 * The output is deterministic: fixed keys (fuzzkit.h; Ed25519 signatures
 * are deterministic), fixed times, ids and randomness, so running it again
 * writes the same bytes. It only creates and overwrites its own seed files;
 * it never deletes. tests/fuzz/corpus/ is its committed output (see
 * docs/fuzzing.md). The COSE vectors are not seeds here: fuzz_cose_diff
 * reads them in place.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "cli_util.h"
#include "cose.h"
#include "envelope.h"
#include "fuzzkit.h"
#include "node_conf.h"
#include "record.h"

#define T0 INT64_C(1767225600)		/* 2026-01-01T00:00:00Z */
#define T_EXP (T0 + 5 * 365 * 86400)
#define SUBJECT "00112233445566778899aabbccddeeff"
#define URI "https://status.example.jp/jp.meti/1"
#define OUT_MAX PROTO_STATUS_LIST_MAX
#define API_CLEARANCE 0		/* first byte of an fuzz_api_req input */
#define API_OPERATOR 1
#define API_STATUS 2
#define API_VERIFY 3
#define API_ALERTS 4

static const char *outdir, *regressdir;
static struct cry_key *k_issuer, *k_party2, *k_peer_a, *k_peer_b,
    *k_stranger;
static uint8_t clr_rec[4096], op_rec[4096], delta_rec[4096];
static size_t clr_len, op_len, delta_len;

static void
die(const char *what)
{
	fprintf(stderr, "gen_corpus: %s\n", what);
	exit(1);
}

static void
mkdir_p(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
}

/* Writes DIR/target/name. */
static void
put_in(const char *dir, const char *target, const char *name, const void *p,
    size_t n)
{
	char path[PATH_MAX];
	FILE *f;

	mkdir_p(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, target);
	mkdir_p(path);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* Writes OUTDIR/target/name. */
static void
put(const char *target, const char *name, const void *p, size_t n)
{
	put_in(outdir, target, name, p, n);
}

static void
put_str(const char *target, const char *name, const char *s)
{
	put(target, name, s, strlen(s));
}

/* ---- records ---- */

static void
claims(struct proto_claims *c, const char *iss, const char *sub, bool window,
    uint8_t cti)
{
	snprintf(c->iss, sizeof(c->iss), "%s", iss);
	snprintf(c->sub, sizeof(c->sub), "%s", sub);
	c->iat = T0;
	memset(c->cti, cti, sizeof(c->cti));
	if (window) {
		c->nbf = T0;
		c->exp = T_EXP;
		c->has_nbf = c->has_exp = true;
	}
}

static void
strs(struct proto_strs *l, const char *a, const char *b)
{
	l->n = 0;
	if (a != NULL)
		snprintf(l->v[l->n++], sizeof(l->v[0]), "%s", a);
	if (b != NULL)
		snprintf(l->v[l->n++], sizeof(l->v[0]), "%s", b);
}

static void
mk_delegation(struct proto_record *r)
{
	struct proto_delegation *d = &r->u.del;

	claims(&d->c, "jp.cao", "jp.meti", true, 0xd1);
	if (cry_key_spki(k_issuer, d->key, sizeof(d->key), &d->key_len) != 0)
		die("spki");
	strs(&d->levels, "JP-CESI:CONFIDENTIAL", "JP-SDS:SECRET");
	strs(&d->scopes, "semiconductors", NULL);
}

static void
mk_clearance(struct proto_record *r)
{
	struct proto_clearance *c = &r->u.clr;

	claims(&c->c, "jp.meti", SUBJECT, true, 0xc1);
	snprintf(c->level, sizeof(c->level), "JP-CESI:CONFIDENTIAL");
	strs(&c->scopes, "semiconductors", NULL);
	snprintf(c->operator_id, sizeof(c->operator_id), "jp.op.prime");
	snprintf(c->status.uri, sizeof(c->status.uri), URI);
	c->status.idx = 7;
}

static void
mk_operator(struct proto_record *r)
{
	struct proto_operator_cert *o = &r->u.op;

	claims(&o->c, "jp.meti", "jp.op.prime", true, 0x0c);
	strs(&o->levels, "JP-CESI:CONFIDENTIAL", NULL);
	snprintf(o->status.uri, sizeof(o->status.uri), URI);
	o->status.idx = 8;
}

static void
mk_status_list(struct proto_record *r)
{
	struct proto_status_list *sl = &r->u.sl;

	claims(&sl->c, "jp.meti", URI, false, 0x51);
	sl->c.has_exp = true;
	sl->c.exp = T0 + 86400;
	sl->seq = 2;
	sl->has_head = true;
	memset(sl->head, 0x11, sizeof(sl->head));
	if (proto_status_list_init(sl, 4096) != 0 ||
	    proto_status_set(sl, 7, PROTO_STATUS_REVOKED,
	    PROTO_REASON_ELIGIBILITY_REVOKED) != 0 ||
	    proto_status_set(sl, 8, PROTO_STATUS_SUSPENDED,
	    PROTO_REASON_SUSPENDED_PENDING_REVIEW) != 0)
		die("status list");
}

static void
mk_status_delta(struct proto_record *r)
{
	struct proto_status_delta *sd = &r->u.sd;

	claims(&sd->c, "jp.meti", URI, false, 0x5d);
	sd->seq = 2;
	memset(sd->prev, 0x22, sizeof(sd->prev));
	sd->changes[0] = (struct proto_status_change){ 7,
	    PROTO_STATUS_REVOKED, PROTO_REASON_ELIGIBILITY_REVOKED };
	sd->changes[1] = (struct proto_status_change){ 8,
	    PROTO_STATUS_SUSPENDED, PROTO_REASON_SUSPENDED_PENDING_REVIEW };
	sd->nchanges = 2;
}

static void
mk_checkpoint(struct proto_record *r)
{
	struct proto_checkpoint *cp = &r->u.cp;

	claims(&cp->c, "jp.meti", URI, false, 0xcc);
	cp->seq = 2;
	memset(cp->head, 0x33, sizeof(cp->head));
}

static struct proto_agreement_row agr_rows[2];

static void
mk_agreement(struct proto_record *r)
{
	struct proto_agreement *a = &r->u.agr;

	claims(&a->c, "jp.cao", "jp-us.2026", true, 0xa9);
	snprintf(a->parties[0], sizeof(a->parties[0]), "jp.cao");
	snprintf(a->parties[1], sizeof(a->parties[1]), "us.dcsa");
	memset(agr_rows, 0, sizeof(agr_rows));
	snprintf(agr_rows[0].from, sizeof(agr_rows[0].from), "US:SECRET");
	snprintf(agr_rows[0].to, sizeof(agr_rows[0].to), "JP-SDS:SECRET");
	snprintf(agr_rows[1].from, sizeof(agr_rows[1].from), "US:CONFIDENTIAL");
	snprintf(agr_rows[1].to, sizeof(agr_rows[1].to),
	    "JP-CESI:CONFIDENTIAL");
	strs(&agr_rows[1].scopes, "batteries", "semiconductors");
	a->rows = agr_rows;	/* static: never proto_record_fini()'d */
	a->nrows = 2;
	a->max_status_age_s = 300;
	a->operator_cert_required = true;
}

static void
mk_key_revocation(struct proto_record *r)
{
	struct proto_key_revocation *k = &r->u.kr;

	claims(&k->c, "jp.cao", "jp.meti", false, 0x4b);
	memcpy(k->kid, cry_key_kid(k_issuer), CRY_KID_LEN);
	k->from = T0 - 86400;
	k->reason = PROTO_REASON_ISSUER_KEY_COMPROMISED;
}

static const struct maker {
	enum proto_rec_type type;
	void (*fn)(struct proto_record *);
} makers[] = {
	{ PROTO_REC_DELEGATION, mk_delegation },
	{ PROTO_REC_CLEARANCE, mk_clearance },
	{ PROTO_REC_OPERATOR, mk_operator },
	{ PROTO_REC_STATUS_LIST, mk_status_list },
	{ PROTO_REC_STATUS_DELTA, mk_status_delta },
	{ PROTO_REC_CHECKPOINT, mk_checkpoint },
	{ PROTO_REC_AGREEMENT, mk_agreement },
	{ PROTO_REC_KEY_REVOCATION, mk_key_revocation },
};

/* Signs one record of maker m into out; its length. */
static size_t
sign_record(const struct maker *m, uint8_t *out, size_t cap)
{
	struct proto_record r;
	struct mrx_diag d;
	size_t len = 0;

	memset(&r, 0, sizeof(r));
	r.type = m->type;
	m->fn(&r);
	mrx_diag_clear(&d);
	if (proto_record_sign(&r, k_issuer, out, cap, &len, &d) != 0) {
		fprintf(stderr, "gen_corpus: %s: %s: %s\n",
		    proto_rec_type_name(m->type), d.field, d.msg);
		exit(1);
	}
	if (m->type == PROTO_REC_STATUS_LIST)
		proto_status_list_fini(&r.u.sl);
	return len;
}

static void
gen_records(void)
{
	uint8_t *out = malloc(OUT_MAX), *two = malloc(OUT_MAX);
	char name[64];
	size_t i, len, len2;

	if (out == NULL || two == NULL)
		die("out of memory");
	for (i = 0; i < sizeof(makers) / sizeof(makers[0]); i++) {
		len = sign_record(&makers[i], out, OUT_MAX);
		snprintf(name, sizeof(name), "%s.cose",
		    proto_rec_type_name(makers[i].type));
		put("record", name, out, len);
		if (makers[i].type == PROTO_REC_AGREEMENT) {
			put("cose_sign", "agreement-1.cose", out, len);
			if (cry_sign_add(out, len, k_party2, NULL, 0, two,
			    OUT_MAX, &len2, NULL) != 0)
				die("cry_sign_add");
			put("record", "agreement-2.cose", two, len2);
			put("cose_sign", "agreement-2.cose", two, len2);
			put("cose_sign", "agreement-2-untagged.cose", two + 2,
			    len2 - 2);
			continue;
		}
		if (makers[i].type != PROTO_REC_STATUS_LIST)
			put("cose_sign1", name, out, len);
		if (makers[i].type == PROTO_REC_CLEARANCE) {
			memcpy(clr_rec, out, len);
			clr_len = len;
			/* untagged: tag 18 is the one byte 0xd2 */
			put("record", "clearance-untagged.cose", out + 1,
			    len - 1);
			put("cose_sign1", "clearance-untagged.cose", out + 1,
			    len - 1);
		} else if (makers[i].type == PROTO_REC_OPERATOR) {
			memcpy(op_rec, out, len);
			op_len = len;
		} else if (makers[i].type == PROTO_REC_STATUS_DELTA) {
			memcpy(delta_rec, out, len);
			delta_len = len;
		}
	}
	/* raw COSE_Sign1: a chosen kid, an external AAD, an empty payload */
	if (cry_sign1_sign(k_issuer, (const uint8_t *)"11", 2,
	    (const uint8_t *)"aad", 3, (const uint8_t *)"hello", 5, out,
	    OUT_MAX, &len) != 0)
		die("cry_sign1_sign");
	put("cose_sign1", "kid-aad.cose", out, len);
	if (cry_sign1_sign(k_issuer, NULL, 0, NULL, 0, (const uint8_t *)"",
	    0, out, OUT_MAX, &len) != 0)
		die("cry_sign1_sign");
	put("cose_sign1", "empty-payload.cose", out, len);
	free(out);
	free(two);
}

/* ---- status lists ---- */

static void
put_list(const char *name, uint32_t size, const uint32_t *revoked, size_t n)
{
	struct proto_status_list sl;
	uint8_t *lst = NULL;
	size_t len = 0, i;

	memset(&sl, 0, sizeof(sl));
	if (proto_status_list_init(&sl, size) != 0)
		die("status list init");
	for (i = 0; i < n; i++)
		if (proto_status_set(&sl, revoked[i], i % 2 == 0 ?
		    PROTO_STATUS_REVOKED : PROTO_STATUS_SUSPENDED,
		    PROTO_REASON_ADMIN_WITHDRAWN) != 0)
			die("status set");
	if (proto_status_list_pack(&sl, &lst, &len) != 0)
		die("status list pack");
	put("status", name, lst, len);
	free(lst);
	proto_status_list_fini(&sl);
}

static void
gen_status(void)
{
	static const uint32_t some[] = { 0, 7, 8, 1023, 4095 };
	uLongf blen;
	uint8_t *zeros, *bomb;
	size_t n = PROTO_STATUS_ENTRIES_MAX / 4 + 4;

	put_list("4-valid.zlib", 4, NULL, 0);
	put_list("4096-some.zlib", 4096, some, 5);
	put_list("131072-valid.zlib", PROTO_STATUS_ENTRIES_DEFAULT, NULL, 0);
	if (regressdir == NULL)
		return;
	/* a bomb: one byte too many once inflated (MRX_ETOOBIG); 1 ms a
	 * run, so it is replayed every time, not mutated */
	zeros = calloc(1, n);
	blen = compressBound(n);
	bomb = malloc(blen);
	if (zeros == NULL || bomb == NULL ||
	    compress2(bomb, &blen, zeros, n, 9) != Z_OK)
		die("zlib bomb");
	put_in(regressdir, "status", "bomb-4MiB+4.zlib", bomb, blen);
	free(zeros);
	free(bomb);
}

/* ---- envelopes ---- */

static void
seal(const char *name, const struct cry_key *k, const char *from,
    const char *to, enum proto_msg_type type, int64_t t, uint8_t id_byte,
    const uint8_t *body, size_t body_len)
{
	uint8_t id[PROTO_ENV_ID_LEN], *out;
	struct mrx_diag d;
	size_t cap = PROTO_ENV_SIZE(body_len), len = 0;

	memset(id, id_byte, sizeof(id));
	out = malloc(cap);
	if (out == NULL)
		die("out of memory");
	mrx_diag_clear(&d);
	if (proto_envelope_seal(k, from, to, type, t, id, body, body_len, out,
	    cap, &len, &d) != 0) {
		fprintf(stderr, "gen_corpus: seal %s: %s\n", name, d.msg);
		exit(1);
	}
	put("envelope", name, out, len);
	free(out);
}

static void
gen_envelopes(void)
{
	static const uint8_t catchup[] = { 0xa1, 0x63, 's', 'e', 'q', 0x02 };

	seal("present.env", k_peer_a, FUZZ_PEER_A_ID, FUZZ_SELF_ID,
	    PROTO_MSG_PRESENT, FUZZ_NOW, 1, clr_rec, clr_len);
	seal("feed-broadcast.env", k_peer_b, FUZZ_PEER_B_ID,
	    PROTO_ENV_BROADCAST, PROTO_MSG_FEED_RECORD, FUZZ_NOW - 10, 2,
	    delta_rec, delta_len);
	seal("catchup-request.env", k_peer_a, FUZZ_PEER_A_ID, FUZZ_SELF_ID,
	    PROTO_MSG_CATCHUP_REQUEST, FUZZ_NOW + 30, 3, catchup,
	    sizeof(catchup));
	seal("forbidden-type.env", k_peer_b, FUZZ_PEER_B_ID, FUZZ_SELF_ID,
	    PROTO_MSG_PRESENT, FUZZ_NOW, 4, clr_rec, clr_len);
	seal("too-old.env", k_peer_a, FUZZ_PEER_A_ID, FUZZ_SELF_ID,
	    PROTO_MSG_REFUSAL, FUZZ_NOW - 3600, 5, catchup, sizeof(catchup));
	seal("stranger.env", k_stranger, "x.node", FUZZ_SELF_ID,
	    PROTO_MSG_PRESENT, FUZZ_NOW, 6, clr_rec, clr_len);
	seal("rerouted.env", k_peer_a, FUZZ_PEER_A_ID, "other.node",
	    PROTO_MSG_FETCH_REQUEST, FUZZ_NOW, 7, catchup, sizeof(catchup));
}

/* ---- configurations ---- */

static void
write_conf(const struct node_conf *c, const char *name)
{
	char path[PATH_MAX];
	struct mrx_diag d;

	snprintf(path, sizeof(path), "%s/node_conf/%s", outdir, name);
	mrx_diag_clear(&d);
	if (conf_node_write(c, path, &d) != 0) {
		fprintf(stderr, "gen_corpus: %s: %s\n", name, d.msg);
		exit(1);
	}
}

static void
gen_node_conf(void)
{
	struct node_conf *c = malloc(sizeof(*c));
	char rel[PATH_MAX], dir[PATH_MAX], path[PATH_MAX + 16];
	struct mrx_diag d;

	if (c == NULL)
		die("out of memory");
	put_str("node_conf", "minimal.yaml",
	    "id: jp.meti\nrole: issuer\njurisdiction: JP\n");
	put_str("node_conf", "flow.yaml",
	    "{id: jp.cao, role: root, jurisdiction: JP, "
	    "api: {listen: '127.0.0.1:7400'}, log: {level: warn}}\n");
	snprintf(rel, sizeof(rel), "%s/node_conf", outdir);
	if (realpath(rel, dir) == NULL)
		die("realpath");
	/* loaded, every path is absolute under the data directory, and
	 * written back relative to it: the text does not depend on dir */
	snprintf(path, sizeof(path), "%s/minimal.yaml", dir);
	mrx_diag_clear(&d);
	if (conf_node_load(dir, path, c, &d) != 0) {
		fprintf(stderr, "gen_corpus: minimal.yaml: %s\n", d.msg);
		exit(1);
	}
	write_conf(c, "issuer-defaults.yaml");
	c->role = ENG_ROLE_OPERATOR;
	snprintf(c->id, sizeof(c->id), "jp.op.prime");
	snprintf(c->api_host, sizeof(c->api_host), "::1");
	c->api_port = 7401;
	c->body_max = 65536;
	c->conns_max = 64;
	c->nroots = 2;
	snprintf(c->roots[0].id, sizeof(c->roots[0].id), "jp.cao");
	snprintf(c->roots[0].key_path, sizeof(c->roots[0].key_path),
	    "%s/trust/jp.cao.pub", dir);
	snprintf(c->roots[1].id, sizeof(c->roots[1].id), "us.dcsa");
	snprintf(c->roots[1].key_path, sizeof(c->roots[1].key_path),
	    "/etc/mrx/us.dcsa.pub");
	c->nchain = 2;
	snprintf(c->chain[0], sizeof(c->chain[0]), "%s/trust/deleg.cose", dir);
	snprintf(c->chain[1], sizeof(c->chain[1]), "%s/trust/agr.cose", dir);
	c->clock_skew_s = 30;
	c->max_status_age_s = 3600;
	c->require_operator_cert = true;
	c->status_list_size = 4096;
	c->watches_max = 5000;
	c->log_level = CONF_LOG_DEBUG;
	write_conf(c, "operator-full.yaml");
	free(c);
}

/* ---- agreement drafts ---- */

static void
gen_agreement_conf(void)
{
	put_str("agreement_conf", "two-rows.yaml",
	    "id: jp-uk-2027\n"
	    "parties: [jp.cao, uk.vetting]\n"
	    "valid_from: 2027-01-01T00:00:00Z\n"
	    "valid_until: 2032-01-01T00:00:00Z\n"
	    "conditions:\n"
	    "  max_status_age: 1h\n"
	    "  operator_cert_required: false\n"
	    "rows:\n"
	    "  - {from: UK:SC, to: JP-SDS:SECRET}\n"
	    "  - from: UK:DV\n"
	    "    to: JP-SDS:TOP-SECRET\n"
	    "    scopes: [defence, space]\n");
	put_str("agreement_conf", "flow.yaml",
	    "{id: a.b, parties: [a.root, b.root], "
	    "valid_from: 2026-01-01T00:00:00Z, "
	    "valid_until: 2026-06-01T00:00:00Z, "
	    "conditions: {max_status_age: 0, operator_cert_required: true}, "
	    "rows: [{from: US:SECRET, to: JP-SDS:SECRET, scopes: []}]}\n");
}

/* ---- API request bodies ---- */

static void
put_api(const char *name, int which, const char *body)
{
	size_t n = strlen(body);
	uint8_t *b = malloc(n + 1);

	if (b == NULL)
		die("out of memory");
	b[0] = (uint8_t)which;
	memcpy(b + 1, body, n);
	put("api_req", name, b, n + 1);
	free(b);
}

static void
gen_api(void)
{
	char *rec = malloc(clr_len * 2 + 8), *op = malloc(op_len * 2 + 8);
	char *body;
	size_t cap;

	if (rec == NULL || op == NULL)
		die("out of memory");
	put_api("clearance.json", API_CLEARANCE, "{\"sub\": \"" SUBJECT "\", "
	    "\"level\": \"JP-CESI:CONFIDENTIAL\", \"scopes\": "
	    "[\"semiconductors\"], \"operator\": \"jp.op.prime\", "
	    "\"valid_for\": \"10y\"}");
	put_api("operator.json", API_OPERATOR, "{\"sub\": \"jp.op.prime\", "
	    "\"levels\": [\"JP-CESI:CONFIDENTIAL\", \"JP-SDS:SECRET\"], "
	    "\"scopes\": null, \"valid_for\": \"90d\"}");
	put_api("status.json", API_STATUS, "{\"status\": \"revoked\", "
	    "\"reason\": \"ELIGIBILITY_REVOKED\"}");
	cli_b64url(clr_rec, clr_len, rec);
	cli_b64url(op_rec, op_len, op);
	cap = strlen(rec) + strlen(op) + 200;
	body = malloc(cap);
	if (body == NULL)
		die("out of memory");
	snprintf(body, cap, "{\"record\": \"%s\", \"operator_record\": "
	    "\"%s\", \"access\": \"JP-CESI:CONFIDENTIAL\", \"scope\": "
	    "\"semiconductors\"}", rec, op);
	put_api("verify.json", API_VERIFY, body);
	put_api("alerts.query", API_ALERTS, "since=12&wait=30");
	free(body);
	free(rec);
	free(op);
}

int
main(int argc, char **argv)
{
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: gen_corpus OUTDIR [REGRESSDIR]\n");
		return 2;
	}
	outdir = argv[1];
	regressdir = argc == 3 ? argv[2] : NULL;
	mkdir_p(outdir);
	k_issuer = fuzz_key_ed(FUZZ_KEY_ISSUER);
	k_party2 = fuzz_key_ed(FUZZ_KEY_PARTY2);
	k_peer_a = fuzz_key_ed(FUZZ_KEY_PEER_A);
	k_peer_b = fuzz_key_ed(FUZZ_KEY_PEER_B);
	k_stranger = fuzz_key_ed(FUZZ_KEY_STRANGER);
	if (k_issuer == NULL || k_party2 == NULL || k_peer_a == NULL ||
	    k_peer_b == NULL || k_stranger == NULL)
		die("cannot make the fixed keys");
	gen_records();
	gen_status();
	gen_envelopes();
	gen_node_conf();
	gen_agreement_conf();
	gen_api();
	cry_key_free(k_issuer);
	cry_key_free(k_party2);
	cry_key_free(k_peer_a);
	cry_key_free(k_peer_b);
	cry_key_free(k_stranger);
	return 0;
}
