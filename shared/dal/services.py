"""Services: what a client bought, its plan, its period and its activation."""

from collections.abc import Iterable

from pynamodb.attributes import BooleanAttribute, JSONAttribute, ListAttribute, UnicodeAttribute, VersionAttribute

from shared.dal.table import IntegerAttribute, TableItem, batch_get, get_by_id
from shared.dal.unit_of_work import UnitOfWork
from shared.ids import is_valid_id


class Service(TableItem, discriminator="Service"):
    service_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    product_name = UnicodeAttribute()
    product_group = UnicodeAttribute()
    # pending | active | suspended | activation_failed; ended: cancelled (by the client) | terminated (unpaid,
    # or by staff) | expired (a domain left to lapse). An ended service never becomes active again.
    status = UnicodeAttribute()
    suspension_reason = UnicodeAttribute(null=True)  # overdue | payment_refunded | staff
    # The invoice whose payment lifts the suspension (a payment lifts only the suspension it settles);
    # None for a staff suspension, which only staff lift.
    suspension_invoice_id = UnicodeAttribute(null=True)
    product_kind = UnicodeAttribute(default="service")  # copied from the product: domain | hosting | service …
    billing_cycle = UnicodeAttribute()
    currency = UnicodeAttribute()
    recurring_amount = IntegerAttribute()  # price of a cycle of the current plan, minor units
    period_start = UnicodeAttribute(null=True)
    period_end = UnicodeAttribute(null=True)  # next due date
    domain = UnicodeAttribute(null=True)
    # Copied from the product when ordered, so the detail page is one read (see docs/data-model.md).
    manual = UnicodeAttribute(null=True)
    # The plan's upgrade paths, copied from the product when ordered or changed: the upgrade options read
    # them with the service and fetch product and targets in one BatchGetItem (docs/data-model.md).
    upgrade_targets = ListAttribute(of=UnicodeAttribute, null=True)
    credentials_ciphertext = UnicodeAttribute(null=True)  # KMS ciphertext, base64
    # A change of the server account's password asked by the holder (functions/services/credentials.py):
    # requested -> rotating (the new credentials held in pending_credentials_ciphertext until WHM took them,
    # so a retry after a crash sets the same password again) -> done (rotation cleared, rotated_at set).
    credentials_rotation = UnicodeAttribute(null=True)  # requested | rotating
    credentials_rotation_requested_at = UnicodeAttribute(null=True)
    pending_credentials_ciphertext = UnicodeAttribute(null=True)
    credentials_rotated_at = UnicodeAttribute(null=True)
    auto_renew = BooleanAttribute(default=True)
    # Activation (docs/payments.md): copied from the product when ordered.
    activation_mode = UnicodeAttribute(default="manual")  # instant | manual | custom
    activation_days_min = IntegerAttribute(default=0)
    activation_days_max = IntegerAttribute(default=0)
    provisioning_module = UnicodeAttribute(null=True)
    provisioning_account = UnicodeAttribute(null=True)  # e.g. the cPanel username (not a secret)
    requirements = ListAttribute(of=UnicodeAttribute, default=list)
    # awaiting_payment | queued | provisioning | awaiting_requirements | in_progress | active | failed | cancelled
    activation_state = UnicodeAttribute(default="awaiting_payment")
    activation_attempts = IntegerAttribute(default=0)
    activation_error = UnicodeAttribute(null=True)
    eta_from = UnicodeAttribute(null=True)  # local dates (YYYY-MM-DD)
    eta_to = UnicodeAttribute(null=True)
    # Plan changes (docs/billing.md). What was paid for the cycle that started at paid_for_period: it
    # differs from recurring_amount after an upgrade or an immediate downgrade, and a new cycle (another
    # period_start) makes it stale by itself.
    paid_this_cycle = IntegerAttribute(null=True)
    paid_for_period = UnicodeAttribute(null=True)
    pending_upgrade_id = UnicodeAttribute(null=True)  # at most one change under way per service
    pending_transfer_id = UnicodeAttribute(null=True)  # a change of holder under way (shared/dal/transfers.py)
    custom_package = BooleanAttribute(default=False)  # a package made to measure: upgrades are manual
    # Runs the client's production: a critical incident on it may be P1 under a Full support plan (staff mark it).
    production = BooleanAttribute(default=False)
    server = UnicodeAttribute(null=True)  # host name of the server the account lives on
    renewal_invoice_id = UnicodeAttribute(null=True)  # the invoice of the next cycle, once issued
    # Lifecycle (docs/billing.md, "Renewals"). The local date the first period started: every period ends on
    # its day of the month (31 Jan monthly -> 28/29 Feb -> 31 Mar), however late a renewal was paid.
    anniversary_on = UnicodeAttribute(null=True)
    next_cycle_paid = IntegerAttribute(null=True)  # paid for the next cycle by its renewal invoice (until it starts)
    # A pending cancellation (shared/dal/lifecycle.py holds the request): immediate | end_of_period.
    cancellation_type = UnicodeAttribute(null=True)
    cancellation_effective_at = UnicodeAttribute(null=True)
    ended_at = UnicodeAttribute(null=True)
    end_cause = UnicodeAttribute(null=True)  # cancellation | overdue | staff | expired
    end_reason = UnicodeAttribute(null=True)  # the client's or staff's stated reason (kept with the service)
    account_removal = UnicodeAttribute(null=True)  # removing | removed: the server account after the end
    last_backup_on = UnicodeAttribute(null=True)  # local date of the last backup kept after the end
    backup_retained_until = UnicodeAttribute(null=True)  # local date
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(service_id: str) -> tuple[str, str]:
        return f"SERVICE#{service_id}", "SERVICE"


ENDED_STATUSES = ("cancelled", "terminated", "expired")


class Services:
    def downloads(self, service_id: str) -> list["ServiceDownload"]:
        """A service's downloads, newest first: one Query of its partition."""
        if not is_valid_id(service_id):
            return []
        found = ServiceDownload.query(f"SERVICE#{service_id}", ServiceDownload.sk.startswith("DOWNLOAD#"),
                                      scan_index_forward=False)
        return [d for d in found if isinstance(d, ServiceDownload)]

    def list_services(self, client_id: str) -> list[Service]:
        if not is_valid_id(client_id):
            return []
        return list(Service.by_owner.query(f"CLIENT#{client_id}", Service.gsi1sk.startswith("SERVICE#")))

    def get_service(self, service_id: str, consistent: bool = False) -> Service:
        return get_by_id(Service, service_id, consistent=consistent)

    def get_services(self, service_ids: Iterable[str], consistent: bool = False) -> list[Service]:
        """Services by id in one BatchGetItem (absent ones are left out), in id order."""
        found = batch_get((Service.key(service_id) for service_id in service_ids if is_valid_id(service_id)),
                          consistent)
        return sorted((s for s in found.values() if isinstance(s, Service)), key=lambda s: s.service_id)

    def held_services(self, uow: UnitOfWork, service_ids: Iterable[str]) -> list[Service]:
        """Services as the change ``uow`` holds them (one consistent BatchGetItem for those it does not,
        since a change is about to be written on top of what is read), held from now on."""
        ids = sorted(set(service_ids))
        held = {i: uow.held(Service, *Service.key(i)) for i in ids}
        missing = [i for i, service in held.items() if service is None]
        loaded = {s.service_id: s for s in self.get_services(missing, consistent=True)} if missing else {}
        return [uow.hold(held[i] or loaded[i]) for i in ids if held[i] or i in loaded]


class ServiceDiagnostics(TableItem, discriminator="ServiceDiagnostics"):
    """A service's last self-diagnostics (functions/diagnostics): answered again for a few minutes, then run anew
    (TTL a day later). Beside the service (its partition)."""

    service_id = UnicodeAttribute()
    domain = UnicodeAttribute()
    server = UnicodeAttribute(null=True)  # a result is for one domain on one server
    checks = JSONAttribute(default=list)
    checked_at = UnicodeAttribute()

    @staticmethod
    def key(service_id: str) -> tuple[str, str]:
        return f"SERVICE#{service_id}", "DIAGNOSTICS"


class ServiceDownload(TableItem, discriminator="ServiceDownload"):
    """A file a service gives access to (the audio cloud's audios and locuciones, a product's other downloads),
    published by staff once S3 holds it. Beside the service (its partition); the object is at ``object_key`` in the
    downloads bucket."""

    download_id = UnicodeAttribute()
    service_id = UnicodeAttribute()
    title = UnicodeAttribute()
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = IntegerAttribute()
    object_key = UnicodeAttribute()
    published_by = UnicodeAttribute()
    published_at = UnicodeAttribute()

    @staticmethod
    def key(service_id: str, download_id: str) -> tuple[str, str]:
        return f"SERVICE#{service_id}", f"DOWNLOAD#{download_id}"
