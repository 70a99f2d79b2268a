#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this file). Installs what it needs
# (pinned npm solc/anvil/forge into .tools/), then: format check, clippy with -D warnings, the
# Solidity tests, and every Rust test in the workspace. Benchmarks are compiled, not run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

for tool in cargo rustfmt cargo-clippy node npm; do
  command -v "$tool" >/dev/null || { echo "test.sh: $tool is required but not installed" >&2; exit 1; }
done
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "== chain tools (npm, pinned)"
bash scripts/install-chain-tools.sh
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== solidity tests (forge)"
bash contracts/test.sh
echo "== cargo test"
cargo test --workspace --locked
