#!/usr/bin/env bash
# Shows that a receipt is sent only after its report is on stable storage: traces the
# server's fsync, fdatasync and sync_file_range calls and its socket writes while one
# report is submitted. Expect, in order: fsync on the attachment file and the
# attachments folder, sync_file_range on data/db (sled's flush of the commit batch),
# fsync on data/db (the group commit), and only then the writev of "HTTP/1.1 200 OK".
#
#   deploy/bench/durability.sh        (needs strace and curl)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/agedrop"
work=$(mktemp -d /var/tmp/agedrop-strace.XXXXXX)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null; rm -rf "$work"' EXIT
recipient=$("$bin" keygen --out "$work/identity.txt" 2>/dev/null)
echo "$recipient" > "$work/keys.txt"
strace -f -y -e trace=fsync,fdatasync,sync_file_range,writev -o "$work/trace" \
  "$bin" serve --listen 127.0.0.1:18999 --data "$work/data" --keys "$work/keys.txt" \
  > /dev/null 2>&1 &
echo $! > "$work/pid"
sleep 2
before=$(wc -l < "$work/trace")
echo hello > "$work/attachment.txt"
curl -sf -F title=t -F description=d -F confirm_one_finding=yes -F confirm_within_rules=yes -F "files=@$work/attachment.txt" \
  http://127.0.0.1:18999/submit | grep -c 'receipt-code' > /dev/null
sleep 0.5
tail -n +"$((before + 1))" "$work/trace" | grep -v eventfd | cut -c1-160
