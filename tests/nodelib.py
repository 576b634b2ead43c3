"""
nodelib.py - helpers for the node's integration tests (test_node.py,
test_crash.py, test_hostile.py): real mrxd processes on loopback, driven
over HTTP with the Python standard library only.

A Node is one data directory made by `mrx init` in a fresh temporary
directory, with a free loopback port, and at most one mrxd process at a
time whose standard error is appended to DIR/mrxd.log. Every Node is
registered so that run() can kill any process still running and remove
every temporary directory, whether the test passed, failed or crashed;
on a failure the tail of each node's log is printed first.

Each check prints one line ("ok: ..."); the first failed check raises
Fail, which run() turns into one "FAIL: ..." line and exit status 1.

Environment (set by tests/meson.build): MRX_BIN, MRXD_BIN, MRX_SRC; and
MRX_WRAP (set by ./run valgrind): a command line every mrx and mrxd runs
under, e.g. "valgrind --error-exitcode=99 -q"; with it the timeouts below
are WRAP_SLOWDOWN times longer.
"""
import base64
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

MRX = os.environ.get("MRX_BIN", "")
MRXD = os.environ.get("MRXD_BIN", "")
WRAP = shlex.split(os.environ.get("MRX_WRAP", ""))
WRAP_SLOWDOWN = 10.0 if WRAP else 1.0   # valgrind runs mrxd ~10-50x slower

# exec to a 200 on /v1/health (ASan is slow)
START_TIMEOUT_S = 30.0 * WRAP_SLOWDOWN
STOP_TIMEOUT_S = 10.0 * WRAP_SLOWDOWN   # SIGTERM to exit
HTTP_TIMEOUT_S = 20.0 * WRAP_SLOWDOWN   # one request on a client connection
CLI_TIMEOUT_S = 60.0 * WRAP_SLOWDOWN    # one mrx command

_nodes = []


class Fail(Exception):
    """A check that did not hold; the message says what and where."""


def ok(msg):
    print("ok: " + msg, flush=True)


def check(cond, msg, detail=None):
    """Prints 'ok: msg' when cond holds, else raises Fail(msg: detail)."""
    if not cond:
        raise Fail(msg if detail is None else "%s: %s" % (msg, detail))
    ok(msg)


def check_eq(got, want, msg):
    check(got == want, msg, "got %r, expected %r" % (got, want))


def _port_range():
    """Ports outside the kernel's ephemeral range: a port drawn from that
    range can be taken by an outgoing connection (nng redials peers that
    are not up yet) before the node it was drawn for binds it."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        lo, hi = 32768, 60999
    if lo > 12000:
        return 10000, lo
    return (hi + 1, 65536) if hi < 64535 else None


_given = set()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now, outside
    the ephemeral range, never the same one twice in this process."""
    r = _port_range()
    if r is None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    lo, hi = r
    start = lo + int.from_bytes(os.urandom(4), "big") % (hi - lo)
    for i in range(hi - lo):
        port = lo + (start - lo + i) % (hi - lo)
        if port in _given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise Fail("no free port in %d..%d" % (lo, hi - 1))


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def is_error_body(j):
    """True if j is {"error": {"code": str, "message": str, "field": str|null}}."""
    if not isinstance(j, dict) or set(j) != {"error"}:
        return False
    e = j["error"]
    return (isinstance(e, dict) and set(e) == {"code", "message", "field"}
            and isinstance(e["code"], str) and e["code"] != ""
            and isinstance(e["message"], str) and e["message"] != ""
            and (e["field"] is None or isinstance(e["field"], str)))


class Response:
    """A complete HTTP response: status, headers (lower-case names), body."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self._json = None

    @property
    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.body.decode())
            except (ValueError, UnicodeDecodeError) as e:
                raise Fail("response %d is not JSON (%s): %r"
                           % (self.status, e, self.body[:200]))
        return self._json

    def __repr__(self):
        return "HTTP %d %r" % (self.status, self.body[:300])


class Client:
    """
    One keep-alive HTTP/1.1 connection to a node (http.client), reopened
    transparently after the server closes it. Connection errors propagate
    as OSError or http.client.HTTPException: the caller decides what they
    mean (test_crash.py treats them as an unknown outcome).
    """

    def __init__(self, port, token=None, timeout=HTTP_TIMEOUT_S):
        self.port = port
        self.token = token
        self.timeout = timeout
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, auth=True, headers=None):
        """body: bytes, str, or an object sent as JSON."""
        h = {}
        if auth and self.token is not None:
            h["Authorization"] = "Bearer " + self.token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is not None:
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                   timeout=self.timeout)
        try:
            self.conn.request(method, path, body=body, headers=h)
            r = self.conn.getresponse()
            data = r.read()
        except BaseException:
            self.close()
            raise
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if r.will_close:
            self.close()
        return Response(r.status, hdrs, data)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body=body, **kw)


def expect_error(r, status, code=None, field="", what=""):
    """Checks an error answer: the status, the error body, code and field.
    field "" means not checked; None means it must be JSON null."""
    desc = "%s -> %d" % (what, status)
    if r.status != status:
        raise Fail("%s: got %r" % (desc, r))
    if not is_error_body(r.json):
        raise Fail("%s: not an error body: %r" % (desc, r.body[:300]))
    e = r.json["error"]
    if code is not None and e["code"] != code:
        raise Fail("%s: error code %r, expected %r" % (desc, e["code"], code))
    if field != "" and e["field"] != field:
        raise Fail("%s: error field %r, expected %r" % (desc, e["field"], field))
    ok("%s %s (field %s)" % (desc, e["code"], e["field"]))


class Raw:
    """A raw TCP connection to a node, for requests http.client cannot send
    (garbage, lies, trickles). Reads responses itself."""

    def __init__(self, port, timeout=HTTP_TIMEOUT_S):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.s.close()

    def send(self, data):
        """Sends all of data; False if the server closed or reset first."""
        try:
            self.s.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def _fill(self):
        try:
            b = self.s.recv(65536)
        except ConnectionResetError:
            b = b""
        self.buf += b
        return b != b""

    def response(self):
        """The next response, or None if the connection ended first."""
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise Fail("not an HTTP response: %r" % head[:200])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            if not self._fill():
                raise Fail("the connection ended inside a response body")
        body, self.buf = self.buf[:n], self.buf[n:]
        return Response(int(parts[1]), headers, body)

    def ended(self, timeout=5.0):
        """True if the server ends the connection (EOF or reset) within
        timeout with nothing more sent."""
        self.s.settimeout(timeout)
        try:
            return not self.buf and not self._fill()
        except socket.timeout:
            return False


def metrics(client):
    """/metrics as {name or name{labels}: float}."""
    r = client.get("/metrics", auth=False)
    if r.status != 200:
        raise Fail("GET /metrics: %r" % r)
    out = {}
    for line in r.body.decode().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        out[name] = float(value)
    return out


class Node:
    """A node's data directory and its mrxd process (see the file comment)."""

    def __init__(self, name, role="issuer", node_id="jp.meti",
                 jurisdiction="JP", conf=None):
        self.tmp = tempfile.mkdtemp(prefix="mrx-%s-" % name)
        _nodes.append(self)
        self.data = os.path.join(self.tmp, "data")
        self.log_path = os.path.join(self.tmp, "mrxd.log")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = None
        self.starts = 0
        r = self.mrx("init", "--role", role, "--id", node_id,
                     "--jurisdiction", jurisdiction, "--data", self.data,
                     "--api", "127.0.0.1:%d" % self.port)
        if r.returncode != 0:
            raise Fail("mrx init exited %d: %s" % (r.returncode, r.stderr))
        self.token_file = os.path.join(self.data, "admin.token")
        with open(self.token_file) as f:
            self.token = f.read().strip()
        if conf:
            self.set_conf(conf)

    def set_conf(self, conf):
        """Replaces values in mrx.yaml: {"section.key": "value"}."""
        path = os.path.join(self.data, "mrx.yaml")
        with open(path) as f:
            lines = f.read().split("\n")
        for dotted, value in conf.items():
            section, key = dotted.split(".")
            cur, done = None, False
            for i, line in enumerate(lines):
                m = re.match(r"^([a-z_]+):\s*$", line)
                if m:
                    cur = m.group(1)
                elif cur == section and re.match(r"^  %s:" % key, line):
                    lines[i] = "  %s: %s" % (key, value)
                    done = True
            if not done:
                raise Fail("mrx.yaml has no %s" % dotted)
        with open(path, "w") as f:
            f.write("\n".join(lines))

    def mrx(self, *args, timeout=CLI_TIMEOUT_S):
        """Runs mrx ARGS; returns the CompletedProcess (text)."""
        return subprocess.run(WRAP + [MRX] + list(args),
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              timeout=timeout)

    def cli(self, *args, token_file=None):
        """mrx --node URL --token-file F ARGS."""
        return self.mrx("--node", self.url, "--token-file",
                        token_file or self.token_file, *args)

    def client(self, token=True, timeout=HTTP_TIMEOUT_S):
        return Client(self.port, self.token if token else None, timeout)

    def start(self):
        """Starts mrxd and waits for GET /v1/health to answer 200."""
        if self.proc is not None:
            raise Fail("mrxd is already running")
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(WRAP + [MRXD, "--data", self.data],
                                         stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        finally:
            log.close()
        self.starts += 1
        deadline = time.monotonic() + START_TIMEOUT_S
        c = Client(self.port, timeout=2.0)
        try:
            while True:
                rc = self.proc.poll()
                if rc is not None:
                    self.proc = None
                    raise Fail("mrxd exited with %d while starting" % rc)
                try:
                    r = c.get("/v1/health", auth=False)
                    if r.status == 200:
                        return
                except (OSError, http.client.HTTPException):
                    pass
                if time.monotonic() > deadline:
                    raise Fail("mrxd did not answer /v1/health within %.0f s"
                               % START_TIMEOUT_S)
                time.sleep(0.05)
        finally:
            c.close()

    def signal(self, sig):
        if self.proc is None:
            raise Fail("mrxd is not running")
        self.proc.send_signal(sig)

    def stop(self):
        """SIGTERM; mrxd must exit 0 within STOP_TIMEOUT_S."""
        if self.proc is None:
            raise Fail("mrxd is not running")
        p = self.proc
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            self.proc = None
            raise Fail("mrxd did not exit within %.0f s of SIGTERM"
                       % STOP_TIMEOUT_S)
        self.proc = None
        if rc != 0:
            raise Fail("mrxd exited with %d after SIGTERM (log: %s)"
                       % (rc, self.log_tail(15)))
        return rc

    def kill(self):
        """SIGKILL and reap."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=30):
        return "\n".join(self.log_text().splitlines()[-n:])

    def db_path(self):
        return os.path.join(self.data, "mrx.db")

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def need_binaries():
    for name, path in (("MRX_BIN", MRX), ("MRXD_BIN", MRXD)):
        if not path or not os.access(path, os.X_OK):
            print("FAIL: %s must name an executable (got %r)" % (name, path))
            sys.exit(2)


def run(main):
    """Runs main(); on any failure prints why and the logs, and exits 1.
    Every node is killed and its directory removed in every case."""
    need_binaries()

    def on_term(signum, frame):
        raise Fail("terminated by signal %d (a test timeout?)" % signum)

    signal.signal(signal.SIGTERM, on_term)
    t0 = time.monotonic()
    rc = 1
    try:
        try:
            main()
            rc = 0
        except Fail as e:
            print("FAIL: %s" % e, flush=True)
        except BaseException:
            print("FAIL: unexpected exception:", flush=True)
            traceback.print_exc(file=sys.stdout)
        if rc != 0:
            for n in _nodes:
                print("--- tail of %s" % n.log_path)
                print(n.log_tail(40), flush=True)
    finally:
        # even if printing failed (a closed stdout), no process or
        # directory is left behind
        for n in _nodes:
            n.cleanup()
    if rc == 0:
        print("passed in %.1f s" % (time.monotonic() - t0), flush=True)
    sys.exit(rc)
