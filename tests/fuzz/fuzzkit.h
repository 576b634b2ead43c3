/*
 * fuzzkit.h - what the libFuzzer targets of tests/fuzz/ and their seed
 * generator share: the fixed keys records are signed and verified with,
 * the check that stops a run with a message, and the entry points.
 *
 * The keys are the same in every run and in gen_corpus, so that seeds made
 * by gen_corpus verify inside the targets and the fuzzer reaches the code
 * behind a good signature. They are test keys and nothing else: the
 * Ed25519 ones are derived from a repeated byte, the P-256 one is a PEM
 * made for these tests.
 */
#ifndef TESTS_FUZZ_FUZZKIT_H
#define TESTS_FUZZ_FUZZKIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"

/* libFuzzer's entry points (declared for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * A property that must hold: on failure, print where and why and abort(),
 * which libFuzzer reports as a crash and saves the input. Always on (not
 * assert(): a fuzz build may define NDEBUG).
 */
#define FUZZ_CHECK(cond, ...)                                                 \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: fuzz check failed: %s: ",     \
			    __FILE__, __LINE__, #cond);                       \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
			abort();                                              \
		}                                                             \
	} while (0)

/*
 * The contract of a file reader's failure (conf/, sim/): a negative code
 * equal to the diag's, and a message that starts "NAME:" (file and line),
 * unless memory ran out.
 */
static inline void
fuzz_check_named_error(int rc, const struct mrx_diag *d, const char *name)
{
	FUZZ_CHECK(rc < 0 && (rc == MRX_ENOMEM || d->code == rc),
	    "rc %d, diag %d", rc, d->code);
	FUZZ_CHECK(rc == MRX_ENOMEM || (strncmp(d->msg, name, strlen(name)) ==
	    0 && d->msg[strlen(name)] == ':'), "an error that does not name "
	    "the file and line: \"%s\"", d->msg);
}

/* The fixed key seeds: records, peers, agreement parties. */
#define FUZZ_KEY_ISSUER 0x11	/* signs records (gen_corpus, targets) */
#define FUZZ_KEY_PARTY2 0x22	/* the second party of an agreement */
#define FUZZ_KEY_PEER_A 0x41	/* envelope peer "a.node": every type */
#define FUZZ_KEY_PEER_B 0x42	/* envelope peer "b.node": feed records */
#define FUZZ_KEY_STRANGER 0x58	/* signs envelopes no peer owns */

/* The envelope target's world: its node, its peers and its clock. */
#define FUZZ_SELF_ID "self.node"
#define FUZZ_PEER_A_ID "a.node"
#define FUZZ_PEER_B_ID "b.node"
#define FUZZ_NOW INT64_C(1767225600)	/* 2026-01-01T00:00:00Z */

/* An Ed25519 key from 32 bytes of n; NULL only when out of memory. */
static inline struct cry_key *
fuzz_key_ed(uint8_t n)
{
	uint8_t seed[32];
	struct cry_key *k = NULL;

	memset(seed, n, sizeof(seed));
	if (cry_key_from_seed(seed, &k) != 0)
		return NULL;
	return k;
}

/* The fixed P-256 key (private part included). */
static inline struct cry_key *
fuzz_key_es(void)
{
	static const char pem[] =
	    "-----BEGIN PRIVATE KEY-----\n"
	    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgOUZ6SqzNROSwVQ6h\n"
	    "YZ+CpHAlTgxGv+5XIoXr4d3ASDqhRANCAARfedaOHU+TAG2+aZyfViJ1zicaAHAu\n"
	    "ONH9ZH4hfswzCOPTWQoXlqZjrGccXTK7JQstqxb6IDDRI57F22RxJBgy\n"
	    "-----END PRIVATE KEY-----\n";
	struct cry_key *k = NULL;

	if (cry_key_from_pem(pem, sizeof(pem) - 1, &k, NULL) != 0)
		return NULL;
	return k;
}

/* A key the target cannot run without: abort when it cannot be made. */
static inline struct cry_key *
fuzz_need_key(struct cry_key *k)
{
	FUZZ_CHECK(k != NULL, "cannot make a fixed test key");
	return k;
}

#endif
