/*
 * test_ptime.c - calendar arithmetic (protocol/ptime.c) and the value
 * parsers of conf/value.c: durations, RFC 3339 times, hex.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ptime.h"
#include "value.h"

static int64_t
t_of(const char *s)
{
	int64_t t = 0;

	assert_int_equal(conf_time_parse(s, &t, NULL), 0);
	return t;
}

static void
test_civil_roundtrip(void **state)
{
	struct proto_civil c;
	int64_t t, back;

	(void)state;
	/* every day over four centuries, both directions */
	for (t = proto_days_from_civil(1900, 1, 1) * 86400;
	     t < proto_days_from_civil(2300, 1, 1) * 86400; t += 86400 + 7) {
		proto_civil_from_time(t, &c);
		assert_int_equal(proto_time_from_civil(&c, &back), 0);
		assert_true(back == t);
	}
	assert_int_equal(proto_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(proto_days_from_civil(2000, 3, 1), 11017);
}

static void
test_add_years(void **state)
{
	int64_t out;
	char b[PROTO_TIME_STR];

	(void)state;
	assert_int_equal(proto_time_add_years(t_of("2026-11-27T11:06:25Z"),
	    10, &out), 0);
	assert_string_equal(proto_time_format(out, b, sizeof(b)),
	    "2036-11-27T11:06:25Z");
	/* ten calendar years across three leap days */
	assert_true(out - t_of("2026-11-27T11:06:25Z") == 3653LL * 86400);
	/* 29 February clamps to 28 February, never beyond N years */
	assert_int_equal(proto_time_add_years(t_of("2028-02-29T00:00:00Z"), 5,
	    &out), 0);
	assert_string_equal(proto_time_format(out, b, sizeof(b)),
	    "2033-02-28T00:00:00Z");
	assert_int_equal(proto_time_add_years(t_of("2028-02-29T12:00:00Z"), 4,
	    &out), 0);
	assert_string_equal(proto_time_format(out, b, sizeof(b)),
	    "2032-02-29T12:00:00Z");
	assert_int_equal(proto_time_add_years(t_of("9995-01-01"), 10, &out),
	    MRX_ERANGE);
}

static void
test_time_parse(void **state)
{
	int64_t t;
	struct mrx_diag d;

	(void)state;
	assert_true(t_of("1970-01-01T00:00:00Z") == 0);
	assert_true(t_of("2030-01-01") == t_of("2030-01-01T00:00:00Z"));
	/* JST midnight is 15:00 UTC the day before */
	assert_true(t_of("2036-11-28T00:00:00+09:00") ==
	    t_of("2036-11-27T15:00:00Z"));
	assert_true(t_of("2030-01-01T00:00:00.123Z") ==
	    t_of("2030-01-01T00:00:00Z"));
	assert_true(t_of("@1700000000") == 1700000000);
	mrx_diag_clear(&d);
	assert_int_equal(conf_time_parse("2030-01-01 00:00:00", &t, &d),
	    MRX_EINVAL);
	assert_string_equal(d.field, "time");
	assert_int_equal(conf_time_parse("2030-02-30T00:00:00Z", &t, NULL),
	    MRX_ERANGE);
	assert_int_equal(conf_time_parse("2030-01-01T24:00:00Z", &t, NULL),
	    MRX_ERANGE);
	assert_int_equal(conf_time_parse("2030-01-01T00:00:00", &t, NULL),
	    MRX_EINVAL);
	assert_int_equal(conf_time_parse("", &t, NULL), MRX_EINVAL);
	assert_int_equal(conf_time_parse("@", &t, NULL), MRX_EINVAL);
}

static void
test_duration(void **state)
{
	struct conf_duration d;
	struct mrx_diag dg;
	int64_t s;

	(void)state;
	assert_int_equal(conf_duration_parse("10y", &d, NULL), 0);
	assert_int_equal(d.years, 10);
	assert_true(d.seconds == 0);
	assert_int_equal(conf_duration_parse("1d12h", &d, NULL), 0);
	assert_true(d.seconds == 36 * 3600);
	assert_int_equal(conf_duration_parse("2w", &d, NULL), 0);
	assert_true(d.seconds == 14 * 86400);
	assert_int_equal(conf_duration_parse("0", &d, NULL), 0);
	mrx_diag_clear(&dg);
	assert_int_equal(conf_duration_parse("10yrs", &d, &dg), MRX_EINVAL);
	assert_true(dg.offset == 3);
	assert_int_equal(conf_duration_parse("12h1d", &d, NULL), MRX_EINVAL);
	assert_int_equal(conf_duration_parse("1d1d", &d, NULL), MRX_EINVAL);
	assert_int_equal(conf_duration_parse("y", &d, NULL), MRX_EINVAL);
	assert_int_equal(conf_duration_parse("", &d, NULL), MRX_EINVAL);
	assert_int_equal(conf_duration_parse("101y", &d, NULL), MRX_ERANGE);
	assert_int_equal(conf_duration_parse("99999999999999999999s", &d, NULL),
	    MRX_ERANGE);
	assert_int_equal(conf_duration_seconds("60s", &s, NULL), 0);
	assert_true(s == 60);
	assert_int_equal(conf_duration_seconds("1y", &s, NULL), MRX_EINVAL);
}

static void
test_hex(void **state)
{
	uint8_t b[4];
	size_t n;
	struct mrx_diag d;

	(void)state;
	assert_int_equal(conf_hex_parse("00Ff10", b, sizeof(b), &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(b[1], 0xff);
	mrx_diag_clear(&d);
	assert_int_equal(conf_hex_parse("0g", b, sizeof(b), &n, &d), MRX_EINVAL);
	assert_true(d.offset == 1);
	assert_int_equal(conf_hex_parse("abc", b, sizeof(b), &n, NULL),
	    MRX_EINVAL);
	assert_int_equal(conf_hex_parse("0011223344", b, sizeof(b), &n, NULL),
	    MRX_ETOOBIG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_civil_roundtrip),
		cmocka_unit_test(test_add_years),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
