/*
 * fuzz_cose_sign.c - COSE_Sign (several signers over one payload, the
 * agreement's envelope) decoding, verification and signature adding of
 * untrusted bytes (crypto/cose.h).
 *
 * Properties:
 *  - decoding never reads outside the input; nsigs is 1..CRY_COSE_SIGNERS_MAX
 *    and every view lies inside the input;
 *  - each signature, verified with each fixed key, gives 0 or a documented
 *    code;
 *  - cry_sign_add() on a message that decodes either refuses with a
 *    documented code, or makes a message that decodes with one signature
 *    more, the same payload and body header, every earlier signature and
 *    its protected header byte for byte, every signature that verified
 *    still verifying, and the new one verifying with the added key.
 * Inputs over FUZZ_SIGN_MAX bytes are ignored.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cose.h"
#include "fuzzkit.h"
#include "key.h"

#define FUZZ_SIGN_MAX 16384
#define NKEYS 3

static struct cry_key *keys[NKEYS];	/* issuer, party 2, P-256 */
static struct cry_key *k_add;		/* the signer cry_sign_add() adds */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	keys[0] = fuzz_need_key(fuzz_key_ed(FUZZ_KEY_ISSUER));
	keys[1] = fuzz_need_key(fuzz_key_ed(FUZZ_KEY_PARTY2));
	keys[2] = fuzz_need_key(fuzz_key_es());
	k_add = fuzz_need_key(fuzz_key_ed(FUZZ_KEY_STRANGER));
	return 0;
}

static bool
inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t len)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)buf;

	if (n == 0)
		return true;
	return p != NULL && a >= b && n <= len && a - b <= len - n;
}

static bool
same(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static void
check_views(const struct cry_sign *s, const uint8_t *msg, size_t len)
{
	size_t i;

	FUZZ_CHECK(s->nsigs >= 1 && s->nsigs <= CRY_COSE_SIGNERS_MAX,
	    "nsigs %zu", s->nsigs);
	FUZZ_CHECK(inside(s->body_prot, s->body_prot_len, msg, len) &&
	    inside(s->payload, s->payload_len, msg, len),
	    "body view outside the input");
	for (i = 0; i < s->nsigs; i++)
		FUZZ_CHECK(inside(s->sigs[i].hdr.prot, s->sigs[i].hdr.prot_len,
		    msg, len) && inside(s->sigs[i].sig, s->sigs[i].sig_len, msg,
		    len) && inside(s->sigs[i].hdr.kid, s->sigs[i].hdr.kid_len,
		    msg, len), "signature %zu: view outside the input", i);
}

/* Bit k * NKEYS + j: signature k verifies with keys[j]. */
static uint32_t
verify_all(const struct cry_sign *s)
{
	uint32_t ok = 0;
	size_t i, j;
	int rc;

	for (i = 0; i < s->nsigs; i++) {
		for (j = 0; j < NKEYS; j++) {
			rc = cry_sign_verify(s, i, keys[j], NULL, 0, NULL);
			FUZZ_CHECK(rc == 0 || rc == MRX_EUNSUPPORTED ||
			    rc == MRX_EALG || rc == MRX_ESIG || rc == MRX_ENOMEM,
			    "verify %zu: undocumented code %d", i, rc);
			if (rc == 0)
				ok |= UINT32_C(1) << (i * NKEYS + j);
		}
	}
	FUZZ_CHECK(cry_sign_verify(s, s->nsigs, keys[0], NULL, 0, NULL) ==
	    MRX_EINVAL, "a signature index past the end is not EINVAL");
	return ok;
}

static void
check_added(const struct cry_sign *s, uint32_t ok, const uint8_t *out,
    size_t out_len)
{
	struct cry_sign t;
	uint32_t ok2;
	size_t i;
	int rc;

	rc = cry_sign_decode(out, out_len, &t, NULL);
	FUZZ_CHECK(rc == 0, "the added-to message does not decode: %d", rc);
	FUZZ_CHECK(t.tagged && t.nsigs == s->nsigs + 1, "tag %d, %zu sigs",
	    t.tagged, t.nsigs);
	FUZZ_CHECK(same(t.payload, t.payload_len, s->payload, s->payload_len),
	    "payload changed");
	FUZZ_CHECK(same(t.body_prot, t.body_prot_len, s->body_prot,
	    s->body_prot_len), "body protected header changed");
	for (i = 0; i < s->nsigs; i++)
		FUZZ_CHECK(same(t.sigs[i].sig, t.sigs[i].sig_len, s->sigs[i].sig,
		    s->sigs[i].sig_len) && same(t.sigs[i].hdr.prot,
		    t.sigs[i].hdr.prot_len, s->sigs[i].hdr.prot,
		    s->sigs[i].hdr.prot_len), "signature %zu changed", i);
	ok2 = verify_all(&t);
	FUZZ_CHECK((ok2 & ok) == ok, "a signature stopped verifying");
	rc = cry_sign_verify(&t, s->nsigs, k_add, NULL, 0, NULL);
	FUZZ_CHECK(rc == 0, "the added signature does not verify: %d", rc);
}

/* Some signature of s names the kid of k_add. */
static bool
has_add_kid(const struct cry_sign *s)
{
	size_t i;

	for (i = 0; i < s->nsigs; i++)
		if (same(s->sigs[i].hdr.kid, s->sigs[i].hdr.kid_len,
		    cry_key_kid(k_add), CRY_KID_LEN))
			return true;
	return false;
}

static void
check_add(const struct cry_sign *s, uint32_t ok, const uint8_t *msg,
    size_t len)
{
	uint8_t *out;
	size_t need = 0, out_len = 0;
	int rc;

	/* Without an output buffer: the size needed, or a refusal. */
	rc = cry_sign_add(msg, len, k_add, NULL, 0, NULL, 0, &need, NULL);
	FUZZ_CHECK(rc < 0, "add without output: rc %d", rc);
	if (s->nsigs == CRY_COSE_SIGNERS_MAX || rc != MRX_ENOSPC) {
		FUZZ_CHECK(rc != MRX_EEXIST || has_add_kid(s),
		    "add: EEXIST, but no signature has the kid");
		return;
	}
	out = malloc(need);
	FUZZ_CHECK(out != NULL, "out of memory");
	rc = cry_sign_add(msg, len, k_add, NULL, 0, out, need - 1, &out_len,
	    NULL);
	FUZZ_CHECK(rc == MRX_ENOSPC, "add into a short buffer: rc %d", rc);
	rc = cry_sign_add(msg, len, k_add, NULL, 0, out, need, &out_len, NULL);
	FUZZ_CHECK(rc == 0 && out_len == need, "add: rc %d, %zu of %zu bytes",
	    rc, out_len, need);
	check_added(s, ok, out, out_len);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cry_sign s;
	struct mrx_diag d;
	uint32_t ok;
	int rc;

	if (size > FUZZ_SIGN_MAX)
		return 0;
	mrx_diag_clear(&d);
	rc = cry_sign_decode(data, size, &s, &d);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0 && d.code == rc, "decode: rc %d, diag %d", rc,
		    d.code);
		return 0;
	}
	check_views(&s, data, size);
	ok = verify_all(&s);
	check_add(&s, ok, data, size);
	return 0;
}
