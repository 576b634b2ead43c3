#!/usr/bin/python3
"""
test_hostile.py - bad input loses nothing and never wedges the node.

Against one mrxd (connections_max 64, the default 1 MiB body limit): bad
JSON of every kind, wrong types, unknown fields, duplicate keys, bad
values (ids, subjects, levels, reasons, durations, base64), missing and
wrong tokens, unknown paths, wrong methods, bad query values; then raw
HTTP abuse: garbage bytes, an oversize head and request line, an oversize
body (declared and chunked), Content-Length lies, smuggling shapes; then 50
slow-loris connections (and one stalled body) while a normal client keeps
issuing and verifying, with its latency percentiles; then an idle flood up
to the connection limit. Every refusal must carry the documented status
and an {"error": {"code", "message", "field"}} body. At the end the node
still answers, still issues, counts only the issuances that succeeded,
holds exactly the audit entries of what succeeded, exits 0 on SIGTERM,
and `mrx audit verify` finds the chain intact.
"""
import os
import secrets
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nodelib as L  # noqa: E402
from nodelib import check, check_eq, expect_error, ok  # noqa: E402

CESI = "JP-CESI:CONFIDENTIAL"
CONNS_MAX = 64
LORIS = 50
READ_TIMEOUT_S = 10.0       # HTTP_READ_TIMEOUT_MS_DEFAULT in node/http.h
LORIS_BYTE_EVERY_S = 0.4
NORMAL_PAUSE_S = 0.01       # between the normal client's issue+verify pairs


class State:
    def __init__(self, node):
        self.node = node
        self.issued = 0          # 201 answers to issuances
        self.subs = []

    def sub(self):
        s = secrets.token_hex(16)
        self.subs.append(s)
        return s

    def clearance_body(self, **kw):
        b = {"sub": self.sub(), "level": CESI, "operator": "jp.op.sub"}
        b.update(kw)
        return b

    def issue(self, c):
        r = c.post("/v1/clearances", self.clearance_body())
        if r.status != 201:
            raise L.Fail("an ordinary issuance: %r" % r)
        self.issued += 1
        return r.json


def bad_json(c, st):
    P = "/v1/clearances"
    good = st.clearance_body()
    enc = L.json.dumps(good)
    cases = [
        ("truncated JSON", enc[:-5]),
        ("a JSON array", "[1, 2]"),
        ("a JSON string", '"sub"'),
        ("a JSON number", "42"),
        ("JSON null", "null"),
        ("an empty body", b""),
        ("bytes that are not UTF-8", b'{"sub": "\xff\xfe"}'),
        ("trailing garbage", enc + "}"),
        ("two objects", enc + enc),
        ("duplicate keys", '{"sub": "%s", "sub": "%s", "level": "%s", '
         '"operator": "jp.op.sub"}' % (st.sub(), st.sub(), CESI)),
        ("nesting 100000 deep", '{"sub": ' + "[" * 100000 + "]" * 100000 + "}"),
    ]
    for what, body in cases:
        expect_error(c.post(P, body), 400, "malformed-json", None, what)

    def field_case(what, code, field, **kw):
        b = st.clearance_body()
        for k, v in kw.items():
            if v is KeyError:
                del b[k]
            else:
                b[k] = v
        expect_error(c.post(P, b), 400, code, field, what)

    field_case("sub as a number", "invalid-type", "sub", sub=123)
    field_case("level as an array", "invalid-type", "level", level=[CESI])
    field_case("operator as an object", "invalid-type", "operator",
               operator={"id": "jp.op.sub"})
    field_case("scopes as a string", "invalid-type", "scopes", scopes="x")
    field_case("a scope as a number", "invalid-value", "scopes", scopes=[1])
    field_case("17 scopes", "invalid-value", "scopes",
               scopes=["s%d" % i for i in range(17)])
    field_case("valid_for as a number", "invalid-type", "valid_for",
               valid_for=10)
    field_case("an unknown field", "unknown-field", "extra", extra=1)
    field_case("a field in the wrong case", "unknown-field", "Sub", Sub="x")
    field_case("no sub", "missing-field", "sub", sub=KeyError)
    field_case("no level", "missing-field", "level", level=KeyError)
    field_case("no operator", "missing-field", "operator", operator=KeyError)
    field_case("a sub that is not hex", None, "sub", sub="xyz")
    field_case("a sub in upper case", None, "sub", sub="AB" * 16)
    field_case("a sub of 30 digits", None, "sub", sub="ab" * 15)
    field_case("a sub with a NUL (refused by the parser)", "malformed-json",
               None, sub="ab" * 8 + "\u0000" + "ab" * 7)
    field_case("a sub of 100000 characters", None, "sub", sub="a" * 100000)
    field_case("a level typo", None, "level", level="JP-CESI:CONFIDENTAL")
    field_case("a level in lower case", None, "level",
               level="jp-cesi:confidential")
    field_case("a level without a scheme", None, "level", level="CONFIDENTIAL")
    field_case("an empty level", None, "level", level="")
    field_case("a level the node may not issue", None, "level",
               level="US:SECRET")
    field_case("an operator id with a space", None, "operator",
               operator="jp op")
    field_case("valid_for in words", "invalid-value", "valid_for",
               valid_for="10 years")
    field_case("valid_for of zero", "invalid-value", "valid_for",
               valid_for="0")
    field_case("valid_for of 100 years", None, "valid_for", valid_for="100y")

    P = "/v1/operators"
    b = {"sub": "jp.op.sub", "levels": ["JP-CESI:CONFIDENTAL"]}
    expect_error(c.post(P, b), 400, None, "levels[0]", "operator: a level typo")
    b = {"sub": "jp.op.sub", "levels": []}
    expect_error(c.post(P, b), 400, "missing-field", "levels",
                 "operator: no levels")
    b = {"sub": "jp.op.sub", "levels": CESI}
    expect_error(c.post(P, b), 400, "invalid-type", "levels",
                 "operator: levels as a string")
    b = {"sub": "jp.op.sub", "levels": [CESI], "level": CESI}
    expect_error(c.post(P, b), 400, "unknown-field", "level",
                 "operator: an unknown field")


def bad_status(c, st, cid):
    P = "/v1/clearances/%s/status" % cid
    expect_error(c.post(P, {"status": "revoked", "reason": "NOPE"}), 400,
                 "invalid-value", "reason", "status with an unknown reason")
    expect_error(c.post(P, {"status": "revoked",
                            "reason": "eligibility_revoked"}),
                 400, "invalid-value", "reason", "a reason in lower case")
    expect_error(c.post(P, {"status": "REVOKED"}), 400, "invalid-value",
                 "status", "a status in upper case")
    expect_error(c.post(P, {"status": "deleted"}), 400, "invalid-value",
                 "status", "an unknown status")
    expect_error(c.post(P, {"status": 2}), 400, "invalid-type", "status",
                 "a status as a number")
    expect_error(c.post(P, {"reason": "EXPIRED"}), 400, "missing-field",
                 "status", "no status")
    expect_error(c.post(P, {"status": "revoked", "why": "x"}), 400,
                 "unknown-field", "why", "an unknown field")
    expect_error(c.post(P, "[]"), 400, "malformed-json", None,
                 "an array for a status")
    expect_error(c.post("/v1/clearances/%s/status" % ("0" * 32),
                        {"status": "revoked"}), 404, "not-found", "id",
                 "status of an unknown record")
    for what, bad in (("an id that is not hex", "g" * 32),
                      ("an id of 31 digits", "a" * 31),
                      ("an id of 33 digits", "a" * 33),
                      ("an id with a space", "%20" * 10 + "aa")):
        expect_error(c.post("/v1/clearances/%s/status" % bad,
                            {"status": "revoked"}), 400, "invalid-id", "id",
                     "status: " + what)
        expect_error(c.get("/v1/clearances/" + bad), 400, "invalid-id", "id",
                     "GET: " + what)
    expect_error(c.get("/v1/clearances/" + "a" * 100), 404, "not-found", None,
                 "GET: an id of 100 characters")
    expect_error(c.get("/v1/operators/" + cid), 404, "not-found", "id",
                 "GET a clearance as an operator certification")
    expect_error(c.post("/v1/operators/%s/status" % cid,
                        {"status": "revoked"}), 404, "not-found", "id",
                 "status of a clearance as an operator certification")
    g = c.get("/v1/clearances/" + cid)
    check(g.status == 200 and g.json["status"] == "valid" and
          g.json["seq"] == 0, "the clearance is still valid, its list "
          "unchanged (seq 0)", g)


def bad_verify(c, st, rec):
    P = "/v1/verify"
    expect_error(c.post(P, {"record": "!!!!", "access": CESI}), 400,
                 "invalid-value", "record", "verify: bad base64")
    expect_error(c.post(P, {"record": rec[:-1] + "*", "access": CESI}), 400,
                 "invalid-value", "record", "verify: one bad base64 character")
    expect_error(c.post(P, {"record": "A" * 300000, "access": CESI}), 400,
                 "invalid-value", "record", "verify: 300000 characters of "
                 "base64")
    expect_error(c.post(P, {"record": "", "access": CESI}), 400,
                 "invalid-value", "record", "verify: an empty record")
    expect_error(c.post(P, {"record": 7, "access": CESI}), 400,
                 "invalid-type", "record", "verify: record as a number")
    expect_error(c.post(P, {"access": CESI}), 400, "missing-field", "record",
                 "verify: no record")
    expect_error(c.post(P, {"record": rec}), 400, "missing-field", "access",
                 "verify: no access")
    expect_error(c.post(P, {"record": rec, "access": ["x"]}), 400,
                 "invalid-type", "access", "verify: access as an array")
    expect_error(c.post(P, {"record": rec, "access": CESI,
                            "operator_record": "%%%"}), 400, "invalid-value",
                 "operator_record", "verify: bad base64 operator_record")
    expect_error(c.post(P, {"record": rec, "access": CESI, "at": "now"}), 400,
                 "unknown-field", "at", "verify: an unknown field")
    decisions = 0
    raw = L.b64url_decode(rec)
    for what, bad, code in (
            ("random bytes", os.urandom(300), "malformed"),
            ("a truncated record", raw[:-10], "malformed"),
            ("a record with its signature altered",
             raw[:-1] + bytes([raw[-1] ^ 1]), "bad-signature")):
        r = c.post(P, {"record": L.b64url(bad), "access": CESI})
        check(r.status == 200 and r.json["decision"] == "reject" and
              r.json["reasons"][0]["code"] == code,
              "verify %s: 200 reject %s" % (what, code), r)
        decisions += 1
    r = c.post(P, {"record": rec, "access": "JP-CESI:CONFIDENTAL"})
    check(r.status == 200 and r.json["decision"] == "reject" and
          r.json["reasons"][0]["code"] == "unknown-access-level",
          "verify for a misspelt access level: reject unknown-access-level", r)
    decisions += 1
    return decisions


def auth_paths_methods(c, st, cid):
    n = st.node
    noauth = n.client(token=False)
    for method, path, body in (
            ("POST", "/v1/clearances", st.clearance_body()),
            ("GET", "/v1/clearances/" + cid, None),
            ("POST", "/v1/clearances/%s/status" % cid, {"status": "revoked"}),
            ("POST", "/v1/verify", {"record": "AA", "access": CESI}),
            ("GET", "/v1/alerts", None),
            ("POST", "/v1/operators", {"sub": "x", "levels": [CESI]})):
        expect_error(noauth.request(method, path, body=body), 401,
                     "unauthorized", "Authorization",
                     "%s %s without a token" % (method, path[:20]))
    tok = n.token
    for what, h in (("a wrong token", "Bearer " + "0" * len(tok)),
                    ("a short token", "Bearer " + tok[:-1]),
                    ("a long token", "Bearer " + tok + "0"),
                    ("an empty token", "Bearer "),
                    ("the token without Bearer", tok),
                    ("Basic with the token", "Basic " + tok),
                    ("the token twice", "Bearer " + tok + tok)):
        r = noauth.request("POST", "/v1/clearances", body=st.clearance_body(),
                           headers={"Authorization": h})
        expect_error(r, 401, "unauthorized", "Authorization", what)
    noauth.close()

    for method, path, status in (
            ("GET", "/", 404), ("GET", "/v2/health", 404),
            ("GET", "/v1/nothing", 404), ("GET", "/v1/clearances/", 404),
            ("GET", "/v1/clearances/%s/x" % cid, 404),
            ("GET", "/v1/clearances/%s/status/x" % cid, 404),
            ("GET", "/v1/clearancesx", 404),
            ("GET", "/metrics/x", 404), ("GET", "/v1/health/x", 404),
            ("GET", "/v1/clearances", 405), ("PUT", "/v1/clearances", 405),
            ("DELETE", "/v1/clearances/" + cid, 405),
            ("PUT", "/v1/clearances/" + cid, 405),
            ("GET", "/v1/clearances/%s/status" % cid, 405),
            ("GET", "/v1/operators", 405),
            ("GET", "/v1/verify", 405), ("PUT", "/v1/verify", 405),
            ("POST", "/v1/alerts", 405), ("DELETE", "/v1/alerts", 405),
            ("POST", "/v1/health", 405), ("DELETE", "/metrics", 405)):
        expect_error(c.request(method, path, body="{}" if method in
                               ("POST", "PUT") else None), status, None,
                     None, "%s %s" % (method, path[:40]))
    for q in ("since=abc", "since=-1", "since=+1", "since=%201",
              "since=99999999999999999999999", "since=", "wait=x",
              "since=1&wait=-5", "since=0x10"):
        expect_error(c.get("/v1/alerts?" + q), 400, "invalid-value", "query",
                     "alerts?" + q)


def raw_abuse(st):
    port = st.node.port

    def one(what, data, status, code, then_closed=True):
        r = L.Raw(port)
        try:
            r.send(data)
            resp = r.response()
            if resp is None:
                raise L.Fail("%s: the connection ended without an answer"
                             % what)
            expect_error(resp, status, code, None, what)
            if then_closed:
                check(resp.headers.get("connection") == "close" and r.ended(),
                      "  and the connection is closed")
            return resp
        finally:
            r.close()

    one("garbage bytes (a TLS hello)", b"\x16\x03\x01\x02\x00\x01\x00\x01"
        + os.urandom(500), 400, "malformed-request")
    one("a line of text", b"HELLO THERE\r\n\r\n", 400, "malformed-request")
    one("a 20 KiB header", b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Pad: "
        + b"a" * 20480 + b"\r\n\r\n", 431, "header-too-large")
    one("a 100 KiB request line", b"GET /v1/" + b"a" * 102400 +
        b" HTTP/1.1\r\nHost: x\r\n\r\n", 431, "header-too-large")
    one("HTTP/2.0", b"GET /v1/health HTTP/2.0\r\n\r\n", 505,
        "version-not-supported")
    head = ("POST /v1/clearances HTTP/1.1\r\nHost: x\r\nAuthorization: "
            "Bearer %s\r\nContent-Type: application/json\r\n" % st.node.token)
    one("a body of 1 MiB + 1 (declared)", (head + "Content-Length: %d\r\n\r\n"
        % ((1 << 20) + 1)).encode() + b"{" + b" " * 65536, 413,
        "body-too-large")
    chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
    one("a chunked body over 1 MiB", (head + "Transfer-Encoding: chunked\r\n"
        "\r\n").encode() + b"1\r\n{\r\n" + chunk * 17, 413, "body-too-large")
    one("Content-Length and Transfer-Encoding", (head + "Content-Length: 5\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n").encode(), 400,
        "malformed-request")
    one("two Content-Lengths", (head + "Content-Length: 2\r\nContent-Length: "
        "3\r\n\r\n{}").encode(), 400, "malformed-request")
    one("a negative Content-Length", (head + "Content-Length: -1\r\n\r\n")
        .encode(), 400, "malformed-request")
    one("two Authorization headers", b"GET /v1/alerts HTTP/1.1\r\n"
        b"Authorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n", 400,
        "malformed-request")
    one("a NUL in the target", b"GET /v1/health\x00 HTTP/1.1\r\n\r\n", 400,
        "malformed-request")

    # a Content-Length shorter than the body: the first 10 bytes are the
    # body (bad JSON), the rest is not a request
    body = L.json.dumps(st.clearance_body()).encode()
    r = L.Raw(port)
    try:
        r.send((head + "Content-Length: 10\r\n\r\n").encode() + body)
        expect_error(r.response(), 400, "malformed-json", None,
                     "a Content-Length shorter than the body: the body")
        expect_error(r.response(), 400, "malformed-request", None,
                     "  and the rest")
        check(r.ended(), "  then the connection is closed")
    finally:
        r.close()

    # pipelined requests are answered in order on one connection
    r = L.Raw(port)
    try:
        r.send(b"GET /v1/health HTTP/1.1\r\n\r\nGET /v1/nothing HTTP/1.1\r\n"
               b"\r\nGET /v1/health HTTP/1.1\r\nConnection: close\r\n\r\n")
        got = [r.response().status for _ in range(3)]
        check(got == [200, 401, 200] and r.ended(),
              "three pipelined requests: 200, 401, 200, then closed", got)
    finally:
        r.close()


class Loris(threading.Thread):
    """LORIS connections trickling a request one byte every
    LORIS_BYTE_EVERY_S (half in the head, half in the body), plus one that
    sends a head declaring 100 bytes of body and only 10 of them."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.conns = []
        self.error = None
        for i in range(LORIS + 1):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.setblocking(False)
            head = ("POST /v1/clearances HTTP/1.1\r\nHost: x\r\nContent-Type: "
                    "application/json\r\nContent-Length: %d\r\n\r\n")
            if i == LORIS:
                first, trickle = (head % 100).encode() + b'{"sub": "0', b""
            elif i % 2 == 0:
                first, trickle = b"", (head % 50).encode()
            else:
                first, trickle = (head % 1000).encode(), b" " * 1000
            self.conns.append({"s": s, "first": first, "trickle": trickle,
                               "pos": 0, "t0": None, "got": b"",
                               "t_end": None})

    def run(self):
        try:
            self._run()
        except Exception as e:
            self.error = e

    def _run(self):
        deadline = time.monotonic() + READ_TIMEOUT_S + 8
        next_send = 0.0
        for c in self.conns:
            if c["first"]:
                c["s"].sendall(c["first"])
                c["t0"] = time.monotonic()
        while time.monotonic() < deadline:
            now = time.monotonic()
            live = [c for c in self.conns if c["t_end"] is None]
            if not live:
                return
            send = now >= next_send
            if send:
                next_send = now + LORIS_BYTE_EVERY_S
            for c in live:
                if send and c["pos"] < len(c["trickle"]):
                    try:
                        c["s"].send(c["trickle"][c["pos"]:c["pos"] + 1])
                        c["pos"] += 1
                        if c["t0"] is None:
                            c["t0"] = now
                    except (BlockingIOError, BrokenPipeError,
                            ConnectionResetError):
                        pass
                try:
                    b = c["s"].recv(4096)
                    if b == b"":
                        c["t_end"] = time.monotonic()
                    c["got"] += b
                except BlockingIOError:
                    pass
                except ConnectionResetError:
                    c["t_end"] = time.monotonic()
            time.sleep(0.02)

    def close(self):
        for c in self.conns:
            c["s"].close()


def loris_phase(c, st):
    n = st.node
    lo = Loris(n.port)
    lo.start()
    lat = []
    ops = 0
    t_start = time.monotonic()
    while lo.is_alive() and time.monotonic() - t_start < READ_TIMEOUT_S + 10:
        t = time.monotonic()
        j = st.issue(c)
        lat.append(time.monotonic() - t)
        t = time.monotonic()
        r = c.post("/v1/verify", {"record": j["record"], "access": CESI})
        lat.append(time.monotonic() - t)
        if r.status != 200 or r.json["decision"] != "accept":
            raise L.Fail("verify during the slow loris: %r" % r)
        ops += 2
        time.sleep(NORMAL_PAUSE_S)
    lo.join(5)
    lo.close()
    if lo.error is not None:
        raise L.Fail("the slow-loris driver failed: %r" % lo.error)
    lat.sort()
    p50 = lat[len(lat) // 2]
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print("   normal client during the slow loris: %d requests, p50 %.1f ms, "
          "p99 %.1f ms, max %.1f ms" % (ops, p50 * 1e3, p99 * 1e3,
                                        lat[-1] * 1e3), flush=True)
    check(ops >= 20, "the normal client was served throughout (%d requests)"
          % ops)
    check(p99 < 1.0, "p99 latency under 1 s during the slow loris (%.1f ms)"
          % (p99 * 1e3))
    bad = []
    for i, cn in enumerate(lo.conns):
        got = cn["got"]
        head = got.split(b"\r\n", 1)[0]
        dt = (cn["t_end"] or 0) - (cn["t0"] or 0)
        if (not head.startswith(b"HTTP/1.1 408") or b'"code":"timeout"'
                not in got or cn["t_end"] is None or
                not READ_TIMEOUT_S - 0.5 <= dt <= READ_TIMEOUT_S + 5):
            bad.append((i, got[:120], round(dt, 2)))
    check(not bad, "all %d trickling connections and the stalled body got "
          "408 timeout about %.0f s after their first byte, then were closed"
          % (LORIS, READ_TIMEOUT_S), bad[:5])


def flood_phase(c, st):
    n = st.node
    deadline = time.monotonic() + 10
    while L.metrics(c)["mrx_http_connections"] != 1:
        if time.monotonic() > deadline:
            raise L.Fail("connections did not drain to 1: %s"
                         % L.metrics(c)["mrx_http_connections"])
        time.sleep(0.1)
    ok("after the slow loris only the client's connection is open")
    flood = [socket.create_connection(("127.0.0.1", n.port), timeout=10)
             for _ in range(CONNS_MAX - 1)]
    deadline = time.monotonic() + 10
    while L.metrics(c)["mrx_http_connections"] != CONNS_MAX:
        if time.monotonic() > deadline:
            raise L.Fail("the flood did not reach %d connections" % CONNS_MAX)
        time.sleep(0.05)
    ok("%d idle connections open: the limit" % CONNS_MAX)
    r = L.Raw(n.port)
    try:
        resp = r.response()
        if resp is None:
            raise L.Fail("a connection over the limit was closed unanswered")
        expect_error(resp, 503, "too-many-connections", None,
                     "a connection over the limit")
        check(r.ended(), "  and it is closed")
    finally:
        r.close()
    check_eq(c.get("/v1/health", auth=False).status, 200,
             "the client's keep-alive connection is still served")
    st.issue(c)
    ok("  and can issue")
    for s in flood[:10]:
        s.close()
    deadline = time.monotonic() + 10
    while True:
        r = L.Raw(n.port)
        try:
            r.send(b"GET /v1/health HTTP/1.1\r\nConnection: close\r\n\r\n")
            resp = r.response()
        finally:
            r.close()
        if resp is not None and resp.status == 200:
            break
        if time.monotonic() > deadline:
            raise L.Fail("no new connection served after closing 10: %r"
                         % resp)
        time.sleep(0.05)
    ok("after 10 of the flood close, a new connection is served")
    for s in flood[10:]:
        s.close()


def main():
    n = L.Node("hostile", conf={"api.connections_max": str(CONNS_MAX)})
    st = State(n)
    n.start()
    ok("mrxd started with connections_max %d" % CONNS_MAX)
    c = n.client()
    first = st.issue(c)
    ok("one ordinary issuance")
    r = c.post("/v1/verify", {"record": first["record"], "access": CESI})
    check(r.status == 200 and r.json["decision"] == "accept",
          "one ordinary verification: accept")
    m0 = L.metrics(c)

    bad_json(c, st)
    bad_status(c, st, first["id"])
    bad_verify(c, st, first["record"])
    auth_paths_methods(c, st, first["id"])
    raw_abuse(st)
    m = L.metrics(c)
    check_eq(m['mrx_records_total{type="clearance"}'],
             m0['mrx_records_total{type="clearance"}'],
             "no refused request stored a record")
    check_eq(m["mrx_status_changes_total"], 0,
             "no refused request changed a status")
    check_eq(c.get("/v1/health", auth=False).status, 200,
             "GET /v1/health: 200 after the abuse")

    loris_phase(c, st)
    flood_phase(c, st)

    x = st.issue(c)
    r = c.post("/v1/clearances/%s/status" % x["id"],
               {"status": "revoked", "reason": "ADMIN_SEPARATION"})
    check_eq(r.status, 200, "a status change still works")
    r = c.post("/v1/verify", {"record": x["record"], "access": CESI})
    check(r.status == 200 and r.json["decision"] == "reject",
          "and verify sees it")
    m = L.metrics(c)
    check_eq(m['mrx_records_total{type="clearance"}'], st.issued,
             "mrx_records_total counts exactly the %d successful issuances"
             % st.issued)
    check_eq(m["mrx_status_changes_total"], 1, "one status change in all")
    check_eq(m["mrx_commit_failures_total"], 0, "no commit failed")
    decisions = sum(m['mrx_decisions_total{outcome="%s"}' % o]
                    for o in ("accept", "reject", "indeterminate"))
    audit_want = st.issued + 1 + decisions + m["mrx_alerts_total"]
    c.close()
    n.stop()
    ok("SIGTERM: mrxd exited 0")
    r = n.mrx("audit", "verify", "--data", n.data, "--json")
    j = L.json.loads(r.stdout)
    check(r.returncode == 0 and j["intact"] is True,
          "mrx audit verify: intact", r.stdout)
    check_eq(j["entries"], audit_want, "the audit log holds only what "
             "succeeded (issuances, the status change, decisions, alerts)")
    log = n.log_text()
    check(not [s for s in st.subs if s in log],
          "the log names none of the subject ids sent")
    check(n.token not in log, "the log never holds the admin token")


if __name__ == "__main__":
    L.run(main)
