/*
 * test_net.c - the network model: latencies stay within latency +-
 * jitter, faults happen at about their rates and only when on, a
 * partition cuts both ways and heals, link rules apply to a pair of
 * jurisdictions either way, and a seed replays the same fates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net.h"

#define N 100000

static void
test_latency_bounds(void **state)
{
	struct sim_link l = { 50000, 20000, 0, 0, 0, 0 };
	struct sim_net n;
	int64_t d[2], lo = INT64_MAX, hi = 0;
	int i, c;

	(void)state;
	assert_int_equal(sim_net_init(&n, 2, &l, 1), 0);
	for (i = 0; i < N; i++) {
		c = sim_net_route(&n, 0, 1, &l, d);
		assert_int_equal(c, 1);
		lo = d[0] < lo ? d[0] : lo;
		hi = d[0] > hi ? d[0] : hi;
	}
	assert_true(lo >= 30000 && lo < 30500);
	assert_true(hi <= 70000 && hi > 69500);
	sim_net_fini(&n);
}

static void
test_fault_rates(void **state)
{
	struct sim_link l = { 1000, 0, 100000, 50000, 200000, 5000 };
	struct sim_net n;
	int64_t d[2];
	int i, lost = 0, dup = 0, late = 0, c;

	(void)state;
	assert_int_equal(sim_net_init(&n, 2, &l, 2), 0);
	for (i = 0; i < N; i++) {
		c = sim_net_route(&n, 0, 1, &l, d);
		lost += c == 0;
		dup += c == 2;
		if (c > 0)
			late += d[0] == 6000;
	}
	/* 10% lost, 5% of the rest duplicated, 20% held back */
	assert_true(lost > 9000 && lost < 11000);
	assert_true(dup > 4000 && dup < 5000);
	assert_true(late > 16000 && late < 20000);
	assert_true(n.lost == (uint64_t)lost && n.duplicated == (uint64_t)dup);
	/* faults off: everything arrives once */
	n.faults = false;
	for (i = 0; i < 1000; i++)
		assert_int_equal(sim_net_route(&n, 0, 1, &l, d), 1);
	sim_net_fini(&n);
}

static void
test_partition_and_rules(void **state)
{
	struct sim_link l = { 50000, 0, 0, 0, 0, 0 };
	struct sim_link far = { 150000, 0, 0, 0, 0, 0 };
	struct sim_net n;
	int64_t d[2];

	(void)state;
	assert_int_equal(sim_net_init(&n, 3, &l, 3), 0);
	assert_int_equal(sim_net_add_rule(&n, "JP", "US", &far), 0);
	assert_true(sim_net_link(&n, "US", "JP")->latency_us == 150000);
	assert_true(sim_net_link(&n, "JP", "JP")->latency_us == 50000);
	sim_net_set_group(&n, 2, 1);
	assert_true(sim_net_connected(&n, 0, 1));
	assert_false(sim_net_connected(&n, 0, 2));
	assert_false(sim_net_connected(&n, 2, 0));
	assert_int_equal(sim_net_route(&n, 2, 0, &l, d), 0);
	assert_true(n.cut == 1);
	sim_net_heal(&n);
	assert_true(sim_net_connected(&n, 0, 2));
	assert_int_equal(sim_net_route(&n, 2, 0, &l, d), 1);
	/* out of range nodes are never connected */
	assert_false(sim_net_connected(&n, 0, 9));
	/* bad links are refused */
	far.jitter_us = far.latency_us + 1;
	assert_int_equal(sim_net_add_rule(&n, "JP", "UK", &far), MRX_EINVAL);
	far.jitter_us = 0;
	far.loss_ppm = SIM_PPM + 1;
	assert_int_equal(sim_link_check(&far), MRX_EINVAL);
	sim_net_fini(&n);
}

static void
fates(uint64_t seed, int64_t out[1000])
{
	struct sim_link l = { 50000, 20000, 100000, 100000, 100000, 80000 };
	struct sim_net n;
	int64_t d[2];
	int i, c;

	assert_int_equal(sim_net_init(&n, 2, &l, seed), 0);
	for (i = 0; i < 1000; i++) {
		c = sim_net_route(&n, 0, 1, &l, d);
		out[i] = c == 0 ? -1 : d[0] * 4 + c;
	}
	sim_net_fini(&n);
}

static void
test_replay(void **state)
{
	int64_t a[1000], b[1000], c[1000];

	(void)state;
	fates(11, a);
	fates(11, b);
	fates(12, c);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_latency_bounds),
		cmocka_unit_test(test_fault_rates),
		cmocka_unit_test(test_partition_and_rules),
		cmocka_unit_test(test_replay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
