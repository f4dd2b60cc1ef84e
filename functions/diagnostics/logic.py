"""A service's self-diagnostics ("autodiagnósticos": help centre, Level 1 "Bot y Manuales"; docs/diagnostics.md).

The checks run against the service's domain (diagnostics.checks); a result is answered again for CACHE_FOR (a
page reloaded does not probe the network again), and new runs are limited to RUNS_PER_HOUR per service, counted
before the run in a version-checked write (two at once cannot both take the last one); past the limit, a plain
read answers the last result again, a ``refresh`` gets 429. Only a running service is checked: an unpaid order
names any domain, and is not ours to probe."""

from datetime import datetime, timedelta

from diagnostics.checks import FAIL, OK, WARNING, Check, Probe, run_all
from diagnostics.schemas import CheckOut, DiagnosticsOut

from shared.auth import Identity
from shared.clock import Clock, from_storage, to_storage
from shared.dal.accounts import Accounts
from shared.dal.rate_limits import RateWindows
from shared.dal.services import ServiceDiagnostics, Services
from shared.dal.table import find_item, save_one
from shared.dal.unit_of_work import UnitOfWork
from shared.errors import ConcurrentModification, Conflict, TooManyAttempts
from shared.service_readers import readable_service

CACHE_FOR = timedelta(minutes=5)
RUNS_PER_HOUR = 10
KEPT = timedelta(days=1)


class NoDomain(Conflict):
    code = "service_without_domain"
    message = "Este servicio no tiene un dominio para revisar."


class NotRunning(Conflict):
    code = "service_not_running"
    message = "El autodiagnóstico revisa los servicios activos: este todavía no se activó o ya terminó."


RUNNING = ("active", "suspended")


class TooManyRuns(TooManyAttempts):
    code = "too_many_diagnostics"
    message = "Ya revisamos este servicio muchas veces en la última hora. Vuelva a intentarlo en unos minutos."


def _out(record: ServiceDiagnostics, cached: bool) -> DiagnosticsOut:
    checks = [CheckOut(**c) for c in record.checks]
    worst = FAIL if any(c.status == FAIL for c in checks) else WARNING if any(
        c.status == WARNING for c in checks) else OK
    return DiagnosticsOut(service_id=record.service_id, domain=record.domain, status=worst, checks=checks,
                          checked_at=from_storage(record.checked_at), cached=cached)


def _take_run(rates: RateWindows, service_id: str, now: datetime) -> None:
    for _ in range(5):  # another run counted meanwhile: read the counter again
        try:
            with UnitOfWork() as uow:
                if not rates.take(uow, "diagnostics", service_id, now, RUNS_PER_HOUR):
                    raise TooManyRuns()
            return
        except ConcurrentModification:
            continue
    raise ConcurrentModification()


def diagnose(services: Services, accounts: Accounts, rates: RateWindows, clock: Clock, probe: Probe,
             identity: Identity, service_id: str, refresh: bool) -> DiagnosticsOut:
    service = readable_service(services, accounts, identity, service_id)
    if not service.domain:
        raise NoDomain()
    if service.status not in RUNNING:  # not ours to probe yet (an unpaid order names any domain), or no more
        raise NotRunning()
    now = clock.now()
    last = find_item(ServiceDiagnostics, ServiceDiagnostics.key(service.service_id))
    same = isinstance(last, ServiceDiagnostics) and (last.domain, last.server) == (service.domain, service.server)
    if same and not refresh and now - from_storage(last.checked_at) < CACHE_FOR:
        return _out(last, cached=True)
    try:
        _take_run(rates, service.service_id, now)
    except TooManyRuns:
        if same and not refresh:  # the last result, older than CACHE_FOR, rather than nothing
            return _out(last, cached=True)
        raise
    checks: list[Check] = run_all(probe, service.domain, service.server, now)
    record = ServiceDiagnostics(*ServiceDiagnostics.key(service.service_id), service_id=service.service_id,
                                domain=service.domain, server=service.server, checks=[vars(c) for c in checks],
                                checked_at=to_storage(now), expires_at=now + KEPT)
    save_one(record)
    return _out(record, cached=False)
