"""Settings shared by the whole suite.

Hypothesis: the suite runs on shared 2-core CI machines where a test can be starved
for a second by its neighbours, so timing-based checks (the per-example deadline and
the "input generation is slow" health check) would fail for reasons that are not the
code's. Correctness checks and example counts are unchanged.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("mlrepro", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("mlrepro")

# the moto S3 server and its settings, for every test that talks to a remote
pytest_plugins = ["tests.s3server"]
