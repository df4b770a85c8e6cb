#!/usr/bin/env bash
# Download benchmark: `agedrop team attachments` fetching and decrypting a 1 GiB
# attachment from the server (end to end, fsynced), against `rage -d` decrypting the
# same plaintext sealed by rage to the member's recipient, followed by `sync`, in the
# same run. (The attachment itself is sealed to a key of its own, which only its sealed
# event holds, so rage cannot open that very file.)
#
#   deploy/bench/download.sh          (needs curl; installs rage with cargo if absent)
#
# Prints every timing, the medians, and the ratio rage time / agedrop time (goal >= 0.9).
set -euo pipefail
runs=${RUNS:-5}
size_mib=${SIZE_MIB:-1024}
source "$(dirname "$0")/common.sh"

head -c $((size_mib << 20)) /dev/urandom > "$work/plain"
curl -sf -o /dev/null -F title=bench -F description=bench -F confirm_one_finding=yes -F confirm_within_rules=yes -F "files=@$work/plain" "${url}submit"
ciphertext=$(ls "$work"/data/attachments/*)
"$rage" -r "$recipient" -o "$work/reference.age" "$work/plain"
rm "$work/plain"
export HOME="$work/home" XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config"
export AGEDROP_SERVER="${url%/}" AGEDROP_IDENTITY="$work/identity.txt"
id=$("$bin" team list --json | sed -n 's/.*"id": "\([0-9a-f]*\)".*/\1/p' | head -1)

machine
echo "file:    ${size_mib} MiB attachment, $(stat -c %s "$ciphertext") bytes of ciphertext"
echo

secs() { echo "$2 - $1" | bc -l; }
a=(); r=()
for i in $(seq "$runs"); do
  rm -rf "$work/out"; sync; sleep 0.5
  t0=$(date +%s.%N)
  "$bin" team attachments "$id" --out "$work/out" > /dev/null
  t1=$(date +%s.%N)
  a+=("$(secs "$t0" "$t1")")
  rm -f "$work/rage.out"; sync; sleep 0.5
  t0=$(date +%s.%N)
  "$rage" -d -i "$work/identity.txt" -o "$work/rage.out" "$work/reference.age"
  sync
  t1=$(date +%s.%N)
  r+=("$(secs "$t0" "$t1")")
done
cmp -s "$work/rage.out" "$work"/out/* || { echo "outputs differ" >&2; exit 1; }
am=$(printf '%s\n' "${a[@]}" | median)
rm_=$(printf '%s\n' "${r[@]}" | median)
printf 'agedrop team attachments (s): %s  median %.3f  (%.0f MiB/s)\n' "${a[*]}" "$am" "$(echo "$size_mib / $am" | bc -l)"
printf 'rage -d + sync           (s): %s  median %.3f  (%.0f MiB/s)\n' "${r[*]}" "$rm_" "$(echo "$size_mib / $rm_" | bc -l)"
printf 'ratio rage/agedrop (medians): %.2f   (goal >= 0.90)\n' "$(echo "$rm_ / $am" | bc -l)"
