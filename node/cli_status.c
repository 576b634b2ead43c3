/*
 * cli_status.c - mrx status new|set|get: an issuer's status list (the IETF
 * Token Status List idea: 2 bits per entry, zlib-compressed, signed).
 *
 * `set` takes the current list, checks that it is the issuer's own (signed
 * by the same key, for the same issuer), changes one entry, and writes the
 * list with seq + 1; optionally it also writes the signed delta that
 * carries the change, chained to the previous delta by hash.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"

static const char status_usage[] =
    "usage: mrx status new --key KEY --iss ID --out FILE [--size N] [--uri URI]\n"
    "                      [--iat TIME] [--force]\n"
    "       mrx status set LIST --key KEY --index N --to valid|revoked|suspended\n"
    "                      [--reason CODE] --out FILE [--delta-out FILE]\n"
    "                      [--iat TIME] [--force]\n"
    "       mrx status get LIST --index N [--json]\n"
    "\n"
    "A new list has 131072 entries (the herd-privacy floor), all valid, and\n"
    "sequence 1. 'set' writes the list with sequence + 1. Reason codes:\n"
    "ADMIN_SEPARATION ACCESS_DEBRIEFED EXPIRED SUPERSEDED REASSESSMENT_PENDING\n"
    "SUSPENDED_PENDING_REVIEW REINSTATED ELIGIBILITY_REVOKED ELIGIBILITY_DENIED\n"
    "CONSENT_WITHDRAWN ADMIN_WITHDRAWN OPERATOR_CERT_REVOKED\n"
    "ISSUER_KEY_COMPROMISED AGREEMENT_TERMINATED\n";

struct status_opts {
	const char *key, *iss, *out, *size, *uri, *iat, *index, *to, *reason;
	const char *delta_out, *list;
	bool force, json;
};

static int
parse_status_opts(int argc, char **argv, struct status_opts *o)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "iss", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "size", required_argument, NULL, 'n' },
		{ "uri", required_argument, NULL, 'u' },
		{ "iat", required_argument, NULL, 'I' },
		{ "index", required_argument, NULL, 'x' },
		{ "to", required_argument, NULL, 't' },
		{ "reason", required_argument, NULL, 'r' },
		{ "delta-out", required_argument, NULL, 'D' },
		{ "force", no_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': o->key = optarg; break;
		case 'i': o->iss = optarg; break;
		case 'o': o->out = optarg; break;
		case 'n': o->size = optarg; break;
		case 'u': o->uri = optarg; break;
		case 'I': o->iat = optarg; break;
		case 'x': o->index = optarg; break;
		case 't': o->to = optarg; break;
		case 'r': o->reason = optarg; break;
		case 'D': o->delta_out = optarg; break;
		case 'F': o->force = true; break;
		case 'j': o->json = true; break;
		case 'h': fputs(status_usage, stdout); return -1;
		default: fputs(status_usage, stderr); return CLI_USAGE;
		}
	}
	if (optind < argc)
		o->list = argv[optind++];
	if (optind != argc) {
		cli_err("unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	return 0;
}

static int
parse_u32(const char *opt, const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	v = strtoul(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || v > max) {
		cli_err("%s: '%s' is not a number from 0 to %u", opt, s, max);
		return CLI_USAGE;
	}
	*out = (uint32_t)v;
	return 0;
}

static int
status_new(const struct status_opts *o)
{
	struct proto_record rec;
	struct cry_key *key = NULL;
	uint32_t size = PROTO_STATUS_ENTRIES_DEFAULT;
	int rc;

	if (o->key == NULL || o->iss == NULL || o->out == NULL) {
		cli_err("--key, --iss and --out are required");
		return CLI_USAGE;
	}
	if (!proto_id_valid(o->iss)) {
		cli_err("--iss: '%s' is not a valid id", o->iss);
		return CLI_USAGE;
	}
	if (o->size != NULL && (parse_u32("--size", o->size,
	    PROTO_STATUS_ENTRIES_MAX, &size) != 0))
		return CLI_USAGE;
	if (size < 4 || size % 4 != 0) {
		cli_err("--size: %u is not a positive multiple of 4", size);
		return CLI_USAGE;
	}
	if (size < PROTO_STATUS_ENTRIES_DEFAULT)
		fprintf(stderr, "%s: warning: a list of %u entries gives less "
		    "herd privacy than the default %u\n", cli_cmd, size,
		    PROTO_STATUS_ENTRIES_DEFAULT);
	memset(&rec, 0, sizeof(rec));
	rec.type = PROTO_REC_STATUS_LIST;
	if (cli_claims_init(&rec.u.sl.c, o->iss, o->iat) != 0)
		return CLI_USAGE;
	rec.u.sl.c.has_nbf = false;
	if (o->uri != NULL && strlen(o->uri) >= sizeof(rec.u.sl.c.sub)) {
		cli_err("--uri: longer than %d characters", PROTO_URI_MAX);
		return CLI_USAGE;
	}
	if (o->uri != NULL)
		memcpy(rec.u.sl.c.sub, o->uri, strlen(o->uri) + 1);
	else
		snprintf(rec.u.sl.c.sub, sizeof(rec.u.sl.c.sub),
		    "mrx://%s/status/0", o->iss);
	rec.u.sl.seq = 1;
	if (proto_status_list_init(&rec.u.sl, size) != 0) {
		cli_err("out of memory for %u entries", size);
		return CLI_USAGE;
	}
	rc = cli_load_key(o->key, true, &key);
	if (rc == 0)
		rc = cli_sign_write(&rec, key, o->out, o->force);
	cry_key_free(key);
	proto_record_fini(&rec);
	return rc;
}

/* The delta record for one change, chained to the list's previous head. */
static int
write_delta(const struct status_opts *o, const struct proto_status_list *sl,
    const uint8_t prev[PROTO_HASH_LEN], const struct proto_status_change *ch,
    const struct cry_key *key, uint8_t head[PROTO_HASH_LEN])
{
	struct proto_record d;
	struct mrx_diag dg;
	uint8_t *buf;
	size_t len;
	int rc;

	memset(&d, 0, sizeof(d));
	d.type = PROTO_REC_STATUS_DELTA;
	d.u.sd.c = sl->c;
	d.u.sd.c.has_exp = false;
	d.u.sd.c.has_nbf = false;
	if (cry_random(d.u.sd.c.cti, PROTO_CTI_LEN) != 0)
		return CLI_USAGE;
	d.u.sd.seq = sl->seq;
	memcpy(d.u.sd.prev, prev, PROTO_HASH_LEN);
	d.u.sd.changes[0] = *ch;
	d.u.sd.nchanges = 1;
	buf = malloc(PROTO_RECORD_MAX);
	if (buf == NULL)
		return CLI_USAGE;
	mrx_diag_clear(&dg);
	rc = proto_record_sign(&d, key, buf, PROTO_RECORD_MAX, &len, &dg);
	if (rc != 0) {
		free(buf);
		return cli_err_diag(CLI_USAGE, "cannot make the delta", &dg);
	}
	/* the log chains record hashes (the SHA-256 of the payload) */
	rc = proto_record_decode(buf, len, &d, &dg);
	if (rc == 0)
		rc = proto_record_hash(&d, head);
	proto_record_fini(&d);
	if (rc != 0) {
		free(buf);
		return cli_err_diag(CLI_USAGE, "cannot read back the delta", &dg);
	}
	rc = o->delta_out != NULL ?
	    cli_write_file(o->delta_out, buf, len, o->force) : 0;
	free(buf);
	return rc;
}

static int
status_set(const struct status_opts *o)
{
	struct proto_record rec;
	struct proto_status_change ch;
	struct cry_key *key = NULL;
	enum proto_status st;
	enum proto_reason why = PROTO_REASON_NONE;
	uint8_t *buf = NULL, prev[PROTO_HASH_LEN] = { 0 };
	char iss[PROTO_ID_MAX + 1];
	size_t len;
	uint32_t idx;
	int rc;

	if (o->list == NULL || o->key == NULL || o->index == NULL ||
	    o->to == NULL || o->out == NULL) {
		cli_err("LIST, --key, --index, --to and --out are required");
		return CLI_USAGE;
	}
	if (proto_status_parse(o->to, &st) != 0) {
		cli_err("--to: '%s' is not valid, revoked or suspended", o->to);
		return CLI_USAGE;
	}
	if (o->reason != NULL && proto_reason_parse(o->reason, &why) != 0) {
		cli_err("--reason: unknown reason code '%s'", o->reason);
		return CLI_USAGE;
	}
	if (parse_u32("--index", o->index, PROTO_STATUS_ENTRIES_MAX, &idx) != 0)
		return CLI_USAGE;
	rc = cli_read_record(o->list, &buf, &len, &rec);
	if (rc != 0)
		return rc;
	rc = CLI_USAGE;
	if (rec.type != PROTO_REC_STATUS_LIST) {
		cli_err("%s is a %s, not a status list", o->list,
		    proto_rec_type_name(rec.type));
		goto out;
	}
	if (cli_load_key(o->key, true, &key) != 0)
		goto out;
	if (cry_sign1_verify(&rec.env, key, NULL, 0, NULL) != 0) {
		cli_err("%s was not signed by this key: only the list's own "
		    "issuer key may change it", o->list);
		goto out;
	}
	if (idx >= rec.u.sl.size) {
		cli_err("--index: %u is beyond the list's %u entries", idx,
		    rec.u.sl.size);
		goto out;
	}
	if (proto_status_set(&rec.u.sl, idx, st, why) != 0) {
		cli_err("cannot record the change (reason table full?)");
		goto out;
	}
	if (rec.u.sl.has_head)
		memcpy(prev, rec.u.sl.head, PROTO_HASH_LEN);
	rec.u.sl.seq++;
	memcpy(iss, rec.u.sl.c.iss, sizeof(iss));
	if (cli_claims_init(&rec.u.sl.c, iss, o->iat) != 0)
		goto out;
	rec.u.sl.c.has_nbf = false;
	ch.idx = idx;
	ch.status = (uint8_t)st;
	ch.reason = (uint8_t)why;
	if (write_delta(o, &rec.u.sl, prev, &ch, key, rec.u.sl.head) != 0)
		goto out;
	rec.u.sl.has_head = true;
	rc = cli_sign_write(&rec, key, o->out, o->force);
	if (rc == 0)
		fprintf(stderr, "%s: entry %u is now %s; list sequence %llu\n",
		    cli_cmd, idx, proto_status_name(st),
		    (unsigned long long)rec.u.sl.seq);
out:
	cry_key_free(key);
	proto_record_fini(&rec);
	free(buf);
	return rc;
}

static int
status_get(const struct status_opts *o)
{
	struct proto_record rec;
	enum proto_status st;
	enum proto_reason why;
	uint8_t *buf = NULL;
	size_t len;
	uint32_t idx;
	int rc;

	if (o->list == NULL || o->index == NULL) {
		cli_err("LIST and --index are required");
		return CLI_USAGE;
	}
	if (parse_u32("--index", o->index, PROTO_STATUS_ENTRIES_MAX, &idx) != 0)
		return CLI_USAGE;
	rc = cli_read_record(o->list, &buf, &len, &rec);
	if (rc != 0)
		return rc;
	if (rec.type != PROTO_REC_STATUS_LIST) {
		cli_err("%s is not a status list", o->list);
		rc = CLI_REJECT;
	} else if (proto_status_get(&rec.u.sl, idx, &st, &why) != 0) {
		cli_err("--index: %u is beyond the list's %u entries", idx,
		    rec.u.sl.size);
		rc = CLI_REJECT;
	} else if (o->json) {
		cli_json_print(json_pack("{s:I, s:s, s:s, s:I}", "index",
		    (json_int_t)idx, "status", proto_status_name(st), "reason",
		    proto_reason_name(why), "seq", (json_int_t)rec.u.sl.seq));
	} else {
		printf("%u %s%s%s (sequence %llu)\n", idx, proto_status_name(st),
		    why != PROTO_REASON_NONE ? " " : "", proto_reason_name(why),
		    (unsigned long long)rec.u.sl.seq);
	}
	proto_record_fini(&rec);
	free(buf);
	return rc;
}

int
cmd_status(int argc, char **argv)
{
	struct status_opts o;
	int rc;

	if (argc < 2 || argv[1][0] == '-') {
		bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0);

		fputs(status_usage, help ? stdout : stderr);
		return help ? CLI_OK : CLI_USAGE;
	}
	rc = parse_status_opts(argc - 1, argv + 1, &o);
	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	if (strcmp(argv[1], "new") == 0)
		return status_new(&o);
	if (strcmp(argv[1], "set") == 0)
		return status_set(&o);
	if (strcmp(argv[1], "get") == 0)
		return status_get(&o);
	cli_err("unknown status command '%s' (new, set, get)", argv[1]);
	return CLI_USAGE;
}
