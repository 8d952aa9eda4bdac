"""Customer and channel factories. Orders are made with the ``make_order``
fixture (``orders.services.order_create``), never a factory: units, their
allocation and the stock reservation come from the service."""

import factory

from orders.models import Channel, Customer


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = factory.Sequence(lambda n: f"+9198{n:08d}")
    name = factory.Sequence(lambda n: f"Customer {n}")


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"channel-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    platform = Channel.Platform.NATIVE
    unknown_sku = Channel.UnknownSku.REJECT

    class Params:
        shopify = factory.Trait(platform=Channel.Platform.SHOPIFY, webhook_secret="shpss_test")
        woocommerce = factory.Trait(platform=Channel.Platform.WOOCOMMERCE, webhook_secret="wc_test")
        creates_unknown_skus = factory.Trait(unknown_sku=Channel.UnknownSku.CREATE)
