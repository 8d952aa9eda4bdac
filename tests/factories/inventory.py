"""Catalogue and location factories. Stock is never set here: it only enters
through ``inventory.services`` (see the ``make_sku`` fixture), so balances and
the ledger always agree."""

from decimal import Decimal

import factory

from inventory.models import SKU, Location, Product
from inventory.states import LocationKind


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"loc-{n}")
    name = factory.LazyAttribute(lambda o: f"Location {o.code}")
    kind = LocationKind.WAREHOUSE
    is_default = False

    class Params:
        store = factory.Trait(kind=LocationKind.STORE)
        default = factory.Trait(is_default=True)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"product-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    category = "apparel"


class SKUFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SKU
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"SKU-{n:04d}")
    product = factory.SubFactory(ProductFactory)
    name = factory.LazyAttribute(lambda o: f"{o.product.name} {o.code}")
    attributes = factory.Dict({"size": "M"})
    price = Decimal("999.00")
    tax_rate = Decimal("12.00")
    category = factory.SelfAttribute("product.category")
    returnable = True
    warranty_months = 0

    class Params:
        non_returnable = factory.Trait(returnable=False)
        under_warranty = factory.Trait(warranty_months=12)
        unlisted_sku = factory.Trait(unlisted=True)
