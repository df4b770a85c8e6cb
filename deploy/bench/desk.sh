#!/usr/bin/env bash
# The desk at scale: `agedrop team list` against a local server holding 50,000 text
# reports (a few hundred of them answered by a signed status change), measured
#   - the first time (nothing cached: every event fetched from the feed and opened),
#   - the second time (the sealed cache, and the server's list of reports),
#   - after 100 new reports and 20 status changes (only those fetched and opened),
# each with its wall time and peak memory (max RSS), beside the floor for the first:
# `cargo bench --bench feed`, which only downloads every event of the feed and decrypts
# it on every core. The cached and uncached lists must agree, line for line.
#
#   deploy/bench/desk.sh                 (needs python3)
#   REPORTS=5000 deploy/bench/desk.sh    (a quicker run)
set -euo pipefail
reports=${REPORTS:-50000}
answered=${ANSWERED:-200}
bench_submissions_per_minute=100000000
bench_limits='max_concurrent_uploads = 256'
source "$(dirname "$0")/common.sh"
command -v python3 >/dev/null || { echo "needs python3" >&2; exit 1; }
cargo bench --quiet --no-run --bench feed --manifest-path "$root/Cargo.toml" 2>/dev/null
machine
echo "reports: $reports text reports of about 1 KiB; $answered of them with a signed status change"
echo

desk_command=(env XDG_STATE_HOME="$work/state" XDG_CACHE_HOME="$work/cache"
  XDG_CONFIG_HOME="$work/config" HOME="$work"
  "$bin" team --server "${url%/}" --identity "$work/identity.txt")
desk() { "${desk_command[@]}" "$@"; }

# Submits $1 reports titled "Report <run>-<n>", 8 at a time over kept-alive
# connections; every answer must be the receipt page.
fill() {
  python3 - "$url" "$1" <<'PY'
import http.client, os, sys, threading, urllib.parse
url, count = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2])
run, boundary = os.urandom(3).hex(), "agedropbench"
filler = "A report of about a kilobyte, as most text reports are. " * 18
def part(name, value):
    return f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
lock, next_n, failed = threading.Lock(), [0], []
def worker():
    conn = http.client.HTTPConnection(url.hostname, url.port)
    while True:
        with lock:
            n = next_n[0] = next_n[0] + 1
        if n > count or failed:
            return
        body = (part("title", f"Report {run}-{n}") + part("description", filler)
                + part("confirm_one_finding", "yes") + part("confirm_within_rules", "yes")
                + f"--{boundary}--\r\n").encode()
        conn.request("POST", "/submit", body,
                     {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        answer = conn.getresponse()
        page = answer.read()
        if answer.status != 200 or b'id="receipt-code"' not in page:
            failed.append(answer.status)
threads = [threading.Thread(target=worker) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
sys.exit(f"a submission was refused: {failed[0]}" if failed else 0)
PY
}

# Wall time and peak RSS of a command: "<seconds> <MiB>", its output in $work/out.json.
measure() {
  python3 - "$work/out.json" "$@" <<'PY'
import os, subprocess, sys, time
out = open(sys.argv[1], "wb")
start = time.monotonic()
child = subprocess.Popen(sys.argv[2:], stdout=out)
_, status, usage = os.wait4(child.pid, 0)
elapsed = time.monotonic() - start
if status != 0:
    sys.exit(f"{sys.argv[2:]} failed")
print(f"{elapsed:.2f} {usage.ru_maxrss / 1024:.0f}")
PY
}

t0=$(date +%s.%N)
fill $((answered * 5))
desk trust --yes > /dev/null 2>&1
desk --no-cache list --json > "$work/first.json"
python3 -c 'import json,sys; [print(r["id"]) for r in json.load(open(sys.argv[1]))[:int(sys.argv[2])]]' \
  "$work/first.json" "$answered" > "$work/answered.txt"
while read -r id; do
  desk status "$id" valid -m "Confirmed; a fix is planned." > /dev/null
done < "$work/answered.txt"
fill $((reports - answered * 5))
t1=$(date +%s.%N)
printf 'filled in %.0f s\n\n' "$(echo "$t1 - $t0" | bc -l)"

reference=$(cargo bench --quiet --bench feed --manifest-path "$root/Cargo.toml" -- \
  "${url%/}" "$work/identity.txt")
echo "$reference"
read -r download decrypt <<<"$(sed -n 's/.*download \([0-9.]*\) s, decrypt \([0-9.]*\) s.*/\1 \2/p' <<<"$reference")"

rm -rf "$work/cache"
read -r first first_rss <<<"$(measure "${desk_command[@]}" list --json)"
cp "$work/out.json" "$work/list-first.json"
listed=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/list-first.json")
read -r second second_rss <<<"$(measure "${desk_command[@]}" list --json)"
cmp -s "$work/out.json" "$work/list-first.json" || { echo "the cached list differs" >&2; exit 1; }
read -r uncached uncached_rss <<<"$(measure "${desk_command[@]}" --no-cache list --json)"
cmp -s "$work/out.json" "$work/list-first.json" || { echo "the uncached list differs" >&2; exit 1; }

# Some news: 100 new reports, 20 old ones answered.
fill 100
python3 -c 'import json,sys; [print(r["id"]) for r in json.load(open(sys.argv[1]))[-20:]]' \
  "$work/list-first.json" > "$work/news.txt"
while read -r id; do desk status "$id" accepted > /dev/null; done < "$work/news.txt"
read -r third third_rss <<<"$(measure "${desk_command[@]}" list --json)"
cp "$work/out.json" "$work/list-third.json"
read -r _ _ <<<"$(measure "${desk_command[@]}" --no-cache list --json)"
cmp -s "$work/out.json" "$work/list-third.json" || { echo "the updated list differs" >&2; exit 1; }
cache_bytes=$(du -b "$work/cache" | tail -1 | cut -f1)

echo
printf '%-44s %8s %9s\n' "" "seconds" "max RSS"
printf '%-44s %8.2f\n' "floor: download the feed + decrypt (bench)" "$(echo "$download + $decrypt" | bc -l)"
printf '%-44s %8.2f %6s MiB   (%.2fx the floor)\n' "first list ($listed reports, nothing cached)" "$first" "$first_rss" \
  "$(echo "$first / ($download + $decrypt)" | bc -l)"
printf '%-44s %8.2f %6s MiB\n' "second list (cached)" "$second" "$second_rss"
printf '%-44s %8.2f %6s MiB\n' "after 100 new reports and 20 answers" "$third" "$third_rss"
printf '%-44s %8.2f %6s MiB\n' "--no-cache list" "$uncached" "$uncached_rss"
printf 'sealed cache: %d KiB for %d reports\n' $((cache_bytes / 1024)) "$listed"
