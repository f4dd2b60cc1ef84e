"""Catalog: the products on sale, and what staff know about the hosting servers."""

from collections.abc import Iterable

from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import DoesNotExist

from shared.dal.table import IntegerAttribute, TableItem, not_found, save_one

CATALOG = "CATALOG"


class Product(TableItem, discriminator="Product"):
    product_id = UnicodeAttribute()
    group = UnicodeAttribute()
    # What lifecycle rules apply: a domain is paid a year ahead and can only stop renewing (never be
    # cancelled); everything else is a service.
    kind = UnicodeAttribute(default="service")
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    currency = UnicodeAttribute()
    prices = MapAttribute(of=IntegerAttribute)  # billing cycle -> minor units
    upgrade_targets = ListAttribute(of=UnicodeAttribute, default=list)
    activation_mode = UnicodeAttribute()  # instant | manual | custom
    activation_days_min = IntegerAttribute(default=0)
    activation_days_max = IntegerAttribute(default=0)
    provisioning_module = UnicodeAttribute(null=True)
    requirements = ListAttribute(of=UnicodeAttribute, default=list)  # manual products: what we need first
    manual = UnicodeAttribute(null=True)
    sort_order = IntegerAttribute(default=0)
    # Offered in the client area (POST /me/orders). A retired plan is not: staff may still order it for a
    # client, as WHMCS lets admins order hidden products.
    orderable = BooleanAttribute(default=True)
    # A domain product registers names under one suffix (".com.ar"): a name under another is refused.
    domain_suffix = UnicodeAttribute(null=True)
    # A support plan's product: the plan it puts in force (standard | profesional | full) and the channels it
    # includes (ticket, chat, phone, whatsapp, telegram, video_tutorials), which every capability reads.
    support_plan = UnicodeAttribute(null=True)
    support_channels = ListAttribute(of=UnicodeAttribute, default=list)
    version = VersionAttribute()

    @staticmethod
    def key(product_id: str) -> tuple[str, str]:
        return f"PRODUCT#{product_id}", "PRODUCT"

    def price_list(self) -> dict[str, int]:
        return self.prices.as_dict() if self.prices else {}


class Server(TableItem, discriminator="Server"):
    """What staff know about a hosting server; only present once they flag something."""

    name = UnicodeAttribute()
    upgrades_enabled = BooleanAttribute(default=True)
    note = UnicodeAttribute(null=True)
    updated_by = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(name: str) -> tuple[str, str]:
        return f"SERVER#{name}", "SERVER"


class Catalog:
    def list_catalog(self) -> list[Product]:
        return list(Product.by_owner.query(CATALOG))

    def get_product(self, product_id: str) -> Product:
        try:
            return Product.get(*Product.key(product_id))
        except DoesNotExist:
            raise not_found() from None

    def get_products(self, product_ids: Iterable[str]) -> dict[str, Product]:
        """Products by id (one BatchGetItem); unknown ids are simply absent."""
        keys = [Product.key(product_id) for product_id in sorted(set(product_ids))]
        return {product.product_id: product for product in Product.batch_get(keys)} if keys else {}

    def put_product(self, product: Product) -> None:
        product.gsi1pk = CATALOG
        product.gsi1sk = f"{product.sort_order:04d}#{product.group}#{product.name}"
        save_one(product)

    def get_server(self, name: str | None) -> Server | None:
        if not name:
            return None
        try:
            return Server.get(*Server.key(name))
        except DoesNotExist:
            return None

    def put_server(self, server: Server) -> None:
        save_one(server)
