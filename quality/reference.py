"""Defect types the product starts with; ops add more in the admin. Created
after every migrate or flush so they can never be missing."""

DEFECT_TYPES = [
    ("hardware_failure", "Hardware failure", ""),
    ("cosmetic_damage", "Cosmetic damage", ""),
    ("missing_parts", "Missing parts", ""),
    ("wrong_item_sent", "Wrong item sent", "wrong_item"),
    ("damaged_in_transit", "Damaged in transit", "damaged_in_transit"),
    ("not_as_described", "Not as described", "not_as_described"),
    ("unclassified", "Not yet classified (QC classifies)", ""),
]


def ensure_defect_types(**_kwargs) -> None:
    from .models import DefectType

    for code, label, reason in DEFECT_TYPES:
        DefectType.objects.get_or_create(
            code=code, defaults={"label": label, "default_for_reason": reason}
        )
