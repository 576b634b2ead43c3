/*
 * test_engine.c - the node's state machine driven directly: no process, no
 * socket, no file. Keys come from fixed seeds, time and randomness are
 * given with each event, so every run is the same run. Each test checks
 * the actions an event appends, and that a refused event (bad request,
 * full buffer) leaves the engine exactly as it was: eng_check() holds and
 * the next issuance with the same randomness is byte for byte the one a
 * twin engine that never saw the refused event makes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"
#include "ptime.h"
#include "testkit.h"

#define T0 1790000000LL		/* 2026-09-21, the issuance time */
#define YEAR (365LL * 86400)
#define ISSUER "jp.meti"
#define ROOT "jp.cao"
#define CESI "JP-CESI:CONFIDENTIAL"
#define SUB "00112233445566778899aabbccddeeff"
#define OPERATOR "jp.op.sub"
#define MANY 100000		/* issuances checked for unique indices */
#define SMALL_LIST 16		/* entries of the lists in small tests */

/* Keys and the signed delegation every trust store is built from. */
struct fx {
	struct cry_key *root, *issuer;
	uint8_t *deleg;
	size_t deleg_len;
	struct eng_actions *acts;
	uint32_t ctr;			/* randomness counter */
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct proto_record r;

	assert_non_null(f);
	f->root = seed_key(1);
	f->issuer = seed_key(2);
	f->acts = malloc(sizeof(*f->acts));
	assert_non_null(f->acts);
	eng_actions_reset(f->acts);
	memset(&r, 0, sizeof(r));
	r.type = PROTO_REC_DELEGATION;
	snprintf(r.u.del.c.iss, sizeof(r.u.del.c.iss), ROOT);
	snprintf(r.u.del.c.sub, sizeof(r.u.del.c.sub), ISSUER);
	r.u.del.c.iat = T0 - YEAR;
	r.u.del.c.nbf = T0 - YEAR;
	r.u.del.c.exp = T0 + 5 * YEAR;
	r.u.del.c.has_nbf = r.u.del.c.has_exp = true;
	memset(r.u.del.c.cti, 0xd1, PROTO_CTI_LEN);
	assert_int_equal(cry_key_spki(f->issuer, r.u.del.key,
	    sizeof(r.u.del.key), &r.u.del.key_len), 0);
	snprintf(r.u.del.levels.v[0], sizeof(r.u.del.levels.v[0]), CESI);
	r.u.del.levels.n = 1;
	f->deleg = sign(&r, f->root, &f->deleg_len);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	cry_key_free(f->root);
	cry_key_free(f->issuer);
	free(f->deleg);
	free(f->acts);
	free(f);
	return 0;
}

static struct proto_trust *
make_trust(struct fx *f)
{
	struct proto_trust *t = proto_trust_new();
	struct mrx_diag d;

	assert_non_null(t);
	assert_int_equal(proto_trust_add_root(t, ROOT, seed_key(1), NULL), 0);
	mrx_diag_clear(&d);
	if (proto_trust_add(t, f->deleg, f->deleg_len, T0, 60, &d) != 0)
		fail_msg("trust: %s: %s", d.field, d.msg);
	return t;
}

static void
config(struct fx *f, struct eng_config *c, uint32_t list_size)
{
	memset(c, 0, sizeof(*c));
	c->role = ENG_ROLE_ISSUER;
	snprintf(c->id, sizeof(c->id), ISSUER);
	snprintf(c->jurisdiction, sizeof(c->jurisdiction), "JP");
	c->key = f->issuer;
	proto_policy_default(&c->policy);
	c->status_list_size = list_size;
}

static struct engine *
new_engine(struct fx *f, uint32_t list_size)
{
	struct eng_config c;
	struct engine *e = NULL;
	struct mrx_diag d;

	config(f, &c, list_size);
	mrx_diag_clear(&d);
	if (eng_new(&c, make_trust(f), &e, &d) != 0)
		fail_msg("eng_new: %s: %s", d.field, d.msg);
	assert_true(eng_check(e));
	return e;
}

/* Randomness number n: the same n gives the same bytes. */
static void
rnd_fill(uint8_t rnd[ENG_RAND_LEN], uint32_t n)
{
	uint8_t b[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16),
		(uint8_t)(n >> 8), (uint8_t)n };

	assert_int_equal(cry_sha256(b, sizeof(b), rnd), 0);
}

static void
ev_init(struct eng_event *ev, enum eng_ev_type type, int64_t now, uint32_t rn)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->req_id = rn;
	ev->now = now;
	rnd_fill(ev->rnd, rn);
}

static void
ev_clearance(struct eng_event *ev, int64_t now, uint32_t rn)
{
	ev_init(ev, ENG_EV_ISSUE_CLEARANCE, now, rn);
	snprintf(ev->u.clr.sub, sizeof(ev->u.clr.sub), SUB);
	snprintf(ev->u.clr.level, sizeof(ev->u.clr.level), CESI);
	snprintf(ev->u.clr.operator_id, sizeof(ev->u.clr.operator_id),
	    OPERATOR);
}

static void
ev_status(struct eng_event *ev, const struct eng_reply *issued,
    enum proto_status st, enum proto_reason why, int64_t now, uint32_t rn)
{
	ev_init(ev, ENG_EV_SET_STATUS, now, rn);
	ev->u.st.rec_type = PROTO_REC_CLEARANCE;
	memcpy(ev->u.st.cti, issued->cti, PROTO_CTI_LEN);
	ev->u.st.ref = issued->ref;
	ev->u.st.status = st;
	ev->u.st.reason = why;
}

static void
ev_verify(struct eng_event *ev, const uint8_t *rec, size_t len, int64_t now,
    uint32_t rn)
{
	ev_init(ev, ENG_EV_VERIFY, now, rn);
	ev->u.vf.record = rec;
	ev->u.vf.record_len = len;
	snprintf(ev->u.vf.access, sizeof(ev->u.vf.access), CESI);
}

/* Runs one event into a fresh buffer; returns its reply (or NULL). */
static const struct eng_reply *
run(struct engine *e, struct eng_actions *acts, const struct eng_event *ev)
{
	eng_actions_reset(acts);
	assert_int_equal(eng_handle(e, ev, acts), 0);
	if (acts->n == 0)
		return NULL;
	assert_int_equal(acts->a[acts->n - 1].type, ENG_ACT_REPLY);
	return &acts->a[acts->n - 1].u.reply;
}

/* A reply that outlives the buffer: the record is copied. */
struct issued {
	struct eng_reply r;
	uint8_t rec[PROTO_RECORD_MAX];
};

static void
keep(struct issued *out, const struct eng_reply *r)
{
	assert_non_null(r);
	assert_int_equal(r->status, ENG_CREATED);
	out->r = *r;
	assert_true(r->record_len <= sizeof(out->rec));
	memcpy(out->rec, r->record, r->record_len);
	out->r.record = out->rec;
}

static void
issue(struct engine *e, struct fx *f, struct issued *out, uint32_t rn)
{
	struct eng_event ev;

	ev_clearance(&ev, T0, rn);
	keep(out, run(e, f->acts, &ev));
}

static void
expect_types(const struct eng_actions *a, const enum eng_act_type *t,
    size_t n)
{
	size_t i;

	assert_int_equal(a->n, n);
	for (i = 0; i < n; i++)
		assert_int_equal(a->a[i].type, t[i]);
}

static void
test_issue_clearance(void **state)
{
	static const enum eng_act_type want[] = { ENG_ACT_PERSIST_RECORD,
		ENG_ACT_PERSIST_LIST, ENG_ACT_AUDIT, ENG_ACT_REPLY };
	struct fx *f = *state;
	struct engine *e = new_engine(f, 0);
	const struct eng_action *a = f->acts->a;
	const struct eng_reply *r;
	struct proto_record rec;
	struct eng_event ev;
	struct eng_stats st;
	int64_t exp;

	ev_clearance(&ev, T0, 1);
	r = run(e, f->acts, &ev);
	expect_types(f->acts, want, 4);
	assert_int_equal(r->status, ENG_CREATED);
	assert_int_equal(r->record_len, a[0].u.rec.len);
	assert_memory_equal(r->record, a[0].u.rec.bytes, r->record_len);
	assert_int_equal(proto_record_decode(r->record, r->record_len, &rec,
	    NULL), 0);
	assert_int_equal(rec.type, PROTO_REC_CLEARANCE);
	assert_string_equal(rec.u.clr.c.iss, ISSUER);
	assert_string_equal(rec.u.clr.c.sub, SUB);
	assert_string_equal(rec.u.clr.level, CESI);
	assert_string_equal(rec.u.clr.operator_id, OPERATOR);
	assert_true(rec.u.clr.c.iat == T0 && rec.u.clr.c.nbf == T0);
	assert_int_equal(proto_time_add_years(T0, 10, &exp), 0);
	assert_true(rec.u.clr.c.exp == exp);	/* JP-CESI: 10 years */
	assert_memory_equal(rec.u.clr.c.cti, r->cti, PROTO_CTI_LEN);
	assert_string_equal(rec.u.clr.status.uri, "mrx://jp.meti/status/1");
	assert_string_equal(r->ref.uri, rec.u.clr.status.uri);
	assert_true(r->ref.idx == rec.u.clr.status.idx &&
	    r->ref.idx < PROTO_STATUS_ENTRIES_DEFAULT);
	assert_int_equal(cry_sign1_verify(&rec.env, f->issuer, NULL, 0, NULL),
	    0);
	proto_record_fini(&rec);
	/* the record as persisted, the list's allocation, the audit entry */
	assert_int_equal(a[0].u.rec.type, PROTO_REC_CLEARANCE);
	assert_string_equal(a[0].u.rec.sub, SUB);
	assert_true(a[0].u.rec.exp == exp && a[0].u.rec.iat == T0);
	assert_int_equal(a[1].u.list.nalloc, 1);
	assert_false(a[1].u.list.has_change);
	assert_true(a[1].u.list.sl->seq == 0 && !a[1].u.list.sl->has_head);
	assert_true((a[1].u.list.alloc[r->ref.idx / 8] >> (r->ref.idx % 8)) &
	    1);
	assert_int_equal(a[2].u.audit.kind, ENG_AUDIT_ISSUE);
	assert_string_equal(a[2].u.audit.level, CESI);
	assert_string_equal(a[2].u.audit.operator_id, OPERATOR);
	assert_memory_equal(a[2].u.audit.cti, r->cti, PROTO_CTI_LEN);
	eng_stats_get(e, &st);
	assert_true(st.issued[PROTO_REC_CLEARANCE] == 1 && st.lists == 1);
	assert_true(eng_check(e));
	eng_free(e);
}

/* Marks idx in a per-list bitmap; fails if it was marked. */
static void
mark_once(uint8_t *seen, uint32_t idx)
{
	if ((seen[idx / 8] >> (idx % 8)) & 1)
		fail_msg("status index %u drawn twice", idx);
	seen[idx / 8] |= (uint8_t)(1u << (idx % 8));
}

static void
test_indices_unique(void **state)
{
	struct fx *f = *state;
	struct engine *e = new_engine(f, 0);
	const uint32_t size = PROTO_STATUS_ENTRIES_DEFAULT;
	uint8_t *seen[2];
	const struct eng_reply *r;
	struct eng_event ev;
	struct eng_stats st;
	uint32_t i, list;

	seen[0] = calloc(size / 8, 1);
	seen[1] = calloc(size / 8, 1);
	assert_true(seen[0] != NULL && seen[1] != NULL);
	for (i = 0; i < MANY; i++) {
		ev_clearance(&ev, T0 + i / 1000, i + 1);
		r = run(e, f->acts, &ev);
		assert_int_equal(r->status, ENG_CREATED);
		/* the second list opens once the first is half allocated */
		list = i < size / 2 ? 1 : 2;
		if (strcmp(r->ref.uri, list == 1 ? "mrx://jp.meti/status/1" :
		    "mrx://jp.meti/status/2") != 0)
			fail_msg("issuance %u went to %s", i, r->ref.uri);
		assert_true(r->ref.idx < size);
		mark_once(seen[list - 1], r->ref.idx);
		assert_int_equal(f->acts->a[1].u.list.nalloc,
		    list == 1 ? i + 1 : i + 1 - size / 2);
	}
	eng_stats_get(e, &st);
	assert_true(st.lists == 2 && st.issued[PROTO_REC_CLEARANCE] == MANY);
	assert_true(eng_check(e));
	free(seen[0]);
	free(seen[1]);
	eng_free(e);
}

static void
test_lists_run_out(void **state)
{
	struct fx *f = *state;
	struct engine *e = new_engine(f, 8);
	const struct eng_reply *r;
	struct eng_event ev;
	uint32_t i;

	/* 4 entries per list of 8, ENG_LISTS_MAX lists */
	for (i = 0; i < 4 * ENG_LISTS_MAX; i++) {
		ev_clearance(&ev, T0, i + 1);
		r = run(e, f->acts, &ev);
		assert_int_equal(r->status, ENG_CREATED);
	}
	ev_clearance(&ev, T0, i + 1);
	r = run(e, f->acts, &ev);
	assert_int_equal(r->status, ENG_UNAVAILABLE);
	assert_string_equal(r->err_code, "capacity");
	assert_int_equal(f->acts->n, 1);
	assert_true(eng_check(e));
	eng_free(e);
}

static void
test_verify_accept_and_watch(void **state)
{
	static const enum eng_act_type want[] = { ENG_ACT_PERSIST_WATCH,
		ENG_ACT_AUDIT, ENG_ACT_REPLY };
	struct fx *f = *state;
	struct engine *e = new_engine(f, SMALL_LIST);
	const struct eng_action *a = f->acts->a;
	const struct eng_reply *r;
	const struct cry_key *k, *ok;
	struct eng_event ev;
	struct eng_stats st;
	struct issued c;

	issue(e, f, &c, 1);
	eng_verify_keys(e, c.rec, c.r.record_len, NULL, 0, &k, &ok);
	assert_non_null(k);
	assert_null(ok);
	assert_memory_equal(cry_key_kid(k), cry_key_kid(f->issuer),
	    CRY_KID_LEN);
	assert_false(eng_vcache_has(e, c.rec, c.r.record_len));
	ev_verify(&ev, c.rec, c.r.record_len, T0 + 60, 2);
	r = run(e, f->acts, &ev);
	expect_types(f->acts, want, 3);
	assert_int_equal(r->decision->verdict, PROTO_ACCEPT);
	assert_string_equal(a[0].u.watch.issuer, ISSUER);
	assert_string_equal(a[0].u.watch.ref.uri, c.r.ref.uri);
	assert_int_equal(a[0].u.watch.ref.idx, c.r.ref.idx);
	assert_memory_equal(a[0].u.watch.cti, c.r.cti, PROTO_CTI_LEN);
	assert_int_equal(a[1].u.audit.kind, ENG_AUDIT_DECISION);
	assert_string_equal(a[1].u.audit.codes, "accepted");
	assert_string_equal(a[1].u.audit.access, CESI);
	assert_string_equal(a[1].u.audit.level, CESI);
	assert_string_equal(a[1].u.audit.operator_id, OPERATOR);
	assert_true(r->decision->has_status && r->decision->status_age_s == 0);
	/* verified inline, so cached; a second look watches nothing new */
	assert_true(eng_vcache_has(e, c.rec, c.r.record_len));
	r = run(e, f->acts, &ev);
	assert_int_equal(f->acts->n, 2);
	assert_int_equal(r->decision->verdict, PROTO_ACCEPT);
	eng_stats_get(e, &st);
	assert_true(st.watches == 1 && st.decisions[PROTO_ACCEPT] == 2);
	assert_true(st.vcache_hits == 2 && st.vcache_misses == 2);
	/* a forged signature is not cached and is rejected */
	c.rec[c.r.record_len - 1] ^= 1;
	ev_verify(&ev, c.rec, c.r.record_len, T0 + 60, 3);
	r = run(e, f->acts, &ev);
	assert_int_equal(r->decision->verdict, PROTO_REJECT);
	assert_string_equal(r->decision->reasons[0].code, "bad-signature");
	assert_false(eng_vcache_has(e, c.rec, c.r.record_len));
	assert_true(eng_check(e));
	eng_free(e);
}

static void
test_watches_full(void **state)
{
	struct fx *f = *state;
	struct eng_config cfg;
	struct engine *e = NULL;
	struct issued c1, c2;
	struct eng_event ev;
	struct eng_stats st;
	const struct eng_reply *r;

	config(f, &cfg, SMALL_LIST);
	cfg.watches_max = 1;
	assert_int_equal(eng_new(&cfg, make_trust(f), &e, NULL), 0);
	issue(e, f, &c1, 1);
	issue(e, f, &c2, 2);
	ev_verify(&ev, c1.rec, c1.r.record_len, T0, 3);
	run(e, f->acts, &ev);
	assert_int_equal(f->acts->n, 3);
	/* full: still decided and audited, not watched */
	ev_verify(&ev, c2.rec, c2.r.record_len, T0, 4);
	r = run(e, f->acts, &ev);
	assert_int_equal(f->acts->n, 2);
	assert_int_equal(r->decision->verdict, PROTO_ACCEPT);
	eng_stats_get(e, &st);
	assert_true(st.watches == 1 && st.watches_dropped == 1);
	assert_true(eng_check(e));
	eng_free(e);
}

static void
test_revoke_alerts(void **state)
{
	static const enum eng_act_type want[] = { ENG_ACT_PERSIST_LIST,
		ENG_ACT_AUDIT, ENG_ACT_ALERT, ENG_ACT_AUDIT, ENG_ACT_PUBLISH,
		ENG_ACT_REPLY };
	struct fx *f = *state;
	struct engine *e = new_engine(f, SMALL_LIST);
	const struct eng_action *a = f->acts->a;
	const struct eng_reply *r;
	struct proto_record d;
	struct eng_event ev;
	struct issued c1, c2;
	uint8_t zero[PROTO_HASH_LEN] = { 0 }, head1[PROTO_HASH_LEN];

	issue(e, f, &c1, 1);
	issue(e, f, &c2, 2);
	ev_verify(&ev, c1.rec, c1.r.record_len, T0, 3);
	run(e, f->acts, &ev);
	ev_status(&ev, &c1.r, PROTO_STATUS_REVOKED,
	    PROTO_REASON_ELIGIBILITY_REVOKED, T0 + 100, 4);
	r = run(e, f->acts, &ev);
	expect_types(f->acts, want, 6);
	assert_int_equal(r->status, ENG_OK);
	assert_int_equal(r->entry_status, PROTO_STATUS_REVOKED);
	assert_true(r->seq == 1);
	assert_true(a[0].u.list.has_change && a[0].u.list.change.idx ==
	    c1.r.ref.idx && a[0].u.list.change.status == PROTO_STATUS_REVOKED);
	assert_true(a[0].u.list.sl->seq == 1 && a[0].u.list.sl->c.iat ==
	    T0 + 100);
	/* the signed delta: seq 1, prev zeros, its hash the list's head */
	assert_int_equal(proto_record_decode(a[0].u.list.delta,
	    a[0].u.list.delta_len, &d, NULL), 0);
	assert_int_equal(d.type, PROTO_REC_STATUS_DELTA);
	assert_true(d.u.sd.seq == 1 && d.u.sd.nchanges == 1);
	assert_memory_equal(d.u.sd.prev, zero, PROTO_HASH_LEN);
	assert_int_equal(proto_record_hash(&d, head1), 0);
	assert_memory_equal(a[0].u.list.sl->head, head1, PROTO_HASH_LEN);
	assert_int_equal(cry_sign1_verify(&d.env, f->issuer, NULL, 0, NULL), 0);
	proto_record_fini(&d);
	assert_int_equal(a[1].u.audit.kind, ENG_AUDIT_STATUS);
	assert_memory_equal(a[2].u.alert.cti, c1.r.cti, PROTO_CTI_LEN);
	assert_string_equal(a[2].u.alert.issuer, ISSUER);
	assert_true(a[2].u.alert.seq == 1 && a[2].u.alert.reason ==
	    PROTO_REASON_ELIGIBILITY_REVOKED);
	assert_int_equal(a[3].u.audit.kind, ENG_AUDIT_ALERT);
	/* an unwatched revocation: no alert; the log chains */
	ev_status(&ev, &c2.r, PROTO_STATUS_REVOKED,
	    PROTO_REASON_ADMIN_SEPARATION, T0 + 200, 5);
	r = run(e, f->acts, &ev);
	assert_int_equal(f->acts->n, 4);
	assert_true(r->seq == 2);
	assert_int_equal(proto_record_decode(a[0].u.list.delta,
	    a[0].u.list.delta_len, &d, NULL), 0);
	assert_memory_equal(d.u.sd.prev, head1, PROTO_HASH_LEN);
	proto_record_fini(&d);
	/* the revoked clearance is now rejected, with its reason */
	ev_verify(&ev, c1.rec, c1.r.record_len, T0 + 300, 6);
	r = run(e, f->acts, &ev);
	assert_int_equal(r->decision->verdict, PROTO_REJECT);
	assert_string_equal(r->decision->reasons[0].code, "revoked");
	assert_string_equal(r->decision->reasons[1].code,
	    "ELIGIBILITY_REVOKED");
	assert_string_equal(a[0].u.audit.codes,
	    "revoked,ELIGIBILITY_REVOKED");
	assert_true(eng_check(e));
	eng_free(e);
}

static void
test_revocation_is_final(void **state)
{
	struct fx *f = *state;
	struct engine *e = new_engine(f, SMALL_LIST);
	const struct eng_reply *r;
	struct eng_event ev;
	struct eng_stats st;
	struct issued c;
	enum proto_status s;
	enum proto_reason why;
	uint64_t seq;

	issue(e, f, &c, 1);
	ev_status(&ev, &c.r, PROTO_STATUS_REVOKED,
	    PROTO_REASON_ADMIN_SEPARATION, T0, 2);
	run(e, f->acts, &ev);
	/* the same status again: OK, nothing new */
	ev_status(&ev, &c.r, PROTO_STATUS_REVOKED, PROTO_REASON_EXPIRED, T0,
	    3);
	r = run(e, f->acts, &ev);
	assert_int_equal(f->acts->n, 1);
	assert_true(r->status == ENG_OK && r->seq == 1);
	/* no way back */
	ev_status(&ev, &c.r, PROTO_STATUS_VALID, PROTO_REASON_REINSTATED, T0,
	    4);
	r = run(e, f->acts, &ev);
	assert_int_equal(f->acts->n, 1);
	assert_int_equal(r->status, ENG_CONFLICT);
	assert_string_equal(r->err_field, "status");
	assert_non_null(strstr(r->err_message, "cannot be reinstated"));
	ev.u.st.status = PROTO_STATUS_SUSPENDED;
	r = run(e, f->acts, &ev);
	assert_int_equal(r->status, ENG_CONFLICT);
	assert_int_equal(eng_status_of(e, &c.r.ref, &s, &why, &seq), 0);
	assert_true(s == PROTO_STATUS_REVOKED && why ==
	    PROTO_REASON_ADMIN_SEPARATION && seq == 1);
	eng_stats_get(e, &st);
	assert_true(st.status_changes == 1);
	assert_true(eng_check(e));
	eng_free(e);
}

static void
test_suspend_reinstate(void **state)
{
	struct fx *f = *state;
	struct engine *e = new_engine(f, SMALL_LIST);
	const struct eng_reply *r;
	struct eng_event ev;
	struct issued c;
	enum proto_status s;
	uint64_t seq;

	issue(e, f, &c, 1);
	ev_status(&ev, &c.r, PROTO_STATUS_SUSPENDED,
	    PROTO_REASON_SUSPENDED_PENDING_REVIEW, T0 + 10, 2);
	r = run(e, f->acts, &ev);
	assert_int_equal(r->entry_status, PROTO_STATUS_SUSPENDED);
	ev_verify(&ev, c.rec, c.r.record_len, T0 + 20, 3);
	r = run(e, f->acts, &ev);
	assert_int_equal(r->decision->verdict, PROTO_REJECT);
	assert_string_equal(r->decision->reasons[0].code, "suspended");
	assert_string_equal(r->decision->reasons[1].code,
	    "SUSPENDED_PENDING_REVIEW");
	ev_status(&ev, &c.r, PROTO_STATUS_VALID, PROTO_REASON_REINSTATED,
	    T0 + 30, 4);
	r = run(e, f->acts, &ev);
	assert_true(r->status == ENG_OK && r->seq == 2);
	ev_verify(&ev, c.rec, c.r.record_len, T0 + 40, 5);
	r = run(e, f->acts, &ev);
	assert_int_equal(r->decision->verdict, PROTO_ACCEPT);
	assert_true(r->decision->status_seq == 2);
	assert_int_equal(eng_status_of(e, &c.r.ref, &s, NULL, &seq), 0);
	assert_true(s == PROTO_STATUS_VALID && seq == 2);
	eng_free(e);
}

static void
expect_error(struct engine *e, struct fx *f, const struct eng_event *ev,
    enum eng_reply_status st, const char *code, const char *field)
{
	const struct eng_reply *r = run(e, f->acts, ev);

	assert_int_equal(f->acts->n, 1);
	assert_int_equal(f->acts->arena_used, 0);
	assert_int_equal(r->status, st);
	if (code != NULL)
		assert_string_equal(r->err_code, code);
	assert_string_equal(r->err_field, field);
	assert_true(r->err_message[0] != '\0');
}

static void
test_unknown_ref(void **state)
{
	struct fx *f = *state;
	struct engine *e = new_engine(f, SMALL_LIST);
	struct eng_event ev;
	struct issued c;
	uint32_t i;

	issue(e, f, &c, 1);
	ev_status(&ev, &c.r, PROTO_STATUS_REVOKED, PROTO_REASON_NONE, T0, 2);
	snprintf(ev.u.st.ref.uri, sizeof(ev.u.st.ref.uri),
	    "mrx://jp.mof/status/1");
	expect_error(e, f, &ev, ENG_NOT_FOUND, "not-found", "ref");
	snprintf(ev.u.st.ref.uri, sizeof(ev.u.st.ref.uri),
	    "mrx://jp.meti/status/2");
	expect_error(e, f, &ev, ENG_NOT_FOUND, "not-found", "ref");
	snprintf(ev.u.st.ref.uri, sizeof(ev.u.st.ref.uri),
	    "mrx://jp.meti/status/01");
	expect_error(e, f, &ev, ENG_NOT_FOUND, "not-found", "ref");
	ev.u.st.ref = c.r.ref;
	ev.u.st.ref.idx = SMALL_LIST;
	expect_error(e, f, &ev, ENG_NOT_FOUND, "not-found", "ref");
	/* an entry of our list that was never allocated */
	for (i = 0; i < SMALL_LIST && i == c.r.ref.idx; i++)
		continue;
	ev.u.st.ref.idx = i;
	expect_error(e, f, &ev, ENG_NOT_FOUND, "not-found", "ref");
	assert_int_equal(eng_status_of(e, &ev.u.st.ref, NULL, NULL, NULL),
	    MRX_ENOENT);
	ev.u.st.ref = c.r.ref;
	ev.u.st.status = (enum proto_status)3;
	expect_error(e, f, &ev, ENG_BAD_REQUEST, NULL, "status");
	ev.u.st.status = PROTO_STATUS_REVOKED;
	ev.u.st.reason = PROTO_REASON_COUNT;
	expect_error(e, f, &ev, ENG_BAD_REQUEST, NULL, "reason");
	assert_true(eng_check(e));
	eng_free(e);
}

static void
test_roles(void **state)
{
	struct fx *f = *state;
	struct eng_config cfg;
	struct engine *e = NULL;
	struct proto_trust *t;
	struct eng_event ev;
	struct mrx_diag d;

	config(f, &cfg, SMALL_LIST);
	cfg.role = ENG_ROLE_OPERATOR;
	cfg.key = NULL;
	assert_int_equal(eng_new(&cfg, make_trust(f), &e, NULL), 0);
	ev_clearance(&ev, T0, 1);
	expect_error(e, f, &ev, ENG_FORBIDDEN, "forbidden", "");
	ev.type = ENG_EV_ISSUE_OPERATOR;
	expect_error(e, f, &ev, ENG_FORBIDDEN, "forbidden", "");
	ev.type = ENG_EV_SET_STATUS;
	expect_error(e, f, &ev, ENG_FORBIDDEN, "forbidden", "");
	eng_free(e);
	/* configuration errors name the field; the caller keeps the store */
	cfg.role = ENG_ROLE_ISSUER;
	mrx_diag_clear(&d);
	t = make_trust(f);
	assert_int_equal(eng_new(&cfg, t, &e, &d), MRX_EINVAL);
	assert_string_equal(d.field, "key");
	cfg.key = f->issuer;
	cfg.status_list_size = 12;
	mrx_diag_clear(&d);
	assert_int_equal(eng_new(&cfg, t, &e, &d), MRX_ERANGE);
	assert_string_equal(d.field, "status_list_size");
	snprintf(cfg.id, sizeof(cfg.id), "JP.METI");
	mrx_diag_clear(&d);
	assert_int_equal(eng_new(&cfg, t, &e, &d), MRX_EINVAL);
	assert_string_equal(d.field, "id");
	proto_trust_free(t);
	/* a tick is handled and answers nothing */
	e = new_engine(f, SMALL_LIST);
	ev_init(&ev, ENG_EV_TICK, T0, 1);
	assert_null(run(e, f->acts, &ev));
	ev_init(&ev, (enum eng_ev_type)99, T0, 1);
	eng_actions_reset(f->acts);
	assert_int_equal(eng_handle(e, &ev, f->acts), MRX_EINVAL);
	ev_init(&ev, ENG_EV_TICK, -1, 1);
	assert_int_equal(eng_handle(e, &ev, f->acts), MRX_EINVAL);
	assert_int_equal(f->acts->n, 0);
	eng_free(e);
}

/* Issues with randomness rn on both engines: the same bytes? */
static void
expect_twins(struct fx *f, struct engine *a, struct engine *b, uint32_t rn)
{
	struct issued x, y;

	issue(a, f, &x, rn);
	issue(b, f, &y, rn);
	assert_int_equal(x.r.record_len, y.r.record_len);
	assert_memory_equal(x.rec, y.rec, x.r.record_len);
	assert_string_equal(x.r.ref.uri, y.r.ref.uri);
	assert_int_equal(x.r.ref.idx, y.r.ref.idx);
}

static void
test_bad_inputs(void **state)
{
	struct fx *f = *state;
	struct engine *e = new_engine(f, SMALL_LIST);
	struct engine *twin = new_engine(f, SMALL_LIST);
	struct eng_event ev;
	struct eng_stats st;

	expect_twins(f, e, twin, 1);
	ev_clearance(&ev, T0, 2);
	snprintf(ev.u.clr.sub, sizeof(ev.u.clr.sub),
	    "00112233445566778899AABBCCDDEEFF");
	expect_error(e, f, &ev, ENG_BAD_REQUEST, "invalid-sub", "sub");
	snprintf(ev.u.clr.sub, sizeof(ev.u.clr.sub), "0011");
	expect_error(e, f, &ev, ENG_BAD_REQUEST, "invalid-sub", "sub");
	ev_clearance(&ev, T0, 2);
	snprintf(ev.u.clr.level, sizeof(ev.u.clr.level), "JP-CESI:SECRET");
	expect_error(e, f, &ev, ENG_BAD_REQUEST, "invalid-level", "level");
	snprintf(ev.u.clr.level, sizeof(ev.u.clr.level), "JP-SDS:SECRET");
	expect_error(e, f, &ev, ENG_BAD_REQUEST, "level-not-delegated",
	    "level");
	ev_clearance(&ev, T0, 2);
	snprintf(ev.u.clr.operator_id, sizeof(ev.u.clr.operator_id),
	    "Op Sub");
	expect_error(e, f, &ev, ENG_BAD_REQUEST, "invalid-operator",
	    "operator");
	ev_clearance(&ev, T0, 2);
	snprintf(ev.u.clr.scopes.v[0], sizeof(ev.u.clr.scopes.v[0]), "semi");
	snprintf(ev.u.clr.scopes.v[1], sizeof(ev.u.clr.scopes.v[1]),
	    "Bad Scope");
	ev.u.clr.scopes.n = 2;
	expect_error(e, f, &ev, ENG_BAD_REQUEST, "invalid-scope",
	    "scopes[1]");
	snprintf(ev.u.clr.scopes.v[1], sizeof(ev.u.clr.scopes.v[1]), "semi");
	expect_error(e, f, &ev, ENG_BAD_REQUEST, "invalid-scope",
	    "scopes[1]");
	ev_clearance(&ev, T0, 2);
	ev.u.clr.valid_years = -1;
	expect_error(e, f, &ev, ENG_BAD_REQUEST, "invalid-validity",
	    "valid_for");
	ev.u.clr.valid_years = ENG_VALID_YEARS_MAX + 1;
	expect_error(e, f, &ev, ENG_BAD_REQUEST, "invalid-validity",
	    "valid_for");
	ev_verify(&ev, NULL, 0, T0, 2);
	expect_error(e, f, &ev, ENG_BAD_REQUEST, "missing-field", "record");
	/* after the node's delegation ended: not a field's fault */
	ev_clearance(&ev, T0 + 6 * YEAR, 2);
	expect_error(e, f, &ev, ENG_FORBIDDEN, "outside-delegation", "");
	/* nothing changed: same state, same next issuance */
	assert_true(eng_check(e));
	eng_stats_get(e, &st);
	assert_true(st.issued[PROTO_REC_CLEARANCE] == 1 &&
	    st.decisions[PROTO_ACCEPT] == 0 && st.lists == 1);
	expect_twins(f, e, twin, 2);
	eng_free(e);
	eng_free(twin);
}

static void
test_validity(void **state)
{
	struct fx *f = *state;
	struct engine *e = new_engine(f, SMALL_LIST);
	struct proto_record rec;
	struct eng_event ev;
	struct issued c;
	int64_t exp;

	ev_clearance(&ev, T0, 1);
	ev.u.clr.valid_years = 2;
	ev.u.clr.valid_seconds = 3600;
	keep(&c, run(e, f->acts, &ev));
	assert_int_equal(proto_record_decode(c.rec, c.r.record_len, &rec,
	    NULL), 0);
	assert_int_equal(proto_time_add_years(T0, 2, &exp), 0);
	assert_true(rec.u.clr.c.exp == exp + 3600);
	proto_record_fini(&rec);
	eng_free(e);
}

static void
test_operator_cert(void **state)
{
	static const enum eng_act_type want[] = { ENG_ACT_PERSIST_RECORD,
		ENG_ACT_PERSIST_LIST, ENG_ACT_AUDIT, ENG_ACT_REPLY };
	struct fx *f = *state;
	struct engine *e = new_engine(f, SMALL_LIST);
	const struct eng_reply *r;
	struct proto_record rec;
	struct eng_event ev;
	struct issued c, op;
	int64_t exp;

	issue(e, f, &c, 1);
	ev_init(&ev, ENG_EV_ISSUE_OPERATOR, T0, 2);
	snprintf(ev.u.op.sub, sizeof(ev.u.op.sub), OPERATOR);
	snprintf(ev.u.op.levels.v[0], sizeof(ev.u.op.levels.v[0]), CESI);
	ev.u.op.levels.n = 1;
	keep(&op, run(e, f->acts, &ev));
	expect_types(f->acts, want, 4);
	assert_int_equal(f->acts->a[2].u.audit.rec_type, PROTO_REC_OPERATOR);
	assert_string_equal(f->acts->a[2].u.audit.operator_id, OPERATOR);
	assert_int_equal(proto_record_decode(op.rec, op.r.record_len, &rec,
	    NULL), 0);
	assert_int_equal(rec.type, PROTO_REC_OPERATOR);
	assert_int_equal(proto_time_add_years(T0, 5, &exp), 0);
	assert_true(rec.u.op.c.exp == exp);
	assert_true(strcmp(op.r.ref.uri, c.r.ref.uri) != 0 ||
	    op.r.ref.idx != c.r.ref.idx);
	proto_record_fini(&rec);
	/* both layers presented: accepted; the certification revoked: not */
	ev_verify(&ev, c.rec, c.r.record_len, T0 + 10, 3);
	ev.u.vf.operator_record = op.rec;
	ev.u.vf.operator_record_len = op.r.record_len;
	r = run(e, f->acts, &ev);
	assert_int_equal(r->decision->verdict, PROTO_ACCEPT);
	assert_true(eng_vcache_has(e, op.rec, op.r.record_len));
	ev_status(&ev, &op.r, PROTO_STATUS_REVOKED,
	    PROTO_REASON_OPERATOR_CERT_REVOKED, T0 + 20, 4);
	ev.u.st.rec_type = PROTO_REC_OPERATOR;
	run(e, f->acts, &ev);
	ev_verify(&ev, c.rec, c.r.record_len, T0 + 30, 5);
	ev.u.vf.operator_record = op.rec;
	ev.u.vf.operator_record_len = op.r.record_len;
	r = run(e, f->acts, &ev);
	assert_int_equal(r->decision->verdict, PROTO_REJECT);
	assert_string_equal(r->decision->reasons[0].code, "operator-revoked");
	/* levels beyond the delegation, and unknown ones */
	ev_init(&ev, ENG_EV_ISSUE_OPERATOR, T0, 6);
	snprintf(ev.u.op.sub, sizeof(ev.u.op.sub), OPERATOR);
	snprintf(ev.u.op.levels.v[0], sizeof(ev.u.op.levels.v[0]), CESI);
	snprintf(ev.u.op.levels.v[1], sizeof(ev.u.op.levels.v[1]),
	    "JP-SDS:SECRET");
	ev.u.op.levels.n = 2;
	expect_error(e, f, &ev, ENG_BAD_REQUEST, "level-not-delegated",
	    "levels");
	snprintf(ev.u.op.levels.v[1], sizeof(ev.u.op.levels.v[1]), "XX:YY");
	expect_error(e, f, &ev, ENG_BAD_REQUEST, "invalid-level",
	    "levels[1]");
	ev.u.op.levels.n = 0;
	expect_error(e, f, &ev, ENG_BAD_REQUEST, "invalid-level", "levels");
	assert_true(eng_check(e));
	eng_free(e);
}

static void
test_enospc(void **state)
{
	struct fx *f = *state;
	struct engine *e = new_engine(f, SMALL_LIST);
	struct engine *twin = new_engine(f, SMALL_LIST);
	struct eng_actions *acts = f->acts;
	struct eng_event ev;
	struct eng_stats st;
	struct issued c;
	enum proto_status s;

	issue(e, f, &c, 1);
	issue(twin, f, &c, 1);
	ev_verify(&ev, c.rec, c.r.record_len, T0, 2);
	run(e, f->acts, &ev);
	run(twin, f->acts, &ev);
	/* three action slots left: an issuance needs four */
	ev_clearance(&ev, T0, 3);
	eng_actions_reset(acts);
	acts->n = ENG_ACTIONS_MAX - 3;
	assert_int_equal(eng_handle(e, &ev, acts), MRX_ENOSPC);
	assert_int_equal(acts->n, ENG_ACTIONS_MAX - 3);
	/* no arena left for the record */
	eng_actions_reset(acts);
	acts->arena_used = ENG_ARENA_BYTES - 64;
	assert_int_equal(eng_handle(e, &ev, acts), MRX_ENOSPC);
	assert_true(acts->n == 0 && acts->arena_used == ENG_ARENA_BYTES - 64);
	/* a change on a watched entry needs 6 slots: 4 are not enough */
	ev_status(&ev, &c.r, PROTO_STATUS_REVOKED, PROTO_REASON_NONE, T0, 4);
	eng_actions_reset(acts);
	acts->n = ENG_ACTIONS_MAX - 4;
	assert_int_equal(eng_handle(e, &ev, acts), MRX_ENOSPC);
	assert_int_equal(eng_status_of(e, &c.r.ref, &s, NULL, NULL), 0);
	assert_int_equal(s, PROTO_STATUS_VALID);
	/* a decision needs arena room too */
	ev_verify(&ev, c.rec, c.r.record_len, T0, 5);
	eng_actions_reset(acts);
	acts->arena_used = ENG_ARENA_BYTES - 16;
	assert_int_equal(eng_handle(e, &ev, acts), MRX_ENOSPC);
	eng_stats_get(e, &st);
	assert_true(st.decisions[PROTO_ACCEPT] == 1 && st.status_changes == 0);
	assert_true(eng_check(e));
	expect_twins(f, e, twin, 6);
	eng_free(e);
	eng_free(twin);
}

/* A scripted run: issuances, verifications, changes; returns a digest. */
static void
script(struct fx *f, uint32_t base, uint8_t out[CRY_SHA256_LEN])
{
	struct engine *e = new_engine(f, SMALL_LIST);
	struct issued c[12];
	struct eng_event ev;
	struct testkit_sink s = { NULL, 0, 0 };
	size_t i;

	for (i = 0; i < 12; i++) {
		ev_clearance(&ev, T0 + (int64_t)i, base + (uint32_t)i);
		keep(&c[i], run(e, f->acts, &ev));
		testkit_digest(&s, f->acts);
	}
	for (i = 0; i < 12; i += 3) {
		ev_verify(&ev, c[i].rec, c[i].r.record_len, T0 + 50, base + 20);
		run(e, f->acts, &ev);
		testkit_digest(&s, f->acts);
	}
	for (i = 0; i < 12; i += 2) {
		ev_status(&ev, &c[i].r, i % 4 ? PROTO_STATUS_SUSPENDED :
		    PROTO_STATUS_REVOKED, PROTO_REASON_ADMIN_WITHDRAWN,
		    T0 + 100 + (int64_t)i, base + 40 + (uint32_t)i);
		run(e, f->acts, &ev);
		testkit_digest(&s, f->acts);
	}
	assert_true(eng_check(e));
	assert_int_equal(cry_sha256(s.p, s.n, out), 0);
	free(s.p);
	eng_free(e);
}

static void
test_determinism(void **state)
{
	struct fx *f = *state;
	uint8_t a[CRY_SHA256_LEN], b[CRY_SHA256_LEN], c[CRY_SHA256_LEN];

	script(f, 1000, a);
	script(f, 1000, b);
	script(f, 5000, c);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
}

/* What a store would hold: the last state of each list, and the watches. */
struct saved {
	struct proto_status_list sl[4];
	uint8_t *alloc[4];
	uint32_t nalloc[4];
	size_t nlists;
	struct eng_persist_watch w[16];
	size_t nw;
};

static void
save_actions(struct saved *sv, const struct eng_actions *acts)
{
	const struct eng_persist_list *l;
	struct proto_status_list *d;
	size_t i, k;

	for (i = 0; i < acts->n; i++) {
		if (acts->a[i].type == ENG_ACT_PERSIST_WATCH) {
			assert_true(sv->nw < 16);
			sv->w[sv->nw++] = acts->a[i].u.watch;
		}
		if (acts->a[i].type != ENG_ACT_PERSIST_LIST)
			continue;
		l = &acts->a[i].u.list;
		for (k = 0; k < sv->nlists; k++)
			if (strcmp(sv->sl[k].c.sub, l->sl->c.sub) == 0)
				break;
		assert_true(k < 4);
		if (k == sv->nlists)
			sv->nlists++;
		d = &sv->sl[k];
		proto_status_list_fini(d);
		free(sv->alloc[k]);
		*d = *l->sl;
		d->bits = malloc(d->size / 4);
		d->reasons = malloc(d->nreasons * sizeof(*d->reasons) + 1);
		sv->alloc[k] = malloc(d->size / 8);
		assert_true(d->bits && d->reasons && sv->alloc[k]);
		memcpy(d->bits, l->sl->bits, d->size / 4);
		if (d->nreasons > 0) /* reasons may be NULL when empty */
			memcpy(d->reasons, l->sl->reasons,
			    d->nreasons * sizeof(*d->reasons));
		d->reasons_cap = d->nreasons;
		memcpy(sv->alloc[k], l->alloc, d->size / 8);
		sv->nalloc[k] = l->nalloc;
	}
}

static void
test_restore(void **state)
{
	struct fx *f = *state;
	struct engine *a = new_engine(f, SMALL_LIST), *b;
	struct saved sv;
	struct issued c[12];
	struct eng_event ev;
	struct eng_stats st;
	struct mrx_diag d;
	enum proto_status sa, sb;
	enum proto_reason wa, wb;
	uint64_t qa, qb;
	size_t i;

	memset(&sv, 0, sizeof(sv));
	for (i = 0; i < 12; i++) {	/* 8 in list 1, 4 in list 2 */
		issue(a, f, &c[i], 100 + (uint32_t)i);
		save_actions(&sv, f->acts);
	}
	for (i = 0; i < 12; i += 4) {
		ev_verify(&ev, c[i].rec, c[i].r.record_len, T0, 200);
		run(a, f->acts, &ev);
		save_actions(&sv, f->acts);
	}
	for (i = 0; i < 12; i += 3) {
		ev_status(&ev, &c[i].r, PROTO_STATUS_SUSPENDED,
		    PROTO_REASON_REASSESSMENT_PENDING, T0 + 5, 300 +
		    (uint32_t)i);
		run(a, f->acts, &ev);
		save_actions(&sv, f->acts);
	}
	assert_int_equal(sv.nlists, 2);
	assert_int_equal(sv.nw, 3);
	b = new_engine(f, SMALL_LIST);
	/* out of order is refused, and so is a bitmap that lies */
	mrx_diag_clear(&d);
	assert_int_equal(eng_restore_list(b, &sv.sl[1], sv.alloc[1],
	    sv.nalloc[1], &d), MRX_EINVAL);
	assert_string_equal(d.field, "list.uri");
	assert_int_equal(eng_restore_list(b, &sv.sl[0], sv.alloc[0],
	    sv.nalloc[0] - 1, NULL), MRX_ERANGE);
	for (i = 0; i < sv.nlists; i++)
		assert_int_equal(eng_restore_list(b, &sv.sl[i], sv.alloc[i],
		    sv.nalloc[i], NULL), 0);
	for (i = 0; i < sv.nw; i++) {
		assert_int_equal(eng_restore_watch(b, sv.w[i].issuer,
		    sv.w[i].ref.uri, sv.w[i].ref.idx, sv.w[i].cti), 0);
		assert_int_equal(eng_restore_watch(b, sv.w[i].issuer,
		    sv.w[i].ref.uri, sv.w[i].ref.idx, sv.w[i].cti), 0);
	}
	assert_true(eng_check(b));
	eng_stats_get(b, &st);
	assert_true(st.lists == 2 && st.watches == 3);
	for (i = 0; i < 12; i++) {
		assert_int_equal(eng_status_of(a, &c[i].r.ref, &sa, &wa, &qa),
		    0);
		assert_int_equal(eng_status_of(b, &c[i].r.ref, &sb, &wb, &qb),
		    0);
		assert_true(sa == sb && wa == wb && qa == qb);
	}
	/* the restored watch alerts; both engines go on identically */
	ev_status(&ev, &c[4].r, PROTO_STATUS_REVOKED, PROTO_REASON_NONE,
	    T0 + 9, 400);
	run(b, f->acts, &ev);
	assert_int_equal(f->acts->n, 6);
	assert_int_equal(f->acts->a[2].type, ENG_ACT_ALERT);
	run(a, f->acts, &ev);
	assert_int_equal(f->acts->n, 6);
	expect_twins(f, a, b, 500);
	for (i = 0; i < sv.nlists; i++) {
		proto_status_list_fini(&sv.sl[i]);
		free(sv.alloc[i]);
	}
	eng_free(a);
	eng_free(b);
}

static void
test_vcache_eviction(void **state)
{
	struct fx *f = *state;
	struct eng_config cfg;
	struct engine *e = NULL;
	uint8_t b[10][8];
	uint32_t n;
	size_t i;

	config(f, &cfg, SMALL_LIST);
	cfg.vcache_max = 4;
	assert_int_equal(eng_new(&cfg, make_trust(f), &e, NULL), 0);
	for (i = 0; i < 10; i++)
		memset(b[i], (int)i, sizeof(b[i]));
	for (i = 0; i < 6; i++) {
		eng_vcache_put(e, b[i], sizeof(b[i]));
		eng_vcache_put(e, b[i], sizeof(b[i]));	/* no refresh */
		assert_true(eng_check(e));
	}
	/* oldest first out: 0 and 1 are gone, 2..5 remain */
	assert_false(eng_vcache_has(e, b[0], sizeof(b[0])));
	assert_false(eng_vcache_has(e, b[1], sizeof(b[1])));
	for (i = 2; i < 6; i++)
		assert_true(eng_vcache_has(e, b[i], sizeof(b[i])));
	/* the length is part of the key */
	assert_false(eng_vcache_has(e, b[2], sizeof(b[2]) - 1));
	for (i = 6; i < 10; i++)
		eng_vcache_put(e, b[i], sizeof(b[i]));
	for (i = 2; i < 6; i++)
		assert_false(eng_vcache_has(e, b[i], sizeof(b[i])));
	assert_true(eng_check(e));
	eng_free(e);
	/* churn: always exactly the last vcache_max insertions */
	cfg.vcache_max = 61;
	assert_int_equal(eng_new(&cfg, make_trust(f), &e, NULL), 0);
	for (n = 0; n < 5000; n++) {
		eng_vcache_put(e, (const uint8_t *)&n, sizeof(n));
		if (n % 97 == 0)
			assert_true(eng_check(e));
	}
	for (n = 0; n < 5000; n++)
		assert_true(eng_vcache_has(e, (const uint8_t *)&n,
		    sizeof(n)) == (n >= 5000 - 61));
	assert_true(eng_check(e));
	eng_free(e);
}

static void
test_million_watches(void **state)
{
	struct fx *f = *state;
	struct eng_config cfg;
	struct engine *e = NULL;
	struct eng_stats st;
	char uri[PROTO_URI_MAX + 1];
	uint8_t cti[PROTO_CTI_LEN];
	uint32_t i;

	config(f, &cfg, SMALL_LIST);
	cfg.watches_max = ENG_WATCHES_DEFAULT;
	assert_int_equal(eng_new(&cfg, make_trust(f), &e, NULL), 0);
	memset(cti, 0, sizeof(cti));
	for (i = 0; i < ENG_WATCHES_DEFAULT; i++) {
		snprintf(uri, sizeof(uri), "mrx://us.dcsa.issuer/status/%u",
		    i % 64 + 1);
		memcpy(cti, &i, sizeof(i));
		assert_int_equal(eng_restore_watch(e, "us.dcsa.issuer", uri,
		    i / 64, cti), 0);
	}
	assert_int_equal(eng_restore_watch(e, "us.dcsa.issuer", uri,
	    PROTO_STATUS_ENTRIES_MAX - 1, cti), MRX_ENOSPC);
	assert_int_equal(eng_restore_watch(e, "Bad", uri, 1, cti), MRX_EINVAL);
	eng_stats_get(e, &st);
	assert_true(st.watches == ENG_WATCHES_DEFAULT);
	assert_true(eng_check(e));
	eng_free(e);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_issue_clearance),
		T(test_indices_unique),
		T(test_lists_run_out),
		T(test_verify_accept_and_watch),
		T(test_watches_full),
		T(test_revoke_alerts),
		T(test_revocation_is_final),
		T(test_suspend_reinstate),
		T(test_unknown_ref),
		T(test_roles),
		T(test_bad_inputs),
		T(test_validity),
		T(test_operator_cert),
		T(test_enospc),
		T(test_determinism),
		T(test_restore),
		T(test_vcache_eviction),
		T(test_million_watches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
