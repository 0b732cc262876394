#!/usr/bin/env bash
# Shared helpers for the scripts in this folder: paths, timed steps, spacetime.json, binaries.
# Sourced, never run. Everything it defines is prefixed so scripts stay readable.

set -euo pipefail

OPTX_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OPTX_STATE="${OPTX_STATE:-$OPTX_ROOT/.optx}"                  # local server data, keys, logs (gitignored)
OPTX_CACHE="${OPTX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hermes-optx}"  # installs shared by checkouts
STDB_VERSION="1.2.0"
HERMES_VERSION="0.17.0"
NUMPY_VERSION="2.4.3"                                          # for Hermes holographic memory (HRR)
STDB_ROOT="${STDB_ROOT:-$OPTX_CACHE/spacetimedb-$STDB_VERSION}"
STDB_BIN_DIR="$STDB_ROOT/bin"
HERMES_VENV="${HERMES_VENV:-$OPTX_CACHE/hermes-venv-$HERMES_VERSION}"
WASM_TARGET_DIR="$OPTX_ROOT/target/wasm"

# step "what" cmd... : prints what is happening, runs it, prints how long it took.
step() {
  local what="$1"; shift
  local t0=$SECONDS
  echo "==> $what"
  "$@"
  echo "    done: $what ($((SECONDS - t0)) s)"
}

say() { echo "    $*"; }
die() { echo "error: $*" >&2; exit 1; }

# spacetime_json KEY : a top-level string of spacetime.json (2.x project file format).
spacetime_json() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    "$OPTX_ROOT/spacetime.json" "$1"
}

# spacetime_generate_dir : out-dir of the first Rust `generate` entry.
spacetime_generate_dir() {
  python3 - "$OPTX_ROOT/spacetime.json" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
for g in cfg.get("generate", []):
    if g.get("language") == "rust":
        print(g["out-dir"]); break
else:
    sys.exit("spacetime.json has no rust generate entry")
PY
}

module_crate_name() {
  local dir; dir="$(spacetime_json module-path)"
  sed -n 's/^name *= *"\(.*\)"/\1/p' "$OPTX_ROOT/$dir/Cargo.toml" | head -n1
}

module_wasm_path() {
  echo "$WASM_TARGET_DIR/wasm32-unknown-unknown/release/$(module_crate_name | tr - _).wasm"
}

stdb_cli() { "$STDB_BIN_DIR/spacetimedb-cli" "$@"; }

# The installed spacetimedb binaries answer with the pinned version.
stdb_installed() {
  [ -x "$STDB_BIN_DIR/spacetimedb-cli" ] && [ -x "$STDB_BIN_DIR/spacetimedb-standalone" ] &&
    "$STDB_BIN_DIR/spacetimedb-standalone" --version 2>/dev/null | grep -q "tool version $STDB_VERSION;" &&
    "$STDB_BIN_DIR/spacetimedb-cli" --version 2>/dev/null | grep -q "tool version $STDB_VERSION;"
}

hermes_installed() {
  [ -x "$HERMES_VENV/bin/hermes" ] &&
    "$HERMES_VENV/bin/python" -c 'import importlib.metadata as m,sys; sys.exit(m.version("hermes-agent")!=sys.argv[1])' "$HERMES_VERSION" 2>/dev/null
}

hermes_numpy_installed() {
  "$HERMES_VENV/bin/python" -c 'import numpy,sys; sys.exit(numpy.__version__!=sys.argv[1])' "$NUMPY_VERSION" 2>/dev/null
}

rustup_has_wasm_std() {
  command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown
}

# rustup's own rust-lld (Debian's points at an lld that is not installed).
rustup_rust_lld() {
  local sysroot host
  sysroot="$(rustc --print sysroot)"
  host="$(rustc -vV | sed -n 's/^host: //p')"
  echo "$sysroot/lib/rustlib/$host/bin/rust-lld"
}

# wait_http URL SECONDS : poll until URL answers 2xx.
wait_http() {
  local url="$1" limit="$2" i=0
  while ! curl -fsS -m 2 -o /dev/null "$url" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -ge $((limit * 4)) ] && return 1
    sleep 0.25
  done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
