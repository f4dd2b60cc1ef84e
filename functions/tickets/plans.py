"""The support plan in force for an account: the best plan among its active support services (their products
carry ``support_plan``); Standard, included with every service, when there is none."""

from shared.dal.catalog import Product
from shared.dal.services import Service, Services
from shared.dal.table import batch_get
from shared.sla import SupportPlan

PLAN_ORDER = (SupportPlan.STANDARD, SupportPlan.PROFESIONAL, SupportPlan.FULL)


def plan_in_force(services: Services, client_id: str | None) -> SupportPlan:
    """One Query of the account's services, one BatchGetItem of their products (a guest: Standard)."""
    return plan_and_service(services, client_id)[0]


def plan_and_service(services: Services, client_id: str | None) -> tuple[SupportPlan, Service | None]:
    """The plan in force and the active support service that gives it (None: Standard by default, no such service);
    the same two requests as plan_in_force."""
    if client_id is None:
        return SupportPlan.STANDARD, None
    active = [s for s in services.list_services(client_id) if s.status == "active"]
    products = batch_get(Product.key(product_id) for product_id in {s.product_id for s in active})
    plan_of = {p.product_id: SupportPlan(p.support_plan) for p in products.values()
               if isinstance(p, Product) and p.support_plan in set(SupportPlan)}
    holding = [s for s in active if s.product_id in plan_of]
    if not holding:
        return SupportPlan.STANDARD, None
    best = max(holding, key=lambda s: (PLAN_ORDER.index(plan_of[s.product_id]), s.service_id))
    return plan_of[best.product_id], best
