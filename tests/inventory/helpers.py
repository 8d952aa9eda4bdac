from inventory.services import stock_move
from inventory.states import Bucket


def reserve(sku, location, quantity: int = 1):
    """Move ``quantity`` of ``sku`` from sellable to reserved, as an order does."""
    return stock_move(
        sku=sku,
        location=location,
        quantity=quantity,
        from_bucket=Bucket.SELLABLE,
        to_bucket=Bucket.RESERVED,
        reason="order_reserve",
    )
