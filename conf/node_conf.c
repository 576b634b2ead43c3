/*
 * node_conf.c - the node's configuration file, DATA_DIR/mrx.yaml: read with
 * libfyaml's document API into a struct node_conf, and written back with a
 * comment on every key (see node_conf.h and docs/config.md).
 *
 * Reading is strict, by the rules of conf/yaml.c: the file is read whole
 * (at most CONF_BYTES_MAX bytes) and parsed as exactly one YAML document
 * whose root is a mapping; every mapping is walked against a table of the
 * keys it may hold, and an unknown key, a key given twice, a missing
 * required key, a value of the wrong shape or out of its range is an error
 * that names FILE:LINE: KEY and what was expected. Nothing reaches the
 * caller's struct unless the whole file reads: the handlers fill a scratch
 * copy. A list key given without a value is an empty list, and an unknown
 * key whose path is too long for a message is named by its mapping.
 *
 * Writing validates the struct with the same rules, then writes the file
 * atomically. Paths under the data directory are written relative to it,
 * so a data directory can be moved as a whole, and loading the written file
 * from the same directory gives back an identical struct.
 */
#include "node_conf.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libfyaml.h>

#include "value.h"
#include "conf_yaml.h"

#define DURATION_EXAMPLES "e.g. 300s, 5m, 1d"

/* The state of one load, the handlers' y->user. */
struct ctx {
	struct node_conf *c;	/* being filled (not the caller's) */
	struct conf_root *root;	/* the trust.roots entry being read */
	struct conf_peer *peer;	/* the federation.peers entry being read */
	struct conf_blind *blind; /* the federation.blinding entry */
};

static const char *const log_names[] = { "error", "warn", "info", "debug" };

void
conf_node_defaults(struct node_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->role = ENG_ROLE_OPERATOR;
	snprintf(c->api_host, sizeof(c->api_host), "%s", CONF_API_HOST_DEFAULT);
	c->api_port = CONF_API_PORT_DEFAULT;
	snprintf(c->token_path, sizeof(c->token_path), "admin.token");
	c->body_max = CONF_BODY_DEFAULT;
	c->conns_max = CONF_CONNS_DEFAULT;
	snprintf(c->signing_key, sizeof(c->signing_key), "keys/sign.key");
	c->clock_skew_s = CONF_CLOCK_SKEW_DEFAULT_S;
	c->max_status_age_s = CONF_STATUS_AGE_DEFAULT_S;
	c->require_operator_cert = false;
	c->status_list_size = PROTO_STATUS_ENTRIES_DEFAULT;
	c->watches_max = ENG_WATCHES_DEFAULT;
	c->log_level = CONF_LOG_INFO;
	c->fed.checkpoint_interval_s = ENG_CHECKPOINT_INTERVAL_DEFAULT_S;
	snprintf(c->fed.tls_ca, sizeof(c->fed.tls_ca), "tls/ca.pem");
	snprintf(c->fed.tls_cert, sizeof(c->fed.tls_cert), "tls/node.pem");
	snprintf(c->fed.tls_key, sizeof(c->fed.tls_key), "tls/node.key");
}

/* ---- transport URLs ---- */

bool
conf_url_tls(const char *url)
{
	return strncmp(url, "tls+tcp://", 10) == 0;
}

/* Is the host of a tcp URL (between :// and the port) loopback? */
static bool
host_loopback(const char *h, size_t n)
{
	return (n == 9 && strncmp(h, "localhost", 9) == 0) ||
	    (n == 5 && strncmp(h, "[::1]", 5) == 0) ||
	    (n >= 4 && strncmp(h, "127.", 4) == 0);
}

int
conf_url_check(const char *url, bool listener, bool plaintext_ok,
    const char **why)
{
	const char *rest, *colon;
	char *end;
	unsigned long port;
	size_t i;

	*why = "";
	if (strlen(url) >= CONF_URL_MAX) {
		*why = "longer than 255 characters";
		return MRX_EINVAL;
	}
	for (i = 0; url[i] != '\0'; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f) {
			*why = "a space or control character";
			return MRX_EINVAL;
		}
	if (strncmp(url, "ipc:///", 7) == 0 && url[7] != '\0')
		return 0;
	if (strncmp(url, "inproc://", 9) == 0 && url[9] != '\0')
		return 0;
	if (conf_url_tls(url))
		rest = url + 10;
	else if (strncmp(url, "tcp://", 6) == 0)
		rest = url + 6;
	else {
		*why = "not tls+tcp://HOST:PORT, tcp://HOST:PORT or "
		    "ipc:///PATH";
		return MRX_EINVAL;
	}
	colon = strrchr(rest, ':');
	if (colon == NULL || colon == rest) {
		*why = "no HOST:PORT";
		return MRX_EINVAL;
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 ||
	    port > 65535 || (port == 0 && !listener)) {
		*why = "the port is not a number from 1 to 65535";
		return MRX_EINVAL;
	}
	if (listener && !conf_url_tls(url) && !plaintext_ok &&
	    !host_loopback(rest, (size_t)(colon - rest))) {
		*why = "a listener off loopback without TLS (use tls+tcp://, "
		    "or set federation.allow_plaintext: true)";
		return MRX_EINVAL;
	}
	return 0;
}

/* ---- small value checks, shared by load and write ---- */

static bool
jurisdiction_valid(const char *s)
{
	return strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' &&
	    s[1] <= 'Z';
}

static bool
host_char(char ch, bool v6)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '.')
		return true;
	return v6 ? ch == ':' : ch == '-';
}

static bool
host_valid(const char *h, bool v6)
{
	if (*h == '\0')
		return false;
	for (; *h != '\0'; h++)
		if (!host_char(*h, v6))
			return false;
	return true;
}

/* Splits "HOST:PORT" / "[V6]:PORT"; *why says what is wrong on error. */
static int
listen_split(const char *s, char *host, size_t cap, int *port,
    const char **why)
{
	const char *colon, *h = s, *p;
	size_t hlen, ndigits;
	long v = 0;
	bool v6 = s[0] == '[';

	colon = v6 ? strstr(s, "]:") : strrchr(s, ':');
	if (colon == NULL) {
		*why = "no port";
		return MRX_EINVAL;
	}
	if (v6) {
		h = s + 1;
		colon++;
	}
	hlen = (size_t)(colon - h) - (v6 ? 1 : 0);
	if (hlen == 0 || hlen >= cap) {
		*why = hlen == 0 ? "no host" : "the host is too long";
		return MRX_EINVAL;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (!host_valid(host, v6)) {
		*why = v6 ? "not an IPv6 address" : "a host has only letters, "
		    "digits, '.', '-' (IPv6: [::1]:PORT)";
		return MRX_EINVAL;
	}
	for (p = colon + 1; *p >= '0' && *p <= '9'; p++)
		if (p - colon <= 5)
			v = v * 10 + (*p - '0');
	ndigits = (size_t)(p - colon - 1);
	if (ndigits == 0 || *p != '\0') {
		*why = "the port is not a number";
		return MRX_EINVAL;
	}
	if (ndigits > 5 || v < 1 || v > 65535) {
		*why = "the port is out of range 1..65535";
		return MRX_ERANGE;
	}
	*port = (int)v;
	return 0;
}

int
conf_listen_parse(const char *s, char *host, size_t cap, int *port,
    struct mrx_diag *diag)
{
	const char *why = "";
	char h[64];
	int p, rc;

	rc = listen_split(s, h, sizeof(h) < cap ? sizeof(h) : cap, &p, &why);
	if (rc != 0)
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, "listen",
		    "'%.40s' is not a listen address: %s (expected HOST:PORT, "
		    "e.g. 127.0.0.1:7400)", s, why);
	snprintf(host, cap, "%s", h);
	*port = p;
	return 0;
}

/* Seconds as the shortest duration text conf_duration_seconds() reads. */
static const char *
duration_format(int64_t s, char *buf, size_t cap)
{
	static const int64_t unit_s[] = { 86400, 3600, 60, 1 };
	static const char unit[] = "dhms";
	size_t i, n = 0;
	int w;

	snprintf(buf, cap, "0s");
	if (s <= 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < sizeof(unit_s) / sizeof(unit_s[0]); i++) {
		if (s / unit_s[i] == 0)
			continue;
		w = snprintf(buf + n, cap - n, "%lld%c",
		    (long long)(s / unit_s[i]), unit[i]);
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
		s %= unit_s[i];
	}
	return buf;
}

/* ---- reading: values ---- */

static int
duration_value(struct conf_yaml *y, const struct conf_yaml_item *it,
    int64_t lo, int64_t hi, int64_t *out)
{
	char s[CONF_YAML_VALUE_MAX], lo_s[32], hi_s[32];
	int line = conf_yaml_line(it->val, it->line);
	int64_t v;
	int rc;

	rc = conf_yaml_scalar(y, it, "a duration, " DURATION_EXAMPLES, s,
	    sizeof(s));
	if (rc != 0)
		return rc;
	if (conf_duration_seconds(s, &v, NULL) != 0)
		return conf_yaml_err(y, MRX_EINVAL, line, it->key,
		    "'%.40s' is not a duration (expected "
		    DURATION_EXAMPLES ")", s);
	if (v < lo || v > hi)
		return conf_yaml_err(y, MRX_ERANGE, line, it->key,
		    "%.40s is out of range (expected %s to %s)", s,
		    duration_format(lo, lo_s, sizeof(lo_s)),
		    duration_format(hi, hi_s, sizeof(hi_s)));
	*out = v;
	return 0;
}

/*
 * Stores s in dst (cap bytes) with zeros after it, so that two loads of
 * one file give byte-identical structs whatever the field held before.
 */
static void
set_str(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(s);

	assert(n < cap);
	memset(dst, 0, cap);
	memcpy(dst, s, n);
}

/* dir + "/" + rel, or rel alone when it is absolute or dir is ".". */
static int
path_join(const char *dir, const char *rel, char *out, size_t cap)
{
	int n;

	if (rel[0] == '/' || strcmp(dir, ".") == 0)
		n = snprintf(out, cap, "%s", rel);
	else if (strcmp(dir, "/") == 0)
		n = snprintf(out, cap, "/%s", rel);
	else
		n = snprintf(out, cap, "%s/%s", dir, rel);
	return n < 0 || (size_t)n >= cap ? MRX_ETOOBIG : 0;
}

/* A file path, resolved against the data directory, into dst. */
static int
path_value(struct conf_yaml *y, const struct conf_yaml_item *it, char *dst)
{
	static const char expect[] = "a file path, absolute or relative to "
	    "the data directory";
	const struct ctx *x = y->user;
	char rel[CONF_PATH_MAX], res[CONF_PATH_MAX];
	int line = conf_yaml_line(it->val, it->line);
	int rc;

	rc = conf_yaml_scalar(y, it, expect, rel, sizeof(rel));
	if (rc != 0)
		return rc;
	if (rel[0] == '\0')
		return conf_yaml_err(y, MRX_EINVAL, line, it->key,
		    "empty path (expected %s)", expect);
	if (path_join(x->c->data_dir, rel, res, sizeof(res)) != 0)
		return conf_yaml_err(y, MRX_ETOOBIG, line, it->key,
		    "the path in the data directory is longer than %d "
		    "characters", CONF_PATH_MAX - 1);
	set_str(dst, CONF_PATH_MAX, res);
	return 0;
}

static int
id_value(struct conf_yaml *y, const struct conf_yaml_item *it,
    char dst[PROTO_ID_MAX + 1])
{
	char s[CONF_YAML_VALUE_MAX];
	int rc;

	rc = conf_yaml_scalar(y, it, "an id such as jp.meti", s, sizeof(s));
	if (rc != 0)
		return rc;
	if (!proto_id_valid(s))
		return conf_yaml_err(y, MRX_EINVAL,
		    conf_yaml_line(it->val, it->line), it->key,
		    "'%.40s' is not a valid id (expected 1 to %d "
		    "characters a-z, 0-9, '.' and '-', starting with a letter "
		    "or digit, e.g. jp.meti)", s, PROTO_ID_MAX);
	set_str(dst, PROTO_ID_MAX + 1, s);
	return 0;
}

/* ---- reading: the keys ---- */

static int
h_id(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return id_value(y, it, x->c->id);
}

static int
h_role(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;
	char s[CONF_YAML_VALUE_MAX];
	int rc;

	rc = conf_yaml_scalar(y, it, "root, issuer or operator", s, sizeof(s));
	if (rc != 0)
		return rc;
	if (eng_role_parse(s, &x->c->role) != 0)
		return conf_yaml_err(y, MRX_EINVAL,
		    conf_yaml_line(it->val, it->line), it->key,
		    "'%.40s' is not a role (expected root, issuer or "
		    "operator)", s);
	return 0;
}

static int
h_jurisdiction(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;
	char s[CONF_YAML_VALUE_MAX];
	int rc;

	rc = conf_yaml_scalar(y, it, "two upper-case letters, e.g. JP", s,
	    sizeof(s));
	if (rc != 0)
		return rc;
	if (!jurisdiction_valid(s))
		return conf_yaml_err(y, MRX_EINVAL,
		    conf_yaml_line(it->val, it->line), it->key,
		    "'%.40s' is not a jurisdiction (expected an ISO "
		    "3166 code of two upper-case letters, e.g. JP)", s);
	set_str(x->c->jurisdiction, sizeof(x->c->jurisdiction), s);
	return 0;
}

static int
h_listen(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;
	char s[CONF_YAML_VALUE_MAX], host[sizeof(x->c->api_host)];
	const char *why = "";
	int rc;

	rc = conf_yaml_scalar(y, it, "HOST:PORT, e.g. 127.0.0.1:7400", s,
	    sizeof(s));
	if (rc != 0)
		return rc;
	rc = listen_split(s, host, sizeof(host), &x->c->api_port, &why);
	if (rc != 0)
		return conf_yaml_err(y, rc, conf_yaml_line(it->val, it->line),
		    it->key, "'%.40s' is not a listen address: %s (expected "
		    "HOST:PORT, e.g. 127.0.0.1:7400)", s, why);
	set_str(x->c->api_host, sizeof(x->c->api_host), host);
	return 0;
}

static int
h_token_file(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return path_value(y, it, x->c->token_path);
}

static int
h_body_max(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;
	uint64_t v;
	int rc;

	rc = conf_yaml_uint(y, it, CONF_BODY_LO, CONF_BODY_HI, &v);
	if (rc == 0)
		x->c->body_max = (size_t)v;
	return rc;
}

static int
h_conns_max(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;
	uint64_t v;
	int rc;

	rc = conf_yaml_uint(y, it, CONF_CONNS_LO, CONF_CONNS_HI, &v);
	if (rc == 0)
		x->c->conns_max = (size_t)v;
	return rc;
}

static int
h_signing(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return path_value(y, it, x->c->signing_key);
}

static int
h_root_id(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return id_value(y, it, x->root->id);
}

static int
h_root_key(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return path_value(y, it, x->root->key_path);
}

static const struct conf_yaml_key root_keys[] = {
	{ "id", h_root_id, "the root authority's id" },
	{ "key", h_root_key, "the root's public key file (PEM)" },
};

/* Two roots with one id would make "which root signed this" ambiguous. */
static int
root_unique(struct conf_yaml *y, size_t i, int line, const char *key)
{
	const struct ctx *x = y->user;
	size_t j;

	for (j = 0; j < i; j++)
		if (strcmp(x->c->roots[j].id, x->c->roots[i].id) == 0)
			return conf_yaml_err(y, MRX_EDUP, line, key,
			    "root '%s' is listed twice (also trust.roots[%zu])",
			    x->c->roots[i].id, j);
	return 0;
}

static int
h_roots(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;
	struct fy_node *seq, *e;
	char key[CONF_YAML_KEY_MAX];
	void *iter = NULL;
	size_t n, i = 0;
	int rc, line;

	rc = conf_yaml_list(y, it, CONF_ROOTS_MAX, CONF_YAML_NULL_EMPTY,
	    "roots (id and key)", &seq, &n);
	if (rc != 0)
		return rc;
	x->c->nroots = 0;
	while (seq != NULL &&
	    (e = fy_node_sequence_iterate(seq, &iter)) != NULL) {
		snprintf(key, sizeof(key), "%s[%zu]", it->key, i);
		line = conf_yaml_line(e, it->line);
		x->root = &x->c->roots[i];
		rc = conf_yaml_walk(y, e, key, line, root_keys,
		    sizeof(root_keys) / sizeof(root_keys[0]));
		if (rc == 0)
			rc = root_unique(y, i, line, key);
		if (rc != 0)
			return rc;
		i++;
	}
	x->c->nroots = n;
	return 0;
}

static int
h_chain(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;
	struct fy_node *seq;
	char key[CONF_YAML_KEY_MAX];
	struct conf_yaml_item el;
	void *iter = NULL;
	size_t n, i = 0;
	int rc;

	rc = conf_yaml_list(y, it, CONF_CHAIN_MAX, CONF_YAML_NULL_EMPTY,
	    "record files", &seq, &n);
	if (rc != 0)
		return rc;
	while (seq != NULL &&
	    (el.val = fy_node_sequence_iterate(seq, &iter)) != NULL) {
		snprintf(key, sizeof(key), "%s[%zu]", it->key, i);
		el.key = key;
		el.line = conf_yaml_line(el.val, it->line);
		rc = path_value(y, &el, x->c->chain[i]);
		if (rc != 0)
			return rc;
		i++;
	}
	x->c->nchain = n;
	return 0;
}

static int
h_clock_skew(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return duration_value(y, it, 0, CONF_CLOCK_SKEW_HI_S,
	    &x->c->clock_skew_s);
}

static int
h_max_status_age(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return duration_value(y, it, CONF_STATUS_AGE_LO_S,
	    CONF_STATUS_AGE_HI_S, &x->c->max_status_age_s);
}

static int
h_require_op(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return conf_yaml_bool(y, it, &x->c->require_operator_cert);
}

static int
h_list_size(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;
	uint64_t v;
	int rc;

	rc = conf_yaml_uint(y, it, ENG_LIST_SIZE_MIN, PROTO_STATUS_ENTRIES_MAX,
	    &v);
	if (rc != 0)
		return rc;
	if (v % 8 != 0)
		return conf_yaml_err(y, MRX_ERANGE,
		    conf_yaml_line(it->val, it->line), it->key,
		    "%llu is not a multiple of 8 (a status list packs "
		    "four 2-bit entries per byte, and its allocation "
		    "bitmap one bit per entry)", (unsigned long long)v);
	x->c->status_list_size = (uint32_t)v;
	return 0;
}

static int
h_watches_max(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;
	uint64_t v;
	int rc;

	rc = conf_yaml_uint(y, it, CONF_WATCHES_LO, CONF_WATCHES_HI, &v);
	if (rc == 0)
		x->c->watches_max = (size_t)v;
	return rc;
}

static int
h_level(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;
	char s[CONF_YAML_VALUE_MAX];
	size_t i;
	int rc;

	rc = conf_yaml_scalar(y, it, "error, warn, info or debug", s,
	    sizeof(s));
	if (rc != 0)
		return rc;
	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcmp(s, log_names[i]) == 0) {
			x->c->log_level = (int)i;
			return 0;
		}
	return conf_yaml_err(y, MRX_EINVAL, conf_yaml_line(it->val, it->line),
	    it->key, "'%.40s' is not a log level (expected error, warn, info "
	    "or debug)", s);
}

/* ---- reading: federation ---- */

static int
url_value(struct conf_yaml *y, const struct conf_yaml_item *it, bool listener,
    char dst[CONF_URL_MAX])
{
	const struct ctx *x = y->user;
	char s[CONF_YAML_VALUE_MAX];
	const char *why;
	int rc;

	rc = conf_yaml_scalar(y, it, "a URL: tls+tcp://HOST:PORT, "
	    "tcp://HOST:PORT or ipc:///PATH", s, sizeof(s));
	if (rc != 0)
		return rc;
	if (s[0] == '\0') {
		set_str(dst, CONF_URL_MAX, "");
		return 0;
	}
	/* allow_plaintext may come later in the file: checked at the end */
	if (conf_url_check(s, listener, true, &why) != 0)
		return conf_yaml_err(y, MRX_EINVAL,
		    conf_yaml_line(it->val, it->line), it->key,
		    "'%.60s' is not a transport URL: %s", s, why);
	(void)x;
	set_str(dst, CONF_URL_MAX, s);
	return 0;
}

#define URL_HANDLER(fname, field, listener)				\
	static int							\
	fname(struct conf_yaml *y, const struct conf_yaml_item *it)	\
	{								\
		struct ctx *x = y->user;				\
		return url_value(y, it, listener, field);		\
	}

URL_HANDLER(h_fed_listen, x->c->fed.listen, true)
URL_HANDLER(h_fed_publish, x->c->fed.publish, true)
URL_HANDLER(h_fed_survey, x->c->fed.survey, true)
URL_HANDLER(h_peer_feed, x->peer->feed, false)
URL_HANDLER(h_peer_requests, x->peer->requests, false)
URL_HANDLER(h_peer_survey, x->peer->survey, false)

static int
h_fed_plain(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return conf_yaml_bool(y, it, &x->c->fed.allow_plaintext);
}

static int
h_fed_checkpoint(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return duration_value(y, it, 0, CONF_CHECKPOINT_HI_S,
	    &x->c->fed.checkpoint_interval_s);
}

static int
h_tls_ca(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return path_value(y, it, x->c->fed.tls_ca);
}

static int
h_tls_cert(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return path_value(y, it, x->c->fed.tls_cert);
}

static int
h_tls_key(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return path_value(y, it, x->c->fed.tls_key);
}

static int
h_peer_id(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return id_value(y, it, x->peer->id);
}

static int
h_peer_key(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return path_value(y, it, x->peer->key_path);
}

static int
h_peer_relay(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return conf_yaml_bool(y, it, &x->peer->relay);
}

static int
h_peer_rate(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;
	uint64_t v;
	int rc = conf_yaml_uint(y, it, 1, PROTO_RATE_MAX, &v);

	if (rc == 0)
		x->peer->rate_per_s = (uint32_t)v;
	return rc;
}

static int
h_peer_burst(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;
	uint64_t v;
	int rc = conf_yaml_uint(y, it, 1, PROTO_RATE_MAX, &v);

	if (rc == 0)
		x->peer->rate_burst = (uint32_t)v;
	return rc;
}

static int
h_peer_may(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;
	struct conf_yaml_item el;
	char key[CONF_YAML_KEY_MAX], s[CONF_YAML_VALUE_MAX];
	enum proto_msg_type t;
	struct fy_node *seq;
	void *iter = NULL;
	uint32_t may = 0;
	size_t n, i = 0;
	int rc;

	rc = conf_yaml_list(y, it, PROTO_MSG_COUNT, CONF_YAML_NULL_EMPTY,
	    "message types", &seq, &n);
	if (rc != 0)
		return rc;
	while (seq != NULL &&
	    (el.val = fy_node_sequence_iterate(seq, &iter)) != NULL) {
		snprintf(key, sizeof(key), "%s[%zu]", it->key, i++);
		el.key = key;
		el.line = conf_yaml_line(el.val, it->line);
		rc = conf_yaml_scalar(y, &el, "a message type", s, sizeof(s));
		if (rc != 0)
			return rc;
		if (proto_msg_type_parse(s, &t) != 0)
			return conf_yaml_err(y, MRX_EINVAL, el.line, key,
			    "'%.40s' is not a message type (expected "
			    "feed-record, catchup-request, present, "
			    "confirm-request, lookup-survey or "
			    "fetch-request)", s);
		may |= PROTO_MSG_BIT(t);
	}
	x->peer->may = may;
	return 0;
}

static const struct conf_yaml_key peer_keys[] = {
	{ "id", h_peer_id, "the peer node's id" },
	{ "key", h_peer_key, "the peer's signing public key file (PEM)" },
	{ "feed", h_peer_feed, NULL },
	{ "requests", h_peer_requests, NULL },
	{ "survey", h_peer_survey, NULL },
	{ "may", h_peer_may, NULL },
	{ "relay", h_peer_relay, NULL },
	{ "rate", h_peer_rate, NULL },
	{ "burst", h_peer_burst, NULL },
};

static int
h_peers(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;
	struct fy_node *seq, *e;
	char key[CONF_YAML_KEY_MAX];
	void *iter = NULL;
	size_t n, i = 0, j;
	int rc, line;

	rc = conf_yaml_list(y, it, CONF_PEERS_MAX, CONF_YAML_NULL_EMPTY,
	    "peers (id, key, ...)", &seq, &n);
	if (rc != 0)
		return rc;
	x->c->fed.npeers = 0;
	while (seq != NULL &&
	    (e = fy_node_sequence_iterate(seq, &iter)) != NULL) {
		snprintf(key, sizeof(key), "%s[%zu]", it->key, i);
		line = conf_yaml_line(e, it->line);
		x->peer = &x->c->fed.peers[i];
		memset(x->peer, 0, sizeof(*x->peer));
		x->peer->may = CONF_PEER_MAY_DEFAULT;
		rc = conf_yaml_walk(y, e, key, line, peer_keys,
		    sizeof(peer_keys) / sizeof(peer_keys[0]));
		if (rc != 0)
			return rc;
		if (strcmp(x->peer->id, x->c->id) == 0)
			return conf_yaml_err(y, MRX_EINVAL, line, key,
			    "peer '%s' is this node itself", x->peer->id);
		for (j = 0; j < i; j++)
			if (strcmp(x->c->fed.peers[j].id, x->peer->id) == 0)
				return conf_yaml_err(y, MRX_EDUP, line, key,
				    "peer '%s' is listed twice (also "
				    "federation.peers[%zu])", x->peer->id, j);
		i++;
	}
	x->c->fed.npeers = n;
	return 0;
}

static int
h_blind_agreement(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return id_value(y, it, x->blind->agreement);
}

static int
h_blind_peer(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return id_value(y, it, x->blind->peer);
}

static int
h_blind_key(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;

	return path_value(y, it, x->blind->key_path);
}

static const struct conf_yaml_key blind_keys[] = {
	{ "agreement", h_blind_agreement, "the agreement's id" },
	{ "peer", h_blind_peer, "the partner authority's node id" },
	{ "key", h_blind_key, "the shared key file (hex, mode 0600)" },
};

static int
h_blinding(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;
	struct fy_node *seq, *e;
	char key[CONF_YAML_KEY_MAX];
	void *iter = NULL;
	size_t n, i = 0;
	int rc;

	rc = conf_yaml_list(y, it, CONF_BLIND_MAX, CONF_YAML_NULL_EMPTY,
	    "blinding keys (agreement, peer, key)", &seq, &n);
	if (rc != 0)
		return rc;
	while (seq != NULL &&
	    (e = fy_node_sequence_iterate(seq, &iter)) != NULL) {
		snprintf(key, sizeof(key), "%s[%zu]", it->key, i);
		x->blind = &x->c->fed.blind[i++];
		memset(x->blind, 0, sizeof(*x->blind));
		rc = conf_yaml_walk(y, e, key, conf_yaml_line(e, it->line),
		    blind_keys, sizeof(blind_keys) / sizeof(blind_keys[0]));
		if (rc != 0)
			return rc;
	}
	x->c->fed.nblind = n;
	return 0;
}

static const struct conf_yaml_key tls_keys[] = {
	{ "ca", h_tls_ca, NULL },
	{ "cert", h_tls_cert, NULL },
	{ "key", h_tls_key, NULL },
};

static int
h_tls(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	return conf_yaml_walk(y, it->val, it->key, it->line, tls_keys,
	    sizeof(tls_keys) / sizeof(tls_keys[0]));
}

static const struct conf_yaml_key fed_keys[] = {
	{ "listen", h_fed_listen, NULL },
	{ "publish", h_fed_publish, NULL },
	{ "survey", h_fed_survey, NULL },
	{ "allow_plaintext", h_fed_plain, NULL },
	{ "checkpoint_interval", h_fed_checkpoint, NULL },
	{ "tls", h_tls, NULL },
	{ "peers", h_peers, NULL },
	{ "blinding", h_blinding, NULL },
};

/* After the section: listeners off loopback need TLS unless forced. */
static int
h_federation(struct conf_yaml *y, const struct conf_yaml_item *it)
{
	struct ctx *x = y->user;
	const char *const names[] = { "listen", "publish", "survey" };
	const char *urls[] = { x->c->fed.listen, x->c->fed.publish,
	    x->c->fed.survey };
	char key[CONF_YAML_KEY_MAX];
	const char *why;
	size_t i;
	int rc;

	rc = conf_yaml_walk(y, it->val, it->key, it->line, fed_keys,
	    sizeof(fed_keys) / sizeof(fed_keys[0]));
	for (i = 0; rc == 0 && i < 3; i++) {
		if (urls[i][0] == '\0' || conf_url_check(urls[i], true,
		    x->c->fed.allow_plaintext, &why) == 0)
			continue;
		snprintf(key, sizeof(key), "%s.%s", it->key, names[i]);
		rc = conf_yaml_err(y, MRX_EINVAL, it->line, key,
		    "'%.60s' is refused: %s", urls[i], why);
	}
	return rc;
}

#define SECTION(fname, table)						\
	static int							\
	fname(struct conf_yaml *y, const struct conf_yaml_item *it)	\
	{								\
		return conf_yaml_walk(y, it->val, it->key, it->line,	\
		    table, sizeof(table) / sizeof(table[0]));		\
	}

static const struct conf_yaml_key api_keys[] = {
	{ "listen", h_listen, NULL },
	{ "token_file", h_token_file, NULL },
	{ "body_max", h_body_max, NULL },
	{ "connections_max", h_conns_max, NULL },
};
static const struct conf_yaml_key keys_keys[] = {
	{ "signing", h_signing, NULL },
};
static const struct conf_yaml_key trust_keys[] = {
	{ "roots", h_roots, NULL },
	{ "chain", h_chain, NULL },
};
static const struct conf_yaml_key policy_keys[] = {
	{ "clock_skew", h_clock_skew, NULL },
	{ "max_status_age", h_max_status_age, NULL },
	{ "require_operator_cert", h_require_op, NULL },
};
static const struct conf_yaml_key status_keys[] = {
	{ "list_size", h_list_size, NULL },
};
static const struct conf_yaml_key engine_keys[] = {
	{ "watches_max", h_watches_max, NULL },
};
static const struct conf_yaml_key log_keys[] = {
	{ "level", h_level, NULL },
};

SECTION(h_api, api_keys)
SECTION(h_keys, keys_keys)
SECTION(h_trust, trust_keys)
SECTION(h_policy, policy_keys)
SECTION(h_status, status_keys)
SECTION(h_engine, engine_keys)
SECTION(h_log, log_keys)

static const struct conf_yaml_key top_keys[] = {
	{ "id", h_id, "this node's id, e.g. jp.meti" },
	{ "role", h_role, "root, issuer or operator" },
	{ "jurisdiction", h_jurisdiction, "two upper-case letters, e.g. JP" },
	{ "api", h_api, NULL },
	{ "keys", h_keys, NULL },
	{ "trust", h_trust, NULL },
	{ "policy", h_policy, NULL },
	{ "status", h_status, NULL },
	{ "engine", h_engine, NULL },
	{ "log", h_log, NULL },
	{ "federation", h_federation, NULL },
};

/* ---- reading: the file ---- */

/* Copies s into dst without trailing slashes ("" becomes "."). */
static int
dir_norm(const char *s, char *dst, size_t cap)
{
	size_t n = strlen(s);

	while (n > 1 && s[n - 1] == '/')
		n--;
	if (n == 0) {
		s = ".";
		n = 1;
	}
	if (n >= cap)
		return MRX_ETOOBIG;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* Fills c->data_dir and c->path from the caller's arguments. */
static int
locate(const char *data_dir, const char *path, struct node_conf *c,
    struct mrx_diag *diag)
{
	const char *slash;
	char dir[CONF_PATH_MAX];
	int rc = 0;

	if (data_dir == NULL && path == NULL)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET, "",
		    "no data directory and no configuration file given");
	if (data_dir != NULL) {
		rc = dir_norm(data_dir, c->data_dir, sizeof(c->data_dir));
	} else {
		slash = strrchr(path, '/');
		if (slash == NULL)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == path)
			snprintf(dir, sizeof(dir), "/");
		else if ((size_t)(slash - path) < sizeof(dir))
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path),
			    path);
		else
			rc = MRX_ETOOBIG;
		if (rc == 0)
			rc = dir_norm(dir, c->data_dir, sizeof(c->data_dir));
	}
	if (rc == 0 && path != NULL)
		rc = strlen(path) < sizeof(c->path) ? 0 : MRX_ETOOBIG;
	if (rc == 0 && path != NULL)
		snprintf(c->path, sizeof(c->path), "%s", path);
	else if (rc == 0)
		rc = path_join(c->data_dir, CONF_FILE, c->path,
		    sizeof(c->path));
	if (rc != 0)
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, "",
		    "the configuration path is longer than %d characters",
		    CONF_PATH_MAX - 1);
	return 0;
}

/* The defaults' relative paths, resolved against the data directory. */
static int
resolve_defaults(struct node_conf *c)
{
	char tmp[CONF_PATH_MAX];

	if (path_join(c->data_dir, c->token_path, tmp, sizeof(tmp)) != 0)
		return MRX_ETOOBIG;
	set_str(c->token_path, sizeof(c->token_path), tmp);
	if (path_join(c->data_dir, c->signing_key, tmp, sizeof(tmp)) != 0)
		return MRX_ETOOBIG;
	set_str(c->signing_key, sizeof(c->signing_key), tmp);
	if (path_join(c->data_dir, c->fed.tls_ca, tmp, sizeof(tmp)) != 0)
		return MRX_ETOOBIG;
	set_str(c->fed.tls_ca, sizeof(c->fed.tls_ca), tmp);
	if (path_join(c->data_dir, c->fed.tls_cert, tmp, sizeof(tmp)) != 0)
		return MRX_ETOOBIG;
	set_str(c->fed.tls_cert, sizeof(c->fed.tls_cert), tmp);
	if (path_join(c->data_dir, c->fed.tls_key, tmp, sizeof(tmp)) != 0)
		return MRX_ETOOBIG;
	set_str(c->fed.tls_key, sizeof(c->fed.tls_key), tmp);
	return 0;
}

int
conf_node_load(const char *data_dir, const char *path, struct node_conf *out,
    struct mrx_diag *diag)
{
	struct node_conf *c;
	struct conf_yaml y;
	struct ctx x;
	const char *slash;
	char *text = NULL;
	size_t len = 0;
	int rc;

	c = malloc(sizeof(*c));
	if (c == NULL)
		return MRX_ENOMEM;
	conf_node_defaults(c);
	rc = locate(data_dir, path, c, diag);
	if (rc == 0 && resolve_defaults(c) != 0)
		rc = mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET, "",
		    "the data directory's path is too long");
	if (rc == 0)
		rc = conf_yaml_read(c->path, CONF_BYTES_MAX,
		    "a configuration file", "make one with mrx init", &text,
		    &len, diag);
	if (rc == 0) {
		slash = strrchr(c->path, '/');
		x.c = c;
		x.root = NULL;
		x.peer = NULL;
		x.blind = NULL;
		conf_yaml_init(&y, slash != NULL ? slash + 1 : c->path, diag,
		    &x, 0);
		rc = conf_yaml_parse(&y, text, len, top_keys,
		    sizeof(top_keys) / sizeof(top_keys[0]));
	}
	if (rc == 0)
		memcpy(out, c, sizeof(*c));
	free(text);
	free(c);
	return rc;
}

/* ---- writing ---- */

static int
check_fed(const struct node_conf *c, struct mrx_diag *d)
{
	const struct conf_fed *f = &c->fed;
	const char *why;
	size_t i;

	if ((f->listen[0] != '\0' && conf_url_check(f->listen, true,
	    f->allow_plaintext, &why) != 0) ||
	    (f->publish[0] != '\0' && conf_url_check(f->publish, true,
	    f->allow_plaintext, &why) != 0) ||
	    (f->survey[0] != '\0' && conf_url_check(f->survey, true,
	    f->allow_plaintext, &why) != 0))
		return mrx_diag_set(d, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    "federation", "federation: a listener is refused: %s",
		    why);
	if (f->checkpoint_interval_s < 0 ||
	    f->checkpoint_interval_s > CONF_CHECKPOINT_HI_S)
		return mrx_diag_set(d, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "federation.checkpoint_interval", "out of range");
	if (f->npeers > CONF_PEERS_MAX || f->nblind > CONF_BLIND_MAX)
		return mrx_diag_set(d, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    "federation.peers", "too many entries");
	for (i = 0; i < f->npeers; i++)
		if (!proto_id_valid(f->peers[i].id) ||
		    f->peers[i].key_path[0] == '\0' ||
		    (f->peers[i].may & ~PROTO_MSG_ALL) != 0)
			return mrx_diag_set(d, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
			    "federation.peers", "federation.peers[%zu]: "
			    "invalid id, key or may", i);
	return 0;
}

/* The checks of reading, on a struct; the first failure names its key. */
static int
check_conf(const struct node_conf *c, struct mrx_diag *d)
{
	size_t i;
	int rc;

#define BAD(code, key, ...) \
	mrx_diag_set(d, code, MRX_DIAG_NO_OFFSET, key, __VA_ARGS__)
	if (!proto_id_valid(c->id))
		return BAD(MRX_EINVAL, "id", "id: '%s' is not a valid id",
		    c->id);
	if ((unsigned)c->role > ENG_ROLE_OPERATOR)
		return BAD(MRX_EINVAL, "role", "role: %d is not a role",
		    (int)c->role);
	if (!jurisdiction_valid(c->jurisdiction))
		return BAD(MRX_EINVAL, "jurisdiction", "jurisdiction: '%s' is "
		    "not two upper-case letters", c->jurisdiction);
	if (!host_valid(c->api_host, strchr(c->api_host, ':') != NULL) ||
	    c->api_port < 1 || c->api_port > 65535)
		return BAD(MRX_EINVAL, "api.listen", "api.listen: '%s' port %d "
		    "is not a listen address", c->api_host, c->api_port);
	if (c->body_max < CONF_BODY_LO || c->body_max > CONF_BODY_HI)
		return BAD(MRX_ERANGE, "api.body_max", "api.body_max: %zu is "
		    "out of range", c->body_max);
	if (c->conns_max < CONF_CONNS_LO || c->conns_max > CONF_CONNS_HI)
		return BAD(MRX_ERANGE, "api.connections_max",
		    "api.connections_max: %zu is out of range", c->conns_max);
	if (c->token_path[0] == '\0' || c->signing_key[0] == '\0')
		return BAD(MRX_EINVAL, c->token_path[0] == '\0' ?
		    "api.token_file" : "keys.signing", "empty path");
	if (c->nroots > CONF_ROOTS_MAX || c->nchain > CONF_CHAIN_MAX)
		return BAD(MRX_ERANGE, c->nroots > CONF_ROOTS_MAX ?
		    "trust.roots" : "trust.chain", "too many entries");
	for (i = 0; i < c->nroots; i++)
		if (!proto_id_valid(c->roots[i].id) ||
		    c->roots[i].key_path[0] == '\0')
			return BAD(MRX_EINVAL, "trust.roots",
			    "trust.roots[%zu]: invalid id '%s' or empty key "
			    "path", i, c->roots[i].id);
	for (i = 0; i < c->nchain; i++)
		if (c->chain[i][0] == '\0')
			return BAD(MRX_EINVAL, "trust.chain",
			    "trust.chain[%zu]: empty path", i);
	if (c->clock_skew_s < 0 || c->clock_skew_s > CONF_CLOCK_SKEW_HI_S ||
	    c->max_status_age_s < CONF_STATUS_AGE_LO_S ||
	    c->max_status_age_s > CONF_STATUS_AGE_HI_S)
		return BAD(MRX_ERANGE, "policy", "policy: clock_skew %llds or "
		    "max_status_age %llds out of range",
		    (long long)c->clock_skew_s, (long long)c->max_status_age_s);
	if (c->status_list_size < ENG_LIST_SIZE_MIN ||
	    c->status_list_size % 8 != 0 ||
	    c->status_list_size > PROTO_STATUS_ENTRIES_MAX)
		return BAD(MRX_ERANGE, "status.list_size", "status.list_size: "
		    "%u is not a multiple of 8 in range", c->status_list_size);
	if (c->watches_max < CONF_WATCHES_LO ||
	    c->watches_max > CONF_WATCHES_HI)
		return BAD(MRX_ERANGE, "engine.watches_max",
		    "engine.watches_max: %zu is out of range", c->watches_max);
	if (c->log_level < CONF_LOG_ERROR || c->log_level > CONF_LOG_DEBUG)
		return BAD(MRX_ERANGE, "log.level", "log.level: %d is out of "
		    "range", c->log_level);
	rc = check_fed(c, d);
	if (rc != 0)
		return rc;
#undef BAD
	return 0;
}

/*
 * `p` as the file says it: relative to `dir` when under it (or when `dir`
 * is the current directory), else absolute.
 */
static int
path_for_file(const char *dir, const char *p, char *out, size_t cap)
{
	char cwd[CONF_PATH_MAX];
	size_t dl = strlen(dir);
	int n;

	if (strcmp(dir, ".") == 0 || p[0] == '/') {
		if (dl > 1 && strncmp(p, dir, dl) == 0 && p[dl] == '/' &&
		    p[dl + 1] != '\0')
			p += dl + 1;
		n = snprintf(out, cap, "%s", p);
	} else if (strncmp(p, dir, dl) == 0 && p[dl] == '/' &&
	    p[dl + 1] != '\0') {
		n = snprintf(out, cap, "%s", p + dl + 1);
	} else if (getcwd(cwd, sizeof(cwd)) != NULL) {
		/* relative to the current directory, outside the data one */
		n = snprintf(out, cap, "%s/%s", strcmp(cwd, "/") == 0 ? "" :
		    cwd, p);
	} else {
		return MRX_EIO;
	}
	return n < 0 || (size_t)n >= cap ? MRX_ETOOBIG : 0;
}

/* An id; "null" is quoted, as YAML would read it as no value. */
static void
put_id(FILE *f, const char *id)
{
	if (strcmp(id, "null") == 0)
		fprintf(f, "\"%s\"", id);
	else
		fputs(id, f);
}

/* A double-quoted YAML string: quotes, backslashes and controls escaped. */
static void
put_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fprintf(f, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static int
put_path(FILE *f, const char *dir, const char *p)
{
	char rel[CONF_PATH_MAX + 16];
	int rc;

	rc = path_for_file(dir, p, rel, sizeof(rel));
	if (rc == 0)
		put_quoted(f, rel);
	return rc;
}

static void
put_note(FILE *f, const char *note)
{
	const char *nl;

	if (note == NULL)
		return;
	fputs("#\n", f);
	while (*note != '\0') {
		nl = strchr(note, '\n');
		if (nl == NULL)
			nl = note + strlen(note);
		fprintf(f, "#%s%.*s\n", nl > note ? " " : "", (int)(nl - note),
		    note);
		note = *nl == '\n' ? nl + 1 : nl;
	}
}

static void
put_identity(FILE *f, const struct node_conf *c, const char *note)
{
	fputs("# mrx node configuration, read by mrxd --data DATA_DIR from "
	    "DATA_DIR/mrx.yaml.\n"
	    "# Relative paths are relative to the data directory. Durations "
	    "are a number\n"
	    "# and a unit: 30s, 5m, 12h, 1d (units w, d, h, m, s). Unknown "
	    "keys are errors.\n"
	    "# Every key but id, role and jurisdiction may be left out to "
	    "take its default.\n"
	    "# See docs/config.md.\n", f);
	put_note(f, note);
	fprintf(f, "\n"
	    "# This node's id: the issuer id it signs as and the name peers "
	    "know it by\n"
	    "# (1 to %d of a-z, 0-9, '.', '-').\n"
	    "id: ", PROTO_ID_MAX);
	put_id(f, c->id);
	fprintf(f, "\n"
	    "# root (delegates signing keys to issuers), issuer (issues "
	    "clearances and\n"
	    "# operator certifications, publishes status lists) or operator "
	    "(verifies).\n"
	    "role: %s\n"
	    "# The authority's country, ISO 3166 alpha-2 in upper case.\n"
	    "jurisdiction: %s\n", eng_role_name(c->role), c->jurisdiction);
}

static int
put_api(FILE *f, const struct node_conf *c)
{
	bool v6 = strchr(c->api_host, ':') != NULL;
	int rc;

	fprintf(f, "\n"
	    "# The HTTP/JSON API (plain HTTP: keep it on loopback or behind a "
	    "TLS proxy).\n"
	    "api:\n"
	    "  # HOST:PORT to listen on ([IPV6]:PORT for IPv6); default "
	    "%s:%d.\n"
	    "  listen: \"%s%s%s:%d\"\n"
	    "  # File with the bearer token every request must present (mode "
	    "0600);\n"
	    "  # default admin.token.\n"
	    "  token_file: ", CONF_API_HOST_DEFAULT, CONF_API_PORT_DEFAULT,
	    v6 ? "[" : "", c->api_host, v6 ? "]" : "", c->api_port);
	rc = put_path(f, c->data_dir, c->token_path);
	fprintf(f, "\n"
	    "  # Largest request body, in bytes (%u to %u); default %u.\n"
	    "  body_max: %zu\n"
	    "  # Most client connections open at once (%u to %u); default "
	    "%u.\n"
	    "  connections_max: %zu\n"
	    "\n"
	    "keys:\n"
	    "  # This node's private signing key, PKCS#8 PEM, mode 0600;\n"
	    "  # default keys/sign.key.\n"
	    "  signing: ", CONF_BODY_LO, CONF_BODY_HI, CONF_BODY_DEFAULT,
	    c->body_max, CONF_CONNS_LO, CONF_CONNS_HI, CONF_CONNS_DEFAULT,
	    c->conns_max);
	if (rc == 0)
		rc = put_path(f, c->data_dir, c->signing_key);
	fputc('\n', f);
	return rc;
}

static int
put_trust(FILE *f, const struct node_conf *c)
{
	size_t i;
	int rc = 0;

	fputs("\n"
	    "trust:\n"
	    "  # The root authorities this node trusts (at most 64): each "
	    "root's id and its\n"
	    "  # public key (PEM). A record counts only if its signing key is "
	    "delegated by\n"
	    "  # one of them. Default: none.\n"
	    "  roots:", f);
	if (c->nroots == 0)
		fputs(" []\n", f);
	else
		fputc('\n', f);
	for (i = 0; i < c->nroots && rc == 0; i++) {
		fputs("    - id: ", f);
		put_id(f, c->roots[i].id);
		fputs("\n      key: ", f);
		rc = put_path(f, c->data_dir, c->roots[i].key_path);
		fputc('\n', f);
	}
	fputs("  # Signed records loaded at start and on SIGHUP (at most 256): "
	    "delegations\n"
	    "  # from the roots, key revocations. Default: none.\n"
	    "  chain:", f);
	fputs(c->nchain == 0 ? " []\n" : "\n", f);
	for (i = 0; i < c->nchain && rc == 0; i++) {
		fputs("    - ", f);
		rc = put_path(f, c->data_dir, c->chain[i]);
		fputc('\n', f);
	}
	return rc;
}

static void
put_rest(FILE *f, const struct node_conf *c)
{
	char skew[32], age[32], hi1[32], hi2[32];

	fprintf(f, "\n"
	    "policy:\n"
	    "  # How far a record's not-before time may lie in the future, for "
	    "clocks that\n"
	    "  # disagree (never applied to expiry); 0s to %s, default 1m.\n"
	    "  clock_skew: %s\n"
	    "  # Oldest status list a decision may rely on; older gives "
	    "indeterminate\n"
	    "  # (1s to %s); default 5m.\n"
	    "  max_status_age: %s\n"
	    "  # Whether accepting a clearance also needs a valid operator "
	    "certification of\n"
	    "  # the subject's employer; default false.\n"
	    "  require_operator_cert: %s\n",
	    duration_format(CONF_CLOCK_SKEW_HI_S, hi1, sizeof(hi1)),
	    duration_format(c->clock_skew_s, skew, sizeof(skew)),
	    duration_format(CONF_STATUS_AGE_HI_S, hi2, sizeof(hi2)),
	    duration_format(c->max_status_age_s, age, sizeof(age)),
	    c->require_operator_cert ? "true" : "false");
	fprintf(f, "\n"
	    "status:\n"
	    "  # Entries of each status list this node publishes, a multiple "
	    "of 4 up to\n"
	    "  # %u. Larger lists hide better who is checked; default %u.\n"
	    "  list_size: %u\n"
	    "\n"
	    "engine:\n"
	    "  # Most accepted clearances watched for a later status change "
	    "(%u to %u);\n"
	    "  # default %u.\n"
	    "  watches_max: %zu\n"
	    "\n"
	    "log:\n"
	    "  # error, warn, info or debug; default info.\n"
	    "  level: %s\n", PROTO_STATUS_ENTRIES_MAX,
	    PROTO_STATUS_ENTRIES_DEFAULT, c->status_list_size, CONF_WATCHES_LO,
	    CONF_WATCHES_HI, ENG_WATCHES_DEFAULT, c->watches_max,
	    log_names[c->log_level]);
}

static void
put_url(FILE *f, const char *key, const char *url)
{
	fprintf(f, "%s", key);
	put_quoted(f, url);
	fputc('\n', f);
}

static int
put_peer(FILE *f, const struct conf_peer *p, const char *dir)
{
	enum proto_msg_type t;
	bool first = true;
	int rc;

	fputs("    - id: ", f);
	put_id(f, p->id);
	fputs("\n      key: ", f);
	rc = put_path(f, dir, p->key_path);
	fputc('\n', f);
	if (p->feed[0] != '\0')
		put_url(f, "      feed: ", p->feed);
	if (p->requests[0] != '\0')
		put_url(f, "      requests: ", p->requests);
	if (p->survey[0] != '\0')
		put_url(f, "      survey: ", p->survey);
	fputs("      may: [", f);
	for (t = PROTO_MSG_FEED_RECORD; t < PROTO_MSG_COUNT; t++)
		if (p->may & PROTO_MSG_BIT(t)) {
			fprintf(f, "%s%s", first ? "" : ", ",
			    proto_msg_type_name(t));
			first = false;
		}
	fputs("]\n", f);
	if (p->relay)
		fputs("      relay: true\n", f);
	if (p->rate_per_s != 0)
		fprintf(f, "      rate: %u\n", p->rate_per_s);
	if (p->rate_burst != 0)
		fprintf(f, "      burst: %u\n", p->rate_burst);
	return rc;
}

static int
put_fed(FILE *f, const struct node_conf *c)
{
	const struct conf_fed *fd = &c->fed;
	char iv[32];
	size_t i;
	int rc;

	fputs("\n"
	    "# Federation: this node's nng sockets and its peers. See "
	    "docs/federation.md.\n"
	    "federation:\n"
	    "  # Where peers send requests (present, catch-up, fetch, "
	    "confirm) and where\n"
	    "  # this node publishes its feed and answers look-up surveys: "
	    "tls+tcp://HOST:PORT\n"
	    "  # (mutual TLS), tcp:// or ipc:// (loopback and tests only). "
	    "\"\" for none.\n", f);
	put_url(f, "  listen: ", fd->listen);
	put_url(f, "  publish: ", fd->publish);
	put_url(f, "  survey: ", fd->survey);
	fprintf(f, "  # Listen without TLS off loopback (never in "
	    "production); default false.\n"
	    "  allow_plaintext: %s\n"
	    "  # A signed checkpoint of each own status list this often "
	    "(0s: none,\n"
	    "  # up to 1h); default 1s.\n"
	    "  checkpoint_interval: %s\n"
	    "  # Mutual TLS: the CAs peers' certificates must chain to, this "
	    "node's\n"
	    "  # certificate and key (made by mrx init / mrx cert).\n"
	    "  tls:\n"
	    "    ca: ", fd->allow_plaintext ? "true" : "false",
	    duration_format(fd->checkpoint_interval_s, iv, sizeof(iv)));
	rc = put_path(f, c->data_dir, fd->tls_ca);
	fputs("\n    cert: ", f);
	if (rc == 0)
		rc = put_path(f, c->data_dir, fd->tls_cert);
	fputs("\n    key: ", f);
	if (rc == 0)
		rc = put_path(f, c->data_dir, fd->tls_key);
	fputs("\n"
	    "  # Peer nodes (at most 128): id, signing public key, the "
	    "sockets to dial\n"
	    "  # (feed: its pub; requests: its rep; survey: its respondent), "
	    "what it may\n"
	    "  # send (default [feed-record, catchup-request, fetch-request]), "
	    "whether its\n"
	    "  # feed is relayed to this node's subscribers, its rate limit "
	    "(messages/s,\n"
	    "  # burst; default 3000, 6000).\n"
	    "  peers:", f);
	fputs(fd->npeers == 0 ? " []\n" : "\n", f);
	for (i = 0; i < fd->npeers && rc == 0; i++)
		rc = put_peer(f, &fd->peers[i], c->data_dir);
	fputs("  # Per-agreement keys of pairwise blinded look-ups "
	    "(agreement, peer, key).\n"
	    "  blinding:", f);
	fputs(fd->nblind == 0 ? " []\n" : "\n", f);
	for (i = 0; i < fd->nblind && rc == 0; i++) {
		fputs("    - agreement: ", f);
		put_id(f, fd->blind[i].agreement);
		fputs("\n      peer: ", f);
		put_id(f, fd->blind[i].peer);
		fputs("\n      key: ", f);
		rc = put_path(f, c->data_dir, fd->blind[i].key_path);
		fputc('\n', f);
	}
	return rc;
}

/* Writes the whole text to `f`; MRX_EIO if the stream failed. */
static int
put_all(FILE *f, const struct node_conf *c, const char *note)
{
	int rc;

	put_identity(f, c, note);
	rc = put_api(f, c);
	if (rc == 0)
		rc = put_trust(f, c);
	if (rc == 0)
		put_rest(f, c);
	if (rc == 0)
		rc = put_fed(f, c);
	if (rc == 0 && (fflush(f) != 0 || ferror(f)))
		rc = MRX_EIO;
	return rc;
}

int
conf_node_write_note(const struct node_conf *c, const char *path,
    const char *note, struct mrx_diag *diag)
{
	struct node_conf *w;
	char tmp[CONF_PATH_MAX + 32];
	FILE *f;
	int fd, rc;

	rc = check_conf(c, diag);
	if (rc != 0)
		return rc;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET, "",
		    "%s: path too long", path);
	w = malloc(sizeof(*w));
	if (w == NULL)
		return MRX_ENOMEM;
	memcpy(w, c, sizeof(*w));
	if (dir_norm(c->data_dir, w->data_dir, sizeof(w->data_dir)) != 0)
		snprintf(w->data_dir, sizeof(w->data_dir), ".");
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		rc = mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET, "",
		    "%s: cannot create: %s", tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(w);
		return rc;
	}
	rc = put_all(f, w, note);
	free(w);
	if (rc == 0 && fsync(fileno(f)) != 0)
		rc = MRX_EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = MRX_EIO;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = MRX_EIO;
	if (rc != 0) {
		unlink(tmp);
		return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, "",
		    "%s: cannot write: %s", path, rc == MRX_ETOOBIG ?
		    "a path is too long" : strerror(errno));
	}
	return 0;
}

int
conf_node_write(const struct node_conf *c, const char *path,
    struct mrx_diag *diag)
{
	return conf_node_write_note(c, path, NULL, diag);
}
