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

out=$(mktemp)
trap 'rm -f "$out"' EXIT

# run_target fuzzes one target, its output shown and kept in $out; it sets reproducer=yes when the run wrote a new
# failing input under the package's testdata/fuzz/<target>/.
run_target() {
	local pkg=$1 name=$2 dir before after
	dir=$($GO list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$name
	before=$(ls "$dir" 2>/dev/null | sort || true)
	local rc
	set +e
	$GO test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -parallel "$PARALLEL" "$pkg" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	set -e
	after=$(ls "$dir" 2>/dev/null | sort || true)
	reproducer=no
	if [ "$before" != "$after" ]; then
		reproducer=yes
	fi
	return "$rc"
}

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
	for attempt in 1 2; do
		if run_target "$pkg" "$name"; then
			break
		fi
		# Go's fuzz coordinator can end a run at -fuzztime with a bare "context deadline exceeded" and no failing
		# input (go.dev/issue/75804, fixed in Go 1.27): a loaded machine, not the target. Only that is retried, once;
		# a failing input written, or any other failure, stops the run.
		if [ "$reproducer" = no ] && grep -q '^    context deadline exceeded$' "$out"; then
			if [ "$attempt" = 1 ]; then
				echo "fuzz: $name ended with Go's fuzztime race (go.dev/issue/75804) and no failing input: once more"
				continue
			fi
			echo "fuzz: $name ended with Go's fuzztime race twice, no failing input written: not a finding" >&2
			break
		fi
		echo "fuzz: FAILED: $name in $pkg (target $i of $n); the failing input is in that package's testdata/fuzz/$name/" >&2
		exit 1
	done
done
echo "fuzz: all $n targets passed in $((SECONDS - start))s"
