/*
 * x509.c - CA and node certificates for mutual TLS over OpenSSL 3.0 (see
 * x509.h for the contract and the certificate profile).
 *
 * Files: read through one bounded reader (regular files only, O_NONBLOCK so
 * that a FIFO cannot hang us, at most CRY_X509_FILE_MAX bytes); a buffer
 * that held a private key is cleansed before it is freed, and a key file is
 * refused before it is parsed when its mode grants group or others
 * anything. New files are created with O_CREAT|O_EXCL|O_NOFOLLOW, their
 * mode fixed with fchmod(), fsync'd, and unlinked again if writing fails.
 * `make_pair()` writes the key first and takes it back if the certificate
 * cannot be written, so a caller never sees a key without its certificate.
 *
 * Verification (`cry_x509_check`) mirrors what mbedTLS does on a link: the
 * CAs of the bundle are trust anchors even when they are not self-signed
 * (X509_V_FLAG_PARTIAL_CHAIN), the chain and every validity window are
 * judged at the time given, and the certificate must serve both as a TLS
 * client and as a TLS server, because a node both dials and listens.
 *
 * Every OpenSSL failure leaves the thread's error queue empty (errors are
 * reported as MRX_E* codes with a diag, never through OpenSSL's queue).
 */
#include "x509.h"
#include "file.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define NO_OFF MRX_DIAG_NO_OFFSET
#define SERIAL_LEN 16		/* random bytes of a serial number */
#define TIME_MAX 253402300799LL	/* 9999-12-31T23:59:59Z */
#define DAY_S 86400

struct cry_x509_ca {
	X509 *cert;		/* the CA's certificate */
	EVP_PKEY *key;		/* its private key, matching cert */
	int64_t not_after;	/* cert's notAfter, NumericDate */
};

/* Drops whatever OpenSSL queued and returns `code`. */
static int
ossl_fail(int code)
{
	ERR_clear_error();
	return code;
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

/* RFC 3339 UTC of t into buf (CRY_X509_TIME_STR bytes). */
static void
time_str(int64_t t, char *buf)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, CRY_X509_TIME_STR, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, CRY_X509_TIME_STR, "@%lld", (long long)t);
}

/* An ASN1_TIME as NumericDate seconds. */
static int
asn1_time_get(const ASN1_TIME *a, int64_t *out)
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
		return ossl_fail(MRX_EMALFORMED);
	t = timegm(&tm);
	*out = (int64_t)t;
	return 0;
}

/* ---- files ---- */

/*
 * Reads all of the regular file `path` (at most `max` bytes) into a new
 * NUL-terminated buffer of max + 1 bytes (*buf, the caller frees it,
 * cleansing it first if it may hold a secret). *st gets its stat.
 */
static int
file_read(const char *path, size_t max, char **buf, size_t *len,
    struct stat *st, struct mrx_diag *diag)
{
	size_t n = 0;
	ssize_t r = 0;
	char *b;
	int fd, e;

	*buf = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		return mrx_diag_set(diag, e == ENOENT ? MRX_ENOENT : MRX_EIO,
		    NO_OFF, path, "cannot open %s: %s", path, strerror(e));
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return mrx_diag_set(diag, MRX_EIO, NO_OFF, path,
		    "%s is not a regular file", path);
	}
	b = st->st_size > (off_t)max ? NULL : malloc(max + 1);
	while (b != NULL && n <= max) {
		r = read(fd, b + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	e = errno;
	close(fd);
	if (b == NULL || n > max) {
		free(b);
		if (st->st_size <= (off_t)max && n <= max)
			return MRX_ENOMEM;
		return mrx_diag_set(diag, MRX_ETOOBIG, NO_OFF, path,
		    "%s is larger than %zu bytes", path, max);
	}
	if (r < 0) {
		free(b);
		return mrx_diag_set(diag, MRX_EIO, NO_OFF, path,
		    "cannot read %s: %s", path, strerror(e));
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}




/* MRX_EEXIST if `path` names anything, even a dangling link. */
static int
refuse_existing(const char *path, struct mrx_diag *diag)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return mrx_diag_set(diag, MRX_EEXIST, NO_OFF, path,
		    "%s already exists; refusing to overwrite it", path);
	return 0;
}

/* Writes the contents of a memory BIO to a new file. */
static int
write_bio(BIO *bio, const char *path, mode_t mode, struct mrx_diag *diag)
{
	char *p = NULL;
	long n = BIO_get_mem_data(bio, &p);

	if (n <= 0 || p == NULL)
		return ossl_fail(MRX_ECRYPTO);
	return cry_file_create(path, mode, p, (size_t)n, diag);
}

static int
save_cert(X509 *x, const char *path, struct mrx_diag *diag)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rc;

	if (bio == NULL)
		return ossl_fail(MRX_ENOMEM);
	rc = PEM_write_bio_X509(bio, x) == 1 ?
	    write_bio(bio, path, 0644, diag) : ossl_fail(MRX_ECRYPTO);
	BIO_free(bio);
	return rc;
}

/* Unencrypted PKCS#8 PEM, through secure memory, mode 0600. */
static int
save_key(EVP_PKEY *key, const char *path, struct mrx_diag *diag)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	int rc;

	if (bio == NULL)
		return ossl_fail(MRX_ENOMEM);
	rc = PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL,
	    NULL) == 1 ? write_bio(bio, path, 0600, diag) :
	    ossl_fail(MRX_ECRYPTO);
	BIO_free(bio);
	return rc;
}

/* Key first, then certificate; the key is taken back if the cert fails. */
static int
make_pair(X509 *x, EVP_PKEY *key, const char *cert_path,
    const char *key_path, struct mrx_diag *diag)
{
	int rc;

	rc = save_key(key, key_path, diag);
	if (rc != 0)
		return rc;
	rc = save_cert(x, cert_path, diag);
	if (rc != 0)
		unlink(key_path);
	return rc;
}

/* ---- parsing ---- */

/* Frees a stack of certificates (NULL is fine). */
static void
certs_free(STACK_OF(X509) *sk)
{
	sk_X509_pop_free(sk, X509_free);
}

/*
 * Every CERTIFICATE block of the PEM text `pem` (other blocks skipped), at
 * most `max`. None, or one that does not parse, is MRX_EMALFORMED.
 */
static int
certs_parse(const char *pem, size_t len, const char *path, size_t max,
    STACK_OF(X509) **out, struct mrx_diag *diag)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	unsigned long e;
	X509 *x;
	int rc = 0;

	if (sk == NULL || bio == NULL) {
		rc = ossl_fail(MRX_ENOMEM);
		goto out;
	}
	ERR_set_mark();
	while (rc == 0 && (x = PEM_read_bio_X509(bio, NULL, no_passphrase,
	    NULL)) != NULL) {
		if ((size_t)sk_X509_num(sk) == max)
			rc = mrx_diag_set(diag, MRX_ETOOBIG, NO_OFF, path,
			    "%s holds more than %zu certificates", path, max);
		else if (sk_X509_push(sk, x) <= 0)
			rc = MRX_ENOMEM;
		if (rc != 0)
			X509_free(x);
	}
	e = ERR_peek_last_error();
	ERR_pop_to_mark();
	if (rc == 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
		rc = mrx_diag_set(diag, MRX_EMALFORMED, NO_OFF, path,
		    "%s: certificate %d is corrupt (not a DER X.509 "
		    "certificate in PEM)", path, sk_X509_num(sk) + 1);
	if (rc == 0 && sk_X509_num(sk) == 0)
		rc = mrx_diag_set(diag, MRX_EMALFORMED, NO_OFF, path,
		    "%s holds no PEM certificate", path);
out:
	BIO_free(bio);
	if (rc != 0) {
		certs_free(sk);
		sk = NULL;
	}
	*out = sk;
	return rc;
}

static int
certs_load(const char *path, size_t max, STACK_OF(X509) **out,
    struct mrx_diag *diag)
{
	struct stat st;
	size_t len = 0;
	char *buf;
	int rc;

	*out = NULL;
	rc = file_read(path, CRY_X509_FILE_MAX, &buf, &len, &st, diag);
	if (rc != 0)
		return rc;
	rc = certs_parse(buf, len, path, max, out, diag);
	free(buf);
	return rc;
}

/* A private key (EC or RSA: what mbedTLS verifies in certificates). */
static int
key_parse(const char *pem, size_t len, const char *path, EVP_PKEY **out,
    struct mrx_diag *diag)
{
	EVP_PKEY *key;
	BIO *bio;

	*out = NULL;
	if (strstr(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL ||
	    strstr(pem, "Proc-Type: 4,ENCRYPTED") != NULL)
		return mrx_diag_set(diag, MRX_EKEY, NO_OFF, path,
		    "%s: encrypted private keys are not supported", path);
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		return ossl_fail(MRX_ENOMEM);
	ERR_set_mark();
	key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	ERR_pop_to_mark();
	BIO_free(bio);
	if (key == NULL)
		return mrx_diag_set(diag, MRX_EKEY, NO_OFF, path,
		    "%s holds no PEM private key that can be read", path);
	if (!EVP_PKEY_is_a(key, "EC") && !EVP_PKEY_is_a(key, "RSA")) {
		EVP_PKEY_free(key);
		return mrx_diag_set(diag, MRX_EUNSUPPORTED, NO_OFF, path,
		    "%s: a %s key; TLS certificates need EC (P-256) or RSA "
		    "keys, which mbedTLS can verify", path,
		    EVP_PKEY_get0_type_name(key) != NULL ?
		    EVP_PKEY_get0_type_name(key) : "unknown");
	}
	*out = key;
	return 0;
}

static int
key_load(const char *path, EVP_PKEY **out, struct mrx_diag *diag)
{
	struct stat st;
	size_t len = 0;
	char *buf;
	int rc;

	*out = NULL;
	rc = file_read(path, CRY_KEYFILE_MAX, &buf, &len, &st, diag);
	if (rc != 0)
		return rc;
	if ((st.st_mode & 077) != 0)
		rc = mrx_diag_set(diag, MRX_EPERM, NO_OFF, path,
		    "private key %s is readable by group or others (mode "
		    "%04o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
	else
		rc = key_parse(buf, len, path, out, diag);
	OPENSSL_cleanse(buf, CRY_KEYFILE_MAX + 1);
	free(buf);
	return rc;
}

/* ---- building ---- */

int
cry_x509_validity_days(int64_t now, int days, struct cry_x509_validity *v)
{
	if (v == NULL || days < 1 || days > CRY_X509_DAYS_MAX ||
	    now < CRY_X509_BACKDATE_S ||
	    now > TIME_MAX - (int64_t)days * DAY_S)
		return MRX_ERANGE;
	v->not_before = now - CRY_X509_BACKDATE_S;
	v->not_after = now + (int64_t)days * DAY_S;
	return 0;
}

static int
validity_check(const struct cry_x509_validity *v, struct mrx_diag *diag)
{
	if (v == NULL || v->not_before < 0 || v->not_after <= v->not_before ||
	    v->not_after > TIME_MAX)
		return mrx_diag_set(diag, MRX_ERANGE, NO_OFF, "validity",
		    "the validity window must end after it begins, between "
		    "1970 and 9999");
	return 0;
}

/* 1..CRY_X509_CN_MAX printable ASCII characters. */
static bool
cn_ok(const char *s)
{
	size_t i, n = s != NULL ? strnlen(s, CRY_X509_CN_MAX + 1) : 0;

	if (n == 0 || n > CRY_X509_CN_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/* A DNS name: dot-separated labels of 1..63 letters, digits and '-'. */
static bool
dns_ok(const char *s)
{
	size_t i, label = 0, n = strnlen(s, CRY_X509_HOST_MAX + 1);
	char c, prev = '.';

	if (n == 0 || n > CRY_X509_HOST_MAX)
		return false;
	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '.') {
			if (label == 0 || prev == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
		prev = c;
	}
	return label > 0 && prev != '-';
}

bool
cry_x509_id_ok(const char *s)
{
	return s != NULL && dns_ok(s) && strlen(s) <= CRY_X509_CN_MAX;
}

bool
cry_x509_host_ok(const char *s)
{
	uint8_t a[16];

	return s != NULL && (inet_pton(AF_INET, s, a) == 1 ||
	    inet_pton(AF_INET6, s, a) == 1 || dns_ok(s));
}

/* A random positive serial of SERIAL_LEN bytes (never zero). */
static int
serial_set(X509 *x)
{
	uint8_t rnd[SERIAL_LEN];
	BIGNUM *bn = NULL;
	int rc;

	do {
		rc = cry_random(rnd, sizeof(rnd));
		if (rc != 0)
			return rc;
		BN_free(bn);
		bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
	} while (bn != NULL && BN_is_zero(bn));
	rc = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) !=
	    NULL ? 0 : ossl_fail(MRX_ENOMEM);
	BN_free(bn);
	return rc;
}

static int
name_set_cn(X509_NAME *name, const char *cn)
{
	if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1)
		return ossl_fail(MRX_ENOMEM);
	return 0;
}

static int
ext_add(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	int ok;

	if (e == NULL)
		return ossl_fail(MRX_ECRYPTO);
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok == 1 ? 0 : ossl_fail(MRX_ENOMEM);
}

/*
 * A version 3 certificate of `key` for `cn`, with the serial and window,
 * issued by `issuer_name` (NULL: itself).
 */
static int
cert_start(EVP_PKEY *key, const char *cn, const X509_NAME *issuer_name,
    const struct cry_x509_validity *v, X509 **out)
{
	X509 *x = X509_new();
	int rc;

	*out = NULL;
	if (x == NULL)
		return ossl_fail(MRX_ENOMEM);
	rc = serial_set(x);
	if (rc == 0 && (X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_set_pubkey(x, key) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)v->not_before) ==
	    NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)v->not_after) ==
	    NULL))
		rc = ossl_fail(MRX_ECRYPTO);
	if (rc == 0)
		rc = name_set_cn(X509_get_subject_name(x), cn);
	if (rc == 0 && (issuer_name != NULL ?
	    X509_set_issuer_name(x, issuer_name) :
	    X509_set_issuer_name(x, X509_get_subject_name(x))) != 1)
		rc = ossl_fail(MRX_ENOMEM);
	if (rc != 0) {
		X509_free(x);
		return rc;
	}
	*out = x;
	return 0;
}

static int
cert_sign(X509 *x, EVP_PKEY *key)
{
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		return ossl_fail(MRX_ECRYPTO);
	return 0;
}

static int
p256_new(EVP_PKEY **out)
{
	*out = EVP_EC_gen("P-256");
	return *out != NULL ? 0 : ossl_fail(MRX_ECRYPTO);
}

int
cry_x509_ca_create(const char *cn, const struct cry_x509_validity *v,
    const char *cert_path, const char *key_path, struct mrx_diag *diag)
{
	EVP_PKEY *key = NULL;
	X509V3_CTX ctx;
	X509 *x = NULL;
	int rc;

	if (cert_path == NULL || key_path == NULL)
		return MRX_EINVAL;
	if (!cn_ok(cn))
		return mrx_diag_set(diag, MRX_EINVAL, NO_OFF, "name",
		    "a CA's name must have 1 to %d printable ASCII characters",
		    CRY_X509_CN_MAX);
	rc = validity_check(v, diag);
	if (rc == 0)
		rc = refuse_existing(cert_path, diag);
	if (rc == 0)
		rc = refuse_existing(key_path, diag);
	if (rc == 0)
		rc = p256_new(&key);
	if (rc == 0)
		rc = cert_start(key, cn, NULL, v, &x);
	if (rc == 0) {
		X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
		rc = ext_add(x, &ctx, NID_basic_constraints,
		    "critical,CA:TRUE,pathlen:0");
	}
	if (rc == 0)
		rc = ext_add(x, &ctx, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
	if (rc == 0)
		rc = ext_add(x, &ctx, NID_subject_key_identifier, "hash");
	if (rc == 0)
		rc = cert_sign(x, key);
	if (rc == 0)
		rc = make_pair(x, key, cert_path, key_path, diag);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* ---- the CA ---- */

/* Is `x` valid at `now`? MRX_ERANGE naming `what` and the bound if not. */
static int
window_check(X509 *x, int64_t now, const char *path, const char *what,
    struct mrx_diag *diag)
{
	int64_t nb, na;
	char t[CRY_X509_TIME_STR];

	if (asn1_time_get(X509_get0_notBefore(x), &nb) != 0 ||
	    asn1_time_get(X509_get0_notAfter(x), &na) != 0)
		return mrx_diag_set(diag, MRX_EMALFORMED, NO_OFF, path,
		    "%s: %s has an unreadable validity", path, what);
	if (now > na) {
		time_str(na, t);
		return mrx_diag_set(diag, MRX_ERANGE, NO_OFF, path,
		    "%s: %s expired at %s", path, what, t);
	}
	if (now < nb) {
		time_str(nb, t);
		return mrx_diag_set(diag, MRX_ERANGE, NO_OFF, path,
		    "%s: %s is not valid before %s", path, what, t);
	}
	return 0;
}

static bool
cert_is_ca(X509 *x)
{
	return (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
}

/* The one certificate of a CA file, a CA valid at `now`. */
static int
ca_cert_load(const char *path, int64_t now, X509 **out, struct mrx_diag *diag)
{
	STACK_OF(X509) *sk = NULL;
	int rc;

	*out = NULL;
	rc = certs_load(path, CRY_X509_BUNDLE_MAX, &sk, diag);
	if (rc != 0)
		return rc;
	if (sk_X509_num(sk) != 1)
		rc = mrx_diag_set(diag, MRX_EINVAL, NO_OFF, path,
		    "%s holds %d certificates; a CA's certificate file holds "
		    "exactly one", path, sk_X509_num(sk));
	else if (!cert_is_ca(sk_X509_value(sk, 0)) ||
	    X509_check_ca(sk_X509_value(sk, 0)) == 0)
		rc = mrx_diag_set(diag, MRX_EINVAL, NO_OFF, path,
		    "%s is not a CA certificate (basicConstraints CA:TRUE and "
		    "keyCertSign are needed)", path);
	else
		rc = window_check(sk_X509_value(sk, 0), now, path,
		    "the CA certificate", diag);
	if (rc == 0)
		*out = sk_X509_shift(sk);
	certs_free(sk);
	return rc;
}

int
cry_x509_ca_load(const char *cert_path, const char *key_path, int64_t now,
    struct cry_x509_ca **out, struct mrx_diag *diag)
{
	struct cry_x509_ca *ca;
	int rc;

	if (out == NULL || cert_path == NULL || key_path == NULL)
		return MRX_EINVAL;
	*out = NULL;
	ca = calloc(1, sizeof(*ca));
	if (ca == NULL)
		return MRX_ENOMEM;
	rc = ca_cert_load(cert_path, now, &ca->cert, diag);
	if (rc == 0)
		rc = key_load(key_path, &ca->key, diag);
	if (rc == 0 && X509_check_private_key(ca->cert, ca->key) != 1)
		rc = mrx_diag_set(diag, ossl_fail(MRX_EKEY), NO_OFF, key_path,
		    "%s is not the private key of the CA certificate %s",
		    key_path, cert_path);
	if (rc == 0)
		rc = asn1_time_get(X509_get0_notAfter(ca->cert),
		    &ca->not_after);
	if (rc != 0) {
		cry_x509_ca_free(ca);
		return rc;
	}
	*out = ca;
	return 0;
}

void
cry_x509_ca_free(struct cry_x509_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca);
}

int64_t
cry_x509_ca_not_after(const struct cry_x509_ca *ca)
{
	return ca->not_after;
}

int
cry_x509_ca_save_cert(const struct cry_x509_ca *ca, const char *path,
    struct mrx_diag *diag)
{
	if (ca == NULL || path == NULL)
		return MRX_EINVAL;
	return save_cert(ca->cert, path, diag);
}

/* ---- node certificates ---- */

/* Appends one entry to `gens` unless an equal one is there. */
static int
san_push(GENERAL_NAMES *gens, int type, const void *p, size_t n)
{
	GENERAL_NAME *g;
	ASN1_STRING *s;
	int i, t;

	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		s = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, i), &t);
		if (t == type && (size_t)ASN1_STRING_length(s) == n &&
		    (type == GEN_IPADD ? memcmp(ASN1_STRING_get0_data(s), p,
		    n) : strncasecmp((const char *)ASN1_STRING_get0_data(s),
		    p, n)) == 0)
			return 0;
	}
	if (sk_GENERAL_NAME_num(gens) == CRY_X509_SAN_MAX)
		return MRX_ETOOBIG;
	g = GENERAL_NAME_new();
	s = type == GEN_IPADD ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
	if (g == NULL || s == NULL || ASN1_STRING_set(s, p, (int)n) != 1) {
		GENERAL_NAME_free(g);
		ASN1_STRING_free(s);
		return ossl_fail(MRX_ENOMEM);
	}
	GENERAL_NAME_set0_value(g, type, s);
	if (sk_GENERAL_NAME_push(gens, g) <= 0) {
		GENERAL_NAME_free(g);
		return ossl_fail(MRX_ENOMEM);
	}
	return 0;
}

/* A host: an IPv4 or IPv6 address, else a DNS name. */
static int
san_push_host(GENERAL_NAMES *gens, const char *h, struct mrx_diag *diag)
{
	uint8_t a[16];
	int rc;

	if (inet_pton(AF_INET, h, a) == 1)
		rc = san_push(gens, GEN_IPADD, a, 4);
	else if (inet_pton(AF_INET6, h, a) == 1)
		rc = san_push(gens, GEN_IPADD, a, 16);
	else if (dns_ok(h))
		rc = san_push(gens, GEN_DNS, h, strlen(h));
	else
		return mrx_diag_set(diag, MRX_EINVAL, NO_OFF, "host",
		    "'%.*s' is neither an IP address nor a DNS name", 80, h);
	if (rc == MRX_ETOOBIG)
		return mrx_diag_set(diag, rc, NO_OFF, "host",
		    "more than %d subjectAltName entries", CRY_X509_SAN_MAX);
	return rc;
}

/* DNS:<id>, then the hosts given or the loopback defaults. */
static int
san_build(const struct cry_x509_node_req *req, GENERAL_NAMES **out,
    struct mrx_diag *diag)
{
	static const char *const defaults[] = { "localhost", "127.0.0.1",
		"::1" };
	const char *const *hosts = req->nhosts > 0 ? req->hosts : defaults;
	size_t i, n = req->nhosts > 0 ? req->nhosts : 3;
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	int rc;

	*out = NULL;
	if (gens == NULL)
		return ossl_fail(MRX_ENOMEM);
	rc = san_push_host(gens, req->id, diag);
	for (i = 0; rc == 0 && i < n; i++)
		rc = hosts[i] != NULL ? san_push_host(gens, hosts[i], diag) :
		    MRX_EINVAL;
	if (rc != 0) {
		GENERAL_NAMES_free(gens);
		return rc;
	}
	*out = gens;
	return 0;
}

static int
node_req_check(const struct cry_x509_ca *ca,
    const struct cry_x509_node_req *req, struct mrx_diag *diag)
{
	char t[CRY_X509_TIME_STR], u[CRY_X509_TIME_STR];
	int rc;

	if (!cry_x509_id_ok(req->id))
		return mrx_diag_set(diag, MRX_EINVAL, NO_OFF, "id",
		    "a node's id must be a DNS name of at most %d characters "
		    "(letters, digits and '-' in dot-separated labels)",
		    CRY_X509_CN_MAX);
	if (req->nhosts > 0 && req->hosts == NULL)
		return MRX_EINVAL;
	rc = validity_check(&req->v, diag);
	if (rc == 0 && req->v.not_after > ca->not_after) {
		time_str(req->v.not_after, t);
		time_str(ca->not_after, u);
		rc = mrx_diag_set(diag, MRX_ERANGE, NO_OFF, "validity",
		    "the certificate would be valid until %s, after its CA "
		    "expires (%s); give fewer days or renew the CA", t, u);
	}
	return rc;
}

/* The node profile's extensions on `x`, issued by ca. */
static int
node_exts(const struct cry_x509_ca *ca, X509 *x, GENERAL_NAMES *gens)
{
	X509V3_CTX ctx;
	int rc;

	X509V3_set_ctx(&ctx, ca->cert, x, NULL, NULL, 0);
	rc = ext_add(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
	if (rc == 0)
		rc = ext_add(x, &ctx, NID_key_usage,
		    "critical,digitalSignature");
	if (rc == 0)
		rc = ext_add(x, &ctx, NID_ext_key_usage,
		    "serverAuth,clientAuth");
	if (rc == 0)
		rc = ext_add(x, &ctx, NID_subject_key_identifier, "hash");
	if (rc == 0)
		rc = ext_add(x, &ctx, NID_authority_key_identifier,
		    "keyid:always");
	if (rc == 0 && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) != 1)
		rc = ossl_fail(MRX_ENOMEM);
	return rc;
}

int
cry_x509_issue(const struct cry_x509_ca *ca,
    const struct cry_x509_node_req *req, const char *cert_path,
    const char *key_path, struct mrx_diag *diag)
{
	GENERAL_NAMES *gens = NULL;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	int rc;

	if (ca == NULL || req == NULL || cert_path == NULL || key_path == NULL)
		return MRX_EINVAL;
	rc = node_req_check(ca, req, diag);
	if (rc == 0)
		rc = san_build(req, &gens, diag);
	if (rc == 0)
		rc = refuse_existing(cert_path, diag);
	if (rc == 0)
		rc = refuse_existing(key_path, diag);
	if (rc == 0)
		rc = p256_new(&key);
	if (rc == 0)
		rc = cert_start(key, req->id,
		    X509_get_subject_name(ca->cert), &req->v, &x);
	if (rc == 0)
		rc = node_exts(ca, x, gens);
	if (rc == 0 && X509_sign(x, ca->key, EVP_sha256()) <= 0)
		rc = mrx_diag_set(diag, ossl_fail(MRX_ECRYPTO), NO_OFF, "ca",
		    "the CA's key cannot sign a certificate");
	if (rc == 0)
		rc = make_pair(x, key, cert_path, key_path, diag);
	GENERAL_NAMES_free(gens);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* ---- describing ---- */

/* Copies n bytes as printable ASCII ('?' for anything else). */
static void
printable(char *dst, size_t cap, const unsigned char *p, size_t n)
{
	size_t i;

	if (cap == 0)
		return;
	for (i = 0; i < n && i + 1 < cap; i++)
		dst[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	dst[i] = '\0';
}

static void
cn_get(const X509_NAME *name, char *dst, size_t cap)
{
	const ASN1_STRING *s;
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);

	dst[0] = '\0';
	if (i < 0)
		return;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	if (s != NULL)
		printable(dst, cap, ASN1_STRING_get0_data(s),
		    (size_t)ASN1_STRING_length(s));
}

static void
san_str(const GENERAL_NAME *g, char *dst, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	const ASN1_STRING *s;
	int type;

	s = GENERAL_NAME_get0_value(g, &type);
	if ((type == GEN_DNS || type == GEN_EMAIL || type == GEN_URI) &&
	    s != NULL) {
		snprintf(dst, cap, "%s:", type == GEN_DNS ? "DNS" :
		    type == GEN_EMAIL ? "email" : "URI");
		printable(dst + strlen(dst), cap - strlen(dst),
		    ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
	} else if (type == GEN_IPADD && s != NULL &&
	    (ASN1_STRING_length(s) == 4 || ASN1_STRING_length(s) == 16) &&
	    inet_ntop(ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6,
	    ASN1_STRING_get0_data(s), ip, sizeof(ip)) != NULL) {
		snprintf(dst, cap, "IP:%s", ip);
	} else {
		snprintf(dst, cap, "other:type %d", type);
	}
}

static void
sans_get(X509 *x, struct cry_x509_info *info)
{
	GENERAL_NAMES *gens;
	int i, n;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	ERR_clear_error();
	n = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0;
	for (i = 0; i < n; i++) {
		if (info->nsan == CRY_X509_SAN_MAX) {
			info->san_more = true;
			break;
		}
		san_str(sk_GENERAL_NAME_value(gens, i), info->san[info->nsan],
		    sizeof(info->san[0]));
		info->nsan++;
	}
	GENERAL_NAMES_free(gens);
}

static void
key_desc(X509 *x, char *dst, size_t cap)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	char grp[64];
	const char *nist;
	size_t glen = 0;

	if (k == NULL) {
		snprintf(dst, cap, "unknown");
	} else if (EVP_PKEY_is_a(k, "EC") &&
	    EVP_PKEY_get_group_name(k, grp, sizeof(grp), &glen) == 1) {
		nist = EC_curve_nid2nist(OBJ_txt2nid(grp));
		snprintf(dst, cap, "EC %.24s", nist != NULL ? nist : grp);
	} else if (EVP_PKEY_is_a(k, "RSA")) {
		snprintf(dst, cap, "RSA %d", EVP_PKEY_get_bits(k));
	} else {
		snprintf(dst, cap, "%s", EVP_PKEY_get0_type_name(k) != NULL ?
		    EVP_PKEY_get0_type_name(k) : "unknown");
	}
	ERR_clear_error();
}

static void
serial_get(X509 *x, char *dst, size_t cap)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	size_t i;

	snprintf(dst, cap, "%s", hex != NULL ? hex : "?");
	for (i = 0; dst[i] != '\0'; i++)
		if (dst[i] >= 'A' && dst[i] <= 'F')
			dst[i] = (char)(dst[i] - 'A' + 'a');
	OPENSSL_free(hex);
	BN_free(bn);
	ERR_clear_error();
}

static int
info_fill(X509 *x, struct cry_x509_info *info)
{
	unsigned int mdlen = 0;
	uint32_t fl;

	memset(info, 0, sizeof(*info));
	cn_get(X509_get_subject_name(x), info->subject_cn,
	    sizeof(info->subject_cn));
	cn_get(X509_get_issuer_name(x), info->issuer_cn,
	    sizeof(info->issuer_cn));
	sans_get(x, info);
	if (asn1_time_get(X509_get0_notBefore(x), &info->not_before) != 0 ||
	    asn1_time_get(X509_get0_notAfter(x), &info->not_after) != 0)
		return MRX_EMALFORMED;
	time_str(info->not_before, info->not_before_str);
	time_str(info->not_after, info->not_after_str);
	if (X509_digest(x, EVP_sha256(), info->sha256, &mdlen) != 1 ||
	    mdlen != CRY_SHA256_LEN)
		return ossl_fail(MRX_ECRYPTO);
	serial_get(x, info->serial, sizeof(info->serial));
	fl = X509_get_extension_flags(x);
	info->is_ca = (fl & EXFLAG_CA) != 0;
	info->pathlen = info->is_ca ? (int)X509_get_pathlen(x) : -1;
	info->self_signed = (fl & EXFLAG_SS) != 0;
	key_desc(x, info->key, sizeof(info->key));
	return 0;
}

int
cry_x509_describe_file(const char *path, struct cry_x509_info *out,
    size_t cap, size_t *n, struct mrx_diag *diag)
{
	STACK_OF(X509) *sk = NULL;
	size_t i;
	int rc;

	if (path == NULL || n == NULL || (out == NULL && cap > 0))
		return MRX_EINVAL;
	*n = 0;
	rc = certs_load(path, cap < CRY_X509_BUNDLE_MAX ? cap :
	    CRY_X509_BUNDLE_MAX, &sk, diag);
	for (i = 0; rc == 0 && i < (size_t)sk_X509_num(sk); i++) {
		rc = info_fill(sk_X509_value(sk, (int)i), &out[i]);
		if (rc != 0)
			mrx_diag_set(diag, rc, NO_OFF, path, "%s: certificate "
			    "%zu has an unreadable validity or digest", path,
			    i + 1);
	}
	if (rc == 0)
		*n = i;
	certs_free(sk);
	return rc;
}

/* ---- checking ---- */

/* The node's certificate (first) and any intermediates after it. */
static int
check_cert(const char *path, STACK_OF(X509) **sk, struct mrx_diag *diag)
{
	int rc;

	rc = certs_load(path, CRY_X509_BUNDLE_MAX, sk, diag);
	if (rc == 0 && cert_is_ca(sk_X509_value(*sk, 0)))
		rc = mrx_diag_set(diag, MRX_EINVAL, NO_OFF, path,
		    "%s is a CA certificate, not a node's certificate", path);
	return rc;
}

static int
check_key(const char *path, const char *cert_path, X509 *leaf,
    struct mrx_diag *diag)
{
	EVP_PKEY *key = NULL;
	int rc;

	rc = key_load(path, &key, diag);
	if (rc == 0 && X509_check_private_key(leaf, key) != 1)
		rc = mrx_diag_set(diag, ossl_fail(MRX_EKEY), NO_OFF, path,
		    "%s does not belong to the certificate in %s (their "
		    "public keys differ)", path, cert_path);
	EVP_PKEY_free(key);
	return rc;
}

/* Every certificate of the bundle is a CA. */
static int
check_bundle(const char *path, STACK_OF(X509) **sk, struct mrx_diag *diag)
{
	char cn[CRY_X509_CN_MAX + 1];
	int i, rc;

	rc = certs_load(path, CRY_X509_BUNDLE_MAX, sk, diag);
	for (i = 0; rc == 0 && i < sk_X509_num(*sk); i++)
		if (!cert_is_ca(sk_X509_value(*sk, i))) {
			cn_get(X509_get_subject_name(sk_X509_value(*sk, i)),
			    cn, sizeof(cn));
			rc = mrx_diag_set(diag, MRX_EINVAL, NO_OFF, path,
			    "%s: certificate %d (CN '%s') is not a CA; the "
			    "bundle may hold only CA certificates", path,
			    i + 1, cn);
		}
	return rc;
}

/* Turns a verification error into a diag naming the file at fault. */
static int
verify_diag(X509_STORE_CTX *ctx, const char *cert_path, const char *ca_path,
    struct mrx_diag *diag)
{
	int err = X509_STORE_CTX_get_error(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
	const char *path = depth > 0 ? ca_path : cert_path;
	char cn[CRY_X509_CN_MAX + 1] = "", what[CRY_X509_CN_MAX + 40];

	if (cur != NULL)
		cn_get(X509_get_subject_name(cur), cn, sizeof(cn));
	snprintf(what, sizeof(what), "%s '%s'", depth > 0 ? "the CA" :
	    "the certificate of", cn);
	switch (err) {
	/* judged at the end (start) of time: says when it ended (begins) */
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return cur != NULL ? window_check(cur,
		    err == X509_V_ERR_CERT_HAS_EXPIRED ? INT64_MAX : INT64_MIN,
		    path, what, diag) : MRX_ERANGE;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		cn_get(X509_get_issuer_name(cur != NULL ? cur :
		    X509_STORE_CTX_get0_cert(ctx)), cn, sizeof(cn));
		return mrx_diag_set(diag, MRX_ESIG, NO_OFF, cert_path,
		    "%s was issued by '%s', which is not a CA in %s", cert_path,
		    cn, ca_path);
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return mrx_diag_set(diag, MRX_ESIG, NO_OFF, path,
		    "%s: the signature on %s does not verify with its CA in %s",
		    path, what, ca_path);
	case X509_V_ERR_INVALID_PURPOSE:
		return mrx_diag_set(diag, MRX_EINVAL, NO_OFF, path,
		    "%s: %s may not serve as TLS client and server (keyUsage "
		    "digitalSignature and extendedKeyUsage serverAuth, "
		    "clientAuth are needed)", path, what);
	default:
		return mrx_diag_set(diag, MRX_ESIG, NO_OFF, path,
		    "%s: %s does not verify against %s: %s", path, what,
		    ca_path, X509_verify_cert_error_string(err));
	}
}

/* Verifies the chain at `at` for one TLS purpose. */
static int
verify_as(X509_STORE *store, STACK_OF(X509) *cert, int purpose, int64_t at,
    const char *cert_path, const char *ca_path, struct mrx_diag *diag)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	int rc = 0;

	if (ctx == NULL || X509_STORE_CTX_init(ctx, store,
	    sk_X509_value(cert, 0), cert) != 1) {
		X509_STORE_CTX_free(ctx);
		return ossl_fail(MRX_ENOMEM);
	}
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, (time_t)at);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	if (X509_STORE_CTX_set_purpose(ctx, purpose) != 1)
		rc = ossl_fail(MRX_ECRYPTO);
	else if (X509_verify_cert(ctx) != 1)
		rc = verify_diag(ctx, cert_path, ca_path, diag);
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	return rc;
}

static int
check_chain(STACK_OF(X509) *cert, STACK_OF(X509) *cas, int64_t at,
    const char *cert_path, const char *ca_path, struct mrx_diag *diag)
{
	X509_STORE *store = X509_STORE_new();
	int i, rc = 0;

	if (store == NULL)
		return ossl_fail(MRX_ENOMEM);
	for (i = 0; rc == 0 && i < sk_X509_num(cas); i++)
		if (X509_STORE_add_cert(store, sk_X509_value(cas, i)) != 1)
			rc = ossl_fail(MRX_ENOMEM);
	if (rc == 0)
		rc = verify_as(store, cert, X509_PURPOSE_SSL_SERVER, at,
		    cert_path, ca_path, diag);
	if (rc == 0)
		rc = verify_as(store, cert, X509_PURPOSE_SSL_CLIENT, at,
		    cert_path, ca_path, diag);
	X509_STORE_free(store);
	return rc;
}

int
cry_x509_check(const char *cert_path, const char *key_path,
    const char *ca_path, int64_t at, struct cry_x509_info *leaf,
    struct mrx_diag *diag)
{
	STACK_OF(X509) *cert = NULL, *cas = NULL;
	int rc;

	if (cert_path == NULL || key_path == NULL || ca_path == NULL)
		return MRX_EINVAL;
	rc = check_cert(cert_path, &cert, diag);
	if (rc == 0 && leaf != NULL &&
	    info_fill(sk_X509_value(cert, 0), leaf) != 0)
		rc = mrx_diag_set(diag, MRX_EMALFORMED, NO_OFF, cert_path,
		    "%s has an unreadable validity", cert_path);
	if (rc == 0)
		rc = check_key(key_path, cert_path, sk_X509_value(cert, 0),
		    diag);
	if (rc == 0)
		rc = check_bundle(ca_path, &cas, diag);
	if (rc == 0)
		rc = check_chain(cert, cas, at, cert_path, ca_path, diag);
	certs_free(cert);
	certs_free(cas);
	return rc;
}
