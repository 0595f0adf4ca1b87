"""Example budgets relative to the active hypothesis profile, so dev stays fast and ci stays thorough."""

from __future__ import annotations

from hypothesis import settings


def share(fraction: float) -> settings:
    """Run ``fraction`` of the profile's examples (at least 5): for tests that cost many S3 calls."""
    return settings(max_examples=max(5, round(settings.default.max_examples * fraction)))
