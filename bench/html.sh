#!/usr/bin/env bash
# bench/html.sh — size and Chromium load cost of the HTML report for a 10,000-file installer
# (issue 15). Writes the page (1,000 changed files and findings, 9,000 unchanged, one
# publisher) and the 18 KB review fixture, then loads each RUNS times in headless Chromium
# with --single-process, so GNU time's user+sys CPU covers the renderer too (wall time on a
# shared machine says more about the load than about the page). The difference between
# the two CPU times is what the page itself costs: parse, style, layout and --dump-dom.
# Needs: go, chromium, GNU time. Usage: bench/html.sh   (RUNS=3 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ROLLGATE_HTML_BIG="$dir/big.html" go test ./report -run '^TestWriteBigPage$' -count=1 >/dev/null
printf 'page          bytes     wall_s  cpu_s\n'
for page in big big-small; do
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -f "%e %U %S" -o "$dir/time" chromium --headless --no-sandbox --single-process --no-zygote \
			--disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run \
			--user-data-dir="$dir/profile-$RANDOM" --dump-dom "file://$dir/$page.html" >/dev/null 2>&1
		read -r wall user sys <"$dir/time"
		printf '%-12s %9d %8s %6.2f\n' "$page" "$(stat -c %s "$dir/$page.html")" "$wall" "$(echo "$user + $sys" | bc)"
	done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
