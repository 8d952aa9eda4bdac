"""Writes for quality: the return-line validator, the automatic checks and
their outcome, evidence, QC inspections, repair orders and defect patterns."""

from .checks import assess_items, outcomes_apply, quality_react, return_items_validate
from .evidence import PhotoError, StoredFiles, evidence_add, evidence_check, photos_check
from .qc import (
    InspectionData,
    defect_pattern_create,
    inspection_check,
    inspection_finish,
    inspection_qc_event,
    repair_handle_event,
)

__all__ = [
    "InspectionData",
    "PhotoError",
    "StoredFiles",
    "assess_items",
    "defect_pattern_create",
    "evidence_add",
    "evidence_check",
    "inspection_check",
    "inspection_finish",
    "inspection_qc_event",
    "outcomes_apply",
    "photos_check",
    "quality_react",
    "repair_handle_event",
    "return_items_validate",
]
