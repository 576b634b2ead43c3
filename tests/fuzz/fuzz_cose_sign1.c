/*
 * fuzz_cose_sign1.c - COSE_Sign1 decoding and verification of untrusted
 * bytes (crypto/cose.h) with fixed keys.
 *
 * Properties checked on every input (FUZZ_CHECK aborts, libFuzzer keeps
 * the input):
 *  - decoding never reads outside the input (ASan), and the views it
 *    returns (protected header, kid, payload, signature) lie inside it;
 *  - the Sig_structure can be built, into an exact-size buffer, and one
 *    byte less is MRX_ENOSPC with the same size reported;
 *  - verification with the fixed Ed25519 and P-256 keys, with and without
 *    the envelope AAD, returns 0 or one of its documented codes;
 *  - a message that verifies stops verifying when one byte of its payload
 *    or of its signature changes, or under another AAD.
 * Inputs over FUZZ_SIGN1_MAX bytes are ignored.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cose.h"
#include "fuzzkit.h"
#include "key.h"

#define FUZZ_SIGN1_MAX 16384
#define AAD_ENV "mrx-envelope-v1"	/* protocol/envelope.h PROTO_ENV_AAD */

static struct cry_key *keys[2];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	keys[0] = fuzz_need_key(fuzz_key_ed(FUZZ_KEY_ISSUER));
	keys[1] = fuzz_need_key(fuzz_key_es());
	return 0;
}

/* [p, p + n) lies inside [buf, buf + len); NULL only with n == 0. */
static bool
inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t len)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)buf;

	if (p == NULL)
		return n == 0;
	return a >= b && n <= len && a - b <= len - n;
}

static void
check_views(const struct cry_sign1 *s, const uint8_t *msg, size_t len)
{
	FUZZ_CHECK(inside(s->hdr.prot, s->hdr.prot_len, msg, len) ||
	    s->hdr.prot_len == 0, "protected header outside the input");
	FUZZ_CHECK(inside(s->payload, s->payload_len, msg, len),
	    "payload outside the input");
	FUZZ_CHECK(inside(s->sig, s->sig_len, msg, len) || s->sig_len == 0,
	    "signature outside the input");
	FUZZ_CHECK(s->hdr.kid == NULL || (inside(s->hdr.kid, s->hdr.kid_len,
	    msg, len) && s->hdr.kid_len <= CRY_COSE_KID_MAX),
	    "kid outside the input or over its limit");
}

static void
check_tbs(const struct cry_sign1 *s)
{
	uint8_t *buf;
	size_t need = 0, len = 0;
	int rc;

	rc = cry_sign1_tbs(s, NULL, 0, NULL, 0, &need);
	FUZZ_CHECK(rc == MRX_ENOSPC && need > 0, "tbs measure: rc %d", rc);
	buf = malloc(need);
	FUZZ_CHECK(buf != NULL, "out of memory");
	rc = cry_sign1_tbs(s, NULL, 0, buf, need, &len);
	FUZZ_CHECK(rc == 0 && len == need, "tbs: rc %d, %zu of %zu", rc, len,
	    need);
	rc = cry_sign1_tbs(s, NULL, 0, buf, need - 1, &len);
	FUZZ_CHECK(rc == MRX_ENOSPC && len == need, "tbs short: rc %d", rc);
	free(buf);
}

static bool
code_documented(int rc)
{
	return rc == 0 || rc == MRX_EUNSUPPORTED || rc == MRX_EALG ||
	    rc == MRX_ESIG || rc == MRX_ENOMEM;
}

/* A copy of msg with byte `at` flipped must not verify under `key`. */
static void
check_tamper(const uint8_t *msg, size_t len, size_t at,
    const struct cry_key *key, const uint8_t *aad, size_t aad_len,
    const char *what)
{
	struct cry_sign1 t;
	uint8_t *copy;
	int rc;

	copy = malloc(len);
	FUZZ_CHECK(copy != NULL, "out of memory");
	memcpy(copy, msg, len);
	copy[at] ^= 0x01;
	if (cry_sign1_decode(copy, len, &t, NULL) == 0) {
		rc = cry_sign1_verify(&t, key, aad, aad_len, NULL);
		FUZZ_CHECK(rc != 0, "verifies with a changed %s byte at %zu",
		    what, at);
	}
	free(copy);
}

static void
check_verify(const struct cry_sign1 *s, const uint8_t *msg, size_t len,
    const struct cry_key *key, const uint8_t *aad, size_t aad_len)
{
	struct mrx_diag d;
	int rc;

	mrx_diag_clear(&d);
	rc = cry_sign1_verify(s, key, aad, aad_len, &d);
	FUZZ_CHECK(code_documented(rc), "verify: undocumented code %d", rc);
	FUZZ_CHECK(rc == 0 || rc == MRX_ENOMEM || d.code == rc,
	    "verify: rc %d but diag code %d", rc, d.code);
	if (rc != 0)
		return;
	if (s->payload_len > 0)
		check_tamper(msg, len, (size_t)(s->payload - msg) +
		    s->payload_len / 2, key, aad, aad_len, "payload");
	check_tamper(msg, len, (size_t)(s->sig - msg) + s->sig_len / 2, key,
	    aad, aad_len, "signature");
	rc = cry_sign1_verify(s, key, (const uint8_t *)"x", 1, NULL);
	FUZZ_CHECK(rc != 0, "verifies under another AAD");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cry_sign1 s;
	struct mrx_diag d;
	size_t i;
	int rc;

	if (size > FUZZ_SIGN1_MAX)
		return 0;
	mrx_diag_clear(&d);
	rc = cry_sign1_decode(data, size, &s, &d);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0 && d.code == rc, "decode: rc %d, diag %d", rc,
		    d.code);
		return 0;
	}
	check_views(&s, data, size);
	check_tbs(&s);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		check_verify(&s, data, size, keys[i], NULL, 0);
		check_verify(&s, data, size, keys[i], (const uint8_t *)AAD_ENV,
		    strlen(AAD_ENV));
	}
	return 0;
}
