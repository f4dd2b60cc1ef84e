"""The support plan in force for an account: the best plan among its active support services (their products
carry ``support_plan``); Standard, included with every service, when there is none."""

from shared.dal.catalog import Product
from shared.dal.services import Services
from shared.dal.table import batch_get
from shared.sla import SupportPlan

PLAN_ORDER = (SupportPlan.STANDARD, SupportPlan.PROFESIONAL, SupportPlan.FULL)


def plan_in_force(services: Services, client_id: str | None) -> SupportPlan:
    """One Query of the account's services, one BatchGetItem of their products (a guest: Standard)."""
    if client_id is None:
        return SupportPlan.STANDARD
    active = [s for s in services.list_services(client_id) if s.status == "active"]
    products = batch_get(Product.key(product_id) for product_id in {s.product_id for s in active})
    plans = {p.support_plan for p in products.values() if isinstance(p, Product) and p.support_plan}
    return max((SupportPlan(p) for p in plans if p in set(SupportPlan)), key=PLAN_ORDER.index,
               default=SupportPlan.STANDARD)
