"""Number and render the invoices issued before the document step existed, once (no email is sent).

The documents worker numbers an invoice and stores its PDF when the outbox announces it; invoices issued
before this capability was deployed never will be, and their download answers 409 document_pending. This
one-off migration reads every invoice (a Scan: an operator's tool, never a request or sweep path), oldest
first (ids are time-ordered, so numbers follow issue order), and runs the same document step on each one
without a number. Re-running it changes nothing.

    .venv/bin/python -m tools.backfill_documents [--dry-run]
    (environment: TABLE_NAME, DOCUMENTS_BUCKET, INVOICE_* as DocumentsFunction has them, AWS credentials/region)
"""

def backfill(dry_run: bool = False) -> dict[str, int]:
    from documents.invoice_documents import make_document
    from documents.worker import mailer

    from shared.dal.billing import Invoice

    current = mailer()
    done = {"numbered": 0, "already": 0, "cancelled": 0}
    for invoice in sorted(Invoice.scan(), key=lambda i: i.invoice_id):  # invoices only (the discriminator)
        if invoice.number and invoice.document_key:
            done["already"] += 1
        elif invoice.status == "cancelled" and not invoice.number:
            done["cancelled"] += 1  # as the worker does: a cancelled invoice never announced gets no number
        else:
            if not dry_run:
                client = current.accounts.account_people(invoice.client_id)[0]
                make_document(current.billing, current.s3, current.bucket, current.numbering, invoice, client,
                              current.issuer)
            done["numbered"] += 1
    return done


def main() -> None:
    from tools.one_off import run

    run(__doc__, backfill)


if __name__ == "__main__":
    main()
