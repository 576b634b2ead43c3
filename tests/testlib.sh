# testlib.sh - what the shell tests share: checks that count and report.
# Source it after setting MRX and cd'ing into the test's work directory;
# it uses the globals `checks` and `fails`, and out.txt/err.txt in the
# current directory. A sanitizer report exits 199 so that it can never pass
# for an expected exit 1 (reject).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=199"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=199"
export ASAN_OPTIONS UBSAN_OPTIONS
fails=0 checks=0

# MRX_WRAP (./run valgrind): a command line every mrx runs under, e.g.
# "valgrind --error-exitcode=99 -q". $MRX becomes a script beside the work
# directory's files (in .mrx-wrap/) that execs it; valgrind's own exit
# status 99 for an error or a leak is then a failure like any other.
if [ -n "${MRX_WRAP:-}" ]; then
	mkdir -p .mrx-wrap || exit 2
	printf '#!/bin/sh\nexec %s %s "$@"\n' "$MRX_WRAP" "'$MRX'" >.mrx-wrap/mrx
	chmod +x .mrx-wrap/mrx || exit 2
	MRX=$(pwd)/.mrx-wrap/mrx
fi

# expect CODE DESCRIPTION -- COMMAND...: runs COMMAND, checks its exit code
expect() {
	want=$1 what=$2
	shift 3
	checks=$((checks + 1))
	"$@" >out.txt 2>err.txt
	got=$?
	if [ "$got" -ge 128 ]; then
		echo "FAIL: $what: crashed (exit $got)"; cat err.txt; fails=$((fails + 1))
	elif [ "$got" -ne "$want" ]; then
		echo "FAIL: $what: exit $got, expected $want"
		sed 's/^/  out: /' out.txt | head -20
		sed 's/^/  err: /' err.txt | head -20
		fails=$((fails + 1))
	else
		echo "ok: $what"
	fi
}

# check DESCRIPTION -- TEST...: a shell test that must hold
check() {
	what=$1
	shift 2
	checks=$((checks + 1))
	if "$@"; then
		echo "ok: $what"
	else
		echo "FAIL: $what"; fails=$((fails + 1))
	fi
}

# contains FILE TEXT DESCRIPTION
contains() {
	checks=$((checks + 1))
	if grep -q -- "$2" "$1"; then
		echo "ok: $3"
	else
		echo "FAIL: $3: '$2' not in $1:"; sed 's/^/  /' "$1" | head -20
		fails=$((fails + 1))
	fi
}
