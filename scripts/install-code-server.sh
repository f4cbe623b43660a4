#!/usr/bin/env bash
# Installs code-server (a real VS Code, served to a browser) and the system packages LockLens's
# extension tests need, using only the npm registry and Debian apt.  Idempotent: a second run with
# everything in place only checks it and prints the paths.
#
#   bash scripts/install-code-server.sh            # installs into .locklens-e2e/code-server
#
# Environment:
#   CODE_SERVER_VERSION   default 4.100.3, the newest release whose engines field accepts Node 20
#   LOCKLENS_E2E_DIR      cache root, default <repo>/.locklens-e2e (git-ignored)
#
# Why it is not a plain `npm i code-server` (each one was a failed install, see test/extension/README.md):
#   * running as root, code-server's postinstall refuses to run without npm_config_unsafe_perm=true;
#   * the kerberos native module needs gssapi headers (Debian: libkrb5-dev);
#   * @vscode/ripgrep's postinstall downloads rg from GitHub, which is unreachable: we seed the download
#     cache it looks in first with a tarball holding Debian's /usr/bin/rg;
#   * node-pty's postinstall runs `npx node-gyp`, which aborts when npm's `yes` is false: npm_config_yes=true;
#   * the ripgrep version is only known once the package tree is on disk, so the install runs in two
#     phases: `npm i --ignore-scripts`, seed the cache, then `npm rebuild` runs every install script.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CS_VERSION=${CODE_SERVER_VERSION:-4.100.3}
E2E_DIR=${LOCKLENS_E2E_DIR:-$REPO_ROOT/.locklens-e2e}
CS_DIR="$E2E_DIR/code-server"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"
MARKER="$CS_DIR/.install-ok-$CS_VERSION"
LOG="$E2E_DIR/logs/install-code-server.log"

T0=$(date +%s)
say() { echo "[install-code-server +$(($(date +%s) - T0))s] $*"; }
die() { echo "[install-code-server] ERROR: $*" >&2; exit 1; }

mkdir -p "$E2E_DIR/logs" "$E2E_DIR/tmp"

# ------------------------------------------------------------------ 1. system packages (Debian apt)
# chromium: the browser the tests drive; libkrb5-dev: headers for code-server's kerberos module;
# ripgrep: replaces @vscode/ripgrep's GitHub download; make/g++/python3: node-gyp builds.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
[ -e /usr/include/gssapi/gssapi.h ] || missing+=(libkrb5-dev)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing system packages (${missing[*]}) and no apt-get to install them"
  [ "$(id -u)" = 0 ] || die "missing system packages (${missing[*]}); run as root or: sudo apt-get install ${missing[*]}"
  say "apt-get update && apt-get install ${missing[*]}"
  apt-get update >>"$LOG" 2>&1 || die "apt-get update failed (see $LOG)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 \
    || die "apt-get install ${missing[*]} failed (see $LOG)"
fi
say "chromium: $(chromium --version 2>/dev/null | head -1)"
say "ripgrep:  $(rg --version | head -1)"

# ------------------------------------------------------------------ 2. code-server
if [ -f "$MARKER" ] && [ -x "$CS_BIN" ] && HOME="$E2E_DIR/home" "$CS_BIN" --version >/dev/null 2>&1; then
  say "code-server $CS_VERSION already installed in $CS_DIR"
else
  say "installing code-server@$CS_VERSION into $CS_DIR (log: $LOG)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  printf '{ "name": "locklens-code-server", "private": true }\n' >"$CS_DIR/package.json"
  export TMPDIR="$E2E_DIR/tmp"   # npm scratch space and @vscode/ripgrep's download cache

  say "phase 1: npm i --ignore-scripts code-server@$CS_VERSION"
  (cd "$CS_DIR" && npm i --ignore-scripts --no-audit --no-fund "code-server@$CS_VERSION") >>"$LOG" 2>&1 \
    || { tail -30 "$LOG"; die "npm i code-server@$CS_VERSION failed"; }

  # @vscode/ripgrep's postinstall looks for $TMPDIR/vscode-ripgrep-cache-<pkgver>/ripgrep-<rgver>-<target>.tar.gz
  # before it tries GitHub.  Find both versions and put Debian's rg there.
  SHRINK="$CS_DIR/node_modules/code-server/lib/vscode/npm-shrinkwrap.json"
  RG_PKG=$(node -e '
    const f = process.argv[1];
    let v = "";
    try { const p = require(f).packages || {}; v = (p["node_modules/@vscode/ripgrep"] || {}).version || ""; } catch {}
    process.stdout.write(v);' "$SHRINK")
  if [ -n "$RG_PKG" ]; then
    W=$(mktemp -d "$TMPDIR/rgpkg.XXXXXX")
    (cd "$W" && npm pack --silent "@vscode/ripgrep@$RG_PKG" >/dev/null && tar xzf vscode-ripgrep-*.tgz package/lib/postinstall.js) >>"$LOG" 2>&1 \
      || die "could not fetch @vscode/ripgrep@$RG_PKG from the npm registry"
    RG_VER=$(sed -n "s/^const VERSION = '\(.*\)';/\1/p" "$W/package/lib/postinstall.js")
    [ -n "$RG_VER" ] || die "could not read the ripgrep version from @vscode/ripgrep@$RG_PKG/lib/postinstall.js"
    mkdir -p "$TMPDIR/vscode-ripgrep-cache-$RG_PKG" "$W/rg"
    cp "$(command -v rg)" "$W/rg/rg"
    for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
      tar czf "$TMPDIR/vscode-ripgrep-cache-$RG_PKG/ripgrep-$RG_VER-$target.tar.gz" -C "$W/rg" rg
    done
    rm -rf "$W"
    say "seeded @vscode/ripgrep@$RG_PKG's download cache (ripgrep $RG_VER) with $(command -v rg)"
  else
    say "no @vscode/ripgrep in code-server's shrinkwrap; nothing to seed"
  fi

  say "phase 2: npm rebuild (code-server's postinstall builds node-pty, spdlog, kerberos, argon2...)"
  NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
  (cd "$CS_DIR" && FORCE_NODE_VERSION=$NODE_MAJOR npm_config_yes=true npm_config_unsafe_perm=true npm rebuild) >>"$LOG" 2>&1 \
    || { tail -40 "$LOG"; die "npm rebuild (code-server install scripts) failed"; }
  HOME="$E2E_DIR/home" "$CS_BIN" --version >/dev/null 2>&1 || die "code-server was installed but does not start (see $LOG)"
  touch "$MARKER"
  say "installed: $(du -sh "$CS_DIR/node_modules" | cut -f1)"
fi

say "$(HOME="$E2E_DIR/home" "$CS_BIN" --version 2>/dev/null | tail -1)"
echo "CODE_SERVER_BIN=$CS_BIN"
