#!/bin/sh
# expect_exit.sh BIN CODE PATTERN ARGS... - runs BIN ARGS, and passes when
# it exits with CODE and its output (stdout and stderr) holds PATTERN (a
# fixed string). Prints the output either way.
bin=$1 code=$2 pattern=$3
shift 3
out=$("$bin" "$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ "$rc" -ne "$code" ]; then
	echo "expect_exit: exit status $rc, expected $code" >&2
	exit 1
fi
if ! printf '%s\n' "$out" | grep -qF -- "$pattern"; then
	echo "expect_exit: the output lacks: $pattern" >&2
	exit 1
fi
exit 0
