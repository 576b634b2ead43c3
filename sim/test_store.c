/*
 * test_store.c - the in-memory store: writes land only when their
 * transaction commits, in queue order; effects (publishes) come out with
 * the commit and never before; a crash keeps a prefix of the unsynced
 * transactions and loses the rest, whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store.h"

#define URI "mrx://jp.meti/status/1"

/* A persisted list at seq, with a delta when seq > 0. */
struct plist {
	struct proto_status_list sl;
	uint8_t alloc[2];
	uint8_t delta[8];
	struct eng_persist_list p;
};

static void
plist_make(struct plist *l, uint64_t seq)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(proto_status_list_init(&l->sl, 16), 0);
	snprintf(l->sl.c.iss, sizeof(l->sl.c.iss), "jp.meti");
	snprintf(l->sl.c.sub, sizeof(l->sl.c.sub), URI);
	l->sl.seq = seq;
	l->sl.has_head = seq > 0;
	memset(l->sl.head, (int)seq, sizeof(l->sl.head));
	l->alloc[0] = 0x01;
	memset(l->delta, (int)seq, sizeof(l->delta));
	l->p.sl = &l->sl;
	l->p.alloc = l->alloc;
	l->p.nalloc = 1;
	l->p.has_change = seq > 0;
	l->p.delta = seq > 0 ? l->delta : NULL;
	l->p.delta_len = seq > 0 ? sizeof(l->delta) : 0;
}

static struct sim_txn *
txn_delta(uint64_t seq)
{
	struct sim_txn *t = sim_txn_new();
	struct plist l;

	assert_non_null(t);
	plist_make(&l, seq);
	assert_int_equal(sim_txn_list(t, &l.p), 0);
	assert_int_equal(sim_txn_effect(t, 7, 0, seq, l.delta,
	    sizeof(l.delta)), 0);
	proto_status_list_fini(&l.sl);
	return t;
}

static void
test_commit(void **state)
{
	struct sim_store s;
	struct sim_txn *t;
	struct eng_persist_record r;
	uint8_t rec[40];
	int rc;

	(void)state;
	sim_store_init(&s);
	t = txn_delta(0);
	memset(&r, 0, sizeof(r));
	r.type = PROTO_REC_CLEARANCE;
	memset(r.cti, 0x42, PROTO_CTI_LEN);
	snprintf(r.ref.uri, sizeof(r.ref.uri), URI);
	r.ref.idx = 3;
	memset(rec, 0x99, sizeof(rec));
	r.bytes = rec;
	r.len = sizeof(rec);
	assert_int_equal(sim_txn_record(t, &r), 0);
	assert_int_equal(sim_store_queue(&s, t, 10), 0);
	/* not durable yet: nothing visible, nothing to send */
	assert_null(sim_store_commit(&s, 9, &rc));
	assert_null(sim_store_find(&s, r.cti));
	assert_null(sim_store_list(&s, URI));
	t = sim_store_commit(&s, 10, &rc);
	assert_non_null(t);
	assert_int_equal(rc, 0);
	assert_int_equal(t->nfx, 1);
	sim_txn_free(t);
	assert_non_null(sim_store_find(&s, r.cti));
	assert_int_equal(sim_store_find(&s, r.cti)->ref.idx, 3);
	assert_non_null(sim_store_list(&s, URI));
	assert_true(sim_store_check(&s));
	/* a delta 1, then 2: both kept by seq */
	assert_int_equal(sim_store_queue(&s, txn_delta(1), 20), 0);
	assert_int_equal(sim_store_queue(&s, txn_delta(2), 15), 0);
	/* commit times never decrease: 2 waits for 1 */
	assert_true(s.tail->commit_us == 20);
	assert_int_equal(sim_store_next_commit(&s), 20);
	assert_null(sim_store_commit(&s, 19, &rc));
	sim_txn_free(sim_store_commit(&s, 20, &rc));
	sim_txn_free(sim_store_commit(&s, 20, &rc));
	assert_non_null(sim_store_delta(&s, URI, 1));
	assert_non_null(sim_store_delta(&s, URI, 2));
	assert_null(sim_store_delta(&s, URI, 3));
	assert_true(sim_store_list(&s, URI)->sl.seq == 2);
	assert_true(sim_store_check(&s));
	sim_store_fini(&s);
}

static void
test_crash_prefix(void **state)
{
	struct sim_store s;
	struct sim_rng r;
	size_t landed, lost, k, seen[7] = { 0 };
	uint64_t seq;
	int round, rc;

	(void)state;
	sim_rng_init(&r, 5, "store");
	for (round = 0; round < 60; round++) {
		sim_store_init(&s);
		sim_txn_free(NULL);
		assert_int_equal(sim_store_queue(&s, txn_delta(0), 0), 0);
		for (seq = 1; seq <= 5; seq++)
			assert_int_equal(sim_store_queue(&s, txn_delta(seq),
			    100), 0);
		assert_int_equal(sim_store_crash(&s, &r, &landed, &lost), 0);
		assert_int_equal(landed + lost, 6);
		assert_int_equal(s.npending, 0);
		assert_null(sim_store_commit(&s, 1000, &rc));
		/* exactly the first `landed` transactions, nothing after */
		k = landed > 0 ? landed - 1 : 0;
		if (landed == 0)
			assert_null(sim_store_list(&s, URI));
		else
			assert_true(sim_store_list(&s, URI)->sl.seq == k);
		for (seq = 1; seq <= 5; seq++)
			assert_true((sim_store_delta(&s, URI, seq) != NULL) ==
			    (seq <= k));
		assert_true(sim_store_check(&s));
		seen[landed]++;
		sim_store_fini(&s);
	}
	/* every prefix length happens, from none to all six */
	for (k = 0; k <= 6; k++)
		assert_true(seen[k] > 0);
}

static void
test_lists_in_order(void **state)
{
	struct sim_store s;
	struct sim_txn *t;
	struct plist l;
	int rc;

	(void)state;
	sim_store_init(&s);
	plist_make(&l, 0);
	snprintf(l.sl.c.sub, sizeof(l.sl.c.sub), "mrx://jp.meti/status/3");
	t = sim_txn_new();
	assert_int_equal(sim_txn_list(t, &l.p), 0);
	proto_status_list_fini(&l.sl);
	assert_int_equal(sim_store_queue(&s, t, 0), 0);
	t = sim_store_commit(&s, 0, &rc);
	assert_int_equal(rc, MRX_EINVAL);	/* list 3 before 1 and 2 */
	sim_txn_free(t);
	assert_int_equal(s.nlists, 0);
	assert_true(sim_txn_empty(t = sim_txn_new()));
	sim_txn_free(t);
	sim_store_fini(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit),
		cmocka_unit_test(test_crash_prefix),
		cmocka_unit_test(test_lists_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
