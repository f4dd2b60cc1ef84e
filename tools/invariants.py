"""The invariants of issue 17, over the table's items as plain values (a scan, deserialized): what the soak
(tools/soak.py) checks over the whole local stack and the fault suite (tests/integration/test_faults.py) after
each fault. Each returns the violations it found, as sentences; an empty list is a pass.

- every paid invoice: amount paid = total, and one `invoice.paid` per payment that settled it;
- per client: what its invoices were paid + its credit = what its payments applied and credited (a payment from the
  client's own credit moved money from the credit to an invoice, so it is left out of "applied");
- every WHM account of the server is recorded on exactly one service, and every active hosting has one;
- no activation left half-way (``queued`` or ``provisioning``);
- no alert delivered twice: one delivery per (event, recipient, channel), and no message twice at WhatsApp;
- every ticket not closed is on the SLA sweep's index, no later than any of its running deadlines (a deadline
  that is not on the index would never warn nor breach);
- every outbox event reached each of its queues (when the caller knows what was sent).
"""

import json
from collections import Counter, defaultdict
from collections.abc import Iterable

Item = dict


def by_entity(items: Iterable[Item]) -> dict[str, list[Item]]:
    found: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        found[item.get("entity")].append(item)
    return found


def paid_invoices(by: dict[str, list[Item]]) -> list[str]:
    found = []
    events = Counter((e["type"], json.loads(e["payload"]).get("invoice_id")) for e in by["Event"])
    settling = Counter(p.get("invoice_id") for p in by["Payment"] if int(p.get("applied", 0)))
    for invoice in by["Invoice"]:
        if invoice["status"] != "paid":
            continue
        if int(invoice["amount_paid"]) != int(invoice["total"]):
            found.append(f"invoice {invoice['invoice_id']}: paid {invoice['amount_paid']} of {invoice['total']}")
        expected = max(1, settling[invoice["invoice_id"]])
        if events[("invoice.paid", invoice["invoice_id"])] != expected:
            found.append(f"invoice {invoice['invoice_id']}: {events[('invoice.paid', invoice['invoice_id'])]} × "
                         f"invoice.paid for {expected} settling payment(s)")
    return found


def client_money(by: dict[str, list[Item]]) -> list[str]:
    applied, credited, invoices_paid = defaultdict(int), defaultdict(int), defaultdict(int)
    for payment in by["Payment"]:
        if payment.get("provider") != "credit":
            applied[payment.get("client_id")] += int(payment.get("applied", 0))
        credited[payment.get("client_id")] += int(payment.get("credited", 0))
    for invoice in by["Invoice"]:
        invoices_paid[invoice["client_id"]] += int(invoice.get("amount_paid", 0))
    found = []
    for client in by["Client"]:
        client_id = client["client_id"]
        credit = sum(int(v) for v in (client.get("credit") or {}).values())
        if invoices_paid[client_id] + credit != applied[client_id] + credited[client_id]:
            found.append(f"client {client_id}: invoices paid {invoices_paid[client_id]} + credit {credit} ≠ "
                         f"payments applied {applied[client_id]} + credited {credited[client_id]}")
    return found


def whm_accounts(by: dict[str, list[Item]], every_service: list[Item], accounts: Iterable[str]) -> list[str]:
    recorded = Counter(s.get("provisioning_account") for s in every_service if s.get("provisioning_account"))
    found = [f"WHM account {user} recorded on {recorded[user]} services" for user in accounts if recorded[user] != 1]
    found += [f"active hosting {s['service_id']} without its WHM account" for s in by["Service"]
              if s["status"] == "active" and s.get("provisioning_module") == "cpanel"
              and not s.get("provisioning_account")]
    return found


def activations(by: dict[str, list[Item]]) -> list[str]:
    return [f"service {s['service_id']} left {s['activation_state']}" for s in by["Service"]
            if s.get("activation_state") in ("provisioning", "queued")]


def alerts(by: dict[str, list[Item]], sent: Iterable[tuple] = ()) -> list[str]:
    """``sent``: what the provider received, one tuple per message (to, template, parameters): none twice."""
    keys = Counter((d.get("event_id"), d.get("recipient"), d.get("channel")) for d in by["Delivery"])
    found = [f"alert {key} has {n} deliveries" for key, n in keys.items() if n > 1]
    found += [f"{message} sent {n} times" for message, n in Counter(sent).items() if n > 1]
    return found


AUTO_CLOSING = ("answered", "waiting_on_customer")  # functions/tickets/clocks.py: the statuses that close by themselves


def ticket_deadlines(by: dict[str, list[Item]]) -> list[str]:
    """The sweep visits a ticket at its entry on the index: no later than any step still to take (a clock's warning
    not sent yet, its deadline, the auto-close's warning and the auto-close), or that step never happens."""
    found = []
    for ticket in by["Ticket"]:
        if ticket.get("status") == "closed":
            continue
        if not ticket.get("due_sk"):
            found.append(f"ticket {ticket['ticket_id']} open but off the SLA sweep's index")
            continue
        next_visit = ticket["due_sk"].split("#")[0]
        steps = []
        for name in ("response", "resolution"):
            clock = ticket.get(name) or {}
            if clock.get("due_at") and not clock.get("met_at") and not clock.get("breached_at"):
                if clock.get("warn_at") and not clock.get("warned_at"):
                    steps.append((f"{name} warning", clock["warn_at"]))
                steps.append((f"{name} deadline", clock["due_at"]))
        if ticket.get("status") in AUTO_CLOSING and ticket.get("autoclose_at"):
            if ticket.get("autoclose_warn_at") and not ticket.get("autoclose_warned_at"):
                steps.append(("auto-close warning", ticket["autoclose_warn_at"]))
            steps.append(("auto-close", ticket["autoclose_at"]))
        found += [f"ticket {ticket['ticket_id']}: its {what} at {at} comes before the sweep's next visit {next_visit}"
                  for what, at in steps if next_visit > at]
    return found


def outbox_delivered(by: dict[str, list[Item]], sent: dict[str, set[str]], queues_of) -> list[str]:
    """``sent``: event id -> the queues it was sent to (what the relay's SendMessageBatch calls carried);
    ``queues_of(event_type)``: the queues an event of that type goes to (shared.events' routing)."""
    found = []
    for event in by["Event"]:
        missing = set(queues_of(event["type"])) - sent.get(event["event_id"], set())
        if missing:
            found.append(f"event {event['type']} {event['event_id']} never reached {sorted(missing)}")
    return found


def check(items: Iterable[Item], *, clients: set[str] | None = None, whm: Iterable[str] = (),
          whatsapp: Iterable[tuple] = ()) -> dict[str, list[str]]:
    """Every invariant over ``items`` (the whole table); ``clients`` narrows the per-client ones to those clients
    (the demo data's invoices were written paid, without a provider's payment); ``whm``: the WHM server's accounts;
    ``whatsapp``: the messages WhatsApp received (to, template, parameters)."""
    by = by_entity(items)
    every_service = list(by["Service"])  # WHM accounts are everyone's
    if clients is not None:
        for entity in ("Client", "Invoice", "Payment", "Service", "Delivery", "Ticket"):
            by[entity] = [i for i in by[entity] if i.get("client_id") in clients]
    return {
        "paid invoices: amount paid = total, one invoice.paid per settling payment": paid_invoices(by),
        "per client: invoices paid + credit = payments applied + credited": client_money(by),
        "every WHM account recorded on exactly one service; every active hosting has one":
            whm_accounts(by, every_service, whm),
        "no activation left half-way (queued or provisioning)": activations(by),
        "no alert delivered twice to a person": alerts(by, whatsapp),
        "every open ticket's deadlines on the SLA sweep's index": ticket_deadlines(by),
    }
