"""Outcome table of generated inputs for the model entry points (issue 11).

Draws the cases of ``tests/_robustness_cases.py`` (hypothesis, generate phase
only, no shrinking) for LabelModel, MulticlassLabelModel, MajorityVote and
lf_summary, runs each under a time limit and counts what happened: valid /
clear error / unclear error / silent wrong / hang. The target is zero in the
last three columns. Then the twin check: a fitted model gets a generated
``fit``/``partial_fit``; a rejected call must leave it equal to a twin. Prints a Markdown table, then up to three examples of
every outcome other than "valid" and "clear error".

    python benchmarks/robustness_models.py --examples 300
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from _robustness_cases import FITTED, OUTCOMES, entry_points, outcome, second_calls, twin_outcome  # noqa: E402


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def count(name, strategy, build, examples, limit_s):
    counts = collections.Counter()
    samples = collections.defaultdict(list)

    @settings(max_examples=examples, deadline=None, phases=[Phase.generate], database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(case):
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(limit_s)
        try:
            result, detail = outcome(*build(case))
        except _Timeout:
            result, detail = "hang", repr(case)[:200]
        finally:
            signal.alarm(0)
        counts[result] += 1
        if result not in ("valid", "clear error") and len(samples[result]) < 3:
            samples[result].append(f"{detail} <- {repr(case)[:200]}")

    run()
    return counts, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=300, help="cases per entry point")
    parser.add_argument("--limit", type=int, default=10, help="seconds before a call counts as a hang")
    args = parser.parse_args()
    rows, problems = [], []
    for name, (strategy, build) in sorted(entry_points().items()):
        counts, samples = count(name, strategy, build, args.examples, args.limit)
        rows.append((name, counts))
        for kind, lines in samples.items():
            problems.extend(f"- {name} / {kind}: {line}" for line in lines)
    print("| entry point | cases | " + " | ".join(OUTCOMES) + " |")
    print("|---|---|" + "---|" * len(OUTCOMES))
    total = collections.Counter()
    for name, counts in rows:
        total.update(counts)
        print(f"| {name} | {sum(counts.values())} | " + " | ".join(str(counts[o]) for o in OUTCOMES) + " |")
    print(f"| **total** | {sum(total.values())} | " + " | ".join(str(total[o]) for o in OUTCOMES) + " |")
    bad = sum(total[o] for o in OUTCOMES[2:])
    print(f"\nzero in the last three columns: {'MET' if bad == 0 else 'NOT MET'}")
    print("\n| twin check (fitted model, then a generated fit/partial_fit) | calls | accepted | rejected, unchanged | rejected, CHANGED |")
    print("|---|---|---|---|---|")
    changed = 0
    for name in sorted(FITTED):
        counts = collections.Counter()

        @settings(max_examples=args.examples, deadline=None, phases=[Phase.generate], database=None,
                  suppress_health_check=list(HealthCheck))
        @given(second_calls(name))
        def run(call):
            counts[twin_outcome(name, call)] += 1

        run()
        changed += counts["rejected, CHANGED"]
        print(f"| {name} | {sum(counts.values())} | {counts['accepted']} | {counts['rejected, unchanged']} | "
              f"{counts['rejected, CHANGED']} |")
    print(f"\nno rejected call changed a model: {'MET' if changed == 0 else 'NOT MET'}")
    if problems:
        print("\nexamples:")
        print("\n".join(problems))


if __name__ == "__main__":
    main()
