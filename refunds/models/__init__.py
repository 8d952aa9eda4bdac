from .gateway import GatewayRefund, GatewayWebhook
from .loyalty import LoyaltyAdjustment, LoyaltyUnitReversal
from .payouts import Payout, PayoutAttempt
from .recoveries import Recovery
from .refunds import CreditNote, Refund, RefundItem, RefundTender
from .wallet import StoreCredit, Wallet, WalletEntry, WalletEntryQuerySet, WalletLot

__all__ = [
    "CreditNote",
    "GatewayRefund",
    "GatewayWebhook",
    "LoyaltyAdjustment",
    "LoyaltyUnitReversal",
    "Payout",
    "PayoutAttempt",
    "Recovery",
    "Refund",
    "RefundItem",
    "RefundTender",
    "StoreCredit",
    "Wallet",
    "WalletEntry",
    "WalletEntryQuerySet",
    "WalletLot",
]
