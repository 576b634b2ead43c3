#!/usr/bin/python3
"""
test_crash.py - an acknowledged change survives kill -9.

Four client threads, each on its own keep-alive connection, send a stream
of OPS operations: issuances, status changes of the thread's own
clearances, and some verifications. A killer thread SIGKILLs mrxd 3 to 5
times, and once stops it with SIGTERM (it must drain and exit 0 within
10 s while the stream runs), at moments drawn from the seed (after a given
number of operations, plus a few milliseconds), and restarts it each time;
the stream goes on. Status
lists are small (status.list_size 128), so new lists are opened during the
run, some of them around a kill.

Every answer is recorded with what it said. A 503 "stopping" during the
drain is a refusal: nothing was applied. A request that ended in a
connection error has an unknown outcome: it is never retried as the same
request (the stream continues with new operations), and its record takes
no further status change. At the end, with the node up:

  - every acknowledged issuance is there (GET 200, the same record bytes
    and status reference), and no status index was handed out twice;
  - every record's status is its last acknowledged one, or the one of an
    unacknowledged change sent after it;
  - per status list, the seq of every acknowledged change is new: it is
    larger than the seq of every change acknowledged before that request
    was sent (so never reused after a crash), and no larger than the
    list's final seq;
  - the record count lies between the acknowledged issuances and those
    plus the unacknowledged ones;

then, after SIGTERM (exit 0): per list the deltas in mrx.db have the
contiguous seqs 1..N with N the list's seq, every acknowledged seq among
them; the audit log has one issue entry per record, one status entry per
delta and one alert entry per alert, and `mrx audit verify` finds it
intact.

MRX_SEED=N reproduces a schedule (default 20240611).
"""
import os
import random
import sqlite3
import sys
import threading
import time
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nodelib as L  # noqa: E402
from nodelib import check, check_eq, ok  # noqa: E402

CESI = "JP-CESI:CONFIDENTIAL"
TYPE_CLEARANCE = 2          # PROTO_REC_CLEARANCE in the records table
OPS = 1000
THREADS = 4
LIST_SIZE = 128
KILLS_MIN, KILLS_MAX = 3, 5
RESTART_WAIT_S = 60.0       # a worker waits this long for a restart
REVOKE_REASONS = ["ELIGIBILITY_REVOKED", "ADMIN_SEPARATION",
                  "CONSENT_WITHDRAWN", "SUPERSEDED"]
SUSPEND_REASONS = ["REASSESSMENT_PENDING", "SUSPENDED_PENDING_REVIEW"]


class Run:
    """Shared state of the stream: the node, the op tickets, the kills."""

    def __init__(self, node):
        self.node = node
        self.lock = threading.Condition()
        self.tickets = 0
        self.generation = 0     # restarts so far
        self.killing = False    # from a kill or stop to a healthy restart
        self.failure = None     # the first failure of any thread
        self.ops = []           # every request sent, see Worker.send()
        self.kills = 0
        self.terms = 0

    def take_ticket(self):
        with self.lock:
            if self.tickets >= OPS or self.failure is not None:
                return None
            self.tickets += 1
            return self.tickets

    def fail(self, msg):
        with self.lock:
            if self.failure is None:
                self.failure = msg
            self.lock.notify_all()

    def wait_alive(self):
        """Waits while a kill is under way; returns the generation."""
        with self.lock:
            deadline = time.monotonic() + RESTART_WAIT_S
            while self.killing and self.failure is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.failure = "the node was not restarted within %.0f s" \
                        % RESTART_WAIT_S
                    break
                self.lock.wait(left)
            return self.generation

    def wait_up(self, gen):
        """Waits until the node is up in a generation after `gen` if a kill
        is under way or happened since; returns the current generation."""
        with self.lock:
            deadline = time.monotonic() + RESTART_WAIT_S
            while (self.killing or self.generation == gen) and \
                    self.failure is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.failure = "the node was not restarted within %.0f s" \
                        % RESTART_WAIT_S
                    break
                self.lock.wait(left)
            return self.generation


class Killer(threading.Thread):
    """SIGKILLs (and once SIGTERMs) mrxd at the drawn points, restarting
    it each time."""

    def __init__(self, run, rng):
        super().__init__(daemon=True)
        self.run_ = run
        k = rng.randint(KILLS_MIN, KILLS_MAX)
        points = sorted(rng.sample(range(OPS // 10, OPS - OPS // 10), k + 1))
        term = rng.randrange(len(points))
        self.events = [(p, "SIGTERM" if i == term else "SIGKILL",
                        rng.uniform(0, 0.015)) for i, p in enumerate(points)]

    def run(self):
        r = self.run_
        try:
            for point, sig, delay in self.events:
                while True:
                    with r.lock:
                        if r.failure is not None:
                            return
                        if r.tickets >= point:
                            break
                    time.sleep(0.001)
                time.sleep(delay)
                with r.lock:
                    r.killing = True
                t = time.monotonic()
                if sig == "SIGKILL":
                    r.node.kill()
                else:
                    r.node.stop()
                t_stop = time.monotonic() - t
                r.node.start()
                with r.lock:
                    if sig == "SIGKILL":
                        r.kills += 1
                    else:
                        r.terms += 1
                    r.generation += 1
                    r.killing = False
                    r.lock.notify_all()
                print("   %s at op %d (+%.1f ms)%s; restarted in %.2f s"
                      % (sig, point, delay * 1e3, " exited 0 in %.2f s"
                         % t_stop if sig == "SIGTERM" else "",
                         time.monotonic() - t), flush=True)
        except Exception as e:
            r.fail("killer: %r" % e)


class Worker(threading.Thread):
    def __init__(self, run, wid, rng):
        super().__init__(daemon=True)
        self.run_ = run
        self.wid = wid
        self.rng = rng
        self.records = []       # this thread's records, see issue()
        self.client = None
        self.gen = 0

    def run(self):
        try:
            self._run()
        except Exception as e:
            self.run_.fail("worker %d: %r" % (self.wid, e))
        finally:
            if self.client is not None:
                self.client.close()

    def _run(self):
        r = self.run_
        while True:
            ticket = r.take_ticket()
            if ticket is None:
                return
            with r.lock:
                stale = r.killing or r.generation != self.gen
            if stale:
                # a kill happened since this connection was made
                if self.client is not None:
                    self.client.close()
                    self.client = None
                self.gen = r.wait_alive()
            if self.client is None:
                self.client = r.node.client(timeout=30)
            self.step(ticket)

    def eligible(self):
        return [x for x in self.records if not x["uncertain"] and
                x["status"] != "revoked"]

    def step(self, ticket):
        rng = self.rng
        el = self.eligible()
        u = rng.random()
        if len(el) < 3 or u < 0.4:
            self.issue(ticket)
        elif u < 0.9:
            rec = rng.choice(el)
            if rec["status"] == "valid":
                to = "suspended" if rng.random() < 0.5 else "revoked"
            else:
                to = "valid" if rng.random() < 0.6 else "revoked"
            reason = (rng.choice(REVOKE_REASONS) if to == "revoked" else
                      rng.choice(SUSPEND_REASONS) if to == "suspended" else
                      None)
            self.set_status(ticket, rec, to, reason)
        else:
            self.verify(ticket, rng.choice(self.records))

    def send(self, op, method, path, body):
        """Sends one request; fills op with its outcome: "ack" (any answer
        but a 503 "stopping"), "refused" (that 503) or "unknown" (a
        connection error). Returns the Response, or None."""
        r = self.run_
        with r.lock:
            gen = r.generation
            op["gen"] = gen
            r.ops.append(op)
        op["t_send"] = time.monotonic()
        try:
            resp = self.client.request(method, path, body=body)
        except (OSError, http.client.HTTPException) as e:
            op["t_ack"] = None
            op["outcome"] = "unknown"
            self.client.close()
            self.client = None
            with r.lock:
                spurious = not r.killing and r.generation == gen
            if spurious:
                r.fail("op %d (%s %s): %r with no kill under way: the node "
                       "dropped a connection (alive: %s)" %
                       (op["ticket"], method, path, e, r.node.alive()))
                return None
            self.gen = r.wait_up(gen)
            return None
        op["t_ack"] = time.monotonic()
        op["status_code"] = resp.status
        if resp.status == 503 and L.is_error_body(resp.json) and \
                resp.json["error"]["code"] == "stopping":
            # refused while draining: certainly not applied
            op["outcome"] = "refused"
            self.client.close()
            self.client = None
            self.gen = r.wait_up(gen)
            return None
        op["outcome"] = "ack"
        return resp

    def issue(self, ticket):
        sub = self.rng.getrandbits(128).to_bytes(16, "big").hex()
        op = {"ticket": ticket, "kind": "issue", "thread": self.wid}
        resp = self.send(op, "POST", "/v1/clearances",
                         {"sub": sub, "level": CESI, "operator": "jp.op.sub"})
        if resp is None:
            return
        if resp.status != 201:
            self.run_.fail("op %d issue: %r" % (ticket, resp))
            return
        j = resp.json
        op["answer"] = j
        self.records.append({"id": j["id"], "record": j["record"],
                             "uri": j["status"]["uri"],
                             "idx": j["status"]["idx"], "status": "valid",
                             "reason": None, "uncertain": False,
                             "changes": []})

    def set_status(self, ticket, rec, to, reason):
        body = {"status": to}
        if reason is not None:
            body["reason"] = reason
        op = {"ticket": ticket, "kind": "status", "thread": self.wid,
              "id": rec["id"], "uri": rec["uri"], "to": to, "reason": reason,
              "from": rec["status"]}
        rec["changes"].append(op)
        resp = self.send(op, "POST", "/v1/clearances/%s/status" % rec["id"],
                         body)
        if resp is None:
            rec["uncertain"] = op["outcome"] == "unknown"
            return
        j = resp.json
        if resp.status != 200 or j.get("status") != to or \
                not isinstance(j.get("seq"), int):
            self.run_.fail("op %d status %s -> %s: %r" % (ticket, rec["status"],
                                                          to, resp))
            return
        op["answer"] = j
        op["seq"] = j["seq"]
        rec["status"], rec["reason"] = to, reason

    def verify(self, ticket, rec):
        op = {"ticket": ticket, "kind": "verify", "thread": self.wid,
              "id": rec["id"]}
        resp = self.send(op, "POST", "/v1/verify",
                         {"record": rec["record"], "access": CESI})
        if resp is None:
            return
        if resp.status != 200:
            self.run_.fail("op %d verify: %r" % (ticket, resp))
            return
        op["answer"] = resp.json
        want = "accept" if rec["status"] == "valid" else "reject"
        if rec["uncertain"]:
            return
        if resp.json["decision"] != want:
            self.run_.fail("op %d verify of a %s clearance: %s (%s)" %
                           (ticket, rec["status"], resp.json["decision"],
                            resp.json["reasons"][0]["code"]))


def check_records(c, workers):
    """GET every record of every worker; compare with what was said."""
    allowed_bad = []
    n = 0
    list_seq = {}
    for w in workers:
        for rec in w.records:
            r = c.get("/v1/clearances/" + rec["id"])
            if r.status != 200:
                raise L.Fail("acknowledged issuance %s is gone: %r"
                             % (rec["id"], r))
            j = r.json
            if j["record"] != rec["record"] or j["status_ref"] != \
                    {"uri": rec["uri"], "idx": rec["idx"]}:
                raise L.Fail("record %s changed: %r" % (rec["id"], j))
            list_seq[rec["uri"]] = j["seq"]
            # the last acknowledged status, then what was sent after it
            allowed = [("valid", None)]
            for ch in rec["changes"]:
                if ch["outcome"] == "ack":
                    allowed = [(ch["to"], ch["reason"])]
                elif ch["outcome"] == "unknown":
                    allowed.append((ch["to"], ch["reason"]))
            got = (j["status"], j.get("reason"))
            if got not in allowed:
                allowed_bad.append((rec["id"], got, allowed))
            n += 1
    check(n > 0, "every acknowledged issuance (%d) is there with the same "
          "record bytes and status reference" % n)
    check(not allowed_bad, "every record has its last acknowledged status, "
          "or one sent after it without an answer", allowed_bad[:5])
    return list_seq


def check_seqs(ops, list_seq):
    """Per list: acknowledged seqs are fresh (see the file comment)."""
    by_uri = {}
    for op in ops:
        if op["kind"] == "status" and op["outcome"] == "ack":
            by_uri.setdefault(op["uri"], []).append(op)
    bad = []
    nacks = 0
    for uri, lst in by_uri.items():
        nacks += len(lst)
        seqs = [o["seq"] for o in lst]
        if len(set(seqs)) != len(seqs):
            bad.append((uri, "a seq acknowledged twice"))
        by_ack = sorted(lst, key=lambda o: o["t_ack"])
        by_send = sorted(lst, key=lambda o: o["t_send"])
        i, high = 0, 0
        for o in by_send:
            while i < len(by_ack) and by_ack[i]["t_ack"] < o["t_send"]:
                high = max(high, by_ack[i]["seq"])
                i += 1
            if o["seq"] <= high:
                bad.append((uri, "op %d got seq %d, but seq %d was "
                            "acknowledged before it was sent (generation %d)"
                            % (o["ticket"], o["seq"], high, o["gen"])))
        if max(seqs) > list_seq.get(uri, 0):
            bad.append((uri, "seq %d acknowledged, the list is at %d" %
                        (max(seqs), list_seq.get(uri, 0))))
    check(not bad, "the %d acknowledged status changes have fresh seqs on "
          "their %d lists, never reused after a kill" % (nacks, len(by_uri)),
          bad[:5])
    return by_uri


def check_db(node, by_uri, n_records):
    db = sqlite3.connect("file:%s?mode=ro" % node.db_path(), uri=True)
    try:
        deltas = {}
        for uri, seq in db.execute("SELECT uri, seq FROM deltas "
                                   "ORDER BY uri, seq"):
            deltas.setdefault(uri, []).append(seq)
        lists = dict(db.execute("SELECT uri, seq FROM lists"))
        bad = [(u, s[:3], len(s)) for u, s in deltas.items()
               if s != list(range(1, len(s) + 1))]
        check(not bad, "deltas: contiguous seq 1..N on each of %d lists"
              % len(deltas), bad)
        bad = [(u, lists.get(u), len(s)) for u, s in deltas.items()
               if lists.get(u) != len(s)]
        bad += [(u, s, 0) for u, s in lists.items()
                if s != 0 and u not in deltas]
        check(not bad, "each list's seq is its last delta's", bad)
        missing = [(u, o["seq"]) for u, lst in by_uri.items() for o in lst
                   if o["seq"] > len(deltas.get(u, []))]
        check(not missing, "every acknowledged seq has its delta", missing[:5])
        check(len(lists) > 1, "the run opened %d status lists" % len(lists))
        rows = db.execute("SELECT count(*), count(DISTINCT uri || '#' || idx) "
                          "FROM records WHERE type = ?", (TYPE_CLEARANCE,)).fetchone()
        check(rows[0] == rows[1] == n_records, "records: %d, no status index "
              "used twice" % rows[0], rows)
        kinds = dict(db.execute("SELECT kind, count(*) FROM audit "
                                "GROUP BY kind"))
        nd = sum(len(s) for s in deltas.values())
        na = db.execute("SELECT count(*) FROM alerts").fetchone()[0]
        check_eq((kinds.get(1, 0), kinds.get(2, 0), kinds.get(4, 0)),
                 (n_records, nd, na), "audit: one issue entry per record, "
                 "one status entry per delta, one alert entry per alert")
        return nd, kinds.get(3, 0)
    finally:
        db.close()


def main():
    seed = int(os.environ.get("MRX_SEED", "20240611"))
    print("seed %d (MRX_SEED reproduces the schedule)" % seed, flush=True)
    rng = random.Random(seed)
    node = L.Node("crash", conf={"status.list_size": str(LIST_SIZE)})
    node.start()
    ok("mrxd started (status.list_size %d)" % LIST_SIZE)
    run = Run(node)
    killer = Killer(run, rng)
    workers = [Worker(run, i, random.Random(rng.getrandbits(64)))
               for i in range(THREADS)]
    print("   %d operations from %d threads; after operations %s"
          % (OPS, THREADS, ", ".join("%d %s" % (p, sig) for p, sig, _ in
                                     killer.events)), flush=True)
    t0 = time.monotonic()
    killer.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join(600)
    killer.join(120)
    if run.failure is not None:
        raise L.Fail(run.failure)
    check(not killer.is_alive() and run.kills + run.terms ==
          len(killer.events), "%d SIGKILLs, %d SIGTERM (exit 0) and restarts "
          "during the stream" % (run.kills, run.terms))
    ops = run.ops
    acked = [o for o in ops if o["outcome"] == "ack"]
    kinds = {}
    for o in ops:
        key = (o["kind"], o["outcome"])
        kinds[key] = kinds.get(key, 0) + 1
    print("   %d operations in %.1f s: %s" % (len(ops), time.monotonic() - t0,
          ", ".join("%s %s %d" % (k[0], k[1], v) for k, v in sorted(kinds.items()))),
          flush=True)
    check(len(acked) >= OPS * 0.9, "most operations were acknowledged "
          "(%d of %d)" % (len(acked), len(ops)))

    c = node.client()
    list_seq = check_records(c, workers)
    by_uri = check_seqs(ops, list_seq)
    issued_ack = kinds.get(("issue", "ack"), 0)
    issued_unknown = kinds.get(("issue", "unknown"), 0)
    m = L.metrics(c)
    n_records = int(m['mrx_records_total{type="clearance"}'])
    check(issued_ack <= n_records <= issued_ack + issued_unknown,
          "records: %d, between the %d acknowledged issuances and those plus "
          "the %d unanswered" % (n_records, issued_ack, issued_unknown))
    c.close()
    node.stop()
    ok("SIGTERM: mrxd exited 0")

    nd, ndec = check_db(node, by_uri, n_records)
    st_ack = kinds.get(("status", "ack"), 0)
    st_unknown = kinds.get(("status", "unknown"), 0)
    check(st_ack <= nd <= st_ack + st_unknown, "deltas: %d, between the %d "
          "acknowledged status changes and those plus the %d unanswered"
          % (nd, st_ack, st_unknown))
    v_ack = kinds.get(("verify", "ack"), 0)
    v_unknown = kinds.get(("verify", "unknown"), 0)
    check(v_ack <= ndec <= v_ack + v_unknown, "decisions in the audit log: "
          "%d, between the %d acknowledged and those plus the %d unanswered"
          % (ndec, v_ack, v_unknown))
    r = node.mrx("audit", "verify", "--data", node.data)
    check(r.returncode == 0 and "intact" in r.stdout,
          "mrx audit verify: intact", r.stdout.strip() + r.stderr.strip())
    ok(r.stdout.strip())


if __name__ == "__main__":
    L.run(main)
