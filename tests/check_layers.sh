#!/bin/sh
# check_layers.sh - enforces the dependency direction of DESIGN.md on the
# sources: which folder may include which library, and that protocol/ (the
# sans-I/O core) calls no clock, file, socket, thread, environment or
# random-number function. Prints every violation; exits 1 if any.
set -u
src=${MRX_SRC:-$(dirname "$0")/..}
cd "$src" || exit 2
bad=0

# deny FOLDER REGEX WHY: no file under FOLDER may include a header matching REGEX
deny() {
	hits=$(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($2)" \
		--include='*.c' --include='*.h' "$1" 2>/dev/null)
	if [ -n "$hits" ]; then
		echo "layer violation ($3):"
		echo "$hits" | sed 's/^/  /'
		bad=1
	fi
}

deny protocol 'openssl/|cbor\.h>|cbor/|uv\.h|nng/|sqlite3\.h|jansson\.h|libfyaml|pthread\.h|sys/socket\.h|stdio\.h>.*FILE' \
	"protocol/ is the sans-I/O core: crypto/ and zlib only"
deny protocol 'uv\.h|nng/|sqlite3\.h|unistd\.h|fcntl\.h|sys/|netinet/|arpa/|time\.h|threads\.h' \
	"protocol/ may not do I/O, read clocks or start threads"
deny conf 'openssl/|cbor\.h>|cbor/|uv\.h|nng/|sqlite3\.h' \
	"conf/ sees plain structs, not the runtime's libraries"
deny node 'openssl/|cbor\.h>|cbor/' \
	"OpenSSL and libcbor stay inside crypto/"
if [ -d sim ]; then
	deny sim 'uv\.h|nng/|openssl/|cbor\.h>|cbor/' \
		"the simulator never includes libuv or nng"
fi
# sqlite3 only in node/store/
hits=$(grep -rlnE '#[[:space:]]*include[[:space:]]*<sqlite3\.h>' \
	--include='*.c' --include='*.h' crypto protocol conf node sim 2>/dev/null |
	grep -v '^node/store/')
if [ -n "$hits" ]; then
	echo "layer violation (sqlite3 only in node/store/): $hits"
	bad=1
fi

# Calls the core must never make (time and randomness are inputs).
calls=$(grep -rnE '\b(time|clock_gettime|gettimeofday|getenv|rand|random|srand|fopen|open|socket|pthread_create|sleep|usleep)[[:space:]]*\(' \
	--include='*.c' protocol 2>/dev/null | grep -vE '^\S+:[0-9]+:\s*(\*|/\*|//)')
if [ -n "$calls" ]; then
	echo "layer violation (protocol/ calls an I/O, clock or random function):"
	echo "$calls" | sed 's/^/  /'
	bad=1
fi

# Each folder's meson dependencies: protocol may not list runtime libraries.
if grep -E '^[[:space:]]*dependencies' protocol/meson.build | grep -qE 'uv|nng|sqlite|jansson|fyaml|libcrypto_dep|cbor_dep'; then
	echo "layer violation: protocol/meson.build lists a dependency outside crypto/ and zlib"
	bad=1
fi

if [ $bad -eq 0 ]; then
	echo "layers: crypto <- protocol <- conf <- node respected"
fi
exit $bad
