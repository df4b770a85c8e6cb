#!/usr/bin/env bash
# Load benchmark: durable text submissions per second with wrk on 127.0.0.1 at 1, 16 and
# 64 connections (p50/p99 latency from wrk), beside a single-writer loop that appends
# 4 KiB and fsyncs on the same filesystem in the same run; the server's CPU per
# submission (from /proc) and, in a separate strace run at 64 connections (strace slows
# the server, so its throughput is not reported), fsyncs and sync_file_ranges per
# submission; then the server's RSS during 8 concurrent 256 MiB uploads.
#
#   deploy/bench/load.sh        (needs wrk, strace, curl, python3; SECONDS_PER_RUN=10)
#
# Each run is bounded in time; every answer must be the receipt page (wrk counts
# anything else as an error, and the script fails on one).
set -euo pipefail
seconds=${SECONDS_PER_RUN:-10}
bench_submissions_per_minute=100000000
# 64 reporters at once are what is measured, not refused as a flood.
bench_limits='max_concurrent_uploads = 256'
source "$(dirname "$0")/common.sh"
for tool in wrk strace curl python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install $tool)" >&2; exit 1; }
done
pid=$server_pid
machine
echo

# One report, as a browser posts it (multipart), sent again and again.
boundary=agedropbench
part() { printf -- '--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' "$boundary" "$1" "$2"; }
body="$(part title 'Load test')$(part description "A report of a few hundred bytes, as most text reports are. $(head -c 300 /dev/zero | tr '\0' x)")$(part confirm_one_finding yes)$(part confirm_within_rules yes)--$boundary--"

cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.path = "/submit"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=$boundary"
wrk.body = [[$body]]
wrk.body = wrk.body:gsub("\n", "\r\n"):gsub("\r\r\n", "\r\n")
done = function(summary, latency, requests)
  io.write(string.format("WRK %d %d %d %d %d %.0f %.0f\n", summary.requests,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write,
    summary.errors.timeout, summary.duration, latency:percentile(50), latency:percentile(99)))
end
LUA

cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)

fsync_loop() { # seconds -> appends per second
  python3 - "$work/fsync-loop" "$1" <<'PY'
import os, sys, time
path, seconds = sys.argv[1], float(sys.argv[2])
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
block, n, end = b"x" * 4096, 0, time.monotonic() + seconds
while time.monotonic() < end:
    os.write(fd, block); os.fsync(fd); n += 1
os.close(fd); os.unlink(path)
print(f"{n / seconds:.0f}")
PY
}

printf '%-12s %10s %9s %9s %12s %s\n' connections "subm/s" "p50 ms" "p99 ms" "CPU µs/subm" "fsync loop/s (same minute)"
for c in 1 16 64; do
  threads=$(( c < 2 ? 1 : 2 ))
  before=$(cpu_ticks)
  out=$(wrk -t"$threads" -c"$c" -d"${seconds}s" --timeout 10s -s "$work/post.lua" "$url" | grep '^WRK')
  after=$(cpu_ticks)
  read -r _ n bad broken timeouts duration p50 p99 <<<"$out"
  [ "$bad" = 0 ] && [ "$broken" = 0 ] && [ "$timeouts" = 0 ] ||
    { echo "errors at $c connections: status $bad, socket $broken, timeouts $timeouts" >&2; exit 1; }
  loop=$(fsync_loop "$seconds")
  awk -v n="$n" -v d="$duration" -v p50="$p50" -v p99="$p99" -v t=$((after - before)) \
      -v hz="$hz" -v c="$c" -v loop="$loop" 'BEGIN {
    rate = n / (d / 1e6)
    printf "%-12s %10.0f %9.2f %9.2f %12.0f %s  (ratio %.2f)\n", c, rate, p50 / 1000, p99 / 1000,
      t / hz * 1e6 / n, loop, rate / loop }'
done

# fsync and sync_file_range per submission, counted by strace at 64 connections.
strace -f -c -e trace=fsync,fdatasync,sync_file_range -p "$pid" -o "$work/strace.txt" 2>/dev/null &
tracer=$!
sleep 1
out=$(wrk -t2 -c64 -d"${seconds}s" --timeout 20s -s "$work/post.lua" "$url" | grep '^WRK')
kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true
read -r _ n _ <<<"$out"
for call in fsync fdatasync sync_file_range; do
  calls=$(awk -v c="$call" '$NF == c {print $4}' "$work/strace.txt")
  printf '%-16s per submission at 64 connections: %.3f (%s calls, %s submissions, under strace)\n' \
    "$call" "$(echo "${calls:-0} / $n" | bc -l)" "${calls:-0}" "$n"
done

# RSS while 8 reporters each upload 256 MiB at once.
head -c $((256 << 20)) /dev/urandom > "$work/file256"
peak=0
uploads=()
for i in $(seq 8); do
  curl -sf -o "$work/up$i.html" -F title=bench -F description=bench -F confirm_one_finding=yes \
    -F confirm_within_rules=yes -F "files=@$work/file256" "${url}submit" &
  uploads+=($!)
done
running() { for p in "${uploads[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
while running; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  [ "$rss" -gt "$peak" ] && peak=$rss
  sleep 0.05
done
for p in "${uploads[@]}"; do wait "$p" || { echo "an upload failed" >&2; exit 1; }; done
for i in $(seq 8); do grep -q 'id="receipt-code"' "$work/up$i.html" || { echo "upload $i failed" >&2; exit 1; }; done
printf 'server RSS during 8 concurrent 256 MiB uploads: peak %d MiB (sampled every 50 ms)\n' $((peak / 1024))
