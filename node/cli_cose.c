/*
 * cli_cose.c - mrx cose sign|verify: raw COSE_Sign1 over any payload, for
 * interoperability checks with other COSE implementations. Input may be
 * binary CBOR or hex text; output of sign is binary (hex with --hex).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_util.h"
#include "cose.h"
#include "value.h"

#define COSE_IN_MAX (1u << 20)	/* payload or message bytes we read */

static const char cose_usage[] =
    "usage: mrx cose sign --key KEY [--kid HEX] [--aad HEX] [--in FILE]\n"
    "                     [--out FILE] [--hex] [--force]\n"
    "       mrx cose verify --pub PUB [--aad HEX] [--in FILE] [--json]\n"
    "\n"
    "sign: wraps the input bytes (default: standard input) in a tagged\n"
    "COSE_Sign1 with protected header {alg, kid}; kid defaults to the key's\n"
    "(first 16 bytes of SHA-256 over its SubjectPublicKeyInfo).\n"
    "verify: checks a COSE_Sign1 (binary or hex, tag 18 or untagged) with\n"
    "the public key; the alg in the message must match the key's type.\n"
    "Exit status: 0 valid, 1 invalid, 2 usage or I/O error.\n";

struct cose_opts {
	const char *key, *kid, *aad, *in, *out;
	bool json, hex, force;
};

static int
parse_cose_opts(int argc, char **argv, struct cose_opts *o)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "pub", required_argument, NULL, 'k' },
		{ "kid", required_argument, NULL, 'K' },
		{ "aad", required_argument, NULL, 'a' },
		{ "in", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "hex", no_argument, NULL, 'x' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->in = "-";
	o->out = "-";
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': o->key = optarg; break;
		case 'K': o->kid = optarg; break;
		case 'a': o->aad = optarg; break;
		case 'i': o->in = optarg; break;
		case 'o': o->out = optarg; break;
		case 'j': o->json = true; break;
		case 'x': o->hex = true; break;
		case 'F': o->force = true; break;
		case 'h': fputs(cose_usage, stdout); return -1;
		default: fputs(cose_usage, stderr); return CLI_USAGE;
		}
	}
	if (optind != argc) {
		cli_err("unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (o->key == NULL) {
		cli_err("a key is required (--key for sign, --pub for verify)");
		return CLI_USAGE;
	}
	return 0;
}

/* Parses hex option `s` into a new buffer (NULL/0 when s is NULL). */
static int
hex_opt(const char *opt, const char *s, uint8_t **out, size_t *len)
{
	struct mrx_diag d;
	size_t cap;

	*out = NULL;
	*len = 0;
	if (s == NULL)
		return 0;
	cap = strlen(s) / 2 + 1;
	*out = malloc(cap);
	if (*out == NULL)
		return CLI_USAGE;
	mrx_diag_clear(&d);
	if (conf_hex_parse(s, *out, cap, len, &d) != 0) {
		free(*out);
		*out = NULL;
		return cli_err_diag(CLI_USAGE, opt, &d);
	}
	return 0;
}

static int
cose_sign(const struct cose_opts *o)
{
	struct cry_key *key = NULL;
	uint8_t *in = NULL, *aad = NULL, *kid = NULL, *out = NULL;
	size_t in_len, aad_len, kid_len, out_len, cap;
	char *hex = NULL;
	int rc = CLI_USAGE;

	if (cli_load_key(o->key, true, &key) != 0)
		return CLI_USAGE;
	if (hex_opt("--aad", o->aad, &aad, &aad_len) != 0 ||
	    hex_opt("--kid", o->kid, &kid, &kid_len) != 0)
		goto out;
	if (kid != NULL && kid_len > CRY_COSE_KID_MAX) {
		cli_err("--kid: at most %d bytes", CRY_COSE_KID_MAX);
		goto out;
	}
	if (cli_read_file(o->in, COSE_IN_MAX, &in, &in_len) != 0)
		goto out;
	cap = in_len + CRY_COSE_OVERHEAD + (kid != NULL ? kid_len : 0);
	out = malloc(cap);
	if (out == NULL)
		goto out;
	rc = cry_sign1_sign(key, kid, kid_len, aad, aad_len, in, in_len, out,
	    cap, &out_len);
	if (rc != 0) {
		cli_err("cannot sign: %s", mrx_strerror(rc));
		rc = CLI_USAGE;
		goto out;
	}
	if (o->hex) {
		hex = malloc(2 * out_len + 2);
		if (hex == NULL) {
			rc = CLI_USAGE;
			goto out;
		}
		cli_hex(out, out_len, hex);
		strcat(hex, "\n");
		rc = cli_write_file(o->out, (const uint8_t *)hex, strlen(hex),
		    o->force);
	} else {
		rc = cli_write_file(o->out, out, out_len, o->force);
	}
out:
	cry_key_free(key);
	free(in);
	free(aad);
	free(kid);
	free(out);
	free(hex);
	return rc;
}

static int
cose_verify(const struct cose_opts *o)
{
	struct cry_key *key = NULL;
	struct cry_sign1 s;
	struct mrx_diag d;
	uint8_t *in = NULL, *aad = NULL;
	size_t in_len, aad_len;
	char kid[2 * CRY_COSE_KID_MAX + 1] = "", err[400] = "";
	char *payload = NULL;
	int rc, vrc;

	if (cli_load_key(o->key, false, &key) != 0)
		return CLI_USAGE;
	if (hex_opt("--aad", o->aad, &aad, &aad_len) != 0 ||
	    cli_read_file(o->in, COSE_IN_MAX, &in, &in_len) != 0) {
		rc = CLI_USAGE;
		goto out;
	}
	cli_maybe_unhex(in, &in_len);
	mrx_diag_clear(&d);
	vrc = cry_sign1_decode(in, in_len, &s, &d);
	if (vrc == 0)
		vrc = cry_sign1_verify(&s, key, aad, aad_len, &d);
	if (vrc != 0)
		mrx_diag_str(&d, err, sizeof(err));
	if (vrc != 0 && err[0] == '\0')
		snprintf(err, sizeof(err), "%s", mrx_strerror(vrc));
	if (vrc == 0 && s.hdr.kid != NULL && s.hdr.kid_len <= CRY_COSE_KID_MAX)
		cli_hex(s.hdr.kid, s.hdr.kid_len, kid);
	if (o->json) {
		json_t *j = json_pack("{s:b}", "valid", vrc == 0);

		if (vrc == 0) {
			payload = malloc(2 * s.payload_len + 1);
			if (payload != NULL)
				cli_hex(s.payload, s.payload_len, payload);
			json_object_set_new(j, "alg",
			    json_string(cry_alg_name(s.hdr.alg)));
			json_object_set_new(j, "kid", json_string(kid));
			json_object_set_new(j, "tagged", json_boolean(s.tagged));
			json_object_set_new(j, "payload_hex",
			    json_string(payload != NULL ? payload : ""));
		} else {
			json_object_set_new(j, "error", json_string(err));
			json_object_set_new(j, "code",
			    json_string(mrx_errname(vrc)));
		}
		cli_json_print(j);
	} else if (vrc == 0) {
		printf("valid: %s, kid %s, %zu-byte payload%s\n",
		    cry_alg_name(s.hdr.alg), kid[0] ? kid : "-", s.payload_len,
		    s.tagged ? "" : " (untagged)");
	} else {
		printf("invalid: %s\n", err);
	}
	rc = vrc == 0 ? CLI_OK : CLI_REJECT;
out:
	cry_key_free(key);
	free(in);
	free(aad);
	free(payload);
	return rc;
}

int
cmd_cose(int argc, char **argv)
{
	struct cose_opts o;
	int rc;

	if (argc < 2 || argv[1][0] == '-') {
		bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0);

		fputs(cose_usage, help ? stdout : stderr);
		return help ? CLI_OK : CLI_USAGE;
	}
	rc = parse_cose_opts(argc - 1, argv + 1, &o);
	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	if (strcmp(argv[1], "sign") == 0)
		return cose_sign(&o);
	if (strcmp(argv[1], "verify") == 0)
		return cose_verify(&o);
	cli_err("unknown cose command '%s' (sign, verify)", argv[1]);
	return CLI_USAGE;
}
