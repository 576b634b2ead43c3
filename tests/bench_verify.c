/*
 * bench_verify.c - what a verifier pays on top of the signature check.
 *
 * For one signed clearance, once with an Ed25519 and once with an ES256
 * issuer, measures in the same run:
 *   (a) raw OpenSSL: EVP_DigestVerifyInit + EVP_DigestVerify over the exact
 *       Sig_structure bytes of the clearance, with an EVP_PKEY parsed once
 *       and (ES256) the signature converted to DER once; a fresh EVP_MD_CTX
 *       per verify, as crypto/ does;
 *   (b) mrx: what a verifier runs on the same bytes - proto_record_decode()
 *       (envelope and strict payload) and cry_sign1_verify() with a cached
 *       struct cry_key;
 *   (c) proto_decide() end to end, with a trust store holding the root, the
 *       delegation and the status list (131072 entries).
 * The machine is noisy, so the three run interleaved: ROUNDS rounds in which
 * each operation gets about SECONDS, handed out in slices of SLICE_MS that
 * alternate a, b, c (the order rotating every round), so a slow spell of the
 * machine falls on all three alike; the table gives the median ops/s of each
 * and the median of the per-round ratios (b)/(a) and (c)/(a).
 * Time is the thread's CPU time (--wall: the monotonic clock), so that time
 * spent descheduled by other processes does not count as work.
 * The target is (b)/(a) >= 0.95 (parsing costs under 5% of a verify).
 *
 * usage: bench_verify [--seconds S] [--rounds N] [--slice-ms MS] [--wall]
 *                     [--strict]
 *        bench_verify --only raw|mrx|decide [--alg eddsa|es256] [--count N]
 * The last line of output is one JSON object. --only runs one operation a
 * fixed number of times after the set-up, for a profiler: perf record, or
 * valgrind --tool=callgrind, whose instruction counts do not depend on the
 * load of the machine. Exit status: 0, or 1 when an operation fails (and
 * with --strict, when (b)/(a) is under the target).
 *
 * Only tests/ and crypto/ may include OpenSSL; this file needs it for (a).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cose.h"
#include "decide.h"
#include "key.h"
#include "ptime.h"
#include "record.h"

#define BENCH_ROUNDS_DEFAULT 5
#define BENCH_ROUNDS_MAX 51
#define BENCH_SECONDS_DEFAULT 1.0
#define BENCH_TARGET 0.95	/* (b)/(a) */
#define BENCH_SLICE_MS_DEFAULT 20
#define BENCH_BATCH 8		/* operations between clock reads */
#define BENCH_NOW 1767225600LL	/* 2026-01-01T00:00:00Z */
#define LEVEL "JP-CESI:CONFIDENTIAL"
#define STATUS_URI "mrx://jp.meti/status/0"

enum { OP_RAW, OP_MRX, OP_DECIDE, OP_COUNT };

static const char *const op_label[OP_COUNT] = {
	"(a) OpenSSL raw", "(b) mrx decode+verify", "(c) proto_decide",
};

/* Everything one algorithm's measurements need, prepared once. */
struct bench {
	const char *alg_name;		/* "EdDSA", "ES256" */
	struct cry_key *root, *issuer;
	uint8_t *deleg, *status, *clr;
	size_t deleg_len, status_len, clr_len;
	/* (a) */
	EVP_PKEY *pkey;
	const EVP_MD *md;		/* NULL for Ed25519 */
	uint8_t *tbs;
	size_t tbs_len;
	uint8_t sig[80];		/* raw (Ed25519) or DER (ECDSA) */
	size_t sig_len;
	/* (b) */
	struct cry_key *cached;		/* issuer key, parsed once */
	/* (c) */
	struct proto_trust *trust;
	struct proto_decide_req req;
	struct proto_policy pol;
	double ops[OP_COUNT][BENCH_ROUNDS_MAX];
};

static void
die(const char *what, int rc)
{
	fprintf(stderr, "bench_verify: %s failed (%d %s)\n", what, rc,
	    rc < 0 ? mrx_errname(rc) : "");
	exit(1);
}

/* CPU time of this thread by default: time spent descheduled by other
 * processes on a shared machine is not work done by the operation. */
static clockid_t bench_clock = CLOCK_THREAD_CPUTIME_ID;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(bench_clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the records ---- */

static void
claims(struct proto_claims *c, const char *iss, const char *sub, int64_t iat,
    int years, uint8_t id)
{
	snprintf(c->iss, sizeof(c->iss), "%s", iss);
	snprintf(c->sub, sizeof(c->sub), "%s", sub);
	c->iat = iat;
	c->nbf = iat;
	c->has_nbf = true;
	if (years > 0) {
		if (proto_time_add_years(iat, years, &c->exp) != 0)
			die("proto_time_add_years", -1);
		c->has_exp = true;
	}
	memset(c->cti, id, sizeof(c->cti));
}

static uint8_t *
sign_rec(const struct proto_record *rec, const struct cry_key *key,
    size_t *len)
{
	uint8_t *p = malloc(PROTO_STATUS_LIST_MAX);
	int rc;

	if (p == NULL)
		die("malloc", MRX_ENOMEM);
	rc = proto_record_sign(rec, key, p, PROTO_STATUS_LIST_MAX, len, NULL);
	if (rc != 0)
		die("proto_record_sign", rc);
	return p;
}

static void
make_records(struct bench *b)
{
	struct proto_record rec;
	struct proto_delegation *d = &rec.u.del;
	struct proto_clearance *c = &rec.u.clr;
	int rc;

	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_DELEGATION;
	claims(&d->c, "jp.cao", "jp.meti", BENCH_NOW - 86400, 2, 1);
	rc = cry_key_spki(b->issuer, d->key, sizeof(d->key), &d->key_len);
	if (rc != 0)
		die("cry_key_spki", rc);
	snprintf(d->levels.v[0], sizeof(d->levels.v[0]), "%s", LEVEL);
	d->levels.n = 1;
	b->deleg = sign_rec(&rec, b->root, &b->deleg_len);

	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_STATUS_LIST;
	rc = proto_status_list_init(&rec.u.sl, PROTO_STATUS_ENTRIES_DEFAULT);
	if (rc != 0)
		die("proto_status_list_init", rc);
	claims(&rec.u.sl.c, "jp.meti", STATUS_URI, BENCH_NOW - 600, 0, 2);
	rec.u.sl.c.has_nbf = false;
	rec.u.sl.seq = 1;
	b->status = sign_rec(&rec, b->issuer, &b->status_len);
	proto_record_fini(&rec);

	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_CLEARANCE;
	claims(&c->c, "jp.meti", "00112233445566778899aabbccddeeff",
	    BENCH_NOW - 600, 10, 3);
	snprintf(c->level, sizeof(c->level), "%s", LEVEL);
	snprintf(c->operator_id, sizeof(c->operator_id), "jp.op.sub");
	snprintf(c->status.uri, sizeof(c->status.uri), "%s", STATUS_URI);
	c->status.idx = 7;
	b->clr = sign_rec(&rec, b->issuer, &b->clr_len);
}

/* Raw r||s (32 + 32 bytes) to a DER ECDSA-Sig-Value. */
static void
ecdsa_der(const uint8_t raw[64], uint8_t *out, size_t cap, size_t *len)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL), *sv = BN_bin2bn(raw + 32, 32,
	    NULL);
	unsigned char *p = out;
	int n;

	if (s == NULL || r == NULL || sv == NULL || !ECDSA_SIG_set0(s, r, sv))
		die("ECDSA_SIG", -1);
	n = i2d_ECDSA_SIG(s, NULL);
	if (n <= 0 || (size_t)n > cap)
		die("i2d_ECDSA_SIG", n);
	i2d_ECDSA_SIG(s, &p);
	*len = (size_t)n;
	ECDSA_SIG_free(s);
}

static void
prepare(struct bench *b, enum cry_alg alg)
{
	static const uint8_t root_seed[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t issuer_seed[32] = { 9, 10, 11, 12, 13, 14, 15 };
	struct cry_sign1 s;
	uint8_t spki[CRY_SPKI_MAX];
	const unsigned char *sp = spki;
	size_t spki_len;
	struct cry_key *rootpub = NULL;
	int rc;

	memset(b, 0, sizeof(*b));
	b->alg_name = cry_alg_name(alg);
	if ((rc = cry_key_from_seed(root_seed, &b->root)) != 0)
		die("cry_key_from_seed", rc);
	rc = alg == CRY_ALG_EDDSA ? cry_key_from_seed(issuer_seed, &b->issuer) :
	    cry_key_generate(alg, &b->issuer);
	if (rc != 0)
		die("issuer key", rc);
	make_records(b);

	/* (a): the exact bytes the signature covers, and a parsed key */
	if ((rc = cry_sign1_decode(b->clr, b->clr_len, &s, NULL)) != 0)
		die("cry_sign1_decode", rc);
	b->tbs = malloc(b->clr_len + 64);
	if (b->tbs == NULL)
		die("malloc", MRX_ENOMEM);
	rc = cry_sign1_tbs(&s, NULL, 0, b->tbs, b->clr_len + 64, &b->tbs_len);
	if (rc != 0)
		die("cry_sign1_tbs", rc);
	if ((rc = cry_key_spki(b->issuer, spki, sizeof(spki), &spki_len)) != 0)
		die("cry_key_spki", rc);
	b->pkey = d2i_PUBKEY(NULL, &sp, (long)spki_len);
	if (b->pkey == NULL)
		die("d2i_PUBKEY", -1);
	if (alg == CRY_ALG_ES256) {
		b->md = EVP_sha256();
		ecdsa_der(s.sig, b->sig, sizeof(b->sig), &b->sig_len);
	} else {
		memcpy(b->sig, s.sig, s.sig_len);
		b->sig_len = s.sig_len;
	}

	/* (b): the issuer's public key, parsed once as a verifier caches it */
	if ((rc = cry_key_from_spki(spki, spki_len, &b->cached, NULL)) != 0)
		die("cry_key_from_spki", rc);

	/* (c) */
	b->trust = proto_trust_new();
	if (b->trust == NULL)
		die("proto_trust_new", MRX_ENOMEM);
	if ((rc = cry_key_spki(b->root, spki, sizeof(spki), &spki_len)) != 0 ||
	    (rc = cry_key_from_spki(spki, spki_len, &rootpub, NULL)) != 0 ||
	    (rc = proto_trust_add_root(b->trust, "jp.cao", rootpub, NULL)) != 0)
		die("root", rc);
	if ((rc = proto_trust_add(b->trust, b->deleg, b->deleg_len, BENCH_NOW,
	    60, NULL)) != 0)
		die("proto_trust_add(delegation)", rc);
	if ((rc = proto_trust_add(b->trust, b->status, b->status_len,
	    BENCH_NOW, 60, NULL)) != 0)
		die("proto_trust_add(status list)", rc);
	proto_policy_default(&b->pol);
	b->req.record = b->clr;
	b->req.record_len = b->clr_len;
	b->req.access = LEVEL;
	b->req.at = BENCH_NOW;
	b->req.now = BENCH_NOW;
}

static void
release(struct bench *b)
{
	proto_trust_free(b->trust);
	cry_key_free(b->cached);
	cry_key_free(b->root);
	cry_key_free(b->issuer);
	EVP_PKEY_free(b->pkey);
	free(b->tbs);
	free(b->deleg);
	free(b->status);
	free(b->clr);
}

/* ---- the three operations; each returns true on success ---- */

static bool
op_raw(const struct bench *b)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok;

	ok = ctx != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, b->md, NULL, b->pkey) == 1 &&
	    EVP_DigestVerify(ctx, b->sig, b->sig_len, b->tbs, b->tbs_len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static bool
op_mrx(const struct bench *b)
{
	struct proto_record rec;
	int rc;

	rc = proto_record_decode(b->clr, b->clr_len, &rec, NULL);
	if (rc == 0)
		rc = cry_sign1_verify(&rec.env, b->cached, NULL, 0, NULL);
	proto_record_fini(&rec);
	return rc == 0;
}

static bool
op_decide(const struct bench *b)
{
	struct proto_decision d;

	return proto_decide(b->trust, &b->req, &b->pol, &d) == 0 &&
	    d.verdict == PROTO_ACCEPT;
}

static bool
run_op(const struct bench *b, int op)
{
	switch (op) {
	case OP_RAW:
		return op_raw(b);
	case OP_MRX:
		return op_mrx(b);
	default:
		return op_decide(b);
	}
}

/* Runs `op` for about `seconds`; adds the operations and time to *n, *t. */
static void
measure(const struct bench *b, int op, double seconds, uint64_t *n,
    double *t)
{
	double t0 = now_s(), dt;
	uint64_t k = 0;
	int i;

	do {
		for (i = 0; i < BENCH_BATCH; i++)
			if (!run_op(b, op)) {
				fprintf(stderr, "bench_verify: %s %s failed\n",
				    b->alg_name, op_label[op]);
				exit(1);
			}
		k += BENCH_BATCH;
		dt = now_s() - t0;
	} while (dt < seconds);
	*n += k;
	*t += dt;
}

/* One round: each operation about `seconds`, in alternating slices. */
static void
round_run(struct bench *b, int r, double seconds, double slice_s)
{
	uint64_t n[OP_COUNT] = { 0 };
	double t[OP_COUNT] = { 0 };
	int k, op;

	while (t[0] < seconds || t[1] < seconds || t[2] < seconds)
		for (k = 0; k < OP_COUNT; k++) {
			op = (k + r) % OP_COUNT;
			measure(b, op, slice_s, &n[op], &t[op]);
		}
	for (op = 0; op < OP_COUNT; op++)
		b->ops[op][r] = (double)n[op] / t[op];
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(const double *v, int n)
{
	double s[BENCH_ROUNDS_MAX];

	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Median over rounds of ops[num][r] / ops[OP_RAW][r]. */
static double
ratio(const struct bench *b, int num, int rounds)
{
	double r[BENCH_ROUNDS_MAX];
	int i;

	for (i = 0; i < rounds; i++)
		r[i] = b->ops[num][i] / b->ops[OP_RAW][i];
	return median(r, rounds);
}

static void
print_json(struct bench *bs, int nb, int rounds, double seconds,
    double slice_ms, bool pass)
{
	int i, op, r;

	printf("{\"bench\":\"verify\",\"rounds\":%d,\"seconds_per_run\":%.2f,"
	    "\"slice_ms\":%.0f,\"clock\":\"%s\",\"target_mrx_over_raw\":%.2f,"
	    "\"results\":[", rounds, seconds, slice_ms,
	    bench_clock == CLOCK_MONOTONIC ? "wall" : "thread-cpu",
	    BENCH_TARGET);
	for (i = 0; i < nb; i++) {
		struct bench *b = &bs[i];

		printf("%s{\"alg\":\"%s\",\"clearance_bytes\":%zu,"
		    "\"raw_ops_s\":%.0f,\"mrx_ops_s\":%.0f,"
		    "\"decide_ops_s\":%.0f,\"mrx_over_raw\":%.4f,"
		    "\"decide_over_raw\":%.4f,\"per_round\":[", i ? "," : "",
		    b->alg_name, b->clr_len, median(b->ops[OP_RAW], rounds),
		    median(b->ops[OP_MRX], rounds),
		    median(b->ops[OP_DECIDE], rounds), ratio(b, OP_MRX, rounds),
		    ratio(b, OP_DECIDE, rounds));
		for (r = 0; r < rounds; r++) {
			printf("%s[", r ? "," : "");
			for (op = 0; op < OP_COUNT; op++)
				printf("%s%.0f", op ? "," : "", b->ops[op][r]);
			printf("]");
		}
		printf("]}");
	}
	printf("],\"pass\":%s}\n", pass ? "true" : "false");
}

/* --only: N operations of one kind, for a profiler. */
static int
run_only(const char *only, const char *alg_s, long count)
{
	static const char *const names[OP_COUNT] = { "raw", "mrx", "decide" };
	struct bench b;
	enum cry_alg alg;
	long i;
	int op;

	for (op = 0; op < OP_COUNT; op++)
		if (strcmp(only, names[op]) == 0)
			break;
	if (op == OP_COUNT || cry_alg_parse(alg_s, &alg) != 0 || count < 1)
		return 2;
	prepare(&b, alg);
	for (i = 0; i < count; i++)
		if (!run_op(&b, op)) {
			fprintf(stderr, "bench_verify: %s failed\n", only);
			return 1;
		}
	printf("%s %s: %ld operations\n", b.alg_name, op_label[op], count);
	release(&b);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_verify [--seconds S] [--rounds N] "
	    "[--wall] [--strict]\n"
	    "       bench_verify --only raw|mrx|decide [--alg eddsa|es256] "
	    "[--count N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const enum cry_alg algs[] = { CRY_ALG_EDDSA, CRY_ALG_ES256 };
	struct bench *bs;
	double seconds = BENCH_SECONDS_DEFAULT;
	double slice_ms = BENCH_SLICE_MS_DEFAULT;
	double mo, wt;
	uint64_t wn;
	int rounds = BENCH_ROUNDS_DEFAULT, nb = 2, i, r, op;
	bool strict = false, pass = true;
	const char *only = NULL, *alg_s = "eddsa";
	long count = 20000;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--strict") == 0)
			strict = true;
		else if (strcmp(argv[i], "--slice-ms") == 0 && i + 1 < argc)
			slice_ms = atof(argv[++i]);
		else if (strcmp(argv[i], "--wall") == 0)
			bench_clock = CLOCK_MONOTONIC;
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
		else if (strcmp(argv[i], "--alg") == 0 && i + 1 < argc)
			alg_s = argv[++i];
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = atol(argv[++i]);
		else
			usage();
	}
	if (seconds <= 0 || seconds > 60 || rounds < 1 ||
	    rounds > BENCH_ROUNDS_MAX || slice_ms < 1 ||
	    slice_ms > 1000 * seconds)
		usage();
	if (only != NULL) {
		i = run_only(only, alg_s, count);
		if (i == 2)
			usage();
		return i;
	}
	bs = calloc((size_t)nb, sizeof(*bs));
	if (bs == NULL)
		die("calloc", MRX_ENOMEM);
	for (i = 0; i < nb; i++) {
		prepare(&bs[i], algs[i]);
		for (op = 0; op < OP_COUNT; op++) {	/* warm up */
			wn = 0;
			wt = 0;
			measure(&bs[i], op, seconds / 5, &wn, &wt);
		}
	}
	printf("bench_verify: %d rounds x %.1f s (%s) per operation, in "
	    "alternating %.0f ms slices; medians\n", rounds, seconds,
	    bench_clock == CLOCK_MONOTONIC ? "wall clock" : "thread CPU time",
	    slice_ms);
	for (r = 0; r < rounds; r++)
		for (i = 0; i < nb; i++)
			round_run(&bs[i], r, seconds, slice_ms / 1000);

	printf("\n%-6s %6s | %-23s | %-23s | %-23s | %7s %7s\n", "alg",
	    "bytes", op_label[0], op_label[1], op_label[2], "(b)/(a)",
	    "(c)/(a)");
	for (i = 0; i < nb; i++) {
		struct bench *b = &bs[i];

		printf("%-6s %6zu |", b->alg_name, b->clr_len);
		for (op = 0; op < OP_COUNT; op++) {
			double m = median(b->ops[op], rounds);

			printf(" %8.0f ops/s %6.2f us |", m, 1e6 / m);
		}
		mo = ratio(b, OP_MRX, rounds);
		printf(" %7.3f %7.3f\n", mo, ratio(b, OP_DECIDE, rounds));
		if (mo < BENCH_TARGET)
			pass = false;
	}
	printf("\ntarget (b)/(a) >= %.2f: %s\n", BENCH_TARGET,
	    pass ? "met" : "NOT met");
	print_json(bs, nb, rounds, seconds, slice_ms, pass);
	for (i = 0; i < nb; i++)
		release(&bs[i]);
	free(bs);
	return strict && !pass ? 1 : 0;
}
