/*
 * ptime.c - calendar arithmetic on NumericDate seconds (see ptime.h).
 *
 * Days from civil and back use the era-based algorithms (400-year cycles of
 * 146097 days), exact for the whole proleptic Gregorian range we accept.
 * Everything is integer arithmetic: the same inputs give the same outputs on
 * every machine, which the simulator's determinism depends on.
 */
#include "ptime.h"

#include <stdbool.h>
#include <stdio.h>

#include "mrx_err.h"

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
proto_days_in_month(int year, int month)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
		31, 30, 31 };

	if (month < 1 || month > 12)
		return 0;
	return month == 2 && is_leap(year) ? 29 : mdays[month - 1];
}

int64_t
proto_days_from_civil(int year, int month, int day)
{
	int64_t y = (int64_t)year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t mp = (month + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void
proto_civil_from_time(int64_t t, struct proto_civil *c)
{
	int64_t days = t / 86400, secs = t % 86400;
	int64_t z, era, doe, yoe, doy, mp, y;

	if (secs < 0) {
		secs += 86400;
		days -= 1;
	}
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->year = (int)(y + (c->month <= 2));
	c->hour = (int)(secs / 3600);
	c->min = (int)(secs / 60 % 60);
	c->sec = (int)(secs % 60);
}

int
proto_time_from_civil(const struct proto_civil *c, int64_t *t)
{
	if (c->year < 1 || c->year > 9999 || c->month < 1 || c->month > 12 ||
	    c->day < 1 || c->day > proto_days_in_month(c->year, c->month) ||
	    c->hour < 0 || c->hour > 23 || c->min < 0 || c->min > 59 ||
	    c->sec < 0 || c->sec > 59)
		return MRX_ERANGE;
	*t = proto_days_from_civil(c->year, c->month, c->day) * 86400 +
	    c->hour * 3600 + c->min * 60 + c->sec;
	return 0;
}

int
proto_time_add_years(int64_t t, int years, int64_t *out)
{
	struct proto_civil c;
	int dim;

	if (t < PROTO_TIME_MIN || t > PROTO_TIME_MAX || years < -9999 ||
	    years > 9999)
		return MRX_ERANGE;
	proto_civil_from_time(t, &c);
	c.year += years;
	if (c.year < 1 || c.year > 9999)
		return MRX_ERANGE;
	dim = proto_days_in_month(c.year, c.month);
	if (c.day > dim)
		c.day = dim;
	return proto_time_from_civil(&c, out);
}

const char *
proto_time_format(int64_t t, char *buf, size_t cap)
{
	struct proto_civil c;

	if (t < PROTO_TIME_MIN || t > PROTO_TIME_MAX) {
		snprintf(buf, cap, "@%lld", (long long)t);
		return buf;
	}
	proto_civil_from_time(t, &c);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month,
	    c.day, c.hour, c.min, c.sec);
	return buf;
}
