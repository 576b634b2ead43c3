/*
 * err.c - error names, texts and diagnostics (see mrx_err.h).
 */
#include "mrx_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	int code;
	const char *name;
	const char *text;
} errtab[] = {
	{ MRX_OK, "OK", "success" },
	{ MRX_EINVAL, "EINVAL", "invalid argument" },
	{ MRX_ENOMEM, "ENOMEM", "out of memory" },
	{ MRX_ENOSPC, "ENOSPC", "no space left in buffer or table" },
	{ MRX_ETOOBIG, "ETOOBIG", "input too large" },
	{ MRX_EIO, "EIO", "input/output error" },
	{ MRX_ENOENT, "ENOENT", "not found" },
	{ MRX_EEXIST, "EEXIST", "already exists" },
	{ MRX_EPERM, "EPERM", "unsafe file permissions" },
	{ MRX_EMALFORMED, "EMALFORMED", "malformed CBOR" },
	{ MRX_ETYPE, "ETYPE", "wrong type" },
	{ MRX_EMISSING, "EMISSING", "required field missing" },
	{ MRX_EDUP, "EDUP", "duplicate map key" },
	{ MRX_ECRIT, "ECRIT", "unknown critical field" },
	{ MRX_ETRAILING, "ETRAILING", "trailing bytes" },
	{ MRX_EINDEF, "EINDEF", "indefinite length not allowed" },
	{ MRX_ENONCANON, "ENONCANON", "not deterministically encoded" },
	{ MRX_EUNSUPPORTED, "EUNSUPPORTED", "unsupported algorithm" },
	{ MRX_EALG, "EALG", "algorithm does not match key" },
	{ MRX_ESIG, "ESIG", "signature does not verify" },
	{ MRX_EKEY, "EKEY", "bad key" },
	{ MRX_ERANGE, "ERANGE", "value out of range" },
	{ MRX_ECRYPTO, "ECRYPTO", "crypto library failure" },
	{ MRX_ETRUNC, "ETRUNC", "truncated input" },
	{ MRX_EDEPTH, "EDEPTH", "nested too deeply" },
	{ MRX_ESTATE, "ESTATE", "invalid state" },
};

static int
errtab_find(int code)
{
	size_t i;

	for (i = 0; i < sizeof(errtab) / sizeof(errtab[0]); i++)
		if (errtab[i].code == code)
			return (int)i;
	return -1;
}

const char *
mrx_strerror(int err)
{
	int i = errtab_find(err);

	return i < 0 ? "unknown error" : errtab[i].text;
}

const char *
mrx_errname(int err)
{
	int i = errtab_find(err);

	return i < 0 ? "EUNKNOWN" : errtab[i].name;
}

void
mrx_diag_clear(struct mrx_diag *d)
{
	if (d == NULL)
		return;
	memset(d, 0, sizeof(*d));
	d->offset = MRX_DIAG_NO_OFFSET;
}

int
mrx_diag_set(struct mrx_diag *d, int code, size_t offset, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	if (d == NULL || d->code != 0)
		return code;
	d->code = code;
	d->offset = offset;
	snprintf(d->field, sizeof(d->field), "%s", field != NULL ? field : "");
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	return code;
}

const char *
mrx_diag_str(const struct mrx_diag *d, char *buf, size_t cap)
{
	int n = 0;

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	if (d == NULL || d->code == 0)
		return buf;
	if (d->field[0] != '\0')
		n = snprintf(buf, cap, "field '%s'", d->field);
	if (d->offset != MRX_DIAG_NO_OFFSET && n >= 0 && (size_t)n < cap)
		n += snprintf(buf + n, cap - (size_t)n, "%sat byte %zu",
		    n > 0 ? " " : "", d->offset);
	if (n >= 0 && (size_t)n < cap)
		snprintf(buf + n, cap - (size_t)n, "%s%s", n > 0 ? ": " : "",
		    d->msg[0] != '\0' ? d->msg : mrx_strerror(d->code));
	return buf;
}
