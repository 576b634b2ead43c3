/*
 * test_heap.c - the virtual clock: events come out by time, ties by push
 * order (never by payload or address); the heap is bounded; a
 * fast-forward moves periodic events without breaking the order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "heap.h"
#include "rng.h"

static void
test_order_and_ties(void **state)
{
	struct sim_heap h;
	struct sim_event e;
	int64_t last_t = -1;
	uint64_t last_seq = 0;
	int i;

	(void)state;
	sim_heap_init(&h);
	/* three events at t=5 pushed in order a, b, c; others around */
	assert_int_equal(sim_heap_push(&h, 5, 1, 0, 0, 0xa), 0);
	assert_int_equal(sim_heap_push(&h, 9, 1, 0, 0, 0x9), 0);
	assert_int_equal(sim_heap_push(&h, 5, 1, 0, 0, 0xb), 0);
	assert_int_equal(sim_heap_push(&h, 1, 1, 0, 0, 0x1), 0);
	assert_int_equal(sim_heap_push(&h, 5, 1, 0, 0, 0xc), 0);
	assert_true(sim_heap_check(&h));
	assert_true(sim_heap_pop(&h, &e) && e.t_us == 1 && e.arg == 0x1);
	assert_true(sim_heap_pop(&h, &e) && e.t_us == 5 && e.arg == 0xa);
	assert_true(sim_heap_pop(&h, &e) && e.t_us == 5 && e.arg == 0xb);
	assert_true(sim_heap_pop(&h, &e) && e.t_us == 5 && e.arg == 0xc);
	assert_true(sim_heap_pop(&h, &e) && e.t_us == 9);
	assert_false(sim_heap_pop(&h, &e));
	assert_null(sim_heap_peek(&h));
	/* many random times: (t, seq) never decreases */
	{
		struct sim_rng r;

		sim_rng_init(&r, 42, "heap");
		for (i = 0; i < 20000; i++)
			assert_int_equal(sim_heap_push(&h, (int64_t)
			    sim_rng_below(&r, 100), 2, (uint32_t)i, 0, 0), 0);
	}
	assert_true(sim_heap_check(&h));
	while (sim_heap_pop(&h, &e)) {
		assert_true(e.t_us > last_t || (e.t_us == last_t &&
		    e.seq > last_seq));
		last_t = e.t_us;
		last_seq = e.seq;
	}
	assert_true(h.peak == 20000);
	sim_heap_fini(&h);
}

static void
test_bound(void **state)
{
	struct sim_heap h;
	struct sim_event e;

	(void)state;
	sim_heap_init(&h);
	h.max = 3;
	assert_int_equal(sim_heap_push(&h, 3, 1, 0, 0, 0), 0);
	assert_int_equal(sim_heap_push(&h, 2, 1, 0, 0, 0), 0);
	assert_int_equal(sim_heap_push(&h, 1, 1, 0, 0, 0), 0);
	assert_int_equal(sim_heap_push(&h, 0, 1, 0, 0, 0), MRX_ENOSPC);
	assert_int_equal(h.n, 3);
	assert_true(sim_heap_pop(&h, &e) && e.t_us == 1);
	assert_int_equal(sim_heap_push(&h, 0, 1, 0, 0, 0), 0);
	assert_true(sim_heap_check(&h));
	sim_heap_fini(&h);
}

static void
test_rebase(void **state)
{
	struct sim_heap h;
	struct sim_event e;

	(void)state;
	sim_heap_init(&h);
	/* ticks of period 10 at phases 3 and 7; a script event at 1000 */
	assert_int_equal(sim_heap_push(&h, 3, 7, 0, 0, 0), 0);
	assert_int_equal(sim_heap_push(&h, 7, 7, 1, 0, 0), 0);
	assert_int_equal(sim_heap_push(&h, 1000, 1, 0, 0, 0), 0);
	sim_heap_rebase(&h, 7, 995, 10);
	assert_true(sim_heap_check(&h));
	/* 3 -> 1003, 7 -> 997: whole periods, the phase kept */
	assert_true(sim_heap_pop(&h, &e) && e.t_us == 997 && e.node == 1);
	assert_true(sim_heap_pop(&h, &e) && e.t_us == 1000 && e.kind == 1);
	assert_true(sim_heap_pop(&h, &e) && e.t_us == 1003 && e.node == 0);
	sim_heap_fini(&h);
}

static void
test_rng_streams(void **state)
{
	struct sim_rng a, b, c;
	uint64_t x;
	int i, hist[10] = { 0 };

	(void)state;
	sim_rng_init(&a, 7, "network");
	sim_rng_init(&b, 7, "network");
	sim_rng_init(&c, 7, "workload");
	for (i = 0; i < 1000; i++) {
		x = sim_rng_u64(&a);
		assert_true(x == sim_rng_u64(&b));
	}
	assert_true(sim_rng_u64(&a) != sim_rng_u64(&c));
	for (i = 0; i < 100000; i++)
		hist[sim_rng_below(&a, 10)]++;
	for (i = 0; i < 10; i++)
		assert_true(hist[i] > 9500 && hist[i] < 10500);
	for (i = 0; i < 1000; i++) {
		int64_t v = sim_rng_range(&a, -5, 5);

		assert_true(v >= -5 && v <= 5);
	}
	assert_false(sim_rng_chance(&a, 0));
	assert_true(sim_rng_chance(&a, SIM_PPM));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_ties),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_rebase),
		cmocka_unit_test(test_rng_streams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
