"""What the benchmark scripts of bench/ share: processes, records, load, reporting.

The scripts run as `python bench/NAME.py`, so bench/ is first on sys.path and
this package imports as `harness`.
"""
