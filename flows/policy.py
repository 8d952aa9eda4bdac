"""Policy versioning: a new version of the return policy, with its SLA rules;
and the configuration a process keeps (``policy_config_read``).

Returns writes the policy row (``policy_version_create``), then sla copies the
base version's SLA rules to it, in one transaction. The admin calls this.
"""

from __future__ import annotations

from django.db import transaction

from returns.models import ReturnPolicy
from returns.services.policy import policy_version_create as returns_policy_version_create
from sla.services import sla_rules_copy


def policy_config_read() -> None:
    """Read what creating a return reads of the configuration (the current
    policy, the active reasons, the policy's SLA rules) into this process's
    cache (``oms.config_cache``), as a worker has it after its first return:
    benches and statement ceilings count that steady state."""
    from returns.services.common import policy_current
    from returns.services.plan import active_reasons
    from sla.selectors import sla_rules_of_policy

    sla_rules_of_policy(policy_current().pk)
    active_reasons()


def policy_version_create(*, base: ReturnPolicy | None, data: dict, actor) -> ReturnPolicy:
    with transaction.atomic():
        created = returns_policy_version_create(base=base, data=data, actor=actor)
        if base is not None:
            sla_rules_copy(source_policy_id=base.pk, target_policy_id=created.pk)
        return created
