#!/usr/bin/python3
"""
test_powercut.py - an acknowledged change survives a power cut, not only
kill -9.

SIGKILL loses nothing the process wrote (the page cache keeps it), so
test_crash.py cannot see a reply sent before its commit reached the disk.
Here mrxd runs with tests/powercut.c preloaded (MRX_POWERCUT_LIB), which
keeps, at every fsync/fdatasync of mrx.db or mrx.db-wal, a copy of what is
then certainly on disk. CUTS times: eight client threads stream issuances
and status changes for a while, mrxd is SIGKILLed, and the data directory
is set back to those copies (mrx.db-shm removed), as a power cut could
have left it; mrxd restarts on that. Then:

  - every acknowledged issuance is there with the same record bytes, and
    every acknowledged status change is the record's status unless a
    later change of it went unanswered;
  - every verification answered 200 has its decision in the audit chain
    (the streams also verify their clearances; a decision's answer waits
    for its audit entry's commit, which the node holds while other
    signature checks are on the pool);
  - PRAGMA integrity_check is "ok", and at the end `mrx audit verify`
    finds the chain intact;
  - the cuts did drop work: summed over the cuts, the store after a cut
    holds fewer audit entries (issuances, status changes, decisions) than
    the killed process had written (commits that were not yet durable, and
    not yet acknowledged); without that the test would not show anything. (Each sync is held DELAY_US before its copy
    is taken, so a commit spends that long written but not durable.)
    Acknowledging at the
    commit instead of after the syncer's fdatasync loses acknowledged
    issuances at the first cut.

Both ways of syncing run: the default (each commit syncs on the loop
thread) and MRX_SYNC_THREAD=1 (the syncer's thread).

Skipped (exit 77) when MRX_POWERCUT_LIB is not set or mrxd runs under a
wrapper (valgrind). MRX_SEED=N reproduces a schedule.
"""
import contextlib
import os
import random
import shutil
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nodelib as L  # noqa: E402
from nodelib import Fail, check, ok  # noqa: E402

CESI = "JP-CESI:CONFIDENTIAL"
OPERATOR = "jp.op.sub"
CUTS = 4
THREADS = 8
SEED = int(os.environ.get("MRX_SEED", "20261127"))
DELAY_US = 20000        # each sync held this long before its copy
RECORD_CLEARANCE = 2    # records.type of a clearance (PROTO_REC_CLEARANCE)
AUDIT_DECISION = 3      # audit.kind of a decision (ENG_AUDIT_DECISION)
LIB = os.environ.get("MRX_POWERCUT_LIB", "")


class Stream:
    """Clients issuing, changing statuses and verifying until told to
    stop."""

    def __init__(self, node, rng):
        self.node = node
        self.rng = rng
        self.lock = threading.Lock()
        self.acked = {}     # id -> record
        self.status = {}    # id -> last acknowledged status
        self.unsure = set()  # ids with a change whose answer was lost
        self.decided = {}   # id -> verifications answered 200
        self.stop = threading.Event()
        self.errors = []

    def worker(self, wid):
        rng = random.Random(self.rng.random())
        c = self.node.client()
        mine = []
        try:
            while not self.stop.is_set():
                if mine and rng.random() < 0.25:
                    # a verification: its decision is audited, and the
                    # answer waits for that entry's commit to be durable
                    # (held while other checks are on the pool)
                    cid = rng.choice(mine)
                    with self.lock:
                        rec = self.acked[cid]
                    try:
                        r = c.post("/v1/verify", {"record": rec,
                                                  "access": CESI})
                    except (OSError, L.http.client.HTTPException):
                        return
                    if r.status != 200 or "decision" not in r.json:
                        self.errors.append("verify: %r" % r)
                        return
                    with self.lock:
                        self.decided[cid] = self.decided.get(cid, 0) + 1
                elif mine and rng.random() < 0.4:
                    cid = rng.choice(mine)
                    with self.lock:
                        cur = self.status[cid]
                    if cur == "revoked":
                        continue
                    to = "valid" if cur == "suspended" else (
                        "revoked" if rng.random() < 0.2 else "suspended")
                    why = {"valid": "REINSTATED",
                           "revoked": "ADMIN_SEPARATION",
                           "suspended": "REASSESSMENT_PENDING"}[to]
                    try:
                        r = c.post("/v1/clearances/%s/status" % cid,
                                   {"status": to, "reason": why})
                    except (OSError, L.http.client.HTTPException):
                        with self.lock:
                            self.unsure.add(cid)
                        mine.remove(cid)
                        return
                    if r.status != 200:
                        self.errors.append("status: %r" % r)
                        return
                    with self.lock:
                        self.status[cid] = to
                else:
                    sub = "%032x" % rng.getrandbits(128)
                    try:
                        r = c.post("/v1/clearances", {
                            "sub": sub, "level": CESI,
                            "operator": OPERATOR})
                    except (OSError, L.http.client.HTTPException):
                        return
                    if r.status != 201:
                        self.errors.append("issue: %r" % r)
                        return
                    j = r.json
                    with self.lock:
                        self.acked[j["id"]] = j["record"]
                        self.status[j["id"]] = "valid"
                    mine.append(j["id"])
        finally:
            c.close()

    def run_until_killed(self, secs):
        self.stop.clear()
        ts = [threading.Thread(target=self.worker, args=(i,))
              for i in range(THREADS)]
        for t in ts:
            t.start()
        time.sleep(secs)
        self.node.kill()
        self.stop.set()
        for t in ts:
            t.join()
        check(not self.errors, "the stream was answered 201/200 until the "
              "kill", self.errors[:3])


@contextlib.contextmanager
def store_copy(db_dir):
    """A connection to a copy of the store held in db_dir (mrx.db and its
    WAL), so that opening it changes nothing of what is examined."""
    tmp = db_dir + ".copy"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for name in ("mrx.db", "mrx.db-wal"):
        p = os.path.join(db_dir, name)
        if os.path.exists(p):
            shutil.copy(p, tmp)
    db = sqlite3.connect(os.path.join(tmp, "mrx.db"))
    try:
        yield db
    finally:
        db.close()
        shutil.rmtree(tmp, ignore_errors=True)


def count_clearances(db_dir):
    """Clearances and audit entries in the store held in db_dir, and its
    integrity_check."""
    with store_copy(db_dir) as db:
        integ = db.execute("PRAGMA integrity_check").fetchone()[0]
        try:
            n = db.execute("SELECT count(*) FROM records WHERE type = ?",
                           (RECORD_CLEARANCE,)).fetchone()[0]
            a = db.execute("SELECT count(*) FROM audit").fetchone()[0]
        except sqlite3.OperationalError:
            n = a = 0   # nothing of the store reached the disk
    return n, a, integ


def count_decisions(db_dir):
    """Audited decisions per clearance id (hex) in the store of db_dir."""
    with store_copy(db_dir) as db:
        try:
            rows = db.execute("SELECT hex(cti), count(*) FROM audit WHERE "
                              "kind = ? AND cti IS NOT NULL GROUP BY cti",
                              (AUDIT_DECISION,)).fetchall()
        except sqlite3.OperationalError:
            rows = []   # nothing of the store reached the disk
    return {h.lower(): n for h, n in rows}


def power_cut(node, shadow):
    """Sets the data directory back to what was certainly on disk."""
    for name in ("mrx.db", "mrx.db-wal"):
        dst = os.path.join(node.data, name)
        src = os.path.join(shadow, name + ".durable")
        if os.path.exists(src):
            shutil.copyfile(src, dst)
        elif name == "mrx.db":
            open(dst, "wb").close()     # never synced: empty
        elif os.path.exists(dst):
            os.unlink(dst)
    shm = os.path.join(node.data, "mrx.db-shm")
    if os.path.exists(shm):
        os.unlink(shm)


def check_after_cut(node, st, cut):
    c = node.client()
    try:
        missing, wrong = [], []
        for cid, rec in st.acked.items():
            r = c.get("/v1/clearances/%s" % cid)
            if r.status != 200 or r.json["record"] != rec:
                missing.append(cid)
                continue
            if cid not in st.unsure and r.json["status"] != st.status[cid]:
                wrong.append((cid, st.status[cid], r.json["status"]))
    finally:
        c.close()
    check(not missing, "cut %d: every acknowledged issuance survived the "
          "power cut (%d)" % (cut, len(st.acked)), missing[:5])
    check(not wrong, "cut %d: every acknowledged status change survived"
          % cut, wrong[:5])


def skip_unless_usable():
    """Exit 77 (skipped) before nodelib.run, which would count it failed."""
    if not LIB or not os.path.exists(LIB):
        print("SKIP: MRX_POWERCUT_LIB does not name the powercut library")
        sys.exit(77)
    if L.WRAP:
        print("SKIP: not under a wrapper (valgrind)")
        sys.exit(77)


def run_mode(thread):
    """CUTS power cuts of one node; with thread, MRX_SYNC_THREAD=1."""
    mode = "MRX_SYNC_THREAD=1" if thread else "sync on the loop thread"
    print("--- %s" % mode)
    rng = random.Random(SEED + (1 if thread else 0))
    os.environ["MRX_SYNC_THREAD"] = "1" if thread else "0"
    node = L.Node("powercut", role="issuer", node_id="jp.meti")
    shadow = os.path.join(node.tmp, "durable")
    os.makedirs(shadow)
    os.environ["MRX_POWERCUT_DIR"] = shadow
    node.set_conf({"status.list_size": "1024"})
    st = Stream(node, rng)
    dropped = 0
    for cut in range(1, CUTS + 1):
        node.start()
        secs = rng.uniform(0.8, 2.0)
        st.run_until_killed(secs)
        killed, killed_a, integ = count_clearances(node.data)
        check(integ == "ok", "cut %d: the killed process's files are a "
              "sound database" % cut, integ)
        power_cut(node, shadow)
        audited = count_decisions(node.data)
        short = [(cid, n, audited.get(cid, 0))
                 for cid, n in st.decided.items() if audited.get(cid, 0) < n]
        check(not short, "cut %d: every answered verification's decision "
              "is in the audit chain after the power cut (%d answered)"
              % (cut, sum(st.decided.values())), short[:5])
        kept, kept_a, integ = count_clearances(node.data)
        check(integ == "ok", "cut %d: after the power cut, PRAGMA "
              "integrity_check ok" % cut, integ)
        dropped += killed_a - kept_a
        ok("cut %d after %.2f s: %d clearances acknowledged so far; the "
           "killed process had written %d (%d audit entries), the disk "
           "kept %d (%d)" % (cut, secs, len(st.acked), killed, killed_a,
                             kept, kept_a))
        node.start()
        check_after_cut(node, st, cut)
        node.stop()
    # audit entries, not clearances: a quarter of the stream verifies, and
    # four cuts once dropped no clearance at all
    check(dropped > 0, "the power cuts dropped commits that were not yet "
          "durable (%d audit entries in all), so the model bites" % dropped)
    pre = os.environ.pop("LD_PRELOAD")
    r = node.mrx("audit", "verify", "--data", node.data)
    os.environ["LD_PRELOAD"] = pre
    check(r.returncode == 0 and "intact" in r.stdout,
          "mrx audit verify after %d power cuts" % CUTS,
          r.stdout + r.stderr)
    ok("%s: %d power cuts, no acknowledged change lost; %d "
       "unacknowledged audit entries dropped by the cuts; %s"
       % (mode, CUTS, dropped, r.stdout.strip()))


def main():
    pre = os.environ.get("LD_PRELOAD", "")
    os.environ["LD_PRELOAD"] = LIB + (" " + pre if pre else "")
    os.environ["MRX_POWERCUT_DELAY_US"] = str(DELAY_US)
    # an ASan mrxd accepts a preloaded library after its runtime
    asan = os.environ.get("ASAN_OPTIONS", "")
    os.environ["ASAN_OPTIONS"] = (asan + ":" if asan else "") + \
        "verify_asan_link_order=0"
    run_mode(thread=False)
    run_mode(thread=True)


if __name__ == "__main__":
    skip_unless_usable()
    L.run(main)
