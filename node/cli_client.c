/*
 * cli_client.c - the mrx CLI as a client of a running node:
 *
 *   mrx --node URL [--token-file F] COMMAND ...
 *
 * COMMAND is health, clearance issue|get|status, operator issue|get|status,
 * verify or alerts. Requests go over HTTP with libcurl; the token is read
 * from the file (never from the command line, where ps would show it).
 * Exit codes as everywhere: 0 success or accept, 1 reject, indeterminate
 * or a refused request (4xx), 2 usage, connection or server error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli.h"
#include "cli_util.h"

#define CLIENT_RESPONSE_MAX (4u << 20)
#define CLIENT_TIMEOUT_S 70

static const char client_usage[] =
    "usage: mrx --node URL [--token-file FILE] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  health\n"
    "  clearance issue --sub HEX32 --level L --operator ID [--scope S]...\n"
    "                  [--valid-for DUR] [--out FILE]\n"
    "  clearance get ID [--out FILE]\n"
    "  clearance status ID --to valid|revoked|suspended [--reason CODE]\n"
    "  operator issue --sub ID --level L [--level L]... [--scope S]...\n"
    "                  [--valid-for DUR] [--out FILE]\n"
    "  operator get ID [--out FILE]\n"
    "  operator status ID --to valid|revoked|suspended [--reason CODE]\n"
    "  verify FILE --access SCHEME:LEVEL [--operator-cert FILE] [--scope S]\n"
    "  alerts [--since N] [--wait SECONDS]\n"
    "\n"
    "The response is printed as JSON. --token-file defaults to the file\n"
    "named by MRX_TOKEN_FILE, else ./admin.token.\n";

struct client {
	const char *url;	/* http://127.0.0.1:7400 */
	char auth[256];		/* "Authorization: Bearer ..." */
};

struct growbuf {
	char *p;
	size_t len;
	bool over;
};

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct growbuf *b = ud;
	size_t n = size * nmemb;
	char *q;

	if (b->len + n > CLIENT_RESPONSE_MAX) {
		b->over = true;
		return 0;
	}
	q = realloc(b->p, b->len + n + 1);
	if (q == NULL)
		return 0;
	b->p = q;
	memcpy(b->p + b->len, ptr, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

static int
read_token(struct client *c, const char *path)
{
	uint8_t *buf;
	size_t len;

	if (path == NULL)
		path = getenv("MRX_TOKEN_FILE");
	if (path == NULL)
		path = "admin.token";
	if (cli_read_file(path, 200, &buf, &len) != 0)
		return CLI_USAGE;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' '))
		len--;
	snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %.*s",
	    (int)len, (const char *)buf);
	free(buf);
	return 0;
}

/*
 * One request. `body` may be NULL (GET). Returns the HTTP status (>= 100),
 * or -1 after printing a connection error. *resp is malloc'd.
 */
static long
request(const struct client *c, const char *method, const char *path,
    const char *body, char **resp)
{
	struct curl_slist *h = NULL;
	struct growbuf b = { NULL, 0, false };
	char url[2048];
	long status = -1;
	CURL *k;
	CURLcode rc;

	*resp = NULL;
	snprintf(url, sizeof(url), "%s%s", c->url, path);
	k = curl_easy_init();
	if (k == NULL)
		return -1;
	h = curl_slist_append(h, c->auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(k, CURLOPT_URL, url);
	curl_easy_setopt(k, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(k, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(k, CURLOPT_TIMEOUT, (long)CLIENT_TIMEOUT_S);
	curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
	if (body != NULL)
		curl_easy_setopt(k, CURLOPT_POSTFIELDS, body);
	rc = curl_easy_perform(k);
	if (rc != CURLE_OK)
		cli_err("%s %s: %s", method, url, b.over ?
		    "response too large" : curl_easy_strerror(rc));
	else
		curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(k);
	if (rc != CURLE_OK) {
		free(b.p);
		return -1;
	}
	*resp = b.p != NULL ? b.p : strdup("");
	return status;
}

/* Prints the response; maps the status to an exit code. */
static int
finish(long status, char *resp, const char *out_field, const char *out)
{
	json_t *j = NULL, *rec;
	json_error_t je;
	int rc;

	if (status < 0)
		return CLI_USAGE;
	if (resp[0] != '\0')
		j = json_loads(resp, 0, &je);
	if (j != NULL && status >= 400 && json_is_object(json_object_get(j,
	    "error"))) {
		json_t *e = json_object_get(j, "error");

		const char *code = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e,
		    "message"));

		cli_err("%ld %s: %s", status, code != NULL ? code : "error",
		    msg != NULL ? msg : "");
	}
	if (j != NULL && status < 400 && out != NULL && out_field != NULL &&
	    (rec = json_object_get(j, out_field)) != NULL &&
	    json_is_string(rec)) {
		const char *v = json_string_value(rec);
		uint8_t *bytes;
		size_t n;

		/* the record travels as base64url; the file gets its bytes */
		if (cli_b64url_decode(v, strlen(v), &bytes, &n) != 0) {
			cli_err("the node sent a record that is not base64url");
			status = 599;
		} else {
			if (cli_write_file(out, bytes, n, false) != 0)
				status = 599;
			free(bytes);
		}
	}
	if (j != NULL)
		cli_json_print(j);
	else if (resp[0] != '\0')
		printf("%s\n", resp);
	free(resp);
	rc = status < 300 ? CLI_OK : status < 500 ? CLI_REJECT : CLI_USAGE;
	return rc;
}

static int
post_json(const struct client *c, const char *path, json_t *body,
    const char *out_field, const char *out)
{
	char *s = json_dumps(body, JSON_COMPACT), *resp;
	long st;

	json_decref(body);
	if (s == NULL)
		return CLI_USAGE;
	st = request(c, "POST", path, s, &resp);
	free(s);
	return finish(st, resp, out_field, out);
}

/* Options of the record commands. */
struct rec_opts {
	const char *sub, *op, *valid_for, *out, *to, *reason, *access;
	const char *opcert;
	const char *levels[CLI_LIST_MAX], *scopes[CLI_LIST_MAX];
	size_t nlevels, nscopes;
	const char *pos;	/* positional argument (ID or FILE) */
	uint64_t since, wait;
};

static int
parse_rec_opts(int argc, char **argv, struct rec_opts *o)
{
	static const struct option opts[] = {
		{ "sub", required_argument, NULL, 's' },
		{ "operator", required_argument, NULL, 'p' },
		{ "valid-for", required_argument, NULL, 'v' },
		{ "out", required_argument, NULL, 'o' },
		{ "to", required_argument, NULL, 't' },
		{ "reason", required_argument, NULL, 'r' },
		{ "access", required_argument, NULL, 'a' },
		{ "scope", required_argument, NULL, 'S' },
		{ "level", required_argument, NULL, 'l' },
		{ "operator-cert", required_argument, NULL, 'O' },
		{ "since", required_argument, NULL, 'n' },
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = 0;

	memset(o, 0, sizeof(*o));
	optind = 0;	/* glibc: re-initialise fully, ordering included */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': o->sub = optarg; break;
		case 'p': o->op = optarg; break;
		case 'v': o->valid_for = optarg; break;
		case 'o': o->out = optarg; break;
		case 't': o->to = optarg; break;
		case 'r': o->reason = optarg; break;
		case 'a': o->access = optarg; break;
		case 'O': o->opcert = optarg; break;
		case 'n': o->since = strtoull(optarg, NULL, 10); break;
		case 'w': o->wait = strtoull(optarg, NULL, 10); break;
		case 'S':
			rc = cli_list_add(o->scopes, &o->nscopes, "--scope",
			    optarg);
			break;
		case 'l':
			rc = cli_list_add(o->levels, &o->nlevels, "--level",
			    optarg);
			break;
		default:
			fputs(client_usage, stderr);
			return CLI_USAGE;
		}
		if (rc != 0)
			return rc;
	}
	if (optind < argc)
		o->pos = argv[optind++];
	if (optind != argc) {
		cli_err("unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	return 0;
}

static json_t *
strs_json(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int
records_cmd(const struct client *c, const char *kind, const char *verb,
    const struct rec_opts *o)
{
	char path[256];
	json_t *b;
	long st;
	char *resp;
	bool clr = strcmp(kind, "clearance") == 0;
	const char *base = clr ? "/v1/clearances" : "/v1/operators";

	if (strcmp(verb, "issue") == 0) {
		if (o->sub == NULL || o->nlevels == 0 ||
		    (clr && (o->op == NULL || o->nlevels != 1))) {
			cli_err("%s issue needs --sub, --level%s", kind,
			    clr ? " (one) and --operator" : "");
			return CLI_USAGE;
		}
		b = json_pack("{s:s, s:o}", "sub", o->sub, "scopes",
		    strs_json(o->scopes, o->nscopes));
		if (clr) {
			json_object_set_new(b, "level", json_string(o->levels[0]));
			json_object_set_new(b, "operator", json_string(o->op));
		} else {
			json_object_set_new(b, "levels",
			    strs_json(o->levels, o->nlevels));
		}
		if (o->valid_for != NULL)
			json_object_set_new(b, "valid_for",
			    json_string(o->valid_for));
		return post_json(c, base, b, o->out != NULL ? "record" : NULL,
		    o->out);
	}
	if (o->pos == NULL || strlen(o->pos) > 64) {
		cli_err("%s %s needs a record ID", kind, verb);
		return CLI_USAGE;
	}
	if (strcmp(verb, "get") == 0) {
		snprintf(path, sizeof(path), "%s/%s", base, o->pos);
		st = request(c, "GET", path, NULL, &resp);
		return finish(st, resp, "record", o->out);
	}
	if (strcmp(verb, "status") == 0) {
		if (o->to == NULL) {
			cli_err("%s status needs --to", kind);
			return CLI_USAGE;
		}
		snprintf(path, sizeof(path), "%s/%s/status", base, o->pos);
		b = json_pack("{s:s}", "status", o->to);
		if (o->reason != NULL)
			json_object_set_new(b, "reason", json_string(o->reason));
		return post_json(c, path, b, NULL, NULL);
	}
	cli_err("unknown %s command '%s' (issue, get, status)", kind, verb);
	return CLI_USAGE;
}

static int
b64_file(const char *path, char **out)
{
	uint8_t *buf;
	size_t len;
	int rc;

	rc = cli_read_file(path, PROTO_RECORD_MAX, &buf, &len);
	if (rc != 0)
		return rc;
	*out = malloc((len + 2) / 3 * 4 + 1);
	if (*out == NULL) {
		free(buf);
		return CLI_USAGE;
	}
	cli_b64url(buf, len, *out);
	free(buf);
	return 0;
}

static int
verify_cmd(const struct client *c, const struct rec_opts *o)
{
	char *rec = NULL, *op = NULL, *resp;
	json_t *b, *j, *d;
	json_error_t je;
	long st;
	int rc;

	if (o->pos == NULL || o->access == NULL) {
		cli_err("verify needs a record FILE and --access");
		return CLI_USAGE;
	}
	if ((rc = b64_file(o->pos, &rec)) != 0)
		return rc;
	if (o->opcert != NULL && (rc = b64_file(o->opcert, &op)) != 0) {
		free(rec);
		return rc;
	}
	b = json_pack("{s:s, s:s}", "record", rec, "access", o->access);
	if (op != NULL)
		json_object_set_new(b, "operator_record", json_string(op));
	if (o->nscopes > 0)
		json_object_set_new(b, "scope", json_string(o->scopes[0]));
	free(rec);
	free(op);
	resp = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	if (resp == NULL)
		return CLI_USAGE;
	st = request(c, "POST", "/v1/verify", resp, &rec);
	free(resp);
	if (st != 200)
		return finish(st, rec, NULL, NULL);
	j = json_loads(rec, 0, &je);
	d = j != NULL ? json_object_get(j, "decision") : NULL;
	rc = d != NULL && json_is_string(d) &&
	    strcmp(json_string_value(d), "accept") == 0 ? CLI_OK : CLI_REJECT;
	json_decref(j);
	finish(st, rec, NULL, NULL);
	return rc;
}

int
cmd_client(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "token-file", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct client c;
	struct rec_opts o;
	const char *token = NULL, *cmd;
	char path[128], *resp = NULL;
	long st;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	/* global options stop at the first command word */
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': c.url = optarg; break;
		case 't': token = optarg; break;
		case 'h': fputs(client_usage, stdout); return CLI_OK;
		default: fputs(client_usage, stderr); return CLI_USAGE;
		}
	}
	if (c.url == NULL || optind >= argc) {
		fputs(client_usage, stderr);
		return CLI_USAGE;
	}
	if (strncmp(c.url, "http://", 7) != 0 &&
	    strncmp(c.url, "https://", 8) != 0) {
		cli_err("--node: '%s' is not an http:// or https:// URL", c.url);
		return CLI_USAGE;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "health") == 0) {
		st = request(&c, "GET", "/v1/health", NULL, &resp);
		return finish(st, resp, NULL, NULL);
	}
	if (read_token(&c, token) != 0)
		return CLI_USAGE;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((strcmp(cmd, "clearance") == 0 || strcmp(cmd, "operator") == 0)) {
		if (argc < 2) {
			fputs(client_usage, stderr);
			return CLI_USAGE;
		}
		if (parse_rec_opts(argc - 1, argv + 1, &o) != 0)
			return CLI_USAGE;
		rc = records_cmd(&c, cmd, argv[1], &o);
	} else if (strcmp(cmd, "verify") == 0) {
		rc = parse_rec_opts(argc, argv, &o) != 0 ? CLI_USAGE :
		    verify_cmd(&c, &o);
	} else if (strcmp(cmd, "alerts") == 0) {
		if (parse_rec_opts(argc, argv, &o) != 0)
			return CLI_USAGE;
		snprintf(path, sizeof(path), "/v1/alerts?since=%llu&wait=%llu",
		    (unsigned long long)o.since, (unsigned long long)o.wait);
		st = request(&c, "GET", path, NULL, &resp);
		rc = finish(st, resp, NULL, NULL);
	} else {
		cli_err("unknown node command '%s'", cmd);
		fputs(client_usage, stderr);
		rc = CLI_USAGE;
	}
	curl_global_cleanup();
	return rc;
}
