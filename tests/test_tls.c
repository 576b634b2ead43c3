/*
 * test_tls.c - the TLS material of the links between nodes (crypto/x509.h)
 * and what nng's tls+tcp:// transport, over Debian's mbedTLS 2.28, makes of
 * it on real sockets on loopback.
 *
 * The group fixture makes, in a fresh directory under $TMPDIR (or /tmp),
 * two CAs (A and B, valid from 20 days ago for 50 days) and the
 * certificates the cases need: nodes jp.meti and us.dcsa of CA A, a us.dcsa
 * of CA B, an expired us.dcsa and an expired jp.meti of CA A, a jp.meti of
 * CA B, one of CA A that began before its CA ("early"), a bundle of both
 * CAs and a copy of a key with mode 0640. Every link case that must fail
 * is followed by a control on the same listener that must succeed, so a
 * refusal can never pass for a listener that does not work at all.
 *
 * nng: pair1 sockets; configurations made with nng_tls_config_alloc,
 * nng_tls_config_ca_file, nng_tls_config_own_cert (PEM text of node.pem
 * and node.key: nng_tls_config_cert_key_file wants both in one file),
 * nng_tls_config_auth_mode(REQUIRED) on both sides and, on the dialer,
 * nng_tls_config_server_name(peer id); set with NNG_OPT_TLS_CONFIG. The
 * listener binds port 0; NNG_OPT_TCP_BOUND_PORT gives the port. Dialers
 * start with NNG_FLAG_NONBLOCK and a 50..200 ms reconnect interval.
 *
 * OpenSSL is used only to look at certificates from outside crypto/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <nng/supplemental/tls/tls.h>
#include <nng/supplemental/util/platform.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "x509.h"

#define REFUSE_MS 1500		/* a refused link: nothing arrives in this */
#define DELIVER_MS 5000		/* an accepted link delivers within this */
#define RECONN_MIN_MS 50
#define RECONN_MAX_MS 200
#define DAY 86400

static char tmp[256];		/* the fixture's directory */
static int64_t now;

/* tmp/name in one of a ring of buffers (enough for one call's arguments). */
static const char *
P(const char *name)
{
	static char ring[16][400];
	static unsigned next;
	char *b = ring[next++ % 16];

	snprintf(b, sizeof(ring[0]), "%s/%s", tmp, name);
	return b;
}

static char *
read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *b = malloc(65536);
	size_t n;

	assert_non_null(f);
	assert_non_null(b);
	n = fread(b, 1, 65535, f);
	fclose(f);
	b[n] = '\0';
	return b;
}

static void
must(int rc, const struct mrx_diag *d, const char *what)
{
	if (rc != 0)
		fail_msg("%s: %s (%s)", what, d->msg, mrx_errname(rc));
}

static void
write_text(const char *path, const char *a, const char *b, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(a, f);
	if (b != NULL)
		fputs(b, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* A CA valid from 20 days ago to 30 days ahead. */
static void
make_ca(const char *name)
{
	struct cry_x509_validity v = { now - 20 * DAY, now + 30 * DAY };
	char cert[64], key[64], cn[64];
	struct mrx_diag d;

	snprintf(cert, sizeof(cert), "%s.pem", name);
	snprintf(key, sizeof(key), "%s.key", name);
	snprintf(cn, sizeof(cn), "mrx test CA %s", name);
	mrx_diag_clear(&d);
	must(cry_x509_ca_create(cn, &v, P(cert), P(key), &d), &d, cn);
}

static struct cry_x509_ca *
load_ca(const char *name)
{
	char cert[64], key[64];
	struct cry_x509_ca *ca = NULL;
	struct mrx_diag d;

	snprintf(cert, sizeof(cert), "%s.pem", name);
	snprintf(key, sizeof(key), "%s.key", name);
	mrx_diag_clear(&d);
	must(cry_x509_ca_load(P(cert), P(key), now, &ca, &d), &d, name);
	return ca;
}

/* name.pem and name.key, issued by ca for id, valid [nb, na]. */
static void
make_node(const struct cry_x509_ca *ca, const char *name, const char *id,
    int64_t nb, int64_t na)
{
	struct cry_x509_node_req req;
	char cert[64], key[64];
	struct mrx_diag d;

	snprintf(cert, sizeof(cert), "%s.pem", name);
	snprintf(key, sizeof(key), "%s.key", name);
	memset(&req, 0, sizeof(req));
	req.id = id;
	req.v.not_before = nb;
	req.v.not_after = na;
	mrx_diag_clear(&d);
	must(cry_x509_issue(ca, &req, P(cert), P(key), &d), &d, name);
}

/* to = a (+ b), with mode. */
static void
copy_files(const char *to, const char *a, const char *b, mode_t mode)
{
	char *ta = read_text(P(a)), *tb = b != NULL ? read_text(P(b)) : NULL;

	write_text(P(to), ta, tb, mode);
	free(ta);
	free(tb);
}

static int
group_setup(void **state)
{
	const char *base = getenv("TMPDIR");
	struct cry_x509_ca *a, *b;

	(void)state;
	now = (int64_t)time(NULL);
	snprintf(tmp, sizeof(tmp), "%s/mrx-tls-XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(tmp) == NULL)
		return -1;
	make_ca("ca-a");
	make_ca("ca-b");
	a = load_ca("ca-a");
	b = load_ca("ca-b");
	make_node(a, "a-meti", "jp.meti", now - 60, now + 2 * DAY);
	make_node(a, "a-dcsa", "us.dcsa", now - 60, now + 2 * DAY);
	make_node(b, "b-dcsa", "us.dcsa", now - 60, now + 2 * DAY);
	make_node(b, "b-meti", "jp.meti", now - 60, now + 2 * DAY);
	make_node(a, "a-dcsa-expired", "us.dcsa", now - 10 * DAY, now - DAY);
	make_node(a, "a-meti-expired", "jp.meti", now - 10 * DAY, now - DAY);
	make_node(a, "early", "jp.meti", now - 25 * DAY, now + 2 * DAY);
	cry_x509_ca_free(a);
	cry_x509_ca_free(b);
	copy_files("bundle.pem", "ca-b.pem", "ca-a.pem", 0644);
	copy_files("loose.key", "a-meti.key", NULL, 0640);
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[400];

	(void)state;
	nng_fini();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- nng ---- */

/*
 * A configuration requiring the peer's certificate: trusting the CAs in
 * `ca`, presenting name.pem/name.key (none if name is NULL), and on a
 * client expecting the server to be `server_name` (none if NULL).
 */
static nng_tls_config *
tls_cfg(nng_tls_mode mode, const char *ca, const char *name,
    const char *server_name)
{
	nng_tls_config *cfg = NULL;
	char cert[64], key[64], *c, *k;

	assert_int_equal(nng_tls_config_alloc(&cfg, mode), 0);
	assert_int_equal(nng_tls_config_auth_mode(cfg,
	    NNG_TLS_AUTH_MODE_REQUIRED), 0);
	assert_int_equal(nng_tls_config_ca_file(cfg, P(ca)), 0);
	if (name != NULL) {
		snprintf(cert, sizeof(cert), "%s.pem", name);
		snprintf(key, sizeof(key), "%s.key", name);
		c = read_text(P(cert));
		k = read_text(P(key));
		assert_int_equal(nng_tls_config_own_cert(cfg, c, k, NULL), 0);
		free(c);
		free(k);
	}
	if (server_name != NULL)
		assert_int_equal(nng_tls_config_server_name(cfg, server_name),
		    0);
	return cfg;
}

struct end {
	nng_socket s;
	atomic_int pipes;	/* pipes that reached the socket */
	int port;		/* a listener's bound port */
};

static void
on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)p;
	(void)ev;
	atomic_fetch_add((atomic_int *)arg, 1);
}

/*
 * Waits up to `ms` for `want` pipes to have reached e's socket. nng runs
 * the ADD_POST callback after the pipe already carries messages, so a
 * delivery can come first; waiting here also keeps a late callback from
 * counting into the next test's `struct end` at the same stack address.
 */
static int
pipes_reach(struct end *e, int want, int ms)
{
	int n;

	while ((n = atomic_load(&e->pipes)) < want && ms > 0) {
		nng_msleep(10);
		ms -= 10;
	}
	return n;
}

static void
end_open(struct end *e)
{
	atomic_init(&e->pipes, 0);
	assert_int_equal(nng_pair1_open(&e->s), 0);
	assert_int_equal(nng_pipe_notify(e->s, NNG_PIPE_EV_ADD_POST, on_pipe,
	    &e->pipes), 0);
}

/* A listener on 127.0.0.1, an ephemeral port, presenting `name`. */
static void
listen_as(struct end *e, const char *ca, const char *name)
{
	nng_tls_config *cfg = tls_cfg(NNG_TLS_MODE_SERVER, ca, name, NULL);
	nng_listener l;

	end_open(e);
	assert_int_equal(nng_listener_create(&l, e->s,
	    "tls+tcp://127.0.0.1:0"), 0);
	assert_int_equal(nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg), 0);
	nng_tls_config_free(cfg);	/* the listener holds its own */
	assert_int_equal(nng_listener_start(l, 0), 0);
	assert_int_equal(nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT,
	    &e->port), 0);
	assert_true(e->port > 0);
}

/* A dialer to host:port that keeps retrying in the background. */
static void
dial_as(struct end *e, const char *host, int port, const char *ca,
    const char *name, const char *server_name)
{
	nng_tls_config *cfg = tls_cfg(NNG_TLS_MODE_CLIENT, ca, name,
	    server_name);
	char url[128];
	nng_dialer d;

	end_open(e);
	snprintf(url, sizeof(url), "tls+tcp://%s:%d", host, port);
	assert_int_equal(nng_dialer_create(&d, e->s, url), 0);
	assert_int_equal(nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg), 0);
	nng_tls_config_free(cfg);
	assert_int_equal(nng_dialer_set_ms(d, NNG_OPT_RECONNMINT,
	    RECONN_MIN_MS), 0);
	assert_int_equal(nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT,
	    RECONN_MAX_MS), 0);
	assert_int_equal(nng_dialer_start(d, NNG_FLAG_NONBLOCK), 0);
}

/*
 * Sends a message from `from`; true if `to` receives it (and it is the
 * same message) within `ms`. A send that times out means no link.
 */
static bool
delivered(struct end *from, struct end *to, int ms)
{
	static const char hello[] = "mrx federation hello";
	char buf[64];
	size_t n = sizeof(buf);
	int rv;

	assert_int_equal(nng_socket_set_ms(from->s, NNG_OPT_SENDTIMEO, ms), 0);
	assert_int_equal(nng_socket_set_ms(to->s, NNG_OPT_RECVTIMEO, ms), 0);
	rv = nng_send(from->s, (void *)hello, sizeof(hello), 0);
	if (rv != 0) {
		assert_int_equal(rv, NNG_ETIMEDOUT);
		assert_int_equal(nng_socket_set_ms(to->s, NNG_OPT_RECVTIMEO,
		    100), 0);
	}
	rv = nng_recv(to->s, buf, &n, 0);
	if (rv != 0) {
		assert_int_equal(rv, NNG_ETIMEDOUT);
		return false;
	}
	assert_int_equal(n, sizeof(hello));
	assert_memory_equal(buf, hello, sizeof(hello));
	return true;
}

static void
end_close(struct end *e)
{
	assert_int_equal(nng_close(e->s), 0);
}

/*
 * A dialer that must be refused by `l`: no message within REFUSE_MS and
 * no pipe on either side. Then the control: a dialer of CA A (us.dcsa)
 * trusting `ctl_ca`, checking the server as `ctl_name`, gets through.
 */
static void
refused_then_control(struct end *l, struct end *bad, const char *ctl_ca,
    const char *ctl_name)
{
	struct end good;

	assert_false(delivered(bad, l, REFUSE_MS));
	assert_int_equal(atomic_load(&l->pipes), 0);
	assert_int_equal(atomic_load(&bad->pipes), 0);
	end_close(bad);
	dial_as(&good, "127.0.0.1", l->port, ctl_ca, "a-dcsa", ctl_name);
	assert_true(delivered(&good, l, DELIVER_MS));
	assert_true(delivered(l, &good, DELIVER_MS));
	assert_int_equal(pipes_reach(l, 1, DELIVER_MS), 1);
	end_close(&good);
}

static void
test_tls_engine(void **state)
{
	nng_tls_config *cfg = NULL;
	int rv;

	(void)state;
	rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT);
	if (rv == NNG_ENOTSUP)
		fail_msg("libnng is built without TLS (engine '%s'): "
		    "tls+tcp:// cannot work", nng_tls_engine_name());
	assert_int_equal(rv, 0);
	nng_tls_config_free(cfg);
	print_message("nng TLS engine: %s (%s)\n", nng_tls_engine_name(),
	    nng_tls_engine_description());
}

/* (a) two nodes of the same CA exchange messages both ways. */
static void
test_link_same_ca(void **state)
{
	struct end l, d;

	(void)state;
	listen_as(&l, "ca-a.pem", "a-meti");
	dial_as(&d, "127.0.0.1", l.port, "ca-a.pem", "a-dcsa", "jp.meti");
	assert_true(delivered(&d, &l, DELIVER_MS));
	assert_true(delivered(&l, &d, DELIVER_MS));
	assert_int_equal(pipes_reach(&l, 1, DELIVER_MS), 1);
	assert_int_equal(pipes_reach(&d, 1, DELIVER_MS), 1);
	end_close(&d);
	end_close(&l);
}

/* (b) a dialer whose certificate comes from another CA is refused. */
static void
test_client_other_ca(void **state)
{
	struct end l, d;

	(void)state;
	listen_as(&l, "ca-a.pem", "a-meti");
	/* it trusts CA A, so only its own certificate can be the problem */
	dial_as(&d, "127.0.0.1", l.port, "ca-a.pem", "b-dcsa", "jp.meti");
	refused_then_control(&l, &d, "ca-a.pem", "jp.meti");
	end_close(&l);
}

/* (c) a dialer without a certificate is refused. */
static void
test_client_no_cert(void **state)
{
	struct end l, d;

	(void)state;
	listen_as(&l, "ca-a.pem", "a-meti");
	dial_as(&d, "127.0.0.1", l.port, "ca-a.pem", NULL, "jp.meti");
	refused_then_control(&l, &d, "ca-a.pem", "jp.meti");
	end_close(&l);
}

/* (d) an expired certificate is refused: the dialer's ... */
static void
test_client_expired(void **state)
{
	struct end l, d;

	(void)state;
	listen_as(&l, "ca-a.pem", "a-meti");
	dial_as(&d, "127.0.0.1", l.port, "ca-a.pem", "a-dcsa-expired",
	    "jp.meti");
	refused_then_control(&l, &d, "ca-a.pem", "jp.meti");
	end_close(&l);
}

/* ... and the listener's. */
static void
test_server_expired(void **state)
{
	struct end l, d, good, l2;

	(void)state;
	listen_as(&l, "ca-a.pem", "a-meti-expired");
	dial_as(&d, "127.0.0.1", l.port, "ca-a.pem", "a-dcsa", "jp.meti");
	assert_false(delivered(&d, &l, REFUSE_MS));
	assert_int_equal(atomic_load(&l.pipes), 0);
	end_close(&d);
	end_close(&l);
	/* control: the same dialer against a current certificate */
	listen_as(&l2, "ca-a.pem", "a-meti");
	dial_as(&good, "127.0.0.1", l2.port, "ca-a.pem", "a-dcsa", "jp.meti");
	assert_true(delivered(&good, &l2, DELIVER_MS));
	end_close(&good);
	end_close(&l2);
}

/* (e) a listener whose certificate comes from an unknown CA is refused. */
static void
test_server_unknown_ca(void **state)
{
	struct end l, d;

	(void)state;
	/* the listener accepts dialers of CA A but presents CA B's cert */
	listen_as(&l, "ca-a.pem", "b-meti");
	dial_as(&d, "127.0.0.1", l.port, "ca-a.pem", "a-dcsa", "jp.meti");
	/* control: the same client certificate, trusting CA B */
	refused_then_control(&l, &d, "ca-b.pem", "jp.meti");
	end_close(&l);
}

/*
 * The dialer checks the server's name: a node of the same CA that is not
 * the peer it meant (us.dcsa answering for jp.meti) is refused.
 */
static void
test_server_wrong_name(void **state)
{
	struct end l, d;

	(void)state;
	listen_as(&l, "ca-a.pem", "a-dcsa");
	dial_as(&d, "127.0.0.1", l.port, "ca-a.pem", "a-meti", "jp.meti");
	refused_then_control(&l, &d, "ca-a.pem", "us.dcsa");
	end_close(&l);
}

/*
 * What the integrator must know about mbedTLS 2.28: it matches the server
 * name only against DNS names of the subjectAltName, never against IP
 * addresses (the certificate holds IP:127.0.0.1, and "127.0.0.1" is still
 * refused); and a configuration without a server name checks no name at
 * all. Hence the rule in docs/tls.md: set the server name to the peer's
 * id. Judged only on mbedTLS 2.x, where this is known behaviour.
 */
static void
test_mbedtls_name_rules(void **state)
{
	struct end l, d;

	(void)state;
	if (strstr(nng_tls_engine_description(), " 2.") == NULL) {
		print_message("skipped: engine is %s\n",
		    nng_tls_engine_description());
		skip();
	}
	listen_as(&l, "ca-a.pem", "a-meti");
	dial_as(&d, "127.0.0.1", l.port, "ca-a.pem", "a-dcsa", "127.0.0.1");
	/* control without a server name: any name passes */
	refused_then_control(&l, &d, "ca-a.pem", NULL);
	end_close(&l);
}

/* "localhost", a DNS name of the default SANs, is matched. */
static void
test_server_name_localhost(void **state)
{
	struct end l, d;

	(void)state;
	listen_as(&l, "ca-a.pem", "a-meti");
	dial_as(&d, "localhost", l.port, "ca-a.pem", "a-dcsa", "localhost");
	assert_true(delivered(&d, &l, DELIVER_MS));
	end_close(&d);
	end_close(&l);
}

/* ---- crypto/x509 ---- */

static mode_t
mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void
describe1(const char *path, struct cry_x509_info *info)
{
	struct mrx_diag d;
	size_t n = 0;

	mrx_diag_clear(&d);
	must(cry_x509_describe_file(path, info, 1, &n, &d), &d, path);
	assert_int_equal(n, 1);
}

static bool
has_san(const struct cry_x509_info *in, const char *s)
{
	size_t i;

	for (i = 0; i < in->nsan; i++)
		if (strcmp(in->san[i], s) == 0)
			return true;
	return false;
}

/* Checks node.pem/.key against a bundle; returns the code, diag kept. */
static int
check(const char *name, const char *key, const char *ca, int64_t at,
    struct mrx_diag *d)
{
	char cert[64], k[64];

	snprintf(cert, sizeof(cert), "%s.pem", name);
	snprintf(k, sizeof(k), "%s.key", key != NULL ? key : name);
	mrx_diag_clear(d);
	return cry_x509_check(P(cert), P(k), P(ca), at, NULL, d);
}

static void
test_x509_ca(void **state)
{
	struct cry_x509_info in;

	(void)state;
	assert_int_equal(mode_of(P("ca-a.key")), 0600);
	assert_int_equal(mode_of(P("ca-a.pem")), 0644);
	describe1(P("ca-a.pem"), &in);
	assert_string_equal(in.subject_cn, "mrx test CA ca-a");
	assert_string_equal(in.issuer_cn, "mrx test CA ca-a");
	assert_true(in.is_ca);
	assert_true(in.self_signed);
	assert_int_equal(in.pathlen, 0);
	assert_int_equal(in.nsan, 0);
	assert_string_equal(in.key, "EC P-256");
	assert_int_equal(in.not_before, now - 20 * DAY);
	assert_int_equal(in.not_after, now + 30 * DAY);
	assert_true(strlen(in.serial) >= 16 && in.serial[0] != '-');
	assert_int_equal(strlen(in.not_after_str), 20);
	assert_int_equal(in.not_after_str[19], 'Z');
}

static void
test_x509_node_default_sans(void **state)
{
	struct cry_x509_info in, other;

	(void)state;
	assert_int_equal(mode_of(P("a-meti.key")), 0600);
	assert_int_equal(mode_of(P("a-meti.pem")), 0644);
	describe1(P("a-meti.pem"), &in);
	assert_string_equal(in.subject_cn, "jp.meti");
	assert_string_equal(in.issuer_cn, "mrx test CA ca-a");
	assert_false(in.is_ca);
	assert_false(in.self_signed);
	assert_int_equal(in.nsan, 4);
	assert_true(has_san(&in, "DNS:jp.meti"));
	assert_true(has_san(&in, "DNS:localhost"));
	assert_true(has_san(&in, "IP:127.0.0.1"));
	assert_true(has_san(&in, "IP:::1"));
	describe1(P("a-dcsa.pem"), &other);
	assert_string_not_equal(in.serial, other.serial);
	assert_memory_not_equal(in.sha256, other.sha256, CRY_SHA256_LEN);
}

/* The profile as another X.509 implementation (OpenSSL) reads it. */
static void
test_x509_node_profile(void **state)
{
	FILE *f = fopen(P("a-meti.pem"), "r");
	X509 *x;
	char *key;
	int i;

	(void)state;
	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	assert_true(X509_get_extension_flags(x) & EXFLAG_XKUSAGE);
	assert_int_equal(X509_get_extended_key_usage(x) &
	    (XKU_SSL_SERVER | XKU_SSL_CLIENT), XKU_SSL_SERVER | XKU_SSL_CLIENT);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_check_ca(x), 0);
	i = X509_get_ext_by_NID(x, NID_basic_constraints, -1);
	assert_true(i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, i)));
	i = X509_get_ext_by_NID(x, NID_key_usage, -1);
	assert_true(i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, i)));
	assert_non_null(X509_get0_authority_key_id(x));
	assert_non_null(X509_get0_subject_key_id(x));
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	X509_free(x);
	key = read_text(P("a-meti.key"));
	assert_non_null(strstr(key, "-----BEGIN PRIVATE KEY-----"));
	free(key);
}

static void
test_x509_node_hosts(void **state)
{
	static const char *const hosts[] = { "node1.example", "10.0.0.5",
		"2001:db8::7", "NODE1.example", "jp.meti" };
	struct cry_x509_node_req req;
	struct cry_x509_info in;
	struct cry_x509_ca *ca = load_ca("ca-a");
	struct mrx_diag d;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.id = "jp.meti";
	req.hosts = hosts;
	req.nhosts = 5;
	assert_int_equal(cry_x509_validity_days(now, 7, &req.v), 0);
	mrx_diag_clear(&d);
	must(cry_x509_issue(ca, &req, P("hosts.pem"), P("hosts.key"), &d), &d,
	    "hosts");
	describe1(P("hosts.pem"), &in);
	/* the id, then the hosts; duplicates (any case) dropped */
	assert_int_equal(in.nsan, 4);
	assert_string_equal(in.san[0], "DNS:jp.meti");
	assert_string_equal(in.san[1], "DNS:node1.example");
	assert_string_equal(in.san[2], "IP:10.0.0.5");
	assert_string_equal(in.san[3], "IP:2001:db8::7");
	assert_false(has_san(&in, "DNS:localhost"));
	cry_x509_ca_free(ca);
}

static void
test_x509_issue_refusals(void **state)
{
	static const char *const bad_host[] = { "ok.example", "a b" };
	static const char *const many[CRY_X509_SAN_MAX] = {
		"h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9",
		"h10", "h11", "h12", "h13", "h14", "h15" };
	struct cry_x509_node_req req;
	struct cry_x509_ca *ca = load_ca("ca-a");
	struct mrx_diag d;

	(void)state;
	memset(&req, 0, sizeof(req));
	assert_int_equal(cry_x509_validity_days(now, 7, &req.v), 0);
	req.id = "jp..meti";
	mrx_diag_clear(&d);
	assert_int_equal(cry_x509_issue(ca, &req, P("r.pem"), P("r.key"), &d),
	    MRX_EINVAL);
	assert_string_equal(d.field, "id");
	req.id = "jp.meti";
	req.hosts = bad_host;
	req.nhosts = 2;
	mrx_diag_clear(&d);
	assert_int_equal(cry_x509_issue(ca, &req, P("r.pem"), P("r.key"), &d),
	    MRX_EINVAL);
	assert_string_equal(d.field, "host");
	assert_non_null(strstr(d.msg, "'a b'"));
	req.hosts = many;
	req.nhosts = CRY_X509_SAN_MAX;	/* plus the id: one too many */
	mrx_diag_clear(&d);
	assert_int_equal(cry_x509_issue(ca, &req, P("r.pem"), P("r.key"), &d),
	    MRX_ETOOBIG);
	req.nhosts = 0;
	req.v.not_after = cry_x509_ca_not_after(ca) + 1;
	mrx_diag_clear(&d);
	assert_int_equal(cry_x509_issue(ca, &req, P("r.pem"), P("r.key"), &d),
	    MRX_ERANGE);
	assert_non_null(strstr(d.msg, "after its CA expires"));
	req.v.not_after = req.v.not_before;
	mrx_diag_clear(&d);
	assert_int_equal(cry_x509_issue(ca, &req, P("r.pem"), P("r.key"), &d),
	    MRX_ERANGE);
	assert_false(exists(P("r.pem")));
	assert_false(exists(P("r.key")));
	cry_x509_ca_free(ca);
}

/* O_EXCL: nothing is overwritten, not even through a dangling link. */
static void
test_x509_never_overwrites(void **state)
{
	struct cry_x509_validity v;
	struct cry_x509_node_req req;
	struct cry_x509_ca *ca = load_ca("ca-a");
	struct mrx_diag d;
	char *before, *after;

	(void)state;
	assert_int_equal(cry_x509_validity_days(now, 7, &v), 0);
	before = read_text(P("ca-a.key"));
	mrx_diag_clear(&d);
	assert_int_equal(cry_x509_ca_create("again", &v, P("new-ca.pem"),
	    P("ca-a.key"), &d), MRX_EEXIST);
	assert_non_null(strstr(d.msg, "ca-a.key already exists"));
	assert_false(exists(P("new-ca.pem")));
	after = read_text(P("ca-a.key"));
	assert_string_equal(before, after);
	free(before);
	free(after);
	memset(&req, 0, sizeof(req));
	req.id = "jp.meti";
	req.v = v;
	assert_int_equal(symlink(P("nowhere"), P("link.key")), 0);
	mrx_diag_clear(&d);
	assert_int_equal(cry_x509_issue(ca, &req, P("link.pem"), P("link.key"),
	    &d), MRX_EEXIST);
	assert_false(exists(P("nowhere")));
	assert_false(exists(P("link.pem")));
	mrx_diag_clear(&d);
	assert_int_equal(cry_x509_issue(ca, &req, P("a-meti.pem"),
	    P("fresh.key"), &d), MRX_EEXIST);
	assert_false(exists(P("fresh.key")));
	mrx_diag_clear(&d);
	assert_int_equal(cry_x509_ca_save_cert(ca, P("ca-a.pem"), &d),
	    MRX_EEXIST);
	/* a directory that does not exist: an error, and no key left */
	mrx_diag_clear(&d);
	assert_int_equal(cry_x509_issue(ca, &req, P("no/dir.pem"),
	    P("orphan.key"), &d), MRX_ENOENT);
	assert_false(exists(P("orphan.key")));
	cry_x509_ca_free(ca);
}

static void
test_x509_check_ok(void **state)
{
	struct cry_x509_info in;
	struct mrx_diag d;

	(void)state;
	mrx_diag_clear(&d);
	must(cry_x509_check(P("a-meti.pem"), P("a-meti.key"), P("ca-a.pem"),
	    now, &in, &d), &d, "check");
	assert_string_equal(in.subject_cn, "jp.meti");
	assert_int_equal(in.nsan, 4);
	/* the bundle may hold more CAs */
	assert_int_equal(check("a-meti", NULL, "bundle.pem", now, &d), 0);
	assert_int_equal(check("b-meti", NULL, "bundle.pem", now, &d), 0);
}

static void
test_x509_check_key_mismatch(void **state)
{
	struct mrx_diag d;

	(void)state;
	assert_int_equal(check("a-meti", "a-dcsa", "ca-a.pem", now, &d),
	    MRX_EKEY);
	assert_non_null(strstr(d.field, "a-dcsa.key"));
	assert_non_null(strstr(d.msg, "does not belong to the certificate"));
}

static void
test_x509_check_expired(void **state)
{
	struct mrx_diag d;

	(void)state;
	assert_int_equal(check("a-meti-expired", NULL, "ca-a.pem", now, &d),
	    MRX_ERANGE);
	assert_non_null(strstr(d.field, "a-meti-expired.pem"));
	assert_non_null(strstr(d.msg, "expired at"));
	/* at a time inside its window it was fine */
	assert_int_equal(check("a-meti-expired", NULL, "ca-a.pem",
	    now - 5 * DAY, &d), 0);
	/* a good certificate, judged after it ends ... */
	assert_int_equal(check("a-meti", NULL, "ca-a.pem", now + 3 * DAY, &d),
	    MRX_ERANGE);
	/* ... and before it begins */
	assert_int_equal(check("a-meti", NULL, "ca-a.pem", now - DAY, &d),
	    MRX_ERANGE);
	assert_non_null(strstr(d.msg, "not valid before"));
	/* a time its CA is not valid at: the CA, in the bundle, is named */
	assert_int_equal(check("early", NULL, "ca-a.pem", now - 22 * DAY, &d),
	    MRX_ERANGE);
	assert_non_null(strstr(d.field, "ca-a.pem"));
	assert_non_null(strstr(d.msg, "the CA 'mrx test CA ca-a' is not valid "
	    "before"));
	assert_int_equal(check("early", NULL, "ca-a.pem", now, &d), 0);
}

static void
test_x509_check_wrong_ca(void **state)
{
	struct mrx_diag d;

	(void)state;
	assert_int_equal(check("a-meti", NULL, "ca-b.pem", now, &d), MRX_ESIG);
	assert_non_null(strstr(d.msg, "not a CA in"));
	assert_non_null(strstr(d.msg, "ca-b.pem"));
	/* a CA certificate in place of the node's */
	assert_int_equal(check("ca-a", NULL, "ca-a.pem", now, &d), MRX_EINVAL);
	/* a node certificate in the bundle */
	assert_int_equal(check("a-meti", NULL, "a-dcsa.pem", now, &d),
	    MRX_EINVAL);
	assert_non_null(strstr(d.msg, "is not a CA"));
}

static void
test_x509_check_files(void **state)
{
	struct mrx_diag d;

	(void)state;
	assert_int_equal(check("missing", NULL, "ca-a.pem", now, &d),
	    MRX_ENOENT);
	assert_non_null(strstr(d.field, "missing.pem"));
	assert_int_equal(check("a-meti", NULL, "missing.pem", now, &d),
	    MRX_ENOENT);
	/* a key group or others may read is refused before it is parsed */
	assert_int_equal(check("a-meti", "loose", "ca-a.pem", now, &d),
	    MRX_EPERM);
	assert_non_null(strstr(d.msg, "chmod 600"));
	/* a certificate whose base64 is damaged */
	write_text(P("bad.pem"), "-----BEGIN CERTIFICATE-----\nMIIB!!!!\n"
	    "-----END CERTIFICATE-----\n", NULL, 0644);
	assert_int_equal(check("bad", "a-meti", "ca-a.pem", now, &d),
	    MRX_EMALFORMED);
	assert_non_null(strstr(d.msg, "certificate 1 is corrupt"));
	/* a file with no certificate at all (a key) */
	assert_int_equal(check("a-meti", NULL, "a-meti.key", now, &d),
	    MRX_EMALFORMED);
	assert_non_null(strstr(d.msg, "holds no PEM certificate"));
}

static void
test_x509_ca_load_refusals(void **state)
{
	struct cry_x509_ca *ca = NULL;
	struct mrx_diag d;

	(void)state;
	mrx_diag_clear(&d);
	assert_int_equal(cry_x509_ca_load(P("ca-a.pem"), P("ca-b.key"), now,
	    &ca, &d), MRX_EKEY);
	assert_null(ca);
	assert_non_null(strstr(d.msg, "is not the private key of the CA"));
	mrx_diag_clear(&d);
	assert_int_equal(cry_x509_ca_load(P("a-meti.pem"), P("a-meti.key"),
	    now, &ca, &d), MRX_EINVAL);
	assert_non_null(strstr(d.msg, "is not a CA certificate"));
	mrx_diag_clear(&d);
	assert_int_equal(cry_x509_ca_load(P("ca-a.pem"), P("ca-a.key"),
	    now + 31 * DAY, &ca, &d), MRX_ERANGE);
	assert_non_null(strstr(d.msg, "expired at"));
	mrx_diag_clear(&d);
	assert_int_equal(cry_x509_ca_load(P("bundle.pem"), P("ca-a.key"), now,
	    &ca, &d), MRX_EINVAL);
	assert_non_null(strstr(d.msg, "exactly one"));
	mrx_diag_clear(&d);
	assert_int_equal(cry_x509_ca_load(P("ca-a.pem"), P("loose.key"), now,
	    &ca, &d), MRX_EPERM);
	assert_null(ca);
}

static void
test_x509_describe_bundle(void **state)
{
	struct cry_x509_info in[2];
	struct mrx_diag d;
	size_t n = 0;

	(void)state;
	mrx_diag_clear(&d);
	must(cry_x509_describe_file(P("bundle.pem"), in, 2, &n, &d), &d,
	    "bundle");
	assert_int_equal(n, 2);
	assert_string_equal(in[0].subject_cn, "mrx test CA ca-b");
	assert_string_equal(in[1].subject_cn, "mrx test CA ca-a");
	mrx_diag_clear(&d);
	assert_int_equal(cry_x509_describe_file(P("bundle.pem"), in, 1, &n, &d),
	    MRX_ETOOBIG);
}

static void
test_x509_validity_days(void **state)
{
	struct cry_x509_validity v;

	(void)state;
	assert_int_equal(cry_x509_validity_days(now, 0, &v), MRX_ERANGE);
	assert_int_equal(cry_x509_validity_days(now, CRY_X509_DAYS_MAX + 1,
	    &v), MRX_ERANGE);
	assert_int_equal(cry_x509_validity_days(now, 825, &v), 0);
	assert_int_equal(v.not_after - now, 825 * (int64_t)DAY);
	assert_true(cry_x509_id_ok("jp.meti"));
	assert_false(cry_x509_id_ok("jp.meti."));
	assert_false(cry_x509_id_ok("-jp"));
	assert_false(cry_x509_id_ok("jp-.meti"));
	assert_true(cry_x509_host_ok("::1"));
	assert_true(cry_x509_host_ok("192.0.2.1"));
	assert_false(cry_x509_host_ok("a_b"));
	assert_false(cry_x509_host_ok(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_engine),
		cmocka_unit_test(test_x509_ca),
		cmocka_unit_test(test_x509_node_default_sans),
		cmocka_unit_test(test_x509_node_profile),
		cmocka_unit_test(test_x509_node_hosts),
		cmocka_unit_test(test_x509_issue_refusals),
		cmocka_unit_test(test_x509_never_overwrites),
		cmocka_unit_test(test_x509_check_ok),
		cmocka_unit_test(test_x509_check_key_mismatch),
		cmocka_unit_test(test_x509_check_expired),
		cmocka_unit_test(test_x509_check_wrong_ca),
		cmocka_unit_test(test_x509_check_files),
		cmocka_unit_test(test_x509_ca_load_refusals),
		cmocka_unit_test(test_x509_describe_bundle),
		cmocka_unit_test(test_x509_validity_days),
		cmocka_unit_test(test_link_same_ca),
		cmocka_unit_test(test_client_other_ca),
		cmocka_unit_test(test_client_no_cert),
		cmocka_unit_test(test_client_expired),
		cmocka_unit_test(test_server_expired),
		cmocka_unit_test(test_server_unknown_ca),
		cmocka_unit_test(test_server_wrong_name),
		cmocka_unit_test(test_mbedtls_name_rules),
		cmocka_unit_test(test_server_name_localhost),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
