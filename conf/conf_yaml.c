/*
 * conf_yaml.c - strict YAML reading for conf/ (see conf_yaml.h): the file read whole
 * under a size cap, parsed with libfyaml into exactly one document, every
 * mapping walked against a table of the keys it may hold, and typed getters
 * for the values.
 *
 * Invariants. Every error names FILE:LINE: KEY and what was expected, and
 * the first one stops the reading: the caller's handlers write only into
 * the caller's scratch state, which the caller copies out on success.
 * Nothing is accepted by default: an unknown key, a key twice, a missing
 * required key, a value of the wrong shape, an alias (*name) or a tag
 * (!name) is an error. Anchors are allowed, since they change nothing that
 * is read. Duplicate keys are let through libfyaml and found by the walk,
 * which can name the key and the line of its first occurrence. libfyaml's
 * own messages are collected into a silent diag, never printed: a syntax
 * error comes back as ours, with libfyaml's line and column. NUL bytes are
 * refused before parsing, since they would cut the text short without
 * libfyaml noticing; so are bytes that are not UTF-8, since libfyaml 0.7
 * loops forever on some of them (a directive such as "%\xff").
 *
 * Lines: libfyaml 0.7 gives marks only for tokens, so a node's line is the
 * line of its first scalar, found by descending to it.
 */
#include "conf_yaml.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libfyaml.h>

#define ALLOWED_MAX 256	/* the "a, b, c" list of a key table's keys */

void
conf_yaml_init(struct conf_yaml *y, const char *name, struct mrx_diag *diag,
    void *user, unsigned flags)
{
	y->name = name;
	y->diag = diag;
	y->user = user;
	y->flags = flags;
	y->text = NULL;
	y->text_len = 0;
}

/* ---- messages and nodes ---- */

int
conf_yaml_err(struct conf_yaml *y, int code, int line, const char *key,
    const char *fmt, ...)
{
	char what[sizeof(y->diag->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (key[0] == '\0')
		return mrx_diag_set(y->diag, code, MRX_DIAG_NO_OFFSET, "",
		    "%s:%d: %s", y->name, line, what);
	return mrx_diag_set(y->diag, code, MRX_DIAG_NO_OFFSET, key,
	    "%s:%d: %s: %s", y->name, line, key, what);
}

int
conf_yaml_line(struct fy_node *n, int dflt)
{
	struct fy_node_pair *p;
	struct fy_token *t;
	void *it = NULL;

	if (n == NULL)
		return dflt;
	switch (fy_node_get_type(n)) {
	case FYNT_SCALAR:
		t = fy_node_get_scalar_token(n);
		return t != NULL ? fy_token_start_mark(t)->line + 1 : dflt;
	case FYNT_MAPPING:
		p = fy_node_mapping_iterate(n, &it);
		return p != NULL ? conf_yaml_line(fy_node_pair_key(p), dflt) :
		    dflt;
	case FYNT_SEQUENCE:
		return conf_yaml_line(fy_node_sequence_iterate(n, &it), dflt);
	}
	return dflt;
}

/* An absent value, an empty one, or a plain ~ / null. */
static bool
node_is_null(struct fy_node *n)
{
	const char *s;
	size_t len;

	if (n == NULL)
		return true;
	if (!fy_node_is_scalar(n) || fy_node_get_style(n) != FYNS_PLAIN)
		return false;
	s = fy_node_get_scalar(n, &len);
	if (s == NULL || len == 0)
		return true;
	return (len == 1 && s[0] == '~') || (len == 4 &&
	    (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 ||
	    memcmp(s, "NULL", 4) == 0));
}

static const char *
shape_name(struct fy_node *n)
{
	if (fy_node_is_mapping(n))
		return "a mapping";
	return fy_node_is_sequence(n) ? "a list" : "a value";
}

/* ---- values ---- */

#define SQ_MULTILINE (-1)	/* scalar_text: see there */
#define SQ_TOO_LONG (-2)

/*
 * The text of scalar n, *len bytes: libfyaml's, or, for a single-quoted
 * scalar on one line with '' in it, unescaped here from the input into
 * tmp (tcap bytes). libfyaml 0.7.12 (Debian 12) leaks its chunk buffer
 * when it unescapes some runs of '' (fy_atom_format_text returns without
 * fy_atom_iter_finish; found by fuzz_node_conf), so it is not asked to.
 * NULL with *why = SQ_MULTILINE for such a scalar over several lines (its
 * line folding is not redone here), SQ_TOO_LONG when it does not fit, 0
 * when libfyaml could not give the text.
 */
static const char *
scalar_text(const struct conf_yaml *y, struct fy_node *n, char *tmp,
    size_t tcap, size_t *len, int *why)
{
	struct fy_token *t = fy_node_get_scalar_token(n);
	const struct fy_mark *a, *b;
	const char *s;
	size_t i, o = 0, sl;
	bool escaped = false;

	*why = 0;
	if (t == NULL || y->text == NULL ||
	    fy_node_get_style(n) != FYNS_SINGLE_QUOTED)
		return fy_node_get_scalar(n, len);
	a = fy_token_start_mark(t);
	b = fy_token_end_mark(t);
	if (a == NULL || b == NULL || a->input_pos > b->input_pos ||
	    b->input_pos > y->text_len)
		return fy_node_get_scalar(n, len);
	s = y->text + a->input_pos;
	sl = b->input_pos - a->input_pos;
	for (i = 0; i + 1 < sl && !escaped; i++)
		escaped = s[i] == '\'' && s[i + 1] == '\'';
	if (!escaped)
		return fy_node_get_scalar(n, len);
	if (memchr(s, '\n', sl) != NULL || memchr(s, '\r', sl) != NULL) {
		*why = SQ_MULTILINE;
		return NULL;
	}
	for (i = 0; i < sl; i++) {
		if (o == tcap) {
			*why = SQ_TOO_LONG;
			return NULL;
		}
		tmp[o++] = s[i];
		if (s[i] == '\'' && i + 1 < sl && s[i + 1] == '\'')
			i++;
	}
	*len = o;
	return tmp;
}

int
conf_yaml_scalar(struct conf_yaml *y, const struct conf_yaml_item *it,
    const char *expect, char *buf, size_t cap)
{
	struct fy_node *v = it->val;
	int line = conf_yaml_line(v, it->line), why;
	const char *s;
	size_t len;

	if (node_is_null(v))
		return conf_yaml_err(y, MRX_EMISSING, line, it->key,
		    "no value (expected %s)", expect);
	if (!fy_node_is_scalar(v))
		return conf_yaml_err(y, MRX_ETYPE, line, it->key,
		    "expected %s, not %s", expect, shape_name(v));
	if (fy_node_is_alias(v))
		return conf_yaml_err(y, MRX_EINVAL, line, it->key,
		    "aliases (*name) are not supported; write the value (%s)",
		    expect);
	if (fy_node_get_tag(v, &len) != NULL)
		return conf_yaml_err(y, MRX_EINVAL, line, it->key,
		    "tags (!name) are not supported; write the value (%s)",
		    expect);
	s = scalar_text(y, v, buf, cap, &len, &why);
	if (why == SQ_MULTILINE)
		return conf_yaml_err(y, MRX_EINVAL, line, it->key, "a "
		    "single-quoted value with '' in it must be on one line; "
		    "write it on one line or double-quoted (expected %s)",
		    expect);
	if (why == SQ_TOO_LONG || (s != NULL && len >= cap)) {
		/* neither text is NUL-terminated: print at most its length */
		size_t shown = why == SQ_TOO_LONG ? cap : len;

		return conf_yaml_err(y, MRX_ETOOBIG, line, it->key,
		    "'%.*s...' is longer than %zu characters (expected %s)",
		    (int)(shown < 32 ? shown : 32), s != NULL ? s : buf,
		    cap - 1, expect);
	}
	if (s == NULL || memchr(s, '\0', len) != NULL)
		return conf_yaml_err(y, MRX_EINVAL, line, it->key,
		    "the value holds a NUL character (expected %s)", expect);
	if (s != buf)
		memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

int
conf_yaml_bool(struct conf_yaml *y, const struct conf_yaml_item *it,
    bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };
	char s[CONF_YAML_VALUE_MAX];
	size_t i;
	int rc;

	rc = conf_yaml_scalar(y, it, "true or false", s, sizeof(s));
	if (rc != 0)
		return rc;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
			*out = strcmp(s, yes[i]) == 0;
			return 0;
		}
	return conf_yaml_err(y, MRX_EINVAL, conf_yaml_line(it->val, it->line),
	    it->key, "'%.40s' is not a boolean (expected true or false)", s);
}

int
conf_yaml_uint(struct conf_yaml *y, const struct conf_yaml_item *it,
    uint64_t lo, uint64_t hi, uint64_t *out)
{
	char s[CONF_YAML_VALUE_MAX], expect[96];
	int line = conf_yaml_line(it->val, it->line);
	uint64_t v = 0;
	size_t i;
	int rc;

	snprintf(expect, sizeof(expect), "a whole number from %llu to %llu",
	    (unsigned long long)lo, (unsigned long long)hi);
	rc = conf_yaml_scalar(y, it, expect, s, sizeof(s));
	if (rc != 0)
		return rc;
	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return conf_yaml_err(y, MRX_ERANGE, line, it->key,
			    "%.40s is out of range (expected %s)", s, expect);
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0 || s[i] != '\0')
		return conf_yaml_err(y, MRX_EINVAL, line, it->key,
		    "'%.40s' is not a whole number (expected %s)", s, expect);
	if (v < lo || v > hi)
		return conf_yaml_err(y, MRX_ERANGE, line, it->key,
		    "%.40s is out of range (expected %s)", s, expect);
	*out = v;
	return 0;
}

int
conf_yaml_list(struct conf_yaml *y, const struct conf_yaml_item *it,
    size_t max, enum conf_yaml_null null, const char *what,
    struct fy_node **seq, size_t *count)
{
	struct fy_node *v = it->val, *e;
	void *iter = NULL;
	size_t n = 0;

	*seq = NULL;
	*count = 0;
	if (node_is_null(v))
		return null == CONF_YAML_NULL_EMPTY ? 0 : conf_yaml_err(y,
		    MRX_EMISSING, it->line, it->key,
		    "no value (expected a list of %s)", what);
	/* an alias is a scalar to libfyaml, so this refuses aliases too */
	if (!fy_node_is_sequence(v))
		return conf_yaml_err(y, MRX_ETYPE, conf_yaml_line(v, it->line),
		    it->key, "expected a list of %s, not %s", what,
		    shape_name(v));
	while ((e = fy_node_sequence_iterate(v, &iter)) != NULL)
		if (++n > max)
			return conf_yaml_err(y, MRX_ETOOBIG,
			    conf_yaml_line(e, it->line), it->key,
			    "more than %zu %s", max, what);
	*seq = v;
	*count = n;
	return 0;
}

/* ---- mappings ---- */

static void
allowed_list(const struct conf_yaml_key *keys, size_t n, char *buf,
    size_t cap)
{
	size_t i, len = 0;
	int w;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		w = snprintf(buf + len, cap - len, "%s%s", i > 0 ? ", " : "",
		    keys[i].name);
		if (w < 0 || (size_t)w >= cap - len)
			return;
		len += (size_t)w;
	}
}

int
conf_yaml_key_join(const char *prefix, const char *name, char *out,
    size_t cap)
{
	int n = prefix[0] == '\0' ? snprintf(out, cap, "%s", name) :
	    snprintf(out, cap, "%s.%s", prefix, name);

	return n < 0 || (size_t)n >= cap ? MRX_ETOOBIG : 0;
}

/*
 * The path of key `name` in the mapping at `prefix` into `out`
 * (CONF_YAML_KEY_MAX bytes); when it does not fit, the path cut short or
 * the mapping's own path, as y->flags say.
 */
static void
key_path(const struct conf_yaml *y, const char *prefix, const char *name,
    char *out)
{
	if (conf_yaml_key_join(prefix, name, out, CONF_YAML_KEY_MAX) != 0 &&
	    (y->flags & CONF_YAML_CUT_KEYS) == 0)
		snprintf(out, CONF_YAML_KEY_MAX, "%s", prefix);
}

/* The key of a pair as a plain name; its line in *line. */
static int
key_name(struct conf_yaml *y, struct fy_node *k, const char *prefix,
    int dflt, char *buf, size_t cap, int *line)
{
	const char *s;
	size_t len;
	int why;

	*line = conf_yaml_line(k, dflt);
	if (k == NULL || !fy_node_is_scalar(k) || fy_node_is_alias(k))
		return conf_yaml_err(y, MRX_ETYPE, *line, prefix,
		    "a key must be a plain name");
	s = scalar_text(y, k, buf, cap, &len, &why);
	if (s == NULL || len == 0 || len >= cap || memchr(s, '\0', len))
		return conf_yaml_err(y, MRX_EINVAL, *line, prefix,
		    "a key must be a plain name of at most %zu characters",
		    cap - 1);
	if (s != buf)
		memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

/* Looks up one pair's key in `keys` and runs its handler. */
static int
walk_pair(struct conf_yaml *y, struct fy_node_pair *p, const char *prefix,
    int map_line, const struct conf_yaml_key *keys, size_t n,
    int *seen_line)
{
	char name[CONF_YAML_KEY_MAX], path[CONF_YAML_KEY_MAX];
	char allowed[ALLOWED_MAX];
	struct conf_yaml_item it;
	size_t i;
	int rc, line;

	rc = key_name(y, fy_node_pair_key(p), prefix, map_line, name,
	    sizeof(name), &line);
	if (rc != 0)
		return rc;
	key_path(y, prefix, name, path);
	for (i = 0; i < n && strcmp(keys[i].name, name) != 0; i++)
		continue;
	if (i == n) {
		allowed_list(keys, n, allowed, sizeof(allowed));
		return conf_yaml_err(y, MRX_EINVAL, line, path,
		    "unknown key (allowed: %s)", allowed);
	}
	if (seen_line[i] != 0)
		return conf_yaml_err(y, MRX_EDUP, line, path,
		    "duplicate key (first given at line %d)", seen_line[i]);
	seen_line[i] = line;
	it.val = fy_node_pair_value(p);
	it.key = path;
	it.line = line;
	return keys[i].fn(y, &it);
}

int
conf_yaml_walk(struct conf_yaml *y, struct fy_node *map, const char *prefix,
    int line, const struct conf_yaml_key *keys, size_t n)
{
	int seen_line[CONF_YAML_KEYS_MAX] = { 0 };
	char allowed[ALLOWED_MAX], path[CONF_YAML_KEY_MAX];
	struct fy_node_pair *p;
	void *iter = NULL;
	size_t i;
	int rc;

	assert(n <= CONF_YAML_KEYS_MAX);
	if (node_is_null(map)) {
		map = NULL;
	} else if (!fy_node_is_mapping(map)) {
		/* an alias is a scalar to libfyaml: refused here too */
		allowed_list(keys, n, allowed, sizeof(allowed));
		return conf_yaml_err(y, MRX_ETYPE, conf_yaml_line(map, line),
		    prefix, "expected a mapping of keys (%s), not %s", allowed,
		    shape_name(map));
	}
	while (map != NULL &&
	    (p = fy_node_mapping_iterate(map, &iter)) != NULL) {
		rc = walk_pair(y, p, prefix, line, keys, n, seen_line);
		if (rc != 0)
			return rc;
	}
	for (i = 0; i < n; i++) {
		if (keys[i].required == NULL || seen_line[i] != 0)
			continue;
		key_path(y, prefix, keys[i].name, path);
		return conf_yaml_err(y, MRX_EMISSING, line, path,
		    "missing (required: %s)", keys[i].required);
	}
	return 0;
}

/* ---- the file and the document ---- */

int
conf_yaml_read(const char *path, size_t bytes_max, const char *what,
    const char *enoent_hint, char **buf, size_t *len, struct mrx_diag *diag)
{
	const char *hint;
	struct stat st;
	ssize_t r;
	size_t n = 0;
	char *b;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		hint = e == ENOENT ? enoent_hint : NULL;
		return mrx_diag_set(diag, e == ENOENT ? MRX_ENOENT : MRX_EIO,
		    MRX_DIAG_NO_OFFSET, "", "%s: cannot open: %s%s%s%s", path,
		    strerror(e), hint != NULL ? " (" : "",
		    hint != NULL ? hint : "", hint != NULL ? ")" : "");
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET, "",
		    "%s: not a regular file", path);
	}
	b = malloc(bytes_max + 1);
	if (b == NULL) {
		close(fd);
		return mrx_diag_set(diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET, "",
		    "%s: no memory to read it", path);
	}
	while (n <= bytes_max &&
	    (r = read(fd, b + n, bytes_max + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			close(fd);
			free(b);
			return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET,
			    "", "%s: cannot read: %s", path, strerror(e));
		}
		n += (size_t)r;
	}
	close(fd);
	if (n > bytes_max) {
		free(b);
		return mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET, "",
		    "%s: larger than the %zu-byte limit of %s", path, bytes_max,
		    what);
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

static void
fy_sink(struct fy_diag *d, void *user, const char *buf, size_t len)
{
	(void)d;
	(void)user;
	(void)buf;
	(void)len;
}

/* libfyaml's first collected error, as ours. */
static int
syntax_error(struct conf_yaml *y, struct fy_diag *fd)
{
	struct fy_diag_error *e;
	void *iter = NULL;

	while ((e = fy_diag_errors_iterate(fd, &iter)) != NULL)
		if (e->type == FYET_ERROR)
			return conf_yaml_err(y, MRX_EMALFORMED,
			    e->line > 0 ? e->line : 1, "",
			    "YAML syntax error: %s (column %d)",
			    e->msg != NULL ? e->msg : "unknown", e->column);
	return conf_yaml_err(y, MRX_EMALFORMED, 1, "", "not valid YAML");
}

/* A NUL byte in `text` is an error at its line. */
static int
check_nul(struct conf_yaml *y, const char *text, size_t len)
{
	const char *z = len > 0 ? memchr(text, '\0', len) : NULL;
	const char *p;
	int line = 1;

	if (z == NULL)
		return 0;
	for (p = text; p < z; p++)
		line += *p == '\n';
	return conf_yaml_err(y, MRX_EMALFORMED, line, "", "the file holds a "
	    "NUL byte (expected YAML text)");
}

/*
 * Bytes that are not UTF-8 (RFC 3629: no overlong form, surrogate or code
 * point above U+10FFFF) are an error at their line.
 */
static int
check_utf8(struct conf_yaml *y, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, k, n;
	unsigned long cp, min;
	int line = 1;

	while (i < len) {
		if (s[i] < 0x80) {
			line += s[i++] == '\n';
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			n = 1, cp = s[i] & 0x1fu, min = 0x80;
		else if ((s[i] & 0xf0) == 0xe0)
			n = 2, cp = s[i] & 0x0fu, min = 0x800;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			n = 3, cp = s[i] & 0x07u, min = 0x10000;
		else
			break;
		if (len - i - 1 < n)
			break;
		for (k = 1; k <= n && (s[i + k] & 0xc0) == 0x80; k++)
			cp = cp << 6 | (s[i + k] & 0x3fu);
		if (k <= n || cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			break;
		i += n + 1;
	}
	if (i == len)
		return 0;
	return conf_yaml_err(y, MRX_EMALFORMED, line, "", "the file holds "
	    "byte 0x%02x, which is not UTF-8 here (expected YAML text in "
	    "UTF-8)", s[i]);
}

/* A parser whose messages are collected in `fd`, never printed. */
static struct fy_parser *
parser_new(struct fy_diag **fd)
{
	struct fy_parse_cfg pcfg;
	struct fy_diag_cfg dcfg;
	struct fy_parser *fyp;

	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = fy_sink;
	dcfg.level = FYET_ERROR;
	dcfg.colorize = false;
	*fd = fy_diag_create(&dcfg);
	if (*fd == NULL)
		return NULL;
	fy_diag_set_collect_errors(*fd, true);
	memset(&pcfg, 0, sizeof(pcfg));
	/* duplicates are found by the walk, which can name the key */
	pcfg.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG |
	    FYPCF_ALLOW_DUPLICATE_KEYS;
	pcfg.diag = *fd;
	fyp = fy_parser_create(&pcfg);
	if (fyp == NULL) {
		fy_diag_destroy(*fd);
		*fd = NULL;
	}
	return fyp;
}

int
conf_yaml_parse(struct conf_yaml *y, const char *text, size_t len,
    const struct conf_yaml_key *keys, size_t n)
{
	struct fy_document *doc = NULL, *extra = NULL;
	struct fy_parser *fyp;
	struct fy_node *root;
	struct fy_diag *fd;
	int rc;

	rc = check_nul(y, text, len);
	if (rc == 0)
		rc = check_utf8(y, text, len);
	if (rc != 0)
		return rc;
	y->text = text;
	y->text_len = len;
	fyp = parser_new(&fd);
	if (fyp == NULL)
		return MRX_ENOMEM;
	if (fy_parser_set_string(fyp, len > 0 ? text : "", len) != 0) {
		rc = MRX_ENOMEM;
		goto out;
	}
	doc = fy_parse_load_document(fyp);
	if (doc != NULL && !fy_parser_get_stream_error(fyp))
		extra = fy_parse_load_document(fyp);
	root = doc != NULL ? fy_document_root(doc) : NULL;
	if (fy_parser_get_stream_error(fyp))
		rc = syntax_error(y, fd);
	else if (extra != NULL)
		rc = conf_yaml_err(y, MRX_EINVAL,
		    conf_yaml_line(fy_document_root(extra), 1), "",
		    "a second YAML document (expected one; remove '---')");
	else
		rc = conf_yaml_walk(y, root, "", conf_yaml_line(root, 1), keys,
		    n);
out:
	if (extra != NULL)
		fy_parse_document_destroy(fyp, extra);
	if (doc != NULL)
		fy_parse_document_destroy(fyp, doc);
	fy_parser_destroy(fyp);
	fy_diag_destroy(fd);
	return rc;
}
