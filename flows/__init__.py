"""The use cases: one function per thing a person or a system does, above the
domain apps (orders, returns, refunds, quality, sla).

Each public function opens one ``transaction.atomic()`` and calls the domain
services in plain sight, in order; the services' own ``atomic()`` blocks
become savepoints. A change to a return is always followed by
``flows.reactions.return_changed`` (quality, then refunds, then sla, then
closing), so the path from an event to a refund row reads top to bottom.

Lock order, as every writer of an order's units or money takes it: the order,
then the return, then units / payments / refunds, then SLA legs.

Rules: the domain apps never import ``flows`` (``make lint`` checks it with
import-linter); adapters (APIs, views, admin, tasks, commands) call ``flows``
for any use case that spans apps. A flow that nests another
(``inspection_record`` and ``return_modify_lines`` run ``return_handle_event``;
the SLA breach actions run it through ``sla_check_leg``) gets a savepoint
for it, as before issue 11.
"""
