"""fedlib.py - a federation of real mrxd processes on loopback, for the
federation tests, the demo and the propagation benchmark.

Every node is made with `mrx init` (keys, admin token, TLS certificate from
one federation CA made with `mrx cert ca`), then its mrx.yaml gets a trust
section (the roots it trusts, the delegations and agreements it holds) and a
federation section (its listeners on free loopback ports, its peers) written
here. Links are tls+tcp:// unless a test asks for tcp://.

    fed = Federation()
    cao = fed.root("jp.cao", "JP")
    meti = fed.issuer("jp.meti", "JP", cao)
    prime = fed.operator("jp.op.prime", "JP")
    fed.link(prime, meti)          # prime subscribes to meti, may ask it
    fed.trust_all()                # every node trusts every root, chain
    fed.start_all()

Only Debian's python3 standard library (nodelib.py is the base).
"""

import json
import os
import subprocess
import time

import nodelib
from nodelib import Fail, Node, free_port

MRX = nodelib.MRX


def run(*args, check=True):
    r = subprocess.run([MRX] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    if check and r.returncode != 0:
        raise Fail("mrx %s exited %d: %s" % (" ".join(map(str, args[:3])),
                                             r.returncode, r.stderr))
    return r


def q(s):
    """A YAML double-quoted string."""
    return json.dumps(str(s))


class FedNode(Node):
    """A node of the federation: a Node with its id, role and links."""

    def __init__(self, fed, node_id, role, jurisdiction, extra=()):
        self.fed = fed
        self.id = node_id
        self.role = role
        self.jur = jurisdiction
        self.peers = {}         # id -> dict(feed, requests, survey, may, relay)
        self.roots = []         # FedNode roots trusted
        self.chain = []         # record files
        self.blinding = []      # (agreement, peer, keyfile)
        self.scheme = "tls+tcp" if fed.tls else "tcp"
        self.ports = {"listen": free_port(), "publish": free_port(),
                      "survey": free_port()}
        self.conf_extra = {}
        nodelib.Node.__init__(self, node_id, role=role, node_id=node_id,
                              jurisdiction=jurisdiction)
        # mrx init made its own keys; re-init with the federation CA and,
        # for an issuer, the national root's delegation
        if extra:
            self.cleanup_data()
            r = self.mrx("init", "--role", role, "--id", node_id,
                         "--jurisdiction", jurisdiction, "--data", self.data,
                         "--api", "127.0.0.1:%d" % self.port, *extra)
            if r.returncode != 0:
                raise Fail("mrx init %s: %s" % (node_id, r.stderr))
            with open(self.token_file) as f:
                self.token = f.read().strip()

    def cleanup_data(self):
        import shutil
        shutil.rmtree(self.data, ignore_errors=True)

    def sock(self, what):
        return "%s://127.0.0.1:%d" % (self.scheme, self.ports[what])

    @property
    def pub(self):
        return os.path.join(self.data, "keys", "sign.pub")

    @property
    def key(self):
        return os.path.join(self.data, "keys", "sign.key")

    def delegation(self):
        return os.path.join(self.data, "trust", "delegation.cose")

    def write_conf(self, checkpoint="1s", max_status_age=None, extra=None):
        """Rewrites the trust and federation sections of mrx.yaml."""
        path = os.path.join(self.data, "mrx.yaml")
        with open(path) as f:
            text = f.read()
        head = text.split("\ntrust:")[0]
        rest = text.split("\npolicy:")[1].split("\n# Federation")[0]
        if max_status_age is not None:
            rest = "\n".join(
                "  max_status_age: %s" % max_status_age
                if l.startswith("  max_status_age:") else l
                for l in rest.split("\n"))
        out = [head, "", "trust:", "  roots:"]
        for r in self.roots:
            out += ["    - id: %s" % r.id, "      key: %s" % q(r.pub)]
        if not self.roots:
            out[-1] += " []"
        out.append("  chain:" + ("" if self.chain else " []"))
        out += ["    - %s" % q(c) for c in self.chain]
        out.append("\npolicy:" + rest)
        out += ["", "federation:",
                "  listen: %s" % q(self.sock("listen")),
                "  publish: %s" % q(self.sock("publish")),
                "  survey: %s" % q(self.sock("survey")),
                "  checkpoint_interval: %s" % checkpoint,
                "  peers:" + ("" if self.peers else " []")]
        for pid, p in sorted(self.peers.items()):
            out += ["    - id: %s" % pid, "      key: %s" % q(p["node"].pub)]
            for k in ("feed", "requests", "survey"):
                if p.get(k):
                    out.append("      %s: %s" % (k, q(p["node"].sock(
                        {"feed": "publish", "requests": "listen",
                         "survey": "survey"}[k]))))
            out.append("      may: [%s]" % ", ".join(p["may"]))
            if p.get("relay"):
                out.append("      relay: true")
            if p.get("rate"):
                out.append("      rate: %d" % p["rate"])
                out.append("      burst: %d" % p["rate"])
        out.append("  blinding:" + ("" if self.blinding else " []"))
        for agreement, peer, keyfile in self.blinding:
            out += ["    - agreement: %s" % agreement,
                    "      peer: %s" % peer, "      key: %s" % q(keyfile)]
        for line in (extra or []):
            out.append(line)
        with open(path, "w") as f:
            f.write("\n".join(out) + "\n")


DEFAULT_MAY = ["feed-record", "catchup-request", "fetch-request"]


class Federation:
    """Nodes, the federation CA, and the links between them."""

    def __init__(self, tls=True):
        import tempfile
        self.tmp = tempfile.mkdtemp(prefix="mrx-fed-")
        self.tls = tls
        self.ca = os.path.join(self.tmp, "ca")
        run("cert", "ca", "--out", self.ca, "--name", "mrx test federation")
        self.nodes = []
        self.extra_chain = []

    def _tls(self):
        return ["--tls-ca", self.ca]

    def root(self, node_id, jur):
        n = FedNode(self, node_id, "root", jur, extra=self._tls())
        self.nodes.append(n)
        return n

    def issuer(self, node_id, jur, root, levels=()):
        extra = self._tls() + ["--root-key", root.key, "--root-id", root.id]
        for lv in levels:
            extra += ["--level", lv]
        n = FedNode(self, node_id, "issuer", jur, extra=extra)
        n.parent = root
        self.nodes.append(n)
        return n

    def operator(self, node_id, jur):
        n = FedNode(self, node_id, "operator", jur, extra=self._tls())
        self.nodes.append(n)
        return n

    def link(self, sub, pub, feed=True, requests=True, survey=False,
             relay=False, may_sub=None, may_pub=None, rate=None):
        """sub follows pub's feed (and may send it requests); each knows the
        other as a peer. may_sub: what pub lets sub send it; may_pub: what
        sub lets pub send it."""
        sp = sub.peers.setdefault(pub.id, {"node": pub, "may": list(
            may_pub or DEFAULT_MAY)})
        sp["feed"] = sp.get("feed") or feed
        sp["requests"] = sp.get("requests") or requests
        sp["survey"] = sp.get("survey") or survey
        sp["relay"] = sp.get("relay") or relay
        if rate:
            sp["rate"] = rate
        pp = pub.peers.setdefault(sub.id, {"node": sub, "may": list(
            may_sub or DEFAULT_MAY)})
        for m in (may_sub or []):
            if m not in pp["may"]:
                pp["may"].append(m)
        if rate:
            pp["rate"] = rate

    def allow(self, node, peer, *types):
        """node lets peer send it these message types."""
        p = node.peers.setdefault(peer.id, {"node": peer,
                                            "may": list(DEFAULT_MAY)})
        for t in types:
            if t not in p["may"]:
                p["may"].append(t)

    def trust_all(self, chain=()):
        roots = [n for n in self.nodes if n.role == "root"]
        dels = [n.delegation() for n in self.nodes if n.role == "issuer"]
        for n in self.nodes:
            n.roots = roots
            n.chain = dels + list(chain) + self.extra_chain

    def write_all(self, **kw):
        for n in self.nodes:
            n.write_conf(**kw)

    def start_all(self):
        for n in self.nodes:
            n.start()

    def stop_all(self):
        for n in self.nodes:
            if n.alive():
                n.stop()

    def cleanup(self):
        for n in self.nodes:
            n.cleanup()
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)


def wait_for(pred, timeout, what, step=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Fail("timed out after %.1f s waiting for %s" % (timeout,
                                                                  what))
        time.sleep(step)


def issue(node, sub, level, operator, scopes=(), valid_for=None):
    c = node.client()
    try:
        body = {"sub": sub, "level": level, "operator": operator}
        if scopes:
            body["scopes"] = list(scopes)
        if valid_for:
            body["valid_for"] = valid_for
        r = c.post("/v1/clearances", body)
        if r.status != 201:
            raise Fail("issue at %s: %d %s" % (node.id, r.status, r.body))
        return r.json
    finally:
        c.close()


def certify(node, operator, levels, scopes=()):
    c = node.client()
    try:
        body = {"sub": operator, "levels": list(levels)}
        if scopes:
            body["scopes"] = list(scopes)
        r = c.post("/v1/operators", body)
        if r.status != 201:
            raise Fail("certify at %s: %d %s" % (node.id, r.status, r.body))
        return r.json
    finally:
        c.close()


def set_status(node, rid, status, reason=None):
    c = node.client()
    try:
        body = {"status": status}
        if reason:
            body["reason"] = reason
        r = c.post("/v1/clearances/%s/status" % rid, body)
        if r.status != 200:
            raise Fail("status at %s: %d %s" % (node.id, r.status, r.body))
        return r.json
    finally:
        c.close()


def verify(node, record, access, operator_record=None, scope=None):
    c = node.client()
    try:
        body = {"record": record, "access": access}
        if operator_record:
            body["operator_record"] = operator_record
        if scope:
            body["scope"] = scope
        r = c.post("/v1/verify", body)
        if r.status != 200:
            raise Fail("verify at %s: %d %s" % (node.id, r.status, r.body))
        return r.json
    finally:
        c.close()


def federation_info(node):
    c = node.client()
    try:
        r = c.get("/v1/federation")
        if r.status != 200:
            raise Fail("federation at %s: %d %s" % (node.id, r.status,
                                                    r.body))
        return r.json
    finally:
        c.close()


# ---- appended for test_federation.py ----

def present(node, peer, record, access, operator_record=None, scope=None):
    """POST /v1/present at node: asks peer to decide; the Response."""
    c = node.client()
    try:
        body = {"peer": peer, "record": record, "access": access}
        if operator_record:
            body["operator_record"] = operator_record
        if scope:
            body["scope"] = scope
        return c.post("/v1/present", body)
    finally:
        c.close()


def trust(node, record):
    """POST /v1/trust at node (record: base64url); the Response."""
    c = node.client()
    try:
        return c.post("/v1/trust", {"record": record})
    finally:
        c.close()


def alerts(node, since=0, wait=None):
    """GET /v1/alerts: {"alerts": [...], "last": N}."""
    c = node.client(timeout=nodelib.HTTP_TIMEOUT_S + (wait or 0))
    try:
        path = "/v1/alerts?since=%d" % since
        if wait:
            path += "&wait=%d" % wait
        r = c.get(path)
        if r.status != 200:
            raise Fail("alerts at %s: %d %s" % (node.id, r.status, r.body))
        return r.json
    finally:
        c.close()


def metrics(node):
    """/metrics of node as {name or name{labels}: float}."""
    c = node.client()
    try:
        return nodelib.metrics(c)
    finally:
        c.close()


def op_status(node, rid, status, reason=None):
    """POST /v1/operators/{id}/status at an issuer."""
    c = node.client()
    try:
        body = {"status": status}
        if reason:
            body["reason"] = reason
        r = c.post("/v1/operators/%s/status" % rid, body)
        if r.status != 200:
            raise Fail("operator status at %s: %d %s" % (node.id, r.status,
                                                         r.body))
        return r.json
    finally:
        c.close()
