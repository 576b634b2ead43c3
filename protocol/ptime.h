/*
 * ptime.h - calendar arithmetic on NumericDate seconds (UTC), pure integer
 * code with no clock, no time zone database and no libc time state.
 */
#ifndef PROTO_PTIME_H
#define PROTO_PTIME_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_TIME_MIN (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define PROTO_TIME_MAX 253402300799LL	/* 9999-12-31T23:59:59Z */
#define PROTO_TIME_STR 32		/* buffer for proto_time_format */

/* A civil date-time in UTC. */
struct proto_civil {
	int year;	/* 1..9999 */
	int month;	/* 1..12 */
	int day;	/* 1..31 */
	int hour, min, sec;
};

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t proto_days_from_civil(int year, int month, int day);
/* NumericDate -> civil UTC. */
void proto_civil_from_time(int64_t t, struct proto_civil *c);
/* Civil UTC -> NumericDate; MRX_ERANGE for an invalid date or time. */
int proto_time_from_civil(const struct proto_civil *c, int64_t *t);
int proto_days_in_month(int year, int month);

/*
 * t plus `years` calendar years, same month, day and time of day in UTC; a
 * 29 February that does not exist in the target year becomes 28 February
 * (the validity never exceeds the stated number of years). MRX_ERANGE if
 * the result leaves PROTO_TIME_MIN..MAX.
 */
int proto_time_add_years(int64_t t, int years, int64_t *out);

/* Formats t as RFC 3339 "2026-11-27T11:06:25Z" into buf; returns buf. */
const char *proto_time_format(int64_t t, char *buf, size_t cap);

#endif
