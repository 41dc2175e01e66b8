"""``python -m benchmarks [--quick]``: run every benchmark (see ``benchmarks/run.py``)."""

from benchmarks.run import main

main()
