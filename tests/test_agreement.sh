#!/bin/sh
# test_agreement.sh - mrx agreement draft|sign|verify end to end, as two root
# authorities would use it: every exit code (0 success/complete, 1 invalid
# input or incomplete, 2 usage), every kind of bad draft with its file:line:
# key, the signer refusals, and then the agreement at work in mrx verify: a
# US clearance judged for Japanese access (and the reverse) under the rows,
# scopes, conditions and validity window of the agreement.
set -u
MRX=${MRX_BIN:?MRX_BIN must name the mrx binary}
SRC=${MRX_SRC:?MRX_SRC must name the source tree}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 2
. "$SRC/tests/testlib.sh"

# lacks FILE TEXT DESCRIPTION
lacks() {
	checks=$((checks + 1))
	if grep -q -- "$2" "$1"; then
		echo "FAIL: $3: '$2' in $1"; fails=$((fails + 1))
	else
		echo "ok: $3"
	fi
}

# absent FILE DESCRIPTION: a refused command wrote nothing
absent() {
	checks=$((checks + 1))
	if [ -e "$1" ]; then
		echo "FAIL: $2: $1 was written"; fails=$((fails + 1))
	else
		echo "ok: $2"
	fi
}

# RFC 3339 UTC time relative to now ("-1 day", "+2 years")
t() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
FROM=$(t '-1 day')
UNTIL=$(t '+2 years')
AFTER=$(t '+2 years +1 day')
PAST=$(t '-1 day')
STALE=$(t '-10 minutes')

# --- the two roots and their issuers ---
expect 0 "JP root key" -- "$MRX" keygen --alg ed25519 --out jp
expect 0 "US root key" -- "$MRX" keygen --alg es256 --out us
expect 0 "JP issuer key" -- "$MRX" keygen --alg es256 --out jpi
expect 0 "US issuer key" -- "$MRX" keygen --alg ed25519 --out usi
expect 0 "a rogue key" -- "$MRX" keygen --alg ed25519 --out rogue
expect 0 "JP delegation" -- "$MRX" issue delegation --key jp.key --iss jp.cao \
	--delegate jpi.pub --sub jp.meti --level JP-SDS:TOP-SECRET \
	--level JP-CESI:CONFIDENTIAL --iat "$PAST" --out jp-deleg.cose
expect 0 "US delegation" -- "$MRX" issue delegation --key us.key --iss us.dcsa \
	--delegate usi.pub --sub us.dod --level US:TOP-SECRET --iat "$PAST" \
	--out us-deleg.cose
expect 0 "JP status list" -- "$MRX" status new --key jpi.key --iss jp.meti \
	--out jp-status.cose
expect 0 "US status list" -- "$MRX" status new --key usi.key --iss us.dod \
	--out us-status.cose
expect 0 "US status list 10 minutes old" -- "$MRX" status new --key usi.key \
	--iss us.dod --iat "$STALE" --out us-status-old.cose
expect 0 "US SECRET clearance" -- "$MRX" issue clearance --key usi.key --iss us.dod \
	--sub 00112233445566778899aabbccddeeff --level US:SECRET --operator us.op.prime \
	--status-index 7 --out us-secret.cose
expect 0 "US CONFIDENTIAL clearance" -- "$MRX" issue clearance --key usi.key \
	--iss us.dod --sub 0102030405060708090a0b0c0d0e0f10 --level US:CONFIDENTIAL \
	--operator us.op.prime --status-index 8 --out us-conf.cose
expect 0 "US operator certification" -- "$MRX" issue operator --key usi.key \
	--iss us.dod --sub us.op.prime --level US:TOP-SECRET --status-index 100 \
	--out us-op.cose
expect 0 "JP SDS SECRET clearance" -- "$MRX" issue clearance --key jpi.key \
	--iss jp.meti --sub aabbccddeeff00112233445566778899 --level JP-SDS:SECRET \
	--operator jp.op.prime --status-index 7 --out jp-sds.cose
expect 0 "JP operator certification" -- "$MRX" issue operator --key jpi.key \
	--iss jp.meti --sub jp.op.prime --level JP-SDS:TOP-SECRET --status-index 100 \
	--out jp-op.cose

# --- draft ---
cat > draft.yaml <<EOF
id: jp-us-test
parties: [jp.cao, us.dcsa]
valid_from: $FROM
valid_until: $UNTIL
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
EOF
expect 0 "agreement --help" -- "$MRX" agreement --help
contains out.txt "usage: mrx agreement draft" "agreement usage text"
expect 0 "top-level help lists agreement" -- "$MRX" --help
contains out.txt "agreement" "agreement in the command list"
expect 2 "agreement without a command" -- "$MRX" agreement
expect 2 "unknown agreement command" -- "$MRX" agreement ratify draft.yaml
contains err.txt "unknown agreement command 'ratify'" "unknown command is named"
expect 0 "draft" -- "$MRX" agreement draft draft.yaml --out terms.cbor
contains out.txt "agreement jp-us-test between jp.cao (drafting party) and us.dcsa" \
	"draft names the agreement and its parties"
contains out.txt "1  US:SECRET  *-> JP-SDS:SECRET" "draft lists row 1"
contains out.txt "3  US:CONFIDENTIAL  *-> JP-CESI:CONFIDENTIAL  *scopes: semiconductors, batteries" \
	"draft lists row 3 with its scopes"
contains out.txt "status at most 5m old; operator certification required" \
	"draft shows the conditions"
contains out.txt "terms hash [0-9a-f]\{64\}" "draft prints the terms hash"
contains out.txt "in force at" "draft says the agreement is in force now"
hash=$(sed -n 's/.*terms hash \([0-9a-f]*\).*/\1/p' out.txt)
expect 0 "the example draft is valid" -- "$MRX" agreement draft \
	"$SRC/conf/examples/jp-us-draft.yaml" --out example.cbor
contains out.txt "agreement jp-us-2026-draft" "the example's id"
contains out.txt "4  JP-SDS:SECRET  *-> US:SECRET" "the example's reverse row"
expect 2 "draft refuses to overwrite" -- "$MRX" agreement draft draft.yaml --out terms.cbor
contains err.txt "refusing to overwrite" "overwrite refusal is explained"
expect 0 "draft --force overwrites" -- "$MRX" agreement draft draft.yaml \
	--out example.cbor --force
expect 0 "draft to standard output" -- sh -c "\"$MRX\" agreement draft draft.yaml \
	--out - > stdout.cbor"
contains err.txt "terms hash" "the summary goes to stderr when the terms go to stdout"
checks=$((checks + 1))
if [ -s stdout.cbor ] && ! grep -q "terms hash" stdout.cbor; then
	echo "ok: standard output holds only the terms"
else
	echo "FAIL: standard output is not just the terms"; fails=$((fails + 1))
fi
expect 2 "draft without --out" -- "$MRX" agreement draft draft.yaml
expect 2 "draft without a file" -- "$MRX" agreement draft --out x.cbor
expect 2 "draft with an option of sign" -- "$MRX" agreement draft draft.yaml \
	--out x.cbor --key jp.key
expect 2 "draft of a missing file" -- "$MRX" agreement draft nosuch.yaml --out x.cbor
contains err.txt "nosuch.yaml: cannot open" "missing draft is named"
absent x.cbor "nothing written for a refused draft"

# bad_draft LINE KEY TEXT DESCRIPTION < draft: exit 1, "bad.yaml:LINE: KEY: ...TEXT"
bad_draft() {
	cat > bad.yaml
	rm -f bad.cbor
	expect 1 "bad draft: $4" -- "$MRX" agreement draft bad.yaml --out bad.cbor
	if [ -n "$2" ]; then
		contains err.txt "^mrx agreement draft: bad.yaml:$1: $2: " \
		    "$4: file, line and key named"
	else
		contains err.txt "^mrx agreement draft: bad.yaml:$1: " \
		    "$4: file and line named"
	fi
	contains err.txt "$3" "$4: cause named"
	absent bad.cbor "$4: nothing written"
}

HEAD="id: jp-us-test
parties: [jp.cao, us.dcsa]
valid_from: 2026-12-01T00:00:00Z
valid_until: 2031-12-01T00:00:00Z
conditions:
  max_status_age: 5m
  operator_cert_required: true"

bad_draft 10 "rows\[0\].to" "unknown level 'JP-SDS:SECRT' (known JP-SDS levels: JP-SDS:SECRET, JP-SDS:TOP-SECRET)" \
	"unknown level" <<EOF
$HEAD
rows:
  - from: US:SECRET
    to: JP-SDS:SECRT
EOF
bad_draft 9 "rows\[0\].from" "known schemes: JP-CESI, JP-SDS, US, UK, NATO" \
	"unknown scheme" <<EOF
$HEAD
rows:
  - from: FR:SECRET
    to: JP-SDS:SECRET
EOF
bad_draft 11 "rows\[1\].to" "a row maps a foreign scheme onto a local one" \
	"from and to in one scheme" <<EOF
$HEAD
rows:
  - {from: US:SECRET, to: JP-SDS:SECRET}
  - from: JP-SDS:TOP-SECRET
    to: JP-SDS:SECRET
EOF
bad_draft 11 "rows\[2\]" "US:SECRET -> JP-SDS:SECRET is already rows\[0\] (line 9)" \
	"duplicate row" <<EOF
$HEAD
rows:
  - {from: US:SECRET, to: JP-SDS:SECRET}
  - {from: US:TOP-SECRET, to: JP-SDS:TOP-SECRET}
  - {from: US:SECRET, to: JP-SDS:SECRET, scopes: [batteries]}
EOF
bad_draft 4 "valid_until" "is not after valid_from (2031-12-01T00:00:00Z, line 3)" \
	"dates out of order" <<EOF
id: jp-us-test
parties: [jp.cao, us.dcsa]
valid_from: 2031-12-01T00:00:00Z
valid_until: 2026-12-01T00:00:00Z
conditions: {max_status_age: 5m, operator_cert_required: true}
rows: [{from: US:SECRET, to: JP-SDS:SECRET}]
EOF
bad_draft 3 "valid_from" "'2026-13-01' is not a time" "not a time" <<EOF
id: jp-us-test
parties: [jp.cao, us.dcsa]
valid_from: 2026-13-01
valid_until: 2031-12-01T00:00:00Z
conditions: {max_status_age: 5m, operator_cert_required: true}
rows: [{from: US:SECRET, to: JP-SDS:SECRET}]
EOF
bad_draft 11 "rows\[0\].scope" "unknown key (allowed: from, to, scopes)" "unknown row key" <<EOF
$HEAD
rows:
  - from: US:SECRET
    to: JP-SDS:SECRET
    scope: [batteries]
EOF
bad_draft 3 "valid-from" "unknown key (allowed: id, parties, valid_from" "unknown key" <<EOF
id: jp-us-test
parties: [jp.cao, us.dcsa]
valid-from: 2026-12-01T00:00:00Z
EOF
bad_draft 1 "conditions" "missing (required: max_status_age and operator_cert_required)" \
	"missing section" <<EOF
id: jp-us-test
parties: [jp.cao, us.dcsa]
valid_from: 2026-12-01T00:00:00Z
valid_until: 2031-12-01T00:00:00Z
rows: [{from: US:SECRET, to: JP-SDS:SECRET}]
EOF
bad_draft 5 "conditions.operator_cert_required" "missing (required: true or false)" \
	"missing condition" <<EOF
id: jp-us-test
parties: [jp.cao, us.dcsa]
valid_from: 2026-12-01T00:00:00Z
valid_until: 2031-12-01T00:00:00Z
conditions:
  max_status_age: 5m
rows: [{from: US:SECRET, to: JP-SDS:SECRET}]
EOF
bad_draft 9 "rows\[0\].to" "missing (required: the local level" "row without to" <<EOF
$HEAD
rows:
  - from: US:SECRET
EOF
bad_draft 3 "id" "duplicate key (first given at line 1)" "duplicate key" <<EOF
id: jp-us-test
parties: [jp.cao, us.dcsa]
id: jp-us-other
EOF
bad_draft 2 "parties" "3 parties (expected exactly two" "three parties" <<EOF
id: jp-us-test
parties: [jp.cao, us.dcsa, uk.cabinet]
EOF
bad_draft 4 "parties\[1\]" "'jp.cao' is listed twice" "one party twice" <<EOF
id: jp-us-test
parties:
  - jp.cao
  - jp.cao
EOF
bad_draft 2 "parties\[1\]" "'US DCSA' is not a valid id" "bad party id" <<EOF
id: jp-us-test
parties: [jp.cao, US DCSA]
EOF
bad_draft 1 "id" "'JP/US' is not a valid id" "bad agreement id" <<EOF
id: JP/US
EOF
bad_draft 6 "conditions.max_status_age" "'5 minutes' is not a duration" "bad duration" <<EOF
id: jp-us-test
parties: [jp.cao, us.dcsa]
valid_from: 2026-12-01T00:00:00Z
valid_until: 2031-12-01T00:00:00Z
conditions:
  max_status_age: 5 minutes
  operator_cert_required: true
EOF
bad_draft 7 "conditions.operator_cert_required" "'yes' is not a boolean" "not a boolean" <<EOF
id: jp-us-test
parties: [jp.cao, us.dcsa]
valid_from: 2026-12-01T00:00:00Z
valid_until: 2031-12-01T00:00:00Z
conditions:
  max_status_age: 5m
  operator_cert_required: yes
EOF
bad_draft 8 "rows" "no rows" "no rows" <<EOF
$HEAD
rows: []
EOF
bad_draft 11 "rows\[0\].scopes\[1\]" "'Semis' is not a scope" "bad scope" <<EOF
$HEAD
rows:
  - from: US:CONFIDENTIAL
    to: JP-CESI:CONFIDENTIAL
    scopes: [batteries, Semis]
EOF
bad_draft 11 "rows\[0\].scopes\[1\]" "'batteries' is listed twice" "scope twice" <<EOF
$HEAD
rows:
  - from: US:CONFIDENTIAL
    to: JP-CESI:CONFIDENTIAL
    scopes: [batteries, batteries]
EOF
bad_draft 11 "rows\[0\].scopes" "no value (expected a list of scopes)" "scopes without a value" <<EOF
$HEAD
rows:
  - from: US:CONFIDENTIAL
    to: JP-CESI:CONFIDENTIAL
    scopes:
EOF
bad_draft 2 "parties" "expected a list of root authority ids, not a value" "parties not a list" <<EOF
id: jp-us-test
parties: jp.cao
EOF
bad_draft 5 "" "YAML syntax error" "YAML syntax" <<EOF
id: jp-us-test
parties: [jp.cao, us.dcsa]
rows:
  - from: [US:SECRET
EOF

# --- sign: the drafting party first ---
expect 2 "the other party cannot sign first" -- "$MRX" agreement sign --key us.key \
	--party us.dcsa --payload terms.cbor --out a1.cose
contains err.txt "the drafting party jp.cao signs the terms first" "the order is explained"
expect 2 "a party that is not listed" -- "$MRX" agreement sign --key rogue.key \
	--party uk.cabinet --payload terms.cbor --out a1.cose
contains err.txt "uk.cabinet is not a party of agreement jp-us-test" "the stranger is named"
expect 2 "a key that is not the given root of the party" -- "$MRX" agreement sign \
	--key rogue.key --party jp.cao --root jp.cao=jp.pub --payload terms.cbor --out a1.cose
contains err.txt "is not the root key given for jp.cao" "the key mismatch is named"
expect 2 "sign without --out" -- "$MRX" agreement sign --key jp.key --party jp.cao \
	--payload terms.cbor
expect 2 "sign with a public key" -- "$MRX" agreement sign --key jp.pub --party jp.cao \
	--payload terms.cbor --out a1.cose
absent a1.cose "nothing signed after a refusal"
printf 'not cbor' > junk.cbor
expect 1 "sign garbage terms" -- "$MRX" agreement sign --key jp.key --party jp.cao \
	--payload junk.cbor --out a1.cose
contains err.txt "not a valid agreement payload" "garbage terms are explained"
expect 0 "the drafting party signs" -- "$MRX" agreement sign --key jp.key --party jp.cao \
	--payload terms.cbor --out a1.cose
contains out.txt "jp.cao  *signed now: signature 1 (EdDSA" "the drafting party's signature"
contains out.txt "us.dcsa  *still to sign" "the other party still must sign"
contains out.txt "terms hash $hash" "the signed terms are the drafted ones"
expect 0 "sign to standard output" -- sh -c "\"$MRX\" agreement sign --key jp.key \
	--party jp.cao --payload terms.cbor --out - > a1-stdout.cose"
contains err.txt "us.dcsa  *still to sign" "the summary goes to stderr when the record goes to stdout"
expect 0 "Ed25519 is deterministic: the same terms, the same agreement" -- \
	cmp a1.cose a1-stdout.cose
expect 2 "signed agreement given as terms" -- "$MRX" agreement sign --key us.key \
	--party us.dcsa --payload a1.cose --out a2.cose
contains err.txt "use --in" "the right option is suggested"

# --- sign: the other party adds its signature ---
expect 2 "the drafting party cannot sign twice" -- "$MRX" agreement sign --key jp.key \
	--party jp.cao --in a1.cose --out a2.cose
contains err.txt "already signed" "a second signature by the same key is refused"
expect 2 "a key whose kid already signed" -- "$MRX" agreement sign --key jp.key \
	--party us.dcsa --in a1.cose --out a2.cose
contains err.txt "this key (kid [0-9a-f]*) already signed agreement jp-us-test (signature 1)" \
	"the kid is named"
expect 0 "another JP key" -- "$MRX" keygen --alg ed25519 --out jp2
expect 2 "the same party twice, with another key" -- "$MRX" agreement sign \
	--key jp2.key --party jp.cao --in a1.cose --out a2.cose
contains err.txt "jp.cao has already signed agreement jp-us-test (signature 1" \
	"the party is named"
expect 2 "a party that is not listed adds a signature" -- "$MRX" agreement sign \
	--key rogue.key --party uk.cabinet --in a1.cose --out a2.cose
expect 0 "other terms" -- "$MRX" agreement draft "$SRC/conf/examples/jp-us-draft.yaml" \
	--out other.cbor
expect 1 "changed terms are refused" -- "$MRX" agreement sign --key us.key \
	--party us.dcsa --in a1.cose --payload other.cbor --out a2.cose
contains err.txt "refusing to sign changed terms" "changed terms are explained"
perl -0777 -pe 's/jp-us-test/jp-us-tesx/' a1.cose > tampered.cose
expect 1 "a payload changed after the first signature (root given)" -- \
	"$MRX" agreement sign --key us.key --party us.dcsa --in tampered.cose \
	--root jp.cao=jp.pub --out a2.cose
contains err.txt "does not verify with the root key of jp.cao" "the broken signature is named"
expect 1 "a payload changed after the first signature (terms given)" -- \
	"$MRX" agreement sign --key us.key --party us.dcsa --in tampered.cose \
	--payload terms.cbor --out a2.cose
expect 1 "no signature by the drafting party's root" -- "$MRX" agreement sign \
	--key us.key --party us.dcsa --in a1.cose --root jp.cao=rogue.pub --out a2.cose
contains err.txt "no signature by its drafting party jp.cao" "the missing signer is named"
expect 2 "one root key for both parties" -- "$MRX" agreement verify a1.cose \
	--root jp.cao=jp.pub --root us.dcsa=jp.pub
contains err.txt "the same key is given for jp.cao and us.dcsa" "the shared key is named"
absent a2.cose "nothing signed after a refusal"
expect 0 "the other party signs" -- "$MRX" agreement sign --key us.key --party us.dcsa \
	--in a1.cose --payload terms.cbor --root jp.cao=jp.pub --root us.dcsa=us.pub \
	--out agreement.cose
contains out.txt "jp.cao  *signed: signature 1 (EdDSA, kid [0-9a-f]*), verified with its root key" \
	"the first signature is checked"
contains out.txt "us.dcsa  *signed now: signature 2 (ES256" "the second signature is added"
contains out.txt "both parties have signed" "complete after two signatures"
expect 0 "sign without checking the first signature" -- "$MRX" agreement sign \
	--key us.key --party us.dcsa --in a1.cose --out a2.cose
contains out.txt "the drafting party's (not checked: no --root jp.cao=PUB)" \
	"an unchecked signature is said to be so"
expect 2 "a third signature" -- "$MRX" agreement sign --key rogue.key --party us.dcsa \
	--in agreement.cose --out a3.cose
contains err.txt "both parties have signed" "the full agreement is named"
expect 0 "inspect the agreement" -- "$MRX" inspect agreement.cose --json
contains out.txt '"hash": "'"$hash"'"' "the record hash is the terms hash"
checks=$((checks + 1))
if [ "$(grep -c '"kid"' out.txt)" -eq 2 ]; then
	echo "ok: two signatures"
else
	echo "FAIL: expected two signatures"; fails=$((fails + 1))
fi

# --- verify ---
expect 0 "verify a complete agreement" -- "$MRX" agreement verify agreement.cose \
	--root jp.cao=jp.pub --root us.dcsa=us.pub
contains out.txt "^complete: both parties signed and both signatures verify" "complete"
contains out.txt "us.dcsa  *signed: signature 2 (ES256" "each party's signature"
expect 0 "verify --json" -- "$MRX" agreement verify agreement.cose \
	--root us.dcsa=us.pub --root jp.cao=jp.pub --json
contains out.txt '"complete": true' "json complete"
contains out.txt '"status": "valid"' "json party status"
contains out.txt '"in_force": true' "in force now"
contains out.txt '"type": "agreement"' "json carries the record"
expect 0 "verify --at after valid_until" -- "$MRX" agreement verify agreement.cose \
	--root jp.cao=jp.pub --root us.dcsa=us.pub --at "$AFTER" --json
contains out.txt '"in_force": false' "not in force after valid_until"
expect 1 "verify with one signature" -- "$MRX" agreement verify a1.cose \
	--root jp.cao=jp.pub --root us.dcsa=us.pub
contains out.txt "^incomplete: us.dcsa has not signed" "incomplete names the party"
expect 1 "verify --json with one signature" -- "$MRX" agreement verify a1.cose \
	--root jp.cao=jp.pub --root us.dcsa=us.pub --json
contains out.txt '"complete": false' "json incomplete"
contains out.txt '"status": "not-signed"' "json not signed"
perl -0777 -pe 's/jp-us-test/jp-us-tesx/' agreement.cose > tampered2.cose
expect 1 "verify a changed agreement" -- "$MRX" agreement verify tampered2.cose \
	--root jp.cao=jp.pub --root us.dcsa=us.pub
contains out.txt "^invalid: the signature of jp.cao does not verify" "invalid names the party"
expect 1 "verify with a wrong root key" -- "$MRX" agreement verify agreement.cose \
	--root jp.cao=rogue.pub --root us.dcsa=us.pub
contains out.txt "incomplete: jp.cao has not signed" "the wrong root finds no signature"
contains out.txt "other  *signature 1 (EdDSA" "the unmatched signature is listed"
expect 2 "verify without a root for each party" -- "$MRX" agreement verify \
	agreement.cose --root jp.cao=jp.pub
contains err.txt "no root key for party us.dcsa" "the missing root is named"
expect 2 "verify with a root that is not a party" -- "$MRX" agreement verify \
	agreement.cose --root jp.cao=jp.pub --root uk.cabinet=us.pub
contains err.txt "uk.cabinet is not a party" "the stranger root is named"
expect 2 "verify with a root without its id" -- "$MRX" agreement verify \
	agreement.cose --root jp.pub --root us.dcsa=us.pub
contains err.txt "give it as ID=PUB" "ID=PUB is asked for"
expect 2 "verify with one party twice" -- "$MRX" agreement verify agreement.cose \
	--root jp.cao=jp.pub --root jp.cao=jp2.pub
expect 2 "verify without a file" -- "$MRX" agreement verify --root jp.cao=jp.pub
expect 2 "verify a missing file" -- "$MRX" agreement verify nosuch.cose \
	--root jp.cao=jp.pub --root us.dcsa=us.pub
expect 2 "verify with --out" -- "$MRX" agreement verify agreement.cose \
	--root jp.cao=jp.pub --root us.dcsa=us.pub --out x.cose
expect 2 "verify with a bad --at" -- "$MRX" agreement verify agreement.cose \
	--root jp.cao=jp.pub --root us.dcsa=us.pub --at tomorrow
expect 1 "verify a clearance" -- "$MRX" agreement verify us-secret.cose \
	--root jp.cao=jp.pub --root us.dcsa=us.pub
contains err.txt "is a clearance, not an agreement" "the record type is named"
expect 1 "verify garbage" -- "$MRX" agreement verify junk.cbor \
	--root jp.cao=jp.pub --root us.dcsa=us.pub

# --- the agreement at work: mrx verify ---
# V CLEARANCE ARGS...: the verifier trusts both roots and both issuers
V() {
	c=$1; shift
	"$MRX" verify "$c" --root jp.cao=jp.pub --root us.dcsa=us.pub \
	    --chain us-deleg.cose --chain jp-deleg.cose "$@"
}
expect 0 "a US SECRET clearance counts as JP-SDS SECRET" -- V us-secret.cose \
	--chain agreement.cose --status us-status.cose --operator-cert us-op.cose \
	--access JP-SDS:SECRET
contains out.txt "^accept" "accept"
contains out.txt "counts as JP-SDS:SECRET under agreement jp-us-test row 1" \
	"the agreement and row are named"
expect 0 "the same, --json" -- V us-secret.cose --chain agreement.cose \
	--status us-status.cose --operator-cert us-op.cose --access JP-SDS:SECRET --json
contains out.txt '"agreement": "jp-us-test"' "json names the agreement"
contains out.txt '"agreement_row": 1' "json names the row"
expect 1 "the agreement requires the operator certification" -- V us-secret.cose \
	--chain agreement.cose --status us-status.cose --access JP-SDS:SECRET
contains out.txt "operator-cert-missing" "operator-cert-missing reason"
expect 1 "with one signature the agreement is refused" -- V us-secret.cose \
	--chain a1.cose --status us-status.cose --operator-cert us-op.cose \
	--access JP-SDS:SECRET
contains out.txt "note: a1.cose was not used (bad-signature)" "the refusal is noted"
contains out.txt "lacks a valid signature by party us.dcsa" "the missing party is named"
contains out.txt "no-equivalence" "no-equivalence without a complete agreement"
expect 1 "a changed agreement is refused" -- V us-secret.cose --chain tampered2.cose \
	--status us-status.cose --operator-cert us-op.cose --access JP-SDS:SECRET
contains out.txt "note: tampered2.cose was not used" "the changed agreement is noted"
expect 1 "no agreement, no equivalence" -- V us-secret.cose --status us-status.cose \
	--operator-cert us-op.cose --access JP-SDS:SECRET
contains out.txt "no-equivalence" "no-equivalence reason"
expect 1 "a level no row covers" -- V us-secret.cose --chain agreement.cose \
	--status us-status.cose --operator-cert us-op.cose --access JP-SDS:TOP-SECRET
contains out.txt "no-equivalence" "US SECRET does not reach JP-SDS TOP-SECRET"
lacks out.txt "under agreement" "no row is named"
expect 1 "a scoped row without the scope" -- V us-conf.cose --chain agreement.cose \
	--status us-status.cose --operator-cert us-op.cose --access JP-CESI:CONFIDENTIAL
contains out.txt "no-equivalence" "the scope-limited row does not apply"
expect 0 "a scoped row with its scope" -- V us-conf.cose --chain agreement.cose \
	--status us-status.cose --operator-cert us-op.cose --access JP-CESI:CONFIDENTIAL \
	--scope semiconductors
contains out.txt "under agreement jp-us-test row 3" "row 3 applies"
expect 0 "the row's other scope" -- V us-conf.cose --chain agreement.cose \
	--status us-status.cose --operator-cert us-op.cose --access JP-CESI:CONFIDENTIAL \
	--scope batteries
expect 1 "a scope the row does not list" -- V us-conf.cose --chain agreement.cose \
	--status us-status.cose --operator-cert us-op.cose --access JP-CESI:CONFIDENTIAL \
	--scope aircraft-parts
contains out.txt "no-equivalence" "an unlisted scope"
expect 1 "after valid_until" -- V us-secret.cose --chain agreement.cose \
	--status us-status.cose --operator-cert us-op.cose --access JP-SDS:SECRET \
	--at "$AFTER"
contains out.txt "no-equivalence" "no-equivalence once the agreement has ended"
contains out.txt "(0 agreements of root us.dcsa considered)" "the ended agreement is not considered"
expect 0 "the reverse row: JP-SDS SECRET counts as US SECRET" -- V jp-sds.cose \
	--chain agreement.cose --status jp-status.cose --operator-cert jp-op.cose \
	--access US:SECRET
contains out.txt "under agreement jp-us-test row 4" "row 4 applies"
expect 1 "the agreement's status age bound (5m)" -- V us-secret.cose \
	--chain agreement.cose --status us-status-old.cose --operator-cert us-op.cose \
	--access JP-SDS:SECRET
contains out.txt "^indeterminate" "a 10-minute-old status is too old under the agreement"
contains out.txt "status-stale" "status-stale reason"
expect 0 "the same status suffices at home (1d bound)" -- V us-secret.cose \
	--status us-status-old.cose --access US:SECRET

echo "agreement: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
