/*
 * test_determinism.c - a seed replays a run byte for byte: the same
 * scenario and seed give the same trace hash (every event, every
 * envelope's bytes), another seed another hash; a swarm seed likewise.
 * Also: scenario errors name FILE:LINE and what is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim.h"

static const char scenario[] =
    "name: det\n"
    "start: 2026-09-21T00:00:00Z\n"
    "network: {latency: 30ms, jitter: 10ms, loss: 2%, duplicate: 2%,\n"
    "          reorder: 5%}\n"
    "nodes:\n"
    "  - {id: jp.cao, role: root}\n"
    "  - {id: jp.meti, role: issuer, parent: jp.cao,\n"
    "     levels: [JP-CESI:CONFIDENTIAL]}\n"
    "  - {id: jp.op.a, role: operator, parent: jp.meti}\n"
    "  - {id: jp.op.b, role: operator, parent: jp.meti}\n"
    "people:\n"
    "  - {label: emi, employer: jp.op.b}\n"
    "events:\n"
    "  - {at: 1s, do: issue, node: jp.meti, person: emi,\n"
    "     level: JP-CESI:CONFIDENTIAL}\n"
    "  - {at: 3s, do: present, node: jp.op.a, person: emi,\n"
    "     access: JP-CESI:CONFIDENTIAL}\n"
    "  - {at: 4s, do: crash, node: jp.op.a}\n"
    "  - {at: 5s, do: revoke, person: emi}\n"
    "  - {at: 6s, do: restart, node: jp.op.a}\n"
    "  - {at: 9s, do: verify, node: jp.op.a, person: emi,\n"
    "     access: JP-CESI:CONFIDENTIAL}\n";

static void
run_text(const char *text, uint64_t seed, char hash[2 * CRY_SHA256_LEN + 1])
{
	struct sim_scenario sc;
	struct sim_options o;
	struct sim_world *w = NULL;
	struct mrx_diag d;

	mrx_diag_clear(&d);
	if (sim_scenario_parse("det.yaml", text, strlen(text), &sc, &d) != 0)
		fail_msg("parse: %s", d.msg);
	memset(&o, 0, sizeof(o));
	o.seed = seed;
	o.quiet = true;
	o.check_engines = true;
	assert_int_equal(sim_world_new(&sc, &o, &w, &d), 0);
	assert_int_equal(sim_run(w, &d), 0);
	assert_false(w->violated);
	assert_true(w->st.decisions[0] + w->st.decisions[1] +
	    w->st.decisions[2] >= 2);
	sim_hash_final(w, hash);
	sim_world_free(w);
	sim_scenario_fini(&sc);
}

static void
test_same_seed_same_bytes(void **state)
{
	char a[65], b[65], c[65];

	(void)state;
	run_text(scenario, 3, a);
	run_text(scenario, 3, b);
	run_text(scenario, 4, c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
}

static void
run_swarm(uint64_t seed, char hash[65])
{
	struct sim_scenario sc;
	struct sim_options o;
	struct sim_world *w = NULL;
	struct mrx_diag d;

	memset(&o, 0, sizeof(o));
	mrx_diag_clear(&d);
	assert_int_equal(sim_swarm_scenario(seed, &sc, &o, &d), 0);
	o.seed = seed;
	o.quiet = true;
	assert_int_equal(sim_world_new(&sc, &o, &w, &d), 0);
	assert_int_equal(sim_run(w, &d), 0);
	sim_hash_final(w, hash);
	sim_world_free(w);
	sim_scenario_fini(&sc);
}

static void
test_swarm_replays(void **state)
{
	char a[65], b[65];

	(void)state;
	run_swarm(17, a);
	run_swarm(17, b);
	assert_string_equal(a, b);
}

/* A scenario error: "det.yaml:LINE: ..." naming `want`. */
static void
expect_error(const char *text, const char *where, const char *want)
{
	struct sim_scenario sc;
	struct mrx_diag d;

	mrx_diag_clear(&d);
	assert_int_not_equal(sim_scenario_parse("det.yaml", text, strlen(text),
	    &sc, &d), 0);
	if (strstr(d.msg, where) == NULL || strstr(d.msg, want) == NULL)
		fail_msg("got '%s', wanted '%s' and '%s'", d.msg, where, want);
	sim_scenario_fini(&sc);
}

static void
test_errors_name_the_line(void **state)
{
	(void)state;
	expect_error("nodes:\n  - {id: a, role: king}\n", "det.yaml:2:",
	    "not a role");
	expect_error("nodes:\n  - {id: a, role: root}\nevents:\n"
	    "  - {at: 1s, do: fly}\n", "det.yaml:4:", "not an action");
	expect_error("nodes:\n  - {id: a, role: root}\nevents:\n"
	    "  - {at: soon, do: heal}\n", "det.yaml:4:", "not a time");
	expect_error("nodes:\n  - {id: a, role: root}\n"
	    "  - {id: b, role: operator, parent: c}\n", "det.yaml:3:",
	    "parent 'c'");
	expect_error("nodes:\n  - {id: a, role: root}\nevents:\n"
	    "  - {at: 1s, do: heal, person: x}\n", "det.yaml:4:",
	    "person");
	expect_error("nodes:\n  - {id: a, role: root}\nevents:\n"
	    "  - {at: 1s, do: verify, node: a, person: x, access: US:SECRET}\n",
	    "det.yaml:4:", "no person 'x'");
	expect_error("network:\n  latency: 10ms\n  jitter: 20ms\n",
	    "det.yaml:1:", "jitter must not exceed latency");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_same_bytes),
		cmocka_unit_test(test_swarm_replays),
		cmocka_unit_test(test_errors_name_the_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
