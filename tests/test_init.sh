#!/bin/sh
# test_init.sh - mrx init end to end: each role's data directory, file
# modes, the delegation it makes (levels, and that a clearance issued with
# the new key verifies against it), the TLS material in tls/ (a development
# CA, or --tls-ca), refusal to overwrite, exit 2 with one line for every bad
# argument, and that a failed init leaves nothing behind.
set -u
MRX=${MRX_BIN:?MRX_BIN must name the mrx binary}
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work" || exit 2
. "${MRX_SRC:?MRX_SRC must name the source tree}/tests/testlib.sh"

# usage_error DESCRIPTION -- ARGS...: exit 2, one line "mrx init: ..." naming TEXT
usage_error() {
	what=$1 text=$2
	shift 3
	expect 2 "$what" -- "$MRX" init "$@"
	checks=$((checks + 1))
	if [ "$(wc -l <err.txt)" -eq 1 ] && grep -q "^mrx init: .*$text" err.txt; then
		echo "ok: $what: one line naming '$text'"
	else
		echo "FAIL: $what: stderr is not one line naming '$text':"
		sed 's/^/  /' err.txt | head -5; fails=$((fails + 1))
	fi
}

mode_of() { stat -c %a "$1"; }
is_mode() { [ "$(mode_of "$1")" = "$2" ]; }

# --- an issuer with a local development root ---
expect 0 "init issuer" -- "$MRX" init --role issuer --id jp.meti --jurisdiction JP \
	--data iss --api 127.0.0.1:7411
cp out.txt iss.out
contains iss.out "kid [0-9a-f]\{32\}" "init prints the signing key's kid"
contains iss.out "jp.meti.root" "init prints the local root's id"
contains iss.out "http://127.0.0.1:7411" "init prints the API address"
contains iss.out "development trust chain" "init says the chain is a development one"
contains iss.out "next: mrxd --data iss" "init prints the next command"
check "data directory is mode 0700" -- is_mode iss 700
check "signing key is mode 0600" -- is_mode iss/keys/sign.key 600
check "local root key is mode 0600" -- is_mode iss/keys/root.key 600
check "admin token is mode 0600" -- is_mode iss/admin.token 600
check "public keys exist" -- test -f iss/keys/sign.pub -a -f iss/keys/root.pub
check "admin token is 64 hex digits and a newline" -- \
	sh -c '[ "$(wc -c <iss/admin.token)" -eq 65 ] && grep -qx "[0-9a-f]\{64\}" iss/admin.token'
check "no temporary directory is left" -- sh -c '! ls -a iss | grep -q init-tmp'
contains iss/mrx.yaml "^role: issuer" "mrx.yaml names the role"
contains iss/mrx.yaml "^jurisdiction: JP" "mrx.yaml names the jurisdiction"
contains iss/mrx.yaml 'listen: "127.0.0.1:7411"' "mrx.yaml has the API address"
contains iss/mrx.yaml 'key: "keys/root.pub"' "mrx.yaml lists the root's key, relative"
contains iss/mrx.yaml '- "trust/delegation.cose"' "mrx.yaml lists the delegation"
contains iss/mrx.yaml "DEVELOPMENT TRUST CHAIN" "mrx.yaml says the chain is a development one"

# --- TLS: a development CA in tls/ca/ and the node's certificate ---
check "tls/ is mode 0700" -- is_mode iss/tls 700
check "tls/ca/ is mode 0700" -- is_mode iss/tls/ca 700
check "TLS node key is mode 0600" -- is_mode iss/tls/node.key 600
check "TLS node certificate is mode 0644" -- is_mode iss/tls/node.pem 644
check "TLS CA bundle is mode 0644" -- is_mode iss/tls/ca.pem 644
check "development CA key is mode 0600" -- is_mode iss/tls/ca/ca.key 600
check "the bundle is the development CA's certificate" -- cmp -s iss/tls/ca/ca.pem iss/tls/ca.pem
contains iss.out "development TLS CA" "init says the TLS CA is a development one"
contains iss.out "tls/node.pem (CN jp.meti" "init prints the TLS certificate"
expect 0 "the TLS material checks" -- "$MRX" cert check --dir iss/tls
expect 0 "show the TLS certificate" -- "$MRX" cert show iss/tls/node.pem
contains out.txt "DNS:jp.meti, DNS:localhost, IP:127.0.0.1, IP:::1" "its names: the id and loopback"
contains out.txt "CN=mrx development CA jp.meti" "issued by the development CA"
expect 0 "inspect the delegation" -- "$MRX" inspect iss/trust/delegation.cose --json
contains out.txt '"type": "delegation"' "it is a delegation"
contains out.txt '"iss": "jp.meti.root"' "signed by the local root"
contains out.txt '"sub": "jp.meti"' "delegated to the node"
contains out.txt '"JP-CESI:CONFIDENTIAL"' "JP levels: JP-CESI:CONFIDENTIAL"
contains out.txt '"JP-SDS:SECRET"' "JP levels: JP-SDS:SECRET"
contains out.txt '"JP-SDS:TOP-SECRET"' "JP levels: JP-SDS:TOP-SECRET"

# --- the delegation verifies: issue with the node's key, verify ---
expect 0 "status list with the node's key" -- "$MRX" status new --key iss/keys/sign.key \
	--iss jp.meti --out status.cose
expect 0 "issue a clearance with the node's key" -- "$MRX" issue clearance \
	--key iss/keys/sign.key --iss jp.meti --sub 00112233445566778899aabbccddeeff \
	--level JP-SDS:SECRET --operator jp.op.sub --status-index 7 --out clr.cose
expect 0 "verify accepts through init's delegation" -- "$MRX" verify clr.cose \
	--root iss/keys/root.pub --chain iss/trust/delegation.cose --status status.cose \
	--access JP-SDS:SECRET
contains out.txt "^accept" "verify prints accept"

# --- never overwrite ---
cp iss/admin.token token.before
usage_error "re-init is refused" "already holds a node configuration" -- \
	--role issuer --id jp.meti --jurisdiction JP --data iss
usage_error "re-init is refused even with --force" "refusing to overwrite" -- \
	--role operator --id jp.op --jurisdiction JP --data iss --force
check "the refused re-init changed nothing" -- cmp -s token.before iss/admin.token
mkdir busy && echo keep >busy/notes.txt
usage_error "a non-empty directory needs --force" "not empty" -- \
	--role operator --id jp.op --jurisdiction JP --data busy
expect 0 "--force sets up among other files" -- "$MRX" init --role operator \
	--id jp.op --jurisdiction JP --data busy --force
contains busy/notes.txt "keep" "the other file is untouched"
mkdir half && mkdir half/keys
usage_error "an existing keys/ is never replaced" "half/keys already exists" -- \
	--role operator --id jp.op --jurisdiction JP --data half --force

# --- a root and an operator ---
expect 0 "init root" -- "$MRX" init --role root --id jp.cao --jurisdiction JP --data root/
contains out.txt "next: mrxd --data root$" "a trailing / is dropped"
check "root: signing key is mode 0600" -- is_mode root/keys/sign.key 600
check "root: admin token is mode 0600" -- is_mode root/admin.token 600
check "root: no delegation" -- test ! -e root/trust
contains root/mrx.yaml "^role: root" "root: mrx.yaml names the role"
contains root/mrx.yaml "- id: jp.cao" "root: lists itself in trust.roots"
contains root/mrx.yaml 'key: "keys/sign.pub"' "root: with its own public key"
expect 0 "init operator" -- "$MRX" init --role operator --id jp.op.prime \
	--jurisdiction JP --data op --alg es256
contains out.txt "ES256" "operator: an ES256 key"
check "operator: signing key is mode 0600" -- is_mode op/keys/sign.key 600
check "operator: no delegation" -- test ! -e op/trust
contains op/mrx.yaml "roots: \[\]" "operator: trust.roots is empty"
contains op/mrx.yaml "chain: \[\]" "operator: trust.chain is empty"

# --- an issuer delegated by a given root, and the default levels ---
expect 0 "keygen a national root" -- "$MRX" keygen --alg es256 --out cao
expect 0 "init issuer with --root-key" -- "$MRX" init --role issuer --id jp.meti \
	--jurisdiction JP --data iss2 --root-key cao.key --root-id jp.cao \
	--level JP-CESI:CONFIDENTIAL
check "the root's private key is not copied" -- test ! -e iss2/keys/root.key
check "the root's public key is kept" -- cmp -s cao.pub iss2/keys/root.pub
contains iss2/mrx.yaml "- id: jp.cao" "the given root is in trust.roots"
expect 0 "inspect the given root's delegation" -- "$MRX" inspect \
	iss2/trust/delegation.cose --json
contains out.txt '"iss": "jp.cao"' "signed by the given root"
contains out.txt '"alg": "ES256"' "with the given root's algorithm"
check "only the --level given" -- sh -c '! grep -q "JP-SDS" out.txt'
expect 0 "clearance from the second issuer" -- "$MRX" issue clearance \
	--key iss2/keys/sign.key --iss jp.meti --sub 00112233445566778899aabbccddeeff \
	--level JP-CESI:CONFIDENTIAL --operator jp.op.sub --status-index 9 --out clr2.cose
expect 0 "status list of the second issuer" -- "$MRX" status new \
	--key iss2/keys/sign.key --iss jp.meti --out status2.cose
expect 0 "verify accepts through the national root" -- "$MRX" verify clr2.cose \
	--root cao.pub --chain iss2/trust/delegation.cose --status status2.cose \
	--access JP-CESI:CONFIDENTIAL
expect 0 "init US issuer" -- "$MRX" init --role issuer --id us.dcsa --jurisdiction US \
	--data us
expect 0 "inspect the US delegation" -- "$MRX" inspect us/trust/delegation.cose --json
contains out.txt '"US:TOP-SECRET"' "US levels by default"
expect 0 "init GB issuer" -- "$MRX" init --role issuer --id uk.uksv --jurisdiction GB \
	--data gb
expect 0 "inspect the GB delegation" -- "$MRX" inspect gb/trust/delegation.cose --json
contains out.txt '"UK:DV"' "UK levels for GB"
usage_error "no default levels for FR" "give.*--level\|--level" -- \
	--role issuer --id fr.dgsi --jurisdiction FR --data fr
check "the refused FR init left nothing" -- test ! -e fr
expect 0 "FR issuer with --level" -- "$MRX" init --role issuer --id fr.dgsi \
	--jurisdiction FR --data fr --level NATO:NS

# --- TLS from a given CA (--tls-ca) and --tls-host ---
expect 0 "a federation CA" -- "$MRX" cert ca --out fedca --name "mrx federation CA JP"
cp fedca/ca.key fedca.key.before
expect 0 "init with --tls-ca and --tls-host" -- "$MRX" init --role operator --id jp.op.tls \
	--jurisdiction JP --data tlsop --tls-ca fedca --tls-host op.example --tls-host 192.0.2.9
contains out.txt "issued by 'mrx federation CA JP'" "init names the CA that issued it"
check "no development CA with --tls-ca" -- test ! -e tlsop/tls/ca
check "no development CA note with --tls-ca" -- sh -c '! grep -q "development TLS CA" out.txt'
check "the CA's key is not copied" -- sh -c '! grep -rq "PRIVATE KEY" tlsop/tls/ca.pem tlsop/tls/node.pem'
check "the CA's files are untouched" -- cmp -s fedca.key.before fedca/ca.key
check "the bundle is the given CA's certificate" -- cmp -s fedca/ca.pem tlsop/tls/ca.pem
check "TLS node key is mode 0600 (--tls-ca)" -- is_mode tlsop/tls/node.key 600
expect 0 "show the --tls-host certificate" -- "$MRX" cert show tlsop/tls/node.pem
contains out.txt "DNS:jp.op.tls, DNS:op.example, IP:192.0.2.9" "the id and the hosts given"
expect 0 "the --tls-ca material checks" -- "$MRX" cert check --dir tlsop/tls
expect 0 "a second node of the same CA" -- "$MRX" init --role operator --id jp.op.two \
	--jurisdiction JP --data tlsop2 --tls-ca fedca
expect 0 "each node's certificate chains to the other's bundle" -- "$MRX" cert check \
	--cert tlsop/tls/node.pem --key tlsop/tls/node.key --ca tlsop2/tls/ca.pem
expect 1 "but not to another node's development CA" -- "$MRX" cert check \
	--cert tlsop/tls/node.pem --key tlsop/tls/node.key --ca iss/tls/ca.pem
usage_error "a --tls-ca without ca.pem" "nofed/ca.pem" -- \
	--role operator --id jp.op --jurisdiction JP --data bad --tls-ca nofed
mkdir badca && cp tlsop/tls/node.pem badca/ca.pem && cp tlsop/tls/node.key badca/ca.key
usage_error "a --tls-ca that is not a CA" "not a CA certificate" -- \
	--role operator --id jp.op --jurisdiction JP --data bad --tls-ca badca
mkdir looseca && cp fedca/ca.pem fedca/ca.key looseca/ && chmod 644 looseca/ca.key
usage_error "a --tls-ca key others may read" "chmod 600" -- \
	--role operator --id jp.op --jurisdiction JP --data bad --tls-ca looseca
usage_error "a bad --tls-host" "--tls-host: 'a_b' is neither" -- \
	--role operator --id jp.op --jurisdiction JP --data bad --tls-host a_b
usage_error "an id that cannot name a certificate" "--id: 'jp..op' cannot name a TLS" -- \
	--role operator --id jp..op --jurisdiction JP --data bad
mkdir hastls && mkdir hastls/tls
usage_error "an existing tls/ is never replaced" "hastls/tls already exists" -- \
	--role operator --id jp.op --jurisdiction JP --data hastls --force
check "no TLS failure created the directory" -- test ! -e bad

# --- bad arguments: exit 2, one line, nothing created ---
usage_error "unknown role" "'admin' is not a role" -- \
	--role admin --id x --jurisdiction JP --data bad
usage_error "invalid id" "--id: 'JP_METI' is not a valid id" -- \
	--role issuer --id JP_METI --jurisdiction JP --data bad
usage_error "lower-case jurisdiction" "--jurisdiction: 'jp'" -- \
	--role issuer --id jp.meti --jurisdiction jp --data bad
usage_error "three-letter jurisdiction" "--jurisdiction: 'JPN'" -- \
	--role issuer --id jp.meti --jurisdiction JPN --data bad
usage_error "--api port out of range" "--api: .*out of range 1..65535" -- \
	--role operator --id jp.op --jurisdiction JP --data bad --api 127.0.0.1:70000
usage_error "--api without a port" "--api: .*no port" -- \
	--role operator --id jp.op --jurisdiction JP --data bad --api 127.0.0.1
usage_error "unknown --alg" "--alg: unsupported algorithm 'rsa'" -- \
	--role operator --id jp.op --jurisdiction JP --data bad --alg rsa
usage_error "--data is required" "are required" -- \
	--role operator --id jp.op --jurisdiction JP
usage_error "--root-key without --root-id" "go together" -- \
	--role issuer --id jp.meti --jurisdiction JP --data bad --root-key cao.key
usage_error "unknown --level" "unknown level 'JP:SECRET'" -- \
	--role issuer --id jp.meti --jurisdiction JP --data bad --level JP:SECRET
usage_error "a --level twice" "'JP-SDS:SECRET' is given twice" -- \
	--role issuer --id jp.meti --jurisdiction JP --data bad --level JP-SDS:SECRET \
	--level JP-SDS:SECRET
usage_error "--level for a root" "are for --role issuer" -- \
	--role root --id jp.cao --jurisdiction JP --data bad --level JP-SDS:SECRET
usage_error "an extra argument" "unexpected argument 'extra'" -- \
	--role root --id jp.cao --jurisdiction JP --data bad extra
check "no bad argument created the directory" -- test ! -e bad
echo x >plainfile
usage_error "DIR is a file" "not a directory" -- \
	--role root --id jp.cao --jurisdiction JP --data plainfile
usage_error "DIR cannot be created" "cannot create plainfile/sub" -- \
	--role root --id jp.cao --jurisdiction JP --data plainfile/sub
usage_error "a root key that does not exist" "missing.key" -- \
	--role issuer --id jp.meti --jurisdiction JP --data late --root-key missing.key \
	--root-id jp.cao
check "a bad root key leaves no directory" -- test ! -e late
# a write that fails half-way (files limited to BLOCKS; stderr through a pipe,
# which the limit does not touch): init takes back everything it made
limited() {
	blocks=$1
	shift
	(sh -c 'trap "" XFSZ; ulimit -f "$1"; shift; "$@"; echo "exit $?"' sh \
		"$blocks" "$MRX" init "$@" 2>&1 | cat) >lim.txt
}
checks=$((checks + 1))
limited 0 --role issuer --id jp.meti --jurisdiction JP --data full1
if grep -q "^exit 2" lim.txt && grep -q "File too large" lim.txt && [ ! -e full1 ]; then
	echo "ok: a key that cannot be written: exit 2, no directory left"
else
	echo "FAIL: a key that cannot be written:"; sed 's/^/  /' lim.txt; ls -la full1
	fails=$((fails + 1))
fi
mkdir full2
checks=$((checks + 1))
limited 1 --role issuer --id jp.meti --jurisdiction JP --data full2
if grep -q "^exit 2" lim.txt && grep -q "configuration" lim.txt &&
    [ -z "$(ls -A full2)" ]; then
	echo "ok: a configuration that cannot be written: exit 2, DIR left empty"
else
	echo "FAIL: a configuration that cannot be written:"; sed 's/^/  /' lim.txt
	ls -la full2; fails=$((fails + 1))
fi
mkdir empty
usage_error "a failure in an existing empty DIR" "missing.key" -- \
	--role issuer --id jp.meti --jurisdiction JP --data empty --root-key missing.key \
	--root-id jp.cao
check "... leaves it empty" -- sh -c '[ -z "$(ls -A empty)" ]'
if [ "$(id -u)" -ne 0 ]; then
	mkdir ro && chmod 500 ro
	usage_error "an unwritable DIR" "cannot create" -- \
		--role root --id jp.cao --jurisdiction JP --data ro
	chmod 700 ro
fi
expect 0 "init --help" -- "$MRX" init --help
contains out.txt "usage: mrx init" "help shows the usage"
contains out.txt "--tls-ca CADIR" "help explains --tls-ca"
contains out.txt "--tls-host NAME|IP" "help explains --tls-host"
expect 0 "mrx --help lists init" -- "$MRX" --help
contains out.txt "  init " "init is in the command list"

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
