"""Outcome counts of generated calls of the three losses (issue 11's table).

Each entry point gets ``--examples`` calls drawn from the strategies in
``tests/_robustness_losses.py``; every call is judged valid / clear error /
unclear error / silent wrong / hang (a call over ``--timeout`` seconds).

Usage::

    python benchmarks/robustness_losses.py --examples 1000
"""

from __future__ import annotations

import argparse
import collections
import signal
import sys
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, REPO / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from _robustness_losses import LOSSES, call, loss_calls, outcome  # noqa: E402

OUTCOMES = ("valid", "clear error", "unclear error", "silent wrong", "hang")


class _Hang(Exception):
    pass


def tally(name: str, examples: int, timeout: float):
    counts, samples = collections.Counter(), {}

    def on_alarm(signum, frame):
        raise _Hang()

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(loss_calls(name))
    def run(case):
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            result, detail = outcome(*call(name, case))
        except _Hang:
            result, detail = "hang", ""
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        counts[result] += 1
        samples.setdefault(result, detail)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run()
    return counts, samples


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--examples", type=int, default=500)
    p.add_argument("--timeout", type=float, default=20.0)
    args = p.parse_args(argv)
    print("| entry point | " + " | ".join(OUTCOMES) + " |")
    print("|---|" + "---:|" * len(OUTCOMES))
    for name in LOSSES:
        counts, samples = tally(name, args.examples, args.timeout)
        print(f"| {name} | " + " | ".join(str(counts[o]) for o in OUTCOMES) + " |")
        for kind in ("unclear error", "silent wrong", "hang"):
            if kind in samples:
                print(f"    {kind}: {samples[kind][:200]}")


if __name__ == "__main__":
    main()
