#!/bin/sh
# demo_node.sh - one mrx node, narrated: an issuing authority's node is
# created and started; a clearance is issued through its API, verified
# (accept), revoked, verified again (reject, with the reason), and the alert
# raised for the verifier is shown; then the audit chain is checked and the
# annual report printed. Runs in a temporary directory, stops the node and
# removes everything afterwards.
set -eu
BIN=${1:?usage: demo_node.sh BUILD-DIR}
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
MRX=$BIN/node/mrx
MRXD=$BIN/node/mrxd
work=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
cd "$work"

say() { printf '\n# %s\n' "$*"; }
run() {
	printf '$ mrx %s\n' "$*"
	rc=0
	"$MRX" "$@" 2>&1 || rc=$?
	printf '  -> exit %s\n' "$rc"
}

port=$(( 20000 + $$ % 20000 ))
say "METI creates its node: keys, a delegation, an admin token, mrx.yaml."
run init --role issuer --id jp.meti --jurisdiction JP --data meti --api 127.0.0.1:$port
say "The node runs in the foreground; its log goes to meti.log."
"$MRXD" --data meti 2>meti.log &
pid=$!
i=0
until "$MRX" --node http://127.0.0.1:$port health >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 50 ]; then echo "mrxd did not start:"; cat meti.log; exit 1; fi
	sleep 0.1
done
N="--node http://127.0.0.1:$port --token-file meti/admin.token"
run $N health
say "METI clears an engineer of subcontractor jp.op.sub (pseudonymous id only)."
run $N clearance issue --sub 00112233445566778899aabbccddeeff \
	--level JP-CESI:CONFIDENTIAL --operator jp.op.sub --out clr.cose
id=$("$MRX" inspect clr.cose --json | sed -n 's/.*"cti": "\([0-9a-f]*\)".*/\1/p')
say "The prime contractor asks the node: may this engineer handle CESI?"
run $N verify clr.cose --access JP-CESI:CONFIDENTIAL
say "A reassessment revokes the clearance."
run $N clearance status "$id" --to revoked --reason ELIGIBILITY_REVOKED
say "The same attestation is now refused, with the reason."
run $N verify clr.cose --access JP-CESI:CONFIDENTIAL
say "The verifier that accepted it before is alerted."
run $N alerts
say "The node stops cleanly; its audit chain is intact."
kill -TERM "$pid"
wait "$pid" || true
pid=
run audit verify --data meti
run report annual --data meti --year "$(date -u +%Y)"
say "What the node logged (no subject ids, no token):"
cat meti.log
echo
echo "demo done: issue, accept, revoke, reject with reason, alert, audit intact."
