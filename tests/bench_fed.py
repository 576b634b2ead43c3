#!/usr/bin/env python3
"""
bench_fed.py - the federation's benchmark: real mrxd processes on loopback,
linked over nng tls+tcp:// with mutual TLS (tests/fedlib.py builds them),
driven over their HTTP/JSON API. Every figure is printed next to a baseline
taken in the same run: the machine is small and shared, so an absolute
figure means little on its own.

Part 1, propagation. One issuer (jp.meti, delegated by the root jp.cao) and
--operators operator processes (jp.op.NN, each small: status.list_size 64,
engine.watches_max 1000, log level warn), each following the issuer's feed.
The issuer issues --revocations clearances; every operator verifies every
one of them (accept: the clearance is watched). One long-poll waiter thread
per operator (GET /v1/alerts?since=N&wait=S on its own keep-alive
connection) stamps each alert with time.monotonic() as it arrives. The
clearances are then revoked one by one, --spacing apart; each latency runs
from the start of the issuer's POST /v1/clearances/{id}/status to the
alert at one operator: p50, p90, p99 and max over all (revocation x
operator) pairs, against the 100 ms target. Baselines: the round trip of
GET /v1/health to an operator over the same kind of connection (what the
harness itself costs), measured between the revocations; and the field's
periodic revocation lists (CRLs refreshed every 30 min or 24 h: a
revocation waits uniformly in 0..T for the next refresh, so p50 = T/2 and
p99 = 0.99 T, distribution delays not counted).

Part 2, sustained feed rate. One issuer holding --feed-clearances
clearances, --subscribers operators whose link to it has the default peer
rate limit (100 messages/s, burst 200) and --fast-subscribers whose link
has --fast-rate. Status changes (suspend, reinstate: each one signed delta)
go to the issuer as fast as it takes them, closed loop from --conns
keep-alive connections (one generator thread, epoll), for --feed-seconds.
Reported: changes/s committed at the issuer (every one acknowledged 200,
i.e. after its commit), deltas/s applied at each subscriber (GET
/v1/federation feeds.deltas, sampled every second), the peer messages each
subscriber refused (rate-limited), the catch-ups it asked and the answers
it admitted (/metrics), and whether every subscriber holds the issuer's
seq within --converge-s after the load stopped (held seq read as
evidence.status_seq of a POST /v1/verify). The baseline: the same issuer's
rate and CPU time per change with no subscriber running, measured before
the subscribers start and again after they stop (their mean).

Part 3, catch-up. An issuer whose list holds --catchup-deltas deltas
(suspend / reinstate of a few entries, from many connections: the
preparation is timed on its own), then:
  - the delta catch-up: an operator that followed the list through its
    first 3 deltas and was stopped during the preparation is started
    again; time from its start to holding the issuer's seq, and its
    progress over time (the held seq from a POST /v1/verify every 0.1 s;
    deltas, lists and catch-ups from GET /v1/federation; the CPU time of
    both nodes); given up after --catchup-cap seconds, the rate and the
    projected time are reported then;
  - a fresh operator (never subscribed): time from its start to holding
    the issuer's seq (it is served the whole list at that seq, no deltas).
Target < 5 s for the 100,000 deltas.

The summary table at the end gives every figure, its target or baseline and
met / not met; the last line is the same as JSON. Targets are reported,
not asserted: exit 0 when the run completed, 1 on a harness error (a node
that did not start, an answer that was not the one expected), 2 usage.

mrx and mrxd come from MRX_BIN and MRXD_BIN (tests/meson.build sets them);
every node lives in a temporary directory removed at exit.

usage: bench_fed.py [--parts 1,2,3] [--operators N] [--revocations N]
                    [--spacing S] [--subscribers N] [--fast-subscribers N]
                    [--fast-rate R] [--feed-clearances N] [--feed-seconds S]
                    [--converge-s S] [--conns N] [--catchup-deltas N]
                    [--catchup-cap S] [--quick]
"""
import argparse
import http.client
import json
import os
import selectors
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedlib  # noqa: E402
import nodelib  # noqa: E402
from fedlib import Federation, wait_for  # noqa: E402
from nodelib import Fail  # noqa: E402

LEVEL = "JP-CESI:CONFIDENTIAL"
PROPAGATION_TARGET_MS = 100.0
CATCHUP_TARGET_S = 5.0
SMALL_OPERATOR = {"log.level": "warn", "status.list_size": "64",
                  "engine.watches_max": "1000"}

summary = []        # rows: (part, what, measured, target/baseline, verdict)
result_json = {}


def say(msg=""):
    print(msg, flush=True)


def row(part, what, measured, versus, verdict=""):
    summary.append((part, what, measured, versus, verdict))


def pct(xs, p):
    """The p-th percentile (nearest rank) of xs, or None."""
    if not xs:
        return None
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def ms(x):
    return "-" if x is None else ("%.1f ms" % (x * 1e3))


def cpu_s(pid):
    """CPU seconds of a process's live threads (schedstat: nanoseconds),
    else user + system from /proc/PID/stat (clock ticks)."""
    try:
        tot = 0
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    tot += int(f.read().split()[0])
            except OSError:
                pass
        return tot / 1e9
    except OSError:
        pass
    try:
        with open("/proc/%d/stat" % pid) as f:
            f = f.read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def fresh_sub(i, salt):
    return "%08x%024x" % (salt & 0xffffffff, i)


# ---- a closed-loop HTTP load generator: raw sockets, epoll, one thread ----

def http_bytes(method, path, token, body=None):
    b = b"" if body is None else json.dumps(body).encode()
    h = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % (method, path)
    if token:
        h += "Authorization: Bearer %s\r\n" % token
    if body is not None:
        h += ("Content-Type: application/json\r\nContent-Length: %d\r\n"
              % len(b))
    return (h + "\r\n").encode() + b


class _GenConn:
    def __init__(self, port):
        self.port = port
        self.s = None
        self.buf = b""
        self.ctx = None
        self.out = b""
        self.open()

    def open(self):
        self.s = socket.create_connection(("127.0.0.1", self.port),
                                          timeout=30)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.setblocking(False)
        self.buf = b""

    def parse(self):
        """(status, body, close) of a complete response in buf, or None."""
        i = self.buf.find(b"\r\n\r\n")
        if i < 0:
            return None
        head = self.buf[:i].decode("latin-1").split("\r\n")
        n, close = 0, False
        for line in head[1:]:
            k, _, v = line.partition(":")
            k = k.strip().lower()
            if k == "content-length":
                n = int(v)
            elif k == "connection" and v.strip().lower() == "close":
                close = True
        if len(self.buf) < i + 4 + n:
            return None
        body = self.buf[i + 4:i + 4 + n]
        self.buf = self.buf[i + 4 + n:]
        return int(head[0].split(" ", 2)[1]), body, close


def drive(port, nconns, next_req, on_resp, seconds=None):
    """
    Closed loop: each of nconns connections sends next_req(c) -> (bytes,
    ctx) or None (that connection is done), waits for the whole answer,
    calls on_resp(c, ctx, status, body, t_sent, t_done), and sends the
    next. Ends when every connection is done or `seconds` have passed
    (requests in flight are awaited). Returns the elapsed seconds.
    """
    sel = selectors.DefaultSelector()
    conns = [_GenConn(port) for _ in range(nconns)]
    live = 0
    t0 = time.monotonic()
    deadline = None if seconds is None else t0 + seconds

    def send_next(i, c):
        nonlocal live
        if deadline is not None and time.monotonic() >= deadline:
            return False
        r = next_req(i)
        if r is None:
            return False
        c.out, c.ctx = r
        c.t_sent = time.monotonic()
        try:
            k = c.s.send(c.out)
        except BlockingIOError:
            k = 0
        c.out = c.out[k:]
        ev = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0)
        sel.register(c.s, ev, (i, c))
        live += 1
        return True

    try:
        for i, c in enumerate(conns):
            send_next(i, c)
        while live > 0:
            for key, mask in sel.select(timeout=30):
                i, c = key.data
                if mask & selectors.EVENT_WRITE and c.out:
                    k = c.s.send(c.out)
                    c.out = c.out[k:]
                    if not c.out:
                        sel.modify(c.s, selectors.EVENT_READ, key.data)
                if not mask & selectors.EVENT_READ:
                    continue
                try:
                    b = c.s.recv(262144)
                except BlockingIOError:
                    continue
                if not b:
                    raise Fail("the node closed a load connection "
                               "(port %d)" % port)
                c.buf += b
                r = c.parse()
                if r is None:
                    continue
                status, body, close = r
                t = time.monotonic()
                sel.unregister(c.s)
                live -= 1
                on_resp(i, c.ctx, status, body, c.t_sent, t)
                if close:
                    c.s.close()
                    c.open()
                send_next(i, c)
            if live > 0 and not sel.get_map():
                break
    finally:
        sel.close()
        for c in conns:
            c.s.close()
    return time.monotonic() - t0


def issue_many(node, count, nconns, salt):
    """Issues `count` clearances through the API: [(id, uri, idx)]."""
    out = []
    left = [count]

    def nxt(c):
        if left[0] == 0:
            return None
        left[0] -= 1
        i = left[0]
        return http_bytes("POST", "/v1/clearances", node.token, {
            "sub": fresh_sub(i, salt), "level": LEVEL,
            "operator": "jp.op.sub"}), i

    def got(c, ctx, status, body, t0, t1):
        if status != 201:
            raise Fail("issue at %s: %d %r" % (node.id, status, body[:200]))
        j = json.loads(body)
        out.append((j["id"], j["status"]["uri"], j["status"]["idx"],
                    j["record"]))

    drive(node.port, nconns, nxt, got)
    return out


class Toggler:
    """Status changes as fast as the issuer takes them: each connection
    owns a disjoint share of the clearances and flips each of them between
    suspended and valid in turn, so every change is a real change (one
    delta). `limit`: stop after that many changes in all."""

    def __init__(self, node, ids, nconns, limit=None):
        self.node = node
        self.nconns = nconns
        self.share = [ids[c::nconns] for c in range(nconns)]
        self.state = {i: "valid" for i in ids}
        self.pos = [0] * nconns
        self.limit = limit
        self.sent = 0
        self.done = 0
        self.last_seq = 0
        self.lat = []

    def next_req(self, c):
        if self.limit is not None and self.sent >= self.limit:
            return None
        sh = self.share[c]
        if not sh:
            return None
        rid = sh[self.pos[c] % len(sh)]
        self.pos[c] += 1
        to = "suspended" if self.state[rid] == "valid" else "valid"
        body = {"status": to, "reason": "SUSPENDED_PENDING_REVIEW"
                if to == "suspended" else "REINSTATED"}
        self.sent += 1
        return http_bytes("POST", "/v1/clearances/%s/status" % rid,
                          self.node.token, body), (rid, to)

    def on_resp(self, c, ctx, status, body, t0, t1):
        rid, to = ctx
        if status != 200:
            raise Fail("status change at %s: %d %r" % (self.node.id, status,
                                                      body[:200]))
        self.state[rid] = to
        self.done += 1
        self.lat.append(t1 - t0)
        seq = json.loads(body)["seq"]
        if seq > self.last_seq:
            self.last_seq = seq

    def run(self, seconds=None):
        return drive(self.node.port, self.nconns, self.next_req,
                     self.on_resp, seconds)


# ---- small helpers over the API ----

def fed_info(node):
    return fedlib.federation_info(node)


def held_seq(node, record):
    """The seq of the issuer's list `node` holds, from a verify's evidence
    (None when it holds no list for it)."""
    c = node.client(timeout=10)
    try:
        r = c.post("/v1/verify", {"record": record, "access": LEVEL})
        if r.status != 200:
            raise Fail("verify at %s: %r" % (node.id, r))
        return r.json.get("evidence", {}).get("status_seq")
    finally:
        c.close()


def issuer_seq(node, rid):
    c = node.client()
    try:
        r = c.get("/v1/clearances/%s" % rid)
        if r.status != 200:
            raise Fail("get clearance at %s: %r" % (node.id, r))
        return r.json["seq"]
    finally:
        c.close()


def cu_answers(node):
    """Catch-up answers the node admitted (from /metrics)."""
    c = node.client()
    try:
        return int(nodelib.metrics(c).get(
            'mrx_peer_messages_total{type="catchup-response"}', 0))
    finally:
        c.close()


def subscribed(node):
    """True once the node holds a list of the issuer and a checkpoint came
    over the feed (so the pub/sub link is up)."""
    f = fed_info(node)["feeds"]
    return f["lists"] >= 1 and f["checkpoints"] >= 1


def start_parallel(nodes, width=8):
    """Starts mrxd on every node, `width` at a time (each start waits for
    its /v1/health)."""
    errs = []
    it = iter(nodes)
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                n = next(it, None)
            if n is None:
                return
            try:
                n.start()
            except BaseException as e:      # re-raised below
                errs.append(e)
                return

    ts = [threading.Thread(target=worker) for _ in range(width)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        raise errs[0]


def drop(fed):
    """Kills the federation's processes, removes its directories, and takes
    its nodes off nodelib's list (whose failure report would print their
    logs, gone by then: log_tails printed what they said)."""
    fed.cleanup()
    for n in fed.nodes:
        if n in nodelib._nodes:
            nodelib._nodes.remove(n)


def log_tails(fed):
    """On a failure, before the directories go: the logs that say something."""
    for n in fed.nodes:
        t = n.log_tail(15)
        if t.strip():
            say("--- tail of %s (%s)" % (n.log_path, n.id))
            say(t)


def new_federation(nops, prefix, issuer_conf, op_conf, rates=None):
    """A root (not started), the issuer jp.meti and nops operators, each
    following the issuer's feed over tls+tcp; rates[i]: the peer rate limit
    (messages/s and burst, both sides) of operator i's link, None for the
    default."""
    fed = Federation()
    cao = fed.root("jp.cao", "JP")
    meti = fed.issuer("jp.meti", "JP", cao)
    ops = [fed.operator("%s%02d" % (prefix, i), "JP") for i in range(nops)]
    for i, op in enumerate(ops):
        fed.link(op, meti, rate=rates[i] if rates else None)
    fed.trust_all()
    fed.write_all()
    meti.set_conf(issuer_conf)
    for op in ops:
        op.set_conf(op_conf)
    return fed, meti, ops


# ---- part 1: propagation ----

class Waiter(threading.Thread):
    """One operator's alert long-poll, on its own keep-alive connection."""

    def __init__(self, node, wait_s=2):
        threading.Thread.__init__(self, daemon=True)
        self.node = node
        self.wait_s = wait_s
        self.arrived = {}           # record_id -> monotonic time
        self.stop = False
        self.ready = threading.Event()
        self.error = None
        self.polls = 0

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.node.port,
                                          timeout=self.wait_s + 20)
        hdr = {"Authorization": "Bearer " + self.node.token}
        since = 0
        try:
            while not self.stop:
                conn.request("GET", "/v1/alerts?since=%d&wait=%d"
                             % (since, self.wait_s), headers=hdr)
                self.ready.set()
                r = conn.getresponse()
                body = r.read()
                t = time.monotonic()
                self.polls += 1
                if r.status != 200:
                    raise Fail("alerts at %s: %d %r" % (self.node.id,
                                                        r.status, body))
                j = json.loads(body)
                for a in j["alerts"]:
                    if a.get("status") == "revoked":
                        self.arrived.setdefault(a["record_id"], t)
                since = max(since, j["last"])
        except BaseException as e:
            self.error = e
            self.ready.set()
        finally:
            conn.close()


def part1(a):
    say("== part 1: revocation propagation, 1 issuer -> %d operators over "
        "tls+tcp" % a.operators)
    t_setup = time.monotonic()
    fed, meti, ops = new_federation(
        a.operators, "jp.op.", {"log.level": "warn",
                                "status.list_size": "1024"},
        SMALL_OPERATOR)
    try:
        t_start = time.monotonic()
        meti.start()
        start_parallel(ops)
        say("  %d nodes made (mrx init, certificates) in %.1f s, their mrxd "
            "started in %.1f s (operator RSS ~%d KiB each)"
            % (len(ops) + 1, t_start - t_setup, time.monotonic() - t_start,
               rss_kib(ops[0].proc.pid)))
        clr = issue_many(meti, a.revocations, 4, 0x1)
        t = time.monotonic()
        for op in ops:
            wait_for(lambda: subscribed(op), 30,
                     "%s to follow jp.meti's feed" % op.id, step=0.1)
        say("  %d clearances issued; every operator follows the feed "
            "(%.1f s)" % (len(clr), time.monotonic() - t))

        # every operator verifies every clearance: accept, watched
        errs = []

        def verify_all(op):
            c = op.client()
            try:
                for rid, uri, idx, rec in clr:
                    r = c.post("/v1/verify", {"record": rec, "access": LEVEL})
                    if r.status != 200 or r.json["decision"] != "accept":
                        errs.append("%s: %r" % (op.id, r))
                        return
            except BaseException as e:
                errs.append("%s: %r" % (op.id, e))
            finally:
                c.close()
        ths = [threading.Thread(target=verify_all, args=(op,)) for op in ops]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        if errs:
            raise Fail("verify before the revocations: %s" % errs[0])
        say("  %d verifications accepted (each clearance now watched at "
            "every operator)" % (len(ops) * len(clr)))

        waiters = [Waiter(op) for op in ops]
        for w in waiters:
            w.start()
        for w in waiters:
            w.ready.wait(10)
        time.sleep(0.3)             # the first long-polls are held now
        ic = meti.client()
        hc = [op.client(token=False) for op in ops[:5]]
        sent = {}                   # record_id -> t0
        api_lat, health = [], []
        cpu0 = cpu_s(meti.proc.pid)
        ocpu0 = sum(cpu_s(op.proc.pid) for op in ops)
        f0 = [fed_info(op)["feeds"] for op in ops]
        for k, (rid, uri, idx, rec) in enumerate(clr):
            t0 = time.monotonic()
            r = ic.post("/v1/clearances/%s/status" % rid,
                        {"status": "revoked",
                         "reason": "ELIGIBILITY_REVOKED"})
            t1 = time.monotonic()
            if r.status != 200:
                raise Fail("revoke at jp.meti: %r" % r)
            sent[rid] = t0
            api_lat.append(t1 - t0)
            # the harness's own cost: GET /v1/health to an operator, once
            # this revocation's alerts are in (or 120 ms on)
            lim = t0 + 0.12
            while time.monotonic() < lim and not all(
                    rid in w.arrived for w in waiters):
                time.sleep(0.002)
            for _ in range(5):
                c = hc[k % len(hc)]
                h0 = time.monotonic()
                hr = c.get("/v1/health", auth=False)
                health.append(time.monotonic() - h0)
                if hr.status != 200:
                    raise Fail("health: %r" % hr)
            while time.monotonic() < t0 + a.spacing:
                time.sleep(0.002)
        cpu1 = cpu_s(meti.proc.pid)
        ocpu1 = sum(cpu_s(op.proc.pid) for op in ops)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(
                len(w.arrived) >= len(clr) for w in waiters):
            time.sleep(0.02)
        for w in waiters:
            w.stop = True
        for w in waiters:
            w.join(w.wait_s + 5)
            if w.error is not None:
                raise Fail("alert waiter of %s: %r" % (w.node.id, w.error))
        ic.close()
        for c in hc:
            c.close()

        lat, missing, spread, firsts, each = [], 0, [], [], []
        for rid, t0 in sent.items():
            per = [w.arrived[rid] - t0 for w in waiters if rid in w.arrived]
            missing += len(waiters) - len(per)
            lat += per
            if per:
                spread.append(max(per) - min(per))
                firsts.append(min(per))
                each.append("%.0f/%.0f/%.0f/%.0f" % (
                    api_lat[len(each)] * 1e3, min(per) * 1e3,
                    pct(per, 50) * 1e3, max(per) * 1e3))
            else:
                each.append("-")
        n = len(sent) * len(waiters)
        p50, p90, p99, mx = (pct(lat, 50), pct(lat, 90), pct(lat, 99),
                             max(lat) if lat else None)
        h50, h99 = pct(health, 50), pct(health, 99)
        say("  revocation -> alert at each operator, %d pairs (%d missing "
            "after 10 s):" % (n, missing))
        say("    p50 %s  p90 %s  p99 %s  max %s   (target p99 < %.0f ms)"
            % (ms(p50), ms(p90), ms(p99), ms(mx), PROPAGATION_TARGET_MS))
        say("    first operator p50 %s; spread first..last operator per "
            "revocation p50 %s, max %s" % (ms(pct(firsts, 50)),
                                           ms(pct(spread, 50)),
                                           ms(max(spread) if spread
                                              else None)))
        say("    each revocation in turn, ms: issuer API/first/p50/last "
            "operator:")
        for i in range(0, len(each), 10):
            say("      " + " ".join(each[i:i + 10]))
        f1 = [fed_info(op)["feeds"] for op in ops]
        how = {k: sum(b[k] - a[k] for a, b in zip(f0, f1))
               for k in ("deltas", "lists", "catchups_sent")}
        say("    at the operators, in all: %d deltas applied, %d whole "
            "lists installed, %d catch-ups asked; operator CPU %.2f ms "
            "per revocation each" % (how["deltas"], how["lists"],
                                      how["catchups_sent"],
                                      (ocpu1 - ocpu0) * 1e3 / len(clr) /
                                      len(ops)))
        say("    issuer API call (200 after commit) p50 %s p99 %s; issuer "
            "CPU %.1f ms per revocation" % (ms(pct(api_lat, 50)),
                                           ms(pct(api_lat, 99)),
                                           (cpu1 - cpu0) * 1e3 / len(clr)))
        say("    baseline, GET /v1/health round trip to an operator (%d): "
            "p50 %s p99 %s" % (len(health), ms(h50), ms(h99)))
        met = p99 is not None and missing == 0 and \
            p99 * 1e3 < PROPAGATION_TARGET_MS
        for name, T in (("30 min", 1800.0), ("24 h", 86400.0)):
            say("    vs periodic lists refreshed every %s: p50 %.0f s, p99 "
                "%.0f s -> %.0fx (p50), %.0fx (p99) sooner"
                % (name, T / 2, 0.99 * T, T / 2 / p50, 0.99 * T / p99))
        row(1, "propagation p50 (%d ops x %d revocations)"
            % (len(ops), len(sent)), ms(p50), "health RTT p50 %s" % ms(h50))
        row(1, "propagation p90", ms(p90), "")
        row(1, "propagation p99", ms(p99), "< %.0f ms" %
            PROPAGATION_TARGET_MS, "met" if met else "NOT MET")
        row(1, "propagation max / missing", "%s / %d" % (ms(mx), missing),
            "health RTT p99 %s" % ms(h99))
        row(1, "vs CRL every 30 min (p99 29.7 min)", "%.0fx sooner" %
            (0.99 * 1800 / p99), "")
        row(1, "vs CRL every 24 h (p99 23.8 h)", "%.0fx sooner" %
            (0.99 * 86400 / p99), "")
        result_json["propagation"] = {
            "operators": len(ops), "revocations": len(sent),
            "p50_ms": p50 * 1e3, "p90_ms": p90 * 1e3, "p99_ms": p99 * 1e3,
            "max_ms": mx * 1e3, "missing": missing,
            "health_p50_ms": h50 * 1e3, "health_p99_ms": h99 * 1e3,
            "api_p50_ms": pct(api_lat, 50) * 1e3, "met": met}
        dead = [n.id for n in [meti] + ops if not n.alive()]
        if dead:
            raise Fail("mrxd died during part 1: %s" % dead)
    except BaseException:
        log_tails(fed)
        raise
    finally:
        drop(fed)


# ---- part 2: sustained feed rate ----

def load_round(meti, ids, conns, seconds):
    """Status changes for `seconds`: (the Toggler, elapsed s, issuer CPU
    s)."""
    tg = Toggler(meti, ids, conns)
    c0 = cpu_s(meti.proc.pid)
    el = tg.run(seconds)
    c1 = cpu_s(meti.proc.pid)
    return tg, el, c1 - c0


def part2(a):
    nsub = a.subscribers + a.fast_subscribers
    say("== part 2: sustained feed rate, 1 issuer -> %d subscribers (%d "
        "with the default peer rate limit, %d with %d messages/s)"
        % (nsub, a.subscribers, a.fast_subscribers, a.fast_rate))
    rates = [None] * a.subscribers + [a.fast_rate] * a.fast_subscribers
    fed, meti, ops = new_federation(
        nsub, "jp.op.feed", {"log.level": "warn",
                             "status.list_size": "8192"},
        SMALL_OPERATOR, rates)
    limit = {op.id: ("default limit" if rates[i] is None else
                     "limit %d/s" % rates[i]) for i, op in enumerate(ops)}
    try:
        meti.start()
        t = time.monotonic()
        clr = issue_many(meti, a.feed_clearances, a.conns, 0x2)
        uris = {c[1] for c in clr}
        say("  %d clearances issued in %.1f s (%d list(s))"
            % (len(clr), time.monotonic() - t, len(uris)))
        ids = [c[0] for c in clr]
        probe = clr[0]
        base_s = max(2.0, a.feed_seconds / 2)

        tg, el, cpu = load_round(meti, ids, a.conns, base_s)
        b1 = tg.done / el
        b1_cpu = cpu / max(1, tg.done)
        say("  baseline, no subscriber: %.0f changes/s (%d in %.1f s), "
            "API p50 %s p99 %s, issuer CPU %.0f us/change"
            % (b1, tg.done, el, ms(pct(tg.lat, 50)), ms(pct(tg.lat, 99)),
               b1_cpu * 1e6))

        start_parallel(ops)
        for op in ops:
            wait_for(lambda: subscribed(op), 30, "%s to follow" % op.id,
                     step=0.1)
        s_now = issuer_seq(meti, probe[0])
        for op in ops:
            wait_for(lambda: held_seq(op, probe[3]) == s_now, 30,
                     "%s to hold seq %d" % (op.id, s_now), step=0.1)
        say("  %d subscribers follow the feed at seq %d"
            % (len(ops), s_now))

        f0 = {op.id: fed_info(op) for op in ops}
        ca0 = {op.id: cu_answers(op) for op in ops}
        oc0 = {op.id: cpu_s(op.proc.pid) for op in ops}
        samples = []                # (t, {op: deltas})
        stop = threading.Event()

        def sampler():
            cl = {op.id: op.client() for op in ops}
            try:
                while not stop.is_set():
                    t = time.monotonic()
                    d = {}
                    for op in ops:
                        r = cl[op.id].get("/v1/federation")
                        d[op.id] = r.json["feeds"]["deltas"]
                    samples.append((t, d))
                    stop.wait(1.0)
            finally:
                for c in cl.values():
                    c.close()
        sth = threading.Thread(target=sampler, daemon=True)
        sth.start()
        tg, el, cpu = load_round(meti, ids, a.conns, a.feed_seconds)
        t_stop = time.monotonic()
        rate = tg.done / el
        s_end = issuer_seq(meti, probe[0])
        f_stop = {op.id: fed_info(op) for op in ops}
        # convergence: every subscriber holds the issuer's final seq
        conv = {}
        deadline = t_stop + a.converge_s
        pending = list(ops)
        while pending and time.monotonic() < deadline:
            for op in list(pending):
                if held_seq(op, probe[3]) == s_end:
                    conv[op.id] = time.monotonic() - t_stop
                    pending.remove(op)
            time.sleep(0.05)
        stop.set()
        sth.join(5)
        f1 = {op.id: fed_info(op) for op in ops}
        ca1 = {op.id: cu_answers(op) for op in ops}
        oc1 = {op.id: cpu_s(op.proc.pid) for op in ops}
        say("  with %d subscribers: %.0f changes/s committed (%d in %.1f "
            "s), API p50 %s p99 %s, issuer CPU %.0f us/change; issuer seq "
            "%d" % (len(ops), rate, tg.done, el, ms(pct(tg.lat, 50)),
                    ms(pct(tg.lat, 99)), cpu / max(1, tg.done) * 1e6,
                    s_end))
        sub_rates = {}
        for op in ops:
            d_load = (f_stop[op.id]["feeds"]["deltas"] -
                      f0[op.id]["feeds"]["deltas"])
            d_all = (f1[op.id]["feeds"]["deltas"] -
                     f0[op.id]["feeds"]["deltas"])
            r = d_load / el
            sub_rates[op.id] = r
            ref = f1[op.id]["refused"]
            series = []
            prev = None
            for t, d in samples:
                if prev is not None and t <= t_stop + 0.5:
                    series.append("%.0f" % ((d[op.id] - prev[1][op.id]) /
                                            (t - prev[0])))
                prev = (t, d)
            say("    %s (%s): %.0f deltas/s applied during the load (%d), "
                "%d by convergence; catch-ups asked %d, answers admitted "
                "%d; peer messages refused %s; CPU %.0f us/delta; "
                "converged %s" % (
                    op.id, limit[op.id], r, d_load, d_all,
                    f1[op.id]["feeds"]["catchups_sent"] -
                    f0[op.id]["feeds"]["catchups_sent"],
                    ca1[op.id] - ca0[op.id],
                    json.dumps(ref, sort_keys=True),
                    (oc1[op.id] - oc0[op.id]) / max(1, d_all) * 1e6,
                    ("after %.2f s" % conv[op.id]) if op.id in conv else
                    "NO (not within %.0f s)" % a.converge_s))
            say("      deltas/s each second: %s" % " ".join(series))
        for op in ops:
            op.stop()
        tg2, el2, cpu2 = load_round(meti, ids, a.conns, base_s)
        b2 = tg2.done / el2
        base = (b1 + b2) / 2
        say("  baseline again, subscribers stopped: %.0f changes/s, issuer "
            "CPU %.0f us/change; baseline mean %.0f changes/s"
            % (b2, cpu2 / max(1, tg2.done) * 1e6, base))
        all_conv = len(conv) == len(ops)
        c_sub = cpu / max(1, tg.done)
        c_base = (b1_cpu + cpu2 / max(1, tg2.done)) / 2
        row(2, "issuer changes/s, %d subscribers" % len(ops), "%.0f/s" % rate,
            "no subscriber %.0f/s (x%.2f)" % (base, rate / base))
        row(2, "issuer CPU per change, %d subscribers" % len(ops),
            "%.0f us" % (c_sub * 1e6), "no subscriber %.0f us (x%.2f)"
            % (c_base * 1e6, c_sub / c_base))
        for kind, sel in (("default peer limit", lambda i: rates[i] is None),
                          ("limit %d/s" % a.fast_rate,
                           lambda i: rates[i] is not None)):
            rs = [sub_rates[op.id] for i, op in enumerate(ops) if sel(i)]
            if rs:
                row(2, "deltas/s applied per subscriber, %s" % kind,
                    "%.0f..%.0f/s" % (min(rs), max(rs)),
                    "issuer %.0f/s (x%.2f)" % (rate, min(rs) / rate))
        row(2, "subscribers converged after the load", "%d/%d, %s" % (
            len(conv), len(ops), ("max %.2f s" % max(conv.values()))
            if conv else "-"), "within %.0f s" % a.converge_s,
            "met" if all_conv else "NOT MET")
        result_json["feed"] = {
            "issuer_changes_per_s": rate, "baseline_changes_per_s": base,
            "issuer_cpu_us_per_change": c_sub * 1e6,
            "baseline_cpu_us_per_change": c_base * 1e6,
            "subscriber_deltas_per_s": sub_rates, "limits": limit,
            "converged": len(conv), "subscribers": len(ops),
            "converge_s": conv}
    except BaseException:
        log_tails(fed)
        raise
    finally:
        drop(fed)


# ---- part 3: catch-up ----

def part3(a):
    n_cu = a.catchup_deltas
    say("== part 3: catch-up of %d deltas" % n_cu)
    fed, meti, ops = new_federation(
        2, "jp.op.cu", {"log.level": "warn", "status.list_size": "1024"},
        SMALL_OPERATOR)
    behind, fresh = ops
    try:
        meti.start()
        clr = issue_many(meti, 64, 4, 0x3)
        uri = clr[0][1]
        clr = [c for c in clr if c[1] == uri]
        probe = clr[0]
        ids = [c[0] for c in clr[1:]]
        behind.start()
        wait_for(lambda: subscribed(behind), 30, "%s to follow" % behind.id,
                 step=0.1)
        # a few live changes first, one at a time, so that the operator
        # holds a list that deltas have moved on from seq 0: the catch-up
        # below then starts from a chained head, the general case (before
        # commit f268267 a list held at seq 0 had no head after delta 1,
        # and such a catch-up fetched the whole list instead of deltas)
        warm = Toggler(meti, ids[:1], 1, limit=1)
        for k in range(3):
            warm.limit = k + 1
            warm.run()
            wait_for(lambda: held_seq(behind, probe[3]) == warm.last_seq,
                     10, "%s to hold seq %d" % (behind.id, warm.last_seq),
                     step=0.05)
        s0 = held_seq(behind, probe[3])
        behind.stop()
        say("  %s follows the list %s at seq %d, then stops"
            % (behind.id, uri, s0))

        # the preparation: n_cu more changes in the list; the last two
        # (single) suspend and reinstate the probe, so its verify accepts
        # and names the newest seq
        target = s0 + n_cu
        tg = Toggler(meti, ids[1:], a.conns, limit=n_cu - 2)
        c0 = cpu_s(meti.proc.pid)
        t = time.monotonic()
        tg.run()
        ic = meti.client()
        for st in ("suspended", "valid"):
            r = ic.post("/v1/clearances/%s/status" % probe[0], {
                "status": st, "reason": "SUSPENDED_PENDING_REVIEW"
                if st == "suspended" else "REINSTATED"})
            if r.status != 200:
                raise Fail("status at jp.meti: %r" % r)
        ic.close()
        prep = time.monotonic() - t
        prep_cpu = cpu_s(meti.proc.pid) - c0
        seq = issuer_seq(meti, probe[0])
        say("  preparation: %d changes in %.1f s = %.0f changes/s (%d "
            "connections), issuer CPU %.0f us/change; list at seq %d"
            % (tg.done + 2, prep, (tg.done + 2) / prep, a.conns,
               prep_cpu / (tg.done + 2) * 1e6, seq))
        if seq != target:
            raise Fail("the list is at seq %d, expected %d" % (seq, target))

        # the delta catch-up: the operator that stopped at s0 starts again
        mi0 = fed_info(meti)["messages"]["in_requests"]
        mc0 = cpu_s(meti.proc.pid)
        t0 = time.monotonic()
        behind.start()
        t_up = time.monotonic() - t0
        c0 = cpu_s(behind.proc.pid)
        cl = behind.client()
        series = []                 # (t, held seq, deltas, lists, catchups)
        done_at = None
        last_print = t0
        while True:
            hs = held_seq(behind, probe[3]) or 0
            now = time.monotonic()
            f = cl.get("/v1/federation").json["feeds"]
            series.append((now - t0, hs, f["deltas"], f["lists"],
                           f["catchups_sent"]))
            if hs >= target:
                done_at = now - t0
                break
            if now - t0 > a.catchup_cap:
                break
            if now - last_print >= 10:
                last_print = now
                say("    ... %.0f s: seq %d of %d" % (now - t0, hs, target))
            time.sleep(0.1)
        cl.close()
        cpu_b = cpu_s(behind.proc.pid) - c0
        cpu_m = cpu_s(meti.proc.pid) - mc0
        served = fed_info(meti)["messages"]["in_requests"] - mi0
        fb = fed_info(behind)["feeds"]
        end = series[-1]
        got = end[1] - s0
        # progress over time: seqs gained in each second since the start
        at_s, k = [], 0
        for sec in range(1, int(end[0]) + 2):
            while k + 1 < len(series) and series[k + 1][0] <= sec:
                k += 1
            at_s.append(max(s0, series[k][1]))
        inc = [at_s[0] - s0] + [at_s[i] - at_s[i - 1]
                                for i in range(1, len(at_s))]
        moving = [x for x in series if x[1] > s0]
        t_first = moving[0][0] if moving else None
        say("  delta catch-up (%s restarted %d deltas behind): mrxd up in "
            "%.2f s, first progress seen at %s s" % (
                behind.id, n_cu, t_up,
                "-" if t_first is None else "%.2f" % t_first))
        say("    seq gained each second: %s" % " ".join(
            str(x) for x in inc[:120]))
        say("    %d deltas applied, %d whole list(s) installed, %d catch-up "
            "requests (%d reached the issuer), %d records taken, %d not "
            "(duplicate, stale or refused)" % (
                end[2], end[3] - 1, end[4], served, fb["taken"],
                fb["dropped"]))
        say("    CPU: operator %.2f s (%.0f us/delta), issuer %.2f s (%.0f "
            "us/delta)" % (cpu_b, cpu_b / max(1, end[2]) * 1e6, cpu_m,
                           cpu_m / max(1, end[2]) * 1e6))
        if done_at is not None:
            rate = n_cu / done_at
            say("    holds seq %d after %.2f s: %.0f deltas/s from start"
                % (target, done_at, rate))
            cu_fig = "%.2f s" % done_at
        else:
            span = end[0] - (t_first or end[0])
            rate = got / span if span > 0 else 0.0
            proj = (t_first or 0) + n_cu / rate if rate > 0 else float("inf")
            say("    NOT caught up after %.0f s: seq %d of %d (%d of %d "
                "deltas), %.0f deltas/s; at that rate %.0f s in all"
                % (a.catchup_cap, end[1], target, got, n_cu, rate, proj))
            cu_fig = "> %.0f s (%d/%d at %.0f/s, ~%.0f s)" % (
                a.catchup_cap, got, n_cu, rate, proj)
        cu_met = done_at is not None and done_at < CATCHUP_TARGET_S
        behind.stop()

        # a fresh operator: served the whole list at the current seq
        t0 = time.monotonic()
        fresh.start()
        t_up = time.monotonic() - t0
        wait_for(lambda: held_seq(fresh, probe[3]) == target, 60,
                 "%s to hold seq %d" % (fresh.id, target), step=0.05)
        fr = time.monotonic() - t0
        ff = fed_info(fresh)["feeds"]
        say("  fresh operator %s: holds seq %d %.2f s after its start "
            "(mrxd up in %.2f s; %d list installed, %d deltas: the whole "
            "list, no replay)" % (fresh.id, target, fr, t_up, ff["lists"],
                                  ff["deltas"]))
        row(3, "preparation of %d deltas" % n_cu, "%.1f s" % prep,
            "%.0f changes/s" % (n_cu / prep))
        row(3, "catch-up of %d deltas (restart)" % n_cu, cu_fig,
            "< %.0f s" % CATCHUP_TARGET_S, "met" if cu_met else "NOT MET")
        row(3, "fresh operator to seq %d (whole list)" % target,
            "%.2f s" % fr, "< %.0f s" % CATCHUP_TARGET_S,
            "met" if fr < CATCHUP_TARGET_S else "NOT MET")
        result_json["catchup"] = {
            "deltas": n_cu, "prep_s": prep, "catchup_s": done_at,
            "catchup_rate_per_s": rate, "applied": end[2],
            "lists_installed": end[3] - 1, "requests": end[4],
            "operator_cpu_s": cpu_b, "issuer_cpu_s": cpu_m,
            "per_second": inc, "fresh_s": fr, "met": cu_met}
    except BaseException:
        log_tails(fed)
        raise
    finally:
        drop(fed)


def print_summary():
    say("")
    say("== summary (targets reported, not asserted)")
    hdr = ("part", "figure", "measured", "target / same-run baseline", "")
    w = [max(len(str(r[i])) for r in summary + [hdr]) for i in range(5)]
    for r in [hdr] + summary:
        say("  " + "  ".join(str(r[i]).ljust(w[i]) for i in range(5))
            .rstrip())
    say(json.dumps(result_json, sort_keys=True,
                   default=lambda o: round(o, 4) if isinstance(o, float)
                   else str(o)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--parts", default="1,2,3")
    ap.add_argument("--operators", type=int, default=50)
    ap.add_argument("--revocations", type=int, default=20)
    ap.add_argument("--spacing", type=float, default=0.2)
    ap.add_argument("--subscribers", type=int, default=3,
                    help="part 2 subscribers with the default peer rate "
                    "limit")
    ap.add_argument("--fast-subscribers", type=int, default=1,
                    help="part 2 subscribers whose link has --fast-rate")
    ap.add_argument("--fast-rate", type=int, default=1000000)
    ap.add_argument("--feed-clearances", type=int, default=2000)
    ap.add_argument("--feed-seconds", type=float, default=10.0)
    ap.add_argument("--converge-s", type=float, default=10.0)
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--catchup-deltas", type=int, default=100000)
    ap.add_argument("--catchup-cap", type=float, default=60.0)
    ap.add_argument("--quick", action="store_true",
                    help="a small run: 8 operators, 5 revocations, 3 s "
                    "of load, 5000 deltas")
    a = ap.parse_args()
    if a.quick:
        a.operators, a.revocations, a.feed_seconds = 8, 5, 3.0
        a.feed_clearances, a.catchup_deltas = 500, 5000
    parts = {int(p) for p in a.parts.split(",") if p}
    if not parts <= {1, 2, 3} or a.operators < 1 or a.revocations < 1 or \
            a.subscribers < 1 or a.catchup_deltas < 100:
        ap.error("bad arguments")
    t0 = time.monotonic()
    if 1 in parts:
        part1(a)
    if 2 in parts:
        part2(a)
    if 3 in parts:
        part3(a)
    say("(bench took %.0f s)" % (time.monotonic() - t0))
    print_summary()


if __name__ == "__main__":
    nodelib.run(main)
