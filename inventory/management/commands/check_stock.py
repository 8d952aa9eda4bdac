from django.core.management.base import BaseCommand, CommandError

from inventory.selectors import stock_ledger_mismatches


class Command(BaseCommand):
    help = "Verify that every stock balance equals the sum of its ledger movements."

    def handle(self, *args, **options):
        mismatches = stock_ledger_mismatches()
        for m in mismatches:
            self.stderr.write(
                f"MISMATCH {m['sku']} @ {m['location']} / {m['bucket']}: "
                f"balance {m['balance']} != ledger {m['ledger']}"
            )
        if mismatches:
            raise CommandError(f"{len(mismatches)} stock balance(s) differ from the ledger.")
        self.stdout.write(self.style.SUCCESS("Stock balances equal the ledger."))
