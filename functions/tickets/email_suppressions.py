"""Staff's list of the addresses we no longer email (a permanent bounce or a complaint, functions/email_feedback),
and lifting one when its owner fixed the mailbox: the next email to it goes out again. Lifting is recorded
(``email.suppression_lifted``: who, which address, why it was suppressed) in the same transaction."""

from tickets.staff_schemas import SuppressedAddressOut

from shared.auth import Identity, require_staff
from shared.clock import Clock, from_storage
from shared.dal.mail import SentEmails, SuppressedAddress
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import InvalidInput, NotFound
from shared.events import EventType, new_event


class NotSuppressed(NotFound):
    code = "address_not_suppressed"
    message = "Esa dirección no está bloqueada: ya se le envían correos."


def _out(record: SuppressedAddress) -> SuppressedAddressOut:
    return SuppressedAddressOut(address=record.address, reason=record.reason, detail=record.detail,
                                suppressed_at=from_storage(record.suppressed_at))


def suppressed(sent: SentEmails, identity: Identity, limit: int) -> list[SuppressedAddressOut]:
    require_staff(identity)
    return [_out(r) for r in sent.suppressed(limit)]


def lift(sent: SentEmails, clock: Clock, identity: Identity, address: str | None) -> None:
    require_staff(identity)
    if not address or not address.strip():
        raise InvalidInput("El campo 'address' es obligatorio.", code="validation_error", field="address")
    record = sent.suppression(address.strip()) if len(address) <= 320 else None
    if record is None:
        raise NotSuppressed()
    event = new_event(EventType.EMAIL_SUPPRESSION_LIFTED, client_id=None, occurred_at=clock.now(), payload={
        "address": record.address, "reason": record.reason, "by": identity.subject})
    with UnitOfWork() as uow:
        uow.delete(record)
        uow.emit([event])
