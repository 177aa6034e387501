"""The training report: every column's treatment, the holdout metrics, the CV figure, the model.

Written as ``report.json`` (and ``report.txt``) beside the model by ``lendguard train``, and
printed by it. Offline only.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr

from lendguard.core.base_model import Model
from lendguard.models.artifact import HoldoutMetrics
from lendguard.offline.training.columns import ColumnTreatment
from lendguard.offline.training.xgb import CvResult

__all__ = ["REPORT_JSON", "REPORT_TEXT", "TrainingSummary"]

REPORT_JSON = "report.json"
REPORT_TEXT = "report.txt"


class TrainingSummary(Model):
    """What a training run read, left out, and achieved."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    model_id: str
    version: int
    kind: Literal["xgboost", "scorecard"]
    label: str
    bad_value: str = Field(description="The label value read as bad (1)")
    n_rows: int
    columns: list[ColumnTreatment] = Field(description="Every column of the data, with its treatment")
    warnings: list[str]
    n_train: int
    n_holdout: int
    holdout: HoldoutMetrics
    train_auc: float
    cv: CvResult | None = Field(default=None, description="Cross-validation on the training part (XGBoost)")
    model: dict[str, Any] = Field(
        description="The model kind's own report (importances, or IVs and the card)"
    )

    @classmethod
    def build(
        cls,
        *,
        kind: Literal["xgboost", "scorecard"],
        label: str,
        bad_value: str,
        n_rows: int,
        columns: list[ColumnTreatment],
        warnings: list[str],
        report: Any,
    ) -> TrainingSummary:
        """From the column plan and a :class:`TrainingReport` or :class:`ScorecardReport`."""
        return cls(
            model_id=report.model_id, version=report.version, kind=kind, label=label, bad_value=bad_value,
            n_rows=n_rows, columns=columns, warnings=warnings, n_train=report.n_train,
            n_holdout=report.n_holdout, holdout=report.metrics, train_auc=report.train_auc,
            cv=getattr(report, "cv", None), model=report.model_dump(mode="json"),
        )._with_text(report.to_text())  # fmt: skip

    _model_text: str = PrivateAttr(default="")

    def _with_text(self, text: str) -> TrainingSummary:
        self._model_text = text
        return self

    def columns_text(self) -> str:
        """One line per column: name, treatment, why."""
        width = max((len(c.name) for c in self.columns), default=0)
        return "\n".join(f"  {c.name:<{width}}  {c.treatment:<11}  {c.reason}" for c in self.columns)

    def to_text(self) -> str:
        """Columns first, then the model kind's own report (which carries the holdout and CV lines)."""
        lines = ["columns:", self.columns_text()]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines) + "\n" + self._model_text
