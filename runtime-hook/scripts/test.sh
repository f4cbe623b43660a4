#!/usr/bin/env bash
# Tests of the runtime hook crate (runtime-hook/, package `locklens`).
#
# 1. std-only: `cargo test` (no features, offline).
# 2. features parking_lot + tokio against Debian's packaged crates in
#    /usr/share/cargo/registry, used as a directory source through --config
#    flags on these commands only (never a committed .cargo/config).
#    Skipped, with a clear message, when those crates are not installed
#    (apt-get install librust-parking-lot-dev librust-tokio-dev).
#
# Cargo resolves optional dependencies even for a std-only build, so the
# std-only step also uses the Debian source when it exists; without it the
# std-only step builds a copy of the crate whose manifest has no optional
# dependencies (the std-only code is identical).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$HERE"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HERE/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
REG="${LOCKLENS_DEBIAN_REGISTRY:-/usr/share/cargo/registry}"
DEBIAN=(--config 'source.crates-io.replace-with="debian"' --config "source.debian.directory=\"$REG\"")

have_crate() { compgen -G "$REG/$1-[0-9]*" >/dev/null; }

if ! command -v cargo >/dev/null; then
  echo "runtime-hook: SKIPPED: cargo not found (install rustc/cargo to test the Rust hook)"
  exit 0
fi

if [ -d "$REG" ] && have_crate parking_lot && have_crate tokio && have_crate lock_api; then
  FEATURES=1
else
  FEATURES=0
fi

echo "== runtime-hook: cargo test (std only) =="
if [ "$FEATURES" = 1 ]; then
  cargo test --offline "${DEBIAN[@]}"
else
  STD="$CARGO_TARGET_DIR/std-only-crate"
  rm -rf "$STD" && mkdir -p "$STD"
  cp -r src tests examples "$STD/"
  # manifest without [dependencies] and the features that need them
  awk '
    /^\[dependencies\]/ {skip=1; next}
    /^\[/ {skip=0}
    /^parking_lot = |^tokio = |^bench-pl-deadlock-detection/ {next}
    !skip {print}
  ' Cargo.toml > "$STD/Cargo.toml"
  (cd "$STD" && cargo test --offline)
fi

if [ "$FEATURES" = 1 ]; then
  echo "== runtime-hook: cargo test --features parking_lot,tokio (Debian crates from $REG) =="
  cargo test --offline --features parking_lot,tokio "${DEBIAN[@]}"
else
  echo "runtime-hook: SKIPPED feature tests (parking_lot, tokio): Debian crates not found in $REG"
  echo "runtime-hook:   install them with: apt-get install librust-parking-lot-dev librust-tokio-dev"
fi
echo "runtime-hook: all tests passed"
