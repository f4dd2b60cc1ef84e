"""Code every Paneldecliente function imports: data access, auth, HTTP mapping, money, time, events."""
