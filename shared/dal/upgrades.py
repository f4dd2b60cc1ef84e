"""Plan changes: upgrades, downgrades and cycle changes of a service, and the manual requests."""

from collections.abc import Iterator

from pynamodb.attributes import BooleanAttribute, ListAttribute, UnicodeAttribute, VersionAttribute

from shared.dal.services import Service
from shared.dal.table import IntegerAttribute, TableItem, due_partitions, find_by_id, get_by_id
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import Conflict
from shared.ids import is_valid_id


class UpgradeAlreadyPending(Conflict):
    code = "upgrade_pending"
    message = (
        "Este servicio ya tiene un cambio de plan pendiente. Páguelo o cancélelo antes de pedir otro."
    )


class Upgrade(TableItem, discriminator="Upgrade"):
    """A plan change of a service (upgrade, downgrade, billing cycle), priced when ordered.

    status: awaiting_payment (its invoice is unpaid) | scheduled (takes effect at the renewal) |
    applying (applied to the service; the server's package change is queued) | completed |
    cancelled (by the client or staff) | expired (its invoice was not paid in time) |
    reverted (its invoice was refunded after it took effect: the service is back on the old plan).
    The target product is copied in, so applying it later needs no catalog read.
    """

    upgrade_id = UnicodeAttribute()
    service_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    status = UnicodeAttribute()
    change = UnicodeAttribute()  # upgrade | downgrade | lateral
    takes_effect = UnicodeAttribute()  # now | next_renewal
    pricing_rule = UnicodeAttribute()
    currency = UnicodeAttribute()
    amount_due = IntegerAttribute()
    credit = IntegerAttribute(default=0)
    period_restarts = BooleanAttribute(default=False)
    from_product_id = UnicodeAttribute()
    from_product_name = UnicodeAttribute()
    from_billing_cycle = UnicodeAttribute()
    from_recurring_amount = IntegerAttribute()
    # What the service was when the change took effect, so that a refund of its invoice restores it.
    from_manual = UnicodeAttribute(null=True)
    from_paid_this_cycle = IntegerAttribute(null=True)
    from_period_start = UnicodeAttribute(null=True)
    from_period_end = UnicodeAttribute(null=True)
    applied_period_start = UnicodeAttribute(null=True)  # the period the change left the service in
    to_product_id = UnicodeAttribute()
    to_product_name = UnicodeAttribute()
    to_product_group = UnicodeAttribute()
    to_billing_cycle = UnicodeAttribute()
    to_recurring_amount = IntegerAttribute()
    to_manual = UnicodeAttribute(null=True)
    to_upgrade_targets = ListAttribute(of=UnicodeAttribute, null=True)
    invoice_id = UnicodeAttribute(null=True)
    # The next cycle's invoice was already paid at the old price: this much of the upgrade's invoice is
    # the next cycle's difference (not part of what was paid for the current cycle).
    renewal_difference = IntegerAttribute(default=0)
    repriced_renewal_id = UnicodeAttribute(null=True)  # a scheduled change repriced this renewal invoice
    pay_by = UnicodeAttribute(null=True)  # awaiting payment: cancelled automatically after this instant
    effective_at = UnicodeAttribute(null=True)  # scheduled: applied at this instant (the renewal)
    requested_by = UnicodeAttribute()  # subject of who ordered it
    requested_role = UnicodeAttribute()  # holder | contact | staff (staff order on behalf of the client)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    completed_at = UnicodeAttribute(null=True)
    version = VersionAttribute()

    @staticmethod
    def key(upgrade_id: str) -> tuple[str, str]:
        return f"UPGRADE#{upgrade_id}", "UPGRADE"


class UpgradeRequest(TableItem, discriminator="UpgradeRequest"):
    """A plan change the client asks the account executive for (nothing can be done automatically).

    Listed for staff by status in by_owner (``UPGRADE_REQUESTS#<status>``). When the tickets capability
    lands, a request becomes a ticket assigned to the executive (see functions/upgrade/logic.py).
    """

    request_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    service_id = UnicodeAttribute()
    target_product_id = UnicodeAttribute(null=True)
    message = UnicodeAttribute()
    account_executive = UnicodeAttribute(null=True)
    status = UnicodeAttribute()  # open | done | declined
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    resolved_by = UnicodeAttribute(null=True)
    resolved_at = UnicodeAttribute(null=True)
    resolution_note = UnicodeAttribute(null=True)
    version = VersionAttribute()

    @staticmethod
    def key(request_id: str) -> tuple[str, str]:
        return f"UPGRADE_REQUEST#{request_id}", "UPGRADE_REQUEST"


class Upgrades:
    def get_upgrade(self, upgrade_id: str) -> Upgrade:
        return get_by_id(Upgrade, upgrade_id, consistent=True)

    def find_upgrade(self, upgrade_id: str | None) -> Upgrade | None:
        return find_by_id(Upgrade, upgrade_id)

    def upgrades_of_service(self, service_id: str) -> list[Upgrade]:
        """A service's plan changes, newest first."""
        if not is_valid_id(service_id):
            return []
        return list(Upgrade.by_owner.query(f"SERVICE#{service_id}", Upgrade.gsi1sk.startswith("UPGRADE#"),
                                           scan_index_forward=False))

    def upgrades_due_before(self, until_iso: str) -> Iterator[Upgrade]:
        """Changes with something due before ``until_iso`` (expiry of the unpaid, effect of the scheduled):
        a Query per shard of by_due."""
        for partition in due_partitions("UPGRADE"):
            yield from Upgrade.by_due.query(partition, Upgrade.due_sk < until_iso)

    def add_upgrade(self, uow: UnitOfWork, upgrade: Upgrade, service: Service) -> None:
        """The change and the service marked with it. The service's condition (no other pending change,
        same version) makes concurrent orders yield exactly one; the loser sees a version clash."""
        upgrade.gsi1pk = f"SERVICE#{upgrade.service_id}"
        upgrade.gsi1sk = f"UPGRADE#{upgrade.upgrade_id}"
        uow.create(upgrade)
        uow.save(service, condition=Service.pending_upgrade_id.does_not_exist()
                 | (Service.pending_upgrade_id == upgrade.upgrade_id))

    def get_request(self, request_id: str) -> UpgradeRequest:
        return get_by_id(UpgradeRequest, request_id)

    def requests_in(self, status: str) -> list[UpgradeRequest]:
        """Manual upgrade requests in a status, oldest first (the queue staff work through)."""
        return list(UpgradeRequest.by_owner.query(f"UPGRADE_REQUESTS#{status}"))
