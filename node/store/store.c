/*
 * store.c - the node's durable state in SQLite (DATA_DIR/mrx.db): the records
 * this node signed, its own status lists, the deltas between them, the
 * watches on accepted clearances, the alerts, and the hash-chained audit log;
 * since schema version 2 also the federation state: other issuers' feeds
 * (a list and the deltas after it), trust records learned at run time,
 * equivocation evidence and the blinded look-up keys of own clearances.
 *
 * Feeds: at most one list per (issuer, uri), and every delta stored for a
 * feed has a seq above its list's (storing a list deletes the deltas it
 * covers; a delta at or below the list is not stored). Both are enforced
 * by store_put_feed(); the one list also by a unique index.
 *
 * The connection is opened without SQLite's mutexes (one thread owns the
 * store), in WAL mode with synchronous=FULL (NORMAL plus store_sync()
 * after store_sync_defer()) and foreign keys on. Every
 * statement is prepared once at open and finalized at close. The schema is
 * versioned with PRAGMA user_version; migrations run in one IMMEDIATE
 * transaction that re-reads the version first, so two processes opening a
 * fresh file at once do not both create it. Tables are STRICT, so a value of
 * the wrong type cannot be stored through SQL. Subject ids live only in
 * records.sub: audit, alerts, watches and meta never hold one.
 *
 * Transactions: store_begin() opens BEGIN IMMEDIATE. A write that fails
 * inside it marks the transaction failed: later writes and store_commit()
 * are refused (MRX_ESTATE) until store_rollback(), so a half-applied loop
 * turn can never be committed. A write made outside store_begin() runs in a
 * transaction of its own. The audit head (seq, hash) is cached in memory
 * and written to meta once per transaction, just before its COMMIT (so
 * every committed state has meta's head equal to the last audit row); it
 * is restored from the snapshot taken at store_begin() when the
 * transaction is rolled back. store_audit_verify() inside a transaction
 * takes the head not yet written from memory.
 *
 * Audit encoding. hash_n = SHA-256(hash_{n-1} || E_n), hash_0 = 32 zero
 * bytes, where E_n is this CBOR array of 13 items, in this order, with
 * shortest-form heads and definite lengths (RFC 8949 core deterministic):
 *
 *   [ seq (uint), time (int), kind (uint), rec_type (uint),
 *     cti (bstr .size 16, or null when the entry has none),
 *     level (tstr), operator_id (tstr), status (uint), reason (uint),
 *     seq_no (uint), verdict (uint), codes (tstr), access (tstr) ]
 *
 * Every field is hashed whatever the kind (unused ones are 0 or ""), so an
 * edit of any column shows. seq_no is the status sequence number of a
 * STATUS entry (eng_audit.seq); seq is the entry's own position.
 *
 * store_audit_verify() walks the entries by seq, recomputes each hash and
 * stops at the first problem. A hash chain without a secret is evidence
 * against edits made without recomputing it: whoever can rewrite the file
 * can also rewrite every later hash and the head in meta, which only a copy
 * of the head kept elsewhere (a signed checkpoint) exposes. Within that, the
 * classification, in the order it is checked:
 *   - a row beyond the head recorded in meta: INSERTED;
 *   - a gap in seq: DELETED;
 *   - a row with a wrong type or out-of-range value: EDITED;
 *   - a row whose prev, fields and hash are consistent for another seq
 *     (searched STORE_AUDIT_MOVE_MAX either side): REORDERED if the row at
 *     that seq was made for this one (a swap), DELETED if it was made for a
 *     later seq (rows renumbered after a deletion), INSERTED if for an
 *     earlier seq (renumbered after an insertion);
 *   - a row whose prev is the hash of a stored row other than its
 *     predecessor: INSERTED (of the predecessor) if that row is two back,
 *     else REORDERED;
 *   - a row whose prev is no stored hash: EDITED if the next row (or the
 *     head) still links to it and its own hash fails, DELETED if it links
 *     and its hash holds (its true predecessor is gone), else INSERTED;
 *   - a row that chains but fails its hash: INSERTED if the next row chains
 *     to its predecessor (the chain skips it), REORDERED if its fields make
 *     a later row's hash (fields swapped), else EDITED;
 *   - after the last row: meta's head missing, or beyond the last row:
 *     DELETED; of the wrong type, or its hash not the last row's: EDITED.
 * A head of the wrong type does not stop store_open() (verify must be able
 * to say so), but no entry is appended after it.
 *
 * Status list reasons are stored as 5 bytes per entry: idx as 4 bytes big
 * endian, then the reason byte, in idx order.
 */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cbor.h"
#include "key.h"

#define STORE_BUSY_TIMEOUT_MS 5000	/* wait for another process's lock */
#define STORE_WAL_LIMIT "67108864"	/* WAL bytes kept after a checkpoint */
#define STORE_PATH_MAX 4096		/* DATA_DIR/mrx.db */
#define STORE_FILE_MODE 0600		/* records hold subject ids */
#define STORE_HASH_LEN 32		/* SHA-256 */
#define STORE_REASON_BYTES 5		/* idx (4, big endian) + reason */
#define STORE_AUDIT_ENC_MAX 512		/* E_n of one entry (about 300) */
#define STORE_AUDIT_MOVE_MAX 64		/* seqs verify tries for a moved row */
#define STORE_FIELD "store"		/* diag field of every store error */
#define STORE_ALLOC_BYTES(size) ((size) / 8) /* engine.h: size/8 bytes */

/* One prepared statement per operation, prepared at open. */
enum stmt_id {
	ST_BEGIN,
	ST_BEGIN_READ,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_REC_PUT,
	ST_REC_GET,
	ST_REC_COUNT,
	ST_REC_COUNT_TYPE,
	ST_LIST_PUT,
	ST_LIST_LOAD,
	ST_DELTA_PUT,
	ST_WATCH_PUT,
	ST_WATCH_LOAD,
	ST_ALERT_PUT,
	ST_ALERT_SINCE,
	ST_ALERT_LAST,
	ST_AUDIT_PUT,
	ST_AUDIT_EACH,
	ST_AUDIT_AT,
	ST_AUDIT_AFTER,
	ST_AUDIT_BY_HASH,
	ST_HEAD_PUT,
	ST_HEAD_GET,
	ST_REPORT,
	ST_DELTA_RANGE,
	ST_FEED_LIST_SEQ,
	ST_FEED_LIST_GET,
	ST_FEED_PRUNE,
	ST_FEED_PUT_LIST,
	ST_FEED_PUT_DELTA,
	ST_FEED_DELTAS,
	ST_FEED_LOAD,
	ST_TRUST_PUT,
	ST_TRUST_LOAD,
	ST_EVIDENCE_PUT,
	ST_EVIDENCE_COUNT,
	ST_EVIDENCE_EACH,
	ST_BLIND_PUT,
	ST_BLIND_FIND,
	ST_COUNT
};

#define AUDIT_COLS "seq, time, kind, rec_type, cti, level, operator_id, " \
	"status, reason, seq_no, verdict, codes, access, prev, hash"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN DEFERRED",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_REC_PUT] = "INSERT INTO records (cti, type, sub, uri, idx, iat, "
	    "exp, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_REC_GET] = "SELECT type, uri, idx, iat, exp, bytes FROM records "
	    "WHERE cti = ?1",
	[ST_REC_COUNT] = "SELECT coalesce(sum(n), 0) FROM record_counts",
	[ST_REC_COUNT_TYPE] = "SELECT coalesce((SELECT n FROM record_counts "
	    "WHERE type = ?1), 0)",
	[ST_LIST_PUT] = "INSERT INTO lists (uri, opened, iss, cti, seq, iat, "
	    "exp, nbf, size, nalloc, head, reasons, alloc, bits) VALUES (?1, "
	    "(SELECT coalesce(max(opened), 0) + 1 FROM lists), ?2, ?3, ?4, "
	    "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT (uri) DO "
	    "UPDATE SET iss = excluded.iss, cti = excluded.cti, "
	    "seq = excluded.seq, iat = excluded.iat, exp = excluded.exp, "
	    "nbf = excluded.nbf, size = excluded.size, "
	    "nalloc = excluded.nalloc, head = excluded.head, "
	    "reasons = excluded.reasons, alloc = excluded.alloc, "
	    "bits = excluded.bits",
	[ST_LIST_LOAD] = "SELECT uri, iss, cti, seq, iat, exp, nbf, size, "
	    "nalloc, head, reasons, alloc, bits FROM lists ORDER BY opened",
	[ST_DELTA_PUT] = "INSERT INTO deltas (uri, seq, bytes) "
	    "VALUES (?1, ?2, ?3)",
	[ST_WATCH_PUT] = "INSERT INTO watches (issuer, uri, idx, cti) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[ST_WATCH_LOAD] = "SELECT issuer, uri, idx, cti FROM watches "
	    "ORDER BY id",
	[ST_ALERT_PUT] = "INSERT INTO alerts (time, cti, issuer, status, "
	    "reason, seq, kind, uri) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_ALERT_SINCE] = "SELECT id, time, cti, issuer, status, reason, seq, "
	    "kind, uri FROM alerts WHERE id > ?1 ORDER BY id LIMIT ?2",
	[ST_ALERT_LAST] = "SELECT coalesce(max(id), 0) FROM alerts",
	[ST_AUDIT_PUT] = "INSERT INTO audit (" AUDIT_COLS ") VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	[ST_AUDIT_EACH] = "SELECT " AUDIT_COLS " FROM audit ORDER BY seq",
	[ST_AUDIT_AT] = "SELECT " AUDIT_COLS " FROM audit WHERE seq = ?1",
	[ST_AUDIT_AFTER] = "SELECT " AUDIT_COLS " FROM audit WHERE seq > ?1 "
	    "ORDER BY seq",
	[ST_AUDIT_BY_HASH] = "SELECT seq FROM audit WHERE hash = ?1 "
	    "ORDER BY seq LIMIT 1",
	[ST_HEAD_PUT] = "INSERT INTO meta (key, value) VALUES "
	    "('audit.seq', ?1), ('audit.hash', ?2) ON CONFLICT (key) DO "
	    "UPDATE SET value = excluded.value",
	[ST_HEAD_GET] = "SELECT (SELECT value FROM meta WHERE key = "
	    "'audit.seq'), (SELECT value FROM meta WHERE key = 'audit.hash')",
	[ST_REPORT] = "SELECT kind, rec_type, status, reason, verdict, "
	    "count(*) FROM audit WHERE time >= ?1 AND time < ?2 "
	    "GROUP BY kind, rec_type, status, reason, verdict",
	[ST_DELTA_RANGE] = "SELECT seq, bytes FROM deltas WHERE uri = ?1 "
	    "AND seq >= ?2 AND seq <= ?3 ORDER BY seq LIMIT ?4",
	[ST_FEED_LIST_SEQ] = "SELECT seq FROM feeds WHERE issuer = ?1 AND "
	    "uri = ?2 AND kind = 1",
	[ST_FEED_LIST_GET] = "SELECT seq, bytes FROM feeds WHERE issuer = ?1 "
	    "AND uri = ?2 AND kind = 1",
	/* the stored list (older or the same seq) and the deltas it covers */
	[ST_FEED_PRUNE] = "DELETE FROM feeds WHERE issuer = ?1 AND uri = ?2 "
	    "AND seq <= ?3",
	[ST_FEED_PUT_LIST] = "INSERT INTO feeds (issuer, uri, kind, seq, "
	    "bytes) VALUES (?1, ?2, 1, ?3, ?4)",
	/* ignored at or below the stored list, or when the seq is taken */
	[ST_FEED_PUT_DELTA] = "INSERT INTO feeds (issuer, uri, kind, seq, "
	    "bytes) SELECT ?1, ?2, 2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM "
	    "feeds WHERE issuer = ?1 AND uri = ?2 AND kind = 1 AND seq >= ?3) "
	    "ON CONFLICT DO NOTHING",
	[ST_FEED_DELTAS] = "SELECT seq, bytes FROM feeds WHERE issuer = ?1 "
	    "AND uri = ?2 AND kind = 2 AND seq >= ?3 ORDER BY seq LIMIT ?4",
	[ST_FEED_LOAD] = "SELECT issuer, uri, kind, seq, bytes FROM feeds "
	    "ORDER BY issuer, uri, kind, seq",
	[ST_TRUST_PUT] = "INSERT INTO trust (hash, type, time, bytes) VALUES "
	    "(?1, ?2, ?3, ?4) ON CONFLICT (hash) DO NOTHING",
	[ST_TRUST_LOAD] = "SELECT type, bytes FROM trust ORDER BY id",
	[ST_EVIDENCE_PUT] = "INSERT INTO evidence (issuer, uri, seq, time, "
	    "held_hash, got_hash, held, got) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7, ?8) ON CONFLICT DO NOTHING",
	[ST_EVIDENCE_COUNT] = "SELECT count(*) FROM evidence",
	[ST_EVIDENCE_EACH] = "SELECT issuer, uri, seq FROM evidence ORDER BY id",
	[ST_BLIND_PUT] = "INSERT INTO blind (agreement, key, cti) VALUES "
	    "(?1, ?2, ?3) ON CONFLICT (agreement, key) DO UPDATE SET "
	    "cti = excluded.cti",
	[ST_BLIND_FIND] = "SELECT cti FROM blind WHERE agreement = ?1 AND "
	    "key = ?2",
};

/*
 * Schema version 1. Rowid tables with a UNIQUE index on the 16-byte id
 * ingest about twice as fast as WITHOUT ROWID here. Large blobs come last
 * in a row so the small columns are read without touching overflow pages.
 * watches was the exception, a WITHOUT ROWID table keyed by itself, until
 * schema version 3 made it an append-only log (below).
 */
static const char schema_v1[] =
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
    /* count(*) would scan every record: /metrics reads these instead */
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
    /* covering: the annual report reads this index only */
    "CREATE INDEX audit_report ON audit"
    " (time, kind, rec_type, status, reason, verdict);"
    "CREATE TABLE meta ("
    " key TEXT PRIMARY KEY,"
    " value ANY) STRICT;";

/*
 * Schema version 2: federation. feeds holds the records of other issuers'
 * lists (kind 1 a whole list, at most one per feed; kind 2 a delta, one
 * per seq), read in key order at start-up. trust keeps run-time trust
 * records in the order stored (id), once per record hash. evidence rows
 * are never deleted. blind maps a blinded key to one clearance id.
 */
static const char schema_v2[] =
    "CREATE TABLE feeds ("
    " id INTEGER PRIMARY KEY,"
    " issuer TEXT NOT NULL,"
    " uri TEXT NOT NULL,"
    " kind INTEGER NOT NULL CHECK (kind IN (1, 2)),"
    " seq INTEGER NOT NULL CHECK (seq >= 0),"
    " bytes BLOB NOT NULL,"
    " UNIQUE (issuer, uri, kind, seq)) STRICT;"
    "CREATE UNIQUE INDEX feeds_one_list ON feeds (issuer, uri)"
    " WHERE kind = 1;"
    "CREATE TABLE trust ("
    " id INTEGER PRIMARY KEY,"
    " hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),"
    " type INTEGER NOT NULL,"
    " time INTEGER NOT NULL,"
    " bytes BLOB NOT NULL) STRICT;"
    "CREATE TABLE evidence ("
    " id INTEGER PRIMARY KEY,"
    " issuer TEXT NOT NULL,"
    " uri TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " time INTEGER NOT NULL,"
    " held_hash BLOB NOT NULL CHECK (length(held_hash) = 32),"
    " got_hash BLOB NOT NULL CHECK (length(got_hash) = 32),"
    " held BLOB,"
    " got BLOB,"
    " UNIQUE (issuer, uri, seq, held_hash, got_hash)) STRICT;"
    "CREATE TABLE blind ("
    " agreement TEXT NOT NULL,"
    " key BLOB NOT NULL CHECK (length(key) = 32),"
    " cti BLOB NOT NULL CHECK (length(cti) = 16),"
    " PRIMARY KEY (agreement, key)) STRICT, WITHOUT ROWID;"
    /* alerts say what kind (a status change, or a feed's equivocation)
     * and on which list */
    "ALTER TABLE alerts ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alerts ADD COLUMN uri TEXT NOT NULL DEFAULT '';";

/*
 * Schema version 3: watches become an append-only log. Version 1 keyed
 * them by (issuer, uri, idx, cti), and list indexes are drawn at random,
 * so every accepted verification rewrote a random page of that B-tree: a
 * WAL frame per decision, and a random write into the database file at
 * the next checkpoint, which stalled the WAL's own fsync behind it. Watches
 * are only ever read whole at start-up into the engine's table, which
 * keeps a watch once however often it is loaded; rows appended in the
 * order made share their pages, about fifty to a page.
 */
static const char schema_v3[] =
    "CREATE TABLE watch_log ("
    " id INTEGER PRIMARY KEY,"
    " issuer TEXT NOT NULL,"
    " uri TEXT NOT NULL,"
    " idx INTEGER NOT NULL,"
    " cti BLOB NOT NULL CHECK (length(cti) = 16)) STRICT;"
    "INSERT INTO watch_log (issuer, uri, idx, cti)"
    " SELECT issuer, uri, idx, cti FROM watches"
    " ORDER BY issuer, uri, idx, cti;"
    "DROP TABLE watches;"
    "ALTER TABLE watch_log RENAME TO watches;";

/* migrations[v] brings a database from version v to v + 1. */
static const char *const migrations[] = {
	schema_v1,
	schema_v2,
	schema_v3,
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
    STORE_SCHEMA_VERSION, "one migration per schema version");

struct store {
	sqlite3 *db;				/* the connection, NOMUTEX */
	sqlite3_stmt *st[ST_COUNT];		/* prepared at open */
	char path[STORE_PATH_MAX];		/* DATA_DIR/mrx.db */
	int64_t migrated_from;			/* -1: opened as it was */
	uint64_t migrate_ms;			/* how long that took */
	bool in_tx;				/* inside store_begin() */
	bool tx_failed;				/* a write in it failed */
	bool head_bad;				/* meta's head is malformed */
	bool head_dirty;			/* head not yet written to meta */
	uint64_t head_seq;			/* audit head, meta's at commit */
	uint8_t head_hash[STORE_HASH_LEN];
	uint64_t tx_head_seq;			/* the head at store_begin() */
	uint8_t tx_head_hash[STORE_HASH_LEN];
	uint8_t *scratch;			/* encoded reasons */
	size_t scratch_cap;
	/* the background checkpointer (store_checkpointer_start) */
	bool ckpt_on;				/* the thread runs */
	bool ckpt_stop;				/* asked to stop, under ckpt_mu */
	unsigned ckpt_interval_ms;
	pthread_t ckpt_thread;
	pthread_mutex_t ckpt_mu;
	pthread_cond_t ckpt_cv;
	uint64_t ckpt_runs, ckpt_failures;
	/* deferred durability (store_sync_defer): the WAL, for store_sync() */
	bool sync_deferred;
	int wal_fd;				/* -1 when not open */
	dev_t wal_dev;
	ino_t wal_ino;
};

/* Errors */

static bool
is_space_errno(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EFBIG;
}

/*
 * SQLite says SQLITE_FULL for ENOSPC only; a write refused for a quota or a
 * file size limit comes back as SQLITE_IOERR_*, and sqlite3_system_errno()
 * is not set on the commit path. The errno stays on the file that failed:
 * the WAL (where commits write) or the database file (checkpoints).
 */
static int
space_errno(struct store *s, int rc)
{
	sqlite3_file *wal = NULL;
	int e = 0;

	if ((rc & 0xff) == SQLITE_FULL)
		return ENOSPC;
	if ((rc & 0xff) != SQLITE_IOERR || s->db == NULL)
		return 0;
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
	    &wal) == SQLITE_OK && wal != NULL && wal->pMethods != NULL &&
	    wal->pMethods->xFileControl(wal, SQLITE_FCNTL_LAST_ERRNO, &e) ==
	    SQLITE_OK && is_space_errno(e))
		return e;
	e = 0;
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_LAST_ERRNO, &e) ==
	    SQLITE_OK && is_space_errno(e))
		return e;
	return 0;
}

static int
sqlite_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return MRX_ENOSPC;
	case SQLITE_NOMEM:
		return MRX_ENOMEM;
	case SQLITE_TOOBIG:
		return MRX_ETOOBIG;
	case SQLITE_CONSTRAINT:
		return rc == SQLITE_CONSTRAINT_UNIQUE ||
		    rc == SQLITE_CONSTRAINT_PRIMARYKEY ? MRX_EEXIST :
		    MRX_EINVAL;
	case SQLITE_NOTFOUND:
		return MRX_ENOENT;
	default:
		return MRX_EIO;
	}
}

/*
 * Turns an SQLite result into MRX_E* with a diag naming the operation, the
 * file and SQLite's message. Read the message before resetting the
 * statement. A failure inside the caller's transaction marks it failed.
 */
static int
store_fail(struct store *s, int rc, const char *op, struct mrx_diag *diag)
{
	const char *msg = s->db != NULL ? sqlite3_errmsg(s->db) :
	    sqlite3_errstr(rc);
	int code = sqlite_code(rc), e = space_errno(s, rc);

	if (s->in_tx)
		s->tx_failed = true;
	if (e != 0)
		return mrx_diag_set(diag, MRX_ENOSPC, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "%s: disk full writing %s (%s: %s)", op,
		    s->path, msg, strerror(e));
	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return mrx_diag_set(diag, code, MRX_DIAG_NO_OFFSET, STORE_FIELD,
		    "%s: %s is corrupt or not a database (%s)", op, s->path,
		    msg);
	default:
		return mrx_diag_set(diag, code, MRX_DIAG_NO_OFFSET, STORE_FIELD,
		    "%s: %s (%s)", op, msg, s->path);
	}
}

/* A value read back from the file that no store_* call could have written. */
static int
store_bad_row(struct store *s, const char *op, const char *what,
    struct mrx_diag *diag)
{
	return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET, STORE_FIELD,
	    "%s: %s in %s is malformed", op, what, s->path);
}

static int
store_bad_arg(const char *op, const char *what, struct mrx_diag *diag)
{
	return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET, STORE_FIELD,
	    "%s: %s", op, what);
}

static void
hex16(const uint8_t b[PROTO_CTI_LEN], char out[2 * PROTO_CTI_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < PROTO_CTI_LEN; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * PROTO_CTI_LEN] = '\0';
}

/* An enum value (any underlying type) within [lo, hi]. */
static bool
in_range(long long v, long long lo, long long hi)
{
	return v >= lo && v <= hi;
}

/* Statements */

/* Steps a statement that returns no row, then resets it. */
static int
stmt_run(struct store *s, enum stmt_id id, const char *op,
    struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[id];
	int rc, ret = 0;

	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_fail(s, rc, op, diag);
	sqlite3_reset(st);
	return ret;
}

/* Steps a statement expected to return one row: 0 with the row current. */
static int
stmt_row(struct store *s, enum stmt_id id, const char *op,
    struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[id];
	int rc, ret;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		ret = MRX_ENOENT;
	else
		ret = store_fail(s, rc, op, diag);
	sqlite3_reset(st);
	return ret;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void
bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
	/* An empty blob is a blob, not NULL: p may be NULL when n is 0. */
	sqlite3_bind_blob64(st, i, n > 0 ? p : "", n, SQLITE_STATIC);
}

/* Copies a TEXT column into dst[cap]: false if not TEXT or too long. */
static bool
col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const unsigned char *t;
	int n;

	if (sqlite3_column_type(st, i) != SQLITE_TEXT)
		return false;
	t = sqlite3_column_text(st, i);
	n = sqlite3_column_bytes(st, i);
	if (t == NULL || n < 0 || (size_t)n >= cap ||
	    memchr(t, '\0', (size_t)n) != NULL)
		return false;
	memcpy(dst, t, (size_t)n);
	dst[n] = '\0';
	return true;
}

/* Copies a BLOB column of exactly n bytes. */
static bool
col_blob(sqlite3_stmt *st, int i, uint8_t *dst, size_t n)
{
	const void *p;

	if (sqlite3_column_type(st, i) != SQLITE_BLOB)
		return false;
	p = sqlite3_column_blob(st, i);
	if (p == NULL || (size_t)sqlite3_column_bytes(st, i) != n)
		return false;
	memcpy(dst, p, n);
	return true;
}

/* An INTEGER column within [lo, hi]. */
static bool
col_int(sqlite3_stmt *st, int i, int64_t lo, int64_t hi, int64_t *v)
{
	if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
		return false;
	*v = sqlite3_column_int64(st, i);
	return *v >= lo && *v <= hi;
}

static int
exec_sql(struct store *s, const char *sql, const char *op,
    struct mrx_diag *diag)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_fail(s, rc, op, diag);
}

/* Transactions */

/* Refuses writes after a failure until the caller rolls back. */
static int
tx_usable(struct store *s, const char *op, struct mrx_diag *diag)
{
	if (s->in_tx && sqlite3_get_autocommit(s->db))
		return mrx_diag_set(diag, MRX_ESTATE, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "%s: SQLite rolled the transaction back after "
		    "an earlier error; call store_rollback", op);
	if (s->tx_failed)
		return mrx_diag_set(diag, MRX_ESTATE, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "%s: an earlier write of this transaction "
		    "failed; call store_rollback", op);
	return 0;
}

static void
head_save(struct store *s)
{
	s->tx_head_seq = s->head_seq;
	memcpy(s->tx_head_hash, s->head_hash, STORE_HASH_LEN);
}

static void
head_restore(struct store *s)
{
	s->head_seq = s->tx_head_seq;
	memcpy(s->head_hash, s->tx_head_hash, STORE_HASH_LEN);
	s->head_dirty = false;
}

/* Writes the head appended in this transaction to meta, once. */
static int
head_flush(struct store *s, const char *op, struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[ST_HEAD_PUT];
	int rc;

	if (!s->head_dirty)
		return 0;
	sqlite3_bind_int64(st, 1, (int64_t)s->head_seq);
	bind_blob(st, 2, s->head_hash, STORE_HASH_LEN);
	rc = stmt_run(s, ST_HEAD_PUT, op, diag);
	if (rc == 0)
		s->head_dirty = false;
	return rc;
}

static void
tx_abort(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db)) {
		sqlite3_step(s->st[ST_ROLLBACK]);
		sqlite3_reset(s->st[ST_ROLLBACK]);
	}
	head_restore(s);
}

/*
 * Every write runs through op_begin/op_end: inside the caller's transaction
 * it only checks that the transaction is usable; outside, it makes one.
 */
static int
op_begin(struct store *s, bool *own, const char *op, struct mrx_diag *diag)
{
	int rc;

	*own = false;
	if (s->in_tx)
		return tx_usable(s, op, diag);
	rc = stmt_run(s, ST_BEGIN, op, diag);
	if (rc != 0)
		return rc;
	head_save(s);
	*own = true;
	return 0;
}

static int
op_end(struct store *s, bool own, int rc, const char *op,
    struct mrx_diag *diag)
{
	if (!own)
		return rc;
	if (rc == 0)
		rc = head_flush(s, op, diag);
	if (rc == 0)
		rc = stmt_run(s, ST_COMMIT, op, diag);
	if (rc != 0)
		tx_abort(s);
	return rc;
}

int
store_begin(struct store *s, struct mrx_diag *diag)
{
	int rc;

	assert(s != NULL);
	if (s->in_tx)
		return mrx_diag_set(diag, MRX_ESTATE, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_begin: a transaction is already open");
	rc = stmt_run(s, ST_BEGIN, "store_begin", diag);
	if (rc != 0)
		return rc;
	head_save(s);
	s->in_tx = true;
	s->tx_failed = false;
	return 0;
}

int
store_commit(struct store *s, struct mrx_diag *diag)
{
	int rc;

	assert(s != NULL);
	if (!s->in_tx)
		return mrx_diag_set(diag, MRX_ESTATE, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_commit: no transaction is open");
	rc = tx_usable(s, "store_commit", diag);
	if (rc != 0)
		return rc;
	rc = head_flush(s, "store_commit: audit head", diag);
	if (rc != 0)
		return rc;	/* the transaction failed: the caller rolls back */
	rc = stmt_run(s, ST_COMMIT, "store_commit", diag);
	if (rc != 0)
		return rc;	/* still open: the caller rolls back */
	s->in_tx = false;
	return 0;
}

void
store_rollback(struct store *s)
{
	if (s == NULL || !s->in_tx)
		return;
	tx_abort(s);
	s->in_tx = false;
	s->tx_failed = false;
}

/* Open */

static int
check_dir(const char *dir, struct mrx_diag *diag)
{
	struct stat sb;

	if (stat(dir, &sb) != 0) {
		int e = errno;

		return mrx_diag_set(diag, e == ENOENT ? MRX_ENOENT : MRX_EIO,
		    MRX_DIAG_NO_OFFSET, STORE_FIELD,
		    "store_open: data directory %s: %s", dir, strerror(e));
	}
	if (!S_ISDIR(sb.st_mode))
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_open: data directory %s is not a "
		    "directory", dir);
	if (access(dir, W_OK | X_OK) != 0)
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_open: data directory %s is not "
		    "writable: %s", dir, strerror(errno));
	return 0;
}

/* Creates the file owner-only before SQLite does (it would use 0644). */
static int
create_file(struct store *s, struct mrx_diag *diag)
{
	int fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, STORE_FILE_MODE);

	if (fd < 0)
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_open: cannot open %s for writing: %s",
		    s->path, strerror(errno));
	close(fd);
	return 0;
}

static int
pragma_int(struct store *s, const char *sql, int64_t *v,
    struct mrx_diag *diag)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_fail(s, rc, "store_open", diag);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = store_fail(s, rc, "store_open", diag);
		sqlite3_finalize(st);
		return rc;
	}
	*v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static int
set_wal(struct store *s, struct mrx_diag *diag)
{
	sqlite3_stmt *st;
	const unsigned char *mode;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st,
	    NULL);
	if (rc != SQLITE_OK)
		return store_fail(s, rc, "store_open: journal_mode", diag);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		ret = store_fail(s, rc, "store_open: journal_mode", diag);
	} else {
		mode = sqlite3_column_text(st, 0);
		if (mode == NULL || strcmp((const char *)mode, "wal") != 0)
			ret = mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET,
			    STORE_FIELD, "store_open: %s stays in journal "
			    "mode %s, not wal", s->path,
			    mode != NULL ? (const char *)mode : "?");
	}
	sqlite3_finalize(st);
	return ret;
}

static int
configure(struct store *s, struct mrx_diag *diag)
{
	int rc;

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	if (sqlite3_db_readonly(s->db, "main") == 1)
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_open: %s is read-only", s->path);
	rc = set_wal(s, diag);
	if (rc == 0)
		rc = exec_sql(s, "PRAGMA synchronous=FULL; "
		    "PRAGMA foreign_keys=ON; "
		    "PRAGMA journal_size_limit=" STORE_WAL_LIMIT,
		    "store_open: pragmas", diag);
	return rc;
}

/* Runs migrations[from ..] in the open IMMEDIATE transaction. */
static int
migrate_steps(struct store *s, int64_t from, struct mrx_diag *diag)
{
	char sql[64];
	int64_t v;
	int rc;

	for (v = from; v < STORE_SCHEMA_VERSION; v++) {
		rc = exec_sql(s, migrations[v], "store_open: migration", diag);
		if (rc != 0)
			return rc;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %" PRId64,
		    v + 1);
		rc = exec_sql(s, sql, "store_open: migration", diag);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
too_new(struct store *s, int64_t v, struct mrx_diag *diag)
{
	return mrx_diag_set(diag, MRX_ESTATE, MRX_DIAG_NO_OFFSET, STORE_FIELD,
	    "store_open: %s has schema version %" PRId64 ", newer than the "
	    "version %d this mrx knows", s->path, v, STORE_SCHEMA_VERSION);
}

static int
migrate(struct store *s, struct mrx_diag *diag)
{
	int64_t v;
	int rc;

	rc = pragma_int(s, "PRAGMA user_version", &v, diag);
	if (rc != 0)
		return rc;
	if (v > STORE_SCHEMA_VERSION)
		return too_new(s, v, diag);
	if (v == STORE_SCHEMA_VERSION)
		return 0;
	rc = exec_sql(s, "BEGIN IMMEDIATE", "store_open: migration", diag);
	if (rc != 0)
		return rc;
	/* Another process may have migrated while we waited for the lock. */
	rc = pragma_int(s, "PRAGMA user_version", &v, diag);
	if (rc == 0 && (v < 0 || v > STORE_SCHEMA_VERSION))
		rc = too_new(s, v, diag);
	if (rc == 0 && v < STORE_SCHEMA_VERSION) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = migrate_steps(s, v, diag);
		if (rc == 0)
			rc = exec_sql(s, "COMMIT", "store_open: migration",
			    diag);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (rc == 0) {
			s->migrated_from = v;
			s->migrate_ms = (uint64_t)((t1.tv_sec - t0.tv_sec) *
			    1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		}
	} else if (rc == 0) {
		rc = exec_sql(s, "COMMIT", "store_open: migration", diag);
	}
	if (rc != 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int64_t
store_migrated_from(const struct store *s, uint64_t *ms)
{
	assert(s != NULL);
	if (ms != NULL)
		*ms = s->migrate_ms;
	return s->migrated_from;
}

static int
prepare_all(struct store *s, struct mrx_diag *diag)
{
	size_t i;
	int rc;

	for (i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
		if (rc != SQLITE_OK)
			return store_fail(s, rc, "store_open: prepare", diag);
	}
	return 0;
}

/* Reads the audit head from meta; absent means an empty log. */
static int
head_load(struct store *s, uint64_t *seq, uint8_t hash[STORE_HASH_LEN],
    bool *present, bool *ok, struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[ST_HEAD_GET];
	int64_t v = 0;
	int rc;

	rc = stmt_row(s, ST_HEAD_GET, "audit head", diag);
	if (rc != 0)
		return rc;
	*present = sqlite3_column_type(st, 0) != SQLITE_NULL ||
	    sqlite3_column_type(st, 1) != SQLITE_NULL;
	*ok = !*present || (col_int(st, 0, 0, INT64_MAX, &v) &&
	    col_blob(st, 1, hash, STORE_HASH_LEN));
	if (!*present || !*ok)
		memset(hash, 0, STORE_HASH_LEN);
	*seq = *present && *ok ? (uint64_t)v : 0;
	sqlite3_reset(st);
	return 0;
}

static int
open_db(struct store *s, struct mrx_diag *diag)
{
	bool present, ok;
	int rc;

	rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return store_fail(s, rc, "store_open", diag);
	rc = configure(s, diag);
	if (rc == 0)
		rc = migrate(s, diag);
	if (rc == 0)
		rc = prepare_all(s, diag);
	if (rc == 0)
		rc = head_load(s, &s->head_seq, s->head_hash, &present, &ok,
		    diag);
	s->head_bad = rc == 0 && !ok;
	return rc;
}

int
store_open(const char *dir, struct store **out, struct mrx_diag *diag)
{
	struct store *s;
	int n, rc;

	assert(dir != NULL && out != NULL);
	*out = NULL;
	rc = check_dir(dir, diag);
	if (rc != 0)
		return rc;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return mrx_diag_set(diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_open: out of memory");
	s->wal_fd = -1;
	s->migrated_from = -1;
	n = snprintf(s->path, sizeof(s->path), "%s/%s", dir, STORE_FILE);
	if (n < 0 || (size_t)n >= sizeof(s->path)) {
		free(s);
		return mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_open: data directory path is longer "
		    "than %d bytes", STORE_PATH_MAX - 1);
	}
	rc = create_file(s, diag);
	if (rc == 0)
		rc = open_db(s, diag);
	if (rc != 0) {
		store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

/*
 * The checkpointer: its own connection on its own thread copies committed
 * WAL frames into the database file with PASSIVE checkpoints (never
 * waiting for a lock, never blocking a writer), so the database file's
 * fsync happens here and not inside a commit on the loop thread. Only the
 * WAL's own fsync stays on the commit path, as durability requires.
 */
static void *
ckpt_main(void *arg)
{
	struct store *s = arg;
	struct timespec until;
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	pthread_mutex_lock(&s->ckpt_mu);
	while (!s->ckpt_stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += s->ckpt_interval_ms / 1000;
		until.tv_nsec += (long)(s->ckpt_interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->ckpt_cv, &s->ckpt_mu, &until);
		if (s->ckpt_stop)
			break;
		pthread_mutex_unlock(&s->ckpt_mu);
		rc = rc == SQLITE_OK ? sqlite3_wal_checkpoint_v2(db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) : rc;
		pthread_mutex_lock(&s->ckpt_mu);
		s->ckpt_runs++;
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			s->ckpt_failures++;
	}
	pthread_mutex_unlock(&s->ckpt_mu);
	sqlite3_close(db);
	return NULL;
}

int
store_checkpointer_start(struct store *s, unsigned interval_ms,
    struct mrx_diag *diag)
{
	int rc;

	assert(s != NULL && !s->ckpt_on);
	if (interval_ms == 0)
		interval_ms = STORE_CHECKPOINT_MS_DEFAULT;
	rc = exec_sql(s, "PRAGMA wal_autocheckpoint=0",
	    "store_checkpointer_start", diag);
	if (rc != 0)
		return rc;
	s->ckpt_interval_ms = interval_ms;
	s->ckpt_stop = false;
	if (pthread_mutex_init(&s->ckpt_mu, NULL) != 0 ||
	    pthread_cond_init(&s->ckpt_cv, NULL) != 0 ||
	    pthread_create(&s->ckpt_thread, NULL, ckpt_main, s) != 0) {
		(void)exec_sql(s, "PRAGMA wal_autocheckpoint=1000",
		    "store_checkpointer_start", NULL);
		return mrx_diag_set(diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_checkpointer_start: cannot start the "
		    "checkpoint thread");
	}
	s->ckpt_on = true;
	return 0;
}

static void
ckpt_stop(struct store *s)
{
	if (!s->ckpt_on)
		return;
	pthread_mutex_lock(&s->ckpt_mu);
	s->ckpt_stop = true;
	pthread_cond_signal(&s->ckpt_cv);
	pthread_mutex_unlock(&s->ckpt_mu);
	pthread_join(s->ckpt_thread, NULL);
	pthread_cond_destroy(&s->ckpt_cv);
	pthread_mutex_destroy(&s->ckpt_mu);
	s->ckpt_on = false;
}

void
store_close(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	ckpt_stop(s);
	if (s->db != NULL) {
		store_rollback(s);
		for (i = 0; i < ST_COUNT; i++)
			sqlite3_finalize(s->st[i]);
		sqlite3_close(s->db);
	}
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	free(s->scratch);
	free(s);
}

/* Deferred durability */

/* fsyncs the directory holding the store, so a new WAL's entry is kept. */
static int
sync_dir(const struct store *s, struct mrx_diag *diag)
{
	char dir[STORE_PATH_MAX];
	char *slash;
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", s->path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_sync: fsync of directory %s: %s", dir,
		    strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* (Re)opens DATA_DIR/mrx.db-wal for store_sync() and makes its name
 * durable. */
static int
wal_open(struct store *s, struct mrx_diag *diag)
{
	char wal[STORE_PATH_MAX + 8];
	struct stat st;
	int fd;

	snprintf(wal, sizeof(wal), "%s-wal", s->path);
	fd = open(wal, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_sync: cannot open the WAL %s: %s", wal,
		    strerror(e));
	}
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	s->wal_fd = fd;
	s->wal_dev = st.st_dev;
	s->wal_ino = st.st_ino;
	return sync_dir(s, diag);
}

int
store_sync_defer(struct store *s, struct mrx_diag *diag)
{
	int rc;

	assert(s != NULL && !s->in_tx);
	/* NORMAL in WAL mode: commits are consistent but not synced; the
	 * checkpointer's connection stays FULL */
	rc = exec_sql(s, "PRAGMA synchronous=NORMAL", "store_sync_defer",
	    diag);
	if (rc == 0)
		rc = wal_open(s, diag);
	if (rc != 0) {
		(void)exec_sql(s, "PRAGMA synchronous=FULL", "store_sync_defer",
		    NULL);
		return rc;
	}
	s->sync_deferred = true;
	return 0;
}

int
store_sync(struct store *s, struct mrx_diag *diag)
{
	char wal[STORE_PATH_MAX + 8];
	struct stat st;
	int rc;

	assert(s != NULL && s->sync_deferred);
	/* SQLite keeps the WAL's inode while a connection is open; should it
	 * ever be replaced, sync the new one (and its name) */
	snprintf(wal, sizeof(wal), "%s-wal", s->path);
	if (stat(wal, &st) == 0 && (st.st_dev != s->wal_dev ||
	    st.st_ino != s->wal_ino) && (rc = wal_open(s, diag)) != 0)
		return rc;
	if (fdatasync(s->wal_fd) != 0)
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_sync: fdatasync of %s: %s; commits "
		    "since the last sync may not be durable", wal,
		    strerror(errno));
	return 0;
}

/* Records */

static bool
str_ok(const char *v, size_t cap)
{
	return memchr(v, '\0', cap) != NULL;
}

static int
record_check(const struct eng_persist_record *r, struct mrx_diag *diag)
{
	const char *op = "store_put_record";

	if (!in_range(r->type, PROTO_REC_DELEGATION, PROTO_REC_KEY_REVOCATION))
		return store_bad_arg(op, "unknown record type", diag);
	if (r->len > PROTO_STATUS_LIST_MAX)
		return mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "%s: record of %zu bytes, over %u", op,
		    r->len, PROTO_STATUS_LIST_MAX);
	if (r->bytes == NULL && r->len > 0)
		return store_bad_arg(op, "record bytes missing", diag);
	if (!str_ok(r->sub, sizeof(r->sub)) ||
	    !str_ok(r->ref.uri, sizeof(r->ref.uri)))
		return store_bad_arg(op, "unterminated sub or uri", diag);
	return 0;
}

static int
record_insert(struct store *s, const struct eng_persist_record *r,
    struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[ST_REC_PUT];
	char hex[2 * PROTO_CTI_LEN + 1];
	int rc;

	bind_blob(st, 1, r->cti, PROTO_CTI_LEN);
	sqlite3_bind_int(st, 2, (int)r->type);
	bind_text(st, 3, r->sub);
	bind_text(st, 4, r->ref.uri);
	sqlite3_bind_int64(st, 5, r->ref.idx);
	sqlite3_bind_int64(st, 6, r->iat);
	sqlite3_bind_int64(st, 7, r->exp);
	bind_blob(st, 8, r->bytes, r->len);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		hex16(r->cti, hex);
		rc = mrx_diag_set(diag, MRX_EEXIST, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_put_record: record %s is already "
		    "stored", hex);
		if (s->in_tx)
			s->tx_failed = true;
	} else {
		rc = store_fail(s, rc, "store_put_record", diag);
	}
	sqlite3_reset(st);
	return rc;
}

int
store_put_record(struct store *s, const struct eng_persist_record *r,
    struct mrx_diag *diag)
{
	bool own;
	int rc;

	assert(s != NULL && r != NULL);
	rc = record_check(r, diag);
	if (rc != 0)
		return rc;
	rc = op_begin(s, &own, "store_put_record", diag);
	if (rc != 0)
		return rc;
	rc = record_insert(s, r, diag);
	return op_end(s, own, rc, "store_put_record", diag);
}

void
store_record_fini(struct store_record *r)
{
	if (r == NULL)
		return;
	free(r->bytes);
	memset(r, 0, sizeof(*r));
}

/* Fills out from the current row of ST_REC_GET. */
static int
record_from_row(struct store *s, sqlite3_stmt *st, struct store_record *out,
    struct mrx_diag *diag)
{
	const char *op = "store_get_record";
	int64_t type, idx;
	const void *p;
	size_t n;

	if (!col_int(st, 0, PROTO_REC_DELEGATION, PROTO_REC_KEY_REVOCATION,
	    &type) || !col_text(st, 1, out->ref.uri, sizeof(out->ref.uri)) ||
	    !col_int(st, 2, 0, UINT32_MAX, &idx) ||
	    !col_int(st, 3, INT64_MIN, INT64_MAX, &out->iat) ||
	    !col_int(st, 4, INT64_MIN, INT64_MAX, &out->exp) ||
	    sqlite3_column_type(st, 5) != SQLITE_BLOB)
		return store_bad_row(s, op, "a record row", diag);
	out->type = (enum proto_rec_type)type;
	out->ref.idx = (uint32_t)idx;
	p = sqlite3_column_blob(st, 5);
	n = (size_t)sqlite3_column_bytes(st, 5);
	out->bytes = malloc(n > 0 ? n : 1);
	if (out->bytes == NULL)
		return mrx_diag_set(diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "%s: out of memory for %zu bytes", op, n);
	if (n > 0)
		memcpy(out->bytes, p, n);
	out->len = n;
	return 0;
}

int
store_get_record(struct store *s, const uint8_t cti[PROTO_CTI_LEN],
    struct store_record *out, struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[ST_REC_GET];
	int rc;

	assert(s != NULL && cti != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	bind_blob(st, 1, cti, PROTO_CTI_LEN);
	rc = stmt_row(s, ST_REC_GET, "store_get_record", diag);
	if (rc != 0)
		return rc;
	memcpy(out->cti, cti, PROTO_CTI_LEN);
	rc = record_from_row(s, st, out, diag);
	sqlite3_reset(st);
	if (rc != 0)
		store_record_fini(out);
	return rc;
}

int
store_count_records(struct store *s, enum proto_rec_type type, uint64_t *n,
    struct mrx_diag *diag)
{
	enum stmt_id id = ST_REC_COUNT;
	int rc;

	assert(s != NULL && n != NULL);
	*n = 0;
	if (!in_range(type, PROTO_REC_NONE, PROTO_REC_KEY_REVOCATION))
		return store_bad_arg("store_count_records",
		    "unknown record type", diag);
	if (type != PROTO_REC_NONE) {
		id = ST_REC_COUNT_TYPE;
		sqlite3_bind_int(s->st[id], 1, (int)type);
	}
	rc = stmt_row(s, id, "store_count_records", diag);
	if (rc != 0)
		return rc;
	*n = (uint64_t)sqlite3_column_int64(s->st[id], 0);
	sqlite3_reset(s->st[id]);
	return 0;
}

/* Status lists */

static int
scratch_reserve(struct store *s, size_t n)
{
	uint8_t *p;

	if (n <= s->scratch_cap)
		return 0;
	p = realloc(s->scratch, n);
	if (p == NULL)
		return MRX_ENOMEM;
	s->scratch = p;
	s->scratch_cap = n;
	return 0;
}

static void
reasons_encode(const struct proto_status_list *sl, uint8_t *out)
{
	size_t i;

	for (i = 0; i < sl->nreasons; i++, out += STORE_REASON_BYTES) {
		uint32_t idx = sl->reasons[i].idx;

		out[0] = (uint8_t)(idx >> 24);
		out[1] = (uint8_t)(idx >> 16);
		out[2] = (uint8_t)(idx >> 8);
		out[3] = (uint8_t)idx;
		out[4] = sl->reasons[i].reason;
	}
}

static int
list_check(const struct eng_persist_list *l, struct mrx_diag *diag)
{
	const struct proto_status_list *sl = l->sl;
	const char *op = "store_put_list";

	if (sl == NULL || l->alloc == NULL)
		return store_bad_arg(op, "list or allocation bitmap missing",
		    diag);
	if (proto_status_list_check(sl, NULL) != 0)
		return store_bad_arg(op, "the status list breaks its "
		    "invariants", diag);
	if (sl->c.sub[0] == '\0' ||
	    strnlen(sl->c.sub, sizeof(sl->c.sub)) > PROTO_URI_MAX ||
	    !str_ok(sl->c.iss, sizeof(sl->c.iss)))
		return store_bad_arg(op, "list uri or issuer", diag);
	if (l->nalloc > sl->size)
		return store_bad_arg(op, "more entries allocated than the "
		    "list has", diag);
	if (l->has_change && (l->delta == NULL || l->delta_len == 0 ||
	    l->delta_len > PROTO_RECORD_MAX))
		return store_bad_arg(op, "a change without its delta record",
		    diag);
	return 0;
}

static void
list_bind(struct store *s, const struct eng_persist_list *l)
{
	const struct proto_status_list *sl = l->sl;
	sqlite3_stmt *st = s->st[ST_LIST_PUT];

	bind_text(st, 1, sl->c.sub);
	bind_text(st, 2, sl->c.iss);
	bind_blob(st, 3, sl->c.cti, PROTO_CTI_LEN);
	sqlite3_bind_int64(st, 4, (int64_t)sl->seq);
	sqlite3_bind_int64(st, 5, sl->c.iat);
	if (sl->c.has_exp)
		sqlite3_bind_int64(st, 6, sl->c.exp);
	else
		sqlite3_bind_null(st, 6);
	if (sl->c.has_nbf)
		sqlite3_bind_int64(st, 7, sl->c.nbf);
	else
		sqlite3_bind_null(st, 7);
	sqlite3_bind_int64(st, 8, sl->size);
	sqlite3_bind_int64(st, 9, l->nalloc);
	if (sl->has_head)
		bind_blob(st, 10, sl->head, PROTO_HASH_LEN);
	else
		sqlite3_bind_null(st, 10);
	bind_blob(st, 11, s->scratch, sl->nreasons * STORE_REASON_BYTES);
	bind_blob(st, 12, l->alloc, STORE_ALLOC_BYTES(sl->size));
	bind_blob(st, 13, sl->bits, sl->size / 4);
}

static int
delta_insert(struct store *s, const struct eng_persist_list *l,
    struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[ST_DELTA_PUT];
	int rc;

	bind_text(st, 1, l->sl->c.sub);
	sqlite3_bind_int64(st, 2, (int64_t)l->sl->seq);
	bind_blob(st, 3, l->delta, l->delta_len);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		if (s->in_tx)
			s->tx_failed = true;
		rc = mrx_diag_set(diag, MRX_EEXIST, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_put_list: list %s already has a delta "
		    "with seq %" PRIu64, l->sl->c.sub, l->sl->seq);
	} else if (rc != SQLITE_DONE) {
		rc = store_fail(s, rc, "store_put_list: delta", diag);
	} else {
		rc = 0;
	}
	sqlite3_reset(st);
	return rc;
}

int
store_put_list(struct store *s, const struct eng_persist_list *l,
    struct mrx_diag *diag)
{
	bool own;
	int rc;

	assert(s != NULL && l != NULL);
	rc = list_check(l, diag);
	if (rc != 0)
		return rc;
	if (scratch_reserve(s, l->sl->nreasons * STORE_REASON_BYTES) != 0)
		return mrx_diag_set(diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_put_list: out of memory");
	reasons_encode(l->sl, s->scratch);
	rc = op_begin(s, &own, "store_put_list", diag);
	if (rc != 0)
		return rc;
	list_bind(s, l);
	rc = stmt_run(s, ST_LIST_PUT, "store_put_list", diag);
	if (rc == 0 && l->has_change)
		rc = delta_insert(s, l, diag);
	return op_end(s, own, rc, "store_put_list", diag);
}

/* 0, MRX_EIO for a blob store_put_list could not have written, MRX_ENOMEM. */
static int
reasons_decode(struct proto_status_list *sl, const uint8_t *p, size_t n)
{
	size_t i, count = n / STORE_REASON_BYTES;

	if (n % STORE_REASON_BYTES != 0 || count > sl->size)
		return MRX_EIO;
	if (count == 0)
		return 0;
	sl->reasons = malloc(count * sizeof(*sl->reasons));
	if (sl->reasons == NULL)
		return MRX_ENOMEM;
	for (i = 0; i < count; i++, p += STORE_REASON_BYTES) {
		sl->reasons[i].idx = (uint32_t)p[0] << 24 |
		    (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		sl->reasons[i].reason = p[4];
	}
	sl->nreasons = sl->reasons_cap = count;
	return 0;
}

/* The claims columns of ST_LIST_LOAD (uri, iss, cti, seq, iat, exp, nbf). */
static bool
list_claims(sqlite3_stmt *st, struct proto_status_list *sl)
{
	int64_t seq;

	if (!col_text(st, 0, sl->c.sub, PROTO_URI_MAX + 1) ||
	    !col_text(st, 1, sl->c.iss, sizeof(sl->c.iss)) ||
	    !col_blob(st, 2, sl->c.cti, PROTO_CTI_LEN) ||
	    !col_int(st, 3, 0, INT64_MAX, &seq) ||
	    !col_int(st, 4, INT64_MIN, INT64_MAX, &sl->c.iat))
		return false;
	sl->seq = (uint64_t)seq;
	sl->c.has_exp = sqlite3_column_type(st, 5) != SQLITE_NULL;
	if (sl->c.has_exp && !col_int(st, 5, INT64_MIN, INT64_MAX,
	    &sl->c.exp))
		return false;
	sl->c.has_nbf = sqlite3_column_type(st, 6) != SQLITE_NULL;
	if (sl->c.has_nbf && !col_int(st, 6, INT64_MIN, INT64_MAX,
	    &sl->c.nbf))
		return false;
	sl->has_head = sqlite3_column_type(st, 9) != SQLITE_NULL;
	return !sl->has_head || col_blob(st, 9, sl->head, PROTO_HASH_LEN);
}

/*
 * Builds sl from the current row of ST_LIST_LOAD; *alloc points into the
 * row. Returns 0, MRX_ENOMEM, or MRX_EIO for a row that store_put_list
 * could not have written.
 */
static int
list_from_row(sqlite3_stmt *st, struct proto_status_list *sl,
    const uint8_t **alloc, uint32_t *nalloc)
{
	int64_t size, na;
	int rc;

	if (!col_int(st, 7, 4, PROTO_STATUS_ENTRIES_MAX, &size) ||
	    size % 4 != 0 || !col_int(st, 8, 0, size, &na) ||
	    sqlite3_column_type(st, 10) != SQLITE_BLOB ||
	    sqlite3_column_type(st, 11) != SQLITE_BLOB ||
	    sqlite3_column_type(st, 12) != SQLITE_BLOB ||
	    sqlite3_column_bytes(st, 11) != STORE_ALLOC_BYTES(size) ||
	    sqlite3_column_bytes(st, 12) != size / 4)
		return MRX_EIO;
	rc = proto_status_list_init(sl, (uint32_t)size);
	if (rc != 0)
		return rc == MRX_ENOMEM ? rc : MRX_EIO;
	if (!list_claims(st, sl))
		return MRX_EIO;
	rc = reasons_decode(sl, sqlite3_column_blob(st, 10),
	    (size_t)sqlite3_column_bytes(st, 10));
	if (rc != 0)
		return rc;
	memcpy(sl->bits, sqlite3_column_blob(st, 12), (size_t)size / 4);
	*alloc = sqlite3_column_blob(st, 11);
	*nalloc = (uint32_t)na;
	return proto_status_list_check(sl, NULL) == 0 ? 0 : MRX_EIO;
}

static int
walk_stopped(const char *op, int rc, struct mrx_diag *diag)
{
	return mrx_diag_set(diag, rc, MRX_DIAG_NO_OFFSET, STORE_FIELD,
	    "%s: stopped by the callback (%s)", op, mrx_errname(rc));
}

int
store_load_lists(struct store *s, store_list_fn fn, void *ctx,
    struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[ST_LIST_LOAD];
	struct proto_status_list sl;
	const uint8_t *alloc;
	uint32_t nalloc;
	int rc, ret = 0;

	assert(s != NULL && fn != NULL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&sl, 0, sizeof(sl));
		ret = list_from_row(st, &sl, &alloc, &nalloc);
		if (ret == MRX_ENOMEM) {
			ret = mrx_diag_set(diag, ret, MRX_DIAG_NO_OFFSET,
			    STORE_FIELD, "store_load_lists: out of memory");
		} else if (ret != 0) {
			ret = store_bad_row(s, "store_load_lists",
			    "a status list row", diag);
		} else {
			ret = fn(ctx, &sl, alloc, nalloc);
			if (ret != 0)
				ret = walk_stopped("store_load_lists", ret,
				    diag);
		}
		proto_status_list_fini(&sl);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_fail(s, rc, "store_load_lists", diag);
	sqlite3_reset(st);
	return ret;
}

/* Watches */

int
store_put_watch(struct store *s, const char *issuer,
    const struct proto_status_ref *ref, const uint8_t cti[PROTO_CTI_LEN],
    struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[ST_WATCH_PUT];
	bool own;
	int rc;

	assert(s != NULL && issuer != NULL && ref != NULL && cti != NULL);
	if (issuer[0] == '\0' || strnlen(issuer, PROTO_ID_MAX + 1) >
	    PROTO_ID_MAX || !str_ok(ref->uri, sizeof(ref->uri)) ||
	    ref->uri[0] == '\0')
		return store_bad_arg("store_put_watch", "issuer or uri", diag);
	rc = op_begin(s, &own, "store_put_watch", diag);
	if (rc != 0)
		return rc;
	bind_text(st, 1, issuer);
	bind_text(st, 2, ref->uri);
	sqlite3_bind_int64(st, 3, ref->idx);
	bind_blob(st, 4, cti, PROTO_CTI_LEN);
	rc = stmt_run(s, ST_WATCH_PUT, "store_put_watch", diag);
	return op_end(s, own, rc, "store_put_watch", diag);
}

static bool
watch_row_ok(sqlite3_stmt *st, int64_t *idx)
{
	return sqlite3_column_type(st, 0) == SQLITE_TEXT &&
	    sqlite3_column_bytes(st, 0) <= PROTO_ID_MAX &&
	    sqlite3_column_type(st, 1) == SQLITE_TEXT &&
	    sqlite3_column_bytes(st, 1) <= PROTO_URI_MAX &&
	    col_int(st, 2, 0, UINT32_MAX, idx) &&
	    sqlite3_column_type(st, 3) == SQLITE_BLOB &&
	    sqlite3_column_bytes(st, 3) == PROTO_CTI_LEN;
}

int
store_load_watches(struct store *s, store_watch_fn fn, void *ctx,
    struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[ST_WATCH_LOAD];
	int64_t idx;
	int rc, ret = 0;

	assert(s != NULL && fn != NULL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!watch_row_ok(st, &idx)) {
			ret = store_bad_row(s, "store_load_watches",
			    "a watch row", diag);
			break;
		}
		ret = fn(ctx, (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1), (uint32_t)idx,
		    sqlite3_column_blob(st, 3));
		if (ret != 0) {
			ret = walk_stopped("store_load_watches", ret, diag);
			break;
		}
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_fail(s, rc, "store_load_watches", diag);
	sqlite3_reset(st);
	return ret;
}

/* Alerts */

int
store_put_alert(struct store *s, const struct eng_alert *a, uint64_t *id,
    struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[ST_ALERT_PUT];
	bool own;
	int rc;

	assert(s != NULL && a != NULL);
	if (!str_ok(a->issuer, sizeof(a->issuer)) ||
	    strnlen(a->uri, sizeof(a->uri)) == sizeof(a->uri) ||
	    !in_range(a->kind, ENG_ALERT_STATUS, ENG_ALERT_EQUIVOCATION) ||
	    !in_range(a->status, PROTO_STATUS_VALID, PROTO_STATUS_SUSPENDED) ||
	    !in_range(a->reason, PROTO_REASON_NONE, PROTO_REASON_COUNT - 1))
		return store_bad_arg("store_put_alert", "issuer, status or "
		    "reason out of range", diag);
	rc = op_begin(s, &own, "store_put_alert", diag);
	if (rc != 0)
		return rc;
	sqlite3_bind_int64(st, 1, a->time);
	bind_blob(st, 2, a->cti, PROTO_CTI_LEN);
	bind_text(st, 3, a->issuer);
	sqlite3_bind_int(st, 4, (int)a->status);
	sqlite3_bind_int(st, 5, (int)a->reason);
	sqlite3_bind_int64(st, 6, (int64_t)a->seq);
	sqlite3_bind_int(st, 7, (int)a->kind);
	bind_text(st, 8, a->uri);
	rc = stmt_run(s, ST_ALERT_PUT, "store_put_alert", diag);
	if (rc == 0 && id != NULL)
		*id = (uint64_t)sqlite3_last_insert_rowid(s->db);
	return op_end(s, own, rc, "store_put_alert", diag);
}

static bool
alert_from_row(sqlite3_stmt *st, uint64_t *id, struct eng_alert *a)
{
	int64_t v, status, reason, seq, kind;

	memset(a, 0, sizeof(*a));
	if (!col_int(st, 0, 1, INT64_MAX, &v) ||
	    !col_int(st, 1, INT64_MIN, INT64_MAX, &a->time) ||
	    !col_blob(st, 2, a->cti, PROTO_CTI_LEN) ||
	    !col_text(st, 3, a->issuer, sizeof(a->issuer)) ||
	    !col_int(st, 4, 0, PROTO_STATUS_SUSPENDED, &status) ||
	    !col_int(st, 5, 0, PROTO_REASON_COUNT - 1, &reason) ||
	    !col_int(st, 6, INT64_MIN, INT64_MAX, &seq) ||
	    !col_int(st, 7, ENG_ALERT_STATUS, ENG_ALERT_EQUIVOCATION, &kind) ||
	    !col_text(st, 8, a->uri, sizeof(a->uri)))
		return false;
	*id = (uint64_t)v;
	a->kind = (enum eng_alert_kind)kind;
	a->status = (enum proto_status)status;
	a->reason = (enum proto_reason)reason;
	a->seq = (uint64_t)seq;
	return true;
}

int
store_alerts_since(struct store *s, uint64_t since, size_t max,
    store_alert_fn fn, void *ctx, struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[ST_ALERT_SINCE];
	struct eng_alert a;
	uint64_t id;
	int rc, ret = 0;

	assert(s != NULL && fn != NULL);
	sqlite3_bind_int64(st, 1, since > INT64_MAX ? INT64_MAX :
	    (int64_t)since);
	sqlite3_bind_int64(st, 2, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!alert_from_row(st, &id, &a)) {
			ret = store_bad_row(s, "store_alerts_since",
			    "an alert row", diag);
			break;
		}
		ret = fn(ctx, id, &a);
		if (ret != 0) {
			ret = walk_stopped("store_alerts_since", ret, diag);
			break;
		}
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_fail(s, rc, "store_alerts_since", diag);
	sqlite3_reset(st);
	return ret;
}

int
store_alert_last(struct store *s, uint64_t *id, struct mrx_diag *diag)
{
	int rc;

	assert(s != NULL && id != NULL);
	*id = 0;
	rc = stmt_row(s, ST_ALERT_LAST, "store_alert_last", diag);
	if (rc != 0)
		return rc;
	*id = (uint64_t)sqlite3_column_int64(s->st[ST_ALERT_LAST], 0);
	sqlite3_reset(s->st[ST_ALERT_LAST]);
	return 0;
}

/* Audit log */

static bool
audit_valid(const struct eng_audit *a)
{
	return in_range(a->kind, ENG_AUDIT_ISSUE, ENG_AUDIT_ALERT) &&
	    in_range(a->rec_type, PROTO_REC_NONE, PROTO_REC_KEY_REVOCATION) &&
	    in_range(a->status, PROTO_STATUS_VALID, PROTO_STATUS_SUSPENDED) &&
	    in_range(a->reason, PROTO_REASON_NONE, PROTO_REASON_COUNT - 1) &&
	    in_range(a->verdict, PROTO_ACCEPT, PROTO_INDETERMINATE) &&
	    str_ok(a->level, sizeof(a->level)) &&
	    str_ok(a->operator_id, sizeof(a->operator_id)) &&
	    str_ok(a->codes, sizeof(a->codes)) &&
	    str_ok(a->access, sizeof(a->access));
}

/* hash = SHA-256(prev || E(seq, a)), E as documented at the top. */
static int
audit_hash(const uint8_t prev[STORE_HASH_LEN], uint64_t seq,
    const struct eng_audit *a, uint8_t out[STORE_HASH_LEN])
{
	uint8_t buf[STORE_HASH_LEN + STORE_AUDIT_ENC_MAX];
	struct cry_cbor_wr wr;
	size_t len;

	memcpy(buf, prev, STORE_HASH_LEN);
	cry_cbor_wr_init(&wr, buf + STORE_HASH_LEN, STORE_AUDIT_ENC_MAX);
	cry_cbor_put_array(&wr, 13);
	cry_cbor_put_uint(&wr, seq);
	cry_cbor_put_int(&wr, a->time);
	cry_cbor_put_uint(&wr, (uint64_t)a->kind);
	cry_cbor_put_uint(&wr, (uint64_t)a->rec_type);
	if (a->has_cti)
		cry_cbor_put_bstr(&wr, a->cti, PROTO_CTI_LEN);
	else
		cry_cbor_put_null(&wr);
	cry_cbor_put_tstr(&wr, a->level);
	cry_cbor_put_tstr(&wr, a->operator_id);
	cry_cbor_put_uint(&wr, (uint64_t)a->status);
	cry_cbor_put_uint(&wr, (uint64_t)a->reason);
	cry_cbor_put_uint(&wr, a->seq);
	cry_cbor_put_uint(&wr, (uint64_t)a->verdict);
	cry_cbor_put_tstr(&wr, a->codes);
	cry_cbor_put_tstr(&wr, a->access);
	/* The fields are bounded well below STORE_AUDIT_ENC_MAX. */
	if (cry_cbor_wr_finish(&wr, &len) != 0)
		assert(!"audit entry encoding over STORE_AUDIT_ENC_MAX");
	return cry_sha256(buf, STORE_HASH_LEN + len, out) == 0 ? 0 :
	    MRX_ECRYPTO;
}

static void
audit_bind(sqlite3_stmt *st, uint64_t seq, const struct eng_audit *a,
    const uint8_t prev[STORE_HASH_LEN], const uint8_t hash[STORE_HASH_LEN])
{
	sqlite3_bind_int64(st, 1, (int64_t)seq);
	sqlite3_bind_int64(st, 2, a->time);
	sqlite3_bind_int(st, 3, (int)a->kind);
	sqlite3_bind_int(st, 4, (int)a->rec_type);
	if (a->has_cti)
		bind_blob(st, 5, a->cti, PROTO_CTI_LEN);
	else
		sqlite3_bind_null(st, 5);
	bind_text(st, 6, a->level);
	bind_text(st, 7, a->operator_id);
	sqlite3_bind_int(st, 8, (int)a->status);
	sqlite3_bind_int(st, 9, (int)a->reason);
	sqlite3_bind_int64(st, 10, (int64_t)a->seq);
	sqlite3_bind_int(st, 11, (int)a->verdict);
	bind_text(st, 12, a->codes);
	bind_text(st, 13, a->access);
	bind_blob(st, 14, prev, STORE_HASH_LEN);
	bind_blob(st, 15, hash, STORE_HASH_LEN);
}

static int
audit_insert(struct store *s, const struct eng_audit *a,
    struct mrx_diag *diag)
{
	uint8_t hash[STORE_HASH_LEN];
	uint64_t seq = s->head_seq + 1;
	int rc;

	if (audit_hash(s->head_hash, seq, a, hash) != 0)
		return mrx_diag_set(diag, MRX_ECRYPTO, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_append_audit: SHA-256 failed");
	audit_bind(s->st[ST_AUDIT_PUT], seq, a, s->head_hash, hash);
	rc = stmt_run(s, ST_AUDIT_PUT, "store_append_audit", diag);
	if (rc != 0)
		return rc;
	s->head_seq = seq;
	memcpy(s->head_hash, hash, STORE_HASH_LEN);
	s->head_dirty = true;		/* written at commit (head_flush) */
	return 0;
}

int
store_append_audit(struct store *s, const struct eng_audit *a,
    struct mrx_diag *diag)
{
	bool own;
	int rc;

	assert(s != NULL && a != NULL);
	if (!audit_valid(a))
		return store_bad_arg("store_append_audit", "an audit field is "
		    "out of range or unterminated", diag);
	if (s->head_bad)
		return mrx_diag_set(diag, MRX_EIO, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_append_audit: the audit head in meta "
		    "of %s is malformed; run audit verify", s->path);
	if (s->head_seq >= INT64_MAX)
		return mrx_diag_set(diag, MRX_ERANGE, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_append_audit: the audit log is full");
	rc = op_begin(s, &own, "store_append_audit", diag);
	if (rc != 0)
		return rc;
	rc = audit_insert(s, a, diag);
	return op_end(s, own, rc, "store_append_audit", diag);
}

/* An audit row as read back, possibly tampered with. */
struct audit_row {
	int64_t seq;			/* as stored */
	struct store_audit_entry e;	/* meaningful when ok */
	bool ok;			/* types, lengths and ranges hold */
};

static bool
audit_ints(sqlite3_stmt *st, struct eng_audit *a)
{
	int64_t kind, type, status, reason, seq_no, verdict;

	if (!col_int(st, 1, INT64_MIN, INT64_MAX, &a->time) ||
	    !col_int(st, 2, ENG_AUDIT_ISSUE, ENG_AUDIT_ALERT, &kind) ||
	    !col_int(st, 3, PROTO_REC_NONE, PROTO_REC_KEY_REVOCATION, &type) ||
	    !col_int(st, 7, PROTO_STATUS_VALID, PROTO_STATUS_SUSPENDED,
	    &status) ||
	    !col_int(st, 8, PROTO_REASON_NONE, PROTO_REASON_COUNT - 1,
	    &reason) ||
	    !col_int(st, 9, INT64_MIN, INT64_MAX, &seq_no) ||
	    !col_int(st, 10, PROTO_ACCEPT, PROTO_INDETERMINATE, &verdict))
		return false;
	a->kind = (enum eng_audit_kind)kind;
	a->rec_type = (enum proto_rec_type)type;
	a->status = (enum proto_status)status;
	a->reason = (enum proto_reason)reason;
	a->seq = (uint64_t)seq_no;
	a->verdict = (enum proto_verdict)verdict;
	return true;
}

/* Reads the current row of a statement selecting AUDIT_COLS. */
static void
audit_row_read(sqlite3_stmt *st, struct audit_row *r)
{
	struct eng_audit *a = &r->e.a;

	memset(r, 0, sizeof(*r));
	r->seq = sqlite3_column_int64(st, 0);
	r->e.seq = (uint64_t)r->seq;
	a->has_cti = sqlite3_column_type(st, 4) != SQLITE_NULL;
	r->ok = sqlite3_column_type(st, 0) == SQLITE_INTEGER &&
	    audit_ints(st, a) &&
	    (!a->has_cti || col_blob(st, 4, a->cti, PROTO_CTI_LEN)) &&
	    col_text(st, 5, a->level, sizeof(a->level)) &&
	    col_text(st, 6, a->operator_id, sizeof(a->operator_id)) &&
	    col_text(st, 11, a->codes, sizeof(a->codes)) &&
	    col_text(st, 12, a->access, sizeof(a->access)) &&
	    col_blob(st, 13, r->e.prev, STORE_HASH_LEN) &&
	    col_blob(st, 14, r->e.hash, STORE_HASH_LEN);
}

int
store_audit_each(struct store *s, store_audit_fn fn, void *ctx,
    struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[ST_AUDIT_EACH];
	struct audit_row r;
	char what[64];
	int rc, ret = 0;

	assert(s != NULL && fn != NULL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		audit_row_read(st, &r);
		if (!r.ok) {
			snprintf(what, sizeof(what), "audit entry %" PRId64,
			    r.seq);
			ret = store_bad_row(s, "store_audit_each", what, diag);
			break;
		}
		ret = fn(ctx, &r.e);
		if (ret != 0) {
			ret = walk_stopped("store_audit_each", ret, diag);
			break;
		}
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_fail(s, rc, "store_audit_each", diag);
	sqlite3_reset(st);
	return ret;
}

/* Audit verification (the rules are at the top of this file). */

struct verify {
	struct store *s;
	struct store_audit_report *rep;
	struct mrx_diag *diag;
	bool has_head;				/* meta holds a head */
	bool head_ok;				/* of the right types */
	uint64_t head_seq;
	uint8_t head_hash[STORE_HASH_LEN];
	uint64_t expect;			/* seq of the next row */
	uint8_t ph[STORE_HASH_LEN];		/* hash of row expect - 1 */
	uint8_t pph[STORE_HASH_LEN];		/* hash of row expect - 2 */
	int err;				/* first hash failure */
};

/* Whether r's prev and fields, written as entry seq, make r's hash. */
static bool
row_made_at(struct verify *v, const struct audit_row *r, uint64_t seq)
{
	uint8_t h[STORE_HASH_LEN];

	if (audit_hash(r->e.prev, seq, &r->e.a, h) != 0) {
		v->err = MRX_ECRYPTO;
		return false;
	}
	return memcmp(h, r->e.hash, STORE_HASH_LEN) == 0;
}

static int
verdict(struct verify *v, enum store_audit_problem p, uint64_t seq,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Records the problem; returns 1 so that the walk stops. */
static int
verdict(struct verify *v, enum store_audit_problem p, uint64_t seq,
    const char *fmt, ...)
{
	va_list ap;

	v->rep->problem = p;
	v->rep->seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->rep->message, sizeof(v->rep->message), fmt, ap);
	va_end(ap);
	return 1;
}

/* Row at seq: 0 found, MRX_ENOENT, or an error. */
static int
row_at(struct verify *v, int64_t seq, struct audit_row *r)
{
	sqlite3_stmt *st = v->s->st[ST_AUDIT_AT];
	int rc;

	sqlite3_bind_int64(st, 1, seq);
	rc = stmt_row(v->s, ST_AUDIT_AT, "store_audit_verify", v->diag);
	if (rc != 0)
		return rc;
	audit_row_read(st, r);
	sqlite3_reset(st);
	return 0;
}

/* The lowest seq whose stored hash is h: 0 found, MRX_ENOENT, an error. */
static int
seq_of_hash(struct verify *v, const uint8_t h[STORE_HASH_LEN], int64_t *seq)
{
	sqlite3_stmt *st = v->s->st[ST_AUDIT_BY_HASH];
	int rc;

	bind_blob(st, 1, h, STORE_HASH_LEN);
	rc = stmt_row(v->s, ST_AUDIT_BY_HASH, "store_audit_verify", v->diag);
	if (rc != 0)
		return rc;
	*seq = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

/* Whether the row after r (or the head, for the last row) links to r. */
static int
next_links_to(struct verify *v, const struct audit_row *r,
    const uint8_t h[STORE_HASH_LEN], bool *links)
{
	struct audit_row n;
	int rc;

	*links = false;
	rc = row_at(v, r->seq + 1, &n);
	if (rc == MRX_ENOENT) {
		*links = v->head_ok && v->head_seq == r->e.seq &&
		    memcmp(v->head_hash, h, STORE_HASH_LEN) == 0;
		return 0;
	}
	if (rc == 0)
		*links = n.ok && memcmp(n.e.prev, h, STORE_HASH_LEN) == 0;
	return rc;
}

/*
 * A row consistent for another seq `from`: swapped with the row there,
 * or moved by a deletion or insertion before it.
 */
static int
judge_moved(struct verify *v, const struct audit_row *r, uint64_t from)
{
	struct audit_row o;
	int rc;

	rc = row_at(v, (int64_t)from, &o);
	if (rc != 0 && rc != MRX_ENOENT)
		return rc;
	if (rc == 0 && o.ok && row_made_at(v, &o, r->e.seq))
		return verdict(v, STORE_AUDIT_REORDERED, r->e.seq, "entries "
		    "%" PRIu64 " and %" PRIu64 " have swapped places",
		    r->e.seq, from);
	if (from > r->e.seq)
		return verdict(v, STORE_AUDIT_DELETED, r->e.seq, "entry "
		    "%" PRIu64 " holds the entry written as %" PRIu64 ": "
		    "entries were deleted and the rest renumbered", r->e.seq,
		    from);
	return verdict(v, STORE_AUDIT_INSERTED, from, "entry %" PRIu64
	    " holds the entry written as %" PRIu64 ": entries were inserted "
	    "from %" PRIu64 " on", r->e.seq, from, from);
}

/* Looks for the seq this row was written at, near its own. */
static bool
find_origin(struct verify *v, const struct audit_row *r, uint64_t *from)
{
	uint64_t d, seq = r->e.seq;

	for (d = 1; d <= STORE_AUDIT_MOVE_MAX; d++) {
		if (row_made_at(v, r, seq + d)) {
			*from = seq + d;
			return true;
		}
		if (d < seq && row_made_at(v, r, seq - d)) {
			*from = seq - d;
			return true;
		}
	}
	return false;
}

/* A row whose prev is not its predecessor's hash. */
static int
judge_unlinked(struct verify *v, const struct audit_row *r, bool selfok)
{
	uint64_t seq = r->e.seq;
	bool links;
	int64_t t;
	int rc;

	rc = seq_of_hash(v, r->e.prev, &t);
	if (rc == 0 && (uint64_t)t + 2 == seq)
		return verdict(v, STORE_AUDIT_INSERTED, seq - 1, "entry "
		    "%" PRIu64 " chains to entry %" PRId64 ": entry %" PRIu64
		    " was inserted", seq, t, seq - 1);
	if (rc == 0)
		return verdict(v, STORE_AUDIT_REORDERED, seq, "entry %" PRIu64
		    " chains to entry %" PRId64 " instead of %" PRIu64 ": "
		    "entries are out of order", seq, t, seq - 1);
	if (rc != MRX_ENOENT)
		return rc;
	rc = next_links_to(v, r, r->e.hash, &links);
	if (rc != 0)
		return rc;
	if (links && selfok)
		return verdict(v, STORE_AUDIT_DELETED, seq, "entry %" PRIu64
		    " was written after an entry that is no longer stored",
		    seq);
	if (links)
		return verdict(v, STORE_AUDIT_EDITED, seq, "the link of entry "
		    "%" PRIu64 " to its predecessor was changed", seq);
	return verdict(v, STORE_AUDIT_INSERTED, seq, "entry %" PRIu64 " does "
	    "not chain to any stored entry", seq);
}

/* Whether r's fields, with a later row's prev and seq, make its hash. */
static int
fields_belong_later(struct verify *v, const struct audit_row *r,
    uint64_t *at)
{
	sqlite3_stmt *st = v->s->st[ST_AUDIT_AFTER];
	struct audit_row o, m;
	int rc;

	sqlite3_bind_int64(st, 1, r->seq);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		audit_row_read(st, &o);
		if (!o.ok)
			continue;
		m = o;
		m.e.a = r->e.a;
		if (row_made_at(v, &m, o.e.seq)) {
			*at = o.e.seq;
			sqlite3_reset(st);
			return 0;
		}
	}
	rc = rc == SQLITE_DONE ? MRX_ENOENT :
	    store_fail(v->s, rc, "store_audit_verify", v->diag);
	sqlite3_reset(st);
	return rc;
}

/* A row that chains to its predecessor but fails its own hash. */
static int
judge_linked(struct verify *v, const struct audit_row *r)
{
	uint64_t seq = r->e.seq, at = 0;
	struct audit_row n;
	int rc;

	rc = row_at(v, r->seq + 1, &n);
	if (rc != 0 && rc != MRX_ENOENT)
		return rc;
	if (rc == 0 && n.ok && memcmp(n.e.prev, v->ph, STORE_HASH_LEN) == 0)
		return verdict(v, STORE_AUDIT_INSERTED, seq, "the chain skips "
		    "entry %" PRIu64 ": it was inserted", seq);
	rc = fields_belong_later(v, r, &at);
	if (rc == 0)
		return verdict(v, STORE_AUDIT_REORDERED, seq, "entry %" PRIu64
		    " holds the fields of entry %" PRIu64, seq, at);
	if (rc != MRX_ENOENT)
		return rc;
	return verdict(v, STORE_AUDIT_EDITED, seq, "entry %" PRIu64 " no "
	    "longer matches its hash: a field was edited", seq);
}

/* Checks one row in seq order: 0 to go on, 1 on a verdict, or an error. */
static int
verify_row(struct verify *v, const struct audit_row *r)
{
	uint8_t h[STORE_HASH_LEN];
	uint64_t from;
	bool links, selfok;

	if (r->seq < 1)
		return verdict(v, STORE_AUDIT_INSERTED, 0, "an entry with seq "
		    "%" PRId64 " precedes the first", r->seq);
	if (v->head_ok && v->has_head && r->e.seq > v->head_seq)
		return verdict(v, STORE_AUDIT_INSERTED, r->e.seq, "entry "
		    "%" PRIu64 " lies beyond the head (%" PRIu64 ") recorded "
		    "in meta", r->e.seq, v->head_seq);
	if (r->e.seq > v->expect)
		return verdict(v, STORE_AUDIT_DELETED, v->expect, "entries "
		    "%" PRIu64 " to %" PRIu64 " are missing", v->expect,
		    r->e.seq - 1);
	if (!r->ok)
		return verdict(v, STORE_AUDIT_EDITED, r->e.seq, "entry "
		    "%" PRIu64 " has a value of the wrong type or out of range",
		    r->e.seq);
	if (audit_hash(r->e.prev, r->e.seq, &r->e.a, h) != 0)
		return mrx_diag_set(v->diag, MRX_ECRYPTO, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "store_audit_verify: SHA-256 failed");
	links = memcmp(r->e.prev, v->ph, STORE_HASH_LEN) == 0;
	selfok = memcmp(h, r->e.hash, STORE_HASH_LEN) == 0;
	if (links && selfok) {
		memcpy(v->pph, v->ph, STORE_HASH_LEN);
		memcpy(v->ph, h, STORE_HASH_LEN);
		v->expect++;
		return 0;
	}
	if (!selfok && find_origin(v, r, &from))
		return judge_moved(v, r, from);
	if (!links)
		return judge_unlinked(v, r, selfok);
	return judge_linked(v, r);
}

/* After the last row: the head in meta must name it. */
static int
verify_head(struct verify *v)
{
	uint64_t last = v->expect - 1;

	if (!v->head_ok)
		return verdict(v, STORE_AUDIT_EDITED, last, "the audit head in "
		    "meta has the wrong type");
	if (!v->has_head && last > 0)
		return verdict(v, STORE_AUDIT_DELETED, last, "the audit head "
		    "is missing from meta while %" PRIu64 " entries are stored",
		    last);
	if (v->head_seq > last)
		return verdict(v, STORE_AUDIT_DELETED, last + 1, "entries "
		    "%" PRIu64 " to %" PRIu64 " are missing: the head in meta "
		    "is %" PRIu64, last + 1, v->head_seq, v->head_seq);
	if (memcmp(v->head_hash, v->ph, STORE_HASH_LEN) != 0)
		return verdict(v, STORE_AUDIT_EDITED, last, "the head hash in "
		    "meta does not match entry %" PRIu64, last);
	return 0;
}

static int
verify_walk(struct verify *v)
{
	sqlite3_stmt *st = v->s->st[ST_AUDIT_EACH];
	struct audit_row r;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		audit_row_read(st, &r);
		v->rep->entries++;
		rc = verify_row(v, &r);
		if (rc != 0) {
			sqlite3_reset(st);
			return rc;
		}
	}
	rc = rc == SQLITE_DONE ? verify_head(v) :
	    store_fail(v->s, rc, "store_audit_verify", v->diag);
	sqlite3_reset(st);
	return rc;
}

int
store_audit_verify(struct store *s, struct store_audit_report *out,
    struct mrx_diag *diag)
{
	struct verify v;
	bool own = !s->in_tx;
	int rc;

	assert(s != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	memset(&v, 0, sizeof(v));
	v.s = s;
	v.rep = out;
	v.diag = diag;
	v.expect = 1;
	/* One snapshot for the whole walk, even while mrxd appends. */
	if (own && (rc = stmt_run(s, ST_BEGIN_READ, "store_audit_verify",
	    diag)) != 0)
		return rc;
	rc = head_load(s, &v.head_seq, v.head_hash, &v.has_head, &v.head_ok,
	    diag);
	if (rc == 0 && s->head_dirty) {
		/* inside a transaction: meta gets this head at its commit */
		v.has_head = v.head_ok = true;
		v.head_seq = s->head_seq;
		memcpy(v.head_hash, s->head_hash, STORE_HASH_LEN);
	}
	if (rc == 0)
		rc = verify_walk(&v);
	if (own && !sqlite3_get_autocommit(s->db))
		stmt_run(s, ST_ROLLBACK, "store_audit_verify", NULL);
	if (rc >= 0 && v.err != 0)
		rc = mrx_diag_set(diag, v.err, MRX_DIAG_NO_OFFSET, STORE_FIELD,
		    "store_audit_verify: SHA-256 failed");
	if (rc < 0)
		return rc;
	if (out->problem == STORE_AUDIT_OK)
		snprintf(out->message, sizeof(out->message), "%" PRIu64 " "
		    "entries chain from seq 1 to the head in meta",
		    out->entries);
	return 0;
}

/* Annual report */

/* Days from 1970-01-01 to year-01-01 in the proleptic Gregorian calendar. */
static int64_t
days_to_year(int64_t y)
{
	int64_t era, yoe;

	y -= 1;		/* March-based years: January is in year - 1 */
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	/* 306 = days from March 1 to January 1 of the next year */
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + 306 - 719468;
}

static void
report_add(struct store_annual *out, int64_t kind, int64_t type,
    int64_t status, int64_t reason, int64_t verdict_v, uint64_t n)
{
	bool reason_ok = reason >= 0 && reason < PROTO_REASON_COUNT;

	if (kind == ENG_AUDIT_ISSUE && type == PROTO_REC_CLEARANCE)
		out->clearances_issued += n;
	else if (kind == ENG_AUDIT_ISSUE && type == PROTO_REC_OPERATOR)
		out->operators_certified += n;
	else if (kind == ENG_AUDIT_DECISION && verdict_v >= PROTO_ACCEPT &&
	    verdict_v <= PROTO_INDETERMINATE)
		out->decisions[verdict_v] += n;
	if (kind != ENG_AUDIT_STATUS)
		return;
	if (type == PROTO_REC_OPERATOR && status == PROTO_STATUS_REVOKED) {
		out->operators_revoked += n;
	} else if (type == PROTO_REC_CLEARANCE) {
		if (status == PROTO_STATUS_VALID) {
			out->clearances_reinstated += n;
		} else if (status == PROTO_STATUS_REVOKED) {
			out->clearances_revoked += n;
			if (reason_ok)
				out->revoked_by_reason[reason] += n;
		} else if (status == PROTO_STATUS_SUSPENDED) {
			out->clearances_suspended += n;
			if (reason_ok)
				out->suspended_by_reason[reason] += n;
		}
	}
}

int
store_report_annual(struct store *s, int year, struct store_annual *out,
    struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[ST_REPORT];
	int rc;

	assert(s != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	if (year < 1 || year > 9999)
		return store_bad_arg("store_report_annual",
		    "year out of 1..9999", diag);
	out->year = year;
	sqlite3_bind_int64(st, 1, days_to_year(year) * 86400);
	sqlite3_bind_int64(st, 2, days_to_year(year + 1) * 86400);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		report_add(out, sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
		    sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4),
		    (uint64_t)sqlite3_column_int64(st, 5));
	rc = rc == SQLITE_DONE ? 0 :
	    store_fail(s, rc, "store_report_annual", diag);
	sqlite3_reset(st);
	return rc;
}

/* Federation (schema version 2) */

#define STORE_BYTES_MAX PROTO_STATUS_LIST_MAX	/* a list, the largest */

/*
 * A write refused before it touched the file still fails the caller's
 * transaction: the turn it belongs to is incomplete all the same.
 */
static int
write_refused(struct store *s, int rc)
{
	if (s->in_tx)
		s->tx_failed = true;
	return rc;
}

static int
arg_null(const char *op, const char *name, const void *p,
    struct mrx_diag *diag)
{
	if (p != NULL)
		return 0;
	return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET, STORE_FIELD,
	    "%s: %s is NULL", op, name);
}

/* A callback argument (function pointers do not convert to void *). */
static int
arg_fn(const char *op, bool present, struct mrx_diag *diag)
{
	return present ? 0 : arg_null(op, "fn", NULL, diag);
}

/* A string argument: non-NULL, 1..max bytes. */
static int
arg_str(const char *op, const char *name, const char *v, size_t max,
    struct mrx_diag *diag)
{
	int rc = arg_null(op, name, v, diag);

	if (rc != 0)
		return rc;
	if (v[0] == '\0')
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "%s: %s is empty", op, name);
	if (strnlen(v, max + 1) > max)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "%s: %s is longer than %zu bytes", op, name,
		    max);
	return 0;
}

/* A feed's (issuer, uri). */
static int
arg_feed(const char *op, const char *issuer, const char *uri,
    struct mrx_diag *diag)
{
	int rc = arg_str(op, "issuer", issuer, PROTO_ID_MAX, diag);

	return rc != 0 ? rc : arg_str(op, "uri", uri, PROTO_URI_MAX, diag);
}

/* Record bytes to store: 1..STORE_BYTES_MAX of them. */
static int
arg_bytes(const char *op, const char *name, const uint8_t *b, size_t len,
    struct mrx_diag *diag)
{
	int rc = arg_null(op, name, b, diag);

	if (rc != 0)
		return rc;
	if (len == 0)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "%s: %s is empty", op, name);
	if (len > STORE_BYTES_MAX)
		return mrx_diag_set(diag, MRX_ETOOBIG, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "%s: %s of %zu bytes, over %u", op, name, len,
		    STORE_BYTES_MAX);
	return 0;
}

static int
arg_seq(const char *op, uint64_t seq, struct mrx_diag *diag)
{
	if (seq <= INT64_MAX)
		return 0;
	return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET, STORE_FIELD,
	    "%s: seq %" PRIu64 " is over %" PRId64, op, seq, INT64_MAX);
}

static int64_t
clamp_i64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Record bytes in column i, as a store_* call could have written them. */
static bool
col_bytes(sqlite3_stmt *st, int i, const uint8_t **p, size_t *n)
{
	int len;

	if (sqlite3_column_type(st, i) != SQLITE_BLOB)
		return false;
	*p = sqlite3_column_blob(st, i);
	len = sqlite3_column_bytes(st, i);
	if (*p == NULL || len < 1 || (size_t)len > STORE_BYTES_MAX)
		return false;
	*n = (size_t)len;
	return true;
}

/* Walks rows of (seq, bytes) of a bound statement through fn. */
static int
walk_bytes(struct store *s, enum stmt_id id, const char *op,
    store_bytes_fn fn, void *ctx, struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[id];
	const uint8_t *b;
	int64_t seq;
	size_t len;
	int rc, ret = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!col_int(st, 0, 0, INT64_MAX, &seq) ||
		    !col_bytes(st, 1, &b, &len)) {
			ret = store_bad_row(s, op, "a delta row", diag);
			break;
		}
		ret = fn(ctx, (uint64_t)seq, b, len);
		if (ret != 0) {
			ret = walk_stopped(op, ret, diag);
			break;
		}
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_fail(s, rc, op, diag);
	sqlite3_reset(st);
	return ret;
}

int
store_deltas_range(struct store *s, const char *uri, uint64_t from,
    uint64_t to, size_t max, store_bytes_fn fn, void *ctx,
    struct mrx_diag *diag)
{
	const char *op = "store_deltas_range";
	sqlite3_stmt *st = s->st[ST_DELTA_RANGE];
	int rc;

	assert(s != NULL);
	rc = arg_str(op, "uri", uri, PROTO_URI_MAX, diag);
	if (rc == 0)
		rc = arg_fn(op, fn != NULL, diag);
	if (rc != 0)
		return rc;
	/* no stored seq is above INT64_MAX: clamping `to` loses nothing */
	if (from > to || from > INT64_MAX || max == 0)
		return 0;
	bind_text(st, 1, uri);
	sqlite3_bind_int64(st, 2, (int64_t)from);
	sqlite3_bind_int64(st, 3, clamp_i64(to));
	sqlite3_bind_int64(st, 4, clamp_i64(max));
	return walk_bytes(s, ST_DELTA_RANGE, op, fn, ctx, diag);
}

/* Foreign feeds */

static int
feed_check(const char *issuer, const char *uri, enum store_feed_kind kind,
    uint64_t seq, const uint8_t *b, size_t len, struct mrx_diag *diag)
{
	const char *op = "store_put_feed";
	int rc;

	rc = arg_feed(op, issuer, uri, diag);
	if (rc != 0)
		return rc;
	if (kind != STORE_FEED_LIST && kind != STORE_FEED_DELTA)
		return mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "%s: kind %d is neither STORE_FEED_LIST nor "
		    "STORE_FEED_DELTA", op, (int)kind);
	rc = arg_seq(op, seq, diag);
	return rc != 0 ? rc : arg_bytes(op, "b", b, len, diag);
}

static void
bind_feed(sqlite3_stmt *st, const char *issuer, const char *uri)
{
	bind_text(st, 1, issuer);
	bind_text(st, 2, uri);
}

/* The seq of the feed's stored list: 0, MRX_ENOENT, or an error. */
static int
feed_list_seq(struct store *s, const char *issuer, const char *uri,
    int64_t *seq, const char *op, struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[ST_FEED_LIST_SEQ];
	bool ok;
	int rc;

	bind_feed(st, issuer, uri);
	rc = stmt_row(s, ST_FEED_LIST_SEQ, op, diag);
	if (rc != 0)
		return rc;
	ok = col_int(st, 0, 0, INT64_MAX, seq);
	sqlite3_reset(st);
	return ok ? 0 : write_refused(s, store_bad_row(s, op, "a feed row",
	    diag));
}

/* A list replaces the stored one unless that is newer. */
static int
feed_put_list(struct store *s, const char *issuer, const char *uri,
    uint64_t seq, const uint8_t *b, size_t len, struct mrx_diag *diag)
{
	const char *op = "store_put_feed";
	sqlite3_stmt *st;
	int64_t held = 0;
	int rc;

	rc = feed_list_seq(s, issuer, uri, &held, op, diag);
	if (rc == 0 && (uint64_t)held > seq)
		return 0;
	if (rc != 0 && rc != MRX_ENOENT)
		return rc;
	st = s->st[ST_FEED_PRUNE];
	bind_feed(st, issuer, uri);
	sqlite3_bind_int64(st, 3, (int64_t)seq);
	rc = stmt_run(s, ST_FEED_PRUNE, op, diag);
	if (rc != 0)
		return rc;
	st = s->st[ST_FEED_PUT_LIST];
	bind_feed(st, issuer, uri);
	sqlite3_bind_int64(st, 3, (int64_t)seq);
	bind_blob(st, 4, b, len);
	return stmt_run(s, ST_FEED_PUT_LIST, op, diag);
}

/* A delta is stored unless the list or a delta already covers its seq. */
static int
feed_put_delta(struct store *s, const char *issuer, const char *uri,
    uint64_t seq, const uint8_t *b, size_t len, struct mrx_diag *diag)
{
	sqlite3_stmt *st = s->st[ST_FEED_PUT_DELTA];

	bind_feed(st, issuer, uri);
	sqlite3_bind_int64(st, 3, (int64_t)seq);
	bind_blob(st, 4, b, len);
	return stmt_run(s, ST_FEED_PUT_DELTA, "store_put_feed", diag);
}

int
store_put_feed(struct store *s, const char *issuer, const char *uri,
    enum store_feed_kind kind, uint64_t seq, const uint8_t *b, size_t len,
    struct mrx_diag *diag)
{
	const char *op = "store_put_feed";
	bool own;
	int rc;

	assert(s != NULL);
	rc = feed_check(issuer, uri, kind, seq, b, len, diag);
	if (rc != 0)
		return write_refused(s, rc);
	rc = op_begin(s, &own, op, diag);
	if (rc != 0)
		return rc;
	if (kind == STORE_FEED_LIST)
		rc = feed_put_list(s, issuer, uri, seq, b, len, diag);
	else
		rc = feed_put_delta(s, issuer, uri, seq, b, len, diag);
	return op_end(s, own, rc, op, diag);
}

int
store_feed_list(struct store *s, const char *issuer, const char *uri,
    uint8_t **b, size_t *len, uint64_t *seq, struct mrx_diag *diag)
{
	const char *op = "store_feed_list";
	sqlite3_stmt *st = s->st[ST_FEED_LIST_GET];
	const uint8_t *p = NULL;
	int64_t v = 0;
	size_t n = 0;
	int rc;

	assert(s != NULL);
	if (b != NULL)
		*b = NULL;
	if (len != NULL)
		*len = 0;
	if (seq != NULL)
		*seq = 0;
	rc = arg_feed(op, issuer, uri, diag);
	if (rc == 0)
		rc = arg_null(op, "b", b, diag);
	if (rc == 0)
		rc = arg_null(op, "len", len, diag);
	if (rc == 0)
		rc = arg_null(op, "seq", seq, diag);
	if (rc != 0)
		return rc;
	bind_feed(st, issuer, uri);
	rc = stmt_row(s, ST_FEED_LIST_GET, op, diag);
	if (rc != 0)
		return rc;
	if (!col_int(st, 0, 0, INT64_MAX, &v) || !col_bytes(st, 1, &p, &n))
		rc = store_bad_row(s, op, "a feed row", diag);
	else if ((*b = malloc(n)) == NULL)
		rc = mrx_diag_set(diag, MRX_ENOMEM, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "%s: out of memory for %zu bytes", op, n);
	if (rc == 0) {
		memcpy(*b, p, n);
		*len = n;
		*seq = (uint64_t)v;
	}
	sqlite3_reset(st);
	return rc;
}

int
store_feed_deltas(struct store *s, const char *issuer, const char *uri,
    uint64_t from, size_t max, store_bytes_fn fn, void *ctx,
    struct mrx_diag *diag)
{
	const char *op = "store_feed_deltas";
	sqlite3_stmt *st = s->st[ST_FEED_DELTAS];
	int rc;

	assert(s != NULL);
	rc = arg_feed(op, issuer, uri, diag);
	if (rc == 0)
		rc = arg_fn(op, fn != NULL, diag);
	if (rc != 0)
		return rc;
	if (from > INT64_MAX || max == 0)
		return 0;
	bind_feed(st, issuer, uri);
	sqlite3_bind_int64(st, 3, (int64_t)from);
	sqlite3_bind_int64(st, 4, clamp_i64(max));
	return walk_bytes(s, ST_FEED_DELTAS, op, fn, ctx, diag);
}

/* A row of ST_FEED_LOAD, checked. */
struct feed_row {
	char issuer[PROTO_ID_MAX + 1];
	char uri[PROTO_URI_MAX + 1];
	enum store_feed_kind kind;
	int64_t seq;
	const uint8_t *b;			/* points into the row */
	size_t len;
};

static bool
feed_row_read(sqlite3_stmt *st, struct feed_row *r)
{
	int64_t kind;

	if (!col_text(st, 0, r->issuer, sizeof(r->issuer)) ||
	    !col_text(st, 1, r->uri, sizeof(r->uri)) ||
	    !col_int(st, 2, STORE_FEED_LIST, STORE_FEED_DELTA, &kind) ||
	    !col_int(st, 3, 0, INT64_MAX, &r->seq) ||
	    !col_bytes(st, 4, &r->b, &r->len) ||
	    r->issuer[0] == '\0' || r->uri[0] == '\0')
		return false;
	r->kind = (enum store_feed_kind)kind;
	return true;
}

int
store_load_feeds(struct store *s, store_feed_fn fn, void *ctx,
    struct mrx_diag *diag)
{
	const char *op = "store_load_feeds";
	sqlite3_stmt *st = s->st[ST_FEED_LOAD];
	struct feed_row r;
	int rc, ret = 0;

	assert(s != NULL);
	rc = arg_fn(op, fn != NULL, diag);
	if (rc != 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!feed_row_read(st, &r)) {
			ret = store_bad_row(s, op, "a feed row", diag);
			break;
		}
		ret = fn(ctx, r.issuer, r.uri, r.kind, (uint64_t)r.seq, r.b,
		    r.len);
		if (ret != 0) {
			ret = walk_stopped(op, ret, diag);
			break;
		}
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_fail(s, rc, op, diag);
	sqlite3_reset(st);
	return ret;
}

/* Trust records */

/* The record types that extend trust at run time (store.h). */
static bool
trust_type_ok(long long type)
{
	return type == PROTO_REC_DELEGATION || type == PROTO_REC_OPERATOR ||
	    type == PROTO_REC_AGREEMENT || type == PROTO_REC_KEY_REVOCATION;
}

int
store_put_trust(struct store *s, enum proto_rec_type type,
    const uint8_t hash[PROTO_HASH_LEN], const uint8_t *b, size_t len,
    int64_t time, struct mrx_diag *diag)
{
	const char *op = "store_put_trust";
	sqlite3_stmt *st = s->st[ST_TRUST_PUT];
	bool own;
	int rc = 0;

	assert(s != NULL);
	if (!trust_type_ok(type))
		rc = mrx_diag_set(diag, MRX_EINVAL, MRX_DIAG_NO_OFFSET,
		    STORE_FIELD, "%s: type %d is not a delegation, operator "
		    "certification, agreement or key revocation", op,
		    (int)type);
	if (rc == 0)
		rc = arg_null(op, "hash", hash, diag);
	if (rc == 0)
		rc = arg_bytes(op, "b", b, len, diag);
	if (rc != 0)
		return write_refused(s, rc);
	rc = op_begin(s, &own, op, diag);
	if (rc != 0)
		return rc;
	bind_blob(st, 1, hash, PROTO_HASH_LEN);
	sqlite3_bind_int(st, 2, (int)type);
	sqlite3_bind_int64(st, 3, time);
	bind_blob(st, 4, b, len);
	rc = stmt_run(s, ST_TRUST_PUT, op, diag);
	return op_end(s, own, rc, op, diag);
}

int
store_load_trust(struct store *s, store_trust_fn fn, void *ctx,
    struct mrx_diag *diag)
{
	const char *op = "store_load_trust";
	sqlite3_stmt *st = s->st[ST_TRUST_LOAD];
	const uint8_t *b;
	int64_t type;
	size_t len;
	int rc, ret = 0;

	assert(s != NULL);
	rc = arg_fn(op, fn != NULL, diag);
	if (rc != 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!col_int(st, 0, PROTO_REC_DELEGATION,
		    PROTO_REC_KEY_REVOCATION, &type) || !trust_type_ok(type) ||
		    !col_bytes(st, 1, &b, &len)) {
			ret = store_bad_row(s, op, "a trust row", diag);
			break;
		}
		ret = fn(ctx, (enum proto_rec_type)type, b, len);
		if (ret != 0) {
			ret = walk_stopped(op, ret, diag);
			break;
		}
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_fail(s, rc, op, diag);
	sqlite3_reset(st);
	return ret;
}

/* Equivocation evidence */

/* One side of the evidence: absent (NULL, 0) or 1..STORE_BYTES_MAX. */
static int
evidence_side(const char *name, const uint8_t *p, size_t len,
    struct mrx_diag *diag)
{
	if (p == NULL && len == 0)
		return 0;
	return arg_bytes("store_put_evidence", name, p, len, diag);
}

static int
evidence_check(const struct eng_evidence *ev, struct mrx_diag *diag)
{
	const char *op = "store_put_evidence";
	int rc;

	rc = arg_null(op, "ev", ev, diag);
	if (rc != 0)
		return rc;
	if (!str_ok(ev->issuer, sizeof(ev->issuer)) ||
	    !str_ok(ev->uri, sizeof(ev->uri)))
		return store_bad_arg(op, "ev->issuer or ev->uri is not "
		    "terminated", diag);
	rc = arg_str(op, "ev->issuer", ev->issuer, PROTO_ID_MAX, diag);
	if (rc == 0)
		rc = arg_str(op, "ev->uri", ev->uri, PROTO_URI_MAX, diag);
	if (rc == 0)
		rc = arg_seq(op, ev->seq, diag);
	if (rc == 0)
		rc = evidence_side("ev->held", ev->held, ev->held_len, diag);
	if (rc == 0)
		rc = evidence_side("ev->got", ev->got, ev->got_len, diag);
	return rc;
}

static void
bind_side(sqlite3_stmt *st, int i, const uint8_t *p, size_t len)
{
	if (p == NULL)
		sqlite3_bind_null(st, i);
	else
		bind_blob(st, i, p, len);
}

int
store_put_evidence(struct store *s, const struct eng_evidence *ev,
    int64_t time, struct mrx_diag *diag)
{
	const char *op = "store_put_evidence";
	sqlite3_stmt *st = s->st[ST_EVIDENCE_PUT];
	bool own;
	int rc;

	assert(s != NULL);
	rc = evidence_check(ev, diag);
	if (rc != 0)
		return write_refused(s, rc);
	rc = op_begin(s, &own, op, diag);
	if (rc != 0)
		return rc;
	bind_feed(st, ev->issuer, ev->uri);
	sqlite3_bind_int64(st, 3, (int64_t)ev->seq);
	sqlite3_bind_int64(st, 4, time);
	bind_blob(st, 5, ev->held_hash, PROTO_HASH_LEN);
	bind_blob(st, 6, ev->got_hash, PROTO_HASH_LEN);
	bind_side(st, 7, ev->held, ev->held_len);
	bind_side(st, 8, ev->got, ev->got_len);
	rc = stmt_run(s, ST_EVIDENCE_PUT, op, diag);
	return op_end(s, own, rc, op, diag);
}

int
store_count_evidence(struct store *s, uint64_t *n, struct mrx_diag *diag)
{
	const char *op = "store_count_evidence";
	int rc;

	assert(s != NULL);
	rc = arg_null(op, "n", n, diag);
	if (rc != 0)
		return rc;
	*n = 0;
	rc = stmt_row(s, ST_EVIDENCE_COUNT, op, diag);
	if (rc != 0)
		return rc;
	*n = (uint64_t)sqlite3_column_int64(s->st[ST_EVIDENCE_COUNT], 0);
	sqlite3_reset(s->st[ST_EVIDENCE_COUNT]);
	return 0;
}

int
store_load_evidence(struct store *s, store_evidence_fn fn, void *ctx,
    struct mrx_diag *diag)
{
	const char *op = "store_load_evidence";
	sqlite3_stmt *st = s->st[ST_EVIDENCE_EACH];
	char issuer[PROTO_ID_MAX + 1], uri[PROTO_URI_MAX + 1];
	int64_t seq;
	int rc, ret = 0;

	assert(s != NULL && fn != NULL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!col_text(st, 0, issuer, sizeof(issuer)) ||
		    !col_text(st, 1, uri, sizeof(uri)) ||
		    !col_int(st, 2, 0, INT64_MAX, &seq)) {
			ret = store_bad_row(s, op, "an evidence row", diag);
			break;
		}
		ret = fn(ctx, issuer, uri, (uint64_t)seq);
		if (ret != 0) {
			ret = walk_stopped(op, ret, diag);
			break;
		}
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_fail(s, rc, op, diag);
	sqlite3_reset(st);
	return ret;
}

/* Blinded keys */

static int
blind_check(const char *op, const char *agreement, const uint8_t *key,
    const uint8_t *cti, struct mrx_diag *diag)
{
	int rc = arg_str(op, "agreement", agreement, PROTO_SUB_MAX, diag);

	if (rc == 0)
		rc = arg_null(op, "key", key, diag);
	if (rc == 0)
		rc = arg_null(op, "cti", cti, diag);
	return rc;
}

int
store_put_blind(struct store *s, const char *agreement,
    const uint8_t key[32], const uint8_t cti[PROTO_CTI_LEN],
    struct mrx_diag *diag)
{
	const char *op = "store_put_blind";
	sqlite3_stmt *st = s->st[ST_BLIND_PUT];
	bool own;
	int rc;

	assert(s != NULL);
	rc = blind_check(op, agreement, key, cti, diag);
	if (rc != 0)
		return write_refused(s, rc);
	rc = op_begin(s, &own, op, diag);
	if (rc != 0)
		return rc;
	bind_text(st, 1, agreement);
	bind_blob(st, 2, key, 32);
	bind_blob(st, 3, cti, PROTO_CTI_LEN);
	rc = stmt_run(s, ST_BLIND_PUT, op, diag);
	return op_end(s, own, rc, op, diag);
}

int
store_find_blind(struct store *s, const char *agreement,
    const uint8_t key[32], uint8_t cti[PROTO_CTI_LEN], struct mrx_diag *diag)
{
	const char *op = "store_find_blind";
	sqlite3_stmt *st = s->st[ST_BLIND_FIND];
	int rc;

	assert(s != NULL);
	rc = blind_check(op, agreement, key, cti, diag);
	if (rc != 0)
		return rc;
	bind_text(st, 1, agreement);
	bind_blob(st, 2, key, 32);
	rc = stmt_row(s, ST_BLIND_FIND, op, diag);
	if (rc != 0)
		return rc;
	if (!col_blob(st, 0, cti, PROTO_CTI_LEN))
		rc = store_bad_row(s, op, "a blinded key row", diag);
	sqlite3_reset(st);
	return rc;
}
