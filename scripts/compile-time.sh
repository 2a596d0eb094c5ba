#!/usr/bin/env bash
# Measures how long `cargo build --release` takes for a crate holding one `mlp!` network:
# a 784-512-512-10 network against a 4-4-4-4 one. Dependencies are built first and shared,
# so each figure is the time to expand, type-check and optimise the user's crate alone.
#
# Usage: scripts/compile-time.sh [runs]   (default 3; prints the median of the runs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="$work/target"

make_crate() { # name, layers
  mkdir -p "$work/$1/src"
  cat > "$work/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
mlp = { path = "$root" }

[workspace]
TOML
  cat > "$work/$1/src/main.rs" <<RS
mlp::mlp! { pub struct Net { input: $2 } }
fn main() {
    let net = Net::zeros();
    let x = [0.5; Net::INPUT];
    println!("{:?}", net.forward(&x));
}
RS
}

make_crate large "784, layers: [512 tanh, 512 tanh, 10 identity]"
make_crate small "4, layers: [4 tanh, 4 tanh, 4 identity]"

for name in large small; do
  (cd "$work/$name" && cargo build --release --quiet)   # dependencies, not timed
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for name in large small; do
  for _ in $(seq "$runs"); do
    touch "$work/$name/src/main.rs"
    start=$(date +%s.%N)
    (cd "$work/$name" && cargo build --release --quiet)
    end=$(date +%s.%N)
    awk "BEGIN { print $end - $start }"
  done | median | xargs printf "%s: median %.2f s over $runs runs of cargo build --release\n" "$name"
done
