/*
 * cli_audit.c - mrx audit verify|export and mrx report annual: offline
 * reads of a node's store (safe while mrxd runs: SQLite WAL readers).
 *
 * The annual report is the aggregate a ministry owes its parliament:
 * counts only, no record id, subject or operator named.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_util.h"
#include "ptime.h"
#include "store.h"

static const char audit_usage[] =
    "usage: mrx audit verify --data DIR [--json]\n"
    "       mrx audit export --data DIR [--out FILE]\n"
    "\n"
    "verify: recomputes the audit hash chain of the node in DIR and names\n"
    "the first entry that was edited, deleted, inserted or reordered\n"
    "(exit 0 intact, 1 broken, 2 cannot read).\n"
    "export: writes the audit log as JSON lines (one entry per line).\n";

static const char report_usage[] =
    "usage: mrx report annual --data DIR --year YEAR [--json]\n"
    "\n"
    "The yearly aggregate for parliament: clearances issued, suspended,\n"
    "revoked (by reason code), reinstated; operator certifications granted\n"
    "and revoked; decisions by outcome. No personal data.\n";

static const char *const problems[] = { "intact", "edited", "deleted",
	"inserted", "reordered" };

static int
open_store(const char *dir, struct store **s)
{
	struct mrx_diag d;
	char b[400];

	mrx_diag_clear(&d);
	if (store_open(dir, s, &d) != 0) {
		cli_err("%s", mrx_diag_str(&d, b, sizeof(b)));
		return CLI_USAGE;
	}
	return 0;
}

static const char *const kinds[] = { "", "issue", "status", "decision",
	"alert" };

static int
export_cb(void *ctx, const struct store_audit_entry *e)
{
	FILE *f = ctx;
	char hex[2 * 32 + 1], t[PROTO_TIME_STR];
	json_t *j;
	char *s;

	j = json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)e->seq, "time",
	    proto_time_format(e->a.time, t, sizeof(t)), "kind",
	    e->a.kind >= 1 && e->a.kind <= 4 ? kinds[e->a.kind] : "?");
	if (e->a.has_cti)
		json_object_set_new(j, "record_id",
		    json_string(cli_hex(e->a.cti, PROTO_CTI_LEN, hex)));
	if (e->a.kind == ENG_AUDIT_ISSUE || e->a.kind == ENG_AUDIT_STATUS)
		json_object_set_new(j, "record_type",
		    json_string(proto_rec_type_name(e->a.rec_type) ?
		    proto_rec_type_name(e->a.rec_type) : "?"));
	if (e->a.level[0] != '\0')
		json_object_set_new(j, "level", json_string(e->a.level));
	if (e->a.operator_id[0] != '\0')
		json_object_set_new(j, "operator", json_string(e->a.operator_id));
	if (e->a.kind == ENG_AUDIT_STATUS || e->a.kind == ENG_AUDIT_ALERT) {
		json_object_set_new(j, "status",
		    json_string(proto_status_name(e->a.status)));
		json_object_set_new(j, "reason",
		    json_string(proto_reason_name(e->a.reason)));
		json_object_set_new(j, "status_seq", json_integer(
		    (json_int_t)e->a.seq));
	}
	if (e->a.kind == ENG_AUDIT_DECISION) {
		json_object_set_new(j, "decision",
		    json_string(proto_verdict_name(e->a.verdict)));
		json_object_set_new(j, "codes", json_string(e->a.codes));
		json_object_set_new(j, "access", json_string(e->a.access));
	}
	json_object_set_new(j, "prev", json_string(cli_hex(e->prev, 32, hex)));
	json_object_set_new(j, "hash", json_string(cli_hex(e->hash, 32, hex)));
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (s == NULL)
		return MRX_ENOMEM;
	fprintf(f, "%s\n", s);
	free(s);
	return ferror(f) ? MRX_EIO : 0;
}

static int
audit_verify(struct store *s, bool json)
{
	struct store_audit_report r;
	struct mrx_diag d;
	char b[400];

	mrx_diag_clear(&d);
	if (store_audit_verify(s, &r, &d) != 0) {
		cli_err("%s", mrx_diag_str(&d, b, sizeof(b)));
		return CLI_USAGE;
	}
	if (json)
		cli_json_print(json_pack("{s:b, s:s, s:I, s:I, s:s}", "intact",
		    r.problem == STORE_AUDIT_OK, "problem",
		    problems[r.problem], "entries", (json_int_t)r.entries,
		    "seq", (json_int_t)r.seq, "message", r.message));
	else if (r.problem == STORE_AUDIT_OK)
		printf("audit chain intact: %llu entries\n",
		    (unsigned long long)r.entries);
	else
		printf("audit chain broken: entry %llu %s: %s\n",
		    (unsigned long long)r.seq, problems[r.problem], r.message);
	return r.problem == STORE_AUDIT_OK ? CLI_OK : CLI_REJECT;
}

int
cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = NULL, *out = NULL, *sub;
	struct store *s = NULL;
	struct mrx_diag d;
	bool json = false;
	char b[400];
	FILE *f;
	int c, rc;

	if (argc < 2 || argv[1][0] == '-') {
		bool help = argc >= 2 && strcmp(argv[1], "--help") == 0;

		fputs(audit_usage, help ? stdout : stderr);
		return help ? CLI_OK : CLI_USAGE;
	}
	sub = argv[1];
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': data = optarg; break;
		case 'o': out = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(audit_usage, stdout); return CLI_OK;
		default: fputs(audit_usage, stderr); return CLI_USAGE;
		}
	}
	if (data == NULL || optind != argc) {
		cli_err("--data DIR is required");
		return CLI_USAGE;
	}
	if (strcmp(sub, "verify") != 0 && strcmp(sub, "export") != 0) {
		cli_err("unknown audit command '%s' (verify, export)", sub);
		return CLI_USAGE;
	}
	if (open_store(data, &s) != 0)
		return CLI_USAGE;
	if (strcmp(sub, "verify") == 0) {
		rc = audit_verify(s, json);
		store_close(s);
		return rc;
	}
	f = out != NULL ? fopen(out, "wx") : stdout;
	if (f == NULL) {
		cli_err("cannot create %s (it must not exist)", out);
		store_close(s);
		return CLI_USAGE;
	}
	mrx_diag_clear(&d);
	rc = store_audit_each(s, export_cb, f, &d);
	if (out != NULL && fclose(f) != 0)
		rc = MRX_EIO;
	store_close(s);
	if (rc != 0) {
		cli_err("export failed: %s", d.code ?
		    mrx_diag_str(&d, b, sizeof(b)) : mrx_strerror(rc));
		return CLI_USAGE;
	}
	return CLI_OK;
}

static json_t *
by_reason(const uint64_t *v)
{
	json_t *o = json_object();
	int i;

	for (i = 1; i < PROTO_REASON_COUNT; i++)
		if (v[i] > 0)
			json_object_set_new(o, proto_reason_name(
			    (enum proto_reason)i), json_integer((json_int_t)v[i]));
	if (v[0] > 0)
		json_object_set_new(o, "UNSPECIFIED",
		    json_integer((json_int_t)v[0]));
	return o;
}

static void
print_reasons(const char *label, const uint64_t *v)
{
	int i;

	for (i = 0; i < PROTO_REASON_COUNT; i++)
		if (v[i] > 0)
			printf("    %-30s %llu\n", i == 0 ? "(no reason given)" :
			    proto_reason_name((enum proto_reason)i),
			    (unsigned long long)v[i]);
	(void)label;
}

static void
annual_print(const struct store_annual *r, const char *id)
{
	printf("Annual report %d (%s)\n\n", r->year, id);
	printf("Clearances\n");
	printf("  issued                           %llu\n",
	    (unsigned long long)r->clearances_issued);
	printf("  suspended                        %llu\n",
	    (unsigned long long)r->clearances_suspended);
	print_reasons("suspended", r->suspended_by_reason);
	printf("  revoked                          %llu\n",
	    (unsigned long long)r->clearances_revoked);
	print_reasons("revoked", r->revoked_by_reason);
	printf("  reinstated                       %llu\n",
	    (unsigned long long)r->clearances_reinstated);
	printf("Eligible business operators\n");
	printf("  certified                        %llu\n",
	    (unsigned long long)r->operators_certified);
	printf("  certification revoked            %llu\n",
	    (unsigned long long)r->operators_revoked);
	printf("Decisions\n");
	printf("  accept                           %llu\n",
	    (unsigned long long)r->decisions[PROTO_ACCEPT]);
	printf("  reject                           %llu\n",
	    (unsigned long long)r->decisions[PROTO_REJECT]);
	printf("  indeterminate                    %llu\n",
	    (unsigned long long)r->decisions[PROTO_INDETERMINATE]);
}

int
cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "year", required_argument, NULL, 'y' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = NULL, *year_s = NULL;
	struct store_annual r;
	struct store *s;
	struct mrx_diag d;
	bool json = false;
	char b[400], *end;
	long year;
	int c;

	if (argc < 2 || strcmp(argv[1], "annual") != 0) {
		bool help = argc >= 2 && strcmp(argv[1], "--help") == 0;

		fputs(report_usage, help ? stdout : stderr);
		return help ? CLI_OK : CLI_USAGE;
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': data = optarg; break;
		case 'y': year_s = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(report_usage, stdout); return CLI_OK;
		default: fputs(report_usage, stderr); return CLI_USAGE;
		}
	}
	if (data == NULL || year_s == NULL || optind != argc) {
		cli_err("--data DIR and --year YEAR are required");
		return CLI_USAGE;
	}
	year = strtol(year_s, &end, 10);
	if (*end != '\0' || year < 1970 || year > 9999) {
		cli_err("--year: '%s' is not a year", year_s);
		return CLI_USAGE;
	}
	if (open_store(data, &s) != 0)
		return CLI_USAGE;
	mrx_diag_clear(&d);
	if (store_report_annual(s, (int)year, &r, &d) != 0) {
		store_close(s);
		cli_err("%s", mrx_diag_str(&d, b, sizeof(b)));
		return CLI_USAGE;
	}
	store_close(s);
	if (json)
		cli_json_print(json_pack("{s:i, s:{s:I, s:I, s:o, s:I, s:o, s:I}, "
		    "s:{s:I, s:I}, s:{s:I, s:I, s:I}}", "year", (int)year,
		    "clearances", "issued", (json_int_t)r.clearances_issued,
		    "suspended", (json_int_t)r.clearances_suspended,
		    "suspended_by_reason", by_reason(r.suspended_by_reason),
		    "revoked", (json_int_t)r.clearances_revoked,
		    "revoked_by_reason", by_reason(r.revoked_by_reason),
		    "reinstated", (json_int_t)r.clearances_reinstated,
		    "operators", "certified", (json_int_t)r.operators_certified,
		    "revoked", (json_int_t)r.operators_revoked, "decisions",
		    "accept", (json_int_t)r.decisions[PROTO_ACCEPT], "reject",
		    (json_int_t)r.decisions[PROTO_REJECT], "indeterminate",
		    (json_int_t)r.decisions[PROTO_INDETERMINATE]));
	else
		annual_print(&r, data);
	return CLI_OK;
}
