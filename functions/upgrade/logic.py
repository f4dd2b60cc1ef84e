"""Plan changes of a service: the options and their prices, ordering one, cancelling it, and the manual
request when nothing can be done automatically (help centre, "Como actualizar mi cuenta a un plan
superior"). Pricing rules live in upgrade.pricing; how a change takes effect in shared.upgrades."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from upgrade.pricing import CurrentPlan, PricingPolicy, Quote, quote
from upgrade.schemas import (
    BlockerOut,
    ManualRequestOut,
    ManualUpgradeRequest,
    ResolveUpgradeRequest,
    ServerOut,
    ServerSettings,
    UpgradeOptionOut,
    UpgradeOptionsOut,
    UpgradeOrder,
    UpgradeOrderOut,
    UpgradeOut,
    UpgradeRequestOut,
)

from shared import lifecycle, upgrades
from shared.activation import CYCLE_MONTHS
from shared.auth import Identity, Permission, Role, authorize, require_staff
from shared.calendar import add_months, local_date, local_midnight
from shared.clock import Clock, from_storage, to_storage
from shared.dal.accounts import Accounts, Client
from shared.dal.billing import Billing, Invoice, InvoiceLine
from shared.dal.catalog import Catalog, Product, Server
from shared.dal.services import Service, Services
from shared.dal.table import batch_get, not_found
from shared.dal.unit_of_work import UnitOfWork, save_change
from shared.dal.upgrades import Upgrade, UpgradeAlreadyPending, UpgradeRequest, Upgrades
from shared.errors import ConcurrentModification, Conflict, InvalidInput
from shared.events import EventType, new_event
from shared.ids import id_at, is_valid_id
from shared.invoices import CYCLE_LABEL_ES, credit, issue_invoice, settle_at_issue
from shared.money import Currency, Money
from shared.schemas import MoneyOut, invoice_out, service_summary

SERVER_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


class UpgradeNotAvailable(Conflict):
    code = "upgrade_not_available"


@dataclass(frozen=True)
class Blocker:
    code: str
    message: str


@dataclass(frozen=True)
class Option:
    product: Product
    billing_cycle: str
    quote: Quote
    # The next cycle was already paid at the old price: its difference is due with the change too.
    renewal_difference: int = 0

    @property
    def due_now(self) -> Money:
        return Money(self.quote.due_now.amount + self.renewal_difference, self.quote.due_now.currency)


@dataclass(frozen=True)
class UpgradeStores:
    """The repositories plan changes read and write."""

    services: Services
    accounts: Accounts
    catalog: Catalog
    billing: Billing
    upgrades: Upgrades


# --- reading --------------------------------------------------------------------------------------


def _service_for(stores: UpgradeStores, identity: Identity, service_id: str) -> Service:
    """The service, if the caller may change its plan: the holder, a contact with `orders`, or staff.
    Another client's service answers 404, like a missing one. One BatchGetItem: the service and a
    calling contact's own item (its rights)."""
    service, rights = stores.accounts.with_rights(Service, service_id, identity.client_id, identity.contact_id)
    authorize(identity, service.client_id, Permission.ORDERS, rights, services=[service.service_id])
    return service


@dataclass(frozen=True)
class Surroundings:
    """What the options of a service depend on, read in one BatchGetItem after the service."""

    product: Product | None
    targets: dict[str, Product]
    server: Server | None
    renewal: Invoice | None
    pending: Upgrade | None
    client: Client | None


def _surroundings(stores: UpgradeStores, service: Service) -> Surroundings:
    """The product, its upgrade targets (the service carries their ids: see Service.upgrade_targets), the
    server, the renewal invoice, the pending change and the client, in one BatchGetItem. A service
    without the copy, or whose product's paths changed since, costs one more read for the targets."""
    target_ids = list(service.upgrade_targets or [])
    keys = [Product.key(service.product_id), *(Product.key(t) for t in target_ids), Client.key(service.client_id)]
    if service.server:
        keys.append(Server.key(service.server))
    for model, item_id in ((Invoice, service.renewal_invoice_id), (Upgrade, service.pending_upgrade_id)):
        if item_id and is_valid_id(item_id):
            keys.append(model.key(item_id))
    found = batch_get(keys)

    def one(model, key):
        item = found.get(key)
        return item if isinstance(item, model) else None

    product = one(Product, Product.key(service.product_id))
    targets = {t: p for t in target_ids if (p := one(Product, Product.key(t))) is not None}
    if product is not None and (service.upgrade_targets is None
                                or set(product.upgrade_targets or []) != set(target_ids)):
        targets = stores.catalog.get_products(product.upgrade_targets or [])
    return Surroundings(
        product=product, targets=targets,
        server=one(Server, Server.key(service.server)) if service.server else None,
        renewal=one(Invoice, Invoice.key(service.renewal_invoice_id)) if service.renewal_invoice_id else None,
        pending=one(Upgrade, Upgrade.key(service.pending_upgrade_id)) if service.pending_upgrade_id else None,
        client=one(Client, Client.key(service.client_id)),
    )


def _current_plan(service: Service) -> CurrentPlan:
    currency = Currency(service.currency)
    return CurrentPlan(
        billing_cycle=service.billing_cycle,
        price=Money(service.recurring_amount, currency),
        paid=Money(upgrades.paid_this_cycle(service), currency),
        period_start=local_date(from_storage(service.period_start)),
        period_end=local_date(from_storage(service.period_end)),
    )


def _blockers(service: Service, product: Product | None, server: Server | None) -> list[Blocker]:
    """Why nothing can be changed automatically (empty: it can)."""
    found = []
    if service.status != "active":
        found.append(Blocker("service_not_active", "El servicio no está activo: solo se cambia de plan un servicio "
                                                   "activo."))
    if service.cancellation_type:
        found.append(Blocker("cancellation_pending", "El servicio tiene una baja pendiente: retírela para cambiar "
                                                     "de plan."))
    if not service.period_start or not service.period_end:
        found.append(Blocker("no_current_period", "El servicio no tiene un período vigente."))
    if product is None:
        found.append(Blocker("product_retired", "Su plan ya no está en el catálogo."))
    elif not product.upgrade_targets:
        found.append(Blocker("no_upgrade_paths", f"El plan {product.name} no tiene cambios de plan automáticos."))
    if service.custom_package:
        found.append(Blocker("custom_package", "Su servicio tiene un paquete a medida."))
    if server is not None and not server.upgrades_enabled:
        note = f" ({server.note})" if server.note else ""
        found.append(Blocker("server_not_upgradable",
                             f"El servidor de su servicio no admite cambios de plan automáticos{note}."))
    return found


def _eligible_targets(service: Service, product: Product, targets: dict[str, Product]) -> dict[str, Product]:
    """The configured targets that really are the same kind of product (same group and provisioning
    module), so that a catalog mistake never moves a hosting onto a VPS; plus the current product, whose
    other billing cycles are options too (monthly <-> annual on the same plan)."""
    found = {**{t: p for t, p in targets.items() if t in (product.upgrade_targets or [])},
             product.product_id: product}
    return {
        product_id: target for product_id, target in found.items()
        if target.group == product.group and target.provisioning_module == product.provisioning_module
        and target.currency == service.currency
    }


def _options(service: Service, targets: dict[str, Product], today, policy: PricingPolicy,
             renewal: Invoice | None) -> list[Option]:
    current = _current_plan(service)
    next_cycle_paid = upgrades.renewal_has_payment(renewal)
    paid_for_next = sum(line.amount for line in renewal.lines
                        if line.service_id == service.service_id) if next_cycle_paid else 0
    found = []
    for product_id in sorted(targets, key=lambda pid: (targets[pid].sort_order, pid)):
        target = targets[product_id]
        prices = {cycle: Money(amount, Currency(target.currency))
                  for cycle, amount in target.price_list().items() if cycle in CYCLE_LABEL_ES}
        for cycle, price in prices.items():
            if (product_id, cycle) == (service.product_id, service.billing_cycle):
                continue
            q = quote(current, price, cycle, today, policy, next_cycle_paid, prices.get(service.billing_cycle))
            extra = 0
            if next_cycle_paid and q.takes_effect == "now" and not q.period_restarts:
                extra = max(q.new_recurring.amount - paid_for_next, 0)
            found.append(Option(target, cycle, q, extra))
    # The current cycle first: it is what most clients keep.
    return sorted(found, key=lambda o: o.billing_cycle != service.billing_cycle)


def _summary_es(option: Option) -> str:
    q = option.quote
    cycle = CYCLE_LABEL_ES[option.billing_cycle]
    price = f"{q.new_recurring.display()} {cycle}"
    if q.takes_effect == "next_renewal":
        return (f"{option.product.name} ({price}) desde su próxima renovación, el "
                f"{q.next_due_on.strftime('%d/%m/%Y')}. Hoy no paga nada.")
    due = f"Hoy paga {option.due_now.display()}" if not option.due_now.is_zero() else "Hoy no paga nada"
    if option.renewal_difference:
        due += " (incluye la diferencia de la renovación que ya pagó)"
    credit = f" y se acreditan {q.credit.display()} a su cuenta" if not q.credit.is_zero() else ""
    restart = " (comienza un nuevo ciclo hoy)" if q.period_restarts else ""
    return (f"{option.product.name} ({price}): {due}{credit}. Próximo vencimiento: "
            f"{q.next_due_on.strftime('%d/%m/%Y')}{restart}.")


def _manual_request(service: Service, executive: str | None) -> ManualRequestOut:
    who = f"a su ejecutivo de cuentas ({executive})" if executive else "a su ejecutivo de cuentas"
    return ManualRequestOut(
        path=f"/services/{service.service_id}/upgrade-requests",
        account_executive=executive,
        message=f"También puede pedir el cambio de plan {who}: lo hace a mano y le confirma el costo.",
    )


def _money(amount: int, currency: str) -> MoneyOut:
    return MoneyOut.of(Money(amount, Currency(currency)))


def upgrade_out(upgrade: Upgrade) -> UpgradeOut:
    return UpgradeOut(
        upgrade_id=upgrade.upgrade_id, service_id=upgrade.service_id, status=upgrade.status, change=upgrade.change,
        takes_effect=upgrade.takes_effect, pricing_rule=upgrade.pricing_rule,
        from_product_id=upgrade.from_product_id, from_product_name=upgrade.from_product_name,
        from_billing_cycle=upgrade.from_billing_cycle, to_product_id=upgrade.to_product_id,
        to_product_name=upgrade.to_product_name, to_billing_cycle=upgrade.to_billing_cycle,
        amount_due=_money(upgrade.amount_due, upgrade.currency), credit=_money(upgrade.credit, upgrade.currency),
        new_recurring_price=_money(upgrade.to_recurring_amount, upgrade.currency), invoice_id=upgrade.invoice_id,
        pay_by=from_storage(upgrade.pay_by) if upgrade.pay_by else None,
        effective_at=from_storage(upgrade.effective_at) if upgrade.effective_at else None,
        requested_role=upgrade.requested_role, created_at=from_storage(upgrade.created_at),
        completed_at=from_storage(upgrade.completed_at) if upgrade.completed_at else None,
    )


def _find_product(stores: UpgradeStores, product_id: str) -> Product | None:
    return stores.catalog.get_products([product_id]).get(product_id)


def upgrade_options(stores: UpgradeStores, clock: Clock, policy: PricingPolicy, identity: Identity,
                    service_id: str) -> UpgradeOptionsOut:
    service = _service_for(stores, identity, service_id)
    around = _surroundings(stores, service)
    product = around.product
    blockers = _blockers(service, product, around.server)
    options = [] if blockers else _options(service, _eligible_targets(service, product, around.targets),
                                           local_date(clock.now()), policy, around.renewal)
    if not blockers and not options:
        blockers = [Blocker("no_upgrade_paths", f"El plan {product.name} no tiene cambios de plan automáticos.")]
    pending = around.pending
    # The manual request is always on offer (help centre), so its executive is always named.
    executive = around.client.account_executive if around.client else None
    if blockers:
        message = ("No hay cambios de plan automáticos para este servicio: " + " ".join(b.message for b in blockers)
                   + " Igualmente puede pedir el cambio a su ejecutivo de cuentas.")
    elif pending is not None:
        message = "Hay un cambio de plan pendiente: páguelo o cancélelo antes de pedir otro."
    else:
        message = ("Elija el nuevo plan: solo abona la diferencia." if policy.upgrade == "difference" else
                   "Elija el nuevo plan: abona la diferencia de precio por los días que quedan del período.")
    return UpgradeOptionsOut(
        service_id=service.service_id, product_id=service.product_id, product_name=service.product_name,
        billing_cycle=service.billing_cycle, recurring_price=_money(service.recurring_amount, service.currency),
        next_due_at=from_storage(service.period_end) if service.period_end else None,
        automatic=not blockers, message=message,
        blockers=[BlockerOut(code=b.code, message=b.message) for b in blockers],
        options=[
            UpgradeOptionOut(
                product_id=o.product.product_id, product_name=o.product.name, billing_cycle=o.billing_cycle,
                change=o.quote.change, takes_effect=o.quote.takes_effect, due_now=MoneyOut.of(o.due_now),
                credit=MoneyOut.of(o.quote.credit), new_recurring_price=MoneyOut.of(o.quote.new_recurring),
                next_due_on=o.quote.next_due_on, summary=_summary_es(o),
            )
            for o in options
        ],
        pending_upgrade=upgrade_out(pending) if pending else None,
        manual_request=_manual_request(service, executive),
    )


def list_upgrades(stores: UpgradeStores, identity: Identity, service_id: str) -> list[UpgradeOut]:
    service = _service_for(stores, identity, service_id)
    # A previous holder's plan changes (the service changed hands since) are that holder's history, not this one's.
    return [upgrade_out(u) for u in stores.upgrades.upgrades_of_service(service.service_id)
            if u.client_id == service.client_id]


# --- ordering ---------------------------------------------------------------------------------------


def _chosen_option(stores: UpgradeStores, service: Service, around: Surroundings, order: UpgradeOrder, today,
                   policy: PricingPolicy) -> Option:
    """The option the client picked, or a clear 422 saying what is wrong with the pick."""
    product, renewal = around.product, around.renewal
    targets = _eligible_targets(service, product, around.targets)
    cycle = order.billing_cycle or service.billing_cycle
    if (order.target, cycle) == (service.product_id, service.billing_cycle):
        raise InvalidInput("El servicio ya está en ese plan y ciclo. Vea las opciones en upgrade-options.",
                           code="target_not_eligible", field="target")
    if order.target not in targets or (order.target != service.product_id
                                       and order.target not in (product.upgrade_targets or [])):
        if _find_product(stores, order.target) is None:
            raise InvalidInput("No existe ese plan.", code="unknown_target", field="target")
        raise InvalidInput(f"No se puede cambiar automáticamente de {product.name} a ese plan. Vea las opciones "
                           "disponibles en upgrade-options.", code="target_not_eligible", field="target")
    options = {o.billing_cycle: o for o in _options(service, {order.target: targets[order.target]}, today, policy,
                                                    renewal)}
    if cycle not in options:
        offered = ", ".join(CYCLE_LABEL_ES[c] for c in options)
        raise InvalidInput(f"{targets[order.target].name} no se ofrece con ciclo {CYCLE_LABEL_ES[cycle]}. "
                           f"Ciclos disponibles: {offered}.", code="billing_cycle_not_offered", field="billing_cycle")
    return options[cycle]


def order_upgrade(stores: UpgradeStores, clock: Clock, policy: PricingPolicy, pay_within_days: int, identity: Identity,
                  service_id: str, order: UpgradeOrder) -> UpgradeOrderOut:
    """Price the change and record it with its invoice, in one transaction. Nothing due now: it applies
    at once (or is scheduled for the renewal); otherwise it applies when the invoice is paid."""
    service = _service_for(stores, identity, service_id)
    around = _surroundings(stores, service)
    blockers = _blockers(service, around.product, around.server)
    if blockers:
        raise UpgradeNotAvailable(" ".join(b.message for b in blockers)
                                  + " Puede pedir el cambio a su ejecutivo de cuentas (upgrade-requests).")
    if service.pending_upgrade_id:
        raise UpgradeAlreadyPending()
    now = clock.now()
    renewal = around.renewal
    next_cycle_paid = upgrades.renewal_has_payment(renewal)
    option = _chosen_option(stores, service, around, order, local_date(now), policy)
    upgrade = _new_upgrade(service, option, identity, now)
    uow = UnitOfWork()
    stores.upgrades.add_upgrade(uow, upgrade, service)
    q = option.quote
    invoice, events = None, [new_event(
        EventType.UPGRADE_ORDERED, client_id=service.client_id, occurred_at=now, payload={
            "upgrade_id": upgrade.upgrade_id, "service_id": service.service_id, "change": upgrade.change,
            "from_product": service.product_name, "to_product": upgrade.to_product_name,
            "amount_due": upgrade.amount_due, "currency": upgrade.currency,
            "takes_effect": upgrade.takes_effect, "requested_by": identity.subject,
            "on_behalf": identity.role is Role.STAFF,
        })]
    service.pending_upgrade_id = upgrade.upgrade_id
    service.updated_at = to_storage(now)
    if q.takes_effect == "next_renewal":
        upgrade.status = "scheduled"
        # Applied by the renewal engine when the period ends (functions/lifecycle/renewal_sweep.py), not by
        # the upgrade sweep: it must happen at the very boundary the next period starts from.
        upgrade.effective_at = service.period_end
        if renewal is not None and not next_cycle_paid:  # the renewal already issued is for the new plan
            upgrades.reprice_renewal(renewal, service, upgrade.to_product_name, upgrade.to_recurring_amount,
                                     upgrade.to_billing_cycle)
            upgrade.repriced_renewal_id = renewal.invoice_id
            uow.save(renewal)
        events.append(new_event(EventType.UPGRADE_SCHEDULED, client_id=service.client_id, occurred_at=now, payload={
            "upgrade_id": upgrade.upgrade_id, "service_id": service.service_id, "effective_at": upgrade.effective_at,
            "to_product": upgrade.to_product_name,
        }))
    elif q.due_now.is_zero() and not upgrade.renewal_difference:
        events.extend(upgrades.apply(upgrade, service, now, renewal))
        lifecycle.schedule(service, lifecycle.LifecyclePolicy.from_env())
        if renewal is not None:
            uow.save(renewal)
        if not q.credit.is_zero():
            credit(uow, around.client, q.credit.currency.value, q.credit.amount, now, "downgrade",
                   upgrade_id=upgrade.upgrade_id)
    else:
        upgrade.pay_by = to_storage(local_midnight(local_date(now) + timedelta(days=pay_within_days + 1)))
        invoice, invoice_events = _upgrade_invoice(service, upgrade, option, now)
        events.extend(invoice_events)
        upgrade.invoice_id = invoice.invoice_id
        upgrades.mark_due(upgrade, upgrade.pay_by)
        uow.create(invoice)
    uow.emit(events)
    if invoice is not None:
        if renewal is not None:
            uow.hold(renewal)  # a change paid at once by credit reprices this same copy
        # The client's credit pays what it can; covered whole, the change applies in this same unit.
        settle_at_issue(uow, invoice, around.client, now)
    try:
        uow.commit()
    except ConcurrentModification:
        # Another request changed the service first: if it ordered a change, that is the answer.
        if stores.services.get_service(service.service_id, consistent=True).pending_upgrade_id:
            raise UpgradeAlreadyPending() from None
        raise
    return UpgradeOrderOut(upgrade=upgrade_out(upgrade), invoice=invoice_out(invoice) if invoice else None,
                           service=service_summary(service))


def _new_upgrade(service: Service, option: Option, identity: Identity, now: datetime) -> Upgrade:
    upgrade_id = id_at(now)
    q, target = option.quote, option.product
    return Upgrade(
        *Upgrade.key(upgrade_id), upgrade_id=upgrade_id, service_id=service.service_id, client_id=service.client_id,
        status="awaiting_payment", change=q.change, takes_effect=q.takes_effect, pricing_rule=q.rule,
        currency=service.currency, amount_due=q.due_now.amount, credit=q.credit.amount,
        period_restarts=q.period_restarts, from_product_id=service.product_id,
        from_product_name=service.product_name, from_billing_cycle=service.billing_cycle,
        from_recurring_amount=service.recurring_amount, to_product_id=target.product_id,
        to_product_name=target.name, to_product_group=target.group, to_billing_cycle=option.billing_cycle,
        to_recurring_amount=q.new_recurring.amount, to_manual=target.manual, requested_by=identity.subject,
        renewal_difference=option.renewal_difference,
        requested_role=identity.role.value, created_at=to_storage(now), updated_at=to_storage(now),
    )


def _upgrade_invoice(service: Service, upgrade: Upgrade, option: Option, now: datetime):
    q = option.quote
    start = local_midnight(local_date(now))
    suffix = f" - {service.domain}" if service.domain else ""
    lines = []
    if not q.due_now.is_zero():
        lines.append(InvoiceLine(
            service_id=service.service_id,
            description=(f"Cambio de plan: {service.product_name} → {option.product.name} "
                         f"({CYCLE_LABEL_ES[option.billing_cycle]}){suffix}"),
            period_start=to_storage(start), period_end=to_storage(local_midnight(q.next_due_on)),
            amount=q.due_now.amount,
        ))
    if upgrade.renewal_difference:
        renewal_start = local_midnight(q.next_due_on)
        lines.append(InvoiceLine(
            service_id=service.service_id,
            description=f"Diferencia de la renovación ya pagada: {option.product.name}{suffix}",
            period_start=to_storage(renewal_start),
            period_end=to_storage(local_midnight(add_months(q.next_due_on, CYCLE_MONTHS[option.billing_cycle]))),
            amount=upgrade.renewal_difference,
        ))
    total = option.due_now
    upgrade.amount_due = total.amount
    # One date for the client: the invoice is due on the change's last day to pay (the sweep cancels both
    # when that day is over), not on the usual due day of an invoice.
    due_at = local_midnight(local_date(from_storage(upgrade.pay_by)) - timedelta(days=1))
    return issue_invoice(id_at(now), service.client_id, lines, total, now,
                         due_at=due_at, upgrade_id=upgrade.upgrade_id)


def cancel_upgrade(stores: UpgradeStores, clock: Clock, identity: Identity, service_id: str,
                   upgrade_id: str) -> UpgradeOut:
    """The client (or staff) drops a change that has not taken effect: unpaid, or scheduled."""
    service = _service_for(stores, identity, service_id)
    upgrade = stores.upgrades.get_upgrade(upgrade_id)
    if upgrade.service_id != service.service_id:
        raise not_found()
    if upgrade.status not in upgrades.OPEN_STATUSES:
        raise Conflict("Ese cambio de plan ya no se puede cancelar (ya se aplicó o terminó).",
                       code="upgrade_not_cancellable")
    invoice = stores.billing.find_invoice(upgrade.invoice_id)
    if invoice is not None and invoice.status == "paid":
        raise Conflict("La factura de ese cambio ya fue pagada: se está aplicando.", code="upgrade_not_cancellable")
    renewal = stores.billing.find_invoice(upgrade.repriced_renewal_id)
    if upgrades.renewal_has_payment(renewal):
        raise Conflict("Ya pagó la renovación con el nuevo plan: el cambio ya no se puede cancelar.",
                       code="upgrade_not_cancellable")
    client = stores.accounts.get_client(service.client_id) if invoice is not None and invoice.amount_paid else None
    events = upgrades.close(upgrade, service, invoice, "cancelled", identity.subject, clock.now(), renewal, client)
    save_change([upgrade, service, *[i for i in (invoice, renewal, client) if i is not None]], events)
    return upgrade_out(upgrade)


def staff_complete_upgrade(stores: UpgradeStores, clock: Clock, identity: Identity, upgrade_id: str) -> UpgradeOut:
    """Staff changed the package on the server by hand (its command kept failing): the change is done and
    the service is free for the next one."""
    require_staff(identity)
    upgrade = stores.upgrades.get_upgrade(upgrade_id)
    if upgrade.status != "applying":
        raise Conflict("Solo se completa a mano un cambio de plan que se está aplicando.",
                       code="upgrade_not_applying")
    service = stores.services.get_service(upgrade.service_id)
    save_change([upgrade, service], upgrades.complete(upgrade, service, clock.now()))
    return upgrade_out(upgrade)


# --- manual requests and server flags ---------------------------------------------------------------


def request_manual_upgrade(stores: UpgradeStores, clock: Clock, identity: Identity, service_id: str,
                           body: ManualUpgradeRequest) -> UpgradeRequestOut:
    """Recorded for the client's account executive. Seam: when the tickets capability lands, this opens a
    ticket assigned to the executive instead (the `upgrade.requested` event carries all it needs)."""
    service = _service_for(stores, identity, service_id)
    if body.target is not None and _find_product(stores, body.target) is None:
        raise InvalidInput("No existe ese plan.", code="unknown_target", field="target")
    client = stores.accounts.get_client(service.client_id)
    now = clock.now()
    request_id = id_at(now)
    request = UpgradeRequest(
        *UpgradeRequest.key(request_id), gsi1pk="UPGRADE_REQUESTS#open", gsi1sk=f"{to_storage(now)}#{request_id}",
        request_id=request_id, client_id=service.client_id, service_id=service.service_id,
        target_product_id=body.target, message=body.message, account_executive=client.account_executive,
        status="open", created_by=identity.subject, created_at=to_storage(now),
    )
    event = new_event(EventType.UPGRADE_REQUESTED, client_id=service.client_id, occurred_at=now, payload={
        "request_id": request_id, "service_id": service.service_id, "product": service.product_name,
        "target": body.target, "account_executive": client.account_executive, "message": body.message,
    })
    save_change([request], [event])
    return request_out(request)


def request_out(request: UpgradeRequest) -> UpgradeRequestOut:
    return UpgradeRequestOut(
        request_id=request.request_id, client_id=request.client_id, service_id=request.service_id,
        target_product_id=request.target_product_id, message=request.message,
        account_executive=request.account_executive, status=request.status,
        created_at=from_storage(request.created_at),
        resolved_at=from_storage(request.resolved_at) if request.resolved_at else None,
        resolution_note=request.resolution_note,
    )


def staff_upgrade_requests(stores: UpgradeStores, identity: Identity, status: str,
                           account_executive: str | None) -> list[UpgradeRequestOut]:
    require_staff(identity)
    return [request_out(r) for r in stores.upgrades.requests_in(status)
            if account_executive is None or r.account_executive == account_executive]


def staff_resolve_request(stores: UpgradeStores, clock: Clock, identity: Identity, request_id: str,
                          body: ResolveUpgradeRequest) -> UpgradeRequestOut:
    require_staff(identity)
    request = stores.upgrades.get_request(request_id)
    if request.status != "open":
        raise Conflict("Ese pedido ya fue resuelto.", code="upgrade_request_closed")
    now = clock.now()
    request.status = body.outcome
    request.resolved_by, request.resolved_at, request.resolution_note = identity.subject, to_storage(now), body.note
    request.gsi1pk = f"UPGRADE_REQUESTS#{body.outcome}"
    event = new_event(EventType.UPGRADE_REQUEST_RESOLVED, client_id=request.client_id, occurred_at=now, payload={
        "request_id": request.request_id, "service_id": request.service_id, "outcome": body.outcome,
        "note": body.note,
    })
    save_change([request], [event])
    return request_out(request)


def staff_set_server(stores: UpgradeStores, clock: Clock, identity: Identity, server_name: str,
                     body: ServerSettings) -> ServerOut:
    """Flag a server whose accounts must not change plan automatically (e.g. full, or being retired)."""
    require_staff(identity)
    name = server_name.strip().lower()
    if not SERVER_NAME.match(name):
        raise InvalidInput("El nombre del servidor no es válido (ej.: srv12.paneldecliente.com).",
                           code="invalid_server_name", field="server_name")
    server = stores.catalog.get_server(name) or Server(*Server.key(name), name=name)
    server.upgrades_enabled, server.note = body.upgrades_enabled, body.note
    server.updated_by, server.updated_at = identity.subject, to_storage(clock.now())
    stores.catalog.put_server(server)
    return ServerOut(name=server.name, upgrades_enabled=server.upgrades_enabled, note=server.note,
                     updated_at=from_storage(server.updated_at))
