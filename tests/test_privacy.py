#!/usr/bin/python3
"""test_privacy.py - no personal data, blinded key or admin token where it
has no business being: in the daemons' logs or in the store's tables.

A small federation of real mrxd processes over mutual TLS (tests/fedlib.py):

    jp.cao       root; follows and relays jp.meti
    jp.meti      issuer, delegated by jp.cao; indexes its clearances by
                 blinded key under the agreement AGREEMENT
    jp.op.prime  operator; follows jp.cao; may confirm at and survey jp.meti
                 (it holds the same AGREEMENT blinding key)
    jp.op.sub    operator; follows jp.cao; presents to jp.op.prime

A population of people with random names, dates of birth, nationalities and
random 32-hex subject ids gets clearances at jp.meti, indexed with
POST /v1/clearances/{id}/blind; then jp.op.prime verifies, jp.op.sub
presents, jp.op.prime confirms (one person indexed, one not) and looks up,
jp.meti revokes a watched clearance and jp.op.prime sees the alert.

Then every node is stopped and its mrxd log and every table of its mrx.db
is searched for every subject id (hex, both cases, base64url, raw bytes in
blobs), every name (as given and as normalised), every date of birth,
every blinded key (hex both cases, base64url, raw) and every node's admin
token. Tables that hold signed records by design (records, feeds, trust,
evidence, deltas, lists: a clearance names its subject id, signed by its
issuer) are not searched; the blind table is searched for everything but
the blinded keys, which it holds by design. Any hit fails the test,
naming the file or table, the column and what leaked.

Only Debian's python3 standard library.
"""

import base64
import hashlib
import hmac
import os
import random
import secrets
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fedlib  # noqa: E402
import nodelib  # noqa: E402
from nodelib import Fail, check, ok  # noqa: E402

AGREEMENT = "jp-privacy-test"
LEVEL = "JP-CESI:CONFIDENTIAL"
PEOPLE = 6
FEED_TIMEOUT_S = 15.0 * nodelib.WRAP_SLOWDOWN
ALERT_WAIT_S = 10

# Tables that hold signed records (or their parts) by design: not searched.
SIGNED_BY_DESIGN = {"records", "feeds", "trust", "evidence", "deltas",
                    "lists"}
# Tables searched for everything except some kinds of value they hold by
# design: the blind index maps a blinded key to a clearance id.
EXEMPT_KINDS = {"blind": {"blinded key"}}


# ---- the population ----

def rand_name(rng):
    def part():
        n = rng.randint(5, 9)
        s = "".join(rng.choice("bcdfghjklmnprstvwz") + rng.choice("aeiou")
                    for _ in range((n + 1) // 2))[:n]
        return s.capitalize()
    return "%s %s" % (part(), part())


def rand_dob(rng):
    # 1950..1999: never a date of today's log timestamps
    return "%04d-%02d-%02d" % (rng.randint(1950, 1999), rng.randint(1, 12),
                               rng.randint(1, 28))


def normalise_name(name):
    """protocol.md 11.7 for ASCII names: trimmed, runs of white space one
    space, a..z upper-cased."""
    return " ".join(name.split()).upper()


def blinded_key(key, name, dob, nat):
    msg = b"\x1f".join([b"mrx-blind-v1", normalise_name(name).encode(),
                        dob.encode(), nat.upper().encode()])
    return hmac.new(key, msg, hashlib.sha256).digest()


class Person:
    def __init__(self, rng, key):
        self.name = rand_name(rng)
        self.dob = rand_dob(rng)
        self.nat = rng.choice(["JPN", "USA", "GBR", "FRA", "DEU", "ITA",
                               "CAN"])
        self.sub = secrets.token_hex(16)
        self.bkey = blinded_key(key, self.name, self.dob, self.nat)
        self.clr = None

    def fields(self):
        return {"name": self.name, "dob": self.dob,
                "nationality": self.nat}


# ---- what must not be found ----

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Needle:
    """One value that must not be found: kind ('subject id', ...), a label
    for the report, its text forms (matched case-insensitively where
    `fold`) and its raw bytes (matched in blobs)."""

    def __init__(self, kind, label, texts, raw=None, fold=True):
        self.kind, self.label = kind, label
        self.texts = [t for t in texts if t]
        self.raw = raw
        self.fold = fold

    def hits_text(self, s):
        out = []
        for t in self.texts:
            if (t.lower() in s.lower()) if self.fold else (t in s):
                out.append(t)
        return out

    def hits_bytes(self, b):
        out = []
        if self.raw is not None and self.raw in b:
            out.append("raw bytes %s" % self.raw.hex())
        low = b.lower()
        for t in self.texts:
            tb = t.encode()
            if (tb.lower() in low) if self.fold else (tb in b):
                out.append(t)
        return out


def needles(people, outsider, nodes):
    out = []
    for p in people + [outsider]:
        raw = bytes.fromhex(p.sub)
        out.append(Needle("subject id", p.sub,
                          [p.sub, p.sub.upper(), b64u(raw)], raw))
        out.append(Needle("name", p.name, [p.name, normalise_name(p.name)]))
        out.append(Needle("date of birth", p.dob,
                          [p.dob, p.dob.replace("-", "")]))
        out.append(Needle("blinded key", p.bkey.hex(),
                          [p.bkey.hex(), p.bkey.hex().upper(),
                           b64u(p.bkey)], p.bkey))
    for n in nodes:
        out.append(Needle("admin token", "of %s" % n.id, [n.token],
                          fold=False))
    return out


def scan_logs(nodes, ns):
    """Every *.log of every node's directory; a list of leaks."""
    leaks = []
    for n in nodes:
        files = []
        for root, _dirs, names in os.walk(n.tmp):
            files += [os.path.join(root, f) for f in names
                      if f.endswith(".log")]
        check(n.log_path in files, "%s's mrxd log is searched (%s, %d bytes)"
              % (n.id, n.log_path, os.path.getsize(n.log_path)))
        for path in sorted(files):
            with open(path, "rb") as f:
                data = f.read()
            for nd in ns:
                for h in nd.hits_bytes(data):
                    leaks.append("%s (node %s): %s %s as %r"
                                 % (path, n.id, nd.kind, nd.label, h))
    return leaks


def scan_db(node, ns, report):
    """Every table of node's mrx.db but the signed-by-design ones; a list
    of leaks. `report`: print which tables are searched."""
    leaks = []
    db = sqlite3.connect(node.db_path())
    try:
        tables = [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "ORDER BY name")]
        scanned, skipped = [], []
        for t in tables:
            if t in SIGNED_BY_DESIGN:
                skipped.append(t)
                continue
            exempt = EXEMPT_KINDS.get(t, set())
            scanned.append(t + (" (but %s)" % ", ".join(sorted(exempt))
                                if exempt else ""))
            cur = db.execute('SELECT * FROM "%s"' % t.replace('"', '""'))
            cols = [d[0] for d in cur.description]
            for row in cur:
                for col, v in zip(cols, row):
                    if isinstance(v, str):
                        b = v.encode("utf-8", "replace")
                    elif isinstance(v, bytes):
                        b = v
                    else:
                        b = str(v).encode()
                    for nd in ns:
                        if nd.kind in exempt:
                            continue
                        for h in nd.hits_bytes(b):
                            leaks.append("%s mrx.db table %s column %s: %s "
                                         "%s as %r" % (node.id, t, col,
                                                       nd.kind, nd.label, h))
        if report:
            ok("%s mrx.db: searched %s; not searched (signed records by "
               "design): %s" % (node.id, ", ".join(scanned),
                                ", ".join(skipped) or "none"))
        missing = set(SIGNED_BY_DESIGN) - set(tables)
        check("audit" in tables and "meta" in tables and "blind" in tables,
              "%s mrx.db has the tables searched (%d tables; absent of the "
              "skipped: %s)" % (node.id, len(tables),
                                ", ".join(sorted(missing)) or "none"))
    finally:
        db.close()
    return leaks


# ---- the federation and the flows ----

def api(node, path, body):
    c = node.client()
    try:
        return c.post(path, body)
    finally:
        c.close()


def build(bkey_path):
    fed = fedlib.Federation(tls=True)
    cao = fed.root("jp.cao", "JP")
    meti = fed.issuer("jp.meti", "JP", cao)
    prime = fed.operator("jp.op.prime", "JP")
    sub = fed.operator("jp.op.sub", "JP")
    fed.link(cao, meti, relay=True)
    fed.link(prime, cao)
    fed.link(sub, cao)
    fed.link(sub, prime, feed=False,
             may_sub=fedlib.DEFAULT_MAY + ["present"])
    fed.link(prime, meti, feed=False, requests=True, survey=True,
             may_sub=fedlib.DEFAULT_MAY + ["confirm-request",
                                           "lookup-survey"])
    meti.blinding.append((AGREEMENT, prime.id, bkey_path))
    prime.blinding.append((AGREEMENT, meti.id, bkey_path))
    fed.trust_all()
    fed.write_all(checkpoint="1s")
    return fed, cao, meti, prime, sub


def main():
    rng = random.Random(secrets.randbits(64))
    key = secrets.token_bytes(32)
    fed, tmpkey_dir = None, None
    try:
        tmpkey_dir = tempfile.mkdtemp(prefix="mrx-privacy-key-")
        bkey_path = os.path.join(tmpkey_dir, "blind-%s.key" % AGREEMENT)
        fd = os.open(bkey_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.hex() + "\n")
        check(os.stat(bkey_path).st_mode & 0o777 == 0o600,
              "the blinding key file is 32 bytes of hex, mode 0600")

        people = [Person(rng, key) for _ in range(PEOPLE)]
        outsider = Person(rng, key)     # asked about, never indexed
        fed, cao, meti, prime, sub = build(bkey_path)
        fed.start_all()
        ok("4 nodes up over mutual TLS: %s" % ", ".join(
            n.id for n in fed.nodes))

        op = fedlib.certify(meti, sub.id, [LEVEL])
        fedlib.certify(meti, prime.id, [LEVEL])
        for p in people:
            p.clr = fedlib.issue(meti, p.sub, LEVEL, sub.id)
            r = api(meti, "/v1/clearances/%s/blind" % p.clr["id"],
                    p.fields())
            check(r.status == 200 and r.json == {"indexed": True},
                  "jp.meti issues and indexes %s's clearance %s..."
                  % ("person %d" % people.index(p), p.clr["id"][:8]), r)

        fedlib.wait_for(lambda: fedlib.federation_info(prime)["feeds"]
                        ["lists"] >= 1 and fedlib.federation_info(sub)
                        ["feeds"]["lists"] >= 1, FEED_TIMEOUT_S,
                        "jp.meti's list at both operators")
        ok("jp.op.prime and jp.op.sub follow jp.meti's status list")

        for p in people[:3]:
            d = fedlib.verify(prime, p.clr["record"], LEVEL,
                              operator_record=op["record"])
            check(d["decision"] == "accept", "jp.op.prime verifies %s...: "
                  "accept" % p.clr["id"][:8], d)
        r = fedlib.present(sub, prime.id, people[3].clr["record"], LEVEL,
                           operator_record=op["record"])
        check(r.status == 200 and r.json["decision"] == "accept",
              "jp.op.sub presents %s... to jp.op.prime: accept"
              % people[3].clr["id"][:8], r)

        r = api(prime, "/v1/confirm", dict(peer=meti.id, agreement=AGREEMENT,
                                           **people[4].fields()))
        check(r.status == 200 and r.json.get("found") is True and
              r.json.get("record") == people[4].clr["record"],
              "jp.op.prime confirms person 4 at jp.meti by blinded key: "
              "found, the same record", r)
        r = api(prime, "/v1/confirm", dict(peer=meti.id, **outsider.fields()))
        check(r.status == 200 and r.json.get("found") is False,
              "jp.op.prime confirms a person never indexed: not found", r)
        r = api(prime, "/v1/lookup", people[5].fields())
        ans = r.json.get("answers", []) if r.status == 200 else []
        check(any(a.get("node") == meti.id and a.get("found") is True and
                  a.get("record") == people[5].clr["record"] for a in ans),
              "jp.op.prime looks person 5 up: jp.meti answers found", r)

        last = fedlib.alerts(prime)["last"]
        fedlib.set_status(meti, people[0].clr["id"], "revoked",
                          "ELIGIBILITY_REVOKED")

        def alerted():
            a = fedlib.alerts(prime, since=last, wait=1)["alerts"]
            return [x for x in a if x.get("record_id") == people[0].clr["id"]]
        fedlib.wait_for(alerted, ALERT_WAIT_S, "the revocation alert at "
                        "jp.op.prime")
        d = fedlib.verify(prime, people[0].clr["record"], LEVEL,
                          operator_record=op["record"])
        check(d["decision"] == "reject", "jp.meti revokes person 0; "
              "jp.op.prime is alerted and now rejects", d)

        # the blinded keys computed here are the ones the issuer holds, so
        # the search below looks for the right bytes
        db = sqlite3.connect(meti.db_path())
        try:
            held = {bytes(r[0]) for r in db.execute(
                "SELECT key FROM blind WHERE agreement = ?", (AGREEMENT,))}
        finally:
            db.close()
        check(held == {p.bkey for p in people}, "jp.meti's blind index holds "
              "exactly the %d blinded keys computed here (HMAC-SHA-256, "
              "protocol.md 11.7)" % PEOPLE,
              "held %d, %d of them expected" % (len(held), len(held & {
                  p.bkey for p in people})))

        fed.stop_all()
        ok("every node stopped with SIGTERM")

        ns = needles(people, outsider, fed.nodes)
        # the search itself must find what is there: each node's id in its
        # log; the clearance ids jp.meti indexed and jp.op.prime verified
        # (raw bytes) in their stores' blind, audit and watches tables
        for n in fed.nodes:
            canary = [Needle("node id", n.id, [n.id], fold=False)]
            check(scan_logs([n], canary), "the search finds a value known "
                  "to be in %s's log (its node id)" % n.id)
        for n, p in ((meti, people[4]), (prime, people[1])):
            cid = p.clr["id"]
            canary = [Needle("clearance id", cid, [cid], bytes.fromhex(cid))]
            found = scan_db(n, canary, False)
            check(found, "the search finds a value known to be in %s's "
                  "store (clearance id %s...): %s" % (n.id, cid[:8], "; ".join(
                      sorted({f.split(":")[0] for f in found}))))
        leaks = scan_logs(fed.nodes, ns)
        for n in fed.nodes:
            leaks += scan_db(n, ns, True)
        for l in leaks:
            print("LEAK: " + l, flush=True)
        check(not leaks, "no subject id, name, date of birth, blinded key or "
              "admin token (%d values) in %d logs or the searched tables of "
              "%d stores" % (len(ns), len(fed.nodes), len(fed.nodes)),
              "%d leaks (above)" % len(leaks))
    finally:
        # the nodes' directories go in nodelib.run, after their logs' tails
        if fed is not None:
            shutil.rmtree(fed.tmp, ignore_errors=True)
        if tmpkey_dir:
            shutil.rmtree(tmpkey_dir, ignore_errors=True)


if __name__ == "__main__":
    nodelib.run(main)
