#!/bin/sh
# test_cert.sh - mrx cert ca|issue|show|check end to end: the files and
# their modes, the certificate's names, refusal to overwrite, the CA bundle
# an operator extends, and the exit codes: 0 ok, 1 invalid material or a
# failed check, 2 usage or I/O error (one line on stderr naming the cause).
set -u
MRX=${MRX_BIN:?MRX_BIN must name the mrx binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 2
. "${MRX_SRC:?MRX_SRC must name the source tree}/tests/testlib.sh"

mode_of() { stat -c %a "$1"; }
is_mode() { [ "$(mode_of "$1")" = "$2" ]; }
# one_line CODE DESCRIPTION TEXT -- ARGS...: exit CODE, one stderr line naming TEXT
one_line() {
	code=$1 what=$2 text=$3
	shift 4
	expect "$code" "$what" -- "$MRX" cert "$@"
	checks=$((checks + 1))
	if [ "$(wc -l <err.txt)" -eq 1 ] && grep -q "^mrx cert [a-z]*: .*$text" err.txt; then
		echo "ok: $what: one line naming '$text'"
	else
		echo "FAIL: $what: stderr is not one line naming '$text':"
		sed 's/^/  /' err.txt | head -5; fails=$((fails + 1))
	fi
}

# --- a CA ---
expect 0 "cert ca" -- "$MRX" cert ca --out fed --name "mrx federation CA JP"
contains out.txt "CN=mrx federation CA JP" "ca prints its name"
contains out.txt "CA          yes, pathlen 0" "ca is a CA with pathlen 0"
contains out.txt "EC P-256" "ca has a P-256 key"
check "CA directory is mode 0700" -- is_mode fed 700
check "CA key is mode 0600" -- is_mode fed/ca.key 600
check "CA certificate is mode 0644" -- is_mode fed/ca.pem 644
contains fed/ca.key "BEGIN PRIVATE KEY" "the key is PKCS#8 PEM"
cp fed/ca.key ca.key.before
one_line 2 "a second ca into the same DIR is refused" "already exists" -- \
	ca --out fed
check "the refused ca changed nothing" -- cmp -s ca.key.before fed/ca.key
expect 0 "cert ca with --days" -- "$MRX" cert ca --out fed2 --name "mrx federation CA US" --days 400
one_line 2 "ca without --out" "--out is required" -- ca --name x
one_line 2 "ca --days 0" "--days: '0'" -- ca --out bad --days 0
one_line 2 "ca --days abc" "--days: 'abc'" -- ca --out bad --days abc
one_line 2 "ca --name too long" "1 to 64" -- ca --out bad \
	--name "0123456789012345678901234567890123456789012345678901234567890123456789"
check "no failed ca left a directory" -- test ! -e bad

# --- a node's certificate ---
expect 0 "cert issue" -- "$MRX" cert issue --ca fed --id jp.meti --out n1
contains out.txt "DNS:jp.meti, DNS:localhost, IP:127.0.0.1, IP:::1" "default SANs"
contains out.txt "issuer      CN=mrx federation CA JP" "issued by the CA"
contains out.txt "CA          no" "a node certificate is not a CA"
check "node key is mode 0600" -- is_mode n1/node.key 600
check "node certificate is mode 0644" -- is_mode n1/node.pem 644
check "ca.pem is a copy of the CA's certificate" -- cmp -s fed/ca.pem n1/ca.pem
check "the CA's key is not copied" -- test ! -e n1/ca.key
expect 0 "issue with --host" -- "$MRX" cert issue --ca fed --id us.dcsa --out n2 \
	--host node2.example --host 192.0.2.7 --host 2001:db8::7
contains out.txt "DNS:us.dcsa, DNS:node2.example, IP:192.0.2.7, IP:2001:db8::7" "the hosts given"
check "no loopback names when hosts are given" -- sh -c '! grep -q localhost out.txt'
cp n1/node.key node.key.before
one_line 2 "issue into a DIR that has node.pem is refused" "already exists" -- \
	issue --ca fed --id jp.meti --out n1
check "the refused issue changed nothing" -- cmp -s node.key.before n1/node.key
one_line 2 "issue with a bad --id" "--id\|DNS name" -- \
	issue --ca fed --id "jp..meti" --out bad
one_line 2 "issue with a bad --host" "'a_b' is neither" -- \
	issue --ca fed --id jp.meti --out bad --host a_b
one_line 2 "issue beyond the CA's expiry" "after its CA expires" -- \
	issue --ca fed2 --id jp.meti --out bad --days 825
one_line 2 "issue without --id" "are required" -- issue --ca fed --out bad
one_line 2 "--not-before without --not-after" "go together" -- \
	issue --ca fed --id jp.meti --out bad --not-before 2020-01-01T00:00:00Z
one_line 2 "issue from a missing CA" "nofed/ca.pem" -- \
	issue --ca nofed --id jp.meti --out bad
check "no failed issue left a directory" -- test ! -e bad
mkdir notca && cp n1/node.pem notca/ca.pem && cp n1/node.key notca/ca.key
one_line 1 "issue from a certificate that is not a CA" "is not a CA certificate" -- \
	issue --ca notca --id jp.meti --out bad
mkdir mixed && cp fed/ca.pem mixed/ca.pem && cp fed2/ca.key mixed/ca.key
one_line 1 "issue with a CA key that is not the CA's" "is not the private key" -- \
	issue --ca mixed --id jp.meti --out bad
mkdir loose && cp fed/ca.pem fed/ca.key loose/ && chmod 644 loose/ca.key
one_line 1 "issue with a CA key others may read" "chmod 600" -- \
	issue --ca loose --id jp.meti --out bad
check "... left nothing" -- test ! -e bad

# --- show ---
expect 0 "show a certificate" -- "$MRX" cert show n1/node.pem
contains out.txt "subject     CN=jp.meti" "show: subject"
contains out.txt "sha256      [0-9a-f]\{64\}" "show: SHA-256 fingerprint"
contains out.txt "not after   [0-9-]*T[0-9:]*Z" "show: RFC 3339 times"
expect 0 "show --json" -- "$MRX" cert show fed/ca.pem --json
contains out.txt '"is_ca": true' "json: is_ca"
contains out.txt '"pathlen": 0' "json: pathlen"
cat fed/ca.pem fed2/ca.pem >two.pem
expect 0 "show a bundle" -- "$MRX" cert show two.pem
contains out.txt "certificate 2 of 2" "show: every certificate of a bundle"
one_line 1 "show a file with no certificate" "holds no PEM certificate" -- show n1/node.key
one_line 2 "show a missing file" "missing.pem" -- show missing.pem
one_line 2 "show without FILE" "exactly one FILE" -- show

# --- check ---
expect 0 "check a node's directory" -- "$MRX" cert check --dir n1
contains out.txt "^ok: n1/node.pem (CN jp.meti" "check says ok and names the certificate"
one_line 1 "check at a time after expiry" "expired at" -- \
	check --dir n1 --at 2099-01-01T00:00:00Z
mkdir swap && cp n1/node.pem n1/ca.pem swap/ && cp n2/node.key swap/
one_line 1 "check a key that is not the certificate's" "swap/node.key does not belong" -- \
	check --dir swap
cp fed2/ca.pem other-ca.pem
one_line 1 "check against another CA" "not a CA in other-ca.pem" -- \
	check --dir n1 --ca other-ca.pem
expect 0 "a node of the second CA" -- "$MRX" cert issue --ca fed2 --id us.dcsa --out n3 --days 20
cat fed2/ca.pem >>n1/ca.pem
expect 0 "an appended CA is trusted" -- "$MRX" cert check --cert n3/node.pem \
	--key n3/node.key --ca n1/ca.pem
expect 0 "the first CA still is" -- "$MRX" cert check --dir n1
check "no warning for a certificate of 825 days" -- sh -c '! grep -q warning err.txt'
expect 0 "a certificate close to expiry passes" -- "$MRX" cert check --dir n3
contains err.txt "warning: n3/node.pem expires in" "... with a warning"
expect 0 "an expired certificate can be made (for tests)" -- "$MRX" cert issue \
	--ca fed --id jp.meti --out old --not-before 2020-01-01T00:00:00Z \
	--not-after 2020-02-01T00:00:00Z
contains out.txt "(EXPIRED)" "show marks it expired"
one_line 1 "check refuses an expired certificate" "old/node.pem: the certificate of 'jp.meti' expired at 2020-02-01T00:00:00Z" -- \
	check --dir old
chmod 644 n2/node.key
one_line 1 "check refuses a key others may read" "chmod 600" -- check --dir n2
one_line 2 "check a directory that does not exist" "nodir/node.pem" -- check --dir nodir
one_line 2 "check without --dir" "--dir is required" -- check
one_line 2 "check --at garbage" "--at" -- check --dir n1 --at yesterday

# --- help and usage ---
for sub in ca issue show check; do
	expect 0 "cert $sub --help" -- "$MRX" cert $sub --help
	contains out.txt "usage: mrx cert $sub" "cert $sub --help shows its usage"
done
expect 0 "cert --help" -- "$MRX" cert --help
contains out.txt "docs/tls.md" "cert --help points to docs/tls.md"
expect 2 "an unknown subcommand" -- "$MRX" cert bogus
contains err.txt "^mrx cert: unknown subcommand 'bogus'" "... is named"
expect 2 "cert alone" -- "$MRX" cert
expect 0 "mrx --help lists cert" -- "$MRX" --help
contains out.txt "  cert " "cert is in the command list"

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
