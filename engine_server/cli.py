"""The `lrtool` command: run the engine, calculate from the shell, manage profiles and the run log.

Every command that talks to an engine takes --engine HOST:PORT (default
LRTOOL_ENGINE, else 127.0.0.1:50051). Failures print one line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from google.protobuf import json_format

from . import fields, presenting
from ._generated.lrtool.v1 import engine_pb2 as pb
from .client import (
    EngineUnavailable,
    InvalidArgument,
    LRToolClient,
    LRToolClientError,
    ProfileAlreadyExists,
    ProfileNotFound,
    RunNotFound,
    VersionConflict,
    default_engine_address,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_UNAVAILABLE = 3
EXIT_CONFLICT = 4
EXIT_NOT_FOUND = 5

#: Seconds `lrtool serve` waits at exit for request threads still busy after the server stopped.
EXIT_WAIT_SECONDS = 5.0

_SUMMARY_ROWS = [
    ("recommended_lr", "Recommended LR"),
    ("adjusted_lr", "Adjusted LR"),
    ("offset", "Offset"),
    ("stability_score", "Stability"),
    ("efficiency_score", "Efficiency"),
]
#: Shown apart from the statistics: the summary above them, the bands beside the scores.
_NOT_STATISTICS = {name for name, _ in _SUMMARY_ROWS} | {"risk_band", "efficiency_band"}
_OUTCOME_WORDS = ["undertrained", "good", "overtrained", "diverged"]


def _warmup(text: str) -> float:
    """'10%', '0.1' → 0.1."""
    value = text.strip()
    try:
        return float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        message = f"warmup must be a fraction like 0.1 or a percentage like 10%; got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


#: The fields `lrtool import` takes as flags of their own: what trainer files rarely say.
_IMPORT_FLAGS = ("images", "repeats", "objective")

#: How each kind of field is read from the shell (warmup_fraction also takes "10%").
_ARGUMENT_TYPES: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "choice": str, "text": str}


def config_arguments(command: argparse.ArgumentParser, help_prefix: str = "") -> None:
    """A flag for every configuration field of the field table."""
    for field in fields.FIELDS:
        if field.name == "warmup_fraction":
            command.add_argument("--warmup", dest=field.name, type=_warmup, help=help_prefix + field.help)
        else:
            command.add_argument(
                field.flag, dest=field.name, type=_ARGUMENT_TYPES[field.kind], help=help_prefix + field.help
            )


class _Parser(argparse.ArgumentParser):
    """Refuses bad arguments in one line (which argument, why, where the help is), not the usage page."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INVALID, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lrtool", description="LRTool: learning-rate recommendations for diffusion LoRA training.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def engine_option(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--engine",
            default=None,
            metavar="HOST:PORT",
            help=f"engine address (default: LRTOOL_ENGINE, else {default_engine_address()})",
        )
        command.add_argument("--token-file", type=Path, help="file with the engine's token (or LRTOOL_TOKEN)")
        command.add_argument("--ca-file", type=Path, help="CA certificate of a TLS engine (or LRTOOL_CA_FILE)")

    def ui_access_options(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--auth-file",
            type=Path,
            help="require a login: a file of username:password lines (or LRTOOL_UI_AUTH_FILE, or"
            " LRTOOL_UI_AUTH=username:password); needed beyond loopback and with --share",
        )
        command.add_argument(
            "--insecure", action="store_true", help="allow a non-loopback --host or --share without a login"
        )

    serve = commands.add_parser("serve", help="run the engine server (gRPC)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1; LRTOOL_HOST)")
    serve.add_argument("--port", type=int, help="port (default 50051; 0 picks a free one; LRTOOL_PORT)")
    serve.add_argument(
        "--db", help="profile store: SQLite file (default: in your data directory) or postgresql://… URL"
    )
    serve.add_argument("--workers", type=int, help="threads serving calls (default 16)")
    serve.add_argument(
        "--batch-processes",
        type=int,
        help="helper processes that share large CalculateBatch calls (default: one per CPU beyond the first, at most 4;"
        " 0: none)",
    )
    serve.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    serve.add_argument("--tls-cert", type=Path, help="PEM certificate chain: serve TLS (with --tls-key)")
    serve.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    serve.add_argument("--token-file", type=Path, help="require this bearer token (or set LRTOOL_TOKEN)")
    serve.add_argument(
        "--insecure", action="store_true", default=None, help="allow a non-loopback --host without TLS and a token"
    )
    serve.add_argument("--max-concurrent-rpcs", type=int, help="calls in progress at once (default 256)")
    serve.set_defaults(run=_serve)

    ui = commands.add_parser("ui", help="the web UI (Gradio) against a running engine")
    engine_option(ui)
    ui.add_argument("--host", default="127.0.0.1", help="address the UI listens on (default 127.0.0.1)")
    ui.add_argument("--port", type=int, default=7860, help="UI port (default 7860)")
    ui.add_argument("--share", action="store_true", help="also publish a temporary public Gradio link")
    ui_access_options(ui)
    ui.set_defaults(run=_ui)

    up = commands.add_parser("up", help="the engine and the web UI together (what `make run` starts)")
    up.add_argument("--host", default="127.0.0.1", help="address the UI listens on (default 127.0.0.1)")
    up.add_argument("--port", type=int, default=7860, help="UI port (default 7860)")
    up.add_argument("--engine-port", type=int, help="engine port (default 50051; LRTOOL_PORT)")
    up.add_argument("--db", help="profile store: SQLite file (default: in your data directory) or postgresql://… URL")
    up.add_argument("--share", action="store_true", help="also publish a temporary public Gradio link")
    ui_access_options(up)
    up.set_defaults(run=_up)

    comfy = commands.add_parser("comfy", help="the ComfyUI node pack")
    comfy_actions = comfy.add_subparsers(dest="action", required=True, metavar="ACTION")
    comfy_install = comfy_actions.add_parser(
        "install", help="link the node pack into a ComfyUI and install lrtool into that ComfyUI's Python"
    )
    comfy_install.add_argument("comfy_root", type=Path, metavar="PATH", help="the ComfyUI folder (with custom_nodes/)")
    comfy_install.add_argument("--python", help="ComfyUI's Python (default: found inside PATH, else this one)")
    comfy_install.set_defaults(run=_comfy_install)

    load_config = commands.add_parser(
        "import", help="read a trainer config (kohya, kohya_ss GUI, ai-toolkit, OneTrainer, musubi-tuner)"
    )
    load_config.add_argument("file", type=Path, help="the trainer's config file")
    load_config.add_argument("--dataset", type=Path, help="its dataset config (sd-scripts, kohya_ss, musubi-tuner)")
    load_config.add_argument(
        "--format", default="", help="sd-scripts, kohya_ss, ai-toolkit, onetrainer or musubi-tuner (default: detect)"
    )
    for name in _IMPORT_FLAGS:
        field = fields.BY_NAME[name]
        described = field.help.split(" (default")[0]  # the file's value is the default here
        load_config.add_argument(field.flag, dest=name, type=_ARGUMENT_TYPES[field.kind], help=described)
    load_config.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE", help="any other configuration field"
    )
    load_config.add_argument("--write", type=Path, metavar="OUT", help="write the file with the chosen LR to OUT")
    chosen = load_config.add_mutually_exclusive_group()
    chosen.add_argument("--offset", type=float, help="with --write: LR = recommended × (1 + offset) (default 0)")
    chosen.add_argument("--lr", type=float, dest="learning_rate", help="with --write: this learning rate")
    load_config.add_argument("--json", action="store_true", help="print the result as JSON")
    engine_option(load_config)
    load_config.set_defaults(call=_import)

    calc = commands.add_parser("calc", help="recommend a learning rate for one configuration")
    config_arguments(calc)
    adjust = calc.add_mutually_exclusive_group()
    adjust.add_argument("--offset", type=float, help="slider offset −1 … +1: LR = recommended × (1 + offset)")
    adjust.add_argument("--lr", type=float, dest="learning_rate", help="score this learning rate instead")
    calc.add_argument("--json", action="store_true", help="print the full result as JSON")
    learning = calc.add_mutually_exclusive_group()
    learning.add_argument("--run-log", default="", metavar="LOG", help="learn from this run log (default: 'default')")
    learning.add_argument(
        "--population-only", action="store_true", help="ignore every run log: the population's recommendation"
    )
    engine_option(calc)
    calc.set_defaults(call=_calc)

    listed = commands.add_parser("catalog", help="the names the engine accepts: models, optimizers, schedules")
    listed.add_argument("what", nargs="?", choices=list(_CATALOG_LISTS), help="one list (default: all)")
    engine_option(listed)
    listed.set_defaults(call=_catalog)

    profiles = commands.add_parser("profiles", help="list, show, delete, export and import saved profiles")
    actions = profiles.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list saved profiles")
    engine_option(listing)
    listing.set_defaults(call=_profiles_list)
    show = actions.add_parser("show", help="show one profile")
    show.add_argument("name")
    show.add_argument("--json", action="store_true", help="print it as JSON")
    engine_option(show)
    show.set_defaults(call=_profiles_show)
    save = actions.add_parser("save", help="save the configuration given by flags as a profile")
    save.add_argument("name")
    config_arguments(save)
    save.add_argument("--offset", type=float, help="slider offset −1 … +1 stored with it (default 0)")
    save.add_argument("--notes", default="", help="free text stored with it")
    save.add_argument("--replace", action="store_true", help="overwrite a profile of the same name")
    engine_option(save)
    save.set_defaults(call=_profiles_save)
    delete = actions.add_parser("delete", help="delete a profile")
    delete.add_argument("name")
    engine_option(delete)
    delete.set_defaults(call=_profiles_delete)
    export = actions.add_parser("export", help="write a profile as an LRTool 1.0 profile file")
    export.add_argument("name")
    export.add_argument("file", type=Path)
    engine_option(export)
    export.set_defaults(call=_profiles_export)
    load = actions.add_parser("import", help="save an LRTool 1.0 profile file as a profile")
    load.add_argument("file", type=Path)
    load.add_argument("--name", help="profile name (default: the file name without .json)")
    load.add_argument("--replace", action="store_true", help="overwrite a profile of the same name")
    engine_option(load)
    load.set_defaults(call=_profiles_import)
    default = actions.add_parser("default", help="show, set or clear the profile clients load at start")
    default.add_argument("name", nargs="?", help="profile to make the default")
    default.add_argument("--clear", action="store_true", help="clear the default")
    engine_option(default)
    default.set_defaults(call=_profiles_default)

    runs = commands.add_parser("runs", help="the run log: runs you trained and how they came out")
    run_actions = runs.add_subparsers(dest="action", required=True, metavar="ACTION")

    def log_option(command: argparse.ArgumentParser) -> None:
        command.add_argument("--log", default="", help="the run log (default: 'default')")
        engine_option(command)

    add = run_actions.add_parser("add", help="record a run: its configuration, the rate it used, how it came out")
    config_arguments(add)
    add.add_argument("--lr", dest="learning_rate", type=float, required=True, help="the peak rate the run used")
    add.add_argument(
        "--outcome", choices=_OUTCOME_WORDS, type=str.lower, default="", help="how the final checkpoint came out"
    )
    add.add_argument("--best-step", type=int, help="the step of the checkpoint that looked best")
    add.add_argument("--notes", default="", help="what you saw")
    log_option(add)
    add.set_defaults(call=_runs_add)
    listing_runs = run_actions.add_parser("list", help="list the runs of a log, newest first")
    listing_runs.add_argument("--model", default="", help="only runs of this model")
    listing_runs.add_argument("--json", action="store_true", help="print them as JSON")
    log_option(listing_runs)
    listing_runs.set_defaults(call=_runs_list)
    load_runs = run_actions.add_parser("import", help="record every run of a CSV tuning log (all or none)")
    load_runs.add_argument("file", type=Path)
    config_arguments(load_runs, "for rows that leave it out: ")
    log_option(load_runs)
    load_runs.set_defaults(call=_runs_import)
    export_runs = run_actions.add_parser("export", help="write a log as a CSV tuning log")
    export_runs.add_argument("file", type=Path)
    log_option(export_runs)
    export_runs.set_defaults(call=_runs_export)
    delete_run = run_actions.add_parser("delete", help="delete a run by its id (see 'runs list')")
    delete_run.add_argument("id")
    engine_option(delete_run)
    delete_run.set_defaults(call=_runs_delete)
    return parser


def _fail(message: str, code: int) -> int:
    print(f"lrtool: {message}", file=sys.stderr)
    return code


class _CommandFailed(Exception):
    """A command cannot go on: main prints the message in one line and exits with the code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise _CommandFailed(f"cannot read {path}: {error.strerror}", EXIT_INVALID) from None


def _write(path: Path, content: bytes) -> None:
    try:
        path.write_bytes(content)
    except OSError as error:
        raise _CommandFailed(f"cannot write {path}: {error.strerror}", EXIT_FAILED) from None


def _print_calculation(result: Any) -> None:
    for field, label in _SUMMARY_ROWS:
        value = getattr(result, field)
        if field.endswith("_lr"):
            shown = presenting.rate(value, decimal=True)
        elif field == "stability_score":
            shown = f"{value:6.2f}  {result.risk_band}"
        elif field == "efficiency_score":
            shown = f"{value:6.2f}  {result.efficiency_band}"
        else:
            shown = f"{value:+.4f}"
        print(f"{label:<16} {shown}")
    print()
    for row in presenting.statistic_rows(result):
        if row.name not in _NOT_STATISTICS:
            print(f"  {row.name:<22} {row.value}")
    reasons = presenting.reasons_text(result)
    if reasons:
        print()
        print(reasons)
    for warning in result.warnings:
        print(f"warning: {warning}")


def _personal_line(result: Any) -> str:
    """Population and personal rates side by side, as the web UI shows them."""
    band = f"80 % band {presenting.rate(result.recommended_low)} … {presenting.rate(result.recommended_high)}"
    if not result.personal_runs:
        nudged = f"; runs of other models nudge it ×{result.personal_factor:.2f}" if result.personal_factor != 1 else ""
        return (
            f"Population LR    {presenting.rate(result.population_lr)}  (no logged runs of this model{nudged}; {band})"
        )
    runs = "run" if result.personal_runs == 1 else "runs"
    return (
        f"Population LR    {presenting.rate(result.population_lr)}  ->  your runs: ×{result.personal_factor:.2f},"
        f" {result.personal_runs} {runs}  ({band})"
    )


def _to_json(message: Any) -> str:
    return json.dumps(json_format.MessageToDict(message, preserving_proto_field_name=True), indent=2)


def _warn_of_password_in(db: str | None) -> None:
    """Every local user sees a process's arguments (ps): a password in --db is everyone's."""
    from urllib.parse import parse_qs, urlsplit

    if not db or "://" not in db:
        return
    try:
        url = urlsplit(db)
        password = url.password or parse_qs(url.query).get("password")
    except ValueError:
        return
    if password:
        print(
            "lrtool: warning: the password in --db is visible to every user of this machine (ps);"
            " give it in PGPASSWORD or a password file (~/.pgpass, or PGPASSFILE) instead,"
            " or the whole URL in LRTOOL_DB",
            file=sys.stderr,
        )


def _serve(arguments: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from .server import Settings, serve
    from .store import StoreError

    given = {
        key: value
        for key, value in (
            ("host", arguments.host),
            ("port", arguments.port),
            ("db", arguments.db),
            ("workers", arguments.workers),
            ("batch_processes", arguments.batch_processes),
            ("log_level", arguments.log_level),
            ("tls_cert", arguments.tls_cert),
            ("tls_key", arguments.tls_key),
            ("token_file", arguments.token_file),
            ("insecure", arguments.insecure),
            ("max_concurrent_rpcs", arguments.max_concurrent_rpcs),
        )
        if value is not None
    }
    try:
        settings = Settings(**given)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return _fail(f"invalid setting: {problems}", EXIT_INVALID)
    _warn_of_password_in(arguments.db)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    try:
        serve(settings)
    except ValueError as error:
        return _fail(str(error), EXIT_INVALID)
    except (OSError, StoreError) as error:
        return _fail(str(error), EXIT_FAILED)
    leave_without_lingering_threads()
    return EXIT_OK


def leave_without_lingering_threads(wait: float = EXIT_WAIT_SECONDS) -> None:
    """Python joins every worker thread at exit, so one request still busy after the server
    stopped (and the store closed) would hold the process open: give such threads `wait`
    seconds, then exit without them."""
    deadline = time.monotonic() + wait
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    lingering = [t.name for t in threading.enumerate() if t is not current and not t.daemon and t.is_alive()]
    if lingering:
        logging.getLogger("lrtool.server").warning(
            "exiting with %d thread(s) still busy after %.1f s: %s", len(lingering), wait, ", ".join(lingering)
        )
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_OK)


def _token_from(path: Path | None) -> str | None:
    """The first line of a token file (None: LRTOOL_TOKEN / LRTOOL_TOKEN_FILE apply)."""
    if path is None:
        return None
    from ._auth import read_token

    return read_token(None, path)


def _ui_access(arguments: argparse.Namespace) -> dict[str, Any]:
    """launch()'s login settings, checked before anything starts (ValueError names the options)."""
    from gradio_ui.access import check_ui_exposure, read_credentials

    auth = read_credentials(arguments.auth_file)
    check_ui_exposure(arguments.host, share=arguments.share, auth=auth, insecure=arguments.insecure)
    return {"auth": auth, "insecure": arguments.insecure}


def _ui(arguments: argparse.Namespace) -> int:
    access = _ui_access(arguments)
    from gradio_ui.app import launch

    address = arguments.engine or default_engine_address()
    token = _token_from(arguments.token_file)
    ca_file = str(arguments.ca_file) if arguments.ca_file else None
    print(f"LRTool UI on http://{arguments.host}:{arguments.port} (engine {address}); Ctrl-C stops it", flush=True)
    try:
        launch(
            address,
            host=arguments.host,
            port=arguments.port,
            share=arguments.share,
            token=token,
            ca_file=ca_file,
            quiet=True,
            **access,
        )
    except OSError as error:
        return _fail(f"cannot start the UI on {arguments.host}:{arguments.port}: {error}", EXIT_FAILED)
    return EXIT_OK


def _up(arguments: argparse.Namespace) -> int:
    """Engine (embedded SQLite store) and UI in one process; Ctrl-C or SIGTERM stops both cleanly."""
    import signal

    from pydantic import ValidationError

    access = _ui_access(arguments)
    from gradio_ui.app import launch

    from .server import Settings, create_server, describe_store, limit_malloc_arenas
    from .store import StoreError

    given = {"port": arguments.engine_port, "db": arguments.db}
    try:
        settings = Settings(**{key: value for key, value in given.items() if value is not None})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return _fail(f"invalid setting: {problems}", EXIT_INVALID)
    _warn_of_password_in(arguments.db)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        limit_malloc_arenas()  # before gRPC starts its threads
        server, port = create_server(settings)
    except OSError as error:
        return _fail(f"{error} (is another engine running? try --engine-port)", EXIT_FAILED)
    except StoreError as error:
        return _fail(str(error), EXIT_FAILED)
    server.start()

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    address = f"127.0.0.1:{port}"
    print(f"LRTool engine on {address} (profiles in {describe_store(settings.db)})", flush=True)
    print(f"LRTool UI on http://{arguments.host}:{arguments.port}; Ctrl-C stops both", flush=True)
    try:
        launch(address, host=arguments.host, port=arguments.port, share=arguments.share, quiet=True, **access)
    except OSError as error:
        return _fail(f"cannot start the UI on {arguments.host}:{arguments.port}: {error}", EXIT_FAILED)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print("LRTool stopped", flush=True)
    return EXIT_OK


def _calc(arguments: argparse.Namespace, engine: LRToolClient) -> int:
    config = _config_fields(arguments)
    result = engine.calculate(
        config,
        offset=arguments.offset,
        learning_rate=arguments.learning_rate,
        run_log=arguments.run_log,
        population_only=arguments.population_only,
    )
    if arguments.json:
        print(_to_json(result))
    else:
        _print_calculation(result)  # the rate first: `lrtool calc … | head -1` is the rate
        print(_personal_line(result))
        print(f"{'Resolved as':<16} {presenting.resolved_text(config, engine.get_catalog())}")
    return EXIT_OK


def _field_value(text: str) -> Any:
    """FIELD=VALUE from the shell: numbers as numbers, the rest as text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _import(arguments: argparse.Namespace, engine: LRToolClient) -> int:
    try:
        content = arguments.file.read_bytes()
        dataset = arguments.dataset.read_bytes() if arguments.dataset else b""
    except OSError as error:
        return _fail(f"cannot read {error.filename}: {error.strerror}", EXIT_INVALID)
    overrides: dict[str, Any] = {name: getattr(arguments, name) for name in _IMPORT_FLAGS}
    for item in arguments.set:
        field, separator, value = item.partition("=")
        if not separator:
            return _fail(f"--set takes FIELD=VALUE; got {item!r}", EXIT_INVALID)
        overrides[field.strip()] = _field_value(value.strip())
    result = engine.import_trainer_config(
        content,
        arguments.file.name,
        format=arguments.format,
        dataset_content=dataset,
        dataset_filename=arguments.dataset.name if arguments.dataset else "",
        overrides=overrides,
    )
    if arguments.json:
        print(_to_json(result))
    else:
        print(f"{arguments.file.name}: {result.format}")
        config = json_format.MessageToDict(result.config, preserving_proto_field_name=True)
        print("configuration: " + ", ".join(f"{key}={value}" for key, value in config.items()))
        for found in result.learning_rates:
            scored = ""
            if found.HasField("evaluation"):
                evaluation = found.evaluation
                scored = (
                    f": stability {evaluation.stability_score:.1f} {evaluation.risk_band},"
                    f" efficiency {evaluation.efficiency_score:.1f} {evaluation.efficiency_band}"
                )
            trained = (
                f" (trains at {presenting.rate(found.trained_value)})" if found.trained_value != found.value else ""
            )
            print(f"learning rate in the file: {found.key} = {found.value:g}{trained}{scored}")
        for warning in result.warnings:
            print(f"note: {warning}")
        if result.missing_fields:
            flags = " ".join(fields.BY_NAME[name].flag if name in _IMPORT_FLAGS else f"--set {name}=…"
                             for name in result.missing_fields)  # fmt: skip
            print(f"missing: {', '.join(result.missing_fields)}; supply them with {flags}")
        if result.HasField("recommendation"):
            print()
            _print_calculation(result.recommendation)
    if arguments.write is None:
        return EXIT_OK
    if not result.HasField("recommendation"):
        return _fail("cannot write a learning rate before the configuration is complete (see 'missing')", EXIT_INVALID)
    rate = arguments.learning_rate or result.recommendation.recommended_lr * (1.0 + (arguments.offset or 0.0))
    written = engine.export_trainer_config(content, rate, arguments.file.name, format=arguments.format)
    try:
        arguments.write.write_bytes(written)
    except OSError as error:
        return _fail(f"cannot write {arguments.write}: {error.strerror}", EXIT_FAILED)
    print(
        f"wrote {arguments.write} with learning rate {presenting.rate(rate)}",
        file=sys.stderr if arguments.json else sys.stdout,
    )
    return EXIT_OK


def _profiles_list(arguments: argparse.Namespace, engine: LRToolClient) -> int:
    default = engine.default_profile()
    summaries = list(engine.iter_profiles())
    if not summaries:
        print("no saved profiles")
    for summary in summaries:
        marker = "*" if summary.name == default else " "
        updated = summary.updated_at.ToDatetime().strftime("%Y-%m-%d %H:%M")
        print(f"{marker} {summary.name:<40} v{summary.version:<4} {updated} UTC")
    return EXIT_OK


def _profiles_show(arguments: argparse.Namespace, engine: LRToolClient) -> int:
    profile = engine.get_profile(arguments.name)
    if arguments.json:
        print(_to_json(profile))
        return EXIT_OK
    print(f"{profile.name}  (version {profile.version})")
    if profile.notes:
        print(f"notes: {profile.notes}")
    config = json_format.MessageToDict(profile.config, preserving_proto_field_name=True)
    print("configuration: " + ", ".join(f"{key}={value}" for key, value in config.items()))
    print()
    _print_calculation(profile.statistics)
    return EXIT_OK


def _profiles_save(arguments: argparse.Namespace, engine: LRToolClient) -> int:
    """Save a configuration given by flags; an existing name is refused unless --replace (as on import)."""
    profile = engine.save_profile(
        arguments.name,
        _config_fields(arguments),
        offset=arguments.offset or 0.0,
        notes=arguments.notes,
        expected_version=None if arguments.replace else 0,
    )
    print(
        f"saved {profile.name!r} (version {profile.version}):"
        f" recommended LR {presenting.rate(profile.statistics.recommended_lr)}"
    )
    return EXIT_OK


def _profiles_delete(arguments: argparse.Namespace, engine: LRToolClient) -> int:
    engine.delete_profile(arguments.name)
    print(f"deleted {arguments.name!r}")
    return EXIT_OK


def _profiles_export(arguments: argparse.Namespace, engine: LRToolClient) -> int:
    _write(arguments.file, engine.export_profile(arguments.name).content)
    print(f"wrote {arguments.file}")
    return EXIT_OK


def _profiles_import(arguments: argparse.Namespace, engine: LRToolClient) -> int:
    content = _read(arguments.file)
    name = arguments.name or arguments.file.stem
    profile = engine.import_profile(content, name, expected_version=None if arguments.replace else 0)
    print(f"imported {profile.name!r}: recommended LR {presenting.rate(profile.statistics.recommended_lr)}")
    return EXIT_OK


def _profiles_default(arguments: argparse.Namespace, engine: LRToolClient) -> int:
    if arguments.clear:
        engine.set_default_profile(None)
        print("no default profile")
    elif arguments.name:
        print(f"default profile: {engine.set_default_profile(arguments.name)}")
    else:
        print(engine.default_profile() or "no default profile")
    return EXIT_OK


def _config_fields(arguments: argparse.Namespace) -> dict[str, Any]:
    given = {field.name: getattr(arguments, field.name) for field in fields.FIELDS}
    return {name: value for name, value in given.items() if value is not None}


def _runs_add(arguments: argparse.Namespace, engine: LRToolClient) -> int:
    run = engine.record_run(
        _config_fields(arguments),
        arguments.learning_rate,
        outcome=arguments.outcome,
        best_step=arguments.best_step,
        notes=arguments.notes,
        log=arguments.log,
    )
    print(f"recorded run {run.id} in log {run.log!r}")
    print(_personal_line(engine.calculate(run.config, run_log=run.log)))
    return EXIT_OK


def _runs_list(arguments: argparse.Namespace, engine: LRToolClient) -> int:
    runs = list(engine.iter_runs(arguments.log, model=arguments.model))
    if arguments.json:
        print(json.dumps([json_format.MessageToDict(r, preserving_proto_field_name=True) for r in runs], indent=2))
        return EXIT_OK
    if not runs:
        print(f"no runs in log {arguments.log or 'default'!r}")
    for run in runs:
        recorded = run.recorded_at.ToDatetime().strftime("%Y-%m-%d %H:%M")
        outcome = pb.Outcome.Name(run.outcome).lower() if run.outcome else "-"
        best = f"best {run.best_step:,}" if run.HasField("best_step") else ""
        config = run.config
        print(
            f"{run.id:>6}  {recorded}  {config.model:<10} {config.steps:>7,} steps  rank {config.rank:<4}"
            f" lr {presenting.rate(run.learning_rate):<9}  {outcome:<12} {best:<12} {run.notes}".rstrip()
        )
    return EXIT_OK


def _runs_import(arguments: argparse.Namespace, engine: LRToolClient) -> int:
    content = _read(arguments.file)
    runs = engine.import_runs(content, arguments.log, filename=arguments.file.name, base=_config_fields(arguments))
    log = runs[0].log if runs else arguments.log or "default"
    print(f"imported {len(runs)} runs into log {log!r}; `lrtool calc ... --run-log {log}` learns from them")
    return EXIT_OK


def _runs_export(arguments: argparse.Namespace, engine: LRToolClient) -> int:
    _write(arguments.file, engine.export_runs(arguments.log).content)
    print(f"wrote {arguments.file}")
    return EXIT_OK


def _runs_delete(arguments: argparse.Namespace, engine: LRToolClient) -> int:
    engine.delete_run(arguments.id)
    print(f"deleted run {arguments.id}")
    return EXIT_OK


#: What `lrtool catalog` lists: (what, the catalog's list of it).
_CATALOG_LISTS = {"models": "models", "optimizers": "optimizers", "schedules": "schedules"}


def _catalog(arguments: argparse.Namespace, engine: LRToolClient) -> int:
    """The names the engine accepts, with their aliases (schedules by the trainer or formula set that offers them)."""
    catalog = engine.get_catalog()
    wanted = [arguments.what] if arguments.what else list(_CATALOG_LISTS)
    for what in wanted:
        print(f"{what}:")
        if what == "schedules":
            owners = [(f"trainer {t.id}", t.schedules) for t in catalog.trainers]
            owners += [(f"formula {f.id}", f.schedules) for f in catalog.formula_sets if not f.uses_trainer]
            for owner, schedules in owners:
                print(f"  {owner}:")
                for schedule in schedules:
                    taken = ", ".join(parameter.name for parameter in schedule.parameters)
                    print(f"    {schedule.id:<32} {schedule.display_name}" + (f"  (takes {taken})" if taken else ""))
            continue
        for entry in getattr(catalog, _CATALOG_LISTS[what]):
            aliases = f"  also: {', '.join(entry.aliases)}" if entry.aliases else ""
            print(f"  {entry.id:<24} {entry.display_name}{aliases}")
    return EXIT_OK


def _comfy_install(arguments: argparse.Namespace) -> int:
    from comfy_nodes.install import InstallError, install

    try:
        print(install(arguments.comfy_root, python=arguments.python))
    except InstallError as error:
        return _fail(str(error), EXIT_FAILED)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    local: Callable[[argparse.Namespace], int] | None = getattr(arguments, "run", None)
    if local is not None:  # serve, ui, up, comfy: no engine connection of their own here
        try:
            return local(arguments)
        except ValueError as error:  # unusable settings, e.g. an unreadable token file
            return _fail(str(error), EXIT_INVALID)
    command: Callable[[argparse.Namespace, LRToolClient], int] = arguments.call
    try:
        with LRToolClient(
            arguments.engine, token=_token_from(arguments.token_file), ca_file=arguments.ca_file
        ) as engine:
            return command(arguments, engine)
    except InvalidArgument as error:
        print("lrtool: the engine rejected the input:", file=sys.stderr)
        for violation in error.violations or ():
            print(f"  {violation}", file=sys.stderr)
        if not error.violations:
            print(f"  {error.message}", file=sys.stderr)
        return EXIT_INVALID
    except ValueError as error:  # an unreadable token file
        return _fail(str(error), EXIT_INVALID)
    except EngineUnavailable as error:
        return _fail(error.message, EXIT_UNAVAILABLE)
    except (ProfileNotFound, RunNotFound) as error:
        return _fail(error.message, EXIT_NOT_FOUND)
    except (VersionConflict, ProfileAlreadyExists) as error:
        hint = " (use --replace to overwrite)" if isinstance(error, ProfileAlreadyExists) else ""
        return _fail(error.message + hint, EXIT_CONFLICT)
    except LRToolClientError as error:
        return _fail(error.message, EXIT_FAILED)
    except _CommandFailed as error:
        return _fail(str(error), error.code)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_FAILED)


def run() -> int:
    """The console script: main(), quiet when its output is cut short (e.g. `lrtool … | head`)."""
    try:
        return main()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(run())
