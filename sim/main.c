/*
 * main.c - mrx-sim: runs a scenario (or a swarm seed) and says whether it
 * passed.
 *
 * stdout is a function of the scenario and the seed alone: FAIL and
 * VIOLATION lines, the summary, the result and, last, the trace hash. The
 * wall-clock figures (time, simulated events per second, peak memory) go
 * to stderr: they are about this machine, not about the run.
 *
 * Exit status: 0 passed; 1 an expectation failed, an invariant was
 * violated or an assert did not hold; 2 usage, a scenario file error
 * (FILE:LINE: what) or an internal error.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "sim.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mrx-sim SCENARIO.yaml [--seed N] [--out DIR] [--trace] "
	    "[--check]\n"
	    "       mrx-sim --swarm --seed N [--out DIR] [--trace]\n"
	    "\n"
	    "Runs every node of a federation in one process on the real mrx "
	    "engine, with a\nvirtual clock and a virtual network, and checks "
	    "the scenario's expectations and\nthe invariants. Same scenario "
	    "and seed: the same bytes of output.\n"
	    "\n"
	    "  --seed N     the seed (default: the scenario's seed:, else 1)\n"
	    "  --out DIR    write trace.txt, report.json, decisions.csv,\n"
	    "               propagation.csv, messages.csv, staleness.csv and "
	    "the plots\n"
	    "               propagation_cdf.svg, decisions.svg, "
	    "staleness.svg into DIR\n"
	    "  --trace      print the trace on stdout as it runs\n"
	    "  --check      run eng_check() after every engine event (slow; "
	    "on in --swarm)\n"
	    "  --debug      every message, refusal and catch-up on stderr\n"
	    "  --swarm      draw a random federation and fault schedule from "
	    "the seed and\n"
	    "               check the invariants after every step\n"
	    "  --help       this text\n"
	    "\n"
	    "Exit status: 0 passed, 1 an expectation, invariant or assert "
	    "failed, 2 usage or\nscenario error. The scenario format: "
	    "docs/sim.md.\n");
}

struct args {
	const char *file;
	const char *out;
	uint64_t seed;
	bool has_seed, swarm, trace, check, debug;
};

static int
parse_args(int argc, char **argv, struct args *a)
{
	char *end;
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") ==
		    0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			errno = 0;
			a->seed = strtoull(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || argv[i][0] == '-' ||
			    argv[i][0] == '\0') {
				fprintf(stderr, "mrx-sim: --seed: '%s' is not "
				    "a number from 0 to 2^64-1\n", argv[i]);
				return 2;
			}
			a->has_seed = true;
		} else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
			a->out = argv[++i];
		} else if (strcmp(argv[i], "--swarm") == 0) {
			a->swarm = true;
		} else if (strcmp(argv[i], "--trace") == 0) {
			a->trace = true;
		} else if (strcmp(argv[i], "--debug") == 0) {
			a->debug = true;
		} else if (strcmp(argv[i], "--check") == 0) {
			a->check = true;
		} else if (argv[i][0] == '-' || a->file != NULL) {
			fprintf(stderr, "mrx-sim: unexpected argument '%s' "
			    "(try --help)\n", argv[i]);
			return 2;
		} else {
			a->file = argv[i];
		}
	}
	if (a->swarm == (a->file != NULL) || (a->swarm && !a->has_seed)) {
		fprintf(stderr, "mrx-sim: give a scenario file, or --swarm "
		    "--seed N (try --help)\n");
		return 2;
	}
	return 0;
}

static long
vm_hwm_kib(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

/* The process's CPU time, user and system, in ms. */
static int64_t
cpu_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
open_out(struct sim_world *w, const char *dir)
{
	char path[1024];

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "mrx-sim: cannot create %s: %s\n", dir,
		    strerror(errno));
		return 2;
	}
	snprintf(path, sizeof(path), "%s/trace.txt", dir);
	w->trace = fopen(path, "w");
	if (w->trace == NULL) {
		fprintf(stderr, "mrx-sim: cannot write %s: %s\n", path,
		    strerror(errno));
		return 2;
	}
	return 0;
}

static void
reproduce(const struct args *a, uint64_t seed)
{
	if (a->swarm)
		printf("reproduce: mrx-sim --swarm --seed %llu\n",
		    (unsigned long long)seed);
	else
		printf("reproduce: mrx-sim %s --seed %llu\n", a->file,
		    (unsigned long long)seed);
}

/* Wall-clock figures, on stderr. */
static void
perf(const struct sim_world *w, int64_t ms, int64_t cpu)
{
	fprintf(stderr, "wall %lld.%03lld s, cpu %lld.%03lld s, %llu simulated "
	    "events (%llu engine events), %llu events/s (%llu per CPU "
	    "second), peak memory (VmHWM) %ld KiB\n", (long long)(ms / 1000),
	    (long long)(ms % 1000), (long long)(cpu / 1000),
	    (long long)(cpu % 1000), (unsigned long long)w->st.events,
	    (unsigned long long)w->st.engine_events,
	    (unsigned long long)(ms > 0 ? w->st.events * 1000 / (uint64_t)ms :
	    w->st.events), (unsigned long long)(cpu > 0 ? w->st.events *
	    1000 / (uint64_t)cpu : w->st.events), vm_hwm_kib());
}

static int
run(const struct args *a, struct sim_scenario *sc, struct sim_options *opt)
{
	struct sim_world *w = NULL;
	struct mrx_diag d;
	int64_t t0 = wall_ms(), ms;
	bool pass;
	int rc;

	mrx_diag_clear(&d);
	if (sim_world_new(sc, opt, &w, &d) != 0) {
		fprintf(stderr, "mrx-sim: %s\n", d.msg);
		return 2;
	}
	if (a->out != NULL && (rc = open_out(w, a->out)) != 0) {
		sim_world_free(w);
		return rc;
	}
	if (sim_run(w, &d) != 0) {
		fprintf(stderr, "mrx-sim: %s\n", d.msg);
		sim_world_free(w);
		return 2;
	}
	sim_hash_final(w, w->final_hash);
	if (a->out != NULL && sim_report_write(w, a->out, &d) != 0) {
		fprintf(stderr, "mrx-sim: %s\n", d.msg);
		sim_world_free(w);
		return 2;
	}
	ms = wall_ms() - t0;
	sim_report_summary(w, stdout);
	pass = w->failed == 0 && !w->violated;
	if (a->swarm)
		printf("swarm seed %llu: %s%s\n", (unsigned long long)opt->seed,
		    pass ? "ok" : "FAIL: ", pass ? "" : w->violation);
	else
		printf("result: %s\n", pass ? "PASS" : "FAIL");
	if (w->violated) {
		printf("seed %llu: first violated invariant: %s\n",
		    (unsigned long long)opt->seed, w->violation);
		reproduce(a, opt->seed);
	}
	printf("trace-hash: %s\n", w->final_hash);
	fflush(stdout);
	perf(w, ms, cpu_ms());
	if (sc->asserts.wall_ms > 0 && ms > sc->asserts.wall_ms) {
		fprintf(stderr, "FAIL assert (%s:%d): wall time %lld ms over "
		    "the bound %lld ms\n", sc->file, sc->asserts.line,
		    (long long)ms, (long long)sc->asserts.wall_ms);
		pass = false;
	}
	if (sc->asserts.cpu_ms > 0 && cpu_ms() > sc->asserts.cpu_ms) {
		fprintf(stderr, "FAIL assert (%s:%d): CPU time %lld ms over "
		    "the bound %lld ms\n", sc->file, sc->asserts.line,
		    (long long)cpu_ms(), (long long)sc->asserts.cpu_ms);
		pass = false;
	}
	sim_world_free(w);
	return pass ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct sim_scenario sc;
	struct sim_options opt;
	struct args a;
	struct mrx_diag d;
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc != 0)
		return rc;
	/*
	 * A fixed mmap threshold: glibc otherwise raises it after the first
	 * large free, and then serves each node's large, mostly unused trust
	 * tables (decide.h reserves room for thousands of delegations) from
	 * the heap with a memset that makes them resident: with a thousand
	 * nodes, half a gigabyte of zeros.
	 */
	(void)mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	memset(&opt, 0, sizeof(opt));
	mrx_diag_clear(&d);
	if (a.swarm)
		rc = sim_swarm_scenario(a.seed, &sc, &opt, &d);
	else
		rc = sim_scenario_load(a.file, &sc, &d);
	if (rc != 0) {
		fprintf(stderr, "mrx-sim: %s\n", d.msg[0] != '\0' ? d.msg :
		    mrx_strerror(rc));
		sim_scenario_fini(&sc);
		return 2;
	}
	opt.seed = a.has_seed ? a.seed : sc.seed;
	opt.trace_stdout = a.trace;
	opt.debug = a.debug;
	opt.check_engines = opt.check_engines || a.check;
	rc = run(&a, &sc, &opt);
	sim_scenario_fini(&sc);
	return rc;
}
