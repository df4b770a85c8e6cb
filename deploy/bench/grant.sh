#!/usr/bin/env bash
# Grant benchmark: a new member is given 1,000 reports with one 1 MiB attachment each.
# `agedrop team grant NEW --all` against a local server, against what re-encrypting the
# attachments for the new member would cost: `rage -d | rage -r OLD -r NEW` over the same
# 1,000 files of 1 MiB (the local work alone: the real thing would also download and
# upload every byte). Same run, same disk.
#
#   deploy/bench/grant.sh             (needs curl; installs rage with cargo if absent)
#   REPORTS=200 deploy/bench/grant.sh (a quicker run)
#
# Prints the machine, both times, the ratio rage time / grant time (goal >= 10), and
# the bytes each adds, against the attachments' bytes (goal for the grant: < 1%).
set -euo pipefail
reports=${REPORTS:-1000}
bench_submissions_per_minute=1000000
source "$(dirname "$0")/common.sh"

machine
echo "reports: $reports, one 1 MiB attachment each"
echo

head -c $((1 << 20)) /dev/urandom > "$work/file1m"
export url work
submit() {
  curl -sf -o /dev/null -F title=bench -F description=bench -F confirm_one_finding=yes -F confirm_within_rules=yes -F "files=@$work/file1m" "${url}submit"
}
export -f submit
t0=$(date +%s.%N)
seq "$reports" | xargs -P 4 -I{} bash -c submit
t1=$(date +%s.%N)
printf 'filled:  %d reports in %.1f s\n' "$reports" "$(echo "$t1 - $t0" | bc -l)"

# The new member joins; the granting member accepts the new roster.
new_line=$("$bin" keygen --out "$work/new.txt" 2>/dev/null)
new_recipient=${new_line%% *}
team_recipient=$recipient
printf '# Bench\n%s\n# New Member\n%s\n' "$line" "$new_line" > "$work/keys.txt"
kill -HUP "$server_pid"
for _ in $(seq 100); do grep -q 'team keys file reloaded' "$work/server.log" && break; sleep 0.05; done
desk() {
  XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config" \
    "$bin" team --server "${url%/}" --identity "$work/identity.txt" "$@"
}
desk trust --yes > /dev/null 2>&1

data_bytes() { find "$work/data" -type f ! -name reserve -printf '%s\n' | awk '{s += $1} END {print s}'; }
attachment_bytes=$(find "$work/data/attachments" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
sync
before=$(data_bytes)
t0=$(date +%s.%N)
desk grant "New Member" --all --json > "$work/grant.json"
t1=$(date +%s.%N)
sync
after=$(data_bytes)
grant_s=$(echo "$t1 - $t0" | bc -l)
grant_added=$((after - before))
granted=$(sed -n 's/.*"granted": \([0-9]*\).*/\1/p' "$work/grant.json")
event_bytes=$(sed -n 's/.*"bytes_added": \([0-9]*\).*/\1/p' "$work/grant.json")
[ "$granted" = "$reports" ] || { echo "granted $granted of $reports" >&2; cat "$work/grant.json" >&2; exit 1; }

# Re-encryption: the same number of 1 MiB files, sealed to the team, opened and sealed
# again to the team and the new member.
mkdir -p "$work/old" "$work/new"
for i in $(seq "$reports"); do
  "$rage" -r "$team_recipient" -o "$work/old/$i.age" "$work/file1m"
done
sync
t0=$(date +%s.%N)
for i in $(seq "$reports"); do
  "$rage" -d -i "$work/identity.txt" "$work/old/$i.age" \
    | "$rage" -r "$team_recipient" -r "$new_recipient" -o "$work/new/$i.age"
done
sync
t1=$(date +%s.%N)
rage_s=$(echo "$t1 - $t0" | bc -l)
rage_added=$(find "$work/new" -type f -printf '%s\n' | awk '{s += $1} END {print s}')

printf 'grant:         %.3f s for %d reports (%.0f µs a report); %d bytes of events, data folder +%d bytes\n' \
  "$grant_s" "$reports" "$(echo "$grant_s * 1000000 / $reports" | bc -l)" "$event_bytes" "$grant_added"
printf 'rage re-seal:  %.3f s; %d bytes of new ciphertext\n' "$rage_s" "$rage_added"
printf 'attachments:   %d bytes on the server\n' "$attachment_bytes"
printf 'ratio rage/grant time: %.1f   (goal >= 10)\n' "$(echo "$rage_s / $grant_s" | bc -l)"
printf 'grant adds %.3f%% of the attachment bytes (goal < 1%%); re-encryption %.1f%%\n' \
  "$(echo "100 * $grant_added / $attachment_bytes" | bc -l)" "$(echo "100 * $rage_added / $attachment_bytes" | bc -l)"
