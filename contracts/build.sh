#!/usr/bin/env bash
# Rebuilds the committed contract artifacts in contracts/out/ with solc-js (pinned by
# scripts/install-chain-tools.sh) and checks the EthenaMinting ABI against the reference V2 ABI.
set -euo pipefail
ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT_DIR/scripts/install-chain-tools.sh" >/dev/null
node "$ROOT_DIR/contracts/build.mjs"
