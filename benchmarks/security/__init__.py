"""The security scan (`make scan`): wapiti and sqlmap against a signed-in local server on a
fresh demo database. Run it with `python -m benchmarks.security`; README.md, "Security
scans", is its manual."""
