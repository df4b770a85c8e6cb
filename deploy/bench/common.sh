# Shared by the benchmark scripts (sourced, not run): builds agedrop in release, finds
# or installs rage, and starts a server with a fresh team key in a folder on disk.
# Sets: root bin rage work line (the keys-file line) recipient url server_pid; helpers
# median, machine.
# A script may set bench_submissions_per_minute, and bench_limits (more [limits] lines),
# before sourcing it.

root=$(cd "$(dirname "$0")/../.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/agedrop"
rage=$(command -v rage || true)
if [ -z "$rage" ]; then
  rage="$root/target/bench-tools/bin/rage"
  [ -x "$rage" ] || cargo install --quiet --locked rage --root "$root/target/bench-tools"
fi

# On disk, not tmpfs: /tmp is often in memory and would flatter both sides.
work=$(mktemp -d /var/tmp/agedrop-bench.XXXXXX)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# keygen prints the keys-file line: the recipient, then the signing key.
line=$("$bin" keygen --out "$work/identity.txt" 2>/dev/null)
recipient=${line%% *}
printf '# Bench\n%s\n' "$line" > "$work/keys.txt"
cat > "$work/agedrop.toml" <<TOML
[server]
listen = "127.0.0.1:0"
data = "$work/data"
keys = "$work/keys.txt"
[limits]
max_upload_mib = 2048
max_file_mib = 2048
submissions_per_minute = ${bench_submissions_per_minute:-1000}
storage_reserve_mib = 0
${bench_limits:-}
TOML
"$bin" serve --config "$work/agedrop.toml" > "$work/server.out" 2> "$work/server.log" &
server_pid=$!
for _ in $(seq 100); do grep -q '^Listening on' "$work/server.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^Listening on \([^ ]*\).*/\1/p' "$work/server.out")

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

machine() {
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"
  echo "disk:    $(df -T "$work" | awk 'NR==2 {print $2, $1}')"
  echo "agedrop: $("$bin" --version), rage: $("$rage" --version)"
}
