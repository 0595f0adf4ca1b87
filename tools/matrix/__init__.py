"""The Airflow release matrix: matrix.yaml, its locks, its venvs, its S3 server and its report.

One module per job: ``entries`` (read matrix.yaml), ``selection`` (the ``-- <filter>`` words), ``index``
(upload dates from PyPI), ``requirements`` (what a lock resolves), ``lock`` (uv pip compile), ``pythons``
(find interpreters), ``uv_cli`` (find uv), ``venvs`` (build a venv from a lock), ``s3server`` (moto on
loopback), ``junit`` (read pytest's XML), ``results`` (one entry's JSON), ``table`` (the compatibility table),
``run_entry`` (one matrix session end to end), ``discover`` (releases matrix.yaml lacks).
"""
