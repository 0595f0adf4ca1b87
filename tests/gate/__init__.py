"""Gate power: mutant backends, named known regressions, vendoring; proves the harness goes red when it must."""
