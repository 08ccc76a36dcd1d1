"""The LRTool engine: pure computation of the learning-rate model (docs/model.md).

No I/O and no networking: the gRPC service maps its messages onto these
functions and types. Everything public is re-exported here.
"""

from . import _catalog as catalog
from ._calculate import (
    CalculateRequest,
    Calculation,
    Personalization,
    ScheduleCurve,
    ScoreCurve,
    calculate,
    calculate_batch,
    check_adjustment,
    efficiency_band,
    evaluate,
    risk_band,
    schedule_curve,
    score_curve,
    sweep,
)
from ._calibrated import Evidence, Factor
from ._cancel import stop_when
from ._columns import calculate_rows
from ._config import TrainingConfig
from ._exceptions import Cancelled, ConfigError, FieldViolation, LRToolError
from ._personal import LoggedRun, Outcome, check_run, model_family, personalize
from ._results import BatchResults

__all__ = [
    "BatchResults",
    "CalculateRequest",
    "Calculation",
    "Cancelled",
    "ConfigError",
    "Evidence",
    "Factor",
    "FieldViolation",
    "LRToolError",
    "LoggedRun",
    "Outcome",
    "Personalization",
    "ScheduleCurve",
    "ScoreCurve",
    "TrainingConfig",
    "calculate",
    "calculate_batch",
    "calculate_rows",
    "catalog",
    "check_adjustment",
    "check_run",
    "efficiency_band",
    "evaluate",
    "model_family",
    "personalize",
    "risk_band",
    "schedule_curve",
    "score_curve",
    "stop_when",
    "sweep",
]
