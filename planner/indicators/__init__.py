"""The indicator engine (:mod:`planner.indicators.engine`)."""

from planner.indicators.engine import (STAGE_ZH, IndicatorResult, Report, Standard, check,
                                       facility_shares, load_standard, validate_b_scores,
                                       weighted_cv)

__all__ = ["check", "Report", "IndicatorResult", "load_standard", "Standard",
           "validate_b_scores", "weighted_cv", "facility_shares", "STAGE_ZH"]
