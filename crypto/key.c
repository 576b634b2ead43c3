/*
 * key.c - Ed25519 and P-256 keys, signatures, hashing and randomness over
 * OpenSSL 3.0 (see key.h for the contract).
 *
 * A struct cry_key owns one parsed EVP_PKEY and never changes after it is
 * made: its algorithm, whether it holds the private part, its DER
 * SubjectPublicKeyInfo and its kid are computed once, in key_wrap(), the one
 * place every constructor goes through. key_wrap() also refuses every key
 * type but Ed25519 and EC on P-256, so no other kind of key can exist here,
 * and sets EC keys to the uncompressed point form so that the SPKI, and so
 * the kid, of a key does not depend on how it was read.
 *
 * Signatures are always raw 64 bytes. ECDSA's DER form lives only inside
 * this file: cry_sign() converts OpenSSL's DER to r||s with ECDSA_SIG and
 * BN_bn2binpad(); cry_verify() writes the DER itself into a 72-byte stack
 * buffer (two minimal positive INTEGERs in a SEQUENCE), so that the verify
 * path allocates nothing but its EVP_MD_CTX. A fresh EVP_MD_CTX is used for
 * every signature and every verification: OpenSSL 3.0 silently keeps the old
 * key when one context is re-initialised with another.
 *
 * Key files: written with O_CREAT|O_EXCL (never overwritten), mode fixed
 * with fchmod(), fsync'd, and removed again if writing fails. A private key
 * file (any file with a PRIVATE KEY block in it) is refused when its mode
 * grants anything to group or others, before its text is parsed. Encrypted
 * PEM is refused rather than prompting for a passphrase. Secret bytes read
 * or written pass through buffers that are cleansed before they are freed.
 *
 * Every OpenSSL failure leaves the thread's error queue empty (errors are
 * reported as MRX_E* codes, never through OpenSSL's queue).
 */
#include "key.h"
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#define ED25519_LEN 32		/* raw public key and seed */
#define ED448_LEN 57		/* recognised only to name it unsupported */
#define P256_LEN 32		/* one coordinate or the private scalar */
#define ECDSA_DER_MAX 72	/* SEQUENCE of two INTEGERs of up to 33 bytes */

struct cry_key {
	EVP_PKEY *pkey;			/* parsed key, read-only once made */
	enum cry_alg alg;		/* the one algorithm the key serves */
	bool priv;			/* holds the private part */
	uint8_t kid[CRY_KID_LEN];	/* SHA-256(spki)[0..16) */
	uint8_t spki[CRY_SPKI_MAX];	/* DER SubjectPublicKeyInfo */
	size_t spki_len;
};

const char *
cry_alg_name(enum cry_alg alg)
{
	switch (alg) {
	case CRY_ALG_EDDSA:
		return "EdDSA";
	case CRY_ALG_ES256:
		return "ES256";
	default:
		return NULL;
	}
}

int
cry_alg_parse(const char *s, enum cry_alg *out)
{
	if (s == NULL)
		return MRX_EINVAL;
	if (strcasecmp(s, "ed25519") == 0 || strcasecmp(s, "eddsa") == 0) {
		*out = CRY_ALG_EDDSA;
		return 0;
	}
	if (strcasecmp(s, "es256") == 0 || strcasecmp(s, "p256") == 0) {
		*out = CRY_ALG_ES256;
		return 0;
	}
	return MRX_EUNSUPPORTED;
}

int
cry_alg_from_cose(int64_t v, enum cry_alg *out)
{
	if (v == CRY_ALG_EDDSA || v == CRY_ALG_ES256) {
		*out = (enum cry_alg)v;
		return 0;
	}
	return MRX_EUNSUPPORTED;
}

/* Drops whatever OpenSSL queued and returns `code`. */
static int
ossl_fail(int code)
{
	ERR_clear_error();
	return code;
}

/*
 * Decides which of our algorithms `pkey` serves. Anything but Ed25519 and
 * EC on P-256 is MRX_EKEY, with `why` naming what it is.
 */
static int
key_classify(EVP_PKEY *pkey, enum cry_alg *alg, char *why, size_t cap)
{
	const char *type;
	char grp[64];
	size_t glen = 0;

	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		*alg = CRY_ALG_EDDSA;
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "EC")) {
		if (EVP_PKEY_get_group_name(pkey, grp, sizeof(grp),
		    &glen) != 1) {
			snprintf(why, cap, "EC key without a named curve");
			return ossl_fail(MRX_EKEY);
		}
		if (strcmp(grp, "prime256v1") == 0 ||
		    strcmp(grp, "P-256") == 0) {
			*alg = CRY_ALG_ES256;
			return 0;
		}
		snprintf(why, cap, "EC key on curve %s", grp);
		return MRX_EKEY;
	}
	type = EVP_PKEY_get0_type_name(pkey);
	snprintf(why, cap, "%s key", type != NULL ? type : "unknown");
	return MRX_EKEY;
}

/*
 * Takes ownership of `pkey` (freed on error) and makes the cry_key around
 * it: classification, SPKI and kid.
 */
static int
key_wrap(EVP_PKEY *pkey, bool priv, struct cry_key **out,
    struct mrx_diag *diag, const char *where)
{
	struct cry_key *k;
	uint8_t digest[CRY_SHA256_LEN], *p;
	char why[96];
	enum cry_alg alg = CRY_ALG_NONE;
	int n, rc;

	rc = key_classify(pkey, &alg, why, sizeof(why));
	if (rc != 0) {
		EVP_PKEY_free(pkey);
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, where,
		    "%s%s%s is not supported (Ed25519 or P-256 only)",
		    where[0] != '\0' ? where : "", where[0] != '\0' ? ": " : "",
		    why);
	}
	if (alg == CRY_ALG_ES256 && EVP_PKEY_set_utf8_string_param(pkey,
	    OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed") != 1) {
		EVP_PKEY_free(pkey);
		return ossl_fail(MRX_ECRYPTO);
	}
	n = i2d_PUBKEY(pkey, NULL);
	if (n <= 0 || n > CRY_SPKI_MAX) {
		EVP_PKEY_free(pkey);
		return ossl_fail(MRX_ECRYPTO);
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		EVP_PKEY_free(pkey);
		return MRX_ENOMEM;
	}
	p = k->spki;
	if (i2d_PUBKEY(pkey, &p) != n ||
	    cry_sha256(k->spki, (size_t)n, digest) != 0) {
		free(k);
		EVP_PKEY_free(pkey);
		return ossl_fail(MRX_ECRYPTO);
	}
	k->pkey = pkey;
	k->alg = alg;
	k->priv = priv;
	k->spki_len = (size_t)n;
	memcpy(k->kid, digest, CRY_KID_LEN);
	*out = k;
	return 0;
}

int
cry_key_generate(enum cry_alg alg, struct cry_key **out)
{
	EVP_PKEY *pkey;

	switch (alg) {
	case CRY_ALG_EDDSA:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case CRY_ALG_ES256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	default:
		return MRX_EUNSUPPORTED;
	}
	if (pkey == NULL)
		return ossl_fail(MRX_ECRYPTO);
	return key_wrap(pkey, true, out, NULL, "");
}

int
cry_key_from_seed(const uint8_t seed[32], struct cry_key **out)
{
	EVP_PKEY *pkey;

	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    ED25519_LEN);
	if (pkey == NULL)
		return ossl_fail(MRX_ECRYPTO);
	return key_wrap(pkey, true, out, NULL, "");
}

/* Ed25519 from x and/or d; with both, x must be d's public key. */
static int
raw_ed25519(const uint8_t *x, size_t xlen, const uint8_t *d, size_t dlen,
    EVP_PKEY **pkey)
{
	uint8_t pub[ED25519_LEN];
	size_t publen = sizeof(pub);

	if (xlen == ED448_LEN || dlen == ED448_LEN)
		return MRX_EUNSUPPORTED;
	if ((x != NULL && xlen != ED25519_LEN) ||
	    (d != NULL && dlen != ED25519_LEN) || (x == NULL && d == NULL))
		return MRX_EKEY;
	if (d == NULL) {
		*pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x,
		    xlen);
		return *pkey != NULL ? 0 : ossl_fail(MRX_EKEY);
	}
	*pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d, dlen);
	if (*pkey == NULL)
		return ossl_fail(MRX_EKEY);
	if (x != NULL && (EVP_PKEY_get_raw_public_key(*pkey, pub,
	    &publen) != 1 || publen != xlen || memcmp(pub, x, xlen) != 0)) {
		EVP_PKEY_free(*pkey);
		*pkey = NULL;
		return ossl_fail(MRX_EKEY);
	}
	return 0;
}

/* Checks an imported EC key: point on the curve, d matching it. */
static int
p256_check(EVP_PKEY *pkey, bool priv)
{
	EVP_PKEY_CTX *ctx;
	int ok;

	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (ctx == NULL)
		return ossl_fail(MRX_ENOMEM);
	ok = EVP_PKEY_public_check(ctx) == 1 &&
	    (!priv || EVP_PKEY_pairwise_check(ctx) == 1);
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : ossl_fail(MRX_EKEY);
}

/* P-256 from x, y and optional d, through EVP_PKEY_fromdata(). */
static int
raw_p256(const uint8_t *x, size_t xlen, const uint8_t *y, size_t ylen,
    const uint8_t *d, size_t dlen, EVP_PKEY **pkey)
{
	uint8_t pt[1 + 2 * P256_LEN];
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *bn = NULL;
	int rc = MRX_EKEY;

	if (xlen == 48 || xlen == 66 || dlen == 48 || dlen == 66)
		return MRX_EUNSUPPORTED;	/* P-384, P-521 */
	if (x == NULL || y == NULL || xlen != P256_LEN || ylen != P256_LEN ||
	    (d != NULL && dlen != P256_LEN))
		return MRX_EKEY;
	pt[0] = 0x04;
	memcpy(pt + 1, x, P256_LEN);
	memcpy(pt + 1 + P256_LEN, y, P256_LEN);
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL)
		return ossl_fail(MRX_ENOMEM);
	if (d != NULL && (bn = BN_secure_new()) != NULL &&
	    BN_bin2bn(d, (int)dlen, bn) == NULL) {
		BN_clear_free(bn);
		bn = NULL;
	}
	if ((d != NULL && bn == NULL) ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
	    sizeof(pt)) != 1 ||
	    (bn != NULL && OSSL_PARAM_BLD_push_BN(bld,
	    OSSL_PKEY_PARAM_PRIV_KEY, bn) != 1) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1) {
		rc = MRX_ECRYPTO;
	} else if (EVP_PKEY_fromdata(ctx, pkey, d != NULL ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_PUBLIC_KEY, params) == 1) {
		rc = p256_check(*pkey, d != NULL);
		if (rc != 0) {
			EVP_PKEY_free(*pkey);
			*pkey = NULL;
		}
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(bn);
	return rc != 0 ? ossl_fail(rc) : 0;
}

int
cry_key_from_raw(enum cry_alg alg, const uint8_t *x, size_t xlen,
    const uint8_t *y, size_t ylen, const uint8_t *d, size_t dlen,
    struct cry_key **out)
{
	EVP_PKEY *pkey = NULL;
	int rc;

	if (x == NULL)
		xlen = 0;
	if (y == NULL)
		ylen = 0;
	if (d == NULL)
		dlen = 0;
	switch (alg) {
	case CRY_ALG_EDDSA:
		rc = y != NULL ? MRX_EKEY :
		    raw_ed25519(x, xlen, d, dlen, &pkey);
		break;
	case CRY_ALG_ES256:
		rc = raw_p256(x, xlen, y, ylen, d, dlen, &pkey);
		break;
	default:
		rc = MRX_EUNSUPPORTED;
		break;
	}
	if (rc != 0)
		return rc;
	return key_wrap(pkey, d != NULL, out, NULL, "");
}

int
cry_key_from_spki(const uint8_t *der, size_t len, struct cry_key **out,
    struct mrx_diag *diag)
{
	const uint8_t *p = der;
	EVP_PKEY *pkey;

	if (der == NULL || len == 0)
		return mrx_diag_set(diag, MRX_EKEY, 0, "spki",
		    "empty SubjectPublicKeyInfo");
	if (len > CRY_KEYFILE_MAX)
		return mrx_diag_set(diag, MRX_ETOOBIG, 0, "spki",
		    "SubjectPublicKeyInfo of %zu bytes exceeds %d", len,
		    CRY_KEYFILE_MAX);
	ERR_set_mark();
	pkey = d2i_PUBKEY(NULL, &p, (long)len);
	ERR_pop_to_mark();
	if (pkey == NULL)
		return mrx_diag_set(diag, MRX_EKEY, 0, "spki",
		    "not a DER SubjectPublicKeyInfo");
	if (p != der + len) {
		EVP_PKEY_free(pkey);
		return mrx_diag_set(diag, MRX_EKEY, (size_t)(p - der), "spki",
		    "%zu bytes after the SubjectPublicKeyInfo",
		    len - (size_t)(p - der));
	}
	return key_wrap(pkey, false, out, diag, "spki");
}

int
cry_key_spki(const struct cry_key *key, uint8_t *buf, size_t cap,
    size_t *len)
{
	if (key == NULL || len == NULL)
		return MRX_EINVAL;
	*len = key->spki_len;
	if (buf == NULL || cap < key->spki_len)
		return MRX_ENOSPC;
	memcpy(buf, key->spki, key->spki_len);
	return 0;
}

/* Refuses to prompt: an encrypted key is an error, never a TTY read. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

enum pem_kind {
	PEM_NONE,
	PEM_PUBLIC,
	PEM_PRIVATE,
	PEM_ENCRYPTED,
	PEM_OTHER,
};

static const char *
find(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle), i;

	for (i = 0; m <= n && i <= n - m; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

/* The kind of the first PEM block in `pem`, by its label. */
static enum pem_kind
pem_kind(const char *pem, size_t len, char *label, size_t cap)
{
	static const char begin[] = "-----BEGIN ";
	const char *b, *e;
	size_t n;

	label[0] = '\0';
	b = find(pem, len, begin);
	if (b == NULL)
		return PEM_NONE;
	b += sizeof(begin) - 1;
	e = find(b, len - (size_t)(b - pem), "-----");
	if (e == NULL || e - b > 40)
		return PEM_NONE;
	n = (size_t)(e - b);
	snprintf(label, cap, "%.*s", (int)n, b);
	if (strcmp(label, "PUBLIC KEY") == 0)
		return PEM_PUBLIC;
	if (strcmp(label, "ENCRYPTED PRIVATE KEY") == 0 ||
	    find(pem, len, "Proc-Type: 4,ENCRYPTED") != NULL)
		return PEM_ENCRYPTED;
	if (n >= 11 && strcmp(label + n - 11, "PRIVATE KEY") == 0)
		return PEM_PRIVATE;
	return PEM_OTHER;
}

/* Parses PEM text of a known kind; `where` names it in diagnostics. */
static int
pem_parse(const char *pem, size_t len, enum pem_kind kind, const char *label,
    struct cry_key **out, struct mrx_diag *diag, const char *where)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio;

	switch (kind) {
	case PEM_NONE:
		return mrx_diag_set(diag, MRX_EKEY, MRX_DIAG_NO_OFFSET, where,
		    "%s: no PEM key found", where);
	case PEM_ENCRYPTED:
		return mrx_diag_set(diag, MRX_EKEY, MRX_DIAG_NO_OFFSET, where,
		    "%s: encrypted private keys are not supported", where);
	case PEM_OTHER:
		return mrx_diag_set(diag, MRX_EKEY, MRX_DIAG_NO_OFFSET, where,
		    "%s: PEM block '%s' is not a key", where, label);
	default:
		break;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		return ossl_fail(MRX_ENOMEM);
	/* The decoders may queue errors even when one of them succeeds. */
	ERR_set_mark();
	if (kind == PEM_PRIVATE)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	else
		pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	ERR_pop_to_mark();
	BIO_free(bio);
	if (pkey == NULL)
		return mrx_diag_set(diag, MRX_EKEY, MRX_DIAG_NO_OFFSET, where,
		    "%s: cannot parse the PEM %s (corrupt, or a key type "
		    "OpenSSL does not read)", where, label);
	return key_wrap(pkey, kind == PEM_PRIVATE, out, diag, where);
}

int
cry_key_from_pem(const char *pem, size_t len, struct cry_key **out,
    struct mrx_diag *diag)
{
	char label[48];

	if (pem == NULL)
		return MRX_EINVAL;
	if (len > CRY_KEYFILE_MAX)
		return mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET,
		    "pem", "PEM text of %zu bytes exceeds %d", len,
		    CRY_KEYFILE_MAX);
	return pem_parse(pem, len, pem_kind(pem, len, label, sizeof(label)),
	    label, out, diag, "pem");
}

/* Reads all of the open regular file `fd` (at most CRY_KEYFILE_MAX). */
static int
read_all(int fd, const char *path, char *buf, size_t cap, size_t *len,
    struct mrx_diag *diag)
{
	size_t n = 0;
	ssize_t r;

	for (;;) {
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET,
			    path, "cannot read %s: %s", path, strerror(errno));
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap)
			return mrx_diag_set(diag, MRX_ETOOBIG,
			    MRX_DIAG_NO_OFFSET, path,
			    "key file %s is larger than %d bytes", path,
			    CRY_KEYFILE_MAX);
	}
	*len = n;
	return 0;
}

static int
open_key_file(const char *path, struct stat *st, struct mrx_diag *diag)
{
	int fd, e;

	/* O_NONBLOCK: a FIFO in place of a key must not hang the caller. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT)
			return mrx_diag_set(diag, MRX_ENOENT,
			    MRX_DIAG_NO_OFFSET, path, "no key file %s", path);
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET, path,
		    "cannot open %s: %s", path, strerror(e));
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET, path,
		    "%s is not a regular file", path);
	}
	if (st->st_size > CRY_KEYFILE_MAX) {
		close(fd);
		return mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET, path,
		    "key file %s is larger than %d bytes", path,
		    CRY_KEYFILE_MAX);
	}
	return fd;
}

int
cry_key_load(const char *path, struct cry_key **out, struct mrx_diag *diag)
{
	char *buf, label[48];
	struct stat st;
	enum pem_kind kind;
	size_t len = 0;
	int fd, rc;

	if (path == NULL || out == NULL)
		return MRX_EINVAL;
	fd = open_key_file(path, &st, diag);
	if (fd < 0)
		return fd;
	buf = malloc(CRY_KEYFILE_MAX + 1);
	if (buf == NULL) {
		close(fd);
		return MRX_ENOMEM;
	}
	rc = read_all(fd, path, buf, CRY_KEYFILE_MAX + 1, &len, diag);
	close(fd);
	if (rc == 0) {
		kind = pem_kind(buf, len, label, sizeof(label));
		if (find(buf, len, "PRIVATE KEY-----") != NULL &&
		    (st.st_mode & 077) != 0)
			rc = mrx_diag_set(diag, MRX_EPERM, MRX_DIAG_NO_OFFSET,
			    path, "private key %s is readable by group or "
			    "others (mode %04o); chmod 600 it", path,
			    (unsigned)(st.st_mode & 07777));
		else
			rc = pem_parse(buf, len, kind, label, out, diag, path);
	}
	OPENSSL_cleanse(buf, CRY_KEYFILE_MAX + 1);
	free(buf);
	return rc;
}




static int
save_pem(const struct cry_key *key, const char *path, bool priv,
    struct mrx_diag *diag)
{
	BIO *bio;
	char *p = NULL;
	long n;
	int ok, rc;

	if (key == NULL || path == NULL)
		return MRX_EINVAL;
	if (priv && !key->priv)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET, path,
		    "cannot save %s: the key has no private part", path);
	bio = BIO_new(priv ? BIO_s_secmem() : BIO_s_mem());
	if (bio == NULL)
		return ossl_fail(MRX_ENOMEM);
	if (priv)
		ok = PEM_write_bio_PKCS8PrivateKey(bio, key->pkey, NULL, NULL,
		    0, NULL, NULL);
	else
		ok = PEM_write_bio_PUBKEY(bio, key->pkey);
	n = BIO_get_mem_data(bio, &p);
	if (ok != 1 || n <= 0 || p == NULL)
		rc = ossl_fail(MRX_ECRYPTO);
	else
		rc = cry_file_create(path, priv ? 0600 : 0644, p, (size_t)n,
		    diag);
	BIO_free(bio);
	return rc;
}

int
cry_key_save_private(const struct cry_key *key, const char *path,
    struct mrx_diag *diag)
{
	return save_pem(key, path, true, diag);
}

int
cry_key_save_public(const struct cry_key *key, const char *path,
    struct mrx_diag *diag)
{
	return save_pem(key, path, false, diag);
}

enum cry_alg
cry_key_alg(const struct cry_key *key)
{
	return key != NULL ? key->alg : CRY_ALG_NONE;
}

bool
cry_key_has_private(const struct cry_key *key)
{
	return key != NULL && key->priv;
}

const uint8_t *
cry_key_kid(const struct cry_key *key)
{
	return key->kid;
}

void
cry_key_free(struct cry_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

/* DER to raw r||s, each left-padded to 32 bytes. */
static int
ecdsa_der_to_raw(const uint8_t *der, size_t len, uint8_t sig[CRY_SIG_LEN])
{
	const uint8_t *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *es;
	int ok;

	es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	if (es == NULL)
		return ossl_fail(MRX_ECRYPTO);
	ECDSA_SIG_get0(es, &r, &s);
	ok = BN_bn2binpad(r, sig, P256_LEN) == P256_LEN &&
	    BN_bn2binpad(s, sig + P256_LEN, P256_LEN) == P256_LEN;
	ECDSA_SIG_free(es);
	return ok ? 0 : ossl_fail(MRX_ECRYPTO);
}

/* One DER INTEGER for the unsigned big-endian `v` (minimal, positive). */
static size_t
der_uint(uint8_t *out, const uint8_t *v, size_t n)
{
	size_t i = 0, len, pad;

	while (i + 1 < n && v[i] == 0)
		i++;
	len = n - i;
	pad = (v[i] & 0x80) != 0;
	out[0] = 0x02;
	out[1] = (uint8_t)(len + pad);
	out[2] = 0x00;
	memcpy(out + 2 + pad, v + i, len);
	return 2 + pad + len;
}

/* Raw r||s to DER in `der` (ECDSA_DER_MAX bytes); returns its length. */
static size_t
ecdsa_raw_to_der(const uint8_t sig[CRY_SIG_LEN], uint8_t der[ECDSA_DER_MAX])
{
	size_t n;

	n = der_uint(der + 2, sig, P256_LEN);
	n += der_uint(der + 2 + n, sig + P256_LEN, P256_LEN);
	der[0] = 0x30;
	der[1] = (uint8_t)n;	/* at most 70: short form */
	return 2 + n;
}

int
cry_sign(const struct cry_key *key, const uint8_t *msg, size_t len,
    uint8_t sig[CRY_SIG_LEN])
{
	static const uint8_t empty[1];
	uint8_t der[ECDSA_DER_MAX + 8];
	size_t n;
	EVP_MD_CTX *ctx;
	int rc = 0;

	if (key == NULL || sig == NULL || (msg == NULL && len > 0))
		return MRX_EINVAL;
	if (!key->priv)
		return MRX_EKEY;
	if (msg == NULL)
		msg = empty;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return ossl_fail(MRX_ENOMEM);
	if (key->alg == CRY_ALG_EDDSA) {
		n = CRY_SIG_LEN;
		if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) != 1 ||
		    EVP_DigestSign(ctx, sig, &n, msg, len) != 1 ||
		    n != CRY_SIG_LEN)
			rc = ossl_fail(MRX_ECRYPTO);
	} else {
		n = sizeof(der);
		if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL,
		    key->pkey) != 1 ||
		    EVP_DigestSign(ctx, der, &n, msg, len) != 1)
			rc = ossl_fail(MRX_ECRYPTO);
		else
			rc = ecdsa_der_to_raw(der, n, sig);
	}
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
cry_verify(const struct cry_key *key, enum cry_alg alg, const uint8_t *msg,
    size_t len, const uint8_t *sig, size_t siglen)
{
	static const uint8_t empty[1];
	uint8_t der[ECDSA_DER_MAX];
	const EVP_MD *md = NULL;
	const uint8_t *s = sig;
	EVP_MD_CTX *ctx;
	size_t slen = siglen;
	int rc;

	if (key == NULL || (msg == NULL && len > 0))
		return MRX_EINVAL;
	if (alg != key->alg)
		return MRX_EALG;
	if (sig == NULL || siglen != CRY_SIG_LEN)
		return MRX_ESIG;
	if (msg == NULL)
		msg = empty;
	if (alg == CRY_ALG_ES256) {
		slen = ecdsa_raw_to_der(sig, der);
		s = der;
		md = EVP_sha256();
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return ossl_fail(MRX_ENOMEM);
	if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, key->pkey) != 1)
		rc = ossl_fail(MRX_ECRYPTO);
	else if (EVP_DigestVerify(ctx, s, slen, msg, len) != 1)
		rc = ossl_fail(MRX_ESIG);
	else
		rc = 0;
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
cry_sha256(const void *p, size_t n, uint8_t out[CRY_SHA256_LEN])
{
	static const uint8_t empty[1];

	if (p == NULL && n > 0)
		return MRX_EINVAL;
	if (EVP_Digest(p != NULL ? p : empty, n, out, NULL, EVP_sha256(),
	    NULL) != 1)
		return ossl_fail(MRX_ECRYPTO);
	return 0;
}

int
cry_hmac_sha256(const uint8_t *key, size_t keylen, const void *p, size_t n,
    uint8_t out[CRY_SHA256_LEN])
{
	static const uint8_t empty[1];
	unsigned int olen = 0;

	if ((key == NULL && keylen > 0) || (p == NULL && n > 0) ||
	    keylen > INT_MAX)
		return MRX_EINVAL;
	if (HMAC(EVP_sha256(), key != NULL ? key : empty, (int)keylen,
	    p != NULL ? p : empty, n, out, &olen) == NULL ||
	    olen != CRY_SHA256_LEN)
		return ossl_fail(MRX_ECRYPTO);
	return 0;
}

int
cry_random(void *p, size_t n)
{
	uint8_t *b = p;
	int chunk;

	if (p == NULL && n > 0)
		return MRX_EINVAL;
	while (n > 0) {
		chunk = n > INT_MAX ? INT_MAX : (int)n;
		if (RAND_bytes(b, chunk) != 1)
			return ossl_fail(MRX_ECRYPTO);
		b += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}
