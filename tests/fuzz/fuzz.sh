#!/bin/sh
# fuzz.sh - runs one libFuzzer target of tests/fuzz/ (docs/fuzzing.md): first
# replays its regression inputs (tests/fuzz/regress/NAME/, each must pass),
# then fuzzes for SECONDS from its committed seeds (tests/fuzz/corpus/NAME/,
# read only) into a corpus of its own under WORKDIR, and prints one line:
#
#   fuzz NAME: 123456 execs, 61728 execs/s, cov 1234, ft 5678, corpus 321, crashes 0
#
# usage: fuzz.sh [--fresh] [--seed N] [--merge] EXE NAME SECONDS WORKDIR
#   --fresh   start WORKDIR's corpus empty (the smoke test: reproducible)
#   --seed N  libFuzzer's -seed (default: random)
#   --merge   afterwards, add the inputs of WORKDIR's corpus that find new
#             coverage to tests/fuzz/corpus/NAME/ (the only write there)
#
# WORKDIR gets corpus/ (what the fuzzer found), crashes/ (crash-*, leak-*,
# timeout-*, oom-* inputs), tmp/ ($TMPDIR of the target unless there is a
# /dev/shm) and fuzz.log.
# Exit status: 0 clean, 1 a regression input failed or a crash was found
# (its path is printed), 77 the target skipped itself (no test vectors),
# 2 usage. Env: MRX_SRC (the source tree; default: this script's), and
# MRX_VECTORS for fuzz_cose_diff.
set -u

fresh=0 seed= merge=0
while [ $# -gt 0 ]; do
	case $1 in
	--fresh) fresh=1; shift ;;
	--seed) seed=$2; shift 2 ;;
	--merge) merge=1; shift ;;
	*) break ;;
	esac
done
if [ $# -ne 4 ]; then
	echo "usage: fuzz.sh [--fresh] [--seed N] [--merge] EXE NAME SECONDS WORKDIR" >&2
	exit 2
fi
exe=$1 name=$2 secs=$3 work=$4
src=${MRX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
seeds=$src/tests/fuzz/corpus/$name
regress=$src/tests/fuzz/regress/$name
dict=$src/tests/fuzz/dict/$name.dict
case $name in cose_*) dict=$src/tests/fuzz/dict/cose.dict ;; esac

# Per target: the largest input (each target also ignores larger ones,
# FUZZ_*_MAX in its source) and seed directories besides its own.
extra=
case $name in
cose_sign1 | cose_sign) max_len=16384 ;;
cose_diff) max_len=4096 ;;
agreement_conf) max_len=65536 extra=$src/conf/examples ;;
scenario) max_len=65536 extra=$src/sim/scenarios ;;
*) max_len=65536 ;;
esac

[ -x "$exe" ] || { echo "fuzz $name: no executable $exe" >&2; exit 2; }
[ "$fresh" -eq 1 ] && rm -rf "$work/corpus"
mkdir -p "$work/corpus" "$work/crashes" "$work/tmp" || exit 2
# The targets write only under $TMPDIR (fuzz_node_conf: a file per input,
# fsync'd): a directory of this run in memory when there is a tmpfs,
# removed at the end, else WORKDIR/tmp.
TMPDIR=$work/tmp
if [ -d /dev/shm ] && [ -w /dev/shm ] &&
	shm=$(mktemp -d "/dev/shm/mrx-fuzz-$name.XXXXXX" 2>/dev/null); then
	TMPDIR=$shm
	trap 'rm -rf "$shm"' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
fi
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:print_stacktrace=1"
export TMPDIR ASAN_OPTIONS UBSAN_OPTIONS
log=$work/fuzz.log

# a crash, leak or timeout exits 1 (not libFuzzer's 77, our "skipped")
opts="-max_len=$max_len -timeout=20 -rss_limit_mb=2560 -malloc_limit_mb=2048"
opts="$opts -error_exitcode=1 -timeout_exitcode=1"
[ -f "$dict" ] && opts="$opts -dict=$dict"

# 1. regressions: every saved input must run clean
nreg=0
if [ -d "$regress" ]; then
	for f in "$regress"/*; do
		[ -f "$f" ] || continue
		nreg=$((nreg + 1))
		# shellcheck disable=SC2086
		"$exe" $opts "$f" >"$log" 2>&1
		rc=$?
		if [ $rc -eq 77 ]; then
			echo "fuzz $name: skipped ($(tail -n 1 "$log"))"
			exit 77
		fi
		if [ $rc -ne 0 ]; then
			echo "fuzz $name: REGRESSION $f fails again (exit $rc):"
			grep -v '^INFO:' "$log" | head -n 60
			exit 1
		fi
	done
fi

# 2. fuzzing
dirs="$work/corpus"
[ -d "$seeds" ] && dirs="$dirs $seeds"
[ -n "$extra" ] && [ -d "$extra" ] && dirs="$dirs $extra"
[ -n "$seed" ] && opts="$opts -seed=$seed"
# shellcheck disable=SC2086
"$exe" $opts -max_total_time="$secs" -print_final_stats=1 \
	-artifact_prefix="$work/crashes/" $dirs >"$log" 2>&1
rc=$?
if [ $rc -eq 77 ]; then
	echo "fuzz $name: skipped ($(grep -v '^INFO:' "$log" | tail -n 1))"
	exit 77
fi

final() { sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$log" | tail -n 1; }
execs=$(final number_of_executed_units)
rate=$(final average_exec_per_sec)
# no final stats after a crash: the last status line's count
[ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
units=$(find "$work/corpus" -type f | wc -l)
crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
ncrash=0
[ $rc -ne 0 ] && ncrash=1
echo "fuzz $name: ${execs:-0} execs, ${rate:-0} execs/s, cov ${cov:-0}," \
	"ft ${ft:-0}, corpus $units, crashes $ncrash, regressions $nreg"
if [ $rc -ne 0 ]; then
	echo "fuzz $name: CRASH (exit $rc); the input: ${crash:-see $log}"
	grep -E '^(==[0-9]+==|SUMMARY|    #[0-9]+ |.*fuzz check failed|.*runtime error)' \
		"$log" | head -n 40
	echo "fuzz $name: full log: $log"
	exit 1
fi
if [ "$merge" -eq 1 ]; then
	mkdir -p "$seeds"
	# shellcheck disable=SC2086
	"$exe" $opts -merge=1 "$seeds" "$work/corpus" >"$work/merge.log" 2>&1 ||
		{ echo "fuzz $name: merge failed, see $work/merge.log"; exit 1; }
	echo "fuzz $name: merged into $seeds ($(find "$seeds" -type f | wc -l) files)"
fi
exit 0
