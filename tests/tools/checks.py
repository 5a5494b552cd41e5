"""What the Python test scripts share: check() prints one ok/FAIL line and keeps the failures
(in `failures`, which the script reports and turns into its exit status)."""

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond
