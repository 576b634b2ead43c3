/*
 * cli_inspect.c - mrx inspect FILE: what a record says (type, claims by
 * name, kid, alg), without judging it: inspect never verifies a signature.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_util.h"

static const char inspect_usage[] =
    "usage: mrx inspect FILE [--json]\n"
    "\n"
    "Decodes an mrx record strictly and prints its type, signer (alg, kid)\n"
    "and claims by name. It does not verify the signature: use mrx verify.\n";

static void
print_value(const char *k, json_t *v, int indent)
{
	const char *key;
	json_t *x;
	size_t i;

	printf("%*s%s:", indent, "", k);
	if (json_is_object(v)) {
		putchar('\n');
		json_object_foreach(v, key, x)
			print_value(key, x, indent + 2);
	} else if (json_is_array(v)) {
		if (json_array_size(v) == 0)
			fputs(" -", stdout);
		json_array_foreach(v, i, x) {
			if (json_is_string(x))
				printf(" %s", json_string_value(x));
			else {
				char *s = json_dumps(x, JSON_COMPACT |
				    JSON_PRESERVE_ORDER);

				printf(" %s", s != NULL ? s : "?");
				free(s);
			}
		}
		putchar('\n');
	} else if (json_is_string(v)) {
		printf(" %s\n", json_string_value(v));
	} else {
		char *s = json_dumps(v, JSON_ENCODE_ANY);

		printf(" %s\n", s != NULL ? s : "?");
		free(s);
	}
}

int
cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct proto_record rec;
	const char *key;
	uint8_t *buf = NULL;
	json_t *j, *v;
	size_t len;
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'h': fputs(inspect_usage, stdout); return CLI_OK;
		default: fputs(inspect_usage, stderr); return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fputs(inspect_usage, stderr);
		return CLI_USAGE;
	}
	rc = cli_read_record(argv[optind], &buf, &len, &rec);
	if (rc != 0)
		return rc;
	j = cli_record_json(&rec);
	if (json) {
		cli_json_print(j);
	} else {
		json_object_foreach(j, key, v)
			print_value(key, v, 0);
		json_decref(j);
	}
	proto_record_fini(&rec);
	free(buf);
	return CLI_OK;
}
