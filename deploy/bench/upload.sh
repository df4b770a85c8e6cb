#!/usr/bin/env bash
# Upload benchmark: a 256 MiB file through the server until the receipt arrives,
# against `rage -r RECIPIENT -o FILE` followed by `sync` on the same file, in the same
# run; then the server's peak RSS during a 256 MiB and a 1 GiB upload.
#
#   deploy/bench/upload.sh            (needs curl; installs rage with cargo if absent)
#
# Prints the machine, every timing, medians, and the ratio rage time / agedrop time
# (1.0 = as fast as rage; the goal is >= 0.8).
set -euo pipefail
runs=${RUNS:-7}
source "$(dirname "$0")/common.sh"

head -c $((256 << 20)) /dev/urandom > "$work/file256"
head -c $((1024 << 20)) /dev/urandom > "$work/file1g"
sync

machine
echo

upload() { # file -> seconds
  local t0 t1
  sync; sleep 0.5   # start from clean page cache writeback, as rage_once does
  t0=$(date +%s.%N)
  curl -sf -o "$work/response.html" -F title=bench -F description=bench -F confirm_one_finding=yes -F confirm_within_rules=yes -F "files=@$1" "${url}submit"
  t1=$(date +%s.%N)
  grep -q 'id="receipt-code"' "$work/response.html" || { echo "no receipt" >&2; exit 1; }
  echo "$t1 - $t0" | bc -l
}
rage_once() { # file -> seconds
  local t0 t1
  rm -f "$work/out.age"; sync; sleep 0.5
  t0=$(date +%s.%N)
  "$rage" -r "$recipient" -o "$work/out.age" "$1"
  sync
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}

a=(); r=()
for i in $(seq "$runs"); do
  a+=("$(upload "$work/file256")")
  r+=("$(rage_once "$work/file256")")
done
am=$(printf '%s\n' "${a[@]}" | median)
rm_=$(printf '%s\n' "${r[@]}" | median)
printf 'agedrop upload 256 MiB (s): %s  median %.3f  (%.0f MiB/s)\n' "${a[*]}" "$am" "$(echo "256 / $am" | bc -l)"
printf 'rage + sync    256 MiB (s): %s  median %.3f  (%.0f MiB/s)\n' "${r[*]}" "$rm_" "$(echo "256 / $rm_" | bc -l)"
printf 'ratio rage/agedrop (medians): %.2f   (goal >= 0.80)\n' "$(echo "$rm_ / $am" | bc -l)"
amin=$(printf '%s\n' "${a[@]}" | sort -n | head -1)
rmin=$(printf '%s\n' "${r[@]}" | sort -n | head -1)
printf 'ratio rage/agedrop (best runs): %.2f\n\n' "$(echo "$rmin / $amin" | bc -l)"

rss() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$server_pid/status"; }
idle=$(rss VmRSS)
echo 5 > "/proc/$server_pid/clear_refs"
upload "$work/file256" > /dev/null
peak256=$(rss VmHWM)
echo 5 > "/proc/$server_pid/clear_refs"
upload "$work/file1g" > /dev/null
peak1g=$(rss VmHWM)
echo "server RSS: idle $((idle / 1024)) MiB, peak during 256 MiB upload $((peak256 / 1024)) MiB, during 1 GiB upload $((peak1g / 1024)) MiB"
echo "peak above idle: 256 MiB upload +$(((peak256 - idle) / 1024)) MiB, 1 GiB upload +$(((peak1g - idle) / 1024)) MiB   (goal: <= 64 MiB, and 1 GiB <= 256 MiB)"
