"""Reference data the product needs to run: reason codes, the first policy
and the native web channel. Created by a data migration and again after every
migrate or flush (post_migrate), so it can never be missing."""

REASONS = [
    ("size_too_small", "Size too small", False, False),
    ("size_too_large", "Size too large", False, False),
    ("changed_mind", "Changed my mind", False, False),
    ("not_as_described", "Not as described", False, False),
    ("defective", "Defective", True, True),
    ("damaged_in_transit", "Damaged in transit", True, True),
    ("wrong_item", "Wrong item sent", True, False),
    ("refused_at_door", "Refused at the door", False, False),
]


def ensure_reference_data(**_kwargs) -> None:
    from orders.models import Channel

    from .models import ReturnPolicy, ReturnReason

    for code, label, merchant_fault, defect in REASONS:
        ReturnReason.objects.get_or_create(
            code=code, defaults={"label": label, "merchant_fault": merchant_fault, "defect": defect}
        )
    if not ReturnPolicy.objects.exists():
        ReturnPolicy.objects.create(version=1, name="Standard")
    Channel.objects.get_or_create(code="web", defaults={"name": "Web store", "platform": "native"})
