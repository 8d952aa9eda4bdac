"""Policy versioning: a new version of the return policy, with its SLA rules.

Returns writes the policy row (``policy_version_create``), then sla copies the
base version's SLA rules to it, in one transaction. The admin calls this.
"""

from __future__ import annotations

from django.db import transaction

from returns.models import ReturnPolicy
from returns.services.policy import policy_version_create as returns_policy_version_create
from sla.services import sla_rules_copy


def policy_version_create(*, base: ReturnPolicy | None, data: dict, actor) -> ReturnPolicy:
    with transaction.atomic():
        created = returns_policy_version_create(base=base, data=data, actor=actor)
        if base is not None:
            sla_rules_copy(source_policy_id=base.pk, target_policy_id=created.pk)
        return created
