/*
 * x509.h - X.509 certificates for the mutual-TLS links between nodes
 * (nng's tls+tcp://, whose TLS engine on Debian 12 is mbedTLS 2.28).
 *
 * The model: one CA per authority or federation signs the certificate of
 * every node; a node trusts the CAs in its bundle (ca.pem) and nothing
 * else. Everything made here is ECDSA P-256 with SHA-256, which mbedTLS 2.28
 * verifies; private keys are unencrypted PKCS#8 PEM, which it loads.
 *
 *   CA:   self-signed, CN given, basicConstraints critical CA:TRUE
 *         pathlen:0, keyUsage critical keyCertSign+cRLSign,
 *         subjectKeyIdentifier.
 *   node: CN = node id, subjectAltName DNS:<id> plus the hosts given (by
 *         default DNS:localhost, IP:127.0.0.1, IP:::1), basicConstraints
 *         critical CA:FALSE, keyUsage critical digitalSignature,
 *         extendedKeyUsage serverAuth+clientAuth, subject and authority key
 *         identifiers.
 *
 * Every certificate has a random positive 128-bit serial. Key files are
 * created with O_EXCL (never overwritten) and mode 0600, certificates 0644;
 * a key is written before its certificate and removed again if the
 * certificate cannot be written. A private key file that group or others may
 * read is refused when loaded (MRX_EPERM), as in key.h.
 *
 * Times are NumericDate seconds (UTC), passed in: nothing here reads the
 * clock. Errors are MRX_E* codes; the diag names the file in `field` and
 * says in `msg` what is wrong with it.
 */
#ifndef CRY_X509_H
#define CRY_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "key.h"
#include "mrx_err.h"

#define CRY_X509_CN_MAX 64		/* ub-common-name, RFC 5280 */
#define CRY_X509_HOST_MAX 253		/* a DNS name (an address is shorter) */
#define CRY_X509_SAN_MAX 16		/* subjectAltName entries made/shown */
#define CRY_X509_SAN_STR (CRY_X509_HOST_MAX + 8)	/* "DNS:name" */
#define CRY_X509_DAYS_MAX 36500		/* validity of any certificate made */
#define CRY_X509_CA_DAYS_DEFAULT 3650	/* a CA: 10 years */
#define CRY_X509_NODE_DAYS_DEFAULT 825	/* a node: 825 days */
#define CRY_X509_BACKDATE_S 300		/* notBefore = now - this (skew) */
#define CRY_X509_FILE_MAX 262144	/* bytes of a certificate file */
#define CRY_X509_BUNDLE_MAX 64		/* certificates in one file */
#define CRY_X509_TIME_STR 24		/* "2026-11-27T11:06:25Z" and NUL */
#define CRY_X509_SERIAL_STR 44		/* 20 bytes as hex, NUL */

/* The window of a new certificate, NumericDate seconds. */
struct cry_x509_validity {
	int64_t not_before;	/* first second it is valid */
	int64_t not_after;	/* last second it is valid, > not_before */
};

/*
 * The window of a certificate made at `now` for `days` days:
 * [now - CRY_X509_BACKDATE_S, now + days * 86400]. MRX_ERANGE (and nothing
 * written to *v) unless 1 <= days <= CRY_X509_DAYS_MAX.
 */
int cry_x509_validity_days(int64_t now, int days, struct cry_x509_validity *v);

/*
 * Makes a CA: a new P-256 key saved to `key_path` (0600) and a self-signed
 * certificate for `cn` (1..64 printable ASCII characters) saved to
 * `cert_path` (0644). Neither file may exist (MRX_EEXIST, checked before
 * anything is made). On error no file is left behind.
 */
int cry_x509_ca_create(const char *cn, const struct cry_x509_validity *v,
    const char *cert_path, const char *key_path, struct mrx_diag *diag);

/* A loaded CA: its certificate and private key. Immutable once loaded. */
struct cry_x509_ca;

/*
 * Loads a CA to issue from: `cert_path` must hold exactly one certificate,
 * a CA (basicConstraints CA:TRUE, keyCertSign if keyUsage is present) valid
 * at `now`; `key_path` its private key (EC or RSA; refused if group or
 * others may read it). MRX_ENOENT/MRX_EIO for a file that cannot be read,
 * MRX_EMALFORMED not PEM, MRX_EINVAL not a CA, MRX_ERANGE expired or not
 * yet valid, MRX_EPERM unsafe key mode, MRX_EKEY a key that is corrupt,
 * encrypted or not the certificate's, MRX_EUNSUPPORTED a key type mbedTLS
 * cannot verify in certificates (Ed25519). *out is the caller's
 * (cry_x509_ca_free); NULL on error.
 */
int cry_x509_ca_load(const char *cert_path, const char *key_path, int64_t now,
    struct cry_x509_ca **out, struct mrx_diag *diag);

void cry_x509_ca_free(struct cry_x509_ca *ca);

/* The CA's notAfter (NumericDate seconds). */
int64_t cry_x509_ca_not_after(const struct cry_x509_ca *ca);

/*
 * Writes the CA's certificate (never its key) as PEM to `path`, mode 0644,
 * O_EXCL: the start of a node's CA bundle.
 */
int cry_x509_ca_save_cert(const struct cry_x509_ca *ca, const char *path,
    struct mrx_diag *diag);

/*
 * Whether `s` may be a node's id in a certificate: a DNS name of at most
 * CRY_X509_CN_MAX characters (letters, digits and '-' in dot-separated
 * labels of 1..63, no label starting or ending with '-').
 */
bool cry_x509_id_ok(const char *s);

/* Whether `s` may be a --host: an IPv4 or IPv6 address, or a DNS name. */
bool cry_x509_host_ok(const char *s);

/* What a node certificate says. */
struct cry_x509_node_req {
	const char *id;			/* CN, and always DNS:<id> in the SAN */
	const char *const *hosts;	/* DNS names or IP addresses; NULL/0: */
	size_t nhosts;			/* localhost, 127.0.0.1 and ::1 */
	struct cry_x509_validity v;	/* must end no later than the CA */
};

/*
 * Issues a node certificate from `ca`: a new P-256 key saved to `key_path`
 * (0600) and the certificate to `cert_path` (0644), neither of which may
 * exist (MRX_EEXIST). The id must be a DNS name of at most 64 characters
 * (letters, digits, '-', dot-separated labels); each host a DNS name or an
 * IPv4/IPv6 address (MRX_EINVAL, field "host"). Duplicates are dropped;
 * more than CRY_X509_SAN_MAX entries is MRX_ETOOBIG. A window that ends
 * after the CA's is MRX_ERANGE. On error no file is left behind.
 */
int cry_x509_issue(const struct cry_x509_ca *ca,
    const struct cry_x509_node_req *req, const char *cert_path,
    const char *key_path, struct mrx_diag *diag);

/* What a certificate says, for `mrx cert show` and `mrx cert check`. */
struct cry_x509_info {
	char subject_cn[CRY_X509_CN_MAX + 1];	/* "" if none; unprintable
						   bytes shown as '?' */
	char issuer_cn[CRY_X509_CN_MAX + 1];
	char san[CRY_X509_SAN_MAX][CRY_X509_SAN_STR];	/* "DNS:x", "IP:x" */
	size_t nsan;
	bool san_more;			/* more entries than CRY_X509_SAN_MAX */
	int64_t not_before, not_after;	/* NumericDate seconds */
	char not_before_str[CRY_X509_TIME_STR];	/* RFC 3339 UTC */
	char not_after_str[CRY_X509_TIME_STR];
	uint8_t sha256[CRY_SHA256_LEN];	/* over the DER certificate */
	char serial[CRY_X509_SERIAL_STR];	/* lowercase hex */
	bool is_ca;			/* basicConstraints CA:TRUE */
	int pathlen;			/* pathLenConstraint, -1 if none */
	bool self_signed;		/* subject == issuer, key ids agree */
	char key[32];			/* "EC P-256", "RSA 2048", "ED25519" */
};

/*
 * Describes every certificate in the PEM file `path` (other PEM blocks,
 * such as keys, are skipped): at most `cap` into out[], *n gets how many.
 * A file with more than `cap` (or CRY_X509_BUNDLE_MAX) certificates is
 * MRX_ETOOBIG; with none, or a corrupt one, MRX_EMALFORMED.
 */
int cry_x509_describe_file(const char *path, struct cry_x509_info *out,
    size_t cap, size_t *n, struct mrx_diag *diag);

/*
 * Checks a node's TLS material as its peers will: `cert_path` holds the
 * node's certificate (then, optionally, intermediate CAs); `key_path` its
 * private key; `ca_path` the bundle of CAs the node trusts. In order:
 * the certificate parses and is not a CA (MRX_EMALFORMED, MRX_EINVAL); the
 * key is safe, parses and is the certificate's (MRX_EPERM, MRX_EKEY); every
 * certificate in the bundle is a CA (MRX_EINVAL); the certificate chains
 * to one of them (MRX_ESIG), is valid at `at` as is its chain
 * (MRX_ERANGE), and may serve as both TLS client and server (MRX_EINVAL).
 * Files that cannot be read are MRX_ENOENT or MRX_EIO. The diag's field is
 * the path of the file at fault. `leaf` (may be NULL) gets the node
 * certificate's description once it has parsed.
 */
int cry_x509_check(const char *cert_path, const char *key_path,
    const char *ca_path, int64_t at, struct cry_x509_info *leaf,
    struct mrx_diag *diag);

#endif
