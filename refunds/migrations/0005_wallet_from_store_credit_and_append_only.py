"""Store credit codes issued before the wallet become wallet credits, and the
database itself refuses to edit a wallet entry (PostgreSQL: update or delete;
SQLite: update, since its test flush deletes rows)."""

from django.db import migrations

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION refunds_walletentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'wallet entries are append-only (%)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""
PG_TRIGGER = """
CREATE TRIGGER refunds_walletentry_append_only
BEFORE UPDATE OR DELETE ON refunds_walletentry
FOR EACH ROW EXECUTE FUNCTION refunds_walletentry_append_only();
"""
SQLITE_TRIGGER = """
CREATE TRIGGER refunds_walletentry_append_only
BEFORE UPDATE ON refunds_walletentry
BEGIN SELECT RAISE(ABORT, 'wallet entries are append-only'); END;
"""


def credits_into_wallets(apps, schema_editor):
    StoreCredit = apps.get_model("refunds", "StoreCredit")
    Wallet = apps.get_model("refunds", "Wallet")
    WalletEntry = apps.get_model("refunds", "WalletEntry")
    WalletLot = apps.get_model("refunds", "WalletLot")
    for credit in StoreCredit.objects.order_by("pk").iterator():
        key = f"refund-{credit.refund_id}"
        if WalletEntry.objects.filter(idempotency_key=key).exists():
            continue
        wallet, _ = Wallet.objects.get_or_create(
            customer_id=credit.customer_id, defaults={"currency": credit.currency}
        )
        if wallet.currency != credit.currency:
            raise RuntimeError(
                f"Customer {credit.customer_id} has store credit in {wallet.currency} and "
                f"{credit.currency}; a wallet holds one currency. Settle code {credit.code} "
                "by hand, then migrate again."
            )
        wallet.balance += credit.amount
        wallet.save(update_fields=["balance"])
        entry = WalletEntry.objects.create(
            wallet=wallet,
            kind="migrated",
            amount=credit.amount,
            balance_after=wallet.balance,
            currency=credit.currency,
            reference=credit.code,
            reason="Store credit code issued before the wallet",
            refund_id=credit.refund_id,
            idempotency_key=key,
            actor="system:migration",
        )
        # Credit issued before expiry existed never expires.
        WalletLot.objects.create(
            wallet=wallet, entry=entry, amount=credit.amount, remaining=credit.amount
        )


def triggers_create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)  # "%" is plpgsql, not a parameter
        schema_editor.execute(PG_TRIGGER)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)


def triggers_drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    schema_editor.execute("DROP TRIGGER IF EXISTS refunds_walletentry_append_only" + (" ON refunds_walletentry" if vendor == "postgresql" else ""))
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS refunds_walletentry_append_only()")


class Migration(migrations.Migration):
    dependencies = [("refunds", "0004_store_credit_wallet_and_loyalty")]

    operations = [
        migrations.RunPython(credits_into_wallets, migrations.RunPython.noop),
        migrations.RunPython(triggers_create, triggers_drop),
    ]
