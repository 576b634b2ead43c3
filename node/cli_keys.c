/*
 * cli_keys.c - mrx keygen: a new key pair as NAME.key (PKCS#8 PEM, 0600)
 * and NAME.pub (SubjectPublicKeyInfo PEM). Existing files are never
 * overwritten.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"

static const char keygen_usage[] =
    "usage: mrx keygen --alg ed25519|es256 --out NAME [--json]\n"
    "\n"
    "Writes NAME.key (private, PKCS#8 PEM, mode 0600) and NAME.pub (public,\n"
    "SubjectPublicKeyInfo PEM). Refuses to overwrite either file. The key id\n"
    "(kid) is the first 16 bytes of SHA-256 over the public key's DER.\n";

int
cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "alg", required_argument, NULL, 'a' },
		{ "out", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *alg_s = NULL, *out = NULL;
	char kpath[4096], ppath[4096], kid[2 * CRY_KID_LEN + 1], buf[400];
	struct cry_key *key = NULL;
	struct mrx_diag d;
	enum cry_alg alg;
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': alg_s = optarg; break;
		case 'o': out = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(keygen_usage, stdout); return CLI_OK;
		default: fputs(keygen_usage, stderr); return CLI_USAGE;
		}
	}
	if (alg_s == NULL || out == NULL || optind != argc) {
		cli_err("--alg and --out are required");
		fputs(keygen_usage, stderr);
		return CLI_USAGE;
	}
	if (cry_alg_parse(alg_s, &alg) != 0) {
		cli_err("--alg: unsupported algorithm '%s' (use ed25519 or "
		    "es256)", alg_s);
		return CLI_USAGE;
	}
	if (snprintf(kpath, sizeof(kpath), "%s.key", out) >= (int)sizeof(kpath) ||
	    snprintf(ppath, sizeof(ppath), "%s.pub", out) >= (int)sizeof(ppath)) {
		cli_err("--out: path too long");
		return CLI_USAGE;
	}
	if (access(kpath, F_OK) == 0 || access(ppath, F_OK) == 0) {
		cli_err("%s or %s already exists; refusing to overwrite a key",
		    kpath, ppath);
		return CLI_USAGE;
	}
	rc = cry_key_generate(alg, &key);
	if (rc != 0) {
		cli_err("cannot generate a key: %s", mrx_strerror(rc));
		return CLI_USAGE;
	}
	mrx_diag_clear(&d);
	rc = cry_key_save_private(key, kpath, &d);
	if (rc == 0)
		rc = cry_key_save_public(key, ppath, &d);
	if (rc != 0) {
		cli_err("%s", mrx_diag_str(&d, buf, sizeof(buf)));
		cry_key_free(key);
		return CLI_USAGE;
	}
	cli_hex(cry_key_kid(key), CRY_KID_LEN, kid);
	if (json) {
		cli_json_print(json_pack("{s:s, s:s, s:s, s:s}", "alg",
		    cry_alg_name(alg), "kid", kid, "private", kpath, "public",
		    ppath));
	} else {
		printf("%s key %s\n  private %s (mode 0600)\n  public  %s\n",
		    cry_alg_name(alg), kid, kpath, ppath);
	}
	cry_key_free(key);
	return CLI_OK;
}
