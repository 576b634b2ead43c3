/*
 * bench_node.c - the node's benchmark: mrxd driven over its HTTP/JSON API
 * by a load generator in this process, each result set against a baseline
 * measured in the same run (the machine is small and shared: rates drift
 * by a factor of two within a minute, so a node's rate means something
 * only next to a baseline taken at the same time).
 *
 * Phase 1, one fresh issuer node (mrx init, then mrxd), the rate runs in
 * --rounds interleaved rounds (the table gives medians, and for rates the
 * median of the per-round ratios):
 *   - start-up time and RSS of the empty node (baselines of phase 2);
 *   - durable issuance: POST /v1/clearances, closed loop, --cold records
 *     in all (each answered only after the commit holding it); each round
 *     after a slice of raw OpenSSL Ed25519 signing on one thread (the
 *     loop thread signs);
 *   - cold verify: POST /v1/verify of every record just issued, once each
 *     (a fresh signature, checked on the thread pool, the decision
 *     audited); each round between two slices of raw OpenSSL Ed25519
 *     verification on two threads (EVP_DigestVerify with a pre-parsed
 *     key, a fresh EVP_MD_CTX each), the round's baseline their mean;
 *   - warm verify: the first record again and again (signature cached),
 *     closed loop, alternating with GET /v1/health (the baseline, the
 *     ceiling of the HTTP path), --seconds in all;
 *   - warm verify latency: open loop at --rate requests/s, each latency
 *     from the request's scheduled send time, so a stall of the node is
 *     not hidden by the generator waiting for it; in rounds alternating
 *     with GET /v1/health the same way (the baseline), --seconds in all;
 *     the table gives the p99 of all requests, the output also each
 *     round's p99 (a stall of the node shows in one round, beside a
 *     health p99 that stayed low; a disturbance of the machine in both).
 * Phase 2, a second fresh node holding --clearances clearances, written
 * by a loader that runs the engine and the store (the code mrxd runs, as
 * mrxd.c drives them) on the data directory before mrxd starts:
 *   - restart: exec to the first 200 on /v1/health, --restarts times
 *     (median); baseline: the empty node's start;
 *   - GET /v1/clearances/{id} of random ids on one connection,
 *     alternating with GET /v1/health (the baseline), p99;
 *   - mrxd's VmRSS and VmHWM after that; baseline: the empty node.
 *
 * Beside the rates, every run is accounted in CPU time per request, read
 * from /proc/<mrxd>/task/<tid>/schedstat: mrxd's loop thread, its other
 * threads (the verification pool), this process (the generator), and the
 * time the loop thread was runnable but waited for a CPU. These move far
 * less with the machine's load than rates do. Beside them, requests per
 * store commit (mrx_store_commits_total of mrxd's /metrics before and
 * after each run): how well the group commit batched.
 *
 * The generator: plain sockets, HTTP/1.1 keep-alive, one request at a
 * time per connection, --conns connections multiplexed with epoll by one
 * thread (--gen-threads more), request bytes built before the clock
 * starts; a response is read up to its Content-Length and checked
 * (status, and the decision or the id in the body).
 *
 * mrxd and mrx come from MRXD_BIN and MRX_BIN. Everything lives in a
 * temporary directory under $TMPDIR (or /tmp, or --dir) that is removed at
 * exit (--keep keeps it); mrxd is killed whenever this program ends, and
 * dies with it (PR_SET_PDEATHSIG).
 *
 * usage: bench_node [--clearances N] [--cold N] [--seconds S] [--conns N]
 *                   [--rate R] [--rounds N] [--lookups N] [--restarts N]
 *                   [--gen-threads N] [--log-level L] [--dir D] [--keep]
 *                   [--strict]
 *        bench_node --profile issue|cold|warm|open|health|lookup [...]
 * --profile sets a node up, prints "profile: mrxd pid N", waits half a
 * second and runs that one load, for perf record -p N. The report is a
 * table (target, goal, measured, raw baseline, ratio, met), the CPU table,
 * and, last, one JSON line. Exit status: 0; 1 when something failed to run
 * (and with --strict, when a target is missed); 2 usage.
 */
#define _GNU_SOURCE

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cose.h"
#include "engine.h"
#include "key.h"
#include "node_conf.h"
#include "store.h"

#define BENCH_CLEARANCES_DEFAULT 1000000
#define BENCH_COLD_DEFAULT 40000
#define BENCH_SECONDS_DEFAULT 5.0
#define BENCH_CONNS_DEFAULT 64
#define BENCH_CONNS_MAX 1000	/* below api.connections_max */
#define BENCH_RATE_DEFAULT 10000.0
#define BENCH_LOOKUPS_DEFAULT 20000
#define BENCH_RESTARTS_DEFAULT 3
#define BENCH_RESTARTS_MAX 15
#define BENCH_ROUNDS_DEFAULT 5
#define BENCH_ROUNDS_MAX 21
#define BENCH_RAW_SLICE_S 0.5	/* raw OpenSSL slice beside each round */
#define BENCH_GEN_THREADS_MAX 16
#define BENCH_RAW_THREADS 2	/* the cold-verify baseline: two cores */
#define BENCH_LOAD_BATCH 4096	/* loader issuances per transaction */
#define BENCH_START_TIMEOUT_S 120.0
#define BENCH_STOP_TIMEOUT_S 60.0
#define BENCH_PATH_MAX 4096
#define BENCH_REQ_MAX 1024	/* a request built per item */
#define BENCH_RESP_MAX (256u << 10)	/* largest response accepted */
#define BENCH_EVENTS 64		/* epoll events per wait */
#define BENCH_WAIT_MS 100	/* longest wait: stop requests are seen */
#define BENCH_LOOKUP_SEED 0x6d72786265ULL
#define LEVEL "JP-CESI:CONFIDENTIAL"
#define OPERATOR "jp.op.sub"
#define NODE_ID "jp.meti"

/* The targets. */
#define GOAL_COLD_RATIO 0.5	/* x raw two-thread verification */
#define GOAL_WARM_RATE 20000.0	/* decisions/s */
#define GOAL_WARM_P99_MS 5.0	/* at --rate, open loop */
#define GOAL_ISSUE_RATE 5000.0	/* issuances/s */
#define GOAL_RSS_MB 200.0	/* VmHWM, 10^6 bytes */
#define GOAL_RESTART_S 2.0
#define GOAL_LOOKUP_P99_MS 1.0

struct opts {
	size_t clearances;	/* phase 2 store size; 0 skips phase 2 */
	size_t cold;		/* issued, then verified once each */
	double seconds;		/* duration of the timed runs */
	size_t conns;		/* keep-alive connections of a run */
	double rate;		/* open-loop requests/s */
	size_t lookups;		/* GET /v1/clearances/{id} in phase 2 */
	int restarts;
	int rounds;		/* interleaved rounds of the rate runs */
	unsigned gen_threads;
	const char *log_level;	/* mrxd --log-level */
	const char *dir;	/* parent of the work directory */
	const char *profile;	/* one kind of load only, for a profiler */
	bool keep, strict;
};

static void usage(void) __attribute__((noreturn));

/* ---- process state, cleaned up at exit ---- */

static volatile sig_atomic_t g_stop;	/* SIGINT/SIGTERM/SIGHUP seen */
static volatile pid_t g_child = -1;	/* the running mrxd */
static char g_work[BENCH_PATH_MAX];	/* the work directory */
static char g_log[BENCH_PATH_MAX];	/* the running mrxd's stderr */
static bool g_keep;
static const char *g_mrx, *g_mrxd;

static void
rm_tree(const char *path)
{
	char sub[BENCH_PATH_MAX];
	struct dirent *e;
	struct stat st;
	DIR *d;
	int n;

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			n = snprintf(sub, sizeof(sub), "%s/%s", path,
			    e->d_name);
			if (n > 0 && (size_t)n < sizeof(sub))
				rm_tree(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

static void
kill_child(void)
{
	pid_t pid = g_child;

	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		g_child = -1;
	}
}

static void
cleanup(void)
{
	kill_child();
	if (g_work[0] != '\0' && !g_keep)
		rm_tree(g_work);
	else if (g_work[0] != '\0')
		fprintf(stderr, "bench_node: kept %s\n", g_work);
}

static void
on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
	if (g_child > 0)
		kill(g_child, SIGKILL);
}

/* The last lines of the running mrxd's log, to explain a failure. */
static void
log_tail(void)
{
	char buf[4096];
	ssize_t n;
	off_t size;
	int fd;

	if (g_log[0] == '\0' || (fd = open(g_log, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof(buf) - 1)
		lseek(fd, size - (off_t)sizeof(buf) + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		fprintf(stderr, "bench_node: the end of %s:\n%s\n", g_log, buf);
	}
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
    noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("bench_node: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	log_tail();
	exit(1);
}

static void
check_stop(void)
{
	if (g_stop)
		die("interrupted");
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u),
		(long)(ns % 1000000000u) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !g_stop)
		;
}

static void xfmt(char *buf, size_t cap, const char *f, ...)
    __attribute__((format(printf, 3, 4)));

/* snprintf that refuses to truncate (paths, requests). */
static void
xfmt(char *buf, size_t cap, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, cap, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap)
		die("'%.60s...' is longer than %zu bytes", buf, cap - 1);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n > 0 ? n : 1);

	if (p == NULL)
		die("out of memory (%zu bytes)", n);
	return p;
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n > 0 ? n : 1, size > 0 ? size : 1);

	if (p == NULL)
		die("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

/* splitmix64: the random ids of the lookups, reproducible. */
static uint64_t
mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* base64url without padding (RFC 4648 section 5): 0, or -1 if invalid. */
static int
b64url_decode(const char *s, size_t n, uint8_t *out, size_t cap,
    size_t *len)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0, v;
	char ch;

	for (i = 0; i < n; i++) {
		ch = s[i];
		if (ch >= 'A' && ch <= 'Z')
			v = ch - 'A';
		else if (ch >= 'a' && ch <= 'z')
			v = ch - 'a' + 26;
		else if (ch >= '0' && ch <= '9')
			v = ch - '0' + 52;
		else if (ch == '-')
			v = 62;
		else if (ch == '_')
			v = 63;
		else
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*len = o;
	return 0;
}

/* ---- child processes ---- */

/* fork + exec with stdout and stderr appended to `out`. */
static pid_t
spawn(char *const argv[], const char *out)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid > 0)
		return pid;
	/* mrxd must not outlive this program, however it ends */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
	    dup2(fd, STDERR_FILENO) < 0)
		_exit(127);
	execv(argv[0], argv);
	_exit(127);
}

static void
run_mrx(char *const argv[], const char *out)
{
	pid_t pid = spawn(argv, out);
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	check_stop();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		xfmt(g_log, sizeof(g_log), "%s", out);
		die("%s %s failed (status %d)", argv[0], argv[1], st);
	}
}

/* A port free right now on 127.0.0.1. */
static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		die("cannot find a free port: %s", strerror(errno));
	close(fd);
	return ntohs(a.sin_port);
}

static int
tcp_connect(int port)
{
	struct sockaddr_in a;
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* ---- the nodes ---- */

struct node {
	char dir[BENCH_PATH_MAX];	/* data directory */
	char log[BENCH_PATH_MAX];	/* mrxd's stdout and stderr */
	char token[160];		/* admin token */
	int port;
	pid_t pid;			/* running mrxd, or -1 */
	const char *log_level;
};

static void
node_init(struct node *n, const char *name, const char *log_level)
{
	char listen[32], out[BENCH_PATH_MAX + 16], tok[BENCH_PATH_MAX + 16];
	char *argv[] = { (char *)g_mrx, "init", "--role", "issuer", "--id",
		NODE_ID, "--jurisdiction", "JP", "--data", n->dir, "--api",
		listen, NULL };
	size_t len;
	FILE *f;

	memset(n, 0, sizeof(*n));
	n->pid = -1;
	n->log_level = log_level;
	n->port = free_port();
	xfmt(n->dir, sizeof(n->dir), "%s/%s", g_work, name);
	xfmt(n->log, sizeof(n->log), "%s/%s.log", g_work, name);
	xfmt(listen, sizeof(listen), "127.0.0.1:%d", n->port);
	xfmt(out, sizeof(out), "%s/%s.init.log", g_work, name);
	run_mrx(argv, out);
	xfmt(tok, sizeof(tok), "%s/admin.token", n->dir);
	f = fopen(tok, "r");
	if (f == NULL || fgets(n->token, sizeof(n->token), f) == NULL)
		die("cannot read %s", tok);
	fclose(f);
	len = strlen(n->token);
	while (len > 0 && (n->token[len - 1] == '\n' ||
	    n->token[len - 1] == '\r'))
		n->token[--len] = '\0';
}

/* One blocking request; returns the status, or -1. */
static int
simple_request(int port, const char *req, char *resp, size_t cap)
{
	struct timeval tv = { 10, 0 };
	size_t got = 0;
	ssize_t r;
	int fd, status = -1;

	fd = tcp_connect(port);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	while (got < cap - 1 && (r = recv(fd, resp + got, cap - 1 - got,
	    0)) > 0) {
		got += (size_t)r;
		resp[got] = '\0';
		if (strstr(resp, "\r\n\r\n") != NULL)
			break;
	}
	resp[got] = '\0';
	if (got > 12 && strncmp(resp, "HTTP/1.1 ", 9) == 0)
		status = atoi(resp + 9);
	close(fd);
	return status;
}

/* Starts mrxd; returns the seconds from exec to the first 200 on health. */
static double
node_start(struct node *n)
{
	static const char health[] = "GET /v1/health HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nConnection: close\r\n\r\n";
	char *argv[] = { (char *)g_mrxd, "--data", n->dir, "--log-level",
		(char *)n->log_level, NULL };
	char resp[1024];
	uint64_t t0;
	pid_t w;
	int st;

	xfmt(g_log, sizeof(g_log), "%s", n->log);
	t0 = mono_ns();
	n->pid = spawn(argv, n->log);
	g_child = n->pid;
	for (;;) {
		check_stop();
		w = waitpid(n->pid, &st, WNOHANG);
		if (w == n->pid) {
			n->pid = g_child = -1;
			die("mrxd exited during start-up (status %d)", st);
		}
		if (simple_request(n->port, health, resp, sizeof(resp)) == 200)
			break;
		if ((double)(mono_ns() - t0) / 1e9 > BENCH_START_TIMEOUT_S)
			die("mrxd did not answer /v1/health within %.0f s",
			    BENCH_START_TIMEOUT_S);
		sleep_ns(500000);
	}
	return (double)(mono_ns() - t0) / 1e9;
}

/* SIGTERM, wait for exit 0; returns the seconds it took. */
static double
node_stop(struct node *n)
{
	uint64_t t0 = mono_ns();
	pid_t w;
	int st;

	if (n->pid < 0)
		return 0;
	kill(n->pid, SIGTERM);
	for (;;) {
		w = waitpid(n->pid, &st, WNOHANG);
		if (w == n->pid)
			break;
		if ((double)(mono_ns() - t0) / 1e9 > BENCH_STOP_TIMEOUT_S)
			die("mrxd did not stop within %.0f s of SIGTERM",
			    BENCH_STOP_TIMEOUT_S);
		sleep_ns(1000000);
	}
	n->pid = g_child = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("mrxd stopped with status %d", st);
	return (double)(mono_ns() - t0) / 1e9;
}

/* VmRSS and VmHWM of a process, in kB. */
static void
proc_rss(pid_t pid, long *rss_kb, long *hwm_kb)
{
	char path[64], line[256];
	FILE *f;

	*rss_kb = *hwm_kb = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		die("cannot read %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss_kb = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm_kb = strtol(line + 6, NULL, 10);
	}
	fclose(f);
	if (*rss_kb < 0 || *hwm_kb < 0)
		die("no VmRSS/VmHWM in %s", path);
}

/* A request with headers and body, malloc'd. */
static char *
http_req(const char *method, const char *path, const char *token,
    const char *body, size_t *len)
{
	size_t blen = body != NULL ? strlen(body) : 0;
	size_t cap = 512 + strlen(path) + blen;
	char *p = xmalloc(cap);
	int n;

	if (body != NULL)
		n = snprintf(p, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		    "Authorization: Bearer %s\r\nContent-Type: "
		    "application/json\r\nContent-Length: %zu\r\n\r\n%s",
		    method, path, token, blen, body);
	else if (token != NULL)
		n = snprintf(p, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		    "Authorization: Bearer %s\r\n\r\n", method, path, token);
	else
		n = snprintf(p, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		    "\r\n", method, path);
	if (n < 0 || (size_t)n >= cap)
		die("request for %s does not fit", path);
	*len = (size_t)n;
	return p;
}

/*
 * CPU seconds: mrxd's loop thread, its other threads, this process; and
 * the time the loop thread was runnable but waited for a CPU.
 */
struct cpu {
	double loop_s, pool_s, gen_s;
	double loop_wait_s;
	double commits;		/* mrxd's store commits (its /metrics) */
};

/* The run time of a task (first field of schedstat) and its time
 * waiting on a run queue (second), in seconds. */
static double
task_cpu_s(pid_t pid, const char *tid, double *wait_s)
{
	char *end;
	char path[BENCH_PATH_MAX], buf[128];
	double run;
	ssize_t n;
	int fd;

	xfmt(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid,
	    tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;	/* the thread ended */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	run = (double)strtoull(buf, &end, 10) / 1e9;
	if (wait_s != NULL)
		*wait_s = (double)strtoull(end, NULL, 10) / 1e9;
	return run;
}

/* mrxd's CPU time: the loop thread (tid = pid) and the others. */
static void
cpu_now(pid_t pid, struct cpu *c)
{
	char path[64], main_tid[24];
	struct timespec ts;
	struct dirent *e;
	DIR *d;

	c->loop_s = c->pool_s = c->loop_wait_s = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	snprintf(main_tid, sizeof(main_tid), "%d", (int)pid);
	d = opendir(path);
	if (d == NULL)
		die("cannot read %s: %s", path, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		if (strcmp(e->d_name, main_tid) == 0)
			c->loop_s = task_cpu_s(pid, e->d_name,
			    &c->loop_wait_s);
		else
			c->pool_s += task_cpu_s(pid, e->d_name, NULL);
	}
	closedir(d);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	c->gen_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
cpu_add_since(struct cpu *sum, const struct cpu *a, const struct cpu *b)
{
	sum->loop_s += b->loop_s - a->loop_s;
	sum->pool_s += b->pool_s - a->pool_s;
	sum->gen_s += b->gen_s - a->gen_s;
	sum->loop_wait_s += b->loop_wait_s - a->loop_wait_s;
	sum->commits += b->commits - a->commits;
}

/* mrx_store_commits_total from mrxd's /metrics, or 0 if unreadable. */
static double
store_commits(int port)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1"
	    "\r\nConnection: close\r\n\r\n";
	static const char key[] = "\nmrx_store_commits_total ";
	struct timeval tv = { 10, 0 };
	char *buf, *p;
	size_t got = 0, cap = 256 * 1024;
	double v = 0;
	ssize_t r;
	int fd;

	fd = tcp_connect(port);
	if (fd < 0)
		return 0;
	buf = xcalloc(cap, 1);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) ==
	    (ssize_t)(sizeof(req) - 1))
		while (got < cap - 1 && (r = recv(fd, buf + got,
		    cap - 1 - got, 0)) > 0)
			got += (size_t)r;
	close(fd);
	buf[got] = '\0';
	if ((p = strstr(buf, key)) != NULL)
		v = strtod(p + sizeof(key) - 1, NULL);
	free(buf);
	return v;
}

/* ---- the load generator ---- */

/*
 * Builds (or points at) the request for item i; `scratch` is the
 * connection's buffer. Checks the answer to item i: 0, or -1 with `err`.
 */
typedef const char *(*req_fn)(void *ctx, size_t i, char *scratch,
    size_t cap, size_t *len);
typedef int (*resp_fn)(void *ctx, size_t i, int status, const char *body,
    size_t len, char *err, size_t errcap);

struct gconn {
	int fd;
	bool busy;		/* a request is out */
	bool want_out;		/* EPOLLOUT is registered */
	size_t item;
	uint64_t t0_ns;		/* sent (closed loop) or scheduled (open) */
	const char *out;	/* request bytes still to write */
	size_t out_len;
	char *in;		/* response bytes */
	size_t in_len, in_cap;
	char scratch[BENCH_REQ_MAX];
};

struct load;

struct gthread {
	struct load *ld;
	unsigned id;
	pthread_t th;
	struct gconn *c;
	size_t nconns;
	int ep;
	size_t *idle;		/* open loop: idle connections */
	size_t nidle;
	size_t next;		/* open loop: this thread's next item */
	uint64_t *lat;		/* runs for a time: latencies in order */
	size_t nlat, lat_cap;
	size_t done;
	uint64_t t_last;	/* the last completion */
	char err[512];
};

struct load {
	const char *name;
	int port;
	size_t conns;
	unsigned threads;
	size_t count;		/* closed loop: requests; 0: for `seconds` */
	double seconds;		/* closed loop without count; open loop */
	double rate;		/* > 0: open loop at this many requests/s */
	size_t first;		/* callbacks see items first, first + 1.. */
	req_fn req;
	resp_fn resp;
	void *ctx;
	pid_t pid;		/* mrxd, for its CPU time */
	/* while running */
	atomic_size_t next;	/* closed loop: the next item */
	atomic_bool failed;
	uint64_t t_start, deadline;
	size_t total;		/* items of an open loop */
	/* results */
	uint64_t *lat;		/* latency of each item, or merged */
	size_t nlat;
	size_t done;
	double elapsed_s;
	double rate_done;	/* completed requests/s */
	struct cpu cpu;		/* spent during the run */
};

static int gfail(struct gthread *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
gfail(struct gthread *t, const char *fmt, ...)
{
	va_list ap;

	if (t->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(t->err, sizeof(t->err), fmt, ap);
		va_end(ap);
	}
	atomic_store(&t->ld->failed, true);
	return -1;
}

/*
 * Parses a response: 1 complete (status, body, total bytes), 0 more bytes
 * needed, -1 malformed. Only the status line, Content-Length and the body
 * matter.
 */
static int
parse_resp(const char *p, size_t n, int *status, const char **body,
    size_t *blen, size_t *total)
{
	const char *end = memmem(p, n, "\r\n\r\n", 4), *line, *eol;
	size_t hlen, cl = 0;
	bool has_cl = false;

	if (end == NULL)
		return n > 16384 ? -1 : 0;
	if (n < 12 || memcmp(p, "HTTP/1.1 ", 9) != 0 || p[9] < '1' ||
	    p[9] > '5' || p[10] < '0' || p[10] > '9' || p[11] < '0' ||
	    p[11] > '9')
		return -1;
	*status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	hlen = (size_t)(end - p) + 4;
	for (line = memchr(p, '\n', hlen); line != NULL && line < end;
	    line = eol) {
		line++;
		eol = memchr(line, '\n', (size_t)(end + 2 - line));
		if (eol == NULL)
			break;
		if (strncasecmp(line, "Content-Length:", 15) == 0) {
			cl = strtoul(line + 15, NULL, 10);
			has_cl = true;
		}
	}
	if (!has_cl || cl > BENCH_RESP_MAX)
		return -1;
	if (n < hlen + cl)
		return 0;
	*body = p + hlen;
	*blen = cl;
	*total = hlen + cl;
	return 1;
}

static int
epoll_mod(struct gthread *t, struct gconn *c, uint32_t events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = (uint64_t)(c - t->c);
	if (epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		return gfail(t, "epoll_ctl: %s", strerror(errno));
	return 0;
}

static int
conn_flush(struct gthread *t, struct gconn *c)
{
	ssize_t n;

	while (c->out_len > 0) {
		n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
		if (n > 0) {
			c->out += n;
			c->out_len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->want_out) {
				c->want_out = true;
				return epoll_mod(t, c, EPOLLIN | EPOLLOUT);
			}
			return 0;
		} else {
			return gfail(t, "%s: send: %s", t->ld->name,
			    strerror(errno));
		}
	}
	if (c->want_out) {
		c->want_out = false;
		return epoll_mod(t, c, EPOLLIN);
	}
	return 0;
}

static int
conn_send(struct gthread *t, struct gconn *c, size_t i, uint64_t t0)
{
	c->out = t->ld->req(t->ld->ctx, t->ld->first + i, c->scratch,
	    sizeof(c->scratch), &c->out_len);
	c->item = i;
	c->t0_ns = t0;
	c->busy = true;
	c->in_len = 0;
	return conn_flush(t, c);
}

static void
lat_record(struct gthread *t, size_t i, uint64_t ns)
{
	struct load *ld = t->ld;

	if (ld->lat != NULL) {
		ld->lat[i] = ns;
		return;
	}
	if (t->nlat == t->lat_cap) {
		t->lat_cap = t->lat_cap ? 2 * t->lat_cap : 65536;
		t->lat = realloc(t->lat, t->lat_cap * sizeof(*t->lat));
		if (t->lat == NULL)
			die("out of memory for latencies");
	}
	t->lat[t->nlat++] = ns;
}

/* Reads what is there: 1 when a response completed, 0 not yet, -1. */
static int
conn_read(struct gthread *t, struct gconn *c)
{
	struct load *ld = t->ld;
	const char *body;
	size_t blen, total;
	uint64_t now;
	ssize_t n;
	int status, rc;

	if (c->in_cap - c->in_len < 4096) {
		c->in_cap = c->in_cap ? 2 * c->in_cap : 8192;
		if (c->in_cap > 2 * BENCH_RESP_MAX)
			return gfail(t, "%s: response too large", ld->name);
		c->in = realloc(c->in, c->in_cap);
		if (c->in == NULL)
			die("out of memory for a response");
	}
	n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return 0;
	if (n < 0)
		return gfail(t, "%s: recv: %s", ld->name, strerror(errno));
	if (n == 0)
		return gfail(t, "%s: mrxd closed a connection", ld->name);
	c->in_len += (size_t)n;
	if (!c->busy)
		return gfail(t, "%s: bytes from mrxd before a request",
		    ld->name);
	rc = parse_resp(c->in, c->in_len, &status, &body, &blen, &total);
	if (rc < 0)
		return gfail(t, "%s: malformed response: %.80s", ld->name,
		    c->in);
	if (rc == 0)
		return 0;
	if (total != c->in_len)
		return gfail(t, "%s: bytes after a response", ld->name);
	now = mono_ns();
	if (ld->resp(ld->ctx, ld->first + c->item, status, body, blen, t->err,
	    sizeof(t->err)) != 0) {
		atomic_store(&ld->failed, true);
		return -1;
	}
	lat_record(t, c->item, now - c->t0_ns);
	c->busy = false;
	t->done++;
	t->t_last = now;
	return 1;
}

/* Closed loop: the next item, or false when the run is over. */
static bool
take_item(struct gthread *t, size_t *i)
{
	struct load *ld = t->ld;

	if (atomic_load(&ld->failed) || g_stop)
		return false;
	if (ld->count == 0 && mono_ns() >= ld->deadline)
		return false;
	*i = atomic_fetch_add(&ld->next, 1);
	return ld->count == 0 || *i < ld->count;
}

/* Handles one epoll event: 1 a response completed, 0, -1 failed. */
static int
conn_event(struct gthread *t, const struct epoll_event *ev)
{
	struct gconn *c = &t->c[ev->data.u64];

	if ((ev->events & EPOLLOUT) && c->out_len > 0 &&
	    conn_flush(t, c) != 0)
		return -1;
	if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		return conn_read(t, c);
	return 0;
}

static void
closed_loop(struct gthread *t)
{
	struct epoll_event ev[BENCH_EVENTS];
	size_t active = 0, k, i;
	int n, j, rc;

	for (k = 0; k < t->nconns && take_item(t, &i); k++) {
		if (conn_send(t, &t->c[k], i, mono_ns()) != 0)
			return;
		active++;
	}
	while (active > 0 && !atomic_load(&t->ld->failed) && !g_stop) {
		n = epoll_wait(t->ep, ev, BENCH_EVENTS, BENCH_WAIT_MS);
		if (n < 0 && errno != EINTR) {
			gfail(t, "epoll_wait: %s", strerror(errno));
			return;
		}
		for (j = 0; j < n; j++) {
			rc = conn_event(t, &ev[j]);
			if (rc < 0)
				return;
			if (rc == 0)
				continue;
			if (!take_item(t, &i))
				active--;
			else if (conn_send(t, &t->c[ev[j].data.u64], i,
			    mono_ns()) != 0)
				return;
		}
	}
}

static uint64_t
sched_ns(const struct load *ld, size_t i)
{
	return ld->t_start + (uint64_t)((double)i * 1e9 / ld->rate);
}

/* Waits for events up to `ns` (nanosecond timeout where the kernel can). */
static int
wait_events(int ep, struct epoll_event *ev, uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u),
		(long)(ns % 1000000000u) };
	int n;

	n = epoll_pwait2(ep, ev, BENCH_EVENTS, &ts, NULL);
	if (n < 0 && errno == ENOSYS)
		n = epoll_wait(ep, ev, BENCH_EVENTS,
		    (int)((ns + 999999) / 1000000));
	return n;
}

/* Open loop: item i goes out at its scheduled time, or as soon as a
 * connection is free; its latency counts from the scheduled time. */
static void
open_loop(struct gthread *t)
{
	struct load *ld = t->ld;
	struct epoll_event ev[BENCH_EVENTS];
	uint64_t now, due, wait;
	size_t k;
	int n, j, rc;

	for (k = 0; k < t->nconns; k++)
		t->idle[t->nidle++] = k;
	t->next = t->id;
	for (;;) {
		if (atomic_load(&ld->failed) || g_stop)
			return;
		now = mono_ns();
		while (t->next < ld->total && t->nidle > 0 &&
		    (due = sched_ns(ld, t->next)) <= now) {
			if (conn_send(t, &t->c[t->idle[--t->nidle]], t->next,
			    due) != 0)
				return;
			t->next += ld->threads;
		}
		if (t->next >= ld->total && t->nidle == t->nconns)
			return;
		wait = (uint64_t)BENCH_WAIT_MS * 1000000u;
		if (t->next < ld->total && t->nidle > 0) {
			due = sched_ns(ld, t->next);
			wait = due > now ? due - now : 0;
		}
		n = wait_events(t->ep, ev, wait);
		if (n < 0 && errno != EINTR) {
			gfail(t, "epoll_pwait2: %s", strerror(errno));
			return;
		}
		for (j = 0; j < n; j++) {
			rc = conn_event(t, &ev[j]);
			if (rc < 0)
				return;
			if (rc > 0)
				t->idle[t->nidle++] = ev[j].data.u64;
		}
	}
}

static void *
gen_thread(void *arg)
{
	struct gthread *t = arg;
	uint64_t now = mono_ns();

	if (t->ld->t_start > now)	/* every thread starts together */
		sleep_ns(t->ld->t_start - now);
	if (t->ld->rate > 0)
		open_loop(t);
	else
		closed_loop(t);
	return NULL;
}

static void
gthread_setup(struct gthread *t, struct load *ld, unsigned id, size_t nconns)
{
	struct epoll_event ev;
	size_t k;

	memset(t, 0, sizeof(*t));
	t->ld = ld;
	t->id = id;
	t->nconns = nconns;
	t->c = xcalloc(nconns, sizeof(*t->c));
	t->idle = xcalloc(nconns, sizeof(*t->idle));
	t->ep = epoll_create1(EPOLL_CLOEXEC);
	if (t->ep < 0)
		die("epoll_create1: %s", strerror(errno));
	for (k = 0; k < nconns; k++) {
		t->c[k].fd = tcp_connect(ld->port);
		if (t->c[k].fd < 0)
			die("%s: cannot connect to 127.0.0.1:%d: %s", ld->name,
			    ld->port, strerror(errno));
		if (fcntl(t->c[k].fd, F_SETFL, O_NONBLOCK) != 0)
			die("fcntl: %s", strerror(errno));
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u64 = k;
		if (epoll_ctl(t->ep, EPOLL_CTL_ADD, t->c[k].fd, &ev) != 0)
			die("epoll_ctl: %s", strerror(errno));
	}
}

static void
gthread_fini(struct gthread *t)
{
	size_t k;

	for (k = 0; k < t->nconns; k++) {
		close(t->c[k].fd);
		free(t->c[k].in);
	}
	close(t->ep);
	free(t->c);
	free(t->idle);
	free(t->lat);
}

/* After the threads: failures, counts, latencies, rate. */
static void
load_collect(struct load *ld, const struct gthread *ts)
{
	uint64_t t_end = 0;
	size_t off;
	unsigned k;

	for (k = 0; k < ld->threads; k++)
		if (ts[k].err[0] != '\0')
			die("%s", ts[k].err);
	if (atomic_load(&ld->failed))
		die("%s failed", ld->name);
	ld->done = 0;
	ld->nlat = 0;
	for (k = 0; k < ld->threads; k++) {
		ld->done += ts[k].done;
		ld->nlat += ts[k].nlat;
		if (ts[k].t_last > t_end)
			t_end = ts[k].t_last;
	}
	if (ld->lat != NULL) {
		ld->nlat = ld->rate > 0 ? ld->total : ld->count;
		if (ld->done != ld->nlat)
			die("%s: %zu of %zu requests answered", ld->name,
			    ld->done, ld->nlat);
	} else {
		ld->lat = xcalloc(ld->nlat, sizeof(*ld->lat));
		for (k = 0, off = 0; k < ld->threads; k++) {
			if (ts[k].nlat > 0)
				memcpy(ld->lat + off, ts[k].lat,
				    ts[k].nlat * sizeof(*ld->lat));
			off += ts[k].nlat;
		}
	}
	ld->elapsed_s = t_end > ld->t_start ?
	    (double)(t_end - ld->t_start) / 1e9 : 0;
	ld->rate_done = ld->elapsed_s > 0 ? (double)ld->done / ld->elapsed_s :
	    0;
}

/* Runs a load to its end; dies if a request failed. */
static void
load_run(struct load *ld)
{
	struct gthread *ts;
	struct cpu c0, c1;
	unsigned k;
	size_t per, extra;

	if (ld->threads < 1)
		ld->threads = 1;
	if (ld->conns < ld->threads)
		ld->conns = ld->threads;
	atomic_init(&ld->next, 0);
	atomic_init(&ld->failed, false);
	ld->lat = NULL;
	ld->total = ld->rate > 0 ? (size_t)(ld->rate * ld->seconds) : 0;
	if (ld->rate > 0)
		ld->lat = xcalloc(ld->total, sizeof(*ld->lat));
	else if (ld->count > 0)
		ld->lat = xcalloc(ld->count, sizeof(*ld->lat));
	ts = xcalloc(ld->threads, sizeof(*ts));
	per = ld->conns / ld->threads;
	extra = ld->conns % ld->threads;
	for (k = 0; k < ld->threads; k++)
		gthread_setup(&ts[k], ld, k, per + (k < extra));
	ld->t_start = mono_ns() + 1000000u;	/* connections are set up */
	ld->deadline = ld->t_start + (uint64_t)(ld->seconds * 1e9);
	memset(&ld->cpu, 0, sizeof(ld->cpu));
	cpu_now(ld->pid, &c0);
	c0.commits = store_commits(ld->port);
	for (k = 1; k < ld->threads; k++)
		if (pthread_create(&ts[k].th, NULL, gen_thread, &ts[k]) != 0)
			die("pthread_create failed");
	gen_thread(&ts[0]);
	for (k = 1; k < ld->threads; k++)
		pthread_join(ts[k].th, NULL);
	cpu_now(ld->pid, &c1);
	c1.commits = store_commits(ld->port);
	cpu_add_since(&ld->cpu, &c0, &c1);
	check_stop();
	load_collect(ld, ts);
	for (k = 0; k < ld->threads; k++)
		gthread_fini(&ts[k]);
	free(ts);
}

static void
load_fini(struct load *ld)
{
	free(ld->lat);
	ld->lat = NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Percentile p (0..1] of v (sorted here), in milliseconds. */
static double
pct_ms(uint64_t *v, size_t n, double p, bool sorted)
{
	size_t i;

	if (n == 0)
		return 0;
	if (!sorted)
		qsort(v, n, sizeof(*v), cmp_u64);
	i = (size_t)(p * (double)n + 0.999999);
	if (i > 0)
		i--;
	if (i >= n)
		i = n - 1;
	return (double)v[i] / 1e6;
}

struct lat_summary {
	double p50_ms, p99_ms, p999_ms, max_ms;
};

static void
summarize(uint64_t *v, size_t n, struct lat_summary *s)
{
	s->p50_ms = pct_ms(v, n, 0.50, false);
	s->p99_ms = pct_ms(v, n, 0.99, true);
	s->p999_ms = pct_ms(v, n, 0.999, true);
	s->max_ms = pct_ms(v, n, 1.0, true);
}

/* ---- the requests of each run ---- */

static int rfail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
rfail(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return -1;
}

/* One fixed request for every item. */
struct fixed {
	const char *what;
	char *req;
	size_t len;
	int status;		/* expected */
	const char *needle;	/* in the body, or NULL */
};

static const char *
fixed_req(void *ctx, size_t i, char *scratch, size_t cap, size_t *len)
{
	struct fixed *f = ctx;

	(void)i;
	(void)scratch;
	(void)cap;
	*len = f->len;
	return f->req;
}

static int
check_body(const char *what, int want, const char *needle, int status,
    const char *body, size_t len, char *err, size_t cap)
{
	if (status != want)
		return rfail(err, cap, "%s: status %d (expected %d): %.*s",
		    what, status, want, (int)(len < 300 ? len : 300), body);
	if (needle != NULL && memmem(body, len, needle, strlen(needle)) ==
	    NULL)
		return rfail(err, cap, "%s: no %s in the answer: %.*s", what,
		    needle, (int)(len < 300 ? len : 300), body);
	return 0;
}

static int
fixed_resp(void *ctx, size_t i, int status, const char *body, size_t len,
    char *err, size_t cap)
{
	struct fixed *f = ctx;

	(void)i;
	return check_body(f->what, f->status, f->needle, status, body, len,
	    err, cap);
}

/* Issued records: the answers of the issuance run, then verify requests. */
struct issued {
	size_t n;
	char (*id)[2 * PROTO_CTI_LEN + 1];
	char **record;		/* base64url */
	char **verify;		/* POST /v1/verify of record[i] */
	size_t *verify_len;
	char *issue_req;
	size_t issue_len;
};

static const char *
issue_req(void *ctx, size_t i, char *scratch, size_t cap, size_t *len)
{
	struct issued *is = ctx;

	(void)i;
	(void)scratch;
	(void)cap;
	*len = is->issue_len;
	return is->issue_req;
}

/* Copies the string value of "key": out of a JSON body (malloc'd). */
static char *
json_str(const char *body, size_t len, const char *key)
{
	char pat[32];
	const char *p, *q;
	char *s;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = memmem(body, len, pat, strlen(pat));
	if (p == NULL)
		return NULL;
	p += strlen(pat);
	q = memchr(p, '"', len - (size_t)(p - body));
	if (q == NULL)
		return NULL;
	s = malloc((size_t)(q - p) + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, p, (size_t)(q - p));
	s[q - p] = '\0';
	return s;
}

static int
issue_resp(void *ctx, size_t i, int status, const char *body, size_t len,
    char *err, size_t cap)
{
	struct issued *is = ctx;
	char *id;

	if (check_body("POST /v1/clearances", 201, NULL, status, body, len,
	    err, cap) != 0)
		return -1;
	id = json_str(body, len, "id");
	is->record[i] = json_str(body, len, "record");
	if (id == NULL || strlen(id) != 2 * PROTO_CTI_LEN ||
	    is->record[i] == NULL) {
		free(id);
		return rfail(err, cap, "POST /v1/clearances: no id or record "
		    "in %.*s", (int)(len < 300 ? len : 300), body);
	}
	memcpy(is->id[i], id, sizeof(is->id[i]));
	free(id);
	return 0;
}

static const char *
cold_req(void *ctx, size_t i, char *scratch, size_t cap, size_t *len)
{
	struct issued *is = ctx;

	(void)scratch;
	(void)cap;
	*len = is->verify_len[i];
	return is->verify[i];
}

static int
verify_resp(void *ctx, size_t i, int status, const char *body, size_t len,
    char *err, size_t cap)
{
	(void)ctx;
	(void)i;
	return check_body("POST /v1/verify", 200, "\"decision\":\"accept\"",
	    status, body, len, err, cap);
}

/* Lookups: even items GET /v1/clearances/{random id}, odd GET health. */
struct lookups {
	const uint8_t (*cti)[PROTO_CTI_LEN];
	size_t n;
	const char *token;
	const char *health;
	size_t health_len;
};

static size_t
lookup_pick(const struct lookups *lk, size_t i)
{
	return (size_t)(mix64(BENCH_LOOKUP_SEED ^ (uint64_t)(i / 2)) %
	    (uint64_t)lk->n);
}

static const char *
lookup_req(void *ctx, size_t i, char *scratch, size_t cap, size_t *len)
{
	struct lookups *lk = ctx;
	char id[2 * PROTO_CTI_LEN + 1];
	int n;

	if (i % 2 == 1) {
		*len = lk->health_len;
		return lk->health;
	}
	hex(lk->cti[lookup_pick(lk, i)], PROTO_CTI_LEN, id);
	n = snprintf(scratch, cap, "GET /v1/clearances/%s HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n", id,
	    lk->token);
	*len = n > 0 && (size_t)n < cap ? (size_t)n : 0;
	return scratch;
}

static int
lookup_resp(void *ctx, size_t i, int status, const char *body, size_t len,
    char *err, size_t cap)
{
	struct lookups *lk = ctx;
	char id[2 * PROTO_CTI_LEN + 1];

	if (i % 2 == 1)
		return check_body("GET /v1/health", 200, "\"ok\"", status,
		    body, len, err, cap);
	hex(lk->cti[lookup_pick(lk, i)], PROTO_CTI_LEN, id);
	return check_body("GET /v1/clearances/{id}", 200, id, status, body,
	    len, err, cap);
}

/* ---- raw OpenSSL baselines ---- */

struct raw {
	EVP_PKEY *pub, *priv;
	uint8_t tbs[PROTO_RECORD_MAX + 64];
	size_t tbs_len;
	uint8_t sig[64];
	size_t sig_len;
	double seconds;
};

struct raw_thread {
	const struct raw *r;
	pthread_t th;
	bool sign;
	uint64_t n, t_end;
	uint64_t t_start, deadline;
	bool ok;
};

static EVP_PKEY *
pem_key(const char *path, bool priv)
{
	BIO *b = BIO_new_file(path, "r");
	EVP_PKEY *k;

	if (b == NULL)
		die("cannot open %s", path);
	k = priv ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) :
	    PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	if (k == NULL)
		die("cannot parse the key in %s", path);
	return k;
}

/* The node's keys, and the bytes a clearance's signature covers. */
static void
raw_init(struct raw *r, const struct node *n, const char *record_b64,
    double seconds)
{
	char path[BENCH_PATH_MAX + 32];
	uint8_t rec[PROTO_RECORD_MAX];
	struct cry_sign1 s;
	size_t len;

	memset(r, 0, sizeof(*r));
	r->seconds = seconds;
	xfmt(path, sizeof(path), "%s/keys/sign.pub", n->dir);
	r->pub = pem_key(path, false);
	xfmt(path, sizeof(path), "%s/keys/sign.key", n->dir);
	r->priv = pem_key(path, true);
	if (b64url_decode(record_b64, strlen(record_b64), rec, sizeof(rec),
	    &len) != 0 || cry_sign1_decode(rec, len, &s, NULL) != 0 ||
	    s.sig_len != sizeof(r->sig) ||
	    cry_sign1_tbs(&s, NULL, 0, r->tbs, sizeof(r->tbs),
	    &r->tbs_len) != 0)
		die("cannot take an issued record apart");
	memcpy(r->sig, s.sig, s.sig_len);
	r->sig_len = s.sig_len;
}

static void
raw_fini(struct raw *r)
{
	EVP_PKEY_free(r->pub);
	EVP_PKEY_free(r->priv);
}

static bool
raw_verify_one(const struct raw *r)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok;

	ok = ctx != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, r->pub) == 1 &&
	    EVP_DigestVerify(ctx, r->sig, r->sig_len, r->tbs, r->tbs_len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static bool
raw_sign_one(const struct raw *r)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t sig[64];
	size_t len = sizeof(sig);
	bool ok;

	ok = ctx != NULL &&
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, r->priv) == 1 &&
	    EVP_DigestSign(ctx, sig, &len, r->tbs, r->tbs_len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static void *
raw_thread_main(void *arg)
{
	struct raw_thread *t = arg;
	uint64_t now;
	int i;

	t->ok = true;
	do {
		for (i = 0; i < 8; i++) {
			if (!(t->sign ? raw_sign_one(t->r) :
			    raw_verify_one(t->r))) {
				t->ok = false;
				return NULL;
			}
		}
		t->n += 8;
		now = mono_ns();
	} while (now < t->deadline && !g_stop);
	t->t_end = now;
	return NULL;
}

/* Operations/s of `threads` threads for r->seconds of wall time. */
static double
raw_rate(const struct raw *r, int threads, bool sign)
{
	struct raw_thread t[BENCH_RAW_THREADS];
	uint64_t t0 = mono_ns(), t_end = 0, n = 0;
	int k;

	memset(t, 0, sizeof(t));
	for (k = 0; k < threads; k++) {
		t[k].r = r;
		t[k].sign = sign;
		t[k].t_start = t0;
		t[k].deadline = t0 + (uint64_t)(r->seconds * 1e9);
		if (k > 0 && pthread_create(&t[k].th, NULL, raw_thread_main,
		    &t[k]) != 0)
			die("pthread_create failed");
	}
	raw_thread_main(&t[0]);
	for (k = 1; k < threads; k++)
		pthread_join(t[k].th, NULL);
	check_stop();
	for (k = 0; k < threads; k++) {
		if (!t[k].ok)
			die("raw OpenSSL Ed25519 %s failed",
			    sign ? "signing" : "verification");
		n += t[k].n;
		if (t[k].t_end > t_end)
			t_end = t[k].t_end;
	}
	return (double)n / ((double)(t_end - t0) / 1e9);
}

/* ---- the loader: the engine and the store, as mrxd runs them ---- */

struct loader {
	struct node_conf conf;
	struct cry_key *key;
	struct engine *eng;
	struct store *store;
	struct eng_actions *acts;
	struct eng_persist_list dirty[ENG_LISTS_MAX];	/* written at commit */
	size_t ndirty;
};

static void ldie(const char *what, const struct mrx_diag *d)
    __attribute__((noreturn));

static void
ldie(const char *what, const struct mrx_diag *d)
{
	char b[400];

	die("loader: %s: %s", what, mrx_diag_str(d, b, sizeof(b)));
}

/* Adds one trust file (mrxd's two passes: 0 quietly, 1 must succeed). */
static int
trust_file(struct proto_trust *t, const char *path, int64_t skew,
    bool must)
{
	uint8_t *buf = xmalloc(PROTO_STATUS_LIST_MAX + 1);
	struct mrx_diag d;
	size_t len;
	FILE *f;
	int rc;

	f = fopen(path, "rb");
	if (f == NULL)
		die("loader: cannot open %s: %s", path, strerror(errno));
	len = fread(buf, 1, PROTO_STATUS_LIST_MAX + 1, f);
	fclose(f);
	mrx_diag_clear(&d);
	rc = len > PROTO_STATUS_LIST_MAX ? MRX_ETOOBIG :
	    proto_trust_add(t, buf, len, (int64_t)time(NULL), skew, &d);
	free(buf);
	if (rc != 0 && must)
		ldie(path, &d);
	return rc;
}

static struct proto_trust *
loader_trust(const struct node_conf *c)
{
	struct proto_trust *t = proto_trust_new();
	struct cry_key *k;
	struct mrx_diag d;
	size_t i;
	int pass;

	if (t == NULL)
		die("out of memory");
	for (i = 0; i < c->nroots; i++) {
		mrx_diag_clear(&d);
		if (cry_key_load(c->roots[i].key_path, &k, &d) != 0 ||
		    proto_trust_add_root(t, c->roots[i].id, k, &d) != 0)
			ldie(c->roots[i].id, &d);
	}
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < c->nchain; i++)
			trust_file(t, c->chain[i], c->clock_skew_s, pass == 1);
	return t;
}

static int
restore_list(void *ctx, const struct proto_status_list *sl,
    const uint8_t *alloc, uint32_t nalloc)
{
	return eng_restore_list(ctx, sl, alloc, nalloc, NULL);
}

static int
restore_watch(void *ctx, const char *issuer, const char *uri, uint32_t idx,
    const uint8_t cti[PROTO_CTI_LEN])
{
	return eng_restore_watch(ctx, issuer, uri, idx, cti);
}

static void
loader_open(struct loader *l, const char *dir)
{
	struct eng_config ec;
	struct proto_trust *t;
	struct mrx_diag d;

	memset(l, 0, sizeof(*l));
	mrx_diag_clear(&d);
	if (conf_node_load(dir, NULL, &l->conf, &d) != 0)
		ldie("configuration", &d);
	if (cry_key_load(l->conf.signing_key, &l->key, &d) != 0)
		ldie("signing key", &d);
	t = loader_trust(&l->conf);
	memset(&ec, 0, sizeof(ec));
	ec.role = l->conf.role;
	snprintf(ec.id, sizeof(ec.id), "%s", l->conf.id);
	snprintf(ec.jurisdiction, sizeof(ec.jurisdiction), "%s",
	    l->conf.jurisdiction);
	ec.key = l->key;
	proto_policy_default(&ec.policy);
	ec.policy.skew_s = l->conf.clock_skew_s;
	ec.policy.max_status_age_s = l->conf.max_status_age_s;
	ec.policy.require_operator_cert = l->conf.require_operator_cert;
	ec.status_list_size = l->conf.status_list_size;
	ec.watches_max = l->conf.watches_max;
	if (eng_new(&ec, t, &l->eng, &d) != 0)
		ldie("engine", &d);
	if (store_open(l->conf.data_dir, &l->store, &d) != 0)
		ldie("store", &d);
	if (store_load_lists(l->store, restore_list, l->eng, &d) != 0 ||
	    store_load_watches(l->store, restore_watch, l->eng, &d) != 0)
		ldie("restoring the engine", &d);
	l->acts = xmalloc(sizeof(*l->acts));
}

static void
loader_close(struct loader *l)
{
	store_close(l->store);
	eng_free(l->eng);
	cry_key_free(l->key);
	free(l->acts);
}

/* An allocation-only list change is written once per transaction. */
static void
loader_defer(struct loader *l, const struct eng_persist_list *pl)
{
	size_t i;

	for (i = 0; i < l->ndirty; i++)
		if (l->dirty[i].sl == pl->sl) {
			l->dirty[i] = *pl;
			return;
		}
	l->dirty[l->ndirty++] = *pl;
}

static void
loader_commit(struct loader *l)
{
	struct mrx_diag d;
	size_t i;

	mrx_diag_clear(&d);
	for (i = 0; i < l->ndirty; i++)
		if (store_put_list(l->store, &l->dirty[i], &d) != 0)
			ldie("store_put_list", &d);
	l->ndirty = 0;
	if (store_commit(l->store, &d) != 0)
		ldie("store_commit", &d);
}

/* One issuance through the engine, its actions into the store. */
static void
loader_issue(struct loader *l, size_t i, uint8_t cti[PROTO_CTI_LEN])
{
	const struct eng_action *a;
	struct eng_event ev;
	struct mrx_diag d;
	size_t k;
	int rc = 0;

	memset(&ev, 0, sizeof(ev));
	ev.type = ENG_EV_ISSUE_CLEARANCE;
	ev.now = (int64_t)time(NULL);
	if (cry_random(ev.rnd, sizeof(ev.rnd)) != 0)
		die("loader: no randomness");
	snprintf(ev.u.clr.sub, sizeof(ev.u.clr.sub), "%016llx%016llx",
	    (unsigned long long)mix64(i), (unsigned long long)i);
	snprintf(ev.u.clr.level, sizeof(ev.u.clr.level), "%s", LEVEL);
	snprintf(ev.u.clr.operator_id, sizeof(ev.u.clr.operator_id), "%s",
	    OPERATOR);
	eng_actions_reset(l->acts);
	if ((rc = eng_handle(l->eng, &ev, l->acts)) != 0)
		die("loader: eng_handle: %s", mrx_errname(rc));
	mrx_diag_clear(&d);
	for (k = 0; k < l->acts->n && rc == 0; k++) {
		a = &l->acts->a[k];
		switch (a->type) {
		case ENG_ACT_REPLY:
			if (a->u.reply.status != ENG_CREATED)
				die("loader: issuance refused: %d %s %s",
				    (int)a->u.reply.status, a->u.reply.err_code,
				    a->u.reply.err_message);
			memcpy(cti, a->u.reply.cti, PROTO_CTI_LEN);
			break;
		case ENG_ACT_PERSIST_RECORD:
			rc = store_put_record(l->store, &a->u.rec, &d);
			break;
		case ENG_ACT_PERSIST_LIST:
			if (a->u.list.has_change)
				rc = store_put_list(l->store, &a->u.list, &d);
			else
				loader_defer(l, &a->u.list);
			break;
		case ENG_ACT_AUDIT:
			rc = store_append_audit(l->store, &a->u.audit, &d);
			break;
		default:
			die("loader: unexpected action %d", (int)a->type);
		}
	}
	if (rc != 0)
		ldie("store", &d);
}

/* Issues n clearances into the data directory; returns their ids. */
static uint8_t (*load_store(const char *dir, size_t n, double *secs))
    [PROTO_CTI_LEN]
{
	uint8_t (*cti)[PROTO_CTI_LEN] = xcalloc(n, PROTO_CTI_LEN);
	struct loader l;
	struct mrx_diag d;
	uint64_t t0 = mono_ns();
	size_t i, step = n / 10 > 0 ? n / 10 : 1;

	loader_open(&l, dir);
	mrx_diag_clear(&d);
	for (i = 0; i < n; i++) {
		if (i % BENCH_LOAD_BATCH == 0 && store_begin(l.store, &d) != 0)
			ldie("store_begin", &d);
		loader_issue(&l, i, cti[i]);
		if ((i + 1) % BENCH_LOAD_BATCH == 0 || i + 1 == n)
			loader_commit(&l);
		if ((i + 1) % step == 0 && i + 1 < n) {
			printf("  loaded %zu of %zu (%.0f/s)\n", i + 1, n,
			    (double)(i + 1) / ((double)(mono_ns() - t0) / 1e9));
			fflush(stdout);
		}
		check_stop();
	}
	loader_close(&l);
	*secs = (double)(mono_ns() - t0) / 1e9;
	return cti;
}

/* ---- the phases ---- */

/* --profile: the pid to attach to, then a moment to attach. */
static void
profile_note(const struct node *nd, const char *kind)
{
	printf("profile: mrxd pid %d: %s starts now\n", (int)nd->pid, kind);
	fflush(stdout);
	sleep_ns(500000000u);	/* time to attach */
}

static void
profile_done(const char *kind, const struct load *ld)
{
	double k = ld->done > 0 ? 1e6 / (double)ld->done : 0;
	uint64_t *v = xcalloc(ld->nlat, sizeof(*v));
	struct lat_summary ls;

	if (ld->nlat > 0)
		memcpy(v, ld->lat, ld->nlat * sizeof(*v));
	summarize(v, ld->nlat, &ls);
	free(v);
	printf("profile: %s: latency p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, "
	    "max %.3f ms\n", kind, ls.p50_ms, ls.p99_ms, ls.p999_ms,
	    ls.max_ms);

	printf("profile: %s: %zu requests in %.2f s, %.0f/s; us per "
	    "request: mrxd loop %.1f, mrxd pool %.1f, generator %.1f, loop "
	    "run-queue wait %.1f; %.1f requests per store commit\n", kind,
	    ld->done, ld->elapsed_s, ld->rate_done, ld->cpu.loop_s * k,
	    ld->cpu.pool_s * k, ld->cpu.gen_s * k, ld->cpu.loop_wait_s * k,
	    ld->cpu.commits > 0 ? (double)ld->done / ld->cpu.commits : 0);
}


/* One measured quantity over interleaved rounds. */
struct series {
	int n;				/* rounds done */
	double rate[BENCH_ROUNDS_MAX];	/* requests/s of each round */
	double base[BENCH_ROUNDS_MAX];	/* the baseline of the same round */
	double p99_ms[BENCH_ROUNDS_MAX];	/* latency p99 of each round */
	size_t done;			/* requests, all rounds */
	double elapsed_s;
	struct cpu cpu;
	uint64_t *lat;			/* every latency, all rounds */
	size_t nlat, lat_cap;
	struct lat_summary ls;		/* after series_end() */
};

static void
series_add(struct series *s, const struct load *ld, double base)
{
	assert(s->n < BENCH_ROUNDS_MAX);
	s->rate[s->n] = ld->rate_done;
	s->base[s->n] = base;
	s->done += ld->done;
	s->elapsed_s += ld->elapsed_s;
	s->cpu.loop_s += ld->cpu.loop_s;
	s->cpu.pool_s += ld->cpu.pool_s;
	s->cpu.gen_s += ld->cpu.gen_s;
	s->cpu.loop_wait_s += ld->cpu.loop_wait_s;
	s->cpu.commits += ld->cpu.commits;
	if (s->nlat + ld->nlat > s->lat_cap) {
		s->lat_cap = 2 * (s->nlat + ld->nlat);
		s->lat = realloc(s->lat, s->lat_cap * sizeof(*s->lat));
		if (s->lat == NULL)
			die("out of memory for latencies");
	}
	if (ld->nlat > 0)
		memcpy(s->lat + s->nlat, ld->lat, ld->nlat * sizeof(*s->lat));
	s->nlat += ld->nlat;
	s->p99_ms[s->n] = pct_ms(ld->lat, ld->nlat, 0.99, false);
	s->n++;
}

static void
series_end(struct series *s)
{
	summarize(s->lat, s->nlat, &s->ls);
	free(s->lat);
	s->lat = NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(const double *v, int n)
{
	double s[BENCH_ROUNDS_MAX];

	if (n <= 0)
		return 0;
	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double
series_rate(const struct series *s)
{
	return median(s->rate, s->n);
}

static double
series_base(const struct series *s)
{
	return median(s->base, s->n);
}

/* The median over rounds of the per-round p99 (a diagnostic). */
static double
series_p99(const struct series *s)
{
	return median(s->p99_ms, s->n);
}

/* The median over rounds of rate / baseline. */
static double
series_ratio(const struct series *s)
{
	double r[BENCH_ROUNDS_MAX];
	int i;

	for (i = 0; i < s->n; i++)
		r[i] = s->base[i] > 0 ? s->rate[i] / s->base[i] : 0;
	return median(r, s->n);
}

struct results {
	/* phase 1 */
	double start_empty_s;
	long rss_empty_kb, hwm_empty_kb;
	struct series issue;		/* base: raw signing, one thread */
	struct series cold;		/* base: raw verification, two */
	struct series health;		/* closed loop, beside warm */
	struct series warm;		/* base: health of the same round */
	struct series open_health;	/* open loop at --rate */
	struct series open_warm;
	double stop1_s;
	/* phase 2 */
	bool store_run;
	size_t loaded;
	double load_s;
	int nrestarts;
	double restart_s[BENCH_RESTARTS_MAX];
	double restart_med_s, restart_max_s;
	size_t lookups;
	double lookup_rate;
	struct cpu lookup_cpu;
	struct lat_summary lookup_lat, health_lookup_lat;
	long rss_kb, hwm_kb;
	double stop2_s;
};

static struct load
load_new(const char *name, const struct node *n, const struct opts *o)
{
	struct load ld;

	memset(&ld, 0, sizeof(ld));
	ld.name = name;
	ld.port = n->port;
	ld.pid = n->pid;
	ld.conns = o->conns;
	ld.threads = o->gen_threads;
	ld.seconds = o->seconds;
	return ld;
}

static void
issued_prepare(struct issued *is, size_t n, const struct node *nd)
{
	static const char body[] = "{\"sub\":\"00112233445566778899aabbccddeeff"
	    "\",\"level\":\"" LEVEL "\",\"operator\":\"" OPERATOR "\"}";

	memset(is, 0, sizeof(*is));
	is->n = n;
	is->id = xcalloc(n, sizeof(*is->id));
	is->record = xcalloc(n, sizeof(*is->record));
	is->verify = xcalloc(n, sizeof(*is->verify));
	is->verify_len = xcalloc(n, sizeof(*is->verify_len));
	is->issue_req = http_req("POST", "/v1/clearances", nd->token, body,
	    &is->issue_len);
}

static void
issued_verify_requests(struct issued *is, const struct node *nd)
{
	char *body;
	size_t i, cap;

	for (i = 0; i < is->n; i++) {
		cap = strlen(is->record[i]) + 64;
		body = xmalloc(cap);
		snprintf(body, cap, "{\"record\":\"%s\",\"access\":\"" LEVEL
		    "\"}", is->record[i]);
		is->verify[i] = http_req("POST", "/v1/verify", nd->token, body,
		    &is->verify_len[i]);
		free(body);
	}
}

static void
issued_fini(struct issued *is)
{
	size_t i;

	for (i = 0; i < is->n; i++) {
		free(is->record[i]);
		free(is->verify[i]);
	}
	free(is->id);
	free(is->record);
	free(is->verify);
	free(is->verify_len);
	free(is->issue_req);
}

/* Items [first, first + count) of `is`, closed loop. */
static void
run_range(struct load *ld, struct issued *is, size_t first, size_t count,
    bool verify)
{
	ld->first = first;
	ld->count = count;
	ld->req = verify ? cold_req : issue_req;
	ld->resp = verify ? verify_resp : issue_resp;
	ld->ctx = is;
	load_run(ld);
}

/* The bounds of round k of `rounds` over n items from `start`. */
static void
round_range(size_t start, size_t n, int k, int rounds, size_t *lo,
    size_t *hi)
{
	*lo = start + n * (size_t)k / (size_t)rounds;
	*hi = start + n * (size_t)(k + 1) / (size_t)rounds;
}

/*
 * Issuance in rounds, each after a slice of raw signing; then cold
 * verification of every record in rounds, each between two slices of raw
 * verification (the round's baseline is their mean).
 */
static void
phase_issue_and_cold(const struct opts *o, struct node *nd,
    struct issued *is, struct raw *raw, struct results *r)
{
	struct load ld;
	size_t lo, hi;
	double base, before, after;
	int k;

	issued_prepare(is, o->cold, nd);
	ld = load_new("issuance", nd, o);
	run_range(&ld, is, 0, 1, false);	/* a record for the baselines */
	load_fini(&ld);
	raw_init(raw, nd, is->record[0], BENCH_RAW_SLICE_S);
	for (k = 0; k < o->rounds; k++) {
		base = raw_rate(raw, 1, true);
		round_range(1, o->cold - 1, k, o->rounds, &lo, &hi);
		ld = load_new("issuance", nd, o);
		run_range(&ld, is, lo, hi - lo, false);
		series_add(&r->issue, &ld, base);
		load_fini(&ld);
		printf("  round %d: issuance %.0f/s, raw OpenSSL Ed25519 sign "
		    "%.0f/s\n", k + 1, r->issue.rate[k], base);
	}
	series_end(&r->issue);

	issued_verify_requests(is, nd);
	before = raw_rate(raw, BENCH_RAW_THREADS, false);
	for (k = 0; k < o->rounds; k++) {
		round_range(0, o->cold, k, o->rounds, &lo, &hi);
		ld = load_new("cold verify", nd, o);
		run_range(&ld, is, lo, hi - lo, true);
		after = raw_rate(raw, BENCH_RAW_THREADS, false);
		series_add(&r->cold, &ld, (before + after) / 2);
		load_fini(&ld);
		printf("  round %d: cold verify %.0f/s, raw OpenSSL Ed25519 "
		    "verify x%d %.0f/s (%.0f before, %.0f after)\n", k + 1,
		    r->cold.rate[k], BENCH_RAW_THREADS, r->cold.base[k],
		    before, after);
		before = after;
	}
	series_end(&r->cold);
}

/* A run of one fixed request: closed loop for `seconds`, or open loop. */
static void
fixed_run(const struct opts *o, const struct node *nd, struct fixed *f,
    double seconds, double rate, struct load *ld)
{
	*ld = load_new(f->what, nd, o);
	ld->seconds = seconds;
	ld->rate = rate;
	ld->req = fixed_req;
	ld->resp = fixed_resp;
	ld->ctx = f;
	load_run(ld);
}

/* Warm verification and health in alternating closed-loop rounds, then
 * both in the open loop. */
static void
phase_warm(const struct opts *o, const struct node *nd, struct fixed *health,
    struct fixed *warm, struct results *r)
{
	double slice = o->seconds / o->rounds;
	struct load ld;
	int k;

	fixed_run(o, nd, health, slice / 2, 0, &ld);	/* warm-up */
	load_fini(&ld);
	fixed_run(o, nd, warm, slice / 2, 0, &ld);
	load_fini(&ld);
	for (k = 0; k < o->rounds; k++) {
		fixed_run(o, nd, health, slice, 0, &ld);
		series_add(&r->health, &ld, 0);
		load_fini(&ld);
		fixed_run(o, nd, warm, slice, 0, &ld);
		series_add(&r->warm, &ld, r->health.rate[k]);
		load_fini(&ld);
		printf("  round %d: warm verify %.0f/s, GET /v1/health %.0f/s\n",
		    k + 1, r->warm.rate[k], r->health.rate[k]);
	}
	series_end(&r->health);
	series_end(&r->warm);

	for (k = 0; k < o->rounds; k++) {
		fixed_run(o, nd, health, slice, o->rate, &ld);
		series_add(&r->open_health, &ld, 0);
		load_fini(&ld);
		fixed_run(o, nd, warm, slice, o->rate, &ld);
		series_add(&r->open_warm, &ld, 0);
		load_fini(&ld);
		printf("  round %d: open loop at %.0f/s: warm verify p99 %.2f "
		    "ms (%.0f/s done), GET /v1/health p99 %.2f ms\n", k + 1,
		    o->rate, r->open_warm.p99_ms[k], r->open_warm.rate[k],
		    r->open_health.p99_ms[k]);
	}
	series_end(&r->open_health);
	series_end(&r->open_warm);
	printf("  open loop, all rounds: warm verify p50 %.2f ms, p99 %.2f "
	    "ms, p99.9 %.2f ms, max %.2f ms; GET /v1/health p99 %.2f ms\n",
	    r->open_warm.ls.p50_ms, r->open_warm.ls.p99_ms,
	    r->open_warm.ls.p999_ms, r->open_warm.ls.max_ms,
	    r->open_health.ls.p99_ms);
}

static void
phase_api(const struct opts *o, struct results *r)
{
	struct fixed health = { "GET /v1/health", NULL, 0, 200, "\"ok\"" };
	struct fixed warm = { "POST /v1/verify (warm)", NULL, 0, 200,
		"\"decision\":\"accept\"" };
	struct issued is;
	struct raw raw;
	struct node nd;

	printf("phase 1: a fresh issuer node, %d rounds\n", o->rounds);
	node_init(&nd, "node", o->log_level);
	r->start_empty_s = node_start(&nd);
	proc_rss(nd.pid, &r->rss_empty_kb, &r->hwm_empty_kb);
	printf("  empty node: started in %.3f s, VmRSS %ld kB, VmHWM %ld kB\n",
	    r->start_empty_s, r->rss_empty_kb, r->hwm_empty_kb);
	phase_issue_and_cold(o, &nd, &is, &raw, r);
	health.req = http_req("GET", "/v1/health", NULL, NULL, &health.len);
	/* the first record: its signature is cached since its cold round */
	warm.req = is.verify[0];
	warm.len = is.verify_len[0];
	phase_warm(o, &nd, &health, &warm, r);
	r->stop1_s = node_stop(&nd);
	free(health.req);
	raw_fini(&raw);
	issued_fini(&is);
}

/* Random-id lookups alternating with health, on one connection. */
static void
store_lookups(const struct opts *o, const struct node *nd,
    const uint8_t (*cti)[PROTO_CTI_LEN], struct results *r)
{
	struct lookups lk;
	struct load ld;
	uint64_t *a, *b;
	size_t i, half;

	memset(&lk, 0, sizeof(lk));
	lk.cti = cti;
	lk.n = o->clearances;
	lk.token = nd->token;
	lk.health = http_req("GET", "/v1/health", NULL, NULL,
	    &lk.health_len);
	if (o->profile != NULL)
		profile_note(nd, "lookup");
	ld = load_new("lookups", nd, o);
	ld.conns = 1;
	ld.threads = 1;
	ld.count = 2 * o->lookups;
	ld.req = lookup_req;
	ld.resp = lookup_resp;
	ld.ctx = &lk;
	load_run(&ld);
	half = ld.count / 2;
	a = xcalloc(half, sizeof(*a));
	b = xcalloc(half, sizeof(*b));
	for (i = 0; i < half; i++) {
		a[i] = ld.lat[2 * i];
		b[i] = ld.lat[2 * i + 1];
	}
	r->lookups = half;
	r->lookup_rate = (double)half / ld.elapsed_s;
	r->lookup_cpu = ld.cpu;
	if (o->profile != NULL)
		profile_done("lookup", &ld);
	summarize(a, half, &r->lookup_lat);
	summarize(b, half, &r->health_lookup_lat);
	load_fini(&ld);
	free(a);
	free(b);
	free((void *)lk.health);
}

static void
phase_store(const struct opts *o, struct results *r)
{
	struct node nd;
	uint8_t (*cti)[PROTO_CTI_LEN];
	double sorted[BENCH_RESTARTS_MAX];
	int k;

	printf("phase 2: a node holding %zu clearances\n", o->clearances);
	node_init(&nd, "stored", o->log_level);
	cti = load_store(nd.dir, o->clearances, &r->load_s);
	r->loaded = o->clearances;
	r->store_run = true;
	printf("  loader: %zu clearances in %.1f s (%.0f/s)\n", r->loaded,
	    r->load_s, (double)r->loaded / r->load_s);
	r->nrestarts = o->restarts;
	for (k = 0; k < o->restarts; k++) {
		if (k > 0)
			node_stop(&nd);
		r->restart_s[k] = node_start(&nd);
		printf("  start %d: exec to the first 200 in %.3f s\n", k + 1,
		    r->restart_s[k]);
	}
	memcpy(sorted, r->restart_s, (size_t)o->restarts * sizeof(double));
	qsort(sorted, (size_t)o->restarts, sizeof(double), cmp_double);
	r->restart_med_s = median(r->restart_s, o->restarts);
	r->restart_max_s = sorted[o->restarts - 1];
	store_lookups(o, &nd, (const uint8_t (*)[PROTO_CTI_LEN])cti, r);
	proc_rss(nd.pid, &r->rss_kb, &r->hwm_kb);
	printf("  lookups: %zu random ids, p50 %.3f ms, p99 %.3f ms, max %.3f "
	    "ms; GET /v1/health between them p99 %.3f ms\n", r->lookups,
	    r->lookup_lat.p50_ms, r->lookup_lat.p99_ms,
	    r->lookup_lat.max_ms, r->health_lookup_lat.p99_ms);
	printf("  mrxd: VmRSS %ld kB, VmHWM %ld kB\n", r->rss_kb, r->hwm_kb);
	r->stop2_s = node_stop(&nd);
	free(cti);
}

/* ---- the report ---- */

struct row {
	const char *key;	/* JSON name */
	const char *target;
	char goal[24];
	char measured[24];
	char raw[48];
	double m, base, ratio;
	bool run, met;
};

#define ROWS 7

static void
row_set(struct row *w, const char *key, const char *target, bool run,
    bool met, double m, double base, double ratio)
{
	w->key = key;
	w->target = target;
	w->run = run;
	w->met = run && met;
	w->m = m;
	w->base = base;
	w->ratio = ratio;
}

static void
rows_build(const struct opts *o, const struct results *r, struct row *w)
{
	double mb = 1024.0 / 1e6;	/* kB (KiB) to 10^6 bytes */
	double cold = series_ratio(&r->cold);

	memset(w, 0, ROWS * sizeof(*w));
	row_set(&w[0], "cold_verify", "cold verify, distinct records", true,
	    cold >= GOAL_COLD_RATIO, series_rate(&r->cold),
	    series_base(&r->cold), cold);
	snprintf(w[0].goal, sizeof(w[0].goal), ">= %.2f x raw",
	    GOAL_COLD_RATIO);
	snprintf(w[0].measured, sizeof(w[0].measured), "%.0f /s", w[0].m);
	snprintf(w[0].raw, sizeof(w[0].raw), "%.0f /s OpenSSL verify x%d",
	    w[0].base, BENCH_RAW_THREADS);

	row_set(&w[1], "warm_verify", "warm verify, cached signature", true,
	    series_rate(&r->warm) >= GOAL_WARM_RATE, series_rate(&r->warm),
	    series_base(&r->warm), series_ratio(&r->warm));
	snprintf(w[1].goal, sizeof(w[1].goal), ">= %.0f /s", GOAL_WARM_RATE);
	snprintf(w[1].measured, sizeof(w[1].measured), "%.0f /s", w[1].m);
	snprintf(w[1].raw, sizeof(w[1].raw), "%.0f /s GET /v1/health",
	    w[1].base);

	row_set(&w[2], "warm_verify_p99", "warm verify p99, open loop", true,
	    r->open_warm.ls.p99_ms < GOAL_WARM_P99_MS, r->open_warm.ls.p99_ms,
	    r->open_health.ls.p99_ms, r->open_health.ls.p99_ms > 0 ?
	    r->open_warm.ls.p99_ms / r->open_health.ls.p99_ms : 0);
	snprintf(w[2].goal, sizeof(w[2].goal), "< %.0f ms @ %.0f/s",
	    GOAL_WARM_P99_MS, o->rate);
	snprintf(w[2].measured, sizeof(w[2].measured), "%.2f ms", w[2].m);
	snprintf(w[2].raw, sizeof(w[2].raw), "%.2f ms GET /v1/health p99",
	    w[2].base);

	row_set(&w[3], "issuance", "durable issuance", true,
	    series_rate(&r->issue) >= GOAL_ISSUE_RATE, series_rate(&r->issue),
	    series_base(&r->issue), series_ratio(&r->issue));
	snprintf(w[3].goal, sizeof(w[3].goal), ">= %.0f /s", GOAL_ISSUE_RATE);
	snprintf(w[3].measured, sizeof(w[3].measured), "%.0f /s", w[3].m);
	snprintf(w[3].raw, sizeof(w[3].raw), "%.0f /s OpenSSL sign x1",
	    w[3].base);

	row_set(&w[4], "rss", "stored: mrxd VmHWM", r->store_run,
	    (double)r->hwm_kb * mb < GOAL_RSS_MB, (double)r->hwm_kb * mb,
	    (double)r->hwm_empty_kb * mb, r->hwm_empty_kb > 0 ?
	    (double)r->hwm_kb / (double)r->hwm_empty_kb : 0);
	snprintf(w[4].goal, sizeof(w[4].goal), "< %.0f MB", GOAL_RSS_MB);
	snprintf(w[4].measured, sizeof(w[4].measured), "%.1f MB", w[4].m);
	snprintf(w[4].raw, sizeof(w[4].raw), "%.1f MB empty node", w[4].base);

	row_set(&w[5], "restart", "stored: restart, exec to 200",
	    r->store_run, r->restart_med_s < GOAL_RESTART_S,
	    r->restart_med_s, r->start_empty_s, r->start_empty_s > 0 ?
	    r->restart_med_s / r->start_empty_s : 0);
	snprintf(w[5].goal, sizeof(w[5].goal), "< %.0f s", GOAL_RESTART_S);
	snprintf(w[5].measured, sizeof(w[5].measured), "%.3f s", w[5].m);
	snprintf(w[5].raw, sizeof(w[5].raw), "%.3f s empty node", w[5].base);

	row_set(&w[6], "lookup_p99", "stored: GET clearance p99",
	    r->store_run, r->lookup_lat.p99_ms < GOAL_LOOKUP_P99_MS,
	    r->lookup_lat.p99_ms, r->health_lookup_lat.p99_ms,
	    r->health_lookup_lat.p99_ms > 0 ? r->lookup_lat.p99_ms /
	    r->health_lookup_lat.p99_ms : 0);
	snprintf(w[6].goal, sizeof(w[6].goal), "< %.0f ms",
	    GOAL_LOOKUP_P99_MS);
	snprintf(w[6].measured, sizeof(w[6].measured), "%.3f ms", w[6].m);
	snprintf(w[6].raw, sizeof(w[6].raw), "%.3f ms GET /v1/health p99",
	    w[6].base);
}

/* CPU microseconds per request of one run (or series). */
static void
print_cpu_line(const char *what, const struct cpu *c, size_t n)
{
	double k = n > 0 ? 1e6 / (double)n : 0;

	char per[32] = "-";

	if (c->commits > 0)
		snprintf(per, sizeof(per), "%.1f", (double)n / c->commits);
	printf("%-30s %9.1f %9.1f %9.1f %9.1f %9.1f %9zu %9s\n", what,
	    c->loop_s * k, c->pool_s * k, (c->loop_s + c->pool_s) * k,
	    c->gen_s * k, c->loop_wait_s * k, n, per);
}

static void
print_cpu_json(const char *name, const struct cpu *c, size_t n, bool comma)
{
	double k = n > 0 ? 1e6 / (double)n : 0;

	printf("\"%s\":{\"requests\":%zu,\"loop_us\":%.2f,\"pool_us\":%.2f,"
	    "\"gen_us\":%.2f,\"loop_wait_us\":%.2f,\"commits\":%.0f}%s",
	    name, n, c->loop_s * k, c->pool_s * k, c->gen_s * k,
	    c->loop_wait_s * k, c->commits, comma ? "," : "");
}

static void
print_lat_json(const char *name, const struct lat_summary *s, bool comma)
{
	printf("\"%s\":{\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,"
	    "\"max_ms\":%.3f}%s", name, s->p50_ms, s->p99_ms, s->p999_ms,
	    s->max_ms, comma ? "," : "");
}

static void
print_rounds_json(const char *name, const struct series *s, bool comma)
{
	int i;

	printf("\"%s\":[", name);
	for (i = 0; i < s->n; i++)
		printf("%s[%.0f,%.0f]", i ? "," : "", s->rate[i], s->base[i]);
	printf("]%s", comma ? "," : "");
}

static void
print_json(const struct opts *o, const struct results *r,
    const struct row *w, bool pass, long cpus)
{
	int i;

	printf("{\"bench\":\"node\",\"cpus\":%ld,\"log_level\":\"%s\","
	    "\"conns\":%zu,\"gen_threads\":%u,\"rounds\":%d,\"seconds\":%.2f,"
	    "\"open_rate\":%.0f,\"cold\":%zu,\"clearances\":%zu,\"results\":[",
	    cpus, o->log_level, o->conns, o->gen_threads, o->rounds,
	    o->seconds, o->rate, o->cold, r->store_run ? r->loaded : (size_t)0);
	for (i = 0; i < ROWS; i++)
		printf("%s{\"target\":\"%s\",\"run\":%s,\"measured\":%.4f,"
		    "\"raw\":%.4f,\"ratio\":%.4f,\"met\":%s}", i ? "," : "",
		    w[i].key, w[i].run ? "true" : "false", w[i].m, w[i].base,
		    w[i].ratio, w[i].met ? "true" : "false");
	printf("],\"rounds_rate_base\":{");
	print_rounds_json("issuance", &r->issue, true);
	print_rounds_json("cold_verify", &r->cold, true);
	print_rounds_json("warm_verify", &r->warm, true);
	printf("\"open_p99_ms_warm_health\":[");
	for (i = 0; i < r->open_warm.n && i < r->open_health.n; i++)
		printf("%s[%.3f,%.3f]", i ? "," : "", r->open_warm.p99_ms[i],
		    r->open_health.p99_ms[i]);
	printf("],\"open_p99_ms_round_median\":[%.3f,%.3f]",
	    series_p99(&r->open_warm), series_p99(&r->open_health));
	printf("},\"latency\":{");
	print_lat_json("issuance", &r->issue.ls, true);
	print_lat_json("cold_verify", &r->cold.ls, true);
	print_lat_json("warm_verify", &r->warm.ls, true);
	print_lat_json("open_warm_verify", &r->open_warm.ls, true);
	print_lat_json("open_health", &r->open_health.ls, true);
	print_lat_json("lookup", &r->lookup_lat, true);
	print_lat_json("lookup_health", &r->health_lookup_lat, false);
	printf("},\"cpu_per_request\":{");
	print_cpu_json("issuance", &r->issue.cpu, r->issue.done, true);
	print_cpu_json("cold_verify", &r->cold.cpu, r->cold.done, true);
	print_cpu_json("warm_verify", &r->warm.cpu, r->warm.done, true);
	print_cpu_json("health", &r->health.cpu, r->health.done, true);
	print_cpu_json("open_warm_verify", &r->open_warm.cpu,
	    r->open_warm.done, true);
	print_cpu_json("lookups", &r->lookup_cpu, 2 * r->lookups, false);
	printf("},\"start_empty_s\":%.4f,\"rss_empty_kb\":%ld,"
	    "\"hwm_empty_kb\":%ld,\"load_s\":%.2f,\"restart_median_s\":%.4f,"
	    "\"restart_max_s\":%.4f,\"rss_kb\":%ld,\"hwm_kb\":%ld,"
	    "\"lookups\":%zu,\"stop_s\":[%.3f,%.3f],\"pass\":%s}\n",
	    r->start_empty_s, r->rss_empty_kb, r->hwm_empty_kb, r->load_s,
	    r->restart_med_s, r->restart_max_s, r->rss_kb, r->hwm_kb,
	    r->lookups, r->stop1_s, r->stop2_s, pass ? "true" : "false");
}

static bool
report(const struct opts *o, const struct results *r)
{
	struct row w[ROWS];
	bool pass = true;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int i;

	rows_build(o, r, w);
	printf("\nbench_node: %ld CPUs, mrxd --log-level %s, %zu connections, "
	    "%u generator thread(s), %d rounds, %zu stored clearances\n",
	    cpus, o->log_level, o->conns, o->gen_threads, o->rounds,
	    r->store_run ? r->loaded : (size_t)0);
	printf("rates: medians over the rounds, ratio = the median of the "
	    "per-round measured / raw;\nopen-loop p99: over all its requests "
	    "(every round), ratio = measured / raw\n\n");
	printf("%-31s %-18s %-12s %-32s %8s  %s\n", "target", "goal",
	    "measured", "raw (baseline, same run)", "ratio", "met");
	for (i = 0; i < ROWS; i++) {
		if (!w[i].run) {
			printf("%-31s %-18s %-12s %-32s %8s  %s\n", w[i].target,
			    w[i].goal, "-", "-", "-", "skipped");
			continue;
		}
		printf("%-31s %-18s %-12s %-32s %8.3f  %s\n", w[i].target,
		    w[i].goal, w[i].measured, w[i].raw, w[i].ratio,
		    w[i].met ? "yes" : "NO");
		if (!w[i].met)
			pass = false;
	}
	printf("\n%-30s %9s %9s %9s %9s %9s %9s %9s\n",
	    "CPU us per request", "mrxd loop", "mrxd pool", "mrxd all",
	    "generator", "loop wait", "requests", "/commit");
	print_cpu_line("issuance", &r->issue.cpu, r->issue.done);
	print_cpu_line("cold verify", &r->cold.cpu, r->cold.done);
	print_cpu_line("warm verify (closed loop)", &r->warm.cpu,
	    r->warm.done);
	print_cpu_line("GET /v1/health (closed loop)", &r->health.cpu,
	    r->health.done);
	print_cpu_line("warm verify (open loop)", &r->open_warm.cpu,
	    r->open_warm.done);
	if (r->store_run) {
		print_cpu_line("lookup + health (stored)", &r->lookup_cpu,
		    2 * r->lookups);
		printf("\nloader: %zu clearances in %.1f s (%.0f/s); starts "
		    "median %.3f s, max %.3f s\n", r->loaded, r->load_s,
		    (double)r->loaded / r->load_s, r->restart_med_s,
		    r->restart_max_s);
	}
	printf("latency p50/p99 ms: issuance %.2f/%.2f, cold verify "
	    "%.2f/%.2f, warm verify %.2f/%.2f (closed loops, %zu "
	    "connections)\n", r->issue.ls.p50_ms, r->issue.ls.p99_ms,
	    r->cold.ls.p50_ms, r->cold.ls.p99_ms, r->warm.ls.p50_ms,
	    r->warm.ls.p99_ms, o->conns);
	printf("targets: %s\n", pass ? "all met" : "NOT all met");
	print_json(o, r, w, pass, cpus);
	return pass;
}

/* ---- one load for a profiler ---- */

/* --profile: one kind of load, announced with mrxd's pid. */
static void
profile_run(const struct opts *o)
{
	struct fixed health = { "GET /v1/health", NULL, 0, 200, "\"ok\"" };
	struct fixed warm = { "POST /v1/verify (warm)", NULL, 0, 200,
		"\"decision\":\"accept\"" };
	const char *kind = o->profile;
	struct issued is;
	struct load ld;
	struct node nd;
	bool cold = strcmp(kind, "cold") == 0;

	if (strcmp(kind, "lookup") == 0) {
		phase_store(o, &(struct results){ 0 });
		return;
	}
	if (!cold && strcmp(kind, "issue") != 0 &&
	    strcmp(kind, "warm") != 0 && strcmp(kind, "open") != 0 &&
	    strcmp(kind, "health") != 0)
		usage();
	node_init(&nd, "node", o->log_level);
	node_start(&nd);
	issued_prepare(&is, cold || strcmp(kind, "issue") == 0 ? o->cold : 1,
	    &nd);
	if (strcmp(kind, "issue") == 0)
		profile_note(&nd, kind);
	ld = load_new("issuance", &nd, o);
	run_range(&ld, &is, 0, is.n, false);
	if (strcmp(kind, "issue") == 0)
		profile_done(kind, &ld);
	load_fini(&ld);
	if (strcmp(kind, "issue") != 0) {
		issued_verify_requests(&is, &nd);
		if (!cold) {
			ld = load_new("cold verify", &nd, o);
			run_range(&ld, &is, 0, 1, true);
			load_fini(&ld);
		}
		health.req = http_req("GET", "/v1/health", NULL, NULL,
		    &health.len);
		warm.req = is.verify[0];
		warm.len = is.verify_len[0];
		profile_note(&nd, kind);
		if (cold)
			run_range(&ld, &is, 0, is.n, true);
		else
			fixed_run(o, &nd, strcmp(kind, "health") == 0 ?
			    &health : &warm, o->seconds,
			    strcmp(kind, "open") == 0 ? o->rate : 0, &ld);
		profile_done(kind, &ld);
		load_fini(&ld);
		free(health.req);
	}
	node_stop(&nd);
	issued_fini(&is);
}

/* ---- main ---- */

static void
usage(void)
{
	fprintf(stderr, "usage: bench_node [--clearances N] [--cold N] "
	    "[--seconds S] [--conns N]\n"
	    "                  [--rate R] [--rounds N] [--lookups N] "
	    "[--restarts N]\n"
	    "                  [--gen-threads N]"
	    " [--log-level error|warn|info|debug]\n"
	    "                  [--dir D] [--keep] [--strict]\n"
	    "       bench_node --profile KIND [options]\n"
	    "  --clearances N  stored clearances of phase 2 (default %d; 0 "
	    "skips it)\n"
	    "  --cold N        clearances issued, then verified once each "
	    "(default %d)\n"
	    "  --seconds S     length of each timed run (default %.0f)\n"
	    "  --conns N       keep-alive connections (default %d)\n"
	    "  --rate R        open-loop rate of the latency runs (default "
	    "%.0f/s)\n"
	    "  --rounds N      interleaved rounds of node runs and baselines "
	    "(default %d)\n"
	    "  --lookups N     random-id lookups in phase 2 (default %d)\n"
	    "  --restarts N    timed starts of the stored node (default %d)\n"
	    "  --profile KIND  only one load, after printing mrxd's pid: "
	    "issue, cold, warm,\n"
	    "                  open, health or lookup (--cold records, "
	    "--seconds, --rate,\n"
	    "                  --clearances and --lookups apply)\n"
	    "Needs MRX_BIN and MRXD_BIN.\n", BENCH_CLEARANCES_DEFAULT,
	    BENCH_COLD_DEFAULT, BENCH_SECONDS_DEFAULT, BENCH_CONNS_DEFAULT,
	    BENCH_RATE_DEFAULT, BENCH_ROUNDS_DEFAULT, BENCH_LOOKUPS_DEFAULT,
	    BENCH_RESTARTS_DEFAULT);
	exit(2);
}

/* A count option: digits only, within [lo, hi]. */
static size_t
opt_count(const char *s, size_t lo, size_t hi)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		usage();
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		usage();
	return (size_t)v;
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	const char *v;
	int i;

	memset(o, 0, sizeof(*o));
	o->clearances = BENCH_CLEARANCES_DEFAULT;
	o->cold = BENCH_COLD_DEFAULT;
	o->seconds = BENCH_SECONDS_DEFAULT;
	o->conns = BENCH_CONNS_DEFAULT;
	o->rate = BENCH_RATE_DEFAULT;
	o->lookups = BENCH_LOOKUPS_DEFAULT;
	o->restarts = BENCH_RESTARTS_DEFAULT;
	o->rounds = BENCH_ROUNDS_DEFAULT;
	o->gen_threads = 1;
	o->log_level = "warn";
	for (i = 1; i < argc; i++) {
		v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--keep") == 0) {
			o->keep = true;
			continue;
		}
		if (strcmp(argv[i], "--strict") == 0) {
			o->strict = true;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(argv[i - 1], "--clearances") == 0)
			o->clearances = opt_count(v, 0, 100000000);
		else if (strcmp(argv[i - 1], "--cold") == 0)
			o->cold = opt_count(v, 1, 10000000);
		else if (strcmp(argv[i - 1], "--seconds") == 0)
			o->seconds = atof(v);
		else if (strcmp(argv[i - 1], "--conns") == 0)
			o->conns = opt_count(v, 1, BENCH_CONNS_MAX);
		else if (strcmp(argv[i - 1], "--rate") == 0)
			o->rate = atof(v);
		else if (strcmp(argv[i - 1], "--lookups") == 0)
			o->lookups = opt_count(v, 1, 100000000);
		else if (strcmp(argv[i - 1], "--rounds") == 0)
			o->rounds = (int)opt_count(v, 1, BENCH_ROUNDS_MAX);
		else if (strcmp(argv[i - 1], "--restarts") == 0)
			o->restarts = (int)opt_count(v, 1, BENCH_RESTARTS_MAX);
		else if (strcmp(argv[i - 1], "--gen-threads") == 0)
			o->gen_threads = (unsigned)opt_count(v, 1,
			    BENCH_GEN_THREADS_MAX);
		else if (strcmp(argv[i - 1], "--log-level") == 0)
			o->log_level = v;
		else if (strcmp(argv[i - 1], "--dir") == 0)
			o->dir = v;
		else if (strcmp(argv[i - 1], "--profile") == 0)
			o->profile = v;
		else
			usage();
	}
	if (!(o->seconds >= 0.2 && o->seconds <= 600) ||
	    !(o->rate >= 1 && o->rate <= 1e6) ||
	    o->rate * o->seconds > 1e8 || o->conns < o->gen_threads ||
	    o->cold < 2 * (size_t)o->rounds ||
	    (strcmp(o->log_level, "error") != 0 &&
	    strcmp(o->log_level, "warn") != 0 &&
	    strcmp(o->log_level, "info") != 0 &&
	    strcmp(o->log_level, "debug") != 0))
		usage();
}

int
main(int argc, char **argv)
{
	struct results r;
	struct opts o;
	struct sigaction sa;
	const char *tmp;
	bool pass;

	parse_opts(argc, argv, &o);
	g_mrx = getenv("MRX_BIN");
	g_mrxd = getenv("MRXD_BIN");
	if (g_mrx == NULL || g_mrxd == NULL || access(g_mrx, X_OK) != 0 ||
	    access(g_mrxd, X_OK) != 0)
		die("MRX_BIN and MRXD_BIN must name the mrx and mrxd binaries "
		    "(meson test sets them)");
	g_keep = o.keep;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	tmp = o.dir != NULL ? o.dir : getenv("TMPDIR");
	xfmt(g_work, sizeof(g_work), "%s/bench_node.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(g_work) == NULL) {
		g_work[0] = '\0';
		die("cannot make a work directory: %s", strerror(errno));
	}
	atexit(cleanup);
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&r, 0, sizeof(r));
	printf("bench_node: work directory %s; mrxd %s\n", g_work, g_mrxd);
	if (o.profile != NULL) {
		profile_run(&o);
		return 0;
	}
	phase_api(&o, &r);
	if (o.clearances > 0)
		phase_store(&o, &r);
	pass = report(&o, &r);
	return o.strict && !pass ? 1 : 0;
}
