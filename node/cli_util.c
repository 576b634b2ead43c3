/*
 * cli_util.c - shared helpers of the mrx command-line tool (see cli_util.h).
 *
 * Output files are written atomically (temporary file, fsync, rename) so an
 * interrupted command never leaves a half-written record where a complete
 * one is expected, and existing files are never overwritten by accident.
 */
#include "cli_util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "value.h"

const char *cli_cmd = "mrx";

void
cli_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_err_diag(int rc_exit, const char *what, const struct mrx_diag *d)
{
	char buf[400];

	cli_err("%s: %s", what, mrx_diag_str(d, buf, sizeof(buf)));
	return rc_exit;
}

int
cli_read_file(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	FILE *f;
	uint8_t *b;
	size_t n = 0, r;
	bool is_stdin = strcmp(path, "-") == 0;

	*buf = NULL;
	*len = 0;
	f = is_stdin ? stdin : fopen(path, "rb");
	if (f == NULL) {
		cli_err("cannot open %s: %s", path, strerror(errno));
		return CLI_USAGE;
	}
	b = malloc(max + 1);
	if (b == NULL) {
		cli_err("out of memory reading %s", path);
		if (!is_stdin)
			fclose(f);
		return CLI_USAGE;
	}
	while ((r = fread(b + n, 1, max + 1 - n, f)) > 0) {
		n += r;
		if (n > max)
			break;
	}
	if (ferror(f)) {
		cli_err("cannot read %s: %s", path, strerror(errno));
		free(b);
		if (!is_stdin)
			fclose(f);
		return CLI_USAGE;
	}
	if (!is_stdin)
		fclose(f);
	if (n > max) {
		cli_err("%s is larger than the %zu-byte limit", path, max);
		free(b);
		return CLI_REJECT;
	}
	*buf = b;
	*len = n;
	return 0;
}

static int
hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

void
cli_maybe_unhex(uint8_t *buf, size_t *len)
{
	size_t i, nd = 0, o = 0;
	int hi = -1, v;

	for (i = 0; i < *len; i++) {
		if (isspace(buf[i]))
			continue;
		if (hexv(buf[i]) < 0)
			return;
		nd++;
	}
	if (nd == 0 || nd % 2 != 0)
		return;
	for (i = 0; i < *len; i++) {
		if (isspace(buf[i]))
			continue;
		v = hexv(buf[i]);
		if (hi < 0) {
			hi = v;
		} else {
			buf[o++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	*len = o;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
cli_write_file(const char *path, const uint8_t *buf, size_t len, bool force)
{
	char tmp[4096], dirbuf[4096];
	struct stat st;
	int fd, dfd;

	if (strcmp(path, "-") == 0) {
		if (write_all(STDOUT_FILENO, buf, len) != 0) {
			cli_err("cannot write to standard output: %s",
			    strerror(errno));
			return CLI_USAGE;
		}
		return 0;
	}
	if (!force && stat(path, &st) == 0) {
		cli_err("%s already exists; refusing to overwrite it (use "
		    "--force)", path);
		return CLI_USAGE;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		cli_err("path too long: %s", path);
		return CLI_USAGE;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		cli_err("cannot create %s: %s", path, strerror(errno));
		return CLI_USAGE;
	}
	if (write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
		cli_err("cannot write %s: %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		return CLI_USAGE;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		cli_err("cannot rename into %s: %s", path, strerror(errno));
		unlink(tmp);
		return CLI_USAGE;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

int
cli_load_key(const char *path, bool need_private, struct cry_key **key)
{
	struct mrx_diag d;
	char buf[400];
	int rc;

	mrx_diag_clear(&d);
	rc = cry_key_load(path, key, &d);
	if (rc != 0) {
		cli_err("%s", mrx_diag_str(&d, buf, sizeof(buf)));
		return CLI_USAGE;
	}
	if (need_private && !cry_key_has_private(*key)) {
		cli_err("%s is a public key; signing needs the private key "
		    "(the .key file)", path);
		cry_key_free(*key);
		*key = NULL;
		return CLI_USAGE;
	}
	return 0;
}

int64_t
cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

char *
cli_hex(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

char *
cli_b64url(const uint8_t *p, size_t n, char *out)
{
	static const char al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = al[v >> 18 & 63];
		out[o++] = al[v >> 12 & 63];
		out[o++] = al[v >> 6 & 63];
		out[o++] = al[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		out[o++] = al[v >> 18 & 63];
		out[o++] = al[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = al[v >> 18 & 63];
		out[o++] = al[v >> 12 & 63];
		out[o++] = al[v >> 6 & 63];
	}
	out[o] = '\0';
	return out;
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-' || c == '+')
		return 62;
	if (c == '_' || c == '/')
		return 63;
	return -1;
}

int
cli_b64url_decode(const char *s, size_t n, uint8_t **out, size_t *len)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0, v;
	uint8_t *b;

	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	b = malloc(n * 3 / 4 + 3);
	if (b == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		v = b64val((unsigned char)s[i]);
		if (v < 0) {
			free(b);
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			b[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
		free(b);
		return -1; /* non-canonical trailing bits */
	}
	*out = b;
	*len = o;
	return 0;
}

void
cli_json_print(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s != NULL) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
	json_decref(j);
}

int
cli_time_opt(const char *opt, const char *s, int64_t *out)
{
	struct mrx_diag d;
	char buf[400];

	mrx_diag_clear(&d);
	if (conf_time_parse(s, out, &d) != 0) {
		cli_err("%s: %s", opt, mrx_diag_str(&d, buf, sizeof(buf)));
		return CLI_USAGE;
	}
	return 0;
}

int
cli_seconds_opt(const char *opt, const char *s, int64_t *out)
{
	struct mrx_diag d;
	char buf[400];

	mrx_diag_clear(&d);
	if (conf_duration_seconds(s, out, &d) != 0) {
		cli_err("%s: %s", opt, mrx_diag_str(&d, buf, sizeof(buf)));
		return CLI_USAGE;
	}
	return 0;
}

int
cli_list_add(const char **list, size_t *n, const char *opt, const char *s)
{
	if (*n == CLI_LIST_MAX) {
		cli_err("%s given more than %d times", opt, CLI_LIST_MAX);
		return CLI_USAGE;
	}
	list[(*n)++] = s;
	return 0;
}
