"""Console work queues, assignment, the dashboard and its refunds CSV."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from oms.errors import ApplicationError

from .. import analytics, queue, selectors, services
from ..access import console_view, staff_actor


@console_view("returns.view_return")
def queues(request):
    g = request.GET
    params = {
        k: g.get(k, "")
        for k in ("view", "leg", "type", "channel", "age", "sort")
        if g.get(k, "") != ""
    }
    view = params.get("view", "all")
    rows = queue.work_queue(user=request.user, **params)
    counts = queue.view_counts(request.user)
    for row in rows:
        row.left = queue.countdown(row.seconds_left)
    return render(
        request,
        "console/queues.html",
        {
            "rows": rows,
            "view": view,
            "params": params,
            "tabs": [(key, label, counts[key]) for key, label in queue.VIEWS],
            "choices": queue.filter_choices(),
            "agents": queue.console_agents(),
            "can_assign": request.user.has_perm("returns.view_return"),
            "review": selectors.queue_review(),
            "qc": selectors.queue_qc(),
            "pickups": selectors.queue_pickup_not_booked(),
            "can_review": request.user.has_perm("returns.review_return"),
            "query": request.GET.urlencode(),
        },
    )


@console_view("returns.view_return")
@require_POST
def return_assign(request, rma: str):
    from django.utils.http import url_has_allowed_host_and_scheme

    # "Assign to me" is a button in the same form as the agent list.
    chosen = request.POST.getlist("assignee")
    who = "me" if "me" in chosen else (chosen[-1] if chosen else "")
    if who == "me":
        assignee = request.user
    elif who == "":
        assignee = None
    else:
        assignee = queue.console_agents().filter(pk=int(who) if who.isdigit() else 0).first()
        if assignee is None:
            messages.error(request, "Choose an agent from the list.")
            return redirect("console:return", rma)
    nxt = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = ""
    try:
        services.return_assign(rma=rma, assignee=assignee, actor=staff_actor(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"{rma} assigned to {assignee.get_username() if assignee else 'nobody'}."
        )
    return redirect(nxt or "console:return", *([] if nxt else [rma]))


@console_view("returns.view_return")
def dashboard(request):
    return render(
        request,
        "console/dashboard.html",
        {
            "refunds": selectors.refunds_now(),
            "sla": selectors.sla_health(),
            "m": selectors.measures(),
            "cycle": analytics.cycle_times(),
            "fcr": analytics.first_contact_resolution(),
            "accuracy": analytics.inventory_accuracy(),
            "by_tender": analytics.refunds_by_tender_day()
            if request.user.has_perm("refunds.view_refund")
            else None,
        },
    )


@console_view("refunds.view_refund")
def refunds_csv(request):
    import csv

    from django.http import HttpResponse

    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="refunds-by-tender-and-day.csv"'
    writer = csv.writer(response)
    for row in analytics.refunds_csv_rows():
        writer.writerow(row)
    return response
