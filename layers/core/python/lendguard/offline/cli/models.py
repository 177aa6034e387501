"""``lendguard models list|show|register``: the model registry from the command line.

Where the registry is (``--registry``, or the ``LENDGUARD_REGISTRY`` environment variable):

* a **directory** (the default: ``$LENDGUARD_HOME``, i.e. ``.lendguard`` in the repository) laid
  out like the bucket, ``models/<id>/v<version>/{model.json,metadata.json}``. The local runtime
  trains and reads the default model from this same place;
* ``s3://BUCKET``, or just ``s3`` for the bucket named by ``LENDGUARD_ARTIFACTS_BUCKET``: the
  artifacts bucket of a deployment, reached with the usual AWS credentials. Set
  ``LENDGUARD_AWS_ENDPOINT`` to talk to a local stack instead, e.g. the one ``lendguard serve``
  runs: ``LENDGUARD_AWS_ENDPOINT=http://127.0.0.1:5000 lendguard models list --registry
  s3://lendguard-local-artifactsbucket``.

Versions are immutable: ``register`` refuses an id and version that exist (``--next-version``
re-numbers the model to the next free version instead). Bad input (unknown model, taken
version, unreadable directory) exits with status 2.

Also holds the body of ``lendguard train`` (the command itself is declared in ``cli.py``).
Heavy imports (pandas, xgboost, scikit-learn, boto3) happen inside the commands.
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from lendguard.core.errors import Conflict, InvalidInput, NotFound
from lendguard.offline import project
from lendguard.offline.cli.common import err, fail_with, out

if TYPE_CHECKING:  # pragma: no cover
    from lendguard.models.artifact import ModelArtifact
    from lendguard.models.registry import ModelRegistry

models_app = typer.Typer(
    no_args_is_help=True, help="The model registry: list, show and register model versions."
)

REGISTRY_ENV = "LENDGUARD_REGISTRY"


class ModelKind(StrEnum):
    """What ``lendguard train --kind`` builds."""

    xgboost = "xgboost"
    scorecard = "scorecard"


def default_registry() -> str:
    """``$LENDGUARD_REGISTRY``, else ``$LENDGUARD_HOME``, else ``.lendguard`` in the repository."""

    return (
        os.environ.get(REGISTRY_ENV)
        or os.environ.get("LENDGUARD_HOME")
        or str(project.project_root() / ".lendguard")
    )


def open_registry(location: str | None) -> ModelRegistry:
    """The registry at ``location``: a directory, ``s3://BUCKET`` or ``s3`` (see the module doc)."""
    from lendguard.models.registry import DirectoryRegistry

    loc = location or default_registry()
    if loc == "s3" or loc.startswith("s3://"):
        from lendguard import deployment
        from lendguard.store.model_registry import S3ModelRegistry

        bucket = (
            loc[len("s3://") :].strip("/")
            if loc != "s3"
            else os.environ.get(deployment.ENV_ARTIFACTS_BUCKET, "")
        )
        if not bucket or "/" in bucket:
            raise InvalidInput(
                "invalid registry",
                [
                    _field(
                        "--registry",
                        f"{loc!r}: use s3://BUCKET, or set {deployment.ENV_ARTIFACTS_BUCKET} for 's3'",
                    )
                ],
            )
        return S3ModelRegistry(bucket)
    path = Path(loc)
    if path.exists() and not path.is_dir():
        raise InvalidInput("invalid registry", [_field("--registry", f"{loc}: not a directory")])
    return DirectoryRegistry(path)


def _field(name: str, message: str) -> Any:
    from lendguard.core.errors import FieldError

    return FieldError(field=name, message=message)


RegistryOpt = Annotated[
    str | None,
    typer.Option(
        "--registry",
        envvar=REGISTRY_ENV,
        help="Registry: a directory (default $LENDGUARD_HOME or .lendguard), s3://BUCKET, or s3",
        show_default=False,
    ),
]


@models_app.command("list")
def models_list(
    model_id: Annotated[str | None, typer.Argument(help="Only this model's versions")] = None,
    registry: RegistryOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Registered model versions with kind, training time and holdout metrics."""
    try:
        reg = open_registry(registry)
        entries = reg.listing(model_id)
    except (InvalidInput, ValueError, NotFound) as exc:
        fail_with(exc)
    if as_json:
        out.print_json(json.dumps([e.model_dump(mode="json") for e in entries]))
        return
    table = Table(title=f"Models in {reg.location}")
    for col in ("model", "version", "kind", "trained", "features", "train rows", "AUC", "KS", "Gini"):
        table.add_column(
            col,
            justify="right" if col in ("version", "features", "train rows", "AUC", "KS", "Gini") else "left",
        )
    for e in entries:
        table.add_row(
            e.model_id, str(e.version), e.kind, e.trained_at.strftime("%Y-%m-%d %H:%M"), str(e.n_features),
            str(e.n_train), f"{e.metrics.auc:.4f}", f"{e.metrics.ks:.4f}", f"{e.metrics.gini:.4f}",
        )  # fmt: skip
    out.print(table)
    if not entries:
        out.print("no models registered" + (f" under {model_id}" if model_id else ""))


def policy_snippet(artifact: ModelArtifact) -> str:
    """The ``scoring`` section of a policy that uses this model (a scorecard's card in full).

    Bins are written one per line in YAML flow style so the card reads as a table.
    """
    import yaml

    class _Flow(dict):
        pass

    class _Dumper(yaml.SafeDumper):
        pass

    _Dumper.add_representer(
        _Flow, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)
    )

    def tidy(value: Any) -> Any:  # 26.0 -> 26: whole points read better
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, dict):
            return type(value)({k: tidy(v) for k, v in value.items()})
        if isinstance(value, list):
            return [tidy(v) for v in value]
        return value

    meta = artifact.metadata
    section: dict[str, Any] = {"model": _Flow(id=meta.model_id, version=meta.version)}
    if meta.kind == "scorecard":
        card = tidy(artifact.scorecard().model_dump(mode="json", exclude_none=True))
        for feature in card["features"]:
            feature["bins"] = [_Flow(b) for b in feature["bins"]]
        section["scorecard"] = card
    section["scale"] = _Flow(tidy(meta.scale.model_dump(mode="json")))
    return yaml.dump({"scoring": section}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


@models_app.command("show")
def models_show(
    model_id: Annotated[str, typer.Argument(help="Model id")],
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="Version (default: the latest)")
    ] = None,
    registry: RegistryOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metadata as JSON")] = False,
    policy: Annotated[
        bool,
        typer.Option(
            "--policy", help="Print the policy 'scoring' section using this model (the card for scorecards)"
        ),
    ] = False,
) -> None:
    """One version: metadata, holdout metrics, features; a scorecard's bins and points."""
    try:
        reg = open_registry(registry)
        v = reg.resolve(model_id, version)
        artifact = reg.load(model_id, v)
    except (InvalidInput, ValueError, NotFound) as exc:
        fail_with(exc)
    meta = artifact.metadata
    if policy:
        typer.echo(policy_snippet(artifact), nl=False)  # plain: rich would wrap long lines
        return
    if as_json:
        out.print_json(meta.model_dump_json())
        return
    m = meta.metrics
    out.print(f"[bold]{meta.model_id} v{meta.version}[/] ({meta.kind}) in {reg.location}")
    out.print(f"trained {meta.trained_at.isoformat()} on {meta.n_train} rows (+{meta.n_holdout} holdout), "
              f"label {meta.label!r}" + (f" (bad = {meta.label_bad!r})" if meta.label_bad else ""))  # fmt: skip
    out.print(f"holdout AUC {m.auc:.4f}  KS {m.ks:.4f}  Gini {m.gini:.4f}")
    out.print(f"data sha256 {meta.data_sha256}  model sha256 {meta.model_sha256 or '-'}")
    out.print(
        f"scale: {meta.scale.base_points:g} points at {meta.scale.base_odds:g}:1, PDO {meta.scale.pdo:g}"
    )
    features = Table(title="Features")
    for col in ("feature", "type", "categories"):
        features.add_column(col, overflow="fold")
    for f in meta.features:
        features.add_row(f.name, f.type, ", ".join(f.categories or []) or "-")
    out.print(features)
    if meta.kind == "scorecard":
        doc = artifact.scorecard_document()
        card = Table(title=f"Scorecard (intercept {doc.card.intercept_points:g} points)")
        for col in ("feature", "bin", "rows", "bad rate", "WOE", "points"):
            card.add_column(col, overflow="fold", justify="left" if col in ("feature", "bin") else "right")
        for tf, cf in zip(doc.features, doc.card.features, strict=True):
            for i, b in enumerate(tf.bins):
                card.add_row(
                    f"{tf.name} (IV {tf.iv:.3f})" if i == 0 else "", b.label, str(b.n),
                    f"{b.bad / b.n:.1%}" if b.n else "-", f"{b.woe:+.3f}", f"{b.points:g}",
                )  # fmt: skip
            missing = tf.missing
            card.add_row(
                "", "(missing)", str(missing.n) if missing else "-", "-", "-", f"{cf.missing_points:g}"
            )
            if cf.other_points is not None:
                card.add_row("", "(other)", "-", "-", "-", f"{cf.other_points:g}")
        out.print(card)
        if doc.rejected:
            out.print("left out: " + "; ".join(f"{k} ({v})" for k, v in doc.rejected.items()))


@models_app.command("register")
def models_register(
    directory: Annotated[
        Path, typer.Argument(help="Directory with model.json and metadata.json (lendguard train --out)")
    ],
    registry: RegistryOpt = None,
    next_version: Annotated[
        bool,
        typer.Option("--next-version", help="Register as the next free version instead of the metadata's"),
    ] = False,
) -> None:
    """Register a trained model as a new, immutable version."""
    from lendguard.models.artifact import METADATA_FILE, MODEL_FILE, ModelArtifact

    try:
        missing = [n for n in (MODEL_FILE, METADATA_FILE) if not (directory / n).is_file()]
        if missing:
            raise InvalidInput(
                "cannot register", [_field("DIRECTORY", f"{directory}: {', '.join(missing)} not found")]
            )
        try:
            artifact = ModelArtifact.load(directory)
        except (ValueError, OSError) as exc:
            raise InvalidInput("cannot register", [_field("DIRECTORY", f"{directory}: {exc}")]) from None
        reg = open_registry(registry)
        if next_version:
            meta = artifact.metadata.model_copy(
                update={"version": reg.next_version(artifact.metadata.model_id)}
            )
            artifact = ModelArtifact(meta, artifact.model_json)
        where = reg.register(artifact)
    except (InvalidInput, ValueError, Conflict, NotFound) as exc:
        fail_with(exc)
    meta = artifact.metadata
    out.print(f"registered {meta.model_id} v{meta.version} ({meta.kind}) at {where}")


def _csv_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items


def run_train(
    *,
    data: Path | None,
    label: str | None,
    bad: str | None,
    kind: ModelKind,
    out_dir: Path | None,
    model_id: str | None,
    version: int,
    seed: int,
    holdout: float,
    rows: int,
    features: str | None,
    categorical: str | None,
    base_points: float,
    base_odds: float,
    pdo: float,
    keep: str | None = None,
    cv_folds: int = 5,
) -> None:
    """The body of ``lendguard train`` (see its help); prints the report, exits 2 on bad input.

    With ``--data``: every column's treatment (numeric, categorical, excluded and why) is shown
    and written with the holdout metrics (and XGBoost's cross-validated AUC) to ``report.json``
    and ``report.txt`` beside the model; warnings (excluded identifier-like columns, tokens read
    as missing) go to stderr.
    """
    from lendguard.models.points import PointsScale
    from lendguard.models.registry import check_model_id

    try:
        if model_id is not None:
            try:
                check_model_id(model_id)
            except ValueError as exc:
                raise InvalidInput("invalid option", [_field("--model-id", str(exc))]) from None
        if data is None:
            given = [n for n, v in (("--label", label), ("--bad", bad), ("--features", features), ("--categorical", categorical), ("--keep", keep)) if v is not None]  # fmt: skip
            if given:
                raise InvalidInput("invalid options", [_field(n, "only applies with --data") for n in given])
            _train_synthetic(kind, out_dir, model_id, version, rows, seed)
            return
        if label is None:
            raise InvalidInput(
                "missing option", [_field("--label", "the label column is required with --data")]
            )
        if out_dir is None:
            raise InvalidInput(
                "missing option", [_field("--out", "the output directory is required with --data")]
            )
        if out_dir.exists() and not out_dir.is_dir():
            raise InvalidInput(
                "invalid option", [_field("--out", f"{out_dir} exists and is not a directory")]
            )
        if not 0.0 < holdout < 1.0:
            raise InvalidInput("invalid option", [_field("--holdout", "must be strictly between 0 and 1")])
        if cv_folds == 1 or not 0 <= cv_folds <= 20:
            raise InvalidInput(
                "invalid option", [_field("--cv-folds", "must be 0 (no cross-validation) or 2 to 20")]
            )
        try:
            scale = PointsScale(base_points=base_points, base_odds=base_odds, pdo=pdo)
        except ValueError as exc:
            raise InvalidInput(
                "invalid scale", [_field("--base-odds / --pdo", str(exc).splitlines()[0])]
            ) from None
        from lendguard.offline.training.report import REPORT_JSON, REPORT_TEXT
        from lendguard.offline.training.tabular import default_model_id, read_training_csv, train_from_frame
        from lendguard.offline.training.xgb import CvSettings

        frame = read_training_csv(data)
        with err.status("training"):
            trained = train_from_frame(
                frame, label, kind=kind.value, bad=bad, features=_csv_list(features),
                categorical=_csv_list(categorical), model_id=model_id or default_model_id(data, kind.value),
                version=version, seed=seed, holdout=holdout, scale=scale, keep=_csv_list(keep),
                cv=CvSettings(folds=cv_folds) if cv_folds else None,
            )  # fmt: skip
    except InvalidInput as exc:
        fail_with(exc)
    trained.artifact.save(out_dir)
    (out_dir / REPORT_TEXT).write_text(trained.report + "\n")
    (out_dir / REPORT_JSON).write_text(trained.summary.model_dump_json(indent=2) + "\n")
    for warning in trained.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    _print_training(trained)
    meta = trained.artifact.metadata
    out.print(f"written to {out_dir} (model {meta.model_id} v{meta.version}); register it with "
              f"`lendguard models register {out_dir}`")  # fmt: skip


def _print_training(trained: Any) -> None:
    """How the label was read, the columns table, then the model kind's report (holdout and CV)."""
    summary = trained.summary
    columns = Table(title="Columns")
    for col in ("column", "treatment", "distinct", "missing", "why"):
        columns.add_column(
            col, overflow="fold", justify="right" if col in ("distinct", "missing") else "left"
        )
    colours = {"excluded": "yellow", "label": "bold"}
    for c in summary.columns:
        style = colours.get(c.treatment, "")
        columns.add_row(
            c.name,
            f"[{style}]{c.treatment}[/]" if style else c.treatment,
            str(c.distinct),
            str(c.missing),
            c.reason,
        )
    out.print(trained.report.split("\n", 1)[0], markup=False, highlight=False)  # how the label was read
    out.print(columns)
    # the model kind's report: sizes, the holdout metrics, the CV AUC beside them, importances or the card
    out.print(trained.report_model.to_text(), markup=False, highlight=False)


def _train_synthetic(
    kind: ModelKind, out_dir: Path | None, model_id: str | None, version: int, rows: int, seed: int
) -> None:
    from lendguard.offline.training import default_model

    if kind is ModelKind.xgboost:
        model_id = model_id or "default-xgb"
        target = out_dir or Path(".lendguard/models") / model_id / f"v{version}"
        with err.status("training"):
            _, report = default_model.train_default_model(
                target, model_id=model_id, version=version, rows=rows, seed=seed
            )
    else:
        model_id = model_id or "default-scorecard"
        target = out_dir or Path(".lendguard/models") / model_id / f"v{version}"
        with err.status("training"):
            _, report = default_model.train_default_scorecard(
                target, model_id=model_id, version=version, rows=rows, seed=seed
            )
    out.print(report, markup=False, highlight=False)
    out.print(f"written to {target}")
