/*
 * fuzz_cose_diff.c - a differential target: mrx's COSE_Sign1 verification
 * against the COSE working group's vectors ($MRX_VECTORS/cose, read in
 * place at start-up, never copied; see its README.md).
 *
 * Ground truth, taken from the vectors and not from mrx: a vector is
 * expected to verify when it is not marked "fail", its alg is ES256 or
 * EdDSA and its key is Ed25519 or P-256. For each such vector we hold its
 * key, its external AAD, its Sig_structure (intermediates.ToBeSign_hex)
 * and its signature (read from output.cbor by the small CBOR reader
 * below, which shares no code with mrx).
 *
 * The property, for every input that mrx decodes and then verifies with
 * any vector key under any vector AAD: the input, read by the independent
 * reader, is a COSE_Sign1 whose Sig_structure ["Signature1", protected,
 * aad, payload] equals the ToBeSign bytes of an expected-to-verify vector
 * of that key and AAD, and whose signature is that vector's. So mutations
 * that leave the signed bytes alone may still verify -- the unprotected
 * header, the tag (present or not), the widths of CBOR heads, an empty
 * protected header sent as h'' or as an encoded empty map (RFC 9052 4.4;
 * sign-pass-01 is such a vector) -- and a changed payload, protected
 * header, AAD or signature never does. The one other signature allowed is
 * the ECDSA twin (r, n - s) of a P-256 vector, which verifies by the
 * nature of ECDSA (mrx does not demand low s; nor does RFC 9053).
 *
 * Seeding: the vectors' messages are offered to the mutator by
 * LLVMFuzzerCustomMutator() (one input in 8 starts again from a vector),
 * so no vector file is ever written into a corpus. At start-up every
 * vector is checked once as it is (expected ones must verify). Without
 * $MRX_VECTORS/cose the target prints why and exits 77 (skipped).
 * Inputs over FUZZ_DIFF_MAX bytes are ignored.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cose.h"
#include "fuzzkit.h"
#include "key.h"

#define FUZZ_DIFF_MAX 4096
#define VEC_MAX 64
#define KEYS_MAX 16
#define AADS_MAX 8
#define BYTES_MAX 1024

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
    unsigned int seed);

struct bytes {
	uint8_t b[BYTES_MAX];
	size_t n;
};

struct vec {
	char name[128];
	struct bytes msg;	/* output.cbor */
	struct bytes tbs;	/* intermediates.ToBeSign_hex */
	struct bytes sig;	/* the signature in msg (independent reader) */
	int key;		/* index in keys[], -1 if not buildable */
	int aad;		/* index in aads[] */
	bool expect_ok;		/* expected to verify */
};

static struct vec *vecs;
static size_t nvecs;
static struct cry_key *keys[KEYS_MAX];
static uint8_t spki[KEYS_MAX][CRY_SPKI_MAX];
static size_t spki_len[KEYS_MAX];
static bool key_p256[KEYS_MAX];
static size_t nkeys;
static struct bytes aads[AADS_MAX];
static size_t naads;

/* ---- an independent, minimal CBOR reader (definite lengths only) ---- */

struct rd {
	const uint8_t *p;
	size_t n, off;
};

/* One head: major type and argument; false if malformed or truncated. */
static bool
head(struct rd *r, unsigned *major, uint64_t *arg)
{
	unsigned ai, k, len;
	uint64_t v = 0;

	if (r->off >= r->n)
		return false;
	*major = r->p[r->off] >> 5;
	ai = r->p[r->off] & 0x1f;
	r->off++;
	if (ai < 24) {
		*arg = ai;
		return true;
	}
	if (ai > 27)
		return false;	/* reserved, or indefinite (31) */
	len = 1u << (ai - 24);
	if (r->n - r->off < len)
		return false;
	for (k = 0; k < len; k++)
		v = (v << 8) | r->p[r->off + k];
	r->off += len;
	*arg = v;
	return true;
}

static bool
skip(struct rd *r, int depth)
{
	unsigned major;
	uint64_t arg, i;

	if (depth > 32 || !head(r, &major, &arg))
		return false;
	switch (major) {
	case 2:
	case 3:
		if (arg > r->n - r->off)
			return false;
		r->off += (size_t)arg;
		return true;
	case 4:
	case 5:
		for (i = 0; i < (major == 5 ? 2 * arg : arg); i++)
			if (!skip(r, depth + 1))
				return false;
		return true;
	case 6:
		return skip(r, depth + 1);
	default:
		return true;	/* ints; simple values and floats */
	}
}

/* A byte string: its content. */
static bool
bstr(struct rd *r, const uint8_t **p, size_t *n)
{
	unsigned major;
	uint64_t arg;

	if (!head(r, &major, &arg) || major != 2 || arg > r->n - r->off)
		return false;
	*p = r->p + r->off;
	*n = (size_t)arg;
	r->off += (size_t)arg;
	return true;
}

/* The parts of a COSE_Sign1 that are signed or are the signature. */
struct parts {
	const uint8_t *prot, *payload, *sig;
	size_t prot_len, payload_len, sig_len;
};

static bool
read_sign1(const uint8_t *m, size_t n, struct parts *out)
{
	struct rd r = { m, n, 0 };
	unsigned major;
	uint64_t arg;

	if (!head(&r, &major, &arg))
		return false;
	if (major == 6) {
		if (arg != 18 || !head(&r, &major, &arg))
			return false;
	}
	if (major != 4 || arg != 4)
		return false;
	if (!bstr(&r, &out->prot, &out->prot_len))
		return false;
	if (!skip(&r, 0))	/* unprotected: not signed */
		return false;
	if (!bstr(&r, &out->payload, &out->payload_len) ||
	    !bstr(&r, &out->sig, &out->sig_len))
		return false;
	return r.off == n;
}

/* True if the protected bytes encode a map with no entries. */
static bool
empty_map(const uint8_t *p, size_t n)
{
	struct rd r = { p, n, 0 };
	unsigned major;
	uint64_t arg;

	return n > 0 && head(&r, &major, &arg) && major == 5 && arg == 0 &&
	    r.off == n;
}

static void
put_head(struct bytes *o, unsigned major, uint64_t v)
{
	int k, len;

	if (v < 24) {
		o->b[o->n++] = (uint8_t)(major << 5 | v);
		return;
	}
	len = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffu ? 4 : 8;
	o->b[o->n++] = (uint8_t)(major << 5 | (len == 1 ? 24 : len == 2 ? 25 :
	    len == 4 ? 26 : 27));
	for (k = len - 1; k >= 0; k--)
		o->b[o->n++] = (uint8_t)(v >> (8 * k));
}

/* ["Signature1", protected, aad, payload]; false if it does not fit. */
static bool
sig_structure(const struct parts *s, const struct bytes *aad,
    struct bytes *o)
{
	size_t prot_len = empty_map(s->prot, s->prot_len) ? 0 : s->prot_len;

	if (prot_len + aad->n + s->payload_len + 40 > BYTES_MAX)
		return false;
	o->n = 0;
	put_head(o, 4, 4);
	put_head(o, 3, 10);
	memcpy(o->b + o->n, "Signature1", 10);
	o->n += 10;
	put_head(o, 2, prot_len);
	memcpy(o->b + o->n, s->prot, prot_len);
	o->n += prot_len;
	put_head(o, 2, aad->n);
	memcpy(o->b + o->n, aad->b, aad->n);
	o->n += aad->n;
	put_head(o, 2, s->payload_len);
	memcpy(o->b + o->n, s->payload, s->payload_len);
	o->n += s->payload_len;
	return true;
}

/* (r, n - s) of a P-256 signature r || s, 32 bytes each. */
static void
ecdsa_twin(const uint8_t *sig, uint8_t *out)
{
	static const uint8_t order[32] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
		0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
	};
	int i, borrow = 0, d;

	memcpy(out, sig, 32);
	for (i = 31; i >= 0; i--) {
		d = order[i] - sig[32 + i] - borrow;
		borrow = d < 0;
		out[32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
}

/* ---- loading the vectors ---- */

static bool
hex_to(const char *s, struct bytes *o)
{
	size_t n = s != NULL ? strlen(s) : 0, i;
	unsigned v;

	if (s == NULL || n % 2 != 0 || n / 2 > BYTES_MAX)
		return false;
	for (i = 0; i < n / 2; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return false;
		o->b[i] = (uint8_t)v;
	}
	o->n = n / 2;
	return true;
}

static int
b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-' || c == '+')
		return 62;
	if (c == '_' || c == '/')
		return 63;
	return -1;
}

static bool
b64_to(const char *s, struct bytes *o)
{
	uint32_t acc = 0;
	int bits = 0, v;

	o->n = 0;
	for (; *s != '\0' && *s != '='; s++) {
		if ((v = b64_val(*s)) < 0)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o->n == BYTES_MAX)
				return false;
			o->b[o->n++] = (uint8_t)(acc >> bits);
		}
	}
	return true;
}

/* A JWK member: base64url `name`, or hex `name`_hex; empty if absent. */
static bool
jwk_part(json_t *jwk, const char *name, struct bytes *o)
{
	char hexname[16];
	json_t *v = json_object_get(jwk, name);

	o->n = 0;
	if (json_is_string(v))
		return b64_to(json_string_value(v), o);
	snprintf(hexname, sizeof(hexname), "%s_hex", name);
	v = json_object_get(jwk, hexname);
	if (json_is_string(v))
		return hex_to(json_string_value(v), o);
	return true;
}

/* The public key of a JWK, shared among vectors; -1 if we cannot hold it. */
static int
key_index(json_t *jwk)
{
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	struct bytes x, y;
	struct cry_key *k = NULL;
	uint8_t der[CRY_SPKI_MAX];
	size_t len, i;
	bool p256;

	if (crv == NULL || (strcmp(crv, "Ed25519") != 0 &&
	    strcmp(crv, "P-256") != 0))
		return -1;
	p256 = strcmp(crv, "P-256") == 0;
	if (!jwk_part(jwk, "x", &x) || !jwk_part(jwk, "y", &y) ||
	    cry_key_from_raw(p256 ? CRY_ALG_ES256 : CRY_ALG_EDDSA, x.b, x.n,
	    p256 ? y.b : NULL, p256 ? y.n : 0, NULL, 0, &k) != 0)
		return -1;
	FUZZ_CHECK(cry_key_spki(k, der, sizeof(der), &len) == 0, "spki");
	for (i = 0; i < nkeys; i++)
		if (spki_len[i] == len && memcmp(spki[i], der, len) == 0) {
			cry_key_free(k);
			return (int)i;
		}
	FUZZ_CHECK(nkeys < KEYS_MAX, "too many vector keys");
	keys[nkeys] = k;
	memcpy(spki[nkeys], der, len);
	spki_len[nkeys] = len;
	key_p256[nkeys] = p256;
	return (int)nkeys++;
}

static int
aad_index(const struct bytes *a)
{
	size_t i;

	for (i = 0; i < naads; i++)
		if (aads[i].n == a->n && memcmp(aads[i].b, a->b, a->n) == 0)
			return (int)i;
	FUZZ_CHECK(naads < AADS_MAX, "too many vector AADs");
	aads[naads] = *a;
	return (int)naads++;
}

static void
vec_load(const char *path, const char *name)
{
	struct vec *v = &vecs[nvecs];
	json_t *root, *sign0, *ext;
	json_error_t err;
	struct parts p;
	struct bytes aad;
	const char *alg;

	root = json_load_file(path, 0, &err);
	FUZZ_CHECK(root != NULL, "%s: %s", path, err.text);
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	sign0 = json_object_get(json_object_get(root, "input"), "sign0");
	FUZZ_CHECK(sign0 != NULL, "%s: no input.sign0", name);
	FUZZ_CHECK(hex_to(json_string_value(json_object_get(json_object_get(
	    root, "output"), "cbor")), &v->msg), "%s: output.cbor", name);
	FUZZ_CHECK(hex_to(json_string_value(json_object_get(json_object_get(
	    root, "intermediates"), "ToBeSign_hex")), &v->tbs),
	    "%s: ToBeSign_hex", name);
	ext = json_object_get(sign0, "external");
	aad.n = 0;
	FUZZ_CHECK(ext == NULL || hex_to(json_string_value(ext), &aad),
	    "%s: external", name);
	v->aad = aad_index(&aad);
	v->key = key_index(json_object_get(sign0, "key"));
	alg = json_string_value(json_object_get(sign0, "alg"));
	v->expect_ok = !json_is_true(json_object_get(root, "fail")) &&
	    v->key >= 0 && alg != NULL && (strcmp(alg, "ES256") == 0 ||
	    strcmp(alg, "EdDSA") == 0);
	if (v->expect_ok) {
		FUZZ_CHECK(read_sign1(v->msg.b, v->msg.n, &p) &&
		    p.sig_len <= BYTES_MAX, "%s: not a COSE_Sign1", name);
		memcpy(v->sig.b, p.sig, p.sig_len);
		v->sig.n = p.sig_len;
	}
	json_decref(root);
	nvecs++;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct vec *)a)->name,
	    ((const struct vec *)b)->name);
}

static void
scan(const char *top)
{
	char sub[1024], path[2048], name[300];
	struct dirent *de, *fe;
	DIR *d, *f;
	size_t l;

	d = opendir(top);
	FUZZ_CHECK(d != NULL, "cannot read %s", top);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", top, de->d_name);
		if ((f = opendir(sub)) == NULL)
			continue;
		while ((fe = readdir(f)) != NULL && nvecs < VEC_MAX) {
			l = strlen(fe->d_name);
			if (l < 6 || strcmp(fe->d_name + l - 5, ".json") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", sub, fe->d_name);
			snprintf(name, sizeof(name), "%s/%s", de->d_name,
			    fe->d_name);
			vec_load(path, name);
		}
		closedir(f);
	}
	closedir(d);
	qsort(vecs, nvecs, sizeof(*vecs), cmp_name);
}

/* ---- the property ---- */

/* Some expected vector of key k and AAD a signed exactly this. */
static bool
known(size_t k, size_t a, const struct bytes *tbs, const struct parts *p)
{
	uint8_t twin[64];
	size_t i;

	for (i = 0; i < nvecs; i++) {
		const struct vec *v = &vecs[i];

		if (!v->expect_ok || v->key != (int)k || v->aad != (int)a ||
		    v->tbs.n != tbs->n || memcmp(v->tbs.b, tbs->b, tbs->n) != 0)
			continue;
		if (p->sig_len == v->sig.n && memcmp(p->sig, v->sig.b,
		    v->sig.n) == 0)
			return true;
		if (key_p256[k] && v->sig.n == 64 && p->sig_len == 64) {
			ecdsa_twin(v->sig.b, twin);
			if (memcmp(p->sig, twin, 64) == 0)
				return true;
		}
	}
	return false;
}

/* Every (key, AAD) that verifies `m` must be a known signing. */
static void
check(const uint8_t *m, size_t n)
{
	struct cry_sign1 s;
	struct parts p;
	struct bytes *tbs;
	size_t k, a;

	if (cry_sign1_decode(m, n, &s, NULL) != 0)
		return;
	tbs = malloc(sizeof(*tbs));
	FUZZ_CHECK(tbs != NULL, "out of memory");
	for (k = 0; k < nkeys; k++) {
		for (a = 0; a < naads; a++) {
			if (cry_sign1_verify(&s, keys[k], aads[a].n > 0 ?
			    aads[a].b : NULL, aads[a].n, NULL) != 0)
				continue;
			FUZZ_CHECK(read_sign1(m, n, &p), "mrx verified %zu bytes "
			    "that are no COSE_Sign1 to an independent reader",
			    n);
			FUZZ_CHECK(sig_structure(&p, &aads[a], tbs),
			    "an accepted Sig_structure over %d bytes", BYTES_MAX);
			FUZZ_CHECK(known(k, a, tbs, &p), "mrx verified, with "
			    "vector key %zu and AAD %zu, signed bytes or a "
			    "signature that no vector has", k, a);
		}
	}
	free(tbs);
}

/* The vectors as they are: each expected one verifies with its key. */
static void
self_test(void)
{
	struct cry_sign1 s;
	size_t i;

	for (i = 0; i < nvecs; i++) {
		const struct vec *v = &vecs[i];

		check(v->msg.b, v->msg.n);
		if (!v->expect_ok)
			continue;
		FUZZ_CHECK(cry_sign1_decode(v->msg.b, v->msg.n, &s, NULL) == 0 &&
		    cry_sign1_verify(&s, keys[v->key], aads[v->aad].n > 0 ?
		    aads[v->aad].b : NULL, aads[v->aad].n, NULL) == 0,
		    "vector %s is expected to verify and does not", v->name);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *env = getenv("MRX_VECTORS");
	char top[1024];
	struct stat st;
	size_t i, expected = 0;

	(void)argc;
	(void)argv;
	snprintf(top, sizeof(top), "%s/cose", env != NULL ? env : "");
	if (env == NULL || env[0] == '\0' || stat(top, &st) != 0 ||
	    !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "fuzz_cose_diff: no vectors at '%s' (set "
		    "MRX_VECTORS): skipped\n", top);
		exit(77);
	}
	vecs = calloc(VEC_MAX, sizeof(*vecs));
	FUZZ_CHECK(vecs != NULL, "out of memory");
	scan(top);
	for (i = 0; i < nvecs; i++)
		expected += vecs[i].expect_ok;
	FUZZ_CHECK(expected > 0, "no vector in %s is expected to verify", top);
	self_test();
	fprintf(stderr, "fuzz_cose_diff: %zu vectors (%zu expected to verify), "
	    "%zu keys, %zu AADs\n", nvecs, expected, nkeys, naads);
	return 0;
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
    unsigned int seed)
{
	const struct vec *v;

	if (nvecs > 0 && (size == 0 || seed % 8 == 0)) {
		v = &vecs[(seed / 8) % nvecs];
		if (v->msg.n <= max_size) {
			memcpy(data, v->msg.b, v->msg.n);
			size = v->msg.n;
		}
	}
	return LLVMFuzzerMutate(data, size, max_size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_DIFF_MAX)
		return 0;
	check(data, size);
	return 0;
}
