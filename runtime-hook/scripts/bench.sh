#!/usr/bin/env bash
# Runtime hook overhead: wall-clock table (examples/bench.rs) and, when
# valgrind is installed, instructions per uncontended lock+unlock, which do
# not depend on machine load. Output is Markdown for BENCHMARKS-hook.md.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$HERE"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HERE/target}"
REG="${LOCKLENS_DEBIAN_REGISTRY:-/usr/share/cargo/registry}"
DEBIAN=(--config 'source.crates-io.replace-with="debian"' --config "source.debian.directory=\"$REG\"")
FEATURES=()
if compgen -G "$REG/parking_lot-[0-9]*" >/dev/null; then FEATURES=(--features parking_lot); fi
cargo build --offline --release --example bench "${FEATURES[@]}" "${DEBIAN[@]}" >&2
BIN="$CARGO_TARGET_DIR/release/examples/bench"

# parking_lot with its deadlock_detection feature (mode pl-dd). Debian's
# parking_lot_core 0.9.3 comments its `backtrace` dependency out of the
# manifest while src/parking_lot.rs still uses it, so the feature does not
# build from the package as is. With Debian's backtrace crate installed
# (apt-get install librust-backtrace-dev), this script builds a copy of the
# packaged parking_lot_core with that dependency restored, through a
# [patch] in a copy of this crate under target/ (nothing in the repository
# or the system registry changes), and the bench binary with the feature
# bench-pl-deadlock-detection there.
PLC=$(compgen -G "$REG/parking_lot_core-0.9.*" | head -1 || true)
if [ ${#FEATURES[@]} -gt 0 ] && [ -n "$PLC" ] && compgen -G "$REG/backtrace-0.3.*" >/dev/null; then
  DD="$CARGO_TARGET_DIR/pl-dd"
  rm -rf "$DD/crate" "$DD/parking_lot_core" && mkdir -p "$DD/crate"
  cp -r "$PLC" "$DD/parking_lot_core"
  sed -i -e 's/^#\[dependencies.backtrace\]/[dependencies.backtrace]/' -e 's/^#version = "0.3.60"/version = "0.3.60"/' \
         -e 's/^#optional = true/optional = true/' -e 's/^    #"backtrace",/    "backtrace",/' "$DD/parking_lot_core/Cargo.toml"
  rm -f "$DD/parking_lot_core/.cargo-checksum.json"
  cp -r Cargo.toml Cargo.lock src examples "$DD/crate/"
  if (cd "$DD/crate" && CARGO_TARGET_DIR="$DD/target" cargo build --offline --release --example bench \
        --features bench-pl-deadlock-detection "${DEBIAN[@]}" \
        --config "patch.crates-io.parking_lot_core.path=\"$DD/parking_lot_core\"") >&2; then
    export BENCH_PL_DD_BIN="$DD/target/release/examples/bench"
  else
    echo "bench: parking_lot deadlock_detection build failed; pl-dd row left out" >&2
  fi
else
  echo "bench: pl-dd row left out (needs Debian's librust-parking-lot-dev and librust-backtrace-dev)" >&2
fi

echo "command: \`bash runtime-hook/scripts/bench.sh\` (BENCH_ROUNDS=${BENCH_ROUNDS:-8})"; echo; echo "date: $(date -u +%Y-%m-%dT%H:%MZ), nproc: $(nproc), CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), rustc: $(rustc --version | cut -d' ' -f2), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
BENCH_ROUNDS="${BENCH_ROUNDS:-8}" "$BIN" 2>/dev/null
echo

if command -v valgrind >/dev/null; then
  ir() { BENCH_ONLY=$2 BENCH_OPS=$3 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" --mode "$1" 2>&1 \
           | awk '/Collected/ {gsub(",", "", $4); print $4}'; }
  irb() { BENCH_ONLY=$2 BENCH_OPS=$3 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BENCH_PL_DD_BIN" --mode "$1" 2>&1 \
           | awk '/Collected/ {gsub(",", "", $4); print $4}'; }
  modes=(std off on)
  [ ${#FEATURES[@]} -gt 0 ] && modes+=(pl pl-off pl-on)
  [ -n "${BENCH_PL_DD_BIN:-}" ] && modes+=(pl-dd)
  echo "| mode | instructions per uncontended lock+unlock (valgrind) | instructions per nested acquisition+release (valgrind) |"
  echo "| --- | ---: | ---: |"
  for m in "${modes[@]}"; do
    f=ir; [ "$m" = pl-dd ] && f=irb
    a=$($f "$m" uncontended 10000); b=$($f "$m" uncontended 30000)
    c=$($f "$m" nested 10000); d=$($f "$m" nested 30000)
    # 15 runs of (30000 - 10000) more operations; nested: 2 acquisitions
    # per iteration, (30000 - 10000) / 2 more iterations
    echo "| $m | $(( (b - a) / (20000 * 15) )) | $(( (d - c) / (20000 * 15) )) |"
  done
fi
