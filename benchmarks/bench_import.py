"""Import cost of weaksup and of its command line, against torch's own import.

Target (issue 13.5): ``import weaksup`` imports neither pandas nor pgmpy nor
tqdm, and ``weaksup --help`` costs no more than torch's import + 0.3 s.
Each figure is the best of ``--repeat`` fresh interpreters, minus an empty
interpreter's start-up.

    python benchmarks/bench_import.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "pandas", "pgmpy", "tqdm", "matplotlib", "scipy")
CASES = {
    "import torch": "import torch",
    "import weaksup": "import weaksup",
    "from weaksup import LabelModel, FSLoss": "from weaksup import LabelModel, FSLoss",
    "weaksup --help": "import contextlib, io, sys; sys.argv = ['weaksup', '--help']\nfrom weaksup.cli import main\n"
                      "with contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main()\n"
                      "    except SystemExit:\n        pass",
}


def _run(code: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def _modules(code: str) -> list:
    probe = code + f"\nimport sys\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, env=env)
    return [m for m in out.stdout.strip().splitlines()[-1].split(",") if m] if out.stdout.strip() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    empty = min(_run("pass") for _ in range(args.repeat))
    times = {name: min(_run(code) for _ in range(args.repeat)) - empty for name, code in CASES.items()}
    print(f"{'what':40s} {'seconds':>8s}  heavy modules imported")
    for name, code in CASES.items():
        print(f"{name:40s} {times[name]:8.3f}  {', '.join(_modules(code)) or '-'}")
    light = not ({"pandas", "pgmpy", "tqdm"} & set(_modules(CASES["import weaksup"])))
    # torch itself may import tqdm; weaksup's own modules import it only inside functions
    budget = times["import torch"] + 0.3
    print(f"\nimport weaksup without pandas/pgmpy/tqdm: {'MET' if light else 'NOT MET'}")
    print(f"weaksup --help {times['weaksup --help']:.3f} s <= torch + 0.3 s = {budget:.3f} s: "
          f"{'MET' if times['weaksup --help'] <= budget else 'NOT MET'}")


if __name__ == "__main__":
    main()
