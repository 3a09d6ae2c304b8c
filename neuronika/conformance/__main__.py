"""``python -m neuronika.conformance SPEC [SPEC ...] [--area AREA ...] [--quick]``

Runs the conformance suite on each backend and prints one report per backend; the exit status
is 1 when any check failed or a backend could not be loaded (said in one line). ``SPEC`` is a registered device string (``cpu``,
``array_api_strict``, ``cuda``) or ``module:factory`` / ``path/to/file.py:factory`` (see
:func:`neuronika.conformance.load`).
"""

from __future__ import annotations

import argparse
import sys

from ..backends import BackendUnavailableError
from . import AREAS, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m neuronika.conformance", description=__doc__.split("\n\n")[1])
    parser.add_argument("specs", nargs="+", metavar="SPEC", help="device string, module:factory or file.py:factory")
    parser.add_argument("--area", action="append", choices=AREAS, help="run only this area (repeatable)")
    parser.add_argument("--quick", action="store_true", help="fewer cases and a shorter training run")
    args = parser.parse_args(argv)
    failed = False
    for spec in args.specs:
        try:
            report = run(spec, areas=args.area, quick=args.quick)
        except (ImportError, OSError, ValueError, TypeError, AttributeError, BackendUnavailableError) as error:
            # the backend could not be loaded or created: one line, not a traceback
            print(f"neuronika conformance: {spec}: cannot load the backend: {type(error).__name__}: {error}", flush=True)
            failed = True
            continue
        print(report.render(), flush=True)
        failed = failed or not report.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
