/*
 * test_store.c - node/store/store.c on real SQLite files, each test in a
 * fresh mkdtemp directory: open, migrate and reopen; records, status lists
 * (bit for bit through close and reopen), watches and alerts; the audit
 * chain over thousands of entries and every kind of tampering, made with raw
 * SQL on the file while the store is closed; the annual report; a schema
 * from a newer version; rollback, a failed write inside a transaction and a
 * full disk; missing, read-only and foreign directories and files.
 *
 * The engine's action structs are built here by hand: the store is tested
 * without protocol/engine.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

#define CHAIN_LEN 200		/* entries in each tamper test */
#define NOBODY_ID 65534		/* uid/gid the read-only test drops to */

struct fx {
	char dir[PATH_MAX];
	struct store *s;
};

/* A deterministic xorshift stream: tests replay the same way each run. */
static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Removes a directory tree (the test's own, a few levels deep at most). */
static void
rm_tree(const char *path)
{
	char sub[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if (lstat(path, &sb) != 0)
		return;
	if (!S_ISDIR(sb.st_mode)) {
		unlink(path);
		return;
	}
	chmod(path, 0700);
	d = opendir(path);
	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rm_tree(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/mrx-store-XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	rm_tree(f->dir);
	free(f);
	return 0;
}

static void
fx_open(struct fx *f)
{
	struct mrx_diag d;
	int rc;

	mrx_diag_clear(&d);
	rc = store_open(f->dir, &f->s, &d);
	if (rc != 0)
		fail_msg("store_open: %s", d.msg);
}

static void
fx_close(struct fx *f)
{
	store_close(f->s);
	f->s = NULL;
}

static void
db_path(const struct fx *f, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", f->dir, STORE_FILE);
}

/* Runs SQL on the file with a connection of its own. */
static void
raw_exec(const struct fx *f, const char *sql)
{
	char path[PATH_MAX + 16];
	char *err = NULL;
	sqlite3 *db;

	db_path(f, path, sizeof(path));
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("raw sql: %s: %s", sql, err);
	sqlite3_close(db);
}

static int64_t
raw_int(const struct fx *f, const char *sql)
{
	char path[PATH_MAX + 16];
	sqlite3_stmt *st;
	sqlite3 *db;
	int64_t v;

	db_path(f, path, sizeof(path));
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
make_cti(uint32_t i, uint8_t cti[PROTO_CTI_LEN])
{
	uint64_t x = 0x9e3779b97f4a7c15ull ^ i;
	size_t k;

	for (k = 0; k < PROTO_CTI_LEN; k++)
		cti[k] = (uint8_t)rnd(&x);
}

/* Record i: type cycles through clearance, operator cert, delegation. */
static void
make_record(uint32_t i, struct eng_persist_record *r, uint8_t *buf,
    size_t len)
{
	static const enum proto_rec_type types[] = { PROTO_REC_CLEARANCE,
	    PROTO_REC_OPERATOR, PROTO_REC_DELEGATION };
	uint64_t x = i + 1;
	size_t k;

	memset(r, 0, sizeof(*r));
	r->type = types[i % 3];
	make_cti(i, r->cti);
	snprintf(r->sub, sizeof(r->sub), "%032x", i * 2654435761u);
	snprintf(r->ref.uri, sizeof(r->ref.uri),
	    "https://jp.issuer.example/status/%u", i % 4);
	r->ref.idx = i * 7u;
	r->iat = 1700000000 + i;
	r->exp = 2000000000 + i;
	for (k = 0; k < len; k++)
		buf[k] = (uint8_t)rnd(&x);
	r->bytes = buf;
	r->len = len;
}

static void
put_record(struct store *s, uint32_t i)
{
	struct eng_persist_record r;
	uint8_t buf[400];
	struct mrx_diag d;

	mrx_diag_clear(&d);
	make_record(i, &r, buf, 100 + i % 300);
	if (store_put_record(s, &r, &d) != 0)
		fail_msg("store_put_record %u: %s", i, d.msg);
}

static void
assert_record(struct store *s, uint32_t i)
{
	struct eng_persist_record r;
	struct store_record got;
	uint8_t buf[400];
	struct mrx_diag d;

	mrx_diag_clear(&d);
	make_record(i, &r, buf, 100 + i % 300);
	assert_int_equal(store_get_record(s, r.cti, &got, &d), 0);
	assert_int_equal(got.type, r.type);
	assert_memory_equal(got.cti, r.cti, PROTO_CTI_LEN);
	assert_string_equal(got.ref.uri, r.ref.uri);
	assert_int_equal(got.ref.idx, r.ref.idx);
	assert_int_equal(got.iat, r.iat);
	assert_int_equal(got.exp, r.exp);
	assert_int_equal(got.len, r.len);
	assert_memory_equal(got.bytes, r.bytes, r.len);
	store_record_fini(&got);
	assert_null(got.bytes);
}

/* Audit entry i: kinds and fields cycle so every column varies. */
static void
make_audit(uint32_t i, struct eng_audit *a)
{
	memset(a, 0, sizeof(*a));
	a->kind = (enum eng_audit_kind)(ENG_AUDIT_ISSUE + i % 4);
	a->time = 1735689600 + (int64_t)i * 60;
	a->rec_type = i % 2 ? PROTO_REC_OPERATOR : PROTO_REC_CLEARANCE;
	a->has_cti = i % 5 != 0;
	if (a->has_cti)
		make_cti(i, a->cti);
	snprintf(a->level, sizeof(a->level), "JP-CESI:L%u", i % 3);
	snprintf(a->operator_id, sizeof(a->operator_id), "op%u.example",
	    i % 7);
	a->status = (enum proto_status)(i % 3);
	a->reason = (enum proto_reason)(i % PROTO_REASON_COUNT);
	a->seq = i / 2;
	a->verdict = (enum proto_verdict)(i % 3);
	if (a->kind == ENG_AUDIT_DECISION) {
		snprintf(a->codes, sizeof(a->codes), "code-%u,other", i);
		snprintf(a->access, sizeof(a->access), "JP-CESI:L%u", i % 2);
	}
}

static void
append_audit(struct store *s, uint32_t from, uint32_t n)
{
	struct eng_audit a;
	struct mrx_diag d;
	uint32_t i;

	mrx_diag_clear(&d);
	assert_int_equal(store_begin(s, &d), 0);
	for (i = from; i < from + n; i++) {
		make_audit(i, &a);
		if (store_append_audit(s, &a, &d) != 0)
			fail_msg("store_append_audit %u: %s", i, d.msg);
	}
	if (store_commit(s, &d) != 0)
		fail_msg("store_commit: %s", d.msg);
}

static void
verify(struct store *s, struct store_audit_report *rep)
{
	struct mrx_diag d;

	mrx_diag_clear(&d);
	if (store_audit_verify(s, rep, &d) != 0)
		fail_msg("store_audit_verify: %s", d.msg);
}

/* Open, migrate, reopen */

static void
test_open_reopen(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 16];
	struct stat sb;
	uint64_t n;

	fx_open(f);
	db_path(f, path, sizeof(path));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(store_count_records(f->s, PROTO_REC_NONE, &n, NULL),
	    0);
	assert_int_equal(n, 0);
	fx_close(f);
	assert_int_equal(raw_int(f, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM sqlite_schema "
	    "WHERE type = 'table' AND name IN ('records', 'record_counts', "
	    "'lists', 'deltas', 'watches', 'alerts', 'audit', 'meta')"), 8);
	assert_int_equal(raw_int(f, "SELECT journal_mode = 'wal' FROM "
	    "pragma_journal_mode"), 1);
	fx_open(f);
	put_record(f->s, 1);
	fx_close(f);
	fx_open(f);
	assert_record(f->s, 1);
}

static void
test_newer_version(void **state)
{
	struct fx *f = *state;
	struct mrx_diag d;
	char want[16];

	fx_open(f);
	fx_close(f);
	raw_exec(f, "PRAGMA user_version = 7");
	mrx_diag_clear(&d);
	assert_int_equal(store_open(f->dir, &f->s, &d), MRX_ESTATE);
	assert_null(f->s);
	assert_int_equal(d.code, MRX_ESTATE);
	assert_non_null(strstr(d.msg, "version 7"));
	snprintf(want, sizeof(want), "version %d", STORE_SCHEMA_VERSION);
	assert_non_null(strstr(d.msg, want));
}

/* Records */

static void
test_records(void **state)
{
	struct fx *f = *state;
	struct eng_persist_record r;
	struct store_record got;
	struct mrx_diag d;
	uint8_t buf[400], cti[PROTO_CTI_LEN];
	uint64_t n;
	uint32_t i;

	fx_open(f);
	assert_int_equal(store_begin(f->s, NULL), 0);
	for (i = 0; i < 300; i++)
		put_record(f->s, i);
	assert_int_equal(store_commit(f->s, NULL), 0);
	fx_close(f);
	fx_open(f);
	for (i = 0; i < 300; i++)
		assert_record(f->s, i);
	make_cti(100000, cti);
	assert_int_equal(store_get_record(f->s, cti, &got, NULL), MRX_ENOENT);
	assert_int_equal(store_count_records(f->s, PROTO_REC_NONE, &n, NULL),
	    0);
	assert_int_equal(n, 300);
	assert_int_equal(store_count_records(f->s, PROTO_REC_CLEARANCE, &n,
	    NULL), 0);
	assert_int_equal(n, 100);
	assert_int_equal(store_count_records(f->s, PROTO_REC_AGREEMENT, &n,
	    NULL), 0);
	assert_int_equal(n, 0);
	/* the same id twice is refused, outside a transaction too */
	make_record(5, &r, buf, 50);
	mrx_diag_clear(&d);
	assert_int_equal(store_put_record(f->s, &r, &d), MRX_EEXIST);
	assert_string_equal(d.field, "store");
	assert_non_null(strstr(d.msg, "already stored"));
	assert_record(f->s, 5);
	/* arguments the engine could not have produced */
	r.type = PROTO_REC_NONE;
	assert_int_equal(store_put_record(f->s, &r, NULL), MRX_EINVAL);
	make_record(7000, &r, buf, 50);
	r.len = PROTO_STATUS_LIST_MAX + 1;
	assert_int_equal(store_put_record(f->s, &r, NULL), MRX_ETOOBIG);
	fx_close(f);
	/* the kept counts agree with the rows */
	assert_int_equal(raw_int(f, "SELECT count(*) FROM records r JOIN "
	    "record_counts c ON c.type = r.type GROUP BY r.type HAVING "
	    "count(*) != max(c.n) UNION ALL SELECT 0 LIMIT 1"), 0);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM record_counts"), 3);
	/* the subject id is in records and nowhere else */
	assert_int_equal(raw_int(f, "SELECT count(*) FROM records WHERE "
	    "length(sub) = 32"), 300);
}

/*
 * The checkpointer copies committed frames into the database file off the
 * caller's thread: after a wait the file has grown by what was committed,
 * every record reads back, and close stops the thread.
 */
static void
test_checkpointer(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 16];
	struct stat before, after;
	uint32_t i;

	fx_open(f);
	assert_int_equal(store_checkpointer_start(f->s, 20, NULL), 0);
	db_path(f, path, sizeof(path));
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(store_begin(f->s, NULL), 0);
	for (i = 0; i < 2000; i++)
		put_record(f->s, i);
	assert_int_equal(store_commit(f->s, NULL), 0);
	for (i = 0; i < 100; i++) {
		usleep(20000);
		assert_int_equal(stat(path, &after), 0);
		if (after.st_size > before.st_size + 100 * 1024)
			break;
	}
	assert_true(after.st_size > before.st_size + 100 * 1024);
	for (i = 0; i < 2000; i += 97)
		assert_record(f->s, i);
	fx_close(f);
	fx_open(f);
	assert_record(f->s, 1999);
}

/* Status lists */

struct list_fix {
	struct proto_status_list sl;
	uint8_t *alloc;
	uint32_t nalloc;
};

static void
make_list(struct list_fix *lf, const char *uri, uint32_t size, uint64_t seed)
{
	uint64_t x = seed;
	uint32_t i;

	memset(lf, 0, sizeof(*lf));
	assert_int_equal(proto_status_list_init(&lf->sl, size), 0);
	snprintf(lf->sl.c.iss, sizeof(lf->sl.c.iss), "jp.issuer");
	snprintf(lf->sl.c.sub, sizeof(lf->sl.c.sub), "%s", uri);
	make_cti((uint32_t)seed, lf->sl.c.cti);
	lf->sl.c.iat = 1735689600 + (int64_t)seed;
	lf->sl.c.has_exp = seed % 2 == 0;
	lf->sl.c.exp = lf->sl.c.has_exp ? 1767225600 : 0;
	lf->sl.seq = seed;
	lf->alloc = calloc(size / 8, 1);
	assert_non_null(lf->alloc);
	for (i = 0; i < size; i++) {
		uint64_t v = rnd(&x);

		if (v % 3 == 0 && i / 8 < size / 8) {
			lf->alloc[i / 8] |= (uint8_t)(1u << (i % 8));
			lf->nalloc++;
		}
		if (v % 50 == 1)
			assert_int_equal(proto_status_set(&lf->sl, i,
			    PROTO_STATUS_REVOKED, (enum proto_reason)(1 +
			    v % (PROTO_REASON_COUNT - 1))), 0);
		else if (v % 50 == 2)
			assert_int_equal(proto_status_set(&lf->sl, i,
			    PROTO_STATUS_SUSPENDED,
			    PROTO_REASON_SUSPENDED_PENDING_REVIEW), 0);
	}
	lf->sl.has_head = seed % 3 != 0;
	if (lf->sl.has_head)
		memset(lf->sl.head, (int)seed, sizeof(lf->sl.head));
}

static void
free_list(struct list_fix *lf)
{
	proto_status_list_fini(&lf->sl);
	free(lf->alloc);
}

static int
put_list(struct store *s, struct list_fix *lf, const uint8_t *delta,
    size_t len, struct mrx_diag *d)
{
	struct eng_persist_list l;

	memset(&l, 0, sizeof(l));
	l.sl = &lf->sl;
	l.alloc = lf->alloc;
	l.nalloc = lf->nalloc;
	l.has_change = delta != NULL;
	l.delta = delta;
	l.delta_len = len;
	return store_put_list(s, &l, d);
}

struct loaded {
	struct list_fix *want;
	size_t n, cap;
};

static int
on_list(void *ctx, const struct proto_status_list *sl, const uint8_t *alloc,
    uint32_t nalloc)
{
	struct loaded *ld = ctx;
	const struct list_fix *w;
	size_t i;

	assert_true(ld->n < ld->cap);
	w = &ld->want[ld->n++];
	assert_string_equal(sl->c.sub, w->sl.c.sub);
	assert_string_equal(sl->c.iss, w->sl.c.iss);
	assert_memory_equal(sl->c.cti, w->sl.c.cti, PROTO_CTI_LEN);
	assert_int_equal(sl->c.iat, w->sl.c.iat);
	assert_int_equal(sl->c.has_exp, w->sl.c.has_exp);
	assert_int_equal(sl->c.exp, w->sl.c.exp);
	assert_int_equal(sl->c.has_nbf, w->sl.c.has_nbf);
	assert_int_equal(sl->seq, w->sl.seq);
	assert_int_equal(sl->size, w->sl.size);
	assert_memory_equal(sl->bits, w->sl.bits, w->sl.size / 4);
	assert_int_equal(sl->nreasons, w->sl.nreasons);
	for (i = 0; i < w->sl.nreasons; i++) {
		assert_int_equal(sl->reasons[i].idx, w->sl.reasons[i].idx);
		assert_int_equal(sl->reasons[i].reason,
		    w->sl.reasons[i].reason);
	}
	assert_int_equal(sl->has_head, w->sl.has_head);
	if (w->sl.has_head)
		assert_memory_equal(sl->head, w->sl.head, PROTO_HASH_LEN);
	assert_int_equal(nalloc, w->nalloc);
	assert_memory_equal(alloc, w->alloc, w->sl.size / 8);
	return 0;
}

static void
test_lists_roundtrip(void **state)
{
	struct fx *f = *state;
	struct list_fix lf[3];
	struct loaded ld;
	struct mrx_diag d;
	static const uint8_t delta[] = { 0xd2, 0x84, 0x43, 0xa1, 0x01, 0x27 };
	struct proto_status_change ch = { 17, PROTO_STATUS_REVOKED,
	    PROTO_REASON_ELIGIBILITY_REVOKED };

	make_list(&lf[0], "https://jp.issuer.example/status/0",
	    PROTO_STATUS_ENTRIES_DEFAULT, 3);
	make_list(&lf[1], "https://jp.issuer.example/status/1", 1024, 4);
	make_list(&lf[2], "https://jp.issuer.example/status/2", 64, 5);
	fx_open(f);
	mrx_diag_clear(&d);
	assert_int_equal(store_begin(f->s, &d), 0);
	assert_int_equal(put_list(f->s, &lf[0], NULL, 0, &d), 0);
	assert_int_equal(put_list(f->s, &lf[1], NULL, 0, &d), 0);
	assert_int_equal(put_list(f->s, &lf[2], NULL, 0, &d), 0);
	assert_int_equal(store_commit(f->s, &d), 0);
	/* a later change to the first list keeps the order of opening */
	assert_int_equal(proto_status_apply(&lf[0].sl, &ch, 1), 0);
	lf[0].sl.seq++;
	assert_int_equal(put_list(f->s, &lf[0], delta, sizeof(delta), &d), 0);
	/* one delta per seq of a list */
	assert_int_equal(put_list(f->s, &lf[0], delta, sizeof(delta), &d),
	    MRX_EEXIST);
	fx_close(f);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM deltas"), 1);
	fx_open(f);
	memset(&ld, 0, sizeof(ld));
	ld.want = lf;
	ld.cap = 3;
	assert_int_equal(store_load_lists(f->s, on_list, &ld, &d), 0);
	assert_int_equal(ld.n, 3);
	/* a bitmap of the wrong size cannot be stored */
	lf[2].nalloc = 65;
	assert_int_equal(put_list(f->s, &lf[2], NULL, 0, NULL), MRX_EINVAL);
	free_list(&lf[0]);
	free_list(&lf[1]);
	free_list(&lf[2]);
}

/* Watches and alerts */

struct seen_watch {
	char issuer[PROTO_ID_MAX + 1];
	char uri[PROTO_URI_MAX + 1];
	uint32_t idx;
	uint8_t cti[PROTO_CTI_LEN];
};

struct watches {
	struct seen_watch w[8];
	size_t n;
	size_t stop_at;		/* return MRX_ENOSPC at this one (0: never) */
};

static int
on_watch(void *ctx, const char *issuer, const char *uri, uint32_t idx,
    const uint8_t cti[PROTO_CTI_LEN])
{
	struct watches *ws = ctx;
	struct seen_watch *w;

	if (ws->stop_at != 0 && ws->n + 1 == ws->stop_at)
		return MRX_ENOSPC;
	assert_true(ws->n < 8);
	w = &ws->w[ws->n++];
	snprintf(w->issuer, sizeof(w->issuer), "%s", issuer);
	snprintf(w->uri, sizeof(w->uri), "%s", uri);
	w->idx = idx;
	memcpy(w->cti, cti, PROTO_CTI_LEN);
	return 0;
}

static void
test_watches(void **state)
{
	struct fx *f = *state;
	struct proto_status_ref ref;
	struct watches ws;
	struct mrx_diag d;
	uint8_t cti[PROTO_CTI_LEN];
	uint32_t i;

	fx_open(f);
	mrx_diag_clear(&d);
	for (i = 0; i < 3; i++) {
		snprintf(ref.uri, sizeof(ref.uri), "https://uk.example/%u", i);
		ref.idx = 1000 + i;
		make_cti(i, cti);
		assert_int_equal(store_put_watch(f->s, "uk.issuer", &ref, cti,
		    &d), 0);
	}
	/* the same watch again changes nothing */
	assert_int_equal(store_put_watch(f->s, "uk.issuer", &ref, cti, &d), 0);
	assert_int_equal(store_put_watch(f->s, "", &ref, cti, NULL),
	    MRX_EINVAL);
	fx_close(f);
	fx_open(f);
	memset(&ws, 0, sizeof(ws));
	assert_int_equal(store_load_watches(f->s, on_watch, &ws, &d), 0);
	assert_int_equal(ws.n, 3);
	for (i = 0; i < 3; i++) {
		snprintf(ref.uri, sizeof(ref.uri), "https://uk.example/%u", i);
		make_cti(i, cti);
		assert_string_equal(ws.w[i].issuer, "uk.issuer");
		assert_string_equal(ws.w[i].uri, ref.uri);
		assert_int_equal(ws.w[i].idx, 1000 + i);
		assert_memory_equal(ws.w[i].cti, cti, PROTO_CTI_LEN);
	}
	/* a callback that fails stops the walk with its code */
	memset(&ws, 0, sizeof(ws));
	ws.stop_at = 2;
	mrx_diag_clear(&d);
	assert_int_equal(store_load_watches(f->s, on_watch, &ws, &d),
	    MRX_ENOSPC);
	assert_int_equal(ws.n, 1);
	assert_non_null(strstr(d.msg, "callback"));
}

struct alerts {
	uint64_t ids[8];
	struct eng_alert a[8];
	size_t n;
};

static int
on_alert(void *ctx, uint64_t id, const struct eng_alert *a)
{
	struct alerts *as = ctx;

	assert_true(as->n < 8);
	as->ids[as->n] = id;
	as->a[as->n++] = *a;
	return 0;
}

static void
make_alert(uint32_t i, struct eng_alert *a)
{
	memset(a, 0, sizeof(*a));
	make_cti(i, a->cti);
	snprintf(a->issuer, sizeof(a->issuer), "jp.issuer");
	a->status = i % 2 ? PROTO_STATUS_REVOKED : PROTO_STATUS_SUSPENDED;
	a->reason = PROTO_REASON_ELIGIBILITY_REVOKED;
	a->seq = 40 + i;
	a->time = 1735689600 + i;
}

static void
test_alerts(void **state)
{
	struct fx *f = *state;
	struct eng_alert a;
	struct alerts as;
	uint64_t id, last;
	uint32_t i;

	fx_open(f);
	assert_int_equal(store_alert_last(f->s, &last, NULL), 0);
	assert_int_equal(last, 0);
	for (i = 1; i <= 5; i++) {
		make_alert(i, &a);
		assert_int_equal(store_put_alert(f->s, &a, &id, NULL), 0);
		assert_int_equal(id, i);
	}
	fx_close(f);
	fx_open(f);
	assert_int_equal(store_alert_last(f->s, &last, NULL), 0);
	assert_int_equal(last, 5);
	memset(&as, 0, sizeof(as));
	assert_int_equal(store_alerts_since(f->s, 2, 2, on_alert, &as, NULL),
	    0);
	assert_int_equal(as.n, 2);
	for (i = 0; i < 2; i++) {
		make_alert(3 + i, &a);
		assert_int_equal(as.ids[i], 3 + i);
		assert_memory_equal(&as.a[i], &a, sizeof(a));
	}
	memset(&as, 0, sizeof(as));
	assert_int_equal(store_alerts_since(f->s, 5, 10, on_alert, &as, NULL),
	    0);
	assert_int_equal(as.n, 0);
}

/* Audit chain */

struct walk {
	uint32_t n;
	uint8_t prev[32];
};

static void
assert_audit_equal(const struct eng_audit *x, const struct eng_audit *y)
{
	assert_int_equal(x->kind, y->kind);
	assert_int_equal(x->time, y->time);
	assert_int_equal(x->rec_type, y->rec_type);
	assert_int_equal(x->has_cti, y->has_cti);
	if (x->has_cti)
		assert_memory_equal(x->cti, y->cti, PROTO_CTI_LEN);
	assert_string_equal(x->level, y->level);
	assert_string_equal(x->operator_id, y->operator_id);
	assert_int_equal(x->status, y->status);
	assert_int_equal(x->reason, y->reason);
	assert_int_equal(x->seq, y->seq);
	assert_int_equal(x->verdict, y->verdict);
	assert_string_equal(x->codes, y->codes);
	assert_string_equal(x->access, y->access);
}

static int
on_entry(void *ctx, const struct store_audit_entry *e)
{
	struct walk *w = ctx;
	struct eng_audit a;

	make_audit(w->n, &a);
	assert_int_equal(e->seq, w->n + 1);
	assert_audit_equal(&e->a, &a);
	assert_memory_equal(e->prev, w->prev, 32);
	memcpy(w->prev, e->hash, 32);
	w->n++;
	return 0;
}

static void
test_audit_chain(void **state)
{
	struct fx *f = *state;
	struct store_audit_report rep;
	struct eng_audit a;
	struct walk w;
	uint32_t i;

	fx_open(f);
	verify(f->s, &rep);
	assert_int_equal(rep.problem, STORE_AUDIT_OK);
	assert_int_equal(rep.entries, 0);
	for (i = 0; i < 3000; i += 500)
		append_audit(f->s, i, 500);
	verify(f->s, &rep);
	assert_int_equal(rep.problem, STORE_AUDIT_OK);
	assert_int_equal(rep.entries, 3000);
	fx_close(f);
	/* the head survives a reopen; writes outside a transaction chain on */
	fx_open(f);
	for (i = 3000; i < 3010; i++) {
		make_audit(i, &a);
		assert_int_equal(store_append_audit(f->s, &a, NULL), 0);
	}
	verify(f->s, &rep);
	assert_int_equal(rep.problem, STORE_AUDIT_OK);
	assert_int_equal(rep.entries, 3010);
	memset(&w, 0, sizeof(w));
	assert_int_equal(store_audit_each(f->s, on_entry, &w, NULL), 0);
	assert_int_equal(w.n, 3010);
	/* out-of-range fields are refused before anything is written */
	make_audit(1, &a);
	a.reason = PROTO_REASON_COUNT;
	assert_int_equal(store_append_audit(f->s, &a, NULL), MRX_EINVAL);
	fx_close(f);
	/* no subject id: the chain holds no 32-hex text anywhere */
	assert_int_equal(raw_int(f, "SELECT count(*) FROM audit WHERE "
	    "length(level) = 32 OR length(operator_id) = 32"), 0);
}

/* Builds a CHAIN_LEN chain, closes, tampers with sql, reopens, verifies. */
static void
tamper(struct fx *f, const char *sql, enum store_audit_problem want,
    uint64_t seq)
{
	struct store_audit_report rep;

	fx_open(f);
	append_audit(f->s, 0, CHAIN_LEN);
	verify(f->s, &rep);
	assert_int_equal(rep.problem, STORE_AUDIT_OK);
	fx_close(f);
	raw_exec(f, sql);
	fx_open(f);
	verify(f->s, &rep);
	if (rep.problem != want || rep.seq != seq)
		fail_msg("after \"%s\": problem %d at %llu (%s), want %d at "
		    "%llu", sql, rep.problem, (unsigned long long)rep.seq,
		    rep.message, want, (unsigned long long)seq);
	assert_true(rep.message[0] != '\0');
}

#define FIELDS "time, kind, rec_type, cti, level, operator_id, status, " \
	"reason, seq_no, verdict, codes, access"

/* Swaps the contents of rows a and b (cols: the columns to swap). */
static void
swap_sql(char *buf, size_t cap, int a, int b, const char *cols)
{
	snprintf(buf, cap, "CREATE TEMP TABLE t AS SELECT * FROM audit WHERE "
	    "seq IN (%d, %d); UPDATE audit SET (%s) = (SELECT %s FROM t "
	    "WHERE t.seq = %d - audit.seq) WHERE seq IN (%d, %d)", a, b,
	    cols, cols, a + b, a, b);
}

static void
test_tamper_edit(void **state)
{
	tamper(*state, "UPDATE audit SET reason = reason + 1 WHERE seq = 57",
	    STORE_AUDIT_EDITED, 57);
}

static void
test_tamper_edit_time(void **state)
{
	tamper(*state, "UPDATE audit SET time = time - 3600 WHERE seq = 1",
	    STORE_AUDIT_EDITED, 1);
}

static void
test_tamper_edit_last(void **state)
{
	tamper(*state, "UPDATE audit SET codes = 'accept' WHERE seq = 200",
	    STORE_AUDIT_EDITED, 200);
}

static void
test_tamper_edit_hash(void **state)
{
	tamper(*state, "UPDATE audit SET hash = randomblob(32) WHERE seq = 90",
	    STORE_AUDIT_EDITED, 90);
}

static void
test_tamper_edit_prev(void **state)
{
	tamper(*state, "UPDATE audit SET prev = randomblob(32) WHERE seq = 91",
	    STORE_AUDIT_EDITED, 91);
}

static void
test_tamper_edit_range(void **state)
{
	tamper(*state, "UPDATE audit SET level = printf('%040d', 1) "
	    "WHERE seq = 33", STORE_AUDIT_EDITED, 33);
}

static void
test_tamper_delete_middle(void **state)
{
	tamper(*state, "DELETE FROM audit WHERE seq = 100",
	    STORE_AUDIT_DELETED, 100);
}

static void
test_tamper_delete_first(void **state)
{
	tamper(*state, "DELETE FROM audit WHERE seq = 1",
	    STORE_AUDIT_DELETED, 1);
}

static void
test_tamper_delete_renumber(void **state)
{
	tamper(*state, "DELETE FROM audit WHERE seq = 100; "
	    "UPDATE audit SET seq = -seq WHERE seq > 100; "
	    "UPDATE audit SET seq = -seq - 1 WHERE seq < 0; "
	    "UPDATE meta SET value = 199 WHERE key = 'audit.seq'",
	    STORE_AUDIT_DELETED, 100);
}

static void
test_tamper_delete_tail(void **state)
{
	tamper(*state, "DELETE FROM audit WHERE seq > 197",
	    STORE_AUDIT_DELETED, 198);
}

static void
test_tamper_head_hash(void **state)
{
	tamper(*state, "UPDATE meta SET value = randomblob(32) "
	    "WHERE key = 'audit.hash'", STORE_AUDIT_EDITED, 200);
}

static void
test_tamper_head_gone(void **state)
{
	tamper(*state, "DELETE FROM meta", STORE_AUDIT_DELETED, 200);
}

static void
test_tamper_head_type(void **state)
{
	struct fx *f = *state;
	struct eng_audit a;
	struct mrx_diag d;

	/* the store still opens, says what is wrong, and appends nothing */
	tamper(f, "UPDATE meta SET value = 'x' WHERE key = 'audit.seq'",
	    STORE_AUDIT_EDITED, 200);
	make_audit(0, &a);
	mrx_diag_clear(&d);
	assert_int_equal(store_append_audit(f->s, &a, &d), MRX_EIO);
	assert_non_null(strstr(d.msg, "audit head"));
}

static void
test_tamper_insert_end(void **state)
{
	tamper(*state, "INSERT INTO audit SELECT 201, time + 1, kind, "
	    "rec_type, cti, level, operator_id, status, reason, seq_no, "
	    "verdict, codes, access, hash, randomblob(32) FROM audit "
	    "WHERE seq = 200", STORE_AUDIT_INSERTED, 201);
}

static void
test_tamper_insert_middle(void **state)
{
	/* renumbered to make room, chained to its predecessor, head moved */
	tamper(*state, "UPDATE audit SET seq = -seq WHERE seq >= 80; "
	    "UPDATE audit SET seq = 1 - seq WHERE seq < 0; "
	    "INSERT INTO audit SELECT 80, time, kind, rec_type, cti, level, "
	    "operator_id, status, 9, seq_no, verdict, codes, access, hash, "
	    "randomblob(32) FROM audit WHERE seq = 79; "
	    "UPDATE meta SET value = 201 WHERE key = 'audit.seq'",
	    STORE_AUDIT_INSERTED, 80);
}

static void
test_tamper_insert_unchained(void **state)
{
	tamper(*state, "UPDATE audit SET seq = -seq WHERE seq >= 150; "
	    "UPDATE audit SET seq = 1 - seq WHERE seq < 0; "
	    "INSERT INTO audit SELECT 150, time, kind, rec_type, cti, level, "
	    "operator_id, status, reason, seq_no, verdict, codes, access, "
	    "randomblob(32), randomblob(32) FROM audit WHERE seq = 149",
	    STORE_AUDIT_INSERTED, 150);
}

static void
test_tamper_swap(void **state)
{
	char sql[1024];

	swap_sql(sql, sizeof(sql), 40, 120, FIELDS ", prev, hash");
	tamper(*state, sql, STORE_AUDIT_REORDERED, 40);
}

static void
test_tamper_swap_adjacent(void **state)
{
	char sql[1024];

	swap_sql(sql, sizeof(sql), 60, 61, FIELDS ", prev, hash");
	tamper(*state, sql, STORE_AUDIT_REORDERED, 60);
}

static void
test_tamper_swap_far(void **state)
{
	char sql[1024];

	swap_sql(sql, sizeof(sql), 10, 190, FIELDS ", prev, hash");
	tamper(*state, sql, STORE_AUDIT_REORDERED, 10);
}

static void
test_tamper_swap_fields(void **state)
{
	char sql[1024];

	/* the fields trade places, the links stay where they were */
	swap_sql(sql, sizeof(sql), 25, 175, FIELDS);
	tamper(*state, sql, STORE_AUDIT_REORDERED, 25);
}

/* Annual report */

#define Y2025 1735689600	/* 2025-01-01T00:00:00Z */
#define Y2026 1767225600	/* 2026-01-01T00:00:00Z */

static void
audit_at(struct store *s, int64_t t, enum eng_audit_kind kind,
    enum proto_rec_type type, enum proto_status st, enum proto_reason why,
    enum proto_verdict v)
{
	struct eng_audit a;

	memset(&a, 0, sizeof(a));
	a.kind = kind;
	a.time = t;
	a.rec_type = type;
	a.status = st;
	a.reason = why;
	a.verdict = v;
	assert_int_equal(store_append_audit(s, &a, NULL), 0);
}

static void
test_report(void **state)
{
	struct fx *f = *state;
	struct store_annual r;
	const enum proto_status V = PROTO_STATUS_VALID;
	const enum proto_status R = PROTO_STATUS_REVOKED;
	const enum proto_status S = PROTO_STATUS_SUSPENDED;
	const enum proto_rec_type C = PROTO_REC_CLEARANCE;
	const enum proto_rec_type O = PROTO_REC_OPERATOR;
	int i;

	fx_open(f);
	assert_int_equal(store_begin(f->s, NULL), 0);
	audit_at(f->s, Y2025 - 1, ENG_AUDIT_ISSUE, C, V, 0, 0);
	audit_at(f->s, Y2026, ENG_AUDIT_ISSUE, C, V, 0, 0);
	for (i = 0; i < 3; i++)
		audit_at(f->s, Y2025 + i, ENG_AUDIT_ISSUE, C, V, 0, 0);
	audit_at(f->s, Y2026 - 1, ENG_AUDIT_ISSUE, O, V, 0, 0);
	audit_at(f->s, Y2025 + 10, ENG_AUDIT_STATUS, C, S,
	    PROTO_REASON_SUSPENDED_PENDING_REVIEW, 0);
	audit_at(f->s, Y2025 + 11, ENG_AUDIT_STATUS, C, S,
	    PROTO_REASON_REASSESSMENT_PENDING, 0);
	audit_at(f->s, Y2025 + 12, ENG_AUDIT_STATUS, C, R,
	    PROTO_REASON_ELIGIBILITY_REVOKED, 0);
	audit_at(f->s, Y2025 + 13, ENG_AUDIT_STATUS, C, R,
	    PROTO_REASON_ELIGIBILITY_REVOKED, 0);
	audit_at(f->s, Y2025 + 14, ENG_AUDIT_STATUS, C, V,
	    PROTO_REASON_REINSTATED, 0);
	audit_at(f->s, Y2025 + 15, ENG_AUDIT_STATUS, O, R,
	    PROTO_REASON_OPERATOR_CERT_REVOKED, 0);
	audit_at(f->s, Y2025 + 16, ENG_AUDIT_STATUS, O, S,
	    PROTO_REASON_SUSPENDED_PENDING_REVIEW, 0);
	for (i = 0; i < 7; i++)
		audit_at(f->s, Y2025 + 20 + i, ENG_AUDIT_DECISION, 0, 0, 0,
		    (enum proto_verdict)(i < 4 ? 0 : i < 6 ? 1 : 2));
	audit_at(f->s, Y2025 + 30, ENG_AUDIT_ALERT, C, R,
	    PROTO_REASON_ELIGIBILITY_REVOKED, 0);
	assert_int_equal(store_commit(f->s, NULL), 0);

	assert_int_equal(store_report_annual(f->s, 2025, &r, NULL), 0);
	assert_int_equal(r.year, 2025);
	assert_int_equal(r.clearances_issued, 3);
	assert_int_equal(r.operators_certified, 1);
	assert_int_equal(r.clearances_suspended, 2);
	assert_int_equal(r.suspended_by_reason[
	    PROTO_REASON_SUSPENDED_PENDING_REVIEW], 1);
	assert_int_equal(r.suspended_by_reason[
	    PROTO_REASON_REASSESSMENT_PENDING], 1);
	assert_int_equal(r.clearances_revoked, 2);
	assert_int_equal(r.revoked_by_reason[PROTO_REASON_ELIGIBILITY_REVOKED],
	    2);
	assert_int_equal(r.clearances_reinstated, 1);
	assert_int_equal(r.operators_revoked, 1);
	assert_int_equal(r.decisions[PROTO_ACCEPT], 4);
	assert_int_equal(r.decisions[PROTO_REJECT], 2);
	assert_int_equal(r.decisions[PROTO_INDETERMINATE], 1);
	assert_int_equal(store_report_annual(f->s, 2024, &r, NULL), 0);
	assert_int_equal(r.clearances_issued, 1);
	assert_int_equal(r.decisions[PROTO_ACCEPT], 0);
	assert_int_equal(store_report_annual(f->s, 2026, &r, NULL), 0);
	assert_int_equal(r.clearances_issued, 1);
	assert_int_equal(store_report_annual(f->s, 1970, &r, NULL), 0);
	assert_int_equal(r.clearances_issued, 0);
	assert_int_equal(store_report_annual(f->s, 0, &r, NULL), MRX_EINVAL);
}

/* Rollback and failures */

struct counter {
	size_t n;
};

static int
count_list(void *ctx, const struct proto_status_list *sl,
    const uint8_t *alloc, uint32_t nalloc)
{
	(void)sl;
	(void)alloc;
	(void)nalloc;
	((struct counter *)ctx)->n++;
	return 0;
}

static int
count_watch(void *ctx, const char *issuer, const char *uri, uint32_t idx,
    const uint8_t cti[PROTO_CTI_LEN])
{
	(void)issuer;
	(void)uri;
	(void)idx;
	(void)cti;
	((struct counter *)ctx)->n++;
	return 0;
}

/* Nothing of a rolled-back transaction is visible; the head is back. */
static void
assert_empty(struct store *s)
{
	struct store_audit_report rep;
	struct counter c = { 0 };
	uint64_t n;

	assert_int_equal(store_count_records(s, PROTO_REC_NONE, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_load_lists(s, count_list, &c, NULL), 0);
	assert_int_equal(store_load_watches(s, count_watch, &c, NULL), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(store_alert_last(s, &n, NULL), 0);
	assert_int_equal(n, 0);
	verify(s, &rep);
	assert_int_equal(rep.problem, STORE_AUDIT_OK);
	assert_int_equal(rep.entries, 0);
}

static void
test_rollback(void **state)
{
	struct fx *f = *state;
	struct proto_status_ref ref = { "https://jp.example/s/0", 3 };
	struct store_audit_report rep;
	struct list_fix lf;
	struct eng_alert al;
	struct eng_audit a;
	struct walk w;
	uint8_t cti[PROTO_CTI_LEN];
	uint64_t id;
	uint32_t i;

	fx_open(f);
	make_list(&lf, "https://jp.example/s/0", 256, 8);
	make_alert(1, &al);
	make_cti(1, cti);
	assert_int_equal(store_begin(f->s, NULL), 0);
	assert_int_equal(store_begin(f->s, NULL), MRX_ESTATE);
	for (i = 0; i < 10; i++)
		put_record(f->s, i);
	assert_int_equal(put_list(f->s, &lf, (const uint8_t *)"d", 1, NULL),
	    0);
	assert_int_equal(store_put_watch(f->s, "jp.issuer", &ref, cti, NULL),
	    0);
	assert_int_equal(store_put_alert(f->s, &al, &id, NULL), 0);
	for (i = 0; i < 5; i++) {
		make_audit(i, &a);
		assert_int_equal(store_append_audit(f->s, &a, NULL), 0);
	}
	store_rollback(f->s);
	assert_empty(f->s);
	fx_close(f);
	fx_open(f);
	assert_empty(f->s);
	/* the chain starts again at seq 1 */
	append_audit(f->s, 0, 3);
	memset(&w, 0, sizeof(w));
	assert_int_equal(store_audit_each(f->s, on_entry, &w, NULL), 0);
	assert_int_equal(w.n, 3);
	verify(f->s, &rep);
	assert_int_equal(rep.problem, STORE_AUDIT_OK);
	assert_int_equal(store_commit(f->s, NULL), MRX_ESTATE);
	free_list(&lf);
}

static void
test_failed_write_in_tx(void **state)
{
	struct fx *f = *state;
	struct eng_audit a;
	struct mrx_diag d;
	uint64_t n;

	fx_open(f);
	put_record(f->s, 1);
	assert_int_equal(store_begin(f->s, NULL), 0);
	put_record(f->s, 2);
	make_audit(0, &a);
	assert_int_equal(store_append_audit(f->s, &a, NULL), 0);
	/* record 1 is already stored: this write fails ... */
	mrx_diag_clear(&d);
	{
		struct eng_persist_record r;
		uint8_t buf[64];

		make_record(1, &r, buf, sizeof(buf));
		assert_int_equal(store_put_record(f->s, &r, &d), MRX_EEXIST);
	}
	/* ... and the turn can no longer be committed, only rolled back */
	mrx_diag_clear(&d);
	assert_int_equal(store_append_audit(f->s, &a, &d), MRX_ESTATE);
	assert_non_null(strstr(d.msg, "store_rollback"));
	assert_int_equal(store_commit(f->s, NULL), MRX_ESTATE);
	store_rollback(f->s);
	assert_int_equal(store_count_records(f->s, PROTO_REC_NONE, &n, NULL),
	    0);
	assert_int_equal(n, 1);
	assert_record(f->s, 1);
	/* the store is usable again */
	append_audit(f->s, 0, 2);
	fx_close(f);
	assert_int_equal(raw_int(f, "SELECT max(seq) FROM audit"), 2);
}

/*
 * SQLite's own "disk full": a VFS over the default one whose writes fail
 * with SQLITE_FULL while `full_armed` is set. Registered as the default
 * for the test, so store_open() uses it without knowing.
 */
struct full_file {
	sqlite3_file base;
	sqlite3_file *real;	/* the default VFS's file, right after */
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs full_vfs;
static sqlite3_io_methods full_io;
static bool full_armed;

#define REAL(f) (((struct full_file *)(f))->real)

static int
full_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int
full_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}

static int
full_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
	if (full_armed)
		return SQLITE_FULL;
	return REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}

static int
full_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int
full_sync(sqlite3_file *f, int flags)
{
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int
full_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int
full_lock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int
full_unlock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int
full_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int
full_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int
full_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
full_device(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
full_shm_map(sqlite3_file *f, int pg, int pgsz, int extend,
    void volatile **p)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, p);
}

static int
full_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void
full_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
full_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int
full_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **p)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, p);
}

static int
full_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static int
full_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *out_flags)
{
	struct full_file *ff = (struct full_file *)f;
	int rc;

	(void)vfs;
	ff->real = (sqlite3_file *)(ff + 1);
	rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out_flags);
	if (ff->real->pMethods == NULL) {
		f->pMethods = NULL;
		return rc;
	}
	full_io.iVersion = ff->real->pMethods->iVersion;
	f->pMethods = &full_io;
	return rc;
}

static void
full_vfs_install(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	assert_non_null(real_vfs);
	full_vfs = *real_vfs;
	full_vfs.zName = "mrx-test-full";
	full_vfs.szOsFile = (int)sizeof(struct full_file) + real_vfs->szOsFile;
	full_vfs.xOpen = full_open;
	full_io = (sqlite3_io_methods){ 3, full_close, full_read, full_write,
	    full_truncate, full_sync, full_size, full_lock, full_unlock,
	    full_reserved, full_control, full_sector, full_device,
	    full_shm_map, full_shm_lock, full_shm_barrier, full_shm_unmap,
	    full_fetch, full_unfetch };
	full_armed = false;
	assert_int_equal(sqlite3_vfs_register(&full_vfs, 1), SQLITE_OK);
}

static void
full_vfs_remove(void)
{
	sqlite3_vfs_unregister(&full_vfs);
	sqlite3_vfs_register(real_vfs, 1);
}

/* A transaction that cannot be written: MRX_ENOSPC, then nothing stored. */
static void
fill_and_fail(struct fx *f, void (*arm)(bool), const char *why)
{
	struct mrx_diag d;
	uint64_t n;
	uint32_t i;
	int rc = 0;

	mrx_diag_clear(&d);
	assert_int_equal(store_begin(f->s, &d), 0);
	arm(true);
	for (i = 0; i < 2000 && rc == 0; i++) {
		struct eng_persist_record r;
		uint8_t buf[400];

		make_record(i, &r, buf, sizeof(buf));
		rc = store_put_record(f->s, &r, &d);
	}
	if (rc == 0)
		rc = store_commit(f->s, &d);
	store_rollback(f->s);
	arm(false);
	if (rc != MRX_ENOSPC || d.code != MRX_ENOSPC ||
	    strstr(d.msg, "disk full") == NULL ||
	    strstr(d.msg, STORE_FILE) == NULL ||
	    (why != NULL && strstr(d.msg, why) == NULL))
		fail_msg("rc %d: %s", rc, d.msg);
	assert_int_equal(store_count_records(f->s, PROTO_REC_NONE, &n, NULL),
	    0);
	assert_int_equal(n, 0);
	/* with room again, the store works */
	put_record(f->s, 1);
	assert_record(f->s, 1);
}

static void
arm_vfs(bool on)
{
	full_armed = on;
}

static void
test_disk_full(void **state)
{
	struct fx *f = *state;

	full_vfs_install();
	fx_open(f);
	fill_and_fail(f, arm_vfs, NULL);
	fx_close(f);
	full_vfs_remove();
}

static struct rlimit saved_fsize;

/* The WAL may not grow past its current end: EFBIG on the next frame. */
static void
arm_fsize(bool on)
{
	static void (*old_sig)(int);
	struct rlimit lim;

	if (on) {
		assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved_fsize), 0);
		old_sig = signal(SIGXFSZ, SIG_IGN);
		lim = saved_fsize;
		lim.rlim_cur = 256 * 1024;
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	} else {
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved_fsize), 0);
		signal(SIGXFSZ, old_sig);
	}
}

static void
test_file_size_limit(void **state)
{
	struct fx *f = *state;

	fx_open(f);
	fill_and_fail(f, arm_fsize, "File too large");
}

/* Directories and files that are not a usable store */

static void
test_missing_dir(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 16];
	struct mrx_diag d;

	snprintf(path, sizeof(path), "%s/nope", f->dir);
	mrx_diag_clear(&d);
	assert_int_equal(store_open(path, &f->s, &d), MRX_ENOENT);
	assert_null(f->s);
	assert_non_null(strstr(d.msg, path));
	assert_non_null(strstr(d.msg, "No such file"));
	/* a file where the directory should be */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	mrx_diag_clear(&d);
	assert_int_equal(store_open(path, &f->s, &d), MRX_EINVAL);
	assert_non_null(strstr(d.msg, "not a directory"));
}

static void
test_not_a_database(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 16];
	struct mrx_diag d;
	static const char junk[] = "this is not an SQLite database file, "
	    "it is a text file long enough to have a header";
	FILE *fp;

	db_path(f, path, sizeof(path));
	fp = fopen(path, "w");
	assert_non_null(fp);
	fwrite(junk, 1, sizeof(junk), fp);
	fclose(fp);
	mrx_diag_clear(&d);
	assert_int_equal(store_open(f->dir, &f->s, &d), MRX_EIO);
	assert_null(f->s);
	assert_non_null(strstr(d.msg, path));
	assert_non_null(strstr(d.msg, "not a database"));
}

/* Runs store_open on a read-only directory; 0 if it failed as it should. */
static int
open_read_only(const char *dir)
{
	struct store *s = NULL;
	struct mrx_diag d;
	int rc;

	mrx_diag_clear(&d);
	rc = store_open(dir, &s, &d);
	store_close(s);
	if (rc != MRX_EIO || strstr(d.msg, dir) == NULL ||
	    strstr(d.msg, "not writable") == NULL) {
		fprintf(stderr, "read-only open: rc %d: %s\n", rc, d.msg);
		return 1;
	}
	return 0;
}

static void
test_read_only_dir(void **state)
{
	struct fx *f = *state;
	char ro[PATH_MAX + 16];
	int status;
	pid_t pid;

	snprintf(ro, sizeof(ro), "%s/ro", f->dir);
	assert_int_equal(mkdir(ro, 0555), 0);
	assert_int_equal(chmod(ro, 0555), 0);
	if (geteuid() != 0) {
		assert_int_equal(open_read_only(ro), 0);
		return;
	}
	/* root writes anywhere: try it as nobody */
	assert_int_equal(chmod(f->dir, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(NOBODY_ID) != 0 || setuid(NOBODY_ID) != 0)
			_exit(2);
		_exit(open_read_only(ro));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_reopen),
		T(test_newer_version),
		T(test_records),
		T(test_checkpointer),
		T(test_lists_roundtrip),
		T(test_watches),
		T(test_alerts),
		T(test_audit_chain),
		T(test_tamper_edit),
		T(test_tamper_edit_time),
		T(test_tamper_edit_last),
		T(test_tamper_edit_hash),
		T(test_tamper_edit_prev),
		T(test_tamper_edit_range),
		T(test_tamper_delete_middle),
		T(test_tamper_delete_first),
		T(test_tamper_delete_renumber),
		T(test_tamper_delete_tail),
		T(test_tamper_head_hash),
		T(test_tamper_head_gone),
		T(test_tamper_head_type),
		T(test_tamper_insert_end),
		T(test_tamper_insert_middle),
		T(test_tamper_insert_unchained),
		T(test_tamper_swap),
		T(test_tamper_swap_adjacent),
		T(test_tamper_swap_far),
		T(test_tamper_swap_fields),
		T(test_report),
		T(test_rollback),
		T(test_failed_write_in_tx),
		T(test_disk_full),
		T(test_file_size_limit),
		T(test_missing_dir),
		T(test_not_a_database),
		T(test_read_only_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
