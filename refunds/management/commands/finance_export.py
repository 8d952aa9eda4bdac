"""The daily finance export as a CSV file (or stdout), e.g. from cron after
midnight: ``manage.py finance_export`` writes yesterday's (the brand's day).
Exits 1 when a section does not reconcile to the ledger."""

from __future__ import annotations

import csv
import sys
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from oms.csvexport import csv_cell
from oms.dates import local_day
from refunds.finance_export import finance_export_csv_rows


class Command(BaseCommand):
    help = "Write the day's refunds, credit notes and payouts, reconciled to the ledger, as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD, the brand's day (default: yesterday)")
        parser.add_argument("--output", help="file to write (default: stdout)")

    def handle(self, *args, **options):
        if options["date"]:
            try:
                day = date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError("--date: give the day as YYYY-MM-DD.") from exc
        else:
            day = local_day(timezone.now()) - timedelta(days=1)
        rows = finance_export_csv_rows(day)
        out = open(options["output"], "w", newline="") if options["output"] else self.stdout  # noqa: SIM115
        try:
            writer = csv.writer(out, lineterminator="\n")
            for row in rows:
                writer.writerow([csv_cell(c) for c in row])
        finally:
            if options["output"]:
                out.close()
        unbalanced = [r for r in rows if r[0] == "reconciliation" and r[8] != "balanced"]
        if unbalanced:
            sys.stderr.write(
                f"{len(unbalanced)} section(s) do not reconcile to the ledger for {day}.\n"
            )
            raise SystemExit(1)
