/*
 * test_cose_vectors.c - COSE_Sign1 against the COSE working group's
 * examples, and COSE_Sign1/COSE_Sign edge cases (crypto/cose.h).
 *
 * The examples are read in place from $MRX_VECTORS/cose (never copied into
 * the project); what each must give is the table in its README.md: pass
 * files verify and their Sig_structure is intermediates.ToBeSign_hex, fail
 * files are rejected (each with the code its "failures" entry implies),
 * Ed448 / ES384 / ES512 / ES256-with-SHA-512 are MRX_EUNSUPPORTED, and
 * CWT/A_3 verifies and its claims decode. Without $MRX_VECTORS the vector
 * tests are skipped and the program exits 77, so that meson reports SKIP,
 * not OK.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "cbor.h"
#include "cose.h"
#include "key.h"

#define VEC_FILES_MAX 64
#define BUF_MAX 4096

enum expect {
	EXPECT_PASS,
	EXPECT_FAIL,
	EXPECT_UNSUPPORTED,
};

/* Files the README says must come out MRX_EUNSUPPORTED. */
static const char *const unsupported[] = {
	"eddsa-examples/eddsa-sig-02.json",	/* Ed448 */
	"ecdsa-examples/ecdsa-sig-02.json",	/* ES384 */
	"ecdsa-examples/ecdsa-sig-03.json",	/* ES512 */
	"ecdsa-examples/ecdsa-sig-04.json",	/* ES512 alg, P-256 key */
};

/* Files the README names; all must be found. */
static const char *const required[] = {
	"sign1-tests/sign-pass-01.json", "sign1-tests/sign-pass-02.json",
	"sign1-tests/sign-pass-03.json", "sign1-tests/sign-fail-01.json",
	"sign1-tests/sign-fail-02.json", "sign1-tests/sign-fail-03.json",
	"sign1-tests/sign-fail-04.json", "sign1-tests/sign-fail-06.json",
	"sign1-tests/sign-fail-07.json", "eddsa-examples/eddsa-sig-01.json",
	"eddsa-examples/eddsa-sig-02.json", "ecdsa-examples/ecdsa-sig-01.json",
	"ecdsa-examples/ecdsa-sig-02.json", "ecdsa-examples/ecdsa-sig-03.json",
	"ecdsa-examples/ecdsa-sig-04.json", "CWT/A_3.json",
};

struct vecset {
	char dir[512];
	char rel[VEC_FILES_MAX][128];	/* paths under dir, sorted */
	size_t n;
};

static struct vecset *vecs;	/* NULL when $MRX_VECTORS is missing */
static bool vectors_found;	/* outlives vecs, for the exit status */

static int
cmp_rel(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
scan_dir(struct vecset *v, const char *sub)
{
	char path[1200];
	struct dirent *de;
	struct stat st;
	DIR *d;
	size_t l;

	snprintf(path, sizeof(path), "%s%s%s", v->dir, sub[0] ? "/" : "", sub);
	d = opendir(path);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s%s%s", v->dir, sub,
		    sub[0] ? "/" : "", de->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode) && sub[0] == '\0') {
			scan_dir(v, de->d_name);
			continue;
		}
		l = strlen(de->d_name);
		if (!S_ISREG(st.st_mode) || l < 5 ||
		    strcmp(de->d_name + l - 5, ".json") != 0 ||
		    v->n == VEC_FILES_MAX)
			continue;
		snprintf(v->rel[v->n++], sizeof(v->rel[0]), "%s%s%s", sub,
		    sub[0] ? "/" : "", de->d_name);
	}
	closedir(d);
}

static int
group_setup(void **state)
{
	const char *env = getenv("MRX_VECTORS");
	struct stat st;

	(void)state;
	vecs = NULL;
	if (env == NULL || env[0] == '\0')
		return 0;
	vecs = calloc(1, sizeof(*vecs));
	if (vecs == NULL)
		return -1;
	snprintf(vecs->dir, sizeof(vecs->dir), "%s/cose", env);
	if (stat(vecs->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		free(vecs);
		vecs = NULL;
		return 0;
	}
	scan_dir(vecs, "");
	vectors_found = true;
	qsort(vecs->rel, vecs->n, sizeof(vecs->rel[0]), cmp_rel);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	free(vecs);
	return 0;
}

static size_t
hex_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s), i;
	unsigned v;

	assert_int_equal(n % 2, 0);
	assert_true(n / 2 <= cap);
	for (i = 0; i < n / 2; i++) {
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n / 2;
}

static int
b64url_val(char c)
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

static size_t
b64url_decode(const char *s, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t n = 0;
	int bits = 0, v;

	for (; *s != '\0' && *s != '='; s++) {
		v = b64url_val(*s);
		assert_true(v >= 0);
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			assert_true(n < cap);
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n;
}

/* A JWK component: `name` base64url or `name`_hex; 0 if absent. */
static size_t
jwk_part(json_t *jwk, const char *name, uint8_t *out, size_t cap)
{
	char hexname[16];
	json_t *v;

	v = json_object_get(jwk, name);
	if (json_is_string(v))
		return b64url_decode(json_string_value(v), out, cap);
	snprintf(hexname, sizeof(hexname), "%s_hex", name);
	v = json_object_get(jwk, hexname);
	if (json_is_string(v))
		return hex_decode(json_string_value(v), out, cap);
	return 0;
}

/* Builds the key of a vector; with_private false drops d. */
static int
jwk_key(json_t *jwk, bool with_private, struct cry_key **out)
{
	uint8_t x[80], y[80], d[80];
	size_t xl, yl, dl;
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	enum cry_alg alg;

	assert_non_null(kty);
	alg = strcmp(kty, "OKP") == 0 ? CRY_ALG_EDDSA : CRY_ALG_ES256;
	xl = jwk_part(jwk, "x", x, sizeof(x));
	yl = jwk_part(jwk, "y", y, sizeof(y));
	dl = with_private ? jwk_part(jwk, "d", d, sizeof(d)) : 0;
	return cry_key_from_raw(alg, x, xl, yl ? y : NULL, yl, dl ? d : NULL,
	    dl, out);
}

struct vector {
	json_t *root;
	json_t *sign0;
	uint8_t msg[BUF_MAX];
	size_t msg_len;
	uint8_t aad[256];
	size_t aad_len;
	enum expect expect;
};

static void
vector_load(const char *rel, struct vector *v)
{
	char path[1200];
	json_error_t err;
	json_t *fail, *ext;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", vecs->dir, rel);
	v->root = json_load_file(path, 0, &err);
	if (v->root == NULL)
		fail_msg("%s: %s", path, err.text);
	v->sign0 = json_object_get(json_object_get(v->root, "input"),
	    "sign0");
	assert_non_null(v->sign0);
	v->msg_len = hex_decode(json_string_value(json_object_get(
	    json_object_get(v->root, "output"), "cbor")), v->msg,
	    sizeof(v->msg));
	ext = json_object_get(v->sign0, "external");
	v->aad_len = json_is_string(ext) ? hex_decode(json_string_value(ext),
	    v->aad, sizeof(v->aad)) : 0;
	fail = json_object_get(v->root, "fail");
	v->expect = json_is_true(fail) ? EXPECT_FAIL : EXPECT_PASS;
	for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (strcmp(rel, unsupported[i]) == 0)
			v->expect = EXPECT_UNSUPPORTED;
}

/* RFC 8392 A.3: the claims of the CWT in the payload. */
static void
check_cwt_claims(const struct cry_sign1 *s)
{
	struct cry_cbor_rd rd;
	struct cry_cbor_item it, val;
	int seen = 0;
	uint64_t i;

	cry_cbor_rd_init(&rd, s->payload, s->payload_len);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_int_equal(it.type, CRY_CBOR_MAP);
	assert_int_equal(it.val, 7);
	for (i = 0; i < 7; i++) {
		assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
		assert_int_equal(it.type, CRY_CBOR_UINT);
		assert_int_equal(cry_cbor_next(&rd, &val, NULL), 0);
		assert_true(val.shortest);
		switch (it.val) {
		case 1:
			assert_int_equal(val.type, CRY_CBOR_TSTR);
			assert_memory_equal(val.ptr, "coap://as.example.com",
			    val.val);
			break;
		case 2:
			assert_int_equal(val.type, CRY_CBOR_TSTR);
			assert_memory_equal(val.ptr, "erikw", val.val);
			break;
		case 3:
			assert_int_equal(val.type, CRY_CBOR_TSTR);
			assert_memory_equal(val.ptr,
			    "coap://light.example.com", val.val);
			break;
		case 4:
			assert_true(val.type == CRY_CBOR_UINT &&
			    val.val == 1444064944);
			break;
		case 5:
		case 6:
			assert_true(val.type == CRY_CBOR_UINT &&
			    val.val == 1443944944);
			break;
		case 7:
			assert_true(val.type == CRY_CBOR_BSTR &&
			    val.val == 2);
			assert_memory_equal(val.ptr, "\x0b\x71", 2);
			break;
		default:
			fail_msg("unexpected claim %llu",
			    (unsigned long long)it.val);
		}
		seen |= 1 << it.val;
	}
	assert_int_equal(seen, 0xfe);
	assert_true(cry_cbor_rd_done(&rd));
}

static void
run_pass(const char *rel, struct vector *v)
{
	uint8_t tbs[BUF_MAX], want[BUF_MAX], bad_aad[257];
	struct cry_key *priv, *pub, *other;
	struct cry_sign1 s;
	struct mrx_diag d;
	size_t tbs_len, want_len;
	char buf[300];

	mrx_diag_clear(&d);
	if (cry_sign1_decode(v->msg, v->msg_len, &s, &d) != 0)
		fail_msg("%s: decode: %s", rel, mrx_diag_str(&d, buf,
		    sizeof(buf)));
	assert_int_equal(s.tagged, strstr(rel, "sign-pass-03") == NULL);
	want_len = hex_decode(json_string_value(json_object_get(
	    json_object_get(v->root, "intermediates"), "ToBeSign_hex")), want,
	    sizeof(want));
	assert_int_equal(cry_sign1_tbs(&s, v->aad_len ? v->aad : NULL,
	    v->aad_len, tbs, sizeof(tbs), &tbs_len), 0);
	assert_int_equal(tbs_len, want_len);
	assert_memory_equal(tbs, want, want_len);

	assert_int_equal(jwk_key(json_object_get(v->sign0, "key"), true,
	    &priv), 0);
	assert_int_equal(jwk_key(json_object_get(v->sign0, "key"), false,
	    &pub), 0);
	if (cry_sign1_verify(&s, pub, v->aad_len ? v->aad : NULL, v->aad_len,
	    &d) != 0)
		fail_msg("%s: verify: %s", rel, mrx_diag_str(&d, buf,
		    sizeof(buf)));
	assert_int_equal(cry_sign1_verify(&s, priv, v->aad_len ? v->aad : NULL,
	    v->aad_len, NULL), 0);
	/* Another AAD, or another key of another type, is refused. */
	memset(bad_aad, 0x5a, sizeof(bad_aad));
	memcpy(bad_aad, v->aad, v->aad_len);
	assert_int_equal(cry_sign1_verify(&s, pub, bad_aad, v->aad_len + 1,
	    NULL), MRX_ESIG);
	assert_int_equal(cry_key_generate(cry_key_alg(pub) == CRY_ALG_EDDSA ?
	    CRY_ALG_ES256 : CRY_ALG_EDDSA, &other), 0);
	assert_int_equal(cry_sign1_verify(&s, other, v->aad_len ? v->aad :
	    NULL, v->aad_len, NULL), MRX_EALG);
	if (strstr(rel, "A_3") != NULL)
		check_cwt_claims(&s);
	cry_key_free(other);
	cry_key_free(priv);
	cry_key_free(pub);
}

/* The code a fail vector must give, from its "failures" entry. */
static int
fail_code(json_t *root, bool *at_decode)
{
	json_t *f = json_object_get(json_object_get(root, "input"),
	    "failures");

	*at_decode = false;
	if (json_object_get(f, "ChangeCBORTag") != NULL) {
		*at_decode = true;
		return MRX_EMALFORMED;
	}
	if (json_object_get(f, "ChangeAttr") != NULL)
		return MRX_EUNSUPPORTED;
	return MRX_ESIG;
}

static void
run_fail(const char *rel, struct vector *v)
{
	struct cry_key *pub;
	struct cry_sign1 s;
	struct mrx_diag d;
	bool at_decode;
	int want = fail_code(v->root, &at_decode), rc;

	mrx_diag_clear(&d);
	rc = cry_sign1_decode(v->msg, v->msg_len, &s, &d);
	if (at_decode) {
		assert_int_equal(rc, want);
		assert_int_equal(d.code, want);
		return;
	}
	if (rc != 0)
		fail_msg("%s: decode %s", rel, mrx_errname(rc));
	assert_int_equal(jwk_key(json_object_get(v->sign0, "key"), false,
	    &pub), 0);
	rc = cry_sign1_verify(&s, pub, v->aad_len ? v->aad : NULL, v->aad_len,
	    &d);
	if (rc != want)
		fail_msg("%s: got %s, want %s", rel, mrx_errname(rc),
		    mrx_errname(want));
	assert_int_equal(d.code, want);
	assert_true(d.msg[0] != '\0');
	cry_key_free(pub);
}

static void
run_unsupported(const char *rel, struct vector *v)
{
	static const enum cry_alg algs[] = { CRY_ALG_EDDSA, CRY_ALG_ES256 };
	struct cry_key *k = NULL;
	struct cry_sign1 s;
	struct mrx_diag d;
	size_t i;
	int rc;

	mrx_diag_clear(&d);
	assert_int_equal(cry_sign1_decode(v->msg, v->msg_len, &s, &d), 0);
	rc = jwk_key(json_object_get(v->sign0, "key"), true, &k);
	if (rc == 0) {
		/* A key we can hold, an alg we do not do (ES512, P-256). */
		rc = cry_sign1_verify(&s, k, NULL, 0, &d);
		assert_non_null(strstr(d.msg, "unsupported algorithm"));
		assert_non_null(strstr(d.msg, "ES512 (-36)"));
		cry_key_free(k);
	}
	if (rc != MRX_EUNSUPPORTED)
		fail_msg("%s: got %s, want EUNSUPPORTED", rel,
		    mrx_errname(rc));
	/* Whatever key is offered, it is never accepted. */
	for (i = 0; i < 2; i++) {
		assert_int_equal(cry_key_generate(algs[i], &k), 0);
		mrx_diag_clear(&d);
		assert_int_not_equal(cry_sign1_verify(&s, k, NULL, 0, &d), 0);
		if (s.hdr.alg == CRY_ALG_NONE) {
			assert_int_equal(d.code, MRX_EUNSUPPORTED);
			assert_true(strstr(d.msg, "ES384 (-35)") != NULL ||
			    strstr(d.msg, "ES512 (-36)") != NULL);
		}
		cry_key_free(k);
	}
}

static void
test_vectors(void **state)
{
	struct vector *v;
	size_t i, j, counts[3] = { 0, 0, 0 };

	(void)state;
	if (vecs == NULL)
		skip();
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		for (j = 0; j < vecs->n; j++)
			if (strcmp(vecs->rel[j], required[i]) == 0)
				break;
		if (j == vecs->n)
			fail_msg("vector %s/%s is missing", vecs->dir,
			    required[i]);
	}
	v = calloc(1, sizeof(*v));
	assert_non_null(v);
	for (i = 0; i < vecs->n; i++) {
		vector_load(vecs->rel[i], v);
		print_message("  %-36s %s\n", vecs->rel[i],
		    v->expect == EXPECT_PASS ? "verify" :
		    v->expect == EXPECT_FAIL ? "reject" : "unsupported");
		if (v->expect == EXPECT_PASS)
			run_pass(vecs->rel[i], v);
		else if (v->expect == EXPECT_FAIL)
			run_fail(vecs->rel[i], v);
		else
			run_unsupported(vecs->rel[i], v);
		counts[v->expect]++;
		json_decref(v->root);
	}
	free(v);
	assert_true(counts[EXPECT_PASS] >= 6);
	assert_true(counts[EXPECT_FAIL] >= 6);
	assert_int_equal(counts[EXPECT_UNSUPPORTED], 4);
}

/* Where the unprotected map lies: changes there are not signed. */
static void
unprot_span(const uint8_t *m, size_t n, size_t *start, size_t *end)
{
	struct cry_cbor_rd rd;
	struct cry_cbor_item it;

	cry_cbor_rd_init(&rd, m, n);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	if (it.type == CRY_CBOR_TAG)
		assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);
	assert_int_equal(cry_cbor_next(&rd, &it, NULL), 0);	/* protected */
	assert_int_equal(cry_cbor_read_span(&rd, start, end, NULL), 0);
}

/*
 * Every prefix of each vector is refused; every one-bit change of a passing
 * vector outside its unprotected header is refused.
 */
static void
test_vectors_mutated(void **state)
{
	struct vector *v;
	struct cry_key *k;
	struct cry_sign1 s;
	uint8_t *cut;
	size_t i, n, b, us, ue;
	int m;

	(void)state;
	if (vecs == NULL)
		skip();
	v = calloc(1, sizeof(*v));
	assert_non_null(v);
	for (i = 0; i < vecs->n; i++) {
		vector_load(vecs->rel[i], v);
		for (n = 0; n < v->msg_len; n++) {
			cut = malloc(n > 0 ? n : 1);
			assert_non_null(cut);
			memcpy(cut, v->msg, n);
			assert_int_not_equal(cry_sign1_decode(cut, n, &s,
			    NULL), 0);
			free(cut);
		}
		if (v->expect != EXPECT_PASS ||
		    jwk_key(json_object_get(v->sign0, "key"), false, &k) != 0) {
			json_decref(v->root);
			continue;
		}
		unprot_span(v->msg, v->msg_len, &us, &ue);
		for (b = 0; b < v->msg_len; b++) {
			for (m = 1; m < 256; m <<= 1) {
				v->msg[b] ^= (uint8_t)m;
				if (cry_sign1_decode(v->msg, v->msg_len, &s,
				    NULL) == 0 && (b < us || b >= ue))
					assert_int_not_equal(cry_sign1_verify(
					    &s, k, v->aad, v->aad_len, NULL),
					    0);
				v->msg[b] ^= (uint8_t)m;
			}
		}
		cry_key_free(k);
		json_decref(v->root);
	}
	free(v);
}

/* Builds a tagged COSE_Sign1 from raw parts, signed by `key` if not NULL. */
static size_t
build_sign1(uint8_t *out, size_t cap, uint64_t tag, const uint8_t *prot,
    size_t prot_len, const char *unprot, size_t unprot_len,
    const struct cry_key *key)
{
	uint8_t sig[CRY_SIG_LEN], tbs[512];
	struct cry_cbor_wr wr;
	struct cry_sign1 s;
	size_t len, tlen;
	int pass;

	memset(sig, 0, sizeof(sig));
	for (pass = 0; pass < 2; pass++) {
		cry_cbor_wr_init(&wr, out, cap);
		if (tag != 0)
			cry_cbor_put_tag(&wr, tag);
		cry_cbor_put_array(&wr, 4);
		cry_cbor_put_bstr(&wr, prot, prot_len);
		cry_cbor_put_raw(&wr, unprot, unprot_len);
		cry_cbor_put_bstr(&wr, "payload", 7);
		cry_cbor_put_bstr(&wr, sig, sizeof(sig));
		assert_int_equal(cry_cbor_wr_finish(&wr, &len), 0);
		if (key == NULL || pass == 1)
			break;
		/* Sign what a verifier will build (decode must succeed). */
		assert_int_equal(cry_sign1_decode(out, len, &s, NULL), 0);
		assert_int_equal(cry_sign1_tbs(&s, NULL, 0, tbs, sizeof(tbs),
		    &tlen), 0);
		assert_int_equal(cry_sign(key, tbs, tlen, sig), 0);
	}
	return len;
}

static int
decode_code(const uint8_t *m, size_t n, struct mrx_diag *d)
{
	struct cry_sign1 s;

	mrx_diag_clear(d);
	return cry_sign1_decode(m, n, &s, d);
}

static void
test_sign1_headers(void **state)
{
	uint8_t m[512];
	struct cry_key *ed, *p256;
	struct cry_sign1 s;
	struct mrx_diag d;
	size_t n;

	(void)state;
	assert_int_equal(cry_key_generate(CRY_ALG_EDDSA, &ed), 0);
	assert_int_equal(cry_key_generate(CRY_ALG_ES256, &p256), 0);

	/* Minimal good: {1: -8} and {}; also h'a0' + alg unprotected. */
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\xa1\x01\x27", 3,
	    "\xa0", 1, ed);
	assert_int_equal(cry_sign1_decode(m, n, &s, NULL), 0);
	assert_int_equal(cry_sign1_verify(&s, ed, NULL, 0, NULL), 0);
	assert_null(s.hdr.kid);
	n = build_sign1(m, sizeof(m), 0, (const uint8_t *)"\xa0", 1,
	    "\xa2\x01\x27\x04\x41\x07", 6, ed);
	assert_int_equal(cry_sign1_decode(m, n, &s, NULL), 0);
	assert_false(s.tagged);
	assert_int_equal(s.hdr.alg, CRY_ALG_EDDSA);
	assert_int_equal(s.hdr.kid_len, 1);
	assert_int_equal(s.hdr.kid[0], 7);
	assert_int_equal(cry_sign1_verify(&s, ed, NULL, 0, NULL), 0);

	/* crit listing alg is fine; listing anything else is not. */
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)
	    "\xa2\x01\x27\x02\x81\x01", 6, "\xa0", 1, ed);
	assert_int_equal(cry_sign1_decode(m, n, &s, NULL), 0);
	assert_int_equal(cry_sign1_verify(&s, ed, NULL, 0, NULL), 0);
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)
	    "\xa3\x01\x27\x02\x82\x01\x03\x03\x00", 9, "\xa0", 1, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_ECRIT);
	assert_string_equal(d.field, "protected.crit");
	assert_non_null(strstr(d.msg, "header 3"));
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)
	    "\xa2\x01\x27\x02\x81\x63xyz", 9, "\xa0", 1, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_ECRIT);
	assert_non_null(strstr(d.msg, "\"xyz\""));
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)
	    "\xa2\x01\x27\x02\x80", 5, "\xa0", 1, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_EMALFORMED);
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\xa1\x01\x27", 3,
	    "\xa1\x02\x81\x01", 4, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_EMALFORMED);
	assert_string_equal(d.field, "unprotected.crit");

	/* Duplicates, and a label in both buckets. */
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)
	    "\xa2\x01\x27\x01\x26", 5, "\xa0", 1, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_EDUP);
	assert_string_equal(d.field, "protected");
	assert_non_null(strstr(d.msg, "label 1"));
	assert_int_equal(d.offset, 6);
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\xa1\x01\x27", 3,
	    "\xa2\x63"
	    "abc\x01\x63"
	    "abc\x02",
	    11, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_EDUP);
	assert_non_null(strstr(d.msg, "\"abc\""));
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)
	    "\xa2\x01\x27\x04\x41\x01", 6, "\xa1\x04\x41\x01", 4, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_EMALFORMED);
	assert_string_equal(d.field, "unprotected");
	assert_non_null(strstr(d.msg, "label 4 is in both"));
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\xa1\x01\x27", 3,
	    "\xa1\x01\x27", 3, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_EMALFORMED);

	/* Types and limits. */
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\xa0", 1, "\xa0",
	    1, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_EMISSING);
	assert_string_equal(d.field, "protected.alg");
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\xa1\x01\xf5", 3,
	    "\xa0", 1, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_ETYPE);
	assert_string_equal(d.field, "protected.alg");
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)
	    "\xa2\x01\x27\x04\x61k", 6, "\xa0", 1, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_ETYPE);
	assert_string_equal(d.field, "protected.kid");
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\x81\x01", 2,
	    "\xa0", 1, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_ETYPE);
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\xa1\x01\x27\x00",
	    4, "\xa0", 1, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_ETRAILING);
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\xa1\x41\x01\x27",
	    4, "\xa0", 1, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_ETYPE);
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\xa1\x01\x27", 3,
	    "\xbf\x04\x41\x01\xff", 5, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_EINDEF);
	assert_string_equal(d.field, "unprotected");
	{
		uint8_t kid[80];

		memset(kid, 1, sizeof(kid));
		memcpy(kid, "\xa2\x01\x27\x04\x58\x41", 6);
		n = build_sign1(m, sizeof(m), 18, kid, 6 + 65, "\xa0", 1,
		    NULL);
		assert_int_equal(decode_code(m, n, &d), MRX_ETOOBIG);
		kid[5] = 64;
		n = build_sign1(m, sizeof(m), 18, kid, 6 + 64, "\xa0", 1,
		    NULL);
		assert_int_equal(decode_code(m, n, &d), 0);
	}
	/* At most 16 labels in a header map. */
	{
		char many[64];
		size_t i;

		many[0] = (char)0xb1;	/* map of 17 */
		for (i = 0; i < 17; i++) {
			many[1 + 2 * i] = (char)(0x05 + i);
			many[2 + 2 * i] = 0x00;
		}
		n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\xa1\x01"
		    "\x27", 3, many, 35, NULL);
		assert_int_equal(decode_code(m, n, &d), MRX_ETOOBIG);
		many[0] = (char)0xb0;	/* map of 16 */
		n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\xa1\x01"
		    "\x27", 3, many, 33, NULL);
		assert_int_equal(decode_code(m, n, &d), 0);
	}
	/* Nesting in an unknown header's value is limited. */
	{
		char deep[40];

		deep[0] = (char)0xa1;
		deep[1] = 0x20;
		memset(deep + 2, 0x81, 20);
		deep[22] = 0x00;
		n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\xa1\x01"
		    "\x27", 3, deep, 23, NULL);
		assert_int_equal(decode_code(m, n, &d), MRX_EDEPTH);
		assert_string_equal(d.field, "unprotected");
	}
	/* An unknown label, even with a nested value, is skipped. */
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)
	    "\xa2\x01\x27\x3a\x00\x01\x00\x00\x82\xa1\x01\x02\x80", 13,
	    "\xa1\x65hello\xc1\x00", 9, ed);
	assert_int_equal(cry_sign1_decode(m, n, &s, NULL), 0);
	assert_int_equal(cry_sign1_verify(&s, ed, NULL, 0, NULL), 0);

	/* Envelope shape. */
	n = build_sign1(m, sizeof(m), 17, (const uint8_t *)"\xa1\x01\x27", 3,
	    "\xa0", 1, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_EMALFORMED);
	assert_string_equal(d.field, "tag");
	assert_non_null(strstr(d.msg, "tag 17"));
	n = build_sign1(m, sizeof(m), 98, (const uint8_t *)"\xa1\x01\x27", 3,
	    "\xa0", 1, NULL);
	assert_int_equal(decode_code(m, n, &d), MRX_EMALFORMED);
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\xa1\x01\x27", 3,
	    "\xa0", 1, NULL);
	m[n] = 0;
	assert_int_equal(decode_code(m, n + 1, &d), MRX_ETRAILING);
	assert_int_equal(d.offset, n);
	m[1] = 0x83;
	assert_int_equal(decode_code(m, n, &d), MRX_EMALFORMED);
	assert_int_equal(decode_code((const uint8_t *)"\xd2\x84\x40\xa0\xf6"
	    "\x40", 6, &d), MRX_EMISSING);
	assert_int_equal(decode_code((const uint8_t *)"\xd2\x84\x43\xa1\x01"
	    "\x27\xa0\x01\x40", 9, &d), MRX_ETYPE);
	assert_string_equal(d.field, "payload");

	cry_key_free(ed);
	cry_key_free(p256);
}

static void
test_sign1_algs(void **state)
{
	uint8_t m[512];
	struct cry_key *ed, *p256;
	struct cry_sign1 s;
	struct mrx_diag d;
	size_t n;

	(void)state;
	assert_int_equal(cry_key_generate(CRY_ALG_EDDSA, &ed), 0);
	assert_int_equal(cry_key_generate(CRY_ALG_ES256, &p256), 0);

	/* EdDSA message, P-256 key: a mismatch, named. */
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\xa1\x01\x27", 3,
	    "\xa0", 1, ed);
	assert_int_equal(cry_sign1_decode(m, n, &s, NULL), 0);
	mrx_diag_clear(&d);
	assert_int_equal(cry_sign1_verify(&s, p256, NULL, 0, &d), MRX_EALG);
	assert_string_equal(d.msg, "alg EdDSA does not match the ES256 key");
	assert_string_equal(d.field, "protected.alg");

	/* ES384: decodes, never verifies. */
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\xa1\x01\x38\x22",
	    4, "\xa0", 1, NULL);
	assert_int_equal(cry_sign1_decode(m, n, &s, NULL), 0);
	assert_int_equal(s.hdr.alg, CRY_ALG_NONE);
	assert_int_equal(s.hdr.alg_raw, -35);
	mrx_diag_clear(&d);
	assert_int_equal(cry_sign1_verify(&s, p256, NULL, 0, &d),
	    MRX_EUNSUPPORTED);
	assert_string_equal(d.msg, "unsupported algorithm ES384 (-35)");

	/* A text alg, named in the message. */
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)
	    "\xa1\x01\x65\x45S256", 8, "\xa0", 1, NULL);
	assert_int_equal(cry_sign1_decode(m, n, &s, NULL), 0);
	assert_int_equal(s.hdr.alg, CRY_ALG_NONE);
	mrx_diag_clear(&d);
	assert_int_equal(cry_sign1_verify(&s, p256, NULL, 0, &d),
	    MRX_EUNSUPPORTED);
	assert_string_equal(d.msg, "unsupported algorithm \"ES256\"");

	/* Out of range and zero. */
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)
	    "\xa1\x01\x3b\xff\xff\xff\xff\xff\xff\xff\xff", 11, "\xa0", 1,
	    NULL);
	assert_int_equal(cry_sign1_decode(m, n, &s, NULL), 0);
	assert_int_equal(cry_sign1_verify(&s, ed, NULL, 0, NULL),
	    MRX_EUNSUPPORTED);
	n = build_sign1(m, sizeof(m), 18, (const uint8_t *)"\xa1\x01\x00", 3,
	    "\xa0", 1, NULL);
	assert_int_equal(cry_sign1_decode(m, n, &s, NULL), 0);
	mrx_diag_clear(&d);
	assert_int_equal(cry_sign1_verify(&s, ed, NULL, 0, &d),
	    MRX_EUNSUPPORTED);
	assert_string_equal(d.msg, "unsupported algorithm 0");

	/* Detached payload: decodes, cannot be verified here. */
	assert_int_equal(cry_sign1_decode((const uint8_t *)"\xd2\x84\x43\xa1"
	    "\x01\x27\xa0\xf6\x40", 9, &s, NULL), 0);
	assert_null(s.payload);
	assert_int_equal(cry_sign1_verify(&s, ed, NULL, 0, NULL),
	    MRX_EUNSUPPORTED);

	cry_key_free(ed);
	cry_key_free(p256);
}

static void
test_sign1_roundtrip(void **state)
{
	static const enum cry_alg algs[] = { CRY_ALG_EDDSA, CRY_ALG_ES256 };
	uint8_t *payload, *out, want[64];
	struct cry_key *k;
	struct cry_sign1 s;
	struct mrx_diag d;
	size_t sizes[] = { 0, 1, 100, 2000, 5000 }, i, j, n, need;

	(void)state;
	payload = malloc(5000);
	out = malloc(5000 + CRY_COSE_OVERHEAD);
	assert_non_null(payload);
	assert_non_null(out);
	assert_int_equal(cry_random(payload, 5000), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(cry_key_generate(algs[i], &k), 0);
		for (j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
			assert_int_equal(cry_sign1_sign(k, NULL, 0,
			    (const uint8_t *)"aad", 3, payload, sizes[j], out,
			    sizes[j] + CRY_COSE_OVERHEAD, &n), 0);
			assert_int_equal(out[0], 0xd2);
			mrx_diag_clear(&d);
			assert_int_equal(cry_sign1_decode(out, n, &s, &d), 0);
			assert_true(s.tagged);
			assert_int_equal(s.hdr.alg, algs[i]);
			assert_int_equal(s.payload_len, sizes[j]);
			assert_int_equal(s.sig_len, CRY_SIG_LEN);
			/* Protected header: {1: alg, 4: kid}, in order. */
			want[0] = 0xa2;
			want[1] = 0x01;
			want[2] = algs[i] == CRY_ALG_EDDSA ? 0x27 : 0x26;
			want[3] = 0x04;
			want[4] = 0x50;
			memcpy(want + 5, cry_key_kid(k), CRY_KID_LEN);
			assert_int_equal(s.hdr.prot_len, 5 + CRY_KID_LEN);
			assert_memory_equal(s.hdr.prot, want, 5 + CRY_KID_LEN);
			assert_memory_equal(s.hdr.kid, cry_key_kid(k),
			    CRY_KID_LEN);
			assert_int_equal(cry_sign1_verify(&s, k,
			    (const uint8_t *)"aad", 3, &d), 0);
			assert_int_equal(cry_sign1_verify(&s, k,
			    (const uint8_t *)"aae", 3, NULL), MRX_ESIG);
			assert_int_equal(cry_sign1_verify(&s, k, NULL, 0,
			    NULL), MRX_ESIG);
		}
		/* Too small: ENOSPC, and the size needed. */
		assert_int_equal(cry_sign1_sign(k, NULL, 0, NULL, 0, payload,
		    100, out, 100, &need), MRX_ENOSPC);
		assert_true(need > 100 && need <= 100 + CRY_COSE_OVERHEAD);
		assert_int_equal(cry_sign1_sign(k, NULL, 0, NULL, 0, payload,
		    100, out, need, &n), 0);
		assert_int_equal(n, need);
		/* A chosen kid, up to the limit. */
		memset(want, 9, sizeof(want));
		assert_int_equal(cry_sign1_sign(k, want, CRY_COSE_KID_MAX,
		    NULL, 0, payload, 10, out, 10 + CRY_COSE_OVERHEAD, &n), 0);
		assert_int_equal(cry_sign1_decode(out, n, &s, NULL), 0);
		assert_int_equal(s.hdr.kid_len, CRY_COSE_KID_MAX);
		assert_int_equal(cry_sign1_verify(&s, k, NULL, 0, NULL), 0);
		assert_int_equal(cry_sign1_sign(k, want, CRY_COSE_KID_MAX + 1,
		    NULL, 0, payload, 10, out, 10 + CRY_COSE_OVERHEAD, &n),
		    MRX_ETOOBIG);
		cry_key_free(k);
	}
	free(payload);
	free(out);
}

static void
test_sign_roundtrip(void **state)
{
	static const uint8_t payload[] = "agreement: JP-CESI:CONFIDENTIAL = "
					 "UK:SECRET";
	static const uint8_t seed[32] = { 1, 2, 3 };
	uint8_t m1[1024], m2[1024], m3[1024], m4[1024], bad[1024];
	struct cry_key *jp, *uk, *jp_again, *k3, *k4, *k5;
	struct cry_sign s1, s2, s;
	struct mrx_diag d;
	size_t n1, n2, n3, n4, n, i;

	(void)state;
	assert_int_equal(cry_key_from_seed(seed, &jp), 0);
	assert_int_equal(cry_key_from_seed(seed, &jp_again), 0);
	assert_int_equal(cry_key_generate(CRY_ALG_ES256, &uk), 0);
	assert_int_equal(cry_key_generate(CRY_ALG_EDDSA, &k3), 0);
	assert_int_equal(cry_key_generate(CRY_ALG_ES256, &k4), 0);
	assert_int_equal(cry_key_generate(CRY_ALG_EDDSA, &k5), 0);

	assert_int_equal(cry_sign_sign(jp, (const uint8_t *)"x", 1, payload,
	    sizeof(payload), m1, sizeof(m1), &n1), 0);
	assert_memory_equal(m1, "\xd8\x62\x84\x40\xa0", 5);
	assert_int_equal(cry_sign_decode(m1, n1, &s1, NULL), 0);
	assert_true(s1.tagged);
	assert_int_equal(s1.nsigs, 1);
	assert_int_equal(s1.body_prot_len, 0);
	assert_int_equal(cry_sign_verify(&s1, 0, jp, (const uint8_t *)"x", 1,
	    NULL), 0);

	/* A second signer; the first signature stays byte for byte. */
	mrx_diag_clear(&d);
	assert_int_equal(cry_sign_add(m1, n1, uk, (const uint8_t *)"x", 1, m2,
	    sizeof(m2), &n2, &d), 0);
	assert_int_equal(cry_sign_decode(m2, n2, &s2, NULL), 0);
	assert_int_equal(s2.nsigs, 2);
	assert_int_equal(s2.sigs[0].sig_len, CRY_SIG_LEN);
	assert_memory_equal(s2.sigs[0].sig, s1.sigs[0].sig, CRY_SIG_LEN);
	assert_memory_equal(s2.sigs[1].hdr.kid, cry_key_kid(uk), CRY_KID_LEN);
	assert_int_equal(cry_sign_verify(&s2, 0, jp, (const uint8_t *)"x", 1,
	    NULL), 0);
	assert_int_equal(cry_sign_verify(&s2, 1, uk, (const uint8_t *)"x", 1,
	    NULL), 0);
	/* Each signature is bound to its signer's key type and AAD. */
	mrx_diag_clear(&d);
	assert_int_equal(cry_sign_verify(&s2, 0, uk, (const uint8_t *)"x", 1,
	    &d), MRX_EALG);
	assert_string_equal(d.field, "signatures[0].protected.alg");
	assert_int_equal(cry_sign_verify(&s2, 1, uk, NULL, 0, NULL), MRX_ESIG);
	assert_int_equal(cry_sign_verify(&s2, 2, uk, NULL, 0, NULL),
	    MRX_EINVAL);

	/* The same kid again is refused (also from another key object). */
	mrx_diag_clear(&d);
	assert_int_equal(cry_sign_add(m2, n2, jp_again, (const uint8_t *)"x", 1,
	    m3, sizeof(m3), &n3, &d), MRX_EEXIST);
	assert_int_equal(d.code, MRX_EEXIST);
	assert_int_equal(cry_sign_add(m2, n2, uk, (const uint8_t *)"x", 1, m3,
	    sizeof(m3), &n3, NULL), MRX_EEXIST);
	/* Output too small, and output overlapping input. */
	assert_int_equal(cry_sign_add(m2, n2, k3, (const uint8_t *)"x", 1, m3,
	    n2, &n3, NULL), MRX_ENOSPC);
	assert_true(n3 > n2);
	assert_int_equal(cry_sign_add(m2, n2, k3, (const uint8_t *)"x", 1, m2,
	    sizeof(m2), &n3, NULL), MRX_EINVAL);

	/* Up to CRY_COSE_SIGNERS_MAX signatures, then ENOSPC. */
	assert_int_equal(cry_sign_add(m2, n2, k3, (const uint8_t *)"x", 1, m3,
	    sizeof(m3), &n3, NULL), 0);
	assert_int_equal(cry_sign_add(m3, n3, k4, (const uint8_t *)"x", 1, m4,
	    sizeof(m4), &n4, NULL), 0);
	assert_int_equal(cry_sign_decode(m4, n4, &s, NULL), 0);
	assert_int_equal(s.nsigs, CRY_COSE_SIGNERS_MAX);
	assert_int_equal(cry_sign_verify(&s, 0, jp, (const uint8_t *)"x", 1,
	    NULL), 0);
	assert_int_equal(cry_sign_verify(&s, 1, uk, (const uint8_t *)"x", 1,
	    NULL), 0);
	assert_int_equal(cry_sign_verify(&s, 2, k3, (const uint8_t *)"x", 1,
	    NULL), 0);
	assert_int_equal(cry_sign_verify(&s, 3, k4, (const uint8_t *)"x", 1,
	    NULL), 0);
	mrx_diag_clear(&d);
	assert_int_equal(cry_sign_add(m4, n4, k5, (const uint8_t *)"x", 1, m1,
	    sizeof(m1), &n, &d), MRX_ENOSPC);

	/* A tampered payload fails for both signers. */
	memcpy(bad, m2, n2);
	i = (size_t)(s2.payload - m2);
	bad[i + 3] ^= 1;
	assert_int_equal(cry_sign_decode(bad, n2, &s, NULL), 0);
	assert_int_equal(cry_sign_verify(&s, 0, jp, (const uint8_t *)"x", 1,
	    NULL), MRX_ESIG);
	assert_int_equal(cry_sign_verify(&s, 1, uk, (const uint8_t *)"x", 1,
	    NULL), MRX_ESIG);

	/* Truncations never decode; wrong shapes are named. */
	for (n = 0; n < n2; n++) {
		uint8_t *cut = malloc(n > 0 ? n : 1);

		assert_non_null(cut);
		memcpy(cut, m2, n);
		assert_int_not_equal(cry_sign_decode(cut, n, &s, NULL), 0);
		free(cut);
	}
	assert_int_equal(cry_sign_decode((const uint8_t *)"\xd8\x62\x84\x40"
	    "\xa0\x40\x80", 7, &s, &d), MRX_EMISSING);
	mrx_diag_clear(&d);
	assert_int_equal(cry_sign_decode(m1 + 2, n1 - 2, &s, &d), 0);
	assert_false(s.tagged);
	assert_int_equal(cry_sign_decode((const uint8_t *)"\xd2\x84\x40\xa0"
	    "\x40\x80", 6, &s, &d), MRX_EMALFORMED);
	/* Five signatures are more than a COSE_Sign may carry. */
	{
		uint8_t five[64];
		size_t j;

		memcpy(five, "\x84\x40\xa0\x40\x85", 5);
		for (j = 0; j < 5; j++)
			memcpy(five + 5 + 4 * j, "\x83\x40\xa0\x40", 4);
		mrx_diag_clear(&d);
		assert_int_equal(cry_sign_decode(five, 25, &s, &d),
		    MRX_ETOOBIG);
		assert_string_equal(d.field, "signatures");
	}
	/* A COSE_Sign1 is not a COSE_Sign, and the reverse. */
	{
		struct cry_sign1 s1x;

		assert_int_not_equal(cry_sign1_decode(m1, n1, &s1x, NULL), 0);
	}

	cry_key_free(jp);
	cry_key_free(jp_again);
	cry_key_free(uk);
	cry_key_free(k3);
	cry_key_free(k4);
	cry_key_free(k5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_vectors_mutated),
		cmocka_unit_test(test_sign1_headers),
		cmocka_unit_test(test_sign1_algs),
		cmocka_unit_test(test_sign1_roundtrip),
		cmocka_unit_test(test_sign_roundtrip),
	};
	int failed;

	failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
	if (failed != 0)
		return failed;
	/* Vectors missing: the suite did not do its main job. */
	return vectors_found ? 0 : 77;
}
