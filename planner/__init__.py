"""Planning toolkit for county education bureaus (县域义务教育优质均衡发展).

``planner.load_district``, ``planner.check`` and ``planner.DataError`` are imported
on first use: importing ``planner`` (as the command line does first) loads only the
standard library, so the command line starts fast and catches Ctrl-C early.
"""

__version__ = "0.1.0"

__all__ = ["DataError", "load_district", "check", "__version__"]


def check(district, **kwargs):
    """Check a district against its standard's indicators; see
    :func:`planner.indicators.check`."""
    from planner.indicators.engine import check as _check
    return _check(district, **kwargs)


def __getattr__(name: str):
    if name in ("DataError", "load_district"):
        from planner.io import load
        return getattr(load, name)
    raise AttributeError(f"module 'planner' has no attribute {name!r}")
