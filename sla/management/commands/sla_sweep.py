from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from flows.sla import sla_sweep


class Command(BaseCommand):
    help = "Run one SLA sweep (as if the clock read --at) and print what it did, one line per leg."

    def add_arguments(self, parser):
        parser.add_argument(
            "--at", help="ISO-8601 time to sweep as, e.g. 2026-11-25T18:00:00+05:30"
        )
        parser.add_argument("--limit", type=int, default=5000)

    def handle(self, *args, at=None, limit=5000, **options):
        now = timezone.now()
        if at:
            now = parse_datetime(at)
            if now is None:
                raise CommandError(f"--at: {at!r} is not an ISO-8601 date-time.")
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
        outcomes = sla_sweep(now=now, limit=limit)
        for outcome in outcomes:
            self.stdout.write(outcome.line())
        self.stdout.write(f"swept at {now.isoformat()}: {len(outcomes)} leg(s) acted on")
