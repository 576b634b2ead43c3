#!/bin/sh
# test_cli.sh - the offline mrx CLI end to end, as a user types it: the
# command lines of the README, every exit code (0 accept/success, 1
# reject/invalid, 2 usage/I/O), key-file permissions, and the expiry
# boundary to the second (also across JST/UTC).
set -u
MRX=${MRX_BIN:?MRX_BIN must name the mrx binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 2
. "${MRX_SRC:?MRX_SRC must name the source tree}/tests/testlib.sh"

mode_of() { stat -c %a "$1"; }

# --- keys ---
expect 0 "keygen ed25519" -- "$MRX" keygen --alg ed25519 --out root
expect 0 "keygen es256" -- "$MRX" keygen --alg es256 --out issuer
checks=$((checks + 1))
if [ "$(mode_of root.key)" = 600 ] && [ "$(mode_of issuer.key)" = 600 ]; then
	echo "ok: private keys are mode 0600"
else
	echo "FAIL: private key modes $(mode_of root.key) $(mode_of issuer.key)"; fails=$((fails + 1))
fi
contains root.key "BEGIN PRIVATE KEY" "private key is PKCS#8 PEM"
contains issuer.pub "BEGIN PUBLIC KEY" "public key is SubjectPublicKeyInfo PEM"
expect 2 "keygen refuses to overwrite" -- "$MRX" keygen --alg ed25519 --out root
contains err.txt "refusing to overwrite" "overwrite refusal is explained"
expect 2 "keygen rejects an unknown algorithm" -- "$MRX" keygen --alg rsa --out x
contains err.txt "unsupported algorithm" "unknown algorithm is named"

# --- the README flow ---
expect 0 "issue delegation" -- "$MRX" issue delegation --key root.key --iss jp.cao \
	--delegate issuer.pub --sub jp.meti --level JP-CESI:CONFIDENTIAL --valid-for 2y \
	--out deleg.cose
expect 0 "status new" -- "$MRX" status new --key issuer.key --iss jp.meti --out status.cose
expect 0 "issue clearance" -- "$MRX" issue clearance --key issuer.key --iss jp.meti \
	--sub 00112233445566778899aabbccddeeff --level JP-CESI:CONFIDENTIAL \
	--operator jp.op.sub --status-index 7 --out clr.cose
expect 0 "inspect --json" -- "$MRX" inspect clr.cose --json
contains out.txt '"type": "clearance"' "inspect names the type"
contains out.txt '"level": "JP-CESI:CONFIDENTIAL"' "inspect shows the level"
contains out.txt '"alg": "ES256"' "inspect shows the alg"
contains out.txt '"kid": "' "inspect shows the kid"
expect 0 "inspect status list" -- "$MRX" inspect status.cose
contains out.txt "size: 131072" "a new status list has 131072 entries"
expect 0 "verify accepts" -- "$MRX" verify clr.cose --root root.pub --chain deleg.cose \
	--status status.cose --access JP-CESI:CONFIDENTIAL
contains out.txt "^accept" "verify prints accept"
expect 0 "verify --json accepts" -- "$MRX" verify clr.cose --root root.pub \
	--chain deleg.cose --status status.cose --access JP-CESI:CONFIDENTIAL --json
contains out.txt '"decision": "accept"' "json decision"
contains out.txt '"status_age_s"' "json evidence has the status age"
expect 0 "verify with --at 2030 accepts" -- "$MRX" verify clr.cose --root root.pub \
	--chain deleg.cose --status status.cose --access JP-CESI:CONFIDENTIAL \
	--at 2030-01-01T00:00:00Z
expect 0 "status set revoked" -- "$MRX" status set status.cose --key issuer.key \
	--index 7 --to revoked --reason ELIGIBILITY_REVOKED --out status2.cose \
	--delta-out delta2.cose
expect 0 "inspect the new list" -- "$MRX" inspect status2.cose --json
contains out.txt '"seq": 2' "status set increments the sequence"
contains out.txt '"revoked": 1' "one entry revoked"
expect 0 "inspect the delta" -- "$MRX" inspect delta2.cose --json
contains out.txt '"reason": "ELIGIBILITY_REVOKED"' "the delta carries the reason"
expect 1 "verify rejects after revocation" -- "$MRX" verify clr.cose --root root.pub \
	--chain deleg.cose --status status2.cose --access JP-CESI:CONFIDENTIAL
contains out.txt "^reject" "verify prints reject"
contains out.txt "revoked:" "reason code revoked"
contains out.txt "ELIGIBILITY_REVOKED" "administrative reason code"
expect 1 "verify --json rejects" -- "$MRX" verify clr.cose --root root.pub \
	--chain deleg.cose --status status2.cose --access JP-CESI:CONFIDENTIAL --json
contains out.txt '"code": "revoked"' "json reason code"
expect 1 "an older list next to the newer one cannot undo the revocation" -- \
	"$MRX" verify clr.cose --root root.pub --chain deleg.cose --status status2.cose \
	--status status.cose --access JP-CESI:CONFIDENTIAL
expect 0 "reinstate" -- "$MRX" status set status2.cose --key issuer.key --index 7 \
	--to valid --reason REINSTATED --out status3.cose
expect 0 "verify accepts after reinstatement" -- "$MRX" verify clr.cose --root root.pub \
	--chain deleg.cose --status status3.cose --access JP-CESI:CONFIDENTIAL
expect 2 "status set refuses another issuer's key" -- "$MRX" status set status.cose \
	--key root.key --index 7 --to revoked --out x.cose
contains err.txt "not signed by this key" "foreign key is named"

# --- decisions that reject ---
expect 1 "level of another scheme without agreement" -- "$MRX" verify clr.cose \
	--root root.pub --chain deleg.cose --status status.cose --access US:SECRET
contains out.txt "no-equivalence" "no-equivalence reason"
expect 1 "no status list is indeterminate" -- "$MRX" verify clr.cose --root root.pub \
	--chain deleg.cose --access JP-CESI:CONFIDENTIAL
contains out.txt "^indeterminate" "indeterminate printed"
contains out.txt "status-missing" "status-missing reason"
expect 0 "keygen a rogue root" -- "$MRX" keygen --alg ed25519 --out rogue
expect 1 "a wrong root refuses the chain" -- "$MRX" verify clr.cose --root jp.cao=rogue.pub \
	--chain deleg.cose --status status.cose --access JP-CESI:CONFIDENTIAL
contains out.txt "unknown-issuer" "unchained issuer"
expect 2 "root id cannot be inferred" -- "$MRX" verify clr.cose --root rogue.pub \
	--chain deleg.cose --status status.cose --access JP-CESI:CONFIDENTIAL

# --- expiry to the second, UTC and JST ---
expect 0 "delegation back-dated for the boundary test" -- "$MRX" issue delegation \
	--key root.key --iss jp.cao --delegate issuer.pub --sub jp.meti \
	--level JP-CESI:CONFIDENTIAL --valid-for 2y --iat 2025-12-01T00:00:00Z --out d0.cose
expect 0 "clearance issued 2026-01-01" -- "$MRX" issue clearance --key issuer.key \
	--iss jp.meti --sub 00112233445566778899AABBCCDDEEFF --level JP-CESI:CONFIDENTIAL \
	--operator jp.op.sub --status-index 9 --iat 2026-01-01T00:00:00Z --out c0.cose
expect 0 "inspect c0" -- "$MRX" inspect c0.cose --json
contains out.txt '"exp": "2036-01-01T00:00:00Z"' "JP-CESI default validity is 10 years"
contains out.txt '"sub": "00112233445566778899aabbccddeeff"' "subject id normalised to lowercase"
v() { "$MRX" verify c0.cose --root root.pub --chain d0.cose --status status.cose \
	--access JP-CESI:CONFIDENTIAL "$@"; }
expect 0 "one second before expiry" -- v --at 2035-12-31T23:59:59Z
expect 1 "at expiry" -- v --at 2036-01-01T00:00:00Z
contains out.txt "expired" "expired reason"
expect 1 "one second after expiry" -- v --at 2036-01-01T00:00:01Z
expect 0 "one second before expiry, in JST" -- v --at 2036-01-01T08:59:59+09:00
expect 1 "expiry instant, in JST" -- v --at 2036-01-01T09:00:00+09:00
expect 0 "nbf minus the skew allowance" -- v --at 2025-12-31T23:59:00Z
expect 1 "before nbf minus the skew allowance" -- v --at 2025-12-31T23:58:59Z
contains out.txt "not-yet-valid" "not-yet-valid reason"
expect 1 "no skew allowance" -- v --at 2025-12-31T23:59:59Z --skew 0
expect 0 "JP-SDS delegation" -- "$MRX" issue delegation --key root.key --iss jp.cao \
	--delegate issuer.pub --sub jp.meti --level JP-SDS:TOP-SECRET --iat 2025-12-01T00:00:00Z \
	--out d1.cose
expect 0 "JP-SDS clearance" -- "$MRX" issue clearance --key issuer.key --iss jp.meti \
	--sub 00112233445566778899aabbccddeeff --level JP-SDS:SECRET --operator jp.op.sub \
	--status-index 10 --iat 2026-01-01T00:00:00Z --out c1.cose
expect 0 "inspect c1" -- "$MRX" inspect c1.cose --json
contains out.txt '"exp": "2031-01-01T00:00:00Z"' "JP-SDS default validity is 5 years"
expect 0 "TOP-SECRET delegation covers SECRET" -- "$MRX" verify c1.cose --root root.pub \
	--chain d1.cose --status status.cose --access JP-SDS:SECRET --at 2030-12-31T23:59:59Z
expect 1 "a SECRET clearance does not cover TOP-SECRET" -- "$MRX" verify c1.cose \
	--root root.pub --chain d1.cose --status status.cose --access JP-SDS:TOP-SECRET
contains out.txt "level-insufficient" "level-insufficient reason"

# --- operator certification ---
expect 0 "issue operator certification" -- "$MRX" issue operator --key issuer.key \
	--iss jp.meti --sub jp.op.sub --level JP-CESI:CONFIDENTIAL --status-index 100 \
	--out op.cose
expect 0 "both layers hold" -- "$MRX" verify clr.cose --root root.pub --chain deleg.cose \
	--status status.cose --operator-cert op.cose --require-operator \
	--access JP-CESI:CONFIDENTIAL
expect 1 "operator certification required" -- "$MRX" verify clr.cose --root root.pub \
	--chain deleg.cose --status status.cose --require-operator --access JP-CESI:CONFIDENTIAL
contains out.txt "operator-cert-missing" "operator-cert-missing reason"

# --- key revocation ---
expect 0 "revoke the issuer key from 2026-06-01" -- "$MRX" issue key-revocation \
	--key root.key --iss jp.cao --sub jp.meti --revoke issuer.pub \
	--from 2026-06-01T00:00:00Z --out krev.cose
expect 1 "status lists signed with the compromised key are refused" -- v \
	--chain krev.cose --issuer-confirmed
contains out.txt "status-missing" "no usable status list"
contains out.txt "note: status.cose was not used (key-revoked)" "the refused list is named"
expect 0 "a new issuer key" -- "$MRX" keygen --alg ed25519 --out issuer2
expect 0 "delegate the new key" -- "$MRX" issue delegation --key root.key --iss jp.cao \
	--delegate issuer2.pub --sub jp.meti --level JP-CESI:CONFIDENTIAL --out d2.cose
expect 0 "status list under the new key" -- "$MRX" status new --key issuer2.key \
	--iss jp.meti --out status-k2.cose
expect 1 "a clearance signed before the compromise needs its issuer's word" -- \
	v --chain krev.cose --chain d2.cose --status status-k2.cose
contains out.txt "issuer-log-unconfirmed" "the missing confirmation is named"
expect 0 "a clearance signed before the compromise stands, confirmed" -- v \
	--chain krev.cose --chain d2.cose --status status-k2.cose --issuer-confirmed
expect 1 "records signed after the compromise are void" -- "$MRX" verify clr.cose \
	--root root.pub --chain deleg.cose --chain krev.cose --status status.cose \
	--access JP-CESI:CONFIDENTIAL
contains out.txt "key-revoked" "key-revoked reason"

# --- bad input: named errors, right exit codes, no crash ---
expect 2 "no arguments" -- "$MRX"
expect 2 "unknown command" -- "$MRX" frobnicate
expect 0 "top-level help" -- "$MRX" --help
for c in keygen issue status inspect verify cose; do
	expect 0 "$c --help" -- "$MRX" $c --help
	contains out.txt "usage: mrx $c" "$c usage text"
done
expect 2 "verify without --access" -- "$MRX" verify clr.cose --root root.pub
expect 2 "missing file" -- "$MRX" inspect nosuch.cose
contains err.txt "nosuch.cose" "missing file is named"
printf 'not cbor at all' > junk.cose
expect 1 "inspect garbage" -- "$MRX" inspect junk.cose
contains err.txt "not a valid mrx record" "garbage is explained"
expect 1 "verify garbage" -- "$MRX" verify junk.cose --root root.pub --chain deleg.cose \
	--status status.cose --access JP-CESI:CONFIDENTIAL
contains out.txt "malformed" "malformed reason"
head -c 70000 /dev/zero > big.cose
expect 1 "oversized record" -- "$MRX" verify big.cose --root root.pub --chain deleg.cose \
	--access JP-CESI:CONFIDENTIAL
expect 2 "bad --at" -- v --at 2036-13-01
contains err.txt "\-\-at" "bad --at is named"
expect 2 "bad --valid-for" -- "$MRX" issue delegation --key root.key --iss jp.cao \
	--delegate issuer.pub --sub jp.x --level JP-CESI:CONFIDENTIAL --valid-for 2years --out z.cose
contains err.txt "valid-for" "bad duration is named"
expect 2 "unknown level" -- "$MRX" issue clearance --key issuer.key --iss jp.meti \
	--sub 00112233445566778899aabbccddeeff --level JP-CESI:SECRET --operator jp.op.sub \
	--status-index 1 --out z.cose
contains err.txt "unknown level" "unknown level is named"
expect 2 "bad subject id" -- "$MRX" issue clearance --key issuer.key --iss jp.meti \
	--sub alice --level JP-CESI:CONFIDENTIAL --operator jp.op.sub --status-index 1 --out z.cose
expect 2 "bad issuer id" -- "$MRX" issue clearance --key issuer.key --iss "JP METI" \
	--sub 00112233445566778899aabbccddeeff --level JP-CESI:CONFIDENTIAL \
	--operator jp.op.sub --status-index 1 --out z.cose
expect 2 "signing with a public key" -- "$MRX" status new --key issuer.pub --iss jp.meti \
	--out z.cose
contains err.txt "public key" "public key for signing is explained"
checks=$((checks + 1))
if [ -e z.cose ]; then echo "FAIL: a refused command left z.cose"; fails=$((fails + 1)); else echo "ok: nothing written on error"; fi
expect 2 "record refuses to overwrite" -- "$MRX" status new --key issuer.key --iss jp.meti \
	--out status.cose
chmod 644 issuer.key
expect 2 "private key readable by others is refused" -- "$MRX" status new \
	--key issuer.key --iss jp.meti --out z2.cose
contains err.txt "readable by group or others" "permission problem is explained"
chmod 600 issuer.key
printf 'garbage' > bad.key; chmod 600 bad.key
expect 2 "corrupt key file" -- "$MRX" status new --key bad.key --iss jp.meti --out z3.cose

# --- raw COSE ---
printf 'hello, COSE' > msg.bin
expect 0 "cose sign" -- "$MRX" cose sign --key issuer.key --in msg.bin --out msg.cose
expect 0 "cose verify" -- "$MRX" cose verify --pub issuer.pub --in msg.cose
expect 0 "cose verify --json" -- "$MRX" cose verify --pub issuer.pub --in msg.cose --json
contains out.txt '"valid": true' "json valid"
expect 1 "cose verify with another key" -- "$MRX" cose verify --pub root.pub --in msg.cose
expect 0 "cose sign with aad and kid" -- "$MRX" cose sign --key root.key --aad 0102 \
	--kid 6b6964 --in msg.bin --out msg2.cose
expect 0 "cose verify with aad" -- "$MRX" cose verify --pub root.pub --aad 0102 --in msg2.cose
expect 1 "cose verify with wrong aad" -- "$MRX" cose verify --pub root.pub --aad 0103 \
	--in msg2.cose
expect 1 "cose verify of garbage" -- "$MRX" cose verify --pub root.pub --in junk.cose
expect 2 "cose bad hex" -- "$MRX" cose sign --key root.key --aad 0g --in msg.bin --out m3.cose

echo "cli: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
