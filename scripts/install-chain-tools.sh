#!/usr/bin/env bash
# Installs the chain test tools at pinned versions into .tools/ (git-ignored), idempotently:
#   solc (solc-js, the npm `solc` package)  - compiles contracts/ (contracts/build.sh)
#   anvil (@foundry-rs/anvil-linux-amd64)   - local Ethereum node for chain integration tests
#   forge (@foundry-rs/forge-linux-amd64)   - runs the Solidity tests in contracts/test/
# Only the npm registry is used; nothing else is downloaded. Re-running with everything already
# installed at the pinned versions does nothing. Prints the tool paths on success.
set -euo pipefail

SOLC_VERSION="0.8.20"
FOUNDRY_VERSION="1.7.1"

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${HEDGER_TOOLS_DIR:-$ROOT_DIR/.tools}"
MODULES="$TOOLS_DIR/node_modules"

installed_version() {
  # Prints the installed version of npm package $1 under .tools, or nothing.
  local manifest="$MODULES/$1/package.json"
  [[ -f "$manifest" ]] && node -p "require('$manifest').version" 2>/dev/null || true
}

need_install=0
[[ "$(installed_version solc)" == "$SOLC_VERSION" ]] || need_install=1
[[ "$(installed_version @foundry-rs/anvil-linux-amd64)" == "$FOUNDRY_VERSION" ]] || need_install=1
[[ "$(installed_version @foundry-rs/forge-linux-amd64)" == "$FOUNDRY_VERSION" ]] || need_install=1

if [[ "$need_install" == 1 ]]; then
  command -v npm >/dev/null || { echo "install-chain-tools: npm is required" >&2; exit 1; }
  mkdir -p "$TOOLS_DIR"
  [[ -f "$TOOLS_DIR/package.json" ]] || echo '{"private":true}' >"$TOOLS_DIR/package.json"
  npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --loglevel=error --save-exact \
    "solc@$SOLC_VERSION" \
    "@foundry-rs/anvil-linux-amd64@$FOUNDRY_VERSION" \
    "@foundry-rs/forge-linux-amd64@$FOUNDRY_VERSION"
fi

find_binary() {
  # The foundry packages ship the native binary inside the package directory.
  local found
  found="$(find "$MODULES/@foundry-rs/$1-linux-amd64" -type f -name "$1" -perm -u+x 2>/dev/null | head -n1)"
  [[ -n "$found" ]] || { echo "install-chain-tools: $1 binary not found" >&2; exit 1; }
  echo "$found"
}

ANVIL="$(find_binary anvil)"
FORGE="$(find_binary forge)"
mkdir -p "$TOOLS_DIR/bin"
ln -sf "$ANVIL" "$TOOLS_DIR/bin/anvil"
ln -sf "$FORGE" "$TOOLS_DIR/bin/forge"

echo "solc-js $(installed_version solc): $MODULES/solc"
echo "anvil: $TOOLS_DIR/bin/anvil ($("$TOOLS_DIR/bin/anvil" --version | head -n1))"
echo "forge: $TOOLS_DIR/bin/forge ($("$TOOLS_DIR/bin/forge" --version | head -n1))"
