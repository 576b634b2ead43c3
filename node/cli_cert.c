/*
 * cli_cert.c - mrx cert ca|issue|show|check: the X.509 material of the
 * mutual-TLS links between nodes (crypto/x509.h; docs/tls.md).
 *
 *   ca     a CA for an authority or a federation: DIR/ca.pem, DIR/ca.key
 *   issue  a node's certificate from a CA: DIR/node.pem, DIR/node.key and
 *          DIR/ca.pem, the bundle of CAs the node trusts (a copy of the
 *          issuing CA's certificate; an operator appends other CAs to it)
 *   show   what the certificates of a PEM file say
 *   check  node.pem, node.key and ca.pem as a peer will judge them
 *
 * Nothing is ever overwritten: every file a command would write is checked
 * to be absent before anything is made, and each is created with O_EXCL.
 * A failure takes back the files this command made (and the output
 * directory, if it made it). Exit codes: 0 ok, 1 the material is invalid
 * (a check failed, a CA that cannot issue), 2 usage or I/O error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "x509.h"

#define CERT_PATH_MAX 4096
#define CERT_WARN_DAYS 30	/* check warns when expiry is this close */

static const char ca_usage[] =
    "usage: mrx cert ca --out DIR [--name CN] [--days N]\n"
    "\n"
    "Makes a CA for the TLS links of an authority or a federation: an ECDSA\n"
    "P-256 key DIR/ca.key (mode 0600) and a self-signed certificate\n"
    "DIR/ca.pem (CA:TRUE, pathlen 0, keyCertSign and cRLSign). DIR is created\n"
    "(mode 0700) if it does not exist; existing files are never overwritten.\n"
    "\n"
    "  --out DIR    where to write ca.pem and ca.key\n"
    "  --name CN    the CA's common name (default \"mrx federation CA\")\n"
    "  --days N     validity in days (default 3650)\n";

static const char issue_usage[] =
    "usage: mrx cert issue --ca DIR --id ID --out DIR [--host NAME|IP]...\n"
    "                      [--days N] [--not-before TIME --not-after TIME]\n"
    "\n"
    "Issues a node's TLS certificate from the CA in --ca DIR (ca.pem and\n"
    "ca.key, as 'mrx cert ca' writes them) and writes to --out DIR:\n"
    "  node.pem   the certificate: CN and DNS name ID, the hosts as further\n"
    "             subjectAltNames, serverAuth and clientAuth (mode 0644)\n"
    "  node.key   its ECDSA P-256 key (mode 0600)\n"
    "  ca.pem     the bundle of CAs this node trusts: a copy of the issuing\n"
    "             CA's certificate. Append the certificates of other CAs the\n"
    "             node should trust (cat other-ca.pem >> ca.pem).\n"
    "\n"
    "  --id ID            the node's id, a DNS name (e.g. jp.meti); peers\n"
    "                     verify it as the TLS server name\n"
    "  --host NAME|IP     a DNS name or IP address the node is reached at,\n"
    "                     repeatable (default localhost, 127.0.0.1, ::1)\n"
    "  --days N           validity in days (default 825), at most until the\n"
    "                     CA expires\n"
    "  --not-before TIME, --not-after TIME\n"
    "                     an explicit window (RFC 3339), e.g. for tests\n"
    "\n"
    "DIR is created (mode 0700) if it does not exist; existing files are\n"
    "never overwritten.\n";

static const char show_usage[] =
    "usage: mrx cert show FILE [--json]\n"
    "\n"
    "Describes every certificate in the PEM file: subject and issuer CN,\n"
    "subjectAltNames, validity (RFC 3339, UTC), SHA-256 fingerprint of the\n"
    "DER certificate, serial, key, and whether it is a CA.\n";

static const char check_usage[] =
    "usage: mrx cert check --dir DIR [--cert F] [--key F] [--ca F]\n"
    "                      [--at TIME]\n"
    "\n"
    "Checks a node's TLS material as its peers will: DIR/node.pem is a node\n"
    "certificate, DIR/node.key is its key (mode 0600), it chains to a CA in\n"
    "DIR/ca.pem, it and its CA are valid now (or at --at TIME), and it may\n"
    "act as TLS client and server. --cert, --key and --ca name other files.\n"
    "Exit 0 ok, 1 a check failed, 2 a file cannot be read. Warns on stderr\n"
    "when the certificate expires within 30 days.\n";

static const char cert_usage[] =
    "usage: mrx cert ca --out DIR [--name CN] [--days N]\n"
    "       mrx cert issue --ca DIR --id ID --out DIR [--host NAME|IP]...\n"
    "                      [--days N]\n"
    "       mrx cert show FILE [--json]\n"
    "       mrx cert check --dir DIR [--at TIME]\n"
    "\n"
    "TLS certificates for the links between nodes (see docs/tls.md).\n"
    "Run 'mrx cert SUBCOMMAND --help' for each. Exit status: 0 ok, 1 invalid\n"
    "material or a failed check, 2 usage or I/O error.\n";

/* Exit code for an error about a file's content (1) or access (2). */
static int
exit_for(int rc)
{
	switch (rc) {
	case MRX_ENOENT:
	case MRX_EIO:
	case MRX_EEXIST:
	case MRX_ENOMEM:
		return CLI_USAGE;
	default:
		return CLI_REJECT;
	}
}

/* Prints the diag's message (which names the file) and returns `ex`. */
static int
fail(int ex, int rc, const struct mrx_diag *d)
{
	cli_err("%s", d->msg[0] != '\0' ? d->msg : mrx_strerror(rc));
	return ex;
}

/* dir/name into buf (CERT_PATH_MAX); CLI_USAGE if it does not fit. */
static int
join(char *buf, const char *dir, const char *name)
{
	int n = snprintf(buf, CERT_PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= CERT_PATH_MAX) {
		cli_err("path too long: %s/%s", dir, name);
		return CLI_USAGE;
	}
	return 0;
}

static int
days_opt(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 ||
	    v > CRY_X509_DAYS_MAX) {
		cli_err("--days: '%s' is not a number of days from 1 to %d", s,
		    CRY_X509_DAYS_MAX);
		return CLI_USAGE;
	}
	*out = (int)v;
	return 0;
}

/* Refuses if any of the paths exists: nothing is made then. */
static int
refuse_existing(const char *const *paths, size_t n)
{
	struct stat st;
	size_t i;

	for (i = 0; i < n; i++)
		if (lstat(paths[i], &st) == 0) {
			cli_err("%s already exists; refusing to overwrite it",
			    paths[i]);
			return CLI_USAGE;
		}
	return 0;
}

/* Creates DIR (0700) unless it is a directory already. */
static int
out_dir(const char *dir, bool *made)
{
	struct stat st;

	*made = false;
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		cli_err("%s exists and is not a directory", dir);
		return CLI_USAGE;
	}
	if (mkdir(dir, 0700) != 0) {
		cli_err("cannot create %s: %s", dir, strerror(errno));
		return CLI_USAGE;
	}
	*made = true;
	return 0;
}

static void
print_info(const struct cry_x509_info *in, int64_t now)
{
	char fp[2 * CRY_SHA256_LEN + 1];
	size_t i;

	printf("  subject     CN=%s\n", in->subject_cn);
	printf("  issuer      CN=%s%s\n", in->issuer_cn, in->self_signed ?
	    " (self-signed)" : "");
	if (in->is_ca && in->pathlen >= 0)
		printf("  CA          yes, pathlen %d\n", in->pathlen);
	else
		printf("  CA          %s\n", in->is_ca ? "yes" : "no");
	printf("  SANs        ");
	for (i = 0; i < in->nsan; i++)
		printf("%s%s", i > 0 ? ", " : "", in->san[i]);
	printf("%s\n", in->nsan == 0 ? "(none)" : in->san_more ? ", ..." : "");
	printf("  key         %s\n", in->key);
	printf("  serial      %s\n", in->serial);
	printf("  not before  %s\n", in->not_before_str);
	printf("  not after   %s%s\n", in->not_after_str,
	    now > in->not_after ? " (EXPIRED)" : now < in->not_before ?
	    " (NOT YET VALID)" : "");
	printf("  sha256      %s\n", cli_hex(in->sha256, CRY_SHA256_LEN, fp));
}

static json_t *
info_json(const struct cry_x509_info *in, int64_t now)
{
	char fp[2 * CRY_SHA256_LEN + 1];
	json_t *sans = json_array(), *j;
	size_t i;

	for (i = 0; sans != NULL && i < in->nsan; i++)
		json_array_append_new(sans, json_string(in->san[i]));
	j = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:b, s:b, s:s, s:s, "
	    "s:b}", "subject_cn", in->subject_cn, "issuer_cn", in->issuer_cn,
	    "san", sans != NULL ? sans : json_null(), "not_before",
	    in->not_before_str, "not_after", in->not_after_str, "sha256",
	    cli_hex(in->sha256, CRY_SHA256_LEN, fp), "is_ca", in->is_ca,
	    "self_signed", in->self_signed, "key", in->key, "serial",
	    in->serial, "valid_now", now >= in->not_before &&
	    now <= in->not_after);
	if (j != NULL && in->is_ca && in->pathlen >= 0)
		json_object_set_new(j, "pathlen", json_integer(in->pathlen));
	return j;
}

static int
cert_ca(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, 'n' },
		{ "days", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *name = "mrx federation CA";
	char cert[CERT_PATH_MAX], key[CERT_PATH_MAX];
	const char *paths[2] = { cert, key };
	struct cry_x509_info info;
	struct cry_x509_validity v;
	struct mrx_diag d;
	int c, days = CRY_X509_CA_DAYS_DEFAULT, rc;
	size_t n;
	bool made;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'n': name = optarg; break;
		case 'd':
			if (days_opt(optarg, &days) != 0)
				return CLI_USAGE;
			break;
		case 'h': fputs(ca_usage, stdout); return CLI_OK;
		default: fputs(ca_usage, stderr); return CLI_USAGE;
		}
	}
	if (optind != argc) {
		cli_err("unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (out == NULL) {
		cli_err("--out is required");
		return CLI_USAGE;
	}
	if (cry_x509_validity_days(cli_now(), days, &v) != 0) {
		cli_err("--days: %d days from now is out of range", days);
		return CLI_USAGE;
	}
	if (join(cert, out, "ca.pem") != 0 || join(key, out, "ca.key") != 0 ||
	    refuse_existing(paths, 2) != 0)
		return CLI_USAGE;
	rc = out_dir(out, &made);
	if (rc != 0)
		return rc;
	mrx_diag_clear(&d);
	rc = cry_x509_ca_create(name, &v, cert, key, &d);
	if (rc == 0 && (rc = cry_x509_describe_file(cert, &info, 1, &n,
	    &d)) != 0) {
		unlink(cert);
		unlink(key);
	}
	if (rc != 0) {
		if (made)
			rmdir(out);
		return fail(CLI_USAGE, rc, &d);
	}
	printf("CA '%s'\n  certificate %s\n  private key %s (mode 0600)\n",
	    name, cert, key);
	print_info(&info, cli_now());
	return CLI_OK;
}

struct issue_opts {
	const char *ca, *id, *out, *not_before, *not_after;
	const char *hosts[CLI_LIST_MAX];
	size_t nhosts;
	int days;
};

static int
parse_issue(int argc, char **argv, struct issue_opts *o)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'c' },
		{ "id", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "host", required_argument, NULL, 'H' },
		{ "days", required_argument, NULL, 'd' },
		{ "not-before", required_argument, NULL, 'b' },
		{ "not-after", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->days = CRY_X509_NODE_DAYS_DEFAULT;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o->ca = optarg; break;
		case 'i': o->id = optarg; break;
		case 'o': o->out = optarg; break;
		case 'b': o->not_before = optarg; break;
		case 'a': o->not_after = optarg; break;
		case 'H':
			if (cli_list_add(o->hosts, &o->nhosts, "--host",
			    optarg) != 0)
				return CLI_USAGE;
			break;
		case 'd':
			if (days_opt(optarg, &o->days) != 0)
				return CLI_USAGE;
			break;
		case 'h': fputs(issue_usage, stdout); return -1;
		default: fputs(issue_usage, stderr); return CLI_USAGE;
		}
	}
	if (optind != argc) {
		cli_err("unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (o->ca == NULL || o->id == NULL || o->out == NULL) {
		cli_err("--ca, --id and --out are required");
		return CLI_USAGE;
	}
	if ((o->not_before == NULL) != (o->not_after == NULL)) {
		cli_err("--not-before and --not-after go together");
		return CLI_USAGE;
	}
	return 0;
}

/* The request: id, hosts and window (explicit, or --days from now). */
static int
issue_req(const struct issue_opts *o, struct cry_x509_node_req *req)
{
	memset(req, 0, sizeof(*req));
	req->id = o->id;
	req->hosts = o->hosts;
	req->nhosts = o->nhosts;
	if (o->not_before == NULL) {
		if (cry_x509_validity_days(cli_now(), o->days, &req->v) == 0)
			return 0;
		cli_err("--days: %d days from now is out of range", o->days);
		return CLI_USAGE;
	}
	if (cli_time_opt("--not-before", o->not_before,
	    &req->v.not_before) != 0 ||
	    cli_time_opt("--not-after", o->not_after, &req->v.not_after) != 0)
		return CLI_USAGE;
	return 0;
}

/* Issues node.pem/node.key and copies the CA to ca.pem; all or nothing. */
static int
issue_write(const struct cry_x509_ca *ca, const struct cry_x509_node_req *req,
    char paths[3][CERT_PATH_MAX], struct mrx_diag *d)
{
	int rc;

	rc = cry_x509_issue(ca, req, paths[0], paths[1], d);
	if (rc != 0)
		return rc;
	rc = cry_x509_ca_save_cert(ca, paths[2], d);
	if (rc != 0) {
		unlink(paths[0]);
		unlink(paths[1]);
	}
	return rc;
}

static int
cert_issue(int argc, char **argv)
{
	char p[3][CERT_PATH_MAX], cap[CERT_PATH_MAX], cak[CERT_PATH_MAX];
	const char *paths[3] = { p[0], p[1], p[2] };
	struct cry_x509_node_req req;
	struct cry_x509_ca *ca = NULL;
	struct cry_x509_info info;
	struct issue_opts o;
	struct mrx_diag d;
	size_t n;
	bool made;
	int rc;

	rc = parse_issue(argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	if (issue_req(&o, &req) != 0 || join(cap, o.ca, "ca.pem") != 0 ||
	    join(cak, o.ca, "ca.key") != 0 || join(p[0], o.out,
	    "node.pem") != 0 || join(p[1], o.out, "node.key") != 0 ||
	    join(p[2], o.out, "ca.pem") != 0 || refuse_existing(paths, 3) != 0)
		return CLI_USAGE;
	mrx_diag_clear(&d);
	rc = cry_x509_ca_load(cap, cak, cli_now(), &ca, &d);
	if (rc != 0)
		return fail(exit_for(rc), rc, &d);
	rc = out_dir(o.out, &made);
	if (rc != 0) {
		cry_x509_ca_free(ca);
		return rc;
	}
	rc = issue_write(ca, &req, p, &d);
	cry_x509_ca_free(ca);
	if (rc == 0 && (rc = cry_x509_describe_file(p[0], &info, 1, &n,
	    &d)) != 0)
		for (n = 0; n < 3; n++)
			unlink(p[n]);
	if (rc != 0) {
		if (made)
			rmdir(o.out);
		return fail(CLI_USAGE, rc, &d);
	}
	printf("node certificate for %s\n  certificate %s\n  private key %s "
	    "(mode 0600)\n  CA bundle   %s (append other CAs to trust)\n",
	    o.id, p[0], p[1], p[2]);
	print_info(&info, cli_now());
	return CLI_OK;
}

static int
cert_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cry_x509_info *info;
	struct mrx_diag d;
	json_t *arr;
	int64_t now = cli_now();
	bool json = false;
	size_t i, n = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': fputs(show_usage, stdout); return CLI_OK;
		default: fputs(show_usage, stderr); return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		cli_err("give exactly one FILE (see --help)");
		return CLI_USAGE;
	}
	info = calloc(CRY_X509_BUNDLE_MAX, sizeof(*info));
	if (info == NULL) {
		cli_err("out of memory");
		return CLI_USAGE;
	}
	mrx_diag_clear(&d);
	rc = cry_x509_describe_file(argv[optind], info, CRY_X509_BUNDLE_MAX, &n,
	    &d);
	if (rc != 0) {
		free(info);
		return fail(exit_for(rc), rc, &d);
	}
	if (json) {
		arr = json_array();
		for (i = 0; arr != NULL && i < n; i++)
			json_array_append_new(arr, info_json(&info[i], now));
		cli_json_print(json_pack("{s:s, s:o}", "file", argv[optind],
		    "certificates", arr != NULL ? arr : json_null()));
	} else {
		for (i = 0; i < n; i++) {
			printf("%s: certificate %zu of %zu\n", argv[optind],
			    i + 1, n);
			print_info(&info[i], now);
		}
	}
	free(info);
	return CLI_OK;
}

struct check_opts {
	const char *dir, *cert, *key, *ca, *at;
};

static int
parse_check(int argc, char **argv, struct check_opts *o)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },
		{ "at", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o->dir = optarg; break;
		case 'c': o->cert = optarg; break;
		case 'k': o->key = optarg; break;
		case 'a': o->ca = optarg; break;
		case 't': o->at = optarg; break;
		case 'h': fputs(check_usage, stdout); return -1;
		default: fputs(check_usage, stderr); return CLI_USAGE;
		}
	}
	if (optind != argc) {
		cli_err("unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (o->dir == NULL && (o->cert == NULL || o->key == NULL ||
	    o->ca == NULL)) {
		cli_err("--dir is required (or all of --cert, --key and --ca)");
		return CLI_USAGE;
	}
	return 0;
}

/* `given`, or DIR/name, into buf. */
static int
check_path(char *buf, const char *given, const char *dir, const char *name)
{
	if (given != NULL) {
		snprintf(buf, CERT_PATH_MAX, "%s", given);
		return 0;
	}
	return join(buf, dir, name);
}

static int
cert_check(int argc, char **argv)
{
	char cert[CERT_PATH_MAX], key[CERT_PATH_MAX], ca[CERT_PATH_MAX];
	struct cry_x509_info info;
	struct check_opts o;
	struct mrx_diag d;
	int64_t now = cli_now(), at = now, left;
	int rc;

	rc = parse_check(argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	if ((o.at != NULL && cli_time_opt("--at", o.at, &at) != 0) ||
	    check_path(cert, o.cert, o.dir, "node.pem") != 0 ||
	    check_path(key, o.key, o.dir, "node.key") != 0 ||
	    check_path(ca, o.ca, o.dir, "ca.pem") != 0)
		return CLI_USAGE;
	mrx_diag_clear(&d);
	rc = cry_x509_check(cert, key, ca, at, &info, &d);
	if (rc != 0)
		return fail(exit_for(rc), rc, &d);
	printf("ok: %s (CN %s, issuer CN %s) matches %s, chains to %s and is "
	    "valid until %s\n", cert, info.subject_cn, info.issuer_cn, key, ca,
	    info.not_after_str);
	left = (info.not_after - at) / 86400;
	if (left < CERT_WARN_DAYS)
		fprintf(stderr, "%s: warning: %s expires in %lld days (%s); "
		    "issue a new one (see docs/tls.md)\n", cli_cmd, cert,
		    (long long)left, info.not_after_str);
	return CLI_OK;
}

int
cmd_cert(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} subs[] = {
		{ "ca", cert_ca },
		{ "issue", cert_issue },
		{ "show", cert_show },
		{ "check", cert_check },
	};
	static char prefix[64];
	size_t i;

	if (argc < 2) {
		fputs(cert_usage, stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(cert_usage, stdout);
		return CLI_OK;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0) {
			snprintf(prefix, sizeof(prefix), "mrx cert %s",
			    subs[i].name);
			cli_cmd = prefix;
			return subs[i].fn(argc - 1, argv + 1);
		}
	cli_err("unknown subcommand '%s'", argv[1]);
	fputs(cert_usage, stderr);
	return CLI_USAGE;
}
