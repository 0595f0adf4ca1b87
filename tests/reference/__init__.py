"""Reference runs: Airflow's default backend and common-io's object-storage backend through the any-backend
checks, with the results each must produce on each release asserted (``expectations.py``)."""
