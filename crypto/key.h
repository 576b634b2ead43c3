/*
 * key.h - signing keys, hashing and randomness. The only code that includes
 * OpenSSL is in crypto/; everything above sees struct cry_key as opaque.
 *
 * Two algorithms, each bound to one key type (no other pairing is accepted):
 *   CRY_ALG_EDDSA (COSE -8)  <->  Ed25519
 *   CRY_ALG_ES256 (COSE -7)  <->  ECDSA P-256 with SHA-256
 *
 * kid: the first CRY_KID_LEN (16) bytes of SHA-256 over the DER encoding of
 * the key's SubjectPublicKeyInfo. It is computed once when a key is made or
 * loaded. A struct cry_key holds the parsed EVP_PKEY, so parse a public key
 * once and reuse it: parsing costs more than a verify.
 *
 * Thread safety: a cry_key is immutable after creation and may be used to
 * verify or sign from several threads at once.
 */
#ifndef CRY_KEY_H
#define CRY_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mrx_err.h"

#define CRY_KID_LEN 16
#define CRY_SIG_LEN 64		/* Ed25519 and ES256 (raw r||s) signatures */
#define CRY_SPKI_MAX 128	/* DER SubjectPublicKeyInfo of our key types */
#define CRY_SHA256_LEN 32
#define CRY_KEYFILE_MAX 16384	/* bytes of a PEM key file we will read */

enum cry_alg {
	CRY_ALG_NONE = 0,
	CRY_ALG_ES256 = -7,
	CRY_ALG_EDDSA = -8,
};

struct cry_key;

/* "EdDSA" / "ES256" / NULL. */
const char *cry_alg_name(enum cry_alg alg);
/* Parses "ed25519"/"eddsa" or "es256"/"p256" (case-insensitive). */
int cry_alg_parse(const char *s, enum cry_alg *out);
/* Maps a COSE alg value to a supported alg; MRX_EUNSUPPORTED otherwise. */
int cry_alg_from_cose(int64_t v, enum cry_alg *out);

/* New random key pair. *out is owned by the caller (cry_key_free). */
int cry_key_generate(enum cry_alg alg, struct cry_key **out);

/* Ed25519 key pair derived from 32 seed bytes (the RFC 8032 private key). */
int cry_key_from_seed(const uint8_t seed[32], struct cry_key **out);

/*
 * Key from raw JWK-style components: Ed25519 x (32 bytes, public) and
 * optional d (32); P-256 x, y (32 each) and optional d (32). Pass NULL/0 for
 * absent parts. For test vectors and interoperability.
 */
int cry_key_from_raw(enum cry_alg alg, const uint8_t *x, size_t xlen,
    const uint8_t *y, size_t ylen, const uint8_t *d, size_t dlen,
    struct cry_key **out);

/* Public key from DER SubjectPublicKeyInfo (Ed25519 or P-256 only). */
int cry_key_from_spki(const uint8_t *der, size_t len, struct cry_key **out,
    struct mrx_diag *diag);

/* Writes the DER SubjectPublicKeyInfo; *len gets its size. */
int cry_key_spki(const struct cry_key *key, uint8_t *buf, size_t cap,
    size_t *len);

/*
 * Saves the private key as PKCS#8 PEM, created with mode 0600 and O_EXCL:
 * an existing file is never overwritten (MRX_EEXIST).
 */
int cry_key_save_private(const struct cry_key *key, const char *path,
    struct mrx_diag *diag);

/* Saves the public key as SubjectPublicKeyInfo PEM (mode 0644, O_EXCL). */
int cry_key_save_public(const struct cry_key *key, const char *path,
    struct mrx_diag *diag);

/*
 * Loads a PEM key file: a PKCS#8 private key or a SubjectPublicKeyInfo public
 * key, Ed25519 or P-256. A private key file readable or writable by group or
 * others is refused (MRX_EPERM). Missing file MRX_ENOENT, unreadable MRX_EIO,
 * not a key or another key type MRX_EKEY; diag names the path.
 */
int cry_key_load(const char *path, struct cry_key **out, struct mrx_diag *diag);

/* Same from PEM text in memory (no permission check). */
int cry_key_from_pem(const char *pem, size_t len, struct cry_key **out,
    struct mrx_diag *diag);

enum cry_alg cry_key_alg(const struct cry_key *key);
bool cry_key_has_private(const struct cry_key *key);
const uint8_t *cry_key_kid(const struct cry_key *key);	/* CRY_KID_LEN bytes */
void cry_key_free(struct cry_key *key);

/*
 * Signs `msg` with the key's algorithm: Ed25519 (pure) or ECDSA P-256 with
 * SHA-256, the signature written as raw 64 bytes (r||s, each left-padded).
 */
int cry_sign(const struct cry_key *key, const uint8_t *msg, size_t len,
    uint8_t sig[CRY_SIG_LEN]);

/*
 * Verifies a raw signature made with `alg`. MRX_EALG if `alg` does not
 * belong to the key's type, MRX_ESIG if the signature is wrong (including a
 * wrong length). Uses a fresh EVP_MD_CTX per call (safe across threads).
 */
int cry_verify(const struct cry_key *key, enum cry_alg alg, const uint8_t *msg,
    size_t len, const uint8_t *sig, size_t siglen);

int cry_sha256(const void *p, size_t n, uint8_t out[CRY_SHA256_LEN]);
/* HMAC-SHA-256 (for blinded keys). */
int cry_hmac_sha256(const uint8_t *key, size_t keylen, const void *p, size_t n,
    uint8_t out[CRY_SHA256_LEN]);
/* Cryptographically secure random bytes. */
int cry_random(void *p, size_t n);

#endif
