#!/usr/bin/env bash
# Runs the Solidity tests in contracts/test/ with forge, offline, compiling with solc-js through
# contracts/tools/solc. Installs the pinned tools first (idempotent).
set -euo pipefail
ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT_DIR/scripts/install-chain-tools.sh" >/dev/null
cd "$ROOT_DIR/contracts"
"${HEDGER_TOOLS_DIR:-$ROOT_DIR/.tools}/bin/forge" test "$@"
