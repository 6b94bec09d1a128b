"""The benchmark harness behind ``make bench`` (see docs/performance.md).

Run by hand, never in CI: it starts real servers, drives them with wrk over loopback and
prints figures and ratios. ``python -m bench.run --help`` lists the knobs.
"""
