import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResultDetail(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESULT_DETAIL_UNSPECIFIED: _ClassVar[ResultDetail]
    RESULT_DETAIL_FULL: _ClassVar[ResultDetail]
    RESULT_DETAIL_STATISTICS: _ClassVar[ResultDetail]

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    UNDERTRAINED: _ClassVar[Outcome]
    GOOD: _ClassVar[Outcome]
    OVERTRAINED: _ClassVar[Outcome]
    DIVERGED: _ClassVar[Outcome]
RESULT_DETAIL_UNSPECIFIED: ResultDetail
RESULT_DETAIL_FULL: ResultDetail
RESULT_DETAIL_STATISTICS: ResultDetail
OUTCOME_UNSPECIFIED: Outcome
UNDERTRAINED: Outcome
GOOD: Outcome
OVERTRAINED: Outcome
DIVERGED: Outcome

class TrainingConfig(_message.Message):
    __slots__ = ("model", "resolution", "steps", "images", "batch_size", "grad_accum", "rank", "alpha", "optimizer", "scheduler", "warmup_fraction", "warmup_steps", "objective", "formula", "trainer", "num_cycles", "power", "min_lr_ratio", "decay_steps", "timescale", "step_rules", "start_factor", "end_factor", "network", "repeats")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    GRAD_ACCUM_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZER_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    WARMUP_FRACTION_FIELD_NUMBER: _ClassVar[int]
    WARMUP_STEPS_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    FORMULA_FIELD_NUMBER: _ClassVar[int]
    TRAINER_FIELD_NUMBER: _ClassVar[int]
    NUM_CYCLES_FIELD_NUMBER: _ClassVar[int]
    POWER_FIELD_NUMBER: _ClassVar[int]
    MIN_LR_RATIO_FIELD_NUMBER: _ClassVar[int]
    DECAY_STEPS_FIELD_NUMBER: _ClassVar[int]
    TIMESCALE_FIELD_NUMBER: _ClassVar[int]
    STEP_RULES_FIELD_NUMBER: _ClassVar[int]
    START_FACTOR_FIELD_NUMBER: _ClassVar[int]
    END_FACTOR_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    REPEATS_FIELD_NUMBER: _ClassVar[int]
    model: str
    resolution: int
    steps: int
    images: int
    batch_size: int
    grad_accum: int
    rank: int
    alpha: float
    optimizer: str
    scheduler: str
    warmup_fraction: float
    warmup_steps: int
    objective: str
    formula: str
    trainer: str
    num_cycles: float
    power: float
    min_lr_ratio: float
    decay_steps: int
    timescale: int
    step_rules: str
    start_factor: float
    end_factor: float
    network: str
    repeats: int
    def __init__(self, model: _Optional[str] = ..., resolution: _Optional[int] = ..., steps: _Optional[int] = ..., images: _Optional[int] = ..., batch_size: _Optional[int] = ..., grad_accum: _Optional[int] = ..., rank: _Optional[int] = ..., alpha: _Optional[float] = ..., optimizer: _Optional[str] = ..., scheduler: _Optional[str] = ..., warmup_fraction: _Optional[float] = ..., warmup_steps: _Optional[int] = ..., objective: _Optional[str] = ..., formula: _Optional[str] = ..., trainer: _Optional[str] = ..., num_cycles: _Optional[float] = ..., power: _Optional[float] = ..., min_lr_ratio: _Optional[float] = ..., decay_steps: _Optional[int] = ..., timescale: _Optional[int] = ..., step_rules: _Optional[str] = ..., start_factor: _Optional[float] = ..., end_factor: _Optional[float] = ..., network: _Optional[str] = ..., repeats: _Optional[int] = ...) -> None: ...

class CalculateRequest(_message.Message):
    __slots__ = ("config", "offset", "learning_rate", "run_log", "population_only")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    RUN_LOG_FIELD_NUMBER: _ClassVar[int]
    POPULATION_ONLY_FIELD_NUMBER: _ClassVar[int]
    config: TrainingConfig
    offset: float
    learning_rate: float
    run_log: str
    population_only: bool
    def __init__(self, config: _Optional[_Union[TrainingConfig, _Mapping]] = ..., offset: _Optional[float] = ..., learning_rate: _Optional[float] = ..., run_log: _Optional[str] = ..., population_only: _Optional[bool] = ...) -> None: ...

class Calculation(_message.Message):
    __slots__ = ("recommended_lr", "adjusted_lr", "offset", "target_energy", "delivered_energy", "energy_ratio", "deviation", "effective_batch", "exposure", "capacity", "resolution_scale", "scheduler_factor", "optimizer_modifier", "warmup_steps", "curvature_factor", "objective_sensitivity", "undershoot_k", "overshoot_k", "stability_score", "efficiency_score", "risk_band", "efficiency_band", "warnings", "evidence", "factors", "population_lr", "personal_factor", "personal_runs", "recommended_low", "recommended_high")
    RECOMMENDED_LR_FIELD_NUMBER: _ClassVar[int]
    ADJUSTED_LR_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    TARGET_ENERGY_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_ENERGY_FIELD_NUMBER: _ClassVar[int]
    ENERGY_RATIO_FIELD_NUMBER: _ClassVar[int]
    DEVIATION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_BATCH_FIELD_NUMBER: _ClassVar[int]
    EXPOSURE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_SCALE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_FACTOR_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZER_MODIFIER_FIELD_NUMBER: _ClassVar[int]
    WARMUP_STEPS_FIELD_NUMBER: _ClassVar[int]
    CURVATURE_FACTOR_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_SENSITIVITY_FIELD_NUMBER: _ClassVar[int]
    UNDERSHOOT_K_FIELD_NUMBER: _ClassVar[int]
    OVERSHOOT_K_FIELD_NUMBER: _ClassVar[int]
    STABILITY_SCORE_FIELD_NUMBER: _ClassVar[int]
    EFFICIENCY_SCORE_FIELD_NUMBER: _ClassVar[int]
    RISK_BAND_FIELD_NUMBER: _ClassVar[int]
    EFFICIENCY_BAND_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    FACTORS_FIELD_NUMBER: _ClassVar[int]
    POPULATION_LR_FIELD_NUMBER: _ClassVar[int]
    PERSONAL_FACTOR_FIELD_NUMBER: _ClassVar[int]
    PERSONAL_RUNS_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_LOW_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_HIGH_FIELD_NUMBER: _ClassVar[int]
    recommended_lr: float
    adjusted_lr: float
    offset: float
    target_energy: float
    delivered_energy: float
    energy_ratio: float
    deviation: float
    effective_batch: float
    exposure: float
    capacity: float
    resolution_scale: float
    scheduler_factor: float
    optimizer_modifier: float
    warmup_steps: int
    curvature_factor: float
    objective_sensitivity: float
    undershoot_k: float
    overshoot_k: float
    stability_score: float
    efficiency_score: float
    risk_band: str
    efficiency_band: str
    warnings: _containers.RepeatedScalarFieldContainer[str]
    evidence: Evidence
    factors: _containers.RepeatedCompositeFieldContainer[Factor]
    population_lr: float
    personal_factor: float
    personal_runs: int
    recommended_low: float
    recommended_high: float
    def __init__(self, recommended_lr: _Optional[float] = ..., adjusted_lr: _Optional[float] = ..., offset: _Optional[float] = ..., target_energy: _Optional[float] = ..., delivered_energy: _Optional[float] = ..., energy_ratio: _Optional[float] = ..., deviation: _Optional[float] = ..., effective_batch: _Optional[float] = ..., exposure: _Optional[float] = ..., capacity: _Optional[float] = ..., resolution_scale: _Optional[float] = ..., scheduler_factor: _Optional[float] = ..., optimizer_modifier: _Optional[float] = ..., warmup_steps: _Optional[int] = ..., curvature_factor: _Optional[float] = ..., objective_sensitivity: _Optional[float] = ..., undershoot_k: _Optional[float] = ..., overshoot_k: _Optional[float] = ..., stability_score: _Optional[float] = ..., efficiency_score: _Optional[float] = ..., risk_band: _Optional[str] = ..., efficiency_band: _Optional[str] = ..., warnings: _Optional[_Iterable[str]] = ..., evidence: _Optional[_Union[Evidence, _Mapping]] = ..., factors: _Optional[_Iterable[_Union[Factor, _Mapping]]] = ..., population_lr: _Optional[float] = ..., personal_factor: _Optional[float] = ..., personal_runs: _Optional[int] = ..., recommended_low: _Optional[float] = ..., recommended_high: _Optional[float] = ...) -> None: ...

class Evidence(_message.Message):
    __slots__ = ("family", "optimizer_family", "network", "count", "p10", "p25", "p50", "p75", "p90", "sources")
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZER_FAMILY_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    P10_FIELD_NUMBER: _ClassVar[int]
    P25_FIELD_NUMBER: _ClassVar[int]
    P50_FIELD_NUMBER: _ClassVar[int]
    P75_FIELD_NUMBER: _ClassVar[int]
    P90_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    family: str
    optimizer_family: str
    network: str
    count: int
    p10: float
    p25: float
    p50: float
    p75: float
    p90: float
    sources: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, family: _Optional[str] = ..., optimizer_family: _Optional[str] = ..., network: _Optional[str] = ..., count: _Optional[int] = ..., p10: _Optional[float] = ..., p25: _Optional[float] = ..., p50: _Optional[float] = ..., p75: _Optional[float] = ..., p90: _Optional[float] = ..., sources: _Optional[_Iterable[str]] = ...) -> None: ...

class Factor(_message.Message):
    __slots__ = ("name", "value", "multiplier", "explanation")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    multiplier: float
    explanation: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ..., multiplier: _Optional[float] = ..., explanation: _Optional[str] = ...) -> None: ...

class CalculateBatchRequest(_message.Message):
    __slots__ = ("requests", "detail")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[CalculateRequest]
    detail: ResultDetail
    def __init__(self, requests: _Optional[_Iterable[_Union[CalculateRequest, _Mapping]]] = ..., detail: _Optional[_Union[ResultDetail, str]] = ...) -> None: ...

class CalculateBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[Calculation]
    def __init__(self, results: _Optional[_Iterable[_Union[Calculation, _Mapping]]] = ...) -> None: ...

class GetCurvesRequest(_message.Message):
    __slots__ = ("config", "offset", "points", "run_log", "population_only")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    RUN_LOG_FIELD_NUMBER: _ClassVar[int]
    POPULATION_ONLY_FIELD_NUMBER: _ClassVar[int]
    config: TrainingConfig
    offset: float
    points: int
    run_log: str
    population_only: bool
    def __init__(self, config: _Optional[_Union[TrainingConfig, _Mapping]] = ..., offset: _Optional[float] = ..., points: _Optional[int] = ..., run_log: _Optional[str] = ..., population_only: _Optional[bool] = ...) -> None: ...

class Curves(_message.Message):
    __slots__ = ("steps", "multipliers", "offsets", "stability", "efficiency", "calculation")
    STEPS_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIERS_FIELD_NUMBER: _ClassVar[int]
    OFFSETS_FIELD_NUMBER: _ClassVar[int]
    STABILITY_FIELD_NUMBER: _ClassVar[int]
    EFFICIENCY_FIELD_NUMBER: _ClassVar[int]
    CALCULATION_FIELD_NUMBER: _ClassVar[int]
    steps: _containers.RepeatedScalarFieldContainer[int]
    multipliers: _containers.RepeatedScalarFieldContainer[float]
    offsets: _containers.RepeatedScalarFieldContainer[float]
    stability: _containers.RepeatedScalarFieldContainer[float]
    efficiency: _containers.RepeatedScalarFieldContainer[float]
    calculation: Calculation
    def __init__(self, steps: _Optional[_Iterable[int]] = ..., multipliers: _Optional[_Iterable[float]] = ..., offsets: _Optional[_Iterable[float]] = ..., stability: _Optional[_Iterable[float]] = ..., efficiency: _Optional[_Iterable[float]] = ..., calculation: _Optional[_Union[Calculation, _Mapping]] = ...) -> None: ...

class GetCatalogRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Catalog(_message.Message):
    __slots__ = ("models", "architectures", "optimizers", "objectives", "trainers", "formula_sets", "input_ranges", "field_help", "default_formula", "default_trainer", "bands", "networks", "default_network", "model_name_qualifiers")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURES_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZERS_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVES_FIELD_NUMBER: _ClassVar[int]
    TRAINERS_FIELD_NUMBER: _ClassVar[int]
    FORMULA_SETS_FIELD_NUMBER: _ClassVar[int]
    INPUT_RANGES_FIELD_NUMBER: _ClassVar[int]
    FIELD_HELP_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FORMULA_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TRAINER_FIELD_NUMBER: _ClassVar[int]
    BANDS_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_NETWORK_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_QUALIFIERS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    architectures: _containers.RepeatedCompositeFieldContainer[ArchitectureInfo]
    optimizers: _containers.RepeatedCompositeFieldContainer[OptimizerInfo]
    objectives: _containers.RepeatedCompositeFieldContainer[ObjectiveInfo]
    trainers: _containers.RepeatedCompositeFieldContainer[TrainerInfo]
    formula_sets: _containers.RepeatedCompositeFieldContainer[FormulaSetInfo]
    input_ranges: _containers.RepeatedCompositeFieldContainer[InputRange]
    field_help: _containers.RepeatedCompositeFieldContainer[FieldHelp]
    default_formula: str
    default_trainer: str
    bands: Bands
    networks: _containers.RepeatedCompositeFieldContainer[NetworkInfo]
    default_network: str
    model_name_qualifiers: str
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., architectures: _Optional[_Iterable[_Union[ArchitectureInfo, _Mapping]]] = ..., optimizers: _Optional[_Iterable[_Union[OptimizerInfo, _Mapping]]] = ..., objectives: _Optional[_Iterable[_Union[ObjectiveInfo, _Mapping]]] = ..., trainers: _Optional[_Iterable[_Union[TrainerInfo, _Mapping]]] = ..., formula_sets: _Optional[_Iterable[_Union[FormulaSetInfo, _Mapping]]] = ..., input_ranges: _Optional[_Iterable[_Union[InputRange, _Mapping]]] = ..., field_help: _Optional[_Iterable[_Union[FieldHelp, _Mapping]]] = ..., default_formula: _Optional[str] = ..., default_trainer: _Optional[str] = ..., bands: _Optional[_Union[Bands, _Mapping]] = ..., networks: _Optional[_Iterable[_Union[NetworkInfo, _Mapping]]] = ..., default_network: _Optional[str] = ..., model_name_qualifiers: _Optional[str] = ...) -> None: ...

class NetworkInfo(_message.Message):
    __slots__ = ("id", "display_name", "aliases", "description")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    description: str
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("id", "display_name", "aliases", "native_resolution", "base_energy", "arch", "fragility", "resolution_exponent", "family")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    NATIVE_RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    BASE_ENERGY_FIELD_NUMBER: _ClassVar[int]
    ARCH_FIELD_NUMBER: _ClassVar[int]
    FRAGILITY_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_EXPONENT_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    native_resolution: int
    base_energy: float
    arch: str
    fragility: float
    resolution_exponent: float
    family: str
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., native_resolution: _Optional[int] = ..., base_energy: _Optional[float] = ..., arch: _Optional[str] = ..., fragility: _Optional[float] = ..., resolution_exponent: _Optional[float] = ..., family: _Optional[str] = ...) -> None: ...

class ArchitectureInfo(_message.Message):
    __slots__ = ("id", "display_name", "fragility", "resolution_exponent")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    FRAGILITY_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_EXPONENT_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    fragility: float
    resolution_exponent: float
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., fragility: _Optional[float] = ..., resolution_exponent: _Optional[float] = ...) -> None: ...

class OptimizerInfo(_message.Message):
    __slots__ = ("id", "display_name", "aliases", "modifier", "family")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    MODIFIER_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    modifier: float
    family: str
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., modifier: _Optional[float] = ..., family: _Optional[str] = ...) -> None: ...

class ObjectiveInfo(_message.Message):
    __slots__ = ("id", "display_name", "aliases", "energy_modifier", "overshoot_sensitivity")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    ENERGY_MODIFIER_FIELD_NUMBER: _ClassVar[int]
    OVERSHOOT_SENSITIVITY_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    energy_modifier: float
    overshoot_sensitivity: float
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., energy_modifier: _Optional[float] = ..., overshoot_sensitivity: _Optional[float] = ...) -> None: ...

class ScheduleParameterInfo(_message.Message):
    __slots__ = ("name", "description", "required", "default_value", "default_text", "accepted")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TEXT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    required: bool
    default_value: float
    default_text: str
    accepted: InputRange
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., required: _Optional[bool] = ..., default_value: _Optional[float] = ..., default_text: _Optional[str] = ..., accepted: _Optional[_Union[InputRange, _Mapping]] = ...) -> None: ...

class ScheduleInfo(_message.Message):
    __slots__ = ("id", "display_name", "aliases", "description", "parameters", "takes_warmup")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    TAKES_WARMUP_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    description: str
    parameters: _containers.RepeatedCompositeFieldContainer[ScheduleParameterInfo]
    takes_warmup: bool
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[ScheduleParameterInfo, _Mapping]]] = ..., takes_warmup: _Optional[bool] = ...) -> None: ...

class RefusedScheduleInfo(_message.Message):
    __slots__ = ("id", "display_name", "aliases", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ...) -> None: ...

class TrainerInfo(_message.Message):
    __slots__ = ("id", "display_name", "aliases", "description", "schedules", "refused_schedules")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    REFUSED_SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    description: str
    schedules: _containers.RepeatedCompositeFieldContainer[ScheduleInfo]
    refused_schedules: _containers.RepeatedCompositeFieldContainer[RefusedScheduleInfo]
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., schedules: _Optional[_Iterable[_Union[ScheduleInfo, _Mapping]]] = ..., refused_schedules: _Optional[_Iterable[_Union[RefusedScheduleInfo, _Mapping]]] = ...) -> None: ...

class FormulaSetInfo(_message.Message):
    __slots__ = ("id", "display_name", "aliases", "description", "uses_trainer", "schedules")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    USES_TRAINER_FIELD_NUMBER: _ClassVar[int]
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    description: str
    uses_trainer: bool
    schedules: _containers.RepeatedCompositeFieldContainer[ScheduleInfo]
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., uses_trainer: _Optional[bool] = ..., schedules: _Optional[_Iterable[_Union[ScheduleInfo, _Mapping]]] = ...) -> None: ...

class InputRange(_message.Message):
    __slots__ = ("field", "kind", "minimum", "maximum", "minimum_exclusive", "maximum_exclusive", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_EXCLUSIVE_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_EXCLUSIVE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    kind: str
    minimum: float
    maximum: float
    minimum_exclusive: bool
    maximum_exclusive: bool
    description: str
    def __init__(self, field: _Optional[str] = ..., kind: _Optional[str] = ..., minimum: _Optional[float] = ..., maximum: _Optional[float] = ..., minimum_exclusive: _Optional[bool] = ..., maximum_exclusive: _Optional[bool] = ..., description: _Optional[str] = ...) -> None: ...

class FieldHelp(_message.Message):
    __slots__ = ("field", "help")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    HELP_FIELD_NUMBER: _ClassVar[int]
    field: str
    help: str
    def __init__(self, field: _Optional[str] = ..., help: _Optional[str] = ...) -> None: ...

class Bands(_message.Message):
    __slots__ = ("stability_safe", "stability_caution", "efficiency_optimal", "efficiency_suboptimal")
    STABILITY_SAFE_FIELD_NUMBER: _ClassVar[int]
    STABILITY_CAUTION_FIELD_NUMBER: _ClassVar[int]
    EFFICIENCY_OPTIMAL_FIELD_NUMBER: _ClassVar[int]
    EFFICIENCY_SUBOPTIMAL_FIELD_NUMBER: _ClassVar[int]
    stability_safe: float
    stability_caution: float
    efficiency_optimal: float
    efficiency_suboptimal: float
    def __init__(self, stability_safe: _Optional[float] = ..., stability_caution: _Optional[float] = ..., efficiency_optimal: _Optional[float] = ..., efficiency_suboptimal: _Optional[float] = ...) -> None: ...

class Profile(_message.Message):
    __slots__ = ("name", "config", "offset", "statistics", "notes", "version", "created_at", "updated_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    STATISTICS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    config: TrainingConfig
    offset: float
    statistics: Calculation
    notes: str
    version: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., config: _Optional[_Union[TrainingConfig, _Mapping]] = ..., offset: _Optional[float] = ..., statistics: _Optional[_Union[Calculation, _Mapping]] = ..., notes: _Optional[str] = ..., version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SaveProfileRequest(_message.Message):
    __slots__ = ("profile", "expected_version")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    profile: Profile
    expected_version: int
    def __init__(self, profile: _Optional[_Union[Profile, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class GetProfileRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListProfilesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ProfileSummary(_message.Message):
    __slots__ = ("name", "version", "updated_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListProfilesResponse(_message.Message):
    __slots__ = ("profiles", "next_page_token", "default_profile")
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_PROFILE_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[ProfileSummary]
    next_page_token: str
    default_profile: str
    def __init__(self, profiles: _Optional[_Iterable[_Union[ProfileSummary, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., default_profile: _Optional[str] = ...) -> None: ...

class DeleteProfileRequest(_message.Message):
    __slots__ = ("name", "expected_version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    expected_version: int
    def __init__(self, name: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class DeleteProfileResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetDefaultProfileRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class SetDefaultProfileResponse(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ExportProfileRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ExportProfileResponse(_message.Message):
    __slots__ = ("content", "filename")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    filename: str
    def __init__(self, content: _Optional[bytes] = ..., filename: _Optional[str] = ...) -> None: ...

class ImportProfileRequest(_message.Message):
    __slots__ = ("content", "name", "expected_version")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    name: str
    expected_version: int
    def __init__(self, content: _Optional[bytes] = ..., name: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ImportTrainerConfigRequest(_message.Message):
    __slots__ = ("content", "filename", "format", "dataset_content", "dataset_filename", "overrides")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    DATASET_CONTENT_FIELD_NUMBER: _ClassVar[int]
    DATASET_FILENAME_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    filename: str
    format: str
    dataset_content: bytes
    dataset_filename: str
    overrides: TrainingConfig
    def __init__(self, content: _Optional[bytes] = ..., filename: _Optional[str] = ..., format: _Optional[str] = ..., dataset_content: _Optional[bytes] = ..., dataset_filename: _Optional[str] = ..., overrides: _Optional[_Union[TrainingConfig, _Mapping]] = ...) -> None: ...

class FoundLearningRate(_message.Message):
    __slots__ = ("key", "value", "trained_value", "evaluation")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TRAINED_VALUE_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: float
    trained_value: float
    evaluation: Calculation
    def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ..., trained_value: _Optional[float] = ..., evaluation: _Optional[_Union[Calculation, _Mapping]] = ...) -> None: ...

class ImportTrainerConfigResponse(_message.Message):
    __slots__ = ("format", "config", "learning_rates", "missing_fields", "warnings", "recommendation", "learning_rate_scale")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATES_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELDS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATION_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_SCALE_FIELD_NUMBER: _ClassVar[int]
    format: str
    config: TrainingConfig
    learning_rates: _containers.RepeatedCompositeFieldContainer[FoundLearningRate]
    missing_fields: _containers.RepeatedScalarFieldContainer[str]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    recommendation: Calculation
    learning_rate_scale: float
    def __init__(self, format: _Optional[str] = ..., config: _Optional[_Union[TrainingConfig, _Mapping]] = ..., learning_rates: _Optional[_Iterable[_Union[FoundLearningRate, _Mapping]]] = ..., missing_fields: _Optional[_Iterable[str]] = ..., warnings: _Optional[_Iterable[str]] = ..., recommendation: _Optional[_Union[Calculation, _Mapping]] = ..., learning_rate_scale: _Optional[float] = ...) -> None: ...

class ExportTrainerConfigRequest(_message.Message):
    __slots__ = ("content", "filename", "format", "learning_rate")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    filename: str
    format: str
    learning_rate: float
    def __init__(self, content: _Optional[bytes] = ..., filename: _Optional[str] = ..., format: _Optional[str] = ..., learning_rate: _Optional[float] = ...) -> None: ...

class ExportTrainerConfigResponse(_message.Message):
    __slots__ = ("content", "filename")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    filename: str
    def __init__(self, content: _Optional[bytes] = ..., filename: _Optional[str] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ("id", "log", "config", "learning_rate", "outcome", "best_step", "notes", "loss", "recorded_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    BEST_STEP_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    log: str
    config: TrainingConfig
    learning_rate: float
    outcome: Outcome
    best_step: int
    notes: str
    loss: _containers.RepeatedScalarFieldContainer[float]
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., log: _Optional[str] = ..., config: _Optional[_Union[TrainingConfig, _Mapping]] = ..., learning_rate: _Optional[float] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., best_step: _Optional[int] = ..., notes: _Optional[str] = ..., loss: _Optional[_Iterable[float]] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordRunRequest(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: Run
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ("log", "model", "page_size", "page_token")
    LOG_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    log: str
    model: str
    page_size: int
    page_token: str
    def __init__(self, log: _Optional[str] = ..., model: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs", "next_page_token")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[Run]
    next_page_token: str
    def __init__(self, runs: _Optional[_Iterable[_Union[Run, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateRunRequest(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: Run
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ...) -> None: ...

class DeleteRunRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteRunResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ImportRunsRequest(_message.Message):
    __slots__ = ("log", "content", "filename", "base")
    LOG_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    log: str
    content: bytes
    filename: str
    base: TrainingConfig
    def __init__(self, log: _Optional[str] = ..., content: _Optional[bytes] = ..., filename: _Optional[str] = ..., base: _Optional[_Union[TrainingConfig, _Mapping]] = ...) -> None: ...

class ImportRunsResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[Run]
    def __init__(self, runs: _Optional[_Iterable[_Union[Run, _Mapping]]] = ...) -> None: ...

class ExportRunsRequest(_message.Message):
    __slots__ = ("log",)
    LOG_FIELD_NUMBER: _ClassVar[int]
    log: str
    def __init__(self, log: _Optional[str] = ...) -> None: ...

class ExportRunsResponse(_message.Message):
    __slots__ = ("content", "filename")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    filename: str
    def __init__(self, content: _Optional[bytes] = ..., filename: _Optional[str] = ...) -> None: ...
