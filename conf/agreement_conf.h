/*
 * agreement_conf.h - the draft of a mutual-recognition agreement (YAML,
 * read with libfyaml) as a validated struct proto_agreement: the terms two
 * root authorities review before either signs (docs/agreements.md).
 *
 *   id: jp-us-2026-draft            # the agreement id (sub)
 *   parties: [jp.cao, us.dcsa]      # two roots; the first drafts (iss)
 *   valid_from: 2026-12-01T00:00:00Z
 *   valid_until: 2031-12-01T00:00:00Z
 *   conditions:
 *     max_status_age: 5m            # 0: the verifier's own policy
 *     operator_cert_required: true
 *   rows:
 *     - {from: US:SECRET, to: JP-SDS:SECRET}
 *     - {from: US:CONFIDENTIAL, to: JP-CESI:CONFIDENTIAL,
 *        scopes: [semiconductors]}
 *
 * Every key above is required except a row's `scopes` (left out: any
 * scope). Reading is strict, as for the node's configuration: unknown keys,
 * a key twice, a value of the wrong shape, aliases and tags are errors.
 * Levels must be known (protocol/level.h) and `from` and `to` of different
 * schemes; rows, parties and a row's scopes may not repeat; valid_until
 * must be after valid_from. Whether the parties' jurisdictions match the
 * schemes is not checked: the two authorities decide what they recognise.
 */
#ifndef CONF_AGREEMENT_CONF_H
#define CONF_AGREEMENT_CONF_H

#include <stddef.h>

#include "mrx_err.h"
#include "record.h"

#define CONF_AGREEMENT_BYTES_MAX (256u * 1024u) /* size of a draft file */
#define CONF_AGREEMENT_AGE_MAX 4294967295LL	/* max_status_age, seconds */

/*
 * Parses the draft `text` (`len` bytes; NUL bytes are an error) into *out.
 * `name` is the file name used in messages. On success *out holds: c.iss
 * (the first party), c.sub (id), c.nbf and c.exp (has_nbf, has_exp set),
 * parties, rows (heap, owned by *out: release with conf_agreement_fini()),
 * max_status_age_s and operator_cert_required; c.iat and c.cti are zero,
 * for the caller to set when it makes the payload. The terms are checked
 * to fit in one agreement record. On error *out is zeroed and owns
 * nothing.
 *
 * Errors: MRX_EMALFORMED (YAML syntax, a NUL byte), MRX_ETYPE (a mapping,
 * list or value where another was expected), MRX_EDUP (a key, party, row
 * or scope twice), MRX_EMISSING (a required key), MRX_ERANGE (a value out
 * of its range, valid_until not after valid_from), MRX_ETOOBIG (a list
 * over its limit, a value over its length, terms over the record size),
 * MRX_EINVAL (anything else, unknown keys and unknown levels among them).
 * diag->field holds the key path ("rows[2].to", "conditions.max_status_age",
 * "" for the document) and diag->msg the whole line for a person,
 * "NAME:LINE: KEY: what is wrong (what was expected)": print it as it is.
 */
int conf_agreement_parse(const char *name, const char *text, size_t len,
    struct proto_agreement *out, struct mrx_diag *diag);

/*
 * Reads the file `path` (at most CONF_AGREEMENT_BYTES_MAX bytes) and parses
 * it as conf_agreement_parse() does, naming it `path` in messages. Also
 * MRX_ENOENT / MRX_EIO when the file cannot be read (diag names the path).
 */
int conf_agreement_load(const char *path, struct proto_agreement *out,
    struct mrx_diag *diag);

/* Releases the rows of `a` and zeroes it; safe on a zeroed struct. */
void conf_agreement_fini(struct proto_agreement *a);

#endif
