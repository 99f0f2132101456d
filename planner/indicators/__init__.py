"""The indicator engine (:mod:`planner.indicators.engine`)."""

from planner.indicators.engine import (
                                       IndicatorResult,
                                       Report,
                                       Standard,
                                       check,
                                       facility_shares,
                                       load_standard,
                                       plain,
                                       stats,
                                       validate_b_scores,
                                       weighted_cv,
)

__all__ = ["check", "Report", "IndicatorResult", "load_standard", "Standard",
           "validate_b_scores", "weighted_cv", "facility_shares", "plain", "stats"]
