/*
 * test_key.c - keys, signatures and hashes (crypto/key.h).
 *
 * Each test that touches files works in its own fresh directory under
 * $TMPDIR (or /tmp), removed at the end. OpenSSL is used here only to make
 * inputs that mrx itself never produces: an RSA key, a P-384 key, an
 * encrypted key, a compressed-point SPKI.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "key.h"

struct tmpdir {
	char path[256];
	char files[10][300];
	size_t nfiles;
};

static int
tmp_setup(void **state)
{
	struct tmpdir *t = calloc(1, sizeof(*t));
	const char *base = getenv("TMPDIR");

	if (t == NULL)
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/mrx-key-XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(t->path) == NULL) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int
tmp_teardown(void **state)
{
	struct tmpdir *t = *state;
	size_t i;

	for (i = 0; i < t->nfiles; i++)
		unlink(t->files[i]);
	rmdir(t->path);
	free(t);
	return 0;
}

static const char *
tmp_file(struct tmpdir *t, const char *name)
{
	char dir[sizeof(t->path)];

	assert_true(t->nfiles < 10);
	memcpy(dir, t->path, sizeof(dir));
	snprintf(t->files[t->nfiles], sizeof(t->files[0]), "%s/%s", dir, name);
	return t->files[t->nfiles++];
}

static void
write_text(const char *path, const void *p, size_t n, mode_t mode)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Writes `pkey` as PEM (private PKCS#8 or public SPKI) to `path`. */
static void
write_ossl_key(const char *path, EVP_PKEY *pkey, bool priv, mode_t mode)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;

	assert_non_null(bio);
	if (priv)
		assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL,
		    NULL, 0, NULL, NULL), 1);
	else
		assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
	n = BIO_get_mem_data(bio, &p);
	write_text(path, p, (size_t)n, mode);
	BIO_free(bio);
}

static void
test_generate_both(void **state)
{
	static const enum cry_alg algs[] = { CRY_ALG_EDDSA, CRY_ALG_ES256 };
	static const uint8_t zero[CRY_KID_LEN];
	struct cry_key *k, *k2, *pub;
	uint8_t spki[CRY_SPKI_MAX], sig[CRY_SIG_LEN];
	size_t len, i;

	(void)state;
	for (i = 0; i < 2; i++) {
		assert_int_equal(cry_key_generate(algs[i], &k), 0);
		assert_int_equal(cry_key_generate(algs[i], &k2), 0);
		assert_int_equal(cry_key_alg(k), algs[i]);
		assert_true(cry_key_has_private(k));
		assert_memory_not_equal(cry_key_kid(k), zero, CRY_KID_LEN);
		assert_memory_not_equal(cry_key_kid(k), cry_key_kid(k2),
		    CRY_KID_LEN);
		assert_int_equal(cry_key_spki(k, spki, sizeof(spki), &len), 0);
		assert_int_equal(len, algs[i] == CRY_ALG_EDDSA ? 44 : 91);
		assert_int_equal(cry_key_spki(k, spki, len - 1, &len),
		    MRX_ENOSPC);
		assert_int_equal(cry_key_from_spki(spki, len, &pub, NULL), 0);
		assert_false(cry_key_has_private(pub));
		assert_int_equal(cry_key_alg(pub), algs[i]);
		assert_memory_equal(cry_key_kid(pub), cry_key_kid(k),
		    CRY_KID_LEN);
		/* The kid is SHA-256 of the SPKI, cut to 16 bytes. */
		assert_int_equal(cry_sha256(spki, len, sig), 0);
		assert_memory_equal(sig, cry_key_kid(k), CRY_KID_LEN);
		/* A public key cannot sign. */
		assert_int_equal(cry_sign(pub, (const uint8_t *)"m", 1, sig),
		    MRX_EKEY);
		cry_key_free(pub);
		cry_key_free(k);
		cry_key_free(k2);
	}
	assert_int_equal(cry_key_generate(CRY_ALG_NONE, &k),
	    MRX_EUNSUPPORTED);
	cry_key_free(NULL);
}

static void
test_alg_names(void **state)
{
	enum cry_alg a = CRY_ALG_NONE;

	(void)state;
	assert_string_equal(cry_alg_name(CRY_ALG_EDDSA), "EdDSA");
	assert_string_equal(cry_alg_name(CRY_ALG_ES256), "ES256");
	assert_null(cry_alg_name(CRY_ALG_NONE));
	assert_int_equal(cry_alg_parse("Ed25519", &a), 0);
	assert_int_equal(a, CRY_ALG_EDDSA);
	assert_int_equal(cry_alg_parse("EDDSA", &a), 0);
	assert_int_equal(a, CRY_ALG_EDDSA);
	assert_int_equal(cry_alg_parse("es256", &a), 0);
	assert_int_equal(a, CRY_ALG_ES256);
	assert_int_equal(cry_alg_parse("P256", &a), 0);
	assert_int_equal(a, CRY_ALG_ES256);
	assert_int_equal(cry_alg_parse("rsa", &a), MRX_EUNSUPPORTED);
	assert_int_equal(cry_alg_from_cose(-7, &a), 0);
	assert_int_equal(a, CRY_ALG_ES256);
	assert_int_equal(cry_alg_from_cose(-8, &a), 0);
	assert_int_equal(a, CRY_ALG_EDDSA);
	assert_int_equal(cry_alg_from_cose(-35, &a), MRX_EUNSUPPORTED);
	assert_int_equal(cry_alg_from_cose(0, &a), MRX_EUNSUPPORTED);
}

static void
test_save_load_roundtrip(void **state)
{
	static const enum cry_alg algs[] = { CRY_ALG_EDDSA, CRY_ALG_ES256 };
	struct tmpdir *t = *state;
	struct cry_key *k, *priv, *pub;
	struct mrx_diag d;
	struct stat st;
	uint8_t sig[CRY_SIG_LEN];
	const char *kp, *pp;
	size_t i;

	for (i = 0; i < 2; i++) {
		kp = tmp_file(t, i == 0 ? "ed.key" : "p256.key");
		pp = tmp_file(t, i == 0 ? "ed.pub" : "p256.pub");
		assert_int_equal(cry_key_generate(algs[i], &k), 0);
		mrx_diag_clear(&d);
		assert_int_equal(cry_key_save_private(k, kp, &d), 0);
		assert_int_equal(cry_key_save_public(k, pp, &d), 0);
		assert_int_equal(stat(kp, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		assert_int_equal(stat(pp, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0644);

		assert_int_equal(cry_key_load(kp, &priv, &d), 0);
		assert_int_equal(cry_key_load(pp, &pub, &d), 0);
		assert_true(cry_key_has_private(priv));
		assert_false(cry_key_has_private(pub));
		assert_int_equal(cry_key_alg(priv), algs[i]);
		assert_int_equal(cry_key_alg(pub), algs[i]);
		assert_memory_equal(cry_key_kid(priv), cry_key_kid(k),
		    CRY_KID_LEN);
		assert_memory_equal(cry_key_kid(pub), cry_key_kid(k),
		    CRY_KID_LEN);
		/* The loaded private key signs for the original public. */
		assert_int_equal(cry_sign(priv, (const uint8_t *)"x", 1, sig),
		    0);
		assert_int_equal(cry_verify(k, algs[i], (const uint8_t *)"x", 1,
		    sig, sizeof(sig)), 0);
		assert_int_equal(cry_verify(pub, algs[i], (const uint8_t *)"x",
		    1, sig, sizeof(sig)), 0);
		/* Saving a public key as private is refused. */
		assert_int_equal(cry_key_save_private(pub,
		    tmp_file(t, "nopriv.key"), NULL), MRX_EINVAL);
		t->nfiles--;
		cry_key_free(k);
		cry_key_free(priv);
		cry_key_free(pub);
	}
}

static void
test_no_overwrite(void **state)
{
	struct tmpdir *t = *state;
	struct cry_key *k1, *k2, *back;
	struct mrx_diag d;
	const char *kp = tmp_file(t, "root.key");
	const char *pp = tmp_file(t, "root.pub");

	assert_int_equal(cry_key_generate(CRY_ALG_EDDSA, &k1), 0);
	assert_int_equal(cry_key_generate(CRY_ALG_EDDSA, &k2), 0);
	assert_int_equal(cry_key_save_private(k1, kp, NULL), 0);
	assert_int_equal(cry_key_save_public(k1, pp, NULL), 0);
	mrx_diag_clear(&d);
	assert_int_equal(cry_key_save_private(k2, kp, &d), MRX_EEXIST);
	assert_int_equal(d.code, MRX_EEXIST);
	assert_non_null(strstr(d.msg, kp));
	assert_int_equal(cry_key_save_public(k2, pp, NULL), MRX_EEXIST);
	/* The file still holds the first key. */
	assert_int_equal(cry_key_load(kp, &back, NULL), 0);
	assert_memory_equal(cry_key_kid(back), cry_key_kid(k1), CRY_KID_LEN);
	cry_key_free(back);
	assert_int_equal(cry_key_load(pp, &back, NULL), 0);
	assert_memory_equal(cry_key_kid(back), cry_key_kid(k1), CRY_KID_LEN);
	cry_key_free(back);
	/* A missing directory is not an overwrite. */
	assert_int_equal(cry_key_save_private(k1, "/nonexistent-mrx/x.key",
	    NULL), MRX_ENOENT);
	cry_key_free(k1);
	cry_key_free(k2);
}

static void
test_load_errors(void **state)
{
	static const char corrupt[] = "-----BEGIN PRIVATE KEY-----\n"
				      "MC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAA\n"
				      "-----END PRIVATE KEY-----\n";
	static const char cert[] = "-----BEGIN CERTIFICATE-----\nAAAA\n"
				   "-----END CERTIFICATE-----\n";
	struct tmpdir *t = *state;
	struct cry_key *k = NULL;
	struct mrx_diag d;
	const char *p;
	char *big;

	mrx_diag_clear(&d);
	p = tmp_file(t, "missing.key");
	assert_int_equal(cry_key_load(p, &k, &d), MRX_ENOENT);
	assert_non_null(strstr(d.msg, p));

	p = tmp_file(t, "corrupt.key");
	write_text(p, corrupt, sizeof(corrupt) - 1, 0600);
	mrx_diag_clear(&d);
	assert_int_equal(cry_key_load(p, &k, &d), MRX_EKEY);
	assert_non_null(strstr(d.msg, p));

	p = tmp_file(t, "garbage.key");
	write_text(p, "hello\n", 6, 0600);
	assert_int_equal(cry_key_load(p, &k, NULL), MRX_EKEY);
	write_text(p, "", 0, 0600);
	assert_int_equal(cry_key_load(p, &k, NULL), MRX_EKEY);
	write_text(p, cert, sizeof(cert) - 1, 0644);
	mrx_diag_clear(&d);
	assert_int_equal(cry_key_load(p, &k, &d), MRX_EKEY);
	assert_non_null(strstr(d.msg, "CERTIFICATE"));

	p = tmp_file(t, "big.key");
	big = malloc(CRY_KEYFILE_MAX + 10);
	assert_non_null(big);
	memset(big, 'A', CRY_KEYFILE_MAX + 10);
	write_text(p, big, CRY_KEYFILE_MAX + 10, 0600);
	free(big);
	assert_int_equal(cry_key_load(p, &k, NULL), MRX_ETOOBIG);

	/* A directory or a FIFO is not a key file (and does not hang). */
	mrx_diag_clear(&d);
	assert_int_equal(cry_key_load(t->path, &k, &d), MRX_EIO);
	assert_null(k);
	p = tmp_file(t, "fifo.key");
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(cry_key_load(p, &k, NULL), MRX_EIO);
	/* No failure leaves anything in OpenSSL's error queue. */
	assert_int_equal(ERR_peek_error(), 0);

	assert_int_equal(cry_key_from_pem(corrupt, sizeof(corrupt) - 1, &k,
	    NULL), MRX_EKEY);
	assert_int_equal(cry_key_from_spki((const uint8_t *)"\x30\x00", 2, &k,
	    NULL), MRX_EKEY);
}

static void
test_other_key_types(void **state)
{
	struct tmpdir *t = *state;
	EVP_PKEY *rsa, *p384, *ed448;
	struct cry_key *k = NULL;
	struct mrx_diag d;
	const char *p;
	uint8_t der[2048], *dp = der;
	int n;

	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	assert_non_null(rsa);
	assert_non_null(p384);
	assert_non_null(ed448);

	p = tmp_file(t, "rsa.key");
	write_ossl_key(p, rsa, true, 0600);
	mrx_diag_clear(&d);
	assert_int_equal(cry_key_load(p, &k, &d), MRX_EKEY);
	assert_non_null(strstr(d.msg, "RSA"));
	p = tmp_file(t, "rsa.pub");
	write_ossl_key(p, rsa, false, 0644);
	mrx_diag_clear(&d);
	assert_int_equal(cry_key_load(p, &k, &d), MRX_EKEY);
	assert_non_null(strstr(d.msg, "RSA"));

	p = tmp_file(t, "p384.key");
	write_ossl_key(p, p384, true, 0600);
	mrx_diag_clear(&d);
	assert_int_equal(cry_key_load(p, &k, &d), MRX_EKEY);
	assert_non_null(strstr(d.msg, "secp384r1"));

	n = i2d_PUBKEY(ed448, &dp);
	assert_true(n > 0);
	mrx_diag_clear(&d);
	assert_int_equal(cry_key_from_spki(der, (size_t)n, &k, &d), MRX_EKEY);
	assert_non_null(strstr(d.msg, "ED448"));
	assert_null(k);

	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(ed448);
}

static void
test_encrypted_key_refused(void **state)
{
	struct tmpdir *t = *state;
	struct cry_key *k = NULL, *mine;
	struct mrx_diag d;
	const char *p = tmp_file(t, "enc.key");
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	long n;
	EVP_PKEY *pk;

	assert_int_equal(cry_key_generate(CRY_ALG_EDDSA, &mine), 0);
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(pk);
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, pk,
	    EVP_aes_256_cbc(), "secret", 6, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &pem);
	write_text(p, pem, (size_t)n, 0600);
	mrx_diag_clear(&d);
	assert_int_equal(cry_key_load(p, &k, &d), MRX_EKEY);
	assert_non_null(strstr(d.msg, "encrypted"));
	BIO_free(bio);
	EVP_PKEY_free(pk);
	cry_key_free(mine);
}

static void
test_private_mode_refused(void **state)
{
	static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0601, 0610 };
	struct tmpdir *t = *state;
	struct cry_key *k, *back = NULL;
	struct mrx_diag d;
	const char *kp = tmp_file(t, "root.key");
	const char *pp = tmp_file(t, "root.pub");
	char want[64];
	size_t i;

	assert_int_equal(cry_key_generate(CRY_ALG_ES256, &k), 0);
	assert_int_equal(cry_key_save_private(k, kp, NULL), 0);
	assert_int_equal(cry_key_save_public(k, pp, NULL), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(kp, bad[i]), 0);
		mrx_diag_clear(&d);
		assert_int_equal(cry_key_load(kp, &back, &d), MRX_EPERM);
		assert_null(back);
		assert_int_equal(d.code, MRX_EPERM);
		assert_non_null(strstr(d.msg, kp));
		assert_non_null(strstr(d.msg, "chmod 600"));
		snprintf(want, sizeof(want), "(mode %04o)", (unsigned)bad[i]);
		assert_non_null(strstr(d.msg, want));
	}
	/* A private block after a public one is still a private key file. */
	{
		const char *mixed = tmp_file(t, "mixed.pem");
		char text[4096];
		FILE *f;
		size_t n;

		f = fopen(pp, "r");
		assert_non_null(f);
		n = fread(text, 1, sizeof(text) / 2, f);
		fclose(f);
		f = fopen(kp, "r");
		assert_non_null(f);
		n += fread(text + n, 1, sizeof(text) / 2, f);
		fclose(f);
		write_text(mixed, text, n, 0644);
		assert_int_equal(cry_key_load(mixed, &back, NULL), MRX_EPERM);
		assert_int_equal(chmod(mixed, 0600), 0);
		assert_int_equal(cry_key_load(mixed, &back, NULL), 0);
		assert_false(cry_key_has_private(back));
		cry_key_free(back);
	}
	/* 0400 is fine; a public key may be world-readable. */
	assert_int_equal(chmod(kp, 0400), 0);
	assert_int_equal(cry_key_load(kp, &back, NULL), 0);
	cry_key_free(back);
	assert_int_equal(chmod(pp, 0666), 0);
	assert_int_equal(cry_key_load(pp, &back, NULL), 0);
	cry_key_free(back);
	cry_key_free(k);
}

static void
test_from_seed(void **state)
{
	/* RFC 8032 7.1, test 1. */
	static const uint8_t seed[32] = { 0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd,
		0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
		0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b,
		0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60 };
	static const uint8_t pub[32] = { 0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1,
		0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
		0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02,
		0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a };
	static const uint8_t sig0[8] = { 0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60,
		0xac, 0x72 };
	struct cry_key *a, *b, *c;
	uint8_t seed2[32], spki[CRY_SPKI_MAX], s1[CRY_SIG_LEN],
	    s2[CRY_SIG_LEN];
	size_t len;

	(void)state;
	assert_int_equal(cry_key_from_seed(seed, &a), 0);
	assert_int_equal(cry_key_from_seed(seed, &b), 0);
	memcpy(seed2, seed, sizeof(seed2));
	seed2[31] ^= 1;
	assert_int_equal(cry_key_from_seed(seed2, &c), 0);
	assert_int_equal(cry_key_alg(a), CRY_ALG_EDDSA);
	assert_true(cry_key_has_private(a));
	assert_memory_equal(cry_key_kid(a), cry_key_kid(b), CRY_KID_LEN);
	assert_memory_not_equal(cry_key_kid(a), cry_key_kid(c), CRY_KID_LEN);
	assert_int_equal(cry_key_spki(a, spki, sizeof(spki), &len), 0);
	assert_memory_equal(spki + len - 32, pub, 32);
	/* Ed25519 is deterministic, and this is RFC 8032's signature. */
	assert_int_equal(cry_sign(a, NULL, 0, s1), 0);
	assert_int_equal(cry_sign(b, NULL, 0, s2), 0);
	assert_memory_equal(s1, s2, CRY_SIG_LEN);
	assert_memory_equal(s1, sig0, sizeof(sig0));
	assert_int_equal(cry_verify(c, CRY_ALG_EDDSA, NULL, 0, s1, 64),
	    MRX_ESIG);
	cry_key_free(a);
	cry_key_free(b);
	cry_key_free(c);
}

static void
test_sign_verify(void **state)
{
	static const enum cry_alg algs[] = { CRY_ALG_EDDSA, CRY_ALG_ES256 };
	static const uint8_t msg[] = "security clearance attestation";
	struct cry_key *k, *other, *ed;
	uint8_t sig[CRY_SIG_LEN], bad[CRY_SIG_LEN + 8];
	size_t i, b;

	(void)state;
	assert_int_equal(cry_key_generate(CRY_ALG_EDDSA, &ed), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(cry_key_generate(algs[i], &k), 0);
		assert_int_equal(cry_key_generate(algs[i], &other), 0);
		assert_int_equal(cry_sign(k, msg, sizeof(msg), sig), 0);
		assert_int_equal(cry_verify(k, algs[i], msg, sizeof(msg), sig,
		    sizeof(sig)), 0);
		/* The wrong alg for the key is refused before any check. */
		assert_int_equal(cry_verify(k, algs[1 - i], msg, sizeof(msg),
		    sig, sizeof(sig)), MRX_EALG);
		assert_int_equal(cry_verify(k, CRY_ALG_NONE, msg, sizeof(msg),
		    sig, sizeof(sig)), MRX_EALG);
		/* Every flipped bit, in the signature and the message. */
		for (b = 0; b < CRY_SIG_LEN * 8; b += 7) {
			memcpy(bad, sig, CRY_SIG_LEN);
			bad[b / 8] ^= (uint8_t)(1u << (b % 8));
			assert_int_equal(cry_verify(k, algs[i], msg,
			    sizeof(msg), bad, CRY_SIG_LEN), MRX_ESIG);
		}
		memcpy(bad, msg, sizeof(msg));
		bad[3] ^= 0x20;
		assert_int_equal(cry_verify(k, algs[i], bad, sizeof(msg), sig,
		    sizeof(sig)), MRX_ESIG);
		/* Wrong lengths, including a DER-looking one. */
		memset(bad, 0, sizeof(bad));
		memcpy(bad, sig, CRY_SIG_LEN);
		assert_int_equal(cry_verify(k, algs[i], msg, sizeof(msg), bad,
		    CRY_SIG_LEN - 1), MRX_ESIG);
		assert_int_equal(cry_verify(k, algs[i], msg, sizeof(msg), bad,
		    CRY_SIG_LEN + 8), MRX_ESIG);
		assert_int_equal(cry_verify(k, algs[i], msg, sizeof(msg), NULL,
		    0), MRX_ESIG);
		/* Alternating keys: no context keeps an old key. */
		assert_int_equal(cry_verify(other, algs[i], msg, sizeof(msg),
		    sig, sizeof(sig)), MRX_ESIG);
		assert_int_equal(cry_verify(k, algs[i], msg, sizeof(msg), sig,
		    sizeof(sig)), 0);
		assert_int_equal(cry_verify(other, algs[i], msg, sizeof(msg),
		    sig, sizeof(sig)), MRX_ESIG);
		cry_key_free(k);
		cry_key_free(other);
	}
	/* EdDSA signature checked against a P-256 key: alg mismatch. */
	assert_int_equal(cry_key_generate(CRY_ALG_ES256, &k), 0);
	assert_int_equal(cry_sign(ed, msg, sizeof(msg), sig), 0);
	assert_int_equal(cry_verify(k, CRY_ALG_EDDSA, msg, sizeof(msg), sig,
	    sizeof(sig)), MRX_EALG);
	cry_key_free(k);
	cry_key_free(ed);
}

static void
test_es256_der_edges(void **state)
{
	struct cry_key *k;
	uint8_t msg[8] = { 0 }, sig[CRY_SIG_LEN], der[CRY_SIG_LEN];
	int seen_r = 0, seen_s = 0, seen_hi = 0, i;

	(void)state;
	assert_int_equal(cry_key_generate(CRY_ALG_ES256, &k), 0);
	/* Until r and s have both started with a zero byte (or a bound). */
	for (i = 0; i < 20000 && (seen_r < 2 || seen_s < 2); i++) {
		memcpy(msg, &i, sizeof(i));
		assert_int_equal(cry_sign(k, msg, sizeof(msg), sig), 0);
		assert_int_equal(cry_verify(k, CRY_ALG_ES256, msg, sizeof(msg),
		    sig, sizeof(sig)), 0);
		seen_r += sig[0] == 0;
		seen_s += sig[32] == 0;
		seen_hi += (sig[0] & 0x80) != 0;
	}
	assert_true(seen_r >= 2 && seen_s >= 2 && seen_hi > 0);
	/* r = 0 and s = 0 are refused, not crashed on. */
	memset(der, 0, sizeof(der));
	assert_int_equal(cry_verify(k, CRY_ALG_ES256, msg, sizeof(msg), der,
	    sizeof(der)), MRX_ESIG);
	memset(der, 0xff, sizeof(der));
	assert_int_equal(cry_verify(k, CRY_ALG_ES256, msg, sizeof(msg), der,
	    sizeof(der)), MRX_ESIG);
	cry_key_free(k);
}

struct verify_job {
	const struct cry_key *keys[2];	/* alternated */
	const uint8_t *sigs[2];		/* sigs[i] made by keys[i] */
	enum cry_alg alg;
	int bad;			/* unexpected results */
};

static void *
verify_worker(void *arg)
{
	struct verify_job *j = arg;
	int i, want, rc;

	for (i = 0; i < 300; i++) {
		/* Key i%2 with signature (i/2)%2: good only when they match. */
		want = i % 2 == (i / 2) % 2 ? 0 : MRX_ESIG;
		rc = cry_verify(j->keys[i % 2], j->alg, (const uint8_t *)"m", 1,
		    j->sigs[(i / 2) % 2], CRY_SIG_LEN);
		j->bad += rc != want;
	}
	return NULL;
}

/* One immutable key verifies from several threads at once. */
static void
test_verify_threads(void **state)
{
	static const enum cry_alg algs[] = { CRY_ALG_EDDSA, CRY_ALG_ES256 };
	struct verify_job jobs[4];
	pthread_t th[4];
	struct cry_key *k[2];
	uint8_t sig[2][CRY_SIG_LEN];
	size_t a, i;

	(void)state;
	for (a = 0; a < 2; a++) {
		for (i = 0; i < 2; i++) {
			assert_int_equal(cry_key_generate(algs[a], &k[i]), 0);
			assert_int_equal(cry_sign(k[i], (const uint8_t *)"m", 1,
			    sig[i]), 0);
		}
		for (i = 0; i < 4; i++) {
			jobs[i].keys[0] = k[0];
			jobs[i].keys[1] = k[1];
			jobs[i].sigs[0] = sig[0];
			jobs[i].sigs[1] = sig[1];
			jobs[i].alg = algs[a];
			jobs[i].bad = 0;
			assert_int_equal(pthread_create(&th[i], NULL,
			    verify_worker, &jobs[i]), 0);
		}
		for (i = 0; i < 4; i++) {
			assert_int_equal(pthread_join(th[i], NULL), 0);
			assert_int_equal(jobs[i].bad, 0);
		}
		cry_key_free(k[0]);
		cry_key_free(k[1]);
	}
}

static void
test_from_raw(void **state)
{
	static const uint8_t ed_d[32] = { 0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd,
		0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
		0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b,
		0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60 };
	static const uint8_t ed_x[32] = { 0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1,
		0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
		0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02,
		0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a };
	struct cry_key *k, *seeded, *gen, *pub;
	uint8_t spki[CRY_SPKI_MAX], x[32], y[32], big[66];
	size_t len;
	EVP_PKEY *pk;
	BIGNUM *bx = NULL, *by = NULL;

	(void)state;
	assert_int_equal(cry_key_from_seed(ed_d, &seeded), 0);
	assert_int_equal(cry_key_from_raw(CRY_ALG_EDDSA, ed_x, 32, NULL, 0,
	    ed_d, 32, &k), 0);
	assert_true(cry_key_has_private(k));
	assert_memory_equal(cry_key_kid(k), cry_key_kid(seeded), CRY_KID_LEN);
	cry_key_free(k);
	assert_int_equal(cry_key_from_raw(CRY_ALG_EDDSA, ed_x, 32, NULL, 0,
	    NULL, 0, &k), 0);
	assert_false(cry_key_has_private(k));
	assert_memory_equal(cry_key_kid(k), cry_key_kid(seeded), CRY_KID_LEN);
	cry_key_free(k);
	/* x that is not d's public key. */
	memcpy(x, ed_x, 32);
	x[0] ^= 1;
	assert_int_equal(cry_key_from_raw(CRY_ALG_EDDSA, x, 32, NULL, 0, ed_d,
	    32, &k), MRX_EKEY);
	assert_int_equal(cry_key_from_raw(CRY_ALG_EDDSA, ed_x, 31, NULL, 0,
	    NULL, 0, &k), MRX_EKEY);
	assert_int_equal(cry_key_from_raw(CRY_ALG_EDDSA, NULL, 0, NULL, 0,
	    NULL, 0, &k), MRX_EKEY);
	/* Ed448-sized keys are recognised as unsupported. */
	memset(big, 7, sizeof(big));
	assert_int_equal(cry_key_from_raw(CRY_ALG_EDDSA, big, 57, NULL, 0,
	    NULL, 0, &k), MRX_EUNSUPPORTED);
	assert_int_equal(cry_key_from_raw(CRY_ALG_ES256, big, 48, big, 48,
	    NULL, 0, &k), MRX_EUNSUPPORTED);
	assert_int_equal(cry_key_from_raw(CRY_ALG_NONE, big, 32, NULL, 0,
	    NULL, 0, &k), MRX_EUNSUPPORTED);
	cry_key_free(seeded);

	/* P-256: x, y of a generated key give the same kid. */
	assert_int_equal(cry_key_generate(CRY_ALG_ES256, &gen), 0);
	assert_int_equal(cry_key_spki(gen, spki, sizeof(spki), &len), 0);
	assert_int_equal(len, 91);
	memcpy(x, spki + 27, 32);
	memcpy(y, spki + 59, 32);
	assert_int_equal(spki[26], 0x04);
	assert_int_equal(cry_key_from_raw(CRY_ALG_ES256, x, 32, y, 32, NULL, 0,
	    &pub), 0);
	assert_memory_equal(cry_key_kid(pub), cry_key_kid(gen), CRY_KID_LEN);
	cry_key_free(pub);
	/* A point off the curve. */
	y[31] ^= 1;
	assert_int_equal(cry_key_from_raw(CRY_ALG_ES256, x, 32, y, 32, NULL, 0,
	    &pub), MRX_EKEY);
	y[31] ^= 1;
	assert_int_equal(cry_key_from_raw(CRY_ALG_ES256, x, 32, NULL, 0, NULL,
	    0, &pub), MRX_EKEY);
	/* A private scalar that does not match the point. */
	assert_int_equal(cry_key_from_raw(CRY_ALG_ES256, x, 32, y, 32, ed_d, 32,
	    &pub), MRX_EKEY);
	cry_key_free(gen);

	/* A compressed-point SPKI of the same key has the same kid. */
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(pk);
	assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X,
	    &bx), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y,
	    &by), 1);
	assert_int_equal(BN_bn2binpad(bx, x, 32), 32);
	assert_int_equal(BN_bn2binpad(by, y, 32), 32);
	assert_int_equal(cry_key_from_raw(CRY_ALG_ES256, x, 32, y, 32, NULL, 0,
	    &gen), 0);
	assert_int_equal(EVP_PKEY_set_utf8_string_param(pk,
	    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed"), 1);
	{
		uint8_t der[CRY_SPKI_MAX], *dp = der;
		int n = i2d_PUBKEY(pk, &dp);

		assert_int_equal(n, 59);
		assert_int_equal(cry_key_from_spki(der, (size_t)n, &pub, NULL),
		    0);
		assert_memory_equal(cry_key_kid(pub), cry_key_kid(gen),
		    CRY_KID_LEN);
		cry_key_free(pub);
		/* Trailing bytes after the SPKI. */
		der[n] = 0;
		assert_int_equal(cry_key_from_spki(der, (size_t)n + 1, &pub,
		    NULL), MRX_EKEY);
	}
	BN_free(bx);
	BN_free(by);
	EVP_PKEY_free(pk);
	cry_key_free(gen);
}

static void
test_from_pem(void **state)
{
	struct tmpdir *t = *state;
	struct cry_key *k, *back;
	const char *pp = tmp_file(t, "k.pub");
	char buf[1024];
	FILE *f;
	size_t n;

	assert_int_equal(cry_key_generate(CRY_ALG_ES256, &k), 0);
	assert_int_equal(cry_key_save_public(k, pp, NULL), 0);
	f = fopen(pp, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(cry_key_from_pem(buf, n, &back, NULL), 0);
	assert_memory_equal(cry_key_kid(back), cry_key_kid(k), CRY_KID_LEN);
	cry_key_free(back);
	/* Cut in the middle. */
	assert_int_equal(cry_key_from_pem(buf, n / 2, &back, NULL), MRX_EKEY);
	cry_key_free(k);
}

static void
test_hashes(void **state)
{
	/* FIPS 180-2 "abc"; RFC 4231 test case 2. */
	static const uint8_t abc[32] = { 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01,
		0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10,
		0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
	static const uint8_t hm[32] = { 0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60,
		0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
		0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec,
		0x58, 0xb9, 0x64, 0xec, 0x38, 0x43 };
	uint8_t out[32], r1[48], r2[48];

	(void)state;
	assert_int_equal(cry_sha256("abc", 3, out), 0);
	assert_memory_equal(out, abc, 32);
	assert_int_equal(cry_hmac_sha256((const uint8_t *)"Jefe", 4,
	    "what do ya want for nothing?", 28, out), 0);
	assert_memory_equal(out, hm, 32);
	assert_int_equal(cry_random(r1, sizeof(r1)), 0);
	assert_int_equal(cry_random(r2, sizeof(r2)), 0);
	assert_memory_not_equal(r1, r2, sizeof(r1));
	assert_int_equal(cry_random(NULL, 0), 0);
	assert_int_equal(cry_sha256(NULL, 0, out), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_both),
		cmocka_unit_test(test_alg_names),
		cmocka_unit_test_setup_teardown(test_save_load_roundtrip,
		    tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_no_overwrite, tmp_setup,
		    tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_errors, tmp_setup,
		    tmp_teardown),
		cmocka_unit_test_setup_teardown(test_other_key_types,
		    tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_encrypted_key_refused,
		    tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_private_mode_refused,
		    tmp_setup, tmp_teardown),
		cmocka_unit_test(test_from_seed),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_es256_der_edges),
		cmocka_unit_test(test_verify_threads),
		cmocka_unit_test(test_from_raw),
		cmocka_unit_test_setup_teardown(test_from_pem, tmp_setup,
		    tmp_teardown),
		cmocka_unit_test(test_hashes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
