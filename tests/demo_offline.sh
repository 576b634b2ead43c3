#!/bin/sh
# demo_offline.sh - the offline flow of mrx, narrated: a root authority
# delegates to an issuing ministry, which clears an engineer of a
# subcontractor; a prime contractor verifies (accept); the ministry revokes;
# the prime verifies again (reject, with the reason). Runs in a temporary
# directory and removes it afterwards.
set -eu
MRX=${1:?usage: demo_offline.sh PATH-TO-mrx}
case $MRX in /*) ;; *) MRX=$(pwd)/$MRX ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

say() { printf '\n# %s\n' "$*"; }
run() {
	printf '$ %s\n' "$*"
	rc=0
	"$MRX" "$@" 2>&1 || rc=$?
	printf '  -> exit %s\n' "$rc"
	return 0
}

echo "mrx offline demo (in $work)"
say "The Cabinet Office (root, jp.cao) and METI (issuer, jp.meti) make their keys."
run keygen --alg ed25519 --out root
run keygen --alg es256 --out issuer
say "The root delegates JP-CESI:CONFIDENTIAL issuance to METI's key for two years."
run issue delegation --key root.key --iss jp.cao --delegate issuer.pub --sub jp.meti \
	--level JP-CESI:CONFIDENTIAL --valid-for 2y --out deleg.cose
say "METI publishes its status list (131072 entries: whoever fetches it learns nothing)."
run status new --key issuer.key --iss jp.meti --out status.cose
say "METI clears a subcontractor's engineer: a pseudonymous id, no personal data."
run issue clearance --key issuer.key --iss jp.meti --sub 00112233445566778899aabbccddeeff \
	--level JP-CESI:CONFIDENTIAL --operator jp.op.sub --status-index 7 --out clr.cose
run inspect clr.cose
say "The prime contractor verifies the engineer for JP-CESI:CONFIDENTIAL work."
run verify clr.cose --root root.pub --chain deleg.cose --status status.cose \
	--access JP-CESI:CONFIDENTIAL
say "A reassessment revokes the clearance; METI publishes the next status list."
run status set status.cose --key issuer.key --index 7 --to revoked \
	--reason ELIGIBILITY_REVOKED --out status2.cose
say "The same attestation, still correctly signed and unexpired, is now refused."
run verify clr.cose --root root.pub --chain deleg.cose --status status2.cose \
	--access JP-CESI:CONFIDENTIAL
say "The same decision as JSON, as a program would read it."
run verify clr.cose --root root.pub --chain deleg.cose --status status2.cose \
	--access JP-CESI:CONFIDENTIAL --json
say "A level of another scheme needs a mutual-recognition agreement; there is none."
run verify clr.cose --root root.pub --chain deleg.cose --status status.cose \
	--access US:SECRET
echo
echo "demo done: accept, then reject after revocation."
