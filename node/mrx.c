/*
 * mrx.c - the mrx command-line tool: keys, records, status lists,
 * decisions and raw COSE offline; a node's data directory (init, audit,
 * report); and, with --node, a client of a running node. Dispatches to
 * the cmd_* functions.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"

static const char usage_text[] =
    "usage: mrx COMMAND [ARGS]\n"
    "\n"
    "       mrx --node URL [--token-file FILE] COMMAND [ARGS]\n"
    "\n"
    "Signed security-clearance records: offline, or with a running node.\n"
    "\n"
    "commands:\n"
    "  keygen      make a signing key pair (Ed25519 or ES256)\n"
    "  issue       sign a delegation, clearance, operator certification or\n"
    "              key revocation\n"
    "  status      make a status list, or change an entry of one\n"
    "  inspect     show what a record says\n"
    "  verify      decide whether a clearance grants a requested access\n"
    "  agreement   draft, sign and verify a mutual-recognition agreement\n"
    "  cose        sign or verify a raw COSE_Sign1 message\n"
    "  init        create a node's data directory: keys, delegation,\n"
    "              admin token and mrx.yaml\n"
    "  audit       verify or export a node's audit chain (--data DIR)\n"
    "  report      the annual aggregate report of a node (--data DIR)\n"
    "  cert        TLS certificates for the links between nodes: a CA,\n"
    "              a node's certificate, show, check\n"
    "\n"
    "With --node URL (see 'mrx --node URL --help'): health, clearance,\n"
    "operator, verify and alerts against a running mrxd.\n"
    "\n"
    "Run 'mrx COMMAND --help' for the options of a command.\n"
    "Exit status: 0 success or accept, 1 reject or invalid input,\n"
    "2 usage or I/O error.\n";

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
	{ "keygen", cmd_keygen },
	{ "issue", cmd_issue },
	{ "status", cmd_status },
	{ "inspect", cmd_inspect },
	{ "verify", cmd_verify },
	{ "agreement", cmd_agreement },
	{ "cose", cmd_cose },
	{ "init", cmd_init },
	{ "audit", cmd_audit },
	{ "report", cmd_report },
	{ "cert", cmd_cert },
};

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		fputs(usage_text, stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return CLI_OK;
	}
	if (strncmp(argv[1], "--node", 6) == 0 ||
	    strncmp(argv[1], "--token-file", 12) == 0) {
		cli_cmd = "mrx";
		return cmd_client(argc, argv);
	}
	if (strcmp(argv[1], "--version") == 0) {
		puts("mrx 0.1.0");
		return CLI_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0) {
			static char prefix[64];

			snprintf(prefix, sizeof(prefix), "mrx %s", argv[1]);
			cli_cmd = prefix;
			return commands[i].fn(argc - 1, argv + 1);
		}
	fprintf(stderr, "mrx: unknown command '%s'\n\n%s", argv[1], usage_text);
	return CLI_USAGE;
}
