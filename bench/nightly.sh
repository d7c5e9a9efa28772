#!/usr/bin/env bash
# bench/nightly.sh — what a nightly `rollgate verify DIR` costs when most installers did not
# change since their baselines were recorded (issue 14, "Nightly cost"): the target is at most
# 1.5 times `sha256sum DIR/*`.
#
# It builds, in a temporary folder that it removes afterwards (KEEP=1 keeps it), N installers
# (default 20) of MB megabytes of payload each (default 20; see bench/gen), each its own
# product (its own UpgradeCode), MSZIP-compressed by wixl; records a baseline of each; then
# rebuilds CHANGED of them (default 2) from a payload with 7 bytes changed, and times, RUNS
# times each (medians of wall-clock seconds, page cache warm):
#   sha256sum DIR/*                                   the floor: one hash pass
#   rollgate verify DIR --baseline B                  unchanged installers reuse the recorded inventory
#   rollgate verify DIR --baseline B-full             the same baselines without their recordings
#                                                     (B/.recorded): every installer analysed
# and prints the ratios. rollgate's exit status is ignored (the changed installers may fail).
#
# Needs: go, wixl (apt-get install -y wixl), sha256sum.
# Usage: bench/nightly.sh   (N=20 CHANGED=2 MB=20 RUNS=3 are the defaults; ROLLGATE=path uses a
#        built binary instead of building ./cmd/rollgate; JOBS sets verify --jobs)
set -euo pipefail

N=${N:-20}
CHANGED=${CHANGED:-2}
MB=${MB:-20}
RUNS=${RUNS:-3}

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/rollgate-nightly.XXXXXX")
cleanup() { if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work" >&2; fi; }
trap cleanup EXIT

log() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
for t in go wixl sha256sum; do
	command -v "$t" >/dev/null 2>&1 || { echo "nightly: $t not found (apt-get install -y wixl)" >&2; exit 2; }
done
if [ "$CHANGED" -gt "$N" ]; then
	echo "nightly: CHANGED=$CHANGED is more than N=$N" >&2
	exit 2
fi

log "work in $work; load average $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
(cd "$repo" && go build -o "$work/gen" ./bench/gen)
if [ -n "${ROLLGATE:-}" ]; then
	cp "$ROLLGATE" "$work/rollgate"
else
	(cd "$repo" && go build -o "$work/rollgate" ./cmd/rollgate)
fi
rg=$work/rollgate
jobs=()
if [ -n "${JOBS:-}" ]; then
	jobs=(--jobs "$JOBS")
fi

# One payload, and one with 7 bytes changed; each installer gets its own product codes.
"$work/gen" -dir "$work/payload" -mb "$MB"
"$work/gen" -dir "$work/payload-flip" -mb "$MB" -flip
# build I PAYLOAD OUT: installer number I of the payload folder PAYLOAD.
build() {
	local i=$1 payload=$2 out=$3 hex
	hex=$(printf '%04X' "$i")
	sed -e "s/0B5E0C0000FF/0B5E0C00${hex}/" -e "s/0B5E0C000001\"/0B5E0C01${hex}\"/" \
		-e "s/Name=\"Rollgate Bench\"/Name=\"Rollgate Bench $i\"/" "$payload/bench.wxs" >"$payload/bench-$i.wxs"
	(cd "$payload" && wixl -a x64 -D Src=src -o "$out" "bench-$i.wxs")
}

mkdir -p "$work/dir"
log "building $N installers of $MB MB payload each"
for ((i = 1; i <= N; i++)); do
	build "$i" "$work/payload" "$work/dir/app-$i.msi"
done
log "recording $N baselines"
for ((i = 1; i <= N; i++)); do
	"$rg" baseline record -q "$work/dir/app-$i.msi" --baseline "$work/B" >/dev/null
done
log "changing $CHANGED installers"
for ((i = 1; i <= CHANGED; i++)); do
	build "$i" "$work/payload-flip" "$work/dir/app-$i.msi"
done
rm -rf "$work/payload" "$work/payload-flip"
# The same baselines without their recordings: what every run cost before reuse.
mkdir -p "$work/B-full"
cp "$work"/B/*.json "$work/B-full/"

bytes=$(cat "$work"/dir/*.msi | wc -c)
log "folder: $N installers, $((bytes / 1000000)) MB"

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# timeit COMMAND...: median wall seconds over RUNS runs (one untimed warm-up run first).
timeit() {
	local i s e
	"$@" >/dev/null 2>&1 || true
	for ((i = 0; i < RUNS; i++)); do
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1 || true
		e=$(date +%s.%N)
		echo "$e - $s" | bc -l
	done | median
}

log "timing sha256sum"
t_sha=$(timeit sha256sum "$work"/dir/*.msi)
log "timing rollgate verify (recorded inventories reused)"
t_reuse=$(timeit "$rg" verify -q "$work/dir" --baseline "$work/B" "${jobs[@]}")
log "timing rollgate verify (every installer analysed)"
t_full=$(timeit "$rg" verify -q "$work/dir" --baseline "$work/B-full" "${jobs[@]}")

# What the reused run said: how many reports carry the reuse note.
"$rg" verify "$work/dir" --baseline "$work/B" "${jobs[@]}" --format json --output-dir "$work/reports" >/dev/null 2>&1 || true
reused=$(grep -l 'recorded inventory was reused' "$work"/reports/*.json 2>/dev/null | wc -l)

printf '\n%d installers (%d changed), %d MB, %d CPUs, load %s\n' "$N" "$CHANGED" "$((bytes / 1000000))" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %8.3f s\n' "sha256sum DIR/*" "$t_sha"
printf '%-44s %8.3f s  %5.2fx sha256sum  (%d of %d reused)\n' "rollgate verify DIR (reuse)" "$t_reuse" "$(echo "$t_reuse / $t_sha" | bc -l)" "$reused" "$N"
printf '%-44s %8.3f s  %5.2fx sha256sum\n' "rollgate verify DIR (no recordings: full)" "$t_full" "$(echo "$t_full / $t_sha" | bc -l)"
ok=$(echo "$t_reuse <= 1.5 * $t_sha" | bc -l)
if [ "$ok" = 1 ]; then
	echo "target met: at most 1.5x sha256sum"
else
	echo "target missed: more than 1.5x sha256sum"
fi
