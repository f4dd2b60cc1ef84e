"""The single table and the items stored in it.

Key design (the access patterns are listed in docs/data-model.md):
- Aggregates that are fetched by id alone (services, invoices, products, payments, events) are their
  own partition: ``pk = <KIND>#<id>``, ``sk = <KIND>``; a GetItem finds them without knowing the owner.
- The ``by_owner`` index (gsi1pk/gsi1sk) lists what belongs to something: a client's services and
  invoices (``CLIENT#<id>``), the public catalog (``CATALOG``).
- The ``by_due`` index is sparse: only items with something due carry ``due_pk``/``due_sk``; sweeps
  query it, never scan. The partition is sharded so that one hot day cannot throttle a single key.
- Uniqueness (login emails) is a marker item written in the same transaction as its owner.
- Mutable aggregates carry ``version`` (PynamoDB adds the optimistic-locking condition).
"""

import os

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from shared.config import TABLE_NAME, region

DUE_SHARDS = 8


class ByOwnerIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ByDueIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_due"
        projection = AllProjection()

    due_pk = UnicodeAttribute(hash_key=True)
    due_sk = UnicodeAttribute(range_key=True)


class TableItem(Model):
    """Every item of the table. Subclasses are told apart by ``entity``."""

    class Meta:
        table_name = os.environ.get(TABLE_NAME, "paneldecliente")
        region = region()

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    entity = DiscriminatorAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    due_pk = UnicodeAttribute(null=True)
    due_sk = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    by_owner = ByOwnerIndex()
    by_due = ByDueIndex()


class EmailMarker(TableItem, discriminator="EmailMarker"):
    """Claims a login email (clients and contacts share one namespace: both sign in with it)."""

    client_id = UnicodeAttribute()
    contact_id = UnicodeAttribute(null=True)

    @staticmethod
    def key(email: str) -> tuple[str, str]:
        return f"EMAIL#{email}", "EMAIL"


class Client(TableItem, discriminator="Client"):
    client_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    company = UnicodeAttribute(null=True)
    tax_id = UnicodeAttribute(null=True)
    country = UnicodeAttribute(default="AR")
    phone = UnicodeAttribute(null=True)
    whatsapp_opt_in = BooleanAttribute(default=False)
    alert_preferences = MapAttribute(of=BooleanAttribute, default=dict)  # kind -> on/off (absent: on)
    support_plan = UnicodeAttribute(default="standard")
    account_executive = UnicodeAttribute(null=True)
    credit = MapAttribute(of=NumberAttribute, default=dict)  # currency -> minor units (overpayments)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(client_id: str) -> tuple[str, str]:
        return f"CLIENT#{client_id}", "CLIENT"


class Contact(TableItem, discriminator="Contact"):
    """A secondary contact of a client account, with the rights the holder chose."""

    client_id = UnicodeAttribute()
    contact_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    whatsapp_opt_in = BooleanAttribute(default=False)
    permissions = ListAttribute(of=UnicodeAttribute, default=list)
    alert_preferences = MapAttribute(of=BooleanAttribute, default=dict)  # kind -> on/off (absent: on)
    created_at = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(client_id: str, contact_id: str) -> tuple[str, str]:
        return f"CLIENT#{client_id}", f"CONTACT#{contact_id}"


class Product(TableItem, discriminator="Product"):
    product_id = UnicodeAttribute()
    group = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    currency = UnicodeAttribute()
    prices = MapAttribute(of=NumberAttribute)  # billing cycle -> minor units
    upgrade_targets = ListAttribute(of=UnicodeAttribute, default=list)
    activation_mode = UnicodeAttribute()  # instant | manual | custom
    activation_days_min = NumberAttribute(default=0)
    activation_days_max = NumberAttribute(default=0)
    provisioning_module = UnicodeAttribute(null=True)
    requirements = ListAttribute(of=UnicodeAttribute, default=list)  # manual products: what we need first
    manual = UnicodeAttribute(null=True)
    sort_order = NumberAttribute(default=0)
    version = VersionAttribute()

    @staticmethod
    def key(product_id: str) -> tuple[str, str]:
        return f"PRODUCT#{product_id}", "PRODUCT"


class Service(TableItem, discriminator="Service"):
    service_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    product_name = UnicodeAttribute()
    product_group = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | active | suspended | cancelled | activation_failed
    billing_cycle = UnicodeAttribute()
    currency = UnicodeAttribute()
    recurring_amount = NumberAttribute()  # price paid for the current cycle, minor units
    period_start = UnicodeAttribute(null=True)
    period_end = UnicodeAttribute(null=True)  # next due date
    domain = UnicodeAttribute(null=True)
    # Copied from the product when ordered, so the detail page is one read (see docs/data-model.md).
    manual = UnicodeAttribute(null=True)
    credentials_ciphertext = UnicodeAttribute(null=True)  # KMS ciphertext, base64
    auto_renew = BooleanAttribute(default=True)
    # Activation (docs/activation.md): copied from the product when ordered.
    activation_mode = UnicodeAttribute(default="manual")  # instant | manual | custom
    activation_days_min = NumberAttribute(default=0)
    activation_days_max = NumberAttribute(default=0)
    provisioning_module = UnicodeAttribute(null=True)
    provisioning_account = UnicodeAttribute(null=True)  # e.g. the cPanel username (not a secret)
    requirements = ListAttribute(of=UnicodeAttribute, default=list)
    # awaiting_payment | queued | provisioning | awaiting_requirements | in_progress | active | failed | cancelled
    activation_state = UnicodeAttribute(default="awaiting_payment")
    activation_attempts = NumberAttribute(default=0)
    activation_error = UnicodeAttribute(null=True)
    eta_from = UnicodeAttribute(null=True)  # local dates (YYYY-MM-DD)
    eta_to = UnicodeAttribute(null=True)
    # Plan changes (docs/billing.md). What was paid for the cycle that started at paid_for_period: it
    # differs from recurring_amount after an upgrade or an immediate downgrade, and a new cycle (another
    # period_start) makes it stale by itself.
    paid_this_cycle = NumberAttribute(null=True)
    paid_for_period = UnicodeAttribute(null=True)
    pending_upgrade_id = UnicodeAttribute(null=True)  # at most one change under way per service
    custom_package = BooleanAttribute(default=False)  # a package made to measure: upgrades are manual
    server = UnicodeAttribute(null=True)  # host name of the server the account lives on
    renewal_invoice_id = UnicodeAttribute(null=True)  # the unpaid invoice of the next cycle, when issued
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(service_id: str) -> tuple[str, str]:
        return f"SERVICE#{service_id}", "SERVICE"


class InvoiceLine(MapAttribute):
    service_id = UnicodeAttribute(null=True)
    description = UnicodeAttribute()
    period_start = UnicodeAttribute(null=True)
    period_end = UnicodeAttribute(null=True)
    amount = NumberAttribute()


class Invoice(TableItem, discriminator="Invoice"):
    invoice_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    lines = ListAttribute(of=InvoiceLine)
    currency = UnicodeAttribute()
    total = NumberAttribute()
    amount_paid = NumberAttribute(default=0)
    status = UnicodeAttribute()  # unpaid | paid | cancelled | refunded
    issued_at = UnicodeAttribute()
    due_at = UnicodeAttribute()
    paid_at = UnicodeAttribute(null=True)
    last_overdue_notice_on = UnicodeAttribute(null=True)  # local date of the last reminder
    upgrade_id = UnicodeAttribute(null=True)  # the plan change this invoice pays for
    version = VersionAttribute()

    @staticmethod
    def key(invoice_id: str) -> tuple[str, str]:
        return f"INVOICE#{invoice_id}", "INVOICE"


class Payment(TableItem, discriminator="Payment"):
    """One provider payment. Its key is the provider's payment id, so it can be recorded only once.

    status: applied (to its invoice) | underpaid (applied, invoice still owes) | currency_mismatch |
    unmatched (no invoice of ours) | credited (invoice closed: all to the client's credit) | refunded.
    """

    provider = UnicodeAttribute()
    provider_payment_id = UnicodeAttribute()
    invoice_id = UnicodeAttribute(null=True)
    client_id = UnicodeAttribute(null=True)
    amount = NumberAttribute(default=0)  # minor units, as the provider reported it
    currency = UnicodeAttribute(null=True)
    applied = NumberAttribute(default=0)  # to the invoice
    credited = NumberAttribute(default=0)  # to the client's credit balance
    status = UnicodeAttribute()
    provider_status = UnicodeAttribute()
    received_at = UnicodeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(provider: str, provider_payment_id: str) -> tuple[str, str]:
        return f"PAYMENT#{provider}#{provider_payment_id}", "PAYMENT"


class Upgrade(TableItem, discriminator="Upgrade"):
    """A plan change of a service (upgrade, downgrade, billing cycle), priced when ordered.

    status: awaiting_payment (its invoice is unpaid) | scheduled (takes effect at the renewal) |
    applying (applied to the service; the server's package change is queued) | completed |
    cancelled (by the client or staff) | expired (its invoice was not paid in time).
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
    amount_due = NumberAttribute()
    credit = NumberAttribute(default=0)
    period_restarts = BooleanAttribute(default=False)
    from_product_id = UnicodeAttribute()
    from_product_name = UnicodeAttribute()
    from_billing_cycle = UnicodeAttribute()
    from_recurring_amount = NumberAttribute()
    to_product_id = UnicodeAttribute()
    to_product_name = UnicodeAttribute()
    to_product_group = UnicodeAttribute()
    to_billing_cycle = UnicodeAttribute()
    to_recurring_amount = NumberAttribute()
    to_manual = UnicodeAttribute(null=True)
    invoice_id = UnicodeAttribute(null=True)
    # The next cycle's invoice was already paid at the old price: this much of the upgrade's invoice is
    # the next cycle's difference (not part of what was paid for the current cycle).
    renewal_difference = NumberAttribute(default=0)
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


class Delivery(TableItem, discriminator="Delivery"):
    """One WhatsApp alert to one person for one event. Its key is (event, recipient), written only if
    absent: a repeated event or a redelivered message can never make a second one (docs/alerts.md).

    status: waiting (quiet hours) | queued | sending (claimed by the sender) | sent (accepted by the API)
    | delivered | read | failed. It never moves backwards (read stays read).
    """

    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    client_id = UnicodeAttribute(null=True)
    recipient = UnicodeAttribute()  # holder | contact:<contact_id> | ops:<phone>
    phone = UnicodeAttribute()  # E.164
    template = UnicodeAttribute()
    language = UnicodeAttribute()
    parameters = ListAttribute(of=UnicodeAttribute, default=list)
    urgent = BooleanAttribute(default=False)
    status = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    not_before = UnicodeAttribute(null=True)
    wa_message_id = UnicodeAttribute(null=True)
    wa_id = UnicodeAttribute(null=True)
    sent_to = UnicodeAttribute(null=True)  # the form of the number the API accepted (549… or 54…)
    error_code = NumberAttribute(null=True)
    error_reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    sent_at = UnicodeAttribute(null=True)
    status_at = UnicodeAttribute(null=True)  # the time of the latest status the webhook reported
    version = VersionAttribute()

    @staticmethod
    def key(event_id: str, recipient: str) -> tuple[str, str]:
        return f"DELIVERY#{event_id}#{recipient}", "DELIVERY"


class WhatsAppMessage(TableItem, discriminator="WhatsAppMessage"):
    """The WhatsApp message id (wamid) of a delivery: the status webhook finds the delivery by it."""

    delivery_pk = UnicodeAttribute()

    @staticmethod
    def key(wa_message_id: str) -> tuple[str, str]:
        return f"WAMSG#{wa_message_id}", "WAMSG"


class EventRecord(TableItem, discriminator="Event"):
    """Outbox entry: written in the transaction of the change it reports; the stream relay publishes it."""

    event_id = UnicodeAttribute()
    type = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    client_id = UnicodeAttribute(null=True)
    payload = UnicodeAttribute()  # JSON text, exactly as published
    schema_version = NumberAttribute(default=1)

    @staticmethod
    def key(event_id: str) -> tuple[str, str]:
        return f"EVENT#{event_id}", "EVENT"


class IdempotencyRecord(TableItem, discriminator="Idempotency"):
    """The answer given to a request that carried an Idempotency-Key, returned again to its retries.

    Written in the same transaction as the change it answers, so a retry either finds it or races the
    original and loses on its condition. Expires after a day (TTL).
    """

    request_hash = UnicodeAttribute()
    response = UnicodeAttribute()  # JSON of the answer

    @staticmethod
    def key(scope: str, idempotency_key: str) -> tuple[str, str]:
        return f"IDEMPOTENCY#{scope}#{idempotency_key}", "IDEMPOTENCY"


def due_partition(kind: str, item_id: str) -> str:
    """Shard of the by_due index for an item (stable: derived from its id)."""
    shard = sum(item_id.encode()) % DUE_SHARDS
    return f"DUE#{kind}#{shard}"


def due_partitions(kind: str) -> list[str]:
    return [f"DUE#{kind}#{shard}" for shard in range(DUE_SHARDS)]
