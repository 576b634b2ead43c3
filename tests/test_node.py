#!/usr/bin/python3
"""
test_node.py - the acceptance flow of the node, with a real mrxd on
loopback: health; issue, get, verify, revoke, verify again (reject with
the reason); alerts, including a long-poll woken by a revocation; an
operator certification checked with a clearance; suspension and
reinstatement; a revoked clearance that cannot be reinstated (409);
/metrics counts; the CLI as a client with its exit codes; SIGHUP; SIGTERM
(exit 0) and a restart that keeps records, statuses, alerts and watches
and never reuses a status index; `mrx audit verify` intact; `mrx report
annual` counts; one edited audit row named by `mrx audit verify`; and a
log that never names a subject id or the admin token.
"""
import json
import os
import secrets
import signal
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nodelib as L  # noqa: E402
from nodelib import Fail, check, check_eq, expect_error, ok  # noqa: E402

CESI = "JP-CESI:CONFIDENTIAL"
OPERATOR = "jp.op.sub"


class World:
    """What the test did, to compare with what the node reports."""

    def __init__(self, node):
        self.node = node
        self.subs = []          # every subject id sent
        self.records = {}       # id -> {"record", "type", "status", "reason", "uri", "idx"}
        self.idx = set()        # (uri, idx) of every issuance
        self.decisions = {"accept": 0, "reject": 0, "indeterminate": 0}
        self.run_decisions = dict(self.decisions)   # since the last start
        self.issued = {"clearance": 0, "operator-cert": 0}
        self.status_changes = 0
        self.run_status_changes = 0
        self.revoked_by_reason = {}
        self.suspended = 0
        self.reinstated = 0
        self.operators_revoked = 0
        self.alerts = 0
        self.run_alerts = 0
        self.watched = set()    # clearance ids accepted at least once
        self.year = None

    def restarted(self):
        self.run_decisions = {k: 0 for k in self.decisions}
        self.run_status_changes = 0
        self.run_alerts = 0

    def new_sub(self):
        s = secrets.token_hex(16)
        self.subs.append(s)
        return s

    def issued_record(self, j, rtype):
        check(isinstance(j.get("id"), str) and len(j["id"]) == 32
              and all(ch in "0123456789abcdef" for ch in j["id"]),
              "the record id is 32 lowercase hex digits", j.get("id"))
        ref = j["status"]
        key = (ref["uri"], ref["idx"])
        check(key not in self.idx, "status index %s#%d is new" % key)
        self.idx.add(key)
        self.records[j["id"]] = {"record": j["record"], "type": rtype,
                                 "status": "valid", "reason": None,
                                 "uri": ref["uri"], "idx": ref["idx"]}
        self.issued[rtype] += 1
        return j["id"]

    def decided(self, j, cid=None):
        d = j["decision"]
        self.decisions[d] += 1
        self.run_decisions[d] += 1
        if self.year is None:
            self.year = int(j["decided_at"][:4])
        if d == "accept" and cid is not None:
            self.watched.add(cid)
        return d

    def status_set(self, cid, old, new, reason):
        """Counts one status change that the node acknowledged."""
        rec = self.records[cid]
        rec["status"], rec["reason"] = new, reason
        if old == new:
            return
        self.status_changes += 1
        self.run_status_changes += 1
        if rec["type"] == "operator-cert" and new == "revoked":
            self.operators_revoked += 1
        if rec["type"] == "clearance":
            if new == "revoked":
                key = reason or "UNSPECIFIED"
                self.revoked_by_reason[key] = self.revoked_by_reason.get(key, 0) + 1
            elif new == "suspended":
                self.suspended += 1
            elif new == "valid":
                self.reinstated += 1
        if cid in self.watched:
            self.alerts += 1
            self.run_alerts += 1


def issue(c, w, level=CESI, operator=OPERATOR, what="issue a clearance"):
    r = c.post("/v1/clearances", {"sub": w.new_sub(), "level": level,
                                  "operator": operator})
    check_eq(r.status, 201, what + ": 201")
    j = r.json
    check(set(j) == {"id", "record", "status"} and
          set(j["status"]) == {"uri", "idx"},
          what + ": the answer has id, record, status{uri, idx}", j)
    return w.issued_record(j, "clearance")


def verify(c, w, cid, access=CESI, operator_record=None, what="verify"):
    body = {"record": w.records[cid]["record"], "access": access}
    if operator_record is not None:
        body["operator_record"] = operator_record
    r = c.post("/v1/verify", body)
    check_eq(r.status, 200, what + ": 200")
    j = r.json
    for k in ("decision", "reasons", "evidence", "access", "at", "decided_at"):
        if k not in j:
            raise L.Fail("%s: the decision has no %r: %r" % (what, k, j))
    w.decided(j, cid)
    return j


def set_status(c, w, cid, status, reason=None, kind="clearances"):
    body = {"status": status}
    if reason is not None:
        body["reason"] = reason
    old = w.records[cid]["status"]
    r = c.post("/v1/%s/%s/status" % (kind, cid), body)
    check_eq(r.status, 200, "status %s -> %s%s: 200" %
             (old, status, " " + reason if reason else ""))
    j = r.json
    check(j.get("id") == cid and j.get("status") == status and
          isinstance(j.get("seq"), int), "the answer names the record, "
          "the new status and a seq", j)
    w.status_set(cid, old, status, reason)
    return j


def get_record(c, w, cid, kind="clearances"):
    r = c.get("/v1/%s/%s" % (kind, cid))
    check_eq(r.status, 200, "GET %s/%s…: 200" % (kind, cid[:8]))
    j = r.json
    want = w.records[cid]
    check(j["id"] == cid and j["record"] == want["record"] and
          j["type"] == want["type"] and
          j["status_ref"] == {"uri": want["uri"], "idx": want["idx"]},
          "  same id, record bytes, type and status_ref")
    # no reason: the member is absent (docs/api.md: "reason"?)
    check(j["status"] == want["status"] and
          j.get("reason", "absent") == (want["reason"] or "absent"),
          "  status %s%s" % (want["status"], " " + want["reason"]
                             if want["reason"] else ""),
          "got %s %s" % (j["status"], j.get("reason")))
    return j


def check_metrics(c, w, what):
    m = L.metrics(c)
    for outcome in ("accept", "reject", "indeterminate"):
        check_eq(m['mrx_decisions_total{outcome="%s"}' % outcome],
                 w.run_decisions[outcome],
                 "%s: mrx_decisions_total{outcome=%s}" % (what, outcome))
    for t in ("clearance", "operator-cert"):
        check_eq(m['mrx_records_total{type="%s"}' % t], w.issued[t],
                 "%s: mrx_records_total{type=%s}" % (what, t))
    check_eq(m["mrx_status_changes_total"], w.run_status_changes,
             "%s: mrx_status_changes_total" % what)
    check_eq(m["mrx_alerts_total"], w.run_alerts, "%s: mrx_alerts_total" % what)
    check_eq(m["mrx_watches"], len(w.watched), "%s: mrx_watches" % what)
    check_eq(m["mrx_commit_failures_total"], 0,
             "%s: mrx_commit_failures_total" % what)
    count = m["mrx_verify_seconds_count"]
    check(count == sum(w.run_decisions.values()) and
          m['mrx_verify_seconds_bucket{le="+Inf"}'] == count,
          "%s: the mrx_verify_seconds histogram counts every decision" % what)


def alerts(c, since=0):
    r = c.get("/v1/alerts?since=%d" % since)
    check_eq(r.status, 200, "GET /v1/alerts?since=%d: 200" % since)
    return r.json


def phase_api(n, c, w):
    r = c.get("/v1/health", auth=False)
    check_eq(r.status, 200, "GET /v1/health: 200")
    check_eq(r.json, {"status": "ok", "id": "jp.meti", "role": "issuer",
                      "jurisdiction": "JP"}, "health names the node")

    c1 = issue(c, w)
    get_record(c, w, c1)
    d = verify(c, w, c1, what="verify a fresh clearance")
    check_eq(d["decision"], "accept", "it is accepted")
    check_eq(d["evidence"]["record_id"], c1, "the evidence names the record")
    j = set_status(c, w, c1, "revoked", "ELIGIBILITY_REVOKED")
    seq_revoke = j["seq"]
    d = verify(c, w, c1, what="verify the revoked clearance")
    check_eq(d["decision"], "reject", "it is rejected")
    check_eq(d["reasons"][0]["code"], "revoked", "reasons[0].code")
    check("ELIGIBILITY_REVOKED" in [x["code"] for x in d["reasons"]],
          "the reasons carry ELIGIBILITY_REVOKED", d["reasons"])
    get_record(c, w, c1)

    a = alerts(c)
    check(len(a["alerts"]) == 1 and a["last"] == a["alerts"][0]["id"],
          "one alert, and last is its id", a)
    al = a["alerts"][0]
    check(al["record_id"] == c1 and al["status"] == "revoked" and
          al["reason"] == "ELIGIBILITY_REVOKED" and al["issuer"] == "jp.meti"
          and al["seq"] == seq_revoke,
          "the alert names the record, revoked, the reason and the seq", al)
    last = a["last"]

    # a long-poll with nothing new times out with nothing
    t0 = time.monotonic()
    r = c.get("/v1/alerts?since=%d&wait=1" % last)
    dt = time.monotonic() - t0
    check(r.status == 200 and r.json == {"alerts": [], "last": last},
          "a long-poll with nothing new answers empty", r)
    check(0.8 <= dt < 5, "  after about its wait (%.2f s)" % dt)

    # a long-poll started before the revocation returns with it
    c2 = issue(c, w, what="issue a second clearance")
    check_eq(verify(c, w, c2)["decision"], "accept", "it is accepted (watched)")
    box = {}

    def poll():
        pc = n.client()
        try:
            box["r"] = pc.get("/v1/alerts?since=%d&wait=10" % last)
            box["t"] = time.monotonic()
        except Exception as e:  # reported by the main thread
            box["e"] = e
        finally:
            pc.close()

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.7)
    check(th.is_alive(), "the long-poll is held while nothing happens")
    t_rev = time.monotonic()
    set_status(c, w, c2, "revoked", "ADMIN_SEPARATION")
    th.join(15)
    check(not th.is_alive() and "e" not in box, "the long-poll returned",
          box.get("e"))
    r = box["r"]
    check_eq(r.status, 200, "  200")
    check(box["t"] - t_rev < 2.0, "  within %.2f s of the revocation"
          % (box["t"] - t_rev))
    check(len(r.json["alerts"]) == 1 and
          r.json["alerts"][0]["record_id"] == c2 and
          r.json["alerts"][0]["reason"] == "ADMIN_SEPARATION",
          "  with the second revocation's alert", r.json)

    # operator certification, and a clearance checked with it
    r = c.post("/v1/operators", {"sub": OPERATOR, "levels": [CESI]})
    check_eq(r.status, 201, "issue an operator certification: 201")
    op = w.issued_record(r.json, "operator-cert")
    g = get_record(c, w, op, kind="operators")
    check_eq(g["type"], "operator-cert", "  of type operator-cert")
    r = c.get("/v1/clearances/" + op)
    check_eq(r.status, 404, "an operator certification is not a clearance")
    c3 = issue(c, w, what="issue a third clearance")
    oprec = w.records[op]["record"]
    d = verify(c, w, c3, operator_record=oprec, what="verify with the "
               "operator certification")
    check_eq(d["decision"], "accept", "clearance + operator certification "
             "accepted")
    other = issue(c, w, operator="jp.op.other", what="issue a clearance "
                  "for another operator")
    d = verify(c, w, other, operator_record=oprec, what="verify it with "
               "jp.op.sub's certification")
    check(d["decision"] == "reject" and "operator-mismatch" in
          [x["code"] for x in d["reasons"]], "rejected: operator-mismatch",
          d["reasons"])

    # suspension and reinstatement
    set_status(c, w, c3, "suspended", "REASSESSMENT_PENDING")
    d = verify(c, w, c3, what="verify the suspended clearance")
    check(d["decision"] == "reject" and d["reasons"][0]["code"] ==
          "suspended", "rejected: suspended", d["reasons"])
    set_status(c, w, c3, "valid")
    d = verify(c, w, c3, what="verify the reinstated clearance")
    check_eq(d["decision"], "accept", "accepted again")
    get_record(c, w, c3)

    # a revoked operator certification fails the clearance that relies on it
    set_status(c, w, op, "revoked", "OPERATOR_CERT_REVOKED", kind="operators")
    d = verify(c, w, c3, operator_record=oprec, what="verify with the revoked "
               "operator certification")
    check(d["decision"] == "reject" and [x["code"] for x in d["reasons"][:2]]
          == ["operator-revoked", "OPERATOR_CERT_REVOKED"],
          "rejected: operator-revoked, OPERATOR_CERT_REVOKED", d["reasons"])
    get_record(c, w, op, kind="operators")

    # a revoked clearance stays revoked; the same status again is idempotent
    r = c.post("/v1/clearances/%s/status" % c1, {"status": "valid"})
    expect_error(r, 409, "revoked-final", "status",
                 "reinstate a revoked clearance")
    j = set_status(c, w, c1, "revoked", "ELIGIBILITY_REVOKED")
    check_eq(j["seq"], seq_revoke_after(c, w, c1), "revoking again is "
             "idempotent (no new seq)")
    get_record(c, w, c1)
    a = alerts(c)
    check_eq(len(a["alerts"]), w.alerts, "alerts: one per change of a "
             "watched clearance")
    check_metrics(c, w, "metrics")
    return {"c1": c1, "c2": c2, "c3": c3, "op": op}


def seq_revoke_after(c, w, cid):
    """The status list's current seq, as GET reports it."""
    return c.get("/v1/clearances/" + cid).json["seq"]


def phase_cli(n, c, w, work):
    def cli(*args, token_file=None):
        r = n.cli(*args, token_file=token_file)
        return r

    r = cli("health")
    check(r.returncode == 0 and json.loads(r.stdout)["status"] == "ok",
          "mrx health: exit 0, status ok", r.stderr)
    dead = L.free_port()
    r = n.mrx("--node", "http://127.0.0.1:%d" % dead, "health")
    check_eq(r.returncode, 2, "mrx health against no node: exit 2")
    r = cli("clearance", "get", "00" * 16, token_file="/nonexistent/token")
    check_eq(r.returncode, 2, "a missing token file: exit 2")

    out = os.path.join(work, "clr.cose")
    sub = w.new_sub()
    r = cli("clearance", "issue", "--sub", sub, "--level", CESI,
            "--operator", OPERATOR, "--out", out)
    check_eq(r.returncode, 0, "mrx clearance issue: exit 0")
    j = json.loads(r.stdout)
    cid = w.issued_record(j, "clearance")
    with open(out, "rb") as f:
        check_eq(f.read(), L.b64url_decode(j["record"]),
                 "  --out holds the record's bytes")
    r = cli("clearance", "issue", "--sub", w.new_sub(), "--level",
            "JP-CESI:SECRET", "--operator", OPERATOR)
    check(r.returncode == 1 and "400" in r.stderr,
          "mrx clearance issue with a bad level: exit 1, says 400", r.stderr)
    r = cli("clearance", "issue", "--sub", sub)
    check_eq(r.returncode, 2, "mrx clearance issue without --level: exit 2")

    r = cli("clearance", "get", cid)
    check(r.returncode == 0 and json.loads(r.stdout)["status"] == "valid",
          "mrx clearance get: exit 0, valid", r.stderr)
    r = cli("clearance", "get", "ab" * 16)
    check(r.returncode == 1 and "404" in r.stderr,
          "mrx clearance get of an unknown id: exit 1, says 404", r.stderr)

    def cli_verify(want_rc, what, access=CESI):
        r = cli("verify", out, "--access", access)
        j = json.loads(r.stdout)
        w.decided(j, cid)
        check_eq(r.returncode, want_rc, "%s: exit %d (%s)" %
                 (what, want_rc, j["decision"]))
        return j

    cli_verify(0, "mrx verify a valid clearance")
    j = cli_verify(1, "mrx verify for a level of another scheme",
                   access="JP-SDS:SECRET")
    check_eq(j["reasons"][0]["code"], "no-equivalence", "  no-equivalence")

    def cli_status(want_rc, to, reason=None):
        args = ["clearance", "status", cid, "--to", to]
        if reason:
            args += ["--reason", reason]
        old = w.records[cid]["status"]
        r = cli(*args)
        check_eq(r.returncode, want_rc, "mrx clearance status %s -> %s: "
                 "exit %d" % (old, to, want_rc))
        if want_rc == 0:
            check_eq(json.loads(r.stdout)["status"], to, "  now " + to)
            w.status_set(cid, old, to, reason)
        return r

    cli_status(0, "suspended", "SUSPENDED_PENDING_REVIEW")
    cli_verify(1, "mrx verify a suspended clearance")
    cli_status(0, "valid")
    cli_verify(0, "mrx verify a reinstated clearance")
    cli_status(0, "revoked", "CONSENT_WITHDRAWN")
    j = cli_verify(1, "mrx verify a revoked clearance")
    check_eq([x["code"] for x in j["reasons"][:2]],
             ["revoked", "CONSENT_WITHDRAWN"], "  revoked, CONSENT_WITHDRAWN")
    r = cli_status(1, "valid")
    check("409" in r.stderr, "  says 409", r.stderr)
    r = cli("clearance", "status", cid)
    check_eq(r.returncode, 2, "mrx clearance status without --to: exit 2")

    a = alerts(c)
    since = a["last"] - 3
    r = cli("alerts", "--since", str(since))
    check_eq(r.returncode, 0, "mrx alerts: exit 0")
    got = [(x["record_id"], x["status"]) for x in json.loads(r.stdout)["alerts"]]
    check_eq(got, [(cid, "suspended"), (cid, "valid"), (cid, "revoked")],
             "  the three alerts of the CLI's clearance")
    t = time.monotonic()
    r = cli("alerts", "--since", str(a["last"]), "--wait", "1")
    dt = time.monotonic() - t
    check(r.returncode == 0 and json.loads(r.stdout)["alerts"] == [] and
          0.8 <= dt < 5, "mrx alerts --wait 1 with nothing new: exit 0, empty, "
          "after %.2f s" % dt, r.stdout)
    bad = os.path.join(work, "wrong.token")
    with open(bad, "w") as f:
        f.write("0" * 64 + "\n")
    os.chmod(bad, 0o600)
    r = cli("clearance", "get", cid, token_file=bad)
    check(r.returncode == 1 and "401" in r.stderr,
          "a wrong token: exit 1, says 401", r.stderr)
    return cid


def phase_restart(n, w, ids):
    n.stop()
    ok("SIGTERM: mrxd exited 0")
    before = None
    with sqlite3.connect("file:%s?mode=ro" % n.db_path(), uri=True) as db:
        before = db.execute("SELECT count(*) FROM alerts").fetchone()[0]
    check_eq(before, w.alerts, "the store holds every alert")
    n.start()
    w.restarted()
    ok("restarted")
    c = n.client()
    for cid in w.records:
        kind = "clearances" if w.records[cid]["type"] == "clearance" else "operators"
        get_record(c, w, cid, kind)
    a = alerts(c)
    check_eq(len(a["alerts"]), w.alerts, "every alert is still there")
    check_eq(a["last"], w.alerts, "  and last is the newest id")
    # new issuance goes on, on new status indexes
    news = [issue(c, w, what="issue after the restart (%d)" % i)
            for i in range(3)]
    check(all(w.records[x]["uri"] == w.records[ids["c1"]]["uri"] for x in news),
          "  on the same status list")
    # a watch made before the restart still raises an alert
    last = a["last"]
    set_status(c, w, ids["c3"], "revoked", "ELIGIBILITY_DENIED")
    a = alerts(c, last)
    check(len(a["alerts"]) == 1 and a["alerts"][0]["record_id"] == ids["c3"],
          "the watch on a clearance accepted before the restart raised an "
          "alert", a)
    d = verify(c, w, news[0], what="verify a new clearance")
    check_eq(d["decision"], "accept", "  accepted")
    check_metrics(c, w, "metrics after the restart")

    r = n.mrx("audit", "verify", "--data", n.data)
    check(r.returncode == 0 and "intact" in r.stdout,
          "mrx audit verify while mrxd runs: exit 0, intact", r.stdout)

    n.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "SIGHUP" not in n.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    check("SIGHUP" in n.log_text(), "SIGHUP is logged")
    check(n.alive(), "mrxd still runs after SIGHUP")
    check_eq(c.get("/v1/health", auth=False).status, 200, "  health: 200")
    x = issue(c, w, what="  issue after SIGHUP")
    check_eq(verify(c, w, x)["decision"], "accept", "  verify after SIGHUP: "
             "accept")
    c.close()

    # SIGTERM while a long-poll is held on a keep-alive connection that the
    # client leaves open: it is answered, with Connection: close, and the
    # exit is prompt
    raw = L.Raw(n.port)
    try:
        raw.send(("GET /v1/alerts?since=%d&wait=30 HTTP/1.1\r\nHost: x\r\n"
                  "Authorization: Bearer %s\r\n\r\n" % (w.alerts, n.token))
                 .encode())
        time.sleep(0.5)
        t = time.monotonic()
        n.stop()
        dt = time.monotonic() - t
        check(dt < 3.0, "SIGTERM with a long-poll held: mrxd exited 0 in "
              "%.2f s" % dt)
        r = raw.response()
        check(r is not None and r.status == 200 and r.json["alerts"] == []
              and r.headers.get("connection") == "close",
              "  the long-poll was answered (200, nothing new, Connection: "
              "close)", r)
    finally:
        raw.close()


def phase_offline(n, w):
    r = n.mrx("audit", "verify", "--data", n.data, "--json")
    j = json.loads(r.stdout)
    expect = (sum(w.issued.values()) + w.status_changes +
              sum(w.decisions.values()) + w.alerts)
    check(r.returncode == 0 and j["intact"] is True,
          "mrx audit verify: exit 0, intact", r.stdout)
    check_eq(j["entries"], expect, "  one entry per issuance, status change, "
             "decision and alert")

    r = n.mrx("report", "annual", "--data", n.data, "--year", str(w.year),
              "--json")
    check_eq(r.returncode, 0, "mrx report annual: exit 0")
    rep = json.loads(r.stdout)
    cl = rep["clearances"]
    check_eq(cl["issued"], w.issued["clearance"], "report: clearances issued")
    check_eq(cl["revoked"], sum(w.revoked_by_reason.values()),
             "report: clearances revoked")
    check_eq(cl["revoked_by_reason"], w.revoked_by_reason,
             "report: revoked by reason")
    check_eq(cl["suspended"], w.suspended, "report: clearances suspended")
    check_eq(cl["reinstated"], w.reinstated, "report: clearances reinstated")
    check_eq(rep["operators"], {"certified": w.issued["operator-cert"],
                                "revoked": w.operators_revoked},
             "report: operators certified and revoked")
    check_eq(rep["decisions"], w.decisions, "report: decisions by outcome")
    r = n.mrx("report", "annual", "--data", n.data, "--year",
              str(w.year - 1), "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["clearances"]["issued"]
          == 0, "report for the year before: nothing issued")

    # edit one audit row behind the node's back
    seq = 5
    with sqlite3.connect(n.db_path()) as db:
        row = db.execute("SELECT kind, level FROM audit WHERE seq = ?",
                         (seq,)).fetchone()
        check(row is not None, "audit entry %d exists" % seq)
        db.execute("UPDATE audit SET time = time + 1 WHERE seq = ?", (seq,))
    db.close()
    r = n.mrx("audit", "verify", "--data", n.data)
    check_eq(r.returncode, 1, "after an edit of entry %d: mrx audit verify "
             "exits 1" % seq)
    check("edited" in r.stdout and "entry %d " % seq in r.stdout,
          "  and names entry %d as edited" % seq, r.stdout.strip())
    r = n.mrx("audit", "verify", "--data", n.data, "--json")
    j = json.loads(r.stdout)
    check(r.returncode == 1 and j["problem"] == "edited" and j["seq"] == seq,
          "  --json: problem edited, seq %d" % seq, j)


def phase_waiters(n, c):
    """Long-polls are bounded: 256 are held, the next is refused with 503
    (an empty answer at once would make a re-polling client spin), and
    the slots come back when their clients go away."""
    last = c.get("/v1/alerts").json["last"]
    req = ("GET /v1/alerts?since=%d&wait=30 HTTP/1.1\r\nHost: x\r\n"
           "Authorization: Bearer %s\r\n\r\n" % (last, n.token)).encode()
    held = []
    try:
        for _ in range(256):
            r = L.Raw(n.port)
            check(r.send(req), "a long-poll is sent")
            held.append(r)
        time.sleep(0.3)
        r = c.get("/v1/alerts?since=%d&wait=5" % last)
        L.expect_error(r, 503, "too-many-waiters", "wait",
                       "the 257th long-poll is refused")
    finally:
        for r in held:
            r.close()
    deadline = time.time() + 5
    while True:
        t0 = time.time()
        r = c.get("/v1/alerts?since=%d&wait=1" % last)
        if r.status == 200:
            break
        check(time.time() < deadline, "long-poll slots come back",
              r.status)
        time.sleep(0.2)
    check(time.time() - t0 >= 0.5, "a long-poll is held again once the "
          "slots are free")
    ok("long-polls are bounded and their slots are reclaimed")


def main():
    n = L.Node("node")
    w = World(n)
    work = n.tmp
    n.start()
    ok("mrx init + mrxd started on %s" % n.url)
    c = n.client()
    ids = phase_api(n, c, w)
    cid = phase_cli(n, c, w, work)
    ids["cli"] = cid
    check_metrics(c, w, "metrics after the CLI")
    phase_waiters(n, c)
    c.close()
    phase_restart(n, w, ids)
    phase_offline(n, w)

    log = n.log_text()
    check(log.count("listening on") == 2, "the log shows two starts")
    leaked = [s for s in w.subs if s in log or s.upper() in log]
    check(not leaked, "the log names none of the %d subject ids used"
          % len(w.subs), leaked)
    check(n.token not in log, "the log never holds the admin token")
    phase_bad_tokens(n)


def phase_bad_tokens(n):
    """mrxd refuses an admin token file it cannot use, and says why; a
    token it accepts works whatever its length up to the limit."""
    good = n.token
    for token, mode, why in (("x" * 15, 0o600, "shorter than 16"),
                             ("y" * 159, 0o600, "longer than 158"),
                             (good, 0o644, "readable by group or others")):
        with open(n.token_file, "w") as f:
            f.write(token + "\n")
        os.chmod(n.token_file, mode)
        try:
            n.start()
            raise Fail("mrxd started with a token file that is %s" % why)
        except Fail as e:
            check("exited with 2" in str(e), "a token %s: mrxd exits 2"
                  % why, str(e))
        check(why in n.log_text(), "  and its log says \"%s\"" % why)
    long_token = "z" * 158
    with open(n.token_file, "w") as f:
        f.write(long_token + "\n")
    os.chmod(n.token_file, 0o600)
    n.start()
    c = L.Client(n.port, long_token)
    r = c.post("/v1/clearances/%s/status" % ("00" * 16), {"status": "valid"})
    check(r.status == 404, "a 158-character token is accepted (404 for an "
          "unknown id, not 401)", repr(r))
    c.close()
    c = L.Client(n.port, long_token[:-1])
    r = c.post("/v1/clearances/%s/status" % ("00" * 16), {"status": "valid"})
    check(r.status == 401, "the same token one character short: 401",
          repr(r))
    c.close()
    n.stop()


if __name__ == "__main__":
    L.run(main)
