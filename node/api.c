/*
 * api.c - the node's HTTP/JSON API (docs/api.md, docs/openapi.yaml).
 *
 * Every request is parsed strictly (unknown fields, wrong types, bad
 * base64url, oversize are 4xx with {"error":{"code","message","field"}}),
 * turned into one engine event, and answered from the engine's reply.
 * Nothing is stored for a refused request. Mutating calls and reads of
 * records need "Authorization: Bearer <admin token>", compared in constant
 * time; /v1/health and /metrics are open.
 *
 * POST /v1/verify checks signatures on libuv's thread pool unless the
 * exact bytes were verified before (the engine's cache); the decision is
 * then made on the loop thread by the engine, audited, and answered after
 * the commit that holds the audit entry.
 *
 * Logs: one line per request with method, path (record ids shortened),
 * status and time; never a subject id or a token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api_req.h"
#include "cli.h"
#include "cli_util.h"
#include "fednode.h"
#include "log.h"
#include "mrxd.h"
#include "ptime.h"
#include "syncer.h"
#include "value.h"

#define API_ID_HEX (2 * PROTO_CTI_LEN)

static char *
dump(json_t *j, size_t *len)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(j);
	*len = s != NULL ? strlen(s) : 0;
	return s;
}

static void
respond_json(struct http_exchange *x, int status, json_t *j)
{
	size_t len;
	char *s = dump(j, &len);

	if (s == NULL) {
		http_respond(x, 500, "application/json", "{}", 2, NULL);
		return;
	}
	http_respond(x, status, "application/json", s, len, NULL);
	free(s);
}

/*
 * A reply that shows the store's state: it leaves only when every commit
 * before it is durable, so nobody sees a change that a power cut could
 * still take back (node_reply_after_commit).
 */
static void
respond_state(struct node *n, struct http_exchange *x, int status, json_t *j)
{
	size_t len;
	char *s = dump(j, &len);

	if (s == NULL) {
		http_respond(x, 500, "application/json", "{}", 2, NULL);
		return;
	}
	node_reply_after_commit(n, x, status, s, len);
}

static void
respond_err(struct http_exchange *x, const struct api_err *e)
{
	respond_json(x, e->status, json_pack("{s:{s:s, s:s, s:o}}", "error",
	    "code", e->code, "message", e->message, "field",
	    e->field[0] != '\0' ? json_string(e->field) : json_null()));
}

static void
respond_simple_err(struct http_exchange *x, int status, const char *code,
    const char *field, const char *msg)
{
	struct api_err e;

	api_fail(&e, status, code, field, "%s", msg);
	respond_err(x, &e);
}

/* ---- request parsing (the bodies: api_req.c) ---- */

static int
parse_id(const char *hex, uint8_t cti[PROTO_CTI_LEN])
{
	size_t len;

	if (strlen(hex) != API_ID_HEX)
		return -1;
	return conf_hex_parse(hex, cti, PROTO_CTI_LEN, &len, NULL) == 0 &&
	    len == PROTO_CTI_LEN ? 0 : -1;
}

/*
 * The presented token's SHA-256 against the admin token's, in constant
 * time: comparing digests of equal length hides the token's length and
 * where a guess first differs.
 */
bool
node_authorized(const struct node *n, const struct http_request *req)
{
	const char *h = req->authorization;
	uint8_t got[CRY_SHA256_LEN];
	unsigned diff = 0;
	size_t i;

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	if (cry_sha256(h, strlen(h), got) != 0)
		return false;
	for (i = 0; i < CRY_SHA256_LEN; i++)
		diff |= (unsigned)(got[i] ^ n->token_hash[i]);
	return diff == 0;
}

/* ---- engine round trip ---- */

/* The single reply of an event's actions. */
static const struct eng_reply *
find_reply(const struct eng_actions *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->a[i].type == ENG_ACT_REPLY)
			return &a->a[i].u.reply;
	return NULL;
}

static json_t *
reply_error_json(const struct eng_reply *r)
{
	return json_pack("{s:{s:s, s:s, s:o}}", "error", "code", r->err_code,
	    "message", r->err_message, "field", r->err_field[0] != '\0' ?
	    json_string(r->err_field) : json_null());
}

/* What kind of answer to build from the reply. */
enum api_kind {
	API_ISSUED,
	API_STATUS,
	API_DECISION,
};

static json_t *
reply_json(const struct eng_reply *r, enum api_kind kind, const char *access,
    int64_t now)
{
	char hex[2 * PROTO_HASH_LEN + 1], *b64;
	json_t *j;

	if (r->status >= 400)
		return reply_error_json(r);
	switch (kind) {
	case API_ISSUED:
		b64 = malloc((r->record_len + 2) / 3 * 4 + 1);
		if (b64 == NULL)
			return NULL;
		cli_b64url(r->record, r->record_len, b64);
		j = json_pack("{s:s, s:s, s:{s:s, s:I}}", "id",
		    cli_hex(r->cti, PROTO_CTI_LEN, hex), "record", b64, "status",
		    "uri", r->ref.uri, "idx", (json_int_t)r->ref.idx);
		free(b64);
		return j;
	case API_STATUS:
		return json_pack("{s:s, s:s, s:I}", "id",
		    cli_hex(r->cti, PROTO_CTI_LEN, hex), "status",
		    proto_status_name(r->entry_status), "seq", (json_int_t)r->seq);
	case API_DECISION:
		/* written by decision_body() */
		break;
	}
	return NULL;
}

/*
 * A decision's body, the bytes dump(cli_decision_json(...)) gives, written
 * without building the JSON tree; malloc'd to its size (plus the NUL).
 */
static char *
decision_body(const struct eng_reply *r, const char *access, int64_t now,
    size_t *len)
{
	char tmp[2048], *body;
	size_t n;

	n = cli_decision_json_write(r->decision, access, now, now, tmp,
	    sizeof(tmp));
	if (n == 0 || (body = malloc(n + 1)) == NULL)
		return NULL;
	if (n < sizeof(tmp))
		memcpy(body, tmp, n + 1);
	else
		cli_decision_json_write(r->decision, access, now, now, body,
		    n + 1);
	*len = n;
	return body;
}

/* The reply's body, malloc'd, or NULL when out of memory. */
static char *
reply_body(const struct eng_reply *r, enum api_kind kind, const char *access,
    int64_t now, size_t *len)
{
	json_t *j;

	if (kind == API_DECISION && r->status < 400)
		return decision_body(r, access, now, len);
	j = reply_json(r, kind, access, now);
	if (j == NULL)
		return NULL;
	return dump(j, len);
}

/*
 * Runs one event through the engine, stores its durable effects and
 * answers after the commit. `access` is for decision replies.
 */
static void
log_outcome(const struct eng_reply *r, enum api_kind kind, const char *what)
{
	char hex[9];

	if (r->status >= 400)
		log_msg(LOG_INFO, "api", "%s: %d %s (%s)", what, (int)r->status,
		    r->err_code, r->err_field);
	else if (kind == API_DECISION)
		log_msg(LOG_INFO, "api", "%s: %s %s", what,
		    proto_verdict_name(r->decision->verdict),
		    r->decision->nreasons > 0 ?
		    r->decision->reasons[0].code : "");
	else
		log_msg(LOG_INFO, "api", "%s: record %s…%s%s, %d once stored",
		    what, cli_hex(r->cti, 4, hex), kind == API_STATUS ? " " : "",
		    kind == API_STATUS ? proto_status_name(r->entry_status) : "",
		    (int)r->status);
}

static void
run_event(struct node *n, struct http_exchange *x, const struct eng_event *ev,
    enum api_kind kind, const char *access, const char *what)
{
	const struct eng_reply *r;
	char *body;
	size_t len;
	int rc;

	eng_actions_reset(n->acts);
	rc = eng_handle(n->eng, ev, n->acts);
	if (rc != 0 || (r = find_reply(n->acts)) == NULL) {
		respond_simple_err(x, 503, "engine-busy", NULL, "the node could "
		    "not handle the request now; retry");
		return;
	}
	log_outcome(r, kind, what);
	body = reply_body(r, kind, access, ev->now, &len);
	if (body == NULL) {
		respond_simple_err(x, 500, "internal", NULL, "out of memory");
		return;
	}
	if ((rc = node_apply(n, n->acts)) != 0) {
		free(body);
		node_respond_unstored(x, rc);
		return;
	}
	node_reply_after_commit(n, x, (int)r->status, body, len);
}

/* ---- handlers ---- */

static void
h_issue_clearance(struct node *n, struct http_exchange *x,
    const struct http_request *req)
{
	struct eng_event ev;
	struct api_err e;

	node_event_init(&ev, ENG_EV_ISSUE_CLEARANCE);
	if (api_req_issue_clearance(req->body, req->body_len, &ev.u.clr,
	    &e) != 0) {
		respond_err(x, &e);
		return;
	}
	run_event(n, x, &ev, API_ISSUED, NULL, "issue clearance");
}

static void
h_issue_operator(struct node *n, struct http_exchange *x,
    const struct http_request *req)
{
	struct eng_event ev;
	struct api_err e;

	node_event_init(&ev, ENG_EV_ISSUE_OPERATOR);
	if (api_req_issue_operator(req->body, req->body_len, &ev.u.op,
	    &e) != 0) {
		respond_err(x, &e);
		return;
	}
	run_event(n, x, &ev, API_ISSUED, NULL, "issue operator-cert");
}

static void
h_get_record(struct node *n, struct http_exchange *x, const char *idhex,
    enum proto_rec_type want)
{
	struct store_record rec;
	struct mrx_diag d;
	enum proto_status st = PROTO_STATUS_VALID;
	enum proto_reason why = PROTO_REASON_NONE;
	uint8_t cti[PROTO_CTI_LEN];
	char *b64, hex[API_ID_HEX + 1], tb[PROTO_TIME_STR];
	uint64_t seq = 0;
	json_t *j;
	int rc;

	if (parse_id(idhex, cti) != 0) {
		respond_simple_err(x, 400, "invalid-id", "id", "a record id is "
		    "32 hex digits");
		return;
	}
	mrx_diag_clear(&d);
	rc = store_get_record(n->store, cti, &rec, &d);
	if (rc == MRX_ENOENT || (rc == 0 && rec.type != want)) {
		if (rc == 0)
			store_record_fini(&rec);
		respond_simple_err(x, 404, "not-found", "id", "no such record");
		return;
	}
	if (rc != 0) {
		respond_simple_err(x, 503, "store-unavailable", NULL, d.msg);
		return;
	}
	(void)eng_status_of(n->eng, &rec.ref, &st, &why, &seq);
	b64 = malloc((rec.len + 2) / 3 * 4 + 1);
	if (b64 == NULL) {
		store_record_fini(&rec);
		respond_simple_err(x, 500, "internal", NULL, "out of memory");
		return;
	}
	cli_b64url(rec.bytes, rec.len, b64);
	/* no reason: the member is left out (docs/api.md, openapi.yaml) */
	j = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:I}, s:s, s:s*, s:I}",
	    "id", cli_hex(cti, PROTO_CTI_LEN, hex), "type",
	    proto_rec_type_name(rec.type), "record", b64, "exp",
	    proto_time_format(rec.exp, tb, sizeof(tb)), "status_ref", "uri",
	    rec.ref.uri, "idx", (json_int_t)rec.ref.idx, "status",
	    proto_status_name(st), "reason",
	    why != PROTO_REASON_NONE ? proto_reason_name(why) : NULL,
	    "seq", (json_int_t)seq);
	free(b64);
	store_record_fini(&rec);
	respond_state(n, x, 200, j);
}

static void
h_set_status(struct node *n, struct http_exchange *x,
    const struct http_request *req, const char *idhex,
    enum proto_rec_type want)
{
	struct store_record rec;
	struct eng_event ev;
	struct api_err e;
	struct mrx_diag d;
	int rc;

	node_event_init(&ev, ENG_EV_SET_STATUS);
	if (api_req_set_status(req->body, req->body_len, &ev.u.st, &e) != 0) {
		respond_err(x, &e);
		return;
	}
	if (parse_id(idhex, ev.u.st.cti) != 0) {
		respond_simple_err(x, 400, "invalid-id", "id", "a record id is "
		    "32 hex digits");
		return;
	}
	mrx_diag_clear(&d);
	rc = store_get_record(n->store, ev.u.st.cti, &rec, &d);
	if (rc == MRX_ENOENT || (rc == 0 && rec.type != want)) {
		if (rc == 0)
			store_record_fini(&rec);
		respond_simple_err(x, 404, "not-found", "id", "no such record");
		return;
	}
	if (rc != 0) {
		respond_simple_err(x, 503, "store-unavailable", NULL, d.msg);
		return;
	}
	ev.u.st.rec_type = rec.type;
	ev.u.st.ref = rec.ref;
	store_record_fini(&rec);
	run_event(n, x, &ev, API_STATUS, NULL, "status change");
}

/* A verification that waits for the thread pool. */
struct verify_job {
	uv_work_t work;
	struct node *n;
	struct http_exchange *x;
	struct eng_event ev;
	uint8_t *rec, *op;
	size_t rec_len, op_len;
	const struct cry_key *key, *op_key;
	bool ok;
	uint64_t t0;
};

static bool
sign1_ok(const uint8_t *b, size_t len, const struct cry_key *k)
{
	struct cry_sign1 s;

	return k != NULL && cry_sign1_decode(b, len, &s, NULL) == 0 &&
	    cry_sign1_verify(&s, k, NULL, 0, NULL) == 0;
}

static void
verify_work(uv_work_t *w)
{
	struct verify_job *j = w->data;

	j->ok = sign1_ok(j->rec, j->rec_len, j->key) &&
	    (j->op == NULL || sign1_ok(j->op, j->op_len, j->op_key));
}

static void
verify_decide(struct verify_job *j)
{
	struct node *n = j->n;

	j->ev.u.vf.record = j->rec;
	j->ev.u.vf.record_len = j->rec_len;
	j->ev.u.vf.operator_record = j->op;
	j->ev.u.vf.operator_record_len = j->op_len;
	run_event(n, j->x, &j->ev, API_DECISION, j->ev.u.vf.access, "verify");
	node_observe_latency(n, (double)(uv_hrtime() - j->t0) / 1e9);
	free(j->rec);
	free(j->op);
	free(j);
}

static void
verify_after(uv_work_t *w, int status)
{
	struct verify_job *j = w->data;
	struct node *n = j->n;

	n->verify_inflight--;
	if (status == 0 && j->ok) {
		eng_vcache_put(n->eng, j->rec, j->rec_len);
		if (j->op != NULL)
			eng_vcache_put(n->eng, j->op, j->op_len);
		j->ev.u.vf.signatures_verified = true;
	}
	/* on failure the engine verifies inline and says why */
	verify_decide(j);
}

static void verify_start(struct verify_job *j);

static void
verify_logs_done(void *arg, enum proto_log_check rec_log,
    enum proto_log_check op_log)
{
	struct verify_job *j = arg;

	j->ev.u.vf.issuer_log = rec_log;
	j->ev.u.vf.operator_issuer_log = op_log;
	verify_start(j);
}

static void
h_verify(struct node *n, struct http_exchange *x,
    const struct http_request *req)
{
	struct verify_job *j;
	struct api_records r;
	struct api_err e;

	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		respond_simple_err(x, 503, "busy", NULL, "out of memory");
		return;
	}
	j->n = n;
	j->x = x;
	j->t0 = uv_hrtime();
	node_event_init(&j->ev, ENG_EV_VERIFY);
	if (api_req_verify(req->body, req->body_len, &j->ev.u.vf, &r,
	    &e) != 0) {
		respond_err(x, &e);
		free(j);
		return;
	}
	j->rec = r.rec;
	j->rec_len = r.rec_len;
	j->op = r.op;
	j->op_len = r.op_len;
	/* a record signed by a key since declared compromised: its issuer's
	 * log is asked first (fednode.c) */
	if (!node_fed_check_logs(n, j->rec, j->rec_len, j->op, j->op_len,
	    verify_logs_done, j))
		verify_start(j);
}

/* The signature checks (on the pool unless cached), then the decision. */
static void
verify_start(struct verify_job *j)
{
	struct node *n = j->n;

	if (eng_vcache_has(n->eng, j->rec, j->rec_len) &&
	    (j->op == NULL || eng_vcache_has(n->eng, j->op, j->op_len))) {
		j->ev.u.vf.signatures_verified = true;
		verify_decide(j);
		return;
	}
	eng_verify_keys(n->eng, j->rec, j->rec_len, j->op, j->op_len, &j->key,
	    &j->op_key);
	if (j->key == NULL || (j->op != NULL && j->op_key == NULL) ||
	    n->verify_inflight >= NODE_VERIFY_INFLIGHT_MAX) {
		/* unchained (the engine will say why) or pool saturated */
		verify_decide(j);
		return;
	}
	j->work.data = j;
	n->verify_inflight++;
	if (uv_queue_work(n->loop, &j->work, verify_work, verify_after) != 0) {
		n->verify_inflight--;
		verify_decide(j);
	}
}

/* ---- alerts (long-poll) ---- */

struct alerts_ctx {
	json_t *arr;
	uint64_t last;
};

static int
alert_cb(void *ctx, uint64_t id, const struct eng_alert *a)
{
	struct alerts_ctx *c = ctx;
	char hex[API_ID_HEX + 1], tb[PROTO_TIME_STR];

	if (a->kind == ENG_ALERT_EQUIVOCATION)
		json_array_append_new(c->arr, json_pack("{s:I, s:s, s:s, s:s, "
		    "s:I, s:s}", "id", (json_int_t)id, "kind", "equivocation",
		    "issuer", a->issuer, "status_list", a->uri, "seq",
		    (json_int_t)a->seq, "time", proto_time_format(a->time, tb,
		    sizeof(tb))));
	else
		json_array_append_new(c->arr, json_pack("{s:I, s:s, s:s, s:s, "
		    "s:s, s:s?, s:I, s:s, s:s}", "id", (json_int_t)id, "kind",
		    "status", "record_id", cli_hex(a->cti, PROTO_CTI_LEN, hex),
		    "issuer", a->issuer, "status", proto_status_name(a->status),
		    "reason", a->reason != PROTO_REASON_NONE ?
		    proto_reason_name(a->reason) : NULL, "seq",
		    (json_int_t)a->seq, "time", proto_time_format(a->time, tb,
		    sizeof(tb)), "status_list", a->uri));
	c->last = id;
	return 0;
}

static void
answer_alerts(struct node *n, struct http_exchange *x, uint64_t since)
{
	struct alerts_ctx c = { json_array(), since };

	if (store_alerts_since(n->store, since, 1000, alert_cb, &c, NULL) != 0) {
		json_decref(c.arr);
		respond_simple_err(x, 503, "store-unavailable", NULL, "cannot "
		    "read alerts");
		return;
	}
	respond_state(n, x, 200, json_pack("{s:o, s:I}", "alerts", c.arr,
	    "last", (json_int_t)c.last));
}

static void
h_alerts(struct node *n, struct http_exchange *x,
    const struct http_request *req)
{
	struct api_err e;
	uint64_t since = 0, wait = 0;
	size_t i;

	if (api_req_alerts_query(req->query, &since, &wait, &e) != 0) {
		respond_err(x, &e);
		return;
	}
	if (wait > NODE_ALERT_WAIT_MAX_S)
		wait = NODE_ALERT_WAIT_MAX_S;
	if (wait == 0 || n->alert_last > since || n->stopping) {
		answer_alerts(n, x, since);
		return;
	}
	for (i = 0; i < NODE_WAITERS_MAX; i++)
		if (!n->waiters[i].used)
			break;
	if (i == NODE_WAITERS_MAX) {
		/* an empty answer now would make a re-polling client spin */
		respond_simple_err(x, 503, "too-many-waiters", "wait", "too many "
		    "long-polls are held; retry later or poll without wait");
		return;
	}
	n->waiters[i].used = true;
	n->waiters[i].x = x;
	n->waiters[i].since = since;
	n->waiters[i].deadline_ms = uv_now(n->loop) + wait * 1000;
}

void
api_wake_waiters(struct node *n, bool timeouts_only)
{
	struct node_waiter *w;
	size_t i;

	for (i = 0; i < NODE_WAITERS_MAX; i++) {
		w = &n->waiters[i];
		if (!w->used)
			continue;
		if (timeouts_only && uv_now(n->loop) < w->deadline_ms &&
		    !http_exchange_gone(w->x) && !n->stopping)
			continue;
		w->used = false;
		answer_alerts(n, w->x, w->since);
	}
}

/* ---- health and metrics ---- */

static void
h_health(struct node *n, struct http_exchange *x)
{
	respond_json(x, 200, json_pack("{s:s, s:s, s:s, s:s}", "status", "ok",
	    "id", n->conf.id, "role", eng_role_name(n->conf.role),
	    "jurisdiction", n->conf.jurisdiction));
}

static void
h_metrics(struct node *n, struct http_exchange *x)
{
	static const char *const verdicts[] = { "accept", "reject",
		"indeterminate" };
	struct eng_stats st;
	char *buf;
	size_t cap = 32768, len = 0;
	int i;

#define OUT(...) do { \
	int m_ = snprintf(buf + len, cap - len, __VA_ARGS__); \
	if (m_ > 0 && (size_t)m_ < cap - len) \
		len += (size_t)m_; \
} while (0)
	buf = malloc(cap);
	if (buf == NULL) {
		respond_simple_err(x, 500, "internal", NULL, "out of memory");
		return;
	}
	eng_stats_get(n->eng, &st);
	OUT("# HELP mrx_decisions_total Decisions made, by outcome.\n"
	    "# TYPE mrx_decisions_total counter\n");
	for (i = 0; i < 3; i++)
		OUT("mrx_decisions_total{outcome=\"%s\"} %llu\n", verdicts[i],
		    (unsigned long long)st.decisions[i]);
	OUT("# HELP mrx_verify_seconds Time from request to decision.\n"
	    "# TYPE mrx_verify_seconds histogram\n");
	for (i = 0; i < NODE_LAT_BUCKETS; i++)
		OUT("mrx_verify_seconds_bucket{le=\"%g\"} %llu\n",
		    node_lat_bounds[i], (unsigned long long)n->lat_bucket[i]);
	OUT("mrx_verify_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "mrx_verify_seconds_sum %.6f\nmrx_verify_seconds_count %llu\n",
	    (unsigned long long)n->lat_count, n->lat_sum_s,
	    (unsigned long long)n->lat_count);
	OUT("# HELP mrx_records_total Records this node has issued, by "
	    "type.\n# TYPE mrx_records_total gauge\n");
	for (i = PROTO_REC_DELEGATION; i <= PROTO_REC_KEY_REVOCATION; i++)
		OUT("mrx_records_total{type=\"%s\"} %llu\n",
		    proto_rec_type_name((enum proto_rec_type)i),
		    (unsigned long long)(n->records_at_start[i] + st.issued[i]));
	OUT("# HELP mrx_status_changes_total Status changes made.\n"
	    "# TYPE mrx_status_changes_total counter\n"
	    "mrx_status_changes_total %llu\n"
	    "# HELP mrx_alerts_total Alerts raised on watched records.\n"
	    "# TYPE mrx_alerts_total counter\nmrx_alerts_total %llu\n"
	    "# HELP mrx_watches Accepted clearances being watched.\n"
	    "# TYPE mrx_watches gauge\nmrx_watches %zu\n"
	    "# HELP mrx_status_lists Own status lists.\n"
	    "# TYPE mrx_status_lists gauge\nmrx_status_lists %zu\n"
	    "# HELP mrx_status_list_age_seconds Age of the status view this "
	    "node decides on (own lists are live).\n"
	    "# TYPE mrx_status_list_age_seconds gauge\n"
	    "mrx_status_list_age_seconds 0\n"
	    "# HELP mrx_http_connections Open API connections.\n"
	    "# TYPE mrx_http_connections gauge\nmrx_http_connections %zu\n"
	    "# HELP mrx_commit_failures_total Store commits that failed.\n"
	    "# TYPE mrx_commit_failures_total counter\n"
	    "mrx_commit_failures_total %llu\n"
	    "# HELP mrx_commit_failures_disk_full_total Store commits that "
	    "failed because the disk was full (answered 507).\n"
	    "# TYPE mrx_commit_failures_disk_full_total counter\n"
	    "mrx_commit_failures_disk_full_total %llu\n"
	    "# HELP mrx_store_syncs_total fdatasyncs of the WAL by the "
	    "syncer thread (each makes every commit before it durable).\n"
	    "# TYPE mrx_store_syncs_total counter\n"
	    "mrx_store_syncs_total %llu\n"
	    "# HELP mrx_store_commits_total Store commits.\n"
	    "# TYPE mrx_store_commits_total counter\n"
	    "mrx_store_commits_total %llu\n"
	    "# HELP mrx_signature_cache_hits_total Verifications skipped.\n"
	    "# TYPE mrx_signature_cache_hits_total counter\n"
	    "mrx_signature_cache_hits_total %llu\n",
	    (unsigned long long)st.status_changes,
	    (unsigned long long)st.alerts, st.watches, st.lists,
	    http_server_conns(n->http),
	    (unsigned long long)n->commit_failures,
	    (unsigned long long)n->commits_full,
	    (unsigned long long)syncer_syncs(n->syncer),
	    (unsigned long long)n->commits,
	    (unsigned long long)st.vcache_hits);
#undef OUT
	if (len < cap)
		len += node_fed_metrics(n, buf + len, cap - len);
	http_respond(x, 200, "text/plain; version=0.0.4", buf, len, NULL);
	free(buf);
}

/* ---- routing ---- */

/* "/v1/clearances/<id>[/status]": copies <id>, says whether /status. */
static bool
split_id(const char *rest, char *id, size_t cap, bool *status)
{
	const char *slash = strchr(rest, '/');
	size_t n = slash != NULL ? (size_t)(slash - rest) : strlen(rest);

	if (n == 0 || n >= cap)
		return false;
	memcpy(id, rest, n);
	id[n] = '\0';
	*status = slash != NULL;
	return slash == NULL || strcmp(slash, "/status") == 0;
}

static void
route_records(struct node *n, struct http_exchange *x,
    const struct http_request *req, const char *rest,
    enum proto_rec_type type)
{
	char id[API_ID_HEX + 8];
	bool status;
	bool post = strcmp(req->method, "POST") == 0;

	if (rest[0] == '\0') {
		if (!post) {
			respond_simple_err(x, 405, "method-not-allowed", NULL,
			    "use POST to issue");
			return;
		}
		if (type == PROTO_REC_CLEARANCE)
			h_issue_clearance(n, x, req);
		else
			h_issue_operator(n, x, req);
		return;
	}
	if (rest[0] != '/' || !split_id(rest + 1, id, sizeof(id), &status)) {
		respond_simple_err(x, 404, "not-found", NULL, "no such resource");
		return;
	}
	if (status && post)
		h_set_status(n, x, req, id, type);
	else if (!status && strcmp(req->method, "GET") == 0)
		h_get_record(n, x, id, type);
	else
		respond_simple_err(x, 405, "method-not-allowed", NULL,
		    status ? "use POST to change a status" : "use GET");
}

void
api_handle(void *ctx, struct http_exchange *x, const struct http_request *req)
{
	struct node *n = ctx;
	const char *p = req->path;

	n->http_requests++;
	log_msg(LOG_DEBUG, "api", "%s %.20s from %s", req->method, p,
	    req->peer);
	if (n->stopping) {
		respond_simple_err(x, 503, "stopping", NULL, "the node is "
		    "shutting down");
		return;
	}
	if (strcmp(p, "/v1/health") == 0 || strcmp(p, "/metrics") == 0) {
		if (strcmp(req->method, "GET") != 0 &&
		    strcmp(req->method, "HEAD") != 0)
			respond_simple_err(x, 405, "method-not-allowed", NULL,
			    "use GET");
		else if (strcmp(p, "/metrics") == 0)
			h_metrics(n, x);
		else
			h_health(n, x);
		return;
	}
	if (strncmp(p, "/v1/", 4) != 0) {
		respond_simple_err(x, 404, "not-found", NULL, "no such resource");
		return;
	}
	if (node_fed_route(n, x, req))
		return;
	if (!node_authorized(n, req)) {
		log_msg(LOG_WARN, "api", "%s %.20s from %s: missing or wrong "
		    "admin token", req->method, p, req->peer);
		respond_simple_err(x, 401, "unauthorized", "Authorization",
		    "this call needs 'Authorization: Bearer <admin token>'");
		return;
	}
	if (strncmp(p, "/v1/clearances", 14) == 0)
		route_records(n, x, req, p + 14, PROTO_REC_CLEARANCE);
	else if (strncmp(p, "/v1/operators", 13) == 0)
		route_records(n, x, req, p + 13, PROTO_REC_OPERATOR);
	else if (strcmp(p, "/v1/verify") == 0 &&
	    strcmp(req->method, "POST") == 0)
		h_verify(n, x, req);
	else if (strcmp(p, "/v1/alerts") == 0 &&
	    strcmp(req->method, "GET") == 0)
		h_alerts(n, x, req);
	else if (strcmp(p, "/v1/verify") == 0 ||
	    strcmp(p, "/v1/alerts") == 0)
		respond_simple_err(x, 405, "method-not-allowed", NULL,
		    strcmp(p, "/v1/verify") == 0 ? "use POST" : "use GET");
	else
		respond_simple_err(x, 404, "not-found", NULL, "no such resource");
}
