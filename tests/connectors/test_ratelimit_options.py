"""The shared ``rate_limit`` store option reads the same on every platform."""

from __future__ import annotations

import pytest

from connectors.ratelimit import BucketSpec, bucket_from_options

DEFAULT = BucketSpec(rate=5.0, burst=10.0)


def test_absent_option_keeps_the_platform_default() -> None:
    """No option, no change."""
    assert bucket_from_options({}, DEFAULT) == DEFAULT


def test_requests_per_window_and_burst() -> None:
    """450 per 30 s is 15/s; burst defaults to two seconds' worth, or as given."""
    assert bucket_from_options({"rate_limit": {"requests": 450, "per_seconds": 30}}, DEFAULT) == BucketSpec(15.0, 30.0)
    assert bucket_from_options({"rate_limit": {"requests": 120, "per_seconds": 60, "burst": 20}}, DEFAULT) == \
        BucketSpec(2.0, 20.0)
    assert bucket_from_options({"rate_limit": {"burst": 3}}, DEFAULT) == BucketSpec(5.0, 3.0)


@pytest.mark.parametrize("bad", [5, {"requests": 0}, {"requests": "many"}, {"per_seconds": -1, "requests": 3}])
def test_bad_values_are_refused_naming_the_option(bad: object) -> None:
    """A clear error names the option."""
    with pytest.raises(ValueError, match="rate_limit"):
        bucket_from_options({"rate_limit": bad}, DEFAULT)
