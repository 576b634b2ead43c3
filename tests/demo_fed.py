#!/usr/bin/python3
"""demo_fed.py - the federation part of ./run demo: eight real mrxd
processes on loopback, every link between them mutual TLS (nng tls+tcp,
certificates from one federation CA), walked through a domestic check, a
cross-border check under a JP-US agreement, a level no row covers, and a
revocation at the US issuer seen by the JP prime.

    jp.cao          JP root (Cabinet Office)   relays jp.meti and us.dcsa
    jp.meti         JP issuer (METI), delegated by jp.cao
    us.dcsa         US root                    relays us.dod
    us.dod          US issuer, delegated by us.dcsa
    uk.cabinet      UK root: linked with jp.cao, no agreement with Japan
    jp.op.prime     JP prime contractor        follows jp.cao
    jp.op.sub       JP subcontractor           follows jp.cao
    us.op.lockheed  US operator                follows us.dcsa

jp.cao drafts a JP-US agreement (the rows of conf/examples/jp-us-draft.yaml,
in force from a day ago for two years) and signs it; us.dcsa countersigns;
it goes into every node's trust chain. Then, all decided by jp.op.prime:

  1 domestic      jp.op.sub presents its engineer (JP-CESI:CONFIDENTIAL)
                                                              -> accept
  2 cross-border  us.op.lockheed presents a US:SECRET engineer for
                  JP-SDS:SECRET                 -> accept, agreement row 1
  3 no row        a US:CONFIDENTIAL engineer for JP-SDS:SECRET
                                               -> reject no-equivalence
  4 revocation    us.dod revokes the US:SECRET clearance; a long-poll on
                  jp.op.prime's alerts measures the propagation
                  (us.dod -> us.dcsa -> jp.cao -> jp.op.prime)
  5 after         jp.op.prime verifies it again          -> reject revoked

It prints each step, a table of the decisions, the propagation time, and
stops every node with SIGTERM (each must exit 0). Exit status 0 only if
every decision is the expected one and every node stopped cleanly, 1
otherwise (naming the step), 2 if MRX_BIN or MRXD_BIN is not set.

The two roots relay each other's feeds (a node relays each record once, so
nothing circulates); MRX_DEMO_MUTUAL_RELAY=0 makes us.dcsa follow jp.cao
without relaying it.

Environment: MRX_BIN, MRXD_BIN (as for the integration tests).
"""

import datetime
import os
import secrets
import signal
import socket
import sys
import textwrap
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nodelib  # noqa: E402
import fedlib  # noqa: E402
from nodelib import Fail  # noqa: E402

WIDTH = 100
FEED_TIMEOUT_S = 15.0 * nodelib.WRAP_SLOWDOWN
ALERT_WAIT_S = 10
MUTUAL_RELAY = os.environ.get("MRX_DEMO_MUTUAL_RELAY", "1") == "1"
AGREEMENT = "jp-us-2026-draft"
T0 = time.monotonic()


def say(msg=""):
    print(msg, flush=True)


def ms(t):
    return "%.1f ms" % (t * 1000) if t < 0.1 else "%.0f ms" % (t * 1000)


def cut(s, n=WIDTH):
    return s if len(s) <= n else s[:n - 3] + "..."


def api(node, method, path, body=None, timeout=None):
    c = node.client(timeout=timeout or nodelib.HTTP_TIMEOUT_S)
    try:
        return c.request(method, path, body=body)
    finally:
        c.close()


# ---- the agreement ----

DRAFT = """\
# The draft of conf/examples/jp-us-draft.yaml, in force for the demo.
id: {id}
parties: [jp.cao, us.dcsa]
valid_from: {vf}
valid_until: {vu}
conditions:
  max_status_age: 5m
  operator_cert_required: true
rows:
  - from: US:SECRET
    to: JP-SDS:SECRET
  - from: US:TOP-SECRET
    to: JP-SDS:TOP-SECRET
  - from: US:CONFIDENTIAL
    to: JP-CESI:CONFIDENTIAL
    scopes: [semiconductors, batteries]
  - from: JP-SDS:SECRET
    to: US:SECRET
"""


def make_agreement(fed, cao, dcsa):
    """Drafts, signs (jp.cao, then us.dcsa) and verifies the agreement;
    returns the path of the twice-signed record."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    vf = (now - datetime.timedelta(days=1)).strftime(fmt)
    vu = (now + datetime.timedelta(days=730)).strftime(fmt)
    d = os.path.join(fed.tmp, "agreement")
    os.mkdir(d)
    draft = os.path.join(d, "jp-us-draft.yaml")
    with open(draft, "w") as f:
        f.write(DRAFT.format(id=AGREEMENT, vf=vf, vu=vu))
    terms = os.path.join(d, "terms.cbor")
    one = os.path.join(d, "agreement-1.cose")
    both = os.path.join(d, "agreement.cose")
    r = fedlib.run("agreement", "draft", draft, "--out", terms)
    h = [l.split()[-1] for l in r.stdout.splitlines()
         if l.strip().startswith("terms hash")]
    say("  jp.cao drafts %s, in force %s to %s; terms hash %s..."
        % (AGREEMENT, vf[:10], vu[:10], h[0][:16] if h else "?"))
    for l in r.stdout.splitlines():
        if l.strip()[:1].isdigit():
            say("    row" + l.rstrip())
    fedlib.run("agreement", "sign", "--key", cao.key, "--party", "jp.cao",
               "--payload", terms, "--out", one)
    say("  jp.cao signs the terms with its root key")
    fedlib.run("agreement", "sign", "--key", dcsa.key, "--party", "us.dcsa",
               "--in", one, "--payload", terms, "--root",
               "jp.cao=" + cao.pub, "--out", both)
    say("  us.dcsa checks the terms and jp.cao's signature, and countersigns")
    r = fedlib.run("agreement", "verify", both, "--root", "jp.cao=" + cao.pub,
                   "--root", "us.dcsa=" + dcsa.pub, check=False)
    first = (r.stdout.splitlines() or ["?"])[0]
    if r.returncode != 0:
        raise Fail("mrx agreement verify exited %d: %s %s"
                   % (r.returncode, first, r.stderr.strip()))
    say("  mrx agreement verify: %s" % first)
    return both


# ---- the federation ----

def build():
    say("== the federation: 8 nodes on loopback; every link is mutual TLS "
        "(one federation CA)")
    fed = fedlib.Federation(tls=True)
    cao = fed.root("jp.cao", "JP")
    meti = fed.issuer("jp.meti", "JP", cao)
    dcsa = fed.root("us.dcsa", "US")
    dod = fed.issuer("us.dod", "US", dcsa)
    uk = fed.root("uk.cabinet", "GB")
    prime = fed.operator("jp.op.prime", "JP")
    sub = fed.operator("jp.op.sub", "JP")
    lm = fed.operator("us.op.lockheed", "US")
    # each root relays its issuer's feed; jp.cao relays us.dcsa's (and so
    # us.dod's) to the JP operators
    fed.link(cao, meti, relay=True)
    fed.link(dcsa, dod, relay=True)
    fed.link(cao, dcsa, relay=True)
    fed.link(dcsa, cao, relay=MUTUAL_RELAY)
    # the UK root and jp.cao follow each other; nothing relayed
    fed.link(uk, cao)
    fed.link(cao, uk)
    # operators follow their national root
    fed.link(prime, cao)
    fed.link(sub, cao)
    fed.link(lm, dcsa)
    # the sub and the US operator may present clearances to the prime
    fed.link(sub, prime, feed=False, may_sub=["present"])
    fed.link(lm, prime, feed=False, may_sub=["present"])
    say("  roots    jp.cao, us.dcsa, uk.cabinet")
    say("  issuers  jp.meti (delegated by jp.cao), us.dod (delegated by "
        "us.dcsa)")
    say("  feeds    jp.meti -> jp.cao -> jp.op.prime, jp.op.sub;  us.dod -> "
        "us.dcsa -> us.op.lockheed")
    say("           us.dcsa -> jp.cao (relayed), jp.cao -> us.dcsa (%s), "
        "jp.cao <-> uk.cabinet"
        % ("relayed" if MUTUAL_RELAY else "not relayed"))
    say("  requests jp.op.sub -> jp.op.prime, us.op.lockheed -> jp.op.prime "
        "(present)")
    say("== the JP-US agreement (unratified example terms)")
    fed.extra_chain.append(make_agreement(fed, cao, dcsa))
    fed.trust_all()
    fed.write_all(checkpoint="1s")
    say("  every node trusts the three roots and holds both delegations and "
        "the agreement")
    return fed, {x.id: x for x in fed.nodes}


def start(fed):
    say("== starting mrxd, one process per node")
    for x in fed.nodes:
        t = time.monotonic()
        x.start()
        say("  started %-15s pid %-7d %-8s  API %s  up in %s"
            % (x.id, x.proc.pid, x.role, x.url, ms(time.monotonic() - t)))


def stop(fed):
    """SIGTERM to every node (operators first); returns the failures."""
    say("== stopping every node")
    bad = []
    rank = {"operator": 0, "issuer": 1, "root": 2}
    for x in sorted(fed.nodes, key=lambda x: rank[x.role]):
        if x.proc is None:
            continue
        pid = x.proc.pid
        rc = x.proc.poll()
        if rc is not None:
            bad.append("%s (pid %d) had exited by itself with %d"
                       % (x.id, pid, rc))
            say("  %-15s pid %-7d had already exited with %d" % (x.id, pid,
                                                                 rc))
            x.proc = None
            continue
        t = time.monotonic()
        try:
            x.stop()
            say("  stopped %-15s pid %-7d SIGTERM -> exit 0 in %s"
                % (x.id, pid, ms(time.monotonic() - t)))
        except Fail as e:
            bad.append("%s: %s" % (x.id, e))
            say("  %-15s pid %-7d did not stop cleanly: %s" % (x.id, pid, e))
    return bad


def wait_lists(node, count):
    """Until `node` follows `count` status lists (taken from a feed or a
    catch-up), polled every 20 ms."""
    fedlib.wait_for(
        lambda: fedlib.federation_info(node)["feeds"]["lists"] >= count,
        FEED_TIMEOUT_S, "%d status lists at %s" % (count, node.id))


# ---- decisions ----

class Step:
    """One row of the table: what was asked, what was expected, and the
    decision."""

    def __init__(self, num, name, node, clearance, access, want, want_code,
                 must_name=()):
        self.num, self.name, self.node = num, name, node
        self.clearance, self.access = clearance, access
        self.want, self.want_code, self.must_name = want, want_code, must_name
        self.got, self.code, self.message = "-", "", ""
        self.more = []          # further reasons: "CODE: message"
        self.ok, self.why = False, "not run"

    def judge(self):
        self.ok = self.got == self.want and self.code == self.want_code
        self.why = "" if self.ok else "expected %s (%s), got %s (%s)" % (
            self.want, self.want_code, self.got, self.code or "-")
        for t in self.must_name if self.ok else ():
            if t not in self.message:
                self.ok = False
                self.why = "the reason does not name %r" % t
        return self

    def decision(self, r, secs):
        """Takes a decision answer (POST /v1/verify or /v1/present)."""
        if r.status != 200:
            self.got, self.code = "error", "HTTP %d" % r.status
            self.message = r.body.decode("utf-8", "replace")[:300]
        else:
            j = r.json
            self.got = j.get("decision", "?")
            rs = j.get("reasons") or [{}]
            self.code = rs[0].get("code", "")
            self.message = rs[0].get("message", "")
            self.more = ["%s: %s" % (x.get("code", ""), x.get("message", ""))
                         for x in rs[1:]]
        self.judge()
        say("  -> %s (%s) in %s%s" % (self.got, self.code, ms(secs),
                                      "" if self.ok else "  !! " + self.why))
        return self


def present(frm, to, record, access, operator_record):
    t = time.monotonic()
    r = api(frm, "POST", "/v1/present", {
        "peer": to.id, "record": record, "access": access,
        "operator_record": operator_record})
    return r, time.monotonic() - t


def verify(node, record, access, operator_record):
    t = time.monotonic()
    r = api(node, "POST", "/v1/verify", {
        "record": record, "access": access,
        "operator_record": operator_record})
    return r, time.monotonic() - t


def table(steps):
    say()
    say("== decisions (all made by jp.op.prime's node)")
    fmt = "%-2s %-13s %-12s %-20s %-20s %-8s %s"
    say(fmt % ("#", "step", "node", "clearance", "access asked", "decision",
               "reason"))
    say("-" * WIDTH)
    for s in steps:
        say(cut(fmt % (s.num, s.name, s.node, s.clearance, s.access, s.got,
                       s.code)))
        lines = textwrap.wrap(s.message, WIDTH - 5,
                              break_on_hyphens=False) or [""]
        say("     " + lines[0])
        if len(lines) > 1:
            say(cut("     " + " ".join(lines[1:])))
        for m in s.more:
            say(cut("     " + m))
        if not s.ok:
            say(cut("  !! FAILED: " + s.why))
    say("-" * WIDTH)


# ---- the flow ----

def flow(n, steps):
    meti, dod = n["jp.meti"], n["us.dod"]
    prime, sub, lm = n["jp.op.prime"], n["jp.op.sub"], n["us.op.lockheed"]

    say("== issuing: pseudonymous subject ids, nothing from the background "
        "check")
    fedlib.certify(meti, "jp.op.prime", ["JP-CESI:CONFIDENTIAL"])
    op_sub = fedlib.certify(meti, "jp.op.sub", ["JP-CESI:CONFIDENTIAL"])
    say("  jp.meti certifies jp.op.prime and jp.op.sub as eligible business "
        "operators")
    e_sub = secrets.token_hex(16)
    c_sub = fedlib.issue(meti, e_sub, "JP-CESI:CONFIDENTIAL", "jp.op.sub")
    say("  jp.meti clears engineer %s... of jp.op.sub at "
        "JP-CESI:CONFIDENTIAL" % e_sub[:12])
    op_lm = fedlib.certify(dod, "us.op.lockheed",
                           ["US:SECRET", "US:CONFIDENTIAL"])
    say("  us.dod certifies us.op.lockheed for US:SECRET and US:CONFIDENTIAL")
    e_s, e_c = secrets.token_hex(16), secrets.token_hex(16)
    c_s = fedlib.issue(dod, e_s, "US:SECRET", "us.op.lockheed")
    c_c = fedlib.issue(dod, e_c, "US:CONFIDENTIAL", "us.op.lockheed")
    say("  us.dod clears engineers %s... at US:SECRET and %s... at "
        "US:CONFIDENTIAL" % (e_s[:12], e_c[:12]))

    say("== waiting for the status lists to reach the operators (the "
        "issuers checkpoint every 1 s)")
    t = time.monotonic()
    wait_lists(prime, 2)        # jp.meti's (via jp.cao), us.dod's (relayed)
    say("  jp.op.prime follows the lists of jp.meti and us.dod after %s"
        % ms(time.monotonic() - t))

    say("== 1 domestic: jp.op.sub presents its engineer's clearance and its "
        "operator certification")
    say("  to jp.op.prime for JP-CESI:CONFIDENTIAL work (POST /v1/present at "
        "jp.op.sub, peer jp.op.prime)")
    s = Step(1, "domestic", "jp.op.prime", "JP-CESI:CONFIDENTIAL",
             "JP-CESI:CONFIDENTIAL", "accept", "accepted")
    steps.append(s.decision(*present(sub, prime, c_sub["record"],
                                     "JP-CESI:CONFIDENTIAL",
                                     op_sub["record"])))

    say("== 2 cross-border: us.op.lockheed presents its US:SECRET engineer to "
        "jp.op.prime for JP-SDS:SECRET")
    s = Step(2, "cross-border", "jp.op.prime", "US:SECRET", "JP-SDS:SECRET",
             "accept", "accepted", must_name=(AGREEMENT, "row 1"))
    steps.append(s.decision(*present(lm, prime, c_s["record"],
                                     "JP-SDS:SECRET", op_lm["record"])))

    say("== 3 no row: us.op.lockheed presents its US:CONFIDENTIAL engineer "
        "for JP-SDS:SECRET")
    s = Step(3, "no row", "jp.op.prime", "US:CONFIDENTIAL", "JP-SDS:SECRET",
             "reject", "no-equivalence")
    steps.append(s.decision(*present(lm, prime, c_c["record"],
                                     "JP-SDS:SECRET", op_lm["record"])))

    say("== 4 revocation at us.dod; jp.op.prime's alert long-poll (GET "
        "/v1/alerts?wait=%d) is held" % ALERT_WAIT_S)
    r = api(prime, "GET", "/v1/alerts?since=0")
    if r.status != 200:
        raise Fail("GET /v1/alerts at jp.op.prime: %r" % r)
    last = r.json["last"]
    got = {}

    def poll():
        try:
            got["r"] = api(prime, "GET", "/v1/alerts?since=%d&wait=%d"
                           % (last, ALERT_WAIT_S), timeout=ALERT_WAIT_S + 10)
        except Exception as e:  # noqa: BLE001 (reported below)
            got["err"] = e
        got["t"] = time.monotonic()

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    time.sleep(0.2)             # the long-poll is surely held by now
    t_call = time.monotonic()
    st = fedlib.set_status(dod, c_s["id"], "revoked", "ELIGIBILITY_REVOKED")
    t_ret = time.monotonic()
    say("  us.dod: POST /v1/clearances/%s.../status revoked "
        "ELIGIBILITY_REVOKED -> %s, seq %s, in %s"
        % (c_s["id"][:12], st.get("status"), st.get("seq"),
           ms(t_ret - t_call)))
    th.join(ALERT_WAIT_S + 12)
    s = Step(4, "revocation", "jp.op.prime", "US:SECRET", "(watched, step 2)",
             "alert", "revoked")
    prop = None
    r = got.get("r")
    alerts = r.json.get("alerts", []) if r is not None and \
        r.status == 200 else []
    mine = [a for a in alerts if a.get("record_id") == c_s["id"]]
    if mine:
        a = mine[0]
        prop = got["t"] - t_ret
        s.got, s.code = "alert", a.get("status", "")
        s.message = "alert %s: %s by %s, %s, status seq %s; %s after " \
            "us.dod's answer" % (
                a.get("id"), a.get("status"), a.get("issuer"),
                a.get("reason"), a.get("seq"), ms(prop))
        s.judge()
        if s.ok and a.get("reason") != "ELIGIBILITY_REVOKED":
            s.ok, s.why = False, "alert reason %r" % a.get("reason")
        say("  -> jp.op.prime: alert %s (%s) %s after us.dod's answer"
            % (a.get("id"), a.get("status"), ms(prop)))
    else:
        s.got, s.code = "none", ""
        s.why = "no alert for %s at jp.op.prime within %d s: %s" % (
            c_s["id"], ALERT_WAIT_S, got.get("err") or
            (r if r is not None else "the long-poll did not return"))
        say("  -> !! " + s.why)
    steps.append(s)

    say("== 5 after: jp.op.prime verifies the revoked US:SECRET clearance "
        "for JP-SDS:SECRET again")
    s = Step(5, "after revoke", "jp.op.prime", "US:SECRET", "JP-SDS:SECRET",
             "reject", "revoked")
    steps.append(s.decision(*verify(prime, c_s["record"], "JP-SDS:SECRET",
                                    op_lm["record"])))
    return prop


def main():
    def on_term(signum, frame):
        raise Fail("terminated by signal %d" % signum)

    signal.signal(signal.SIGTERM, on_term)
    try:
        sys.stdout.reconfigure(errors="replace")
    except (AttributeError, ValueError):
        pass
    steps, prop, fed, failures = [], None, None, []
    try:
        try:
            fed, n = build()
            start(fed)
            prop = flow(n, steps)
        except Fail as e:
            failures.append(str(e))
            say("FAIL: %s" % e)
        except Exception:   # noqa: BLE001
            failures.append("unexpected exception (above)")
            traceback.print_exc(file=sys.stdout)
        if steps:
            table(steps)
        if prop is not None:
            say("revocation propagation us.dod → jp.op.prime: %s (3 hops "
                "over mutual TLS); today: revocation lists refreshed every "
                "30 min to 24 h" % ms(prop))
        failures += ["step %d (%s) at %s: %s" % (s.num, s.name, s.node, s.why)
                     for s in steps if not s.ok]
        if len(steps) < 5 and not failures:
            failures.append("only %d of the 5 steps ran" % len(steps))
        if fed is not None:
            if failures:
                for x in fed.nodes:
                    say("--- the end of %s's log" % x.id)
                    say(x.log_tail(12))
            failures += stop(fed)
    finally:
        # whatever happened, no process or directory is left behind
        if fed is not None:
            fed.cleanup()
        for x in nodelib._nodes:
            x.cleanup()
    if failures:
        for f in failures:
            say("FAILED: %s" % f)
        return 1
    say("federation demo done in %.1f s: 5 of 5 decisions as expected; 8 "
        "nodes started and stopped cleanly." % (time.monotonic() - T0))
    return 0


if __name__ == "__main__":
    nodelib.need_binaries()
    sys.exit(main())
