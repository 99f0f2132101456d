"""Reading and writing: districts (:mod:`planner.io.load`), YAML a user wrote
(:mod:`planner.io.yamlsafe`), output files (:mod:`planner.io.export`), synthetic
districts (:mod:`planner.io.synth`)."""

from planner.io.load import DataError, load_district, save_district
from planner.io.yamlsafe import load_yaml

__all__ = ["DataError", "load_district", "load_yaml", "save_district"]
