/*
 * cose.h - COSE_Sign1 and COSE_Sign (RFC 9052) over the keys of key.h.
 *
 * Decoding is zero-copy: a struct cry_sign1 points into the message bytes,
 * which must outlive it. A message may carry tag 18 (COSE_Sign1) or 98
 * (COSE_Sign), or no tag; any other tag is rejected. Output is always tagged.
 *
 * Headers: alg (1) and kid (4) are taken from the protected header, else
 * from the unprotected one (RFC 9052 permits both; the COSE working group's
 * own vectors put alg in the unprotected bucket). Where alg travels does not
 * weaken verification, because each key has exactly one algorithm and a
 * mismatch is refused. An empty protected header is signed as h'' whether
 * it arrived as h'' or h'a0' (RFC 9052 4.4). A crit (2) header
 * listing a label we do not understand is rejected. A label present in both
 * buckets is rejected (RFC 9052 3). What mrx writes: protected {1: alg,
 * 4: kid}, unprotected {}.
 *
 * Verification binds the algorithm to the key: the alg in the protected
 * header must be the one of the key's type (MRX_EALG), an alg we do not
 * implement is MRX_EUNSUPPORTED; neither is ever accepted.
 */
#ifndef CRY_COSE_H
#define CRY_COSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "key.h"
#include "mrx_err.h"

#define CRY_COSE_TAG_SIGN1 18
#define CRY_COSE_TAG_SIGN 98
#define CRY_COSE_SIGNERS_MAX 4	/* signatures in one COSE_Sign */
#define CRY_COSE_KID_MAX 64	/* longest kid we accept */
#define CRY_COSE_OVERHEAD 160	/* envelope bytes around a payload, upper bound */

/* Header fields of one protected/unprotected pair, as decoded. */
struct cry_cose_hdr {
	const uint8_t *prot;	/* protected header bstr content (may be empty) */
	size_t prot_len;
	int64_t alg_raw;	/* alg as found, 0 if absent */
	enum cry_alg alg;	/* CRY_ALG_NONE when absent or unsupported */
	const uint8_t *kid;	/* kid bytes, NULL if absent */
	size_t kid_len;
};

/* A decoded COSE_Sign1: views into the message. */
struct cry_sign1 {
	struct cry_cose_hdr hdr;
	const uint8_t *payload;	/* NULL for a detached (nil) payload */
	size_t payload_len;
	const uint8_t *sig;
	size_t sig_len;
	bool tagged;		/* the message had tag 18 */
};

/*
 * Decodes a COSE_Sign1. Structural errors (not an array of 4, wrong types,
 * trailing bytes, wrong tag, duplicate or conflicting headers, unknown crit)
 * fail with diag naming the field and offset. An alg we do not implement is
 * not a decode error: hdr.alg is CRY_ALG_NONE and verify reports it.
 */
int cry_sign1_decode(const uint8_t *msg, size_t len, struct cry_sign1 *out,
    struct mrx_diag *diag);

/*
 * Verifies `s` with `key` and external AAD (may be NULL/0). Builds the
 * Sig_structure ["Signature1", protected, aad, payload] and checks it.
 * Returns 0, MRX_EUNSUPPORTED, MRX_EALG, MRX_ESIG or MRX_ENOMEM.
 */
int cry_sign1_verify(const struct cry_sign1 *s, const struct cry_key *key,
    const uint8_t *aad, size_t aad_len, struct mrx_diag *diag);

/*
 * Builds the Sig_structure bytes for `s` into buf (for tests and tools).
 */
int cry_sign1_tbs(const struct cry_sign1 *s, const uint8_t *aad,
    size_t aad_len, uint8_t *buf, size_t cap, size_t *len);

/*
 * Signs `payload` as a tagged COSE_Sign1 with protected {1: alg, 4: kid}.
 * `kid` NULL means the key's own kid. Writes into out (cap bytes); *out_len
 * gets the size. MRX_ENOSPC if out is too small (payload + CRY_COSE_OVERHEAD
 * always suffices).
 */
int cry_sign1_sign(const struct cry_key *key, const uint8_t *kid,
    size_t kid_len, const uint8_t *aad, size_t aad_len, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t cap, size_t *out_len);

/* A decoded COSE_Sign (several signers over one payload). */
struct cry_sign {
	const uint8_t *body_prot;	/* body protected header bstr content */
	size_t body_prot_len;
	const uint8_t *payload;
	size_t payload_len;
	struct {
		struct cry_cose_hdr hdr;
		const uint8_t *sig;
		size_t sig_len;
	} sigs[CRY_COSE_SIGNERS_MAX];
	size_t nsigs;
	bool tagged;
};

int cry_sign_decode(const uint8_t *msg, size_t len, struct cry_sign *out,
    struct mrx_diag *diag);

/* Verifies signature `i` of `s` (Sig_structure context "Signature"). */
int cry_sign_verify(const struct cry_sign *s, size_t i,
    const struct cry_key *key, const uint8_t *aad, size_t aad_len,
    struct mrx_diag *diag);

/*
 * Makes a tagged COSE_Sign over `payload` with one signature by `key`
 * (body protected header empty, signer protected {1: alg, 4: kid}).
 */
int cry_sign_sign(const struct cry_key *key, const uint8_t *aad,
    size_t aad_len, const uint8_t *payload, size_t payload_len, uint8_t *out,
    size_t cap, size_t *out_len);

/*
 * Adds a signature by `key` to an existing COSE_Sign `msg`, writing the new
 * message to out. Existing signatures are kept byte for byte. A second
 * signature by the same kid is refused (MRX_EEXIST); more than
 * CRY_COSE_SIGNERS_MAX is MRX_ENOSPC.
 */
int cry_sign_add(const uint8_t *msg, size_t len, const struct cry_key *key,
    const uint8_t *aad, size_t aad_len, uint8_t *out, size_t cap,
    size_t *out_len, struct mrx_diag *diag);

#endif
