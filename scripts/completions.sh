#!/usr/bin/env bash
# Regenerates the shell completions in contrib/completions/ from the command tree
# (swift-argument-parser writes them). Run after adding or changing a command or option;
# a test (CompletionAndHelpTests) fails while the committed files are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
swift build --product gatehouse >/dev/null
bin="$(swift build --show-bin-path)/gatehouse"
"$bin" --generate-completion-script bash > contrib/completions/gatehouse.bash
"$bin" --generate-completion-script zsh > contrib/completions/_gatehouse
echo "wrote contrib/completions/gatehouse.bash and contrib/completions/_gatehouse"
