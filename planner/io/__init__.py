"""Reading and writing: districts (:mod:`planner.io.load`), output files
(:mod:`planner.io.export`), synthetic districts (:mod:`planner.io.synth`)."""

from planner.io.load import DataError, load_district, save_district

__all__ = ["DataError", "load_district", "save_district"]
