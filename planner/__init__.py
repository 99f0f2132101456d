"""Planning toolkit for county education bureaus (县域义务教育优质均衡发展)."""

__version__ = "0.1.0"

from planner.io.load import DataError, load_district  # noqa: E402


def check(district, **kwargs):
    """Check a district against its standard's indicators; see
    :func:`planner.indicators.check`."""
    from planner.indicators.engine import check as _check
    return _check(district, **kwargs)


__all__ = ["DataError", "load_district", "check", "__version__"]
