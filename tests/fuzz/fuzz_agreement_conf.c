/*
 * fuzz_agreement_conf.c - the draft of a mutual-recognition agreement
 * (conf/agreement_conf.h) parsed from untrusted YAML with
 * conf_agreement_parse(), a buffer API: nothing touches the file system.
 *
 * Properties:
 *  - on error the code is negative and the diag's, the message starts
 *    "draft.yaml:" (NAME:LINE of the contract), and *out is zeroed and
 *    owns nothing;
 *  - terms that parse are "checked to fit in one agreement record": with
 *    iat and cti set they encode as an agreement payload, which decodes
 *    back to the same terms (ids, window, parties, conditions, every row).
 * Inputs over FUZZ_DRAFT_MAX bytes are ignored.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agreement_conf.h"
#include "fuzzkit.h"
#include "record.h"

#define FUZZ_DRAFT_MAX 65536
#define DRAFT_NAME "draft.yaml"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static bool
zeroed(const struct proto_agreement *a)
{
	static const struct proto_agreement zero;

	return memcmp(a, &zero, sizeof(zero)) == 0;
}

static bool
same_strs(const struct proto_strs *a, const struct proto_strs *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

static void
same_terms(const struct proto_agreement *a, const struct proto_agreement *b)
{
	size_t i;

	FUZZ_CHECK(strcmp(a->c.iss, b->c.iss) == 0 &&
	    strcmp(a->c.sub, b->c.sub) == 0, "iss/sub changed");
	FUZZ_CHECK(a->c.nbf == b->c.nbf && a->c.exp == b->c.exp &&
	    b->c.has_nbf && b->c.has_exp, "window changed");
	FUZZ_CHECK(strcmp(a->parties[0], b->parties[0]) == 0 &&
	    strcmp(a->parties[1], b->parties[1]) == 0, "parties changed");
	FUZZ_CHECK(a->max_status_age_s == b->max_status_age_s &&
	    a->operator_cert_required == b->operator_cert_required,
	    "conditions changed");
	FUZZ_CHECK(a->nrows == b->nrows, "%zu rows read back as %zu", a->nrows,
	    b->nrows);
	for (i = 0; i < a->nrows; i++)
		FUZZ_CHECK(strcmp(a->rows[i].from, b->rows[i].from) == 0 &&
		    strcmp(a->rows[i].to, b->rows[i].to) == 0 &&
		    same_strs(&a->rows[i].scopes, &b->rows[i].scopes),
		    "row %zu changed", i);
}

static void
check_encodes(struct proto_agreement *a)
{
	struct proto_record rec, back;
	struct mrx_diag d;
	uint8_t *buf;
	size_t len = 0;
	int rc;

	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_AGREEMENT;
	rec.u.agr = *a;		/* borrowed: rows stay a's */
	rec.u.agr.c.iat = a->c.nbf;
	memset(rec.u.agr.c.cti, 0x5a, PROTO_CTI_LEN);
	buf = malloc(PROTO_RECORD_MAX);
	FUZZ_CHECK(buf != NULL, "out of memory");
	mrx_diag_clear(&d);
	rc = proto_payload_encode(&rec, buf, PROTO_RECORD_MAX, &len, &d);
	FUZZ_CHECK(rc == 0, "terms that parsed do not encode: %s: %s",
	    d.field, d.msg);
	rc = proto_payload_decode(buf, len, &back, &d);
	FUZZ_CHECK(rc == 0 && back.type == PROTO_REC_AGREEMENT,
	    "the encoded terms do not decode: %s: %s", d.field, d.msg);
	same_terms(a, &back.u.agr);
	proto_record_fini(&back);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_agreement a;
	struct mrx_diag d;
	int rc;

	if (size > FUZZ_DRAFT_MAX)
		return 0;
	memset(&a, 0x77, sizeof(a));	/* must come back zeroed on error */
	mrx_diag_clear(&d);
	rc = conf_agreement_parse(DRAFT_NAME, (const char *)data, size, &a,
	    &d);
	if (rc != 0) {
		fuzz_check_named_error(rc, &d, DRAFT_NAME);
		FUZZ_CHECK(zeroed(&a), "a failed parse left *out filled");
		return 0;
	}
	FUZZ_CHECK(a.nrows >= 1 && a.rows != NULL, "%zu rows", a.nrows);
	check_encodes(&a);
	conf_agreement_fini(&a);
	return 0;
}
