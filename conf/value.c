/*
 * value.c - duration, time and hex parsers (see value.h).
 *
 * Strict by design: a value is accepted only if every character is
 * understood, so "10yrs" or "2030-01-01 00:00" is an error that says where,
 * never a silently different value.
 */
#include "value.h"

#include <ctype.h>
#include <string.h>

#include "ptime.h"

#define DURATION_YEARS_MAX 100

static int
parse_uint(const char **p, int64_t max, int64_t *out)
{
	int64_t v = 0;
	const char *s = *p;

	if (!isdigit((unsigned char)*s))
		return MRX_EINVAL;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (*s - '0');
		if (v > max)
			return MRX_ERANGE;
		s++;
	}
	*p = s;
	*out = v;
	return 0;
}

int
conf_duration_parse(const char *s, struct conf_duration *out,
    struct mrx_diag *diag)
{
	static const char units[] = "ywdhms";
	static const int64_t secs[] = { 0, 604800, 86400, 3600, 60, 1 };
	const char *p = s, *u;
	int64_t n = 0;
	int last = -1, rc;

	memset(out, 0, sizeof(*out));
	if (s != NULL && strcmp(s, "0") == 0)
		return 0;
	if (s == NULL || *s == '\0')
		return mrx_diag_set(diag, MRX_EINVAL, 0, "duration",
		    "empty duration (expected e.g. 10y, 90d, 12h)");
	while (*p != '\0') {
		rc = parse_uint(&p, (int64_t)DURATION_YEARS_MAX * 366 * 86400, &n);
		if (rc != 0)
			return mrx_diag_set(diag, rc, (size_t)(p - s), "duration",
			    "'%s': expected a number at position %zu", s,
			    (size_t)(p - s));
		u = *p != '\0' ? strchr(units, *p) : NULL;
		if (u == NULL || (int)(u - units) <= last)
			return mrx_diag_set(diag, MRX_EINVAL, (size_t)(p - s),
			    "duration",
			    "'%s': expected a unit y, w, d, h, m or s (each once, "
			    "largest first) at position %zu", s, (size_t)(p - s));
		last = (int)(u - units);
		if (last == 0) {
			if (n > DURATION_YEARS_MAX)
				return mrx_diag_set(diag, MRX_ERANGE, 0,
				    "duration", "'%s': more than %d years", s,
				    DURATION_YEARS_MAX);
			out->years = (int)n;
		} else {
			out->seconds += n * secs[last];
		}
		p++;
	}
	if (out->years * 366LL * 86400 + out->seconds >
	    DURATION_YEARS_MAX * 366LL * 86400)
		return mrx_diag_set(diag, MRX_ERANGE, 0, "duration",
		    "'%s': more than %d years", s, DURATION_YEARS_MAX);
	return 0;
}

int
conf_duration_add(int64_t t, const struct conf_duration *d, int64_t *out)
{
	int64_t r;
	int rc;

	rc = proto_time_add_years(t, d->years, &r);
	if (rc != 0)
		return rc;
	r += d->seconds;
	if (r > PROTO_TIME_MAX)
		return MRX_ERANGE;
	*out = r;
	return 0;
}

int
conf_duration_seconds(const char *s, int64_t *out, struct mrx_diag *diag)
{
	struct conf_duration d;
	int rc;

	rc = conf_duration_parse(s, &d, diag);
	if (rc != 0)
		return rc;
	if (d.years != 0)
		return mrx_diag_set(diag, MRX_EINVAL, 0, "duration",
		    "'%s': years are not allowed here; use days (d)", s);
	*out = d.seconds;
	return 0;
}

static int
take_digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return MRX_EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
take_char(const char **p, char c)
{
	if (**p != c)
		return MRX_EINVAL;
	(*p)++;
	return 0;
}

/* Parses the "Z" or "+hh:mm"/"-hh:mm" suffix into an offset in seconds. */
static int
parse_offset(const char **p, int64_t *off)
{
	int sign, hh, mm;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*off = 0;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return MRX_EINVAL;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (take_digits(p, 2, &hh) || take_char(p, ':') ||
	    take_digits(p, 2, &mm) || hh > 23 || mm > 59)
		return MRX_EINVAL;
	*off = sign * (hh * 3600 + mm * 60);
	return 0;
}

int
conf_time_parse(const char *s, int64_t *out, struct mrx_diag *diag)
{
	struct proto_civil c = { 0 };
	const char *p = s;
	int64_t off = 0, t, v = 0;

	if (s != NULL && s[0] == '@') {
		p = s + 1;
		if (parse_uint(&p, PROTO_TIME_MAX, &v) == 0 && *p == '\0') {
			*out = v;
			return 0;
		}
		goto bad;
	}
	if (s == NULL || take_digits(&p, 4, &c.year) || take_char(&p, '-') ||
	    take_digits(&p, 2, &c.month) || take_char(&p, '-') ||
	    take_digits(&p, 2, &c.day))
		goto bad;
	if (*p != '\0') {
		if ((*p != 'T' && *p != 't') || (p++, take_digits(&p, 2, &c.hour)) ||
		    take_char(&p, ':') || take_digits(&p, 2, &c.min) ||
		    take_char(&p, ':') || take_digits(&p, 2, &c.sec))
			goto bad;
		if (*p == '.') {
			p++;
			if (!isdigit((unsigned char)*p))
				goto bad;
			while (isdigit((unsigned char)*p))
				p++;
		}
		if (parse_offset(&p, &off) != 0 || *p != '\0')
			goto bad;
	}
	if (proto_time_from_civil(&c, &t) != 0)
		return mrx_diag_set(diag, MRX_ERANGE, 0, "time",
		    "'%s' is not a valid calendar date and time", s);
	*out = t - off;
	return 0;
bad:
	return mrx_diag_set(diag, MRX_EINVAL, s != NULL ? (size_t)(p - s) : 0,
	    "time",
	    "'%s': expected RFC 3339 like 2030-01-01T00:00:00Z or "
	    "2030-01-01T09:00:00+09:00 (problem at position %zu)",
	    s != NULL ? s : "", s != NULL ? (size_t)(p - s) : 0);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
conf_hex_parse(const char *s, uint8_t *buf, size_t cap, size_t *len,
    struct mrx_diag *diag)
{
	size_t n = strlen(s), i;
	int hi, lo;

	if (n % 2 != 0)
		return mrx_diag_set(diag, MRX_EINVAL, n, "hex",
		    "odd number of hex digits (%zu)", n);
	if (n / 2 > cap)
		return mrx_diag_set(diag, MRX_ETOOBIG, 0, "hex",
		    "%zu bytes of hex, at most %zu allowed", n / 2, cap);
	for (i = 0; i < n; i += 2) {
		hi = hexval((unsigned char)s[i]);
		lo = hexval((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return mrx_diag_set(diag, MRX_EINVAL,
			    hi < 0 ? i : i + 1, "hex",
			    "not a hex digit at position %zu",
			    hi < 0 ? i : i + 1);
		buf[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}
