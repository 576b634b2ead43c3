#!/bin/sh
# test_interop.sh - mrx against an independent COSE_Sign1 implementation
# (tests/interop.py: Debian's python3-cbor2 and python3-cryptography only).
#
# 1. Records made by the mrx CLI (ES256 and Ed25519 issuers, Ed25519 root)
#    verify in Python: tag 18, protected {alg, kid}, kid = SHA-256(SPKI)[:16],
#    signature over a Sig_structure built by hand; CWT claims as issued
#    (exp is exactly 10 calendar years after iat for a JP-CESI clearance).
# 2. `mrx cose sign` output verifies in Python (--kid, --aad, --hex).
# 3. Messages signed in Python (tagged or not, with or without external AAD)
#    verify with `mrx cose verify`, from a file and as hex on stdin; every
#    tampered, mis-labelled or malformed message exits 1, never 0, never a
#    crash (exit >= 128, or a sanitizer report).
#
# Prints one line per check; exits 1 at the first mismatch, 77 when Python or
# its two modules are not installed. Env: MRX_BIN (the mrx binary), MRX_SRC.
set -u

PY=/usr/bin/python3
src=${MRX_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
mrx=${MRX_BIN:-$src/build/node/mrx}
helper=$src/tests/interop.py
tab=$(printf '\t')

# A sanitizer report must not pass for an ordinary "invalid" exit 1.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=199"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=199"
export ASAN_OPTIONS UBSAN_OPTIONS

if [ ! -x "$PY" ]; then
	echo "SKIP: $PY is missing (apt-get install python3)"
	exit 77
fi
for mod in cbor2 cryptography.hazmat.primitives.asymmetric.ed25519; do
	if ! "$PY" -c "import $mod" 2>/dev/null; then
		echo "SKIP: $PY cannot import $mod" \
		    "(apt-get install python3-cbor2 python3-cryptography)"
		exit 77
	fi
done
if [ ! -x "$mrx" ] || [ ! -f "$helper" ]; then
	echo "FAIL: need the mrx binary ($mrx) and $helper"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mrx-interop.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
out=$tmp/last.out
nchecks=0

ok() {
	nchecks=$((nchecks + 1))
	printf 'ok   %s\n' "$*"
}

fail() {
	printf 'FAIL %s\n' "$*"
	if [ -s "$out" ]; then
		echo "     output of the last command:"
		sed -n '1,40s/^/     | /p' "$out"
	fi
	exit 1
}

# run: runs mrx with the arguments, output in $out, exit code in $rc. A
# crash or a sanitizer report fails the test whatever was expected.
run() {
	"$mrx" "$@" >"$out" 2>&1
	rc=$?
	check_crash "mrx $*"
}

check_crash() {
	if [ "$rc" -ge 128 ] ||
	    grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$out"; then
		fail "$1: crashed (exit $rc)"
	fi
}

# expect_ok WHAT: the last command exited 0.
expect_ok() {
	[ "$rc" -eq 0 ] || fail "$1: exit $rc, expected 0"
	ok "$1"
}

py() {
	"$PY" "$helper" "$@" >"$out" 2>&1
	prc=$?
	grep '^ok ' "$out"
	if [ $prc -ne 0 ]; then
		grep -v '^ok ' "$out" | sed 's/^/     /'
		: >"$out"
		fail "interop.py $1 (exit $prc)"
	fi
	nchecks=$((nchecks + $(grep -c '^ok ' "$out")))
}

# ---- 1. records made by the mrx CLI, checked in Python ------------------

sub=00112233445566778899aabbccddeeff
for alg in es256 ed25519; do
	dir=$tmp/records-$alg
	mkdir "$dir" && cd "$dir" || fail "cannot make $dir"
	echo "== records, $alg issuer, Ed25519 root ($dir)"
	run keygen --alg ed25519 --out root
	expect_ok "mrx keygen --alg ed25519 --out root"
	run keygen --alg $alg --out issuer
	expect_ok "mrx keygen --alg $alg --out issuer"
	run issue delegation --key root.key --iss jp.cao --delegate issuer.pub \
	    --sub jp.meti --level JP-CESI:CONFIDENTIAL --valid-for 2y \
	    --out deleg.cose
	expect_ok "mrx issue delegation ... --valid-for 2y --out deleg.cose"
	run status new --key issuer.key --iss jp.meti --out status.cose
	expect_ok "mrx status new --key issuer.key --iss jp.meti --out status.cose"
	now=$(date +%s)
	run issue clearance --key issuer.key --iss jp.meti --sub $sub \
	    --level JP-CESI:CONFIDENTIAL --operator jp.op.sub --status-index 7 \
	    --out clr.cose
	expect_ok "mrx issue clearance ... --status-index 7 --out clr.cose"

	py check-record --label "$alg clearance" --record clr.cose \
	    --pub issuer.pub --iss jp.meti --sub $sub --years 10 --now "$now" \
	    --type clearance --level JP-CESI:CONFIDENTIAL
	py check-record --label "$alg delegation" --record deleg.cose \
	    --pub root.pub --iss jp.cao --sub jp.meti --years 2 --now "$now" \
	    --type delegation --level JP-CESI:CONFIDENTIAL --delegate issuer.pub
	py check-status --label "$alg status list" --record status.cose \
	    --pub issuer.pub --iss jp.meti

	# mrx's own reading of the same bytes agrees
	run cose verify --pub issuer.pub --in clr.cose
	expect_ok "mrx cose verify accepts clr.cose with issuer.pub"
	run cose verify --pub root.pub --in clr.cose
	[ "$rc" -eq 1 ] ||
	    fail "mrx cose verify clr.cose with root.pub: exit $rc, expected 1"
	ok "mrx cose verify rejects clr.cose with root.pub"
	run verify clr.cose --root jp.cao=root.pub --chain deleg.cose \
	    --status status.cose --access JP-CESI:CONFIDENTIAL
	expect_ok "mrx verify clr.cose (root, delegation, status list) accepts"
done

# ---- 2. mrx cose sign, verified in Python -------------------------------

echo "== messages signed by mrx cose sign, verified by interop.py"
payload=$tmp/payload.bin
printf 'mrx interop payload \000\001\002\377 end' >"$payload"
for alg in es256 ed25519; do
	key=$tmp/records-$alg/issuer.key
	pub=$tmp/records-$alg/issuer.pub
	m=$tmp/sign-$alg

	run cose sign --key "$key" --in "$payload" --out "$m-plain.cose"
	expect_ok "$alg: mrx cose sign --key issuer.key"
	py verify --label "$alg mrx cose sign" --pub "$pub" \
	    --msg "$m-plain.cose" --payload "$payload"

	run cose sign --key "$key" --kid 0011223344 --aad cafef00d \
	    --in "$payload" --out "$m-kid-aad.cose"
	expect_ok "$alg: mrx cose sign --kid 0011223344 --aad cafef00d"
	py verify --label "$alg mrx cose sign --kid --aad" --pub "$pub" \
	    --msg "$m-kid-aad.cose" --payload "$payload" --kid 0011223344 \
	    --aad cafef00d

	"$mrx" cose sign --key "$key" --aad 00 --hex --out - <"$payload" \
	    >"$m-hex.txt" 2>"$out"
	rc=$?
	check_crash "mrx cose sign --hex"
	expect_ok "$alg: mrx cose sign --aad 00 --hex (payload on stdin)"
	py verify --label "$alg mrx cose sign --hex" --pub "$pub" \
	    --msg "$m-hex.txt" --hex --payload "$payload" --aad 00

	run cose verify --pub "$pub" --aad cafef00d --in "$m-kid-aad.cose"
	expect_ok "$alg: mrx cose verify reads its own --kid --aad output"
done

# ---- 3. messages signed in Python, verified by mrx ----------------------

vec=$tmp/vectors
mkdir "$vec" || fail "cannot make $vec"
echo "== messages signed by interop.py, verified by mrx cose verify"
py vectors "$vec"
nvec=0
while IFS=$tab read -r name file pub aad want needle; do
	[ -n "$name" ] || continue
	nvec=$((nvec + 1))
	[ -f "$file" ] && [ -f "$file.hex" ] || fail "$name: vector files missing"
	set -- --pub "$pub"
	[ "$aad" = - ] || set -- "$@" --aad "$aad"
	for mode in file stdin-hex; do
		if [ $mode = file ]; then
			"$mrx" cose verify "$@" --in "$file" >"$out" 2>&1 </dev/null
		else
			"$mrx" cose verify "$@" <"$file.hex" >"$out" 2>&1
		fi
		rc=$?
		check_crash "$name ($mode)"
		case "|$want|" in
		*"|$rc|"*) ;;
		*) fail "$name ($mode): mrx cose verify exit $rc, expected $want" ;;
		esac
		if [ "$needle" != - ] && ! grep -qi -- "$needle" "$out"; then
			fail "$name ($mode): output does not say '$needle'"
		fi
	done
	detail=$(head -n 1 "$out" | cut -c1-70)
	ok "$name: exit $rc (file and hex on stdin)${detail:+ - $detail}"
done <"$vec/manifest"
[ $nvec -ge 60 ] || fail "only $nvec vectors in the manifest"

echo "interop: $nchecks checks passed"
exit 0
