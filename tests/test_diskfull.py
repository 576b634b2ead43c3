#!/usr/bin/python3
"""
test_diskfull.py - the data directory on a small tmpfs that fills up.

An issuer's data directory is copied onto a tmpfs of TMPFS_MB (mounted
here; this needs root, and the test is skipped with exit 77 without it).
A filler file then takes every free byte, and a stream of issuances and
status changes runs into the full disk:

  1 every write that cannot be stored is answered 507 "storage-full" (with
    a message that says the disk is full and nothing was changed), never a
    201 that is lost later; so is a verification, whose decision must be
    audited; reads (GET, health, metrics) keep answering;
    the log names the disk-full error and the store file; /metrics counts
    the failed commits as disk-full;
  2 when the filler is removed, writes succeed again without a restart;
  3 the disk is filled again, and mrxd is SIGKILLed while it is full; it
    restarts once space returns;
  4 then, after a clean stop: every acknowledged issuance is present with
    the same record bytes, and nothing refused is (the records table holds
    exactly the acknowledged ones); every acknowledged status change is the
    record's status; `PRAGMA integrity_check` is "ok"; the audit log has
    exactly one issue entry per record and `mrx audit verify` finds it
    intact.

Each check prints "ok: ..."; the first failed check prints "FAIL: ..." and
exits 1 (nodelib.run). Environment as the other node tests (MRX_BIN,
MRXD_BIN).
"""
import errno
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nodelib as L  # noqa: E402
from nodelib import Fail, check, check_eq, ok  # noqa: E402

CESI = "JP-CESI:CONFIDENTIAL"
OPERATOR = "jp.op.sub"
TMPFS_MB = 24           # room for the store, its WAL and some growth
WRITES_MAX = 4000       # writes tried against a full disk before giving up
REFUSALS_WANTED = 12    # 507s to see before freeing space
AUDIT_ISSUE = 1         # audit.kind of an issuance (ENG_AUDIT_ISSUE)
RECORD_CLEARANCE = 2    # records.type of a clearance (PROTO_REC_CLEARANCE)


class Disk:
    """A tmpfs mounted at a fresh directory, and a filler file on it."""

    def __init__(self, mb):
        self.path = tempfile.mkdtemp(prefix="mrx-diskfull-")
        self.filler = os.path.join(self.path, "filler")
        self.nfill = 0
        r = subprocess.run(["mount", "-t", "tmpfs", "-o",
                            "size=%dm,mode=0700" % mb, "tmpfs", self.path],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if r.returncode != 0:
            os.rmdir(self.path)
            raise OSError("mount tmpfs: %s" % r.stdout.strip())

    def free_bytes(self):
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill(self):
        """Writes filler files until the file system refuses a byte."""
        self.nfill += 1
        path = "%s.%d" % (self.filler, self.nfill)
        chunk = b"\0" * (1 << 20)
        with open(path, "wb", buffering=0) as f:
            for size in (1 << 20, 1 << 12, 1):
                while True:
                    try:
                        f.write(chunk[:size])
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
                        break
        return path

    def unfill(self):
        for name in os.listdir(self.path):
            if name.startswith("filler."):
                os.unlink(os.path.join(self.path, name))

    def close(self):
        subprocess.run(["umount", "-l", self.path],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            os.rmdir(self.path)
        except OSError:
            pass


class World:
    def __init__(self, node):
        self.node = node
        self.c = node.client()
        self.nsub = 0
        self.acked = {}         # id -> record (base64url) of acked issuances
        self.status = {}        # id -> last acknowledged status
        self.refused = 0

    def reconnect(self):
        self.c.close()
        self.c = self.node.client()

    def new_sub(self):
        self.nsub += 1
        return "%032x" % (0xD15C0000 + self.nsub)

    def issue(self):
        r = self.c.post("/v1/clearances", {"sub": self.new_sub(),
                                           "level": CESI,
                                           "operator": OPERATOR})
        if r.status == 201:
            j = r.json
            self.acked[j["id"]] = j["record"]
            self.status[j["id"]] = "valid"
        return r

    def set_status(self, cid, to, reason=None):
        body = {"status": to}
        if reason:
            body["reason"] = reason
        r = self.c.post("/v1/clearances/%s/status" % cid, body)
        if r.status == 200:
            self.status[cid] = to
        return r


def check_refusal(r, what):
    """A write refused for a full disk: 507 storage-full, clearly said."""
    check(r.status == 507, "%s on a full disk is answered 507" % what,
          "got %r" % r)
    e = r.json["error"]
    check_eq(e["code"], "storage-full", "%s: error code" % what)
    check("full" in e["message"] and "nothing was changed" in e["message"],
          "%s: the message says the disk is full and nothing changed" % what,
          e["message"])


def write_until_full(w, what):
    """Issues (and revokes every 5th) until REFUSALS_WANTED 507s."""
    refusals = first = 0
    ids = list(w.acked)
    for i in range(WRITES_MAX):
        if i % 5 == 4 and ids:
            cid = ids[i % len(ids)]
            if w.status[cid] != "valid":
                continue
            r = w.set_status(cid, "suspended", "REASSESSMENT_PENDING")
            if r.status == 200:
                continue
            check_refusal(r, "a status change")
        else:
            r = w.issue()
            if r.status == 201:
                ids.append(r.json["id"])
                continue
            check_refusal(r, "an issuance")
        refusals += 1
        first = first or i + 1
        if refusals >= REFUSALS_WANTED:
            break
    check(refusals >= REFUSALS_WANTED, "%s: the disk filled up" % what,
          "only %d refusals in %d writes" % (refusals, WRITES_MAX))
    w.refused += refusals
    ok("%s: %d writes refused 507 storage-full (the first at write %d)"
       % (what, refusals, first))


def check_reads(w):
    c = w.c
    cid = next(iter(w.acked))
    r = c.post("/v1/verify", {"record": w.acked[cid], "access": CESI})
    check_refusal(r, "a verification (its decision is audited)")
    ok("a verification is refused 507 too: no decision without its audit "
       "entry")
    r = c.get("/v1/health", auth=False)
    check(r.status == 200, "health answers on a full disk", repr(r))
    r = c.get("/v1/clearances/%s" % cid)
    check(r.status == 200 and r.json["record"] == w.acked[cid],
          "a stored clearance reads back on a full disk", repr(r))
    m = L.metrics(c)
    full = m.get("mrx_commit_failures_disk_full_total", 0)
    check(full >= 1, "/metrics counts disk-full commits", repr(full))
    ok("reads keep answering on a full disk (health, GET, /metrics: %d "
       "disk-full commit failures)" % full)


def check_log(node):
    text = node.log_text()
    check("disk full writing" in text and "mrx.db" in text,
          "the log names the disk-full error and the store file",
          node.log_tail(10))
    line = [ln for ln in text.splitlines() if "disk full writing" in ln][0]
    ok("the log says: %s" % line.strip()[:160])


def check_store(w):
    node = w.node
    db = sqlite3.connect("file:%s?mode=ro" % node.db_path(), uri=True)
    try:
        integ = db.execute("PRAGMA integrity_check").fetchone()[0]
        check_eq(integ, "ok", "PRAGMA integrity_check")
        rows = db.execute("SELECT lower(hex(cti)) FROM records "
                          "WHERE type = ?", (RECORD_CLEARANCE,)).fetchall()
        stored = {r[0] for r in rows}
        check(stored == set(w.acked),
              "the store holds exactly the acknowledged clearances",
              "%d stored, %d acknowledged, %d stored unacknowledged, %d "
              "acknowledged missing" % (len(stored), len(w.acked),
                                        len(stored - set(w.acked)),
                                        len(set(w.acked) - stored)))
        issues = db.execute("SELECT count(*) FROM audit WHERE kind = ? AND "
                            "rec_type = ?", (AUDIT_ISSUE, RECORD_CLEARANCE)
                            ).fetchone()[0]
        check_eq(issues, len(stored), "audit issue entries per clearance")
    finally:
        db.close()
    ok("store: integrity ok, %d clearances = the acknowledged ones, one "
       "audit issue entry each (%d writes were refused)"
       % (len(stored), w.refused))
    for cid, rec in w.acked.items():
        r = w.c.get("/v1/clearances/%s" % cid)
        check(r.status == 200 and r.json["record"] == rec,
              "acknowledged clearance %s reads back" % cid, repr(r))
        check_eq(r.json["status"], w.status[cid],
                 "status of %s" % cid)
    ok("every acknowledged issuance and status change is there after "
       "kill -9 on a full disk and a restart")


DISK = None


def mount_or_skip():
    """Mounts the tmpfs, or exits 77 (skipped) before nodelib.run, which
    would count the exit as a failure."""
    global DISK
    if os.geteuid() != 0:
        print("SKIP: mounting a tmpfs needs root")
        sys.exit(77)
    try:
        DISK = Disk(TMPFS_MB)
    except OSError as e:
        print("SKIP: %s" % e)
        sys.exit(77)


def main():
    try:
        run(DISK)
    finally:
        DISK.close()


def run(disk):
    node = L.Node("diskfull", role="issuer", node_id="jp.meti")
    data = os.path.join(disk.path, "data")
    shutil.copytree(node.data, data, symlinks=True)
    node.data = data
    node.token_file = os.path.join(data, "admin.token")
    node.set_conf({"status.list_size": "1024"})
    node.start()
    w = World(node)
    for _ in range(20):
        r = w.issue()
        check(r.status == 201, "issuance with room on the disk", repr(r))
    ids = list(w.acked)
    for cid in ids[:3]:
        r = w.set_status(cid, "revoked", "ADMIN_SEPARATION")
        check(r.status == 200, "revocation with room on the disk", repr(r))
    ok("20 issuances and 3 revocations on a %d MB tmpfs (%d KB free)"
       % (TMPFS_MB, disk.free_bytes() // 1024))

    disk.fill()
    check_eq(disk.free_bytes(), 0, "free bytes after filling")
    write_until_full(w, "full disk")
    check_reads(w)
    check_log(node)
    check(node.alive(), "mrxd still running on a full disk")

    disk.unfill()
    t0 = time.monotonic()
    r = w.issue()
    check(r.status == 201, "an issuance once space returned (no restart)",
          repr(r))
    r = w.set_status(r.json["id"], "revoked", "ADMIN_SEPARATION")
    check(r.status == 200, "a revocation once space returned", repr(r))
    ok("writes succeed again as soon as space returns, without a restart "
       "(%.0f ms)" % ((time.monotonic() - t0) * 1000))

    disk.fill()
    write_until_full(w, "full again")
    node.kill()
    ok("mrxd killed (SIGKILL) while the disk is full")
    disk.unfill()
    node.start()
    w.reconnect()
    ok("mrxd restarts once space returned")
    r = w.issue()
    check(r.status == 201, "an issuance after the restart", repr(r))

    check_store(w)
    w.c.close()
    node.stop()
    r = node.mrx("audit", "verify", "--data", node.data)
    check(r.returncode == 0, "mrx audit verify after the disk filled twice",
          r.stdout + r.stderr)
    ok("mrx audit verify: %s" % r.stdout.strip().splitlines()[-1][:120])
    node.start()
    w.reconnect()
    check_store(w)
    w.c.close()
    node.stop()


if __name__ == "__main__":
    mount_or_skip()
    L.run(main)
