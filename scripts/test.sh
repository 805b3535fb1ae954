#!/usr/bin/env bash
# Sets up the machine (scripts/setup.sh) and runs every test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh --no-build --reference
[ -d /opt/swift/usr/bin ] && export PATH=/opt/swift/usr/bin:$PATH
export COLPALI_TEST_PYTHON="$root/.deps/venv/bin/python"
# Formatting is part of the tests (.swift-format at the root).
swift format lint --strict --recursive --parallel Package.swift Sources Tests Benchmarks
swift build --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Write|Emitting)'
test "${PIPESTATUS[0]}" -eq 0
# A few seconds of each libFuzzer harness on its seed corpus (scripts/fuzz.sh; exits 1 on a crash).
scripts/fuzz.sh "${COLPALI_FUZZ_SECONDS:-5}"
# A short soak: mixed traffic with random worker kills and rolls (scripts/soak.py; bounded). In
# 30 s the pool's memory still moves with replacements warming up (+3 to +10 % seen), so the
# flat-within-10 % criterion is for long runs; here growth past 25 % fails.
python3 scripts/soak.py --seconds "${COLPALI_SOAK_SECONDS:-30}" --clients 3 --kill-every 8 --roll-every 13 --rss-tolerance 0.25
# Bounded: a test that dies could leave children holding the output pipe open.
timeout --kill-after=30 "${COLPALI_TEST_TIMEOUT:-1500}" swift test --skip-build "$@"
