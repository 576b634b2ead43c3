/*
 * mrx_err.h - the one error convention of mrx.
 *
 * Every fallible function returns int: 0 on success or a negative MRX_E* code
 * from this header. Where an error is caused by input (a record, a file, a
 * flag), the function also fills a struct mrx_diag that names what was wrong
 * and where: the field, the byte offset, or file:line:key. A diag pointer may
 * always be NULL when the caller does not want the detail.
 */
#ifndef MRX_ERR_H
#define MRX_ERR_H

#include <stddef.h>

enum mrx_err {
	MRX_OK = 0,
	MRX_EINVAL = -1,	/* invalid argument or value */
	MRX_ENOMEM = -2,	/* allocation failed */
	MRX_ENOSPC = -3,	/* caller's buffer or a bounded table is full */
	MRX_ETOOBIG = -4,	/* input exceeds a documented limit */
	MRX_EIO = -5,		/* file or device error (errno in diag) */
	MRX_ENOENT = -6,	/* no such file or entry */
	MRX_EEXIST = -7,	/* refusing to overwrite */
	MRX_EPERM = -8,		/* unsafe permissions on a secret file */
	MRX_EMALFORMED = -9,	/* bytes are not well-formed CBOR/COSE */
	MRX_ETYPE = -10,	/* a field has the wrong CBOR type */
	MRX_EMISSING = -11,	/* a required field is absent */
	MRX_EDUP = -12,		/* duplicate map key */
	MRX_ECRIT = -13,	/* a critical field is not understood */
	MRX_ETRAILING = -14,	/* bytes after the end of the item */
	MRX_EINDEF = -15,	/* indefinite-length item (not allowed) */
	MRX_ENONCANON = -16,	/* not core deterministic encoding */
	MRX_EUNSUPPORTED = -17, /* algorithm or feature not supported */
	MRX_EALG = -18,		/* algorithm does not match the key */
	MRX_ESIG = -19,		/* signature does not verify */
	MRX_EKEY = -20,		/* key is corrupt or of the wrong type */
	MRX_ERANGE = -21,	/* a value is out of its allowed range */
	MRX_ECRYPTO = -22,	/* the crypto library failed internally */
	MRX_ETRUNC = -23,	/* input ends in the middle of an item */
	MRX_EDEPTH = -24,	/* nesting deeper than allowed */
	MRX_ESTATE = -25,	/* operation not valid in this state */
};

/* Short fixed English text for an MRX_E* code; never NULL. */
const char *mrx_strerror(int err);

/* The stable symbolic name of an MRX_E* code ("EMALFORMED"); never NULL. */
const char *mrx_errname(int err);

/*
 * What went wrong, for a person and for a program. `field` names the record
 * field or key path ("payload.level", "protected.alg"); `offset` is the byte
 * offset in the input where the problem was found, or MRX_DIAG_NO_OFFSET.
 */
#define MRX_DIAG_NO_OFFSET ((size_t)-1)
struct mrx_diag {
	int code;		/* the MRX_E* code, 0 if none */
	size_t offset;		/* byte offset in the input, or MRX_DIAG_NO_OFFSET */
	char field[64];		/* field path, "" if none */
	char msg[192];		/* one sentence, no trailing newline */
};

/* Clears `d` (no error). NULL is fine. */
void mrx_diag_clear(struct mrx_diag *d);

/*
 * Records an error in `d` (if not NULL) and returns `code`, so that callers
 * can write `return mrx_diag_set(d, MRX_ETYPE, off, "level", "...%s", x);`.
 * The first error wins: a diag that already holds an error is not changed.
 */
int mrx_diag_set(struct mrx_diag *d, int code, size_t offset, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Formats `d` as one line: "field 'level' at byte 12: text" into buf.
 * Returns buf.
 */
const char *mrx_diag_str(const struct mrx_diag *d, char *buf, size_t cap);

#endif
