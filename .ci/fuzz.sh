#!/usr/bin/env bash
# Runs every fuzz target of the module, one at a time, for FUZZTIME each (default 30s): `make fuzz`, and with
# FUZZTIME=2s the short profile of `make test`. The targets are found with `go test -list`, so a new one is never
# forgotten. It stops at the first failure, naming the package and the target; the failing input is then in that
# package's testdata/fuzz/<target>/, to commit with the fix as a regression seed. The fuzzing corpus lives in
# GOCACHE, so a run that finds nothing leaves the clone as it was.
#
# No -race: the race detector slows each execution several times over and fuzzing runs the target in parallel
# worker processes, not goroutines sharing state; the unit tests run under -race already.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}
# One worker per core: more only share the same cores and each pays its own start-up.
PARALLEL=${FUZZPARALLEL:-$(nproc)}

# `go test -list` prints a package's matching names, then its "ok <package>" line. A package that does not build
# fails the listing, and so the run.
list=$($GO test -list '^Fuzz' ./...)
targets=()
names=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*) names+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for n in "${names[@]}"; do targets+=("$pkg $n"); done
		names=()
		;;
	esac
done <<<"$list"

n=${#targets[@]}
if [ "$n" -eq 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi
echo "fuzz: $n targets, $FUZZTIME each"
start=$SECONDS
i=0
for t in "${targets[@]}"; do
	i=$((i + 1))
	read -r pkg name <<<"$t"
	echo "fuzz: [$i/$n] $pkg $name"
	if ! $GO test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -parallel "$PARALLEL" "$pkg"; then
		echo "fuzz: FAILED: $name in $pkg (target $i of $n); the failing input is in that package's testdata/fuzz/$name/" >&2
		exit 1
	fi
done
echo "fuzz: all $n targets passed in $((SECONDS - start))s"
