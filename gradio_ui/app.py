"""The LRTool desk in the browser: a Gradio app talking to the engine through LRToolClient.

    demo.launch()                # against LRTOOL_ENGINE (default 127.0.0.1:50051)
    lrtool ui --engine HOST:PORT # the same from the shell
    lrtool up                    # engine and UI together

Every choice (models, optimizers, schedules and their parameters, ranges, help
text, score bands) comes from the engine's GetCatalog when the page loads.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from engine_server import fields, presenting
from engine_server._generated.lrtool.v1 import engine_pb2 as pb
from engine_server.client import (
    EngineUnavailable,
    InvalidArgument,
    LRToolClient,
    LRToolClientError,
    ProfileAlreadyExists,
    ProfileNotFound,
    calculate_request,
    default_engine_address,
)

from . import _views as views
from .access import Credentials, check_ui_exposure

# --- Engine connection -----------------------------------------------------------


class _Engine:
    """One client per engine address (gRPC channels are thread-safe and reconnect by themselves)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._address = default_engine_address()
        self._security: dict[str, Any] = {}
        self._client: LRToolClient | None = None
        self._catalog: pb.Catalog | None = None

    def configure(self, address: str, token: str | None = None, ca_file: str | None = None) -> None:
        """Use this engine from now on; token and CA file default to LRTOOL_TOKEN(_FILE) and LRTOOL_CA_FILE."""
        with self._lock:
            if self._client is not None:
                self._client.close()
            self._address, self._client, self._catalog = address, None, None
            self._security = {key: value for key, value in (("token", token), ("ca_file", ca_file)) if value}

    @property
    def address(self) -> str:
        return self._address

    @property
    def client(self) -> LRToolClient:
        with self._lock:
            if self._client is None:
                self._client = LRToolClient(self._address, timeout=5.0, **self._security)
            return self._client

    def catalog(self, refresh: bool = False) -> pb.Catalog:
        if refresh or self._catalog is None:
            self._catalog = self.client.get_catalog()
        return self._catalog


ENGINE = _Engine()


def configure(engine_address: str, token: str | None = None, ca_file: str | None = None) -> None:
    """Point the UI at an engine (before or after launch)."""
    ENGINE.configure(engine_address, token, ca_file)


# --- The configuration form ---------------------------------------------------------

#: The form's warmup is one number and how it is given (a share of the steps, or steps).
WARMUP_PERCENT = "% of steps"
WARMUP_STEPS = "steps"
WARMUP_MODE = fields.Field(
    "warmup_mode", "Warmup given as", "choice", "A share of the steps, or a number of steps.", WARMUP_PERCENT
)
WARMUP_VALUE = fields.Field(
    "warmup_value",
    "Warmup",
    "float",
    "Warmup in the unit chosen beside it.",
    100.0 * fields.BY_NAME["warmup_fraction"].default,
)
#: Form fields in handler order: (field, kind); the field table's, with warmup as the form gives it.
FORM_FIELDS: tuple[tuple[str, str], ...] = tuple(
    (field.name, field.kind) for field in (*fields.PLAIN_FIELDS, WARMUP_MODE, WARMUP_VALUE)
)
PARAMETER_FIELDS: tuple[tuple[str, str], ...] = tuple((field.name, field.kind) for field in fields.SCHEDULE_PARAMETERS)
ALL_FIELDS = FORM_FIELDS + PARAMETER_FIELDS

#: Starting values of a fresh page (a common SDXL character LoRA); names are looked up in the catalog.
STARTING_VALUES: dict[str, Any] = {
    **{name: value for name, value in fields.STARTING_VALUES.items() if name not in fields.WARMUP_FIELDS},
    WARMUP_MODE.name: WARMUP_MODE.default,
    WARMUP_VALUE.name: WARMUP_VALUE.default,
}


def config_from_form(values: Sequence[Any]) -> dict[str, Any]:
    """The TrainingConfig fields of the form's values (schedule parameters only where the schedule takes them)."""
    form = dict(zip((name for name, _ in ALL_FIELDS), values, strict=True))
    config: dict[str, Any] = {}
    for field in fields.PLAIN_FIELDS:
        value = form[field.name]
        if value is not None and value != "":
            config[field.name] = fields.typed(field, value)
    warmup = form[WARMUP_VALUE.name]
    if warmup not in (None, ""):
        if form[WARMUP_MODE.name] == WARMUP_STEPS:
            config["warmup_steps"] = fields.typed(fields.BY_NAME["warmup_steps"], warmup)
        else:
            config["warmup_fraction"] = float(warmup) / 100.0
    schedule = fields.schedule(ENGINE.catalog(), form["formula"], form["trainer"], form["scheduler"])
    taken = fields.taken_parameters(schedule)
    for field in fields.SCHEDULE_PARAMETERS:
        value = form[field.name]
        if field.name in taken and value not in (None, ""):
            config[field.name] = fields.typed(field, value)
    return config


class Page:
    """The page's components by name (form fields by their field name): handlers take `{component: value}`
    and return `{component: update}`, and look components up here by name."""

    def __init__(self) -> None:
        self._components: dict[str, Any] = {}

    def clear(self) -> None:
        self._components.clear()

    def add(self, name: str, component: Any) -> Any:
        self._components[name] = component
        return component

    def __getitem__(self, name: str) -> Any:
        return self._components[name]

    def name_of(self, component: Any) -> str:
        return next(name for name, known in self._components.items() if known is component)

    def named(self, given: Mapping[Any, Any]) -> dict[str, Any]:
        """The given values by component name."""
        return {name: given[component] for name, component in self._components.items() if component in given}

    def form(self, given: Mapping[Any, Any]) -> list[Any]:
        """The form's values in ALL_FIELDS order."""
        return [given[self[name]] for name, _ in ALL_FIELDS]

    def run_log(self, given: Mapping[Any, Any]) -> str:
        """The run log the page learns from ("" = the default log)."""
        return str(given.get(self["run_log"]) or "").strip()

    def updates(self, by_name: Mapping[str, Any]) -> dict[Any, Any]:
        return {self[name]: value for name, value in by_name.items()}

    def inputs(self, *names: str) -> set[Any]:
        return {self[name] for name in names}

    @property
    def form_components(self) -> set[Any]:
        return {self[name] for name, _ in ALL_FIELDS}


#: The one page of the module-level `demo`.
PAGE = Page()


def form_from_config(config: pb.TrainingConfig) -> list[Any]:
    """Form values showing a stored configuration."""
    values: dict[str, Any] = {name: getattr(config, name) for name, _ in FORM_FIELDS if hasattr(config, name)}
    values["formula"] = config.formula or ENGINE.catalog().default_formula
    values["network"] = config.network or ENGINE.catalog().default_network
    values["repeats"] = config.repeats if config.HasField("repeats") else 1
    values["trainer"] = config.trainer or ENGINE.catalog().default_trainer
    warmup = config.WhichOneof("warmup")
    if warmup == "warmup_steps":
        values["warmup_mode"], values["warmup_value"] = WARMUP_STEPS, float(config.warmup_steps)
    else:
        values["warmup_mode"] = WARMUP_PERCENT
        values["warmup_value"] = round(100.0 * config.warmup_fraction, 6) if warmup else 0.0
    for name, _ in PARAMETER_FIELDS:
        values[name] = getattr(config, name) if config.HasField(name) else None
    return [values.get(name) for name, _ in ALL_FIELDS]


# --- Handlers (plain functions; each returns what its outputs show) -------------------


def _banner_hidden() -> Any:
    return gr.update(visible=False, value="")


def _banner_for(error: EngineUnavailable) -> Any:
    return gr.update(visible=True, value=views.engine_banner(ENGINE.address, error.message.split(";")[0]))


def _card(calculation: pb.Calculation, config: dict[str, Any]) -> str:
    """The result card, with what the form's names resolved to."""
    return views.result_card(calculation) + views.resolved_line(presenting.resolved_text(config, ENGINE.catalog()))


def results(offset_percent: float, form: Sequence[Any], run_log: str, my_rate: float | None = None) -> dict[str, Any]:
    """The results by name: rates, scores, warnings, statistics and both plots (learning from the run log).
    With `my_rate`, the card, the marker and the statistics are those of that rate instead of the offset's."""
    try:
        config = config_from_form(form)
        offset = 0.0 if my_rate else offset_percent / 100.0
        curves = ENGINE.client.get_curves(config, offset=offset, points=201, run_log=run_log)
        calculation = curves.calculation
        if my_rate:
            calculation = ENGINE.client.calculate(config, learning_rate=float(my_rate), run_log=run_log)
    except EngineUnavailable as error:
        return {"banner": _banner_for(error)}
    except InvalidArgument as error:
        cleared = dict.fromkeys(RESULT_FIELDS, "") | {"score_plot": None, "schedule_plot": None}
        return cleared | {"card": views.problems(error.violations, error.message), "banner": _banner_hidden()}
    return {
        "card": _card(calculation, config),
        "warnings": views.warnings_list(calculation.warnings),
        "statistics": views.statistics_table(calculation),
        "score_plot": views.score_frame(curves, calculation.offset),
        "schedule_plot": views.schedule_frame(curves, calculation.adjusted_lr),
        "evidence": views.evidence_chart(calculation),
        "reasons": views.reasons_table(calculation),
        "banner": _banner_hidden(),
    }


def recalculate(given: dict[Any, Any]) -> dict[Any, Any]:
    """Everything at once, for the form, offset (or My learning rate, when typed) and run log given."""
    return PAGE.updates(
        results(given[PAGE["offset"]], PAGE.form(given), PAGE.run_log(given), given.get(PAGE["my_rate"]))
    )


def move_offset(given: dict[Any, Any]) -> dict[Any, Any]:
    """The slider's fast path: one Calculate, numbers only (plots follow on release, which empties My learning
    rate: the slider sets the rate again)."""
    try:
        config = config_from_form(PAGE.form(given))
        calculation = ENGINE.client.calculate(config, offset=given[PAGE["offset"]] / 100.0, run_log=PAGE.run_log(given))
    except EngineUnavailable as error:
        return {PAGE["banner"]: _banner_for(error)}
    except InvalidArgument as error:
        shown = {"card": views.problems(error.violations, error.message), "statistics": "", "evidence": ""}
        return PAGE.updates(shown | {"banner": _banner_hidden()})
    return PAGE.updates(
        {
            "card": _card(calculation, config),
            "statistics": views.statistics_table(calculation),
            "evidence": views.evidence_chart(calculation),
            "banner": _banner_hidden(),
        }
    )


def evaluate_rate(given: dict[Any, Any]) -> dict[Any, Any]:
    """Score a learning rate the user already has in mind."""
    learning_rate = given[PAGE["my_rate"]]
    evaluation = PAGE["evaluation"]
    if learning_rate is None:
        return {evaluation: views.notice("Type a learning rate to score, e.g. 1e-4.", "info")}
    try:
        calculation = ENGINE.client.calculate(
            config_from_form(PAGE.form(given)), learning_rate=float(learning_rate), run_log=PAGE.run_log(given)
        )
    except EngineUnavailable as error:
        return {evaluation: views.notice(error.message, "error")}
    except InvalidArgument as error:
        return {evaluation: views.problems(error.violations, error.message)}
    return {evaluation: views.result_card(calculation, evaluated=True) + views.warnings_list(calculation.warnings)}


def choose_formula_or_trainer(given: dict[Any, Any]) -> dict[Any, Any]:
    """Schedules of the chosen formula set / trainer; the trainer only matters for 'energy'."""
    formula, trainer, scheduler = (given[PAGE[name]] for name in ("formula", "trainer", "scheduler"))
    catalog = ENGINE.catalog()
    schedules = fields.choices(catalog, "scheduler", formula, trainer)
    ids = [schedule_id for _, schedule_id in schedules]
    chosen = scheduler if scheduler in ids else (ids[0] if ids else None)
    uses_trainer = next((f.uses_trainer for f in catalog.formula_sets if f.id == formula), True)
    return {
        PAGE["scheduler"]: gr.update(choices=schedules, value=chosen),
        PAGE["trainer"]: gr.update(interactive=uses_trainer),
        **parameter_updates(formula, trainer, chosen or ""),
    }


def show_parameters(given: dict[Any, Any]) -> dict[Any, Any]:
    """Only the parameters the chosen schedule takes are shown, with their defaults and help."""
    return parameter_updates(*(given[PAGE[name]] for name in ("formula", "trainer", "scheduler")))


def parameter_updates(formula: str, trainer: str, scheduler: str) -> dict[Any, Any]:
    schedule = fields.schedule(ENGINE.catalog(), formula, trainer, scheduler)
    uses = fields.taken_parameters(schedule)
    updates: dict[Any, Any] = {}
    for name, _ in PARAMETER_FIELDS:
        parameter = uses.get(name)
        if parameter is None:
            updates[PAGE[name]] = gr.update(visible=False)
        else:
            updates[PAGE[name]] = gr.update(visible=True, info=f"{parameter.description} ({parameter.default_text})")
    takes_warmup = schedule.takes_warmup if schedule else True
    # A schedule without warmup (e.g. constant) gets 0; otherwise the user's warmup stays.
    warmup = gr.update(interactive=True) if takes_warmup else gr.update(interactive=False, value=0.0)
    updates[PAGE[WARMUP_VALUE.name]] = warmup
    return updates


#: Outputs of the schedule parameters' visibility (and the warmup a schedule may not take).
PARAMETER_OUTPUTS = (*(name for name, _ in PARAMETER_FIELDS), WARMUP_VALUE.name)


# --- Trainer config files -----------------------------------------------------------------


#: Characters a downloaded file's name keeps; any other becomes "_".
_UNSAFE_IN_FILE_NAMES = re.compile(r"[^0-9A-Za-z._ +-]+")
#: Put before a written trainer config's extension ("config.toml" → "config.lrtool.toml"), as the README's CLI does.
WRITTEN_SUFFIX = ".lrtool"
#: Bytes of a file name most file systems accept.
_MAX_FILE_NAME_BYTES = 255


def download_path(filename: str, fallback: str) -> Path:
    """A new file in a new temporary directory for the browser to download, named like `filename`.

    The name comes from the engine or an upload: it is reduced to its last part and plain characters,
    so that it can never lead outside the directory ("../../x", "/etc/x", "C:\\x", "..").
    """
    name = _UNSAFE_IN_FILE_NAMES.sub("_", re.split(r"[/\\]", filename)[-1]).lstrip(". ")
    name = name.encode("utf-8")[:_MAX_FILE_NAME_BYTES].decode("utf-8", "ignore") or fallback
    return Path(tempfile.mkdtemp(prefix="lrtool-")) / name


def written_name(filename: str) -> str:
    """The name a written trainer config downloads under: never the original's, so saving it keeps the original."""
    path = Path(re.split(r"[/\\]", filename)[-1])
    return f"{path.stem}{WRITTEN_SUFFIX}{path.suffix}"


def _upload_bytes(upload: Any) -> tuple[bytes, str]:
    path = Path(upload if isinstance(upload, str) else upload.name)
    return path.read_bytes(), path.name


def _import_file(loaded: dict[str, Any], overrides: dict[str, int] | None = None) -> pb.ImportTrainerConfigResponse:
    """The engine's reading of a loaded trainer config; `overrides` (images, repeats) fill what it cannot say."""
    return ENGINE.client.import_trainer_config(
        loaded["content"],
        loaded["filename"],
        dataset_content=loaded["dataset_content"],
        dataset_filename=loaded["dataset_filename"],
        overrides=overrides or None,
    )


def import_config(given: dict[Any, Any]) -> dict[Any, Any]:
    """Fill the form from a trainer config alone: what it cannot say (images, objective) is emptied and listed
    as missing, as the CLI lists it; no value left on the form stands in for it."""
    upload, dataset = given[PAGE["trainer_file"]], given.get(PAGE["dataset_file"])
    status = PAGE["trainer_status"]
    if upload is None:
        return {status: views.notice("Choose a trainer config file first.", "info"), PAGE["trainer_loaded"]: None}
    content, filename = _upload_bytes(upload)
    dataset_content, dataset_name = _upload_bytes(dataset) if dataset is not None else (b"", "")
    loaded: dict[str, Any] = {
        "content": content,
        "filename": filename,
        "dataset_content": dataset_content,
        "dataset_filename": dataset_name,
    }
    try:
        result = _import_file(loaded)
    except InvalidArgument as error:
        return {status: views.problems(error.violations, error.message), PAGE["trainer_loaded"]: None}
    except LRToolClientError as error:
        return {status: views.notice(error.message, "error"), PAGE["trainer_loaded"]: None}
    config = result.config
    values = dict(zip((name for name, _ in ALL_FIELDS), form_from_config(config), strict=True))
    present = {field.name for field, _ in config.ListFields()}
    if "warmup_fraction" in present or "warmup_steps" in present:
        present |= {WARMUP_MODE.name, WARMUP_VALUE.name}
    missing = set(result.missing_fields)
    # Fields the file sets take its values; those it cannot say are emptied; the rest keep the form's.
    shown = {name: value for name, value in values.items() if name in present} | dict.fromkeys(missing & set(values))
    # Steps the trainer counts from epochs are missing until the images (and repeats) are known: they follow them.
    follow = "steps" in missing and bool({"images", "repeats"} & missing)
    loaded |= {"format": result.format, "steps_follow_images": follow}
    if config.HasField("repeats"):
        loaded["repeats"] = config.repeats  # the file's: left to the file, it counts the steps exactly
    updates = PAGE.updates(shown) | {
        status: views.trainer_config_report(filename, result),
        PAGE["trainer_loaded"]: loaded,
    }
    if result.learning_rates and result.learning_rates[0].trained_value:
        updates[PAGE["my_rate"]] = result.learning_rates[0].trained_value
    return updates


def count_steps(given: dict[Any, Any]) -> dict[Any, Any]:
    """The steps of an imported config that counts them from epochs, for the images and repeats now on the form."""
    loaded, images, repeats = given[PAGE["trainer_loaded"]], given[PAGE["images"]], given[PAGE["repeats"]]
    # An empty dict would read as one output value to Gradio, so "no change" is an update that changes nothing.
    unchanged = {PAGE["steps"]: gr.update()}
    if not loaded or not loaded.get("steps_follow_images") or not images:
        return unchanged
    overrides = {"images": int(images)}
    if repeats and int(repeats) != loaded.get("repeats"):  # the file's own repeats may be a rounded mean
        overrides["repeats"] = int(repeats)
    try:
        result = _import_file(loaded, overrides)
    except LRToolClientError:  # the recalculation that follows names the field and its range
        return unchanged
    return {PAGE["steps"]: result.config.steps} if result.config.HasField("steps") else unchanged


def typed_steps(given: dict[Any, Any]) -> dict[Any, Any]:
    """Steps typed by hand no longer follow the image count."""
    loaded = given[PAGE["trainer_loaded"]]
    return {PAGE["trainer_loaded"]: {**loaded, "steps_follow_images": False} if loaded else loaded}


def export_config(given: dict[Any, Any]) -> dict[Any, Any]:
    """The imported file with the adjusted learning rate written into it."""
    loaded = given[PAGE["trainer_loaded"]]
    status, download = PAGE["trainer_status"], PAGE["trainer_download"]
    if not loaded:
        return {status: views.notice("Import a trainer config first.", "info"), download: gr.update(visible=False)}
    try:
        rate = ENGINE.client.calculate(
            config_from_form(PAGE.form(given)), offset=given[PAGE["offset"]] / 100.0, run_log=PAGE.run_log(given)
        ).adjusted_lr
        content = ENGINE.client.export_trainer_config(
            loaded["content"], rate, loaded["filename"], format=loaded["format"]
        )
    except InvalidArgument as error:
        return {status: views.problems(error.violations, error.message), download: gr.update(visible=False)}
    except LRToolClientError as error:
        return {status: views.notice(error.message, "error"), download: gr.update(visible=False)}
    path = download_path(written_name(loaded["filename"]), "trainer-config.lrtool")
    path.write_bytes(content)
    message = (
        f"{path.name}: {loaded['filename']} with learning rate {presenting.rate(rate, decimal=True)};"
        " everything else as it was."
    )
    return {status: views.notice(message, "ok"), download: gr.update(value=str(path), visible=True)}


# --- Compare ----------------------------------------------------------------------------

COMPARE_INPUT_COLUMNS = [
    "model", "resolution", "steps", "images", "batch_size", "grad_accum", "rank", "alpha", "optimizer",
    "scheduler", "warmup_fraction", "objective", "learning_rate",
]  # fmt: skip
COMPARE_RESULT_COLUMNS = ["recommended_lr", "stability", "risk_band", "efficiency", "efficiency_band"]
#: The results come first, so that they are in sight however many inputs follow.
COMPARE_COLUMNS = ["run", *COMPARE_RESULT_COLUMNS, *COMPARE_INPUT_COLUMNS]
#: What the table's header shows for a column (the CSV keeps the field names): these, else the field table's
#: labels without their asides, so that every column fits the page.
_SHORT_HEADERS = {
    "run": "Run",
    "learning_rate": "Your LR",
    "recommended_lr": "Recommended",
    "stability": "Stability",
    "risk_band": "Risk",
    "efficiency": "Efficiency",
    "efficiency_band": "Band",
    "grad_accum": "Grad. accum.",
}
COMPARE_HEADERS = [
    _SHORT_HEADERS.get(column) or re.sub(r" \(.*\)$", "", fields.BY_NAME[column].label) for column in COMPARE_COLUMNS
]
#: How many characters wide each column is: its header's longest word or its usual longest value, whichever is
#: wider ("1.072e-04", "Suboptimal", "adamw_8bit"). Gradio would size the columns to their content plus wide
#: padding, wider than a 1280 px window; these shares of the table's width fit it without scrolling sideways.
_COMPARE_CHARACTERS = {
    "run": 5, "recommended_lr": 11, "stability": 9, "risk_band": 7, "efficiency": 10, "efficiency_band": 11,
    "model": 7, "resolution": 10, "steps": 5, "images": 6, "batch_size": 5, "grad_accum": 6, "rank": 4,
    "alpha": 5, "optimizer": 10, "scheduler": 8, "warmup_fraction": 6, "objective": 9, "learning_rate": 6,
}  # fmt: skip
#: Each column's share, counting a character more for the cell's padding.
COMPARE_WIDTHS: list[str | int] = [
    f"{100 * (_COMPARE_CHARACTERS[column] + 1) / sum(n + 1 for n in _COMPARE_CHARACTERS.values()):.2f}%"
    for column in COMPARE_COLUMNS
]
VARIABLE_FIELDS = ["rank", "alpha", "steps", "images", "batch_size", "grad_accum", "resolution", "learning_rate"]


def _row_from_config(run: str, config: dict[str, Any], learning_rate: float | None = None) -> list[Any]:
    cells: dict[str, Any] = {"run": run, "warmup_fraction": config.get("warmup_fraction", 0.0)}
    cells["learning_rate"] = learning_rate if learning_rate is not None else ""
    return [cells[column] if column in cells else config.get(column, "") for column in COMPARE_COLUMNS]


def _rows(table: Any) -> list[list[Any]]:
    if table is None:
        return []
    rows = table.values.tolist() if hasattr(table, "values") else list(table)
    return [list(row) for row in rows if any(str(cell).strip() for cell in row)]


def add_current(given: dict[Any, Any]) -> dict[Any, Any]:
    """The current configuration as a new row, and every row computed (one click from the form to the result)."""
    rows = _rows(given[PAGE["table"]])
    try:
        config = config_from_form(PAGE.form(given))
    except LRToolClientError as error:
        return {PAGE["compare_note"]: views.notice(error.message, "error")}
    return _compare_rows(given, [*rows, _row_from_config(f"run {len(rows) + 1}", config)])


def vary_field(given: dict[Any, Any]) -> dict[Any, Any]:
    """Rows of the current configuration with one field taking each listed value, computed with the others."""
    rows = _rows(given[PAGE["table"]])
    field, values_text = given[PAGE["vary"]], given[PAGE["vary_values"]]
    note = PAGE["compare_note"]
    items = [item.strip() for item in (values_text or "").replace(";", ",").split(",") if item.strip()]
    if not items:
        return {note: views.notice("List the values to try, separated by commas, e.g. 16, 32, 64.", "error")}
    try:
        config = config_from_form(PAGE.form(given))
    except EngineUnavailable as error:
        return {note: views.notice(error.message, "error")}
    added = []
    for item in items:
        try:
            number = float(item)
        except ValueError:
            return {note: views.notice(f"{field}: {item!r} is not a number.", "error")}
        value: Any = int(number) if number.is_integer() and field != "learning_rate" and field != "alpha" else number
        if field == "learning_rate":
            added.append(_row_from_config(f"{field}={item}", config, value))
        else:
            added.append(_row_from_config(f"{field}={item}", {**config, field: value}))
    return _compare_rows(given, [*rows, *added])


def _config_from_row(row: list[Any]) -> tuple[dict[str, Any], float | None]:
    cells = dict(zip(COMPARE_COLUMNS, row, strict=False))
    config: dict[str, Any] = {}
    learning_rate = None
    for column in COMPARE_INPUT_COLUMNS:
        cell = cells.get(column, "")
        if cell is None or str(cell).strip() == "":
            continue
        if column == "learning_rate":
            learning_rate = float(cell)
        elif column in ("model", "optimizer", "scheduler", "objective"):
            config[column] = str(cell).strip()
        elif column in ("alpha", "warmup_fraction"):
            config[column] = float(cell)
        else:
            number = float(cell)
            config[column] = int(number) if number.is_integer() else number
    return config, learning_rate


def compare(given: dict[Any, Any]) -> dict[Any, Any]:
    """Every row of the table computed."""
    return _compare_rows(given, _rows(given[PAGE["table"]]))


def _compare_rows(given: dict[Any, Any], rows: list[list[Any]]) -> dict[Any, Any]:
    """Every row in one CalculateBatch, with the formula set and trainer given; rows with a learning rate are
    scored at that rate. The table, a note and the CSV to download."""
    return PAGE.updates(_compared(rows, given[PAGE["formula"]], given[PAGE["trainer"]]))


def _compared(rows: list[list[Any]], formula: str, trainer: str) -> dict[str, Any]:
    if not rows:
        note = views.notice("Add runs first: 'Add current configuration' or 'Vary a field'.", "info")
        return {"table": rows, "compare_note": note, "download_csv": None}
    requests = []
    try:
        for row in rows:
            config, learning_rate = _config_from_row(row)
            config.update(formula=formula, trainer=trainer)
            requests.append(calculate_request(config, learning_rate=learning_rate))
    except ValueError as error:
        return {"table": rows, "compare_note": views.notice(f"A cell is not a number: {error}", "error")}
    try:
        results = ENGINE.client.calculate_batch(requests, statistics_only=True)  # the table shows no factors
    except InvalidArgument as error:
        return {"table": rows, "compare_note": views.problems(error.violations, error.message)}
    except LRToolClientError as error:
        return {"table": rows, "compare_note": views.notice(error.message, "error")}
    finished = []
    for row, result in zip(rows, results, strict=True):
        cells = dict(zip(COMPARE_COLUMNS, row, strict=False)) | {
            "recommended_lr": presenting.rate(result.recommended_lr),
            "stability": round(result.stability_score, 1),
            "risk_band": result.risk_band,
            "efficiency": round(result.efficiency_score, 1),
            "efficiency_band": result.efficiency_band,
        }
        finished.append([cells.get(column, "") for column in COMPARE_COLUMNS])
    path = Path(tempfile.mkdtemp(prefix="lrtool-")) / "lrtool-compare.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COMPARE_COLUMNS)
        writer.writerows(finished)
    note = views.notice(f"Compared {len(finished)} runs in one call.", "ok")
    return {"table": finished, "compare_note": note, "download_csv": gr.update(value=str(path), visible=True)}


def clear_compare() -> dict[Any, Any]:
    return PAGE.updates({"table": [], "compare_note": "", "download_csv": gr.update(value=None, visible=False)})


# --- Profiles -----------------------------------------------------------------------------


#: The Profiles tab's consent to overwrite on import.
REPLACE_LABEL = "Replace a profile of the same name"


def _profile_choices() -> tuple[list[str], str | None]:
    names = [summary.name for summary in ENGINE.client.iter_profiles()]
    return names, ENGINE.client.default_profile()


def refresh_profiles(selected: str | None = None) -> Any:
    try:
        names, default = _profile_choices()
    except LRToolClientError:
        return gr.update()
    labels = [(f"{name} (default)" if name == default else name, name) for name in names]
    return gr.update(choices=labels, value=selected if selected in names else None)


def _profile_status(message: str, profiles: Any = None) -> dict[Any, Any]:
    """The Profiles tab's status line, and the list refreshed when it changed."""
    updates = {PAGE["profile_status"]: message}
    if profiles is not None:
        updates[PAGE["profiles"]] = profiles
    return updates


def save_profile(given: dict[Any, Any]) -> dict[Any, Any]:
    name, notes = given[PAGE["profile_name"]], given[PAGE["notes"]]
    try:
        profile = ENGINE.client.save_profile(
            (name or "").strip(),
            config_from_form(PAGE.form(given)),
            offset=given[PAGE["offset"]] / 100.0,
            notes=notes or "",
        )
    except InvalidArgument as error:
        return _profile_status(views.problems(error.violations, error.message))
    except LRToolClientError as error:
        return _profile_status(views.notice(error.message, "error"))
    message = f"Saved '{profile.name}' (version {profile.version})."
    return _profile_status(views.notice(message, "ok"), refresh_profiles(profile.name))


def load_profile(given: dict[Any, Any]) -> dict[Any, Any]:
    """Fill the form from a saved profile; the page then recalculates."""
    name, status = given[PAGE["profiles"]], PAGE["profile_status"]
    if not name:
        return {status: views.notice("Choose a profile to load.", "info")}
    try:
        profile = ENGINE.client.get_profile(name)
    except LRToolClientError as error:
        return {status: views.notice(error.message, "error")}
    values = dict(zip((name for name, _ in ALL_FIELDS), form_from_config(profile.config), strict=True))
    message = f"Loaded '{profile.name}' (version {profile.version})."
    shown = {"profile_status": views.notice(message, "ok"), "offset": 100.0 * profile.offset, "notes": profile.notes}
    return PAGE.updates(shown | values)


def delete_profile(given: dict[Any, Any]) -> dict[Any, Any]:
    name = given[PAGE["profiles"]]
    if not name:
        return _profile_status(views.notice("Choose a profile to delete.", "info"))
    try:
        ENGINE.client.delete_profile(name)
    except LRToolClientError as error:
        return _profile_status(views.notice(error.message, "error"))
    return _profile_status(views.notice(f"Deleted '{name}'.", "ok"), refresh_profiles())


def set_default(given: dict[Any, Any]) -> dict[Any, Any]:
    name = given[PAGE["profiles"]]
    if not name:
        return _profile_status(views.notice("Choose a profile to load at start.", "info"))
    try:
        ENGINE.client.set_default_profile(name)
    except LRToolClientError as error:
        return _profile_status(views.notice(error.message, "error"))
    return _profile_status(views.notice(f"'{name}' now loads when the page opens.", "ok"), refresh_profiles(name))


def export_profile(given: dict[Any, Any]) -> dict[Any, Any]:
    name, download = given[PAGE["profiles"]], PAGE["download_file"]
    if not name:
        return _profile_status(views.notice("Choose a profile to download.", "info")) | {
            download: gr.update(visible=False)
        }
    try:
        exported = ENGINE.client.export_profile(name)
    except LRToolClientError as error:
        return _profile_status(views.notice(error.message, "error")) | {download: gr.update(visible=False)}
    path = download_path(exported.filename, "profile.json")
    path.write_bytes(exported.content)
    message = views.notice(f"'{name}' as an LRTool 1.0 profile file:", "ok")
    return _profile_status(message) | {download: gr.update(value=str(path), visible=True)}


def import_profile(given: dict[Any, Any]) -> dict[Any, Any]:
    """Save an LRTool 1.0 file as a profile; an existing name is refused unless Replace is ticked (the CLI's
    --replace)."""
    upload, name, replace = (given[PAGE[key]] for key in ("upload", "profile_name", "replace"))
    if upload is None:
        return _profile_status(views.notice("Choose an LRTool 1.0 profile file (.json) first.", "info"))
    path = Path(upload if isinstance(upload, str) else upload.name)
    profile_name = (name or "").strip() or path.stem
    try:
        profile = ENGINE.client.import_profile(path.read_bytes(), profile_name, expected_version=None if replace else 0)
    except ProfileAlreadyExists:
        message = (
            f"A profile '{profile_name}' exists already: tick '{REPLACE_LABEL}' to overwrite it, or type a new name."
        )
        return _profile_status(views.notice(message, "error"))
    except InvalidArgument as error:
        return _profile_status(views.problems(error.violations, error.message))
    except LRToolClientError as error:
        return _profile_status(views.notice(error.message, "error"))
    return _profile_status(views.notice(f"Imported '{profile.name}'.", "ok"), refresh_profiles(profile.name))


# --- The run log ------------------------------------------------------------------------------

#: (label, outcome word) for the outcome choices; "" is a run not judged (yet).
OUTCOME_CHOICES: list[tuple[str, str]] = [
    ("Undertrained (weak likeness or style)", "undertrained"),
    ("Good", "good"),
    ("Overtrained (burned, rigid, artifacts)", "overtrained"),
    ("Diverged (noise, NaN loss)", "diverged"),
    ("Not judged", ""),
]


def _log(name: str | None) -> str:
    return (name or "").strip()


def _runs_view(log: str, values: Sequence[Any]) -> dict[Any, Any]:
    """The log as a table and a chart, the run ids to pick, and what the log makes of the current configuration."""
    runs = list(ENGINE.client.iter_runs(_log(log)))
    requests = [calculate_request(run.config, population_only=True) for run in runs]
    populations = (
        [result.population_lr for result in ENGINE.client.calculate_batch(requests, statistics_only=True)]
        if requests
        else []
    )
    calculation = None
    try:
        calculation = ENGINE.client.calculate(config_from_form(values), run_log=_log(log))
        summary = views.personal_line(calculation)
    except InvalidArgument as error:  # the Calculator's form is incomplete: the log still shows
        summary = views.problems(error.violations, error.message)
    ids = [
        (f"{run.id}: {run.config.model}, {run.config.steps:,} steps, {presenting.rate(run.learning_rate)}", run.id)
        for run in runs
    ]
    chart = views.runs_frame(runs, populations, pb.Outcome, calculation)
    x_lim, y_lim = views.runs_chart_limits(chart)
    shown = {
        "runs_table": views.runs_rows(runs, populations, pb.Outcome),
        "runs_chart": gr.ScatterPlot(value=chart, x_lim=x_lim, y_lim=y_lim),
        "run_id": gr.update(choices=ids, value=None),
        "runs_summary": summary,
    }
    return PAGE.updates(shown)


def _log_and_form(given: dict[Any, Any]) -> tuple[str, list[Any]]:
    return given[PAGE["run_log"]], PAGE.form(given)


def show_runs(given: dict[Any, Any]) -> dict[Any, Any]:
    return _shown_runs(*_log_and_form(given))


def _shown_runs(log: str, values: Sequence[Any]) -> dict[Any, Any]:
    try:
        return _runs_view(log, values)
    except InvalidArgument as error:
        return {PAGE["runs_summary"]: views.problems(error.violations, error.message)}
    except LRToolClientError as error:
        return {PAGE["runs_summary"]: views.notice(error.message, "error")}


def _with_runs(status: str, log: str, values: Sequence[Any]) -> dict[Any, Any]:
    """A status line, and the refreshed log."""
    return {PAGE["runs_status"]: status, **_shown_runs(log, values)}


def record_run(given: dict[Any, Any]) -> dict[Any, Any]:
    """Record the current configuration's run with the rate it used and how it came out."""
    log, values = _log_and_form(given)
    learning_rate, outcome, best_step, notes = (
        given[PAGE[name]] for name in ("run_rate", "run_outcome", "run_best_step", "run_notes")
    )
    if learning_rate is None:
        return _with_runs(views.notice("Type the learning rate the run used, e.g. 1e-4.", "info"), log, values)
    try:
        run = ENGINE.client.record_run(
            config_from_form(values),
            float(learning_rate),
            outcome=outcome or "",
            best_step=int(best_step) if best_step else None,  # 0: not known
            notes=notes or "",
            log=_log(log),
        )
    except InvalidArgument as error:
        return _with_runs(views.problems(error.violations, error.message), log, values)
    except LRToolClientError as error:
        return _with_runs(views.notice(error.message, "error"), log, values)
    return _with_runs(views.notice(f"Recorded run {run.id} in log '{run.log}'.", "ok"), log, values)


def set_run_outcome(given: dict[Any, Any]) -> dict[Any, Any]:
    """Correct how a run came out (its best step and notes stay)."""
    log, values = _log_and_form(given)
    run_id, outcome = given[PAGE["run_id"]], given[PAGE["run_new_outcome"]]
    if not run_id:
        return _with_runs(views.notice("Choose a run first.", "info"), log, values)
    try:
        current = next((run for run in ENGINE.client.iter_runs(_log(log)) if run.id == run_id), None)
        if current is None:
            return _with_runs(views.notice(f"Run {run_id} is not in this log.", "error"), log, values)
        best_step = current.best_step if current.HasField("best_step") else None
        ENGINE.client.update_run(run_id, outcome=outcome or "", best_step=best_step, notes=current.notes)
    except LRToolClientError as error:
        return _with_runs(views.notice(error.message, "error"), log, values)
    return _with_runs(views.notice(f"Run {run_id} is now '{outcome or 'not judged'}'.", "ok"), log, values)


def delete_run(given: dict[Any, Any]) -> dict[Any, Any]:
    log, values = _log_and_form(given)
    run_id = given[PAGE["run_id"]]
    if not run_id:
        return _with_runs(views.notice("Choose a run to delete.", "info"), log, values)
    try:
        ENGINE.client.delete_run(run_id)
    except LRToolClientError as error:
        return _with_runs(views.notice(error.message, "error"), log, values)
    return _with_runs(views.notice(f"Deleted run {run_id}.", "ok"), log, values)


def import_runs(given: dict[Any, Any]) -> dict[Any, Any]:
    """Record a CSV tuning log; fields its rows leave out come from the Calculator's form."""
    log, values = _log_and_form(given)
    upload = given[PAGE["runs_upload"]]
    if upload is None:
        return _with_runs(views.notice("Choose a CSV tuning log first.", "info"), log, values)
    content, filename = _upload_bytes(upload)
    try:
        base = config_from_form(values)
    except LRToolClientError:
        base = {}
    try:
        runs = ENGINE.client.import_runs(content, _log(log), filename=filename, base=base)
    except InvalidArgument as error:
        return _with_runs(views.problems(error.violations, error.message), log, values)
    except LRToolClientError as error:
        return _with_runs(views.notice(error.message, "error"), log, values)
    return _with_runs(views.notice(f"Imported {len(runs)} runs from {filename}.", "ok"), log, values)


def export_runs(given: dict[Any, Any]) -> dict[Any, Any]:
    status, download = PAGE["runs_status"], PAGE["runs_download"]
    try:
        exported = ENGINE.client.export_runs(_log(given[PAGE["run_log"]]))
    except LRToolClientError as error:
        return {status: views.notice(error.message, "error"), download: gr.update(visible=False)}
    path = Path(tempfile.mkdtemp(prefix="lrtool-")) / exported.filename
    path.write_bytes(exported.content)
    message = views.notice(f"The log as a CSV tuning log: {exported.filename}", "ok")
    return {status: message, download: gr.update(value=str(path), visible=True)}


# --- Page load and recovery ------------------------------------------------------------------


def _choice_updates(catalog: pb.Catalog, values: dict[str, Any]) -> dict[str, Any]:
    """Form values with the catalog's choices and help (nothing of it is hard-coded here), by name."""
    updates: dict[str, Any] = {}
    for name, kind in ALL_FIELDS:
        value = values.get(name)
        if name not in fields.BY_NAME:  # the form's own warmup mode and value
            updates[name] = gr.update(value=value)
        elif kind == "choice":
            listed = fields.choices(catalog, name, values["formula"], values["trainer"])
            ids = [choice for _, choice in listed]
            value = value if value in ids else ids[0]
            updates[name] = gr.update(choices=listed, value=value, info=fields.help_text(catalog, name))
        else:
            updates[name] = gr.update(value=value, info=fields.help_text(catalog, name))
    return updates


def _starting_form() -> tuple[dict[str, Any], float, str, str]:
    """Form values, offset, notes and a status line: the default profile if one is set, else the starting values."""
    try:
        default = ENGINE.client.default_profile()
        if default:
            profile = ENGINE.client.get_profile(default)
            message = views.notice(f"Loaded the default profile '{default}'.", "ok")
            values = dict(zip((name for name, _ in ALL_FIELDS), form_from_config(profile.config), strict=True))
            return values, 100.0 * profile.offset, profile.notes, message
    except (ProfileNotFound, InvalidArgument):
        pass
    return {name: STARTING_VALUES.get(name) for name, _ in ALL_FIELDS}, 0.0, "", ""


def _loaded_page() -> dict[Any, Any]:
    """The whole page for the catalog: choices, the default profile (or the starting values), then results."""
    catalog = ENGINE.catalog(refresh=True)
    values, offset, notes, status = _starting_form()
    choices = _choice_updates(catalog, values)
    chosen = [choices[name]["value"] for name, _ in ALL_FIELDS]
    shown = {"offset": offset, "notes": notes, "profile_status": status, "profiles": refresh_profiles()}
    # The banner stays as results() left it: hidden, or saying why the engine did not answer.
    # My learning rate starts empty: a Number left unset would show 0, which reads as a rate.
    opened = {"page_state": {"loaded": True, "down": False}, "my_rate": None}
    return PAGE.updates(choices | shown | results(offset, chosen, "") | opened)


def load_page(given: dict[Any, Any]) -> dict[Any, Any]:
    """On opening the page: catalog choices, then the default profile (or the starting values), then results."""
    try:
        return _loaded_page()
    except EngineUnavailable as error:
        return {PAGE["page_state"]: {"loaded": False, "down": True}, PAGE["banner"]: _banner_for(error)}


def watch_engine(given: dict[Any, Any]) -> dict[Any, Any]:
    """Every few seconds: a banner while the engine is gone; once it is back, the page picks up by itself."""
    state = given[PAGE["page_state"]]
    if not ENGINE.client.is_serving(timeout=1.0):
        banner = gr.update(visible=True, value=views.engine_banner(ENGINE.address, "no answer to its health check"))
        return {PAGE["page_state"]: {**state, "down": True}, PAGE["banner"]: banner}
    if not state.get("down") and state.get("loaded"):
        return {PAGE["page_state"]: state}  # all well: nothing changes
    if not state.get("loaded"):  # the page opened while the engine was away
        return load_page(given)
    ENGINE.catalog(refresh=True)
    # The user's own values stay as they are; only the results are computed again.
    shown = results(given[PAGE["offset"]], PAGE.form(given), PAGE.run_log(given), given.get(PAGE["my_rate"]))
    return PAGE.updates(shown | {"page_state": {"loaded": True, "down": False}})


#: The result outputs by name, and what the page load sets besides the form and them.
RESULT_FIELDS = ("card", "warnings", "statistics", "score_plot", "schedule_plot", "evidence", "reasons")
PAGE_FIELDS = ("page_state", "banner", "offset", "my_rate", "notes", "profile_status", "profiles")


# --- Layout -----------------------------------------------------------------------------------


def _number(field: fields.Field, **extra: Any) -> gr.Number:
    # No minimum/maximum here: the engine checks every range and says which field and why.
    precision = 0 if field.kind == "int" else None
    return gr.Number(label=field.label, precision=precision, elem_id=f"field-{field.name}", **extra)


def _input(name: str, **extra: Any) -> Any:
    """The form's component for a field of the field table: a number, a text box or a list to choose from."""
    field = fields.BY_NAME[name]
    if field.kind == "choice":
        return gr.Dropdown(label=field.label, elem_id=f"field-{name}", **extra)
    if field.kind == "text":
        return gr.Textbox(label=field.label, elem_id=f"field-{name}", **extra)
    return _number(field, **extra)


def build_demo() -> gr.Blocks:
    """The page: one function per tab lays it out, one per tab wires its events (components by name in PAGE)."""
    PAGE.clear()
    demo: gr.Blocks
    with gr.Blocks(title="LRTool") as demo:
        PAGE.add("banner", gr.HTML(visible=False, elem_id="engine-banner"))
        gr.Markdown(
            "# LRTool\nLearning rates for diffusion LoRA training, fitted to public presets and explained factor by"
            " factor. Fill in your run; the recommended rate and how risky your rate is update as you type."
        )
        with gr.Tabs():
            _calculator_tab()
            _compare_tab()
            _runs_tab()
            _profiles_tab()
        PAGE.add("page_state", gr.State({"loaded": False, "down": False}))
        _wire_calculator()
        _wire_trainer_configs()
        _wire_compare()
        _wire_runs()
        _wire_profiles()
        _wire_page(demo)
    return demo


def _form_inputs() -> None:
    """The configuration form: a component per field of the field table, laid out in groups."""
    with gr.Group():
        PAGE.add("model", _input("model"))
        PAGE.add("objective", gr.Radio(label=fields.BY_NAME["objective"].label, elem_id="field-objective"))
        for row in (
            ("resolution", "images", "repeats"),
            ("steps", "batch_size", "grad_accum"),
            ("rank", "alpha", "network"),
        ):
            with gr.Row():
                for name in row:
                    PAGE.add(name, _input(name))
        PAGE.add("optimizer", _input("optimizer"))
    with gr.Group():
        PAGE.add("scheduler", _input("scheduler"))
        with gr.Row():
            warmup_mode = gr.Radio(
                [WARMUP_PERCENT, WARMUP_STEPS],
                value=WARMUP_MODE.default,
                label=WARMUP_MODE.label,
                info=WARMUP_MODE.help,
                elem_id=f"field-{WARMUP_MODE.name}",
            )
            PAGE.add(WARMUP_MODE.name, warmup_mode)
            PAGE.add(WARMUP_VALUE.name, _number(WARMUP_VALUE))
    # What most runs leave at its default; a schedule's own parameters show only when it takes them.
    with gr.Accordion("Advanced", open=False, elem_id="advanced"):
        gr.Markdown(
            "Most runs leave these as they are. The **formula set** decides how the rate is computed (calibrated "
            "fits public presets); the **trainer** decides whose schedule curves are used; a schedule's own "
            "parameters appear here when the chosen schedule takes them.",
            elem_id="advanced-help",
        )
        PAGE.add("formula", gr.Radio(label=fields.BY_NAME["formula"].label, elem_id="field-formula"))
        PAGE.add("trainer", _input("trainer"))
        for parameter in fields.SCHEDULE_PARAMETERS:
            PAGE.add(parameter.name, _input(parameter.name, visible=False))


def _trainer_import() -> None:
    with gr.Accordion("Import a trainer config", open=False, elem_id="trainer-import"):
        PAGE.add(
            "trainer_file",
            gr.File(
                label="kohya / kohya_ss GUI / ai-toolkit / OneTrainer / musubi-tuner config",
                file_types=[".toml", ".json", ".yaml", ".yml"],
                elem_id="trainer-file",
            ),
        )
        PAGE.add(
            "dataset_file",
            gr.File(label="Its dataset config (optional)", file_types=[".toml", ".json"], elem_id="dataset-file"),
        )
        PAGE.add("trainer_import", gr.Button("Fill the form from the file", elem_id="trainer-import-button"))
        PAGE.add("trainer_status", gr.HTML(elem_id="trainer-status"))
        PAGE.add(
            "trainer_export",
            gr.Button("Write the adjusted learning rate into the file", elem_id="trainer-export-button"),
        )
        PAGE.add("trainer_download", gr.DownloadButton("Download the file", visible=False, elem_id="trainer-download"))
        PAGE.add("trainer_loaded", gr.State(None))


def _results() -> None:
    """The results column: the card, the offset, my learning rate, warnings, evidence, reasons, plots."""
    PAGE.add("card", gr.HTML(elem_id="result-card"))
    with gr.Row():
        offset = gr.Slider(
            -100,
            100,
            value=0,
            step=1,
            label="Offset from the recommendation (%)",
            info="Learning rate = recommended × (1 + offset). Double-click to reset.",
            elem_id="offset-slider",
            scale=5,
            buttons=["reset"],
        )
        PAGE.add("offset", offset)
        PAGE.add("reset", gr.Button("Reset", elem_id="offset-reset", scale=1, size="sm"))
    with gr.Row():
        my_rate = gr.Number(
            value=None,
            placeholder="e.g. 1e-4",
            label="My learning rate",
            info="A rate you already have in mind, e.g. 1e-4: how risky is it?",
            elem_id="my-rate",
            scale=3,
        )
        PAGE.add("my_rate", my_rate)
        PAGE.add("evaluate", gr.Button("Score it", elem_id="evaluate", scale=1))
    PAGE.add("evaluation", gr.HTML(elem_id="evaluation"))
    PAGE.add("warnings", gr.HTML(elem_id="warnings-box"))
    PAGE.add("evidence", gr.HTML(elem_id="evidence-box"))
    with gr.Accordion("Why this rate", open=True, elem_id="reasons-accordion"):
        PAGE.add("reasons", gr.HTML(elem_id="reasons-box"))
    score_plot = gr.LinePlot(
        x="offset (%)",
        y="score",
        color="series",
        title="Stability and efficiency against the offset",
        y_lim=[0, 100],
        color_map={"stability": "#1a73e8", "efficiency": "#188038", "current offset": "#c5221f"},
        elem_id="score-plot",
        height=260,
    )
    PAGE.add("score_plot", score_plot)
    schedule_plot = gr.LinePlot(
        x="step",
        y="learning rate",
        title="Learning rate over the run, as the trainer applies it",
        elem_id="schedule-plot",
        height=240,
    )
    PAGE.add("schedule_plot", schedule_plot)
    with gr.Accordion("All statistics", open=False):
        PAGE.add("statistics", gr.HTML(elem_id="statistics-box"))


def _calculator_tab() -> None:
    with gr.Tab("Calculator", id="calculator"), gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            _trainer_import()
            _form_inputs()
        # On a narrow screen the columns stack; CSS puts this one first (views.CSS, #results-column).
        with gr.Column(scale=3, min_width=380, elem_id="results-column"):
            _results()


def _compare_tab() -> None:
    with gr.Tab("Compare", id="compare"):
        gr.Markdown(
            "Compare runs side by side, like a tuning log: add the current configuration, or vary one "
            "field across values: the rows are computed as they are added, all in one call. Fill **Your LR** "
            "to score the rate a run used; leave it empty for the recommendation."
        )
        with gr.Row():
            PAGE.add("add_row", gr.Button("Add current configuration", elem_id="compare-add"))
            PAGE.add("vary", gr.Dropdown(VARIABLE_FIELDS, value="rank", label="Vary", scale=1, elem_id="compare-field"))
            PAGE.add(
                "vary_values",
                gr.Textbox(label="Values", placeholder="4, 16, 32, 64", scale=2, elem_id="compare-values"),
            )
            PAGE.add("vary_button", gr.Button("Add runs", elem_id="compare-vary"))
        PAGE.add(
            "table",
            gr.Dataframe(
                headers=COMPARE_HEADERS,
                column_widths=COMPARE_WIDTHS,
                interactive=True,
                wrap=True,
                elem_id="compare-table",
            ),
        )
        with gr.Row():
            PAGE.add("run_compare", gr.Button("Compare", variant="primary", elem_id="compare-run"))
            PAGE.add("clear", gr.Button("Clear", elem_id="compare-clear"))
            PAGE.add("download_csv", gr.DownloadButton("Download CSV", visible=False, elem_id="compare-csv"))
        PAGE.add("compare_note", gr.HTML(elem_id="compare-note"))


def _runs_tab() -> None:
    with gr.Tab("Runs", id="runs") as runs_tab:
        PAGE.add("runs_tab", runs_tab)
        gr.Markdown(
            "Record the runs you really trained and how they came out: LRTool learns your factor on its "
            "recommendation for the same model, and the band narrows as runs agree. The Calculator learns "
            "from the run log named here."
        )
        with gr.Row():
            with gr.Column():
                PAGE.add(
                    "run_log",
                    gr.Textbox(value="default", label="Run log", info="A name per user or team", elem_id="runs-log"),
                )
                with gr.Row():
                    PAGE.add(
                        "run_rate",
                        gr.Number(value=None, placeholder="e.g. 1e-4", label="Learning rate used", elem_id="run-rate"),
                    )
                    PAGE.add(
                        "run_best_step",
                        gr.Number(
                            value=None,
                            precision=0,
                            label="Best checkpoint (step; 0 = not known)",
                            elem_id="run-best-step",
                        ),
                    )
                PAGE.add("run_outcome", gr.Radio(
                    OUTCOME_CHOICES, value="good", label="How the final checkpoint came out",
                    elem_id="run-outcome",
                ))  # fmt: skip
                PAGE.add("run_notes", gr.Textbox(label="Notes", lines=2, elem_id="run-notes"))
                PAGE.add(
                    "run_record",
                    gr.Button(
                        "Record the Calculator's configuration as a run", variant="primary", elem_id="run-record"
                    ),
                )
            with gr.Column():
                PAGE.add("runs_summary", gr.HTML(elem_id="runs-summary"))
                PAGE.add(
                    "runs_chart",
                    gr.ScatterPlot(
                        x="steps",
                        y="× recommendation",
                        color="outcome",
                        title="Rate used ÷ the recommendation for that run, by outcome",
                        color_map=views.RUNS_COLOURS,
                        elem_id="runs-chart",
                        height=280,
                    ),
                )
        PAGE.add(
            "runs_table", gr.Dataframe(headers=views.RUN_COLUMNS, interactive=False, wrap=True, elem_id="runs-table")
        )
        with gr.Row():
            PAGE.add("run_id", gr.Dropdown(label="Run", elem_id="run-id", scale=2))
            PAGE.add(
                "run_new_outcome",
                gr.Dropdown(OUTCOME_CHOICES, value="good", label="Outcome", elem_id="run-edit-outcome", scale=2),
            )
            PAGE.add("run_set", gr.Button("Set outcome", elem_id="run-set-outcome", scale=1))
            PAGE.add("run_delete", gr.Button("Delete run", variant="stop", elem_id="run-delete", scale=1))
        with gr.Row():
            PAGE.add(
                "runs_upload",
                gr.File(
                    label="Import a CSV tuning log (missing columns come from the Calculator's form)",
                    file_types=[".csv"],
                    elem_id="runs-upload",
                ),
            )
            with gr.Column():
                PAGE.add("runs_import", gr.Button("Import", elem_id="runs-import"))
                PAGE.add("runs_export", gr.Button("Export the log as CSV", elem_id="runs-export"))
                PAGE.add("runs_download", gr.DownloadButton("Save file", visible=False, elem_id="runs-file"))
        PAGE.add("runs_status", gr.HTML(elem_id="runs-status"))


def _profiles_tab() -> None:
    with gr.Tab("Profiles", id="profiles"):
        with gr.Row():
            with gr.Column():
                PAGE.add(
                    "profile_name",
                    gr.Textbox(
                        label="Name", info="1–128 letters, digits, spaces, '.', '_' or '-'", elem_id="profile-name"
                    ),
                )
                PAGE.add("notes", gr.Textbox(label="Notes", lines=3, elem_id="profile-notes"))
                PAGE.add("save", gr.Button("Save current configuration", variant="primary", elem_id="profile-save"))
            with gr.Column():
                PAGE.add("profiles", gr.Dropdown(label="Saved profiles", elem_id="profile-list"))
                with gr.Row():
                    PAGE.add("load", gr.Button("Load", elem_id="profile-load"))
                    PAGE.add("delete", gr.Button("Delete", variant="stop", elem_id="profile-delete"))
                    PAGE.add("make_default", gr.Button("Load at start", elem_id="profile-default"))
                PAGE.add("download", gr.Button("Download as LRTool 1.0 file", elem_id="profile-export"))
                PAGE.add("download_file", gr.DownloadButton("Save file", visible=False, elem_id="profile-file"))
                PAGE.add(
                    "upload",
                    gr.File(label="Upload an LRTool 1.0 profile file", file_types=[".json"], elem_id="profile-upload"),
                )
                PAGE.add(
                    "replace",
                    gr.Checkbox(
                        label=REPLACE_LABEL,
                        info="Importing over an existing name is refused unless this is ticked.",
                        elem_id="profile-replace",
                    ),
                )
                PAGE.add("upload_button", gr.Button("Import", elem_id="profile-import"))
        PAGE.add("profile_status", gr.HTML(elem_id="profile-status"))


def _names(*names: str) -> list[Any]:
    return [PAGE[name] for name in names]


def _calculation_inputs() -> set[Any]:
    """What a calculation reads: the form, the offset, My learning rate and the run log."""
    return PAGE.form_components | PAGE.inputs("offset", "my_rate", "run_log")


def _recalculating(event: Any, **options: Any) -> Any:
    """Recalculate everything after `event` (the latest input wins)."""
    return event(
        recalculate,
        _calculation_inputs(),
        _names(*RESULT_FIELDS, "banner"),
        trigger_mode="always_last",
        # A recalculation takes a tenth of a second: a small spinner, not the full overlay that
        # redraws every result panel twice per keystroke (it cost about 40 ms a change in Chromium).
        show_progress="minimal",
        **options,
    )


def _wire_calculator() -> None:
    schedule_choice = PAGE.inputs("formula", "trainer", "scheduler")
    parameter_outputs = _names(*PARAMETER_OUTPUTS)
    # Releasing the slider sets the rate by the offset again: My learning rate is emptied first, once, not on
    # every move (an update per move doubled the slider's latency). Registered first so that the public
    # endpoint keeps the plain name "recalculate".
    released = PAGE["offset"].release(lambda: None, None, _names("my_rate"), api_visibility="private", queue=False)
    _recalculating(released.then, api_name="recalculate")
    for name, _ in ALL_FIELDS:
        if name not in ("formula", "trainer", "scheduler", "images", "repeats"):
            _recalculating(PAGE[name].input, api_visibility="private")
    steps_follow = gr.on(
        [PAGE["images"].input, PAGE["repeats"].input],
        count_steps,
        PAGE.inputs("trainer_loaded", "images", "repeats"),
        _names("steps"),
        api_visibility="private",
        queue=False,
    )
    _recalculating(steps_follow.then, api_visibility="private")
    PAGE["steps"].input(
        typed_steps, PAGE.inputs("trainer_loaded"), _names("trainer_loaded"), api_visibility="private", queue=False
    )
    chosen = gr.on(
        [PAGE["formula"].input, PAGE["trainer"].input],
        choose_formula_or_trainer,
        schedule_choice,
        _names("scheduler", "trainer", *PARAMETER_OUTPUTS),
        api_visibility="private",
    )
    _recalculating(chosen.then, api_visibility="private")
    shown = PAGE["scheduler"].input(show_parameters, schedule_choice, parameter_outputs, api_visibility="private")
    _recalculating(shown.then, api_visibility="private")
    PAGE["offset"].input(
        move_offset,
        _calculation_inputs(),
        _names("card", "statistics", "evidence", "banner"),
        api_name="move_offset",
        trigger_mode="always_last",
        queue=False,
        show_progress="hidden",  # numbers that follow the drag; release recalculates with progress shown
    )
    reset = PAGE["reset"].click(
        lambda: (0, None), None, _names("offset", "my_rate"), api_visibility="private", queue=False
    )
    _recalculating(PAGE["my_rate"].input, api_visibility="private")
    _recalculating(reset.then, api_visibility="private")
    gr.on(
        [PAGE["evaluate"].click, PAGE["my_rate"].submit],
        evaluate_rate,
        _calculation_inputs(),
        _names("evaluation"),
        api_name="evaluate",
    )


def _wire_trainer_configs() -> None:
    imported = (
        PAGE["trainer_import"]
        .click(
            import_config,
            PAGE.inputs("trainer_file", "dataset_file"),
            _names("trainer_status", "trainer_loaded", "my_rate", *(name for name, _ in ALL_FIELDS)),
            api_name="import_trainer_config",
        )
        .then(show_parameters, PAGE.inputs("formula", "trainer", "scheduler"), _names(*PARAMETER_OUTPUTS))
    )
    _recalculating(imported.then, api_visibility="private").then(
        evaluate_rate, _calculation_inputs(), _names("evaluation"), api_visibility="private"
    )
    PAGE["trainer_export"].click(
        export_config,
        _calculation_inputs() | PAGE.inputs("trainer_loaded"),
        _names("trainer_status", "trainer_download"),
        api_name="export_trainer_config",
    )


def _wire_compare() -> None:
    outputs = _names("table", "compare_note", "download_csv")
    computing = PAGE.inputs("table", "formula", "trainer")
    PAGE["run_compare"].click(compare, computing, outputs, api_name="compare")
    # Adding rows computes them at once: one click from the form to the compared runs.
    PAGE["add_row"].click(add_current, computing | PAGE.form_components, outputs, api_name="compare_add")
    PAGE["vary_button"].click(
        vary_field, computing | PAGE.form_components | PAGE.inputs("vary", "vary_values"), outputs,
        api_name="compare_vary",
    )  # fmt: skip
    PAGE["clear"].click(clear_compare, None, outputs, api_visibility="private")


def _wire_runs() -> None:
    run_log = PAGE["run_log"]
    with_form = PAGE.form_components | PAGE.inputs("run_log")
    runs_outputs = _names("runs_table", "runs_chart", "run_id", "runs_summary")
    refreshed = [PAGE["runs_status"], *runs_outputs]
    gr.on([PAGE["runs_tab"].select, run_log.submit], show_runs, with_form, runs_outputs, api_name="show_runs")
    _recalculating(run_log.submit, api_visibility="private")
    recorded = PAGE["run_record"].click(
        record_run,
        with_form | PAGE.inputs("run_rate", "run_outcome", "run_best_step", "run_notes"),
        refreshed,
        api_name="record_run",
    )
    corrected = PAGE["run_set"].click(
        set_run_outcome, with_form | PAGE.inputs("run_id", "run_new_outcome"), refreshed, api_name="set_run_outcome"
    )
    deleted = PAGE["run_delete"].click(delete_run, with_form | PAGE.inputs("run_id"), refreshed, api_name="delete_run")
    imported = PAGE["runs_import"].click(
        import_runs, with_form | PAGE.inputs("runs_upload"), refreshed, api_name="import_runs"
    )
    for changed in (recorded, corrected, deleted, imported):
        _recalculating(changed.then, api_visibility="private")
    PAGE["runs_export"].click(
        export_runs, PAGE.inputs("run_log"), _names("runs_status", "runs_download"), api_name="export_runs"
    )


def _wire_profiles() -> None:
    status_and_list = _names("profile_status", "profiles")
    chosen = PAGE.inputs("profiles")
    PAGE["save"].click(
        save_profile,
        PAGE.form_components | PAGE.inputs("profile_name", "notes", "offset"),
        status_and_list,
        api_name="save_profile",
    )
    loaded = (
        PAGE["load"]
        .click(
            load_profile,
            chosen,
            _names("profile_status", "offset", "notes", *(name for name, _ in ALL_FIELDS)),
            api_name="load_profile",
        )
        .then(show_parameters, PAGE.inputs("formula", "trainer", "scheduler"), _names(*PARAMETER_OUTPUTS))
    )
    _recalculating(loaded.then, api_visibility="private")
    PAGE["delete"].click(delete_profile, chosen, status_and_list, api_name="delete_profile")
    PAGE["make_default"].click(set_default, chosen, status_and_list, api_name="set_default_profile")
    PAGE["download"].click(export_profile, chosen, _names("profile_status", "download_file"), api_name="export_profile")
    PAGE["upload_button"].click(
        import_profile, PAGE.inputs("upload", "profile_name", "replace"), status_and_list, api_name="import_profile"
    )


def _wire_page(demo: gr.Blocks) -> None:
    """Opening the page fills it from the catalog; a timer watches the engine and picks up when it is back."""
    page_outputs = _names(*PAGE_FIELDS, *(name for name, _ in ALL_FIELDS), *RESULT_FIELDS)
    demo.load(load_page, PAGE.inputs("page_state"), page_outputs, api_name="load_page").then(
        show_parameters, PAGE.inputs("formula", "trainer", "scheduler"), _names(*PARAMETER_OUTPUTS)
    )
    gr.Timer(3.0).tick(
        watch_engine,
        _calculation_inputs() | PAGE.inputs("page_state"),
        page_outputs,
        api_visibility="private",
        queue=False,
    )


demo = build_demo()


def launch(
    engine: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    token: str | None = None,
    ca_file: str | None = None,
    auth: Credentials | None = None,
    insecure: bool = False,
    **kwargs: Any,
) -> Any:
    """Serve the UI; blocks unless prevent_thread_lock=True.

    Beyond loopback or with `share`, `auth` ([(username, password), ...]) is required unless `insecure`.
    """
    check_ui_exposure(host, share=share, auth=auth, insecure=insecure)
    if engine or token or ca_file:
        configure(engine or default_engine_address(), token, ca_file)
    return demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        auth=auth or None,
        theme=gr.themes.Soft(),
        css=views.CSS,
        head=views.HEAD,
        footer_links=["api", "gradio"],
        **kwargs,
    )


if os.environ.get("GRADIO_WATCH_DEMO_NAME"):  # `gradio gradio_ui/app.py` reload mode
    configure(default_engine_address())
