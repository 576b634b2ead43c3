/*
 * cli_init.c - mrx init: a new node's data directory, ready for
 * `mrxd --data DIR`: its signing key, for an issuer a delegation of that key
 * (so it can issue at once), the API's admin token and a commented mrx.yaml.
 *
 * Nothing is half-created. Everything is built in DIR/.init-tmp-XXXXXX
 * (mode 0700) and checked (the configuration is read back) before any of it
 * appears in DIR; then the pieces are moved in, mrx.yaml last. On a failure
 * the temporary directory is removed, the pieces already moved are taken
 * back, and DIR itself is removed if init created it. Nothing is ever
 * overwritten: an existing DIR/mrx.yaml is always refused, and --force only
 * lets DIR hold other, unrelated files. Files are moved in with link() +
 * unlink() (which fails if the name exists) and directories with rename()
 * (which fails on a non-empty directory).
 *
 * Without --root-key an issuer gets a local root of its own (keys/root.key,
 * id "<id>.root"): a development trust chain, said so on stdout and in
 * mrx.yaml, to be replaced by a delegation from the national root.
 *
 * Every node gets its TLS material for the links between nodes in tls/
 * (docs/tls.md): node.pem, node.key and ca.pem, the CAs it trusts. With
 * --tls-ca the certificate is issued by that CA; without it, by a
 * development CA made for the node in tls/ca/, which is said so on stdout
 * like the local root. The TLS material is made after mrx.yaml is written
 * (all of it still in the temporary directory), so that the configuration
 * is the first thing to fail when the disk is full.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "file.h"
#include "level.h"
#include "node_conf.h"
#include "ptime.h"
#include "value.h"
#include "x509.h"

#define INIT_DIR_MAX 900	/* DIR, leaving room for the longest path */
#define INIT_TOKEN_LEN 32	/* random bytes of the admin token */
#define INIT_VALID_YEARS 2	/* the delegation's validity */
#define INIT_TREE_DEPTH 3	/* deepest level cleanup descends */
#define INIT_PATH_MAX 4096

static const char init_usage[] =
    "usage: mrx init --role root|issuer|operator --id ID --jurisdiction CC\n"
    "                --data DIR [--api HOST:PORT] [--alg ed25519|es256]\n"
    "                [--root-key KEY --root-id ID] [--level L]... [--force]\n"
    "                [--tls-ca CADIR] [--tls-host NAME|IP]...\n"
    "\n"
    "Creates the data directory of a new node (mode 0700) with:\n"
    "  keys/sign.key, keys/sign.pub  the node's signing key (0600) and its\n"
    "                                public key\n"
    "  trust/delegation.cose         (issuer) a delegation of that key from\n"
    "                                a root, valid 2 years\n"
    "  admin.token                   the API's bearer token (0600)\n"
    "  tls/node.pem, tls/node.key    the node's TLS certificate and its key\n"
    "                                (0600) for the links between nodes\n"
    "  tls/ca.pem                    the CAs the node trusts on those links\n"
    "  tls/ca/                       (without --tls-ca) a development CA\n"
    "  mrx.yaml                      the configuration, every key explained\n"
    "\n"
    "options:\n"
    "  --role R            root, issuer or operator\n"
    "  --id ID             the node's id, e.g. jp.meti\n"
    "  --jurisdiction CC   ISO 3166 alpha-2 code in upper case, e.g. JP\n"
    "  --data DIR          the data directory (its parent must exist)\n"
    "  --api HOST:PORT     where the API listens (default 127.0.0.1:7400)\n"
    "  --alg A             ed25519 (default) or es256\n"
    "  --root-key KEY      (issuer) the private key of the root that signs\n"
    "                      the delegation (it is not copied into DIR)\n"
    "  --root-id ID        (issuer) that root's id; without these two, init\n"
    "                      makes a local root ID.root: a development trust\n"
    "                      chain, to be replaced by the national root's\n"
    "  --level L           (issuer) a level to delegate, repeatable; default\n"
    "                      every level of the jurisdiction's schemes (JP,\n"
    "                      US, GB/UK)\n"
    "  --tls-ca CADIR      issue the TLS certificate from the CA in CADIR\n"
    "                      (ca.pem and ca.key, as 'mrx cert ca' makes them;\n"
    "                      ca.key is not copied); without it, init makes a\n"
    "                      development CA in DIR/tls/ca/ (see docs/tls.md)\n"
    "  --tls-host NAME|IP  a DNS name or address peers reach the node at,\n"
    "                      repeatable; the certificate always names the id\n"
    "                      (default localhost, 127.0.0.1 and ::1)\n"
    "  --force             use a DIR that already holds other files\n"
    "\n"
    "An existing DIR/mrx.yaml is never overwritten, nor any other file.\n";

struct init_opts {
	const char *role, *id, *jur, *data, *api, *alg, *root_key, *root_id;
	const char *levels[CLI_LIST_MAX];
	size_t nlevels;
	const char *tls_ca;			/* CADIR, or NULL: a dev CA */
	const char *tls_hosts[CLI_LIST_MAX];
	size_t ntls_hosts;
	bool force;
};

/* What init will make, validated. */
struct init_plan {
	char dir[INIT_DIR_MAX + 1];		/* DIR without trailing '/' */
	enum eng_role role;
	enum cry_alg alg;
	char host[64];
	int port;
	char root_id[PROTO_ID_MAX + 1];		/* issuer and root roles */
	struct proto_strs levels;		/* issuer */
	bool local_root;			/* issuer without --root-key */
	const struct init_opts *o;
};

/* What init has made so far, for the summary and for cleanup. */
struct init_state {
	char tmp[INIT_PATH_MAX];		/* DIR/.init-tmp-XXXXXX */
	bool made_dir;				/* DIR did not exist */
	struct cry_key *sign, *root;
	int64_t exp;				/* the delegation's expiry */
	struct cry_x509_ca *tls_ca;		/* issues tls/node.pem */
	struct cry_x509_info tls;		/* tls/node.pem as made */
	const char *moved[5];			/* entries moved into DIR */
	size_t nmoved;
};

/* The entries init puts in DIR, in the order they are moved in. */
static const char *const entries[] = {
	"keys", "trust", "admin.token", "tls", CONF_FILE
};

static int
parse_init_opts(int argc, char **argv, struct init_opts *o)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "id", required_argument, NULL, 'i' },
		{ "jurisdiction", required_argument, NULL, 'j' },
		{ "data", required_argument, NULL, 'd' },
		{ "api", required_argument, NULL, 'a' },
		{ "alg", required_argument, NULL, 'A' },
		{ "root-key", required_argument, NULL, 'k' },
		{ "root-id", required_argument, NULL, 'K' },
		{ "level", required_argument, NULL, 'l' },
		{ "tls-ca", required_argument, NULL, 'T' },
		{ "tls-host", required_argument, NULL, 'H' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': o->role = optarg; break;
		case 'i': o->id = optarg; break;
		case 'j': o->jur = optarg; break;
		case 'd': o->data = optarg; break;
		case 'a': o->api = optarg; break;
		case 'A': o->alg = optarg; break;
		case 'k': o->root_key = optarg; break;
		case 'K': o->root_id = optarg; break;
		case 'F': o->force = true; break;
		case 'T': o->tls_ca = optarg; break;
		case 'H':
			if (cli_list_add(o->tls_hosts, &o->ntls_hosts,
			    "--tls-host", optarg) != 0)
				return CLI_USAGE;
			break;
		case 'l':
			if (cli_list_add(o->levels, &o->nlevels, "--level",
				optarg) != 0)
				return CLI_USAGE;
			break;
		case 'h': fputs(init_usage, stdout); return -1;
		default: fputs(init_usage, stderr); return CLI_USAGE;
		}
	}
	if (optind != argc) {
		cli_err("unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (o->role == NULL || o->id == NULL || o->jur == NULL ||
	    o->data == NULL) {
		cli_err("--role, --id, --jurisdiction and --data are required");
		return CLI_USAGE;
	}
	return 0;
}

/* Every level of the jurisdiction's own schemes. */
static int
default_levels(const char *jur, struct proto_strs *out)
{
	const struct proto_level *lv;
	const char *s1 = NULL, *s2 = NULL;
	int i, n;

	if (strcmp(jur, "JP") == 0) {
		s1 = "JP-CESI";
		s2 = "JP-SDS";
	} else if (strcmp(jur, "US") == 0) {
		s1 = "US";
	} else if (strcmp(jur, "GB") == 0 || strcmp(jur, "UK") == 0) {
		s1 = "UK";
	} else {
		cli_err("no default levels for jurisdiction %s; name the "
		    "levels to delegate with --level SCHEME:LEVEL (see mrx "
		    "issue --help)", jur);
		return CLI_USAGE;
	}
	lv = proto_levels(&n);
	for (i = 0; i < n && out->n < PROTO_LIST_MAX; i++)
		if (strcmp(lv[i].scheme, s1) == 0 ||
		    (s2 != NULL && strcmp(lv[i].scheme, s2) == 0))
			snprintf(out->v[out->n++], sizeof(out->v[0]), "%s",
			    lv[i].name);
	return 0;
}

static int
plan_levels(const struct init_opts *o, struct init_plan *p)
{
	size_t i, j;

	if (o->nlevels == 0)
		return default_levels(o->jur, &p->levels);
	for (i = 0; i < o->nlevels; i++) {
		if (proto_level_find(o->levels[i]) == NULL) {
			cli_err("--level: unknown level '%s' (see mrx issue "
			    "--help)", o->levels[i]);
			return CLI_USAGE;
		}
		for (j = 0; j < i; j++)
			if (strcmp(o->levels[j], o->levels[i]) == 0) {
				cli_err("--level: '%s' is given twice",
				    o->levels[i]);
				return CLI_USAGE;
			}
		snprintf(p->levels.v[i], sizeof(p->levels.v[i]), "%s",
		    o->levels[i]);
	}
	p->levels.n = o->nlevels;
	return 0;
}

/* The root that signs an issuer's delegation: given, or local. */
static int
plan_root(const struct init_opts *o, struct init_plan *p)
{
	if ((o->root_key == NULL) != (o->root_id == NULL)) {
		cli_err("--root-key and --root-id go together");
		return CLI_USAGE;
	}
	p->local_root = o->root_key == NULL;
	if (o->root_id != NULL && (!proto_id_valid(o->root_id) ||
	    strcmp(o->root_id, o->id) == 0)) {
		cli_err("--root-id: '%s' is not a valid id other than --id",
		    o->root_id);
		return CLI_USAGE;
	}
	if (p->local_root && (size_t)snprintf(p->root_id, sizeof(p->root_id),
	    "%s.root", o->id) >= sizeof(p->root_id)) {
		cli_err("--id: '%s.root', the local root's id, is longer than "
		    "%d characters; give --root-key and --root-id", o->id,
		    PROTO_ID_MAX);
		return CLI_USAGE;
	}
	if (!p->local_root)
		snprintf(p->root_id, sizeof(p->root_id), "%s", o->root_id);
	return plan_levels(o, p);
}

/* The id and the hosts must fit in a TLS certificate. */
static int
plan_tls(const struct init_opts *o)
{
	size_t i;

	if (!cry_x509_id_ok(o->id)) {
		cli_err("--id: '%s' cannot name a TLS certificate (a DNS name: "
		    "no empty label, none starting or ending with '-')", o->id);
		return CLI_USAGE;
	}
	for (i = 0; i < o->ntls_hosts; i++)
		if (!cry_x509_host_ok(o->tls_hosts[i])) {
			cli_err("--tls-host: '%s' is neither an IP address nor "
			    "a DNS name", o->tls_hosts[i]);
			return CLI_USAGE;
		}
	if (o->ntls_hosts + 1 > CRY_X509_SAN_MAX) {
		cli_err("--tls-host: at most %d hosts besides the id",
		    CRY_X509_SAN_MAX - 1);
		return CLI_USAGE;
	}
	return 0;
}

static int
make_plan(const struct init_opts *o, struct init_plan *p)
{
	char api[80];
	struct mrx_diag d;
	size_t n;

	memset(p, 0, sizeof(*p));
	p->o = o;
	if (eng_role_parse(o->role, &p->role) != 0) {
		cli_err("--role: '%s' is not a role (root, issuer or operator)",
		    o->role);
		return CLI_USAGE;
	}
	if (!proto_id_valid(o->id)) {
		cli_err("--id: '%s' is not a valid id (1 to %d of a-z, 0-9, "
		    "'.' and '-', starting with a letter or digit)", o->id,
		    PROTO_ID_MAX);
		return CLI_USAGE;
	}
	if (strlen(o->jur) != 2 || o->jur[0] < 'A' || o->jur[0] > 'Z' ||
	    o->jur[1] < 'A' || o->jur[1] > 'Z') {
		cli_err("--jurisdiction: '%s' is not two upper-case letters "
		    "(ISO 3166 alpha-2, e.g. JP)", o->jur);
		return CLI_USAGE;
	}
	snprintf(api, sizeof(api), "%s:%d", CONF_API_HOST_DEFAULT,
	    CONF_API_PORT_DEFAULT);
	mrx_diag_clear(&d);
	if (conf_listen_parse(o->api != NULL ? o->api : api, p->host,
	    sizeof(p->host), &p->port, &d) != 0) {
		cli_err("--api: %s", d.msg);
		return CLI_USAGE;
	}
	p->alg = CRY_ALG_EDDSA;
	if (o->alg != NULL && cry_alg_parse(o->alg, &p->alg) != 0) {
		cli_err("--alg: unsupported algorithm '%s' (use ed25519 or "
		    "es256)", o->alg);
		return CLI_USAGE;
	}
	if (strlen(o->data) == 0 || strlen(o->data) > INIT_DIR_MAX) {
		cli_err("--data: the path must have 1 to %d characters",
		    INIT_DIR_MAX);
		return CLI_USAGE;
	}
	memcpy(p->dir, o->data, strlen(o->data) + 1);
	for (n = strlen(p->dir); n > 1 && p->dir[n - 1] == '/'; n--)
		p->dir[n - 1] = '\0';
	if (plan_tls(o) != 0)
		return CLI_USAGE;
	if (p->role == ENG_ROLE_ISSUER)
		return plan_root(o, p);
	if (o->root_key != NULL || o->root_id != NULL || o->nlevels > 0) {
		cli_err("--root-key, --root-id and --level are for --role "
		    "issuer");
		return CLI_USAGE;
	}
	if (p->role == ENG_ROLE_ROOT)
		snprintf(p->root_id, sizeof(p->root_id), "%s", o->id);
	return 0;
}

/*
 * dir/name into buf (INIT_PATH_MAX bytes). DIR is at most INIT_DIR_MAX
 * and the names are init's own, so it always fits; "" if it did not.
 */
static const char *
in_dir(char *buf, const char *dir, const char *name)
{
	int n = snprintf(buf, INIT_PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= INIT_PATH_MAX)
		buf[0] = '\0';
	return buf;
}

/* dir/name into a path of the configuration ("" if it did not fit). */
static void
conf_path(char dst[CONF_PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(dst, CONF_PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= CONF_PATH_MAX)
		dst[0] = '\0';
}

/* DIR must be new, empty, or (with --force) free of init's names. */
static int
check_dir(const struct init_plan *p, bool *exists)
{
	char b[INIT_PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *dp;
	size_t i, others = 0;

	*exists = stat(p->dir, &st) == 0;
	if (!*exists)
		return 0;
	if (!S_ISDIR(st.st_mode)) {
		cli_err("%s exists and is not a directory", p->dir);
		return CLI_USAGE;
	}
	if (access(in_dir(b, p->dir, CONF_FILE), F_OK) == 0) {
		cli_err("%s already holds a node configuration (%s); refusing "
		    "to overwrite it", p->dir, b);
		return CLI_USAGE;
	}
	for (i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		if (lstat(in_dir(b, p->dir, entries[i]), &st) == 0) {
			cli_err("%s already exists; refusing to overwrite it",
			    b);
			return CLI_USAGE;
		}
	dp = opendir(p->dir);
	if (dp == NULL) {
		cli_err("cannot read %s: %s", p->dir, strerror(errno));
		return CLI_USAGE;
	}
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			others++;
	closedir(dp);
	if (others > 0 && !p->o->force) {
		cli_err("%s is not empty; use --force to set the node up among "
		    "its files (nothing is overwritten)", p->dir);
		return CLI_USAGE;
	}
	return 0;
}

/* Removes a tree that init made (depth-bounded, never follows links). */
static void
remove_tree(const char *path, int depth)
{
	char b[INIT_PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *dp;

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode) || depth >= INIT_TREE_DEPTH) {
		unlink(path);
		return;
	}
	dp = opendir(path);
	while (dp != NULL && (de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(b, sizeof(b), "%s/%s", path, de->d_name) <
		    sizeof(b))
			remove_tree(b, depth + 1);
	}
	if (dp != NULL)
		closedir(dp);
	rmdir(path);
}

/* Takes back what was moved, removes the rest; DIR too if it is new. */
static void
rollback(const struct init_plan *p, struct init_state *s)
{
	char from[INIT_PATH_MAX], to[INIT_PATH_MAX];

	while (s->nmoved > 0) {
		s->nmoved--;
		in_dir(from, p->dir, s->moved[s->nmoved]);
		in_dir(to, s->tmp, s->moved[s->nmoved]);
		if (rename(from, to) != 0)
			remove_tree(from, 1);
	}
	if (s->tmp[0] != '\0')
		remove_tree(s->tmp, 0);
	if (s->made_dir)
		rmdir(p->dir);
}

static int
make_dirs(const struct init_plan *p, struct init_state *s)
{
	char b[INIT_PATH_MAX];
	bool exists;
	int rc;

	rc = check_dir(p, &exists);
	if (rc != 0)
		return rc;
	if (!exists) {
		if (mkdir(p->dir, 0700) != 0) {
			cli_err("cannot create %s: %s", p->dir,
			    strerror(errno));
			return CLI_USAGE;
		}
		s->made_dir = true;
	}
	snprintf(s->tmp, sizeof(s->tmp), "%s/.init-tmp-XXXXXX", p->dir);
	if (mkdtemp(s->tmp) == NULL) {
		cli_err("cannot create a directory in %s: %s", p->dir,
		    strerror(errno));
		s->tmp[0] = '\0';
		return CLI_USAGE;
	}
	if (mkdir(in_dir(b, s->tmp, "keys"), 0700) != 0 ||
	    (p->role == ENG_ROLE_ISSUER &&
	    mkdir(in_dir(b, s->tmp, "trust"), 0755) != 0)) {
		cli_err("cannot create %s: %s", b, strerror(errno));
		return CLI_USAGE;
	}
	return 0;
}

static int
save_pair(const struct cry_key *k, const char *tmp, const char *key_name,
    const char *pub_name)
{
	char b[INIT_PATH_MAX], msg[400];
	struct mrx_diag d;

	mrx_diag_clear(&d);
	if ((key_name != NULL &&
	    cry_key_save_private(k, in_dir(b, tmp, key_name), &d) != 0) ||
	    cry_key_save_public(k, in_dir(b, tmp, pub_name), &d) != 0) {
		cli_err("%s", mrx_diag_str(&d, msg, sizeof(msg)));
		return CLI_USAGE;
	}
	return 0;
}

/* The node's key; for an issuer, the root's key (new or given). */
static int
make_keys(const struct init_plan *p, struct init_state *s)
{
	int rc;

	rc = cry_key_generate(p->alg, &s->sign);
	if (rc != 0) {
		cli_err("cannot generate a key: %s", mrx_strerror(rc));
		return CLI_USAGE;
	}
	rc = save_pair(s->sign, s->tmp, "keys/sign.key", "keys/sign.pub");
	if (rc != 0 || p->role != ENG_ROLE_ISSUER)
		return rc;
	if (p->local_root) {
		rc = cry_key_generate(p->alg, &s->root);
		if (rc != 0) {
			cli_err("cannot generate a key: %s", mrx_strerror(rc));
			return CLI_USAGE;
		}
		return save_pair(s->root, s->tmp, "keys/root.key",
		    "keys/root.pub");
	}
	/* the given root's key was loaded before anything was made */
	return save_pair(s->root, s->tmp, NULL, "keys/root.pub");
}

/* root -> this node: the node's key may issue the planned levels. */
static int
make_delegation(const struct init_plan *p, struct init_state *s)
{
	struct conf_duration dur = { INIT_VALID_YEARS, 0 };
	struct proto_record rec;
	struct proto_delegation *dl = &rec.u.del;
	char b[INIT_PATH_MAX];
	int rc;

	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_DELEGATION;
	if (cli_claims_init(&dl->c, p->root_id, NULL) != 0)
		return CLI_USAGE;
	snprintf(dl->c.sub, sizeof(dl->c.sub), "%s", p->o->id);
	dl->c.has_nbf = true;
	if (conf_duration_add(dl->c.iat, &dur, &dl->c.exp) != 0) {
		cli_err("the delegation's expiry is out of range");
		return CLI_USAGE;
	}
	dl->c.has_exp = true;
	s->exp = dl->c.exp;
	rc = cry_key_spki(s->sign, dl->key, sizeof(dl->key), &dl->key_len);
	if (rc != 0) {
		cli_err("cannot encode the public key: %s", mrx_strerror(rc));
		return CLI_USAGE;
	}
	dl->levels = p->levels;
	return cli_sign_write(&rec, s->root, in_dir(b, s->tmp,
	    "trust/delegation.cose"), false);
}

/* INIT_TOKEN_LEN random bytes as lowercase hex and a newline, 0600. */
static int
make_token(struct init_state *s)
{
	uint8_t rnd[INIT_TOKEN_LEN];
	char hex[2 * INIT_TOKEN_LEN + 2], b[INIT_PATH_MAX];
	struct mrx_diag d;
	int rc;

	rc = cry_random(rnd, sizeof(rnd));
	if (rc != 0) {
		cli_err("no randomness for the admin token: %s",
		    mrx_strerror(rc));
		return CLI_USAGE;
	}
	cli_hex(rnd, sizeof(rnd), hex);
	memset(rnd, 0, sizeof(rnd));
	strcat(hex, "\n");
	mrx_diag_clear(&d);
	rc = cry_file_create(in_dir(b, s->tmp, "admin.token"), 0600, hex,
	    strlen(hex), &d) != 0 ? CLI_USAGE : 0;
	if (rc != 0)
		cli_err("%s", d.msg);
	memset(hex, 0, sizeof(hex));
	return rc;
}

/* What mrx.yaml says about how the trust chain came about. */
static void
config_note(const struct init_plan *p, char *buf, size_t cap)
{
	if (p->role == ENG_ROLE_ROOT)
		snprintf(buf, cap, "Made by mrx init. This node is a root "
		    "authority: trust.roots lists its own\npublic key "
		    "(keys/sign.pub). Delegate to an issuer with\n  mrx issue "
		    "delegation --key keys/sign.key --iss %s --delegate "
		    "ISSUER.pub ...", p->o->id);
	else if (p->role == ENG_ROLE_OPERATOR)
		snprintf(buf, cap, "Made by mrx init. trust.roots is empty: "
		    "add the roots of the federation\nthis operator joins, and "
		    "their delegations under trust.chain.");
	else if (p->local_root)
		snprintf(buf, cap, "Made by mrx init. DEVELOPMENT TRUST CHAIN: "
		    "trust/delegation.cose is signed\nby a local root made for "
		    "this authority (id %s, private key\nkeys/root.key). "
		    "Replace it with a delegation from the national root\n"
		    "authority before joining a federation: that root's id and "
		    "public key under\ntrust.roots, its delegation under "
		    "trust.chain; then delete keys/root.key.", p->root_id);
	else
		snprintf(buf, cap, "Made by mrx init. trust/delegation.cose is "
		    "signed by root %s, whose\npublic key is keys/root.pub.",
		    p->root_id);
}

static int
fill_conf(const struct init_plan *p, const struct init_state *s,
    struct node_conf *c)
{
	conf_node_defaults(c);
	if (strlen(s->tmp) < sizeof(c->data_dir))
		memcpy(c->data_dir, s->tmp, strlen(s->tmp) + 1);
	conf_path(c->path, s->tmp, CONF_FILE);
	snprintf(c->id, sizeof(c->id), "%s", p->o->id);
	c->role = p->role;
	snprintf(c->jurisdiction, sizeof(c->jurisdiction), "%s", p->o->jur);
	snprintf(c->api_host, sizeof(c->api_host), "%s", p->host);
	c->api_port = p->port;
	conf_path(c->token_path, s->tmp, "admin.token");
	conf_path(c->signing_key, s->tmp, "keys/sign.key");
	conf_path(c->fed.tls_ca, s->tmp, "tls/ca.pem");
	conf_path(c->fed.tls_cert, s->tmp, "tls/node.pem");
	conf_path(c->fed.tls_key, s->tmp, "tls/node.key");
	if (p->role == ENG_ROLE_OPERATOR)
		return 0;
	c->nroots = 1;
	snprintf(c->roots[0].id, sizeof(c->roots[0].id), "%s", p->root_id);
	conf_path(c->roots[0].key_path, s->tmp, p->role == ENG_ROLE_ROOT ?
	    "keys/sign.pub" : "keys/root.pub");
	if (p->role == ENG_ROLE_ISSUER) {
		c->nchain = 1;
		conf_path(c->chain[0], s->tmp, "trust/delegation.cose");
	}
	return 0;
}

/* Writes mrx.yaml and reads it back: what mrxd will read must load. */
static int
make_config(const struct init_plan *p, const struct init_state *s)
{
	struct node_conf *c = malloc(sizeof(*c)), *back = malloc(sizeof(*c));
	char note[1024], msg[400];
	struct mrx_diag d;
	int rc = CLI_USAGE;

	if (c == NULL || back == NULL) {
		cli_err("out of memory");
		goto out;
	}
	fill_conf(p, s, c);
	config_note(p, note, sizeof(note));
	mrx_diag_clear(&d);
	if (conf_node_write_note(c, c->path, note, &d) != 0 ||
	    conf_node_load(s->tmp, NULL, back, &d) != 0) {
		cli_err("cannot write the configuration: %s",
		    d.msg[0] != '\0' ? d.msg : mrx_diag_str(&d, msg,
		    sizeof(msg)));
		goto out;
	}
	rc = 0;
out:
	free(c);
	free(back);
	return rc;
}

/* Prints an x509 error (its message names the file) for init. */
static int
tls_err(const char *what, const struct mrx_diag *d, int rc)
{
	cli_err("%s: %s", what, d->msg[0] != '\0' ? d->msg : mrx_strerror(rc));
	return CLI_USAGE;
}

/* Loads the CA of --tls-ca CADIR, before anything is made. */
static int
load_tls_ca(const struct init_plan *p, struct init_state *s)
{
	char cert[INIT_PATH_MAX], key[INIT_PATH_MAX];
	struct mrx_diag d;
	int rc;

	if (strlen(p->o->tls_ca) > INIT_DIR_MAX) {
		cli_err("--tls-ca: the path must have at most %d characters",
		    INIT_DIR_MAX);
		return CLI_USAGE;
	}
	mrx_diag_clear(&d);
	rc = cry_x509_ca_load(in_dir(cert, p->o->tls_ca, "ca.pem"),
	    in_dir(key, p->o->tls_ca, "ca.key"), cli_now(), &s->tls_ca, &d);
	return rc != 0 ? tls_err("--tls-ca", &d, rc) : 0;
}

/* A development CA in tmp/tls/ca/, loaded to issue from. */
static int
make_dev_ca(const struct init_plan *p, struct init_state *s)
{
	char cert[INIT_PATH_MAX], key[INIT_PATH_MAX];
	char cn[CRY_X509_CN_MAX + 1];
	struct cry_x509_validity v;
	struct mrx_diag d;
	int rc;

	if (mkdir(in_dir(cert, s->tmp, "tls/ca"), 0700) != 0) {
		cli_err("cannot create %s: %s", cert, strerror(errno));
		return CLI_USAGE;
	}
	snprintf(cn, sizeof(cn), "mrx development CA %.45s", p->o->id);
	mrx_diag_clear(&d);
	rc = cry_x509_validity_days(cli_now(), CRY_X509_CA_DAYS_DEFAULT, &v);
	if (rc == 0)
		rc = cry_x509_ca_create(cn, &v, in_dir(cert, s->tmp,
		    "tls/ca/ca.pem"), in_dir(key, s->tmp, "tls/ca/ca.key"), &d);
	if (rc == 0)
		rc = cry_x509_ca_load(cert, key, cli_now(), &s->tls_ca, &d);
	return rc != 0 ? tls_err("cannot make the development TLS CA", &d,
	    rc) : 0;
}

/*
 * tmp/tls/: the node's certificate and key, and the CA bundle. A CA that
 * ends before the default validity bounds the certificate's.
 */
static int
make_tls(const struct init_plan *p, struct init_state *s)
{
	char cert[INIT_PATH_MAX], key[INIT_PATH_MAX], ca[INIT_PATH_MAX];
	struct cry_x509_node_req req;
	struct mrx_diag d;
	size_t n;
	int rc;

	if (mkdir(in_dir(cert, s->tmp, "tls"), 0700) != 0) {
		cli_err("cannot create %s: %s", cert, strerror(errno));
		return CLI_USAGE;
	}
	if (s->tls_ca == NULL && make_dev_ca(p, s) != 0)
		return CLI_USAGE;
	memset(&req, 0, sizeof(req));
	req.id = p->o->id;
	req.hosts = p->o->tls_hosts;
	req.nhosts = p->o->ntls_hosts;
	mrx_diag_clear(&d);
	rc = cry_x509_validity_days(cli_now(), CRY_X509_NODE_DAYS_DEFAULT,
	    &req.v);
	if (rc == 0 && req.v.not_after > cry_x509_ca_not_after(s->tls_ca))
		req.v.not_after = cry_x509_ca_not_after(s->tls_ca);
	if (rc == 0)
		rc = cry_x509_issue(s->tls_ca, &req, in_dir(cert, s->tmp,
		    "tls/node.pem"), in_dir(key, s->tmp, "tls/node.key"), &d);
	if (rc == 0)
		rc = cry_x509_ca_save_cert(s->tls_ca, in_dir(ca, s->tmp,
		    "tls/ca.pem"), &d);
	if (rc == 0)
		rc = cry_x509_describe_file(cert, &s->tls, 1, &n, &d);
	return rc != 0 ? tls_err("cannot make the TLS certificate", &d, rc) :
	    0;
}

/* Moves one entry from tmp into DIR without replacing anything. */
static int
move_in(const struct init_plan *p, struct init_state *s, const char *name)
{
	char from[INIT_PATH_MAX], to[INIT_PATH_MAX];
	struct stat st;
	int rc;

	in_dir(from, s->tmp, name);
	in_dir(to, p->dir, name);
	if (lstat(from, &st) != 0)
		return 0;	/* not made for this role */
	if (S_ISDIR(st.st_mode))
		rc = rename(from, to);
	else
		rc = link(from, to) != 0 ? -1 : unlink(from);
	if (rc != 0) {
		cli_err("cannot move %s into place: %s", to, strerror(errno));
		return CLI_USAGE;
	}
	s->moved[s->nmoved++] = name;
	return 0;
}

static int
commit(const struct init_plan *p, struct init_state *s)
{
	size_t i;
	int dfd;

	for (i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		if (move_in(p, s, entries[i]) != 0)
			return CLI_USAGE;
	if (rmdir(s->tmp) == 0)
		s->tmp[0] = '\0';
	dfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

static void
print_tls(const struct init_plan *p, const struct init_state *s)
{
	const char *d = p->dir;
	size_t i;

	printf("  TLS cert     %s/tls/node.pem (CN %s, until %s)\n", d,
	    s->tls.subject_cn, s->tls.not_after_str);
	printf("  TLS names   ");
	for (i = 0; i < s->tls.nsan; i++)
		printf(" %s", s->tls.san[i]);
	putchar('\n');
	printf("  TLS key      %s/tls/node.key (mode 0600)\n", d);
	printf("  TLS CAs      %s/tls/ca.pem (issued by '%s'%s)\n", d,
	    s->tls.issuer_cn, p->o->tls_ca != NULL ? "" :
	    ", a development CA: tls/ca/ca.key");
}

static void
print_summary(const struct init_plan *p, const struct init_state *s)
{
	char kid[2 * CRY_KID_LEN + 1], t[PROTO_TIME_STR];
	const char *d = p->dir;
	size_t i;

	printf("initialised %s node %s (%s) in %s\n", eng_role_name(p->role),
	    p->o->id, p->o->jur, d);
	printf("  config       %s/%s\n", d, CONF_FILE);
	printf("  signing key  %s/keys/sign.key (%s, kid %s, mode 0600)\n", d,
	    cry_alg_name(p->alg), cli_hex(cry_key_kid(s->sign), CRY_KID_LEN,
	    kid));
	printf("  public key   %s/keys/sign.pub\n", d);
	if (p->role == ENG_ROLE_ROOT)
		printf("  root         %s (its own public key, in "
		    "trust.roots)\n", p->root_id);
	if (p->role == ENG_ROLE_ISSUER) {
		printf("  root         %s, %s/keys/root.pub (kid %s)%s\n",
		    p->root_id, d, cli_hex(cry_key_kid(s->root), CRY_KID_LEN,
		    kid), p->local_root ? ", local: keys/root.key" : "");
		printf("  delegation   %s/trust/delegation.cose, until %s, "
		    "levels", d, proto_time_format(s->exp, t, sizeof(t)));
		for (i = 0; i < p->levels.n; i++)
			printf(" %s", p->levels.v[i]);
		putchar('\n');
	}
	printf("  admin token  %s/admin.token (mode 0600)\n", d);
	print_tls(p, s);
	printf("  API          http://%s%s%s:%d\n", strchr(p->host, ':') ?
	    "[" : "", p->host, strchr(p->host, ':') ? "]" : "", p->port);
	if (p->role == ENG_ROLE_ISSUER && p->local_root)
		printf("note: development trust chain: the delegation is "
		    "signed by a local root\n      (%s); replace it with a "
		    "delegation from the national root.\n", p->root_id);
	if (p->role == ENG_ROLE_OPERATOR)
		printf("note: trust.roots is empty; add the federation's roots "
		    "to %s/%s.\n", d, CONF_FILE);
	if (p->o->tls_ca == NULL)
		printf("note: development TLS CA: tls/node.pem is issued by a "
		    "CA made for this\n      node (%s/tls/ca/); peers trust it "
		    "only if they add its ca.pem to\n      their bundle. Issue "
		    "the certificate from the federation's CA\n      instead "
		    "(mrx cert issue, or mrx init --tls-ca).\n", d);
	printf("next: mrxd --data %s\n", d);
}

int
cmd_init(int argc, char **argv)
{
	struct init_opts o;
	struct init_plan p;
	struct init_state s;
	int rc;

	rc = parse_init_opts(argc, argv, &o);
	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	rc = make_plan(&o, &p);
	if (rc != 0)
		return rc;
	memset(&s, 0, sizeof(s));
	if (p.role == ENG_ROLE_ISSUER && !p.local_root &&
	    cli_load_key(o.root_key, true, &s.root) != 0)
		return CLI_USAGE;
	if (o.tls_ca != NULL && load_tls_ca(&p, &s) != 0) {
		cry_key_free(s.root);
		return CLI_USAGE;
	}
	rc = make_dirs(&p, &s);
	if (rc == 0)
		rc = make_keys(&p, &s);
	if (rc == 0 && p.role == ENG_ROLE_ISSUER)
		rc = make_delegation(&p, &s);
	if (rc == 0)
		rc = make_token(&s);
	if (rc == 0)
		rc = make_config(&p, &s);
	if (rc == 0)
		rc = make_tls(&p, &s);
	if (rc == 0)
		rc = commit(&p, &s);
	if (rc == 0)
		print_summary(&p, &s);
	else
		rollback(&p, &s);
	cry_key_free(s.sign);
	cry_key_free(s.root);
	cry_x509_ca_free(s.tls_ca);
	return rc;
}
