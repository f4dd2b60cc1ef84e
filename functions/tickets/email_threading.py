"""How our ticket emails name their ticket, so a reply finds it again (docs/email-channel.md): the subject
token ``[Ticket#<ticket>]``, our Message-IDs ``<ticket.<ticket>.<part>@<support domain>>`` and the Reply-To
plus address ``tickets+<ticket>@<support domain>``. Shared by the emails we send and the ones we receive."""

import re

from shared.ids import ID_PATTERN

_ID = ID_PATTERN.removeprefix("^").removesuffix("$")  # the id alone, to find inside a subject or a Message-ID
SUBJECT_TOKEN = re.compile(rf"\[Ticket#({_ID})\]", re.IGNORECASE)
OUR_MESSAGE_ID = re.compile(rf"<ticket\.({_ID})\.[A-Za-z0-9.]+@([^>\s]+)>", re.IGNORECASE)
MAILBOX = "tickets"  # tickets@<support domain>, and tickets+<ticket>@ as each ticket's Reply-To


def subject_token(ticket_id: str) -> str:
    return f"[Ticket#{ticket_id}]"


def message_id_of(ticket_id: str, part: str, domain: str) -> str:
    """The Message-ID of an email we send about a ticket (``part``: a message id, or "ack")."""
    return f"<ticket.{ticket_id}.{part}@{domain}>"


def reply_address(ticket_id: str, domain: str) -> str:
    return f"{MAILBOX}+{ticket_id}@{domain}"
