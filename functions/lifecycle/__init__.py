"""Service lifecycle: renewals, overdue suspension and termination, cancellations, domains' renewal."""
