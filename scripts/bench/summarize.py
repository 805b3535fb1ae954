#!/usr/bin/env python
"""Prints the benchmark table from the per-round JSON reports of scripts/bench_model.sh."""
import json
import statistics
import sys
from pathlib import Path


def best(reports, key):
    """The lowest per-round median (the round least disturbed by other load on the machine);
    None when the runs were skipped (e.g. --image-runs 0)."""
    medians = [statistics.median(r[key]) for r in reports if r.get(key)]
    return min(medians) if medians else None


def main() -> None:
    results = Path(sys.argv[1])
    python = [json.loads(p.read_text()) for p in sorted(results.glob("python-*.json"))]
    swift = [json.loads(p.read_text()) for p in sorted(results.glob("swift-*.json"))]
    if not python or not swift:
        sys.exit("no results")
    first = swift[0]
    print(f"\nthreads {first['threads']}; query {first['queryTokens']} tokens; "
          f"page {first['imageTiles']} tiles, {first['imageTokens']} tokens; {len(swift)} round(s)")
    print(f"{'':<18}{'Python ref':>12}{'Swift':>12}{'Swift/Python':>14}{'target':>9}")
    for label, key, target in (("query forward ms", "queryMilliseconds", 0.5), ("image forward ms", "imageMilliseconds", 1.0)):
        p, s = best(python, key), best(swift, key)
        if p is None or s is None:
            continue
        verdict = "ok" if s / p <= target else "MISSED"
        print(f"{label:<18}{p:>12.1f}{s:>12.1f}{s / p:>14.2f}{'<= ' + str(target):>9} {verdict}")
    for label, key in (("query CPU ms", "queryCPUMilliseconds"), ("image CPU ms", "imageCPUMilliseconds"),
                       ("  vision+connector", "imageVisionMilliseconds"), ("  text+head", "imageTextMilliseconds")):
        p, s = best(python, key), best(swift, key)
        if p is None or s is None:
            continue
        print(f"{label:<18}{p:>12.1f}{s:>12.1f}{s / p:>14.2f}")
    mib = 1024 * 1024
    p_peak, s_peak = max(r["peakResidentBytes"] for r in python), max(r["peakResidentBytes"] for r in swift)
    p_load, s_load = max(r["residentAfterLoadBytes"] for r in python), max(r["residentAfterLoadBytes"] for r in swift)
    print(f"{'RSS after load MiB':<18}{p_load / mib:>12.0f}{s_load / mib:>12.0f}")
    print(f"{'peak RSS MiB':<18}{p_peak / mib:>12.0f}{s_peak / mib:>12.0f}")
    print(f"{'load s':<18}{min(r['loadSeconds'] for r in python):>12.1f}{min(r['loadSeconds'] for r in swift):>12.1f}")


if __name__ == "__main__":
    main()
