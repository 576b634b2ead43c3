/*
 * fuzz_scenario.c - the simulator's scenario YAML (sim/scenario.h) read
 * from untrusted text with sim_scenario_parse().
 *
 * A scenario file is shared between people simulating a cross-border case
 * before an agreement exists, so mrx-sim reads files it did not write.
 *
 * Properties:
 *  - an error returns a negative code equal to the diag's, with a message
 *    that starts "scenario.yaml:" (every error names file and line);
 *  - a scenario that parses has its counts within the documented limits,
 *    every event's line inside the text, and every node id non-empty;
 *  - sim_scenario_fini() releases everything, on success and on error
 *    (LeakSanitizer checks).
 * Inputs over FUZZ_SCENARIO_MAX bytes are ignored.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzzkit.h"
#include "scenario.h"

#define FUZZ_SCENARIO_MAX 65536
#define NAME "scenario.yaml"

static struct sim_scenario sc;

/*
 * Lines of the text as YAML counts them (a line break is LF, CR LF or a
 * lone CR): an event cannot name a line past the last one.
 */
static int
count_lines(const uint8_t *data, size_t size)
{
	int n = 1;
	size_t i;

	for (i = 0; i < size; i++)
		if (data[i] == '\n' || (data[i] == '\r' &&
		    (i + 1 == size || data[i + 1] != '\n')))
			n++;
	return n;
}

static void
check_parsed(const uint8_t *data, size_t size)
{
	int lines = count_lines(data, size);
	size_t i;

	FUZZ_CHECK(sc.nnodes <= SIM_NODES_MAX, "%zu nodes", sc.nnodes);
	FUZZ_CHECK(sc.nevents <= SIM_EVENTS_MAX, "%zu events", sc.nevents);
	FUZZ_CHECK(sc.nagreements <= SIM_AGREEMENTS_MAX, "%zu agreements",
	    sc.nagreements);
	for (i = 0; i < sc.nnodes; i++)
		FUZZ_CHECK(sc.nodes[i].id[0] != '\0', "node %zu has no id", i);
	for (i = 0; i < sc.nevents; i++) {
		FUZZ_CHECK(sc.events[i].line >= 1 && sc.events[i].line <= lines,
		    "event %zu at line %d of %d", i, sc.events[i].line, lines);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mrx_diag d;
	int rc;

	if (size > FUZZ_SCENARIO_MAX)
		return 0;
	memset(&sc, 0, sizeof(sc));
	mrx_diag_clear(&d);
	rc = sim_scenario_parse(NAME, (const char *)data, size, &sc, &d);
	if (rc != 0) {
		fuzz_check_named_error(rc, &d, NAME);
	} else {
		check_parsed(data, size);
	}
	sim_scenario_fini(&sc);
	return 0;
}
