"""Resolver's benchmarks: ``python -m bench`` runs them, prints a table and writes it as JSON.

Each module ``bench/<name>.py`` has ``run(quick, workdir) -> list[dict]``, one dict per row of the
table (``bench.common.row``). Figures are ratios or medians measured in one run on one machine.
"""
