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
	assert_int_equal(store_migrated_from(f->s, NULL), 0);	/* new */
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
	assert_int_equal(store_migrated_from(f->s, NULL), -1);	/* as it was */
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
 * Deferred durability: after store_sync_defer() commits return without
 * syncing and store_sync() makes them durable; with the checkpointer
 * running, over many commits, every record reads back after a reopen, and
 * the WAL's name stays the one store_sync() opened (so it keeps syncing
 * the file SQLite writes).
 */
static void
test_sync_defer(void **state)
{
	struct fx *f = *state;
	struct mrx_diag d;
	char wal[PATH_MAX + 16];
	struct stat before, after;
	uint32_t i;

	fx_open(f);
	assert_int_equal(store_checkpointer_start(f->s, 20, NULL), 0);
	mrx_diag_clear(&d);
	assert_int_equal(store_sync_defer(f->s, &d), 0);
	snprintf(wal, sizeof(wal), "%s/%s-wal", f->dir, STORE_FILE);
	assert_int_equal(stat(wal, &before), 0);
	for (i = 0; i < 200; i++) {
		assert_int_equal(store_begin(f->s, NULL), 0);
		put_record(f->s, i);
		assert_int_equal(store_commit(f->s, NULL), 0);
		if (i % 10 == 9) {
			mrx_diag_clear(&d);
			assert_int_equal(store_sync(f->s, &d), 0);
		}
		if (i == 100)
			usleep(50000);	/* a checkpoint or two meanwhile */
	}
	assert_int_equal(stat(wal, &after), 0);
	assert_true(before.st_ino == after.st_ino &&
	    before.st_dev == after.st_dev);
	fx_close(f);
	fx_open(f);
	for (i = 0; i < 200; i++)
		assert_record(f->s, i);
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
	/* watches are appended: the same one again is loaded again, last
	 * (the engine keeps it once) */
	assert_int_equal(store_put_watch(f->s, "uk.issuer", &ref, cti, &d), 0);
	assert_int_equal(store_put_watch(f->s, "", &ref, cti, NULL),
	    MRX_EINVAL);
	fx_close(f);
	fx_open(f);
	memset(&ws, 0, sizeof(ws));
	assert_int_equal(store_load_watches(f->s, on_watch, &ws, &d), 0);
	assert_int_equal(ws.n, 4);
	for (i = 0; i < 4; i++) {
		uint32_t k = i < 3 ? i : 2;

		snprintf(ref.uri, sizeof(ref.uri), "https://uk.example/%u", k);
		make_cti(k, cti);
		assert_string_equal(ws.w[i].issuer, "uk.issuer");
		assert_string_equal(ws.w[i].uri, ref.uri);
		assert_int_equal(ws.w[i].idx, 1000 + k);
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
	snprintf(a->uri, sizeof(a->uri), "mrx://jp.issuer/status/%u", i % 3);
	if (i % 4 == 0) {
		/* an equivocating feed: no record, the list in dispute */
		a->kind = ENG_ALERT_EQUIVOCATION;
		memset(a->cti, 0, sizeof(a->cti));
		a->status = PROTO_STATUS_VALID;
		a->reason = PROTO_REASON_NONE;
	}
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
	/* alert 4 keeps its kind and list */
	assert_int_equal(as.a[1].kind, ENG_ALERT_EQUIVOCATION);
	assert_string_equal(as.a[1].uri, "mrx://jp.issuer/status/1");
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

/* Federation (schema version 2) */

#define FEED_A "a.issuer"
#define FEED_B "b.issuer"
#define FEED_U0 "https://a.example/status/0"
#define FEED_U1 "https://a.example/status/1"
#define SEEN_MAX 32

/* Record bytes number `seed`: its length and its contents. */
static size_t
blob_len(uint64_t seed)
{
	return 100 + (size_t)(seed % 200);
}

static void
make_blob(uint64_t seed, uint8_t *buf, size_t len)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t k;

	for (k = 0; k < len; k++)
		buf[k] = (uint8_t)rnd(&x);
}

static uint64_t
fnv(const uint8_t *b, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t k;

	for (k = 0; k < n; k++)
		h = (h ^ b[k]) * 0x100000001b3ull;
	return h;
}

static uint64_t
blob_sum(uint64_t seed)
{
	uint8_t buf[400];

	make_blob(seed, buf, blob_len(seed));
	return fnv(buf, blob_len(seed));
}

static int
put_feed(struct store *s, const char *issuer, const char *uri,
    enum store_feed_kind kind, uint64_t seq, uint64_t seed)
{
	uint8_t buf[400];
	struct mrx_diag d;
	int rc;

	make_blob(seed, buf, blob_len(seed));
	mrx_diag_clear(&d);
	rc = store_put_feed(s, issuer, uri, kind, seq, buf, blob_len(seed),
	    &d);
	if (rc != 0 && rc != MRX_ESTATE)
		fail_msg("store_put_feed: %s", d.msg);
	return rc;
}

/* What a walk saw: one entry per callback, or the stop. */
struct seen {
	char issuer[PROTO_ID_MAX + 1];
	char uri[PROTO_URI_MAX + 1];
	int kind;			/* enum store_feed_kind or rec type */
	uint64_t seq;
	size_t len;
	uint64_t sum;
};

struct walked {
	struct seen e[SEEN_MAX];
	size_t n;
	size_t stop_at;			/* return stop_rc at this (1..) */
	int stop_rc;
};

static struct seen *
walked_next(struct walked *w, int *stop)
{
	*stop = 0;
	if (w->stop_at != 0 && w->n + 1 == w->stop_at) {
		*stop = w->stop_rc;
		return NULL;
	}
	assert_true(w->n < SEEN_MAX);
	return &w->e[w->n++];
}

static int
on_bytes(void *ctx, uint64_t seq, const uint8_t *b, size_t len)
{
	struct seen *e;
	int stop;

	e = walked_next(ctx, &stop);
	if (e == NULL)
		return stop;
	e->seq = seq;
	e->len = len;
	e->sum = fnv(b, len);
	return 0;
}

static int
on_feed(void *ctx, const char *issuer, const char *uri,
    enum store_feed_kind kind, uint64_t seq, const uint8_t *b, size_t len)
{
	struct seen *e;
	int stop;

	e = walked_next(ctx, &stop);
	if (e == NULL)
		return stop;
	snprintf(e->issuer, sizeof(e->issuer), "%s", issuer);
	snprintf(e->uri, sizeof(e->uri), "%s", uri);
	e->kind = (int)kind;
	e->seq = seq;
	e->len = len;
	e->sum = fnv(b, len);
	return 0;
}

static int
on_trust(void *ctx, enum proto_rec_type type, const uint8_t *b, size_t len)
{
	struct seen *e;
	int stop;

	e = walked_next(ctx, &stop);
	if (e == NULL)
		return stop;
	e->kind = (int)type;
	e->len = len;
	e->sum = fnv(b, len);
	return 0;
}

/* Entry i of a walk is record bytes `seed` (at seq, of kind). */
static void
assert_seen(const struct walked *w, size_t i, uint64_t seq, uint64_t seed)
{
	assert_true(i < w->n);
	assert_int_equal(w->e[i].seq, seq);
	assert_int_equal(w->e[i].len, blob_len(seed));
	assert_int_equal(w->e[i].sum, blob_sum(seed));
}

static void
assert_feed_seen(const struct walked *w, size_t i, const char *issuer,
    const char *uri, enum store_feed_kind kind, uint64_t seq, uint64_t seed)
{
	assert_seen(w, i, seq, seed);
	assert_string_equal(w->e[i].issuer, issuer);
	assert_string_equal(w->e[i].uri, uri);
	assert_int_equal(w->e[i].kind, kind);
}

static void
assert_feed_list(struct store *s, const char *issuer, const char *uri,
    uint64_t seq, uint64_t seed)
{
	struct mrx_diag d;
	uint64_t got_seq;
	uint8_t *b;
	size_t len;

	mrx_diag_clear(&d);
	if (store_feed_list(s, issuer, uri, &b, &len, &got_seq, &d) != 0)
		fail_msg("store_feed_list: %s", d.msg);
	assert_int_equal(got_seq, seq);
	assert_int_equal(len, blob_len(seed));
	assert_int_equal(fnv(b, len), blob_sum(seed));
	free(b);
}

/* The walk of every feed record the feed tests leave. */
static void
assert_feeds_loaded(struct store *s)
{
	struct walked w;
	struct mrx_diag d;

	memset(&w, 0, sizeof(w));
	mrx_diag_clear(&d);
	if (store_load_feeds(s, on_feed, &w, &d) != 0)
		fail_msg("store_load_feeds: %s", d.msg);
	assert_int_equal(w.n, 7);
	/* (issuer, uri) order; a feed without a list has its deltas only */
	assert_feed_seen(&w, 0, FEED_A, FEED_U0, STORE_FEED_DELTA, 1, 301);
	assert_feed_seen(&w, 1, FEED_A, FEED_U0, STORE_FEED_DELTA, 2, 302);
	assert_feed_seen(&w, 2, FEED_A, FEED_U0, STORE_FEED_DELTA, 3, 303);
	/* the list first, then the deltas after it */
	assert_feed_seen(&w, 3, FEED_A, FEED_U1, STORE_FEED_LIST, 7, 17);
	assert_feed_seen(&w, 4, FEED_A, FEED_U1, STORE_FEED_DELTA, 8, 8);
	assert_feed_seen(&w, 5, FEED_B, FEED_U0, STORE_FEED_LIST, 1, 401);
	assert_feed_seen(&w, 6, FEED_B, FEED_U0, STORE_FEED_DELTA, 2, 402);
}

static void
feed_deltas(struct store *s, const char *issuer, const char *uri,
    uint64_t from, size_t max, struct walked *w)
{
	struct mrx_diag d;

	memset(w, 0, sizeof(*w));
	mrx_diag_clear(&d);
	if (store_feed_deltas(s, issuer, uri, from, max, on_bytes, w, &d) != 0)
		fail_msg("store_feed_deltas: %s", d.msg);
}

/*
 * A list replaces the stored one and the deltas it covers; a delta at or
 * below the list, or at a seq already stored, is ignored; an older list
 * is ignored; every feed reads back in order, also after a reopen.
 */
static void
test_feeds(void **state)
{
	struct fx *f = *state;
	struct walked w;
	struct mrx_diag d;
	uint64_t seq = 9;
	uint8_t *b = (uint8_t *)&seq;
	size_t len = 9;

	fx_open(f);
	/* feed (B, U0), stored first, read last */
	assert_int_equal(put_feed(f->s, FEED_B, FEED_U0, STORE_FEED_DELTA, 2,
	    402), 0);
	assert_int_equal(put_feed(f->s, FEED_B, FEED_U0, STORE_FEED_LIST, 1,
	    401), 0);
	/* feed (A, U1): list 5, deltas 6..8 */
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U1, STORE_FEED_LIST, 5,
	    5), 0);
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U1, STORE_FEED_DELTA, 7,
	    7), 0);
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U1, STORE_FEED_DELTA, 6,
	    6), 0);
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U1, STORE_FEED_DELTA, 8,
	    8), 0);
	/* a second delta for seq 7 is ignored: the first stays */
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U1, STORE_FEED_DELTA, 7,
	    77), 0);
	/* deltas at or below the list's seq are ignored */
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U1, STORE_FEED_DELTA, 5,
	    55), 0);
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U1, STORE_FEED_DELTA, 2,
	    22), 0);
	assert_feed_list(f->s, FEED_A, FEED_U1, 5, 5);
	feed_deltas(f->s, FEED_A, FEED_U1, 0, 100, &w);
	assert_int_equal(w.n, 3);
	assert_seen(&w, 0, 6, 6);
	assert_seen(&w, 1, 7, 7);
	assert_seen(&w, 2, 8, 8);
	feed_deltas(f->s, FEED_A, FEED_U1, 7, 1, &w);
	assert_int_equal(w.n, 1);
	assert_seen(&w, 0, 7, 7);
	feed_deltas(f->s, FEED_A, FEED_U1, 9, 100, &w);
	assert_int_equal(w.n, 0);
	feed_deltas(f->s, FEED_A, FEED_U1, 0, 0, &w);
	assert_int_equal(w.n, 0);
	feed_deltas(f->s, FEED_A, FEED_U1, UINT64_MAX, 100, &w);
	assert_int_equal(w.n, 0);
	feed_deltas(f->s, FEED_B, FEED_U1, 0, 100, &w);
	assert_int_equal(w.n, 0);
	/* list 7 replaces list 5 and drops deltas 6 and 7 */
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U1, STORE_FEED_LIST, 7,
	    71), 0);
	assert_feed_list(f->s, FEED_A, FEED_U1, 7, 71);
	feed_deltas(f->s, FEED_A, FEED_U1, 0, 100, &w);
	assert_int_equal(w.n, 1);
	assert_seen(&w, 0, 8, 8);
	/* an older list changes nothing; one at the same seq replaces */
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U1, STORE_FEED_LIST, 6,
	    61), 0);
	assert_feed_list(f->s, FEED_A, FEED_U1, 7, 71);
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U1, STORE_FEED_LIST, 7,
	    17), 0);
	assert_feed_list(f->s, FEED_A, FEED_U1, 7, 17);
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U1, STORE_FEED_DELTA, 7,
	    777), 0);
	/* feed (A, U0): deltas only, stored out of order */
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U0, STORE_FEED_DELTA, 3,
	    303), 0);
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U0, STORE_FEED_DELTA, 1,
	    301), 0);
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U0, STORE_FEED_DELTA, 2,
	    302), 0);
	mrx_diag_clear(&d);
	assert_int_equal(store_feed_list(f->s, FEED_A, FEED_U0, &b, &len, &seq,
	    &d), MRX_ENOENT);
	assert_null(b);
	assert_int_equal(len, 0);
	assert_int_equal(seq, 0);
	assert_int_equal(d.code, 0);
	assert_feeds_loaded(f->s);
	fx_close(f);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM feeds"), 7);
	fx_open(f);
	assert_feeds_loaded(f->s);
	/* a callback that stops the walk: its value comes back */
	memset(&w, 0, sizeof(w));
	w.stop_at = 4;
	w.stop_rc = 42;
	mrx_diag_clear(&d);
	assert_int_equal(store_load_feeds(f->s, on_feed, &w, &d), 42);
	assert_int_equal(w.n, 3);
	assert_non_null(strstr(d.msg, "callback"));
	memset(&w, 0, sizeof(w));
	w.stop_at = 1;
	w.stop_rc = MRX_ENOSPC;
	assert_int_equal(store_feed_deltas(f->s, FEED_A, FEED_U0, 0, 10,
	    on_bytes, &w, NULL), MRX_ENOSPC);
	assert_int_equal(w.n, 0);
}

/* The largest record is a status list of PROTO_STATUS_LIST_MAX bytes. */
static void
test_feed_sizes(void **state)
{
	struct fx *f = *state;
	uint8_t *big = malloc(PROTO_STATUS_LIST_MAX + 1), *b;
	struct mrx_diag d;
	uint64_t seq;
	size_t len;

	assert_non_null(big);
	make_blob(1, big, PROTO_STATUS_LIST_MAX + 1);
	fx_open(f);
	mrx_diag_clear(&d);
	assert_int_equal(store_put_feed(f->s, FEED_A, FEED_U0, STORE_FEED_LIST,
	    3, big, PROTO_STATUS_LIST_MAX + 1, &d), MRX_ETOOBIG);
	assert_non_null(strstr(d.msg, "store_put_feed"));
	assert_int_equal(store_put_feed(f->s, FEED_A, FEED_U0, STORE_FEED_LIST,
	    3, big, PROTO_STATUS_LIST_MAX, NULL), 0);
	fx_close(f);
	fx_open(f);
	assert_int_equal(store_feed_list(f->s, FEED_A, FEED_U0, &b, &len, &seq,
	    NULL), 0);
	assert_int_equal(len, PROTO_STATUS_LIST_MAX);
	assert_int_equal(seq, 3);
	assert_memory_equal(b, big, PROTO_STATUS_LIST_MAX);
	free(b);
	free(big);
}

/* Refused with MRX_EINVAL and a diag naming the argument. */
static void
assert_einval(int rc, const struct mrx_diag *d, const char *op,
    const char *what)
{
	assert_int_equal(rc, MRX_EINVAL);
	assert_int_equal(d->code, MRX_EINVAL);
	assert_string_equal(d->field, "store");
	if (strstr(d->msg, op) == NULL || strstr(d->msg, what) == NULL)
		fail_msg("want \"%s\" naming \"%s\": %s", op, what, d->msg);
}

static void
test_feed_args(void **state)
{
	struct fx *f = *state;
	char long_id[PROTO_ID_MAX + 2], long_uri[PROTO_URI_MAX + 2];
	const uint8_t rec[] = { 0xd2, 0x84 };
	struct mrx_diag d;
	struct walked w;
	uint64_t seq;
	uint8_t *b;
	size_t len;

	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	memset(long_uri, 'u', sizeof(long_uri) - 1);
	long_uri[sizeof(long_uri) - 1] = '\0';
	fx_open(f);
#define PUT(iss, uri, kind, seq_, b_, len_) \
	(mrx_diag_clear(&d), store_put_feed(f->s, iss, uri, kind, seq_, b_, \
	    len_, &d))
	assert_einval(PUT(NULL, FEED_U0, STORE_FEED_LIST, 1, rec, 2), &d,
	    "store_put_feed", "issuer is NULL");
	assert_einval(PUT("", FEED_U0, STORE_FEED_LIST, 1, rec, 2), &d,
	    "store_put_feed", "issuer is empty");
	assert_einval(PUT(long_id, FEED_U0, STORE_FEED_LIST, 1, rec, 2), &d,
	    "store_put_feed", "issuer is longer");
	assert_int_equal(PUT(long_id + 1, FEED_U0, STORE_FEED_LIST, 1, rec,
	    2), 0);
	assert_einval(PUT(FEED_A, NULL, STORE_FEED_LIST, 1, rec, 2), &d,
	    "store_put_feed", "uri is NULL");
	assert_einval(PUT(FEED_A, "", STORE_FEED_DELTA, 1, rec, 2), &d,
	    "store_put_feed", "uri is empty");
	assert_einval(PUT(FEED_A, long_uri, STORE_FEED_DELTA, 1, rec, 2), &d,
	    "store_put_feed", "uri is longer");
	assert_einval(PUT(FEED_A, FEED_U0, (enum store_feed_kind)3, 1, rec,
	    2), &d, "store_put_feed", "kind 3");
	assert_einval(PUT(FEED_A, FEED_U0, STORE_FEED_DELTA,
	    (uint64_t)INT64_MAX + 1, rec, 2), &d, "store_put_feed", "seq");
	assert_einval(PUT(FEED_A, FEED_U0, STORE_FEED_DELTA, 1, NULL, 2), &d,
	    "store_put_feed", "b is NULL");
	assert_einval(PUT(FEED_A, FEED_U0, STORE_FEED_DELTA, 1, rec, 0), &d,
	    "store_put_feed", "b is empty");
	assert_int_equal(PUT(FEED_A, FEED_U0, STORE_FEED_DELTA, INT64_MAX,
	    rec, 2), 0);
#undef PUT
	mrx_diag_clear(&d);
	assert_einval(store_feed_list(f->s, FEED_A, "", &b, &len, &seq, &d),
	    &d, "store_feed_list", "uri");
	mrx_diag_clear(&d);
	assert_einval(store_feed_list(f->s, FEED_A, FEED_U0, NULL, &len, &seq,
	    &d), &d, "store_feed_list", "b is NULL");
	mrx_diag_clear(&d);
	assert_einval(store_feed_list(f->s, FEED_A, FEED_U0, &b, &len, NULL,
	    &d), &d, "store_feed_list", "seq is NULL");
	mrx_diag_clear(&d);
	assert_einval(store_feed_deltas(f->s, NULL, FEED_U0, 0, 1, on_bytes,
	    &w, &d), &d, "store_feed_deltas", "issuer");
	mrx_diag_clear(&d);
	assert_einval(store_feed_deltas(f->s, FEED_A, FEED_U0, 0, 1, NULL,
	    &w, &d), &d, "store_feed_deltas", "fn is NULL");
	mrx_diag_clear(&d);
	assert_einval(store_load_feeds(f->s, NULL, &w, &d), &d,
	    "store_load_feeds", "fn is NULL");
	/* a delta at INT64_MAX is read back, not lost to clamping */
	feed_deltas(f->s, FEED_A, FEED_U0, INT64_MAX, 10, &w);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.e[0].seq, INT64_MAX);
	feed_deltas(f->s, FEED_A, FEED_U0, (uint64_t)INT64_MAX + 1, 10, &w);
	assert_int_equal(w.n, 0);
}

/* Own deltas written by store_put_list, served by seq range. */
static void
test_deltas_range(void **state)
{
	struct fx *f = *state;
	const char *uri = "https://jp.example/s/0";
	struct list_fix lf, other;
	uint8_t buf[400];
	struct mrx_diag d;
	struct walked w;
	uint64_t k;

	make_list(&lf, uri, 64, 0);
	make_list(&other, "https://jp.example/s/1", 64, 0);
	fx_open(f);
	mrx_diag_clear(&d);
	assert_int_equal(store_begin(f->s, &d), 0);
	assert_int_equal(put_list(f->s, &lf, NULL, 0, &d), 0);
	assert_int_equal(put_list(f->s, &other, NULL, 0, &d), 0);
	for (k = 1; k <= 10; k++) {
		lf.sl.seq = k;
		make_blob(k, buf, blob_len(k));
		assert_int_equal(put_list(f->s, &lf, buf, blob_len(k), &d), 0);
	}
	other.sl.seq = 4;
	make_blob(1004, buf, blob_len(1004));
	assert_int_equal(put_list(f->s, &other, buf, blob_len(1004), &d), 0);
	assert_int_equal(store_commit(f->s, &d), 0);
	fx_close(f);
	fx_open(f);
#define RANGE(from, to, max) \
	(memset(&w, 0, sizeof(w)), store_deltas_range(f->s, uri, from, to, \
	    max, on_bytes, &w, &d))
	assert_int_equal(RANGE(3, 7, 100), 0);
	assert_int_equal(w.n, 5);
	for (k = 0; k < 5; k++)
		assert_seen(&w, k, 3 + k, 3 + k);
	assert_int_equal(RANGE(3, 7, 2), 0);
	assert_int_equal(w.n, 2);
	assert_seen(&w, 1, 4, 4);
	assert_int_equal(RANGE(4, 4, 10), 0);	/* not the other list's */
	assert_int_equal(w.n, 1);
	assert_seen(&w, 0, 4, 4);
	assert_int_equal(RANGE(8, UINT64_MAX, SIZE_MAX), 0);
	assert_int_equal(w.n, 3);
	assert_seen(&w, 2, 10, 10);
	assert_int_equal(RANGE(0, 0, 10), 0);
	assert_int_equal(w.n, 0);
	assert_int_equal(RANGE(7, 3, 10), 0);
	assert_int_equal(w.n, 0);
	assert_int_equal(RANGE(1, 10, 0), 0);
	assert_int_equal(w.n, 0);
	assert_int_equal(RANGE(11, UINT64_MAX, 10), 0);
	assert_int_equal(w.n, 0);
	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	w.stop_rc = MRX_ENOSPC;
	mrx_diag_clear(&d);
	assert_int_equal(store_deltas_range(f->s, uri, 1, 10, 10, on_bytes,
	    &w, &d), MRX_ENOSPC);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(d.msg, "callback"));
#undef RANGE
	memset(&w, 0, sizeof(w));
	assert_int_equal(store_deltas_range(f->s, "https://jp.example/none",
	    1, 10, 10, on_bytes, &w, NULL), 0);
	assert_int_equal(w.n, 0);
	mrx_diag_clear(&d);
	assert_einval(store_deltas_range(f->s, "", 1, 10, 10, on_bytes, &w,
	    &d), &d, "store_deltas_range", "uri is empty");
	mrx_diag_clear(&d);
	assert_einval(store_deltas_range(f->s, uri, 1, 10, 10, NULL, &w, &d),
	    &d, "store_deltas_range", "fn is NULL");
	free_list(&lf);
	free_list(&other);
}

static int
put_trust(struct store *s, enum proto_rec_type type, uint64_t hseed,
    uint64_t seed)
{
	uint8_t hash[PROTO_HASH_LEN], buf[400];

	make_blob(hseed, hash, sizeof(hash));
	make_blob(seed, buf, blob_len(seed));
	return store_put_trust(s, type, hash, buf, blob_len(seed),
	    1735689600 + (int64_t)seed, NULL);
}

static void
assert_trust_loaded(struct store *s)
{
	struct walked w;

	memset(&w, 0, sizeof(w));
	assert_int_equal(store_load_trust(s, on_trust, &w, NULL), 0);
	assert_int_equal(w.n, 4);
	/* in the order stored, not by type or hash */
	assert_int_equal(w.e[0].kind, PROTO_REC_KEY_REVOCATION);
	assert_int_equal(w.e[1].kind, PROTO_REC_DELEGATION);
	assert_int_equal(w.e[2].kind, PROTO_REC_AGREEMENT);
	assert_int_equal(w.e[3].kind, PROTO_REC_OPERATOR);
	assert_seen(&w, 0, 0, 10);
	assert_seen(&w, 1, 0, 11);
	assert_seen(&w, 2, 0, 12);
	assert_seen(&w, 3, 0, 13);
}

static void
test_trust(void **state)
{
	struct fx *f = *state;
	uint8_t hash[PROTO_HASH_LEN], rec[4] = { 1, 2, 3, 4 };
	struct mrx_diag d;
	struct walked w;

	fx_open(f);
	assert_int_equal(put_trust(f->s, PROTO_REC_KEY_REVOCATION, 9, 10), 0);
	assert_int_equal(put_trust(f->s, PROTO_REC_DELEGATION, 1, 11), 0);
	assert_int_equal(store_begin(f->s, NULL), 0);
	assert_int_equal(put_trust(f->s, PROTO_REC_AGREEMENT, 5, 12), 0);
	assert_int_equal(put_trust(f->s, PROTO_REC_OPERATOR, 3, 13), 0);
	/* the same hash again, whatever it carries, changes nothing */
	assert_int_equal(put_trust(f->s, PROTO_REC_DELEGATION, 5, 99), 0);
	assert_int_equal(put_trust(f->s, PROTO_REC_KEY_REVOCATION, 9, 10), 0);
	assert_int_equal(store_commit(f->s, NULL), 0);
	assert_trust_loaded(f->s);
	fx_close(f);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM trust"), 4);
	fx_open(f);
	assert_trust_loaded(f->s);
	memset(&w, 0, sizeof(w));
	w.stop_at = 3;
	w.stop_rc = -99;
	assert_int_equal(store_load_trust(f->s, on_trust, &w, NULL), -99);
	assert_int_equal(w.n, 2);
	/* only the records that extend trust */
	make_blob(7, hash, sizeof(hash));
	mrx_diag_clear(&d);
	assert_einval(store_put_trust(f->s, PROTO_REC_CLEARANCE, hash, rec,
	    sizeof(rec), 0, &d), &d, "store_put_trust", "type 2");
	mrx_diag_clear(&d);
	assert_einval(store_put_trust(f->s, PROTO_REC_STATUS_LIST, hash, rec,
	    sizeof(rec), 0, &d), &d, "store_put_trust", "type");
	mrx_diag_clear(&d);
	assert_einval(store_put_trust(f->s, PROTO_REC_NONE, hash, rec,
	    sizeof(rec), 0, &d), &d, "store_put_trust", "type");
	mrx_diag_clear(&d);
	assert_einval(store_put_trust(f->s, PROTO_REC_DELEGATION, NULL, rec,
	    sizeof(rec), 0, &d), &d, "store_put_trust", "hash is NULL");
	mrx_diag_clear(&d);
	assert_einval(store_put_trust(f->s, PROTO_REC_DELEGATION, hash, NULL,
	    sizeof(rec), 0, &d), &d, "store_put_trust", "b is NULL");
	mrx_diag_clear(&d);
	assert_einval(store_put_trust(f->s, PROTO_REC_DELEGATION, hash, rec,
	    0, 0, &d), &d, "store_put_trust", "b is empty");
	assert_int_equal(store_put_trust(f->s, PROTO_REC_DELEGATION, hash,
	    rec, (size_t)PROTO_STATUS_LIST_MAX + 1, 0, NULL), MRX_ETOOBIG);
	mrx_diag_clear(&d);
	assert_einval(store_load_trust(f->s, NULL, NULL, &d), &d,
	    "store_load_trust", "fn is NULL");
	assert_trust_loaded(f->s);
}

static void
make_evidence(uint32_t i, struct eng_evidence *ev, uint8_t *held,
    uint8_t *got)
{
	memset(ev, 0, sizeof(*ev));
	snprintf(ev->issuer, sizeof(ev->issuer), "%s", FEED_A);
	snprintf(ev->uri, sizeof(ev->uri), "%s", FEED_U0);
	ev->seq = 40 + i;
	make_blob(100 + i, ev->held_hash, PROTO_HASH_LEN);
	make_blob(200 + i, ev->got_hash, PROTO_HASH_LEN);
	if (held != NULL) {
		make_blob(300 + i, held, blob_len(300 + i));
		ev->held = held;
		ev->held_len = blob_len(300 + i);
	}
	make_blob(400 + i, got, blob_len(400 + i));
	ev->got = got;
	ev->got_len = blob_len(400 + i);
}

struct ev_walk {
	int n;
	char uri[PROTO_URI_MAX + 1];
	uint64_t seq;
};

static int
on_evidence(void *ctx, const char *issuer, const char *uri, uint64_t seq)
{
	struct ev_walk *w = ctx;

	assert_true(issuer[0] != '\0');
	w->n++;
	snprintf(w->uri, sizeof(w->uri), "%s", uri);
	w->seq = seq;
	return 0;
}

static void
test_evidence(void **state)
{
	struct fx *f = *state;
	struct ev_walk ew;
	uint8_t held[400], got[400];
	struct eng_evidence ev;
	struct mrx_diag d;
	uint64_t n = 9;

	fx_open(f);
	assert_int_equal(store_count_evidence(f->s, &n, NULL), 0);
	assert_int_equal(n, 0);
	make_evidence(1, &ev, held, got);
	assert_int_equal(store_put_evidence(f->s, &ev, 1735689600, NULL), 0);
	/* the held record not retained: its hash stands for it */
	make_evidence(2, &ev, NULL, got);
	assert_int_equal(store_put_evidence(f->s, &ev, 1735689601, NULL), 0);
	/* the same evidence twice is one row */
	assert_int_equal(store_put_evidence(f->s, &ev, 1735689602, NULL), 0);
	assert_int_equal(store_count_evidence(f->s, &n, NULL), 0);
	assert_int_equal(n, 2);
	/* read back at start-up: one call per row, in order */
	memset(&ew, 0, sizeof(ew));
	assert_int_equal(store_load_evidence(f->s, on_evidence, &ew, NULL), 0);
	assert_int_equal(ew.n, 2);
	make_evidence(2, &ev, NULL, got);
	assert_string_equal(ew.uri, ev.uri);
	assert_true(ew.seq == ev.seq);
	/* arguments */
	mrx_diag_clear(&d);
	assert_einval(store_put_evidence(f->s, NULL, 0, &d), &d,
	    "store_put_evidence", "ev is NULL");
	make_evidence(3, &ev, held, got);
	ev.issuer[0] = '\0';
	mrx_diag_clear(&d);
	assert_einval(store_put_evidence(f->s, &ev, 0, &d), &d,
	    "store_put_evidence", "ev->issuer is empty");
	make_evidence(3, &ev, held, got);
	memset(ev.uri, 'u', sizeof(ev.uri));
	mrx_diag_clear(&d);
	assert_einval(store_put_evidence(f->s, &ev, 0, &d), &d,
	    "store_put_evidence", "ev->uri");
	make_evidence(3, &ev, held, got);
	ev.held = NULL;
	mrx_diag_clear(&d);
	assert_einval(store_put_evidence(f->s, &ev, 0, &d), &d,
	    "store_put_evidence", "ev->held is NULL");
	make_evidence(3, &ev, held, got);
	ev.got_len = (size_t)PROTO_STATUS_LIST_MAX + 1;
	mrx_diag_clear(&d);
	assert_int_equal(store_put_evidence(f->s, &ev, 0, &d), MRX_ETOOBIG);
	assert_non_null(strstr(d.msg, "ev->got"));
	make_evidence(3, &ev, held, got);
	ev.seq = UINT64_MAX;
	mrx_diag_clear(&d);
	assert_einval(store_put_evidence(f->s, &ev, 0, &d), &d,
	    "store_put_evidence", "seq");
	mrx_diag_clear(&d);
	assert_einval(store_count_evidence(f->s, NULL, &d), &d,
	    "store_count_evidence", "n is NULL");
	fx_close(f);
	/* kept as given: both records, or the hash alone */
	assert_int_equal(raw_int(f, "SELECT count(*) FROM evidence WHERE "
	    "held IS NULL AND seq = 42 AND length(got) = 102 AND time = "
	    "1735689601"), 1);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM evidence WHERE "
	    "length(held) = 201 AND length(got) = 101 AND seq = 41"), 1);
	fx_open(f);
	assert_int_equal(store_count_evidence(f->s, &n, NULL), 0);
	assert_int_equal(n, 2);
}

static void
test_blind(void **state)
{
	struct fx *f = *state;
	uint8_t k1[32], k2[32], c1[PROTO_CTI_LEN], c2[PROTO_CTI_LEN];
	uint8_t got[PROTO_CTI_LEN];
	char long_agr[PROTO_SUB_MAX + 2];
	struct mrx_diag d;

	make_blob(1, k1, sizeof(k1));
	make_blob(2, k2, sizeof(k2));
	make_cti(1, c1);
	make_cti(2, c2);
	memset(long_agr, 'g', sizeof(long_agr) - 1);
	long_agr[sizeof(long_agr) - 1] = '\0';
	fx_open(f);
	mrx_diag_clear(&d);
	assert_int_equal(store_find_blind(f->s, "agr-jp-uk", k1, got, &d),
	    MRX_ENOENT);
	assert_int_equal(d.code, 0);
	assert_int_equal(store_put_blind(f->s, "agr-jp-uk", k1, c1, NULL), 0);
	assert_int_equal(store_put_blind(f->s, "agr-jp-uk", k1, c1, NULL), 0);
	assert_int_equal(store_find_blind(f->s, "agr-jp-uk", k1, got, NULL),
	    0);
	assert_memory_equal(got, c1, PROTO_CTI_LEN);
	/* the newest clearance of a person wins */
	assert_int_equal(store_put_blind(f->s, "agr-jp-uk", k1, c2, NULL), 0);
	assert_int_equal(store_find_blind(f->s, "agr-jp-uk", k1, got, NULL),
	    0);
	assert_memory_equal(got, c2, PROTO_CTI_LEN);
	/* keys are per agreement */
	assert_int_equal(store_put_blind(f->s, "agr-jp-de", k2, c1, NULL), 0);
	assert_int_equal(store_find_blind(f->s, "agr-jp-de", k1, got, NULL),
	    MRX_ENOENT);
	assert_int_equal(store_find_blind(f->s, "agr-jp-uk", k2, got, NULL),
	    MRX_ENOENT);
	fx_close(f);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM blind"), 2);
	fx_open(f);
	memset(got, 0, sizeof(got));
	assert_int_equal(store_find_blind(f->s, "agr-jp-uk", k1, got, NULL),
	    0);
	assert_memory_equal(got, c2, PROTO_CTI_LEN);
	assert_int_equal(store_find_blind(f->s, "agr-jp-de", k2, got, NULL),
	    0);
	assert_memory_equal(got, c1, PROTO_CTI_LEN);
	/* arguments */
	mrx_diag_clear(&d);
	assert_einval(store_put_blind(f->s, "", k1, c1, &d), &d,
	    "store_put_blind", "agreement is empty");
	mrx_diag_clear(&d);
	assert_einval(store_put_blind(f->s, long_agr, k1, c1, &d), &d,
	    "store_put_blind", "agreement is longer");
	mrx_diag_clear(&d);
	assert_einval(store_put_blind(f->s, "agr-jp-uk", NULL, c1, &d), &d,
	    "store_put_blind", "key is NULL");
	mrx_diag_clear(&d);
	assert_einval(store_put_blind(f->s, "agr-jp-uk", k1, NULL, &d), &d,
	    "store_put_blind", "cti is NULL");
	mrx_diag_clear(&d);
	assert_einval(store_find_blind(f->s, NULL, k1, got, &d), &d,
	    "store_find_blind", "agreement is NULL");
	mrx_diag_clear(&d);
	assert_einval(store_find_blind(f->s, "agr-jp-uk", k1, NULL, &d), &d,
	    "store_find_blind", "cti is NULL");
}

/* One of each federation write, as a loop turn makes them. */
static void
put_federation(struct store *s, uint8_t *held, uint8_t *got)
{
	struct eng_evidence ev;
	uint8_t key[32], cti[PROTO_CTI_LEN];

	assert_int_equal(put_feed(s, FEED_A, FEED_U0, STORE_FEED_LIST, 1, 1),
	    0);
	assert_int_equal(put_feed(s, FEED_A, FEED_U0, STORE_FEED_DELTA, 2, 2),
	    0);
	assert_int_equal(put_trust(s, PROTO_REC_DELEGATION, 1, 1), 0);
	make_evidence(1, &ev, held, got);
	assert_int_equal(store_put_evidence(s, &ev, 1735689600, NULL), 0);
	make_blob(1, key, sizeof(key));
	make_cti(1, cti);
	assert_int_equal(store_put_blind(s, "agr-jp-uk", key, cti, NULL), 0);
}

/* How many federation rows the store shows (feeds, trust, evidence, blind). */
static uint64_t
federation_rows(struct store *s)
{
	struct walked w;
	uint8_t key[32], cti[PROTO_CTI_LEN];
	uint64_t n, total = 0;

	memset(&w, 0, sizeof(w));
	assert_int_equal(store_load_feeds(s, on_feed, &w, NULL), 0);
	total += w.n;
	memset(&w, 0, sizeof(w));
	assert_int_equal(store_load_trust(s, on_trust, &w, NULL), 0);
	total += w.n;
	assert_int_equal(store_count_evidence(s, &n, NULL), 0);
	total += n;
	make_blob(1, key, sizeof(key));
	if (store_find_blind(s, "agr-jp-uk", key, cti, NULL) == 0)
		total++;
	return total;
}

/*
 * Rolled back: nothing of the federation writes stays. A write refused
 * inside a transaction fails it: the rest of the turn is refused too.
 */
static void
test_federation_rollback(void **state)
{
	struct fx *f = *state;
	uint8_t held[400], got[400], key[32], cti[PROTO_CTI_LEN];
	struct mrx_diag d;

	fx_open(f);
	assert_int_equal(store_begin(f->s, NULL), 0);
	put_federation(f->s, held, got);
	assert_int_equal(federation_rows(f->s), 5);	/* visible inside */
	store_rollback(f->s);
	assert_int_equal(federation_rows(f->s), 0);
	/* a refused argument fails the transaction */
	assert_int_equal(store_begin(f->s, NULL), 0);
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U0, STORE_FEED_LIST, 1,
	    1), 0);
	mrx_diag_clear(&d);
	assert_int_equal(store_put_feed(f->s, FEED_A, "", STORE_FEED_DELTA, 2,
	    got, 10, &d), MRX_EINVAL);
	make_blob(1, key, sizeof(key));
	make_cti(1, cti);
	mrx_diag_clear(&d);
	assert_int_equal(store_put_blind(f->s, "agr-jp-uk", key, cti, &d),
	    MRX_ESTATE);
	assert_non_null(strstr(d.msg, "store_rollback"));
	assert_int_equal(store_commit(f->s, NULL), MRX_ESTATE);
	store_rollback(f->s);
	assert_int_equal(federation_rows(f->s), 0);
	/* committed: all of it, also after a reopen */
	assert_int_equal(store_begin(f->s, NULL), 0);
	put_federation(f->s, held, got);
	assert_int_equal(store_commit(f->s, NULL), 0);
	fx_close(f);
	fx_open(f);
	assert_int_equal(federation_rows(f->s), 5);
	/* outside a transaction a refused write leaves the store usable */
	assert_int_equal(store_put_blind(f->s, "", key, cti, NULL),
	    MRX_EINVAL);
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U0, STORE_FEED_DELTA, 3,
	    3), 0);
	assert_int_equal(federation_rows(f->s), 6);
}

/*
 * Schema version 1 as mrx wrote it, frozen: the migration test starts
 * from this, never from the current code. Keep it byte for byte.
 */
static const char schema_v1_frozen[] =
    "CREATE TABLE records ("
    " id INTEGER PRIMARY KEY,"
    " cti BLOB NOT NULL UNIQUE CHECK (length(cti) = 16),"
    " type INTEGER NOT NULL,"
    " sub TEXT NOT NULL,"
    " uri TEXT NOT NULL,"
    " idx INTEGER NOT NULL,"
    " iat INTEGER NOT NULL,"
    " exp INTEGER NOT NULL,"
    " bytes BLOB NOT NULL) STRICT;"
    "CREATE TABLE record_counts ("
    " type INTEGER PRIMARY KEY,"
    " n INTEGER NOT NULL) STRICT;"
    "CREATE TRIGGER records_counted AFTER INSERT ON records BEGIN"
    " INSERT INTO record_counts (type, n) VALUES (new.type, 1)"
    " ON CONFLICT (type) DO UPDATE SET n = n + 1; END;"
    "CREATE TRIGGER records_uncounted AFTER DELETE ON records BEGIN"
    " UPDATE record_counts SET n = n - 1 WHERE type = old.type; END;"
    "CREATE TABLE lists ("
    " uri TEXT PRIMARY KEY,"
    " opened INTEGER NOT NULL UNIQUE,"
    " iss TEXT NOT NULL,"
    " cti BLOB NOT NULL,"
    " seq INTEGER NOT NULL,"
    " iat INTEGER NOT NULL,"
    " exp INTEGER,"
    " nbf INTEGER,"
    " size INTEGER NOT NULL,"
    " nalloc INTEGER NOT NULL,"
    " head BLOB,"
    " reasons BLOB NOT NULL,"
    " alloc BLOB NOT NULL,"
    " bits BLOB NOT NULL) STRICT;"
    "CREATE TABLE deltas ("
    " id INTEGER PRIMARY KEY,"
    " uri TEXT NOT NULL REFERENCES lists (uri),"
    " seq INTEGER NOT NULL,"
    " bytes BLOB NOT NULL,"
    " UNIQUE (uri, seq)) STRICT;"
    "CREATE TABLE watches ("
    " issuer TEXT NOT NULL,"
    " uri TEXT NOT NULL,"
    " idx INTEGER NOT NULL,"
    " cti BLOB NOT NULL,"
    " PRIMARY KEY (issuer, uri, idx, cti)) STRICT, WITHOUT ROWID;"
    "CREATE TABLE alerts ("
    " id INTEGER PRIMARY KEY,"
    " time INTEGER NOT NULL,"
    " cti BLOB NOT NULL,"
    " issuer TEXT NOT NULL,"
    " status INTEGER NOT NULL,"
    " reason INTEGER NOT NULL,"
    " seq INTEGER NOT NULL) STRICT;"
    "CREATE TABLE audit ("
    " seq INTEGER PRIMARY KEY,"
    " time INTEGER NOT NULL,"
    " kind INTEGER NOT NULL,"
    " rec_type INTEGER NOT NULL,"
    " cti BLOB,"
    " level TEXT NOT NULL,"
    " operator_id TEXT NOT NULL,"
    " status INTEGER NOT NULL,"
    " reason INTEGER NOT NULL,"
    " seq_no INTEGER NOT NULL,"
    " verdict INTEGER NOT NULL,"
    " codes TEXT NOT NULL,"
    " access TEXT NOT NULL,"
    " prev BLOB NOT NULL,"
    " hash BLOB NOT NULL) STRICT;"
    "CREATE INDEX audit_report ON audit"
    " (time, kind, rec_type, status, reason, verdict);"
    "CREATE TABLE meta ("
    " key TEXT PRIMARY KEY,"
    " value ANY) STRICT;";

/* v1 rows: a record, a list of 64 entries with two deltas, a watch, an
 * alert. */
static const char v1_rows[] =
    "INSERT INTO records (cti, type, sub, uri, idx, iat, exp, bytes) "
    " VALUES (x'000102030405060708090a0b0c0d0e0f', 2, 'subject-1',"
    " 'https://jp.example/s/0', 3, 1700000000, 2000000000,"
    " x'd28443a10127a0');"
    "INSERT INTO lists (uri, opened, iss, cti, seq, iat, exp, nbf, size,"
    " nalloc, head, reasons, alloc, bits) VALUES ('https://jp.example/s/0',"
    " 1, 'jp.issuer', x'0f0e0d0c0b0a09080706050403020100', 2, 1700000000,"
    " NULL, NULL, 64, 1, zeroblob(32), x'', x'0800000000000000',"
    " zeroblob(16));"
    "INSERT INTO deltas (uri, seq, bytes) VALUES"
    " ('https://jp.example/s/0', 1, x'd1'),"
    " ('https://jp.example/s/0', 2, x'd2d2');"
    "INSERT INTO watches VALUES ('uk.issuer', 'https://uk.example/0', 7,"
    " x'000102030405060708090a0b0c0d0e0f');"
    "INSERT INTO alerts (time, cti, issuer, status, reason, seq) VALUES"
    " (1700000000, x'000102030405060708090a0b0c0d0e0f', 'uk.issuer', 1, 1,"
    " 4);"
    "PRAGMA user_version = 1;";

/* The schema of the file at path, as one string of (name, sql) pairs. */
static void
schema_of(const char *path, char *out, size_t cap)
{
	sqlite3_stmt *st;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(name || "
	    "': ' || coalesce(sql, ''), char(10)) FROM (SELECT name, sql FROM "
	    "sqlite_schema ORDER BY name)", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static int
count_lists(void *ctx, const struct proto_status_list *sl,
    const uint8_t *alloc, uint32_t nalloc)
{
	assert_string_equal(sl->c.sub, "https://jp.example/s/0");
	assert_int_equal(sl->seq, 2);
	assert_int_equal(nalloc, 1);
	assert_int_equal(alloc[0], 8);
	(*(int *)ctx)++;
	return 0;
}

/*
 * A version 1 file opens at the current version: the new tables appear,
 * the old rows stay and read back through the store (the watch from the
 * keyed table of version 1 in version 3's log), and the resulting schema
 * is the one a fresh file gets.
 */
static void
test_migrate_v1(void **state)
{
	struct fx *f = *state;
	static const uint8_t cti[PROTO_CTI_LEN] = { 0, 1, 2, 3, 4, 5, 6, 7, 8,
	    9, 10, 11, 12, 13, 14, 15 };
	char path[PATH_MAX + 32], fresh[PATH_MAX + 16];
	static char want[16384], got[16384];
	struct proto_status_ref ref;
	struct store_record rec;
	struct store *s2 = NULL;
	struct watches ws;
	struct walked w;
	struct mrx_diag d;
	uint64_t n;
	int lists = 0;

	raw_exec(f, schema_v1_frozen);
	raw_exec(f, v1_rows);
	assert_int_equal(raw_int(f, "PRAGMA user_version"), 1);
	fx_open(f);
	assert_int_equal(store_migrated_from(f->s, NULL), 1);
	fx_close(f);
	assert_int_equal(raw_int(f, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(f, "SELECT count(*) FROM sqlite_schema WHERE "
	    "type = 'table' AND name IN ('feeds', 'trust', 'evidence', "
	    "'blind')"), 4);
	/* the same schema as a file created by this version */
	snprintf(fresh, sizeof(fresh), "%s/fresh", f->dir);
	assert_int_equal(mkdir(fresh, 0700), 0);
	mrx_diag_clear(&d);
	assert_int_equal(store_open(fresh, &s2, &d), 0);
	store_close(s2);
	snprintf(path, sizeof(path), "%s/%s", fresh, STORE_FILE);
	schema_of(path, want, sizeof(want));
	db_path(f, path, sizeof(path));
	schema_of(path, got, sizeof(got));
	assert_string_equal(got, want);
	/* the v1 rows, through the store */
	fx_open(f);
	assert_int_equal(store_get_record(f->s, cti, &rec, NULL), 0);
	assert_int_equal(rec.type, PROTO_REC_CLEARANCE);
	assert_int_equal(rec.len, 7);
	assert_int_equal(rec.ref.idx, 3);
	store_record_fini(&rec);
	assert_int_equal(store_count_records(f->s, PROTO_REC_CLEARANCE, &n,
	    NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_load_lists(f->s, count_lists, &lists, NULL), 0);
	assert_int_equal(lists, 1);
	assert_int_equal(store_alert_last(f->s, &n, NULL), 0);
	assert_int_equal(n, 1);
	/* the watch moved into version 3's log, and new ones follow it */
	memset(&ws, 0, sizeof(ws));
	assert_int_equal(store_load_watches(f->s, on_watch, &ws, NULL), 0);
	assert_int_equal(ws.n, 1);
	assert_string_equal(ws.w[0].issuer, "uk.issuer");
	assert_string_equal(ws.w[0].uri, "https://uk.example/0");
	assert_int_equal(ws.w[0].idx, 7);
	assert_memory_equal(ws.w[0].cti, cti, PROTO_CTI_LEN);
	snprintf(ref.uri, sizeof(ref.uri), "https://uk.example/1");
	ref.idx = 9;
	assert_int_equal(store_put_watch(f->s, "uk.issuer", &ref, cti, NULL),
	    0);
	memset(&ws, 0, sizeof(ws));
	assert_int_equal(store_load_watches(f->s, on_watch, &ws, NULL), 0);
	assert_int_equal(ws.n, 2);
	assert_int_equal(ws.w[1].idx, 9);
	memset(&w, 0, sizeof(w));
	assert_int_equal(store_deltas_range(f->s, "https://jp.example/s/0", 1,
	    2, 10, on_bytes, &w, NULL), 0);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.e[0].seq, 1);
	assert_int_equal(w.e[0].len, 1);
	assert_int_equal(w.e[1].seq, 2);
	assert_int_equal(w.e[1].len, 2);
	/* and the new tables work */
	assert_int_equal(put_feed(f->s, FEED_A, FEED_U0, STORE_FEED_LIST, 1,
	    1), 0);
	fx_close(f);
	fx_open(f);
	assert_feed_list(f->s, FEED_A, FEED_U0, 1, 1);
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
		T(test_sync_defer),
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
		T(test_feeds),
		T(test_feed_sizes),
		T(test_feed_args),
		T(test_deltas_range),
		T(test_trust),
		T(test_evidence),
		T(test_blind),
		T(test_federation_rollback),
		T(test_migrate_v1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
