"""A guest ticket (an email, the contact form or a chat from an address that is no account's) moved by staff
to the account it turns out to belong to: the client sees it from then on, it runs under the account's
support plan (its open deadlines recomputed from their start, as when a plan changes), and its email copies
go to its requester only if that address is one of the account's people (else to the holder)."""

from tickets import clocks
from tickets.clocks import TicketPolicy
from tickets.plans import plan_in_force
from tickets.records import Repositories
from tickets.staff_desk import staff_ticket_out
from tickets.staff_schemas import StaffTicketOut

from shared.auth import Identity, require_staff
from shared.clock import Clock, to_storage
from shared.dal.accounts import Client
from shared.dal.table import batch_get, not_found
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import Conflict
from shared.ids import is_valid_id
from shared.sla import Priority


class TicketHasAccount(Conflict):
    code = "ticket_has_account"
    message = "El ticket ya es de una cuenta."


def attach(repos: Repositories, clock: Clock, policy: TicketPolicy, identity: Identity, ticket_id: str,
           client_id: str) -> StaffTicketOut:
    require_staff(identity)
    ticket, messages, notes = repos.tickets.conversation(ticket_id)
    if ticket is None:
        raise not_found()
    if ticket.client_id is not None:
        raise TicketHasAccount()
    client = batch_get([Client.key(client_id)]).get(Client.key(client_id)) if is_valid_id(client_id) else None
    if not isinstance(client, Client):
        raise not_found()
    now = clock.now()
    ticket.client_id = client_id
    ticket.gsi1pk, ticket.gsi1sk = f"CLIENT#{client_id}", f"TICKET#{ticket.ticket_id}"
    ticket.contract_around_the_clock = bool(client.contract_around_the_clock)
    if ticket.status != "closed":
        ticket.plan = plan_in_force(repos.services, client_id).value
        clocks.set_priority(ticket, Priority(ticket.requested_priority))
        clocks.retarget(ticket)
        clocks.refresh(ticket, repos.tickets.closed_day_set(), policy)
        clocks.schedule(ticket)
    clocks.note(ticket, now, identity.subject, "account", f"El personal lo asignó a la cuenta de {client.name}.")
    ticket.updated_at = to_storage(now)
    uow = UnitOfWork()
    uow.save(ticket)  # version-checked: a reply arriving at this instant makes this 409, tried again
    uow.commit()
    return staff_ticket_out(ticket, messages, notes, now)
