/*
 * fuzz_node_conf.c - the node's configuration file (conf/node_conf.h) read
 * from untrusted YAML with conf_node_load().
 *
 * conf_node_load() reads a file, so each input is written to mrx.yaml in a
 * directory of this process (mkdtemp under $TMPDIR), which is the data
 * directory too; nothing is written anywhere else, and the directory is
 * removed at exit.
 *
 * Properties:
 *  - an error returns a negative code equal to the diag's, with a message
 *    that starts "mrx.yaml:" (the file:line of the contract);
 *  - a configuration that loads is accepted by conf_node_write() (the same
 *    checks), and write then load is a round trip: the configuration read
 *    back equals the first one in every field compared below, and writing
 *    it again gives the same text (a fixed point, whatever fields exist).
 * Inputs over FUZZ_CONF_MAX bytes are ignored.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzzkit.h"
#include "node_conf.h"

#define FUZZ_CONF_MAX 65536
#define TEXT_MAX (CONF_BYTES_MAX + 1)

static char dir[CONF_PATH_MAX / 2];
static char in_path[CONF_PATH_MAX], out_path[CONF_PATH_MAX],
    out2_path[CONF_PATH_MAX];

static void
cleanup(void)
{
	unlink(in_path);
	unlink(out_path);
	unlink(out2_path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/mrx-fuzz-conf-XXXXXX",
	    tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	FUZZ_CHECK(mkdtemp(dir) != NULL, "mkdtemp %s", dir);
	snprintf(in_path, sizeof(in_path), "%s/%s", dir, CONF_FILE);
	snprintf(out_path, sizeof(out_path), "%s/written.yaml", dir);
	snprintf(out2_path, sizeof(out2_path), "%s/written2.yaml", dir);
	atexit(cleanup);
	return 0;
}

static void
write_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n;

	FUZZ_CHECK(fd >= 0, "open %s", path);
	n = size > 0 ? write(fd, data, size) : 0;
	FUZZ_CHECK(n == (ssize_t)size, "write %s", path);
	FUZZ_CHECK(close(fd) == 0, "close %s", path);
}

/* The whole file into buf (TEXT_MAX bytes); its length. */
static size_t
read_file(const char *path, char *buf)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	FUZZ_CHECK(f != NULL, "fopen %s", path);
	n = fread(buf, 1, TEXT_MAX, f);
	fclose(f);
	FUZZ_CHECK(n < TEXT_MAX, "%s is over the configuration limit", path);
	return n;
}

#define SAME_STR(f) FUZZ_CHECK(strcmp(a->f, b->f) == 0, \
	"%s: '%s' read back as '%s'", #f, a->f, b->f)
#define SAME_NUM(f) FUZZ_CHECK(a->f == b->f, "%s: %lld read back as %lld", \
	#f, (long long)a->f, (long long)b->f)

static void
same_conf(const struct node_conf *a, const struct node_conf *b)
{
	size_t i;

	SAME_STR(data_dir);
	SAME_STR(id);
	SAME_NUM(role);
	SAME_STR(jurisdiction);
	SAME_STR(api_host);
	SAME_NUM(api_port);
	SAME_STR(token_path);
	SAME_NUM(body_max);
	SAME_NUM(conns_max);
	SAME_STR(signing_key);
	SAME_NUM(nroots);
	for (i = 0; i < a->nroots; i++) {
		SAME_STR(roots[i].id);
		SAME_STR(roots[i].key_path);
	}
	SAME_NUM(nchain);
	for (i = 0; i < a->nchain; i++)
		SAME_STR(chain[i]);
	SAME_NUM(clock_skew_s);
	SAME_NUM(max_status_age_s);
	SAME_NUM(require_operator_cert);
	SAME_NUM(status_list_size);
	SAME_NUM(watches_max);
	SAME_NUM(log_level);
}

/*
 * Static, not malloc'd: a struct node_conf is some 300 KB, and ASan maps
 * and unmaps every allocation that large, which would halve the speed.
 */
static struct node_conf conf1, conf2;
static char text1[TEXT_MAX], text2[TEXT_MAX];

static void
check_round_trip(const struct node_conf *c)
{
	struct mrx_diag d;
	size_t n1, n2;
	int rc;

	mrx_diag_clear(&d);
	rc = conf_node_write(c, out_path, &d);
	FUZZ_CHECK(rc == 0, "loaded, but conf_node_write refuses it: %s: %s",
	    d.field, d.msg);
	rc = conf_node_load(dir, out_path, &conf2, &d);
	FUZZ_CHECK(rc == 0, "written, but does not load again: %s", d.msg);
	same_conf(c, &conf2);
	rc = conf_node_write(&conf2, out2_path, &d);
	FUZZ_CHECK(rc == 0, "the second write: %s", d.msg);
	n1 = read_file(out_path, text1);
	n2 = read_file(out2_path, text2);
	FUZZ_CHECK(n1 == n2 && memcmp(text1, text2, n1) == 0,
	    "write(load(write(c))) differs from write(c)");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mrx_diag d;
	int rc;

	if (size > FUZZ_CONF_MAX)
		return 0;
	write_file(in_path, data, size);
	mrx_diag_clear(&d);
	rc = conf_node_load(dir, NULL, &conf1, &d);
	if (rc != 0) {
		fuzz_check_named_error(rc, &d, CONF_FILE);
	} else {
		check_round_trip(&conf1);
	}
	return 0;
}
