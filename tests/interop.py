#!/usr/bin/python3
"""
interop.py - an independent COSE_Sign1 (RFC 9052) implementation, used by
test_interop.sh to check mrx against code that shares nothing with it.

Only python3-cbor2 (CBOR) and python3-cryptography (Ed25519, ECDSA) are
used. The parts where implementations typically disagree are written out
here rather than taken from a library: the Sig_structure
["Signature1", protected, external_aad, payload] is encoded by hand (and
cross-checked against cbor2), and ECDSA signatures are converted between
COSE's raw r||s form and the DER form OpenSSL speaks.

Subcommands (each prints one "ok ..." line per check, or one "FAIL ..."
line and exits 1 at the first mismatch):

  keygen ALG NAME        NAME.key (PKCS#8 PEM, 0600) and NAME.pub (SPKI PEM)
  check-record ...       verify an mrx record and check its CWT claims
  check-status ...       verify an mrx status list and its bits
  vectors DIR ...        sign test messages; writes DIR/manifest
  verify ...             verify a message made by `mrx cose sign`
"""
import argparse
import datetime
import hashlib
import os
import random
import sys
import zlib

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils

ALG_ES256 = -7
ALG_EDDSA = -8
ALG_ES384 = -35
TAG_SIGN1 = 18
KID_LEN = 16
# Order of the P-256 group, for the high-s form of an ECDSA signature.
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class CheckError(Exception):
    """A check failed; the message says which and why."""


def ok(what):
    print("ok   " + what)
    sys.stdout.flush()


def require(cond, what, detail=""):
    if not cond:
        raise CheckError(what + (": " + detail if detail else ""))
    ok(what)


# ---- CBOR pieces written out by hand ------------------------------------

def cbor_head(major, n):
    """The shortest head of major type `major` with argument n."""
    if n < 24:
        return bytes([major << 5 | n])
    for info, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * width):
            return bytes([major << 5 | info]) + n.to_bytes(width, "big")
    raise ValueError("argument too large")


def cbor_bstr(b):
    return cbor_head(2, len(b)) + b


def cbor_tstr(s):
    b = s.encode("utf-8")
    return cbor_head(3, len(b)) + b


def sig_structure(protected, aad, payload):
    """Sig_structure for COSE_Sign1 (RFC 9052 section 4.4)."""
    tbs = (cbor_head(4, 4) + cbor_tstr("Signature1") + cbor_bstr(protected)
           + cbor_bstr(aad) + cbor_bstr(payload))
    # An independent encoder must agree byte for byte.
    assert tbs == cbor2.dumps(["Signature1", protected, aad, payload])
    return tbs


# ---- keys and signatures ------------------------------------------------

def load_pub(path):
    with open(path, "rb") as f:
        return serialization.load_pem_public_key(f.read())


def load_priv(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def spki_der(pub):
    return pub.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def kid_of(pub):
    """mrx's kid: first 16 bytes of SHA-256 over the SPKI DER."""
    return hashlib.sha256(spki_der(pub)).digest()[:KID_LEN]


def alg_of(key):
    if isinstance(key, (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey)):
        return ALG_EDDSA
    if isinstance(key, (ec.EllipticCurvePublicKey,
                        ec.EllipticCurvePrivateKey)):
        if isinstance(key.curve, ec.SECP256R1):
            return ALG_ES256
        if isinstance(key.curve, ec.SECP384R1):
            return ALG_ES384
    raise ValueError("unsupported key type")


def ec_hash(curve):
    return hashes.SHA256() if isinstance(curve, ec.SECP256R1) \
        else hashes.SHA384()


def raw_sign(priv, tbs):
    """Ed25519 signature, or ECDSA as raw r||s (each left-padded)."""
    if isinstance(priv, ed25519.Ed25519PrivateKey):
        return priv.sign(tbs)
    der = priv.sign(tbs, ec.ECDSA(ec_hash(priv.curve)))
    r, s = utils.decode_dss_signature(der)
    width = (priv.curve.key_size + 7) // 8
    return r.to_bytes(width, "big") + s.to_bytes(width, "big")


def raw_verify(pub, alg, tbs, sig):
    """True if sig is valid for tbs under pub, with alg bound to pub."""
    if alg != alg_of(pub):
        return False
    try:
        if alg == ALG_EDDSA:
            pub.verify(sig, tbs)
            return True
        width = (pub.curve.key_size + 7) // 8
        if len(sig) != 2 * width:
            return False
        r = int.from_bytes(sig[:width], "big")
        s = int.from_bytes(sig[width:], "big")
        pub.verify(utils.encode_dss_signature(r, s), tbs,
                   ec.ECDSA(ec_hash(pub.curve)))
        return True
    except InvalidSignature:
        return False


# ---- COSE_Sign1 ---------------------------------------------------------

def decode_sign1(msg, want_tag=True):
    """Returns (protected bstr, protected map, unprotected, payload, sig)."""
    obj = cbor2.loads(msg)
    if want_tag:
        if not (isinstance(obj, cbor2.CBORTag) and obj.tag == TAG_SIGN1):
            raise CheckError("message does not carry tag 18 (COSE_Sign1)")
        obj = obj.value
    if not (isinstance(obj, list) and len(obj) == 4):
        raise CheckError("COSE_Sign1 is not an array of 4")
    prot, unprot, payload, sig = obj
    if not (isinstance(prot, bytes) and isinstance(unprot, dict)
            and isinstance(payload, bytes) and isinstance(sig, bytes)):
        raise CheckError("COSE_Sign1 members have the wrong types")
    if cbor2.dumps(obj if not want_tag else cbor2.CBORTag(TAG_SIGN1, obj)) \
            != msg:
        raise CheckError("message is not in shortest-form CBOR")
    pmap = cbor2.loads(prot) if prot else {}
    if not isinstance(pmap, dict):
        raise CheckError("protected header is not a map")
    return prot, pmap, unprot, payload, sig


def encode_sign1(prot, unprot, payload, sig, tagged=True):
    body = [prot, unprot, payload, sig]
    return cbor2.dumps(cbor2.CBORTag(TAG_SIGN1, body) if tagged else body)


def make_sign1(priv, payload, aad=b"", alg=None, kid=None, tagged=True):
    """Signs payload; alg defaults to the key's, kid to the key's kid."""
    if alg is None:
        alg = alg_of(priv)
    if kid is None:
        kid = kid_of(priv.public_key())
    prot = cbor2.dumps({1: alg, 4: kid})
    sig = raw_sign(priv, sig_structure(prot, aad, payload))
    return encode_sign1(prot, {}, payload, sig, tagged), prot, sig


def verify_message(msg, pub, aad, what):
    """Checks tag, protected {1: alg, 4: kid}, and the signature."""
    prot, pmap, unprot, payload, sig = decode_sign1(msg)
    ok(what + ": tag 18, an array of 4 in shortest-form CBOR")
    alg = alg_of(pub)
    require(pmap.get(1) == alg, what + ": protected alg is %d" % alg,
            "found %r" % (pmap.get(1),))
    require(set(pmap) == {1, 4} and unprot == {},
            what + ": headers are protected {1: alg, 4: kid}, "
            "unprotected {}", "protected %r unprotected %r" % (pmap, unprot))
    require(raw_verify(pub, alg, sig_structure(prot, aad, payload), sig),
            what + ": signature verifies (independent Sig_structure)")
    return pmap, payload


# ---- mrx records --------------------------------------------------------

def add_years(t, years):
    """t plus calendar years in UTC; 29 February becomes 28 February."""
    d = datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc)
    try:
        d2 = d.replace(year=d.year + years)
    except ValueError:
        d2 = d.replace(year=d.year + years, day=28)
    return int(d2.timestamp())


def deterministic(obj):
    """Core deterministic encoding (RFC 8949 4.2.1): shortest heads and map
    keys sorted by the bytes of their encoding."""
    if isinstance(obj, dict):
        items = sorted((deterministic(k), deterministic(v))
                       for k, v in obj.items())
        return cbor_head(5, len(items)) + b"".join(k + v for k, v in items)
    if isinstance(obj, list):
        return cbor_head(4, len(obj)) + b"".join(deterministic(v)
                                                 for v in obj)
    return cbor2.dumps(obj)


def find_value(obj, pred):
    """True if some value inside obj (not a map key) satisfies pred."""
    if isinstance(obj, dict):
        return any(find_value(v, pred) for v in obj.values())
    if isinstance(obj, list):
        return any(find_value(v, pred) for v in obj)
    return pred(obj)


def check_claims(payload, a, label):
    claims = cbor2.loads(payload)
    require(isinstance(claims, dict), label + ": payload is a CBOR map")
    require(deterministic(claims) == payload,
            label + ": payload is core deterministic CBOR")
    require(claims.get(1) == a.iss, label + ": iss (1) == %r" % a.iss,
            "found %r" % (claims.get(1),))
    require(claims.get(2) == a.sub, label + ": sub (2) == %r" % a.sub,
            "found %r" % (claims.get(2),))
    cti = claims.get(7)
    require(isinstance(cti, bytes) and len(cti) == 16,
            label + ": cti (7) is 16 bytes", "found %r" % (cti,))
    iat, exp, nbf = claims.get(6), claims.get(4), claims.get(5)
    for key, v in ((6, iat), (4, exp), (5, nbf)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise CheckError("%s: claim %d is not an integer: %r"
                             % (label, key, v))
    require(abs(iat - a.now) <= 300,
            label + ": iat (6) is within 300 s of now",
            "iat %d, now %d" % (iat, a.now))
    want = add_years(iat, a.years)
    require(exp == want, label + ": exp (4) - iat (6) is exactly %d "
            "calendar years (%s -> %s)" % (
                a.years,
                datetime.datetime.fromtimestamp(
                    iat, tz=datetime.timezone.utc).isoformat(),
                datetime.datetime.fromtimestamp(
                    want, tz=datetime.timezone.utc).isoformat()),
            "exp %d, expected %d (off by %d s)" % (exp, want, exp - want))
    require(nbf <= iat, label + ": nbf (5) <= iat (6)",
            "nbf %d, iat %d" % (nbf, iat))
    if a.type:
        require(claims.get("type") == a.type,
                label + ": type == %r" % a.type,
                "found %r" % (claims.get("type"),))
    for lv in a.level or []:
        require(find_value(claims, lambda v: v == lv),
                label + ": names level %s" % lv)
    return claims


def cmd_check_record(a):
    with open(a.record, "rb") as f:
        msg = f.read()
    pub = load_pub(a.pub)
    pmap, payload = verify_message(msg, pub, b"", a.label)
    kid = pmap.get(4)
    require(isinstance(kid, bytes) and kid == kid_of(pub),
            a.label + ": kid is SHA-256(SPKI DER of %s)[:16] = %s"
            % (os.path.basename(a.pub), kid_of(pub).hex()),
            "found %r" % (kid,))
    claims = check_claims(payload, a, a.label)
    if a.delegate:
        der = spki_der(load_pub(a.delegate))
        require(find_value(claims, lambda b: b == der),
                a.label + ": embeds the SPKI DER of %s"
                % os.path.basename(a.delegate))
    return 0


def cmd_check_status(a):
    with open(a.record, "rb") as f:
        msg = f.read()
    pub = load_pub(a.pub)
    pmap, payload = verify_message(msg, pub, b"", a.label)
    require(pmap.get(4) == kid_of(pub), a.label + ": kid is the issuer's")
    claims = cbor2.loads(payload)
    require(deterministic(claims) == payload,
            a.label + ": payload is core deterministic CBOR")
    require(claims.get(1) == a.iss, a.label + ": iss (1) == %r" % a.iss)

    def all_valid(b):
        if not isinstance(b, bytes):
            return False
        try:
            bits = zlib.decompress(b)
        except zlib.error:
            return False
        return len(bits) == a.entries // 4 and not any(bits)
    require(find_value(claims, all_valid),
            a.label + ": holds a zlib list of %d entries, all valid"
            % a.entries)
    return 0


# ---- test vectors for `mrx cose verify` ---------------------------------

def gen_keys(d):
    keys = {
        "es256": ec.generate_private_key(ec.SECP256R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
        "es384": ec.generate_private_key(ec.SECP384R1()),
    }
    for name, k in keys.items():
        write_pem(k, os.path.join(d, "py-" + name))
    return keys


def write_pem(priv, base):
    der = priv.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(base + ".key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(der)
    with open(base + ".pub", "wb") as f:
        f.write(priv.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo))


class Manifest:
    """DIR/manifest: one vector a line, tab-separated:
    name  file  pub  aad-hex|-  expected-exit  needle|-"""

    def __init__(self, d):
        self.d = d
        self.lines = []

    def add(self, name, msg, pub, aad, want, needle="-"):
        path = os.path.join(self.d, name + ".cose")
        with open(path, "wb") as f:
            f.write(msg)
        with open(path + ".hex", "w") as f:
            f.write(msg.hex() + "\n")
        self.lines.append("\t".join([name, path, pub, aad.hex() or "-",
                                     str(want), needle]))

    def add_raw(self, name, data, pub, want):
        path = os.path.join(self.d, name + ".bin")
        with open(path, "wb") as f:
            f.write(data)
        with open(path + ".hex", "w") as f:
            f.write(data.hex() + "\n")
        self.lines.append("\t".join([name, path, pub, "-", str(want), "-"]))

    def write(self):
        with open(os.path.join(self.d, "manifest"), "w") as f:
            f.write("\n".join(self.lines) + "\n")


def flip(b, i):
    b = bytearray(b)
    b[i] ^= 0x01
    return bytes(b)


def good_vectors(m, keys, pubs, payload):
    aad = bytes.fromhex("a1b2c3d4e5f60718")
    for name in ("es256", "ed25519"):
        k, pub = keys[name], pubs[name]
        for tagged in (True, False):
            for with_aad in (False, True):
                a = aad if with_aad else b""
                msg, _, _ = make_sign1(k, payload, a, tagged=tagged)
                m.add("%s-%s-%s" % (name, "tagged" if tagged else "untagged",
                                    "aad" if with_aad else "noaad"),
                      msg, pub, a, 0)
        # An empty payload and a foreign kid are still valid messages.
        msg, _, _ = make_sign1(k, b"", b"")
        m.add(name + "-empty-payload", msg, pub, b"", 0)
        msg, _, _ = make_sign1(k, payload, b"", kid=b"other-kid")
        m.add(name + "-foreign-kid", msg, pub, b"", 0)


def bad_vectors(m, keys, pubs, payload):
    aad = bytes.fromhex("a1b2c3d4e5f60718")
    for name in ("es256", "ed25519"):
        k, pub = keys[name], pubs[name]
        other = "ed25519" if name == "es256" else "es256"
        # Protected alg of the other algorithm, signed and checked with
        # this key: the alg must be bound to the key type.
        msg, _, _ = make_sign1(k, payload, b"", alg=alg_of(keys[other]))
        m.add(name + "-key-with-alg-" + other, msg, pub, b"", 1)
        msg, prot, sig = make_sign1(k, payload, aad)
        m.add(name + "-flipped-sig-first", encode_sign1(
            prot, {}, payload, flip(sig, 0)), pub, aad, 1)
        m.add(name + "-flipped-sig-last", encode_sign1(
            prot, {}, payload, flip(sig, len(sig) - 1)), pub, aad, 1)
        m.add(name + "-changed-payload", encode_sign1(
            prot, {}, flip(payload, 3), sig), pub, aad, 1)
        m.add(name + "-wrong-aad", msg, pub, flip(aad, 0), 1)
        m.add(name + "-missing-aad", msg, pub, b"", 1)
        m.add(name + "-other-key", msg, pubs[name + "-2"], aad, 1)
        m.add(name + "-short-sig", encode_sign1(
            prot, {}, payload, sig[:-1]), pub, aad, 1)
        # a label in both buckets (RFC 9052 3)
        msg3, prot3, sig3 = make_sign1(k, payload, b"")
        m.add(name + "-kid-in-both", encode_sign1(
            prot3, {4: b"x"}, payload, sig3), pub, b"", 1)
        # crit naming a label nobody understands
        prot4 = cbor2.dumps({1: alg_of(k), 2: [99], 4: kid_of(
            k.public_key()), 99: 1})
        sig4 = raw_sign(k, sig_structure(prot4, b"", payload))
        m.add(name + "-unknown-crit", encode_sign1(
            prot4, {}, payload, sig4), pub, b"", 1)
        # a tag other than 18
        m.add(name + "-tag-17", cbor2.dumps(cbor2.CBORTag(
            17, [prot3, {}, payload, sig3])), pub, b"", 1)
        m.add(name + "-tag-98", cbor2.dumps(cbor2.CBORTag(
            98, [prot3, {}, payload, sig3])), pub, b"", 1)
    # ES256 with the high-s twin (r, n - s) is the same signature
    # mathematically; both are valid ECDSA, so only check it does not crash
    # and gives 0 or 1.
    k = keys["es256"]
    msg, prot, sig = make_sign1(k, payload, b"")
    s = int.from_bytes(sig[32:], "big")
    twin = sig[:32] + (P256_N - s).to_bytes(32, "big")
    m.add("es256-high-s-twin", encode_sign1(prot, {}, payload, twin),
          pubs["es256"], b"", "0|1")
    # ES384: a real P-384 signature, presented to a P-256 key
    msg, _, _ = make_sign1(keys["es384"], payload, b"")
    m.add("es384-alg-35", msg, pubs["es256"], b"", 1, "unsupported")
    msg, _, _ = make_sign1(keys["es256"], payload, b"", alg=ALG_ES384)
    m.add("es256-key-alg-35", msg, pubs["es256"], b"", 1, "unsupported")


def unprotected_alg_vectors(m, keys, pubs, payload):
    """cose.h: alg and kid are taken from the protected header, else from
    the unprotected one; an empty protected header is signed as h'' whether
    it arrived as h'' or h'a0' (RFC 9052 4.4). Wherever alg travels it stays
    bound to the key type."""
    for name in ("es256", "ed25519"):
        k, pub = keys[name], pubs[name]
        other = "ed25519" if name == "es256" else "es256"
        kid = kid_of(k.public_key())
        prot = cbor2.dumps({4: kid})
        sig = raw_sign(k, sig_structure(prot, b"", payload))
        m.add(name + "-alg-unprotected", encode_sign1(
            prot, {1: alg_of(k)}, payload, sig), pub, b"", 0)
        sig = raw_sign(k, sig_structure(b"", b"", payload))
        m.add(name + "-empty-protected", encode_sign1(
            b"", {1: alg_of(k), 4: kid}, payload, sig), pub, b"", 0)
        m.add(name + "-protected-a0", encode_sign1(
            b"\xa0", {1: alg_of(k), 4: kid}, payload, sig), pub, b"", 0)
        m.add(name + "-unprotected-alg-" + other, encode_sign1(
            b"", {1: alg_of(keys[other]), 4: kid}, payload, sig), pub,
            b"", 1)
        m.add(name + "-unprotected-alg-35", encode_sign1(
            b"", {1: ALG_ES384, 4: kid}, payload, sig), pub, b"", 1,
            "unsupported")


def garbage_vectors(m, keys, pubs, payload):
    rnd = random.Random(20250516)
    pub = pubs["es256"]
    good, _, _ = make_sign1(keys["es256"], payload, b"")
    blobs = {
        "garbage-empty": b"",
        "garbage-text": b"this is not CBOR at all\n",
        "garbage-odd-hex": b"d2845",
        "garbage-ff": b"\xff" * 64,
        "garbage-break": b"\xff",
        "garbage-truncated": good[:len(good) // 2],
        "garbage-truncated-1": good[:-1],
        "garbage-trailing": good + b"\x00",
        "garbage-deep-arrays": b"\x81" * 100000 + b"\x00",
        "garbage-deep-tags": b"\xd2" * 100000 + good[1:],
        "garbage-deep-maps": b"\xa1\x01" * 50000 + b"\x00",
        "garbage-huge-bstr": b"\xd2\x84\x5b" + b"\xff" * 8,
        "garbage-huge-array": b"\x9b" + b"\xff" * 8,
        "garbage-huge-map": b"\xd2\x84\x40\xbb" + b"\x7f" * 8,
        "garbage-indefinite": b"\xd2\x9f\x40\xa0\x40\x40\xff",
        "garbage-indef-bstr": b"\xd2\x84\x5f\x41\x00\xff\xa0\x40\x40",
        "garbage-array-3": cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b""])),
        "garbage-array-5": cbor2.dumps(cbor2.CBORTag(
            18, [b"", {}, b"", b"", b""])),
        "garbage-types": cbor2.dumps(cbor2.CBORTag(18, [1, 2, 3, 4])),
        "garbage-prot-not-map": cbor2.dumps(cbor2.CBORTag(
            18, [b"\x01", {}, b"x", bytes(64)])),
        "garbage-prot-trailing": cbor2.dumps(cbor2.CBORTag(
            18, [b"\xa1\x01\x26\x00", {}, b"x", bytes(64)])),
        "garbage-prot-huge-kid": cbor2.dumps(cbor2.CBORTag(
            18, [cbor2.dumps({1: -7, 4: bytes(100000)}), {}, b"x",
                 bytes(64)])),
        "garbage-alg-text": cbor2.dumps(cbor2.CBORTag(
            18, [cbor2.dumps({1: "ES256"}), {}, b"x", bytes(64)])),
        "garbage-alg-huge": cbor2.dumps(cbor2.CBORTag(
            18, [b"\xa1\x01\x3b" + b"\xff" * 8, {}, b"x", bytes(64)])),
        "garbage-float": b"\xfb" + b"\x7f\xf8" + bytes(6),
        "garbage-nul-bytes": bytes(256),
    }
    for i in range(8):
        blobs["garbage-random-%d" % i] = bytes(
            rnd.getrandbits(8) for _ in range(rnd.randrange(1, 400)))
    for name, data in blobs.items():
        m.add_raw(name, data, pub, 1)


def cmd_vectors(a):
    d = a.dir
    keys = gen_keys(d)
    keys["es256-2"] = ec.generate_private_key(ec.SECP256R1())
    keys["ed25519-2"] = ed25519.Ed25519PrivateKey.generate()
    for name in ("es256-2", "ed25519-2"):
        write_pem(keys[name], os.path.join(d, "py-" + name))
    pubs = {n: os.path.join(d, "py-" + n + ".pub") for n in keys}
    payload = cbor2.dumps({1: "jp.meti", "type": "interop", "n": 42})
    m = Manifest(d)
    good_vectors(m, keys, pubs, payload)
    bad_vectors(m, keys, pubs, payload)
    garbage_vectors(m, keys, pubs, payload)
    unprotected_alg_vectors(m, keys, pubs, payload)
    m.write()
    print("ok   wrote %d vectors to %s" % (len(m.lines),
                                            os.path.join(d, "manifest")))
    return 0


def cmd_verify(a):
    """Checks a message made by `mrx cose sign`."""
    with open(a.msg, "rb") as f:
        msg = f.read()
    if a.hex:
        msg = bytes.fromhex(msg.decode("ascii").strip())
    with open(a.payload, "rb") as f:
        want_payload = f.read()
    pub = load_pub(a.pub)
    aad = bytes.fromhex(a.aad) if a.aad else b""
    pmap, payload = verify_message(msg, pub, aad, a.label)
    kid = bytes.fromhex(a.kid) if a.kid else kid_of(pub)
    require(pmap.get(4) == kid, a.label + ": kid is %s" % kid.hex(),
            "found %r" % (pmap.get(4),))
    require(payload == want_payload, a.label + ": payload is the input")
    if aad:
        prot, _, _, _, sig = decode_sign1(msg)
        require(not raw_verify(pub, alg_of(pub),
                               sig_structure(prot, b"", payload), sig),
                a.label + ": signature does not verify without the AAD")
    return 0


def cmd_keygen(a):
    if a.alg == "es256":
        k = ec.generate_private_key(ec.SECP256R1())
    else:
        k = ed25519.Ed25519PrivateKey.generate()
    write_pem(k, a.name)
    return 0


def main(argv):
    p = argparse.ArgumentParser(prog="interop.py")
    sub = p.add_subparsers(dest="cmd", required=True)

    k = sub.add_parser("keygen")
    k.add_argument("alg", choices=["es256", "ed25519"])
    k.add_argument("name")

    r = sub.add_parser("check-record")
    r.add_argument("--record", required=True)
    r.add_argument("--pub", required=True)
    r.add_argument("--iss", required=True)
    r.add_argument("--sub", required=True)
    r.add_argument("--years", type=int, required=True)
    r.add_argument("--now", type=int, required=True)
    r.add_argument("--type")
    r.add_argument("--level", action="append")
    r.add_argument("--delegate")
    r.add_argument("--label", required=True)

    s = sub.add_parser("check-status")
    s.add_argument("--record", required=True)
    s.add_argument("--pub", required=True)
    s.add_argument("--iss", required=True)
    s.add_argument("--entries", type=int, default=131072)
    s.add_argument("--label", required=True)

    v = sub.add_parser("vectors")
    v.add_argument("dir")

    w = sub.add_parser("verify")
    w.add_argument("--pub", required=True)
    w.add_argument("--msg", required=True)
    w.add_argument("--payload", required=True)
    w.add_argument("--aad")
    w.add_argument("--kid")
    w.add_argument("--hex", action="store_true")
    w.add_argument("--label", required=True)

    a = p.parse_args(argv)
    handlers = {"keygen": cmd_keygen, "check-record": cmd_check_record,
                "check-status": cmd_check_status, "vectors": cmd_vectors,
                "verify": cmd_verify}
    try:
        return handlers[a.cmd](a)
    except CheckError as e:
        print("FAIL " + str(e))
        return 1
    except (ValueError, TypeError, KeyError, cbor2.CBORDecodeError,
            AssertionError) as e:
        print("FAIL %s: %s: %s" % (a.cmd, type(e).__name__, e))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
