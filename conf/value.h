/*
 * value.h - parsers for the values a person types in configuration files and
 * on the command line: durations ("10y", "90d", "1d12h"), RFC 3339 times,
 * hexadecimal byte strings. Each names what is wrong in its diag.
 */
#ifndef CONF_VALUE_H
#define CONF_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "mrx_err.h"

/* A duration: calendar years plus a number of seconds. */
struct conf_duration {
	int years;		/* calendar years, added with proto_time_add_years */
	int64_t seconds;	/* d, h, m, s summed */
};

/*
 * Parses "<n><unit>..." with units y (calendar years), w, d, h, m, s, e.g.
 * "10y", "2y", "90d", "1d12h", "30s", or "0". Each unit at most once, in
 * that order; the total is at most 100 years (callers that need a positive
 * duration check it).
 */
int conf_duration_parse(const char *s, struct conf_duration *out,
    struct mrx_diag *diag);

/* t + d, MRX_ERANGE if out of the representable range. */
int conf_duration_add(int64_t t, const struct conf_duration *d, int64_t *out);

/* A duration without years, in seconds (years: MRX_EINVAL, use days). */
int conf_duration_seconds(const char *s, int64_t *out, struct mrx_diag *diag);

/*
 * Parses an RFC 3339 time: "2030-01-01T00:00:00Z", "...+09:00", optional
 * fraction (dropped), or a date "2030-01-01" (midnight UTC), or "@SECONDS".
 */
int conf_time_parse(const char *s, int64_t *out, struct mrx_diag *diag);

/*
 * Parses hex (upper or lower case, no separators) into buf; *len gets the
 * byte count. MRX_EINVAL for an odd length or a non-hex character (diag
 * gives its position), MRX_ETOOBIG if over cap.
 */
int conf_hex_parse(const char *s, uint8_t *buf, size_t cap, size_t *len,
    struct mrx_diag *diag);

#endif
