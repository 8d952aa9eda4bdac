"""Catalogue (products, SKUs), locations, and stock: balances per SKU x location x
bucket kept equal to an append-only ledger of movements."""
